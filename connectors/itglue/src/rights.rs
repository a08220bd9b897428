//! Rectification in IT Glue, through `PATCH /contacts/{id}` (JSON:API attributes).
//!
//! - rectification: names and job title map to attributes ([`RECTIFIABLE`]); phone numbers
//!   and e-mail addresses are lists of entries (`contact-phones`, `contact-emails`, each with a
//!   `value`, a `label-name` and a `primary` flag), so the list is written whole with one entry
//!   corrected: the `Work` phone, the `Mobile` phone, the only e-mail address. Where it is not
//!   clear which entry is meant (two `Work` phones, several addresses) a person decides;
//! - a contact IT Glue copies from a PSA (`psa-id` set) is refused by IT Glue (422) and would
//!   be overwritten at the next sync: it is corrected, restricted or opted out at the PSA;
//! - restriction: IT Glue has no mark that stops the use of a contact; a person notes it;
//! - objection: IT Glue sends no newsletters.

use dsrhub_connector::rights::{changes_to, restore};
use dsrhub_connector::{Change, Field, Proposal};
use serde_json::{json, Value};

/// The attribute each canonical field is corrected in, for the plain ones.
pub const RECTIFIABLE: &[(Field, &str)] = &[
    (Field::FirstName, "first-name"),
    (Field::LastName, "last-name"),
    (Field::JobTitle, "title"),
];

/// The `contact-phones` label each phone field corrects.
pub const PHONE_LABELS: &[(Field, &str)] = &[(Field::Phone, "Work"), (Field::Mobile, "Mobile")];

const PHONES: &str = "contact-phones";
const EMAILS: &str = "contact-emails";

const IN_IT_GLUE: &str = "in IT Glue: Contacts, the contact's page";

/// What `change` does to `contact` (`GET /contacts/{id}`'s `data`).
pub fn contact_proposal(contact: &Value, change: &Change) -> Proposal {
    let attributes = &contact["attributes"];
    let current = |field: &str| attributes.get(field).cloned().unwrap_or(Value::Null);
    if let Some(psa) = crate::mapping::managed_by(contact) {
        return match change {
            Change::Object { .. } => not_sent(),
            _ => Proposal::refused(
                format!(
                    "IT Glue copies this contact from {psa}: it refuses a change here, and the next sync would undo it"
                ),
                format!("in {psa}: the contact there (IT Glue takes the change over at its next sync)"),
            ),
        };
    }
    match change {
        Change::Rectify { values } => {
            let mut wanted: Vec<(String, Value)> = Vec::new();
            let mut phones = attributes[PHONES].as_array().cloned().unwrap_or_default();
            for (field, value) in values {
                let value = value.trim();
                if let Some((_, attribute)) = RECTIFIABLE.iter().find(|(f, _)| f == field) {
                    wanted.push((attribute.to_string(), json!(value)));
                } else if let Some((_, label)) = PHONE_LABELS.iter().find(|(f, _)| f == field) {
                    if !set_entry(&mut phones, label, value) {
                        return Proposal::refused(
                            format!("the contact has several `{label}` phone numbers: which one is meant is for a person to say"),
                            IN_IT_GLUE,
                        );
                    }
                } else if *field == Field::Email {
                    let mut emails = attributes[EMAILS].as_array().cloned().unwrap_or_default();
                    match emails.as_mut_slice() {
                        [only] => only["value"] = json!(value),
                        _ => {
                            return Proposal::refused(
                                "the contact has several e-mail addresses (or none): which one is corrected is for a person to say",
                                IN_IT_GLUE,
                            )
                        }
                    }
                    wanted.push((EMAILS.into(), Value::Array(emails)));
                }
            }
            if values
                .keys()
                .any(|f| PHONE_LABELS.iter().any(|(p, _)| p == f))
            {
                wanted.push((PHONES.into(), Value::Array(phones)));
            }
            if wanted.is_empty() {
                return Proposal::not_applicable("IT Glue keeps none of these fields on a contact");
            }
            Proposal::from_changes(changes_to(current, wanted))
        }
        Change::Restrict => Proposal::refused(
            "IT Glue has no mark that stops the use of a contact",
            "in IT Glue: note the restriction on the contact, or restrict who may see it",
        ),
        Change::Restore { restricted } => restore(current, restricted),
        Change::Object { .. } => not_sent(),
    }
}

fn not_sent() -> Proposal {
    Proposal::not_applicable("IT Glue sends no newsletters and has no opt-out flag")
}

/// Set the value of the one entry labelled `label` (added, not primary unless it is the
/// first, when there is none); `false` when several carry that label.
fn set_entry(entries: &mut Vec<Value>, label: &str, value: &str) -> bool {
    let mut labelled = entries
        .iter_mut()
        .filter(|e| e["label-name"].as_str() == Some(label));
    match (labelled.next(), labelled.next()) {
        (Some(entry), None) => {
            entry["value"] = json!(value);
            true
        }
        (None, _) => {
            let primary = entries.is_empty();
            entries.push(json!({"value": value, "label-name": label, "primary": primary}));
            true
        }
        (Some(_), Some(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsrhub_connector::FieldChange;

    fn contact(attributes: Value) -> Value {
        json!({"id": "5003", "type": "contacts", "attributes": attributes})
    }

    fn rectify(values: &[(Field, &str)]) -> Change {
        Change::Rectify {
            values: values.iter().map(|(f, v)| (*f, v.to_string())).collect(),
        }
    }

    #[test]
    fn rectified_attributes_are_writable_ones() {
        // The fake holds IT Glue's writable contact attributes; no public spec exists.
        for (_, attribute) in RECTIFIABLE {
            assert!(crate::mapping::ANONYMIZE_FIELDS.contains(attribute));
        }
        assert!(crate::mapping::ANONYMIZE_FIELDS.contains(&PHONES));
        assert!(crate::mapping::ANONYMIZE_FIELDS.contains(&EMAILS));
    }

    #[test]
    fn a_phone_entry_is_corrected_by_its_label_or_added() {
        let c = contact(json!({
            "first-name": "Sanne", "title": "Eigenaar",
            "contact-phones": [{"value": "033-4567890", "label-name": "Mobile", "primary": true}]
        }));
        let Proposal::Change { changes } = contact_proposal(
            &c,
            &rectify(&[(Field::Phone, "020 555"), (Field::Mobile, "06 1")]),
        ) else {
            panic!("a change")
        };
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].to,
            json!([
                {"value": "06 1", "label-name": "Mobile", "primary": true},
                {"value": "020 555", "label-name": "Work", "primary": false}
            ])
        );
        let two = contact(json!({"contact-phones": [
            {"value": "1", "label-name": "Work"}, {"value": "2", "label-name": "Work"}
        ]}));
        assert!(matches!(
            contact_proposal(&two, &rectify(&[(Field::Phone, "3")])),
            Proposal::Refused { .. }
        ));
        // Only names asked: the phone list is not rewritten.
        let Proposal::Change { changes } =
            contact_proposal(&c, &rectify(&[(Field::FirstName, "Sanna")]))
        else {
            panic!("a change")
        };
        assert_eq!(
            changes,
            vec![FieldChange::new("first-name", "Sanne", "Sanna")]
        );
    }

    #[test]
    fn an_address_is_corrected_only_where_there_is_one() {
        let one = contact(json!({"contact-emails": [
            {"value": "old@example.nl", "label-name": "Work", "primary": true}
        ]}));
        assert_eq!(
            contact_proposal(&one, &rectify(&[(Field::Email, "new@example.nl")])),
            Proposal::Change {
                changes: vec![FieldChange::new(
                    EMAILS,
                    json!([{"value": "old@example.nl", "label-name": "Work", "primary": true}]),
                    json!([{"value": "new@example.nl", "label-name": "Work", "primary": true}])
                )]
            }
        );
        let two = contact(json!({"contact-emails": [{"value": "a"}, {"value": "b"}]}));
        assert!(matches!(
            contact_proposal(&two, &rectify(&[(Field::Email, "c@example.nl")])),
            Proposal::Refused { .. }
        ));
    }

    #[test]
    fn a_psa_synced_contact_is_changed_at_the_psa() {
        let synced = contact(
            json!({"psa-id": "30682051", "psa-integration-type": "autotask",
            "first-name": "Mark"}),
        );
        let Proposal::Refused { instead, .. } =
            contact_proposal(&synced, &rectify(&[(Field::FirstName, "Marc")]))
        else {
            panic!("refused")
        };
        assert!(instead.contains("autotask"));
        assert!(matches!(
            contact_proposal(&synced, &Change::Restrict),
            Proposal::Refused { .. }
        ));
    }
}
