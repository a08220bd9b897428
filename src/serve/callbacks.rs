//! Status callbacks: the submitter's `status_callback_urls` get the request's status (the body
//! of `GET /api/v1/requests/{id}`) on every status change, POSTed through the SDK's HTTP
//! client (timeouts, retries with backoff, no redirects). Each delivery, or its final failure,
//! is recorded in the ledger per request, URL and status, so a status is delivered once.

use std::sync::Arc;

use dsrhub_connector::http::{HttpClient, HttpSettings, NoAuth, Quota, Request, VendorProfile};
use dsrhub_connector::ConnectorError;
use serde_json::Value;

use super::AppState;

fn profile() -> VendorProfile {
    VendorProfile {
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

/// POST `body` as JSON to `url` through the SDK's client (retries, no redirects).
pub(super) async fn post(
    settings: &HttpSettings,
    url: &str,
    body: &Value,
) -> Result<(), ConnectorError> {
    let url = url::Url::parse(url)
        .map_err(|_| ConnectorError::invalid("the callback URL is not a URL"))?;
    let client = HttpClient::new(url.clone(), profile(), settings.clone(), Arc::new(NoAuth))?;
    client.send(Request::post(url).json(body)).await.map(|_| ())
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
        let outcome = post(&state.callback_http, &url, &body).await;
        let error = outcome.err().map(|e| e.to_string());
        ledger.record_callback(id, &url, status, error.as_deref())?;
    }
    Ok(())
}
