//! One runner per request: a lease in the ledger that every process honours.
//!
//! A run takes the lease before it calls any processor, renews it while it runs and gives it
//! back at the end; a second runner (another CLI, `dsrhub serve`'s scheduler) is refused and
//! told who holds it and until when. A runner that died leaves a lease that simply expires.
//! Plain SQL (`INSERT … ON CONFLICT … DO UPDATE … WHERE`) that PostgreSQL runs as well.

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};

use super::{audit, now, write_tx, Ledger};
use crate::error::Result;

/// Who holds a request's lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// The holder: host, process id and a random part.
    pub owner: String,
    /// When the lease runs out unless renewed.
    pub expires_at: Timestamp,
}

impl Ledger {
    /// Take request `id`'s lease for `owner` for `ttl`; `Err(holder)` when another owner holds
    /// a lease that has not expired.
    pub fn acquire_lease(
        &self,
        id: &str,
        owner: &str,
        ttl: std::time::Duration,
    ) -> Result<Result<(), LeaseHolder>> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now();
        let until = at + jiff::SignedDuration::try_from(ttl).unwrap_or_default();
        let taken = tx.execute(
            "INSERT INTO leases (request_id, owner, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (request_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
             WHERE leases.expires_at <= ?4 OR leases.owner = excluded.owner",
            params![id, owner, until.to_string(), at.to_string()],
        )?;
        if taken == 0 {
            let holder = tx.query_row(
                "SELECT owner, expires_at FROM leases WHERE request_id = ?1",
                [id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )?;
            return Ok(Err(LeaseHolder {
                owner: holder.0,
                expires_at: holder.1.parse().unwrap_or(until),
            }));
        }
        // Not audited: a lease is the runners' coordination, not an event of the request
        // (a refused command that only took a lease recorded nothing).
        tx.commit()?;
        Ok(Ok(()))
    }

    /// Take request `id`'s lease from `dead`, a holder known to have died, for `owner`;
    /// `false` when `dead` no longer holds it (another runner was quicker).
    pub fn take_over_lease(
        &self,
        id: &str,
        dead: &str,
        owner: &str,
        ttl: std::time::Duration,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let until = now() + jiff::SignedDuration::try_from(ttl).unwrap_or_default();
        let taken = tx.execute(
            "UPDATE leases SET owner = ?3, expires_at = ?4 WHERE request_id = ?1 AND owner = ?2",
            params![id, dead, owner, until.to_string()],
        )?;
        if taken == 1 {
            audit::append(
                &tx,
                Some(id),
                "lease.taken_over",
                &serde_json::json!({ "from": dead, "owner": owner, "until": until.to_string() }),
            )?;
        }
        tx.commit()?;
        Ok(taken == 1)
    }

    /// Extend `owner`'s lease of request `id` by `ttl` from now; `false` when it is not theirs
    /// any more (it expired and another runner took it).
    pub fn renew_lease(&self, id: &str, owner: &str, ttl: std::time::Duration) -> Result<bool> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let until = now() + jiff::SignedDuration::try_from(ttl).unwrap_or_default();
        let renewed = tx.execute(
            "UPDATE leases SET expires_at = ?3 WHERE request_id = ?1 AND owner = ?2",
            params![id, owner, until.to_string()],
        )?;
        tx.commit()?;
        Ok(renewed == 1)
    }

    /// Give back `owner`'s lease of request `id`.
    pub fn release_lease(&self, id: &str, owner: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        tx.execute(
            "DELETE FROM leases WHERE request_id = ?1 AND owner = ?2",
            params![id, owner],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Who holds request `id`'s lease now, if anyone.
    pub fn lease_holder(&self, id: &str) -> Result<Option<LeaseHolder>> {
        let row: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT owner, expires_at FROM leases WHERE request_id = ?1 AND expires_at > ?2",
                params![id, now().to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(owner, until)| {
            Some(LeaseHolder {
                owner,
                expires_at: until.parse().ok()?,
            })
        }))
    }
}
