//! What each command does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dsrhub_connector::secrets::Secrets;

use super::output::{print_report, print_requests};
use super::progress::Bars;
use super::{
    AuthAction, BenchWhat, Cli, CliOutcome, Command, HoldAction, InventoryAction, RequestArgs,
    SecretAction, UserAction,
};
use crate::config::{Config, EXAMPLE};
use crate::error::{Error, Result};
use crate::ledger::{Ledger, RequestKind, RequestStatus};
use crate::orchestrator::{Hub, RunOptions};
use crate::registry;
use crate::report;

/// Exit code when a request ended partially completed or failed (resumable).
pub const EXIT_INCOMPLETE: u8 = 3;

/// Run one command; the process exit code on success.
pub async fn run(mut cli: Cli) -> Result<u8> {
    resolve_request_ids(&mut cli)?;
    match &cli.command {
        Command::Init { force } => init(&cli.config, *force),
        Command::Connectors => connectors(&cli),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "dsrhub", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(Error::io("cannot write the manual page to", "stdout"))?;
            Ok(0)
        }
        Command::Secret {
            action: SecretAction::Set { reference },
        } => secret_set(&cli, reference),
        Command::Secret {
            action: SecretAction::Check,
        } => secret_check(&cli),
        Command::User { action } => user(&cli, action),
        Command::Hold { action } => hold(&cli, action),
        Command::Sweep { list } => sweep(&cli, *list).await,
        Command::Check => check(&cli).await,
        Command::Serve => {
            let Loaded { config, hub } = load_quiet(&cli)?;
            let hub = hub.with_operator("the HTTP API");
            crate::serve::run(&config, Arc::new(hub), &Secrets::default()).await?;
            Ok(0)
        }
        Command::Inventory {
            action: Some(InventoryAction::Sync),
            ..
        } => inventory_sync(&cli).await,
        Command::Inventory { action: None, csv } => inventory_show(&cli, *csv),
        Command::Auth {
            action:
                AuthAction::Login {
                    processor,
                    no_browser,
                    timeout,
                },
        } => auth_login(&cli, processor, *no_browser, *timeout).await,
        Command::Access {
            request: args,
            portable,
        } => {
            let options = RunOptions {
                portable: *portable,
                ..RunOptions::default()
            };
            request(&cli, RequestKind::Access, args, options, &[], None).await
        }
        Command::Erase {
            request: args,
            yes,
            plan,
            approver,
            max_records,
            exclude,
        } => {
            let options = RunOptions {
                execute: *yes,
                max_records: *max_records,
                ..RunOptions::default()
            };
            let approval = yes.then(|| ApprovalArgs {
                digest: plan.clone(),
                approver: approver.clone().unwrap_or_else(operator),
            });
            request(&cli, RequestKind::Erasure, args, options, exclude, approval).await
        }
        Command::Rectify {
            request: args,
            set,
            approval,
        } => {
            let change = match &args.request {
                Some(_) => None,
                None => Some((rectification(set)?, None)),
            };
            change_request(&cli, RequestKind::Rectification, args, change, approval).await
        }
        Command::Restrict {
            request: args,
            reason,
            approval,
        } => {
            let change = args
                .request
                .is_none()
                .then(|| (dsrhub_connector::Change::Restrict, reason.clone()));
            change_request(&cli, RequestKind::Restriction, args, change, approval).await
        }
        Command::Object {
            request: args,
            purpose,
            approval,
        } => {
            let change = match (&args.request, purpose) {
                (Some(_), _) => None,
                (None, purpose) => {
                    let purpose = purpose.as_deref().unwrap_or_default();
                    let purpose = dsrhub_connector::Purpose::parse(purpose).ok_or_else(|| {
                        Error::Usage(format!(
                            "--purpose `{purpose}`: the purposes dsrhub knows are: newsletter"
                        ))
                    })?;
                    Some((dsrhub_connector::Change::Object { purpose }, None))
                }
            };
            change_request(&cli, RequestKind::Objection, args, change, approval).await
        }
        Command::Lift {
            restriction,
            reason,
            request: existing,
            approval,
        } => {
            lift(
                &cli,
                restriction.as_deref(),
                reason.as_deref(),
                existing.as_deref(),
                approval,
            )
            .await
        }
        Command::Status {
            id,
            open,
            overdue,
            needs_action,
        } => status(
            &cli,
            id.as_deref(),
            StatusFilter {
                open: *open,
                overdue: *overdue,
                needs_action: *needs_action,
            },
        ),
        Command::Verify { id, how } => verify(&cli, id, how).await,
        Command::Report { id, out } => report_cmd(&cli, id, out.as_deref()),
        Command::Extend {
            id,
            months,
            reason,
            by,
        } => extend(
            &cli,
            id,
            *months,
            reason,
            &by.clone().unwrap_or_else(operator),
        ),
        Command::Cancel { id, reason } => cancel(&cli, id, reason),
        Command::Audit {
            id,
            verify,
            head,
            export,
        } => audit(
            &cli,
            id.as_deref(),
            *verify,
            head.as_deref(),
            export.as_deref(),
        ),
        Command::Purges { check } => purges(&cli, *check).await,
        Command::Purge { dry_run } => purge_own_data(&cli, *dry_run),
        Command::Withhold {
            id,
            processor,
            record,
            reason,
        } => {
            let Loaded { config, hub } = load_quiet(&cli)?;
            let id = hub.ledger().request(id)?.id;
            let zip = config.reports_dir().join(&id).join("access-export.zip");
            hub.withhold(&id, processor, record, reason, &zip)?;
            let built = hub.report(&id)?;
            report::write(&built, &config.reports_dir().join(&id))?;
            println!("left {processor} {record} out of {}", zip.display());
            Ok(0)
        }
        Command::Reply {
            id,
            send,
            approver,
            refuse,
            reason,
        } => {
            reply(
                &cli,
                id,
                *send,
                &approver.clone().unwrap_or_else(operator),
                refuse.then_some(reason.as_deref().unwrap_or("")),
            )
            .await
        }
        Command::Confirm {
            id,
            processor,
            outcome,
            evidence,
            note,
            no_evidence: _,
            reason,
            record,
            by,
        } => match record {
            Some(record) => confirm_record(
                &cli,
                id,
                processor,
                record,
                *outcome,
                evidence.as_deref(),
                note.as_deref(),
                &by.clone().unwrap_or_else(operator),
            ),
            None => {
                let note = match (note, reason) {
                    (Some(n), Some(r)) => Some(format!("{n}; no evidence: {r}")),
                    (None, Some(r)) => Some(format!("no evidence: {r}")),
                    (n, None) => n.clone(),
                };
                confirm(
                    &cli,
                    id,
                    processor,
                    *outcome,
                    evidence.as_deref(),
                    note.as_deref(),
                )
            }
        },
        Command::Bench {
            what: BenchWhat::Batch(args),
        } => crate::bench::batch::run(&args.subjects, args.time_scale, cli.json).await,
        Command::Bench { what } => {
            let (kind, args) = match what {
                BenchWhat::Export(args) => (RequestKind::Access, args),
                BenchWhat::Erasure(args) => (RequestKind::Erasure, args),
                BenchWhat::Batch(_) => unreachable!("matched above"),
            };
            let (messages, body_bytes) = (args.messages, args.body_bytes);
            crate::bench::run(kind, messages, body_bytes, args.max_peak_mib, cli.json).await
        }
        Command::Demo {
            out,
            sandbox: false,
            ..
        } => crate::demo::run(out, cli.json).await.map(|_| 0),
        Command::Demo {
            out,
            sandbox: true,
            port,
        } => crate::demo::sandbox(out, &cli.config, *port)
            .await
            .map(|_| 0),
    }
}

fn init(path: &Path, force: bool) -> Result<u8> {
    if path.exists() && !force {
        return Err(Error::Usage(format!(
            "{} exists; use --force to overwrite it",
            path.display()
        )));
    }
    let text = for_this_platform(EXAMPLE, cfg!(target_os = "linux"));
    std::fs::write(path, text).map_err(Error::io("cannot write", path))?;
    println!(
        "wrote {}: fill in the processors' settings, store each secret with `dsrhub secret set \
         <reference>` (`dsrhub secret check` lists them), then run `dsrhub check`",
        path.display()
    );
    Ok(0)
}

fn connectors(cli: &Cli) -> Result<u8> {
    let config = Config::load(&cli.config).ok();
    let rows: Vec<serde_json::Value> = registry::FACTORIES
        .iter()
        .map(|f| {
            let section = config.as_ref().and_then(|c| c.processors.get(f.id));
            let state = match section {
                None => "not configured",
                Some(t) if t.get("enabled").and_then(toml::Value::as_bool) == Some(false) => {
                    "disabled"
                }
                Some(_) => "configured",
            };
            serde_json::json!({ "id": f.id, "name": f.display_name, "state": state })
        })
        .collect();
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&rows).expect("json"));
    } else {
        for row in rows {
            println!(
                "{:<16} {:<20} {}",
                row["id"].as_str().unwrap_or(""),
                row["name"].as_str().unwrap_or(""),
                row["state"].as_str().unwrap_or("")
            );
        }
    }
    Ok(0)
}

struct Loaded {
    config: Config,
    hub: Hub,
}

fn load(cli: &Cli) -> Result<Loaded> {
    let Loaded { config, hub } = load_quiet(cli)?;
    let hub = if cli.json {
        hub
    } else {
        hub.with_progress(Arc::new(Bars::new()))
    };
    Ok(Loaded { config, hub })
}

/// Like [`load`], without progress bars (the server runs unattended).
fn load_quiet(cli: &Cli) -> Result<Loaded> {
    let config = Config::load(&cli.config)?;
    let processors = registry::build(&config, &Secrets::default())?;
    let ledger = Arc::new(checked(Ledger::open(&config.ledger_path())?)?);
    let mut hub = Hub::new(ledger, processors, &config).with_operator(&operator());
    if let Some(smtp) = &config.hub.smtp {
        hub = hub.with_mailer(crate::mail::Mailer::new(
            smtp,
            &config.hub.contact_email,
            &Secrets::default(),
        )?);
    }
    Ok(Loaded { config, hub })
}

fn open_ledger(cli: &Cli) -> Result<(Config, Ledger)> {
    let config = Config::load(&cli.config)?;
    let ledger = checked(Ledger::open(&config.ledger_path())?)?;
    Ok((config, ledger))
}

/// `ledger`, once its audit chain is intact: nothing is shown or done over a log someone
/// edited (`dsrhub audit --verify` names the entry).
fn checked(ledger: Ledger) -> Result<Ledger> {
    ledger.verify_audit()?;
    Ok(ledger)
}

/// `dsrhub reply`: list, write (a refusal) or send the replies to a request's subject.
async fn reply(
    cli: &Cli,
    id: &str,
    send: bool,
    approver: &str,
    refusal: Option<&str>,
) -> Result<u8> {
    let Loaded { config, hub } = load_quiet(cli)?;
    let id = hub.ledger().request(id)?.id;
    if let Some(reason) = refusal {
        if reason.trim().is_empty() {
            return Err(Error::Usage(
                "--reason: tell the subject why the request is refused".into(),
            ));
        }
        let path = hub.write_reply(&id, crate::replies::ReplyKind::Refusal, reason)?;
        println!(
            "wrote {}: read it, then send it with `dsrhub reply {id} --send`",
            path.display()
        );
        return Ok(0);
    }
    if send {
        let sent = hub.send_replies(&id, approver).await?;
        if cli.json {
            println!("{}", serde_json::json!({ "sent": sent }));
        } else if sent.is_empty() {
            println!("no reply of {id} is waiting to be sent");
        } else {
            for stem in &sent {
                println!("sent {stem} (approved by {approver})");
            }
        }
        return Ok(0);
    }
    let drafts = hub.replies(&id)?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&drafts).expect("json"));
        return Ok(0);
    }
    if drafts.is_empty() {
        println!("request {id} has no reply yet (one is written when it closes)");
    }
    let dir = config.reports_dir().join(&id);
    for d in &drafts {
        println!(
            "{:<16} {:<3} {}  {}",
            d.stem,
            d.language,
            if d.sent_at.is_some() { "sent" } else { "draft" },
            dir.join(format!("{}.html", d.stem)).display()
        );
    }
    Ok(0)
}

/// Every request id the command names, as the ledger knows it: the full id, a unique prefix of
/// it (at least 4 characters), or the reference a request got through the API. An unknown or
/// ambiguous one is refused, naming what was given.
fn resolve_request_ids(cli: &mut Cli) -> Result<()> {
    let ids: Vec<&mut String> = match &mut cli.command {
        Command::Status { id: Some(id), .. }
        | Command::Verify { id, .. }
        | Command::Report { id, .. }
        | Command::Extend { id, .. }
        | Command::Cancel { id, .. }
        | Command::Confirm { id, .. }
        | Command::Reply { id, .. }
        | Command::Withhold { id, .. }
        | Command::Audit { id: Some(id), .. } => vec![id],
        Command::Access {
            request: RequestArgs {
                request: Some(id), ..
            },
            ..
        }
        | Command::Erase {
            request: RequestArgs {
                request: Some(id), ..
            },
            ..
        } => vec![id],
        _ => Vec::new(),
    };
    if ids.is_empty() {
        return Ok(());
    }
    let config = Config::load(&cli.config)?;
    let ledger = Ledger::open(&config.ledger_path())?;
    for id in ids {
        *id = resolve_request_id(&ledger, id)?;
    }
    Ok(())
}

fn resolve_request_id(ledger: &Ledger, given: &str) -> Result<String> {
    if ledger.request(given).is_ok() {
        return Ok(given.to_string());
    }
    if let Some(ours) = ledger.request_by_external(given)? {
        return Ok(ours);
    }
    let matching: Vec<String> = if given.len() >= 4 {
        ledger
            .requests()?
            .into_iter()
            .map(|r| r.id)
            .filter(|id| id.starts_with(given))
            .collect()
    } else {
        Vec::new()
    };
    match matching.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Usage(format!(
            "there is no request `{given}` in the ledger: give its id, a unique prefix of at \
             least 4 characters, or the API's reference (see `dsrhub status`)"
        ))),
        many => Err(Error::Usage(format!(
            "`{given}` is the start of {} requests' ids: give more of it",
            many.len()
        ))),
    }
}

/// `dsrhub verify`: the identity of an API request's subject, then its run.
async fn verify(cli: &Cli, id: &str, how: &str) -> Result<u8> {
    let kind = {
        let Loaded { hub, .. } = load_quiet(cli)?;
        hub.verify_identity(id, how)?;
        hub.ledger().request(id)?.kind
    };
    let args = RequestArgs {
        emails: Vec::new(),
        phones: Vec::new(),
        names: Vec::new(),
        identity_verified: None,
        language: super::ReplyLanguage::Nl,
        request: Some(id.to_string()),
        subjects: None,
        batch: None,
    };
    let options = RunOptions::default();
    request(cli, kind, &args, options, &[], None).await
}

/// The example configuration as `init` writes it. On Linux every `keyring:` reference becomes
/// a `file:secrets/<name>` one: there `keyring:` is the kernel keyring, which a reboot empties,
/// so a headless server would lose its credentials (macOS and Windows keep a real keychain).
fn for_this_platform(example: &str, linux: bool) -> String {
    if !linux {
        return example.to_string();
    }
    let note = "# `dsrhub init` wrote `file:secrets/<name>` references: on Linux `keyring:` is the kernel\n\
                # keyring, a cache that a reboot empties, so a headless server would lose its credentials.\n\
                # Store each with `dsrhub secret set <reference>` (written 0600).\n";
    let body = example
        .lines()
        .map(|line| {
            if line.trim_start().starts_with('#') {
                line.to_string()
            } else {
                line.replace("\"keyring:", "\"file:secrets/")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!("{note}{body}\n")
}

/// `dsrhub secret set`: store one secret where its reference points.
fn secret_set(cli: &Cli, reference: &str) -> Result<u8> {
    use dsrhub_connector::secrets::SecretRef;
    let parsed: SecretRef = reference
        .parse()
        .map_err(|e| Error::Usage(format!("reference: {e}")))?;
    let base = cli
        .config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parsed = parsed.relative_to(base);
    if matches!(parsed, SecretRef::Env(_)) {
        return Err(Error::Usage(
            "reference: an `env:` secret is set in the environment, not stored by dsrhub".into(),
        ));
    }
    if let SecretRef::File(path) = &parsed {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_files::create_dir(dir, false)?;
        }
    }
    let value = read_secret_value(&format!("value for {reference} (not shown): "))?;
    if value.trim().is_empty() {
        return Err(Error::Usage(
            "the value is empty: nothing was stored".into(),
        ));
    }
    Secrets::default()
        .store(&parsed, &value)
        .map_err(|e| Error::Config(e.to_string()))?;
    println!("stored {reference}");
    if matches!(parsed, SecretRef::Keyring(_)) && cfg!(target_os = "linux") {
        eprintln!(
            "note: on Linux `keyring:` is the kernel keyring, a cache that a reboot empties; on \
             a server use a `file:` reference (dsrhub init writes those)"
        );
    }
    Ok(0)
}

/// The secret's value: the first line of stdin, or typed on the terminal without echo.
fn read_secret_value(prompt: &str) -> Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(Error::io("cannot read the value from", "stdin"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let line = without_echo(|| {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).map(|_| line)
    })
    .map_err(Error::io("cannot read the value from", "the terminal"))?;
    eprintln!();
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Run `read` with the terminal's echo off (and back on after, whatever happens).
#[cfg(unix)]
fn without_echo<T>(read: impl FnOnce() -> std::io::Result<T>) -> std::io::Result<T> {
    // SAFETY: termios is plain data; tcgetattr fills it, and fd 0 is the terminal (checked
    // by the caller).
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(0, &mut saved) } != 0 {
        return read();
    }
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    unsafe { libc::tcsetattr(0, libc::TCSANOW, &quiet) };
    let result = read();
    unsafe { libc::tcsetattr(0, libc::TCSANOW, &saved) };
    result
}

#[cfg(not(unix))]
fn without_echo<T>(read: impl FnOnce() -> std::io::Result<T>) -> std::io::Result<T> {
    read()
}

/// `dsrhub user …`: the dashboard's staff users.
fn user(cli: &Cli, action: &UserAction) -> Result<u8> {
    let (_, ledger) = open_ledger(cli)?;
    let by = operator();
    match action {
        UserAction::Add { name } | UserAction::Password { name } => {
            crate::staff::check_name(name)?;
            let adding = matches!(action, UserAction::Add { .. });
            if !adding && ledger.staff_password_hash(name)?.is_none() {
                return Err(Error::Usage(format!(
                    "no user `{name}`; `dsrhub user add {name}` adds them"
                )));
            }
            let password = read_new_password(name)?;
            let hash = crate::staff::hash_password(&password)?;
            if adding {
                ledger.add_staff_user(name, &hash, &by)?;
                println!("added {name}: they sign in at the dashboard's /dashboard/login");
            } else {
                ledger.set_staff_password(name, &hash, &by)?;
                println!("new password set for {name}; their open sessions ended");
            }
        }
        UserAction::Remove { name } => {
            ledger.remove_staff_user(name, &by)?;
            println!("removed {name}; their open sessions ended");
        }
        UserAction::List => {
            let users = ledger.staff_users()?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&users).expect("json"));
            } else if users.is_empty() {
                println!("no staff users yet: `dsrhub user add <name>` adds one");
            } else {
                for u in users {
                    println!(
                        "{:<24} added {}  password set {}",
                        u.name,
                        u.created_at.strftime("%Y-%m-%d"),
                        u.changed_at.strftime("%Y-%m-%d")
                    );
                }
            }
        }
    }
    Ok(0)
}

/// A new password for `name`: the first line of stdin, or typed twice on a terminal.
fn read_new_password(name: &str) -> Result<String> {
    use std::io::IsTerminal;
    let first = read_secret_value(&format!("password for {name} (not shown): "))?;
    if std::io::stdin().is_terminal() {
        let again = read_secret_value("the same password again: ")?;
        if again != first {
            return Err(Error::Usage(
                "the two passwords differ: nothing was changed".into(),
            ));
        }
    }
    Ok(first)
}

/// `dsrhub secret check`: every secret reference of the configuration, resolved.
fn secret_check(cli: &Cli) -> Result<u8> {
    use dsrhub_connector::secrets::SecretRef;
    let config = Config::load(&cli.config)?;
    let mut references: Vec<(String, SecretRef)> = Vec::new();
    fn walk(path: &str, value: &toml::Value, out: &mut Vec<(String, SecretRef)>) {
        match value {
            toml::Value::String(s) => {
                if let Ok(r) = s.parse::<SecretRef>() {
                    if s.contains(':') && !s.contains("://") {
                        out.push((path.to_string(), r));
                    }
                }
            }
            toml::Value::Table(t) => {
                for (k, v) in t {
                    walk(&format!("{path}.{k}"), v, out);
                }
            }
            toml::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), v, out);
                }
            }
            _ => {}
        }
    }
    for (id, table) in &config.processors {
        walk(
            &format!("processors.{id}"),
            &toml::Value::Table(table.clone()),
            &mut references,
        );
    }
    for (i, token) in config.serve.tokens.iter().enumerate() {
        references.push((format!("serve.tokens[{i}]"), token.clone()));
    }
    for (i, token) in config.serve.intake_tokens.iter().enumerate() {
        references.push((format!("serve.intake_tokens[{i}]"), token.clone()));
    }
    if let Some(password) = config.hub.smtp.as_ref().and_then(|s| s.password.clone()) {
        references.push(("hub.smtp.password".into(), password));
    }
    let secrets = Secrets::default();
    let mut missing = 0;
    let mut rows = Vec::new();
    for (setting, reference) in &references {
        let resolved = secrets.resolve(&reference.clone().relative_to(&config.base_dir));
        if resolved.is_err() {
            missing += 1;
        }
        rows.push(serde_json::json!({
            "setting": setting,
            "reference": reference.to_string(),
            "ok": resolved.is_ok(),
            "problem": resolved.err().map(|e| e.to_string()),
        }));
    }
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&rows).expect("json"));
    } else {
        for row in &rows {
            match row["problem"].as_str() {
                None => println!(
                    "ok       {}  ({})",
                    row["setting"].as_str().unwrap_or(""),
                    row["reference"].as_str().unwrap_or("")
                ),
                Some(problem) => println!(
                    "MISSING  {}: {problem}",
                    row["setting"].as_str().unwrap_or("")
                ),
            }
        }
        if references.is_empty() {
            println!("the configuration refers to no secret");
        }
    }
    Ok(if missing > 0 { EXIT_INCOMPLETE } else { 0 })
}

/// `dsrhub purge`: the hub's own retention.
fn purge_own_data(cli: &Cli, dry_run: bool) -> Result<u8> {
    let (config, ledger) = open_ledger(cli)?;
    let hub = Hub::new(Arc::new(ledger), Vec::new(), &config).with_operator(&operator());
    let done = hub.purge_own_data(jiff::Timestamp::now(), dry_run)?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&done).expect("json"));
        return Ok(0);
    }
    let (exports, requests) = if dry_run {
        ("would remove the export of", "would reduce to its evidence")
    } else {
        ("removed the export of", "reduced to its evidence")
    };
    for id in &done.exports_removed {
        println!("{exports} {id}");
    }
    for id in &done.requests_reduced {
        println!("{requests} {id}");
    }
    if done.exports_removed.is_empty() && done.requests_reduced.is_empty() {
        println!("nothing is past its retention period");
    }
    Ok(0)
}

/// `dsrhub audit`: a request's entries, their export, or the chain's check.
fn audit(
    cli: &Cli,
    id: Option<&str>,
    verify: bool,
    head: Option<&str>,
    export: Option<&Path>,
) -> Result<u8> {
    let config = Config::load(&cli.config)?;
    let ledger = Ledger::open(&config.ledger_path())?;
    if verify {
        let entries = ledger.verify_audit()?;
        let last = ledger.audit_head()?;
        if let Some(hash) = head {
            let Some(seq) = ledger.audit_position(hash)? else {
                return Err(Error::Ledger(format!(
                    "the chain head {hash} is not in this audit log: entries up to it were \
                     removed or the log was replaced"
                )));
            };
            if !cli.json {
                println!("the quoted head is entry {seq} of the log");
            }
        }
        if cli.json {
            println!(
                "{}",
                serde_json::json!({ "intact": true, "entries": entries, "chain_head": last })
            );
        } else {
            match last {
                Some(h) => println!(
                    "audit chain intact: {entries} entries; head {} (entry {})",
                    h.hash, h.seq
                ),
                None => println!("the audit log is empty"),
            }
        }
        return Ok(0);
    }
    let id = id.ok_or_else(|| Error::Usage("name a request, or use --verify".into()))?;
    let id = ledger.request(id)?.id;
    let entries = ledger.audit_entries(Some(&id))?;
    if let Some(path) = export {
        let mut text = String::new();
        for entry in &entries {
            text.push_str(&serde_json::to_string(entry).expect("entry serialises"));
            text.push('\n');
        }
        crate::private_files::write(path, &text)?;
        if !cli.json {
            println!(
                "wrote {} audit entries of {id} to {}",
                entries.len(),
                path.display()
            );
        }
        return Ok(0);
    }
    if cli.json {
        let head = ledger.audit_head()?;
        println!(
            "{}",
            serde_json::json!({ "request_id": id, "entries": entries, "chain_head": head })
        );
    } else {
        for entry in &entries {
            println!(
                "{:>6}  {}  {:<22} {}",
                entry.seq, entry.at, entry.event, entry.detail
            );
        }
    }
    Ok(0)
}

async fn auth_login(cli: &Cli, processor: &str, no_browser: bool, timeout: u64) -> Result<u8> {
    let config = Config::load(&cli.config)?;
    let login = registry::login(&config, processor, &Secrets::default())?;
    let request = login.request();
    eprintln!(
        "Open this address in a browser and sign in to {processor}:\n\n  {}\n",
        request.url()
    );
    if !no_browser {
        open_browser(request.url().as_str());
    }
    let timeout = std::time::Duration::from_secs(timeout);
    let paste = || async {
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await
        .map_err(|e| Error::Usage(format!("reading the pasted address failed: {e}")))?
        .map_err(|e| Error::Usage(format!("reading the pasted address failed: {e}")))?;
        request
            .code_from_pasted(&line)
            .map_err(|e| Error::Usage(e.to_string()))
    };
    let code = match request.loopback_addr() {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                Error::Usage(format!("cannot listen on {addr} for the redirect: {e}"))
            })?;
            eprintln!(
                "Waiting for the redirect on {addr} (or paste the address you were sent to):"
            );
            tokio::select! {
                code = request.receive(listener, timeout) => code.map_err(|e| Error::Usage(e.to_string()))?,
                code = paste() => code?,
            }
        }
        None => {
            eprintln!(
                "After signing in, your browser is sent to {}…; paste that whole address here:",
                request.redirect_uri()
            );
            tokio::time::timeout(timeout, paste()).await.map_err(|_| {
                Error::Usage("no address was pasted in time; run the login again".into())
            })??
        }
    };
    login
        .finish(&code)
        .await
        .map_err(|e| Error::Usage(format!("{processor}: {e}")))?;
    println!("signed in to {processor}; the tokens are stored where processors.{processor}.tokens points");
    Ok(0)
}

/// Try to show `url` in the desktop's browser; on a server nothing happens.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        Some("open")
    } else if cfg!(target_os = "linux")
        && (std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some())
    {
        Some("xdg-open")
    } else {
        None
    };
    if let Some(opener) = opener {
        let _ = std::process::Command::new(opener)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}

async fn inventory_sync(cli: &Cli) -> Result<u8> {
    let config = Config::load(&cli.config)?;
    let processors = registry::build(&config, &Secrets::default())?;
    let ledger = checked(Ledger::open(&config.ledger_path())?)?;
    let (register, changes) = crate::inventory::sync(&config, &processors, &ledger).await?;
    let troubled = register
        .entries
        .iter()
        .filter(|e| e.drift.is_some() || e.error.is_some())
        .count();
    if cli.json {
        let out = serde_json::json!({ "register": register, "changes": changes });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        print_register(&register);
        println!("\nchanges since the previous sync:");
        for change in &changes {
            println!("  {change}");
        }
    }
    Ok(if troubled > 0 { EXIT_INCOMPLETE } else { 0 })
}

fn inventory_show(cli: &Cli, csv: bool) -> Result<u8> {
    let (_, ledger) = open_ledger(cli)?;
    let register = crate::inventory::latest(&ledger)?.ok_or_else(|| {
        Error::Usage("no inventory yet: run `dsrhub inventory sync` first".into())
    })?;
    if csv {
        print!("{}", crate::inventory::csv(&register));
    } else if cli.json {
        println!("{}", serde_json::to_string_pretty(&register).expect("json"));
    } else {
        print_register(&register);
    }
    Ok(0)
}

fn print_register(register: &crate::inventory::Register) {
    println!("processor register, synced {}", register.synced_at);
    for e in &register.entries {
        let state = e.state().replace('_', " ");
        let counts: Vec<String> = e.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let location = match (&e.location, e.eea) {
            (Some(l), Some(true)) => format!("{l} (EEA)"),
            (Some(l), _) => format!("{l} (outside the EEA)"),
            (None, _) => String::new(),
        };
        println!(
            "  {:<16} {:<11} {:<34} {}",
            e.processor,
            state,
            location,
            counts.join(", ")
        );
        for note in e.drift.iter().chain(&e.error) {
            println!("  {:<16} {note}", "");
        }
    }
}

async fn check(cli: &Cli) -> Result<u8> {
    let config = Config::load(&cli.config)?;
    if config.processors.is_empty() {
        return Err(Error::Config(
            "no processors are configured: add a [processors.<id>] section".into(),
        ));
    }
    // Every section on its own: one missing secret does not hide the next problem.
    let built = registry::build_each(&config, &Secrets::default());
    // A spinner per processor on a terminal, showing waits for a vendor's rate limit too.
    use crate::orchestrator::Progress;
    let bars = (!cli.json).then(|| Arc::new(Bars::new()));
    let checks = futures_util::future::join_all(built.iter().map(|(id, p)| {
        let bars = bars.clone();
        async move {
            let Some(bars) = bars else {
                return check_one(id, p).await;
            };
            bars.update(id, "checking");
            let observer_bars = bars.clone();
            let (bar, name) = (
                id.clone(),
                p.as_ref().map_or(id.clone(), |p| p.display_name.clone()),
            );
            let observer: dsrhub_connector::http::waits::Observer = Arc::new(move |wait| {
                let message = wait.map(|w| crate::orchestrator::wait_message(&name, &w));
                observer_bars.waiting(&bar, message.as_deref());
            });
            let row = dsrhub_connector::http::waits::observed(observer, check_one(id, p)).await;
            bars.finish(id, row["state"].as_str().unwrap_or(""));
            row
        }
    }))
    .await;
    if let Some(bars) = &bars {
        bars.clear();
    }
    let failures = checks
        .iter()
        .filter(|row| matches!(row["state"].as_str(), Some("failed" | "not built")))
        .count();
    let rows = checks;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&rows).expect("json"));
    } else {
        for row in &rows {
            let detail = row
                .get("detail")
                .or(row.get("error"))
                .and_then(|v| v.as_str())
                .unwrap_or("");
            println!(
                "{:<16} {:<9} {}",
                row["processor"].as_str().unwrap_or(""),
                row["state"].as_str().unwrap_or(""),
                detail
            );
        }
    }
    Ok(if failures > 0 { 1 } else { 0 })
}

/// One processor's row of `dsrhub check`: built or why not, reachable and signed in or why
/// not, and the rate-limit headroom the vendor reports.
async fn check_one(
    id: &str,
    p: &std::result::Result<registry::Processor, Error>,
) -> serde_json::Value {
    match p {
        Err(e) => {
            serde_json::json!({ "processor": id, "state": "not built", "error": e.to_string() })
        }
        Ok(p) => match &p.connector {
            None => serde_json::json!({ "processor": p.id, "state": "disabled" }),
            Some(connector) => match connector.check().await {
                Ok(health) => serde_json::json!({
                    "processor": p.id,
                    "state": "ok",
                    "detail": match health.rate_limit_remaining {
                        Some(n) => format!("{}; rate-limit headroom: {n} call(s) left", health.detail),
                        None => format!("{}; rate-limit headroom: unknown (the vendor did not say)", health.detail),
                    },
                    "rate_limit_remaining": health.rate_limit_remaining,
                    "location": connector.describe().location,
                }),
                Err(e) => {
                    serde_json::json!({ "processor": p.id, "state": "failed", "error": e.to_string() })
                }
            },
        },
    }
}

/// With `--yes`: the plan digest the operator names (if any) and who approves.
struct ApprovalArgs {
    digest: Option<String>,
    approver: String,
}

impl super::ApproveArgs {
    /// How to run (carry out with --yes, the cap) and the approval asked for, if any.
    fn split(&self) -> (RunOptions, Option<ApprovalArgs>) {
        let options = RunOptions {
            execute: self.yes,
            max_records: self.max_records,
            ..RunOptions::default()
        };
        let approval = self.yes.then(|| ApprovalArgs {
            digest: self.plan.clone(),
            approver: self.approver.clone().unwrap_or_else(operator),
        });
        (options, approval)
    }
}

/// Request `id`, which must be of `kind`: to continue it.
fn existing_of_kind(hub: &Hub, id: &str, kind: RequestKind) -> Result<crate::ledger::RequestRow> {
    let existing = hub.ledger().request(id)?;
    if existing.kind != kind {
        return Err(Error::Usage(format!(
            "request `{id}` is an {} request",
            existing.kind
        )));
    }
    Ok(existing)
}

/// `--set FIELD=VALUE …` as a rectification, or a usage error naming the bad one.
fn rectification(set: &[String]) -> Result<dsrhub_connector::Change> {
    use dsrhub_connector::Field;
    let mut values = std::collections::BTreeMap::new();
    for spec in set {
        let Some((name, value)) = spec.split_once('=') else {
            // Not repeated: without its `=` it may well be a value (personal data).
            return Err(Error::Usage(
                "--set: expected FIELD=VALUE (one --set has no `=`)".into(),
            ));
        };
        let name = name.trim();
        let field = Field::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
            let hint = if name == "name" {
                " (a name is two fields: give first_name and last_name)"
            } else {
                ""
            };
            Error::Usage(format!(
                "--set {name}: not a field dsrhub corrects{hint}; fields: {}",
                known.join(", ")
            ))
        })?;
        if values.insert(field, value.trim().to_string()).is_some() {
            return Err(Error::Usage(format!("--set {name}: given twice")));
        }
    }
    Ok(dsrhub_connector::Change::Rectify { values })
}

/// A rectification, restriction or objection: opened with `change` (a new request) or
/// continued (`--request`), then run as `request` runs any request.
async fn change_request(
    cli: &Cli,
    kind: RequestKind,
    args: &RequestArgs,
    change: Option<(dsrhub_connector::Change, Option<String>)>,
    approval: &super::ApproveArgs,
) -> Result<u8> {
    if args.subjects.is_some() || args.batch.is_some() {
        return Err(Error::Usage(format!(
            "--subjects/--batch: a {kind} is asked by one person; open one request per person"
        )));
    }
    let (options, approve) = approval.split();
    let Loaded { config, hub } = load(cli)?;
    let (id, new) = match (&args.request, change) {
        (Some(id), None) => {
            let existing = existing_of_kind(&hub, id, kind)?;
            if existing.status.is_closed() {
                return closed_request(cli, &hub, &config, &existing);
            }
            (id.clone(), false)
        }
        (_, Some((change, reason))) => {
            let subject = args.subject();
            note_open_requests(&hub, &subject)?;
            let id = hub.open_change(
                kind,
                &subject,
                args.identity_verified.as_deref().unwrap_or(""),
                &change,
                reason.as_deref(),
            )?;
            hub.ledger().set_language(&id, args.language.code())?;
            (id, true)
        }
        (None, None) => {
            return Err(Error::Usage(
                "--email: name the subject, or --request an existing request".into(),
            ))
        }
    };
    run_opened(
        cli,
        (&config, &hub),
        kind,
        (&id, new),
        options,
        &[],
        approve,
    )
    .await
}

/// `dsrhub lift`: open a lift of a restriction (and show its plan), or continue one.
async fn lift(
    cli: &Cli,
    restriction: Option<&str>,
    reason: Option<&str>,
    existing: Option<&str>,
    approval: &super::ApproveArgs,
) -> Result<u8> {
    let Loaded { config, hub } = load(cli)?;
    let (id, new) = match existing {
        Some(id) => {
            let request = existing_of_kind(&hub, id, RequestKind::Lift)?;
            if request.status.is_closed() {
                return closed_request(cli, &hub, &config, &request);
            }
            (id.to_string(), false)
        }
        None => {
            let restriction = restriction.unwrap_or_default();
            let id = hub.lift(restriction, reason.unwrap_or_default())?;
            println!("opened lift request {id}");
            let notice = hub
                .replies(restriction)?
                .into_iter()
                .any(|r| r.stem == "reply-lift-notice" && r.sent_at.is_none());
            if notice {
                println!(
                    "the person is told before the restriction is lifted (art. 18(3)): read {}, \
                     then send it with `dsrhub reply {restriction} --send` before approving the lift",
                    config
                        .reports_dir()
                        .join(restriction)
                        .join("reply-lift-notice.eml")
                        .display()
                );
            } else {
                println!(
                    "no notice written: restriction {restriction} keeps no address; tell the \
                     person before the lift by other means (art. 18(3))"
                );
            }
            (id, true)
        }
    };
    let (options, approve) = approval.split();
    run_opened(
        cli,
        (&config, &hub),
        RequestKind::Lift,
        (&id, new),
        options,
        &[],
        approve,
    )
    .await
}

async fn request(
    cli: &Cli,
    kind: RequestKind,
    args: &RequestArgs,
    options: RunOptions,
    exclude: &[String],
    approval: Option<ApprovalArgs>,
) -> Result<u8> {
    if args.subjects.is_some() || args.batch.is_some() {
        return batch(cli, kind, args, options, exclude, approval).await;
    }
    let Loaded { config, hub } = load(cli)?;
    let (id, new) = match &args.request {
        Some(id) => {
            let existing = existing_of_kind(&hub, id, kind)?;
            if existing.status.is_closed() {
                return closed_request(cli, &hub, &config, &existing);
            }
            (id.clone(), false)
        }
        None => {
            let subject = args.subject();
            note_open_requests(&hub, &subject)?;
            let id = hub.open(
                kind,
                &subject,
                args.identity_verified.as_deref().unwrap_or(""),
            )?;
            hub.ledger().set_language(&id, args.language.code())?;
            if options.portable {
                hub.ledger().set_portable(&id)?;
            }
            (id, true)
        }
    };
    run_opened(
        cli,
        (&config, &hub),
        kind,
        (&id, new),
        options,
        exclude,
        approval,
    )
    .await
}

/// Say which requests are already open for `subject` (a second one is allowed, but seldom
/// meant).
fn note_open_requests(hub: &Hub, subject: &dsrhub_connector::Subject) -> Result<()> {
    for other in hub.ledger().open_requests_for(subject)? {
        eprintln!(
            "note: request {} ({}, {}) is already open for this subject",
            other.id, other.kind, other.status
        );
    }
    Ok(())
}

/// The command that continues a request of `kind`.
fn command_of(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Access => "access",
        RequestKind::Erasure => "erase",
        RequestKind::Rectification => "rectify",
        RequestKind::Restriction => "restrict",
        RequestKind::Lift => "lift",
        RequestKind::Objection => "object",
    }
}

/// Run request `id` (`new`: opened by this command, so nobody has seen its plan yet), with
/// the approval asked for, and show its report.
async fn run_opened(
    cli: &Cli,
    (config, hub): (&crate::config::Config, &Hub),
    kind: RequestKind,
    (id, new): (&str, bool),
    mut options: RunOptions,
    exclude: &[String],
    approval: Option<ApprovalArgs>,
) -> Result<u8> {
    let id = id.to_string();
    for spec in exclude {
        deselect(hub, &id, spec)?;
    }
    let out = config.reports_dir().join(&id);
    options.export_dir = Some(out.clone());
    if let Some(approval) = &approval {
        if new {
            // Nobody has seen this plan yet: make it, show it, and ask.
            let dry = RunOptions {
                execute: false,
                ..options.clone()
            };
            let result = hub.run(&id, &dry).await;
            show_report(cli, hub, &id, kind, &out)?;
            if kind.changes_fields() && !cli.json {
                print_changes(hub, &id)?;
            }
            result?;
            let plan = hub.ledger().plan_digest(&id)?;
            if !plan.is_empty() {
                if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                    eprintln!(
                        "request {id}: the plan above was recorded but not carried out, because \
                         nobody has seen it yet and there is no terminal to confirm it on.\n\
                         Review it, then approve it with\n  dsrhub {} --request {id} --yes --plan {}",
                        command_of(kind),
                        &plan.digest[..16]
                    );
                    return Ok(EXIT_INCOMPLETE);
                }
                eprint!(
                    "Carry out this plan (digest {}: {} record(s), {} deletion(s) or anonymisation(s))? Type yes: ",
                    &plan.digest[..16],
                    plan.records,
                    plan.changes
                );
                let mut answer = String::new();
                std::io::stdin()
                    .read_line(&mut answer)
                    .map_err(|e| Error::Usage(format!("reading the confirmation failed: {e}")))?;
                if answer.trim() != "yes" {
                    println!("not approved: nothing was changed; the plan stays recorded");
                    return Ok(0);
                }
                approve(hub, &id, &plan.digest, &approval.approver, cli.json)?;
            }
        } else {
            let plan = hub.ledger().plan_digest(&id)?;
            match (&approval.digest, plan.is_empty()) {
                (Some(_), true) => {
                    return Err(Error::Usage(format!(
                        "--plan: nothing in request {id} waits for approval"
                    )))
                }
                (Some(given), false) if !plan.is_named_by(given) => {
                    return Err(Error::Usage(format!(
                        "--plan: the plan of request {id} is not the one you name: its digest is {} \
                         ({} record(s), {} deletion(s) or anonymisation(s)); review it with \
                         `dsrhub status {id}`",
                        plan.digest, plan.records, plan.changes
                    )))
                }
                (_, false) => approve(hub, &id, &plan.digest, &approval.approver, cli.json)?,
                (None, true) => {}
            }
        }
    }
    let result = hub.run(&id, &options).await;
    show_report(cli, hub, &id, kind, &out)?;
    result?;
    let mut incomplete = false;
    if kind.needs_approval() && !cli.json {
        if kind.changes_fields() && !options.execute {
            print_changes(hub, &id)?;
        }
        incomplete = explain_erasure(hub, &id, options.execute)?;
    }
    let status = hub.ledger().request(&id)?.status;
    Ok(match status {
        RequestStatus::PartiallyCompleted | RequestStatus::Failed => {
            eprintln!(
                "request {id} is {status}; run the same command with --request {id} to resume"
            );
            EXIT_INCOMPLETE
        }
        _ if incomplete => EXIT_INCOMPLETE,
        _ => 0,
    })
}

/// The planned field changes of request `id`, old and new values side by side: for the
/// member of staff who approves them (standard output only; never logged).
fn print_changes(hub: &Hub, id: &str) -> Result<()> {
    let ledger = hub.ledger();
    let items = ledger.items(id, None)?;
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => format!("{s:?}"),
        serde_json::Value::Null => "(empty)".to_string(),
        other => other.to_string(),
    };
    let mut any = false;
    for item in items.iter().filter(|i| {
        i.action == crate::ledger::Action::Change && i.state != crate::ledger::ItemState::Done
    }) {
        if !any {
            println!();
            println!("Changes in this plan (old values are shown here only):");
            any = true;
        }
        println!("  {} {}", item.processor, item.reference);
        for c in ledger.item_changes(item.id)? {
            println!("      {:<24} {} -> {}", c.field, show(&c.from), show(&c.to));
        }
    }
    Ok(())
}

/// Record the approval of plan `digest` and say so.
fn approve(hub: &Hub, id: &str, digest: &str, approver: &str, json: bool) -> Result<()> {
    let approval = hub.approve(id, digest, approver)?;
    if !json {
        println!(
            "approved plan {} of request {id} ({} deletion(s) or anonymisation(s)) as {}",
            &approval.digest[..16],
            approval.changes,
            approval.approver
        );
    }
    Ok(())
}

/// Build, write and print a request's report.
fn show_report(cli: &Cli, hub: &Hub, id: &str, kind: RequestKind, out: &Path) -> Result<()> {
    let built = hub.report(id)?;
    let (json_path, html_path) = report::write(&built, out)?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&built).expect("json"));
    } else {
        print_report(&built);
        println!();
        println!("report: {}", html_path.display());
        println!("        {}", json_path.display());
        if kind == RequestKind::Access {
            println!("export: {}", out.join("access-export.zip").display());
        }
    }
    Ok(())
}

/// `--subjects FILE` (open a batch) or `--batch ID` (continue one; with `--yes --plan`,
/// approve it): run the batch, write every request's report and the batch's, and print the
/// batch's state.
async fn batch(
    cli: &Cli,
    kind: RequestKind,
    args: &RequestArgs,
    options: RunOptions,
    exclude: &[String],
    approval: Option<ApprovalArgs>,
) -> Result<u8> {
    let Loaded { config, hub } = load(cli)?;
    if !exclude.is_empty() {
        return Err(Error::Usage(
            "--exclude: in a batch, deselect a record on its subject's own request              (`dsrhub erase --request <id> --exclude OBJECT:ID`) before the batch is approved"
                .into(),
        ));
    }
    let batch = match (&args.subjects, &args.batch) {
        (Some(file), _) => {
            if approval.is_some() {
                return Err(Error::Usage(
                    "--yes: a new batch is planned first; review its plan, then approve it with                      --batch <id> --yes --plan <digest>"
                        .into(),
                ));
            }
            let name = file.display().to_string();
            let text = std::fs::read_to_string(file)
                .map_err(|e| Error::Usage(format!("--subjects {name}: cannot be read ({e})")))?;
            let subjects = crate::subjects_file::parse(&name, &text)?;
            let origin = format!(
                "subjects file {}",
                file.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or(name)
            );
            let id = hub.open_batch(
                kind,
                &subjects,
                args.identity_verified.as_deref().unwrap_or(""),
                &origin,
            )?;
            for (_, request) in hub.ledger().batch_requests(&id)? {
                hub.ledger()
                    .set_language(&request.id, args.language.code())?;
            }
            id
        }
        (None, Some(id)) => {
            let found = hub.ledger().batch(id)?;
            if found.kind != kind {
                return Err(Error::Usage(format!(
                    "batch `{id}` is an {} batch",
                    found.kind
                )));
            }
            id.clone()
        }
        (None, None) => unreachable!("called for --subjects or --batch"),
    };
    if let Some(approval) = &approval {
        let digest = approval.digest.as_deref().ok_or_else(|| {
            Error::Usage(format!(
                "--plan: a batch is approved only by its plan digest; see `dsrhub erase --batch {batch}`                  (its report shows the digest), then add --plan <digest>"
            ))
        })?;
        let plan = hub.approve_batch(&batch, digest, &approval.approver)?;
        if !cli.json {
            println!(
                "approved by {}: {} request(s), {} record(s), {} deletion(s) or anonymisation(s)",
                approval.approver, plan.requests, plan.records, plan.changes
            );
        }
    }
    let result = hub.run_batch(&batch, &options, &config.reports_dir()).await;
    show_batch(cli, &hub, &config, &batch, result.map(drop))
}

/// After a batch run: write every request's report and the batch's (also after a failed run:
/// what was done so far is on record), print the batch's state, and the exit code.
fn show_batch(
    cli: &Cli,
    hub: &Hub,
    config: &Config,
    batch: &str,
    result: Result<()>,
) -> Result<u8> {
    let reports_dir = config.reports_dir();
    for (_, request) in hub.ledger().batch_requests(batch)? {
        report::write(&hub.report(&request.id)?, &reports_dir.join(&request.id))?;
    }
    let built = report::batch::build(hub, batch)?;
    let (json_path, html_path) =
        report::batch::write(&built, &report::batch::folder(&reports_dir, batch))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&built).expect("json"));
    } else {
        println!(
            "batch {batch}: {} subject(s) from {}",
            built.subjects.len(),
            built.batch.origin
        );
        let statuses: Vec<String> = built
            .statuses
            .iter()
            .map(|(s, n)| format!("{n} {}", s.replace('_', " ")))
            .collect();
        println!("  {}", statuses.join(", "));
        for s in &built.subjects {
            let processors: Vec<String> = s
                .report
                .processors
                .iter()
                .map(|p| format!("{}: {}", p.name, p.summary))
                .collect();
            println!(
                "  line {:>4}  {}  {:<20} {}",
                s.line,
                &s.report.request.id[..8],
                s.report.request.status.replace('_', " "),
                processors.join("; ")
            );
        }
        if let Some(plan) = &built.plan_awaiting_approval {
            println!(
                "\nPlan awaiting approval: digest {} ({} request(s), {} record(s), {} deletion(s) or \
                 anonymisation(s)). Nothing was changed. Review the report, then approve the whole batch:\n  \
                 dsrhub erase --batch {batch} --yes --plan {}",
                plan.digest,
                plan.requests,
                plan.records,
                plan.changes,
                &plan.digest[..16]
            );
        }
        println!(
            "\nreport: {}\n        {}",
            html_path.display(),
            json_path.display()
        );
    }
    result?;
    let incomplete = built.subjects.iter().any(|s| {
        matches!(
            s.report.request.status.as_str(),
            "partially_completed" | "failed"
        )
    });
    Ok(if incomplete { EXIT_INCOMPLETE } else { 0 })
}

/// `dsrhub hold …`: legal holds.
fn hold(cli: &Cli, action: &HoldAction) -> Result<u8> {
    let (_, ledger) = open_ledger(cli)?;
    match action {
        HoldAction::Add { address, reason } => {
            ledger.add_hold(address, reason, &operator())?;
            println!(
                "{} is on hold: no erasure erases its records (the sweep leaves it out; its own request keeps them)",
                crate::identifiers::mask_email(address.trim())
            );
        }
        HoldAction::Remove { address } => {
            ledger.remove_hold(address, &operator())?;
            println!(
                "the hold on {} is lifted",
                crate::identifiers::mask_email(address.trim())
            );
        }
        HoldAction::List => {
            let holds = ledger.holds()?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&holds).expect("json"));
            } else if holds.is_empty() {
                println!("no holds");
            } else {
                for h in holds {
                    println!(
                        "{:<28} since {} by {}: {}",
                        h.hint,
                        h.added_at.strftime("%Y-%m-%d"),
                        h.added_by,
                        h.reason
                    );
                }
            }
        }
    }
    Ok(0)
}

/// `dsrhub sweep [--list]`: the retention rules; a batch to approve.
async fn sweep(cli: &Cli, list: bool) -> Result<u8> {
    let Loaded { config, hub } = load(cli)?;
    let rules = &config.sweep;
    if !rules.contract_ended.enabled && !rules.retained_expired.enabled && !rules.applicants.enabled
    {
        println!("no sweep rule is enabled ([sweep] in the config)");
        return Ok(0);
    }
    let found = hub.sweep(rules).await?;
    if cli.json && list {
        println!("{}", serde_json::to_string_pretty(&found).expect("json"));
    }
    if !cli.json {
        show_sweep(&found, list);
    }
    if list {
        return Ok(0);
    }
    let Some(batch) = hub.open_sweep(&found)? else {
        if !cli.json {
            println!("nothing to sweep");
        }
        return Ok(0);
    };
    let options = RunOptions::default();
    let result = hub.run_batch(&batch, &options, &config.reports_dir()).await;
    show_batch(cli, &hub, &config, &batch, result.map(drop))
}

/// What each sweep rule selected and left out; with `list`, each selection.
fn show_sweep(found: &crate::orchestrator::sweep::Sweep, list: bool) {
    use crate::orchestrator::sweep::{APPLICANTS, CONTRACT_ENDED, RETAINED_EXPIRED};
    if let Some(rule) = &found.contract_ended {
        println!(
            "{CONTRACT_ENDED}: {} selected (agreement ended before {}); left out: {} on hold, {} under a restriction, {} with a request still open, {} with an agreement still running elsewhere",
            rule.selected.len(),
            rule.ended_before.map(|d| d.to_string()).unwrap_or_default(),
            rule.held,
            rule.restricted,
            rule.open_request,
            rule.ongoing_elsewhere
        );
        for (processor, why) in &rule.no_signal {
            println!("  {processor}: {why}");
        }
        if list {
            for s in &rule.selected {
                let because: Vec<String> = s
                    .because
                    .iter()
                    .map(|(p, why)| format!("{p}: {why}"))
                    .collect();
                println!("  {:<32} {}", s.masked.join(", "), because.join("; "));
            }
        }
    }
    if let Some(rule) = &found.retained_expired {
        let records: usize = rule.requests.iter().map(|k| k.records.len()).sum();
        println!(
            "{RETAINED_EXPIRED}: {records} record(s) kept by {} earlier request(s), retention ended before {}; left out: {} request(s) on hold, {} under a restriction, {} with a request still open",
            rule.requests.len(),
            rule.today.map(|d| d.to_string()).unwrap_or_default(),
            rule.held,
            rule.restricted,
            rule.open_request
        );
        if !rule.hold_unknown.is_empty() {
            println!(
                "  {} earlier request(s) closed before dsrhub kept hold keys, and legal holds exist: check them by hand ({})",
                rule.hold_unknown.len(),
                rule.hold_unknown.join(", ")
            );
        }
        for (processor, n) in &rule.no_processor {
            println!("  {processor}: {n} record(s), but the processor is no longer configured: check them by hand");
        }
        if list {
            for kept in &rule.requests {
                for r in &kept.records {
                    println!(
                        "  request {}  {:<14} {}:{}  kept until {} ({})",
                        kept.request,
                        r.processor,
                        r.reference.object,
                        r.reference.id,
                        r.retain_until,
                        r.basis.as_deref().unwrap_or("no basis recorded")
                    );
                }
            }
        }
    }
    if let Some(rule) = &found.applicants {
        println!(
            "{APPLICANTS}: {} selected (procedure ended before {}); left out: {} on hold, {} under a restriction, {} with a request still open",
            rule.selected.len(),
            rule.ended_before.map(|d| d.to_string()).unwrap_or_default(),
            rule.held,
            rule.restricted,
            rule.open_request
        );
        for (place, why) in &rule.unread {
            println!("  {place}: {why}");
        }
        if list {
            for a in &rule.selected {
                let masked = if a.masked.is_empty() {
                    "(no address)".to_string()
                } else {
                    a.masked.join(", ")
                };
                println!(
                    "  {masked:<32} {}: {} record(s), unchanged since {}",
                    a.place,
                    a.records.len(),
                    a.last_activity
                );
            }
        }
    }
}

/// After an erasure run: what was done before, what waits for approval, and whether the plan
/// is incomplete because a processor could not be searched (then `true`: exit non-zero).
fn explain_erasure(hub: &Hub, id: &str, executed: bool) -> Result<bool> {
    let ledger = hub.ledger();
    let plan = ledger.plan_digest(id)?;
    let undiscovered: Vec<String> = ledger
        .tasks(id)?
        .into_iter()
        .filter(|t| t.stage == crate::ledger::Stage::New)
        .map(|t| t.processor)
        .collect();
    println!();
    if !executed {
        match ledger.acted_at(id)? {
            None => println!("Dry run: nothing was changed."),
            Some(at) => println!(
                "Dry run: this run changed nothing, but actions of this request were carried out \
                 earlier (the first at {at}); the report above shows what was done and what is left."
            ),
        }
    }
    if !undiscovered.is_empty() {
        println!(
            "The plan is incomplete: {} could not be searched; a later run plans them, and their \
             plan waits for its own approval.",
            undiscovered.join(", ")
        );
    }
    if !plan.is_empty() {
        let when = if executed {
            "Planned after the approval, waiting for its own"
        } else {
            "Waiting for approval"
        };
        println!(
            "{when}: {} ({} record(s), {} deletion(s) or anonymisation(s)), plan digest {}.\n\
             Review it above, then carry it out with\n  dsrhub erase --request {id} --yes --plan {}",
            plan.processors.join(", "),
            plan.records,
            plan.changes,
            plan.digest,
            &plan.digest[..16]
        );
    }
    Ok(!undiscovered.is_empty())
}

/// `--request` of a closed request: say what it is, change nothing.
fn closed_request(
    cli: &Cli,
    hub: &Hub,
    config: &Config,
    request: &crate::ledger::RequestRow,
) -> Result<u8> {
    let id = &request.id;
    let when = request
        .closed_at
        .map(|t| t.to_string())
        .unwrap_or_else(|| "an unrecorded date".into());
    match request.status {
        RequestStatus::Cancelled => Err(Error::Usage(format!(
            "request {id} was cancelled on {when}; nothing done"
        ))),
        status => {
            if cli.json {
                let built = hub.report(id)?;
                println!("{}", serde_json::to_string_pretty(&built).expect("json"));
            } else {
                println!(
                    "request {id} is {status} since {when}: it was carried out then; nothing done now"
                );
                println!(
                    "report: {}",
                    config
                        .reports_dir()
                        .join(id)
                        .join(format!("{}-report.html", request.kind))
                        .display()
                );
            }
            Ok(0)
        }
    }
}

fn deselect(hub: &Hub, id: &str, spec: &str) -> Result<()> {
    let parsed = spec.split_once(':').and_then(|(processor, record)| {
        Some((processor, crate::orchestrator::parse_record(record)?))
    });
    let Some((processor, wanted)) = parsed else {
        return Err(Error::Usage(format!(
            "--exclude `{spec}`: expected PROCESSOR:OBJECT:ID"
        )));
    };
    let items = hub.ledger().items(id, Some(processor))?;
    let reference = items
        .iter()
        .find(|i| crate::orchestrator::names_record(&wanted, i))
        .map(|i| i.reference.clone())
        .ok_or_else(|| {
            Error::Usage(format!(
                "--exclude `{spec}`: no such planned record in request {id}"
            ))
        })?;
    if !hub.ledger().deselect(id, processor, &reference)? {
        return Err(Error::Usage(format!(
            "--exclude `{spec}`: the record has already been acted on"
        )));
    }
    Ok(())
}

/// Which requests `dsrhub status` lists.
#[derive(Debug, Clone, Copy, Default)]
struct StatusFilter {
    open: bool,
    overdue: bool,
    needs_action: bool,
}

fn status(cli: &Cli, id: Option<&str>, filter: StatusFilter) -> Result<u8> {
    let (config, ledger) = open_ledger(cli)?;
    if let Some(id) = id {
        let built = report::build(&ledger, id, &config.hub.organisation)?
            .with_timezone(&config.hub.timezone);
        if cli.json {
            println!("{}", serde_json::to_string_pretty(&built).expect("json"));
        } else {
            print_report(&built);
        }
        return Ok(0);
    }
    let hub = Hub::new(Arc::new(ledger), Vec::new(), &config);
    let now = jiff::Timestamp::now();
    let rows: Vec<_> = hub
        .work_list(now)?
        .into_iter()
        .filter(|l| {
            (!filter.open || l.open())
                && (!filter.overdue || l.overdue(now))
                && (!filter.needs_action || !l.needs.is_empty())
        })
        .collect();
    if cli.json {
        let rows: Vec<_> = rows
            .iter()
            .map(|l| {
                let r = &l.request;
                serde_json::json!({
                    "id": r.id, "type": r.kind.as_str(), "status": r.status.as_str(),
                    "received_at": r.received_at.to_string(), "due_at": l.due.to_string(),
                    "days_left": l.days_left(now),
                    "needs": l.needs,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows).expect("json"));
    } else {
        print_requests(hub.ledger(), &rows);
    }
    Ok(0)
}

#[allow(clippy::too_many_arguments)]
fn confirm_record(
    cli: &Cli,
    id: &str,
    processor: &str,
    record: &str,
    outcome: CliOutcome,
    evidence: Option<&Path>,
    note: Option<&str>,
    by: &str,
) -> Result<u8> {
    use crate::orchestrator::ManualOutcome;
    let outcome = match outcome {
        CliOutcome::Deleted => ManualOutcome::Deleted,
        CliOutcome::Anonymized => ManualOutcome::Anonymized,
        CliOutcome::Kept | CliOutcome::Retained => ManualOutcome::Kept,
        CliOutcome::Changed => ManualOutcome::Changed,
        CliOutcome::NotFound | CliOutcome::Exported => {
            return Err(Error::Usage(
                "--outcome: with --record, say deleted, anonymized, changed or kept".into(),
            ))
        }
    };
    let evidence = evidence.ok_or_else(|| {
        Error::Usage("--evidence: a manual action needs evidence (a screenshot, the processor's confirmation)".into())
    })?;
    let (config, ledger) = open_ledger(cli)?;
    let hub = Hub::new(Arc::new(ledger), Vec::new(), &config).with_operator(&operator());
    let status = hub.confirm_record(id, processor, record, outcome, evidence, note, by)?;
    let built = hub.report(id)?;
    let (json_path, html_path) = report::write(&built, &config.reports_dir().join(id))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&built).expect("json"));
    } else {
        println!(
            "recorded the manual action on {processor} {record}; request {id} is now {status}"
        );
        println!("report: {}", html_path.display());
        println!("        {}", json_path.display());
    }
    Ok(0)
}

fn confirm(
    cli: &Cli,
    id: &str,
    processor: &str,
    outcome: CliOutcome,
    evidence: Option<&Path>,
    note: Option<&str>,
) -> Result<u8> {
    use crate::orchestrator::Answer;
    let outcome = match outcome {
        CliOutcome::Deleted => Answer::Deleted,
        CliOutcome::Retained | CliOutcome::Kept => Answer::Retained,
        CliOutcome::NotFound => Answer::NotFound,
        CliOutcome::Exported => Answer::Exported,
        CliOutcome::Changed => Answer::Changed,
        CliOutcome::Anonymized => {
            return Err(Error::Usage(
                "--outcome anonymized is for one record (--record OBJECT:ID)".into(),
            ))
        }
    };
    let Loaded { config, hub } = load(cli)?;
    let status = hub.confirm(id, processor, outcome, evidence, note)?;
    let built = hub.report(id)?;
    let (json_path, html_path) = report::write(&built, &config.reports_dir().join(id))?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&built).expect("json"));
    } else {
        println!("recorded {processor}'s answer; request {id} is now {status}");
        println!("report: {}", html_path.display());
        println!("        {}", json_path.display());
    }
    Ok(0)
}

async fn purges(cli: &Cli, check: bool) -> Result<u8> {
    let today = jiff::ZonedDateTime::now().date();
    let checks = if check {
        let Loaded { hub, .. } = load_quiet(cli)?;
        Some(hub.check_purges(today).await?)
    } else {
        None
    };
    let (_, ledger) = open_ledger(cli)?;
    let due = ledger.soft_deletions_due(today)?;
    if cli.json {
        println!(
            "{}",
            serde_json::json!({ "checked": checks, "not_confirmed_past_their_date": due })
        );
    } else {
        if let Some(c) = &checks {
            println!(
                "checked: {} purged, {} still restorable after their date, {} not checked now",
                c.purged, c.still_restorable, c.unchecked
            );
        }
        if due.is_empty() {
            println!("no soft deletion past its date waits for a confirmed purge");
        }
        for d in &due {
            let checked = d.checked_at.map_or("never checked".to_string(), |at| {
                format!("last checked {at}")
            });
            println!(
                "  request {}  {}  {}  restorable until {}  ({checked})",
                d.request_id, d.processor, d.reference, d.restorable_until
            );
        }
    }
    // Still restorable past its date: a person must follow up with the processor.
    Ok(if checks.is_some_and(|c| c.still_restorable > 0) {
        EXIT_INCOMPLETE
    } else {
        0
    })
}

fn cancel(cli: &Cli, id: &str, reason: &str) -> Result<u8> {
    // Only the ledger changes: no processor (nor its secrets) is needed to withdraw a request.
    let (config, ledger) = open_ledger(cli)?;
    let hub = Hub::new(Arc::new(ledger), Vec::new(), &config).with_operator(&operator());
    let request = hub.cancel(id, reason)?;
    if cli.json {
        println!(
            "{}",
            serde_json::json!({ "id": request.id, "status": request.status.as_str() })
        );
    } else {
        println!(
            "request {id} cancelled; the subject's identifiers are purged from the ledger \
             (a running `dsrhub serve` tells the submitter's status callbacks)"
        );
    }
    Ok(0)
}

fn extend(cli: &Cli, id: &str, months: u32, reason: &str, by: &str) -> Result<u8> {
    let (config, ledger) = open_ledger(cli)?;
    let hub = Hub::new(Arc::new(ledger), Vec::new(), &config).with_operator(&operator());
    let before = hub.ledger().request(id)?;
    let until = hub.extend(id, months, reason, by)?;
    if cli.json {
        println!(
            "{}",
            serde_json::json!({ "id": id, "extended_due_at": until.to_string() })
        );
    } else {
        println!(
            "request {id}: answer now due {until} (was {})",
            before.extended_due_at.unwrap_or(before.due_at)
        );
        println!("tell the requester within the original month, with the reason (GDPR art. 12(3))");
    }
    Ok(0)
}

/// Who runs this command, for approvals and extensions: `$USER` (or `$LOGNAME`).
fn operator() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "unknown operator".into())
}

fn report_cmd(cli: &Cli, id: &str, out: Option<&Path>) -> Result<u8> {
    let (config, ledger) = open_ledger(cli)?;
    let built =
        report::build(&ledger, id, &config.hub.organisation)?.with_timezone(&config.hub.timezone);
    let dir: PathBuf = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| config.reports_dir().join(id));
    let (json_path, html_path) = report::write(&built, &dir)?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&built).expect("json"));
    } else {
        println!("wrote {} and {}", json_path.display(), html_path.display());
    }
    Ok(0)
}
