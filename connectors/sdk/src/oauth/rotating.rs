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
        // Also when the vendor refused a token before it may be renewed (Exact: 9.5 of its 10
        // minutes): the refresh tells a revoked sign-in (refused: log in again) from a token
        // refused for another reason ("access_token not expired": wait, below).
        let response = match self.endpoint.refresh(&stored.refresh_token).await {
            Ok(response) => response,
            // Refused: another process may have refreshed between our read and our call
            // (Exact: "Old refresh token used", or "access_token not expired" when its new
            // pair is that young) and be saving the next pair. Follow that chain if it comes.
            Err(e) if matches!(e.kind, ErrorKind::Auth | ErrorKind::Conflict) => {
                if let Some(latest) = self.moved_on(&stored).await {
                    tracing::debug!(
                        "the sign-in chain was moved on by another process; following it"
                    );
                    self.adopt(current, latest);
                    return Ok(());
                }
                if e.kind == ErrorKind::Auth {
                    return Err(e);
                }
                // "access_token not expired" and nobody saved a newer pair: one was lost (a
                // process crashed or could not save it). Exact counts from its issue, at most
                // one access-token life ago.
                let lifetime = stored
                    .expires_at
                    .zip(stored.issued_at)
                    .map(|(expires, issued)| expires.duration_since(issued))
                    .unwrap_or(jiff::SignedDuration::from_mins(10));
                return Err(Self::wait_until(now.checked_add(lifetime).ok(), &e.message));
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
        // Not retried at once: each try spends a capped token call, and Exact refuses to renew
        // again until the lost pair's access token lived 9.5 of its 10 minutes.
        self.store.save(&fresh).map_err(|e| {
            ConnectorError::resuming_at(
                ErrorKind::Retryable,
                &format!("the refreshed sign-in could not be saved, so it was not used: {e}"),
                fresh.renew_at().unwrap_or(now),
            )
        })?;
        tracing::debug!("access token refreshed and saved");
        self.adopt(current, fresh);
        Ok(())
    }
}

impl RotatingRefreshToken {
    /// The stored sign-in, when another process moved the chain on from `stored` and its
    /// access token is usable. Its save may trail its refresh by a moment, so the store is
    /// read a few times over about a second.
    async fn moved_on(&self, stored: &TokenSet) -> Option<TokenSet> {
        for attempt in 0..5 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            match self.store.load() {
                Ok(latest)
                    if !latest.same_refresh_token(stored)
                        && latest.access_usable(jiff::Timestamp::now()) =>
                {
                    return Some(latest)
                }
                _ => {}
            }
        }
        None
    }

    /// A throttled error: no token call until `at` (at once when unknown).
    fn wait_until(at: Option<jiff::Timestamp>, message: &str) -> ConnectorError {
        let at = at.unwrap_or_else(jiff::Timestamp::now);
        ConnectorError::resuming_at(ErrorKind::Throttled, message, at)
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
