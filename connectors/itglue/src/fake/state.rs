//! The fake's data and IT Glue's rules about it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Seed data, as in `fixtures/itglue/seed.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Seed {
    /// Organizations by id.
    pub organizations: Vec<Value>,
    /// Contacts by id.
    pub contacts: Vec<Value>,
}

impl Seed {
    /// The fixture shipped with dsrhub.
    pub fn fixture() -> Seed {
        serde_json::from_str(include_str!("../../../../fixtures/itglue/seed.json"))
            .expect("fixture seed is valid JSON")
    }
}

/// Why a request was refused: status and JSON:API error title and detail.
#[derive(Debug)]
pub struct Refusal(pub u16, pub &'static str, pub String);

/// All records by id.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Organizations by id.
    pub organizations: BTreeMap<u64, Value>,
    /// Contacts by id.
    pub contacts: BTreeMap<u64, Value>,
}

fn id(v: &Value) -> u64 {
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default()
}

/// Attributes a PATCH may change.
const WRITABLE: &[&str] = &[
    "first-name",
    "last-name",
    "title",
    "notes",
    "important",
    "contact-emails",
    "contact-phones",
    "location-id",
];

/// Whether a contact is synced from a PSA (and so read-only in IT Glue).
pub fn synced(contact: &Value) -> bool {
    contact["attributes"]["psa-id"]
        .as_str()
        .is_some_and(|s| !s.is_empty())
}

impl State {
    /// Index seed data by id.
    pub fn from_seed(seed: Seed) -> State {
        let index = |items: Vec<Value>| items.into_iter().map(|v| (id(&v), v)).collect();
        State {
            organizations: index(seed.organizations),
            contacts: index(seed.contacts),
        }
    }

    /// `GET /contacts` filters (snake_case names, as IT Glue documents them).
    pub fn filter_contacts(&self, filters: &[(String, String)]) -> Result<Vec<Value>, Refusal> {
        filtered(self.contacts.values(), filters, |contact, name, value| {
            let a = &contact["attributes"];
            let wanted = value.to_lowercase();
            Some(match name {
                "id" => value
                    .split(',')
                    .any(|v| v.trim() == contact["id"].as_str().unwrap_or("")),
                "primary_email" => a["contact-emails"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| {
                        e["primary"] == true
                            && e["value"]
                                .as_str()
                                .is_some_and(|v| v.to_lowercase() == wanted)
                    }),
                "first_name" => a["first-name"]
                    .as_str()
                    .is_some_and(|v| v.to_lowercase() == wanted),
                "last_name" => a["last-name"]
                    .as_str()
                    .is_some_and(|v| v.to_lowercase() == wanted),
                "organization_id" => {
                    a["organization-id"].as_u64().map(|v| v.to_string()) == Some(value.to_string())
                }
                "psa_id" => a["psa-id"].as_str() == Some(value),
                _ => return None,
            })
        })
    }

    /// `GET /organizations` filters: `filter[id]`, `filter[name]` (compared without case).
    pub fn filter_organizations(
        &self,
        filters: &[(String, String)],
    ) -> Result<Vec<Value>, Refusal> {
        filtered(
            self.organizations.values(),
            filters,
            |organization, name, value| {
                Some(match name {
                    "id" => value
                        .split(',')
                        .any(|v| v.trim() == id(organization).to_string()),
                    "name" => organization["attributes"]["name"]
                        .as_str()
                        .is_some_and(|n| n.to_lowercase() == value.to_lowercase()),
                    _ => return None,
                })
            },
        )
    }

    /// Bulk destroy: all ids must exist and none may be PSA-synced, or nothing is deleted.
    pub fn delete_contacts(&mut self, ids: &[u64]) -> Result<Vec<Value>, Refusal> {
        for contact_id in ids {
            let contact = self.contacts.get(contact_id).ok_or_else(|| {
                Refusal(
                    404,
                    "Record not found",
                    format!("Contact {contact_id} could not be found"),
                )
            })?;
            if synced(contact) {
                return Err(Refusal(
                    422,
                    "Unprocessable Entity",
                    "Cannot delete an externally synced record".into(),
                ));
            }
        }
        Ok(ids.iter().filter_map(|i| self.contacts.remove(i)).collect())
    }

    /// Apply a PATCH to a contact, with the vendor's rules.
    pub fn update_contact(&mut self, contact_id: u64, body: &Value) -> Result<Value, Refusal> {
        let attributes = body["data"]["attributes"]
            .as_object()
            .ok_or_else(|| Refusal(400, "Bad Request", "data.attributes is required".into()))?;
        let contact = self.contacts.get_mut(&contact_id).ok_or_else(|| {
            Refusal(
                404,
                "Record not found",
                format!("Contact {contact_id} could not be found"),
            )
        })?;
        if synced(contact) {
            return Err(Refusal(
                422,
                "Unprocessable Entity",
                "Cannot update an externally synced record".into(),
            ));
        }
        for (k, v) in attributes {
            if !WRITABLE.contains(&k.as_str()) {
                return Err(Refusal(
                    422,
                    "Unprocessable Entity",
                    format!("{k} is not a writable attribute"),
                ));
            }
            contact["attributes"][k] = v.clone();
        }
        let a = &mut contact["attributes"];
        a["name"] = json!(format!(
            "{} {}",
            a["first-name"].as_str().unwrap_or(""),
            a["last-name"].as_str().unwrap_or("")
        )
        .trim());
        a["updated-at"] = json!(jiff::Timestamp::now().to_string());
        Ok(contact.clone())
    }
}

/// The `items` every filter matches; `matches` says whether one item matches one filter
/// (`None`: not a filter IT Glue knows, answered 400 as IT Glue does).
fn filtered<'a>(
    items: impl Iterator<Item = &'a Value>,
    filters: &[(String, String)],
    matches: impl Fn(&Value, &str, &str) -> Option<bool>,
) -> Result<Vec<Value>, Refusal> {
    let mut out = Vec::new();
    for item in items {
        let mut all = true;
        for (name, value) in filters {
            match matches(item, name, value) {
                Some(hit) => all &= hit,
                None => {
                    return Err(Refusal(
                        400,
                        "Bad Request",
                        format!("filter[{name}] is not a valid filter"),
                    ))
                }
            }
        }
        if all {
            out.push(item.clone());
        }
    }
    Ok(out)
}
