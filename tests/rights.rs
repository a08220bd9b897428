//! Issue 19: rectification, restriction (and its lifting) and objection through the hub,
//! against the Autotask and Moneybird fakes: the plan shows what changes, nothing changes
//! before the approval of its digest, the fakes' state proves the change, and the read-back
//! finds nothing left to do.

mod common;

use std::collections::BTreeMap;

use common::{hub_for, moneybird_table, HubEnv};
use dsrhub::ledger::{Action, RequestKind, RequestStatus};
use dsrhub::orchestrator::{Answer, RunOptions};
use dsrhub_autotask::fake::FakeAutotask;
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::{Change, Field, Purpose, Subject};
use dsrhub_moneybird::fake::FakeMoneybird;

const KEES: u64 = 30682110;

struct Env {
    autotask: FakeAutotask,
    moneybird: FakeMoneybird,
    env: HubEnv,
}

async fn start() -> Env {
    start_with(BTreeMap::new()).await
}

/// [`start`], with more processors (one without an API, say).
async fn start_with(more: BTreeMap<String, toml::Table>) -> Env {
    let autotask = FakeAutotask::start().await.unwrap();
    let moneybird = FakeMoneybird::start().await.unwrap();
    let secrets = Secrets::in_memory();
    secrets
        .store(&"keyring:mb".parse().unwrap(), &moneybird.token())
        .unwrap();
    let mut processors = BTreeMap::from([
        (
            "autotask".to_string(),
            common::autotask_table(&autotask, &secrets),
        ),
        (
            "moneybird".to_string(),
            moneybird_table(&moneybird, "keyring:mb"),
        ),
    ]);
    processors.extend(more);
    let env = hub_for(processors, &secrets);
    Env {
        autotask,
        moneybird,
        env,
    }
}

fn email(address: &str) -> Subject {
    Subject {
        emails: vec![address.into()],
        ..Subject::default()
    }
}

fn kees(env: &Env) -> serde_json::Value {
    env.autotask.state().contacts[&KEES].clone()
}

fn correction() -> Change {
    Change::Rectify {
        values: [
            (Field::Phone, "+31 71 512 9999".to_string()),
            (Field::JobTitle, "Office manager".to_string()),
        ]
        .into(),
    }
}

/// Open a restriction of `subject`'s processing (accuracy contested), not run yet; its id.
fn restrict(env: &Env, subject: &Subject) -> String {
    env.env
        .hub
        .open_change(
            RequestKind::Restriction,
            subject,
            "passport seen at the desk",
            &Change::Restrict,
            Some("accuracy contested"),
        )
        .unwrap()
}

/// Plan `id`, approve the digest it shows, carry it out.
async fn approve_and_run(env: &Env, id: &str) -> dsrhub::ledger::RequestRow {
    let hub = &env.env.hub;
    hub.run(id, &RunOptions::default()).await.unwrap();
    let plan = env.env.ledger.plan_digest(id).unwrap();
    assert!(!plan.is_empty(), "a plan waits for approval");
    hub.approve(id, &plan.digest, "Petra de Vries").unwrap();
    hub.run(
        id,
        &RunOptions {
            execute: true,
            ..RunOptions::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_rectification_changes_the_contact_only_after_approval_and_reads_it_back() {
    let env = start().await;
    let hub = &env.env.hub;
    let before = kees(&env);
    let id = hub
        .open_change(
            RequestKind::Rectification,
            &email("kees.visser@smitpartners.example"),
            "called back on the number in the contract",
            &correction(),
            None,
        )
        .unwrap();
    // The dry run plans the contact's two fields, from what to what; nothing changes yet.
    let planned = hub.run(&id, &RunOptions::default()).await.unwrap();
    assert_eq!(planned.status, RequestStatus::Planned);
    assert_eq!(kees(&env), before, "a dry run changes nothing");
    let items = env.env.ledger.items(&id, Some("autotask")).unwrap();
    let contact = items
        .iter()
        .find(|i| i.reference.object == "contact")
        .unwrap();
    assert_eq!(contact.action, Action::Change);
    let changes = env.env.ledger.item_changes(contact.id).unwrap();
    let shown: Vec<(&str, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c.field.as_str(),
                c.from.as_str().unwrap(),
                c.to.as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("phone", "071-5123460", "+31 71 512 9999"),
            ("title", "Accountant", "Office manager")
        ]
    );
    // Tickets are correspondence: listed, not rewritten.
    assert!(items
        .iter()
        .filter(|i| i.reference.object == "ticket")
        .all(|i| i.action == Action::Nothing && i.note.is_some()));

    let done = approve_and_run(&env, &id).await;
    // The tickets were not concerned, and say so after the run too.
    assert!(env
        .env
        .ledger
        .items(&id, Some("autotask"))
        .unwrap()
        .iter()
        .filter(|i| i.reference.object == "ticket")
        .all(|i| i.outcome.as_deref() == Some("unchanged")));
    let after = kees(&env);
    assert_eq!(after["phone"], "+31 71 512 9999");
    assert_eq!(after["title"], "Office manager");
    assert_eq!(
        after["firstName"], before["firstName"],
        "nothing else changed"
    );
    assert_eq!(after["emailAddress"], before["emailAddress"]);
    assert!(done.verification_remaining.is_empty());
    assert_eq!(done.status, RequestStatus::Completed);
    // Closed: the old and new values are purged, the field names stay as evidence.
    let changes = env.env.ledger.item_changes(contact.id).unwrap();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c.from.is_null() && c.to.is_null()));
    let report = hub.report(&id).unwrap();
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("Office manager") && !json.contains("071-5123460"));
    // The report names what changed on each record (field names, never values), in a file
    // named for the right, not as an erasure report.
    let record = report
        .processors
        .iter()
        .flat_map(|p| &p.records)
        .find(|r| r.object == "contact" && r.id == contact.reference.id)
        .unwrap();
    assert_eq!(record.changed_fields, ["phone", "title"]);
    let out = env.env.dir.path().join("report-out");
    let (json_path, html_path) = dsrhub::report::write(&report, &out).unwrap();
    assert!(
        json_path.ends_with("rectification-report.json"),
        "{json_path:?}"
    );
    let html = std::fs::read_to_string(html_path).unwrap();
    assert!(
        html.contains("phone, title"),
        "the HTML shows the fields changed"
    );
    // The answer to the person names the fields corrected, not the values (art. 16, 19).
    let reply = std::fs::read_to_string(
        env.env
            .dir
            .path()
            .join("reports")
            .join(&id)
            .join("reply-rectification.eml"),
    )
    .unwrap();
    assert!(reply.contains("phone number, job title") || reply.contains("telefoonnummer, functie"));
    assert!(
        reply.contains("1 changed") || reply.contains("1 aangepast"),
        "{reply}"
    );
    assert!(!reply.contains("Office manager"));
}

#[tokio::test]
async fn a_restriction_marks_the_contacts_and_a_lift_puts_back_what_the_api_can() {
    let env = start().await;
    let hub = &env.env.hub;
    // Sanne is in both: an Autotask contact and a Moneybird contact with invoices.
    let subject = email("sanne@bakkerfotografie.example");
    assert!(
        hub.open_change(
            RequestKind::Restriction,
            &subject,
            "seen",
            &Change::Restrict,
            None
        )
        .is_err(),
        "a restriction needs its reason"
    );
    let id = restrict(&env, &subject);
    approve_and_run(&env, &id).await;
    let at_contacts: Vec<serde_json::Value> = env
        .autotask
        .state()
        .contacts
        .values()
        .filter(|c| c["emailAddress"] == "sanne@bakkerfotografie.example")
        .cloned()
        .collect();
    assert!(!at_contacts.is_empty());
    assert!(at_contacts.iter().all(|c| c["isActive"] == 0), "inactive");
    let mb = common::contact_id(&env.moneybird, "sanne@bakkerfotografie.example");
    assert_eq!(env.moneybird.state().contacts[&mb]["archived"], true);
    let restricted = env.env.ledger.restricted(&id).unwrap();
    assert!(restricted.iter().any(|r| r.processor == "autotask"));
    assert!(restricted.iter().any(|r| r.processor == "moneybird"));
    // The report shows what is restricted since when.
    let report = hub.report(&id).unwrap();
    assert_eq!(report.restricted.len(), restricted.len());
    assert!(report
        .restricted
        .iter()
        .any(|r| r.processor == "moneybird" && r.fields == ["archived"] && !r.since.is_empty()));
    let html = dsrhub::report::html::render(&report).unwrap();
    assert!(html.contains("Restricted since"), "{html}");

    // Lifting: Autotask's contacts become active again; Moneybird cannot unarchive through
    // its API, so that one waits for a person.
    let lift = hub.lift(&id, "dispute settled").unwrap();
    assert!(
        hub.lift(&id, "again").is_err(),
        "a restriction being lifted is not lifted twice"
    );
    let lifted = approve_and_run(&env, &lift).await;
    assert!(env
        .autotask
        .state()
        .contacts
        .values()
        .filter(|c| c["emailAddress"] == "sanne@bakkerfotografie.example")
        .all(|c| c["isActive"] == 1));
    assert_eq!(env.moneybird.state().contacts[&mb]["archived"], true);
    let manual = hub.manual_actions(&lift).unwrap();
    assert_eq!(manual.len(), 1);
    assert_eq!(manual[0].processor, "moneybird");
    assert!(manual[0].note.as_deref().unwrap().contains("Restore"));
    assert_eq!(lifted.status, RequestStatus::AwaitingProcessors);
}

#[tokio::test]
async fn an_objection_to_the_newsletter_sets_autotasks_opt_out_and_says_where_none_exists() {
    let env = start().await;
    let hub = &env.env.hub;
    let id = hub
        .open_change(
            RequestKind::Objection,
            &email("kees.visser@smitpartners.example"),
            "reply from the address on file",
            &Change::Object {
                purpose: Purpose::Newsletter,
            },
            None,
        )
        .unwrap();
    let done = approve_and_run(&env, &id).await;
    assert_eq!(kees(&env)["isOptedOutFromBulkEmail"], true);
    assert_eq!(
        kees(&env)["isActive"],
        1,
        "an objection restricts nothing else"
    );
    assert_eq!(done.status, RequestStatus::Completed);
    // Asked again: already opted out, nothing to change.
    let again = hub
        .open_change(
            RequestKind::Objection,
            &email("kees.visser@smitpartners.example"),
            "again",
            &Change::Object {
                purpose: Purpose::Newsletter,
            },
            None,
        )
        .unwrap();
    hub.run(&again, &RunOptions::default()).await.unwrap();
    assert_eq!(env.env.ledger.pending_changes(&again).unwrap(), 0);
}

#[tokio::test]
async fn a_loose_match_is_never_changed() {
    let env = start().await;
    let hub = &env.env.hub;
    let before = kees(&env);
    let id = hub
        .open_change(
            RequestKind::Rectification,
            // Another address, his name and his number: the contact matches loosely only.
            &Subject {
                emails: vec!["k.visser@elders.example".into()],
                names: vec!["Kees Visser".into()],
                phones: vec!["071-5123460".into()],
            },
            "seen",
            &correction(),
            None,
        )
        .unwrap();
    hub.run(&id, &RunOptions::default()).await.unwrap();
    assert_eq!(env.env.ledger.pending_changes(&id).unwrap(), 0);
    let items = env.env.ledger.items(&id, None).unwrap();
    assert!(!items.is_empty(), "the loose matches are listed");
    assert!(items.iter().all(|i| i.action == Action::Review));
    assert_eq!(kees(&env), before);
    // Carried out: they stay for review, listed, never a manual action to "change" them.
    approve_and_run(&env, &id).await;
    assert_eq!(kees(&env), before);
    assert!(hub.manual_actions(&id).unwrap().is_empty());
    assert!(env
        .env
        .ledger
        .items(&id, None)
        .unwrap()
        .iter()
        .all(|i| i.outcome.as_deref() == Some("review")));
}

#[tokio::test]
async fn a_changed_value_after_the_dry_run_needs_a_new_approval() {
    let env = start().await;
    let hub = &env.env.hub;
    let id = hub
        .open_change(
            RequestKind::Rectification,
            &email("kees.visser@smitpartners.example"),
            "seen",
            &correction(),
            None,
        )
        .unwrap();
    hub.run(&id, &RunOptions::default()).await.unwrap();
    let shown = env.env.ledger.plan_digest(&id).unwrap();
    // The digest covers the values: the same records with other values are another plan.
    let other = hub
        .open_change(
            RequestKind::Rectification,
            &email("kees.visser@smitpartners.example"),
            "seen",
            &Change::Rectify {
                values: [(Field::Phone, "+31 6 0000 0000".to_string())].into(),
            },
            None,
        )
        .unwrap();
    hub.run(&other, &RunOptions::default()).await.unwrap();
    let other_digest = env.env.ledger.plan_digest(&other).unwrap();
    assert_ne!(shown.digest, other_digest.digest);
    assert!(hub.approve(&other, &shown.digest, "Petra").is_err());
}

/// Defect (found this session, fails on 05640b3): a restriction made inactive an Autotask
/// contact matched only on a secondary address, whose primary address is not the subject's
/// (erasure keeps such a contact as shared; the change path did not look). Only a record
/// that is the subject's own is changed; another one waits for a person, with why, the
/// request stays open, and the fake is untouched.
#[tokio::test]
async fn a_change_never_acts_on_a_record_that_is_not_the_subjects_own() {
    let env = start().await;
    let hub = &env.env.hub;
    const SECONDARY: u64 = 30682036;
    let before = env.autotask.state().contacts[&SECONDARY].clone();
    assert_eq!(before["emailAddress2"], "sanne.bakker@example.nl");
    assert_ne!(before["emailAddress"], "sanne.bakker@example.nl");
    let id = restrict(&env, &email("sanne.bakker@example.nl"));
    let done = approve_and_run(&env, &id).await;
    assert_eq!(
        env.autotask.state().contacts[&SECONDARY],
        before,
        "the contact is neither made inactive nor changed"
    );
    let items = env.env.ledger.items(&id, Some("autotask")).unwrap();
    let item = items
        .iter()
        .find(|i| i.reference.object == "contact" && i.reference.id == SECONDARY.to_string())
        .unwrap_or_else(|| panic!("the contact is listed: {items:#?}"));
    assert_eq!(item.action, Action::Review);
    assert!(
        item.note.as_deref().unwrap().contains("secondary address"),
        "{item:?}"
    );
    assert!(env.env.ledger.item_changes(item.id).unwrap().is_empty());
    assert!(env
        .env
        .ledger
        .restricted(&id)
        .unwrap()
        .iter()
        .all(|r| r.item_id != item.id));
    assert_ne!(done.status, RequestStatus::Completed);
    assert!(hub
        .manual_actions(&id)
        .unwrap()
        .iter()
        .any(|m| m.processor == "autotask"));
}

/// Applicatielink's written answer `text` to request `id`: the change was made.
fn answered(env: &Env, id: &str, text: &str) -> RequestStatus {
    let evidence = env.env.dir.path().join(format!("answer-{id}.txt"));
    std::fs::write(&evidence, text).unwrap();
    env.env
        .hub
        .confirm(id, "applicatielink", Answer::Changed, Some(&evidence), None)
        .unwrap()
}

fn letter(env: &Env, id: &str, processor: &str) -> String {
    std::fs::read_to_string(
        env.env
            .dir
            .path()
            .join("reports")
            .join(id)
            .join(format!("{processor}-request.eml")),
    )
    .unwrap_or_else(|e| panic!("{processor}'s letter for {id}: {e}"))
}

/// A processor without an API gets the letter for the right asked (after approval only),
/// its answer marks what the restriction covers, the lift tells it by letter, and the
/// restriction's subject is kept exactly until the lift has closed (art. 18(3)).
#[tokio::test]
async fn a_processor_without_an_api_is_asked_by_letter_and_told_when_a_restriction_is_lifted() {
    let env = start_with(BTreeMap::from([(
        "applicatielink".to_string(),
        common::manual_section("Applicatielink", "privacy@applicatielink.example", "nl"),
    )]))
    .await;
    let hub = &env.env.hub;
    let subject = email("sanne@bakkerfotografie.example");
    let id = restrict(&env, &subject);
    hub.run(&id, &RunOptions::default()).await.unwrap();
    let dir = env.env.dir.path().join("reports").join(&id);
    assert!(
        !dir.join("applicatielink-request.eml").exists(),
        "no letter before approval"
    );
    let planned = env.env.ledger.items(&id, Some("applicatielink")).unwrap();
    assert_eq!(planned.len(), 1, "one item stands for all the data there");
    assert_eq!(planned[0].action, Action::Change);
    let run = approve_and_run(&env, &id).await;
    assert_eq!(run.status, RequestStatus::AwaitingProcessors);
    let sent = letter(&env, &id, "applicatielink");
    assert!(sent.contains("beperking van de verwerking") && sent.contains("artikel 18"));
    assert!(sent.contains("sanne@bakkerfotografie.example"));

    let status = answered(&env, &id, "Gemarkeerd als beperkt.");
    assert!(status.is_closed(), "{status}");
    let restricted = env.env.ledger.restricted(&id).unwrap();
    assert!(restricted.iter().any(|r| r.processor == "applicatielink"));
    assert_eq!(
        env.env.ledger.subject(&id).unwrap().emails,
        vec!["sanne@bakkerfotografie.example".to_string()],
        "a closed restriction keeps its subject until it is lifted"
    );

    let reply = std::fs::read_to_string(dir.join("reply-restriction.eml")).unwrap();
    assert!(
        reply.contains("artikel 18") || reply.contains("article 18"),
        "{reply}"
    );
    assert!(reply.contains("Applicatielink"));
    assert!(reply.contains("artikel 19") || reply.contains("article 19"));

    let lift = hub.lift(&id, "dispute settled").unwrap();
    // Art. 18(3): the person is told before the lift, in the restriction's folder.
    let notice = std::fs::read_to_string(dir.join("reply-lift-notice.eml")).unwrap();
    assert!(
        notice.contains("To: sanne@bakkerfotografie.example"),
        "{notice}"
    );
    assert!(notice.contains("18(3)") || notice.contains("18 lid 3"));
    assert!(notice.contains("dispute settled"));
    let tasks: Vec<String> = env
        .env
        .ledger
        .tasks(&lift)
        .unwrap()
        .into_iter()
        .map(|t| t.processor)
        .collect();
    assert!(tasks.contains(&"applicatielink".to_string()));
    let lifted = approve_and_run(&env, &lift).await;
    assert!(!lifted.status.is_closed());
    let told = letter(&env, &lift, "applicatielink");
    assert!(told.contains("opgeheven") && told.contains("sanne@bakkerfotografie.example"));
    let asked = env.env.ledger.items(&lift, Some("applicatielink")).unwrap();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].action, Action::Change);
    assert_eq!(
        env.env.ledger.item_changes(asked[0].id).unwrap(),
        [dsrhub_connector::FieldChange::new(
            "restricted",
            true,
            false
        )],
        "the lift asks the processor to undo its mark"
    );
    // Moneybird's contact waits for a person (no unarchive API); record it, then the answer.
    let evidence = env.env.dir.path().join("restored.txt");
    std::fs::write(&evidence, "Contact teruggezet uit het archief.").unwrap();
    for m in hub.manual_actions(&lift).unwrap() {
        let record = format!("{}:{}", m.reference.object, m.reference.id);
        hub.confirm_record(
            &lift,
            &m.processor,
            &record,
            dsrhub::orchestrator::ManualOutcome::Changed,
            &evidence,
            None,
            "Petra de Vries",
        )
        .unwrap();
    }
    let status = answered(&env, &lift, "Markering verwijderd.");
    assert!(status.is_closed(), "{status}");
    assert!(env.env.ledger.restricted(&id).unwrap().is_empty());
    assert!(
        env.env.ledger.subject(&id).is_err(),
        "lifted: the restriction's subject is purged"
    );
}

/// Issue 19.4: a portable access export (art. 20) holds only what the person provided under
/// consent or contract: the contacts' own details and what they wrote in tickets, not the
/// issued invoices (a legal duty), staff notes or the organisation's own fields.
#[tokio::test]
async fn a_portable_export_holds_only_what_the_person_provided() {
    let env = start().await;
    let hub = &env.env.hub;
    let id = hub
        .open(
            RequestKind::Access,
            &email("sanne@bakkerfotografie.example"),
            "passport seen at the desk",
        )
        .unwrap();
    env.env.ledger.set_portable(&id).unwrap();
    let out = env.env.dir.path().join("export");
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
    let zip = out.join("access-export.zip");
    let manifest: serde_json::Value =
        serde_json::from_str(&common::read_zip_entry(&zip, "manifest.json")).unwrap();
    assert_eq!(manifest["portable"], true);
    let moneybird: serde_json::Value =
        serde_json::from_str(&common::read_zip_entry(&zip, "moneybird.json")).unwrap();
    let objects: Vec<&str> = moneybird
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["object"].as_str().unwrap())
        .collect();
    assert!(objects.contains(&"contact"), "{objects:?}");
    assert!(
        !objects.contains(&"sales_invoice"),
        "invoices are not portable"
    );
    let contact = moneybird
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["object"] == "contact")
        .unwrap();
    assert!(contact["data"].get("firstname").is_some());
    for left_out in ["notes", "custom_fields", "id", "archived"] {
        assert!(contact["data"].get(left_out).is_none(), "{left_out}");
    }
    let autotask: serde_json::Value =
        serde_json::from_str(&common::read_zip_entry(&zip, "autotask.json")).unwrap();
    assert!(!autotask.as_array().unwrap().is_empty());
    for record in autotask.as_array().unwrap() {
        let data = record["data"].as_object().unwrap();
        assert!(!data.contains_key("note") && !data.contains_key("userDefinedFields"));
        if record["object"] == "ticket" {
            assert!(
                data.keys()
                    .all(|k| ["title", "description", "createDate"].contains(&k.as_str())),
                "{data:?}"
            );
        }
    }
    // The invoices are listed, with why they are not in the export.
    let invoices: Vec<_> = env
        .env
        .ledger
        .items(&id, Some("moneybird"))
        .unwrap()
        .into_iter()
        .filter(|i| i.reference.object == "sales_invoice")
        .collect();
    assert!(!invoices.is_empty());
    assert!(invoices
        .iter()
        .all(|i| i.outcome.as_deref() == Some("not portable")
            && i.note.as_deref().unwrap_or("").contains("fiscal")));
}

/// A lift opened while its restriction is still open (one processor without an API has not
/// answered yet) keeps the person's address until the lift has told the other processor by
/// letter: the restriction closing in between does not purge it.
#[tokio::test]
async fn a_restriction_closing_while_its_lift_is_open_keeps_the_address_for_the_lifts_letters() {
    let env = start_with(BTreeMap::from([
        (
            "applicatielink".to_string(),
            common::manual_section("Applicatielink", "privacy@applicatielink.example", "nl"),
        ),
        (
            "ekco".to_string(),
            common::manual_section("Ekco", "privacy@ekco.example", "en"),
        ),
    ]))
    .await;
    let hub = &env.env.hub;
    let id = restrict(&env, &email("sanne@bakkerfotografie.example"));
    approve_and_run(&env, &id).await;
    answered(&env, &id, "Gemarkeerd.");
    let lift = hub.lift(&id, "dispute settled").unwrap();
    // Ekco answers the restriction only now: it held nothing. The restriction closes.
    let evidence = env.env.dir.path().join("ekco.txt");
    std::fs::write(&evidence, "No data found.").unwrap();
    let status = hub
        .confirm(&id, "ekco", Answer::NotFound, Some(&evidence), None)
        .unwrap();
    assert!(status.is_closed(), "{status}");
    assert!(env.env.ledger.restricted(&id).unwrap().is_empty());
    assert_eq!(
        env.env.ledger.subject(&id).unwrap().emails,
        ["sanne@bakkerfotografie.example"],
        "kept while the lift is open"
    );
    approve_and_run(&env, &lift).await;
    let told = letter(&env, &lift, "applicatielink");
    assert!(told.contains("sanne@bakkerfotografie.example"), "{told}");
}
