//! Escaping of values that go into vendor query languages.
//!
//! Safety rule: a filter built from a subject's identifier must match exactly that value and
//! nothing else. An e-mail address may legally contain `'`, `"`, `)` or even spaces; if such a
//! value could close a string literal, a query would widen, and a widened erasure deletes other
//! people. Every connector builds its filters with these functions, never with `format!` on a
//! raw value. Values that cannot be escaped for a syntax are refused, not mangled.
//!
//! URL encoding is not handled here: the SDK's HTTP client encodes query parameters and path
//! segments itself (see [`crate::http::HttpClient::url`]).

use std::fmt;

/// A value was refused because it cannot be represented safely in the target syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeError {
    /// Which syntax refused it.
    pub syntax: &'static str,
    /// Why, without echoing the value.
    pub reason: &'static str,
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "value refused for {}: {}", self.syntax, self.reason)
    }
}

impl std::error::Error for EscapeError {}

impl From<EscapeError> for crate::ConnectorError {
    fn from(e: EscapeError) -> Self {
        crate::ConnectorError::invalid(e.to_string())
    }
}

fn refuse_controls(value: &str, syntax: &'static str) -> Result<(), EscapeError> {
    if value.chars().any(char::is_control) {
        return Err(EscapeError {
            syntax,
            reason: "contains control characters",
        });
    }
    Ok(())
}

/// An OData (v2/v4) string literal: `'…'` with every `'` doubled. Used by Exact Online and
/// Microsoft Graph `$filter`.
pub fn odata_string(value: &str) -> Result<String, EscapeError> {
    refuse_controls(value, "OData string literal")?;
    Ok(format!("'{}'", value.replace('\'', "''")))
}

/// An OData v2 GUID literal, `guid'…'` (Exact Online ids). Only the canonical
/// `8-4-4-4-12` hexadecimal form is accepted, so nothing can close the literal.
pub fn odata_guid(value: &str) -> Result<String, EscapeError> {
    if is_guid(value) {
        Ok(format!("guid'{value}'"))
    } else {
        Err(EscapeError {
            syntax: "OData GUID literal",
            reason: "not a GUID",
        })
    }
}

/// Whether `value` is a GUID in canonical `8-4-4-4-12` hexadecimal form.
pub fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A KQL phrase for Microsoft Graph `$search`: `"…"` with `\` and `"` backslash-escaped.
pub fn kql_phrase(value: &str) -> Result<String, EscapeError> {
    refuse_controls(value, "KQL phrase")?;
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// A token in a `key:value,key:value` filter (Moneybird's `filter=` parameter). That syntax
/// has no escape mechanism, so only ids and plain words are allowed: ASCII letters, digits,
/// `_`, `-`, `.`.
pub fn filter_token(value: &str) -> Result<&str, EscapeError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(value)
    } else {
        Err(EscapeError {
            syntax: "key:value filter",
            reason: "only letters, digits, '_', '-' and '.' are allowed",
        })
    }
}

/// A free-text search term (Moneybird `query=`, IT Glue name filters). The vendor treats it as
/// text to look for, never as syntax, so only control characters are refused; the caller must
/// still match results exactly on its side.
pub fn search_term(value: &str) -> Result<&str, EscapeError> {
    refuse_controls(value, "search term")?;
    if value.trim().is_empty() {
        return Err(EscapeError {
            syntax: "search term",
            reason: "is empty",
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_literals_take_only_guids() {
        let id = "3f2b1c4d-0a1b-4c2d-9e3f-0123456789ab";
        assert_eq!(odata_guid(id).unwrap(), format!("guid'{id}'"));
        for bad in [
            "",
            "3f2b1c4d-0a1b-4c2d-9e3f-0123456789a'",
            "x' or 1 eq 1",
            "3f2b1c4d0a1b4c2d9e3f0123456789ab",
        ] {
            assert!(odata_guid(bad).is_err(), "{bad}");
        }
    }
    use proptest::prelude::*;

    /// A reference OData string-literal parser: returns the value and the rest after the
    /// closing quote.
    fn parse_odata(s: &str) -> Option<(String, &str)> {
        let mut chars = s.char_indices();
        if chars.next()?.1 != '\'' {
            return None;
        }
        let mut value = String::new();
        let bytes = s.as_bytes();
        let mut i = 1;
        while i < s.len() {
            let c = s[i..].chars().next()?;
            if c == '\'' {
                if bytes.get(i + 1) == Some(&b'\'') {
                    value.push('\'');
                    i += 2;
                    continue;
                }
                return Some((value, &s[i + 1..]));
            }
            value.push(c);
            i += c.len_utf8();
        }
        None
    }

    fn parse_kql(s: &str) -> Option<(String, &str)> {
        let mut value = String::new();
        let mut iter = s.char_indices();
        if iter.next()?.1 != '"' {
            return None;
        }
        while let Some((i, c)) = iter.next() {
            match c {
                '\\' => value.push(iter.next()?.1),
                '"' => return Some((value, &s[i + 1..])),
                c => value.push(c),
            }
        }
        None
    }

    const CORPUS: &[&str] = &[
        "x@y.nl' or 'a'='a",
        "x@y.nl&query=",
        "o'brien@example.nl",
        "\"quoted\"@example.nl",
        "a)@x.nl",
        "x@y.nl') or (1 eq 1",
        "x@y.nl or 1 eq 1",
        "''''",
        "\\\"",
    ];

    #[test]
    fn odata_corpus_stays_one_literal() {
        for value in CORPUS {
            let lit = odata_string(value).unwrap();
            let (parsed, rest) = parse_odata(&lit).unwrap();
            assert_eq!(&parsed, value);
            assert!(rest.is_empty(), "literal of {value:?} leaks {rest:?}");
        }
        assert_eq!(odata_string("o'brien@x.nl").unwrap(), "'o''brien@x.nl'");
    }

    #[test]
    fn kql_corpus_stays_one_phrase() {
        for value in CORPUS {
            let phrase = kql_phrase(value).unwrap();
            let (parsed, rest) = parse_kql(&phrase).unwrap();
            assert_eq!(&parsed, value);
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(odata_string("x@y.nl\u{0}").is_err());
        assert!(kql_phrase("x\n@y.nl").is_err());
        assert!(search_term("a\r\nb").is_err());
        assert!(search_term("   ").is_err());
    }

    #[test]
    fn filter_tokens_refuse_syntax() {
        assert_eq!(
            filter_token("264861203795281549").unwrap(),
            "264861203795281549"
        );
        for bad in ["1,state:all", "a:b", "", "x y", "1%2C2"] {
            assert!(filter_token(bad).is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn odata_round_trips(value in "[^\\p{Cc}]{0,40}") {
            let lit = odata_string(&value).unwrap();
            let (parsed, rest) = parse_odata(&lit).unwrap();
            prop_assert_eq!(parsed, value);
            prop_assert!(rest.is_empty());
        }

        #[test]
        fn kql_round_trips(value in "[^\\p{Cc}]{0,40}") {
            let phrase = kql_phrase(&value).unwrap();
            let (parsed, rest) = parse_kql(&phrase).unwrap();
            prop_assert_eq!(parsed, value);
            prop_assert!(rest.is_empty());
        }

        #[test]
        fn filter_tokens_never_contain_separators(value in ".{0,20}") {
            if let Ok(token) = filter_token(&value) {
                prop_assert!(!token.contains(',') && !token.contains(':'));
            }
        }
    }
}
