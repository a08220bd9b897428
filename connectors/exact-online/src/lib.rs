#![warn(missing_docs)]
//! # Exact Online connector
//!
//! Exact Online is the bookkeeping: customer accounts (companies and private persons),
//! contact persons, sales invoices and the transaction lines behind them, per division
//! (administration).
//!
//! - **Auth**: OAuth 2.0 authorization code, run once with `dsrhub auth login exact-online`.
//!   Refresh tokens rotate; the SDK's [`RotatingRefreshToken`] saves every new one durably
//!   before the new access token is used, so a crash never strands the hub.
//! - **Discover**: in every division the user can reach (or the configured ones), contacts
//!   (`Email`/`BusinessEmail`) and accounts (`Email`) equal to one of the subject's addresses,
//!   by OData `$filter` with escaped literals; then the bank accounts, sales invoices and
//!   transaction lines of the matched accounts, and the invoices that name a matched contact.
//! - **Erase**: records without transactions are deleted, after checking linkage first (every
//!   failed call counts towards Exact's "10 errors per endpoint per hour" block); linked ones
//!   are anonymised (accounts also `Blocked`); bank accounts are deleted either way. Invoices and transaction lines are kept: the
//!   hub's policy retains them 7 years after the end of their financial year (art. 52(4) AWR).
//! - **Rectify, restrict, object** ([`rights`]): contacts and the subject's own accounts are
//!   corrected field by field, an account is blocked while restricted, a contact is excluded
//!   from mailings on objection; the books stay as booked.
//! - **Limits**: 60 calls per minute, paced by the SDK with the `X-RateLimit-Minutely-*`
//!   headers; when the daily cap (`X-RateLimit-*`) is spent the task waits in the ledger
//!   until the reset instead of hammering.
//!
//! See `docs/connectors/exact-online.md` for app registration, login and what is retained.
//!
//! [`RotatingRefreshToken`]: dsrhub_connector::oauth::RotatingRefreshToken

mod api;
mod config;
mod connector;
mod contracts;
pub mod login;
mod mapping;
pub mod rights;

#[cfg(feature = "fake")]
pub mod fake;

pub use config::ExactOnlineConfig;

/// How each property of an Exact Online contact counts when its person is erased; a test
/// checks that every property is in exactly one list.
pub mod contact_fields {
    pub use crate::mapping::{
        CONTACT_DERIVED as DERIVED, CONTACT_FIELDS as CLEARED,
        CONTACT_NOT_PERSONAL as NOT_PERSONAL, CONTACT_PROPERTIES as PROPERTIES,
    };
}
pub use connector::ExactOnline;

/// The connector id used in config sections and reports.
pub const ID: &str = "exact-online";
