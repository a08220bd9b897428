//! The API's handlers: OpenDSR-shaped intake and status, the staff workflow (identity
//! verification, approval), reports and exports, the processor register, health.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dsrhub_connector::Subject;
use serde_json::{json, Value};

use super::AppState;
use crate::error::Error;
use crate::ledger::{RequestKind, RequestRow, RequestStatus};
use crate::orchestrator::RunOptions;

/// An API error: status, a stable code, a message and, for bad input, the field.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    pub(super) fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_request",
            message: message.into(),
            field: Some(field.into()),
        }
    }

    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such request")
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Usage(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            other => {
                tracing::error!(error = %other, "API request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the hub could not complete this; see its log",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(field) = self.field {
            body["field"] = Value::from(field);
        }
        (self.status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// `GET /health`.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::OPENAPI).into_response()
}

/// A validated intake.
struct Intake {
    external_id: String,
    kind: RequestKind,
    subject: Subject,
    callbacks: Vec<String>,
    /// When the subject submitted it: the one-month deadline counts from here.
    submitted: jiff::Timestamp,
    /// The language the subject is answered in (extension; default `nl`).
    language: &'static str,
    /// A rectification's, restriction's or objection's change (extension), with a
    /// restriction's reason.
    change: Option<(dsrhub_connector::Change, Option<String>)>,
    /// `portability`: an access request whose export holds only what the person provided.
    portable: bool,
}

/// How far a `submitted_time` may lie ahead of our clock (the sender's clock may run fast).
const CLOCK_SKEW: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

fn text<'a>(body: &'a Value, field: &str) -> ApiResult<&'a str> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid(field, "required, a non-empty string"))
}

/// How far back a `submitted_time` may lie without `"backdated": true`.
const MAX_AGE: jiff::SignedDuration = jiff::SignedDuration::from_hours(365 * 24);

/// Check an intake body; `first_recorded`: when this hub recorded its first request.
fn parse_intake(
    body: &Value,
    callback_hosts: &[String],
    first_recorded: Option<jiff::Timestamp>,
) -> ApiResult<Intake> {
    if !body.is_object() {
        return Err(ApiError::invalid("", "the body must be a JSON object"));
    }
    let external_id = text(body, "subject_request_id")?;
    if external_id.len() > 100
        || !external_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ApiError::invalid(
            "subject_request_id",
            "at most 100 letters, digits, '-', '_' or '.' (a UUID)",
        ));
    }
    let requested = text(body, "subject_request_type")?;
    let portable = requested == "portability";
    let kind = match requested {
        "access" | "portability" => RequestKind::Access,
        "erasure" => RequestKind::Erasure,
        // Extensions: OpenDSR knows the three above; the policy grants these too.
        "rectification" => RequestKind::Rectification,
        "restriction" => RequestKind::Restriction,
        "objection" => RequestKind::Objection,
        _ => {
            return Err(ApiError::invalid(
                "subject_request_type",
                "one of access, portability, erasure, rectification, restriction, objection",
            ))
        }
    };
    let change = parse_change(body, kind)?;
    let submitted = text(body, "submitted_time")?
        .parse::<jiff::Timestamp>()
        .map_err(|_| ApiError::invalid("submitted_time", "an RFC 3339 time"))?;
    let now = jiff::Timestamp::now();
    if submitted.duration_since(now) > CLOCK_SKEW {
        return Err(ApiError::invalid(
            "submitted_time",
            "a time not in the future",
        ));
    }
    // A time long past, or from before this hub took its first request, is more likely a
    // sender's bug (a default date, a wrong zone) than a backlog: it would make the request
    // overdue at once. A backlog says so.
    let backdated = match body.get("backdated") {
        None => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => return Err(ApiError::invalid("backdated", "true or false")),
    };
    if !backdated {
        if now.duration_since(submitted) > MAX_AGE {
            return Err(ApiError::invalid(
                "submitted_time",
                "more than a year ago; if the request really is that old, send \"backdated\": true",
            ));
        }
        if let Some(first) = first_recorded {
            if submitted < first {
                return Err(ApiError::invalid(
                    "submitted_time",
                    format!(
                        "before this hub took its first request ({}); if this is a backlog, send \"backdated\": true",
                        first.strftime("%Y-%m-%d")
                    ),
                ));
            }
        }
    }
    let identities = body
        .get("subject_identities")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty() && a.len() <= 20)
        .ok_or_else(|| ApiError::invalid("subject_identities", "required, 1 to 20 identities"))?;
    let mut subject = Subject::default();
    for (i, identity) in identities.iter().enumerate() {
        let field = |name: &str| format!("subject_identities[{i}].{name}");
        let get = |name: &str| {
            identity
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| ApiError::invalid(field(name), "required, a non-empty string"))
        };
        let value = get("identity_value")?;
        if value.len() > 320 || value.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                field("identity_value"),
                "at most 320 characters, no control characters",
            ));
        }
        match identity.get("identity_format").and_then(Value::as_str) {
            None | Some("raw") => {}
            Some(_) => {
                return Err(ApiError::invalid(
                    field("identity_format"),
                    "only raw identities can be searched for",
                ))
            }
        }
        match get("identity_type")? {
            "email" => {
                // Normalised here, once, as the CLI does: every connector searches this value.
                let Some(email) = crate::identifiers::normalize_email(value) else {
                    return Err(ApiError::invalid(
                        field("identity_value"),
                        "not an e-mail address (it needs a local part, an at sign and a domain, and no spaces)",
                    ));
                };
                subject.emails.push(email);
            }
            "phone_number" => subject.phones.push(value.to_string()),
            "name" => subject.names.push(value.to_string()),
            _ => {
                return Err(ApiError::invalid(
                    field("identity_type"),
                    "one of email, phone_number, name",
                ))
            }
        }
    }
    if subject.emails.is_empty() {
        return Err(ApiError::invalid(
            "subject_identities",
            "at least one email identity is needed",
        ));
    }
    let mut callbacks = Vec::new();
    if let Some(urls) = body.get("status_callback_urls") {
        let urls = urls
            .as_array()
            .filter(|a| a.len() <= 5)
            .ok_or_else(|| ApiError::invalid("status_callback_urls", "at most 5 URLs"))?;
        for (i, url) in urls.iter().enumerate() {
            let field = format!("status_callback_urls[{i}]");
            let parsed = url
                .as_str()
                .and_then(|u| url::Url::parse(u).ok())
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .ok_or_else(|| ApiError::invalid(&field, "an http(s) URL"))?;
            let host = parsed.host_str().unwrap_or_default();
            if !callback_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                return Err(ApiError::invalid(
                    field,
                    "this host is not in serve.callback_hosts",
                ));
            }
            callbacks.push(parsed.to_string());
        }
    }
    let language = match body.get("language").map(|v| v.as_str()) {
        None => "nl",
        Some(Some("nl")) => "nl",
        Some(Some("en")) => "en",
        Some(_) => return Err(ApiError::invalid("language", "one of nl, en")),
    };
    Ok(Intake {
        external_id: external_id.to_string(),
        kind,
        subject,
        callbacks,
        submitted,
        language,
        change,
        portable,
    })
}

/// The change a rectification (`corrections`: canonical field → corrected value), a
/// restriction (`reason`) or an objection (`purpose`) asks; `None` for access and erasure.
fn parse_change(
    body: &Value,
    kind: RequestKind,
) -> ApiResult<Option<(dsrhub_connector::Change, Option<String>)>> {
    use dsrhub_connector::{Change, Field, Purpose};
    Ok(Some(match kind {
        RequestKind::Rectification => {
            let corrections = body
                .get("corrections")
                .and_then(Value::as_object)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "corrections",
                        "required for a rectification: an object of field → corrected value",
                    )
                })?;
            let mut values = std::collections::BTreeMap::new();
            for (name, value) in corrections {
                let field = Field::parse(name).ok_or_else(|| {
                    ApiError::invalid(
                        "corrections",
                        format!(
                            "`{name}` is not a field; one of {} (a name is first_name and last_name)",
                            Field::ALL.map(Field::as_str).join(", ")
                        ),
                    )
                })?;
                let value = value
                    .as_str()
                    .map(str::trim)
                    .filter(|v| !v.is_empty() && v.chars().count() <= 200)
                    .filter(|v| !v.chars().any(char::is_control))
                    .ok_or_else(|| {
                        ApiError::invalid(
                            format!("corrections.{name}"),
                            "a non-empty string of at most 200 characters, without line breaks",
                        )
                    })?;
                if field == Field::Email && crate::identifiers::normalize_email(value).is_none() {
                    return Err(ApiError::invalid(
                        "corrections.email",
                        "not an e-mail address",
                    ));
                }
                values.insert(field, value.to_string());
            }
            (Change::Rectify { values }, None)
        }
        RequestKind::Restriction => {
            let reason = text(body, "reason").map_err(|_| {
                ApiError::invalid(
                    "reason",
                    "required for a restriction: why processing is restricted (art. 18(1))",
                )
            })?;
            if reason.chars().count() > 500 {
                return Err(ApiError::invalid("reason", "at most 500 characters"));
            }
            (Change::Restrict, Some(reason.trim().to_string()))
        }
        RequestKind::Objection => {
            let purpose = text(body, "purpose")
                .ok()
                .and_then(Purpose::parse)
                .ok_or_else(|| {
                    ApiError::invalid("purpose", "required for an objection: newsletter")
                })?;
            (Change::Object { purpose }, None)
        }
        _ => return Ok(None),
    }))
}

/// OpenDSR's status vocabulary for ours.
fn opendsr_status(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::Received | RequestStatus::IdentityVerified => "pending",
        RequestStatus::Completed | RequestStatus::ForwardedToController => "completed",
        RequestStatus::Cancelled => "cancelled",
        _ => "in_progress",
    }
}

/// The status body, for callbacks.
pub(super) fn status_json(state: &AppState, request: &RequestRow) -> Result<Value, ()> {
    status_body(state, request).map_err(|_| ())
}

fn status_body(state: &AppState, request: &RequestRow) -> ApiResult<Value> {
    let (external, _) = state.hub.ledger().intake(&request.id)?;
    let tasks = state.hub.ledger().tasks(&request.id)?;
    let processors: Vec<Value> = tasks
        .iter()
        .map(|t| {
            json!({
                "id": t.processor,
                "name": t.display_name,
                "state": t.state.as_str(),
                "summary": t.summary,
            })
        })
        .collect();
    let plan = state.hub.ledger().plan_digest(&request.id)?;
    let plan = (!plan.is_empty()).then(|| {
        json!({
            "digest": plan.digest,
            "processors": plan.processors,
            "records": plan.records,
            "changes": plan.changes,
        })
    });
    Ok(json!({
        "plan_awaiting_approval": plan,
        "subject_request_id": external,
        "request_id": request.id,
        // OpenDSR's own word for a portable access request.
        "request_type": if state.hub.ledger().is_portable(&request.id)? {
            "portability"
        } else {
            request.kind.as_str()
        },
        "request_status": opendsr_status(request.status),
        "status": request.status.as_str(),
        "received_time": request.received_at.to_string(),
        "expected_completion_time": request.extended_due_at.unwrap_or(request.due_at).to_string(),
        "processors": processors,
    }))
}

/// Our request for `id`: our id, or the submitter's `subject_request_id`.
fn find(state: &AppState, id: &str) -> ApiResult<RequestRow> {
    let ledger = state.hub.ledger();
    let ours = match ledger.request_by_external(id)? {
        Some(ours) => ours,
        None => id.to_string(),
    };
    ledger.request(&ours).map_err(|_| ApiError::not_found())
}

/// `POST /api/v1/requests`: record a request; nothing runs before identity verification.
/// Submitting the same `subject_request_id` again answers with the request already recorded.
pub async fn intake(
    State(state): State<Arc<AppState>>,
    Json(body): Json<Value>,
) -> ApiResult<Response> {
    let ledger = state.hub.ledger();
    let intake = parse_intake(
        &body,
        &state.callback_hosts,
        ledger.first_request_recorded_at()?,
    )?;
    let _one_at_a_time = state.intake_lock.lock().await;
    // The request already recorded under this `subject_request_id`, answered `200`.
    let recorded = |existing: &str| -> ApiResult<Response> {
        let request = ledger.request(existing)?;
        Ok((StatusCode::OK, Json(status_body(&state, &request)?)).into_response())
    };
    if let Some(existing) = ledger.request_by_external(&intake.external_id)? {
        return recorded(&existing);
    }
    // Our own ids and the submitter's never share a value: a lookup must not be able to
    // confuse them.
    if ledger.request(&intake.external_id).is_ok() {
        return Err(ApiError::invalid(
            "subject_request_id",
            "already the id of another request here; use a fresh UUID",
        ));
    }
    let id = match &intake.change {
        Some((change, reason)) => state.hub.open_change_unverified(
            intake.kind,
            &intake.subject,
            change,
            reason.as_deref(),
            intake.submitted,
        )?,
        None => state
            .hub
            .open_unverified(intake.kind, &intake.subject, intake.submitted)?,
    };
    if let Err(e) = ledger.set_intake(&id, &intake.external_id, &intake.callbacks) {
        // Another process recorded the same `subject_request_id` in between: withdraw ours
        // (its identifiers are purged) and answer with theirs.
        state
            .hub
            .cancel(&id, "the same subject_request_id was recorded twice")?;
        return match ledger.request_by_external(&intake.external_id)? {
            Some(existing) => recorded(&existing),
            None => Err(e.into()),
        };
    }
    ledger.set_language(&id, intake.language)?;
    if intake.portable {
        ledger.set_portable(&id)?;
    }
    state.spawn_notify(&id);
    let request = ledger.request(&id)?;
    let mut body = status_body(&state, &request)?;
    body["controller_id"] = Value::from(state.organisation.clone());
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /api/v1/requests/{id}`.
pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let request = find(&state, &id)?;
    Ok(Json(status_body(&state, &request)?))
}

/// `POST /api/v1/requests/{id}/verify` `{"how": "…"}`: record the identity check and start
/// the run (an access request exports; an erasure request plans and waits for approval).
pub async fn verify(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let how = text(&body, "how")?;
    if how.len() > 500 {
        return Err(ApiError::invalid("how", "at most 500 characters"));
    }
    let request = find(&state, &id)?;
    state.hub.verify_identity(&request.id, how)?;
    state.spawn_notify(&request.id);
    state.start_run(&request.id, false)?;
    let request = state.hub.ledger().request(&request.id)?;
    Ok((StatusCode::ACCEPTED, Json(status_body(&state, &request)?)))
}

/// `POST /api/v1/requests/{id}/approve` `{"plan_digest": "…", "approver": "…"}`: approve the
/// plan whose digest the status shows (`plan.digest`) and carry it out. A plan that changed
/// since it was shown is refused (409) with the digest it has now.
pub async fn approve(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let digest = text(&body, "plan_digest")?;
    let approver = text(&body, "approver")?;
    if approver.len() > 200 {
        return Err(ApiError::invalid("approver", "at most 200 characters"));
    }
    let request = find(&state, &id)?;
    if !request.kind.needs_approval() || request.status.is_closed() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "only an open request with a plan that changes data can be approved",
        ));
    }
    if state.is_running(&request.id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "a run of this request is in progress",
        ));
    }
    state.hub.approve(&request.id, digest, approver)?;
    state.start_run(&request.id, true)?;
    Ok((StatusCode::ACCEPTED, Json(status_body(&state, &request)?)))
}

/// `POST /api/v1/requests/{id}/cancel` `{"reason": "…"}`: withdraw a request that has changed
/// nothing yet.
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<Json<Value>> {
    let reason = text(&body, "reason")?;
    let request = find(&state, &id)?;
    if state.is_running(&request.id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "a run of this request is in progress",
        ));
    }
    let request = state.hub.cancel(&request.id, reason)?;
    state.spawn_notify(&request.id);
    Ok(Json(status_body(&state, &request)?))
}

/// `GET /api/v1/requests/{id}/report.json`.
pub async fn report_json(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<crate::report::Report>> {
    let request = find(&state, &id)?;
    Ok(Json(state.hub.report(&request.id)?))
}

/// `GET /api/v1/requests/{id}/report.html`.
pub async fn report_html(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let request = find(&state, &id)?;
    let report = state.hub.report(&request.id)?;
    let html = crate::report::html::render(&report)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        html,
    )
        .into_response())
}

/// `GET /api/v1/requests/{id}/export.zip`: an access request's export, once written.
pub async fn export_zip(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let request = find(&state, &id)?;
    let path = state.export_dir(&request.id).join("access-export.zip");
    let bytes = tokio::fs::read(&path).await.map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no export for this request yet",
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"access-export.zip\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/v1/processors`: the latest processor register.
pub async fn processors(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<crate::inventory::Register>> {
    crate::inventory::latest(state.hub.ledger())?
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no inventory yet: run `dsrhub inventory sync`",
            )
        })
}

/// Used by [`AppState::start_run`].
pub(super) fn run_options(export_dir: std::path::PathBuf, execute: bool) -> RunOptions {
    RunOptions {
        execute,
        export_dir: Some(export_dir),
        ..RunOptions::default()
    }
}

/// `GET /api/v1/requests`: requests by due date, filtered (`status`: `open`, `overdue`,
/// `needs_action` or `all`; `type`: `access` or `erasure`) and paged (`limit` up to 200,
/// `offset`). Ids, types, statuses, dates and what a person must do; no personal data.
pub async fn list(
    State(state): State<Arc<AppState>>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let filter = query.get("status").map(String::as_str).unwrap_or("all");
    if !matches!(filter, "all" | "open" | "overdue" | "needs_action") {
        return Err(ApiError::invalid(
            "status",
            "one of all, open, overdue, needs_action",
        ));
    }
    let kind = match query.get("type").map(String::as_str) {
        None => None,
        Some("access") => Some(RequestKind::Access),
        Some("erasure") => Some(RequestKind::Erasure),
        Some(_) => return Err(ApiError::invalid("type", "access or erasure")),
    };
    let number = |name: &str, default: usize, max: usize| -> ApiResult<usize> {
        match query.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| ApiError::invalid(name, format!("a number from 0 to {max}"))),
        }
    };
    let limit = number("limit", 50, 200)?;
    let offset = number("offset", 0, usize::MAX)?;
    let ledger = state.hub.ledger();
    let now = jiff::Timestamp::now();
    let rows: Vec<_> = state
        .hub
        .work_list(now)?
        .into_iter()
        .filter(|l| kind.is_none_or(|k| k == l.request.kind))
        .filter(|l| match filter {
            "open" => l.open(),
            "overdue" => l.overdue(now),
            "needs_action" => !l.needs.is_empty(),
            _ => true,
        })
        .collect();
    let total = rows.len();
    let page: Vec<Value> = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|l| {
            let r = &l.request;
            let (external, _) = ledger.intake(&r.id).unwrap_or_default();
            json!({
                "request_id": r.id,
                "subject_request_id": external,
                "request_type": r.kind.as_str(),
                "status": r.status.as_str(),
                "received_time": r.received_at.to_string(),
                "expected_completion_time": l.due.to_string(),
                "days_left": l.days_left(now),
                "needs": l.needs,
            })
        })
        .collect();
    Ok(Json(
        json!({ "total": total, "offset": offset, "requests": page }),
    ))
}

/// `POST /api/v1/requests/{id}/extend` `{"months": 1, "reason": "…", "given_by": "…"}`: the
/// deadline extended (art. 12(3)); the extension letter to the subject is written.
pub async fn extend(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<Json<Value>> {
    let reason = text(&body, "reason")?;
    let months = body
        .get("months")
        .and_then(Value::as_u64)
        .and_then(|m| u32::try_from(m).ok())
        .ok_or_else(|| ApiError::invalid("months", "required, a whole number of months"))?;
    let given_by = body
        .get("given_by")
        .and_then(Value::as_str)
        .unwrap_or("the HTTP API");
    let request = find(&state, &id)?;
    state.hub.extend(&request.id, months, reason, given_by)?;
    let request = state.hub.ledger().request(&request.id)?;
    Ok(Json(status_body(&state, &request)?))
}

/// `POST /api/v1/requests/{id}/confirm` `{"processor": "ekco", "outcome": "deleted",
/// "note": "…"}`: the answer of a processor without an API.
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<Json<Value>> {
    use crate::orchestrator::Answer;
    let processor = text(&body, "processor")?;
    let answer = match text(&body, "outcome")? {
        "deleted" => Answer::Deleted,
        "retained" => Answer::Retained,
        "not_found" => Answer::NotFound,
        "exported" => Answer::Exported,
        _ => {
            return Err(ApiError::invalid(
                "outcome",
                "one of deleted, retained, not_found, exported",
            ))
        }
    };
    let note = body.get("note").and_then(Value::as_str);
    let request = find(&state, &id)?;
    state
        .hub
        .confirm(&request.id, processor, answer, None, note)?;
    let request = state.hub.ledger().request(&request.id)?;
    state.spawn_notify(&request.id);
    Ok(Json(status_body(&state, &request)?))
}

/// `GET /api/v1/requests/{id}/audit`: the request's audit entries, with their hashes.
pub async fn audit(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let request = find(&state, &id)?;
    let ledger = state.hub.ledger();
    Ok(Json(json!({
        "request_id": request.id,
        "entries": ledger.audit_entries(Some(&request.id))?,
        "chain_head": ledger.audit_head()?,
    })))
}

/// The letters and replies written for a request (`.eml` files in its folder), by name.
pub(super) fn letters_of(state: &AppState, id: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(state.export_dir(id))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    names
}

/// `GET /api/v1/requests/{id}/letters`: the names of the letters and replies written.
pub async fn letters(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let request = find(&state, &id)?;
    Ok(Json(json!({ "letters": letters_of(&state, &request.id) })))
}

/// `GET /api/v1/requests/{id}/letters/{name}`: one letter or reply, as `message/rfc822`.
pub async fn letter(
    State(state): State<Arc<AppState>>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let request = find(&state, &id)?;
    // Only a name the listing gives: nothing outside the request's folder.
    if !letters_of(&state, &request.id).contains(&name) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such letter for this request",
        ));
    }
    let path = state.export_dir(&request.id).join(&name);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such letter"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "message/rfc822".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
