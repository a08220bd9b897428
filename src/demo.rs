//! `dsrhub demo`: the whole product on a fresh machine, with no accounts.
//!
//! Starts every connector's fake vendor in-process on loopback, then runs a real access
//! request and a real erasure request (executed) for a fictitious person through the same hub,
//! ledger and connectors as production, and writes the reports and the export.
//! `--sandbox` instead keeps the fakes running, writes a config pointing at them, and waits.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dsrhub_autotask::fake::{FakeAutotask, FakeOptions as AutotaskOptions};
use dsrhub_connector::fakekit::Exchange;
use dsrhub_connector::secrets::{write_private_file, Secrets};
use dsrhub_connector::Subject;
use dsrhub_exact_online::fake::{FakeExactOnline, FakeOptions as ExactOptions};
use dsrhub_itglue::fake::{FakeItGlue, FakeOptions as ItGlueOptions};
use dsrhub_microsoft_graph::fake::{FakeGraph, FakeOptions as GraphOptions};
use dsrhub_moneybird::fake::{FakeMoneybird, FakeOptions as MoneybirdOptions};

use crate::config::{Config, HubConfig};
use crate::error::{Error, Result};
use crate::ledger::{Ledger, RequestKind};
use crate::orchestrator::{Answer, Hub, RunOptions};
use crate::report::{self, Report};

/// The demo's subject: Sanne Bakker (fictitious). Moneybird has a private contact and a
/// business contact with invoices; Autotask a contact with an open and an old ticket, and one
/// in another company that lists her private address second; Exact Online a private account
/// with invoices from 2018 and 2025 and, in a second division, a contact at her studio;
/// Microsoft 365 Outlook contacts in two staff mailboxes and mail from 2025 and 2026.
pub fn demo_subject() -> Subject {
    Subject {
        emails: vec![
            "sanne.bakker@example.nl".into(),
            "sanne@bakkerfotografie.example".into(),
        ],
        phones: vec!["06-12345678".into()],
        names: vec!["Sanne Bakker".into()],
    }
}

const ORGANISATION: &str = "Voorbeeld IT Diensten B.V. (demo)";
const IDENTITY: &str =
    "demo: identity checked against a copy of an ID document (fictitious person)";

/// What the demo produced.
#[derive(Debug)]
pub struct DemoResult {
    /// The access request's report.
    pub access: Report,
    /// The erasure request's report.
    pub erasure: Report,
    /// The report of an erasure request of a customer's staff member (split and forwarded).
    pub forwarded: Report,
    /// The report of an erasure request from a company's role address: organisation data,
    /// reviewed and never deleted for one person.
    pub role_address: Report,
    /// A rectification: a customer's contact gives a new phone number and job title.
    pub rectification: Report,
    /// A restriction: a person contests their data; their records are marked, not processed.
    pub restriction: Report,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Every request the connectors sent and every answer the fakes gave, per processor
    /// (only from [`run_captured`]; for the conformance tests).
    pub exchanges: BTreeMap<&'static str, Vec<Exchange>>,
}

/// The running fakes.
struct Fakes {
    moneybird: FakeMoneybird,
    autotask: FakeAutotask,
    itglue: FakeItGlue,
    exact: FakeExactOnline,
    graph: FakeGraph,
}

impl Fakes {
    async fn start(
        moneybird: MoneybirdOptions,
        autotask: AutotaskOptions,
        itglue: ItGlueOptions,
        exact: ExactOptions,
        graph: GraphOptions,
    ) -> Result<Fakes> {
        let g_addr = graph.listen;
        let m_addr = moneybird.listen;
        let a_addr = autotask.listen;
        let i_addr = itglue.listen;
        let e_addr = exact.listen;
        let moneybird = FakeMoneybird::start_with(moneybird)
            .await
            .map_err(Error::io(
                "cannot start the Moneybird fake (is the port free? try --port)",
                m_addr.to_string(),
            ))?;
        let autotask = FakeAutotask::start_with(autotask).await.map_err(Error::io(
            "cannot start the Autotask fake (is the port free? try --port)",
            a_addr.to_string(),
        ))?;
        let itglue = FakeItGlue::start_with(itglue).await.map_err(Error::io(
            "cannot start the IT Glue fake (is the port free? try --port)",
            i_addr.to_string(),
        ))?;
        let exact = FakeExactOnline::start_with(exact).await.map_err(Error::io(
            "cannot start the Exact Online fake (is the port free? try --port)",
            e_addr.to_string(),
        ))?;
        let graph = FakeGraph::start_with(graph).await.map_err(Error::io(
            "cannot start the Microsoft Graph fake (is the port free? try --port)",
            g_addr.to_string(),
        ))?;
        Ok(Fakes {
            moneybird,
            autotask,
            itglue,
            exact,
            graph,
        })
    }

    /// Keep (or stop keeping) every exchange in full.
    fn capture(&self, on: bool) {
        self.moneybird.log().capture(on);
        self.autotask.log().capture(on);
        self.itglue.log().capture(on);
        self.exact.log().capture(on);
        self.graph.log().capture(on);
    }

    /// The exchanges kept, per processor.
    fn exchanges(&self) -> BTreeMap<&'static str, Vec<Exchange>> {
        BTreeMap::from([
            ("moneybird", self.moneybird.log().exchanges()),
            ("autotask", self.autotask.log().exchanges()),
            ("itglue", self.itglue.log().exchanges()),
            ("exact-online", self.exact.log().exchanges()),
            ("microsoft-graph", self.graph.log().exchanges()),
        ])
    }

    /// The secrets the fakes accept, by name.
    fn secrets(&self) -> [(&'static str, String); 6] {
        [
            ("microsoft-graph-client-secret", self.graph.client_secret()),
            ("exact-online-client-secret", self.exact.client_secret()),
            ("itglue-api-key", self.itglue.api_key()),
            ("moneybird-token", self.moneybird.token()),
            ("autotask-secret", self.autotask.secret()),
            (
                "autotask-integration-code",
                self.autotask.integration_code().to_string(),
            ),
        ]
    }

    /// `[processors.*]` pointing at the fakes; `reference(name)` gives each secret's reference.
    fn processors(&self, reference: impl Fn(&str) -> String) -> BTreeMap<String, toml::Table> {
        let mut autotask = toml::Table::new();
        autotask.insert("username".into(), self.autotask.username().into());
        autotask.insert("secret".into(), reference("autotask-secret").into());
        autotask.insert(
            "integration_code".into(),
            reference("autotask-integration-code").into(),
        );
        autotask.insert(
            "zone_lookup_url".into(),
            self.autotask.zone_lookup_url().to_string().into(),
        );
        let mut moneybird = toml::Table::new();
        moneybird.insert(
            "base_url".into(),
            self.moneybird.base_url().to_string().into(),
        );
        moneybird.insert(
            "administration_id".into(),
            self.moneybird.administration_id().into(),
        );
        moneybird.insert("token".into(), reference("moneybird-token").into());
        let mut itglue = toml::Table::new();
        itglue.insert("base_url".into(), self.itglue.base_url().to_string().into());
        itglue.insert("api_key".into(), reference("itglue-api-key").into());
        // IT Glue documents customers' environments on their behalf.
        itglue.insert("on_behalf_of_customers".into(), true.into());
        let mut graph = toml::Table::new();
        graph.insert("tenant_id".into(), self.graph.tenant_id().into());
        graph.insert("client_id".into(), self.graph.client_id().into());
        graph.insert(
            "client_secret".into(),
            reference("microsoft-graph-client-secret").into(),
        );
        graph.insert(
            "mailboxes".into(),
            toml::Value::Array(self.graph.mailboxes().into_iter().map(Into::into).collect()),
        );
        graph.insert(
            "graph_url".into(),
            self.graph.graph_url().to_string().into(),
        );
        graph.insert(
            "login_url".into(),
            self.graph.login_url().to_string().into(),
        );
        let mut exact = toml::Table::new();
        exact.insert("host".into(), self.exact.host().to_string().into());
        exact.insert("client_id".into(), self.exact.client_id().into());
        exact.insert(
            "client_secret".into(),
            reference("exact-online-client-secret").into(),
        );
        exact.insert(
            "redirect_uri".into(),
            self.exact.redirect_uri().to_string().into(),
        );
        exact.insert("tokens".into(), reference("exact-online-tokens").into());
        // The demo makes more calls in a few seconds than Exact's 60 a minute; the fake is
        // told the same (pacing is proven in the connector's tests).
        exact.insert(
            "http".into(),
            toml::Value::Table(toml::toml! { rate_limit = { requests = 600, per_seconds = 60 } }),
        );
        BTreeMap::from([
            (
                "applicatielink".to_string(),
                manual("Applicatielink", "privacy@applicatielink.example", "nl"),
            ),
            ("autotask".to_string(), autotask),
            ("exact-online".to_string(), exact),
            ("microsoft-graph".to_string(), graph),
            (
                "ekco".to_string(),
                manual("Ekco Nederland", "dpo@ekco.example", "en"),
            ),
            ("itglue".to_string(), itglue),
            ("moneybird".to_string(), moneybird),
        ])
    }
}

/// Options of the Exact Online fake for the demo: its minute limit raised like the demo's
/// pace (see [`Fakes::processors`]).
fn exact_options() -> ExactOptions {
    ExactOptions {
        minutely_limit: 600,
        ..ExactOptions::default()
    }
}

/// `dsrhub auth login exact-online`, with the fake playing the person at the consent page.
async fn exact_login(fakes: &Fakes, config: &Config, secrets: &Secrets) -> Result<()> {
    let login = crate::registry::login(config, "exact-online", secrets)?;
    let fail = |e: String| Error::Usage(format!("exact-online demo login: {e}"));
    let redirect = fakes
        .exact
        .approve(login.request().url())
        .await
        .map_err(fail)?;
    let code = login
        .request()
        .code_from_pasted(redirect.as_str())
        .map_err(|e| fail(e.to_string()))?;
    login.finish(&code).await.map_err(|e| fail(e.to_string()))
}

/// A processor without an API (fictitious contact addresses).
fn manual(name: &str, contact: &str, language: &str) -> toml::Table {
    let mut table = toml::Table::new();
    table.insert("connector".into(), "manual".into());
    table.insert("name".into(), name.into());
    table.insert("contacts".into(), toml::Value::Array(vec![contact.into()]));
    table.insert("language".into(), language.into());
    table.insert("location".into(), "Netherlands".into());
    table.insert("eea".into(), true.into());
    table
}

/// The demo organisation's privacy contact (fictitious).
const CONTACT_EMAIL: &str = "privacy@voorbeeld-it.example";

/// Run the demo, writing into `out`.
pub async fn run(out: &Path, json: bool) -> Result<DemoResult> {
    run_with(out, json, false).await
}

/// [`run`], keeping every exchange between the connectors and the fakes in
/// [`DemoResult::exchanges`], so a test can check them against the vendors' descriptions.
pub async fn run_captured(out: &Path, json: bool) -> Result<DemoResult> {
    run_with(out, json, true).await
}

async fn run_with(out: &Path, json: bool, capture: bool) -> Result<DemoResult> {
    crate::private_files::create_dir(out, false)?;
    let ledger_path = out.join("dsrhub-demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", ledger_path.display()));
    }
    let fakes = Fakes::start(
        MoneybirdOptions::default(),
        AutotaskOptions::default(),
        ItGlueOptions::default(),
        exact_options(),
        GraphOptions::default(),
    )
    .await?;
    fakes.capture(capture);
    let secrets = Secrets::in_memory();
    for (name, value) in fakes.secrets() {
        let reference = format!("keyring:{name}").parse().expect("valid reference");
        secrets
            .store(&reference, &value)
            .map_err(|e| Error::Config(e.to_string()))?;
    }
    let config = Config {
        hub: HubConfig {
            organisation: ORGANISATION.into(),
            ledger: ledger_path.clone(),
            reports_dir: out.to_path_buf(),
            contact_email: CONTACT_EMAIL.into(),
            ..HubConfig::default()
        },
        policy: Default::default(),
        controllers: vec![demo_controller()],
        register: Default::default(),
        privacy: Default::default(),
        sweep: Default::default(),
        serve: Default::default(),
        processors: fakes.processors(|name| format!("keyring:{name}")),
        // Paths above are already relative to the current folder, like `--out`.
        base_dir: PathBuf::new(),
    };
    let processors = crate::registry::build(&config, &secrets)?;
    exact_login(&fakes, &config, &secrets).await?;
    let ledger = Arc::new(Ledger::open(&ledger_path)?);
    let hub = Hub::new(ledger.clone(), processors, &config).with_operator("dsrhub demo");
    let subject = demo_subject();

    let access_id = hub.open(RequestKind::Access, &subject, IDENTITY)?;
    // The access request is answered in Dutch (the customer's staff member below in English).
    ledger.set_language(&access_id, "nl")?;
    hub.run(
        &access_id,
        &RunOptions {
            export_dir: Some(out.to_path_buf()),
            ..RunOptions::default()
        },
    )
    .await?;
    // The processors without an API answer the letters (in real life days later, recorded
    // with `dsrhub confirm`); the request then closes and its reply is written.
    answer_letters(&hub, &access_id, Answer::NotFound)?;
    let access = hub.report(&access_id)?;
    let (access_json, access_html) = report::write(&access, out)?;

    let erasure_id = hub.open(RequestKind::Erasure, &subject, IDENTITY)?;
    hub.carry_out(
        &erasure_id,
        &RunOptions {
            execute: true,
            ..RunOptions::default()
        },
        "dsrhub demo",
    )
    .await?;
    answer_letters(&hub, &erasure_id, Answer::Deleted)?;
    let erasure = hub.report(&erasure_id)?;
    let (erasure_json, erasure_html) = report::write(&erasure, out)?;

    // A customer's staff member: his contact in the organisation's own Autotask is erased,
    // what IT Glue holds for the customer goes to the customer.
    let forwarded_subject = Subject {
        emails: vec!["jan.devries@noorderlicht.example".into()],
        ..Subject::default()
    };
    let forwarded_id = hub.open(RequestKind::Erasure, &forwarded_subject, IDENTITY)?;
    ledger.set_language(&forwarded_id, "en")?;
    hub.carry_out(
        &forwarded_id,
        &RunOptions {
            execute: true,
            ..RunOptions::default()
        },
        "dsrhub demo",
    )
    .await?;
    answer_letters(&hub, &forwarded_id, Answer::NotFound)?;
    let forwarded = hub.report(&forwarded_id)?;
    let (forwarded_json, forwarded_html) = report::write(&forwarded, &out.join(&forwarded_id))?;

    // A company asks from its role address: its Moneybird contact holds two people, so it is
    // organisation data that a person decides on; nothing is deleted.
    let role_subject = Subject {
        emails: vec!["info@vandijk-installatie.example".into()],
        ..Subject::default()
    };
    let role_id = hub.open(RequestKind::Erasure, &role_subject, IDENTITY)?;
    hub.carry_out(
        &role_id,
        &RunOptions {
            execute: true,
            ..RunOptions::default()
        },
        "dsrhub demo",
    )
    .await?;
    let role_address = hub.report(&role_id)?;
    let (role_json, role_html) = report::write(&role_address, &out.join(&role_id))?;

    // Rectification (art. 16): Kees Visser's phone number and job title changed. His Autotask
    // contact is corrected and read back; his mail stays as it was written.
    let rectify_subject = Subject {
        emails: vec!["kees.visser@smitpartners.example".into()],
        ..Subject::default()
    };
    let corrected = dsrhub_connector::Change::Rectify {
        values: [
            (
                dsrhub_connector::Field::Phone,
                "+31 30 765 4321".to_string(),
            ),
            (
                dsrhub_connector::Field::JobTitle,
                "Office manager".to_string(),
            ),
        ]
        .into(),
    };
    let rectification_id = hub.open_change(
        RequestKind::Rectification,
        &rectify_subject,
        IDENTITY,
        &corrected,
        None,
    )?;
    let run = RunOptions {
        execute: true,
        ..RunOptions::default()
    };
    // The processors without an API get a letter with the corrected values; here they answer
    // at once that they corrected them, and the request closes with its reply to the person.
    hub.carry_out(&rectification_id, &run, "dsrhub demo")
        .await?;
    answer_letters(&hub, &rectification_id, Answer::Changed)?;
    let rectification = hub.report(&rectification_id)?;
    let (rectification_json, rectification_html) =
        report::write(&rectification, &out.join(&rectification_id))?;

    // Restriction (art. 18): Jan Jansen contests an invoice; while that runs, his Moneybird
    // contact is archived (kept, no new invoices). What no API can mark waits for a person.
    let restrict_subject = Subject {
        emails: vec!["jan.jansen@example.nl".into()],
        ..Subject::default()
    };
    let restriction_id = hub.open_change(
        RequestKind::Restriction,
        &restrict_subject,
        IDENTITY,
        &dsrhub_connector::Change::Restrict,
        Some("accuracy contested (art. 18(1)(a)): invoice dispute"),
    )?;
    hub.carry_out(&restriction_id, &run, "dsrhub demo").await?;
    let restriction = hub.report(&restriction_id)?;
    let (restriction_json, restriction_html) =
        report::write(&restriction, &out.join(&restriction_id))?;

    let mut files = vec![
        access_json,
        access_html,
        out.join("access-export.zip"),
        erasure_json,
        erasure_html,
        forwarded_json,
        forwarded_html,
        out.join(&forwarded_id).join("controller-forward.eml"),
        out.join(&forwarded_id).join("requester-reply.eml"),
        role_json,
        role_html,
        rectification_json,
        rectification_html,
        restriction_json,
        restriction_html,
    ];
    // The letters to the processors without an API and the replies to the subject (the
    // access answer in Dutch, the erasure answer in English), one folder per request.
    for id in [&access_id, &erasure_id, &rectification_id, &restriction_id] {
        for processor in ["applicatielink", "ekco"] {
            files.push(out.join(id).join(format!("{processor}-request.eml")));
        }
    }
    // Sanne's erasure stays open: three records need a person (the demo's summary says
    // which); its reply is written when they are recorded and the request closes.
    for (id, stem) in [
        (&access_id, "reply-access"),
        (&forwarded_id, "reply-erasure"),
        (&rectification_id, "reply-rectification"),
    ] {
        files.push(out.join(id).join(format!("{stem}.eml")));
        files.push(out.join(id).join(format!("{stem}.html")));
    }
    if json {
        let summary = serde_json::json!({
            "access": access,
            "erasure": erasure,
            "forwarded": forwarded,
            "role_address": role_address,
            "rectification": rectification,
            "restriction": restriction,
            "files": files,
        });
        println!("{}", serde_json::to_string_pretty(&summary).expect("json"));
    } else {
        print_summary(
            &[
                ("access ", &access),
                ("erasure", &erasure),
                ("customer", &forwarded),
                ("role address", &role_address),
                ("rectification", &rectification),
                ("restriction", &restriction),
            ],
            &files,
        );
    }
    Ok(DemoResult {
        access,
        erasure,
        forwarded,
        role_address,
        rectification,
        restriction,
        files,
        exchanges: fakes.exchanges(),
    })
}

/// The demo's processors without an API give `answer` to request `id`'s letters.
fn answer_letters(hub: &Hub, id: &str, answer: Answer) -> Result<()> {
    for processor in ["applicatielink", "ekco"] {
        hub.confirm(
            id,
            processor,
            answer,
            None,
            Some("demo: the processor answered the letter"),
        )?;
    }
    Ok(())
}

/// The demo's customer, for whom the organisation is a processor (fictitious).
fn demo_controller() -> crate::config::ControllerConfig {
    crate::config::ControllerConfig {
        name: "Noorderlicht Zorg B.V.".into(),
        privacy_contact: "privacy@noorderlicht.example".into(),
        language: "nl".into(),
        email_domains: vec!["noorderlicht.example".into()],
        autotask_company_ids: Vec::new(),
        itglue_organization_ids: Vec::new(),
    }
}

fn print_summary(reports: &[(&str, &Report)], files: &[PathBuf]) {
    println!("dsrhub demo: fictitious subject Sanne Bakker, fake vendors on loopback\n");
    for (label, r) in reports {
        println!("{label} request {}: {}", r.request.id, r.request.status);
        for p in &r.processors {
            println!("  {:<12} {:<9} {}", p.name, p.status, p.summary);
            for rec in &p.records {
                let kept = match (&rec.basis, &rec.retain_until) {
                    (Some(_), Some(until)) => format!(" until {until}"),
                    (Some(_), None) => " while open".to_string(),
                    _ => String::new(),
                };
                println!(
                    "    {:<11} {:<15} {}{}",
                    rec.outcome, rec.object, rec.id, kept
                );
            }
        }
        println!();
    }
    for (label, r) in reports {
        if r.request.kind == "erasure" {
            println!(
                "verification of the {label} request: {}",
                r.verification.line()
            );
        }
    }
    println!("\nwritten:");
    for f in files {
        println!("  {}", f.display());
    }
}

/// Marks a config file the sandbox wrote, so it may overwrite it next time.
const SANDBOX_MARKER: &str = "# Written by `dsrhub demo --sandbox`";

/// Keep the fakes running with state in `out/sandbox`, write `config_path` pointing at them,
/// and wait for Ctrl-C. Moneybird listens on `port`, Autotask on `port + 1`, IT Glue on
/// `port + 2`, Exact Online on `port + 3`, Microsoft Graph on `port + 4`.
pub async fn sandbox(out: &Path, config_path: &Path, port: u16) -> Result<()> {
    let dir = std::path::absolute(out.join("sandbox")).map_err(Error::io("cannot resolve", out))?;
    std::fs::create_dir_all(&dir).map_err(Error::io("cannot create", &dir))?;
    if config_path.exists() {
        let existing = std::fs::read_to_string(config_path).unwrap_or_default();
        if !existing.starts_with(SANDBOX_MARKER) {
            return Err(Error::Usage(format!(
                "{} exists and was not written by the sandbox; pass another --config",
                config_path.display()
            )));
        }
    }
    let fakes = Fakes::start(
        MoneybirdOptions {
            state_file: Some(dir.join("moneybird.json")),
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            ..MoneybirdOptions::default()
        },
        AutotaskOptions {
            state_file: Some(dir.join("autotask.json")),
            listen: SocketAddr::from(([127, 0, 0, 1], port.saturating_add(1))),
            ..AutotaskOptions::default()
        },
        ItGlueOptions {
            state_file: Some(dir.join("itglue.json")),
            listen: SocketAddr::from(([127, 0, 0, 1], port.saturating_add(2))),
            ..ItGlueOptions::default()
        },
        ExactOptions {
            state_file: Some(dir.join("exact-online.json")),
            listen: SocketAddr::from(([127, 0, 0, 1], port.saturating_add(3))),
            ..exact_options()
        },
        GraphOptions {
            state_file: Some(dir.join("microsoft-graph.json")),
            listen: SocketAddr::from(([127, 0, 0, 1], port.saturating_add(4))),
            ..GraphOptions::default()
        },
    )
    .await?;
    for (name, value) in fakes.secrets() {
        let file = dir.join(name);
        write_private_file(&file, &value).map_err(Error::io("cannot write", &file))?;
    }

    let sections = fakes.processors(|name| format!("file:{}", dir.join(name).display()));
    // Sign in to the Exact Online fake once, as `dsrhub auth login exact-online` would.
    let login_config = Config {
        processors: sections.clone(),
        ..Config::default()
    };
    exact_login(&fakes, &login_config, &Secrets::in_memory()).await?;
    let mut processors = toml::Table::new();
    for (id, section) in sections {
        processors.insert(id, toml::Value::Table(section));
    }
    let mut hub = toml::Table::new();
    hub.insert("organisation".into(), ORGANISATION.into());
    hub.insert("contact_email".into(), CONTACT_EMAIL.into());
    hub.insert(
        "ledger".into(),
        dir.join("dsrhub.db").display().to_string().into(),
    );
    hub.insert(
        "reports_dir".into(),
        dir.join("reports").display().to_string().into(),
    );
    let mut root = toml::Table::new();
    root.insert("hub".into(), toml::Value::Table(hub));
    root.insert("processors".into(), toml::Value::Table(processors));
    // `dsrhub serve` on this config: loopback, one API token in a private file.
    let token_file = dir.join("api.token");
    if !token_file.exists() {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        write_private_file(&token_file, &token).map_err(Error::io("cannot write", &token_file))?;
    }
    let serve_port = port.saturating_add(5);
    let mut serve = toml::Table::new();
    serve.insert("listen".into(), format!("127.0.0.1:{serve_port}").into());
    serve.insert(
        "tokens".into(),
        toml::Value::Array(vec![format!("file:{}", token_file.display()).into()]),
    );
    root.insert("serve".into(), toml::Value::Table(serve));
    let c = demo_controller();
    let mut controller = toml::Table::new();
    controller.insert("name".into(), c.name.into());
    controller.insert("privacy_contact".into(), c.privacy_contact.into());
    controller.insert("language".into(), c.language.into());
    controller.insert(
        "email_domains".into(),
        toml::Value::Array(c.email_domains.into_iter().map(toml::Value::from).collect()),
    );
    root.insert(
        "controllers".into(),
        toml::Value::Array(vec![toml::Value::Table(controller)]),
    );
    let text = format!(
        "{SANDBOX_MARKER}: fake vendors on loopback, state in {}.\n\n{}",
        dir.display(),
        toml::to_string_pretty(&root).map_err(|e| Error::Config(e.to_string()))?
    );
    std::fs::write(config_path, text).map_err(Error::io("cannot write", config_path))?;

    let s = demo_subject();
    let c = config_path.display();
    println!(
        "Sandbox running: Moneybird fake at {}, Autotask fake at {}, IT Glue fake at {}, Exact Online fake at {}, Microsoft Graph fake at {} (state kept in {}).",
        fakes.moneybird.base_url(),
        fakes.autotask.base_url(),
        fakes.itglue.base_url(),
        fakes.exact.host(),
        fakes.graph.graph_url(),
        dir.display()
    );
    println!("Wrote {c}. In another terminal, try:");
    println!("  dsrhub -c {c} check");
    println!(
        "  dsrhub -c {c} access --email {} --identity-verified \"passport checked\"",
        s.emails[0]
    );
    println!(
        "  dsrhub -c {c} erase --email {} --email {} --identity-verified \"passport checked\"",
        s.emails[0], s.emails[1]
    );
    println!("  dsrhub -c {c} status");
    println!(
        "  dsrhub -c {c} sweep --list   # whose contract ended 12 months ago (docs/batches.md)"
    );
    println!(
        "  dsrhub -c {c} serve      # the API and dashboard on http://127.0.0.1:{serve_port} (token in {})",
        token_file.display()
    );
    println!("  dsrhub -c {c} user add <your name>   # then sign in at http://127.0.0.1:{serve_port}/dashboard");
    println!("Stop with Ctrl-C; a restart keeps the fakes' state.");
    tokio::signal::ctrl_c()
        .await
        .map_err(Error::io("cannot wait for Ctrl-C on", "stdin"))?;
    Ok(())
}
