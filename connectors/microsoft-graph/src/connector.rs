//! The [`Connector`] implementation.

use std::collections::BTreeMap;
use std::sync::Arc;

use dsrhub_connector::http::{HttpClient, Quota};
use dsrhub_connector::oauth::{ClientCredentials, ClientSecret, TokenEndpoint};
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::{
    async_trait, Applicant, Capability, Category, Connector, ConnectorError, DataLocation,
    Description, EraseAction, EraseOutcome, ErrorKind, Exported, Findings, Health, Inventory,
    Lookup, MatchKind, Record, RecordRef, Subject,
};
use serde_json::Value;

use crate::api::{self, Api, MailboxQuery, ADDRESSES_PER_QUERY};
use crate::config::GraphConfig;
use crate::mapping::{self, CONTACT, MESSAGE, USER};

/// The scope of app-only Graph tokens.
pub const SCOPE: &str = "https://graph.microsoft.com/.default";

/// What to tell a person whose app credentials were refused.
const HOW_TO_FIX: &str = "check the app registration's client secret (it may have expired) \
     and the tenant id, and store a valid secret where processors.microsoft-graph.client_secret points";

/// The Microsoft Graph connector for one tenant.
#[derive(Debug)]
pub struct MicrosoftGraph {
    api: Api,
    config: GraphConfig,
}

impl MicrosoftGraph {
    /// Build from settings; the client secret is read at every token call, so a rotated
    /// secret is picked up without a restart.
    pub fn new(config: GraphConfig, secrets: &Secrets) -> Result<Self, ConnectorError> {
        config.validate().map_err(ConnectorError::invalid)?;
        // Fail at start-up, not mid-request, when the secret is missing.
        secrets.resolve(&config.client_secret).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Auth,
                format!("processors.{}.client_secret: {e}", crate::ID),
            )
        })?;
        let endpoint = TokenEndpoint::new(
            crate::ID,
            config.token_url(),
            config.client_id.clone(),
            Some(ClientSecret::new(
                secrets.clone(),
                config.client_secret.clone(),
            )),
            config.http.clone(),
            Quota {
                requests: 30,
                per_seconds: 60.0,
            },
            HOW_TO_FIX,
        )?;
        let auth = ClientCredentials::new(endpoint, SCOPE);
        let http = HttpClient::new(
            config.graph_url.clone(),
            api::profile(),
            config.http.clone(),
            Arc::new(auth),
        )?;
        Ok(MicrosoftGraph {
            api: Api::new(http),
            config,
        })
    }

    /// Delete a former employee's account. Graph keeps a deleted user restorable for 30 days
    /// in `directory/deletedItems`, and purging it there is not supported with application
    /// permissions, so the outcome is "soft-deleted until" that date. A retry after a crash
    /// finds the user there (not in `/users`) and reports the same, instead of "already gone".
    async fn delete_user(&self, id: &str) -> Result<EraseOutcome, ConnectorError> {
        match self.api.user(id).await? {
            None => {}
            // Never delete an active account, whatever the plan says.
            Some(user) if user.get("accountEnabled").and_then(Value::as_bool) != Some(false) => {
                return Err(ConnectorError::new(
                    ErrorKind::Conflict,
                    "the account is active: offboard the employee first",
                ));
            }
            Some(_) => {
                self.api.delete(&["users", id]).await?;
            }
        }
        let Some(deleted) = self.api.deleted_user(id).await? else {
            return Ok(EraseOutcome::AlreadyGone);
        };
        let deleted_on = deleted
            .get("deletedDateTime")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .unwrap_or_else(jiff::Timestamp::now);
        let restorable_until = deleted_on
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date()
            .checked_add(jiff::Span::new().days(USER_RESTORE_DAYS))
            .map_err(|_| ConnectorError::permanent("Graph's deletedDateTime is out of range"))?;
        Ok(EraseOutcome::SoftDeleted { restorable_until })
    }

    /// Every configured mailbox's searches (contacts, messages), with the mailbox's index in
    /// the setting: what one `$batch` asks per group of addresses.
    fn mailbox_queries(&self) -> Vec<(usize, &str, MailboxQuery)> {
        self.config
            .mailboxes
            .iter()
            .enumerate()
            .flat_map(|(i, m)| {
                [MailboxQuery::Contacts, MailboxQuery::Messages].map(|kind| (i, m.as_str(), kind))
            })
            .collect()
    }

    fn mailbox<'a>(&self, record: &'a RecordRef) -> Result<&'a str, ConnectorError> {
        record.scope.as_deref().ok_or_else(|| {
            ConnectorError::invalid(format!("a {} needs its mailbox as scope", record.object))
        })
    }
}

fn unknown(record: &RecordRef) -> ConnectorError {
    ConnectorError::invalid(format!(
        "Microsoft Graph has no object type `{}`",
        record.object
    ))
}

fn bad() -> ConnectorError {
    ConnectorError::permanent("Graph returned an object without an id")
}

fn gone(record: &RecordRef) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::NotFound,
        format!("the {} no longer exists", record.object),
    )
}

/// How long Entra ID keeps a deleted user restorable in `directory/deletedItems`.
const USER_RESTORE_DAYS: i64 = 30;

/// EEA member states by ISO country code, for the tenant's data location.
const EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

#[async_trait]
impl Connector for MicrosoftGraph {
    fn describe(&self) -> Description {
        Description {
            id: crate::ID.into(),
            display_name: "Microsoft 365".into(),
            capabilities: vec![Capability::Access, Capability::Erase, Capability::Rectify],
            categories: vec![
                Category::Name,
                Category::Email,
                Category::Phone,
                Category::JobTitle,
                Category::Correspondence,
            ],
            location: DataLocation {
                region: "per tenant (see `dsrhub check` / inventory)".into(),
                eea: false,
            },
        }
    }

    async fn check(&self) -> Result<Health, ConnectorError> {
        let users = self.api.user_count().await?;
        for (i, mailbox) in self.config.mailboxes.iter().enumerate() {
            if !self.api.mailbox_exists(mailbox).await? {
                return Err(ConnectorError::invalid(format!(
                    "processors.{}.mailboxes[{i}] is not a user of the tenant (deleted, or a typo)",
                    crate::ID
                )));
            }
        }
        Ok(Health {
            authenticated: true,
            rate_limit_remaining: None,
            detail: format!(
                "{users} directory user(s); {} mailbox(es) configured",
                self.config.mailboxes.len()
            ),
        })
    }

    async fn discover(&self, subject: &Subject) -> Result<Vec<Record>, ConnectorError> {
        let mut found = Findings::default();
        self.discover_each(subject, &mut |record| {
            found.add(record);
            Ok(())
        })
        .await?;
        Ok(found.into_vec())
    }

    /// Users first, then the mailboxes through `$batch`; every record is handed over as its
    /// page arrives, so a mailbox with 100,000 matching messages is never held in memory.
    async fn discover_each(
        &self,
        subject: &Subject,
        sink: &mut (dyn FnMut(Record) -> Result<(), ConnectorError> + Send),
    ) -> Result<(), ConnectorError> {
        for emails in subject.emails.chunks(ADDRESSES_PER_QUERY) {
            for user in self.api.users_matching(emails).await? {
                if mapping::user_matches(&user, emails) {
                    sink(mapping::user_record(&user, &self.config.mailboxes).ok_or_else(bad)?)?;
                }
            }
            let queries = self.mailbox_queries();
            let keep = |i: usize, item: &Value| -> Result<(), ConnectorError> {
                let (_, mailbox, kind) = queries[i];
                let record = match kind {
                    MailboxQuery::Contacts if mapping::contact_matches(item, emails) => {
                        mapping::contact_record(mailbox, item)
                    }
                    MailboxQuery::Messages if mapping::message_matches(item, emails) => {
                        mapping::message_record(mailbox, item, self.config.delete_mail, emails)
                    }
                    _ => return Ok(()),
                };
                sink(record.ok_or_else(bad)?)
            };
            self.api.mailbox_queries(&queries, emails, keep).await?;
        }
        Ok(())
    }

    /// Several subjects' addresses share each query (five per users filter and per mailbox
    /// search, every mailbox's searches in one `$batch` of up to 20): a batch of 100 people
    /// with one address each takes 20 rounds, not 100. Each answer is matched on our side
    /// against every subject whose address the query carried, as a single search's answers
    /// are; whose a message is comes from all of that subject's addresses.
    async fn discover_batch(
        &self,
        subjects: &[Subject],
    ) -> Result<Vec<Vec<Record>>, ConnectorError> {
        // Every address once, with the subjects that have it.
        let mut owners: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut addresses: Vec<String> = Vec::new();
        for (i, subject) in subjects.iter().enumerate() {
            for email in &subject.emails {
                let key = email.trim().to_lowercase();
                if key.is_empty() {
                    continue;
                }
                let entry = owners.entry(key).or_default();
                if entry.is_empty() {
                    addresses.push(email.trim().to_string());
                }
                if !entry.contains(&i) {
                    entry.push(i);
                }
            }
        }
        let mut found: Vec<Findings> = subjects.iter().map(|_| Findings::default()).collect();
        let queries = self.mailbox_queries();
        for chunk in addresses.chunks(ADDRESSES_PER_QUERY) {
            // The subjects this query searches for.
            let mut whose: Vec<usize> = chunk
                .iter()
                .flat_map(|a| owners[&a.to_lowercase()].iter().copied())
                .collect();
            whose.sort_unstable();
            whose.dedup();
            for user in self.api.users_matching(chunk).await? {
                for &i in &whose {
                    if mapping::user_matches(&user, &subjects[i].emails) {
                        found[i].add(
                            mapping::user_record(&user, &self.config.mailboxes).ok_or_else(bad)?,
                        );
                    }
                }
            }
            let keep = |q: usize, item: &Value| -> Result<(), ConnectorError> {
                let (_, mailbox, kind) = queries[q];
                for &i in &whose {
                    let emails = &subjects[i].emails;
                    let record = match kind {
                        MailboxQuery::Contacts if mapping::contact_matches(item, emails) => {
                            mapping::contact_record(mailbox, item)
                        }
                        MailboxQuery::Messages if mapping::message_matches(item, emails) => {
                            mapping::message_record(mailbox, item, self.config.delete_mail, emails)
                        }
                        _ => continue,
                    };
                    found[i].add(record.ok_or_else(bad)?);
                }
                Ok(())
            };
            self.api.mailbox_queries(&queries, chunk, keep).await?;
        }
        Ok(found.into_iter().map(Findings::into_vec).collect())
    }

    async fn export(&self, record: &RecordRef) -> Result<Exported, ConnectorError> {
        let mut results = self.export_batch(std::slice::from_ref(record)).await;
        results.pop().expect("one result per record")
    }

    /// `place` is `mailbox/Folder name`: a top-level folder that holds rejected applicants'
    /// mail only. Each outside party of its messages (the sender, or the recipient of mail
    /// the mailbox sent) is an applicant, whose procedure ended with their last message
    /// there; their records are their messages in that folder, nothing else of the mailbox.
    async fn applicants(
        &self,
        place: &str,
        ended_before: jiff::civil::Date,
    ) -> Result<Option<Vec<Applicant>>, ConnectorError> {
        let Some((mailbox, folder)) = place.split_once('/') else {
            return Err(ConnectorError::invalid(
                "an applicants' place at Microsoft 365 is `mailbox/Folder name`",
            ));
        };
        let named: Vec<String> = self
            .api
            .folders_named(mailbox, folder)
            .await?
            .iter()
            .filter(|f| {
                f.get("displayName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(folder.trim()))
            })
            .filter_map(|f| f.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let folder_id = match named.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(ConnectorError::invalid(format!(
                    "the mailbox has no top-level folder named `{folder}`"
                )))
            }
            _ => {
                return Err(ConnectorError::invalid(format!(
                    "the mailbox has {} folders named `{folder}`: name one that is unique",
                    named.len()
                )))
            }
        };
        // Per applicant (by address, without case): the address, their messages, the last
        // day one of them arrived.
        let mut by: BTreeMap<String, (String, Vec<RecordRef>, jiff::civil::Date)> = BTreeMap::new();
        for message in self.api.messages_in_folder(mailbox, &folder_id).await? {
            if message.get("parentFolderId").and_then(Value::as_str) != Some(folder_id.as_str()) {
                continue;
            }
            let (Some(who), Some(id), Some(day)) = (
                mapping::applicant_of(mailbox, &message),
                message.get("id").and_then(Value::as_str),
                mapping::date_of(&message, "receivedDateTime"),
            ) else {
                continue;
            };
            let entry = by
                .entry(who.to_lowercase())
                .or_insert_with(|| (who.clone(), Vec::new(), day));
            entry.1.push(RecordRef::new(MESSAGE, id).scoped(mailbox));
            entry.2 = entry.2.max(day);
        }
        Ok(Some(
            by.into_values()
                .filter(|(_, _, last)| *last < ended_before)
                .map(|(address, records, last_activity)| Applicant {
                    subject: Subject {
                        emails: vec![address],
                        ..Subject::default()
                    },
                    records,
                    last_activity,
                })
                .collect(),
        ))
    }

    /// A message (kept as correspondence), read afresh by id; whose it is, from its parties
    /// ([`mapping::message_ownership_by_id`]). Users and contacts are never kept.
    /// Mail is correspondence: a message stays as it was sent and received, whatever right
    /// is exercised (its content is what was said then; the sender's copy is elsewhere).
    /// Users and contacts are not changed through this connector yet: a person does it in
    /// Microsoft 365.
    /// A user's and a contact's own details; a message whole (what the person wrote and
    /// received is theirs to take).
    fn portable(&self, object: &str) -> dsrhub_connector::Portable {
        use dsrhub_connector::Portable;
        match object {
            USER => Portable::Fields(&[
                "displayName",
                "givenName",
                "surname",
                "mail",
                "jobTitle",
                "mobilePhone",
                "businessPhones",
                "officeLocation",
            ]),
            CONTACT => Portable::Fields(&[
                "displayName",
                "givenName",
                "surname",
                "emailAddresses",
                "businessPhones",
                "mobilePhone",
                "homePhones",
                "jobTitle",
                "companyName",
                "businessAddress",
                "homeAddress",
            ]),
            _ => Portable::All,
        }
    }

    async fn propose(
        &self,
        record: &RecordRef,
        change: &dsrhub_connector::Change,
    ) -> Result<Option<dsrhub_connector::Proposal>, ConnectorError> {
        use crate::rights::{proposal, Kind};
        use dsrhub_connector::{Change, Proposal};
        let gone = || {
            ConnectorError::new(
                ErrorKind::NotFound,
                format!("the {} no longer exists", record.object),
            )
        };
        let (kind, entity) = match record.object.as_str() {
            USER => (Kind::User, self.api.user_for_change(&record.id).await?),
            CONTACT => (
                Kind::Contact,
                self.api.contact(self.mailbox(record)?, &record.id).await?,
            ),
            MESSAGE => {
                return Ok(Some(Proposal::not_applicable(match change {
                    Change::Rectify { .. } => {
                        "a message records what was written then and is not rewritten; a correction is sent as a new message if it matters"
                    }
                    Change::Restrict | Change::Restore { .. } => {
                        "a message is kept as it is; it is processed only to answer the person"
                    }
                    Change::Object { .. } => "newsletters are not sent from these mailboxes",
                })))
            }
            _ => return Err(unknown(record)),
        };
        let entity = entity.ok_or_else(gone)?;
        let entity = entity.as_object().ok_or_else(gone)?;
        Ok(Some(proposal(kind, entity, change)))
    }

    async fn apply(
        &self,
        record: &RecordRef,
        changes: &[dsrhub_connector::FieldChange],
    ) -> Result<(), ConnectorError> {
        let body = serde_json::Value::Object(dsrhub_connector::rights::new_values(changes));
        match record.object.as_str() {
            USER => self.api.patch(&["users", &record.id], &body).await,
            CONTACT => {
                self.api
                    .patch(
                        &["users", self.mailbox(record)?, "contacts", &record.id],
                        &body,
                    )
                    .await
            }
            _ => Err(ConnectorError::invalid(format!(
                "Microsoft 365 changes users and contacts only, not `{}`",
                record.object
            ))),
        }
    }

    async fn lookup(&self, reference: &RecordRef) -> Result<Lookup, ConnectorError> {
        if reference.object != MESSAGE {
            return Ok(Lookup::Unsupported);
        }
        let mailbox = self.mailbox(reference)?;
        let message = match self.export(reference).await {
            Ok(exported) => exported.data,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(Lookup::Gone),
            Err(e) => return Err(e),
        };
        let mut record =
            mapping::message_record(mailbox, &message, self.config.delete_mail, &[])
                .ok_or_else(|| ConnectorError::permanent("Graph returned a message without id"))?;
        record.ownership = mapping::message_ownership_by_id(mailbox, &message);
        record.matched_by = MatchKind::VendorId;
        Ok(Lookup::Found(Box::new(record)))
    }

    /// Exports go through `$batch`, 20 records a call: an access request with 100,000
    /// matching messages takes 5,000 calls, not 100,000.
    async fn export_batch(&self, records: &[RecordRef]) -> Vec<Result<Exported, ConnectorError>> {
        let urls: Result<Vec<_>, ConnectorError> = records
            .iter()
            .map(|r| match r.object.as_str() {
                USER => self.api.user_url(&r.id),
                CONTACT => self.api.contact_url(self.mailbox(r)?, &r.id),
                MESSAGE => self.api.message_url(self.mailbox(r)?, &r.id),
                _ => Err(unknown(r)),
            })
            .collect();
        let answers = match urls {
            Ok(urls) => self.api.get_many(&urls).await,
            Err(e) => Err(e),
        };
        match answers {
            Err(e) => records.iter().map(|_| Err(e.clone())).collect(),
            Ok(answers) => records
                .iter()
                .zip(answers)
                .map(|(record, answer)| {
                    Ok(Exported {
                        reference: record.clone(),
                        data: answer?.ok_or_else(|| gone(record))?,
                    })
                })
                .collect(),
        }
    }

    async fn erase(
        &self,
        record: &RecordRef,
        action: &EraseAction,
    ) -> Result<EraseOutcome, ConnectorError> {
        if !matches!(action, EraseAction::Delete) {
            return Err(ConnectorError::invalid(format!(
                "Microsoft Graph offers no anonymisation of a {}; delete it instead",
                record.object
            )));
        }
        let existed = match record.object.as_str() {
            USER => return self.delete_user(&record.id).await,
            CONTACT => {
                self.api
                    .permanent_delete(&["users", self.mailbox(record)?, "contacts", &record.id])
                    .await?
            }
            MESSAGE => {
                if !self.config.delete_mail {
                    return Err(ConnectorError::invalid(format!(
                        "mail is kept: processors.{}.delete_mail is off",
                        crate::ID
                    )));
                }
                self.api
                    .permanent_delete(&["users", self.mailbox(record)?, "messages", &record.id])
                    .await?
            }
            _ => return Err(unknown(record)),
        };
        Ok(if existed {
            EraseOutcome::Deleted
        } else {
            EraseOutcome::AlreadyGone
        })
    }

    async fn still_restorable(&self, record: &RecordRef) -> Result<bool, ConnectorError> {
        if record.object != USER {
            return Ok(false);
        }
        Ok(self.api.deleted_user(&record.id).await?.is_some())
    }

    async fn inventory(&self) -> Result<Inventory, ConnectorError> {
        let mut counts = BTreeMap::new();
        counts.insert(USER.to_string(), self.api.user_count().await?);
        counts.insert(
            "configured_mailbox".to_string(),
            self.config.mailboxes.len() as u64,
        );
        let location = match self.api.country().await? {
            Some(code) => DataLocation {
                eea: EEA.contains(&code.as_str()),
                region: format!("tenant country {code}"),
            },
            None => DataLocation {
                region: "unknown".into(),
                eea: false,
            },
        };
        Ok(Inventory { counts, location })
    }
}
