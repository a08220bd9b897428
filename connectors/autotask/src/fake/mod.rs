//! A stateful fake of the Autotask REST API, for tests and `dsrhub demo`.
//!
//! Serves zone discovery (`/atservicesrest/v1.0/zoneInformation?user=`) and, under
//! `/ATServicesRest/V1.0`, entity queries (`POST /{Entity}/query` with Autotask's JSON filter,
//! `GET …/query?search=`, `GET …/query/next?paging=`, `POST …/query/count`), `GET /{Entity}/{id}`,
//! contact updates and deletes through the company child path, and ticket updates. It checks the
//! three auth headers the way Autotask does (wrong `UserName` or `ApiIntegrationCode`: 500; wrong
//! `Secret`: 401), answers errors as `{"errors": [...]}`, enforces the thread limit (3 concurrent
//! requests per integration and endpoint) and the hourly request limit with 429 and no
//! `Retry-After`, and slows its answers at 50 % and 75 % of the hourly limit. Deleting a contact
//! that a ticket names is refused. State is seeded from `fixtures/autotask/seed.json`.

mod query;
mod routes;
mod state;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    /// The API user (`UserName`).
    pub username: String,
    /// The API user's secret (`Secret`).
    pub secret: String,
    /// The integration's tracking identifier (`ApiIntegrationCode`).
    pub integration_code: String,
    /// Requests allowed per window (Autotask: 10,000 per rolling hour).
    pub hourly_limit: u32,
    /// The rolling window (Autotask: one hour).
    pub window: Duration,
    /// Concurrent requests per integration and endpoint (Autotask: 3).
    pub thread_limit: usize,
    /// Added latency at 50 % and at 75 % of the limit (Autotask: 0.5 s and 1 s).
    pub slowdown: (Duration, Duration),
    /// Put this host (`host:port`) into `nextPageUrl` instead of the fake's own.
    pub next_page_host: Option<String>,
    /// Requests other integrations of the database made in the current window: they share
    /// the hourly limit, and `ThresholdInformation` counts them.
    pub other_integrations_usage: u32,
    /// Keep state in this file.
    pub state_file: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            seed: Seed::fixture(),
            username: "dsrhub-api@voorbeeld-it.example".into(),
            secret: "fake-autotask-secret-0001".into(),
            integration_code: "FAKEINTEGRATIONCODE0001".into(),
            hourly_limit: 10_000,
            window: Duration::from_secs(3600),
            thread_limit: 3,
            slowdown: (Duration::from_millis(500), Duration::from_secs(1)),
            next_page_host: None,
            other_integrations_usage: 0,
            state_file: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// A page chain in progress.
#[derive(Debug, Clone)]
struct Paging {
    entity: String,
    ids: Vec<u64>,
    position: usize,
    max_records: usize,
    include: Vec<String>,
}

#[derive(Debug)]
struct Inner {
    options: FakeOptions,
    state: Store<State>,
    secret: Credential,
    faults: Faults,
    log: CallLog,
    sent: Mutex<VecDeque<Instant>>,
    in_flight: Mutex<HashMap<String, usize>>,
    max_in_flight: AtomicUsize,
    thread_rejections: AtomicU64,
    quota_rejections: AtomicU64,
    page_size: Mutex<Option<usize>>,
    paging: Mutex<HashMap<String, Paging>>,
    next_token: AtomicU64,
}

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeAutotask {
    inner: Arc<Inner>,
    server: Server,
}

impl FakeAutotask {
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
            secret: Credential::new(options.secret.clone(), "fake-autotask-secret-"),
            options,
            state,
            faults: Faults::default(),
            log: CallLog::default(),
            sent: Mutex::new(VecDeque::new()),
            in_flight: Mutex::new(HashMap::new()),
            max_in_flight: AtomicUsize::new(0),
            thread_rejections: AtomicU64::new(0),
            quota_rejections: AtomicU64::new(0),
            page_size: Mutex::new(None),
            paging: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(1),
        });
        let server = Server::start(listen, routes::router(inner.clone())).await?;
        Ok(FakeAutotask { inner, server })
    }

    /// Where zones are looked up (`zone_lookup_url`).
    pub fn zone_lookup_url(&self) -> Url {
        Url::parse(&format!("http://{}/atservicesrest", self.server.addr())).expect("valid URL")
    }

    /// The zone's REST root (`base_url`).
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}/ATServicesRest", self.server.addr())).expect("valid URL")
    }

    /// The API user.
    pub fn username(&self) -> &str {
        &self.inner.options.username
    }

    /// The secret currently accepted.
    pub fn secret(&self) -> String {
        self.inner.secret.current()
    }

    /// The integration code.
    pub fn integration_code(&self) -> &str {
        &self.inner.options.integration_code
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

    /// Issue a new secret; the old one stops working.
    pub fn rotate_secret(&self) -> String {
        self.inner.secret.rotate(&self.inner.faults)
    }

    /// Serve at most `size` records per page (`None`: as asked).
    pub fn set_page_size(&self, size: Option<usize>) {
        *self.inner.page_size.lock().expect("page size") = size;
    }

    /// The most requests in flight at once on one endpoint.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    /// Requests refused by the thread limit.
    pub fn thread_rejections(&self) -> u64 {
        self.inner.thread_rejections.load(Ordering::SeqCst)
    }

    /// Requests refused by the hourly limit.
    pub fn quota_rejections(&self) -> u64 {
        self.inner.quota_rejections.load(Ordering::SeqCst)
    }
}

#[cfg(feature = "testkit")]
mod control;
