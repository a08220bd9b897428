//! The trait every processor connector implements.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::error::ConnectorError;
use crate::model::{
    Description, EraseAction, EraseOutcome, Exported, Health, Inventory, Letter, LetterRequest,
    Lookup, Portable, Record, RecordRef, Subject,
};
use crate::rights::{Change, FieldChange, Proposal};

/// One processor. A connector knows nothing about other connectors, the ledger, the policy or
/// reports: it finds, exports and erases records in its own vendor, through the SDK's HTTP
/// client, and says how each record matched.
///
/// `Debug` is required so the test kit can prove no secret leaks through it.
#[async_trait]
pub trait Connector: Send + Sync + Debug {
    /// Who this is and what it can do. Cheap, no I/O.
    fn describe(&self) -> Description;

    /// Credentials valid, API reachable, rate-limit headroom.
    async fn check(&self) -> Result<Health, ConnectorError>;

    /// Every record that belongs to the subject, with how it matched. Exact e-mail matches
    /// and their linked records may later be erased; phone and name matches are only
    /// reported for review.
    async fn discover(&self, subject: &Subject) -> Result<Vec<Record>, ConnectorError>;

    /// Discovery that hands each record to `sink` as soon as it is known, for processors where
    /// one subject may have very many records (a mailbox with 100,000 messages): the hub stores
    /// them as they come instead of holding them all. A record may be handed over twice (the
    /// hub keeps the first); a sink error stops discovery. The default runs
    /// [`Connector::discover`] and hands its records over.
    async fn discover_each(
        &self,
        subject: &Subject,
        sink: &mut (dyn FnMut(Record) -> Result<(), ConnectorError> + Send),
    ) -> Result<(), ConnectorError> {
        for record in self.discover(subject).await? {
            sink(record)?;
        }
        Ok(())
    }

    /// Discovery for several subjects at once, one result per subject in the same order.
    /// Connectors whose vendor can search many identifiers in one query (Autotask's `or`
    /// groups, IT Glue's full scan) override this; the default asks one by one.
    async fn discover_batch(
        &self,
        subjects: &[Subject],
    ) -> Result<Vec<Vec<Record>>, ConnectorError> {
        let mut results = Vec::with_capacity(subjects.len());
        for subject in subjects {
            results.push(self.discover(subject).await?);
        }
        Ok(results)
    }

    /// The full record, for an access request.
    async fn export(&self, record: &RecordRef) -> Result<Exported, ConnectorError>;

    /// Several full records, one result per record in the same order. The hub exports in
    /// chunks and writes each chunk to the export before asking for the next, so memory stays
    /// flat however many records match. Connectors whose vendor can fetch many records in one
    /// call (Graph's `$batch`) override this; the default exports one by one.
    async fn export_batch(&self, records: &[RecordRef]) -> Vec<Result<Exported, ConnectorError>> {
        let mut results = Vec::with_capacity(records.len());
        for record in records {
            results.push(self.export(record).await);
        }
        results
    }

    /// Delete or anonymise one record. Idempotent: a record that is already gone is
    /// [`EraseOutcome::AlreadyGone`], not an error. A vendor refusal is
    /// [`crate::ErrorKind::Conflict`].
    async fn erase(
        &self,
        record: &RecordRef,
        action: &EraseAction,
    ) -> Result<EraseOutcome, ConnectorError>;

    /// Erase several records, one result per record in the same order. Connectors whose vendor
    /// only deletes in bulk (IT Glue) override this; the default erases one by one, in order.
    async fn erase_batch(
        &self,
        items: &[(RecordRef, EraseAction)],
    ) -> Vec<Result<EraseOutcome, ConnectorError>> {
        let mut results = Vec::with_capacity(items.len());
        for (record, action) in items {
            results.push(self.erase(record, action).await);
        }
        results
    }

    /// Counts per object type, for the processor register.
    async fn inventory(&self) -> Result<Inventory, ConnectorError>;

    /// The people whose data this processor holds for an agreement that ended before
    /// `ended_before` (the sweep's `contract_ended` rule), each with the day it ended and what
    /// said so; and every address it knows under an agreement that has not (the sweep leaves
    /// those alone whatever another processor says). `None` (the default): this processor has
    /// no signal for the end of an agreement, and the sweep says so rather than guessing.
    async fn contracts_ended(
        &self,
        _ended_before: jiff::civil::Date,
    ) -> Result<Option<crate::ContractSignals>, ConnectorError> {
        Ok(None)
    }

    /// The rejected applicants whose data this processor keeps at `place` (a place the
    /// configuration names, in this connector's terms: an IT Glue organisation, say) and whose
    /// procedure ended before `ended_before` (the sweep's `applicants` rule). Only the records
    /// at that place are theirs to erase. `None` (the default): this connector has no such
    /// place, and the sweep says so.
    async fn applicants(
        &self,
        _place: &str,
        _ended_before: jiff::civil::Date,
    ) -> Result<Option<Vec<crate::Applicant>>, ConnectorError> {
        Ok(None)
    }

    /// The record at `reference` as discovery would describe it today, found by its id alone:
    /// for records an earlier request kept for a legal duty, acted on once that duty ended
    /// (the sweep's `retained_expired` rule), when the subject's identifiers are long purged.
    /// Its retention, erasability and ownership are read afresh (a duty may have been
    /// extended, a record shared since). [`Lookup::Unsupported`] (the default): this
    /// connector cannot, and the sweep leaves the record to a person.
    async fn lookup(&self, _reference: &RecordRef) -> Result<Lookup, ConnectorError> {
        Ok(Lookup::Unsupported)
    }

    /// Which part of an exported record of type `object` the person provided under consent
    /// or contract, for a portable export (art. 20; `dsrhub access --portable`). The default,
    /// [`Portable::All`], leaves records whole: more than the right asks, never less.
    fn portable(&self, _object: &str) -> Portable {
        Portable::All
    }

    /// What `change` (a rectification, restriction, its lifting, an objection) would do to
    /// `record`, read from the vendor now: the vendor fields that change, from what to what
    /// (see [`crate::rights`]). Asked once to plan, and again after [`Connector::apply`] to
    /// verify (then [`Proposal::Unchanged`] is expected). `None` (the default): this connector
    /// cannot make such changes, and a person makes them in the processor.
    async fn propose(
        &self,
        _record: &RecordRef,
        _change: &Change,
    ) -> Result<Option<Proposal>, ConnectorError> {
        Ok(None)
    }

    /// Write `changes` (their `to` values) to `record`, as [`Connector::propose`] planned
    /// them and a person approved. Idempotent: writing values a record already has succeeds.
    /// A vendor refusal is [`crate::ErrorKind::Conflict`]; a record that is gone is
    /// [`crate::ErrorKind::NotFound`].
    async fn apply(
        &self,
        _record: &RecordRef,
        _changes: &[FieldChange],
    ) -> Result<(), ConnectorError> {
        Err(ConnectorError::permanent(
            "this connector does not change records; a person makes the change in the processor",
        ))
    }

    /// Whether `record` (as [`Connector::export`] returns it) already shows the anonymisation
    /// of `fields`: asked before an anonymisation whose outcome a crash lost is sent again, so
    /// it is not repeated. `None` (the default): this connector cannot tell, and the hub
    /// decides from the fields being empty.
    fn shows_anonymized(&self, _record: &Exported, _fields: &[String]) -> Option<bool> {
        None
    }

    /// Whether `record`, erased with [`EraseOutcome::SoftDeleted`], is still restorable at the
    /// vendor: asked after its restorable period, to confirm the vendor purged it. The default
    /// (`false`) suits connectors that never soft-delete.
    ///
    /// [`EraseOutcome::SoftDeleted`]: crate::EraseOutcome::SoftDeleted
    async fn still_restorable(&self, _record: &RecordRef) -> Result<bool, ConnectorError> {
        Ok(false)
    }

    /// Whether this processor is asked by letter instead of through an API (then
    /// [`Connector::request_letter`] gives the letter, and discovery finds nothing).
    fn by_letter(&self) -> bool {
        false
    }

    /// For a processor without an API: the letter that asks it to carry out the request.
    /// `None` (the default) for processors the hub reaches through their API.
    async fn request_letter(
        &self,
        _request: &LetterRequest<'_>,
    ) -> Result<Option<Letter>, ConnectorError> {
        Ok(None)
    }
}
