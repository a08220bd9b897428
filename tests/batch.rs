//! Issue 18.1 and 18.3: batches. Many subjects' erasures planned together, approved once
//! (the digest binding all their plans), carried out and verified together, with each
//! processor searched once for all of them instead of once per subject.

mod common;

use std::time::Duration;

use common::Env;
use dsrhub::ledger::{RequestKind, RequestStatus};
use dsrhub::orchestrator::batch::BatchSubject;
use dsrhub::orchestrator::RunOptions;
use dsrhub_connector::Subject;
use dsrhub_moneybird::fake::FakeOptions;

/// The fake and the client without quotas: these tests count calls, not pacing.
async fn unthrottled() -> Env {
    Env::with_fake(
        FakeOptions {
            quota_requests: 100_000,
            quota_window: Duration::from_secs(1),
            ..FakeOptions::default()
        },
        |section| {
            let http = section.get_mut("http").unwrap().as_table_mut().unwrap();
            http.insert(
                "rate_limit".into(),
                toml::Value::Table(toml::toml! { requests = 100000
                per_seconds = 1.0 }),
            );
        },
    )
    .await
}

/// A list of leavers: ten people with contacts at Moneybird (some with invoices, some
/// sharing a company), ninety without.
fn leavers(env: &Env) -> Vec<BatchSubject> {
    let mut emails: Vec<String> = env
        .fake
        .state()
        .contacts
        .values()
        .filter_map(|c| {
            c["email"]
                .as_str()
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
        })
        .collect();
    emails.sort();
    emails.truncate(10);
    while emails.len() < 100 {
        emails.push(format!("left{}@voorbeeld-it.example", emails.len()));
    }
    emails
        .into_iter()
        .enumerate()
        .map(|(i, email)| BatchSubject {
            line: i + 2,
            subject: Subject {
                emails: vec![email],
                ..Subject::default()
            },
        })
        .collect()
}

fn execute() -> RunOptions {
    RunOptions {
        execute: true,
        ..RunOptions::default()
    }
}

/// The remaining contacts' addresses, to compare two fakes' end states.
fn remaining(env: &Env) -> Vec<String> {
    let mut left: Vec<String> = env
        .fake
        .state()
        .contacts
        .values()
        .map(|c| c["email"].as_str().unwrap_or("").to_string())
        .collect();
    left.sort();
    left
}

#[tokio::test]
async fn a_batch_of_100_erasures_makes_at_most_a_quarter_of_the_calls_of_100_single_ones() {
    // One batch.
    let batched = unthrottled().await;
    let hub = batched.hub();
    let out = batched.out("reports");
    let before = batched.fake.log().requests_seen();
    let batch = hub
        .open_batch(
            RequestKind::Erasure,
            &leavers(&batched),
            "HR's list of leavers, checked by P. de Vries",
            "subjects file leavers.csv",
        )
        .unwrap();
    hub.run_batch(&batch, &RunOptions::default(), &out)
        .await
        .unwrap();
    // Nothing changed before the approval.
    assert_eq!(
        remaining(&batched).len(),
        batched.fake.state().contacts.len()
    );
    let plan = batched.ledger.batch_plan(&batch).unwrap();
    assert!(plan.changes > 0 && plan.requests >= 10, "{plan:?}");
    hub.approve_batch(&batch, &plan.digest, "Petra de Vries")
        .unwrap();
    let requests = hub.run_batch(&batch, &execute(), &out).await.unwrap();
    let batch_calls = batched.fake.log().requests_seen() - before;
    assert_eq!(requests.len(), 100);
    assert_eq!(requests[0].0, 2, "the subjects' lines are kept");

    // The same people, one request each.
    let single = unthrottled().await;
    let hub = single.hub();
    let before = single.fake.log().requests_seen();
    let mut statuses = Vec::new();
    for s in leavers(&single) {
        let id = hub
            .open(RequestKind::Erasure, &s.subject, "HR's list of leavers")
            .unwrap();
        statuses.push(
            hub.carry_out(&id, &execute(), "Petra de Vries")
                .await
                .unwrap()
                .status,
        );
    }
    let single_calls = single.fake.log().requests_seen() - before;

    // The same outcome, for a quarter of the calls at most.
    assert_eq!(remaining(&batched), remaining(&single));
    let batch_statuses: Vec<RequestStatus> = requests.iter().map(|(_, r)| r.status).collect();
    assert_eq!(batch_statuses, statuses);
    // Some wait for a person (a record Moneybird will not delete), in both alike.
    assert!(
        statuses.iter().all(|s| matches!(
            s,
            RequestStatus::Completed | RequestStatus::AwaitingProcessors
        )),
        "{statuses:?}"
    );
    eprintln!("batch: {batch_calls} calls; 100 single requests: {single_calls} calls");
    assert!(
        batch_calls * 4 <= single_calls,
        "batch {batch_calls} calls, single requests {single_calls}"
    );
}

#[tokio::test]
async fn one_approval_binds_every_plan_of_the_batch_and_the_cap_holds_for_the_total() {
    let env = unthrottled().await;
    let hub = env.hub();
    let out = env.out("reports");
    let batch = hub
        .open_batch(
            RequestKind::Erasure,
            &leavers(&env)[..12],
            "checked by P. de Vries",
            "subjects file leavers.csv",
        )
        .unwrap();
    hub.run_batch(&batch, &RunOptions::default(), &out)
        .await
        .unwrap();
    let plan = env.ledger.batch_plan(&batch).unwrap();
    let contacts = env.fake.state().contacts.len();

    // Not approved: executing changes nothing.
    hub.run_batch(&batch, &execute(), &out).await.unwrap();
    assert_eq!(env.fake.state().contacts.len(), contacts);
    // A digest that names another plan (or too little of one) is refused; nothing approved.
    for wrong in ["0123456789abcdef", &plan.digest[..8]] {
        assert!(
            hub.approve_batch(&batch, wrong, "Petra").is_err(),
            "{wrong}"
        );
    }
    assert!(hub.approve_batch(&batch, &plan.digest, " ").is_err());
    for (_, r) in env.ledger.batch_requests(&batch).unwrap() {
        assert!(env.ledger.approvals(&r.id).unwrap().is_empty());
    }

    // The cap holds for the batch's total, not per request: each plan alone is under it.
    let total = plan.changes;
    let capped = RunOptions {
        execute: true,
        max_records: Some(total - 1),
        ..RunOptions::default()
    };
    hub.approve_batch(&batch, &plan.digest, "Petra").unwrap();
    let err = hub.run_batch(&batch, &capped, &out).await.unwrap_err();
    assert!(err.to_string().contains(&format!("batch {batch}")), "{err}");
    assert_eq!(env.fake.state().contacts.len(), contacts, "nothing erased");
    // Each approval names the batch and the approver.
    let approved: Vec<_> = env
        .ledger
        .audit_entries(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "plan.approved")
        .collect();
    assert_eq!(approved.len(), plan.requests);
    assert!(approved
        .iter()
        .all(|e| e.detail["batch"] == batch.as_str() && e.detail["approver"] == "Petra"));

    // Within the cap it runs; a second run changes nothing more.
    hub.run_batch(&batch, &execute(), &out).await.unwrap();
    let after = env.fake.state().contacts.len();
    assert!(after < contacts);
    let first: Vec<RequestStatus> = env
        .ledger
        .batch_requests(&batch)
        .unwrap()
        .iter()
        .map(|(_, r)| r.status)
        .collect();
    let again = hub.run_batch(&batch, &execute(), &out).await.unwrap();
    let second: Vec<RequestStatus> = again.iter().map(|(_, r)| r.status).collect();
    assert_eq!(first, second);
    assert_eq!(env.fake.state().contacts.len(), after);
}

#[tokio::test]
async fn an_access_batch_exports_each_subject_to_their_own_folder() {
    let env = unthrottled().await;
    let hub = env.hub();
    let out = env.out("reports");
    let subjects = &leavers(&env)[8..12];
    let before = env.fake.log().requests_seen();
    let batch = hub
        .open_batch(
            RequestKind::Access,
            subjects,
            "checked by P. de Vries",
            "test",
        )
        .unwrap();
    let requests = hub
        .run_batch(&batch, &RunOptions::default(), &out)
        .await
        .unwrap();
    assert_eq!(requests.len(), 4);
    for (_, r) in &requests {
        assert_eq!(r.status, RequestStatus::Completed, "{}", r.id);
        assert!(out.join(&r.id).join("access-export.zip").is_file());
    }
    // With records, or without: each subject's own export, with what was found for them only.
    let with_records = requests
        .iter()
        .filter(|(_, r)| !env.ledger.items(&r.id, None).unwrap().is_empty())
        .count();
    assert_eq!(with_records, 2, "two of these four are Moneybird contacts");
    // One walk through the contacts for the four, then each record exported.
    let walks = env.fake.log().calls_to("GET", "/contacts");
    assert!(walks <= 2, "{walks} contact walks");
    assert!(env.fake.log().requests_seen() - before < 30);
}
