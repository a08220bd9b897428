//! Status callbacks: the submitter's `status_callback_urls` get the request's status (the body
//! of `GET /api/v1/requests/{id}`) on every status change, POSTed through the SDK's HTTP
//! client (timeouts, retries with backoff, no redirects). Each delivery, or its final failure,
//! is recorded in the ledger per request, URL and status, so a status is delivered once.
//!
//! A POST is not idempotent, and a crash can come between it and the ledger's record. So the
//! attempt is written to the ledger before the POST (the intent), and every POST carries an
//! `Idempotency-Key` that is the same for every attempt at one (request, URL, status), with
//! `Dsrhub-Delivery-Attempt` counting them: delivery is at least once, and a receiver that
//! keeps the keys it has seen gets each status exactly once.

use std::sync::Arc;

use dsrhub_connector::http::{
    HeaderName, HeaderValue, HttpClient, HttpSettings, NoAuth, Quota, Request, VendorProfile,
};
use dsrhub_connector::ConnectorError;

use serde_json::Value;

use super::AppState;

fn profile() -> VendorProfile {
    VendorProfile {
        accept: None,
        processor: "status-callback",
        quota: Quota {
            requests: 60,
            per_seconds: 60.0,
        },
        max_concurrency: Some(2),
        throttle_wait: None,
        reset_headers: None,
        daily_headers: None,
        reauth_statuses: &[],
    }
}

/// The idempotency key of every delivery attempt of `status` of request `id` to `url`.
pub fn idempotency_key(id: &str, url: &str, status: &str) -> String {
    let digest = crate::ledger::audit::sha256_hex(format!("{id}\n{url}\n{status}").as_bytes());
    format!("dsrhub-{}", &digest[..32])
}

/// One delivery attempt's identity, sent as headers.
pub struct Delivery {
    /// Same for every attempt at one (request, URL, status).
    pub key: String,
    /// 1 for the first attempt; more when an earlier one may have reached the receiver.
    pub attempt: u32,
}

/// POST `body` as JSON to `url` through the SDK's client (retries, no redirects), with the
/// delivery's headers when it is a status callback.
pub async fn post(
    settings: &HttpSettings,
    url: &str,
    body: &Value,
    delivery: Option<&Delivery>,
) -> Result<(), ConnectorError> {
    let url = url::Url::parse(url)
        .map_err(|_| ConnectorError::invalid("the callback URL is not a URL"))?;
    let client = HttpClient::new(url.clone(), profile(), settings.clone(), Arc::new(NoAuth))?;
    let header = |v: &str| {
        HeaderValue::from_str(v)
            .map_err(|_| ConnectorError::invalid("a callback header is not ASCII"))
    };
    let mut request = Request::post(url).json(body);
    if let Some(delivery) = delivery {
        request = request
            .header(
                HeaderName::from_static("idempotency-key"),
                header(&delivery.key)?,
            )
            .header(
                HeaderName::from_static("dsrhub-delivery-attempt"),
                header(&delivery.attempt.to_string())?,
            );
    }
    client.send(request).await.map(|_| ())
}

/// Tell every callback URL of request `id` its current status, unless already told. One
/// notification per request at a time, so its statuses arrive in order.
pub(super) async fn notify(state: &Arc<AppState>, id: &str) {
    let lock = state
        .callback_locks
        .lock()
        .expect("callback locks")
        .entry(id.to_string())
        .or_default()
        .clone();
    {
        let _one_at_a_time = lock.lock().await;
        if let Err(e) = try_notify(state, id).await {
            tracing::warn!(request = %id, error = %e, "status callbacks could not be sent");
        }
    }
    // Forget the lock when nobody else holds or waits for it (clones are made under the map's
    // lock, so none can appear between the count and the removal).
    let mut locks = state.callback_locks.lock().expect("callback locks");
    if Arc::strong_count(&lock) == 2 {
        locks.remove(id);
    }
}

async fn try_notify(state: &Arc<AppState>, id: &str) -> crate::error::Result<()> {
    let ledger = state.hub.ledger();
    let (_, urls) = ledger.intake(id)?;
    if urls.is_empty() {
        return Ok(());
    }
    let request = ledger.request(id)?;
    let status = request.status.as_str();
    let body = match super::api::status_json(state, &request) {
        Ok(body) => body,
        Err(_) => return Ok(()),
    };
    for url in urls {
        if ledger.callback_delivered(id, &url, status)? {
            continue;
        }
        // The intent first: a crash after the POST leaves the attempt counted, and the next
        // delivery says it is a repeat under the same key.
        let attempt = ledger.record_callback_intent(id, &url, status)?;
        let delivery = Delivery {
            key: idempotency_key(id, &url, status),
            attempt,
        };
        let outcome = post(&state.callback_http, &url, &body, Some(&delivery)).await;
        let error = outcome.err().map(|e| e.to_string());
        ledger.record_callback(id, &url, status, error.as_deref())?;
    }
    Ok(())
}
