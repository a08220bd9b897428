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
}
