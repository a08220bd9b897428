//! The sweep: the privacy policy's retention rules, applied to what the processors hold.
//!
//! Each enabled rule (`[sweep]`) asks the processors whom it selects; the selection, less
//! anyone on legal hold, with a request still open, or still under an agreement at any
//! processor (one processor's ended contract is not the end when another's runs), becomes one
//! batch of erasure requests
//! (`super::batch`), planned as a dry run. A person reviews the batch's plan and approves its
//! digest; only then is anything erased. The policy decides per record as for any request:
//! what the law says to keep (invoices: 7 years) stays, with its until-date.
//!
//! Rules today: `contract_ended` (people whose agreement ended more than
//! `policy.contract_retention_months` ago, from each connector's
//! [`dsrhub_connector::Connector::contracts_ended`]).

use std::collections::BTreeMap;

use dsrhub_connector::Subject;
use futures_util::future::join_all;
use serde::Serialize;

use super::batch::BatchSubject;
use super::Hub;
use crate::error::{Error, Result};
use crate::ledger::RequestKind;

/// The `contract_ended` rule's name.
pub const CONTRACT_ENDED: &str = "contract_ended";

/// Someone a rule selects.
#[derive(Debug, Clone, Serialize)]
pub struct Selected {
    /// Who (one person: one e-mail address). Not serialised: a listing shows `masked`.
    #[serde(skip)]
    pub subject: Subject,
    /// The addresses masked (`k•••r@e•••e.nl`), for listings.
    pub masked: Vec<String>,
    /// Per processor, what said so ("last invoice 2023-08-22").
    pub because: BTreeMap<String, String>,
}

/// What a sweep found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sweep {
    /// The rule.
    pub rule: String,
    /// Agreements that ended before this day are past their retention.
    pub ended_before: Option<jiff::civil::Date>,
    /// Whom it selects, by address.
    pub selected: Vec<Selected>,
    /// Left out: on legal hold.
    pub held: usize,
    /// Left out: a request for them is still open.
    pub open_request: usize,
    /// Left out: another processor (or the same, for another record) still has an agreement
    /// running for this address.
    pub ongoing_elsewhere: usize,
    /// Processors that gave no signal for this rule, and why.
    pub no_signal: BTreeMap<String, String>,
}

impl Hub {
    /// Whom the `contract_ended` rule selects today (nothing is opened or changed).
    pub async fn sweep_contract_ended(&self) -> Result<Sweep> {
        let today = self.today()?;
        let months = self.policy.contract_retention_months;
        let ended_before = today
            .checked_sub(jiff::Span::new().months(months))
            .map_err(|e| Error::Config(format!("policy.contract_retention_months: {e}")))?;
        let mut sweep = Sweep {
            rule: CONTRACT_ENDED.into(),
            ended_before: Some(ended_before),
            ..Sweep::default()
        };
        let asked = join_all(self.processors.iter().filter_map(|p| {
            let connector = p.connector.as_ref()?;
            Some(async move {
                let answer = self
                    .watched(&p.id, connector.contracts_ended(ended_before))
                    .await;
                (p.id.clone(), answer)
            })
        }))
        .await;
        let mut by_address: BTreeMap<String, Selected> = BTreeMap::new();
        let mut ongoing: std::collections::BTreeSet<String> = Default::default();
        for (processor, answer) in asked {
            match answer {
                Ok(Some(signals)) => {
                    ongoing.extend(signals.ongoing.iter().map(|a| a.trim().to_lowercase()));
                    for e in signals.ended {
                        let Ok(subject) = crate::identifiers::normalize_subject(&e.subject) else {
                            continue;
                        };
                        let key = subject.emails[0].to_lowercase();
                        by_address
                            .entry(key)
                            .or_insert_with(|| Selected {
                                masked: subject
                                    .emails
                                    .iter()
                                    .map(|e| crate::identifiers::mask_email(e))
                                    .collect(),
                                subject,
                                because: BTreeMap::new(),
                            })
                            .because
                            .insert(processor.clone(), e.signal);
                    }
                }
                Ok(None) => {
                    sweep.no_signal.insert(
                        processor,
                        "gives no signal for the end of an agreement".into(),
                    );
                }
                Err(e) => {
                    sweep
                        .no_signal
                        .insert(processor, format!("could not be asked: {}", e.message));
                }
            }
        }
        for (address, selected) in by_address {
            // One processor's ended agreement is not the end when another still has one.
            if ongoing.contains(&address) {
                sweep.ongoing_elsewhere += 1;
            } else if self.ledger.is_held(&address)? {
                sweep.held += 1;
            } else if !self.ledger.open_requests_for(&selected.subject)?.is_empty() {
                sweep.open_request += 1;
            } else {
                sweep.selected.push(selected);
            }
        }
        Ok(sweep)
    }

    /// Open a batch of erasure requests for `sweep`'s selection (its id), or `None` when it
    /// selects nobody. Run it with [`Hub::run_batch`] for the dry run a person approves.
    pub fn open_sweep(&self, sweep: &Sweep) -> Result<Option<String>> {
        if sweep.selected.is_empty() {
            return Ok(None);
        }
        let subjects: Vec<BatchSubject> = sweep
            .selected
            .iter()
            .enumerate()
            .map(|(i, s)| BatchSubject {
                line: i + 1,
                subject: s.subject.clone(),
            })
            .collect();
        let identity = format!(
            "not a request of the subject: selected by the sweep's {} rule (agreement ended before {})",
            sweep.rule,
            sweep
                .ended_before
                .map(|d| d.to_string())
                .unwrap_or_default()
        );
        self.open_batch(
            RequestKind::Erasure,
            &subjects,
            &identity,
            &format!("sweep: {}", sweep.rule),
        )
        .map(Some)
    }
}

/// Whether a batch of this origin was opened by the sweep (its requests get no reply: the
/// subjects did not ask).
pub fn is_sweep(origin: &str) -> bool {
    origin.starts_with("sweep: ")
}
