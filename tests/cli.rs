//! The `dsrhub` binary end to end: crash and resume, clear configuration errors, the demo.

mod common;

use std::path::Path;
use std::process::Output;

use common::{contact_id, moneybird_table};
use dsrhub_moneybird::fake::FakeMoneybird;

fn dsrhub(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsrhub"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("DSRHUB_FAILPOINT")
        .env_remove("DSRHUB_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("dsrhub runs")
}

async fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        dsrhub(&dir, &args, &env)
    })
    .await
    .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What the command printed, stdout then stderr.
fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// A config in `dir` pointing at `fake`, the token in a 0600 file.
fn write_config(dir: &Path, fake: &FakeMoneybird) {
    dsrhub_connector::secrets::write_private_file(&dir.join("moneybird.token"), fake.token())
        .unwrap();
    let mut root = toml::Table::new();
    root.insert(
        "hub".into(),
        toml::Value::Table(toml::toml! { ledger = "ledger.db"
        reports_dir = "reports" }),
    );
    let mut processors = toml::Table::new();
    processors.insert(
        "moneybird".into(),
        toml::Value::Table(moneybird_table(fake, "file:moneybird.token")),
    );
    root.insert("processors".into(), toml::Value::Table(processors));
    std::fs::write(dir.join("dsrhub.toml"), toml::to_string(&root).unwrap()).unwrap();
}

const ERASE_SANNE: &[&str] = &[
    "erase",
    "--email",
    "sanne.bakker@example.nl",
    "--email",
    "sanne@bakkerfotografie.example",
    "--identity-verified",
    "passport",
    "--yes",
];

fn only_request_id(dir: &Path) -> String {
    let o = dsrhub(dir, &["status", "--json"], &[]);
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status --json");
    assert_eq!(rows.as_array().unwrap().len(), 1);
    rows[0]["id"].as_str().unwrap().to_string()
}

/// A config for `fake` in `dir`, and Sanne's erasure planned there (a dry run); its id.
async fn plan_sanne_erasure(dir: &Path, fake: &FakeMoneybird) -> String {
    write_config(dir, fake);
    let planned: Vec<&str> = ERASE_SANNE
        .iter()
        .copied()
        .filter(|a| *a != "--yes")
        .collect();
    assert!(run(dir, &planned, &[]).await.status.success());
    only_request_id(dir)
}

async fn crash_and_resume(failpoint: &str) {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let private = contact_id(&fake, "sanne.bakker@example.nl");
    let business = contact_id(&fake, "sanne@bakkerfotografie.example");
    let adm = fake.administration_id().to_string();

    let id = plan_sanne_erasure(dir.path(), &fake).await;
    let crashed = run(
        dir.path(),
        &["erase", "--request", &id, "--yes"],
        &[("DSRHUB_FAILPOINT", failpoint)],
    )
    .await;
    assert!(
        !crashed.status.success(),
        "the failpoint must kill the run: {}",
        stderr(&crashed)
    );
    assert!(
        stderr(&crashed).contains("failpoint"),
        "{}",
        stderr(&crashed)
    );

    let resumed = run(dir.path(), &["erase", "--request", &id, "--yes"], &[]).await;
    assert!(
        resumed.status.success(),
        "{}\n{}",
        stdout(&resumed),
        stderr(&resumed)
    );
    assert!(
        stdout(&resumed).contains("completed"),
        "{}",
        stdout(&resumed)
    );

    // Every action happened exactly once across both runs.
    let delete = format!("/api/v2/{adm}/contacts/{private}.json");
    assert_eq!(
        fake.log().calls_to("DELETE", &delete),
        1,
        "the contact was deleted twice or never"
    );
    assert_eq!(
        fake.log()
            .calls_to("PATCH", &format!("/api/v2/{adm}/contacts/{business}.json")),
        1
    );
    assert_eq!(
        fake.log().calls_to(
            "PATCH",
            &format!("/api/v2/{adm}/contacts/{business}/archive.json")
        ),
        1
    );
    assert!(!fake.state().contacts.contains_key(&private));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_planning_resumes_without_double_actions() {
    crash_and_resume("after-plan").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_the_first_action_resumes_without_double_actions() {
    crash_and_resume("after-action:1").await;
}

/// Issue 13.7: killed after the processor acted but before the ledger recorded it. The
/// resumed run looks at the processor first and repeats nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_between_a_call_and_its_record_resumes_without_double_actions() {
    crash_and_resume("after-call:1").await;
    crash_and_resume("after-call:2").await;
}

/// Issue 13.6: several `dsrhub erase --request ID --yes` processes at once (an operator's
/// retry beside another's, or beside the server): every action once, the others refused
/// with who holds the request, or told it is done.
async fn processes_act_once(n: usize) {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let private = contact_id(&fake, "sanne.bakker@example.nl");
    let business = contact_id(&fake, "sanne@bakkerfotografie.example");
    let adm = fake.administration_id().to_string();
    let id = plan_sanne_erasure(dir.path(), &fake).await;
    let runs: Vec<_> = (0..n)
        .map(|_| {
            let (dir, id) = (dir.path().to_path_buf(), id.clone());
            tokio::spawn(async move { run(&dir, &["erase", "--request", &id, "--yes"], &[]).await })
        })
        .collect();
    let mut succeeded = 0;
    for r in runs {
        let o = r.await.unwrap();
        if o.status.success() {
            succeeded += 1;
        } else {
            assert!(stderr(&o).contains("is being run by"), "{}", stderr(&o));
        }
    }
    assert!(succeeded >= 1);
    let log = fake.log();
    assert_eq!(
        log.calls_to("DELETE", &format!("/api/v2/{adm}/contacts/{private}.json")),
        1
    );
    assert_eq!(
        log.calls_to("PATCH", &format!("/api/v2/{adm}/contacts/{business}.json")),
        1
    );
    let o = run(dir.path(), &["status", &id, "--json"], &[]).await;
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(status["request"]["status"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_erasure_act_once() {
    processes_act_once(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_processes_on_one_erasure_act_once() {
    processes_act_once(5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let before = serde_json::to_string(&fake.state()).unwrap();
    let args: Vec<&str> = ERASE_SANNE
        .iter()
        .copied()
        .filter(|a| *a != "--yes")
        .collect();
    let o = run(dir.path(), &args, &[]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Dry run: nothing was changed"), "{out}");
    assert!(out.contains("planned") && out.contains("retain"), "{out}");
    assert_eq!(serde_json::to_string(&fake.state()).unwrap(), before);
    // Nothing of the person in what the command printed on stderr (logs), even verbose.
    let o = run(
        dir.path(),
        &["-vv", "erase", "--request", &only_request_id(dir.path())],
        &[],
    )
    .await;
    assert!(!stderr(&o).contains("sanne"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_names_the_setting_and_the_reference() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let text = std::fs::read_to_string(dir.path().join("dsrhub.toml")).unwrap();
    std::fs::write(
        dir.path().join("dsrhub.toml"),
        text.replace("file:moneybird.token", "env:DSRHUB_TEST_NO_SUCH_VAR"),
    )
    .unwrap();
    let o = run(dir.path(), ERASE_SANNE, &[]).await;
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("processors.moneybird.token") && err.contains("env:DSRHUB_TEST_NO_SUCH_VAR"),
        "{err}"
    );
    assert_eq!(fake.log().requests_seen(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_errors_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[hub]\nledger = \n", "line 2"),
        ("[processors.autotaks]\n", "unknown processor `autotaks`"),
        (
            "[processors.moneybird]\nadministration_id = \"1\"\ntokn = \"env:X\"\n",
            "processors.moneybird: unknown field `tokn`",
        ),
        (
            "[processors.moneybird]\nadministration_id = \"1\"\ntoken = \"hunter2\"\n",
            "secret reference",
        ),
        (
            "[processors.moneybird]\nadministration_id = \"abc\"\ntoken = \"env:X\"\n",
            "processors.moneybird.administration_id",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(dir.path().join("dsrhub.toml"), text).unwrap();
        let o = run(dir.path(), &["check"], &[("X", "value")]).await;
        assert!(!o.status.success(), "{text}");
        // `check` lists a processor's problem with the others (stdout); a file that does not
        // parse stops it at once (stderr).
        let err = format!("{}{}", stdout(&o), stderr(&o));
        assert!(
            err.contains(expected),
            "for {text:?} expected {expected:?} in: {err}"
        );
        assert!(!err.contains("hunter2"), "a bare secret was echoed: {err}");
    }
    let o = run(dir.path(), &["-c", "missing.toml", "status"], &[]).await;
    assert!(
        stderr(&o).contains("missing.toml") && stderr(&o).contains("dsrhub init"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_writes_the_example_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["init"], &[]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::read_to_string(dir.path().join("dsrhub.toml")).unwrap();
    assert!(written.contains("[processors.moneybird]"));
    // Issue 17.1: on a headless Linux server the kernel keyring is emptied by a reboot, so
    // init writes file: references there.
    if cfg!(target_os = "linux") {
        assert!(
            written.contains("token = \"file:secrets/moneybird\""),
            "{written}"
        );
        assert!(!written
            .lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("\"keyring:")));
    }
    let o = run(dir.path(), &["init"], &[]).await;
    assert!(!o.status.success() && stderr(&o).contains("--force"));
    let o = run(dir.path(), &["connectors"], &[]).await;
    assert!(
        stdout(&o).contains("moneybird") && stdout(&o).contains("configured"),
        "{}",
        stdout(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_writes_five_files_with_moneybird_in_them() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["demo", "--out", "out"], &[]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    for f in [
        "access-report.json",
        "access-report.html",
        "access-export.zip",
        "erasure-report.json",
        "erasure-report.html",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let erasure: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("erasure-report.json")).unwrap()).unwrap();
    // Records a person must remove by hand keep it open; the two processors without an API
    // got their letters and (the demo plays them) answered.
    assert_eq!(erasure["request"]["status"], "awaiting_processors");
    for manual in ["applicatielink", "ekco"] {
        let p = erasure["processors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == manual)
            .expect(manual);
        assert_eq!(p["status"], "done");
        let id = erasure["request"]["id"].as_str().unwrap();
        assert!(out.join(id).join(format!("{manual}-request.eml")).exists());
    }
    for (processor, expect) in [
        ("autotask", &["anonymized", "retained"][..]),
        ("exact-online", &["deleted", "anonymized", "retained"][..]),
        ("moneybird", &["deleted", "anonymized", "retained"][..]),
    ] {
        let p = erasure["processors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == processor)
            .expect(processor);
        let outcomes: Vec<&str> = p["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["outcome"].as_str().unwrap())
            .collect();
        for expected in expect {
            assert!(outcomes.contains(expected), "{processor}: {outcomes:?}");
        }
    }
    // Issue 14: a record that is not the subject's own is handled, not deleted, with the
    // reason in the report (Autotask's contact matched only on a secondary address).
    let autotask = erasure["processors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "autotask")
        .unwrap();
    assert!(
        autotask["records"].as_array().unwrap().iter().any(|r| {
            r["outcome"] == "manual action needed"
                && r["note"]
                    .as_str()
                    .unwrap_or("")
                    .contains("matched only on a secondary address")
        }),
        "{autotask}"
    );
    let itglue = erasure["processors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "itglue")
        .expect("itglue");
    assert!(
        itglue["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "deleted"),
        "{itglue}"
    );
    let html = std::fs::read_to_string(out.join("access-report.html")).unwrap();
    assert!(html.contains("Moneybird") && html.contains("Autotask") && html.contains("IT Glue"));
    assert!(html.contains("Exact Online"));
    let html = std::fs::read_to_string(out.join("erasure-report.html")).unwrap();
    assert!(html.contains("Exact Online") && html.contains("art. 52(4) AWR"));
    assert!(html.contains("Microsoft 365") && html.contains("kept 12 months after closure"));
    let access = std::fs::read_to_string(out.join("access-report.html")).unwrap();
    assert!(access.contains("Microsoft 365"));
    let graph = erasure["processors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "microsoft-graph")
        .expect("microsoft-graph");
    let outcomes: Vec<&str> = graph["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    for expected in ["deleted", "retained"] {
        assert!(
            outcomes.contains(&expected),
            "microsoft-graph: {outcomes:?}"
        );
    }
    assert!(
        !stderr(&o).to_lowercase().contains("sanne"),
        "the person appears in logs: {}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extending_a_deadline_is_bounded_and_reported() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = plan_sanne_erasure(dir.path(), &fake).await;
    let o = run(
        dir.path(),
        &["extend", &id, "--months", "3", "--reason", "many requests"],
        &[],
    )
    .await;
    assert!(
        !o.status.success() && stderr(&o).contains("policy.extension_months"),
        "{}",
        stderr(&o)
    );
    let o = run(
        dir.path(),
        &[
            "extend",
            &id,
            "--months",
            "2",
            "--reason",
            "many requests this month",
        ],
        &[],
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(dir.path(), &["status", &id, "--json"], &[]).await;
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        report["request"]["extension_reason"],
        "many requests this month"
    );
    let due: jiff::Timestamp = report["request"]["due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let extended: jiff::Timestamp = report["request"]["extended_due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let days = (extended - due).as_hours() / 24;
    assert!((58..=62).contains(&days), "{days} days");
}

/// `dsrhub cancel`: a planned erasure is withdrawn with a reason, nothing in Moneybird changes,
/// and an executed one can no longer be cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_erasure_is_cancelled_from_the_command_line() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = plan_sanne_erasure(dir.path(), &fake).await;
    let before = serde_json::to_string(&fake.state()).unwrap();
    let o = run(dir.path(), &["cancel", &id, "--reason", " "], &[]).await;
    assert!(
        !o.status.success() && stderr(&o).contains("reason"),
        "{}",
        stderr(&o)
    );
    // Withdrawing needs no vendor secret: it works with the token file gone.
    std::fs::remove_file(dir.path().join("moneybird.token")).unwrap();
    let o = run(
        dir.path(),
        &["cancel", &id, "--reason", "withdrawn by the subject"],
        &[],
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    write_config(dir.path(), &fake);
    assert!(stdout(&o).contains("cancelled"), "{}", stdout(&o));
    let o = run(dir.path(), &["status", &id, "--json"], &[]).await;
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(status["request"]["status"], "cancelled");
    // Running it now changes nothing.
    let o = run(dir.path(), &["erase", "--request", &id, "--yes"], &[]).await;
    let after = serde_json::to_string(&fake.state()).unwrap();
    assert_eq!(after, before, "{}", stderr(&o));

    // An executed erasure cannot be withdrawn.
    let planned: Vec<&str> = ERASE_SANNE
        .iter()
        .copied()
        .filter(|a| *a != "--yes")
        .collect();
    assert!(run(dir.path(), &planned, &[]).await.status.success());
    let o = run(dir.path(), &["status", "--json"], &[]).await;
    let all: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let done = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] != id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = run(dir.path(), &["erase", "--request", &done, "--yes"], &[]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(dir.path(), &["cancel", &done, "--reason", "too late"], &[]).await;
    assert!(
        !o.status.success() && stderr(&o).contains("never changes"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_sync_then_csv_and_json_and_drift_exits_3() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let none = run(dir.path(), &["inventory"], &[]).await;
    assert!(!none.status.success());
    assert!(
        stderr(&none).contains("inventory sync"),
        "{}",
        stderr(&none)
    );
    let sync = run(dir.path(), &["inventory", "sync"], &[]).await;
    assert!(sync.status.success(), "{}", stderr(&sync));
    assert!(stdout(&sync).contains("first sync"));
    let csv = run(dir.path(), &["inventory", "--csv"], &[]).await;
    let out = stdout(&csv);
    assert!(out.starts_with("processor,name,"), "{out}");
    assert!(out.contains("moneybird,Moneybird,true,"), "{out}");
    let json = run(dir.path(), &["inventory", "--json"], &[]).await;
    let register: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(register["entries"][0]["processor"], "moneybird");
    // The privacy policy lists a processor that has no connector: drift, exit 3.
    let config = dir.path().join("dsrhub.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[register]\nprocessors = [\"moneybird\", \"exact-online\"]\n");
    std::fs::write(&config, text).unwrap();
    let drift = run(dir.path(), &["inventory", "sync"], &[]).await;
    assert_eq!(drift.status.code(), Some(3), "{}", stdout(&drift));
    assert!(stdout(&drift).contains("exact-online: new in the register"));
}

/// `dsrhub serve` on SIGTERM stops accepting, lets the run in flight finish, and exits 0; the
/// request is in the ledger, complete, with its export.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_finishes_the_run_in_flight_on_sigterm() {
    let fake = FakeMoneybird::start().await.unwrap();
    // Every vendor answer takes a while, so the run is still going when SIGTERM arrives.
    fake.faults()
        .set_slow(Some(std::time::Duration::from_millis(150)));
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let token = "sigterm-test-token-0123456789";
    dsrhub_connector::secrets::write_private_file(&dir.path().join("api.token"), token).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("dsrhub.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[serve]\nlisten = \"127.0.0.1:{port}\"\ntokens = [\"file:api.token\"]\n"
    ));
    std::fs::write(&config, text).unwrap();
    let mut server = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsrhub"))
        .current_dir(dir.path())
        .args(["serve"])
        .env_remove("DSRHUB_CONFIG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "serve did not start");
    let intake = serde_json::json!({
        "subject_request_id": "sigterm-1",
        "subject_request_type": "access",
        "submitted_time": "2026-11-25T09:00:00Z",
        "subject_identities": [{"identity_type": "email", "identity_value": "sanne.bakker@example.nl"}],
    });
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth(token)
        .json(&intake)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["request_id"].as_str().unwrap().to_string();
    let verified = client
        .post(format!("{base}/api/v1/requests/{id}/verify"))
        .bearer_auth(token)
        .json(&serde_json::json!({"how": "passport"}))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 202);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before: serde_json::Value = client
        .get(format!("{base}/api/v1/requests/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        before["request_status"], "in_progress",
        "the run was not in flight: {before}"
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = tokio::task::spawn_blocking(move || {
        let status = server.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut server.stderr.take().unwrap(), &mut err).unwrap();
        (status, err)
    })
    .await
    .unwrap();
    assert!(exit.0.success(), "{}", exit.1);
    assert!(exit.1.contains("waiting for runs in flight"), "{}", exit.1);
    // The run finished before the process left: the request is complete, its export written.
    let status = run(dir.path(), &["status", &id, "--json"], &[]).await;
    let status: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(status["request"]["status"], "completed", "{status}");
    assert!(dir
        .path()
        .join("reports")
        .join(&id)
        .join("access-export.zip")
        .exists());
}

/// Issue 13.11: re-runs and one-step runs say what they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_runs_say_what_they_are() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let before = serde_json::to_string(&fake.state()).unwrap();

    // One step with --yes and no terminal: the plan is shown and recorded, nothing changes.
    let o = run(dir.path(), ERASE_SANNE, &[]).await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("nobody has seen it yet"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--yes --plan"), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("delete"),
        "the plan is shown: {}",
        stdout(&o)
    );
    assert_eq!(serde_json::to_string(&fake.state()).unwrap(), before);
    let id = only_request_id(dir.path());

    // A second request for the same person is opened with a warning naming the first.
    let planned: Vec<&str> = ERASE_SANNE
        .iter()
        .copied()
        .filter(|a| *a != "--yes")
        .collect();
    let o = run(dir.path(), &planned, &[]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("request {id} (erasure, planned) is already open")),
        "{}",
        stderr(&o)
    );

    // A dry run whose discovery failed says the plan is incomplete and exits non-zero.
    fake.faults().fail_next(503, u32::MAX, None);
    let o = run(
        dir.path(),
        &[
            "erase",
            "--email",
            "jan.devries@example.nl",
            "--identity-verified",
            "passport",
        ],
        &[],
    )
    .await;
    fake.faults().clear();
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("The plan is incomplete"),
        "{}",
        stdout(&o)
    );

    // A stale digest is refused; the shown one is carried out.
    let o = run(
        dir.path(),
        &[
            "erase",
            "--request",
            &id,
            "--yes",
            "--plan",
            "0123456789abcdef",
        ],
        &[],
    )
    .await;
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not the one you name"),
        "{}",
        stderr(&o)
    );
    let o = run(
        dir.path(),
        &["erase", "--request", &id, "--yes", "--approver", "Petra"],
        &[],
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("as Petra"), "{}", stdout(&o));

    // --yes on the finished erasure says when it was carried out, and changes nothing.
    let requests = fake.log().requests_seen();
    let o = run(dir.path(), &["erase", "--request", &id, "--yes"], &[]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("it was carried out then; nothing done now"),
        "{}",
        stdout(&o)
    );
    assert_eq!(fake.log().requests_seen(), requests);

    // A cancelled request refuses to run.
    let other = {
        let o = run(dir.path(), &["status", "--json"], &[]).await;
        let all: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        all.as_array()
            .unwrap()
            .iter()
            .find(|r| r["status"] == "planned")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let o = run(
        dir.path(),
        &["cancel", &other, "--reason", "duplicate"],
        &[],
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(dir.path(), &["erase", "--request", &other, "--yes"], &[]).await;
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("was cancelled on") && stderr(&o).contains("nothing done"),
        "{}",
        stderr(&o)
    );
}

/// `dsrhub purges` lists soft deletions past their date; with none, it says so and exits 0,
/// with and without `--check`.
#[tokio::test]
async fn purges_reports_nothing_waiting_on_a_fresh_ledger() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    for args in [&["purges"][..], &["purges", "--check"][..]] {
        let o = run(dir.path(), args, &[]).await;
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("no soft deletion past its date"),
            "{}",
            stdout(&o)
        );
    }
    let o = run(dir.path(), &["--json", "purges", "--check"], &[]).await;
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["checked"]["purged"], 0);
    assert_eq!(out["not_confirmed_past_their_date"], serde_json::json!([]));
}

/// Issue 16.3: `dsrhub audit <id>` lists a request's entries, `--export` writes them as JSON
/// lines an auditor can recompute, and `--verify` checks the chain. An audit entry edited
/// behind the hub's back (the guard trigger dropped) makes `audit --verify` name it, and
/// `status` and every run refuse to act until then.
#[tokio::test]
async fn an_edited_audit_entry_is_found_and_the_hub_refuses_to_act() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let id = plan_sanne_erasure(dir.path(), &fake).await;

    let listed = dsrhub(dir.path(), &["audit", &id, "--json"], &[]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let entries: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let events: Vec<&str> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"request.received"), "{events:?}");
    assert!(events.contains(&"plan.saved"), "{events:?}");
    let head = entries["chain_head"]["hash"].as_str().unwrap().to_string();

    let export = dir.path().join("audit.jsonl");
    let o = dsrhub(
        dir.path(),
        &["audit", &id, "--export", export.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), events.len());
    assert!(lines.iter().all(|l| l["request_id"] == id.as_str()));
    assert!(!std::fs::read_to_string(&export).unwrap().contains("sanne"));

    let verified = dsrhub(dir.path(), &["audit", "--verify", "--head", &head], &[]);
    assert!(verified.status.success(), "{}", stderr(&verified));

    // Someone with the database file edits history.
    let conn = rusqlite::Connection::open(dir.path().join("ledger.db")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_no_update;
         UPDATE audit SET detail = '{\"forged\":true}' WHERE seq = 2;",
    )
    .unwrap();
    drop(conn);
    let broken = dsrhub(dir.path(), &["audit", "--verify"], &[]);
    assert!(!broken.status.success());
    assert!(stderr(&broken).contains("entry 2"), "{}", stderr(&broken));
    let before = fake.log().requests_seen();
    for args in [
        vec!["status"],
        vec!["erase", "--request", id.as_str(), "--yes"],
    ] {
        let o = dsrhub(dir.path(), &args, &[]);
        assert!(!o.status.success(), "{args:?} acted on a broken chain");
        assert!(
            stderr(&o).contains("hash chain is broken"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(fake.log().requests_seen(), before, "a vendor was called");
}

/// `dsrhub purge` (issue 16.5): a just-closed request keeps its report and export; the command
/// says nothing is past its retention period, as text and as JSON.
#[tokio::test]
async fn purge_keeps_what_is_within_its_retention_period() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let o = run(
        dir.path(),
        &[
            "access",
            "--email",
            "sanne.bakker@example.nl",
            "--identity-verified",
            "passport",
        ],
        &[],
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let id = only_request_id(dir.path());
    for args in [&["purge", "--dry-run"][..], &["purge"][..]] {
        let o = run(dir.path(), args, &[]).await;
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains("nothing is past its retention period"),
            "{}",
            stdout(&o)
        );
    }
    let o = run(dir.path(), &["--json", "purge"], &[]).await;
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["exports_removed"], serde_json::json!([]));
    assert_eq!(out["requests_reduced"], serde_json::json!([]));
    assert!(dir
        .path()
        .join("reports")
        .join(&id)
        .join("access-export.zip")
        .exists());
}

/// Issue 17.5: `dsrhub status | head -1` panicked ("failed printing to stdout") when the reader
/// closed the pipe. A closed pipe now ends the command quietly, as it ends `ls` or `grep`.
#[cfg(unix)]
#[tokio::test]
async fn a_closed_pipe_ends_the_output_without_a_panic() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    plan_sanne_erasure(dir.path(), &fake).await;
    let dir = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsrhub"))
            .current_dir(&dir)
            .args(["status"])
            .env_remove("DSRHUB_CONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first line is written.
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("failed printing"), "{stderr}");
}

/// Issue 17.5: `--request` and every command's request id take a unique prefix of the id or
/// the API's external reference; an ambiguous or unknown one is refused, naming what was
/// given. A request received through the API is verified from the CLI with `dsrhub verify`.
#[tokio::test]
async fn requests_are_found_by_prefix_or_reference_and_verified_from_the_cli() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let id = plan_sanne_erasure(dir.path(), &fake).await;
    // A unique prefix works wherever an id does.
    let o = run(dir.path(), &["status", &id[..8]], &[]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(&id), "{}", stdout(&o));
    let o = run(dir.path(), &["audit", &id[..8], "--json"], &[]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    // Unknown: named.
    let o = run(dir.path(), &["status", "zzzz"], &[]).await;
    assert!(!o.status.success());
    assert!(stderr(&o).contains("zzzz"), "{}", stderr(&o));

    // A request that came in through the API: received, not verified, known by its reference.
    let config = dsrhub::config::Config::load(&dir.path().join("dsrhub.toml")).unwrap();
    let ledger = std::sync::Arc::new(dsrhub::ledger::Ledger::open(&config.ledger_path()).unwrap());
    let processors =
        dsrhub::registry::build(&config, &dsrhub_connector::secrets::Secrets::default()).unwrap();
    let hub = dsrhub::orchestrator::Hub::new(ledger.clone(), processors, &config);
    let api_id = hub
        .open_unverified(
            dsrhub::ledger::RequestKind::Access,
            &dsrhub_connector::Subject {
                emails: vec!["sanne.bakker@example.nl".into()],
                ..Default::default()
            },
            jiff::Timestamp::now(),
        )
        .unwrap();
    ledger.set_intake(&api_id, "form-2026-0042", &[]).unwrap();
    drop(hub);
    let o = run(
        dir.path(),
        &[
            "verify",
            "form-2026-0042",
            "--how",
            "passport seen at the desk",
        ],
        &[],
    )
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let request = ledger.request(&api_id).unwrap();
    assert!(
        request.status.is_closed(),
        "verified and run: {}",
        request.status
    );
    assert!(dir
        .path()
        .join("reports")
        .join(&api_id)
        .join("access-export.zip")
        .exists());
}

/// `dsrhub secret set <reference>` in `dir`, the value given on stdin.
async fn secret_set(dir: &Path, reference: &str, value: &str) -> Output {
    run_with_stdin(dir, &["secret", "set", reference], &format!("{value}\n")).await
}

/// Run dsrhub in `dir` with `args`, `stdin` piped in (not a terminal).
async fn run_with_stdin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsrhub"))
            .current_dir(&dir)
            .args(&args)
            .env_remove("DSRHUB_CONFIG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// Issue 17.2: staff users for the dashboard, managed from the CLI: the password read from
/// stdin and stored only as an argon2id hash, a short one refused, a second `add` of a name
/// refused, a new password, removal; every change audited.
#[tokio::test]
async fn staff_users_are_added_listed_changed_and_removed() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let short = run_with_stdin(dir.path(), &["user", "add", "petra"], "too short\n").await;
    assert_eq!(short.status.code(), Some(1), "{}", text(&short));
    assert!(
        text(&short).contains("at least 12 characters"),
        "{}",
        text(&short)
    );
    let odd = run_with_stdin(
        dir.path(),
        &["user", "add", "two words"],
        "long enough password\n",
    )
    .await;
    assert!(!odd.status.success());
    assert!(text(&odd).contains("user name"), "{}", text(&odd));

    let added = run_with_stdin(
        dir.path(),
        &["user", "add", "petra"],
        "long enough password\n",
    )
    .await;
    assert!(added.status.success(), "{}", text(&added));
    assert!(text(&added).contains("/dashboard/login"));
    let twice = run_with_stdin(dir.path(), &["user", "add", "petra"], "another password!\n").await;
    assert!(!twice.status.success());
    assert!(
        text(&twice).contains("dsrhub user password petra"),
        "{}",
        text(&twice)
    );
    let listed = run(dir.path(), &["user", "list"], &[]).await;
    assert!(text(&listed).starts_with("petra"), "{}", text(&listed));
    let json = run(dir.path(), &["--json", "user", "list"], &[]).await;
    let users: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(users[0]["name"], "petra");
    assert!(users[0].get("password_hash").is_none());

    // Only the hash is stored, and it is the password's.
    let ledger = dsrhub::ledger::Ledger::open(&dir.path().join("ledger.db")).unwrap();
    let hash = ledger.staff_password_hash("petra").unwrap().unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(dsrhub::staff::verify_password(
        "long enough password",
        Some(&hash)
    ));
    let changed = run_with_stdin(
        dir.path(),
        &["user", "password", "petra"],
        "a new password, longer\n",
    )
    .await;
    assert!(changed.status.success(), "{}", text(&changed));
    let hash = ledger.staff_password_hash("petra").unwrap().unwrap();
    assert!(dsrhub::staff::verify_password(
        "a new password, longer",
        Some(&hash)
    ));
    let nobody = run_with_stdin(
        dir.path(),
        &["user", "password", "nobody"],
        "a new password, longer\n",
    )
    .await;
    assert!(
        text(&nobody).contains("dsrhub user add nobody"),
        "{}",
        text(&nobody)
    );

    let removed = run(dir.path(), &["user", "remove", "petra"], &[]).await;
    assert!(removed.status.success(), "{}", text(&removed));
    assert!(ledger.staff_password_hash("petra").unwrap().is_none());
    let events: Vec<String> = ledger
        .audit_entries(None)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(
        events,
        [
            "staff.user_added",
            "staff.password_changed",
            "staff.user_removed"
        ]
    );
}

/// Issue 17.1: a missing secret says how to store it; `dsrhub secret set` stores one (read from
/// stdin, a `file:` reference relative to the config and written 0600) and `dsrhub secret
/// check` lists every reference of the config with its state and the command that fixes it.
#[tokio::test]
async fn a_missing_secret_is_stored_with_the_command_the_hub_names() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    std::fs::remove_file(dir.path().join("moneybird.token")).unwrap();
    let o = run(dir.path(), &["check"], &[]).await;
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains("dsrhub secret set file:"),
        "{}",
        stdout(&o)
    );
    let o = run(dir.path(), &["secret", "check"], &[]).await;
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(stdout(&o).contains("moneybird.token"), "{}", stdout(&o));
    assert!(stdout(&o).contains("dsrhub secret set"), "{}", stdout(&o));

    let set = secret_set(dir.path(), "file:moneybird.token", &fake.token()).await;
    assert!(set.status.success(), "{}", stderr(&set));
    assert!(
        !stdout(&set).contains(&fake.token()),
        "the secret was echoed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("moneybird.token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let o = run(dir.path(), &["secret", "check"], &[]).await;
    assert!(o.status.success(), "{}", stdout(&o));
    let o = run(dir.path(), &["check"], &[]).await;
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // The folder of a `file:` reference (init writes `file:secrets/<name>`) is made for it.
    let nested = secret_set(dir.path(), "file:secrets/other", "value").await;
    assert!(nested.status.success(), "{}", stderr(&nested));
    assert!(dir.path().join("secrets/other").exists());
}

/// Issue 17.5: with `--json` an error is JSON too (on stdout, with the exit code), and logs
/// written to a pipe carry no ANSI colour codes.
#[tokio::test]
async fn errors_are_json_with_json_and_logs_have_no_colour_codes_in_a_pipe() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let o = run(dir.path(), &["--json", "status", "no-such-request"], &[]).await;
    assert!(!o.status.success());
    let error: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(&o)));
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-request"),
        "{error}"
    );
    assert_eq!(error["error"]["kind"], "usage");
    let o = run(dir.path(), &["-vv", "check"], &[]).await;
    assert!(!stderr(&o).is_empty(), "no log lines to look at");
    assert!(!stderr(&o).contains('\u{1b}'), "{}", stderr(&o));
}

/// Issue 17.5: `status --open / --overdue / --needs-action`, nearest deadline first, with the
/// days left and what a person must do.
#[tokio::test]
async fn status_filters_by_what_needs_a_person_sorted_by_due_date() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let planned = plan_sanne_erasure(dir.path(), &fake).await;
    // A request from the API, submitted five weeks ago and never verified: overdue.
    let config = dsrhub::config::Config::load(&dir.path().join("dsrhub.toml")).unwrap();
    let ledger = std::sync::Arc::new(dsrhub::ledger::Ledger::open(&config.ledger_path()).unwrap());
    let hub = dsrhub::orchestrator::Hub::new(ledger.clone(), Vec::new(), &config);
    let late = hub
        .open_unverified(
            dsrhub::ledger::RequestKind::Access,
            &dsrhub_connector::Subject {
                emails: vec!["jan@example.nl".into()],
                ..Default::default()
            },
            jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 35),
        )
        .unwrap();
    drop(hub);
    let rows = |args: &[&str]| {
        let mut all = vec!["--json", "status"];
        all.extend_from_slice(args);
        let o = dsrhub(dir.path(), &all, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice::<Vec<serde_json::Value>>(&o.stdout).unwrap()
    };
    let open = rows(&["--open"]);
    let ids: Vec<&str> = open.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec![late.as_str(), planned.as_str()],
        "nearest deadline first"
    );
    assert!(open[0]["days_left"].as_i64().unwrap() < 0);
    let overdue = rows(&["--overdue"]);
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["id"], late.as_str());
    let needs = rows(&["--needs-action"]);
    let of = |id: &str| -> Vec<String> {
        needs.iter().find(|r| r["id"] == id).unwrap()["needs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(of(&late), vec!["verify the identity".to_string()]);
    assert_eq!(of(&planned), vec!["approve the plan".to_string()]);
    // The text form says the same, a line per action under the row.
    let o = dsrhub(dir.path(), &["status", "--needs-action"], &[]);
    assert!(
        stdout(&o).contains("needs: approve the plan"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("OVERDUE"), "{}", stdout(&o));
}

/// Issue 17.5: shell completions and a manual page, from the same definition as the commands.
#[tokio::test]
async fn completions_and_a_manual_page() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let o = run(dir.path(), &["completions", shell], &[]).await;
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        assert!(stdout(&o).contains("needs-action"), "{shell}");
    }
    let o = run(dir.path(), &["man"], &[]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(".ie") || stdout(&o).contains(".TH"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("dsrhub"));
}

/// Issue 17.1: `check` lists every problem at once, each with what fixes it, instead of
/// stopping at the first missing secret; a processor that is fine is still checked, with its
/// rate-limit headroom or "unknown".
#[tokio::test]
async fn check_lists_every_problem_at_once() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let mut config: toml::Table =
        toml::from_str(&std::fs::read_to_string(dir.path().join("dsrhub.toml")).unwrap()).unwrap();
    let processors = config["processors"].as_table_mut().unwrap();
    let mut second = processors["moneybird"].as_table().unwrap().clone();
    second.insert("token".into(), "file:missing-one.token".into());
    processors.insert("moneybird-2".into(), toml::Value::Table(second.clone()));
    second.insert("token".into(), "file:missing-two.token".into());
    second.insert("connector".into(), "moneybird".into());
    processors.insert("moneybird-3".into(), toml::Value::Table(second));
    if let Some(t) = processors["moneybird-2"].as_table_mut() {
        t.insert("connector".into(), "moneybird".into());
    }
    std::fs::write(
        dir.path().join("dsrhub.toml"),
        toml::to_string(&config).unwrap(),
    )
    .unwrap();
    let o = run(dir.path(), &["check"], &[]).await;
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("missing-one.token") && out.contains("missing-two.token"),
        "{out}"
    );
    assert!(out.matches("dsrhub secret set").count() >= 2, "{out}");
    assert!(
        out.contains("moneybird ") && out.contains("rate-limit headroom"),
        "{out}"
    );
}

/// Issue 18.1: `dsrhub erase --subjects FILE` opens a batch and plans it (nothing changes),
/// prints the one digest that approves it, and writes a report with a section per subject;
/// `--batch ID --yes --plan DIGEST` approves and carries it out. Without the digest, or with a
/// new batch and --yes, nothing is approved.
#[tokio::test]
async fn a_batch_is_planned_from_a_list_then_approved_by_its_digest() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let private = contact_id(&fake, "sanne.bakker@example.nl");
    std::fs::write(
        dir.path().join("leavers.csv"),
        "email,name\nsanne.bakker@example.nl,\"Bakker, Sanne\"\n# left in 2025\nleft.long.ago@voorbeeld-it.example,\n",
    )
    .unwrap();
    // --yes on a list nobody has reviewed is refused.
    let hasty = run(
        dir.path(),
        &[
            "erase",
            "--subjects",
            "leavers.csv",
            "--identity-verified",
            "HR's list",
            "--yes",
        ],
        &[],
    )
    .await;
    assert!(!hasty.status.success());
    assert!(text(&hasty).contains("planned first"), "{}", text(&hasty));

    let planned = run(
        dir.path(),
        &[
            "erase",
            "--subjects",
            "leavers.csv",
            "--identity-verified",
            "HR's list",
        ],
        &[],
    )
    .await;
    let out = text(&planned);
    assert!(planned.status.success(), "{out}");
    let batch = out
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("batch "))
        .and_then(|l| l.split(':').next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    assert!(
        out.contains("2 subject(s) from subjects file leavers.csv"),
        "{out}"
    );
    assert!(
        out.contains("line    2") && out.contains("line    4"),
        "{out}"
    );
    assert!(out.contains("Plan awaiting approval: digest"), "{out}");
    assert!(fake.state().contacts.contains_key(&private), "a dry run");
    let report = dir
        .path()
        .join("reports")
        .join(format!("batch-{batch}"))
        .join("batch-report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("id=\"line-2\"") && html.contains("id=\"line-4\""));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.with_extension("json")).unwrap())
            .unwrap();
    let digest = json["plan_awaiting_approval"]["digest"]
        .as_str()
        .unwrap()
        .to_string();

    // Approving needs the digest.
    let blind = run(dir.path(), &["erase", "--batch", &batch, "--yes"], &[]).await;
    assert!(!blind.status.success());
    assert!(text(&blind).contains("--plan"), "{}", text(&blind));
    let wrong = run(
        dir.path(),
        &[
            "erase",
            "--batch",
            &batch,
            "--yes",
            "--plan",
            "0123456789abcdef",
        ],
        &[],
    )
    .await;
    assert!(!wrong.status.success());
    assert!(fake.state().contacts.contains_key(&private));

    let done = run(
        dir.path(),
        &[
            "erase",
            "--batch",
            &batch,
            "--yes",
            "--plan",
            &digest[..16],
            "--approver",
            "Petra",
        ],
        &[],
    )
    .await;
    assert!(done.status.success(), "{}", text(&done));
    assert!(text(&done).contains("approved by Petra"), "{}", text(&done));
    assert!(
        !fake.state().contacts.contains_key(&private),
        "erased at the fake"
    );
    assert!(text(&done).contains("2 completed"), "{}", text(&done));
    // A list and single identifiers do not mix.
    let mixed = run(
        dir.path(),
        &[
            "erase",
            "--subjects",
            "leavers.csv",
            "--email",
            "a@b.nl",
            "--identity-verified",
            "x",
        ],
        &[],
    )
    .await;
    assert_eq!(mixed.status.code(), Some(2));
}

/// Issue 18.2: `dsrhub hold` and `dsrhub sweep`: the list masks addresses and opens nothing;
/// the sweep opens one planned batch, without the held address, and prints how to approve it.
#[tokio::test]
async fn the_sweep_lists_then_plans_and_leaves_held_addresses_alone() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let held = run(
        dir.path(),
        &[
            "hold",
            "add",
            "kees.visser@example.nl",
            "--reason",
            "dispute",
        ],
        &[],
    )
    .await;
    assert!(held.status.success(), "{}", text(&held));
    let holds = text(&run(dir.path(), &["hold", "list"], &[]).await);
    assert!(
        holds.contains("k•••r@e•••e.nl") && holds.contains("dispute"),
        "{holds}"
    );
    assert!(!holds.contains("kees.visser"), "{holds}");

    let listed = run(dir.path(), &["sweep", "--list"], &[]).await;
    let out = text(&listed);
    assert!(listed.status.success(), "{out}");
    assert!(out.starts_with("contract_ended: "), "{out}");
    assert!(out.contains("1 on hold"), "{out}");
    assert!(out.contains("last invoice"), "{out}");
    assert!(out.contains("\nretained_expired: 0 record(s)"), "{out}");
    assert!(!out.contains("@example.com "), "addresses masked: {out}");
    let listed = run(dir.path(), &["--json", "sweep", "--list"], &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(!json["contract_ended"]["selected"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(json["retained_expired"]["requests"], serde_json::json!([]));
    assert!(
        !stdout(&listed).contains("@example.com\""),
        "masked in JSON too"
    );
    let ledger = dsrhub::ledger::Ledger::open(&dir.path().join("ledger.db")).unwrap();
    assert!(
        ledger.requests().unwrap().is_empty(),
        "--list opens nothing"
    );

    let swept = run(dir.path(), &["sweep"], &[]).await;
    let out = text(&swept);
    assert!(swept.status.success(), "{out}");
    assert!(out.contains("from sweep: contract_ended"), "{out}");
    assert!(out.contains("dsrhub erase --batch"), "{out}");
    let requests = ledger.requests().unwrap();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(
            r.status,
            dsrhub::ledger::RequestStatus::Planned,
            "a dry run"
        );
        let subject = ledger.subject(&r.id).unwrap();
        assert_ne!(subject.emails, ["kees.visser@example.nl"], "held");
    }
    // A second sweep leaves out everyone whose request is open now.
    let again = text(&run(dir.path(), &["sweep"], &[]).await);
    assert!(
        again.contains("0 selected") && again.contains("nothing to sweep"),
        "{again}"
    );
    let lifted = run(
        dir.path(),
        &["hold", "remove", "kees.visser@example.nl"],
        &[],
    )
    .await;
    assert!(lifted.status.success(), "{}", text(&lifted));
    assert!(text(&run(dir.path(), &["hold", "list"], &[]).await).contains("no holds"));
}

/// Issue 18.4: `dsrhub bench batch` runs end to end (tiny sizes, windows shortened a
/// thousandfold) and reports a batch's calls as a fraction of single requests', and no 429s.
#[tokio::test]
async fn the_batch_benchmark_reports_ratios() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "--json",
            "bench",
            "batch",
            "--subjects",
            "10,20",
            "--time-scale",
            "1000",
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sizes = results["sizes"].as_array().unwrap();
    assert_eq!(sizes.len(), 2);
    for size in sizes {
        assert!(size["calls_ratio"].as_f64().unwrap() <= 0.25, "{size}");
        for mode in ["batched", "single"] {
            for (_, vendor) in size[mode]["vendors"].as_object().unwrap() {
                assert_eq!(vendor["throttled"], 0, "{size}");
            }
        }
    }
    assert!(results["fan_out_ratio"].as_f64().unwrap() > 0.0);
}

/// Issue 19.4: `dsrhub access --portable` makes a portable export (art. 20): the manifest
/// says so and the issued invoices are left out; a plain access export keeps them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_portable_leaves_out_what_the_person_did_not_provide() {
    let fake = FakeMoneybird::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let mut exports = Vec::new();
    for portable in [true, false] {
        let mut args = vec![
            "access",
            "--email",
            "sanne@bakkerfotografie.example",
            "--identity-verified",
            "passport",
        ];
        if portable {
            args.push("--portable");
        }
        let o = run(dir.path(), &args, &[]).await;
        assert!(o.status.success(), "{}", stderr(&o));
        let ledger = dsrhub::ledger::Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let id = ledger
            .requests()
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .find(|id| !exports.iter().any(|(e, _): &(String, bool)| e == id))
            .unwrap();
        exports.push((id, portable));
    }
    for (id, portable) in exports {
        let zip = dir
            .path()
            .join("reports")
            .join(&id)
            .join("access-export.zip");
        let manifest: serde_json::Value =
            serde_json::from_str(&common::read_zip_entry(&zip, "manifest.json")).unwrap();
        assert_eq!(manifest["portable"], portable);
        let moneybird = common::read_zip_entry(&zip, "moneybird.json");
        assert_eq!(
            moneybird.contains("\"sales_invoice\""),
            !portable,
            "portable {portable}: {moneybird}"
        );
    }
}
