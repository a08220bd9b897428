//! Rectification, restriction and objection in Autotask: all on the contact, through
//! `PATCH /Companies/{company}/Contacts` (the spec's `ContactModel`).
//!
//! - rectification: the canonical fields map to the contact's fields ([`RECTIFIABLE`]);
//! - restriction: the contact is made inactive (`isActive` 1 → 0): an inactive contact cannot
//!   be chosen for new tickets, opportunities or mailings, and stays with its history;
//! - objection to the newsletter: `isOptedOutFromBulkEmail` (Autotask stamps
//!   `bulkEmailOptOutTime` itself);
//! - tickets are correspondence: they are not rewritten, and their contact carries the marks.

use dsrhub_connector::rights::{changes_to, mapped, restore};
use dsrhub_connector::{Change, Field, Proposal, Purpose};
use serde_json::{json, Value};

/// The contact field each canonical field is corrected in. Every one of them is in the spec's
/// `ContactModel` (a test holds them to [`crate::mapping::CONTACT_FIELDS`], which a test
/// holds to the spec).
pub const RECTIFIABLE: &[(Field, &str)] = &[
    (Field::FirstName, "firstName"),
    (Field::LastName, "lastName"),
    (Field::Email, "emailAddress"),
    (Field::Phone, "phone"),
    (Field::Mobile, "mobilePhone"),
    (Field::Street, "addressLine"),
    (Field::Postcode, "zipCode"),
    (Field::City, "city"),
    (Field::JobTitle, "title"),
];

/// A contact's fields the person provided (art. 20): names, addresses, numbers, title, and
/// their newsletter choice; not the staff's `note` or the organisation's own fields.
pub const PORTABLE_CONTACT: &[&str] = &[
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
    "roomNumber",
    "facebookUrl",
    "linkedInUrl",
    "twitterUrl",
    "isOptedOutFromBulkEmail",
];

/// A ticket's fields the person provided: what they asked, and when.
pub const PORTABLE_TICKET: &[&str] = &["title", "description", "createDate"];

/// The flag a restriction sets: inactive.
pub const RESTRICT: (&str, i64) = ("isActive", 0);

/// The flag an objection to the newsletter sets.
pub const NEWSLETTER_OPT_OUT: &str = "isOptedOutFromBulkEmail";

/// What `change` does to `contact` (as `GET /Contacts/{id}` answers it).
pub fn contact_proposal(contact: &Value, change: &Change) -> Proposal {
    let current = |field: &str| contact.get(field).cloned().unwrap_or(Value::Null);
    match change {
        Change::Rectify { values } => {
            Proposal::from_changes(changes_to(current, mapped(values, RECTIFIABLE)))
        }
        Change::Restrict => {
            // Autotask answers `isActive` as 0/1; an older export may say true/false.
            let active = match contact.get(RESTRICT.0) {
                Some(Value::Bool(b)) => *b,
                Some(v) => v.as_i64() != Some(0),
                None => true,
            };
            if active {
                Proposal::from_changes(vec![dsrhub_connector::FieldChange::new(
                    RESTRICT.0,
                    current(RESTRICT.0),
                    RESTRICT.1,
                )])
            } else {
                Proposal::Unchanged
            }
        }
        Change::Restore { restricted } => restore(current, restricted),
        Change::Object {
            purpose: Purpose::Newsletter,
        } => Proposal::from_changes(changes_to(
            |f| match contact.get(f) {
                // Not set reads as "not opted out".
                None | Some(Value::Null) => json!(false),
                Some(v) => v.clone(),
            },
            [(NEWSLETTER_OPT_OUT.to_string(), json!(true))],
        )),
    }
}

/// What `change` does to a ticket: nothing; its contact carries the change.
pub fn ticket_proposal(change: &Change) -> Proposal {
    Proposal::not_applicable(match change {
        Change::Rectify { .. } => {
            "a ticket records what was asked and answered then; the person's details are corrected on its contact"
        }
        Change::Restrict | Change::Restore { .. } => {
            "a ticket is kept as it is; its contact is marked inactive, so no new work is logged for the person"
        }
        Change::Object { .. } => "no bulk e-mail goes to a ticket; the opt-out is on its contact",
    })
}

/// The PATCH body writing `changes` to contact `id`.
pub fn contact_body(id: u64, changes: &[dsrhub_connector::FieldChange]) -> Value {
    let mut body = dsrhub_connector::rights::new_values(changes);
    body.insert("id".into(), json!(id));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsrhub_connector::FieldChange;

    #[test]
    fn every_rectifiable_field_is_a_contact_field_of_the_spec() {
        for (field, vendor) in RECTIFIABLE {
            assert!(
                crate::mapping::CONTACT_FIELDS.contains(vendor),
                "{field} -> {vendor}"
            );
        }
        let canonical: Vec<Field> = RECTIFIABLE.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            canonical,
            Field::ALL,
            "Autotask keeps every canonical field"
        );
    }

    #[test]
    fn a_contact_is_corrected_restricted_and_opted_out_field_by_field() {
        let contact = json!({"id": 7, "firstName": "Jan", "phone": "010", "isActive": 1});
        let rectify = Change::Rectify {
            values: [
                (Field::FirstName, "Jan".to_string()),
                (Field::Phone, "06 1234".to_string()),
            ]
            .into(),
        };
        assert_eq!(
            contact_proposal(&contact, &rectify),
            Proposal::Change {
                changes: vec![FieldChange::new("phone", "010", "06 1234")]
            }
        );
        assert_eq!(
            contact_proposal(&contact, &Change::Restrict),
            Proposal::Change {
                changes: vec![FieldChange::new("isActive", 1, 0)]
            }
        );
        let inactive = json!({"isActive": 0});
        assert_eq!(
            contact_proposal(&inactive, &Change::Restrict),
            Proposal::Unchanged
        );
        let object = Change::Object {
            purpose: Purpose::Newsletter,
        };
        assert_eq!(
            contact_proposal(&contact, &object),
            Proposal::Change {
                changes: vec![FieldChange::new(NEWSLETTER_OPT_OUT, false, true)]
            }
        );
        assert_eq!(
            contact_proposal(&json!({NEWSLETTER_OPT_OUT: true}), &object),
            Proposal::Unchanged
        );
        assert_eq!(
            contact_body(7, &[FieldChange::new("isActive", 1, 0)]),
            json!({"id": 7, "isActive": 0})
        );
    }
}
