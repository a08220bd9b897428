//! What rectification, restriction, its lifting and objection ask and change (migration 19):
//! the request's [`Change`] (`request_changes`) and, per planned record, the vendor fields it
//! changes from what to what (`item_changes`).
//!
//! A rectification's values are personal data (the old and the new name): they are shown to
//! staff while the request is open and purged at its closure, leaving the field names. A
//! restriction's values are flags (`isActive` 1 → 0, `archived`): they are kept, since
//! lifting the restriction puts them back.

use dsrhub_connector::{Change, FieldChange, RecordRef};
use rusqlite::{params, OptionalExtension, Transaction};

use super::{audit, now, write_tx, Action, IdentityNote, ItemState, Ledger, NewTask, RequestKind};
use crate::error::Result;

/// One record a restriction marked and nobody has lifted yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Restricted {
    /// The restriction request.
    pub request_id: String,
    /// The item that marked it.
    pub item_id: i64,
    /// The processor.
    pub processor: String,
    /// The record.
    pub reference: RecordRef,
    /// The fields the restriction set, with their values before and after.
    pub changes: Vec<FieldChange>,
    /// Since when (the mark was carried out).
    pub since: jiff::Timestamp,
}

impl Ledger {
    /// Record what request `id` asks (`reason`: a restriction's or a lift's, in the organisation's words).
    pub fn record_change(&self, id: &str, change: &Change, reason: Option<&str>) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        tx.execute(
            "INSERT INTO request_changes (request_id, change, reason) VALUES (?1, ?2, ?3)",
            params![
                id,
                serde_json::to_string(change).expect("a change serialises"),
                reason
            ],
        )?;
        audit::append(
            &tx,
            Some(id),
            "change.recorded",
            &serde_json::json!({
                "right": change.right(),
                "fields": match change {
                    Change::Rectify { values } => values.keys().map(|f| f.as_str()).collect(),
                    _ => Vec::new(),
                },
                "reason_sha256": reason.map(|r| super::sha256_hex(r.as_bytes())),
            }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// What request `id` asks, and its reason; `None` for access and erasure requests. After a
    /// rectification closed, its values are gone (see [`purge_change_values`]).
    pub fn request_change(&self, id: &str) -> Result<Option<(Change, Option<String>)>> {
        let conn = self.conn();
        let row: Option<(String, Option<String>)> = conn
            .query_row(
                "SELECT change, reason FROM request_changes WHERE request_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((change, reason)) => Some((
                serde_json::from_str(&change).map_err(|e| {
                    crate::error::Error::Ledger(format!("request {id}: unreadable change: {e}"))
                })?,
                reason,
            )),
            None => None,
        })
    }

    /// The field changes planned for item `item_id` (empty for items that change nothing).
    pub fn item_changes(&self, item_id: i64) -> Result<Vec<FieldChange>> {
        let conn = self.conn();
        item_changes_in(&conn, item_id)
    }

    /// The records restriction `id` marked and nobody lifted since (a lift request that is
    /// not cancelled counts as lifting, from the moment it is opened: two lifts never race).
    pub fn restricted(&self, id: &str) -> Result<Vec<Restricted>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT i.id, i.processor, i.object, i.record_id, i.scope, i.updated_at
             FROM items i
             WHERE i.request_id = ?1 AND i.action = ?2 AND i.state = ?3 AND i.outcome = 'changed'
               AND NOT EXISTS (
                   SELECT 1 FROM targets t JOIN requests r ON r.id = t.request_id
                   WHERE t.from_item = i.id AND r.kind = 'lift' AND r.status != 'cancelled')
             ORDER BY i.processor, i.id",
        )?;
        let rows = stmt
            .query_map(
                params![id, Action::Change.as_str(), ItemState::Done.as_str()],
                |r| {
                    let scope: String = r.get(4)?;
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        RecordRef {
                            object: r.get(2)?,
                            id: r.get(3)?,
                            scope: (!scope.is_empty()).then_some(scope),
                        },
                        r.get::<_, String>(5)?,
                    ))
                },
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (item_id, processor, reference, since) in rows {
            out.push(Restricted {
                request_id: id.to_string(),
                item_id,
                processor,
                reference,
                changes: item_changes_in(&conn, item_id)?,
                since: since.parse().unwrap_or_else(|_| now()),
            });
        }
        Ok(out)
    }

    /// Record a lift of restriction `restriction`: a request that puts back what the
    /// restriction set on `records`, searching for nobody (it acts on those records by id).
    pub fn create_lift_request(
        &self,
        identity: IdentityNote<'_>,
        dates: (jiff::Timestamp, jiff::Timestamp),
        processors: &[NewTask],
        (restriction, records): (&str, &[Restricted]),
        reason: &str,
    ) -> Result<String> {
        let targets: Vec<super::Target> = records
            .iter()
            .map(|r| super::Target {
                processor: r.processor.clone(),
                reference: r.reference.clone(),
                kept_by: Some((r.item_id, restriction.to_string())),
                retention_decided: false,
            })
            .collect();
        let id = self.create_targeted_request(
            RequestKind::Lift,
            identity,
            dates,
            processors,
            &targets,
            &[],
        )?;
        let restored = Change::Restore {
            restricted: Vec::new(),
        };
        self.record_change(&id, &restored, Some(reason))?;
        self.audit(
            Some(&id),
            "restriction.lifting",
            &serde_json::json!({ "restriction": restriction, "records": records.len() }),
        )?;
        Ok(id)
    }

    /// The hold keys of every person under a restriction that marked something nobody has
    /// lifted: the sweep leaves them out (art. 18: kept, not processed, until lifted). A
    /// restriction keeps its subject until then, so their addresses are known.
    pub fn restricted_subject_keys(&self) -> Result<std::collections::BTreeSet<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT s.identifiers FROM subjects s JOIN requests r ON r.id = s.request_id
             WHERE r.kind = 'restriction' AND r.status != 'cancelled'
               AND EXISTS (
                   SELECT 1 FROM items i
                   WHERE i.request_id = r.id AND i.action = ?1 AND i.state = ?2
                     AND i.outcome = 'changed'
                     AND NOT EXISTS (
                         SELECT 1 FROM targets t JOIN requests l ON l.id = t.request_id
                         WHERE t.from_item = i.id AND l.kind = 'lift' AND l.status != 'cancelled'))",
        )?;
        let rows = stmt
            .query_map(
                params![Action::Change.as_str(), ItemState::Done.as_str()],
                |r| r.get::<_, String>(0),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut keys = std::collections::BTreeSet::new();
        for text in rows {
            if let Ok(subject) = serde_json::from_str::<dsrhub_connector::Subject>(&text) {
                keys.extend(super::subject_hold_keys(&subject));
            }
        }
        Ok(keys)
    }

    /// Whether a lift of restriction `id` is open (its letters still name the person).
    pub fn lift_open(&self, id: &str) -> Result<bool> {
        let conn = self.conn();
        Ok(conn.query_row(
            "SELECT EXISTS (
                 SELECT 1 FROM items i
                 JOIN targets t ON t.from_item = i.id
                 JOIN requests l ON l.id = t.request_id
                 WHERE i.request_id = ?1 AND l.kind = 'lift' AND l.closed_at IS NULL)",
            [id],
            |r| r.get(0),
        )?)
    }

    /// The restriction lift request `id` lifts (`None` for any other request).
    pub fn lifted_restriction(&self, id: &str) -> Result<Option<String>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT i.request_id FROM targets t JOIN items i ON i.id = t.from_item
                 WHERE t.request_id = ?1 LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// For lift request `id` at `processor`: each record with the changes its restriction made.
    pub fn lift_targets(
        &self,
        id: &str,
        processor: &str,
    ) -> Result<Vec<(RecordRef, Vec<FieldChange>)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT object, record_id, scope, from_item FROM targets
             WHERE request_id = ?1 AND processor = ?2 ORDER BY rowid",
        )?;
        let rows = stmt
            .query_map(params![id, processor], |r| {
                Ok((super::targets::target_ref(r)?, r.get::<_, Option<i64>>(3)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (reference, from_item) in rows {
            let changes = match from_item {
                Some(item) => item_changes_in(&conn, item)?,
                None => Vec::new(),
            };
            out.push((reference, changes));
        }
        Ok(out)
    }
}

/// Store `changes` for the item just inserted as `item_id` of request `id`.
pub(super) fn save_item_changes(
    tx: &Transaction<'_>,
    id: &str,
    item_id: i64,
    changes: &[FieldChange],
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT OR REPLACE INTO item_changes (item_id, request_id, changes) VALUES (?1, ?2, ?3)",
        params![
            item_id,
            id,
            serde_json::to_string(changes).expect("changes serialise")
        ],
    )?;
    Ok(())
}

/// The change planned for one item, as text for the plan's digest (`None`: it changes no field).
pub(super) fn changes_text(conn: &rusqlite::Connection, item_id: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT changes FROM item_changes WHERE item_id = ?1",
            [item_id],
            |r| r.get(0),
        )
        .optional()?)
}

fn item_changes_in(conn: &rusqlite::Connection, item_id: i64) -> Result<Vec<FieldChange>> {
    Ok(match changes_text(conn, item_id)? {
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            crate::error::Error::Ledger(format!("item {item_id}: unreadable changes: {e}"))
        })?,
        None => Vec::new(),
    })
}

/// At closure: a rectification's values (old and new) are personal data and go; the field
/// names stay as evidence of what was changed. Other rights keep theirs (flags, needed to
/// lift a restriction).
pub(super) fn purge_change_values(tx: &Transaction<'_>, id: &str) -> Result<bool> {
    let kind: Option<String> = tx
        .query_row("SELECT kind FROM requests WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    if kind.as_deref() != Some(RequestKind::Rectification.as_str()) {
        return Ok(false);
    }
    let mut purged = false;
    let rows: Vec<(i64, String)> = {
        let mut stmt =
            tx.prepare("SELECT item_id, changes FROM item_changes WHERE request_id = ?1")?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    };
    for (item, text) in rows {
        let mut changes: Vec<FieldChange> = serde_json::from_str(&text).unwrap_or_default();
        if changes.iter().all(|c| c.from.is_null() && c.to.is_null()) {
            continue;
        }
        for c in &mut changes {
            c.from = serde_json::Value::Null;
            c.to = serde_json::Value::Null;
        }
        tx.execute(
            "UPDATE item_changes SET changes = ?2 WHERE item_id = ?1",
            params![
                item,
                serde_json::to_string(&changes).expect("changes serialise")
            ],
        )?;
        purged = true;
    }
    let change: Option<String> = tx
        .query_row(
            "SELECT change FROM request_changes WHERE request_id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(Ok(Change::Rectify { values })) = change.map(|c| serde_json::from_str::<Change>(&c))
    {
        if values.values().any(|v| !v.is_empty()) {
            let names = Change::Rectify {
                values: values.into_keys().map(|f| (f, String::new())).collect(),
            };
            tx.execute(
                "UPDATE request_changes SET change = ?2 WHERE request_id = ?1",
                params![
                    id,
                    serde_json::to_string(&names).expect("a change serialises")
                ],
            )?;
            purged = true;
        }
    }
    Ok(purged)
}
