//! Staff users of the dashboard: their names and passwords.
//!
//! Passwords are hashed with argon2id (RustCrypto's `argon2`, its default parameters: 19 MiB,
//! two passes) into a PHC string with a random salt; only that string is stored
//! ([`crate::ledger::Ledger::add_staff_user`]). Checking a password costs the same whether the
//! user exists or not, so a sign-in form does not tell which names are users.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::error::{Error, Result};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Check a user name: 1 to 64 letters, digits, `.`, `-`, `_` or `@` (it is shown in the audit
/// log and on the dashboard, and typed at the sign-in form).
pub fn check_name(name: &str) -> Result<()> {
    let fine = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if fine {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "user name `{}`: 1 to 64 letters, digits, '.', '-', '_' or '@'",
            name.chars().filter(|c| !c.is_control()).collect::<String>()
        )))
    }
}

/// Hash `password` for storing; refuses one shorter than [`MIN_PASSWORD_CHARS`].
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Usage(format!(
            "password: at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Config(format!("the password could not be hashed: {e}")))
}

/// Whether `password` matches the stored `hash`; `None` (no such user) is checked against a
/// dummy hash, so it takes as long as a wrong password.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"no such user: the time of a real check")
            .map(|h| h.to_string())
            .unwrap_or_default()
    });
    let (stored, real) = match hash {
        Some(hash) => (hash, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_stored_as_an_argon2id_hash_that_only_it_matches() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("correct horse battery ", Some(&hash)));
        assert!(!verify_password("", Some(&hash)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password(
            "correct horse battery",
            Some("not a hash")
        ));
        // Salted: the same password hashes differently each time.
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn short_passwords_and_odd_names_are_refused() {
        assert!(hash_password("elevenchars").is_err());
        assert!(hash_password("twelve chars").is_ok());
        for name in ["j.smit", "anne-marie", "fg@noorderlicht.nl", "Ölaf_2"] {
            assert!(check_name(name).is_ok(), "{name}");
        }
        for name in ["", "two words", "a\nb", "<script>", &"x".repeat(65)] {
            assert!(check_name(name).is_err(), "{name:?}");
        }
    }
}
