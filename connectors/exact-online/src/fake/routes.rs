//! HTTP surface of the fake: the OAuth endpoints, the gate every API call passes (count,
//! faults, token, error block, limits, rate-limit headers) and the OData handlers.

// Helpers return the finished error answer as `Err`; it is sent at once, never stored.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::oauth::Refused;
use super::odata::Filter;
use super::state::{Refusal, Set, DATE_FIELDS};
use super::Inner;

type Shared = Arc<Inner>;
type Params = Query<HashMap<String, String>>;

const PAGE_SIZE: usize = 60;
const ERRORS_BEFORE_BLOCK: usize = 10;
const HOUR: Duration = Duration::from_secs(3600);

pub(super) fn router(inner: Shared) -> Router {
    let api = Router::new()
        .route("/api/v1/current/Me", get(me))
        .route("/api/v1/{division}/system/Divisions", get(divisions))
        .route(
            "/api/v1/{division}/{service}/{entity}",
            get(read).put(update).delete(delete),
        )
        .route("/api/v1/{division}/{service}/{entity}/$count", get(count))
        .fallback(|| async { odata_error(StatusCode::NOT_FOUND, "Resource not found") })
        .layer(middleware::from_fn_with_state(inner.clone(), gate));
    let oauth = Router::new()
        .route("/api/oauth2/auth", get(authorize))
        .route("/api/oauth2/token", post(token))
        .layer(middleware::from_fn_with_state(inner.clone(), log_only));
    api.merge(oauth)
        // Outermost: a test sees every exchange, the gate's refusals included.
        .layer(middleware::from_fn_with_state(inner.clone(), capture))
        .with_state(inner)
}

async fn capture(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    dsrhub_connector::fakekit::capture(&inner.log, request, next).await
}

/// Exact's OData v2 error body.
fn odata_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": "", "message": {"lang": "", "value": message}}})),
    )
        .into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn epoch_ms_after(wait: Duration) -> u64 {
    let now = jiff::Timestamp::now().as_millisecond() as u64;
    now + wait.as_millis() as u64
}

/// Midnight in the Netherlands, when Exact resets the daily count.
fn next_midnight_ms() -> u64 {
    let now = jiff::Timestamp::now()
        .in_tz("Europe/Amsterdam")
        .expect("tz");
    now.date()
        .tomorrow()
        .ok()
        .and_then(|d| d.to_zoned_datetime(now.time_zone().clone()).ok())
        .map(|z| z.timestamp().as_millisecond() as u64)
        .unwrap_or_default()
}

async fn log_only(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    inner
        .log
        .record(request.method().as_str(), request.uri().path());
    next.run(request).await
}

/// `(division, "service/Entity")` of an API path, for limits and the error block.
fn endpoint_of(path: &str) -> (u32, String) {
    let rest = path.trim_start_matches("/api/v1/");
    let mut parts = rest.split('/');
    let first = parts.next().unwrap_or_default();
    match first.parse::<u32>() {
        Ok(division) => {
            let endpoint: Vec<&str> = parts
                .map(|p| p.split('(').next().unwrap_or(p))
                .filter(|p| *p != "$count")
                .collect();
            (division, endpoint.join("/"))
        }
        Err(_) => (0, rest.to_string()),
    }
}

/// Every API call: logged, faults applied, token checked, error block and limits enforced;
/// every answer carries the `X-RateLimit-*` headers.
/// One call in flight to a division, for as long as the fake serves it (its slowness
/// included).
struct InFlight<'a> {
    inner: &'a Inner,
    division: u32,
}

impl<'a> InFlight<'a> {
    fn enter(inner: &'a Inner, division: u32) -> InFlight<'a> {
        let now = {
            let mut map = inner.in_flight.lock().expect("in flight");
            let n = map.entry(division).or_default();
            *n += 1;
            *n as u64
        };
        if division != 0 {
            inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
        }
        InFlight { inner, division }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(n) = self
            .inner
            .in_flight
            .lock()
            .expect("in flight")
            .get_mut(&self.division)
        {
            *n -= 1;
        }
    }
}

async fn gate(AxState(inner): AxState<Shared>, request: Request, next: Next) -> Response {
    let _in_flight = InFlight::enter(&inner, endpoint_of(request.uri().path()).0);
    dsrhub_connector::fakekit::arrive(
        &inner.log,
        &inner.faults,
        request.method().as_str(),
        request.uri().path(),
    )
    .await;
    let options = inner.options();
    let (division, endpoint) = endpoint_of(request.uri().path());

    if let Some((status, retry_after)) = inner.faults.next_status() {
        let mut response = match status {
            429 => odata_error(StatusCode::TOO_MANY_REQUESTS, "API rate limit exceeded"),
            other => odata_error(
                StatusCode::from_u16(other).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "An error occurred",
            ),
        };
        // Exact sends no Retry-After; the minutely reset says when to come back.
        if let Some(wait) = retry_after {
            let headers = response.headers_mut();
            headers.insert("X-RateLimit-Minutely-Remaining", HeaderValue::from(0));
            headers.insert(
                "X-RateLimit-Minutely-Reset",
                HeaderValue::from(epoch_ms_after(wait)),
            );
        }
        return response;
    }

    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let authorized = !inner.faults.credentials_expired()
        && bearer.is_some_and(|t| inner.chain.lock().expect("chain").authorize(&t).is_ok());
    if !authorized {
        return odata_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }

    if division != 0
        && !endpoint.starts_with("system/")
        && options
            .division_scope
            .as_ref()
            .is_some_and(|scope| !scope.contains(&division))
    {
        return odata_error(
            StatusCode::FORBIDDEN,
            "User division is not within division scope",
        );
    }

    let key = (division, endpoint);
    let blocked = {
        let mut blocked = inner.blocked.lock().expect("blocked");
        match blocked.get(&key) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                blocked.remove(&key);
                false
            }
            None => false,
        }
    };
    if blocked {
        return odata_error(
            StatusCode::FORBIDDEN,
            "Access to this endpoint is blocked for one hour: too many errors",
        );
    }

    // The limits, per division: a fixed minute window and a daily count.
    let (minute_remaining, minute_reset, day_remaining, over) = {
        let mut buckets = inner.buckets.lock().expect("buckets");
        let now = Instant::now();
        let bucket = buckets.entry(division).or_insert(Bucket {
            minute_started: now,
            minute_count: 0,
            day_count: 0,
        });
        if now.duration_since(bucket.minute_started) >= options.minute {
            bucket.minute_started = now;
            bucket.minute_count = 0;
        }
        let over = bucket.minute_count >= options.minutely_limit
            || bucket.day_count >= options.daily_limit;
        if !over {
            bucket.minute_count += 1;
            bucket.day_count += 1;
        }
        (
            options.minutely_limit.saturating_sub(bucket.minute_count),
            epoch_ms_after((bucket.minute_started + options.minute).saturating_duration_since(now)),
            options.daily_limit.saturating_sub(bucket.day_count),
            over,
        )
    };
    let with_headers = |mut response: Response| {
        let h = response.headers_mut();
        h.insert("X-RateLimit-Limit", HeaderValue::from(options.daily_limit));
        h.insert("X-RateLimit-Remaining", HeaderValue::from(day_remaining));
        h.insert("X-RateLimit-Reset", HeaderValue::from(next_midnight_ms()));
        h.insert(
            "X-RateLimit-Minutely-Limit",
            HeaderValue::from(options.minutely_limit),
        );
        h.insert(
            "X-RateLimit-Minutely-Remaining",
            HeaderValue::from(minute_remaining),
        );
        h.insert(
            "X-RateLimit-Minutely-Reset",
            HeaderValue::from(minute_reset),
        );
        response
    };
    if over {
        inner.limit_rejections.fetch_add(1, Ordering::SeqCst);
        return with_headers(odata_error(
            StatusCode::TOO_MANY_REQUESTS,
            "API rate limit exceeded",
        ));
    }

    // Exact answers in Atom XML unless the client asks for JSON.
    let wants_json = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/json"));
    if !wants_json {
        return with_headers(
            (
                [(header::CONTENT_TYPE, "application/atom+xml;charset=utf-8")],
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
                 <feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"text\"/></feed>",
            )
                .into_response(),
        );
    }

    let response = next.run(request).await;
    let status = response.status().as_u16();
    if (400..500).contains(&status) && status != 401 && status != 429 {
        inner.errors_answered.fetch_add(1, Ordering::SeqCst);
        let mut errors = inner.errors.lock().expect("errors");
        let recent = errors.entry(key.clone()).or_default();
        let now = Instant::now();
        recent.retain(|t| now.duration_since(*t) < HOUR);
        recent.push(now);
        if recent.len() >= ERRORS_BEFORE_BLOCK {
            inner
                .blocked
                .lock()
                .expect("blocked")
                .insert(key, now + HOUR);
        }
    }
    with_headers(response)
}

use super::Bucket;

fn render(entity: &Value, select: Option<&[String]>, uri: String, set: Option<Set>) -> Value {
    let mut out = Map::new();
    if let Some(set) = set {
        out.insert(
            "__metadata".into(),
            json!({"uri": uri, "type": format!("Exact.Web.Api.Models.{}", set.name())}),
        );
    }
    if let Some(object) = entity.as_object() {
        for (field, value) in object {
            if select.is_some_and(|s| !s.iter().any(|f| f == field)) {
                continue;
            }
            let value = match value.as_str() {
                Some(date) if DATE_FIELDS.contains(&field.as_str()) => date
                    .parse::<jiff::civil::Date>()
                    .map(|d| Value::from(crate::mapping::to_odata_date(d)))
                    .unwrap_or_else(|_| value.clone()),
                _ => value.clone(),
            };
            out.insert(field.clone(), value);
        }
    }
    Value::Object(out)
}

fn selected(params: &HashMap<String, String>) -> Option<Vec<String>> {
    params
        .get("$select")
        .map(|s| s.split(',').map(|f| f.trim().to_string()).collect())
}

/// Properties the set has anywhere (to refuse unknown ones, as Exact does).
fn known_fields(inner: &Inner, set: Set) -> Vec<String> {
    let state = inner.state.lock();
    let mut fields: Vec<String> = state
        .divisions
        .values()
        .flat_map(|d| d.set(set).values())
        .filter_map(Value::as_object)
        .flat_map(|o| o.keys().cloned())
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

fn check_fields<'a>(
    inner: &Inner,
    set: Set,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), Response> {
    let known = known_fields(inner, set);
    if known.is_empty() {
        return Ok(());
    }
    for name in names {
        if !known.iter().any(|k| k == name) {
            return Err(odata_error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "Invalid request: '{name}' is not a property of {}",
                    set.name()
                ),
            ));
        }
    }
    Ok(())
}

async fn me(AxState(inner): AxState<Shared>, Query(params): Params) -> Response {
    let user = serde_json::to_value(&inner.state.lock().user).expect("user serialises");
    let select = selected(&params);
    Json(json!({"d": {"results": [render(&user, select.as_deref(), String::new(), None)]}}))
        .into_response()
}

async fn divisions(
    AxState(inner): AxState<Shared>,
    Path(division): Path<u32>,
    Query(params): Params,
) -> Response {
    let state = inner.state.lock();
    if !state.divisions.contains_key(&division) {
        return odata_error(
            StatusCode::FORBIDDEN,
            "Forbidden: no access to this division",
        );
    }
    let select = selected(&params);
    let results: Vec<Value> = state
        .divisions
        .iter()
        .map(|(code, d)| {
            render(
                &json!({"Code": code, "Description": d.description, "Customer": null}),
                select.as_deref(),
                String::new(),
                None,
            )
        })
        .collect();
    Json(json!({"d": {"results": results}})).into_response()
}

/// `Contacts(guid'…')` → (`Contacts`, Some(id)); `Contacts` → (`Contacts`, None).
fn split_key(entity: &str) -> Result<(&str, Option<String>), Response> {
    let Some((name, rest)) = entity.split_once('(') else {
        return Ok((entity, None));
    };
    let id = rest
        .strip_suffix(')')
        .and_then(|k| k.strip_prefix("guid'"))
        .and_then(|k| k.strip_suffix('\''))
        .filter(|k| dsrhub_connector::escape::is_guid(k))
        .ok_or_else(|| odata_error(StatusCode::BAD_REQUEST, "Invalid key: expected guid'…'"))?;
    Ok((name, Some(id.to_ascii_lowercase())))
}

fn resolve(
    inner: &Inner,
    division: u32,
    service: &str,
    entity: &str,
) -> Result<(Set, Option<String>), Response> {
    let (name, key) = split_key(entity)?;
    let set = Set::from_path(service, name)
        .ok_or_else(|| odata_error(StatusCode::NOT_FOUND, "Resource not found"))?;
    if !inner.state.lock().divisions.contains_key(&division) {
        return Err(odata_error(
            StatusCode::FORBIDDEN,
            "Forbidden: no access to this division",
        ));
    }
    Ok((set, key))
}

fn entity_uri(inner: &Inner, division: u32, service: &str, set: Set, id: &str) -> String {
    let name = match set {
        Set::Accounts => "Accounts",
        Set::Contacts => "Contacts",
        Set::BankAccounts => "BankAccounts",
        Set::SalesInvoices => "SalesInvoices",
        Set::TransactionLines => "TransactionLines",
        Set::Subscriptions => "Subscriptions",
    };
    format!(
        "{}/api/v1/{division}/{service}/{name}(guid'{id}')",
        inner.base.get().cloned().unwrap_or_default()
    )
}

fn parse_filter(
    inner: &Inner,
    set: Set,
    params: &HashMap<String, String>,
) -> Result<Option<Filter>, Response> {
    let Some(text) = params.get("$filter") else {
        return Ok(None);
    };
    let filter = Filter::parse(text).map_err(|e| {
        odata_error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid request: $filter: {e}"),
        )
    })?;
    check_fields(inner, set, filter.fields())?;
    Ok(Some(filter))
}

async fn read(
    AxState(inner): AxState<Shared>,
    Path((division, service, entity)): Path<(u32, String, String)>,
    Query(params): Params,
) -> Response {
    let (set, key) = match resolve(&inner, division, &service, &entity) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let select = selected(&params);
    if let Some(fields) = &select {
        if let Err(response) = check_fields(&inner, set, fields.iter().map(String::as_str)) {
            return response;
        }
    }
    if let Some(id) = key {
        let state = inner.state.lock();
        let Some(found) = state.divisions[&division].set(set).get(&id) else {
            return odata_error(StatusCode::NOT_FOUND, &format!("{} not found", set.name()));
        };
        let uri = entity_uri(&inner, division, &service, set, &id);
        return Json(json!({"d": render(found, select.as_deref(), uri, Some(set))}))
            .into_response();
    }
    // "Mandatory filtering": lists of entities with a sync API need a $filter.
    let filter = match parse_filter(&inner, set, &params) {
        Ok(Some(filter)) => filter,
        Ok(None) => {
            return odata_error(
                StatusCode::BAD_REQUEST,
                "Invalid request: a $filter is mandatory for this endpoint",
            )
        }
        Err(response) => return response,
    };
    let top = match params.get("$top").map(|t| t.parse::<usize>()) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => return odata_error(StatusCode::BAD_REQUEST, "Invalid request: $top"),
    };
    let after = match params.get("$skiptoken") {
        None => None,
        Some(token) => match token
            .strip_prefix("guid'")
            .and_then(|t| t.strip_suffix('\''))
            .filter(|t| dsrhub_connector::escape::is_guid(t))
        {
            Some(id) => Some(id.to_ascii_lowercase()),
            None => return odata_error(StatusCode::BAD_REQUEST, "Invalid request: $skiptoken"),
        },
    };
    let page = inner
        .page_size
        .lock()
        .expect("page size")
        .unwrap_or(PAGE_SIZE);
    let state = inner.state.lock();
    let matching: Vec<(&String, &Value)> = state.divisions[&division]
        .set(set)
        .iter()
        .filter(|(id, _)| after.as_ref().is_none_or(|a| id.as_str() > a.as_str()))
        .filter(|(_, e)| filter.matches(e))
        .collect();
    let take = top.map_or(page, |t| t.min(page));
    let results: Vec<Value> = matching
        .iter()
        .take(take)
        .map(|(id, e)| {
            let uri = entity_uri(&inner, division, &service, set, id);
            render(e, select.as_deref(), uri, Some(set))
        })
        .collect();
    let mut d = json!({"results": results});
    if top.is_none() && matching.len() > take {
        let last = matching[take - 1].0;
        let mut next = url::Url::parse(&format!(
            "{}/api/v1/{division}/{service}/{entity}",
            inner.base.get().cloned().unwrap_or_default()
        ))
        .expect("valid URL");
        {
            let mut q = next.query_pairs_mut();
            for (k, v) in params.iter().filter(|(k, _)| k.as_str() != "$skiptoken") {
                q.append_pair(k, v);
            }
            q.append_pair("$skiptoken", &format!("guid'{last}'"));
        }
        d["__next"] = Value::from(next.to_string());
    }
    Json(json!({ "d": d })).into_response()
}

async fn count(
    AxState(inner): AxState<Shared>,
    Path((division, service, entity)): Path<(u32, String, String)>,
    Query(params): Params,
) -> Response {
    let (set, _) = match resolve(&inner, division, &service, &entity) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let filter = match parse_filter(&inner, set, &params) {
        Ok(f) => f,
        Err(response) => return response,
    };
    let state = inner.state.lock();
    let n = state.divisions[&division]
        .set(set)
        .values()
        .filter(|e| filter.as_ref().is_none_or(|f| f.matches(e)))
        .count();
    ([(header::CONTENT_TYPE, "text/plain")], n.to_string()).into_response()
}

fn refusal(set: Set, r: Refusal) -> Response {
    match r {
        Refusal::NotFound => {
            odata_error(StatusCode::NOT_FOUND, &format!("{} not found", set.name()))
        }
        Refusal::BadRequest(message) => odata_error(StatusCode::BAD_REQUEST, &message),
    }
}

async fn update(
    AxState(inner): AxState<Shared>,
    Path((division, service, entity)): Path<(u32, String, String)>,
    body: Bytes,
) -> Response {
    let (set, Some(id)) = (match resolve(&inner, division, &service, &entity) {
        Ok(r) => r,
        Err(response) => return response,
    }) else {
        return odata_error(StatusCode::METHOD_NOT_ALLOWED, "PUT needs a key");
    };
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&body) else {
        return odata_error(
            StatusCode::BAD_REQUEST,
            "Invalid request: body is not a JSON object",
        );
    };
    match inner.state.mutate(|s| {
        s.divisions
            .get_mut(&division)
            .expect("checked")
            .update(set, &id, &changes)
    }) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => refusal(set, r),
    }
}

async fn delete(
    AxState(inner): AxState<Shared>,
    Path((division, service, entity)): Path<(u32, String, String)>,
) -> Response {
    let (set, Some(id)) = (match resolve(&inner, division, &service, &entity) {
        Ok(r) => r,
        Err(response) => return response,
    }) else {
        return odata_error(StatusCode::METHOD_NOT_ALLOWED, "DELETE needs a key");
    };
    match inner.state.mutate(|s| {
        s.divisions
            .get_mut(&division)
            .expect("checked")
            .delete(set, &id)
    }) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => refusal(set, r),
    }
}

/// The consent page, played by a user who always agrees: straight back to the app with a code.
async fn authorize(AxState(inner): AxState<Shared>, Query(params): Params) -> Response {
    let options = inner.options();
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != options.client_id {
        return (StatusCode::BAD_REQUEST, "Unknown client_id").into_response();
    }
    if get("response_type") != "code" {
        return (StatusCode::BAD_REQUEST, "response_type must be code").into_response();
    }
    if get("redirect_uri") != options.redirect_uri {
        return (
            StatusCode::BAD_REQUEST,
            "redirect_uri is not registered for this app",
        )
            .into_response();
    }
    let code = inner
        .chain
        .lock()
        .expect("chain")
        .code(&options.redirect_uri);
    let mut location = url::Url::parse(&options.redirect_uri).expect("valid redirect URI");
    location.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = params.get("state") {
        location.query_pairs_mut().append_pair("state", state);
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

async fn token(AxState(inner): AxState<Shared>, body: Bytes) -> Response {
    let calls = inner.token_calls.fetch_add(1, Ordering::SeqCst) + 1;
    let options = inner.options();
    if calls > u64::from(options.token_daily_cap) {
        return oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Token request limit reached",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != options.client_id || get("client_secret") != options.client_secret {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Invalid client");
    }
    let mut chain = inner.chain.lock().expect("chain");
    let issued = match get("grant_type") {
        "authorization_code" => chain
            .redeem(get("code"), get("redirect_uri"))
            .map(|()| chain.issue(options.access_lifetime)),
        "refresh_token" if inner.faults.credentials_expired() => Err(Refused::Invalid),
        "refresh_token" => chain.refresh(
            get("refresh_token"),
            options.access_lifetime,
            options.refresh_lifetime,
        ),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant type",
            )
        }
    };
    match issued {
        Ok((access, refresh)) => Json(json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": options.access_lifetime.as_secs().to_string(),
            "refresh_token": refresh,
        }))
        .into_response(),
        Err(Refused::OldRefreshToken) => {
            inner.old_refresh_token_uses.fetch_add(1, Ordering::SeqCst);
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Old refresh token used.",
            )
        }
        Err(Refused::NotExpired) => {
            inner.early_refreshes.fetch_add(1, Ordering::SeqCst);
            oauth_error(
                StatusCode::BAD_REQUEST,
                "access_denied",
                "Rate limit exceeded: access_token not expired",
            )
        }
        Err(Refused::RefreshExpired(at)) => {
            let at = jiff::Timestamp::now()
                - jiff::SignedDuration::try_from(at.elapsed()).unwrap_or_default();
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!(
                    "The refresh token expired at {}",
                    at.strftime("%Y-%m-%d %H:%M:%S")
                ),
            )
        }
        Err(Refused::Invalid) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The grant is invalid or expired.",
        ),
    }
}
