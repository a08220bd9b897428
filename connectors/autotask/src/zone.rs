//! Zone discovery: which `webservicesN` host serves this database.

use dsrhub_connector::http::{HttpClient, HttpSettings, NoAuth, Quota, Request, VendorProfile};
use dsrhub_connector::{ConnectorError, DataLocation};
use serde::Deserialize;
use std::sync::Arc;
use url::Url;

/// `ZoneInformationResultModel`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    pub zone_name: String,
    pub url: String,
}

impl Zone {
    /// The REST root for API calls: the zone's scheme, host and port with the case-sensitive
    /// `ATServicesRest` path.
    pub fn api_root(&self) -> Result<Url, ConnectorError> {
        let url = Url::parse(&self.url)
            .map_err(|_| ConnectorError::permanent("Autotask returned an invalid zone URL"))?;
        api_root_of(&url)
    }

    /// Whether the zone is in the EEA, from its name (EU/Germany zones); `explicit` wins.
    pub fn location(&self, explicit: Option<bool>) -> DataLocation {
        let name = self.zone_name.to_ascii_lowercase();
        let inferred = (name.contains("eu") || name.contains("germany")) && !name.contains("uk");
        DataLocation {
            region: format!("Autotask zone {}", self.zone_name),
            eea: explicit.unwrap_or(inferred),
        }
    }
}

/// `https://host[:port]/ATServicesRest/V1.0/` from any URL on that host.
pub fn api_root_of(url: &Url) -> Result<Url, ConnectorError> {
    let mut root = url.clone();
    root.set_query(None);
    root.set_path("/ATServicesRest/V1.0/");
    if root.host_str().is_none() {
        return Err(ConnectorError::invalid(
            "processors.autotask.base_url has no host",
        ));
    }
    Ok(root)
}

/// Look the zone up. No credentials are sent; the call is not thread-limited.
pub async fn lookup(
    lookup_url: &Url,
    username: &str,
    settings: &HttpSettings,
) -> Result<Zone, ConnectorError> {
    let profile = VendorProfile {
        accept: None,
        processor: crate::ID,
        quota: Quota {
            requests: 60,
            per_seconds: 60.0,
        },
        max_concurrency: None,
        throttle_wait: None,
        reset_headers: None,
        daily_headers: None,
        reauth_statuses: &[401],
    };
    let mut base = lookup_url.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let settings = HttpSettings {
        rate_limit: None,
        max_concurrency: None,
        ..settings.clone()
    };
    let client = HttpClient::new(base, profile, settings, Arc::new(NoAuth))?;
    let url = client.url(&["v1.0", "zoneInformation"])?;
    let response = client
        .send(Request::get(url).query("user", username))
        .await?;
    response.json()
}
