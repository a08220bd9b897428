//! Telling a person why a call waits.
//!
//! A call may wait before it is sent: for the vendor's quota ([`super::RateLimiter`]), after a
//! throttled or failed answer before it is sent again, for a batch's throttled sub-requests.
//! A caller that shows progress (the CLI's spinner per processor) runs a processor's work in
//! [`observed`]; every such wait of that work is then reported to it, when it starts and when
//! it ends. Outside [`observed`] nothing is reported. Task-local, so concurrent processors each
//! report to their own observer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Why a call waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitReason {
    /// The vendor's rate limit: its quota is spent for now, or it answered 429.
    RateLimit,
    /// The vendor answered with a server error or a timeout.
    Unavailable,
}

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WaitReason::RateLimit => "rate limit",
            WaitReason::Unavailable => "not answering, trying again",
        })
    }
}

/// One wait: how long, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// How long.
    pub duration: Duration,
    /// Why.
    pub reason: WaitReason,
}

/// What hears of waits: `Some` when one starts, `None` when it is over.
pub type Observer = Arc<dyn Fn(Option<Wait>) + Send + Sync>;

tokio::task_local! {
    static OBSERVER: Observer;
}

/// Waits shorter than this are not worth telling anyone about.
const WORTH_TELLING: Duration = Duration::from_millis(900);

/// Run `work`, reporting its waits to `observer`.
pub async fn observed<F: Future>(observer: Observer, work: F) -> F::Output {
    OBSERVER.scope(observer, work).await
}

/// Sleep for `duration`, telling the observer (if any) why.
pub(crate) async fn wait(duration: Duration, reason: WaitReason) {
    let told = duration >= WORTH_TELLING
        && OBSERVER
            .try_with(|o| o(Some(Wait { duration, reason })))
            .is_ok();
    tokio::time::sleep(duration).await;
    if told {
        let _ = OBSERVER.try_with(|o| o(None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test(start_paused = true)]
    async fn waits_are_reported_inside_observed_only() {
        let seen: Arc<Mutex<Vec<Option<Wait>>>> = Arc::default();
        let record = seen.clone();
        let observer: Observer = Arc::new(move |w| record.lock().unwrap().push(w));
        observed(observer, async {
            wait(Duration::from_secs(6), WaitReason::RateLimit).await;
            // Too short to mention.
            wait(Duration::from_millis(10), WaitReason::Unavailable).await;
        })
        .await;
        wait(Duration::from_secs(6), WaitReason::RateLimit).await;
        assert_eq!(
            *seen.lock().unwrap(),
            [
                Some(Wait {
                    duration: Duration::from_secs(6),
                    reason: WaitReason::RateLimit
                }),
                None
            ]
        );
    }
}
