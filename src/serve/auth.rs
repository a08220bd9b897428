//! Bearer-token authentication for the API.
//!
//! Tokens are configured as secret references and resolved at start. A presented token is
//! hashed and compared with each configured token's hash in constant time, so neither its
//! length nor its content leaks through timing; a missing or wrong token gets a 401 that says
//! nothing else.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};

use super::AppState;
use std::sync::Arc;

/// The configured tokens, hashed.
#[derive(Clone)]
pub struct Tokens(Vec<[u8; 32]>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.0.len())
    }
}

impl Tokens {
    /// Hash the resolved tokens.
    pub fn new<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Tokens {
        Tokens(tokens.into_iter().map(digest).collect())
    }

    /// Whether `presented` is one of the tokens, compared in constant time.
    pub fn accepts(&self, presented: &str) -> bool {
        let presented = digest(presented);
        // Every configured token is compared, whatever the outcome.
        self.0.iter().fold(false, |found, token| {
            found | constant_time_eq(token, &presented)
        })
    }
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

/// Middleware: only requests with a configured bearer token, or a dashboard session cookie
/// (see `dashboard`), pass.
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
    let by_token = presented.is_some_and(|token| state.tokens.accepts(token));
    let allowed = by_token
        || super::dashboard::session_cookie(request.headers())
            .is_some_and(|s| state.sessions.valid(&s));
    if allowed {
        next.run(request).await
    } else {
        unauthorized()
    }
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
    }
}
