//! The fake's data: divisions holding accounts, contacts, bank accounts, sales invoices,
//! transaction lines and subscriptions as Exact's JSON entities, and the rules Exact applies to changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Fields holding a calendar date: stored as `YYYY-MM-DD`, served as `/Date(ms)/`.
pub const DATE_FIELDS: &[&str] = &[
    "InvoiceDate",
    "Date",
    "BirthDate",
    "StartDate",
    "EndDate",
    "CancellationDate",
];

/// The signed-in user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    /// The user's GUID.
    #[serde(rename = "UserID")]
    pub user_id: String,
    /// Display name.
    pub full_name: String,
    /// The division `current/Me` names.
    pub current_division: u32,
}

/// One division (administration).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Division {
    /// The division's name.
    pub description: String,
    /// `crm/Accounts`, by `ID`.
    pub accounts: BTreeMap<String, Value>,
    /// `crm/Contacts`, by `ID`.
    pub contacts: BTreeMap<String, Value>,
    /// `crm/BankAccounts`, by `ID`.
    #[serde(default)]
    pub bank_accounts: BTreeMap<String, Value>,
    /// `salesinvoice/SalesInvoices`, by `InvoiceID`.
    pub sales_invoices: BTreeMap<String, Value>,
    /// `financialtransaction/TransactionLines`, by `ID`.
    pub transaction_lines: BTreeMap<String, Value>,
    /// `subscription/Subscriptions`, by `EntryID`.
    #[serde(default)]
    pub subscriptions: BTreeMap<String, Value>,
}

/// Seed and state share one shape.
pub type Seed = State;

/// The whole fake tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// The signed-in user.
    pub user: User,
    /// Divisions by code.
    pub divisions: BTreeMap<u32, Division>,
}

/// An entity set the fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// `crm/Accounts`.
    Accounts,
    /// `crm/Contacts`.
    Contacts,
    /// `crm/BankAccounts`.
    BankAccounts,
    /// `salesinvoice/SalesInvoices`.
    SalesInvoices,
    /// `financialtransaction/TransactionLines`.
    TransactionLines,
    /// `subscription/Subscriptions`.
    Subscriptions,
}

impl Set {
    /// `service/Entity` → the set.
    pub fn from_path(service: &str, entity: &str) -> Option<Set> {
        match (service, entity) {
            ("crm", "Accounts") => Some(Set::Accounts),
            ("crm", "Contacts") => Some(Set::Contacts),
            ("crm", "BankAccounts") => Some(Set::BankAccounts),
            ("salesinvoice", "SalesInvoices") => Some(Set::SalesInvoices),
            ("financialtransaction", "TransactionLines") => Some(Set::TransactionLines),
            ("subscription", "Subscriptions") => Some(Set::Subscriptions),
            _ => None,
        }
    }

    /// The key property.
    pub fn key(self) -> &'static str {
        match self {
            Set::SalesInvoices => "InvoiceID",
            Set::Subscriptions => "EntryID",
            _ => "ID",
        }
    }

    /// Exact's entity type name, for error texts.
    pub fn name(self) -> &'static str {
        match self {
            Set::Accounts => "Account",
            Set::Contacts => "Contact",
            Set::BankAccounts => "BankAccount",
            Set::SalesInvoices => "SalesInvoice",
            Set::TransactionLines => "TransactionLine",
            Set::Subscriptions => "Subscription",
        }
    }

    /// Whether the API lets clients change or delete it (booked documents: no).
    pub fn writable(self) -> bool {
        matches!(self, Set::Accounts | Set::Contacts | Set::BankAccounts)
    }
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// No such entity.
    NotFound,
    /// Refused, with Exact's message.
    BadRequest(String),
}

impl Division {
    /// One entity set.
    pub fn set(&self, set: Set) -> &BTreeMap<String, Value> {
        match set {
            Set::Accounts => &self.accounts,
            Set::Contacts => &self.contacts,
            Set::BankAccounts => &self.bank_accounts,
            Set::SalesInvoices => &self.sales_invoices,
            Set::TransactionLines => &self.transaction_lines,
            Set::Subscriptions => &self.subscriptions,
        }
    }

    fn set_mut(&mut self, set: Set) -> &mut BTreeMap<String, Value> {
        match set {
            Set::Accounts => &mut self.accounts,
            Set::Contacts => &mut self.contacts,
            Set::BankAccounts => &mut self.bank_accounts,
            Set::SalesInvoices => &mut self.sales_invoices,
            Set::TransactionLines => &mut self.transaction_lines,
            Set::Subscriptions => &mut self.subscriptions,
        }
    }

    fn refers_to(items: &BTreeMap<String, Value>, fields: &[&str], id: &str) -> bool {
        items.values().any(|e| {
            fields.iter().any(|f| {
                e.get(*f)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(id))
            })
        })
    }

    /// Exact refuses to delete what the books still use.
    pub fn delete(&mut self, set: Set, id: &str) -> Result<(), Refusal> {
        if !set.writable() {
            return Err(Refusal::BadRequest(format!(
                "{} cannot be deleted: it is booked",
                set.name()
            )));
        }
        if !self.set(set).contains_key(id) {
            return Err(Refusal::NotFound);
        }
        let used = match set {
            Set::Contacts => Self::refers_to(
                &self.sales_invoices,
                &["InvoiceToContactPerson", "OrderedByContactPerson"],
                id,
            ),
            Set::Accounts => {
                Self::refers_to(&self.sales_invoices, &["InvoiceTo", "OrderedBy"], id)
                    || Self::refers_to(&self.transaction_lines, &["Account"], id)
                    || Self::refers_to(&self.contacts, &["Account"], id)
                    || Self::refers_to(&self.bank_accounts, &["Account"], id)
                    || Self::refers_to(&self.subscriptions, &["OrderedBy", "InvoiceTo"], id)
            }
            _ => false,
        };
        if used {
            return Err(Refusal::BadRequest(format!(
                "{} is used elsewhere and cannot be deleted",
                set.name()
            )));
        }
        self.set_mut(set).remove(id);
        Ok(())
    }

    /// PUT: a partial update of known fields.
    pub fn update(
        &mut self,
        set: Set,
        id: &str,
        changes: &Map<String, Value>,
    ) -> Result<(), Refusal> {
        if !set.writable() {
            return Err(Refusal::BadRequest(format!(
                "{} cannot be changed: it is booked",
                set.name()
            )));
        }
        let key = set.key();
        let entity = self
            .set_mut(set)
            .get_mut(id)
            .and_then(Value::as_object_mut)
            .ok_or(Refusal::NotFound)?;
        for field in changes.keys() {
            if field == key || !entity.contains_key(field) && field != "Blocked" {
                return Err(Refusal::BadRequest(format!(
                    "'{field}' is not a property that can be changed"
                )));
            }
        }
        if set == Set::Accounts && changes.get("Name").is_some_and(|n| !n.is_string()) {
            return Err(Refusal::BadRequest("Name is mandatory".into()));
        }
        for (field, value) in changes {
            entity.insert(field.clone(), value.clone());
        }
        if set == Set::Contacts {
            let full: Vec<String> = ["FirstName", "MiddleName", "LastName"]
                .iter()
                .filter_map(|f| entity.get(*f).and_then(Value::as_str))
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            entity.insert("FullName".into(), Value::from(full.join(" ")));
            // The picture's URLs follow the (write-only) picture.
            if changes.get("Picture").is_some_and(Value::is_null) {
                entity.insert("PictureUrl".into(), Value::Null);
                entity.insert("PictureThumbnailUrl".into(), Value::Null);
            }
        }
        Ok(())
    }
}

impl State {
    /// The shipped fixtures (`fixtures/exact-online/seed.json`).
    pub fn fixture() -> State {
        let mut state: State =
            serde_json::from_str(include_str!("../../../../fixtures/exact-online/seed.json"))
                .expect("the Exact Online fixture is valid");
        // Exact answers every property of a contact, null when empty: the seed lists only the
        // filled ones.
        for division in state.divisions.values_mut() {
            for contact in division.contacts.values_mut() {
                if let Some(contact) = contact.as_object_mut() {
                    for property in crate::mapping::CONTACT_PROPERTIES {
                        contact.entry(*property).or_insert(Value::Null);
                    }
                }
            }
        }
        state
    }

    /// Find an entity by key in any division (tests).
    pub fn find(&self, set: Set, id: &str) -> Option<&Value> {
        self.divisions.values().find_map(|d| d.set(set).get(id))
    }
}
