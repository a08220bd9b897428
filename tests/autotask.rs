//! The hub with Autotask, end to end against its fake: the ticket rules and the deletion
//! fallback, through the public API.

mod common;

use std::collections::BTreeMap;

use common::{hub_for, HubEnv};
use dsrhub::ledger::{RequestKind, RequestStatus};
use dsrhub::orchestrator::RunOptions;
use dsrhub::report;
use dsrhub_autotask::fake::FakeAutotask;
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Subject;

struct Env {
    fake: FakeAutotask,
    env: HubEnv,
}

async fn start() -> Env {
    let fake = FakeAutotask::start().await.unwrap();
    let secrets = Secrets::in_memory();
    let section = common::autotask_table(&fake, &secrets);
    let env = hub_for(
        BTreeMap::from([("autotask".to_string(), section)]),
        &secrets,
    );
    Env { fake, env }
}

fn email(address: &str) -> Subject {
    Subject {
        emails: vec![address.into()],
        ..Subject::default()
    }
}

fn outcomes(env: &Env, id: &str) -> Vec<(String, String, String, Option<String>)> {
    let r = report::build(&env.env.ledger, id, "org").unwrap();
    r.processors[0]
        .records
        .iter()
        .map(|x| {
            (
                x.object.clone(),
                x.id.clone(),
                x.outcome.clone(),
                x.retain_until.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn old_tickets_are_unlinked_so_the_contact_can_be_deleted() {
    let env = start().await;
    let id = env
        .env
        .hub
        .open(
            RequestKind::Erasure,
            &email("kees.visser@smitpartners.example"),
            "passport",
        )
        .unwrap();
    let done = env
        .env
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
    let result = outcomes(&env, &id);
    let contact = result.iter().find(|r| r.0 == "contact").unwrap();
    assert_eq!(contact.2, "deleted", "{result:?}");
    let state = env.fake.state();
    assert!(!state.contacts.contains_key(&contact.1.parse().unwrap()));
    for ticket in result.iter().filter(|r| r.0 == "ticket") {
        assert_eq!(ticket.2, "anonymized");
        assert!(state.tickets[&ticket.1.parse::<u64>().unwrap()]["contactID"].is_null());
    }
}

#[tokio::test]
async fn open_and_recent_tickets_are_retained_and_their_contact_anonymised() {
    let env = start().await;
    let id = env
        .env
        .hub
        .open(
            RequestKind::Erasure,
            &email("mark.peters@vandijk-installatie.example"),
            "passport",
        )
        .unwrap();
    let done = env
        .env
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
    let r = report::build(&env.env.ledger, &id, "org").unwrap();
    let p = &r.processors[0];
    assert_eq!(p.status, "retained");
    let contact = p.records.iter().find(|x| x.object == "contact").unwrap();
    assert_eq!(contact.outcome, "anonymized");
    assert!(
        contact
            .note
            .as_deref()
            .unwrap_or("")
            .contains("open ticket"),
        "{:?}",
        contact.note
    );
    let tickets: Vec<_> = p.records.iter().filter(|x| x.object == "ticket").collect();
    assert_eq!(tickets.len(), 3);
    assert!(tickets.iter().all(|t| t.outcome == "retained"));
    assert!(tickets
        .iter()
        .all(|t| t.basis.as_deref() == Some("contract performance; kept 12 months after closure")));
    // The ticket closed on 2026-05-03 is kept until 2027-05-03; open ones have no date yet.
    let dated: Vec<_> = tickets
        .iter()
        .filter_map(|t| t.retain_until.as_deref())
        .collect();
    assert_eq!(dated, vec!["2027-05-03"]);
    // Rediscovery: the anonymised contact no longer matches; the tickets still name it.
    let state = env.fake.state();
    let stored = &state.contacts[&contact.id.parse::<u64>().unwrap()];
    assert_eq!(stored["emailAddress"], "");
    assert_eq!(stored["isActive"], 0);
    assert!(r.verification.remaining.is_empty());
}

/// Issue 14.4: the contact of a customer with a running contract is never erased: it is
/// reviewed with the contract's end date, the request stays open for a person's decision, and
/// the fake still holds the contact. Its closed tickets are still handled as correspondence.
#[tokio::test]
async fn a_contact_under_a_running_contract_is_reviewed_not_erased() {
    let env = start().await;
    let subject = "emma.dekker@hofstad.example";
    let id = env
        .env
        .hub
        .open(RequestKind::Erasure, &email(subject), "passport")
        .unwrap();
    let done = env
        .env
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
    assert_ne!(
        done.status,
        RequestStatus::Completed,
        "a person must decide on the contract's contact first"
    );
    let r = report::build(&env.env.ledger, &id, "org").unwrap();
    let contact = r.processors[0]
        .records
        .iter()
        .find(|x| x.object == "contact")
        .unwrap();
    assert_eq!(contact.action, "review");
    let note = contact.note.as_deref().unwrap_or("");
    assert!(
        note.contains("running contract (ends 2030-12-31)"),
        "{note}"
    );
    assert!(!env.env.ledger.request(&id).unwrap().status.is_closed());
    let state = env.fake.state();
    assert!(state
        .contacts
        .values()
        .any(|c| c["emailAddress"] == subject));
}
