//! Approvals: a person approves the plan they saw, named by its digest.
//!
//! The digest covers every task planned and not yet approved, with each of its records'
//! planned action (deselected records excluded). Approving binds exactly those tasks; a task
//! planned after the approval (its discovery failed before, or a processor was enabled later)
//! has no approval and waits for its own, with the approved part untouched.

use jiff::Timestamp;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{audit, now, write_tx, Action, ItemState, Ledger, Stage};
use crate::error::{Error, Result};

/// The part of a request's plan that waits for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDigest {
    /// Hex SHA-256 over the tasks and their records' planned actions.
    pub digest: String,
    /// The processors whose plans it covers.
    pub processors: Vec<String>,
    /// Records in it (deselected ones excluded).
    pub records: usize,
    /// Of those, the ones it deletes or anonymises.
    pub changes: usize,
}

impl PlanDigest {
    /// Whether there is nothing waiting for approval.
    pub fn is_empty(&self) -> bool {
        self.processors.is_empty()
    }

    /// Whether `given` names this digest: the whole hex digest, or a prefix of at least 12
    /// characters as people copy it from a report.
    pub fn is_named_by(&self, given: &str) -> bool {
        named_by(&self.digest, given)
    }
}

/// Whether `given` names `digest`: all of it, or a prefix of at least 12 characters (with or
/// without `sha256:`, in any case).
pub(super) fn named_by(digest: &str, given: &str) -> bool {
    let given = given
        .trim()
        .trim_start_matches("sha256:")
        .to_ascii_lowercase();
    given.len() >= 12 && digest.starts_with(&given)
}

/// One recorded approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The digest of the plan approved.
    pub digest: String,
    /// Who approved it (a member of staff, as they gave their name).
    pub approver: String,
    /// Deletions and anonymisations it approved.
    pub changes: usize,
    /// When.
    pub at: Timestamp,
}

pub(super) fn digest_in(conn: &Connection, id: &str) -> Result<PlanDigest> {
    let mut hasher = Sha256::new();
    let mut field = |text: &str| {
        hasher.update((text.len() as u64).to_be_bytes());
        hasher.update(text.as_bytes());
    };
    let mut processors = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT processor FROM tasks WHERE request_id = ?1 AND stage = ?2
                 AND approval_id IS NULL ORDER BY processor",
        )?;
        let mut rows = stmt.query(params![id, Stage::Planned.as_str()])?;
        while let Some(row) = rows.next()? {
            let processor: String = row.get(0)?;
            field("task");
            field(&processor);
            processors.push(processor);
        }
    }
    let (mut records, mut acting) = (0, 0);
    {
        // Walked row by row: a plan of 100,000 kept messages is hashed in flat memory.
        let mut stmt = conn.prepare_cached(
            "SELECT i.processor, i.object, i.scope, i.record_id, i.action, i.fields, i.basis,
                    i.retain_until, c.changes
             FROM items i JOIN tasks t ON t.request_id = i.request_id AND t.processor = i.processor
             LEFT JOIN item_changes c ON c.item_id = i.id
             WHERE i.request_id = ?1 AND t.stage = ?2 AND t.approval_id IS NULL AND i.state != ?3
             ORDER BY i.processor, i.object, i.scope, i.record_id",
        )?;
        let mut rows = stmt.query(params![
            id,
            Stage::Planned.as_str(),
            ItemState::Skipped.as_str()
        ])?;
        while let Some(row) = rows.next()? {
            field("record");
            for i in 0..8 {
                let value: Option<String> = row.get(i)?;
                field(value.as_deref().unwrap_or(""));
            }
            // What a change sets is part of what is approved; items without one hash as
            // they did before there were changes (an erasure plan's digest is unchanged).
            let changes: Option<String> = row.get(8)?;
            if let Some(changes) = changes {
                field("changes");
                field(&changes);
            }
            records += 1;
            let action: String = row.get(4)?;
            if Action::parse(&action).is_some_and(Action::changes_data) {
                acting += 1;
            }
        }
    }
    Ok(PlanDigest {
        digest: hex::encode(hasher.finalize()),
        processors,
        records,
        changes: acting,
    })
}

/// Record `approver`'s approval of request `id`'s `plan` (part of `batch`, if given) and bind
/// the tasks it covers.
pub(super) fn record_approval(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    plan: &PlanDigest,
    approver: &str,
    batch: Option<&str>,
) -> Result<Approval> {
    let at = now();
    tx.execute(
        "INSERT INTO approvals (request_id, digest, approver, actions, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, plan.digest, approver, plan.changes as i64, at.to_string()],
    )?;
    let approval = tx.last_insert_rowid();
    tx.execute(
        "UPDATE tasks SET approval_id = ?3 WHERE request_id = ?1 AND stage = ?2 AND approval_id IS NULL",
        params![id, Stage::Planned.as_str(), approval],
    )?;
    let mut detail = serde_json::json!({
        "digest": plan.digest,
        "approver": approver,
        "processors": plan.processors,
        "records": plan.records,
        "actions": plan.changes,
    });
    if let Some(batch) = batch {
        detail["batch"] = serde_json::Value::from(batch);
    }
    audit::append(tx, Some(id), "plan.approved", &detail)?;
    Ok(Approval {
        digest: plan.digest.clone(),
        approver: approver.to_string(),
        changes: plan.changes,
        at,
    })
}

/// The approval of request `id` whose digest `given` names, if there is one.
fn approval_named(conn: &Connection, id: &str, given: &str) -> Result<Option<Approval>> {
    let given = given
        .trim()
        .trim_start_matches("sha256:")
        .to_ascii_lowercase();
    if given.len() < 12 {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT digest, approver, actions, at FROM approvals WHERE request_id = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([id], approval_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().find(|a| a.digest.starts_with(&given)))
}

fn approval_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Approval> {
    let at: String = r.get(3)?;
    Ok(Approval {
        digest: r.get(0)?,
        approver: r.get(1)?,
        changes: r.get::<_, i64>(2)? as usize,
        at: at.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?,
    })
}

impl Ledger {
    /// The part of request `id`'s plan that waits for approval, with its digest.
    pub fn plan_digest(&self, id: &str) -> Result<PlanDigest> {
        digest_in(&self.conn(), id)
    }

    /// Approve the part of request `id`'s plan named by `digest`, as `approver`. Refused when
    /// the plan changed since it was shown (the digest differs) or nothing waits for approval.
    pub fn approve(&self, id: &str, digest: &str, approver: &str) -> Result<Approval> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let plan = digest_in(&tx, id)?;
        if plan.is_empty() {
            // Approving what was just approved (a retry, or two operators at once) is no error.
            if let Some(done) = approval_named(&tx, id, digest)? {
                return Ok(done);
            }
            return Err(Error::Usage(format!(
                "request `{id}` has no plan waiting for approval"
            )));
        }
        if !plan.is_named_by(digest) {
            return Err(Error::Usage(format!(
                "the plan of request `{id}` is not the one approved: its digest is now {} \
                 ({} record(s), {} deletion(s) or anonymisation(s)); review it with \
                 `dsrhub status {id}` and approve that digest",
                plan.digest, plan.records, plan.changes
            )));
        }
        let approval = record_approval(&tx, id, &plan, approver, None)?;
        tx.commit()?;
        Ok(approval)
    }

    /// The approvals of request `id`, oldest first.
    pub fn approvals(&self, id: &str) -> Result<Vec<Approval>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT digest, approver, actions, at FROM approvals WHERE request_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([id], approval_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
