//! Issue 16.3: the report says who verified the identity, who approved which plan, when each
//! action ran and how it ended, the extensions with their reasons, and where the request sits
//! in the audit chain; and every line of it is in the audit log.

mod common;

use common::{sanne, Env};
use dsrhub::ledger::RequestKind;
use dsrhub::orchestrator::RunOptions;
use dsrhub::report;

#[tokio::test]
async fn the_reports_accountability_section_matches_the_audit_log() {
    let env = Env::start().await;
    let hub = env.hub().with_operator("j.smit");
    let id = hub
        .open(
            RequestKind::Erasure,
            &sanne(),
            "passport NL-X123 seen at the desk",
        )
        .unwrap();
    hub.run(&id, &RunOptions::default()).await.unwrap();
    hub.extend(
        &id,
        1,
        "the processor's archive needs a second search",
        "a.devries",
    )
    .unwrap();
    hub.carry_out(
        &id,
        &RunOptions {
            execute: true,
            ..RunOptions::default()
        },
        "p.jansen",
    )
    .await
    .unwrap();

    let r = report::build(&env.ledger, &id, "org").unwrap();
    let a = &r.accountability;
    let log = env.ledger.audit_entries(Some(&id)).unwrap();
    let at = |event: &str| -> Vec<String> {
        log.iter()
            .filter(|e| e.event == event)
            .map(|e| e.at.clone())
            .collect()
    };

    // Identity: who and when, the note only as its hash.
    assert_eq!(a.identity.len(), 1, "{:?}", a.identity);
    assert_eq!(a.identity[0].by, "j.smit");
    assert_eq!(vec![a.identity[0].at.clone()], at("request.received"));
    assert_eq!(
        a.identity[0].note_sha256,
        hex_sha256("passport NL-X123 seen at the desk")
    );
    // The approval: who, when, the digest approved (as the ledger's approvals hold it).
    assert_eq!(a.approvals.len(), 1);
    assert_eq!(a.approvals[0].approver, "p.jansen");
    assert_eq!(a.approvals[0].digest, r.approvals[0].digest);
    assert_eq!(vec![a.approvals[0].at.clone()], at("plan.approved"));
    // Each action: one line per deletion or anonymisation the audit log recorded, with its
    // time and outcome; and they are the report's deleted and anonymised records.
    let acted: Vec<(String, String)> = log
        .iter()
        .filter(|e| {
            e.event == "item.done"
                && matches!(e.detail["action"].as_str(), Some("delete" | "anonymize"))
        })
        .map(|e| {
            (
                e.at.clone(),
                e.detail["record"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(acted.len() >= 2, "{acted:?}");
    let lines: Vec<(String, String)> = a
        .actions
        .iter()
        .map(|x| (x.at.clone(), x.record.clone()))
        .collect();
    assert_eq!(lines, acted);
    let changed = r.processors[0]
        .records
        .iter()
        .filter(|x| matches!(x.outcome.as_str(), "deleted" | "anonymized"))
        .count();
    assert_eq!(a.actions.len(), changed);
    // The extension: who, until when, why (as told to the requester), and the reason's hash.
    assert_eq!(a.extensions.len(), 1);
    assert_eq!(a.extensions[0].given_by, "a.devries");
    assert_eq!(
        a.extensions[0].reason.as_deref(),
        Some("the processor's archive needs a second search")
    );
    assert_eq!(vec![a.extensions[0].at.clone()], at("request.extended"));
    // The anchor: this request's entries, and the chain's head when the report was built.
    assert_eq!(a.audit.entries, log.len());
    assert_eq!(a.audit.first_seq, Some(log[0].seq));
    assert_eq!(a.audit.chain_head, env.ledger.audit_head().unwrap());
    assert!(a.audit.chain_intact);

    // The HTML shows it, and no note in clear.
    let html = report::html::render(&r).unwrap();
    assert!(html.contains("Accountability"));
    assert!(html.contains(&a.audit.chain_head.as_ref().unwrap().hash));
    assert!(html.contains("p.jansen") && html.contains("j.smit"));
    assert!(!html.contains("NL-X123"));
}

fn hex_sha256(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Issue 16.4: the HTML of a dry run shows each record's planned action (not "planned" on
/// every row), the verification row is called "Erasure verified", and dates are written out
/// in the hub's time zone; the JSON keeps RFC 3339.
#[tokio::test]
async fn the_html_shows_planned_actions_and_readable_dates() {
    let env = Env::start().await;
    let hub = env.hub();
    let id = hub
        .open(RequestKind::Erasure, &sanne(), "passport")
        .unwrap();
    hub.run(&id, &RunOptions::default()).await.unwrap();
    let r = report::build(&env.ledger, &id, "org")
        .unwrap()
        .with_timezone("Europe/Amsterdam");
    let html = report::html::render(&r).unwrap();
    for planned in ["delete", "anonymise", "retain until 31 December"] {
        assert!(html.contains(planned), "{planned} missing");
    }
    // The request's own status says "planned"; no record's row says only that.
    assert_eq!(
        html.matches(r#"<span class="status planned">planned</span>"#)
            .count(),
        1,
        "a record's row says only 'planned'"
    );
    assert!(html.contains("Erasure verified"));
    // Received today, shown as "6 December 2026", not as a UTC timestamp.
    let received: jiff::Timestamp = r.request.received_at.parse().unwrap();
    let local = received.in_tz("Europe/Amsterdam").unwrap().date();
    let written = dsrhub_connector::text::long_date(local, "en");
    assert!(html.contains(&written), "{written} missing");
    assert!(
        !html.contains(&r.request.received_at),
        "a raw timestamp in the HTML"
    );
    // The JSON contract is unchanged: RFC 3339, and "planned" as the outcome.
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["request"]["received_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert!(json["processors"][0]["records"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["outcome"] == "planned"));
}
