#![warn(missing_docs)]
//! # IT Glue connector
//!
//! IT Glue (Kaseya) is the organisation's documentation platform: contacts of customers' staff,
//! often synced from the PSA (Autotask).
//!
//! - **Region**: US, EU (default) or AU API host; the data location follows the region.
//! - **Discover**: IT Glue filters only on a contact's *primary* e-mail, but the subject's
//!   address may be a secondary one in `contact-emails`; so the connector pages once through all
//!   contacts (1000 per page) and matches every address, phone and name on its side. In a batch,
//!   that one scan serves every subject.
//! - **Erase**: deletable contacts go in one bulk `DELETE /contacts`; contacts synced from a PSA
//!   cannot be changed in IT Glue (422) and are reported as managed at their source.
//! - **Rectify** ([`rights`]): names, job title, the `Work`/`Mobile` phone entry and a single
//!   e-mail address; PSA-synced contacts are corrected at the PSA. No restriction mark and
//!   no newsletter exist in IT Glue.
//! - **Limits**: 3000 requests per 5 minutes; 429 without `Retry-After`.
//!
//! See `docs/connectors/itglue.md`.

mod api;
mod config;
mod connector;
mod mapping;
pub mod rights;

#[cfg(feature = "fake")]
pub mod fake;

pub use config::{ItGlueConfig, Region};

/// How each attribute of an IT Glue contact counts when its person is erased.
pub mod contact_fields {
    pub use crate::mapping::{ANONYMIZE_FIELDS as CLEARED, NOT_PERSONAL};
}
pub use connector::ItGlue;

/// The connector id used in config sections and reports.
pub const ID: &str = "itglue";
