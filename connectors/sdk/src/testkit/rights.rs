//! The test kit's cases for rectification, restriction (and its lifting) and objection.
//!
//! Each runs against the connector's fake with the harness's fixture subject. Where the
//! connector declares the right ([`Capability`]), at least one of the subject's records must
//! get a change, the fake's state must show it, a second read ([`Connector::export`]) must
//! show it, proposing again must find nothing left to do, and every other record must be
//! unchanged. Where it does not, no record may be proposed a change: the declared
//! capabilities are what the dashboard and `docs/rights.md` tell people.

use std::collections::BTreeSet;

use crate::model::{Capability, Record, RecordRef};
use crate::rights::{Change, Field, FieldChange, Proposal, Purpose};

use super::{others_unchanged, records_in, Harness};

/// The phone number the kit's rectification writes.
pub const KIT_PHONE: &str = "+31 20 555 0142";
/// The job title it writes: quotes and an ampersand, so a body built by hand shows.
pub const KIT_TITLE: &str = "Hoofd 'ICT' & \"beheer\"";

/// The records a change may act on: exact matches that are the subject's own.
fn changeable(records: &[Record]) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| r.matched_by.allows_erasure() && r.ownership.is_own())
        .collect()
}

/// What the connector proposes for each changeable record of the fixture subject.
async fn proposals<H: Harness>(h: &H, change: &Change) -> Vec<(RecordRef, Option<Proposal>)> {
    let connector = h.connector();
    let records = connector.discover(&h.subject()).await.expect("discover");
    let mut out = Vec::new();
    for r in changeable(&records) {
        let proposal = connector
            .propose(&r.reference, change)
            .await
            .unwrap_or_else(|e| panic!("propose for {}: {e}", r.reference));
        if let Some(Proposal::Change { changes }) = &proposal {
            assert!(!changes.is_empty(), "an empty change for {}", r.reference);
        }
        if let Some(Proposal::Refused { reason, instead }) = &proposal {
            assert!(
                !reason.is_empty() && !instead.is_empty(),
                "a refusal for {} says why and where instead",
                r.reference
            );
        }
        out.push((r.reference.clone(), proposal));
    }
    out
}

fn changes_of(proposals: &[(RecordRef, Option<Proposal>)]) -> Vec<(RecordRef, Vec<FieldChange>)> {
    proposals
        .iter()
        .filter_map(|(r, p)| match p {
            Some(Proposal::Change { changes }) => Some((r.clone(), changes.clone())),
            _ => None,
        })
        .collect()
}

/// A connector that does not declare `capability` proposes no change for it.
fn none_without(capability: Capability, proposals: &[(RecordRef, Option<Proposal>)]) {
    if let Some((record, _)) = proposals
        .iter()
        .find(|(_, p)| matches!(p, Some(Proposal::Change { .. })))
    {
        panic!("{record} gets a change, but the connector does not declare {capability:?}");
    }
}

/// Each record's content in the fake's state (every path holding it), to compare.
fn contents(state: &serde_json::Value, separate: &[&str], id: &str) -> Vec<String> {
    records_in(state, separate)
        .into_values()
        .filter(|(record, _)| record == id)
        .map(|(_, content)| content)
        .collect()
}

/// Apply every change, then propose `again` for each changed record: nothing may be left.
async fn apply_and_verify<H: Harness>(
    h: &H,
    planned: &[(RecordRef, Vec<FieldChange>)],
    again: impl Fn(&[FieldChange]) -> Change,
) {
    let connector = h.connector();
    for (record, changes) in planned {
        connector
            .apply(record, changes)
            .await
            .unwrap_or_else(|e| panic!("apply to {record}: {e}"));
        // Idempotent: writing the values the record now has succeeds.
        connector
            .apply(record, changes)
            .await
            .unwrap_or_else(|e| panic!("apply twice to {record}: {e}"));
        let read_back = connector
            .propose(record, &again(changes))
            .await
            .expect("propose again");
        assert_eq!(
            read_back,
            Some(Proposal::Unchanged),
            "{record} reads back with something still to change"
        );
    }
}

/// Changes in the fake: each changed record's content differs, and nobody else's does.
fn only_these_changed<H: Harness>(
    h: &H,
    before: &serde_json::Value,
    planned: &[(RecordRef, Vec<FieldChange>)],
) -> serde_json::Value {
    let after = h.fake().state_json();
    let separate = h.fake().separate_records();
    let changed: BTreeSet<RecordRef> = planned.iter().map(|(r, _)| r.clone()).collect();
    others_unchanged(before, &after, &changed, separate);
    for record in &changed {
        assert_ne!(
            contents(before, separate, &record.id),
            contents(&after, separate, &record.id),
            "{record} is the same in the fake's state after the change"
        );
    }
    after
}

/// Rectification: the phone number and job title of the subject's records are corrected
/// where the vendor keeps them; the fake and a second read show the new values.
pub async fn rectify_then_read_back<H: Harness>() {
    let h = H::start().await;
    let connector = h.connector();
    let change = Change::Rectify {
        values: [
            (Field::Phone, KIT_PHONE.to_string()),
            (Field::JobTitle, KIT_TITLE.to_string()),
        ]
        .into(),
    };
    let proposed = proposals(&h, &change).await;
    if !connector
        .describe()
        .capabilities
        .contains(&Capability::Rectify)
    {
        return none_without(Capability::Rectify, &proposed);
    }
    let planned = changes_of(&proposed);
    assert!(
        !planned.is_empty(),
        "the connector rectifies, but nothing of the fixture subject gets a change"
    );
    for (record, changes) in &planned {
        for c in changes {
            assert!(
                c.to == KIT_PHONE || c.to == KIT_TITLE || c.to.to_string().contains(KIT_PHONE),
                "{record}: `{}` is set to something not asked",
                c.field
            );
        }
    }
    let before = h.fake().state_json();
    apply_and_verify(&h, &planned, |_| change.clone()).await;
    let after = only_these_changed(&h, &before, &planned);
    let separate = h.fake().separate_records();
    for (record, _) in &planned {
        assert!(
            contents(&after, separate, &record.id)
                .iter()
                .any(|c| c.contains(KIT_PHONE) || c.contains("Hoofd 'ICT'")),
            "the fake's {record} does not hold the corrected value"
        );
        let exported = connector.export(record).await.expect("export");
        let text = exported.data.to_string();
        assert!(
            text.contains(KIT_PHONE) || text.contains("Hoofd 'ICT'"),
            "a second read of {record} does not show the corrected value"
        );
    }
}

/// Restriction marks the subject's records (the fake's state shows it, proposing again
/// finds nothing to do), and lifting it either puts back exactly what it changed or hands
/// the record to a person with where to do it; it never reports a restricted record as
/// already back.
pub async fn restrict_then_lift<H: Harness>() {
    let h = H::start().await;
    let connector = h.connector();
    let proposed = proposals(&h, &Change::Restrict).await;
    if !connector
        .describe()
        .capabilities
        .contains(&Capability::Restrict)
    {
        return none_without(Capability::Restrict, &proposed);
    }
    let planned = changes_of(&proposed);
    assert!(
        !planned.is_empty(),
        "the connector restricts, but nothing of the fixture subject gets a mark"
    );
    let before = h.fake().state_json();
    apply_and_verify(&h, &planned, |_| Change::Restrict).await;
    only_these_changed(&h, &before, &planned);

    let separate = h.fake().separate_records();
    let mut lifted = Vec::new();
    for (record, restricted) in &planned {
        let lift = Change::Restore {
            restricted: restricted.clone(),
        };
        match connector
            .propose(record, &lift)
            .await
            .expect("propose lift")
        {
            Some(Proposal::Change { changes }) => lifted.push((record.clone(), changes)),
            Some(Proposal::Refused { reason, instead }) => {
                assert!(!reason.is_empty() && !instead.is_empty())
            }
            other => panic!("{record} is restricted, but lifting it proposes {other:?}"),
        }
    }
    apply_and_verify(&h, &lifted, |changes| Change::Restore {
        restricted: changes
            .iter()
            .map(|c| FieldChange::new(c.field.clone(), c.to.clone(), c.from.clone()))
            .collect(),
    })
    .await;
    let after = h.fake().state_json();
    for (record, _) in &lifted {
        assert_eq!(
            contents(&before, separate, &record.id),
            contents(&after, separate, &record.id),
            "{record} is not as it was before the restriction"
        );
    }
}

/// Objection to the newsletter sets the vendor's opt-out flag on the subject's records
/// (the fake's state shows it, proposing again finds nothing to do).
pub async fn object_sets_the_opt_out<H: Harness>() {
    let h = H::start().await;
    let change = Change::Object {
        purpose: Purpose::Newsletter,
    };
    let proposed = proposals(&h, &change).await;
    if !h
        .connector()
        .describe()
        .capabilities
        .contains(&Capability::Object)
    {
        return none_without(Capability::Object, &proposed);
    }
    let planned = changes_of(&proposed);
    assert!(
        !planned.is_empty(),
        "the connector sets opt-outs, but nothing of the fixture subject gets one"
    );
    let before = h.fake().state_json();
    apply_and_verify(&h, &planned, |_| change.clone()).await;
    only_these_changed(&h, &before, &planned);
}
