//! A stateful fake of Exact Online's REST API and OAuth server, for tests and `dsrhub demo`.
//!
//! It serves `/api/oauth2/auth` (auto-consents as the fixture user and redirects with a
//! single-use code), `/api/oauth2/token` (code exchange and refresh, `expires_in` as a string,
//! rotating refresh tokens that die once a newer pair is used, refreshes refused before 9.5 of
//! the access token's 10 minutes, refresh tokens expiring unused after 30 days, a daily cap on
//! token calls),
//! and under `/api/v1`: `current/Me`, `{division}/system/Divisions`, `crm/Contacts`,
//! `crm/Accounts`, `salesinvoice/SalesInvoices` and `financialtransaction/TransactionLines`
//! with `$filter` (`eq`/`ne`, `and`/`or`, parentheses, string and `guid'…'` literals),
//! `$select`, `$top`, `$skiptoken` paging by `d.__next` (60 per page), `{Entity}(guid'…')`
//! GET/PUT/DELETE, `/$count`, OData v2 error bodies, deletes refused for records the books
//! still use, the minutely and daily limits per division with the real `X-RateLimit-*`
//! headers (resets in epoch milliseconds) and 429, and the block of an endpoint for an hour
//! after 10 errors. State is seeded from `fixtures/exact-online/seed.json`.
//!
//! What Exact does not document (the block's status code, the daily-cap answer of the token
//! endpoint, `$count` under mandatory filtering) is marked in `docs/connectors/exact-online.md`.

mod oauth;
mod odata;
mod routes;
mod state;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dsrhub_connector::fakekit::{CallLog, Faults, Server, Store};
use tokio::time::Instant;
use url::Url;

pub use state::{Division, Seed, Set, State, User};

/// How the fake is set up.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Initial data.
    pub seed: Seed,
    /// The registered app.
    pub client_id: String,
    /// The app's secret.
    pub client_secret: String,
    /// The redirect URI registered for the app.
    pub redirect_uri: String,
    /// Access-token lifetime (Exact: 10 minutes). A refresh is refused until the newest
    /// access token lived 95 % of it (Exact: 9.5 minutes).
    pub access_lifetime: Duration,
    /// How long an unused refresh token stays valid (Exact: 30 days).
    pub refresh_lifetime: Duration,
    /// Calls per minute window per division (Exact: 60).
    pub minutely_limit: u32,
    /// The "minute" (shorter in tests).
    pub minute: Duration,
    /// Calls per day per division (Exact: 5,000 for new apps).
    pub daily_limit: u32,
    /// Token-endpoint calls per day (Exact: 200).
    pub token_daily_cap: u32,
    /// The divisions a published app was granted when the user authorised it (`None`: all).
    /// Calls to other divisions answer 403 "User division is not within division scope",
    /// although `system/Divisions` lists them.
    pub division_scope: Option<Vec<u32>>,
    /// Keep state in this file between runs.
    pub state_file: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            seed: State::fixture(),
            client_id: "3f0e6c1a-5b2d-4c8e-9a7f-1d2e3f4a5b6c".into(),
            client_secret: "fake-exact-client-secret".into(),
            redirect_uri: "https://localhost/dsrhub/exact-online/callback".into(),
            access_lifetime: Duration::from_secs(600),
            refresh_lifetime: Duration::from_secs(30 * 24 * 3600),
            minutely_limit: 60,
            minute: Duration::from_secs(60),
            daily_limit: 5000,
            token_daily_cap: 200,
            division_scope: None,
            state_file: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

#[derive(Debug)]
struct Bucket {
    minute_started: Instant,
    minute_count: u32,
    day_count: u32,
}

/// Shared between the handlers and the test's handle.
#[derive(Debug)]
struct Inner {
    state: Store<State>,
    chain: Mutex<oauth::Chain>,
    options: Mutex<FakeOptions>,
    base: OnceLock<String>,
    faults: Faults,
    log: CallLog,
    buckets: Mutex<HashMap<u32, Bucket>>,
    errors: Mutex<HashMap<(u32, String), Vec<Instant>>>,
    blocked: Mutex<HashMap<(u32, String), Instant>>,
    page_size: Mutex<Option<usize>>,
    token_calls: AtomicU64,
    old_refresh_token_uses: AtomicU64,
    early_refreshes: AtomicU64,
    limit_rejections: AtomicU64,
    errors_answered: AtomicU64,
    /// Calls in flight per division, and the most seen at once.
    in_flight: Mutex<HashMap<u32, usize>>,
    max_in_flight: AtomicU64,
}

impl Inner {
    fn options(&self) -> FakeOptions {
        self.options.lock().expect("options").clone()
    }
}

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeExactOnline {
    inner: Arc<Inner>,
    server: Server,
}

impl FakeExactOnline {
    /// Start with the shipped fixtures on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(FakeOptions::default()).await
    }

    /// Start with `options`.
    pub async fn start_with(options: FakeOptions) -> std::io::Result<Self> {
        let seed = options.seed.clone();
        let state = Store::open(options.state_file.clone(), || seed)?;
        let listen = options.listen;
        let inner = Arc::new(Inner {
            state,
            chain: Mutex::new(oauth::Chain::default()),
            options: Mutex::new(options),
            base: OnceLock::new(),
            faults: Faults::default(),
            log: CallLog::default(),
            buckets: Mutex::new(HashMap::new()),
            errors: Mutex::new(HashMap::new()),
            blocked: Mutex::new(HashMap::new()),
            page_size: Mutex::new(None),
            token_calls: AtomicU64::new(0),
            old_refresh_token_uses: AtomicU64::new(0),
            early_refreshes: AtomicU64::new(0),
            limit_rejections: AtomicU64::new(0),
            errors_answered: AtomicU64::new(0),
            in_flight: Mutex::new(HashMap::new()),
            max_in_flight: AtomicU64::new(0),
        });
        let server = Server::start(listen, routes::router(inner.clone())).await?;
        let _ = inner.base.set(format!("http://{}", server.addr()));
        Ok(FakeExactOnline { inner, server })
    }

    /// The host to configure as `host`.
    pub fn host(&self) -> Url {
        Url::parse(&format!("http://{}", self.server.addr())).expect("valid URL")
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The registered app's client id.
    pub fn client_id(&self) -> String {
        self.inner.options().client_id
    }

    /// The registered app's client secret.
    pub fn client_secret(&self) -> String {
        self.inner.options().client_secret
    }

    /// The registered redirect URI.
    pub fn redirect_uri(&self) -> Url {
        Url::parse(&self.inner.options().redirect_uri).expect("valid redirect URI")
    }

    /// The fault switch: 429s, 5xx, slow answers, a revoked grant.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Every request received (API and OAuth).
    pub fn log(&self) -> &CallLog {
        &self.inner.log
    }

    /// A copy of the current state.
    pub fn state(&self) -> State {
        self.inner.state.lock().clone()
    }

    /// A consent given outside the hub (a person signing in again): every earlier token is
    /// revoked and a new pair issued. Returns what `dsrhub auth login` stores: the new pair
    /// as the SDK's token-set JSON (the access token too, which Exact would not renew for
    /// 9.5 minutes).
    pub fn new_grant(&self) -> String {
        let lifetime = self.inner.options().access_lifetime;
        let (access, refresh) = {
            let mut chain = self.inner.chain.lock().expect("chain");
            chain.revoke_all();
            chain.issue(lifetime)
        };
        self.inner.faults.renew_credentials();
        let response = dsrhub_connector::oauth::TokenResponse {
            access_token: access.into(),
            refresh_token: Some(refresh.into()),
            expires_in: Some(lifetime),
            token_type: Some("bearer".into()),
        };
        dsrhub_connector::oauth::TokenSet::from_response(response, None, jiff::Timestamp::now())
            .expect("a refresh token was issued")
            .to_secret_json()
    }

    /// Every access token issued so far answers 401 from now on; the refresh tokens keep
    /// working.
    pub fn revoke_access_tokens(&self) {
        self.inner
            .chain
            .lock()
            .expect("chain")
            .revoke_access_tokens();
    }

    /// Serve at most `size` entities per page (`None`: Exact's 60).
    pub fn set_page_size(&self, size: Option<usize>) {
        *self.inner.page_size.lock().expect("page size") = size;
    }

    /// Change the daily call limit per division.
    pub fn set_daily_limit(&self, limit: u32) {
        self.inner.options.lock().expect("options").daily_limit = limit;
    }

    /// Play the person at the consent page: open `authorize_url` (what `dsrhub auth login`
    /// prints) and return where the fake redirects the browser, code and state included.
    pub async fn approve(&self, authorize_url: &Url) -> Result<Url, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let response = client
            .get(authorize_url.clone())
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("the consent page answered {}", response.status()))?;
        Url::parse(location).map_err(|e| e.to_string())
    }

    /// Token-endpoint calls received.
    pub fn token_calls(&self) -> u64 {
        self.inner.token_calls.load(Ordering::SeqCst)
    }

    /// Refreshes refused because the newest access token had not lived 95 % of its life
    /// ("access_token not expired").
    pub fn early_refreshes(&self) -> u64 {
        self.inner.early_refreshes.load(Ordering::SeqCst)
    }

    /// Refresh tokens presented after a newer pair was used ("Old refresh token used").
    pub fn old_refresh_token_uses(&self) -> u64 {
        self.inner.old_refresh_token_uses.load(Ordering::SeqCst)
    }

    /// Calls refused because the client went over the minutely or daily limit.
    pub fn limit_rejections(&self) -> u64 {
        self.inner.limit_rejections.load(Ordering::SeqCst)
    }

    /// API answers with an error status that counts towards the 10-errors block (injected
    /// faults not included).
    pub fn errors_answered(&self) -> u64 {
        self.inner.errors_answered.load(Ordering::SeqCst)
    }

    /// The most calls to one division that were in flight at once. Exact's best practices:
    /// requests to one division must be sequential (parallel ones are queued in random order,
    /// and data integrity is not guaranteed).
    pub fn max_in_flight_per_division(&self) -> u64 {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }
}

#[cfg(feature = "testkit")]
mod control;
