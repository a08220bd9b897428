//! The readable part of the access export: `index.html` and one page per processor, beside the
//! JSON (machine-readable, art. 20) and CSV files in the ZIP. Each record is a table of field
//! labels and values: dates in the hub's time zone, vendor codes decoded where the vendor
//! documents them (Exact Online's OData `/Date(ms)/`), and no API plumbing (`__metadata`,
//! `@odata.*` links, deferred navigation links). Pages are written record by record, so memory
//! stays flat however many records a processor returned.

use std::io::Write;

use serde_json::Value;

/// Keys that are API plumbing, not data about the person.
fn plumbing(key: &str) -> bool {
    key == "__metadata"
        || key == "__deferred"
        || key.starts_with("@odata")
        || key.contains("@odata.")
        || key == "_links"
        || key == "links"
}

/// `camelCase`, `snake_case` or `PascalCase` as words: "emailAddresses" → "email addresses".
fn words(key: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if c == '_' || c == '-' {
            out.push(' ');
            prev_lower = false;
        } else if c.is_uppercase() && prev_lower {
            out.push(' ');
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else {
            out.extend(c.to_lowercase());
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out.trim().to_string()
}

/// A field path as a label: "emailAddresses[0].address" → "Email addresses 1 › address".
pub fn label(path: &str) -> String {
    let parts: Vec<String> = path
        .split('.')
        .map(|segment| {
            let (name, index) = match segment.split_once('[') {
                Some((name, rest)) => (
                    name,
                    rest.trim_end_matches(']')
                        .parse::<usize>()
                        .ok()
                        .map(|i| i + 1),
                ),
                None => (segment, None),
            };
            match index {
                Some(i) if name.is_empty() => i.to_string(),
                Some(i) => format!("{} {i}", words(name)),
                None => words(name),
            }
        })
        .collect();
    let mut text = parts.join(" › ");
    if let Some(first) = text.get(..1) {
        text = first.to_uppercase() + &text[1..];
    }
    text
}

/// A value as a person reads it: `/Date(1526774400000)/` (Exact Online's OData v2 dates) and
/// RFC 3339 timestamps in `timezone`, dates written out, `true`/`false` as yes/no.
pub fn display(value: &Value, timezone: &str) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.into()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(readable_text(s, timezone)),
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        other => Some(other.to_string()),
    }
}

fn readable_text(s: &str, timezone: &str) -> String {
    let local = |at: jiff::Timestamp| {
        at.in_tz(timezone).ok().map(|z| {
            if z.time() == jiff::civil::Time::midnight() {
                dsrhub_connector::text::long_date(z.date(), "en")
            } else {
                format!(
                    "{}, {}",
                    dsrhub_connector::text::long_date(z.date(), "en"),
                    z.strftime("%H:%M")
                )
            }
        })
    };
    if let Some(ms) = s
        .strip_prefix("/Date(")
        .and_then(|r| r.strip_suffix(")/"))
        .map(|r| r.split(['+', '-']).next().unwrap_or(r))
        .and_then(|r| r.parse::<i64>().ok())
    {
        if let Some(text) = jiff::Timestamp::from_millisecond(ms).ok().and_then(local) {
            return text;
        }
    }
    if let Some(text) = s.parse::<jiff::Timestamp>().ok().and_then(local) {
        return text;
    }
    if s.len() == 10 {
        if let Ok(date) = s.parse::<jiff::civil::Date>() {
            return dsrhub_connector::text::long_date(date, "en");
        }
    }
    s.to_string()
}

/// Codes a vendor documents, written out: `(processor, object, field, code, meaning)`.
const CODES: &[(&str, &str, &str, &str, &str)] = &[
    // Exact Online's Account `Status`: the relationship, not whether it is active
    // (../shared/vendors.md, Exact Online: "Status C/P/S is relationship type").
    ("exact-online", "account", "Status", "C", "customer"),
    ("exact-online", "account", "Status", "P", "prospect"),
    ("exact-online", "account", "Status", "S", "suspect"),
];

/// `value` of `field` decoded when the vendor documents the code: "customer (C)".
fn decoded(processor: &str, object: &str, field: &str, value: &str) -> Option<String> {
    CODES
        .iter()
        .find(|(p, o, f, c, _)| *p == processor && *o == object && *f == field && *c == value)
        .map(|(_, _, _, code, meaning)| format!("{meaning} ({code})"))
}

/// Every `(label path, value)` leaf of `value` a person should see, plumbing left out.
fn fields<'a>(path: &str, value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            // A deferred navigation link (`{"__deferred": {"uri": …}}`) is not data.
            if map.len() == 1 && map.contains_key("__deferred") {
                return;
            }
            for (key, inner) in map.iter().filter(|(k, _)| !plumbing(k)) {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                fields(&path, inner, out);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                fields(&format!("{path}[{i}]"), inner, out);
            }
        }
        _ => out.push((path.to_string(), value)),
    }
}

/// HTML-escape `text`.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The pages' shared head: self-contained, readable on a phone (tables scroll inside their
/// box, long values wrap).
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\
         body{{font-family:system-ui,sans-serif;max-width:56rem;margin:1.5rem auto;padding:0 1rem;color:#222;line-height:1.45}}\
         h1{{font-size:1.4rem}}h2{{font-size:1.1rem;margin-top:1.6rem}}\
         .box{{overflow-x:auto}}table{{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}}\
         th,td{{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}}\
         th{{background:#f4f4f4;width:35%}}.note{{color:#555;font-size:.9em}}.flag{{background:#fff2cc}}\
         </style>\n</head>\n<body>\n",
        escape(title)
    )
}

/// One processor's page, written record by record.
pub struct Page<'a, W: Write> {
    out: &'a mut W,
    processor: String,
    timezone: String,
    records: usize,
}

impl<'a, W: Write> Page<'a, W> {
    /// Start the page of processor `processor`, called `name`.
    pub fn start(
        out: &'a mut W,
        processor: &str,
        name: &str,
        timezone: &str,
    ) -> std::io::Result<Self> {
        out.write_all(head(&format!("What {name} holds")).as_bytes())?;
        out.write_all(
            format!(
                "<h1>What {} holds about you</h1>\n<p class=\"note\"><a href=\"index.html\">All processors</a> · dates in {}</p>\n",
                escape(name),
                escape(timezone)
            )
            .as_bytes(),
        )?;
        Ok(Page {
            out,
            processor: processor.to_string(),
            timezone: timezone.to_string(),
            records: 0,
        })
    }

    /// One record: a JSON line of the staging file (`{"object", "id", "scope", "data"}`).
    pub fn record(&mut self, line: &Value) -> std::io::Result<()> {
        self.records += 1;
        let object = line["object"].as_str().unwrap_or("record");
        let id = line["id"].as_str().unwrap_or("");
        writeln!(
            self.out,
            "<h2>{} <span class=\"note\">{}</span></h2>\n<div class=\"box\"><table>",
            escape(&label(object)),
            escape(id)
        )?;
        let mut leaves = Vec::new();
        fields("", &line["data"], &mut leaves);
        for (path, value) in leaves {
            let code = value
                .as_str()
                .and_then(|v| decoded(&self.processor, object, &path, v));
            if let Some(text) = code.or_else(|| display(value, &self.timezone)) {
                writeln!(
                    self.out,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(&label(&path)),
                    escape(&text).replace('\n', "<br>")
                )?;
            }
        }
        self.out.write_all(b"</table></div>\n")
    }

    /// End the page; how many records it shows.
    pub fn finish(self) -> std::io::Result<usize> {
        if self.records == 0 {
            self.out
                .write_all(b"<p>Nothing was found about you here.</p>\n")?;
        }
        self.out.write_all(b"</body>\n</html>\n")?;
        Ok(self.records)
    }
}

/// A record flagged for review before the export is released: it names other people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged {
    /// The processor's display name.
    pub processor: String,
    /// The record (`object:id`).
    pub record: String,
    /// Why.
    pub note: String,
}

/// `index.html`: what each processor holds (linking its page), the review list, and what the
/// files are.
pub fn index(
    organisation: &str,
    request_id: &str,
    processors: &[(String, String, usize)],
    flagged: &[Flagged],
    flagged_total: usize,
) -> String {
    let mut out = head("Your personal data");
    out.push_str(&format!(
        "<h1>Your personal data held by {}</h1>\n<p class=\"note\">Request {}</p>\n",
        escape(organisation),
        escape(request_id)
    ));
    out.push_str(
        "<div class=\"box\"><table>\n<tr><th>Processor</th><td><b>Records</b></td></tr>\n",
    );
    for (file, name, records) in processors {
        out.push_str(&format!(
            "<tr><th><a href=\"{}.html\">{}</a></th><td>{records}</td></tr>\n",
            escape(file),
            escape(name)
        ));
    }
    out.push_str("</table></div>\n");
    if !flagged.is_empty() {
        out.push_str(
            "<h2>Reviewed before release</h2>\n<p>These records also name other people. The \
             organisation checked them before releasing this export (GDPR art. 15(4)); what \
             could not be shown without harming others was left out.</p>\n\
             <div class=\"box\"><table>\n",
        );
        for f in flagged {
            out.push_str(&format!(
                "<tr class=\"flag\"><th>{} {}</th><td>{}</td></tr>\n",
                escape(&f.processor),
                escape(&f.record),
                escape(&f.note)
            ));
        }
        out.push_str("</table></div>\n");
        if flagged_total > flagged.len() {
            out.push_str(&format!(
                "<p class=\"note\">The first {} of {flagged_total} such records; the request's \
                 report lists them all.</p>\n",
                flagged.len()
            ));
        }
    }
    out.push_str(
        "<h2>The files</h2>\n<p>For each processor: a page to read (linked above), a JSON file \
         with every field as the processor returned it (machine-readable, to take to another \
         party: GDPR art. 20) and a CSV file with one row per value.</p>\n</body>\n</html>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_read_as_words() {
        assert_eq!(
            label("emailAddresses[0].address"),
            "Email addresses 1 › address"
        );
        assert_eq!(label("send_invoices_to_email"), "Send invoices to email");
        assert_eq!(label("BusinessEmail"), "Business email");
    }

    #[test]
    fn vendor_dates_and_plumbing() {
        let tz = "Europe/Amsterdam";
        assert_eq!(
            display(&json!("/Date(1526774400000)/"), tz).unwrap(),
            "20 May 2018, 02:00"
        );
        assert_eq!(
            display(&json!("2026-11-25T09:30:00Z"), tz).unwrap(),
            "25 November 2026, 10:30"
        );
        assert_eq!(display(&json!("2025-03-01"), tz).unwrap(), "1 March 2025");
        assert_eq!(display(&json!(true), tz).unwrap(), "yes");
        assert_eq!(display(&json!(""), tz), None);
        let mut out = Vec::new();
        let data = json!({
            "__metadata": {"uri": "https://start.exactonline.nl/api/v1/1/crm/Accounts(guid'x')"},
            "@odata.etag": "W/\"1\"",
            "Name": "Sanne",
            "Contacts": {"__deferred": {"uri": "https://internal.example"}},
        });
        fields("", &data, &mut out);
        let paths: Vec<&str> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, vec!["Name"]);
    }

    #[test]
    fn a_page_escapes_and_shows_labels() {
        let mut out = Vec::new();
        let mut page =
            Page::start(&mut out, "exact-online", "Exact Online", "Europe/Amsterdam").unwrap();
        page.record(
            &json!({"object": "contact", "id": "1", "data": {"firstName": "<b>Sanne</b>"}}),
        )
        .unwrap();
        page.record(&json!({"object": "account", "id": "2", "data": {"Status": "C"}}))
            .unwrap();
        assert_eq!(page.finish().unwrap(), 2);
        let html = String::from_utf8(out).unwrap();
        assert!(
            html.contains("<th>Status</th><td>customer (C)</td>"),
            "{html}"
        );
        assert!(
            html.contains("<th>First name</th><td>&lt;b&gt;Sanne&lt;/b&gt;</td>"),
            "{html}"
        );
    }
}
