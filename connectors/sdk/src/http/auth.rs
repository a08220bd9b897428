//! How requests are authenticated, and what "refresh" means for each scheme.
//!
//! The HTTP client calls [`Auth::apply`] on every attempt and, on a 401, [`Auth::refresh`]
//! exactly once before sending again. A scheme that cannot refresh answers with an
//! [`ErrorKind::Auth`] error telling a person how to re-authorise. OAuth schemes live in
//! [`crate::oauth`].

use std::fmt;

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::RwLock;

use crate::error::{ConnectorError, ErrorKind};
use crate::secrets::{SecretRef, Secrets};

/// Adds credentials to requests.
#[async_trait]
pub trait Auth: Send + Sync + fmt::Debug {
    /// Add credentials to one attempt.
    async fn apply(&self, request: RequestBuilder) -> Result<RequestBuilder, ConnectorError>;

    /// The vendor answered 401 to credentials of `rejected` generation: get fresh ones, or
    /// explain how a person can. When the credentials already moved past `rejected` (another
    /// task refreshed them meanwhile), there is nothing to do.
    async fn refresh(&self, rejected: u64) -> Result<(), ConnectorError>;

    /// Which credentials [`Auth::apply`] adds now; changes with every refresh. Read right
    /// after `apply`, it tells [`Auth::refresh`] which credentials were rejected, so ten tasks that
    /// all got a 401 cause one refresh, not ten.
    fn generation(&self) -> u64 {
        0
    }
}

/// No credentials (public endpoints, zone discovery).
#[derive(Debug, Default)]
pub struct NoAuth;

#[async_trait]
impl Auth for NoAuth {
    async fn apply(&self, request: RequestBuilder) -> Result<RequestBuilder, ConnectorError> {
        Ok(request)
    }

    async fn refresh(&self, _rejected: u64) -> Result<(), ConnectorError> {
        Err(ConnectorError::new(
            ErrorKind::Auth,
            "the endpoint requires credentials",
        ))
    }
}

fn sensitive(value: &str) -> Result<HeaderValue, ConnectorError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        ConnectorError::invalid("a credential contains characters not allowed in an HTTP header")
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `Authorization: Bearer <token>` with a long-lived token held in a secret reference
/// (Moneybird personal tokens). Refresh re-reads the reference, so a token rotated by a person
/// in the keyring or file is picked up without a restart.
pub struct BearerSecret {
    secrets: Secrets,
    reference: SecretRef,
    current: RwLock<SecretString>,
    how_to_fix: String,
}

impl fmt::Debug for BearerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerSecret")
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

impl BearerSecret {
    /// Resolve `reference` now, so a missing secret is reported at start-up, not mid-request.
    /// `how_to_fix` completes the sentence "the token was rejected; …".
    pub fn new(
        secrets: Secrets,
        reference: SecretRef,
        how_to_fix: impl Into<String>,
    ) -> Result<Self, crate::secrets::SecretError> {
        let current = secrets.resolve(&reference)?;
        Ok(BearerSecret {
            secrets,
            reference,
            current: RwLock::new(current),
            how_to_fix: how_to_fix.into(),
        })
    }
}

#[async_trait]
impl Auth for BearerSecret {
    async fn apply(&self, request: RequestBuilder) -> Result<RequestBuilder, ConnectorError> {
        let token = self.current.read().await;
        let value = sensitive(&format!("Bearer {}", token.expose_secret()))?;
        Ok(request.header(AUTHORIZATION, value))
    }

    async fn refresh(&self, _rejected: u64) -> Result<(), ConnectorError> {
        let rejected = || {
            ConnectorError::new(
                ErrorKind::Auth,
                format!(
                    "the token in `{}` was rejected; {}",
                    self.reference, self.how_to_fix
                ),
            )
        };
        let fresh = self
            .secrets
            .resolve(&self.reference)
            .map_err(|e| ConnectorError::new(ErrorKind::Auth, e.to_string()))?;
        let mut current = self.current.write().await;
        if fresh.expose_secret() == current.expose_secret() {
            return Err(rejected());
        }
        *current = fresh;
        Ok(())
    }
}

/// Fixed headers, some of them secret (Autotask's `ApiIntegrationCode`/`UserName`/`Secret`,
/// IT Glue's `x-api-key`). Refresh re-reads the secret ones.
pub struct SecretHeaders {
    secrets: Secrets,
    headers: Vec<(HeaderName, HeaderSource)>,
    resolved: RwLock<Vec<(HeaderName, SecretString)>>,
    how_to_fix: String,
}

/// Where one header's value comes from.
#[derive(Debug, Clone)]
pub enum HeaderSource {
    /// A value that is not secret (e.g. a user name shown in the vendor's UI).
    Plain(String),
    /// A secret reference.
    Secret(SecretRef),
}

impl fmt::Debug for SecretHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("SecretHeaders")
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

impl SecretHeaders {
    /// Resolve every secret header now.
    pub fn new(
        secrets: Secrets,
        headers: Vec<(HeaderName, HeaderSource)>,
        how_to_fix: impl Into<String>,
    ) -> Result<Self, crate::secrets::SecretError> {
        let resolved = Self::resolve_all(&secrets, &headers)?;
        Ok(SecretHeaders {
            secrets,
            headers,
            resolved: RwLock::new(resolved),
            how_to_fix: how_to_fix.into(),
        })
    }

    fn resolve_all(
        secrets: &Secrets,
        headers: &[(HeaderName, HeaderSource)],
    ) -> Result<Vec<(HeaderName, SecretString)>, crate::secrets::SecretError> {
        headers
            .iter()
            .map(|(name, source)| {
                let value = match source {
                    HeaderSource::Plain(v) => SecretString::from(v.clone()),
                    HeaderSource::Secret(r) => secrets.resolve(r)?,
                };
                Ok((name.clone(), value))
            })
            .collect()
    }
}

#[async_trait]
impl Auth for SecretHeaders {
    async fn apply(&self, mut request: RequestBuilder) -> Result<RequestBuilder, ConnectorError> {
        for (name, value) in self.resolved.read().await.iter() {
            request = request.header(name.clone(), sensitive(value.expose_secret())?);
        }
        Ok(request)
    }

    async fn refresh(&self, _rejected: u64) -> Result<(), ConnectorError> {
        let fresh = Self::resolve_all(&self.secrets, &self.headers)
            .map_err(|e| ConnectorError::new(ErrorKind::Auth, e.to_string()))?;
        let mut current = self.resolved.write().await;
        let same = fresh
            .iter()
            .zip(current.iter())
            .all(|(a, b)| a.1.expose_secret() == b.1.expose_secret());
        if same {
            return Err(ConnectorError::new(
                ErrorKind::Auth,
                format!("the credentials were rejected; {}", self.how_to_fix),
            ));
        }
        *current = fresh;
        Ok(())
    }
}
