//! OData JSON batches (`POST $batch`, Microsoft Graph): many requests in one call, each
//! answered on its own.
//!
//! Sub-requests are throttled one by one: a batch can come back 200 with one sub-response 429
//! and its own `Retry-After` inside. [`HttpClient::send_batch`] matches answers by id (their
//! order is not guaranteed), retries only the retryable sub-requests in a later batch after
//! the longest wait they asked for, and returns one result per request, in request order.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::{retry_after, HttpClient, Request};
use crate::error::ConnectorError;
use crate::redact;

/// One request inside a batch.
#[derive(Debug, Clone, Serialize)]
pub struct BatchRequest {
    /// Unique within the call; answers are matched by it.
    pub id: String,
    /// `GET`, `DELETE`, …
    pub method: &'static str,
    /// Relative to the API root, e.g. `/users/{id}/messages?$search=…`.
    pub url: String,
    /// Extra headers (e.g. `ConsistencyLevel: eventual`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl BatchRequest {
    /// `GET url` with id `id`.
    pub fn get(id: impl Into<String>, url: impl Into<String>) -> Self {
        BatchRequest {
            id: id.into(),
            method: "GET",
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
        }
    }

    /// With an extra header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_string(), value.to_string());
        self
    }
}

/// One successful answer inside a batch.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchResponse {
    /// The request's id.
    pub id: String,
    /// HTTP status.
    pub status: u16,
    /// Headers, as the vendor gave them.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON body (`null` when there was none).
    #[serde(default)]
    pub body: Value,
}

#[derive(Deserialize)]
struct BatchBody {
    responses: Vec<BatchResponse>,
}

impl BatchResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl HttpClient {
    /// Send `requests` to `batch_url` in batches of at most `per_batch`. Sub-requests answered
    /// with a retryable status (429, 5xx) are sent again, up to the client's `max_retries`,
    /// after the longest `Retry-After` among them (or the computed backoff). One result per
    /// request, in request order; a failed sub-request is classified like any answer.
    pub async fn send_batch(
        &self,
        batch_url: &Url,
        requests: &[BatchRequest],
        per_batch: usize,
    ) -> Result<Vec<Result<BatchResponse, ConnectorError>>, ConnectorError> {
        let per_batch = per_batch.max(1);
        let mut results: HashMap<String, Result<BatchResponse, ConnectorError>> = HashMap::new();
        if requests
            .iter()
            .map(|r| r.id.as_str())
            .collect::<std::collections::HashSet<_>>()
            .len()
            != requests.len()
        {
            return Err(ConnectorError::invalid("batch request ids must be unique"));
        }
        let mut pending: Vec<&BatchRequest> = requests.iter().collect();
        let mut attempt = 0usize;
        while !pending.is_empty() {
            let mut again = Vec::new();
            let mut wait = Duration::ZERO;
            let retries_left = attempt < self.settings.max_retries;
            for chunk in pending.chunks(per_batch) {
                let body = serde_json::json!({ "requests": chunk });
                let response = self
                    .send(Request::post(batch_url.clone()).json(&body))
                    .await?;
                let answers: BatchBody = response.json()?;
                let mut answered: HashMap<String, BatchResponse> = answers
                    .responses
                    .into_iter()
                    .map(|a| (a.id.clone(), a))
                    .collect();
                for request in chunk {
                    let Some(answer) = answered.remove(&request.id) else {
                        // Not answered at all: treat like a transient failure.
                        if retries_left {
                            again.push(*request);
                        } else {
                            results.insert(
                                request.id.clone(),
                                Err(ConnectorError::new(
                                    crate::ErrorKind::Retryable,
                                    "the batch answer left out a request",
                                )),
                            );
                        }
                        continue;
                    };
                    if (200..300).contains(&answer.status) {
                        results.insert(request.id.clone(), Ok(answer));
                        continue;
                    }
                    let bytes = serde_json::to_vec(&answer.body).unwrap_or_default();
                    let kind = self.classifier.kind(answer.status, &bytes);
                    let hinted = answer
                        .header("Retry-After")
                        .and_then(|v| retry_after::parse_wait(v, jiff::Timestamp::now()));
                    if kind.is_retryable() && retries_left {
                        let backoff = self.backoff(attempt);
                        wait = wait.max(hinted.unwrap_or(backoff));
                        again.push(*request);
                        continue;
                    }
                    let message = self.classifier.message(answer.status, &bytes);
                    results.insert(
                        request.id.clone(),
                        Err(ConnectorError::new(kind, message)
                            .with_status(answer.status)
                            .with_retry_after(hinted)),
                    );
                }
            }
            if !again.is_empty() {
                let wait = wait.min(self.max_server_wait());
                tracing::warn!(
                    processor = self.profile.processor,
                    url = %redact::url_for_log(batch_url),
                    sub_requests = again.len(),
                    wait_ms = wait.as_millis() as u64,
                    "retrying throttled or failed batch sub-requests"
                );
                super::waits::wait(wait, super::waits::WaitReason::RateLimit).await;
                attempt += 1;
            }
            pending = again;
        }
        Ok(requests
            .iter()
            .map(|r| results.remove(&r.id).expect("every request gets a result"))
            .collect())
    }

    /// The computed backoff before retry number `attempt + 1` (no jitter: batches are few).
    fn backoff(&self, attempt: usize) -> Duration {
        let base = Duration::from_millis(self.settings.initial_backoff_ms);
        let factor = 2u32.saturating_pow(attempt.min(16) as u32);
        base.saturating_mul(factor)
            .min(Duration::from_secs_f64(self.settings.max_backoff_seconds))
    }
}
