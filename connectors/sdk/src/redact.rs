//! Scrubbing personal data out of anything that may reach a log line, an error or a report.
//!
//! Vendors echo input back in error bodies ("email x@y.nl is invalid"), and URLs carry search
//! values in their query strings. Everything that leaves a connector as text goes through
//! these functions first.

use url::Url;

const MASK: &str = "<redacted>";

/// Replace e-mail-like tokens and long digit runs (phone numbers, IBANs, account numbers) in
/// free text with `<redacted>`. Conservative: it may mask a harmless number, never the reverse
/// for the patterns it knows.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    for c in text.chars() {
        if is_separator(c) {
            flush_token(&mut out, &mut token);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush_token(&mut out, &mut token);
    out
}

fn flush_token(out: &mut String, token: &mut String) {
    if looks_personal(token) {
        out.push_str(MASK);
    } else {
        out.push_str(token);
    }
    token.clear();
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | '='
        )
}

fn looks_personal(token: &str) -> bool {
    let digits = token.chars().filter(char::is_ascii_digit).count();
    token.contains('@') || digits >= 6
}

/// A URL as it may be logged: scheme, host and path, with every query value and any path
/// segment that contains `@` replaced by `<redacted>`.
pub fn url_for_log(url: &Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    match url.path_segments() {
        Some(segments) => {
            for segment in segments {
                out.push('/');
                let decoded = percent_decode(segment);
                if decoded.contains('@') {
                    out.push_str(MASK);
                } else {
                    out.push_str(segment);
                }
            }
        }
        None => out.push_str(url.path()),
    }
    let keys: Vec<String> = url
        .query_pairs()
        .map(|(k, _)| format!("{k}={MASK}"))
        .collect();
    if !keys.is_empty() {
        out.push('?');
        out.push_str(&keys.join("&"));
    }
    out
}

fn percent_decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={segment}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_masks_emails_phones_and_ibans() {
        let text = "Email 'jan.jansen@example.nl' is invalid; phone +31 6 12345678, IBAN NL91ABNA0417164300";
        let scrubbed = scrub(text);
        assert!(!scrubbed.contains("jan.jansen"), "{scrubbed}");
        assert!(!scrubbed.contains("12345678"), "{scrubbed}");
        assert!(!scrubbed.contains("0417164300"), "{scrubbed}");
        assert!(
            scrubbed.starts_with("Email '<redacted>' is invalid"),
            "{scrubbed}"
        );
    }

    #[test]
    fn scrub_keeps_harmless_text() {
        assert_eq!(
            scrub("record not found (id 42)"),
            "record not found (id 42)"
        );
    }

    #[test]
    fn url_for_log_hides_query_values_and_addresses_in_paths() {
        let url = Url::parse(
            "https://graph.example/v1.0/users/jan%40x.nl/messages?$search=%22jan%40x.nl%22&page=2",
        )
        .unwrap();
        let logged = url_for_log(&url);
        assert_eq!(logged, "https://graph.example/v1.0/users/<redacted>/messages?$search=<redacted>&page=<redacted>");
    }
}
