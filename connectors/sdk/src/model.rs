//! The data model shared by connectors and the hub.
//!
//! A [`Record`] says *that* a processor holds something about the subject and how it matched;
//! it deliberately carries no field values, so plans, ledgers and reports never hold personal
//! data. Field values only travel in [`Exported`] (access requests), straight into the export.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The person a request is about: the verified identifiers to search for.
///
/// `Debug` prints counts only, so a subject can never leak into a log line by accident.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// E-mail addresses. Exact (case-insensitive) matches on these may be erased.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Phone numbers. Matches are reported for review, never erased.
    #[serde(default)]
    pub phones: Vec<String>,
    /// Full names. Matches are reported for review, never erased.
    #[serde(default)]
    pub names: Vec<String>,
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("emails", &self.emails.len())
            .field("phones", &self.phones.len())
            .field("names", &self.names.len())
            .finish()
    }
}

impl Subject {
    /// Whether `candidate` equals one of the subject's e-mail addresses. Comparison is exact
    /// after trimming and ASCII lower-casing (domains are case-insensitive and vendors store
    /// local parts inconsistently); nothing else is normalised, so `jan+x@` ≠ `jan@`.
    pub fn has_email(&self, candidate: &str) -> bool {
        let candidate = normalize_email(candidate);
        !candidate.is_empty() && self.emails.iter().any(|e| normalize_email(e) == candidate)
    }

    /// Whether `candidate` equals one of the subject's phone numbers, comparing digits only
    /// (with a leading `+` or `00` treated alike, and a Dutch leading `0` as `31`).
    pub fn has_phone(&self, candidate: &str) -> bool {
        let candidate = normalize_phone(candidate);
        candidate.len() >= 6 && self.phones.iter().any(|p| normalize_phone(p) == candidate)
    }

    /// Whether `candidate` equals one of the subject's names (case- and space-insensitive).
    pub fn has_name(&self, candidate: &str) -> bool {
        let candidate = normalize_name(candidate);
        !candidate.is_empty() && self.names.iter().any(|n| normalize_name(n) == candidate)
    }

    /// Whether the subject has no identifier at all.
    pub fn is_empty(&self) -> bool {
        self.emails.is_empty() && self.phones.is_empty() && self.names.is_empty()
    }
}

fn normalize_email(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

fn normalize_phone(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("31{rest}")
    } else {
        digits
    }
}

fn normalize_name(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Personal-data categories, as the privacy policy lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Names.
    Name,
    /// Postal addresses.
    Address,
    /// Gender.
    Gender,
    /// Dates of birth.
    BirthDate,
    /// Phone numbers.
    Phone,
    /// E-mail addresses.
    Email,
    /// Bank account numbers (IBAN).
    Iban,
    /// Job titles.
    JobTitle,
    /// Company information.
    Company,
    /// Content of correspondence.
    Correspondence,
    /// Amounts, invoice lines and other bookkeeping data.
    Financial,
}

/// How a record was tied to the subject. Only some kinds allow erasure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// An e-mail field equals one of the subject's verified addresses.
    ExactEmail,
    /// A vendor id the requester verified.
    VendorId,
    /// Belongs to a record that matched exactly (e.g. an invoice of a matched contact).
    Linked,
    /// A phone field equals one of the subject's numbers: reported for review only.
    Phone,
    /// Only the name matched: reported for review only.
    Name,
}

impl MatchKind {
    /// Whether erasure may act on a record matched this way (safety rule: exact matches of
    /// verified identifiers only).
    pub fn allows_erasure(self) -> bool {
        matches!(
            self,
            MatchKind::ExactEmail | MatchKind::VendorId | MatchKind::Linked
        )
    }

    /// How strong the tie to the subject is; a record found several ways keeps the strongest.
    pub fn strength(self) -> u8 {
        match self {
            MatchKind::ExactEmail | MatchKind::VendorId => 3,
            MatchKind::Linked => 2,
            MatchKind::Phone => 1,
            MatchKind::Name => 0,
        }
    }

    /// Every kind.
    pub const ALL: [MatchKind; 5] = [
        MatchKind::ExactEmail,
        MatchKind::VendorId,
        MatchKind::Linked,
        MatchKind::Phone,
        MatchKind::Name,
    ];

    /// The kind named by `text` ([`MatchKind::as_str`]), if any.
    pub fn parse(text: &str) -> Option<MatchKind> {
        MatchKind::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::ExactEmail => "exact_email",
            MatchKind::VendorId => "vendor_id",
            MatchKind::Linked => "linked",
            MatchKind::Phone => "phone",
            MatchKind::Name => "name",
        }
    }
}

/// Points at one record in one processor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordRef {
    /// The vendor's object type, e.g. `contact`, `sales_invoice`.
    pub object: String,
    /// The vendor's id of the record.
    pub id: String,
    /// The parent the vendor needs to address the record (e.g. the contact of a contact
    /// person, the company of an Autotask contact), when it needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl RecordRef {
    /// A reference without a scope.
    pub fn new(object: impl Into<String>, id: impl Into<String>) -> Self {
        RecordRef {
            object: object.into(),
            id: id.into(),
            scope: None,
        }
    }

    /// The same reference with a parent scope.
    pub fn scoped(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The id as a number, for vendors with numeric ids; a tampered id is refused.
    pub fn numeric_id(&self) -> Result<u64, crate::ConnectorError> {
        self.id.parse().map_err(|_| {
            crate::ConnectorError::invalid(format!("{} needs a numeric id", self.object))
        })
    }

    /// The scope (parent id) as a number, for vendors that address records under a parent.
    pub fn numeric_scope(&self) -> Result<u64, crate::ConnectorError> {
        self.scope
            .as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                crate::ConnectorError::invalid(format!(
                    "{} needs its numeric parent id as scope",
                    self.object
                ))
            })
    }
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Some(scope) => write!(f, "{}:{}/{}", self.object, scope, self.id),
            None => write!(f, "{}:{}", self.object, self.id),
        }
    }
}

/// Why a record may have to be kept, as the connector knows it from the vendor's data.
/// The hub's policy turns this into a retention decision and date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RetentionHint {
    /// A fiscally relevant document (invoice) dated `document_date`.
    Fiscal {
        /// The document's date.
        document_date: Date,
    },
    /// Data tied to a contract (a customer's contact under a service contract, a subscription):
    /// `ended` is when the last contract ended, `None` while one runs.
    Contract {
        /// When the contract ended; `None` while it runs.
        ended: Option<Date>,
        /// While it runs: the end date it names, if any (`None`: runs until cancelled).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        runs_until: Option<Date>,
    },
    /// Questions and correspondence; `closed` is when the matter closed, `None` while open.
    /// Content of correspondence.
    Correspondence {
        /// When the matter closed; `None` while it is open.
        closed: Option<Date>,
    },
}

/// One contract (a service contract, a subscription, a recurring invoice) as a connector reads
/// it from its vendor, for [`RetentionHint::from_contracts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractPeriod {
    /// When it was stopped (cancelled, deactivated), if it was; a stopped contract whose stop
    /// date the vendor does not keep gives its best known date.
    pub stopped_on: Option<Date>,
    /// The end date it names, if any.
    pub ends: Option<Date>,
}

impl RetentionHint {
    /// What a record's contracts say about its retention: [`RetentionHint::Contract`] running
    /// while any of them is not stopped and has not passed its end date (with the latest end
    /// date, or none when one runs without), else ended on the latest date any of them
    /// stopped or ended (never later than `today`). `None` without contracts: no contract
    /// data.
    pub fn from_contracts(contracts: &[ContractPeriod], today: Date) -> Option<RetentionHint> {
        let running: Vec<&ContractPeriod> = contracts
            .iter()
            .filter(|c| c.stopped_on.is_none() && c.ends.is_none_or(|end| end >= today))
            .collect();
        if !running.is_empty() {
            let ends: Option<Vec<Date>> = running.iter().map(|c| c.ends).collect();
            return Some(RetentionHint::Contract {
                ended: None,
                runs_until: ends.and_then(|e| e.into_iter().max()),
            });
        }
        let ended = contracts
            .iter()
            .map(|c| {
                [c.stopped_on, c.ends]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(today)
                    .min(today)
            })
            .max()?;
        Some(RetentionHint::Contract {
            ended: Some(ended),
            runs_until: None,
        })
    }
}

/// What the vendor lets us do with a record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasability {
    /// The vendor offers deletion for this object type.
    pub delete: bool,
    /// Why deletion will be refused for this record (e.g. "linked to 2 sales invoices"), so
    /// the hub plans anonymisation instead of provoking a failed call.
    pub delete_blocked: Option<String>,
    /// The personal fields that can be cleared when deleting is not possible.
    pub anonymize_fields: Vec<String>,
}

/// Whose record it is. An exact e-mail match says whose address it is, not whose record:
/// only the subject's own record is erased; a shared record is anonymised as far as the
/// subject's part allows, else retained or reviewed; an organisation's record is reviewed.
/// The reasons name no person (counts and roles only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "why")]
pub enum Ownership {
    /// The subject's own record (their contact, their account, a message only they and the
    /// organisation's mailbox owner are party to).
    #[default]
    Own,
    /// Shared with other people: a message with other senders or recipients, a ticket with
    /// other contacts. Says with whom, as a count or role.
    Shared(String),
    /// An organisation's record reached through a role or company address, or a company
    /// contact that holds several people. Says why.
    Organisation(String),
}

impl Ownership {
    /// Whether the record is the subject's own.
    pub fn is_own(&self) -> bool {
        matches!(self, Ownership::Own)
    }
}

/// Local parts that name a role or a department, not a person (`info@`, `facturen@`).
const ROLE_LOCAL_PARTS: &[&str] = &[
    "admin",
    "administratie",
    "billing",
    "boekhouding",
    "contact",
    "factuur",
    "facturatie",
    "facturen",
    "finance",
    "financien",
    "hallo",
    "hello",
    "helpdesk",
    "hr",
    "info",
    "invoices",
    "kantoor",
    "mail",
    "no-reply",
    "noreply",
    "office",
    "post",
    "privacy",
    "receptie",
    "sales",
    "secretariaat",
    "service",
    "support",
    "team",
    "verkoop",
];

/// Whether `email` is a role address (`info@company`), which belongs to an organisation, not
/// to the person who asks.
pub fn is_role_address(email: &str) -> bool {
    email
        .trim()
        .rsplit_once('@')
        .is_some_and(|(local, _)| ROLE_LOCAL_PARTS.contains(&local.to_ascii_lowercase().as_str()))
}

/// One thing a processor holds about the subject. No field values: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Where it lives.
    pub reference: RecordRef,
    /// How it matched the subject.
    pub matched_by: MatchKind,
    /// Which personal-data categories it holds.
    pub categories: Vec<Category>,
    /// The record it belongs to, when it was found through another record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_to: Option<RecordRef>,
    /// Why it may have to be kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionHint>,
    /// What the vendor allows.
    pub erasability: Erasability,
    /// Whose record it is: only the subject's own is erased.
    #[serde(default, skip_serializing_if = "Ownership::is_own")]
    pub ownership: Ownership,
    /// Facts that let a person recognise the record without its content: a folder, a date,
    /// a size, a hash of a subject line (Graph messages). Never a field value of the record.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub descriptor: std::collections::BTreeMap<String, String>,
}

/// Records found for one subject, one per reference, keeping the strongest match when a record
/// is found several ways (by e-mail and by name, say).
#[derive(Debug, Default)]
pub struct Findings(BTreeMap<RecordRef, Record>);

impl Findings {
    /// Add a record, unless it is already there with an equal or stronger match.
    pub fn add(&mut self, record: Record) {
        match self.0.get(&record.reference) {
            Some(existing) if existing.matched_by.strength() >= record.matched_by.strength() => {}
            _ => {
                self.0.insert(record.reference.clone(), record);
            }
        }
    }

    /// The record at `reference`, to adjust it.
    pub fn get_mut(&mut self, reference: &RecordRef) -> Option<&mut Record> {
        self.0.get_mut(reference)
    }

    /// All records, ordered by reference.
    pub fn iter(&self) -> impl Iterator<Item = &Record> {
        self.0.values()
    }

    /// All records, ordered by reference.
    pub fn into_vec(self) -> Vec<Record> {
        self.0.into_values().collect()
    }
}

/// What to do to one record during erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum EraseAction {
    /// Remove the record.
    Delete,
    /// Clear or replace these personal fields and, where the vendor has one, deactivate it.
    /// Anonymise instead of deleting.
    Anonymize {
        /// The personal fields to clear or replace.
        fields: Vec<String>,
    },
}

/// What an erase call achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EraseOutcome {
    /// The record was removed now.
    Deleted,
    /// The record was already gone (404/410): erasure is idempotent.
    AlreadyGone,
    /// Removed from the vendor's live data, but restorable until `restorable_until` (a
    /// recycle bin the vendor empties by itself, which the hub's credentials may not empty:
    /// a Microsoft 365 user in `directory/deletedItems`). Reported with that date.
    SoftDeleted {
        /// The last day it can be restored; the vendor purges it after.
        restorable_until: Date,
    },
    /// These fields were cleared or replaced.
    Anonymized {
        /// The fields that were cleared or replaced.
        fields: Vec<String>,
    },
}

/// One record's full content, for an access request. Holds personal data: it goes to the
/// export and nowhere else.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Exported {
    /// Which record this is.
    pub reference: RecordRef,
    /// The vendor's representation, as returned by its API.
    pub data: serde_json::Value,
}

impl fmt::Debug for Exported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exported")
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

/// Which part of a record is the person's to take with them (art. 20): the data they
/// provided, processed under their consent or a contract with them (see
/// [`crate::Connector::portable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Portable {
    /// The whole record (the connector does not narrow it).
    All,
    /// These top-level fields of the exported record; the rest (keys, flags the organisation
    /// set, what its staff wrote) is left out.
    Fields(&'static [&'static str]),
    /// None of it, and why: the organisation made the record, or keeps it under a legal
    /// duty rather than a contract or consent (an issued invoice).
    Not(&'static str),
}

/// What a connector can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Find and export (art. 15/20).
    Access,
    /// Delete (art. 17).
    Erase,
    /// Anonymise instead of deleting.
    Anonymize,
    /// Restrict processing (art. 18).
    Restrict,
    /// Correct data (art. 16).
    Rectify,
    /// Set the vendor's own opt-out flag for a purpose (art. 21).
    Object,
}

/// Where a processor keeps its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataLocation {
    /// Human description, e.g. "EU (Netherlands)".
    pub region: String,
    /// Whether that is inside the EEA.
    pub eea: bool,
}

/// A connector's self-description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    /// Stable id, e.g. `moneybird`.
    pub id: String,
    /// Display name, e.g. `Moneybird`.
    pub display_name: String,
    /// What it can do.
    pub capabilities: Vec<Capability>,
    /// Which categories of personal data the processor can hold.
    pub categories: Vec<Category>,
    /// Where the data lives.
    pub location: DataLocation,
}

/// Result of [`crate::Connector::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Credentials were accepted.
    pub authenticated: bool,
    /// Requests left in the vendor's current rate-limit window, when the vendor says.
    pub rate_limit_remaining: Option<u64>,
    /// One line for people, e.g. "administration 123 reachable".
    pub detail: String,
}

/// Result of [`crate::Connector::inventory`]: counts per object type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Number of records per object type.
    pub counts: BTreeMap<String, u64>,
    /// Where the data lives.
    pub location: DataLocation,
}

/// What a processor without an API needs to be asked by letter (see
/// [`crate::Connector::request_letter`]).
#[derive(Debug, Clone)]
pub struct LetterRequest<'a> {
    /// The organisation asking (the controller, or the processor passing the request on).
    pub organisation: &'a str,
    /// Where answers go.
    pub reply_to: &'a str,
    /// The request's id, to quote in the answer.
    pub request_id: &'a str,
    /// Erasure (`true`) or access (`false`), when `change` is `None`.
    pub erasure: bool,
    /// The change asked instead of access or erasure: a rectification (with the corrected
    /// values, which the processor needs), a restriction, its lifting
    /// ([`crate::Change::Restore`]) or an objection.
    pub change: Option<&'a crate::Change>,
    /// Who it is about. A letter carries the minimum: the e-mail addresses.
    pub subject: &'a Subject,
    /// The request's own deadline; a letter never asks for later.
    pub request_due: Date,
    /// Today, in the organisation's time zone.
    pub today: Date,
}

/// A request letter, ready to send or to write as an `.eml` file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Letter {
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The date the answer is needed by.
    pub answer_by: Date,
    /// `nl` or `en`.
    pub language: String,
}

impl fmt::Debug for Letter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Letter")
            .field("recipients", &self.to.len())
            .field("answer_by", &self.answer_by)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn contracts_run_until_stopped_or_past_their_end() {
        let today = date(2026, 12, 6);
        let period = |stopped_on, ends| ContractPeriod { stopped_on, ends };
        let running = |runs_until| {
            Some(RetentionHint::Contract {
                ended: None,
                runs_until,
            })
        };
        let ended = |d| {
            Some(RetentionHint::Contract {
                ended: Some(d),
                runs_until: None,
            })
        };
        assert_eq!(RetentionHint::from_contracts(&[], today), None);
        // Ends today: still runs today.
        assert_eq!(
            RetentionHint::from_contracts(&[period(None, Some(today))], today),
            running(Some(today))
        );
        // The latest end among the running; none when one has no end.
        let until_2030 = period(None, Some(date(2030, 12, 31)));
        let past = period(None, Some(date(2026, 6, 30)));
        assert_eq!(
            RetentionHint::from_contracts(&[until_2030, past], today),
            running(Some(date(2030, 12, 31)))
        );
        assert_eq!(
            RetentionHint::from_contracts(&[until_2030, period(None, None)], today),
            running(None)
        );
        // Ended: the latest of each one's earliest stop or end, never after today.
        let cancelled = period(Some(date(2025, 3, 31)), Some(date(2030, 6, 30)));
        assert_eq!(
            RetentionHint::from_contracts(&[past, cancelled], today),
            ended(date(2026, 6, 30))
        );
        let stopped_later = period(Some(date(2027, 1, 1)), None);
        assert_eq!(
            RetentionHint::from_contracts(&[stopped_later], today),
            ended(today)
        );
    }
}

/// What a processor says about the end of its customers' agreements (see
/// [`crate::Connector::contracts_ended`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractSignals {
    /// The people whose agreement ended before the cutoff.
    pub ended: Vec<EndedContract>,
    /// Every address this processor knows under an agreement that has not ended before the
    /// cutoff (running, or ended since), a company's own address included: an address here
    /// must not be swept on another processor's word.
    pub ongoing: Vec<String>,
}

/// Someone whose data a processor holds for an agreement that has ended (see
/// [`crate::Connector::contracts_ended`]).
/// `Debug` shows the subject as counts only (see [`Subject`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedContract {
    /// Who: the addresses the processor has for them.
    pub subject: Subject,
    /// The day the agreement ended, as far as the processor can tell.
    pub ended_on: jiff::civil::Date,
    /// What said so, without personal data ("last invoice 2023-08-22; subscription stopped
    /// 2023-06-30").
    pub signal: String,
}

/// A record looked up by its id (see [`crate::Connector::lookup`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The record as discovery describes it today: its retention, erasability and ownership
    /// read afresh, `matched_by` [`MatchKind::VendorId`] (an earlier request matched it
    /// exactly and kept its id as evidence).
    Found(Box<Record>),
    /// The vendor no longer has it.
    Gone,
    /// This connector cannot look this kind of record up by id: a person checks it in the
    /// processor.
    Unsupported,
}

/// A rejected applicant whose data a processor keeps at a configured place (see
/// [`crate::Connector::applicants`]). `Debug` shows the subject as counts only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    /// Who: the addresses the processor has for them (may be empty: then no legal hold can
    /// name them).
    pub subject: Subject,
    /// Their records at that place: only these are erased, whatever else the processor holds
    /// about the same person (an applicant may also be a customer's employee).
    pub records: Vec<RecordRef>,
    /// The last day anything of theirs there changed: the procedure's end, as far as the
    /// processor can tell.
    pub last_activity: jiff::civil::Date,
}
