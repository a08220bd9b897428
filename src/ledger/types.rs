//! The ledger's row types and the string enums stored in it.

use dsrhub_connector::{Category, RecordRef};
use jiff::civil::Date;
use jiff::Timestamp;
use serde::Serialize;

/// Declares an enum stored as a snake_case string, with `as_str` and `parse`.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Parse the stored text.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Which right a request exercises.
    RequestKind {
        /// Art. 15 (and 20): what is held, exported.
        Access => "access",
        /// Art. 17: erase what may be erased.
        Erasure => "erasure",
        /// Art. 16: correct the subject's data.
        Rectification => "rectification",
        /// Art. 18: keep the subject's data but stop processing it.
        Restriction => "restriction",
        /// The end of a restriction: the records it marked are put back as they were.
        Lift => "lift",
        /// Art. 21: stop processing for a purpose (the newsletter).
        Objection => "objection",
    }
);

impl RequestKind {
    /// Whether this kind changes records through [`dsrhub_connector::Connector::propose`]
    /// and [`dsrhub_connector::Connector::apply`] (every kind but access and erasure).
    pub fn changes_fields(self) -> bool {
        match self {
            RequestKind::Access | RequestKind::Erasure => false,
            RequestKind::Rectification
            | RequestKind::Restriction
            | RequestKind::Lift
            | RequestKind::Objection => true,
        }
    }

    /// Whether a person approves the plan before anything is carried out (every kind that
    /// changes data at a processor).
    pub fn needs_approval(self) -> bool {
        self != RequestKind::Access
    }
}

string_enum!(
    /// Where a request is in its life cycle.
    RequestStatus {
        /// Recorded, identity not yet verified.
        Received => "received",
        /// Identity verified; nothing run yet.
        IdentityVerified => "identity_verified",
        /// Searching the processors.
        Discovering => "discovering",
        /// Plan recorded; waiting for approval (dry run).
        Planned => "planned",
        /// Carrying out the plan.
        Executing => "executing",
        /// Searching again after erasure.
        Verifying => "verifying",
        /// Every processor finished.
        Completed => "completed",
        /// Some processors finished, others failed or wait; resumable.
        PartiallyCompleted => "partially_completed",
        /// No processor finished; resumable.
        Failed => "failed",
        /// Waiting for processors without an API to answer; nothing failed.
        AwaitingProcessors => "awaiting_processors",
        /// Forwarded to the controller instead of executed.
        ForwardedToController => "forwarded_to_controller",
        /// Withdrawn before anything was changed (the subject withdrew, or it was a duplicate).
        Cancelled => "cancelled",
    }
);

impl RequestStatus {
    /// Whether nothing more will happen to the request.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            RequestStatus::Completed
                | RequestStatus::ForwardedToController
                | RequestStatus::Cancelled
        )
    }
}

string_enum!(
    /// One processor's task state, as reports show it.
    TaskState {
        /// Not started.
        Pending => "pending",
        /// In progress.
        Running => "running",
        /// Finished; nothing kept.
        Done => "done",
        /// Finished; some records kept under a legal basis.
        Retained => "retained",
        /// Waiting for a processor without an API to answer.
        ManualPending => "manual_pending",
        /// Waiting on the vendor (e.g. a daily limit).
        Waiting => "waiting",
        /// Processor disabled or not configured.
        Skipped => "skipped",
        /// Failed; see the error (retryable ones resume).
        Failed => "failed",
        /// What it holds for a customer was forwarded to that customer (the controller).
        Forwarded => "forwarded",
    }
);

string_enum!(
    /// How far a processor's task got, so a resumed run continues from there.
    Stage {
        /// Nothing discovered yet.
        New => "new",
        /// Discovered and planned (erasure) — the plan is in `items`.
        Planned => "planned",
        /// Executing the plan.
        Executing => "executing",
        /// Every planned action ran.
        Executed => "executed",
        /// Discovery ran again after execution.
        Verified => "verified",
        /// Records exported (access).
        Exported => "exported",
        /// Nothing to do (disabled processor).
        Skipped => "skipped",
        /// A processor without an API was asked by letter; its answer is awaited.
        AwaitingAnswer => "awaiting_answer",
        /// A processor without an API answered (`dsrhub confirm`).
        Answered => "answered",
    }
);

string_enum!(
    /// What the plan does with one record.
    Action {
        /// Delete the record.
        Delete => "delete",
        /// Clear its personal fields.
        Anonymize => "anonymize",
        /// Keep it, under a legal basis.
        Retain => "retain",
        /// No action: a person must check the match.
        Review => "review",
        /// Export it (access).
        Export => "export",
        /// Held on behalf of a customer: the request goes to that customer (the controller).
        Forward => "forward",
        /// Change some of its fields (rectification, restriction, its lifting, objection):
        /// which, from what to what, is in `item_changes`.
        Change => "change",
        /// Nothing to do: it already is as asked, or the right does not act on it (`note`).
        Nothing => "nothing",
    }
);

impl Action {
    /// Whether carrying out this action changes data at the processor (a deletion or an
    /// anonymisation). No wildcard: a new action must say.
    pub fn changes_data(self) -> bool {
        match self {
            Action::Delete | Action::Anonymize | Action::Change => true,
            Action::Retain
            | Action::Review
            | Action::Export
            | Action::Forward
            | Action::Nothing => false,
        }
    }
}

string_enum!(
    /// Where one planned action stands.
    ItemState {
        /// Not run yet.
        Planned => "planned",
        /// The call was sent; if the run died here, erasure's idempotence makes a repeat safe.
        Started => "started",
        /// Ran; see the outcome.
        Done => "done",
        /// The call failed; retried by the next run.
        Failed => "failed",
        /// Deselected by a reviewer before execution.
        Skipped => "skipped",
    }
);

/// One request.
#[derive(Debug, Clone)]
pub struct RequestRow {
    /// Its id.
    pub id: String,
    /// Access or erasure.
    pub kind: RequestKind,
    /// Where it is in its life cycle.
    pub status: RequestStatus,
    /// When the request was received.
    pub received_at: Timestamp,
    /// When the answer is due (received + the policy's response months).
    pub due_at: Timestamp,
    /// The extended deadline, when one was recorded.
    pub extended_due_at: Option<Timestamp>,
    /// Why the deadline was extended.
    pub extension_reason: Option<String>,
    /// When verification last ran.
    pub verification_ran_at: Option<Timestamp>,
    /// What verification still found.
    pub verification_remaining: Vec<Remaining>,
    /// When the request closed.
    pub closed_at: Option<Timestamp>,
    /// The customer (controller) whose data subject this is, when recognised.
    pub controller: Option<String>,
    /// When the request was forwarded to that controller.
    pub forwarded_at: Option<Timestamp>,
    /// The language the subject is answered in (`nl`, `en`).
    pub language: String,
}

/// A record still present after erasure, found by verification.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Remaining {
    /// The processor id.
    pub processor: String,
    /// The vendor's object type.
    pub object: String,
    /// Its id.
    pub id: String,
    /// Why, in words.
    pub reason: String,
}

/// One processor's task within a request.
#[derive(Debug, Clone)]
pub struct TaskRow {
    /// The processor id.
    pub processor: String,
    /// Its state.
    pub state: TaskState,
    /// How far it got, for resuming.
    pub stage: Stage,
    /// One line a person can read.
    pub summary: String,
    /// The last error, personal-data-free.
    pub error: Option<String>,
    /// The last error's kind.
    pub error_kind: Option<String>,
    /// How reports name the processor (empty in ledgers from before it was recorded).
    pub display_name: String,
    /// When a processor without an API must have answered.
    pub answer_due: Option<jiff::civil::Date>,
    /// A `waiting` task is not resumed before this moment (the vendor's limit resets then).
    pub resume_after: Option<jiff::Timestamp>,
    /// Its plan was approved (erasure): only approved tasks are carried out.
    pub approved: bool,
}

impl TaskRow {
    /// Whether the task's plan waits for a person's approval (erasure).
    pub fn awaits_approval(&self) -> bool {
        self.stage == Stage::Planned && !self.approved
    }

    /// Whether the task waits for a vendor's limit to reset and must not be run yet.
    pub fn waits_at(&self, now: jiff::Timestamp) -> bool {
        self.state == TaskState::Waiting && self.resume_after.is_some_and(|at| at > now)
    }
}

/// A processor's task, as a new request records it.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// The processor's section name.
    pub processor: String,
    /// Whether it takes part (`false`: skipped).
    pub enabled: bool,
    /// How reports name it.
    pub display_name: String,
}

/// A record to store with its planned action.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// Which record.
    pub reference: RecordRef,
    /// How it matched the subject.
    pub matched_by: String,
    /// Categories of personal data in it.
    pub categories: Vec<Category>,
    /// The record it was found through.
    pub linked_to: Option<String>,
    /// What the plan does with it.
    pub action: Action,
    /// Fields anonymisation clears.
    pub fields: Vec<String>,
    /// The legal basis for keeping it.
    pub basis: Option<String>,
    /// Until when it is kept.
    pub retain_until: Option<Date>,
    /// Why, in words.
    pub note: Option<String>,
    /// What identifies the record to a person without its content (folder, date, size).
    pub descriptor: std::collections::BTreeMap<String, String>,
    /// The fields a change sets, from what to what (only for [`Action::Change`]).
    pub changes: Vec<dsrhub_connector::FieldChange>,
}

/// A stored record with its action and result.
#[derive(Debug, Clone)]
pub struct ItemRow {
    /// Its id.
    pub id: i64,
    /// The processor id.
    pub processor: String,
    /// Which record.
    pub reference: RecordRef,
    /// How it matched the subject.
    pub matched_by: String,
    /// Categories of personal data in it.
    pub categories: Vec<Category>,
    /// The record it was found through.
    pub linked_to: Option<String>,
    /// What the plan does with it.
    pub action: Action,
    /// Fields anonymisation clears.
    pub fields: Vec<String>,
    /// The legal basis for keeping it.
    pub basis: Option<String>,
    /// Until when it is kept.
    pub retain_until: Option<Date>,
    /// Why, in words.
    pub note: Option<String>,
    /// Its state.
    pub state: ItemState,
    /// What happened to it.
    pub outcome: Option<String>,
    /// More about the outcome, personal-data-free.
    pub detail: Option<String>,
    /// What identifies the record to a person without its content.
    pub descriptor: std::collections::BTreeMap<String, String>,
}

impl ItemRow {
    /// Whether the record matched the subject exactly (e-mail, vendor id, or through such a
    /// record), as opposed to a phone or name match a person must check.
    pub fn is_exact_match(&self) -> bool {
        dsrhub_connector::MatchKind::parse(&self.matched_by).is_some_and(|m| m.allows_erasure())
    }
}

/// How many of one processor's items share an action, a state and an outcome
/// ([`crate::ledger::Ledger::item_tally`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// The planned action.
    pub action: Action,
    /// Where the items stand.
    pub state: ItemState,
    /// What happened (`deleted`, `retained`, …), once done or failed.
    pub outcome: Option<String>,
    /// How many items.
    pub count: usize,
}

/// How a subject's identity was verified, and who recorded it (`how` empty: not verified yet,
/// as for a request received through the API).
#[derive(Debug, Clone, Copy)]
pub struct IdentityNote<'a> {
    /// The note (may name the person; purged at closure, hashed into the audit log).
    pub how: &'a str,
    /// Who verified it.
    pub by: &'a str,
}
