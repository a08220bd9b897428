//! The append-only, hash-chained audit log.
//!
//! Each entry's hash covers the previous entry's hash and its own fields, so removing,
//! reordering or editing an entry breaks the chain from there on ([`verify`] finds it).
//! SQLite triggers refuse UPDATE and DELETE on the table outright.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One entry of the audit log, as stored. `hash` is SHA-256 over `prev_hash`, `at`,
/// `request_id` (empty when none), `event` and `detail` (the JSON text as stored), each
/// preceded by its length in bytes as a big-endian u64, so an auditor can recompute it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Position in the log (1, 2, …).
    pub seq: i64,
    /// When it was written (RFC 3339, UTC).
    pub at: String,
    /// The request it concerns, if any.
    pub request_id: Option<String>,
    /// What happened (`request.received`, `plan.approved`, `item.done`, …).
    pub event: String,
    /// Ids, counts, hashes: never personal data.
    pub detail: serde_json::Value,
    /// The hash of the entry before it (64 zeros for the first).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// The last entry of the chain: what a report quotes so a later edit of the log shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// Its position.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn entry_hash(prev: &str, at: &str, request_id: Option<&str>, event: &str, detail: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [prev, at, request_id.unwrap_or(""), event, detail] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Append one entry inside the caller's transaction.
pub fn append(
    conn: &Connection,
    request_id: Option<&str>,
    event: &str,
    detail: &serde_json::Value,
) -> rusqlite::Result<()> {
    let prev: String = conn
        .query_row(
            "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| GENESIS.to_string());
    let at = super::now().to_string();
    let detail = detail.to_string();
    let hash = entry_hash(&prev, &at, request_id, event, &detail);
    conn.execute(
        "INSERT INTO audit (at, request_id, event, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![at, request_id, event, detail, prev, hash],
    )?;
    Ok(())
}

/// One row of `SELECT seq, at, request_id, event, detail, prev_hash, hash`.
fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let detail: String = r.get(4)?;
    Ok(AuditEntry {
        seq: r.get(0)?,
        at: r.get(1)?,
        request_id: r.get(2)?,
        event: r.get(3)?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        prev_hash: r.get(5)?,
        hash: r.get(6)?,
    })
}

/// The entries of request `id` (every entry when `None`), in order; only events starting
/// with `event_prefix` when one is given (`"reply."`).
pub fn entries(
    conn: &Connection,
    id: Option<&str>,
    event_prefix: Option<&str>,
) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, request_id, event, detail, prev_hash, hash FROM audit
         WHERE (?1 IS NULL OR request_id = ?1) AND (?2 IS NULL OR substr(event, 1, length(?2)) = ?2)
         ORDER BY seq",
    )?;
    let rows = stmt.query_map(rusqlite::params![id, event_prefix], entry)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The entries of request `id` but those about single records (`item.*`), in order, and how
/// many of those there are.
pub fn timeline(conn: &Connection, id: &str) -> Result<(Vec<AuditEntry>, usize)> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, request_id, event, detail, prev_hash, hash FROM audit
         WHERE request_id = ?1 AND substr(event, 1, 5) != 'item.' ORDER BY seq",
    )?;
    let rows = stmt.query_map([id], entry)?;
    let entries = rows.collect::<rusqlite::Result<_>>()?;
    let items: i64 = conn.query_row(
        "SELECT count(*) FROM audit WHERE request_id = ?1 AND substr(event, 1, 5) = 'item.'",
        [id],
        |r| r.get(0),
    )?;
    Ok((entries, usize::try_from(items).unwrap_or(0)))
}

/// The chain's last entry; `None` for an empty log.
pub fn head(conn: &Connection) -> Result<Option<ChainHead>> {
    Ok(conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| {
                Ok(ChainHead {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                })
            },
        )
        .optional()?)
}

/// The position of the entry whose hash is `hash` (a head quoted by an earlier report).
pub fn position_of(conn: &Connection, hash: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT seq FROM audit WHERE hash = ?1", [hash], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Walk the chain; the number of entries, or the first broken one.
pub fn verify(conn: &Connection) -> Result<usize> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, request_id, event, detail, prev_hash, hash FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let at: String = row.get(1)?;
        let request_id: Option<String> = row.get(2)?;
        let event: String = row.get(3)?;
        let detail: String = row.get(4)?;
        let prev_hash: String = row.get(5)?;
        let hash: String = row.get(6)?;
        if prev_hash != prev
            || hash != entry_hash(&prev, &at, request_id.as_deref(), &event, &detail)
        {
            return Err(Error::Ledger(format!(
                "the audit log's hash chain is broken at entry {seq}: an entry was edited, \
                 removed or reordered; nothing was done (`dsrhub audit --verify` shows it)"
            )));
        }
        prev = hash;
        count += 1;
    }
    Ok(count)
}
