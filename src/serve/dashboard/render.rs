//! The dashboard's templates (minijinja, escaped as HTML) and the headers every page carries.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde_json::{json, Value};

use super::super::AppState;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("message.html", include_str!("templates/message.html")),
    ("list.html", include_str!("templates/list.html")),
    ("request.html", include_str!("templates/request.html")),
    ("batch.html", include_str!("templates/batch.html")),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("the dashboard's templates are valid (a test renders each)");
        }
        env
    })
}

/// Render `template` with `context` (plus the organisation's name) as an HTML answer with
/// `status`, no caching, no framing, no scripts.
pub fn page(state: &AppState, status: StatusCode, template: &str, mut context: Value) -> Response {
    context["organisation"] = Value::from(state.organisation.clone());
    let rendered = environment()
        .get_template(template)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&context))));
    let html = match rendered {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(template, error = %e, "a dashboard page could not be rendered");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>dsrhub</title><p>This page could not be shown; see the hub's log.</p>".to_string()),
            )
                .into_response();
        }
    };
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A page with one message (a used link, a refused form).
pub fn message(state: &AppState, status: StatusCode, title: &str, text: &str) -> Response {
    page(
        state,
        status,
        "message.html",
        json!({ "title": title, "text": text }),
    )
}

/// The answer to a form whose CSRF token is missing or wrong.
pub fn forbidden(state: &AppState) -> Response {
    message(
        state,
        StatusCode::FORBIDDEN,
        "The form could not be accepted",
        "It was not sent from this session's page (or the page was open from an earlier session). Go back, reload the page and try again.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATES {
            assert!(environment().get_template(name).is_ok(), "{name}");
        }
    }
}
