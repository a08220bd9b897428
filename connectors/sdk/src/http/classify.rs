//! Turning a vendor's error answer into an [`ErrorKind`] and a safe message.
//!
//! The default follows HTTP semantics; a connector whose vendor deviates (Autotask answers
//! 500 for a wrong user name, Exact Online 400 for a used refresh token) supplies its own
//! [`Classifier`], in the spirit of smithy-rs's retry classifiers.

use crate::error::ErrorKind;
use crate::redact;

/// Classifies non-2xx answers.
pub trait Classifier: Send + Sync {
    /// The kind of failure.
    fn kind(&self, status: u16, _body: &[u8]) -> ErrorKind {
        default_kind(status)
    }

    /// A short, scrubbed message for logs and reports.
    fn message(&self, status: u16, body: &[u8]) -> String {
        default_message(status, body)
    }
}

/// HTTP semantics, no vendor quirks.
#[derive(Debug, Default)]
pub struct DefaultClassifier;

impl Classifier for DefaultClassifier {}

/// The kind HTTP semantics give a status.
pub fn default_kind(status: u16) -> ErrorKind {
    match status {
        408 | 500..=599 => ErrorKind::Retryable,
        429 => ErrorKind::Throttled,
        401 | 403 => ErrorKind::Auth,
        404 | 410 => ErrorKind::NotFound,
        409 | 422 => ErrorKind::Conflict,
        400 => ErrorKind::InvalidInput,
        _ => ErrorKind::Permanent,
    }
}

/// A message from the body's first human text, scrubbed of personal data and shortened.
pub fn default_message(status: u16, body: &[u8]) -> String {
    let text = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| first_text(&v))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let text = redact::scrub(text.trim());
    let text: String = text.chars().take(200).collect();
    if text.is_empty() {
        format!("the vendor answered HTTP {status}")
    } else {
        format!("the vendor answered: {text}")
    }
}

fn first_text(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.iter().find_map(first_text),
        Value::Object(map) => ["error", "errors", "message", "detail", "title", "value"]
            .iter()
            .filter_map(|k| map.get(*k))
            .find_map(first_text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_http() {
        assert_eq!(default_kind(503), ErrorKind::Retryable);
        assert_eq!(default_kind(429), ErrorKind::Throttled);
        assert_eq!(default_kind(404), ErrorKind::NotFound);
        assert_eq!(default_kind(422), ErrorKind::Conflict);
        assert_eq!(default_kind(418), ErrorKind::Permanent);
    }

    #[test]
    fn messages_come_from_the_usual_error_shapes_and_are_scrubbed() {
        assert_eq!(
            default_message(
                404,
                br#"{"error":"record not found","symbolic":{"id":"not_found"}}"#
            ),
            "the vendor answered: record not found"
        );
        assert_eq!(
            default_message(500, br#"{"errors":["Something went wrong"]}"#),
            "the vendor answered: Something went wrong"
        );
        assert_eq!(
            default_message(
                400,
                br#"{"error":{"code":"","message":{"lang":"","value":"Email jan@x.nl invalid"}}}"#
            ),
            "the vendor answered: Email <redacted> invalid"
        );
        assert_eq!(default_message(502, b""), "the vendor answered HTTP 502");
    }
}
