use super::*;
use dsrhub_connector::Category;

fn subject() -> Subject {
    Subject {
        emails: vec!["jan@example.nl".into()],
        ..Subject::default()
    }
}

fn open_request(ledger: &Ledger) -> String {
    ledger
        .create_request(
            RequestKind::Erasure,
            &subject(),
            IdentityNote {
                how: "passport seen by the service desk",
                by: "j.smit",
            },
            now(),
            now(),
            &[
                NewTask {
                    processor: "moneybird".into(),
                    enabled: true,
                    display_name: "Moneybird".into(),
                },
                NewTask {
                    processor: "autotask".into(),
                    enabled: false,
                    display_name: "Autotask".into(),
                },
            ],
        )
        .unwrap()
}

fn item(id: &str) -> NewItem {
    NewItem {
        reference: RecordRef::new("contact", id),
        matched_by: "exact_email".into(),
        categories: vec![Category::Email],
        linked_to: None,
        action: Action::Delete,
        fields: vec![],
        basis: None,
        retain_until: None,
        note: None,
        descriptor: [("folder".to_string(), "inbox".to_string())].into(),
        changes: vec![],
    }
}

#[test]
fn a_request_starts_with_one_task_per_processor() {
    let ledger = Ledger::open_in_memory().unwrap();
    let id = open_request(&ledger);
    let tasks = ledger.tasks(&id).unwrap();
    assert_eq!(tasks.len(), 2);
    let autotask = tasks.iter().find(|t| t.processor == "autotask").unwrap();
    assert_eq!(autotask.state, TaskState::Skipped);
    assert_eq!(ledger.subject(&id).unwrap(), subject());
    assert_eq!(
        ledger.request(&id).unwrap().status,
        RequestStatus::IdentityVerified
    );
}

#[test]
fn saving_a_plan_twice_never_duplicates_or_resets_items() {
    let ledger = Ledger::open_in_memory().unwrap();
    let id = open_request(&ledger);
    ledger
        .save_items(&id, "moneybird", &[item("1"), item("2")])
        .unwrap();
    let first = ledger.items(&id, None).unwrap();
    ledger
        .mark_item(&first[0], ItemState::Done, Some("deleted"), None)
        .unwrap();
    ledger
        .save_items(&id, "moneybird", &[item("1"), item("2"), item("3")])
        .unwrap();
    let items = ledger.items(&id, Some("moneybird")).unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].state, ItemState::Done);
    assert_eq!(items[0].outcome.as_deref(), Some("deleted"));
    assert_eq!(
        items[2].descriptor["folder"], "inbox",
        "the descriptor round-trips"
    );
}

#[test]
fn pending_changes_count_deletions_and_anonymisations_still_to_do() {
    let ledger = Ledger::open_in_memory().unwrap();
    let id = open_request(&ledger);
    let kept = NewItem {
        action: Action::Retain,
        ..item("kept")
    };
    let anonymise = NewItem {
        action: Action::Anonymize,
        ..item("anon")
    };
    ledger
        .save_items(
            &id,
            "moneybird",
            &[item("1"), item("2"), item("3"), kept, anonymise],
        )
        .unwrap();
    assert_eq!(ledger.pending_changes(&id).unwrap(), 4);
    let items = ledger.items(&id, None).unwrap();
    let by_id = |record: &str| items.iter().find(|i| i.reference.id == record).unwrap();
    ledger
        .mark_item(by_id("1"), ItemState::Done, Some("deleted"), None)
        .unwrap();
    assert!(ledger
        .deselect(&id, "moneybird", &RecordRef::new("contact", "2"))
        .unwrap());
    assert_eq!(ledger.pending_changes(&id).unwrap(), 2);
}

#[test]
fn the_audit_chain_verifies_and_refuses_edits() {
    let ledger = Ledger::open_in_memory().unwrap();
    let id = open_request(&ledger);
    ledger.save_items(&id, "moneybird", &[item("1")]).unwrap();
    ledger
        .transition(
            &id,
            RequestStatus::IdentityVerified,
            RequestStatus::Discovering,
            crate::lifecycle::Event::Start,
        )
        .unwrap();
    let count = ledger.verify_audit().unwrap();
    assert!(count >= 3);
    let conn = ledger.conn();
    assert!(conn
        .execute("UPDATE audit SET detail = '{}' WHERE seq = 1", [])
        .is_err());
    assert!(conn.execute("DELETE FROM audit WHERE seq = 1", []).is_err());
    // Someone with raw database access drops the guard and edits history: the chain breaks.
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET detail = '{\"forged\":1}' WHERE seq = 2;",
    )
    .unwrap();
    drop(conn);
    let err = ledger.verify_audit().unwrap_err().to_string();
    assert!(err.contains("entry 2"), "{err}");
}

#[test]
fn the_audit_log_holds_no_identifier() {
    let ledger = Ledger::open_in_memory().unwrap();
    let id = open_request(&ledger);
    ledger.purge_subject(&id).unwrap();
    let conn = ledger.conn();
    let mut stmt = conn.prepare("SELECT detail FROM audit").unwrap();
    let details: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(!details
        .iter()
        .any(|d| d.contains("jan@example.nl") || d.contains("passport")));
    drop(stmt);
    drop(conn);
    assert!(ledger
        .subject(&id)
        .unwrap_err()
        .to_string()
        .contains("purged"));
}

#[test]
fn unknown_requests_are_named() {
    let ledger = Ledger::open_in_memory().unwrap();
    let err = ledger.request("nope").unwrap_err().to_string();
    assert!(err.contains("`nope`"), "{err}");
}

#[test]
fn a_file_ledger_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/ledger.db");
    let id = {
        let ledger = Ledger::open(&path).unwrap();
        open_request(&ledger)
    };
    let ledger = Ledger::open(&path).unwrap();
    assert_eq!(ledger.request(&id).unwrap().kind, RequestKind::Erasure);
    ledger.verify_audit().unwrap();
}

/// Issue 16.5: a vendor's error text is stored only after every identifier of the subject is
/// masked, names included (`scrub` alone masks e-mail-like tokens and digit runs).
#[test]
fn vendor_error_texts_are_stored_with_the_subjects_identifiers_masked() {
    let ledger = Ledger::open_in_memory().unwrap();
    let id = ledger
        .create_request(
            RequestKind::Erasure,
            &Subject {
                emails: vec!["sanne.bakker@example.nl".into()],
                phones: vec!["06-12345678".into()],
                names: vec!["Sanne Bakker".into()],
            },
            IdentityNote {
                how: "passport",
                by: "j.smit",
            },
            now(),
            now(),
            &[NewTask {
                processor: "moneybird".into(),
                enabled: true,
                display_name: "Moneybird".into(),
            }],
        )
        .unwrap();
    let vendor = ConnectorError::permanent(
        "Contact 'Bakker, Sanne' (sanne.bakker@example.nl, 06 1234 5678) cannot be deleted",
    );
    ledger
        .set_task(
            &id,
            "moneybird",
            TaskState::Failed,
            Stage::New,
            "",
            Some(&vendor),
        )
        .unwrap();
    ledger.save_items(&id, "moneybird", &[item("1")]).unwrap();
    let row = ledger.items(&id, None).unwrap().remove(0);
    ledger.fail_item(&row, &vendor).unwrap();
    let stored_task = ledger.tasks(&id).unwrap()[0].error.clone().unwrap();
    let stored_item = ledger.items(&id, None).unwrap()[0].detail.clone().unwrap();
    for stored in [&stored_task, &stored_item] {
        for identifier in ["Bakker", "Sanne", "sanne.bakker", "5678"] {
            assert!(!stored.contains(identifier), "{identifier} in {stored}");
        }
        assert!(stored.contains("cannot be deleted"), "{stored}");
    }
}

/// Issue 16.5: the identity-verification note (it may hold names, birth dates, document
/// numbers) is purged with the identifiers at closure; its hash stays in the audit log.
#[test]
fn the_identity_note_is_purged_at_closure_and_its_hash_kept() {
    let ledger = Ledger::open_in_memory().unwrap();
    let id = open_request(&ledger);
    ledger.purge_subject(&id).unwrap();
    let conn = ledger.conn();
    let note: String = conn
        .query_row(
            "SELECT identity_verification FROM requests WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!note.contains("passport"), "{note}");
    let hash = audit::sha256_hex(b"passport seen by the service desk");
    let kept: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE request_id = ?1 AND detail LIKE ?2",
            params![id, format!("%{hash}%")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1);
}

#[test]
fn a_staff_session_ends_when_idle_past_its_end_or_with_its_user() {
    let ledger = Ledger::open_in_memory().unwrap();
    ledger
        .add_staff_user("petra", "$argon2id$stub", "test")
        .unwrap();
    assert!(ledger
        .add_staff_user("petra", "$argon2id$other", "test")
        .is_err());
    let start = now();
    let idle = jiff::SignedDuration::from_mins(30);
    let later = |mins: i64| start + jiff::SignedDuration::from_mins(mins);
    ledger
        .start_staff_session("aa", "petra", later(8 * 60), "password")
        .unwrap();
    // Used every 25 minutes it lives on, up to its end.
    assert_eq!(
        ledger
            .touch_staff_session("aa", idle, later(25))
            .unwrap()
            .as_deref(),
        Some("petra")
    );
    assert!(ledger
        .touch_staff_session("aa", idle, later(50))
        .unwrap()
        .is_some());
    // Left alone for 30 minutes it ends, for good.
    assert!(ledger
        .touch_staff_session("aa", idle, later(80))
        .unwrap()
        .is_none());
    assert!(ledger
        .touch_staff_session("aa", idle, later(51))
        .unwrap()
        .is_none());
    // However busy, a session ends at its end.
    ledger
        .start_staff_session("bb", "petra", later(60), "password")
        .unwrap();
    for at in [25, 50, 59] {
        assert!(ledger
            .touch_staff_session("bb", idle, later(at))
            .unwrap()
            .is_some());
    }
    assert!(ledger
        .touch_staff_session("bb", idle, later(61))
        .unwrap()
        .is_none());
    // A new password or removing the user ends their sessions.
    ledger
        .start_staff_session("cc", "petra", later(60), "password")
        .unwrap();
    ledger
        .set_staff_password("petra", "$argon2id$new", "test")
        .unwrap();
    assert!(ledger
        .touch_staff_session("cc", idle, later(1))
        .unwrap()
        .is_none());
    ledger
        .start_staff_session("dd", "petra", later(60), "password")
        .unwrap();
    ledger.remove_staff_user("petra", "test").unwrap();
    assert!(ledger
        .touch_staff_session("dd", idle, later(1))
        .unwrap()
        .is_none());
    assert!(ledger.staff_users().unwrap().is_empty());
    // All of it audited, the chain intact.
    let events: Vec<String> = ledger
        .audit_entries(None)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    for event in [
        "staff.user_added",
        "staff.signed_in",
        "staff.password_changed",
        "staff.user_removed",
    ] {
        assert!(events.iter().any(|e| e == event), "{event}: {events:?}");
    }
    ledger.verify_audit().unwrap();
}
