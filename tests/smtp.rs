//! Letters to processors without an API, delivered by SMTP to a real SMTP exchange on
//! loopback (`common::smtp`, a small server that speaks the protocol over TCP and keeps what it
//! got).

mod common;

use std::collections::BTreeMap;

use common::{hub_for, manual_section};
use dsrhub::ledger::{RequestKind, RequestStatus, TaskState};
use dsrhub::mail::{Mailer, Security, SmtpConfig};
use dsrhub::orchestrator::RunOptions;
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Subject;

/// A hub with Ekco as a processor without an API, sending through an SMTP server on `port`,
/// and an access request for Sanne Bakker run on it.
async fn run_with_smtp(port: u16, timeout_seconds: u64) -> (common::HubEnv, String, RequestStatus) {
    let env = hub_for(
        BTreeMap::from([(
            "ekco".to_string(),
            manual_section("Ekco Nederland", "dpo@ekco.example", "nl"),
        )]),
        &Secrets::in_memory(),
    );
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: Security::None,
        username: None,
        password: None,
        timeout_seconds,
    };
    let mailer = Mailer::new(&smtp, "privacy@voorbeeld-it.example", &Secrets::in_memory()).unwrap();
    let common::HubEnv {
        hub,
        ledger,
        dir,
        config,
    } = env;
    let hub = hub.with_mailer(mailer);
    let subject = Subject {
        emails: vec!["sanne.bakker@example.nl".into()],
        ..Subject::default()
    };
    let id = hub.open(RequestKind::Access, &subject, "passport").unwrap();
    let out = dir.path().join("reports").join(&id);
    let status = hub
        .run(
            &id,
            &RunOptions {
                export_dir: Some(out),
                ..RunOptions::default()
            },
        )
        .await
        .unwrap()
        .status;
    (
        common::HubEnv {
            hub,
            ledger,
            dir,
            config,
        },
        id,
        status,
    )
}

#[tokio::test]
async fn letters_go_out_by_smtp() {
    let (port, inbox) = common::smtp::server().await;
    let (env, id, status) = run_with_smtp(port, 5).await;
    assert_eq!(status, RequestStatus::AwaitingProcessors);
    let inbox = inbox.lock().unwrap().clone();
    assert_eq!(inbox.len(), 1, "one letter, one message");
    let (recipients, message) = &inbox[0];
    assert_eq!(recipients, &vec!["<dpo@ekco.example>".to_string()]);
    assert!(message.contains(&id), "the request id is in the message");
    assert!(message.contains("sanne.bakker@example.nl"));
    let task = &env.ledger.tasks(&id).unwrap()[0];
    assert_eq!(task.state, TaskState::ManualPending);
    assert!(task.summary.contains("sent by e-mail"), "{}", task.summary);
}

#[tokio::test]
async fn an_unreachable_mail_server_fails_the_task_for_a_later_retry() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (env, id, status) = run_with_smtp(port, 2).await;
    assert_eq!(status, RequestStatus::Failed);
    let task = &env.ledger.tasks(&id).unwrap()[0];
    assert_eq!(task.error_kind.as_deref(), Some("retryable"));
    assert!(
        !task.error.as_deref().unwrap_or("").contains("sanne"),
        "no identifier in the error"
    );
}

#[test]
fn an_unencrypted_relay_must_be_local() {
    let smtp = SmtpConfig {
        host: "mail.example.com".into(),
        port: None,
        security: Security::None,
        username: None,
        password: None,
        timeout_seconds: 5,
    };
    let err = Mailer::new(&smtp, "privacy@voorbeeld-it.example", &Secrets::in_memory())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("hub.smtp.security"), "{err}");
}

/// Issue 13.7: an e-mail cannot be taken back, so its intent is written before it is sent. A
/// run that finds the intent of a letter never recorded as sent (the earlier run stopped while
/// sending) does not send it twice, and says so.
#[tokio::test]
async fn a_letter_whose_sending_was_interrupted_is_not_sent_twice() {
    let (port, inbox) = common::smtp::server().await;
    let env = hub_for(
        BTreeMap::from([(
            "ekco".to_string(),
            manual_section("Ekco Nederland", "dpo@ekco.example", "nl"),
        )]),
        &Secrets::in_memory(),
    );
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: Security::None,
        username: None,
        password: None,
        timeout_seconds: 5,
    };
    let mailer = Mailer::new(&smtp, "privacy@voorbeeld-it.example", &Secrets::in_memory()).unwrap();
    let common::HubEnv {
        hub, ledger, dir, ..
    } = env;
    let hub = hub.with_mailer(mailer);
    let subject = Subject {
        emails: vec!["sanne.bakker@example.nl".into()],
        ..Subject::default()
    };
    let id = hub.open(RequestKind::Access, &subject, "passport").unwrap();
    // What a run that died inside `send` leaves behind.
    ledger
        .record_letter_intent(&id, "ekco-request", "0123")
        .unwrap();
    let status = hub
        .run(
            &id,
            &RunOptions {
                export_dir: Some(dir.path().join("reports").join(&id)),
                ..RunOptions::default()
            },
        )
        .await
        .unwrap()
        .status;
    assert_eq!(status, RequestStatus::AwaitingProcessors);
    assert!(inbox.lock().unwrap().is_empty(), "sent twice");
    let task = &ledger.tasks(&id).unwrap()[0];
    assert!(task.summary.contains("not sent twice"), "{}", task.summary);
}
