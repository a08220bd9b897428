//! Client-side pacing against a vendor's "N requests per window" quota: the SDK's sliding-window
//! limiter versus `governor`'s GCRA, the two ways crates.md suggests configuring it.
//!
//! Run: `cargo bench -p dsrhub-connector --bench limiter`
//!
//! Time is simulated (tokio's paused clock for the SDK limiter, governor's fake clock for
//! GCRA), so the numbers are exact and repeatable. For each limiter and job size it prints how
//! long the job takes and the most requests that fall into any one vendor window — anything
//! above the quota is a request the vendor answers with 429.

use std::num::NonZeroU32;
use std::time::Duration;

use dsrhub_connector::http::{Quota, RateLimiter};
use governor::clock::FakeRelativeClock;
use governor::{Quota as GQuota, RateLimiter as GLimiter};

const QUOTA: u32 = 150;
const WINDOW: Duration = Duration::from_secs(300);

/// The most sends in any window of length `WINDOW` (half-open), given sorted send times.
fn worst_window(times: &[Duration]) -> usize {
    times
        .iter()
        .map(|t| {
            times
                .iter()
                .filter(|u| **u >= *t && **u < *t + WINDOW)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn sliding_log(requests: usize) -> Vec<Duration> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let limiter = RateLimiter::new(Quota::new(QUOTA, WINDOW));
        let start = tokio::time::Instant::now();
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            limiter.acquire().await;
            times.push(start.elapsed());
        }
        times
    })
}

fn gcra(requests: usize, burst: u32) -> Vec<Duration> {
    let clock = FakeRelativeClock::default();
    let quota = GQuota::with_period(WINDOW / QUOTA)
        .unwrap()
        .allow_burst(NonZeroU32::new(burst).unwrap());
    let limiter = GLimiter::direct_with_clock(quota, clock.clone());
    let mut now = Duration::ZERO;
    let mut times = Vec::with_capacity(requests);
    while times.len() < requests {
        match limiter.check() {
            Ok(()) => times.push(now),
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(&clock));
                clock.advance(wait);
                now += wait;
            }
        }
    }
    times
}

fn main() {
    println!(
        "quota: {QUOTA} requests per {} s (Moneybird's)",
        WINDOW.as_secs()
    );
    println!(
        "{:<34} {:>8} {:>14} {:>20}",
        "limiter", "requests", "job takes (s)", "worst window (reqs)"
    );
    let mut rows = Vec::new();
    for requests in [40usize, 400] {
        for (name, times) in [
            ("sdk sliding window", sliding_log(requests)),
            ("governor GCRA, burst 1", gcra(requests, 1)),
            ("governor GCRA, burst = quota", gcra(requests, QUOTA)),
        ] {
            let took = times.last().copied().unwrap_or_default();
            let worst = worst_window(&times);
            println!(
                "{name:<34} {requests:>8} {:>14.1} {worst:>20}",
                took.as_secs_f64()
            );
            rows.push((name, requests, took, worst));
        }
    }
    let find = |name: &str, n: usize| {
        rows.iter()
            .find(|r| r.0 == name && r.1 == n)
            .copied()
            .unwrap()
    };
    let short_sdk = find("sdk sliding window", 40);
    let short_steady = find("governor GCRA, burst 1", 40);
    let long_burst = find("governor GCRA, burst = quota", 400);
    let long_sdk = find("sdk sliding window", 400);
    println!();
    println!(
        "short job (40 requests): GCRA burst 1 takes {:.0} s, the sliding window {:.0} s",
        short_steady.2.as_secs_f64(),
        short_sdk.2.as_secs_f64()
    );
    println!(
        "long job (400 requests): GCRA with a full burst puts {} requests in one window ({:.2}x the quota); the sliding window {} ({:.2}x)",
        long_burst.3,
        long_burst.3 as f64 / f64::from(QUOTA),
        long_sdk.3,
        long_sdk.3 as f64 / f64::from(QUOTA)
    );
}
