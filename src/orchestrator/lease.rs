//! The run lease: one runner per request across every process sharing the ledger.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::ledger::Ledger;

/// How long a lease lasts unless renewed: long enough to ride out a stalled disk, short
/// enough that a crashed runner's request is free again soon.
const TTL: Duration = Duration::from_secs(120);
/// How often a running hub renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(30);

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this host".into())
}

/// This process's name as a lease holder: host, process id and a random part (two hubs in one
/// process, as in tests, are two holders).
pub(super) fn owner_name() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{} pid {} ({})",
        host_name(),
        std::process::id(),
        &random[..8]
    )
}

/// Whether `owner` names a process on this host that no longer runs (it crashed or was
/// killed): its lease may be taken over at once instead of after its expiry. Only where
/// `/proc` shows processes; a holder on another host is trusted until its lease runs out.
fn died_here(owner: &str) -> bool {
    let Some((host, rest)) = owner.split_once(" pid ") else {
        return false;
    };
    let Some(pid) = rest
        .split_whitespace()
        .next()
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return false;
    };
    host == host_name()
        && pid != std::process::id()
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A held lease, renewed in the background while held and given back when dropped.
pub(super) struct RunLease {
    ledger: Arc<Ledger>,
    id: String,
    owner: String,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

impl RunLease {
    /// Take request `id`'s lease for `owner`, or fail naming who holds it and until when.
    pub(super) fn take(ledger: &Arc<Ledger>, id: &str, owner: &str) -> Result<RunLease> {
        // Check that the request exists first, for a clear error.
        ledger.request(id)?;
        if let Err(holder) = ledger.acquire_lease(id, owner, TTL)? {
            let taken_over = died_here(&holder.owner)
                && ledger.take_over_lease(id, &holder.owner, owner, TTL)?;
            if taken_over {
                tracing::info!(request = %id, "took over the lease of a runner that died");
            } else {
                return Err(Error::Usage(format!(
                "request `{id}` is being run by {} (lease until {}); wait for that run to end, \
                 or for the lease to run out if that process died",
                    holder.owner, holder.expires_at
                )));
            }
        }
        let renewal = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            let (ledger, id, owner) = (ledger.clone(), id.to_string(), owner.to_string());
            runtime.spawn(async move {
                let mut every = tokio::time::interval(RENEW_EVERY);
                every.tick().await;
                loop {
                    every.tick().await;
                    let (l, i, o) = (ledger.clone(), id.clone(), owner.clone());
                    let renewed =
                        tokio::task::spawn_blocking(move || l.renew_lease(&i, &o, TTL)).await;
                    if !matches!(renewed, Ok(Ok(true))) {
                        tracing::warn!(request = %id, "the run's lease could not be renewed");
                    }
                }
            })
        });
        Ok(RunLease {
            ledger: ledger.clone(),
            id: id.to_string(),
            owner: owner.to_string(),
            renewal,
        })
    }
}

impl Drop for RunLease {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        if let Err(e) = self.ledger.release_lease(&self.id, &self.owner) {
            // It simply runs out after its TTL.
            tracing::warn!(request = %self.id, error = %e, "the run's lease could not be given back");
        }
    }
}
