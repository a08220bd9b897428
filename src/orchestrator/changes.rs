//! Rectification, restriction, its lifting and objection: discover → propose → (approval) →
//! apply → read back.
//!
//! The same life cycle as an erasure, with a different question to each processor: instead
//! of the policy deciding delete / anonymise / keep, the connector proposes which of the
//! record's vendor fields change from what to what ([`Connector::propose`]). A person sees
//! that plan (the old values only in the CLI and the dashboard, never in a log), approves its
//! digest, and [`Connector::apply`] writes the new values; then each changed record is
//! proposed again, and anything but "unchanged" is a record still to be put right.
//!
//! Only exact matches are changed. A record the vendor will not change, or whose connector
//! cannot, is an open manual action (`dsrhub confirm … --record`), so the request stays open
//! until a person has made the change where it is made. A lift acts on the records its
//! restriction marked, by id, and puts back what the restriction changed.

use std::sync::Arc;

use dsrhub_connector::{
    Change, Connector, ConnectorError, ErrorKind, FieldChange, Proposal, Record, RecordRef, Subject,
};

use super::erasure::MANUAL;
use super::{Hub, RunOptions};
use crate::error::{Error, Result};
use crate::ledger::{
    now, Action, IdentityNote, ItemRow, ItemState, NewItem, Remaining, RequestKind, RequestRow,
    Stage, TaskRow, TaskState,
};
use crate::lifecycle::Event;

/// Items planned or carried out at a time.
const CHUNK: usize = 500;

/// The longest value `--set` takes: long enough for any real name or address line.
const MAX_VALUE: usize = 200;

impl Hub {
    /// Record a verified request of `kind` (rectification, restriction, objection) asking
    /// `change` of every record of `subject`. `reason`: a restriction's (why processing
    /// stops: a dispute about accuracy, an objection being weighed), kept with the request
    /// and hashed into the audit log.
    pub fn open_change(
        &self,
        kind: RequestKind,
        subject: &Subject,
        identity_verification: &str,
        change: &Change,
        reason: Option<&str>,
    ) -> Result<String> {
        self.open_with_change(kind, change, reason, || {
            self.open(kind, subject, identity_verification)
        })
    }

    /// [`Hub::open_change`] for a request that came in unverified (the HTTP API's intake),
    /// `submitted` when the subject sent it; nothing runs before its identity is verified.
    pub fn open_change_unverified(
        &self,
        kind: RequestKind,
        subject: &Subject,
        change: &Change,
        reason: Option<&str>,
        submitted: jiff::Timestamp,
    ) -> Result<String> {
        self.open_with_change(kind, change, reason, || {
            self.open_unverified(kind, subject, submitted)
        })
    }

    /// Check `change` against `kind`, `open` the request, and record what it asks.
    fn open_with_change(
        &self,
        kind: RequestKind,
        change: &Change,
        reason: Option<&str>,
        open: impl FnOnce() -> Result<String>,
    ) -> Result<String> {
        check_change(kind, change, reason)?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let id = open()?;
        self.ledger.record_change(&id, change, reason)?;
        Ok(id)
    }

    /// Lift restriction `restriction`: open a request that puts back, on every record the
    /// restriction marked and nobody lifted yet, the values it changed, and write the notice
    /// to the person (art. 18(3)) as a draft of the restriction's. Planned, approved and
    /// carried out like any other request (`dsrhub run`); its id.
    pub fn lift(&self, restriction: &str, reason: &str) -> Result<String> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::Usage(
                "--reason: say why the restriction ends (the dispute is settled, the objection weighed)"
                    .into(),
            ));
        }
        let request = self.ledger.request(restriction)?;
        if request.kind != RequestKind::Restriction {
            return Err(Error::Usage(format!(
                "request {restriction} is an {} request: only a restriction is lifted",
                request.kind
            )));
        }
        let records = self.ledger.restricted(restriction)?;
        if records.is_empty() {
            return Err(Error::Usage(format!(
                "restriction {restriction} marks no record that is not lifted already \
                 (it is {}; `dsrhub status {restriction}` shows what it marked)",
                request.status
            )));
        }
        let received = now();
        let due =
            crate::deadline::add_months(received, self.policy.response_months, &self.timezone)?;
        let how = format!("lift of restriction {restriction}");
        // Only where the restriction marked something: elsewhere there is nothing to lift.
        let tasks: Vec<_> = self
            .new_tasks()
            .into_iter()
            .filter(|t| records.iter().any(|r| r.processor == t.processor))
            .collect();
        let id = self.ledger.create_lift_request(
            IdentityNote {
                how: &how,
                by: &self.operator,
            },
            (received, due),
            &tasks,
            (restriction, &records),
            reason,
        )?;
        // Art. 18(3): the person is told before the restriction is lifted. The notice is a
        // draft in the restriction's folder, sent with `dsrhub reply RESTRICTION --send`
        // before the lift is approved. A restriction closed before its subject was kept for
        // this has no address left: said in the audit log, and the lift goes on.
        match self.write_reply(restriction, crate::replies::ReplyKind::LiftNotice, reason) {
            Ok(_) => {}
            Err(Error::Usage(why)) => self.ledger.audit(
                Some(&id),
                "reply.not_written",
                &serde_json::json!({ "stem": "reply-lift-notice", "why": why }),
            )?,
            Err(e) => return Err(e),
        }
        Ok(id)
    }

    pub(super) async fn run_change(
        &self,
        request: &RequestRow,
        options: &RunOptions,
    ) -> Result<()> {
        let id = request.id.as_str();
        let Some((change, _)) = self.ledger.request_change(id)? else {
            return Err(Error::Ledger(format!(
                "request {id} is a {} request but records no change to make",
                request.kind
            )));
        };
        // A lift searches for nobody; its letters name the restriction's subject, whose
        // addresses are kept until the restriction is lifted.
        let subject = match request.kind {
            RequestKind::Lift => match self.ledger.lifted_restriction(id)? {
                Some(restriction) => self.ledger.subject(&restriction)?,
                None => Subject::default(),
            },
            _ => self.ledger.subject(id)?,
        };
        self.transition(id, Event::Start, true)?;
        let tasks = self.ledger.tasks(id)?;
        self.plan_each(&tasks, |t| {
            self.plan_change_task(request, t, &subject, &change)
        })
        .await?;

        // A customer's data subject: what is held for the customer goes to them as
        // controller (shown in the dry run, sent after approval), as for an erasure. A lift
        // acts only on what its restriction marked, so it decides nothing new.
        let controller = match request.kind {
            RequestKind::Lift => None,
            _ => self.decide_forwarding(request, &subject)?,
        };
        self.within_cap(id, options)?;
        let approved = self.approved_to_carry_out(id)?;
        if !options.execute || approved.is_empty() {
            self.conclude(id)?;
            return Ok(());
        }
        self.transition(id, Event::Execute, true)?;
        let verified = self
            .act_on_each(&approved, |t| {
                self.apply_and_verify(request, t, &change, &subject)
            })
            .await?;
        self.finish_verified(
            request,
            &approved,
            verified,
            (controller.as_ref(), &subject),
        )
        .await
    }

    /// Find the subject's records at one processor (or, for a lift, take the restriction's)
    /// and ask its connector what the change would do to each.
    async fn plan_change_task(
        &self,
        request: &RequestRow,
        task: &TaskRow,
        subject: &Subject,
        change: &Change,
    ) -> Result<()> {
        let id = request.id.as_str();
        let processor = task.processor.as_str();
        let Some(connector) = self.connector_or_skip(id, processor)? else {
            return Ok(());
        };
        if connector.by_letter() {
            // One item stands for everything the processor holds about the subject: the plan
            // (and its digest) shows what the letter asks, and the answer marks it.
            let items = self.letter_items(id, processor, request.kind, change)?;
            self.ledger.save_items(id, processor, &items)?;
            let summary = format!(
                "no API: after approval, the processor is asked by letter to make the {}; its \
                 answer is recorded with `dsrhub confirm`",
                request.kind
            );
            return self.ledger.set_task(
                id,
                processor,
                TaskState::Pending,
                Stage::Planned,
                &summary,
                None,
            );
        }
        self.discovery_started(id, processor)?;
        let planned = if request.kind == RequestKind::Lift {
            self.plan_lift(id, processor, connector).await
        } else {
            self.plan_discovered(id, processor, connector, subject, change)
                .await
        };
        let counts = match planned? {
            Ok(counts) => counts,
            Err(e) => {
                return self.task_failed(id, processor, Stage::New, "planning failed", &e);
            }
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

    /// Plan `change` for every record discovery finds for `subject`. The outer `Result` is the
    /// ledger's, the inner one the processor's.
    async fn plan_discovered(
        &self,
        id: &str,
        processor: &str,
        connector: &Arc<dyn Connector>,
        subject: &Subject,
        change: &Change,
    ) -> Result<std::result::Result<Counts, ConnectorError>> {
        let mut records = Vec::new();
        let found = {
            let mut sink = |r: Record| -> std::result::Result<(), ConnectorError> {
                records.push(r);
                Ok(())
            };
            super::batch::discover_each(None, None, (id, processor), connector, subject, &mut sink)
                .await
        };
        if let Err(e) = found {
            return Ok(Err(e));
        }
        let mut counts = Counts::default();
        for chunk in records.chunks(CHUNK) {
            let mut items = Vec::with_capacity(chunk.len());
            for record in chunk {
                if !record.matched_by.allows_erasure() {
                    // Never changed on a loose match: listed for review, its note says why.
                    let mut item = crate::policy::access_item(record);
                    item.fields = Vec::new();
                    items.push(item);
                    continue;
                }
                let proposal = match connector.propose(&record.reference, change).await {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(e)),
                };
                items.push(plan_item(record, proposal));
            }
            counts.add(&self.ledger.save_items(id, processor, &items)?);
        }
        Ok(Ok(counts))
    }

    /// The plan's items at a processor without an API: one per thing the letter asks, for
    /// all the subject's data there (`processor:<id>`); for a lift, the restriction's own.
    fn letter_items(
        &self,
        id: &str,
        processor: &str,
        kind: RequestKind,
        change: &Change,
    ) -> Result<Vec<NewItem>> {
        let asked: Vec<(RecordRef, Vec<FieldChange>)> = if kind == RequestKind::Lift {
            self.ledger
                .lift_targets(id, processor)?
                .into_iter()
                .map(|(reference, restricted)| (reference, reversed(&restricted)))
                .collect()
        } else {
            vec![(
                RecordRef::new(LETTER_OBJECT, processor),
                letter_changes(change),
            )]
        };
        Ok(asked
            .into_iter()
            .map(|(reference, changes)| {
                let mut item = plan_item(
                    &by_id(reference),
                    Some(Proposal::from_changes(changes)),
                );
                item.note = Some(
                    "all the subject's data at this processor: asked by letter, marked by its answer"
                        .into(),
                );
                item
            })
            .collect())
    }

    /// Plan a lift: each record its restriction marked, with what the restriction changed put
    /// back (when the record still shows the restriction's values).
    async fn plan_lift(
        &self,
        id: &str,
        processor: &str,
        connector: &Arc<dyn Connector>,
    ) -> Result<std::result::Result<Counts, ConnectorError>> {
        let mut counts = Counts::default();
        for chunk in self.ledger.lift_targets(id, processor)?.chunks(CHUNK) {
            let mut items = Vec::with_capacity(chunk.len());
            for (reference, restricted) in chunk {
                let change = Change::Restore {
                    restricted: restricted.clone(),
                };
                let proposal = match connector.propose(reference, &change).await {
                    Ok(p) => p,
                    Err(e) if e.kind == ErrorKind::NotFound => Some(Proposal::not_applicable(
                        "no longer at the processor: nothing to put back",
                    )),
                    Err(e) => return Ok(Err(e)),
                };
                items.push(plan_item(&by_id(reference.clone()), proposal));
            }
            counts.add(&self.ledger.save_items(id, processor, &items)?);
        }
        Ok(Ok(counts))
    }

    /// Carry out one processor's approved changes, then propose each again: what is not
    /// "unchanged" now is still to be put right. `None` when verification did not run.
    async fn apply_and_verify(
        &self,
        request: &RequestRow,
        task: &TaskRow,
        change: &Change,
        subject: &Subject,
    ) -> Result<Option<Vec<Remaining>>> {
        let id = request.id.as_str();
        let processor = task.processor.as_str();
        let Some(connector) = self.connector_or_skip(id, processor)? else {
            return Ok(None);
        };
        if connector.by_letter() {
            // The answer is recorded with `dsrhub confirm ID PROCESSOR --outcome
            // changed|not-found`, as for an erasure's letter.
            self.ask_by_letter(request, processor, connector, subject, Some(change))
                .await?;
            return Ok(None);
        }
        if task.stage != Stage::Executed {
            self.progress.update(processor, "changing");
            self.ledger.set_task(
                id,
                processor,
                TaskState::Running,
                Stage::Executing,
                "changing",
                None,
            )?;
            let mut last_error = None;
            let mut after = 0;
            loop {
                let chunk = self.ledger.items_after(id, processor, after, CHUNK, None)?;
                let Some(last) = chunk.last() else { break };
                after = last.id;
                for item in &chunk {
                    if let Some(e) = self.apply_item(connector, item).await? {
                        last_error = Some(e);
                    }
                }
            }
            if let Some(e) = last_error {
                self.task_failed(id, processor, Stage::Executing, "some changes failed", &e)?;
                return Ok(None);
            }
            self.ledger.set_task(
                id,
                processor,
                TaskState::Running,
                Stage::Executed,
                "reading back",
                None,
            )?;
        }
        self.read_back(request, processor, connector, change)
            .await
            .map(Some)
    }

    /// Carry out one item; the processor's error, if any (recorded on the item).
    async fn apply_item(
        &self,
        connector: &Arc<dyn Connector>,
        item: &ItemRow,
    ) -> Result<Option<ConnectorError>> {
        if matches!(item.state, ItemState::Done | ItemState::Skipped) {
            return Ok(None);
        }
        let settled = match item.action {
            Action::Change => None,
            Action::Review if item.is_exact_match() => Some(MANUAL),
            Action::Nothing => Some("unchanged"),
            Action::Forward => Some("forwarded"),
            _ => Some("review"),
        };
        if let Some(outcome) = settled {
            self.ledger
                .mark_item(item, ItemState::Done, Some(outcome), None)?;
            return Ok(None);
        }
        let changes = self.ledger.item_changes(item.id)?;
        // Written before the call: a run that dies here writes the same values again, which
        // changes nothing more (an update to the values a record has is idempotent).
        self.ledger
            .mark_item(item, ItemState::Started, None, None)?;
        match connector.apply(&item.reference, &changes).await {
            Ok(()) => {
                let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
                self.ledger.mark_item(
                    item,
                    ItemState::Done,
                    Some("changed"),
                    Some(&format!("changed: {}", fields.join(", "))),
                )?;
                Ok(None)
            }
            Err(e) => {
                self.ledger.fail_item(item, &e)?;
                Ok(Some(e))
            }
        }
    }

    /// Propose the change again for every record it changed: each must now be unchanged.
    async fn read_back(
        &self,
        request: &RequestRow,
        processor: &str,
        connector: &Arc<dyn Connector>,
        change: &Change,
    ) -> Result<Vec<Remaining>> {
        let id = request.id.as_str();
        let mut remaining = Vec::new();
        let mut failed_call = None;
        let mut after = 0;
        loop {
            let chunk = self.ledger.items_after(id, processor, after, CHUNK, None)?;
            let Some(last) = chunk.last() else { break };
            after = last.id;
            for item in chunk
                .iter()
                .filter(|i| i.outcome.as_deref() == Some("changed"))
            {
                let asked = match change {
                    // A lift asks, per record, for what its restriction changed to go back.
                    Change::Restore { .. } => Change::Restore {
                        restricted: reversed(&self.ledger.item_changes(item.id)?),
                    },
                    other => other.clone(),
                };
                let still = match connector.propose(&item.reference, &asked).await {
                    Ok(Some(Proposal::Unchanged)) => None,
                    Ok(Some(Proposal::Change { changes })) => Some(format!(
                        "reads back different: {}",
                        changes
                            .iter()
                            .map(|c| c.field.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Ok(other) => Some(format!(
                        "cannot be read back ({})",
                        match other {
                            None => "the connector cannot say".to_string(),
                            Some(p) => format!("{p:?}"),
                        }
                    )),
                    Err(e) if e.kind == ErrorKind::NotFound => {
                        Some("gone at the processor since it was changed".to_string())
                    }
                    Err(e) => {
                        failed_call = Some(e);
                        break;
                    }
                };
                if let Some(reason) = still {
                    self.ledger.mark_item(
                        item,
                        ItemState::Failed,
                        Some("failed"),
                        Some(&reason),
                    )?;
                    remaining.push(Remaining {
                        processor: processor.to_string(),
                        object: item.reference.object.clone(),
                        id: item.reference.id.clone(),
                        reason,
                    });
                }
            }
            if failed_call.is_some() {
                break;
            }
        }
        if let Some(e) = failed_call {
            self.task_failed(id, processor, Stage::Executed, "reading back failed", &e)?;
            return Ok(remaining);
        }
        self.ledger.audit(
            Some(id),
            "task.verified",
            &serde_json::json!({ "processor": processor, "remaining": remaining.len() }),
        )?;
        let tally = self.ledger.item_tally(id, processor)?;
        let count = |outcome: &str| -> usize {
            tally
                .iter()
                .filter(|t| t.outcome.as_deref() == Some(outcome))
                .map(|t| t.count)
                .sum()
        };
        let (changed, manual) = (count("changed"), count(MANUAL));
        let mut parts = Vec::new();
        for (n, what) in [
            (changed, "changed"),
            (count("unchanged"), "already as asked or not concerned"),
            (count("forwarded"), "forwarded to the controller"),
            (count("review"), "for review"),
            (manual, "need a manual action"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let mut summary = if parts.is_empty() {
            "nothing changed: no match".to_string()
        } else if changed == 0 {
            format!("nothing changed: {}", parts.join(", "))
        } else {
            parts.join(", ")
        };
        let state = if !remaining.is_empty() {
            summary = format!("{summary}; {} record(s) read back wrong", remaining.len());
            TaskState::Failed
        } else if manual > 0 {
            summary = format!(
                "{summary}: make the change in the processor by hand, then record each with \
                 `dsrhub confirm {id} {processor} --record OBJECT:ID --outcome changed`"
            );
            TaskState::ManualPending
        } else if count("forwarded") > 0 {
            TaskState::Forwarded
        } else {
            TaskState::Done
        };
        self.progress.finish(processor, &summary);
        self.ledger
            .set_task(id, processor, state, Stage::Verified, &summary, None)?;
        Ok(remaining)
    }
}

/// The object name of the item that stands for all a subject's data at a processor without
/// an API.
pub const LETTER_OBJECT: &str = "processor";

/// A record a request acts on by id (a lift's, a letter's): found by nobody's search.
fn by_id(reference: RecordRef) -> Record {
    Record {
        reference,
        matched_by: dsrhub_connector::MatchKind::VendorId,
        categories: Vec::new(),
        linked_to: None,
        retention: None,
        erasability: Default::default(),
        ownership: Default::default(),
        descriptor: Default::default(),
    }
}

/// What a letter asks, as field changes: the corrected values (their old ones are the
/// processor's to know), the restriction's or the opt-out's mark.
fn letter_changes(change: &Change) -> Vec<FieldChange> {
    match change {
        Change::Rectify { values } => values
            .iter()
            .map(|(field, value)| {
                FieldChange::new(field.as_str(), serde_json::Value::Null, value.as_str())
            })
            .collect(),
        Change::Restrict => vec![FieldChange::new("restricted", false, true)],
        Change::Restore { restricted } => reversed(restricted),
        Change::Object { purpose } => vec![FieldChange::new(
            format!("opted_out:{}", purpose.as_str()),
            false,
            true,
        )],
    }
}

/// The changes that undo `changes`.
fn reversed(changes: &[FieldChange]) -> Vec<FieldChange> {
    changes
        .iter()
        .map(|c| FieldChange::new(c.field.clone(), c.to.clone(), c.from.clone()))
        .collect()
}

/// The plan's item for `record`, from what its connector proposed (`None`: it cannot).
///
/// A record that is not the subject's own (a contact matched on a secondary address, a
/// company's record) is never changed for one person, whatever its connector proposes: a
/// person decides, and the request stays open until they record what they did.
fn plan_item(record: &Record, proposal: Option<Proposal>) -> NewItem {
    let mut item = crate::policy::access_item(record);
    item.fields = Vec::new();
    match proposal {
        Some(Proposal::Change { .. }) if !record.ownership.is_own() => {
            let whose = match &record.ownership {
                dsrhub_connector::Ownership::Shared(why)
                | dsrhub_connector::Ownership::Organisation(why) => why.as_str(),
                dsrhub_connector::Ownership::Own => "",
            };
            item.action = Action::Review;
            item.note = Some(format!(
                "not only the subject's ({whose}): not changed for one person; a person decides \
                 what to change there and records it"
            ));
        }
        Some(Proposal::Change { changes }) => {
            item.action = Action::Change;
            item.fields = changes.iter().map(|c| c.field.clone()).collect();
            item.changes = changes;
        }
        Some(Proposal::Unchanged) => {
            item.action = Action::Nothing;
            item.note = Some("already as asked".into());
        }
        Some(Proposal::NotApplicable { why }) => {
            item.action = Action::Nothing;
            item.note = Some(why);
        }
        Some(Proposal::Refused { reason, instead }) => {
            item.action = Action::Review;
            item.note = Some(format!("{reason}; change it instead {instead}"));
        }
        None => {
            item.action = Action::Review;
            item.note = Some(
                "dsrhub cannot make this change through the processor's API: make it there by hand and record it"
                    .into(),
            );
        }
    }
    item
}

/// Items planned, per action.
#[derive(Debug, Default)]
struct Counts(std::collections::BTreeMap<&'static str, usize>);

impl Counts {
    fn add(&mut self, more: &std::collections::BTreeMap<&'static str, usize>) {
        for (action, n) in more {
            *self.0.entry(action).or_insert(0) += n;
        }
    }
}

fn plan_summary(counts: &Counts) -> String {
    if counts.0.is_empty() {
        return "nothing to change: no match".into();
    }
    counts
        .0
        .iter()
        .map(|(a, n)| format!("{a} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The request's change fits its kind, and a rectification's values are plausible.
fn check_change(kind: RequestKind, change: &Change, reason: Option<&str>) -> Result<()> {
    let fits = matches!(
        (kind, change),
        (RequestKind::Rectification, Change::Rectify { .. })
            | (RequestKind::Restriction, Change::Restrict)
            | (RequestKind::Objection, Change::Object { .. })
    );
    if !fits {
        return Err(Error::Usage(format!(
            "a {kind} request cannot ask for a {}",
            change.right()
        )));
    }
    if kind == RequestKind::Restriction && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(Error::Usage(
            "--reason: say why processing is restricted (art. 18(1): accuracy contested, an objection being weighed, …)"
                .into(),
        ));
    }
    if let Change::Rectify { values } = change {
        if values.is_empty() {
            return Err(Error::Usage(
                "--set: name at least one field to correct (FIELD=VALUE)".into(),
            ));
        }
        for (field, value) in values {
            if value.chars().any(char::is_control) || value.chars().count() > MAX_VALUE {
                return Err(Error::Usage(format!(
                    "--set {field}: at most {MAX_VALUE} characters, no line breaks or control characters"
                )));
            }
            if *field == dsrhub_connector::Field::Email {
                let checked = crate::identifiers::normalize_subject(&Subject {
                    emails: vec![value.clone()],
                    ..Subject::default()
                });
                if checked.is_err() || value.trim().is_empty() {
                    return Err(Error::Usage(
                        "--set email: not a valid e-mail address".into(),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsrhub_connector::{Field, Ownership, Purpose};

    fn record(ownership: Ownership) -> Record {
        Record {
            ownership,
            matched_by: dsrhub_connector::MatchKind::ExactEmail,
            ..by_id(RecordRef::new("contact", "7"))
        }
    }

    #[test]
    fn a_lift_asks_for_the_restrictions_changes_reversed() {
        let restricted = vec![
            FieldChange::new("isActive", 1, 0),
            FieldChange::new("archived", false, true),
        ];
        assert_eq!(
            reversed(&restricted),
            [
                FieldChange::new("isActive", 0, 1),
                FieldChange::new("archived", true, false)
            ]
        );
        assert_eq!(reversed(&reversed(&restricted)), restricted);
    }

    #[test]
    fn a_letter_asks_for_the_values_or_the_mark() {
        let rectify = Change::Rectify {
            values: [(Field::Phone, "010 1".to_string())].into(),
        };
        assert_eq!(
            letter_changes(&rectify),
            [FieldChange::new("phone", serde_json::Value::Null, "010 1")]
        );
        assert_eq!(
            letter_changes(&Change::Restrict),
            [FieldChange::new("restricted", false, true)]
        );
        assert_eq!(
            letter_changes(&Change::Restore {
                restricted: vec![FieldChange::new("restricted", false, true)]
            }),
            [FieldChange::new("restricted", true, false)]
        );
        assert_eq!(
            letter_changes(&Change::Object {
                purpose: Purpose::Newsletter
            }),
            [FieldChange::new("opted_out:newsletter", false, true)]
        );
    }

    #[test]
    fn the_plan_changes_only_the_subjects_own_records_and_says_why_otherwise() {
        let change = Proposal::Change {
            changes: vec![FieldChange::new("phone", "1", "2")],
        };
        let own = plan_item(&record(Ownership::Own), Some(change.clone()));
        assert_eq!(own.action, Action::Change);
        assert_eq!(own.fields, ["phone"]);
        assert_eq!(own.changes, [FieldChange::new("phone", "1", "2")]);
        for ownership in [
            Ownership::Shared("a ticket with 2 other contact(s)".into()),
            Ownership::Organisation("a company contact".into()),
        ] {
            let item = plan_item(&record(ownership), Some(change.clone()));
            assert_eq!(item.action, Action::Review);
            assert!(item.changes.is_empty() && item.fields.is_empty());
            let note = item.note.unwrap();
            assert!(note.contains("not changed for one person"), "{note}");
            assert!(note.contains("other contact") || note.contains("company contact"));
        }
        let unchanged = plan_item(&record(Ownership::Own), Some(Proposal::Unchanged));
        assert_eq!(
            (unchanged.action, unchanged.note.as_deref()),
            (Action::Nothing, Some("already as asked"))
        );
        let not_applicable = plan_item(
            &record(Ownership::Own),
            Some(Proposal::not_applicable("an invoice stays as issued")),
        );
        assert_eq!(
            (not_applicable.action, not_applicable.note.as_deref()),
            (Action::Nothing, Some("an invoice stays as issued"))
        );
        let refused = plan_item(
            &record(Ownership::Own),
            Some(Proposal::refused("synced", "in Autotask")),
        );
        assert_eq!(refused.action, Action::Review);
        assert_eq!(
            refused.note.as_deref(),
            Some("synced; change it instead in Autotask")
        );
        let cannot = plan_item(&record(Ownership::Own), None);
        assert_eq!(cannot.action, Action::Review);
        assert!(cannot.note.unwrap().contains("by hand"));
    }

    #[test]
    fn a_request_asks_only_what_fits_its_kind_with_plausible_values() {
        let rectify = |field: Field, value: &str| Change::Rectify {
            values: [(field, value.to_string())].into(),
        };
        let object = Change::Object {
            purpose: Purpose::Newsletter,
        };
        assert!(check_change(
            RequestKind::Rectification,
            &rectify(Field::Phone, "010"),
            None
        )
        .is_ok());
        assert!(check_change(RequestKind::Restriction, &Change::Restrict, Some("claim")).is_ok());
        assert!(check_change(RequestKind::Objection, &object, None).is_ok());
        for (kind, change) in [
            (RequestKind::Restriction, rectify(Field::Phone, "010")),
            (RequestKind::Rectification, Change::Restrict),
            (RequestKind::Objection, Change::Restrict),
            (RequestKind::Lift, Change::Restrict),
        ] {
            let e = check_change(kind, &change, Some("x")).unwrap_err();
            assert!(e.to_string().contains("cannot ask for"), "{e}");
        }
        for reason in [None, Some(""), Some("  ")] {
            let e = check_change(RequestKind::Restriction, &Change::Restrict, reason).unwrap_err();
            assert!(e.to_string().contains("--reason"), "{e}");
        }
        let empty = Change::Rectify {
            values: Default::default(),
        };
        assert!(check_change(RequestKind::Rectification, &empty, None).is_err());
        let long = "x".repeat(MAX_VALUE + 1);
        for bad in [
            rectify(Field::City, "Delft\nLeiden"),
            rectify(Field::City, &long),
        ] {
            let e = check_change(RequestKind::Rectification, &bad, None).unwrap_err();
            assert!(e.to_string().contains("--set city"), "{e}");
            assert!(
                !e.to_string().contains("Delft"),
                "no value in the error: {e}"
            );
        }
        assert!(check_change(
            RequestKind::Rectification,
            &rectify(Field::City, &"x".repeat(MAX_VALUE)),
            None
        )
        .is_ok());
        for bad in ["not-an-address", " "] {
            let e = check_change(
                RequestKind::Rectification,
                &rectify(Field::Email, bad),
                None,
            )
            .unwrap_err();
            assert!(e.to_string().contains("--set email"), "{e}");
        }
        assert!(check_change(
            RequestKind::Rectification,
            &rectify(Field::Email, "jan@example.nl"),
            None
        )
        .is_ok());
    }
}
