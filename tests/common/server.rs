//! `dsrhub serve` on a loopback port over a hub with the Moneybird fake, for the API and
//! dashboard tests: a client holding the staff token, and [`Browser`], a client holding a
//! dashboard session the way a browser does.

use std::collections::BTreeMap;
use std::sync::Arc;

use dsrhub::serve::{router, AppState, Tokens};
use dsrhub_connector::secrets::Secrets;
use dsrhub_moneybird::fake::FakeMoneybird;
use serde_json::{json, Value};

use super::{hub_for, moneybird_table, HubEnv};
use dsrhub_itglue::fake::FakeItGlue;

pub const TOKEN: &str = "test-api-token-0123456789";

pub struct Server {
    pub base: String,
    pub state: Arc<AppState>,
    pub fake: FakeMoneybird,
    pub _env: HubEnv,
    pub client: reqwest::Client,
}

pub async fn start() -> Server {
    start_with(None, |_, _| {}).await
}

/// The server, its hub sending mail through `mailer` when given, its config changed by `tweak`
/// (which may store the secrets of processors it adds).
pub async fn start_with(
    mailer: Option<dsrhub::mail::Mailer>,
    tweak: impl FnOnce(&mut dsrhub::config::Config, &Secrets),
) -> Server {
    let fake = FakeMoneybird::start().await.unwrap();
    let secrets = Secrets::in_memory();
    secrets
        .store(&"keyring:mb".parse().unwrap(), &fake.token())
        .unwrap();
    let mut env = hub_for(
        BTreeMap::from([(
            "moneybird".to_string(),
            moneybird_table(&fake, "keyring:mb"),
        )]),
        &secrets,
    );
    // The loopback receivers of the callback tests.
    env.config.serve.callback_hosts = vec!["127.0.0.1".into()];
    tweak(&mut env.config, &secrets);
    let built = dsrhub::registry::build(&env.config, &secrets).unwrap();
    let mut hub = dsrhub::orchestrator::Hub::new(env.ledger.clone(), built, &env.config);
    if let Some(mailer) = mailer {
        hub = hub.with_mailer(mailer);
    }
    let hub = Arc::new(hub);
    let state = AppState::new(
        hub,
        Tokens::new([TOKEN]),
        &env.config,
        dsrhub_connector::testkit::fast_http_settings(),
    );
    let base = serve_on_loopback(router(state.clone(), 4096)).await;
    Server {
        base,
        state,
        fake,
        _env: env,
        client: reqwest::Client::new(),
    }
}

impl Server {
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

pub fn intake(id: &str, kind: &str, email: &str) -> Value {
    json!({
        "subject_request_id": id,
        "subject_request_type": kind,
        "submitted_time": jiff::Timestamp::now().to_string(),
        "subject_identities": [
            {"identity_type": "email", "identity_value": email, "identity_format": "raw"}
        ],
    })
}

impl Server {
    pub fn state_requests(&self) -> Vec<dsrhub::ledger::RequestRow> {
        self._env.ledger.requests().unwrap()
    }

    /// Submit Sanne Bakker's request of `kind` as `external`; dsrhub's request id.
    pub async fn submit(&self, external: &str, kind: &str) -> String {
        let (status, created) = self
            .call(
                "POST",
                "/api/v1/requests",
                Some(intake(external, kind, "sanne.bakker@example.nl")),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        created["request_id"].as_str().unwrap().to_string()
    }

    /// Submit Sanne Bakker's request of `kind` as `external` with a status callback to `url`;
    /// dsrhub's request id, once the first callback has been attempted.
    pub async fn submit_with_callback(&self, external: &str, kind: &str, url: &str) -> String {
        let mut body = intake(external, kind, "sanne.bakker@example.nl");
        body["status_callback_urls"] = json!([url]);
        let (status, created) = self.call("POST", "/api/v1/requests", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        self.state.wait_for_runs().await;
        created["request_id"].as_str().unwrap().to_string()
    }

    /// The dashboard as a browser sees it after following a one-time sign-in link.
    pub async fn dashboard(&self) -> String {
        let page = self.browser_for("j.smit").await.get("/dashboard").await;
        assert_eq!(page.status, 200);
        page.html
    }

    /// Verify the identity of request `id`, which starts its run.
    pub async fn verify(&self, id: &str) {
        let (status, answer) = self
            .call(
                "POST",
                &format!("/api/v1/requests/{id}/verify"),
                Some(json!({"how": "passport"})),
            )
            .await;
        assert_eq!(status, 202, "{answer}");
    }

    /// Approve the plan of erasure request `id` that its status shows, as a named person.
    pub async fn approve(&self, id: &str) -> (u16, Value) {
        let (_, status) = self
            .call("GET", &format!("/api/v1/requests/{id}"), None)
            .await;
        let digest = status["plan_awaiting_approval"]["digest"]
            .as_str()
            .unwrap_or("no plan")
            .to_string();
        self.call(
            "POST",
            &format!("/api/v1/requests/{id}/approve"),
            Some(json!({"plan_digest": digest, "approver": "Petra de Privacy Officer"})),
        )
        .await
    }
}

/// Serve `app` on a loopback port; its base URL.
pub async fn serve_on_loopback(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A browser's view of the dashboard: its cookies (a session, the sign-in form's), no
/// redirects followed, so each answer can be checked.
pub struct Browser {
    pub base: String,
    client: reqwest::Client,
    cookies: std::sync::Mutex<BTreeMap<String, String>>,
}

/// An answer as a browser gets it.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

impl Browser {
    /// A browser with no cookies yet.
    pub fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn take(&self, response: reqwest::Response) -> Page {
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
            let mut cookies = self.cookies.lock().unwrap();
            if set.contains("Max-Age=0") {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        Page {
            status,
            location,
            headers,
            html: response.text().await.unwrap(),
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.take(response).await
    }

    /// Post a form to `path`.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(fields)
            .send()
            .await
            .unwrap();
        self.take(response).await
    }

    /// Post a form with a file (`evidence`) to `path`.
    pub async fn upload(&self, path: &str, fields: &[(&str, &str)], file: (&str, &[u8])) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        form = form.part(
            "evidence",
            reqwest::multipart::Part::bytes(file.1.to_vec()).file_name(file.0.to_string()),
        );
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.take(response).await
    }

    /// Sign in at the sign-in form as `user` with `password`; the answer to the form.
    pub async fn sign_in(&self, user: &str, password: &str) -> Page {
        let form = self.get("/dashboard/login").await;
        assert_eq!(form.status, 200, "{}", form.html);
        let csrf = hidden(&form.html, "csrf");
        self.post(
            "/dashboard/login",
            &[
                ("user", user),
                ("password", password),
                ("csrf", &csrf),
                ("next", "/dashboard"),
            ],
        )
        .await
    }

    /// The value of the first hidden field `name` on a page.
    pub fn csrf_of(page: &str) -> String {
        hidden(page, "csrf")
    }

    /// The session cookie's value, if signed in.
    pub fn session(&self) -> Option<String> {
        self.cookies.lock().unwrap().get("dsrhub_session").cloned()
    }
}

/// The value of the first hidden input `name` in `html`.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name} in {html}"))
        + marker.len();
    // As a browser reads it: minijinja escapes `/`, `&`, quotes and angle brackets.
    html[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Server {
    /// Add staff user `name` with `password` to the server's ledger.
    pub fn add_user(&self, name: &str, password: &str) {
        let hash = dsrhub::staff::hash_password(password).unwrap();
        self._env
            .ledger
            .add_staff_user(name, &hash, "test")
            .unwrap();
    }

    /// A browser signed in through a one-time link bound to `user`.
    pub async fn browser_for(&self, user: &str) -> Browser {
        let (status, link) = self
            .call(
                "POST",
                "/api/v1/dashboard/sessions",
                Some(json!({ "user": user })),
            )
            .await;
        assert_eq!(status, 200, "{link}");
        let browser = Browser::new(&self.base);
        let opened = browser.get(link["url"].as_str().unwrap()).await;
        assert_eq!(opened.status, 303);
        browser
    }
}

impl Browser {
    /// The same browser (its cookies) talking to another server at `base`.
    pub fn at(&self, base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: self.client.clone(),
            cookies: std::sync::Mutex::new(self.cookies.lock().unwrap().clone()),
        }
    }
}

/// The password of the staff user `petra` of [`workbench`].
pub const PASSWORD: &str = "correct horse battery staple";

/// The server with IT Glue (whose PSA-synced contact must be removed by hand) and Ekco (no
/// API: a letter, then its answer) beside Moneybird.
pub async fn workbench() -> (Server, FakeItGlue) {
    let itglue = FakeItGlue::start().await.unwrap();
    let (url, key) = (itglue.base_url().to_string(), itglue.api_key());
    let s = start_with(None, move |config, secrets: &Secrets| {
        secrets
            .store(&"keyring:itg".parse().unwrap(), &key)
            .unwrap();
        let mut section = toml::Table::new();
        section.insert("base_url".into(), url.into());
        section.insert("api_key".into(), "keyring:itg".into());
        config.processors.insert("itglue".into(), section);
        config.processors.insert(
            "ekco".into(),
            super::manual_section("Ekco Nederland", "privacy@ekco.example", "en"),
        );
    })
    .await;
    s.add_user("petra", PASSWORD);
    (s, itglue)
}

/// Submit an erasure for Sanne Bakker (two addresses, one an IT Glue contact synced from
/// Autotask, to have a record that needs a person); our request id.
pub async fn submit_erasure(s: &Server, external: &str) -> String {
    let mut body = intake(external, "erasure", "sanne.bakker@example.nl");
    body["subject_identities"]
        .as_array_mut()
        .unwrap()
        .push(json!({"identity_type": "email", "identity_value": "mark.peters@vandijk-installatie.example"}));
    let (status, created) = s.call("POST", "/api/v1/requests", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created["request_id"].as_str().unwrap().to_string()
}
