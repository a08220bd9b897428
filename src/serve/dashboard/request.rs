//! The request page: what a person needs to move one request on, and what happened so far.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};

use super::super::AppState;
use super::session::Staff;
use super::{days_left_text, render};
use crate::ledger::{AuditEntry, RequestKind, RequestStatus, Stage};

/// Records listed on the page at most (the report lists all of them).
const ITEMS_SHOWN: usize = 200;

/// `GET /dashboard/requests/{id}`; `?done=` names what was just done.
pub async fn page(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    // Only known words are shown back: nothing from the URL reaches the page as text.
    let done = query.get("done").and_then(|d| done_text(d));
    view(&state, &staff, &id, done, None, StatusCode::OK)
}

/// What a `?done=` word says.
fn done_text(done: &str) -> Option<&'static str> {
    Some(match done {
        "verified" => "Identity verified: the hub is looking for the subject's data.",
        "approved" => "Plan approved: the hub is carrying it out.",
        "confirmed" => "The processor's answer is recorded.",
        "recorded" => "The removal is recorded.",
        "replied" => "The reply was sent.",
        "extended" => "The deadline is extended; the letter to the subject is written.",
        "cancelled" => "The request is cancelled; the subject's identifiers are purged.",
        _ => return None,
    })
}

/// The page of request `id` (our id or the submitter's reference), with `done` or `problem`
/// shown at the top, answered with `status`.
pub fn view(
    state: &AppState,
    staff: &Staff,
    id: &str,
    done: Option<&str>,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    match context(state, staff, id) {
        Ok(Some(mut context)) => {
            context["done"] = json!(done);
            context["problem"] = json!(problem);
            render::page(state, status, "request.html", context)
        }
        Ok(None) => render::message(
            state,
            StatusCode::NOT_FOUND,
            "No such request",
            "No request has this id or reference.",
        ),
        Err(e) => {
            tracing::error!(error = %e, "a request page could not be read from the ledger");
            render::message(
                state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "This request could not be shown",
                "The hub could not read it; see its log.",
            )
        }
    }
}

/// The request's id, from our id or the submitter's reference.
pub fn resolve(state: &AppState, id: &str) -> crate::error::Result<Option<String>> {
    let ledger = state.hub.ledger();
    if let Some(ours) = ledger.request_by_external(id)? {
        return Ok(Some(ours));
    }
    Ok(ledger.request(id).ok().map(|r| r.id))
}

fn context(state: &AppState, staff: &Staff, id: &str) -> crate::error::Result<Option<Value>> {
    let Some(id) = resolve(state, id)? else {
        return Ok(None);
    };
    let hub = &state.hub;
    let ledger = hub.ledger();
    let request = ledger.request(&id)?;
    let now = jiff::Timestamp::now();
    let listed = hub.work_list(now)?.into_iter().find(|l| l.request.id == id);
    let (needs, due) = match &listed {
        Some(l) => (l.needs.clone(), l.due),
        None => (
            Vec::new(),
            request.extended_due_at.unwrap_or(request.due_at),
        ),
    };
    let open = !request.status.is_closed();
    let overdue = open && due < now;
    let days = due.duration_since(now).as_hours().div_euclid(24);
    let (external, _) = ledger.intake(&id)?;
    // A closed request's identifiers are purged: nothing to show.
    let subject = if open {
        ledger.subject(&id)?
    } else {
        ledger.subject(&id).unwrap_or_default()
    };
    let masked: Vec<String> = subject
        .emails
        .iter()
        .map(|e| crate::identifiers::mask_email(e))
        .chain(
            subject
                .names
                .iter()
                .map(|n| crate::identifiers::mask_word(n)),
        )
        .chain(subject.phones.iter().map(|p| mask_phone(p)))
        .collect();
    let tasks = ledger.tasks(&id)?;
    let running = state.is_running(&id);

    let names: HashMap<&str, &str> = tasks
        .iter()
        .map(|t| (t.processor.as_str(), display(&t.display_name, &t.processor)))
        .collect();

    // The forms this request takes now.
    let digest = ledger.plan_digest(&id)?;
    let approve = (open
        && request.kind.needs_approval()
        && request.status == RequestStatus::Planned
        && !digest.is_empty()
        && !running)
        .then(|| {
            json!({
                "digest": digest.digest,
                "processors": digest
                    .processors
                    .iter()
                    .map(|p| names.get(p.as_str()).copied().unwrap_or(p))
                    .collect::<Vec<_>>(),
                "records": digest.records,
                "changes": digest.changes,
            })
        });
    let outcomes: &[&str] = match request.kind {
        RequestKind::Erasure => &["deleted", "retained", "not_found"],
        RequestKind::Access => &["exported", "not_found"],
        RequestKind::Rectification
        | RequestKind::Restriction
        | RequestKind::Lift
        | RequestKind::Objection => &["changed", "not_found"],
    };
    let answers: Vec<Value> = if open {
        tasks
            .iter()
            .filter(|t| matches!(t.stage, Stage::AwaitingAnswer | Stage::Answered))
            .map(|t| {
                json!({
                    "processor": t.processor,
                    "name": display(&t.display_name, &t.processor),
                    "outcomes": outcomes,
                    "answer_due": t.answer_due.map(|d| d.to_string()),
                    "amends": (t.stage == Stage::Answered).then_some(&t.summary),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let removals: Vec<Value> = if open {
        hub.manual_actions(&id)?
            .iter()
            .map(|i| {
                json!({
                    "processor": i.processor,
                    "name": names.get(i.processor.as_str()).copied().unwrap_or(&i.processor),
                    "record": i.reference.to_string(),
                    "descriptor": descriptor(&i.descriptor),
                    "reason": i.detail,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let drafts: Vec<Value> = hub
        .replies(&id)?
        .into_iter()
        .map(|d| {
            json!({
                "file": format!("{}.eml", d.stem),
                "sent_at": d.sent_at,
                "approved_by": d.approved_by,
            })
        })
        .collect();
    let unsent = drafts.iter().any(|d| d["sent_at"].is_null());
    let reply = (!drafts.is_empty())
        .then(|| json!({ "drafts": drafts, "unsent": unsent, "can_send": hub.mailer().is_some() }));
    let cancellable = matches!(
        request.status,
        RequestStatus::Received | RequestStatus::IdentityVerified | RequestStatus::Planned
    ) && ledger.acted_at(&id)?.is_none();

    // What was found, and what the plan does with it.
    let (first_items, items_total) = ledger.items_first(&id, ITEMS_SHOWN)?;
    let mut items: Vec<Value> = Vec::with_capacity(first_items.len());
    for i in &first_items {
        // A change's old and new values, for the staff member who approves it (signed in;
        // values are purged when the request closes, and never logged).
        let changes: Vec<Value> = if i.action == crate::ledger::Action::Change {
            ledger
                .item_changes(i.id)?
                .into_iter()
                .map(|c| {
                    // A rectification's values are purged at closure: only the field is left.
                    let purged = c.from.is_null() && c.to.is_null();
                    json!({ "field": c.field, "from": shown(&c.from), "to": shown(&c.to), "purged": purged })
                })
                .collect()
        } else {
            Vec::new()
        };
        items.push(json!({
                "processor": names.get(i.processor.as_str()).copied().unwrap_or(&i.processor),
                "reference": i.reference.to_string(),
                "descriptor": descriptor(&i.descriptor),
                "matched_by": i.matched_by,
                "action": i.action.as_str(),
                "retain_until": i.retain_until.map(|d| d.to_string()),
                "basis": i.basis,
                "state": i.state.as_str(),
                "outcome": i.outcome,
                "detail": i.detail,
                "note": i.note,
                "changes": changes,
        }));
    }

    let (entries, item_events) = ledger.audit_timeline(&id)?;
    let mut timeline: Vec<Value> = entries.iter().map(timeline_row).collect();
    if item_events > 0 {
        timeline.push(json!({
            "at": "",
            "what": format!("{item_events} entries about single records (the report and `dsrhub audit` list them)"),
            "by": "",
        }));
    }

    let batch = ledger.batch_of(&id)?.map(|b| {
        json!({
            "id": b.id,
            "origin": b.origin,
            "swept": crate::orchestrator::sweep::is_sweep(&b.origin),
        })
    });
    Ok(Some(json!({
        "staff": { "user": staff.user, "csrf": staff.csrf },
        "batch": batch,
        "request": {
            "id": id,
            "short": id.chars().take(8).collect::<String>(),
            "external": external,
            "kind": request.kind.as_str(),
            "status": request.status.as_str(),
            "received": request.received_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            "due": due.strftime("%Y-%m-%d").to_string(),
            "open": open,
            "urgency": if overdue { "overdue" } else { "" },
            "days_left_text": days_left_text(days),
            "language": request.language,
        },
        "subject": (!masked.is_empty()).then_some(masked),
        "kept_by": ledger.targeted_from(&id)?,
        "targeted": ledger.is_targeted(&id)?,
        "needs": needs,
        "running": running,
        "actions": {
            "verify": open && request.status == RequestStatus::Received,
            "approve": approve,
            "answers": answers,
            "removals": removals,
            "reply": reply,
            "extend": open,
            "cancel": cancellable && !running,
        },
        "tasks": tasks.iter().map(|t| json!({
            "name": display(&t.display_name, &t.processor),
            "state": t.state.as_str(),
            "summary": t.summary,
            "error": t.error,
        })).collect::<Vec<_>>(),
        "items": items,
        "items_total": items_total,
        "letters": super::super::api::letters_of(state, &id),
        "evidence": super::actions::evidence_files(state, &id),
        "timeline": timeline,
    })))
}

/// A field value as the plan shows it: text as it is, an empty value as "(empty)".
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "(empty)".into(),
        Value::String(s) if s.is_empty() => "(empty)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn display<'a>(name: &'a str, id: &'a str) -> &'a str {
    if name.is_empty() {
        id
    } else {
        name
    }
}

/// What identifies a record to a person, in one line.
fn descriptor(fields: &std::collections::BTreeMap<String, String>) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}: {v}", k.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One audit entry as the timeline shows it: when, what (without hashes), by whom.
fn timeline_row(entry: &AuditEntry) -> Value {
    let d = &entry.detail;
    let text = |name: &str| d.get(name).and_then(Value::as_str).unwrap_or_default();
    let by = [
        "by",
        "approver",
        "approved_by",
        "identity_verified_by",
        "given_by",
    ]
    .iter()
    .map(|k| text(k))
    .find(|v| !v.is_empty())
    .unwrap_or_default();
    let processor = text("processor");
    let what = match entry.event.as_str() {
        "request.received" | "request.intake" => "request received".to_string(),
        "identity.verified" => "identity verified".to_string(),
        "request.status" => format!("status: {}", text("to").replace('_', " ")),
        "plan.saved" => "plan made".to_string(),
        "plan.approved" => format!("plan approved ({})", short(text("digest"))),
        "request.extended" => format!(
            "deadline extended to {}",
            text("until").get(..10).unwrap_or_default()
        ),
        "request.cancelled" => "request cancelled".to_string(),
        "answer.received" => format!(
            "answer of {processor} recorded: {}",
            text("state").replace('_', " ")
        ),
        "manual.recorded" => format!("manual action at {processor} recorded"),
        "reply.written" => format!("reply written ({})", text("stem")),
        "reply.sent" => format!("reply sent ({})", text("stem")),
        "letter.sent" => format!("letter sent to {processor}"),
        "subject.purged" => "the subject's identifiers purged".to_string(),
        other => other.replace(['.', '_'], " "),
    };
    json!({
        "at": entry.at.get(..16).unwrap_or(&entry.at).replace('T', " "),
        "what": what,
        "by": by,
    })
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// A phone number: its last two digits.
fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
    format!("•••{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_masked() {
        assert_eq!(mask_phone("+31 6 1234 5678"), "•••78");
    }
}
