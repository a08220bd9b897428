//! Shared set-up: a fake Graph tenant and a connector pointed at it.

#![allow(dead_code)]

use std::sync::Arc;

use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::testkit::{fast_http_settings, FakeControl, Harness};
use dsrhub_connector::{async_trait, Connector, Subject};
use dsrhub_microsoft_graph::fake::{FakeGraph, FakeOptions};
use dsrhub_microsoft_graph::{GraphConfig, MicrosoftGraph};

pub const SECRET_REF: &str = "keyring:graph-client-secret";

pub struct GraphHarness {
    pub fake: FakeGraph,
    pub secrets: Secrets,
    pub config: GraphConfig,
    pub connector: Arc<MicrosoftGraph>,
}

impl GraphHarness {
    pub async fn with(options: FakeOptions, tweak: impl FnOnce(&mut GraphConfig)) -> Self {
        let fake = FakeGraph::start_with(options).await.expect("fake starts");
        let secrets = Secrets::in_memory();
        secrets
            .store(&SECRET_REF.parse().unwrap(), &fake.client_secret())
            .unwrap();
        let mut config = GraphConfig {
            tenant_id: fake.tenant_id().to_string(),
            client_id: fake.client_id().to_string(),
            client_secret: SECRET_REF.parse().unwrap(),
            mailboxes: fake.mailboxes(),
            delete_mail: false,
            purge_deleted_users: false,
            graph_url: fake.graph_url(),
            login_url: fake.login_url(),
            http: fast_http_settings(),
        };
        tweak(&mut config);
        let connector = Arc::new(MicrosoftGraph::new(config.clone(), &secrets).expect("builds"));
        // Sign in once, as `dsrhub check` would, so request counts compare like with like.
        connector.check().await.expect("check");
        GraphHarness {
            fake,
            secrets,
            config,
            connector,
        }
    }

    pub async fn start_default() -> Self {
        Self::with(FakeOptions::default(), |_| {}).await
    }
}

pub fn email(address: &str) -> Subject {
    Subject {
        emails: vec![address.into()],
        ..Subject::default()
    }
}

/// Jan Jansen: Outlook contacts in two mailboxes, mail from, to and cc him; a lookalike
/// (jan.janssen@) and a message whose display name imitates his address.
pub fn jan() -> Subject {
    email("jan.jansen@example.nl")
}

#[async_trait]
impl Harness for GraphHarness {
    async fn start() -> Self {
        Self::start_default().await
    }

    fn connector(&self) -> Arc<dyn Connector> {
        self.connector.clone()
    }

    fn fake(&self) -> &dyn FakeControl {
        &self.fake
    }

    fn subject(&self) -> Subject {
        Subject {
            names: vec!["Jan Jansen".into()],
            ..jan()
        }
    }

    fn secret_values(&self) -> Vec<String> {
        let mut values = vec![self.fake.client_secret()];
        values.extend(self.fake.issued_tokens());
        values
    }

    fn store_credential(&self, value: &str) {
        self.secrets
            .store(&SECRET_REF.parse().unwrap(), value)
            .unwrap();
    }
}
