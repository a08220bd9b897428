//! `dsrhub bench batch`: what a batch saves against one request per subject, under the
//! vendors' quotas.
//!
//! The Moneybird and IT Glue fakes run with their vendors' real quotas (150 calls per 300 s,
//! 3,000 per 300 s), the windows shortened `--time-scale` times (100: 150 calls per 3 s), so
//! that the run takes seconds; the client paces itself to the same quotas. A list of `n`
//! leavers, a tenth of them Moneybird customers (generated, without invoices), is erased as
//! one batch (plan, approve, carry out, verify) and, against fresh fakes, as `n` single
//! requests. Printed, as ratios measured in this one run:
//!
//! - vendor calls per subject, batched vs single;
//! - per vendor, calls made / calls its quota allowed in the run's wall time, and the 429s
//!   the run caused (the fakes count quota rejections);
//! - the process's peak RSS after the largest batch vs after the smallest;
//! - fan-out: one request's wall time across both processors with 50 ms per call injected,
//!   vs the slower processor alone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::Subject;
use dsrhub_itglue::fake::{FakeItGlue, FakeOptions as ItGlueOptions};
use dsrhub_moneybird::fake::{FakeMoneybird, FakeOptions as MoneybirdOptions, Seed};
use serde::Serialize;

use crate::config::{Config, HubConfig};
use crate::error::{Error, Result};
use crate::ledger::{Ledger, RequestKind};
use crate::orchestrator::batch::BatchSubject;
use crate::orchestrator::{Hub, RunOptions};

/// A vendor's quota: calls per window (in real seconds).
const MONEYBIRD: (u32, f64) = (150, 300.0);
const ITGLUE: (u32, f64) = (3000, 300.0);

/// One vendor's share of a run.
#[derive(Debug, Clone, Serialize)]
pub struct VendorUse {
    /// Calls the vendor saw.
    pub calls: u64,
    /// Calls its quota allowed in the run's wall time: the quota once per window begun.
    pub allowed: f64,
    /// `calls / allowed`.
    pub utilisation: f64,
    /// 429s for a spent quota.
    pub throttled: u64,
}

/// One way of erasing the list.
#[derive(Debug, Clone, Serialize)]
pub struct Mode {
    /// Seconds.
    pub seconds: f64,
    /// Calls per subject, both vendors.
    pub calls_per_subject: f64,
    /// Per vendor.
    pub vendors: BTreeMap<String, VendorUse>,
}

/// The measurements for one list size.
#[derive(Debug, Clone, Serialize)]
pub struct Size {
    /// Subjects in the list.
    pub subjects: usize,
    /// As one batch.
    pub batched: Mode,
    /// As one request per subject.
    pub single: Mode,
    /// `batched.calls_per_subject / single.calls_per_subject`.
    pub calls_ratio: f64,
    /// Peak RSS after the batch, MiB.
    pub peak_rss_mib: Option<f64>,
}

/// The whole benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Quota windows shortened this many times.
    pub time_scale: f64,
    /// Per list size, smallest first.
    pub sizes: Vec<Size>,
    /// Peak RSS after the largest batch / after the smallest.
    pub rss_ratio: Option<f64>,
    /// One request across both processors (50 ms per call) / the slower one alone.
    pub fan_out_ratio: f64,
}

/// The fakes and a hub over them.
struct Setup {
    moneybird: FakeMoneybird,
    itglue: FakeItGlue,
    hub: Hub,
    dir: std::path::PathBuf,
    customers: usize,
}

fn quota_table(quota: (u32, f64), scale: f64) -> toml::Table {
    let mut http = toml::Table::new();
    let mut rate = toml::Table::new();
    rate.insert("requests".into(), i64::from(quota.0).into());
    rate.insert("per_seconds".into(), (quota.1 / scale).into());
    http.insert("rate_limit".into(), toml::Value::Table(rate));
    http
}

async fn setup(customers: usize, scale: f64, only: Option<&str>) -> Result<Setup> {
    let window = |q: (u32, f64)| Duration::from_secs_f64(q.1 / scale);
    let moneybird = FakeMoneybird::start_with(MoneybirdOptions {
        seed: Seed::fixture().with_customers(customers),
        quota_requests: MONEYBIRD.0,
        quota_window: window(MONEYBIRD),
        ..MoneybirdOptions::default()
    })
    .await
    .map_err(Error::io("cannot start the Moneybird fake on", "127.0.0.1"))?;
    let itglue = FakeItGlue::start_with(ItGlueOptions {
        quota_requests: ITGLUE.0,
        quota_window: window(ITGLUE),
        ..ItGlueOptions::default()
    })
    .await
    .map_err(Error::io("cannot start the IT Glue fake on", "127.0.0.1"))?;
    let secrets = Secrets::in_memory();
    let store = |name: &str, value: &str| {
        secrets
            .store(&format!("keyring:{name}").parse().expect("valid"), value)
            .map_err(|e| Error::Config(e.to_string()))
    };
    store("mb", &moneybird.token())?;
    store("itg", &itglue.api_key())?;
    let mut mb = toml::Table::new();
    mb.insert("base_url".into(), moneybird.base_url().to_string().into());
    mb.insert(
        "administration_id".into(),
        moneybird.administration_id().into(),
    );
    mb.insert("token".into(), "keyring:mb".into());
    mb.insert(
        "http".into(),
        toml::Value::Table(quota_table(MONEYBIRD, scale)),
    );
    let mut itg = toml::Table::new();
    itg.insert("base_url".into(), itglue.base_url().to_string().into());
    itg.insert("api_key".into(), "keyring:itg".into());
    itg.insert(
        "http".into(),
        toml::Value::Table(quota_table(ITGLUE, scale)),
    );
    let mut processors =
        BTreeMap::from([("moneybird".to_string(), mb), ("itglue".to_string(), itg)]);
    if let Some(only) = only {
        processors.retain(|id, _| id == only);
    }
    let dir = std::env::temp_dir().join(format!("dsrhub-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).map_err(Error::io("cannot create", &dir))?;
    let mut config = Config {
        hub: HubConfig {
            ledger: dir.join("ledger.db"),
            reports_dir: dir.join("reports"),
            ..HubConfig::default()
        },
        processors,
        base_dir: dir.clone(),
        ..Config::default()
    };
    // The list is large by design: the cap is the benchmark's to lift.
    config.policy.max_records_per_erasure = usize::MAX / 2;
    let built = crate::registry::build(&config, &secrets)?;
    let ledger = Arc::new(Ledger::open(&config.ledger_path())?);
    Ok(Setup {
        moneybird,
        itglue,
        hub: Hub::new(ledger, built, &config),
        dir,
        customers,
    })
}

/// The list: `customers` generated Moneybird customers, the rest nobody the vendors know.
fn leavers(n: usize, customers: usize) -> Vec<BatchSubject> {
    (0..n)
        .map(|i| BatchSubject {
            line: i + 2,
            subject: Subject {
                emails: vec![if i < customers {
                    format!("klant-{i:04}@example.org")
                } else {
                    format!("left-{i:04}@voorbeeld-it.example")
                }],
                ..Subject::default()
            },
        })
        .collect()
}

fn mode(s: &Setup, subjects: usize, seconds: f64, scale: f64) -> Mode {
    let use_of = |calls: u64, quota: (u32, f64), throttled: u64| {
        // A sliding window allows its quota at once, then again each time a window has
        // passed: in `seconds`, the quota times (whole windows passed + 1).
        let windows = (seconds / (quota.1 / scale)).floor() + 1.0;
        let allowed = f64::from(quota.0) * windows;
        VendorUse {
            calls,
            allowed,
            utilisation: calls as f64 / allowed,
            throttled,
        }
    };
    let vendors = BTreeMap::from([
        (
            "moneybird".to_string(),
            use_of(
                s.moneybird.log().requests_seen(),
                MONEYBIRD,
                s.moneybird.quota_rejections(),
            ),
        ),
        (
            "itglue".to_string(),
            use_of(
                s.itglue.log().requests_seen(),
                ITGLUE,
                s.itglue.quota_rejections(),
            ),
        ),
    ]);
    let calls: u64 = vendors.values().map(|v| v.calls).sum();
    Mode {
        seconds,
        calls_per_subject: calls as f64 / subjects as f64,
        vendors,
    }
}

async fn batched(n: usize, scale: f64) -> Result<Mode> {
    let s = setup(n / 10, scale, None).await?;
    let started = Instant::now();
    let reports = s.dir.join("reports");
    let batch = s.hub.open_batch(
        RequestKind::Erasure,
        &leavers(n, s.customers),
        "benchmark",
        "dsrhub bench batch",
    )?;
    s.hub
        .run_batch(&batch, &RunOptions::default(), &reports)
        .await?;
    let plan = s.hub.ledger().batch_plan(&batch)?;
    if !plan.is_empty() {
        s.hub.approve_batch(&batch, &plan.digest, "dsrhub bench")?;
    }
    let execute = RunOptions {
        execute: true,
        ..RunOptions::default()
    };
    s.hub.run_batch(&batch, &execute, &reports).await?;
    let measured = mode(&s, n, started.elapsed().as_secs_f64(), scale);
    let _ = std::fs::remove_dir_all(&s.dir);
    Ok(measured)
}

async fn single(n: usize, scale: f64) -> Result<Mode> {
    let s = setup(n / 10, scale, None).await?;
    let started = Instant::now();
    let execute = RunOptions {
        execute: true,
        ..RunOptions::default()
    };
    for subject in leavers(n, s.customers) {
        let id = s
            .hub
            .open(RequestKind::Erasure, &subject.subject, "benchmark")?;
        s.hub.carry_out(&id, &execute, "dsrhub bench").await?;
    }
    let measured = mode(&s, n, started.elapsed().as_secs_f64(), scale);
    let _ = std::fs::remove_dir_all(&s.dir);
    Ok(measured)
}

/// One request's dry run with `delay` per call at every fake, over `only` processor (or both).
async fn one_request(delay: Duration, only: Option<&str>) -> Result<f64> {
    let s = setup(0, 1.0, only).await?;
    s.moneybird.faults().set_slow(Some(delay));
    s.itglue.faults().set_slow(Some(delay));
    let subject = Subject {
        emails: vec![
            "sanne.bakker@example.nl".into(),
            "sanne@bakkerfotografie.example".into(),
        ],
        ..Subject::default()
    };
    let started = Instant::now();
    let id = s.hub.open(RequestKind::Erasure, &subject, "benchmark")?;
    s.hub.run(&id, &RunOptions::default()).await?;
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&s.dir);
    Ok(seconds)
}

/// Run the benchmark for each size in `sizes` (smallest first), quota windows shortened
/// `scale` times.
pub async fn run(sizes: &[usize], scale: f64, json: bool) -> Result<u8> {
    if sizes.is_empty() || sizes.contains(&0) || !scale.is_finite() || scale < 1.0 {
        return Err(Error::Usage(
            "--subjects: one or more list sizes above 0; --time-scale: 1 or more".into(),
        ));
    }
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    let mut measured = Vec::new();
    for &n in &sizes {
        let batched = batched(n, scale).await?;
        let peak = crate::bench::peak_rss_bytes().map(|b| b as f64 / 1048576.0);
        let single = single(n, scale).await?;
        measured.push(Size {
            subjects: n,
            calls_ratio: batched.calls_per_subject / single.calls_per_subject,
            batched,
            single,
            peak_rss_mib: peak,
        });
    }
    // Only between two sizes: one size compared with itself says nothing.
    let rss_ratio = match (
        measured.first().and_then(|s| s.peak_rss_mib),
        measured.last().and_then(|s| s.peak_rss_mib),
    ) {
        (Some(small), Some(large)) if small > 0.0 && measured.len() > 1 => Some(large / small),
        _ => None,
    };
    let delay = Duration::from_millis(50);
    let both = one_request(delay, None).await?;
    let slowest = one_request(delay, Some("moneybird"))
        .await?
        .max(one_request(delay, Some("itglue")).await?);
    let results = Results {
        time_scale: scale,
        sizes: measured,
        rss_ratio,
        fan_out_ratio: both / slowest,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&results).expect("json"));
        return Ok(0);
    }
    println!(
        "quota windows shortened {}x (Moneybird 150 calls per {} s, IT Glue 3000 per {} s)",
        scale,
        MONEYBIRD.1 / scale,
        ITGLUE.1 / scale
    );
    for s in &results.sizes {
        println!(
            "{} subjects: batch {:.2} calls/subject in {:.1} s, single {:.2} calls/subject in {:.1} s: ratio {:.3} (goal <= 0.25)",
            s.subjects,
            s.batched.calls_per_subject,
            s.batched.seconds,
            s.single.calls_per_subject,
            s.single.seconds,
            s.calls_ratio
        );
        for (label, m) in [("batch", &s.batched), ("single", &s.single)] {
            for (vendor, v) in &m.vendors {
                println!(
                    "  {label:<6} {vendor:<9} {:>6} calls, {:.2} of what the quota allowed, {} throttled",
                    v.calls, v.utilisation, v.throttled
                );
            }
        }
    }
    if let Some(ratio) = results.rss_ratio {
        println!(
            "peak RSS after {} subjects / after {}: {:.2} (goal: flat)",
            sizes.last().copied().unwrap_or(0),
            sizes.first().copied().unwrap_or(0),
            ratio
        );
    }
    println!(
        "fan-out: one request across both processors / the slower alone (50 ms per call): {:.2} (goal <= 1.10)",
        results.fan_out_ratio
    );
    Ok(0)
}
