//! `[processors.exact-online]` settings.

use dsrhub_connector::http::HttpSettings;
use dsrhub_connector::secrets::SecretRef;
use dsrhub_connector::DataLocation;
use serde::Deserialize;
use url::Url;

/// Settings for one Exact Online app registration and user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExactOnlineConfig {
    /// The country host the tenant lives on: `https://start.exactonline.nl` (default), `.be`,
    /// `.de`, `.fr`, `.es`, `.co.uk` or `.com`. Tokens only work on their own host.
    #[serde(default = "default_host")]
    pub host: Url,
    /// The app's client id (Exact App Center). Not a secret.
    pub client_id: String,
    /// Reference to the app's client secret.
    pub client_secret: SecretRef,
    /// The redirect URI registered for the app (Exact requires HTTPS; a plain-HTTP loopback
    /// address lets `dsrhub auth login` receive the redirect itself).
    pub redirect_uri: Url,
    /// Where the rotating tokens are kept: `file:` (durable; recommended for servers) or
    /// `keyring:`. Written by `dsrhub auth login` and at every refresh, so `env:` is refused.
    pub tokens: SecretRef,
    /// Divisions to search; empty means every division the user can access.
    #[serde(default)]
    pub divisions: Vec<u32>,
    /// HTTP tuning: timeouts, retries, quota override.
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_host() -> Url {
    Url::parse("https://start.exactonline.nl").expect("valid default URL")
}

impl ExactOnlineConfig {
    /// Check values serde cannot; errors name the setting.
    pub fn validate(&self) -> Result<(), String> {
        let field = |name: &str| format!("processors.{}.{name}", crate::ID);
        if !matches!(self.host.scheme(), "https" | "http") || self.host.host_str().is_none() {
            return Err(format!("{} must be an http(s) URL", field("host")));
        }
        if self.client_id.trim().is_empty() {
            return Err(format!(
                "{} must be the app's client id from the Exact App Center",
                field("client_id")
            ));
        }
        if !matches!(self.redirect_uri.scheme(), "https" | "http") {
            return Err(format!("{} must be an http(s) URL", field("redirect_uri")));
        }
        if matches!(self.tokens, SecretRef::Env(_)) {
            return Err(format!(
                "{} must be `file:` or `keyring:`: the refresh token rotates at every refresh \
                 and has to be written back",
                field("tokens")
            ));
        }
        if self.divisions.contains(&0) {
            return Err(format!("{} must hold division codes", field("divisions")));
        }
        self.http.validate(&field("http"))
    }

    /// `{host}/api/v1/`.
    pub fn api_root(&self) -> Url {
        self.host.join("/api/v1/").expect("joining a fixed path")
    }

    /// `{host}/api/oauth2/auth`.
    pub fn authorize_url(&self) -> Url {
        self.host
            .join("/api/oauth2/auth")
            .expect("joining a fixed path")
    }

    /// `{host}/api/oauth2/token`.
    pub fn token_url(&self) -> Url {
        self.host
            .join("/api/oauth2/token")
            .expect("joining a fixed path")
    }

    /// Where the data lives, from the country host.
    pub fn location(&self) -> DataLocation {
        let host = self.host.host_str().unwrap_or_default();
        let (region, eea) = if host.ends_with(".nl") {
            ("EU (Netherlands)", true)
        } else if host.ends_with(".be") {
            ("EU (Belgium)", true)
        } else if host.ends_with(".de") {
            ("EU (Germany)", true)
        } else if host.ends_with(".fr") {
            ("EU (France)", true)
        } else if host.ends_with(".es") {
            ("EU (Spain)", true)
        } else if host.ends_with(".co.uk") {
            ("United Kingdom (adequacy decision, outside the EEA)", false)
        } else if host.ends_with(".com") {
            ("United States (outside the EEA)", false)
        } else {
            ("unknown (host is not an Exact Online country host)", false)
        };
        DataLocation {
            region: region.into(),
            eea,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(tokens: &str) -> ExactOnlineConfig {
        toml::from_str(&format!(
            r#"
            client_id = "abc"
            client_secret = "env:EXACT_SECRET"
            redirect_uri = "https://dsrhub.example/callback"
            tokens = "{tokens}"
            "#
        ))
        .unwrap()
    }

    #[test]
    fn tokens_must_be_writable_and_hosts_give_locations() {
        assert!(config("file:exact.tokens").validate().is_ok());
        let err = config("env:EXACT_TOKENS").validate().unwrap_err();
        assert!(err.starts_with("processors.exact-online.tokens"), "{err}");
        let mut c = config("keyring:exact");
        assert!(c.location().eea);
        assert_eq!(
            c.token_url().as_str(),
            "https://start.exactonline.nl/api/oauth2/token"
        );
        c.host = Url::parse("https://start.exactonline.co.uk").unwrap();
        assert!(!c.location().eea);
    }
}
