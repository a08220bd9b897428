//! Shared set-up: a fake Exact Online, a login through its consent page, and a connector.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use dsrhub_connector::http::Quota;
use dsrhub_connector::oauth::{SecretTokenStore, TokenStore};
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::testkit::{fast_http_settings, FakeControl, Harness};
use dsrhub_connector::{async_trait, Connector, Subject};
use dsrhub_exact_online::fake::{FakeExactOnline, FakeOptions};
use dsrhub_exact_online::{ExactOnline, ExactOnlineConfig};
use secrecy::ExposeSecret;

pub const TOKENS_REF: &str = "keyring:exact-online-tokens";
pub const SECRET_REF: &str = "keyring:exact-online-client-secret";

/// Fake limits high enough that the generic suite is not paced to 60 calls a minute; the
/// pacing tests set their own.
pub fn test_options() -> FakeOptions {
    FakeOptions {
        minutely_limit: 100_000,
        ..FakeOptions::default()
    }
}

pub struct ExactHarness {
    pub fake: FakeExactOnline,
    pub secrets: Secrets,
    pub config: ExactOnlineConfig,
    pub connector: Arc<ExactOnline>,
}

impl ExactHarness {
    pub async fn with_options(options: FakeOptions) -> Self {
        let fake = FakeExactOnline::start_with(options)
            .await
            .expect("fake starts");
        let secrets = Secrets::in_memory();
        secrets
            .store(&SECRET_REF.parse().unwrap(), &fake.client_secret())
            .unwrap();
        let mut http = fast_http_settings();
        http.rate_limit = Some(Quota {
            requests: 100_000,
            per_seconds: 60.0,
        });
        let config = ExactOnlineConfig {
            host: fake.host(),
            client_id: fake.client_id(),
            client_secret: SECRET_REF.parse().unwrap(),
            redirect_uri: fake.redirect_uri(),
            tokens: TOKENS_REF.parse().unwrap(),
            divisions: Vec::new(),
            http,
        };
        login(&fake, &config, &secrets).await;
        let connector = Arc::new(ExactOnline::new(config.clone(), &secrets).expect("builds"));
        ExactHarness {
            fake,
            secrets,
            config,
            connector,
        }
    }

    /// The fixtures with the suite's relaxed limits.
    pub async fn start_default() -> Self {
        Self::with_options(test_options()).await
    }

    /// Another connector on the same stored sign-in (a second `dsrhub` process).
    pub fn another_process(&self) -> Arc<ExactOnline> {
        Arc::new(ExactOnline::new(self.config.clone(), &self.secrets).expect("builds"))
    }

    pub fn store(&self) -> SecretTokenStore {
        SecretTokenStore::new(self.secrets.clone(), TOKENS_REF.parse().unwrap())
    }
}

/// What `dsrhub auth login exact-online` does, with the fake playing the person.
pub async fn login(fake: &FakeExactOnline, config: &ExactOnlineConfig, secrets: &Secrets) {
    let login = dsrhub_exact_online::login::start(config, secrets).expect("login starts");
    let redirect = fake.approve(login.request().url()).await.expect("consent");
    let code = login
        .request()
        .code_from_pasted(redirect.as_str())
        .expect("code");
    login.finish(&code).await.expect("code exchange");
}

/// Pieter de Vries: a private account with invoices from 2017 and 2025 and its contact, a
/// contact at a bakery named on an invoice (division 1001), and a contact at a gardener's
/// without invoices (division 1002).
pub fn pieter() -> Subject {
    Subject {
        emails: vec![
            "pieter.devries@example.nl".into(),
            "p.devries@bakkerijzoet.example".into(),
        ],
        ..Subject::default()
    }
}

pub fn short_pause() -> Duration {
    Duration::from_millis(50)
}

#[async_trait]
impl Harness for ExactHarness {
    async fn start() -> Self {
        Self::with_options(test_options()).await
    }

    fn connector(&self) -> Arc<dyn Connector> {
        self.connector.clone()
    }

    fn fake(&self) -> &dyn FakeControl {
        &self.fake
    }

    fn subject(&self) -> Subject {
        Subject {
            phones: vec!["06-11223344".into()],
            names: vec!["Pieter de Vries".into()],
            ..pieter()
        }
    }

    fn secret_values(&self) -> Vec<String> {
        let mut values = vec![self.fake.client_secret()];
        if let Ok(tokens) = self.store().load() {
            values.push(tokens.refresh_token.expose_secret().to_string());
            values.extend(tokens.access_token.map(|t| t.expose_secret().to_string()));
        }
        values
    }

    fn store_credential(&self, value: &str) {
        self.secrets
            .store(&TOKENS_REF.parse().unwrap(), value)
            .unwrap();
    }
}
