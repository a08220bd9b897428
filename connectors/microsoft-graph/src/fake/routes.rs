//! HTTP surface of the fake: the token endpoint, the gate every Graph call passes (count,
//! faults, token, per-mailbox concurrency) and the handlers, `$batch` included.

// Helpers return the finished error answer as `Err`; it is sent at once, never stored.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tokio::time::Instant;
use tower::ServiceExt;

use super::filter::Filter;
use super::search;
use super::Inner;

type Shared = Arc<Inner>;
type Params = Query<HashMap<String, String>>;

/// Graph's routes behind the gate, without `$batch` (what a batch's sub-requests reach).
pub(super) fn api(inner: Shared) -> Router {
    Router::new()
        .route("/v1.0/users", get(list_users))
        .route("/v1.0/users/$count", get(count_users))
        .route(
            "/v1.0/users/{user}",
            get(show_user).patch(update_user).delete(delete_user),
        )
        .route("/v1.0/users/{user}/contacts", get(list_contacts))
        .route(
            "/v1.0/users/{user}/contacts/{id}",
            get(show_contact)
                .patch(update_contact)
                .delete(delete_contact),
        )
        .route(
            "/v1.0/users/{user}/contacts/{id}/permanentDelete",
            post(purge_contact),
        )
        .route(
            "/v1.0/users/{user}/messages/{id}/permanentDelete",
            post(purge_message),
        )
        .route("/v1.0/users/{user}/messages", get(list_messages))
        .route("/v1.0/users/{user}/mailFolders", get(list_folders))
        .route(
            "/v1.0/users/{user}/messages/{id}",
            get(show_message).delete(delete_message),
        )
        .route(
            "/v1.0/directory/deletedItems/{id}",
            get(show_deleted).delete(purge_deleted),
        )
        .route("/v1.0/organization", get(organization))
        .fallback(|| async {
            error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Resource not found for the segment.",
            )
        })
        .layer(middleware::from_fn_with_state(inner.clone(), gate))
        .with_state(inner)
}

/// Everything the fake serves.
pub(super) fn router(inner: Shared) -> Router {
    let batch = Router::new()
        .route("/v1.0/$batch", post(batch))
        .layer(middleware::from_fn_with_state(inner.clone(), gate))
        .with_state(inner.clone());
    let token = Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .with_state(inner.clone());
    api(inner.clone())
        .merge(batch)
        .merge(token)
        // Outermost: a test sees every exchange ($batch as one; its sub-requests pass `api`).
        .layer(middleware::from_fn_with_state(inner, capture))
}

async fn capture(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    dsrhub_connector::fakekit::capture(&inner.log, request, next).await
}

/// Graph's error body.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": jiff::Timestamp::now().to_string(),
                "request-id": "00000000-0000-0000-0000-000000000000",
                "client-request-id": "00000000-0000-0000-0000-000000000000"
            }
        }})),
    )
        .into_response()
}

fn not_found(what: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        if what == "user" {
            "Request_ResourceNotFound"
        } else {
            "ErrorItemNotFound"
        },
        &format!("The specified {what} could not be found."),
    )
}

fn throttled(retry_after_secs: u64, code: &str) -> Response {
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        code,
        "The request has been throttled",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// The mailbox a path addresses (`/v1.0/users/{x}/contacts…`), lower-cased.
fn mailbox_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v1.0/users/")?;
    let (user, tail) = rest.split_once('/')?;
    (tail.starts_with("contacts") || tail.starts_with("messages")).then(|| user.to_lowercase())
}

async fn gate(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    dsrhub_connector::fakekit::arrive(&inner.log, &inner.faults, request.method().as_str(), &path)
        .await;
    // A batch is answered 200 whatever its sub-requests get: faults hit the sub-requests.
    if path != "/v1.0/$batch" {
        if let Some((status, retry_after)) = inner.faults.next_status() {
            return match status {
                429 => throttled(
                    retry_after.map_or(1, |d| d.as_secs_f64().ceil() as u64),
                    "activityLimitReached",
                ),
                other => error(
                    StatusCode::from_u16(other).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    "serviceNotAvailable",
                    "The service is temporarily unavailable.",
                ),
            };
        }
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let valid = !inner.faults.credentials_expired()
        && token.is_some_and(|t| {
            inner
                .tokens
                .lock()
                .expect("tokens")
                .get(&t)
                .is_some_and(|expires| *expires > Instant::now())
        });
    if !valid {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        );
    }
    let Some(mailbox) = mailbox_of(&path) else {
        return next.run(request).await;
    };
    {
        let mut in_flight = inner.in_flight.lock().expect("in flight");
        let n = in_flight.entry(mailbox.clone()).or_default();
        if *n >= inner.options.mailbox_concurrency {
            inner.concurrency_rejections.fetch_add(1, Ordering::SeqCst);
            return throttled(1, "ApplicationThrottled");
        }
        *n += 1;
        inner.max_in_flight.fetch_max(*n, Ordering::SeqCst);
    }
    let response = next.run(request).await;
    if let Some(n) = inner.in_flight.lock().expect("in flight").get_mut(&mailbox) {
        *n -= 1;
    }
    response
}

fn select(entity: &Value, params: &HashMap<String, String>) -> Value {
    let Some(fields) = params.get("$select") else {
        return entity.clone();
    };
    let fields: Vec<&str> = fields.split(',').map(str::trim).collect();
    let mut out = Map::new();
    if let Some(object) = entity.as_object() {
        for (k, v) in object {
            // Expanded navigation properties come back whatever `$select` says.
            let expanded = matches!(k.as_str(), "attachments" | "singleValueExtendedProperties");
            if k == "id" || expanded || fields.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// One page of `items` (`count` in all) from `$skiptoken`, with `@odata.nextLink` when more
/// remain. The skip token is opaque to clients; here it is an offset.
fn page(
    inner: &Inner,
    uri: &Uri,
    params: &HashMap<String, String>,
    count: usize,
    item: impl Fn(usize) -> Value,
    default_top: usize,
    max_top: usize,
) -> Result<Map<String, Value>, Response> {
    let top = match params.get("$top").map(|t| t.parse::<usize>()) {
        None => default_top,
        Some(Ok(t)) if (1..=max_top).contains(&t) => t,
        _ => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Invalid page size specified: the maximum is {max_top}."),
            ))
        }
    };
    let top = inner
        .page_size
        .lock()
        .expect("page size")
        .map_or(top, |p| p.min(top));
    let offset = match params.get("$skiptoken") {
        None => 0,
        Some(t) => t
            .strip_prefix("o")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid skip token."))?,
    };
    let end = (offset + top).min(count);
    let value: Vec<Value> = (offset.min(end)..end)
        .map(|i| select(&item(i), params))
        .collect();
    let mut body = Map::new();
    body.insert("value".into(), Value::Array(value));
    if end < count {
        let mut next = url::Url::parse(&format!(
            "{}{}",
            inner
                .base
                .get()
                .cloned()
                .unwrap_or_default()
                .trim_end_matches("/v1.0"),
            uri.path()
        ))
        .expect("valid URL");
        {
            let mut q = next.query_pairs_mut();
            for (k, v) in params.iter().filter(|(k, _)| *k != "$skiptoken") {
                q.append_pair(k, v);
            }
            q.append_pair("$skiptoken", &format!("o{end}"));
        }
        body.insert("@odata.nextLink".into(), Value::from(next.to_string()));
    }
    Ok(body)
}

fn eventual(headers: &HeaderMap) -> bool {
    headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
}

fn parse_filter(params: &HashMap<String, String>) -> Result<Option<Filter>, Response> {
    params
        .get("$filter")
        .map(|f| {
            Filter::parse(f).map_err(|e| {
                error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("Invalid filter clause: {e}"),
                )
            })
        })
        .transpose()
}

async fn list_users(
    AxState(inner): AxState<Shared>,
    uri: Uri,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let filter = match parse_filter(&params) {
        Ok(f) => f,
        Err(r) => return r,
    };
    // `mail eq`, `userPrincipalName eq` and `proxyAddresses/any(p:p eq …)` are default
    // queries (vendors.md, newest section); only `$count` (and `endsWith`, `not`, which the
    // fake does not parse) needs the advanced mode.
    let counted = params.get("$count").map(String::as_str) == Some("true");
    if counted && !eventual(&headers) {
        return error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "Unsupported or invalid query filter clause specified for property 'proxyAddresses' of resource 'User'.",
        );
    }
    let users: Vec<Value> = inner
        .state
        .lock()
        .users
        .values()
        .filter(|u| filter.as_ref().is_none_or(|f| f.matches(u)))
        .cloned()
        .collect();
    match page(
        &inner,
        &uri,
        &params,
        users.len(),
        |i| users[i].clone(),
        100,
        999,
    ) {
        Ok(mut body) => {
            if counted {
                body.insert("@odata.count".into(), Value::from(users.len()));
            }
            Json(Value::Object(body)).into_response()
        }
        Err(r) => r,
    }
}

async fn count_users(AxState(inner): AxState<Shared>, headers: HeaderMap) -> Response {
    if !eventual(&headers) {
        return error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "$count is not currently supported without ConsistencyLevel: eventual.",
        );
    }
    let n = inner.state.lock().users.len();
    ([(header::CONTENT_TYPE, "text/plain")], n.to_string()).into_response()
}

fn user_or_404(inner: &Inner, key: &str) -> Result<String, Response> {
    inner
        .state
        .lock()
        .user_id(key)
        .ok_or_else(|| not_found("user"))
}

async fn show_user(
    AxState(inner): AxState<Shared>,
    Path(user): Path<String>,
    Query(params): Params,
) -> Response {
    let id = match user_or_404(&inner, &user) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let user = inner.state.lock().users[&id].clone();
    Json(select(&user, &params)).into_response()
}

/// User properties a `PATCH /users/{id}` may set (Graph's "Update user", the ones dsrhub
/// and an administrator's tools send); another one answers 400 as Graph does.
pub(crate) const USER_WRITABLE: &[&str] = &[
    "businessPhones",
    "city",
    "companyName",
    "department",
    "displayName",
    "givenName",
    "jobTitle",
    "mobilePhone",
    "officeLocation",
    "postalCode",
    "streetAddress",
    "surname",
];

/// Contact properties a `PATCH …/contacts/{id}` may set ("Update contact").
pub(crate) const CONTACT_WRITABLE: &[&str] = &[
    "businessAddress",
    "businessPhones",
    "companyName",
    "department",
    "displayName",
    "emailAddresses",
    "givenName",
    "homeAddress",
    "homePhones",
    "jobTitle",
    "middleName",
    "mobilePhone",
    "personalNotes",
    "surname",
];

/// The PATCH body as an object of writable properties, or Graph's 400.
fn patch_body(body: &[u8], writable: &[&str], code: &str) -> Result<Map<String, Value>, Response> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            code,
            "The request body is not a JSON object.",
        ));
    };
    if let Some(field) = body.keys().find(|k| !writable.contains(&k.as_str())) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            code,
            &format!("Property '{field}' cannot be updated."),
        ));
    }
    Ok(body)
}

/// `PATCH /users/{id}`: 204. A user synced from on-premises AD is refused, as Graph does.
async fn update_user(
    AxState(inner): AxState<Shared>,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    let id = match user_or_404(&inner, &user) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let body = match patch_body(&body, USER_WRITABLE, "Request_BadRequest") {
        Ok(body) => body,
        Err(r) => return r,
    };
    let synced = inner.state.lock().users[&id]["onPremisesSyncEnabled"] == Value::Bool(true);
    if synced {
        return error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.",
        );
    }
    inner.state.mutate(|s| {
        let user = s.users.get_mut(&id).expect("checked");
        for (k, v) in body {
            user[k.as_str()] = v;
        }
    });
    StatusCode::NO_CONTENT.into_response()
}

/// `PATCH /users/{mailbox}/contacts/{id}`: 200 with the updated contact.
async fn update_contact(
    AxState(inner): AxState<Shared>,
    Path((user, contact)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let id = match user_or_404(&inner, &user) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let body = match patch_body(&body, CONTACT_WRITABLE, "RequestBodyRead") {
        Ok(body) => body,
        Err(r) => return r,
    };
    let updated = inner.state.mutate(|s| {
        let found = s.contacts.get_mut(&id).and_then(|c| c.get_mut(&contact))?;
        for (k, v) in body {
            found[k.as_str()] = v;
        }
        found["lastModifiedDateTime"] = Value::from(jiff::Timestamp::now().to_string());
        Some(found.clone())
    });
    match updated {
        Some(c) => Json(c).into_response(),
        None => not_found("object"),
    }
}

async fn delete_user(AxState(inner): AxState<Shared>, Path(user): Path<String>) -> Response {
    let id = match user_or_404(&inner, &user) {
        Ok(id) => id,
        Err(r) => return r,
    };
    inner.state.mutate(|s| {
        if let Some(mut user) = s.users.remove(&id) {
            user["deletedDateTime"] = Value::from(jiff::Timestamp::now().to_string());
            s.deleted_users.insert(id.clone(), user);
        }
    });
    StatusCode::NO_CONTENT.into_response()
}

async fn list_contacts(
    AxState(inner): AxState<Shared>,
    uri: Uri,
    Path(user): Path<String>,
    Query(params): Params,
) -> Response {
    filtered_list(&inner, &uri, &user, &params, |state, id| {
        state
            .contacts
            .get(id)
            .into_iter()
            .flat_map(|c| c.values().cloned())
            .collect()
    })
}

/// A mailbox's collection (`items` of the mailbox's user id), `$filter`ed and paged.
fn filtered_list(
    inner: &Shared,
    uri: &Uri,
    user: &str,
    params: &HashMap<String, String>,
    items: impl Fn(&super::State, &str) -> Vec<Value>,
) -> Response {
    let id = match user_or_404(inner, user) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let filter = match parse_filter(params) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let found: Vec<Value> = items(&inner.state.lock(), &id)
        .into_iter()
        .filter(|item| filter.as_ref().is_none_or(|f| f.matches(item)))
        .collect();
    match page(
        inner,
        uri,
        params,
        found.len(),
        |i| found[i].clone(),
        10,
        1000,
    ) {
        Ok(body) => Json(Value::Object(body)).into_response(),
        Err(r) => r,
    }
}

async fn show_contact(
    AxState(inner): AxState<Shared>,
    Path((user, contact)): Path<(String, String)>,
) -> Response {
    let id = match user_or_404(&inner, &user) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let state = inner.state.lock();
    match state.contacts.get(&id).and_then(|c| c.get(&contact)) {
        Some(c) => Json(c.clone()).into_response(),
        None => not_found("object"),
    }
}

/// Change one item of a mailbox: 204 when `change` found it, Graph's 404 otherwise.
fn mailbox_change(
    inner: &Shared,
    user: &str,
    change: impl FnOnce(&mut super::State, &str) -> bool,
) -> Response {
    let id = match user_or_404(inner, user) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if inner.state.mutate(|s| change(s, &id)) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found("object")
    }
}

async fn delete_contact(
    AxState(inner): AxState<Shared>,
    Path((user, contact)): Path<(String, String)>,
) -> Response {
    mailbox_change(&inner, &user, |s, id| s.soft_delete_contact(id, &contact))
}

/// `POST …/contacts/{id}/permanentDelete`: gone from the mailbox (to the Purges folder).
async fn purge_contact(
    AxState(inner): AxState<Shared>,
    Path((user, contact)): Path<(String, String)>,
) -> Response {
    mailbox_change(&inner, &user, |s, id| s.purge_contact(id, &contact))
}

/// `POST …/messages/{id}/permanentDelete`: gone from the mailbox (to the Purges folder).
async fn purge_message(
    AxState(inner): AxState<Shared>,
    Path((user, message)): Path<(String, String)>,
) -> Response {
    mailbox_change(&inner, &user, |s, id| s.delete_message(id, &message))
}

/// A message in a listing: no body, no attachments (clients `$select` headers anyway); with
/// `$expand=singleValueExtendedProperties(…0x0E08…)`, its size (`PidTagMessageSize`).
fn listed(message: &Value, with_size: bool) -> Value {
    let mut m = message.clone();
    let size = 512
        + m["subject"].as_str().map_or(0, str::len)
        + m["body"]["content"].as_str().map_or(0, str::len)
        + m["attachments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["size"].as_u64())
            .sum::<u64>() as usize;
    if let Some(o) = m.as_object_mut() {
        o.remove("body");
        o.remove("attachments");
        if with_size {
            o.insert(
                "singleValueExtendedProperties".into(),
                json!([{"id": "Integer 0xe08", "value": size.to_string()}]),
            );
        }
    }
    m
}

fn wants_size(params: &HashMap<String, String>) -> bool {
    params
        .get("$expand")
        .is_some_and(|e| e.starts_with("singleValueExtendedProperties") && e.contains("0x0E08"))
}

/// Graph returns at most this many results for one message `$search`.
const SEARCH_RESULTS: usize = 1000;

/// `GET /users/{id}/mailFolders`: the top-level folders, `$filter` on `displayName`.
async fn list_folders(
    AxState(inner): AxState<Shared>,
    uri: Uri,
    Path(user): Path<String>,
    Query(params): Params,
) -> Response {
    filtered_list(&inner, &uri, &user, &params, |state, id| state.folders(id))
}

async fn list_messages(
    AxState(inner): AxState<Shared>,
    uri: Uri,
    Path(user): Path<String>,
    Query(params): Params,
) -> Response {
    let id = match user_or_404(&inner, &user) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if params.contains_key("$search") && params.contains_key("$orderby") {
        return error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidUrlQuery",
            "The query parameter 'OrderBy' is invalid with $search.",
        );
    }
    // Graph answers `$filter` together with `$search` on messages with a 400.
    if params.contains_key("$search") && params.contains_key("$filter") {
        return error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidUrlQuery",
            "The query parameter 'Filter' is invalid with $search.",
        );
    }
    let filter = match parse_filter(&params) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let query = match params
        .get("$search")
        .map(|s| search::Query::parse(s))
        .transpose()
    {
        Ok(q) => q,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Syntax error in $search: {e}"),
            )
        }
    };
    let received_day = |m: &Value| {
        m.get("receivedDateTime")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
    };
    let hit = |m: &Value| {
        filter.as_ref().is_none_or(|f| f.matches(m))
            && query.as_ref().is_none_or(|q| {
                search::matches(&q.phrases, m) && received_day(m).is_some_and(|d| q.in_window(d))
            })
    };
    let with_size = wants_size(&params);
    let state = inner.state.lock().clone();
    let mut stored: Vec<Value> = state
        .messages
        .get(&id)
        .into_iter()
        .flat_map(|m| m.values())
        .filter(|m| hit(m))
        .map(|m| listed(m, with_size))
        .collect();
    // Sorted newest first, as Graph sorts search results (by date).
    stored.sort_by(|a, b| {
        b["receivedDateTime"]
            .as_str()
            .cmp(&a["receivedDateTime"].as_str())
    });
    // Generated messages share their participants: one check decides for all of them, and
    // the date restrictions pick a range of indexes.
    let owner = state.users[&id]["mail"].as_str().unwrap_or("").to_string();
    let generated: std::ops::Range<usize> =
        match state.generated.as_ref().filter(|g| g.mailbox == id) {
            Some(g) => {
                let sample = listed(&g.message(0, &owner), false);
                let participants_match = filter.as_ref().is_none_or(|f| f.matches(&sample))
                    && query
                        .as_ref()
                        .is_none_or(|q| search::matches(&q.phrases, &sample));
                if participants_match {
                    let (from, before) = query
                        .as_ref()
                        .map_or((None, None), |q| (q.received_from, q.received_before));
                    g.indexes_between(from, before)
                } else {
                    0..0
                }
            }
            None => 0..0,
        };
    let deleted = state
        .generated
        .as_ref()
        .map(|g| g.deleted.clone())
        .unwrap_or_default();
    let generated: Vec<usize> = generated.filter(|i| !deleted.contains(i)).collect();
    let mut total = stored.len() + generated.len();
    // "A $search request returns up to 1,000 results": the rest is silently left out.
    if query.is_some() {
        total = total.min(SEARCH_RESULTS);
    }
    let item = |i: usize| {
        if i < stored.len() {
            stored[i].clone()
        } else {
            let g = state.generated.as_ref().expect("generated");
            listed(&g.message(generated[i - stored.len()], &owner), with_size)
        }
    };
    match page(&inner, &uri, &params, total, item, 10, 1000) {
        Ok(body) => Json(Value::Object(body)).into_response(),
        Err(r) => r,
    }
}

async fn show_message(
    AxState(inner): AxState<Shared>,
    Path((user, message)): Path<(String, String)>,
    Query(params): Params,
) -> Response {
    let id = match user_or_404(&inner, &user) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let Some(mut m) = inner.state.lock().message(&id, &message) else {
        return not_found("object");
    };
    let expanded = params
        .get("$expand")
        .is_some_and(|e| e.starts_with("attachments"));
    if !expanded {
        if let Some(o) = m.as_object_mut() {
            o.remove("attachments");
        }
    }
    Json(select(&m, &params)).into_response()
}

async fn delete_message(
    AxState(inner): AxState<Shared>,
    Path((user, message)): Path<(String, String)>,
) -> Response {
    mailbox_change(&inner, &user, |s, id| s.soft_delete_message(id, &message))
}

async fn show_deleted(AxState(inner): AxState<Shared>, Path(id): Path<String>) -> Response {
    match inner.state.lock().deleted_users.get(&id) {
        Some(u) => Json(u.clone()).into_response(),
        None => not_found("user"),
    }
}

/// Permanently deleting a user from `directory/deletedItems` is not supported with
/// application permissions (only a delegated User Administrator may): the fake's tokens are
/// all app-only, so it refuses, as Graph does.
async fn purge_deleted(AxState(inner): AxState<Shared>, Path(id): Path<String>) -> Response {
    if !inner.state.lock().deleted_users.contains_key(&id) {
        return not_found("user");
    }
    error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

async fn organization(AxState(inner): AxState<Shared>, Query(params): Params) -> Response {
    let tenant = inner.state.lock().tenant.clone();
    Json(json!({"value": [select(&tenant, &params)]})).into_response()
}

/// `$batch`: every sub-request runs through the same gate and routes; answers come back in
/// reverse order, so clients must match them by id.
async fn batch(AxState(inner): AxState<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    inner.batches.fetch_add(1, Ordering::SeqCst);
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid batch payload.",
        );
    };
    let requests = body
        .get("requests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if requests.is_empty() || requests.len() > 20 {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "A batch holds between 1 and 20 requests.",
        );
    }
    let router = inner.sub_router.get().expect("set at start").clone();
    let mut responses = Vec::new();
    for sub in requests {
        let id = sub["id"].as_str().unwrap_or_default().to_string();
        let method = sub["method"].as_str().unwrap_or("GET");
        let url = sub["url"].as_str().unwrap_or_default();
        if !url.starts_with('/') {
            responses.push(json!({"id": id, "status": 400, "body": {"error": {"code": "BadRequest", "message": "Invalid request URL."}}}));
            continue;
        }
        let throttle = inner
            .throttled_subs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if throttle {
            responses.push(json!({"id": id, "status": 429, "headers": {"Retry-After": "1"},
                "body": {"error": {"code": "activityLimitReached", "message": "The request has been throttled"}}}));
            continue;
        }
        let mut request = Request::builder().method(method).uri(format!("/v1.0{url}"));
        if let Some(auth) = headers.get(header::AUTHORIZATION) {
            request = request.header(header::AUTHORIZATION, auth);
        }
        if let Some(extra) = sub.get("headers").and_then(Value::as_object) {
            for (k, v) in extra {
                if let Some(v) = v.as_str() {
                    request = request.header(k.as_str(), v);
                }
            }
        }
        let body = sub
            .get("body")
            .map(|b| Body::from(b.to_string()))
            .unwrap_or_else(Body::empty);
        let Ok(request) = request.body(body) else {
            responses.push(json!({"id": id, "status": 400}));
            continue;
        };
        let response = router.clone().oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let mut out_headers = Map::new();
        for name in [header::RETRY_AFTER, header::CONTENT_TYPE] {
            if let Some(v) = response.headers().get(&name).and_then(|v| v.to_str().ok()) {
                out_headers.insert(name.as_str().to_string(), Value::from(v));
            }
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let body = serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|_| {
            if bytes.is_empty() {
                Value::Null
            } else {
                Value::from(String::from_utf8_lossy(&bytes).into_owned())
            }
        });
        responses.push(json!({"id": id, "status": status, "headers": out_headers, "body": body}));
    }
    responses.reverse();
    Json(json!({ "responses": responses })).into_response()
}

/// The identity platform's token endpoint, client-credentials grant only.
async fn token(
    AxState(inner): AxState<Shared>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    inner.log.record("POST", "/oauth2/v2.0/token");
    inner.token_calls.fetch_add(1, Ordering::SeqCst);
    let aad = |status: StatusCode, code: &str, description: &str| {
        (
            status,
            Json(json!({"error": code, "error_description": description, "error_codes": [0]})),
        )
            .into_response()
    };
    if tenant != inner.options.tenant_id {
        return aad(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS90002: Tenant not found.",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") != "client_credentials" {
        return aad(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    let secret_ok = inner.secret.accepts(get("client_secret"));
    if get("client_id") != inner.options.client_id
        || !secret_ok
        || inner.faults.credentials_expired()
    {
        return aad(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        );
    }
    if get("scope") != "https://graph.microsoft.com/.default" {
        return aad(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid.",
        );
    }
    let n = inner.token_counter.fetch_add(1, Ordering::SeqCst) + 1;
    let access = format!("fake-graph-token-{n:06}-{}", inner.options.client_id);
    inner.tokens.lock().expect("tokens").insert(
        access.clone(),
        Instant::now() + inner.options.token_lifetime,
    );
    let lifetime = inner.options.token_lifetime.as_secs();
    Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access,
    }))
    .into_response()
}
