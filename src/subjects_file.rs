//! The list of subjects a batch is opened from (`--subjects FILE`): CSV with a header, or JSON
//! lines, one subject per line.
//!
//! - **CSV**: the first line names the columns, `email`, `phone` and `name` (any order, each
//!   may repeat: `email,email,name`); each following line is one subject. Fields may be quoted
//!   (`"Bakker, Sanne"`, a quote doubled inside). Empty fields are left out.
//! - **JSON lines** (the first non-blank line starts with `{`): one object per line with
//!   `email`/`emails`, `phone`/`phones`, `name`/`names`, each a string or a list of strings.
//!
//! Blank lines and lines starting with `#` are skipped. Every subject needs an e-mail address
//! (only exact address matches are ever erased); one subject on two lines is refused (two
//! requests would act on the same records). Errors name the file's line and the column or key,
//! never the value: it is personal data.

use dsrhub_connector::Subject;

use crate::error::{Error, Result};
use crate::orchestrator::batch::BatchSubject;

/// The subjects in `text` (the file `name`, for messages).
pub fn parse(name: &str, text: &str) -> Result<Vec<BatchSubject>> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let Some((_, first)) = lines.first() else {
        return Err(Error::Usage(format!(
            "--subjects {name}: the file names nobody"
        )));
    };
    let fail =
        |line: usize, what: String| Error::Usage(format!("--subjects {name} line {line}: {what}"));
    let subjects = if first.trim_start().starts_with('{') {
        lines
            .iter()
            .map(|(line, text)| {
                json_line(text)
                    .map_err(|e| fail(*line, e))
                    .map(|s| (*line, s))
            })
            .collect::<Result<Vec<_>>>()?
    } else {
        let (header_line, header) = lines[0];
        let columns: Vec<String> = fields(header)
            .map_err(|e| fail(header_line, e))?
            .into_iter()
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        for (i, c) in columns.iter().enumerate() {
            if !matches!(c.as_str(), "email" | "phone" | "name") {
                return Err(fail(
                    header_line,
                    format!(
                        "column {} is `{}`; the first line names the columns: email, phone, name",
                        i + 1,
                        c.chars().take(40).collect::<String>()
                    ),
                ));
            }
        }
        if !columns.iter().any(|c| c == "email") {
            return Err(fail(header_line, "no `email` column".into()));
        }
        lines[1..]
            .iter()
            .map(|(line, text)| {
                let values = fields(text).map_err(|e| fail(*line, e))?;
                if values.len() > columns.len() {
                    return Err(fail(
                        *line,
                        format!(
                            "{} fields, but the header names {}",
                            values.len(),
                            columns.len()
                        ),
                    ));
                }
                let mut subject = Subject::default();
                for (column, value) in columns.iter().zip(values) {
                    let value = value.trim().to_string();
                    if value.is_empty() {
                        continue;
                    }
                    match column.as_str() {
                        "email" => subject.emails.push(value),
                        "phone" => subject.phones.push(value),
                        _ => subject.names.push(value),
                    }
                }
                Ok((*line, subject))
            })
            .collect::<Result<Vec<_>>>()?
    };
    let mut out: Vec<BatchSubject> = Vec::with_capacity(subjects.len());
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (line, subject) in subjects {
        let subject = crate::identifiers::normalize_subject(&subject).map_err(|refused| {
            let field = refused
                .field
                .replace("--email", "email")
                .replace("--phone", "phone")
                .replace("--name", "name");
            fail(line, format!("{field}: {}", refused.message))
        })?;
        for email in &subject.emails {
            if let Some(earlier) = seen.insert(email.to_lowercase(), line) {
                return Err(fail(
                    line,
                    format!("the same e-mail address as line {earlier}: one subject, one line"),
                ));
            }
        }
        out.push(BatchSubject { line, subject });
    }
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "--subjects {name}: the file names nobody"
        )));
    }
    Ok(out)
}

/// One CSV line's fields (RFC 4180 quoting, within the line).
fn fields(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if at_start => quoted = true,
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            c => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("a quoted field is not closed (a field cannot span lines)".into());
    }
    fields.push(field);
    Ok(fields)
}

/// One JSON line's subject.
fn json_line(text: &str) -> std::result::Result<Subject, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("not a JSON object: {}", e.classify_name()))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let mut subject = Subject::default();
    for (key, value) in object {
        let target = match key.as_str() {
            "email" | "emails" => &mut subject.emails,
            "phone" | "phones" => &mut subject.phones,
            "name" | "names" => &mut subject.names,
            other => {
                return Err(format!(
                    "key `{}`; a subject has email(s), phone(s) and name(s)",
                    other.chars().take(40).collect::<String>()
                ))
            }
        };
        match value {
            serde_json::Value::String(s) => target.push(s.clone()),
            serde_json::Value::Array(items) => {
                for item in items {
                    target.push(
                        item.as_str()
                            .ok_or_else(|| format!("`{key}`: strings only"))?
                            .to_string(),
                    );
                }
            }
            _ => return Err(format!("`{key}`: a string or a list of strings")),
        }
    }
    Ok(subject)
}

/// serde_json's error category, without the text (which may quote the line).
trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "a syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "it ends too early",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(subjects: &[BatchSubject]) -> Vec<(usize, Vec<String>)> {
        subjects
            .iter()
            .map(|s| (s.line, s.subject.emails.clone()))
            .collect()
    }

    #[test]
    fn csv_with_a_header_quotes_and_repeated_columns() {
        let text = "Email,email,name,phone\r\n\
                    sanne.bakker@example.nl,sanne@bakkerfotografie.example,\"Bakker, Sanne\",\n\
                    # a comment\n\
                    \n\
                    jan.devries@EXAMPLE.nl,,\"Jan \"\"JJ\"\" de Vries\",06-12345678\n";
        let subjects = parse("leavers.csv", text).unwrap();
        assert_eq!(
            emails(&subjects),
            [
                (
                    2,
                    vec![
                        "sanne.bakker@example.nl".to_string(),
                        "sanne@bakkerfotografie.example".to_string()
                    ]
                ),
                (5, vec!["jan.devries@example.nl".to_string()]),
            ]
        );
        assert_eq!(subjects[0].subject.names, ["Bakker, Sanne"]);
        assert_eq!(subjects[1].subject.names, ["Jan \"JJ\" de Vries"]);
        assert_eq!(subjects[1].subject.phones, ["06-12345678"]);
    }

    #[test]
    fn json_lines() {
        let text = "{\"email\": \"a@example.nl\"}\n{\"emails\": [\"b@example.nl\", \"c@example.nl\"], \"name\": \"B\"}\n";
        let subjects = parse("x.jsonl", text).unwrap();
        assert_eq!(subjects.len(), 2);
        assert_eq!(subjects[1].subject.emails.len(), 2);
        assert_eq!(subjects[1].line, 2);
    }

    #[test]
    fn errors_name_the_line_and_the_field_never_the_value() {
        let cases = [
            ("email\nnot-an-address\n", "line 2: email #1"),
            ("name\nSanne\n", "line 1: no `email` column"),
            ("email,fax\na@b.nl,1\n", "line 1: column 2 is `fax`"),
            ("email\na@b.nl,extra\n", "line 2: 2 fields"),
            ("email\n\"a@b.nl\n", "line 2: a quoted field is not closed"),
            (
                "email\na@b.nl\nA@B.NL\n",
                "line 3: the same e-mail address as line 2",
            ),
            ("email,name\n,Sanne Bakker\n", "line 2: email: at least one"),
            ("{\"email\": 5}\n", "line 1: `email`: a string"),
            ("{\"fax\": \"x\"}\n", "line 1: key `fax`"),
            ("{\"email\": \"secret@x.nl\"\n", "line 1: not a JSON object"),
            ("# only a comment\n\n", "names nobody"),
        ];
        for (text, expected) in cases {
            let err = parse("list.csv", text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
            assert!(err.contains("--subjects list.csv"), "{err}");
            assert!(
                !err.contains("not-an-address") && !err.contains("secret@"),
                "{err}"
            );
        }
    }
}
