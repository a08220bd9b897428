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
    /// Access (art. 15/20) or erasure (art. 17).
    RequestKind { Access => "access", Erasure => "erasure" }
);

string_enum!(
    /// Where a request is in its life cycle.
    RequestStatus {
        Received => "received",
        IdentityVerified => "identity_verified",
        Discovering => "discovering",
        Planned => "planned",
        Executing => "executing",
        Verifying => "verifying",
        Completed => "completed",
        PartiallyCompleted => "partially_completed",
        Failed => "failed",
        ForwardedToController => "forwarded_to_controller",
    }
);

impl RequestStatus {
    /// Whether nothing more will happen to the request.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            RequestStatus::Completed | RequestStatus::ForwardedToController
        )
    }
}

string_enum!(
    /// One processor's task state, as reports show it.
    TaskState {
        Pending => "pending",
        Running => "running",
        Done => "done",
        Retained => "retained",
        ManualPending => "manual_pending",
        Waiting => "waiting",
        Skipped => "skipped",
        Failed => "failed",
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
    }
);

string_enum!(
    /// What the plan does with one record.
    Action {
        Delete => "delete",
        Anonymize => "anonymize",
        Retain => "retain",
        Review => "review",
        Export => "export",
    }
);

string_enum!(
    /// Where one planned action stands.
    ItemState {
        Planned => "planned",
        /// The call was sent; if the run died here, erasure's idempotence makes a repeat safe.
        Started => "started",
        Done => "done",
        Failed => "failed",
        /// Deselected by a reviewer before execution.
        Skipped => "skipped",
    }
);

/// One request.
#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: String,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub received_at: Timestamp,
    pub due_at: Timestamp,
    pub extended_due_at: Option<Timestamp>,
    pub extension_reason: Option<String>,
    pub verification_ran_at: Option<Timestamp>,
    pub verification_remaining: Vec<Remaining>,
    pub closed_at: Option<Timestamp>,
}

/// A record still present after erasure, found by verification.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Remaining {
    pub processor: String,
    pub object: String,
    pub id: String,
    pub reason: String,
}

/// One processor's task within a request.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub processor: String,
    pub state: TaskState,
    pub stage: Stage,
    pub summary: String,
    pub error: Option<String>,
    pub error_kind: Option<String>,
}

/// A record to store with its planned action.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub reference: RecordRef,
    pub matched_by: String,
    pub categories: Vec<Category>,
    pub linked_to: Option<String>,
    pub action: Action,
    pub fields: Vec<String>,
    pub basis: Option<String>,
    pub retain_until: Option<Date>,
    pub note: Option<String>,
}

/// A stored record with its action and result.
#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: i64,
    pub processor: String,
    pub reference: RecordRef,
    pub matched_by: String,
    pub categories: Vec<Category>,
    pub linked_to: Option<String>,
    pub action: Action,
    pub fields: Vec<String>,
    pub basis: Option<String>,
    pub retain_until: Option<Date>,
    pub note: Option<String>,
    pub state: ItemState,
    pub outcome: Option<String>,
    pub detail: Option<String>,
}
