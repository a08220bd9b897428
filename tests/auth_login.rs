//! `dsrhub auth login exact-online` end to end: the binary prints the authorize address, the
//! person (played by the fake) consents and pastes the redirect, the tokens land in a private
//! file, and `dsrhub check` then works with them.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use dsrhub_exact_online::fake::FakeExactOnline;

fn write_config(dir: &Path, fake: &FakeExactOnline) {
    dsrhub_connector::secrets::write_private_file(&dir.join("exact.secret"), fake.client_secret())
        .unwrap();
    let config = format!(
        r#"
[hub]
ledger = "ledger.db"
reports_dir = "reports"

[processors.exact-online]
host = "{host}"
client_id = "{client}"
client_secret = "file:exact.secret"
redirect_uri = "{redirect}"
tokens = "file:exact.tokens"
"#,
        host = fake.host(),
        client = fake.client_id(),
        redirect = fake.redirect_uri(),
    );
    std::fs::write(dir.join("dsrhub.toml"), config).unwrap();
}

fn dsrhub(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("dsrhub"));
    cmd.current_dir(dir)
        .env_remove("DSRHUB_CONFIG")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    cmd
}

/// `dsrhub auth login exact-online` with stdin, stdout and stderr piped.
fn spawn_login(dir: &Path) -> std::process::Child {
    dsrhub(dir)
        .args(["auth", "login", "exact-online", "--no-browser"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn login_by_pasting_the_redirect_then_check() {
    let fake = FakeExactOnline::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let mut child = spawn_login(dir.path());
    // Read stderr to the end (closing it early would break the child's pipe); hand over the
    // authorize address as soon as it is printed.
    let stderr = child.stderr.take().unwrap();
    let (found, address) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.trim().starts_with("http") {
                let _ = found.send(line.trim().to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = tokio::task::spawn_blocking(move || address.recv())
        .await
        .unwrap()
        .expect("the authorize address is printed");
    let redirect = fake.approve(&url::Url::parse(&url).unwrap()).await.unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{redirect}").unwrap();
    drop(stdin);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let errors = reader.join().unwrap();
    assert!(output.status.success(), "{errors}");
    let tokens = dir.path().join("exact.tokens");
    let text = std::fs::read_to_string(&tokens).unwrap();
    assert!(text.contains("refresh_token"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&tokens).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the token file is readable by others");
    }
    // The stored sign-in works for the next command.
    let check = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || dsrhub(&dir).arg("check").output().unwrap()
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{out}");
    assert!(out.contains("2 division(s)"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_redirect_is_refused_and_nothing_is_stored() {
    let fake = FakeExactOnline::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &fake);
    let mut child = spawn_login(dir.path());
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        "{}?code=attacker-code&state=not-ours",
        fake.redirect_uri()
    )
    .unwrap();
    drop(stdin);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("state"), "{err}");
    assert!(!err.contains("attacker-code"), "{err}");
    assert!(!dir.path().join("exact.tokens").exists());
    assert_eq!(fake.token_calls(), 0);
}
