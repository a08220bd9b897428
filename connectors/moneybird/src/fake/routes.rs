//! HTTP surface of the fake: Moneybird's paths, the gate every request passes (count, rate
//! limit, faults, auth) and the handlers.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::state::Refusal;
use super::Inner;

type Shared = Arc<Inner>;

pub(super) fn router(inner: Shared) -> Router {
    Router::new()
        .route("/api/v2/administrations.json", get(administrations))
        .route("/api/v2/{adm}/contacts.json", get(list_contacts))
        .route(
            "/api/v2/{adm}/contacts/synchronization.json",
            get(contacts_sync),
        )
        .route(
            "/api/v2/{adm}/contacts/{id}",
            get(show_contact)
                .patch(update_contact)
                .delete(delete_contact),
        )
        .route(
            "/api/v2/{adm}/contacts/{id}/archive.json",
            patch(archive_contact),
        )
        .route(
            "/api/v2/{adm}/contacts/{cid}/contact_people/{id}",
            get(show_person).patch(update_person).delete(delete_person),
        )
        .route(
            "/api/v2/{adm}/contacts/{cid}/notes/{id}",
            axum::routing::delete(delete_note),
        )
        .route("/api/v2/{adm}/sales_invoices.json", get(list_invoices))
        .route(
            "/api/v2/{adm}/sales_invoices/synchronization.json",
            get(invoices_sync),
        )
        .route(
            "/api/v2/{adm}/sales_invoices/{id}",
            get(show_invoice).delete(delete_invoice),
        )
        .route(
            "/api/v2/{adm}/recurring_sales_invoices.json",
            get(list_recurring),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, json!({"error": "Not found"})) })
        .layer(middleware::from_fn_with_state(inner.clone(), gate))
        // Outermost: a conformance test sees every exchange, the gate's refusals included.
        .layer(middleware::from_fn_with_state(inner.clone(), capture))
        .with_state(inner)
}

async fn capture(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    dsrhub_connector::fakekit::capture(&inner.log, request, next).await
}

fn error(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        json!({"error": "record not found", "symbolic": {"id": "not_found"}}),
    )
}

fn refusal(r: Refusal) -> Response {
    match r {
        Refusal::NotFound => not_found(),
        Refusal::Unprocessable(body) => error(StatusCode::UNPROCESSABLE_ENTITY, body),
        Refusal::BadRequest(body) => error(StatusCode::BAD_REQUEST, body),
    }
}

/// Every request: counted and logged, paced by the quota, faults applied, token checked;
/// every answer gets the `RateLimit-*` headers.
async fn gate(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    dsrhub_connector::fakekit::arrive(
        &inner.log,
        &inner.faults,
        request.method().as_str(),
        request.uri().path(),
    )
    .await;

    // Fixed window, as Moneybird's RateLimit-Reset suggests.
    let (remaining, reset_at, over) = {
        let mut window = inner.window.lock().expect("window");
        let now = Instant::now();
        if now.duration_since(window.started) >= inner.quota_window {
            window.started = now;
            window.count = 0;
        }
        window.count += 1;
        let over = window.count > inner.quota_requests;
        let remaining = inner.quota_requests.saturating_sub(window.count);
        (
            remaining,
            epoch_after(window.started + inner.quota_window - now),
            over,
        )
    };
    let rate_headers = |mut response: Response| {
        let headers = response.headers_mut();
        headers.insert("RateLimit-Limit", HeaderValue::from(inner.quota_requests));
        headers.insert("RateLimit-Remaining", HeaderValue::from(remaining));
        headers.insert("RateLimit-Reset", HeaderValue::from(reset_at));
        response
    };
    if over {
        inner.quota_rejections.fetch_add(1, Ordering::SeqCst);
        return rate_headers(too_many(Some(reset_at)));
    }

    if let Some((status, retry_after)) = inner.faults.next_status() {
        let response = match status {
            429 => too_many(retry_after.map(|d| epoch_after(d + Duration::from_millis(999)))),
            status => error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({"error": "Internal server error"}),
            ),
        };
        return rate_headers(response);
    }

    let authorized = !inner.faults.credentials_expired()
        && request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|token| inner.token.accepts(token));
    if !authorized {
        // The exact 401 body is not documented; this shape follows Moneybird's symbolic errors.
        return rate_headers(error(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Token is invalid or expired", "symbolic": {"token": "invalid"}}),
        ));
    }
    rate_headers(next.run(request).await)
}

fn epoch_after(wait: Duration) -> u64 {
    let now = jiff::Timestamp::now().as_millisecond() as u64;
    (now + wait.as_millis() as u64).div_ceil(1000)
}

/// Moneybird's 429: the body is the JSON string "Retry later"; `Retry-After` is the epoch
/// second the window resets (per the official OpenAPI description).
fn too_many(retry_at: Option<u64>) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(json!("Retry later"))).into_response();
    if let Some(at) = retry_at {
        response
            .headers_mut()
            .insert("Retry-After", HeaderValue::from(at));
    }
    response
}

fn json_id(segment: &str) -> Option<&str> {
    segment.strip_suffix(".json").filter(|id| !id.is_empty())
}

/// A page of `items` plus the `Link` header Moneybird sends.
fn paged(
    inner: &Inner,
    headers: &HeaderMap,
    path: &str,
    params: &HashMap<String, String>,
    items: Vec<Value>,
) -> Response {
    let page: usize = params
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let mut per_page: usize = params
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    if let Some(forced) = *inner.page_size.lock().expect("page size") {
        per_page = per_page.min(forced.max(1));
    }
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let link_to = |p: usize| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.iter().filter(|(k, _)| k.as_str() != "page") {
            query.append_pair(k, v);
        }
        query.append_pair("page", &p.to_string());
        format!("<http://{host}{path}?{}>", query.finish())
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    if page * per_page < total {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
    }
    let mut response = Json(Value::Array(slice)).into_response();
    if !links.is_empty() {
        response.headers_mut().insert(
            "Link",
            HeaderValue::from_str(&links.join(", ")).expect("ascii link"),
        );
    }
    response
        .headers_mut()
        .insert("X-Total-Count", HeaderValue::from(total));
    response
}

/// The record id from a `{id}.json` segment, when the administration exists.
fn target<'a>(inner: &Inner, adm: &str, file: &'a str) -> Option<&'a str> {
    json_id(file).filter(|_| known_adm(inner, adm))
}

/// 200 with the record, or Moneybird's 404.
fn shown(record: Option<Value>) -> Response {
    match record {
        Some(record) => Json(record).into_response(),
        None => not_found(),
    }
}

/// 204, or the refusal.
fn no_content(result: Result<(), Refusal>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => refusal(r),
    }
}

fn known_adm(inner: &Inner, adm: &str) -> bool {
    inner.state.lock().has_administration(adm)
}

async fn administrations(AxState(inner): AxState<Shared>) -> Response {
    Json(Value::Array(inner.state.lock().administrations.clone())).into_response()
}

async fn list_contacts(
    AxState(inner): AxState<Shared>,
    Path(adm): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    request_path: axum::http::Uri,
) -> Response {
    if !known_adm(&inner, &adm) {
        return not_found();
    }
    let include_archived = params.get("include_archived").is_some_and(|v| v == "true");
    let items = inner
        .state
        .lock()
        .search_contacts(params.get("query").map(String::as_str), include_archived);
    paged(&inner, &headers, request_path.path(), &params, items)
}

async fn list_invoices(
    AxState(inner): AxState<Shared>,
    Path(adm): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    request_path: axum::http::Uri,
) -> Response {
    let filter = |s: &super::State, f: Option<&str>| s.filter_invoices(f);
    list_filtered(&inner, &adm, &params, &headers, &request_path, filter)
}

async fn list_recurring(
    AxState(inner): AxState<Shared>,
    Path(adm): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    request_path: axum::http::Uri,
) -> Response {
    let filter = |s: &super::State, f: Option<&str>| s.filter_recurring(f);
    list_filtered(&inner, &adm, &params, &headers, &request_path, filter)
}

/// A list answer of a `filter=`-able collection, paged as Moneybird pages.
fn list_filtered(
    inner: &Shared,
    adm: &str,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    request_path: &axum::http::Uri,
    filter: impl FnOnce(&super::State, Option<&str>) -> Result<Vec<Value>, Refusal>,
) -> Response {
    if !known_adm(inner, adm) {
        return not_found();
    }
    let result = filter(
        &inner.state.lock(),
        params.get("filter").map(String::as_str),
    );
    match result {
        Ok(items) => paged(inner, headers, request_path.path(), params, items),
        Err(r) => refusal(r),
    }
}

fn sync_list<'a>(records: impl Iterator<Item = &'a Value>) -> Response {
    let items: Vec<Value> = records
        .map(|r| json!({"id": r["id"], "version": r["version"]}))
        .collect();
    Json(Value::Array(items)).into_response()
}

async fn contacts_sync(AxState(inner): AxState<Shared>, Path(adm): Path<String>) -> Response {
    if !known_adm(&inner, &adm) {
        return not_found();
    }
    sync_list(inner.state.lock().contacts.values())
}

async fn invoices_sync(AxState(inner): AxState<Shared>, Path(adm): Path<String>) -> Response {
    if !known_adm(&inner, &adm) {
        return not_found();
    }
    sync_list(inner.state.lock().sales_invoices.values())
}

async fn show_contact(
    AxState(inner): AxState<Shared>,
    Path((adm, id)): Path<(String, String)>,
) -> Response {
    let Some(id) = target(&inner, &adm, &id) else {
        return not_found();
    };
    shown(inner.state.lock().contacts.get(id).cloned())
}

async fn update_contact(
    AxState(inner): AxState<Shared>,
    Path((adm, id)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Response {
    let Some(id) = target(&inner, &adm, &id) else {
        return not_found();
    };
    let Some(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            json!({"error": "body is not valid JSON"}),
        );
    };
    match inner.state.mutate(|s| s.update_contact(id, &body)) {
        Ok(contact) => Json(contact).into_response(),
        Err(r) => refusal(r),
    }
}

async fn archive_contact(
    AxState(inner): AxState<Shared>,
    Path((adm, id)): Path<(String, String)>,
) -> Response {
    if !known_adm(&inner, &adm) {
        return not_found();
    }
    no_content(inner.state.mutate(|s| s.archive_contact(&id)))
}

async fn delete_contact(
    AxState(inner): AxState<Shared>,
    Path((adm, id)): Path<(String, String)>,
) -> Response {
    let Some(id) = target(&inner, &adm, &id) else {
        return not_found();
    };
    no_content(inner.state.mutate(|s| s.delete_contact(id)))
}

async fn show_person(
    AxState(inner): AxState<Shared>,
    Path((adm, cid, id)): Path<(String, String, String)>,
) -> Response {
    let Some(id) = target(&inner, &adm, &id) else {
        return not_found();
    };
    shown(inner.state.lock().person(&cid, id))
}

async fn update_person(
    AxState(inner): AxState<Shared>,
    Path((adm, cid, id)): Path<(String, String, String)>,
    body: Option<Json<Value>>,
) -> Response {
    let Some(id) = target(&inner, &adm, &id) else {
        return not_found();
    };
    let Some(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            json!({"error": "body is not valid JSON"}),
        );
    };
    match inner.state.mutate(|s| s.update_person(&cid, id, &body)) {
        Ok(person) => Json(person).into_response(),
        Err(r) => refusal(r),
    }
}

async fn delete_person(
    AxState(inner): AxState<Shared>,
    Path((adm, cid, id)): Path<(String, String, String)>,
) -> Response {
    let Some(id) = target(&inner, &adm, &id) else {
        return not_found();
    };
    no_content(inner.state.mutate(|s| s.delete_person(&cid, id)))
}

async fn delete_note(
    AxState(inner): AxState<Shared>,
    Path((adm, cid, id)): Path<(String, String, String)>,
) -> Response {
    let Some(id) = target(&inner, &adm, &id) else {
        return not_found();
    };
    no_content(inner.state.mutate(|s| s.delete_note(&cid, id)))
}

async fn show_invoice(
    AxState(inner): AxState<Shared>,
    Path((adm, id)): Path<(String, String)>,
) -> Response {
    let Some(id) = target(&inner, &adm, &id) else {
        return not_found();
    };
    shown(inner.state.lock().sales_invoices.get(id).cloned())
}

async fn delete_invoice(
    AxState(inner): AxState<Shared>,
    Path((adm, id)): Path<(String, String)>,
) -> Response {
    let Some(id) = target(&inner, &adm, &id) else {
        return not_found();
    };
    no_content(inner.state.mutate(|s| s.delete_invoice(id)))
}
