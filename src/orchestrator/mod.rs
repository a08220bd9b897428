//! The orchestrator: one task per processor, run concurrently, every step recorded in the
//! ledger before and after it runs.
//!
//! `request → discover (parallel) → plan (policy) → [approval] → execute (parallel) → verify
//! (discover again) → report`. A processor that fails does not stop the others; a run that
//! dies anywhere is resumed by running the same request again, which continues from each
//! task's recorded stage and never repeats a finished action.

mod access;
mod erasure;
mod failpoint;
mod forwarding;
mod letters;

pub use letters::Answer;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use dsrhub_connector::{Connector, ConnectorError, Record, Subject};

use crate::config::Config;
pub use crate::config::PolicyConfig;
use crate::error::{Error, Result};
use crate::ledger::{
    Ledger, NewItem, NewTask, RequestKind, RequestRow, RequestStatus, Stage, TaskRow, TaskState,
};
use crate::registry::Processor;

/// Discovered records stored in the ledger at a time.
const SAVE_CHUNK: usize = 1000;

/// Live progress for people watching (progress bars in the CLI, nothing in tests).
pub trait Progress: Send + Sync {
    /// A processor started a step.
    fn update(&self, processor: &str, message: &str);
    /// A processor finished.
    fn finish(&self, processor: &str, message: &str);
}

/// Shows nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn update(&self, _: &str, _: &str) {}
    fn finish(&self, _: &str, _: &str) {}
}

/// How to run a request.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Erasure: carry out the plan (`--yes`); without it the run stops after planning.
    pub execute: bool,
    /// Erasure: raise the blast-radius cap for this run (`--max-records`).
    pub max_records: Option<usize>,
    /// Access: where the export ZIP is written.
    pub export_dir: Option<PathBuf>,
}

/// The hub: ledger, processors, policy.
pub struct Hub {
    ledger: Arc<Ledger>,
    processors: Vec<Processor>,
    policy: PolicyConfig,
    timezone: String,
    progress: Arc<dyn Progress>,
    fixed_today: Option<jiff::civil::Date>,
    organisation: String,
    contact_email: String,
    reports_dir: PathBuf,
    mailer: Option<crate::mail::Mailer>,
    controllers: Vec<crate::config::ControllerConfig>,
}

impl Hub {
    /// A hub over `ledger` with the configured `processors`.
    pub fn new(ledger: Arc<Ledger>, processors: Vec<Processor>, config: &Config) -> Hub {
        Hub {
            ledger,
            processors,
            policy: config.policy.clone(),
            timezone: config.hub.timezone.clone(),
            progress: Arc::new(Silent),
            fixed_today: None,
            organisation: config.hub.organisation.clone(),
            contact_email: config.hub.contact_email.clone(),
            reports_dir: config.reports_dir(),
            mailer: None,
            controllers: config.controllers.clone(),
        }
    }

    /// Send letters to processors without an API by e-mail through `mailer`.
    pub fn with_mailer(mut self, mailer: crate::mail::Mailer) -> Hub {
        self.mailer = Some(mailer);
        self
    }

    /// The mailer letters go through, when `[hub.smtp]` is set.
    pub fn mailer(&self) -> Option<&crate::mail::Mailer> {
        self.mailer.as_ref()
    }

    /// Report progress to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Hub {
        self.progress = progress;
        self
    }

    /// Decide retention as if today were `date` (tests, and "what if" dry runs).
    pub fn with_today(mut self, date: jiff::civil::Date) -> Hub {
        self.fixed_today = Some(date);
        self
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// The configured processors.
    pub fn processors(&self) -> &[Processor] {
        &self.processors
    }

    fn connector(&self, id: &str) -> Option<&Arc<dyn Connector>> {
        self.processors
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.connector.as_ref())
    }

    /// Record a new request whose subject's identity has been verified (`identity_verification`
    /// says how; it is stored with the request and only hashed into the audit log).
    pub fn open(
        &self,
        kind: RequestKind,
        subject: &Subject,
        identity_verification: &str,
    ) -> Result<String> {
        validate_subject(subject)?;
        if identity_verification.trim().is_empty() {
            return Err(Error::Usage(
                "--identity-verified: say how the subject's identity was verified before anything is disclosed or erased"
                    .into(),
            ));
        }
        self.create(kind, subject, identity_verification, crate::ledger::now())
    }

    /// Record a request with one task per configured processor; `identity_verification`
    /// empty means not verified yet. The deadline counts from `received`.
    fn create(
        &self,
        kind: RequestKind,
        subject: &Subject,
        identity_verification: &str,
        received: jiff::Timestamp,
    ) -> Result<String> {
        let due =
            crate::deadline::add_months(received, self.policy.response_months, &self.timezone)?;
        let processors: Vec<NewTask> = self
            .processors
            .iter()
            .map(|p| NewTask {
                processor: p.id.clone(),
                enabled: p.connector.is_some(),
                display_name: p.display_name.clone(),
            })
            .collect();
        self.ledger.create_request(
            kind,
            subject,
            identity_verification,
            received,
            due,
            &processors,
        )
    }

    /// Record a request received through the API, before the subject's identity is verified:
    /// nothing runs until [`Hub::verify_identity`]. The organisation received it when the
    /// subject `submitted` it (its web form is the organisation's own channel), so the deadline
    /// counts from then, never from later than now.
    pub fn open_unverified(
        &self,
        kind: RequestKind,
        subject: &Subject,
        submitted: jiff::Timestamp,
    ) -> Result<String> {
        validate_subject(subject)?;
        // To the second, as every ledger timestamp.
        let submitted = jiff::Timestamp::from_second(submitted.as_second())
            .map_err(|e| Error::Usage(format!("submitted_time: {e}")))?;
        let received = submitted.min(crate::ledger::now());
        self.create(kind, subject, "", received)
    }

    /// Record how the subject's identity was verified; the request may run from then on.
    pub fn verify_identity(&self, id: &str, how: &str) -> Result<()> {
        if how.trim().is_empty() {
            return Err(Error::Usage(
                "how: say how the subject's identity was verified".into(),
            ));
        }
        self.ledger.verify_identity(id, how)
    }

    /// Withdraw a request that has changed nothing yet (received, verified, planned, or only
    /// searched); the subject's identifiers are purged as for any closed request. `reason`
    /// is hashed into the audit log.
    pub fn cancel(&self, id: &str, reason: &str) -> Result<RequestRow> {
        if reason.trim().is_empty() {
            return Err(Error::Usage(
                "reason: say why the request is withdrawn (kept as a hash in the audit log)".into(),
            ));
        }
        let request = self.ledger.request(id)?;
        let cancellable = matches!(
            request.status,
            RequestStatus::Received
                | RequestStatus::IdentityVerified
                | RequestStatus::Discovering
                | RequestStatus::Planned
        ) || (request.kind == RequestKind::Access && !request.status.is_closed());
        if !cancellable {
            return Err(Error::Usage(format!(
                "request `{id}` is {}: only a request that has changed nothing yet can be cancelled",
                request.status
            )));
        }
        self.ledger.audit(
            Some(id),
            "request.cancelled",
            &serde_json::json!({ "reason_sha256": crate::ledger::sha256_hex(reason.as_bytes()) }),
        )?;
        self.ledger.set_status(id, RequestStatus::Cancelled)?;
        self.ledger.purge_subject(id)?;
        self.ledger.request(id)
    }

    /// Run (or resume) a request.
    pub async fn run(&self, id: &str, options: &RunOptions) -> Result<RequestRow> {
        let request = self.ledger.request(id)?;
        if request.status.is_closed() {
            return Ok(request);
        }
        if request.status == RequestStatus::Received {
            return Err(Error::Usage(format!(
                "request `{id}`: the subject's identity is not verified yet; nothing is disclosed or erased before it is"
            )));
        }
        match request.kind {
            RequestKind::Access => self.run_access(&request, options).await?,
            RequestKind::Erasure => self.run_erasure(&request, options).await?,
        }
        self.ledger.request(id)
    }

    /// Record a processor's failure; retryable ones are resumed by the next run.
    fn task_failed(
        &self,
        id: &str,
        processor: &str,
        stage: Stage,
        what: &str,
        e: &ConnectorError,
    ) -> Result<()> {
        if let Some(at) = e.resume_at {
            // The vendor's daily limit is spent: wait, and do not call it before the reset.
            let local = at
                .in_tz(&self.timezone)
                .map(|z| z.strftime("%Y-%m-%d %H:%M %Z").to_string())
                .unwrap_or_else(|_| at.to_string());
            let summary =
                format!("{what}: the processor's call limit is spent; resumes after {local}");
            self.progress.finish(processor, &summary);
            return self.ledger.set_task(
                id,
                processor,
                TaskState::Waiting,
                stage,
                &summary,
                Some(e),
            );
        }
        let resume = if e.is_retryable() {
            "; will resume on the next run"
        } else {
            ""
        };
        let summary = format!("{what}{resume}");
        self.progress.finish(processor, &format!("{what}: {e}"));
        self.ledger
            .set_task(id, processor, TaskState::Failed, stage, &summary, Some(e))
    }

    /// Whether `task` waits for a vendor's limit to reset; says so to people watching.
    fn waiting(&self, task: &TaskRow) -> bool {
        let waits = task.waits_at(jiff::Timestamp::now());
        if waits {
            self.progress.finish(&task.processor, &task.summary);
        }
        waits
    }

    /// The task's connector; `None` (and the task marked skipped) when the processor is no
    /// longer configured.
    fn connector_or_skip(&self, id: &str, processor: &str) -> Result<Option<&Arc<dyn Connector>>> {
        let connector = self.connector(processor);
        if connector.is_none() {
            self.ledger.set_task(
                id,
                processor,
                TaskState::Skipped,
                Stage::Skipped,
                "skipped: processor not configured",
                None,
            )?;
        }
        Ok(connector)
    }

    /// Record (and show) that discovery of one task started.
    fn discovery_started(&self, id: &str, processor: &str) -> Result<()> {
        self.progress.update(processor, "discovering");
        self.ledger.set_task(
            id,
            processor,
            TaskState::Running,
            Stage::New,
            "discovering",
            None,
        )
    }

    /// Discovery for one task, each record stored as the item `to_item` makes of it as soon as
    /// it arrives (in chunks of [`SAVE_CHUNK`]), so a processor with 100,000 matches is never
    /// held in memory at once; the items per action, or `None` after recording a failure.
    async fn discover_into_ledger(
        &self,
        id: &str,
        processor: &str,
        connector: &Arc<dyn Connector>,
        subject: &Subject,
        to_item: &(dyn Fn(&Record) -> NewItem + Sync),
    ) -> Result<Option<BTreeMap<&'static str, usize>>> {
        self.discovery_started(id, processor)?;
        let mut counts = BTreeMap::new();
        let mut buffer = Vec::with_capacity(SAVE_CHUNK);
        let mut ledger_error = None;
        let mut flush = |buffer: &mut Vec<NewItem>| -> Result<()> {
            for (action, n) in self.ledger.save_items(id, processor, buffer.drain(..))? {
                *counts.entry(action).or_insert(0) += n;
            }
            Ok(())
        };
        let result = {
            let mut sink = |record: Record| -> Result<(), ConnectorError> {
                buffer.push(to_item(&record));
                if buffer.len() >= SAVE_CHUNK {
                    if let Err(e) = flush(&mut buffer) {
                        ledger_error = Some(e);
                        return Err(ConnectorError::permanent(
                            "the ledger could not store the findings",
                        ));
                    }
                }
                Ok(())
            };
            connector.discover_each(subject, &mut sink).await
        };
        if let Some(e) = ledger_error {
            return Err(e);
        }
        match result {
            Ok(()) => {
                flush(&mut buffer)?;
                Ok(Some(counts))
            }
            Err(e) => {
                self.task_failed(id, processor, Stage::New, "discovery failed", &e)?;
                Ok(None)
            }
        }
    }

    /// Today's date in the organisation's time zone.
    fn today(&self) -> Result<jiff::civil::Date> {
        if let Some(date) = self.fixed_today {
            return Ok(date);
        }
        jiff::Timestamp::now()
            .in_tz(&self.timezone)
            .map(|z| z.date())
            .map_err(|_| {
                Error::Config(format!(
                    "hub.timezone: `{}` is not a known time zone",
                    self.timezone
                ))
            })
    }

    /// Set the request's final status from its tasks; purge the subject when it is closed.
    fn conclude(&self, id: &str) -> Result<RequestStatus> {
        let tasks = self.ledger.tasks(id)?;
        let mut status = conclusion(&tasks);
        // Everything there was went to the controller: the organisation's part is closed.
        if status == RequestStatus::Completed && self.ledger.request(id)?.forwarded_at.is_some() {
            let items = self.ledger.items(id, None)?;
            if !items.iter().any(|i| {
                !matches!(
                    i.action,
                    crate::ledger::Action::Forward | crate::ledger::Action::Review
                )
            }) {
                status = RequestStatus::ForwardedToController;
            }
        }
        self.ledger.set_status(id, status)?;
        if status.is_closed() {
            self.ledger.purge_subject(id)?;
        }
        Ok(status)
    }
}

/// The request status its tasks add up to.
fn conclusion(tasks: &[TaskRow]) -> RequestStatus {
    let active: Vec<&TaskRow> = tasks
        .iter()
        .filter(|t| t.state != TaskState::Skipped)
        .collect();
    let count = |states: &[TaskState]| active.iter().filter(|t| states.contains(&t.state)).count();
    let failed = count(&[TaskState::Failed]);
    let finished = count(&[TaskState::Done, TaskState::Retained, TaskState::Forwarded]);
    let awaiting = count(&[TaskState::ManualPending, TaskState::Waiting]);
    if failed == 0 && finished == active.len() {
        RequestStatus::Completed
    } else if failed == 0 && finished + awaiting == active.len() {
        RequestStatus::AwaitingProcessors
    } else if finished + awaiting > 0 || failed < active.len() {
        RequestStatus::PartiallyCompleted
    } else {
        RequestStatus::Failed
    }
}

fn validate_subject(subject: &Subject) -> Result<()> {
    if subject.emails.is_empty() {
        return Err(Error::Usage(
            "--email: at least one verified e-mail address is needed".into(),
        ));
    }
    for (i, email) in subject.emails.iter().enumerate() {
        let ok = email.len() <= 320
            && !email.chars().any(char::is_control)
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        if !ok {
            return Err(Error::Usage(format!(
                "--email #{}: not an e-mail address",
                i + 1
            )));
        }
    }
    for (field, values) in [("--phone", &subject.phones), ("--name", &subject.names)] {
        if values
            .iter()
            .any(|v| v.trim().is_empty() || v.chars().any(char::is_control))
        {
            return Err(Error::Usage(format!(
                "{field}: empty or contains control characters"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Stage;

    fn task(state: TaskState) -> TaskRow {
        TaskRow {
            processor: "x".into(),
            state,
            stage: Stage::New,
            summary: String::new(),
            error: None,
            error_kind: None,
            display_name: String::new(),
            answer_due: None,
            resume_after: None,
        }
    }

    #[test]
    fn conclusions() {
        use TaskState::*;
        assert_eq!(
            conclusion(&[task(Done), task(Retained), task(Skipped)]),
            RequestStatus::Completed
        );
        assert_eq!(
            conclusion(&[task(Done), task(Failed)]),
            RequestStatus::PartiallyCompleted
        );
        assert_eq!(
            conclusion(&[task(Failed), task(Skipped)]),
            RequestStatus::Failed
        );
        assert_eq!(
            conclusion(&[task(Done), task(Pending)]),
            RequestStatus::PartiallyCompleted
        );
    }

    #[test]
    fn subjects_are_checked_without_echoing_them() {
        let bad = Subject {
            emails: vec!["no-at-sign".into()],
            ..Subject::default()
        };
        let err = validate_subject(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("--email #1") && !err.contains("no-at-sign"),
            "{err}"
        );
        assert!(validate_subject(&Subject::default()).is_err());
        let odd_but_valid = Subject {
            emails: vec!["o'brien@example.nl".into()],
            ..Subject::default()
        };
        assert!(validate_subject(&odd_but_valid).is_ok());
    }
}
