//! Shared set-up for the hub's end-to-end tests: a Moneybird fake, a config pointing at it,
//! and a hub over a ledger in a temporary folder.

#![allow(dead_code)]

pub mod server;
pub mod smtp;
pub mod webdriver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dsrhub::config::{Config, HubConfig};
use dsrhub::ledger::Ledger;
use dsrhub::orchestrator::Hub;
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Subject;
use dsrhub_moneybird::fake::{FakeMoneybird, FakeOptions};

pub const TOKEN_REF: &str = "keyring:moneybird-test";

pub struct Env {
    pub fake: FakeMoneybird,
    pub secrets: Secrets,
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub ledger: Arc<Ledger>,
}

/// Fast retries for tests; everything else as in production.
pub fn http_table() -> toml::Table {
    toml::toml! {
        max_retries = 4
        initial_backoff_ms = 10
        max_backoff_seconds = 0.2
        max_server_wait_seconds = 3
        throttle_wait_seconds = 0.05
    }
}

/// A `[processors.autotask]` section pointing at `fake`, its API user's secret and integration
/// code stored in `secrets` (as `keyring:at-secret`, `keyring:at-code`).
pub fn autotask_table(
    fake: &dsrhub_autotask::fake::FakeAutotask,
    secrets: &Secrets,
) -> toml::Table {
    secrets
        .store(&"keyring:at-secret".parse().unwrap(), &fake.secret())
        .unwrap();
    secrets
        .store(&"keyring:at-code".parse().unwrap(), fake.integration_code())
        .unwrap();
    let mut table = toml::Table::new();
    table.insert("username".into(), fake.username().into());
    table.insert("secret".into(), "keyring:at-secret".into());
    table.insert("integration_code".into(), "keyring:at-code".into());
    table.insert(
        "zone_lookup_url".into(),
        fake.zone_lookup_url().to_string().into(),
    );
    table
}

pub fn moneybird_table(fake: &FakeMoneybird, token: &str) -> toml::Table {
    let mut table = toml::Table::new();
    table.insert("base_url".into(), fake.base_url().to_string().into());
    table.insert("administration_id".into(), fake.administration_id().into());
    table.insert("token".into(), token.into());
    table.insert("http".into(), toml::Value::Table(http_table()));
    table
}

impl Env {
    pub async fn start() -> Env {
        Env::with_fake(FakeOptions::default(), |_| {}).await
    }

    pub async fn with_fake(options: FakeOptions, tweak: impl FnOnce(&mut toml::Table)) -> Env {
        let fake = FakeMoneybird::start_with(options).await.unwrap();
        let secrets = Secrets::in_memory();
        secrets
            .store(&TOKEN_REF.parse().unwrap(), &fake.token())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut section = moneybird_table(&fake, TOKEN_REF);
        tweak(&mut section);
        let config = Config {
            hub: HubConfig {
                ledger: dir.path().join("ledger.db"),
                reports_dir: dir.path().join("reports"),
                ..HubConfig::default()
            },
            policy: Default::default(),
            controllers: Vec::new(),
            register: Default::default(),
            privacy: Default::default(),
            sweep: Default::default(),
            serve: Default::default(),
            processors: BTreeMap::from([("moneybird".to_string(), section)]),
            base_dir: dir.path().to_path_buf(),
        };
        let ledger = Arc::new(Ledger::open(&config.ledger_path()).unwrap());
        Env {
            fake,
            secrets,
            dir,
            config,
            ledger,
        }
    }

    pub fn hub(&self) -> Hub {
        let processors = dsrhub::registry::build(&self.config, &self.secrets).unwrap();
        Hub::new(self.ledger.clone(), processors, &self.config)
    }

    pub fn out(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

pub fn sanne() -> Subject {
    Subject {
        emails: vec![
            "sanne.bakker@example.nl".into(),
            "sanne@bakkerfotografie.example".into(),
        ],
        ..Subject::default()
    }
}

pub fn email(address: &str) -> Subject {
    Subject {
        emails: vec![address.into()],
        ..Subject::default()
    }
}

pub fn contact_id(fake: &FakeMoneybird, address: &str) -> String {
    fake.state()
        .contacts
        .values()
        .find(|c| c["email"] == address)
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("no fixture contact with that address"))
        .to_string()
}

pub fn read_zip_entry(path: &Path, name: &str) -> String {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// A hub over a fresh ledger for the given processor sections, deciding retention as if today
/// were 2026-11-25 (so fixture dates keep their meaning).
pub struct HubEnv {
    pub hub: Hub,
    pub ledger: Arc<Ledger>,
    pub dir: tempfile::TempDir,
    pub config: Config,
}

impl HubEnv {
    /// Change the config and rebuild the hub over the same ledger.
    pub fn rebuild(&mut self, change: impl FnOnce(&mut Config), secrets: &Secrets) {
        let mut config = self.config.clone();
        change(&mut config);
        let built = dsrhub::registry::build(&config, secrets).unwrap();
        self.hub = Hub::new(self.ledger.clone(), built, &config)
            .with_today(jiff::civil::date(2026, 11, 25));
        self.config = config;
    }
}

pub fn hub_for(processors: BTreeMap<String, toml::Table>, secrets: &Secrets) -> HubEnv {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        hub: HubConfig {
            ledger: dir.path().join("ledger.db"),
            ..HubConfig::default()
        },
        policy: Default::default(),
        controllers: Vec::new(),
        register: Default::default(),
        privacy: Default::default(),
        sweep: Default::default(),
        serve: Default::default(),
        processors,
        base_dir: dir.path().to_path_buf(),
    };
    let ledger = Arc::new(Ledger::open(&config.ledger_path()).unwrap());
    let built = dsrhub::registry::build(&config, secrets).unwrap();
    let hub = Hub::new(ledger.clone(), built, &config).with_today(jiff::civil::date(2026, 11, 25));
    HubEnv {
        hub,
        ledger,
        dir,
        config,
    }
}

/// A `[processors.<id>]` section for a processor without an API.
pub fn manual_section(name: &str, contact: &str, language: &str) -> toml::Table {
    let mut table = toml::Table::new();
    table.insert("connector".into(), "manual".into());
    table.insert("name".into(), name.into());
    table.insert("contacts".into(), toml::Value::Array(vec![contact.into()]));
    table.insert("language".into(), language.into());
    table
}

/// Debian's Chromium, for the browser tests; `None` (with a notice) when it is not installed,
/// unless `DSRHUB_REQUIRE_CHROMIUM` is set (CI installs it and sets that): then it panics.
pub fn chromium() -> Option<&'static str> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if found.is_none() {
        assert!(
            std::env::var("DSRHUB_REQUIRE_CHROMIUM").is_err(),
            "DSRHUB_REQUIRE_CHROMIUM is set but Chromium is not installed"
        );
        eprintln!("skipped: no Chromium (apt-get install chromium)");
    }
    found
}

/// Run headless `chromium` with a fresh profile in `profile` and a window `width` pixels wide
/// (at least 500: headless Chromium's floor), with `args`; its output.
pub fn headless(
    chromium: &str,
    profile: &Path,
    width: u32,
    args: &[String],
) -> std::process::Output {
    std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={width},900"))
        .args(args)
        .output()
        .expect("chromium runs")
}
