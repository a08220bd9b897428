//! The dashboard's forms: each checks the session's CSRF token, calls the same hub method as
//! the CLI and the API with the signed-in user as the one who acted (audited under their
//! name), and answers with the request page: after success through a redirect (reloading does
//! not repeat the action), after a refusal with the hub's reason and the form as it was.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};

use super::super::AppState;
use super::request::{resolve, view};
use super::session::{same_token, Staff};
use crate::error::Error;
use crate::orchestrator::{Answer, ManualOutcome};

/// A form's fields.
type Fields = HashMap<String, String>;

/// What a handler ends with: the step done (`?done=`), or why not.
type Outcome = Result<&'static str, Refusal>;

/// Why a form was not carried out.
enum Refusal {
    /// The form's CSRF token is missing or wrong.
    Forged,
    /// No such request.
    NotFound,
    /// Bad input, or the hub refused the step: shown on the page with this status.
    Problem(StatusCode, String),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Refusal {
        match e {
            // The hub's refusals are written for the CLI (`--reason: …`); the form has no
            // flags.
            Error::Usage(message) => Refusal::Problem(StatusCode::CONFLICT, for_a_form(&message)),
            other => {
                tracing::error!(error = %other, "a dashboard action failed");
                Refusal::Problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The hub could not complete this; see its log.".into(),
                )
            }
        }
    }
}

/// A CLI message as a form shows it: `--reason: say why` → `Say why`, `--record `x`: …` →
/// `Record `x`: …`.
fn for_a_form(message: &str) -> String {
    let Some(rest) = message.strip_prefix("--") else {
        return message.to_string();
    };
    let flag_len = rest
        .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
        .unwrap_or(rest.len());
    let text = match rest[flag_len..].strip_prefix(": ") {
        // `--reason: say why`: the flag names the field the form already shows.
        Some(after) => after,
        None => rest,
    };
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn problem(message: impl Into<String>) -> Refusal {
    Refusal::Problem(StatusCode::UNPROCESSABLE_ENTITY, message.into())
}

/// The answer to a form on request `id`.
fn answer(state: &AppState, staff: &Staff, id: &str, outcome: Outcome) -> Response {
    match outcome {
        Ok(done) => (
            StatusCode::SEE_OTHER,
            [(
                header::LOCATION,
                format!("/dashboard/requests/{id}?done={done}"),
            )],
        )
            .into_response(),
        Err(Refusal::Forged) => super::render::forbidden(state),
        Err(Refusal::NotFound) => view(state, staff, id, None, None, StatusCode::NOT_FOUND),
        Err(Refusal::Problem(status, message)) => {
            view(state, staff, id, None, Some(&message), status)
        }
    }
}

/// The CSRF check and the request's id, before anything else.
fn checked(state: &AppState, staff: &Staff, id: &str, fields: &Fields) -> Result<String, Refusal> {
    let token = fields.get("csrf").map(String::as_str).unwrap_or("");
    if !same_token(&staff.csrf, token) {
        return Err(Refusal::Forged);
    }
    resolve(state, id)?.ok_or(Refusal::NotFound)
}

/// A required text field, trimmed, at most `max` characters.
fn required<'a>(
    fields: &'a Fields,
    name: &str,
    what: &str,
    max: usize,
) -> Result<&'a str, Refusal> {
    let value = fields.get(name).map(|v| v.trim()).unwrap_or("");
    if value.is_empty() {
        return Err(problem(format!("Say {what}.")));
    }
    if value.chars().count() > max {
        return Err(problem(format!("{what}: at most {max} characters.")));
    }
    Ok(value)
}

/// Check the form's CSRF token and find the request, do `step` on it, and answer.
fn act(
    state: &AppState,
    staff: &Staff,
    id: &str,
    fields: &Fields,
    step: impl FnOnce(&str) -> Outcome,
) -> Response {
    let outcome = checked(state, staff, id, fields).and_then(|id| step(&id));
    answer(state, staff, id, outcome)
}

fn not_while_running(state: &AppState, id: &str) -> Result<(), Refusal> {
    if state.is_running(id) {
        return Err(Refusal::Problem(
            StatusCode::CONFLICT,
            "A run of this request is in progress: reload the page in a moment.".into(),
        ));
    }
    Ok(())
}

/// `POST /dashboard/requests/{id}/verify` (`how`): record the identity check, start the run.
pub async fn verify(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    act(&state, &staff, &id, &fields, |id| {
        let how = required(&fields, "how", "how the identity was checked", 500)?;
        state.hub.verify_identity_as(id, how, &staff.user)?;
        state.spawn_notify(id);
        state.start_run(id, false)?;
        Ok("verified")
    })
}

/// `POST /dashboard/requests/{id}/approve` (`plan_digest`): approve the plan shown, as the
/// signed-in user, and carry it out. A plan that changed since the page was shown is refused.
pub async fn approve(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    act(&state, &staff, &id, &fields, |id| {
        let digest = required(&fields, "plan_digest", "which plan is approved", 200)?;
        not_while_running(&state, id)?;
        state.hub.approve(id, digest, &staff.user)?;
        state.start_run(id, true)?;
        Ok("approved")
    })
}

/// `POST /dashboard/requests/{id}/extend` (`months`, `reason`).
pub async fn extend(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    act(&state, &staff, &id, &fields, |id| {
        let months = fields
            .get("months")
            .and_then(|m| m.trim().parse::<u32>().ok())
            .filter(|m| (1..=2).contains(m))
            .ok_or_else(|| problem("Extend by 1 or 2 months."))?;
        let reason = required(&fields, "reason", "why the deadline is extended", 500)?;
        state.hub.extend(id, months, reason, &staff.user)?;
        state.spawn_notify(id);
        Ok("extended")
    })
}

/// `POST /dashboard/requests/{id}/cancel` (`reason`).
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    act(&state, &staff, &id, &fields, |id| {
        let reason = required(&fields, "reason", "why the request is withdrawn", 500)?;
        not_while_running(&state, id)?;
        state.hub.cancel_as(id, reason, &staff.user)?;
        state.spawn_notify(id);
        Ok("cancelled")
    })
}

/// `POST /dashboard/requests/{id}/reply`: send the reply drafts not sent yet, approved by the
/// signed-in user.
pub async fn reply(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let outcome = async {
        let id = checked(&state, &staff, &id, &fields)?;
        state.hub.send_replies(&id, &staff.user).await?;
        Ok("replied")
    }
    .await;
    answer(&state, &staff, &id, outcome)
}

/// A form with a file: its text fields, and the file's name and bytes if one was chosen.
struct Upload {
    fields: Fields,
    file: Option<(String, axum::body::Bytes)>,
}

async fn read_upload(mut form: Multipart, max_bytes: usize) -> Result<Upload, Refusal> {
    let too_large = || {
        Refusal::Problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The file is larger than the {max_bytes} bytes serve.max_upload_bytes allows."),
        )
    };
    let mut upload = Upload {
        fields: Fields::new(),
        file: None,
    };
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(problem("The form arrived incomplete; send it again.")),
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                problem("The form arrived incomplete; send it again.")
            }
        })?;
        match file_name {
            Some(file) if name == "evidence" => {
                // A file input left empty still sends a part, with no name and no bytes.
                if !bytes.is_empty() {
                    upload.file = Some((file, bytes));
                }
            }
            _ => {
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| problem(format!("{name}: not text")))?;
                upload.fields.insert(name, text);
            }
        }
    }
    Ok(upload)
}

/// The folder where evidence uploaded through the dashboard is kept, next to the request's
/// report (removed with it, `[hub] correspondence_retention_months` after closure).
fn evidence_dir(state: &AppState, id: &str) -> PathBuf {
    state.export_dir(id).join("evidence")
}

/// Keep an uploaded file as evidence: owner-only, under a name that says when and for which
/// processor, with only safe characters of the name it was sent with.
fn keep_evidence(
    state: &AppState,
    id: &str,
    processor: &str,
    sent_as: &str,
    bytes: &[u8],
) -> crate::error::Result<PathBuf> {
    let dir = evidence_dir(state, id);
    crate::private_files::create_dir(&dir, true)?;
    // Only the last part of the name sent, in safe characters: nothing can point outside the
    // folder (the processor is checked by the hub only after the file is written).
    let sent_as = safe_name(sent_as.rsplit(['/', '\\']).next().unwrap_or_default());
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S");
    let path = dir.join(format!(
        "{stamp}-{}-{}",
        safe_name(processor),
        if sent_as.is_empty() {
            "evidence"
        } else {
            &sent_as
        }
    ));
    crate::private_files::write(&path, bytes)?;
    Ok(path)
}

/// `text` in letters, digits, `.`, `-` and `_` (others become `_`), at most 80 of them, not
/// starting with a dot.
fn safe_name(text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    safe.trim_start_matches('.').to_string()
}

/// The evidence files kept for request `id`: name, size, the start of their SHA-256.
pub fn evidence_files(state: &AppState, id: &str) -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(evidence_dir(state, id))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let size = e.metadata().ok()?.len();
            let sha256 = crate::report::export::sha256_file(&e.path()).ok()?;
            Some(serde_json::json!({ "name": name, "size": size, "sha256": &sha256[..16] }))
        })
        .collect();
    files.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    files
}

/// `POST /dashboard/requests/{id}/confirm` (multipart: `processor`, `outcome`, `note`, the
/// `evidence` file): the answer of a processor without an API.
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<String>,
    form: Multipart,
) -> Response {
    let outcome = async {
        let upload = read_upload(form, state.max_upload_bytes).await?;
        let id = checked(&state, &staff, &id, &upload.fields)?;
        let processor = required(&upload.fields, "processor", "which processor answered", 100)?;
        let answer = match upload.fields.get("outcome").map(String::as_str) {
            Some("deleted") => Answer::Deleted,
            Some("retained") => Answer::Retained,
            Some("not_found") => Answer::NotFound,
            Some("exported") => Answer::Exported,
            _ => return Err(problem("Choose what the processor answered.")),
        };
        let note = upload.fields.get("note").map(String::as_str);
        let kept = match &upload.file {
            Some((name, bytes)) => Some(keep_evidence(&state, &id, processor, name, bytes)?),
            None => None,
        };
        let recorded =
            state
                .hub
                .confirm_as(&id, processor, answer, kept.as_deref(), note, &staff.user);
        if let Some(path) = &kept {
            // Refused: nothing to keep. An export: the request's ZIP holds it now, and is
            // removed `[hub] export_retention_days` after closure; a copy here would outlive it.
            if recorded.is_err() || answer == Answer::Exported {
                let _ = std::fs::remove_file(path);
            }
        }
        recorded?;
        state.spawn_notify(&id);
        Ok("confirmed")
    }
    .await;
    answer(&state, &staff, &id, outcome)
}

/// `POST /dashboard/requests/{id}/record` (multipart: `processor`, `record`, `outcome`,
/// `note`, the `evidence` file): a record removed (or kept) by hand in the processor.
pub async fn record(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<String>,
    form: Multipart,
) -> Response {
    let outcome = async {
        let upload = read_upload(form, state.max_upload_bytes).await?;
        let id = checked(&state, &staff, &id, &upload.fields)?;
        let processor = required(&upload.fields, "processor", "which processor", 100)?;
        let record = required(&upload.fields, "record", "which record", 300)?;
        let done = match upload.fields.get("outcome").map(String::as_str) {
            Some("deleted") => ManualOutcome::Deleted,
            Some("anonymized") => ManualOutcome::Anonymized,
            Some("kept") => ManualOutcome::Kept,
            Some("changed") => ManualOutcome::Changed,
            _ => return Err(problem("Choose what was done with the record.")),
        };
        let Some((name, bytes)) = &upload.file else {
            return Err(problem(
                "Attach the evidence: a screenshot or the processor's confirmation.",
            ));
        };
        let note = upload.fields.get("note").map(String::as_str);
        let kept = keep_evidence(&state, &id, processor, name, bytes)?;
        let recorded =
            state
                .hub
                .confirm_record(&id, processor, record, done, &kept, note, &staff.user);
        if recorded.is_err() {
            let _ = std::fs::remove_file(&kept);
        }
        recorded?;
        state.spawn_notify(&id);
        Ok("recorded")
    }
    .await;
    answer(&state, &staff, &id, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_names_cannot_leave_the_folder() {
        assert_eq!(safe_name("ekco answer.pdf"), "ekco_answer.pdf");
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name(&"x".repeat(200)).len(), 80);
        assert!(!safe_name("a/b\\c").contains(['/', '\\']));
    }

    #[test]
    fn cli_flags_are_left_out_of_messages_shown_in_a_form() {
        assert_eq!(
            for_a_form("--reason: the law requires a reason for an extension"),
            "The law requires a reason for an extension"
        );
        assert_eq!(for_a_form("--no-evidence: why"), "Why");
        assert_eq!(
            for_a_form("--record `contact:1`: not a record waiting"),
            "Record `contact:1`: not a record waiting"
        );
        assert_eq!(
            for_a_form("request `x` is completed: a closed request never changes"),
            "request `x` is completed: a closed request never changes"
        );
    }
}
