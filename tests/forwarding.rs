//! Forwarding to the controller: a customer's data subject, data held for the customer.

mod common;

use std::collections::BTreeMap;

use common::{hub_for, moneybird_table, HubEnv};
use dsrhub::config::ControllerConfig;
use dsrhub::ledger::{Action, RequestKind, RequestStatus, TaskState};
use dsrhub::orchestrator::RunOptions;
use dsrhub::report;
use dsrhub_autotask::fake::FakeAutotask;
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Subject;
use dsrhub_itglue::fake::FakeItGlue;
use dsrhub_moneybird::fake::FakeMoneybird;

struct Fakes {
    autotask: FakeAutotask,
    itglue: FakeItGlue,
    moneybird: FakeMoneybird,
    secrets: Secrets,
}

async fn fakes() -> Fakes {
    let autotask = FakeAutotask::start().await.unwrap();
    let itglue = FakeItGlue::start().await.unwrap();
    let moneybird = FakeMoneybird::start().await.unwrap();
    let secrets = Secrets::in_memory();
    secrets
        .store(&"keyring:itg".parse().unwrap(), &itglue.api_key())
        .unwrap();
    secrets
        .store(&"keyring:mb".parse().unwrap(), &moneybird.token())
        .unwrap();
    Fakes {
        autotask,
        itglue,
        moneybird,
        secrets,
    }
}

/// Autotask and Moneybird are the organisation's own processing; IT Glue documents customers'
/// environments on their behalf.
fn env(f: &Fakes, controller: ControllerConfig) -> HubEnv {
    let autotask = common::autotask_table(&f.autotask, &f.secrets);
    let mut itglue = toml::Table::new();
    itglue.insert("base_url".into(), f.itglue.base_url().to_string().into());
    itglue.insert("api_key".into(), "keyring:itg".into());
    itglue.insert("on_behalf_of_customers".into(), true.into());
    let processors = BTreeMap::from([
        ("autotask".to_string(), autotask),
        ("itglue".to_string(), itglue),
        (
            "moneybird".to_string(),
            moneybird_table(&f.moneybird, "keyring:mb"),
        ),
    ]);
    let mut env = hub_for(processors, &f.secrets);
    env.rebuild(
        |config| config.controllers = vec![controller.clone()],
        &f.secrets,
    );
    env
}

fn noorderlicht(domains: &[&str], itglue_orgs: &[u64]) -> ControllerConfig {
    ControllerConfig {
        name: "Noorderlicht Zorg B.V.".into(),
        privacy_contact: "privacy@noorderlicht.example".into(),
        language: "nl".into(),
        email_domains: domains.iter().map(|d| d.to_string()).collect(),
        autotask_company_ids: vec![],
        itglue_organization_ids: itglue_orgs.to_vec(),
    }
}

fn email(address: &str) -> Subject {
    Subject {
        emails: vec![address.into()],
        ..Subject::default()
    }
}

fn read(env: &HubEnv, id: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(env.dir.path().join("reports").join(id).join(file)).ok()
}

#[tokio::test]
async fn split_case_own_data_is_erased_customer_data_is_forwarded() {
    let f = fakes().await;
    let env = env(&f, noorderlicht(&["noorderlicht.example"], &[]));
    let itglue_before = serde_json::to_string(&f.itglue.state()).unwrap();
    let id = env
        .hub
        .open(
            RequestKind::Erasure,
            &email("jan.devries@noorderlicht.example"),
            "passport",
        )
        .unwrap();

    // The dry run shows the decision and sends nothing.
    let planned = env.hub.run(&id, &RunOptions::default()).await.unwrap();
    assert_eq!(planned.status, RequestStatus::Planned);
    let r = report::build(&env.ledger, &id, "org").unwrap();
    let itglue = r.processors.iter().find(|p| p.id == "itglue").unwrap();
    assert!(
        itglue.records.iter().all(|x| x.action == "forward"),
        "{:?}",
        itglue.records
    );
    assert!(read(&env, &id, "controller-forward.eml").is_none());

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
    assert_eq!(
        done.status,
        RequestStatus::Completed,
        "the organisation's own part is done"
    );
    assert_eq!(done.controller.as_deref(), Some("Noorderlicht Zorg B.V."));
    // Own processing: the Autotask contact is gone. Customer's data: IT Glue untouched.
    assert!(!f
        .autotask
        .state()
        .contacts
        .values()
        .any(|c| c["emailAddress"] == "jan.devries@noorderlicht.example"));
    assert_eq!(
        serde_json::to_string(&f.itglue.state()).unwrap(),
        itglue_before
    );
    let r = report::build(&env.ledger, &id, "org").unwrap();
    assert_eq!(
        r.processors
            .iter()
            .find(|p| p.id == "itglue")
            .unwrap()
            .status,
        "forwarded"
    );
    assert!(r
        .processors
        .iter()
        .find(|p| p.id == "itglue")
        .unwrap()
        .records
        .iter()
        .all(|x| x.outcome == "forwarded"));
    let forward = read(&env, &id, "controller-forward.eml").expect("the forwarding letter");
    assert!(forward.contains("To: privacy@noorderlicht.example"));
    assert!(
        forward.contains("jan.devries@noorderlicht.example")
            && forward.contains("IT Glue: 1 gegevensrecord"),
        "{forward}"
    );
    let reply = read(&env, &id, "requester-reply.eml").expect("the reply to the requester");
    assert!(reply.contains("To: jan.devries@noorderlicht.example"));
    assert!(
        reply.contains("Noorderlicht Zorg B.V.") && reply.contains("eigen doeleinden"),
        "the split is explained: {reply}"
    );
}

#[tokio::test]
async fn access_recognised_by_it_glue_organization_exports_own_data_and_forwards_the_rest() {
    let f = fakes().await;
    // Recognised by the IT Glue organization the contact matched in, not by the address.
    let org = f
        .itglue
        .state()
        .contacts
        .values()
        .find(|c| c["attributes"]["name"] == "Johan de Vries")
        .and_then(|c| c["attributes"]["organization-id"].as_u64())
        .unwrap();
    let env = env(&f, noorderlicht(&[], &[org]));
    let id = env
        .hub
        .open(
            RequestKind::Access,
            &email("johan.devries@noorderlicht.example"),
            "passport",
        )
        .unwrap();
    let out = env.dir.path().join("reports").join(&id);
    let done = env
        .hub
        .run(
            &id,
            &RunOptions {
                export_dir: Some(out.clone()),
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    // He is also a contact in the organisation's own Autotask: that part is answered.
    assert_eq!(done.status, RequestStatus::Completed);
    assert_eq!(done.controller.as_deref(), Some("Noorderlicht Zorg B.V."));
    let r = report::build(&env.ledger, &id, "org").unwrap();
    assert_eq!(
        r.processors
            .iter()
            .find(|p| p.id == "itglue")
            .unwrap()
            .status,
        "forwarded"
    );
    assert_eq!(
        r.processors
            .iter()
            .find(|p| p.id == "autotask")
            .unwrap()
            .status,
        "done"
    );
    let itglue = r.processors.iter().find(|p| p.id == "itglue").unwrap();
    assert!(
        itglue
            .records
            .iter()
            .all(|x| x.outcome == "forwarded" && x.action == "forward"),
        "{:?}",
        itglue.records
    );
    // The export holds the organisation's own data, not what it holds for the customer.
    let zip = std::fs::File::open(out.join("access-export.zip")).unwrap();
    let mut archive = zip::ZipArchive::new(zip).unwrap();
    let names: Vec<String> = (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert!(names.contains(&"autotask.json".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("itglue")), "{names:?}");
    assert!(read(&env, &id, "controller-forward.eml")
        .unwrap()
        .contains("IT Glue: 1 gegevensrecord"));
}

#[tokio::test]
async fn only_customer_data_means_the_request_is_forwarded_to_the_controller() {
    let f = fakes().await;
    let env = env(&f, noorderlicht(&["fotoclub.example"], &[]));
    // s.bakker@fotoclub.example: in IT Glue (the customer's documentation) and as Autotask's
    // primary address of the Fotoclub contact; use a subject address only IT Glue holds.
    let subject = email("sanne.bakker@fotoclub.example");
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
    // Nothing found anywhere, but the address is the customer's: forwarded, nothing executed.
    assert_eq!(done.status, RequestStatus::ForwardedToController);
    assert!(read(&env, &id, "controller-forward.eml").is_some());
    let reply = read(&env, &id, "requester-reply.eml").unwrap();
    assert!(
        !reply.contains("eigen doeleinden"),
        "no split to explain: {reply}"
    );
    assert!(
        env.ledger.subject(&id).is_err(),
        "closed: identifiers purged"
    );
}

/// Issue 13.1: forwarding is applied after every planning pass. IT Glue (held for the
/// customer) answers 503 during the dry run of a customer's staff member; planned later, its
/// records are still forwarded, never erased or exported, and they wait for their own approval.
#[tokio::test]
async fn a_processor_planned_after_the_dry_run_is_still_forwarded() {
    let f = fakes().await;
    let env = env(&f, noorderlicht(&["noorderlicht.example"], &[]));
    let itglue_before = serde_json::to_string(&f.itglue.state()).unwrap();
    let id = env
        .hub
        .open(
            RequestKind::Erasure,
            &email("jan.devries@noorderlicht.example"),
            "passport",
        )
        .unwrap();
    f.itglue.faults().fail_next(503, u32::MAX, None);
    env.hub.run(&id, &RunOptions::default()).await.unwrap();
    let itglue_task = |env: &HubEnv| {
        env.ledger
            .tasks(&id)
            .unwrap()
            .into_iter()
            .find(|t| t.processor == "itglue")
            .unwrap()
    };
    assert_eq!(itglue_task(&env).state, TaskState::Failed);

    // The plan seen in the dry run is approved; IT Glue answers again in the approved run.
    f.itglue.faults().clear();
    let plan = env.ledger.plan_digest(&id).unwrap();
    assert!(!plan.processors.contains(&"itglue".to_string()));
    env.hub.approve(&id, &plan.digest, "Petra").unwrap();
    let execute = RunOptions {
        execute: true,
        ..RunOptions::default()
    };
    env.hub.run(&id, &execute).await.unwrap();
    let items = env.ledger.items(&id, Some("itglue")).unwrap();
    assert!(!items.is_empty(), "IT Glue holds the subject's contact");
    assert!(
        items.iter().all(|i| i.action == Action::Forward),
        "{items:?}"
    );
    assert!(itglue_task(&env).awaits_approval(), "planned unseen");
    assert_eq!(
        serde_json::to_string(&f.itglue.state()).unwrap(),
        itglue_before
    );

    // Its own approval forwards it; the customer's data stays where it is.
    let plan = env.ledger.plan_digest(&id).unwrap();
    assert_eq!(plan.processors, vec!["itglue".to_string()]);
    assert_eq!(plan.changes, 0, "forwarding changes nothing at IT Glue");
    env.hub.approve(&id, &plan.digest, "Petra").unwrap();
    env.hub.run(&id, &execute).await.unwrap();
    assert_eq!(itglue_task(&env).state, TaskState::Forwarded);
    assert_eq!(
        serde_json::to_string(&f.itglue.state()).unwrap(),
        itglue_before
    );
    assert_eq!(f.itglue.log().calls_to("DELETE", "/contacts"), 0);
}

/// Issue 13.1, access: what IT Glue holds for the customer is not put in the requester's ZIP
/// when IT Glue's discovery only succeeds in a later run.
#[tokio::test]
async fn an_access_export_resumed_later_still_forwards_the_customers_data() {
    let f = fakes().await;
    let env = env(&f, noorderlicht(&["noorderlicht.example"], &[]));
    let id = env
        .hub
        .open(
            RequestKind::Access,
            &email("jan.devries@noorderlicht.example"),
            "passport",
        )
        .unwrap();
    let out = env.dir.path().join("reports").join(&id);
    let options = RunOptions {
        export_dir: Some(out.clone()),
        ..RunOptions::default()
    };
    f.itglue.faults().fail_next(503, u32::MAX, None);
    env.hub.run(&id, &options).await.unwrap();
    f.itglue.faults().clear();
    env.hub.run(&id, &options).await.unwrap();
    let items = env.ledger.items(&id, Some("itglue")).unwrap();
    assert!(!items.is_empty());
    assert!(
        items.iter().all(|i| i.action == Action::Forward),
        "{items:?}"
    );
    let zip = std::fs::File::open(out.join("access-export.zip")).unwrap();
    let archive = zip::ZipArchive::new(zip).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.to_string()).unwrap_or_default())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("itglue")), "{names:?}");
}

/// Issue 19: a rectification for a customer's data subject changes the organisation's own
/// records and forwards, untouched, what is held for the customer, with the corrections the
/// controller needs.
#[tokio::test]
async fn a_rectification_for_a_customers_data_subject_forwards_what_is_held_for_the_customer() {
    let f = fakes().await;
    let env = env(&f, noorderlicht(&["noorderlicht.example"], &[]));
    let itglue_before = serde_json::to_string(&f.itglue.state()).unwrap();
    let change = dsrhub_connector::Change::Rectify {
        values: [(
            dsrhub_connector::Field::JobTitle,
            "Afdelingshoofd".to_string(),
        )]
        .into(),
    };
    let id = env
        .hub
        .open_change(
            RequestKind::Rectification,
            &email("jan.devries@noorderlicht.example"),
            "passport",
            &change,
            None,
        )
        .unwrap();
    env.hub.run(&id, &RunOptions::default()).await.unwrap();
    let items = env.ledger.items(&id, Some("itglue")).unwrap();
    assert!(!items.is_empty());
    assert!(
        items.iter().all(|i| i.action == Action::Forward),
        "{items:?}"
    );
    let plan = env.ledger.plan_digest(&id).unwrap();
    env.hub
        .approve(&id, &plan.digest, "Petra de Vries")
        .unwrap();
    let done = env
        .hub
        .run(
            &id,
            &RunOptions {
                execute: true,
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.controller.as_deref(), Some("Noorderlicht Zorg B.V."));
    assert_eq!(
        serde_json::to_string(&f.itglue.state()).unwrap(),
        itglue_before,
        "the customer's data is the customer's to change"
    );
    assert!(f
        .autotask
        .state()
        .contacts
        .values()
        .any(|c| c["emailAddress"] == "jan.devries@noorderlicht.example"
            && c["title"] == "Afdelingshoofd"));
    let tasks = env.ledger.tasks(&id).unwrap();
    let itglue = tasks.iter().find(|t| t.processor == "itglue").unwrap();
    assert_eq!(itglue.state, TaskState::Forwarded);
    let forward = read(&env, &id, "controller-forward.eml").expect("the forwarding letter");
    assert!(
        forward.contains("rectificatie") && forward.contains("artikel 16"),
        "{forward}"
    );
    assert!(forward.contains("functie: Afdelingshoofd"), "{forward}");
    let reply = read(&env, &id, "requester-reply.eml").expect("the reply to the requester");
    assert!(reply.contains("rectificatie"), "{reply}");
}
