//! The sweep's `contract_ended` signal: when an account's agreement ended, from its sales
//! invoices and subscriptions, in every division.
//!
//! An account's agreement ended on the later of its last sales invoice (`InvoiceDate`, as the
//! invoiced or ordering account) and its last subscription's end (the cancellation date or the
//! end date, whichever came first); a subscription still running means it has not ended. An
//! account with neither is no customer: no signal. Four walks per division (accounts,
//! contacts, sales invoices, subscriptions); Exact requires a `$filter` on these lists
//! ("mandatory filtering"), so each walk filters on a field every row has (`… ne null`).

use std::collections::{BTreeMap, BTreeSet};

use dsrhub_connector::{
    is_role_address, ConnectorError, ContractSignals, EndedContract, RetentionHint, Subject,
};
use jiff::civil::Date;
use serde_json::Value;

use crate::api::{ACCOUNTS, CONTACTS, SALES_INVOICES, SUBSCRIPTIONS};
use crate::connector::ExactOnline;
use crate::mapping;

/// What one account's documents say.
#[derive(Default)]
struct Account {
    last_invoice: Option<Date>,
    subscriptions: Vec<Value>,
}

impl ExactOnline {
    /// The people whose account's agreement ended before `ended_before`, and every address
    /// of an account whose agreement has not.
    pub(crate) async fn contract_signals(
        &self,
        ended_before: Date,
    ) -> Result<ContractSignals, ConnectorError> {
        let today = jiff::ZonedDateTime::now().date();
        let mut signals = ContractSignals::default();
        let mut ended: BTreeMap<String, EndedContract> = BTreeMap::new();
        for &division in self.divisions().await? {
            let api = &self.api;
            let mut of: BTreeMap<String, Account> = BTreeMap::new();
            for invoice in api
                .list(
                    division,
                    SALES_INVOICES,
                    "InvoiceTo ne null",
                    mapping::INVOICE_SELECT,
                )
                .await?
            {
                let date = invoice
                    .get("InvoiceDate")
                    .and_then(Value::as_str)
                    .and_then(mapping::odata_date);
                for account in accounts_of(&invoice) {
                    let last = &mut of.entry(account).or_default().last_invoice;
                    *last = (*last).max(date);
                }
            }
            for subscription in api
                .list(
                    division,
                    SUBSCRIPTIONS,
                    "OrderedBy ne null",
                    mapping::SUBSCRIPTION_SELECT,
                )
                .await?
            {
                for account in accounts_of(&subscription) {
                    of.entry(account)
                        .or_default()
                        .subscriptions
                        .push(subscription.clone());
                }
            }
            if of.is_empty() {
                continue;
            }
            let accounts = api
                .list(division, ACCOUNTS, "ID ne null", mapping::ACCOUNT_SELECT)
                .await?;
            let mut people: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for contact in api
                .list(
                    division,
                    CONTACTS,
                    "Account ne null",
                    mapping::CONTACT_SELECT,
                )
                .await?
            {
                if let Some(account) = mapping::guid(&contact, "Account") {
                    people
                        .entry(account)
                        .or_default()
                        .extend(addresses(&contact, &["Email", "BusinessEmail"]));
                }
            }
            for account in &accounts {
                let Some(id) = mapping::guid(account, "ID") else {
                    continue;
                };
                let Some(documents) = of.get(&id) else {
                    continue;
                };
                let own = addresses(account, &["Email"]);
                let theirs = people.get(&id).cloned().unwrap_or_default();
                let subscriptions: Vec<&Value> = documents.subscriptions.iter().collect();
                let (running, stopped) = match mapping::subscription_hint(&subscriptions, today) {
                    Some(RetentionHint::Contract { ended: None, .. }) => (true, None),
                    Some(RetentionHint::Contract { ended, .. }) => (false, ended),
                    _ => (false, None),
                };
                let ended_on = documents.last_invoice.max(stopped);
                // A customer still: every address of the account, its own included, is under
                // an agreement.
                if running || ended_on.is_some_and(|d| d >= ended_before) {
                    signals.ongoing.extend(own.into_iter().chain(theirs));
                    continue;
                }
                let Some(ended_on) = ended_on else {
                    continue;
                };
                let mut signal = Vec::new();
                if let Some(date) = documents.last_invoice {
                    signal.push(format!("last invoice {date}"));
                }
                if let Some(date) = stopped {
                    signal.push(format!("subscription stopped {date}"));
                }
                // Each person a subject of their own: the account's contact persons, and the
                // account's own address when it has none (a private customer). A role address
                // (info@, balie@) is the company's, not a person's.
                let subjects = if theirs.is_empty() { own } else { theirs };
                let mut seen = BTreeSet::new();
                for email in subjects {
                    if is_role_address(&email) || !seen.insert(email.to_lowercase()) {
                        continue;
                    }
                    let signal = format!("division {division}: {}", signal.join("; "));
                    // The same person in several divisions: one subject, the latest end.
                    match ended.get_mut(&email.to_lowercase()) {
                        Some(earlier) => {
                            earlier.ended_on = earlier.ended_on.max(ended_on);
                            earlier.signal = format!("{}; {signal}", earlier.signal);
                        }
                        None => {
                            ended.insert(
                                email.to_lowercase(),
                                EndedContract {
                                    subject: Subject {
                                        emails: vec![email],
                                        ..Subject::default()
                                    },
                                    ended_on,
                                    signal,
                                },
                            );
                        }
                    }
                }
            }
        }
        signals.ended = ended.into_values().collect();
        signals.ongoing.sort_by_key(|a| a.to_lowercase());
        signals.ongoing.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        Ok(signals)
    }
}

/// The accounts a sales invoice or subscription belongs to (invoiced or ordering), once each.
fn accounts_of(document: &Value) -> BTreeSet<String> {
    ["InvoiceTo", "OrderedBy"]
        .iter()
        .filter_map(|f| mapping::guid(document, f))
        .collect()
}

/// The non-empty addresses in `fields` of `entity`.
fn addresses(entity: &Value, fields: &[&str]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|f| entity.get(*f).and_then(Value::as_str))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}
