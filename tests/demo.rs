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
