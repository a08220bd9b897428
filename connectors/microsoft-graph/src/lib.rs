#![warn(missing_docs)]
//! # Microsoft Graph connector (Microsoft 365)
//!
//! Microsoft 365 holds mail to and from the person, Outlook contacts in staff mailboxes and,
//! for former staff, their user account.
//!
//! - **Auth**: app-only, OAuth 2.0 client credentials at the tenant's token endpoint (scope
//!   `https://graph.microsoft.com/.default`), through the SDK's [`ClientCredentials`].
//! - **Discover**: directory users whose `mail`, `userPrincipalName` or `proxyAddresses` hold
//!   one of the subject's addresses (an advanced query: `ConsistencyLevel: eventual` and
//!   `$count=true`); in every configured mailbox, Outlook contacts whose `emailAddresses` hold
//!   one, and messages from, to or cc one (`$search="participants:…"`). The mailbox fan-out
//!   goes through `$batch` (20 sub-requests per call, each retried on its own when throttled).
//!   Every match is checked exactly on our side; search is only a pre-filter.
//! - **Erase**: contacts and messages are removed with `permanentDelete` (a `DELETE` only moves
//!   them to Deleted Items); a disabled user (former staff) is deleted and reported
//!   "soft-deleted until" the day Microsoft purges it (application permissions cannot purge
//!   `directory/deletedItems`); an enabled user is never deleted. Messages are kept as
//!   correspondence unless `delete_mail` allows deleting those past the retention period.
//! - **Limits**: 429/503 with `Retry-After` (seconds) honoured; at most 4 requests in flight.
//!
//! See `docs/connectors/microsoft-graph.md` for the permissions to grant and the policy choices.
//!
//! [`ClientCredentials`]: dsrhub_connector::oauth::ClientCredentials

mod api;
mod config;
mod connector;
mod mapping;
pub mod rights;

#[cfg(feature = "fake")]
pub mod fake;

pub use config::GraphConfig;
pub use connector::MicrosoftGraph;

/// The connector id used in config sections and reports.
pub const ID: &str = "microsoft-graph";
