//! The hub with IT Glue, end to end against its fake.

mod common;

use std::collections::BTreeMap;

use common::hub_for;
use dsrhub::ledger::{RequestKind, RequestStatus};
use dsrhub::orchestrator::RunOptions;
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
    assert_eq!(done.status, RequestStatus::Completed);
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
        .find(|x| x.outcome == "review")
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
    assert_eq!(fake.state().contacts.len(), 19);
}
