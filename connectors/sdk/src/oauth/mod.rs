//! OAuth 2.0, shared by every connector that needs it.
//!
//! - [`TokenEndpoint`]: the token calls (authorization code, refresh token, client
//!   credentials) over the SDK's own [`crate::http::HttpClient`], so they get its timeouts,
//!   pacing, retries and redacted logging like any other call;
//! - [`RotatingRefreshToken`]: an [`crate::http::Auth`] for vendors whose refresh tokens
//!   rotate (Exact Online): single-flight refreshes, tokens reused until shortly before expiry,
//!   and every new refresh token persisted durably *before* the new access token is used;
//! - [`ClientCredentials`]: app-only tokens (Microsoft Graph), renewed before they expire;
//! - [`TokenStore`]: where the tokens live ([`SecretTokenStore`]: a secret reference);
//! - [`login`]: the authorization-code login a person runs once (`dsrhub auth login …`).
//!
//! Why not the `oauth2` crate: its typestate client adds little over three form posts, its
//! token response wants `expires_in` as a number (Exact Online sends a string), and the
//! rotation rules (persist before use, re-read the store before refreshing) are ours to get
//! right anyway.

pub mod client_credentials;
pub mod endpoint;
pub mod login;
pub mod rotating;
pub mod store;
pub mod token;

pub use client_credentials::ClientCredentials;

/// `Authorization: Bearer <token>`, marked sensitive so it never reaches a log.
pub(crate) fn bearer(
    request: reqwest::RequestBuilder,
    token: &secrecy::SecretString,
) -> Result<reqwest::RequestBuilder, crate::ConnectorError> {
    use secrecy::ExposeSecret;
    let mut value =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| {
                crate::ConnectorError::permanent("the access token is not a valid header")
            })?;
    value.set_sensitive(true);
    Ok(request.header(reqwest::header::AUTHORIZATION, value))
}
pub use endpoint::{ClientSecret, TokenEndpoint};
pub use login::{AuthorizationRequest, Login, LoginError};
pub use rotating::RotatingRefreshToken;
pub use store::{SecretTokenStore, TokenStore};
pub use token::{TokenResponse, TokenSet};
