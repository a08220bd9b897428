//! The HTML report: one self-contained page (no external assets), readable on screen and on
//! paper. The template's name ends in `.html`, so minijinja escapes every value.

use minijinja::{context, Environment};

use super::Report;
use crate::error::{Error, Result};

const TEMPLATE: &str = include_str!("report.html");

/// Render `report` as HTML.
pub fn render(report: &Report) -> Result<String> {
    let mut env = Environment::new();
    let tz = report.timezone.clone();
    // A timestamp (RFC 3339) as the day it was in the hub's time zone, written out; a date
    // (`2031-12-31`) written out as it is. Anything else is shown unchanged.
    env.add_filter("day", move |value: String| -> String { day(&value, &tz) });
    let tz = report.timezone.clone();
    env.add_filter("moment", move |value: String| -> String {
        moment(&value, &tz)
    });
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| Error::Usage(format!("report template: {e}")))?;
    let template = env
        .get_template("report.html")
        .map_err(|e| Error::Usage(format!("report template: {e}")))?;
    template
        .render(context! { r => minijinja::value::Value::from(minijinja::value::Serde(report)), erasure => report.request.kind == "erasure", verification_line => report.verification.line_with(report.verification.ran_at.as_deref().map(|at| moment(at, &report.timezone))) })
        .map_err(|e| Error::Usage(format!("report template: {e}")))
}

fn day(value: &str, timezone: &str) -> String {
    if let Ok(at) = value.parse::<jiff::Timestamp>() {
        if let Ok(zoned) = at.in_tz(timezone) {
            return dsrhub_connector::text::long_date(zoned.date(), "en");
        }
    }
    match value.parse::<jiff::civil::Date>() {
        Ok(date) => dsrhub_connector::text::long_date(date, "en"),
        Err(_) => value.to_string(),
    }
}

fn moment(value: &str, timezone: &str) -> String {
    match value
        .parse::<jiff::Timestamp>()
        .ok()
        .and_then(|at| at.in_tz(timezone).ok())
    {
        Some(zoned) => format!(
            "{}, {}",
            dsrhub_connector::text::long_date(zoned.date(), "en"),
            zoned.strftime("%H:%M %Z")
        ),
        None => day(value, timezone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ProcessorReport, RecordReport, RequestInfo, Verification};

    #[test]
    fn values_are_escaped() {
        let report = Report {
            request: RequestInfo {
                id: "r1".into(),
                kind: "erasure".into(),
                received_at: "2026-11-25T10:00:00Z".into(),
                due_at: "2026-12-25T10:00:00Z".into(),
                status: "completed".into(),
                extended_due_at: None,
                extension_reason: None,
                kept_by: Vec::new(),
            },
            processors: vec![ProcessorReport {
                id: "moneybird".into(),
                name: "Moneybird".into(),
                status: "done".into(),
                summary: "<script>alert(1)</script>".into(),
                answer_due: None,
                error: None,
                records: vec![RecordReport {
                    object: "contact".into(),
                    id: "1".into(),
                    outcome: "deleted".into(),
                    basis: None,
                    retain_until: None,
                    action: "delete".into(),
                    matched_by: "exact_email".into(),
                    categories: vec![],
                    note: None,
                    descriptor: [("folder".to_string(), "<b>inbox</b>".to_string())].into(),
                    changed_fields: vec![],
                }],
            }],
            verification: Verification {
                ran_at: Some("2026-11-25T10:01:00Z".into()),
                remaining: vec![],
                manual_actions: vec![],
            },
            plan_awaiting_approval: None,
            approvals: vec![],
            soft_deletions: vec![],
            restricted: vec![],
            accountability: Default::default(),
            timezone: "Europe/Amsterdam".into(),
            organisation: "Voorbeeld & Zn".into(),
            generated_at: "2026-11-25T10:02:00Z".into(),
        };
        let html = render(&report).unwrap();
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("folder: &lt;b&gt;inbox"), "{html}");
        assert!(!html.contains("<b>inbox"));
        assert!(html.contains("Voorbeeld &amp; Zn"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external assets"
        );
    }
}
