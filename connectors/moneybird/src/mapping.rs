//! Moneybird JSON → dsrhub records: which contacts and contact people match the subject, and
//! how; which fields anonymisation clears.

use dsrhub_connector::{
    is_role_address, Category, ContractPeriod, Erasability, MatchKind, Ownership, Record,
    RecordRef, RetentionHint, Subject,
};
use jiff::civil::Date;
use serde_json::{Map, Value};

pub const CONTACT: &str = "contact";
pub const CONTACT_PERSON: &str = "contact_person";
pub const SALES_INVOICE: &str = "sales_invoice";

/// Contact fields that may hold the subject's e-mail address.
const CONTACT_EMAIL_FIELDS: &[&str] =
    &["email", "send_invoices_to_email", "send_estimates_to_email"];

/// Personal contact fields cleared when a contact is anonymised: every personal field of the
/// spec's contact *update* schema (`PATCH /contacts/{id}`), so the PATCH sends nothing the API
/// would refuse or ignore, plus `custom_fields` (cleared through `custom_fields_attributes`)
/// and `notes` (each deleted). `company_name` and `customer_id` stay: they tie the retained
/// invoices to the bookkeeping, and a company name is not personal data of its own. The
/// classification of every field of the contact is checked against the spec by a test.
pub const ANONYMIZE_FIELDS: &[&str] = &[
    "firstname",
    "lastname",
    "address1",
    "address2",
    "zipcode",
    "city",
    "phone",
    "tax_number",
    "chamber_of_commerce",
    "bank_account",
    "send_invoices_to_attention",
    "send_invoices_to_email",
    "send_estimates_to_attention",
    "send_estimates_to_email",
    "sepa_active",
    "sepa_iban",
    "sepa_iban_account_name",
    "sepa_bic",
    "sepa_mandate_id",
    "sepa_mandate_date",
    "si_identifier",
    CUSTOM_FIELDS,
    NOTES,
];

/// Cleared through `custom_fields_attributes`, not a field of the PATCH itself.
pub const CUSTOM_FIELDS: &str = "custom_fields";
/// Deleted one by one (`DELETE /contacts/{id}/notes/{note}`).
pub const NOTES: &str = "notes";

/// Personal fields the API does not let a client write: `email` and `attention` mirror
/// `send_invoices_to_email` and `send_invoices_to_attention` (Moneybird's changelog of
/// 2016-03-10). They are checked, after the PATCH, to be empty as well.
pub const MIRRORED_FIELDS: &[&str] = &["email", "attention"];

/// Personal data on a contact that the API offers no way to clear: Moneybird Payments' card
/// and mandate details and the contact's event log. Listed in the docs for a person to raise
/// with Moneybird; never claimed as anonymised.
pub const BEYOND_THE_API: &[&str] = &[
    "credit_card_number",
    "credit_card_reference",
    "credit_card_type",
    "moneybird_payments_mandate",
    "events",
];

/// Contact fields that are not the person's data: ids, bookkeeping, settings, and the company
/// and customer number that tie retained invoices to the books. `contact_people` are records
/// of their own.
pub const NOT_PERSONAL: &[&str] = &[
    "id",
    "administration_id",
    "company_name",
    "customer_id",
    "country",
    "delivery_method",
    "email_ubl",
    "direct_debit",
    "sepa_sequence_type",
    "si_identifier_type",
    "tax_number_valid",
    "tax_number_validated_at",
    "is_trusted",
    "max_transfer_amount",
    "invoice_workflow_id",
    "estimate_workflow_id",
    "sales_invoices_url",
    "archived",
    "created_at",
    "updated_at",
    "version",
    "contact_people",
];

/// Replacement for the last name when a contact has no company name, because Moneybird
/// requires a company name or a name on every contact.
pub const ANONYMOUS_NAME: &str = "Geanonimiseerd";

/// A text field of `value`, empty when it is absent or not text.
pub fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or("")
}

/// The id of a Moneybird object (ids are strings of digits).
pub fn id_of(value: &Value) -> Option<String> {
    match value.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn full_name(value: &Value) -> String {
    format!("{} {}", text(value, "firstname"), text(value, "lastname"))
}

/// How `contact` itself matches the subject, if it does.
pub fn contact_match(contact: &Value, subject: &Subject) -> Option<MatchKind> {
    if CONTACT_EMAIL_FIELDS
        .iter()
        .any(|f| subject.has_email(text(contact, f)))
    {
        Some(MatchKind::ExactEmail)
    } else if subject.has_phone(text(contact, "phone")) {
        Some(MatchKind::Phone)
    } else if subject.has_name(&full_name(contact)) {
        Some(MatchKind::Name)
    } else {
        None
    }
}

/// How one contact person matches the subject, if it does.
pub fn person_match(person: &Value, subject: &Subject) -> Option<MatchKind> {
    if subject.has_email(text(person, "email")) {
        Some(MatchKind::ExactEmail)
    } else if subject.has_phone(text(person, "phone")) {
        Some(MatchKind::Phone)
    } else if subject.has_name(&full_name(person)) {
        Some(MatchKind::Name)
    } else {
        None
    }
}

/// Whose record a matched contact is. A company contact that holds contact people is the
/// company's (deleting it deletes those people, other persons), and so is a company contact
/// matched only through a role address (`info@`); any other contact is the subject's own
/// (a private contact, or a sole trader's).
pub fn contact_ownership(contact: &Value, subject: &Subject) -> Ownership {
    let people = contact
        .get("contact_people")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if people > 0 {
        return Ownership::Organisation(format!(
            "a company contact with {people} contact person(s), other people"
        ));
    }
    let matched: Vec<&str> = CONTACT_EMAIL_FIELDS
        .iter()
        .map(|f| text(contact, f))
        .filter(|v| subject.has_email(v))
        .collect();
    if !text(contact, "company_name").is_empty()
        && !matched.is_empty()
        && matched.iter().all(|v| is_role_address(v))
    {
        return Ownership::Organisation("a company contact reached through a role address".into());
    }
    Ownership::Own
}

/// A contact record (the contact itself matched).
pub fn contact_record(contact: &Value, matched_by: MatchKind) -> Option<Record> {
    let mut categories = vec![Category::Name, Category::Email, Category::Address];
    if !text(contact, "phone").is_empty() {
        categories.push(Category::Phone);
    }
    if !text(contact, "sepa_iban").is_empty() || !text(contact, "bank_account").is_empty() {
        categories.push(Category::Iban);
    }
    if !text(contact, "company_name").is_empty() {
        categories.push(Category::Company);
    }
    Some(Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference: RecordRef::new(CONTACT, id_of(contact)?),
        matched_by,
        categories,
        linked_to: None,
        retention: None,
        erasability: Erasability {
            delete: true,
            delete_blocked: None,
            anonymize_fields: ANONYMIZE_FIELDS.iter().map(|f| f.to_string()).collect(),
        },
    })
}

/// A contact-person record.
pub fn person_record(contact_id: &str, person: &Value, matched_by: MatchKind) -> Option<Record> {
    Some(Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference: RecordRef::new(CONTACT_PERSON, id_of(person)?).scoped(contact_id),
        matched_by,
        categories: vec![
            Category::Name,
            Category::Email,
            Category::Phone,
            Category::Company,
        ],
        linked_to: Some(RecordRef::new(CONTACT, contact_id)),
        retention: None,
        erasability: Erasability {
            delete: true,
            delete_blocked: None,
            anonymize_fields: Vec::new(),
        },
    })
}

/// What a contact's recurring sales invoices (subscriptions) say about the retention of its
/// data. One runs while `active` and its `last_date` (the last invoice it will make) has not
/// passed; a stopped one ended on its `last_date`, or else when it was last changed (the day
/// it was stopped, as far as the API tells). `None` without any: no contract data.
pub fn subscription_hint(recurring: &[Value], today: Date) -> Option<RetentionHint> {
    let day = |v: &Value, f: &str| -> Option<Date> { text(v, f).get(..10)?.parse().ok() };
    let periods: Vec<ContractPeriod> = recurring
        .iter()
        .map(|r| {
            let ends = day(r, "last_date");
            let active = r.get("active").and_then(Value::as_bool) == Some(true);
            ContractPeriod {
                stopped_on: (!active)
                    .then(|| ends.or_else(|| day(r, "updated_at")).unwrap_or(today)),
                ends,
            }
        })
        .collect();
    RetentionHint::from_contracts(&periods, today)
}

/// A sales invoice of an exactly matched contact: kept for the fiscal retention duty.
pub fn invoice_record(contact_id: &str, invoice: &Value) -> Option<Record> {
    let date: Option<Date> = text(invoice, "invoice_date").parse().ok();
    Some(Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference: RecordRef::new(SALES_INVOICE, id_of(invoice)?),
        matched_by: MatchKind::Linked,
        categories: vec![
            Category::Name,
            Category::Address,
            Category::Email,
            Category::Financial,
        ],
        linked_to: Some(RecordRef::new(CONTACT, contact_id)),
        // Without a date the document is treated as dated today: kept the longest.
        retention: Some(RetentionHint::Fiscal {
            document_date: date.unwrap_or_else(|| jiff::ZonedDateTime::now().date()),
        }),
        erasability: Erasability {
            delete: true,
            delete_blocked: None,
            anonymize_fields: Vec::new(),
        },
    })
}

/// What an anonymisation writes into `field` of `contact` instead of clearing it: a contact
/// without a company name keeps a last name, because Moneybird requires a name.
fn replacement(contact: &Value, field: &str) -> Option<&'static str> {
    (field == "lastname" && text(contact, "company_name").is_empty()).then_some(ANONYMOUS_NAME)
}

/// The PATCH body that anonymises `fields` of `contact`: only writable fields, and the
/// contact's custom fields emptied through `custom_fields_attributes`. Notes are not part of
/// it (see [`NOTES`]).
pub fn anonymized_changes(contact: &Value, fields: &[String]) -> Map<String, Value> {
    let mut changes = Map::new();
    for field in fields
        .iter()
        .filter(|f| ANONYMIZE_FIELDS.contains(&f.as_str()))
    {
        let value = match field.as_str() {
            NOTES => continue,
            CUSTOM_FIELDS => {
                let cleared: Map<String, Value> = contact
                    .get(CUSTOM_FIELDS)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.get("id").cloned())
                    .enumerate()
                    .map(|(i, id)| (i.to_string(), serde_json::json!({ "id": id, "value": "" })))
                    .collect();
                if cleared.is_empty() {
                    continue;
                }
                changes.insert("custom_fields_attributes".into(), Value::Object(cleared));
                continue;
            }
            "sepa_active" => Value::Bool(false),
            f => Value::from(replacement(contact, f).unwrap_or_default()),
        };
        changes.insert(field.clone(), value);
    }
    changes
}

/// The personal fields of `contact` (as read back after an anonymisation) that still hold
/// something: the cleared fields of `fields` that are not empty, their mirrors, custom field
/// values and notes. Empty when the anonymisation took.
pub fn still_personal(contact: &Value, fields: &[String]) -> Vec<String> {
    let filled = |v: Option<&Value>| match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    };
    let mut left = Vec::new();
    for field in fields
        .iter()
        .map(String::as_str)
        .filter(|f| ANONYMIZE_FIELDS.contains(f))
        .chain(MIRRORED_FIELDS.iter().copied())
    {
        let value = contact.get(field);
        let holds = match (field, replacement(contact, field)) {
            (_, Some(want)) => text(contact, field) != want,
            (CUSTOM_FIELDS, None) => value
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|f| filled(f.get("value"))),
            (_, None) => filled(value),
        };
        if holds {
            left.push(field.to_string());
        }
    }
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subject() -> Subject {
        Subject {
            emails: vec!["Sanne.Bakker@example.nl".into()],
            phones: vec!["+31 6 12345678".into()],
            names: vec!["Jan de Vries".into()],
        }
    }

    #[test]
    fn email_match_is_exact_and_case_insensitive() {
        let s = subject();
        assert_eq!(
            contact_match(&json!({"email": "sanne.bakker@example.nl"}), &s),
            Some(MatchKind::ExactEmail)
        );
        assert_eq!(
            contact_match(
                &json!({"send_invoices_to_email": " SANNE.BAKKER@EXAMPLE.NL "}),
                &s
            ),
            Some(MatchKind::ExactEmail)
        );
        assert_eq!(
            contact_match(&json!({"email": "sanne.bakker@example.nl.evil"}), &s),
            None
        );
        assert_eq!(
            contact_match(&json!({"email": "xsanne.bakker@example.nl"}), &s),
            None
        );
    }

    #[test]
    fn phone_and_name_matches_are_review_only() {
        let s = subject();
        let by_phone = contact_match(&json!({"phone": "06-12345678"}), &s).unwrap();
        assert_eq!(by_phone, MatchKind::Phone);
        assert!(!by_phone.allows_erasure());
        let by_name =
            contact_match(&json!({"firstname": "jan", "lastname": "de  vries"}), &s).unwrap();
        assert_eq!(by_name, MatchKind::Name);
        assert!(!by_name.allows_erasure());
    }

    #[test]
    fn strongest_match_wins() {
        let mut found = dsrhub_connector::Findings::default();
        let c = json!({"id": "1"});
        found.add(contact_record(&c, MatchKind::Name).unwrap());
        found.add(contact_record(&c, MatchKind::ExactEmail).unwrap());
        found.add(contact_record(&c, MatchKind::Phone).unwrap());
        assert_eq!(found.into_vec()[0].matched_by, MatchKind::ExactEmail);
    }

    #[test]
    fn anonymising_keeps_a_name_moneybird_requires() {
        let fields: Vec<String> = ANONYMIZE_FIELDS.iter().map(|s| s.to_string()).collect();
        let private = anonymized_changes(&json!({"company_name": ""}), &fields);
        assert_eq!(private["lastname"], json!(ANONYMOUS_NAME));
        assert_eq!(private["send_invoices_to_email"], json!(""));
        assert_eq!(private["sepa_active"], json!(false));
        // Never the read-only mirrors, which the API ignores.
        assert!(!private.contains_key("email") && !private.contains_key("attention"));
        let business = anonymized_changes(&json!({"company_name": "Bakker Fotografie"}), &fields);
        assert_eq!(business["lastname"], json!(""));
        // Unknown field names from a tampered plan are ignored, never sent.
        let odd = anonymized_changes(&json!({}), &["id".to_string(), "phone".to_string()]);
        assert_eq!(odd.len(), 1);
        // Custom fields are emptied by id; notes are not part of the PATCH.
        let with_extras = json!({"custom_fields": [{"id": "7", "name": "x", "value": "y"}],
                                 "notes": [{"id": "9", "note": "z"}]});
        let changes = anonymized_changes(&with_extras, &fields);
        assert_eq!(
            changes["custom_fields_attributes"],
            json!({"0": {"id": "7", "value": ""}})
        );
        assert!(!changes.contains_key("notes"));
    }

    #[test]
    fn what_is_still_personal_after_a_read_back() {
        let fields: Vec<String> = ANONYMIZE_FIELDS.iter().map(|s| s.to_string()).collect();
        let clean = json!({"company_name": "", "lastname": ANONYMOUS_NAME, "firstname": "",
                           "email": "", "sepa_active": false, "notes": [],
                           "custom_fields": [{"id": "7", "value": ""}]});
        assert!(still_personal(&clean, &fields).is_empty());
        let mut left = clean.clone();
        left["email"] = json!("a@b.nl");
        left["notes"] = json!([{"id": "9"}]);
        left["custom_fields"][0]["value"] = json!("y");
        left["lastname"] = json!("Bakker");
        assert_eq!(
            still_personal(&left, &fields),
            vec!["lastname", "custom_fields", "notes", "email"]
        );
    }
}
