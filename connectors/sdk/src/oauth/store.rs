//! Where OAuth tokens are kept between runs.

use std::fmt;

use secrecy::ExposeSecret;

use super::token::TokenSet;
use crate::secrets::{SecretError, SecretRef, Secrets};

/// Durable storage of one token set. `save` must not return before the set would survive a
/// crash: the caller uses a new access token only after `save` returned.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The stored set.
    fn load(&self) -> Result<TokenSet, SecretError>;
    /// Replace the stored set, durably.
    fn save(&self, tokens: &TokenSet) -> Result<(), SecretError>;
}

/// A token set in a secret reference (`keyring:` or `file:`; `env:` cannot be written).
///
/// `file:` writes go through a temporary file, `fsync` and a rename, then `fsync` of the
/// folder: durable across a crash or power loss. The Linux keyring backend is a per-boot
/// cache: a reboot forgets the tokens, so servers should use `file:`.
#[derive(Clone)]
pub struct SecretTokenStore {
    secrets: Secrets,
    reference: SecretRef,
}

impl fmt::Debug for SecretTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretTokenStore")
            .field("reference", &self.reference)
            .finish()
    }
}

impl SecretTokenStore {
    /// Tokens kept in `reference`.
    pub fn new(secrets: Secrets, reference: SecretRef) -> Self {
        SecretTokenStore { secrets, reference }
    }

    /// The reference, for messages.
    pub fn reference(&self) -> &SecretRef {
        &self.reference
    }
}

impl TokenStore for SecretTokenStore {
    fn load(&self) -> Result<TokenSet, SecretError> {
        let value = self.secrets.resolve(&self.reference)?;
        TokenSet::from_secret(value.expose_secret()).map_err(|reason| SecretError {
            reference: self.reference.to_string(),
            reason,
        })
    }

    fn save(&self, tokens: &TokenSet) -> Result<(), SecretError> {
        self.secrets
            .store(&self.reference, &tokens.to_secret_json())
    }
}
