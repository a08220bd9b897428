//! Processors without an API, end to end: letters, waiting, `confirm`.

mod common;

use std::collections::BTreeMap;

use common::{hub_for, manual_section, HubEnv};
use dsrhub::ledger::{RequestKind, RequestStatus, TaskState};
use dsrhub::orchestrator::{Answer, RunOptions};
use dsrhub::report;
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Subject;

fn env() -> HubEnv {
    let processors = BTreeMap::from([
        (
            "applicatielink".to_string(),
            manual_section("Applicatielink", "privacy@processor.example", "nl"),
        ),
        (
            "ekco".to_string(),
            manual_section("Ekco Nederland", "privacy@processor.example", "en"),
        ),
    ]);
    hub_for(processors, &Secrets::in_memory())
}

fn subject() -> Subject {
    Subject {
        emails: vec!["sanne.bakker@example.nl".into()],
        phones: vec!["06-12345678".into()],
        ..Subject::default()
    }
}

fn letter(env: &HubEnv, id: &str, processor: &str) -> Option<String> {
    std::fs::read_to_string(
        env.dir
            .path()
            .join("reports")
            .join(id)
            .join(format!("{processor}-request.eml")),
    )
    .ok()
}

#[tokio::test]
async fn an_erasure_letter_waits_for_approval_and_the_answer_completes_the_request() {
    let env = env();
    let id = env
        .hub
        .open(RequestKind::Erasure, &subject(), "passport")
        .unwrap();
    // Dry run: no letter asks for erasure yet.
    let planned = env.hub.run(&id, &RunOptions::default()).await.unwrap();
    assert_eq!(planned.status, RequestStatus::Planned);
    assert!(letter(&env, &id, "applicatielink").is_none());

    let run = env
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
    assert_eq!(run.status, RequestStatus::AwaitingProcessors);
    let nl = letter(&env, &id, "applicatielink").expect("the Dutch letter");
    assert!(nl.contains(&id) && nl.contains("sanne.bakker@example.nl") && nl.contains("wissen"));
    assert!(!nl.contains("06-12345678"), "only the minimum identifiers");
    let en = letter(&env, &id, "ekco").expect("the English letter");
    assert!(en.contains("Please erase"));
    let tasks = env.ledger.tasks(&id).unwrap();
    assert!(tasks
        .iter()
        .all(|t| t.state == TaskState::ManualPending && t.answer_due.is_some()));
    // A resumed run sends no second letter.
    let before = std::fs::metadata(
        env.dir
            .path()
            .join("reports")
            .join(&id)
            .join("ekco-request.eml"),
    )
    .unwrap()
    .modified()
    .unwrap();
    env.hub
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
    let after = std::fs::metadata(
        env.dir
            .path()
            .join("reports")
            .join(&id)
            .join("ekco-request.eml"),
    )
    .unwrap()
    .modified()
    .unwrap();
    assert_eq!(before, after);

    let evidence = env.dir.path().join("answer.txt");
    std::fs::write(&evidence, "We deleted the data on 2026-11-30.").unwrap();
    let status = env
        .hub
        .confirm(
            &id,
            "applicatielink",
            Answer::Deleted,
            Some(&evidence),
            None,
        )
        .unwrap();
    assert_eq!(status, RequestStatus::AwaitingProcessors);
    let status = env
        .hub
        .confirm(
            &id,
            "ekco",
            Answer::Retained,
            None,
            Some("contract records until 2027"),
        )
        .unwrap();
    assert_eq!(status, RequestStatus::Completed);
    let r = report::build(&env.ledger, &id, "org").unwrap();
    let applicatielink = r
        .processors
        .iter()
        .find(|p| p.id == "applicatielink")
        .unwrap();
    assert_eq!(applicatielink.status, "done");
    assert!(
        applicatielink.summary.contains("deleted; evidence sha256"),
        "{}",
        applicatielink.summary
    );
    assert_eq!(
        r.processors.iter().find(|p| p.id == "ekco").unwrap().status,
        "retained"
    );
    assert!(
        env.ledger.subject(&id).is_err(),
        "identifiers are purged once the request is complete"
    );
    env.ledger.verify_audit().unwrap();
}

#[tokio::test]
async fn an_export_sent_by_a_processor_goes_into_the_access_zip() {
    let env = env();
    let id = env
        .hub
        .open(RequestKind::Access, &subject(), "passport")
        .unwrap();
    let out = env.dir.path().join("reports").join(&id);
    let run = env
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
    assert_eq!(run.status, RequestStatus::AwaitingProcessors);
    let export = env.dir.path().join("applicatielink-export.csv");
    std::fs::write(
        &export,
        "name,email\nSanne Bakker,sanne.bakker@example.nl\n",
    )
    .unwrap();
    env.hub
        .confirm(&id, "applicatielink", Answer::Exported, Some(&export), None)
        .unwrap();
    env.hub
        .confirm(&id, "ekco", Answer::NotFound, None, None)
        .unwrap();
    let zip = std::fs::File::open(out.join("access-export.zip")).unwrap();
    let mut archive = zip::ZipArchive::new(zip).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut archive
            .by_name("applicatielink/applicatielink-export.csv")
            .unwrap(),
        &mut text,
    )
    .unwrap();
    assert!(text.contains("sanne.bakker@example.nl"));
    assert!(
        archive.by_name("manifest.json").is_ok(),
        "the original entries stay"
    );
    assert_eq!(
        env.ledger.request(&id).unwrap().status,
        RequestStatus::Completed
    );
}

#[tokio::test]
async fn bad_confirmations_are_refused_and_change_nothing() {
    let env = env();
    let id = env
        .hub
        .open(RequestKind::Erasure, &subject(), "passport")
        .unwrap();
    env.hub
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
    let audit = env.ledger.verify_audit().unwrap();
    let missing = env.dir.path().join("no-such-file.pdf");
    let cases: Vec<(&str, Answer, Option<&std::path::Path>, &str)> = vec![
        (
            "applicatielnk",
            Answer::Deleted,
            None,
            "no processor `applicatielnk`",
        ),
        (
            "applicatielink",
            Answer::Exported,
            None,
            "--outcome: an erasure request takes",
        ),
        (
            "applicatielink",
            Answer::Deleted,
            Some(missing.as_path()),
            "--evidence",
        ),
    ];
    for (processor, answer, evidence, expected) in cases {
        let err = env
            .hub
            .confirm(&id, processor, answer, evidence, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{err}");
    }
    assert_eq!(
        env.ledger.verify_audit().unwrap(),
        audit,
        "nothing was recorded"
    );
    assert!(env
        .ledger
        .tasks(&id)
        .unwrap()
        .iter()
        .all(|t| t.state == TaskState::ManualPending));
    // Issue 13.10: an erasure answer needs evidence, or a reason why there is none.
    let err = env
        .hub
        .confirm(&id, "ekco", Answer::NotFound, None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--evidence") && err.contains("--no-evidence"),
        "{err}"
    );
    env.hub
        .confirm(
            &id,
            "ekco",
            Answer::NotFound,
            None,
            Some("no evidence: answered by phone"),
        )
        .unwrap();
    // A later answer amends the first one without losing it.
    let letter = env.dir.path().join("ekco-answer.txt");
    std::fs::write(&letter, "We erased the data on 3 December.").unwrap();
    env.hub
        .confirm(&id, "ekco", Answer::Deleted, Some(&letter), None)
        .unwrap();
    let ekco = env
        .ledger
        .tasks(&id)
        .unwrap()
        .into_iter()
        .find(|t| t.processor == "ekco")
        .unwrap();
    assert!(
        ekco.summary.contains("deleted")
            && ekco.summary.contains("amends the earlier answer")
            && ekco.summary.contains("not found"),
        "{}",
        ekco.summary
    );
}

/// Issue 13.4: a closed request never changes. An access request waiting for a letter's answer
/// is cancelled; recording the answer afterwards is refused, and it stays cancelled.
#[tokio::test]
async fn an_answer_to_a_cancelled_request_is_refused() {
    let env = env();
    let id = env
        .hub
        .open(RequestKind::Access, &subject(), "passport")
        .unwrap();
    let out = env.dir.path().join("reports").join(&id);
    env.hub
        .run(
            &id,
            &RunOptions {
                export_dir: Some(out),
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        env.ledger.request(&id).unwrap().status,
        RequestStatus::AwaitingProcessors
    );
    env.hub.cancel(&id, "withdrawn by the subject").unwrap();
    let err = env
        .hub
        .confirm(&id, "ekco", Answer::NotFound, None, Some("phoned"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("never changes"), "{err}");
    assert_eq!(
        env.ledger.request(&id).unwrap().status,
        RequestStatus::Cancelled
    );
}
