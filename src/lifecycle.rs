//! The request life cycle: every status change a request can make, in one place.
//!
//! A request's status is only ever changed through [`next`] and
//! [`crate::ledger::Ledger::transition`] (which writes it with `WHERE status = <from>` in the
//! same transaction as its audit entry), so an invalid change is an error, never a silent
//! overwrite. What decides a change and is a fact about the past — whether a plan was
//! approved, whether anything was changed at a processor, whether anything is left — is
//! passed in as [`Facts`], derived from the ledger's items, approvals and tasks, never from a
//! status a later run could overwrite.
//!
//! Invariants (checked by the property test below over random event sequences, crashes
//! included, and described with the state diagram in `docs/lifecycle.md`):
//! - **I1** a closed request (completed, forwarded, cancelled) never changes again;
//! - **I2** a request is cancelled only while nothing was changed at any processor;
//! - **I3** a request is `executing` only when a plan was approved;
//! - **I4** `planned` means nothing was changed yet: a request that acted and waits for the
//!   approval of a later part of its plan is `partially_completed`;
//! - **I5** a request is `completed` or `forwarded_to_controller` only when no work is left
//!   (no skipped processor, no open manual action, no failed verification).

use crate::ledger::{RequestStatus, Stage};

/// Something that happens to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The subject's identity was verified (a request received through the API).
    Verify,
    /// A run starts: discovery and planning of whatever is not planned yet.
    Start,
    /// The run carries out the approved plan.
    Execute,
    /// A run (or a recorded answer) ends; the status its tasks add up to.
    Conclude(RequestStatus),
    /// The request is withdrawn.
    Cancel,
}

impl Event {
    /// A short name for messages and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Event::Verify => "verify",
            Event::Start => "start",
            Event::Execute => "execute",
            Event::Conclude(_) => "conclude",
            Event::Cancel => "cancel",
        }
    }
}

/// The facts about a request's past that decide its transitions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// At least one plan (or part of one) was approved.
    pub approved: bool,
    /// An action at a processor ran or may have run: a deletion or anonymisation started, an
    /// erasure letter sent, the request forwarded to a controller.
    pub changed_anything: bool,
    /// Something keeps the request open: a skipped processor, a record that needs a person's
    /// hand, an awaited answer, a failed task or verification, a plan part not yet approved.
    pub work_left: bool,
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The request is closed; nothing changes it any more.
    #[error("the request is {0}: a closed request never changes")]
    Closed(RequestStatus),
    /// Something was already changed at a processor.
    #[error("the request is {0} and actions at processors have already run: it can no longer be cancelled")]
    AlreadyActed(RequestStatus),
    /// The identity is not verified yet.
    #[error(
        "the subject's identity is not verified yet; nothing is disclosed or erased before it is"
    )]
    NotVerified,
    /// No plan was approved.
    #[error(
        "no plan of this request was approved: nothing is carried out before a person approves it"
    )]
    NotApproved,
    /// The request cannot close while work is left.
    #[error("the request cannot be {0} while work is left (skipped processors, manual actions, failed tasks or an unapproved plan)")]
    WorkLeft(RequestStatus),
    /// A request that changed something cannot say it only has a plan.
    #[error("the request changed data at processors already, so it cannot go back to planned")]
    ActedAlready,
    /// Any other pair.
    #[error("a request that is {0} cannot {1}")]
    NotFrom(RequestStatus, &'static str),
}

/// The statuses a run (or a recorded answer) may conclude in.
const CONCLUSIONS: [RequestStatus; 6] = [
    RequestStatus::Planned,
    RequestStatus::Completed,
    RequestStatus::PartiallyCompleted,
    RequestStatus::Failed,
    RequestStatus::AwaitingProcessors,
    RequestStatus::ForwardedToController,
];

/// The status `event` moves a request in status `from` to, or why it may not.
pub fn next(from: RequestStatus, facts: &Facts, event: Event) -> Result<RequestStatus, Refused> {
    use RequestStatus as S;
    if from.is_closed() {
        return Err(Refused::Closed(from));
    }
    match event {
        Event::Verify => match from {
            S::Received => Ok(S::IdentityVerified),
            _ => Err(Refused::NotFrom(from, "have its identity verified again")),
        },
        Event::Start => match from {
            S::Received => Err(Refused::NotVerified),
            _ => Ok(S::Discovering),
        },
        Event::Execute => match from {
            _ if !facts.approved => Err(Refused::NotApproved),
            S::Discovering => Ok(S::Executing),
            _ => Err(Refused::NotFrom(from, "start executing")),
        },
        Event::Conclude(to) => {
            if !CONCLUSIONS.contains(&to) {
                return Err(Refused::NotFrom(from, "conclude there"));
            }
            if from == S::Received {
                return Err(Refused::NotVerified);
            }
            if matches!(to, S::Completed | S::ForwardedToController) && facts.work_left {
                return Err(Refused::WorkLeft(to));
            }
            if to == S::Planned && facts.changed_anything {
                return Err(Refused::ActedAlready);
            }
            Ok(to)
        }
        Event::Cancel => {
            if facts.changed_anything {
                Err(Refused::AlreadyActed(from))
            } else {
                Ok(S::Cancelled)
            }
        }
    }
}

/// The state × event table of [`next`] as Markdown, for `docs/lifecycle.md` (a test keeps the
/// two equal). Each cell shows the result for a request that changed nothing yet, has an
/// approved plan and no work left; the guards that depend on other facts are listed below it.
pub fn table_markdown() -> String {
    let facts = Facts {
        approved: true,
        changed_anything: false,
        work_left: false,
    };
    let events: [(Event, &str); 6] = [
        (Event::Verify, "verify"),
        (Event::Start, "start"),
        (Event::Execute, "execute"),
        (
            Event::Conclude(RequestStatus::Completed),
            "conclude (completed)",
        ),
        (
            Event::Conclude(RequestStatus::Planned),
            "conclude (planned)",
        ),
        (Event::Cancel, "cancel"),
    ];
    let mut out = String::from("| from \\ event |");
    for (_, name) in &events {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    for _ in &events {
        out.push_str("---|");
    }
    out.push('\n');
    for &from in RequestStatus::ALL {
        out.push_str(&format!("| {from} |"));
        for (event, _) in &events {
            let cell = match next(from, &facts, *event) {
                Ok(to) => to.as_str().to_string(),
                Err(Refused::Closed(_)) => "refused: closed".into(),
                Err(Refused::NotVerified) => "refused: not verified".into(),
                Err(_) => "refused".into(),
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out
}

/// Whether a processor's task may move from stage `from` to stage `to` (its state may change
/// at any step). A task goes forward through its pipeline — erasure `new → planned → executing
/// → executed → verified`, access `new → exported`, by letter `→ awaiting_answer → answered` —
/// and only these steps back: a failed verification is carried out again (`verified →
/// executing`), and a task skipped because its processor was not configured is discovered once
/// it is (`skipped → new`). Any stage may become `skipped` when its processor disappears from the
/// config. Staying at a stage (a retry, a failure, an amended answer) is always allowed.
pub fn task_step_allowed(from: Stage, to: Stage) -> bool {
    use Stage::*;
    from == to
        || to == Skipped
        || matches!(
            (from, to),
            (New, Planned | Exported | AwaitingAnswer)
                | (Skipped, New | Planned | AwaitingAnswer)
                | (Planned, Executing | AwaitingAnswer)
                | (Executing, Executed)
                | (Executed, Verified)
                | (Verified, Executing)
                | (AwaitingAnswer, Answered)
        )
}

/// The stage × stage table of [`task_step_allowed`] as Markdown, for `docs/lifecycle.md`.
pub fn task_table_markdown() -> String {
    let mut out = String::from("| from \\ to |");
    for to in Stage::ALL {
        out.push_str(&format!(" {to} |"));
    }
    out.push_str("\n|---|");
    for _ in Stage::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for &from in Stage::ALL {
        out.push_str(&format!("| {from} |"));
        for &to in Stage::ALL {
            out.push_str(if task_step_allowed(from, to) {
                " yes |"
            } else {
                " |"
            });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use RequestStatus as S;

    const NONE: Facts = Facts {
        approved: false,
        changed_anything: false,
        work_left: false,
    };

    #[test]
    fn a_closed_request_never_changes() {
        for closed in [S::Completed, S::Cancelled, S::ForwardedToController] {
            for event in [
                Event::Verify,
                Event::Start,
                Event::Execute,
                Event::Cancel,
                Event::Conclude(S::Completed),
                Event::Conclude(S::PartiallyCompleted),
            ] {
                assert_eq!(
                    next(closed, &NONE, event),
                    Err(Refused::Closed(closed)),
                    "{closed} {event:?}"
                );
            }
        }
    }

    #[test]
    fn cancel_is_refused_once_anything_was_changed() {
        let acted = Facts {
            changed_anything: true,
            ..NONE
        };
        for from in [S::Planned, S::Discovering, S::PartiallyCompleted, S::Failed] {
            assert_eq!(next(from, &NONE, Event::Cancel), Ok(S::Cancelled));
            assert_eq!(
                next(from, &acted, Event::Cancel),
                Err(Refused::AlreadyActed(from))
            );
        }
    }

    #[test]
    fn a_request_that_acted_never_goes_back_to_planned() {
        let acted = Facts {
            approved: true,
            changed_anything: true,
            work_left: true,
        };
        assert_eq!(
            next(S::Discovering, &acted, Event::Conclude(S::Planned)),
            Err(Refused::ActedAlready)
        );
        assert_eq!(
            next(
                S::Discovering,
                &acted,
                Event::Conclude(S::PartiallyCompleted)
            ),
            Ok(S::PartiallyCompleted)
        );
    }

    #[test]
    fn executing_needs_an_approval_and_completion_needs_nothing_left() {
        assert_eq!(
            next(S::Discovering, &NONE, Event::Execute),
            Err(Refused::NotApproved)
        );
        let approved = Facts {
            approved: true,
            ..NONE
        };
        assert_eq!(
            next(S::Discovering, &approved, Event::Execute),
            Ok(S::Executing)
        );
        assert_eq!(
            next(S::Planned, &approved, Event::Execute),
            Err(Refused::NotFrom(S::Planned, "start executing"))
        );
        let left = Facts {
            work_left: true,
            ..approved
        };
        for to in [S::Completed, S::ForwardedToController] {
            assert_eq!(
                next(S::Executing, &left, Event::Conclude(to)),
                Err(Refused::WorkLeft(to))
            );
        }
        assert_eq!(
            next(S::Executing, &left, Event::Conclude(S::AwaitingProcessors)),
            Ok(S::AwaitingProcessors)
        );
    }

    #[test]
    fn nothing_runs_before_the_identity_is_verified() {
        assert_eq!(
            next(S::Received, &NONE, Event::Start),
            Err(Refused::NotVerified)
        );
        assert_eq!(
            next(S::Received, &NONE, Event::Verify),
            Ok(S::IdentityVerified)
        );
        assert!(next(S::IdentityVerified, &NONE, Event::Verify).is_err());
        assert!(next(S::Discovering, &NONE, Event::Conclude(S::Cancelled)).is_err());
        assert!(next(S::Discovering, &NONE, Event::Conclude(S::Executing)).is_err());
        assert_eq!(
            next(S::Received, &NONE, Event::Conclude(S::Failed)),
            Err(Refused::NotVerified)
        );
    }

    #[test]
    fn tasks_go_forward_and_back_only_where_the_table_says() {
        use Stage::*;
        assert!(task_step_allowed(New, Planned));
        assert!(
            task_step_allowed(Verified, Executing),
            "a failed verification is retried"
        );
        assert!(
            task_step_allowed(Skipped, New),
            "a processor configured again"
        );
        assert!(task_step_allowed(Executing, Skipped));
        assert!(
            !task_step_allowed(Executed, Planned),
            "an executed plan is never re-planned"
        );
        assert!(!task_step_allowed(Verified, New));
        assert!(!task_step_allowed(Answered, AwaitingAnswer));
        assert!(
            !task_step_allowed(Exported, New),
            "an export is not discovered again"
        );
        assert!(!task_step_allowed(New, Executing), "nothing runs unplanned");
        assert!(!task_step_allowed(Planned, Verified));
    }

    #[test]
    fn events_have_the_names_the_audit_log_uses() {
        let names: Vec<&str> = [
            Event::Verify,
            Event::Start,
            Event::Execute,
            Event::Conclude(S::Completed),
            Event::Cancel,
        ]
        .iter()
        .map(|e| e.name())
        .collect();
        assert_eq!(names, ["verify", "start", "execute", "conclude", "cancel"]);
    }

    #[test]
    fn the_documented_table_is_the_table_in_the_code() {
        let doc = include_str!("../docs/lifecycle.md");
        // One row per status and per stage, so an empty table can never pass as documented.
        assert_eq!(table_markdown().lines().count(), S::ALL.len() + 2);
        assert_eq!(task_table_markdown().lines().count(), Stage::ALL.len() + 2);
        assert!(
            doc.contains(&table_markdown()),
            "docs/lifecycle.md is out of date; its table must read:\n{}",
            table_markdown()
        );
        assert!(
            doc.contains(&task_table_markdown()),
            "docs/lifecycle.md is out of date; its task table must read:\n{}",
            task_table_markdown()
        );
    }

    /// What can happen to a request, including the world around it.
    #[derive(Debug, Clone)]
    enum Step {
        Event(Event),
        /// A person approves (part of) the plan.
        Approve,
        /// A processor action runs; the hub only lets it run while executing.
        Act,
        /// Work appears (a processor skipped, a manual action) or is finished.
        Work(bool),
        /// The process dies: the stored status stays, the run's memory is gone.
        Crash,
    }

    fn any_step() -> impl Strategy<Value = Step> {
        let status = prop::sample::select(S::ALL.to_vec());
        prop_oneof![
            Just(Step::Event(Event::Verify)),
            Just(Step::Event(Event::Start)),
            Just(Step::Event(Event::Execute)),
            Just(Step::Event(Event::Cancel)),
            status.prop_map(|s| Step::Event(Event::Conclude(s))),
            Just(Step::Approve),
            Just(Step::Act),
            any::<bool>().prop_map(Step::Work),
            Just(Step::Crash),
        ]
    }

    #[derive(Debug)]
    struct Model {
        status: RequestStatus,
        facts: Facts,
        acted_before_cancel: bool,
        history: Vec<RequestStatus>,
    }

    impl Model {
        fn apply(&mut self, step: &Step) {
            match step {
                Step::Event(e) => {
                    if let Ok(to) = next(self.status, &self.facts, *e) {
                        if to == S::Cancelled && self.facts.changed_anything {
                            self.acted_before_cancel = true;
                        }
                        self.status = to;
                        self.history.push(to);
                    }
                }
                Step::Approve if !self.status.is_closed() => self.facts.approved = true,
                Step::Act if self.status == S::Executing => self.facts.changed_anything = true,
                Step::Work(left) if !self.status.is_closed() => self.facts.work_left = *left,
                _ => {}
            }
        }

        fn check(&self) -> Result<(), String> {
            // I1: once closed, the history never moves on.
            if let Some(i) = self.history.iter().position(|s| s.is_closed()) {
                if i + 1 != self.history.len() {
                    return Err("I1: a closed request changed".into());
                }
            }
            if self.acted_before_cancel {
                return Err("I2: cancelled after acting".into());
            }
            if self.status == S::Executing && !self.facts.approved {
                return Err("I3: executing without approval".into());
            }
            if self.status == S::Planned && self.facts.changed_anything {
                return Err("I4: planned after acting".into());
            }
            // Work never appears after closure (closed requests ignore it), so a closed
            // request with work left was closed while work was left.
            if matches!(self.status, S::Completed | S::ForwardedToController)
                && self.facts.work_left
            {
                return Err("I5: closed with work left".into());
            }
            Ok(())
        }
    }

    proptest! {
        #[test]
        fn no_event_sequence_breaks_the_invariants(
            start in prop::sample::select(vec![S::Received, S::IdentityVerified]),
            steps in prop::collection::vec(any_step(), 0..60),
        ) {
            let mut model = Model { status: start, facts: NONE, acted_before_cancel: false, history: vec![start] };
            for step in &steps {
                model.apply(step);
                if let Err(broken) = model.check() {
                    prop_assert!(false, "{broken}: {model:?} after {step:?}");
                }
            }
        }
    }
}
