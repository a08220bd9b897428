//! Rectification in Microsoft 365, through `PATCH /users/{id}` (an account of the tenant)
//! and `PATCH /users/{mailbox}/contacts/{id}` (a contact in a searched mailbox).
//!
//! - rectification: the canonical fields map to the properties in [`USER_RECTIFIABLE`] and
//!   [`CONTACT_RECTIFIABLE`] (each in the spec's `user` / `contact` schema). `businessPhones`
//!   and a contact's `emailAddresses` are lists: corrected where there is at most one entry,
//!   else a person decides which. `displayName` is set again from the corrected names only
//!   where it was exactly "given name + surname"; one someone wrote otherwise is for a person.
//!   A user's address (`mail`, the sign-in name) is an administrator's change, and a user
//!   synced from on-premises Active Directory is changed there;
//! - restriction: Microsoft 365 has no mark that stops processing a person's data short of
//!   blocking the sign-in, which stops the person's own work: a person decides;
//! - objection: no newsletters are sent from Microsoft 365 mailboxes here;
//! - messages are correspondence and are never rewritten.

use dsrhub_connector::rights::{changes_to, restore};
use dsrhub_connector::{Change, Field, Proposal};
use serde_json::{json, Map, Value};

/// The user property each canonical field is corrected in (`businessPhones` is a list).
pub const USER_RECTIFIABLE: &[(Field, &str)] = &[
    (Field::FirstName, "givenName"),
    (Field::LastName, "surname"),
    (Field::Phone, "businessPhones"),
    (Field::Mobile, "mobilePhone"),
    (Field::Street, "streetAddress"),
    (Field::Postcode, "postalCode"),
    (Field::City, "city"),
    (Field::JobTitle, "jobTitle"),
];

/// The contact property each canonical field is corrected in; the address fields are in
/// `businessAddress` (`street`, `postalCode`, `city`), the e-mail in `emailAddresses`.
pub const CONTACT_RECTIFIABLE: &[(Field, &str)] = &[
    (Field::FirstName, "givenName"),
    (Field::LastName, "surname"),
    (Field::Email, "emailAddresses"),
    (Field::Phone, "businessPhones"),
    (Field::Mobile, "mobilePhone"),
    (Field::Street, "businessAddress"),
    (Field::Postcode, "businessAddress"),
    (Field::City, "businessAddress"),
    (Field::JobTitle, "jobTitle"),
];

/// The properties the fake accepts in a PATCH, per kind: the ones above and `displayName`.
pub const DISPLAY_NAME: &str = "displayName";

const IN_ADMIN_CENTER: &str = "in the Microsoft 365 admin center: Users, Active users, the user";
const IN_OUTLOOK: &str = "in Outlook: the mailbox's contact";

/// Which kind of Graph object a proposal is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A user (`/users/{id}`).
    User,
    /// A contact in a mailbox (`/users/{mailbox}/contacts/{id}`).
    Contact,
}

/// What `change` does to `entity` (a user or a contact as Graph answers it).
pub fn proposal(kind: Kind, entity: &Map<String, Value>, change: &Change) -> Proposal {
    let current = |field: &str| entity.get(field).cloned().unwrap_or(Value::Null);
    let (instead, table) = match kind {
        Kind::User => (IN_ADMIN_CENTER, USER_RECTIFIABLE),
        Kind::Contact => (IN_OUTLOOK, CONTACT_RECTIFIABLE),
    };
    if kind == Kind::User && entity.get("onPremisesSyncEnabled") == Some(&Value::Bool(true)) {
        if let Change::Object { .. } = change {
            return no_newsletter();
        }
        return Proposal::refused(
            "the account is synced from on-premises Active Directory: a change here is overwritten by the next sync",
            "in the on-premises Active Directory (Users and Computers), the user's properties",
        );
    }
    match change {
        Change::Rectify { values } => {
            if kind == Kind::User && values.contains_key(&Field::Email) {
                return Proposal::refused(
                    "a user's address is their mailbox and sign-in name: changing it is an administrator's decision",
                    format!("{instead}, Manage username and email"),
                );
            }
            let mut wanted: Vec<(String, Value)> = Vec::new();
            let mut address = entity
                .get("businessAddress")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (field, value) in values {
                let value = value.trim();
                let Some((_, property)) = table.iter().find(|(f, _)| f == field) else {
                    continue;
                };
                match *property {
                    "businessPhones" => match one_entry(&current(property)) {
                        Some(_) => wanted.push((property.to_string(), json!([value]))),
                        None => {
                            return Proposal::refused(
                                "several business phone numbers: which one is corrected is for a person to say",
                                instead,
                            )
                        }
                    },
                    "emailAddresses" => {
                        let mut list = current(property).as_array().cloned().unwrap_or_default();
                        match list.as_mut_slice() {
                            [only] => only["address"] = json!(value),
                            [] => list.push(json!({"address": value})),
                            _ => {
                                return Proposal::refused(
                                    "the contact has several e-mail addresses: which one is corrected is for a person to say",
                                    instead,
                                )
                            }
                        }
                        wanted.push((property.to_string(), Value::Array(list)));
                    }
                    "businessAddress" => {
                        let part = match field {
                            Field::Street => "street",
                            Field::Postcode => "postalCode",
                            _ => "city",
                        };
                        address.insert(part.into(), json!(value));
                    }
                    _ => wanted.push((property.to_string(), json!(value))),
                }
            }
            if kind == Kind::Contact
                && values
                    .keys()
                    .any(|f| matches!(f, Field::Street | Field::Postcode | Field::City))
            {
                wanted.push(("businessAddress".into(), Value::Object(address)));
            }
            match display_name(entity, values) {
                Ok(Some(name)) => wanted.push((DISPLAY_NAME.into(), json!(name))),
                Ok(None) => {}
                Err(()) => {
                    return Proposal::refused(
                        "the display name was not written as given name and surname: how to correct it is for a person to say",
                        instead,
                    )
                }
            }
            if wanted.is_empty() {
                return Proposal::not_applicable("Microsoft 365 keeps none of these fields here");
            }
            Proposal::from_changes(changes_to(current, wanted))
        }
        Change::Restrict => match kind {
            Kind::User => Proposal::refused(
                "the only mark Microsoft 365 has is blocking the sign-in, which also stops the person's own work",
                format!("{instead}: decide with the person's manager whether to block sign-in"),
            ),
            Kind::Contact => Proposal::refused(
                "Outlook has no mark that stops the use of a contact",
                format!("{instead}: note the restriction on the contact"),
            ),
        },
        Change::Restore { restricted } => restore(current, restricted),
        Change::Object { .. } => no_newsletter(),
    }
}

fn no_newsletter() -> Proposal {
    Proposal::not_applicable("no newsletters are sent from Microsoft 365 here; nothing to set")
}

/// `Some(list)` when `list` has at most one entry.
fn one_entry(list: &Value) -> Option<()> {
    match list {
        Value::Null => Some(()),
        Value::Array(items) if items.len() <= 1 => Some(()),
        _ => None,
    }
}

/// The display name to write after the names in `values` are corrected: `Ok(None)` when
/// no name is corrected or it stays the same; `Err` when the display name is not the plain
/// "given name surname" the corrected names would replace.
fn display_name(
    entity: &Map<String, Value>,
    values: &std::collections::BTreeMap<Field, String>,
) -> Result<Option<String>, ()> {
    let text = |f: &str| entity.get(f).and_then(Value::as_str).unwrap_or("").trim();
    let (given, surname) = (values.get(&Field::FirstName), values.get(&Field::LastName));
    if given.is_none() && surname.is_none() {
        return Ok(None);
    }
    let composed = |g: &str, s: &str| format!("{g} {s}").trim().to_string();
    let was = composed(text("givenName"), text("surname"));
    let shown = text(DISPLAY_NAME);
    let will = composed(
        given.map_or(text("givenName"), |g| g.trim()),
        surname.map_or(text("surname"), |s| s.trim()),
    );
    if shown == will {
        Ok(None)
    } else if shown.is_empty() || shown == was {
        Ok(Some(will))
    } else {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn rectify(values: &[(Field, &str)]) -> Change {
        Change::Rectify {
            values: values.iter().map(|(f, v)| (*f, v.to_string())).collect(),
        }
    }

    fn fields(p: Proposal) -> Vec<String> {
        match p {
            Proposal::Change { changes } => changes.into_iter().map(|c| c.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_property_is_in_the_spec() {
        let Some(spec) = dsrhub_connector::testkit::graph_slice() else {
            return;
        };
        for (schema, table) in [
            ("microsoft.graph.user", USER_RECTIFIABLE),
            ("microsoft.graph.contact", CONTACT_RECTIFIABLE),
        ] {
            let node = &spec["components"]["schemas"][schema];
            let properties = dsrhub_connector::testkit::spec_properties(&spec, node);
            for (field, property) in table.iter().chain([&(Field::FirstName, DISPLAY_NAME)]) {
                assert!(
                    properties.contains(*property),
                    "{schema}: {field} -> {property}"
                );
            }
        }
    }

    /// The fake takes in a PATCH only properties Graph's description has on the entity.
    #[cfg(feature = "fake")]
    #[test]
    fn the_fakes_writable_properties_are_in_the_spec() {
        let Some(spec) = dsrhub_connector::testkit::graph_slice() else {
            return;
        };
        for (schema, writable) in [
            ("microsoft.graph.user", crate::fake::routes::USER_WRITABLE),
            (
                "microsoft.graph.contact",
                crate::fake::routes::CONTACT_WRITABLE,
            ),
        ] {
            let node = &spec["components"]["schemas"][schema];
            let properties = dsrhub_connector::testkit::spec_properties(&spec, node);
            for property in writable {
                assert!(properties.contains(*property), "{schema}: {property}");
            }
        }
    }

    #[test]
    fn names_correct_the_display_name_only_where_it_was_composed() {
        let contact =
            entity(json!({"displayName": "Jan Jansen", "givenName": "Jan", "surname": "Jansen"}));
        let p = proposal(
            Kind::Contact,
            &contact,
            &rectify(&[(Field::LastName, "Janssen")]),
        );
        assert_eq!(fields(p), ["surname", "displayName"]);
        let written = entity(
            json!({"displayName": "Jansen, Jan (Advies)", "givenName": "Jan", "surname": "Jansen"}),
        );
        assert!(matches!(
            proposal(
                Kind::Contact,
                &written,
                &rectify(&[(Field::LastName, "Janssen")])
            ),
            Proposal::Refused { .. }
        ));
        // A job title leaves the display name alone.
        assert_eq!(
            fields(proposal(
                Kind::Contact,
                &written,
                &rectify(&[(Field::JobTitle, "CFO")])
            )),
            ["jobTitle"]
        );
    }

    #[test]
    fn lists_and_the_address_are_corrected_where_it_is_clear_which_entry() {
        let contact = entity(json!({
            "emailAddresses": [{"name": "Jan Jansen", "address": "jan@old.example"}],
            "businessPhones": [],
            "businessAddress": {"street": "Kerkstraat 1", "city": "Delft", "countryOrRegion": "NL"}
        }));
        let Proposal::Change { changes } = proposal(
            Kind::Contact,
            &contact,
            &rectify(&[
                (Field::Email, "jan@new.example"),
                (Field::Phone, "010 1"),
                (Field::City, "Leiden"),
            ]),
        ) else {
            panic!()
        };
        let to: Map<String, Value> = changes.into_iter().map(|c| (c.field, c.to)).collect();
        assert_eq!(
            to["emailAddresses"],
            json!([{"name": "Jan Jansen", "address": "jan@new.example"}])
        );
        assert_eq!(to["businessPhones"], json!(["010 1"]));
        assert_eq!(
            to["businessAddress"],
            json!({"street": "Kerkstraat 1", "city": "Leiden", "countryOrRegion": "NL"})
        );
        let two = entity(json!({"emailAddresses": [{"address": "a"}, {"address": "b"}]}));
        assert!(matches!(
            proposal(
                Kind::Contact,
                &two,
                &rectify(&[(Field::Email, "c@example.nl")])
            ),
            Proposal::Refused { .. }
        ));
        let phones = entity(json!({"businessPhones": ["1", "2"]}));
        assert!(matches!(
            proposal(Kind::User, &phones, &rectify(&[(Field::Phone, "3")])),
            Proposal::Refused { .. }
        ));
    }

    #[test]
    fn a_users_address_and_a_synced_user_are_for_an_administrator() {
        let user = entity(json!({"givenName": "Anna", "mail": "anna@x.example"}));
        assert!(matches!(
            proposal(
                Kind::User,
                &user,
                &rectify(&[(Field::Email, "anna@y.example")])
            ),
            Proposal::Refused { .. }
        ));
        let synced = entity(json!({"onPremisesSyncEnabled": true, "jobTitle": "x"}));
        assert!(matches!(
            proposal(Kind::User, &synced, &rectify(&[(Field::JobTitle, "y")])),
            Proposal::Refused { .. }
        ));
        assert!(matches!(
            proposal(Kind::User, &user, &Change::Restrict),
            Proposal::Refused { .. }
        ));
    }
}
