#![warn(missing_docs)]
//! # Autotask connector
//!
//! Autotask PSA (Datto/Kaseya) holds the organisation's customers' contacts and the tickets
//! tied to them.
//!
//! - **Zone**: the API user's zone is looked up once (`zoneInformation?user=…`) unless a
//!   `base_url` is configured; credentials never go to another host.
//! - **Discover**: contacts whose `emailAddress`, `emailAddress2` or `emailAddress3` equals one
//!   of the subject's addresses, in one `or` query (many subjects per query in a batch, at most
//!   500 conditions); phone and name matches for review; the tickets of every matched contact.
//! - **Erase**: tickets closed longer ago than the retention period are anonymised (contact
//!   unlinked, text cleared) first; then the contact is deleted, or anonymised and deactivated
//!   when Autotask refuses (open tickets, invoice recipient, primary contact, …). Open and
//!   recently closed tickets are retained.
//! - **Limits**: 10,000 requests per rolling hour per database, 3 concurrent requests per
//!   integration and endpoint, 429 without `Retry-After`; enforced by the SDK.
//!
//! See `docs/connectors/autotask.md`.

mod api;
mod classify;
mod config;
mod connector;
mod mapping;
mod rights;
mod zone;

#[cfg(feature = "fake")]
pub mod fake;

pub use config::AutotaskConfig;

/// How each property of an Autotask contact and ticket counts when its person is erased; a
/// test checks every property of the spec's `ContactModel` and `TicketModel` is in exactly
/// one list (names compared case-insensitively: the spec writes PascalCase, the API camelCase).
pub mod fields {
    pub use crate::mapping::{
        CONTACT_FIELDS as CONTACT_CLEARED, CONTACT_NOT_PERSONAL, TICKET_FIELDS as TICKET_CLEARED,
        TICKET_NOT_PERSONAL,
    };
}
pub use connector::Autotask;

/// The connector id used in config sections and reports.
pub const ID: &str = "autotask";
