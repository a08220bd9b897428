//! The connector test kit: one compliance suite every connector runs against its own fake,
//! the way every vector sink passes one shared suite.
//!
//! A connector crate implements [`Harness`] (start its fake, build a connector pointed at it,
//! name a fixture subject) and [`FakeControl`] on its fake, then expands
//! [`connector_test_kit!`](crate::connector_test_kit) in a test file. The suite covers:
//! discovery of the fixture subject, export, erase then re-discover (and everyone else's
//! records unchanged), erase twice, 429 with and
//! without `Retry-After`, 5xx until retries are exhausted, 401 → one refresh → re-authorise,
//! rotated credentials picked up, paging across pages, the injection corpus, and no secret or
//! identifier in `Debug` output, errors or log lines; and rectification, restriction and its
//! lifting, and objection where the connector declares them ([`rights`]).

pub mod conformance;
pub mod deviations;
mod logs;
pub mod rights;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use logs::capture_logs;
pub use rights::{object_sets_the_opt_out, rectify_then_read_back, restrict_then_lift};

use crate::connector::Connector;
use crate::error::ErrorKind;
use crate::http::HttpSettings;
use crate::model::{EraseAction, EraseOutcome, Record, RecordRef, Subject};

/// A fault the fake injects into its next answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The next `count` requests are answered with `status`; with `retry_after`, the answer
    /// carries the vendor's wait header (in the vendor's own format).
    Status {
        /// The HTTP status to answer.
        status: u16,
        /// How many requests get it.
        count: u32,
        /// The wait a 429 announces.
        retry_after: Option<Duration>,
    },
    /// Every answer is delayed by this much.
    Slow(Duration),
    /// The credential in use stops working: every request answers 401 until
    /// [`FakeControl::rotate_credentials`] issues a new one.
    ExpireCredentials,
}

/// What the suite needs from a fake vendor. Faults and the call log are the shared
/// [`crate::fakekit`] pieces every fake holds; the rest is the vendor's own.
pub trait FakeControl: Send + Sync {
    /// The fake's fault switch.
    fn faults(&self) -> &crate::fakekit::Faults;
    /// The fake's log of received calls.
    fn call_log(&self) -> &crate::fakekit::CallLog;
    /// Whether the record still exists in the fake's state.
    fn contains(&self, record: &RecordRef) -> bool;
    /// A digest of the whole state, to prove nothing changed: the state as JSON.
    fn state_digest(&self) -> String;

    /// Keys under which the state nests records of their own inside another record (a
    /// company contact's `contact_people`); everything else nested in a record is part of it.
    fn separate_records(&self) -> &'static [&'static str] {
        &[]
    }

    /// The whole state as JSON, for per-record comparisons ([`others_unchanged`]).
    fn state_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.state_digest()).expect("state_digest is the state's JSON")
    }
    /// Force small pages (`None` = the vendor's default).
    fn set_page_size(&self, size: Option<usize>);
    /// Issue a new credential (the old one stops working) and return it.
    fn rotate_credentials(&self) -> String;

    /// Switch a fault on. Vendors without a `Retry-After` header ignore the hint.
    fn inject(&self, fault: Fault) {
        match fault {
            Fault::Status {
                status,
                count,
                retry_after,
            } => self.faults().fail_next(status, count, retry_after),
            Fault::Slow(delay) => self.faults().set_slow(Some(delay)),
            Fault::ExpireCredentials => self.faults().expire_credentials(),
        }
    }

    /// Switch all faults off.
    fn clear_faults(&self) {
        self.faults().clear();
    }

    /// Requests received so far (all endpoints, all answers).
    fn requests_seen(&self) -> u64 {
        self.call_log().requests_seen()
    }
}

/// Glue between the suite and one connector.
#[async_trait]
pub trait Harness: Sized + Send + Sync {
    /// Start the fake with fixture state and build a connector pointed at it, using
    /// [`fast_http_settings`].
    async fn start() -> Self;
    /// The connector under test.
    fn connector(&self) -> Arc<dyn Connector>;
    /// The fake behind it.
    fn fake(&self) -> &dyn FakeControl;
    /// A fixture subject with at least one record that can be deleted or anonymised.
    fn subject(&self) -> Subject;
    /// Every secret value the connector holds; none may appear in logs or `Debug`.
    fn secret_values(&self) -> Vec<String>;
    /// Put a new credential where the connector's secret reference points.
    fn store_credential(&self, value: &str);
}

/// HTTP settings for tests: few, fast retries.
pub fn fast_http_settings() -> HttpSettings {
    HttpSettings {
        timeout_seconds: 5.0,
        max_retries: 3,
        initial_backoff_ms: 10,
        max_backoff_seconds: 0.2,
        max_server_wait_seconds: 2.0,
        throttle_wait_seconds: Some(0.05),
        ..HttpSettings::default()
    }
}

/// Values that must never widen a query: quotes, boolean syntax, wildcards, parameter
/// injection, separators of each vendor syntax.
pub const INJECTION_CORPUS: &[&str] = &[
    "x@y.nl' or 'a'='a",
    "x@y.nl&query=",
    "x@y.nl\" or \"\"=\"",
    "x@y.nl') or (1 eq 1",
    "x@y.nl or 1 eq 1",
    "' or 1 eq 1 or ''='",
    "*@*",
    "%@%",
    "@",
    "*",
    "x@y.nl,contact_id:1",
    "x@y.nl\"}],\"op\":\"or",
    "OR",
];

/// The kit's own erase choice for a record, independent of the hub's policy: delete where the
/// vendor allows it, otherwise anonymise; records under retention or matched loosely are left.
pub fn kit_action(record: &Record) -> Option<EraseAction> {
    if !record.matched_by.allows_erasure()
        || record.retention.is_some()
        || !record.ownership.is_own()
    {
        return None;
    }
    let e = &record.erasability;
    if e.delete && e.delete_blocked.is_none() {
        Some(EraseAction::Delete)
    } else if !e.anonymize_fields.is_empty() {
        Some(EraseAction::Anonymize {
            fields: e.anonymize_fields.clone(),
        })
    } else {
        None
    }
}

/// A vendor's published API description from `../shared/specs/` (beside the repository; or
/// the directory in `DSRHUB_SPECS_DIR`), parsed. `None`, with a note on stderr, when it is
/// not there, unless `DSRHUB_REQUIRE_SPECS` is set (as CI sets it): then a missing spec fails.
pub fn vendor_spec(file: &str) -> Option<serde_json::Value> {
    let dir = std::env::var_os("DSRHUB_SPECS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs")
        });
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("the vendor's spec is JSON")),
        Err(e) if std::env::var_os("DSRHUB_REQUIRE_SPECS").is_some() => {
            panic!("{}: {e} (DSRHUB_REQUIRE_SPECS is set)", path.display())
        }
        Err(_) => {
            eprintln!(
                "skipped: {} is not there (set DSRHUB_SPECS_DIR, or DSRHUB_REQUIRE_SPECS to fail)",
                path.display()
            );
            None
        }
    }
}

/// Microsoft Graph's OpenAPI slice: the one `.ci/graph-slice` built from the CSDL with the
/// paths added since the shared slice was made, when `DSRHUB_GRAPH_SLICE` names it (CI sets
/// it; then it must be there), else `../shared/specs/graph-v1.0-slice.json` as
/// [`vendor_spec`] finds it.
pub fn graph_slice() -> Option<serde_json::Value> {
    match std::env::var_os("DSRHUB_GRAPH_SLICE") {
        Some(path) => {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (DSRHUB_GRAPH_SLICE is set; .ci/graph-slice builds it)",
                    std::path::Path::new(&path).display()
                )
            });
            Some(serde_json::from_str(&text).expect("the Graph slice is JSON"))
        }
        None => vendor_spec("graph-v1.0-slice.json"),
    }
}

/// The property names of the OpenAPI schema `node` (e.g. `{"$ref": "#/components/schemas/x"}`
/// or a request body's schema), following `$ref` and `allOf` (Swagger 2.0 `definitions` too).
pub fn spec_properties(spec: &serde_json::Value, node: &serde_json::Value) -> BTreeSet<String> {
    fn collect(spec: &serde_json::Value, node: &serde_json::Value, out: &mut BTreeSet<String>) {
        if let Some(reference) = node.get("$ref").and_then(|r| r.as_str()) {
            let name = reference.rsplit('/').next().unwrap_or_default();
            let target = spec
                .pointer(&format!("/components/schemas/{name}"))
                .or_else(|| spec.pointer(&format!("/definitions/{name}")));
            if let Some(target) = target {
                collect(spec, target, out);
            }
            return;
        }
        if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
            out.extend(props.keys().cloned());
        }
        for part in node
            .get("allOf")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
        {
            collect(spec, part, out);
        }
    }
    let mut out = BTreeSet::new();
    collect(spec, node, &mut out);
    out
}

/// Resolve `node` if it is a `$ref` into `spec`'s components or definitions.
pub fn spec_resolve<'a>(
    spec: &'a serde_json::Value,
    node: &'a serde_json::Value,
) -> &'a serde_json::Value {
    let Some(reference) = node.get("$ref").and_then(|r| r.as_str()) else {
        return node;
    };
    let target = match reference.strip_prefix('#') {
        Some(pointer) => spec.pointer(pointer),
        None => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            spec.pointer(&format!("/components/schemas/{name}"))
                .or_else(|| spec.pointer(&format!("/definitions/{name}")))
        }
    };
    target.map_or(node, |target| spec_resolve(spec, target))
}

/// The paths of `after` that still hold personal data of `before`: every text value of
/// `before` (outside the `kept` fields, at any depth, and at least 2 characters) that `after`
/// still holds outside the `kept` fields, equal or (for values of 5 characters or more) inside
/// a longer text. Empty when the anonymisation left nothing of the person.
pub fn personal_values_left(
    before: &serde_json::Value,
    after: &serde_json::Value,
    kept: &[&str],
) -> Vec<String> {
    use serde_json::Value;
    fn texts(v: &Value, path: &str, kept: &[&str], out: &mut Vec<(String, String)>) {
        match v {
            Value::String(s) if s.trim().chars().count() >= 2 => {
                out.push((path.to_string(), s.trim().to_lowercase()))
            }
            Value::Object(map) => {
                for (k, child) in map.iter().filter(|(k, _)| !kept.contains(&k.as_str())) {
                    texts(child, &format!("{path}/{k}"), kept, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    texts(child, &format!("{path}/{i}"), kept, out);
                }
            }
            _ => {}
        }
    }
    let mut personal = Vec::new();
    texts(before, "", kept, &mut personal);
    let mut now = Vec::new();
    texts(after, "", kept, &mut now);
    now.into_iter()
        .filter(|(_, value)| {
            personal.iter().any(|(_, old)| {
                value == old || (old.chars().count() >= 5 && value.contains(old.as_str()))
            })
        })
        .map(|(path, _)| path)
        .collect()
}

/// Fields that record bookkeeping, not content: a vendor bumps them on a parent when one of
/// its children goes, which changes nobody's data.
const BOOKKEEPING: &[&str] = &[
    "version",
    "updated_at",
    "updatedAt",
    "updated-at",
    "lastModifiedDateTime",
    "LastModifiedDateTime",
    "Modified",
    "lastActivityDate",
];

/// Every record in a fake's state, by its JSON path, with its content: a JSON object with an
/// `id` (or `ID`) that is not inside another record. What is nested in a record is part of it
/// (a contact's notes, custom field values), except under the keys in `separate`, which hold
/// records of their own (a company contact's `contact_people`). Bookkeeping fields are left
/// out of the content.
pub fn records_in(
    state: &serde_json::Value,
    separate: &[&str],
) -> std::collections::BTreeMap<String, (String, String)> {
    use serde_json::Value;
    fn id_of(v: &Value) -> Option<String> {
        let id = v.get("id").or_else(|| v.get("ID"))?;
        match id {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    fn content(v: &Value, separate: &[&str]) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| {
                        !BOOKKEEPING.contains(&k.as_str()) && !separate.contains(&k.as_str())
                    })
                    .map(|(k, v)| (k.clone(), content(v, separate)))
                    .collect(),
            ),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| content(v, separate)).collect())
            }
            other => other.clone(),
        }
    }
    struct Walk<'a> {
        separate: &'a [&'a str],
        out: std::collections::BTreeMap<String, (String, String)>,
    }
    impl Walk<'_> {
        fn visit(&mut self, v: &Value, path: &str, inside: bool) {
            let is_record = !inside && id_of(v).is_some();
            if is_record {
                let id = id_of(v).unwrap_or_default();
                let own = content(v, self.separate).to_string();
                self.out.insert(path.to_string(), (id, own));
            }
            let inside = inside || is_record;
            match v {
                Value::Object(map) => {
                    for (k, child) in map {
                        // Records of their own start again under a separate key.
                        let nested = inside && !self.separate.contains(&k.as_str());
                        self.visit(child, &format!("{path}/{k}"), nested);
                    }
                }
                Value::Array(items) => {
                    // Keyed by id where there is one, so a removed sibling shifts nothing.
                    for (i, child) in items.iter().enumerate() {
                        let key = id_of(child).unwrap_or_else(|| i.to_string());
                        self.visit(child, &format!("{path}/[{key}]"), inside);
                    }
                }
                _ => {}
            }
        }
    }
    let mut walk = Walk {
        separate,
        out: std::collections::BTreeMap::new(),
    };
    walk.visit(state, "", false);
    walk.out
}

/// Everyone else's data is untouched: every record of `before` (see [`records_in`]) whose id
/// is not among `erased` is still in `after`, with the same content. Panics naming the first
/// that is not (by path and id, which are fixture ids, not personal data).
pub fn others_unchanged(
    before: &serde_json::Value,
    after: &serde_json::Value,
    erased: &BTreeSet<RecordRef>,
    separate: &[&str],
) {
    let erased_ids: BTreeSet<&str> = erased.iter().map(|r| r.id.as_str()).collect();
    let after = records_in(after, separate);
    let mut checked = 0;
    for (path, (id, content)) in records_in(before, separate) {
        if erased_ids.contains(id.as_str()) {
            continue;
        }
        checked += 1;
        match after.get(&path) {
            None => panic!("{path} (id {id}) is gone, but it was not the subject's"),
            Some((_, now)) if *now != content => {
                panic!("{path} (id {id}) changed, but it was not the subject's")
            }
            Some(_) => {}
        }
    }
    assert!(
        checked > 0,
        "the fake's state holds no records of anyone else"
    );
}

fn refs(records: &[Record]) -> BTreeSet<RecordRef> {
    records.iter().map(|r| r.reference.clone()).collect()
}

/// The fixture subject is found, by exact match, and every record is well formed.
pub async fn discover_finds_the_fixture_subject<H: Harness>() {
    let h = H::start().await;
    let records = h
        .connector()
        .discover(&h.subject())
        .await
        .expect("discover");
    assert!(
        records.iter().any(|r| r.matched_by.allows_erasure()),
        "no exact match for the fixture subject"
    );
    assert!(
        records.iter().any(|r| kit_action(r).is_some()),
        "fixture subject has nothing erasable"
    );
    for r in &records {
        assert!(
            !r.reference.id.is_empty() && !r.reference.object.is_empty(),
            "malformed {r:?}"
        );
    }
    assert_eq!(refs(&records).len(), records.len(), "duplicate records");
}

/// Every exactly-matched record can be exported, and the export is of that record.
pub async fn export_returns_each_record<H: Harness>() {
    let h = H::start().await;
    let connector = h.connector();
    let records = connector.discover(&h.subject()).await.expect("discover");
    for r in records.iter().filter(|r| r.matched_by.allows_erasure()) {
        let exported = connector.export(&r.reference).await.expect("export");
        assert_eq!(exported.reference, r.reference);
        assert!(
            exported.data.is_object(),
            "export of {} is not a JSON object",
            r.reference
        );
    }
}

/// Erasure really changes the fake, and a second discovery proves it; every record that was
/// not the subject's is unchanged.
pub async fn erase_then_rediscover<H: Harness>() {
    let h = H::start().await;
    let connector = h.connector();
    let subject = h.subject();
    let before = h.fake().state_json();
    let records = connector.discover(&subject).await.expect("discover");
    let mut erased = BTreeSet::new();
    for r in &records {
        let Some(action) = kit_action(r) else {
            continue;
        };
        let outcome = connector.erase(&r.reference, &action).await.expect("erase");
        match (&action, &outcome) {
            (EraseAction::Delete, EraseOutcome::Deleted) => {
                assert!(
                    !h.fake().contains(&r.reference),
                    "{} still in the fake after delete",
                    r.reference
                )
            }
            (EraseAction::Anonymize { .. }, EraseOutcome::Anonymized { .. }) => {}
            other => panic!("unexpected outcome {other:?} for {}", r.reference),
        }
        erased.insert(r.reference.clone());
    }
    assert!(!erased.is_empty());
    others_unchanged(
        &before,
        &h.fake().state_json(),
        &erased,
        h.fake().separate_records(),
    );
    let again = connector.discover(&subject).await.expect("second discover");
    for r in again.iter().filter(|r| r.matched_by.allows_erasure()) {
        assert!(
            !erased.contains(&r.reference),
            "{} still matches after erasure",
            r.reference
        );
    }
}

/// Erasing twice is success: the second delete finds the record gone.
pub async fn erase_twice_is_idempotent<H: Harness>() {
    let h = H::start().await;
    let connector = h.connector();
    let records = connector.discover(&h.subject()).await.expect("discover");
    let deletable = records
        .iter()
        .find(|r| kit_action(r) == Some(EraseAction::Delete))
        .expect("fixture subject has a deletable record");
    let first = connector
        .erase(&deletable.reference, &EraseAction::Delete)
        .await
        .expect("first erase");
    assert_eq!(first, EraseOutcome::Deleted);
    let second = connector
        .erase(&deletable.reference, &EraseAction::Delete)
        .await
        .expect("second erase");
    assert_eq!(second, EraseOutcome::AlreadyGone);
}

/// 429 with the vendor's wait header, then success.
pub async fn throttled_with_retry_after_then_success<H: Harness>() {
    throttled_then_success::<H>(Some(Duration::from_millis(300))).await;
}

/// 429 without any hint, then success.
pub async fn throttled_without_retry_after_then_success<H: Harness>() {
    throttled_then_success::<H>(None).await;
}

async fn throttled_then_success<H: Harness>(retry_after: Option<Duration>) {
    let h = H::start().await;
    let connector = h.connector();
    let baseline = connector.discover(&h.subject()).await.expect("discover");
    h.fake().inject(Fault::Status {
        status: 429,
        count: 2,
        retry_after,
    });
    let before = h.fake().requests_seen();
    let records = connector
        .discover(&h.subject())
        .await
        .expect("discover after throttling");
    assert_eq!(refs(&records), refs(&baseline));
    assert!(
        h.fake().requests_seen() >= before + 2,
        "the 429s were not retried"
    );
}

/// 5xx on every answer: retries run out and the error is retryable (the task can resume).
pub async fn server_errors_exhaust_retries<H: Harness>() {
    let h = H::start().await;
    // Warm up first: a connector may set itself up lazily (e.g. Autotask's zone lookup).
    h.connector()
        .discover(&h.subject())
        .await
        .expect("warm-up discover");
    h.fake().inject(Fault::Status {
        status: 503,
        count: u32::MAX,
        retry_after: None,
    });
    let before = h.fake().requests_seen();
    let err = h
        .connector()
        .discover(&h.subject())
        .await
        .expect_err("discover must fail");
    assert_eq!(err.kind, ErrorKind::Retryable, "{err}");
    let sent = h.fake().requests_seen() - before;
    let expected = fast_http_settings().max_retries as u64 + 1;
    assert_eq!(
        sent,
        expected,
        "expected one attempt plus {} retries",
        expected - 1
    );
}

/// A rejected credential is refreshed once; when that does not help, the error says to
/// re-authorise and is not retried.
pub async fn unauthorized_refreshes_once_then_asks_to_reauthorise<H: Harness>() {
    let h = H::start().await;
    h.connector()
        .discover(&h.subject())
        .await
        .expect("warm-up discover");
    h.fake().inject(Fault::ExpireCredentials);
    let before = h.fake().requests_seen();
    let err = h
        .connector()
        .discover(&h.subject())
        .await
        .expect_err("discover must fail");
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    let sent = h.fake().requests_seen() - before;
    assert!(sent <= 2, "a rejected credential was retried {sent} times");
}

/// A credential rotated where the secret reference points is picked up after one 401.
pub async fn rotated_credentials_are_picked_up<H: Harness>() {
    let h = H::start().await;
    let new = h.fake().rotate_credentials();
    h.store_credential(&new);
    let records = h
        .connector()
        .discover(&h.subject())
        .await
        .expect("discover with rotated credential");
    assert!(records.iter().any(|r| r.matched_by.allows_erasure()));
}

/// Small pages give the same records as large ones, and really take more requests.
pub async fn paging_across_pages<H: Harness>() {
    let h = H::start().await;
    let connector = h.connector();
    let subject = h.subject();
    let before = h.fake().requests_seen();
    let large = connector.discover(&subject).await.expect("discover");
    let large_requests = h.fake().requests_seen() - before;
    h.fake().set_page_size(Some(1));
    let before = h.fake().requests_seen();
    let small = connector
        .discover(&subject)
        .await
        .expect("discover with one item per page");
    let small_requests = h.fake().requests_seen() - before;
    assert_eq!(refs(&small), refs(&large));
    assert!(
        small_requests > large_requests,
        "page size 1 did not page ({small_requests} vs {large_requests})"
    );
}

/// No injection value matches anyone exactly, and erasing whatever came back changes nothing.
pub async fn injection_corpus_widens_nothing<H: Harness>() {
    let h = H::start().await;
    let connector = h.connector();
    let digest = h.fake().state_digest();
    for value in INJECTION_CORPUS {
        let subject = Subject {
            emails: vec![value.to_string()],
            ..Subject::default()
        };
        let records = match connector.discover(&subject).await {
            Ok(records) => records,
            Err(e) if e.kind == ErrorKind::InvalidInput => continue,
            Err(e) => panic!("discover failed for an injection value: {e}"),
        };
        for r in &records {
            assert!(
                !r.matched_by.allows_erasure(),
                "injection value {value:?} matched {} exactly",
                r.reference
            );
            if let Some(action) = kit_action(r) {
                connector.erase(&r.reference, &action).await.expect("erase");
            }
        }
    }
    assert_eq!(
        h.fake().state_digest(),
        digest,
        "the injection corpus changed the fake's state"
    );
}

/// No secret and no identifier of the subject in `Debug` output, error messages or any log
/// line (at TRACE level) during discovery, export, erasure and failures.
pub async fn no_secret_or_identifier_leaks<H: Harness>() {
    let h = H::start().await;
    let connector = h.connector();
    let subject = h.subject();
    let mut texts = vec![format!("{connector:?}"), format!("{subject:?}")];
    let (logs, errors) = capture_logs(async {
        let mut errors = Vec::new();
        let records = connector.discover(&subject).await.expect("discover");
        for r in &records {
            if r.matched_by.allows_erasure() {
                let exported = connector.export(&r.reference).await.expect("export");
                errors.push(format!("{exported:?}"));
            }
        }
        h.fake().inject(Fault::Status {
            status: 429,
            count: 1,
            retry_after: Some(Duration::from_millis(50)),
        });
        h.fake().inject(Fault::Status {
            status: 500,
            count: 1,
            retry_after: None,
        });
        for r in &records {
            if let Some(action) = kit_action(r) {
                connector.erase(&r.reference, &action).await.expect("erase");
            }
        }
        h.fake().inject(Fault::Status {
            status: 500,
            count: u32::MAX,
            retry_after: None,
        });
        if let Err(e) = connector.discover(&subject).await {
            errors.push(e.to_string());
        }
        h.fake().clear_faults();
        h.fake().inject(Fault::ExpireCredentials);
        if let Err(e) = connector.discover(&subject).await {
            errors.push(e.to_string());
        }
        errors
    })
    .await;
    assert!(
        !logs.is_empty(),
        "no log lines were captured: the kit cannot check them"
    );
    texts.push(logs);
    texts.extend(errors);
    let mut forbidden = h.secret_values();
    forbidden.extend(subject.emails.iter().cloned());
    forbidden.extend(subject.phones.iter().cloned());
    forbidden.extend(subject.names.iter().cloned());
    for text in &texts {
        for needle in forbidden.iter().filter(|n| n.len() >= 4) {
            assert!(
                !text.contains(needle.as_str()),
                "leaked a secret or identifier in: {text}"
            );
            let lower = needle.to_lowercase();
            assert!(
                !text.to_lowercase().contains(&lower),
                "leaked a secret or identifier in: {text}"
            );
        }
    }
}

/// Expand the whole suite as `#[tokio::test]`s for a [`Harness`] type.
#[macro_export]
macro_rules! connector_test_kit {
    ($harness:ty) => {
        mod connector_test_kit {
            #[allow(unused_imports)]
            use super::*;
            $crate::connector_test_kit!(@tests $harness;
                discover_finds_the_fixture_subject,
                export_returns_each_record,
                erase_then_rediscover,
                erase_twice_is_idempotent,
                throttled_with_retry_after_then_success,
                throttled_without_retry_after_then_success,
                server_errors_exhaust_retries,
                unauthorized_refreshes_once_then_asks_to_reauthorise,
                rotated_credentials_are_picked_up,
                paging_across_pages,
                injection_corpus_widens_nothing,
                no_secret_or_identifier_leaks,
                rectify_then_read_back,
                restrict_then_lift,
                object_sets_the_opt_out,
            );
        }
    };
    (@tests $harness:ty; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::testkit::$name::<$harness>().await;
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PEOPLE: &[&str] = &["contact_people"];

    fn erased(ids: &[&str]) -> BTreeSet<RecordRef> {
        ids.iter().map(|id| RecordRef::new("x", *id)).collect()
    }

    fn state() -> serde_json::Value {
        json!({
            "contacts": {
                "1": { "id": "1", "company_name": "Van Dijk B.V.", "version": 1,
                       "contact_people": [ { "id": "11", "email": "eva@x" },
                                           { "id": "12", "email": "ruud@x" } ] },
                "2": { "id": 2, "email": "sanne@x",
                       "notes": [ { "id": "21", "note": "belt na 17:00" } ] }
            }
        })
    }

    #[test]
    fn the_subjects_own_records_may_go_and_their_parents_bookkeeping_change() {
        let before = state();
        let mut after = state();
        // Ruud's contact person is erased: the company's version is bumped by the vendor.
        after["contacts"]["1"]["contact_people"]
            .as_array_mut()
            .unwrap()
            .remove(1);
        after["contacts"]["1"]["version"] = json!(2);
        others_unchanged(&before, &after, &erased(&["12"]), PEOPLE);
        // Sanne's contact (a numeric id) is anonymised, its note going with it, then deleted.
        after["contacts"]["2"]["notes"] = json!([]);
        others_unchanged(&before, &after, &erased(&["12", "2"]), PEOPLE);
        after["contacts"].as_object_mut().unwrap().remove("2");
        others_unchanged(&before, &after, &erased(&["12", "2"]), PEOPLE);
    }

    #[test]
    #[should_panic(expected = "(id 11) is gone")]
    fn deleting_a_company_for_one_person_takes_its_other_people_with_it() {
        let before = state();
        let mut after = state();
        after["contacts"].as_object_mut().unwrap().remove("1");
        // Ruud asked; the company went, and Eva with it (issue 14.1).
        others_unchanged(&before, &after, &erased(&["1", "12"]), PEOPLE);
    }

    #[test]
    fn personal_values_are_found_anywhere_they_were_left() {
        let before = json!({"id": "1", "lastname": "Bakker", "company_name": "Bakker Fotografie",
                            "notes": [{"id": "9", "note": "Belt liever na 17:00"}], "city": "Ede"});
        let clean = json!({"id": "1", "lastname": "", "company_name": "Bakker Fotografie",
                           "notes": [], "city": ""});
        let kept = ["id", "company_name"];
        assert!(personal_values_left(&before, &clean, &kept).is_empty());
        let mut left = clean.clone();
        left["city"] = json!("Ede");
        left["lastname"] = json!("Deleted");
        left["description"] = json!("Opmerking: belt liever na 17:00 (oud)");
        assert_eq!(
            personal_values_left(&before, &left, &kept),
            vec!["/city", "/description"]
        );
    }

    #[test]
    #[should_panic(expected = "(id 2) changed")]
    fn a_change_to_someone_elses_record_is_caught() {
        let before = state();
        let mut after = state();
        after["contacts"]["2"]["email"] = json!("");
        others_unchanged(&before, &after, &erased(&["12"]), PEOPLE);
    }
}
