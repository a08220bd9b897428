//! Erasure: discover → plan → (approval) → execute → verify.

use std::collections::BTreeMap;
use std::sync::Arc;

use dsrhub_connector::{
    Connector, ConnectorError, EraseAction, EraseOutcome, ErrorKind, Record, Subject,
};
use futures_util::future::join_all;

use super::{failpoint, Hub, RunOptions};
use crate::error::{Error, Result};
use crate::ledger::{
    now, Action, ItemRow, ItemState, Remaining, RequestRow, Stage, Tally, TaskRow, TaskState,
};
use crate::lifecycle::Event;

/// The outcome of an exact match the processor's API cannot erase: a person must act.
pub const MANUAL: &str = "manual action needed";

/// Planned items carried out (and held in memory) at a time.
const EXECUTE_CHUNK: usize = 1000;

impl Hub {
    /// The blast-radius cap over everything request `id` still has to change: over it, the
    /// request is concluded as planned and the run refused.
    pub(super) fn within_cap(&self, id: &str, options: &RunOptions) -> Result<()> {
        let pending = self.ledger.pending_changes(id)?;
        let cap = options
            .max_records
            .unwrap_or(self.policy.max_records_per_erasure);
        if pending > cap {
            self.conclude(id)?;
            return Err(Error::BlastRadius {
                request: id.to_string(),
                planned: pending,
                cap,
            });
        }
        Ok(())
    }

    /// The tasks of request `id` whose approved plan an executing run carries out now (not
    /// waiting for a vendor's limit).
    pub(super) fn approved_to_carry_out(&self, id: &str) -> Result<Vec<TaskRow>> {
        Ok(self
            .ledger
            .tasks(id)?
            .into_iter()
            .filter(|t| t.approved && to_carry_out(t))
            .filter(|t| !self.waiting(t))
            .collect())
    }

    /// Plan, concurrently, each of `tasks` not planned yet and not waiting for a vendor's
    /// limit, with `plan` (an erasure's or another right's planning of one processor).
    pub(super) async fn plan_each<'a, Fut>(
        &'a self,
        tasks: &'a [TaskRow],
        plan: impl Fn(&'a TaskRow) -> Fut,
    ) -> Result<()>
    where
        Fut: std::future::Future<Output = Result<()>>,
    {
        join_all(
            tasks
                .iter()
                .filter(|t| self.needs_discovery(t) && !self.waiting(t))
                .map(|t| self.watched(&t.processor, plan(t))),
        )
        .await
        .into_iter()
        .collect::<Result<Vec<()>>>()
        .map(drop)
    }

    /// Carry out, concurrently, each approved task with `act`, which verifies it too: what
    /// each verification found remaining (`None`: it did not run).
    pub(super) async fn act_on_each<'a, Fut>(
        &'a self,
        approved: &'a [TaskRow],
        act: impl Fn(&'a TaskRow) -> Fut,
    ) -> Result<Vec<Option<Vec<Remaining>>>>
    where
        Fut: std::future::Future<Output = Result<Option<Vec<Remaining>>>>,
    {
        join_all(approved.iter().map(|t| self.watched(&t.processor, act(t))))
            .await
            .into_iter()
            .collect()
    }

    /// After the approved tasks were carried out and verified: record what remains, send
    /// the forwarding to `controller` (once), and settle the request's status.
    pub(super) async fn finish_verified(
        &self,
        request: &RequestRow,
        approved: &[TaskRow],
        verified: Vec<Option<Vec<Remaining>>>,
        (controller, subject): (Option<&crate::config::ControllerConfig>, &Subject),
    ) -> Result<()> {
        let id = request.id.as_str();
        let remaining = remaining_after(request, approved, verified);
        self.ledger.set_verification(id, now(), &remaining)?;
        if let Some(controller) = controller {
            self.forward(id, controller, subject).await?;
        }
        self.conclude(id)?;
        Ok(())
    }

    pub(super) async fn run_erasure(
        &self,
        request: &RequestRow,
        options: &RunOptions,
    ) -> Result<()> {
        let id = request.id.as_str();
        let subject = self.ledger.subject(id)?;

        // 1. Discover and plan, for every task not planned yet (a resumed run skips the rest;
        //    a processor skipped before and configured now is planned now).
        self.transition(id, Event::Start, true)?;
        // A subject on legal hold: what the plan would erase is kept (asked once per run).
        let held = self.is_subject_held(id, &subject)?;
        let tasks = self.ledger.tasks(id)?;
        self.plan_each(&tasks, |t| {
            self.plan_task(request, t, (&subject, held), options.discovered.as_deref())
        })
        .await?;
        // Is this a customer's data subject? Then what is held for the customer is forwarded
        // (shown in the dry run, sent only after approval). Applied after every planning pass,
        // so a task planned in a later run is forwarded too.
        let controller = self.decide_forwarding(request, &subject)?;
        failpoint::after_plan();

        // 2. The blast-radius cap, over everything still to be changed.
        self.within_cap(id, options)?;
        // 3. Only what a person approved is carried out; a dry run (or nothing approved yet)
        //    stops here.
        let approved = self.approved_to_carry_out(id)?;
        if !options.execute || approved.is_empty() {
            self.conclude(id)?;
            return Ok(());
        }

        // 4. Execute, then 5. verify, per approved processor, concurrently.
        self.transition(id, Event::Execute, true)?;
        let verified = self
            .act_on_each(&approved, |t| {
                self.execute_and_verify(id, t, &subject, options)
            })
            .await?;
        if options.defer_verification {
            // A batch verifies later, all its requests at once; the request stays executing.
            return Ok(());
        }
        self.finish_verified(
            request,
            &approved,
            verified,
            (controller.as_ref(), &subject),
        )
        .await
    }

    async fn plan_task(
        &self,
        request: &RequestRow,
        task: &TaskRow,
        (subject, held): (&Subject, bool),
        discovered: Option<&super::batch::Discovered>,
    ) -> Result<()> {
        let id = request.id.as_str();
        let processor = task.processor.as_str();
        let Some(connector) = self.connector_or_skip(id, processor)? else {
            return Ok(());
        };
        if connector.by_letter() {
            // The letter asks for erasure, so it waits for the plan's approval.
            let summary = "no API: will be asked by letter when the erasure is approved";
            return self.ledger.set_task(
                id,
                processor,
                TaskState::Pending,
                Stage::Planned,
                summary,
                None,
            );
        }
        // Planned record by record as discovery hands them over: never all held at once.
        let today = self.today()?;
        let plan = |r: &Record| {
            let item = super::targeted::explain(r, crate::policy::plan(r, &self.policy, today));
            if held {
                crate::policy::under_hold(item)
            } else {
                item
            }
        };
        let Some(counts) = self
            .discover_into_ledger(id, processor, connector, subject, discovered, &plan)
            .await?
        else {
            return Ok(());
        };
        let summary = format!("planned: {}", plan_summary(&counts));
        self.ledger.set_task(
            id,
            processor,
            TaskState::Pending,
            Stage::Planned,
            &summary,
            None,
        )?;
        self.progress.update(processor, &summary);
        Ok(())
    }

    /// Execute one processor's plan and verify it; `None` when verification did not run.
    async fn execute_and_verify(
        &self,
        id: &str,
        task: &TaskRow,
        subject: &Subject,
        options: &RunOptions,
    ) -> Result<Option<Vec<Remaining>>> {
        let processor = task.processor.as_str();
        let Some(connector) = self.connector_or_skip(id, processor)? else {
            return Ok(None);
        };
        if connector.by_letter() {
            let request = self.ledger.request(id)?;
            self.ask_by_letter(&request, processor, connector, subject, None)
                .await?;
            return Ok(None);
        }
        // A task whose verification failed goes through execution again: the records still
        // present were marked failed by verification and are acted on once more.
        if task.stage != Stage::Executed {
            self.progress.update(processor, "erasing");
            self.ledger.set_task(
                id,
                processor,
                TaskState::Running,
                Stage::Executing,
                "erasing",
                None,
            )?;
            // Records found through another record (tickets of a contact, people of a
            // company) go first: unlinking them can make the parent deletable. Walked in
            // chunks, so a plan of 100,000 kept messages is never loaded at once.
            let mut last_error = None;
            for linked in [true, false] {
                let mut after = 0;
                loop {
                    let chunk = self.ledger.items_after(
                        id,
                        processor,
                        after,
                        EXECUTE_CHUNK,
                        Some(linked),
                    )?;
                    let Some(last) = chunk.last() else { break };
                    after = last.id;
                    last_error = self.execute_items(connector, chunk).await?.or(last_error);
                }
            }
            if let Some(e) = last_error {
                self.task_failed(id, processor, Stage::Executing, "some actions failed", &e)?;
                return Ok(None);
            }
            self.ledger.set_task(
                id,
                processor,
                TaskState::Running,
                Stage::Executed,
                "verifying",
                None,
            )?;
        }
        if options.defer_verification {
            return Ok(None);
        }
        self.verify_task(
            id,
            processor,
            connector,
            subject,
            options.discovered.as_deref(),
        )
        .await
    }

    /// Run the plan's actions in order; consecutive deletions go to the processor as one batch.
    /// The outer `Result` is the ledger; the inner value the last processor error, if any.
    async fn execute_items(
        &self,
        connector: &Arc<dyn Connector>,
        items: Vec<ItemRow>,
    ) -> Result<Option<ConnectorError>> {
        let mut last_error = None;
        let items = self.look_before_acting_again(connector, items).await?;
        let mut deletions = Vec::new();
        // Nothing to do at the processor: recorded together, one transaction per outcome.
        let mut settled: BTreeMap<&str, Vec<&ItemRow>> = BTreeMap::new();
        for item in &items {
            if matches!(item.state, ItemState::Done | ItemState::Skipped) {
                continue;
            }
            match item.action {
                Action::Retain => settled.entry("retained").or_default().push(item),
                // An exact match the API cannot erase is an open obligation: a person removes
                // it in the processor and records that (`dsrhub confirm --record`).
                Action::Review if item.is_exact_match() => {
                    settled.entry(MANUAL).or_default().push(item)
                }
                Action::Review | Action::Export => settled.entry("review").or_default().push(item),
                Action::Forward => settled.entry("forwarded").or_default().push(item),
                Action::Nothing => settled.entry("unchanged").or_default().push(item),
                // A field change is never part of an erasure plan; should one appear, a
                // person looks at it rather than the erasure guessing.
                Action::Change => settled.entry(MANUAL).or_default().push(item),
                Action::Delete => deletions.push(item.clone()),
                Action::Anonymize => {
                    last_error = self
                        .erase_items(connector, std::mem::take(&mut deletions))
                        .await?
                        .or(last_error);
                    last_error = self
                        .erase_items(connector, vec![item.clone()])
                        .await?
                        .or(last_error);
                }
            }
        }
        for (outcome, items) in settled {
            self.ledger.mark_items(&items, ItemState::Done, outcome)?;
        }
        Ok(self.erase_items(connector, deletions).await?.or(last_error))
    }

    /// Erase `items` in one call to the processor and record each outcome.
    async fn erase_items(
        &self,
        connector: &Arc<dyn Connector>,
        items: Vec<ItemRow>,
    ) -> Result<Option<ConnectorError>> {
        if items.is_empty() {
            return Ok(None);
        }
        let calls: Vec<_> = items
            .iter()
            .map(|i| (i.reference.clone(), erase_action(i)))
            .collect();
        // Written before the call: a crash from here on resumes with the same, idempotent call.
        for item in &items {
            self.ledger
                .mark_item(item, ItemState::Started, None, None)?;
        }
        let results = connector.erase_batch(&calls).await;
        failpoint::after_call();
        let mut last_error = None;
        for ((item, (_, action)), result) in items.iter().zip(&calls).zip(results) {
            if let Err(e) = self.settle(connector, item, action, result).await? {
                last_error = Some(e);
            }
        }
        Ok(last_error)
    }

    /// Items a run that died left `started` may have been acted on: the call was sent, its
    /// outcome never recorded. Look at the processor before acting again, so no action is
    /// repeated: a record that is gone was deleted; a record whose fields to clear are all
    /// empty was anonymised. The rest (and every item not `started`) is returned to act on.
    async fn look_before_acting_again(
        &self,
        connector: &Arc<dyn Connector>,
        items: Vec<ItemRow>,
    ) -> Result<Vec<ItemRow>> {
        let (started, mut rest): (Vec<ItemRow>, Vec<ItemRow>) = items
            .into_iter()
            .partition(|i| i.state == ItemState::Started && i.action.changes_data());
        if started.is_empty() {
            return Ok(rest);
        }
        let references: Vec<_> = started.iter().map(|i| i.reference.clone()).collect();
        let found = connector.export_batch(&references).await;
        for (item, found) in started.into_iter().zip(found) {
            let done = match (&found, item.action) {
                (Err(e), _) if e.kind == ErrorKind::NotFound => Some((
                    "deleted",
                    "gone at the processor: the call of a run that stopped went through",
                )),
                (Ok(record), Action::Anonymize)
                    if !item.fields.is_empty()
                        && connector
                            .shows_anonymized(record, &item.fields)
                            .unwrap_or_else(|| fields_cleared(&record.data, &item.fields)) =>
                {
                    Some((
                        "anonymized",
                        "already anonymised: the call of a run that stopped went through",
                    ))
                }
                _ => None,
            };
            match done {
                Some((outcome, detail)) => {
                    self.ledger
                        .mark_item(&item, ItemState::Done, Some(outcome), Some(detail))?;
                }
                None => rest.push(item),
            }
        }
        rest.sort_by_key(|i| i.id);
        Ok(rest)
    }

    /// Look up, by id, every item of `processor` that was erased and that discovery did not
    /// hand over again (`seen`): a deleted record that still answers, or an anonymised one the
    /// connector says is not anonymised, is added to `remaining` and `still_present`. The outer
    /// `Result` is the ledger's; the inner one the processor's.
    async fn verify_by_id(
        &self,
        id: &str,
        processor: &str,
        connector: &Arc<dyn Connector>,
        seen: &std::collections::BTreeSet<dsrhub_connector::RecordRef>,
        remaining: &mut Vec<Remaining>,
        still_present: &mut Vec<ItemRow>,
    ) -> Result<Result<(), ConnectorError>> {
        const LOOKUPS: usize = 100;
        let mut after = 0;
        loop {
            let chunk = self
                .ledger
                .items_after(id, processor, after, EXECUTE_CHUNK, None)?;
            let Some(last) = chunk.last() else { break };
            after = last.id;
            let erased: Vec<&ItemRow> = chunk
                .iter()
                .filter(|i| {
                    i.state == ItemState::Done
                        && i.action.changes_data()
                        && !seen.contains(&i.reference)
                })
                .collect();
            for group in erased.chunks(LOOKUPS) {
                let references: Vec<_> = group.iter().map(|i| i.reference.clone()).collect();
                let found = connector.export_batch(&references).await;
                for (item, found) in group.iter().zip(found) {
                    let reason = match found {
                        Err(e) if e.kind == ErrorKind::NotFound => continue,
                        Err(e) => return Ok(Err(e)),
                        Ok(record) => {
                            let anonymised = item.outcome.as_deref() == Some("anonymized");
                            if !anonymised {
                                "still present when looked up by id after its deletion"
                            } else if connector.shows_anonymized(&record, &item.fields)
                                == Some(false)
                            {
                                "not anonymised when looked up by id"
                            } else {
                                continue;
                            }
                        }
                    };
                    remaining.push(Remaining {
                        processor: processor.to_string(),
                        object: item.reference.object.clone(),
                        id: item.reference.id.clone(),
                        reason: reason.to_string(),
                    });
                    still_present.push((*item).clone());
                }
            }
        }
        Ok(Ok(()))
    }

    /// Record one item's result; a refused deletion falls back to anonymisation.
    async fn settle(
        &self,
        connector: &Arc<dyn Connector>,
        item: &ItemRow,
        action: &EraseAction,
        mut result: Result<EraseOutcome, ConnectorError>,
    ) -> Result<Result<(), ConnectorError>> {
        let mut detail = None;
        if let (Err(e), EraseAction::Delete) = (&result, action) {
            if e.kind == ErrorKind::Conflict && !item.fields.is_empty() {
                // The processor refused deletion: keep only what it needs, anonymise the rest.
                detail = Some(format!(
                    "deletion refused ({}); anonymised instead",
                    e.message
                ));
                let anonymize = EraseAction::Anonymize {
                    fields: item.fields.clone(),
                };
                result = connector.erase(&item.reference, &anonymize).await;
            }
        }
        let outcome = match result {
            Ok(EraseOutcome::Deleted) => ("deleted", detail),
            Ok(EraseOutcome::AlreadyGone) => {
                ("deleted", Some("already gone at the processor".to_string()))
            }
            Ok(EraseOutcome::SoftDeleted { restorable_until }) => {
                let detail = format!(
                    "soft-deleted until {restorable_until}: gone from the processor's live data \
                     but restorable until then, when the processor purges it; checked again \
                     after that date"
                );
                self.ledger
                    .mark_soft_deleted(item, &detail, restorable_until)?;
                failpoint::after_action();
                return Ok(Ok(()));
            }
            Ok(EraseOutcome::Anonymized { fields }) => (
                "anonymized",
                Some(detail.unwrap_or_else(|| format!("cleared: {}", fields.join(", ")))),
            ),
            Err(e) => {
                self.ledger.fail_item(item, &e)?;
                return Ok(Err(e));
            }
        };
        self.ledger
            .mark_item(item, ItemState::Done, Some(outcome.0), outcome.1.as_deref())?;
        failpoint::after_action();
        Ok(Ok(()))
    }

    /// Discover again: anything erasable that still matches is reported as remaining.
    async fn verify_task(
        &self,
        id: &str,
        processor: &str,
        connector: &Arc<dyn Connector>,
        subject: &Subject,
        discovered: Option<&super::batch::Discovered>,
    ) -> Result<Option<Vec<Remaining>>> {
        self.progress.update(processor, "verifying");
        let targets = self.targets_of(id, processor, subject)?;
        // Each record is checked against its planned item as discovery hands it over.
        let mut remaining = Vec::new();
        let mut still_present = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut ledger_error = None;
        let result = {
            let mut check = |record: Record| -> Result<(), ConnectorError> {
                if !record.matched_by.allows_erasure() {
                    return Ok(());
                }
                let item = match self.ledger.item_for(id, processor, &record.reference) {
                    Ok(item) => item,
                    Err(e) => {
                        ledger_error = Some(e);
                        return Err(ConnectorError::permanent(
                            "the ledger could not be read during verification",
                        ));
                    }
                };
                let reason = match item {
                    Some(item)
                        if item.state == ItemState::Done
                            && (item.action.changes_data()
                                || matches!(
                                    item.outcome.as_deref(),
                                    Some("deleted" | "anonymized")
                                )) =>
                    {
                        still_present.push(item);
                        "still matches after erasure"
                    }
                    Some(_) => return Ok(()),
                    None => "found during verification but not in the plan (new since planning?)",
                };
                // Discovery may hand a record over twice; report it once.
                if !seen.insert(record.reference.clone()) {
                    return Ok(());
                }
                remaining.push(Remaining {
                    processor: processor.to_string(),
                    object: record.reference.object.clone(),
                    id: record.reference.id.clone(),
                    reason: reason.to_string(),
                });
                Ok(())
            };
            super::batch::discover_each(
                discovered,
                targets.as_deref(),
                (id, processor),
                connector,
                subject,
                &mut check,
            )
            .await
        };
        if let Some(e) = ledger_error {
            return Err(e);
        }
        if let Err(e) = result {
            self.task_failed(id, processor, Stage::Executed, "verification failed", &e)?;
            return Ok(None);
        }
        // A record found only through another one (a ticket of a contact, an invoice's bank
        // account) is not found again once its parent is gone: every erased record discovery
        // did not hand over is looked up by id as well.
        if let Err(e) = self
            .verify_by_id(
                id,
                processor,
                connector,
                &seen,
                &mut remaining,
                &mut still_present,
            )
            .await?
        {
            self.task_failed(id, processor, Stage::Executed, "verification failed", &e)?;
            return Ok(None);
        }
        // What the processor said it erased but still holds is acted on again by the next run.
        for item in &still_present {
            self.ledger.mark_item(
                item,
                ItemState::Failed,
                Some("failed"),
                Some("still present at verification; acted on again by the next run"),
            )?;
        }
        self.ledger.audit(
            Some(id),
            "task.verified",
            &serde_json::json!({ "processor": processor, "remaining": remaining.len() }),
        )?;
        let tally = self.ledger.item_tally(id, processor)?;
        let retained = tally
            .iter()
            .any(|t| t.action == Action::Retain && t.state == ItemState::Done);
        let forwarded = tally.iter().any(|t| t.action == Action::Forward);
        let mut summary = outcome_summary(&tally);
        let manual: usize = tally
            .iter()
            .filter(|t| t.outcome.as_deref() == Some(MANUAL))
            .map(|t| t.count)
            .sum();
        let state = if !remaining.is_empty() {
            summary = format!("{summary}; {} record(s) still present", remaining.len());
            TaskState::Failed
        } else if manual > 0 {
            summary = format!(
                "{summary}: remove {} in the processor by hand, then record each with \
                 `dsrhub confirm {id} {processor} --record OBJECT:ID`",
                if manual == 1 { "it" } else { "them" }
            );
            TaskState::ManualPending
        } else if forwarded {
            TaskState::Forwarded
        } else if retained {
            TaskState::Retained
        } else {
            TaskState::Done
        };
        self.progress.finish(processor, &summary);
        self.ledger
            .set_task(id, processor, state, Stage::Verified, &summary, None)?;
        Ok(Some(remaining))
    }
}

/// Whether an approved task still has work for an executing run: its plan not carried out
/// completely, or a verification that found records still present (acted on again).
fn to_carry_out(t: &TaskRow) -> bool {
    match t.stage {
        Stage::Planned | Stage::Executing | Stage::Executed => true,
        Stage::Verified => t.state == TaskState::Failed,
        _ => false,
    }
}

/// What verification leaves after a run: this run's findings for the processors it verified
/// (`approved`), earlier runs' findings for the others.
pub(super) fn remaining_after(
    request: &RequestRow,
    approved: &[TaskRow],
    verified: Vec<Option<Vec<Remaining>>>,
) -> Vec<Remaining> {
    let rerun: Vec<&str> = approved.iter().map(|t| t.processor.as_str()).collect();
    let mut remaining: Vec<Remaining> = request
        .verification_remaining
        .iter()
        .filter(|r| !rerun.contains(&r.processor.as_str()))
        .cloned()
        .collect();
    remaining.extend(verified.into_iter().flatten().flatten());
    remaining
}

fn erase_action(item: &ItemRow) -> EraseAction {
    match item.action {
        Action::Anonymize => EraseAction::Anonymize {
            fields: item.fields.clone(),
        },
        _ => EraseAction::Delete,
    }
}

/// Whether every one of `fields` is present in `data` (at the top or one level down, names
/// compared without case) and empty. A field not found counts as not cleared: acting again
/// is then the safe choice (clearing a cleared field changes nothing).
fn fields_cleared(data: &serde_json::Value, fields: &[String]) -> bool {
    fn find<'a>(data: &'a serde_json::Value, field: &str) -> Option<&'a serde_json::Value> {
        let object = data.as_object()?;
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v)
            .or_else(|| object.values().find_map(|v| find_shallow(v, field)))
    }
    fn find_shallow<'a>(data: &'a serde_json::Value, field: &str) -> Option<&'a serde_json::Value> {
        data.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v)
    }
    fields.iter().all(|f| {
        find(data, f).is_some_and(|v| match v {
            serde_json::Value::Null => true,
            serde_json::Value::String(s) => s.trim().is_empty(),
            serde_json::Value::Array(a) => a.is_empty(),
            _ => false,
        })
    })
}

/// "delete 1, anonymize 1, retain 3" for a plan.
fn plan_summary(counts: &BTreeMap<&str, usize>) -> String {
    if counts.is_empty() {
        return "nothing to erase: no match".into();
    }
    counts
        .iter()
        .map(|(a, n)| format!("{a} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line a person can read: what was erased, kept, or left for review.
pub(crate) fn outcome_summary(tally: &[Tally]) -> String {
    if tally.is_empty() {
        return "nothing erased: no match".into();
    }
    let count = |outcome: &str| -> usize {
        tally
            .iter()
            .filter(|t| t.outcome.as_deref() == Some(outcome))
            .map(|t| t.count)
            .sum()
    };
    let (deleted, anonymized, retained, review, failed) = (
        count("deleted"),
        count("anonymized"),
        count("retained"),
        count("review"),
        count("failed"),
    );
    let mut parts = Vec::new();
    for (n, what) in [
        (deleted, "deleted"),
        (anonymized, "anonymised"),
        (retained, "retained"),
        (review, "for review"),
        (count(MANUAL), "need a manual action"),
        (count("forwarded"), "forwarded to the controller"),
        (failed, "failed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    if deleted + anonymized == 0 {
        format!(
            "nothing erased: {}",
            if parts.is_empty() {
                "no action ran".into()
            } else {
                parts.join(", ")
            }
        )
    } else {
        parts.join(", ")
    }
}
