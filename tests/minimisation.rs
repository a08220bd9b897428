//! Issue 16.5: the hub keeps nothing it need not. Measured from outside, as a person with the
//! ledger file and the reports folder would: what is left on disk after requests ran and
//! closed.

mod common;

use std::io::Read;
use std::path::Path;

use common::{manual_section, sanne, Env};
use dsrhub::ledger::{RequestKind, RequestStatus};
use dsrhub::orchestrator::{Answer, RunOptions};

/// An access request with Moneybird (API) and Applicatielink (by letter): the request stays
/// open, waiting for the letter's answer.
async fn open_access() -> (Env, dsrhub::orchestrator::Hub, String, std::path::PathBuf) {
    let mut env = Env::start().await;
    env.config.processors.insert(
        "applicatielink".into(),
        manual_section("Applicatielink", "privacy@processor.example", "nl"),
    );
    let hub = env.hub();
    let id = hub
        .open(RequestKind::Access, &sanne(), "passport NL-X123")
        .unwrap();
    let out = env.dir.path().join("reports").join(&id);
    let run = hub
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
    (env, hub, id, out)
}

fn zip_entry(zip: &Path, name: &str) -> Option<String> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut entry = archive.by_name(name).ok()?;
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    Some(text)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The staging copies of the export (plaintext, one per processor) are gone as soon as the ZIP
/// is written, also while the request waits for a processor without an API; and the ZIP keeps
/// what earlier runs and answers put in it when it is written again.
#[tokio::test]
async fn the_exports_staging_copies_are_removed_when_the_zip_is_written() {
    let (env, hub, id, out) = open_access().await;
    let zip = out.join("access-export.zip");
    let moneybird = zip_entry(&zip, "moneybird.json").expect("Moneybird's export");
    assert!(moneybird.contains("sanne.bakker@example.nl"));
    let left: Vec<_> = files_under(&out)
        .into_iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == ".staging"))
        .collect();
    assert!(left.is_empty(), "staging copies left: {left:?}");

    // The letter's answer arrives with an export; the request completes.
    let export = env.dir.path().join("applicatielink-export.csv");
    std::fs::write(
        &export,
        "name,email\nSanne Bakker,sanne.bakker@example.nl\n",
    )
    .unwrap();
    hub.confirm(&id, "applicatielink", Answer::Exported, Some(&export), None)
        .unwrap();
    assert_eq!(
        env.ledger.request(&id).unwrap().status,
        RequestStatus::Completed
    );
    assert_eq!(
        zip_entry(&zip, "moneybird.json").as_deref(),
        Some(moneybird.as_str()),
        "an earlier processor's export was lost"
    );
    assert!(zip_entry(&zip, "applicatielink/applicatielink-export.csv").is_some());
    assert!(!out.join(".staging").exists());
}

/// Reports, letters and exports name the subject: each is written readable by its owner only
/// (0600), in folders only the owner can enter (0700).
#[cfg(unix)]
#[tokio::test]
async fn reports_letters_and_exports_are_private_to_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (env, _hub, id, out) = open_access().await;
    let report = dsrhub::report::build(&env.ledger, &id, "Test B.V.").unwrap();
    dsrhub::report::write(&report, &out).unwrap();
    let files = files_under(&out);
    let names: Vec<_> = files
        .iter()
        .filter_map(|p| p.file_name()?.to_str())
        .collect();
    for expected in [
        "access-export.zip",
        "access-report.json",
        "access-report.html",
        "applicatielink-request.eml",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    for file in &files {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", file.display());
    }
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{} is {mode:o}", out.display());
}

/// Issue 16.5: the export goes `export_retention_days` after the request closed; the request is
/// reduced to its evidence `correspondence_retention_months` after it closed (its folder of
/// reports and letters removed, its free texts gone from the ledger), and the audit log keeps
/// every step and still verifies. A second round changes nothing.
#[tokio::test]
async fn exports_and_closed_requests_are_removed_when_the_policy_says() {
    let (env, hub, id, out) = open_access().await;
    hub.extend(&id, 1, "Sanne asked to add her old address", "a.devries")
        .unwrap();
    hub.confirm(&id, "applicatielink", Answer::NotFound, None, None)
        .unwrap();
    let closed = env.ledger.request(&id).unwrap().closed_at.expect("closed");
    let report = dsrhub::report::build(&env.ledger, &id, "Test B.V.").unwrap();
    dsrhub::report::write(&report, &out).unwrap();
    let zip = out.join("access-export.zip");
    assert!(zip.exists());
    let days = |n: i64| closed + jiff::SignedDuration::from_hours(24 * n);

    // Within the 30 days: nothing goes.
    let none = hub.purge_own_data(days(29), false).unwrap();
    assert!(none.exports_removed.is_empty() && none.requests_reduced.is_empty());
    assert!(zip.exists());
    // A dry run after them says what would go, and removes nothing.
    let dry = hub.purge_own_data(days(31), true).unwrap();
    assert_eq!(dry.exports_removed, vec![id.clone()]);
    assert!(zip.exists());
    // After them: the export goes, the report stays.
    let done = hub.purge_own_data(days(31), false).unwrap();
    assert_eq!(done.exports_removed, vec![id.clone()]);
    assert!(!zip.exists());
    assert!(out.join("access-report.json").exists());

    // Twelve months on: the request is reduced to its evidence.
    let ledger_has = |sql: &str| -> i64 {
        let conn = rusqlite::Connection::open(env.dir.path().join("ledger.db")).unwrap();
        conn.query_row(sql, [&id], |r| r.get(0)).unwrap()
    };
    assert!(
        ledger_has(
            "SELECT COUNT(*) FROM extensions WHERE request_id = ?1 AND reason LIKE '%Sanne%'"
        ) > 0
    );
    let done = hub.purge_own_data(days(370), false).unwrap();
    assert_eq!(done.requests_reduced, vec![id.clone()]);
    assert!(!out.exists(), "the request's folder is still there");
    assert_eq!(
        ledger_has(
            "SELECT COUNT(*) FROM items WHERE request_id = ?1
             AND (note IS NOT NULL OR detail IS NOT NULL OR descriptor != '{}')"
        ),
        0
    );
    assert_eq!(
        ledger_has(
            "SELECT COUNT(*) FROM extensions WHERE request_id = ?1 AND reason LIKE '%Sanne%'"
        ),
        0
    );
    assert_eq!(
        ledger_has("SELECT COUNT(*) FROM requests WHERE id = ?1 AND extension_reason IS NOT NULL"),
        0
    );
    // The evidence stays: the records' ids and outcomes, and the audit log.
    assert!(
        ledger_has("SELECT COUNT(*) FROM items WHERE request_id = ?1 AND outcome IS NOT NULL") > 0
    );
    let events: Vec<String> = env
        .ledger
        .audit_entries(Some(&id))
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(events.contains(&"export.removed".to_string()), "{events:?}");
    assert!(
        events.contains(&"request.reduced".to_string()),
        "{events:?}"
    );
    env.ledger.verify_audit().unwrap();
    let again = hub.purge_own_data(days(400), false).unwrap();
    assert!(again.exports_removed.is_empty() && again.requests_reduced.is_empty());
}

/// Issue 16.2: a record that may not be shown is left out of the export before release: its
/// JSON line, CSV rows and page section go, the manifest and index count it as withheld, the
/// ledger says `withheld` and the audit log has the reason's hash.
#[tokio::test]
async fn a_record_is_withheld_from_the_export_before_release() {
    use std::io::Read;
    let env = common::Env::start().await;
    let hub = env.hub();
    let id = hub.open(RequestKind::Access, &sanne(), "passport").unwrap();
    let out = env.dir.path().join("reports").join(&id);
    hub.run(
        &id,
        &RunOptions {
            export_dir: Some(out.clone()),
            ..RunOptions::default()
        },
    )
    .await
    .unwrap();
    let zip_path = out.join("access-export.zip");
    let item = env
        .ledger
        .items(&id, Some("moneybird"))
        .unwrap()
        .into_iter()
        .find(|i| i.outcome.as_deref() == Some("found"))
        .unwrap();
    let spec = format!("{}:{}", item.reference.object, item.reference.id);
    let entry = |name: &str| zip_entry(&zip_path, name).unwrap_or_default();
    assert!(entry("moneybird.json").contains(&format!("\"id\":\"{}\"", item.reference.id)));
    hub.withhold(
        &id,
        "moneybird",
        &spec,
        "names a colleague's private situation",
        &zip_path,
    )
    .unwrap();
    assert!(!entry("moneybird.json").contains(&format!("\"id\":\"{}\"", item.reference.id)));
    let json: serde_json::Value = serde_json::from_str(&entry("moneybird.json")).unwrap();
    assert!(json.is_array(), "the JSON file is still a JSON array");
    assert!(!entry("moneybird.csv").contains(&format!(",{},", item.reference.id)));
    assert!(!entry("moneybird.html").contains(&item.reference.id));
    let manifest: serde_json::Value = serde_json::from_str(&entry("manifest.json")).unwrap();
    assert_eq!(manifest["processors"][0]["withheld"], 1);
    assert!(entry("index.html").contains("moneybird.html"));
    let row = env
        .ledger
        .items(&id, Some("moneybird"))
        .unwrap()
        .into_iter()
        .find(|i| i.id == item.id)
        .unwrap();
    assert_eq!(row.outcome.as_deref(), Some("withheld"));
    assert!(env
        .ledger
        .audit_entries(Some(&id))
        .unwrap()
        .iter()
        .any(|e| e.event == "export.withheld" && e.detail["reason_sha256"].is_string()));
    // Once is enough.
    assert!(hub
        .withhold(&id, "moneybird", &spec, "again", &zip_path)
        .is_err());
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut text = String::new();
    archive
        .by_name("moneybird.json")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
}
