//! The rights besides access and erasure, as a connector sees them: rectification (art. 16),
//! restriction of processing (art. 18) and its lifting, and objection (art. 21).
//!
//! All of them end in the same thing at a vendor: some fields of a record get other values
//! (a corrected phone number, an inactive flag, an opt-out flag). So a connector answers one
//! question, [`crate::Connector::propose`]: what would this [`Change`] do to this record, read
//! from the vendor now, as a list of [`FieldChange`]s in the vendor's own field names (or
//! why it will not, or that nothing is needed). The hub records that plan, a person approves
//! it, [`crate::Connector::apply`] writes the new values, and proposing again must find
//! nothing left to do: that is the verification.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A field a person may have corrected, named the same for every processor. Each connector
/// maps these to its vendor's fields in one table (`mapping::RECTIFIABLE`, say).
///
/// A name is two fields, never one: vendors keep given and family names apart, and splitting
/// "Anna Maria de Vries" by guesswork would write a wrong name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Given name(s).
    FirstName,
    /// Family name, with any prefix ("de Vries").
    LastName,
    /// E-mail address.
    Email,
    /// Phone number (a landline or the main number).
    Phone,
    /// Mobile phone number.
    Mobile,
    /// Street and number (the first address line).
    Street,
    /// Postal code.
    Postcode,
    /// City or town.
    City,
    /// Job title.
    JobTitle,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 9] = [
        Field::FirstName,
        Field::LastName,
        Field::Email,
        Field::Phone,
        Field::Mobile,
        Field::Street,
        Field::Postcode,
        Field::City,
        Field::JobTitle,
    ];

    /// Stable snake_case name, as `--set` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Mobile => "mobile",
            Field::Street => "street",
            Field::Postcode => "postcode",
            Field::City => "city",
            Field::JobTitle => "job_title",
        }
    }

    /// The field named `text` ([`Field::as_str`]), if any.
    pub fn parse(text: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// Its name in a letter or reply, in `language` (`nl`, else English).
    pub fn label(self, language: &str) -> &'static str {
        let dutch = language == "nl";
        match self {
            Field::FirstName if dutch => "voornaam",
            Field::FirstName => "first name",
            Field::LastName if dutch => "achternaam",
            Field::LastName => "last name",
            Field::Email if dutch => "e-mailadres",
            Field::Email => "e-mail address",
            Field::Phone if dutch => "telefoonnummer",
            Field::Phone => "phone number",
            Field::Mobile if dutch => "mobiel nummer",
            Field::Mobile => "mobile number",
            Field::Street if dutch => "straat en huisnummer",
            Field::Street => "street and number",
            Field::Postcode if dutch => "postcode",
            Field::Postcode => "postal code",
            Field::City if dutch => "woonplaats",
            Field::City => "city",
            Field::JobTitle if dutch => "functie",
            Field::JobTitle => "job title",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What processing a person objects to (art. 21). The policy names one: the newsletter
/// (section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Newsletters and other bulk e-mail.
    Newsletter,
}

impl Purpose {
    /// Stable snake_case name, as `--purpose` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Newsletter => "newsletter",
        }
    }

    /// What it is, in a letter or reply, in `language` (`nl`, else English).
    pub fn label(self, language: &str) -> &'static str {
        match (self, language) {
            (Purpose::Newsletter, "nl") => "nieuwsbrieven en andere bulkmail",
            (Purpose::Newsletter, _) => "newsletters and other bulk e-mail",
        }
    }

    /// The purpose named `text`, if any.
    pub fn parse(text: &str) -> Option<Purpose> {
        [Purpose::Newsletter]
            .into_iter()
            .find(|p| p.as_str() == text)
    }
}

/// What a request other than access or erasure asks of every record of the subject.
///
/// `Debug` names the fields only: a rectification's new values are personal data.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "right", rename_all = "snake_case")]
pub enum Change {
    /// Art. 16: these fields get these values.
    Rectify {
        /// The corrected values.
        values: BTreeMap<Field, String>,
    },
    /// Art. 18: mark the record so it is kept but no longer processed.
    Restrict,
    /// Lifting a restriction: set these fields back from the restriction's value (`to`) to
    /// the value before it (`from`), as the restriction recorded them.
    Restore {
        /// The restriction's changes of this record.
        restricted: Vec<FieldChange>,
    },
    /// Art. 21: opt the person out of `purpose` where the vendor has a flag for it.
    Object {
        /// What they object to.
        purpose: Purpose,
    },
}

impl fmt::Debug for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Rectify { values } => f
                .debug_struct("Rectify")
                .field("fields", &values.keys().collect::<Vec<_>>())
                .finish_non_exhaustive(),
            Change::Restrict => f.write_str("Restrict"),
            Change::Restore { restricted } => f
                .debug_struct("Restore")
                .field("restricted", restricted)
                .finish(),
            Change::Object { purpose } => {
                f.debug_struct("Object").field("purpose", purpose).finish()
            }
        }
    }
}

impl Change {
    /// The right it carries out, as letters and templates name it: `rectification`,
    /// `restriction`, `lift`, `objection`.
    pub fn right(&self) -> &'static str {
        match self {
            Change::Rectify { .. } => "rectification",
            Change::Restrict => "restriction",
            Change::Restore { .. } => "lift",
            Change::Object { .. } => "objection",
        }
    }

    /// A rectification's corrections as a letter lists them: each field's name in `language`
    /// with its new value (empty for the other rights).
    pub fn corrections(&self, language: &str) -> Vec<(&'static str, &str)> {
        match self {
            Change::Rectify { values } => values
                .iter()
                .map(|(field, value)| (field.label(language), value.as_str()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// What an objection is to, in `language` (empty for the other rights).
    pub fn purpose_label(&self, language: &str) -> &'static str {
        match self {
            Change::Object { purpose } => purpose.label(language),
            _ => "",
        }
    }
}

/// How letters and replies name a request for `right` (`access`, `erasure`, or a
/// [`Change::right`]) in `language` (`nl`, else English), with the GDPR article it rests on.
pub fn request_name(right: &str, language: &str) -> (&'static str, &'static str) {
    let dutch = language == "nl";
    match right {
        "erasure" => (if dutch { "wissen" } else { "erasure" }, "17"),
        "access" => (if dutch { "inzage" } else { "access" }, "15"),
        "rectification" => (
            if dutch {
                "rectificatie"
            } else {
                "rectification"
            },
            "16",
        ),
        "restriction" if dutch => ("beperking van de verwerking", "18"),
        "restriction" => ("restriction of processing", "18"),
        "lift" if dutch => ("opheffing van de beperking", "18"),
        "lift" => ("restriction lifted", "18"),
        _ => (if dutch { "bezwaar" } else { "objection" }, "21"),
    }
}

/// One vendor field of one record going from one value to another. `from` and `to` may be
/// personal data (a rectification's old and new name): `Debug` shows the field name only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The vendor's name of the field (`firstName`, `send_invoices_to_email`), or a state the
    /// connector knows how to set (`archived`).
    pub field: String,
    /// Its value now.
    pub from: Value,
    /// Its value after the change.
    pub to: Value,
}

impl FieldChange {
    /// `field` going from `from` to `to`.
    pub fn new(field: impl Into<String>, from: impl Into<Value>, to: impl Into<Value>) -> Self {
        FieldChange {
            field: field.into(),
            from: from.into(),
            to: to.into(),
        }
    }
}

impl fmt::Debug for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldChange")
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

/// What a [`Change`] would do to one record, read from the vendor now (see
/// [`crate::Connector::propose`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "proposal", rename_all = "snake_case")]
pub enum Proposal {
    /// These fields change. Never empty: nothing to change is [`Proposal::Unchanged`].
    Change {
        /// The changes, in the vendor's field names.
        changes: Vec<FieldChange>,
    },
    /// The record already is as asked (the value is already right, the contact already
    /// inactive): nothing to do, and after [`crate::Connector::apply`] the verification.
    Unchanged,
    /// The vendor will not change this record so, or the connector must not (an issued
    /// invoice, a contact another system keeps in step): `reason` says why, `instead` where
    /// the change is made. A person handles it. Neither names a person or a value.
    Refused {
        /// Why it is not changed here.
        reason: String,
        /// Where to change it instead ("in Autotask: IT Glue copies its contacts from there").
        instead: String,
    },
    /// This right does not act on this kind of record (an invoice has no newsletter flag;
    /// restricting the contact covers its invoices): `why`, for the report.
    NotApplicable {
        /// Why nothing is done to it.
        why: String,
    },
}

impl Proposal {
    /// [`Proposal::Change`] when `changes` has any, else [`Proposal::Unchanged`].
    pub fn from_changes(changes: Vec<FieldChange>) -> Proposal {
        if changes.is_empty() {
            Proposal::Unchanged
        } else {
            Proposal::Change { changes }
        }
    }

    /// [`Proposal::NotApplicable`] with `why`.
    pub fn not_applicable(why: impl Into<String>) -> Proposal {
        Proposal::NotApplicable { why: why.into() }
    }

    /// [`Proposal::Refused`] with `reason` and `instead`.
    pub fn refused(reason: impl Into<String>, instead: impl Into<String>) -> Proposal {
        Proposal::Refused {
            reason: reason.into(),
            instead: instead.into(),
        }
    }
}

/// The changes that set `record`'s fields to `wanted`: one per field whose current value
/// (read with `current`) differs. Values are compared as JSON, with a missing field equal to
/// `null` and an empty string equal to `null` (vendors answer either for "not set").
pub fn changes_to(
    current: impl Fn(&str) -> Value,
    wanted: impl IntoIterator<Item = (String, Value)>,
) -> Vec<FieldChange> {
    let blank = |v: &Value| v.is_null() || v.as_str().is_some_and(str::is_empty);
    wanted
        .into_iter()
        .filter_map(|(field, to)| {
            let from = current(&field);
            let same = from == to || (blank(&from) && blank(&to));
            (!same).then_some(FieldChange { field, from, to })
        })
        .collect()
}

/// The vendor fields and values `values` asks for, through a connector's `table` of canonical
/// field → vendor field (fields the vendor does not keep are left out; values trimmed).
pub fn mapped(values: &BTreeMap<Field, String>, table: &[(Field, &str)]) -> Vec<(String, Value)> {
    values
        .iter()
        .filter_map(|(field, value)| {
            table
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, vendor)| (vendor.to_string(), Value::from(value.trim())))
        })
        .collect()
}

/// The new value of each field `changes` sets, by field name: the body of the vendor's
/// update call (PATCH or PUT of the changed fields).
pub fn new_values(changes: &[FieldChange]) -> serde_json::Map<String, Value> {
    changes
        .iter()
        .map(|c| (c.field.clone(), c.to.clone()))
        .collect()
}

/// What lifting a restriction proposes for a record whose restriction changed `restricted`:
/// each field still at the restriction's value goes back to its earlier value. When someone
/// changed a field since, the record goes to a person, naming that field: putting back the
/// earlier value would undo their change, and putting back only the others would report a
/// lift that is not whole.
pub fn restore(current: impl Fn(&str) -> Value, restricted: &[FieldChange]) -> Proposal {
    let mut changes = Vec::new();
    let mut moved = Vec::new();
    for change in restricted {
        let now = current(&change.field);
        if now == change.from {
            continue;
        }
        if now == change.to {
            changes.push(FieldChange {
                field: change.field.clone(),
                from: change.to.clone(),
                to: change.from.clone(),
            });
        } else {
            moved.push(change.field.as_str());
        }
    }
    if !moved.is_empty() {
        let mut reason = format!(
            "changed since the restriction ({}): not put back automatically",
            moved.join(", ")
        );
        if !changes.is_empty() {
            let still: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
            reason.push_str(&format!("; still restricted: {}", still.join(", ")));
        }
        return Proposal::refused(
            reason,
            "in the processor, by a person who knows why it was changed",
        );
    }
    Proposal::from_changes(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_and_purposes_round_trip_their_names() {
        for f in Field::ALL {
            assert_eq!(Field::parse(f.as_str()), Some(f));
        }
        assert_eq!(Field::parse("name"), None);
        assert_eq!(Purpose::parse("newsletter"), Some(Purpose::Newsletter));
        assert_eq!(Purpose::parse("profiling"), None);
    }

    #[test]
    fn only_fields_that_differ_change_and_blank_equals_missing() {
        let record = json!({"firstName": "Jan", "phone": "", "title": null});
        let current = |f: &str| record.get(f).cloned().unwrap_or(Value::Null);
        let changes = changes_to(
            current,
            [
                ("firstName".to_string(), json!("Jan")),
                ("phone".to_string(), json!("+31 6 1")),
                ("title".to_string(), json!("")),
                ("city".to_string(), Value::Null),
                ("lastName".to_string(), json!("Vries")),
            ],
        );
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["phone", "lastName"]);
        assert_eq!(changes[0].from, json!(""));
        assert_eq!(changes[1].from, Value::Null);
        assert_eq!(Proposal::from_changes(vec![]), Proposal::Unchanged);
    }

    #[test]
    fn a_restore_puts_back_only_what_the_restriction_still_holds() {
        let restricted = vec![
            FieldChange::new("isActive", 1, 0),
            FieldChange::new("note", "a", "b"),
        ];
        // Still restricted: both go back.
        let record = json!({"isActive": 0, "note": "b"});
        let proposal = restore(|f| record[f].clone(), &restricted);
        assert_eq!(
            proposal,
            Proposal::Change {
                changes: vec![
                    FieldChange::new("isActive", 0, 1),
                    FieldChange::new("note", "b", "a")
                ]
            }
        );
        // Already back: nothing to do.
        let record = json!({"isActive": 1, "note": "a"});
        assert_eq!(
            restore(|f| record[f].clone(), &restricted),
            Proposal::Unchanged
        );
        // Someone changed it to something else since: a person decides.
        let record = json!({"isActive": 1, "note": "c"});
        assert!(matches!(
            restore(|f| record[f].clone(), &restricted),
            Proposal::Refused { .. }
        ));
        // One still restricted, one moved: a person decides, told both.
        let record = json!({"isActive": 0, "note": "c"});
        let Proposal::Refused { reason, .. } = restore(|f| record[f].clone(), &restricted) else {
            panic!("a partly moved record goes to a person")
        };
        assert!(reason.contains("(note)") && reason.contains("still restricted: isActive"));
    }

    #[test]
    fn letters_name_every_field_purpose_and_right_in_both_languages() {
        let labels: Vec<(&str, &str, &str)> = Field::ALL
            .iter()
            .map(|f| (f.as_str(), f.label("nl"), f.label("en")))
            .collect();
        assert_eq!(
            labels,
            [
                ("first_name", "voornaam", "first name"),
                ("last_name", "achternaam", "last name"),
                ("email", "e-mailadres", "e-mail address"),
                ("phone", "telefoonnummer", "phone number"),
                ("mobile", "mobiel nummer", "mobile number"),
                ("street", "straat en huisnummer", "street and number"),
                ("postcode", "postcode", "postal code"),
                ("city", "woonplaats", "city"),
                ("job_title", "functie", "job title"),
            ]
        );
        assert_eq!(Field::JobTitle.to_string(), "job_title");
        assert_eq!(
            Purpose::Newsletter.label("nl"),
            "nieuwsbrieven en andere bulkmail"
        );
        assert_eq!(
            Purpose::Newsletter.label("en"),
            "newsletters and other bulk e-mail"
        );
        let rectify = Change::Rectify {
            values: [
                (Field::Phone, "010 1".to_string()),
                (Field::City, "Delft".to_string()),
            ]
            .into(),
        };
        let object = Change::Object {
            purpose: Purpose::Newsletter,
        };
        let lift = Change::Restore { restricted: vec![] };
        let rights: Vec<&str> = [&rectify, &Change::Restrict, &lift, &object]
            .iter()
            .map(|c| c.right())
            .collect();
        assert_eq!(
            rights,
            ["rectification", "restriction", "lift", "objection"]
        );
        assert_eq!(
            rectify.corrections("nl"),
            [("telefoonnummer", "010 1"), ("woonplaats", "Delft")]
        );
        assert!(object.corrections("en").is_empty());
        assert_eq!(
            object.purpose_label("en"),
            "newsletters and other bulk e-mail"
        );
        assert_eq!(rectify.purpose_label("en"), "");
        let names: Vec<(&str, &str, &str)> = [
            "access",
            "erasure",
            "rectification",
            "restriction",
            "lift",
            "objection",
        ]
        .iter()
        .map(|r| {
            let (nl, article) = request_name(r, "nl");
            let (en, same) = request_name(r, "en");
            assert_eq!(article, same);
            (nl, en, article)
        })
        .collect();
        assert_eq!(
            names,
            [
                ("inzage", "access", "15"),
                ("wissen", "erasure", "17"),
                ("rectificatie", "rectification", "16"),
                (
                    "beperking van de verwerking",
                    "restriction of processing",
                    "18"
                ),
                ("opheffing van de beperking", "restriction lifted", "18"),
                ("bezwaar", "objection", "21"),
            ]
        );
    }

    #[test]
    fn canonical_fields_map_through_the_connectors_table() {
        let values = [
            (Field::Phone, " 010 ".to_string()),
            (Field::JobTitle, "CFO".to_string()),
        ]
        .into();
        assert_eq!(
            mapped(&values, &[(Field::Phone, "phone"), (Field::City, "city")]),
            [("phone".to_string(), json!("010"))]
        );
    }

    #[test]
    fn new_values_are_the_update_body() {
        let body = new_values(&[
            FieldChange::new("phone", "1", "2"),
            FieldChange::new("isActive", 1, 0),
        ]);
        assert_eq!(Value::Object(body), json!({"phone": "2", "isActive": 0}));
    }

    #[test]
    fn debug_shows_no_value() {
        let change = Change::Rectify {
            values: [(Field::LastName, "Geheim".to_string())].into(),
        };
        let shown = format!(
            "{change:?} {:?}",
            FieldChange::new("lastName", "Oud", "Geheim")
        );
        assert!(
            !shown.contains("Geheim") && !shown.contains("Oud"),
            "{shown}"
        );
        assert!(shown.contains("last_name") || shown.contains("LastName"));
        assert!(
            shown.contains("\"lastName\""),
            "the changed field is named: {shown}"
        );
    }
}
