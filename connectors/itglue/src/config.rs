//! `[processors.itglue]` settings.

use dsrhub_connector::http::HttpSettings;
use dsrhub_connector::secrets::SecretRef;
use dsrhub_connector::DataLocation;
use serde::Deserialize;
use url::Url;

/// Which IT Glue data centre the account lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// United States (`api.itglue.com`).
    Us,
    /// European Union (`api.eu.itglue.com`).
    Eu,
    /// Australia (`api.au.itglue.com`).
    Au,
}

impl Region {
    /// The region's API host.
    pub fn base_url(self) -> Url {
        let host = match self {
            Region::Us => "https://api.itglue.com",
            Region::Eu => "https://api.eu.itglue.com",
            Region::Au => "https://api.au.itglue.com",
        };
        Url::parse(host).expect("valid URL")
    }

    /// Where the data lives.
    pub fn location(self) -> DataLocation {
        match self {
            Region::Us => DataLocation {
                region: "IT Glue US".into(),
                eea: false,
            },
            Region::Eu => DataLocation {
                region: "IT Glue EU".into(),
                eea: true,
            },
            Region::Au => DataLocation {
                region: "IT Glue Australia".into(),
                eea: false,
            },
        }
    }
}

/// Settings for one IT Glue account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItGlueConfig {
    /// The account's region (`eu` for this deployment).
    #[serde(default = "eu")]
    pub region: Region,
    /// Override the region's API host (tests, proxies).
    #[serde(default)]
    pub base_url: Option<Url>,
    /// Reference to the API key (`x-api-key`).
    pub api_key: SecretRef,
    /// HTTP tuning: timeouts, retries, quota override.
    #[serde(default)]
    pub http: HttpSettings,
}

fn eu() -> Region {
    Region::Eu
}

impl ItGlueConfig {
    /// The API root in use.
    pub fn api_root(&self) -> Url {
        self.base_url
            .clone()
            .unwrap_or_else(|| self.region.base_url())
    }

    /// Check values serde cannot; errors name the setting.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.base_url {
            if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
                return Err("processors.itglue.base_url must be an http(s) URL".into());
            }
        }
        self.http.validate("processors.itglue.http")
    }
}
