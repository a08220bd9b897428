//! The authorization-code login a person runs once (`dsrhub auth login <processor>`).
//!
//! [`AuthorizationRequest`] builds the vendor's authorize URL with a random `state` (the
//! CSRF check), then takes the redirect back either on a loopback listener
//! ([`AuthorizationRequest::receive`]) or pasted by the person
//! ([`AuthorizationRequest::code_from_pasted`]): the whole redirect URL, its query, or the
//! bare code. Whatever arrives with a `state` must carry ours.

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// A login could not be completed. Never quotes codes or tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LoginError(pub String);

/// One authorization request: the URL to open and the `state` to expect back.
#[derive(Clone)]
pub struct AuthorizationRequest {
    url: Url,
    state: String,
    redirect_uri: Url,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .finish_non_exhaustive()
    }
}

impl AuthorizationRequest {
    /// `authorize_url?client_id=…&redirect_uri=…&response_type=code&state=…` plus `extra`
    /// parameters (Exact Online: `force_login=0`).
    pub fn new(
        authorize_url: &Url,
        client_id: &str,
        redirect_uri: &Url,
        extra: &[(&str, &str)],
    ) -> Self {
        let state = uuid::Uuid::new_v4().simple().to_string();
        let mut url = authorize_url.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", redirect_uri.as_str())
                .append_pair("response_type", "code")
                .append_pair("state", &state);
            for (k, v) in extra {
                query.append_pair(k, v);
            }
        }
        AuthorizationRequest {
            url,
            state,
            redirect_uri: redirect_uri.clone(),
        }
    }

    /// The URL the person opens.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The redirect URI registered with the vendor.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Whether the redirect URI is a plain-HTTP loopback address this process can listen on.
    pub fn loopback_addr(&self) -> Option<std::net::SocketAddr> {
        if self.redirect_uri.scheme() != "http" {
            return None;
        }
        let port = self.redirect_uri.port_or_known_default()?;
        match self.redirect_uri.host()? {
            url::Host::Ipv4(ip) if ip.is_loopback() => Some((ip, port).into()),
            url::Host::Ipv6(ip) if ip.is_loopback() => Some((ip, port).into()),
            url::Host::Domain("localhost") => Some(([127, 0, 0, 1], port).into()),
            _ => None,
        }
    }

    /// The code from a redirect's query parameters, after checking `state` and `error`.
    fn code_from_pairs<'a>(
        &self,
        pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<String, LoginError> {
        let (mut code, mut state, mut error) = (None, None, None);
        for (k, v) in pairs {
            match k.as_ref() {
                "code" => code = Some(v.into_owned()),
                "state" => state = Some(v.into_owned()),
                "error" => error = Some(v.into_owned()),
                _ => {}
            }
        }
        if let Some(error) = error {
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(60)
                .collect();
            return Err(LoginError(format!(
                "the vendor refused the authorization ({error})"
            )));
        }
        match state {
            Some(s) if s == self.state => {}
            Some(_) => {
                return Err(LoginError(
                    "the redirect's `state` does not match this login (a stale or forged \
                     redirect); start the login again"
                        .into(),
                ))
            }
            None => {
                return Err(LoginError(
                    "the redirect carries no `state`; paste the whole redirect URL".into(),
                ))
            }
        }
        code.filter(|c| !c.is_empty())
            .ok_or_else(|| LoginError("the redirect carries no `code`".into()))
    }

    /// The code from what a person pasted: the redirect URL, its query string, or the bare
    /// code (taken as is: the person copied it from their own browser).
    pub fn code_from_pasted(&self, pasted: &str) -> Result<String, LoginError> {
        let pasted = pasted.trim();
        if pasted.is_empty() {
            return Err(LoginError("nothing was pasted".into()));
        }
        if let Ok(url) = Url::parse(pasted) {
            return self.code_from_pairs(url.query_pairs());
        }
        let query = pasted.trim_start_matches('?');
        if query.contains("code=") {
            return self.code_from_pairs(url::form_urlencoded::parse(query.as_bytes()));
        }
        if pasted.chars().any(char::is_whitespace) {
            return Err(LoginError(
                "that is not a redirect URL or an authorization code".into(),
            ));
        }
        Ok(pasted.to_string())
    }

    /// Serve the redirect on `listener` until a request brings this login's code (other
    /// requests, e.g. a browser's `favicon.ico`, are answered 404 and ignored), at most
    /// `timeout`.
    pub async fn receive(
        &self,
        listener: TcpListener,
        timeout: Duration,
    ) -> Result<String, LoginError> {
        let path = self.redirect_uri.path().to_string();
        let serve = async {
            loop {
                let (mut stream, _) = listener
                    .accept()
                    .await
                    .map_err(|e| LoginError(format!("the loopback listener failed: {e}")))?;
                let target = match read_request_target(&mut stream).await {
                    Some(target) => target,
                    None => continue,
                };
                let url = Url::parse("http://loopback").and_then(|base| base.join(&target));
                let Some(url) = url.ok().filter(|u| u.path() == path) else {
                    let _ = respond(&mut stream, "404 Not Found", "Not found.").await;
                    continue;
                };
                let result = self.code_from_pairs(url.query_pairs());
                let page = match &result {
                    Ok(_) => "Signed in. You can close this window and return to dsrhub.",
                    Err(_) => "The sign-in failed; see the terminal running dsrhub.",
                };
                let _ = respond(&mut stream, "200 OK", page).await;
                return result;
            }
        };
        tokio::time::timeout(timeout, serve)
            .await
            .map_err(|_| LoginError("no redirect arrived in time; start the login again".into()))?
    }
}

/// A login in progress: the authorization request, and what turns its code into a stored
/// token set.
#[derive(Debug)]
pub struct Login {
    request: AuthorizationRequest,
    endpoint: super::TokenEndpoint,
    store: std::sync::Arc<dyn super::TokenStore>,
}

impl Login {
    /// A login that exchanges its code at `endpoint` and saves the tokens in `store`.
    pub fn new(
        request: AuthorizationRequest,
        endpoint: super::TokenEndpoint,
        store: std::sync::Arc<dyn super::TokenStore>,
    ) -> Self {
        Login {
            request,
            endpoint,
            store,
        }
    }

    /// The authorization request (its URL is what the person opens).
    pub fn request(&self) -> &AuthorizationRequest {
        &self.request
    }

    /// Exchange `code` and save the tokens. Codes are single-use and short-lived (Exact
    /// Online: 3 minutes), so this is called at once.
    pub async fn finish(&self, code: &str) -> Result<(), crate::ConnectorError> {
        let response = self
            .endpoint
            .exchange_code(code, self.request.redirect_uri())
            .await?;
        let tokens = super::TokenSet::from_response(response, None, jiff::Timestamp::now())
            .ok_or_else(|| {
                crate::ConnectorError::permanent(
                    "the token endpoint issued no refresh token, so the hub could not work \
                     unattended",
                )
            })?;
        self.store.save(&tokens).map_err(|e| {
            crate::ConnectorError::permanent(format!("the sign-in could not be saved: {e}"))
        })
    }
}

/// The target of an HTTP request line (`GET /callback?code=… HTTP/1.1`).
async fn read_request_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buffer = Vec::with_capacity(2048);
    let mut chunk = [0u8; 1024];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") && buffer.len() < 16 * 1024 {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buffer);
    let mut parts = text.lines().next()?.split_whitespace();
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_owned)
}

async fn respond(
    stream: &mut tokio::net::TcpStream,
    status: &str,
    text: &str,
) -> std::io::Result<()> {
    let body = format!("<!doctype html><meta charset=utf-8><title>dsrhub</title><p>{text}</p>");
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(redirect: &str) -> AuthorizationRequest {
        AuthorizationRequest::new(
            &Url::parse("https://start.exactonline.nl/api/oauth2/auth").unwrap(),
            "client-1",
            &Url::parse(redirect).unwrap(),
            &[("force_login", "0")],
        )
    }

    #[test]
    fn the_authorize_url_carries_everything() {
        let r = request("https://dsrhub.example/callback");
        let pairs: Vec<(String, String)> = r.url().query_pairs().into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        assert_eq!(get("client_id"), Some("client-1"));
        assert_eq!(get("redirect_uri"), Some("https://dsrhub.example/callback"));
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("force_login"), Some("0"));
        assert_eq!(get("state").map(str::len), Some(32));
        assert!(r.loopback_addr().is_none());
        assert!(request("http://127.0.0.1:8765/cb")
            .loopback_addr()
            .is_some());
    }

    #[test]
    fn pasted_redirects_are_checked_and_codes_decoded() {
        let r = request("https://dsrhub.example/callback");
        let good = format!(
            "https://dsrhub.example/callback?code=ab%21cd&state={}",
            r.state
        );
        assert_eq!(r.code_from_pasted(&good).unwrap(), "ab!cd");
        assert_eq!(
            r.code_from_pasted(&format!("?code=xyz&state={}", r.state))
                .unwrap(),
            "xyz"
        );
        assert_eq!(r.code_from_pasted("  bare-code\n").unwrap(), "bare-code");
        let forged = "https://dsrhub.example/callback?code=evil-code&state=other";
        let err = r.code_from_pasted(forged).unwrap_err().to_string();
        assert!(err.contains("state") && !err.contains("evil-code"), "{err}");
        let refused = format!(
            "https://dsrhub.example/callback?error=access_denied&state={}",
            r.state
        );
        assert!(r
            .code_from_pasted(&refused)
            .unwrap_err()
            .to_string()
            .contains("access_denied"));
        assert!(r.code_from_pasted("two words").is_err());
    }

    #[tokio::test]
    async fn the_loopback_listener_takes_the_redirect() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = request(&format!("http://127.0.0.1:{port}/cb"));
        let state = r.state.clone();
        let browser = tokio::spawn(async move {
            let client = reqwest::Client::new();
            let favicon = client
                .get(format!("http://127.0.0.1:{port}/favicon.ico"))
                .send()
                .await
                .unwrap();
            assert_eq!(favicon.status(), 404);
            client
                .get(format!(
                    "http://127.0.0.1:{port}/cb?code=c0de&state={state}"
                ))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        let code = r.receive(listener, Duration::from_secs(10)).await.unwrap();
        assert_eq!(code, "c0de");
        assert!(browser.await.unwrap().contains("Signed in"));
    }
}
