//! The fake's data: administrations, contacts with contact people, sales invoices; and the
//! rules Moneybird applies to them (search, filters, deletion refusals, validation).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Seed data, as in `fixtures/moneybird/seed.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Seed {
    /// Moneybird administrations.
    pub administrations: Vec<Value>,
    /// Contacts by id.
    pub contacts: Vec<Value>,
    /// Sales invoices by id.
    pub sales_invoices: Vec<Value>,
    /// Recurring sales invoices (subscriptions) by id.
    #[serde(default)]
    pub recurring_sales_invoices: Vec<Value>,
}

impl Seed {
    /// The fixture shipped with dsrhub (fictitious Dutch people and invoices).
    pub fn fixture() -> Seed {
        serde_json::from_str(include_str!("../../../../fixtures/moneybird/seed.json"))
            .expect("fixture seed is valid JSON")
    }

    /// `n` more private customers (fictitious, `klant-NNNN@example.org`), with ids that sort
    /// before the fixture's, so a scan of every contact pages at Moneybird's real page size
    /// (100) before it reaches the fixture's people.
    pub fn with_customers(mut self, n: usize) -> Seed {
        let administration = self.administrations.first().map(id).unwrap_or_default();
        for i in 0..n {
            self.contacts.push(serde_json::json!({
                "id": format!("41000000000050{i:04}"),
                "administration_id": administration,
                "company_name": "",
                "firstname": "Klant",
                "lastname": format!("{i:04}"),
                "address1": format!("Dorpsstraat {}", i + 1),
                "zipcode": "1234 AB",
                "city": "Utrecht",
                "country": "NL",
                "phone": "",
                "email": format!("klant-{i:04}@example.org"),
                "send_invoices_to_email": format!("klant-{i:04}@example.org"),
                "send_estimates_to_email": format!("klant-{i:04}@example.org"),
                "archived": false,
                "version": 1,
                "notes": [],
                "custom_fields": [],
                "contact_people": []
            }));
        }
        self
    }
}

/// Attributes Moneybird's `query` searches (per its API docs); contact people are not among them.
const SEARCHED: &[&str] = &[
    "company_name",
    "attention",
    "firstname",
    "lastname",
    "address1",
    "address2",
    "zipcode",
    "city",
    "country",
    "email",
    "phone",
    "customer_id",
    "tax_number",
    "chamber_of_commerce",
    "bank_account",
];

/// Contact attributes a PATCH may change: the spec's contact update schema.
const WRITABLE: &[&str] = &[
    "address1",
    "address2",
    "bank_account",
    "chamber_of_commerce",
    "city",
    "company_name",
    "country",
    "custom_fields_attributes",
    "customer_id",
    "delivery_method",
    "direct_debit",
    "email_ubl",
    "estimate_workflow_id",
    "firstname",
    "invoice_workflow_id",
    "lastname",
    "phone",
    "send_estimates_to_attention",
    "send_estimates_to_email",
    "send_invoices_to_attention",
    "send_invoices_to_email",
    "sepa_active",
    "sepa_bic",
    "sepa_iban",
    "sepa_iban_account_name",
    "sepa_mandate_date",
    "sepa_mandate_id",
    "sepa_sequence_type",
    "si_identifier",
    "si_identifier_type",
    "tax_number",
    "zipcode",
];

/// Attributes Moneybird stopped accepting on create and update (changelog 2016-03-10): sent
/// anyway, they change nothing. `email` and `attention` are the mirrors of
/// `send_invoices_to_email` and `send_invoices_to_attention`.
const IGNORED: &[&str] = &["email", "attention"];

/// Why a change was refused, as Moneybird would say it.
#[derive(Debug)]
pub enum Refusal {
    NotFound,
    Unprocessable(Value),
    BadRequest(Value),
}

/// All records, keyed by id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Moneybird administrations.
    pub administrations: Vec<Value>,
    /// Contacts by id.
    pub contacts: BTreeMap<String, Value>,
    /// Sales invoices by id.
    pub sales_invoices: BTreeMap<String, Value>,
    /// Recurring sales invoices by id.
    #[serde(default)]
    pub recurring_sales_invoices: BTreeMap<String, Value>,
    /// The bookkeeping is locked through this day (`YYYY-MM-DD`, after a VAT return): its
    /// invoices cannot be deleted.
    #[serde(default)]
    pub locked_until: Option<String>,
}

fn id(value: &Value) -> String {
    value
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or("")
}

impl State {
    /// Index seed data by id.
    pub fn from_seed(seed: Seed) -> State {
        State {
            administrations: seed.administrations,
            contacts: seed.contacts.into_iter().map(|c| (id(&c), c)).collect(),
            sales_invoices: seed
                .sales_invoices
                .into_iter()
                .map(|i| (id(&i), i))
                .collect(),
            recurring_sales_invoices: seed
                .recurring_sales_invoices
                .into_iter()
                .map(|i| (id(&i), i))
                .collect(),
            locked_until: None,
        }
    }

    /// Load state saved by an earlier run.
    pub fn load(path: &Path) -> std::io::Result<State> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Whether the administration exists.
    pub fn has_administration(&self, adm: &str) -> bool {
        self.administrations.iter().any(|a| id(a) == adm)
    }

    /// `contacts.json?query=`: every whitespace-separated term must occur (case-insensitive)
    /// in one of the searched attributes. Archived contacts only with `include_archived`.
    pub fn search_contacts(&self, query: Option<&str>, include_archived: bool) -> Vec<Value> {
        let terms: Vec<String> = query
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        self.contacts
            .values()
            .filter(|c| {
                include_archived || !c.get("archived").and_then(Value::as_bool).unwrap_or(false)
            })
            .filter(|c| {
                let haystack: Vec<String> =
                    SEARCHED.iter().map(|f| text(c, f).to_lowercase()).collect();
                terms
                    .iter()
                    .all(|t| haystack.iter().any(|h| h.contains(t.as_str())))
            })
            .cloned()
            .collect()
    }

    /// `sales_invoices.json?filter=key:value,…`. Supported keys: `state` (`all` or one state),
    /// `contact_id`, `period`. As the spec says, a filter replaces the defaults entirely, and
    /// the default `period` is `this_year`: without an explicit period only this financial
    /// year's invoices are listed. Periods: `this_year`, `prev_year`, or `YYYYMMDD..YYYYMMDD`.
    /// Unknown keys or periods are a 400, as a strict API would answer.
    pub fn filter_invoices(&self, filter: Option<&str>) -> Result<Vec<Value>, Refusal> {
        let mut state = None;
        let mut contact = None;
        let this_year = jiff::ZonedDateTime::now().year();
        let year_range = |y: i16| (format!("{y}0101"), format!("{y}1231"));
        let mut period = year_range(this_year);
        for pair in filter.unwrap_or("").split(',').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once(':').ok_or_else(bad_filter)?;
            match key {
                "state" if value == "all" => state = None,
                "state" => state = Some(value.to_string()),
                "contact_id" => contact = Some(value.to_string()),
                "period" => {
                    period = match value {
                        "this_year" => year_range(this_year),
                        "prev_year" => year_range(this_year - 1),
                        custom => {
                            let (from, to) = custom.split_once("..").ok_or_else(bad_filter)?;
                            let valid =
                                |d: &str| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit());
                            if !valid(from) || !valid(to) {
                                return Err(bad_filter());
                            }
                            (from.to_string(), to.to_string())
                        }
                    }
                }
                _ => return Err(bad_filter()),
            }
        }
        // `invoice_date` is `YYYY-MM-DD`; compared as `YYYYMMDD`.
        let in_period = |i: &Value| {
            let day = text(i, "invoice_date").replace('-', "");
            day.as_str() >= period.0.as_str() && day.as_str() <= period.1.as_str()
        };
        Ok(self
            .sales_invoices
            .values()
            .filter(|i| {
                contact
                    .as_deref()
                    .is_none_or(|c| text(i, "contact_id") == c)
            })
            .filter(|i| state.as_deref().is_none_or(|s| text(i, "state") == s))
            .filter(|i| in_period(i))
            .cloned()
            .collect())
    }

    /// `recurring_sales_invoices.json?filter=key:value,…`, as the spec lists it: `state` is
    /// `active` (the default) or `inactive` (no `all`), `contact_id` one contact; `frequency`,
    /// `auto_send` and `workflow_id` are accepted and not applied. Anything else is a 400.
    pub fn filter_recurring(&self, filter: Option<&str>) -> Result<Vec<Value>, Refusal> {
        let mut active = true;
        let mut contact = None;
        for pair in filter.unwrap_or("").split(',').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once(':').ok_or_else(bad_filter)?;
            match (key, value) {
                ("state", "active") => active = true,
                ("state", "inactive") => active = false,
                ("contact_id", value) => contact = Some(value.to_string()),
                ("frequency" | "auto_send" | "workflow_id", _) => {}
                _ => return Err(bad_filter()),
            }
        }
        Ok(self
            .recurring_sales_invoices
            .values()
            .filter(|i| {
                contact
                    .as_deref()
                    .is_none_or(|c| text(i, "contact_id") == c)
            })
            .filter(|i| i.get("active").and_then(Value::as_bool).unwrap_or(false) == active)
            .map(|i| {
                // Moneybird embeds the contact as it is now.
                let mut shown = i.clone();
                shown["contact"] = self
                    .contacts
                    .get(text(i, "contact_id"))
                    .cloned()
                    .unwrap_or(Value::Null);
                shown
            })
            .collect())
    }

    /// Number of invoices of a contact.
    pub fn invoices_of(&self, contact_id: &str) -> usize {
        self.sales_invoices
            .values()
            .filter(|i| text(i, "contact_id") == contact_id)
            .count()
    }

    /// Deleting a contact with booked documents is refused (Moneybird keeps them for the
    /// fiscal retention duty; the exact answer is unverified, see the connector docs).
    pub fn delete_contact(&mut self, contact_id: &str) -> Result<(), Refusal> {
        if !self.contacts.contains_key(contact_id) {
            return Err(Refusal::NotFound);
        }
        if self.invoices_of(contact_id) > 0 {
            return Err(Refusal::Unprocessable(serde_json::json!({
                "error": "Contact has documents and cannot be deleted",
                "symbolic": { "contact": "has_documents" }
            })));
        }
        self.contacts.remove(contact_id);
        Ok(())
    }

    /// Apply a PATCH to a contact, with the vendor's rules.
    pub fn update_contact(&mut self, contact_id: &str, body: &Value) -> Result<Value, Refusal> {
        let changes = body
            .get("contact")
            .and_then(Value::as_object)
            .ok_or_else(|| Refusal::BadRequest(serde_json::json!({"error": "contact is missing", "symbolic": {"contact": "required"}})))?;
        if let Some(unknown) = changes
            .keys()
            .find(|k| !WRITABLE.contains(&k.as_str()) && !IGNORED.contains(&k.as_str()))
        {
            return Err(Refusal::BadRequest(
                serde_json::json!({"error": { unknown.clone(): ["is not a valid attribute"] }}),
            ));
        }
        let contact = self.contacts.get_mut(contact_id).ok_or(Refusal::NotFound)?;
        let mut updated: Map<String, Value> = contact.as_object().cloned().unwrap_or_default();
        for (k, v) in changes {
            match k.as_str() {
                k if IGNORED.contains(&k) => {}
                "custom_fields_attributes" => set_custom_fields(&mut updated, v)?,
                _ => {
                    updated.insert(k.clone(), v.clone());
                }
            }
        }
        // The mirrors follow the invoice recipient.
        for (mirror, source) in [
            ("email", "send_invoices_to_email"),
            ("attention", "send_invoices_to_attention"),
        ] {
            if changes.contains_key(source) {
                let value = updated.get(source).cloned().unwrap_or(Value::Null);
                updated.insert(mirror.into(), value);
            }
        }
        let updated = Value::Object(updated);
        let named = ["company_name", "firstname", "lastname"]
            .iter()
            .any(|f| !text(&updated, f).is_empty());
        if !named {
            return Err(Refusal::Unprocessable(
                serde_json::json!({"error": {"company_name": ["Company name or name can't be blank"]}}),
            ));
        }
        *contact = updated;
        bump(contact);
        Ok(contact.clone())
    }

    /// Archive a contact.
    pub fn archive_contact(&mut self, contact_id: &str) -> Result<(), Refusal> {
        let contact = self.contacts.get_mut(contact_id).ok_or(Refusal::NotFound)?;
        if contact["archived"] == Value::Bool(true) {
            // Moneybird's answer to archiving twice, as its description's example gives it.
            return Err(Refusal::BadRequest(serde_json::json!({
                "error": "Contact can not be archived",
                "symbolic": { "id": "can_not_be_archived" }
            })));
        }
        contact["archived"] = Value::Bool(true);
        bump(contact);
        Ok(())
    }

    /// One contact person.
    pub fn person(&self, contact_id: &str, person_id: &str) -> Option<Value> {
        let people = self
            .contacts
            .get(contact_id)?
            .get("contact_people")?
            .as_array()?;
        people.iter().find(|p| id(p) == person_id).cloned()
    }

    /// Update a contact person (`PATCH …/contact_people/{id}` with `{"contact_person": …}`):
    /// the update schema's fields only. Anything else is refused 422 with a
    /// `non_symbolic_error`, the one refusal the spec describes for this call besides 404.
    pub fn update_person(
        &mut self,
        contact_id: &str,
        person_id: &str,
        body: &Value,
    ) -> Result<Value, Refusal> {
        const PERSON_WRITABLE: &[&str] = &["firstname", "lastname", "phone", "email", "department"];
        let changes = body
            .get("contact_person")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                Refusal::Unprocessable(
                    serde_json::json!({"error": {"contact_person": ["is missing"]}}),
                )
            })?;
        if let Some(unknown) = changes
            .keys()
            .find(|k| !PERSON_WRITABLE.contains(&k.as_str()))
        {
            return Err(Refusal::Unprocessable(
                serde_json::json!({"error": { unknown.clone(): ["is not a valid attribute"] }}),
            ));
        }
        let contact = self.contacts.get_mut(contact_id).ok_or(Refusal::NotFound)?;
        let person = contact
            .get_mut("contact_people")
            .and_then(Value::as_array_mut)
            .and_then(|people| people.iter_mut().find(|p| id(p) == person_id))
            .ok_or(Refusal::NotFound)?;
        for (k, v) in changes {
            person[k.as_str()] = v.clone();
        }
        let updated = person.clone();
        bump(contact);
        Ok(updated)
    }

    /// Delete a contact person.
    pub fn delete_person(&mut self, contact_id: &str, person_id: &str) -> Result<(), Refusal> {
        self.remove_nested(contact_id, "contact_people", person_id)
    }

    /// Delete a note of a contact.
    pub fn delete_note(&mut self, contact_id: &str, note_id: &str) -> Result<(), Refusal> {
        self.remove_nested(contact_id, "notes", note_id)
    }

    /// Remove the entry `entry_id` from the list `key` of a contact (its version bumped).
    fn remove_nested(
        &mut self,
        contact_id: &str,
        key: &str,
        entry_id: &str,
    ) -> Result<(), Refusal> {
        let contact = self.contacts.get_mut(contact_id).ok_or(Refusal::NotFound)?;
        let entries = contact
            .get_mut(key)
            .and_then(Value::as_array_mut)
            .ok_or(Refusal::NotFound)?;
        let before = entries.len();
        entries.retain(|e| id(e) != entry_id);
        if entries.len() == before {
            return Err(Refusal::NotFound);
        }
        bump(contact);
        Ok(())
    }

    /// Delete a sales invoice: refused (400) while a payment is pending or when its date is in
    /// a locked period, as Moneybird answers (vendors.md).
    pub fn delete_invoice(&mut self, invoice_id: &str) -> Result<(), Refusal> {
        let invoice = self
            .sales_invoices
            .get(invoice_id)
            .ok_or(Refusal::NotFound)?;
        if text(invoice, "state") == "pending_payment" {
            return Err(Refusal::BadRequest(serde_json::json!({
                "error": "Sales invoice has pending payments and can not be deleted",
                "symbolic": { "sales_invoice": "pending_payments" }
            })));
        }
        let date = text(invoice, "invoice_date");
        if self
            .locked_until
            .as_deref()
            .is_some_and(|locked| !date.is_empty() && date <= locked)
        {
            return Err(Refusal::BadRequest(serde_json::json!({
                "error": "Sales invoice is in a locked period and can not be deleted",
                "symbolic": { "invoice_date": "locked_period" }
            })));
        }
        self.sales_invoices.remove(invoice_id);
        Ok(())
    }
}

/// `custom_fields_attributes`: `{"0": {"id": …, "value": …}, …}` (or a list of the same)
/// sets the value of each named custom field; an unknown field id is a 422.
fn set_custom_fields(contact: &mut Map<String, Value>, attributes: &Value) -> Result<(), Refusal> {
    let entries: Vec<&Value> = match attributes {
        Value::Object(map) => map.values().collect(),
        Value::Array(items) => items.iter().collect(),
        _ => {
            return Err(Refusal::BadRequest(
                serde_json::json!({"error": {"custom_fields_attributes": ["is invalid"]}}),
            ))
        }
    };
    let fields = contact
        .entry("custom_fields")
        .or_insert_with(|| Value::Array(Vec::new()));
    for entry in entries {
        let wanted = entry.get("id").map(ToString::to_string);
        let value = entry.get("value").cloned().unwrap_or(Value::Null);
        let field = fields
            .as_array_mut()
            .into_iter()
            .flatten()
            .find(|f| f.get("id").map(ToString::to_string) == wanted)
            .ok_or_else(|| {
                Refusal::Unprocessable(
                    serde_json::json!({"error": {"custom_fields": ["is invalid"]}}),
                )
            })?;
        field["value"] = value;
    }
    Ok(())
}

fn bad_filter() -> Refusal {
    Refusal::BadRequest(
        serde_json::json!({"error": "Filter is invalid", "symbolic": {"filter": "invalid"}}),
    )
}

fn bump(record: &mut Value) {
    let version = record.get("version").and_then(Value::as_i64).unwrap_or(0) + 1;
    record["version"] = Value::from(version);
    record["updated_at"] = Value::String(jiff::Timestamp::now().to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The spec describes 404 and 422 (`non_symbolic_error`: `error` an object of field →
    /// messages) for a contact person's PATCH; the fake refuses with those, never a 400.
    #[test]
    fn a_contact_persons_update_is_refused_as_the_spec_describes() {
        let mut state = State::from_seed(Seed::fixture());
        let (contact, person) = state
            .contacts
            .iter()
            .find_map(|(cid, c)| {
                let person = c["contact_people"].as_array()?.first()?;
                Some((cid.clone(), id(person).to_string()))
            })
            .expect("a fixture contact with contact people");
        for body in [
            json!({"contact_person": {"company_name": "x"}}),
            json!({"firstname": "x"}),
        ] {
            match state.update_person(&contact, &person, &body) {
                Err(Refusal::Unprocessable(answer)) => {
                    assert!(answer["error"].is_object(), "{answer}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(
            state.update_person(&contact, "0", &json!({"contact_person": {"phone": "1"}})),
            Err(Refusal::NotFound)
        ));
        let updated = state
            .update_person(
                &contact,
                &person,
                &json!({"contact_person": {"phone": "010-1"}}),
            )
            .unwrap();
        assert_eq!(updated["phone"], "010-1");
    }
}
