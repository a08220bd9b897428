//! Replies to the data subject, in the request's language (nl, en), as plain text and HTML in
//! one e-mail (`.eml`, multipart/alternative), written next to the report for a person to
//! read and approve, and sent through `[hub.smtp]` by `dsrhub reply <id> --send`.
//!
//! - **access** (art. 15): where data was found, the copy (the export), and the information of
//!   art. 15(1)(a)–(h) and 15(2) from `[privacy]`, the processor register and the processors'
//!   data locations;
//! - **erasure** (art. 17, 19): per processor what was erased, what is kept on which statute
//!   and until when, what was forwarded to whom, and that every processor was informed;
//! - **extension** (art. 12(3)): the new deadline and the reason, written when it is given;
//! - **refusal** (art. 12(4)): the reasons, the right to complain and to go to court.
//!
//! A reply is composed while the request still knows its subject's address (before the
//! identifiers are purged at closure); it holds nothing beyond what the person is entitled to.

mod words;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dsrhub_connector::text::{end_sentence, long_date};
use serde::Serialize;

use crate::config::PrivacyConfig;
use crate::error::Result;
use crate::report::Report;
pub use words::category as category_name;
use words::{words, Words};

/// Which reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// Art. 15: the answer to an access request.
    Access,
    /// Art. 17 and 19: the answer to an erasure request.
    Erasure,
    /// Art. 12(3): the deadline was extended.
    Extension,
    /// Art. 12(4): the request is (partly) refused.
    Refusal,
}

impl ReplyKind {
    /// The file stem of its `.eml`.
    pub fn stem(self) -> &'static str {
        match self {
            ReplyKind::Access => "reply-access",
            ReplyKind::Erasure => "reply-erasure",
            ReplyKind::Extension => "reply-extension",
            ReplyKind::Refusal => "reply-refusal",
        }
    }
}

/// One processor as the reply names it: the register's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Its name.
    pub name: String,
    /// Where it keeps the data, when known.
    pub location: Option<String>,
    /// Whether that is inside the EEA (`None`: unknown).
    pub eea: Option<bool>,
}

/// What a reply needs beyond the report.
pub struct Context<'a> {
    /// The organisation answering.
    pub organisation: &'a str,
    /// Its privacy contact (the sender).
    pub contact_email: &'a str,
    /// The hub's time zone, for dates.
    pub timezone: &'a str,
    /// `[privacy]`.
    pub privacy: &'a PrivacyConfig,
    /// The processor register.
    pub recipients: &'a [Recipient],
    /// The request's language (`nl`, `en`).
    pub language: &'a str,
    /// The controller a part of the request was forwarded to, by name.
    pub controller: Option<&'a str>,
}

/// One block of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Heading(String),
    Para(String),
    List(Vec<String>),
    Table(Vec<String>, Vec<Vec<String>>),
}

/// A composed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Which reply.
    pub kind: ReplyKind,
    /// Its language.
    pub language: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (self-contained, every value escaped).
    pub html: String,
}

fn fill(template: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in pairs {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

/// The day `timestamp` (RFC 3339) was in `timezone`, written out.
fn day(timestamp: &str, ctx: &Context<'_>) -> String {
    timestamp
        .parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| t.in_tz(ctx.timezone).ok())
        .map(|z| long_date(z.date(), ctx.language))
        .or_else(|| {
            timestamp
                .parse::<jiff::civil::Date>()
                .ok()
                .map(|d| long_date(d, ctx.language))
        })
        .unwrap_or_else(|| timestamp.to_string())
}

/// Records the person sees: not the ones matched only by name or phone (review), not the
/// deselected ones.
fn disclosed(outcome: &str) -> bool {
    !matches!(outcome, "review" | "deselected")
}

fn opening(w: &Words, report: &Report, ctx: &Context<'_>) -> Vec<Block> {
    vec![
        Block::Para(w.dear.into()),
        Block::Para(fill(
            w.received,
            &[("received", &day(&report.request.received_at, ctx))],
        )),
    ]
}

fn closing(w: &Words, ctx: &Context<'_>, court: bool) -> Vec<Block> {
    let a = &ctx.privacy.authority;
    let mut complaint = fill(
        w.complaint_text,
        &[
            ("authority", &a.name),
            ("address", &a.address),
            ("website", &a.website),
        ],
    );
    if court {
        complaint = format!("{complaint} {}", w.court_text);
    }
    vec![
        Block::Heading(w.complaint_heading.into()),
        Block::Para(complaint),
        Block::Para(format!(
            "{}\n\n{}\n{}",
            w.regards, ctx.organisation, ctx.contact_email
        )),
    ]
}

fn rights(w: &Words) -> Vec<Block> {
    vec![
        Block::Heading(w.rights_heading.into()),
        Block::List(w.rights.iter().map(|r| r.to_string()).collect()),
    ]
}

fn forwarded(w: &Words, ctx: &Context<'_>) -> Option<Block> {
    ctx.controller.map(|controller| {
        // "… in opdracht van Noorderlicht Zorg B.V. Daarover …": one period after "B.V.".
        let text = fill(w.forwarded_text, &[("controller", controller)]);
        Block::Para(text.replace(&format!("{controller}."), &end_sentence(controller)))
    })
}

/// The access reply (art. 15).
fn access(report: &Report, ctx: &Context<'_>) -> (String, Vec<Block>) {
    let w = words(ctx.language);
    let mut blocks = opening(w, report, ctx);
    blocks.push(Block::Para(w.access_intro.into()));
    let mut categories = BTreeSet::new();
    let mut rows = Vec::new();
    let mut any_review = false;
    for p in &report.processors {
        let shown: Vec<_> = p.records.iter().filter(|r| disclosed(&r.outcome)).collect();
        any_review |= p.records.iter().any(|r| r.outcome == "review");
        if shown.is_empty() {
            continue;
        }
        let mut held = BTreeSet::new();
        for r in &shown {
            for c in &r.categories {
                held.insert(words::category(*c, ctx.language));
                categories.insert(words::category(*c, ctx.language));
            }
        }
        rows.push(vec![
            p.name.clone(),
            shown.len().to_string(),
            held.into_iter().collect::<Vec<_>>().join(", "),
        ]);
    }
    blocks.push(Block::Heading(w.found_heading.into()));
    if rows.is_empty() {
        blocks.push(Block::Para(w.nothing_found.into()));
    } else {
        blocks.push(Block::Table(
            vec![
                w.col_processor.into(),
                w.col_records.into(),
                w.col_categories.into(),
            ],
            rows,
        ));
        blocks.push(Block::Heading(w.copy_heading.into()));
        blocks.push(Block::Para(w.copy_text.into()));
    }
    if any_review {
        blocks.push(Block::Para(w.review_text.into()));
    }
    blocks.extend(forwarded(w, ctx));
    let p = ctx.privacy;
    let lang = ctx.language;
    blocks.push(Block::Heading(w.purposes_heading.into()));
    blocks.push(Block::List(p.purposes.get(lang).to_vec()));
    blocks.push(Block::Heading(w.bases_heading.into()));
    blocks.push(Block::List(p.legal_bases.get(lang).to_vec()));
    blocks.push(Block::Heading(w.categories_heading.into()));
    blocks.push(if categories.is_empty() {
        Block::Para(w.nothing_found.into())
    } else {
        Block::List(categories.into_iter().map(str::to_owned).collect())
    });
    blocks.push(Block::Heading(w.recipients_heading.into()));
    blocks.push(Block::Para(w.recipients_text.into()));
    blocks.push(Block::Table(
        vec![w.col_processor.into(), w.col_location.into()],
        ctx.recipients
            .iter()
            .map(|r| vec![r.name.clone(), r.location.clone().unwrap_or_default()])
            .collect(),
    ));
    blocks.push(Block::Heading(w.retention_heading.into()));
    blocks.push(Block::List(p.retention.get(lang).to_vec()));
    blocks.extend(rights(w));
    blocks.push(Block::Heading(w.source_heading.into()));
    blocks.push(Block::Para(p.source.get(lang).join(" ")));
    blocks.push(Block::Heading(w.automated_heading.into()));
    blocks.push(Block::Para(p.automated_decisions.get(lang).join(" ")));
    blocks.push(Block::Heading(w.transfers_heading.into()));
    let outside: Vec<String> = ctx
        .recipients
        .iter()
        .filter(|r| r.eea == Some(false))
        .map(|r| format!("{} ({})", r.name, r.location.clone().unwrap_or_default()))
        .collect();
    if outside.is_empty() {
        blocks.push(Block::Para(w.no_transfers.into()));
    } else {
        blocks.push(Block::Para(w.transfers_text.into()));
        blocks.push(Block::List(outside));
    }
    blocks.extend(closing(w, ctx, false));
    (w.subject_access.into(), blocks)
}

/// The erasure reply (art. 17, 19).
fn erasure(report: &Report, ctx: &Context<'_>) -> (String, Vec<Block>) {
    let w = words(ctx.language);
    let mut blocks = opening(w, report, ctx);
    blocks.push(Block::Para(w.erasure_intro.into()));
    let mut rows = Vec::new();
    let mut kept = Vec::new();
    for p in &report.processors {
        let count = |outcome: &str| p.records.iter().filter(|r| r.outcome == outcome).count();
        let (deleted, anonymised) = (count("deleted"), count("anonymized"));
        let mut parts = Vec::new();
        if deleted > 0 {
            parts.push(format!("{deleted} {}", w.erased));
        }
        if anonymised > 0 {
            parts.push(format!("{anonymised} {}", w.anonymised));
        }
        let forwarded = count("forwarded");
        if forwarded > 0 {
            let to = ctx.controller.unwrap_or("the controller");
            parts.push(format!("{forwarded} {} {to}", w.forwarded_to));
        }
        if parts.is_empty() && !p.records.iter().any(|r| disclosed(&r.outcome)) {
            parts.push(w.nothing_held.into());
        }
        if !parts.is_empty() {
            rows.push(vec![p.name.clone(), parts.join(", ")]);
        }
        for r in p.records.iter().filter(|r| r.outcome == "retained") {
            kept.push(vec![
                p.name.clone(),
                format!("{} {}", r.object.replace('_', " "), r.id),
                r.basis.clone().unwrap_or_default(),
                r.retain_until
                    .as_deref()
                    .map(|u| day(u, ctx))
                    .unwrap_or_default(),
            ]);
        }
    }
    blocks.push(Block::Heading(w.erased_heading.into()));
    blocks.push(Block::Table(
        vec![w.col_processor.into(), w.col_outcome.into()],
        rows,
    ));
    if !kept.is_empty() {
        blocks.push(Block::Heading(w.kept_heading.into()));
        blocks.push(Block::Para(w.kept_text.into()));
        blocks.push(Block::Table(
            vec![
                w.col_processor.into(),
                w.col_record.into(),
                w.col_basis.into(),
                w.col_until.into(),
            ],
            kept,
        ));
    }
    blocks.extend(forwarded(w, ctx));
    blocks.push(Block::Heading(w.informed_heading.into()));
    blocks.push(Block::Para(w.informed_text.into()));
    blocks.push(Block::List(
        report.processors.iter().map(|p| p.name.clone()).collect(),
    ));
    blocks.extend(rights(w));
    blocks.extend(closing(w, ctx, false));
    (w.subject_erasure.into(), blocks)
}

/// The extension letter (art. 12(3)).
fn extension(report: &Report, ctx: &Context<'_>, reason: &str) -> (String, Vec<Block>) {
    let w = words(ctx.language);
    let until = report
        .request
        .extended_due_at
        .as_deref()
        .unwrap_or(&report.request.due_at);
    let mut blocks = vec![
        Block::Para(w.dear.into()),
        Block::Para(fill(
            w.extension_text,
            &[
                ("received", &day(&report.request.received_at, ctx)),
                ("until", &day(until, ctx)),
            ],
        )),
        Block::Para(format!("{} {}", w.extension_reason, reason.trim())),
    ];
    blocks.extend(closing(w, ctx, false));
    (w.subject_extension.into(), blocks)
}

/// The refusal letter (art. 12(4)).
fn refusal(report: &Report, ctx: &Context<'_>, reason: &str) -> (String, Vec<Block>) {
    let w = words(ctx.language);
    let mut blocks = vec![
        Block::Para(w.dear.into()),
        Block::Para(fill(
            w.refusal_text,
            &[("received", &day(&report.request.received_at, ctx))],
        )),
        Block::Para(format!("{} {}", w.refusal_reason, reason.trim())),
    ];
    blocks.extend(closing(w, ctx, true));
    (w.subject_refusal.into(), blocks)
}

/// Compose reply `kind` for the request `report` describes; `reason` for an extension or a
/// refusal.
pub fn compose(report: &Report, ctx: &Context<'_>, kind: ReplyKind, reason: &str) -> Reply {
    let (subject, blocks) = match kind {
        ReplyKind::Access => access(report, ctx),
        ReplyKind::Erasure => erasure(report, ctx),
        ReplyKind::Extension => extension(report, ctx, reason),
        ReplyKind::Refusal => refusal(report, ctx, reason),
    };
    let subject = format!(
        "{subject} - {} {}",
        if ctx.language == "nl" {
            "referentie"
        } else {
            "reference"
        },
        report.request.id
    );
    Reply {
        kind,
        language: words(ctx.language).lang.into(),
        text: render_text(&blocks),
        html: render_html(&subject, ctx.language, &blocks),
        subject,
    }
}

fn render_text(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(h) => {
                out.push_str(h);
                out.push('\n');
                out.push_str(&"-".repeat(h.chars().count()));
                out.push('\n');
            }
            Block::Para(p) => {
                out.push_str(p);
                out.push_str("\n\n");
            }
            Block::List(items) => {
                for item in items {
                    out.push_str(&format!("  - {item}\n"));
                }
                out.push('\n');
            }
            Block::Table(head, rows) => {
                out.push_str(&format!("  {}\n", head.join(" | ")));
                for row in rows {
                    out.push_str(&format!("  {}\n", row.join(" | ")));
                }
                out.push('\n');
            }
        }
    }
    out.trim_end().to_string() + "\n"
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn render_html(title: &str, language: &str, blocks: &[Block]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:1.5rem auto;padding:0 1rem;line-height:1.5;color:#222}}\
         h2{{font-size:1.1rem;margin-top:1.6rem}}table{{border-collapse:collapse;width:100%;margin:.5rem 0}}\
         th,td{{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}}\
         th{{background:#f4f4f4}}@media (max-width:36rem){{table,tr,td,th{{display:block}}th{{display:none}}td{{border:0;padding:.1rem 0}}tr{{border-bottom:1px solid #ddd;padding:.4rem 0}}}}</style>\n\
         </head>\n<body>\n",
        escape(language),
        escape(title)
    );
    for block in blocks {
        match block {
            Block::Heading(h) => out.push_str(&format!("<h2>{}</h2>\n", escape(h))),
            Block::Para(p) => {
                out.push_str(&format!("<p>{}</p>\n", escape(p).replace('\n', "<br>\n")))
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    out.push_str(&format!("<li>{}</li>\n", escape(item)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(head, rows) => {
                out.push_str("<table>\n<tr>");
                for h in head {
                    out.push_str(&format!("<th>{}</th>", escape(h)));
                }
                out.push_str("</tr>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for cell in row {
                        out.push_str(&format!("<td>{}</td>", escape(cell)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The reply as an RFC 5322 message with a plain-text and an HTML part.
pub fn to_eml(reply: &Reply, from: &str, to: &[String], message_id: &str) -> String {
    let boundary = format!(
        "dsrhub-{}",
        &crate::ledger::sha256_hex(message_id.as_bytes())[..16]
    );
    let date = jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string();
    let crlf = |s: &str| s.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\nContent-Language: {language}\r\n\
         Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n\
         --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{html}\r\n\
         --{boundary}--\r\n",
        to = to.join(", "),
        subject = reply.subject,
        language = reply.language,
        text = crlf(&reply.text),
        html = crlf(&reply.html),
    )
}

/// Write `reply` to `<dir>/<stem>.eml` (and `.html`, for reading in a browser), owner-readable
/// only; returns the `.eml` path.
pub fn write(
    reply: &Reply,
    dir: &Path,
    from: &str,
    to: &[String],
    request_id: &str,
) -> Result<PathBuf> {
    crate::private_files::create_dir(dir, true)?;
    let stem = reply.kind.stem();
    let eml = dir.join(format!("{stem}.eml"));
    crate::private_files::write(
        &eml,
        &to_eml(reply, from, to, &format!("{request_id}.{stem}@dsrhub")),
    )?;
    crate::private_files::write(&dir.join(format!("{stem}.html")), &reply.html)?;
    Ok(eml)
}
