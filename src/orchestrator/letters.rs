//! Processors without an API: the request goes out as a letter, written as an `.eml` file next
//! to the report (ready to send), and the task waits for the processor's answer, which
//! `dsrhub confirm` records.

use std::path::PathBuf;
use std::sync::Arc;

use dsrhub_connector::{Connector, Letter, LetterRequest, Subject};

use super::Hub;
use crate::error::{Error, Result};
use crate::ledger::RequestRow;

impl Hub {
    /// Ask `processor`, which has no API, by letter (for `change`, when the request is not
    /// an access or erasure); the task then waits for its answer.
    pub(super) async fn ask_by_letter(
        &self,
        request: &RequestRow,
        processor: &str,
        connector: &Arc<dyn Connector>,
        subject: &Subject,
        change: Option<&dsrhub_connector::Change>,
    ) -> Result<()> {
        let today = self.today()?;
        let request_due = request
            .extended_due_at
            .unwrap_or(request.due_at)
            .in_tz(&self.timezone)
            .map(|z| z.date())
            .unwrap_or(today);
        let ask = LetterRequest {
            organisation: &self.organisation,
            reply_to: &self.contact_email,
            request_id: &request.id,
            erasure: request.kind == crate::ledger::RequestKind::Erasure,
            change,
            subject,
            request_due,
            today,
        };
        let letter = match connector.request_letter(&ask).await {
            Ok(Some(letter)) => letter,
            Ok(None) => {
                let e = dsrhub_connector::ConnectorError::permanent(
                    "the processor has no API but gave no letter",
                );
                return self.task_failed(
                    &request.id,
                    processor,
                    crate::ledger::Stage::New,
                    "no request letter",
                    &e,
                );
            }
            Err(e) => {
                return self.task_failed(
                    &request.id,
                    processor,
                    crate::ledger::Stage::New,
                    "the request letter could not be written",
                    &e,
                );
            }
        };
        let delivery = self
            .deliver(&request.id, &format!("{processor}-request"), &letter)
            .await?;
        let how = match &delivery.sent {
            Ok(true) if delivery.sent_before => format!(
                "probably sent by e-mail by an earlier run that stopped while sending; not sent \
                 twice (check the outbox for Message-ID <{}.{processor}-request@dsrhub>; copy: {})",
                request.id,
                delivery.file_name()
            ),
            Ok(true) => format!("sent by e-mail on {today} (copy: {})", delivery.file_name()),
            Ok(false) => format!("written on {today} as {}, to be sent", delivery.file_name()),
            Err(why) => {
                let e = dsrhub_connector::ConnectorError::new(
                    dsrhub_connector::ErrorKind::Retryable,
                    format!("the letter could not be sent by e-mail: {why}"),
                );
                // The task keeps its stage, so the next run sends the letter again.
                let stage = self
                    .ledger
                    .tasks(&request.id)?
                    .into_iter()
                    .find(|t| t.processor == processor)
                    .map_or(crate::ledger::Stage::New, |t| t.stage);
                return self.task_failed(&request.id, processor, stage, "letter not sent", &e);
            }
        };
        let digest = delivery.sha256;
        let summary = format!(
            "no API: request letter to {} contact(s) {how}; answer due {}",
            letter.to.len(),
            letter.answer_by
        );
        self.ledger
            .letter_sent(&request.id, processor, letter.answer_by, &summary, &digest)?;
        self.progress.finish(processor, &summary);
        Ok(())
    }

    /// Write `letter` as `<reports_dir>/<request>/<stem>.eml` and, with a mailer, send it.
    pub(super) async fn deliver(
        &self,
        request_id: &str,
        stem: &str,
        letter: &Letter,
    ) -> Result<Delivery> {
        let path = self.write_eml(request_id, stem, letter)?;
        let sha256 = crate::report::export::sha256_file(&path)?;
        let Some(mailer) = &self.mailer else {
            return Ok(Delivery {
                path,
                sha256,
                sent: Ok(false),
                sent_before: false,
            });
        };
        // An e-mail cannot be taken back: the intent is written before it is sent. A run that
        // finds the intent of a letter that was never recorded as sent stopped while sending;
        // the letter most likely went out, and is not sent twice.
        if self.ledger.has_letter_intent(request_id, stem)? {
            return Ok(Delivery {
                path,
                sha256,
                sent: Ok(true),
                sent_before: true,
            });
        }
        self.ledger
            .record_letter_intent(request_id, stem, &sha256)?;
        let sent = mailer
            .send(letter, &format!("<{request_id}.{stem}@dsrhub>"))
            .await
            .map(|()| true);
        if let Err(why) = &sent {
            // Refused by the mail server: nothing went out, so the next run may send it.
            self.ledger.clear_letter_intent(request_id, stem, why)?;
        }
        Ok(Delivery {
            path,
            sha256,
            sent,
            sent_before: false,
        })
    }

    /// The letter as an RFC 5322 message, owner-readable only (it names the subject).
    fn write_eml(&self, request_id: &str, stem: &str, letter: &Letter) -> Result<PathBuf> {
        let dir = self.reports_dir.join(request_id);
        crate::private_files::create_dir(&dir, true)?;
        let path = dir.join(format!("{stem}.eml"));
        let date = jiff::Timestamp::now()
            .strftime("%a, %d %b %Y %H:%M:%S +0000")
            .to_string();
        let body = format!("{}\n", letter.body.trim_end())
            .replace("\r\n", "\n")
            .replace('\n', "\r\n");
        let message = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{request_id}.{stem}@dsrhub>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\
             Content-Language: {language}\r\n\r\n{body}",
            from = self.contact_email,
            to = letter.to.join(", "),
            subject = letter.subject,
            language = letter.language,
        );
        crate::private_files::write(&path, &message)?;
        Ok(path)
    }
}

/// A written (and perhaps sent) letter.
pub(super) struct Delivery {
    /// The `.eml` file.
    pub path: PathBuf,
    /// Its SHA-256, for the audit log.
    pub sha256: String,
    /// `Ok(true)`: sent by e-mail; `Ok(false)`: only written; `Err`: sending failed (scrubbed).
    pub sent: std::result::Result<bool, String>,
    /// Not sent now because a run that stopped while sending had already sent it.
    pub sent_before: bool,
}

impl Delivery {
    /// The file's name.
    pub fn file_name(&self) -> &str {
        self.path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }
}

/// What a processor without an API answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Answer {
    /// It erased the subject's data.
    Deleted,
    /// It keeps (some of) the data under a legal basis.
    Retained,
    /// It holds nothing about the subject.
    NotFound,
    /// It sent the subject's data (access).
    Exported,
    /// It made the change asked (rectification, restriction, its lifting, objection).
    Changed,
}

impl Answer {
    fn as_str(self) -> &'static str {
        match self {
            Answer::Deleted => "deleted",
            Answer::Retained => "retained",
            Answer::NotFound => "not found",
            Answer::Exported => "exported",
            Answer::Changed => "changed",
        }
    }
}

impl Hub {
    /// Record the answer of processor `processor` (one without an API) to request `id`. The
    /// evidence file, if any, is hashed into the audit log; an access export it sent is added
    /// to the request's ZIP. Everything is checked before anything is written.
    pub fn confirm(
        &self,
        id: &str,
        processor: &str,
        answer: Answer,
        evidence: Option<&std::path::Path>,
        note: Option<&str>,
    ) -> Result<crate::ledger::RequestStatus> {
        self.confirm_as(id, processor, answer, evidence, note, &self.operator)
    }

    /// [`Hub::confirm`], recorded as done by `by` (a signed-in dashboard user).
    pub fn confirm_as(
        &self,
        id: &str,
        processor: &str,
        answer: Answer,
        evidence: Option<&std::path::Path>,
        note: Option<&str>,
        by: &str,
    ) -> Result<crate::ledger::RequestStatus> {
        use crate::ledger::{RequestKind, Stage, TaskState};
        let request = self.ledger.request(id)?;
        if request.status.is_closed() {
            return Err(Error::Usage(format!(
                "request {id} is {}: a closed request never changes",
                request.status
            )));
        }
        // No run may conclude the request while the answer is recorded.
        let _lease = super::RunLease::take(&self.ledger, id, &self.owner)?;
        let tasks = self.ledger.tasks(id)?;
        let waiting: Vec<&str> = tasks
            .iter()
            .filter(|t| t.stage == Stage::AwaitingAnswer)
            .map(|t| t.processor.as_str())
            .collect();
        let Some(task) = tasks.iter().find(|t| t.processor == processor) else {
            return Err(Error::Usage(format!(
                "request {id} has no processor `{processor}`; awaiting an answer: {}",
                if waiting.is_empty() {
                    "none".to_string()
                } else {
                    waiting.join(", ")
                }
            )));
        };
        // An answer already recorded may be amended (the earlier one stays in the summary and
        // the audit log) while the request is open.
        let amends = (task.stage == Stage::Answered).then(|| task.summary.clone());
        if task.stage != Stage::AwaitingAnswer && amends.is_none() {
            return Err(Error::Usage(format!(
                "`{processor}` is not awaiting an answer for request {id} (its task is {}); awaiting: {}",
                task.state,
                if waiting.is_empty() { "none".to_string() } else { waiting.join(", ") }
            )));
        }
        let allowed: &[Answer] = match request.kind {
            RequestKind::Erasure => &[Answer::Deleted, Answer::Retained, Answer::NotFound],
            RequestKind::Access => &[Answer::Exported, Answer::NotFound],
            RequestKind::Rectification
            | RequestKind::Restriction
            | RequestKind::Lift
            | RequestKind::Objection => &[Answer::Changed, Answer::NotFound],
        };
        if !allowed.contains(&answer) {
            let names: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
            return Err(Error::Usage(format!(
                "--outcome: an {} request takes {}",
                request.kind,
                names.join(", ")
            )));
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if request.kind.needs_approval() && evidence.is_none() && note.is_none() {
            return Err(Error::Usage(
                "--evidence: an answer to an erasure, rectification, restriction or objection needs the processor's written answer as evidence \
                 (or --no-evidence --reason \"why there is none\")"
                    .into(),
            ));
        }
        let evidence_hash = match evidence {
            Some(path) => {
                if !path.is_file() {
                    return Err(Error::Usage(format!(
                        "--evidence: {} is not a readable file",
                        path.display()
                    )));
                }
                Some(crate::report::export::sha256_file(path)?)
            }
            None => None,
        };
        if answer == Answer::Exported {
            let Some(path) = evidence else {
                return Err(Error::Usage(
                    "--evidence: an exported answer needs the file the processor sent".into(),
                ));
            };
            let zip = self.reports_dir.join(id).join("access-export.zip");
            let name = format!(
                "{processor}/{}",
                path.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("export")
            );
            crate::report::export::ExportWriter::append(&zip, &name, path)?;
        }
        let today = self.today()?;
        let mut summary = format!("answered on {today}: {}", answer.as_str());
        if let Some(hash) = &evidence_hash {
            summary.push_str(&format!("; evidence sha256 {}", &hash[..16]));
        }
        if let Some(note) = note {
            summary.push_str(&format!("; {note}"));
        }
        if let Some(earlier) = amends {
            summary.push_str(&format!("; amends the earlier answer ({earlier})"));
        }
        let state = if answer == Answer::Retained {
            TaskState::Retained
        } else {
            TaskState::Done
        };
        self.ledger.answer_received(
            id,
            processor,
            state,
            &summary,
            evidence_hash.as_deref(),
            by,
        )?;
        if request.kind.changes_fields() {
            // The item that stands for all the subject's data there takes the answer: what a
            // restriction marked this way is what its lift tells the processor to undo.
            let items = self.ledger.items(id, Some(processor))?;
            let asked: Vec<&crate::ledger::ItemRow> = items
                .iter()
                .filter(|i| i.action == crate::ledger::Action::Change)
                .collect();
            let outcome = if answer == Answer::Changed {
                "changed"
            } else {
                "not found"
            };
            self.ledger
                .mark_items(&asked, crate::ledger::ItemState::Done, outcome)?;
        }
        self.conclude(id)
    }
}
