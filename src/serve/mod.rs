//! `dsrhub serve`: the hub running unattended behind an HTTP API.
//!
//! Requests arrive from a web form or another system (OpenDSR-shaped intake), staff verify
//! the subject's identity and approve erasure plans through the API, and reports and exports
//! are fetched from it. Every route but `/health` and `/openapi.json` needs a bearer token
//! (`[serve] tokens`, secret references). Request bodies are size-limited
//! (`[serve] max_body_bytes`) and validated with errors that name the field. Runs started
//! through the API go on in the background; SIGTERM or Ctrl-C stops accepting requests and
//! waits for the runs in flight (an interrupted run resumes from the ledger anyway).
//!
//! The contract is `docs/openapi.json`, served at `/openapi.json` and kept in sync with
//! [`ROUTES`] by a test.

mod api;
mod auth;
pub mod callbacks;
pub mod cron;
mod dashboard;
pub mod scheduler;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use dsrhub_connector::http::HttpSettings;
use dsrhub_connector::secrets::Secrets;
use secrecy::ExposeSecret;
use tokio::task::JoinSet;

pub use auth::Tokens;
pub use dashboard::PAGES as DASHBOARD_PAGES;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::orchestrator::Hub;

/// The OpenAPI description of the API.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// Every route: (method, path). `docs/openapi.json` documents exactly these (a test checks).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/openapi.json"),
    ("post", "/api/v1/requests"),
    ("get", "/api/v1/requests"),
    ("get", "/api/v1/requests/{id}"),
    ("post", "/api/v1/requests/{id}/extend"),
    ("post", "/api/v1/requests/{id}/confirm"),
    ("get", "/api/v1/requests/{id}/audit"),
    ("get", "/api/v1/requests/{id}/letters"),
    ("get", "/api/v1/requests/{id}/letters/{name}"),
    ("post", "/api/v1/requests/{id}/verify"),
    ("post", "/api/v1/requests/{id}/approve"),
    ("post", "/api/v1/requests/{id}/cancel"),
    ("get", "/api/v1/requests/{id}/report.json"),
    ("get", "/api/v1/requests/{id}/report.html"),
    ("get", "/api/v1/requests/{id}/export.zip"),
    ("get", "/api/v1/processors"),
    ("post", "/api/v1/dashboard/sessions"),
    ("get", "/dashboard/session/{nonce}"),
    ("get", "/dashboard"),
];

/// What the handlers share.
pub struct AppState {
    hub: Arc<Hub>,
    tokens: Tokens,
    organisation: String,
    reports_dir: PathBuf,
    callback_hosts: Vec<String>,
    /// Requests due within this many days are marked on the dashboard.
    deadline_warning_days: u32,
    running: Mutex<HashSet<String>>,
    runs: Mutex<JoinSet<()>>,
    callback_http: HttpSettings,
    /// One lock per request being called back: its statuses go out in order, while a slow
    /// receiver of one request holds up no other.
    callback_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    sessions: dashboard::Sessions,
    /// The dashboard is reached over https (`[serve] public_url`): its cookies are `Secure`.
    public_https: bool,
    /// `[serve] session_idle_minutes`.
    session_idle_minutes: u32,
    /// `[serve] max_upload_bytes`.
    max_upload_bytes: usize,
    /// One intake at a time: looking up a `subject_request_id` and recording it are one step,
    /// so parallel posts of one request record it once.
    intake_lock: tokio::sync::Mutex<()>,
}

impl AppState {
    /// The hub this server runs.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// State over `hub`, accepting `tokens`; status callbacks are sent with `callback_http`.
    pub fn new(
        hub: Arc<Hub>,
        tokens: Tokens,
        config: &Config,
        callback_http: HttpSettings,
    ) -> Arc<AppState> {
        Arc::new(AppState {
            hub,
            tokens,
            organisation: config.hub.organisation.clone(),
            reports_dir: config.reports_dir(),
            callback_hosts: config.serve.callback_hosts.clone(),
            deadline_warning_days: config.serve.deadline_warning_days,
            running: Mutex::new(HashSet::new()),
            runs: Mutex::new(JoinSet::new()),
            callback_http,
            callback_locks: Default::default(),
            sessions: dashboard::Sessions::default(),
            public_https: config
                .serve
                .public_url
                .as_ref()
                .is_some_and(|u| u.scheme() == "https"),
            session_idle_minutes: config.serve.session_idle_minutes,
            max_upload_bytes: config.serve.max_upload_bytes,
            intake_lock: tokio::sync::Mutex::new(()),
        })
    }

    fn export_dir(&self, id: &str) -> PathBuf {
        self.reports_dir.join(id)
    }

    /// Run (or resume) a request in the background; one run per request at a time.
    pub(crate) fn start_run(self: &Arc<Self>, id: &str, execute: bool) -> Result<()> {
        if !self.running.lock().expect("running").insert(id.to_string()) {
            return Err(Error::Usage(format!(
                "a run of request `{id}` is already in progress"
            )));
        }
        let state = self.clone();
        let id = id.to_string();
        self.runs.lock().expect("runs").spawn(async move {
            let options = api::run_options(state.export_dir(&id), execute);
            if let Err(e) = state.hub.run(&id, &options).await {
                // Personal-data-free by construction; the ledger keeps the task states.
                tracing::warn!(request = %id, error = %e, "run stopped");
            }
            state.running.lock().expect("running").remove(&id);
            callbacks::notify(&state, &id).await;
        });
        Ok(())
    }

    /// Whether a run of request `id` is in progress.
    fn is_running(&self, id: &str) -> bool {
        self.running.lock().expect("running").contains(id)
    }

    /// Send the status callbacks of request `id` in the background.
    fn spawn_notify(self: &Arc<Self>, id: &str) {
        let state = self.clone();
        let id = id.to_string();
        self.runs
            .lock()
            .expect("runs")
            .spawn(async move { callbacks::notify(&state, &id).await });
    }

    /// Wait for every run and status notification started so far (shutdown, tests).
    pub async fn wait_for_runs(&self) {
        loop {
            let next = {
                let mut runs = self.runs.lock().expect("runs");
                std::mem::take(&mut *runs)
            };
            if next.is_empty() {
                return;
            }
            next.join_all().await;
        }
    }
}

/// The API's router.
pub fn router(state: Arc<AppState>, max_body_bytes: usize) -> Router {
    let protected = Router::new()
        .route("/api/v1/requests", post(api::intake).get(api::list))
        .route("/api/v1/requests/{id}/extend", post(api::extend))
        .route("/api/v1/requests/{id}/confirm", post(api::confirm))
        .route("/api/v1/requests/{id}/audit", get(api::audit))
        .route("/api/v1/requests/{id}/letters", get(api::letters))
        .route("/api/v1/requests/{id}/letters/{name}", get(api::letter))
        .route("/api/v1/requests/{id}", get(api::status))
        .route("/api/v1/requests/{id}/verify", post(api::verify))
        .route("/api/v1/requests/{id}/approve", post(api::approve))
        .route("/api/v1/requests/{id}/cancel", post(api::cancel))
        .route("/api/v1/requests/{id}/report.json", get(api::report_json))
        .route("/api/v1/requests/{id}/report.html", get(api::report_html))
        .route("/api/v1/requests/{id}/export.zip", get(api::export_zip))
        .route("/api/v1/processors", get(api::processors))
        .route(
            "/api/v1/dashboard/sessions",
            post(dashboard::session::create_link),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/health", get(api::health))
        .route("/openapi.json", get(api::openapi))
        .merge(protected)
        .merge(dashboard::router(state.clone()))
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::map_response(json_errors))
        .with_state(state)
}

/// Every error answer is JSON in the documented shape (`docs/openapi.json`, `Error`): axum's
/// own rejections (a malformed body, a wrong content type, a body over the limit) answer
/// `text/plain`, an unknown route nothing. Their text is not passed on: it may quote the body.
async fn json_errors(response: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    // The dashboard's HTML answers (a sign-in page) are meant for a browser.
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        return response;
    }
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("invalid_request", "the body is not valid JSON"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "invalid_request",
            "send the body as JSON, with Content-Type: application/json",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "invalid_request",
            "the body is larger than serve.max_body_bytes",
        ),
        StatusCode::NOT_FOUND => ("not_found", "no such resource (see /openapi.json)"),
        StatusCode::METHOD_NOT_ALLOWED => ("invalid_request", "this method is not allowed here"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "a valid bearer token is needed"),
        s if s.is_server_error() => ("internal", "the hub could not complete this; see its log"),
        _ => ("invalid_request", "the request was refused"),
    };
    let mut answer = (
        status,
        axum::Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response();
    // Keep what tells a client how to go on (a 401's WWW-Authenticate, a 405's Allow).
    for name in [header::WWW_AUTHENTICATE, header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// Resolve the configured API tokens; none configured is an error naming the setting.
pub fn tokens(config: &Config, secrets: &Secrets) -> Result<Tokens> {
    if config.serve.tokens.is_empty() {
        return Err(Error::Config(
            "serve.tokens: configure at least one API token reference (e.g. \"keyring:dsrhub-api\")"
                .into(),
        ));
    }
    let resolve = |setting: &str, references: &[dsrhub_connector::secrets::SecretRef]| {
        let mut resolved = Vec::new();
        for (i, reference) in references.iter().enumerate() {
            let reference = reference.clone().relative_to(&config.base_dir);
            let token = secrets
                .resolve(&reference)
                .map_err(|e| Error::Config(format!("{setting}[{i}]: {e}")))?;
            if token.expose_secret().len() < 16 {
                return Err(Error::Config(format!(
                    "{setting}[{i}]: the token is shorter than 16 characters"
                )));
            }
            resolved.push(token);
        }
        Ok(resolved)
    };
    let staff = resolve("serve.tokens", &config.serve.tokens)?;
    let intake = resolve("serve.intake_tokens", &config.serve.intake_tokens)?;
    Ok(Tokens::with_intake(
        staff.iter().map(|t| t.expose_secret()),
        intake.iter().map(|t| t.expose_secret()),
    ))
}

/// Serve until SIGTERM or Ctrl-C, then wait for the runs in flight.
pub async fn run(config: &Config, hub: Arc<Hub>, secrets: &Secrets) -> Result<()> {
    let tokens = tokens(config, secrets)?;
    let state = AppState::new(hub, tokens, config, HttpSettings::default());
    let app = router(state.clone(), config.serve.max_body_bytes);
    let scheduler = scheduler::Scheduler::new(state.clone(), config.clone())?;
    let (stop_scheduler, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduling = tokio::spawn(scheduler::run(scheduler, async {
        let _ = stopped.await;
    }));
    let listen = config.serve.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(Error::io("cannot listen on", listen.to_string()))?;
    eprintln!("dsrhub serving on http://{listen} (OpenAPI at /openapi.json)");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(Error::io("the server stopped on", listen.to_string()))?;
    eprintln!("stopping: waiting for runs in flight");
    let _ = stop_scheduler.send(());
    let _ = scheduling.await;
    state.wait_for_runs().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
