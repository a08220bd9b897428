//! The [`Connector`] implementation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dsrhub_connector::error::not_found_as_none;
use dsrhub_connector::http::{HeaderSource, HttpClient, SecretHeaders};
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::{
    async_trait, Applicant, Capability, Category, Change, Connector, ConnectorError, Description,
    EraseAction, EraseOutcome, ErrorKind, Exported, FieldChange, Findings, Health, Inventory,
    Lookup, MatchKind, Portable, Proposal, Record, RecordRef, Subject,
};

use crate::api::{self, Api};
use crate::config::{ItGlueConfig, Region};
use crate::mapping::{self, CONTACT};

/// The IT Glue connector for one account.
#[derive(Debug)]
pub struct ItGlue {
    api: Api,
    region: Region,
}

impl ItGlue {
    /// Build from settings; resolves the API key now so a missing one is reported at start.
    pub fn new(config: ItGlueConfig, secrets: &Secrets) -> Result<Self, ConnectorError> {
        config.validate().map_err(ConnectorError::invalid)?;
        let headers = vec![(
            "x-api-key".parse().expect("header name"),
            HeaderSource::Secret(config.api_key.clone()),
        )];
        let auth = SecretHeaders::new(
            secrets.clone(),
            headers,
            "IT Glue rejected the API key (403): check it, and that it was not revoked after 90 days unused",
        )
        .map_err(|e| ConnectorError::new(ErrorKind::Auth, format!("processors.itglue.api_key: {e}")))?;
        let http = HttpClient::new(
            config.api_root(),
            api::profile(),
            config.http.clone(),
            Arc::new(auth),
        )?;
        Ok(ItGlue {
            api: Api::new(http),
            region: config.region,
        })
    }
}

#[async_trait]
impl Connector for ItGlue {
    fn describe(&self) -> Description {
        Description {
            id: crate::ID.into(),
            display_name: "IT Glue".into(),
            capabilities: vec![
                Capability::Access,
                Capability::Erase,
                Capability::Anonymize,
                Capability::Rectify,
            ],
            categories: vec![
                Category::Name,
                Category::Email,
                Category::Phone,
                Category::JobTitle,
                Category::Company,
            ],
            location: self.region.location(),
        }
    }

    async fn check(&self) -> Result<Health, ConnectorError> {
        let organizations = self.api.count("organizations").await?;
        Ok(Health {
            authenticated: true,
            rate_limit_remaining: None,
            detail: format!(
                "{}: {organizations} organizations reachable",
                self.region.location().region
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

    /// One scan of all contacts serves every subject: IT Glue cannot filter on secondary
    /// addresses, and a scan costs one request per 1000 contacts.
    async fn discover_batch(
        &self,
        subjects: &[Subject],
    ) -> Result<Vec<Vec<Record>>, ConnectorError> {
        let contacts = self.api.all_contacts().await?;
        let mut results = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let mut found = Findings::default();
            for contact in &contacts {
                if let Some(kind) = mapping::contact_match(contact, subject) {
                    found.add(mapping::contact_record(contact, kind).ok_or_else(|| {
                        ConnectorError::permanent("IT Glue returned a contact without an id")
                    })?);
                }
            }
            results.push(found.into_vec());
        }
        Ok(results)
    }

    /// A contact, read afresh by id (`GET /contacts/{id}`); a 404 is gone.
    async fn lookup(&self, reference: &RecordRef) -> Result<Lookup, ConnectorError> {
        if reference.object != CONTACT {
            return Ok(Lookup::Unsupported);
        }
        let contact = match self.api.show("contacts", reference.numeric_id()?).await {
            Ok(contact) => contact,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(Lookup::Gone),
            Err(e) => return Err(e),
        };
        let record = mapping::contact_record(&contact, MatchKind::VendorId)
            .ok_or_else(|| ConnectorError::permanent("IT Glue returned a contact without an id"))?;
        Ok(Lookup::Found(Box::new(record)))
    }

    /// `place` is an organisation's name (compared without case; it must name exactly one):
    /// each of its contacts is an applicant, whose procedure ended when the contact last
    /// changed (`updated-at`: moving a contact into the organisation is a change). The
    /// organisation should hold rejected applicants only, e.g. "Afgewezen sollicitanten".
    async fn applicants(
        &self,
        place: &str,
        ended_before: jiff::civil::Date,
    ) -> Result<Option<Vec<Applicant>>, ConnectorError> {
        let named: Vec<_> = self
            .api
            .organizations_named(place)
            .await?
            .into_iter()
            .filter(|o| {
                o["attributes"]["name"]
                    .as_str()
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(place.trim()))
            })
            .collect();
        let organization = match named.as_slice() {
            [one] => mapping::id_of(one).ok_or_else(|| {
                ConnectorError::permanent("IT Glue returned an organization without an id")
            })?,
            [] => {
                return Err(ConnectorError::invalid(format!(
                    "IT Glue has no organization named `{place}`"
                )))
            }
            _ => {
                return Err(ConnectorError::invalid(format!(
                    "IT Glue has {} organizations named `{place}`: name one that is unique",
                    named.len()
                )))
            }
        };
        let mut applicants = Vec::new();
        for contact in self.api.contacts_of(organization).await? {
            // Only the organization asked for, whatever the filter answered.
            if contact["attributes"]["organization-id"].as_u64() != Some(organization) {
                continue;
            }
            let Some(changed) = mapping::updated_on(&contact) else {
                continue;
            };
            if changed >= ended_before {
                continue;
            }
            let record =
                mapping::contact_record(&contact, MatchKind::VendorId).ok_or_else(|| {
                    ConnectorError::permanent("IT Glue returned a contact without an id")
                })?;
            applicants.push(Applicant {
                subject: Subject {
                    emails: mapping::emails(&contact),
                    ..Subject::default()
                },
                records: vec![record.reference],
                last_activity: changed,
            });
        }
        Ok(Some(applicants))
    }

    /// A contact's own details (attributes); the organisation's notes and flags stay out.
    fn portable(&self, object: &str) -> Portable {
        match object {
            CONTACT => Portable::Fields(&["attributes"]),
            _ => Portable::All,
        }
    }

    async fn propose(
        &self,
        record: &RecordRef,
        change: &Change,
    ) -> Result<Option<Proposal>, ConnectorError> {
        if record.object != CONTACT {
            return Ok(None);
        }
        let contact = self.api.show("contacts", record.numeric_id()?).await?;
        Ok(Some(crate::rights::contact_proposal(&contact, change)))
    }

    async fn apply(
        &self,
        record: &RecordRef,
        changes: &[FieldChange],
    ) -> Result<(), ConnectorError> {
        if record.object != CONTACT {
            return Err(ConnectorError::invalid(format!(
                "IT Glue changes contacts only, not `{}`",
                record.object
            )));
        }
        self.api
            .update_contact(
                record.numeric_id()?,
                serde_json::Value::Object(dsrhub_connector::rights::new_values(changes)),
            )
            .await
    }

    async fn export(&self, record: &RecordRef) -> Result<Exported, ConnectorError> {
        if record.object != CONTACT {
            return Err(ConnectorError::invalid(format!(
                "IT Glue has no object type `{}`",
                record.object
            )));
        }
        let mut data = self.api.show("contacts", record.numeric_id()?).await?;
        if let Some(org) = data["attributes"]["organization-id"].as_u64() {
            data["organization"] =
                not_found_as_none(self.api.show("organizations", org).await)?.unwrap_or_default();
        }
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
        self.erase_batch(&[(record.clone(), action.clone())])
            .await
            .pop()
            .expect("one result per item")
    }

    /// Deletions go out as one bulk `DELETE /contacts`; anonymisations one `PATCH` each.
    async fn erase_batch(
        &self,
        items: &[(RecordRef, EraseAction)],
    ) -> Vec<Result<EraseOutcome, ConnectorError>> {
        let mut results: Vec<Option<Result<EraseOutcome, ConnectorError>>> =
            vec![None; items.len()];
        let mut deletions: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, (record, action)) in items.iter().enumerate() {
            let id = match (record.object.as_str(), record.numeric_id()) {
                (CONTACT, Ok(id)) => id,
                (CONTACT, Err(e)) => {
                    results[i] = Some(Err(e));
                    continue;
                }
                (other, _) => {
                    results[i] = Some(Err(ConnectorError::invalid(format!(
                        "IT Glue has no object type `{other}`"
                    ))));
                    continue;
                }
            };
            match action {
                EraseAction::Delete => {
                    deletions.insert(id, i);
                }
                EraseAction::Anonymize { fields } => {
                    let attributes = mapping::anonymized(fields);
                    let cleared = attributes
                        .as_object()
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default();
                    let result = not_found_as_none(self.api.update_contact(id, attributes).await)
                        .map(|done| {
                            done.map_or(EraseOutcome::AlreadyGone, |()| EraseOutcome::Anonymized {
                                fields: cleared,
                            })
                        });
                    results[i] = Some(result);
                }
            }
        }
        if !deletions.is_empty() {
            for (id, outcome) in self
                .delete_contacts(deletions.keys().copied().collect())
                .await
            {
                results[deletions[&id]] = Some(outcome);
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every item has a result"))
            .collect()
    }

    async fn inventory(&self) -> Result<Inventory, ConnectorError> {
        let mut counts = BTreeMap::new();
        counts.insert(
            "organization".to_string(),
            self.api.count("organizations").await?,
        );
        counts.insert(CONTACT.to_string(), self.api.count("contacts").await?);
        Ok(Inventory {
            counts,
            location: self.region.location(),
        })
    }
}

impl ItGlue {
    /// Bulk-delete `ids`. A bulk call fails whole when one id is gone, so on "not found" the
    /// connector asks which still exist and deletes just those: erasure stays idempotent.
    async fn delete_contacts(
        &self,
        ids: Vec<u64>,
    ) -> Vec<(u64, Result<EraseOutcome, ConnectorError>)> {
        let all = |ids: &[u64], outcome: Result<EraseOutcome, ConnectorError>| -> Vec<_> {
            ids.iter().map(|id| (*id, outcome.clone())).collect()
        };
        match self.api.delete_contacts(&ids).await {
            Ok(()) => return all(&ids, Ok(EraseOutcome::Deleted)),
            Err(e) if e.kind != ErrorKind::NotFound => return all(&ids, Err(e)),
            Err(_) => {}
        }
        let existing: BTreeSet<u64> = match self.api.contacts_by_id(&ids).await {
            Ok(found) => found.iter().filter_map(mapping::id_of).collect(),
            Err(e) => return all(&ids, Err(e)),
        };
        let (present, gone): (Vec<u64>, Vec<u64>) =
            ids.iter().partition(|id| existing.contains(id));
        let mut results = all(&gone, Ok(EraseOutcome::AlreadyGone));
        if !present.is_empty() {
            let outcome = self
                .api
                .delete_contacts(&present)
                .await
                .map(|()| EraseOutcome::Deleted);
            results.extend(all(&present, outcome));
        }
        results
    }
}
