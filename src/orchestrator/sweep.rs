//! The sweep: the privacy policy's retention rules, applied to what the processors hold.
//!
//! Each enabled rule (`[sweep]`) selects what may go now; the selection, less anyone on legal
//! hold or with a request still open, becomes one batch of erasure requests (`super::batch`),
//! planned as a dry run. A person reviews the batch's plan and approves its digest; only then
//! is anything erased. The policy decides per record as for any request: what the law says to
//! keep (invoices: 7 years) stays, with its until-date.
//!
//! Rules:
//! - `contract_ended`: people whose agreement ended more than
//!   `policy.contract_retention_months` ago, from each connector's
//!   [`dsrhub_connector::Connector::contracts_ended`]; an address still under an agreement at
//!   any processor is left out (one processor's ended contract is not the end when another's
//!   runs). One request per person.
//! - `retained_expired`: records earlier requests kept for a legal duty whose `retain_until`
//!   has passed. One request per earlier request, targeted at its records by id
//!   (`super::targeted`): the identifiers are long purged, the ledger kept the ids.

use std::collections::BTreeMap;

use dsrhub_connector::Subject;
use futures_util::future::join_all;
use serde::Serialize;

use super::Hub;
use crate::error::{Error, Result};
use crate::ledger::{Expired, RequestKind, Target};

/// The `contract_ended` rule's name.
pub const CONTRACT_ENDED: &str = "contract_ended";
/// The `retained_expired` rule's name.
pub const RETAINED_EXPIRED: &str = "retained_expired";
/// The `applicants` rule's name.
pub const APPLICANTS: &str = "applicants";

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

/// What a sweep found, per enabled rule (`None`: the rule is off).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sweep {
    /// The `contract_ended` rule.
    pub contract_ended: Option<ContractEnded>,
    /// The `retained_expired` rule.
    pub retained_expired: Option<RetainedExpired>,
    /// The `applicants` rule.
    pub applicants: Option<Applicants>,
}

impl Sweep {
    /// The rules that selected anything, by name.
    pub fn rules_selecting(&self) -> Vec<&'static str> {
        let mut rules = Vec::new();
        if self
            .contract_ended
            .as_ref()
            .is_some_and(|r| !r.selected.is_empty())
        {
            rules.push(CONTRACT_ENDED);
        }
        if self
            .retained_expired
            .as_ref()
            .is_some_and(|r| !r.requests.is_empty())
        {
            rules.push(RETAINED_EXPIRED);
        }
        if self
            .applicants
            .as_ref()
            .is_some_and(|r| !r.selected.is_empty())
        {
            rules.push(APPLICANTS);
        }
        rules
    }
}

/// A rejected applicant the `applicants` rule selects.
#[derive(Debug, Clone, Serialize)]
pub struct SelectedApplicant {
    /// Who (their addresses at that place). Not serialised: a listing shows `masked`.
    #[serde(skip)]
    pub subject: Subject,
    /// The addresses masked, for listings.
    pub masked: Vec<String>,
    /// Where: `processor:place` as configured.
    pub place: String,
    /// Their records there: only these are erased.
    pub records: Vec<dsrhub_connector::RecordRef>,
    /// When anything of theirs there last changed.
    pub last_activity: jiff::civil::Date,
}

/// What the `applicants` rule found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applicants {
    /// Procedures that ended before this day are past `policy.applicant_retention_weeks`.
    pub ended_before: Option<jiff::civil::Date>,
    /// Whom it selects.
    pub selected: Vec<SelectedApplicant>,
    /// Left out: on legal hold.
    pub held: usize,
    /// Left out: a request for them, or one acting on these records, is still open.
    pub open_request: usize,
    /// Left out: under a restriction of processing (art. 18) nobody has lifted: kept, not
    /// processed, until it is.
    pub restricted: usize,
    /// Places that could not be read, and why.
    pub unread: BTreeMap<String, String>,
}

/// What the `contract_ended` rule found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContractEnded {
    /// Agreements that ended before this day are past their retention.
    pub ended_before: Option<jiff::civil::Date>,
    /// Whom it selects, by address.
    pub selected: Vec<Selected>,
    /// Left out: on legal hold.
    pub held: usize,
    /// Left out: a request for them is still open.
    pub open_request: usize,
    /// Left out: under a restriction of processing (art. 18) nobody has lifted: kept, not
    /// processed, until it is.
    pub restricted: usize,
    /// Left out: another processor (or the same, for another record) still has an agreement
    /// running for this address.
    pub ongoing_elsewhere: usize,
    /// Processors that gave no signal for this rule, and why.
    pub no_signal: BTreeMap<String, String>,
}

/// The records one earlier request kept, past their retention.
#[derive(Debug, Clone, Serialize)]
pub struct KeptRecords {
    /// The earlier request (closed; its identifiers purged).
    pub request: String,
    /// Its records whose retention ended.
    pub records: Vec<Expired>,
}

/// What the `retained_expired` rule found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RetainedExpired {
    /// Records kept until a day before this one are past their retention.
    pub today: Option<jiff::civil::Date>,
    /// Per earlier request, its records to act on.
    pub requests: Vec<KeptRecords>,
    /// Left out: the earlier request's subject is on legal hold (requests).
    pub held: usize,
    /// Left out: a request for the same person is open (requests).
    pub open_request: usize,
    /// Left out: under a restriction of processing (art. 18) nobody has lifted: kept, not
    /// processed, until it is.
    pub restricted: usize,
    /// Left out while any legal hold exists: earlier requests that closed before dsrhub kept
    /// their hold keys, so a hold cannot be matched (their ids; a person checks them).
    pub hold_unknown: Vec<String>,
    /// Left out: records at processors no longer configured (processor, records).
    pub no_processor: BTreeMap<String, usize>,
}

impl Hub {
    /// What the rules `rules` switches on select today (nothing is opened or changed).
    pub async fn sweep(&self, rules: &crate::config::SweepConfig) -> Result<Sweep> {
        Ok(Sweep {
            contract_ended: if rules.contract_ended.enabled {
                Some(self.sweep_contract_ended().await?)
            } else {
                None
            },
            retained_expired: if rules.retained_expired.enabled {
                Some(self.sweep_retained_expired()?)
            } else {
                None
            },
            applicants: if rules.applicants.enabled {
                Some(self.sweep_applicants(&rules.applicants.places).await?)
            } else {
                None
            },
        })
    }

    /// Whom the `applicants` rule selects today at `places` (`processor:place`): each
    /// connector names the rejected applicants whose procedure there ended more than
    /// `policy.applicant_retention_weeks` ago, with their records at that place (nothing is
    /// opened or changed).
    pub async fn sweep_applicants(&self, places: &[String]) -> Result<Applicants> {
        let today = self.today()?;
        let weeks = i64::from(self.policy.applicant_retention_weeks);
        let ended_before = today
            .checked_sub(jiff::Span::new().days(weeks * 7))
            .map_err(|e| Error::Config(format!("policy.applicant_retention_weeks: {e}")))?;
        let mut found = Applicants {
            ended_before: Some(ended_before),
            ..Applicants::default()
        };
        let open = self.ledger.open_subject_keys()?;
        let restricted = self.ledger.restricted_subject_keys()?;
        for place in places {
            let Some((processor, name)) = place.split_once(':') else {
                found
                    .unread
                    .insert(place.clone(), "not `processor:place`".into());
                continue;
            };
            let Some(connector) = self
                .processors
                .iter()
                .find(|p| p.id == processor)
                .and_then(|p| p.connector.as_ref())
            else {
                found
                    .unread
                    .insert(place.clone(), "the processor is not configured".into());
                continue;
            };
            let applicants = match self
                .watched(processor, connector.applicants(name, ended_before))
                .await
            {
                Ok(Some(applicants)) => applicants,
                Ok(None) => {
                    found.unread.insert(
                        place.clone(),
                        "this connector has no place for applicants".into(),
                    );
                    continue;
                }
                Err(e) => {
                    found
                        .unread
                        .insert(place.clone(), format!("could not be read: {}", e.message));
                    continue;
                }
            };
            for applicant in applicants {
                let keys = crate::ledger::subject_hold_keys(&applicant.subject);
                if self.ledger.any_held(&keys)? {
                    found.held += 1;
                } else if keys.iter().any(|k| restricted.contains(k)) {
                    found.restricted += 1;
                } else if keys.iter().any(|k| open.contains(k))
                    || self
                        .ledger
                        .any_targeted_by_open(processor, &applicant.records)?
                {
                    found.open_request += 1;
                } else {
                    found.selected.push(SelectedApplicant {
                        masked: masked(&applicant.subject),
                        subject: applicant.subject,
                        place: place.clone(),
                        records: applicant.records,
                        last_activity: applicant.last_activity,
                    });
                }
            }
        }
        Ok(found)
    }

    /// Whom the `contract_ended` rule selects today (nothing is opened or changed).
    pub async fn sweep_contract_ended(&self) -> Result<ContractEnded> {
        let today = self.today()?;
        let months = self.policy.contract_retention_months;
        let ended_before = today
            .checked_sub(jiff::Span::new().months(months))
            .map_err(|e| Error::Config(format!("policy.contract_retention_months: {e}")))?;
        let mut sweep = ContractEnded {
            ended_before: Some(ended_before),
            ..ContractEnded::default()
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
                                masked: masked(&subject),
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
        let restricted = self.ledger.restricted_subject_keys()?;
        for (address, selected) in by_address {
            // One processor's ended agreement is not the end when another still has one.
            if ongoing.contains(&address) {
                sweep.ongoing_elsewhere += 1;
            } else if self.ledger.is_held(&address)? {
                sweep.held += 1;
            } else if crate::ledger::subject_hold_keys(&selected.subject)
                .iter()
                .any(|k| restricted.contains(k))
            {
                sweep.restricted += 1;
            } else if !self.ledger.open_requests_for(&selected.subject)?.is_empty() {
                sweep.open_request += 1;
            } else {
                sweep.selected.push(selected);
            }
        }
        Ok(sweep)
    }

    /// What the `retained_expired` rule selects today: records closed requests kept whose
    /// retention has ended, grouped by the request that kept them (nothing is opened or
    /// changed, and no processor is asked: the plan looks each record up).
    pub fn sweep_retained_expired(&self) -> Result<RetainedExpired> {
        let today = self.today()?;
        let mut found = RetainedExpired {
            today: Some(today),
            ..RetainedExpired::default()
        };
        let mut by_request: BTreeMap<String, Vec<Expired>> = BTreeMap::new();
        let mut order = Vec::new();
        for record in self.ledger.expired_retained(today)? {
            if !self
                .processors
                .iter()
                .any(|p| p.id == record.processor && p.connector.is_some())
            {
                *found.no_processor.entry(record.processor).or_insert(0) += 1;
                continue;
            }
            if !by_request.contains_key(&record.request_id) {
                order.push(record.request_id.clone());
            }
            by_request
                .entry(record.request_id.clone())
                .or_default()
                .push(record);
        }
        let holds = self.ledger.has_holds()?;
        let open = self.ledger.open_subject_keys()?;
        let restricted = self.ledger.restricted_subject_keys()?;
        for request in order {
            let keys = self.ledger.retained_keys(&request)?;
            if keys.is_empty() && holds {
                // Closed before the ledger kept hold keys: a hold cannot be ruled out.
                found.hold_unknown.push(request);
            } else if self.ledger.any_held(&keys)? {
                found.held += 1;
            } else if keys.iter().any(|k| restricted.contains(k)) {
                found.restricted += 1;
            } else if keys.iter().any(|k| open.contains(k)) {
                found.open_request += 1;
            } else {
                let records = by_request.remove(&request).unwrap_or_default();
                found.requests.push(KeptRecords { request, records });
            }
        }
        Ok(found)
    }

    /// Open one batch of erasure requests for everything `sweep` selects (its id), or `None`
    /// when it selects nothing: a request per person the `contract_ended` rule selects, then
    /// one per earlier request whose kept records the `retained_expired` rule selects. Run it
    /// with [`Hub::run_batch`] for the dry run a person approves.
    pub fn open_sweep(&self, sweep: &Sweep) -> Result<Option<String>> {
        let rules = sweep.rules_selecting();
        if rules.is_empty() {
            return Ok(None);
        }
        let batch = self.ledger.create_batch(
            RequestKind::Erasure,
            &format!("sweep: {}", rules.join(", ")),
        )?;
        let mut line = 0;
        if let Some(found) = sweep.contract_ended.as_ref() {
            let identity = format!(
                "not a request of the subject: selected by the sweep's {CONTRACT_ENDED} rule \
                 (agreement ended before {})",
                found
                    .ended_before
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            );
            for s in found.selected.iter().take(super::batch::MAX_SUBJECTS) {
                line += 1;
                let id = self.open(RequestKind::Erasure, &s.subject, &identity)?;
                self.ledger.add_to_batch(&batch, &id, line)?;
            }
        }
        if let Some(found) = sweep.retained_expired.as_ref() {
            // A batch holds at most `MAX_SUBJECTS`: the rest is selected again next time.
            for kept in found
                .requests
                .iter()
                .take(super::batch::MAX_SUBJECTS.saturating_sub(line))
            {
                line += 1;
                let last = kept.records.iter().map(|r| r.retain_until).max();
                let why = format!(
                    "not a request of the subject: records request {} kept until {}, selected \
                     by the sweep's {RETAINED_EXPIRED} rule",
                    kept.request,
                    last.map(|d| d.to_string()).unwrap_or_default()
                );
                let targets: Vec<Target> = kept.records.iter().map(Target::from).collect();
                let id = self.open_targeted(&targets, &[], &why)?;
                self.ledger.add_to_batch(&batch, &id, line)?;
            }
        }
        if let Some(found) = sweep.applicants.as_ref() {
            for applicant in found
                .selected
                .iter()
                .take(super::batch::MAX_SUBJECTS.saturating_sub(line))
            {
                line += 1;
                let processor = applicant
                    .place
                    .split_once(':')
                    .map(|(p, _)| p)
                    .unwrap_or_default();
                let targets: Vec<Target> = applicant
                    .records
                    .iter()
                    .map(|reference| Target {
                        processor: processor.to_string(),
                        reference: reference.clone(),
                        kept_by: None,
                        retention_decided: true,
                    })
                    .collect();
                let why = format!(
                    "not a request of the subject: a rejected applicant's data at {}, unchanged \
                     since {}, selected by the sweep's {APPLICANTS} rule",
                    applicant.place, applicant.last_activity
                );
                let id = self.open_targeted(
                    &targets,
                    &crate::ledger::subject_hold_keys(&applicant.subject),
                    &why,
                )?;
                self.ledger.add_to_batch(&batch, &id, line)?;
            }
        }
        Ok(Some(batch))
    }
}

/// `subject`'s addresses masked (`k•••r@e•••e.nl`), for listings.
fn masked(subject: &Subject) -> Vec<String> {
    subject
        .emails
        .iter()
        .map(|e| crate::identifiers::mask_email(e))
        .collect()
}

/// Whether a batch of this origin was opened by the sweep (its requests get no reply: the
/// subjects did not ask).
pub fn is_sweep(origin: &str) -> bool {
    origin.starts_with("sweep: ")
}
