//! `[processors.microsoft-graph]` settings.

use dsrhub_connector::http::HttpSettings;
use dsrhub_connector::secrets::SecretRef;
use serde::Deserialize;
use url::Url;

/// Settings for one Microsoft 365 tenant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphConfig {
    /// The tenant (directory) id or a verified domain.
    pub tenant_id: String,
    /// The app registration's application (client) id.
    pub client_id: String,
    /// Reference to the app's client secret.
    pub client_secret: SecretRef,
    /// Mailboxes to search (user principal names or ids), e.g. every staff mailbox.
    #[serde(default)]
    pub mailboxes: Vec<String>,
    /// Delete messages older than the correspondence retention period. Off: mail is kept
    /// (and listed) whatever its age.
    #[serde(default)]
    pub delete_mail: bool,
    /// Has no effect, and is accepted so that older configurations still load: purging a
    /// deleted user from `directory/deletedItems` is not supported with the application
    /// permissions dsrhub uses, so a deleted account is reported "soft-deleted until" the
    /// day Microsoft purges it (30 days after the deletion).
    #[serde(default)]
    pub purge_deleted_users: bool,
    /// Graph's root, `https://graph.microsoft.com/v1.0` unless testing against a fake.
    #[serde(default = "default_graph")]
    pub graph_url: Url,
    /// The identity platform, `https://login.microsoftonline.com` unless testing.
    #[serde(default = "default_login")]
    pub login_url: Url,
    /// HTTP tuning: timeouts, retries, quota override.
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_graph() -> Url {
    Url::parse("https://graph.microsoft.com/v1.0").expect("valid default URL")
}

fn default_login() -> Url {
    Url::parse("https://login.microsoftonline.com").expect("valid default URL")
}

impl GraphConfig {
    /// Check values serde cannot; errors name the setting.
    pub fn validate(&self) -> Result<(), String> {
        let field = |name: &str| format!("processors.{}.{name}", crate::ID);
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        };
        if !plain(&self.tenant_id) {
            return Err(format!(
                "{} must be the tenant id (a GUID) or its domain",
                field("tenant_id")
            ));
        }
        if !plain(&self.client_id) {
            return Err(format!(
                "{} must be the app's application (client) id",
                field("client_id")
            ));
        }
        for (i, mailbox) in self.mailboxes.iter().enumerate() {
            let ok = !mailbox.is_empty()
                && mailbox
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '@' | '_' | '+'));
            if !ok {
                return Err(format!(
                    "{}[{i}] must be a user principal name or a user id",
                    field("mailboxes")
                ));
            }
        }
        for (name, url) in [
            ("graph_url", &self.graph_url),
            ("login_url", &self.login_url),
        ] {
            if !matches!(url.scheme(), "https" | "http") {
                return Err(format!("{} must be an http(s) URL", field(name)));
            }
        }
        self.http.validate(&field("http"))
    }

    /// `{login_url}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> Url {
        let mut url = self.login_url.clone();
        url.path_segments_mut()
            .expect("an http(s) URL")
            .pop_if_empty()
            .extend([self.tenant_id.as_str(), "oauth2", "v2.0", "token"]);
        url
    }
}
