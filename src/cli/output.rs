//! Human-readable output.

use crate::ledger::Ledger;
use crate::report::Report;

/// Print a report as text: request, then each processor and its records.
pub fn print_report(report: &Report) {
    let r = &report.request;
    println!("{} request {}  status: {}", r.kind, r.id, r.status);
    println!(
        "  received {}   answer due {}",
        r.received_at,
        r.extended_due_at.as_deref().unwrap_or(&r.due_at)
    );
    for p in &report.processors {
        println!("\n  {} [{}] {}", p.name, p.status, p.summary);
        if let Some(error) = &p.error {
            println!("    error: {error}");
        }
        for rec in &p.records {
            let kept = match (&rec.basis, &rec.retain_until) {
                (Some(basis), Some(until)) => format!("  kept until {until}: {basis}"),
                (Some(basis), None) => format!("  kept: {basis}"),
                _ => String::new(),
            };
            println!(
                "    {:<11} {:<15} {:<22} {}{}",
                rec.outcome, rec.object, rec.id, rec.action, kept
            );
            if let Some(note) = &rec.note {
                println!("                {note}");
            }
        }
    }
    if report.request.kind == "erasure" {
        let v = &report.verification;
        println!("\n  verification: {}", v.line());
        for rem in &v.remaining {
            println!(
                "    {} {} {}: {}",
                rem.processor, rem.object, rem.id, rem.reason
            );
        }
        for rem in &v.manual_actions {
            println!(
                "    manual action needed: {} {}: {}",
                rem.processor, rem.id, rem.reason
            );
        }
        if let Some(plan) = &report.plan_awaiting_approval {
            println!(
                "\n  plan awaiting approval: {} ({} record(s), {} deletion(s) or anonymisation(s)), digest {}",
                plan.processors.join(", "),
                plan.records,
                plan.changes,
                plan.digest
            );
        }
    }
}

/// One line per request.
pub fn print_requests(ledger: &Ledger, requests: &[crate::orchestrator::Listed]) {
    if requests.is_empty() {
        println!("no requests");
        return;
    }
    let now = jiff::Timestamp::now();
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    println!(
        "{:<36}  {:<8}  {:<20}  {:<10}  {:>9}  processors",
        "id", "type", "status", "due", "days left"
    );
    for listed in requests {
        let (r, due, needs) = (&listed.request, &listed.due, &listed.needs);
        let left = match (listed.open(), listed.days_left(now)) {
            (false, _) => "-".to_string(),
            (true, d) if d < 0 => format!("OVERDUE {}", -d),
            (true, d) => d.to_string(),
        };
        let tasks = ledger.tasks(&r.id).unwrap_or_default();
        let states: Vec<String> = tasks.iter().map(|t| task_state(t, today)).collect();
        println!(
            "{:<36}  {:<8}  {:<20}  {:<10}  {:>9}  {}",
            r.id,
            r.kind.as_str(),
            r.status.as_str(),
            due.strftime("%Y-%m-%d"),
            left,
            states.join(" ")
        );
        // Long lists wrap under the row instead of widening it.
        for need in needs {
            println!("{:<38}needs: {need}", "");
        }
    }
}

/// `processor=state`, flagging a processor without an API that is late with its answer.
fn task_state(task: &crate::ledger::TaskRow, today: jiff::civil::Date) -> String {
    match task.answer_due {
        Some(due) if task.state == crate::ledger::TaskState::ManualPending && due < today => {
            format!("{}={} (OVERDUE since {due})", task.processor, task.state)
        }
        _ => format!("{}={}", task.processor, task.state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Stage, TaskRow, TaskState};
    use jiff::civil::date;

    #[test]
    fn a_late_answer_is_flagged() {
        let task = TaskRow {
            processor: "ekco".into(),
            state: TaskState::ManualPending,
            stage: Stage::AwaitingAnswer,
            summary: String::new(),
            error: None,
            error_kind: None,
            display_name: "Ekco Nederland".into(),
            answer_due: Some(date(2026, 12, 9)),
            resume_after: None,
            approved: true,
        };
        assert_eq!(task_state(&task, date(2026, 12, 9)), "ekco=manual_pending");
        assert_eq!(
            task_state(&task, date(2026, 12, 10)),
            "ekco=manual_pending (OVERDUE since 2026-12-09)"
        );
        let answered = TaskRow {
            state: TaskState::Done,
            ..task
        };
        assert_eq!(task_state(&answered, date(2027, 1, 1)), "ekco=done");
    }
}
