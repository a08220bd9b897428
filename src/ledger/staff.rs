//! The dashboard's staff users and their sessions.
//!
//! A user is a name and an argon2id hash of the password (a PHC string made by
//! [`crate::staff`]); a session is the SHA-256 of its cookie, the user it belongs to, when it
//! was last used and when it ends at the latest. Nothing here can sign anyone in by itself: a
//! copy of the ledger holds neither a password nor a usable cookie. Adding and removing users
//! and signing in and out are audited.

use jiff::{SignedDuration, Timestamp};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{audit, now, write_tx, Ledger};
use crate::error::{Error, Result};

/// A staff user, without the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffUser {
    /// The name they sign in with; actions are audited under it.
    pub name: String,
    /// When the user was added.
    pub created_at: Timestamp,
    /// When the password was last set.
    pub changed_at: Timestamp,
}

impl Ledger {
    /// Add staff user `name` with password hash `password_hash`; an existing name is refused.
    pub fn add_staff_user(&self, name: &str, password_hash: &str, by: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now().to_string();
        let added = tx.execute(
            "INSERT INTO staff_users (name, password_hash, created_at, changed_at)
             VALUES (?1, ?2, ?3, ?3) ON CONFLICT (name) DO NOTHING",
            params![name, password_hash, at],
        )?;
        if added == 0 {
            return Err(Error::Usage(format!(
                "user `{name}` exists already; `dsrhub user password {name}` sets a new password"
            )));
        }
        audit::append(
            &tx,
            None,
            "staff.user_added",
            &serde_json::json!({ "user": name, "by": by }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Set a new password hash for staff user `name`; their sessions end.
    pub fn set_staff_password(&self, name: &str, password_hash: &str, by: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let changed = tx.execute(
            "UPDATE staff_users SET password_hash = ?2, changed_at = ?3 WHERE name = ?1",
            params![name, password_hash, now().to_string()],
        )?;
        if changed == 0 {
            return Err(no_such_user(name));
        }
        tx.execute("DELETE FROM staff_sessions WHERE user_name = ?1", [name])?;
        audit::append(
            &tx,
            None,
            "staff.password_changed",
            &serde_json::json!({ "user": name, "by": by }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Remove staff user `name` and end their sessions. What they did stays in the audit log.
    pub fn remove_staff_user(&self, name: &str, by: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        if tx.execute("DELETE FROM staff_users WHERE name = ?1", [name])? == 0 {
            return Err(no_such_user(name));
        }
        tx.execute("DELETE FROM staff_sessions WHERE user_name = ?1", [name])?;
        audit::append(
            &tx,
            None,
            "staff.user_removed",
            &serde_json::json!({ "user": name, "by": by }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every staff user, by name.
    pub fn staff_users(&self) -> Result<Vec<StaffUser>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT name, created_at, changed_at FROM staff_users ORDER BY name")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(name, created, changed)| {
                Ok(StaffUser {
                    name,
                    created_at: parse(&created)?,
                    changed_at: parse(&changed)?,
                })
            })
            .collect()
    }

    /// The password hash of staff user `name`, if there is one.
    pub fn staff_password_hash(&self, name: &str) -> Result<Option<String>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT password_hash FROM staff_users WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Start a session for `user` whose cookie hashes to `token_sha256`, ending at `expires_at`
    /// at the latest. `how` says how they signed in (`password`, `one-time link`).
    pub fn start_staff_session(
        &self,
        token_sha256: &str,
        user: &str,
        expires_at: Timestamp,
        how: &str,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let at = now();
        // Sessions past their end are of no use to anyone: dropped whenever one starts.
        tx.execute(
            "DELETE FROM staff_sessions WHERE expires_at <= ?1",
            [at.to_string()],
        )?;
        tx.execute(
            "INSERT INTO staff_sessions (token_sha256, user_name, created_at, last_seen_at, expires_at)
             VALUES (?1, ?2, ?3, ?3, ?4)",
            params![token_sha256, user, at.to_string(), expires_at.to_string()],
        )?;
        audit::append(
            &tx,
            None,
            "staff.signed_in",
            &serde_json::json!({ "user": user, "how": how }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The user of the live session whose cookie hashes to `token_sha256` at `now`, marking it
    /// used. A session unused for longer than `idle`, or past its end, is ended instead.
    pub fn touch_staff_session(
        &self,
        token_sha256: &str,
        idle: SignedDuration,
        now: Timestamp,
    ) -> Result<Option<String>> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let found: Option<(String, String, String)> = tx
            .query_row(
                "SELECT user_name, last_seen_at, expires_at FROM staff_sessions WHERE token_sha256 = ?1",
                [token_sha256],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((user, last_seen, expires)) = found else {
            return Ok(None);
        };
        let idle_since = parse(&last_seen)?;
        let live = now < parse(&expires)? && now.duration_since(idle_since) < idle;
        if live {
            tx.execute(
                "UPDATE staff_sessions SET last_seen_at = ?2 WHERE token_sha256 = ?1",
                params![token_sha256, now.to_string()],
            )?;
        } else {
            tx.execute(
                "DELETE FROM staff_sessions WHERE token_sha256 = ?1",
                [token_sha256],
            )?;
        }
        tx.commit()?;
        Ok(live.then_some(user))
    }

    /// End the session whose cookie hashes to `token_sha256` (signing out).
    pub fn end_staff_session(&self, token_sha256: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = write_tx(&mut conn)?;
        let user: Option<String> = tx
            .query_row(
                "DELETE FROM staff_sessions WHERE token_sha256 = ?1 RETURNING user_name",
                [token_sha256],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(user) = user {
            audit::append(
                &tx,
                None,
                "staff.signed_out",
                &serde_json::json!({ "user": user }),
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn parse(text: &str) -> Result<Timestamp> {
    text.parse()
        .map_err(|_| Error::Ledger(format!("a staff row holds an unreadable time `{text}`")))
}

fn no_such_user(name: &str) -> Error {
    Error::Usage(format!(
        "no user `{name}`; `dsrhub user list` shows who there is"
    ))
}
