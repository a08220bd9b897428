//! The one HTTP client every connector uses.
//!
//! Per request it: waits for the vendor's quota ([`RateLimiter`]) and concurrency cap; adds
//! credentials ([`Auth`]); sends with a timeout; on 401 refreshes credentials once and sends
//! again; classifies failures ([`Classifier`]); retries retryable ones with exponential backoff
//! and jitter (`backon`), replacing the computed delay with the vendor's own `Retry-After` or
//! reset header when it gives one; and logs method, redacted URL, status and timing through
//! `tracing`, never query values, bodies or credentials.
//!
//! Connectors never write retry loops or sleeps of their own; JSON batches, whose
//! sub-requests are throttled one by one, are retried here too ([`batch`]).

pub mod auth;
pub mod batch;
pub mod classify;
pub mod limiter;
pub mod paging;
pub mod retry_after;
pub mod transport;
pub mod waits;

use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use url::Url;

pub use auth::{Auth, BearerSecret, HeaderSource, NoAuth, SecretHeaders};
pub use batch::{BatchRequest, BatchResponse};
pub use classify::{Classifier, DefaultClassifier};
pub use limiter::{Quota, RateLimiter};
pub use paging::{link_next, Page};
/// The header types [`Request::header`] takes, so callers need no `reqwest` of their own.
pub use reqwest::header::{HeaderName, HeaderValue};

use crate::error::{ConnectorError, ErrorKind};
use crate::redact;

/// The per-processor HTTP settings a user may tune (`[processors.<id>.http]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Timeout for one attempt, in seconds.
    pub timeout_seconds: f64,
    /// Retries after the first attempt for retryable failures (429, 5xx, timeouts).
    pub max_retries: usize,
    /// First backoff delay, in milliseconds; doubles per retry, with jitter.
    pub initial_backoff_ms: u64,
    /// Longest computed backoff delay, in seconds.
    pub max_backoff_seconds: f64,
    /// Longest wait we accept from a vendor's `Retry-After`/reset header, in seconds.
    pub max_server_wait_seconds: f64,
    /// Wait after a 429 that carries no hint, in seconds; unset = the vendor default.
    pub throttle_wait_seconds: Option<f64>,
    /// Override the vendor's published quota (e.g. when a contract grants more).
    pub rate_limit: Option<Quota>,
    /// Override the vendor's concurrency cap.
    pub max_concurrency: Option<usize>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout_seconds: 30.0,
            max_retries: 5,
            initial_backoff_ms: 500,
            max_backoff_seconds: 60.0,
            max_server_wait_seconds: 900.0,
            throttle_wait_seconds: None,
            rate_limit: None,
            max_concurrency: None,
        }
    }
}

impl HttpSettings {
    /// Check the values; `field` is the setting's path for error messages.
    pub fn validate(&self, field: &str) -> Result<(), String> {
        let positive = |v: f64, name: &str| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{field}.{name} must be a positive number"))
            }
        };
        positive(self.timeout_seconds, "timeout_seconds")?;
        positive(self.max_backoff_seconds, "max_backoff_seconds")?;
        positive(self.max_server_wait_seconds, "max_server_wait_seconds")?;
        if let Some(w) = self.throttle_wait_seconds {
            positive(w, "throttle_wait_seconds")?;
        }
        if let Some(q) = &self.rate_limit {
            q.validate(&format!("{field}.rate_limit"))?;
        }
        if self.max_concurrency == Some(0) {
            return Err(format!("{field}.max_concurrency must be at least 1"));
        }
        Ok(())
    }
}

/// How a vendor reports the end of its rate-limit window.
#[derive(Debug, Clone)]
pub struct ResetHeaders {
    /// Header with the requests left in the window, e.g. `RateLimit-Remaining`.
    pub remaining: &'static str,
    /// Header with the moment (or delay until) the window resets, e.g. `RateLimit-Reset`.
    /// Parsed with [`retry_after::parse_wait`] (delta seconds, epoch seconds or millis).
    pub reset: &'static str,
}

/// The vendor facts a connector declares once: who it is, its published limits and how it
/// talks about them.
#[derive(Debug, Clone)]
pub struct VendorProfile {
    /// Processor id, for logs.
    pub processor: &'static str,
    /// Published quota.
    pub quota: Quota,
    /// Published concurrency cap, if any.
    pub max_concurrency: Option<usize>,
    /// Wait after a 429 without any hint; `None` = exponential backoff.
    pub throttle_wait: Option<Duration>,
    /// Rate-limit headers of the short window the client paces itself to, if the vendor
    /// sends them: when they say nothing remains, every caller waits for the reset.
    pub reset_headers: Option<ResetHeaders>,
    /// Headers of a long-window quota (Exact Online's calls per day): when they say nothing
    /// remains, calls fail at once with [`ConnectorError::resume_at`] set to the reset, so the
    /// task waits in the ledger instead of hammering or sleeping for hours.
    pub daily_headers: Option<ResetHeaders>,
    /// The `Accept` header every request carries, when the vendor's default answer is not
    /// what the connector reads (Exact Online answers Atom XML unless asked for JSON).
    pub accept: Option<&'static str>,
    /// Statuses that mean "these credentials were rejected" and trigger one refresh
    /// (401 everywhere; IT Glue answers a bad key with 403).
    pub reauth_statuses: &'static [u16],
}

/// One request, rebuilt for every attempt.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: Url,
    body: Option<(HeaderValue, Vec<u8>)>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Request {
    /// A request with `method` to `url`.
    pub fn new(method: Method, url: Url) -> Self {
        Request {
            method,
            url,
            body: None,
            headers: Vec::new(),
        }
    }

    /// `GET url`.
    pub fn get(url: Url) -> Self {
        Self::new(Method::GET, url)
    }

    /// `DELETE url`.
    pub fn delete(url: Url) -> Self {
        Self::new(Method::DELETE, url)
    }

    /// `PATCH url`.
    pub fn patch(url: Url) -> Self {
        Self::new(Method::PATCH, url)
    }

    /// `POST url`.
    pub fn post(url: Url) -> Self {
        Self::new(Method::POST, url)
    }

    /// `PUT url`.
    pub fn put(url: Url) -> Self {
        Self::new(Method::PUT, url)
    }

    /// Add a query parameter; the value is form-encoded (so `+`, `&`, `=` and `'` in an
    /// e-mail address stay part of the value).
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.url.query_pairs_mut().append_pair(key, value);
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json<T: Serialize>(self, body: &T) -> Self {
        self.json_as(body, "application/json")
    }

    /// A JSON body with a vendor media type (e.g. `application/vnd.api+json`).
    pub fn json_as<T: Serialize>(mut self, body: &T, media_type: &'static str) -> Self {
        let bytes = serde_json::to_vec(body).expect("serialising a JSON body cannot fail");
        self.body = Some((HeaderValue::from_static(media_type), bytes));
        self
    }

    /// A form body (`application/x-www-form-urlencoded`), e.g. for OAuth token calls.
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some((
            HeaderValue::from_static("application/x-www-form-urlencoded"),
            encoded.into_bytes(),
        ));
        self
    }

    /// An extra header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The target URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
}

/// A successful (2xx) answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The URL that answered.
    pub url: Url,
    /// Raw body.
    pub body: Vec<u8>,
}

impl Response {
    /// Decode the body as JSON. Decoding errors are scrubbed (serde quotes offending values).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ConnectorError::permanent(format!(
                "unexpected response body from {}: {}",
                redact::url_for_log(&self.url),
                redact::scrub(&e.to_string())
            ))
        })
    }
}

/// The shared HTTP client. Cheap to clone; clones share limiter, concurrency cap and auth.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    base: Url,
    profile: Arc<VendorProfile>,
    settings: HttpSettings,
    auth: Arc<dyn Auth>,
    limiter: Arc<RateLimiter>,
    concurrency: Option<Arc<Semaphore>>,
    classifier: Arc<dyn Classifier>,
    /// Until when the vendor's long-window quota is spent.
    exhausted_until: Arc<std::sync::Mutex<Option<jiff::Timestamp>>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("processor", &self.profile.processor)
            .field("base", &redact::url_for_log(&self.base))
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `base` with the vendor's `profile`, the user's `settings` (which may
    /// override quota and concurrency) and `auth`.
    pub fn new(
        base: Url,
        profile: VendorProfile,
        settings: HttpSettings,
        auth: Arc<dyn Auth>,
    ) -> Result<Self, ConnectorError> {
        settings
            .validate(&format!("processors.{}.http", profile.processor))
            .map_err(ConnectorError::invalid)?;
        let inner = reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(settings.timeout_seconds))
            .connect_timeout(Duration::from_secs_f64(settings.timeout_seconds.min(10.0)))
            // Never follow redirects: a redirect would carry credentials to another URL.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dsrhub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConnectorError::permanent(format!("could not build the HTTP client: {e}"))
            })?;
        let quota = settings.rate_limit.unwrap_or(profile.quota);
        let concurrency = settings
            .max_concurrency
            .or(profile.max_concurrency)
            .map(|n| Arc::new(Semaphore::new(n)));
        Ok(HttpClient {
            inner,
            base,
            limiter: Arc::new(RateLimiter::new(quota)),
            concurrency,
            settings,
            auth,
            profile: Arc::new(profile),
            classifier: Arc::new(DefaultClassifier),
            exhausted_until: Arc::new(std::sync::Mutex::new(None)),
        })
    }

    /// Use a vendor-specific error classifier.
    pub fn with_classifier(mut self, classifier: Arc<dyn Classifier>) -> Self {
        self.classifier = classifier;
        self
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The base URL with `segments` appended, each percent-encoded as one path segment (a `/`
    /// in an id cannot change the path). `.` and `..` are refused.
    pub fn url(&self, segments: &[&str]) -> Result<Url, ConnectorError> {
        if segments
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == "..")
        {
            return Err(ConnectorError::invalid(
                "refusing an empty, `.` or `..` path segment",
            ));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| ConnectorError::invalid("the base URL cannot take path segments"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Refuse URLs outside the vendor's origin (scheme, host and port of the base URL).
    pub fn ensure_same_origin(&self, url: &Url) -> Result<(), ConnectorError> {
        if url.origin() == self.base.origin() {
            Ok(())
        } else {
            Err(ConnectorError::permanent(format!(
                "refusing to send credentials to {}: it is not the configured {} host",
                url.host_str().unwrap_or("?"),
                self.profile.processor
            )))
        }
    }

    /// Send `request` with pacing, auth, retries and logging. Any non-2xx answer that is
    /// left after retries is an error.
    ///
    /// Retryable failures are retried whatever the method, so only send requests that are
    /// safe to repeat: reads, queries, deletes and updates that set absolute values (every
    /// call a connector makes today). A create would need an idempotency key first.
    pub async fn send(&self, request: Request) -> Result<Response, ConnectorError> {
        self.ensure_same_origin(&request.url)?;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(self.settings.initial_backoff_ms))
            .with_max_delay(Duration::from_secs_f64(self.settings.max_backoff_seconds))
            .with_max_times(self.settings.max_retries)
            .with_jitter();
        let throttle_wait = self
            .settings
            .throttle_wait_seconds
            .map(Duration::from_secs_f64)
            .or(self.profile.throttle_wait);
        // Why the next wait happens, for a person watching (`waits`): set by `notify`, which
        // runs just before each sleep.
        let reason = Arc::new(std::sync::Mutex::new(waits::WaitReason::Unavailable));
        let reason_of_sleep = reason.clone();
        (|| self.attempt(&request))
            .retry(backoff)
            .sleep(move |wait| {
                let why = *reason_of_sleep.lock().expect("wait reason");
                waits::wait(wait, why)
            })
            // A spent daily quota is not retried here: the task resumes after the reset.
            .when(|e: &ConnectorError| e.is_retryable() && e.resume_at.is_none())
            .adjust(|e: &ConnectorError, computed: Option<Duration>| {
                // `None` means retries are exhausted: keep it that way.
                computed.map(|computed| {
                    let hinted = match (e.retry_after, e.kind) {
                        (Some(wait), _) => Some(wait),
                        (None, ErrorKind::Throttled) => throttle_wait,
                        _ => None,
                    };
                    hinted.unwrap_or(computed)
                })
            })
            .notify(|e: &ConnectorError, wait: Duration| {
                *reason.lock().expect("wait reason") = if e.kind == ErrorKind::Throttled {
                    waits::WaitReason::RateLimit
                } else {
                    waits::WaitReason::Unavailable
                };
                tracing::warn!(
                    processor = self.profile.processor,
                    method = %request.method,
                    url = %redact::url_for_log(&request.url),
                    error = %e,
                    wait_ms = wait.as_millis() as u64,
                    "retrying"
                );
            })
            .await
    }

    /// `GET url` and decode JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, ConnectorError> {
        self.send(Request::get(url)).await?.json()
    }

    /// Follow a chain of pages from `first`, parsing each with `parse`.
    pub async fn collect_pages<T, F>(
        &self,
        first: Request,
        mut parse: F,
    ) -> Result<Vec<T>, ConnectorError>
    where
        F: FnMut(&Response) -> Result<Page<T>, ConnectorError>,
    {
        let mut items = Vec::new();
        let mut request = first;
        for _ in 0..paging::MAX_PAGES {
            let response = self.send(request.clone()).await?;
            let page = parse(&response)?;
            items.extend(page.items);
            match page.next {
                None => return Ok(items),
                Some(next) if next == request.url => {
                    return Err(ConnectorError::permanent(
                        "the vendor's next-page link points at the same page",
                    ));
                }
                Some(next) => {
                    self.ensure_same_origin(&next)?;
                    request = Request::get(next);
                }
            }
        }
        Err(ConnectorError::permanent(format!(
            "paging did not end after {} pages",
            paging::MAX_PAGES
        )))
    }

    /// The moment the vendor's long-window quota resets, while it is spent.
    pub fn quota_spent_until(&self) -> Option<jiff::Timestamp> {
        let mut until = self.exhausted_until.lock().expect("quota lock");
        if until.is_some_and(|t| t <= jiff::Timestamp::now()) {
            *until = None;
        }
        *until
    }

    fn quota_spent_error(&self, until: jiff::Timestamp) -> ConnectorError {
        ConnectorError::resuming_at(
            ErrorKind::Throttled,
            &format!("the {} call limit is spent", self.profile.processor),
            until,
        )
    }

    async fn attempt(&self, request: &Request) -> Result<Response, ConnectorError> {
        let mut refreshed = false;
        loop {
            if let Some(until) = self.quota_spent_until() {
                return Err(self.quota_spent_error(until));
            }
            self.limiter.acquire().await;
            let _permit = match &self.concurrency {
                Some(semaphore) => Some(
                    semaphore
                        .acquire()
                        .await
                        .expect("semaphore is never closed"),
                ),
                None => None,
            };
            let mut builder = self
                .inner
                .request(request.method.clone(), request.url.clone());
            if let Some(accept) = self.profile.accept {
                builder = builder.header(reqwest::header::ACCEPT, accept);
            }
            for (name, value) in &request.headers {
                builder = builder.header(name.clone(), value.clone());
            }
            if let Some((content_type, body)) = &request.body {
                builder = builder
                    .header(CONTENT_TYPE, content_type.clone())
                    .body(body.clone());
            }
            let builder = self.auth.apply(builder).await?;
            // Read after `apply`, which may itself have renewed the credentials.
            let generation = self.auth.generation();
            let started = tokio::time::Instant::now();
            let result = builder.send().await;
            let response = match result {
                Ok(response) => response,
                Err(e) => {
                    let e = e.without_url();
                    tracing::debug!(
                        processor = self.profile.processor,
                        method = %request.method,
                        url = %redact::url_for_log(&request.url),
                        error = %e,
                        "request failed"
                    );
                    let what = transport::describe(&e, self.settings.timeout_seconds);
                    return Err(ConnectorError::new(
                        ErrorKind::Retryable,
                        format!("request to {}: {what}", redact::url_for_log(&request.url)),
                    ));
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            let url = response.url().clone();
            let body = match response.bytes().await {
                Ok(body) => body.to_vec(),
                Err(_) => {
                    return Err(ConnectorError::new(
                        ErrorKind::Retryable,
                        format!(
                            "reading the answer from {} failed",
                            redact::url_for_log(&request.url)
                        ),
                    ))
                }
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            tracing::debug!(
                processor = self.profile.processor,
                method = %request.method,
                url = %redact::url_for_log(&request.url),
                status = status.as_u16(),
                elapsed_ms,
                "request"
            );
            let vendor_wait = self.observe_rate_headers(&headers);
            if status.is_success() {
                return Ok(Response {
                    status,
                    headers,
                    url,
                    body,
                });
            }
            if self.profile.reauth_statuses.contains(&status.as_u16()) && !refreshed {
                refreshed = true;
                self.auth.refresh(generation).await?;
                continue;
            }
            let kind = self.classifier.kind(status.as_u16(), &body);
            if kind == ErrorKind::Throttled {
                if let Some(until) = self.quota_spent_until() {
                    return Err(self.quota_spent_error(until).with_status(status.as_u16()));
                }
            }
            let message = self.classifier.message(status.as_u16(), &body);
            // The vendor's hint, capped: a hostile or broken header must not stall us for days.
            let retry_after = headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after::parse_wait(v, jiff::Timestamp::now()))
                .or(if kind == ErrorKind::Throttled {
                    vendor_wait
                } else {
                    None
                })
                .map(|wait| wait.min(self.max_server_wait()));
            if let Some(wait) = retry_after.filter(|_| kind == ErrorKind::Throttled) {
                self.limiter.pause_for(wait);
            }
            return Err(ConnectorError::new(kind, message)
                .with_status(status.as_u16())
                .with_retry_after(retry_after));
        }
    }

    fn max_server_wait(&self) -> Duration {
        Duration::from_secs_f64(self.settings.max_server_wait_seconds)
    }

    /// Read the vendor's remaining/reset headers; pause everyone when the window is spent.
    /// Returns the wait until the reset, when the vendor gave one.
    fn observe_rate_headers(&self, headers: &HeaderMap) -> Option<Duration> {
        let names = self.profile.reset_headers.as_ref()?;
        let reset = headers
            .get(names.reset)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after::parse_wait(v, jiff::Timestamp::now()));
        let remaining = headers
            .get(names.remaining)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let (Some(0), Some(wait)) = (remaining, reset) {
            self.limiter.pause_for(wait.min(self.max_server_wait()));
        }
        if let Some(daily) = &self.profile.daily_headers {
            let spent = headers
                .get(daily.remaining)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                == Some(0);
            let reset = headers
                .get(daily.reset)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after::parse_wait(v, jiff::Timestamp::now()));
            if let (true, Some(wait)) = (spent, reset) {
                let until = jiff::Timestamp::now()
                    .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or_default())
                    .unwrap_or(jiff::Timestamp::MAX);
                *self.exhausted_until.lock().expect("quota lock") = Some(until);
            }
        }
        reset
    }
}
