//! Records an erasure acts on by id instead of searching for a subject: what earlier requests
//! kept for a legal duty, once that duty ended (the sweep's `retained_expired` rule).
//!
//! A closed request's identifiers are purged, but its items keep each record's id, action and
//! `retain_until` as evidence. When that date has passed, the sweep opens a request *targeted*
//! at those records: it has no subject, and its "discovery" looks each record up by id at the
//! processor (`Connector::lookup`). A legal hold must still cover such records, so a closed
//! request with retained records keeps the hold keys (SHA-256, as `holds`) of its addresses
//! while it has retained records nobody has acted on yet: `retained_keys`.

use dsrhub_connector::{RecordRef, Subject};
use jiff::civil::Date;
use jiff::Timestamp;
use rusqlite::{params, Transaction};
use serde::Serialize;

use super::{audit, IdentityNote, Ledger, NewTask, RequestKind};
use crate::error::Result;

/// A record an earlier, closed request kept, whose retention has ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expired {
    /// The earlier request's item that kept it.
    pub item: i64,
    /// The earlier request.
    pub request_id: String,
    /// Where it is.
    pub processor: String,
    /// Which record.
    pub reference: RecordRef,
    /// Why it was kept.
    pub basis: Option<String>,
    /// The last day it had to be kept.
    pub retain_until: Date,
}

/// A record a targeted request acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where it is.
    pub processor: String,
    /// Which record.
    pub reference: RecordRef,
    /// The earlier request's item that kept it, and that request: for kept records.
    pub kept_by: Option<(i64, String)>,
    /// Whether the rule that selected it decided its retention has ended, so the record's own
    /// retention (mail kept as correspondence) no longer counts: a rejected applicant's.
    pub retention_decided: bool,
}

impl From<&Expired> for Target {
    fn from(e: &Expired) -> Self {
        Target {
            processor: e.processor.clone(),
            reference: e.reference.clone(),
            kept_by: Some((e.item, e.request_id.clone())),
            retention_decided: false,
        }
    }
}

/// Items no request has taken over yet: none, or only cancelled ones.
const NOT_TAKEN: &str = "NOT EXISTS (SELECT 1 FROM targets t JOIN requests n ON n.id = t.request_id
                  WHERE t.from_item = i.id AND n.status != 'cancelled')";

impl Ledger {
    /// Records closed requests kept until a day before `today`, that no request acts on yet,
    /// in the order of the requests that kept them.
    pub fn expired_retained(&self, today: Date) -> Result<Vec<Expired>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT i.id, i.request_id, i.processor, i.object, i.record_id, i.scope, i.basis,
                    i.retain_until
             FROM items i JOIN requests r ON r.id = i.request_id
             WHERE i.action = 'retain' AND i.state = 'done' AND i.retain_until < ?1
               AND r.closed_at IS NOT NULL AND {NOT_TAKEN}
             ORDER BY r.closed_at, i.request_id, i.id"
        ))?;
        let rows = stmt.query_map([today.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (item, request_id, processor, object, id, scope, basis, until) = row?;
            let Ok(retain_until) = until.parse() else {
                continue;
            };
            out.push(Expired {
                item,
                request_id,
                processor,
                reference: RecordRef {
                    object,
                    id,
                    scope: (!scope.is_empty()).then_some(scope),
                },
                basis,
                retain_until,
            });
        }
        Ok(out)
    }

    /// The hold keys kept for request `id`'s addresses (empty: it kept nothing, or it closed
    /// before dsrhub kept them).
    pub fn retained_keys(&self, id: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT identifier_sha256 FROM retained_keys WHERE request_id = ?1 ORDER BY 1",
        )?;
        let keys = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(keys)
    }

    /// Record a new erasure request that acts on `targets` by id, with no subject: its
    /// processors look them up instead of searching. It keeps `keys` (hold keys of the
    /// people the records are about) and takes over those of the earlier requests whose kept
    /// records are among the targets. Its id.
    pub fn create_targeted_request(
        &self,
        kind: RequestKind,
        identity: IdentityNote<'_>,
        (received_at, due_at): (Timestamp, Timestamp),
        processors: &[NewTask],
        targets: &[Target],
        keys: &[String],
    ) -> Result<String> {
        self.create_request_with(
            kind,
            &Subject::default(),
            identity,
            (received_at, due_at),
            processors,
            |tx, id| {
                let mut earlier: Vec<&str> = Vec::new();
                for t in targets {
                    tx.execute(
                        "INSERT INTO targets (request_id, processor, object, record_id, scope,
                                              from_item, retention_decided)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            id,
                            t.processor,
                            t.reference.object,
                            t.reference.id,
                            t.reference.scope.as_deref().unwrap_or(""),
                            t.kept_by.as_ref().map(|(item, _)| *item),
                            t.retention_decided
                        ],
                    )?;
                    if let Some((_, request)) = &t.kept_by {
                        if !earlier.contains(&request.as_str()) {
                            earlier.push(request);
                            tx.execute(
                                "INSERT OR IGNORE INTO retained_keys (request_id, identifier_sha256)
                                 SELECT ?1, identifier_sha256 FROM retained_keys WHERE request_id = ?2",
                                params![id, request],
                            )?;
                        }
                    }
                }
                for key in keys {
                    tx.execute(
                        "INSERT OR IGNORE INTO retained_keys (request_id, identifier_sha256)
                         VALUES (?1, ?2)",
                        params![id, key],
                    )?;
                }
                audit::append(
                    tx,
                    Some(id),
                    "targets.added",
                    &serde_json::json!({ "records": targets.len(), "kept_by": earlier }),
                )?;
                Ok(())
            },
        )
    }

    /// Whether request `id` acts on records by id (the sweep's `retained_expired` rule)
    /// instead of searching for a subject.
    pub fn is_targeted(&self, id: &str) -> Result<bool> {
        let n: i64 = self.conn().query_row(
            "SELECT count(*) FROM targets WHERE request_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// The records request `id` acts on at `processor`, each with whether the rule that
    /// selected it decided its retention (see [`Target::retention_decided`]).
    pub fn targets(&self, id: &str, processor: &str) -> Result<Vec<(RecordRef, bool)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT object, record_id, scope, retention_decided FROM targets
             WHERE request_id = ?1 AND processor = ?2 ORDER BY rowid",
        )?;
        let rows = stmt
            .query_map(params![id, processor], |r| {
                Ok((target_ref(r)?, r.get::<_, bool>(3)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Whether an open request already acts on any of `records` at `processor` by id.
    pub fn any_targeted_by_open(&self, processor: &str, records: &[RecordRef]) -> Result<bool> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT count(*) FROM targets t JOIN requests r ON r.id = t.request_id
             WHERE r.closed_at IS NULL AND t.processor = ?1 AND t.object = ?2
               AND t.record_id = ?3 AND t.scope = ?4",
        )?;
        for r in records {
            let n: i64 = stmt.query_row(
                params![processor, r.object, r.id, r.scope.as_deref().unwrap_or("")],
                |row| row.get(0),
            )?;
            if n > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The earlier requests whose kept records request `id` acts on.
    pub fn targeted_from(&self, id: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT i.request_id FROM targets t JOIN items i ON i.id = t.from_item
             WHERE t.request_id = ?1 ORDER BY 1",
        )?;
        let rows = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }
}

/// At request `id`'s closure, before its identifiers go: keep the hold keys of its addresses
/// while it has records it kept (carried out: a plan cancelled before it ran kept nothing),
/// since a hold placed later must still cover them; and let go of
/// the keys no retained record needs any more (its own, and those of the earlier requests
/// whose every retained record a closed request has now acted on).
pub(super) fn keep_keys_while_retained(tx: &Transaction<'_>, id: &str) -> Result<()> {
    let retains: i64 = tx.query_row(
        "SELECT count(*) FROM items WHERE request_id = ?1 AND action = 'retain' AND state = 'done'",
        [id],
        |r| r.get(0),
    )?;
    if retains > 0 {
        let identifiers: Option<String> = rusqlite::OptionalExtension::optional(tx.query_row(
            "SELECT identifiers FROM subjects WHERE request_id = ?1",
            [id],
            |r| r.get(0),
        ))?;
        let subject: Subject = identifiers
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        for key in super::subject_hold_keys(&subject) {
            tx.execute(
                "INSERT OR IGNORE INTO retained_keys (request_id, identifier_sha256)
                 VALUES (?1, ?2)",
                params![id, key],
            )?;
        }
    } else {
        tx.execute("DELETE FROM retained_keys WHERE request_id = ?1", [id])?;
    }
    // An earlier request whose retained records have all been acted on by closed requests
    // (this one among them) needs its keys no more.
    tx.execute(
        "DELETE FROM retained_keys WHERE request_id IN (
             SELECT DISTINCT i.request_id FROM targets t JOIN items i ON i.id = t.from_item
             WHERE t.request_id = ?1)
           AND NOT EXISTS (
             SELECT 1 FROM items i WHERE i.request_id = retained_keys.request_id
               AND i.action = 'retain' AND i.state = 'done' AND NOT EXISTS (
                 SELECT 1 FROM targets t JOIN requests n ON n.id = t.request_id
                 WHERE t.from_item = i.id AND n.status NOT IN ('cancelled')
                   AND (n.closed_at IS NOT NULL OR n.id = ?1)))",
        [id],
    )?;
    Ok(())
}

impl Ledger {
    /// The hold keys of every open request's addresses: a record kept for one of them is left
    /// alone while their request runs.
    pub fn open_subject_keys(&self) -> Result<std::collections::BTreeSet<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT s.identifiers FROM subjects s JOIN requests r ON r.id = s.request_id
             WHERE r.closed_at IS NULL",
        )?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut keys = std::collections::BTreeSet::new();
        for text in rows {
            let Ok(subject) = serde_json::from_str::<Subject>(&text) else {
                continue;
            };
            keys.extend(super::subject_hold_keys(&subject));
        }
        Ok(keys)
    }
}

/// The record a `targets` row names, from its first three columns (object, record_id, scope).
pub(super) fn target_ref(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRef> {
    let scope: String = r.get(2)?;
    Ok(RecordRef {
        object: r.get(0)?,
        id: r.get(1)?,
        scope: (!scope.is_empty()).then_some(scope),
    })
}
