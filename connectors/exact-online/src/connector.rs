//! The [`Connector`] implementation.

use std::collections::BTreeMap;
use std::sync::Arc;

use dsrhub_connector::http::HttpClient;
use dsrhub_connector::oauth::{SecretTokenStore, TokenStore};
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::{
    async_trait, Capability, Category, Change, Connector, ConnectorError, ContractSignals,
    Description, EraseAction, EraseOutcome, Exported, FieldChange, Findings, Health, Inventory,
    Lookup, MatchKind, Portable, Proposal, Record, RecordRef, Subject,
};
use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use crate::api::{
    self, Api, Entity, ACCOUNTS, BANK_ACCOUNTS, CONTACTS, SALES_INVOICES, SUBSCRIPTIONS,
    TRANSACTION_LINES,
};
use crate::config::ExactOnlineConfig;
use crate::mapping::{
    self, ACCOUNT, BANK_ACCOUNT, CONTACT, IDS_PER_FILTER, SALES_INVOICE, TRANSACTION_LINE,
};

/// Addresses per `or`-filter in one discovery call.
const EMAILS_PER_FILTER: usize = 10;

/// Contacts and accounts an e-mail search found, before matching them to a subject.
#[derive(Default)]
struct Searched {
    contacts: Vec<Value>,
    accounts: Vec<Value>,
}

/// The Exact Online connector for one user, across their divisions.
#[derive(Debug)]
pub struct ExactOnline {
    pub(crate) api: Api,
    config: ExactOnlineConfig,
    divisions: OnceCell<Vec<u32>>,
}

impl ExactOnline {
    /// Build from settings. No call is made yet: the first one reads the stored sign-in.
    pub fn new(config: ExactOnlineConfig, secrets: &Secrets) -> Result<Self, ConnectorError> {
        let store = SecretTokenStore::new(secrets.clone(), config.tokens.clone());
        Self::with_token_store(config, secrets, Arc::new(store))
    }

    /// Build with the tokens kept in `store` instead of `config.tokens` (tests that simulate
    /// crashes, embedders with their own vault).
    pub fn with_token_store(
        config: ExactOnlineConfig,
        secrets: &Secrets,
        store: Arc<dyn TokenStore>,
    ) -> Result<Self, ConnectorError> {
        config.validate().map_err(ConnectorError::invalid)?;
        let auth = crate::login::auth(&config, secrets, store)?;
        let http = HttpClient::new(
            config.api_root(),
            api::profile(),
            config.http.clone(),
            Arc::new(auth),
        )?;
        Ok(ExactOnline {
            api: Api::new(http),
            config,
            divisions: OnceCell::new(),
        })
    }

    /// The divisions discovery covers: the configured ones, or all the user can access.
    pub(crate) async fn divisions(&self) -> Result<&[u32], ConnectorError> {
        self.divisions
            .get_or_try_init(|| async {
                if !self.config.divisions.is_empty() {
                    return Ok(self.config.divisions.clone());
                }
                let current = self.api.current_division().await?;
                let mut all = self.api.divisions(current).await?;
                if !all.contains(&current) {
                    all.push(current);
                }
                Ok(all)
            })
            .await
            .map(Vec::as_slice)
    }

    /// The contacts and accounts of `division` with one of `emails`, searched with OData `or`
    /// filters of [`EMAILS_PER_FILTER`] addresses (the URL stays short).
    async fn search(&self, division: u32, emails: &[String]) -> Result<Searched, ConnectorError> {
        let mut searched = Searched::default();
        for emails in emails.chunks(EMAILS_PER_FILTER) {
            let filter = mapping::any_equal(&["Email", "BusinessEmail"], emails)?;
            searched.contacts.extend(
                self.api
                    .list(division, CONTACTS, &filter, mapping::CONTACT_SELECT)
                    .await?,
            );
            let filter = mapping::any_equal(&["Email"], emails)?;
            searched.accounts.extend(
                self.api
                    .list(division, ACCOUNTS, &filter, mapping::ACCOUNT_SELECT)
                    .await?,
            );
        }
        Ok(searched)
    }

    /// `subject`'s records in `division`, from the contacts and accounts `searched` found
    /// (for this subject or for a whole batch: only exact matches of the subject's own
    /// addresses are taken), and what is linked to them.
    async fn discover_division(
        &self,
        division: u32,
        subject: &Subject,
        searched: &Searched,
        found: &mut Findings,
    ) -> Result<(), ConnectorError> {
        let emails = &subject.emails;
        let mut contacts = Vec::new();
        let mut accounts = Vec::new();
        let mut account_emails: BTreeMap<String, String> = BTreeMap::new();
        for contact in &searched.contacts {
            if mapping::email_matches(contact, &["Email", "BusinessEmail"], emails) {
                contacts.push(mapping::contact_record(division, contact).ok_or_else(bad)?);
            }
        }
        for account in &searched.accounts {
            if mapping::email_matches(account, &["Email"], emails) {
                let record = mapping::account_record(division, account).ok_or_else(bad)?;
                let email = account.get("Email").and_then(Value::as_str).unwrap_or("");
                account_emails.insert(record.reference.id.clone(), email.to_string());
                accounts.push(record);
            }
        }
        if contacts.is_empty() && accounts.is_empty() {
            return Ok(());
        }
        // Whose each matched account is: its contact persons other than the subject make it
        // a company's. An organisation's account is reviewed, and its invoices, payments and
        // bank accounts are not the subject's.
        let matched: Vec<String> = accounts.iter().map(|r| r.reference.id.clone()).collect();
        let mut others: BTreeMap<String, usize> = BTreeMap::new();
        for chunk in matched.chunks(IDS_PER_FILTER) {
            let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let filter = mapping::any_guid(&["Account"], &ids)?;
            for person in self
                .api
                .list(division, CONTACTS, &filter, mapping::CONTACT_SELECT)
                .await?
            {
                let theirs = ["Email", "BusinessEmail"].iter().any(|f| {
                    person
                        .get(*f)
                        .and_then(Value::as_str)
                        .is_some_and(|e| subject.has_email(e))
                });
                if let (false, Some(account)) = (theirs, mapping::guid(&person, "Account")) {
                    *others.entry(account).or_default() += 1;
                }
            }
        }
        for record in &mut accounts {
            let other_people = others.get(&record.reference.id).copied().unwrap_or(0);
            let email = account_emails
                .get(&record.reference.id)
                .map_or("", String::as_str);
            record.ownership = mapping::account_ownership(email, other_people);
            if !record.ownership.is_own() {
                record.erasability.delete = false;
                record.erasability.anonymize_fields.clear();
            }
        }
        let account_ids: Vec<String> = accounts
            .iter()
            .filter(|r| r.ownership.is_own())
            .map(|r| r.reference.id.clone())
            .collect();
        let contact_ids: Vec<String> = contacts.iter().map(|r| r.reference.id.clone()).collect();
        let mut linked: BTreeMap<RecordRef, (usize, usize)> = BTreeMap::new();

        // Sales invoices addressed to a matched account, or naming a matched contact.
        let parents: Vec<(&str, &str)> = account_ids
            .iter()
            .map(|id| (ACCOUNT, id.as_str()))
            .chain(contact_ids.iter().map(|id| (CONTACT, id.as_str())))
            .collect();
        for chunk in parents.chunks(IDS_PER_FILTER) {
            let of = |object: &str| -> Vec<&str> {
                chunk
                    .iter()
                    .filter(|(o, _)| *o == object)
                    .map(|(_, id)| *id)
                    .collect()
            };
            let (accounts_here, contacts_here) = (of(ACCOUNT), of(CONTACT));
            let mut terms = Vec::new();
            if !accounts_here.is_empty() {
                terms.push(mapping::any_guid(
                    &["InvoiceTo", "OrderedBy"],
                    &accounts_here,
                )?);
            }
            if !contacts_here.is_empty() {
                terms.push(mapping::any_guid(
                    &["InvoiceToContactPerson", "OrderedByContactPerson"],
                    &contacts_here,
                )?);
            }
            let filter = terms.join(" or ");
            for invoice in self
                .api
                .list(division, SALES_INVOICES, &filter, mapping::INVOICE_SELECT)
                .await?
            {
                let owner = ["InvoiceTo", "OrderedBy"]
                    .iter()
                    .filter_map(|f| mapping::guid(&invoice, f))
                    .find(|id| accounts_here.contains(&id.as_str()))
                    .map(|id| (ACCOUNT, id))
                    .or_else(|| {
                        ["InvoiceToContactPerson", "OrderedByContactPerson"]
                            .iter()
                            .filter_map(|f| mapping::guid(&invoice, f))
                            .find(|id| contacts_here.contains(&id.as_str()))
                            .map(|id| (CONTACT, id))
                    });
                let Some((object, id)) = owner else { continue };
                let parent = RecordRef::new(object, id).scoped(division.to_string());
                linked.entry(parent.clone()).or_default().0 += 1;
                found.add(mapping::invoice_record(division, &invoice, parent).ok_or_else(bad)?);
            }
        }
        for chunk in account_ids.chunks(IDS_PER_FILTER) {
            let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let filter = mapping::any_guid(&["Account"], &ids)?;
            // The matched accounts' bank accounts (IBAN, holder's name).
            for bank in self
                .api
                .list(
                    division,
                    BANK_ACCOUNTS,
                    &filter,
                    mapping::BANK_ACCOUNT_SELECT,
                )
                .await?
            {
                let Some(account) = mapping::guid(&bank, "Account") else {
                    continue;
                };
                let parent = RecordRef::new(ACCOUNT, account).scoped(division.to_string());
                found.add(mapping::bank_account_record(division, &bank, parent).ok_or_else(bad)?);
            }
            // Other transactions (payments, memorial entries) of a matched account.
            for line in self
                .api
                .list(division, TRANSACTION_LINES, &filter, mapping::LINE_SELECT)
                .await?
            {
                let Some(account) = mapping::guid(&line, "Account") else {
                    continue;
                };
                let parent = RecordRef::new(ACCOUNT, account).scoped(division.to_string());
                linked.entry(parent.clone()).or_default().1 += 1;
                found.add(mapping::line_record(division, &line, parent).ok_or_else(bad)?);
            }
        }
        // The own accounts' subscriptions: contract data while one runs, and for
        // `contract_retention_months` after the last one stopped.
        let mut subscriptions: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for chunk in account_ids.chunks(IDS_PER_FILTER) {
            let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let filter = mapping::any_guid(&["OrderedBy", "InvoiceTo"], &ids)?;
            for subscription in self
                .api
                .list(
                    division,
                    SUBSCRIPTIONS,
                    &filter,
                    mapping::SUBSCRIPTION_SELECT,
                )
                .await?
            {
                let mut of: Vec<String> = ["OrderedBy", "InvoiceTo"]
                    .iter()
                    .filter_map(|f| mapping::guid(&subscription, f))
                    .filter(|id| chunk.contains(id))
                    .collect();
                of.dedup();
                for account in of {
                    subscriptions
                        .entry(account)
                        .or_default()
                        .push(subscription.clone());
                }
            }
        }
        let today = jiff::ZonedDateTime::now().date();
        for record in accounts.iter_mut().filter(|r| r.ownership.is_own()) {
            if let Some(list) = subscriptions.get(&record.reference.id) {
                let list: Vec<&Value> = list.iter().collect();
                record.retention = mapping::subscription_hint(&list, today);
            }
        }
        for mut record in contacts.into_iter().chain(accounts) {
            if let Some((invoices, lines)) = linked.get(&record.reference) {
                record.erasability.delete_blocked = Some(match lines {
                    0 => format!("used on {invoices} sales invoice(s)"),
                    _ => format!("{invoices} sales invoice(s) and {lines} transaction line(s)"),
                });
            }
            found.add(record);
        }
        Ok(())
    }

    /// Whether deleting `record` would be refused: checked before a delete is tried, because
    /// every failed call counts towards Exact's 10-errors-per-hour block.
    async fn linkage(
        &self,
        division: u32,
        record: &RecordRef,
    ) -> Result<Option<String>, ConnectorError> {
        let id = [record.id.as_str()];
        let checks: Vec<(Entity, String, &str)> = match record.object.as_str() {
            CONTACT => vec![(
                SALES_INVOICES,
                mapping::any_guid(&["InvoiceToContactPerson", "OrderedByContactPerson"], &id)?,
                "used on sales invoices",
            )],
            ACCOUNT => vec![
                (
                    SALES_INVOICES,
                    mapping::any_guid(&["InvoiceTo", "OrderedBy"], &id)?,
                    "has sales invoices",
                ),
                (
                    TRANSACTION_LINES,
                    mapping::any_guid(&["Account"], &id)?,
                    "has transactions",
                ),
                (
                    CONTACTS,
                    mapping::any_guid(&["Account"], &id)?,
                    "still has contact persons",
                ),
                (
                    SUBSCRIPTIONS,
                    mapping::any_guid(&["OrderedBy", "InvoiceTo"], &id)?,
                    "has subscriptions",
                ),
                (
                    BANK_ACCOUNTS,
                    mapping::any_guid(&["Account"], &id)?,
                    "still has bank accounts",
                ),
            ],
            _ => Vec::new(),
        };
        for (entity, filter, why) in checks {
            if self.api.any(division, entity, &filter).await? {
                return Ok(Some(why.to_string()));
            }
        }
        Ok(None)
    }
}

fn entity_of(record: &RecordRef) -> Result<Entity, ConnectorError> {
    match record.object.as_str() {
        CONTACT => Ok(CONTACTS),
        ACCOUNT => Ok(ACCOUNTS),
        BANK_ACCOUNT => Ok(BANK_ACCOUNTS),
        SALES_INVOICE => Ok(SALES_INVOICES),
        TRANSACTION_LINE => Ok(TRANSACTION_LINES),
        other => Err(ConnectorError::invalid(format!(
            "Exact Online has no object type `{other}`"
        ))),
    }
}

impl ExactOnline {
    /// The contact or account at `record` as Exact has it now; not found is an error.
    async fn current(&self, record: &RecordRef) -> Result<Map<String, Value>, ConnectorError> {
        self.api
            .get(division_of(record)?, entity_of(record)?, &record.id)
            .await?
            .ok_or_else(|| {
                ConnectorError::new(
                    dsrhub_connector::ErrorKind::NotFound,
                    format!("the {} no longer exists", record.object),
                )
            })
    }
}

fn division_of(record: &RecordRef) -> Result<u32, ConnectorError> {
    record
        .scope
        .as_deref()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            ConnectorError::invalid(format!("{} needs its division as scope", record.object))
        })
}

fn bad() -> ConnectorError {
    ConnectorError::permanent("Exact Online returned an entity without a valid id")
}

#[async_trait]
impl Connector for ExactOnline {
    fn describe(&self) -> Description {
        Description {
            id: crate::ID.into(),
            display_name: "Exact Online".into(),
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
                Category::Address,
                Category::Phone,
                Category::Email,
                Category::Iban,
                Category::Company,
                Category::Financial,
            ],
            location: self.config.location(),
        }
    }

    async fn check(&self) -> Result<Health, ConnectorError> {
        let divisions = self.divisions().await?;
        Ok(Health {
            authenticated: true,
            rate_limit_remaining: None,
            detail: format!("signed in; {} division(s) reachable", divisions.len()),
        })
    }

    async fn discover(&self, subject: &Subject) -> Result<Vec<Record>, ConnectorError> {
        let mut found = Findings::default();
        for &division in self.divisions().await? {
            let searched = self.search(division, &subject.emails).await?;
            self.discover_division(division, subject, &searched, &mut found)
                .await?;
        }
        Ok(found.into_vec())
    }

    /// Every subject's addresses in the same `or` filters (chunked to keep the URL short),
    /// once per division; then what is linked, only for subjects something matched.
    async fn discover_batch(
        &self,
        subjects: &[Subject],
    ) -> Result<Vec<Vec<Record>>, ConnectorError> {
        let mut emails: Vec<String> = subjects.iter().flat_map(|s| s.emails.clone()).collect();
        emails.sort_by_key(|e| e.to_lowercase());
        emails.dedup_by_key(|e| e.to_lowercase());
        let mut found: Vec<Findings> = subjects.iter().map(|_| Findings::default()).collect();
        for &division in self.divisions().await? {
            let searched = self.search(division, &emails).await?;
            for (subject, found) in subjects.iter().zip(found.iter_mut()) {
                self.discover_division(division, subject, &searched, found)
                    .await?;
            }
        }
        Ok(found.into_iter().map(Findings::into_vec).collect())
    }

    /// Contacts', accounts' and bank accounts' own details; booked invoices and transaction
    /// lines are the organisation's books, kept under a legal duty.
    fn portable(&self, object: &str) -> Portable {
        match object {
            CONTACT => Portable::Fields(crate::rights::PORTABLE_CONTACT),
            ACCOUNT => Portable::Fields(crate::rights::PORTABLE_ACCOUNT),
            BANK_ACCOUNT => Portable::Fields(&["BankAccount", "BankAccountHolderName", "BICCode"]),
            _ => Portable::Not(
                "a booked document is the organisation's record, kept under the fiscal duty (not consent or contract)",
            ),
        }
    }

    async fn propose(
        &self,
        record: &RecordRef,
        change: &Change,
    ) -> Result<Option<Proposal>, ConnectorError> {
        let object = record.object.as_str();
        if !matches!(object, CONTACT | ACCOUNT) {
            entity_of(record)?;
            return Ok(Some(crate::rights::books_proposal(object, change)));
        }
        let found = self.current(record).await?;
        Ok(Some(if object == CONTACT {
            crate::rights::contact_proposal(&found, change)
        } else {
            crate::rights::account_proposal(&found, change)
        }))
    }

    async fn apply(
        &self,
        record: &RecordRef,
        changes: &[FieldChange],
    ) -> Result<(), ConnectorError> {
        if !matches!(record.object.as_str(), CONTACT | ACCOUNT) {
            return Err(ConnectorError::invalid(format!(
                "Exact Online changes contacts and accounts only, not `{}`",
                record.object
            )));
        }
        // Asked first: a PUT to a key that is gone answers 404, which counts against Exact's
        // error budget.
        self.current(record).await?;
        self.api
            .update(
                division_of(record)?,
                entity_of(record)?,
                &record.id,
                &dsrhub_connector::rights::new_values(changes),
            )
            .await
    }

    async fn export(&self, record: &RecordRef) -> Result<Exported, ConnectorError> {
        let entity = entity_of(record)?;
        let data = self
            .api
            .get(division_of(record)?, entity, &record.id)
            .await?
            .ok_or_else(|| {
                ConnectorError::new(
                    dsrhub_connector::ErrorKind::NotFound,
                    format!("the {} no longer exists", record.object),
                )
            })?;
        Ok(Exported {
            reference: record.clone(),
            data: Value::Object(data),
        })
    }

    async fn erase(
        &self,
        record: &RecordRef,
        action: &EraseAction,
    ) -> Result<EraseOutcome, ConnectorError> {
        let division = division_of(record)?;
        let entity = entity_of(record)?;
        if matches!(record.object.as_str(), SALES_INVOICE | TRANSACTION_LINE) {
            return Err(ConnectorError::invalid(format!(
                "a {} is a booked document: Exact Online keeps it in the books",
                record.object
            )));
        }
        match action {
            EraseAction::Delete => {
                if let Some(why) = self.linkage(division, record).await? {
                    return Err(ConnectorError::new(
                        dsrhub_connector::ErrorKind::Conflict,
                        format!(
                            "Exact Online would refuse the delete: the {} {why}",
                            record.object
                        ),
                    ));
                }
                let existed = self.api.delete(division, entity, &record.id).await?;
                Ok(if existed {
                    EraseOutcome::Deleted
                } else {
                    EraseOutcome::AlreadyGone
                })
            }
            EraseAction::Anonymize { fields } => {
                if self.api.get(division, entity, &record.id).await?.is_none() {
                    return Ok(EraseOutcome::AlreadyGone);
                }
                let changes = mapping::anonymized_changes(&record.object, fields);
                self.api
                    .update(division, entity, &record.id, &changes)
                    .await?;
                // Read back: a personal property Exact kept (or derives from one it kept) is
                // a failed anonymisation, not a done one.
                let after = self
                    .api
                    .get(division, entity, &record.id)
                    .await?
                    .unwrap_or_default();
                ConnectorError::unless_cleared(
                    "Exact Online",
                    &record.object,
                    &mapping::still_personal(&record.object, &after, fields),
                )?;
                Ok(EraseOutcome::Anonymized {
                    fields: changes.keys().cloned().collect(),
                })
            }
        }
    }

    /// A booked document (a sales invoice or a transaction line, kept for the fiscal duty),
    /// read afresh by id with its date; asked as a `$filter` on the key, so a record that is
    /// gone costs no 404 against Exact's error budget. Accounts and contact persons are for
    /// a person: whether one is the subject's own needs the subject's addresses.
    async fn lookup(&self, reference: &RecordRef) -> Result<Lookup, ConnectorError> {
        let entity = match reference.object.as_str() {
            SALES_INVOICE => SALES_INVOICES,
            TRANSACTION_LINE => TRANSACTION_LINES,
            _ => return Ok(Lookup::Unsupported),
        };
        let division = division_of(reference)?;
        let Some(found) = self.api.get(division, entity, &reference.id).await? else {
            return Ok(Lookup::Gone);
        };
        let found = Value::Object(found);
        // The account it is booked on (the invoiced one first).
        let owner = ["InvoiceTo", "OrderedBy", "Account"]
            .iter()
            .find_map(|f| mapping::guid(&found, f))
            .unwrap_or_default();
        let parent = RecordRef::new(ACCOUNT, owner).scoped(division.to_string());
        let mut record = if reference.object == SALES_INVOICE {
            mapping::invoice_record(division, &found, parent)
        } else {
            mapping::line_record(division, &found, parent)
        }
        .ok_or_else(bad)?;
        record.matched_by = MatchKind::VendorId;
        Ok(Lookup::Found(Box::new(record)))
    }

    /// From sales invoices and subscriptions, per account (`crate::contracts`).
    async fn contracts_ended(
        &self,
        ended_before: jiff::civil::Date,
    ) -> Result<Option<ContractSignals>, ConnectorError> {
        self.contract_signals(ended_before).await.map(Some)
    }

    async fn inventory(&self) -> Result<Inventory, ConnectorError> {
        let mut counts = BTreeMap::new();
        for &division in self.divisions().await? {
            for (object, entity) in [
                (ACCOUNT, ACCOUNTS),
                (CONTACT, CONTACTS),
                (SALES_INVOICE, SALES_INVOICES),
            ] {
                let n = self.api.count(division, entity).await?;
                *counts.entry(object.to_string()).or_insert(0) += n;
                counts.insert(format!("{object}@{division}"), n);
            }
        }
        Ok(Inventory {
            counts,
            location: self.config.location(),
        })
    }
}
