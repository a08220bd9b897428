//! Auth for vendors whose refresh tokens rotate (Exact Online).
//!
//! Exact Online issues a new refresh token with every refresh. The previous refresh tokens
//! stay valid until one of the *new* tokens is first used (a call with the new access token,
//! or a refresh with the new refresh token); from then on the old one answers 400 ("Old
//! refresh token used") and only a new login helps. Hence the order here:
//!
//! 1. refreshes are single-flight: one task refreshes, the others wait and use its result;
//! 2. before refreshing, the store is read again: a login, another `dsrhub` process or an
//!    earlier run may have moved the chain on;
//! 3. the answer is saved to the store, durably, **before** the new access token is used.
//!
//! Two processes can still read the same refresh token in the same instant (there is no
//! lock across processes). The later one's refresh is then refused; it reads the store again
//! and follows the chain the other process saved, instead of asking for a new login.
//!
//! A crash between 2 and 3 loses the new tokens, but none of them was ever used, so the
//! stored refresh token is still valid and the next run simply refreshes again. A failed save
//! is reported and the new tokens are dropped unused, for the same reason. Access tokens are
//! reused until shortly before they expire (the token endpoint has its own daily cap).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::RequestBuilder;
use tokio::sync::Mutex;

use super::endpoint::TokenEndpoint;
use super::store::TokenStore;
use super::token::TokenSet;
use crate::error::{ConnectorError, ErrorKind};
use crate::http::Auth;

/// `Authorization: Bearer` from a rotating refresh-token chain.
pub struct RotatingRefreshToken {
    endpoint: TokenEndpoint,
    store: Arc<dyn TokenStore>,
    current: Mutex<Option<TokenSet>>,
    generation: AtomicU64,
    how_to_login: String,
}

impl fmt::Debug for RotatingRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotatingRefreshToken")
            .field("endpoint", &self.endpoint)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl RotatingRefreshToken {
    /// Tokens from `store`, refreshed at `endpoint`. `how_to_login` completes "…; " in errors
    /// that need a person (e.g. "run `dsrhub auth login exact-online`").
    pub fn new(
        endpoint: TokenEndpoint,
        store: Arc<dyn TokenStore>,
        how_to_login: impl Into<String>,
    ) -> Self {
        RotatingRefreshToken {
            endpoint,
            store,
            current: Mutex::new(None),
            generation: AtomicU64::new(0),
            how_to_login: how_to_login.into(),
        }
    }

    fn load(&self) -> Result<TokenSet, ConnectorError> {
        self.store.load().map_err(|e| {
            ConnectorError::new(ErrorKind::Auth, format!("{e}; {}", self.how_to_login))
        })
    }

    fn adopt(&self, current: &mut Option<TokenSet>, tokens: TokenSet) {
        *current = Some(tokens);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Get a usable access token into `current`. `rejected`: the access token in `current`
    /// was refused by the vendor, so it must not be reused even if it looks unexpired.
    async fn renew(
        &self,
        current: &mut Option<TokenSet>,
        rejected: bool,
    ) -> Result<(), ConnectorError> {
        let now = jiff::Timestamp::now();
        let stored = self.load()?;
        let rejected_token =
            |t: &TokenSet| rejected && current.as_ref().is_some_and(|c| c.same_access_token(t));
        if stored.access_usable(now) && !rejected_token(&stored) {
            // Someone (another process, a login) already holds a fresh token: use it.
            self.adopt(current, stored);
            return Ok(());
        }
        let response = match self.endpoint.refresh(&stored.refresh_token).await {
            Ok(response) => response,
            Err(e) if e.kind == ErrorKind::Auth => {
                // Refused: another process may have spent this refresh token between our read
                // and our call, and saved the next one. Follow that chain if it is there.
                return match self.store.load() {
                    Ok(latest)
                        if !latest.same_refresh_token(&stored)
                            && latest.access_usable(jiff::Timestamp::now()) =>
                    {
                        tracing::debug!(
                            "the sign-in chain was moved on by another process; following it"
                        );
                        self.adopt(current, latest);
                        Ok(())
                    }
                    _ => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let now = jiff::Timestamp::now();
        let fresh = TokenSet::from_response(response, Some(&stored.refresh_token), now)
            .ok_or_else(|| ConnectorError::permanent("the token endpoint issued no token"))?;
        // Another process may have refreshed meanwhile and saved its chain: then ours is the
        // branch nobody will keep. Drop it unused and follow the stored one.
        if let Ok(latest) = self.store.load() {
            if !latest.same_refresh_token(&stored) && latest.access_usable(now) {
                self.adopt(current, latest);
                return Ok(());
            }
        }
        // Durably saved before first use: until the new tokens are used, the vendor still
        // honours the stored refresh token, so a crash or failed save loses nothing.
        self.store.save(&fresh).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Retryable,
                format!("the refreshed sign-in could not be saved, so it was not used: {e}"),
            )
        })?;
        tracing::debug!("access token refreshed and saved");
        self.adopt(current, fresh);
        Ok(())
    }
}

#[async_trait]
impl Auth for RotatingRefreshToken {
    async fn apply(&self, request: RequestBuilder) -> Result<RequestBuilder, ConnectorError> {
        let mut current = self.current.lock().await;
        let usable = current
            .as_ref()
            .is_some_and(|t| t.access_usable(jiff::Timestamp::now()));
        if !usable {
            self.renew(&mut current, false).await?;
        }
        let token = current
            .as_ref()
            .and_then(|t| t.access_token.as_ref())
            .ok_or_else(|| ConnectorError::permanent("no access token after a refresh"))?;
        super::bearer(request, token)
    }

    async fn refresh(&self, rejected: u64) -> Result<(), ConnectorError> {
        let mut current = self.current.lock().await;
        if self.generation.load(Ordering::SeqCst) != rejected {
            // Another task refreshed after this one's token was applied.
            return Ok(());
        }
        self.renew(&mut current, true).await
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}
