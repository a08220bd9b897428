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

/// Plan batch `batch` (a dry run: nothing changes).
async fn plan_batch(hub: &dsrhub::orchestrator::Hub, batch: &str, out: &std::path::Path) {
    hub.run_batch(batch, &RunOptions::default(), out)
        .await
        .unwrap();
}

/// Approve batch `batch`'s plan `digest` as Petra de Vries, then carry it out and verify it;
/// its requests.
async fn approve_and_run(
    hub: &dsrhub::orchestrator::Hub,
    batch: &str,
    digest: &str,
    out: &std::path::Path,
) -> Vec<(usize, dsrhub::ledger::RequestRow)> {
    hub.approve_batch(batch, digest, "Petra de Vries").unwrap();
    let options = RunOptions {
        execute: true,
        ..RunOptions::default()
    };
    hub.run_batch(batch, &options, out).await.unwrap()
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
    let batch = hub
        .open_sweep(&dsrhub::orchestrator::sweep::Sweep {
            contract_ended: Some(sweep.clone()),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        env.ledger.batch(&batch).unwrap().origin,
        "sweep: contract_ended"
    );
    let contacts_before = env.fake.state().contacts.len();
    plan_batch(&hub, &batch, &out).await;
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
    secrets
        .store(&"keyring:mb".parse().unwrap(), &moneybird.token())
        .unwrap();
    let at = common::autotask_table(&autotask, &secrets);
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

/// Erase `address` as of `today`, approved and carried out; the request's id.
async fn erased(env: &Env, today: &str, address: &str) -> String {
    let hub = env.hub().with_today(today.parse().unwrap());
    let id = hub
        .open(RequestKind::Erasure, &email(address), "passport checked")
        .unwrap();
    hub.run(&id, &RunOptions::default()).await.unwrap();
    let plan = env.ledger.plan_digest(&id).unwrap();
    hub.approve(&id, &plan.digest, "Petra de Vries").unwrap();
    let options = RunOptions {
        execute: true,
        ..RunOptions::default()
    };
    hub.run(&id, &options).await.unwrap();
    id
}

const TIM_2021: &str = "410000000001911593";
const TIM_2023: &str = "410000000001963679";
const ANNE_2021: &str = "410000000002701690";

/// Issue 18.2, `retained_expired`: what an erasure kept for the fiscal duty is erased once the
/// duty ends, by id (the subject's identifiers are long purged), after a person approves; a
/// legal hold placed after the request closed still covers it; a record whose duty runs on
/// stays; a sweep run again selects nothing twice.
#[tokio::test]
async fn records_kept_by_an_earlier_request_are_erased_when_their_retention_ends() {
    let env = Env::start().await;
    // Erased in 2026: each invoice kept until the end of its financial year + 7 years.
    let tim = erased(&env, "2026-12-06", "tim.degraaf@example.com").await;
    let anne = erased(&env, "2026-12-06", "anne.koster@example.org").await;
    for id in [&tim, &anne] {
        let request = env.ledger.request(id).unwrap();
        assert!(request.status.is_closed(), "{:?}", request.status);
        assert!(env.ledger.subject(id).is_err(), "identifiers purged");
    }
    let kept = |id: &str| -> Vec<(String, String)> {
        env.ledger
            .items(id, None)
            .unwrap()
            .into_iter()
            .filter(|i| i.action == dsrhub::ledger::Action::Retain)
            .map(|i| (i.reference.id.clone(), i.retain_until.unwrap().to_string()))
            .collect()
    };
    assert_eq!(
        kept(&tim),
        [
            (TIM_2021.to_string(), "2028-12-31".to_string()),
            (TIM_2023.to_string(), "2030-12-31".to_string())
        ]
    );
    // A dispute about Anne Koster's invoice comes up after her request closed.
    env.ledger
        .add_hold(
            "anne.koster@example.org",
            "claim about invoice 2021-004",
            "test",
        )
        .unwrap();

    // 2029: the 2021 invoices' duty has ended, the 2023 one's has not.
    let hub = env.hub().with_today("2029-01-15".parse().unwrap());
    let found = hub.sweep_retained_expired().unwrap();
    assert_eq!(found.held, 1, "Anne Koster's records are on hold");
    assert_eq!(found.requests.len(), 1);
    assert_eq!(found.requests[0].request, tim);
    let ids: Vec<&str> = found.requests[0]
        .records
        .iter()
        .map(|r| r.reference.id.as_str())
        .collect();
    assert_eq!(ids, [TIM_2021]);
    // `sweep --list` changes nothing and asks no processor.
    assert!(env.fake.state().sales_invoices.contains_key(TIM_2021));

    let sweep = dsrhub::orchestrator::sweep::Sweep {
        retained_expired: Some(found),
        ..Default::default()
    };
    let batch = hub.open_sweep(&sweep).unwrap().unwrap();
    assert_eq!(
        env.ledger.batch(&batch).unwrap().origin,
        "sweep: retained_expired"
    );
    let out = env.out("reports");
    plan_batch(&hub, &batch, &out).await;
    // Planned, not done: the record was looked up by id again and is now deletable.
    assert!(env.fake.state().sales_invoices.contains_key(TIM_2021));
    let (_, request) = env.ledger.batch_requests(&batch).unwrap().remove(0);
    let items = env.ledger.items(&request.id, None).unwrap();
    assert_eq!(items.len(), 1, "only the record named, nothing searched");
    assert_eq!(items[0].reference.id, TIM_2021);
    assert_eq!(items[0].action, dsrhub::ledger::Action::Delete);
    assert_eq!(
        env.ledger.targeted_from(&request.id).unwrap(),
        [tim.as_str()]
    );
    // Opened once: a second sweep does not select what the batch holds.
    assert!(hub.sweep_retained_expired().unwrap().requests.is_empty());

    let plan = env.ledger.batch_plan(&batch).unwrap();
    assert_eq!((plan.requests, plan.changes), (1, 1));
    let done = approve_and_run(&hub, &batch, &plan.digest, &out).await;
    assert_eq!(done[0].1.status, RequestStatus::Completed, "verified");
    let state = env.fake.state();
    assert!(!state.sales_invoices.contains_key(TIM_2021), "deleted");
    assert!(
        state.sales_invoices.contains_key(TIM_2023),
        "its duty runs on"
    );
    assert!(state.sales_invoices.contains_key(ANNE_2021), "on hold");
    drop(state);
    assert!(
        hub.replies(&done[0].1.id).unwrap().is_empty(),
        "nobody asked"
    );
    let report = dsrhub::report::batch::build(&hub, &batch).unwrap();
    assert_eq!(report.subjects.len(), 1);
    assert_eq!(report.subjects[0].report.request.kept_by, [tim.as_str()]);
    assert!(hub.sweep_retained_expired().unwrap().requests.is_empty());
    // Hold keys live only as long as kept records need them: Tim's request still keeps the
    // 2023 invoice; the request that erased the 2021 one kept nothing, so it has none.
    assert_eq!(env.ledger.retained_keys(&tim).unwrap().len(), 1);
    assert!(env.ledger.retained_keys(&done[0].1.id).unwrap().is_empty());

    // 2031: the 2023 invoice's turn; Anne Koster's stays on hold until it is lifted.
    let later = env.hub().with_today("2031-01-02".parse().unwrap());
    let found = later.sweep_retained_expired().unwrap();
    let ids: Vec<(&str, &str)> = found
        .requests
        .iter()
        .flat_map(|k| {
            k.records
                .iter()
                .map(|r| (k.request.as_str(), r.reference.id.as_str()))
        })
        .collect();
    assert_eq!(ids, [(tim.as_str(), TIM_2023)]);
    assert_eq!(found.held, 1);
    env.ledger
        .remove_hold("anne.koster@example.org", "test")
        .unwrap();
    let found = later.sweep_retained_expired().unwrap();
    assert_eq!(found.requests.len(), 2, "the hold lifted");
    // Once what Tim's request kept is all erased, its hold key goes too.
    let batch = later
        .open_sweep(&dsrhub::orchestrator::sweep::Sweep {
            retained_expired: Some(found),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    plan_batch(&later, &batch, &out).await;
    let plan = env.ledger.batch_plan(&batch).unwrap();
    approve_and_run(&later, &batch, &plan.digest, &out).await;
    assert!(!env.fake.state().sales_invoices.contains_key(TIM_2023));
    assert!(env.ledger.retained_keys(&tim).unwrap().is_empty());
    // Anne Koster's 2024 invoice is kept until the end of 2031: her key stays with it.
    assert!(!env.fake.state().sales_invoices.contains_key(ANNE_2021));
    assert_eq!(env.ledger.retained_keys(&anne).unwrap().len(), 1);
}

/// A record whose connector cannot look it up by id is planned for a person to check, never
/// erased blindly nor forgotten: the request waits for their confirmation.
#[tokio::test]
async fn a_kept_record_that_cannot_be_looked_up_waits_for_a_person() {
    let env = Env::start().await;
    let tim = erased(&env, "2026-12-06", "tim.degraaf@example.com").await;
    let hub = env.hub().with_today("2029-01-15".parse().unwrap());
    let mut found = hub.sweep_retained_expired().unwrap();
    assert_eq!(found.requests[0].request, tim);
    // As if the kept record were of a kind Moneybird's connector cannot look up.
    found.requests[0].records[0].reference.object = "estimate".into();
    let sweep = dsrhub::orchestrator::sweep::Sweep {
        retained_expired: Some(found),
        ..Default::default()
    };
    let batch = hub.open_sweep(&sweep).unwrap().unwrap();
    let out = env.out("reports");
    plan_batch(&hub, &batch, &out).await;
    let (_, request) = env.ledger.batch_requests(&batch).unwrap().remove(0);
    let items = env.ledger.items(&request.id, None).unwrap();
    assert_eq!(items[0].action, dsrhub::ledger::Action::Review);
    assert!(
        items[0]
            .note
            .as_deref()
            .unwrap()
            .contains("cannot look it up by id"),
        "{:?}",
        items[0].note
    );
}

/// Issue 18, "done when": one sweep over the demo's fixtures finds the ended-contract
/// contacts and the expired kept records, plans them as one batch, and after one approval
/// erases and verifies them, with one report.
#[tokio::test]
async fn one_sweep_covers_both_rules_in_one_batch_and_one_report() {
    let env = Env::start().await;
    let tim = erased(&env, "2026-12-06", "tim.degraaf@example.com").await;
    let hub = env.hub().with_today("2029-01-15".parse().unwrap());
    let sweep = hub
        .sweep(&dsrhub::config::SweepConfig::default())
        .await
        .unwrap();
    assert_eq!(
        sweep.rules_selecting(),
        ["contract_ended", "retained_expired"]
    );
    let people = sweep.contract_ended.as_ref().unwrap().selected.len();
    assert!(people > 0);
    let batch = hub.open_sweep(&sweep).unwrap().unwrap();
    assert_eq!(
        env.ledger.batch(&batch).unwrap().origin,
        "sweep: contract_ended, retained_expired"
    );
    let out = env.out("reports");
    plan_batch(&hub, &batch, &out).await;
    let plan = env.ledger.batch_plan(&batch).unwrap();
    let done = approve_and_run(&hub, &batch, &plan.digest, &out).await;
    assert_eq!(done.len(), people + 1);
    // Each request has its own line of the batch, in order: the people, then the kept records.
    let lines: Vec<usize> = done.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, (1..=people + 1).collect::<Vec<_>>());
    for (_, request) in &done {
        assert!(
            matches!(
                request.status,
                RequestStatus::Completed | RequestStatus::AwaitingProcessors
            ),
            "{:?}",
            request.status
        );
        assert!(request.verification_ran_at.is_some(), "verified");
    }
    assert!(!env.fake.state().sales_invoices.contains_key(TIM_2021));
    let report = dsrhub::report::batch::build(&hub, &batch).unwrap();
    assert_eq!(report.subjects.len(), people + 1);
    assert_eq!(
        report.subjects.last().unwrap().report.request.kept_by,
        [tim.as_str()]
    );
    let (json, html) =
        dsrhub::report::batch::write(&report, &dsrhub::report::batch::folder(&out, &batch))
            .unwrap();
    assert!(json.exists() && html.exists());
}

/// A legal hold placed after the sweep selected someone, even after the batch was approved,
/// still wins: their request is cancelled before anything is erased, for a person selected
/// by address and for the records an earlier request kept alike; the rest goes ahead.
#[tokio::test]
async fn a_hold_placed_after_the_sweep_still_keeps_the_records() {
    let env = Env::start().await;
    let tim = erased(&env, "2026-12-06", "tim.degraaf@example.com").await;
    let hub = env.hub().with_today("2029-01-15".parse().unwrap());
    let sweep = hub
        .sweep(&dsrhub::config::SweepConfig::default())
        .await
        .unwrap();
    let batch = hub.open_sweep(&sweep).unwrap().unwrap();
    let out = env.out("reports");
    plan_batch(&hub, &batch, &out).await;
    let plan = env.ledger.batch_plan(&batch).unwrap();
    hub.approve_batch(&batch, &plan.digest, "Petra de Vries")
        .unwrap();
    // Approved, not yet carried out: a claim about Kees Visser and one about Tim de Graaf
    // (whose identifiers the ledger no longer has; it kept the hold key).
    let kees_before = contact(&env, "kees.visser@example.nl").expect("selected, still there");
    env.ledger
        .add_hold("kees.visser@example.nl", "claim", "test")
        .unwrap();
    env.ledger
        .add_hold("tim.degraaf@example.com", "claim", "test")
        .unwrap();
    let options = RunOptions {
        execute: true,
        ..RunOptions::default()
    };
    let done = hub.run_batch(&batch, &options, &out).await.unwrap();
    let cancelled: Vec<&dsrhub::ledger::RequestRow> = done
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.status == RequestStatus::Cancelled)
        .collect();
    assert_eq!(cancelled.len(), 2, "{done:?}");
    assert!(cancelled
        .iter()
        .any(|r| env.ledger.targeted_from(&r.id).unwrap() == [tim.as_str()]));
    assert_eq!(
        contact(&env, "kees.visser@example.nl").as_ref(),
        Some(&kees_before),
        "untouched"
    );
    assert!(env.fake.state().sales_invoices.contains_key(TIM_2021));
    // Everyone else was erased.
    assert!(done
        .iter()
        .filter(|(_, r)| r.status != RequestStatus::Cancelled)
        .all(|(_, r)| matches!(
            r.status,
            RequestStatus::Completed | RequestStatus::AwaitingProcessors
        )));
}

/// An IT Glue contact as the API shows one.
fn itglue_contact(
    id: u64,
    organization: (u64, &str),
    name: (&str, &str),
    emails: &[&str],
    updated: &str,
) -> serde_json::Value {
    serde_json::json!({
        "id": id.to_string(),
        "type": "contacts",
        "attributes": {
            "organization-id": organization.0,
            "organization-name": organization.1,
            "name": format!("{} {}", name.0, name.1),
            "first-name": name.0,
            "last-name": name.1,
            "title": "",
            "contact-type-id": 4,
            "contact-type-name": "Applicant",
            "location-id": null,
            "important": false,
            "notes": "CV en motivatiebrief ontvangen; gesprek gepland",
            "contact-emails": emails.iter().enumerate().map(|(i, e)| serde_json::json!({
                "value": e, "primary": i == 0, "label-name": if i == 0 { "Home" } else { "Other" }
            })).collect::<Vec<_>>(),
            "contact-phones": [{"value": "06-12121212", "extension": null, "primary": true,
                "label-name": "Mobile", "label-type": "mobile", "formatted-value": "06-12121212"}],
            "psa-id": null,
            "psa-integration-type": null,
            "created-at": "2026-08-01T09:00:00.000Z",
            "updated-at": updated,
        }
    })
}

const REJECTED: (u64, &str) = (1200, "Afgewezen sollicitanten");

/// Issue 18.2, `applicants`: rejected applicants kept in an IT Glue organisation are erased
/// four weeks after the procedure — only their records there (Mila de Jong is also a
/// customer's employee: that contact stays), not someone whose procedure ended last week,
/// not someone on legal hold; an applicant without an address goes too (no hold can name
/// them). Planned, approved, verified, and not selected twice.
#[tokio::test]
async fn rejected_applicants_are_erased_weeks_after_the_procedure_and_only_there() {
    use dsrhub_itglue::fake::{FakeItGlue, FakeOptions as ItGlueOptions, Seed};
    let mut seed = Seed::fixture();
    seed.organizations.push(serde_json::json!({
        "id": REJECTED.0.to_string(), "type": "organizations",
        "attributes": {"name": REJECTED.1, "organization-type-name": "Internal",
            "organization-status-name": "Active", "short-name": "afgewezen",
            "created-at": "2024-01-01T09:00:00.000Z", "updated-at": "2026-11-30T09:00:00.000Z"}
    }));
    seed.contacts.extend([
        itglue_contact(
            7001,
            REJECTED,
            ("Mila", "de Jong"),
            &["mila.dejong@example.nl", "m.dejong@studenten.example"],
            "2026-10-20T14:00:00.000Z",
        ),
        itglue_contact(
            7002,
            REJECTED,
            ("Ruben", "Kok"),
            &["ruben.kok@example.org"],
            "2026-11-30T10:00:00.000Z",
        ),
        itglue_contact(
            7003,
            REJECTED,
            ("Lotte", "Vos"),
            &["lotte.vos@example.com"],
            "2026-09-01T10:00:00.000Z",
        ),
        itglue_contact(
            7004,
            REJECTED,
            ("Sem", "Bakker"),
            &[],
            "2026-09-15T10:00:00.000Z",
        ),
        // The same Mila at a customer: not an applicant's record.
        itglue_contact(
            7005,
            (1107, "Bakker Fotografie"),
            ("Mila", "de Jong"),
            &["mila.dejong@example.nl"],
            "2025-03-01T10:00:00.000Z",
        ),
    ]);
    let itglue = FakeItGlue::start_with(ItGlueOptions {
        seed,
        ..ItGlueOptions::default()
    })
    .await
    .unwrap();
    let mut env = Env::start().await;
    env.secrets
        .store(&"keyring:itg".parse().unwrap(), &itglue.api_key())
        .unwrap();
    let mut section = toml::Table::new();
    section.insert("base_url".into(), itglue.base_url().to_string().into());
    section.insert("api_key".into(), "keyring:itg".into());
    env.config.processors.insert("itglue".into(), section);
    env.ledger
        .add_hold("lotte.vos@example.com", "bezwaar tegen afwijzing", "test")
        .unwrap();
    let hub = env.hub().with_today("2026-12-06".parse().unwrap());
    let places = ["itglue:afgewezen sollicitanten".to_string()];

    let found = hub.sweep_applicants(&places).await.unwrap();
    assert_eq!(found.ended_before.unwrap().to_string(), "2026-11-08");
    assert_eq!((found.held, found.open_request), (1, 0));
    let selected: Vec<(Vec<String>, Vec<String>)> = found
        .selected
        .iter()
        .map(|a| {
            (
                a.subject.emails.clone(),
                a.records.iter().map(|r| r.id.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        selected,
        [
            (
                vec![
                    "mila.dejong@example.nl".to_string(),
                    "m.dejong@studenten.example".to_string()
                ],
                vec!["7001".to_string()]
            ),
            (vec![], vec!["7004".to_string()]),
        ]
    );
    let missing = hub
        .sweep_applicants(&["itglue:Bestaat niet".to_string()])
        .await
        .unwrap();
    assert!(missing.unread["itglue:Bestaat niet"].contains("no organization named"));

    let sweep = dsrhub::orchestrator::sweep::Sweep {
        applicants: Some(found),
        ..Default::default()
    };
    let batch = hub.open_sweep(&sweep).unwrap().unwrap();
    assert_eq!(
        env.ledger.batch(&batch).unwrap().origin,
        "sweep: applicants"
    );
    let out = env.out("reports");
    plan_batch(&hub, &batch, &out).await;
    assert_eq!(
        itglue.state().contacts.len(),
        Seed::fixture().contacts.len() + 5
    );
    // A second sweep before the approval does not select them again.
    let again = hub.sweep_applicants(&places).await.unwrap();
    assert!(again.selected.is_empty());
    assert_eq!(again.open_request, 2);

    let plan = env.ledger.batch_plan(&batch).unwrap();
    assert_eq!((plan.requests, plan.changes), (2, 2));
    let done = approve_and_run(&hub, &batch, &plan.digest, &out).await;
    assert_eq!(
        done.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
        [1, 2]
    );
    for (_, request) in &done {
        assert_eq!(request.status, RequestStatus::Completed);
        assert!(request.verification_ran_at.is_some());
        assert!(hub.replies(&request.id).unwrap().is_empty(), "nobody asked");
    }
    let contacts = itglue.state().contacts;
    assert!(!contacts.contains_key(&7001) && !contacts.contains_key(&7004));
    assert!(contacts.contains_key(&7005), "Mila at the customer stays");
    assert!(contacts.contains_key(&7002), "procedure ended last week");
    assert!(contacts.contains_key(&7003), "on hold");
    let after = hub.sweep_applicants(&places).await.unwrap();
    assert!(after.selected.is_empty() && after.open_request == 0);
}

/// Edit the ledger behind the hub's back, as an older dsrhub (or a record kept elsewhere)
/// would have left it.
fn raw_ledger(env: &Env, sql: &str) {
    let conn = rusqlite::Connection::open(env.config.ledger_path()).unwrap();
    conn.execute_batch(sql).unwrap();
}

/// Kept records keep their scope (the mailbox of a message, the division of an invoice) from
/// the earlier request to the one that acts on them; an unscoped one stays unscoped.
#[tokio::test]
async fn a_kept_record_keeps_its_scope_when_it_is_acted_on() {
    let env = Env::start().await;
    erased(&env, "2026-12-06", "tim.degraaf@example.com").await;
    erased(&env, "2026-12-06", "anne.koster@example.org").await;
    raw_ledger(
        &env,
        &format!("UPDATE items SET scope = 'adm-1' WHERE record_id = '{TIM_2021}'"),
    );
    let hub = env.hub().with_today("2029-01-15".parse().unwrap());
    let found = hub.sweep_retained_expired().unwrap();
    let scopes: std::collections::BTreeMap<String, Option<String>> = found
        .requests
        .iter()
        .flat_map(|k| &k.records)
        .map(|r| (r.reference.id.clone(), r.reference.scope.clone()))
        .collect();
    assert_eq!(scopes[TIM_2021].as_deref(), Some("adm-1"));
    assert_eq!(scopes[ANNE_2021], None);
    let batch = hub
        .open_sweep(&dsrhub::orchestrator::sweep::Sweep {
            retained_expired: Some(found),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    let targets: std::collections::BTreeMap<String, Option<String>> = env
        .ledger
        .batch_requests(&batch)
        .unwrap()
        .iter()
        .flat_map(|(_, r)| env.ledger.targets(&r.id, "moneybird").unwrap())
        .map(|(r, _)| (r.id, r.scope))
        .collect();
    assert_eq!(targets[TIM_2021].as_deref(), Some("adm-1"));
    assert_eq!(targets[ANNE_2021], None);
}

/// A request closed before dsrhub kept hold keys cannot be matched against a hold: while no
/// hold exists its kept records are swept as any; once any hold exists they are left out and
/// named for a person to check.
#[tokio::test]
async fn kept_records_without_hold_keys_wait_for_a_person_while_holds_exist() {
    let env = Env::start().await;
    let tim = erased(&env, "2026-12-06", "tim.degraaf@example.com").await;
    raw_ledger(&env, "DELETE FROM retained_keys");
    let hub = env.hub().with_today("2029-01-15".parse().unwrap());
    let found = hub.sweep_retained_expired().unwrap();
    assert_eq!(found.requests.len(), 1);
    assert!(found.hold_unknown.is_empty());
    env.ledger
        .add_hold("someone.else@example.org", "claim", "test")
        .unwrap();
    let found = hub.sweep_retained_expired().unwrap();
    assert!(found.requests.is_empty());
    assert_eq!(found.hold_unknown, [tim]);
}

/// What the rule leaves out, and says so: kept records at a processor no longer configured
/// (a person checks them there), and those of a person whose own request is open now.
#[tokio::test]
async fn kept_records_are_left_out_when_their_processor_is_gone_or_a_request_is_open() {
    let env = Env::start().await;
    erased(&env, "2026-12-06", "tim.degraaf@example.com").await;
    let anne = erased(&env, "2026-12-06", "anne.koster@example.org").await;
    raw_ledger(
        &env,
        &format!("UPDATE items SET processor = 'oldcrm' WHERE request_id = '{anne}'"),
    );
    let hub = env.hub().with_today("2029-01-15".parse().unwrap());
    hub.open(
        RequestKind::Access,
        &email("tim.degraaf@example.com"),
        "passport",
    )
    .unwrap();
    let found = hub.sweep_retained_expired().unwrap();
    assert_eq!(found.today.unwrap().to_string(), "2029-01-15");
    assert!(found.requests.is_empty(), "{:?}", found.requests);
    assert_eq!(found.open_request, 1, "Tim asked for access meanwhile");
    assert_eq!(
        found.no_processor,
        std::collections::BTreeMap::from([("oldcrm".to_string(), 1)])
    );
}

/// Only the sweep's batches are the policy's own initiative (no reply, no deadline): a list of
/// leavers HR handed in is a batch of the subjects' requests like any other.
#[tokio::test]
async fn a_list_of_subjects_is_not_the_sweep() {
    let env = Env::start().await;
    let hub = env.hub();
    let leavers = hub
        .open_batch(
            RequestKind::Erasure,
            &[dsrhub::orchestrator::batch::BatchSubject {
                line: 1,
                subject: email("kees.visser@example.nl"),
            }],
            "HR's list, checked by A. de Wit",
            "subjects file leavers.csv",
        )
        .unwrap();
    let (_, request) = env.ledger.batch_requests(&leavers).unwrap().remove(0);
    assert!(!hub.is_swept(&request.id).unwrap());
    let swept = hub
        .open_sweep(&dsrhub::orchestrator::sweep::Sweep {
            contract_ended: Some(hub.sweep_contract_ended().await.unwrap()),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    let (_, request) = env.ledger.batch_requests(&swept).unwrap().remove(0);
    assert!(hub.is_swept(&request.id).unwrap());
}

/// A request with no identifier at all (records by id whose targets were lost, say) is never
/// searched for: a processor asked to search for nobody might answer with everyone.
#[tokio::test]
async fn a_request_for_nobody_asks_no_processor_to_search() {
    use dsrhub::ledger::{IdentityNote, NewTask};
    let env = Env::start().await;
    let now = jiff::Timestamp::now();
    let id = env
        .ledger
        .create_request(
            RequestKind::Erasure,
            &Subject::default(),
            IdentityNote {
                how: "selected by the sweep",
                by: "dsrhub sweep",
            },
            now,
            now,
            &[NewTask {
                processor: "moneybird".into(),
                enabled: true,
                display_name: "Moneybird".into(),
            }],
        )
        .unwrap();
    let calls = env.fake.log().requests_seen();
    env.hub().run(&id, &RunOptions::default()).await.unwrap();
    assert_eq!(env.fake.log().requests_seen(), calls, "no search");
    assert!(env.ledger.items(&id, None).unwrap().is_empty());
}

/// A plan cancelled before it ran kept nothing: no hold key outlives it.
#[tokio::test]
async fn a_cancelled_plan_keeps_no_hold_key() {
    let env = Env::start().await;
    let hub = env.hub().with_today("2026-12-06".parse().unwrap());
    let id = hub
        .open(
            RequestKind::Erasure,
            &email("tim.degraaf@example.com"),
            "passport",
        )
        .unwrap();
    hub.run(&id, &RunOptions::default()).await.unwrap();
    let planned = env.ledger.items(&id, None).unwrap();
    assert!(planned
        .iter()
        .any(|i| i.action == dsrhub::ledger::Action::Retain));
    hub.cancel(&id, "withdrawn by the subject").unwrap();
    assert!(env.ledger.retained_keys(&id).unwrap().is_empty());
    let later = env.hub().with_today("2031-06-01".parse().unwrap());
    assert!(later.sweep_retained_expired().unwrap().requests.is_empty());
}

/// A legal hold covers the subject's own erasure too (art. 17(3)(e): needed for legal
/// claims): planned under a hold, what would be erased is kept with the hold as its basis;
/// planned before the hold, the plan is not carried out. Nothing changes at the processor.
#[tokio::test]
async fn a_legal_hold_keeps_what_the_subjects_own_erasure_would_erase() {
    let env = Env::start().await;
    let hub = env.hub().with_today("2026-12-06".parse().unwrap());
    let before = env.fake.state();

    // Planned under the hold: kept.
    env.ledger
        .add_hold(
            "kees.visser@example.nl",
            "claim about invoice 2023-118",
            "test",
        )
        .unwrap();
    let kees = hub
        .open(
            RequestKind::Erasure,
            &email("kees.visser@example.nl"),
            "passport",
        )
        .unwrap();
    hub.run(&kees, &RunOptions::default()).await.unwrap();
    let items = env.ledger.items(&kees, None).unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| !i.action.changes_data()), "{items:?}");
    assert!(items
        .iter()
        .any(|i| i.basis.as_deref() == Some(dsrhub::policy::LEGAL_HOLD_BASIS)));

    // Planned and approved before the hold: not carried out.
    let jan = hub
        .open(
            RequestKind::Erasure,
            &email("jan.jansen@example.nl"),
            "passport",
        )
        .unwrap();
    hub.run(&jan, &RunOptions::default()).await.unwrap();
    let plan = env.ledger.plan_digest(&jan).unwrap();
    assert!(plan.changes > 0);
    hub.approve(&jan, &plan.digest, "Petra de Vries").unwrap();
    env.ledger
        .add_hold("jan.jansen@example.nl", "dispute", "test")
        .unwrap();
    let refused = hub
        .run(
            &jan,
            &RunOptions {
                execute: true,
                ..RunOptions::default()
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("legal hold"), "{refused}");
    assert!(
        !refused.contains("jan.jansen"),
        "no address in errors: {refused}"
    );
    let after = env.fake.state();
    assert_eq!(after.contacts, before.contacts);
    assert_eq!(after.sales_invoices, before.sales_invoices);
}

/// Restrict `address` (needed for a legal claim), approved and carried out: its id and row;
/// it marks something.
async fn restrict(
    env: &Env,
    hub: &dsrhub::orchestrator::Hub,
    address: &str,
) -> (String, dsrhub::ledger::RequestRow) {
    let id = hub
        .open_change(
            RequestKind::Restriction,
            &email(address),
            "passport",
            &dsrhub_connector::Change::Restrict,
            Some("needed for a legal claim (art. 18(1)(c))"),
        )
        .unwrap();
    hub.run(&id, &RunOptions::default()).await.unwrap();
    let plan = env.ledger.plan_digest(&id).unwrap();
    hub.approve(&id, &plan.digest, "Petra de Vries").unwrap();
    let row = hub
        .run(
            &id,
            &RunOptions {
                execute: true,
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(!env.ledger.restricted(&id).unwrap().is_empty());
    (id, row)
}

/// Defect (found this session, fails on 6e37cd4): a restriction keeps a person's records
/// "kept but no longer processed" until it is lifted, but the sweep selected the person for
/// erasure once their retention ended, and would have erased what the restriction keeps (for
/// a legal claim, say). A restriction in force keeps the person out of every rule, like a
/// legal hold; after the lift, the sweep selects them again.
#[tokio::test]
async fn a_restriction_in_force_keeps_the_person_out_of_the_sweep() {
    let env = Env::start().await;
    let today: jiff::civil::Date = "2026-12-06".parse().unwrap();
    let hub = env.hub().with_today(today);
    let kees = "kees.visser@example.nl";
    let (id, restricted) = restrict(&env, &hub, kees).await;
    assert!(restricted.status.is_closed(), "{}", restricted.status);

    let sweep = hub.sweep_contract_ended().await.unwrap();
    let selected: Vec<&str> = sweep
        .selected
        .iter()
        .map(|s| s.subject.emails[0].as_str())
        .collect();
    assert!(!selected.contains(&kees), "restricted: {selected:?}");
    assert_eq!(sweep.restricted, 1);

    // Once it is being lifted, the retention rules apply to them again.
    hub.lift(&id, "claim settled").unwrap();
    let sweep = hub.sweep_contract_ended().await.unwrap();
    assert!(sweep.selected.iter().any(|s| s.subject.emails[0] == kees));
    assert_eq!(sweep.restricted, 0);
}

/// The same defect at the moment of acting: a restriction made after the sweep selected the
/// person (and after the batch's approval) keeps their records; their swept request is
/// withdrawn, everyone else's goes ahead.
#[tokio::test]
async fn a_restriction_made_after_the_sweep_still_keeps_the_records() {
    let env = Env::start().await;
    let hub = env.hub().with_today("2026-12-06".parse().unwrap());
    let kees = "kees.visser@example.nl";
    let sweep = hub.sweep_contract_ended().await.unwrap();
    assert!(sweep.selected.iter().any(|s| s.subject.emails[0] == kees));
    let batch = hub
        .open_sweep(&dsrhub::orchestrator::sweep::Sweep {
            contract_ended: Some(sweep),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    let out = env.out("reports");
    plan_batch(&hub, &batch, &out).await;
    let plan = env.ledger.batch_plan(&batch).unwrap();
    hub.approve_batch(&batch, &plan.digest, "Petra de Vries")
        .unwrap();

    let execute = RunOptions {
        execute: true,
        ..RunOptions::default()
    };
    restrict(&env, &hub, kees).await;

    let done = hub.run_batch(&batch, &execute, &out).await.unwrap();
    let cancelled: Vec<&dsrhub::ledger::RequestRow> = done
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.status == RequestStatus::Cancelled)
        .collect();
    assert_eq!(cancelled.len(), 1, "{done:?}");
    assert!(
        contact(&env, kees).is_some(),
        "a restricted person's contact is kept"
    );
    assert!(done
        .iter()
        .filter(|(_, r)| r.status != RequestStatus::Cancelled)
        .all(|(_, r)| matches!(
            r.status,
            RequestStatus::Completed | RequestStatus::AwaitingProcessors
        )));
}
