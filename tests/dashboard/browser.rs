//! Issue 17.6: the dashboard in real headless Chromium, driven through WebDriver
//! (chromedriver): a privacy officer signs in, verifies an identity, approves the plan, records
//! a processor's answer with an uploaded file and a removal by hand, extends one request and
//! cancels another, and signs out; the same pages read at a phone's width. Screenshots are
//! kept as CI artefacts in `target/tmp/dashboard/`. Skipped with a notice when Chromium or
//! chromedriver is missing, unless `DSRHUB_REQUIRE_CHROMIUM=1` (CI installs both).

use fantoccini::Locator::Css;
use serde_json::json;

use crate::common::server::{submit_erasure, workbench, Server, PASSWORD};
use crate::common::webdriver::{self, Driver};
use dsrhub::ledger::RequestStatus;

/// Sign in at the sign-in form the dashboard sends a stranger to.
async fn sign_in(d: &Driver, s: &Server) {
    let c = &d.client;
    c.goto(&format!("{}/dashboard", s.base)).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/dashboard/login");
    d.screenshot(&format!("{}-sign-in", d_name(d).await)).await;
    c.find(Css("#user"))
        .await
        .unwrap()
        .send_keys("petra")
        .await
        .unwrap();
    c.find(Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.form(Css("form.action"))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    for _ in 0..200 {
        if c.current_url().await.unwrap().path() == "/dashboard" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("not signed in: {}", d.text().await);
}

/// Submit the form `selector` and wait until the browser arrived where its answer sends it (a
/// URL containing `arrives_at`): a click returns before the navigation it starts.
async fn submit(d: &Driver, selector: &str, arrives_at: &str) {
    d.client
        .form(Css(selector))
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    arrive(d, arrives_at).await;
}

/// Wait (up to 10 s) until the page's URL contains `part` and the page is loaded.
async fn arrive(d: &Driver, part: &str) {
    for _ in 0..200 {
        let url = d.client.current_url().await.unwrap().to_string();
        let ready = d
            .client
            .execute("return document.readyState", vec![])
            .await
            .unwrap();
        if url.contains(part) && ready == "complete" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never arrived at {part}: {}", d.text().await);
}

/// `phone` or `desktop`, from the viewport's width: the screenshots' prefix.
async fn d_name(d: &Driver) -> &'static str {
    let width = d
        .client
        .execute("return window.innerWidth", vec![])
        .await
        .unwrap();
    if width.as_u64().unwrap_or(0) < 500 {
        "phone"
    } else {
        "desktop"
    }
}

/// The request's status as its page shows it, once the runs it started have ended.
async fn shown_status(d: &Driver, s: &Server) -> String {
    s.state.wait_for_runs().await;
    d.client.refresh().await.unwrap();
    d.client
        .find(Css("#status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privacy_officer_works_requests_in_headless_chromium() {
    let Some((chromedriver, chromium)) = webdriver::installed() else {
        return;
    };
    let (s, _itglue) = workbench().await;
    let erasure = submit_erasure(&s, "form-browser-1").await;
    let other = s.submit("form-browser-2", "access").await;
    let d = webdriver::start(&chromedriver, chromium, 1280, 1000).await;
    let c = &d.client;

    sign_in(&d, &s).await;
    let text = d.text().await;
    assert!(
        text.contains("Needs you") && text.contains(&erasure),
        "{text}"
    );
    assert!(
        text.contains("petra") && text.contains("Sign out"),
        "{text}"
    );
    d.screenshot("desktop-dashboard").await;

    // Verify the identity.
    c.find(Css(&format!("a[href='/dashboard/requests/{erasure}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(&d, &format!("/dashboard/requests/{erasure}")).await;
    assert!(
        !d.text().await.contains("sanne.bakker"),
        "the subject is masked"
    );
    c.find(Css("#how"))
        .await
        .unwrap()
        .send_keys("replied from the registered address")
        .await
        .unwrap();
    submit(&d, "#verify", "done=verified").await;
    assert!(d.text().await.contains("Identity verified"));
    assert_eq!(shown_status(&d, &s).await, "planned");

    // Approve the plan whose digest the page shows (the API's digest).
    let digest = c.find(Css("#digest")).await.unwrap().text().await.unwrap();
    let (_, api) = s
        .call("GET", &format!("/api/v1/requests/{erasure}"), None)
        .await;
    assert_eq!(api["plan_awaiting_approval"]["digest"], json!(digest));
    d.screenshot("desktop-plan").await;
    submit(&d, "#approve", "done=approved").await;
    assert_eq!(shown_status(&d, &s).await, "awaiting processors");

    // Ekco's answer with its letter uploaded; IT Glue's synced contact removed by hand.
    let files = tempfile::tempdir().unwrap();
    let answer = files.path().join("ekco-answer.pdf");
    std::fs::write(&answer, b"%PDF-1.4 We erased the data.").unwrap();
    let screenshot = files.path().join("autotask.png");
    std::fs::write(&screenshot, b"\x89PNG not really").unwrap();
    c.find(Css("#evidence-ekco"))
        .await
        .unwrap()
        .send_keys(answer.to_str().unwrap())
        .await
        .unwrap();
    d.screenshot("desktop-answers").await;
    submit(&d, "#confirm-ekco", "done=confirmed").await;
    assert!(
        d.text().await.contains("answer is recorded"),
        "{}",
        d.text().await
    );
    c.find(Css("form[action$='/record'] input[type=file]"))
        .await
        .unwrap()
        .send_keys(screenshot.to_str().unwrap())
        .await
        .unwrap();
    submit(&d, "form[action$='/record']", "done=recorded").await;
    assert_eq!(shown_status(&d, &s).await, "completed");
    d.screenshot("desktop-completed").await;
    for event in [
        "identity.verified",
        "plan.approved",
        "answer.received",
        "manual.recorded",
    ] {
        let by: Vec<String> = s
            ._env
            .ledger
            .audit_entries(Some(&erasure))
            .unwrap()
            .into_iter()
            .filter(|e| e.event == event)
            .map(|e| e.detail.to_string())
            .collect();
        assert!(
            by.len() == 1 && by[0].contains("\"petra\""),
            "{event}: {by:?}"
        );
    }

    // Extend the other request, then cancel it.
    c.goto(&format!("{}/dashboard/requests/{other}", s.base))
        .await
        .unwrap();
    c.find(Css("#months"))
        .await
        .unwrap()
        .select_by_value("2")
        .await
        .unwrap();
    c.find(Css("#extend-reason"))
        .await
        .unwrap()
        .send_keys("many processors to ask")
        .await
        .unwrap();
    submit(&d, "#extend", "done=extended").await;
    assert!(d.text().await.contains("deadline is extended"));
    assert_eq!(
        s._env.ledger.extensions(&other).unwrap()[0].given_by,
        "petra"
    );
    c.find(Css("#cancel-reason"))
        .await
        .unwrap()
        .send_keys("withdrawn by the subject")
        .await
        .unwrap();
    submit(&d, "#cancel", "done=cancelled").await;
    assert_eq!(shown_status(&d, &s).await, "cancelled");
    assert_eq!(
        s._env.ledger.request(&other).unwrap().status,
        RequestStatus::Cancelled
    );

    // Sign out: back at the sign-in page, and the dashboard asks for it again.
    c.find(Css("header button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrive(&d, "/dashboard/login").await;
    c.goto(&format!("{}/dashboard", s.base)).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/dashboard/login");
    d.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_reads_at_a_phones_width() {
    let Some((chromedriver, chromium)) = webdriver::installed() else {
        return;
    };
    let (s, _itglue) = workbench().await;
    let erasure = submit_erasure(&s, "form-phone-1").await;
    let d = webdriver::start(&chromedriver, chromium, 390, 844).await;
    sign_in(&d, &s).await;
    for (name, path) in [
        ("phone-dashboard", "/dashboard".to_string()),
        ("phone-request", format!("/dashboard/requests/{erasure}")),
    ] {
        d.client.goto(&format!("{}{path}", s.base)).await.unwrap();
        let fits = d
            .client
            .execute(
                "return [window.innerWidth, document.documentElement.scrollWidth]",
                vec![],
            )
            .await
            .unwrap();
        let (inner, scroll) = (fits[0].as_u64().unwrap(), fits[1].as_u64().unwrap());
        assert_eq!(inner, 390, "the phone's width");
        assert!(
            scroll <= inner,
            "{path}: the page is {scroll} px wide at {inner} px"
        );
        d.screenshot(name).await;
    }
    // The verification form is usable there: its field as wide as the screen allows.
    let field = d.client.find(Css("#how")).await.unwrap();
    let (_, _, width, _) = field.rectangle().await.unwrap();
    assert!(width > 300.0 && width <= 390.0, "{width}");
    d.client.clone().close().await.unwrap();
}
