#![warn(missing_docs)]
//! # dsrhub connector SDK
//!
//! Everything a processor connector needs that is not specific to its vendor:
//!
//! - [`Connector`]: the trait every processor implements (describe, check, discover, export,
//!   erase, inventory);
//! - [`model`]: the data model shared by connectors and the hub (subjects, records, actions,
//!   outcomes);
//! - [`ConnectorError`]: failures classified so the hub knows what to retry;
//! - [`http`]: the one HTTP client all connectors use (rate limits, concurrency caps, retries
//!   with backoff honouring `Retry-After` and reset headers, timeouts, auth refresh, redacted
//!   request logging, paging);
//! - [`secrets`]: `keyring:` / `env:` / `file:` secret references, resolved in one place;
//! - [`escape`]: the escaping functions every filter value goes through;
//! - [`oauth`]: OAuth 2.0 token calls, rotating refresh tokens persisted before use, and the
//!   authorization-code login;
//! - [`rights`]: rectification, restriction and objection as field changes a connector
//!   proposes and applies;
//! - [`redact`]: scrubbing personal data from anything that may reach a log or an error;
//! - `testkit` (feature `testkit`): the compliance suite every connector runs against its fake.

pub mod connector;
pub mod error;
pub mod escape;
#[cfg(feature = "fakekit")]
pub mod fakekit;
pub mod http;
pub mod model;
pub mod oauth;
pub mod redact;
pub mod rights;
pub mod secrets;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;

pub use connector::Connector;
pub use error::{not_found_as_none, ConnectorError, ErrorKind};
pub use model::*;
pub use rights::{Change, Field, FieldChange, Proposal, Purpose};

/// Re-exported so connectors and the hub agree on one version.
pub use async_trait::async_trait;
