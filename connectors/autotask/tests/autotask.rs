//! Autotask-specific behaviour, against the fake.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{email, sanne, AutotaskHarness};
use dsrhub_autotask::fake::FakeOptions;
use dsrhub_connector::testkit::{fast_http_settings, Harness};
use dsrhub_connector::{
    Connector, EraseAction, EraseOutcome, ErrorKind, MatchKind, Record, RetentionHint, Subject,
};

fn exact_contacts(records: &[Record]) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| r.reference.object == "contact" && r.matched_by.allows_erasure())
        .map(|r| r.reference.id.clone())
        .collect()
}

fn contact_id(h: &AutotaskHarness, field: &str, address: &str) -> String {
    h.fake
        .state()
        .contacts
        .values()
        .find(|c| c[field] == address)
        .map(|c| c["id"].to_string())
        .expect("fixture contact")
}

/// Issue 14.3: a contact matched only on `emailAddress2`/`3` whose primary address is not one
/// of the subject's may be someone else's: it is reviewed, never deleted or anonymised, and
/// its tickets are not the subject's. With the primary address verified too, it is hers.
#[tokio::test]
async fn a_contact_matched_only_on_a_secondary_address_is_reviewed() {
    let h = AutotaskHarness::start().await;
    let club = contact_id(&h, "emailAddress2", "sanne.bakker@example.nl");
    let records = h.connector.discover(&sanne()).await.unwrap();
    let contact = records.iter().find(|r| r.reference.id == club).unwrap();
    assert!(
        matches!(&contact.ownership, dsrhub_connector::Ownership::Shared(why) if why.contains("secondary address")),
        "{contact:?}"
    );
    assert!(!contact.erasability.delete);
    assert!(contact.erasability.anonymize_fields.is_empty());
    let mut both = sanne();
    both.emails.push("s.bakker@fotoclub.example".into());
    let records = h.connector.discover(&both).await.unwrap();
    let contact = records.iter().find(|r| r.reference.id == club).unwrap();
    assert!(contact.ownership.is_own());
    assert!(contact.erasability.delete);
}

/// Issue 14.4: a contact's company's contracts say whether the contact is contract data, and
/// until when: running (with its end date), ended (on the latest end date, also for a contract
/// left active past its end), or none (no contract: no contract data).
#[tokio::test]
async fn a_contacts_retention_comes_from_its_companys_contracts() {
    let h = AutotaskHarness::start().await;
    let contact_hint = |records: Vec<Record>| {
        records
            .into_iter()
            .find(|r| r.reference.object == "contact")
            .expect("the contact")
            .retention
    };
    // Hofstad Advocaten: an old contract left active past its end, and a running one.
    let running = h
        .connector
        .discover(&email("emma.dekker@hofstad.example"))
        .await
        .unwrap();
    assert_eq!(
        contact_hint(running),
        Some(RetentionHint::Contract {
            ended: None,
            runs_until: Some(jiff::civil::date(2030, 12, 31)),
        }),
        "the running contract ends 2030-12-31"
    );
    let ended = h
        .connector
        .discover(&email("sanne@bakkerfotografie.example"))
        .await
        .unwrap();
    assert_eq!(
        contact_hint(ended),
        Some(RetentionHint::Contract {
            ended: Some(jiff::civil::date(2025, 9, 30)),
            runs_until: None,
        })
    );
    // Smit & Partners has no contract.
    let none = h
        .connector
        .discover(&email("kees.visser@smitpartners.example"))
        .await
        .unwrap();
    assert_eq!(contact_hint(none), None);
}

#[tokio::test]
async fn finds_the_subject_by_any_email_field_and_nobody_else() {
    let h = AutotaskHarness::start().await;
    let records = h.connector.discover(&sanne()).await.unwrap();
    let expected = BTreeSet::from([
        contact_id(&h, "emailAddress", "sanne@bakkerfotografie.example"),
        contact_id(&h, "emailAddress2", "sanne.bakker@example.nl"),
    ]);
    assert_eq!(exact_contacts(&records), expected);
    // Her business contact's two tickets come along, linked to it.
    assert_eq!(records.len(), 4);
    assert_eq!(
        records
            .iter()
            .filter(|r| r.reference.object == "ticket" && r.matched_by == MatchKind::Linked)
            .count(),
        2
    );

    let records = h
        .connector
        .discover(&email("jan.devries@noorderlicht.example"))
        .await
        .unwrap();
    assert_eq!(
        exact_contacts(&records),
        BTreeSet::from([contact_id(
            &h,
            "emailAddress",
            "jan.devries@noorderlicht.example"
        )])
    );
    // Name-only matches are for review.
    let by_name = Subject {
        names: vec!["Johan de Vries".into()],
        ..Subject::default()
    };
    let records = h.connector.discover(&by_name).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].matched_by, MatchKind::Name);
}

#[tokio::test]
async fn tickets_come_with_their_contact_and_open_ones_block_deletion() {
    let h = AutotaskHarness::start().await;
    let records = h
        .connector
        .discover(&email("mark.peters@vandijk-installatie.example"))
        .await
        .unwrap();
    let contact = records
        .iter()
        .find(|r| r.reference.object == "contact")
        .unwrap();
    assert_eq!(
        contact.erasability.delete_blocked.as_deref(),
        Some("contact on 2 open ticket(s)")
    );
    let tickets: Vec<_> = records
        .iter()
        .filter(|r| r.reference.object == "ticket")
        .collect();
    assert_eq!(tickets.len(), 3);
    let open = tickets
        .iter()
        .filter(|t| {
            matches!(
                t.retention,
                Some(RetentionHint::Correspondence { closed: None })
            )
        })
        .count();
    assert_eq!(open, 2);
    assert!(tickets
        .iter()
        .all(|t| t.linked_to.as_ref() == Some(&contact.reference)));
}

#[tokio::test]
async fn autotask_refuses_to_delete_a_contact_on_tickets_and_anonymising_works() {
    let h = AutotaskHarness::start().await;
    let records = h
        .connector
        .discover(&email("kees.visser@smitpartners.example"))
        .await
        .unwrap();
    let contact = records
        .iter()
        .find(|r| r.reference.object == "contact")
        .unwrap();
    // Closed tickets do not block in the plan, but Autotask refuses while they name him.
    assert!(contact.erasability.delete_blocked.is_none());
    let err = h
        .connector
        .erase(&contact.reference, &EraseAction::Delete)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    // Unlink the tickets first, and the delete goes through.
    for ticket in records.iter().filter(|r| r.reference.object == "ticket") {
        let fields = ticket.erasability.anonymize_fields.clone();
        let outcome = h
            .connector
            .erase(&ticket.reference, &EraseAction::Anonymize { fields })
            .await
            .unwrap();
        assert!(matches!(outcome, EraseOutcome::Anonymized { .. }));
        let stored = &h.fake.state().tickets[&ticket.reference.id.parse::<u64>().unwrap()];
        assert!(stored["contactID"].is_null());
        assert_eq!(stored["description"], "");
    }
    assert_eq!(
        h.connector
            .erase(&contact.reference, &EraseAction::Delete)
            .await
            .unwrap(),
        EraseOutcome::Deleted
    );
    assert!(h
        .connector
        .discover(&email("kees.visser@smitpartners.example"))
        .await
        .unwrap()
        .is_empty());

    // Anonymising a contact clears every address and deactivates it.
    let mark = h
        .connector
        .discover(&email("mark.peters@vandijk-installatie.example"))
        .await
        .unwrap();
    let contact = mark
        .iter()
        .find(|r| r.reference.object == "contact")
        .unwrap();
    let fields = contact.erasability.anonymize_fields.clone();
    h.connector
        .erase(&contact.reference, &EraseAction::Anonymize { fields })
        .await
        .unwrap();
    let stored = &h.fake.state().contacts[&contact.reference.id.parse::<u64>().unwrap()];
    assert_eq!(stored["emailAddress"], "");
    assert_eq!(stored["firstName"], "Deleted");
    assert_eq!(stored["isActive"], 0);
}

#[tokio::test]
async fn never_more_than_three_requests_in_flight() {
    let options = FakeOptions::default();
    let h = AutotaskHarness::with_options(options, fast_http_settings()).await;
    h.fake.faults().set_slow(Some(Duration::from_millis(40)));
    let subjects: Vec<Subject> = [
        "sanne@bakkerfotografie.example",
        "jan.jansen@hofstad.example",
        "mark.peters@vandijk-installatie.example",
    ]
    .iter()
    .map(|e| email(e))
    .collect();
    let runs = (0..8).map(|i| {
        let connector = h.connector.clone();
        let subject = subjects[i % subjects.len()].clone();
        async move { connector.discover(&subject).await }
    });
    for result in futures_util::future::join_all(runs).await {
        result.unwrap();
    }
    assert!(
        h.fake.max_in_flight() <= 3,
        "{} requests in flight at once",
        h.fake.max_in_flight()
    );
    assert!(
        h.fake.max_in_flight() >= 2,
        "the test did not overlap requests"
    );
    assert_eq!(h.fake.thread_rejections(), 0);
}

#[tokio::test]
async fn a_storm_of_429s_ends_in_completion() {
    let mut http = fast_http_settings();
    http.max_retries = 8;
    let h = AutotaskHarness::with_options(FakeOptions::default(), http).await;
    h.fake.faults().fail_next(429, 6, None);
    let records = h.connector.discover(&sanne()).await.unwrap();
    assert_eq!(exact_contacts(&records).len(), 2);
}

#[tokio::test]
async fn the_hourly_limit_is_respected_and_the_slowdown_absorbed() {
    let options = FakeOptions {
        hourly_limit: 12,
        window: Duration::from_secs(2),
        slowdown: (Duration::from_millis(20), Duration::from_millis(40)),
        ..FakeOptions::default()
    };
    let mut http = fast_http_settings();
    http.rate_limit = Some(dsrhub_connector::http::Quota::new(
        12,
        Duration::from_secs(2),
    ));
    let h = AutotaskHarness::with_options(options, http).await;
    for _ in 0..8 {
        assert_eq!(
            exact_contacts(&h.connector.discover(&sanne()).await.unwrap()).len(),
            2
        );
    }
    assert!(
        h.fake.log().requests_seen() > 12,
        "the test must cross a window"
    );
    assert_eq!(
        h.fake.quota_rejections(),
        0,
        "the client went over the hourly limit"
    );
}

#[tokio::test]
async fn credentials_never_go_to_a_foreign_next_page_host() {
    // A listener standing in for another host: it counts connections.
    let foreign = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let foreign_addr = foreign.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = foreign.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let options = FakeOptions {
        next_page_host: Some(foreign_addr.to_string()),
        ..FakeOptions::default()
    };
    let h = AutotaskHarness::with_options(options, fast_http_settings()).await;
    h.fake.set_page_size(Some(1));
    let err = h.connector.discover(&sanne()).await.unwrap_err();
    assert!(
        err.message.contains("refusing to send credentials"),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_batch_of_subjects_shares_one_query() {
    let h = AutotaskHarness::start().await;
    let subjects: Vec<Subject> = h
        .fake
        .state()
        .contacts
        .values()
        .map(|c| email(c["emailAddress"].as_str().unwrap()))
        .collect();
    assert!(subjects.len() > 20);
    let before = h.fake.log().calls().len();
    let results = h.connector.discover_batch(&subjects).await.unwrap();
    let calls: Vec<_> = h.fake.log().calls()[before..].to_vec();
    let contact_queries = calls
        .iter()
        .filter(|(m, p)| m == "POST" && p.ends_with("/Contacts/query"))
        .count();
    assert_eq!(contact_queries, 1, "{calls:?}");
    for (subject, records) in subjects.iter().zip(&results) {
        let contacts: Vec<_> = records
            .iter()
            .filter(|r| r.reference.object == "contact")
            .collect();
        assert_eq!(contacts.len(), 1, "results were not split per subject");
        let contact = &h.fake.state().contacts[&contacts[0].reference.id.parse::<u64>().unwrap()];
        assert_eq!(contact["emailAddress"], subject.emails[0].as_str());
    }
}

#[tokio::test]
async fn more_than_500_conditions_are_split_into_several_queries() {
    let h = AutotaskHarness::start().await;
    let subjects: Vec<Subject> = (0..200)
        .map(|i| email(&format!("nobody{i}@example.nl")))
        .chain([sanne()])
        .collect();
    let results = h.connector.discover_batch(&subjects).await.unwrap();
    assert_eq!(exact_contacts(results.last().unwrap()).len(), 2);
    let queries = h
        .fake
        .log()
        .calls()
        .iter()
        .filter(|(m, p)| m == "POST" && p.ends_with("/Contacts/query"))
        .count();
    assert_eq!(queries, 2, "606 conditions must go in two queries");
}

#[tokio::test]
async fn zone_discovery_gives_the_api_host_and_data_location() {
    let h = AutotaskHarness::start().await;
    let health = h.connector.check().await.unwrap();
    assert!(health.authenticated);
    let location = h.connector.describe().location;
    assert!(location.eea, "{location:?}");
    let inventory = h.connector.inventory().await.unwrap();
    assert_eq!(
        inventory.counts["contact"],
        h.fake.state().contacts.len() as u64
    );
    assert_eq!(
        inventory.counts["ticket"],
        h.fake.state().tickets.len() as u64
    );
}

#[tokio::test]
async fn a_wrong_user_name_is_an_auth_error_not_a_retry() {
    let h = AutotaskHarness::start().await;
    let mut config = common::config(&h.fake, fast_http_settings());
    config.base_url = Some(h.fake.base_url());
    config.username = "someone-else@voorbeeld-it.example".into();
    let connector = dsrhub_autotask::Autotask::new(config, &h.secrets).unwrap();
    let before = h.fake.log().requests_seen();
    let err = connector.discover(&sanne()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert_eq!(h.fake.log().requests_seen() - before, 1);
}

/// Issue 14.8: every property of the spec's `ContactModel` and `TicketModel` is classified
/// once, as cleared or not personal (the spec writes PascalCase, the API camelCase).
#[test]
fn contact_and_ticket_fields_are_classified_against_the_spec() {
    use dsrhub_autotask::fields::{
        CONTACT_CLEARED, CONTACT_NOT_PERSONAL, TICKET_CLEARED, TICKET_NOT_PERSONAL,
    };
    use dsrhub_connector::testkit::{spec_properties, vendor_spec};
    let Some(spec) = vendor_spec("autotask-rest-v1.json") else {
        return;
    };
    for (model, cleared, not_personal, own) in [
        (
            "ContactModel",
            CONTACT_CLEARED,
            CONTACT_NOT_PERSONAL,
            &[][..],
        ),
        // A ticket's notes are the `TicketNotes` child entity, not a property.
        (
            "TicketModel",
            TICKET_CLEARED,
            TICKET_NOT_PERSONAL,
            &["notes"][..],
        ),
    ] {
        let properties: BTreeSet<String> = spec_properties(
            &spec,
            &serde_json::json!({ "$ref": format!("#/definitions/{model}") }),
        )
        .into_iter()
        .map(|p| p.to_ascii_lowercase())
        .collect();
        for property in &properties {
            let homes = [cleared, not_personal]
                .iter()
                .filter(|l| l.iter().any(|f| f.eq_ignore_ascii_case(property)))
                .count();
            assert_eq!(homes, 1, "{model}.{property} is in {homes} lists, not 1");
        }
        for listed in cleared.iter().chain(not_personal) {
            assert!(
                properties.contains(&listed.to_ascii_lowercase()) || own.contains(listed),
                "{model} has no `{listed}`"
            );
        }
    }
}

/// Issue 14.8: the whole contact and the whole ticket (with its notes) before and after their
/// anonymisation: nothing of the person is left outside the fields that are not personal.
#[tokio::test]
async fn anonymising_leaves_nothing_of_the_person_in_a_contact_or_a_ticket() {
    use dsrhub_autotask::fields::{CONTACT_NOT_PERSONAL, TICKET_NOT_PERSONAL};
    use dsrhub_connector::testkit::personal_values_left;
    use dsrhub_connector::EraseAction;
    let h = AutotaskHarness::start().await;
    let connector = &h.connector;
    // Mark Peters: open tickets, so his contact is anonymised, not deleted.
    let mark = connector
        .discover(&email("mark.peters@vandijk-installatie.example"))
        .await
        .unwrap();
    let contact = mark
        .iter()
        .find(|r| r.reference.object == "contact")
        .unwrap();
    let id: u64 = contact.reference.id.parse().unwrap();
    let before = h.fake.state().contacts[&id].clone();
    assert!(
        before["note"].as_str().unwrap().contains("woensdag"),
        "a real shape"
    );
    let fields = contact.erasability.anonymize_fields.clone();
    connector
        .erase(&contact.reference, &EraseAction::Anonymize { fields })
        .await
        .unwrap();
    let after = h.fake.state().contacts[&id].clone();
    // A user-defined field's `name` is its label, not the person's data.
    let kept: Vec<&str> = CONTACT_NOT_PERSONAL
        .iter()
        .chain(&["name"])
        .copied()
        .collect();
    let left = personal_values_left(&before, &after, &kept);
    assert!(left.is_empty(), "contact still holds: {left:?}");

    // Kees Visser's ticket of 2024, with a resolution and two notes.
    let kees = connector
        .discover(&email("kees.visser@smitpartners.example"))
        .await
        .unwrap();
    let ticket = kees
        .iter()
        .find(|r| r.reference.id == "907422")
        .expect("the ticket");
    let notes_of = |state: &dsrhub_autotask::fake::State| -> serde_json::Value {
        serde_json::Value::Array(
            state
                .ticket_notes
                .values()
                .filter(|n| n["ticketID"] == 907422)
                .cloned()
                .collect(),
        )
    };
    let state = h.fake.state();
    let before = serde_json::json!({ "ticket": state.tickets[&907422], "notes": notes_of(&state) });
    assert_eq!(before["notes"].as_array().unwrap().len(), 2);
    let fields = ticket.erasability.anonymize_fields.clone();
    let outcome = connector
        .erase(&ticket.reference, &EraseAction::Anonymize { fields })
        .await
        .unwrap();
    assert!(
        matches!(outcome, EraseOutcome::Anonymized { fields } if fields.contains(&"notes".to_string()))
    );
    let state = h.fake.state();
    let after = serde_json::json!({ "ticket": state.tickets[&907422], "notes": notes_of(&state) });
    let kept: Vec<&str> = TICKET_NOT_PERSONAL
        .iter()
        .chain(&[
            "ticketID",
            "noteType",
            "publish",
            "createDateTime",
            "creatorResourceID",
        ])
        .copied()
        .collect();
    let left = personal_values_left(&before, &after, &kept);
    assert!(left.is_empty(), "ticket still holds: {left:?}");
    // Mark's open ticket's note is someone else's business: untouched.
    assert!(h.fake.state().ticket_notes[&29744003]["description"]
        .as_str()
        .unwrap()
        .contains("Mark Peters"));
}

/// Issue 14.3: a ticket with two contacts is shared. For its primary contact (Daan) it is
/// shared with the additional one; for the additional contact (Thijs) it is another person's
/// ticket that names him. Neither may change it for one person; each keeps his own tickets.
#[tokio::test]
async fn a_ticket_with_two_contacts_is_shared_for_both() {
    let h = AutotaskHarness::start().await;
    let ticket = |records: &[Record], id: &str| {
        records
            .iter()
            .find(|r| r.reference.object == "ticket" && r.reference.id == id)
            .cloned()
    };
    let daan = h
        .connector
        .discover(&email("daan.vandenberg@noorderlicht.example"))
        .await
        .unwrap();
    let shared = ticket(&daan, "907440").expect("his ticket");
    assert!(
        matches!(&shared.ownership, dsrhub_connector::Ownership::Shared(why) if why == "a ticket with 1 other contact(s)"),
        "{:?}",
        shared.ownership
    );
    assert!(shared.erasability.anonymize_fields.is_empty());
    assert!(
        ticket(&daan, "907435").unwrap().ownership.is_own(),
        "his other ticket"
    );

    let thijs = h
        .connector
        .discover(&email("thijs.bos@noorderlicht.example"))
        .await
        .unwrap();
    let named = ticket(&thijs, "907440").expect("Daan's ticket names him");
    assert!(
        matches!(&named.ownership, dsrhub_connector::Ownership::Shared(why) if why.contains("additional contact")),
        "{:?}",
        named.ownership
    );
    assert!(named.erasability.anonymize_fields.is_empty());
    let contact = thijs
        .iter()
        .find(|r| r.reference.object == "contact")
        .unwrap();
    assert_eq!(named.linked_to.as_ref(), Some(&contact.reference));
    assert!(ticket(&thijs, "907448").unwrap().ownership.is_own());
}

/// Issue 15.1: every request the connector sends and every model the fake answers, through
/// zone lookup, discovery (contacts, tickets, additional contacts, contracts), export and
/// erasure (delete, anonymise, ticket notes), conforms to Autotask's published Swagger 2.0
/// description, read as the API answers (see `OpenApi::swagger2`).
#[tokio::test]
async fn every_exchange_conforms_to_autotasks_published_description() {
    use dsrhub_connector::testkit::{deviations, kit_action, vendor_spec};
    use dsrhub_connector::EraseAction;
    let Some(spec) = vendor_spec("autotask-rest-v1.json") else {
        return;
    };
    let h = AutotaskHarness::start().await;
    h.fake.log().capture(true);
    let c = &h.connector;
    c.check().await.unwrap();
    for subject in [
        sanne(),
        email("mark.peters@vandijk-installatie.example"),
        email("kees.visser@smitpartners.example"),
        email("daan.vandenberg@noorderlicht.example"),
        email("emma.dekker@hofstad.example"),
    ] {
        let mut records = c.discover(&subject).await.unwrap();
        for r in &records {
            c.export(&r.reference).await.unwrap();
        }
        // Tickets before their contact, as the hub does it.
        records.sort_by_key(|r| r.linked_to.is_none());
        for r in &records {
            if let Some(action) = kit_action(r) {
                if c.erase(&r.reference, &action).await.is_err() {
                    let fields = r.erasability.anonymize_fields.clone();
                    let _ = c
                        .erase(&r.reference, &EraseAction::Anonymize { fields })
                        .await;
                }
            }
        }
        c.discover(&subject).await.unwrap();
    }
    let exchanges = h.fake.log().exchanges();
    assert!(exchanges.len() > 30, "{} exchanges", exchanges.len());
    let api = deviations::autotask(spec);
    let problems = api.problems(&exchanges);
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The check is real: a contact whose company id is not a number fails it.
    let mut answer = exchanges
        .iter()
        .find(|e| e.path.ends_with("/Contacts/query") && e.status == 200)
        .expect("a contact query")
        .clone();
    answer.response.as_mut().unwrap()["items"][0]["companyID"] = serde_json::json!("abc");
    assert!(api.check(&answer).iter().any(|p| p.contains("companyid")));
}

/// Issue 15.2: `check` reads `ThresholdInformation`: the hourly limit is shared by every
/// integration of the database, and what others used is said, with what is left.
#[tokio::test]
async fn check_reports_the_hourly_budget_other_integrations_used() {
    let h = AutotaskHarness::with_options(
        FakeOptions {
            other_integrations_usage: 4_000,
            ..FakeOptions::default()
        },
        fast_http_settings(),
    )
    .await;
    let health = h.connector.check().await.unwrap();
    let remaining = health
        .rate_limit_remaining
        .expect("from ThresholdInformation");
    assert!((5_990..=6_000).contains(&remaining), "{remaining}");
    assert!(
        health.detail.contains("40% of the hourly request limit"),
        "{}",
        health.detail
    );
}

/// Issue 15.2: an API user whose security level hides every company would make every search
/// answer "no match"; `check` refuses to call that healthy.
#[tokio::test]
async fn check_refuses_an_api_user_that_sees_no_companies() {
    let mut seed = dsrhub_autotask::fake::Seed::fixture();
    seed.companies.clear();
    let h = AutotaskHarness::with_options(
        FakeOptions {
            seed,
            ..FakeOptions::default()
        },
        fast_http_settings(),
    )
    .await;
    let err = h.connector.check().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth);
    assert!(err.message.contains("sees no companies"), "{err}");
}

/// Issue 15.2: the contact delete blockers of `vendors.md`, known before trying: the primary
/// contact flag is `Contact.primaryContact`, and a contact with a Client Portal account is
/// never deleted (only merged). Both are planned as anonymisation; the fake refuses both
/// deletes as Autotask does.
#[tokio::test]
async fn primary_contacts_and_client_portal_users_are_anonymised_not_deleted() {
    let h = AutotaskHarness::start().await;
    for (address, why) in [
        (
            "pieter+support@smitpartners.example",
            "primary contact of its company",
        ),
        ("bram.hendriks@smit.example", "Client Portal account"),
    ] {
        let records = h.connector.discover(&email(address)).await.unwrap();
        let contact = records
            .iter()
            .find(|r| r.reference.object == "contact")
            .unwrap();
        let blocked = contact.erasability.delete_blocked.as_deref().unwrap_or("");
        assert!(blocked.contains(why), "{address}: {blocked:?}");
        let err = h
            .connector
            .erase(&contact.reference, &EraseAction::Delete)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Conflict, "{address}: {err}");
    }
}

/// Issue 15.3: a query that answers more than Autotask's 500 records a page (a common name,
/// 600 namesakes) is followed through `pageDetails.nextPageUrl`; every match is found, each
/// page asked with `MaxRecords` 500.
#[tokio::test]
async fn a_query_of_more_than_500_contacts_is_followed_to_its_last_page() {
    let h = AutotaskHarness::with_options(
        FakeOptions {
            seed: dsrhub_autotask::fake::Seed::fixture()
                .with_namesakes(29682077, "Jan", "de Vries", 600),
            ..FakeOptions::default()
        },
        fast_http_settings(),
    )
    .await;
    h.fake.log().capture(true);
    let subject = Subject {
        names: vec!["Jan de Vries".into()],
        ..Subject::default()
    };
    let records = h.connector.discover(&subject).await.unwrap();
    assert_eq!(
        records.len(),
        601,
        "600 namesakes and the fixture's Jan de Vries"
    );
    assert!(records.iter().all(|r| r.matched_by == MatchKind::Name));
    let exchanges = h.fake.log().exchanges();
    let next_pages = exchanges
        .iter()
        .filter(|e| e.path.ends_with("/Contacts/query/next"))
        .count();
    assert!(next_pages >= 1, "the second page was followed");
    assert!(exchanges
        .iter()
        .filter(|e| e.path.ends_with("/Contacts/query") && e.method == "POST")
        .all(|e| e.request.as_ref().is_some_and(|b| b["MaxRecords"] == 500)));
}

/// Issue 18.2: Autotask's `contract_ended` signal. A company's agreement ended when none of
/// its contracts runs (Bakker Fotografie's ended 2025-09-30), on the latest of that and the
/// last activity of its contacts; a company with a contract still running (Hofstad, until
/// 2030) or without contracts (Van Dijk) is not selected. Each contact is a subject.
#[tokio::test]
async fn ended_contracts_come_from_contracts_and_activity() {
    let h = AutotaskHarness::start().await;
    let cutoff: jiff::civil::Date = "2025-12-06".parse().unwrap();
    let signals = h.connector.contracts_ended(cutoff).await.unwrap().unwrap();
    let ended = &signals.ended;
    assert_eq!(ended.len(), 1, "{ended:?}");
    // Hofstad's contract runs until 2030: its people are under an agreement.
    assert!(signals
        .ongoing
        .iter()
        .any(|a| a == "jan.jansen@hofstad.example"));
    assert!(!signals
        .ongoing
        .iter()
        .any(|a| a == "sanne@bakkerfotografie.example"));
    assert_eq!(ended[0].subject.emails, ["sanne@bakkerfotografie.example"]);
    assert_eq!(ended[0].ended_on.to_string(), "2025-10-01");
    assert_eq!(
        ended[0].signal,
        "last contract ended 2025-09-30; last activity 2025-10-01"
    );
    // With the cutoff on the day of the last activity, the agreement has not ended before it.
    let earlier: jiff::civil::Date = "2025-10-01".parse().unwrap();
    let later = h.connector.contracts_ended(earlier).await.unwrap().unwrap();
    assert!(later.ended.is_empty());
    assert!(later
        .ongoing
        .iter()
        .any(|a| a == "sanne@bakkerfotografie.example"));
}

/// `lookup`: a ticket an earlier request kept is read afresh by id, linked to its contact.
/// Without the subject's addresses, any additional contact makes it shared — as the search
/// found it for Daan (his ticket with Thijs on it) — and his own ticket stays his own, so it
/// can be anonymised once its months have run. A ticket that no longer exists is gone;
/// contacts are for a person.
#[tokio::test]
async fn a_kept_ticket_is_looked_up_by_id_with_its_ownership() {
    use dsrhub_connector::Lookup;
    let h = AutotaskHarness::start().await;
    let daan = h
        .connector
        .discover(&email("daan.vandenberg@noorderlicht.example"))
        .await
        .unwrap();
    for id in ["907440", "907435"] {
        let searched = daan
            .iter()
            .find(|r| r.reference.object == "ticket" && r.reference.id == id)
            .unwrap();
        let Lookup::Found(found) = h.connector.lookup(&searched.reference).await.unwrap() else {
            panic!("ticket {id} is there");
        };
        assert_eq!(found.matched_by, MatchKind::VendorId);
        assert_eq!(
            found.ownership.is_own(),
            searched.ownership.is_own(),
            "{id}"
        );
        assert_eq!(found.linked_to, searched.linked_to, "{id}");
        assert_eq!(found.retention, searched.retention, "{id}");
        assert_eq!(found.erasability, searched.erasability, "{id}");
    }
    assert_eq!(
        h.connector
            .lookup(&dsrhub_connector::RecordRef::new("ticket", "999999999"))
            .await
            .unwrap(),
        Lookup::Gone
    );
    let contact = daan
        .iter()
        .find(|r| r.reference.object == "contact")
        .unwrap();
    assert_eq!(
        h.connector.lookup(&contact.reference).await.unwrap(),
        Lookup::Unsupported
    );
}
