//! Extensions of a request's deadline (GDPR art. 12(3)), each kept with its reason and who gave it.

use jiff::Timestamp;
use rusqlite::params;
use serde::Serialize;

use super::{audit, now, write_tx, Ledger};
use crate::error::Result;

/// One extension of the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    /// By how many months (0 in ledgers from before this was recorded).
    pub months: u32,
    /// The deadline it set.
    pub until: Timestamp,
    /// Why (told to the requester).
    pub reason: String,
    /// Who gave it.
    pub given_by: String,
    /// When it was recorded.
    pub at: Timestamp,
}

impl Ledger {
    /// Record an extension of request `id`'s deadline to `until`; the earlier ones are kept.
    pub fn record_extension(
        &self,
        id: &str,
        months: u32,
        until: Timestamp,
        reason: &str,
        given_by: &str,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        tx.execute(
            "INSERT INTO extensions (request_id, months, until, reason, given_by, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, months, until.to_string(), reason, given_by, at],
        )?;
        tx.execute(
            "UPDATE requests SET extended_due_at = ?2, extension_reason = ?3, updated_at = ?4 WHERE id = ?1",
            params![id, until.to_string(), reason, at],
        )?;
        audit::append(
            &tx,
            Some(id),
            "request.extended",
            &serde_json::json!({
                "months": months,
                "until": until.to_string(),
                "reason_sha256": audit::sha256_hex(reason.as_bytes()),
                "given_by": given_by,
            }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The extensions of request `id`, oldest first.
    pub fn extensions(&self, id: &str) -> Result<Vec<Extension>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT months, until, reason, given_by, at FROM extensions WHERE request_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(months, until, reason, given_by, at)| {
                Some(Extension {
                    months,
                    until: until.parse().ok()?,
                    reason,
                    given_by,
                    at: at.parse().ok()?,
                })
            })
            .collect())
    }
}
