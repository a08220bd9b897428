//! Scrubbing personal data out of anything that may reach a log line, an error or a report.
//!
//! Vendors echo input back in error bodies ("email x@y.nl is invalid"), and URLs carry search
//! values in their query strings. Everything that leaves a connector as text goes through
//! these functions first.

use url::Url;

use crate::model::Subject;

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

/// Name particles that are also ordinary words ("van", "de"): never masked on their own.
const PARTICLES: &[&str] = &[
    "van", "de", "der", "den", "het", "ten", "ter", "te", "op", "in", "la", "le", "du", "da",
    "von", "zu", "el", "al", "del", "dos", "das",
];

/// `text` with every identifier of `subject` masked, then [`scrub`]bed: its phone numbers (a
/// run of digits, with any spacing, holding the number's last eight digits), and its names:
/// each word of a name, without regard to case, except short particles ("van", "de"). Its
/// e-mail addresses, like any token with an `@`, are masked by [`scrub`]; [`scrub`] alone
/// knows nothing of names or of a number written in short groups ("06 12 34 56 78"), and a
/// vendor's error text may carry them ("contact Sanne Bakker has invoices"). Over-masking is
/// accepted: a word of the subject's name is masked wherever it stands as a word.
pub fn mask_subject(text: &str, subject: &Subject) -> String {
    let mut out = text.to_string();
    for phone in &subject.phones {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 6 {
            out = mask_phone(&out, &digits[digits.len().saturating_sub(8)..]);
        }
    }
    let words: Vec<String> = subject
        .names
        .iter()
        .flat_map(|n| n.split(|c: char| !c.is_alphanumeric() && c != '\''))
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 2 && !PARTICLES.contains(&w.as_str()))
        .collect();
    if !words.is_empty() {
        out = mask_words(&out, &words);
    }
    scrub(&out)
}

/// `text` with every run of digits (spaces, `-`, `.`, `/`, `(`, `)` and `+` between them
/// allowed) whose digits contain `tail` masked.
fn mask_phone(text: &str, tail: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        if !starts_number {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The run: digits and the separators between them, ending on a digit.
        let start = i;
        let mut end = i;
        let mut j = i;
        while j < chars.len()
            && (chars[j].is_ascii_digit()
                || matches!(chars[j], ' ' | '-' | '.' | '/' | '(' | ')' | '+'))
        {
            if chars[j].is_ascii_digit() {
                end = j + 1;
            }
            j += 1;
        }
        let run: String = chars[start..end].iter().collect();
        let digits: String = run.chars().filter(char::is_ascii_digit).collect();
        if digits.contains(tail) {
            out.push_str(MASK);
        } else {
            out.push_str(&run);
        }
        // A run holds at least one digit (a `+` starts one only before a digit): `end > i`.
        i = end;
    }
    out
}

/// `text` with each whole word equal (without case) to one of `words` masked.
fn mask_words(text: &str, words: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            if words.contains(&word.to_lowercase()) {
                out.push_str(MASK);
            } else {
                out.push_str(word);
            }
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
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
    fn mask_subject_masks_names_addresses_and_numbers_of_the_subject_only() {
        let subject = Subject {
            emails: vec!["Sanne.Bakker@Example.nl".into()],
            phones: vec!["+31 6 1234 5678".into()],
            names: vec!["Sanne van der Bakker".into()],
        };
        let text = "Contact 'BAKKER, Sanne' (sanne.bakker@example.nl, 06 12 34 56 78) is linked \
                    to invoice 42 of Jan de Vries; van der Berg was here";
        let masked = mask_subject(text, &subject);
        for gone in ["BAKKER", "Sanne", "sanne.bakker", "56 78"] {
            assert!(!masked.contains(gone), "{gone} in {masked}");
        }
        // Other people, numbers that are not the subject's, and particles stay.
        for kept in ["Jan de Vries", "invoice 42", "van der Berg"] {
            assert!(masked.contains(kept), "{kept} missing from {masked}");
        }
        assert!(
            masked.starts_with("Contact '<redacted>, <redacted>' (<redacted>"),
            "{masked}"
        );
    }

    /// The exact output: text around a number stays as it was, a `+` starts the number, a
    /// number at the very end is found, other short numbers stay.
    #[test]
    fn mask_subject_leaves_the_text_around_a_number_as_it_was() {
        let subject = Subject {
            phones: vec!["06-12345678".into()],
            ..Subject::default()
        };
        assert_eq!(
            mask_subject("ref A12: call +31 6 1234 5678 (ext. 12), room B2", &subject),
            "ref A12: call <redacted> (ext. 12), room B2"
        );
        assert_eq!(
            mask_subject("call 06 12 34 56 78", &subject),
            "call <redacted>"
        );
        assert_eq!(
            mask_subject("a+1 and 3-4 and 06 1234 5679", &subject),
            "a+1 and 3-4 and 06 1234 5679"
        );
    }

    #[test]
    fn mask_subject_of_nobody_is_scrub() {
        let text = "record 42 of mail@example.nl not found";
        assert_eq!(mask_subject(text, &Subject::default()), scrub(text));
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
