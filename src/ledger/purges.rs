//! Soft deletions: records a processor removed from its live data but keeps restorable until a
//! date (a Microsoft 365 user stays 30 days in `directory/deletedItems`, and the hub's
//! application permissions cannot purge it there). The erasure reports "soft-deleted until";
//! after that date the hub asks the processor again and records whether the purge happened.

use jiff::civil::Date;
use jiff::Timestamp;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{audit, mark_in, now, write_tx, ItemRow, ItemState, Ledger};
use crate::error::Result;
use dsrhub_connector::RecordRef;

/// One soft-deleted record and what the checks after its date found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftDeletion {
    /// The item it belongs to.
    pub item_id: i64,
    /// The request that erased it.
    pub request_id: String,
    /// The processor holding it.
    pub processor: String,
    /// Which record.
    pub reference: RecordRef,
    /// The last day the processor keeps it restorable.
    pub restorable_until: Date,
    /// When it was last checked again.
    pub checked_at: Option<Timestamp>,
    /// When a check found it purged.
    pub purged_at: Option<Timestamp>,
}

impl Ledger {
    /// Record `item` as erased by a soft deletion that stays restorable until `until`: the
    /// item's outcome (`deleted`, with `detail`) and the soft deletion in one transaction.
    pub fn mark_soft_deleted(&self, item: &ItemRow, detail: &str, until: Date) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        mark_in(
            &tx,
            item,
            ItemState::Done,
            Some("deleted"),
            Some(detail),
            &at,
        )?;
        tx.execute(
            "INSERT INTO soft_deletions (item_id, request_id, processor, reference, restorable_until)
             SELECT id, request_id, processor, ?2, ?3 FROM items WHERE id = ?1
             ON CONFLICT (item_id) DO UPDATE SET restorable_until = excluded.restorable_until",
            params![
                item.id,
                serde_json::to_string(&item.reference).expect("a reference serialises"),
                until.to_string()
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Soft deletions whose restorable period is over by `today` and whose purge no check has
    /// confirmed yet, oldest first.
    pub fn soft_deletions_due(&self, today: Date) -> Result<Vec<SoftDeletion>> {
        self.soft_deletions_where(
            "purged_at IS NULL AND restorable_until < ?1",
            &today.to_string(),
        )
    }

    /// The soft deletions of request `id`.
    pub fn soft_deletions(&self, id: &str) -> Result<Vec<SoftDeletion>> {
        self.soft_deletions_where("request_id = ?1", id)
    }

    fn soft_deletions_where(&self, condition: &str, value: &str) -> Result<Vec<SoftDeletion>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT item_id, request_id, processor, reference, restorable_until, checked_at, purged_at
             FROM soft_deletions WHERE {condition} ORDER BY restorable_until, item_id"
        ))?;
        let rows = stmt
            .query_map([value], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let stamp = |t: Option<String>| t.and_then(|t| t.parse::<Timestamp>().ok());
        Ok(rows
            .into_iter()
            .filter_map(
                |(item_id, request_id, processor, reference, until, checked, purged)| {
                    Some(SoftDeletion {
                        item_id,
                        request_id,
                        processor,
                        reference: serde_json::from_str(&reference).ok()?,
                        restorable_until: until.parse().ok()?,
                        checked_at: stamp(checked),
                        purged_at: stamp(purged),
                    })
                },
            )
            .collect())
    }

    /// Record a check of a soft deletion after its date: `still_restorable` is what the
    /// processor answered. Audited either way; a record still restorable after its date is a
    /// warning a person must follow up.
    pub fn record_purge_check(
        &self,
        deletion: &SoftDeletion,
        still_restorable: bool,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        tx.execute(
            "UPDATE soft_deletions SET checked_at = ?2,
                 purged_at = CASE WHEN ?3 THEN purged_at ELSE ?2 END
             WHERE item_id = ?1",
            params![deletion.item_id, at, still_restorable],
        )?;
        let event = if still_restorable {
            "item.still_restorable"
        } else {
            "item.purge_confirmed"
        };
        audit::append(
            &tx,
            Some(&deletion.request_id),
            event,
            &serde_json::json!({
                "processor": deletion.processor,
                "record": deletion.reference.to_string(),
                "restorable_until": deletion.restorable_until.to_string(),
            }),
        )?;
        tx.commit()?;
        Ok(())
    }
}
