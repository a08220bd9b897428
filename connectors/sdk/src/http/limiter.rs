//! Client-side pacing: a vendor's "N requests per window" quota and a concurrency cap.
//!
//! Why not `governor`: its GCRA algorithm spreads a quota evenly. With a burst of N it lets
//! up to 2N−1 requests through in one vendor window (a full burst, then one per W/N), so it
//! would provoke exactly the 429s a fixed- or sliding-window vendor counter answers; without a
//! burst it paces Moneybird to one request every 2 s even when the window is empty. A sliding
//! log of the last N send times guarantees "at most N in any window of length W" and still
//! lets a short job run at full speed. A small safety margin absorbs clock and network skew
//! between our count and the vendor's.
//!
//! The vendor's own word wins over our count: when an answer says no requests remain until a
//! reset time, [`RateLimiter::pause_until`] holds every caller until then.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// "`requests` per `per_seconds`".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length in seconds.
    pub per_seconds: f64,
}

impl Quota {
    /// `requests` per `window`.
    pub fn new(requests: u32, window: Duration) -> Self {
        Quota {
            requests,
            per_seconds: window.as_secs_f64(),
        }
    }

    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::from_secs_f64(self.per_seconds.max(0.0))
    }

    /// Checks the values make sense; `field` names the setting in errors.
    pub fn validate(&self, field: &str) -> Result<(), String> {
        if self.requests == 0 {
            return Err(format!("{field}.requests must be at least 1"));
        }
        if !(self.per_seconds.is_finite() && self.per_seconds > 0.0) {
            return Err(format!("{field}.per_seconds must be a positive number"));
        }
        Ok(())
    }
}

#[derive(Debug)]
struct State {
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

/// At most `quota.requests` calls to [`RateLimiter::acquire`] return within any window.
#[derive(Debug)]
pub struct RateLimiter {
    quota: Quota,
    window: Duration,
    state: Mutex<State>,
}

impl RateLimiter {
    /// A limiter for `quota`.
    pub fn new(quota: Quota) -> Self {
        let base = quota.window();
        let margin = (base / 50).max(Duration::from_millis(50));
        RateLimiter {
            quota,
            window: base + margin,
            state: Mutex::new(State {
                sent: VecDeque::new(),
                paused_until: None,
            }),
        }
    }

    /// The quota this limiter enforces.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Wait until a request may be sent, and count it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().expect("limiter lock");
                let now = Instant::now();
                match state.paused_until {
                    Some(until) if until > now => Some(until - now),
                    _ => {
                        state.paused_until = None;
                        while state
                            .sent
                            .front()
                            .is_some_and(|t| now.duration_since(*t) >= self.window)
                        {
                            state.sent.pop_front();
                        }
                        if state.sent.len() < self.quota.requests as usize {
                            state.sent.push_back(now);
                            None
                        } else {
                            state
                                .sent
                                .front()
                                .map(|oldest| (*oldest + self.window) - now)
                        }
                    }
                }
            };
            match wait {
                None => return,
                Some(wait) => super::waits::wait(wait, super::waits::WaitReason::RateLimit).await,
            }
        }
    }

    /// Hold every caller until `wait` from now (the vendor said its window is spent).
    pub fn pause_for(&self, wait: Duration) {
        self.pause_until(Instant::now() + wait);
    }

    /// Hold every caller until `until`.
    pub fn pause_until(&self, until: Instant) {
        let mut state = self.state.lock().expect("limiter lock");
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_quota_in_any_window() {
        let limiter = RateLimiter::new(Quota::new(5, Duration::from_secs(10)));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..17 {
            limiter.acquire().await;
            times.push(Instant::now() - start);
        }
        // The first five go at once: a short job is not slowed down.
        assert!(times[..5].iter().all(|t| *t == Duration::ZERO));
        for (i, t) in times.iter().enumerate() {
            let in_window = times
                .iter()
                .filter(|u| **u >= *t && **u < *t + Duration::from_secs(10))
                .count();
            assert!(
                in_window <= 5,
                "request {i} at {t:?} starts a window with {in_window}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_vendor_pause_holds_everyone() {
        let limiter = RateLimiter::new(Quota::new(100, Duration::from_secs(1)));
        limiter.pause_for(Duration::from_secs(3));
        let start = Instant::now();
        limiter.acquire().await;
        assert!(Instant::now() - start >= Duration::from_secs(3));
    }

    #[test]
    fn quota_validation_names_the_field() {
        let err = Quota {
            requests: 0,
            per_seconds: 1.0,
        }
        .validate("processors.x.http.rate_limit")
        .unwrap_err();
        assert!(err.starts_with("processors.x.http.rate_limit.requests"));
        assert!(Quota {
            requests: 1,
            per_seconds: f64::NAN
        }
        .validate("q")
        .is_err());
    }
}
