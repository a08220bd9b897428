//! Exact Online's own behaviour, against its fake: what discovery finds across divisions,
//! deletes checked before they are tried, token rotation (concurrency, two processes and their
//! race, a crash between refresh and save), pacing and the daily cap.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::{pieter, test_options, ExactHarness};
use dsrhub_connector::http::Quota;
use dsrhub_connector::oauth::{TokenSet, TokenStore};
use dsrhub_connector::secrets::SecretError;
use dsrhub_connector::testkit::FakeControl;
use dsrhub_connector::{
    Connector, EraseAction, EraseOutcome, ErrorKind, MatchKind, Record, RecordRef, RetentionHint,
};
use dsrhub_exact_online::fake::{FakeOptions, Set};
use dsrhub_exact_online::ExactOnline;
use futures_util::future::join_all;
use secrecy::ExposeSecret;

const PV_ACCOUNT: &str = "07ac8858-68a1-57fc-8758-32af8283687c";
const PV_CONTACT: &str = "c80d0cc3-1868-50c6-8510-072a358c4ae0";

fn find<'a>(records: &'a [Record], object: &str, division: &str) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.reference.object == object && r.reference.scope.as_deref() == Some(division))
        .collect()
}

fn exact(records: &[Record]) -> BTreeSet<RecordRef> {
    records
        .iter()
        .filter(|r| r.matched_by == MatchKind::ExactEmail)
        .map(|r| r.reference.clone())
        .collect()
}

#[tokio::test]
async fn discovery_covers_every_division_and_only_the_subject() {
    let h = ExactHarness::start_default().await;
    let records = h.connector.discover(&pieter()).await.unwrap();
    // Division 1001: the private account and its contact, the bakery contact.
    assert_eq!(find(&records, "account", "1001").len(), 1);
    assert_eq!(find(&records, "contact", "1001").len(), 2);
    // Division 1002: the gardener's contact, matched on BusinessEmail.
    assert_eq!(find(&records, "contact", "1002").len(), 1);
    // Invoices: two of the private account, one naming the bakery contact; not the bakery's
    // other invoice (another contact person) and not the gardener's.
    let invoices = find(&records, "sales_invoice", "1001");
    assert_eq!(invoices.len(), 3, "{invoices:?}");
    assert!(find(&records, "sales_invoice", "1002").is_empty());
    assert_eq!(find(&records, "transaction_line", "1001").len(), 2);
    // The private account's bank account, not the bakery's (the contact's employer).
    let banks = find(&records, "bank_account", "1001");
    assert_eq!(banks.len(), 1, "{banks:?}");
    assert_eq!(
        banks[0].linked_to,
        Some(RecordRef::new("account", PV_ACCOUNT).scoped("1001"))
    );
    assert!(banks[0].erasability.delete && banks[0].matched_by == MatchKind::Linked);
    // The lookalike address (pieter.de.vries@) is not matched.
    let state = h.fake.state();
    let lookalike = state.divisions[&1001]
        .contacts
        .values()
        .find(|c| c["Email"] == "pieter.de.vries@example.nl")
        .unwrap();
    assert!(!records
        .iter()
        .any(|r| Some(r.reference.id.as_str()) == lookalike["ID"].as_str()));
    // Linkage is known before anything is tried.
    let account = find(&records, "account", "1001")[0];
    assert!(account.erasability.delete_blocked.is_some());
    let private_contact = records
        .iter()
        .find(|r| r.reference.id == PV_CONTACT)
        .unwrap();
    assert!(private_contact.erasability.delete_blocked.is_none());
    // Invoices carry their dates for the retention rule.
    let dates: BTreeSet<String> = invoices
        .iter()
        .filter_map(|r| match &r.retention {
            Some(RetentionHint::Fiscal { document_date }) => Some(document_date.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        dates,
        ["2017-03-15", "2024-11-02", "2025-06-10"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[tokio::test]
async fn configured_divisions_limit_the_search() {
    let mut h = ExactHarness::start_default().await;
    h.config.divisions = vec![1002];
    let connector = h.another_process();
    let records = connector.discover(&pieter()).await.unwrap();
    assert!(records
        .iter()
        .all(|r| r.reference.scope.as_deref() == Some("1002")));
    assert_eq!(exact(&records).len(), 1);
}

#[tokio::test]
async fn login_discover_erase_verify() {
    let h = ExactHarness::start_default().await;
    let c = &h.connector;
    let mut records = c.discover(&pieter()).await.unwrap();
    // As the hub does: linked records first (the bank account before its account).
    records.sort_by_key(|r| r.linked_to.is_none());
    for r in records
        .iter()
        .filter(|r| r.matched_by == MatchKind::ExactEmail || r.erasability.delete)
    {
        let outcome = match c.erase(&r.reference, &EraseAction::Delete).await {
            Ok(outcome) => outcome,
            Err(e) if e.kind == ErrorKind::Conflict => {
                let fields = r.erasability.anonymize_fields.clone();
                c.erase(&r.reference, &EraseAction::Anonymize { fields })
                    .await
                    .unwrap()
            }
            Err(e) => panic!("{e}"),
        };
        let expected_deleted = r.erasability.delete_blocked.is_none();
        assert_eq!(
            matches!(outcome, EraseOutcome::Deleted),
            expected_deleted,
            "{}: {outcome:?}",
            r.reference
        );
    }
    // Verified by a second discovery: nothing of the subject's own left, the books kept.
    let again = c.discover(&pieter()).await.unwrap();
    assert!(exact(&again).is_empty(), "{again:?}");
    let state = h.fake.state();
    let account = state.find(Set::Accounts, PV_ACCOUNT).unwrap();
    assert_eq!(account["Name"], "Geanonimiseerd");
    assert_eq!(account["Blocked"], true);
    assert!(account["Email"].is_null() && account["Phone"].is_null());
    assert!(account["AddressLine1"].is_null() && account["City"].is_null());
    assert!(state.find(Set::Contacts, PV_CONTACT).is_none());
    assert!(!state.divisions[&1001]
        .bank_accounts
        .values()
        .any(|b| b["Account"] == PV_ACCOUNT));
    assert_eq!(state.divisions[&1001].bank_accounts.len(), 3);
    assert_eq!(state.divisions[&1001].sales_invoices.len(), 7);
    assert_eq!(state.divisions[&1001].transaction_lines.len(), 4);
    // Every delete was checked first: Exact never had to refuse one.
    assert_eq!(h.fake.errors_answered(), 0);
}

/// Issue 14.8: every property of an Exact Online contact is classified once, and the cleared
/// ones are the personal ones the issue names among them.
#[test]
fn contact_properties_are_classified_once() {
    use dsrhub_exact_online::contact_fields::{CLEARED, DERIVED, NOT_PERSONAL, PROPERTIES};
    for property in PROPERTIES {
        let homes = [CLEARED, DERIVED, NOT_PERSONAL]
            .iter()
            .filter(|l| l.contains(property))
            .count();
        assert_eq!(homes, 1, "`{property}` is in {homes} lists, not 1");
    }
    for listed in CLEARED.iter().chain(DERIVED).chain(NOT_PERSONAL) {
        assert!(
            PROPERTIES.contains(listed),
            "`{listed}` is not a contact property"
        );
    }
    for personal in [
        "SocialSecurityNumber",
        "Gender",
        "PartnerName",
        "Picture",
        "JobTitleDescription",
    ] {
        assert!(CLEARED.contains(&personal), "{personal}");
    }
}

/// Issue 14.8: the whole contact before and after its anonymisation; nothing of the person
/// is left outside the properties that are not personal (and the derived full name and
/// picture URLs follow).
#[tokio::test]
async fn anonymising_a_contact_leaves_nothing_of_the_person() {
    use dsrhub_exact_online::contact_fields::NOT_PERSONAL;
    let h = ExactHarness::start_default().await;
    let records = h.connector.discover(&pieter()).await.unwrap();
    let contact = records
        .iter()
        .find(|r| {
            r.reference.object == "contact"
                && r.erasability.delete_blocked.is_some()
                && !r.erasability.anonymize_fields.is_empty()
        })
        .expect("the contact named on a booked invoice");
    let before = h
        .fake
        .state()
        .find(Set::Contacts, &contact.reference.id)
        .unwrap()
        .clone();
    assert_eq!(before["SocialSecurityNumber"], "123456782", "a real shape");
    let fields = contact.erasability.anonymize_fields.clone();
    let outcome = h
        .connector
        .erase(&contact.reference, &EraseAction::Anonymize { fields })
        .await
        .unwrap();
    assert!(matches!(outcome, EraseOutcome::Anonymized { .. }));
    let after = h
        .fake
        .state()
        .find(Set::Contacts, &contact.reference.id)
        .unwrap()
        .clone();
    let left = dsrhub_connector::testkit::personal_values_left(&before, &after, NOT_PERSONAL);
    assert!(
        left.is_empty(),
        "still personal after anonymisation: {left:?}"
    );
    assert_eq!(after["Gender"], "O");
    assert!(after["PictureUrl"].is_null());
}

/// Issue 14.3: an account is reached through the owner's own address, but it has another
/// contact person: a company's account, organisation data. It is reviewed (never deleted or
/// anonymised for one person) and its invoices and payments are not listed as his; his own
/// contact person is his. A private person's account stays the subject's own.
#[tokio::test]
async fn a_company_account_reached_through_a_persons_address_is_organisation_data() {
    let h = ExactHarness::start_default().await;
    let records = h
        .connector
        .discover(&dsrhub_connector::Subject {
            emails: vec!["wim@wiel.example".into()],
            ..dsrhub_connector::Subject::default()
        })
        .await
        .unwrap();
    let account = records
        .iter()
        .find(|r| r.reference.object == "account")
        .expect("the shop's account");
    assert!(
        matches!(&account.ownership, dsrhub_connector::Ownership::Organisation(why)
            if why.contains("1 contact person(s) other than the subject")),
        "{:?}",
        account.ownership
    );
    assert!(!account.erasability.delete && account.erasability.anonymize_fields.is_empty());
    assert!(
        records
            .iter()
            .filter(|r| r.reference.object != "contact")
            .all(|r| r.linked_to.as_ref() != Some(&account.reference)),
        "the shop's invoices, payments and bank accounts are not his: {records:#?}"
    );
    let contact = records
        .iter()
        .find(|r| r.reference.object == "contact")
        .expect("his contact person");
    assert!(contact.ownership.is_own());
    // Pieter's private account has no one else: his own.
    let pieter = h.connector.discover(&pieter()).await.unwrap();
    assert!(pieter
        .iter()
        .filter(|r| r.reference.object == "account")
        .all(|r| r.ownership.is_own()));
}

/// Issue 14.4: an own account's subscriptions set its contract retention: Sanne's back-up
/// subscription was cancelled on 2024-12-31.
#[tokio::test]
async fn an_accounts_subscriptions_set_its_contract_retention() {
    let h = ExactHarness::start_default().await;
    let records = h
        .connector
        .discover(&dsrhub_connector::Subject {
            emails: vec!["sanne.bakker@example.nl".into()],
            ..dsrhub_connector::Subject::default()
        })
        .await
        .unwrap();
    let account = records
        .iter()
        .find(|r| r.reference.object == "account")
        .expect("her private account");
    assert_eq!(
        account.retention,
        Some(RetentionHint::Contract {
            ended: Some(jiff::civil::date(2024, 12, 31)),
            runs_until: None
        })
    );
    // Pieter's account has no subscription: no contract data.
    let pieter = h.connector.discover(&pieter()).await.unwrap();
    assert!(pieter
        .iter()
        .filter(|r| r.reference.object == "account")
        .all(|r| r.retention.is_none()));
}

#[tokio::test]
async fn linked_records_are_never_tried_so_no_error_storm() {
    let h = ExactHarness::start_default().await;
    let account = RecordRef::new("account", PV_ACCOUNT).scoped("1001");
    for _ in 0..15 {
        let err = h
            .connector
            .erase(&account, &EraseAction::Delete)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    }
    assert_eq!(
        h.fake.log().calls_to(
            "DELETE",
            &format!("/api/v1/1001/crm/Accounts(guid'{PV_ACCOUNT}')")
        ),
        0
    );
    assert_eq!(h.fake.errors_answered(), 0);
    // The endpoint is not blocked: a later lookup still works.
    h.connector.export(&account).await.unwrap();
}

/// Jan Jansen's account has no transactions but a contact person and a bank account: the
/// account's delete waits for theirs (checked, never refused by Exact), then both are gone.
#[tokio::test]
async fn an_account_is_deleted_after_its_bank_account() {
    let h = ExactHarness::start_default().await;
    let jan = dsrhub_connector::Subject {
        emails: vec!["jan.jansen@example.nl".into()],
        ..Default::default()
    };
    let records = h.connector.discover(&jan).await.unwrap();
    let account = &find(&records, "account", "1002")[0].reference;
    let bank = &find(&records, "bank_account", "1002")[0].reference;
    let contact = &find(&records, "contact", "1002")[0].reference;
    assert_eq!(records.len(), 3, "{records:?}");
    let outcome = h.connector.erase(contact, &EraseAction::Delete).await;
    assert_eq!(outcome.unwrap(), EraseOutcome::Deleted);
    let err = h
        .connector
        .erase(account, &EraseAction::Delete)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.to_string().contains("bank accounts"), "{err}");
    assert!(h.fake.contains(account));
    let outcome = h.connector.erase(bank, &EraseAction::Delete).await;
    assert_eq!(outcome.unwrap(), EraseOutcome::Deleted);
    let outcome = h.connector.erase(account, &EraseAction::Delete).await;
    assert_eq!(outcome.unwrap(), EraseOutcome::Deleted);
    assert!(!h.fake.contains(bank) && !h.fake.contains(account));
    assert!(h.connector.discover(&jan).await.unwrap().is_empty());
    assert_eq!(h.fake.errors_answered(), 0);
}

#[tokio::test]
async fn booked_documents_are_not_erased() {
    let h = ExactHarness::start_default().await;
    let records = h.connector.discover(&pieter()).await.unwrap();
    let invoice = find(&records, "sales_invoice", "1001")[0];
    assert!(!invoice.erasability.delete);
    let err = h
        .connector
        .erase(&invoice.reference, &EraseAction::Delete)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(h.fake.contains(&invoice.reference));
    let exported = h.connector.export(&invoice.reference).await.unwrap();
    assert!(exported.data["InvoiceDate"]
        .as_str()
        .unwrap()
        .starts_with("/Date("));
}

/// Ten tasks start at once on an expired token: one refresh, and the token is reused until
/// shortly before it expires.
#[tokio::test]
async fn rotation_under_concurrency_is_single_flight() {
    let h = ExactHarness::with_options(FakeOptions {
        access_lifetime: Duration::from_secs(3),
        ..test_options()
    })
    .await;
    let after_login = h.fake.token_calls();
    let subject = pieter();
    let run = || join_all((0..10).map(|_| h.connector.discover(&subject)));
    // The login's access token is still fresh: reused, no token call.
    assert!(run().await.iter().all(Result::is_ok));
    assert_eq!(h.fake.token_calls(), after_login);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(run().await.iter().all(Result::is_ok));
    assert_eq!(
        h.fake.token_calls(),
        after_login + 1,
        "one refresh for ten tasks"
    );
    assert!(run().await.iter().all(Result::is_ok));
    assert_eq!(
        h.fake.token_calls(),
        after_login + 1,
        "the new token is reused"
    );
    assert_eq!(h.fake.old_refresh_token_uses(), 0);
}

/// Two processes on one stored sign-in, across several expiries: each reads the store before
/// refreshing, so neither ever presents a refresh token the other already retired.
#[tokio::test]
async fn a_retired_refresh_token_is_never_sent() {
    let h = ExactHarness::with_options(FakeOptions {
        access_lifetime: Duration::from_secs(1),
        ..test_options()
    })
    .await;
    let other = h.another_process();
    let subject = pieter();
    for round in 0..4 {
        let (a, b) = tokio::join!(h.connector.discover(&subject), other.discover(&subject));
        a.unwrap_or_else(|e| panic!("round {round}: {e}"));
        b.unwrap_or_else(|e| panic!("round {round}: {e}"));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // (When both refresh at once, Exact refuses the later one as "access_token not expired"
    // or "Old refresh token used"; that process follows the chain the other saved.)
    assert!(h.fake.token_calls() >= 4);
    assert_eq!(h.fake.old_refresh_token_uses(), 0);
}

/// vendors.md (newest section): "An access token may only be refreshed after about 570 s (9.5
/// of its 10 minutes)". Scaled to a 4-second token: used at 3.4 s (past the fifth-of-its-life
/// point the hub renewed at before), renewed after 3.8 s, and Exact never has to refuse.
#[tokio::test]
async fn the_access_token_is_renewed_only_after_95_percent_of_its_life() {
    let h = ExactHarness::with_options(FakeOptions {
        access_lifetime: Duration::from_secs(4),
        ..test_options()
    })
    .await;
    let after_login = h.fake.token_calls();
    tokio::time::sleep(Duration::from_millis(3400)).await;
    h.connector.discover(&pieter()).await.unwrap();
    assert_eq!(h.fake.token_calls(), after_login, "renewed before 95 %");
    tokio::time::sleep(Duration::from_millis(600)).await;
    h.connector.discover(&pieter()).await.unwrap();
    assert_eq!(h.fake.token_calls(), after_login + 1);
    assert_eq!(h.fake.early_refreshes(), 0);
}

/// A 401 on an access token that may not be renewed yet: one refresh tells a revoked sign-in
/// (log in again) from a token refused for another reason, which Exact answers with "access_token
/// not expired". Then the task waits until the token may be renewed, not retrying the refusal,
/// and goes on without a new login.
#[tokio::test]
async fn a_token_refused_before_it_may_be_renewed_waits_for_the_renewal() {
    let h = ExactHarness::with_options(FakeOptions {
        access_lifetime: Duration::from_secs(2),
        ..test_options()
    })
    .await;
    let before = h.fake.token_calls();
    h.fake.revoke_access_tokens();
    let err = h.connector.discover(&pieter()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert!(err.message.contains("resumes at"), "{err}");
    let resume = err.resume_at.expect("a time to resume");
    assert!(resume > jiff::Timestamp::now());
    assert_eq!(h.fake.token_calls(), before + 1, "one refresh, not retried");
    let wait = resume.duration_since(jiff::Timestamp::now());
    tokio::time::sleep(Duration::try_from(wait).unwrap_or_default()).await;
    h.connector
        .discover(&pieter())
        .await
        .expect("renewed without a login");
    assert_eq!(h.fake.token_calls(), before + 2);
    assert_eq!(h.fake.early_refreshes(), 1);
}

/// An unused refresh token expires (Exact: after 30 days; 1 second here): Exact answers 400
/// `invalid_request` "The refresh token expired at …", and the hub asks for a new login.
#[tokio::test]
async fn an_expired_refresh_token_asks_for_a_login() {
    let h = ExactHarness::with_options(FakeOptions {
        access_lifetime: Duration::from_secs(1),
        refresh_lifetime: Duration::from_secs(1),
        ..test_options()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = h.connector.discover(&pieter()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert!(err.message.contains("invalid_request"), "{err}");
    assert!(
        err.message.contains("dsrhub auth login exact-online"),
        "{err}"
    );
}

/// What goes wrong with the shared token store in the tests below.
#[derive(Debug)]
enum Mishap {
    /// The first read returns these tokens: read just before another process refreshed.
    StaleRead(TokenSet),
    /// The first save panics: the process dies after Exact answered the refresh and before
    /// the new tokens reached the disk.
    CrashOnSave,
    /// Every save fails: a read-only disk, a locked keyring.
    SavesFail,
}

/// The harness's token store, with one [`Mishap`].
#[derive(Debug)]
struct TroubledStore {
    inner: Arc<dyn TokenStore>,
    mishap: std::sync::Mutex<Option<Mishap>>,
}

impl TokenStore for TroubledStore {
    fn load(&self) -> Result<TokenSet, SecretError> {
        let mut mishap = self.mishap.lock().unwrap();
        if matches!(*mishap, Some(Mishap::StaleRead(_))) {
            if let Some(Mishap::StaleRead(stale)) = mishap.take() {
                return Ok(stale);
            }
        }
        self.inner.load()
    }

    fn save(&self, tokens: &TokenSet) -> Result<(), SecretError> {
        let mut mishap = self.mishap.lock().unwrap();
        match *mishap {
            Some(Mishap::CrashOnSave) => {
                mishap.take();
                drop(mishap);
                panic!("simulated crash between refresh and save");
            }
            Some(Mishap::SavesFail) => Err(SecretError {
                reference: "file:/readonly/exact.tokens".into(),
                reason: "could not be written: read-only file system".into(),
            }),
            _ => self.inner.save(tokens),
        }
    }
}

/// A harness whose stored access token (1 second long) has just expired: the next call
/// refreshes.
async fn signed_in_and_expired() -> ExactHarness {
    let h = ExactHarness::with_options(FakeOptions {
        access_lifetime: Duration::from_millis(1000),
        ..test_options()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    h
}

/// Another process over the harness's tokens, whose store has `mishap`.
fn troubled(h: &ExactHarness, mishap: Mishap) -> ExactOnline {
    let store = TroubledStore {
        inner: Arc::new(h.store()),
        mishap: std::sync::Mutex::new(Some(mishap)),
    };
    ExactOnline::with_token_store(h.config.clone(), &h.secrets, Arc::new(store)).unwrap()
}

#[tokio::test]
async fn a_crash_between_refresh_and_save_is_survived() {
    let h = signed_in_and_expired().await;
    let before = h.fake.token_calls();
    let doomed = troubled(&h, Mishap::CrashOnSave);
    let crash = tokio::spawn(async move { doomed.discover(&pieter()).await }).await;
    assert!(crash.unwrap_err().is_panic());
    assert_eq!(
        h.fake.token_calls(),
        before + 1,
        "Exact did issue new tokens"
    );
    // The next process starts from what is on disk: the refresh token Exact still honours,
    // because none of the lost tokens was ever used. Exact refuses to renew it until the lost
    // access token lived 95 % of its life: the task waits that long, no new login needed.
    let records = discover_after_the_wait(&h.another_process()).await;
    assert!(!exact(&records).is_empty());
    assert_eq!(h.fake.old_refresh_token_uses(), 0);
}

/// Process B read the refresh token an instant before process A spent it: Exact refuses B's
/// refresh, and B follows the chain A saved instead of asking for a new login.
#[tokio::test]
async fn a_refresh_token_spent_by_another_process_is_followed() {
    let h = signed_in_and_expired().await;
    let before_a = h.store().load().unwrap();
    // A refreshes, saves, and uses the new access token: the old refresh token is now dead.
    h.connector.discover(&pieter()).await.unwrap();
    let b = troubled(&h, Mishap::StaleRead(before_a));
    let calls = h.fake.token_calls();
    let records = b.discover(&pieter()).await.expect("no login needed");
    assert!(!exact(&records).is_empty());
    assert_eq!(
        h.fake.old_refresh_token_uses(),
        1,
        "B's stale refresh was refused"
    );
    assert_eq!(h.fake.token_calls(), calls + 1, "and not tried again");
    // Both processes now share one chain, and it still works.
    h.another_process().discover(&pieter()).await.unwrap();
}

/// A save that fails (disk full, keyring locked) is reported and the new tokens are dropped
/// unused, so the stored chain stays valid.
#[tokio::test]
async fn a_failed_save_leaves_the_stored_sign_in_valid() {
    let h = signed_in_and_expired().await;
    let read_only = troubled(&h, Mishap::SavesFail);
    let err = read_only.discover(&pieter()).await.unwrap_err();
    assert!(err.message.contains("could not be saved"), "{err}");
    assert!(err.is_retryable());
    discover_after_the_wait(&h.another_process()).await;
    assert_eq!(h.fake.old_refresh_token_uses(), 0);
}

/// Discovery by a process that starts after a pair of tokens was lost (a crash or a failed
/// save): Exact refuses to renew the stored refresh token until the lost access token lived
/// 95 % of its life ("access_token not expired"), so the first try waits, and the next one
/// works without a new login.
async fn discover_after_the_wait(next: &ExactOnline) -> Vec<Record> {
    let err = next.discover(&pieter()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert!(err.message.contains("has not expired"), "{err}");
    let wait = err
        .resume_at
        .expect("a time to resume")
        .duration_since(jiff::Timestamp::now());
    tokio::time::sleep(Duration::try_from(wait).unwrap_or_default()).await;
    next.discover(&pieter()).await.expect("no login needed")
}

/// With Exact's minute limit (scaled down to 10 calls per second here), the SDK paces the
/// connector so the fake never has to refuse a call.
#[tokio::test]
async fn the_minutely_pace_holds() {
    let mut h = ExactHarness::with_options(FakeOptions {
        minutely_limit: 10,
        minute: Duration::from_secs(1),
        ..FakeOptions::default()
    })
    .await;
    h.config.http.rate_limit = Some(Quota {
        requests: 10,
        per_seconds: 1.0,
    });
    let connector = h.another_process();
    let before = h.fake.requests_seen();
    for _ in 0..4 {
        connector.discover(&pieter()).await.unwrap();
    }
    assert!(
        h.fake.requests_seen() - before > 20,
        "too few calls to test pacing"
    );
    assert_eq!(h.fake.limit_rejections(), 0, "the fake had to refuse calls");
}

/// The daily cap: the call that spends it succeeds, the next fails at once with the reset
/// time, and nothing more reaches Exact until then.
#[tokio::test]
async fn the_daily_cap_becomes_a_resumable_wait() {
    let h = ExactHarness::start_default().await;
    h.connector.discover(&pieter()).await.unwrap();
    h.fake.set_daily_limit(3);
    let err = h.connector.discover(&pieter()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    let resume = err.resume_at.expect("resume_at set");
    assert!(resume > jiff::Timestamp::now());
    assert!(err.message.contains("resumes at"), "{err}");
    let seen = h.fake.requests_seen();
    let again = h.connector.discover(&pieter()).await.unwrap_err();
    assert_eq!(again.resume_at, Some(resume));
    assert_eq!(h.fake.requests_seen(), seen, "a spent quota was hammered");
}

#[tokio::test]
async fn a_revoked_grant_asks_for_a_login() {
    let h = ExactHarness::with_options(FakeOptions {
        access_lifetime: Duration::from_secs(1),
        ..test_options()
    })
    .await;
    h.fake.faults().expire_credentials();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let err = h.connector.discover(&pieter()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert!(
        err.message.contains("dsrhub auth login exact-online"),
        "{err}"
    );
}

#[tokio::test]
async fn inventory_counts_per_division() {
    let h = ExactHarness::start_default().await;
    let inventory = h.connector.inventory().await.unwrap();
    let state = h.fake.state();
    let accounts: usize = state.divisions.values().map(|d| d.accounts.len()).sum();
    assert_eq!(inventory.counts["account"], accounts as u64);
    assert_eq!(
        inventory.counts["contact@1002"],
        state.divisions[&1002].contacts.len() as u64
    );
    assert_eq!(
        inventory.counts["sales_invoice@1001"],
        state.divisions[&1001].sales_invoices.len() as u64
    );
    // A loopback fake is no Exact country host: not claimed to be in the EEA.
    assert!(!inventory.location.eea);
}

/// Issue 15.2, a fact of `vendors.md` (no published description exists): Exact answers Atom
/// XML unless asked for JSON, so every API call carries `Accept: application/json`, and every
/// answer the connector reads is JSON.
#[tokio::test]
async fn every_api_call_asks_for_json_which_exact_does_not_default_to() {
    let h = ExactHarness::start_default().await;
    h.fake.log().capture(true);
    h.connector.discover(&pieter()).await.unwrap();
    h.connector.inventory().await.unwrap();
    let api: Vec<_> = h
        .fake
        .log()
        .exchanges()
        .into_iter()
        .filter(|e| e.path.starts_with("/api/v1/"))
        .collect();
    assert!(api.len() > 5, "{} calls", api.len());
    for e in &api {
        assert_eq!(
            e.accept.as_deref(),
            Some("application/json"),
            "{} {}",
            e.method,
            e.path
        );
        // OData's `$count` is a plain number whatever is asked.
        let expected = if e.path.ends_with("/$count") {
            "text/plain"
        } else {
            "application/json"
        };
        assert!(
            e.response_type
                .as_deref()
                .is_some_and(|t| t.starts_with(expected)),
            "{} {}: {:?}",
            e.method,
            e.path,
            e.response_type
        );
    }
}

/// Issue 15.2: a published app authorised for division 1001 only still sees 1002 in
/// `system/Divisions`; Exact answers 403 "not within division scope" there. Discovery fails
/// with a configuration error that names the setting and the division, not a vendor error.
#[tokio::test]
async fn a_division_outside_the_apps_scope_is_a_configuration_problem() {
    let h = ExactHarness::with_options(FakeOptions {
        division_scope: Some(vec![1001]),
        ..test_options()
    })
    .await;
    let err = h.connector.discover(&pieter()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput, "{err}");
    assert!(
        err.message.contains("processors.exact-online.divisions")
            && err.message.contains("division 1002"),
        "{err}"
    );
    // Not retried: one refused call.
    let refused = h
        .fake
        .log()
        .calls()
        .iter()
        .filter(|(_, p)| p.starts_with("/api/v1/1002/"))
        .count();
    assert_eq!(refused, 1);
    // The inventory (`check`, the schedule) says the same.
    let err = h.connector.inventory().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput, "{err}");
    assert!(err.message.contains("division 1002"), "{err}");
}

/// Issue 15.2, a fact of `vendors.md`: calls to one division are sequential, also when the
/// hub exports and erases many records at once.
#[tokio::test]
async fn calls_to_a_division_are_sequential() {
    let h = ExactHarness::start_default().await;
    h.fake.faults().set_slow(Some(Duration::from_millis(20)));
    let records = h.connector.discover(&pieter()).await.unwrap();
    let refs: Vec<RecordRef> = records.iter().map(|r| r.reference.clone()).collect();
    let exports = h.connector.export_batch(&refs).await;
    assert!(exports.iter().all(Result::is_ok));
    let subject = pieter();
    let runs = (0..4).map(|_| h.connector.discover(&subject));
    for result in join_all(runs).await {
        result.unwrap();
    }
    assert_eq!(h.fake.max_in_flight_per_division(), 1);
}

/// Issue 15.1, facts of `vendors.md` (Exact publishes no description) on the fake's OData v2
/// answers, as the connector reads them: lists are `{"d": {"results": [...]}}`, further pages
/// are announced in `d.__next` (an absolute link to the same entity set with a `$skiptoken`),
/// and errors are `{"error": {"code": "", "message": {"lang": "", "value": "…"}}}`, also for
/// a bad `$filter` (400) and an unknown access token (401).
#[tokio::test]
async fn the_fakes_answers_have_exacts_odata_v2_shapes() {
    let h = ExactHarness::start_default().await;
    h.fake.set_page_size(Some(1));
    h.fake.log().capture(true);
    h.connector.discover(&pieter()).await.unwrap();
    let lists: Vec<_> = h
        .fake
        .log()
        .exchanges()
        .into_iter()
        .filter(|e| e.path.starts_with("/api/v1/") && e.method == "GET" && e.status == 200)
        .collect();
    let mut announced = 0;
    for e in &lists {
        let d = &e.response.as_ref().expect("a JSON answer")["d"];
        assert!(d["results"].is_array(), "{}: {d}", e.path);
        if let Some(next) = d.get("__next") {
            let next = url::Url::parse(next.as_str().expect("__next is a link")).unwrap();
            assert_eq!(next.path(), e.path, "__next leaves the entity set");
            assert!(next.query_pairs().any(|(k, _)| k == "$skiptoken"), "{next}");
            announced += 1;
        }
    }
    assert!(announced > 0, "no answer announced a next page");
    assert!(
        lists
            .iter()
            .any(|e| e.query.iter().any(|(k, _)| k == "$skiptoken")),
        "no next page was followed"
    );

    let token = h.store().load().unwrap().access_token.unwrap();
    let client = reqwest::Client::new();
    let url = h
        .fake
        .host()
        .join("/api/v1/1001/crm/Accounts?$filter=NoSuchField eq 'x'&$select=ID")
        .unwrap();
    for (bearer, status) in [(token.expose_secret(), 400), ("not-a-token", 401)] {
        let answer = client
            .get(url.clone())
            .bearer_auth(bearer)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status);
        let body: serde_json::Value = answer.json().await.unwrap();
        let error = &body["error"];
        assert!(error["code"].is_string(), "{body}");
        assert!(error["message"]["lang"].is_string(), "{body}");
        assert!(error["message"]["value"].is_string(), "{body}");
    }
}

/// Issue 18.3: a batch puts every subject's addresses in the same OData `or` filters (ten per
/// filter, keeping the URL short), once per division, and finds for each subject exactly what
/// a discovery for them alone finds (people sharing an employer's account, an address in
/// another division, a company's role address), with a fraction of the calls.
#[tokio::test]
async fn a_batch_searches_every_subject_in_shared_or_filters() {
    let h = ExactHarness::start_default().await;
    let email = |e: &str| dsrhub_connector::Subject {
        emails: vec![e.to_string()],
        ..dsrhub_connector::Subject::default()
    };
    let mut subjects = vec![
        pieter(),
        email("anna@bakkerijzoet.example"),
        email("sanne.bakker@example.nl"),
        email("jan.jansen@example.nl"),
        email("wim@wiel.example"),
        email("kim@wiel.example"),
    ];
    while subjects.len() < 40 {
        subjects.push(email(&format!(
            "left{}@voorbeeld-it.example",
            subjects.len()
        )));
    }
    let before = h.fake.log().requests_seen();
    let batched = h.connector.discover_batch(&subjects).await.unwrap();
    let batch_calls = h.fake.log().requests_seen() - before;
    let before = h.fake.log().requests_seen();
    let mut single = Vec::new();
    for subject in &subjects {
        single.push(h.connector.discover(subject).await.unwrap());
    }
    let single_calls = h.fake.log().requests_seen() - before;
    let all = |records: &[Record]| -> BTreeSet<String> {
        records
            .iter()
            .map(|r| {
                format!(
                    "{} {:?} {:?} {:?}",
                    r.reference, r.matched_by, r.ownership, r.retention
                )
            })
            .collect()
    };
    for (i, (b, s)) in batched.iter().zip(&single).enumerate() {
        assert_eq!(all(b), all(s), "subject {i}");
    }
    assert!(!batched[0].is_empty() && batched[39].is_empty());
    assert!(
        batch_calls * 4 <= single_calls,
        "batch {batch_calls} calls, single {single_calls}"
    );
}

/// Issue 18.2: the sweep's contract signal. An account's agreement ended on the later of its
/// last sales invoice and its last subscription's end; the people are its contact persons
/// (not a role address like info@); an account invoiced since the cutoff keeps every address
/// of its own out of the sweep; an account never invoiced gives no signal.
#[tokio::test]
async fn contracts_end_with_the_last_invoice_or_subscription() {
    let h = ExactHarness::start_default().await;
    let signals = h
        .connector
        .contracts_ended("2025-12-06".parse().unwrap())
        .await
        .unwrap()
        .expect("Exact Online gives a signal");
    let ended: std::collections::BTreeMap<String, (String, String)> = signals
        .ended
        .iter()
        .map(|e| {
            (
                e.subject.emails[0].clone(),
                (e.ended_on.to_string(), e.signal.clone()),
            )
        })
        .collect();
    assert_eq!(signals.ended.len(), ended.len(), "one subject per address");
    assert_eq!(
        ended["sanne.bakker@example.nl"],
        (
            "2025-10-01".to_string(),
            "division 1001: last invoice 2025-10-01; subscription stopped 2024-12-31".to_string()
        )
    );
    // Pieter de Vries in both divisions: one subject, ended with the later.
    assert_eq!(
        ended["pieter.devries@example.nl"],
        (
            "2025-06-10".to_string(),
            "division 1001: last invoice 2025-06-10; division 1002: last invoice 2023-05-05"
                .to_string()
        )
    );
    assert_eq!(ended["els@groen.example"].0, "2023-05-05");
    // Bakkerij Zoet: its two people, not the company's info@ address.
    assert_eq!(ended["p.devries@bakkerijzoet.example"].0, "2025-09-01");
    assert_eq!(ended["anna@bakkerijzoet.example"].0, "2025-09-01");
    assert!(!ended.contains_key("info@bakkerijzoet.example"));
    // Fietsenmaker Wiel was invoiced in 2026: both its people are under an agreement.
    for address in ["wim@wiel.example", "kim@wiel.example"] {
        assert!(!ended.contains_key(address));
        assert_eq!(
            signals.ongoing.iter().filter(|o| *o == address).count(),
            1,
            "{address}"
        );
    }
    // Never invoiced, no subscription: no signal either way.
    assert!(!ended.contains_key("gert@glimlach.example"));
    assert!(!signals.ongoing.iter().any(|o| o == "gert@glimlach.example"));
}

/// `lookup`: a booked document an earlier request kept (a sales invoice, a transaction line)
/// is read afresh by id with its date, so the policy can tell whether the fiscal duty has
/// ended; a record Exact no longer has is gone (asked as a filter: no 404 against the error
/// budget); accounts are for a person.
#[tokio::test]
async fn a_kept_booked_document_is_looked_up_by_id() {
    use dsrhub_connector::Lookup;
    let h = ExactHarness::start_default().await;
    let records = h.connector.discover(&pieter()).await.unwrap();
    let kept: Vec<_> = records
        .iter()
        .filter(|r| {
            matches!(
                r.reference.object.as_str(),
                "sales_invoice" | "transaction_line"
            )
        })
        .collect();
    assert!(kept.len() >= 2, "{kept:?}");
    for searched in &kept {
        let Lookup::Found(found) = h.connector.lookup(&searched.reference).await.unwrap() else {
            panic!("{} is there", searched.reference);
        };
        assert_eq!(found.reference, searched.reference);
        assert_eq!(found.matched_by, MatchKind::VendorId);
        assert_eq!(
            found.retention, searched.retention,
            "{}",
            searched.reference
        );
        assert_eq!(found.erasability, searched.erasability);
        assert_eq!(
            found.linked_to.as_ref().map(|r| r.object.as_str()),
            Some("account")
        );
    }
    let errors_before = h.fake.errors_answered();
    let gone =
        dsrhub_connector::RecordRef::new("sales_invoice", "00000000-0000-0000-0000-000000000001")
            .scoped("1001");
    assert_eq!(h.connector.lookup(&gone).await.unwrap(), Lookup::Gone);
    assert_eq!(h.fake.errors_answered(), errors_before, "no 4xx provoked");
    let account = records
        .iter()
        .find(|r| r.reference.object == "account")
        .unwrap();
    assert_eq!(
        h.connector.lookup(&account.reference).await.unwrap(),
        Lookup::Unsupported
    );
}
