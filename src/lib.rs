#![warn(missing_docs)]
//! # dsrhub
//!
//! A data-subject-request hub: it fans a GDPR access or erasure request out to every
//! processor that may hold the person's data, acts through each processor's API, keeps what
//! the law says must be kept, verifies the erasure, and writes one report for the person and
//! the auditor.
//!
//! Data flows one way: request → [`orchestrator`] → connectors (parallel) → [`ledger`] →
//! [`report`]. Connectors live in their own crates under `connectors/`, built on the SDK crate
//! `dsrhub-connector`; [`registry`] lists them.

pub mod bench;
pub mod cli;
pub mod config;
pub mod deadline;
pub mod demo;
pub mod error;
pub mod identifiers;
pub mod inventory;
pub mod ledger;
pub mod lifecycle;
pub mod mail;
pub mod orchestrator;
pub mod policy;
pub mod private_files;
pub mod registry;
pub mod replies;
pub mod report;
pub mod serve;
pub mod staff;
pub mod subjects_file;

pub use error::{Error, Result};
