//! Classified connector failures.
//!
//! The hub decides what to do with a failure from its [`ErrorKind`] alone: retry later, ask
//! for new credentials, treat as already erased, fall back to anonymisation, or give up.
//! Messages are built from status codes, vendor error codes and scrubbed vendor text: they
//! never carry the subject's identifiers or a secret.

use std::fmt;
use std::time::Duration;

/// What kind of failure this is, which decides how the hub reacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Temporary: 5xx, timeouts, connection failures. Retrying later may succeed.
    Retryable,
    /// The vendor throttled us (429) and retries ran out. Retrying later will succeed.
    Throttled,
    /// Credentials missing, rejected or expired beyond refresh: a person must re-authorise.
    Auth,
    /// The record does not exist (404/410). For erasure this means "already erased".
    NotFound,
    /// The vendor refuses the change (e.g. a contact linked to invoices cannot be deleted).
    Conflict,
    /// Our request was invalid (400, a value we refuse to send, a bad setting).
    InvalidInput,
    /// Anything else that will not get better by retrying.
    Permanent,
}

impl ErrorKind {
    /// Whether a task failed with this kind may be resumed later without a person acting.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Retryable | ErrorKind::Throttled)
    }

    /// Stable snake_case name, used in the ledger and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Retryable => "retryable",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Auth => "auth",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Permanent => "permanent",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified connector failure. The message is safe to log and to show in a report.
#[derive(Debug, Clone)]
pub struct ConnectorError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// Human-readable, personal-data-free explanation.
    pub message: String,
    /// The HTTP status, when the failure came from a vendor answer.
    pub status: Option<u16>,
    /// How long the vendor asked us to wait, when it said so.
    pub retry_after: Option<Duration>,
    /// The vendor refuses every call until then (a spent daily quota): retrying sooner is
    /// pointless, so the task waits and is resumed from the ledger after this moment.
    pub resume_at: Option<jiff::Timestamp>,
}

impl ConnectorError {
    /// A new error of `kind`. The caller guarantees `message` holds no personal data.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConnectorError {
            kind,
            message: message.into(),
            status: None,
            retry_after: None,
            resume_at: None,
        }
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::Permanent`].
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Permanent, message)
    }

    /// An anonymisation read back with personal `fields` still filled: a failure naming them
    /// (field names only, never values), so it is never reported done. `Ok` when none is.
    pub fn unless_cleared(vendor: &str, object: &str, fields: &[String]) -> Result<(), Self> {
        if fields.is_empty() {
            return Ok(());
        }
        Err(Self::permanent(format!(
            "{vendor} did not clear {} of the {object}: it is not anonymised; clear them in \
             {vendor} by hand",
            fields.join(", ")
        )))
    }

    /// Attach the HTTP status this error came from.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Attach the wait the vendor asked for.
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }

    /// A failure the task waits out until `at`: `message` followed by "; resumes at …", with
    /// the wait and the moment set (a spent quota, a token Exact will not renew yet).
    pub fn resuming_at(kind: ErrorKind, message: &str, at: jiff::Timestamp) -> Self {
        let wait = at.duration_since(jiff::Timestamp::now());
        Self::new(
            kind,
            format!(
                "{message}; resumes at {}",
                at.strftime("%Y-%m-%d %H:%M:%S UTC")
            ),
        )
        .with_retry_after(Duration::try_from(wait).ok())
        .with_resume_at(at)
    }

    /// Mark the failure as "the vendor refuses until `at`".
    pub fn with_resume_at(mut self, at: jiff::Timestamp) -> Self {
        self.resume_at = Some(at);
        self
    }

    /// Whether retrying (now or later) may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} (HTTP {status}): {}", self.kind, self.message),
            None => write!(f, "{}: {}", self.kind, self.message),
        }
    }
}

impl std::error::Error for ConnectorError {}

/// `Ok(None)` where the vendor answered "not found": for erasure, a record already gone.
pub fn not_found_as_none<T>(
    result: Result<T, ConnectorError>,
) -> Result<Option<T>, ConnectorError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
