//! Access (art. 15, with art. 20 portability): discover → export → ZIP.

use std::path::Path;

use dsrhub_connector::{Portable, Subject};
use futures_util::future::join_all;

use super::{Hub, RunOptions};
use crate::error::{Error, Result};
use crate::ledger::{
    Action, ItemRow, ItemState, RequestRow, RequestStatus, Stage, TaskRow, TaskState,
};

/// The outcome of a record deleted at the processor between discovery and export.
pub(crate) const GONE: &str = "gone since discovery";

/// Records exported (and held in memory) at a time.
const EXPORT_CHUNK: usize = 100;

use crate::report::export::{ExportWriter, Staging};

impl Hub {
    pub(super) async fn run_access(
        &self,
        request: &RequestRow,
        options: &RunOptions,
    ) -> Result<()> {
        let id = request.id.as_str();
        let export_dir = options.export_dir.clone().ok_or_else(|| {
            Error::Usage("an access request needs a folder for its export".into())
        })?;
        let staging = Staging::new(&export_dir.join(".staging"))?;
        let subject = self.ledger.subject(id)?;
        self.transition(id, crate::lifecycle::Event::Start, true)?;
        let tasks = self.ledger.tasks(id)?;
        join_all(
            tasks
                .iter()
                .filter(|t| {
                    let todo = match t.stage {
                        Stage::Exported | Stage::AwaitingAnswer | Stage::Answered => false,
                        Stage::Skipped => self.needs_discovery(t),
                        _ => true,
                    };
                    todo && !self.waiting(t)
                })
                .map(|t| {
                    self.watched(
                        &t.processor,
                        self.export_task(
                            request,
                            t,
                            &subject,
                            &staging,
                            options.discovered.as_deref(),
                        ),
                    )
                }),
        )
        .await
        .into_iter()
        .collect::<Result<Vec<()>>>()?;
        // A customer's data subject: what is held for the customer is not disclosed by us but
        // forwarded to the customer (the controller).
        if let Some(controller) = self.decide_forwarding(request, &subject)? {
            let items = self.ledger.items(id, None)?;
            for task in self.ledger.tasks(id)? {
                let held: Vec<_> = items
                    .iter()
                    .filter(|i| i.processor == task.processor)
                    .collect();
                let forwarded = held.iter().any(|i| i.action == Action::Forward);
                if task.stage == Stage::Exported && task.state != TaskState::Forwarded && forwarded
                {
                    let summary = format!(
                        "found {} record(s) held for {}: forwarded to them",
                        held.len(),
                        controller.name
                    );
                    self.ledger.set_task(
                        id,
                        &task.processor,
                        TaskState::Forwarded,
                        Stage::Exported,
                        &summary,
                        None,
                    )?;
                }
            }
            self.forward(id, &controller, &subject).await?;
        }
        let status = self.conclude_access(id, &export_dir, &staging)?;
        if status.is_closed() {
            staging.remove()?;
        }
        Ok(())
    }

    async fn export_task(
        &self,
        request: &RequestRow,
        task: &TaskRow,
        subject: &Subject,
        staging: &Staging,
        discovered: Option<&super::batch::Discovered>,
    ) -> Result<()> {
        let id = request.id.as_str();
        let processor = task.processor.as_str();
        let Some(connector) = self.connector_or_skip(id, processor)? else {
            return Ok(());
        };
        if connector.by_letter() {
            return self
                .ask_by_letter(request, processor, connector, subject, None)
                .await;
        }
        // Records become ledger items as they arrive; the export then walks the items in
        // chunks, so neither all records, all items nor all bodies are ever held at once.
        let Some(counts) = self
            .discover_into_ledger(
                id,
                processor,
                connector,
                subject,
                discovered,
                &crate::policy::access_item,
            )
            .await?
        else {
            return Ok(());
        };
        let found = counts.get(Action::Export.as_str()).copied().unwrap_or(0);
        let review = counts.values().sum::<usize>() - found;
        self.progress
            .update(processor, &format!("exporting {found} record(s)"));
        // Exporting is read-only, so a resumed run simply starts this processor's files over.
        let mut writer = staging.writer(processor)?;
        let mut after = 0;
        let mut gone_total = 0;
        // Art. 20: only what the person provided, as the connector knows it.
        let portable = self.ledger.is_portable(id)?;
        let mut not_portable_total = 0;
        loop {
            let chunk = self
                .ledger
                .items_after(id, processor, after, EXPORT_CHUNK, None)?;
            let Some(last) = chunk.last() else { break };
            after = last.id;
            let (to_export, loose): (Vec<&ItemRow>, Vec<&ItemRow>) =
                chunk.iter().partition(|i| i.action == Action::Export);
            self.ledger.mark_items(&loose, ItemState::Done, "review")?;
            let references: Vec<_> = to_export.iter().map(|i| i.reference.clone()).collect();
            let results = connector.export_batch(&references).await;
            let mut gone = Vec::new();
            let mut written = Vec::new();
            let mut notes = Vec::new();
            let mut not_portable = Vec::new();
            for (item, result) in to_export.iter().zip(results) {
                match result {
                    Ok(mut exported) => {
                        if portable {
                            match connector.portable(&item.reference.object) {
                                Portable::All => {}
                                Portable::Fields(fields) => narrow(&mut exported.data, fields),
                                Portable::Not(why) => {
                                    not_portable.push(*item);
                                    notes.push((
                                        *item,
                                        format!("not in the portable export: {why}"),
                                    ));
                                    continue;
                                }
                            }
                        }
                        writer.write(&exported)?;
                        written.push(*item);
                        let others = other_people(&exported.data, subject);
                        if others > 0 {
                            notes.push((*item, names_others_note(others)));
                        }
                    }
                    // Deleted at the processor since discovery (by someone else, or an erasure
                    // of the same person): nothing of it is held any more, the rest is exported.
                    Err(e) if e.kind == dsrhub_connector::ErrorKind::NotFound => gone.push(*item),
                    Err(e) => {
                        self.ledger.fail_item(item, &e)?;
                        writer.abandon()?;
                        return self.task_failed(id, processor, Stage::New, "export failed", &e);
                    }
                }
            }
            // Written to the staging file before it is recorded as done.
            self.ledger.note_items(&notes)?;
            self.ledger.mark_items(&written, ItemState::Done, "found")?;
            self.ledger.mark_items(&gone, ItemState::Done, GONE)?;
            self.ledger
                .mark_items(&not_portable, ItemState::Done, NOT_PORTABLE)?;
            gone_total += gone.len();
            not_portable_total += not_portable.len();
        }
        writer.finish()?;
        let mut summary = match (found - gone_total - not_portable_total, review) {
            (0, 0) => "nothing found: no match".to_string(),
            (f, 0) => format!("found {f} record(s)"),
            (f, r) => format!("found {f} record(s); {r} loose match(es) for review, not disclosed"),
        };
        if gone_total > 0 {
            summary.push_str(&format!("; {gone_total} gone since discovery"));
        }
        if not_portable_total > 0 {
            summary.push_str(&format!(
                "; {not_portable_total} not in the portable export (not provided by the person)"
            ));
        }
        self.progress.finish(processor, &summary);
        self.ledger.set_task(
            id,
            processor,
            TaskState::Done,
            Stage::Exported,
            &summary,
            None,
        )
    }

    /// Build the ZIP from every exported processor, then settle the request.
    fn conclude_access(
        &self,
        id: &str,
        export_dir: &Path,
        staging: &Staging,
    ) -> Result<RequestStatus> {
        let tasks = self.ledger.tasks(id)?;
        let exported: Vec<&str> = tasks
            .iter()
            .filter(|t| t.stage == Stage::Exported && t.state != TaskState::Forwarded)
            .map(|t| t.processor.as_str())
            .collect();
        let zip_path = export_dir.join("access-export.zip");
        let names = tasks
            .iter()
            .map(|t| (t.processor.clone(), t.display_name.clone()))
            .filter(|(_, name)| !name.is_empty())
            .collect();
        // The first of the records that name other people (a mailbox may hold thousands; the
        // report lists every one).
        let (noted, flagged_total) = self.ledger.items_noted(id, NAMES_OTHERS, FLAGS_LISTED)?;
        let flagged = noted
            .into_iter()
            .map(|i| crate::report::pages::Flagged {
                processor: tasks
                    .iter()
                    .find(|t| t.processor == i.processor)
                    .map(|t| t.display_name.clone())
                    .unwrap_or_else(|| i.processor.clone()),
                record: i.reference.to_string(),
                note: i.note.unwrap_or_default(),
            })
            .collect();
        let about = crate::report::export::ExportAbout {
            organisation: self.organisation.clone(),
            timezone: self.timezone.clone(),
            names,
            flagged,
            flagged_total,
            portable: self.ledger.is_portable(id)?,
        };
        let digest = ExportWriter::assemble(&zip_path, id, staging, &exported, &about)?;
        self.ledger.audit(
            Some(id),
            "export.written",
            &serde_json::json!({ "file": "access-export.zip", "sha256": digest, "processors": exported }),
        )?;
        self.conclude(id)
    }
}

/// The export's index lists this many of the records that name other people.
const FLAGS_LISTED: usize = 100;

/// The start of the note on a record that names other people.
pub(crate) const NAMES_OTHERS: &str = "names other people";

/// The outcome of a record left out of a portable export (art. 20).
pub const NOT_PORTABLE: &str = "not portable";

/// Keep only `fields` of a record's top level (a portable export, art. 20).
fn narrow(data: &mut serde_json::Value, fields: &[&str]) {
    if let serde_json::Value::Object(map) = data {
        map.retain(|key, _| fields.contains(&key.as_str()));
    }
}

fn names_others_note(count: usize) -> String {
    format!(
        "{NAMES_OTHERS} ({count} other e-mail address(es)): reviewed before the export is \
         released (GDPR art. 15(4)); `dsrhub withhold` leaves it out"
    )
}

/// How many distinct e-mail addresses other than the subject's `data` holds (mail with other
/// recipients, a ticket naming colleagues): such a record is reviewed before release, since
/// disclosing it may affect others (art. 15(4)).
fn other_people(data: &serde_json::Value, subject: &Subject) -> usize {
    fn walk(value: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::String(s) => {
                for token in s.split(|c: char| {
                    c.is_whitespace()
                        || matches!(c, ',' | ';' | '<' | '>' | '"' | '\'' | '(' | ')' | ':')
                }) {
                    let token = token.trim_matches('.');
                    if let Some((local, domain)) = token.split_once('@') {
                        if !local.is_empty() && domain.contains('.') {
                            out.insert(token.to_lowercase());
                        }
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut found = std::collections::BTreeSet::new();
    walk(data, &mut found);
    let own: std::collections::BTreeSet<String> =
        subject.emails.iter().map(|e| e.to_lowercase()).collect();
    found.difference(&own).count()
}

impl Hub {
    /// Leave one exported record out of request `id`'s export at `zip` before it is released
    /// (it names other people, art. 15(4)): rewritten without it, the item's outcome becomes
    /// `withheld`, and the reason's hash goes into the audit log. `record` is `OBJECT:ID` (or
    /// `OBJECT:SCOPE/ID`), as the report names it.
    pub fn withhold(
        &self,
        id: &str,
        processor: &str,
        record: &str,
        reason: &str,
        zip: &std::path::Path,
    ) -> Result<()> {
        use crate::error::Error;
        if reason.trim().is_empty() {
            return Err(Error::Usage(
                "--reason: say why the record is left out of the export".into(),
            ));
        }
        let request = self.ledger.request(id)?;
        if request.kind != crate::ledger::RequestKind::Access {
            return Err(Error::Usage(format!(
                "request `{id}` is an erasure request: it has no export"
            )));
        }
        let wanted = super::parse_record(record).ok_or_else(|| {
            Error::Usage(format!(
                "`{record}`: expected OBJECT:ID as the report names it"
            ))
        })?;
        let item = self
            .ledger
            .items(id, Some(processor))?
            .into_iter()
            .find(|i| super::names_record(&wanted, i) && i.outcome.as_deref() == Some("found"))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "`{processor} {record}`: no exported record of request {id} (withheld already?)"
                ))
            })?;
        let name = self
            .processors
            .iter()
            .find(|p| p.id == processor)
            .map(|p| p.display_name.clone())
            .unwrap_or_else(|| processor.to_string());
        let found = ExportWriter::without(
            zip,
            processor,
            &name,
            &self.timezone,
            &item.reference.object,
            &item.reference.id,
        )?;
        if !found {
            return Err(Error::Usage(format!(
                "`{processor} {record}` is not in {}",
                zip.display()
            )));
        }
        self.ledger
            .mark_item(&item, ItemState::Done, Some("withheld"), None)?;
        self.ledger.audit(
            Some(id),
            "export.withheld",
            &serde_json::json!({
                "processor": processor,
                "record": item.reference.to_string(),
                "reason_sha256": crate::ledger::sha256_hex(reason.trim().as_bytes()),
                "by": self.operator,
                "export_sha256": crate::report::export::sha256_file(zip)?,
            }),
        )?;
        Ok(())
    }
}
