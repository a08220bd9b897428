//! The subject's identifiers, normalised once where a request is opened (CLI and API alike),
//! so every connector searches the same value: an address padded with spaces found 4 of 11
//! records, because some vendors' filters compare the raw value.

use dsrhub_connector::Subject;

/// `raw` as an e-mail address every connector searches: trimmed, the domain in lower case.
/// `None` when it is not an address: no local part, no domain, whitespace or control
/// characters inside, a domain that is not a host name, or over 320 characters.
pub fn normalize_email(raw: &str) -> Option<String> {
    let address = raw.trim();
    if address.len() > 320 || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = address.rsplit_once('@')?;
    let host_name = domain.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    if local.is_empty() || local.contains('@') || !host_name {
        return None;
    }
    Some(format!("{local}@{}", domain.to_lowercase()))
}

/// Why an identifier was refused: the field (CLI flag with its position) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Which identifier, e.g. `--email #2`.
    pub field: String,
    /// What is wrong with it (never the value itself: it is personal data).
    pub message: String,
}

/// The subject with every identifier normalised (trimmed; addresses checked, their domain
/// lower-cased; duplicates dropped), or the first identifier refused.
pub fn normalize_subject(subject: &Subject) -> Result<Subject, Refused> {
    let mut out = Subject::default();
    for (i, raw) in subject.emails.iter().enumerate() {
        let email = normalize_email(raw).ok_or_else(|| Refused {
            field: format!("--email #{}", i + 1),
            message: "not an e-mail address (it needs a local part, an at sign and a domain, and no spaces)".into(),
        })?;
        if !out.emails.iter().any(|e| e.eq_ignore_ascii_case(&email)) {
            out.emails.push(email);
        }
    }
    if out.emails.is_empty() {
        return Err(Refused {
            field: "--email".into(),
            message: "at least one verified e-mail address is needed".into(),
        });
    }
    for (flag, values, target) in [
        ("--phone", &subject.phones, &mut out.phones),
        ("--name", &subject.names, &mut out.names),
    ] {
        for (i, raw) in values.iter().enumerate() {
            let value = raw.trim();
            if value.is_empty() || value.len() > 320 || value.chars().any(char::is_control) {
                return Err(Refused {
                    field: format!("{flag} #{}", i + 1),
                    message: "empty, too long or contains control characters".into(),
                });
            }
            if !target.iter().any(|v| v == value) {
                target.push(value.to_string());
            }
        }
    }
    Ok(out)
}

/// `sanne.bakker@example.nl` → `s•••r@e•••e.nl`: enough for a person who knows the address to
/// recognise it, not enough to read it off a screen.
pub fn mask_email(email: &str) -> String {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return mask_word(email);
    };
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let tld = if tld.is_empty() {
        String::new()
    } else {
        format!(".{tld}")
    };
    format!("{}@{}{tld}", mask_word(local), mask_word(host))
}

/// The first and last character of a word, the rest dotted.
pub fn mask_word(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 | 2 => format!("{}•••", chars[0]),
        n => format!("{}•••{}", chars[0], chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_masked() {
        assert_eq!(mask_email("sanne.bakker@example.nl"), "s•••r@e•••e.nl");
        assert_eq!(mask_email("a@b.nl"), "a•••@b•••.nl");
        assert_eq!(mask_word("Sanne Bakker"), "S•••r");
        assert!(!mask_email("sanne.bakker@example.nl").contains("sanne"));
    }

    #[test]
    fn addresses_are_trimmed_and_their_domain_lower_cased() {
        assert_eq!(
            normalize_email("  Sanne.Bakker@Example.NL  ").as_deref(),
            Some("Sanne.Bakker@example.nl")
        );
        assert_eq!(
            normalize_email("o'brien@example.nl").as_deref(),
            Some("o'brien@example.nl")
        );
        assert_eq!(
            normalize_email("jan@bücher.example").as_deref(),
            Some("jan@bücher.example")
        );
    }

    #[test]
    fn what_is_not_an_address_is_refused() {
        for bad in [
            " @ ",
            "a@ ",
            "@example.nl",
            "a@",
            "a b@example.nl",
            "a@exa mple.nl",
            "a@@example.nl",
            "a@example..nl",
            "a@.example.nl",
            "a@example.nl.",
            "a@-example.nl",
            "%@%",
            "*@*",
            "x@y.nl' or 'a'='a",
            "a@exa\nmple.nl",
            "",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
        assert_eq!(normalize_email(&format!("{}@x.nl", "a".repeat(320))), None);
    }

    #[test]
    fn subjects_are_normalised_once_and_refusals_name_the_field_not_the_value() {
        let subject = Subject {
            emails: vec![
                "  sanne.bakker@example.nl  ".into(),
                "SANNE.BAKKER@EXAMPLE.NL".into(),
            ],
            phones: vec![" 06-12345678 ".into()],
            names: vec!["Sanne Bakker".into()],
        };
        let normal = normalize_subject(&subject).unwrap();
        assert_eq!(normal.emails, vec!["sanne.bakker@example.nl".to_string()]);
        assert_eq!(normal.phones, vec!["06-12345678".to_string()]);
        let bad = Subject {
            emails: vec!["ok@example.nl".into(), " @ ".into()],
            ..Subject::default()
        };
        let refused = normalize_subject(&bad).unwrap_err();
        assert_eq!(refused.field, "--email #2");
        assert!(!refused.message.contains('@'));
        assert_eq!(
            normalize_subject(&Subject::default()).unwrap_err().field,
            "--email"
        );
        let blank_name = Subject {
            emails: vec!["ok@example.nl".into()],
            names: vec!["  ".into()],
            ..Subject::default()
        };
        assert_eq!(
            normalize_subject(&blank_name).unwrap_err().field,
            "--name #1"
        );
    }
}
