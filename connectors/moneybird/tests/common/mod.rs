//! Shared set-up: a fake Moneybird and a connector pointed at it.

#![allow(dead_code)]

use std::sync::Arc;

use dsrhub_connector::secrets::{SecretRef, Secrets};
use dsrhub_connector::testkit::{fast_http_settings, FakeControl, Harness};
use dsrhub_connector::{async_trait, Connector, Subject};
use dsrhub_moneybird::fake::{FakeMoneybird, FakeOptions};
use dsrhub_moneybird::{Moneybird, MoneybirdConfig};

pub const TOKEN_REF: &str = "keyring:moneybird-test";

pub struct MoneybirdHarness {
    pub fake: FakeMoneybird,
    pub secrets: Secrets,
    pub connector: Arc<Moneybird>,
}

impl MoneybirdHarness {
    pub async fn with_options(options: FakeOptions) -> Self {
        Self::with(options, fast_http_settings()).await
    }

    /// The fake started with `options`, the connector with `http`.
    pub async fn with(options: FakeOptions, http: dsrhub_connector::http::HttpSettings) -> Self {
        let fake = FakeMoneybird::start_with(options)
            .await
            .expect("fake starts");
        let secrets = Secrets::in_memory();
        let reference: SecretRef = TOKEN_REF.parse().unwrap();
        secrets.store(&reference, &fake.token()).unwrap();
        let config = MoneybirdConfig {
            base_url: fake.base_url(),
            administration_id: fake.administration_id().to_string(),
            token: reference,
            scan_contact_people: true,
            http,
        };
        let connector = Arc::new(Moneybird::new(config, &secrets).expect("connector builds"));
        MoneybirdHarness {
            fake,
            secrets,
            connector,
        }
    }
}

/// Sanne Bakker: a private contact without invoices, and her business contact with three.
pub fn sanne() -> Subject {
    Subject {
        emails: vec![
            "sanne.bakker@example.nl".into(),
            "sanne@bakkerfotografie.example".into(),
        ],
        ..Subject::default()
    }
}

#[async_trait]
impl Harness for MoneybirdHarness {
    async fn start() -> Self {
        Self::with_options(FakeOptions::default()).await
    }

    fn connector(&self) -> Arc<dyn Connector> {
        self.connector.clone()
    }

    fn fake(&self) -> &dyn FakeControl {
        &self.fake
    }

    fn subject(&self) -> Subject {
        Subject {
            phones: vec!["06-12345678".into()],
            names: vec!["Sanne Bakker".into()],
            ..sanne()
        }
    }

    fn secret_values(&self) -> Vec<String> {
        vec![self.fake.token()]
    }

    fn store_credential(&self, value: &str) {
        self.secrets
            .store(&TOKEN_REF.parse().unwrap(), value)
            .unwrap();
    }
}
