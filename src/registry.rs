//! Which connectors exist, and building the configured ones.
//!
//! Adding a processor: add its crate, one [`Factory`] line in [`FACTORIES`], its section in
//! `config.example.toml`, and its docs page.

use std::sync::Arc;

use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Connector;
use serde::Deserialize;

use crate::config::Config;
use crate::error::{Error, Result};

/// Builds a connector from its config table, the secret resolver and the config's folder;
/// errors are messages naming the setting.
pub type BuildFn =
    fn(toml::Table, &Secrets, &std::path::Path) -> Result<Arc<dyn Connector>, String>;

/// Builds one connector from its config table.
pub struct Factory {
    /// Connector id, as used in `[processors.<id>]`.
    pub id: &'static str,
    /// Display name.
    pub display_name: &'static str,
    build: BuildFn,
}

/// Every connector this build knows.
pub const FACTORIES: &[Factory] = &[
    Factory {
        id: "autotask",
        display_name: "Autotask",
        build: build_autotask,
    },
    Factory {
        id: "itglue",
        display_name: "IT Glue",
        build: build_itglue,
    },
    Factory {
        id: "moneybird",
        display_name: "Moneybird",
        build: build_moneybird,
    },
];

fn build_itglue(
    table: toml::Table,
    secrets: &Secrets,
    base: &std::path::Path,
) -> Result<Arc<dyn Connector>, String> {
    let mut config = dsrhub_itglue::ItGlueConfig::deserialize(toml::Value::Table(table))
        .map_err(|e| e.to_string())?;
    config.api_key = config.api_key.relative_to(base);
    let connector = dsrhub_itglue::ItGlue::new(config, secrets).map_err(|e| e.message)?;
    Ok(Arc::new(connector))
}

fn build_autotask(
    table: toml::Table,
    secrets: &Secrets,
    base: &std::path::Path,
) -> Result<Arc<dyn Connector>, String> {
    let mut config = dsrhub_autotask::AutotaskConfig::deserialize(toml::Value::Table(table))
        .map_err(|e| e.to_string())?;
    config.secret = config.secret.relative_to(base);
    config.integration_code = config.integration_code.relative_to(base);
    let connector = dsrhub_autotask::Autotask::new(config, secrets).map_err(|e| e.message)?;
    Ok(Arc::new(connector))
}

fn build_moneybird(
    table: toml::Table,
    secrets: &Secrets,
    base: &std::path::Path,
) -> Result<Arc<dyn Connector>, String> {
    let mut config = dsrhub_moneybird::MoneybirdConfig::deserialize(toml::Value::Table(table))
        .map_err(|e| e.to_string())?;
    config.token = config.token.relative_to(base);
    let connector = dsrhub_moneybird::Moneybird::new(config, secrets).map_err(|e| e.message)?;
    Ok(Arc::new(connector))
}

/// Whether `id` names a known connector.
pub fn is_known(id: &str) -> bool {
    FACTORIES.iter().any(|f| f.id == id)
}

/// Ids of all known connectors.
pub fn known_ids() -> Vec<&'static str> {
    FACTORIES.iter().map(|f| f.id).collect()
}

/// One configured processor.
#[derive(Debug, Clone)]
pub struct Processor {
    /// Connector id.
    pub id: String,
    /// The connector, `None` when the processor is disabled (its tasks are `skipped`).
    pub connector: Option<Arc<dyn Connector>>,
}

/// Build every configured processor. A bad setting or a missing secret is an error naming
/// the setting; nothing is contacted yet.
pub fn build(config: &Config, secrets: &Secrets) -> Result<Vec<Processor>> {
    let mut processors = Vec::new();
    for (id, table) in &config.processors {
        let factory = FACTORIES.iter().find(|f| f.id == id).ok_or_else(|| {
            Error::Config(format!("unknown processor `{id}` in [processors.{id}]"))
        })?;
        let mut table = table.clone();
        let enabled = match table.remove("enabled") {
            None => true,
            Some(toml::Value::Boolean(b)) => b,
            Some(_) => {
                return Err(Error::Config(format!(
                    "processors.{id}.enabled must be true or false"
                )))
            }
        };
        let connector = if enabled {
            let connector = (factory.build)(table, secrets, &config.base_dir).map_err(|e| {
                if e.starts_with("processors.") {
                    Error::Config(e)
                } else {
                    Error::Config(format!("processors.{id}: {e}"))
                }
            })?;
            Some(connector)
        } else {
            None
        };
        processors.push(Processor {
            id: id.clone(),
            connector,
        });
    }
    if processors.is_empty() {
        return Err(Error::Config(
            "no processors are configured: add a [processors.<id>] section".into(),
        ));
    }
    Ok(processors)
}

/// The display name of a connector id.
pub fn display_name(id: &str) -> &str {
    FACTORIES
        .iter()
        .find(|f| f.id == id)
        .map(|f| f.display_name)
        .unwrap_or(id)
}
