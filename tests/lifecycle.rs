//! The request life cycle through the hub (issue 13): nothing acts unapproved, nothing acts
//! twice, and nothing closes while something is left.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{contact_id, email, sanne, Env};
use dsrhub::ledger::{Ledger, RequestKind, RequestStatus, TaskState};
use dsrhub::orchestrator::{Hub, RunOptions};
use dsrhub::report;
use dsrhub_connector::{
    async_trait, Connector, ConnectorError, Description, EraseAction, EraseOutcome, ErrorKind,
    Exported, Health, Inventory, Record, RecordRef, Subject,
};

fn execute() -> RunOptions {
    RunOptions {
        execute: true,
        ..RunOptions::default()
    }
}

/// Moneybird with a twist the test chooses: erasures that only pretend, erasures that fail
/// after a number of real ones, or a discovered record the vendor no longer has.
#[derive(Debug)]
struct Twisted {
    inner: Arc<dyn Connector>,
    /// This many erase calls answer "deleted" without doing anything.
    pretend: AtomicUsize,
    /// Erase calls after this many real ones fail (retryable); `usize::MAX`: never.
    fail_after: AtomicUsize,
    /// Discovery also hands over a contact that is gone at the vendor.
    ghost: bool,
    /// Discoveries after the first find nothing, as for records found only through a parent
    /// that is gone.
    found_once: bool,
    discoveries: AtomicUsize,
}

impl Twisted {
    fn wrap(env: &Env, twist: impl FnOnce(&mut Twisted)) -> Hub {
        let mut processors = dsrhub::registry::build(&env.config, &env.secrets).unwrap();
        let mut twisted = Twisted {
            inner: processors[0].connector.take().unwrap(),
            pretend: AtomicUsize::new(0),
            fail_after: AtomicUsize::new(usize::MAX),
            ghost: false,
            found_once: false,
            discoveries: AtomicUsize::new(0),
        };
        twist(&mut twisted);
        processors[0].connector = Some(Arc::new(twisted));
        Hub::new(env.ledger.clone(), processors, &env.config)
    }
}

#[async_trait]
impl Connector for Twisted {
    fn describe(&self) -> Description {
        self.inner.describe()
    }
    async fn check(&self) -> Result<Health, ConnectorError> {
        self.inner.check().await
    }
    async fn discover(&self, subject: &Subject) -> Result<Vec<Record>, ConnectorError> {
        let mut records = self.inner.discover(subject).await?;
        if self.found_once && self.discoveries.fetch_add(1, Ordering::SeqCst) > 0 {
            records.clear();
        }
        if self.ghost {
            let mut ghost = records[0].clone();
            ghost.reference = RecordRef::new("contact", "410000000000999999");
            records.push(ghost);
        }
        Ok(records)
    }
    async fn export(&self, record: &RecordRef) -> Result<Exported, ConnectorError> {
        self.inner.export(record).await
    }
    async fn erase(
        &self,
        record: &RecordRef,
        action: &EraseAction,
    ) -> Result<EraseOutcome, ConnectorError> {
        if self
            .pretend
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Ok(match action {
                EraseAction::Delete => EraseOutcome::Deleted,
                EraseAction::Anonymize { fields } => EraseOutcome::Anonymized {
                    fields: fields.clone(),
                },
            });
        }
        if self
            .fail_after
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err()
        {
            return Err(ConnectorError::new(
                ErrorKind::Retryable,
                "the processor is unavailable",
            ));
        }
        self.inner.erase(record, action).await
    }
    async fn inventory(&self) -> Result<Inventory, ConnectorError> {
        self.inner.inventory().await
    }
    fn shows_anonymized(&self, record: &Exported, fields: &[String]) -> Option<bool> {
        self.inner.shows_anonymized(record, fields)
    }
}

/// Issue 13.4: after real deletions a dry run is not "planned" and says nothing is undone,
/// and the request can no longer be cancelled (which would purge the subject while records
/// the plan covers remain).
#[tokio::test]
async fn a_dry_run_after_real_deletions_is_not_planned_and_cancel_is_refused() {
    let env = Env::start().await;
    let hub = Twisted::wrap(&env, |t| t.fail_after = AtomicUsize::new(1));
    let private = contact_id(&env.fake, "sanne.bakker@example.nl");
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let partly = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    // The one processor's task failed half-way: the deletion ran, the anonymisation did not.
    assert_eq!(partly.status, RequestStatus::Failed);
    assert!(!env.fake.state().contacts.contains_key(&private));

    let dry = hub.run(&id, &RunOptions::default()).await.unwrap();
    assert_ne!(dry.status, RequestStatus::Planned);
    assert!(env.ledger.acted_at(&id).unwrap().is_some());
    let err = hub.cancel(&id, "changed my mind").unwrap_err().to_string();
    assert!(err.contains("can no longer be cancelled"), "{err}");
    assert!(env.ledger.subject(&id).is_ok(), "the subject was purged");
    assert_ne!(
        env.ledger.request(&id).unwrap().status,
        RequestStatus::Cancelled
    );
}

/// Issue 13.5: what discovery finds after the approval (it failed in the dry run) is not
/// carried out unseen; it waits for an approval of its own, and a stale digest is refused.
#[tokio::test]
async fn records_planned_after_the_approval_wait_for_their_own() {
    let env = Env::start().await;
    let hub = env.hub();
    let private = contact_id(&env.fake, "sanne.bakker@example.nl");
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    env.fake.faults().fail_next(503, u32::MAX, None);
    hub.run(&id, &RunOptions::default()).await.unwrap();
    let seen = env.ledger.plan_digest(&id).unwrap();
    assert!(seen.is_empty(), "nothing could be planned: {seen:?}");
    env.fake.faults().clear();

    // The approved run discovers the records now: planned, not carried out.
    let run = hub.run(&id, &execute()).await.unwrap();
    assert_eq!(run.status, RequestStatus::Planned);
    assert!(env.fake.state().contacts.contains_key(&private));
    let plan = env.ledger.plan_digest(&id).unwrap();
    assert_eq!(plan.processors, vec!["moneybird".to_string()]);
    assert_eq!(plan.changes, 2);

    // A digest the person did not see is refused; the shown one is carried out.
    let err = hub
        .approve(&id, "00000000000000000000", "Petra")
        .unwrap_err()
        .to_string();
    assert!(err.contains(&plan.digest), "{err}");
    let approval = hub.approve(&id, &plan.digest[..16], "Petra").unwrap();
    assert_eq!(approval.digest, plan.digest);
    let done = hub.run(&id, &execute()).await.unwrap();
    assert_eq!(done.status, RequestStatus::Completed);
    assert!(!env.fake.state().contacts.contains_key(&private));
    let approvals = env.ledger.approvals(&id).unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].approver, "Petra");
}

/// A hub with a ledger connection of its own over the same file, as another process has.
fn another_process(env: &Env) -> Hub {
    let ledger = Arc::new(Ledger::open(&env.config.ledger_path()).unwrap());
    let processors = dsrhub::registry::build(&env.config, &env.secrets).unwrap();
    Hub::new(ledger, processors, &env.config)
}

async fn runners_act_once(runners: usize) {
    let env = Env::start().await;
    let hub = env.hub();
    let private = contact_id(&env.fake, "sanne.bakker@example.nl");
    let business = contact_id(&env.fake, "sanne@bakkerfotografie.example");
    let adm = env.fake.administration_id().to_string();
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    hub.run(&id, &RunOptions::default()).await.unwrap();
    let plan = env.ledger.plan_digest(&id).unwrap();
    hub.approve(&id, &plan.digest, "Petra").unwrap();

    let hubs: Vec<Arc<Hub>> = (0..runners)
        .map(|_| Arc::new(another_process(&env)))
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for h in &hubs {
        let (h, id) = (h.clone(), id.clone());
        set.spawn(async move { h.run(&id, &execute()).await.map(|r| r.status) });
    }
    let mut refused = 0;
    while let Some(result) = set.join_next().await {
        match result.unwrap() {
            Ok(_) => {}
            Err(e) => {
                let e = e.to_string();
                assert!(
                    e.contains("is being run by") && e.contains("lease until"),
                    "{e}"
                );
                refused += 1;
            }
        }
    }
    assert!(refused < runners, "somebody ran it");
    // Whoever was refused, the request ends carried out, each action exactly once.
    let done = hub.run(&id, &execute()).await.unwrap();
    assert_eq!(done.status, RequestStatus::Completed);
    let log = env.fake.log();
    assert_eq!(
        log.calls_to("DELETE", &format!("/api/v2/{adm}/contacts/{private}.json")),
        1
    );
    assert_eq!(
        log.calls_to("PATCH", &format!("/api/v2/{adm}/contacts/{business}.json")),
        1
    );
    assert_eq!(
        log.calls_to(
            "PATCH",
            &format!("/api/v2/{adm}/contacts/{business}/archive.json")
        ),
        1
    );
    env.ledger.verify_audit().unwrap();
}

/// Issue 13.6: two runners of one approved erasure (a CLI beside the server's scheduler).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runners_of_one_request_act_once() {
    runners_act_once(2).await;
}

/// Issue 13.6: five of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_runners_of_one_request_act_once() {
    runners_act_once(5).await;
}

/// Issue 13.6: different requests run side by side wait for the ledger, they do not fail
/// with "database is locked", and the audit chain stays one chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn different_requests_run_side_by_side() {
    let env = Env::start().await;
    let people = [
        "sanne.bakker@example.nl",
        "jan.devries@example.nl",
        "sanne@bakkerfotografie.example",
        "nobody@example.nl",
    ];
    let mut set = tokio::task::JoinSet::new();
    for person in people {
        let hub = Arc::new(another_process(&env));
        set.spawn(async move {
            let id = hub
                .open(RequestKind::Erasure, &email(person), "passport")
                .unwrap();
            hub.carry_out(&id, &execute(), "test operator")
                .await
                .map(|r| r.status)
        });
    }
    while let Some(result) = set.join_next().await {
        let status = result.unwrap().unwrap();
        assert_eq!(status, RequestStatus::Completed);
    }
    env.ledger.verify_audit().unwrap();
}

/// Issue 13.6: several processes opening a new ledger at once migrate it once.
#[test]
fn a_new_ledger_opened_at_once_by_many_is_migrated_once() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Ledger::open(&path).map(|_| ()).map_err(|e| e.to_string())
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
    }
}

/// Issue 13.8: a task whose verification found records still present is acted on again by
/// the next run, and verified again.
#[tokio::test]
async fn a_failed_verification_is_acted_on_again() {
    let env = Env::start().await;
    let hub = Twisted::wrap(&env, |t| t.pretend = AtomicUsize::new(2));
    let private = contact_id(&env.fake, "sanne.bakker@example.nl");
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let first = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_ne!(first.status, RequestStatus::Completed);
    assert_eq!(first.verification_remaining.len(), 2);
    assert_eq!(env.ledger.tasks(&id).unwrap()[0].state, TaskState::Failed);

    let second = hub.run(&id, &execute()).await.unwrap();
    assert_eq!(second.status, RequestStatus::Completed);
    assert!(second.verification_remaining.is_empty());
    assert!(!env.fake.state().contacts.contains_key(&private));
}

/// Issue 13.9: a record deleted at the processor between discovery and export is reported
/// "gone since discovery"; everything else is exported.
#[tokio::test]
async fn an_export_skips_a_record_gone_since_discovery() {
    let env = Env::start().await;
    let hub = Twisted::wrap(&env, |t| t.ghost = true);
    let id = hub
        .open(
            RequestKind::Access,
            &email("jan.devries@example.nl"),
            "passport",
        )
        .unwrap();
    let out = env.out("access");
    let done = hub
        .run(
            &id,
            &RunOptions {
                export_dir: Some(out.clone()),
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status, RequestStatus::Completed);
    let r = report::build(&env.ledger, &id, "org").unwrap();
    let outcome = |rid: &str| {
        r.processors[0]
            .records
            .iter()
            .find(|x| x.id == rid)
            .map(|x| x.outcome.clone())
    };
    assert_eq!(
        outcome("410000000000999999").as_deref(),
        Some("gone since discovery")
    );
    let jan = contact_id(&env.fake, "jan.devries@example.nl");
    assert_eq!(outcome(&jan).as_deref(), Some("found"));
    let json = common::read_zip_entry(&out.join("access-export.zip"), "moneybird.json");
    assert!(json.contains("jan.devries@example.nl"));
}

/// Issue 13.10: extensions only lengthen the deadline, add up to at most the policy's months,
/// and every one is kept with its reason and who gave it.
#[tokio::test]
async fn extensions_only_lengthen_and_stay_within_the_policy() {
    let env = Env::start().await;
    let hub = env.hub();
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let due = env.ledger.request(&id).unwrap().due_at;
    let first = hub
        .extend(&id, 1, "many requests this month", "Petra")
        .unwrap();
    assert!(first > due);
    let second = hub.extend(&id, 1, "complex request", "Karel").unwrap();
    assert!(second > first);
    let err = hub
        .extend(&id, 1, "still busy", "Petra")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("at most 2 month(s)") && err.contains(&second.to_string()),
        "{err}"
    );
    let err = hub
        .extend(&id, 0, "shorter", "Petra")
        .unwrap_err()
        .to_string();
    assert!(err.contains("only lengthens"), "{err}");
    assert_eq!(
        env.ledger.request(&id).unwrap().extended_due_at,
        Some(second)
    );
    let kept = env.ledger.extensions(&id).unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(
        (kept[0].reason.as_str(), kept[0].given_by.as_str()),
        ("many requests this month", "Petra")
    );
    assert_eq!(kept[1].given_by, "Karel");
}

/// Issue 13.6: an access and an erasure of one person at once both finish (the access request
/// used to stay `partially_completed` when the ledger was locked under it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_access_and_an_erasure_of_one_person_at_once_both_finish() {
    let env = Env::start().await;
    let access_hub = Arc::new(another_process(&env));
    let erasure_hub = Arc::new(another_process(&env));
    let access = access_hub
        .open(RequestKind::Access, &sanne(), "passport")
        .unwrap();
    let erasure = erasure_hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let out = env.out("access");
    let a = {
        let (hub, id) = (access_hub.clone(), access.clone());
        tokio::spawn(async move {
            hub.run(
                &id,
                &RunOptions {
                    export_dir: Some(out),
                    ..RunOptions::default()
                },
            )
            .await
        })
    };
    let e = {
        let (hub, id) = (erasure_hub.clone(), erasure.clone());
        tokio::spawn(async move { hub.carry_out(&id, &execute(), "test operator").await })
    };
    let a = a.await.unwrap().unwrap();
    let e = e.await.unwrap().unwrap();
    assert_eq!(e.status, RequestStatus::Completed);
    // The access export raced the erasure: what it found is exported or gone since discovery,
    // never a failure that leaves the request open.
    assert_eq!(a.status, RequestStatus::Completed, "{a:?}");
    env.ledger.verify_audit().unwrap();
}

/// Issue 14.6: verification does not only re-run the search. A record found only through a
/// parent is not found again once the parent is gone; every erased record is also looked up
/// by id, so a deletion the processor only claimed is caught.
#[tokio::test]
async fn verification_looks_up_every_erased_record_by_id() {
    let env = Env::start().await;
    let hub = Twisted::wrap(&env, |t| {
        t.pretend = AtomicUsize::new(2);
        t.found_once = true;
    });
    let private = contact_id(&env.fake, "sanne.bakker@example.nl");
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    // The dry run is the first discovery; the approved run's verification the next.
    let done = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_ne!(done.status, RequestStatus::Completed);
    assert!(env.fake.state().contacts.contains_key(&private));
    let reasons: Vec<&str> = done
        .verification_remaining
        .iter()
        .map(|r| r.reason.as_str())
        .collect();
    assert!(
        reasons.contains(&"still present when looked up by id after its deletion"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"not anonymised when looked up by id"),
        "{reasons:?}"
    );
}
