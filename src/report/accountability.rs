//! The report's accountability section (GDPR art. 5(2)): who verified the subject's identity
//! and when, who approved which plan, each action at a processor with its time and outcome,
//! extensions and a cancellation with their reasons, processors' answers with the hashes of
//! their evidence, and where the request sits in the audit chain.
//!
//! Built from the request's audit entries alone (plus the extensions' reasons, which are told
//! to the requester), so an auditor can check every line against `dsrhub audit <id>`; and
//! nothing here is personal data: notes and reasons that may be appear as their hashes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::ledger::{AuditEntry, ChainHead, Ledger};

/// The accountability section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Accountability {
    /// Each verification of the subject's identity (at intake, or later through the API).
    pub identity: Vec<IdentityCheck>,
    /// Each approval of (part of) an erasure plan.
    pub approvals: Vec<ApprovalLine>,
    /// Each action at a processor: deletions, anonymisations, forwards, failures.
    pub actions: Vec<ActionLine>,
    /// Each extension of the deadline.
    pub extensions: Vec<ExtensionLine>,
    /// The withdrawal, if the request was cancelled.
    pub cancellation: Option<Cancellation>,
    /// The answers of processors without an API, and records handled by hand.
    pub answers: Vec<AnswerLine>,
    /// Letters written to processors and controllers, with their hashes.
    pub letters: Vec<LetterLine>,
    /// The request's place in the audit chain.
    pub audit: AuditAnchor,
}

/// One verification of the subject's identity. How it was done is kept only as a hash (the
/// note may hold a document number); the note itself is purged when the request closes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityCheck {
    /// When it was recorded.
    pub at: String,
    /// Who recorded it ("unrecorded" in ledgers from before this was kept).
    pub by: String,
    /// SHA-256 of the note on how it was verified.
    pub note_sha256: String,
}

/// One approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalLine {
    /// When.
    pub at: String,
    /// Who approved.
    pub approver: String,
    /// The digest of the plan approved (as the dry run showed it).
    pub digest: String,
    /// How many changes that plan makes.
    pub actions: u64,
}

/// One action at a processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionLine {
    /// When its result was recorded.
    pub at: String,
    /// The processor.
    pub processor: String,
    /// The record (`object/id`, with its scope when it has one).
    pub record: String,
    /// What was done (`delete`, `anonymize`, `forward`, …).
    pub action: String,
    /// How it ended (`deleted`, `anonymized`, `failed`, …).
    pub outcome: String,
}

/// One extension of the deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtensionLine {
    /// When.
    pub at: String,
    /// Who gave it.
    pub given_by: String,
    /// The new deadline.
    pub until: String,
    /// Why, as told to the requester.
    pub reason: Option<String>,
    /// SHA-256 of the reason, as the audit log keeps it.
    pub reason_sha256: String,
}

/// The withdrawal of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cancellation {
    /// When.
    pub at: String,
    /// Who withdrew it ("unrecorded" in ledgers from before this was kept).
    pub by: String,
    /// SHA-256 of the reason (the reason itself may name the person).
    pub reason_sha256: String,
}

/// An answer of a processor without an API, or a record handled by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerLine {
    /// When it was recorded.
    pub at: String,
    /// The processor.
    pub processor: String,
    /// The record, when the answer concerns one.
    pub record: Option<String>,
    /// What the processor answered, or what was done.
    pub outcome: String,
    /// SHA-256 of the evidence (the processor's answer, a screenshot), when there was one.
    pub evidence_sha256: Option<String>,
    /// Who recorded it, when known.
    pub by: Option<String>,
}

/// A letter written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LetterLine {
    /// When it was sent (or written, when there is no mail server).
    pub at: String,
    /// Which letter (`applicatielink-request`, `controller-forward`, …).
    pub letter: String,
    /// SHA-256 of each message (the forward to a controller and the reply to the requester).
    pub sha256: Vec<String>,
}

/// Where the request sits in the audit chain: an auditor checks the chain with
/// `dsrhub audit --verify --head <chain_head.hash>`, and a later edit of any entry up to that
/// head shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditAnchor {
    /// How many audit entries the request has.
    pub entries: usize,
    /// The first and last of them (positions in the whole log).
    pub first_seq: Option<i64>,
    /// The last of them.
    pub last_seq: Option<i64>,
    /// The whole chain's last entry when the report was built.
    pub chain_head: Option<ChainHead>,
    /// Whether the whole chain verified when the report was built.
    pub chain_intact: bool,
}

fn text(detail: &Value, key: &str) -> Option<String> {
    match &detail[key] {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The section for request `id`.
pub fn build(ledger: &Ledger, id: &str) -> Result<Accountability> {
    let entries = ledger.audit_entries(Some(id))?;
    let mut out = Accountability {
        audit: AuditAnchor {
            entries: entries.len(),
            first_seq: entries.first().map(|e| e.seq),
            last_seq: entries.last().map(|e| e.seq),
            chain_head: ledger.audit_head()?,
            chain_intact: ledger.verify_audit().is_ok(),
        },
        ..Accountability::default()
    };
    let mut reasons = ledger.extensions(id)?.into_iter();
    for AuditEntry {
        at, event, detail, ..
    } in entries
    {
        let d = &detail;
        match event.as_str() {
            // The empty note's hash: received through the API, not verified yet.
            "request.received"
                if text(d, "identity_verification_sha256").as_deref() != Some(EMPTY_SHA256) =>
            {
                out.identity.push(identity(at, d));
            }
            "identity.verified" => out.identity.push(identity(at, d)),
            "plan.approved" => out.approvals.push(ApprovalLine {
                at,
                approver: text(d, "approver").unwrap_or_default(),
                digest: text(d, "digest").unwrap_or_default(),
                actions: d["actions"].as_u64().unwrap_or(0),
            }),
            "item.done" | "item.failed" => {
                let action = text(d, "action").unwrap_or_default();
                if matches!(action.as_str(), "delete" | "anonymize" | "forward")
                    || event == "item.failed"
                {
                    out.actions.push(ActionLine {
                        at,
                        processor: text(d, "processor").unwrap_or_default(),
                        record: text(d, "record").unwrap_or_default(),
                        action,
                        outcome: text(d, "outcome").unwrap_or_else(|| "failed".into()),
                    });
                }
            }
            "request.extended" => {
                let reason = reasons.next().map(|e| e.reason);
                out.extensions.push(ExtensionLine {
                    at,
                    given_by: text(d, "given_by").unwrap_or_default(),
                    until: text(d, "until").unwrap_or_default(),
                    reason,
                    reason_sha256: text(d, "reason_sha256").unwrap_or_default(),
                });
            }
            "request.cancelled" => {
                out.cancellation = Some(Cancellation {
                    at,
                    by: text(d, "by").unwrap_or_else(|| "unrecorded".into()),
                    reason_sha256: text(d, "reason_sha256").unwrap_or_default(),
                });
            }
            "answer.received" => out.answers.push(AnswerLine {
                at,
                processor: text(d, "processor").unwrap_or_default(),
                record: None,
                outcome: text(d, "state").unwrap_or_default(),
                evidence_sha256: text(d, "evidence_sha256"),
                by: None,
            }),
            "manual.recorded" => out.answers.push(AnswerLine {
                at,
                processor: text(d, "processor").unwrap_or_default(),
                record: text(d, "record"),
                outcome: text(d, "outcome").unwrap_or_default(),
                evidence_sha256: text(d, "evidence_sha256"),
                by: text(d, "by"),
            }),
            "letter.sent" => out.letters.push(LetterLine {
                at,
                letter: format!("{}-request", text(d, "processor").unwrap_or_default()),
                sha256: vec![text(d, "letter_sha256").unwrap_or_default()],
            }),
            "forwarding.sent" => out.letters.push(LetterLine {
                at,
                letter: "controller-forward".into(),
                sha256: d["letters_sha256"]
                    .as_array()
                    .map(|all| {
                        all.iter()
                            .filter_map(|h| h.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            _ => {}
        }
    }
    Ok(out)
}

/// SHA-256 of the empty string: the note of a request not verified at intake.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn identity(at: String, d: &Value) -> IdentityCheck {
    IdentityCheck {
        at,
        by: text(d, "identity_verified_by").unwrap_or_else(|| "unrecorded".into()),
        note_sha256: text(d, "identity_verification_sha256").unwrap_or_default(),
    }
}
