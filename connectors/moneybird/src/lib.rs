#![warn(missing_docs)]
//! # Moneybird connector
//!
//! Moneybird (API v2) holds the organisation's invoicing: contacts (customers, with their
//! contact people) and sales invoices.
//!
//! - **Discover**: contacts whose own e-mail fields (`email`, `send_invoices_to_email`,
//!   `send_estimates_to_email`) equal one of the subject's addresses, found with the
//!   documented free-text `query`; contact people with such an address, found by one paged scan
//!   of the contacts (the `query` search does not cover contact people); the sales invoices of
//!   every exactly matched contact. Phone and name matches are reported for review only.
//! - **Erase**: a contact without invoices is deleted; one with invoices is anonymised (every
//!   personal field of the contact update schema cleared, custom field values emptied, notes
//!   deleted), archived and read back to prove it, because its invoices must be kept (the
//!   hub's policy retains them 7 years after the end of the invoice's financial year).
//!   Contact people are deleted.
//! - **Limits**: 150 requests per 5 minutes; 429 answers carry `Retry-After` as an epoch
//!   second, which the SDK understands.
//!
//! See `docs/connectors/moneybird.md` for the full behaviour and the token's permissions.

mod api;
mod config;
mod connector;
mod mapping;
mod rights;

#[cfg(feature = "fake")]
pub mod fake;

pub use config::MoneybirdConfig;

/// How each field of a Moneybird contact counts when its person is erased; a test checks that
/// every field of the spec's `contact_response` is in exactly one list.
pub mod contact_fields {
    pub use crate::mapping::{
        ANONYMIZE_FIELDS as CLEARED, BEYOND_THE_API, MIRRORED_FIELDS as MIRRORED, NOT_PERSONAL,
    };
}
pub use connector::Moneybird;

/// The contact field each canonical field is corrected in (rectification); a test holds
/// them to the spec's contact update schema.
pub use rights::{PERSON_RECTIFIABLE, RECTIFIABLE};

/// The connector id used in config sections and reports.
pub const ID: &str = "moneybird";
