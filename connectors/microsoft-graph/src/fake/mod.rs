//! A stateful fake of Microsoft Graph (v1.0) and the identity platform's token endpoint, for
//! tests and `dsrhub demo`.
//!
//! It serves `POST /{tenant}/oauth2/v2.0/token` (client credentials, `expires_in` as a
//! number, no refresh token) and under `/v1.0`: `users` with `$filter` (`eq`, `startswith`,
//! `any` lambdas, `or`/`and`), `$select`, `$top`, `$count` and the advanced-query rule (`$count`
//! needs `ConsistencyLevel: eventual`, else 400 `Request_UnsupportedQuery`; `eq` inside an
//! `any` lambda on `proxyAddresses` is a default query),
//! `users/$count`, `users/{id|upn}` GET/DELETE (soft delete into `directory/deletedItems`),
//! `users/{id}/contacts` with `emailAddresses/any(…)`, `users/{id}/messages` with a KQL
//! `$search` of quoted phrases (`participants:` and friends), `$expand=attachments`,
//! `@odata.nextLink` paging with an opaque `$skiptoken`, `$batch` (at most 20 sub-requests, run
//! one by one through the same gate so each can be throttled on its own, answered in another
//! order than asked), Graph's error bodies, 429 with `Retry-After` in seconds, and at most 4
//! concurrent requests per mailbox (`ApplicationThrottled`). State is seeded from
//! `fixtures/microsoft-graph/seed.json`; [`FakeOptions::generated`] adds a mailbox of any number
//! of messages built on demand.

mod filter;
pub(crate) mod routes;
mod search;
mod state;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dsrhub_connector::fakekit::{CallLog, Credential, Faults, Server, Store};
use tokio::time::Instant;
use url::Url;

pub use state::{Generated, Seed, State};

/// How the fake is set up.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Initial data.
    pub seed: Seed,
    /// The tenant id in the token URL.
    pub tenant_id: String,
    /// The app registration.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: String,
    /// Access-token lifetime (Graph: about an hour).
    pub token_lifetime: Duration,
    /// Concurrent requests per mailbox before Graph answers 429 (Outlook: 4).
    pub mailbox_concurrency: usize,
    /// Add a mailbox of generated messages: (mailbox UPN, correspondent address, count,
    /// body bytes).
    pub generated: Option<(String, String, usize, usize)>,
    /// Minutes between two generated messages (`None`: 2, so 720 a day, under the 1,000
    /// results a search returns).
    pub spacing_minutes: Option<i64>,
    /// Keep state in this file between runs.
    pub state_file: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            seed: State::fixture(),
            tenant_id: "8c1f5d2e-4b3a-4f6e-9d7c-2a1b0c9d8e7f".into(),
            client_id: "5e2d8c4a-7b1f-4a3e-8c9d-0f1e2d3c4b5a".into(),
            client_secret: "fake-graph-client-secret-0001".into(),
            token_lifetime: Duration::from_secs(3599),
            mailbox_concurrency: 4,
            generated: None,
            spacing_minutes: None,
            state_file: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// Shared between the handlers and the test's handle.
#[derive(Debug)]
struct Inner {
    state: Store<State>,
    options: FakeOptions,
    secret: Credential,
    tokens: Mutex<HashMap<String, Instant>>,
    token_counter: AtomicU64,
    faults: Faults,
    log: CallLog,
    in_flight: Mutex<HashMap<String, usize>>,
    max_in_flight: AtomicUsize,
    concurrency_rejections: AtomicU64,
    page_size: Mutex<Option<usize>>,
    base: OnceLock<String>,
    sub_router: OnceLock<axum::Router>,
    token_calls: AtomicU64,
    batches: AtomicU64,
    /// The next N batch sub-requests are answered 429 inside the batch.
    throttled_subs: AtomicU64,
}

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeGraph {
    inner: Arc<Inner>,
    server: Server,
}

impl FakeGraph {
    /// Start with the shipped fixtures on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeOptions::default()).await
    }

    /// Start with `options`.
    pub async fn start_with(options: FakeOptions) -> std::io::Result<Self> {
        let mut seed = options.seed.clone();
        if let Some((mailbox, correspondent, count, body_bytes)) = &options.generated {
            let user = seed.user_id(mailbox).ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "unknown mailbox")
            })?;
            seed.generated = Some(Generated {
                mailbox: user,
                correspondent: correspondent.clone(),
                count: *count,
                body_bytes: *body_bytes,
                deleted: Default::default(),
                newest: jiff::Timestamp::now(),
                spacing_minutes: options.spacing_minutes.unwrap_or(2),
            });
        }
        let state = Store::open(options.state_file.clone(), || seed)?;
        let listen = options.listen;
        let inner = Arc::new(Inner {
            state,
            secret: Credential::new(options.client_secret.clone(), "fake-graph-client-secret-"),
            options,
            tokens: Mutex::new(HashMap::new()),
            token_counter: AtomicU64::new(0),
            faults: Faults::default(),
            log: CallLog::default(),
            in_flight: Mutex::new(HashMap::new()),
            max_in_flight: AtomicUsize::new(0),
            concurrency_rejections: AtomicU64::new(0),
            page_size: Mutex::new(None),
            base: OnceLock::new(),
            sub_router: OnceLock::new(),
            token_calls: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            throttled_subs: AtomicU64::new(0),
        });
        let _ = inner.sub_router.set(routes::api(inner.clone()));
        let server = Server::start(listen, routes::router(inner.clone())).await?;
        let _ = inner.base.set(format!("http://{}/v1.0", server.addr()));
        Ok(FakeGraph { inner, server })
    }

    /// Graph's root, for `graph_url`.
    pub fn graph_url(&self) -> Url {
        Url::parse(&format!("http://{}/v1.0", self.server.addr())).expect("valid URL")
    }

    /// The identity platform's root, for `login_url`.
    pub fn login_url(&self) -> Url {
        Url::parse(&format!("http://{}", self.server.addr())).expect("valid URL")
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The tenant id.
    pub fn tenant_id(&self) -> &str {
        &self.inner.options.tenant_id
    }

    /// The app's client id.
    pub fn client_id(&self) -> &str {
        &self.inner.options.client_id
    }

    /// The client secret the token endpoint accepts now.
    pub fn client_secret(&self) -> String {
        self.inner.secret.current()
    }

    /// Every access token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.inner
            .tokens
            .lock()
            .expect("tokens")
            .keys()
            .cloned()
            .collect()
    }

    /// The user principal names of every mailbox in the tenant.
    pub fn mailboxes(&self) -> Vec<String> {
        self.state()
            .users
            .values()
            .filter_map(|u| u["userPrincipalName"].as_str().map(str::to_owned))
            .collect()
    }

    /// The fault switch.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Every request received (sub-requests of batches included).
    pub fn log(&self) -> &CallLog {
        &self.inner.log
    }

    /// A copy of the current state.
    pub fn state(&self) -> State {
        self.inner.state.lock().clone()
    }

    /// What Entra ID does by itself 30 days after a user's deletion: purge every user in
    /// `directory/deletedItems` (the fake's clock does not run for a month in a test).
    pub fn purge_deleted_users(&self) {
        self.inner.state.mutate(|s| s.deleted_users.clear());
    }

    /// A new client secret (the old one and every token stop working); returns it.
    pub fn rotate_secret(&self) -> String {
        self.inner.tokens.lock().expect("tokens").clear();
        self.inner.secret.rotate(&self.inner.faults)
    }

    /// Serve at most `size` items per page (`None`: as asked, within Graph's maximums).
    pub fn set_page_size(&self, size: Option<usize>) {
        *self.inner.page_size.lock().expect("page size") = size;
    }

    /// The most requests in flight on one mailbox at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    /// Requests refused because a mailbox had too many in flight.
    pub fn concurrency_rejections(&self) -> u64 {
        self.inner.concurrency_rejections.load(Ordering::SeqCst)
    }

    /// Token-endpoint calls received.
    pub fn token_calls(&self) -> u64 {
        self.inner.token_calls.load(Ordering::SeqCst)
    }

    /// Answer the next `count` sub-requests of batches with 429 and `Retry-After: 1` inside
    /// an otherwise successful batch (Graph throttles sub-requests one by one).
    pub fn throttle_sub_requests(&self, count: u64) {
        self.inner.throttled_subs.store(count, Ordering::SeqCst);
    }

    /// `$batch` calls received.
    pub fn batches(&self) -> u64 {
        self.inner.batches.load(Ordering::SeqCst)
    }
}

#[cfg(feature = "testkit")]
mod control;
