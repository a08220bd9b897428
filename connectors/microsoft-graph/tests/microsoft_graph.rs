//! Microsoft Graph's own behaviour, against its fake: exact matching (no lookalikes, no
//! display-name spoofs), former staff deleted and purged, active accounts refused, throttled
//! batch sub-requests, the mailbox concurrency limit, mail kept by default.

mod common;

use std::collections::BTreeSet;

use common::{email, jan, GraphHarness};
use dsrhub_connector::testkit::FakeControl;
use dsrhub_connector::{
    Connector, EraseAction, EraseOutcome, ErrorKind, MatchKind, Record, RecordRef,
};
use dsrhub_microsoft_graph::fake::FakeOptions;
use futures_util::future::join_all;

fn of<'a>(records: &'a [Record], object: &str) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.reference.object == object)
        .collect()
}

#[tokio::test]
async fn exactly_the_subjects_contacts_and_messages_are_found() {
    let h = GraphHarness::start_default().await;
    let records = h.connector.discover(&jan()).await.unwrap();
    assert!(records
        .iter()
        .all(|r| r.matched_by == MatchKind::ExactEmail));
    assert!(of(&records, "user").is_empty());
    // Contacts at Bram's and Chantal's (the latter with the address in capitals); not the
    // lookalike Jan Janssen.
    let contacts: BTreeSet<&str> = of(&records, "contact")
        .iter()
        .map(|r| r.reference.scope.as_deref().unwrap())
        .collect();
    assert_eq!(
        contacts,
        BTreeSet::from([
            "bram.visser@voorbeeld-it.example",
            "chantal.meijer@voorbeeld-it.example"
        ])
    );
    // From him (2024), to him (2026), cc him (2026), cc him among others (2024); not from
    // jan.janssen@ and not the message whose display name is his address.
    let messages = of(&records, "message");
    assert_eq!(messages.len(), 4, "{messages:?}");
    // Whose they are (issue 14.3): his own exchanges with a colleague, or shared with others.
    let shared: Vec<_> = messages
        .iter()
        .filter_map(|m| match &m.ownership {
            dsrhub_connector::Ownership::Shared(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        shared,
        vec![
            "1 other sender(s) or recipient(s)",
            "2 other sender(s) or recipient(s)"
        ],
        "{messages:?}"
    );
    let state = h.fake.state();
    for m in &messages {
        let mailbox = state
            .user_id(m.reference.scope.as_deref().unwrap())
            .unwrap();
        let msg = state.message(&mailbox, &m.reference.id).unwrap();
        assert_ne!(
            msg["subject"], "Uw gegevens",
            "the display-name spoof matched"
        );
        assert_ne!(msg["subject"], "Factuur vraag", "the lookalike matched");
        assert!(!m.erasability.delete, "mail is kept by default");
        // Recognisable without content: folder, date, size, a hash of the subject.
        let d = &m.descriptor;
        assert!(d.contains_key("folder") && d.contains_key("date"), "{d:?}");
        assert!(d["size_bytes"].parse::<u64>().unwrap() > 0);
        assert_eq!(d["subject_sha256"].len(), 16);
        assert!(!d
            .values()
            .any(|v| v.contains(msg["subject"].as_str().unwrap())));
    }
    // The mailbox fan-out went through $batch, not one call per mailbox.
    assert!(h.fake.batches() >= 1);
}

/// Issue 14.2: a former employee whose mailbox the hub searches keeps her account: deleting
/// it would destroy the mailbox, whose mail a plan may retain (hers, or another subject's).
#[tokio::test]
async fn a_former_employee_whose_mailbox_is_searched_is_never_deleted() {
    let h = GraphHarness::start_default().await;
    let femke = email("f.deboer@voorbeeld-it.example");
    assert!(h
        .config
        .mailboxes
        .iter()
        .any(|m| m == "femke.deboer@voorbeeld-it.example"));
    let records = h.connector.discover(&femke).await.unwrap();
    let users = of(&records, "user");
    assert_eq!(users.len(), 1);
    let blocked = users[0].erasability.delete_blocked.as_deref().unwrap_or("");
    assert!(
        blocked.contains("inactive mailbox") && blocked.contains("mailboxes setting"),
        "{blocked}"
    );
}

/// A former employee whose mailbox is not searched (taken off the list once its mail was
/// archived) is deleted and verified gone from the directory. Graph keeps her restorable for
/// 30 days and does not let application permissions purge her, so the outcome says
/// "soft-deleted until" that day; a retry (after a crash between the call and the ledger)
/// says the same instead of "already gone" (issue 14.6).
#[tokio::test]
async fn a_former_employee_is_deleted_and_reported_soft_deleted_until_the_purge() {
    let h = GraphHarness::with(FakeOptions::default(), |c| {
        c.mailboxes
            .retain(|m| m != "femke.deboer@voorbeeld-it.example")
    })
    .await;
    // Her old alias is a proxy address only.
    let femke = email("f.deboer@voorbeeld-it.example");
    let records = h.connector.discover(&femke).await.unwrap();
    let users = of(&records, "user");
    assert_eq!(users.len(), 1);
    let user = users[0];
    assert!(
        user.erasability.delete_blocked.is_none(),
        "a disabled account can go"
    );
    let outcome = h
        .connector
        .erase(&user.reference, &EraseAction::Delete)
        .await
        .unwrap();
    let in_30_days = jiff::ZonedDateTime::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(jiff::Span::new().days(30))
        .unwrap();
    assert_eq!(
        outcome,
        EraseOutcome::SoftDeleted {
            restorable_until: in_30_days
        }
    );
    let state = h.fake.state();
    assert!(!state.users.contains_key(&user.reference.id));
    assert!(
        state.deleted_users.contains_key(&user.reference.id),
        "restorable in deletedItems; the purge is Microsoft's"
    );
    assert_eq!(
        h.connector
            .erase(&user.reference, &EraseAction::Delete)
            .await
            .unwrap(),
        outcome,
        "a retry reports the same soft deletion"
    );
    assert_eq!(
        h.fake.log().calls_to(
            "DELETE",
            &format!("/v1.0/directory/deletedItems/{}", user.reference.id)
        ),
        0,
        "no purge the app's permissions cannot do"
    );
    let again = h.connector.discover(&femke).await.unwrap();
    assert!(of(&again, "user").is_empty());
}

/// Issue 14.6: a plain `DELETE` of a message or contact only moves it to Deleted Items, where
/// it stays restorable (and a mailbox search finds a message again). Erasure removes both with
/// `permanentDelete`: nothing is left to restore.
#[tokio::test]
async fn messages_and_contacts_are_deleted_permanently_not_moved_to_deleted_items() {
    let h = GraphHarness::with(FakeOptions::default(), |c| c.delete_mail = true).await;
    let records = h.connector.discover(&jan()).await.unwrap();
    let erasable: Vec<&Record> = records
        .iter()
        .filter(|r| {
            matches!(r.reference.object.as_str(), "message" | "contact")
                && r.ownership.is_own()
                && r.matched_by.allows_erasure()
        })
        .collect();
    assert!(erasable.iter().any(|r| r.reference.object == "message"));
    assert!(erasable.iter().any(|r| r.reference.object == "contact"));
    let mut mailboxes = std::collections::BTreeSet::new();
    for record in &erasable {
        let outcome = h
            .connector
            .erase(&record.reference, &EraseAction::Delete)
            .await
            .unwrap();
        assert_eq!(outcome, EraseOutcome::Deleted, "{}", record.reference);
        mailboxes.insert(record.reference.scope.clone().unwrap());
    }
    let state = h.fake.state();
    for mailbox in &mailboxes {
        let user = state.user_id(mailbox).unwrap();
        assert_eq!(
            state.recoverable(&user),
            0,
            "{mailbox}: restorable copies left"
        );
    }
    let again = h.connector.discover(&jan()).await.unwrap();
    for record in &erasable {
        assert!(
            !again.iter().any(|r| r.reference == record.reference),
            "{} found again",
            record.reference
        );
    }
    assert!(
        !again
            .iter()
            .any(|r| r.reference.object == "message" && r.ownership.is_own()),
        "no moved copy is found by the mailbox search"
    );
}

#[tokio::test]
async fn an_active_account_is_never_deleted() {
    let h = GraphHarness::start_default().await;
    let records = h
        .connector
        .discover(&email("anna.dewit@voorbeeld-it.example"))
        .await
        .unwrap();
    let user = of(&records, "user")[0];
    assert!(user.erasability.delete_blocked.is_some());
    let err = h
        .connector
        .erase(&user.reference, &EraseAction::Delete)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(h.fake.contains(&user.reference));
}

#[tokio::test]
async fn a_throttled_sub_request_is_retried_alone_and_answers_match_by_id() {
    let h = GraphHarness::start_default().await;
    let baseline = h.connector.discover(&jan()).await.unwrap();
    let batches = h.fake.batches();
    h.fake.throttle_sub_requests(3);
    let records = h.connector.discover(&jan()).await.unwrap();
    let refs =
        |r: &[Record]| -> BTreeSet<RecordRef> { r.iter().map(|x| x.reference.clone()).collect() };
    assert_eq!(refs(&records), refs(&baseline));
    assert_eq!(
        h.fake.batches() - batches,
        2,
        "one batch, then one with only the throttled sub-requests"
    );
}

#[tokio::test]
async fn no_mailbox_ever_sees_more_than_four_requests_at_once() {
    let h = GraphHarness::start_default().await;
    let subject = jan();
    let results = join_all((0..10).map(|_| h.connector.discover(&subject))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(h.fake.concurrency_rejections(), 0);
    assert!(h.fake.max_in_flight() <= 4);
}

#[tokio::test]
async fn mail_is_kept_unless_the_policy_allows_deleting_it() {
    let h = GraphHarness::start_default().await;
    let records = h.connector.discover(&jan()).await.unwrap();
    let message = of(&records, "message")[0];
    let err = h
        .connector
        .erase(&message.reference, &EraseAction::Delete)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(h.fake.contains(&message.reference));

    let h = GraphHarness::with(FakeOptions::default(), |c| c.delete_mail = true).await;
    let records = h.connector.discover(&jan()).await.unwrap();
    let message = of(&records, "message")[0];
    assert!(message.erasability.delete);
    let outcome = h
        .connector
        .erase(&message.reference, &EraseAction::Delete)
        .await
        .unwrap();
    assert_eq!(outcome, EraseOutcome::Deleted);
    assert!(!h.fake.contains(&message.reference));
}

#[tokio::test]
async fn exports_carry_bodies_and_attachment_names_but_listings_do_not() {
    let h = GraphHarness::start_default().await;
    let records = h.connector.discover(&jan()).await.unwrap();
    let mut seen_attachment = false;
    for m in of(&records, "message") {
        let exported = h.connector.export(&m.reference).await.unwrap();
        assert!(exported.data["body"]["content"].is_string());
        if let Some(a) = exported.data["attachments"]
            .as_array()
            .filter(|a| !a.is_empty())
        {
            assert!(a[0]["name"].is_string() && a[0]["size"].is_number());
            assert!(a[0].get("contentBytes").is_none());
            seen_attachment = true;
        }
    }
    assert!(seen_attachment);
}

/// Issue 14.7: a configured mailbox that answers 404 was skipped silently and the task ended
/// `done` while the subject's mail there was never searched. Discovery now fails naming the
/// setting (never the address), as `check` does.
#[tokio::test]
async fn a_missing_mailbox_fails_discovery_naming_the_setting() {
    let h = GraphHarness::start_default().await;
    let mut config = h.config.clone();
    config.mailboxes.push("nobody@voorbeeld-it.example".into());
    let connector = dsrhub_microsoft_graph::MicrosoftGraph::new(config, &h.secrets).unwrap();
    let err = connector.discover(&jan()).await.unwrap_err();
    assert!(
        err.message.contains("mailboxes[10]") && err.message.contains("could not be searched"),
        "{err}"
    );
    assert!(!err.message.contains("nobody"), "{err}");
    assert!(!err.kind.is_retryable(), "a person must fix the setting");
    let err = connector.check().await.unwrap_err();
    assert!(err.message.contains("mailboxes[10]"), "{err}");
    assert!(!err.message.contains("nobody"), "{err}");
}

#[tokio::test]
async fn inventory_counts_users_and_locates_the_tenant() {
    let h = GraphHarness::start_default().await;
    let inventory = h.connector.inventory().await.unwrap();
    assert_eq!(inventory.counts["user"], 10);
    assert_eq!(inventory.counts["configured_mailbox"], 10);
    assert!(inventory.location.eea);
}

/// Issue 15.2, the newest section of `vendors.md`: finding users by `mail`, UPN or proxy
/// address is a default query. The advanced mode (`ConsistencyLevel: eventual`, `$count`)
/// reads an eventually consistent index, stale when verifying an erasure, so it is not used.
#[tokio::test]
async fn users_are_found_with_a_consistent_default_query() {
    let h = GraphHarness::start_default().await;
    h.fake.log().capture(true);
    let records = h
        .connector
        .discover(&email("f.deboer@voorbeeld-it.example"))
        .await
        .unwrap();
    assert_eq!(of(&records, "user").len(), 1, "found by a proxy address");
    let lookups: Vec<_> = h
        .fake
        .log()
        .exchanges()
        .into_iter()
        .filter(|e| e.path == "/v1.0/users")
        .collect();
    assert!(!lookups.is_empty());
    for e in &lookups {
        assert!(
            e.query.iter().all(|(k, _)| k != "$count"),
            "an advanced query: {:?}",
            e.query
        );
        assert_eq!(e.status, 200);
    }
}

/// Issue 15.2: Graph returns at most 1,000 results for a message `$search`, silently. A
/// mailbox with 3,000 matching messages is searched again by received date, halving the days
/// until each search stays under the cap: all 3,000 are found, not the newest 1,000.
#[tokio::test]
async fn a_search_beyond_graphs_1000_results_is_split_by_date() {
    let correspondent = "klant@ver-weg.example";
    let h = GraphHarness::with(
        FakeOptions {
            generated: Some((
                "anna.dewit@voorbeeld-it.example".into(),
                correspondent.into(),
                3_000,
                64,
            )),
            ..FakeOptions::default()
        },
        |_| {},
    )
    .await;
    // As the hub takes them: streamed, each handed over once (the capped search's results
    // are dropped, not handed over and found again).
    let mut handed = Vec::new();
    h.connector
        .discover_each(&email(correspondent), &mut |record| {
            if record.reference.object == "message" {
                handed.push(record.reference.id);
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(handed.len(), 3_000);
    let ids: BTreeSet<&String> = handed.iter().collect();
    assert_eq!(ids.len(), 3_000, "each message once");
}

/// More than 1,000 matching messages on one day cannot be split further: the discovery fails
/// naming the mailbox setting and the day, never reports a complete search that was not.
#[tokio::test]
async fn more_than_1000_matches_on_one_day_fail_the_search_naming_the_mailbox() {
    let correspondent = "klant@ver-weg.example";
    let mut options = FakeOptions {
        generated: Some((
            "anna.dewit@voorbeeld-it.example".into(),
            correspondent.into(),
            3_000,
            64,
        )),
        ..FakeOptions::default()
    };
    // One a minute: 1,440 a day.
    options.spacing_minutes = Some(1);
    let h = GraphHarness::with(options, |_| {}).await;
    let err = h
        .connector
        .discover(&email(correspondent))
        .await
        .unwrap_err();
    assert!(
        err.message
            .contains("processors.microsoft-graph.mailboxes[")
            && err.message.contains("could not be searched completely"),
        "{err}"
    );
}

/// Issue 15.1: every request the connector sends and every answer the fake gives — `$batch`
/// sub-requests one by one — conforms to the OpenAPI 3.0 slice of Graph's description (with
/// `permanentDelete` when `.ci/graph-slice` built it, as CI does), apart from the listed
/// deviations.
#[tokio::test]
async fn every_exchange_conforms_to_graphs_published_description() {
    use dsrhub_connector::testkit::conformance::with_batch_parts;
    use dsrhub_connector::testkit::{deviations, graph_slice, kit_action};
    let Some(spec) = graph_slice() else {
        return;
    };
    let h = GraphHarness::with(FakeOptions::default(), |c| {
        c.delete_mail = true;
        c.mailboxes
            .retain(|m| m != "femke.deboer@voorbeeld-it.example");
    })
    .await;
    h.fake.log().capture(true);
    let c = &h.connector;
    c.check().await.unwrap();
    c.inventory().await.unwrap();
    for subject in [jan(), email("f.deboer@voorbeeld-it.example")] {
        let records = c.discover(&subject).await.unwrap();
        let refs: Vec<RecordRef> = records.iter().map(|r| r.reference.clone()).collect();
        for exported in c.export_batch(&refs).await {
            exported.unwrap();
        }
        // A rectification's read and PATCH.
        let title = dsrhub_connector::Change::Rectify {
            values: [(dsrhub_connector::Field::JobTitle, "Adviseur".to_string())].into(),
        };
        for r in records.iter().filter(|r| r.reference.object != "message") {
            if let Some(dsrhub_connector::Proposal::Change { changes }) =
                c.propose(&r.reference, &title).await.unwrap()
            {
                c.apply(&r.reference, &changes).await.unwrap();
            }
        }
        for r in &records {
            if let Some(action) = kit_action(r) {
                let _ = c.erase(&r.reference, &action).await;
            }
        }
        c.discover(&subject).await.unwrap();
    }
    let exchanges = with_batch_parts(&h.fake.log().exchanges(), "/v1.0/$batch", "/v1.0");
    assert!(exchanges.len() > 10, "{} exchanges", exchanges.len());
    let api = deviations::microsoft_graph(spec);
    // The token endpoint is the identity platform's, not Graph's.
    let graph: Vec<_> = exchanges
        .into_iter()
        .filter(|e| e.path.starts_with("/v1.0/"))
        .collect();
    let problems = api.problems(&graph);
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        graph.iter().any(|e| e.method == "PATCH"),
        "a rectification was checked"
    );
    // Sub-requests of `$batch` were checked on their own (messages are listed through it).
    assert!(graph
        .iter()
        .any(|e| e.method == "GET" && e.path.ends_with("/messages")));
    // The check is real: a user whose `accountEnabled` is not a boolean fails it.
    let mut users = graph
        .iter()
        .find(|e| {
            e.path == "/v1.0/users"
                && e.status == 200
                && e.response
                    .as_ref()
                    .is_some_and(|r| r["value"].as_array().is_some_and(|v| !v.is_empty()))
        })
        .expect("a user lookup")
        .clone();
    users.response.as_mut().unwrap()["value"][0]["accountEnabled"] = serde_json::json!("yes");
    assert!(api
        .check(&users)
        .iter()
        .any(|p| p.contains("accountEnabled")));
}

/// `lookup`: a message an earlier request kept is read afresh by id. Without the subject's
/// addresses, whose it is comes from its parties: the subject is one of them besides the
/// mailbox's owner, so it is shared exactly when discovery found it shared. One deleted since
/// is gone; users are never kept, so never looked up.
#[tokio::test]
async fn a_kept_message_is_looked_up_by_id_and_keeps_its_ownership() {
    use dsrhub_connector::Lookup;
    let h = GraphHarness::with(FakeOptions::default(), |c| c.delete_mail = true).await;
    let records = h.connector.discover(&jan()).await.unwrap();
    let messages = of(&records, "message");
    assert_eq!(messages.len(), 4);
    for m in &messages {
        let Lookup::Found(found) = h.connector.lookup(&m.reference).await.unwrap() else {
            panic!("{} is there", m.reference);
        };
        assert_eq!(found.reference, m.reference);
        assert_eq!(found.matched_by, MatchKind::VendorId);
        assert_eq!(found.retention, m.retention);
        // What lets a person recognise it; its size is listed by the search only.
        for key in ["date", "folder", "subject_sha256"] {
            assert_eq!(found.descriptor[key], m.descriptor[key]);
        }
        assert_eq!(
            found.ownership.is_own(),
            m.ownership.is_own(),
            "{}: {:?} by id, {:?} by search",
            m.reference,
            found.ownership,
            m.ownership
        );
    }
    let own = messages.iter().find(|m| m.ownership.is_own()).unwrap();
    h.connector
        .erase(&own.reference, &EraseAction::Delete)
        .await
        .unwrap();
    assert_eq!(
        h.connector.lookup(&own.reference).await.unwrap(),
        Lookup::Gone
    );
    assert_eq!(
        h.connector
            .lookup(&RecordRef::new("user", "x"))
            .await
            .unwrap(),
        Lookup::Unsupported
    );
}

/// Issue 18.3: a batch shares each query among several subjects (five addresses per users
/// filter and mailbox search) and finds, per subject, exactly what one search for that subject
/// finds — the same records, matched and owned the same way (Femke with two addresses, Jan
/// with the lookalike Jan Janssen in the same query) — with a third of the calls or fewer.
#[tokio::test]
async fn a_batch_finds_what_single_searches_find_with_fewer_calls() {
    let h = GraphHarness::start_default().await;
    let mut subjects: Vec<dsrhub_connector::Subject> = [
        "jan.jansen@example.nl",
        "jan.janssen@example.nl",
        "sanne@bakkerfotografie.example",
        "sanne.bakker@example.nl",
        "kees.visser@smitpartners.example",
        "lisa.degraaf@partner.example",
        "peter.bos@partner.example",
        "nobody.1@example.org",
        "nobody.2@example.org",
        "nobody.3@example.org",
        "nobody.4@example.org",
    ]
    .into_iter()
    .map(email)
    .collect();
    subjects.push(dsrhub_connector::Subject {
        emails: vec![
            "femke.deboer@voorbeeld-it.example".into(),
            "femke.deboer@example.nl".into(),
        ],
        ..Default::default()
    });
    let before = h.fake.log().requests_seen();
    let batch = h.connector.discover_batch(&subjects).await.unwrap();
    let batch_calls = h.fake.log().requests_seen() - before;
    let before = h.fake.log().requests_seen();
    let mut single = Vec::new();
    for subject in &subjects {
        single.push(h.connector.discover(subject).await.unwrap());
    }
    let single_calls = h.fake.log().requests_seen() - before;
    assert_eq!(batch.len(), subjects.len());
    for (i, (b, s)) in batch.iter().zip(&single).enumerate() {
        assert_eq!(b, s, "subject {i}");
    }
    assert!(!batch[0].is_empty() && !batch[11].is_empty());
    assert!(batch[7].is_empty());
    assert!(
        batch_calls * 3 <= single_calls,
        "batch {batch_calls} calls, single {single_calls}"
    );
}
