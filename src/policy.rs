//! The privacy policy's rules: from a discovered record to a planned action.
//!
//! - Only exact matches of verified identifiers (and records linked to them) are erased;
//!   phone and name matches go to human review.
//! - Fiscal documents are kept `fiscal_retention_years` after the end of the financial year
//!   of their date (`fiscal_year_end`; art. 52(4) AWR);
//!   contract data and correspondence `…_retention_months` after they end or close; past that
//!   date they are erased like anything else.
//! - A record the vendor will not delete (e.g. a contact with invoices) is anonymised: only
//!   what the law needs stays.

use dsrhub_connector::{Ownership, Record, RetentionHint};
use jiff::civil::Date;
use jiff::Span;

use crate::config::PolicyConfig;
use crate::ledger::{Action, NewItem};

/// Legal basis for keeping fiscal documents.
pub const FISCAL_BASIS: &str = "fiscal retention duty, art. 52(4) AWR";
/// Legal basis for keeping contract data.
pub const CONTRACT_BASIS: &str = "contract performance; kept 12 months after the contract ends";
/// Legal basis for keeping correspondence.
pub const CORRESPONDENCE_BASIS: &str = "contract performance; kept 12 months after closure";

/// Legal basis for keeping what a legal hold covers.
pub const LEGAL_HOLD_BASIS: &str =
    "legal hold: needed for legal claims, art. 17(3)(e) GDPR; kept while the hold lasts";

/// `item` as planned for a subject on legal hold (`dsrhub hold add`): what would be deleted or
/// anonymised is kept instead, with the hold as its basis, until a person lifts the hold
/// (then a new request erases it). Everything else is planned as without the hold.
pub fn under_hold(mut item: NewItem) -> NewItem {
    if item.action.changes_data() {
        item.action = Action::Retain;
        item.basis = Some(LEGAL_HOLD_BASIS.to_string());
        item.retain_until = None;
        item.note = Some(
            "the subject is on legal hold: kept until the hold is lifted (`dsrhub hold remove`), \
             then erased by a new request"
                .into(),
        );
    }
    item
}

/// The planned action for one record in an erasure request.
pub fn plan(record: &Record, policy: &PolicyConfig, today: Date) -> NewItem {
    let mut item = review_item(record);
    if !record.matched_by.allows_erasure() {
        return item;
    }
    // An organisation's record is not the subject's to erase: a person decides.
    if let Ownership::Organisation(why) = &record.ownership {
        item.note = Some(format!(
            "organisation data ({why}), not the subject's own: never erased for one person; \
             a person decides and records it"
        ));
        return item;
    }
    // Data tied to a running contract is still needed to perform it: never erased while it
    // runs, and not simply kept either, since the subject may have left the customer; a person
    // decides (and the sweep looks again once it has ended).
    if let Some(RetentionHint::Contract {
        ended: None,
        runs_until,
    }) = &record.retention
    {
        item.basis = Some(CONTRACT_BASIS.to_string());
        item.note = Some(match runs_until {
            Some(end) => format!(
                "tied to a running contract (ends {end}): not erased while it runs; a person \
                 decides, e.g. whether the subject still works for the customer"
            ),
            None => "tied to a running contract (no end date): not erased while it runs; a \
                     person decides, e.g. whether the subject still works for the customer"
                .into(),
        });
        return item;
    }
    if let Some((basis, until)) = retention(record.retention.as_ref(), policy) {
        match until {
            // Kept through `until` itself: erasable from the day after.
            Some(until) if until < today => {
                item.note = Some(format!("retention period ended on {until}"));
            }
            _ => {
                item.action = Action::Retain;
                item.basis = Some(basis.to_string());
                item.retain_until = until;
                if until.is_none() {
                    item.note = Some("kept while the contract or matter is open".into());
                }
                return item;
            }
        }
    }
    let e = &record.erasability;
    // A record shared with other people is never deleted whole for one person: the subject's
    // part is anonymised where the vendor allows, else a person decides.
    if let Ownership::Shared(with) = &record.ownership {
        if e.anonymize_fields.is_empty() {
            item.note = Some(format!(
                "shared with other people ({with}): not deleted whole for one person; the \
                 processor offers no way to remove only the subject's part"
            ));
        } else {
            item.action = Action::Anonymize;
            item.note = Some(format!(
                "shared with other people ({with}): only the subject's part is cleared"
            ));
        }
        return item;
    }
    if e.delete && e.delete_blocked.is_none() {
        item.action = Action::Delete;
    } else if !e.anonymize_fields.is_empty() {
        item.action = Action::Anonymize;
        item.note = e
            .delete_blocked
            .as_ref()
            .map(|why| format!("cannot be deleted ({why}): anonymised instead"));
    } else {
        let refusal = match &e.delete_blocked {
            Some(why) => {
                format!("the processor refuses deletion ({why}) and offers no anonymisation")
            }
            None => "the processor offers no erasure for this object".into(),
        };
        // Keep "retention ended" in front: it is why a person must now act on the record.
        item.note = Some(match item.note.take() {
            Some(ended) => format!("{ended}; {refusal}: remove it in the processor by hand"),
            None => refusal,
        });
    }
    item
}

/// The planned action for one record in an access request: exact matches are exported,
/// loose ones only listed for review (disclosing a stranger's data would be a breach).
pub fn access_item(record: &Record) -> NewItem {
    let mut item = review_item(record);
    if record.matched_by.allows_erasure() {
        item.action = Action::Export;
        item.note = None;
    }
    item
}

/// The record as a review item: no action, with a note saying why when the match is loose.
fn review_item(record: &Record) -> NewItem {
    NewItem {
        reference: record.reference.clone(),
        matched_by: record.matched_by.as_str().to_string(),
        categories: record.categories.clone(),
        linked_to: record.linked_to.as_ref().map(ToString::to_string),
        action: Action::Review,
        fields: record.erasability.anonymize_fields.clone(),
        basis: None,
        retain_until: None,
        descriptor: record.descriptor.clone(),
        changes: Vec::new(),
        note: (!record.matched_by.allows_erasure()).then(|| {
            format!(
                "matched by {} only: a person must check whether this is the subject",
                record.matched_by.as_str()
            )
        }),
    }
}

fn retention(
    hint: Option<&RetentionHint>,
    policy: &PolicyConfig,
) -> Option<(&'static str, Option<Date>)> {
    let add = |date: Date, span: Span| date.checked_add(span).unwrap_or(Date::MAX);
    match hint? {
        // Counted from the end of the financial year the document belongs to: the
        // conservative reading of art. 52(4) AWR, as the Belastingdienst applies it.
        RetentionHint::Fiscal { document_date } => Some((
            FISCAL_BASIS,
            Some(add(
                policy.fiscal_year_end_of(*document_date),
                Span::new().years(policy.fiscal_retention_years),
            )),
        )),
        RetentionHint::Contract { ended, .. } => Some((
            CONTRACT_BASIS,
            ended.map(|d| add(d, Span::new().months(policy.contract_retention_months))),
        )),
        RetentionHint::Correspondence { closed } => Some((
            CORRESPONDENCE_BASIS,
            closed.map(|d| {
                add(
                    d,
                    Span::new().months(policy.correspondence_retention_months),
                )
            }),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsrhub_connector::{Erasability, MatchKind, RecordRef};
    use jiff::civil::date;

    fn record(
        matched_by: MatchKind,
        retention: Option<RetentionHint>,
        erasability: Erasability,
    ) -> Record {
        Record {
            ownership: dsrhub_connector::Ownership::Own,
            descriptor: Default::default(),
            reference: RecordRef::new("x", "1"),
            matched_by,
            categories: vec![],
            linked_to: None,
            retention,
            erasability,
        }
    }

    fn deletable() -> Erasability {
        Erasability {
            delete: true,
            delete_blocked: None,
            anonymize_fields: vec!["email".into()],
        }
    }

    const TODAY: Date = date(2026, 11, 25);

    #[test]
    fn loose_matches_go_to_review() {
        for kind in [MatchKind::Phone, MatchKind::Name] {
            let item = plan(
                &record(kind, None, deletable()),
                &PolicyConfig::default(),
                TODAY,
            );
            assert_eq!(item.action, Action::Review);
            let note = item.note.unwrap_or_default();
            assert!(
                note.contains(&format!("matched by {} only", kind.as_str())),
                "{note}"
            );
            // Access lists it for review too, with the same reason.
            let listed = access_item(&record(kind, None, deletable()));
            assert!(listed
                .note
                .unwrap_or_default()
                .contains("a person must check"));
        }
        // An exact match has no such note: it is the subject's.
        let exact = access_item(&record(MatchKind::ExactEmail, None, deletable()));
        assert_eq!(exact.note, None);
    }

    fn fiscal_until(document_date: Date, policy: &PolicyConfig) -> Option<Date> {
        let hint = RetentionHint::Fiscal { document_date };
        plan(
            &record(MatchKind::Linked, Some(hint), deletable()),
            policy,
            TODAY,
        )
        .retain_until
    }

    /// Issue 14.5: seven years from the end of the financial year, not from the invoice date.
    #[test]
    fn invoices_are_kept_seven_years_after_their_financial_year() {
        let hint = RetentionHint::Fiscal {
            document_date: date(2024, 3, 12),
        };
        let item = plan(
            &record(MatchKind::Linked, Some(hint), deletable()),
            &PolicyConfig::default(),
            TODAY,
        );
        assert_eq!(item.action, Action::Retain);
        assert_eq!(item.basis.as_deref(), Some(FISCAL_BASIS));
        assert_eq!(item.retain_until, Some(date(2031, 12, 31)));
        let policy = PolicyConfig::default();
        assert_eq!(
            fiscal_until(date(2024, 2, 29), &policy),
            Some(date(2031, 12, 31))
        );
        assert_eq!(
            fiscal_until(date(2024, 12, 31), &policy),
            Some(date(2031, 12, 31))
        );
        assert_eq!(
            fiscal_until(date(2025, 1, 1), &policy),
            Some(date(2032, 12, 31))
        );
        // A financial year that ends on 30 June.
        let june = PolicyConfig {
            fiscal_year_end: "06-30".into(),
            ..PolicyConfig::default()
        };
        assert_eq!(
            fiscal_until(date(2024, 3, 12), &june),
            Some(date(2031, 6, 30))
        );
        assert_eq!(
            fiscal_until(date(2024, 6, 30), &june),
            Some(date(2031, 6, 30))
        );
        assert_eq!(
            fiscal_until(date(2024, 7, 1), &june),
            Some(date(2032, 6, 30))
        );
    }

    #[test]
    fn invoices_past_retention_are_erased() {
        let hint = RetentionHint::Fiscal {
            document_date: date(2017, 3, 14),
        };
        let item = plan(
            &record(MatchKind::Linked, Some(hint), deletable()),
            &PolicyConfig::default(),
            date(2025, 1, 1),
        );
        assert_eq!(item.action, Action::Delete);
        assert!(item.note.unwrap().contains("2024-12-31"));
        // The last day of the retention period still keeps it.
        let item = plan(
            &record(
                MatchKind::Linked,
                Some(RetentionHint::Fiscal {
                    document_date: date(2017, 3, 14),
                }),
                deletable(),
            ),
            &PolicyConfig::default(),
            date(2024, 12, 31),
        );
        assert_eq!(item.action, Action::Retain, "kept through its last day");
    }

    #[test]
    fn open_matters_are_kept_without_a_date() {
        let hint = RetentionHint::Correspondence { closed: None };
        let item = plan(
            &record(MatchKind::ExactEmail, Some(hint), deletable()),
            &PolicyConfig::default(),
            TODAY,
        );
        assert_eq!(item.action, Action::Retain);
        assert_eq!(item.retain_until, None);
        let hint = RetentionHint::Correspondence {
            closed: Some(date(2026, 1, 31)),
        };
        let item = plan(
            &record(MatchKind::ExactEmail, Some(hint), deletable()),
            &PolicyConfig::default(),
            TODAY,
        );
        assert_eq!(item.retain_until, Some(date(2027, 1, 31)));
    }

    #[test]
    fn blocked_deletion_becomes_anonymisation() {
        let e = Erasability {
            delete_blocked: Some("linked to 3 invoices".into()),
            ..deletable()
        };
        let item = plan(
            &record(MatchKind::ExactEmail, None, e),
            &PolicyConfig::default(),
            TODAY,
        );
        assert_eq!(item.action, Action::Anonymize);
        assert_eq!(item.fields, vec!["email".to_string()]);
        let e = Erasability {
            delete: false,
            delete_blocked: None,
            anonymize_fields: vec![],
        };
        let item = plan(
            &record(MatchKind::ExactEmail, None, e),
            &PolicyConfig::default(),
            TODAY,
        );
        assert_eq!(item.action, Action::Review);
    }

    /// Issue 14.3: only the subject's own record is erased.
    #[test]
    fn shared_and_organisation_records_are_never_deleted_for_one_person() {
        let mut shared = record(MatchKind::ExactEmail, None, deletable());
        shared.ownership = Ownership::Shared("3 other recipients".into());
        let item = plan(&shared, &PolicyConfig::default(), TODAY);
        assert_eq!(item.action, Action::Anonymize, "only the subject's part");
        assert!(item.note.unwrap().contains("3 other recipients"));
        shared.erasability.anonymize_fields.clear();
        let item = plan(&shared, &PolicyConfig::default(), TODAY);
        assert_eq!(item.action, Action::Review);
        assert!(item.note.unwrap().contains("not deleted whole"));
        // Retention still keeps a shared record.
        shared.retention = Some(RetentionHint::Correspondence { closed: None });
        assert_eq!(
            plan(&shared, &PolicyConfig::default(), TODAY).action,
            Action::Retain
        );

        let mut org = record(MatchKind::ExactEmail, None, deletable());
        org.ownership = Ownership::Organisation("a role address".into());
        let item = plan(&org, &PolicyConfig::default(), TODAY);
        assert_eq!(item.action, Action::Review);
        assert!(item
            .note
            .unwrap()
            .contains("organisation data (a role address)"));
    }

    /// Issue 14.4: a running contract is never a reason to delete, nor silently to keep; once
    /// it has ended its data is kept `contract_retention_months` more.
    #[test]
    fn contract_data_is_reviewed_while_it_runs_and_kept_a_year_after() {
        let policy = PolicyConfig::default();
        let running = |runs_until| RetentionHint::Contract {
            ended: None,
            runs_until,
        };
        let item = plan(
            &record(
                MatchKind::ExactEmail,
                Some(running(Some(date(2030, 12, 31)))),
                deletable(),
            ),
            &policy,
            TODAY,
        );
        assert_eq!(item.action, Action::Review);
        assert_eq!(item.basis.as_deref(), Some(CONTRACT_BASIS));
        let note = item.note.unwrap();
        assert!(
            note.contains("running contract (ends 2030-12-31)"),
            "{note}"
        );
        let item = plan(
            &record(MatchKind::ExactEmail, Some(running(None)), deletable()),
            &policy,
            TODAY,
        );
        assert_eq!(item.action, Action::Review);
        assert!(item.note.unwrap().contains("no end date"));

        let ended = |d| RetentionHint::Contract {
            ended: Some(d),
            runs_until: None,
        };
        let item = plan(
            &record(
                MatchKind::ExactEmail,
                Some(ended(date(2026, 3, 31))),
                deletable(),
            ),
            &policy,
            TODAY,
        );
        assert_eq!(item.action, Action::Retain);
        assert_eq!(item.retain_until, Some(date(2027, 3, 31)));
        // Through the until-date itself, erasable the day after.
        let item = plan(
            &record(
                MatchKind::ExactEmail,
                Some(ended(date(2025, 11, 25))),
                deletable(),
            ),
            &policy,
            TODAY,
        );
        assert_eq!(item.action, Action::Retain);
        let item = plan(
            &record(
                MatchKind::ExactEmail,
                Some(ended(date(2025, 11, 24))),
                deletable(),
            ),
            &policy,
            TODAY,
        );
        assert_eq!(item.action, Action::Delete);
        assert!(item
            .note
            .unwrap()
            .contains("retention period ended on 2026-11-24"));
    }

    #[test]
    fn access_exports_exact_matches_only() {
        assert_eq!(
            access_item(&record(MatchKind::ExactEmail, None, deletable())).action,
            Action::Export
        );
        let hint = RetentionHint::Fiscal {
            document_date: date(2025, 1, 1),
        };
        assert_eq!(
            access_item(&record(MatchKind::Linked, Some(hint), deletable())).action,
            Action::Export
        );
        assert_eq!(
            access_item(&record(MatchKind::Name, None, deletable())).action,
            Action::Review
        );
    }

    #[test]
    fn a_legal_hold_keeps_what_would_be_erased_and_nothing_else_changes() {
        let policy = PolicyConfig::default();
        let today = date(2026, 12, 6);
        let deleted = plan(
            &record(MatchKind::ExactEmail, None, deletable()),
            &policy,
            today,
        );
        assert_eq!(deleted.action, Action::Delete);
        let held = under_hold(deleted);
        assert_eq!(held.action, Action::Retain);
        assert_eq!(held.basis.as_deref(), Some(LEGAL_HOLD_BASIS));
        assert_eq!(held.retain_until, None);
        // A name match stays for review; a fiscal document keeps its own basis and date.
        let review = plan(&record(MatchKind::Name, None, deletable()), &policy, today);
        assert_eq!(under_hold(review.clone()).action, review.action);
        assert_eq!(under_hold(review.clone()).note, review.note);
        let fiscal = plan(
            &record(
                MatchKind::Linked,
                Some(RetentionHint::Fiscal {
                    document_date: date(2025, 3, 1),
                }),
                deletable(),
            ),
            &policy,
            today,
        );
        let kept = under_hold(fiscal.clone());
        assert_eq!(
            (kept.basis, kept.retain_until),
            (fiscal.basis, fiscal.retain_until)
        );
    }
}
