//! Autotask's error quirks: business-rule refusals and bad credentials come back as HTTP 500
//! with `{"errors": ["…"]}`, which plain HTTP semantics would retry.

use dsrhub_connector::http::classify::{default_kind, default_message};
use dsrhub_connector::http::Classifier;
use dsrhub_connector::ErrorKind;

/// Classifies Autotask answers.
#[derive(Debug, Default)]
pub struct AutotaskClassifier;

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).to_ascii_lowercase()
}

impl Classifier for AutotaskClassifier {
    fn kind(&self, status: u16, body: &[u8]) -> ErrorKind {
        if status == 500 {
            let text = text(body);
            if text.contains("cannot delete")
                || text.contains("cannot be deleted")
                || text.contains("unable to delete")
            {
                return ErrorKind::Conflict;
            }
            if text.contains("invalid query") {
                return ErrorKind::InvalidInput;
            }
            // A wrong UserName or ApiIntegrationCode is answered with 500, not 401.
            if text.contains("authenticat") || text.contains("integration code") {
                return ErrorKind::Auth;
            }
        }
        default_kind(status)
    }

    fn message(&self, status: u16, body: &[u8]) -> String {
        default_message(status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_bad_credentials_are_not_retried() {
        let c = AutotaskClassifier;
        assert_eq!(
            c.kind(
                500,
                br#"{"errors":["Cannot delete Contact: it is referenced by Tickets."]}"#
            ),
            ErrorKind::Conflict
        );
        assert_eq!(
            c.kind(
                500,
                br#"{"errors":["Unable to authenticate the API user."]}"#
            ),
            ErrorKind::Auth
        );
        assert_eq!(
            c.kind(500, br#"{"errors":["Invalid query syntax."]}"#),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            c.kind(500, br#"{"errors":["Something went wrong"]}"#),
            ErrorKind::Retryable
        );
        assert_eq!(c.kind(429, b""), ErrorKind::Throttled);
    }
}
