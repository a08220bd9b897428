//! A batch on the dashboard (`docs/batches.md`): its subjects by line, the plan waiting for
//! approval under one digest, and the form that approves all of it at once (the sweep's
//! batches wait here; approving their requests one by one works too).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde_json::{json, Value};

use super::super::AppState;
use super::render;
use super::session::{same_token, Staff};

/// The batches with a plan waiting for approval, for the list page.
pub fn waiting(state: &AppState) -> crate::error::Result<Vec<Value>> {
    let ledger = state.hub.ledger();
    let mut waiting = Vec::new();
    for batch in ledger.batches_planned()? {
        let plan = ledger.batch_plan(&batch.id)?;
        if plan.is_empty() {
            continue;
        }
        waiting.push(json!({
            "id": batch.id,
            "origin": batch.origin,
            "requests": plan.requests,
            "records": plan.records,
            "changes": plan.changes,
        }));
    }
    Ok(waiting)
}

/// `GET /dashboard/batches/{id}`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<String>,
) -> Response {
    view(&state, &staff, &id, None, StatusCode::OK)
}

fn view(
    state: &AppState,
    staff: &Staff,
    id: &str,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let ledger = state.hub.ledger();
    let Ok(batch) = ledger.batch(id) else {
        return render::message(
            state,
            StatusCode::NOT_FOUND,
            "No such batch",
            "No batch has this id.",
        );
    };
    let context = (|| -> crate::error::Result<Value> {
        let plan = ledger.batch_plan(id)?;
        let mut subjects = Vec::new();
        for (line, request) in ledger.batch_requests(id)? {
            let tasks: Vec<Value> = ledger
                .tasks(&request.id)?
                .iter()
                .map(super::task_json)
                .collect();
            subjects.push(json!({
                "line": line,
                "id": request.id,
                "status": request.status.as_str(),
                "tasks": tasks,
            }));
        }
        Ok(json!({
            "staff": { "user": staff.user, "csrf": staff.csrf },
            "batch": batch,
            "plan": (!plan.is_empty()).then_some(plan),
            "subjects": subjects,
            "problem": problem,
        }))
    })();
    match context {
        Ok(context) => render::page(state, status, "batch.html", context),
        Err(e) => {
            tracing::error!(error = %e, "a batch page could not be read from the ledger");
            render::message(
                state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "This batch could not be shown",
                "The hub could not read it; see its log.",
            )
        }
    }
}

/// `POST /dashboard/batches/{id}/approve` (`plan_digest`): approve every plan of the batch as
/// the signed-in user and carry them out in the background.
pub async fn approve(
    State(state): State<Arc<AppState>>,
    Extension(staff): Extension<Staff>,
    Path(id): Path<String>,
    Form(fields): Form<std::collections::HashMap<String, String>>,
) -> Response {
    if !same_token(
        &staff.csrf,
        fields.get("csrf").map(String::as_str).unwrap_or(""),
    ) {
        return render::forbidden(&state);
    }
    let digest = fields
        .get("plan_digest")
        .map(|d| d.trim())
        .unwrap_or_default();
    let refused =
        |status: StatusCode, message: &str| view(&state, &staff, &id, Some(message), status);
    if state.hub.ledger().batch(&id).is_err() {
        return refused(StatusCode::NOT_FOUND, "No such batch.");
    }
    let running = state
        .hub
        .ledger()
        .batch_requests(&id)
        .map(|rs| rs.iter().any(|(_, r)| state.is_running(&r.id)))
        .unwrap_or(false);
    if running {
        return refused(
            StatusCode::CONFLICT,
            "A run of one of its requests is in progress: reload the page in a moment.",
        );
    }
    match state.hub.approve_batch(&id, digest, &staff.user) {
        Ok(_) => {}
        Err(crate::error::Error::Usage(message)) => {
            return refused(StatusCode::CONFLICT, &message);
        }
        Err(e) => {
            tracing::error!(error = %e, "a batch approval failed");
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The hub could not complete this; see its log.",
            );
        }
    }
    let hub = state.hub.clone();
    let reports = state.reports_dir.clone();
    let batch = id.clone();
    state.runs.lock().expect("runs").spawn(async move {
        let execute = crate::orchestrator::RunOptions {
            execute: true,
            ..crate::orchestrator::RunOptions::default()
        };
        if let Err(e) = hub.run_batch(&batch, &execute, &reports).await {
            tracing::warn!(batch = %batch, error = %e, "the batch run stopped");
        }
    });
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/dashboard/batches/{id}"))],
    )
        .into_response()
}
