#![warn(missing_docs)]
//! # Processors without an API
//!
//! Some processors (Applicatielink, Ekco Nederland) offer no API. A request must still reach
//! them, be tracked and be proven: this connector, configured once per such processor, writes
//! the request letter (Dutch or English) that the hub delivers and records; the processor's
//! answer is recorded with `dsrhub confirm`. It finds and erases nothing itself.

mod config;
mod connector;
mod letter;

pub use config::{Language, ManualConfig};
pub use connector::Manual;

/// The connector id used as `connector = "manual"` in a processor's section.
pub const ID: &str = "manual";
