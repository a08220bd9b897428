//! IT Glue JSON → dsrhub records.

use dsrhub_connector::{Category, Erasability, MatchKind, Record, RecordRef, Subject};
use serde_json::{json, Value};

pub const CONTACT: &str = "contact";

fn attributes(contact: &Value) -> &Value {
    &contact["attributes"]
}

fn values<'a>(contact: &'a Value, list: &str) -> impl Iterator<Item = &'a str> {
    attributes(contact)[list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["value"].as_str())
}

/// The numeric id (JSON:API ids are strings).
pub fn id_of(contact: &Value) -> Option<u64> {
    contact["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| contact["id"].as_u64())
}

/// How a contact matches `subject`: any of its `contact-emails` (primary or not) exactly;
/// otherwise a phone number or the name, for review.
pub fn contact_match(contact: &Value, subject: &Subject) -> Option<MatchKind> {
    if values(contact, "contact-emails").any(|e| subject.has_email(e)) {
        Some(MatchKind::ExactEmail)
    } else if values(contact, "contact-phones").any(|p| subject.has_phone(p)) {
        Some(MatchKind::Phone)
    } else if subject.has_name(attributes(contact)["name"].as_str().unwrap_or("")) {
        Some(MatchKind::Name)
    } else {
        None
    }
}

/// The contact's addresses (`contact-emails`), each once.
pub fn emails(contact: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in values(contact, "contact-emails").map(str::trim) {
        if !e.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(e)) {
            out.push(e.to_string());
        }
    }
    out
}

/// The day the contact last changed (`updated-at`), in UTC.
pub fn updated_on(contact: &Value) -> Option<jiff::civil::Date> {
    let at: jiff::Timestamp = attributes(contact)["updated-at"].as_str()?.parse().ok()?;
    Some(at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
}

/// The PSA a contact is synced from (`psa-integration-type`), if any.
pub fn managed_by(contact: &Value) -> Option<&str> {
    let a = attributes(contact);
    a["psa-id"].as_str().filter(|id| !id.is_empty())?;
    Some(a["psa-integration-type"].as_str().unwrap_or("a PSA"))
}

/// Contact attributes that are not the person's data: links, the organisation and location,
/// flags, the PSA link, timestamps. `name` is derived from the first and last name (and so
/// replaced with them); everything else is in [`ANONYMIZE_FIELDS`].
pub const NOT_PERSONAL: &[&str] = &[
    "organization-id",
    "organization-name",
    "location-id",
    "location-name",
    "contact-type-id",
    "contact-type-name",
    "important",
    "psa-id",
    "psa-integration-type",
    "created-at",
    "updated-at",
    "resource-url",
    "restricted",
];

/// Fields anonymisation replaces or clears.
pub const ANONYMIZE_FIELDS: &[&str] = &[
    "first-name",
    "last-name",
    "title",
    "notes",
    "contact-emails",
    "contact-phones",
];

/// A contact record; PSA-synced contacts cannot be changed in IT Glue.
pub fn contact_record(contact: &Value, matched_by: MatchKind) -> Option<Record> {
    let organization = attributes(contact)["organization-id"].as_u64();
    let mut reference = RecordRef::new(CONTACT, id_of(contact)?.to_string());
    if let Some(org) = organization {
        reference = reference.scoped(org.to_string());
    }
    let managed = managed_by(contact);
    Some(Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference,
        matched_by,
        categories: vec![
            Category::Name,
            Category::Email,
            Category::Phone,
            Category::JobTitle,
            Category::Company,
        ],
        linked_to: None,
        retention: None,
        erasability: Erasability {
            delete: managed.is_none(),
            delete_blocked: managed.map(|psa| format!("managed at source: {psa}")),
            anonymize_fields: if managed.is_some() {
                Vec::new()
            } else {
                ANONYMIZE_FIELDS.iter().map(|f| f.to_string()).collect()
            },
        },
    })
}

/// The PATCH attributes that anonymise `fields`.
pub fn anonymized(fields: &[String]) -> Value {
    let mut attributes = serde_json::Map::new();
    for field in fields
        .iter()
        .filter(|f| ANONYMIZE_FIELDS.contains(&f.as_str()))
    {
        let value = match field.as_str() {
            "first-name" => json!("Deleted"),
            "last-name" => json!("Contact"),
            "contact-emails" | "contact-phones" => json!([]),
            _ => json!(""),
        };
        attributes.insert(field.clone(), value);
    }
    Value::Object(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(emails: Value, psa: Value) -> Value {
        json!({"id": "7", "type": "contacts", "attributes": {
            "organization-id": 3, "name": "Sanne Bakker", "contact-emails": emails, "contact-phones": [],
            "psa-id": psa, "psa-integration-type": "autotask"}})
    }

    #[test]
    fn a_secondary_address_matches_exactly() {
        let subject = Subject {
            emails: vec!["sanne.bakker@example.nl".into()],
            ..Subject::default()
        };
        let c = contact(
            json!([{"value": "s@x.example", "primary": true}, {"value": "Sanne.Bakker@example.nl", "primary": false}]),
            Value::Null,
        );
        assert_eq!(contact_match(&c, &subject), Some(MatchKind::ExactEmail));
        let record = contact_record(&c, MatchKind::ExactEmail).unwrap();
        assert_eq!(record.reference.scope.as_deref(), Some("3"));
        assert!(record.erasability.delete);
    }

    #[test]
    fn psa_synced_contacts_are_managed_at_source() {
        let c = contact(json!([]), json!("30682051"));
        let record = contact_record(&c, MatchKind::ExactEmail).unwrap();
        assert!(!record.erasability.delete);
        assert_eq!(
            record.erasability.delete_blocked.as_deref(),
            Some("managed at source: autotask")
        );
        assert!(record.erasability.anonymize_fields.is_empty());
    }
}
