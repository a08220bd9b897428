//! `dsrhub.toml`: hub settings, policy defaults and one section per processor.
//!
//! Processor sections are kept as raw tables here and handed to each connector's own config
//! type by the [`crate::registry`], so every connector owns its settings and their errors name
//! the full path (`processors.moneybird.token`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Hub-wide settings.
    #[serde(default)]
    pub hub: HubConfig,
    /// Rules from the privacy policy.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// One table per processor, keyed by connector id.
    #[serde(default)]
    pub processors: BTreeMap<String, toml::Table>,
    /// Customers on whose behalf the organisation processes personal data (it is their
    /// processor): requests of their data subjects about that data go to them.
    #[serde(default)]
    pub controllers: Vec<ControllerConfig>,
    /// The processor register as the privacy policy declares it.
    #[serde(default)]
    pub register: RegisterConfig,
    /// `dsrhub serve`: the HTTP API.
    #[serde(default)]
    pub serve: ServeConfig,
    /// What the replies to a data subject say about the processing (GDPR art. 15(1)).
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// `dsrhub sweep`: the policy's retention rules, enforced in batches a person approves.
    #[serde(default)]
    pub sweep: SweepConfig,
    /// The folder relative paths are resolved against (the config file's folder).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// A text in the languages replies are written in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    /// Dutch.
    pub nl: Vec<String>,
    /// English.
    pub en: Vec<String>,
}

impl Texts {
    fn of(nl: &[&str], en: &[&str]) -> Texts {
        Texts {
            nl: nl.iter().map(|s| s.to_string()).collect(),
            en: en.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The lines in `language` (`nl`; anything else is English).
    pub fn get(&self, language: &str) -> &[String] {
        if language.eq_ignore_ascii_case("nl") {
            &self.nl
        } else {
            &self.en
        }
    }
}

/// `[privacy.authority]`: the supervisory authority a data subject may complain to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthorityConfig {
    /// Its name.
    pub name: String,
    /// Its postal address, one line.
    pub address: String,
    /// Its website.
    pub website: String,
}

impl Default for AuthorityConfig {
    fn default() -> Self {
        AuthorityConfig {
            name: "Autoriteit Persoonsgegevens".into(),
            address: "Postbus 93374, 2509 AJ Den Haag".into(),
            website: "https://autoriteitpersoonsgegevens.nl".into(),
        }
    }
}

/// `[privacy]`: what the replies to a data subject say about the processing, as the privacy
/// policy says it (GDPR art. 15(1)(a)–(h) and 15(2)). The recipients (the processor register)
/// and transfers outside the EEA (the processors' data locations) come from the configuration
/// and the inventory; the categories from what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Art. 15(1)(a): why the organisation processes personal data.
    pub purposes: Texts,
    /// The legal bases of that processing (art. 6(1)).
    pub legal_bases: Texts,
    /// Art. 15(1)(d): how long each category is kept.
    pub retention: Texts,
    /// Art. 15(1)(g): where data not received from the person comes from.
    pub source: Texts,
    /// Art. 15(1)(h): automated decision-making, including profiling.
    pub automated_decisions: Texts,
    /// Art. 15(1)(f): where to complain.
    pub authority: AuthorityConfig,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            purposes: Texts::of(
                &[
                    "het leveren en beheren van IT-diensten aan onze klanten en het ondersteunen van hun medewerkers",
                    "het opstellen en innen van facturen en het voeren van de administratie",
                    "het beantwoorden van vragen en verzoeken, waaronder verzoeken van betrokkenen",
                    "het voeren van sollicitatieprocedures",
                ],
                &[
                    "providing and managing IT services for our customers and supporting their staff",
                    "invoicing, collecting payments and keeping the accounts",
                    "answering questions and requests, including requests of data subjects",
                    "recruitment procedures",
                ],
            ),
            legal_bases: Texts::of(
                &[
                    "de uitvoering van een overeenkomst (art. 6 lid 1 sub b AVG)",
                    "een wettelijke verplichting, zoals de fiscale bewaarplicht (art. 6 lid 1 sub c AVG)",
                    "ons gerechtvaardigd belang bij een goede dienstverlening en beveiliging (art. 6 lid 1 sub f AVG)",
                    "uw toestemming, waar wij daarom vragen (art. 6 lid 1 sub a AVG)",
                ],
                &[
                    "the performance of a contract (GDPR art. 6(1)(b))",
                    "a legal obligation, such as the fiscal retention duty (GDPR art. 6(1)(c))",
                    "our legitimate interest in good service and security (GDPR art. 6(1)(f))",
                    "your consent, where we ask for it (GDPR art. 6(1)(a))",
                ],
            ),
            retention: Texts::of(
                &[
                    "facturen en andere fiscaal relevante gegevens: 7 jaar na afloop van het boekjaar (art. 52 lid 4 AWR)",
                    "contractgegevens: tot 12 maanden na het einde van de overeenkomst",
                    "vragen en correspondentie: tot 12 maanden na afhandeling",
                    "gegevens van afgewezen sollicitanten: tot 4 weken na de procedure",
                    "logbestanden: 1 jaar",
                ],
                &[
                    "invoices and other fiscally relevant data: 7 years after the end of the financial year (Dutch fiscal retention duty, art. 52(4) AWR)",
                    "contract data: up to 12 months after the agreement ends",
                    "questions and correspondence: up to 12 months after they were handled",
                    "data of rejected applicants: up to 4 weeks after the procedure",
                    "logs: 1 year",
                ],
            ),
            source: Texts::of(
                &["Wij ontvangen uw gegevens van uzelf, of van uw werkgever wanneer die klant of leverancier van ons is."],
                &["We receive your data from you, or from your employer when they are our customer or supplier."],
            ),
            automated_decisions: Texts::of(
                &["Wij nemen geen besluiten over u die uitsluitend op geautomatiseerde verwerking berusten, en wij maken geen profielen."],
                &["We take no decisions about you based solely on automated processing, and we do no profiling."],
            ),
            authority: AuthorityConfig::default(),
        }
    }
}

/// `[serve]`: the HTTP API of `dsrhub serve`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on. Loopback by default: put a TLS-terminating proxy in front to
    /// reach it from elsewhere.
    pub listen: std::net::SocketAddr,
    /// Bearer tokens allowed to use the whole API (staff), as secret references (never the
    /// token itself).
    pub tokens: Vec<dsrhub_connector::secrets::SecretRef>,
    /// Bearer tokens that may only submit a request and read its status (a web form's
    /// server), as secret references.
    pub intake_tokens: Vec<dsrhub_connector::secrets::SecretRef>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// When the scheduler syncs the processor register: five cron fields (`"0 3 * * 1-5"`),
    /// `"daily HH:MM"`, or `"off"`; local time in the hub's timezone.
    pub inventory_sync: String,
    /// Requests due within this many days are flagged (dashboard, log, reminder).
    pub deadline_warning_days: u32,
    /// How often failed-but-retryable tasks (and waiting ones past their reset) are resumed.
    pub retry_every_minutes: u32,
    /// Optional: POST the daily deadline reminder (request ids and due dates) here.
    pub reminder_webhook: Option<url::Url>,
    /// Optional: e-mail the daily deadline reminder to these addresses, through `[hub.smtp]`.
    pub reminder_email: Vec<String>,
    /// Hosts that intake's `status_callback_urls` may point at. Empty: callbacks are refused
    /// (otherwise anyone with an API token could make the hub POST to any address).
    pub callback_hosts: Vec<String>,
    /// Optional: the address staff open the dashboard at (behind the TLS proxy). `https` makes
    /// the session cookie `Secure` (so does a proxy's `X-Forwarded-Proto: https`).
    pub public_url: Option<url::Url>,
    /// A dashboard session unused for this many minutes ends (a session ends after 8 hours in
    /// any case).
    pub session_idle_minutes: u32,
    /// Largest evidence file the dashboard accepts with a processor's answer, in bytes.
    pub max_upload_bytes: usize,
}

impl ServeConfig {
    /// The inventory sync schedule, `None` when off; errors name the setting.
    pub fn inventory_sync_schedule(&self) -> Result<Option<crate::serve::cron::Schedule>> {
        crate::serve::cron::Schedule::parse(&self.inventory_sync)
            .map_err(|e| Error::Config(format!("serve.inventory_sync: {e}")))
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            tokens: Vec::new(),
            intake_tokens: Vec::new(),
            max_body_bytes: 64 * 1024,
            inventory_sync: "daily 03:00".into(),
            deadline_warning_days: 7,
            retry_every_minutes: 30,
            reminder_webhook: None,
            reminder_email: Vec::new(),
            callback_hosts: Vec::new(),
            public_url: None,
            session_idle_minutes: 30,
            max_upload_bytes: 20 * 1024 * 1024,
        }
    }
}

/// `[sweep]`: the retention rules `dsrhub sweep` applies, each a named entry that can be
/// switched off. What a rule selects becomes a batch of erasure requests, planned as a dry run
/// for a person to approve (`docs/batches.md`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SweepConfig {
    /// When `dsrhub serve` sweeps (cron fields, `"daily HH:MM"` or `"off"`; local time):
    /// each sweep opens a batch planned as a dry run, waiting for a person's approval.
    pub schedule: String,
    /// People whose data a processor holds for an agreement that ended more than
    /// `policy.contract_retention_months` ago (each connector's signal: `docs/batches.md`).
    pub contract_ended: SweepRule,
    /// Records earlier requests kept for a legal duty (invoices: 7 years), once their
    /// `retain_until` has passed: looked up by id again and erased if nothing else keeps them.
    pub retained_expired: SweepRule,
    /// Rejected applicants' data at the places named, after `policy.applicant_retention_weeks`.
    pub applicants: ApplicantsRule,
}

/// The `applicants` rule: where rejected applicants' data lives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicantsRule {
    /// Whether `dsrhub sweep` applies it (off by default: it needs `places`).
    pub enabled: bool,
    /// `processor:place`, in that connector's terms (IT Glue: an organisation's name).
    pub places: Vec<String>,
}

impl SweepConfig {
    /// The sweep schedule, `None` when off; errors name the setting.
    pub fn schedule(&self) -> Result<Option<crate::serve::cron::Schedule>> {
        crate::serve::cron::Schedule::parse(&self.schedule)
            .map_err(|e| Error::Config(format!("sweep.schedule: {e}")))
    }
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            schedule: "off".into(),
            contract_ended: SweepRule { enabled: true },
            retained_expired: SweepRule { enabled: true },
            applicants: ApplicantsRule::default(),
        }
    }
}

/// One sweep rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRule {
    /// Whether `dsrhub sweep` applies it.
    pub enabled: bool,
}

/// `[register]`: the processors the privacy policy names. `dsrhub inventory sync` flags a
/// declared processor without a configured connector, and a configured one not declared.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterConfig {
    /// Processor ids (section names under `[processors]`), as listed in the privacy policy.
    /// Empty: drift is not checked.
    pub processors: Vec<String>,
}

/// `[[controllers]]`: a customer for whom the organisation is a processor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerConfig {
    /// The customer's name.
    pub name: String,
    /// Its privacy contact: forwarded requests go there.
    pub privacy_contact: String,
    /// Language of the forwarding letter and the reply to the requester: `nl` or `en`.
    #[serde(default = "dutch")]
    pub language: String,
    /// A subject with an address in one of these domains is the customer's data subject.
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// So is a subject found as a contact of one of these Autotask companies.
    #[serde(default)]
    pub autotask_company_ids: Vec<u64>,
    /// Or of one of these IT Glue organizations.
    #[serde(default)]
    pub itglue_organization_ids: Vec<u64>,
}

fn dutch() -> String {
    "nl".into()
}

/// `[hub]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubConfig {
    /// The organisation's name, as it appears in reports.
    pub organisation: String,
    /// SQLite ledger file.
    pub ledger: PathBuf,
    /// Where reports and exports are written (one folder per request).
    pub reports_dir: PathBuf,
    /// Time zone for deadlines (calendar months are counted in it).
    pub timezone: String,
    /// The privacy contact's e-mail address: letters are sent from it and answers go to it.
    pub contact_email: String,
    /// Send letters by e-mail through this server; unset: letters are only written as files.
    pub smtp: Option<crate::mail::SmtpConfig>,
    /// An access request's export is removed this many days after the request closed (it
    /// was delivered then); `dsrhub purge` and `serve` do it.
    pub export_retention_days: u32,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            organisation: "the organisation".into(),
            ledger: "dsrhub.db".into(),
            reports_dir: "reports".into(),
            timezone: "Europe/Amsterdam".into(),
            contact_email: String::new(),
            smtp: None,
            export_retention_days: 30,
        }
    }
}

/// `[policy]`: the privacy policy's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Answer within this many calendar months of receipt.
    pub response_months: u32,
    /// A recorded extension adds at most this many months.
    pub extension_months: u32,
    /// Invoices and other fiscal documents are kept this many years after the end of the
    /// financial year of their date.
    pub fiscal_retention_years: u32,
    /// The last day of the financial year, `MM-DD` (default `12-31`): the fiscal retention
    /// period counts from the end of the financial year a document belongs to.
    pub fiscal_year_end: String,
    /// Contract data is kept this many months after the contract ends.
    pub contract_retention_months: u32,
    /// Questions and correspondence are kept this many months after closure.
    pub correspondence_retention_months: u32,
    /// Rejected applicants' data is erased this many weeks after the procedure (the sweep's
    /// `applicants` rule).
    pub applicant_retention_weeks: u32,
    /// An erasure plan that deletes or anonymises more records than this is refused until a
    /// person confirms with `--max-records`.
    pub max_records_per_erasure: usize,
}

impl PolicyConfig {
    /// `fiscal_year_end` as (month, day); `None` when it is not a day every year has.
    pub fn fiscal_year_end_day(&self) -> Option<(i8, i8)> {
        let (month, day) = self.fiscal_year_end.trim().split_once('-')?;
        let (month, day): (i8, i8) = (month.parse().ok()?, day.parse().ok()?);
        // Checked against a year without 29 February: a financial year ends on a day every
        // year has.
        jiff::civil::Date::new(2023, month, day).ok()?;
        Some((month, day))
    }

    /// The last day of the financial year that `date` belongs to.
    pub fn fiscal_year_end_of(&self, date: jiff::civil::Date) -> jiff::civil::Date {
        let (month, day) = self.fiscal_year_end_day().unwrap_or((12, 31));
        let end =
            |year: i16| jiff::civil::Date::new(year, month, day).unwrap_or(jiff::civil::Date::MAX);
        let this_year = end(date.year());
        if date <= this_year {
            this_year
        } else {
            end(date.year().saturating_add(1))
        }
    }
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            response_months: 1,
            extension_months: 2,
            fiscal_retention_years: 7,
            fiscal_year_end: "12-31".into(),
            contract_retention_months: 12,
            correspondence_retention_months: 12,
            applicant_retention_weeks: 4,
            max_records_per_erasure: 50,
        }
    }
}

impl Config {
    /// Read and check `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "cannot read the config file {}: {e} (create one with `dsrhub init`, or try `dsrhub demo`)",
                path.display()
            ))
        })?;
        let mut config =
            Config::parse(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(config)
    }

    /// Parse and check config text.
    pub fn parse(text: &str) -> Result<Config> {
        let config: Config =
            toml::from_str(text).map_err(|e| Error::Config(format!("invalid config: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        jiff::tz::TimeZone::get(&self.hub.timezone).map_err(|_| {
            Error::Config(format!(
                "hub.timezone: `{}` is not a known time zone",
                self.hub.timezone
            ))
        })?;
        self.serve.inventory_sync_schedule()?;
        self.sweep.schedule()?;
        for (i, place) in self.sweep.applicants.places.iter().enumerate() {
            let (processor, _) = place.split_once(':').ok_or_else(|| {
                Error::Config(format!(
                    "sweep.applicants.places[{i}] must be `processor:place` (e.g. `itglue:Afgewezen sollicitanten`)"
                ))
            })?;
            if !self.processors.contains_key(processor) {
                return Err(Error::Config(format!(
                    "sweep.applicants.places[{i}] names processor `{processor}`, which is not under [processors]"
                )));
            }
        }
        if self.sweep.applicants.enabled && self.sweep.applicants.places.is_empty() {
            return Err(Error::Config(
                "sweep.applicants is enabled but names no place where rejected applicants' data lives (sweep.applicants.places)".into(),
            ));
        }
        if self.serve.session_idle_minutes == 0 || self.serve.session_idle_minutes > 8 * 60 {
            return Err(Error::Config(
                "serve.session_idle_minutes must be from 1 to 480 (sessions end after 8 hours anyway)"
                    .into(),
            ));
        }
        if let Some(url) = &self.serve.public_url {
            if !matches!(url.scheme(), "https" | "http") {
                return Err(Error::Config(
                    "serve.public_url must be an http(s) address".into(),
                ));
            }
        }
        if self.serve.retry_every_minutes == 0 {
            return Err(Error::Config(
                "serve.retry_every_minutes must be at least 1".into(),
            ));
        }
        for (i, to) in self.serve.reminder_email.iter().enumerate() {
            if !to.contains('@') || to.trim() != to {
                return Err(Error::Config(format!(
                    "serve.reminder_email[{i}] must be an e-mail address"
                )));
            }
        }
        if !self.serve.reminder_email.is_empty() && self.hub.smtp.is_none() {
            return Err(Error::Config(
                "serve.reminder_email: e-mail reminders are sent through [hub.smtp], which is not set".into(),
            ));
        }
        let p = &self.policy;
        for (name, value) in [
            ("response_months", p.response_months),
            ("fiscal_retention_years", p.fiscal_retention_years),
            ("contract_retention_months", p.contract_retention_months),
            (
                "correspondence_retention_months",
                p.correspondence_retention_months,
            ),
            ("applicant_retention_weeks", p.applicant_retention_weeks),
        ] {
            if value == 0 {
                return Err(Error::Config(format!("policy.{name} must be at least 1")));
            }
        }
        if p.fiscal_year_end_day().is_none() {
            return Err(Error::Config(format!(
                "policy.fiscal_year_end must be a day of the year as MM-DD (e.g. 12-31), not `{}`",
                p.fiscal_year_end
            )));
        }
        if p.max_records_per_erasure == 0 {
            return Err(Error::Config(
                "policy.max_records_per_erasure must be at least 1".into(),
            ));
        }
        let mut letters = false;
        for (id, table) in &self.processors {
            let kind = crate::registry::kind_of(id, table)?;
            if !crate::registry::is_known(kind) {
                let what = if kind == id {
                    format!("unknown processor `{id}`")
                } else {
                    format!("unknown connector `{kind}`")
                };
                return Err(Error::Config(format!(
                    "{what} in [processors.{id}]; known connectors: {} (name another with `connector = \"…\"`)",
                    crate::registry::known_ids().join(", ")
                )));
            }
            letters |= kind == "manual";
        }
        for (i, c) in self.controllers.iter().enumerate() {
            let field = format!("controllers[{i}]");
            if c.name.trim().is_empty() {
                return Err(Error::Config(format!("{field}.name must not be empty")));
            }
            if !c.privacy_contact.contains('@') {
                return Err(Error::Config(format!(
                    "{field}.privacy_contact must be an e-mail address"
                )));
            }
            if !matches!(c.language.as_str(), "nl" | "en") {
                return Err(Error::Config(format!(
                    "{field}.language must be \"nl\" or \"en\""
                )));
            }
            if c.email_domains.is_empty()
                && c.autotask_company_ids.is_empty()
                && c.itglue_organization_ids.is_empty()
            {
                return Err(Error::Config(format!(
                    "{field}: give email_domains, autotask_company_ids or itglue_organization_ids to recognise its data subjects"
                )));
            }
        }
        let forwarding = !self.controllers.is_empty();
        if (letters || forwarding || self.hub.smtp.is_some())
            && !self.hub.contact_email.contains('@')
        {
            return Err(Error::Config(
                "hub.contact_email: letters to processors without an API need the address answers go to".into(),
            ));
        }
        Ok(())
    }

    /// `path` resolved against the config file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The ledger file.
    pub fn ledger_path(&self) -> PathBuf {
        self.resolve(&self.hub.ledger)
    }

    /// The reports folder.
    pub fn reports_dir(&self) -> PathBuf {
        self.resolve(&self.hub.reports_dir)
    }
}

/// The starter config `dsrhub init` writes: the commented example.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let config = Config::parse(EXAMPLE).unwrap();
        assert!(config.processors.contains_key("moneybird"));
        let mut section = config.processors["exact-online"].clone();
        section.remove("enabled");
        let exact: dsrhub_exact_online::ExactOnlineConfig =
            toml::Value::Table(section).try_into().unwrap();
        exact.validate().unwrap();
        let graph: dsrhub_microsoft_graph::GraphConfig = toml::Value::Table({
            let mut t = config.processors["microsoft-graph"].clone();
            t.remove("enabled");
            t
        })
        .try_into()
        .unwrap();
        graph.validate().unwrap();
        // The example's register lists exactly the example's processors: no drift.
        let declared: Vec<&String> = config.register.processors.iter().collect();
        let configured: Vec<&String> = config.processors.keys().collect();
        let mut declared = declared;
        declared.sort();
        assert_eq!(declared, configured);
        assert_eq!(config.policy, PolicyConfig::default());
        // The example writes out the built-in texts of the replies.
        assert_eq!(config.privacy, PrivacyConfig::default());
        assert_eq!(config.sweep, SweepConfig::default());
    }

    #[test]
    fn controllers_need_a_contact_and_a_rule() {
        let base = "[hub]\ncontact_email = \"p@x.example\"\n[[controllers]]\nname = \"C\"\n";
        let err = Config::parse(&format!("{base}privacy_contact = \"c@c.example\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("controllers[0]:") && err.contains("email_domains"),
            "{err}"
        );
        let err = Config::parse(&format!(
            "{base}privacy_contact = \"nobody\"\nemail_domains = [\"c.example\"]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("controllers[0].privacy_contact"), "{err}");
        assert!(Config::parse(&format!(
            "{base}privacy_contact = \"c@c.example\"\nemail_domains = [\"c.example\"]\n"
        ))
        .is_ok());
    }

    #[test]
    fn reminder_email_needs_addresses_and_smtp() {
        let err = Config::parse("[serve]\nreminder_email = [\"dpo@x.example\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("serve.reminder_email") && err.contains("[hub.smtp]"),
            "{err}"
        );
        let smtp =
            "[hub]\ncontact_email = \"p@x.example\"\n[hub.smtp]\nhost = \"mail.x.example\"\n";
        let err = Config::parse(&format!("{smtp}[serve]\nreminder_email = [\"dpo\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("serve.reminder_email[0]"), "{err}");
        let ok = Config::parse(&format!(
            "{smtp}[serve]\nreminder_email = [\"dpo@x.example\"]\n"
        ));
        assert_eq!(ok.unwrap().serve.reminder_email, vec!["dpo@x.example"]);
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = Config::parse("[hub]\nledger = \n").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_settings_and_processors_are_named() {
        let err = Config::parse("[hub]\nledgr = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ledgr"), "{err}");
        let err = Config::parse("[processors.autotaks]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown processor `autotaks`") && err.contains("moneybird"),
            "{err}"
        );
        let err = Config::parse("[hub]\ntimezone = \"Mars/Olympus\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("hub.timezone"), "{err}");
        let err = Config::parse("[policy]\nfiscal_retention_years = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("policy.fiscal_retention_years"), "{err}");
    }

    #[test]
    fn the_financial_year_end_is_a_day_every_year_has() {
        for bad in ["02-29", "13-01", "12-32", "31-12", "december", ""] {
            let err = Config::parse(&format!("[policy]\nfiscal_year_end = \"{bad}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("policy.fiscal_year_end"), "{bad}: {err}");
        }
        let june = Config::parse("[policy]\nfiscal_year_end = \"6-30\"\n").unwrap();
        assert_eq!(june.policy.fiscal_year_end_day(), Some((6, 30)));
        assert_eq!(
            june.policy
                .fiscal_year_end_of(jiff::civil::date(2024, 7, 1)),
            jiff::civil::date(2025, 6, 30)
        );
    }
}
