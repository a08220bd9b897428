//! The slice of KQL `$search` Graph clients send for messages: quoted phrases joined by `OR`,
//! each optionally restricted to `participants:`, `from:`, `to:` or `cc:`. A phrase matches
//! when every word of it appears among the words of one participant (address or display
//! name), the way Exchange's word index behaves; a phrase without a property also searches the
//! subject. Search is a coarse pre-filter in Graph too: clients must check matches themselves.

use serde_json::Value;

/// One phrase.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    property: Option<String>,
    words: Vec<String>,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Parse `"participants:a@b.nl" OR "c@d.nl"`.
pub fn parse(input: &str) -> Result<Vec<Phrase>, String> {
    let chars: Vec<char> = input.trim().chars().collect();
    let mut phrases = Vec::new();
    let mut i = 0;
    loop {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if chars.get(i) != Some(&'"') {
            return Err("a search phrase must be quoted".into());
        }
        i += 1;
        let mut text = String::new();
        loop {
            match chars.get(i) {
                None => return Err("unterminated search phrase".into()),
                Some('\\') => {
                    text.push(*chars.get(i + 1).ok_or("dangling escape")?);
                    i += 2;
                }
                Some('"') => {
                    i += 1;
                    break;
                }
                Some(c) => {
                    text.push(*c);
                    i += 1;
                }
            }
        }
        let (property, value) = match text.split_once(':') {
            Some((p, v)) if matches!(p, "participants" | "from" | "to" | "cc") => {
                (Some(p.to_string()), v.to_string())
            }
            _ => (None, text),
        };
        phrases.push(Phrase {
            property,
            words: words(&value),
        });
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if i >= chars.len() {
            return Ok(phrases);
        }
        let rest: String = chars[i..].iter().take(2).collect();
        if rest != "OR" {
            return Err("phrases are joined by OR".into());
        }
        i += 2;
    }
}

fn people<'a>(message: &'a Value, fields: &[&str]) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for f in fields {
        match message.get(*f) {
            Some(Value::Array(list)) => out.extend(list.iter()),
            Some(one @ Value::Object(_)) => out.push(one),
            _ => {}
        }
    }
    out
}

/// A whole message `$search`: phrases joined by `OR` (in parentheses when more follows), then
/// optionally `AND received>=YYYY-MM-DD` and `AND received<YYYY-MM-DD`, the KQL date
/// restrictions clients use to split a search that would exceed Graph's 1,000 results.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The phrases; a message matches one of them.
    pub phrases: Vec<Phrase>,
    /// Received on or after this day.
    pub received_from: Option<jiff::civil::Date>,
    /// Received before this day.
    pub received_before: Option<jiff::civil::Date>,
}

impl Query {
    /// Parse a `$search` value.
    pub fn parse(input: &str) -> Result<Query, String> {
        let input = input.trim();
        let (phrases, rest) = if input.starts_with('(') {
            let close = closing_paren(input).ok_or("unbalanced parentheses")?;
            (&input[1..close], &input[close + 1..])
        } else {
            match input.find(" AND ") {
                Some(i) => (&input[..i], &input[i..]),
                None => (input, ""),
            }
        };
        let mut query = Query {
            phrases: parse(phrases)?,
            received_from: None,
            received_before: None,
        };
        for clause in rest.split(" AND ").map(str::trim).filter(|c| !c.is_empty()) {
            let day = |d: &str| d.parse::<jiff::civil::Date>().map_err(|e| e.to_string());
            if let Some(d) = clause.strip_prefix("received>=") {
                query.received_from = Some(day(d)?);
            } else if let Some(d) = clause.strip_prefix("received<") {
                query.received_before = Some(day(d)?);
            } else {
                return Err(format!("unsupported restriction `{clause}`"));
            }
        }
        Ok(query)
    }

    /// Whether the day a message was received (UTC) is inside the date restrictions.
    pub fn in_window(&self, received: jiff::civil::Date) -> bool {
        self.received_from.is_none_or(|from| received >= from)
            && self.received_before.is_none_or(|before| received < before)
    }
}

/// The index of the `)` closing the `(` at 0, quotes respected.
fn closing_paren(input: &str) -> Option<usize> {
    let mut depth = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether `message` matches any phrase.
pub fn matches(phrases: &[Phrase], message: &Value) -> bool {
    phrases.iter().any(|phrase| {
        let fields: &[&str] = match phrase.property.as_deref() {
            Some("from") => &["from"],
            Some("to") => &["toRecipients"],
            Some("cc") => &["ccRecipients"],
            _ => &["from", "toRecipients", "ccRecipients", "bccRecipients"],
        };
        let mut haystacks: Vec<Vec<String>> = people(message, fields)
            .into_iter()
            .map(|p| {
                let e = p.get("emailAddress").unwrap_or(&Value::Null);
                let mut w = words(e.get("address").and_then(Value::as_str).unwrap_or(""));
                w.extend(words(e.get("name").and_then(Value::as_str).unwrap_or("")));
                w
            })
            .collect();
        if phrase.property.is_none() {
            haystacks.push(words(
                message.get("subject").and_then(Value::as_str).unwrap_or(""),
            ));
        }
        haystacks
            .iter()
            .any(|hay| phrase.words.iter().all(|w| hay.contains(w)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn participants_phrases() {
        let m = json!({"from": {"emailAddress": {"name": "Jan", "address": "jan.janssen@example.nl"}},
                       "toRecipients": [{"emailAddress": {"address": "bram@x.example"}}]});
        assert!(!matches(
            &parse(r#""participants:jan.jansen@example.nl""#).unwrap(),
            &m
        ));
        assert!(matches(
            &parse(r#""x@y" OR "participants:jan.janssen@example.nl""#).unwrap(),
            &m
        ));
        assert!(matches(&parse(r#""to:bram@x.example""#).unwrap(), &m));
        assert!(parse(r#""a\" or \"\"=\"""#).is_ok());
        assert!(parse("unquoted").is_err());
    }

    #[test]
    fn date_restrictions_split_a_search() {
        let q = Query::parse(
            r#"("participants:a@b.nl" OR "participants:c@d.nl") AND received>=2026-01-01 AND received<2026-02-01"#,
        )
        .unwrap();
        assert_eq!(q.phrases.len(), 2);
        assert!(q.in_window(jiff::civil::date(2026, 1, 31)));
        assert!(!q.in_window(jiff::civil::date(2026, 2, 1)));
        assert!(!q.in_window(jiff::civil::date(2025, 12, 31)));
        let plain = Query::parse(r#""participants:a@b.nl""#).unwrap();
        assert!(plain.received_from.is_none() && plain.in_window(jiff::civil::date(1999, 1, 1)));
        assert!(Query::parse(r#""a" AND size>10"#).is_err());
    }
}
