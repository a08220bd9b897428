//! Headless Chromium driven through chromedriver (WebDriver, the `fantoccini` crate), for the
//! dashboard's browser tests. Debian's packages: `chromium` and `chromium-driver`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// A chromedriver process and one browser session in it; both end when dropped.
pub struct Driver {
    pub client: Client,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

/// chromedriver and Chromium, if both are installed; `None` (with a notice) otherwise, unless
/// `DSRHUB_REQUIRE_CHROMIUM` is set (CI installs both and sets it): then it panics.
pub fn installed() -> Option<(PathBuf, &'static str)> {
    let chromium = super::chromium()?;
    let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if driver.is_none() {
        assert!(
            std::env::var("DSRHUB_REQUIRE_CHROMIUM").is_err(),
            "DSRHUB_REQUIRE_CHROMIUM is set but chromedriver is not installed"
        );
        eprintln!("skipped: no chromedriver (apt-get install chromium-driver)");
    }
    Some((driver?, chromium))
}

/// Start chromedriver and a headless Chromium session, the viewport `width` × `height` CSS
/// pixels (a phone's width is emulated: a headless window is at least 500 pixels wide).
pub async fn start(driver: &Path, chromium: &str, width: u32, height: u32) -> Driver {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let chromedriver = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--hide-scrollbars".into(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let mut options = json!({ "binary": chromium });
    if width < 500 {
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true },
        });
    } else {
        args.push(format!("--window-size={width},{height}"));
    }
    options["args"] = json!(args);
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{port}");
    let mut last_error = String::new();
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Driver {
                    client,
                    chromedriver,
                    _profile: profile,
                }
            }
            Err(e) => {
                last_error = e.to_string();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("no WebDriver session with chromedriver on port {port}: {last_error}");
}

/// Where screenshots are kept (CI artefacts): `target/tmp/dashboard/`.
pub fn artefacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Driver {
    /// Keep a screenshot of the page as `name.png` in [`artefacts`].
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(artefacts().join(format!("{name}.png")), png).unwrap();
    }

    /// The page's text as a person reads it.
    pub async fn text(&self) -> String {
        self.client
            .find(fantoccini::Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}
