//! Shared set-up: a fake IT Glue and a connector pointed at it.

#![allow(dead_code)]

use std::sync::Arc;

use dsrhub_connector::http::HttpSettings;
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::testkit::{fast_http_settings, FakeControl, Harness};
use dsrhub_connector::{async_trait, Connector, Subject};
use dsrhub_itglue::fake::{FakeItGlue, FakeOptions};
use dsrhub_itglue::{ItGlue, ItGlueConfig, Region};

pub const KEY_REF: &str = "keyring:itglue-key";

pub struct ItGlueHarness {
    pub fake: FakeItGlue,
    pub secrets: Secrets,
    pub connector: Arc<ItGlue>,
}

pub fn config(fake: &FakeItGlue, http: HttpSettings) -> ItGlueConfig {
    ItGlueConfig {
        region: Region::Eu,
        base_url: Some(fake.base_url()),
        api_key: KEY_REF.parse().unwrap(),
        http,
    }
}

impl ItGlueHarness {
    pub async fn with_options(options: FakeOptions, http: HttpSettings) -> Self {
        let fake = FakeItGlue::start_with(options).await.expect("fake starts");
        let secrets = Secrets::in_memory();
        secrets
            .store(&KEY_REF.parse().unwrap(), &fake.api_key())
            .unwrap();
        let connector =
            Arc::new(ItGlue::new(config(&fake, http), &secrets).expect("connector builds"));
        ItGlueHarness {
            fake,
            secrets,
            connector,
        }
    }
}

/// Sanne Bakker: one contact by its primary address, one by a secondary address only.
pub fn sanne() -> Subject {
    Subject {
        emails: vec![
            "sanne@bakkerfotografie.example".into(),
            "sanne.bakker@example.nl".into(),
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

#[async_trait]
impl Harness for ItGlueHarness {
    async fn start() -> Self {
        Self::with_options(FakeOptions::default(), fast_http_settings()).await
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
        vec![self.fake.api_key()]
    }

    fn store_credential(&self, value: &str) {
        self.secrets
            .store(&KEY_REF.parse().unwrap(), value)
            .unwrap();
    }
}
