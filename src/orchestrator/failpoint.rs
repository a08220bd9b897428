//! Crash injection for resume tests: `DSRHUB_FAILPOINT=after-plan` aborts the process right
//! after an erasure plan is recorded; `DSRHUB_FAILPOINT=after-action:N` after the N-th
//! executed action is recorded; `DSRHUB_FAILPOINT=after-call:N` after the N-th call to a
//! processor returned but before its outcome is recorded (the window where the vendor acted
//! and the ledger does not know yet). `abort()` skips every destructor, like a power cut; only
//! what the ledger committed survives. Unset in normal use.

use std::sync::atomic::{AtomicUsize, Ordering};

static ACTIONS: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

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

/// One more erase call returned from the processor; its outcome is not recorded yet.
pub fn after_call() {
    let done = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    let Some(spec) = configured() else { return };
    if spec
        .strip_prefix("after-call:")
        .and_then(|n| n.parse::<usize>().ok())
        == Some(done)
    {
        eprintln!("failpoint after-call:{done}: aborting");
        std::process::abort();
    }
}
