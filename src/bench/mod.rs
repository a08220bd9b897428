//! `dsrhub bench`: measurements that need the whole product, in one process, in release mode.
//!
//! `bench export` runs a real access request against the Microsoft Graph fake with a mailbox
//! of generated messages, twice (a tenth of the messages, then all of them), and reports the
//! time and the process's peak resident memory after each run. Export bodies are streamed
//! (fetched 100 at a time, written to staging files, zipped from there), so peak memory should
//! grow with the number of record ids, not with the size of the mail. `bench erasure` does the
//! same for a whole erasure (discovery, the plan, carrying it out, verification), where mail
//! is kept by policy. The results go in `docs/BENCHMARKS.md`.

pub mod batch;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Subject;
use dsrhub_microsoft_graph::fake::{FakeGraph, FakeOptions};

use crate::config::{Config, HubConfig};
use crate::error::{Error, Result};
use crate::ledger::{Ledger, RequestKind, RequestStatus};
use crate::orchestrator::{Hub, RunOptions};

const MAILBOX: &str = "anna.dewit@voorbeeld-it.example";
const CORRESPONDENT: &str = "bulk.sender@example.nl";

/// The process's peak resident set size in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// One measured request.
#[derive(Debug, serde::Serialize)]
pub struct Run {
    /// Messages that matched.
    pub messages: usize,
    /// Wall-clock seconds for the whole run (discovery, plan or export, the ZIP).
    pub seconds: f64,
    /// Peak RSS of the process after the run, in MiB.
    pub peak_rss_mib: Option<f64>,
    /// Size of the access ZIP, in MiB (access requests only).
    pub zip_mib: Option<f64>,
}

/// One request of `kind` over `messages` generated messages (an erasure approved at once).
async fn run_once(kind: RequestKind, messages: usize, body_bytes: usize) -> Result<Run> {
    let fake = FakeGraph::start_with(FakeOptions {
        generated: Some((MAILBOX.into(), CORRESPONDENT.into(), messages, body_bytes)),
        ..FakeOptions::default()
    })
    .await
    .map_err(Error::io("cannot start the Graph fake on", "127.0.0.1"))?;
    let dir = std::env::temp_dir().join(format!("dsrhub-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(Error::io("cannot create", &dir))?;
    let secrets = Secrets::in_memory();
    let reference = "keyring:graph".parse().expect("valid reference");
    secrets
        .store(&reference, &fake.client_secret())
        .map_err(|e| Error::Config(e.to_string()))?;
    let mut graph = toml::Table::new();
    graph.insert("tenant_id".into(), fake.tenant_id().into());
    graph.insert("client_id".into(), fake.client_id().into());
    graph.insert("client_secret".into(), "keyring:graph".into());
    graph.insert("mailboxes".into(), toml::Value::Array(vec![MAILBOX.into()]));
    graph.insert("graph_url".into(), fake.graph_url().to_string().into());
    graph.insert("login_url".into(), fake.login_url().to_string().into());
    let config = Config {
        hub: HubConfig {
            ledger: dir.join("ledger.db"),
            ..HubConfig::default()
        },
        processors: BTreeMap::from([("microsoft-graph".to_string(), graph)]),
        base_dir: dir.clone(),
        ..Config::default()
    };
    let processors = crate::registry::build(&config, &secrets)?;
    let ledger = Arc::new(Ledger::open(&config.ledger_path())?);
    let hub = Hub::new(ledger, processors, &config);
    let subject = Subject {
        emails: vec![CORRESPONDENT.into()],
        ..Subject::default()
    };
    let started = Instant::now();
    let id = hub.open(kind, &subject, "benchmark")?;
    let request = hub
        .carry_out(
            &id,
            &RunOptions {
                export_dir: Some(dir.clone()),
                // An erasure is approved at once: plan, carry out, verify.
                execute: kind == RequestKind::Erasure,
                ..RunOptions::default()
            },
            "dsrhub bench",
        )
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    // Mail is kept by policy: the erasure ends completed with every message retained.
    if request.status != RequestStatus::Completed {
        return Err(Error::Usage(format!(
            "the benchmark's {kind} request ended {}",
            request.status
        )));
    }
    let zip_mib = match kind {
        RequestKind::Access => {
            let zip = dir.join("access-export.zip");
            let bytes = std::fs::metadata(&zip)
                .map_err(Error::io("cannot read", &zip))?
                .len();
            Some(bytes as f64 / 1048576.0)
        }
        _ => None,
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Run {
        messages,
        seconds,
        peak_rss_mib: peak_rss_bytes().map(|b| b as f64 / 1048576.0),
        zip_mib,
    })
}

/// Run the benchmark for `kind`: `messages / 10`, then `messages`. With `max_peak_mib`, fail
/// when the peak RSS after the large run is higher (a guard CI uses).
pub async fn run(
    kind: RequestKind,
    messages: usize,
    body_bytes: usize,
    max_peak_mib: Option<f64>,
    json: bool,
) -> Result<u8> {
    let small = run_once(kind, (messages / 10).max(1), body_bytes).await?;
    let large = run_once(kind, messages, body_bytes).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "kind": kind.as_str(), "runs": [small, large] })
            )
            .expect("json")
        );
    } else {
        match kind {
            RequestKind::Access => println!(
                "access export through Microsoft Graph ($batch, 20 per call), {body_bytes}-byte bodies"
            ),
            _ => println!(
                "erasure through Microsoft Graph (plan, carry out, verify), {body_bytes}-byte bodies, mail kept by policy"
            ),
        }
        for run in [&small, &large] {
            let zip = run
                .zip_mib
                .map_or(String::new(), |z| format!(", ZIP {z:>7.1} MiB"));
            println!(
                "  {:>7} messages: {:>6.1} s{zip}, peak RSS {}",
                run.messages,
                run.seconds,
                run.peak_rss_mib
                    .map_or("unknown".to_string(), |m| format!("{m:.1} MiB"))
            );
        }
        if let (Some(a), Some(b)) = (small.peak_rss_mib, large.peak_rss_mib) {
            println!(
                "  {}x the messages, {:.2}x the peak RSS",
                large.messages / small.messages.max(1),
                b / a
            );
        }
    }
    match (max_peak_mib, large.peak_rss_mib) {
        (Some(limit), Some(peak)) if peak > limit => {
            eprintln!("peak RSS {peak:.1} MiB is over the limit of {limit} MiB");
            Ok(1)
        }
        _ => Ok(0),
    }
}
