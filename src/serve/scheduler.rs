//! The scheduler inside `dsrhub serve`: once a minute it decides what is due, given the time.
//!
//! - **Inventory sync**, on `[serve] inventory_sync` (cron fields or `"daily HH:MM"`, local
//!   time): the same sync as `dsrhub inventory sync`. A time missed while the server was down
//!   is caught up at start (counted from the last sync in the ledger), once; a hub that never
//!   synced syncs at once.
//! - **Deadline watch**, daily: requests due within `deadline_warning_days` and overdue ones are
//!   logged (ids and dates only) and, with `reminder_webhook`, POSTed there, with
//!   `reminder_email`, e-mailed through `[hub.smtp]`; the dashboard shows them anyway. The same
//!   daily round checks soft deletions past their date and applies the hub's own retention
//!   (`dsrhub purge`: exports, then requests past the correspondence period).
//! - **Retries**, every `retry_every_minutes`: open requests with a task that failed with a
//!   retryable error, or that waits for a vendor's limit that has since reset, are run again
//!   from the ledger (an erasure is carried out only if its plan was approved before); status
//!   callbacks not yet delivered are sent again, also for requests closed in the last week
//!   outside the server (e.g. `dsrhub cancel`).
//!
//! - **Sweep**, on `[sweep] schedule` (off by default): `dsrhub sweep` — whom the retention
//!   rules select becomes a batch planned as a dry run, left for a person to approve. Counted
//!   from the server's start (a restart does not sweep at once).
//!
//! [`Scheduler::tick`] takes the time as an argument, so tests run days in milliseconds.

use std::sync::Arc;

use jiff::civil::{Date, DateTime};
use jiff::Timestamp;
use serde_json::json;

use super::cron::Schedule;
use super::AppState;
use crate::config::Config;
use crate::ledger::{RequestStatus, TaskState};

/// How long after a request closed its final status callback is still sent (when the close
/// happened outside the server).
const CALLBACK_CATCH_UP: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// What one tick did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The inventory was synced.
    pub inventory: bool,
    /// Requests due soon and overdue were checked (once a day).
    pub deadlines: Option<(usize, usize)>,
    /// Requests resumed.
    pub resumed: Vec<String>,
    /// Soft deletions past their restorable date were checked again (once a day).
    pub purges: Option<crate::orchestrator::PurgeChecks>,
    /// The hub's own retention applied (daily).
    pub own_data: Option<crate::orchestrator::OwnDataPurge>,
    /// A sweep ran: the batch it opened (`None`: it selected nobody).
    pub sweep: Option<Option<String>>,
}

/// Decides and starts the scheduled work.
pub struct Scheduler {
    state: Arc<AppState>,
    config: Config,
    sync: Option<Schedule>,
    /// Local time of the last sync (or the baseline the next one counts from).
    last_sync: Option<DateTime>,
    last_deadline_check: Option<Date>,
    last_retry: Option<Timestamp>,
    sweep: Option<Schedule>,
    /// Local time of the last sweep, or of the first tick (sweeps count from the start).
    last_sweep: Option<DateTime>,
}

impl Scheduler {
    /// A scheduler over the server's state, with `[serve]`'s settings.
    pub fn new(state: Arc<AppState>, config: Config) -> crate::Result<Scheduler> {
        let sync = config.serve.inventory_sync_schedule()?;
        let sweep = config.sweep.schedule()?;
        Ok(Scheduler {
            state,
            config,
            sync,
            last_sync: None,
            last_deadline_check: None,
            last_retry: None,
            sweep,
            last_sweep: None,
        })
    }

    fn local(&self, now: Timestamp) -> jiff::ZonedDateTime {
        now.in_tz(&self.config.hub.timezone)
            .unwrap_or_else(|_| now.to_zoned_datetime(jiff::tz::TimeZone::UTC))
    }

    /// Do what is due at `now`.
    pub async fn tick(&mut self, now: Timestamp) -> crate::Result<Ran> {
        let mut ran = Ran::default();
        let local = self.local(now);
        let today = local.date();
        if let Some(schedule) = &self.sync {
            let since = match self.last_sync {
                Some(at) => Some(at),
                None => self.last_sync_in_ledger()?,
            };
            self.last_sync = since;
            // Never synced at all: at once, so the dashboard has a register to show.
            let due = since.is_none_or(|since| {
                schedule
                    .next_after(since)
                    .is_some_and(|due| due <= local.datetime())
            });
            if due {
                self.last_sync = Some(local.datetime());
                let (_, changes) = crate::inventory::sync(
                    &self.config,
                    self.state.hub.processors(),
                    self.state.hub.ledger(),
                )
                .await?;
                tracing::info!(changes = changes.len(), "inventory synced");
                ran.inventory = true;
            }
        }
        if self.last_deadline_check != Some(today) {
            self.last_deadline_check = Some(today);
            ran.deadlines = Some(self.watch_deadlines(now).await?);
            // Once a day as well: soft deletions past their restorable date, and the hub's
            // own retention (exports, requests closed longer than the policy keeps them).
            ran.purges = Some(self.state.hub.check_purges(today).await?);
            ran.own_data = Some(self.state.hub.purge_own_data(now, false)?);
        }
        if let Some(schedule) = &self.sweep {
            let since = *self.last_sweep.get_or_insert(local.datetime());
            if schedule
                .next_after(since)
                .is_some_and(|due| due <= local.datetime())
            {
                self.last_sweep = Some(local.datetime());
                ran.sweep = Some(self.sweep().await?);
            }
        }
        let every =
            jiff::SignedDuration::from_mins(i64::from(self.config.serve.retry_every_minutes));
        let retry_due = self
            .last_retry
            .is_none_or(|last| now.duration_since(last) >= every);
        if retry_due {
            self.last_retry = Some(now);
            ran.resumed = self.resume(now).await?;
        }
        Ok(ran)
    }

    /// Sweep: open a batch for whom the enabled rules select and plan it in the background
    /// (nothing is erased before a person approves it); its id.
    async fn sweep(&self) -> crate::Result<Option<String>> {
        let hub = self.state.hub.clone();
        let found = hub.sweep(&self.config.sweep).await?;
        let Some(batch) = hub.open_sweep(&found)? else {
            tracing::info!("the sweep selected nothing");
            return Ok(None);
        };
        tracing::info!(batch = %batch, rules = %found.rules_selecting().join(", "), "sweep opened a batch to approve");
        let reports = self.config.reports_dir();
        let id = batch.clone();
        self.state.runs.lock().expect("runs").spawn(async move {
            let dry = crate::orchestrator::RunOptions::default();
            if let Err(e) = hub.run_batch(&id, &dry, &reports).await {
                tracing::warn!(batch = %id, error = %e, "the sweep's plan stopped");
            }
        });
        Ok(Some(batch))
    }

    /// The local time of the last inventory sync recorded (by `serve` or the CLI).
    fn last_sync_in_ledger(&self) -> crate::Result<Option<DateTime>> {
        let runs = self.state.hub.ledger().inventory_runs(1)?;
        Ok(runs
            .first()
            .and_then(|(_, at, _)| at.parse::<Timestamp>().ok())
            .map(|at| self.local(at).datetime()))
    }

    async fn watch_deadlines(&self, now: Timestamp) -> crate::Result<(usize, usize)> {
        let warn_until = now
            .checked_add(jiff::SignedDuration::from_hours(
                24 * i64::from(self.config.serve.deadline_warning_days),
            ))
            .unwrap_or(now);
        let (mut soon, mut overdue) = (Vec::new(), Vec::new());
        for request in self.state.hub.ledger().requests()? {
            // A swept request has no data subject waiting: no deadline to remind anyone of.
            if request.status.is_closed() || self.state.hub.is_swept(&request.id)? {
                continue;
            }
            let due = request.extended_due_at.unwrap_or(request.due_at);
            if due < now {
                overdue.push((request.id, due));
            } else if due < warn_until {
                soon.push((request.id, due));
            }
        }
        if !soon.is_empty() || !overdue.is_empty() {
            tracing::warn!(
                due_soon = soon.len(),
                overdue = overdue.len(),
                "requests need attention before their deadline"
            );
            if let Some(url) = &self.config.serve.reminder_webhook {
                let entries = |list: &[(String, Timestamp)]| -> Vec<serde_json::Value> {
                    list.iter()
                        .map(|(id, due)| json!({ "request_id": id, "due": due.to_string() }))
                        .collect()
                };
                let body = json!({
                    "due_soon": entries(&soon),
                    "overdue": entries(&overdue),
                    "at": now.to_string(),
                });
                if let Err(e) =
                    super::callbacks::post(&self.state.callback_http, url.as_str(), &body, None)
                        .await
                {
                    tracing::warn!(error = %e, "the deadline reminder could not be sent");
                }
            }
            self.email_reminder(now, &soon, &overdue).await;
        }
        Ok((soon.len(), overdue.len()))
    }

    /// E-mail the reminder to `[serve] reminder_email`: request ids and due dates only, no
    /// subject's data (mailboxes are read widely and kept long).
    async fn email_reminder(
        &self,
        now: Timestamp,
        soon: &[(String, Timestamp)],
        overdue: &[(String, Timestamp)],
    ) {
        let to = &self.config.serve.reminder_email;
        let Some(mailer) = self.state.hub.mailer().filter(|_| !to.is_empty()) else {
            return;
        };
        let today = self.local(now).date();
        let subject = format!(
            "dsrhub: {} data-subject request(s) overdue, {} due within {} days",
            overdue.len(),
            soon.len(),
            self.config.serve.deadline_warning_days
        );
        let mut body = format!(
            "Data-subject requests of {} that need attention ({today}).\n",
            self.config.hub.organisation
        );
        for (title, list) in [("Overdue", overdue), ("Due soon", soon)] {
            if list.is_empty() {
                continue;
            }
            body.push_str(&format!("\n{title}:\n"));
            for (id, due) in list {
                let due = self.local(*due).date();
                body.push_str(&format!("  request {id}, due {due}\n"));
            }
        }
        body.push_str(
            "\nThe dashboard of dsrhub serve (/dashboard) shows each request's processors; \
             `dsrhub status <request>` shows one on the command line.\n",
        );
        let message_id = format!("<deadline-reminder.{today}.{}@dsrhub>", now.as_second());
        if let Err(e) = mailer.send_text(to, &subject, &body, &message_id).await {
            tracing::warn!(error = %e, "the deadline reminder e-mail could not be sent");
        }
    }

    async fn resume(&self, now: Timestamp) -> crate::Result<Vec<String>> {
        let ledger = self.state.hub.ledger();
        let mut resumed = Vec::new();
        for request in ledger.requests()? {
            if request.status.is_closed() {
                // Closed from the command line (cancelled, or run to the end there), or while
                // the server was down: the submitter may not have heard the last status yet.
                if request
                    .closed_at
                    .is_some_and(|at| now.duration_since(at) < CALLBACK_CATCH_UP)
                {
                    self.state.spawn_notify(&request.id);
                }
                continue;
            }
            if request.status == RequestStatus::Received {
                // Waiting for its identity check; a "pending" the submitter missed is told now.
                self.state.spawn_notify(&request.id);
                continue;
            }
            let tasks = ledger.tasks(&request.id)?;
            let retryable = tasks.iter().any(|t| {
                let failed_retryable = t.state == TaskState::Failed
                    && matches!(t.error_kind.as_deref(), Some("retryable" | "throttled"));
                let reset = t.state == TaskState::Waiting && !t.waits_at(now);
                failed_retryable || reset
            });
            if retryable {
                // Only tasks whose plan a person approved are carried out; the rest of a
                // resumed erasure is planned and waits for its own approval.
                let execute = request.kind.needs_approval();
                if self.state.start_run(&request.id, execute).is_ok() {
                    resumed.push(request.id.clone());
                }
            }
            // In the background: a slow receiver must not hold up the scheduler.
            self.state.spawn_notify(&request.id);
        }
        Ok(resumed)
    }
}

/// Tick once a minute until `stop` resolves.
pub async fn run(mut scheduler: Scheduler, stop: impl std::future::Future<Output = ()>) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(60));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(e) = scheduler.tick(Timestamp::now()).await {
                    tracing::warn!(error = %e, "a scheduled job failed");
                }
            }
            () = &mut stop => return,
        }
    }
}
