//! The hub with Exact Online, end to end against its fake: login, erasure with invoices kept
//! for the fiscal retention period, and a spent daily limit that makes the task wait.

mod common;

use std::collections::BTreeMap;

use common::{http_table, hub_for, HubEnv};
use dsrhub::ledger::{RequestKind, RequestStatus, TaskState};
use dsrhub::orchestrator::RunOptions;
use dsrhub::report;
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Subject;
use dsrhub_exact_online::fake::{FakeExactOnline, FakeOptions};

struct Env {
    fake: FakeExactOnline,
    env: HubEnv,
}

async fn start() -> Env {
    let fake = FakeExactOnline::start_with(FakeOptions {
        minutely_limit: 100_000,
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let secrets = Secrets::in_memory();
    secrets
        .store(&"keyring:eo-secret".parse().unwrap(), &fake.client_secret())
        .unwrap();
    let mut http = http_table();
    http.insert(
        "rate_limit".into(),
        toml::toml! { requests = 100000
        per_seconds = 60 }
        .into(),
    );
    let mut section = toml::Table::new();
    section.insert("host".into(), fake.host().to_string().into());
    section.insert("client_id".into(), fake.client_id().into());
    section.insert("client_secret".into(), "keyring:eo-secret".into());
    section.insert(
        "redirect_uri".into(),
        fake.redirect_uri().to_string().into(),
    );
    section.insert("tokens".into(), "keyring:eo-tokens".into());
    section.insert("http".into(), http.into());
    let env = hub_for(
        BTreeMap::from([("exact-online".to_string(), section)]),
        &secrets,
    );
    // `dsrhub auth login exact-online`, with the fake playing the person.
    let login = dsrhub::registry::login(&env.config, "exact-online", &secrets).unwrap();
    let redirect = fake.approve(login.request().url()).await.unwrap();
    let code = login.request().code_from_pasted(redirect.as_str()).unwrap();
    login.finish(&code).await.unwrap();
    Env { fake, env }
}

fn pieter() -> Subject {
    Subject {
        emails: vec![
            "pieter.devries@example.nl".into(),
            "p.devries@bakkerijzoet.example".into(),
        ],
        ..Subject::default()
    }
}

fn execute() -> RunOptions {
    RunOptions {
        execute: true,
        ..RunOptions::default()
    }
}

#[tokio::test]
async fn erasure_keeps_invoices_seven_years_from_their_date() {
    let env = start().await;
    let hub = &env.env.hub;
    let id = hub
        .open(RequestKind::Erasure, &pieter(), "passport")
        .unwrap();
    hub.carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    let r = report::build(&env.env.ledger, &id, "org").unwrap();
    let p = &r.processors[0];
    let by_object =
        |object: &str| -> Vec<_> { p.records.iter().filter(|x| x.object == object).collect() };
    let outcomes: Vec<&str> = by_object("contact")
        .iter()
        .map(|x| x.outcome.as_str())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "deleted").count(),
        2,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == "anonymized").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(by_object("account")[0].outcome, "anonymized");
    // The anonymised account's bank account (IBAN, holder's name) is deleted, not kept.
    let banks = by_object("bank_account");
    assert_eq!(banks.len(), 1, "{banks:?}");
    assert_eq!(banks[0].outcome, "deleted");
    let state = env.fake.state();
    assert!(state.divisions[&1001]
        .bank_accounts
        .values()
        .all(|b| b["BankAccount"] != "NL02ABNA0123456789"));
    assert_eq!(state.divisions[&1001].bank_accounts.len(), 3, "others kept");
    // Kept: invoices and payments from 2024/2025, until 7 years after the end of their
    // financial year (issue 14.5).
    let mut kept: Vec<(String, String)> = p
        .records
        .iter()
        .filter(|x| x.outcome == "retained")
        .map(|x| (x.object.clone(), x.retain_until.clone().unwrap_or_default()))
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        vec![
            ("sales_invoice".to_string(), "2031-12-31".to_string()),
            ("sales_invoice".to_string(), "2032-12-31".to_string()),
            ("transaction_line".to_string(), "2032-12-31".to_string()),
        ]
    );
    for x in p.records.iter().filter(|x| x.outcome == "retained") {
        assert_eq!(x.basis.as_deref(), Some(dsrhub::policy::FISCAL_BASIS));
    }
    // 2017's invoice and payment are past retention: not kept on that basis, and named for a
    // person to remove in Exact (the API cannot delete booked documents).
    let old: Vec<_> = p
        .records
        .iter()
        .filter(|x| x.object.starts_with("sales_invoice") || x.object == "transaction_line")
        .filter(|x| x.outcome != "retained")
        .collect();
    assert_eq!(old.len(), 2, "{old:?}");
    for x in old {
        assert!(x.retain_until.is_none());
        assert!(
            x.note
                .as_deref()
                .unwrap_or("")
                .contains("retention period ended"),
            "{x:?}"
        );
    }
    assert_eq!(
        env.fake.errors_answered(),
        0,
        "a delete was refused by Exact"
    );
}

#[tokio::test]
async fn a_spent_daily_limit_makes_the_task_wait_without_calling_again() {
    let env = start().await;
    let hub = &env.env.hub;
    env.fake.set_daily_limit(2);
    let id = hub
        .open(RequestKind::Erasure, &pieter(), "passport")
        .unwrap();
    let request = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(request.status, RequestStatus::AwaitingProcessors);
    let task = &env.env.ledger.tasks(&id).unwrap()[0];
    assert_eq!(task.state, TaskState::Waiting);
    assert!(task.summary.contains("resumes after"), "{}", task.summary);
    assert!(task
        .resume_after
        .is_some_and(|t| t > jiff::Timestamp::now()));
    // A run before the reset leaves Exact alone.
    let seen = env.fake.log().requests_seen();
    let again = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(again.status, RequestStatus::AwaitingProcessors);
    assert_eq!(env.fake.log().requests_seen(), seen);
}
