//! The demo, run in-process: what it shows a first-time user about whose data is erased.

use dsrhub::report::Report;

/// The record lines of a report whose note contains `needle`, as (processor, action, outcome).
fn with_note<'a>(report: &'a Report, needle: &str) -> Vec<(&'a str, &'a str, &'a str)> {
    report
        .processors
        .iter()
        .flat_map(|p| {
            p.records
                .iter()
                .filter(|r| r.note.as_deref().unwrap_or("").contains(needle))
                .map(move |r| (p.id.as_str(), r.action.as_str(), r.outcome.as_str()))
        })
        .collect()
}

/// Issue 14: the demo shows a shared record (another person's contact reached through the
/// subject's address) and an organisation record (a company contact reached through its role
/// address) handled, not deleted, each with the reason in its report.
#[tokio::test]
async fn the_demo_shows_shared_and_organisation_records_kept_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dsrhub::demo::run(dir.path(), true).await.unwrap();
    let shared = with_note(&demo.erasure, "shared with other people");
    assert!(!shared.is_empty(), "no shared record in the demo's erasure");
    assert!(
        shared.iter().all(|(_, action, _)| *action != "delete"),
        "{shared:?}"
    );
    let organisation = with_note(&demo.role_address, "organisation data");
    assert!(
        !organisation.is_empty(),
        "no organisation record in the demo's role-address request"
    );
    assert!(
        organisation
            .iter()
            .all(|(_, action, outcome)| *action == "review" && *outcome != "deleted"),
        "{organisation:?}"
    );
    // Both reports are on disk, the role address's in its request's folder.
    assert!(dir.path().join("erasure-report.json").exists());
    assert!(dir
        .path()
        .join(&demo.role_address.request.id)
        .join("erasure-report.json")
        .exists());
}

/// Issue 15.1, end to end: every request the connectors send and every answer the fakes give
/// in the demo's four requests (access, erasure, a forwarded erasure, a role address) through
/// the hub conforms to the vendors' published descriptions, apart from the listed deviations
/// (`testkit::deviations`); for IT Glue and Exact Online, which publish none, the facts of
/// `../shared/vendors.md` on content types are checked.
#[tokio::test]
async fn every_exchange_of_the_demo_conforms_to_the_vendors_descriptions() {
    use dsrhub_connector::testkit::conformance::with_batch_parts;
    use dsrhub_connector::testkit::{deviations, graph_slice, vendor_spec};
    let dir = tempfile::tempdir().unwrap();
    let demo = dsrhub::demo::run_captured(dir.path(), false).await.unwrap();
    let exchanges = |processor: &str| {
        let all = &demo.exchanges[processor];
        assert!(all.len() > 5, "{processor}: {} exchanges", all.len());
        all.clone()
    };
    let mut problems = Vec::new();
    let mut checked = 0;
    if let Some(spec) = vendor_spec("moneybird-openapi.json") {
        let all = exchanges("moneybird");
        checked += all.len();
        problems.extend(deviations::moneybird(spec).problems(&all));
    }
    if let Some(spec) = vendor_spec("autotask-rest-v1.json") {
        let all = exchanges("autotask");
        checked += all.len();
        problems.extend(deviations::autotask(spec).problems(&all));
    }
    if let Some(spec) = graph_slice() {
        // The token endpoint is the identity platform's, not Graph's.
        let graph: Vec<_> =
            with_batch_parts(&exchanges("microsoft-graph"), "/v1.0/$batch", "/v1.0")
                .into_iter()
                .filter(|e| e.path.starts_with("/v1.0/"))
                .collect();
        checked += graph.len();
        problems.extend(deviations::microsoft_graph(spec).problems(&graph));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in {checked} exchanges:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // vendors.md, newest section: "IT Glue … Responses are application/vnd.api+json".
    for e in exchanges("itglue") {
        let kind = e.response_type.as_deref().unwrap_or("");
        assert!(
            e.status == 204 || kind.starts_with("application/vnd.api+json"),
            "IT Glue {} {} answered {kind:?}",
            e.method,
            e.path
        );
    }
    // vendors.md, newest section: "Exact Online: send Accept: application/json on every call
    // (the default answer is Atom XML)". The token endpoint takes a form and answers JSON.
    for e in exchanges("exact-online")
        .iter()
        .filter(|e| e.path.starts_with("/api/v1/"))
    {
        assert_eq!(
            e.accept.as_deref(),
            Some("application/json"),
            "Exact {} {}",
            e.method,
            e.path
        );
        // OData's `$count` is a plain number whatever is asked.
        let expected = if e.path.ends_with("/$count") {
            "text/plain"
        } else {
            "application/json"
        };
        let kind = e.response_type.as_deref().unwrap_or("");
        assert!(
            e.status == 204 || kind.starts_with(expected),
            "Exact {} {} answered {kind:?}",
            e.method,
            e.path
        );
    }
}

/// Issue 16.6: the demo's letters to the customer and to the requester are Dutch throughout
/// (dates written out, no English words), and the customer's name, which ends in "B.V.", gets
/// no second period.
#[tokio::test]
async fn the_demos_dutch_letters_read_as_dutch() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dsrhub::demo::run(dir.path(), true).await.unwrap();
    let folder = dir.path().join(&demo.forwarded.request.id);
    for name in ["controller-forward.eml", "requester-reply.eml"] {
        let text = std::fs::read_to_string(folder.join(name)).unwrap();
        assert!(!text.contains("B.V.."), "{name}: {text}");
        assert!(!text.contains("record(s)"), "{name}: {text}");
        let iso = regex_like_iso_date(&text);
        assert!(
            iso.is_none(),
            "{name}: an ISO date {iso:?} in a Dutch letter"
        );
        assert!(
            dsrhub_connector::text::MONTHS_NL
                .iter()
                .any(|m| text.contains(m)),
            "{name}: no written-out date: {text}"
        );
    }
}

/// The first `YYYY-MM-DD` in `text` outside its mail headers, if any.
fn regex_like_iso_date(text: &str) -> Option<String> {
    let body = text.split("\r\n\r\n").nth(1).unwrap_or(text);
    let chars: Vec<char> = body.chars().collect();
    chars.windows(10).find_map(|w| {
        let s: String = w.iter().collect();
        let b = s.as_bytes();
        (b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && b[5..7].iter().all(u8::is_ascii_digit)
            && b[7] == b'-'
            && b[8..].iter().all(u8::is_ascii_digit))
        .then_some(s)
    })
}

/// Issue 16.1: the demo writes the replies to the subject: the access answer in Dutch, the
/// answer to the customer's staff member's erasure in English, each as e-mail and HTML.
#[tokio::test]
async fn the_demo_writes_the_replies_in_dutch_and_english() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dsrhub::demo::run(dir.path(), true).await.unwrap();
    let access = dir.path().join(&demo.access.request.id);
    let erasure = dir.path().join(&demo.forwarded.request.id);
    let nl = std::fs::read_to_string(access.join("reply-access.eml")).unwrap();
    assert!(nl.contains("Content-Language: nl") && nl.contains("Uw verzoek om inzage"));
    let en = std::fs::read_to_string(erasure.join("reply-erasure.eml")).unwrap();
    assert!(en.contains("Content-Language: en") && en.contains("What we erased"));
    assert!(en.contains("forwarded to Noorderlicht Zorg B.V."), "{en}");
    for html in [
        access.join("reply-access.html"),
        erasure.join("reply-erasure.html"),
    ] {
        assert!(std::fs::read_to_string(html)
            .unwrap()
            .starts_with("<!DOCTYPE html>"));
    }
}

/// Issue 16.2: the export is readable: an index and one page per processor in the ZIP, with
/// field labels, dates written out, no API plumbing; mail naming other people is on the review
/// list before release.
#[tokio::test]
async fn the_demos_export_is_readable_and_flags_mail_naming_others() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let demo = dsrhub::demo::run(dir.path(), true).await.unwrap();
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(dir.path().join("access-export.zip")).unwrap())
            .unwrap();
    let mut read = |name: &str| {
        let mut text = String::new();
        zip.by_name(name)
            .unwrap_or_else(|_| panic!("{name} missing"))
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let index = read("index.html");
    for p in &demo.access.processors {
        let exported = p.records.iter().any(|r| r.outcome == "found");
        if !exported {
            continue;
        }
        assert!(
            index.contains(&format!("href=\"{}.html\"", p.id)),
            "{}",
            p.id
        );
        let page = read(&format!("{}.html", p.id));
        for plumbing in ["__metadata", "@odata", "__deferred", "/Date("] {
            assert!(!page.contains(plumbing), "{}: {plumbing} on the page", p.id);
        }
        assert!(page.contains("<th>"), "{}: no field labels", p.id);
    }
    let exact = read("exact-online.html");
    assert!(
        dsrhub_connector::text::MONTHS_EN
            .iter()
            .any(|m| exact.contains(m)),
        "Exact's dates are not written out"
    );
    // Mail with other recipients is flagged, in the report and on the export's review list.
    let flagged: Vec<_> = demo
        .access
        .processors
        .iter()
        .flat_map(|p| p.records.iter())
        .filter(|r| {
            r.note
                .as_deref()
                .unwrap_or("")
                .contains("names other people")
        })
        .collect();
    assert!(!flagged.is_empty(), "no record flagged");
    assert!(index.contains("Reviewed before release"));
}

/// Issue 19's done-when: the demo runs a rectification and a restriction end to end against
/// the fakes. Each change is "changed" only once proposing it again found nothing left to do
/// (the fake read back); the restriction's report shows what is restricted since when; the
/// letters and the reply are on disk.
#[tokio::test]
async fn the_demo_rectifies_and_restricts_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dsrhub::demo::run(dir.path(), true).await.unwrap();
    let changed = |report: &Report, processor: &str, object: &str| -> Vec<Vec<String>> {
        report
            .processors
            .iter()
            .filter(|p| p.id == processor)
            .flat_map(|p| &p.records)
            .filter(|r| r.object == object && r.outcome == "changed")
            .map(|r| r.changed_fields.clone())
            .collect()
    };
    assert_eq!(
        changed(&demo.rectification, "autotask", "contact"),
        [vec!["phone".to_string(), "title".to_string()]]
    );
    assert_eq!(demo.rectification.request.status, "completed");
    assert!(demo.rectification.verification.remaining.is_empty());
    assert_eq!(
        changed(&demo.restriction, "moneybird", "contact"),
        [vec!["archived".to_string()]]
    );
    assert_eq!(
        changed(&demo.restriction, "exact-online", "account"),
        [vec!["Blocked".to_string()]]
    );
    assert!(demo
        .restriction
        .restricted
        .iter()
        .any(|r| r.processor == "moneybird" && !r.since.is_empty()));
    let folder = |report: &Report| dir.path().join(&report.request.id);
    assert!(folder(&demo.rectification)
        .join("rectification-report.json")
        .exists());
    let letter =
        std::fs::read_to_string(folder(&demo.rectification).join("applicatielink-request.eml"))
            .unwrap();
    assert!(letter.contains("rectificatie") || letter.contains("rectification"));
    assert!(folder(&demo.rectification)
        .join("reply-rectification.eml")
        .exists());
    assert!(folder(&demo.restriction)
        .join("restriction-report.html")
        .exists());
}
