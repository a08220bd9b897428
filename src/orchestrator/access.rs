//! Access (art. 15, with art. 20 portability): discover → export → ZIP.

use std::path::Path;

use dsrhub_connector::Subject;
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
                .map(|t| self.export_task(request, t, &subject, &staging)),
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
    ) -> Result<()> {
        let id = request.id.as_str();
        let processor = task.processor.as_str();
        let Some(connector) = self.connector_or_skip(id, processor)? else {
            return Ok(());
        };
        if connector.by_letter() {
            return self
                .ask_by_letter(request, processor, connector, subject)
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
            for (item, result) in to_export.iter().zip(results) {
                match result {
                    Ok(exported) => {
                        writer.write(&exported)?;
                        written.push(*item);
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
            self.ledger.mark_items(&written, ItemState::Done, "found")?;
            self.ledger.mark_items(&gone, ItemState::Done, GONE)?;
            gone_total += gone.len();
        }
        writer.finish()?;
        let mut summary = match (found - gone_total, review) {
            (0, 0) => "nothing found: no match".to_string(),
            (f, 0) => format!("found {f} record(s)"),
            (f, r) => format!("found {f} record(s); {r} loose match(es) for review, not disclosed"),
        };
        if gone_total > 0 {
            summary.push_str(&format!("; {gone_total} gone since discovery"));
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
        let digest = ExportWriter::assemble(&zip_path, id, staging, &exported)?;
        self.ledger.audit(
            Some(id),
            "export.written",
            &serde_json::json!({ "file": "access-export.zip", "sha256": digest, "processors": exported }),
        )?;
        self.conclude(id)
    }
}
