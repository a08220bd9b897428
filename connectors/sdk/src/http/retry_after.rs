//! Parsing the many ways vendors say "wait".
//!
//! - `Retry-After: 41` (delta seconds, RFC 9110; Microsoft Graph);
//! - `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT` (HTTP date);
//! - `Retry-After: 1795000000` (Moneybird's spec: the epoch second the window resets);
//! - `X-RateLimit-Minutely-Reset: 1795000000000` (Exact Online: epoch milliseconds).
//!
//! One parser accepts all of them: a plain number above 10^12 is epoch milliseconds, above
//! 10^9 epoch seconds, anything smaller delta seconds.

use std::time::Duration;

use jiff::Timestamp;

const EPOCH_SECONDS_FLOOR: u64 = 1_000_000_000;
const EPOCH_MILLIS_FLOOR: u64 = 1_000_000_000_000;

/// How long to wait, given a header value and the current time. `None` when the value is not
/// understood. A moment in the past means "no wait" (`Some(ZERO)`).
pub fn parse_wait(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(number) = value.parse::<u64>() {
        let until_ms = if number >= EPOCH_MILLIS_FLOOR {
            number
        } else if number >= EPOCH_SECONDS_FLOOR {
            number.saturating_mul(1000)
        } else {
            return Some(Duration::from_secs(number));
        };
        let now_ms = u64::try_from(now.as_millisecond()).unwrap_or(0);
        return Some(Duration::from_millis(until_ms.saturating_sub(now_ms)));
    }
    if let Ok(fractional) = value.parse::<f64>() {
        if fractional.is_finite() && fractional >= 0.0 && fractional < EPOCH_SECONDS_FLOOR as f64 {
            return Some(Duration::from_secs_f64(fractional));
        }
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> Timestamp {
        "2026-11-25T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(parse_wait("41", now()), Some(Duration::from_secs(41)));
        assert_eq!(parse_wait(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(parse_wait("1.5", now()), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn http_date() {
        assert_eq!(
            parse_wait("Wed, 25 Nov 2026 10:00:30 GMT", now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_wait("Wed, 25 Nov 2026 09:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn epoch_seconds_and_millis() {
        let now_s = now().as_second() as u64;
        assert_eq!(
            parse_wait(&(now_s + 12).to_string(), now()),
            Some(Duration::from_secs(12))
        );
        let now_ms = now().as_millisecond() as u64;
        assert_eq!(
            parse_wait(&(now_ms + 2500).to_string(), now()),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            parse_wait(&(now_s - 100).to_string(), now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_none() {
        for bad in ["soon", "", "-5", "NaN", "inf"] {
            assert_eq!(parse_wait(bad, now()), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(value in ".{0,40}") {
            let _ = parse_wait(&value, now());
        }
    }
}
