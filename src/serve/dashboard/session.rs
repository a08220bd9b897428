//! Signing in to the dashboard: staff users with a password, one-time links for automation,
//! sessions in the ledger, CSRF tokens.
//!
//! - **Sessions.** A session cookie holds 256 random bits; the ledger keeps only its SHA-256, the
//!   user and when it was last used, so a restart of `serve` signs nobody out and a copy of the
//!   ledger signs nobody in. A session unused for `[serve] session_idle_minutes` ends, and every
//!   session ends after [`SESSION_LIFETIME`]. The cookie is `HttpOnly`, `SameSite=Strict`, and
//!   `Secure` whenever the dashboard is reached over https (`[serve] public_url`, or a proxy's
//!   `X-Forwarded-Proto`).
//! - **CSRF.** Every form that changes something carries a token derived from the session's
//!   secret (SHA-256 of a fixed label and the cookie): an attacker's page cannot read it, the
//!   ledger does not hold it, and it needs no storage. The sign-in form gets the same from a
//!   short-lived sign-in cookie (double submit). Forms that only filter (GET) carry none: a
//!   token in a URL ends up in logs and history.
//! - **Guessing.** A password check costs the same for an unknown name; five failed attempts on
//!   one name lock it for [`LOCKOUT`].
//! - **One-time links** (`POST /api/v1/dashboard/sessions` with a staff token, optionally naming
//!   the user): valid for a minute, usable once, kept in memory only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form, Json};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::super::api::ApiError;
use super::super::AppState;
use super::render;

/// How long a one-time link stays valid.
const LINK_LIFETIME: Duration = Duration::from_secs(60);
/// A session ends this long after sign-in at the latest, used or not.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Failed sign-ins on one name before it is locked for [`LOCKOUT`].
const MAX_FAILURES: u32 = 5;
/// How long a name stays locked after [`MAX_FAILURES`] failed sign-ins.
const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// The session cookie's name.
pub const COOKIE: &str = "dsrhub_session";
/// The sign-in form's cookie (its CSRF token's secret), for half an hour.
const LOGIN_COOKIE: &str = "dsrhub_signin";
/// Who a one-time link signs in when the token holder names nobody.
const LINK_USER: &str = "token-holder";

/// The signed-in staff member, put in a request's extensions by [`require_session`].
#[derive(Debug, Clone)]
pub struct Staff {
    /// The user name: actions are audited under it.
    pub user: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

/// One-time links and failed sign-ins, in memory.
#[derive(Default)]
pub struct Sessions {
    links: Mutex<HashMap<[u8; 32], (Instant, String)>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Sessions {
    /// Whether `user` is locked after too many failed sign-ins.
    fn locked(&self, user: &str) -> bool {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("failures");
        failures.retain(|_, (_, since)| now.duration_since(*since) < LOCKOUT);
        failures
            .get(user)
            .is_some_and(|(count, _)| *count >= MAX_FAILURES)
    }

    fn failed(&self, user: &str) {
        let mut failures = self.failures.lock().expect("failures");
        let entry = failures
            .entry(user.to_string())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
        entry.1 = Instant::now();
    }

    fn succeeded(&self, user: &str) {
        self.failures.lock().expect("failures").remove(user);
    }

    /// A one-time link's secret for `user`, valid for [`LINK_LIFETIME`]; links past theirs are
    /// dropped.
    fn issue_link(&self, user: &str) -> String {
        let nonce = random_secret();
        let now = Instant::now();
        let mut links = self.links.lock().expect("links");
        links.retain(|_, (until, _)| *until > now);
        links.insert(sha256(&nonce), (now + LINK_LIFETIME, user.to_string()));
        nonce
    }

    /// Spend the link `nonce`: its user, once, while it is valid.
    fn spend_link(&self, nonce: &str) -> Option<String> {
        self.links
            .lock()
            .expect("links")
            .remove(&sha256(nonce))
            .filter(|(until, _)| *until > Instant::now())
            .map(|(_, user)| user)
    }
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn sha256_hex(text: &str) -> String {
    hex::encode(sha256(text))
}

/// 256 random bits, hex.
fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The CSRF token of the session whose cookie is `cookie`.
fn csrf_of(cookie: &str) -> String {
    sha256_hex(&format!("dsrhub csrf\0{cookie}"))
}

/// The sign-in form's CSRF token for sign-in cookie `cookie`.
fn signin_csrf_of(cookie: &str) -> String {
    sha256_hex(&format!("dsrhub sign-in\0{cookie}"))
}

/// Whether two tokens are equal, in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (sha256(a), sha256(b));
    a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in `headers`, if any.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// Whether this request reached the hub over https: the configured public address says so,
/// or the TLS proxy in front does.
fn over_https(state: &AppState, headers: &HeaderMap) -> bool {
    state.public_https
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value; `max_age` 0 removes the cookie.
fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The signed-in staff member of this request, if its session cookie is live (which marks
/// the session used).
pub fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<Staff> {
    let value = cookie(headers, COOKIE)?;
    let idle = jiff::SignedDuration::from_mins(i64::from(state.session_idle_minutes));
    match state
        .hub
        .ledger()
        .touch_staff_session(&sha256_hex(&value), idle, crate::ledger::now())
    {
        Ok(Some(user)) => Some(Staff {
            user,
            csrf: csrf_of(&value),
        }),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "the session could not be read from the ledger");
            None
        }
    }
}

/// Start a session for `user` and answer with its cookie and a redirect to `to`.
fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: &str,
    how: &str,
    to: &str,
) -> Result<Response, ApiError> {
    let secret = random_secret();
    let lifetime = jiff::SignedDuration::try_from(SESSION_LIFETIME).expect("eight hours");
    let until = crate::ledger::now()
        .checked_add(lifetime)
        .map_err(|e| crate::error::Error::Config(format!("the session's end: {e}")))?;
    state
        .hub
        .ledger()
        .start_staff_session(&sha256_hex(&secret), user, until, how)?;
    let secure = over_https(state, headers);
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response();
    let cookies = response.headers_mut();
    for value in [
        set_cookie(COOKIE, &secret, SESSION_LIFETIME.as_secs(), secure),
        set_cookie(LOGIN_COOKIE, "", 0, secure),
    ] {
        cookies.append(
            header::SET_COOKIE,
            value.parse().expect("cookies are header-safe"),
        );
    }
    Ok(response)
}

/// Where to go after signing in: only a path of the dashboard, never another site.
fn local_target(next: Option<&str>) -> String {
    next.filter(|n| {
        (*n == "/dashboard" || n.starts_with("/dashboard/") || n.starts_with("/dashboard?"))
            && !n.contains("//")
            && !n.contains('\\')
            && !n.chars().any(char::is_control)
    })
    .unwrap_or("/dashboard")
    .to_string()
}

/// `GET /dashboard/login`: the sign-in form.
pub async fn login_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if signed_in(&state, &headers).is_some() {
        return (
            StatusCode::SEE_OTHER,
            [(
                header::LOCATION,
                local_target(query.get("next").map(String::as_str)),
            )],
        )
            .into_response();
    }
    signin_form(
        &state,
        &headers,
        query.get("next").map(String::as_str),
        None,
        StatusCode::OK,
    )
}

/// The sign-in form with a fresh sign-in cookie, and `problem` if the last attempt failed.
fn signin_form(
    state: &AppState,
    headers: &HeaderMap,
    next: Option<&str>,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let secret = random_secret();
    let mut response = render::page(
        state,
        status,
        "login.html",
        json!({
            "csrf": signin_csrf_of(&secret),
            "next": local_target(next),
            "problem": problem,
            "has_users": state.hub.ledger().staff_users().map(|u| !u.is_empty()).unwrap_or(true),
        }),
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &secret, 1800, over_https(state, headers))
            .parse()
            .expect("cookies are header-safe"),
    );
    response
}

/// `POST /dashboard/login`: check the name and password, start a session.
pub async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let next = form.get("next").map(String::as_str);
    let csrf_ok = cookie(&headers, LOGIN_COOKIE)
        .is_some_and(|secret| same_token(&signin_csrf_of(&secret), field("csrf")));
    if !csrf_ok {
        return signin_form(
            &state,
            &headers,
            next,
            Some("The form had expired. Please sign in again."),
            StatusCode::FORBIDDEN,
        );
    }
    // Names are at most 64 characters: a longer one is no user's (and is not kept whole in
    // the failure counts).
    let user: String = field("user").trim().chars().take(65).collect();
    if state.sessions.locked(&user) {
        return signin_form(
            &state,
            &headers,
            next,
            Some("Too many failed attempts for this name: try again in 15 minutes."),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let password = field("password").to_string();
    let stored = match state.hub.ledger().staff_password_hash(&user) {
        Ok(stored) => stored,
        Err(e) => return ApiError::from(e).into_response(),
    };
    // argon2 takes tens of milliseconds of CPU: off the async threads.
    let matches = tokio::task::spawn_blocking(move || {
        crate::staff::verify_password(&password, stored.as_deref())
    })
    .await
    .unwrap_or(false);
    if !matches {
        state.sessions.failed(&user);
        tracing::warn!("a dashboard sign-in failed");
        return signin_form(
            &state,
            &headers,
            next,
            Some("That name and password do not match a user."),
            StatusCode::UNAUTHORIZED,
        );
    }
    state.sessions.succeeded(&user);
    start_session(&state, &headers, &user, "password", &local_target(next))
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /dashboard/logout`: end the session.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Extension(staff): Extension<Staff>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !same_token(
        &staff.csrf,
        form.get("csrf").map(String::as_str).unwrap_or(""),
    ) {
        return render::forbidden(&state);
    }
    if let Some(value) = cookie(&headers, COOKIE) {
        if let Err(e) = state.hub.ledger().end_staff_session(&sha256_hex(&value)) {
            return ApiError::from(e).into_response();
        }
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/dashboard/login".to_string()),
            (
                header::SET_COOKIE,
                set_cookie(COOKIE, "", 0, over_https(&state, &headers)),
            ),
        ],
    )
        .into_response()
}

/// `POST /api/v1/dashboard/sessions` (staff token): a one-time sign-in link, optionally for
/// `{"user": "name"}` (actions in that session are audited under the name).
pub async fn create_link(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let user = if body.iter().all(u8::is_ascii_whitespace) {
        LINK_USER.to_string()
    } else {
        let body: Value = serde_json::from_slice(&body)
            .map_err(|_| ApiError::invalid("", "the body is not valid JSON"))?;
        match body.get("user") {
            None | Some(Value::Null) => LINK_USER.to_string(),
            Some(Value::String(name)) => {
                crate::staff::check_name(name)
                    .map_err(|e| ApiError::invalid("user", e.to_string()))?;
                name.clone()
            }
            Some(_) => return Err(ApiError::invalid("user", "a user name")),
        }
    };
    let nonce = state.sessions.issue_link(&user);
    Ok(Json(json!({
        "url": format!("/dashboard/session/{nonce}"),
        "user": user,
        "expires_in_seconds": LINK_LIFETIME.as_secs(),
    })))
}

/// `GET /dashboard/session/{nonce}`: spend the link, start a session, go to the dashboard.
pub async fn open_link(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(nonce): Path<String>,
) -> Response {
    let Some(user) = state.sessions.spend_link(&nonce) else {
        return render::message(
            &state,
            StatusCode::UNAUTHORIZED,
            "This sign-in link was used already or has expired",
            "Links work once, for a minute. Sign in with your name and password instead.",
        );
    };
    start_session(&state, &headers, &user, "one-time link", "/dashboard")
        .unwrap_or_else(IntoResponse::into_response)
}

/// Middleware for the dashboard's pages and forms: a live session passes with its [`Staff`];
/// anyone else is sent to the sign-in page (and back here after).
pub async fn require_session(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(staff) = signed_in(&state, request.headers()) {
        request.extensions_mut().insert(staff);
        return next.run(request).await;
    }
    // After signing in, back to the page asked for (a form's target is not a page).
    let back = if request.method() == Method::GET {
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
    } else {
        None
    };
    let to = match back {
        Some(path) => format!(
            "/dashboard/login?next={}",
            url::form_urlencoded::byte_serialize(local_target(Some(&path)).as_bytes())
                .collect::<String>()
        ),
        None => "/dashboard/login".to_string(),
    };
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_sign_in_only_dashboard_paths_are_followed() {
        assert_eq!(local_target(None), "/dashboard");
        assert_eq!(
            local_target(Some("/dashboard/requests/abc")),
            "/dashboard/requests/abc"
        );
        assert_eq!(
            local_target(Some("/dashboard?status=all")),
            "/dashboard?status=all"
        );
        for evil in [
            "https://evil.example/dashboard",
            "//evil.example/dashboard",
            "/dashboard//evil.example",
            "/dashboardx",
            "/dashboard/\\evil",
            "/api/v1/requests",
        ] {
            assert_eq!(local_target(Some(evil)), "/dashboard", "{evil}");
        }
    }

    #[test]
    fn csrf_tokens_are_tied_to_their_secret_and_differ_per_purpose() {
        let a = random_secret();
        let b = random_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(csrf_of(&a), csrf_of(&b));
        assert_ne!(csrf_of(&a), signin_csrf_of(&a));
        assert_ne!(signin_csrf_of(&a), signin_csrf_of(&b));
        assert_eq!(signin_csrf_of(&a).len(), 64);
        // What the ledger stores (the cookie's hash) is not the CSRF token.
        assert_ne!(csrf_of(&a), sha256_hex(&a));
        assert!(same_token(&csrf_of(&a), &csrf_of(&a)));
        assert!(!same_token(&csrf_of(&a), ""));
    }

    #[tokio::test(start_paused = true)]
    async fn five_failures_lock_a_name_for_fifteen_minutes() {
        let sessions = Sessions::default();
        for _ in 0..4 {
            sessions.failed("petra");
        }
        assert!(!sessions.locked("petra"), "four failures are not enough");
        sessions.failed("petra");
        assert!(sessions.locked("petra"));
        assert!(!sessions.locked("anna"), "per name");
        tokio::time::advance(Duration::from_secs(14 * 60)).await;
        assert!(sessions.locked("petra"), "still locked after 14 minutes");
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(!sessions.locked("petra"), "free after 15");
        // A success clears the count.
        for _ in 0..4 {
            sessions.failed("anna");
        }
        sessions.succeeded("anna");
        sessions.failed("anna");
        assert!(!sessions.locked("anna"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_link_works_once_for_a_minute() {
        let sessions = Sessions::default();
        let link = sessions.issue_link("petra");
        assert_eq!(sessions.spend_link(&link).as_deref(), Some("petra"));
        assert_eq!(sessions.spend_link(&link), None, "once");
        let late = sessions.issue_link("petra");
        let _never_used = sessions.issue_link("jan");
        tokio::time::advance(Duration::from_secs(59)).await;
        let early = sessions.issue_link("anna");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(sessions.spend_link(&late), None, "past its minute");
        // Issuing drops links past their minute (Jan's, never used); the others stay.
        tokio::time::advance(Duration::from_secs(1)).await;
        sessions.issue_link("kim");
        assert_eq!(sessions.links.lock().unwrap().len(), 2);
        assert_eq!(sessions.spend_link(&early).as_deref(), Some("anna"));
        assert_eq!(sessions.spend_link("made-up"), None);
    }

    #[test]
    fn a_session_lasts_eight_hours_at_most() {
        assert_eq!(SESSION_LIFETIME, Duration::from_secs(28_800));
        assert!(
            set_cookie(COOKIE, "v", SESSION_LIFETIME.as_secs(), false).contains("Max-Age=28800")
        );
    }

    #[test]
    fn the_cookie_is_secure_only_when_asked() {
        let plain = set_cookie(COOKIE, "v", 60, false);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        assert!(set_cookie(COOKIE, "v", 60, true).ends_with("; Secure"));
    }
}
