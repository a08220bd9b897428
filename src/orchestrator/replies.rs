//! Writing the replies to the data subject (see [`crate::replies`]) at the right moments: the
//! answer when a request closes (before its identifiers are purged: the reply is addressed to
//! the subject), the extension letter when the deadline is extended, a refusal on demand.
//! Each is written as a draft next to the report; `dsrhub reply <id> --send` sends them once a
//! person has read them.

use std::path::PathBuf;

use super::Hub;
use crate::error::{Error, Result};
use crate::ledger::RequestKind;
use crate::replies::{self, Recipient, ReplyKind};

/// A reply written for a request, and whether it was sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplyDraft {
    /// Its file stem (`reply-access`, …) in the request's folder.
    pub stem: String,
    /// Its language.
    pub language: String,
    /// SHA-256 of the `.eml` as written.
    pub sha256: String,
    /// When it was written.
    pub written_at: String,
    /// When it was sent, and by whose approval.
    pub sent_at: Option<String>,
    /// Who approved sending it.
    pub approved_by: Option<String>,
}

impl Hub {
    /// The replies written for request `id` (the latest of each), from the audit log.
    pub fn replies(&self, id: &str) -> Result<Vec<ReplyDraft>> {
        let mut drafts: Vec<ReplyDraft> = Vec::new();
        // Called for every request on each dashboard view and status listing: only the reply
        // events are read, not the request's whole log.
        for entry in self.ledger.audit_events(id, "reply.")? {
            let d = &entry.detail;
            let stem = d["stem"].as_str().unwrap_or_default().to_string();
            match entry.event.as_str() {
                "reply.written" => {
                    drafts.retain(|x| x.stem != stem);
                    drafts.push(ReplyDraft {
                        stem,
                        language: d["language"].as_str().unwrap_or_default().into(),
                        sha256: d["sha256"].as_str().unwrap_or_default().into(),
                        written_at: entry.at,
                        sent_at: None,
                        approved_by: None,
                    });
                }
                "reply.sent" => {
                    if let Some(draft) = drafts.iter_mut().find(|x| x.stem == stem) {
                        draft.sent_at = Some(entry.at);
                        draft.approved_by = d["approved_by"].as_str().map(str::to_owned);
                    }
                }
                _ => {}
            }
        }
        Ok(drafts)
    }

    /// Send every reply of request `id` not sent yet through `[hub.smtp]`, as `approver`
    /// approved them; the stems sent. What is on disk is sent (a person may have edited the
    /// draft), and its hash recorded.
    pub async fn send_replies(&self, id: &str, approver: &str) -> Result<Vec<String>> {
        let approver = approver.trim();
        if approver.is_empty() || approver.chars().any(char::is_control) {
            return Err(Error::Usage(
                "--approver: name who read and approves the replies".into(),
            ));
        }
        let mailer = self.mailer.as_ref().ok_or_else(|| {
            Error::Usage(
                "hub.smtp is not set: send the reply drafts (.eml) by hand from the request's folder"
                    .into(),
            )
        })?;
        let mut sent = Vec::new();
        for draft in self
            .replies(id)?
            .into_iter()
            .filter(|d| d.sent_at.is_none())
        {
            let path = self
                .reports_dir
                .join(id)
                .join(format!("{}.eml", draft.stem));
            let eml = std::fs::read_to_string(&path).map_err(Error::io("cannot read", &path))?;
            let to: Vec<String> = eml
                .lines()
                .find_map(|l| l.strip_prefix("To: "))
                .map(|t| t.split(',').map(|a| a.trim().to_string()).collect())
                .unwrap_or_default();
            mailer
                .send_eml(&to, &eml)
                .await
                .map_err(|e| Error::Usage(format!("{} could not be sent: {e}", draft.stem)))?;
            let sha256 = crate::ledger::sha256_hex(eml.as_bytes());
            self.ledger.audit(
                Some(id),
                "reply.sent",
                &serde_json::json!({
                    "stem": draft.stem,
                    "sha256": sha256,
                    "edited": sha256 != draft.sha256,
                    "approved_by": approver,
                }),
            )?;
            sent.push(draft.stem);
        }
        Ok(sent)
    }

    /// The processor register as a reply names it: every configured processor with where it
    /// keeps the data (its connector's own description; the last inventory for one disabled).
    pub fn recipients(&self) -> Result<Vec<Recipient>> {
        let inventory = crate::inventory::latest(&self.ledger)?;
        Ok(self
            .processors
            .iter()
            .map(|p| {
                let described = p.connector.as_ref().map(|c| c.describe().location);
                let listed = inventory
                    .as_ref()
                    .and_then(|r| r.entries.iter().find(|e| e.processor == p.id));
                Recipient {
                    name: p.display_name.clone(),
                    location: described
                        .as_ref()
                        .map(|l| l.region.clone())
                        .or_else(|| listed.and_then(|e| e.location.clone())),
                    eea: described
                        .as_ref()
                        .map(|l| l.eea)
                        .or_else(|| listed.and_then(|e| e.eea)),
                }
            })
            .collect())
    }

    /// Compose reply `kind` to request `id` (`reason`: an extension's or a refusal's) and write
    /// it as a draft in the request's folder; the `.eml`'s path. The request must still know
    /// its subject (it is open, or closing now).
    pub fn write_reply(&self, id: &str, kind: ReplyKind, reason: &str) -> Result<PathBuf> {
        let request = self.ledger.request(id)?;
        let subject = self.ledger.subject(id)?;
        let to: Vec<String> = subject.emails.iter().take(1).cloned().collect();
        if to.is_empty() {
            return Err(Error::Usage(format!(
                "request `{id}` has no e-mail address to answer"
            )));
        }
        let facts = self.reply_facts(&request)?;
        let recipients = self.recipients()?;
        let controller = request.controller.as_deref().and_then(|name| {
            self.controllers
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.name.as_str())
        });
        let ctx = replies::Context {
            organisation: &self.organisation,
            contact_email: &self.contact_email,
            timezone: &self.timezone,
            privacy: &self.privacy,
            recipients: &recipients,
            language: &request.language,
            controller: controller.filter(|_| request.forwarded_at.is_some()),
        };
        let reply = replies::compose(&facts, &ctx, kind, reason);
        let dir = self.reports_dir.join(id);
        let path = replies::write(&reply, &dir, &self.contact_email, &to, id)?;
        let sha256 = crate::report::export::sha256_file(&path)?;
        self.ledger.audit(
            Some(id),
            "reply.written",
            &serde_json::json!({
                "reply": kind,
                "stem": kind.stem(),
                "language": reply.language,
                "sha256": sha256,
            }),
        )?;
        Ok(path)
    }

    /// What a reply says about request `request`, gathered from its items a chunk at a time.
    fn reply_facts(&self, request: &crate::ledger::RequestRow) -> Result<replies::Facts> {
        let mut processors = Vec::new();
        for task in self.ledger.tasks(&request.id)? {
            let mut facts = replies::ProcessorFacts {
                name: if task.display_name.is_empty() {
                    task.processor.clone()
                } else {
                    task.display_name.clone()
                },
                ..Default::default()
            };
            let mut after = 0;
            loop {
                let chunk =
                    self.ledger
                        .items_after(&request.id, &task.processor, after, 1000, None)?;
                let Some(last) = chunk.last() else { break };
                after = last.id;
                for item in &chunk {
                    let outcome = crate::report::outcome(item);
                    let kept = (outcome == "retained").then(|| replies::Kept {
                        object: item.reference.object.clone(),
                        id: item.reference.id.clone(),
                        basis: item.basis.clone().unwrap_or_default(),
                        until: item.retain_until.map(|d| d.to_string()).unwrap_or_default(),
                    });
                    facts.add(&outcome, &item.categories, kept);
                }
            }
            processors.push(facts);
        }
        Ok(replies::Facts {
            request_id: request.id.clone(),
            received_at: request.received_at.to_string(),
            due_at: request
                .extended_due_at
                .unwrap_or(request.due_at)
                .to_string(),
            processors,
            change: self
                .ledger
                .request_change(&request.id)?
                .map(|(change, _)| change),
        })
    }

    /// The answer a request gets when it closes: access, erasure, rectification, restriction
    /// or objection. Not for a request whose
    /// data all went to the controller (the forwarding reply told the subject) or one that
    /// was cancelled.
    pub(super) fn write_closing_reply(
        &self,
        id: &str,
        status: crate::ledger::RequestStatus,
    ) -> Result<()> {
        use crate::ledger::RequestStatus;
        if status != RequestStatus::Completed {
            return Ok(());
        }
        // The sweep erased on the policy's own initiative: nobody asked, nobody is answered.
        if self.is_swept(id)? {
            return Ok(());
        }
        let kind = match self.ledger.request(id)?.kind {
            RequestKind::Access => ReplyKind::Access,
            RequestKind::Erasure => ReplyKind::Erasure,
            RequestKind::Rectification => ReplyKind::Rectification,
            RequestKind::Restriction => ReplyKind::Restriction,
            RequestKind::Objection => ReplyKind::Objection,
            // The person was told before the lift (art. 18(3)); the lift has no subject.
            RequestKind::Lift => return Ok(()),
        };
        self.write_reply(id, kind, "").map(drop)
    }
}
