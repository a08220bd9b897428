//! What failed when a call never got an answer, in words a person can act on: the connection
//! refused, the host name not found, the TLS handshake failed, the call timed out. Read from
//! the error's chain of sources (reqwest, hyper, the OS, rustls), never from the URL's query.

use std::error::Error as StdError;

/// The failure of a call that got no answer, and what to check.
pub fn describe(error: &reqwest::Error, timeout_seconds: f64) -> String {
    if error.is_timeout() {
        return format!(
            "timed out after {timeout_seconds} s (check the network, or raise http.timeout_seconds)"
        );
    }
    let mut texts = Vec::new();
    let mut io_kind = None;
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        texts.push(e.to_string().to_ascii_lowercase());
        source = e.source();
    }
    let said = |needle: &str| texts.iter().any(|t| t.contains(needle));
    if io_kind == Some(std::io::ErrorKind::ConnectionRefused) || said("connection refused") {
        "the connection was refused (is the host and port in base_url right, and the service up?)"
            .into()
    } else if said("dns error") || said("failed to lookup address") || said("name or service") {
        "the host name could not be resolved (check base_url and the server's DNS)".into()
    } else if said("certificate") || said("tls") || said("handshake") || said("invalidcontenttype")
    {
        "the TLS handshake failed (is it https on that port, and is the certificate valid?)".into()
    } else if io_kind == Some(std::io::ErrorKind::ConnectionReset) || said("connection reset") {
        "the connection was reset by the other side".into()
    } else if error.is_connect() {
        "could not connect (check base_url and the network)".into()
    } else {
        "could not be sent".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn failure(url: &str) -> String {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap();
        let e = client.get(url).send().await.unwrap_err();
        describe(&e, 5.0)
    }

    #[tokio::test]
    async fn a_closed_port_is_a_refused_connection() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let said = failure(&format!("http://127.0.0.1:{port}/")).await;
        assert!(said.contains("refused"), "{said}");
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_says_so() {
        let said = failure("http://no-such-host.invalid/").await;
        assert!(said.contains("could not be resolved"), "{said}");
    }

    #[tokio::test]
    async fn https_to_a_plain_http_port_is_a_failed_handshake() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let said = failure(&format!("https://127.0.0.1:{port}/")).await;
        assert!(said.contains("TLS handshake failed"), "{said}");
    }
}
