//! Requests targeted at records instead of a subject: what earlier requests kept for a legal
//! duty, acted on by id once the duty ended (the sweep's `retained_expired` rule,
//! `crate::ledger::Expired`).
//!
//! Such a request has no identifiers to search with: its "discovery", at planning and again at
//! verification, looks each record up by id ([`Connector::lookup`]), and the policy decides
//! afresh what the record's retention allows today. A record the processor no longer has is
//! simply not found; one its connector cannot look up is planned for a person to check.

use std::sync::Arc;

use dsrhub_connector::{
    Connector, ConnectorError, Erasability, Lookup, MatchKind, Ownership, Record, RecordRef,
    Subject,
};

use super::Hub;
use crate::error::Result;
use crate::ledger::{IdentityNote, NewItem, Target};

/// The descriptor a record gets when its connector cannot look it up by id.
const NOT_LOOKED_UP: (&str, &str) = ("looked up", "not possible through this processor's API");

/// What the plan says about such a record.
const CHECK_BY_HAND: &str = "kept by an earlier request until its retention ended; dsrhub \
    cannot look it up by id at this processor: find it there, remove it unless something else \
    requires keeping it, and record that";

impl Hub {
    /// The records request `id` acts on at `processor` when it is targeted at records (the
    /// sweep's `retained_expired` rule), `None` when it searches for its subject. A request
    /// without any identifier is always treated as targeted: a processor is never asked to
    /// search for nobody.
    pub(super) fn targets_of(
        &self,
        id: &str,
        processor: &str,
        subject: &Subject,
    ) -> Result<Option<Vec<(RecordRef, bool)>>> {
        if is_nobody(subject) || self.ledger.is_targeted(id)? {
            return Ok(Some(self.ledger.targets(id, processor)?));
        }
        Ok(None)
    }

    /// Open an erasure request for `targets`, with no subject; `keys` are the hold keys of
    /// the people the records are about, `why` says what selected them (the identity note).
    /// Its id.
    pub(super) fn open_targeted(
        &self,
        targets: &[Target],
        keys: &[String],
        why: &str,
    ) -> Result<String> {
        let received = crate::ledger::now();
        let due =
            crate::deadline::add_months(received, self.policy.response_months, &self.timezone)?;
        self.ledger.create_targeted_request(
            crate::ledger::RequestKind::Erasure,
            IdentityNote {
                how: why,
                by: "dsrhub sweep",
            },
            (received, due),
            &self.new_tasks(),
            targets,
            keys,
        )
    }
}

/// Whether `subject` has no identifier at all (a request targeted at records).
pub(super) fn is_nobody(subject: &Subject) -> bool {
    subject.emails.is_empty() && subject.phones.is_empty() && subject.names.is_empty()
}

/// Hand each of `targets` to `sink` as `connector` finds it by id today; a target whose
/// retention the selecting rule decided (`true`) loses the record's own retention hint.
pub(super) async fn look_up_each(
    connector: &Arc<dyn Connector>,
    targets: &[(RecordRef, bool)],
    sink: &mut (dyn FnMut(Record) -> std::result::Result<(), ConnectorError> + Send),
) -> std::result::Result<(), ConnectorError> {
    for (target, retention_decided) in targets {
        match connector.lookup(target).await? {
            Lookup::Found(record) => {
                let mut record = *record;
                // Only the record the ledger names is acted on, and it was an exact match of
                // the earlier request (or named by the rule): whatever the connector says,
                // that is what it is.
                record.reference = target.clone();
                record.matched_by = MatchKind::VendorId;
                if *retention_decided {
                    // A rejected applicant's mail is applicant data, gone weeks after the
                    // procedure, not correspondence kept for a year.
                    record.retention = None;
                }
                sink(record)?;
            }
            Lookup::Gone => {}
            Lookup::Unsupported => sink(check_by_hand(target))?,
        }
    }
    Ok(())
}

/// A record its connector cannot look up: planned as an exact match no API can erase, so the
/// request waits until a person has checked it and recorded what they did.
fn check_by_hand(target: &RecordRef) -> Record {
    Record {
        reference: target.clone(),
        matched_by: MatchKind::VendorId,
        categories: Vec::new(),
        linked_to: None,
        retention: None,
        erasability: Erasability {
            delete: false,
            delete_blocked: None,
            anonymize_fields: Vec::new(),
        },
        ownership: Ownership::Own,
        descriptor: [(NOT_LOOKED_UP.0.to_string(), NOT_LOOKED_UP.1.to_string())].into(),
    }
}

/// `item` planned for `record`, saying why a person must check it when its connector could not
/// look it up.
pub(super) fn explain(record: &Record, mut item: NewItem) -> NewItem {
    if record.descriptor.get(NOT_LOOKED_UP.0).map(String::as_str) == Some(NOT_LOOKED_UP.1) {
        item.note = Some(CHECK_BY_HAND.into());
    }
    item
}
