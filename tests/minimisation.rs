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
