//! The hub's own retention, as the privacy policy sets it for requests and correspondence:
//! an access export is removed `[hub] export_retention_days` after its request closed (it was
//! delivered then), and a request is reduced to its evidence
//! `policy.correspondence_retention_months` after it closed: its folder of reports, letters
//! and export removed, its free texts dropped from the ledger (`ledger::retention`). The audit
//! log keeps every step.

use jiff::{Span, Timestamp};
use serde::Serialize;

use super::Hub;
use crate::error::{Error, Result};
use crate::ledger::RequestKind;

/// What one round removed (or, as a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OwnDataPurge {
    /// Access requests whose export was removed.
    pub exports_removed: Vec<String>,
    /// Requests reduced to their evidence.
    pub requests_reduced: Vec<String>,
}

impl Hub {
    /// Remove what the policy no longer lets the hub keep at `now`; with `dry_run`, only say
    /// what that is.
    pub fn purge_own_data(&self, now: Timestamp, dry_run: bool) -> Result<OwnDataPurge> {
        let mut done = OwnDataPurge::default();
        let zoned = now
            .in_tz(&self.timezone)
            .map_err(|e| Error::Config(format!("hub.timezone: {e}")))?;
        let months = Span::new().months(self.policy.correspondence_retention_months);
        let reduce_before = zoned
            .checked_sub(months)
            .map_err(|e| Error::Config(format!("policy.correspondence_retention_months: {e}")))?
            .timestamp();
        for closed in self.ledger.reductions_due(reduce_before)? {
            done.requests_reduced.push(closed.id.clone());
            if dry_run {
                continue;
            }
            let folder = self.reports_dir.join(&closed.id);
            let files = count_files(&folder);
            match std::fs::remove_dir_all(&folder) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("cannot remove", &folder)(e));
                }
                _ => {}
            }
            self.ledger.reduce_to_evidence(&closed.id, files)?;
        }
        let days = Span::new().days(i64::from(self.export_retention_days));
        let exports_before = zoned
            .checked_sub(days)
            .map_err(|e| Error::Config(format!("hub.export_retention_days: {e}")))?
            .timestamp();
        for closed in self.ledger.exports_due(exports_before)? {
            debug_assert_eq!(closed.kind, RequestKind::Access);
            let zip = self.reports_dir.join(&closed.id).join("access-export.zip");
            if !zip.exists() {
                // Written elsewhere (`--out`) or never: nothing of ours to remove.
                if !dry_run {
                    self.ledger.export_removed(&closed.id, None)?;
                }
                continue;
            }
            done.exports_removed.push(closed.id.clone());
            if dry_run {
                continue;
            }
            let sha256 = crate::report::export::sha256_file(&zip)?;
            std::fs::remove_file(&zip).map_err(Error::io("cannot remove", &zip))?;
            self.ledger.export_removed(&closed.id, Some(&sha256))?;
        }
        Ok(done)
    }
}

fn count_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                count_files(&path)
            } else {
                1
            }
        })
        .sum()
}
