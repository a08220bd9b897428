//! The command line (`clap`). Human text by default, JSON with `--json`.

mod commands;
mod output;
mod progress;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use dsrhub_connector::Subject;

pub use commands::run;

/// dsrhub: answer GDPR access and erasure requests across every processor.
#[derive(Debug, Parser)]
#[command(name = "dsrhub", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        short,
        global = true,
        default_value = "dsrhub.toml",
        env = "DSRHUB_CONFIG"
    )]
    pub config: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug). Logs never contain personal data.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    /// What to do.
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter configuration (the commented example) to --config.
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Check every configured processor: credentials, reachability, rate-limit headroom.
    Check,
    /// Run the HTTP API (`[serve]`) until SIGTERM or Ctrl-C; see docs/api.md.
    Serve,
    /// The processor register: prints the latest sync (`--json`, or `--csv` for a record of
    /// processing activities); `inventory sync` runs one.
    Inventory {
        /// Run a sync instead of printing the latest.
        #[command(subcommand)]
        action: Option<InventoryAction>,
        /// Print the register as CSV.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
    /// Sign in to a processor that uses an interactive OAuth login (Exact Online).
    Auth {
        /// What to do.
        #[command(subcommand)]
        action: AuthAction,
    },
    /// Store a secret the configuration refers to (`secret set keyring:<name>` or `secret set
    /// file:<path>`), or check every reference of the configuration (`secret check`).
    Secret {
        /// What to do.
        #[command(subcommand)]
        action: SecretAction,
    },
    /// Manage the dashboard's staff users: `user add <name>` (password from stdin, or asked
    /// for without echo), `user password <name>`, `user remove <name>`, `user list`.
    User {
        /// What to do.
        #[command(subcommand)]
        action: UserAction,
    },
    /// Apply the privacy policy's retention rules (`[sweep]`): whom they select becomes one
    /// batch of erasure requests, planned as a dry run; approve it with `dsrhub erase --batch
    /// <id> --yes --plan <digest>`. Addresses on legal hold or with an open request are left
    /// out.
    Sweep {
        /// Only list whom the rules select (masked), opening nothing.
        #[arg(long)]
        list: bool,
    },
    /// Legal holds: addresses whose records no erasure erases (`hold add <address> --reason "…"`,
    /// `hold remove <address>`, `hold list`).
    Hold {
        /// What to do.
        #[command(subcommand)]
        action: HoldAction,
    },
    /// List the connectors this build knows and which are configured.
    Connectors,
    /// Access request (art. 15/20): find and export everything held about a person.
    Access {
        /// Who, or which existing request.
        #[command(flatten)]
        request: RequestArgs,
        /// Portability (art. 20): export only what the person provided under consent or a
        /// contract (each connector says which fields), in the same JSON and CSV.
        #[arg(long, conflicts_with_all = ["request", "batch", "subjects"])]
        portable: bool,
    },
    /// Erasure request (art. 17): a dry run that shows the plan, unless --yes.
    Erase {
        /// Who, or which existing request.
        #[command(flatten)]
        request: RequestArgs,
        /// Approve the plan as it stands before this run (as the last dry run or `dsrhub
        /// status` showed it) and carry it out. On a new request (--email) the plan is shown
        /// first and confirmed on the terminal; without a terminal it is only planned.
        #[arg(long)]
        yes: bool,
        /// With --yes: the digest of the plan you approve (from the report or `dsrhub status`,
        /// at least 12 characters); refused when the plan differs.
        #[arg(long, value_name = "DIGEST", requires = "yes")]
        plan: Option<String>,
        /// With --yes: who approves the plan (recorded in the audit log); default $USER.
        #[arg(long, value_name = "NAME", requires = "yes")]
        approver: Option<String>,
        /// Accept a plan that touches up to N records (over policy.max_records_per_erasure).
        #[arg(long, value_name = "N")]
        max_records: Option<usize>,
        /// Deselect a planned record before execution: PROCESSOR:OBJECT:ID (repeatable).
        #[arg(long, value_name = "PROCESSOR:OBJECT:ID")]
        exclude: Vec<String>,
    },
    /// Rectification (art. 16): correct the subject's data in every processor. A dry run that
    /// shows per record which fields change from what to what, unless --yes.
    Rectify {
        /// Who, or which existing request.
        #[command(flatten)]
        request: RequestArgs,
        /// A corrected value, FIELD=VALUE (repeatable). Fields: first_name, last_name, email,
        /// phone, mobile, street, postcode, city, job_title.
        #[arg(
            long = "set",
            value_name = "FIELD=VALUE",
            required_unless_present = "request"
        )]
        set: Vec<String>,
        /// How the plan is approved and carried out.
        #[command(flatten)]
        approval: ApproveArgs,
    },
    /// Restriction (art. 18): mark the subject's records so they are kept but no longer
    /// processed (an inactive contact, an archived one). A dry run unless --yes.
    Restrict {
        /// Who, or which existing request.
        #[command(flatten)]
        request: RequestArgs,
        /// Why processing is restricted (accuracy contested, an objection being weighed);
        /// kept with the request, shown in its report. No personal data.
        #[arg(long, required_unless_present = "request")]
        reason: Option<String>,
        /// How the plan is approved and carried out.
        #[command(flatten)]
        approval: ApproveArgs,
    },
    /// End restriction RESTRICTION: put back what it marked, after the subject was told
    /// (art. 18(3)). Opens a lift request and shows its plan; approve it with --request ID --yes.
    Lift {
        /// The restriction request's id.
        #[arg(required_unless_present = "request")]
        restriction: Option<String>,
        /// Why the restriction ends.
        #[arg(long, required_unless_present = "request")]
        reason: Option<String>,
        /// Continue (or approve) an existing lift request.
        #[arg(long, value_name = "ID", conflicts_with_all = ["restriction", "reason"])]
        request: Option<String>,
        /// How the plan is approved and carried out.
        #[command(flatten)]
        approval: ApproveArgs,
    },
    /// Objection (art. 21): set the processors' own opt-out flags for a purpose. A dry run
    /// unless --yes.
    Object {
        /// Who, or which existing request.
        #[command(flatten)]
        request: RequestArgs,
        /// What the subject objects to: newsletter.
        #[arg(long, value_name = "PURPOSE", required_unless_present = "request")]
        purpose: Option<String>,
        /// How the plan is approved and carried out.
        #[command(flatten)]
        approval: ApproveArgs,
    },
    /// List requests, or show one request's tasks and deadlines.
    Status {
        /// A request id; without it, all requests, by due date.
        id: Option<String>,
        /// Only requests that are still open.
        #[arg(long, conflicts_with = "id")]
        open: bool,
        /// Only open requests past their deadline.
        #[arg(long, conflicts_with = "id")]
        overdue: bool,
        /// Only requests waiting for a person: an identity to verify, a plan to approve, a
        /// manual action to record, an answer past its date, a reply to send.
        #[arg(long, conflicts_with = "id")]
        needs_action: bool,
    },
    /// Record how the subject of a request received through the API was identified, and run
    /// it (an access request exports; an erasure request is planned, a dry run).
    Verify {
        /// The request: its id, a unique prefix of it, or the API's reference.
        id: String,
        /// How the subject's identity was verified, e.g. "passport checked at the desk by J.
        /// Smit" (purged when the request closes; its hash stays in the audit log).
        #[arg(long, value_name = "HOW")]
        how: String,
    },
    /// Record the answer of a processor without an API to a request.
    Confirm {
        /// The request id.
        id: String,
        /// The processor (its section name in the config).
        processor: String,
        /// What the processor answered (deleted, retained, not-found; exported for access),
        /// or, with --record, what was done with that record by hand (deleted, anonymized,
        /// kept).
        #[arg(long, value_enum)]
        outcome: CliOutcome,
        /// One record that needed a manual action (OBJECT:ID as the report names it): record
        /// that it was dealt with in the processor. Needs --evidence; `kept` needs --note.
        #[arg(long, value_name = "OBJECT:ID")]
        record: Option<String>,
        /// With --record: who acted (recorded); default $USER.
        #[arg(long, value_name = "NAME", requires = "record")]
        by: Option<String>,
        /// The processor's answer or export, hashed into the audit log (an export is added to
        /// the request's ZIP).
        #[arg(long, value_name = "FILE")]
        evidence: Option<PathBuf>,
        /// A short note for the report (no personal data).
        #[arg(long)]
        note: Option<String>,
        /// The processor answered without anything to keep as evidence (an erasure answer
        /// otherwise needs --evidence); say why with --reason.
        #[arg(long, conflicts_with = "evidence", requires = "reason")]
        no_evidence: bool,
        /// With --no-evidence: why there is no evidence (kept in the report; no personal data).
        #[arg(long, requires = "no_evidence")]
        reason: Option<String>,
    },
    /// Withdraw a request that has changed nothing yet (an access request, or an erasure
    /// request until its plan is carried out); the subject's identifiers are purged.
    Cancel {
        /// The request id.
        id: String,
        /// Why (e.g. "withdrawn by the subject"); only its hash is kept, in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// List soft deletions: records a processor removed but keeps restorable until a date (a
    /// Microsoft 365 user, 30 days). With --check, ask the processors about those past their
    /// date and record whether they were purged (`serve` does this once a day).
    Purges {
        /// Ask the processors about soft deletions past their date.
        #[arg(long)]
        check: bool,
    },
    /// Apply the hub's own retention: remove access exports [hub] export_retention_days after
    /// their request closed, and reduce requests closed longer than
    /// policy.correspondence_retention_months ago to their evidence (their reports and
    /// letters removed; ids, hashes, counts, dates and the audit log kept). `serve` does this
    /// once a day.
    Purge {
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Extend a request's deadline, recording the reason and who gave it. Extensions only
    /// lengthen it, and add up to at most policy.extension_months after the original deadline.
    Extend {
        /// The request id.
        id: String,
        /// Months to add to the current deadline.
        #[arg(long, default_value_t = 2)]
        months: u32,
        /// Why (e.g. the complexity or number of requests); shown in the report.
        #[arg(long)]
        reason: String,
        /// Who decides the extension (recorded); default $USER.
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// The audit log: a request's entries (`--export FILE` writes them as JSON lines for an
    /// auditor), or with --verify a check of the whole hash chain. Every other command checks
    /// the chain first and refuses to act on a broken one.
    Audit {
        /// The request whose entries to show or export.
        #[arg(required_unless_present = "verify")]
        id: Option<String>,
        /// Check the hash chain of the whole log: each entry's hash, in order.
        #[arg(long, conflicts_with = "export")]
        verify: bool,
        /// With --verify: the chain head an earlier report quotes, which must still be in the
        /// log (an entry removed after it, or a log rebuilt from scratch, shows).
        #[arg(long, requires = "verify", value_name = "HASH")]
        head: Option<String>,
        /// Write the request's entries to FILE, one JSON object per line (owner-readable).
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
    },
    /// The replies to the data subject (access, erasure, extension, refusal): list the drafts
    /// written in the request's folder, write a refusal, or --send them through [hub.smtp]
    /// after a person has read them.
    Reply {
        /// The request.
        id: String,
        /// Send every draft not sent yet, approved by --approver (recorded).
        #[arg(long)]
        send: bool,
        /// Who read and approves the replies sent; default $USER.
        #[arg(long, value_name = "NAME", requires = "send")]
        approver: Option<String>,
        /// Write a refusal (GDPR art. 12(4)) with --reason, for an open request.
        #[arg(long, requires = "reason", conflicts_with = "send")]
        refuse: bool,
        /// The refusal's reasons, told to the subject.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Leave a record out of an access request's export before it is released, because
    /// showing it would harm others (GDPR art. 15(4)): the export's review list flags records
    /// that name other people. The export is rewritten without it; the reason is hashed into
    /// the audit log.
    Withhold {
        /// The request.
        id: String,
        /// The processor (section name).
        processor: String,
        /// The record, OBJECT:ID as the report names it.
        record: String,
        /// Why it is left out.
        #[arg(long)]
        reason: String,
    },
    /// Write a request's JSON and HTML report.
    Report {
        /// The request id.
        id: String,
        /// Folder to write to (default: <reports_dir>/<id>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Measure the whole product in one process (run it with `--release`).
    Bench {
        /// Which measurement.
        #[command(subcommand)]
        what: BenchWhat,
    },
    /// Print the shell completions (`dsrhub completions bash > /etc/bash_completion.d/dsrhub`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page in roff (`dsrhub man > /usr/local/share/man/man1/dsrhub.1`).
    Man,
    /// Run a real access and erasure request against in-process fake vendors.
    Demo {
        /// Where to write the reports and the export.
        #[arg(long, default_value = "dsrhub-demo")]
        out: PathBuf,
        /// Keep the fakes running (state kept in OUT/sandbox), write --config pointing at
        /// them, and wait, so every command can be tried by hand.
        #[arg(long)]
        sandbox: bool,
        /// First port for the sandbox's fakes.
        #[arg(long, default_value_t = 18081)]
        port: u16,
    },
}

/// `dsrhub confirm --outcome`: a processor's answer, or what was done with one record by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CliOutcome {
    /// Erased (the processor's answer), or deleted by hand (--record).
    Deleted,
    /// Its personal fields cleared by hand (--record only).
    Anonymized,
    /// Kept under a legal basis (the processor's answer).
    Retained,
    /// Kept, with --note saying why (--record).
    Kept,
    /// The processor holds nothing about the subject.
    NotFound,
    /// The processor sent the subject's data (access).
    Exported,
    /// The change was made (rectification, restriction, its lifting, objection), by the
    /// processor (its answer) or by hand (--record).
    Changed,
}

/// `dsrhub inventory …`.
#[derive(Debug, Subcommand)]
pub enum InventoryAction {
    /// Check every configured processor (reachable, signed in, rate-limit headroom), count
    /// what it holds, compare with `[register] processors`, store the result with its history
    /// and print what changed. Exits 3 when a processor failed or the register drifted.
    Sync,
}

/// `dsrhub bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// Peak memory and time of an access export of many messages through Microsoft Graph
    /// (a tenth of them first, then all, in one process).
    Export(BenchArgs),
    /// Peak memory and time of an erasure (plan, carry out, verify) over many messages
    /// through Microsoft Graph, mail kept by policy (a tenth of them first, then all).
    Erasure(BenchArgs),
    /// A list of leavers erased as one batch vs one request each, against the Moneybird and
    /// IT Glue fakes with their real quotas: calls per subject, quota use, 429s, peak memory,
    /// fan-out (docs/BENCHMARKS.md).
    Batch(BatchBenchArgs),
}

/// `dsrhub bench batch`'s settings.
#[derive(Debug, Args)]
pub struct BatchBenchArgs {
    /// List sizes to measure, smallest first.
    #[arg(long, value_delimiter = ',', default_values_t = vec![100, 500])]
    pub subjects: Vec<usize>,
    /// Shorten the vendors' quota windows this many times (the number of calls per window
    /// stays the vendor's), so the run takes seconds instead of hours.
    #[arg(long, default_value_t = 100.0)]
    pub time_scale: f64,
}

/// The size of a benchmark and its guard.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Messages in the generated mailbox.
    #[arg(long, default_value_t = 100_000)]
    pub messages: usize,
    /// Body size of each message, in bytes.
    #[arg(long, default_value_t = 2048)]
    pub body_bytes: usize,
    /// Exit 1 when the peak RSS after the large run is over this many MiB.
    #[arg(long)]
    pub max_peak_mib: Option<f64>,
}

/// `dsrhub auth …`.
#[derive(Debug, Subcommand)]
pub enum AuthAction {
    /// Run the authorization-code login once and store the tokens where the processor's
    /// `tokens` setting points. Prints the address to open; takes the redirect on a loopback
    /// redirect URI, or the redirect address pasted on stdin.
    Login {
        /// The processor (its section name), e.g. `exact-online`.
        processor: String,
        /// Do not try to open a browser; only print the address.
        #[arg(long)]
        no_browser: bool,
        /// How long to wait for the redirect, in seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

/// Who the request is about and how their identity was checked; or an existing request.
#[derive(Debug, Clone, Args)]
pub struct RequestArgs {
    /// The subject's e-mail address (repeatable). Only exact matches are erased.
    #[arg(
        long = "email",
        value_name = "ADDRESS",
        required_unless_present_any = ["request", "subjects", "batch"]
    )]
    pub emails: Vec<String>,
    /// A phone number (repeatable). Matches are listed for review only.
    #[arg(long = "phone", value_name = "NUMBER")]
    pub phones: Vec<String>,
    /// The full name (repeatable). Matches are listed for review only.
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,
    /// How the subject's identity was verified (required before anything is disclosed or
    /// erased), e.g. "passport checked at the desk by J. Smit".
    #[arg(long, value_name = "HOW", required_unless_present_any = ["request", "batch"])]
    pub identity_verified: Option<String>,
    /// The language the subject is answered in.
    #[arg(long, value_enum, default_value_t = ReplyLanguage::Nl, conflicts_with = "request")]
    pub language: ReplyLanguage,
    /// Continue (or approve) an existing request instead of opening a new one.
    #[arg(long, value_name = "ID", conflicts_with_all = ["emails", "phones", "names", "identity_verified"])]
    pub request: Option<String>,
    /// Open a batch: one request per subject listed in FILE (CSV with a header naming the
    /// columns email, phone, name; or JSON lines), searched, planned and approved together.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["emails", "phones", "names", "request"])]
    pub subjects: Option<PathBuf>,
    /// Continue (or approve, with --yes --plan) the batch with this id.
    #[arg(long, value_name = "ID", conflicts_with_all = ["emails", "phones", "names", "identity_verified", "request", "subjects"])]
    pub batch: Option<String>,
}

/// Carrying out a plan that changes data: --yes, the digest approved and who approves it.
#[derive(Debug, Clone, clap::Args)]
pub struct ApproveArgs {
    /// Approve the plan as it stands (as the last dry run or `dsrhub status` showed it) and
    /// carry it out. On a new request the plan is shown first and confirmed on the terminal.
    #[arg(long)]
    pub yes: bool,
    /// With --yes: the digest of the plan you approve (at least 12 characters).
    #[arg(long, value_name = "DIGEST", requires = "yes")]
    pub plan: Option<String>,
    /// With --yes: who approves the plan (recorded in the audit log); default $USER.
    #[arg(long, value_name = "NAME", requires = "yes")]
    pub approver: Option<String>,
    /// Accept a plan that changes up to N records (over policy.max_records_per_erasure).
    #[arg(long, value_name = "N")]
    pub max_records: Option<usize>,
}

/// `dsrhub secret …`.
#[derive(Debug, Subcommand)]
pub enum SecretAction {
    /// Store the value of REFERENCE, read from stdin, or asked for without echo on a terminal.
    /// A `file:` path is relative to the configuration's folder, written 0600.
    Set {
        /// The reference as the configuration writes it (`keyring:moneybird-token`,
        /// `file:secrets/moneybird.token`).
        reference: String,
    },
    /// Check every secret reference of the configuration: present, readable, not empty. Exits 3
    /// when one is not, with the command that stores it.
    Check,
}

/// `dsrhub hold …`.
#[derive(Debug, Subcommand)]
pub enum HoldAction {
    /// Put ADDRESS on hold: no erasure erases its records while the hold lasts.
    Add {
        /// The e-mail address.
        address: String,
        /// Why (a dispute, an investigation; no personal data): kept with the hold.
        #[arg(long)]
        reason: String,
    },
    /// Lift the hold on ADDRESS.
    Remove {
        /// The e-mail address.
        address: String,
    },
    /// List the holds (addresses masked).
    List,
}

/// `dsrhub user …`.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add a staff user who signs in to the dashboard with NAME and a password (at least 12
    /// characters; read from stdin, or asked for twice without echo on a terminal). Their
    /// actions are audited under NAME.
    Add {
        /// The name they sign in with (letters, digits, '.', '-', '_', '@').
        name: String,
    },
    /// Set a new password for NAME; their open sessions end.
    Password {
        /// The user.
        name: String,
    },
    /// Remove NAME; their open sessions end. What they did stays in the audit log.
    Remove {
        /// The user.
        name: String,
    },
    /// List the staff users.
    List,
}

/// The languages replies are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplyLanguage {
    /// Dutch.
    Nl,
    /// English.
    En,
}

impl ReplyLanguage {
    /// Its code.
    pub fn code(self) -> &'static str {
        match self {
            ReplyLanguage::Nl => "nl",
            ReplyLanguage::En => "en",
        }
    }
}

impl RequestArgs {
    fn subject(&self) -> Subject {
        Subject {
            emails: self.emails.clone(),
            phones: self.phones.clone(),
            names: self.names.clone(),
        }
    }
}

/// Logs to stderr: `DSRHUB_LOG` (an env-filter) wins over `-v`.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DSRHUB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour codes only for a person at a terminal, not in a log file or a pipe.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}
