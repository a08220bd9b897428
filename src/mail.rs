//! Sending request letters and deadline reminders by e-mail (`[hub.smtp]`), through
//! `lettre` with rustls.
//!
//! Without `[hub.smtp]` letters are only written as `.eml` files for a person to send.

use std::time::Duration;

use dsrhub_connector::redact;
use dsrhub_connector::secrets::{SecretRef, Secrets};
use dsrhub_connector::Letter;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::error::{Error, Result};

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// STARTTLS on the submission port (587).
    Starttls,
    /// TLS from the first byte (465).
    Tls,
    /// No encryption: only for a relay on this machine.
    None,
}

/// `[hub.smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The mail server.
    pub host: String,
    /// Its port; by default 587 (STARTTLS), 465 (TLS) or 25 (none).
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none` (loopback relays only).
    #[serde(default = "starttls")]
    pub security: Security,
    /// The account to log in with, if the server wants one.
    pub username: Option<String>,
    /// Reference to its password.
    pub password: Option<SecretRef>,
    /// Seconds to wait for the server.
    #[serde(default = "thirty")]
    pub timeout_seconds: u64,
}

fn starttls() -> Security {
    Security::Starttls
}

fn thirty() -> u64 {
    30
}

/// Sends letters.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer { .. }")
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Mailer {
    /// A mailer for `config`, sending from `from` (`hub.contact_email`). Errors name the setting.
    pub fn new(config: &SmtpConfig, from: &str, secrets: &Secrets) -> Result<Mailer> {
        let cfg = |m: String| Error::Config(format!("hub.smtp.{m}"));
        if config.security == Security::None && !is_loopback(&config.host) {
            return Err(cfg(
                "security: \"none\" is only allowed for a relay on this machine (localhost)".into(),
            ));
        }
        let builder = match config.security {
            Security::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
            }
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host),
            Security::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &config.host,
            )),
        }
        .map_err(|e| cfg(format!("host: {e}")))?;
        let port = config.port.unwrap_or(match config.security {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        });
        let mut builder = builder
            .port(port)
            .timeout(Some(Duration::from_secs(config.timeout_seconds)));
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                let password = secrets
                    .resolve(password)
                    .map_err(|e| cfg(format!("password: {e}")))?;
                builder = builder.credentials(Credentials::new(
                    user.clone(),
                    password.expose_secret().to_string(),
                ));
            }
            (None, None) => {}
            _ => return Err(cfg("username and hub.smtp.password go together".into())),
        }
        Ok(Mailer {
            transport: builder.build(),
            from: from.to_string(),
        })
    }

    /// Send `letter`. The error is scrubbed: servers echo addresses back.
    pub async fn send(&self, letter: &Letter, message_id: &str) -> std::result::Result<(), String> {
        self.send_text(&letter.to, &letter.subject, &letter.body, message_id)
            .await
    }

    /// Send a message already written as RFC 5322 text (a reply with its text and HTML parts)
    /// to `to`. The error is scrubbed: servers echo addresses back.
    pub async fn send_eml(&self, to: &[String], eml: &str) -> std::result::Result<(), String> {
        let from: lettre::Address = self
            .from
            .parse()
            .map_err(|_| "hub.contact_email is not a valid sender address".to_string())?;
        let to = to
            .iter()
            .map(|a| a.parse::<lettre::Address>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| "a recipient is not a valid address".to_string())?;
        let envelope = lettre::address::Envelope::new(Some(from), to)
            .map_err(|e| redact::scrub(&e.to_string()))?;
        self.transport
            .send_raw(&envelope, eml.as_bytes())
            .await
            .map(drop)
            .map_err(|e| redact::scrub(&e.to_string()))
    }

    /// Send a plain-text message to `to`. The error is scrubbed: servers echo addresses back.
    pub async fn send_text(
        &self,
        to: &[String],
        subject: &str,
        body: &str,
        message_id: &str,
    ) -> std::result::Result<(), String> {
        let mut builder = Message::builder()
            .from(
                self.from
                    .parse()
                    .map_err(|_| "hub.contact_email is not a valid sender address".to_string())?,
            )
            .subject(subject)
            .message_id(Some(message_id.to_string()))
            .header(ContentType::TEXT_PLAIN);
        for to in to {
            builder = builder.to(to
                .parse()
                .map_err(|_| "a recipient is not a valid address".to_string())?);
        }
        let message = builder
            .body(body.to_string())
            .map_err(|e| redact::scrub(&e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| redact::scrub(&e.to_string()))
    }
}
