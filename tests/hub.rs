//! The hub end to end, against the Moneybird fake, through the public API.

mod common;

use std::time::Duration;

use common::{contact_id, email, read_zip_entry, sanne, Env};
use dsrhub::ledger::{RequestKind, RequestStatus};
use dsrhub::orchestrator::RunOptions;
use dsrhub::report;
use dsrhub_moneybird::fake::FakeOptions;

fn execute() -> RunOptions {
    RunOptions {
        execute: true,
        ..RunOptions::default()
    }
}

#[tokio::test]
async fn access_finds_exactly_the_subject_and_nobody_else() {
    let env = Env::start().await;
    let hub = env.hub();
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
    let records = &r.processors[0].records;
    assert_eq!(
        records.len(),
        1,
        "only Jan de Vries's own contact: {records:?}"
    );
    assert_eq!(
        records[0].id,
        contact_id(&env.fake, "jan.devries@example.nl")
    );
    assert_eq!(records[0].outcome, "found");

    // The export holds his data and not Johan de Vries's.
    let json = read_zip_entry(&out.join("access-export.zip"), "moneybird.json");
    assert!(json.contains("jan.devries@example.nl"));
    assert!(!json.contains("johan.devries@example.com"));
    let csv = read_zip_entry(&out.join("access-export.zip"), "moneybird.csv");
    assert!(csv.starts_with("object,id,field,value"));
    assert!(csv.contains("jan.devries@example.nl"));
    // The identifiers are gone from the ledger once the request closed.
    assert!(env.ledger.subject(&id).is_err());
}

#[tokio::test]
async fn erasure_deletes_anonymises_retains_and_verifies() {
    let env = Env::start().await;
    let hub = env.hub();
    let private = contact_id(&env.fake, "sanne.bakker@example.nl");
    let business = contact_id(&env.fake, "sanne@bakkerfotografie.example");
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();

    // Dry run first: a plan, nothing changed.
    let before = env.fake.state();
    let planned = hub.run(&id, &RunOptions::default()).await.unwrap();
    assert_eq!(planned.status, RequestStatus::Planned);
    assert_eq!(
        serde_json::to_string(&env.fake.state()).unwrap(),
        serde_json::to_string(&before).unwrap()
    );

    let done = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(done.status, RequestStatus::Completed);
    let state = env.fake.state();
    assert!(
        !state.contacts.contains_key(&private),
        "the contact without invoices is gone"
    );
    let anonymised = &state.contacts[&business];
    assert_eq!(anonymised["email"], "");
    assert_eq!(anonymised["archived"], true);
    assert_eq!(state.invoices_of(&business), 3, "invoices are kept");

    let r = report::build(&env.ledger, &id, "org").unwrap();
    let p = &r.processors[0];
    assert_eq!(p.status, "retained");
    let outcome = |rid: &str| {
        p.records
            .iter()
            .find(|x| x.id == rid)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(outcome(&private), "deleted");
    assert_eq!(outcome(&business), "anonymized");
    let retained: Vec<_> = p
        .records
        .iter()
        .filter(|x| x.outcome == "retained")
        .collect();
    assert_eq!(retained.len(), 3);
    for rec in retained {
        assert_eq!(
            rec.basis.as_deref(),
            Some("fiscal retention duty, art. 52(4) AWR")
        );
        let invoice = &state.sales_invoices[&rec.id];
        let date: jiff::civil::Date = invoice["invoice_date"].as_str().unwrap().parse().unwrap();
        // Seven years after the end of the invoice's financial year (issue 14.5).
        let until = jiff::civil::date(date.year() + 7, 12, 31);
        assert_eq!(
            rec.retain_until.as_deref(),
            Some(until.to_string().as_str())
        );
    }
    assert!(r.verification.ran_at.is_some());
    assert!(r.verification.remaining.is_empty());
    env.ledger.verify_audit().unwrap();
}

#[tokio::test]
async fn running_the_same_erasure_again_changes_nothing() {
    let env = Env::start().await;
    let hub = env.hub();
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    hub.carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    let first = report::build(&env.ledger, &id, "org").unwrap();
    let state = serde_json::to_string(&env.fake.state()).unwrap();
    let requests = env.fake.log().requests_seen();

    // The same request again: closed, nothing sent, same report.
    hub.carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(env.fake.log().requests_seen(), requests);
    let again = report::build(&env.ledger, &id, "org").unwrap();
    assert_eq!(again.processors, first.processors);
    assert_eq!(again.request, first.request);

    // A new request for the same person finds nothing erasable and says so.
    let second = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let done = hub
        .carry_out(&second, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(done.status, RequestStatus::Completed);
    assert_eq!(serde_json::to_string(&env.fake.state()).unwrap(), state);
    let r = report::build(&env.ledger, &second, "org").unwrap();
    assert!(
        r.processors[0].summary.starts_with("nothing erased"),
        "{}",
        r.processors[0].summary
    );
}

/// Issue 14.9: identifiers are normalised once, where the request is opened; a padded address
/// finds exactly what the plain one finds, and what is not an address is refused naming the
/// field.
#[tokio::test]
async fn identifiers_are_normalised_where_the_request_is_opened() {
    let env = Env::start().await;
    let hub = env.hub();
    let padded = dsrhub_connector::Subject {
        emails: vec![
            "  sanne.bakker@EXAMPLE.nl  ".into(),
            "\tsanne@bakkerfotografie.example ".into(),
        ],
        ..Default::default()
    };
    let id = hub.open(RequestKind::Erasure, &padded, "passport").unwrap();
    assert_eq!(env.ledger.subject(&id).unwrap(), sanne());
    hub.run(&id, &RunOptions::default()).await.unwrap();
    let plain = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    hub.run(&plain, &RunOptions::default()).await.unwrap();
    let found = |id: &str| {
        let mut refs: Vec<_> = env
            .ledger
            .items(id, None)
            .unwrap()
            .into_iter()
            .map(|i| (i.reference, i.action))
            .collect();
        refs.sort_by(|a, b| a.0.cmp(&b.0));
        refs
    };
    assert_eq!(found(&id), found(&plain));
    assert_eq!(found(&id).len(), 5);
    for bad in [" @ ", "a@ ", "x@y.nl' or 'a'='a"] {
        let err = hub
            .open(RequestKind::Erasure, &email(bad), "passport")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--email #1: not an e-mail address"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn injection_values_match_nothing_and_touch_nothing() {
    let env = Env::start().await;
    let hub = env.hub();
    let state = serde_json::to_string(&env.fake.state()).unwrap();
    // Values with spaces or a domain that is no host name are refused at intake (above);
    // these pass as addresses and must still widen nothing.
    for value in [
        "x&query=@y.nl",
        "x'or'a'='a@example.nl",
        "jan.jansen%@example.nl",
        "*@example.nl",
        "jan.jansen)or(1=1@example.nl",
        "\"jan\"@example.nl",
    ] {
        let id = hub
            .open(RequestKind::Erasure, &email(value), "passport")
            .unwrap();
        let done = hub
            .carry_out(&id, &execute(), "test operator")
            .await
            .unwrap();
        assert_eq!(done.status, RequestStatus::Completed);
        let r = report::build(&env.ledger, &id, "org").unwrap();
        assert!(
            r.processors[0]
                .records
                .iter()
                .all(|x| x.outcome == "review"),
            "{value}: {:?}",
            r.processors[0].records
        );
    }
    assert_eq!(serde_json::to_string(&env.fake.state()).unwrap(), state);
}

#[tokio::test]
async fn throttling_and_server_errors_end_in_completion_within_the_quota() {
    let options = FakeOptions {
        quota_requests: 10,
        quota_window: Duration::from_secs(2),
        ..FakeOptions::default()
    };
    let env = Env::with_fake(options, |section| {
        let http = section.get_mut("http").unwrap().as_table_mut().unwrap();
        http.insert(
            "rate_limit".into(),
            toml::Value::Table(toml::toml! { requests = 10
            per_seconds = 2 }),
        );
        http.insert("max_retries".into(), 6.into());
    })
    .await;
    let hub = env.hub();
    env.fake
        .faults()
        .fail_next(429, 2, Some(Duration::from_millis(300)));
    env.fake.faults().fail_next(500, 2, None);
    env.fake.faults().fail_next(429, 1, None);
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let done = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(done.status, RequestStatus::Completed);
    assert!(
        env.fake.log().requests_seen() > 10,
        "the run must cross a quota window"
    );
    assert_eq!(
        env.fake.quota_rejections(),
        0,
        "the hub went over the vendor's quota"
    );
}

#[tokio::test]
async fn an_unreachable_processor_fails_its_task_and_a_later_run_resumes() {
    let env = Env::start().await;
    let hub = env.hub();
    env.fake.faults().fail_next(503, u32::MAX, None);
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let first = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(first.status, RequestStatus::Failed);
    let tasks = env.ledger.tasks(&id).unwrap();
    assert_eq!(tasks[0].error_kind.as_deref(), Some("retryable"));
    assert!(tasks[0].summary.contains("will resume"));

    env.fake.faults().clear();
    let second = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(second.status, RequestStatus::Completed);
}

/// Issue 13.2: a processor disabled for one run is not "done". The request stays open (and its
/// subject's identifiers with it) until the processor is configured again and planned.
#[tokio::test]
async fn a_skipped_processor_keeps_the_request_open_until_it_is_planned() {
    let env = Env::with_fake(FakeOptions::default(), |s| {
        s.insert("enabled".into(), false.into());
    })
    .await;
    let hub = env.hub();
    let private = contact_id(&env.fake, "sanne.bakker@example.nl");
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let first = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(first.status, RequestStatus::AwaitingProcessors);
    assert!(first.closed_at.is_none());
    assert!(env.ledger.subject(&id).is_ok(), "the subject was purged");
    let r = report::build(&env.ledger, &id, "org").unwrap();
    assert_eq!(r.processors[0].status, "skipped");
    assert!(
        r.processors[0].summary.contains("skipped since")
            && r.processors[0].summary.contains("disabled"),
        "{}",
        r.processors[0].summary
    );
    assert_eq!(env.fake.log().requests_seen(), 0);

    // Enabled again: the next run plans it, and only then does the request close.
    let mut config = env.config.clone();
    config
        .processors
        .get_mut("moneybird")
        .unwrap()
        .insert("enabled".into(), true.into());
    let processors = dsrhub::registry::build(&config, &env.secrets).unwrap();
    let hub = dsrhub::orchestrator::Hub::new(env.ledger.clone(), processors, &config);
    let done = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(done.status, RequestStatus::Completed);
    assert!(!env.fake.state().contacts.contains_key(&private));
    assert!(env.ledger.subject(&id).is_err(), "purged once closed");
}

#[tokio::test]
async fn the_blast_radius_cap_stops_a_large_plan() {
    let env = Env::start().await;
    let mut config = env.config.clone();
    config.policy.max_records_per_erasure = 1;
    let processors = dsrhub::registry::build(&config, &env.secrets).unwrap();
    let hub = dsrhub::orchestrator::Hub::new(env.ledger.clone(), processors, &config);
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let err = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("touches 2 records") && err.contains("max_records_per_erasure"),
        "{err}"
    );
    assert!(env
        .fake
        .state()
        .contacts
        .contains_key(&contact_id(&env.fake, "sanne.bakker@example.nl")));
    let opts = RunOptions {
        execute: true,
        max_records: Some(2),
        ..RunOptions::default()
    };
    assert_eq!(
        hub.carry_out(&id, &opts, "test operator")
            .await
            .unwrap()
            .status,
        RequestStatus::Completed
    );
}

/// Moneybird behind a connector that only pretends to erase, and whose second discovery
/// also finds a record that appeared after the plan was made.
#[derive(Debug)]
struct Pretender {
    inner: std::sync::Arc<dyn dsrhub_connector::Connector>,
    discoveries: std::sync::atomic::AtomicUsize,
}

#[dsrhub_connector::async_trait]
impl dsrhub_connector::Connector for Pretender {
    fn describe(&self) -> dsrhub_connector::Description {
        self.inner.describe()
    }
    async fn check(&self) -> Result<dsrhub_connector::Health, dsrhub_connector::ConnectorError> {
        self.inner.check().await
    }
    async fn discover(
        &self,
        subject: &dsrhub_connector::Subject,
    ) -> Result<Vec<dsrhub_connector::Record>, dsrhub_connector::ConnectorError> {
        let mut records = self.inner.discover(subject).await?;
        let round = self
            .discoveries
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if round > 0 {
            let mut newcomer = records[0].clone();
            newcomer.reference = dsrhub_connector::RecordRef::new("contact", "new-since-the-plan");
            records.push(newcomer);
        }
        Ok(records)
    }
    async fn export(
        &self,
        record: &dsrhub_connector::RecordRef,
    ) -> Result<dsrhub_connector::Exported, dsrhub_connector::ConnectorError> {
        self.inner.export(record).await
    }
    async fn erase(
        &self,
        _: &dsrhub_connector::RecordRef,
        _: &dsrhub_connector::EraseAction,
    ) -> Result<dsrhub_connector::EraseOutcome, dsrhub_connector::ConnectorError> {
        Ok(dsrhub_connector::EraseOutcome::Deleted)
    }
    async fn inventory(
        &self,
    ) -> Result<dsrhub_connector::Inventory, dsrhub_connector::ConnectorError> {
        self.inner.inventory().await
    }
}

/// Verification does not take the processor's word: what still matches after a "successful"
/// delete, and what was not in the plan, are reported, and the task fails.
#[tokio::test]
async fn verification_reports_what_still_matches_and_what_is_new() {
    let env = Env::start().await;
    let mut processors = dsrhub::registry::build(&env.config, &env.secrets).unwrap();
    let inner = processors[0].connector.take().unwrap();
    processors[0].connector = Some(std::sync::Arc::new(Pretender {
        inner,
        discoveries: Default::default(),
    }));
    let hub = dsrhub::orchestrator::Hub::new(env.ledger.clone(), processors, &env.config);
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let done = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_ne!(done.status, RequestStatus::Completed);
    let r = report::build(&env.ledger, &id, "org").unwrap();
    let mut reasons: Vec<(String, String)> = r
        .verification
        .remaining
        .iter()
        .map(|x| (x.id.clone(), x.reason.clone()))
        .collect();
    reasons.sort();
    let mut expected = vec![
        (
            contact_id(&env.fake, "sanne.bakker@example.nl"),
            "still matches after erasure".to_string(),
        ),
        (
            contact_id(&env.fake, "sanne@bakkerfotografie.example"),
            "still matches after erasure".to_string(),
        ),
        (
            "new-since-the-plan".to_string(),
            "found during verification but not in the plan (new since planning?)".to_string(),
        ),
    ];
    expected.sort();
    assert_eq!(reasons, expected);
    let task = &env.ledger.tasks(&id).unwrap()[0];
    assert_eq!(task.state, dsrhub::ledger::TaskState::Failed);
    assert!(
        task.summary.contains("3 record(s) still present"),
        "{}",
        task.summary
    );
}

#[tokio::test]
async fn a_deselected_record_is_left_alone() {
    let env = Env::start().await;
    let hub = env.hub();
    let private = contact_id(&env.fake, "sanne.bakker@example.nl");
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    hub.run(&id, &RunOptions::default()).await.unwrap();
    let reference = dsrhub_connector::RecordRef::new("contact", private.clone());
    assert!(env.ledger.deselect(&id, "moneybird", &reference).unwrap());
    hub.carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert!(env.fake.state().contacts.contains_key(&private));
    let r = report::build(&env.ledger, &id, "org").unwrap();
    assert_eq!(
        r.processors[0]
            .records
            .iter()
            .find(|x| x.id == private)
            .unwrap()
            .outcome,
        "deselected"
    );
    // Verification sees it still there and says so.
    assert_eq!(
        r.verification.remaining.len(),
        0,
        "a deselected record is not 'remaining'"
    );
}

/// Issue 14.1: a company contact holds other people. Erasing one of them deletes her contact
/// person only; the company contact and her colleague stay as they were.
#[tokio::test]
async fn erasing_a_contact_person_leaves_the_company_and_her_colleagues() {
    let env = Env::start().await;
    let hub = env.hub();
    let company = contact_id(&env.fake, "info@vandijk-installatie.example");
    let before = env.fake.state().contacts[&company].clone();
    let people = before["contact_people"].as_array().unwrap().len();
    assert!(people >= 2, "the fixture's company holds several people");
    let id = hub
        .open(
            RequestKind::Erasure,
            &email("eva.mulder@vandijk-installatie.example"),
            "passport",
        )
        .unwrap();
    let done = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(done.status, RequestStatus::Completed);
    let after = env.fake.state().contacts[&company].clone();
    let remaining: Vec<&str> = after["contact_people"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["email"].as_str())
        .collect();
    assert_eq!(remaining.len(), people - 1, "{remaining:?}");
    assert!(!remaining.contains(&"eva.mulder@vandijk-installatie.example"));
    assert!(remaining.contains(&"ruud@vandijk-installatie.example"));
    assert_eq!(after["company_name"], before["company_name"]);
    assert_eq!(after["email"], before["email"]);
}

/// Issue 14.1 and 14.3: a request for the company's own address (a role address, used by
/// several people) reaches the company contact: organisation data, never deleted or
/// anonymised for one person; the report says why and a person decides.
#[tokio::test]
async fn a_company_contact_reached_through_its_role_address_is_not_erased() {
    let env = Env::start().await;
    let hub = env.hub();
    let company = contact_id(&env.fake, "info@vandijk-installatie.example");
    let before = serde_json::to_string(&env.fake.state()).unwrap();
    let id = hub
        .open(
            RequestKind::Erasure,
            &email("info@vandijk-installatie.example"),
            "passport",
        )
        .unwrap();
    let run = hub
        .carry_out(&id, &execute(), "test operator")
        .await
        .unwrap();
    assert_eq!(serde_json::to_string(&env.fake.state()).unwrap(), before);
    assert_eq!(run.status, RequestStatus::AwaitingProcessors);
    let r = report::build(&env.ledger, &id, "org").unwrap();
    let contact = r.processors[0]
        .records
        .iter()
        .find(|x| x.id == company)
        .unwrap();
    assert_eq!(contact.action, "review");
    assert!(
        contact
            .note
            .as_deref()
            .unwrap_or("")
            .contains("organisation data (a company contact with 2 contact person(s)"),
        "{contact:?}"
    );
    assert!(
        r.processors[0]
            .records
            .iter()
            .all(|x| x.object != "sales_invoice"),
        "the company's invoices are not the subject's"
    );
}

/// Issue 17.5: while a vendor's rate limit holds a call back, the progress display says so
/// ("waiting 6 s: Moneybird rate limit"), and goes back to what it showed once the call goes on.
#[tokio::test]
async fn a_rate_limit_wait_is_shown_on_the_progress_display() {
    #[derive(Default)]
    struct Seen(std::sync::Mutex<Vec<String>>);
    impl dsrhub::orchestrator::Progress for Seen {
        fn update(&self, _: &str, _: &str) {}
        fn finish(&self, _: &str, _: &str) {}
        fn waiting(&self, processor: &str, message: Option<&str>) {
            self.0.lock().unwrap().push(format!(
                "{processor}: {}",
                message.unwrap_or("done waiting")
            ));
        }
    }
    let env = Env::start().await;
    let seen = std::sync::Arc::new(Seen::default());
    let hub = env.hub().with_progress(seen.clone());
    env.fake
        .faults()
        .fail_next(429, 1, Some(Duration::from_secs(1)));
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    let planned = hub.run(&id, &RunOptions::default()).await.unwrap();
    assert_eq!(planned.status, RequestStatus::Planned);
    // The vendor's Retry-After, plus the SDK's own margin.
    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].starts_with("moneybird: waiting ") && seen[0].ends_with(" s: Moneybird rate limit"),
        "{seen:?}"
    );
    assert_eq!(seen[1], "moneybird: done waiting");
}
