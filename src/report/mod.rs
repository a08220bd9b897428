//! Reports: the JSON contract (for machines), HTML (for the person and the auditor) and,
//! for access requests, the export ZIP ([`export`]).
//!
//! Reports are built from the ledger alone, so `dsrhub report <id>` can rebuild them at any
//! time. They hold ids, outcomes, bases and dates, never field values.
//!
//! The JSON shape is a contract: extend it, never rename.

pub mod accountability;
pub mod batch;
pub mod export;
pub mod html;
pub mod pages;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ledger::{Action, ItemRow, ItemState, Ledger, Remaining, RequestKind};

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The request.
    pub request: RequestInfo,
    /// One entry per processor.
    pub processors: Vec<ProcessorReport>,
    /// The verification after erasure.
    pub verification: Verification,
    /// Erasure: the part of the plan that waits for approval, with the digest an approval
    /// must name (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_awaiting_approval: Option<crate::ledger::PlanDigest>,
    /// Erasure: every approval, with the digest it approved and who approved it (extension).
    #[serde(default)]
    pub approvals: Vec<crate::ledger::Approval>,
    /// Erasure: records the processor keeps restorable until a date, and whether a check
    /// after that date found them purged (extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub soft_deletions: Vec<crate::ledger::SoftDeletion>,
    /// Restriction: what it marked and nobody has lifted yet, since when (extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restricted: Vec<RestrictedReport>,
    /// Who verified, approved, acted and answered, when, and the request's place in the
    /// audit chain (extension; built from the audit log, see [`accountability`]).
    #[serde(default)]
    pub accountability: accountability::Accountability,
    /// Who holds the data (extension).
    pub organisation: String,
    /// When this report was built (extension).
    pub generated_at: String,
    /// The time zone the HTML shows dates in (`[hub] timezone`; extension). The JSON's
    /// timestamps stay RFC 3339 in UTC.
    #[serde(default = "default_timezone")]
    pub timezone: String,
}

fn default_timezone() -> String {
    crate::config::HubConfig::default().timezone
}

impl Report {
    /// The report with its HTML dates shown in `timezone`.
    pub fn with_timezone(mut self, timezone: &str) -> Report {
        self.timezone = timezone.to_string();
        self
    }
}

/// `request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestInfo {
    /// Its id.
    pub id: String,
    #[serde(rename = "type")]
    /// Access or erasure.
    pub kind: String,
    /// When the request was received.
    pub received_at: String,
    /// When the answer is due (received + the policy's response months).
    pub due_at: String,
    /// Where it is in its life cycle.
    pub status: String,
    /// Extended deadline, when one was recorded (extension).
    pub extended_due_at: Option<String>,
    /// Why the deadline was extended (extension).
    pub extension_reason: Option<String>,
    /// For a request the sweep opened for records earlier requests kept until their retention
    /// ended: those earlier requests (extension). It has no subject; it acted on their records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_by: Vec<String>,
}

/// One processor's part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessorReport {
    /// Its id.
    pub id: String,
    /// Display name (extension).
    pub name: String,
    /// Where it is in its life cycle.
    pub status: String,
    /// One line a person can read.
    pub summary: String,
    /// When a processor without an API must answer (extension).
    pub answer_due: Option<String>,
    /// The last error, personal-data-free.
    pub error: Option<String>,
    /// Its records.
    pub records: Vec<RecordReport>,
}

/// One record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordReport {
    /// The vendor's object type.
    pub object: String,
    /// Its id.
    pub id: String,
    /// found | deleted | anonymized | retained | review | failed; before execution
    /// planned | deselected.
    pub outcome: String,
    /// The legal basis for keeping it.
    pub basis: Option<String>,
    /// Until when it is kept.
    pub retain_until: Option<String>,
    /// The planned action (extension).
    pub action: String,
    /// How the record matched the subject (extension).
    pub matched_by: String,
    /// Categories of personal data in it (extension).
    pub categories: Vec<dsrhub_connector::Category>,
    /// Why, in words (extension).
    pub note: Option<String>,
    /// What identifies the record to a person without its content: folder, date, size, a
    /// hash of the subject line (extension).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub descriptor: std::collections::BTreeMap<String, String>,
    /// Rectification, restriction, lift, objection: the vendor fields the change sets, by
    /// name only (the values are shown to staff while the request is open, never in a
    /// report) (extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed_fields: Vec<String>,
}

/// A record a restriction marked and nobody has lifted yet (extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestrictedReport {
    /// The processor id.
    pub processor: String,
    /// The vendor's object type.
    pub object: String,
    /// Its id.
    pub id: String,
    /// The fields the restriction set (`isActive`, `archived`, `Blocked`).
    pub fields: Vec<String>,
    /// Since when (RFC 3339).
    pub since: String,
}

/// `verification`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// When verification ran.
    pub ran_at: Option<String>,
    /// Records still present.
    pub remaining: Vec<Remaining>,
    /// Exact matches the processor's API cannot erase, waiting for a person to remove them and
    /// record it (`dsrhub confirm --record`); the request stays open while any is listed
    /// (extension).
    #[serde(default)]
    pub manual_actions: Vec<Remaining>,
}

impl Verification {
    /// One line: when it ran and what is left.
    pub fn line(&self) -> String {
        self.line_with(self.ran_at.clone())
    }

    /// [`Verification::line`] with `at` as the verification's time, shown as the reader
    /// should see it (the HTML writes it out in the hub's time zone).
    pub fn line_with(&self, at: Option<String>) -> String {
        let Some(at) = at else {
            return "not run yet".into();
        };
        let mut left = Vec::new();
        if !self.remaining.is_empty() {
            left.push(format!("{} record(s) still present", self.remaining.len()));
        }
        if !self.manual_actions.is_empty() {
            left.push(format!(
                "{} record(s) need a manual action",
                self.manual_actions.len()
            ));
        }
        if left.is_empty() {
            format!("{at}: nothing erasable remains")
        } else {
            format!("{at}: {}", left.join("; "))
        }
    }
}

/// The outcome a report shows for `item` (`planned`, `review`, `deleted`, …).
pub(crate) fn outcome(item: &ItemRow) -> String {
    match (item.state, item.outcome.as_deref()) {
        (ItemState::Skipped, _) => "deselected".into(),
        (ItemState::Failed, _) => "failed".into(),
        (_, Some(outcome)) => outcome.into(),
        (_, None) => match item.action {
            Action::Review => "review".into(),
            _ => "planned".into(),
        },
    }
}

/// Build the report of request `id` from the ledger.
pub fn build(ledger: &Ledger, id: &str, organisation: &str) -> Result<Report> {
    let request = ledger.request(id)?;
    let items = ledger.items(id, None)?;
    let processors = ledger
        .tasks(id)?
        .into_iter()
        .map(|task| {
            let records = items
                .iter()
                .filter(|i| i.processor == task.processor)
                .map(|i| RecordReport {
                    object: i.reference.object.clone(),
                    id: i.reference.id.clone(),
                    outcome: outcome(i),
                    basis: i.basis.clone(),
                    retain_until: i.retain_until.map(|d| d.to_string()),
                    action: i.action.as_str().into(),
                    matched_by: i.matched_by.clone(),
                    categories: i.categories.clone(),
                    descriptor: i.descriptor.clone(),
                    changed_fields: if i.action == Action::Change {
                        i.fields.clone()
                    } else {
                        Vec::new()
                    },
                    note: [i.note.as_deref(), i.detail.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join("; ")
                        .into(),
                })
                .map(|mut r| {
                    if r.note.as_deref() == Some("") {
                        r.note = None;
                    }
                    r
                })
                .collect();
            ProcessorReport {
                name: if task.display_name.is_empty() {
                    task.processor.clone()
                } else {
                    task.display_name.clone()
                },
                answer_due: task.answer_due.map(|d| d.to_string()),
                id: task.processor,
                status: task.state.as_str().into(),
                summary: task.summary,
                error: task.error,
                records,
            }
        })
        .collect();
    Ok(Report {
        request: RequestInfo {
            id: request.id.clone(),
            kind: request.kind.as_str().into(),
            received_at: request.received_at.to_string(),
            due_at: request.due_at.to_string(),
            status: request.status.as_str().into(),
            extended_due_at: request.extended_due_at.map(|t| t.to_string()),
            extension_reason: request.extension_reason.clone(),
            kept_by: ledger.targeted_from(&request.id)?,
        },
        processors,
        verification: Verification {
            ran_at: request.verification_ran_at.map(|t| t.to_string()),
            remaining: request.verification_remaining.clone(),
            manual_actions: items
                .iter()
                .filter(|i| {
                    i.state == ItemState::Done
                        && i.outcome.as_deref() == Some(crate::orchestrator::MANUAL_ACTION)
                })
                .map(|i| Remaining {
                    processor: i.processor.clone(),
                    object: i.reference.object.clone(),
                    id: i.reference.to_string(),
                    reason: i
                        .note
                        .clone()
                        .unwrap_or_else(|| "the processor offers no erasure for it".into()),
                })
                .collect(),
        },
        plan_awaiting_approval: Some(ledger.plan_digest(id)?).filter(|p| !p.is_empty()),
        approvals: ledger.approvals(id)?,
        soft_deletions: ledger.soft_deletions(id)?,
        restricted: ledger
            .restricted(id)?
            .into_iter()
            .map(|r| RestrictedReport {
                processor: r.processor,
                object: r.reference.object,
                id: r.reference.id,
                fields: r.changes.into_iter().map(|c| c.field).collect(),
                since: r.since.to_string(),
            })
            .collect(),
        accountability: accountability::build(ledger, id)?,
        organisation: organisation.to_string(),
        generated_at: crate::ledger::now().to_string(),
        timezone: default_timezone(),
    })
}

/// Write `<kind>-report.json` and `<kind>-report.html` into `dir`; returns both paths.
pub fn write(report: &Report, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    crate::private_files::create_dir(dir, false)?;
    // Named for the right: `access`, `erasure`, `rectification`, `restriction`, `lift`,
    // `objection` (the batch report and `dsrhub status` link them so).
    let kind = RequestKind::parse(&report.request.kind).map_or("erasure", RequestKind::as_str);
    let json_path = dir.join(format!("{kind}-report.json"));
    let html_path = dir.join(format!("{kind}-report.html"));
    let json = serde_json::to_string_pretty(report).expect("report serialises");
    crate::private_files::write(&json_path, &json)?;
    crate::private_files::write(&html_path, &html::render(report)?)?;
    Ok((json_path, html_path))
}
