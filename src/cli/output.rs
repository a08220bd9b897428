//! Human-readable output.

use crate::ledger::{Ledger, RequestRow};
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
        match (
            &report.verification.ran_at,
            report.verification.remaining.len(),
        ) {
            (None, _) => println!("\n  verification: not run yet"),
            (Some(at), 0) => println!("\n  verification {at}: nothing erasable remains"),
            (Some(at), n) => {
                println!("\n  verification {at}: {n} record(s) still present");
                for rem in &report.verification.remaining {
                    println!(
                        "    {} {} {}: {}",
                        rem.processor, rem.object, rem.id, rem.reason
                    );
                }
            }
        }
    }
}

/// One line per request.
pub fn print_requests(ledger: &Ledger, requests: &[RequestRow]) {
    if requests.is_empty() {
        println!("no requests yet");
        return;
    }
    let now = jiff::Timestamp::now();
    println!(
        "{:<36}  {:<8}  {:<20}  {:<20}  processors",
        "id", "type", "status", "due"
    );
    for r in requests {
        let due = r.extended_due_at.unwrap_or(r.due_at);
        let overdue = !r.status.is_closed() && due < now;
        let tasks = ledger.tasks(&r.id).unwrap_or_default();
        let states: Vec<String> = tasks
            .iter()
            .map(|t| format!("{}={}", t.processor, t.state))
            .collect();
        println!(
            "{:<36}  {:<8}  {:<20}  {:<20}  {}",
            r.id,
            r.kind.as_str(),
            r.status.as_str(),
            format!(
                "{}{}",
                due.strftime("%Y-%m-%d"),
                if overdue { " OVERDUE" } else { "" }
            ),
            states.join(" ")
        );
    }
}
