//! HTTP surface of the fake: the gate every request passes and one dispatcher for Autotask's
//! entity paths.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Query, Request, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::query::Invalid;
use super::state::Refusal;
use super::{Inner, Paging};

type Shared = Arc<Inner>;

pub(super) fn router(inner: Shared) -> Router {
    let api = Router::new()
        .route("/ATServicesRest/V1.0/{*rest}", any(dispatch))
        .layer(middleware::from_fn_with_state(inner.clone(), gate));
    Router::new()
        .route(
            "/atservicesrest/v1.0/zoneInformation",
            get(zone_information),
        )
        .merge(api)
        .fallback(|| async {
            errors(
                StatusCode::NOT_FOUND,
                "The requested resource does not exist.",
            )
        })
        // Outermost: a conformance test sees every exchange, the gate's refusals included.
        .layer(middleware::from_fn_with_state(inner.clone(), capture))
        .with_state(inner)
}

async fn capture(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    dsrhub_connector::fakekit::capture(&inner.log, request, next).await
}

/// Autotask's error body: `{"errors": ["…"]}`.
fn errors(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "errors": [message] }))).into_response()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The entity a path addresses, for the per-endpoint thread limit.
fn endpoint(path: &str) -> String {
    let rest = path.trim_start_matches("/ATServicesRest/V1.0/");
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        [_, _, child, ..] if segments[0].eq_ignore_ascii_case("Companies") && !child.is_empty() => {
            child.to_string()
        }
        [entity, ..] => entity.to_string(),
        [] => String::new(),
    }
}

async fn gate(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    inner.log.record(request.method().as_str(), &path);
    // Credentials, checked as Autotask does: a wrong user or integration code is a 500.
    let headers = request.headers();
    if header(headers, "UserName") != inner.options.username {
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unable to authenticate: the user name is not valid for this zone.",
        );
    }
    if header(headers, "ApiIntegrationCode") != inner.options.integration_code {
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unable to authenticate: the integration code is not valid.",
        );
    }
    let secret_ok = {
        let expired = inner.faults.credentials_expired();
        !expired && inner.secret.accepts(header(headers, "Secret"))
    };
    if !secret_ok {
        return errors(StatusCode::UNAUTHORIZED, "Unauthorized");
    }

    // The rolling hourly limit, with Autotask's slow-down before it.
    let usage = {
        let mut sent = inner.sent.lock().expect("sent");
        let now = Instant::now();
        while sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= inner.options.window)
        {
            sent.pop_front();
        }
        let others = inner.options.other_integrations_usage as usize;
        if sent.len() + others >= inner.options.hourly_limit as usize {
            None
        } else {
            sent.push_back(now);
            Some((sent.len() + others) as f64 / f64::from(inner.options.hourly_limit))
        }
    };
    let Some(usage) = usage else {
        inner.quota_rejections.fetch_add(1, Ordering::SeqCst);
        return errors(
            StatusCode::TOO_MANY_REQUESTS,
            "Request limit exceeded: API requests are temporarily suspended.",
        );
    };
    if usage >= 0.75 {
        tokio::time::sleep(inner.options.slowdown.1).await;
    } else if usage >= 0.5 {
        tokio::time::sleep(inner.options.slowdown.0).await;
    }

    if let Some((status, _)) = inner.faults.next_status() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return errors(
            status,
            if status == StatusCode::TOO_MANY_REQUESTS {
                "Too many requests."
            } else {
                "Something went wrong"
            },
        );
    }

    // The thread limit: 3 concurrent requests per integration and endpoint.
    let key = format!("{}:{}", inner.options.integration_code, endpoint(&path));
    let admitted = {
        let mut in_flight = inner.in_flight.lock().expect("in flight");
        let count = in_flight.entry(key.clone()).or_default();
        if *count >= inner.options.thread_limit {
            false
        } else {
            *count += 1;
            inner.max_in_flight.fetch_max(*count, Ordering::SeqCst);
            true
        }
    };
    if !admitted {
        inner.thread_rejections.fetch_add(1, Ordering::SeqCst);
        return errors(
            StatusCode::TOO_MANY_REQUESTS,
            "Thread threshold exceeded for this integration and endpoint.",
        );
    }
    // Slowness is server time: the request holds its thread meanwhile.
    if let Some(delay) = inner.faults.slow() {
        tokio::time::sleep(delay).await;
    }
    let response = next.run(request).await;
    *inner
        .in_flight
        .lock()
        .expect("in flight")
        .entry(key)
        .or_default() -= 1;
    response
}

async fn zone_information(
    AxState(inner): AxState<Shared>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    inner
        .log
        .record("GET", "/atservicesrest/v1.0/zoneInformation");
    if params.get("user").map(String::as_str) != Some(inner.options.username.as_str()) {
        return errors(
            StatusCode::NOT_FOUND,
            "Zone information could not be determined for this user.",
        );
    }
    let host = header(&headers, "host").to_string();
    let mut zone = inner.state.lock().zone.clone();
    zone["url"] = json!(format!("http://{host}/atservicesrest/"));
    zone["webUrl"] = json!(format!("http://{host}/"));
    Json(zone).into_response()
}

async fn dispatch(
    AxState(inner): AxState<Shared>,
    method: Method,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let path = request
        .uri()
        .path()
        .trim_start_matches("/ATServicesRest/V1.0/")
        .to_string();
    let body: Option<Value> = match axum::body::to_bytes(request.into_body(), 1 << 20).await {
        Ok(bytes) if bytes.is_empty() => None,
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(_) => {
                return errors(
                    StatusCode::BAD_REQUEST,
                    "The request body is not valid JSON.",
                )
            }
        },
        Err(_) => {
            return errors(
                StatusCode::BAD_REQUEST,
                "The request body could not be read.",
            )
        }
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let host = inner
        .options
        .next_page_host
        .clone()
        .unwrap_or_else(|| header(&headers, "host").to_string());
    match (method, segments.as_slice()) {
        (Method::POST, [entity, "query"]) => {
            start_query(&inner, &host, entity, body.unwrap_or(Value::Null))
        }
        (Method::GET, [entity, "query"]) => {
            let search = params
                .get("search")
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(Value::Null);
            start_query(&inner, &host, entity, search)
        }
        (Method::GET, [entity, "query", "next"]) => {
            next_page(&inner, &host, entity, params.get("paging"))
        }
        (Method::POST, [entity, "query", "count"]) => {
            let filter = body
                .as_ref()
                .and_then(|b| b.get("filter"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            match inner.state.lock().query(entity, &filter) {
                Ok(ids) => Json(json!({ "queryCount": ids.len() })).into_response(),
                Err(Invalid(message)) => errors(StatusCode::INTERNAL_SERVER_ERROR, &message),
            }
        }
        (Method::GET, [threshold]) if threshold.eq_ignore_ascii_case("ThresholdInformation") => {
            // The database's usage of its rolling hourly limit, by every integration.
            let used = inner.sent.lock().expect("sent").len() as u32
                + inner.options.other_integrations_usage;
            Json(json!({
                "externalRequestThreshold": inner.options.hourly_limit,
                "requestThresholdTimeframe": inner.options.window.as_secs() / 60,
                "currentTimeframeRequestCount": used,
            }))
            .into_response()
        }
        (Method::GET, [entity, id]) => {
            let state = inner.state.lock();
            let Some(table) = state.table(entity) else {
                return errors(StatusCode::NOT_FOUND, "Unknown entity.");
            };
            let item = id
                .parse::<u64>()
                .ok()
                .and_then(|id| table.get(&id).cloned())
                .unwrap_or(Value::Null);
            Json(json!({ "item": item })).into_response()
        }
        (Method::DELETE, ["Companies", company, "Contacts", contact]) => {
            let (Ok(company), Ok(contact)) = (company.parse(), contact.parse()) else {
                return errors(StatusCode::NOT_FOUND, "Not found.");
            };
            match inner.state.mutate(|s| s.delete_contact(company, contact)) {
                Ok(()) => Json(json!({ "itemId": contact })).into_response(),
                Err(r) => refusal(r),
            }
        }
        (Method::PATCH, ["Companies", company, "Contacts"]) => {
            let Ok(company) = company.parse::<u64>() else {
                return errors(StatusCode::NOT_FOUND, "Not found.");
            };
            let body = body.unwrap_or(Value::Null);
            item_id(
                inner
                    .state
                    .mutate(|s| s.update_contact(Some(company), &body)),
            )
        }
        (Method::PATCH, ["Contacts"]) => {
            let body = body.unwrap_or(Value::Null);
            item_id(inner.state.mutate(|s| s.update_contact(None, &body)))
        }
        (Method::PATCH, ["Tickets", ticket, "Notes"]) => {
            let body = body.unwrap_or(Value::Null);
            let Ok(ticket) = ticket.parse::<u64>() else {
                return errors(StatusCode::NOT_FOUND, "Ticket not found.");
            };
            item_id(inner.state.mutate(|s| s.update_note(ticket, &body)))
        }
        (Method::PATCH, ["Tickets"]) => {
            let body = body.unwrap_or(Value::Null);
            item_id(inner.state.mutate(|s| s.update_ticket(&body)))
        }
        _ => errors(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
        ),
    }
}

fn refusal(r: Refusal) -> Response {
    match r {
        Refusal::NotFound(message) => errors(StatusCode::NOT_FOUND, &message),
        Refusal::Rule(message) => errors(StatusCode::INTERNAL_SERVER_ERROR, &message),
    }
}

fn item_id(result: Result<u64, Refusal>) -> Response {
    match result {
        Ok(id) => Json(json!({ "itemId": id })).into_response(),
        Err(r) => refusal(r),
    }
}

fn start_query(inner: &Inner, host: &str, entity: &str, body: Value) -> Response {
    let filter = body
        .get("filter")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if filter.is_empty() {
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Invalid query syntax: a filter is required.",
        );
    }
    let asked = body
        .get("MaxRecords")
        .and_then(Value::as_u64)
        .unwrap_or(500) as usize;
    if !(1..=500).contains(&asked) {
        return errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Invalid query syntax: MaxRecords must be between 1 and 500.",
        );
    }
    let max_records = inner
        .page_size
        .lock()
        .expect("page size")
        .map_or(asked, |forced| asked.min(forced.max(1)));
    let include: Vec<String> = body
        .get("IncludeFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let ids = match inner.state.lock().query(entity, &filter) {
        Ok(ids) => ids,
        Err(Invalid(message)) => return errors(StatusCode::INTERNAL_SERVER_ERROR, &message),
    };
    let paging = Paging {
        entity: entity.to_string(),
        ids,
        position: 0,
        max_records,
        include,
    };
    page(inner, host, paging)
}

fn next_page(inner: &Inner, host: &str, entity: &str, token: Option<&String>) -> Response {
    let session = token.and_then(|t| inner.paging.lock().expect("paging").remove(t));
    match session {
        Some(paging) if paging.entity.eq_ignore_ascii_case(entity) => page(inner, host, paging),
        _ => errors(StatusCode::INTERNAL_SERVER_ERROR, "Invalid paging token."),
    }
}

fn page(inner: &Inner, host: &str, mut paging: Paging) -> Response {
    let state = inner.state.lock();
    let table = state.table(&paging.entity).cloned().unwrap_or_default();
    drop(state);
    let end = (paging.position + paging.max_records).min(paging.ids.len());
    let items: Vec<Value> = paging.ids[paging.position..end]
        .iter()
        .filter_map(|id| table.get(id))
        .map(|record| {
            if paging.include.is_empty() {
                record.clone()
            } else {
                let object = record.as_object().cloned().unwrap_or_default();
                Value::Object(
                    object
                        .into_iter()
                        .filter(|(k, _)| {
                            k == "id" || paging.include.iter().any(|f| f.eq_ignore_ascii_case(k))
                        })
                        .collect(),
                )
            }
        })
        .collect();
    paging.position = end;
    let next = if end < paging.ids.len() {
        let token = format!("p{}", inner.next_token.fetch_add(1, Ordering::SeqCst));
        let url = format!(
            "http://{host}/ATServicesRest/V1.0/{}/query/next?paging={token}",
            paging.entity
        );
        inner
            .paging
            .lock()
            .expect("paging")
            .insert(token, paging.clone());
        Some(url)
    } else {
        None
    };
    Json(json!({
        "items": items,
        "pageDetails": { "count": items.len(), "requestCount": paging.max_records, "prevPageUrl": null, "nextPageUrl": next }
    }))
    .into_response()
}
