//! Issue 17.2: the dashboard as a workbench, over HTTP as a browser uses it: signing in with a
//! name and password, sessions kept in the ledger, CSRF tokens, and a request taken from
//! intake to completion with the dashboard's forms alone, each step audited under the
//! signed-in user's name. [`browser`] drives the same in headless Chromium.

#[path = "dashboard/browser.rs"]
mod browser;
mod common;

use common::server::{
    serve_on_loopback, start, start_with, submit_erasure, workbench, Browser, Server, PASSWORD,
    TOKEN,
};
use dsrhub::ledger::RequestStatus;
use dsrhub::serve::{router, AppState, Tokens};
use serde_json::json;

fn status_of(s: &Server, id: &str) -> RequestStatus {
    s._env.ledger.request(id).unwrap().status
}

/// Who the audit log says did `event` for request `id`.
fn audited_by(s: &Server, id: &str, event: &str) -> Vec<String> {
    s._env
        .ledger
        .audit_entries(Some(id))
        .unwrap()
        .into_iter()
        .filter(|e| e.event == event)
        .map(|e| {
            let d = &e.detail;
            ["by", "approver", "identity_verified_by", "given_by"]
                .iter()
                .find_map(|k| d[k].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_privacy_officer_takes_an_erasure_from_intake_to_completion_in_the_dashboard() {
    let (s, itglue) = workbench().await;
    let id = submit_erasure(&s, "form-4711").await;
    let page = format!("/dashboard/requests/{id}");

    let browser = Browser::new(&s.base);
    let signed_in = browser.sign_in("petra", PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.html);
    assert_eq!(signed_in.location.as_deref(), Some("/dashboard"));
    let list = browser.get("/dashboard").await;
    assert!(list.html.contains(&page) && list.html.contains("verify the identity"));

    // The request page: the subject masked, the verification form.
    let shown = browser.get(&page).await;
    assert_eq!(shown.status, 200);
    assert!(shown.html.contains("s•••r@e•••e.nl"), "{}", shown.html);
    assert!(
        !shown.html.contains("sanne.bakker"),
        "the address is masked"
    );
    assert!(shown.html.contains("form-4711"));
    let csrf = Browser::csrf_of(&shown.html);

    // A form without this session's token changes nothing.
    let forged = browser
        .post(
            &format!("{page}/verify"),
            &[("how", "passport"), ("csrf", "x")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(status_of(&s, &id), RequestStatus::Received);
    // Nor does one without the field it needs; the page says which.
    let empty = browser
        .post(&format!("{page}/verify"), &[("how", " "), ("csrf", &csrf)])
        .await;
    assert_eq!(empty.status, 422);
    assert!(
        empty.html.contains("Say how the identity was checked."),
        "{}",
        empty.html
    );

    let verified = browser
        .post(
            &format!("{page}/verify"),
            &[
                ("how", "replied from the registered address"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(verified.status, 303, "{}", verified.html);
    assert_eq!(verified.location, Some(format!("{page}?done=verified")));
    s.state.wait_for_runs().await;
    assert_eq!(status_of(&s, &id), RequestStatus::Planned);

    // The plan, with the digest approved; a stale digest is refused and says so.
    let planned = browser.get(&page).await;
    let digest = common::server::hidden(&planned.html, "plan_digest");
    let (_, api) = s.call("GET", &format!("/api/v1/requests/{id}"), None).await;
    assert_eq!(api["plan_awaiting_approval"]["digest"], digest.as_str());
    assert!(planned
        .html
        .contains(&format!("<code id=\"digest\">{digest}</code>")));
    assert!(planned.html.contains("Ekco Nederland") && planned.html.contains("delete"));
    let stale = browser
        .post(
            &format!("{page}/approve"),
            &[("plan_digest", "0123456789ab"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.html);
    assert_eq!(status_of(&s, &id), RequestStatus::Planned);
    let approved = browser
        .post(
            &format!("{page}/approve"),
            &[("plan_digest", &digest), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.html);
    s.state.wait_for_runs().await;
    assert_eq!(status_of(&s, &id), RequestStatus::AwaitingProcessors);
    // IT Glue's deletable contacts are gone from the fake; the synced one waits for a person.
    assert!(itglue
        .state()
        .contacts
        .values()
        .all(|c| !c.to_string().contains("sanne.bakker@example.nl")));

    // Ekco's answer, with its letter as evidence; IT Glue's synced contact removed by hand.
    let waiting = browser.get(&page).await;
    assert!(
        waiting.html.contains("id=\"confirm-ekco\""),
        "{}",
        waiting.html
    );
    let record = common::server::hidden(
        &waiting.html[waiting
            .html
            .find("name=\"processor\" value=\"itglue\"")
            .unwrap()..],
        "record",
    );
    let answered = browser
        .upload(
            &format!("{page}/confirm"),
            &[
                ("csrf", &csrf),
                ("processor", "ekco"),
                ("outcome", "deleted"),
                ("note", ""),
            ],
            (
                "ekco answer.pdf",
                b"%PDF-1.4 We erased the data on 2026-12-06.",
            ),
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.html);
    // Recording the removal without evidence is refused and says what is missing.
    let bare = browser
        .post(
            &format!("{page}/record"),
            &[
                ("csrf", &csrf),
                ("processor", "itglue"),
                ("record", &record),
                ("outcome", "deleted"),
            ],
        )
        .await;
    assert_ne!(bare.status, 303);
    assert_eq!(status_of(&s, &id), RequestStatus::AwaitingProcessors);
    let removed = browser
        .upload(
            &format!("{page}/record"),
            &[
                ("csrf", &csrf),
                ("processor", "itglue"),
                ("record", &record),
                ("outcome", "deleted"),
                ("note", "removed in Autotask, synced"),
            ],
            ("autotask.png", b"\x89PNG not really"),
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.html);
    s.state.wait_for_runs().await;
    assert_eq!(status_of(&s, &id), RequestStatus::Completed);

    // Each step under the signed-in user's name.
    for event in [
        "identity.verified",
        "plan.approved",
        "answer.received",
        "manual.recorded",
    ] {
        assert_eq!(audited_by(&s, &id, event), ["petra"], "{event}");
    }
    // The evidence is kept next to the report, owner-only, and listed on the page.
    let evidence = s._env.config.reports_dir().join(&id).join("evidence");
    let kept: Vec<_> = std::fs::read_dir(&evidence).unwrap().flatten().collect();
    assert_eq!(kept.len(), 2);
    #[cfg(unix)]
    for file in &kept {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    }
    let done = browser.get(&page).await;
    assert!(done.html.contains("ekco-ekco_answer.pdf"), "{}", done.html);
    assert!(done.html.contains("plan approved") && done.html.contains("petra"));
    assert!(!done.html.contains("id=\"verify\"") && !done.html.contains("id=\"approve\""));
}

#[tokio::test]
async fn extend_and_cancel_from_the_dashboard_are_audited_under_the_user() {
    let (s, _itglue) = workbench().await;
    let extended = s.submit("form-ext", "access").await;
    let cancelled = s.submit("form-cancel", "erasure").await;
    let browser = Browser::new(&s.base);
    browser.sign_in("petra", PASSWORD).await;
    let page = browser
        .get(&format!("/dashboard/requests/{extended}"))
        .await;
    let csrf = Browser::csrf_of(&page.html);

    let no_reason = browser
        .post(
            &format!("/dashboard/requests/{extended}/extend"),
            &[("months", "1"), ("reason", ""), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(no_reason.status, 422);
    let too_long = browser
        .post(
            &format!("/dashboard/requests/{extended}/extend"),
            &[("months", "7"), ("reason", "complex"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(too_long.status, 422);
    assert!(s._env.ledger.extensions(&extended).unwrap().is_empty());
    let ok = browser
        .post(
            &format!("/dashboard/requests/{extended}/extend"),
            &[
                ("months", "1"),
                ("reason", "many processors to ask"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    let extensions = s._env.ledger.extensions(&extended).unwrap();
    assert_eq!(extensions.len(), 1);
    assert_eq!(extensions[0].given_by, "petra");

    // The external reference opens the page too.
    let by_reference = browser.get("/dashboard/requests/form-cancel").await;
    assert!(by_reference.html.contains(&cancelled));
    let gone = browser
        .post(
            &format!("/dashboard/requests/{cancelled}/cancel"),
            &[("reason", "withdrawn by the subject"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(gone.status, 303, "{}", gone.html);
    assert_eq!(status_of(&s, &cancelled), RequestStatus::Cancelled);
    assert_eq!(audited_by(&s, &cancelled, "request.cancelled"), ["petra"]);
    // Closed: no forms any more, the identifiers purged.
    let closed = browser
        .get(&format!("/dashboard/requests/{cancelled}"))
        .await;
    assert!(closed.html.contains("identifiers purged"));
    assert!(!closed.html.contains("id=\"cancel\""));
    // Unknown requests get a page, not a stack of JSON.
    let missing = browser.get("/dashboard/requests/no-such-request").await;
    assert_eq!(missing.status, 404);
    assert!(missing.html.contains("No such request"));
}

#[tokio::test]
async fn signing_in_checks_the_password_the_form_and_the_attempts() {
    let s = start().await;
    s.add_user("petra", PASSWORD);
    let browser = Browser::new(&s.base);
    // Not signed in: the sign-in page, in HTML, not a JSON 401.
    let away = browser.get("/dashboard/requests/abc").await;
    assert_eq!(away.status, 303);
    let form = browser.get(away.location.as_deref().unwrap()).await;
    assert_eq!(form.status, 200);
    assert!(form.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(form.html.contains("name=\"password\""));
    assert_eq!(
        common::server::hidden(&form.html, "next"),
        "/dashboard/requests/abc"
    );
    assert!(form.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));

    // A wrong password and an unknown name get the same answer.
    let wrong = browser.sign_in("petra", "not the password at all").await;
    let nobody = browser.sign_in("nobody", PASSWORD).await;
    for page in [&wrong, &nobody] {
        assert_eq!(page.status, 401);
        assert!(page.html.contains("do not match a user"));
    }
    assert!(browser.session().is_none());
    // The form is only accepted with the token of the sign-in cookie it came with.
    let stranger = Browser::new(&s.base);
    let forged = stranger
        .post(
            "/dashboard/login",
            &[("user", "petra"), ("password", PASSWORD), ("csrf", "guess")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(stranger.session().is_none());
    // Nor with the token of another browser's form: the token belongs to its own cookie.
    let theirs = Browser::csrf_of(&Browser::new(&s.base).get("/dashboard/login").await.html);
    stranger.get("/dashboard/login").await;
    let swapped = stranger
        .post(
            "/dashboard/login",
            &[("user", "petra"), ("password", PASSWORD), ("csrf", &theirs)],
        )
        .await;
    assert_eq!(swapped.status, 403);
    assert!(stranger.session().is_none());

    // The right password: a session cookie, HttpOnly, SameSite=Strict; not Secure over http.
    let right = browser.sign_in("petra", PASSWORD).await;
    assert_eq!(right.status, 303, "{}", right.html);
    let cookie = right.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"));
    let events: Vec<String> = s
        ._env
        .ledger
        .audit_entries(None)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(events.contains(&"staff.signed_in".to_string()));

    // Five failures lock the name for a while, even for the right password.
    let guesser = Browser::new(&s.base);
    for _ in 0..5 {
        assert_eq!(
            guesser
                .sign_in("petra", "wrong password guess")
                .await
                .status,
            401
        );
    }
    let locked = guesser.sign_in("petra", PASSWORD).await;
    assert_eq!(locked.status, 429);
    assert!(locked.html.contains("Too many failed attempts"));
}

#[tokio::test]
async fn sessions_outlive_a_restart_end_at_sign_out_and_never_change_things_through_the_api() {
    let s = start().await;
    s.add_user("petra", PASSWORD);
    let id = s.submit("form-1", "access").await;
    let browser = Browser::new(&s.base);
    browser.sign_in("petra", PASSWORD).await;
    assert_eq!(browser.get("/dashboard").await.status, 200);

    // A second server over the same ledger (a restart) knows the session.
    let restarted = AppState::new(
        s.state.hub().clone(),
        Tokens::new([TOKEN]),
        &s._env.config,
        dsrhub_connector::testkit::fast_http_settings(),
    );
    let base = serve_on_loopback(router(restarted, 4096)).await;
    let after_restart = browser.at(&base);
    let page = after_restart.get("/dashboard").await;
    assert_eq!(page.status, 200, "the session did not survive the restart");
    assert!(page.html.contains("signed in as <strong>petra</strong>"));

    // The session reads through the API (the dashboard links reports), but changes nothing
    // there: that goes through the forms and their CSRF tokens.
    assert_eq!(
        browser
            .get(&format!("/api/v1/requests/{id}/report.json"))
            .await
            .status,
        200
    );
    let client = reqwest::Client::new();
    let through_api = client
        .post(format!("{}/api/v1/requests/{id}/verify", s.base))
        .header(
            "cookie",
            format!("dsrhub_session={}", browser.session().unwrap()),
        )
        .json(&json!({"how": "passport"}))
        .send()
        .await
        .unwrap();
    assert_eq!(through_api.status(), 401);
    assert_eq!(status_of(&s, &id), RequestStatus::Received);

    // Signing out ends the session everywhere.
    let csrf = Browser::csrf_of(&page.html);
    let out = browser.post("/dashboard/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/dashboard/login"));
    assert!(browser.session().is_none());
    assert_eq!(after_restart.get("/dashboard").await.status, 303);
}

#[tokio::test]
async fn the_cookie_is_secure_behind_https() {
    let s = start_with(None, |config, _| {
        config.serve.public_url = Some("https://dsrhub.voorbeeld-it.example".parse().unwrap());
    })
    .await;
    s.add_user("petra", PASSWORD);
    let signed_in = Browser::new(&s.base).sign_in("petra", PASSWORD).await;
    assert!(signed_in.headers["set-cookie"]
        .to_str()
        .unwrap()
        .ends_with("; Secure"));
    // Without a public address, a TLS proxy's X-Forwarded-Proto says so.
    let plain = start().await;
    let (_, link) = plain.call("POST", "/api/v1/dashboard/sessions", None).await;
    let opened = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{}", plain.base, link["url"].as_str().unwrap()))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(opened.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .ends_with("; Secure"));
}

#[tokio::test]
async fn the_list_filters_and_searches() {
    let s = start().await;
    let access = s.submit("form-access-77", "access").await;
    let erasure = s.submit("form-erasure-88", "erasure").await;
    let browser = s.browser_for("petra").await;
    let rows = |html: &str| -> (bool, bool) {
        let table = &html[html.find("<h2>Requests").unwrap()..html.find("<h2>Processors").unwrap()];
        (table.contains(&access), table.contains(&erasure))
    };
    assert_eq!(rows(&browser.get("/dashboard").await.html), (true, true));
    assert_eq!(
        rows(&browser.get("/dashboard?type=erasure").await.html),
        (false, true)
    );
    assert_eq!(
        rows(&browser.get("/dashboard?q=ACCESS-77").await.html),
        (true, false)
    );
    assert_eq!(
        rows(
            &browser
                .get(&format!("/dashboard?q={}", &erasure[..8]))
                .await
                .html
        ),
        (false, true)
    );
    assert_eq!(
        rows(&browser.get("/dashboard?status=closed").await.html),
        (false, false)
    );
    assert_eq!(
        rows(&browser.get("/dashboard?status=overdue").await.html),
        (false, false)
    );
    assert_eq!(
        rows(&browser.get("/dashboard?processor=moneybird").await.html),
        (true, true)
    );
    assert_eq!(
        rows(&browser.get("/dashboard?processor=ekco").await.html),
        (false, false)
    );
    assert_eq!(
        rows(&browser.get("/dashboard?state=received").await.html),
        (true, true)
    );
    assert_eq!(
        rows(&browser.get("/dashboard?state=planned").await.html),
        (false, false)
    );
    let filtered = browser.get("/dashboard?type=erasure&q=%3Cscript%3E").await;
    assert!(!filtered.html.contains("<script>"), "the search is escaped");
    // Each row says how many days are left.
    assert!(browser.get("/dashboard").await.html.contains("days left"));
}

/// Every page and form route is documented in `docs/dashboard.md` and served: without a
/// session each one sends the browser to the sign-in page (or is the sign-in page).
#[tokio::test]
async fn every_dashboard_route_is_documented_and_guarded() {
    let doc = include_str!("../docs/dashboard.md");
    let s = start().await;
    let stranger = Browser::new(&s.base);
    for (method, path) in dsrhub::serve::DASHBOARD_PAGES {
        assert!(
            doc.contains(&format!("/{}", path.trim_start_matches('/'))),
            "{path} is not in docs/dashboard.md"
        );
        let path = path.replace("{id}", "no-such-request");
        let page = match *method {
            "get" => stranger.get(&path).await,
            _ => stranger.post(&path, &[("csrf", "x")]).await,
        };
        if path == "/dashboard/login" {
            assert!(
                matches!(page.status, 200 | 403),
                "{method} {path}: {}",
                page.status
            );
        } else {
            assert_eq!(page.status, 303, "{method} {path}");
            assert!(
                page.location.unwrap().starts_with("/dashboard/login"),
                "{method} {path}"
            );
        }
    }
}

/// Issue 18.2: a sweep's batch waits on the dashboard; one form approves all its plans under
/// the batch's digest, as the signed-in user, and carries them out.
#[tokio::test]
async fn a_sweep_batch_is_approved_on_the_dashboard() {
    let s = start().await;
    let hub = s.state.hub().clone();
    let sweep = hub.sweep_contract_ended().await.unwrap();
    let batch = hub
        .open_sweep(&dsrhub::orchestrator::sweep::Sweep {
            contract_ended: Some(sweep.clone()),
            ..Default::default()
        })
        .unwrap()
        .expect("the fixtures' ended contracts");
    hub.run_batch(
        &batch,
        &dsrhub::orchestrator::RunOptions::default(),
        &s._env.config.reports_dir(),
    )
    .await
    .unwrap();
    // Customers with invoices are anonymised (the invoices stay): their address goes.
    let has_kees = || {
        s.fake
            .state()
            .contacts
            .values()
            .any(|c| c["email"] == "kees.visser@example.nl")
    };
    assert!(has_kees());
    let browser = s.browser_for("petra").await;
    let list = browser.get("/dashboard").await;
    assert!(
        list.html.contains("Batches waiting for approval"),
        "{}",
        list.html
    );
    assert!(list.html.contains(&format!("/dashboard/batches/{batch}")));
    let page = browser.get(&format!("/dashboard/batches/{batch}")).await;
    assert_eq!(page.status, 200);
    let digest = common::server::hidden(&page.html, "plan_digest");
    let csrf = Browser::csrf_of(&page.html);
    let approve = format!("/dashboard/batches/{batch}/approve");
    let forged = browser
        .post(&approve, &[("plan_digest", &digest), ("csrf", "x")])
        .await;
    assert_eq!(forged.status, 403);
    let stale = browser
        .post(
            &approve,
            &[("plan_digest", "0123456789abcdef"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.html);
    assert!(has_kees(), "nothing changed");
    let approved = browser
        .post(&approve, &[("plan_digest", &digest), ("csrf", &csrf)])
        .await;
    assert_eq!(approved.status, 303, "{}", approved.html);
    s.state.wait_for_runs().await;
    assert!(!has_kees(), "carried out");
    let approvals: Vec<_> = s
        ._env
        .ledger
        .audit_entries(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "plan.approved")
        .collect();
    assert!(!approvals.is_empty());
    assert!(approvals
        .iter()
        .all(|e| e.detail["approver"] == "petra" && e.detail["batch"] == batch.as_str()));
    let done = browser.get(&format!("/dashboard/batches/{batch}")).await;
    assert!(done
        .html
        .contains("Nothing in this batch waits for approval"));
    // A swept request's page names its batch and has no deadline.
    let member = &s._env.ledger.batch_requests(&batch).unwrap()[0].1.id;
    let page = browser.get(&format!("/dashboard/requests/{member}")).await;
    assert!(page.html.contains("opened by the sweep"), "{}", page.html);
    assert!(page.html.contains(&format!("/dashboard/batches/{batch}")));
}

/// Issue 18.2: a request the sweep opened for records an earlier request kept has no subject:
/// its page says whose records it acts on (a link to the earlier request), not "identifiers
/// purged".
#[tokio::test]
async fn a_request_for_kept_records_names_the_request_that_kept_them() {
    use dsrhub::ledger::{IdentityNote, NewTask, RequestKind, Target};
    let s = start().await;
    let hub = s.state.hub().clone();
    let tim = dsrhub_connector::Subject {
        emails: vec!["tim.degraaf@example.com".into()],
        ..Default::default()
    };
    let id = hub.open(RequestKind::Erasure, &tim, "passport").unwrap();
    let dry = dsrhub::orchestrator::RunOptions::default();
    hub.run(&id, &dry).await.unwrap();
    let plan = s._env.ledger.plan_digest(&id).unwrap();
    hub.approve(&id, &plan.digest, "Petra de Vries").unwrap();
    let run = dsrhub::orchestrator::RunOptions {
        execute: true,
        ..dry
    };
    hub.run(&id, &run).await.unwrap();
    let ledger = &s._env.ledger;
    let expired = ledger
        .expired_retained("2031-06-01".parse().unwrap())
        .unwrap();
    assert!(!expired.is_empty(), "the invoices were kept");
    let now = jiff::Timestamp::now();
    let targeted = ledger
        .create_targeted_request(
            dsrhub::ledger::RequestKind::Erasure,
            IdentityNote {
                how: "selected by the sweep",
                by: "dsrhub sweep",
            },
            (now, now),
            &[NewTask {
                processor: "moneybird".into(),
                enabled: true,
                display_name: "Moneybird".into(),
            }],
            &expired.iter().map(Target::from).collect::<Vec<_>>(),
            &[],
        )
        .unwrap();
    let browser = s.browser_for("petra").await;
    let page = browser
        .get(&format!("/dashboard/requests/{targeted}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("kept by"), "{}", page.html);
    assert!(page
        .html
        .contains(&format!("/dashboard/requests/{id}\">{}", &id[..8])));
    assert!(!page.html.contains("identifiers purged"));
}
