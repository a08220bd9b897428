//! Legal holds at the moment of acting: an erasure planned before a hold never erases what the
//! hold covers, and the sweep's never erases what a restriction of processing keeps. Holds themselves live in the ledger (`crate::ledger::Hold`); the sweep leaves
//! held people out when it selects (`super::sweep`), and a plan made for a held subject keeps
//! their records (`crate::policy::under_hold`).

use dsrhub_connector::Subject;

use super::Hub;
use crate::error::{Error, Result};

/// Why a swept request is withdrawn when a hold comes after the sweep selected it.
const HELD_SINCE: &str = "a legal hold covers this subject since the sweep selected it";

/// Why a swept request is withdrawn when a restriction comes after the sweep selected it.
const RESTRICTED_SINCE: &str =
    "a restriction of processing covers this subject since the sweep selected it";

impl Hub {
    /// Before an erasure is carried out: is its subject (or, for records by id, the people
    /// they are about) on legal hold now? A request the sweep opened is then cancelled before
    /// anything is erased (the closed request is returned); once something of it was erased,
    /// nothing more is (an error naming the hold). The subject's own request, planned before
    /// the hold, is not carried out while its plan would still erase something (an error
    /// saying how to plan again; a plan made under the hold keeps the held records, see
    /// [`crate::policy::under_hold`]). `None`: go ahead.
    pub(super) fn withdraw_if_held(&self, id: &str) -> Result<Option<crate::ledger::RequestRow>> {
        let subject = self.ledger.subject(id)?;
        if !self.is_subject_held(id, &subject)? {
            // A restriction made since the sweep selected the person keeps their records as a
            // hold does (art. 18); the subject's own erasure is theirs to ask.
            if self.is_swept(id)? && self.is_subject_restricted(id, &subject)? {
                return self
                    .cancel_as(id, RESTRICTED_SINCE, "dsrhub sweep")
                    .map(Some)
                    .map_err(|e| {
                        Error::Usage(format!(
                            "request `{id}`: {RESTRICTED_SINCE}; nothing more is erased until it \
                             is lifted ({e})"
                        ))
                    });
            }
            return Ok(None);
        }
        if !self.is_swept(id)? {
            // The subject's own request: a plan made before the hold would erase what the hold
            // covers. It is not carried out; planned again, the held records are kept.
            if self.ledger.pending_changes(id)? > 0 {
                return Err(Error::Usage(format!(
                    "request `{id}`: the subject came under a legal hold after the plan was \
                     made, and the plan would erase what the hold covers, so nothing more is \
                     erased; cancel the request and open it again (its plan then keeps the held \
                     records), or lift the hold"
                )));
            }
            return Ok(None);
        }
        match self.cancel_as(id, HELD_SINCE, "dsrhub sweep") {
            Ok(closed) => Ok(Some(closed)),
            Err(e) => Err(Error::Usage(format!(
                "request `{id}`: {HELD_SINCE}; nothing more is erased until the hold is lifted \
                 ({e})"
            ))),
        }
    }

    /// Whether request `id`'s subject (or, for a request targeted at records, the people they
    /// are about) is under a restriction of processing nobody has lifted.
    fn is_subject_restricted(&self, id: &str, subject: &Subject) -> Result<bool> {
        let keys = if self.ledger.is_targeted(id)? {
            self.ledger.retained_keys(id)?
        } else {
            crate::ledger::subject_hold_keys(subject)
        };
        let restricted = self.ledger.restricted_subject_keys()?;
        Ok(keys.iter().any(|k| restricted.contains(k)))
    }

    /// Whether request `id`'s subject is on legal hold: one of its addresses, or, for a
    /// request targeted at records, the hold keys it keeps for the people they are about.
    pub(super) fn is_subject_held(&self, id: &str, subject: &Subject) -> Result<bool> {
        if self.ledger.is_targeted(id)? {
            return self.ledger.any_held(&self.ledger.retained_keys(id)?);
        }
        self.ledger
            .any_held(&crate::ledger::subject_hold_keys(subject))
    }
}
