//! The fake tenant: users, their Outlook contacts and messages, soft-deleted users, and an
//! optional generated mailbox of many messages (computed on demand, so 100,000 messages cost
//! no memory).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Many generated messages between one mailbox and one outside address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generated {
    /// The mailbox's user id.
    pub mailbox: String,
    /// The outside correspondent.
    pub correspondent: String,
    /// How many.
    pub count: usize,
    /// Body size of each, in bytes.
    pub body_bytes: usize,
    /// Indexes deleted since.
    #[serde(default)]
    pub deleted: BTreeSet<usize>,
    /// When the newest message was received; message `i` is `spacing_minutes * i` minutes
    /// older, so a mailbox generated today holds recent mail (within any retention period)
    /// whatever the date.
    #[serde(default = "jiff::Timestamp::now")]
    pub newest: jiff::Timestamp,
    /// Minutes between two messages (2: 720 a day, under the 1,000 a search returns).
    #[serde(default = "two_minutes")]
    pub spacing_minutes: i64,
}

fn two_minutes() -> i64 {
    2
}

impl Generated {
    /// Message id of index `i`.
    pub fn id(i: usize) -> String {
        format!("AAMkGEN-{i:08}")
    }

    /// Index of a generated id.
    pub fn index(id: &str) -> Option<usize> {
        id.strip_prefix("AAMkGEN-")?.parse().ok()
    }

    /// When message `i` was received.
    pub fn received(&self, i: usize) -> jiff::Timestamp {
        let minutes = i64::try_from(i)
            .unwrap_or(i64::MAX / 4)
            .saturating_mul(self.spacing_minutes);
        jiff::Timestamp::from_second((self.newest.as_second() / 60 - minutes).saturating_mul(60))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// The indexes of the messages received in the days `[from, before)` (UTC), newest first.
    pub fn indexes_between(
        &self,
        from: Option<jiff::civil::Date>,
        before: Option<jiff::civil::Date>,
    ) -> std::ops::Range<usize> {
        let minute = |d: jiff::civil::Date| {
            d.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp().as_second() / 60)
                .unwrap_or(0)
        };
        let newest = self.newest.as_second() / 60;
        // Message i was received at minute newest - spacing * i.
        let spacing = self.spacing_minutes.max(1);
        let first = before.map_or(0, |b| {
            let gap = newest - minute(b) + 1;
            usize::try_from((gap + spacing - 1).div_euclid(spacing)).unwrap_or(0)
        });
        let last = from.map_or(self.count, |f| {
            let gap = newest - minute(f);
            usize::try_from(gap.div_euclid(spacing) + 1)
                .unwrap_or(0)
                .min(self.count)
        });
        first.min(last)..last
    }

    /// Message `i`, built on demand.
    pub fn message(&self, i: usize, owner: &str) -> Value {
        let when = self.received(i).to_string();
        let line = "Dit is een gegenereerd bericht voor de exporttest. ";
        let mut content = String::with_capacity(self.body_bytes);
        while content.len() < self.body_bytes {
            content.push_str(line);
        }
        content.truncate(self.body_bytes);
        json!({
            "id": Self::id(i),
            "subject": format!("Bericht {i}"),
            "receivedDateTime": when,
            "sentDateTime": when,
            "from": {"emailAddress": {"name": "Correspondent", "address": self.correspondent}},
            "toRecipients": [{"emailAddress": {"name": "Mailbox", "address": owner}}],
            "ccRecipients": [],
            "bccRecipients": [],
            "parentFolderId": "inbox",
            "hasAttachments": false,
            "body": {"contentType": "text", "content": content},
            "attachments": [],
        })
    }
}

/// Seed and state share one shape.
pub type Seed = State;

/// The whole tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// `/organization`.
    pub tenant: Value,
    /// Users by id.
    pub users: BTreeMap<String, Value>,
    /// Outlook contacts by mailbox (user id), then contact id.
    pub contacts: BTreeMap<String, BTreeMap<String, Value>>,
    /// Messages by mailbox (user id), then message id.
    pub messages: BTreeMap<String, BTreeMap<String, Value>>,
    /// `directory/deletedItems`, by id.
    pub deleted_users: BTreeMap<String, Value>,
    /// Outlook contacts a plain `DELETE` moved to Deleted Items, by mailbox then (new) id:
    /// no longer listed under `/contacts`, but still in the mailbox and restorable.
    #[serde(default)]
    pub deleted_contacts: BTreeMap<String, BTreeMap<String, Value>>,
    /// A generated mailbox, if any.
    #[serde(default)]
    pub generated: Option<Generated>,
    /// Mail folders a person made, by mailbox (user id), beside the well-known ones
    /// ([`WELL_KNOWN_FOLDERS`]): `{"id", "displayName"}`; a message is in the folder its
    /// `parentFolderId` names.
    #[serde(default)]
    pub mail_folders: BTreeMap<String, Vec<Value>>,
}

/// The folders every mailbox has: (id, display name).
pub const WELL_KNOWN_FOLDERS: &[(&str, &str)] = &[
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("deleteditems", "Deleted Items"),
];

impl State {
    /// The shipped fixtures (`fixtures/microsoft-graph/seed.json`).
    pub fn fixture() -> State {
        serde_json::from_str(include_str!(
            "../../../../fixtures/microsoft-graph/seed.json"
        ))
        .expect("the Microsoft Graph fixture is valid")
    }

    /// The top-level mail folders of mailbox `user`: the well-known ones, then its own.
    pub fn folders(&self, user: &str) -> Vec<Value> {
        WELL_KNOWN_FOLDERS
            .iter()
            .map(|(id, name)| json!({"id": id, "displayName": name}))
            .chain(self.mail_folders.get(user).into_iter().flatten().cloned())
            .collect()
    }

    /// The id of the user `key` names (id or user principal name, any case).
    pub fn user_id(&self, key: &str) -> Option<String> {
        if self.users.contains_key(key) {
            return Some(key.to_string());
        }
        self.users
            .values()
            .find(|u| {
                u.get("userPrincipalName")
                    .and_then(Value::as_str)
                    .is_some_and(|upn| upn.eq_ignore_ascii_case(key))
            })
            .and_then(|u| u.get("id").and_then(Value::as_str).map(str::to_owned))
    }

    /// Every message of a mailbox in listing order, generated ones last (built on demand).
    pub fn mailbox_messages<'a>(&'a self, user: &'a str) -> impl Iterator<Item = Value> + 'a {
        let stored = self
            .messages
            .get(user)
            .into_iter()
            .flat_map(|m| m.values().cloned());
        let owner = self.users[user]["mail"].as_str().unwrap_or("").to_string();
        let generated = self
            .generated
            .as_ref()
            .filter(|g| g.mailbox == user)
            .into_iter()
            .flat_map(move |g| {
                let owner = owner.clone();
                (0..g.count)
                    .filter(|i| !g.deleted.contains(i))
                    .map(move |i| g.message(i, &owner))
            });
        stored.chain(generated)
    }

    /// One message, stored or generated.
    pub fn message(&self, user: &str, id: &str) -> Option<Value> {
        if let Some(m) = self.messages.get(user).and_then(|m| m.get(id)) {
            return Some(m.clone());
        }
        let g = self.generated.as_ref().filter(|g| g.mailbox == user)?;
        let i = Generated::index(id).filter(|i| *i < g.count && !g.deleted.contains(i))?;
        Some(g.message(i, self.users[user]["mail"].as_str().unwrap_or("")))
    }

    /// `DELETE` of a message, as Exchange does it: the message moves to Deleted Items under a
    /// new id, where a mailbox search still finds it. `false` when there was none. (A
    /// generated bench message is simply dropped.)
    pub fn soft_delete_message(&mut self, user: &str, id: &str) -> bool {
        let Some(mut moved) = self.messages.get_mut(user).and_then(|m| m.remove(id)) else {
            return self.delete_message(user, id);
        };
        let new_id = format!("{id}-deleteditems");
        moved["id"] = Value::from(new_id.clone());
        moved["parentFolderId"] = Value::from("deleteditems");
        self.messages
            .entry(user.to_string())
            .or_default()
            .insert(new_id, moved);
        true
    }

    /// `DELETE` of an Outlook contact: moved to Deleted Items (no longer listed, restorable).
    pub fn soft_delete_contact(&mut self, user: &str, id: &str) -> bool {
        let Some(mut moved) = self.contacts.get_mut(user).and_then(|c| c.remove(id)) else {
            return false;
        };
        let new_id = format!("{id}-deleteditems");
        moved["id"] = Value::from(new_id.clone());
        moved["parentFolderId"] = Value::from("deleteditems");
        self.deleted_contacts
            .entry(user.to_string())
            .or_default()
            .insert(new_id, moved);
        true
    }

    /// `permanentDelete` of a contact (also one already in Deleted Items).
    pub fn purge_contact(&mut self, user: &str, id: &str) -> bool {
        let listed = self.contacts.get_mut(user).and_then(|c| c.remove(id));
        let deleted = self
            .deleted_contacts
            .get_mut(user)
            .and_then(|c| c.remove(id));
        listed.is_some() || deleted.is_some()
    }

    /// Everything still held for one mailbox that is not the live data: soft-deleted
    /// messages and contacts (what a restore would bring back).
    pub fn recoverable(&self, user: &str) -> usize {
        let messages = self.messages.get(user).map_or(0, |m| {
            m.values()
                .filter(|m| m["parentFolderId"] == "deleteditems")
                .count()
        });
        messages + self.deleted_contacts.get(user).map_or(0, BTreeMap::len)
    }

    /// Remove one message for good (`permanentDelete`); `false` when there was none.
    pub fn delete_message(&mut self, user: &str, id: &str) -> bool {
        if self
            .messages
            .get_mut(user)
            .and_then(|m| m.remove(id))
            .is_some()
        {
            return true;
        }
        match (&mut self.generated, Generated::index(id)) {
            (Some(g), Some(i)) if g.mailbox == user && i < g.count => g.deleted.insert(i),
            _ => false,
        }
    }
}
