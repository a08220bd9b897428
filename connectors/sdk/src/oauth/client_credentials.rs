//! App-only auth with the client-credentials grant (Microsoft Graph).
//!
//! There is no refresh token: the access token is requested again shortly before it expires
//! (single-flight, like [`super::RotatingRefreshToken`]), or at once when the vendor rejects it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use reqwest::RequestBuilder;
use secrecy::SecretString;
use tokio::sync::Mutex;

use super::endpoint::TokenEndpoint;
use super::token::usable;
use crate::error::ConnectorError;
use crate::http::Auth;

struct Current {
    token: SecretString,
    issued_at: jiff::Timestamp,
    expires_at: Option<jiff::Timestamp>,
}

/// `Authorization: Bearer` from the client-credentials grant for one `scope`.
pub struct ClientCredentials {
    endpoint: TokenEndpoint,
    scope: String,
    current: Mutex<Option<Current>>,
    generation: AtomicU64,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("endpoint", &self.endpoint)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// Tokens for `scope` (Graph: `https://graph.microsoft.com/.default`) from `endpoint`.
    pub fn new(endpoint: TokenEndpoint, scope: impl Into<String>) -> Self {
        ClientCredentials {
            endpoint,
            scope: scope.into(),
            current: Mutex::new(None),
            generation: AtomicU64::new(0),
        }
    }

    async fn renew(&self, current: &mut Option<Current>) -> Result<(), ConnectorError> {
        let response = self.endpoint.client_credentials(&self.scope).await?;
        let issued_at = jiff::Timestamp::now();
        let expires_at = response
            .expires_in
            .and_then(|d| jiff::SignedDuration::try_from(d).ok())
            .and_then(|d| issued_at.checked_add(d).ok());
        *current = Some(Current {
            token: response.access_token,
            issued_at,
            expires_at,
        });
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl Auth for ClientCredentials {
    async fn apply(&self, request: RequestBuilder) -> Result<RequestBuilder, ConnectorError> {
        let mut current = self.current.lock().await;
        let fresh = current.as_ref().is_some_and(|c| {
            // A token without `expires_in` is used until the vendor rejects it.
            c.expires_at.is_none()
                || usable(Some(c.issued_at), c.expires_at, jiff::Timestamp::now())
        });
        if !fresh {
            self.renew(&mut current).await?;
        }
        let token = &current.as_ref().expect("renewed above").token;
        super::bearer(request, token)
    }

    async fn refresh(&self, rejected: u64) -> Result<(), ConnectorError> {
        let mut current = self.current.lock().await;
        if self.generation.load(Ordering::SeqCst) != rejected {
            return Ok(());
        }
        self.renew(&mut current).await
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}
