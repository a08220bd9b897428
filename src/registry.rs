//! Which connectors exist, and building the configured processors.
//!
//! A processor section names its connector with `connector = "<kind>"`; without it the
//! section's own name is the connector (`[processors.moneybird]`). Several processors can share
//! one connector kind (two processors without an API, both `connector = "manual"`).
//!
//! Adding a connector: add its crate, one [`Factory`] line in [`FACTORIES`], its section in
//! `config.example.toml`, and its docs page.

use std::path::Path;
use std::sync::Arc;

use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Connector;
use serde::Deserialize;

use crate::config::Config;
use crate::error::{Error, Result};

/// What a factory gets besides the processor's table.
pub struct BuildContext<'a> {
    /// The processor's section name.
    pub id: &'a str,
    /// Resolves secret references.
    pub secrets: &'a Secrets,
    /// The config file's folder, for relative `file:` references.
    pub base: &'a Path,
}

/// Builds a connector from its config table; errors are messages naming the setting.
pub type BuildFn = fn(toml::Table, &BuildContext<'_>) -> Result<Arc<dyn Connector>, String>;

/// Starts the interactive sign-in of a connector that needs one (`dsrhub auth login`).
pub type LoginFn =
    fn(toml::Table, &BuildContext<'_>) -> Result<dsrhub_connector::oauth::Login, String>;

/// Builds one kind of connector.
pub struct Factory {
    /// Connector kind, as used in `connector = "<kind>"` or as the section name.
    pub id: &'static str,
    /// Display name.
    pub display_name: &'static str,
    build: BuildFn,
    login: Option<LoginFn>,
}

/// Every connector this build knows.
pub const FACTORIES: &[Factory] = &[
    Factory {
        id: "autotask",
        display_name: "Autotask",
        build: build_autotask,
        login: None,
    },
    Factory {
        id: "exact-online",
        display_name: "Exact Online",
        build: build_exact_online,
        login: Some(login_exact_online),
    },
    Factory {
        id: "itglue",
        display_name: "IT Glue",
        build: build_itglue,
        login: None,
    },
    Factory {
        id: "manual",
        display_name: "Processor without an API",
        build: build_manual,
        login: None,
    },
    Factory {
        id: "microsoft-graph",
        display_name: "Microsoft 365",
        build: build_microsoft_graph,
        login: None,
    },
    Factory {
        id: "moneybird",
        display_name: "Moneybird",
        build: build_moneybird,
        login: None,
    },
];

fn parse<T: for<'de> Deserialize<'de>>(table: toml::Table) -> Result<T, String> {
    T::deserialize(toml::Value::Table(table)).map_err(|e| e.to_string())
}

fn build_autotask(table: toml::Table, cx: &BuildContext<'_>) -> Result<Arc<dyn Connector>, String> {
    let mut config: dsrhub_autotask::AutotaskConfig = parse(table)?;
    config.secret = config.secret.relative_to(cx.base);
    config.integration_code = config.integration_code.relative_to(cx.base);
    Ok(Arc::new(
        dsrhub_autotask::Autotask::new(config, cx.secrets).map_err(|e| e.message)?,
    ))
}

fn exact_online_config(
    table: toml::Table,
    cx: &BuildContext<'_>,
) -> Result<dsrhub_exact_online::ExactOnlineConfig, String> {
    let mut config: dsrhub_exact_online::ExactOnlineConfig = parse(table)?;
    config.client_secret = config.client_secret.relative_to(cx.base);
    config.tokens = config.tokens.relative_to(cx.base);
    Ok(config)
}

fn build_exact_online(
    table: toml::Table,
    cx: &BuildContext<'_>,
) -> Result<Arc<dyn Connector>, String> {
    let config = exact_online_config(table, cx)?;
    Ok(Arc::new(
        dsrhub_exact_online::ExactOnline::new(config, cx.secrets).map_err(|e| e.message)?,
    ))
}

fn login_exact_online(
    table: toml::Table,
    cx: &BuildContext<'_>,
) -> Result<dsrhub_connector::oauth::Login, String> {
    let config = exact_online_config(table, cx)?;
    dsrhub_exact_online::login::start(&config, cx.secrets).map_err(|e| e.message)
}

fn build_microsoft_graph(
    table: toml::Table,
    cx: &BuildContext<'_>,
) -> Result<Arc<dyn Connector>, String> {
    let mut config: dsrhub_microsoft_graph::GraphConfig = parse(table)?;
    config.client_secret = config.client_secret.relative_to(cx.base);
    Ok(Arc::new(
        dsrhub_microsoft_graph::MicrosoftGraph::new(config, cx.secrets).map_err(|e| e.message)?,
    ))
}

fn build_itglue(table: toml::Table, cx: &BuildContext<'_>) -> Result<Arc<dyn Connector>, String> {
    let mut config: dsrhub_itglue::ItGlueConfig = parse(table)?;
    config.api_key = config.api_key.relative_to(cx.base);
    Ok(Arc::new(
        dsrhub_itglue::ItGlue::new(config, cx.secrets).map_err(|e| e.message)?,
    ))
}

fn build_manual(table: toml::Table, cx: &BuildContext<'_>) -> Result<Arc<dyn Connector>, String> {
    let config: dsrhub_manual::ManualConfig = parse(table)?;
    Ok(Arc::new(
        dsrhub_manual::Manual::new(cx.id, config).map_err(|e| e.message)?,
    ))
}

fn build_moneybird(
    table: toml::Table,
    cx: &BuildContext<'_>,
) -> Result<Arc<dyn Connector>, String> {
    let mut config: dsrhub_moneybird::MoneybirdConfig = parse(table)?;
    config.token = config.token.relative_to(cx.base);
    Ok(Arc::new(
        dsrhub_moneybird::Moneybird::new(config, cx.secrets).map_err(|e| e.message)?,
    ))
}

/// Whether `kind` names a known connector.
pub fn is_known(kind: &str) -> bool {
    FACTORIES.iter().any(|f| f.id == kind)
}

/// Ids of all known connectors.
pub fn known_ids() -> Vec<&'static str> {
    FACTORIES.iter().map(|f| f.id).collect()
}

/// The connector kind of processor `id` with section `table`, or an error naming the setting.
pub fn kind_of<'a>(id: &'a str, table: &'a toml::Table) -> Result<&'a str> {
    match table.get("connector") {
        None => Ok(id),
        Some(toml::Value::String(kind)) => Ok(kind),
        Some(_) => Err(Error::Config(format!(
            "processors.{id}.connector must be a connector name"
        ))),
    }
}

/// One configured processor.
#[derive(Debug, Clone)]
pub struct Processor {
    /// The processor's section name.
    pub id: String,
    /// The connector kind (`autotask`, `manual`, …).
    pub kind: String,
    /// How reports name it.
    pub display_name: String,
    /// What it holds about customers' staff it holds for those customers (the organisation is
    /// their processor): such data is forwarded to the customer, not acted on.
    pub on_behalf_of_customers: bool,
    /// The connector, `None` when the processor is disabled (its tasks are `skipped`).
    pub connector: Option<Arc<dyn Connector>>,
}

/// One processor section, split into the hub's keys and the connector's own table.
struct Section {
    factory: &'static Factory,
    /// The connector's settings (without `connector`, `enabled`, `on_behalf_of_customers`).
    table: toml::Table,
    enabled: bool,
    on_behalf_of_customers: bool,
    named: Option<String>,
}

fn section(id: &str, table: &toml::Table) -> Result<Section> {
    let kind = kind_of(id, table)?;
    let factory = FACTORIES.iter().find(|f| f.id == kind).ok_or_else(|| {
        Error::Config(format!(
            "unknown connector `{kind}` for [processors.{id}]; known connectors: {}",
            known_ids().join(", ")
        ))
    })?;
    let mut table = table.clone();
    table.remove("connector");
    let flag = |table: &mut toml::Table, name: &str, default: bool| match table.remove(name) {
        None => Ok(default),
        Some(toml::Value::Boolean(b)) => Ok(b),
        Some(_) => Err(Error::Config(format!(
            "processors.{id}.{name} must be true or false"
        ))),
    };
    let enabled = flag(&mut table, "enabled", true)?;
    let on_behalf_of_customers = flag(&mut table, "on_behalf_of_customers", false)?;
    let named = table
        .get("name")
        .and_then(toml::Value::as_str)
        .map(str::to_string);
    Ok(Section {
        factory,
        table,
        enabled,
        on_behalf_of_customers,
        named,
    })
}

fn setting_error(id: &str, e: String) -> Error {
    if e.starts_with("processors.") {
        Error::Config(e)
    } else {
        Error::Config(format!("processors.{id}: {e}"))
    }
}

/// Start the interactive sign-in of processor `id` (`dsrhub auth login <id>`).
pub fn login(
    config: &Config,
    id: &str,
    secrets: &Secrets,
) -> Result<dsrhub_connector::oauth::Login> {
    let table = config.processors.get(id).ok_or_else(|| {
        Error::Usage(format!(
            "no processor `{id}` in the config; configured: {}",
            config
                .processors
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let section = section(id, table)?;
    let login = section.factory.login.ok_or_else(|| {
        Error::Usage(format!(
            "processor `{id}` ({}) signs in with a stored secret, not an interactive login",
            section.factory.display_name
        ))
    })?;
    let cx = BuildContext {
        id,
        secrets,
        base: &config.base_dir,
    };
    login(section.table, &cx).map_err(|e| setting_error(id, e))
}

/// Build every configured processor. A bad setting or a missing secret is an error naming
/// the setting; nothing is contacted yet.
pub fn build(config: &Config, secrets: &Secrets) -> Result<Vec<Processor>> {
    let processors = build_each(config, secrets)
        .into_iter()
        .map(|(_, built)| built)
        .collect::<Result<Vec<_>>>()?;
    if processors.is_empty() {
        return Err(Error::Config(
            "no processors are configured: add a [processors.<id>] section".into(),
        ));
    }
    Ok(processors)
}

/// Build each configured processor on its own, so one bad section does not hide the others'
/// problems (`dsrhub check` lists them all): `(section name, processor or its error)`.
pub fn build_each(config: &Config, secrets: &Secrets) -> Vec<(String, Result<Processor>)> {
    config
        .processors
        .iter()
        .map(|(id, table)| (id.clone(), build_one(config, secrets, id, table)))
        .collect()
}

fn build_one(
    config: &Config,
    secrets: &Secrets,
    id: &str,
    table: &toml::Table,
) -> Result<Processor> {
    let Section {
        factory,
        table,
        enabled,
        on_behalf_of_customers,
        named,
    } = section(id, table)?;
    let kind = factory.id;
    let connector = if enabled {
        let cx = BuildContext {
            id,
            secrets,
            base: &config.base_dir,
        };
        Some((factory.build)(table, &cx).map_err(|e| setting_error(id, e))?)
    } else {
        None
    };
    let display_name = connector
        .as_ref()
        .map(|c| c.describe().display_name)
        .or(named)
        .unwrap_or_else(|| factory.display_name.to_string());
    Ok(Processor {
        id: id.to_string(),
        kind: kind.to_string(),
        display_name,
        on_behalf_of_customers,
        connector,
    })
}
