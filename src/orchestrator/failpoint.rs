//! Crash injection for resume tests: `DSRHUB_FAILPOINT=after-plan` aborts the process right
//! after an erasure plan is recorded; `DSRHUB_FAILPOINT=after-action:N` after the N-th
//! executed action. `abort()` skips every destructor, like a power cut; only what the ledger
//! committed survives. Unset in normal use.

use std::sync::atomic::{AtomicUsize, Ordering};

static ACTIONS: AtomicUsize = AtomicUsize::new(0);

fn configured() -> Option<String> {
    std::env::var("DSRHUB_FAILPOINT").ok()
}

/// The erasure plan was recorded.
pub fn after_plan() {
    if configured().as_deref() == Some("after-plan") {
        eprintln!("failpoint after-plan: aborting");
        std::process::abort();
    }
}

/// One more action was executed and recorded.
pub fn after_action() {
    let done = ACTIONS.fetch_add(1, Ordering::SeqCst) + 1;
    let Some(spec) = configured() else { return };
    if spec
        .strip_prefix("after-action:")
        .and_then(|n| n.parse::<usize>().ok())
        == Some(done)
    {
        eprintln!("failpoint after-action:{done}: aborting");
        std::process::abort();
    }
}
