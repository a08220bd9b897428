//! HTTP surface of the fake.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::state::Refusal;
use super::Inner;

type Shared = Arc<Inner>;

const MEDIA_TYPE: &str = "application/vnd.api+json";

pub(super) fn router(inner: Shared) -> Router {
    Router::new()
        .route("/contacts", get(list_contacts).delete(delete_contacts))
        .route("/contacts/{id}", get(show_contact).patch(update_contact))
        .route("/organizations", get(list_organizations))
        .route("/organizations/{id}", get(show_organization))
        .fallback(|| async { error(Refusal(404, "Not Found", "No route matches".into())) })
        .layer(middleware::from_fn_with_state(inner.clone(), gate))
        .layer(middleware::from_fn(json_api_answers))
        // Outermost: a test sees every exchange, the gate's refusals included.
        .layer(middleware::from_fn_with_state(inner.clone(), capture))
        .with_state(inner)
}

/// IT Glue answers JSON:API, its errors included: `application/vnd.api+json`.
async fn json_api_answers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if is_json {
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static(MEDIA_TYPE),
        );
    }
    response
}

async fn capture(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    dsrhub_connector::fakekit::capture(&inner.log, request, next).await
}

/// A JSON:API error object.
fn error(Refusal(status, title, detail): Refusal) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, Json(json!({ "errors": [{ "status": status.to_string(), "title": title, "detail": detail }] }))).into_response()
}

async fn gate(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    dsrhub_connector::fakekit::arrive(
        &inner.log,
        &inner.faults,
        request.method().as_str(),
        request.uri().path(),
    )
    .await;
    let key = request
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match key {
        None => {
            return error(Refusal(
                401,
                "Unauthorized",
                "An API key is required".into(),
            ))
        }
        Some(key) if inner.faults.credentials_expired() || !inner.api_key.accepts(&key) => {
            return error(Refusal(
                403,
                "Forbidden",
                "The API key is invalid or has been revoked".into(),
            ));
        }
        Some(_) => {}
    }
    let over = {
        let mut window = inner.window.lock().expect("window");
        let now = Instant::now();
        if now.duration_since(window.started) >= inner.options.quota_window {
            window.started = now;
            window.count = 0;
        }
        window.count += 1;
        window.count > inner.options.quota_requests
    };
    if over {
        inner.quota_rejections.fetch_add(1, Ordering::SeqCst);
        return error(Refusal(
            429,
            "Too Many Requests",
            "Rate limit exceeded".into(),
        ));
    }
    if let Some((status, _)) = inner.faults.next_status() {
        let title = if status == 429 {
            "Too Many Requests"
        } else {
            "Internal Server Error"
        };
        return error(Refusal(status, title, "Injected fault".into()));
    }
    next.run(request).await
}

fn params(query: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// JSON:API pagination over `items`.
fn paged(inner: &Inner, path: &str, query: &[(String, String)], items: Vec<Value>) -> Response {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut size: usize = get("page[size]").and_then(|v| v.parse().ok()).unwrap_or(50);
    if size == 0 || size > 1000 {
        return error(Refusal(
            400,
            "Bad Request",
            "page[size] must be between 1 and 1000".into(),
        ));
    }
    if let Some(forced) = *inner.page_size.lock().expect("page size") {
        size = size.min(forced.max(1));
    }
    let number: usize = get("page[number]")
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    let total = items.len();
    let pages = total.div_ceil(size).max(1);
    let data: Vec<Value> = items
        .into_iter()
        .skip((number - 1) * size)
        .take(size)
        .collect();
    let link = |n: usize| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in query.iter().filter(|(k, _)| k != "page[number]") {
            q.append_pair(k, v);
        }
        q.append_pair("page[number]", &n.to_string());
        format!("{path}?{}", q.finish())
    };
    let next = (number < pages).then(|| number + 1);
    Json(json!({
        "data": data,
        "meta": {
            "current-page": number,
            "next-page": next,
            "prev-page": (number > 1).then(|| number - 1),
            "total-pages": pages,
            "total-count": total,
            "filters": {}
        },
        "links": { "self": link(number), "next": next.map(link), "last": link(pages) }
    }))
    .into_response()
}

fn filters(query: &[(String, String)]) -> Vec<(String, String)> {
    query
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("filter[")
                .and_then(|k| k.strip_suffix(']'))
                .map(|k| (k.to_string(), v.clone()))
        })
        .collect()
}

async fn list_contacts(AxState(inner): AxState<Shared>, RawQuery(query): RawQuery) -> Response {
    let query = params(&query);
    let result = inner.state.lock().filter_contacts(&filters(&query));
    match result {
        Ok(items) => paged(&inner, "/contacts", &query, items),
        Err(r) => error(r),
    }
}

async fn list_organizations(
    AxState(inner): AxState<Shared>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = params(&query);
    let result = inner.state.lock().filter_organizations(&filters(&query));
    match result {
        Ok(items) => paged(&inner, "/organizations", &query, items),
        Err(r) => error(r),
    }
}

fn shown(record: Option<Value>, what: &str, id: &str) -> Response {
    match record {
        Some(record) => Json(json!({ "data": record })).into_response(),
        None => error(Refusal(
            404,
            "Record not found",
            format!("{what} {id} could not be found"),
        )),
    }
}

async fn show_contact(AxState(inner): AxState<Shared>, Path(id): Path<String>) -> Response {
    let record = id
        .parse::<u64>()
        .ok()
        .and_then(|i| inner.state.lock().contacts.get(&i).cloned());
    shown(record, "Contact", &id)
}

async fn show_organization(AxState(inner): AxState<Shared>, Path(id): Path<String>) -> Response {
    let record = id
        .parse::<u64>()
        .ok()
        .and_then(|i| inner.state.lock().organizations.get(&i).cloned());
    shown(record, "Organization", &id)
}

/// JSON:API bodies must carry the JSON:API media type.
fn body(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, Refusal> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with(MEDIA_TYPE) {
        return Err(Refusal(
            415,
            "Unsupported Media Type",
            format!("Content-Type must be {MEDIA_TYPE}"),
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|_| Refusal(400, "Bad Request", "The body is not valid JSON".into()))
}

async fn update_contact(
    AxState(inner): AxState<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Response {
    let result = body(&headers, &bytes).and_then(|body| {
        let id = id
            .parse::<u64>()
            .map_err(|_| Refusal(404, "Record not found", "No such contact".into()))?;
        inner.state.mutate(|s| s.update_contact(id, &body))
    });
    match result {
        Ok(contact) => Json(json!({ "data": contact })).into_response(),
        Err(r) => error(r),
    }
}

async fn delete_contacts(
    AxState(inner): AxState<Shared>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Response {
    let result = body(&headers, &bytes).and_then(|body| {
        let ids: Option<Vec<u64>> = body["data"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| i["attributes"]["id"].as_u64())
                    .collect::<Option<Vec<_>>>()
            })
            .unwrap_or(None);
        let ids = ids.filter(|ids| !ids.is_empty()).ok_or_else(|| {
            Refusal(
                400,
                "Bad Request",
                "data must list contacts as {type, attributes: {id}}".into(),
            )
        })?;
        inner.state.mutate(|s| s.delete_contacts(&ids))
    });
    match result {
        Ok(deleted) => Json(json!({ "data": deleted })).into_response(),
        Err(r) => error(r),
    }
}
