//! From Graph's JSON to the SDK's records, and the exact matching that search only
//! pre-filters for.

use std::collections::BTreeMap;

use dsrhub_connector::{
    Category, Erasability, MatchKind, Ownership, Record, RecordRef, RetentionHint,
};
use jiff::civil::Date;
use serde_json::Value;

pub const USER: &str = "user";
pub const CONTACT: &str = "contact";
pub const MESSAGE: &str = "message";

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn any_is(values: impl IntoIterator<Item = String>, emails: &[String]) -> bool {
    values
        .into_iter()
        .any(|v| emails.iter().any(|e| same(&v, e)))
}

fn text(value: &Value, field: &str) -> Option<String> {
    value.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// A directory user whose mail, UPN or one proxy address (`smtp:`/`SMTP:` stripped) is one of
/// `emails`.
pub fn user_matches(user: &Value, emails: &[String]) -> bool {
    let proxies = user
        .get("proxyAddresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|p| {
            p.split_once(':')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("smtp"))
                .map(|(_, address)| address.to_string())
        });
    let own = ["mail", "userPrincipalName"]
        .into_iter()
        .filter_map(|f| text(user, f));
    any_is(own.chain(proxies), emails)
}

/// An Outlook contact with one of `emails` among its addresses.
pub fn contact_matches(contact: &Value, emails: &[String]) -> bool {
    let addresses = contact
        .get("emailAddresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| text(a, "address"));
    any_is(addresses, emails)
}

/// A message whose sender or a recipient (to, cc, bcc) has one of `emails` as its address.
/// Display names do not count: "jan.jansen@example.nl" <someone@else> is someone else.
pub fn message_matches(message: &Value, emails: &[String]) -> bool {
    any_is(parties(message), emails)
}

/// Every sender and recipient address of `message` (from, to, cc, bcc).
fn parties(message: &Value) -> Vec<String> {
    let address = |recipient: &Value| {
        recipient
            .get("emailAddress")
            .and_then(|e| text(e, "address"))
    };
    let from = message.get("from").and_then(address);
    let recipients = ["toRecipients", "ccRecipients", "bccRecipients"]
        .into_iter()
        .flat_map(|f| {
            message
                .get(f)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|r| address(&r));
    from.into_iter().chain(recipients).collect()
}

/// Whose message it is: shared when anyone besides the subject and the mailbox's owner sent
/// or received it (a CC among others, a thread with colleagues). Counted, never named.
pub fn message_ownership(mailbox: &str, message: &Value, emails: &[String]) -> Ownership {
    match other_parties(mailbox, message, emails) {
        0 => Ownership::Own,
        n => Ownership::Shared(format!("{n} other sender(s) or recipient(s)")),
    }
}

/// Whose a message looked up by id is, once the subject's addresses are no longer known (the
/// sweep's `retained_expired` rule): an earlier request matched it exactly, so the subject is
/// one of its parties besides the mailbox's owner, and any further party makes it shared.
pub fn message_ownership_by_id(mailbox: &str, message: &Value) -> Ownership {
    match other_parties(mailbox, message, &[]) {
        0 | 1 => Ownership::Own,
        n => Ownership::Shared(format!(
            "{} other sender(s) or recipient(s) besides one",
            n - 1
        )),
    }
}

/// How many distinct parties `message` has besides the mailbox's owner and `emails`.
fn other_parties(mailbox: &str, message: &Value, emails: &[String]) -> usize {
    let mut others: Vec<String> = parties(message)
        .into_iter()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| {
            !a.is_empty()
                && !a.eq_ignore_ascii_case(mailbox)
                && !emails.iter().any(|e| e.eq_ignore_ascii_case(a))
        })
        .collect();
    others.sort();
    others.dedup();
    others.len()
}

/// Whose a message in a folder of rejected applicants is: its sender, or, for mail the
/// mailbox sent itself (a rejection filed there), its first recipient; `None` when it names
/// no one but the mailbox.
pub fn applicant_of(mailbox: &str, message: &Value) -> Option<String> {
    let outside = |a: &String| !a.trim().is_empty() && !a.trim().eq_ignore_ascii_case(mailbox);
    parties(message)
        .into_iter()
        .find(outside)
        .map(|a| a.trim().to_string())
}

/// A Graph timestamp (`2026-10-01T14:03:00Z`) as the date in the Netherlands.
pub fn date_of(value: &Value, field: &str) -> Option<Date> {
    let at: jiff::Timestamp = value.get(field)?.as_str()?.parse().ok()?;
    Some(at.in_tz("Europe/Amsterdam").ok()?.date())
}

/// The reason a user whose mailbox the hub searches is never deleted by an erasure.
pub const MAILBOX_KEPT: &str = "the account's mailbox is one the hub searches and may hold records kept under the policy (its own mail or others'): convert it to an inactive mailbox and remove it from the mailboxes setting before deleting the account";

/// `user` as a record. `configured` lists the mailboxes the hub searches: deleting the account
/// of one of those would destroy its mail, which the same plan (or another person's) may
/// retain, so such an account is never deleted by an erasure.
pub fn user_record(user: &Value, configured: &[String]) -> Option<Record> {
    let enabled = user
        .get("accountEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let has_searched_mailbox = ["mail", "userPrincipalName"].iter().any(|field| {
        configured
            .iter()
            .any(|m| text(user, field).is_some_and(|v| m.eq_ignore_ascii_case(&v)))
    });
    Some(Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference: RecordRef::new(USER, text(user, "id")?),
        matched_by: MatchKind::ExactEmail,
        categories: vec![
            Category::Name,
            Category::Email,
            Category::JobTitle,
            Category::Phone,
        ],
        linked_to: None,
        retention: None,
        erasability: Erasability {
            delete: true,
            // Deleting an active account locks a colleague out: offboarding comes first.
            delete_blocked: if enabled {
                Some("an active account: offboard the employee (block sign-in) first".to_string())
            } else if has_searched_mailbox {
                Some(MAILBOX_KEPT.to_string())
            } else {
                None
            },
            anonymize_fields: Vec::new(),
        },
    })
}

pub fn contact_record(mailbox: &str, contact: &Value) -> Option<Record> {
    Some(Record {
        ownership: dsrhub_connector::Ownership::Own,
        descriptor: Default::default(),
        reference: RecordRef::new(CONTACT, text(contact, "id")?).scoped(mailbox),
        matched_by: MatchKind::ExactEmail,
        categories: vec![
            Category::Name,
            Category::Email,
            Category::Phone,
            Category::Address,
        ],
        linked_to: None,
        retention: None,
        erasability: Erasability {
            delete: true,
            delete_blocked: None,
            anonymize_fields: Vec::new(),
        },
    })
}

/// What lets a person recognise a message without its content: folder, date, size and the
/// first 16 hex digits of the SHA-256 of its subject line (hash their own copy to compare).
pub fn message_descriptor(message: &Value) -> BTreeMap<String, String> {
    use sha2::Digest;
    let mut d = BTreeMap::new();
    if let Some(folder) = text(message, "parentFolderId") {
        d.insert("folder".into(), folder);
    }
    if let Some(date) = text(message, "receivedDateTime") {
        d.insert("date".into(), date);
    }
    let size = message
        .get("singleValueExtendedProperties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| {
            p.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.eq_ignore_ascii_case("Integer 0xe08"))
        })
        .and_then(|p| text(p, "value"));
    if let Some(size) = size {
        d.insert("size_bytes".into(), size);
    }
    if let Some(subject) = text(message, "subject") {
        let digest = sha2::Sha256::digest(subject.as_bytes());
        d.insert("subject_sha256".into(), hex::encode(&digest[..8]));
    }
    d
}

/// A message is correspondence: the policy keeps it for the correspondence period after its
/// date; past that, it is deleted only when `delete_mail` allows it.
pub fn message_record(
    mailbox: &str,
    message: &Value,
    delete_mail: bool,
    emails: &[String],
) -> Option<Record> {
    Some(Record {
        ownership: message_ownership(mailbox, message, emails),
        descriptor: message_descriptor(message),
        reference: RecordRef::new(MESSAGE, text(message, "id")?).scoped(mailbox),
        matched_by: MatchKind::ExactEmail,
        categories: vec![Category::Name, Category::Email, Category::Correspondence],
        linked_to: None,
        retention: Some(RetentionHint::Correspondence {
            closed: date_of(message, "receivedDateTime"),
        }),
        erasability: Erasability {
            delete: delete_mail,
            delete_blocked: (!delete_mail)
                .then(|| format!("mail is kept: processors.{}.delete_mail is off", crate::ID)),
            anonymize_fields: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matching_is_exact_and_ignores_display_names() {
        let emails = vec!["jan.jansen@example.nl".to_string()];
        let user =
            json!({"mail": "x@y", "proxyAddresses": ["SMTP:x@y", "smtp:Jan.Jansen@example.nl"]});
        assert!(user_matches(&user, &emails));
        let lookalike = json!({"mail": "jan.janssen@example.nl", "proxyAddresses": ["x500:/o=jan.jansen@example.nl"]});
        assert!(!user_matches(&lookalike, &emails));
        let spoof = json!({"from": {"emailAddress": {"name": "jan.jansen@example.nl", "address": "phish@other.example"}}});
        assert!(!message_matches(&spoof, &emails));
        let cc = json!({"from": {"emailAddress": {"address": "a@b"}}, "ccRecipients": [{"emailAddress": {"address": "JAN.JANSEN@example.nl"}}]});
        assert!(message_matches(&cc, &emails));
    }

    /// Issue 14.3: a message the subject is one CC of, among others, is shared.
    #[test]
    fn a_message_with_other_parties_is_shared() {
        let emails = vec!["jan.jansen@example.nl".to_string()];
        let mailbox = "bram@org.example";
        let own = json!({
            "from": {"emailAddress": {"address": "Jan.Jansen@example.nl"}},
            "toRecipients": [{"emailAddress": {"address": "Bram@org.example"}}],
        });
        assert_eq!(message_ownership(mailbox, &own, &emails), Ownership::Own);
        let cc = json!({
            "from": {"emailAddress": {"address": "lisa@partner.example"}},
            "toRecipients": [{"emailAddress": {"address": "bram@org.example"}}],
            "ccRecipients": [
                {"emailAddress": {"address": "jan.jansen@example.nl"}},
                {"emailAddress": {"address": "peter@partner.example"}},
                {"emailAddress": {"address": "lisa@partner.example"}}
            ],
        });
        assert_eq!(
            message_ownership(mailbox, &cc, &emails),
            Ownership::Shared("2 other sender(s) or recipient(s)".into())
        );
    }
}
