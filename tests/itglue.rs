//! The hub with IT Glue, end to end against its fake.

mod common;

use std::collections::BTreeMap;

use common::hub_for;
use dsrhub::ledger::{RequestKind, RequestStatus};
use dsrhub::orchestrator::{ManualOutcome, RunOptions};
use dsrhub::report;
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Subject;
use dsrhub_itglue::fake::FakeItGlue;

#[tokio::test]
async fn deletable_contacts_go_in_one_bulk_call_and_synced_ones_are_left_to_their_source() {
    let fake = FakeItGlue::start().await.unwrap();
    let secrets = Secrets::in_memory();
    secrets
        .store(&"keyring:itg".parse().unwrap(), &fake.api_key())
        .unwrap();
    let mut section = toml::Table::new();
    section.insert("base_url".into(), fake.base_url().to_string().into());
    section.insert("api_key".into(), "keyring:itg".into());
    let env = hub_for(BTreeMap::from([("itglue".to_string(), section)]), &secrets);
    let subject = Subject {
        emails: vec![
            "sanne@bakkerfotografie.example".into(),
            "sanne.bakker@example.nl".into(),
            // Mark Peters's contact is synced from Autotask: one subject, several addresses,
            // only to exercise both paths in one request.
            "mark.peters@vandijk-installatie.example".into(),
        ],
        ..Subject::default()
    };
    let id = env
        .hub
        .open(RequestKind::Erasure, &subject, "passport")
        .unwrap();
    let done = env
        .hub
        .carry_out(
            &id,
            &RunOptions {
                execute: true,
                ..RunOptions::default()
            },
            "test operator",
        )
        .await
        .unwrap();
    // Issue 13.3: the synced contact is an exact match the API must not erase; it is an open
    // obligation that keeps the request (and the subject's identifiers) until a person acts.
    assert_eq!(done.status, RequestStatus::AwaitingProcessors);
    assert!(env.ledger.subject(&id).is_ok());
    assert_eq!(
        fake.log().calls_to("DELETE", "/contacts"),
        1,
        "one bulk delete"
    );
    let r = report::build(&env.ledger, &id, "org").unwrap();
    let records = &r.processors[0].records;
    assert_eq!(records.iter().filter(|x| x.outcome == "deleted").count(), 2);
    let synced = records
        .iter()
        .find(|x| x.outcome == "manual action needed")
        .expect("the synced contact");
    assert!(
        synced
            .note
            .as_deref()
            .unwrap_or("")
            .contains("managed at source: autotask"),
        "{:?}",
        synced.note
    );
    assert!(
        r.verification.remaining.is_empty(),
        "a synced contact is not a failed erasure"
    );
    assert_eq!(r.verification.manual_actions.len(), 1);
    assert!(
        !r.verification.line().contains("nothing erasable remains"),
        "{}",
        r.verification.line()
    );
    assert_eq!(r.processors[0].status, "manual_pending");
    assert_eq!(fake.state().contacts.len(), 19);

    // Removed at the source by hand: recorded per record, with evidence; then it closes.
    let evidence = env.dir.path().join("autotask-screenshot.png");
    std::fs::write(&evidence, b"not really a png").unwrap();
    let record = format!("{}:{}", synced.object, synced.id);
    let err = env
        .hub
        .confirm_record(
            &id,
            "itglue",
            &record,
            ManualOutcome::Kept,
            &evidence,
            None,
            "Petra",
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("--note"), "{err}");
    let err = env
        .hub
        .confirm_record(
            &id,
            "itglue",
            "contact:1",
            ManualOutcome::Deleted,
            &evidence,
            None,
            "Petra",
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains(&synced.id), "names what waits: {err}");
    let status = env
        .hub
        .confirm_record(
            &id,
            "itglue",
            &record,
            ManualOutcome::Deleted,
            &evidence,
            Some("deleted in Autotask; the sync removed it"),
            "Petra",
        )
        .unwrap();
    assert_eq!(status, RequestStatus::Completed);
    assert!(
        env.ledger.subject(&id).is_err(),
        "purged once nothing is left"
    );
    let r = report::build(&env.ledger, &id, "org").unwrap();
    assert!(r.verification.manual_actions.is_empty());
    let synced = r.processors[0]
        .records
        .iter()
        .find(|x| x.id == synced.id)
        .unwrap();
    assert_eq!(synced.outcome, "deleted");
    assert!(
        synced.note.as_deref().unwrap().contains("by hand"),
        "{:?}",
        synced.note
    );
}
