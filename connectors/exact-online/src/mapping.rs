//! From Exact Online's entities to the SDK's records, and the filters that find them.

use dsrhub_connector::escape;
use dsrhub_connector::{
    Category, ConnectorError, ContractPeriod, Erasability, MatchKind, Record, RecordRef,
    RetentionHint,
};
use jiff::civil::Date;
use serde_json::{Map, Value};

pub const CONTACT: &str = "contact";
pub const ACCOUNT: &str = "account";
pub const BANK_ACCOUNT: &str = "bank_account";
pub const SALES_INVOICE: &str = "sales_invoice";
pub const TRANSACTION_LINE: &str = "transaction_line";

pub const CONTACT_SELECT: &str = "ID,Account,Email,BusinessEmail";
pub const ACCOUNT_SELECT: &str = "ID,Email,IsSales";
pub const INVOICE_SELECT: &str =
    "InvoiceID,InvoiceDate,InvoiceTo,OrderedBy,InvoiceToContactPerson,OrderedByContactPerson";
pub const LINE_SELECT: &str = "ID,Date,Account";
pub const BANK_ACCOUNT_SELECT: &str = "ID,Account";
pub const SUBSCRIPTION_SELECT: &str =
    "EntryID,OrderedBy,InvoiceTo,StartDate,EndDate,CancellationDate";

/// Personal fields of a `crm/Contacts` entity cleared (or replaced) when the contact cannot be
/// deleted. Every property of the entity (Exact's REST reference for `crmContacts`, as listed
/// in [`CONTACT_PROPERTIES`]) is in exactly one of this list, [`CONTACT_DERIVED`] and
/// [`CONTACT_NOT_PERSONAL`]; a test holds them to that.
pub const CONTACT_FIELDS: &[&str] = &[
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
    "BusinessPhoneExtension",
    "BusinessMobile",
    "BusinessFax",
    "BirthDate",
    "BirthName",
    "BirthNamePrefix",
    "BirthPlace",
    "Gender",
    "Nationality",
    "SocialSecurityNumber",
    "PartnerName",
    "PartnerNamePrefix",
    "JobTitleDescription",
    "AddressStreet",
    "AddressStreetNumber",
    "AddressStreetNumberSuffix",
    "AddressLine2",
    "Postcode",
    "City",
    "State",
    "Notes",
    "MarketingNotes",
    "Picture",
    "PictureName",
    "IdentificationDate",
    "IdentificationDocument",
];

/// Read-only contact properties Exact derives from cleared ones (the full name from the
/// names, the picture's URLs from the picture): checked after the update, never written.
pub const CONTACT_DERIVED: &[&str] = &["FullName", "PictureUrl", "PictureThumbnailUrl"];

/// Contact properties that are not the person's data: keys, links, the account's name and
/// flags, bookkeeping, and the staff who created, changed or identified the contact.
pub const CONTACT_NOT_PERSONAL: &[&str] = &[
    "ID",
    "Account",
    "AccountIsCustomer",
    "AccountIsSupplier",
    "AccountMainContact",
    "AccountName",
    "AllowMailing",
    "Code",
    "Country",
    "Created",
    "Creator",
    "CreatorFullName",
    "Division",
    "EndDate",
    "HID",
    "IdentificationUser",
    "IsMailingExcluded",
    "IsMainContact",
    "Language",
    "Modified",
    "Modifier",
    "ModifierFullName",
    "Person",
    "StartDate",
];

/// Every property of a `crm/Contacts` entity, from Exact's REST reference (`crmContacts`; the
/// same list the widely used `picqer/exact-php-client` documents). The fake serves contacts
/// with all of them.
pub const CONTACT_PROPERTIES: &[&str] = &[
    "ID",
    "Account",
    "AccountIsCustomer",
    "AccountIsSupplier",
    "AccountMainContact",
    "AccountName",
    "AddressLine2",
    "AddressStreet",
    "AddressStreetNumber",
    "AddressStreetNumberSuffix",
    "AllowMailing",
    "BirthDate",
    "BirthName",
    "BirthNamePrefix",
    "BirthPlace",
    "BusinessEmail",
    "BusinessFax",
    "BusinessMobile",
    "BusinessPhone",
    "BusinessPhoneExtension",
    "City",
    "Code",
    "Country",
    "Created",
    "Creator",
    "CreatorFullName",
    "Division",
    "Email",
    "EndDate",
    "FirstName",
    "FullName",
    "Gender",
    "HID",
    "IdentificationDate",
    "IdentificationDocument",
    "IdentificationUser",
    "Initials",
    "IsMailingExcluded",
    "IsMainContact",
    "JobTitleDescription",
    "Language",
    "LastName",
    "MarketingNotes",
    "MiddleName",
    "Mobile",
    "Modified",
    "Modifier",
    "ModifierFullName",
    "Nationality",
    "Notes",
    "PartnerName",
    "PartnerNamePrefix",
    "Person",
    "Phone",
    "PhoneExtension",
    "Picture",
    "PictureName",
    "PictureThumbnailUrl",
    "PictureUrl",
    "Postcode",
    "SocialSecurityNumber",
    "StartDate",
    "State",
    "Title",
];

/// The replacement names an anonymised contact or account carries (Exact requires a name).
pub const ANONYMOUS_NAME: &str = "Geanonimiseerd";

/// Personal fields cleared (or replaced) when an account cannot be deleted; it is also
/// `Blocked` so nobody invoices the anonymised account again.
pub const ACCOUNT_FIELDS: &[&str] = &[
    "Name",
    "Email",
    "Phone",
    "AddressLine1",
    "AddressLine2",
    "Postcode",
    "City",
    "Website",
    "Remarks",
];

/// Chunk of ids per `or`-filter: keeps URLs well under common limits.
pub const IDS_PER_FILTER: usize = 20;

/// `(Email eq 'a' or Email eq 'b' …)` over `fields` and `values`, every literal escaped.
pub fn any_equal(fields: &[&str], values: &[String]) -> Result<String, ConnectorError> {
    let mut terms = Vec::new();
    for value in values {
        let literal = escape::odata_string(value)?;
        for field in fields {
            terms.push(format!("{field} eq {literal}"));
        }
    }
    Ok(terms.join(" or "))
}

/// `(InvoiceTo eq guid'…' or …)` over `fields` and GUID `ids`.
pub fn any_guid(fields: &[&str], ids: &[&str]) -> Result<String, ConnectorError> {
    let mut terms = Vec::new();
    for id in ids {
        let literal = escape::odata_guid(id)?;
        for field in fields {
            terms.push(format!("{field} eq {literal}"));
        }
    }
    Ok(terms.join(" or "))
}

pub fn text<'a>(entity: &'a Value, field: &str) -> Option<&'a str> {
    entity
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The entity's GUID in `field`, checked.
pub fn guid(entity: &Value, field: &str) -> Option<String> {
    text(entity, field)
        .filter(|id| escape::is_guid(id))
        .map(str::to_ascii_lowercase)
}

/// Whether one of `fields` holds one of the subject's addresses (Exact compares
/// case-insensitively; so do we, but only whole addresses).
pub fn email_matches(entity: &Value, fields: &[&str], emails: &[String]) -> bool {
    fields.iter().filter_map(|f| text(entity, f)).any(|value| {
        emails
            .iter()
            .any(|e| e.trim().eq_ignore_ascii_case(value.trim()))
    })
}

/// An OData v2 JSON date, `/Date(1489536000000)/` (epoch milliseconds), as the calendar date in
/// the Netherlands (Exact stores midnight local time).
pub fn odata_date(value: &str) -> Option<Date> {
    let millis: i64 = value
        .strip_prefix("/Date(")?
        .strip_suffix(")/")?
        .split(['+', '-'])
        .next()?
        .parse()
        .ok()?;
    let at = jiff::Timestamp::from_millisecond(millis).ok()?;
    Some(at.in_tz("Europe/Amsterdam").ok()?.date())
}

/// `/Date(…)/` for a calendar date (midnight UTC), as Exact writes it (used by the fake).
#[cfg_attr(not(feature = "fake"), allow(dead_code))]
pub fn to_odata_date(date: Date) -> String {
    let ms = date
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or_default();
    format!("/Date({ms})/")
}

fn reference(object: &str, id: String, division: u32) -> RecordRef {
    RecordRef::new(object, id).scoped(division.to_string())
}

pub fn contact_record(division: u32, contact: &Value) -> Option<Record> {
    Some(Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference: reference(CONTACT, guid(contact, "ID")?, division),
        matched_by: MatchKind::ExactEmail,
        categories: vec![
            Category::Name,
            Category::Email,
            Category::Phone,
            Category::Company,
        ],
        linked_to: guid(contact, "Account").map(|a| reference(ACCOUNT, a, division)),
        retention: None,
        erasability: Erasability {
            delete: true,
            delete_blocked: None,
            anonymize_fields: CONTACT_FIELDS.iter().map(|f| f.to_string()).collect(),
        },
    })
}

/// What an account's subscriptions (`subscription/Subscriptions`, ordered by or invoiced to
/// it) say about the retention of its data. One runs while it is not cancelled and its end
/// date, if any, has not passed; a stopped one ended on its cancellation date or its end date,
/// whichever came first. `None` without any: no contract data.
pub fn subscription_hint(subscriptions: &[&Value], today: Date) -> Option<RetentionHint> {
    let day = |s: &Value, f: &str| s.get(f).and_then(Value::as_str).and_then(odata_date);
    let periods: Vec<ContractPeriod> = subscriptions
        .iter()
        .map(|s| ContractPeriod {
            stopped_on: day(s, "CancellationDate"),
            ends: day(s, "EndDate"),
        })
        .collect();
    RetentionHint::from_contracts(&periods, today)
}

/// Whose an account reached through one of the subject's addresses is. An account is a
/// customer or supplier: a private person's account (its only contact person is the subject)
/// is the subject's own; an account reached through a role address (`info@`, …), or one with
/// contact persons other than the subject, is a company's, and so organisation data: never
/// deleted or anonymised for one person.
/// `email` is the account's own address.
pub fn account_ownership(email: &str, other_people: usize) -> dsrhub_connector::Ownership {
    if dsrhub_connector::is_role_address(email) {
        dsrhub_connector::Ownership::Organisation(
            "an account reached through a role address".into(),
        )
    } else if other_people > 0 {
        dsrhub_connector::Ownership::Organisation(format!(
            "an account with {other_people} contact person(s) other than the subject"
        ))
    } else {
        dsrhub_connector::Ownership::Own
    }
}

pub fn account_record(division: u32, account: &Value) -> Option<Record> {
    Some(Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference: reference(ACCOUNT, guid(account, "ID")?, division),
        matched_by: MatchKind::ExactEmail,
        categories: vec![
            Category::Name,
            Category::Email,
            Category::Phone,
            Category::Address,
            Category::Iban,
            Category::Financial,
        ],
        linked_to: None,
        retention: None,
        erasability: Erasability {
            delete: true,
            delete_blocked: None,
            anonymize_fields: ACCOUNT_FIELDS.iter().map(|f| f.to_string()).collect(),
        },
    })
}

/// A bank account (IBAN, holder's name) of a matched account. Deleted, also when the account
/// itself must be kept anonymised for its invoices: the books do not need the IBAN on file.
pub fn bank_account_record(division: u32, bank: &Value, linked_to: RecordRef) -> Option<Record> {
    Some(Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference: reference(BANK_ACCOUNT, guid(bank, "ID")?, division),
        matched_by: MatchKind::Linked,
        categories: vec![Category::Name, Category::Iban],
        linked_to: Some(linked_to),
        retention: None,
        erasability: Erasability {
            delete: true,
            delete_blocked: None,
            anonymize_fields: Vec::new(),
        },
    })
}

/// A fiscal document of a matched record: kept 7 years after its financial year (the hub's policy);
/// Exact offers no deletion of booked documents through the API.
fn fiscal_record(
    object: &str,
    id: String,
    division: u32,
    date: Option<Date>,
    linked_to: RecordRef,
) -> Record {
    Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference: reference(object, id, division),
        matched_by: MatchKind::Linked,
        categories: vec![Category::Name, Category::Address, Category::Financial],
        linked_to: Some(linked_to),
        retention: date.map(|document_date| RetentionHint::Fiscal { document_date }),
        erasability: Erasability {
            delete: false,
            delete_blocked: Some("a booked document; Exact keeps it in the books".into()),
            anonymize_fields: Vec::new(),
        },
    }
}

pub fn invoice_record(division: u32, invoice: &Value, linked_to: RecordRef) -> Option<Record> {
    let date = text(invoice, "InvoiceDate").and_then(odata_date);
    Some(fiscal_record(
        SALES_INVOICE,
        guid(invoice, "InvoiceID")?,
        division,
        date,
        linked_to,
    ))
}

pub fn line_record(division: u32, line: &Value, linked_to: RecordRef) -> Option<Record> {
    let date = text(line, "Date").and_then(odata_date);
    Some(fiscal_record(
        TRANSACTION_LINE,
        guid(line, "ID")?,
        division,
        date,
        linked_to,
    ))
}

/// The changes that anonymise an entity: names replaced by a marker (Exact requires a name),
/// every other requested field cleared. `fields` come from the plan; unknown ones are ignored.
pub fn anonymized_changes(object: &str, fields: &[String]) -> Map<String, Value> {
    let allowed = if object == ACCOUNT {
        ACCOUNT_FIELDS
    } else {
        CONTACT_FIELDS
    };
    let mut changes = Map::new();
    for field in fields.iter().filter(|f| allowed.contains(&f.as_str())) {
        let value = replacement(field).map_or(Value::Null, Value::from);
        changes.insert(field.clone(), value);
    }
    if object == ACCOUNT {
        changes.insert("Blocked".into(), Value::Bool(true));
    }
    changes
}

/// What an anonymisation writes into `field` instead of clearing it (Exact requires a name);
/// `None`: the field is cleared.
fn replacement(field: &str) -> Option<&'static str> {
    match field {
        "Name" | "LastName" => Some(ANONYMOUS_NAME),
        "FirstName" => Some("-"),
        // M, V or O: "unknown" is the value that says nothing.
        "Gender" => Some("O"),
        _ => None,
    }
}

/// The personal properties of `entity` (as read back after an anonymisation of `object`) that
/// still hold something of the person: cleared fields of `fields` not empty, and derived ones.
pub fn still_personal(object: &str, entity: &Map<String, Value>, fields: &[String]) -> Vec<String> {
    let (allowed, derived): (&[&str], &[&str]) = if object == ACCOUNT {
        (ACCOUNT_FIELDS, &[])
    } else {
        (CONTACT_FIELDS, CONTACT_DERIVED)
    };
    let mut left = Vec::new();
    for field in fields
        .iter()
        .map(String::as_str)
        .filter(|f| allowed.contains(f))
    {
        let holds = match (entity.get(field), replacement(field)) {
            (None | Some(Value::Null), _) => false,
            (Some(Value::String(s)), Some(want)) => s != want,
            (Some(Value::String(s)), None) => !s.is_empty(),
            (Some(_), _) => true,
        };
        if holds {
            left.push(field.to_string());
        }
    }
    for field in derived {
        let holds = match entity.get(*field) {
            None | Some(Value::Null) => false,
            // The full name of "-" and "Geanonimiseerd" is what an anonymised contact shows.
            Some(Value::String(s)) if *field == "FullName" => s
                .split_whitespace()
                .any(|w| w != "-" && w != ANONYMOUS_NAME),
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
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

    /// Issue 14.4: a subscription runs until cancelled or past its end date.
    #[test]
    fn subscriptions_say_whether_a_contract_runs() {
        let today: Date = "2026-12-06".parse().unwrap();
        let at = |d: &str| Value::from(to_odata_date(d.parse().unwrap()));
        let sub = |end: Option<&str>, cancelled: Option<&str>| serde_json::json!({ "EndDate": end.map(at), "CancellationDate": cancelled.map(at) });
        let open = sub(None, None);
        let until_2030 = sub(Some("2030-06-30"), None);
        let cancelled = sub(Some("2030-06-30"), Some("2025-03-31"));
        let lapsed = sub(Some("2026-01-31"), None);
        assert_eq!(
            subscription_hint(&[&until_2030, &cancelled], today),
            Some(RetentionHint::Contract {
                ended: None,
                runs_until: Some("2030-06-30".parse().unwrap())
            })
        );
        assert_eq!(
            subscription_hint(&[&open, &until_2030], today),
            Some(RetentionHint::Contract {
                ended: None,
                runs_until: None
            })
        );
        assert_eq!(
            subscription_hint(&[&cancelled, &lapsed], today),
            Some(RetentionHint::Contract {
                ended: Some("2026-01-31".parse().unwrap()),
                runs_until: None
            })
        );
        assert_eq!(subscription_hint(&[], today), None);
    }

    #[test]
    fn odata_dates_are_dutch_calendar_dates() {
        let date: Date = "2017-03-15".parse().unwrap();
        assert_eq!(odata_date(&to_odata_date(date)), Some(date));
        // Midnight in Amsterdam, as Exact writes many dates.
        assert_eq!(
            odata_date("/Date(1489532400000)/"),
            Some("2017-03-15".parse().unwrap())
        );
        assert_eq!(odata_date("2017-03-15"), None);
    }

    #[test]
    fn filters_escape_every_value() {
        let f = any_equal(&["Email"], &["o'brien@example.nl".into()]).unwrap();
        assert_eq!(f, "Email eq 'o''brien@example.nl'");
        assert!(any_guid(&["InvoiceTo"], &["x' or 1 eq 1"]).is_err());
    }
}
