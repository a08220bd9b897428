//! The ledger: SQLite, one file, the hub's memory.
//!
//! Every step is written before it starts and after it ends, so a run that dies anywhere
//! resumes from here without repeating a finished action. It holds requests, one task per
//! processor, one item per discovered record (ids, how it matched, the planned action and its
//! outcome — never field values), and an append-only, hash-chained audit log. The subject's
//! identifiers are the only personal data it stores; they are purged when the request closes.
//!
//! The connection sits behind a mutex: calls are short, and SQLite serialises writers anyway.

mod approvals;
pub(crate) mod audit;
mod batches;
mod changes;
mod extensions;
mod holds;
mod leases;
mod purges;
mod retention;
mod staff;
mod targets;

pub(crate) use audit::sha256_hex;
pub use audit::{AuditEntry, ChainHead};
mod schema;
mod types;

pub use approvals::{Approval, PlanDigest};
pub use batches::{BatchPlan, BatchRow};
pub use changes::Restricted;
pub use extensions::Extension;
pub use holds::{hold_key, subject_hold_keys, Hold};
pub use leases::LeaseHolder;
pub use purges::SoftDeletion;
pub use retention::Closed;
pub use staff::StaffUser;
pub use targets::{Expired, Target};

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use dsrhub_connector::{ConnectorError, RecordRef, Subject};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row};

pub use types::*;

use crate::error::{Error, Result};

/// The ledger.
pub struct Ledger {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ledger")
    }
}

/// Now, to the second (ledger timestamps need no more).
pub fn now() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).expect("now is a valid timestamp")
}

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A write transaction that takes the write lock at `BEGIN` (`BEGIN IMMEDIATE`): a deferred
/// transaction that reads first and writes later cannot wait for another process's lock (SQLite
/// answers "database is locked" at once to avoid a deadlock), and two audit appends that both
/// read the chain's last hash before writing would fork the chain.
fn write_tx(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
}

fn ts(text: Option<String>) -> Option<Timestamp> {
    text.and_then(|t| t.parse().ok())
}

impl Ledger {
    /// Open (or create) the ledger file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Ledger> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(Error::io("cannot create the ledger folder", dir))?;
        }
        let conn = Connection::open(path)
            .map_err(|e| Error::Ledger(format!("cannot open {}: {e}", path.display())))?;
        // Several processes share one ledger (a CLI run beside `dsrhub serve`): wait for the
        // other's write lock instead of failing with "database is locked", also while switching
        // to WAL on a new file.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: a crash never corrupts committed steps; readers don't block the writer.
        // Switching a new file to WAL takes an exclusive lock for which SQLite does not call
        // the busy handler: several processes opening a new ledger at once retry here.
        let started = std::time::Instant::now();
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn)
    }

    /// A ledger in memory, for tests.
    pub fn open_in_memory() -> Result<Ledger> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Ledger> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        schema::migrate(&mut conn)?;
        Ok(Ledger {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Record a new request with one task per processor (`enabled == false`: skipped).
    pub fn create_request(
        &self,
        kind: RequestKind,
        subject: &Subject,
        identity: IdentityNote<'_>,
        received_at: Timestamp,
        due_at: Timestamp,
        processors: &[NewTask],
    ) -> Result<String> {
        self.create_request_with(
            kind,
            subject,
            identity,
            (received_at, due_at),
            processors,
            |_, _| Ok(()),
        )
    }

    /// [`Ledger::create_request`], with `more` writing what else belongs to the new request
    /// (its id) in the same transaction.
    fn create_request_with(
        &self,
        kind: RequestKind,
        subject: &Subject,
        identity: IdentityNote<'_>,
        (received_at, due_at): (Timestamp, Timestamp),
        processors: &[NewTask],
        more: impl FnOnce(&rusqlite::Transaction<'_>, &str) -> Result<()>,
    ) -> Result<String> {
        let IdentityNote {
            how: identity_verification,
            by: verified_by,
        } = identity;
        let id = uuid::Uuid::new_v4().to_string();
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        tx.execute(
            "INSERT INTO requests (id, kind, status, received_at, due_at, identity_verification, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                kind.as_str(),
                if identity_verification.is_empty() {
                    RequestStatus::Received.as_str()
                } else {
                    RequestStatus::IdentityVerified.as_str()
                },
                received_at.to_string(),
                due_at.to_string(),
                identity_verification,
                at
            ],
        )?;
        tx.execute(
            "INSERT INTO subjects (request_id, identifiers) VALUES (?1, ?2)",
            params![
                id,
                serde_json::to_string(subject).expect("subject serialises")
            ],
        )?;
        let skipped = format!(
            "skipped since {}: processor disabled in the config; the request stays open until it is planned",
            &at[..10]
        );
        for task in processors {
            let (state, stage, summary) = if task.enabled {
                (TaskState::Pending, Stage::New, "")
            } else {
                (TaskState::Skipped, Stage::Skipped, skipped.as_str())
            };
            tx.execute(
                "INSERT INTO tasks (request_id, processor, state, stage, summary, updated_at, display_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, task.processor, state.as_str(), stage.as_str(), summary, at, task.display_name],
            )?;
        }
        let detail = serde_json::json!({
            "kind": kind.as_str(),
            "identifiers": { "emails": subject.emails.len(), "phones": subject.phones.len(), "names": subject.names.len() },
            "identity_verification_sha256": audit::sha256_hex(identity_verification.as_bytes()),
            "identity_verified_by": (!identity_verification.is_empty()).then_some(verified_by),
            "processors": processors.iter().map(|t| &t.processor).collect::<Vec<_>>(),
        });
        audit::append(&tx, Some(&id), "request.received", &detail)?;
        more(&tx, &id)?;
        tx.commit()?;
        Ok(id)
    }

    /// One request, or an error naming the id.
    pub fn request(&self, id: &str) -> Result<RequestRow> {
        self.conn()
            .query_row(
                &format!("{REQUEST_SELECT} WHERE id = ?1"),
                [id],
                request_row,
            )
            .optional()?
            .ok_or_else(|| {
                Error::Usage(format!(
                    "there is no request `{id}` in the ledger (see `dsrhub status`)"
                ))
            })
    }

    /// Make access request `id` portable (art. 20): its export holds only what the person
    /// provided. Recorded in the audit log.
    pub fn set_portable(&self, id: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let changed = tx.execute(
            "UPDATE requests SET portable = 1 WHERE id = ?1 AND kind = 'access' AND portable = 0",
            [id],
        )?;
        if changed > 0 {
            audit::append(&tx, Some(id), "request.portable", &serde_json::json!({}))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether request `id` is a portable access request.
    pub fn is_portable(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn()
            .query_row("SELECT portable FROM requests WHERE id = ?1", [id], |r| {
                r.get::<_, bool>(0)
            })
            .optional()?
            .unwrap_or(false))
    }

    /// Link a request received through the API to the submitter's id and status callbacks.
    /// A second request with the same external id is refused by the ledger.
    pub fn set_intake(&self, id: &str, external_id: &str, callbacks: &[String]) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        tx.execute(
            "UPDATE requests SET external_id = ?2, callbacks = ?3 WHERE id = ?1",
            params![
                id,
                external_id,
                serde_json::to_string(callbacks).expect("callbacks serialise")
            ],
        )?;
        audit::append(
            &tx,
            Some(id),
            "request.intake",
            &serde_json::json!({ "external_id": external_id, "callbacks": callbacks.len() }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The request the submitter knows as `external_id`, if any.
    pub fn request_by_external(&self, external_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id FROM requests WHERE external_id = ?1",
                [external_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The submitter's id and the status callback URLs of a request received through the API.
    pub fn intake(&self, id: &str) -> Result<(Option<String>, Vec<String>)> {
        let (external, callbacks): (Option<String>, String) = self.conn().query_row(
            "SELECT external_id, callbacks FROM requests WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((
            external,
            serde_json::from_str(&callbacks).unwrap_or_default(),
        ))
    }

    /// Record how the subject's identity was verified (only its hash goes into the audit
    /// log); a request received without verification may run from now on.
    pub fn verify_identity(&self, id: &str, how: &str, by: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let changed = tx.execute(
            "UPDATE requests SET identity_verification = ?2, status = ?3, updated_at = ?4
             WHERE id = ?1 AND status = ?5",
            params![
                id,
                how,
                RequestStatus::IdentityVerified.as_str(),
                now().to_string(),
                RequestStatus::Received.as_str()
            ],
        )?;
        if changed == 0 {
            return Err(Error::Usage(format!(
                "request `{id}` is not waiting for identity verification"
            )));
        }
        audit::append(
            &tx,
            Some(id),
            "identity.verified",
            &serde_json::json!({
                "identity_verification_sha256": audit::sha256_hex(how.as_bytes()),
                "identity_verified_by": by,
            }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Answer the subject of request `id` in `language` (`nl` or `en`).
    pub fn set_language(&self, id: &str, language: &str) -> Result<()> {
        if !matches!(language, "nl" | "en") {
            return Err(Error::Usage(format!(
                "language: `{language}` is not one the replies are written in (nl, en)"
            )));
        }
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        tx.execute(
            "UPDATE requests SET language = ?2 WHERE id = ?1",
            params![id, language],
        )?;
        audit::append(
            &tx,
            Some(id),
            "request.language",
            &serde_json::json!({ "language": language }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the status callback for (`id`, `url`, `status`) was delivered already.
    pub fn callback_delivered(&self, id: &str, url: &str, status: &str) -> Result<bool> {
        Ok(self
            .conn()
            .query_row(
                "SELECT delivered_at FROM callbacks WHERE request_id = ?1 AND url = ?2 AND status = ?3",
                params![id, url, status],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten()
            .is_some())
    }

    /// Write the intent to deliver the status callback for (`id`, `url`, `status`) before its
    /// POST: the attempt is counted and committed first, so a crash between the POST and
    /// [`Ledger::record_callback`] leaves a trace. Returns the attempt's number (1 for the
    /// first); an attempt after 1 re-delivers with the same idempotency key.
    pub fn record_callback_intent(&self, id: &str, url: &str, status: &str) -> Result<u32> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let attempts: u32 = tx.query_row(
            "INSERT INTO callbacks (request_id, url, status, attempts, updated_at)
             VALUES (?1, ?2, ?3, 1, ?4)
             ON CONFLICT (request_id, url, status) DO UPDATE SET
                 attempts = attempts + 1, updated_at = excluded.updated_at
             RETURNING attempts",
            params![id, url, status, now().to_string()],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(attempts)
    }

    /// Record the outcome of a status callback: delivered, or the (personal-data-free) error.
    pub fn record_callback(
        &self,
        id: &str,
        url: &str,
        status: &str,
        error: Option<&str>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        tx.execute(
            "INSERT INTO callbacks (request_id, url, status, delivered_at, last_error, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (request_id, url, status) DO UPDATE SET
                 delivered_at = excluded.delivered_at, last_error = excluded.last_error,
                 updated_at = excluded.updated_at",
            params![
                id,
                url,
                status,
                error.is_none().then(|| at.clone()),
                error,
                at
            ],
        )?;
        let event = if error.is_none() {
            "callback.delivered"
        } else {
            "callback.failed"
        };
        audit::append(
            &tx,
            Some(id),
            event,
            &serde_json::json!({ "status": status, "url_sha256": audit::sha256_hex(url.as_bytes()) }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every request, newest first.
    pub fn requests(&self) -> Result<Vec<RequestRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{REQUEST_SELECT} ORDER BY received_at DESC, id"))?;
        let rows = stmt
            .query_map([], request_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Move request `id` from `from` to `to` because of `event`, in one transaction with its
    /// audit entry. The status is written only if it is still `from`: a concurrent change
    /// (another process, a cancel) makes this fail instead of being overwritten. Callers decide
    /// `to` with [`crate::lifecycle::next`]; this is the ledger's only status write.
    pub fn transition(
        &self,
        id: &str,
        from: RequestStatus,
        to: RequestStatus,
        event: crate::lifecycle::Event,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        let closed = to.is_closed().then(|| at.clone());
        let changed = tx.execute(
            "UPDATE requests SET status = ?2, updated_at = ?3, closed_at = COALESCE(?4, closed_at)
             WHERE id = ?1 AND status = ?5",
            params![id, to.as_str(), at, closed, from.as_str()],
        )?;
        if changed == 0 {
            let now: Option<String> = tx
                .query_row("SELECT status FROM requests WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            return Err(Error::Usage(match now {
                None => format!("there is no request `{id}` in the ledger"),
                Some(now) => format!(
                    "request `{id}` changed meanwhile (it is {now}, not {from}); look at `dsrhub status {id}` and run again"
                ),
            }));
        }
        audit::append(
            &tx,
            Some(id),
            "request.status",
            &serde_json::json!({ "status": to.as_str(), "from": from.as_str(), "event": event.name() }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The facts about request `id`'s past that decide its transitions (`work_left` is the
    /// caller's: it depends on the processors configured now).
    pub fn facts(&self, id: &str) -> Result<crate::lifecycle::Facts> {
        let (approved, acted): (bool, bool) = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM approvals WHERE request_id = ?1),
                    acted_at IS NOT NULL
             FROM requests WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(crate::lifecycle::Facts {
            approved,
            changed_anything: acted,
            work_left: false,
        })
    }

    /// When the first action at a processor ran (or may have run) for request `id`.
    pub fn acted_at(&self, id: &str) -> Result<Option<Timestamp>> {
        Ok(ts(self.conn().query_row(
            "SELECT acted_at FROM requests WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?))
    }

    /// The subject's identifiers, while the request is open.
    pub fn subject(&self, id: &str) -> Result<Subject> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT identifiers FROM subjects WHERE request_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let text = text.ok_or_else(|| {
            Error::Usage(format!(
                "request `{id}` is closed: its subject's identifiers were purged"
            ))
        })?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Ledger(format!("stored identifiers are unreadable: {e}")))
    }

    /// The open requests whose subject shares an e-mail address with `subject` (compared
    /// without case), to warn before a second request for the same person is opened.
    pub fn open_requests_for(&self, subject: &Subject) -> Result<Vec<RequestRow>> {
        let wanted: Vec<String> = subject
            .emails
            .iter()
            .map(|e| e.trim().to_lowercase())
            .collect();
        let ids: Vec<(String, String)> = {
            let conn = self.conn();
            let mut stmt = conn.prepare("SELECT request_id, identifiers FROM subjects")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        let mut out = Vec::new();
        for (id, identifiers) in ids {
            let Ok(other) = serde_json::from_str::<Subject>(&identifiers) else {
                continue;
            };
            if other
                .emails
                .iter()
                .any(|e| wanted.contains(&e.trim().to_lowercase()))
            {
                let request = self.request(&id)?;
                if !request.status.is_closed() {
                    out.push(request);
                }
            }
        }
        Ok(out)
    }

    /// Forget the subject's identifiers and the identity-verification note (at closure).
    /// Evidence keeps ids, counts and hashes.
    pub fn purge_subject(&self, id: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        targets::keep_keys_while_retained(&tx, id)?;
        let values = changes::purge_change_values(&tx, id)?;
        let purged = tx.execute("DELETE FROM subjects WHERE request_id = ?1", [id])?;
        // The note on how the identity was verified may name the person, a birth date, a
        // document number; its hash is in the audit log (`request.received`,
        // `identity.verified`).
        let notes = tx.execute(
            "UPDATE requests SET identity_verification = '' WHERE id = ?1 AND identity_verification != ''",
            [id],
        )?;
        if purged + notes > 0 || values {
            let mut detail = serde_json::json!({ "identity_note": notes > 0 });
            if values {
                detail["rectified_values"] = true.into();
            }
            audit::append(&tx, Some(id), "subject.purged", &detail)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The tasks of a request, by processor id.
    pub fn tasks(&self, id: &str) -> Result<Vec<TaskRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT processor, state, stage, summary, error, error_kind, display_name, answer_due,
                    resume_after, approval_id IS NOT NULL
             FROM tasks WHERE request_id = ?1 ORDER BY processor",
        )?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(TaskRow {
                    processor: r.get(0)?,
                    state: TaskState::parse(&r.get::<_, String>(1)?).unwrap_or(TaskState::Failed),
                    stage: Stage::parse(&r.get::<_, String>(2)?).unwrap_or(Stage::New),
                    summary: r.get(3)?,
                    error: r.get(4)?,
                    error_kind: r.get(5)?,
                    display_name: r.get(6)?,
                    answer_due: r.get::<_, Option<String>>(7)?.and_then(|d| d.parse().ok()),
                    resume_after: r.get::<_, Option<String>>(8)?.and_then(|d| d.parse().ok()),
                    approved: r.get(9)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Update one task; `error` is cleared when `None`.
    pub fn set_task(
        &self,
        id: &str,
        processor: &str,
        state: TaskState,
        stage: Stage,
        summary: &str,
        error: Option<&ConnectorError>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        check_task_step(&tx, id, processor, stage)?;
        let error_text = error.map(|e| masked(&tx, id, &e.to_string())).transpose()?;
        tx.execute(
            "UPDATE tasks SET state = ?3, stage = ?4, summary = ?5, error = ?6, error_kind = ?7, updated_at = ?8,
                    resume_after = ?9
             WHERE request_id = ?1 AND processor = ?2",
            params![
                id,
                processor,
                state.as_str(),
                stage.as_str(),
                summary,
                error_text,
                error.map(|e| e.kind.as_str()),
                now().to_string(),
                error.and_then(|e| e.resume_at).map(|t| t.to_string()),
            ],
        )?;
        let mut detail = serde_json::json!({ "processor": processor, "state": state.as_str(), "stage": stage.as_str() });
        if let Some(e) = error {
            detail["error_kind"] = e.kind.as_str().into();
        }
        audit::append(&tx, Some(id), "task.state", &detail)?;
        tx.commit()?;
        Ok(())
    }

    /// A processor without an API was asked by letter: the answer is due on `answer_due`.
    pub fn letter_sent(
        &self,
        id: &str,
        processor: &str,
        answer_due: jiff::civil::Date,
        summary: &str,
        letter_sha256: &str,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        check_task_step(&tx, id, processor, Stage::AwaitingAnswer)?;
        tx.execute(
            "UPDATE tasks SET state = ?3, stage = ?4, summary = ?5, answer_due = ?6, error = NULL, error_kind = NULL, updated_at = ?7
             WHERE request_id = ?1 AND processor = ?2",
            params![
                id,
                processor,
                TaskState::ManualPending.as_str(),
                Stage::AwaitingAnswer.as_str(),
                summary,
                answer_due.to_string(),
                now().to_string()
            ],
        )?;
        // A letter asking for erasure is an action at that processor.
        mark_acted(&tx, id, RequestKind::Erasure)?;
        audit::append(
            &tx,
            Some(id),
            "letter.sent",
            &serde_json::json!({ "processor": processor, "answer_due": answer_due.to_string(), "letter_sha256": letter_sha256 }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A processor without an API answered: record its outcome, the evidence's hash and a
    /// note (which must hold no personal data), and who recorded it.
    pub fn answer_received(
        &self,
        id: &str,
        processor: &str,
        state: TaskState,
        summary: &str,
        evidence_sha256: Option<&str>,
        by: &str,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        check_task_step(&tx, id, processor, Stage::Answered)?;
        tx.execute(
            "UPDATE tasks SET state = ?3, stage = ?4, summary = ?5, updated_at = ?6 WHERE request_id = ?1 AND processor = ?2",
            params![id, processor, state.as_str(), Stage::Answered.as_str(), summary, now().to_string()],
        )?;
        audit::append(
            &tx,
            Some(id),
            "answer.received",
            &serde_json::json!({
                "processor": processor,
                "state": state.as_str(),
                "evidence_sha256": evidence_sha256,
                "by": by,
            }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Store discovered records with their planned actions. Records already stored for this
    /// request and processor are left as they are (a resumed run never re-plans them).
    ///
    /// Items may come from an iterator that builds them one by one (an access request with
    /// 100,000 messages never holds them all). Returns how many items per action.
    pub fn save_items<I>(
        &self,
        id: &str,
        processor: &str,
        items: I,
    ) -> Result<std::collections::BTreeMap<&'static str, usize>>
    where
        I: IntoIterator,
        I::Item: std::borrow::Borrow<NewItem>,
    {
        use std::borrow::Borrow;
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        let mut counts = std::collections::BTreeMap::<&'static str, usize>::new();
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO items (request_id, processor, object, record_id, scope, matched_by, categories,
                     linked_to, action, fields, basis, retain_until, note, state, updated_at, descriptor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?;
            for item in items {
                let item: &NewItem = item.borrow();
                *counts.entry(item.action.as_str()).or_default() += 1;
                let inserted = stmt.execute(params![
                    id,
                    processor,
                    item.reference.object,
                    item.reference.id,
                    item.reference.scope.clone().unwrap_or_default(),
                    item.matched_by,
                    serde_json::to_string(&item.categories).expect("categories serialise"),
                    item.linked_to,
                    item.action.as_str(),
                    serde_json::to_string(&item.fields).expect("fields serialise"),
                    item.basis,
                    item.retain_until.map(|d| d.to_string()),
                    item.note,
                    ItemState::Planned.as_str(),
                    at,
                    serde_json::to_string(&item.descriptor).expect("descriptor serialises"),
                ])?;
                if inserted > 0 {
                    changes::save_item_changes(&tx, id, tx.last_insert_rowid(), &item.changes)?;
                }
            }
        }
        audit::append(
            &tx,
            Some(id),
            "plan.saved",
            &serde_json::json!({ "processor": processor, "actions": counts }),
        )?;
        tx.commit()?;
        Ok(counts)
    }

    /// The items of a request (optionally of one processor), in a stable order.
    pub fn items(&self, id: &str, processor: Option<&str>) -> Result<Vec<ItemRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{ITEM_SELECT} WHERE request_id = ?1 AND (?2 IS NULL OR processor = ?2) ORDER BY processor, id"
        ))?;
        let rows = stmt
            .query_map(params![id, processor], item_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The first `limit` items of a request in [`Ledger::items`]' order, and how many it has:
    /// a page that shows a request of 100,000 records loads only what it shows.
    pub fn items_first(&self, id: &str, limit: usize) -> Result<(Vec<ItemRow>, usize)> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{ITEM_SELECT} WHERE request_id = ?1 ORDER BY processor, id LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![id, limit as i64], item_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let total: i64 = conn.query_row(
            "SELECT count(*) FROM items WHERE request_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        Ok((rows, usize::try_from(total).unwrap_or(0)))
    }

    /// How many items of request `id` are still to delete or anonymise (the blast-radius
    /// cap), counted in the database rather than loaded.
    pub fn pending_changes(&self, id: &str) -> Result<usize> {
        let conn = self.conn();
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM items WHERE request_id = ?1 AND action IN (?2, ?3, ?6)
                 AND state NOT IN (?4, ?5)",
            params![
                id,
                Action::Delete.as_str(),
                Action::Anonymize.as_str(),
                ItemState::Done.as_str(),
                ItemState::Skipped.as_str(),
                Action::Change.as_str()
            ],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// One processor's items with an id above `after`, at most `limit`, in id order: for
    /// walking through many items without holding them all. `linked`: only items found through
    /// another record (`Some(true)`), only the others (`Some(false)`), or all (`None`).
    pub fn items_after(
        &self,
        id: &str,
        processor: &str,
        after: i64,
        limit: usize,
        linked: Option<bool>,
    ) -> Result<Vec<ItemRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{ITEM_SELECT} WHERE request_id = ?1 AND processor = ?2 AND id > ?3
                 AND (?5 IS NULL OR (linked_to IS NOT NULL) = ?5)
             ORDER BY id LIMIT ?4"
        ))?;
        let rows = stmt
            .query_map(
                params![id, processor, after, limit as i64, linked],
                item_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The item planned for `reference` at `processor`, if any.
    pub fn item_for(
        &self,
        id: &str,
        processor: &str,
        reference: &RecordRef,
    ) -> Result<Option<ItemRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{ITEM_SELECT} WHERE request_id = ?1 AND processor = ?2 AND object = ?3
                 AND record_id = ?4 AND scope = ?5"
        ))?;
        Ok(stmt
            .query_row(
                params![
                    id,
                    processor,
                    reference.object,
                    reference.id,
                    reference.scope.clone().unwrap_or_default()
                ],
                item_row,
            )
            .optional()?)
    }

    /// One processor's items counted by action, state and outcome, without loading them.
    pub fn item_tally(&self, id: &str, processor: &str) -> Result<Vec<Tally>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT action, state, outcome, COUNT(*) FROM items WHERE request_id = ?1 AND processor = ?2
             GROUP BY action, state, outcome",
        )?;
        let rows = stmt
            .query_map(params![id, processor], |r| {
                let action: String = r.get(0)?;
                let state: String = r.get(1)?;
                Ok(Tally {
                    action: Action::parse(&action).unwrap_or(Action::Review),
                    state: ItemState::parse(&state).unwrap_or(ItemState::Failed),
                    outcome: r.get(2)?,
                    count: r.get::<_, i64>(3)? as usize,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Move one item to `state`, with its outcome and a personal-data-free detail.
    pub fn mark_item(
        &self,
        item: &ItemRow,
        state: ItemState,
        outcome: Option<&str>,
        detail: Option<&str>,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        mark_in(&tx, item, state, outcome, detail, &now().to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Mark several items with one state and outcome in one transaction (an export of many
    /// records), each still with its own audit entry.
    pub fn mark_items(&self, items: &[&ItemRow], state: ItemState, outcome: &str) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        for item in items {
            mark_in(&tx, item, state, Some(outcome), None, &at)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Store one inventory sync: `(processor, entry as JSON)` per processor. Returns the run id.
    pub fn save_inventory(&self, entries: &[(String, serde_json::Value)]) -> Result<i64> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        tx.execute("INSERT INTO inventory_runs (at) VALUES (?1)", params![at])?;
        let run = tx.last_insert_rowid();
        for (processor, entry) in entries {
            tx.execute(
                "INSERT INTO inventory_entries (run_id, processor, entry) VALUES (?1, ?2, ?3)",
                params![run, processor, entry.to_string()],
            )?;
        }
        audit::append(
            &tx,
            None,
            "inventory.synced",
            &serde_json::json!({ "run": run, "processors": entries.len() }),
        )?;
        tx.commit()?;
        Ok(run)
    }

    /// The latest `limit` inventory syncs, newest first: (run id, time, entries).
    pub fn inventory_runs(
        &self,
        limit: usize,
    ) -> Result<Vec<(i64, String, Vec<serde_json::Value>)>> {
        let conn = self.conn();
        let mut runs =
            conn.prepare("SELECT id, at FROM inventory_runs ORDER BY id DESC LIMIT ?1")?;
        let runs: Vec<(i64, String)> = runs
            .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut entries = conn
            .prepare("SELECT entry FROM inventory_entries WHERE run_id = ?1 ORDER BY processor")?;
        let mut out = Vec::new();
        for (id, at) in runs {
            let list = entries
                .query_map([id], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .filter_map(|e| serde_json::from_str(&e).ok())
                .collect();
            out.push((id, at, list));
        }
        Ok(out)
    }

    /// Up to `limit` items of request `id` whose note contains `needle`, in order, and how
    /// many there are in all.
    pub fn items_noted(
        &self,
        id: &str,
        needle: &str,
        limit: usize,
    ) -> Result<(Vec<ItemRow>, usize)> {
        let conn = self.conn();
        let pattern = format!(
            "%{}%",
            needle
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let total: i64 = conn.query_row(
            "SELECT COUNT(*) FROM items WHERE request_id = ?1 AND note LIKE ?2 ESCAPE '\\'",
            params![id, pattern],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare(&format!(
            "{ITEM_SELECT} WHERE request_id = ?1 AND note LIKE ?2 ESCAPE '\\' ORDER BY id LIMIT ?3"
        ))?;
        let rows = stmt
            .query_map(params![id, pattern, limit as i64], item_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((rows, total as usize))
    }

    /// Add a note to each item's notes (review flags found while exporting a chunk), in one
    /// transaction.
    pub fn note_items(&self, notes: &[(&ItemRow, String)]) -> Result<()> {
        if notes.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        for (item, note) in notes {
            tx.execute(
                "UPDATE items SET note = CASE WHEN note IS NULL OR note = '' THEN ?2
                                              ELSE note || '; ' || ?2 END
                 WHERE id = ?1",
                params![item.id, note],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Record that one item's call failed, with the (personal-data-free) error.
    pub fn fail_item(&self, item: &ItemRow, error: &ConnectorError) -> Result<()> {
        self.mark_item(
            item,
            ItemState::Failed,
            Some("failed"),
            Some(&error.to_string()),
        )
    }

    /// The subject was recognised as a data subject of `controller`: what `processors` hold
    /// is theirs, and the not yet executed actions on it become `forward`.
    pub fn set_forwarding(
        &self,
        id: &str,
        controller: &str,
        processors: &[String],
        note: &str,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let first = tx.query_row(
            "SELECT controller IS NULL OR controller != ?2 FROM requests WHERE id = ?1",
            params![id, controller],
            |r| r.get::<_, bool>(0),
        )?;
        tx.execute(
            "UPDATE requests SET controller = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, controller, now().to_string()],
        )?;
        let mut forwarded = 0;
        for processor in processors {
            forwarded += tx.execute(
                // An access export already read is now forwarded, not disclosed.
                "UPDATE items SET action = ?5, note = ?3, updated_at = ?4,
                        outcome = CASE WHEN state = ?6 THEN ?7 ELSE outcome END
                 WHERE request_id = ?1 AND processor = ?2
                   AND action IN (?8, ?9, ?10, ?11, ?13)
                   -- never rewrite history: an executed action stays what it was
                   AND (state NOT IN (?6, ?12) OR action = ?11)",
                params![
                    id,
                    processor,
                    note,
                    now().to_string(),
                    Action::Forward.as_str(),
                    ItemState::Done.as_str(),
                    "forwarded",
                    Action::Delete.as_str(),
                    Action::Anonymize.as_str(),
                    Action::Retain.as_str(),
                    Action::Export.as_str(),
                    ItemState::Started.as_str(),
                    Action::Change.as_str(),
                ],
            )?;
        }
        if !first && forwarded == 0 {
            // Applied again after a planning pass that found nothing new for the controller.
            tx.commit()?;
            return Ok(());
        }
        audit::append(
            &tx,
            Some(id),
            "forwarding.decided",
            &serde_json::json!({ "controller_sha256": audit::sha256_hex(controller.as_bytes()), "records": forwarded }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The forwarding and reply letters went out.
    pub fn forwarded(&self, id: &str, letters_sha256: &[String]) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        tx.execute(
            "UPDATE requests SET forwarded_at = ?2, updated_at = ?2, acted_at = COALESCE(acted_at, ?2)
             WHERE id = ?1",
            params![id, at],
        )?;
        audit::append(
            &tx,
            Some(id),
            "forwarding.sent",
            &serde_json::json!({ "letters_sha256": letters_sha256 }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Record a verification run.
    pub fn set_verification(
        &self,
        id: &str,
        ran_at: Timestamp,
        remaining: &[Remaining],
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        tx.execute(
            "UPDATE requests SET verification_ran_at = ?2, verification_remaining = ?3, updated_at = ?2 WHERE id = ?1",
            params![id, ran_at.to_string(), serde_json::to_string(remaining).expect("remaining serialises")],
        )?;
        audit::append(
            &tx,
            Some(id),
            "verification",
            &serde_json::json!({ "remaining": remaining.len() }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Append an audit entry. `detail` must hold no personal data (ids, counts, hashes).
    pub fn audit(
        &self,
        request_id: Option<&str>,
        event: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        audit::append(&tx, request_id, event, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the audit log holds `event` for request `id` (e.g. `plan.approved`).
    pub fn has_event(&self, id: &str, event: &str) -> Result<bool> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM audit WHERE request_id = ?1 AND event = ?2 LIMIT 1",
                params![id, event],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Record that letter `stem` of request `id` is about to be sent by e-mail.
    pub fn record_letter_intent(&self, id: &str, stem: &str, sha256: &str) -> Result<()> {
        self.audit(
            Some(id),
            "letter.sending",
            &serde_json::json!({ "stem": stem, "letter_sha256": sha256 }),
        )
    }

    /// Record that sending letter `stem` failed, so nothing went out (`why` is scrubbed).
    pub fn clear_letter_intent(&self, id: &str, stem: &str, why: &str) -> Result<()> {
        self.audit(
            Some(id),
            "letter.not_sent",
            &serde_json::json!({ "stem": stem, "error": why }),
        )
    }

    /// Whether an intent to send letter `stem` of request `id` was recorded and not cleared
    /// by a failed send since: the letter may have gone out.
    pub fn has_letter_intent(&self, id: &str, stem: &str) -> Result<bool> {
        let last: Option<String> = self
            .conn()
            .query_row(
                "SELECT event FROM audit WHERE request_id = ?1
                     AND event IN ('letter.sending', 'letter.not_sent')
                     AND json_extract(detail, '$.stem') = ?2
                 ORDER BY seq DESC LIMIT 1",
                params![id, stem],
                |r| r.get(0),
            )
            .optional()?;
        Ok(last.as_deref() == Some("letter.sending"))
    }

    /// Check the audit log's hash chain; returns the number of entries.
    pub fn verify_audit(&self) -> Result<usize> {
        audit::verify(&self.conn())
    }

    /// The audit entries of request `id` (of the whole log when `None`), in order.
    pub fn audit_entries(&self, id: Option<&str>) -> Result<Vec<AuditEntry>> {
        audit::entries(&self.conn(), id, None)
    }

    /// The audit entries of request `id` whose event starts with `prefix` (`"reply."`), in
    /// order: without reading the rest (a large erasure has an entry per record).
    pub fn audit_events(&self, id: &str, prefix: &str) -> Result<Vec<AuditEntry>> {
        audit::entries(&self.conn(), Some(id), Some(prefix))
    }

    /// Request `id`'s audit entries but those about single records, and how many of those
    /// there are: a timeline a person can read for an erasure of 100,000 messages.
    pub fn audit_timeline(&self, id: &str) -> Result<(Vec<AuditEntry>, usize)> {
        audit::timeline(&self.conn(), id)
    }

    /// When this hub recorded its first request (from the audit log, which is never reduced):
    /// a request submitted before then predates the hub.
    pub fn first_request_recorded_at(&self) -> Result<Option<Timestamp>> {
        let at: Option<String> = self
            .conn()
            .query_row(
                "SELECT at FROM audit WHERE request_id IS NOT NULL ORDER BY seq LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(ts(at))
    }

    /// The audit chain's last entry.
    pub fn audit_head(&self) -> Result<Option<ChainHead>> {
        audit::head(&self.conn())
    }

    /// Where in the chain the entry with `hash` is (`None`: not in this log).
    pub fn audit_position(&self, hash: &str) -> Result<Option<i64>> {
        audit::position_of(&self.conn(), hash)
    }

    /// Mark the item for `reference` as deselected by a reviewer (before execution only).
    pub fn deselect(&self, id: &str, processor: &str, reference: &RecordRef) -> Result<bool> {
        let items = self.items(id, Some(processor))?;
        let Some(item) = items
            .into_iter()
            .find(|i| &i.reference == reference && i.state == ItemState::Planned)
        else {
            return Ok(false);
        };
        self.mark_item(
            &item,
            ItemState::Skipped,
            Some("deselected"),
            Some("deselected by a reviewer before execution"),
        )?;
        Ok(true)
    }
}

/// The columns [`item_row`] reads, in its order.
const ITEM_SELECT: &str =
    "SELECT id, processor, object, record_id, scope, matched_by, categories, linked_to, action, fields,
            basis, retain_until, note, state, outcome, detail, descriptor FROM items";

const REQUEST_SELECT: &str =
    "SELECT id, kind, status, received_at, due_at, extended_due_at, extension_reason,
    verification_ran_at, verification_remaining, closed_at, controller, forwarded_at, language
    FROM requests";

fn request_row(r: &Row<'_>) -> rusqlite::Result<RequestRow> {
    let parse_ts = |i: usize| -> rusqlite::Result<Timestamp> {
        let text: String = r.get(i)?;
        text.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    Ok(RequestRow {
        id: r.get(0)?,
        kind: RequestKind::parse(&r.get::<_, String>(1)?).unwrap_or(RequestKind::Access),
        status: RequestStatus::parse(&r.get::<_, String>(2)?).unwrap_or(RequestStatus::Failed),
        received_at: parse_ts(3)?,
        due_at: parse_ts(4)?,
        extended_due_at: ts(r.get(5)?),
        extension_reason: r.get(6)?,
        verification_ran_at: ts(r.get(7)?),
        verification_remaining: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
        closed_at: ts(r.get(9)?),
        controller: r.get(10)?,
        forwarded_at: ts(r.get(11)?),
        language: r.get(12)?,
    })
}

/// Move one item to `state` inside `tx`, with its audit entry.
pub(crate) fn mark_in(
    tx: &rusqlite::Transaction<'_>,
    item: &ItemRow,
    state: ItemState,
    outcome: Option<&str>,
    detail: Option<&str>,
    at: &str,
) -> Result<()> {
    let request_id: String = tx.query_row(
        "SELECT request_id FROM items WHERE id = ?1",
        [item.id],
        |r| r.get(0),
    )?;
    let detail = detail.map(|d| masked(tx, &request_id, d)).transpose()?;
    tx.execute(
        "UPDATE items SET state = ?2, outcome = COALESCE(?3, outcome), detail = COALESCE(?4, detail), updated_at = ?5 WHERE id = ?1",
        params![item.id, state.as_str(), outcome, detail, at],
    )?;
    if state != ItemState::Planned
        && state != ItemState::Skipped
        && matches!(item.action, Action::Delete | Action::Anonymize)
    {
        tx.execute(
            "UPDATE requests SET acted_at = COALESCE(acted_at, ?2)
             WHERE id = (SELECT request_id FROM items WHERE id = ?1)",
            params![item.id, at],
        )?;
    }
    let event = format!("item.{}", state.as_str());
    let detail = serde_json::json!({
        "processor": item.processor,
        "record": item.reference.to_string(),
        "action": item.action.as_str(),
        "outcome": outcome,
    });
    audit::append(tx, Some(&request_id), &event, &detail)?;
    Ok(())
}

/// `text` (a vendor's error, a processor's answer) as it may be stored for request `id`: every
/// identifier of its subject masked, names included, while the ledger still knows them
/// ([`dsrhub_connector::redact::mask_subject`]); scrubbed of e-mail-like tokens and digit runs
/// after.
fn masked(tx: &rusqlite::Transaction<'_>, id: &str, text: &str) -> Result<String> {
    let identifiers: Option<String> = tx
        .query_row(
            "SELECT identifiers FROM subjects WHERE request_id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let subject: Subject = identifiers
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    Ok(dsrhub_connector::redact::mask_subject(text, &subject))
}

/// Refuse, inside `tx`, a task change the life cycle does not allow: any change of a closed
/// request's task, and a stage step not in [`crate::lifecycle::task_step_allowed`].
fn check_task_step(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    processor: &str,
    to: Stage,
) -> Result<()> {
    let (status, stage): (String, String) = tx
        .query_row(
            "SELECT r.status, t.stage FROM tasks t JOIN requests r ON r.id = t.request_id
             WHERE t.request_id = ?1 AND t.processor = ?2",
            params![id, processor],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| Error::Usage(format!("request `{id}` has no processor `{processor}`")))?;
    let status = RequestStatus::parse(&status)
        .ok_or_else(|| Error::Ledger(format!("unknown request status `{status}`")))?;
    if status.is_closed() {
        return Err(Error::Usage(format!(
            "request `{id}` is {status}: a closed request never changes"
        )));
    }
    let from = Stage::parse(&stage)
        .ok_or_else(|| Error::Ledger(format!("unknown task stage `{stage}`")))?;
    if !crate::lifecycle::task_step_allowed(from, to) {
        return Err(Error::Ledger(format!(
            "{processor}'s task of request `{id}` cannot go from {from} to {to}"
        )));
    }
    Ok(())
}

/// Record inside `tx` that request `id` acted at a processor, if it is of `kind`.
fn mark_acted(tx: &rusqlite::Transaction<'_>, id: &str, kind: RequestKind) -> Result<()> {
    tx.execute(
        "UPDATE requests SET acted_at = COALESCE(acted_at, ?2) WHERE id = ?1 AND kind = ?3",
        params![id, now().to_string(), kind.as_str()],
    )?;
    Ok(())
}

fn item_row(r: &Row<'_>) -> rusqlite::Result<ItemRow> {
    let scope: String = r.get(4)?;
    Ok(ItemRow {
        id: r.get(0)?,
        processor: r.get(1)?,
        reference: RecordRef {
            object: r.get(2)?,
            id: r.get(3)?,
            scope: (!scope.is_empty()).then_some(scope),
        },
        matched_by: r.get(5)?,
        categories: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
        linked_to: r.get(7)?,
        action: Action::parse(&r.get::<_, String>(8)?).unwrap_or(Action::Review),
        fields: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
        basis: r.get(10)?,
        retain_until: r.get::<_, Option<String>>(11)?.and_then(|d| d.parse().ok()),
        note: r.get(12)?,
        state: ItemState::parse(&r.get::<_, String>(13)?).unwrap_or(ItemState::Failed),
        outcome: r.get(14)?,
        detail: r.get(15)?,
        descriptor: serde_json::from_str(&r.get::<_, String>(16)?).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests;
