//! Autotask JSON → dsrhub records: matching, tickets' retention, anonymisation bodies.

use dsrhub_connector::{
    Category, ContractPeriod, Erasability, MatchKind, Ownership, Record, RecordRef, RetentionHint,
    Subject,
};
use serde_json::{json, Value};

pub const CONTACT: &str = "contact";
pub const TICKET: &str = "ticket";

const EMAIL_FIELDS: &[&str] = &["emailAddress", "emailAddress2", "emailAddress3"];
const PHONE_FIELDS: &[&str] = &["phone", "mobilePhone", "alternatePhone"];

/// Contact fields cleared on anonymisation (names replaced, `isActive` set to 0): every personal
/// field of the spec's `ContactModel`. Every property of that model is in exactly one of this
/// list and [`CONTACT_NOT_PERSONAL`]; a test holds them to the spec.
pub const CONTACT_FIELDS: &[&str] = &[
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
    "note",
    USER_DEFINED_FIELDS,
];

/// Contact properties that are not the person's data: keys, links, flags and bookkeeping.
pub const CONTACT_NOT_PERSONAL: &[&str] = &[
    "id",
    "apiVendorID",
    "bulkEmailOptOutTime",
    "companyID",
    "companyLocationID",
    "countryID",
    "createDate",
    "externalID",
    "impersonatorCreatorResourceID",
    "isActive",
    "isOptedOutFromBulkEmail",
    "lastActivityDate",
    "lastModifiedDate",
    "primaryContact",
    "receivesEmailNotifications",
    "solicitationOptOut",
    "solicitationOptOutTime",
    "surveyOptOut",
    "soapParentPropertyId",
];

/// Ticket fields cleared on anonymisation: the contact link, the free text (title, description,
/// resolution, the change-info fields), user-defined field values, and the ticket's notes
/// ([`NOTES`]: each note's title and description, through `PATCH /Tickets/{id}/Notes`).
pub const TICKET_FIELDS: &[&str] = &[
    "contactID",
    "title",
    "description",
    "resolution",
    "changeInfoField1",
    "changeInfoField2",
    "changeInfoField3",
    "changeInfoField4",
    "changeInfoField5",
    USER_DEFINED_FIELDS,
    NOTES,
];

/// Ticket properties that are not the person's data: keys, links to staff and contracts,
/// queue, status, dates and SLA bookkeeping.
pub const TICKET_NOT_PERSONAL: &[&str] = &[
    "id",
    "apiVendorID",
    "assignedResourceID",
    "assignedResourceRoleID",
    "billingCodeID",
    "changeApprovalBoard",
    "changeApprovalStatus",
    "changeApprovalType",
    "companyID",
    "companyLocationID",
    "completedByResourceID",
    "completedDate",
    "configurationItemID",
    "contractID",
    "contractServiceBundleID",
    "contractServiceID",
    "createDate",
    "creatorResourceID",
    "creatorType",
    "currentServiceThermometerRating",
    "dueDateTime",
    "estimatedHours",
    "externalID",
    "firstResponseAssignedResourceID",
    "firstResponseDateTime",
    "firstResponseDueDateTime",
    "firstResponseInitiatingResourceID",
    "hoursToBeScheduled",
    "impersonatorCreatorResourceID",
    "issueType",
    "lastActivityDate",
    "lastActivityPersonType",
    "lastActivityResourceID",
    "lastCustomerNotificationDateTime",
    "lastCustomerVisibleActivityDateTime",
    "lastTrackedModificationDateTime",
    "monitorID",
    "monitorTypeID",
    "opportunityID",
    "organizationalLevelAssociationID",
    "previousServiceThermometerRating",
    "priority",
    "problemTicketId",
    "projectID",
    "purchaseOrderNumber",
    "queueID",
    "resolutionPlanDateTime",
    "resolutionPlanDueDateTime",
    "resolvedDateTime",
    "resolvedDueDateTime",
    "rmaStatus",
    "rmaType",
    "rMMAlertID",
    "serviceLevelAgreementHasBeenMet",
    "serviceLevelAgreementID",
    "serviceLevelAgreementPausedNextEventHours",
    "serviceThermometerTemperature",
    "source",
    "status",
    "subIssueType",
    "ticketCategory",
    "ticketNumber",
    "ticketType",
];

/// The user-defined fields of a record: `[{"name": …, "value": …}]`, each value cleared.
pub const USER_DEFINED_FIELDS: &str = "userDefinedFields";
/// A ticket's notes (`TicketNotes`), a child entity anonymised with the ticket.
pub const NOTES: &str = "notes";

fn text<'a>(v: &'a Value, f: &str) -> &'a str {
    v.get(f).and_then(Value::as_str).unwrap_or("")
}

/// A numeric Autotask id.
pub fn id_of(v: &Value) -> Option<u64> {
    v.get("id").and_then(Value::as_u64)
}

/// How a contact matches `subject`, if it does.
pub fn contact_match(contact: &Value, subject: &Subject) -> Option<MatchKind> {
    if EMAIL_FIELDS
        .iter()
        .any(|f| subject.has_email(text(contact, f)))
    {
        Some(MatchKind::ExactEmail)
    } else if PHONE_FIELDS
        .iter()
        .any(|f| subject.has_phone(text(contact, f)))
    {
        Some(MatchKind::Phone)
    } else if subject.has_name(&format!(
        "{} {}",
        text(contact, "firstName"),
        text(contact, "lastName")
    )) {
        Some(MatchKind::Name)
    } else {
        None
    }
}

/// Whose contact it is. Matched only on `emailAddress2`/`emailAddress3` while its primary
/// address is set and none of the subject's: the contact may well be another person's (a
/// shared desk, a colleague with the subject's address as a forward), so a person decides.
pub fn contact_ownership(contact: &Value, subject: &Subject) -> Ownership {
    let primary = text(contact, "emailAddress").trim();
    if primary.is_empty() || subject.has_email(primary) {
        return Ownership::Own;
    }
    Ownership::Shared(
        "matched only on a secondary address; the contact's primary address is not one of the subject's"
            .into(),
    )
}

/// The `or` conditions that find every address in `emails` in any e-mail field.
pub fn email_conditions(emails: &[String]) -> Vec<Value> {
    emails
        .iter()
        .flat_map(|e| {
            EMAIL_FIELDS
                .iter()
                .map(move |f| crate::api::eq(f, e.trim()))
        })
        .collect()
}

/// The `or` conditions for phone numbers and names (review matches).
pub fn loose_conditions(subject: &Subject) -> Vec<Value> {
    let mut conditions: Vec<Value> = subject
        .phones
        .iter()
        .flat_map(|p| {
            PHONE_FIELDS
                .iter()
                .map(move |f| crate::api::eq(f, p.trim()))
        })
        .collect();
    for name in &subject.names {
        if let Some((first, last)) = name.trim().split_once(' ') {
            conditions.push(json!({ "op": "and", "items": [crate::api::eq("firstName", first), crate::api::eq("lastName", last.trim())] }));
        }
    }
    conditions
}

/// Whether a ticket is still open (no completion date).
pub fn is_open(ticket: &Value) -> bool {
    ticket.get("completedDate").is_none_or(Value::is_null)
}

/// The day part of an Autotask date-time (`2030-12-31T00:00:00Z`, or a bare date).
pub fn day_of(value: &Value, field: &str) -> Option<jiff::civil::Date> {
    let text = value.get(field)?.as_str()?;
    text.get(..10)?.parse().ok()
}

/// What a company's contracts say about the retention of its contacts' data. A contract runs
/// while its status is active (1) and its end date has not passed; an active contract past
/// its end date has ended on that date (Autotask does not deactivate it by itself); an
/// inactive one ended on its end date at the latest. `None` when the company has no contract:
/// then its contacts are no contract data.
pub fn contract_hint(contracts: &[&Value], today: jiff::civil::Date) -> Option<RetentionHint> {
    let periods: Vec<ContractPeriod> = contracts
        .iter()
        .map(|c| {
            let ends = day_of(c, "endDate");
            let active = c.get("status").and_then(Value::as_i64) == Some(1);
            ContractPeriod {
                stopped_on: (!active).then(|| ends.unwrap_or(today)),
                ends,
            }
        })
        .collect();
    RetentionHint::from_contracts(&periods, today)
}

/// A contact record. `open_tickets`: deletion is refused while any ticket is open.
pub fn contact_record(
    contact: &Value,
    matched_by: MatchKind,
    open_tickets: usize,
) -> Option<Record> {
    let company = contact.get("companyID").and_then(Value::as_u64)?;
    let mut categories = vec![
        Category::Name,
        Category::Email,
        Category::Company,
        Category::JobTitle,
    ];
    if PHONE_FIELDS.iter().any(|f| !text(contact, f).is_empty()) {
        categories.push(Category::Phone);
    }
    if !text(contact, "addressLine").is_empty() || !text(contact, "city").is_empty() {
        categories.push(Category::Address);
    }
    Some(Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference: RecordRef::new(CONTACT, id_of(contact)?.to_string()).scoped(company.to_string()),
        matched_by,
        categories,
        linked_to: None,
        retention: None,
        erasability: Erasability {
            delete: true,
            delete_blocked: (open_tickets > 0)
                .then(|| format!("contact on {open_tickets} open ticket(s)")),
            anonymize_fields: CONTACT_FIELDS.iter().map(|f| f.to_string()).collect(),
        },
    })
}

/// A ticket of a matched contact: correspondence, kept while open and 12 months after. A
/// shared ticket (other contacts on it) is never changed for the subject: a person decides
/// what of its text is theirs.
pub fn ticket_record(ticket: &Value, contact: &RecordRef, ownership: Ownership) -> Option<Record> {
    let closed = ticket
        .get("completedDate")
        .and_then(Value::as_str)
        .and_then(|d| d.parse::<jiff::Timestamp>().ok())
        .map(|t| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
    let anonymize_fields = if ownership.is_own() {
        TICKET_FIELDS.iter().map(|f| f.to_string()).collect()
    } else {
        Vec::new()
    };
    Some(Record {
        ownership,
        descriptor: Default::default(),
        reference: RecordRef::new(TICKET, id_of(ticket)?.to_string()),
        matched_by: MatchKind::Linked,
        categories: vec![Category::Name, Category::Correspondence],
        linked_to: Some(contact.clone()),
        retention: Some(RetentionHint::Correspondence { closed }),
        erasability: Erasability {
            // Autotask offers no ticket deletion through the API.
            delete: false,
            delete_blocked: None,
            anonymize_fields,
        },
    })
}

/// Cleared values of a record's user-defined fields, by name.
fn cleared_udfs(record: &Value) -> Value {
    Value::Array(
        record
            .get(USER_DEFINED_FIELDS)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("name").cloned())
            .map(|name| json!({ "name": name, "value": null }))
            .collect(),
    )
}

/// What an anonymisation writes into a field of an object instead of clearing it.
type Replacement = fn(&str) -> Option<&'static str>;

/// A contact keeps a name (Autotask requires one): "Deleted Contact".
fn contact_replacement(field: &str) -> Option<&'static str> {
    match field {
        "firstName" => Some("Deleted"),
        "lastName" => Some("Contact"),
        _ => None,
    }
}

/// A ticket keeps a title (Autotask requires one).
fn ticket_replacement(field: &str) -> Option<&'static str> {
    match field {
        "title" => Some("Anonymised ticket"),
        _ => None,
    }
}

/// A cleared field: picklists and links have no value, text is empty.
fn cleared(field: &str) -> Value {
    match field {
        "namePrefix" | "nameSuffix" | "contactID" => Value::Null,
        _ => json!(""),
    }
}

/// The PATCH body anonymising the `fields` (within `allowed`) of `record` (as read), notes
/// aside ([`NOTES`]).
fn anonymized_body(
    record: &Value,
    id: u64,
    fields: &[String],
    allowed: &[&str],
    replacement: Replacement,
) -> serde_json::Map<String, Value> {
    let mut body = serde_json::Map::new();
    body.insert("id".into(), id.into());
    for field in fields
        .iter()
        .filter(|f| allowed.contains(&f.as_str()) && f.as_str() != NOTES)
    {
        let value = match field.as_str() {
            USER_DEFINED_FIELDS => match cleared_udfs(record) {
                Value::Array(udfs) if udfs.is_empty() => continue,
                udfs => udfs,
            },
            f => replacement(f).map_or_else(|| cleared(f), Value::from),
        };
        body.insert(field.clone(), value);
    }
    body
}

/// The PATCH body anonymising `contact` (as read): the fields of `fields`, names replaced,
/// the contact deactivated.
pub fn anonymized_contact(contact: &Value, id: u64, fields: &[String]) -> Value {
    let mut body = anonymized_body(contact, id, fields, CONTACT_FIELDS, contact_replacement);
    body.insert("isActive".into(), json!(0));
    Value::Object(body)
}

/// The PATCH body anonymising `ticket` (as read). Its notes are not part of it ([`NOTES`]).
pub fn anonymized_ticket(ticket: &Value, id: u64, fields: &[String]) -> Value {
    Value::Object(anonymized_body(
        ticket,
        id,
        fields,
        TICKET_FIELDS,
        ticket_replacement,
    ))
}

const ANONYMOUS_NOTE_TITLE: &str = "Anonymised note";
/// Autotask requires a note's description: a dash says nothing.
const ANONYMOUS_NOTE_TEXT: &str = "-";

/// The PATCH body anonymising one ticket note.
pub fn anonymized_note(note_id: u64) -> Value {
    json!({ "id": note_id, "title": ANONYMOUS_NOTE_TITLE, "description": ANONYMOUS_NOTE_TEXT })
}

/// Whether a ticket note, as read back, carries only the anonymous title and text.
pub fn note_is_anonymized(note: &Value) -> bool {
    text(note, "title") == ANONYMOUS_NOTE_TITLE && text(note, "description") == ANONYMOUS_NOTE_TEXT
}

/// What of a contact read back after its anonymisation still holds something: every field of
/// `fields` that is not empty and not its replacement, user-defined field values included.
pub fn contact_still_personal(contact: &Value, fields: &[String]) -> Vec<String> {
    still_personal(contact, fields, CONTACT_FIELDS, contact_replacement)
}

/// [`contact_still_personal`] for a ticket (its notes are checked on their own).
pub fn ticket_still_personal(ticket: &Value, fields: &[String]) -> Vec<String> {
    still_personal(ticket, fields, TICKET_FIELDS, ticket_replacement)
}

fn still_personal(
    record: &Value,
    fields: &[String],
    allowed: &[&str],
    replacement: Replacement,
) -> Vec<String> {
    let filled = |v: Option<&Value>| match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    };
    fields
        .iter()
        .map(String::as_str)
        .filter(|f| allowed.contains(f) && *f != NOTES)
        .filter(|f| match *f {
            USER_DEFINED_FIELDS => record
                .get(*f)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|u| filled(u.get("value"))),
            f => match (record.get(f), replacement(f)) {
                (Some(Value::String(s)), Some(want)) => s != want,
                (v, _) => filled(v),
            },
        })
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_still_personal_after_a_read_back() {
        let fields: Vec<String> = CONTACT_FIELDS.iter().map(|s| s.to_string()).collect();
        let clean = json!({"firstName": "Deleted", "lastName": "Contact", "note": "",
                           "userDefinedFields": [{"name": "x", "value": null}]});
        assert!(contact_still_personal(&clean, &fields).is_empty());
        let mut left = clean.clone();
        left["lastName"] = json!("Peters");
        left["userDefinedFields"][0]["value"] = json!("1979-04-12");
        assert_eq!(
            contact_still_personal(&left, &fields),
            vec!["lastName", "userDefinedFields"]
        );
        let ticket_fields = vec!["title".to_string(), "notes".to_string()];
        let ticket = json!({"title": "Anonymised ticket"});
        assert!(ticket_still_personal(&ticket, &ticket_fields).is_empty());
        assert!(note_is_anonymized(&anonymized_note(1)));
        assert!(!note_is_anonymized(
            &json!({"title": "Anonymised note", "description": "Kees"})
        ));
    }

    /// Autotask leaves a contract active past its end date: it has ended then all the same;
    /// a contract without an end date runs; without contracts there is no contract data.
    #[test]
    fn contracts_run_until_their_end_date_whatever_their_status() {
        let today = jiff::civil::date(2026, 12, 6);
        let c = |status: i64, end: Option<&str>| json!({ "status": status, "endDate": end.map(|e| format!("{e}T00:00:00Z")) });
        let past_end = c(1, Some("2026-06-30"));
        let stopped = c(0, Some("2025-01-31"));
        assert_eq!(
            contract_hint(&[&past_end, &stopped], today),
            Some(RetentionHint::Contract {
                ended: Some(jiff::civil::date(2026, 6, 30)),
                runs_until: None
            })
        );
        let ends_today = c(1, Some("2026-12-06"));
        assert_eq!(
            contract_hint(&[&ends_today, &stopped], today),
            Some(RetentionHint::Contract {
                ended: None,
                runs_until: Some(today)
            })
        );
        let open_ended = c(1, None);
        assert_eq!(
            contract_hint(&[&open_ended, &ends_today], today),
            Some(RetentionHint::Contract {
                ended: None,
                runs_until: None
            })
        );
        // An inactive contract with a future end date was stopped early: ended, counted
        // from today at the latest.
        let stopped_early = c(0, Some("2028-01-01"));
        assert_eq!(
            contract_hint(&[&stopped_early], today),
            Some(RetentionHint::Contract {
                ended: Some(today),
                runs_until: None
            })
        );
        assert_eq!(contract_hint(&[], today), None);
    }

    #[test]
    fn any_email_field_matches_exactly() {
        let subject = Subject {
            emails: vec!["Sanne.Bakker@example.nl".into()],
            ..Subject::default()
        };
        let contact =
            json!({"emailAddress": "s@x.example", "emailAddress2": "sanne.bakker@example.nl"});
        assert_eq!(
            contact_match(&contact, &subject),
            Some(MatchKind::ExactEmail)
        );
        let lookalike = json!({"emailAddress": "sanne.bakker@example.nl.x"});
        assert_eq!(contact_match(&lookalike, &subject), None);
    }

    #[test]
    fn conditions_carry_values_as_json_strings() {
        let c = email_conditions(&["x@y.nl\"}],\"op\":\"or".into()]);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0]["value"], "x@y.nl\"}],\"op\":\"or");
        assert_eq!(c[0]["op"], "eq");
    }

    #[test]
    fn anonymised_contact_keeps_only_the_id_and_deactivates() {
        let fields: Vec<String> = CONTACT_FIELDS.iter().map(|s| s.to_string()).collect();
        let contact =
            json!({"userDefinedFields": [{"name": "Geboortedatum", "value": "1979-04-12"}]});
        let body = anonymized_contact(&contact, 7, &fields);
        assert_eq!(body["id"], 7);
        assert_eq!(body["firstName"], "Deleted");
        assert_eq!(body["emailAddress2"], "");
        assert_eq!(body["namePrefix"], Value::Null);
        assert_eq!(
            body["userDefinedFields"],
            json!([{"name": "Geboortedatum", "value": null}])
        );
        assert_eq!(body["isActive"], 0);
        // No user-defined fields: none sent.
        let plain = anonymized_contact(&json!({}), 7, &fields);
        assert!(plain.get("userDefinedFields").is_none());
        let t = anonymized_ticket(
            &json!({}),
            9,
            &[
                "contactID".into(),
                "description".into(),
                "notes".into(),
                "bogus".into(),
            ],
        );
        assert_eq!(t["contactID"], Value::Null);
        assert!(
            t.get("notes").is_none(),
            "notes are a child entity, not a field"
        );
        assert!(t.get("bogus").is_none());
    }
}
