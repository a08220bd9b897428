//! A stateful fake of Moneybird's API v2, for tests and `dsrhub demo`.
//!
//! It serves the endpoints the connector uses under `/api/v2`, with Moneybird's paths (`.json`
//! suffix), bearer-token auth, the free-text `query` search, the `filter=key:value` syntax,
//! `page`/`per_page` paging with a `Link` header, its error bodies, and its rate limit: 150
//! requests per 5 minutes, `RateLimit-*` headers on every answer, and 429 `"Retry later"` with
//! `Retry-After` as an epoch second (as the official OpenAPI spec describes it). State is seeded
//! from `fixtures/moneybird/seed.json`; a delete really removes. Faults can be switched on: 429s,
//! 5xx, slow answers, an expired token.
//!
//! Facts the spec leaves open (the exact 401 body, what deleting a contact with invoices
//! answers) are marked in `docs/connectors/moneybird.md`.

mod routes;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dsrhub_connector::fakekit::{CallLog, Credential, Faults, Server, Store};
use tokio::time::Instant;
use url::Url;

pub use state::{Seed, State};

/// How the fake is set up.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Initial data.
    pub seed: Seed,
    /// The bearer token it accepts.
    pub token: String,
    /// Requests allowed per window (Moneybird: 150).
    pub quota_requests: u32,
    /// Window length (Moneybird: 5 minutes).
    pub quota_window: Duration,
    /// Keep state in this file: loaded at start when it exists, written after every change.
    pub state_file: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            seed: Seed::fixture(),
            token: "fake-moneybird-token-0001".into(),
            quota_requests: 150,
            quota_window: Duration::from_secs(300),
            state_file: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

#[derive(Debug)]
struct Window {
    started: Instant,
    count: u32,
}

/// Shared between the handlers and the test's handle.
#[derive(Debug)]
struct Inner {
    state: Store<State>,
    token: Credential,
    faults: Faults,
    log: CallLog,
    window: Mutex<Window>,
    quota_requests: u32,
    quota_window: Duration,
    page_size: Mutex<Option<usize>>,
    quota_rejections: AtomicU64,
}

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeMoneybird {
    inner: Arc<Inner>,
    server: Server,
    administration: String,
}

impl FakeMoneybird {
    /// Start with the shipped fixtures on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeOptions::default()).await
    }

    /// Start with `options`.
    pub async fn start_with(options: FakeOptions) -> std::io::Result<Self> {
        let seed = options.seed.clone();
        let state = Store::open(options.state_file.clone(), || State::from_seed(seed))?;
        let administration = state
            .lock()
            .administrations
            .first()
            .and_then(|a| a.get("id"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let inner = Arc::new(Inner {
            state,
            token: Credential::new(options.token, "fake-moneybird-token-"),
            faults: Faults::default(),
            log: CallLog::default(),
            window: Mutex::new(Window {
                started: Instant::now(),
                count: 0,
            }),
            quota_requests: options.quota_requests,
            quota_window: options.quota_window,
            page_size: Mutex::new(None),
            quota_rejections: AtomicU64::new(0),
        });
        let server = Server::start(options.listen, routes::router(inner.clone())).await?;
        Ok(FakeMoneybird {
            inner,
            server,
            administration,
        })
    }

    /// The API root to configure as `base_url`.
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}/api/v2", self.server.addr())).expect("valid URL")
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The token the fake currently accepts.
    pub fn token(&self) -> String {
        self.inner.token.current()
    }

    /// The fixture administration's id.
    pub fn administration_id(&self) -> &str {
        &self.administration
    }

    /// The fault switch: 429s, 5xx, slow answers, rejected credentials.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Every request received.
    pub fn log(&self) -> &CallLog {
        &self.inner.log
    }

    /// A copy of the current state.
    pub fn state(&self) -> State {
        self.inner.state.lock().clone()
    }

    /// Lock the bookkeeping through `day` (`YYYY-MM-DD`), as after a VAT return: invoices of
    /// that period can no longer be deleted.
    pub fn lock_period_through(&self, day: &str) {
        self.inner
            .state
            .mutate(|s| s.locked_until = Some(day.to_string()));
    }

    /// Issue a new token; the old one stops working.
    pub fn rotate_token(&self) -> String {
        self.inner.token.rotate(&self.inner.faults)
    }

    /// Serve at most `size` items per page, whatever `per_page` asks (`None`: normal).
    pub fn set_page_size(&self, size: Option<usize>) {
        *self.inner.page_size.lock().expect("page size") = size;
    }

    /// Requests refused because the client went over the quota (not injected faults).
    pub fn quota_rejections(&self) -> u64 {
        self.inner.quota_rejections.load(Ordering::SeqCst)
    }
}

#[cfg(feature = "testkit")]
mod control;
