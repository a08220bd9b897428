//! Exact Online's OAuth server, as the fake plays it.
//!
//! Every grant (code exchange or refresh) issues a *pair* (access + refresh token) with a
//! sequence number. As Exact documents it, the previous refresh tokens stay usable until one
//! of the newer tokens is first used (an API call with the new access token, or a refresh
//! with the new refresh token); from then on they answer 400 "Old refresh token used".
//! Authorization codes are single-use and live 3 minutes; access tokens live 10 minutes
//! (shorter in tests).

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
struct Pair {
    access_expires: Instant,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, revoked or expired.
    Invalid,
    /// A refresh token retired by the use of a newer one.
    OldRefreshToken,
}

/// The token chain of the one fixture user.
#[derive(Debug, Default)]
pub struct Chain {
    next_seq: u64,
    pairs: HashMap<u64, Pair>,
    access: HashMap<String, u64>,
    refresh: HashMap<String, u64>,
    /// Refresh tokens with a lower sequence are retired.
    retired_below: u64,
    codes: HashMap<String, (Instant, String)>,
    nonce: u64,
}

impl Chain {
    fn token(&mut self, kind: &str, seq: u64) -> String {
        self.nonce = self
            .nonce
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        format!("fake-exact-{kind}-{seq:04}-{:016x}", self.nonce)
    }

    /// Issue a new pair; returns (access, refresh).
    pub fn issue(&mut self, lifetime: Duration) -> (String, String) {
        self.next_seq += 1;
        let seq = self.next_seq;
        let access = self.token("access", seq);
        let refresh = self.token("refresh", seq);
        self.pairs.insert(
            seq,
            Pair {
                access_expires: Instant::now() + lifetime,
            },
        );
        self.access.insert(access.clone(), seq);
        self.refresh.insert(refresh.clone(), seq);
        (access, refresh)
    }

    /// First use of pair `seq` retires every older refresh token.
    fn used(&mut self, seq: u64) {
        self.retired_below = self.retired_below.max(seq);
    }

    /// An API call with `access`.
    pub fn authorize(&mut self, access: &str) -> Result<(), Refused> {
        let seq = *self.access.get(access).ok_or(Refused::Invalid)?;
        let pair = self.pairs.get(&seq).ok_or(Refused::Invalid)?;
        if pair.access_expires <= Instant::now() {
            return Err(Refused::Invalid);
        }
        self.used(seq);
        Ok(())
    }

    /// A refresh with `refresh`: a new pair, or why not.
    pub fn refresh(
        &mut self,
        refresh: &str,
        lifetime: Duration,
    ) -> Result<(String, String), Refused> {
        let seq = *self.refresh.get(refresh).ok_or(Refused::Invalid)?;
        if seq < self.retired_below {
            return Err(Refused::OldRefreshToken);
        }
        self.used(seq);
        Ok(self.issue(lifetime))
    }

    /// A new single-use authorization code for `redirect_uri`.
    pub fn code(&mut self, redirect_uri: &str) -> String {
        let code = format!("stampNL001.{}!{}", self.next_seq + 1, self.token("code", 0));
        self.codes
            .insert(code.clone(), (Instant::now(), redirect_uri.to_string()));
        code
    }

    /// Exchange a code (valid 3 minutes, once, for the same redirect URI).
    pub fn redeem(&mut self, code: &str, redirect_uri: &str) -> Result<(), Refused> {
        let (issued, uri) = self.codes.remove(code).ok_or(Refused::Invalid)?;
        if issued.elapsed() > Duration::from_secs(180) || uri != redirect_uri {
            return Err(Refused::Invalid);
        }
        Ok(())
    }

    /// The person revoked the app (or signed in again elsewhere): every token stops working.
    pub fn revoke_all(&mut self) {
        self.access.clear();
        self.refresh.clear();
        self.pairs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_refresh_tokens_die_when_a_newer_pair_is_used() {
        let mut chain = Chain::default();
        let life = Duration::from_secs(600);
        let (_, r1) = chain.issue(life);
        let (a2, r2) = chain.refresh(&r1, life).unwrap();
        // Not used yet: r1 still works (a crash before saving r2 is survivable).
        let (a3, _r3) = chain.refresh(&r1, life).unwrap();
        chain.authorize(&a3).unwrap();
        assert_eq!(chain.refresh(&r1, life), Err(Refused::OldRefreshToken));
        assert_eq!(chain.refresh(&r2, life), Err(Refused::OldRefreshToken));
        // An older access token still works until it expires.
        chain.authorize(&a2).unwrap();
    }
}
