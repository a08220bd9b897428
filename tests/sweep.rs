//! Issue 18.2: `dsrhub sweep`. The `contract_ended` rule over the Moneybird fixtures finds the
//! customers whose agreement ended more than 12 months ago, leaves out legal holds and open
//! requests, plans one batch, and after approval erases (or anonymises, where invoices must be
//! kept) and verifies, with one report and no reply to people who did not ask.

mod common;

use common::Env;
use dsrhub::ledger::{RequestKind, RequestStatus};
use dsrhub::orchestrator::RunOptions;
use dsrhub_connector::Subject;

fn email(address: &str) -> Subject {
    Subject {
        emails: vec![address.into()],
        ..Subject::default()
    }
}

fn contact(env: &Env, address: &str) -> Option<serde_json::Value> {
    env.fake
        .state()
        .contacts
        .values()
        .find(|c| c["email"] == address)
        .cloned()
}

#[tokio::test]
async fn a_sweep_plans_the_ended_contracts_and_erases_them_once_approved() {
    let env = Env::start().await;
    let today: jiff::civil::Date = "2026-12-06".parse().unwrap();
    let hub = env.hub().with_today(today);
    let out = env.out("reports");
    // A dispute keeps Lucas Meijer's records; Jan Jansen asked for access himself and his
    // request is still open.
    env.ledger
        .add_hold(
            "lucas.meijer@example.com",
            "dispute about invoice 2020-003",
            "test",
        )
        .unwrap();
    hub.open(
        RequestKind::Access,
        &email("jan.jansen@example.nl"),
        "passport",
    )
    .unwrap();

    let sweep = hub.sweep_contract_ended().await.unwrap();
    assert_eq!(sweep.ended_before.unwrap().to_string(), "2025-12-06");
    let selected: Vec<&str> = sweep
        .selected
        .iter()
        .map(|s| s.subject.emails[0].as_str())
        .collect();
    assert!(selected.contains(&"kees.visser@example.nl"), "{selected:?}");
    assert!(!selected.contains(&"lucas.meijer@example.com"), "on hold");
    assert!(
        !selected.contains(&"jan.jansen@example.nl"),
        "a request is open"
    );
    assert!(
        !selected.contains(&"daan.vandenberg@example.com"),
        "subscription running"
    );
    assert!(
        !selected.contains(&"jesse.huisman@example.com"),
        "invoiced this year"
    );
    assert_eq!((sweep.held, sweep.open_request), (1, 1));
    assert_eq!(
        sweep.selected[selected
            .iter()
            .position(|s| *s == "kees.visser@example.nl")
            .unwrap()]
        .because["moneybird"],
        "last invoice 2023-08-22; subscription stopped 2023-06-30"
    );

    // One batch, planned: nothing changes before a person approves.
    let batch = hub.open_sweep(&sweep).unwrap().unwrap();
    assert_eq!(
        env.ledger.batch(&batch).unwrap().origin,
        "sweep: contract_ended"
    );
    let contacts_before = env.fake.state().contacts.len();
    hub.run_batch(&batch, &RunOptions::default(), &out)
        .await
        .unwrap();
    assert_eq!(env.fake.state().contacts.len(), contacts_before);
    let kees_before = contact(&env, "kees.visser@example.nl").expect("still there");
    // Nobody asked: a swept request has no legal deadline and is never overdue, while Jan
    // Jansen's own request is, two months on.
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 60);
    for listed in hub.work_list(later).unwrap() {
        let swept = env.ledger.batch_of(&listed.request.id).unwrap().is_some();
        assert_eq!(listed.swept, swept);
        assert_eq!(listed.overdue(later), !swept, "{}", listed.request.id);
    }
    let plan = env.ledger.batch_plan(&batch).unwrap();
    assert!(plan.changes > 0);

    hub.approve_batch(&batch, &plan.digest, "Petra de Vries")
        .unwrap();
    let done = hub
        .run_batch(
            &batch,
            &RunOptions {
                execute: true,
                ..RunOptions::default()
            },
            &out,
        )
        .await
        .unwrap();
    // Kees Visser's contact had invoices (kept for the fiscal duty): anonymised, not deleted;
    // his invoices are still there.
    let kees_id = kees_before["id"].as_str().unwrap();
    let kees_after = env.fake.state().contacts.get(kees_id).cloned();
    match kees_after {
        Some(after) => assert_ne!(after["email"], "kees.visser@example.nl", "anonymised"),
        None => panic!("a contact with invoices was deleted"),
    }
    assert!(env.fake.state().invoices_of(kees_id) > 0, "invoices kept");
    // Held and open ones untouched.
    assert!(contact(&env, "lucas.meijer@example.com").is_some());
    assert!(contact(&env, "jan.jansen@example.nl").is_some());
    for (_, request) in &done {
        assert!(
            matches!(
                request.status,
                RequestStatus::Completed | RequestStatus::AwaitingProcessors
            ),
            "{:?}",
            request.status
        );
        // Nobody asked: nobody gets a reply.
        assert!(hub.replies(&request.id).unwrap().is_empty());
    }
    // One report, a section per person swept.
    let report = dsrhub::report::batch::build(&hub, &batch).unwrap();
    assert_eq!(report.subjects.len(), sweep.selected.len());

    // Swept once: the next sweep does not select them again.
    let again = hub.sweep_contract_ended().await.unwrap();
    let again: Vec<&str> = again
        .selected
        .iter()
        .map(|s| s.subject.emails[0].as_str())
        .collect();
    assert!(!again.contains(&"kees.visser@example.nl"), "{again:?}");
}

/// One processor's ended agreement is not the end when another still has one: Autotask says
/// Bakker Fotografie's contract ended in 2025, but Moneybird invoiced the company in 2026, so
/// Sanne's address there is not swept anywhere.
#[tokio::test]
async fn an_agreement_running_at_another_processor_keeps_the_person_out() {
    use dsrhub_autotask::fake::FakeAutotask;
    let moneybird = dsrhub_moneybird::fake::FakeMoneybird::start()
        .await
        .unwrap();
    let autotask = FakeAutotask::start().await.unwrap();
    let secrets = dsrhub_connector::secrets::Secrets::in_memory();
    for (name, value) in [
        ("mb", moneybird.token()),
        ("at-secret", autotask.secret()),
        ("at-code", autotask.integration_code().to_string()),
    ] {
        secrets
            .store(&format!("keyring:{name}").parse().unwrap(), &value)
            .unwrap();
    }
    let mut at = toml::Table::new();
    at.insert("username".into(), autotask.username().into());
    at.insert("secret".into(), "keyring:at-secret".into());
    at.insert("integration_code".into(), "keyring:at-code".into());
    at.insert(
        "zone_lookup_url".into(),
        autotask.zone_lookup_url().to_string().into(),
    );
    let env = common::hub_for(
        std::collections::BTreeMap::from([
            ("autotask".to_string(), at),
            (
                "moneybird".to_string(),
                common::moneybird_table(&moneybird, "keyring:mb"),
            ),
        ]),
        &secrets,
    );
    let hub = env.hub.with_today("2026-12-06".parse().unwrap());
    let sweep = hub.sweep_contract_ended().await.unwrap();
    let selected: Vec<&str> = sweep
        .selected
        .iter()
        .map(|s| s.subject.emails[0].as_str())
        .collect();
    assert!(
        !selected.contains(&"sanne@bakkerfotografie.example"),
        "{selected:?}"
    );
    assert!(sweep.ongoing_elsewhere >= 1);
    // Moneybird's own ended customers are still selected.
    assert!(selected.contains(&"kees.visser@example.nl"), "{selected:?}");
}
