//! The work list: every request with its deadline and what a person must do next, nearest
//! deadline first. `dsrhub status`, the API's request list and the dashboard show it.

use super::Hub;
use crate::error::Result;
use crate::ledger::RequestRow;

/// One request on the work list.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The request.
    pub request: RequestRow,
    /// Its deadline, as extended.
    pub due: jiff::Timestamp,
    /// What a person must do next (empty: nothing).
    pub needs: Vec<String>,
    /// Opened by the sweep: nobody asked, so no legal deadline runs (never overdue).
    pub swept: bool,
}

impl Listed {
    /// Whether the request is still open.
    pub fn open(&self) -> bool {
        !self.request.status.is_closed()
    }

    /// Whether it is open and past its deadline at `now` (a swept request has none).
    pub fn overdue(&self, now: jiff::Timestamp) -> bool {
        self.open() && !self.swept && self.due < now
    }

    /// Whole days until the deadline at `now` (negative: overdue).
    pub fn days_left(&self, now: jiff::Timestamp) -> i64 {
        self.due.duration_since(now).as_hours().div_euclid(24)
    }
}

impl Hub {
    /// Every request at `now`: open ones first, each group by deadline, with what a person
    /// must do next.
    pub fn work_list(&self, now: jiff::Timestamp) -> Result<Vec<Listed>> {
        let mut listed = Vec::new();
        for request in self.ledger.requests()? {
            let needs = self.needs_action(&request, now)?;
            let swept = self.is_swept(&request.id)?;
            listed.push(Listed {
                due: request.extended_due_at.unwrap_or(request.due_at),
                request,
                needs,
                swept,
            });
        }
        listed.sort_by_key(|l| (!l.open(), l.due));
        Ok(listed)
    }

    /// Whether request `id` was opened by the sweep (not by a data subject).
    pub fn is_swept(&self, id: &str) -> Result<bool> {
        Ok(self
            .ledger
            .batch_of(id)?
            .is_some_and(|b| super::sweep::is_sweep(&b.origin)))
    }

    /// What a person must do next for request `r` at `now` (empty: nothing): an identity to
    /// verify, a plan to approve, manual actions or answers to record, an answer past its
    /// date to chase, a reply to read and send.
    pub fn needs_action(
        &self,
        r: &crate::ledger::RequestRow,
        now: jiff::Timestamp,
    ) -> Result<Vec<String>> {
        use crate::ledger::{RequestStatus, TaskState};
        let mut needs = Vec::new();
        match r.status {
            RequestStatus::Received => needs.push("verify the identity".to_string()),
            RequestStatus::Planned => needs.push("approve the plan".to_string()),
            _ => {}
        }
        let tasks = self.ledger.tasks(&r.id)?;
        if tasks.iter().any(|t| t.state == TaskState::ManualPending) {
            needs.push("record the manual actions or answers".to_string());
        }
        let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        if tasks
            .iter()
            .any(|t| t.state == TaskState::ManualPending && t.answer_due.is_some_and(|d| d < today))
        {
            needs.push("chase an answer past its date".to_string());
        }
        if self.replies(&r.id)?.iter().any(|d| d.sent_at.is_none()) {
            needs.push("read and send the reply".to_string());
        }
        Ok(needs)
    }
}
