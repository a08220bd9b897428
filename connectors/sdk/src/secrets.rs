//! Secret references, resolved in one place.
//!
//! The config file never holds a secret, only a reference to one:
//!
//! - `keyring:<name>`: the OS keyring (service `dsrhub`, entry `<name>`). On Linux this is
//!   the kernel keyutils store, which works on a headless server but is only a per-boot cache;
//!   servers should prefer `file:`. Tests use [`MemoryKeyring`].
//! - `env:<VAR>`: an environment variable.
//! - `file:<path>`: the whole file, trailing newline trimmed. On Unix the file must not be
//!   readable by group or others (like ssh, we refuse rather than warn).
//!
//! Errors name the reference (e.g. `env:MONEYBIRD_TOKEN`), never the value.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use secrecy::SecretString;

/// Where a secret lives.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SecretRef {
    /// OS keyring entry name.
    Keyring(String),
    /// Environment variable name.
    Env(String),
    /// File path.
    File(PathBuf),
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Keyring(name) => write!(f, "keyring:{name}"),
            SecretRef::Env(var) => write!(f, "env:{var}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({self})")
    }
}

impl FromStr for SecretRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s.split_once(':').ok_or_else(|| {
            "a secret reference must be `keyring:<name>`, `env:<VAR>` or `file:<path>`, \
             never the secret itself"
                .to_string()
        })?;
        if rest.is_empty() {
            return Err(format!("secret reference `{scheme}:` names nothing"));
        }
        match scheme {
            "keyring" => Ok(SecretRef::Keyring(rest.to_string())),
            "env" => Ok(SecretRef::Env(rest.to_string())),
            "file" => Ok(SecretRef::File(PathBuf::from(rest))),
            other => Err(format!(
                "unknown secret scheme `{other}:`; use `keyring:`, `env:` or `file:` \
                 (the value itself never belongs in the config)"
            )),
        }
    }
}

impl<'de> serde::Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for SecretRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl SecretRef {
    /// Resolve a `file:` path relative to `base` (the config file's folder).
    pub fn relative_to(self, base: &std::path::Path) -> Self {
        match self {
            SecretRef::File(path) if path.is_relative() => SecretRef::File(base.join(path)),
            other => other,
        }
    }
}

/// A secret could not be read or written. Names the reference, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret `{reference}` {reason}")]
pub struct SecretError {
    /// The reference, as written in the config.
    pub reference: String,
    /// What went wrong.
    pub reason: String,
}

/// A keyring-like store of named secrets.
pub trait KeyringBackend: Send + Sync {
    /// The secret stored under `name`, `Ok(None)` when there is none.
    fn get(&self, name: &str) -> Result<Option<String>, String>;
    /// Store `value` under `name`, replacing what was there.
    fn set(&self, name: &str, value: &str) -> Result<(), String>;
}

/// The OS keyring through the `keyring` crate (service name `dsrhub`).
#[derive(Debug, Default)]
pub struct OsKeyring;

const KEYRING_SERVICE: &str = "dsrhub";

impl KeyringBackend for OsKeyring {
    fn get(&self, name: &str) -> Result<Option<String>, String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| e.to_string())?;
        match entry.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn set(&self, name: &str, value: &str) -> Result<(), String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, name).map_err(|e| e.to_string())?;
        entry.set_password(value).map_err(|e| e.to_string())
    }
}

/// An in-memory keyring, for tests and `dsrhub demo`.
#[derive(Default)]
pub struct MemoryKeyring(Mutex<HashMap<String, String>>);

impl KeyringBackend for MemoryKeyring {
    fn get(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.0.lock().expect("keyring lock").get(name).cloned())
    }

    fn set(&self, name: &str, value: &str) -> Result<(), String> {
        self.0
            .lock()
            .expect("keyring lock")
            .insert(name.to_string(), value.to_string());
        Ok(())
    }
}

/// Resolves [`SecretRef`]s. Cheap to clone; all clones share the keyring backend.
#[derive(Clone)]
pub struct Secrets {
    keyring: Arc<dyn KeyringBackend>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

impl Default for Secrets {
    fn default() -> Self {
        Secrets::new(Arc::new(OsKeyring))
    }
}

impl Secrets {
    /// A resolver whose `keyring:` references go to `keyring`.
    pub fn new(keyring: Arc<dyn KeyringBackend>) -> Self {
        Secrets { keyring }
    }

    /// A resolver with an empty in-memory keyring.
    pub fn in_memory() -> Self {
        Secrets::new(Arc::new(MemoryKeyring::default()))
    }

    /// Read a secret. Empty values count as missing.
    pub fn resolve(&self, reference: &SecretRef) -> Result<SecretString, SecretError> {
        let fail = |reason: String| SecretError {
            reference: reference.to_string(),
            reason,
        };
        // What fixes a missing secret (the command's own words, so a person can copy it).
        let store_it = format!("; store it with `dsrhub secret set {reference}`");
        let value = match reference {
            SecretRef::Keyring(name) => self
                .keyring
                .get(name)
                .map_err(|e| fail(format!("could not be read from the keyring: {e}")))?
                .ok_or_else(|| fail(format!("is not in the keyring{store_it}")))?,
            SecretRef::Env(var) => std::env::var(var)
                .map_err(|_| fail(format!("is missing: environment variable {var} is not set")))?,
            SecretRef::File(path) => match std::fs::metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(fail(format!("is missing: there is no such file{store_it}")));
                }
                _ => {
                    check_file_permissions(path).map_err(fail)?;
                    std::fs::read_to_string(path)
                        .map_err(|e| fail(format!("could not be read: {}", e.kind())))?
                        .trim_end_matches(['\r', '\n'])
                        .to_string()
                }
            },
        };
        if value.trim().is_empty() {
            return Err(fail(format!("is empty{store_it}")));
        }
        Ok(SecretString::from(value))
    }

    /// Write a secret (token rotation, `dsrhub auth login`). `env:` cannot be written.
    pub fn store(&self, reference: &SecretRef, value: &str) -> Result<(), SecretError> {
        let fail = |reason: String| SecretError {
            reference: reference.to_string(),
            reason,
        };
        match reference {
            SecretRef::Keyring(name) => self
                .keyring
                .set(name, value)
                .map_err(|e| fail(format!("could not be written to the keyring: {e}"))),
            SecretRef::Env(_) => Err(fail(
                "cannot be written: environment variables are read-only".into(),
            )),
            SecretRef::File(path) => write_private_file(path, value)
                .map_err(|e| fail(format!("could not be written: {}", e.kind()))),
        }
    }
}

#[cfg(unix)]
fn check_file_permissions(path: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => Err(format!(
            "is readable by other users; run `chmod 600 {}`",
            path.display()
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("could not be read: {}", e.kind())),
    }
}

#[cfg(not(unix))]
fn check_file_permissions(_path: &std::path::Path) -> Result<(), String> {
    Ok(())
}

/// Write `value` to `path` atomically (temp file + rename) with mode 0600, so a crash never
/// leaves a half-written secret and no other user can read it.
pub fn write_private_file(path: &std::path::Path, value: impl AsRef<[u8]>) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    // Unique per process and call: two processes writing the same file (two runs writing one
    // request's report) must not rename each other's temporary file away.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("secret"),
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(value.as_ref())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    // The rename is durable only once the folder's entry is on disk (rotating OAuth tokens
    // must survive a power cut between two runs).
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn parses_the_three_schemes_and_refuses_bare_values() {
        assert_eq!(
            "keyring:mb".parse::<SecretRef>().unwrap(),
            SecretRef::Keyring("mb".into())
        );
        assert_eq!(
            "env:MB".parse::<SecretRef>().unwrap(),
            SecretRef::Env("MB".into())
        );
        assert_eq!(
            "file:/x".parse::<SecretRef>().unwrap(),
            SecretRef::File("/x".into())
        );
        let err = "abc123secret".parse::<SecretRef>().unwrap_err();
        assert!(!err.contains("abc123secret"));
        let err = "token:abc123secret".parse::<SecretRef>().unwrap_err();
        assert!(!err.contains("abc123secret"), "{err}");
        assert!("env:".parse::<SecretRef>().is_err());
    }

    #[test]
    fn missing_env_names_the_reference_not_a_value() {
        let err = Secrets::in_memory()
            .resolve(&SecretRef::Env("DSRHUB_TEST_SURELY_UNSET_VAR".into()))
            .unwrap_err();
        assert_eq!(err.reference, "env:DSRHUB_TEST_SURELY_UNSET_VAR");
        assert!(err.to_string().contains("env:DSRHUB_TEST_SURELY_UNSET_VAR"));
    }

    #[test]
    fn memory_keyring_round_trip_and_missing_entry() {
        let secrets = Secrets::in_memory();
        let r = SecretRef::Keyring("moneybird".into());
        assert!(secrets
            .resolve(&r)
            .unwrap_err()
            .to_string()
            .contains("not in the keyring"));
        secrets.store(&r, "s3cr3t").unwrap();
        assert_eq!(secrets.resolve(&r).unwrap().expose_secret(), "s3cr3t");
    }

    #[test]
    fn file_secrets_are_written_private_and_refused_when_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let r = SecretRef::File(path.clone());
        let secrets = Secrets::in_memory();
        secrets.store(&r, "abc\n").unwrap();
        assert_eq!(secrets.resolve(&r).unwrap().expose_secret(), "abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = secrets.resolve(&r).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
            assert!(!err.contains("abc"));
        }
    }

    #[test]
    fn debug_of_a_resolved_secret_is_redacted() {
        let secrets = Secrets::in_memory();
        let r = SecretRef::Keyring("k".into());
        secrets.store(&r, "hunter2-secret").unwrap();
        let s = secrets.resolve(&r).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
