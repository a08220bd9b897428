//! The [`Connector`] implementation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use dsrhub_connector::error::not_found_as_none;
use dsrhub_connector::http::{HeaderSource, HttpClient, SecretHeaders};
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::{
    async_trait, Capability, Category, Connector, ConnectorError, DataLocation, Description,
    EraseAction, EraseOutcome, ErrorKind, Exported, Findings, Health, Inventory, Lookup, MatchKind,
    Ownership, Record, RecordRef, Subject,
};
use dsrhub_connector::{Change, FieldChange, Portable, Proposal};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use crate::api::{self, Api, MAX_OR_CONDITIONS};
use crate::classify::AutotaskClassifier;
use crate::config::AutotaskConfig;
use crate::mapping::{self, CONTACT, TICKET};
use crate::zone::{self, Zone};

/// The Autotask connector for one database.
pub struct Autotask {
    config: AutotaskConfig,
    auth: Arc<SecretHeaders>,
    api: OnceCell<Api>,
    zone: Mutex<Option<Zone>>,
}

impl std::fmt::Debug for Autotask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Autotask")
            .field("auth", &self.auth)
            .field("api", &self.api.get())
            .finish_non_exhaustive()
    }
}

impl Autotask {
    /// Build from settings; resolves the secrets now so a missing one is reported at start.
    pub fn new(config: AutotaskConfig, secrets: &Secrets) -> Result<Self, ConnectorError> {
        config.validate().map_err(ConnectorError::invalid)?;
        let mut headers = vec![
            (
                "apiintegrationcode".parse().expect("header name"),
                HeaderSource::Secret(config.integration_code.clone()),
            ),
            (
                "username".parse().expect("header name"),
                HeaderSource::Plain(config.username.clone()),
            ),
            (
                "secret".parse().expect("header name"),
                HeaderSource::Secret(config.secret.clone()),
            ),
        ];
        if let Some(resource) = config.impersonation_resource_id {
            headers.push((
                "impersonationresourceid".parse().expect("header name"),
                HeaderSource::Plain(resource.to_string()),
            ));
        }
        let auth = SecretHeaders::new(
            secrets.clone(),
            headers,
            "check the API user's secret and the integration code in Autotask",
        )
        .map_err(|e| {
            let setting = if e.reference == config.secret.to_string() {
                "secret"
            } else {
                "integration_code"
            };
            ConnectorError::new(
                ErrorKind::Auth,
                format!("processors.autotask.{setting}: {e}"),
            )
        })?;
        Ok(Autotask {
            config,
            auth: Arc::new(auth),
            api: OnceCell::new(),
            zone: Mutex::new(None),
        })
    }

    /// The API client for this database's zone, looked up once.
    async fn api(&self) -> Result<&Api, ConnectorError> {
        self.api
            .get_or_try_init(|| async {
                let root = match &self.config.base_url {
                    Some(url) => zone::api_root_of(url)?,
                    None => {
                        let found = zone::lookup(
                            &self.config.zone_lookup_url,
                            &self.config.username,
                            &self.config.http,
                        )
                        .await?;
                        let root = found.api_root()?;
                        *self.zone.lock().expect("zone") = Some(found);
                        root
                    }
                };
                let http = HttpClient::new(
                    root,
                    api::profile(),
                    self.config.http.clone(),
                    self.auth.clone(),
                )?
                .with_classifier(Arc::new(AutotaskClassifier));
                Ok(Api::new(http))
            })
            .await
    }

    fn location(&self) -> DataLocation {
        match &*self.zone.lock().expect("zone") {
            Some(zone) => zone.location(self.config.data_in_eea),
            None => DataLocation {
                region: match &self.config.base_url {
                    Some(url) => format!("Autotask at {}", url.host_str().unwrap_or("?")),
                    None => "Autotask (zone not looked up yet)".into(),
                },
                eea: self.config.data_in_eea.unwrap_or(false),
            },
        }
    }

    /// Contacts matching any of `conditions`, in queries of at most 500 `or` conditions.
    async fn contacts_where(
        &self,
        conditions: Vec<Value>,
        into: &mut BTreeMap<u64, Value>,
    ) -> Result<(), ConnectorError> {
        let api = self.api().await?;
        for chunk in conditions.chunks(MAX_OR_CONDITIONS) {
            for contact in api.query("Contacts", vec![api::or(chunk.to_vec())]).await? {
                if let Some(id) = mapping::id_of(&contact) {
                    into.insert(id, contact);
                }
            }
        }
        Ok(())
    }

    /// Every `entity` whose `field` is one of `ids`, in `in` queries of at most 500 values.
    async fn query_in(
        &self,
        entity: &str,
        field: &str,
        ids: &BTreeSet<u64>,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut found = Vec::new();
        if ids.is_empty() {
            return Ok(found);
        }
        let api = self.api().await?;
        let ids: Vec<u64> = ids.iter().copied().collect();
        for chunk in ids.chunks(MAX_OR_CONDITIONS) {
            let filter = vec![json!({ "op": "in", "field": field, "value": chunk })];
            found.extend(api.query(entity, filter).await?);
        }
        Ok(found)
    }

    /// Every `entity` whose `field` is one of `ids`, grouped by that field's value.
    async fn grouped_by(
        &self,
        entity: &str,
        field: &str,
        ids: &BTreeSet<u64>,
    ) -> Result<BTreeMap<u64, Vec<Value>>, ConnectorError> {
        let mut grouped: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        for row in self.query_in(entity, field, ids).await? {
            if let Some(key) = row.get(field).and_then(Value::as_u64) {
                grouped.entry(key).or_default().push(row);
            }
        }
        Ok(grouped)
    }

    /// The contracts of `companies`, grouped by company id: whether the contacts' data is
    /// still needed for a running contract, or since when it is not.
    async fn contracts_of(
        &self,
        companies: &BTreeSet<u64>,
    ) -> Result<BTreeMap<u64, Vec<Value>>, ConnectorError> {
        self.grouped_by("Contracts", "companyID", companies).await
    }

    /// `TicketAdditionalContacts` of `tickets` or naming one of `contacts`: (ticket, contact)
    /// pairs. A ticket has one primary contact; the others are additional contacts.
    async fn additional_contacts(
        &self,
        tickets: &BTreeSet<u64>,
        contacts: &BTreeSet<u64>,
    ) -> Result<Vec<(u64, u64)>, ConnectorError> {
        let mut rows = self
            .query_in("TicketAdditionalContacts", "ticketID", tickets)
            .await?;
        rows.extend(
            self.query_in("TicketAdditionalContacts", "contactID", contacts)
                .await?,
        );
        let mut pairs: Vec<(u64, u64)> = rows
            .iter()
            .filter_map(|row| {
                let field = |f: &str| row.get(f).and_then(Value::as_u64);
                Some((field("ticketID")?, field("contactID")?))
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        Ok(pairs)
    }

    /// Which of `contacts` have a Client Portal account (`ClientPortalUsers`): Autotask never
    /// deletes those, it only merges them.
    async fn with_portal_account(
        &self,
        contacts: &BTreeSet<u64>,
    ) -> Result<BTreeSet<u64>, ConnectorError> {
        Ok(self
            .grouped_by("ClientPortalUsers", "contactID", contacts)
            .await?
            .into_keys()
            .collect())
    }

    /// Tickets by id.
    async fn tickets_by_id(&self, ids: &BTreeSet<u64>) -> Result<Vec<Value>, ConnectorError> {
        self.query_in("Tickets", "id", ids).await
    }

    /// Tickets whose contact is one of `contacts`, grouped by contact id.
    async fn tickets_of(
        &self,
        contacts: &BTreeSet<u64>,
    ) -> Result<BTreeMap<u64, Vec<Value>>, ConnectorError> {
        self.grouped_by("Tickets", "contactID", contacts).await
    }
}

/// The field names a PATCH body changes (all but `id`).
fn changed_fields(body: &Value) -> Vec<String> {
    body.as_object()
        .map(|m| m.keys().filter(|k| *k != "id").cloned().collect())
        .unwrap_or_default()
}

#[async_trait]
impl Connector for Autotask {
    fn describe(&self) -> Description {
        Description {
            id: crate::ID.into(),
            display_name: "Autotask".into(),
            capabilities: vec![
                Capability::Access,
                Capability::Erase,
                Capability::Anonymize,
                Capability::Rectify,
                Capability::Restrict,
                Capability::Object,
            ],
            categories: vec![
                Category::Name,
                Category::Email,
                Category::Phone,
                Category::Address,
                Category::JobTitle,
                Category::Company,
                Category::Correspondence,
            ],
            location: self.location(),
        }
    }

    async fn check(&self) -> Result<Health, ConnectorError> {
        let api = self.api().await?;
        let companies = api.count("Companies").await?;
        if companies == 0 {
            // A restricted security level answers every query with nothing: discovery would
            // then say "no match" for everyone.
            return Err(ConnectorError::new(
                ErrorKind::Auth,
                "the API user sees no companies: its security level may hide them, and every \
                 search would then answer \"no match\"; give it the API User (system) level \
                 with read access to Companies, Contacts and Tickets",
            ));
        }
        // The hourly limit is shared by every integration of the database.
        let (used, allowed) = api.threshold().await?;
        let percent = (used * 100).checked_div(allowed).unwrap_or(100);
        Ok(Health {
            authenticated: true,
            rate_limit_remaining: Some(allowed.saturating_sub(used)),
            detail: format!(
                "{}: {companies} companies reachable; {percent}% of the hourly request limit \
                 ({used} of {allowed}) already used in this database by all integrations",
                self.location().region
            ),
        })
    }

    async fn discover(&self, subject: &Subject) -> Result<Vec<Record>, ConnectorError> {
        Ok(self
            .discover_batch(std::slice::from_ref(subject))
            .await?
            .pop()
            .unwrap_or_default())
    }

    /// One `or` query carries every subject's addresses (500 conditions per query), then the
    /// results are split per subject.
    async fn discover_batch(
        &self,
        subjects: &[Subject],
    ) -> Result<Vec<Vec<Record>>, ConnectorError> {
        let emails: BTreeSet<String> = subjects
            .iter()
            .flat_map(|s| s.emails.iter().map(|e| e.trim().to_string()))
            .filter(|e| !e.is_empty())
            .collect();
        let mut candidates = BTreeMap::new();
        let emails: Vec<String> = emails.into_iter().collect();
        self.contacts_where(mapping::email_conditions(&emails), &mut candidates)
            .await?;
        let loose: Vec<Value> = subjects
            .iter()
            .flat_map(mapping::loose_conditions)
            .collect();
        self.contacts_where(loose, &mut candidates).await?;

        let exact: BTreeSet<u64> = candidates
            .iter()
            .filter(|(_, c)| {
                subjects
                    .iter()
                    .any(|s| mapping::contact_match(c, s) == Some(MatchKind::ExactEmail))
            })
            .map(|(id, _)| *id)
            .collect();
        let tickets = if exact.is_empty() {
            BTreeMap::new()
        } else {
            self.tickets_of(&exact).await?
        };
        // Who else is on those tickets, and which other tickets name the subject's contacts as
        // an additional contact: both are shared with other people.
        let primary_tickets: BTreeSet<u64> = tickets
            .values()
            .flatten()
            .filter_map(mapping::id_of)
            .collect();
        let additional = if exact.is_empty() {
            Vec::new()
        } else {
            self.additional_contacts(&primary_tickets, &exact).await?
        };
        let theirs: BTreeSet<u64> = additional
            .iter()
            .filter(|(ticket, contact)| {
                exact.contains(contact) && !primary_tickets.contains(ticket)
            })
            .map(|(ticket, _)| *ticket)
            .collect();
        let others_tickets = if theirs.is_empty() {
            Vec::new()
        } else {
            self.tickets_by_id(&theirs).await?
        };
        let portal = if exact.is_empty() {
            BTreeSet::new()
        } else {
            self.with_portal_account(&exact).await?
        };
        let companies: BTreeSet<u64> = exact
            .iter()
            .filter_map(|id| candidates[id].get("companyID").and_then(Value::as_u64))
            .collect();
        let contracts = self.contracts_of(&companies).await?;
        let today = jiff::ZonedDateTime::now().date();

        // Whether contact `id` is one of `subject`'s own (exactly matched, primary address).
        let own_contacts = |subject: &Subject, id: u64| {
            candidates.get(&id).is_some_and(|c| {
                mapping::contact_match(c, subject) == Some(MatchKind::ExactEmail)
                    && mapping::contact_ownership(c, subject).is_own()
            })
        };
        let mut results = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let mut found = Findings::default();
            for (id, contact) in &candidates {
                let Some(kind) = mapping::contact_match(contact, subject) else {
                    continue;
                };
                let ownership = mapping::contact_ownership(contact, subject);
                // Tickets are the subject's only through a contact that is theirs.
                let own_tickets = if kind == MatchKind::ExactEmail && ownership.is_own() {
                    tickets.get(id).map(Vec::as_slice).unwrap_or(&[])
                } else {
                    &[]
                };
                let open = own_tickets.iter().filter(|t| mapping::is_open(t)).count();
                let mut record = mapping::contact_record(contact, kind, open).ok_or_else(|| {
                    ConnectorError::permanent("Autotask returned a contact without id or company")
                })?;
                // Refusals Autotask would give, known before trying (vendors.md).
                if record.erasability.delete_blocked.is_none() {
                    record.erasability.delete_blocked = if portal.contains(id) {
                        Some("has a Client Portal account: Autotask never deletes it".into())
                    } else if contact.get("primaryContact") == Some(&Value::Bool(true)) {
                        Some("primary contact of its company".into())
                    } else {
                        None
                    };
                }
                if !ownership.is_own() {
                    // Reviewed, never changed: neither deleted nor anonymised for the subject.
                    record.erasability.delete = false;
                    record.erasability.anonymize_fields.clear();
                }
                record.ownership = ownership;
                if kind == MatchKind::ExactEmail {
                    let company = contact.get("companyID").and_then(Value::as_u64);
                    let of_company: Vec<&Value> = company
                        .and_then(|c| contracts.get(&c))
                        .map(|list| list.iter().collect())
                        .unwrap_or_default();
                    record.retention = mapping::contract_hint(&of_company, today);
                }
                let no_id = || ConnectorError::permanent("Autotask returned a ticket without id");
                for ticket in own_tickets {
                    let ticket_id = mapping::id_of(ticket).ok_or_else(no_id)?;
                    // Other contacts on it: the subject's own contacts do not count.
                    let others = additional
                        .iter()
                        .filter(|(t, c)| *t == ticket_id && !own_contacts(subject, *c))
                        .count();
                    let ownership = if others == 0 {
                        Ownership::Own
                    } else {
                        Ownership::Shared(format!("a ticket with {others} other contact(s)"))
                    };
                    found.add(
                        mapping::ticket_record(ticket, &record.reference, ownership)
                            .ok_or_else(no_id)?,
                    );
                }
                // Someone else's tickets that list this contact as an additional contact.
                if kind == MatchKind::ExactEmail && record.ownership.is_own() {
                    for ticket in others_tickets.iter().filter(|t| {
                        let ticket = mapping::id_of(t);
                        additional
                            .iter()
                            .any(|(t, c)| Some(*t) == ticket && c == id)
                    }) {
                        let ownership = Ownership::Shared(
                            "another person's ticket that lists the subject as an additional \
                             contact"
                                .into(),
                        );
                        found.add(
                            mapping::ticket_record(ticket, &record.reference, ownership)
                                .ok_or_else(no_id)?,
                        );
                    }
                }
                found.add(record);
            }
            results.push(found.into_vec());
        }
        Ok(results)
    }

    /// A ticket (kept as correspondence while open and its months after), read afresh by id.
    /// Without the subject's addresses, whose it is comes from its contacts: the earlier
    /// request found it through the subject's contact, so any additional contact besides the
    /// ticket's own makes it shared. Contacts (kept for a contract) are for a person: whether
    /// one is the subject's own needs the subject's addresses (a role address, the company's).
    async fn lookup(&self, reference: &RecordRef) -> Result<Lookup, ConnectorError> {
        if reference.object != TICKET {
            return Ok(Lookup::Unsupported);
        }
        let id = reference.numeric_id()?;
        let Some(ticket) = self.api().await?.get("Tickets", id).await? else {
            return Ok(Lookup::Gone);
        };
        let contact = ticket.get("contactID").and_then(Value::as_u64);
        let others = self
            .additional_contacts(&BTreeSet::from([id]), &BTreeSet::new())
            .await?
            .into_iter()
            .filter(|(t, c)| *t == id && Some(*c) != contact)
            .count();
        let ownership = if others == 0 && contact.is_some() {
            Ownership::Own
        } else {
            Ownership::Shared(format!(
                "a ticket with {others} additional contact(s) besides its own"
            ))
        };
        let mut contact_ref =
            RecordRef::new(CONTACT, contact.map(|c| c.to_string()).unwrap_or_default());
        contact_ref.scope = ticket
            .get("companyID")
            .and_then(Value::as_u64)
            .map(|c| c.to_string());
        let mut record = mapping::ticket_record(&ticket, &contact_ref, ownership)
            .ok_or_else(|| ConnectorError::permanent("Autotask returned a ticket without id"))?;
        record.matched_by = MatchKind::VendorId;
        Ok(Lookup::Found(Box::new(record)))
    }

    /// A contact's own details and a ticket's title and description (what the person wrote
    /// in); staff notes, resolutions and the organisation's own fields stay out.
    fn portable(&self, object: &str) -> Portable {
        match object {
            CONTACT => Portable::Fields(crate::rights::PORTABLE_CONTACT),
            TICKET => Portable::Fields(crate::rights::PORTABLE_TICKET),
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
                let id = record.numeric_id()?;
                let contact = self
                    .api()
                    .await?
                    .get("Contacts", id)
                    .await?
                    .ok_or_else(|| {
                        ConnectorError::new(
                            ErrorKind::NotFound,
                            format!("{record} no longer exists in Autotask"),
                        )
                    })?;
                Ok(Some(crate::rights::contact_proposal(&contact, change)))
            }
            TICKET => Ok(Some(crate::rights::ticket_proposal(change))),
            _ => Ok(None),
        }
    }

    async fn apply(
        &self,
        record: &RecordRef,
        changes: &[FieldChange],
    ) -> Result<(), ConnectorError> {
        if record.object != CONTACT {
            return Err(ConnectorError::invalid(format!(
                "Autotask changes contacts only, not `{}`",
                record.object
            )));
        }
        let (id, company) = (record.numeric_id()?, record.numeric_scope()?);
        self.api()
            .await?
            .update_contact(company, &crate::rights::contact_body(id, changes))
            .await
    }

    async fn export(&self, record: &RecordRef) -> Result<Exported, ConnectorError> {
        let api = self.api().await?;
        let id = record.numeric_id()?;
        let not_found = || {
            ConnectorError::new(
                ErrorKind::NotFound,
                format!("{record} no longer exists in Autotask"),
            )
        };
        let data = match record.object.as_str() {
            CONTACT => {
                let mut contact = api.get("Contacts", id).await?.ok_or_else(not_found)?;
                if let Some(company) = contact.get("companyID").and_then(Value::as_u64) {
                    contact["company"] =
                        api.get("Companies", company).await?.unwrap_or(Value::Null);
                }
                contact
            }
            TICKET => api.get("Tickets", id).await?.ok_or_else(not_found)?,
            other => {
                return Err(ConnectorError::invalid(format!(
                    "Autotask has no object type `{other}`"
                )))
            }
        };
        Ok(Exported {
            reference: record.clone(),
            data,
        })
    }

    async fn erase(
        &self,
        record: &RecordRef,
        action: &EraseAction,
    ) -> Result<EraseOutcome, ConnectorError> {
        let api = self.api().await?;
        let id = record.numeric_id()?;
        let gone_is_ok = |result: Result<(), ConnectorError>, outcome: EraseOutcome| {
            not_found_as_none(result)
                .map(|done| done.map_or(EraseOutcome::AlreadyGone, |()| outcome))
        };
        match (record.object.as_str(), action) {
            (CONTACT, EraseAction::Delete) => {
                let company = record.numeric_scope()?;
                Ok(if api.delete_contact(company, id).await? {
                    EraseOutcome::Deleted
                } else {
                    EraseOutcome::AlreadyGone
                })
            }
            (CONTACT, EraseAction::Anonymize { fields }) => {
                let company = record.numeric_scope()?;
                let Some(contact) = api.get("Contacts", id).await? else {
                    return Ok(EraseOutcome::AlreadyGone);
                };
                let body = mapping::anonymized_contact(&contact, id, fields);
                let cleared = changed_fields(&body);
                if not_found_as_none(api.update_contact(company, &body).await)?.is_none() {
                    return Ok(EraseOutcome::AlreadyGone);
                }
                let after = api.get("Contacts", id).await?.unwrap_or_default();
                ConnectorError::unless_cleared(
                    "Autotask",
                    &record.object,
                    &mapping::contact_still_personal(&after, fields),
                )?;
                Ok(EraseOutcome::Anonymized { fields: cleared })
            }
            (TICKET, EraseAction::Anonymize { fields }) => {
                let Some(ticket) = api.get("Tickets", id).await? else {
                    return Ok(EraseOutcome::AlreadyGone);
                };
                let mut left = Vec::new();
                if fields.iter().any(|f| f == mapping::NOTES) {
                    for note in api.ticket_notes(id).await? {
                        if let Some(note) = mapping::id_of(&note) {
                            api.update_ticket_note(id, &mapping::anonymized_note(note))
                                .await?;
                        }
                    }
                    // Read back: a note whose text stayed is not anonymised.
                    let notes = api.ticket_notes(id).await?;
                    if !notes.iter().all(mapping::note_is_anonymized) {
                        left.push(mapping::NOTES.to_string());
                    }
                }
                let body = mapping::anonymized_ticket(&ticket, id, fields);
                let mut cleared = changed_fields(&body);
                if fields.iter().any(|f| f == mapping::NOTES) {
                    cleared.push(mapping::NOTES.to_string());
                }
                gone_is_ok(api.update_ticket(&body).await, EraseOutcome::AlreadyGone)?;
                let after = api.get("Tickets", id).await?.unwrap_or_default();
                left.extend(mapping::ticket_still_personal(&after, fields));
                ConnectorError::unless_cleared("Autotask", &record.object, &left)?;
                Ok(EraseOutcome::Anonymized { fields: cleared })
            }
            (TICKET, EraseAction::Delete) => Err(ConnectorError::invalid(
                "Autotask offers no ticket deletion through its API; anonymise instead",
            )),
            (other, _) => Err(ConnectorError::invalid(format!(
                "Autotask has no object type `{other}`"
            ))),
        }
    }

    /// A company's agreement ended when none of its contracts runs any more (an active
    /// contract past its end date has ended: Autotask does not deactivate it), on the latest
    /// of the contracts' end and the last activity of the company and of its contacts (work
    /// after the contract, billed by the hour, continues the relationship). A company without
    /// contracts gives no signal (a prospect, a supplier). The subjects: each contact of such a
    /// company, with all of their addresses.
    async fn contracts_ended(
        &self,
        ended_before: jiff::civil::Date,
    ) -> Result<Option<dsrhub_connector::ContractSignals>, ConnectorError> {
        let api = self.api().await?;
        let today = jiff::ZonedDateTime::now().date();
        let mut by_company: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        for contract in api
            .query("Contracts", vec![json!({ "op": "exist", "field": "id" })])
            .await?
        {
            if let Some(company) = contract.get("companyID").and_then(Value::as_u64) {
                by_company.entry(company).or_default().push(contract);
            }
        }
        // Per company with contracts: ended before the cutoff, or not (running, or since).
        let mut contract_ended: BTreeMap<u64, jiff::civil::Date> = BTreeMap::new();
        let mut ongoing_companies = BTreeSet::new();
        for (company, contracts) in &by_company {
            let contracts: Vec<&Value> = contracts.iter().collect();
            match mapping::contract_hint(&contracts, today) {
                Some(dsrhub_connector::RetentionHint::Contract {
                    ended: Some(ended), ..
                }) if ended < ended_before => {
                    contract_ended.insert(*company, ended);
                }
                _ => {
                    ongoing_companies.insert(*company);
                }
            }
        }
        let addresses = |person: &Value| -> Vec<String> {
            ["emailAddress", "emailAddress2", "emailAddress3"]
                .iter()
                .filter_map(|f| person.get(*f).and_then(Value::as_str))
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let mut signals = dsrhub_connector::ContractSignals::default();
        for people in self
            .grouped_by("Contacts", "companyID", &ongoing_companies)
            .await?
            .values()
        {
            for person in people {
                signals.ongoing.extend(addresses(person));
            }
        }
        let companies: BTreeSet<u64> = contract_ended.keys().copied().collect();
        let company_activity: BTreeMap<u64, Option<jiff::civil::Date>> = self
            .query_in("Companies", "id", &companies)
            .await?
            .iter()
            .filter_map(|c| {
                let id = c.get("id").and_then(Value::as_u64)?;
                Some((id, mapping::day_of(c, "lastActivityDate")))
            })
            .collect();
        let contacts = self.grouped_by("Contacts", "companyID", &companies).await?;
        for (company, contract_end) in contract_ended {
            let people = contacts
                .get(&company)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let last_activity = people
                .iter()
                .filter_map(|p| mapping::day_of(p, "lastActivityDate"))
                .chain(company_activity.get(&company).copied().flatten())
                .max();
            let ended_on = last_activity.map_or(contract_end, |a| a.max(contract_end));
            if ended_on >= ended_before {
                // Active since the contract ended: the relationship goes on.
                for person in people {
                    signals.ongoing.extend(addresses(person));
                }
                continue;
            }
            let mut signal = format!("last contract ended {contract_end}");
            if let Some(activity) = last_activity {
                signal.push_str(&format!("; last activity {activity}"));
            }
            for person in people {
                let emails = addresses(person);
                if emails.is_empty() {
                    continue;
                }
                signals.ended.push(dsrhub_connector::EndedContract {
                    subject: Subject {
                        emails,
                        ..Subject::default()
                    },
                    ended_on,
                    signal: signal.clone(),
                });
            }
        }
        Ok(Some(signals))
    }

    async fn inventory(&self) -> Result<Inventory, ConnectorError> {
        let api = self.api().await?;
        let mut counts = BTreeMap::new();
        for (entity, object) in [
            ("Contacts", "contact"),
            ("Companies", "company"),
            ("Tickets", "ticket"),
        ] {
            counts.insert(object.to_string(), api.count(entity).await?);
        }
        Ok(Inventory {
            counts,
            location: self.location(),
        })
    }
}
