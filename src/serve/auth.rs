//! Bearer-token authentication for the API.
//!
//! Tokens are configured as secret references and resolved at start. A presented token is
//! hashed and compared with each configured token's hash in constant time, so neither its
//! length nor its content leaks through timing; a missing or wrong token gets a 401 that says
//! nothing else.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};

use super::AppState;
use std::sync::Arc;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything (`serve.tokens`): staff and their tools.
    Staff,
    /// Submit a request and read its status (`serve.intake_tokens`): a web form's server.
    Intake,
}

/// The configured tokens, hashed, with their scopes.
#[derive(Clone)]
pub struct Tokens(Vec<([u8; 32], Scope)>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.0.len())
    }
}

impl Tokens {
    /// Hash the resolved staff tokens.
    pub fn new<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Tokens {
        Tokens::with_intake(tokens, [])
    }

    /// Hash the resolved staff and intake tokens.
    pub fn with_intake<'a>(
        staff: impl IntoIterator<Item = &'a str>,
        intake: impl IntoIterator<Item = &'a str>,
    ) -> Tokens {
        let staff = staff.into_iter().map(|t| (digest(t), Scope::Staff));
        let intake = intake.into_iter().map(|t| (digest(t), Scope::Intake));
        Tokens(staff.chain(intake).collect())
    }

    /// The scope of `presented`, when it is one of the tokens, compared in constant time.
    pub fn scope(&self, presented: &str) -> Option<Scope> {
        let presented = digest(presented);
        // Every configured token is compared, whatever the outcome.
        self.0.iter().fold(None, |found, (token, scope)| {
            let same = constant_time_eq(token, &presented);
            found.or(same.then_some(*scope))
        })
    }

    /// Whether `presented` is one of the tokens.
    pub fn accepts(&self, presented: &str) -> bool {
        self.scope(presented).is_some()
    }
}

/// Whether an intake token may make this call: submit a request, read a request's status.
fn intake_may(method: &axum::http::Method, path: &str) -> bool {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    matches!(
        (method.as_str(), segments.as_slice()),
        ("POST", ["", "api", "v1", "requests"]) | ("GET", ["", "api", "v1", "requests", _])
    )
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The 401 every authentication failure gets.
pub fn unauthorized() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({ "error": "unauthorized" })),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"dsrhub\""),
    );
    response
}

/// Middleware: only requests with a configured bearer token, or reads with a dashboard
/// session cookie (see `dashboard::session`), pass.
pub async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let scope = presented.and_then(|token| state.tokens.scope(token));
    // A dashboard session may read (reports, exports, letters the dashboard links to); what
    // changes something goes through the dashboard's forms, which carry a CSRF token.
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    let by_session = scope.is_none()
        && reads
        && super::dashboard::session::signed_in(&state, request.headers()).is_some();
    let intake_allowed = intake_may(request.method(), request.uri().path());
    match scope {
        Some(Scope::Staff) => next.run(request).await,
        Some(Scope::Intake) if intake_allowed => next.run(request).await,
        Some(Scope::Intake) => forbidden(),
        None if by_session => next.run(request).await,
        None => unauthorized(),
    }
}

/// The 403 an intake token gets for anything but intake and status.
fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(serde_json::json!({
            "error": "forbidden",
            "message": "an intake token may only submit a request and read its status",
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_tokens_pass() {
        let tokens = Tokens::new(["alpha-token", "beta-token"]);
        assert!(tokens.accepts("beta-token"));
        assert!(!tokens.accepts("beta-token "));
        assert!(!tokens.accepts(""));
        assert!(!Tokens::new([]).accepts("anything"));
        assert!(!format!("{tokens:?}").contains("alpha"));
        let scoped = Tokens::with_intake(["staff-token"], ["form-token"]);
        assert_eq!(scoped.scope("staff-token"), Some(Scope::Staff));
        assert_eq!(scoped.scope("form-token"), Some(Scope::Intake));
        assert_eq!(scoped.scope("other"), None);
    }

    #[test]
    fn an_intake_token_may_only_submit_and_read_status() {
        use axum::http::Method;
        assert!(intake_may(&Method::POST, "/api/v1/requests"));
        assert!(intake_may(&Method::GET, "/api/v1/requests/abc"));
        assert!(!intake_may(&Method::GET, "/api/v1/requests"));
        assert!(!intake_may(&Method::POST, "/api/v1/requests/abc/verify"));
        assert!(!intake_may(
            &Method::GET,
            "/api/v1/requests/abc/report.json"
        ));
        assert!(!intake_may(&Method::DELETE, "/api/v1/requests/abc"));
        assert!(!intake_may(&Method::GET, "/dashboard"));
    }
}
