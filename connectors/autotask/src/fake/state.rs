//! The fake's data and Autotask's rules about it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::query::{self, Invalid};

/// Seed data, as in `fixtures/autotask/seed.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Seed {
    /// The zone answer for zoneInformation.
    pub zone: Value,
    /// Companies by id.
    pub companies: Vec<Value>,
    /// Contacts by id.
    pub contacts: Vec<Value>,
    /// Tickets by id.
    pub tickets: Vec<Value>,
    /// Contracts by id (`Contracts`: a company's service agreements).
    #[serde(default)]
    pub contracts: Vec<Value>,
    /// Ticket notes by id (`TicketNotes`, children of `Tickets`).
    #[serde(default, rename = "ticketNotes")]
    pub ticket_notes: Vec<Value>,
    /// A ticket's contacts besides its primary one (`TicketAdditionalContacts`).
    #[serde(default, rename = "ticketAdditionalContacts")]
    pub ticket_additional_contacts: Vec<Value>,
    /// Client Portal accounts of contacts (`ClientPortalUsers`).
    #[serde(default, rename = "clientPortalUsers")]
    pub client_portal_users: Vec<Value>,
}

impl Seed {
    /// The fixture shipped with dsrhub (fictitious Dutch companies, people and tickets).
    pub fn fixture() -> Seed {
        serde_json::from_str(include_str!("../../../../fixtures/autotask/seed.json"))
            .expect("fixture seed is valid JSON")
    }

    /// `n` more contacts named `first last` at `company` (fictitious, own addresses), so one
    /// query can answer more than Autotask's 500 records a page.
    pub fn with_namesakes(mut self, company: u64, first: &str, last: &str, n: usize) -> Seed {
        for i in 0..n {
            self.contacts.push(json!({
                "id": 31_000_000 + i as u64,
                "companyID": company,
                "firstName": first,
                "lastName": last,
                "emailAddress": format!("namesake-{i:04}@example.org"),
                "emailAddress2": "",
                "emailAddress3": "",
                "phone": "",
                "mobilePhone": "",
                "alternatePhone": "",
                "isActive": 1,
                "primaryContact": false,
            }));
        }
        self
    }
}

/// Why a change was refused.
#[derive(Debug)]
pub enum Refusal {
    NotFound(String),
    /// Autotask answers business-rule violations with 500 and `{"errors": […]}`.
    Rule(String),
}

/// All records, by entity and id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// The zone answer for zoneInformation.
    pub zone: Value,
    /// Companies by id.
    pub companies: BTreeMap<u64, Value>,
    /// Contacts by id.
    pub contacts: BTreeMap<u64, Value>,
    /// Tickets by id.
    pub tickets: BTreeMap<u64, Value>,
    /// Contracts by id.
    #[serde(default)]
    pub contracts: BTreeMap<u64, Value>,
    /// Ticket notes by id.
    #[serde(default)]
    pub ticket_notes: BTreeMap<u64, Value>,
    /// Additional ticket contacts by id.
    #[serde(default)]
    pub ticket_additional_contacts: BTreeMap<u64, Value>,
    /// Client Portal accounts by id.
    #[serde(default)]
    pub client_portal_users: BTreeMap<u64, Value>,
}

fn id(v: &Value) -> u64 {
    v.get("id").and_then(Value::as_u64).unwrap_or_default()
}

/// Contact fields a PATCH may change (the spec's `ContactModel`, less keys and dates Autotask
/// sets itself).
const CONTACT_WRITABLE: &[&str] = &[
    "firstName",
    "lastName",
    "middleInitial",
    "namePrefix",
    "nameSuffix",
    "title",
    "emailAddress",
    "emailAddress2",
    "emailAddress3",
    "phone",
    "mobilePhone",
    "alternatePhone",
    "extension",
    "faxNumber",
    "addressLine",
    "addressLine1",
    "additionalAddressInformation",
    "city",
    "state",
    "zipCode",
    "countryID",
    "roomNumber",
    "facebookUrl",
    "linkedInUrl",
    "twitterUrl",
    "note",
    "externalID",
    "isActive",
    "isOptedOutFromBulkEmail",
    "receivesEmailNotifications",
    "solicitationOptOut",
    "surveyOptOut",
    "primaryContact",
    "userDefinedFields",
];
/// Ticket fields a PATCH may change (a subset of `TicketModel`: what the fixtures hold).
const TICKET_WRITABLE: &[&str] = &[
    "contactID",
    "title",
    "description",
    "resolution",
    "changeInfoField1",
    "changeInfoField2",
    "changeInfoField3",
    "changeInfoField4",
    "changeInfoField5",
    "status",
    "userDefinedFields",
];
/// Ticket-note fields a PATCH may change.
const NOTE_WRITABLE: &[&str] = &["title", "description", "noteType", "publish"];

impl State {
    /// Index seed data by id.
    pub fn from_seed(seed: Seed) -> State {
        let index = |items: Vec<Value>| items.into_iter().map(|v| (id(&v), v)).collect();
        State {
            zone: seed.zone,
            companies: index(seed.companies),
            contacts: index(seed.contacts),
            tickets: index(seed.tickets),
            contracts: index(seed.contracts),
            ticket_notes: index(seed.ticket_notes),
            ticket_additional_contacts: index(seed.ticket_additional_contacts),
            client_portal_users: index(seed.client_portal_users),
        }
    }

    /// The table behind an entity path segment (`Contacts`, `Companies`, `Tickets`,
    /// `Contracts`, `TicketNotes`, `TicketAdditionalContacts`, `ClientPortalUsers`).
    pub fn table(&self, entity: &str) -> Option<&BTreeMap<u64, Value>> {
        match entity.to_ascii_lowercase().as_str() {
            "contacts" => Some(&self.contacts),
            "companies" => Some(&self.companies),
            "tickets" => Some(&self.tickets),
            "contracts" => Some(&self.contracts),
            "ticketnotes" => Some(&self.ticket_notes),
            "ticketadditionalcontacts" => Some(&self.ticket_additional_contacts),
            "clientportalusers" => Some(&self.client_portal_users),
            _ => None,
        }
    }

    /// Ids of `entity` records matching `filter`.
    pub fn query(&self, entity: &str, filter: &[Value]) -> Result<Vec<u64>, Invalid> {
        if query::or_conditions(filter) > 500 {
            return Err(Invalid(
                "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions.".into(),
            ));
        }
        let table = self
            .table(entity)
            .ok_or_else(|| Invalid(format!("Invalid entity {entity}")))?;
        let mut ids = Vec::new();
        for (id, record) in table {
            if query::matches(record, filter)? {
                ids.push(*id);
            }
        }
        Ok(ids)
    }

    /// Deleting a contact is refused while a ticket names it or it is its company's primary
    /// contact (a subset of Autotask's documented rules).
    pub fn delete_contact(&mut self, company: u64, contact: u64) -> Result<(), Refusal> {
        let found = self
            .contacts
            .get(&contact)
            .filter(|c| c["companyID"].as_u64() == Some(company));
        if found.is_none() {
            return Err(Refusal::NotFound(format!("Contact {contact} not found")));
        }
        if self
            .tickets
            .values()
            .any(|t| t["contactID"].as_u64() == Some(contact))
        {
            return Err(Refusal::Rule(
                "Cannot delete Contact: the contact is referenced by one or more Tickets.".into(),
            ));
        }
        if self.contacts[&contact]["primaryContact"] == Value::Bool(true) {
            return Err(Refusal::Rule(
                "Cannot delete Contact: the contact is the Primary Contact of its Company.".into(),
            ));
        }
        // A contact with a Client Portal account can never be deleted, only merged.
        if self
            .client_portal_users
            .values()
            .any(|u| u["contactID"].as_u64() == Some(contact))
        {
            return Err(Refusal::Rule(
                "Cannot delete Contact: the contact has a Client Portal account.".into(),
            ));
        }
        self.contacts.remove(&contact);
        Ok(())
    }

    /// Apply a PATCH to a contact, with the vendor's rules.
    pub fn update_contact(&mut self, company: Option<u64>, body: &Value) -> Result<u64, Refusal> {
        let contact_id = body
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| Refusal::Rule("id is required".into()))?;
        let contact = self
            .contacts
            .get_mut(&contact_id)
            .filter(|c| company.is_none_or(|co| c["companyID"].as_u64() == Some(co)))
            .ok_or_else(|| Refusal::NotFound(format!("Contact {contact_id} not found")))?;
        apply(contact, body, CONTACT_WRITABLE)?;
        if contact["isActive"].as_u64().is_none() {
            return Err(Refusal::Rule("isActive must be 0 or 1".into()));
        }
        Ok(contact_id)
    }

    /// Apply a PATCH to a note of `ticket` (`PATCH /Tickets/{ticket}/Notes`).
    pub fn update_note(&mut self, ticket: u64, body: &Value) -> Result<u64, Refusal> {
        let note_id = body
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| Refusal::Rule("id is required".into()))?;
        if body
            .get("description")
            .is_some_and(|d| d.as_str().is_none_or(str::is_empty))
        {
            return Err(Refusal::Rule("Description is required".into()));
        }
        let note = self
            .ticket_notes
            .get_mut(&note_id)
            .filter(|n| n["ticketID"].as_u64() == Some(ticket))
            .ok_or_else(|| Refusal::NotFound(format!("TicketNote {note_id} not found")))?;
        apply(note, body, NOTE_WRITABLE)?;
        Ok(note_id)
    }

    /// Apply a PATCH to a ticket.
    pub fn update_ticket(&mut self, body: &Value) -> Result<u64, Refusal> {
        let ticket_id = body
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| Refusal::Rule("id is required".into()))?;
        let ticket = self
            .tickets
            .get_mut(&ticket_id)
            .ok_or_else(|| Refusal::NotFound(format!("Ticket {ticket_id} not found")))?;
        apply(ticket, body, TICKET_WRITABLE)?;
        Ok(ticket_id)
    }
}

/// Set user-defined field values by name; an unknown name is refused, as Autotask does.
fn apply_udfs(record: &mut Value, changes: &Value) -> Result<(), Refusal> {
    let fields = record
        .get_mut("userDefinedFields")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| Refusal::Rule("This entity has no user-defined fields".into()))?;
    for change in changes.as_array().into_iter().flatten() {
        let name = change.get("name").and_then(Value::as_str).unwrap_or("");
        let field = fields
            .iter_mut()
            .find(|f| f.get("name").and_then(Value::as_str) == Some(name))
            .ok_or_else(|| Refusal::Rule(format!("User-defined field {name} does not exist")))?;
        field["value"] = change.get("value").cloned().unwrap_or(Value::Null);
    }
    Ok(())
}

fn apply(record: &mut Value, body: &Value, writable: &[&str]) -> Result<(), Refusal> {
    let changes = body
        .as_object()
        .ok_or_else(|| Refusal::Rule("body must be an object".into()))?;
    for (k, v) in changes.iter().filter(|(k, _)| k.as_str() != "id") {
        let Some(name) = writable.iter().find(|w| w.eq_ignore_ascii_case(k)) else {
            return Err(Refusal::Rule(format!(
                "Field {k} is read-only or does not exist"
            )));
        };
        if *name == "userDefinedFields" {
            apply_udfs(record, v)?;
        } else {
            record[*name] = v.clone();
        }
    }
    record["lastActivityDate"] = json!(jiff::Timestamp::now().to_string());
    Ok(())
}
