//! Shared set-up: a fake Autotask and a connector pointed at it through zone discovery.

#![allow(dead_code)]

use std::sync::Arc;

use dsrhub_autotask::fake::{FakeAutotask, FakeOptions};
use dsrhub_autotask::{Autotask, AutotaskConfig};
use dsrhub_connector::http::HttpSettings;
use dsrhub_connector::secrets::{SecretRef, Secrets};
use dsrhub_connector::testkit::{fast_http_settings, FakeControl, Harness};
use dsrhub_connector::{async_trait, Connector, Subject};

pub const SECRET_REF: &str = "keyring:autotask-secret";
pub const CODE_REF: &str = "keyring:autotask-code";

pub struct AutotaskHarness {
    pub fake: FakeAutotask,
    pub secrets: Secrets,
    pub connector: Arc<Autotask>,
}

pub fn config(fake: &FakeAutotask, http: HttpSettings) -> AutotaskConfig {
    AutotaskConfig {
        username: fake.username().to_string(),
        secret: SECRET_REF.parse().unwrap(),
        integration_code: CODE_REF.parse().unwrap(),
        base_url: None,
        zone_lookup_url: fake.zone_lookup_url(),
        impersonation_resource_id: None,
        data_in_eea: None,
        http,
    }
}

impl AutotaskHarness {
    pub async fn with_options(options: FakeOptions, http: HttpSettings) -> Self {
        let fake = FakeAutotask::start_with(options)
            .await
            .expect("fake starts");
        let secrets = Secrets::in_memory();
        secrets
            .store(&SECRET_REF.parse::<SecretRef>().unwrap(), &fake.secret())
            .unwrap();
        secrets
            .store(
                &CODE_REF.parse::<SecretRef>().unwrap(),
                fake.integration_code(),
            )
            .unwrap();
        let connector =
            Arc::new(Autotask::new(config(&fake, http), &secrets).expect("connector builds"));
        AutotaskHarness {
            fake,
            secrets,
            connector,
        }
    }
}

/// Sanne Bakker: one contact by `emailAddress` (with an open and an old ticket), one by
/// `emailAddress2` (no tickets).
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
impl Harness for AutotaskHarness {
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
        let mut emails = sanne().emails;
        // Her photo-club contact is hers only when its primary address is one she verified.
        emails.push("s.bakker@fotoclub.example".into());
        Subject {
            emails,
            phones: vec!["06-12345678".into()],
            names: vec!["Sanne Bakker".into()],
        }
    }

    fn secret_values(&self) -> Vec<String> {
        vec![self.fake.secret(), self.fake.integration_code().to_string()]
    }

    fn store_credential(&self, value: &str) {
        self.secrets
            .store(&SECRET_REF.parse().unwrap(), value)
            .unwrap();
    }
}
