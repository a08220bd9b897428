//! A batch's report: the batch, the plan waiting for approval (one digest over every
//! request's), and a section per subject (their request's own report), in the order of the
//! list. Written next to the requests' own reports: `reports/batch-<id>/batch-report.{json,html}`.

use std::path::{Path, PathBuf};

use minijinja::{context, Environment};
use serde::Serialize;

use super::Report;
use crate::error::{Error, Result};
use crate::ledger::{BatchPlan, BatchRow};
use crate::orchestrator::Hub;

const TEMPLATE: &str = include_str!("batch.html");

/// One subject's section.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectSection {
    /// The line of the subjects file they were on.
    pub line: usize,
    /// Their request's report.
    pub report: Report,
}

/// A batch's report.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    /// The batch.
    pub batch: BatchRow,
    /// What waits for approval, if anything.
    pub plan_awaiting_approval: Option<BatchPlan>,
    /// Requests by status (`completed: 90`, …).
    pub statuses: std::collections::BTreeMap<String, usize>,
    /// A section per subject, in list order.
    pub subjects: Vec<SubjectSection>,
    /// When the report was made.
    pub generated_at: String,
}

/// Build batch `batch`'s report.
pub fn build(hub: &Hub, batch: &str) -> Result<BatchReport> {
    let ledger = hub.ledger();
    let row = ledger.batch(batch)?;
    let plan = ledger.batch_plan(batch)?;
    let mut statuses = std::collections::BTreeMap::new();
    let mut subjects = Vec::new();
    for (line, request) in ledger.batch_requests(batch)? {
        *statuses
            .entry(request.status.as_str().to_string())
            .or_insert(0) += 1;
        subjects.push(SubjectSection {
            line,
            report: hub.report(&request.id)?,
        });
    }
    Ok(BatchReport {
        batch: row,
        plan_awaiting_approval: (!plan.is_empty()).then_some(plan),
        statuses,
        subjects,
        generated_at: crate::ledger::now().to_string(),
    })
}

/// The folder of batch `batch`'s report under `reports_dir`.
pub fn folder(reports_dir: &Path, batch: &str) -> PathBuf {
    reports_dir.join(format!("batch-{batch}"))
}

/// Write `report` as `batch-report.json` and `batch-report.html` in `dir` (owner-only); the
/// two paths.
pub fn write(report: &BatchReport, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    crate::private_files::create_dir(dir, true)?;
    let json_path = dir.join("batch-report.json");
    let html_path = dir.join("batch-report.html");
    let json = serde_json::to_string_pretty(report).expect("a batch report serialises");
    crate::private_files::write(&json_path, &json)?;
    crate::private_files::write(&html_path, render(report)?)?;
    Ok((json_path, html_path))
}

/// The HTML page.
pub fn render(report: &BatchReport) -> Result<String> {
    let mut env = Environment::new();
    env.add_template("batch.html", TEMPLATE)
        .map_err(|e| Error::Usage(format!("batch report template: {e}")))?;
    let erasure = report.batch.kind == crate::ledger::RequestKind::Erasure;
    let lines: Vec<String> = report
        .subjects
        .iter()
        .map(|s| s.report.verification.line())
        .collect();
    env.get_template("batch.html")
        .and_then(|t| {
            t.render(context! {
                b => minijinja::Value::from(minijinja::value::Serde(report)),
                erasure => erasure,
                verification => lines,
            })
        })
        .map_err(|e| Error::Usage(format!("batch report template: {e}")))
}
