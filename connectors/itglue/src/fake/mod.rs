//! A stateful fake of IT Glue's JSON:API, for tests and `dsrhub demo`.
//!
//! Serves `GET /contacts` (with `filter[id]`, `filter[primary_email]`, `filter[first_name]`,
//! `filter[last_name]`, `filter[organization_id]`, `filter[psa_id]`; `page[size]` up to 1000 and
//! `page[number]`; `meta` with `next-page` and `total-count`; `links`), `GET|PATCH
//! /contacts/{id}`, bulk `DELETE /contacts` with a JSON:API body, and `GET /organizations[/{id}]`.
//! Kebab-case attributes, snake_case filters, JSON:API error objects; `x-api-key` checked (a
//! missing key 401, a wrong one 403); bodies must be `application/vnd.api+json` (else 415);
//! contacts synced from a PSA cannot be changed (422); 3000 requests per 5 minutes, then 429
//! without `Retry-After`. State is seeded from `fixtures/itglue/seed.json`.

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
    /// The API key it accepts.
    pub api_key: String,
    /// Requests per window (IT Glue: 3000 per 5 minutes).
    pub quota_requests: u32,
    /// The window.
    pub quota_window: Duration,
    /// Keep state in this file.
    pub state_file: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            seed: Seed::fixture(),
            api_key: "ITG.fake0001".into(),
            quota_requests: 3000,
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

#[derive(Debug)]
struct Inner {
    options: FakeOptions,
    state: Store<State>,
    api_key: Credential,
    faults: Faults,
    log: CallLog,
    window: Mutex<Window>,
    quota_rejections: AtomicU64,
    page_size: Mutex<Option<usize>>,
}

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeItGlue {
    inner: Arc<Inner>,
    server: Server,
}

impl FakeItGlue {
    /// Start with the shipped fixtures on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeOptions::default()).await
    }

    /// Start with `options`.
    pub async fn start_with(options: FakeOptions) -> std::io::Result<Self> {
        let seed = options.seed.clone();
        let state = Store::open(options.state_file.clone(), || State::from_seed(seed))?;
        let listen = options.listen;
        let inner = Arc::new(Inner {
            api_key: Credential::new(options.api_key.clone(), "ITG.fake"),
            options,
            state,
            faults: Faults::default(),
            log: CallLog::default(),
            window: Mutex::new(Window {
                started: Instant::now(),
                count: 0,
            }),
            quota_rejections: AtomicU64::new(0),
            page_size: Mutex::new(None),
        });
        let server = Server::start(listen, routes::router(inner.clone())).await?;
        Ok(FakeItGlue { inner, server })
    }

    /// The API root to configure as `base_url`.
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}", self.server.addr())).expect("valid URL")
    }

    /// The API key currently accepted.
    pub fn api_key(&self) -> String {
        self.inner.api_key.current()
    }

    /// The fault switch: 429s, 5xx, slow answers, rejected credentials.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Every request received.
    pub fn log(&self) -> &CallLog {
        &self.inner.log
    }

    /// A copy of the state.
    pub fn state(&self) -> State {
        self.inner.state.lock().clone()
    }

    /// Issue a new key; the old one stops working.
    pub fn rotate_key(&self) -> String {
        self.inner.api_key.rotate(&self.inner.faults)
    }

    /// Serve at most `size` records per page.
    pub fn set_page_size(&self, size: Option<usize>) {
        *self.inner.page_size.lock().expect("page size") = size;
    }

    /// Requests refused by the 5-minute limit.
    pub fn quota_rejections(&self) -> u64 {
        self.inner.quota_rejections.load(Ordering::SeqCst)
    }
}

#[cfg(feature = "testkit")]
mod control;
