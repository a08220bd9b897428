//! Building blocks every fake vendor shares (feature `fakekit`): the fault switch, the log of
//! received calls, a rotatable credential, and serving an axum router on loopback until the
//! handle is dropped.
//!
//! What differs per vendor — paths, auth headers, error bodies, how a 429 says "wait" — stays
//! in the connector's own `fake` module.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;

#[derive(Debug, Clone)]
struct StatusFault {
    status: u16,
    remaining: u32,
    retry_after: Option<Duration>,
}

#[derive(Debug, Default)]
struct FaultState {
    statuses: VecDeque<StatusFault>,
    slow: Option<Duration>,
    credentials_expired: bool,
}

/// Faults switched on by tests: answers with a chosen status, slow answers, rejected
/// credentials.
#[derive(Debug, Default)]
pub struct Faults(Mutex<FaultState>);

impl Faults {
    fn state(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next `count` requests answer `status` (queued after earlier faults); for 429s,
    /// `retry_after` is the wait the vendor should announce, in its own format.
    pub fn fail_next(&self, status: u16, count: u32, retry_after: Option<Duration>) {
        self.state().statuses.push_back(StatusFault {
            status,
            remaining: count,
            retry_after,
        });
    }

    /// Take the status fault for the current request, if one is queued.
    pub fn next_status(&self) -> Option<(u16, Option<Duration>)> {
        let mut state = self.state();
        let fault = state.statuses.front_mut().map(|f| {
            f.remaining = f.remaining.saturating_sub(1);
            (f.status, f.retry_after)
        });
        if state.statuses.front().is_some_and(|f| f.remaining == 0) {
            state.statuses.pop_front();
        }
        fault
    }

    /// Delay every answer by `delay` (`None` to stop).
    pub fn set_slow(&self, delay: Option<Duration>) {
        self.state().slow = delay;
    }

    /// The current delay, if any.
    pub fn slow(&self) -> Option<Duration> {
        self.state().slow
    }

    /// Reject the current credentials until they are renewed.
    pub fn expire_credentials(&self) {
        self.state().credentials_expired = true;
    }

    /// Accept credentials again (after a rotation).
    pub fn renew_credentials(&self) {
        self.state().credentials_expired = false;
    }

    /// Whether credentials are being rejected.
    pub fn credentials_expired(&self) -> bool {
        self.state().credentials_expired
    }

    /// Switch every fault off.
    pub fn clear(&self) {
        *self.state() = FaultState::default();
    }
}

/// Every request a fake received; while capturing, also every exchange in full.
#[derive(Debug, Default)]
pub struct CallLog {
    count: AtomicU64,
    calls: Mutex<Vec<(String, String)>>,
    capturing: std::sync::atomic::AtomicBool,
    exchanges: Mutex<Vec<Exchange>>,
}

/// One request and the fake's answer, bodies included, for checking both against the
/// vendor's published API description (see `testkit::conformance`).
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query's `(name, value)` pairs, decoded.
    pub query: Vec<(String, String)>,
    /// The request's `Content-Type`, if any.
    pub request_type: Option<String>,
    /// The request's `Accept`, if any.
    pub accept: Option<String>,
    /// The request body, when it was JSON.
    pub request: Option<serde_json::Value>,
    /// The answer's status.
    pub status: u16,
    /// The answer's `Content-Type`, if any.
    pub response_type: Option<String>,
    /// The answer's body, when it was JSON.
    pub response: Option<serde_json::Value>,
}

/// Bodies larger than this are not captured (a bench's generated mailbox).
const CAPTURE_LIMIT: usize = 16 << 20;

/// Record `request` and its answer in `log` when it captures: a fake's outermost middleware
/// calls this (`axum::middleware::from_fn_with_state`). Otherwise passes the request on.
pub async fn capture(
    log: &CallLog,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if !log.capturing() {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, CAPTURE_LIMIT).await else {
        return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let content_type = |headers: &axum::http::HeaderMap| {
        headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let query = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut exchange = Exchange {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query,
        request_type: content_type(&parts.headers),
        accept: parts
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        request: serde_json::from_slice(&bytes).ok(),
        status: 0,
        response_type: None,
        response: None,
    };
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, CAPTURE_LIMIT).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    exchange.status = parts.status.as_u16();
    exchange.response_type = content_type(&parts.headers);
    // Only a JSON answer is a JSON body (`$count` answers `42` as text/plain).
    exchange.response = exchange
        .response_type
        .as_deref()
        .filter(|t| t.contains("json"))
        .and_then(|_| serde_json::from_slice(&bytes).ok());
    log.exchanges
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(exchange);
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

use axum::response::IntoResponse as _;

impl CallLog {
    /// Record one request.
    pub fn record(&self, method: &str, path: &str) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((method.to_string(), path.to_string()));
    }

    /// Start (or stop) keeping every exchange in full, for a conformance check.
    pub fn capture(&self, on: bool) {
        self.capturing.store(on, Ordering::SeqCst);
    }

    /// Whether exchanges are kept in full.
    pub fn capturing(&self) -> bool {
        self.capturing.load(Ordering::SeqCst)
    }

    /// Every exchange kept while capturing, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Requests received.
    pub fn requests_seen(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Every `(method, path)` received, in order.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many `method` requests reached `path`, whatever they were answered.
    pub fn calls_to(&self, method: &str, path: &str) -> usize {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(m, p)| m == method && p == path)
            .count()
    }
}

/// The credential a fake accepts (API key, client secret, token), which tests rotate: the new
/// value replaces the old one at once, as when an administrator issues a new key.
#[derive(Debug)]
pub struct Credential {
    current: Mutex<String>,
    generation: AtomicU64,
    prefix: &'static str,
}

impl Credential {
    /// `initial` is accepted until the first rotation; rotated values are `prefix` and a
    /// four-digit generation (`"ITG.fake0002"`).
    pub fn new(initial: String, prefix: &'static str) -> Credential {
        Credential {
            current: Mutex::new(initial),
            generation: AtomicU64::new(1),
            prefix,
        }
    }

    /// The value accepted now.
    pub fn current(&self) -> String {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether `presented` is the value accepted now.
    pub fn accepts(&self, presented: &str) -> bool {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) == presented
    }

    /// Issue a new value (the old one stops working) and lift an "expired credentials" fault.
    pub fn rotate(&self, faults: &Faults) -> String {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let value = format!("{}{generation:04}", self.prefix);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = value.clone();
        faults.renew_credentials();
        value
    }
}

/// What every fake does first with a request: log it, then apply the slow-answer fault.
pub async fn arrive(log: &CallLog, faults: &Faults, method: &str, path: &str) {
    log.record(method, path);
    if let Some(delay) = faults.slow() {
        tokio::time::sleep(delay).await;
    }
}

/// A router being served; dropping it stops the server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    _shutdown: oneshot::Sender<()>,
}

impl Server {
    /// Bind `listen` and serve `router` on it in the background.
    pub async fn start(listen: SocketAddr, router: axum::Router) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Server {
            addr,
            _shutdown: tx,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Write `value` as pretty JSON to `path` atomically (temp file + rename), for fakes that keep
/// their state between runs.
pub fn save_json<T: serde::Serialize>(path: &std::path::Path, value: &T) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_state_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fake.json");
        let store = Store::open(Some(file.clone()), || vec![1, 2, 3]).unwrap();
        store.mutate(|v: &mut Vec<i32>| v.retain(|x| *x != 2));
        drop(store);
        let again = Store::open(Some(file), || vec![9]).unwrap();
        assert_eq!(*again.lock(), vec![1, 3]);
        let memory = Store::open(None, || vec![7]).unwrap();
        memory.mutate(|v: &mut Vec<i32>| v.push(8));
        assert_eq!(*memory.lock(), vec![7, 8]);
    }

    #[test]
    fn status_faults_run_in_order_and_expire() {
        let faults = Faults::default();
        faults.fail_next(429, 2, Some(Duration::from_secs(1)));
        faults.fail_next(500, 1, None);
        assert_eq!(
            faults.next_status(),
            Some((429, Some(Duration::from_secs(1))))
        );
        assert_eq!(
            faults.next_status(),
            Some((429, Some(Duration::from_secs(1))))
        );
        assert_eq!(faults.next_status(), Some((500, None)));
        assert_eq!(faults.next_status(), None);
    }
}

/// A fake's state: behind a lock, and saved to a file after every change when the fake keeps
/// its state between runs (`dsrhub demo --sandbox`).
#[derive(Debug)]
pub struct Store<S> {
    state: Mutex<S>,
    file: Option<std::path::PathBuf>,
}

impl<S: serde::Serialize + serde::de::DeserializeOwned> Store<S> {
    /// The state saved in `file` when there is one, otherwise `seed()` (saved at once when a
    /// file is given).
    pub fn open(
        file: Option<std::path::PathBuf>,
        seed: impl FnOnce() -> S,
    ) -> std::io::Result<Store<S>> {
        let state = match &file {
            Some(path) if path.exists() => serde_json::from_slice(&std::fs::read(path)?)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?,
            _ => seed(),
        };
        if let Some(path) = &file {
            save_json(path, &state)?;
        }
        Ok(Store {
            state: Mutex::new(state),
            file,
        })
    }

    /// Read access.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, S> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Change the state and save it.
    pub fn mutate<T>(&self, change: impl FnOnce(&mut S) -> T) -> T {
        let mut state = self.lock();
        let out = change(&mut state);
        if let Some(path) = &self.file {
            if let Err(e) = save_json(path, &*state) {
                tracing::error!(error = %e, "a fake vendor could not save its state");
            }
        }
        out
    }
}
