//! The hub's error type. Messages name the setting, processor or request they are about and
//! never carry personal data or secrets.

use std::path::PathBuf;

/// Everything that can stop a hub command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad or missing setting; the message names it.
    #[error("{0}")]
    Config(String),
    /// The ledger could not be read or written.
    #[error("ledger: {0}")]
    Ledger(String),
    /// A file could not be read or written.
    #[error("{context} {}: {source}", path.display())]
    Io {
        /// What we were doing.
        context: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The command cannot be carried out as asked (unknown request, wrong state…).
    #[error("{0}")]
    Usage(String),
    /// The plan touches more records than the blast-radius cap allows.
    #[error(
        "the plan touches {planned} records, over the cap of {cap} \
         (policy.max_records_per_erasure); review it with `dsrhub status {request}` and rerun \
         with `--max-records {planned}` if it is right"
    )]
    BlastRadius {
        /// The request.
        request: String,
        /// Records the plan would delete or anonymise.
        planned: usize,
        /// The cap in force.
        cap: usize,
    },
}

impl Error {
    /// A stable name of the kind of error, for `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Ledger(_) => "ledger",
            Error::Io { .. } => "io",
            Error::Usage(_) => "usage",
            Error::BlastRadius { .. } => "blast_radius",
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Ledger(e.to_string())
    }
}

impl Error {
    /// An I/O error with what we were doing and where.
    pub fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            context,
            path,
            source,
        }
    }
}

/// Result with the hub's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
