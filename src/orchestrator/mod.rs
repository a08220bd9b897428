//! The orchestrator: one task per processor, run concurrently, every step recorded in the
//! ledger before and after it runs.
//!
//! `request → discover (parallel) → plan (policy) → [approval] → execute (parallel) → verify
//! (discover again) → report`. A processor that fails does not stop the others; a run that
//! dies anywhere is resumed by running the same request again, which continues from each
//! task's recorded stage and never repeats a finished action.

mod access;
pub mod batch;
mod changes;
mod erasure;
mod failpoint;
mod forwarding;
mod holds;
mod letters;
mod manual;
mod own_data;
mod purges;
mod replies;
pub mod sweep;
mod targeted;
mod worklist;

pub use erasure::MANUAL as MANUAL_ACTION;
pub use letters::Answer;
pub use manual::{names as names_record, parse_record, ManualOutcome};
pub use own_data::OwnDataPurge;
pub use purges::PurgeChecks;
pub use replies::ReplyDraft;
pub use worklist::Listed;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use dsrhub_connector::{Connector, ConnectorError, Record, Subject};

use crate::config::Config;
pub use crate::config::PolicyConfig;
use crate::error::{Error, Result};
use crate::ledger::{
    Approval, Ledger, NewItem, NewTask, RequestKind, RequestRow, RequestStatus, Stage, TaskRow,
    TaskState,
};
use crate::lifecycle::{Event, Facts};
use crate::registry::Processor;

mod lease;
use lease::RunLease;

/// Discovered records stored in the ledger at a time.
const SAVE_CHUNK: usize = 1000;

/// Live progress for people watching (progress bars in the CLI, nothing in tests).
pub trait Progress: Send + Sync {
    /// A processor started a step.
    fn update(&self, processor: &str, message: &str);
    /// A processor finished.
    fn finish(&self, processor: &str, message: &str);
    /// A processor's call waits (`Some`: "waiting 6 s: Moneybird rate limit"), or waits no
    /// longer (`None`).
    fn waiting(&self, _processor: &str, _message: Option<&str>) {}
}

/// What a progress display shows while `name`'s call waits: "waiting 6 s: Moneybird rate limit".
pub fn wait_message(name: &str, wait: &dsrhub_connector::http::waits::Wait) -> String {
    format!(
        "waiting {} s: {name} {}",
        wait.duration.as_secs_f64().ceil() as u64,
        wait.reason
    )
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
    /// What a batch's one search per processor already found for this request (see
    /// [`batch`]): used instead of asking the processor again.
    pub discovered: Option<Arc<batch::Discovered>>,
    /// Erasure: stop after carrying out the plan, before verifying it (a batch verifies all of
    /// its requests with one search per processor in a later run).
    pub defer_verification: bool,
    /// Access, when a request is opened with these options (`dsrhub access --portable`):
    /// make it portable (art. 20). Recorded on the request (`Ledger::set_portable`), which is
    /// what the export reads, so a resumed run keeps it.
    pub portable: bool,
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
    /// Who this hub is to other processes sharing the ledger (request leases).
    owner: String,
    /// Who acts through this hub (a verification, a cancellation), for the audit log.
    operator: String,
    /// `[hub] export_retention_days`.
    export_retention_days: u32,
    /// `[privacy]`: what replies say about the processing.
    privacy: crate::config::PrivacyConfig,
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
            owner: lease::owner_name(),
            operator: "unrecorded".into(),
            export_retention_days: config.hub.export_retention_days,
            privacy: config.privacy.clone(),
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

    /// Run `work` for `processor`, its calls' waits shown on the progress display.
    pub(crate) async fn watched<F: std::future::Future>(
        &self,
        processor: &str,
        work: F,
    ) -> F::Output {
        let progress = self.progress.clone();
        let id = processor.to_string();
        let name = self
            .processors
            .iter()
            .find(|p| p.id == processor)
            .map_or(processor, |p| p.display_name.as_str())
            .to_string();
        let observer: dsrhub_connector::http::waits::Observer = Arc::new(move |wait| match wait {
            Some(wait) => progress.waiting(&id, Some(&wait_message(&name, &wait))),
            None => progress.waiting(&id, None),
        });
        dsrhub_connector::http::waits::observed(observer, work).await
    }

    /// Report progress to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Hub {
        self.progress = progress;
        self
    }

    /// Record `name` as who acts through this hub (the CLI's user, "the HTTP API").
    pub fn with_operator(mut self, name: &str) -> Hub {
        self.operator = name.to_string();
        self
    }

    /// Decide retention as if today were `date` (tests, and "what if" dry runs).
    pub fn with_today(mut self, date: jiff::civil::Date) -> Hub {
        self.fixed_today = Some(date);
        self
    }

    /// The report of request `id`, its dates shown in the hub's time zone.
    pub fn report(&self, id: &str) -> Result<crate::report::Report> {
        Ok(crate::report::build(&self.ledger, id, &self.organisation)?
            .with_timezone(&self.timezone))
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
        let subject = &normalized(subject)?;
        if identity_verification.trim().is_empty() {
            return Err(Error::Usage(
                "--identity-verified: say how the subject's identity was verified before anything is disclosed or erased"
                    .into(),
            ));
        }
        self.create(kind, subject, identity_verification, crate::ledger::now())
    }

    /// One task per configured processor, for a new request.
    fn new_tasks(&self) -> Vec<NewTask> {
        self.processors
            .iter()
            .map(|p| NewTask {
                processor: p.id.clone(),
                enabled: p.connector.is_some(),
                display_name: p.display_name.clone(),
            })
            .collect()
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
        let processors = self.new_tasks();
        self.ledger.create_request(
            kind,
            subject,
            crate::ledger::IdentityNote {
                how: identity_verification,
                by: &self.operator,
            },
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
        let subject = &normalized(subject)?;
        // To the second, as every ledger timestamp.
        let submitted = jiff::Timestamp::from_second(submitted.as_second())
            .map_err(|e| Error::Usage(format!("submitted_time: {e}")))?;
        let received = submitted.min(crate::ledger::now());
        self.create(kind, subject, "", received)
    }

    /// Record how the subject's identity was verified; the request may run from then on.
    pub fn verify_identity(&self, id: &str, how: &str) -> Result<()> {
        self.verify_identity_as(id, how, &self.operator)
    }

    /// [`Hub::verify_identity`], recorded as done by `by` (a signed-in dashboard user).
    pub fn verify_identity_as(&self, id: &str, how: &str, by: &str) -> Result<()> {
        if how.trim().is_empty() {
            return Err(Error::Usage(
                "how: say how the subject's identity was verified".into(),
            ));
        }
        self.ledger.verify_identity(id, how, by)
    }

    /// Withdraw a request that has changed nothing at any processor yet; the subject's
    /// identifiers are purged as for any closed request. `reason` is hashed into the audit log.
    /// Refused once any action at a processor ran (whatever the status says), while another
    /// process runs the request, and for a closed request.
    pub fn cancel(&self, id: &str, reason: &str) -> Result<RequestRow> {
        self.cancel_as(id, reason, &self.operator)
    }

    /// [`Hub::cancel`], recorded as done by `by` (a signed-in dashboard user).
    pub fn cancel_as(&self, id: &str, reason: &str, by: &str) -> Result<RequestRow> {
        if reason.trim().is_empty() {
            return Err(Error::Usage(
                "reason: say why the request is withdrawn (kept as a hash in the audit log)".into(),
            ));
        }
        // Holding the lease: no run can start (or be running) while the request closes.
        let _lease = RunLease::take(&self.ledger, id, &self.owner)?;
        let request = self.ledger.request(id)?;
        let facts = self.ledger.facts(id)?;
        let to = crate::lifecycle::next(request.status, &facts, Event::Cancel).map_err(|e| {
            let mut message = format!("request `{id}`: {e}");
            if let Ok(Some(at)) = self.ledger.acted_at(id) {
                message.push_str(&format!(" (the first action ran at {at})"));
            }
            Error::Usage(message)
        })?;
        self.ledger.audit(
            Some(id),
            "request.cancelled",
            &serde_json::json!({
                "reason_sha256": crate::ledger::sha256_hex(reason.as_bytes()),
                "by": by,
            }),
        )?;
        self.ledger
            .transition(id, request.status, to, Event::Cancel)?;
        self.ledger.purge_subject(id)?;
        self.ledger.request(id)
    }

    /// Approve the part of erasure request `id`'s plan named by `digest` (as shown in its
    /// report and by `dsrhub status`), as `approver`. Only approved tasks are carried out;
    /// what is planned after this approval waits for its own.
    pub fn approve(&self, id: &str, digest: &str, approver: &str) -> Result<Approval> {
        let approver = approver.trim();
        if approver.is_empty() || approver.len() > 200 || approver.chars().any(char::is_control) {
            return Err(Error::Usage(
                "approver: give the name of the person who approves the plan".into(),
            ));
        }
        let request = self.ledger.request(id)?;
        if !request.kind.needs_approval() {
            return Err(Error::Usage(format!(
                "request `{id}` is an access request: only a plan that changes data is approved"
            )));
        }
        if request.status.is_closed() {
            return Err(Error::Usage(format!(
                "request `{id}` is {}: a closed request never changes",
                request.status
            )));
        }
        self.ledger.approve(id, digest, approver)
    }

    /// Extend request `id`'s deadline by `months`, for `reason`, decided by `by`; the new due
    /// date. Extensions only lengthen the deadline, and all of them together stay within
    /// `policy.extension_months` after the original one; every extension is kept.
    pub fn extend(&self, id: &str, months: u32, reason: &str, by: &str) -> Result<jiff::Timestamp> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::Usage(
                "--reason: the law requires a reason for an extension".into(),
            ));
        }
        let by = by.trim();
        if by.is_empty() || by.chars().any(char::is_control) {
            return Err(Error::Usage("--by: name who decides the extension".into()));
        }
        let request = self.ledger.request(id)?;
        if request.status.is_closed() {
            return Err(Error::Usage(format!(
                "request {id} is {}; there is nothing to extend",
                request.status
            )));
        }
        let current = request.extended_due_at.unwrap_or(request.due_at);
        let allowed = self.policy.extension_months;
        let recorded: u32 = self.ledger.extensions(id)?.iter().map(|e| e.months).sum();
        // Ledgers from before recorded no months: count them from the dates.
        let mut used = recorded;
        while used < allowed
            && crate::deadline::add_months(request.due_at, used, &self.timezone)? < current
        {
            used += 1;
        }
        if months == 0 {
            return Err(Error::Usage(format!(
                "--months: at least 1; an extension only lengthens the deadline (now due {current})"
            )));
        }
        if used + months > allowed {
            return Err(Error::Usage(format!(
                "--months: the deadline (now due {current}) can be extended by at most {allowed} month(s) in total (policy.extension_months); {used} already used"
            )));
        }
        let until = crate::deadline::add_months(request.due_at, used + months, &self.timezone)?;
        self.ledger
            .record_extension(id, months, until, reason, by)?;
        // Art. 12(3): the subject is told within the first month, with the reason.
        self.write_reply(id, crate::replies::ReplyKind::Extension, reason)?;
        Ok(until)
    }

    /// Plan request `id` (a dry run), approve what that planned as `approver`, and carry it
    /// out with `options`: the CLI's two steps in one call, for callers that act on a plan
    /// nobody reviews one by one (the demo, the benchmark, tests). The CLI and the API never
    /// use it: there a person sees the plan and approves its digest.
    pub async fn carry_out(
        &self,
        id: &str,
        options: &RunOptions,
        approver: &str,
    ) -> Result<RequestRow> {
        if self.ledger.request(id)?.kind.needs_approval() {
            let dry = RunOptions {
                execute: false,
                ..options.clone()
            };
            self.run(id, &dry).await?;
            let plan = self.ledger.plan_digest(id)?;
            if !plan.is_empty() {
                self.approve(id, &plan.digest, approver)?;
            }
        }
        self.run(id, options).await
    }

    /// Move request `id` by `event` through the life cycle ([`crate::lifecycle::next`]);
    /// the new status.
    fn transition(&self, id: &str, event: Event, work_left: bool) -> Result<RequestStatus> {
        let request = self.ledger.request(id)?;
        let facts = Facts {
            work_left,
            ..self.ledger.facts(id)?
        };
        let to = crate::lifecycle::next(request.status, &facts, event)
            .map_err(|e| Error::Usage(format!("request `{id}`: {e}")))?;
        if to != request.status {
            self.ledger.transition(id, request.status, to, event)?;
        }
        Ok(to)
    }

    /// Run (or resume) a request. A closed request is returned as it is, untouched. Another
    /// process running the same request makes this fail with a message naming it.
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
        if options.execute && request.kind == RequestKind::Erasure {
            if let Some(closed) = self.withdraw_if_held(id)? {
                return Ok(closed);
            }
        }
        let _lease = RunLease::take(&self.ledger, id, &self.owner)?;
        // Read again under the lease: another runner may have closed it meanwhile.
        let request = self.ledger.request(id)?;
        if request.status.is_closed() {
            return Ok(request);
        }
        match request.kind {
            RequestKind::Access => self.run_access(&request, options).await?,
            RequestKind::Erasure => self.run_erasure(&request, options).await?,
            RequestKind::Rectification
            | RequestKind::Restriction
            | RequestKind::Lift
            | RequestKind::Objection => self.run_change(&request, options).await?,
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

    /// The task's connector; `None` (and the task marked skipped, since when and why) when
    /// the processor is no longer configured. A skipped task keeps the request open: it is
    /// planned by the first run after the processor is configured again.
    fn connector_or_skip(&self, id: &str, processor: &str) -> Result<Option<&Arc<dyn Connector>>> {
        let connector = self.connector(processor);
        if connector.is_none() {
            let task = self
                .ledger
                .tasks(id)?
                .into_iter()
                .find(|t| t.processor == processor);
            if task.is_none_or(|t| t.state != TaskState::Skipped) {
                let summary = format!(
                    "skipped since {}: processor not configured or disabled; the request stays open until it is planned",
                    self.today()?
                );
                self.ledger.set_task(
                    id,
                    processor,
                    TaskState::Skipped,
                    Stage::Skipped,
                    &summary,
                    None,
                )?;
            }
        }
        Ok(connector)
    }

    /// Whether task `t` still needs discovery: never discovered, or skipped before while its
    /// processor is configured now.
    fn needs_discovery(&self, t: &TaskRow) -> bool {
        match t.stage {
            Stage::New => true,
            Stage::Skipped => self.connector(&t.processor).is_some(),
            _ => false,
        }
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
    #[allow(clippy::too_many_arguments)]
    async fn discover_into_ledger(
        &self,
        id: &str,
        processor: &str,
        connector: &Arc<dyn Connector>,
        subject: &Subject,
        discovered: Option<&batch::Discovered>,
        to_item: &(dyn Fn(&Record) -> NewItem + Sync),
    ) -> Result<Option<BTreeMap<&'static str, usize>>> {
        self.discovery_started(id, processor)?;
        let targets = self.targets_of(id, processor, subject)?;
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
            batch::discover_each(
                discovered,
                targets.as_deref(),
                (id, processor),
                connector,
                subject,
                &mut sink,
            )
            .await
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

    /// Set the request's status from its tasks; purge the subject when it is closed.
    fn conclude(&self, id: &str) -> Result<RequestStatus> {
        let tasks = self.ledger.tasks(id)?;
        let facts = self.ledger.facts(id)?;
        let mut status = conclusion(&tasks, facts.changed_anything);
        let work_left = status != RequestStatus::Completed;
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
        if status.is_closed() {
            // Addressed to the subject: written while the ledger still knows the address.
            self.write_closing_reply(id, status)?;
        }
        let status = self.transition(id, Event::Conclude(status), work_left)?;
        if status.is_closed() {
            self.purge_closed(id)?;
        }
        Ok(status)
    }

    /// A closed request's subject is purged, except a restriction's while anything it marked
    /// is not lifted or a lift of it is open: the person must be told before it is lifted
    /// (art. 18(3)) and the processors asked by letter must be told whose data it was. A lift
    /// that closes purges its (closed) restriction's subject once nothing of it is left
    /// restricted and no other lift of it is open.
    fn purge_closed(&self, id: &str) -> Result<()> {
        let request = self.ledger.request(id)?;
        if request.kind == RequestKind::Restriction
            && (!self.ledger.restricted(id)?.is_empty() || self.ledger.lift_open(id)?)
        {
            return self.ledger.audit(
                Some(id),
                "subject.kept",
                &serde_json::json!({
                    "until": "the restriction is lifted",
                    "why": "art. 18(3) GDPR: the person is told before a restriction is lifted",
                }),
            );
        }
        self.ledger.purge_subject(id)?;
        if request.kind == RequestKind::Lift && request.status != RequestStatus::Cancelled {
            if let Some(restriction) = self.ledger.lifted_restriction(id)? {
                // Only a closed restriction: an open one purges its own at closure.
                if self.ledger.request(&restriction)?.status.is_closed()
                    && self.ledger.restricted(&restriction)?.is_empty()
                    && !self.ledger.lift_open(&restriction)?
                {
                    self.ledger.purge_subject(&restriction)?;
                }
            }
        }
        Ok(())
    }
}

/// The request status its tasks add up to. A skipped task is not finished: it keeps the
/// request open (awaiting the processor) like an awaited answer. A task whose plan waits for
/// approval makes the request `planned` — or `partially_completed` once anything was changed
/// (`acted`), since `planned` means nothing was.
fn conclusion(tasks: &[TaskRow], acted: bool) -> RequestStatus {
    let count = |f: &dyn Fn(&TaskRow) -> bool| tasks.iter().filter(|t| f(t)).count();
    let all = tasks.len();
    let failed = count(&|t| t.state == TaskState::Failed);
    let finished = count(&|t| {
        matches!(
            t.state,
            TaskState::Done | TaskState::Retained | TaskState::Forwarded
        )
    });
    let awaiting = count(&|t| {
        matches!(
            t.state,
            TaskState::ManualPending | TaskState::Waiting | TaskState::Skipped
        )
    });
    let approval = count(&|t| t.state == TaskState::Pending && t.awaits_approval());
    if finished == all {
        RequestStatus::Completed
    } else if failed == 0 && approval > 0 && finished + awaiting + approval == all {
        if acted {
            RequestStatus::PartiallyCompleted
        } else {
            RequestStatus::Planned
        }
    } else if failed == 0 && finished + awaiting == all {
        RequestStatus::AwaitingProcessors
    } else if finished + awaiting + approval > 0 || failed < all {
        RequestStatus::PartiallyCompleted
    } else {
        RequestStatus::Failed
    }
}

/// The subject with its identifiers normalised, or a usage error naming the refused field.
fn normalized(subject: &Subject) -> Result<Subject> {
    crate::identifiers::normalize_subject(subject)
        .map_err(|r| Error::Usage(format!("{}: {}", r.field, r.message)))
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
            approved: true,
        }
    }

    #[test]
    fn conclusions() {
        use TaskState::*;
        assert_eq!(
            conclusion(&[task(Done), task(Retained), task(Forwarded)], true),
            RequestStatus::Completed
        );
        assert_eq!(
            conclusion(&[task(Done), task(Failed)], true),
            RequestStatus::PartiallyCompleted
        );
        assert_eq!(
            conclusion(&[task(Failed), task(Failed)], true),
            RequestStatus::Failed
        );
        assert_eq!(
            conclusion(&[task(Done), task(Pending)], true),
            RequestStatus::PartiallyCompleted
        );
    }

    #[test]
    fn a_skipped_processor_keeps_the_request_open() {
        use TaskState::*;
        assert_eq!(
            conclusion(&[task(Done), task(Retained), task(Skipped)], true),
            RequestStatus::AwaitingProcessors
        );
        assert_eq!(
            conclusion(&[task(Skipped)], false),
            RequestStatus::AwaitingProcessors
        );
        assert_eq!(
            conclusion(&[task(Failed), task(Skipped)], true),
            RequestStatus::PartiallyCompleted
        );
    }

    #[test]
    fn a_plan_waiting_for_approval_is_planned_only_while_nothing_was_changed() {
        use TaskState::*;
        let unapproved = TaskRow {
            stage: Stage::Planned,
            approved: false,
            ..task(Pending)
        };
        assert_eq!(
            conclusion(&[unapproved.clone(), task(Skipped)], false),
            RequestStatus::Planned
        );
        assert_eq!(
            conclusion(&[unapproved.clone(), task(Done)], true),
            RequestStatus::PartiallyCompleted
        );
        let approved = TaskRow {
            approved: true,
            ..unapproved
        };
        assert_eq!(
            conclusion(&[approved], false),
            RequestStatus::PartiallyCompleted
        );
    }
}
