//! The hub's own retention: what the ledger keeps of a closed request, and for how long.
//!
//! At closure the identifiers and the identity note go (`Ledger::purge_subject`). After
//! `export_retention_days` the access export is removed; after the policy's correspondence
//! period the request is reduced to its evidence: ids, hashes, counts, dates and the audit log,
//! without the free texts that may describe the person (a record's note, detail and descriptor,
//! a task's error text, an extension's reason, kept as its hash).

use jiff::Timestamp;
use rusqlite::params;

use super::{audit, now, write_tx, Ledger};
use crate::error::Result;

/// A closed request whose export or texts are due to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The request.
    pub id: String,
    /// Access or erasure.
    pub kind: super::RequestKind,
    /// When it closed.
    pub closed_at: Timestamp,
}

impl Ledger {
    /// Closed access requests whose export has not been removed yet, closed before `before`.
    pub fn exports_due(&self, before: Timestamp) -> Result<Vec<Closed>> {
        self.closed_where(
            "kind = 'access' AND export_removed_at IS NULL AND reduced_at IS NULL",
            before,
        )
    }

    /// Closed requests not reduced to their evidence yet, closed before `before`.
    pub fn reductions_due(&self, before: Timestamp) -> Result<Vec<Closed>> {
        self.closed_where("reduced_at IS NULL", before)
    }

    fn closed_where(&self, condition: &str, before: Timestamp) -> Result<Vec<Closed>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT id, kind, closed_at FROM requests
             WHERE closed_at IS NOT NULL AND closed_at < ?1 AND {condition} ORDER BY closed_at"
        ))?;
        let rows = stmt.query_map([before.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, closed_at) = row?;
            let (Some(kind), Ok(closed_at)) = (super::RequestKind::parse(&kind), closed_at.parse())
            else {
                continue;
            };
            out.push(Closed {
                id,
                kind,
                closed_at,
            });
        }
        Ok(out)
    }

    /// Record that request `id`'s export (`sha256`, `None` when there was no file) was removed.
    pub fn export_removed(&self, id: &str, sha256: Option<&str>) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        tx.execute(
            "UPDATE requests SET export_removed_at = ?2 WHERE id = ?1",
            params![id, at],
        )?;
        audit::append(
            &tx,
            Some(id),
            "export.removed",
            &serde_json::json!({ "sha256": sha256 }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Reduce closed request `id` to its evidence: every free text that may describe the
    /// person goes (records' notes, details and descriptors, tasks' error texts, extension
    /// reasons — kept as their hashes); ids, actions,
    /// outcomes, bases, dates, counts and the audit log stay. `files` were removed with it.
    pub fn reduce_to_evidence(&self, id: &str, files: usize) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        tx.execute(
            "UPDATE items SET note = NULL, detail = NULL, descriptor = '{}' WHERE request_id = ?1",
            [id],
        )?;
        tx.execute("UPDATE tasks SET error = NULL WHERE request_id = ?1", [id])?;
        let reasons: Vec<(i64, String)> = {
            let mut stmt = tx.prepare("SELECT id, reason FROM extensions WHERE request_id = ?1")?;
            let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (row, reason) in reasons {
            tx.execute(
                "UPDATE extensions SET reason = ?2 WHERE id = ?1",
                params![
                    row,
                    format!("reduced; sha256 {}", audit::sha256_hex(reason.as_bytes()))
                ],
            )?;
        }
        tx.execute(
            "UPDATE requests SET extension_reason = NULL, identity_verification = '', reduced_at = ?2
             WHERE id = ?1",
            params![id, at],
        )?;
        super::targets::keep_keys_while_retained(&tx, id)?;
        tx.execute("DELETE FROM subjects WHERE request_id = ?1", [id])?;
        audit::append(
            &tx,
            Some(id),
            "request.reduced",
            &serde_json::json!({ "files_removed": files }),
        )?;
        tx.commit()?;
        Ok(())
    }
}
