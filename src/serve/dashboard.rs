//! The dashboard: one server-rendered page (no build step, no JavaScript) with what waits for a
//! person first ("needs you": identities to verify, plans to approve, manual answers, replies to
//! send, from `Hub::needs_action`), then the open
//! requests, their deadlines (overdue in red) and per-processor states, the processor
//! register from the last inventory sync, and links to the reports.
//!
//! Browsers cannot send the API's bearer header, so a holder of a token asks for a one-time
//! sign-in link (`POST /api/v1/dashboard/sessions`, valid for a minute, usable once); opening
//! it sets an `HttpOnly`, `SameSite=Strict` session cookie that the protected routes accept
//! like a token, for eight hours.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use minijinja::{context, Environment};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::AppState;

const TEMPLATE: &str = include_str!("dashboard.html");
const LINK_LIFETIME: Duration = Duration::from_secs(60);
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// The session cookie's name.
pub const COOKIE: &str = "dsrhub_session";

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn random() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// One-time links and sessions, kept as hashes in memory (a restart signs everyone out).
#[derive(Default)]
pub struct Sessions {
    links: Mutex<HashMap<[u8; 32], Instant>>,
    sessions: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Sessions {
    /// Whether `cookie_value` is a live session.
    pub fn valid(&self, cookie_value: &str) -> bool {
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("sessions");
        sessions.retain(|_, until| *until > now);
        sessions.contains_key(&hash(cookie_value))
    }
}

/// The session cookie's value in `headers`, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// `POST /api/v1/dashboard/sessions`: a one-time sign-in link for a browser.
pub async fn create_link(State(state): State<Arc<AppState>>) -> Json<Value> {
    let nonce = random();
    let now = Instant::now();
    let mut links = state.sessions.links.lock().expect("links");
    links.retain(|_, until| *until > now);
    links.insert(hash(&nonce), now + LINK_LIFETIME);
    Json(json!({
        "url": format!("/dashboard/session/{nonce}"),
        "expires_in_seconds": LINK_LIFETIME.as_secs(),
    }))
}

/// `GET /dashboard/session/{nonce}`: spend the link, set the session cookie, go to the
/// dashboard.
pub async fn open_link(State(state): State<Arc<AppState>>, Path(nonce): Path<String>) -> Response {
    let live = state
        .sessions
        .links
        .lock()
        .expect("links")
        .remove(&hash(&nonce))
        .is_some_and(|until| until > Instant::now());
    if !live {
        return super::auth::unauthorized();
    }
    let session = random();
    state
        .sessions
        .sessions
        .lock()
        .expect("sessions")
        .insert(hash(&session), Instant::now() + SESSION_LIFETIME);
    let cookie = format!(
        "{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/dashboard".to_string()),
        ],
    )
        .into_response()
}

/// `GET /dashboard`.
pub async fn page(
    State(state): State<Arc<AppState>>,
) -> Result<Html<String>, super::api::ApiError> {
    let ledger = state.hub.ledger();
    let now = jiff::Timestamp::now();
    let soon = now
        .checked_add(jiff::SignedDuration::from_hours(
            24 * i64::from(state.deadline_warning_days),
        ))
        .unwrap_or(now);
    let mut open = Vec::new();
    let mut needs_you = Vec::new();
    let mut overdue = 0;
    // Open requests first, each group by deadline.
    for listed in state.hub.work_list(now)? {
        let (request, due) = (&listed.request, listed.due);
        let urgency = if listed.overdue(now) {
            "overdue"
        } else if listed.open() && due < soon {
            "soon"
        } else {
            ""
        };
        // What waits for a person comes first, also a closed request's unsent reply.
        if !listed.needs.is_empty() {
            needs_you.push(json!({
                "id": request.id,
                "kind": request.kind.as_str(),
                "due": due.strftime("%Y-%m-%d").to_string(),
                "urgency": urgency,
                "needs": listed.needs,
            }));
        }
        if !listed.open() {
            continue;
        }
        if urgency == "overdue" {
            overdue += 1;
        }
        let (external, _) = ledger.intake(&request.id)?;
        let tasks: Vec<Value> = ledger
            .tasks(&request.id)?
            .iter()
            .map(|t| {
                json!({
                    "name": if t.display_name.is_empty() { &t.processor } else { &t.display_name },
                    "state": t.state.as_str(),
                    "summary": t.summary,
                })
            })
            .collect();
        open.push(json!({
            "id": request.id,
            "external": external,
            "kind": request.kind.as_str(),
            "received": request.received_at.strftime("%Y-%m-%d %H:%M").to_string(),
            "due": due.strftime("%Y-%m-%d").to_string(),
            "urgency": urgency,
            "status": request.status.as_str(),
            "tasks": tasks,
        }));
    }
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
    let mut env = Environment::new();
    env.add_template("dashboard.html", TEMPLATE)
        .expect("the dashboard template is valid");
    let html = env
        .get_template("dashboard.html")
        .and_then(|t| {
            t.render(context! {
                organisation => state.organisation.clone(),
                now => now.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                open => minijinja::Value::from(minijinja::value::Serde(&open)),
                needs_you => minijinja::Value::from(minijinja::value::Serde(&needs_you)),
                overdue => overdue,
                register => minijinja::Value::from(minijinja::value::Serde(&register)),
            })
        })
        .map_err(|e| {
            super::api::ApiError::from(crate::error::Error::Config(format!(
                "the dashboard could not be rendered: {e}"
            )))
        })?;
    Ok(Html(html))
}
