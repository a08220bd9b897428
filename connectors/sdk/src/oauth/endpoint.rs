//! Token calls: authorization code, refresh token, client credentials.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::token::TokenResponse;
use crate::error::{ConnectorError, ErrorKind};
use crate::http::{
    classify, Classifier, HttpClient, HttpSettings, NoAuth, Quota, Request, VendorProfile,
};
use crate::secrets::{SecretRef, Secrets};

/// Where the client secret comes from; resolved at every call, so a secret rotated by a
/// person is picked up without a restart.
#[derive(Clone)]
pub struct ClientSecret {
    secrets: Secrets,
    reference: SecretRef,
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientSecret({})", self.reference)
    }
}

impl ClientSecret {
    /// The secret behind `reference`.
    pub fn new(secrets: Secrets, reference: SecretRef) -> Self {
        ClientSecret { secrets, reference }
    }

    fn resolve(&self) -> Result<SecretString, ConnectorError> {
        self.secrets
            .resolve(&self.reference)
            .map_err(|e| ConnectorError::new(ErrorKind::Auth, e.to_string()))
    }
}

/// A token endpoint answers 400/401 for a refused grant (`invalid_grant`: a used or expired
/// refresh token or code) and a refused client (`invalid_client`): a person must act, so both
/// are [`ErrorKind::Auth`], never retried. One refusal is only "not yet": Exact Online answers
/// 400 `access_denied` "Rate limit exceeded: access_token not expired" to a refresh within 9.5
/// minutes of the last one. That is [`ErrorKind::Conflict`] (the vendor refuses this call now),
/// so it is not retried in a loop that would spend the 200 daily token calls; the caller
/// ([`super::RotatingRefreshToken`]) turns it into a wait.
struct TokenClassifier {
    how_to_fix: String,
}

/// The `error` code of a token endpoint's answer, when it is a plain code.
fn oauth_error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .filter(|c| c.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// Whether the answer is a refresh refused because the access token has not expired yet.
fn is_not_yet_expired(status: u16, body: &[u8]) -> bool {
    status == 400
        && serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.get("error_description")
                    .and_then(|d| d.as_str())
                    .map(|d| d.to_ascii_lowercase().contains("access_token not expired"))
            })
            .unwrap_or(false)
}

impl Classifier for TokenClassifier {
    fn kind(&self, status: u16, body: &[u8]) -> ErrorKind {
        match status {
            _ if is_not_yet_expired(status, body) => ErrorKind::Conflict,
            400 | 401 | 403 => ErrorKind::Auth,
            other => classify::default_kind(other),
        }
    }

    fn message(&self, status: u16, body: &[u8]) -> String {
        if is_not_yet_expired(status, body) {
            return "the token endpoint refuses a new access token while the last one has not \
                    expired (Exact Online: not within 9.5 minutes of the last)"
                .to_string();
        }
        match (status, oauth_error_code(body)) {
            (400..=403, Some(code)) => format!(
                "the token endpoint refused the sign-in ({code}); {}",
                self.how_to_fix
            ),
            (400..=403, None) => format!(
                "the token endpoint refused the sign-in; {}",
                self.how_to_fix
            ),
            _ => classify::default_message(status, body),
        }
    }
}

/// One OAuth client at one token endpoint.
#[derive(Clone)]
pub struct TokenEndpoint {
    http: HttpClient,
    token_url: Url,
    client_id: String,
    client_secret: Option<ClientSecret>,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("token_url", &crate::redact::url_for_log(&self.token_url))
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// A client `client_id` of `token_url`. `processor` names it in logs; `quota` guards the
    /// endpoint's own cap (Exact Online: 200 token calls per day); `how_to_fix` completes
    /// "the token endpoint refused the sign-in; …" (e.g. "run `dsrhub auth login …`").
    pub fn new(
        processor: &'static str,
        token_url: Url,
        client_id: String,
        client_secret: Option<ClientSecret>,
        settings: HttpSettings,
        quota: Quota,
        how_to_fix: impl Into<String>,
    ) -> Result<Self, ConnectorError> {
        let profile = VendorProfile {
            accept: None,
            processor,
            quota,
            max_concurrency: Some(1),
            throttle_wait: Some(Duration::from_secs(10)),
            reset_headers: None,
            daily_headers: None,
            // A refused token call is final: there is nothing to refresh.
            reauth_statuses: &[],
        };
        let http = HttpClient::new(token_url.clone(), profile, settings, Arc::new(NoAuth))?
            .with_classifier(Arc::new(TokenClassifier {
                how_to_fix: how_to_fix.into(),
            }));
        Ok(TokenEndpoint {
            http,
            token_url,
            client_id,
            client_secret,
        })
    }

    /// Exchange an authorization code (RFC 6749 §4.1.3).
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &Url,
    ) -> Result<TokenResponse, ConnectorError> {
        self.call(vec![
            ("grant_type", "authorization_code".into()),
            ("code", code.to_string()),
            ("redirect_uri", redirect_uri.to_string()),
        ])
        .await
    }

    /// Use a refresh token (RFC 6749 §6). On a rotating server the answer holds the new
    /// refresh token, which the caller must persist before it uses the access token.
    pub async fn refresh(
        &self,
        refresh_token: &SecretString,
    ) -> Result<TokenResponse, ConnectorError> {
        self.call(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh_token.expose_secret().to_string()),
        ])
        .await
    }

    /// Client credentials for `scope` (RFC 6749 §4.4).
    pub async fn client_credentials(&self, scope: &str) -> Result<TokenResponse, ConnectorError> {
        self.call(vec![
            ("grant_type", "client_credentials".into()),
            ("scope", scope.to_string()),
        ])
        .await
    }

    async fn call(
        &self,
        mut form: Vec<(&'static str, String)>,
    ) -> Result<TokenResponse, ConnectorError> {
        form.push(("client_id", self.client_id.clone()));
        if let Some(secret) = &self.client_secret {
            form.push((
                "client_secret",
                secret.resolve()?.expose_secret().to_string(),
            ));
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = self
            .http
            .send(Request::post(self.token_url.clone()).form(&pairs))
            .await?;
        let tokens: TokenResponse = response.json()?;
        if let Some(kind) = tokens.token_type.as_deref() {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(ConnectorError::permanent(format!(
                    "the token endpoint issued a `{kind}` token; only bearer tokens are supported"
                )));
            }
        }
        Ok(tokens)
    }
}
