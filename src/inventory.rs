//! The processor register (record of processing activities) and its scheduled sync.
//!
//! `dsrhub inventory sync` asks every configured processor, in parallel, whether it is
//! reachable and accepts its credentials (`check`), and what it holds (`inventory`: counts per
//! object type, data location); it compares the configured processors with the register the
//! privacy policy declares (`[register] processors`), stores the result in the ledger (history
//! kept) and says what changed since the previous sync. `dsrhub inventory` prints the latest
//! register; `--json` and `--csv` export it. Nothing here holds personal data: counts,
//! locations and error classes only.

use std::collections::{BTreeMap, BTreeSet};

use dsrhub_connector::Category;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Result;
use crate::ledger::Ledger;
use crate::registry::Processor;

/// One processor in one sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Section name under `[processors]` (or the declared id).
    pub processor: String,
    /// How reports name it.
    pub name: String,
    /// It has a `[processors.<id>]` section.
    pub configured: bool,
    /// The register (`[register] processors`) declares it.
    pub declared: bool,
    /// Configured and not `enabled = false`.
    pub enabled: bool,
    /// Its API answered.
    pub reachable: bool,
    /// Its credentials were accepted.
    pub authenticated: bool,
    /// Requests left in the vendor's rate-limit window, when it says.
    pub rate_limit_remaining: Option<u64>,
    /// Records per object type.
    pub counts: BTreeMap<String, u64>,
    /// Where the data lives.
    pub location: Option<String>,
    /// Whether that is inside the EEA.
    pub eea: Option<bool>,
    /// Categories of personal data it holds.
    pub categories: Vec<Category>,
    /// Why it could not be checked (error class and message, no personal data).
    pub error: Option<String>,
    /// The register and the configuration disagree about it.
    pub drift: Option<String>,
}

impl Entry {
    /// A processor nothing is known about yet: not configured, declared, reached or counted.
    fn unchecked(processor: &str, name: &str) -> Entry {
        Entry {
            processor: processor.to_string(),
            name: name.to_string(),
            configured: false,
            declared: false,
            enabled: false,
            reachable: false,
            authenticated: false,
            rate_limit_remaining: None,
            counts: BTreeMap::new(),
            location: None,
            eea: None,
            categories: Vec::new(),
            error: None,
            drift: None,
        }
    }

    /// One word for people: `ok`, `disabled`, `unreachable`, `no_auth` or `missing` (declared,
    /// no connector).
    pub fn state(&self) -> &'static str {
        match (
            self.configured,
            self.enabled,
            self.reachable,
            self.authenticated,
        ) {
            (false, ..) => "missing",
            (true, false, ..) => "disabled",
            (true, true, false, _) => "unreachable",
            (true, true, true, false) => "no_auth",
            _ => "ok",
        }
    }
}

/// One stored sync.
#[derive(Debug, Clone, Serialize)]
pub struct Register {
    /// When it ran.
    pub synced_at: String,
    /// One entry per processor, configured or declared.
    pub entries: Vec<Entry>,
}

async fn check_one(p: &Processor, declared: bool) -> Entry {
    let mut entry = Entry {
        configured: true,
        declared,
        enabled: p.connector.is_some(),
        ..Entry::unchecked(&p.id, &p.display_name)
    };
    let Some(connector) = &p.connector else {
        return entry;
    };
    let description = connector.describe();
    entry.categories = description.categories;
    match connector.check().await {
        Ok(health) => {
            entry.reachable = true;
            entry.authenticated = health.authenticated;
            entry.rate_limit_remaining = health.rate_limit_remaining;
        }
        Err(e) => {
            // An auth failure means the vendor answered: reachable, not authenticated.
            entry.reachable = e.kind == dsrhub_connector::ErrorKind::Auth;
            entry.error = Some(e.to_string());
            return entry;
        }
    }
    match connector.inventory().await {
        Ok(inventory) => {
            entry.counts = inventory.counts;
            entry.location = Some(inventory.location.region);
            entry.eea = Some(inventory.location.eea);
        }
        Err(e) => entry.error = Some(format!("inventory: {e}")),
    }
    entry
}

/// Run one sync over `processors` and store it; returns the register and what changed since
/// the previous sync.
pub async fn sync(
    config: &Config,
    processors: &[Processor],
    ledger: &Ledger,
) -> Result<(Register, Vec<String>)> {
    let declared: BTreeSet<&str> = config
        .register
        .processors
        .iter()
        .map(String::as_str)
        .collect();
    let check_drift = !declared.is_empty();
    let mut entries: Vec<Entry> = join_all(
        processors
            .iter()
            .map(|p| check_one(p, declared.contains(p.id.as_str()))),
    )
    .await;
    for entry in &mut entries {
        if check_drift && !entry.declared {
            entry.drift = Some(
                "configured, but not in the register (`[register] processors`): add it to the privacy policy's list, or remove the connector".into(),
            );
        }
    }
    for id in declared {
        if !processors.iter().any(|p| p.id == id) {
            entries.push(Entry {
                declared: true,
                drift: Some(
                    "declared in the register, but no connector is configured: requests cannot reach it".into(),
                ),
                ..Entry::unchecked(id, id)
            });
        }
    }
    entries.sort_by(|a, b| a.processor.cmp(&b.processor));
    let previous = latest(ledger)?;
    let rows: Vec<(String, serde_json::Value)> = entries
        .iter()
        .map(|e| {
            (
                e.processor.clone(),
                serde_json::to_value(e).expect("an entry serialises"),
            )
        })
        .collect();
    ledger.save_inventory(&rows)?;
    let register = latest(ledger)?.expect("just stored");
    let changes = match &previous {
        Some(previous) => changes(previous, &register),
        None => vec!["first sync".to_string()],
    };
    Ok((register, changes))
}

/// The latest stored sync, if any.
pub fn latest(ledger: &Ledger) -> Result<Option<Register>> {
    Ok(ledger
        .inventory_runs(1)?
        .into_iter()
        .next()
        .map(|(_, at, entries)| Register {
            synced_at: at,
            entries: entries
                .into_iter()
                .filter_map(|e| serde_json::from_value(e).ok())
                .collect(),
        }))
}

/// What differs between two syncs, one line per change.
pub fn changes(before: &Register, after: &Register) -> Vec<String> {
    let mut out = Vec::new();
    let find = |r: &Register, id: &str| r.entries.iter().find(|e| e.processor == id).cloned();
    let ids: BTreeSet<&str> = before
        .entries
        .iter()
        .chain(&after.entries)
        .map(|e| e.processor.as_str())
        .collect();
    for id in ids {
        match (find(before, id), find(after, id)) {
            (None, Some(_)) => out.push(format!("{id}: new in the register")),
            (Some(_), None) => out.push(format!("{id}: no longer in the register")),
            (Some(a), Some(b)) => {
                let state = |e: &Entry| match (e.enabled, e.reachable, e.authenticated) {
                    (false, _, _) => "disabled",
                    (true, false, _) => "unreachable",
                    (true, true, false) => "not authenticated",
                    (true, true, true) => "ok",
                };
                if state(&a) != state(&b) {
                    out.push(format!("{id}: {} → {}", state(&a), state(&b)));
                }
                if a.location != b.location || a.eea != b.eea {
                    out.push(format!(
                        "{id}: data location {} → {}",
                        a.location.as_deref().unwrap_or("unknown"),
                        b.location.as_deref().unwrap_or("unknown")
                    ));
                }
                let objects: BTreeSet<&String> = a.counts.keys().chain(b.counts.keys()).collect();
                for object in objects {
                    let (x, y) = (a.counts.get(object), b.counts.get(object));
                    // Counts are only compared when both syncs could read them.
                    if let (Some(x), Some(y)) = (x, y) {
                        if x != y {
                            out.push(format!("{id}: {object} {x} → {y}"));
                        }
                    }
                }
                if a.drift != b.drift {
                    out.push(format!(
                        "{id}: {}",
                        b.drift
                            .as_deref()
                            .unwrap_or("register and configuration agree again")
                    ));
                }
            }
            (None, None) => {}
        }
    }
    out
}

/// The register as CSV (a record of processing activities): one row per processor.
pub fn csv(register: &Register) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::from(
        "processor,name,configured,declared,enabled,reachable,authenticated,location,eea,categories,counts,drift,error,synced_at\r\n",
    );
    for e in &register.entries {
        let categories: Vec<String> = e
            .categories
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        let counts: Vec<String> = e.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let row = [
            field(&e.processor),
            field(&e.name),
            e.configured.to_string(),
            e.declared.to_string(),
            e.enabled.to_string(),
            e.reachable.to_string(),
            e.authenticated.to_string(),
            field(e.location.as_deref().unwrap_or("")),
            e.eea.map(|b| b.to_string()).unwrap_or_default(),
            field(&categories.join(" ")),
            field(&counts.join(" ")),
            field(e.drift.as_deref().unwrap_or("")),
            field(e.error.as_deref().unwrap_or("")),
            field(&register.synced_at),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}
