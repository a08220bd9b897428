//! `dsrhub auth login exact-online`: the authorization-code login, run once.

use std::sync::Arc;

use dsrhub_connector::oauth::{
    AuthorizationRequest, ClientSecret, Login, RotatingRefreshToken, SecretTokenStore,
    TokenEndpoint, TokenStore,
};
use dsrhub_connector::secrets::Secrets;
use dsrhub_connector::ConnectorError;

use crate::config::ExactOnlineConfig;

/// What to tell a person whose sign-in is gone.
pub const HOW_TO_LOGIN: &str = "run `dsrhub auth login exact-online` to sign in again";

/// Exact Online's documented cap on token calls is 200 per app and user per day; the client
/// guards against a refresh loop with a much tighter in-process pace.
fn token_quota() -> dsrhub_connector::http::Quota {
    dsrhub_connector::http::Quota {
        requests: 10,
        per_seconds: 60.0,
    }
}

pub(crate) fn token_endpoint(
    config: &ExactOnlineConfig,
    secrets: &Secrets,
) -> Result<TokenEndpoint, ConnectorError> {
    TokenEndpoint::new(
        crate::ID,
        config.token_url(),
        config.client_id.clone(),
        Some(ClientSecret::new(
            secrets.clone(),
            config.client_secret.clone(),
        )),
        config.http.clone(),
        token_quota(),
        HOW_TO_LOGIN,
    )
}

pub(crate) fn auth(
    config: &ExactOnlineConfig,
    secrets: &Secrets,
    store: Arc<dyn TokenStore>,
) -> Result<RotatingRefreshToken, ConnectorError> {
    Ok(RotatingRefreshToken::new(
        token_endpoint(config, secrets)?,
        store,
        HOW_TO_LOGIN,
    ))
}

/// Start a login: the URL to open, and what stores the tokens once the code is back.
pub fn start(config: &ExactOnlineConfig, secrets: &Secrets) -> Result<Login, ConnectorError> {
    config.validate().map_err(ConnectorError::invalid)?;
    let request = AuthorizationRequest::new(
        &config.authorize_url(),
        &config.client_id,
        &config.redirect_uri,
        // Reuse the person's Exact session when there is one.
        &[("force_login", "0")],
    );
    let store = SecretTokenStore::new(secrets.clone(), config.tokens.clone());
    Ok(Login::new(
        request,
        token_endpoint(config, secrets)?,
        Arc::new(store),
    ))
}
