//! Batches: requests opened together from a list of subjects (or by the sweep), with one plan
//! digest over all of them and one approval.

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::approvals::{digest_in, named_by, record_approval};
use super::{audit, now, request_row, write_tx, Ledger, RequestKind, RequestRow, REQUEST_SELECT};
use crate::error::{Error, Result};

/// A batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchRow {
    /// Its id.
    pub id: String,
    /// Access or erasure.
    pub kind: RequestKind,
    /// Where its subjects came from (`subjects file people.csv`, `sweep: …`).
    pub origin: String,
    /// When it was opened.
    pub created_at: Timestamp,
}

/// The part of a batch's plan that waits for approval: every request's, under one digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchPlan {
    /// Hex SHA-256 over each request's id and plan digest, in the order of the subjects.
    pub digest: String,
    /// Requests with a plan waiting.
    pub requests: usize,
    /// Records in those plans.
    pub records: usize,
    /// Of those, the ones deleted or anonymised.
    pub changes: usize,
}

impl BatchPlan {
    /// Whether nothing waits for approval.
    pub fn is_empty(&self) -> bool {
        self.requests == 0
    }
}

fn batch_plan(
    conn: &rusqlite::Connection,
    batch: &str,
) -> Result<(BatchPlan, Vec<(String, super::PlanDigest)>)> {
    let ids: Vec<String> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM requests WHERE batch_id = ?1 ORDER BY batch_line, id",
        )?;
        let ids = stmt
            .query_map([batch], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        ids
    };
    let mut hasher = Sha256::new();
    let mut plan = BatchPlan {
        digest: String::new(),
        requests: 0,
        records: 0,
        changes: 0,
    };
    let mut plans = Vec::new();
    for id in ids {
        let digest = digest_in(conn, &id)?;
        if digest.is_empty() {
            continue;
        }
        for part in [id.as_str(), digest.digest.as_str()] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        plan.requests += 1;
        plan.records += digest.records;
        plan.changes += digest.changes;
        plans.push((id, digest));
    }
    plan.digest = hex::encode(hasher.finalize());
    Ok((plan, plans))
}

impl Ledger {
    /// Open a batch of `kind` from `origin`; its id.
    pub fn create_batch(&self, kind: RequestKind, origin: &str) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        tx.execute(
            "INSERT INTO batches (id, kind, origin, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, kind.as_str(), origin, now().to_string()],
        )?;
        audit::append(
            &tx,
            None,
            "batch.opened",
            &serde_json::json!({ "batch": id, "kind": kind.as_str(), "origin": origin }),
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Make request `id` part of `batch`, as the subject on `line` of its list.
    pub fn add_to_batch(&self, batch: &str, id: &str, line: usize) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE requests SET batch_id = ?1, batch_line = ?2 WHERE id = ?3 AND batch_id IS NULL",
            params![batch, line as i64, id],
        )?;
        if changed == 0 {
            return Err(Error::Usage(format!(
                "request `{id}` is part of a batch already"
            )));
        }
        Ok(())
    }

    /// Batch `id`.
    pub fn batch(&self, id: &str) -> Result<BatchRow> {
        let row: Option<(String, String, String, String)> = self
            .conn()
            .query_row(
                "SELECT id, kind, origin, created_at FROM batches WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (id, kind, origin, created_at) =
            row.ok_or_else(|| Error::Usage(format!("no batch `{id}`")))?;
        let created_at = created_at
            .parse()
            .map_err(|_| Error::Ledger(format!("batch `{id}` has an unreadable time")))?;
        Ok(BatchRow {
            id,
            kind: RequestKind::parse(&kind).unwrap_or(RequestKind::Access),
            origin,
            created_at,
        })
    }

    /// The batches with a request whose plan waits (status `planned`), newest first: the only
    /// ones that can have a plan to approve, found without hashing every batch's plans.
    pub fn batches_planned(&self) -> Result<Vec<BatchRow>> {
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(
                "SELECT b.id FROM batches b WHERE EXISTS (
                     SELECT 1 FROM requests r WHERE r.batch_id = b.id AND r.status = ?1)
                 ORDER BY b.created_at DESC, b.id",
            )?;
            let ids = stmt
                .query_map([super::RequestStatus::Planned.as_str()], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            ids
        };
        ids.iter().map(|id| self.batch(id)).collect()
    }

    /// The requests of batch `id` with the line of their subject, in the order of the list.
    pub fn batch_requests(&self, id: &str) -> Result<Vec<(usize, RequestRow)>> {
        let conn = self.conn();
        let lines: std::collections::HashMap<String, usize> = {
            let mut stmt =
                conn.prepare_cached("SELECT id, batch_line FROM requests WHERE batch_id = ?1")?;
            let lines = stmt
                .query_map([id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            lines
                .into_iter()
                .map(|(id, line)| (id, line.and_then(|l| usize::try_from(l).ok()).unwrap_or(0)))
                .collect()
        };
        let mut stmt = conn.prepare_cached(&format!("{REQUEST_SELECT} WHERE batch_id = ?1"))?;
        let mut rows = stmt
            .query_map([id], request_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .map(|r| (lines.get(&r.id).copied().unwrap_or(0), r))
            .collect::<Vec<_>>();
        rows.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
        Ok(rows)
    }

    /// The part of batch `id`'s plan that waits for approval.
    pub fn batch_plan(&self, id: &str) -> Result<BatchPlan> {
        Ok(batch_plan(&self.conn(), id)?.0)
    }

    /// Approve batch `id`'s plan named by `digest`, as `approver`: every request's plan in it,
    /// in one transaction (all or none). Refused when any request's plan changed since.
    pub fn approve_batch(&self, id: &str, digest: &str, approver: &str) -> Result<BatchPlan> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let (plan, plans) = batch_plan(&tx, id)?;
        if plan.is_empty() {
            return Err(Error::Usage(format!(
                "batch `{id}` has no plan waiting for approval"
            )));
        }
        if !named_by(&plan.digest, digest) {
            return Err(Error::Usage(format!(
                "the plan of batch `{id}` is not the one approved: its digest is now {} \
                 ({} request(s), {} record(s), {} deletion(s) or anonymisation(s)); review it \
                 with `dsrhub batch {id}` and approve that digest",
                plan.digest, plan.requests, plan.records, plan.changes
            )));
        }
        for (request, request_plan) in &plans {
            record_approval(&tx, request, request_plan, approver, Some(id))?;
        }
        audit::append(
            &tx,
            None,
            "batch.approved",
            &serde_json::json!({
                "batch": id,
                "digest": plan.digest,
                "approver": approver,
                "requests": plan.requests,
                "records": plan.records,
                "actions": plan.changes,
            }),
        )?;
        tx.commit()?;
        Ok(plan)
    }
}
