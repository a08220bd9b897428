//! After a soft deletion's restorable period: ask the processor whether it really purged the
//! record, and keep the answer as evidence (see `ledger::purges`).

use jiff::civil::Date;
use serde::Serialize;

use super::Hub;
use crate::error::Result;

/// What one round of purge checks found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeChecks {
    /// Records the processor no longer holds: purged as it said.
    pub purged: usize,
    /// Records still restorable after their date: a person must follow up with the processor.
    pub still_restorable: usize,
    /// Records that could not be checked now (processor not configured or not reachable);
    /// asked again on the next round.
    pub unchecked: usize,
}

impl Hub {
    /// Check every soft deletion whose restorable period ended before `today`.
    pub async fn check_purges(&self, today: Date) -> Result<PurgeChecks> {
        let mut checks = PurgeChecks::default();
        for deletion in self.ledger.soft_deletions_due(today)? {
            let Some(connector) = self.connector(&deletion.processor) else {
                checks.unchecked += 1;
                continue;
            };
            match connector.still_restorable(&deletion.reference).await {
                Ok(still) => {
                    self.ledger.record_purge_check(&deletion, still)?;
                    if still {
                        tracing::warn!(
                            processor = %deletion.processor,
                            restorable_until = %deletion.restorable_until,
                            "a soft-deleted record is still restorable after its purge date"
                        );
                        checks.still_restorable += 1;
                    } else {
                        checks.purged += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!(processor = %deletion.processor, error = %e, "purge check failed");
                    checks.unchecked += 1;
                }
            }
        }
        Ok(checks)
    }
}
