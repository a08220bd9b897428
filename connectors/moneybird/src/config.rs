//! `[processors.moneybird]` settings.

use dsrhub_connector::http::HttpSettings;
use dsrhub_connector::secrets::SecretRef;
use serde::Deserialize;
use url::Url;

/// Settings for one Moneybird administration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneybirdConfig {
    /// API root; `https://moneybird.com/api/v2` unless testing against a fake.
    #[serde(default = "default_base_url")]
    pub base_url: Url,
    /// The administration (Moneybird's word for one bookkeeping) to search.
    pub administration_id: String,
    /// Reference to the API token (`keyring:…`, `env:…` or `file:…`).
    pub token: SecretRef,
    /// Also scan all contacts once per discovery for contact people with the subject's
    /// address (Moneybird's search does not cover contact people), and for contacts reached
    /// only through their invoice or estimate recipient address (the search covers `email`
    /// only). Costs one request per 100 contacts.
    #[serde(default = "yes")]
    pub scan_contact_people: bool,
    /// HTTP tuning: timeouts, retries, quota override.
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_base_url() -> Url {
    Url::parse("https://moneybird.com/api/v2").expect("valid default URL")
}

fn yes() -> bool {
    true
}

impl MoneybirdConfig {
    /// Check values serde cannot; errors name the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.administration_id.is_empty()
            || !self.administration_id.chars().all(|c| c.is_ascii_digit())
        {
            return Err(
                "processors.moneybird.administration_id must be the numeric administration id"
                    .into(),
            );
        }
        if !matches!(self.base_url.scheme(), "https" | "http") {
            return Err("processors.moneybird.base_url must be an http(s) URL".into());
        }
        self.http.validate("processors.moneybird.http")
    }
}
