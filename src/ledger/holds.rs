//! Legal holds: e-mail addresses whose records no erasure erases (a dispute, an
//! investigation, a claim). Stored as the SHA-256 of the normalised address with a masked
//! hint; adding and lifting a hold are audited.

use jiff::Timestamp;
use rusqlite::params;
use serde::Serialize;

use super::{audit, now, write_tx, Ledger};
use crate::error::{Error, Result};

/// One hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    /// SHA-256 of the normalised address.
    pub identifier_sha256: String,
    /// The address masked (`s•••r@e•••e.nl`).
    pub hint: String,
    /// Why.
    pub reason: String,
    /// Who placed it.
    pub added_by: String,
    /// When.
    pub added_at: Timestamp,
}

/// The hash a hold is kept under: of the address as every request normalises it, in lower case.
pub fn hold_key(email: &str) -> Result<String> {
    let normal = crate::identifiers::normalize_email(email).ok_or_else(|| {
        Error::Usage(
            "address: not an e-mail address (it needs a local part, an at sign and a domain)"
                .into(),
        )
    })?;
    Ok(audit::sha256_hex(normal.to_lowercase().as_bytes()))
}

/// The hold keys of `subject`'s addresses (those that are addresses at all).
pub fn subject_hold_keys(subject: &dsrhub_connector::Subject) -> Vec<String> {
    subject
        .emails
        .iter()
        .filter_map(|e| hold_key(e).ok())
        .collect()
}

impl Ledger {
    /// Place a hold on `email` for `reason`, by `by`.
    pub fn add_hold(&self, email: &str, reason: &str, by: &str) -> Result<()> {
        let key = hold_key(email)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::Usage(
                "--reason: say why the records are held".into(),
            ));
        }
        let hint = crate::identifiers::mask_email(email.trim());
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let added = tx.execute(
            "INSERT INTO holds (identifier_sha256, hint, reason, added_by, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (identifier_sha256) DO NOTHING",
            params![key, hint, reason, by, now().to_string()],
        )?;
        if added == 0 {
            return Err(Error::Usage(format!("{hint} is on hold already")));
        }
        audit::append(
            &tx,
            None,
            "hold.added",
            &serde_json::json!({
                "identifier_sha256": key,
                "reason_sha256": audit::sha256_hex(reason.as_bytes()),
                "by": by,
            }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Lift the hold on `email`.
    pub fn remove_hold(&self, email: &str, by: &str) -> Result<()> {
        let key = hold_key(email)?;
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        if tx.execute("DELETE FROM holds WHERE identifier_sha256 = ?1", [&key])? == 0 {
            return Err(Error::Usage(
                "that address is not on hold; `dsrhub hold list` shows the holds".into(),
            ));
        }
        audit::append(
            &tx,
            None,
            "hold.removed",
            &serde_json::json!({ "identifier_sha256": key, "by": by }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Whether `email` is on hold.
    pub fn is_held(&self, email: &str) -> Result<bool> {
        self.any_held(&hold_key(email).into_iter().collect::<Vec<_>>())
    }

    /// Whether any of `keys` is on hold.
    pub fn any_held(&self, keys: &[String]) -> Result<bool> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT count(*) FROM holds WHERE identifier_sha256 = ?1")?;
        for key in keys {
            if stmt.query_row([key], |r| r.get::<_, i64>(0))? > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether there is any legal hold at all.
    pub fn has_holds(&self) -> Result<bool> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM holds", [], |r| r.get(0))?;
        Ok(n > 0)
    }

    /// Every hold, oldest first.
    pub fn holds(&self) -> Result<Vec<Hold>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT identifier_sha256, hint, reason, added_by, added_at FROM holds ORDER BY added_at, hint",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(identifier_sha256, hint, reason, added_by, at)| {
                Ok(Hold {
                    identifier_sha256,
                    hint,
                    reason,
                    added_by,
                    added_at: at
                        .parse()
                        .map_err(|_| Error::Ledger("a hold has an unreadable time".into()))?,
                })
            })
            .collect()
    }

    /// The batch request `id` belongs to, if any.
    pub fn batch_of(&self, id: &str) -> Result<Option<super::BatchRow>> {
        let batch: Option<String> =
            self.conn()
                .query_row("SELECT batch_id FROM requests WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?;
        batch.map(|b| self.batch(&b)).transpose()
    }
}
