//! Exact Online's OAuth server, as the fake plays it.
//!
//! Every grant (code exchange or refresh) issues a *pair* (access + refresh token) with a
//! sequence number. As Exact documents it, the previous refresh tokens stay usable until one
//! of the newer tokens is first used (an API call with the new access token, or a refresh
//! with the new refresh token); from then on they answer 400 "Old refresh token used".
//! Authorization codes are single-use and live 3 minutes; access tokens live 10 minutes
//! (shorter in tests); refresh tokens expire when unused for 30 days.
//!
//! Exact refuses a refresh before the newest access token has lived 9.5 of its 10 minutes
//! (400 `access_denied` "Rate limit exceeded: access_token not expired", vendors.md, newest
//! section). Whether it counts from the newest pair or from the pair of the presented refresh
//! token is not documented; the fake counts from the newest, the stricter reading, so a client
//! that survives the fake survives either.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
struct Pair {
    issued: Instant,
    access_lifetime: Duration,
}

impl Pair {
    fn access_expires(&self) -> Instant {
        self.issued + self.access_lifetime
    }

    /// Exact's "not before 9 minutes 30 seconds": 95 % of the access token's life.
    fn renewable(&self) -> bool {
        self.issued.elapsed() >= self.access_lifetime.mul_f64(0.95)
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, revoked or expired.
    Invalid,
    /// A refresh token retired by the use of a newer one.
    OldRefreshToken,
    /// A refresh before the newest access token lived 95 % of its life.
    NotExpired,
    /// A refresh token unused for longer than its lifetime (Exact: 30 days); when it expired.
    RefreshExpired(Instant),
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
                issued: Instant::now(),
                access_lifetime: lifetime,
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
        if pair.access_expires() <= Instant::now() {
            return Err(Refused::Invalid);
        }
        self.used(seq);
        Ok(())
    }

    /// A refresh with `refresh`, which stays valid for `refresh_lifetime` after its issue: a
    /// new pair, or why not.
    pub fn refresh(
        &mut self,
        refresh: &str,
        lifetime: Duration,
        refresh_lifetime: Duration,
    ) -> Result<(String, String), Refused> {
        let seq = *self.refresh.get(refresh).ok_or(Refused::Invalid)?;
        let issued = self.pairs.get(&seq).ok_or(Refused::Invalid)?.issued;
        if issued.elapsed() >= refresh_lifetime {
            return Err(Refused::RefreshExpired(issued + refresh_lifetime));
        }
        if seq < self.retired_below {
            return Err(Refused::OldRefreshToken);
        }
        if self
            .pairs
            .get(&self.next_seq)
            .is_some_and(|newest| !newest.renewable())
        {
            return Err(Refused::NotExpired);
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

    /// Every access token issued so far stops working; the refresh tokens stay valid (what a
    /// client meets when Exact refuses a token it has not renewed yet).
    pub fn revoke_access_tokens(&mut self) {
        self.access.clear();
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

    const MONTH: Duration = Duration::from_secs(30 * 24 * 3600);

    #[test]
    fn old_refresh_tokens_die_when_a_newer_pair_is_used() {
        let mut chain = Chain::default();
        // A zero lifetime: every pair may be renewed at once.
        let life = Duration::ZERO;
        let (_, r1) = chain.issue(life);
        let (_, r2) = chain.refresh(&r1, life, MONTH).unwrap();
        // Not used yet: r1 still works (a crash before saving r2 is survivable).
        let (a3, _r3) = chain.refresh(&r1, life, MONTH).unwrap();
        chain.pairs.get_mut(&3).unwrap().access_lifetime = MONTH;
        chain.authorize(&a3).unwrap();
        assert_eq!(
            chain.refresh(&r1, life, MONTH),
            Err(Refused::OldRefreshToken)
        );
        assert_eq!(
            chain.refresh(&r2, life, MONTH),
            Err(Refused::OldRefreshToken)
        );
    }

    #[test]
    fn a_refresh_waits_for_95_percent_of_the_newest_access_tokens_life() {
        let mut chain = Chain::default();
        let life = Duration::from_millis(200);
        let (_, r1) = chain.issue(life);
        assert_eq!(chain.refresh(&r1, life, MONTH), Err(Refused::NotExpired));
        std::thread::sleep(Duration::from_millis(190));
        assert!(chain.refresh(&r1, life, MONTH).is_ok());
    }

    #[test]
    fn an_unused_refresh_token_expires() {
        let mut chain = Chain::default();
        let (_, r1) = chain.issue(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(
            chain.refresh(&r1, Duration::ZERO, Duration::from_millis(1)),
            Err(Refused::RefreshExpired(_))
        ));
    }
}
