//! The hub with Microsoft 365, end to end against the Graph fake: contacts deleted, mail kept
//! or deleted by the policy, with the basis and date in the report.

mod common;

use std::collections::BTreeMap;

use common::{http_table, hub_for, read_zip_entry, HubEnv};
use dsrhub::ledger::RequestKind;
use dsrhub::orchestrator::RunOptions;
use dsrhub::report;
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Subject;
use dsrhub_microsoft_graph::fake::{FakeGraph, FakeOptions};

struct Env {
    fake: FakeGraph,
    env: HubEnv,
}

async fn start(delete_mail: bool) -> Env {
    start_with(FakeOptions::default(), delete_mail).await
}

async fn start_with(options: FakeOptions, delete_mail: bool) -> Env {
    start_searching(options, delete_mail, |_| true).await
}

/// Like [`start_with`], searching only the fake's mailboxes `keep` keeps.
async fn start_searching(
    options: FakeOptions,
    delete_mail: bool,
    keep: impl Fn(&str) -> bool,
) -> Env {
    let fake = FakeGraph::start_with(options).await.unwrap();
    let secrets = Secrets::in_memory();
    secrets
        .store(&"keyring:graph".parse().unwrap(), &fake.client_secret())
        .unwrap();
    let mut section = toml::Table::new();
    section.insert("tenant_id".into(), fake.tenant_id().into());
    section.insert("client_id".into(), fake.client_id().into());
    section.insert("client_secret".into(), "keyring:graph".into());
    section.insert(
        "mailboxes".into(),
        toml::Value::Array(
            fake.mailboxes()
                .into_iter()
                .filter(|m| keep(m))
                .map(Into::into)
                .collect(),
        ),
    );
    section.insert("delete_mail".into(), delete_mail.into());
    section.insert("graph_url".into(), fake.graph_url().to_string().into());
    section.insert("login_url".into(), fake.login_url().to_string().into());
    section.insert("http".into(), http_table().into());
    let env = hub_for(
        BTreeMap::from([("microsoft-graph".to_string(), section)]),
        &secrets,
    );
    Env { fake, env }
}

fn jan() -> Subject {
    Subject {
        emails: vec!["jan.jansen@example.nl".into()],
        ..Subject::default()
    }
}

type Row = (String, String, Option<String>, Option<String>);

async fn erase(env: &Env) -> Vec<Row> {
    let hub = &env.env.hub;
    let id = hub.open(RequestKind::Erasure, &jan(), "passport").unwrap();
    hub.carry_out(
        &id,
        &RunOptions {
            execute: true,
            ..RunOptions::default()
        },
        "test operator",
    )
    .await
    .unwrap();
    let r = report::build(&env.env.ledger, &id, "org").unwrap();
    let mut rows: Vec<Row> = r.processors[0]
        .records
        .iter()
        .map(|x| {
            (
                x.object.clone(),
                x.outcome.clone(),
                x.retain_until.clone(),
                x.basis.clone(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn by_default_mail_is_kept_and_old_mail_is_left_for_review() {
    let env = start(false).await;
    let rows = erase(&env).await;
    let basis = Some(dsrhub::policy::CORRESPONDENCE_BASIS.to_string());
    // Mail past its retention that the hub is not configured to delete is an exact match a
    // person must act on (issue 13.3): an open obligation, not "review".
    assert_eq!(
        rows,
        vec![
            ("contact".into(), "deleted".into(), None, None),
            ("contact".into(), "deleted".into(), None, None),
            ("message".into(), "manual action needed".into(), None, None),
            // Issue 14.3: the 2024 thread where he is one CC among others is shared.
            ("message".into(), "manual action needed".into(), None, None),
            (
                "message".into(),
                "retained".into(),
                Some("2027-09-15".into()),
                basis.clone()
            ),
            (
                "message".into(),
                "retained".into(),
                Some("2027-10-01".into()),
                basis
            ),
        ]
    );
    // Nothing of the mail was deleted.
    let state = env.fake.state();
    assert_eq!(state.messages.values().map(|m| m.len()).sum::<usize>(), 11);
}

#[tokio::test]
async fn with_delete_mail_old_mail_is_deleted_and_recent_mail_kept() {
    let env = start(true).await;
    let rows = erase(&env).await;
    let outcomes: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        outcomes,
        vec![
            ("contact", "deleted"),
            ("contact", "deleted"),
            ("message", "deleted"),
            // Issue 14.3: past retention too, but shared with two other people: the thread
            // is not deleted whole for him; a person decides.
            ("message", "manual action needed"),
            ("message", "retained"),
            ("message", "retained"),
        ]
    );
    let state = env.fake.state();
    assert_eq!(state.messages.values().map(|m| m.len()).sum::<usize>(), 10);
    assert!(
        state.messages.values().any(|box_| box_
            .values()
            .any(|m| m["subject"] == "Planning migratie partnerportaal")),
        "the shared thread was deleted"
    );
}

/// Thousands of matching messages are exported in chunks through `$batch` (20 per call) and
/// all reach the ZIP. (Peak memory with 100,000 is measured by `dsrhub bench export`; see
/// docs/BENCHMARKS.md.)
#[tokio::test]
async fn thousands_of_messages_are_exported_in_batches() {
    const N: usize = 3000;
    let env = start_with(
        FakeOptions {
            generated: Some((
                "anna.dewit@voorbeeld-it.example".into(),
                "bulk.sender@example.nl".into(),
                N,
                512,
            )),
            ..FakeOptions::default()
        },
        false,
    )
    .await;
    let hub = &env.env.hub;
    let subject = Subject {
        emails: vec!["bulk.sender@example.nl".into()],
        ..Subject::default()
    };
    let id = hub.open(RequestKind::Access, &subject, "passport").unwrap();
    let out = env.env.dir.path().join("export");
    let before = env.fake.batches();
    hub.run(
        &id,
        &RunOptions {
            export_dir: Some(out.clone()),
            ..RunOptions::default()
        },
    )
    .await
    .unwrap();
    let batches = env.fake.batches() - before;
    // One discovery batch (10 mailboxes x contacts and messages) plus N / 20 export batches.
    assert_eq!(batches as usize, 1 + N / 20);
    let manifest: serde_json::Value = serde_json::from_str(&read_zip_entry(
        &out.join("access-export.zip"),
        "manifest.json",
    ))
    .unwrap();
    let graph = manifest["processors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["processor"] == "microsoft-graph")
        .unwrap();
    assert_eq!(graph["records"], N);
}

#[tokio::test]
async fn reports_describe_messages_without_their_content() {
    let env = start(false).await;
    let hub = &env.env.hub;
    let id = hub.open(RequestKind::Access, &jan(), "passport").unwrap();
    hub.run(
        &id,
        &RunOptions {
            export_dir: Some(env.env.dir.path().join("export")),
            ..RunOptions::default()
        },
    )
    .await
    .unwrap();
    let r = report::build(&env.env.ledger, &id, "org").unwrap();
    let json = serde_json::to_value(&r).unwrap();
    let messages: Vec<&serde_json::Value> = json["processors"][0]["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["object"] == "message")
        .collect();
    assert_eq!(messages.len(), 4);
    for m in messages {
        let d = &m["descriptor"];
        assert!(d["folder"].is_string() && d["date"].is_string(), "{m}");
        assert!(d["subject_sha256"].is_string() && d["size_bytes"].is_string());
    }
    let text = json.to_string();
    assert!(
        !text.contains("Offerte werkplekbeheer"),
        "a subject line leaked"
    );
}

/// Issue 14.2: the account of a former employee whose mailbox the hub searches is not deleted
/// (nor purged): the mailbox may hold mail a plan retains, hers or another subject's. The plan
/// says why, and the request stays open until a person records what was done.
#[tokio::test]
async fn a_searched_mailbox_is_never_destroyed_by_deleting_its_account() {
    let env = start(false).await;
    let hub = &env.env.hub;
    let femke = Subject {
        emails: vec!["femke.deboer@voorbeeld-it.example".into()],
        ..Subject::default()
    };
    let users_before = env.fake.state().users.len();
    let id = hub.open(RequestKind::Erasure, &femke, "passport").unwrap();
    hub.carry_out(
        &id,
        &RunOptions {
            execute: true,
            ..RunOptions::default()
        },
        "test operator",
    )
    .await
    .unwrap();
    let state = env.fake.state();
    assert_eq!(state.users.len(), users_before, "an account was deleted");
    assert!(state.deleted_users.is_empty(), "an account was purged");
    let r = report::build(&env.env.ledger, &id, "org").unwrap();
    let user = r.processors[0]
        .records
        .iter()
        .find(|x| x.object == "user")
        .unwrap();
    assert_ne!(user.outcome, "deleted");
    assert!(
        user.note
            .as_deref()
            .unwrap_or("")
            .contains("inactive mailbox"),
        "{user:?}"
    );
}

/// Issue 14.6: a former employee's account is reported "soft-deleted until" the day Microsoft
/// purges it, and checked again after that day: still restorable is a warning kept in the
/// audit log, purged is evidence in the report.
#[tokio::test]
async fn a_soft_deleted_account_is_checked_again_after_its_purge_date() {
    let env = start_searching(FakeOptions::default(), false, |m| {
        m != "femke.deboer@voorbeeld-it.example"
    })
    .await;
    let hub = &env.env.hub;
    let femke = Subject {
        emails: vec!["f.deboer@voorbeeld-it.example".into()],
        ..Subject::default()
    };
    let id = hub.open(RequestKind::Erasure, &femke, "passport").unwrap();
    hub.carry_out(
        &id,
        &RunOptions {
            execute: true,
            ..RunOptions::default()
        },
        "test operator",
    )
    .await
    .unwrap();
    let r = report::build(&env.env.ledger, &id, "org").unwrap();
    let user = r.processors[0]
        .records
        .iter()
        .find(|x| x.object == "user")
        .unwrap();
    assert_eq!(user.outcome, "deleted");
    assert_eq!(r.soft_deletions.len(), 1);
    let until = r.soft_deletions[0].restorable_until;
    assert!(r.soft_deletions[0].purged_at.is_none());

    // Within the period nothing is asked.
    let quiet = hub.check_purges(until).await.unwrap();
    assert_eq!(quiet, dsrhub::orchestrator::PurgeChecks::default());
    // After it, still in deletedItems: a warning, asked again next time.
    let after = until.tomorrow().unwrap();
    let still = hub.check_purges(after).await.unwrap();
    assert_eq!(still.still_restorable, 1);
    assert_eq!(env.env.ledger.soft_deletions_due(after).unwrap().len(), 1);
    // Microsoft purged it: confirmed, and not asked again.
    env.fake.purge_deleted_users();
    let purged = hub.check_purges(after).await.unwrap();
    assert_eq!(purged.purged, 1);
    assert!(env.env.ledger.soft_deletions_due(after).unwrap().is_empty());
    let r = report::build(&env.env.ledger, &id, "org").unwrap();
    assert!(r.soft_deletions[0].purged_at.is_some());
}

/// A message as Graph lists it, in folder `folder`.
fn mail(
    id: &str,
    from: &str,
    to: &[&str],
    cc: &[&str],
    received: &str,
    folder: &str,
) -> serde_json::Value {
    let party = |a: &&str| serde_json::json!({"emailAddress": {"name": a, "address": a}});
    serde_json::json!({
        "id": id,
        "subject": "Sollicitatie servicedesk-medewerker",
        "receivedDateTime": received,
        "sentDateTime": received,
        "from": party(&from),
        "toRecipients": to.iter().map(party).collect::<Vec<_>>(),
        "ccRecipients": cc.iter().map(party).collect::<Vec<_>>(),
        "bccRecipients": [],
        "parentFolderId": folder,
        "hasAttachments": true,
        "body": {"contentType": "text", "content": "Bijgaand mijn cv en motivatiebrief."},
        "attachments": [{"name": "cv.pdf", "size": 81234, "contentType": "application/pdf"}],
    })
}

/// Issue 18.2, `applicants` in a mail folder: a jobs mailbox keeps rejected applications in
/// "Afgewezen sollicitanten". Four weeks after an applicant's last message there, their
/// messages there are deleted — though mail is otherwise kept a year as correspondence — and
/// nothing else of the mailbox: not their earlier mail in the inbox, not an applicant whose
/// procedure ended last week; a message with a recruiter on CC is shared, so a person decides.
#[tokio::test]
async fn rejected_applicants_mail_in_a_folder_goes_weeks_after_the_procedure() {
    let mailbox = "anna.dewit@voorbeeld-it.example";
    let mut options = FakeOptions::default();
    let user = options.seed.user_id(mailbox).unwrap();
    options.seed.mail_folders.insert(
        user.clone(),
        vec![
            serde_json::json!({"id": "AAMkF-afgewezen", "displayName": "Afgewezen sollicitanten"}),
        ],
    );
    let folder = "AAMkF-afgewezen";
    let messages = options.seed.messages.entry(user.clone()).or_default();
    for m in [
        mail(
            "AAMkA-1",
            "lotte.vos@example.com",
            &[mailbox],
            &[],
            "2026-09-01T09:00:00Z",
            folder,
        ),
        mail(
            "AAMkA-2",
            mailbox,
            &["lotte.vos@example.com"],
            &[],
            "2026-10-01T09:00:00Z",
            folder,
        ),
        mail(
            "AAMkA-3",
            "ruben.kok@example.org",
            &[mailbox],
            &[],
            "2026-11-20T09:00:00Z",
            folder,
        ),
        mail(
            "AAMkA-4",
            "mila.dejong@example.nl",
            &[mailbox],
            &["recruiter@bureau.example"],
            "2026-08-01T09:00:00Z",
            folder,
        ),
        mail(
            "AAMkA-5",
            "lotte.vos@example.com",
            &[mailbox],
            &[],
            "2026-05-01T09:00:00Z",
            "inbox",
        ),
    ] {
        messages.insert(m["id"].as_str().unwrap().to_string(), m);
    }
    let env = start_with(options, true).await;
    let hub = &env.env.hub;
    let place = format!("microsoft-graph:{mailbox}/afgewezen sollicitanten");
    let found = hub
        .sweep_applicants(std::slice::from_ref(&place))
        .await
        .unwrap();
    assert!(found.unread.is_empty(), "{:?}", found.unread);
    let selected: BTreeMap<String, Vec<String>> = found
        .selected
        .iter()
        .map(|a| {
            let mut ids: Vec<String> = a.records.iter().map(|r| r.id.clone()).collect();
            ids.sort();
            (a.subject.emails[0].clone(), ids)
        })
        .collect();
    assert_eq!(
        selected,
        BTreeMap::from([
            (
                "lotte.vos@example.com".to_string(),
                vec!["AAMkA-1".to_string(), "AAMkA-2".to_string()]
            ),
            (
                "mila.dejong@example.nl".to_string(),
                vec!["AAMkA-4".to_string()]
            ),
        ])
    );
    let batch = hub
        .open_sweep(&dsrhub::orchestrator::sweep::Sweep {
            applicants: Some(found),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    let out = env.env.dir.path().join("reports");
    hub.run_batch(&batch, &RunOptions::default(), &out)
        .await
        .unwrap();
    let plan = env.env.ledger.batch_plan(&batch).unwrap();
    assert_eq!(plan.changes, 2, "Lotte's two messages; Mila's is shared");
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
    assert_eq!(done.len(), 2);
    let state = env.fake.state();
    assert!(state.message(&user, "AAMkA-1").is_none());
    assert!(state.message(&user, "AAMkA-2").is_none());
    assert!(state.message(&user, "AAMkA-3").is_some(), "ended last week");
    assert!(
        state.message(&user, "AAMkA-4").is_some(),
        "shared: a person decides"
    );
    assert!(
        state.message(&user, "AAMkA-5").is_some(),
        "not in the folder"
    );
    assert_eq!(state.recoverable(&user), 0, "deleted, not moved");
}
