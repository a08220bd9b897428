//! The [`Connector`] implementation.

use std::collections::BTreeMap;
use std::sync::Arc;

use dsrhub_connector::http::{BearerSecret, HttpClient};
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::{
    async_trait, Capability, Category, Connector, ConnectorError, ContractSignals, DataLocation,
    Description, EndedContract, EraseAction, EraseOutcome, ErrorKind, Exported, Findings, Health,
    Inventory, Lookup, MatchKind, Ownership, Record, RecordRef, Subject,
};
use dsrhub_connector::{Change, FieldChange, Portable, Proposal};
use serde_json::Value;

use crate::api::{self, Api};
use crate::config::MoneybirdConfig;
use crate::mapping::{self, CONTACT, CONTACT_PERSON, SALES_INVOICE};

/// The Moneybird connector for one administration.
#[derive(Debug)]
pub struct Moneybird {
    api: Api,
    scan_contact_people: bool,
}

impl Moneybird {
    /// Build from settings; resolves the token now so a missing secret is reported at start.
    pub fn new(config: MoneybirdConfig, secrets: &Secrets) -> Result<Self, ConnectorError> {
        config.validate().map_err(ConnectorError::invalid)?;
        let auth = BearerSecret::new(
            secrets.clone(),
            config.token.clone(),
            "create a new API token in Moneybird and store it there",
        )
        .map_err(|e| {
            ConnectorError::new(ErrorKind::Auth, format!("processors.moneybird.token: {e}"))
        })?;
        let http = HttpClient::new(
            config.base_url.clone(),
            api::profile(),
            config.http.clone(),
            Arc::new(auth),
        )?;
        Ok(Moneybird {
            api: Api::new(http, config.administration_id),
            scan_contact_people: config.scan_contact_people,
        })
    }

    /// Anonymise a contact: one PATCH of writable fields (and custom field values), its notes
    /// deleted, the contact archived; then read back. A personal field the API left filled is
    /// a failed anonymisation, never reported as done.
    async fn anonymize_contact(
        &self,
        id: &str,
        contact: &serde_json::Value,
        fields: &[String],
    ) -> Result<EraseOutcome, ConnectorError> {
        let changes = mapping::anonymized_changes(contact, fields);
        let mut cleared: Vec<String> = fields
            .iter()
            .filter(|f| mapping::ANONYMIZE_FIELDS.contains(&f.as_str()))
            .cloned()
            .collect();
        if !changes.is_empty() {
            self.api.update_contact(id, changes).await?;
        }
        if fields.iter().any(|f| f == mapping::NOTES) {
            let notes = contact.get(mapping::NOTES).and_then(Value::as_array);
            for note in notes.into_iter().flatten() {
                if let Some(note) = mapping::id_of(note) {
                    self.api.delete_contact_note(id, &note).await?;
                }
            }
        }
        // Moneybird answers 400 `can_not_be_archived` to archiving an archived contact: look
        // first (a repeated anonymisation, or one resumed after a crash) rather than provoke it.
        if contact.get("archived") != Some(&Value::Bool(true)) {
            self.api.archive_contact(id).await?;
        }
        let after = self.api.contact(id).await?;
        ConnectorError::unless_cleared(
            "Moneybird",
            CONTACT,
            &mapping::still_personal(&after, fields),
        )?;
        cleared.sort();
        Ok(EraseOutcome::Anonymized { fields: cleared })
    }

    fn location() -> DataLocation {
        DataLocation {
            region: "EU (Netherlands)".into(),
            eea: true,
        }
    }
    /// Add the invoices of the subject's own exactly matched contacts in `found`, and what
    /// they mean for those contacts: a contact with invoices cannot be deleted, one with a
    /// subscription is contract data.
    async fn add_invoices(&self, found: &mut Findings) -> Result<(), ConnectorError> {
        // A company's invoices are not the subject's.
        let exact: Vec<String> = found
            .iter()
            .filter(|r| {
                r.reference.object == CONTACT
                    && r.matched_by == MatchKind::ExactEmail
                    && r.ownership.is_own()
            })
            .map(|r| r.reference.id.clone())
            .collect();
        let today = jiff::ZonedDateTime::now().date();
        for contact_id in exact {
            // Subscriptions: the contact's data is contract data while one runs, and for
            // `contract_retention_months` after the last one stopped.
            let mut recurring = self.api.recurring_of(&contact_id, true).await?;
            recurring.extend(self.api.recurring_of(&contact_id, false).await?);
            if let Some(contact) = found.get_mut(&RecordRef::new(CONTACT, contact_id.clone())) {
                contact.retention = mapping::subscription_hint(&recurring, today);
            }
            let invoices = self.api.invoices_of(&contact_id).await?;
            for invoice in &invoices {
                found.add(mapping::invoice_record(&contact_id, invoice).ok_or_else(missing_id)?);
            }
            if !invoices.is_empty() {
                if let Some(contact) = found.get_mut(&RecordRef::new(CONTACT, contact_id.clone())) {
                    contact.erasability.delete_blocked =
                        Some(format!("linked to {} sales invoice(s)", invoices.len()));
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Connector for Moneybird {
    fn describe(&self) -> Description {
        Description {
            id: crate::ID.into(),
            display_name: "Moneybird".into(),
            capabilities: vec![
                Capability::Access,
                Capability::Erase,
                Capability::Anonymize,
                Capability::Rectify,
                Capability::Restrict,
            ],
            categories: vec![
                Category::Name,
                Category::Address,
                Category::Phone,
                Category::Email,
                Category::Iban,
                Category::Company,
                Category::Financial,
            ],
            location: Self::location(),
        }
    }

    async fn check(&self) -> Result<Health, ConnectorError> {
        let (administrations, response) = self.api.administrations().await?;
        let known = administrations
            .iter()
            .any(|a| mapping::id_of(a).as_deref() == Some(self.api.administration()));
        if !known {
            return Err(ConnectorError::invalid(
                "processors.moneybird.administration_id is not an administration this token can reach",
            ));
        }
        let remaining = response
            .headers
            .get("RateLimit-Remaining")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(Health {
            authenticated: true,
            rate_limit_remaining: remaining,
            detail: format!("administration {} reachable", self.api.administration()),
        })
    }

    async fn discover(&self, subject: &Subject) -> Result<Vec<Record>, ConnectorError> {
        let mut found = Findings::default();
        // Contacts, by their own fields, through Moneybird's free-text search. The search is
        // fuzzy; matching is exact, on our side.
        for term in subject
            .emails
            .iter()
            .chain(&subject.phones)
            .chain(&subject.names)
        {
            for contact in self.api.search_contacts(term).await? {
                add_contact(&mut found, &contact, subject, None)?;
            }
        }
        // Contact people, and contacts reached only through their invoice or estimate
        // recipient, which the search does not cover (it searches `email` only).
        if self.scan_contact_people {
            for contact in self.api.all_contacts().await? {
                add_contact(&mut found, &contact, subject, Some(MatchKind::ExactEmail))?;
                add_people(&mut found, &contact, subject)?;
            }
        }
        self.add_invoices(&mut found).await?;
        Ok(found.into_vec())
    }

    /// Several subjects with one walk through all contacts (Moneybird's search takes one term
    /// at a time): each contact is matched against every subject on our side, exactly as the
    /// search's answers are; then each subject's own contacts' invoices and subscriptions.
    async fn discover_batch(
        &self,
        subjects: &[Subject],
    ) -> Result<Vec<Vec<Record>>, ConnectorError> {
        let contacts = self.api.all_contacts().await?;
        let mut results = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let mut found = Findings::default();
            for contact in &contacts {
                add_contact(&mut found, contact, subject, None)?;
                if self.scan_contact_people {
                    add_people(&mut found, contact, subject)?;
                }
            }
            self.add_invoices(&mut found).await?;
            results.push(found.into_vec());
        }
        Ok(results)
    }

    /// A customer's agreement ended on the later of their last invoice and the end of their
    /// last subscription; one with a subscription still running has not ended, and a contact
    /// with neither invoices nor subscriptions is no customer (no signal). Three walks: the
    /// contacts, every invoice, every subscription. The subjects: a private contact's address,
    /// a company's contact people (not the company's own address).
    async fn contracts_ended(
        &self,
        ended_before: jiff::civil::Date,
    ) -> Result<Option<ContractSignals>, ConnectorError> {
        let day = |v: &Value, field: &str| -> Option<jiff::civil::Date> {
            v.get(field)?.as_str()?.get(..10)?.parse().ok()
        };
        let contact_of = |v: &Value| {
            v.get("contact_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let mut last_invoice: BTreeMap<String, jiff::civil::Date> = BTreeMap::new();
        for invoice in self.api.all_invoices().await? {
            if let (Some(contact), Some(date)) =
                (contact_of(&invoice), day(&invoice, "invoice_date"))
            {
                let entry = last_invoice.entry(contact).or_insert(date);
                *entry = (*entry).max(date);
            }
        }
        let running: std::collections::BTreeSet<String> = self
            .api
            .all_recurring(true)
            .await?
            .iter()
            .filter_map(contact_of)
            .collect();
        let mut stopped: BTreeMap<String, jiff::civil::Date> = BTreeMap::new();
        for subscription in self.api.all_recurring(false).await? {
            let Some(contact) = contact_of(&subscription) else {
                continue;
            };
            if let Some(date) =
                day(&subscription, "last_date").or_else(|| day(&subscription, "updated_at"))
            {
                let entry = stopped.entry(contact).or_insert(date);
                *entry = (*entry).max(date);
            }
        }
        let mut signals = ContractSignals::default();
        let addresses = |contact: &Value| -> Vec<String> {
            let people = contact
                .get("contact_people")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            std::iter::once(contact)
                .chain(people)
                .filter_map(|v| v.get("email").and_then(Value::as_str).map(str::trim))
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect()
        };
        for contact in self.api.all_contacts().await? {
            let Some(id) = mapping::id_of(&contact) else {
                continue;
            };
            let (invoiced, subscribed) = (last_invoice.get(&id), stopped.get(&id));
            let ended_on = invoiced.into_iter().chain(subscribed).max().copied();
            // A customer still (a subscription running, or invoiced since the cutoff): every
            // address of theirs, the company's own included, is under an agreement.
            if running.contains(&id) || ended_on.is_some_and(|d| d >= ended_before) {
                signals.ongoing.extend(addresses(&contact));
                continue;
            }
            let Some(ended_on) = ended_on else {
                continue;
            };
            let mut signal = Vec::new();
            if let Some(date) = invoiced {
                signal.push(format!("last invoice {date}"));
            }
            if let Some(date) = subscribed {
                signal.push(format!("subscription stopped {date}"));
            }
            // Each person a subject of their own: a private contact's address, and a
            // company's contact people (several people; the company's own address, often a
            // role address like info@, is the company's, not a person's).
            let company = contact
                .get("company_name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.trim().is_empty());
            let people = contact
                .get("contact_people")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            let own = (!company).then_some(&contact);
            let mut emails: Vec<String> = Vec::new();
            for value in own.into_iter().chain(people) {
                if let Some(email) = value.get("email").and_then(Value::as_str).map(str::trim) {
                    if !email.is_empty() && !emails.iter().any(|e| e.eq_ignore_ascii_case(email)) {
                        emails.push(email.to_string());
                    }
                }
            }
            for email in emails {
                signals.ended.push(EndedContract {
                    subject: Subject {
                        emails: vec![email],
                        ..Subject::default()
                    },
                    ended_on,
                    signal: signal.join("; "),
                });
            }
        }
        Ok(Some(signals))
    }

    async fn export(&self, record: &RecordRef) -> Result<Exported, ConnectorError> {
        let data = match record.object.as_str() {
            CONTACT => self.api.contact(&record.id).await?,
            CONTACT_PERSON => self.api.contact_person(scope(record)?, &record.id).await?,
            SALES_INVOICE => self.api.invoice(&record.id).await?,
            _ => return Err(unknown_object(record)),
        };
        Ok(Exported {
            reference: record.clone(),
            data,
        })
    }

    /// A sales invoice (kept for the fiscal duty) or a contact (kept while its agreement's
    /// retention runs), read afresh by id. A contact is the subject's own only when it is a
    /// private individual's: without the subject's addresses, a company's contact cannot be
    /// told apart from its role address, so it goes to a person.
    async fn lookup(&self, reference: &RecordRef) -> Result<Lookup, ConnectorError> {
        let gone = |e: ConnectorError| {
            if e.kind == ErrorKind::NotFound {
                Ok(Lookup::Gone)
            } else {
                Err(e)
            }
        };
        match reference.object.as_str() {
            SALES_INVOICE => {
                let invoice = match self.api.invoice(&reference.id).await {
                    Ok(invoice) => invoice,
                    Err(e) => return gone(e),
                };
                let contact_id = mapping::text(&invoice, "contact_id");
                let mut record =
                    mapping::invoice_record(contact_id, &invoice).ok_or_else(missing_id)?;
                record.matched_by = MatchKind::VendorId;
                Ok(Lookup::Found(Box::new(record)))
            }
            CONTACT => {
                let contact = match self.api.contact(&reference.id).await {
                    Ok(contact) => contact,
                    Err(e) => return gone(e),
                };
                let mut record = mapping::contact_record(&contact, MatchKind::VendorId)
                    .ok_or_else(missing_id)?;
                if !mapping::text(&contact, "company_name").is_empty() {
                    record.ownership = Ownership::Organisation(
                        "a company's contact, looked up by id: whether it is one person's is for \
                         a person to judge"
                            .into(),
                    );
                }
                let today = jiff::ZonedDateTime::now().date();
                let mut recurring = self.api.recurring_of(&reference.id, true).await?;
                recurring.extend(self.api.recurring_of(&reference.id, false).await?);
                record.retention = mapping::subscription_hint(&recurring, today);
                let invoices = self.api.invoices_of(&reference.id).await?;
                if !invoices.is_empty() {
                    record.erasability.delete_blocked =
                        Some(format!("linked to {} sales invoice(s)", invoices.len()));
                }
                Ok(Lookup::Found(Box::new(record)))
            }
            _ => Ok(Lookup::Unsupported),
        }
    }

    fn shows_anonymized(&self, record: &Exported, fields: &[String]) -> Option<bool> {
        if record.reference.object != CONTACT {
            return None;
        }
        // Anonymised means: every change the anonymising PATCH would make is already there,
        // and the contact is archived (the second call of an anonymisation).
        let data = &record.data;
        let cleared = mapping::still_personal(data, fields).is_empty();
        Some(cleared && data.get("archived") == Some(&serde_json::Value::Bool(true)))
    }

    /// A contact's and a contact person's own details; an issued invoice is the
    /// organisation's fiscal record, kept under a legal duty, not data the person provided.
    fn portable(&self, object: &str) -> Portable {
        match object {
            CONTACT => Portable::Fields(crate::rights::PORTABLE_CONTACT),
            SALES_INVOICE => Portable::Not(
                "an issued invoice is the organisation's record, kept under the fiscal duty (not consent or contract)",
            ),
            _ => Portable::All,
        }
    }

    async fn propose(
        &self,
        record: &RecordRef,
        change: &Change,
    ) -> Result<Option<Proposal>, ConnectorError> {
        match record.object.as_str() {
            CONTACT => {
                let contact = self.api.contact(&record.id).await?;
                Ok(Some(crate::rights::contact_proposal(&contact, change)))
            }
            CONTACT_PERSON => {
                let person = self.api.contact_person(scope(record)?, &record.id).await?;
                Ok(Some(crate::rights::person_proposal(&person, change)))
            }
            SALES_INVOICE => Ok(Some(crate::rights::invoice_proposal(change))),
            _ => Ok(None),
        }
    }

    async fn apply(
        &self,
        record: &RecordRef,
        changes: &[FieldChange],
    ) -> Result<(), ConnectorError> {
        if record.object == CONTACT_PERSON {
            return self
                .api
                .update_contact_person(
                    scope(record)?,
                    &record.id,
                    dsrhub_connector::rights::new_values(changes),
                )
                .await;
        }
        if record.object != CONTACT {
            return Err(ConnectorError::invalid(format!(
                "Moneybird changes contacts and contact people only, not `{}`",
                record.object
            )));
        }
        let body = crate::rights::update_body(changes);
        if !body.is_empty() {
            self.api.update_contact(&record.id, body).await?;
        }
        if changes
            .iter()
            .any(|c| c.field == crate::rights::ARCHIVED && c.to == Value::Bool(true))
        {
            // Archiving an archived contact answers 400 `can_not_be_archived`: already done.
            match self.api.archive_contact(&record.id).await {
                Err(e) if e.status == Some(400) => {
                    let contact = self.api.contact(&record.id).await?;
                    if contact.get(crate::rights::ARCHIVED) != Some(&Value::Bool(true)) {
                        return Err(e);
                    }
                }
                other => other?,
            }
        }
        Ok(())
    }

    async fn erase(
        &self,
        record: &RecordRef,
        action: &EraseAction,
    ) -> Result<EraseOutcome, ConnectorError> {
        let deleted = |existed: bool| {
            if existed {
                EraseOutcome::Deleted
            } else {
                EraseOutcome::AlreadyGone
            }
        };
        match (record.object.as_str(), action) {
            (CONTACT, EraseAction::Delete) => {
                self.api.delete_contact(&record.id).await.map(deleted)
            }
            (CONTACT_PERSON, EraseAction::Delete) => self
                .api
                .delete_contact_person(scope(record)?, &record.id)
                .await
                .map(deleted),
            (SALES_INVOICE, EraseAction::Delete) => match self.api.delete_invoice(&record.id).await
            {
                // A pending payment or a locked period (after a VAT return): Moneybird keeps it.
                Err(e) if e.status == Some(400) => Err(ConnectorError::new(
                    ErrorKind::Conflict,
                    format!(
                        "Moneybird refuses to delete the invoice ({}): it stays until the \
                         payment is settled or the period is unlocked",
                        e.message
                    ),
                )),
                result => result.map(deleted),
            },
            (CONTACT, EraseAction::Anonymize { fields }) => {
                let contact = match self.api.contact(&record.id).await {
                    Ok(contact) => contact,
                    Err(e) if e.kind == ErrorKind::NotFound => {
                        return Ok(EraseOutcome::AlreadyGone)
                    }
                    Err(e) => return Err(e),
                };
                self.anonymize_contact(&record.id, &contact, fields).await
            }
            (_, EraseAction::Anonymize { .. }) => Err(ConnectorError::invalid(format!(
                "Moneybird offers no anonymisation for {}; delete it instead",
                record.object
            ))),
            _ => Err(unknown_object(record)),
        }
    }

    async fn inventory(&self) -> Result<Inventory, ConnectorError> {
        let mut counts = BTreeMap::new();
        counts.insert(
            CONTACT.to_string(),
            self.api.synchronization("contacts").await?.len() as u64,
        );
        counts.insert(
            SALES_INVOICE.to_string(),
            self.api.synchronization("sales_invoices").await?.len() as u64,
        );
        Ok(Inventory {
            counts,
            location: Self::location(),
        })
    }
}

fn scope(record: &RecordRef) -> Result<&str, ConnectorError> {
    record.scope.as_deref().ok_or_else(|| {
        ConnectorError::invalid(format!("{} needs its contact id as scope", record.object))
    })
}

fn unknown_object(record: &RecordRef) -> ConnectorError {
    ConnectorError::invalid(format!("Moneybird has no object type `{}`", record.object))
}

fn missing_id() -> ConnectorError {
    ConnectorError::permanent("Moneybird returned an object without an id")
}

/// Add `contact` to `found` if it matches `subject` (only as `only`, when given).
fn add_contact(
    found: &mut Findings,
    contact: &Value,
    subject: &Subject,
    only: Option<MatchKind>,
) -> Result<(), ConnectorError> {
    let Some(kind) = mapping::contact_match(contact, subject) else {
        return Ok(());
    };
    if only.is_some_and(|only| only != kind) {
        return Ok(());
    }
    let reference = mapping::id_of(contact).map(|id| RecordRef::new(CONTACT, id));
    // Found by the search already: the scan adds nothing (its people are added separately).
    if only.is_some()
        && reference
            .as_ref()
            .is_some_and(|r| found.get_mut(r).is_some())
    {
        return Ok(());
    }
    let mut record = mapping::contact_record(contact, kind).ok_or_else(missing_id)?;
    record.ownership = mapping::contact_ownership(contact, subject);
    found.add(record);
    Ok(())
}

/// Add the people of `contact` who match `subject` to `found`.
fn add_people(
    found: &mut Findings,
    contact: &Value,
    subject: &Subject,
) -> Result<(), ConnectorError> {
    let Some(contact_id) = mapping::id_of(contact) else {
        return Ok(());
    };
    let people = contact
        .get("contact_people")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for person in people {
        if let Some(kind) = mapping::person_match(person, subject) {
            found.add(mapping::person_record(&contact_id, person, kind).ok_or_else(missing_id)?);
        }
    }
    Ok(())
}
