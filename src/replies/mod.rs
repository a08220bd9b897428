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

mod changes;
mod words;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dsrhub_connector::text::{end_sentence, long_date};
use serde::Serialize;

use crate::config::PrivacyConfig;
use crate::error::Result;
use crate::report::pages::escape;
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
    /// Art. 16 and 19: the answer to a rectification.
    Rectification,
    /// Art. 18 and 19: the answer to a restriction.
    Restriction,
    /// Art. 21: the answer to an objection.
    Objection,
    /// Art. 18(3): the restriction is about to be lifted (written for the restriction).
    LiftNotice,
}

impl ReplyKind {
    /// The file stem of its `.eml`.
    pub fn stem(self) -> &'static str {
        match self {
            ReplyKind::Access => "reply-access",
            ReplyKind::Erasure => "reply-erasure",
            ReplyKind::Extension => "reply-extension",
            ReplyKind::Refusal => "reply-refusal",
            ReplyKind::Rectification => "reply-rectification",
            ReplyKind::Restriction => "reply-restriction",
            ReplyKind::Objection => "reply-objection",
            ReplyKind::LiftNotice => "reply-lift-notice",
        }
    }
}

/// What a reply says about one processor, gathered from the ledger in chunks (a request may
/// hold 100,000 records: the reply needs their counts, not their list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessorFacts {
    /// The processor's name.
    pub name: String,
    /// Records per outcome, as the report names outcomes (`found`, `deleted`, `retained`, …).
    pub outcomes: std::collections::BTreeMap<String, usize>,
    /// The categories of the records the person may see.
    pub categories: BTreeSet<dsrhub_connector::Category>,
    /// Kept records one by one, up to [`KEPT_LISTED`] per processor.
    pub kept: Vec<Kept>,
    /// All kept records by object and basis (used when there are more than [`KEPT_LISTED`]).
    pub kept_groups: Vec<KeptGroup>,
}

/// Up to this many kept records of one processor are listed one by one.
pub const KEPT_LISTED: usize = 50;

/// One kept record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Its object type.
    pub object: String,
    /// Its id at the processor.
    pub id: String,
    /// The statute it is kept under.
    pub basis: String,
    /// Kept through this date (`YYYY-MM-DD`).
    pub until: String,
}

/// Kept records of one object type under one basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptGroup {
    /// The object type.
    pub object: String,
    /// The statute.
    pub basis: String,
    /// How many.
    pub count: usize,
    /// The earliest until-date.
    pub first_until: String,
    /// The latest until-date.
    pub last_until: String,
}

/// The request as a reply describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The request's id.
    pub request_id: String,
    /// When it was received (RFC 3339).
    pub received_at: String,
    /// Its deadline, as extended (RFC 3339).
    pub due_at: String,
    /// Per processor.
    pub processors: Vec<ProcessorFacts>,
    /// What a rectification, restriction or objection asked (`None` for access and erasure).
    pub change: Option<dsrhub_connector::Change>,
}

impl ProcessorFacts {
    fn count(&self, outcome: &str) -> usize {
        self.outcomes.get(outcome).copied().unwrap_or(0)
    }

    /// Count one record, in the ledger's order.
    pub fn add(
        &mut self,
        outcome: &str,
        categories: &[dsrhub_connector::Category],
        kept: Option<Kept>,
    ) {
        *self.outcomes.entry(outcome.to_string()).or_default() += 1;
        if disclosed(outcome) {
            self.categories.extend(categories.iter().copied());
        }
        if let Some(kept) = kept {
            match self
                .kept_groups
                .iter_mut()
                .find(|g| g.object == kept.object && g.basis == kept.basis)
            {
                Some(g) => {
                    g.count += 1;
                    g.first_until = g.first_until.clone().min(kept.until.clone());
                    g.last_until = g.last_until.clone().max(kept.until.clone());
                }
                None => self.kept_groups.push(KeptGroup {
                    object: kept.object.clone(),
                    basis: kept.basis.clone(),
                    count: 1,
                    first_until: kept.until.clone(),
                    last_until: kept.until.clone(),
                }),
            }
            if self.kept.len() < KEPT_LISTED {
                self.kept.push(kept);
            }
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
pub fn disclosed(outcome: &str) -> bool {
    !matches!(
        outcome,
        "review" | "deselected" | "withheld" | "not portable"
    )
}

fn opening(w: &Words, facts: &Facts, ctx: &Context<'_>) -> Vec<Block> {
    vec![
        Block::Para(w.dear.into()),
        Block::Para(fill(
            w.received,
            &[("received", &day(&facts.received_at, ctx))],
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

/// Art. 19: every processor was told of the erasure, rectification or restriction.
fn informed(w: &Words, facts: &Facts) -> Vec<Block> {
    vec![
        Block::Heading(w.informed_heading.into()),
        Block::Para(w.informed_text.into()),
        Block::List(facts.processors.iter().map(|p| p.name.clone()).collect()),
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
fn access(facts: &Facts, ctx: &Context<'_>) -> (String, Vec<Block>) {
    let w = words(ctx.language);
    let mut blocks = opening(w, facts, ctx);
    blocks.push(Block::Para(w.access_intro.into()));
    let mut categories = BTreeSet::new();
    let mut rows = Vec::new();
    let mut any_review = false;
    for p in &facts.processors {
        let shown: usize = p
            .outcomes
            .iter()
            .filter(|(o, _)| disclosed(o))
            .map(|(_, n)| n)
            .sum();
        any_review |= p.count("review") + p.count("withheld") > 0;
        if shown == 0 {
            continue;
        }
        let held: BTreeSet<&str> = p
            .categories
            .iter()
            .map(|c| words::category(*c, ctx.language))
            .collect();
        categories.extend(held.iter().copied());
        rows.push(vec![
            p.name.clone(),
            shown.to_string(),
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
fn erasure(facts: &Facts, ctx: &Context<'_>) -> (String, Vec<Block>) {
    let w = words(ctx.language);
    let mut blocks = opening(w, facts, ctx);
    blocks.push(Block::Para(w.erasure_intro.into()));
    let mut rows = Vec::new();
    let mut kept = Vec::new();
    for p in &facts.processors {
        let (deleted, anonymised) = (p.count("deleted"), p.count("anonymized"));
        let mut parts = Vec::new();
        if deleted > 0 {
            parts.push(format!("{deleted} {}", w.erased));
        }
        if anonymised > 0 {
            parts.push(format!("{anonymised} {}", w.anonymised));
        }
        let forwarded = p.count("forwarded");
        if forwarded > 0 {
            let to = ctx.controller.unwrap_or("the controller");
            parts.push(format!("{forwarded} {} {to}", w.forwarded_to));
        }
        let any_disclosed = p.outcomes.keys().any(|o| disclosed(o));
        if parts.is_empty() && !any_disclosed {
            parts.push(w.nothing_held.into());
        }
        if !parts.is_empty() {
            rows.push(vec![p.name.clone(), parts.join(", ")]);
        }
        let total: usize = p.kept_groups.iter().map(|g| g.count).sum();
        if total <= KEPT_LISTED {
            for k in &p.kept {
                kept.push(vec![
                    p.name.clone(),
                    format!("{} {}", k.object.replace('_', " "), k.id),
                    k.basis.clone(),
                    day(&k.until, ctx),
                ]);
            }
        } else {
            for g in &p.kept_groups {
                kept.push(vec![
                    p.name.clone(),
                    format!("{} × {}", g.count, g.object.replace('_', " ")),
                    g.basis.clone(),
                    if g.first_until == g.last_until {
                        day(&g.last_until, ctx)
                    } else {
                        format!("{} – {}", day(&g.first_until, ctx), day(&g.last_until, ctx))
                    },
                ]);
            }
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
    blocks.extend(informed(w, facts));
    blocks.extend(rights(w));
    blocks.extend(closing(w, ctx, false));
    (w.subject_erasure.into(), blocks)
}

/// The extension letter (art. 12(3)).
fn extension(facts: &Facts, ctx: &Context<'_>, reason: &str) -> (String, Vec<Block>) {
    let w = words(ctx.language);
    let until = &facts.due_at;
    let mut blocks = vec![
        Block::Para(w.dear.into()),
        Block::Para(fill(
            w.extension_text,
            &[
                ("received", &day(&facts.received_at, ctx)),
                ("until", &day(until, ctx)),
            ],
        )),
        Block::Para(format!("{} {}", w.extension_reason, reason.trim())),
    ];
    blocks.extend(closing(w, ctx, false));
    (w.subject_extension.into(), blocks)
}

/// The refusal letter (art. 12(4)).
fn refusal(facts: &Facts, ctx: &Context<'_>, reason: &str) -> (String, Vec<Block>) {
    let w = words(ctx.language);
    let mut blocks = vec![
        Block::Para(w.dear.into()),
        Block::Para(fill(
            w.refusal_text,
            &[("received", &day(&facts.received_at, ctx))],
        )),
        Block::Para(format!("{} {}", w.refusal_reason, reason.trim())),
    ];
    blocks.extend(closing(w, ctx, true));
    (w.subject_refusal.into(), blocks)
}

/// Compose reply `kind` for the request `facts` describe; `reason` for an extension or a
/// refusal.
pub fn compose(facts: &Facts, ctx: &Context<'_>, kind: ReplyKind, reason: &str) -> Reply {
    let (subject, blocks) = match kind {
        ReplyKind::Access => access(facts, ctx),
        ReplyKind::Erasure => erasure(facts, ctx),
        ReplyKind::Extension => extension(facts, ctx, reason),
        ReplyKind::Refusal => refusal(facts, ctx, reason),
        ReplyKind::Rectification | ReplyKind::Restriction | ReplyKind::Objection => {
            use dsrhub_connector::Change;
            let fields: Vec<&str> = match &facts.change {
                Some(Change::Rectify { values }) => {
                    values.keys().map(|f| f.label(ctx.language)).collect()
                }
                _ => Vec::new(),
            };
            let right = match (&facts.change, kind) {
                (Some(Change::Object { purpose }), _) => {
                    changes::Right::Objection(purpose.label(ctx.language))
                }
                (_, ReplyKind::Rectification) => changes::Right::Rectification(&fields),
                _ => changes::Right::Restriction,
            };
            changes::answer(facts, ctx, right)
        }
        ReplyKind::LiftNotice => changes::lift_notice(facts, ctx, reason),
    };
    let subject = format!(
        "{subject} - {} {}",
        if ctx.language == "nl" {
            "referentie"
        } else {
            "reference"
        },
        facts.request_id
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
        to_eml(reply, from, to, &format!("{request_id}.{stem}@dsrhub")),
    )?;
    crate::private_files::write(&dir.join(format!("{stem}.html")), &reply.html)?;
    Ok(eml)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(privacy: &'a PrivacyConfig, language: &'a str) -> Context<'a> {
        Context {
            organisation: "Voorbeeld IT Diensten B.V.",
            contact_email: "privacy@voorbeeld-it.example",
            timezone: "Europe/Amsterdam",
            privacy,
            recipients: &[],
            language,
            controller: None,
        }
    }

    /// A mailbox kept by policy holds thousands of messages: the reply lists the first ones one
    /// by one only when there are few, else one line per object and statute with the range of
    /// dates, so it stays a letter.
    #[test]
    fn many_kept_records_are_grouped_by_object_and_statute() {
        let mut few = ProcessorFacts {
            name: "Moneybird".into(),
            ..Default::default()
        };
        let mut many = ProcessorFacts {
            name: "Microsoft 365".into(),
            ..Default::default()
        };
        for i in 0..3 {
            few.add(
                "retained",
                &[],
                Some(Kept {
                    object: "sales_invoice".into(),
                    id: format!("inv-{i}"),
                    basis: "art. 52(4) AWR".into(),
                    until: format!("203{i}-12-31"),
                }),
            );
        }
        for day in 1..=60 {
            many.add(
                "retained",
                &[],
                Some(Kept {
                    object: "message".into(),
                    id: format!("m{day}"),
                    basis: "correspondence, 12 months".into(),
                    until: format!("2027-03-{:02}", day % 28 + 1),
                }),
            );
        }
        let facts = Facts {
            change: None,
            request_id: "r1".into(),
            received_at: "2026-12-06T09:00:00Z".into(),
            due_at: "2027-01-06T09:00:00Z".into(),
            processors: vec![few, many],
        };
        let privacy = PrivacyConfig::default();
        let reply = compose(&facts, &ctx(&privacy, "en"), ReplyKind::Erasure, "");
        for i in 0..3 {
            assert!(reply.text.contains(&format!("sales invoice inv-{i}")));
            assert!(reply.text.contains(&format!("31 December 203{i}")));
        }
        assert!(reply.text.contains("60 × message"), "{}", reply.text);
        assert!(
            reply.text.contains("1 March 2027 – 28 March 2027"),
            "{}",
            reply.text
        );
        assert!(!reply.text.contains("message m1 "));
        assert!(reply.html.contains("<td>60 × message</td>"));
    }
}
