//! The append-only, hash-chained audit log.
//!
//! Each entry's hash covers the previous entry's hash and its own fields, so removing,
//! reordering or editing an entry breaks the chain from there on ([`verify`] finds it).
//! SQLite triggers refuse UPDATE and DELETE on the table outright.

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

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
                "the audit log's hash chain is broken at entry {seq}"
            )));
        }
        prev = hash;
        count += 1;
    }
    Ok(count)
}
