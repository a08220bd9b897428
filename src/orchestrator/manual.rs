//! Manual actions on records: exact matches the processor's API cannot erase (no delete or
//! anonymisation offered, deletion refused, a contact managed elsewhere) are open obligations.
//! They keep the request open until a person removes the record in the processor and records
//! that, with evidence, per record (`dsrhub confirm <id> <processor> --record OBJECT:ID`).

use std::path::Path;

use dsrhub_connector::RecordRef;

use super::erasure::{outcome_summary, MANUAL};
use super::{Hub, RunLease};
use crate::error::{Error, Result};
use crate::ledger::{ItemRow, ItemState, RequestKind, RequestStatus, Stage, TaskState};

/// What a person did with a record by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualOutcome {
    /// Deleted in the processor.
    Deleted,
    /// Its personal fields cleared in the processor.
    Anonymized,
    /// Kept, for the reason given (a legal basis, another person's data).
    Kept,
    /// Changed in the processor as the request asked (rectification, restriction, its
    /// lifting, objection).
    Changed,
}

impl ManualOutcome {
    /// The item outcome it records.
    fn as_outcome(self) -> &'static str {
        match self {
            ManualOutcome::Deleted => "deleted",
            ManualOutcome::Anonymized => "anonymized",
            ManualOutcome::Kept => "retained",
            ManualOutcome::Changed => "changed",
        }
    }
}

/// `OBJECT:ID` or `OBJECT:SCOPE/ID`, as reports and `--exclude` name a record.
pub fn parse_record(spec: &str) -> Option<RecordRef> {
    let (object, rest) = spec.split_once(':')?;
    let (scope, id) = match rest.split_once('/') {
        Some((scope, id)) => (Some(scope.to_string()), id),
        None => (None, rest),
    };
    if object.is_empty() || id.is_empty() {
        return None;
    }
    Some(RecordRef {
        object: object.to_string(),
        id: id.to_string(),
        scope,
    })
}

/// Whether `item` is the record `wanted` names (a scope left out matches any scope).
pub fn names(wanted: &RecordRef, item: &ItemRow) -> bool {
    item.reference.object == wanted.object
        && item.reference.id == wanted.id
        && (wanted.scope.is_none() || item.reference.scope == wanted.scope)
}

impl Hub {
    /// The records of request `id` that wait for a manual action, per processor.
    pub fn manual_actions(&self, id: &str) -> Result<Vec<ItemRow>> {
        Ok(self
            .ledger
            .items(id, None)?
            .into_iter()
            .filter(|i| i.state == ItemState::Done && i.outcome.as_deref() == Some(MANUAL))
            .collect())
    }

    /// Record that `by` dealt with record `record` (`OBJECT:ID`) of `processor` by hand, with
    /// `evidence` (hashed into the audit log) and a `note` (required for `Kept`: why). When no
    /// record of the processor waits any more, its task finishes and the request is concluded.
    #[allow(clippy::too_many_arguments)]
    pub fn confirm_record(
        &self,
        id: &str,
        processor: &str,
        record: &str,
        outcome: ManualOutcome,
        evidence: &Path,
        note: Option<&str>,
        by: &str,
    ) -> Result<RequestStatus> {
        let request = self.ledger.request(id)?;
        if request.status.is_closed() {
            return Err(Error::Usage(format!(
                "request {id} is {}: a closed request never changes",
                request.status
            )));
        }
        if !request.kind.needs_approval() {
            return Err(Error::Usage(format!(
                "--record: request {id} is an access request; manual actions are recorded for requests that change data"
            )));
        }
        let fits = match outcome {
            ManualOutcome::Deleted | ManualOutcome::Anonymized => {
                request.kind == RequestKind::Erasure
            }
            ManualOutcome::Changed => request.kind != RequestKind::Erasure,
            ManualOutcome::Kept => true,
        };
        if !fits {
            return Err(Error::Usage(format!(
                "--outcome: request {id} is a{} {} request; its records are {}",
                if request.kind == RequestKind::Erasure {
                    "n"
                } else {
                    ""
                },
                request.kind,
                if request.kind == RequestKind::Erasure {
                    "deleted, anonymized or kept"
                } else {
                    "changed or kept"
                }
            )));
        }
        let wanted = parse_record(record)
            .ok_or_else(|| Error::Usage(format!("--record `{record}`: expected OBJECT:ID")))?;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if outcome == ManualOutcome::Kept && note.is_none() {
            return Err(Error::Usage(
                "--note: say why the record is kept (its legal basis, or whose data it is)".into(),
            ));
        }
        if !evidence.is_file() {
            return Err(Error::Usage(format!(
                "--evidence: {} is not a readable file",
                evidence.display()
            )));
        }
        let by = by.trim();
        if by.is_empty() {
            return Err(Error::Usage("--by: name who acted".into()));
        }
        let _lease = RunLease::take(&self.ledger, id, &self.owner)?;
        let open: Vec<ItemRow> = self
            .manual_actions(id)?
            .into_iter()
            .filter(|i| i.processor == processor)
            .collect();
        let Some(item) = open.iter().find(|i| names(&wanted, i)) else {
            let waiting: Vec<String> = open.iter().map(|i| i.reference.to_string()).collect();
            return Err(Error::Usage(format!(
                "--record `{record}`: not a record of {processor} waiting for a manual action in request {id}; waiting: {}",
                if waiting.is_empty() { "none".to_string() } else { waiting.join(", ") }
            )));
        };
        let hash = crate::report::export::sha256_file(evidence)?;
        let today = self.today()?;
        let mut detail = format!(
            "by hand, recorded on {today} by {by}; evidence sha256 {}",
            &hash[..16]
        );
        if let Some(note) = note {
            detail.push_str(&format!("; {note}"));
        }
        self.ledger.audit(
            Some(id),
            "manual.recorded",
            &serde_json::json!({
                "processor": processor,
                "record": item.reference.to_string(),
                "outcome": outcome.as_outcome(),
                "evidence_sha256": hash,
                "by": by,
            }),
        )?;
        self.ledger.mark_item(
            item,
            ItemState::Done,
            Some(outcome.as_outcome()),
            Some(&detail),
        )?;
        if open.len() == 1 {
            self.finish_manual_task(id, processor)?;
        }
        self.conclude(id)
    }

    /// Every record of `processor` that waited for a manual action is dealt with: its task
    /// finishes as its items add up.
    fn finish_manual_task(&self, id: &str, processor: &str) -> Result<()> {
        let Some(task) = self
            .ledger
            .tasks(id)?
            .into_iter()
            .find(|t| t.processor == processor)
        else {
            return Ok(());
        };
        if task.state != TaskState::ManualPending || task.stage != Stage::Verified {
            return Ok(());
        }
        let tally = self.ledger.item_tally(id, processor)?;
        let retained = tally
            .iter()
            .any(|t| t.outcome.as_deref() == Some("retained") && t.state == ItemState::Done);
        let state = if retained {
            TaskState::Retained
        } else {
            TaskState::Done
        };
        self.ledger.set_task(
            id,
            processor,
            state,
            Stage::Verified,
            &outcome_summary(&tally),
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_named_as_reports_name_them() {
        assert_eq!(
            parse_record("contact:42"),
            Some(RecordRef::new("contact", "42"))
        );
        let scoped = parse_record("message:mailbox@x/AAMk=").unwrap();
        assert_eq!(scoped.scope.as_deref(), Some("mailbox@x"));
        assert_eq!(scoped.id, "AAMk=");
        for bad in ["contact", ":1", "contact:", "contact:scope/"] {
            assert_eq!(parse_record(bad), None, "{bad}");
        }
    }
}
