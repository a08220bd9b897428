//! Token responses and the token set the hub keeps between runs.

use std::fmt;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

/// A token endpoint's answer (RFC 6749 §5.1). `expires_in` is accepted as a number or as a
/// string of digits (Exact Online sends `"600"`).
#[derive(Deserialize)]
pub struct TokenResponse {
    /// The access token.
    #[serde(deserialize_with = "secret")]
    pub access_token: SecretString,
    /// A new refresh token, when the server issues one (rotating servers always do).
    #[serde(default, deserialize_with = "optional_secret")]
    pub refresh_token: Option<SecretString>,
    /// Lifetime of the access token.
    #[serde(default, deserialize_with = "seconds")]
    pub expires_in: Option<Duration>,
    /// Usually `bearer` (any case).
    #[serde(default)]
    pub token_type: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("refresh_token", &self.refresh_token.is_some())
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
    Ok(SecretString::from(String::deserialize(d)?))
}

fn optional_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .filter(|s| !s.is_empty())
        .map(SecretString::from))
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(u64),
        Float(f64),
        Text(String),
    }
    let secs = match Option::<Number>::deserialize(d)? {
        None => return Ok(None),
        Some(Number::Int(n)) => n as f64,
        Some(Number::Float(f)) => f,
        Some(Number::Text(t)) => t
            .trim()
            .parse::<f64>()
            .map_err(|_| serde::de::Error::custom("expires_in is not a number of seconds"))?,
    };
    if !(secs.is_finite() && secs >= 0.0) {
        return Err(serde::de::Error::custom(
            "expires_in is not a number of seconds",
        ));
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

/// What the hub keeps between runs: the refresh token and, so the next run can reuse it
/// instead of spending one of the vendor's token calls, the current access token.
///
/// Stored as JSON in one secret. A secret holding just a bare refresh token (pasted by a
/// person) is read too.
#[derive(Clone)]
pub struct TokenSet {
    /// The refresh token.
    pub refresh_token: SecretString,
    /// The current access token, if any.
    pub access_token: Option<SecretString>,
    /// When the access token was issued.
    pub issued_at: Option<Timestamp>,
    /// When the access token expires.
    pub expires_at: Option<Timestamp>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token.is_some())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize, Deserialize)]
struct Stored {
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<Timestamp>,
}

/// Never refresh earlier than this before expiry: Exact Online refuses a refresh before 9.5
/// of the access token's 10 minutes ("Rate limit exceeded: access_token not expired").
const MAX_MARGIN: Duration = Duration::from_secs(30);

/// When an access token issued at `issued_at` and expiring at `expires_at` is renewed: 30
/// seconds before it expires, or a twentieth of its lifetime when that is shorter (Exact's
/// 570 of 600 seconds, scaled), never earlier, because Exact refuses earlier refreshes and
/// token calls are capped.
pub(crate) fn renew_at(issued_at: Option<Timestamp>, expires_at: Timestamp) -> Timestamp {
    let lifetime = issued_at
        .map(|issued| expires_at.duration_since(issued))
        .and_then(|d| Duration::try_from(d).ok())
        .unwrap_or(MAX_MARGIN * 20);
    let margin = MAX_MARGIN.min(lifetime / 20);
    let margin = SignedDuration::try_from(margin).unwrap_or_default();
    expires_at.checked_sub(margin).unwrap_or(expires_at)
}

/// Whether an access token issued at `issued_at` and expiring at `expires_at` can still be
/// used at `now`: until [`renew_at`].
pub(crate) fn usable(
    issued_at: Option<Timestamp>,
    expires_at: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    expires_at.is_some_and(|expires| now < renew_at(issued_at, expires))
}

impl TokenSet {
    /// Just a refresh token (a fresh login, or a token pasted by a person).
    pub fn from_refresh_token(refresh_token: SecretString) -> Self {
        TokenSet {
            refresh_token,
            access_token: None,
            issued_at: None,
            expires_at: None,
        }
    }

    /// The set after a token call at `now`; `previous` is kept as refresh token when the
    /// server issued none.
    pub fn from_response(
        response: TokenResponse,
        previous: Option<&SecretString>,
        now: Timestamp,
    ) -> Option<Self> {
        let refresh_token = response.refresh_token.or_else(|| previous.cloned())?;
        let expires_at = response
            .expires_in
            .and_then(|d| SignedDuration::try_from(d).ok())
            .and_then(|d| now.checked_add(d).ok());
        Some(TokenSet {
            refresh_token,
            access_token: Some(response.access_token),
            issued_at: Some(now),
            expires_at,
        })
    }

    /// Whether the access token can still be used at `now`: it is refreshed shortly before it
    /// expires (30 seconds, or a twentieth of its lifetime when that is shorter), never
    /// earlier, because Exact refuses earlier refreshes and token calls are capped per day.
    pub fn access_usable(&self, now: Timestamp) -> bool {
        self.access_token.is_some() && usable(self.issued_at, self.expires_at, now)
    }

    /// When the access token may be renewed (`None`: at once, its expiry is unknown).
    pub fn renew_at(&self) -> Option<Timestamp> {
        self.expires_at
            .filter(|_| self.access_token.is_some())
            .map(|expires| renew_at(self.issued_at, expires))
    }

    /// The JSON kept in the secret store.
    pub fn to_secret_json(&self) -> String {
        serde_json::to_string(&Stored {
            refresh_token: self.refresh_token.expose_secret().to_string(),
            access_token: self
                .access_token
                .as_ref()
                .map(|t| t.expose_secret().to_string()),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
        })
        .expect("a token set serialises")
    }

    /// Read what [`TokenSet::to_secret_json`] wrote, or a bare refresh token. The error never
    /// quotes the value.
    pub fn from_secret(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.starts_with('{') {
            let stored: Stored = serde_json::from_str(value)
                .map_err(|_| "holds JSON that is not a token set".to_string())?;
            if stored.refresh_token.is_empty() {
                return Err("holds no refresh token".into());
            }
            return Ok(TokenSet {
                refresh_token: SecretString::from(stored.refresh_token),
                access_token: stored.access_token.map(SecretString::from),
                issued_at: stored.issued_at,
                expires_at: stored.expires_at,
            });
        }
        if value.is_empty() || value.chars().any(char::is_whitespace) {
            return Err("is neither a token set nor a refresh token".into());
        }
        Ok(TokenSet::from_refresh_token(SecretString::from(
            value.to_string(),
        )))
    }

    /// Whether both sets hold the same refresh token.
    pub fn same_refresh_token(&self, other: &TokenSet) -> bool {
        self.refresh_token.expose_secret() == other.refresh_token.expose_secret()
    }

    /// Whether both sets hold the same access token.
    pub fn same_access_token(&self, other: &TokenSet) -> bool {
        match (&self.access_token, &other.access_token) {
            (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_as_string_or_number() {
        for body in [
            r#"{"access_token":"a","token_type":"bearer","expires_in":"600","refresh_token":"r"}"#,
            r#"{"access_token":"a","token_type":"Bearer","expires_in":600,"refresh_token":"r"}"#,
        ] {
            let t: TokenResponse = serde_json::from_str(body).unwrap();
            assert_eq!(t.expires_in, Some(Duration::from_secs(600)));
            assert!(t.refresh_token.is_some());
        }
        assert!(serde_json::from_str::<TokenResponse>(
            r#"{"access_token":"a","expires_in":"soon"}"#
        )
        .is_err());
        let no_refresh: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":3599}"#).unwrap();
        assert!(no_refresh.refresh_token.is_none());
    }

    #[test]
    fn round_trip_and_bare_refresh_tokens() {
        let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let response: TokenResponse = serde_json::from_str(
            r#"{"access_token":"tok-XYZ","expires_in":"600","refresh_token":"ref"}"#,
        )
        .unwrap();
        let set = TokenSet::from_response(response, None, now).unwrap();
        let back = TokenSet::from_secret(&set.to_secret_json()).unwrap();
        assert!(back.same_refresh_token(&set) && back.same_access_token(&set));
        assert_eq!(
            back.expires_at,
            Some("2026-11-25T12:10:00Z".parse().unwrap())
        );
        let bare = TokenSet::from_secret("abc!def\n").unwrap();
        assert_eq!(bare.refresh_token.expose_secret(), "abc!def");
        assert!(bare.access_token.is_none());
        let err = TokenSet::from_secret("{\"x\":\"leak-me\"}").unwrap_err();
        assert!(!err.contains("leak-me"));
        assert!(!format!("{set:?}").contains("tok-XYZ"));
    }

    #[test]
    fn access_tokens_are_reused_until_shortly_before_expiry() {
        let issued: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let response: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":"600","refresh_token":"r"}"#)
                .unwrap();
        let set = TokenSet::from_response(response, None, issued).unwrap();
        let at = |s: &str| -> Timestamp { s.parse().unwrap() };
        assert!(set.access_usable(at("2026-11-25T12:09:29Z")));
        assert!(!set.access_usable(at("2026-11-25T12:09:31Z")));
        assert_eq!(set.renew_at(), Some(at("2026-11-25T12:09:30Z")));
        // A short-lived token (tests) is refreshed a twentieth of its life before expiry, as
        // Exact's 30 of 600 seconds: never before 95 % of its life, when Exact would refuse.
        let response: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":"10","refresh_token":"r"}"#)
                .unwrap();
        let short = TokenSet::from_response(response, None, issued).unwrap();
        assert!(short.access_usable(at("2026-11-25T12:00:09.4Z")));
        assert!(!short.access_usable(at("2026-11-25T12:00:09.6Z")));
        assert!(!TokenSet::from_refresh_token("r".into()).access_usable(issued));
        assert_eq!(TokenSet::from_refresh_token("r".into()).renew_at(), None);
    }
}
