//! IT Glue-specific behaviour, against the fake.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{email, sanne, ItGlueHarness};
use dsrhub_connector::http::{HttpClient, NoAuth, Request};
use dsrhub_connector::testkit::{fast_http_settings, Harness};
use dsrhub_connector::{Connector, EraseAction, EraseOutcome, ErrorKind, MatchKind, Subject};
use dsrhub_itglue::fake::FakeOptions;

fn id_where(h: &ItGlueHarness, address: &str) -> String {
    h.fake
        .state()
        .contacts
        .values()
        .find(|c| {
            c["attributes"]["contact-emails"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["value"] == address)
        })
        .map(|c| c["id"].as_str().unwrap().to_string())
        .expect("fixture contact")
}

#[tokio::test]
async fn primary_and_secondary_addresses_are_found_and_nobody_else() {
    let h = ItGlueHarness::start().await;
    let records = h.connector.discover(&sanne()).await.unwrap();
    let ids: BTreeSet<String> = records
        .iter()
        .filter(|r| r.matched_by.allows_erasure())
        .map(|r| r.reference.id.clone())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from([
            id_where(&h, "sanne@bakkerfotografie.example"),
            id_where(&h, "sanne.bakker@example.nl")
        ])
    );
    assert_eq!(records.len(), 2);
    let records = h
        .connector
        .discover(&email("jan.jansen@hofstad.example"))
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].reference.id,
        id_where(&h, "jan.jansen@hofstad.example")
    );
}

#[tokio::test]
async fn one_bulk_delete_removes_both_and_rediscovery_proves_it() {
    let h = ItGlueHarness::start().await;
    let records = h.connector.discover(&sanne()).await.unwrap();
    let items: Vec<_> = records
        .iter()
        .map(|r| (r.reference.clone(), EraseAction::Delete))
        .collect();
    let outcomes = h.connector.erase_batch(&items).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(EraseOutcome::Deleted))),
        "{outcomes:?}"
    );
    assert_eq!(
        h.fake.log().calls_to("DELETE", "/contacts"),
        1,
        "one bulk call"
    );
    assert!(h.connector.discover(&sanne()).await.unwrap().is_empty());
    // Again: both are already gone, still one answer per record.
    let again = h.connector.erase_batch(&items).await;
    assert!(
        again
            .iter()
            .all(|o| matches!(o, Ok(EraseOutcome::AlreadyGone))),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_bulk_delete_with_one_record_already_gone_deletes_the_rest() {
    let h = ItGlueHarness::start().await;
    let records = h.connector.discover(&sanne()).await.unwrap();
    let first = records[0].reference.clone();
    h.connector
        .erase(&first, &EraseAction::Delete)
        .await
        .unwrap();
    let items: Vec<_> = records
        .iter()
        .map(|r| (r.reference.clone(), EraseAction::Delete))
        .collect();
    let outcomes = h.connector.erase_batch(&items).await;
    assert_eq!(outcomes[0].as_ref().unwrap(), &EraseOutcome::AlreadyGone);
    assert_eq!(outcomes[1].as_ref().unwrap(), &EraseOutcome::Deleted);
}

#[tokio::test]
async fn a_psa_synced_contact_is_managed_at_source() {
    let h = ItGlueHarness::start().await;
    let records = h
        .connector
        .discover(&email("mark.peters@vandijk-installatie.example"))
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    let mark = &records[0];
    assert_eq!(mark.matched_by, MatchKind::ExactEmail);
    assert!(!mark.erasability.delete);
    assert_eq!(
        mark.erasability.delete_blocked.as_deref(),
        Some("managed at source: autotask")
    );
    // IT Glue really refuses changes to it.
    let err = h
        .connector
        .erase(
            &mark.reference,
            &EraseAction::Anonymize {
                fields: vec!["notes".into()],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    let err = h
        .connector
        .erase(&mark.reference, &EraseAction::Delete)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
}

#[tokio::test]
async fn a_hundred_subjects_take_one_scan() {
    let h = ItGlueHarness::start().await;
    let mut subjects: Vec<Subject> = (0..99)
        .map(|i| email(&format!("nobody{i}@example.nl")))
        .collect();
    subjects.push(sanne());
    let before = h.fake.log().requests_seen();
    let results = h.connector.discover_batch(&subjects).await.unwrap();
    assert_eq!(
        h.fake.log().requests_seen() - before,
        1,
        "one page of up to 1000 contacts, for all 100 subjects"
    );
    assert_eq!(results.len(), 100);
    assert!(results[..99].iter().all(Vec::is_empty));
    assert_eq!(results[99].len(), 2);
}

#[tokio::test]
async fn a_storm_of_429s_ends_in_completion() {
    let mut http = fast_http_settings();
    http.max_retries = 8;
    let h = ItGlueHarness::with_options(FakeOptions::default(), http).await;
    h.fake.faults().fail_next(429, 7, None);
    assert_eq!(h.connector.discover(&sanne()).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_bad_key_says_so() {
    let h = ItGlueHarness::start().await;
    h.fake.faults().expire_credentials();
    let err = h.connector.discover(&sanne()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth);
    assert!(err.message.contains("90 days"), "{err}");
}

#[tokio::test]
async fn the_fake_wants_the_json_api_media_type() {
    let h = ItGlueHarness::start().await;
    let client = HttpClient::new(
        h.fake.base_url(),
        dsrhub_connector::http::VendorProfile {
            accept: None,
            processor: "itglue-raw",
            quota: dsrhub_connector::http::Quota {
                requests: 10,
                per_seconds: 1.0,
            },
            max_concurrency: None,
            throttle_wait: None,
            reset_headers: None,
            daily_headers: None,
            reauth_statuses: &[],
        },
        fast_http_settings(),
        Arc::new(NoAuth),
    )
    .unwrap();
    let url = client.url(&["contacts", "1"]).unwrap();
    let request = Request::patch(url)
        .header(
            "x-api-key".parse().unwrap(),
            h.fake.api_key().parse().unwrap(),
        )
        .json(&serde_json::json!({}));
    let err = client.send(request).await.unwrap_err();
    assert_eq!(err.status, Some(415));
}

#[tokio::test]
async fn inventory_and_location() {
    let h = ItGlueHarness::start().await;
    let inventory = h.connector.inventory().await.unwrap();
    assert_eq!(
        inventory.counts["contact"],
        h.fake.state().contacts.len() as u64
    );
    assert_eq!(inventory.counts["organization"], 6);
    assert!(inventory.location.eea);
    assert!(h.connector.check().await.unwrap().authenticated);
}

/// Issue 14.8: the whole contact before and after its anonymisation (the fallback when a
/// delete is refused): nothing of the person is left outside the attributes that are not
/// personal; the derived `name` follows the replaced names.
#[tokio::test]
async fn anonymising_a_contact_leaves_nothing_of_the_person() {
    use dsrhub_itglue::contact_fields::NOT_PERSONAL;
    let h = ItGlueHarness::start().await;
    let id = id_where(&h, "sanne@bakkerfotografie.example");
    let records = h.connector.discover(&sanne()).await.unwrap();
    let contact = records.iter().find(|r| r.reference.id == id).unwrap();
    let key: u64 = id.parse().unwrap();
    let before = h.fake.state().contacts[&key]["attributes"].clone();
    let fields = contact.erasability.anonymize_fields.clone();
    let outcome = h
        .connector
        .erase(&contact.reference, &EraseAction::Anonymize { fields })
        .await
        .unwrap();
    assert!(matches!(outcome, EraseOutcome::Anonymized { .. }));
    let after = h.fake.state().contacts[&key]["attributes"].clone();
    // Labels of the e-mail and phone entries say what kind of value it was, not whose.
    let kept: Vec<&str> = NOT_PERSONAL
        .iter()
        .chain(&["label-name", "label-type"])
        .copied()
        .collect();
    let left = dsrhub_connector::testkit::personal_values_left(&before, &after, &kept);
    assert!(left.is_empty(), "still personal: {left:?}");
    assert_eq!(after["name"], "Deleted Contact");
}

/// Issue 15.1, facts of `vendors.md` (IT Glue publishes no description): every answer is
/// `application/vnd.api+json`, every body sent is too, a `filter[...]` value never holds a
/// comma (IT Glue reads it as a list), and the bulk delete names its contacts by id, never by
/// a filter.
#[tokio::test]
async fn every_exchange_follows_the_documented_it_glue_facts() {
    use dsrhub_connector::testkit::kit_action;
    let h = ItGlueHarness::start().await;
    h.fake.log().capture(true);
    let c = &h.connector;
    c.check().await.unwrap();
    let records = c.discover(&sanne()).await.unwrap();
    for r in &records {
        c.export(&r.reference).await.unwrap();
    }
    let erasable: Vec<_> = records
        .iter()
        .filter_map(|r| Some((r.reference.clone(), kit_action(r)?)))
        .collect();
    for result in c.erase_batch(&erasable).await {
        result.unwrap();
    }
    // One more, already gone: the bulk delete asks which still exist (`filter[id]`).
    let _ = c.erase_batch(&erasable).await;
    let exchanges = h.fake.log().exchanges();
    assert!(exchanges.len() > 3);
    for e in &exchanges {
        assert_eq!(
            e.response_type.as_deref(),
            Some("application/vnd.api+json"),
            "{} {} answered {}",
            e.method,
            e.path,
            e.status
        );
        if e.request.is_some() {
            assert_eq!(e.request_type.as_deref(), Some("application/vnd.api+json"));
        }
        for (name, value) in &e.query {
            if name.starts_with("filter[") && name != "filter[id]" {
                assert!(!value.contains(','), "{name} holds a list");
            }
        }
        if e.method == "DELETE" {
            let body = e.request.as_ref().expect("a bulk delete body");
            assert!(body["data"].is_array(), "by an id list");
            assert!(body.get("filter").is_none() && e.query.is_empty());
        }
    }
}
