//! Issue 16.1: the replies to the data subject. The access reply carries every item of GDPR
//! art. 15(1)(a)–(h) and 15(2); the erasure reply each kept record's statute and until-date and
//! the processors informed (art. 19); the extension letter its reason and new date; and a
//! reply goes out through `[hub.smtp]` only when a person sends it.

mod common;

use common::{sanne, Env};
use dsrhub::ledger::RequestKind;
use dsrhub::orchestrator::RunOptions;
use dsrhub::replies::ReplyKind;

fn eml(env: &Env, id: &str, kind: ReplyKind) -> String {
    std::fs::read_to_string(
        env.dir
            .path()
            .join("reports")
            .join(id)
            .join(format!("{}.eml", kind.stem())),
    )
    .unwrap_or_else(|e| panic!("{} of {id}: {e}", kind.stem()))
}

async fn closed_access(env: &mut Env, language: &str) -> String {
    env.config.privacy.purposes.nl = vec!["het testdoel van deze organisatie".into()];
    env.config.privacy.purposes.en = vec!["this organisation's test purpose".into()];
    let hub = env.hub();
    let id = hub.open(RequestKind::Access, &sanne(), "passport").unwrap();
    env.ledger.set_language(&id, language).unwrap();
    hub.run(
        &id,
        &RunOptions {
            export_dir: Some(env.dir.path().join("reports").join(&id)),
            ..RunOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(env.ledger.request(&id).unwrap().status.is_closed());
    id
}

#[tokio::test]
async fn the_access_reply_carries_every_item_of_article_15() {
    for (language, items) in [
        (
            "nl",
            [
                // (a) purposes, from [privacy], and the legal bases
                "het testdoel van deze organisatie",
                "art. 6 lid 1 sub b AVG",
                // (b) the categories found
                "e-mailadres",
                // (c) the recipients: the processor register
                "Moneybird",
                // (d) retention per category
                "7 jaar na afloop van het boekjaar",
                // (e) the rights of rectification, erasure, restriction, objection, portability
                "rectificatie, artikel 16",
                "wissen (artikel 17",
                "beperken (artikel 18",
                "bezwaar maken",
                "overdraagbaarheid, artikel 20",
                // (f) the right to complain, with the authority's address
                "Autoriteit Persoonsgegevens, Postbus 93374, 2509 AJ Den Haag",
                // (g) the source
                "Wij ontvangen uw gegevens van uzelf",
                // (h) automated decision-making
                "geautomatiseerde verwerking",
                // 15(2) transfers outside the EEA
                "Europese Economische Ruimte",
            ],
        ),
        (
            "en",
            [
                "this organisation's test purpose",
                "GDPR art. 6(1)(b)",
                "e-mail address",
                "Moneybird",
                "7 years after the end of the financial year",
                "rectification, GDPR article 16",
                "erase your data (GDPR article 17",
                "restrict the processing (GDPR article 18",
                "object to the processing",
                "portability, GDPR article 20",
                "Autoriteit Persoonsgegevens, Postbus 93374, 2509 AJ Den Haag",
                "We receive your data from you",
                "automated processing",
                "European Economic Area",
            ],
        ),
    ] {
        let mut env = Env::start().await;
        let id = closed_access(&mut env, language).await;
        let text = eml(&env, &id, ReplyKind::Access);
        for item in items {
            assert!(text.contains(item), "{language}: {item:?} missing");
        }
        // One message, both a text and an HTML part, to the subject, in her language.
        assert!(text.contains("To: sanne.bakker@example.nl"), "{text}");
        assert!(text.contains(&format!("Content-Language: {language}")));
        assert!(
            text.contains("Content-Type: text/plain") && text.contains("Content-Type: text/html")
        );
        // Nothing of the identity check, and no ISO dates for the person.
        assert!(!text.contains("passport"));
        // The identifiers were purged at closure after the reply was written.
        assert!(env.ledger.subject(&id).is_err());
    }
}

#[tokio::test]
async fn the_erasure_reply_names_each_kept_record_with_its_statute_and_date() {
    let env = Env::start().await;
    let hub = env.hub();
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    env.ledger.set_language(&id, "en").unwrap();
    hub.carry_out(
        &id,
        &RunOptions {
            execute: true,
            ..RunOptions::default()
        },
        "a.devries",
    )
    .await
    .unwrap();
    let report = dsrhub::report::build(&env.ledger, &id, "org").unwrap();
    let text = eml(&env, &id, ReplyKind::Erasure);
    let retained: Vec<_> = report.processors[0]
        .records
        .iter()
        .filter(|r| r.outcome == "retained")
        .collect();
    assert!(!retained.is_empty());
    for r in retained {
        let until: jiff::civil::Date = r.retain_until.as_deref().unwrap().parse().unwrap();
        let written = dsrhub_connector::text::long_date(until, "en");
        let row = text
            .lines()
            .find(|l| l.contains(&r.id) && !l.contains('<'))
            .unwrap_or_else(|| panic!("no line for kept record {}", r.id));
        assert!(row.contains(r.basis.as_deref().unwrap()), "{row}");
        assert!(row.contains(&written), "{row} lacks {written}");
    }
    assert!(
        text.contains("1 erased") && text.contains("1 anonymised"),
        "{text}"
    );
    // Art. 19: every processor was informed.
    assert!(text.contains("We passed your request on to all our processors"));
}

#[tokio::test]
async fn an_extension_is_told_to_the_subject_with_its_reason_and_date() {
    let env = Env::start().await;
    let hub = env.hub();
    let id = hub.open(RequestKind::Access, &sanne(), "passport").unwrap();
    let until = hub
        .extend(
            &id,
            1,
            "het archief van een verwerker moet worden doorzocht",
            "a.devries",
        )
        .unwrap();
    let text = eml(&env, &id, ReplyKind::Extension);
    assert!(text.contains("het archief van een verwerker moet worden doorzocht"));
    let day = until.in_tz("Europe/Amsterdam").unwrap().date();
    assert!(
        text.contains(&dsrhub_connector::text::long_date(day, "nl")),
        "{text}"
    );
    assert!(text.contains("artikel 12 lid 3 AVG"));
}

#[tokio::test]
async fn a_reply_is_sent_only_when_a_person_sends_it_and_once() {
    use dsrhub::mail::{Mailer, Security, SmtpConfig};
    let (port, inbox) = common::smtp::server().await;
    let mut env = Env::start().await;
    let id = closed_access(&mut env, "nl").await;
    assert!(
        inbox.lock().unwrap().is_empty(),
        "sent before anyone read it"
    );
    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: Security::None,
        username: None,
        password: None,
        timeout_seconds: 5,
    };
    let hub = env.hub().with_mailer(
        Mailer::new(
            &smtp,
            "privacy@voorbeeld-it.example",
            &dsrhub_connector::secrets::Secrets::in_memory(),
        )
        .unwrap(),
    );
    let drafts = hub.replies(&id).unwrap();
    assert_eq!(drafts.len(), 1);
    assert!(drafts[0].sent_at.is_none());
    let sent = hub.send_replies(&id, "p.jansen").await.unwrap();
    assert_eq!(sent, vec!["reply-access".to_string()]);
    {
        let inbox = inbox.lock().unwrap();
        assert_eq!(inbox.len(), 1);
        assert!(inbox[0].0[0].contains("sanne.bakker@example.nl"));
        assert!(inbox[0].1.contains("multipart/alternative"));
    }
    let drafts = hub.replies(&id).unwrap();
    assert_eq!(drafts[0].approved_by.as_deref(), Some("p.jansen"));
    assert!(hub.send_replies(&id, "p.jansen").await.unwrap().is_empty());
    assert_eq!(inbox.lock().unwrap().len(), 1, "sent twice");
}
