//! `[processors.autotask]` settings.

use dsrhub_connector::http::HttpSettings;
use dsrhub_connector::secrets::SecretRef;
use serde::Deserialize;
use url::Url;

/// Settings for one Autotask database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutotaskConfig {
    /// The API-only user's name (its e-mail address), sent as `UserName`.
    pub username: String,
    /// Reference to the API user's secret, sent as `Secret`.
    pub secret: SecretRef,
    /// Reference to the integration's tracking identifier, sent as `ApiIntegrationCode`.
    pub integration_code: SecretRef,
    /// The zone's REST root, e.g. `https://webservices16.autotask.net/ATServicesRest`. Unset:
    /// looked up from `zone_lookup_url` for `username`.
    #[serde(default)]
    pub base_url: Option<Url>,
    /// Where zones are looked up.
    #[serde(default = "default_zone_lookup")]
    pub zone_lookup_url: Url,
    /// Send `ImpersonationResourceId` with every call.
    #[serde(default)]
    pub impersonation_resource_id: Option<u64>,
    /// Whether the zone is inside the EEA; unset: inferred from the zone's name.
    #[serde(default)]
    pub data_in_eea: Option<bool>,
    /// HTTP tuning: timeouts, retries, quota override.
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_zone_lookup() -> Url {
    Url::parse("https://webservices.autotask.net/atservicesrest").expect("valid default URL")
}

impl AutotaskConfig {
    /// Check values serde cannot; errors name the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !self.username.contains('@') {
            return Err(
                "processors.autotask.username must be the API user's e-mail address".into(),
            );
        }
        for (name, url) in [
            ("base_url", self.base_url.as_ref()),
            ("zone_lookup_url", Some(&self.zone_lookup_url)),
        ] {
            if let Some(url) = url {
                if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
                    return Err(format!("processors.autotask.{name} must be an http(s) URL"));
                }
            }
        }
        self.http.validate("processors.autotask.http")
    }
}
