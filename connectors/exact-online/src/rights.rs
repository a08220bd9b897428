//! Rectification, restriction and objection in Exact Online, through
//! `PUT {division}/crm/Contacts(guid'…')` and `PUT {division}/crm/Accounts(guid'…')` (Exact
//! treats a PUT as a partial update of the fields sent).
//!
//! - rectification: a contact's fields per [`CONTACT_RECTIFIABLE`], an account's per
//!   [`ACCOUNT_RECTIFIABLE`]. Exact keeps a name prefix (`MiddleName`: "de") and the house
//!   number (`AddressStreetNumber`) apart; a correction that would have to be split to fit
//!   them is not guessed but handed to a person;
//! - restriction: the account is blocked (`Blocked`, Exact's "do not use" flag: no new
//!   invoices or orders for it). A contact has no such mark: a person notes the restriction
//!   there. A company's account is never blocked for one of its people (the hub changes
//!   only records that are the subject's own);
//! - objection to the newsletter: the contact's `IsMailingExcluded` ("excluded from the
//!   marketing list"); accounts have no such flag;
//! - bank accounts, sales invoices and transaction lines stay as they are: the books.

use dsrhub_connector::rights::{changes_to, mapped, restore};
use dsrhub_connector::{Change, Field, Proposal, Purpose};
use serde_json::{json, Map, Value};

/// The contact field each canonical field is corrected in (Exact's `crmContacts` reference;
/// a test holds them to [`crate::mapping::CONTACT_PROPERTIES`]).
pub const CONTACT_RECTIFIABLE: &[(Field, &str)] = &[
    (Field::FirstName, "FirstName"),
    (Field::LastName, "LastName"),
    (Field::Email, "Email"),
    (Field::Phone, "Phone"),
    (Field::Mobile, "Mobile"),
    (Field::Street, "AddressStreet"),
    (Field::Postcode, "Postcode"),
    (Field::City, "City"),
    (Field::JobTitle, "JobTitleDescription"),
];

/// The account field each canonical field is corrected in. An account keeps one `Name`
/// (see [`account_proposal`]) and no mobile number or job title.
pub const ACCOUNT_RECTIFIABLE: &[(Field, &str)] = &[
    (Field::Email, "Email"),
    (Field::Phone, "Phone"),
    (Field::Street, "AddressLine1"),
    (Field::Postcode, "Postcode"),
    (Field::City, "City"),
];

/// A contact's fields the person provided (art. 20); not notes, marketing notes or what
/// Exact derives.
pub const PORTABLE_CONTACT: &[&str] = &[
    "FirstName",
    "MiddleName",
    "LastName",
    "Initials",
    "Title",
    "Email",
    "BusinessEmail",
    "Phone",
    "PhoneExtension",
    "Mobile",
    "BusinessPhone",
    "BusinessMobile",
    "JobTitleDescription",
    "AddressStreet",
    "AddressStreetNumber",
    "AddressStreetNumberSuffix",
    "AddressLine2",
    "Postcode",
    "City",
    "State",
    "Country",
    "Language",
    "IsMailingExcluded",
];

/// An account's fields the person provided.
pub const PORTABLE_ACCOUNT: &[&str] = &[
    "Name",
    "Email",
    "Phone",
    "AddressLine1",
    "AddressLine2",
    "Postcode",
    "City",
    "Country",
    "Website",
];

/// The account flag a restriction sets.
pub const BLOCKED: &str = "Blocked";

/// The contact flag an objection to the newsletter sets.
pub const MAILING_EXCLUDED: &str = "IsMailingExcluded";

/// Where a person makes a change dsrhub does not.
const IN_EXACT_CONTACT: &str = "in Exact Online: CRM, Contacts, the contact's card";
const IN_EXACT_ACCOUNT: &str = "in Exact Online: CRM, Accounts, the account's card";

fn current(entity: &Map<String, Value>) -> impl Fn(&str) -> Value + '_ {
    |field| match entity.get(field) {
        // An unset flag reads as false: a restore then writes false back, never null.
        None | Some(Value::Null) if field == BLOCKED || field == MAILING_EXCLUDED => json!(false),
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

fn text<'a>(entity: &'a Map<String, Value>, field: &str) -> &'a str {
    entity
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
}

/// What `change` does to a contact (`crm/Contacts`, every property).
pub fn contact_proposal(contact: &Map<String, Value>, change: &Change) -> Proposal {
    match change {
        Change::Rectify { values } => {
            let mut wanted = Vec::new();
            for (field, value) in values {
                let Some((_, vendor)) = CONTACT_RECTIFIABLE.iter().find(|(f, _)| f == field)
                else {
                    continue;
                };
                let value = value.trim();
                match field {
                    Field::LastName => match last_name(text(contact, "MiddleName"), value) {
                        Some(last) => wanted.push((vendor.to_string(), json!(last))),
                        None => {
                            return Proposal::refused(
                                "Exact Online keeps the name prefix apart (MiddleName) and the corrected family name does not start with it: not split by guesswork",
                                IN_EXACT_CONTACT,
                            )
                        }
                    },
                    Field::Street
                        if !text(contact, "AddressStreetNumber").is_empty()
                            || !text(contact, "AddressStreetNumberSuffix").is_empty() =>
                    {
                        return Proposal::refused(
                            "Exact Online keeps the house number apart from the street (AddressStreetNumber): an address line is not split by guesswork",
                            IN_EXACT_CONTACT,
                        )
                    }
                    _ => wanted.push((vendor.to_string(), json!(value))),
                }
            }
            Proposal::from_changes(changes_to(current(contact), wanted))
        }
        Change::Restrict => Proposal::refused(
            "Exact Online has no mark that stops the use of a contact person (only an account can be blocked)",
            "in Exact Online: note the restriction on the contact's card, or block the account when it is the person's own",
        ),
        // A contact is never marked by a restriction, so a lift has nothing to put back.
        Change::Restore { restricted } => restore(current(contact), restricted),
        Change::Object {
            purpose: Purpose::Newsletter,
        } => Proposal::from_changes(changes_to(
            current(contact),
            [(MAILING_EXCLUDED.to_string(), json!(true))],
        )),
    }
}

/// The family name to write when the contact keeps `prefix` apart: `corrected` without the
/// prefix, when it starts with it; `None` when it does not (a person decides).
fn last_name<'a>(prefix: &str, corrected: &'a str) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(corrected);
    }
    let (head, rest) = corrected.split_at_checked(prefix.len())?;
    let rest = rest.strip_prefix(' ')?.trim_start();
    (head.eq_ignore_ascii_case(prefix) && !rest.is_empty()).then_some(rest)
}

/// What `change` does to an account (`crm/Accounts`) that is the subject's own.
pub fn account_proposal(account: &Map<String, Value>, change: &Change) -> Proposal {
    match change {
        Change::Rectify { values } => {
            let mut wanted = mapped(values, ACCOUNT_RECTIFIABLE);
            match (values.get(&Field::FirstName), values.get(&Field::LastName)) {
                (Some(first), Some(last)) => {
                    wanted.push(("Name".into(), json!(format!("{} {}", first.trim(), last.trim()))))
                }
                (None, None) => {}
                _ => {
                    return Proposal::refused(
                        "an Exact Online account keeps one name (Name): it is corrected from both the given and the family name, and only one was given",
                        IN_EXACT_ACCOUNT,
                    )
                }
            }
            if wanted.is_empty() {
                return Proposal::not_applicable(
                    "the account keeps none of these fields; its contact person does",
                );
            }
            Proposal::from_changes(changes_to(current(account), wanted))
        }
        Change::Restrict => Proposal::from_changes(changes_to(
            current(account),
            [(BLOCKED.to_string(), json!(true))],
        )),
        Change::Restore { restricted } => restore(current(account), restricted),
        Change::Object { .. } => Proposal::not_applicable(
            "an account has no mailing flag: the opt-out is set on its contact person",
        ),
    }
}

/// What `change` does to a record of the books (a bank account, a sales invoice, a
/// transaction line): nothing.
pub fn books_proposal(object: &str, change: &Change) -> Proposal {
    Proposal::not_applicable(match (object, change) {
        (crate::mapping::BANK_ACCOUNT, Change::Rectify { .. }) => {
            "a bank account holds no field asked (an IBAN is corrected by the person's own request to the bookkeeper)"
        }
        (_, Change::Rectify { .. }) => {
            "a booked document stays as it was booked; a wrong one is corrected with a credit entry in Exact Online"
        }
        (_, Change::Restrict | Change::Restore { .. }) => {
            "kept as booked (fiscal duty); blocking the account stops new use"
        }
        (_, Change::Object { .. }) => "no mailing goes to a record of the books",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsrhub_connector::FieldChange;

    fn entity(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn every_rectifiable_field_is_a_property_exact_documents() {
        for (field, vendor) in CONTACT_RECTIFIABLE {
            assert!(
                crate::mapping::CONTACT_PROPERTIES.contains(vendor),
                "{field} -> {vendor}"
            );
            assert!(crate::mapping::CONTACT_FIELDS.contains(vendor));
        }
        assert!(crate::mapping::CONTACT_PROPERTIES.contains(&MAILING_EXCLUDED));
        for (field, vendor) in ACCOUNT_RECTIFIABLE {
            assert!(
                crate::mapping::ACCOUNT_FIELDS.contains(vendor),
                "{field} -> {vendor}"
            );
        }
    }

    #[test]
    fn a_family_name_is_fitted_to_a_kept_prefix_or_left_to_a_person() {
        assert_eq!(last_name("", "de Groot"), Some("de Groot"));
        assert_eq!(last_name("de", "de Groot"), Some("Groot"));
        assert_eq!(last_name("van der", "Van der Berg"), Some("Berg"));
        assert_eq!(last_name("de", "Groot"), None);
        assert_eq!(last_name("de", "de"), None);
        assert_eq!(last_name("de", "degroot"), None);
        assert_eq!(last_name("dé", "d"), None, "no panic inside a character");

        let contact =
            entity(json!({"FirstName": "Pieter", "MiddleName": "de", "LastName": "Vries"}));
        let rectify = |last: &str| Change::Rectify {
            values: [(Field::LastName, last.to_string())].into(),
        };
        assert_eq!(
            contact_proposal(&contact, &rectify("de Vos")),
            Proposal::Change {
                changes: vec![FieldChange::new("LastName", "Vries", "Vos")]
            }
        );
        assert_eq!(
            contact_proposal(&contact, &rectify("de Vries")),
            Proposal::Unchanged
        );
        assert!(matches!(
            contact_proposal(&contact, &rectify("Vos")),
            Proposal::Refused { .. }
        ));
    }

    #[test]
    fn a_street_is_written_only_where_exact_keeps_no_house_number_apart() {
        let street = Change::Rectify {
            values: [
                (Field::Street, "Dorpsstraat 3".to_string()),
                (Field::Phone, "010 1234".to_string()),
            ]
            .into(),
        };
        let split = entity(json!({"AddressStreet": "Kerkstraat", "AddressStreetNumber": "12"}));
        assert!(matches!(
            contact_proposal(&split, &street),
            Proposal::Refused { .. }
        ));
        let one_line =
            entity(json!({"AddressStreet": "Kerkstraat 12", "AddressStreetNumber": null}));
        assert_eq!(
            contact_proposal(&one_line, &street),
            Proposal::Change {
                changes: vec![
                    FieldChange::new("Phone", Value::Null, "010 1234"),
                    FieldChange::new("AddressStreet", "Kerkstraat 12", "Dorpsstraat 3"),
                ]
            }
        );
    }

    #[test]
    fn an_account_is_blocked_and_unblocked_and_its_name_needs_both_parts() {
        let account = entity(json!({"Name": "Pieter de Vries", "Blocked": false}));
        let blocked = Proposal::Change {
            changes: vec![FieldChange::new(BLOCKED, false, true)],
        };
        assert_eq!(account_proposal(&account, &Change::Restrict), blocked);
        // An account that never had the flag reads as not blocked, and goes back to false.
        let unset = entity(json!({"Name": "x"}));
        assert_eq!(account_proposal(&unset, &Change::Restrict), blocked);
        let restricted = vec![FieldChange::new(BLOCKED, false, true)];
        let now = entity(json!({"Blocked": true}));
        assert_eq!(
            account_proposal(&now, &Change::Restore { restricted }),
            Proposal::Change {
                changes: vec![FieldChange::new(BLOCKED, true, false)]
            }
        );
        let name = |values: Vec<(Field, &str)>| Change::Rectify {
            values: values
                .into_iter()
                .map(|(f, v)| (f, v.to_string()))
                .collect(),
        };
        assert_eq!(
            account_proposal(
                &account,
                &name(vec![
                    (Field::FirstName, "Piet"),
                    (Field::LastName, "de Vries")
                ])
            ),
            Proposal::Change {
                changes: vec![FieldChange::new("Name", "Pieter de Vries", "Piet de Vries")]
            }
        );
        assert!(matches!(
            account_proposal(&account, &name(vec![(Field::FirstName, "Piet")])),
            Proposal::Refused { .. }
        ));
        assert!(matches!(
            account_proposal(&account, &name(vec![(Field::JobTitle, "CFO")])),
            Proposal::NotApplicable { .. }
        ));
    }

    #[test]
    fn an_objection_excludes_the_contact_from_mailings() {
        let object = Change::Object {
            purpose: Purpose::Newsletter,
        };
        let contact = entity(json!({"IsMailingExcluded": null}));
        assert_eq!(
            contact_proposal(&contact, &object),
            Proposal::Change {
                changes: vec![FieldChange::new(MAILING_EXCLUDED, false, true)]
            }
        );
        let excluded = entity(json!({"IsMailingExcluded": true}));
        assert_eq!(contact_proposal(&excluded, &object), Proposal::Unchanged);
        assert!(matches!(
            account_proposal(&excluded, &object),
            Proposal::NotApplicable { .. }
        ));
    }
}
