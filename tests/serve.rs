//! `dsrhub serve`'s API contract: auth failures disclose nothing, bodies are limited and
//! validated field by field, the intake → verify → (approve) → report flow works end to end
//! against a fake processor, and `docs/openapi.json` documents exactly the routes served.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::contact_id;
use common::server::{intake, serve_on_loopback, start, start_with, Browser, TOKEN};
use dsrhub::serve::{router, AppState, Tokens, OPENAPI, ROUTES};
use dsrhub_connector::secrets::Secrets;
use serde_json::{json, Value};

#[tokio::test]
async fn auth_failures_disclose_nothing() {
    let s = start().await;
    let health = s
        .client
        .get(format!("{}/health", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    for token in [None, Some("wrong-token-0123456789"), Some("")] {
        let mut request = s.client.get(format!("{}/api/v1/requests/anything", s.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"error": "unauthorized"})
        );
    }
    // The same for a route that exists and one that does not, with a body or without.
    let response = s
        .client
        .post(format!("{}/api/v1/requests", s.base))
        .json(&intake("x", "access", "a@b.nl"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn bad_bodies_are_refused_naming_the_field() {
    let s = start().await;
    let cases = [
        (
            json!({"subject_request_type": "access"}),
            "subject_request_id",
        ),
        (intake("r1", "profiling", "a@b.nl"), "subject_request_type"),
        // Issue 19: the other rights are extensions, each with what it needs.
        (intake("r1", "rectification", "a@b.nl"), "corrections"),
        (
            {
                let mut b = intake("r1", "rectification", "a@b.nl");
                b["corrections"] = json!({"name": "Jan de Vries"});
                b
            },
            "corrections",
        ),
        (
            {
                let mut b = intake("r1", "rectification", "a@b.nl");
                b["corrections"] = json!({"phone": "06\n123"});
                b
            },
            "corrections.phone",
        ),
        (
            {
                let mut b = intake("r1", "rectification", "a@b.nl");
                b["corrections"] = json!({"email": "not-an-address"});
                b
            },
            "corrections.email",
        ),
        (intake("r1", "restriction", "a@b.nl"), "reason"),
        (
            {
                let mut b = intake("r1", "objection", "a@b.nl");
                b["purpose"] = json!("profiling");
                b
            },
            "purpose",
        ),
        (
            {
                let mut b = intake("r1", "access", "a@b.nl");
                b["submitted_time"] = json!("yesterday");
                b
            },
            "submitted_time",
        ),
        (
            {
                let mut b = intake("r1", "access", "a@b.nl");
                let tomorrow = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
                b["submitted_time"] = json!(tomorrow.to_string());
                b
            },
            "submitted_time",
        ),
        (
            intake("r1", "access", "not-an-address"),
            "subject_identities[0].identity_value",
        ),
        // Issue 14.9: what only looks like an address once trimmed is refused at intake.
        (
            intake("r1", "access", " @ "),
            "subject_identities[0].identity_value",
        ),
        (
            intake("r1", "access", "a@ "),
            "subject_identities[0].identity_value",
        ),
        (
            {
                let mut b = intake("r1", "access", "a@b.nl");
                b["subject_identities"][0]["identity_type"] = json!("fax");
                b
            },
            "subject_identities[0].identity_type",
        ),
        (
            {
                let mut b = intake("r1", "access", "a@b.nl");
                b["subject_identities"] = json!([]);
                b
            },
            "subject_identities",
        ),
        (
            {
                let mut b = intake("r1", "access", "a@b.nl");
                b["status_callback_urls"] = json!(["ftp://x"]);
                b
            },
            "status_callback_urls[0]",
        ),
        (intake("r1; drop", "access", "a@b.nl"), "subject_request_id"),
        (
            {
                let mut b = intake("r1", "access", "a@b.nl");
                b["status_callback_urls"] = json!(["https://169.254.169.254/latest"]);
                b
            },
            "status_callback_urls[0]",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = s.call("POST", "/api/v1/requests", Some(body)).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["field"], field, "{answer}");
        assert!(!answer.to_string().contains("not-an-address"), "{answer}");
    }
    // Too large: refused before it is read.
    let mut big = intake("r2", "access", "a@b.nl");
    big["padding"] = json!("x".repeat(8192));
    let (status, _) = s.call("POST", "/api/v1/requests", Some(big)).await;
    assert_eq!(status, 413);
    // Nothing was recorded.
    assert!(s.state_requests().is_empty());
}

#[tokio::test]
async fn access_intake_verify_report_and_export() {
    let s = start().await;
    let (status, created) = s
        .call(
            "POST",
            "/api/v1/requests",
            Some(intake("ext-access-1", "access", "sanne.bakker@example.nl")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["request_status"], "pending");
    assert_eq!(created["subject_request_id"], "ext-access-1");
    let id = created["request_id"].as_str().unwrap().to_string();
    // Idempotent: the same submission answers with the same request.
    let (status, again) = s
        .call(
            "POST",
            "/api/v1/requests",
            Some(intake("ext-access-1", "access", "sanne.bakker@example.nl")),
        )
        .await;
    assert_eq!(
        (status, again["request_id"].as_str()),
        (200, Some(id.as_str()))
    );
    // Nothing runs before verification.
    let (status, _) = s
        .call("GET", &format!("/api/v1/requests/{id}/export.zip"), None)
        .await;
    assert_eq!(status, 404);
    let (status, verified) = s
        .call(
            "POST",
            "/api/v1/requests/ext-access-1/verify",
            Some(json!({"how": "passport checked at the desk"})),
        )
        .await;
    assert_eq!(status, 202, "{verified}");
    s.state.wait_for_runs().await;
    let (_, done) = s.call("GET", &format!("/api/v1/requests/{id}"), None).await;
    assert_eq!(done["request_status"], "completed", "{done}");
    assert_eq!(done["processors"][0]["state"], "done");
    let (_, report) = s
        .call("GET", &format!("/api/v1/requests/{id}/report.json"), None)
        .await;
    assert_eq!(report["processors"][0]["id"], "moneybird");
    let html = s
        .client
        .get(format!("{}/api/v1/requests/{id}/report.html", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Moneybird"));
    let zip = s
        .client
        .get(format!("{}/api/v1/requests/{id}/export.zip", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    assert!(zip.bytes().await.unwrap().starts_with(b"PK"));
    // Verifying twice is refused.
    let (status, _) = s
        .call(
            "POST",
            &format!("/api/v1/requests/{id}/verify"),
            Some(json!({"how": "again"})),
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn erasure_waits_for_approval_then_erases() {
    let s = start().await;
    let sanne = contact_id(&s.fake, "sanne.bakker@example.nl");
    let id = s.submit("ext-erase-1", "erasure").await;
    let (status, _) = s.approve(&id).await;
    assert_eq!(status, 409, "no plan yet");
    s.verify(&id).await;
    s.state.wait_for_runs().await;
    let (_, planned) = s.call("GET", &format!("/api/v1/requests/{id}"), None).await;
    assert_eq!(
        (
            planned["request_status"].as_str(),
            planned["status"].as_str()
        ),
        (Some("in_progress"), Some("planned"))
    );
    assert!(
        s.fake.state().contacts.contains_key(&sanne),
        "a dry run erased"
    );
    // A digest that is not the plan's is refused; nothing is erased.
    let (status, refused) = s
        .call(
            "POST",
            &format!("/api/v1/requests/{id}/approve"),
            Some(json!({"plan_digest": "0123456789abcdef", "approver": "Petra"})),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    let (status, missing) = s
        .call(
            "POST",
            &format!("/api/v1/requests/{id}/approve"),
            Some(json!({"plan_digest": planned["plan_awaiting_approval"]["digest"]})),
        )
        .await;
    assert_eq!((status, missing["field"].as_str()), (422, Some("approver")));
    assert!(s.fake.state().contacts.contains_key(&sanne));
    let (status, _) = s.approve(&id).await;
    assert_eq!(status, 202);
    s.state.wait_for_runs().await;
    let audit = s._env.ledger.approvals(&id).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].approver, "Petra de Privacy Officer");
    assert_eq!(
        Some(audit[0].digest.as_str()),
        planned["plan_awaiting_approval"]["digest"].as_str()
    );
    let (_, done) = s.call("GET", &format!("/api/v1/requests/{id}"), None).await;
    assert_eq!(done["request_status"], "completed", "{done}");
    assert!(!s.fake.state().contacts.contains_key(&sanne));
}

/// Issue 19: a rectification comes in through the API as a documented extension of the
/// OpenDSR intake, with the same verification and approval steps as an erasure.
#[tokio::test]
async fn a_rectification_through_the_api_is_verified_approved_and_carried_out() {
    let s = start().await;
    let sanne = contact_id(&s.fake, "sanne.bakker@example.nl");
    let mut body = intake("ext-rectify-1", "rectification", "sanne.bakker@example.nl");
    body["corrections"] = json!({"phone": "+31 6 1111 2222", "city": "Amersfoort"});
    let (status, created) = s.call("POST", "/api/v1/requests", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["request_type"], "rectification");
    let id = created["request_id"].as_str().unwrap().to_string();
    s.verify(&id).await;
    s.state.wait_for_runs().await;
    let (_, planned) = s.call("GET", &format!("/api/v1/requests/{id}"), None).await;
    assert_eq!(planned["status"], "planned", "{planned}");
    assert_ne!(s.fake.state().contacts[&sanne]["phone"], "+31 6 1111 2222");
    // The approver sees in the dashboard what changes from what to what.
    let old_phone = s.fake.state().contacts[&sanne]["phone"]
        .as_str()
        .unwrap()
        .to_string();
    let page = s
        .browser_for("j.smit")
        .await
        .get(&format!("/dashboard/requests/{id}"))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("<code>phone</code>: ")
            && page
                .html
                .contains(&format!("{old_phone} → +31 6 1111 2222")),
        "{}",
        page.html
    );
    let (status, _) = s.approve(&id).await;
    assert_eq!(status, 202);
    s.state.wait_for_runs().await;
    let contact = &s.fake.state().contacts[&sanne];
    assert_eq!(contact["phone"], "+31 6 1111 2222");
    assert_eq!(contact["city"], "Amersfoort");
    let (_, done) = s.call("GET", &format!("/api/v1/requests/{id}"), None).await;
    assert_eq!(done["request_status"], "completed", "{done}");
    // Closed: the values are gone, and the page says so rather than showing empty ones.
    let page = s
        .browser_for("j.smit")
        .await
        .get(&format!("/dashboard/requests/{id}"))
        .await;
    assert!(!page.html.contains("+31 6 1111 2222"));
    assert!(page.html.contains("values purged when the request closed"));
}

#[tokio::test]
async fn the_openapi_description_matches_the_routes() {
    let s = start().await;
    let spec: Value = serde_json::from_str(OPENAPI).unwrap();
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, served,
        "docs/openapi.json and serve::ROUTES differ"
    );
    // And ROUTES is what the router serves: every route answers (a 404 of ours carries a
    // JSON error; a missing route answers an empty 404 or a 405).
    for (method, path) in ROUTES {
        let path = path
            .replace("{id}", "no-such-request")
            .replace("{name}", "x.eml");
        let response = s
            .client
            .request(
                method.to_uppercase().parse().unwrap(),
                format!("{}{path}", s.base),
            )
            .bearer_auth(TOKEN)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}");
        // The router's own 404 for a route it does not know says "no such resource".
        assert!(
            status != 404 || !body.contains("no such resource"),
            "{method} {path} is not routed"
        );
    }
    // The served description is the checked-in file.
    let served_spec = s
        .client
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(served_spec, OPENAPI);
}

/// A loopback receiver that refuses the first `fail` callbacks with 503.
async fn receiver(fail: usize) -> (String, Arc<std::sync::Mutex<Vec<Value>>>) {
    let (url, seen, _) = refusing_receiver(fail).await;
    (url, seen)
}

/// [`receiver`], with the count of refusals left, which a test may change.
async fn refusing_receiver(
    fail: usize,
) -> (
    String,
    Arc<std::sync::Mutex<Vec<Value>>>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    use axum::routing::post;
    let seen = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(fail));
    let refusals = failures.clone();
    let app = axum::Router::new().route(
        "/cb",
        post({
            let seen = seen.clone();
            move |headers: axum::http::HeaderMap, axum::Json(mut body): axum::Json<Value>| {
                let seen = seen.clone();
                let failures = failures.clone();
                // What the delivery's headers said, kept beside the body for the tests.
                let header = |name: &str| {
                    headers
                        .get(name)
                        .map(|v| Value::from(v.to_str().unwrap()))
                        .unwrap_or(Value::Null)
                };
                body["test:idempotency-key"] = header("idempotency-key");
                body["test:attempt"] = header("dsrhub-delivery-attempt");
                async move {
                    let refuse = failures
                        .fetch_update(
                            std::sync::atomic::Ordering::SeqCst,
                            std::sync::atomic::Ordering::SeqCst,
                            |n| n.checked_sub(1),
                        )
                        .is_ok();
                    if refuse {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    seen.lock().unwrap().push(body);
                    axum::http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let url = format!("{}/cb", serve_on_loopback(app).await);
    (url, seen, refusals)
}

/// A receiver that never answers: counts the attempts that reached it.
async fn silent_receiver() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::post;
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/cb",
        post({
            let attempts = attempts.clone();
            move || {
                attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::future::pending::<()>()
            }
        }),
    );
    let url = format!("{}/cb", serve_on_loopback(app).await);
    (url, attempts)
}

/// One submitter's receiver hangs: another request's callback still goes out at once, not
/// after the first one's timeouts and retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_holds_up_no_other_request() {
    let s = start().await;
    let (hanging, attempts) = silent_receiver().await;
    let (url, seen) = receiver(0).await;
    let mut first = intake("ext-hang-1", "access", "sanne.bakker@example.nl");
    first["status_callback_urls"] = json!([hanging]);
    let (status, _) = s.call("POST", "/api/v1/requests", Some(first)).await;
    assert_eq!(status, 201);
    let reached = tokio::time::timeout(std::time::Duration::from_secs(4), async {
        while attempts.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(reached.is_ok(), "the first callback never went out");
    let mut second = intake("ext-hang-2", "access", "sanne.bakker@example.nl");
    second["status_callback_urls"] = json!([url]);
    let (status, _) = s.call("POST", "/api/v1/requests", Some(second)).await;
    assert_eq!(status, 201);
    // The hanging receiver's first attempt times out after 5 s; the other callback must not
    // wait for it.
    let delivered = tokio::time::timeout(std::time::Duration::from_secs(4), async {
        while seen.lock().unwrap().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(delivered.is_ok(), "the second request's callback waited");
    assert_eq!(seen.lock().unwrap()[0]["subject_request_id"], "ext-hang-2");
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn status_callbacks_are_delivered_with_retries_and_recorded() {
    let s = start().await;
    let (url, seen) = receiver(2).await;
    let id = s.submit_with_callback("ext-cb-1", "access", &url).await;
    s.verify(&id).await;
    s.state.wait_for_runs().await;
    let seen = seen.lock().unwrap().clone();
    let statuses: Vec<&str> = seen
        .iter()
        .map(|b| b["request_status"].as_str().unwrap())
        .collect();
    // The first delivery needed two retries; every status arrived once, ending completed.
    assert_eq!(statuses.first(), Some(&"pending"), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&"completed"), "{statuses:?}");
    let own: Vec<&str> = seen.iter().map(|b| b["status"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = own.iter().copied().collect();
    assert_eq!(
        unique.len(),
        own.len(),
        "a status was delivered twice: {own:?}"
    );
    assert!(seen.iter().all(|b| b["subject_request_id"] == "ext-cb-1"));
    assert!(s
        ._env
        .ledger
        .callback_delivered(&id, &url, "completed")
        .unwrap());
}

/// A POST is not idempotent: the attempt is written to the ledger before it, and every attempt
/// at one status carries the same `Idempotency-Key`, so a delivery repeated after a failure
/// or a crash is recognisable as the same one (issue 13.7).
#[tokio::test]
async fn a_repeated_callback_delivery_carries_the_same_idempotency_key() {
    let s = start().await;
    // Refused through every retry of the first delivery: recorded as failed, not delivered.
    // (The ledger's status names the row: "received" is the API's "pending".)
    let (url, seen, refusals) = refusing_receiver(1000).await;
    let id = s.submit_with_callback("ext-cb-key", "erasure", &url).await;
    assert!(!s
        ._env
        .ledger
        .callback_delivered(&id, &url, "received")
        .unwrap());
    assert!(seen.lock().unwrap().is_empty());
    // As a crash after a POST would leave it: the intent counted, no outcome recorded.
    s._env
        .ledger
        .record_callback_intent(&id, &url, "received")
        .unwrap();
    // The receiver answers now; the scheduler's next pass delivers again.
    refusals.store(0, std::sync::atomic::Ordering::SeqCst);
    let mut config = s._env.config.clone();
    config.serve.inventory_sync = "off".into();
    let mut scheduler = dsrhub::serve::scheduler::Scheduler::new(s.state.clone(), config).unwrap();
    let before = seen.lock().unwrap().len();
    scheduler.tick(jiff::Timestamp::now()).await.unwrap();
    s.state.wait_for_runs().await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), before + 1, "delivered once more");
    let delivered = &seen[before];
    assert_eq!(
        delivered["test:idempotency-key"],
        dsrhub::serve::callbacks::idempotency_key(&id, &url, "received").as_str()
    );
    assert_eq!(
        delivered["test:attempt"], "3",
        "the failed one, the crashed one, this one"
    );
    assert!(s
        ._env
        .ledger
        .callback_delivered(&id, &url, "received")
        .unwrap());
}

/// A request cancelled outside the server (`dsrhub cancel`): the scheduler's next pass tells
/// the submitter, once.
#[tokio::test]
async fn a_status_changed_outside_the_server_is_still_called_back() {
    let s = start().await;
    let (url, seen) = receiver(0).await;
    let id = s.submit_with_callback("ext-cb-2", "erasure", &url).await;
    assert_eq!(seen.lock().unwrap().len(), 1, "pending");
    // As `dsrhub cancel` does it: another hub over the same ledger, the server not involved.
    s._env.hub.cancel(&id, "withdrawn by the subject").unwrap();
    let mut config = s._env.config.clone();
    config.serve.inventory_sync = "off".into();
    let mut scheduler = dsrhub::serve::scheduler::Scheduler::new(s.state.clone(), config).unwrap();
    let now = jiff::Timestamp::now();
    scheduler.tick(now).await.unwrap();
    s.state.wait_for_runs().await;
    let statuses: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["request_status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["pending", "cancelled"]);
    // The next pass has nothing new to tell.
    scheduler
        .tick(now + jiff::SignedDuration::from_hours(1))
        .await
        .unwrap();
    s.state.wait_for_runs().await;
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_one_time_link_signs_a_browser_in_to_the_dashboard() {
    let s = start().await;
    let id = s.submit("ext-dash-1", "erasure").await;
    let (status, link) = s
        .call(
            "POST",
            "/api/v1/dashboard/sessions",
            Some(json!({"user": "j.smit"})),
        )
        .await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["user"], "j.smit");
    let url = link["url"].as_str().unwrap();
    let browser = Browser::new(&s.base);
    let opened = browser.get(url).await;
    assert_eq!(opened.status, 303);
    let cookie = opened.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    // The link works once; a second use gets a page that says so.
    let again = Browser::new(&s.base).get(url).await;
    assert_eq!(again.status, 401);
    assert!(
        again.html.contains("used already or has expired"),
        "{}",
        again.html
    );
    let page = browser.get("/dashboard").await;
    assert_eq!(page.status, 200);
    let html = page.html;
    assert!(html.contains(&id) && html.contains("Moneybird"), "{html}");
    assert!(
        html.contains("signed in as <strong>j.smit</strong>"),
        "{html}"
    );
    assert!(html.contains(&format!("/api/v1/requests/{id}/report.html")));
    assert!(
        !html.contains("sanne"),
        "the dashboard shows a subject's address"
    );
    // The session opens the report too; a made-up one opens nothing but the sign-in page.
    let report = browser
        .get(&format!("/api/v1/requests/{id}/report.html"))
        .await;
    assert_eq!(report.status, 200);
    let stranger = Browser::new(&s.base);
    let forged = stranger.get("/dashboard").await;
    assert_eq!(forged.status, 303);
    assert_eq!(
        forged.location.as_deref(),
        Some("/dashboard/login?next=%2Fdashboard")
    );
    // A name that is not one is refused.
    let (status, refused) = s
        .call(
            "POST",
            "/api/v1/dashboard/sessions",
            Some(json!({"user": "<script>"})),
        )
        .await;
    assert_eq!((status, refused["field"].as_str()), (422, Some("user")));
}

/// A request submitted through a form six weeks ago and posted only now: its month counts from
/// the submission, so it is overdue already, and the dashboard shows it in red; a fresh one is
/// marked "due soon" when it falls inside `[serve] deadline_warning_days`.
#[tokio::test]
async fn the_deadline_counts_from_submission_and_overdue_shows_red() {
    // A wide warning window: the fresh request (due in a month) is "due soon" too.
    let s = start_with(None, |c, _| c.serve.deadline_warning_days = 40).await;
    let submitted = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 42);
    let mut body = intake("ext-late-1", "access", "sanne.bakker@example.nl");
    body["submitted_time"] = json!(submitted.to_string());
    let (status, created) = s.call("POST", "/api/v1/requests", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let due: jiff::Timestamp = created["expected_completion_time"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let received: jiff::Timestamp = created["received_time"].as_str().unwrap().parse().unwrap();
    assert_eq!(received.as_second(), submitted.as_second());
    assert!(due < jiff::Timestamp::now(), "due {due}");
    let fresh = s.submit("ext-fresh-1", "access").await;

    let html = s.dashboard().await;
    assert!(html.contains("2 open, 1 overdue"), "{html}");
    let late = created["request_id"].as_str().unwrap();
    let row = |id: &str| -> String {
        let at = html.find(id).expect("the request is listed");
        let start = html[..at].rfind("<tr").unwrap();
        html[start..at].to_string()
    };
    assert!(row(late).contains("class=\"overdue\""), "{}", row(late));
    assert!(row(&fresh).contains("class=\"soon\""), "{}", row(&fresh));
    assert!(html.contains("tr.overdue td { background"), "red styling");
}

/// The scheduler on a fast clock: retries a failed task, watches deadlines once a day (with
/// the reminder webhook), syncs the inventory daily at the configured time.
#[tokio::test]
async fn the_scheduler_retries_watches_deadlines_and_syncs_daily() {
    let s = start().await;
    let (hook, reminders) = receiver(0).await;
    let id = s.submit("ext-sched-1", "erasure").await;
    // Moneybird is down while the request is planned: the task fails, retryably.
    s.fake.faults().fail_next(503, u32::MAX, None);
    s.verify(&id).await;
    s.state.wait_for_runs().await;
    let task = &s._env.ledger.tasks(&id).unwrap()[0];
    assert_eq!(task.state, dsrhub::ledger::TaskState::Failed);
    s.fake.faults().clear();

    let mut config = s._env.config.clone();
    config.serve.inventory_sync = "daily 03:00".into();
    config.serve.deadline_warning_days = 40;
    config.serve.reminder_webhook = Some(hook.parse().unwrap());
    let mut scheduler = dsrhub::serve::scheduler::Scheduler::new(s.state.clone(), config).unwrap();
    // The fast clock starts tomorrow (the request's deadline counts from the real now).
    let tomorrow = jiff::Timestamp::now()
        .in_tz("Europe/Amsterdam")
        .unwrap()
        .date()
        .tomorrow()
        .unwrap();
    let at = |day: i8, hh: i8, mm: i8| {
        tomorrow
            .checked_add(jiff::Span::new().days(day - 26))
            .unwrap()
            .at(hh, mm, 0, 0)
            .in_tz("Europe/Amsterdam")
            .unwrap()
            .timestamp()
    };
    let ran = scheduler.tick(at(26, 2, 0)).await.unwrap();
    assert!(ran.inventory, "never synced before: at once");
    assert_eq!(ran.deadlines, Some((1, 0)), "due within 40 days");
    assert_eq!(ran.resumed, vec![id.clone()]);
    s.state.wait_for_runs().await;
    let request = s._env.ledger.request(&id).unwrap();
    assert_eq!(
        request.status,
        dsrhub::ledger::RequestStatus::Planned,
        "resumed, and not executed without approval"
    );
    assert_eq!(reminders.lock().unwrap().len(), 1);
    assert_eq!(
        reminders.lock().unwrap()[0]["due_soon"][0]["request_id"],
        id
    );

    let ran = scheduler.tick(at(26, 2, 10)).await.unwrap();
    assert_eq!(ran, Default::default(), "nothing due ten minutes later");
    let ran = scheduler.tick(at(26, 3, 10)).await.unwrap();
    assert!(ran.inventory && ran.deadlines.is_none() && ran.resumed.is_empty());
    assert!(
        !scheduler.tick(at(26, 4, 0)).await.unwrap().inventory,
        "twice a day"
    );
    let ran = scheduler.tick(at(27, 3, 5)).await.unwrap();
    assert!(ran.inventory && ran.deadlines.is_some());
    assert_eq!(s._env.ledger.inventory_runs(10).unwrap().len(), 3);
}

/// The daily reminder by e-mail: request ids and due dates, not the subject's address.
#[tokio::test]
async fn the_deadline_reminder_is_emailed_without_personal_data() {
    let (port, inbox) = common::smtp::server().await;
    let smtp = dsrhub::mail::SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: dsrhub::mail::Security::None,
        username: None,
        password: None,
        timeout_seconds: 5,
    };
    let mailer =
        dsrhub::mail::Mailer::new(&smtp, "privacy@voorbeeld-it.example", &Secrets::in_memory())
            .unwrap();
    let s = start_with(Some(mailer), |_, _| {}).await;
    let mut late = intake("ext-mail-1", "access", "sanne.bakker@example.nl");
    let submitted = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 40);
    late["submitted_time"] = json!(submitted.to_string());
    let (status, created) = s.call("POST", "/api/v1/requests", Some(late)).await;
    assert_eq!(status, 201);
    let overdue = created["request_id"].as_str().unwrap().to_string();
    let fresh = s.submit("ext-mail-2", "access").await;

    let mut config = s._env.config.clone();
    config.serve.reminder_email = vec!["dpo@voorbeeld-it.example".into()];
    config.serve.deadline_warning_days = 40;
    config.serve.inventory_sync = "off".into();
    let mut scheduler = dsrhub::serve::scheduler::Scheduler::new(s.state.clone(), config).unwrap();
    let ran = scheduler.tick(jiff::Timestamp::now()).await.unwrap();
    assert_eq!(ran.deadlines, Some((1, 1)));
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one reminder");
    let (to, message) = &got[0];
    assert_eq!(to, &vec!["<dpo@voorbeeld-it.example>".to_string()]);
    assert!(message.contains("1 data-subject request(s) overdue, 1 due within 40 days"));
    let overdue_at = message
        .find(&overdue)
        .expect("the overdue request is named");
    let fresh_at = message.find(&fresh).expect("the request due soon is named");
    assert!(message[..overdue_at].contains("Overdue:"));
    assert!(message[overdue_at..fresh_at].contains("Due soon:"));
    assert!(!message.contains("sanne"), "{message}");
    // The same day, no second reminder.
    scheduler.tick(jiff::Timestamp::now()).await.unwrap();
    assert_eq!(inbox.lock().unwrap().len(), 1);
}

/// A cron schedule counts from the last sync in the ledger: a restart does not sync again
/// before the next time, and a time missed while the server was down is caught up once.
#[tokio::test]
async fn the_inventory_schedule_counts_from_the_last_sync_in_the_ledger() {
    let s = start().await;
    let mut config = s._env.config.clone();
    config.serve.inventory_sync = "0 3 * * 1-5".into();
    let ledger = s._env.ledger.clone();
    dsrhub::inventory::sync(&config, s._env.hub.processors(), &ledger)
        .await
        .unwrap();
    let last: jiff::Timestamp = ledger.inventory_runs(1).unwrap()[0].1.parse().unwrap();
    let tz = config.hub.timezone.clone();
    let local = |t: jiff::Timestamp| t.in_tz(&tz).unwrap();
    let schedule = dsrhub::serve::cron::Schedule::parse(&config.serve.inventory_sync)
        .unwrap()
        .unwrap();
    // The next weekday 03:00 after that sync, as an instant.
    let due = schedule
        .next_after(local(last).datetime())
        .unwrap()
        .in_tz(&tz)
        .unwrap()
        .timestamp();
    let minute = jiff::SignedDuration::from_mins(1);

    let mut restarted =
        dsrhub::serve::scheduler::Scheduler::new(s.state.clone(), config.clone()).unwrap();
    assert!(
        !restarted.tick(due - minute).await.unwrap().inventory,
        "not before the time"
    );
    assert!(
        restarted.tick(due + minute).await.unwrap().inventory,
        "at the time"
    );
    assert!(
        !restarted.tick(due + minute * 2).await.unwrap().inventory,
        "once"
    );

    // Down for four days: one catch-up sync at start, not one per missed morning.
    let mut after_outage =
        dsrhub::serve::scheduler::Scheduler::new(s.state.clone(), config).unwrap();
    let later = due + jiff::SignedDuration::from_hours(24 * 4) + minute * 90;
    assert!(after_outage.tick(later).await.unwrap().inventory);
    assert!(!after_outage.tick(later + minute).await.unwrap().inventory);
}

#[tokio::test]
async fn a_request_can_be_cancelled_until_it_changes_something() {
    let s = start().await;
    let id = s.submit("ext-cancel-1", "erasure").await;
    let (status, answer) = s
        .call(
            "POST",
            &format!("/api/v1/requests/{id}/cancel"),
            Some(json!({})),
        )
        .await;
    assert_eq!((status, answer["field"].as_str()), (422, Some("reason")));
    let (status, cancelled) = s
        .call(
            "POST",
            "/api/v1/requests/ext-cancel-1/cancel",
            Some(json!({"reason": "withdrawn by the subject"})),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["request_status"], "cancelled");
    assert!(
        s._env.ledger.subject(&id).is_err(),
        "identifiers kept after cancelling"
    );
    let (status, _) = s
        .call(
            "POST",
            &format!("/api/v1/requests/{id}/verify"),
            Some(json!({"how": "passport"})),
        )
        .await;
    assert_eq!(status, 409);
    // Once an erasure has been carried out, it cannot be withdrawn.
    let done = s.submit("ext-cancel-2", "erasure").await;
    s.verify(&done).await;
    s.state.wait_for_runs().await;
    assert_eq!(s.approve(&done).await.0, 202);
    s.state.wait_for_runs().await;
    let (status, _) = s
        .call(
            "POST",
            &format!("/api/v1/requests/{done}/cancel"),
            Some(json!({"reason": "too late"})),
        )
        .await;
    assert_eq!(status, 409);
}

/// Issue 16.1: the intake's `language` (an extension of OpenDSR) is the language the subject
/// is answered in; anything but nl or en is refused, naming the field.
#[tokio::test]
async fn the_intake_language_is_the_replies_language() {
    let s = start().await;
    let mut body = intake("ext-lang-1", "access", "sanne.bakker@example.nl");
    body["language"] = json!("en");
    let (status, created) = s.call("POST", "/api/v1/requests", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["request_id"].as_str().unwrap();
    assert_eq!(s._env.ledger.request(id).unwrap().language, "en");
    let mut body = intake("ext-lang-2", "access", "sanne.bakker@example.nl");
    body["language"] = json!("de");
    let (status, refused) = s.call("POST", "/api/v1/requests", Some(body)).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["field"], "language", "{refused}");
}

/// Issue 17.4: ten parallel intakes of one `subject_request_id`, thirty times: every answer is
/// the same request (one `201`, the rest `200`), and no orphan request holding the subject's
/// address is left behind (today some answered 500 and left one, never purged).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_intakes_of_one_request_record_it_once() {
    let s = start().await;
    for round in 0..30 {
        let external = format!("ext-race-{round}");
        let answers = futures_util::future::join_all((0..10).map(|_| {
            s.call(
                "POST",
                "/api/v1/requests",
                Some(intake(&external, "access", "sanne.bakker@example.nl")),
            )
        }))
        .await;
        let created = answers.iter().filter(|(status, _)| *status == 201).count();
        assert_eq!(created, 1, "round {round}: {answers:?}");
        assert!(
            answers
                .iter()
                .all(|(status, _)| matches!(status, 200 | 201)),
            "round {round}: {answers:?}"
        );
        let ids: std::collections::BTreeSet<_> = answers
            .iter()
            .map(|(_, body)| body["request_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 1, "round {round}: {ids:?}");
    }
    assert_eq!(
        s._env.ledger.requests().unwrap().len(),
        30,
        "orphan requests"
    );
}

/// Issue 17.3: a `subject_request_id` equal to another request's own id is refused, so the
/// two can never be confused when a request is looked up.
#[tokio::test]
async fn an_external_id_equal_to_an_internal_id_is_refused() {
    let s = start().await;
    let (_, first) = s
        .call(
            "POST",
            "/api/v1/requests",
            Some(intake("ext-first", "access", "sanne.bakker@example.nl")),
        )
        .await;
    let internal = first["request_id"].as_str().unwrap().to_string();
    let (status, refused) = s
        .call(
            "POST",
            "/api/v1/requests",
            Some(intake(&internal, "erasure", "someone.else@example.nl")),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["field"], "subject_request_id");
    let (_, looked_up) = s
        .call("GET", &format!("/api/v1/requests/{internal}"), None)
        .await;
    assert_eq!(looked_up["subject_request_id"], "ext-first");
}

/// Issue 17.4: every error is JSON in the documented shape (`error`, `message`): a malformed
/// body (400), the wrong content type (415), a body over the limit (413) and an unknown route
/// (404) answered `text/plain` or nothing.
#[tokio::test]
async fn every_error_is_json_with_the_documented_shape() {
    let s = start().await;
    let send = |method: &str, path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut request = s
            .client
            .request(method.parse().unwrap(), format!("{}{path}", s.base))
            .bearer_auth(TOKEN)
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request.send()
    };
    let cases = [
        (
            "POST",
            "/api/v1/requests",
            Some("application/json"),
            b"{not json".to_vec(),
            400,
        ),
        (
            "POST",
            "/api/v1/requests",
            Some("text/plain"),
            b"{}".to_vec(),
            415,
        ),
        (
            "POST",
            "/api/v1/requests",
            Some("application/json"),
            vec![b' '; 2 << 20],
            413,
        ),
        ("GET", "/api/v1/no-such-thing", None, Vec::new(), 404),
    ];
    for (method, path, content_type, body, status) in cases {
        let answer = send(method, path, content_type, body).await.unwrap();
        assert_eq!(answer.status().as_u16(), status, "{method} {path}");
        let kind = answer
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(kind.starts_with("application/json"), "{status}: {kind}");
        let body: Value = answer.json().await.unwrap();
        assert!(body["error"].is_string(), "{status}: {body}");
        assert!(body["message"].is_string(), "{status}: {body}");
    }
}

/// Issue 17.3: an `intake` token (the web form's) can submit a request and read its status,
/// nothing else: not verify, approve, cancel, read reports or exports, or open the dashboard.
#[tokio::test]
async fn an_intake_token_submits_and_reads_status_only() {
    let s = start().await;
    let state = AppState::new(
        s.state.hub().clone(),
        Tokens::with_intake([TOKEN], ["intake-token-0123456789"]),
        &s._env.config,
        dsrhub_connector::testkit::fast_http_settings(),
    );
    let base = serve_on_loopback(router(state, 4096)).await;
    let call = |method: &str, path: &str, body: Option<Value>| {
        let mut request = s
            .client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth("intake-token-0123456789");
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            (status, answer.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, created) = call(
        "POST",
        "/api/v1/requests",
        Some(intake("ext-scope-1", "erasure", "sanne.bakker@example.nl")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["request_id"].as_str().unwrap().to_string();
    let (status, _) = call("GET", &format!("/api/v1/requests/{id}"), None).await;
    assert_eq!(status, 200);
    for (method, path, body) in [
        (
            "POST",
            format!("/api/v1/requests/{id}/verify"),
            Some(json!({"how": "passport"})),
        ),
        (
            "POST",
            format!("/api/v1/requests/{id}/approve"),
            Some(json!({"plan_digest": "x", "approver": "y"})),
        ),
        (
            "POST",
            format!("/api/v1/requests/{id}/cancel"),
            Some(json!({"reason": "z"})),
        ),
        ("GET", format!("/api/v1/requests/{id}/report.json"), None),
        ("GET", format!("/api/v1/requests/{id}/export.zip"), None),
        ("GET", "/api/v1/processors".to_string(), None),
        ("POST", "/api/v1/dashboard/sessions".to_string(), None),
    ] {
        let (status, body) = call(method, &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(body["error"], "forbidden", "{method} {path}");
    }
    assert_eq!(
        s._env.ledger.request(&id).unwrap().status,
        dsrhub::ledger::RequestStatus::Received,
        "an intake token changed the request"
    );
}

/// Issue 17.4: the API does what the CLI does: list requests (filtered, paged, nearest
/// deadline first), extend with a reason (the letter is written and listed), read the audit
/// entries, download a letter; a name outside the listing is not served.
#[tokio::test]
async fn the_api_lists_extends_audits_and_serves_letters() {
    let s = start().await;
    let first = s.submit("ext-list-1", "access").await;
    let second = s.submit("ext-list-2", "erasure").await;
    let (status, page) = s
        .call("GET", "/api/v1/requests?status=needs_action&limit=1", None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 2);
    assert_eq!(page["requests"].as_array().unwrap().len(), 1);
    assert_eq!(page["requests"][0]["needs"][0], "verify the identity");
    let (_, erasures) = s.call("GET", "/api/v1/requests?type=erasure", None).await;
    assert_eq!(erasures["requests"][0]["request_id"], second.as_str());
    let (status, bad) = s.call("GET", "/api/v1/requests?status=later", None).await;
    assert_eq!(status, 422);
    assert_eq!(bad["field"], "status");

    let (status, extended) = s
        .call(
            "POST",
            &format!("/api/v1/requests/{first}/extend"),
            Some(json!({"months": 1, "reason": "het archief moet worden doorzocht"})),
        )
        .await;
    assert_eq!(status, 200, "{extended}");
    let (_, letters) = s
        .call("GET", &format!("/api/v1/requests/{first}/letters"), None)
        .await;
    assert_eq!(letters["letters"], json!(["reply-extension.eml"]));
    let letter = s
        .client
        .get(format!(
            "{}/api/v1/requests/{first}/letters/reply-extension.eml",
            s.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(letter.status().as_u16(), 200);
    assert!(letter
        .text()
        .await
        .unwrap()
        .contains("het archief moet worden doorzocht"));
    let (status, _) = s
        .call(
            "GET",
            &format!("/api/v1/requests/{first}/letters/..%2F..%2Fledger.db"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    let (_, audit) = s
        .call("GET", &format!("/api/v1/requests/{first}/audit"), None)
        .await;
    let events: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"request.extended"), "{events:?}");
    assert!(audit["chain_head"]["hash"].is_string());
}

/// Issue 17.2 (part): the dashboard shows first what waits for a person, nearest deadline
/// first: here an identity to verify, then a plan to approve.
#[tokio::test]
async fn the_dashboard_shows_what_needs_a_person_first() {
    let s = start().await;
    let unverified = s.submit("ext-needs-1", "access").await;
    let planned = s.submit("ext-needs-2", "erasure").await;
    s.verify(&planned).await;
    s.state.wait_for_runs().await;
    let html = s.dashboard().await;
    let needs_at = html.find("Needs you").expect("a 'Needs you' section");
    let open_at = html.find("<h2>Requests").unwrap();
    assert!(needs_at < open_at, "'Needs you' comes first");
    let section = &html[needs_at..open_at];
    assert!(
        section.contains(&unverified) && section.contains("verify the identity"),
        "{section}"
    );
    assert!(
        section.contains(&planned) && section.contains("approve the plan"),
        "{section}"
    );
}

/// Issue 17.4: a `submitted_time` years in the past, or from before the hub took its first
/// request, is refused unless the sender says it is a backlog (`"backdated": true`): it would
/// make the request overdue at once, and is more likely a sender's bug (a default date).
#[tokio::test]
async fn an_implausible_submitted_time_needs_the_backdated_flag() {
    let s = start().await;
    let ago = |days: i64| {
        (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days)).to_string()
    };
    let mut old = intake("ext-old-1", "access", "sanne.bakker@example.nl");
    old["submitted_time"] = json!(ago(800));
    let (status, refused) = s.call("POST", "/api/v1/requests", Some(old.clone())).await;
    assert_eq!(
        (status, refused["field"].as_str()),
        (422, Some("submitted_time"))
    );
    assert!(refused["message"].as_str().unwrap().contains("backdated"));
    old["backdated"] = json!("yes");
    let (status, refused) = s.call("POST", "/api/v1/requests", Some(old.clone())).await;
    assert_eq!(
        (status, refused["field"].as_str()),
        (422, Some("backdated"))
    );
    old["backdated"] = json!(true);
    let (status, created) = s.call("POST", "/api/v1/requests", Some(old)).await;
    assert_eq!(status, 201, "{created}");

    // Now the hub has a first request: one sent a week before it was recorded predates the
    // hub (the backlog one above is older still, but it was recorded after).
    let mut before = intake("ext-before-1", "access", "sanne.bakker@example.nl");
    before["submitted_time"] = json!(ago(7));
    let (status, refused) = s
        .call("POST", "/api/v1/requests", Some(before.clone()))
        .await;
    assert_eq!(
        (status, refused["field"].as_str()),
        (422, Some("submitted_time")),
        "{refused}"
    );
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("first request"));
    before["backdated"] = json!(true);
    let (status, _) = s.call("POST", "/api/v1/requests", Some(before)).await;
    assert_eq!(status, 201);
    // A fresh one needs no flag.
    s.submit("ext-fresh-2", "access").await;
}

/// Issue 18.2: `[sweep] schedule` in `serve`. The first tick only starts the count; when the
/// schedule is due, the sweep opens a batch and plans it (nothing erased), and the planned
/// requests wait on the dashboard for a person; the next sweep leaves them alone (their
/// requests are open).
#[tokio::test]
async fn the_scheduler_sweeps_on_its_schedule_and_only_plans() {
    let s = start().await;
    let mut config = s._env.config.clone();
    config.serve.inventory_sync = "off".into();
    config.sweep.schedule = "daily 04:00".into();
    let mut scheduler = dsrhub::serve::scheduler::Scheduler::new(s.state.clone(), config).unwrap();
    let day = jiff::Timestamp::now()
        .in_tz("Europe/Amsterdam")
        .unwrap()
        .date();
    let at = |days: i64, hh: i8, mm: i8| {
        day.checked_add(jiff::Span::new().days(days))
            .unwrap()
            .at(hh, mm, 0, 0)
            .in_tz("Europe/Amsterdam")
            .unwrap()
            .timestamp()
    };
    let contacts = s.fake.state().contacts.len();
    assert_eq!(scheduler.tick(at(1, 3, 0)).await.unwrap().sweep, None);
    let ran = scheduler.tick(at(1, 4, 5)).await.unwrap();
    let batch = ran
        .sweep
        .expect("due at 04:00")
        .expect("the fixtures' ended contracts");
    s.state.wait_for_runs().await;
    let requests = s._env.ledger.batch_requests(&batch).unwrap();
    assert!(!requests.is_empty());
    assert!(requests
        .iter()
        .all(|(_, r)| r.status == dsrhub::ledger::RequestStatus::Planned));
    assert_eq!(s.fake.state().contacts.len(), contacts, "only planned");
    let html = s.dashboard().await;
    assert!(html.contains(&requests[0].1.id) && html.contains("approve the plan"));
    // Not again the same day; the next day's sweep selects nobody new.
    assert_eq!(scheduler.tick(at(1, 5, 0)).await.unwrap().sweep, None);
    assert_eq!(scheduler.tick(at(2, 4, 1)).await.unwrap().sweep, Some(None));
}
