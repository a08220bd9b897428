//! Batches: many subjects' requests planned, approved, carried out and verified together.
//!
//! A batch (`dsrhub erase --subjects FILE`, the sweep) opens one request per subject, each with
//! its own tasks, items, deadline and report, and binds them: one plan (its digest covers
//! every request's plan), one approval, one blast-radius cap over the total. What makes a batch
//! cheaper than as many single requests is discovery: each processor is asked once for all
//! the subjects ([`dsrhub_connector::Connector::discover_batch`]: Autotask's `or` groups, one
//! scan of Moneybird's or IT Glue's contacts) instead of once per subject, before planning and
//! again before verifying. [`Discovered`] holds those answers for the per-request runs, which
//! then ask nobody. Everything else (erasing, exporting, letters) is per record anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dsrhub_connector::{Connector, ConnectorError, Record, Subject};
use futures_util::future::join_all;

use super::Hub;
use crate::error::Result;

/// A processor's answer to a search for one subject.
type Found = std::result::Result<Vec<Record>, ConnectorError>;

/// What one search per processor found, per request: taken (once) by the request's run.
#[derive(Default)]
pub struct Discovered {
    found: Mutex<HashMap<(String, String), Found>>,
}

impl std::fmt::Debug for Discovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.found.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "Discovered({n} request-processor answers)")
    }
}

impl Discovered {
    /// What was found for request `id` at `processor`, if this batch searched for it.
    fn take(&self, id: &str, processor: &str) -> Option<Found> {
        self.found
            .lock()
            .expect("discovered")
            .remove(&(id.to_string(), processor.to_string()))
    }

    fn put(
        &self,
        id: &str,
        processor: &str,
        found: std::result::Result<Vec<Record>, ConnectorError>,
    ) {
        self.found
            .lock()
            .expect("discovered")
            .insert((id.to_string(), processor.to_string()), found);
    }
}

/// Hand `subject`'s records at `processor` to `sink`: for a request targeted at records
/// (`targets`), those records looked up by id; else what the batch found already, or the
/// processor's own answer to a search for this subject alone.
pub(super) async fn discover_each(
    discovered: Option<&Discovered>,
    targets: Option<&[(dsrhub_connector::RecordRef, bool)]>,
    (id, processor): (&str, &str),
    connector: &Arc<dyn Connector>,
    subject: &Subject,
    sink: &mut (dyn FnMut(Record) -> std::result::Result<(), ConnectorError> + Send),
) -> std::result::Result<(), ConnectorError> {
    if let Some(targets) = targets {
        return super::targeted::look_up_each(connector, targets, sink).await;
    }
    match discovered.and_then(|d| d.take(id, processor)) {
        Some(Ok(records)) => records.into_iter().try_for_each(sink),
        Some(Err(e)) => Err(e),
        None => connector.discover_each(subject, sink).await,
    }
}

impl Hub {
    /// Search every processor once for the subjects of `requests` (request id, subject) whose
    /// task there `wanted` says needs it; the answers, per request and processor.
    pub(super) async fn discover_together(
        &self,
        requests: &[(String, Subject)],
        wanted: impl Fn(&crate::ledger::TaskRow) -> bool,
    ) -> Result<Discovered> {
        let discovered = Discovered::default();
        // (processor, its connector, the requests to search for there)
        type Ask<'a> = (&'a str, Arc<dyn Connector>, Vec<&'a (String, Subject)>);
        let mut asks: Vec<Ask<'_>> = Vec::new();
        for processor in &self.processors {
            let Some(connector) = &processor.connector else {
                continue;
            };
            if connector.by_letter() {
                continue;
            }
            let mut who = Vec::new();
            for request in requests {
                // A request targeted at records looks them up; it searches for nobody.
                if super::targeted::is_nobody(&request.1) || self.ledger.is_targeted(&request.0)? {
                    continue;
                }
                let tasks = self.ledger.tasks(&request.0)?;
                if tasks
                    .iter()
                    .any(|t| t.processor == processor.id && wanted(t))
                {
                    who.push(request);
                }
            }
            if !who.is_empty() {
                asks.push((processor.id.as_str(), connector.clone(), who));
            }
        }
        join_all(asks.into_iter().map(|(processor, connector, who)| {
            let discovered = &discovered;
            self.watched(processor, async move {
                self.progress.update(
                    processor,
                    &format!("searching for {} subject(s) at once", who.len()),
                );
                let subjects: Vec<Subject> = who.iter().map(|(_, s)| s.clone()).collect();
                match connector.discover_batch(&subjects).await {
                    Ok(found) => {
                        for ((id, _), records) in who.iter().zip(found) {
                            discovered.put(id, processor, Ok(records));
                        }
                    }
                    // Each request records the failure on its own task, as a failed search of
                    // its own would: nobody asks the failing processor again per subject.
                    Err(e) => {
                        for (id, _) in &who {
                            discovered.put(id, processor, Err(e.clone()));
                        }
                    }
                }
            })
        }))
        .await;
        Ok(discovered)
    }
}

/// Subjects a batch may hold at most: a batch multiplies every decision, and its searches
/// hold what they find in memory until the runs take it.
pub const MAX_SUBJECTS: usize = 5000;

/// Requests of a batch carried out at the same time (each runs its processors in parallel
/// already; the vendors' quotas pace them together).
const REQUESTS_AT_ONCE: usize = 4;

/// One subject of a batch: who, and the line of the list they are on.
#[derive(Debug, Clone)]
pub struct BatchSubject {
    /// The line of the subjects file (1-based), named in reports once identifiers are purged.
    pub line: usize,
    /// Who.
    pub subject: Subject,
}

impl Hub {
    /// Open a batch of `kind` for `subjects` (from `origin`, e.g. "subjects file
    /// leavers.csv"), whose identities were verified as `identity`: one request per subject.
    /// Its id.
    pub fn open_batch(
        &self,
        kind: crate::ledger::RequestKind,
        subjects: &[BatchSubject],
        identity: &str,
        origin: &str,
    ) -> Result<String> {
        use crate::error::Error;
        if subjects.is_empty() {
            return Err(Error::Usage("--subjects: the list names nobody".into()));
        }
        if subjects.len() > MAX_SUBJECTS {
            return Err(Error::Usage(format!(
                "--subjects: {} subjects; a batch holds at most {MAX_SUBJECTS} (split the list)",
                subjects.len()
            )));
        }
        if identity.trim().is_empty() {
            return Err(Error::Usage(
                "--identity-verified: say how the subjects' identities were verified".into(),
            ));
        }
        let batch = self.ledger.create_batch(kind, origin)?;
        for s in subjects {
            let id = self.open(kind, &s.subject, identity)?;
            self.ledger.add_to_batch(&batch, &id, s.line)?;
        }
        Ok(batch)
    }

    /// Approve batch `batch`'s plan named by `digest`, as `approver`: all its requests' plans
    /// at once, or none.
    pub fn approve_batch(
        &self,
        batch: &str,
        digest: &str,
        approver: &str,
    ) -> Result<crate::ledger::BatchPlan> {
        let approver = approver.trim();
        if approver.is_empty() || approver.len() > 200 || approver.chars().any(char::is_control) {
            return Err(crate::error::Error::Usage(
                "approver: give the name of the person who approves the plan".into(),
            ));
        }
        self.ledger.approve_batch(batch, digest, approver)
    }

    /// Run (or resume) batch `batch`: search every processor once for all its open requests'
    /// subjects, plan (an erasure) or export (an access) each request, and, for an erasure with
    /// `options.execute`, carry out what was approved, then search once more and verify every
    /// request. An access request's export goes to `export_root/<request id>`. An erasure's
    /// blast-radius cap holds for the batch's total. The batch's requests, in list order.
    pub async fn run_batch(
        &self,
        batch: &str,
        options: &super::RunOptions,
        export_root: &std::path::Path,
    ) -> Result<Vec<(usize, crate::ledger::RequestRow)>> {
        use crate::ledger::{RequestKind, Stage};
        use futures_util::StreamExt;
        let kind = self.ledger.batch(batch)?.kind;
        let open = |hub: &Hub| -> Result<Vec<(String, Subject)>> {
            let mut open = Vec::new();
            for (_, r) in hub.ledger.batch_requests(batch)? {
                if !r.status.is_closed() {
                    let subject = hub.ledger.subject(&r.id)?;
                    open.push((r.id, subject));
                }
            }
            Ok(open)
        };
        let now = jiff::Timestamp::now();
        let requests = open(self)?;
        let found = Arc::new(
            self.discover_together(&requests, |t| self.needs_discovery(t) && !t.waits_at(now))
                .await?,
        );
        // Each request's own run, `REQUESTS_AT_ONCE` at a time. Every request of a phase runs;
        // an error (the first) ends the batch's run after that phase, and every request
        // resumes from the ledger on the next run.
        let each = |ids: Vec<String>, options: super::RunOptions| {
            futures_util::stream::iter(ids.into_iter().map(move |id| {
                let options = super::RunOptions {
                    export_dir: Some(export_root.join(&id)),
                    ..options.clone()
                };
                async move { self.run(&id, &options).await.map(|_| ()) }
            }))
            .buffer_unordered(REQUESTS_AT_ONCE)
            .collect::<Vec<Result<()>>>()
        };
        let ids = |requests: &[(String, Subject)]| -> Vec<String> {
            requests.iter().map(|(id, _)| id.clone()).collect()
        };
        if kind == RequestKind::Access {
            let runs = each(
                ids(&requests),
                super::RunOptions {
                    discovered: Some(found),
                    ..options.clone()
                },
            )
            .await;
            runs.into_iter().collect::<Result<Vec<()>>>()?;
            return self.ledger.batch_requests(batch);
        }
        // Plan every request (nothing changes yet), then hold the cap over the whole batch.
        let dry = super::RunOptions {
            execute: false,
            discovered: Some(found),
            ..options.clone()
        };
        each(ids(&requests), dry)
            .await
            .into_iter()
            .collect::<Result<Vec<()>>>()?;
        let mut pending = 0;
        for (id, _) in &requests {
            pending += self.ledger.pending_changes(id)?;
        }
        let cap = options
            .max_records
            .unwrap_or(self.policy.max_records_per_erasure);
        if pending > cap {
            return Err(crate::error::Error::BlastRadius {
                request: format!("batch {batch}"),
                planned: pending,
                cap,
            });
        }
        if !options.execute {
            return self.ledger.batch_requests(batch);
        }
        // Carry out what was approved, every request; verification waits for the search below.
        let execute = super::RunOptions {
            execute: true,
            defer_verification: true,
            discovered: None,
            ..options.clone()
        };
        each(ids(&requests), execute)
            .await
            .into_iter()
            .collect::<Result<Vec<()>>>()?;
        // One more search per processor for every subject whose erasure waits to be verified.
        let requests = open(self)?;
        let found_again = Arc::new(
            self.discover_together(&requests, |t| t.stage == Stage::Executed && t.approved)
                .await?,
        );
        let verify = super::RunOptions {
            execute: true,
            discovered: Some(found_again),
            ..options.clone()
        };
        each(ids(&requests), verify)
            .await
            .into_iter()
            .collect::<Result<Vec<()>>>()?;
        self.ledger.batch_requests(batch)
    }
}
