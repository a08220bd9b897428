//! Rectification, restriction and objection in Moneybird: on the contact.
//!
//! - rectification: the canonical fields map to the contact update schema's fields
//!   ([`RECTIFIABLE`]; `email` is a read-only mirror of `send_invoices_to_email`, so an
//!   address is corrected there). Moneybird keeps no mobile number or job title on a contact;
//! - restriction: the contact is archived (`PATCH contacts/{id}/archive`): an archived contact
//!   is left out of lists and cannot be chosen for a new invoice, and keeps its invoices. The
//!   API has no way back: lifting it is for a person, in Moneybird;
//! - objection to the newsletter: Moneybird sends no newsletters and has no opt-out flag;
//! - contact people (one person of a company contact) are corrected through
//!   `PATCH contacts/{contact}/contact_people/{id}` ([`PERSON_RECTIFIABLE`]); they cannot be
//!   archived on their own, so their restriction goes to a person;
//! - issued invoices are fiscal documents and stay as they were issued.

use dsrhub_connector::rights::{changes_to, mapped};
use dsrhub_connector::{Change, Field, FieldChange, Proposal};
use serde_json::Value;

/// The contact field each canonical field is corrected in; every one is writable in the
/// spec's contact update schema (a test holds them to it).
pub const RECTIFIABLE: &[(Field, &str)] = &[
    (Field::FirstName, "firstname"),
    (Field::LastName, "lastname"),
    (Field::Email, "send_invoices_to_email"),
    (Field::Phone, "phone"),
    (Field::Street, "address1"),
    (Field::Postcode, "zipcode"),
    (Field::City, "city"),
];

/// A contact's fields the person provided (art. 20): names, addresses, numbers, payment
/// details; not the organisation's notes or custom fields, nor a company contact's other
/// people (the subject's own contact person is a record of its own).
pub const PORTABLE_CONTACT: &[&str] = &[
    "company_name",
    "firstname",
    "lastname",
    "address1",
    "address2",
    "zipcode",
    "city",
    "country",
    "phone",
    "email",
    "tax_number",
    "chamber_of_commerce",
    "bank_account",
    "send_invoices_to_attention",
    "send_invoices_to_email",
    "send_estimates_to_attention",
    "send_estimates_to_email",
    "sepa_iban",
    "sepa_iban_account_name",
    "sepa_bic",
];

/// The state a restriction sets, as the contact shows it (set through the archive call).
pub const ARCHIVED: &str = "archived";

/// What `change` does to `contact` (as `GET contacts/{id}` answers it).
pub fn contact_proposal(contact: &Value, change: &Change) -> Proposal {
    let current = |field: &str| contact.get(field).cloned().unwrap_or(Value::Null);
    let archived = contact.get(ARCHIVED) == Some(&Value::Bool(true));
    match change {
        Change::Rectify { values } => {
            let wanted = mapped(values, RECTIFIABLE);
            if wanted.is_empty() {
                return Proposal::not_applicable(
                    "Moneybird keeps none of these fields on a contact",
                );
            }
            Proposal::from_changes(changes_to(current, wanted))
        }
        Change::Restrict if archived => Proposal::Unchanged,
        Change::Restrict => Proposal::from_changes(vec![FieldChange::new(ARCHIVED, false, true)]),
        Change::Restore { restricted } => {
            let was_archived = restricted.iter().any(|c| c.field == ARCHIVED);
            if was_archived && archived {
                Proposal::refused(
                    "Moneybird's API can archive a contact but not take it out of the archive",
                    "in Moneybird: Contacts, filter Archived, open the contact and choose Restore",
                )
            } else {
                Proposal::Unchanged
            }
        }
        Change::Object { .. } => Proposal::not_applicable(
            "Moneybird sends no newsletters and has no opt-out flag; nothing to set",
        ),
    }
}

/// The contact person field each canonical field is corrected in; every one is in the spec's
/// contact person update schema (a test holds them to it). A contact person keeps no address,
/// mobile number or job title (`department` is not one).
pub const PERSON_RECTIFIABLE: &[(Field, &str)] = &[
    (Field::FirstName, "firstname"),
    (Field::LastName, "lastname"),
    (Field::Email, "email"),
    (Field::Phone, "phone"),
];

/// What `change` does to a contact person (one person of a company contact).
pub fn person_proposal(person: &Value, change: &Change) -> Proposal {
    let current = |field: &str| person.get(field).cloned().unwrap_or(Value::Null);
    match change {
        Change::Rectify { values } => {
            let wanted = mapped(values, PERSON_RECTIFIABLE);
            if wanted.is_empty() {
                return Proposal::not_applicable(
                    "Moneybird keeps none of these fields on a contact person",
                );
            }
            Proposal::from_changes(changes_to(current, wanted))
        }
        Change::Restrict => Proposal::refused(
            "Moneybird cannot archive one person of a company contact (only the whole contact, which is the company's)",
            "in Moneybird: note the restriction on the company contact, or remove the person from it if the company agrees",
        ),
        Change::Restore { restricted } => dsrhub_connector::rights::restore(current, restricted),
        Change::Object { .. } => Proposal::not_applicable(
            "Moneybird sends no newsletters and has no opt-out flag; nothing to set",
        ),
    }
}

/// What `change` does to a sales invoice: nothing, it is a fiscal document.
pub fn invoice_proposal(change: &Change) -> Proposal {
    Proposal::not_applicable(match change {
        Change::Rectify { .. } => {
            "an issued invoice is a fiscal document and stays as issued; the contact is corrected, and a wrong invoice is corrected with a credit note in Moneybird"
        }
        Change::Restrict | Change::Restore { .. } => {
            "an invoice is kept as issued (fiscal duty); archiving its contact stops new invoices"
        }
        Change::Object { .. } => "no newsletter goes to an invoice",
    })
}

/// The update body for `changes`, without the archive state (set by its own call).
pub fn update_body(changes: &[FieldChange]) -> serde_json::Map<String, Value> {
    let mut body = dsrhub_connector::rights::new_values(changes);
    body.remove(ARCHIVED);
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_contact_is_corrected_and_archived_but_never_unarchived() {
        let contact = json!({"firstname": "Sanne", "phone": "", "archived": false});
        let rectify = Change::Rectify {
            values: [
                (Field::Phone, "033-1".to_string()),
                (Field::JobTitle, "Fotograaf".to_string()),
            ]
            .into(),
        };
        assert_eq!(
            contact_proposal(&contact, &rectify),
            Proposal::Change {
                changes: vec![FieldChange::new("phone", "", "033-1")]
            }
        );
        let only_title = Change::Rectify {
            values: [(Field::JobTitle, "x".to_string())].into(),
        };
        assert!(matches!(
            contact_proposal(&contact, &only_title),
            Proposal::NotApplicable { .. }
        ));
        assert_eq!(
            contact_proposal(&contact, &Change::Restrict),
            Proposal::Change {
                changes: vec![FieldChange::new(ARCHIVED, false, true)]
            }
        );
        let archived = json!({"archived": true});
        assert_eq!(
            contact_proposal(&archived, &Change::Restrict),
            Proposal::Unchanged
        );
        let lift = Change::Restore {
            restricted: vec![FieldChange::new(ARCHIVED, false, true)],
        };
        assert!(matches!(
            contact_proposal(&archived, &lift),
            Proposal::Refused { .. }
        ));
        assert_eq!(contact_proposal(&contact, &lift), Proposal::Unchanged);
        assert_eq!(
            update_body(&[
                FieldChange::new(ARCHIVED, false, true),
                FieldChange::new("city", "", "Ede")
            ]),
            [("city".to_string(), json!("Ede"))].into_iter().collect()
        );
    }
}
