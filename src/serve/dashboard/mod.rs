//! The dashboard: the privacy officer's workbench, server-rendered (minijinja templates, no
//! JavaScript, no build step).
//!
//! - `/dashboard`: what waits for a person first ("needs you": identities to verify, plans to
//!   approve, manual answers and removals, replies to send), then the requests by deadline with
//!   days left, filtered (open, overdue, needs you, closed; type, processor, status) and
//!   searched by reference, then the processor register.
//! - `/dashboard/batches/{id}`: a batch (a list, the sweep) with one plan to approve for all
//!   its requests: see [`batches`].
//! - `/dashboard/requests/{id}`: one request: the subject masked, its tasks, the plan with each
//!   record's action, letters, evidence and the timeline from the audit log, and the forms that
//!   move it on (verify, approve, confirm an answer with its evidence, record a manual removal,
//!   send the reply, extend, cancel): see [`actions`].
//!
//! Staff sign in with a name and password, or a one-time link; see [`session`]. Every action is
//! audited under the signed-in user's name.

mod actions;
mod batches;
mod render;
mod request;
pub mod session;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{middleware, Extension, Router};
use serde_json::{json, Value};

pub use session::Sessions;
use session::Staff;

use super::api::ApiError;
use super::AppState;

/// The dashboard's routes that are browser pages and forms, not API (documented in
/// `docs/dashboard.md`; the one-time link and `/dashboard` itself are in `docs/openapi.json`).
pub const PAGES: &[(&str, &str)] = &[
    ("get", "/dashboard/login"),
    ("post", "/dashboard/login"),
    ("post", "/dashboard/logout"),
    ("get", "/dashboard/requests/{id}"),
    ("post", "/dashboard/requests/{id}/verify"),
    ("post", "/dashboard/requests/{id}/approve"),
    ("post", "/dashboard/requests/{id}/confirm"),
    ("post", "/dashboard/requests/{id}/record"),
    ("post", "/dashboard/requests/{id}/reply"),
    ("post", "/dashboard/requests/{id}/extend"),
    ("post", "/dashboard/requests/{id}/cancel"),
    ("get", "/dashboard/batches/{id}"),
    ("post", "/dashboard/batches/{id}/approve"),
];

/// The dashboard's router: the sign-in pages open, everything else behind a session.
pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let uploads = DefaultBodyLimit::max(state.max_upload_bytes);
    let signed_in = Router::new()
        .route("/dashboard", get(list))
        .route("/dashboard/logout", post(session::logout))
        .route("/dashboard/requests/{id}", get(request::page))
        .route("/dashboard/requests/{id}/verify", post(actions::verify))
        .route("/dashboard/requests/{id}/approve", post(actions::approve))
        .route(
            "/dashboard/requests/{id}/confirm",
            post(actions::confirm).layer(uploads),
        )
        .route(
            "/dashboard/requests/{id}/record",
            post(actions::record).layer(uploads),
        )
        .route("/dashboard/requests/{id}/reply", post(actions::reply))
        .route("/dashboard/requests/{id}/extend", post(actions::extend))
        .route("/dashboard/requests/{id}/cancel", post(actions::cancel))
        .route("/dashboard/batches/{id}", get(batches::page))
        .route("/dashboard/batches/{id}/approve", post(batches::approve))
        .layer(middleware::from_fn_with_state(
            state,
            session::require_session,
        ));
    Router::new()
        .route(
            "/dashboard/login",
            get(session::login_page).post(session::login),
        )
        .route("/dashboard/session/{nonce}", get(session::open_link))
        .merge(signed_in)
}

/// A processor's task as the pages show it: its name, state and summary.
fn task_json(t: &crate::ledger::TaskRow) -> Value {
    json!({
        "name": if t.display_name.is_empty() { &t.processor } else { &t.display_name },
        "state": t.state.as_str(),
        "summary": t.summary,
    })
}

/// "12 days left", "due today", "3 days overdue".
fn days_left_text(days: i64) -> String {
    match days {
        0 => "due today".to_string(),
        1 => "1 day left".to_string(),
        d if d > 1 => format!("{d} days left"),
        -1 => "1 day overdue".to_string(),
        d => format!("{} days overdue", -d),
    }
}

/// What the request list shows, from the query string.
#[derive(Debug, Clone, Default, serde::Serialize)]
struct Filters {
    /// `open` (default), `overdue`, `needs_action`, `closed` or `all`.
    status: String,
    /// `access`, `erasure` or empty.
    #[serde(rename = "type")]
    kind: String,
    /// A processor id, or empty.
    processor: String,
    /// A request status (`planned`, …), or empty.
    state: String,
    /// Part of the request's id or of the submitter's reference.
    q: String,
}

impl Filters {
    fn from_query(query: &HashMap<String, String>) -> Filters {
        let get = |name: &str| {
            query
                .get(name)
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let status = get("status");
        Filters {
            status: match status.as_str() {
                "overdue" | "needs_action" | "closed" | "all" => status,
                _ => "open".to_string(),
            },
            kind: get("type"),
            processor: get("processor"),
            state: get("state"),
            q: get("q").to_lowercase(),
        }
    }
}

/// `GET /dashboard`.
async fn list(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let filters = Filters::from_query(&query);
    let ledger = state.hub.ledger();
    let now = jiff::Timestamp::now();
    let soon = now
        .checked_add(jiff::SignedDuration::from_hours(
            24 * i64::from(state.deadline_warning_days),
        ))
        .unwrap_or(now);
    let (mut needs_you, mut requests) = (Vec::new(), Vec::new());
    let (mut open_count, mut overdue) = (0, 0);
    // Open requests first, each group by deadline.
    for listed in state.hub.work_list(now)? {
        let (request, due) = (&listed.request, listed.due);
        let urgency = if listed.overdue(now) {
            "overdue"
        } else if listed.open() && !listed.swept && due < soon {
            "soon"
        } else {
            ""
        };
        if listed.open() {
            open_count += 1;
        }
        if urgency == "overdue" {
            overdue += 1;
        }
        let (external, _) = ledger.intake(&request.id)?;
        let external = external.unwrap_or_default();
        let row = |extra: Value| {
            let mut row = json!({
                "id": request.id,
                "external": external,
                "kind": request.kind.as_str(),
                "due": due.strftime("%Y-%m-%d").to_string(),
                "open": listed.open(),
                "days_left_text": days_left_text(listed.days_left(now)),
                "urgency": urgency,
            });
            if let (Some(row), Value::Object(extra)) = (row.as_object_mut(), extra) {
                row.extend(extra);
            }
            row
        };
        // What waits for a person comes first, also a closed request's unsent reply.
        if !listed.needs.is_empty() {
            needs_you.push(row(json!({ "needs": listed.needs })));
        }
        let shown = match filters.status.as_str() {
            "open" => listed.open(),
            "overdue" => listed.overdue(now),
            "needs_action" => !listed.needs.is_empty(),
            "closed" => !listed.open(),
            _ => true,
        } && (filters.kind.is_empty() || filters.kind == request.kind.as_str())
            && (filters.state.is_empty() || filters.state == request.status.as_str())
            && (filters.q.is_empty()
                || request.id.starts_with(&filters.q)
                || external.to_lowercase().contains(&filters.q));
        if !shown {
            continue;
        }
        let tasks = ledger.tasks(&request.id)?;
        if !filters.processor.is_empty() && !tasks.iter().any(|t| t.processor == filters.processor)
        {
            continue;
        }
        let tasks: Vec<Value> = tasks.iter().map(task_json).collect();
        requests.push(row(json!({
            "received": request.received_at.strftime("%Y-%m-%d %H:%M").to_string(),
            "status": request.status.as_str(),
            "tasks": tasks,
        })));
    }
    let processors: Vec<Value> = state
        .hub
        .processors()
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.display_name }))
        .collect();
    let register = crate::inventory::latest(ledger)?.map(|r| {
        json!({
            "synced_at": r.synced_at,
            "entries": r.entries.iter().map(|e| json!({
                "name": e.name,
                "state": e.state(),
                "location": e.location,
                "eea": e.eea,
                "counts": e.counts,
                "drift": e.drift,
                "error": e.error,
            })).collect::<Vec<_>>(),
        })
    });
    let statuses: Vec<&str> = crate::ledger::RequestStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    Ok(render::page(
        &state,
        StatusCode::OK,
        "list.html",
        json!({
            "staff": { "user": staff.user, "csrf": staff.csrf },
            "now": now.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            "open_count": open_count,
            "overdue": overdue,
            "needs_you": needs_you,
            "requests": requests,
            "filters": filters,
            "processors": processors,
            "statuses": statuses,
            "register": register,
            "batches": batches::waiting(&state)?,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_reads_as_words() {
        assert_eq!(days_left_text(12), "12 days left");
        assert_eq!(days_left_text(1), "1 day left");
        assert_eq!(days_left_text(0), "due today");
        assert_eq!(days_left_text(-1), "1 day overdue");
        assert_eq!(days_left_text(-3), "3 days overdue");
    }

    #[test]
    fn unknown_filters_fall_back_to_open_requests() {
        let q = |pairs: &[(&str, &str)]| {
            Filters::from_query(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert_eq!(q(&[]).status, "open");
        assert_eq!(q(&[("status", "bogus")]).status, "open");
        assert_eq!(q(&[("status", "closed")]).status, "closed");
        assert_eq!(q(&[("q", " EXT-12 ")]).q, "ext-12");
    }
}
