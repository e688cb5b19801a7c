//! The command line: argument parsing (plain clap data), validation into a request,
//! running it, and mapping the outcome to an exit code.

pub mod args;
pub mod exit;
mod manifest_cmd;
mod plan_cmd;
mod verify_cmd;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::audit::{self, AuditRequest, Progress};
use crate::error::Error;
use crate::model::Inventory;
use crate::providers::aws::live::LiveSettings;
use crate::providers::gcp::live::GcpSettings;
use args::{AuditArgs, Cli, Command, Format, SchemaName};

/// Entry point for the binary.
pub fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    init_logging(cli.verbose, cli.quiet);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors quote input (names, paths, fields of a forged file): escaped for the terminal.
            // Line breaks are kept (a policy or config lists one problem per line);
            // every other control character is shown escaped.
            use crate::output::terminal::{escape, escape_block};
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {}", escape_block(&e.to_string()));
            let _ = writeln!(err, "  hint: {}", escape(e.hint()));
            ExitCode::from(exit::code_for(&e))
        }
    }
}

/// A panic message may quote data; print only where it happened.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error at {at}; please report it (see SECURITY.md)");
    }));
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    // At the default level the SDK's own warnings (each failing credential provider of
    // the chain) are noise: the error we print says what failed.
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn,aws_config=error,aws_smithy_runtime=error",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Runs a parsed command; returns the exit code for a run that completed.
pub fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Audit(a) => audit_command(a, cli.quiet),
        Command::Plan(a) => plan_cmd::plan_command(a, cli.quiet),
        Command::Policy { command } => plan_cmd::policy_command(command),
        Command::Init(a) => plan_cmd::init_command(a),
        Command::Migrate(a) => migrate_command(a, cli.quiet),
        Command::Manifest(a) => manifest_cmd::manifest_command(a),
        Command::Verify(a) => verify_cmd::verify_command(a, cli.quiet),
        Command::Schema { name } => {
            let schema = match name {
                SchemaName::Inventory => schemars::schema_for!(Inventory),
                SchemaName::Plan => schemars::schema_for!(crate::plan::Plan),
                SchemaName::Manifest => schemars::schema_for!(crate::manifest::Manifest),
                SchemaName::Verification => schemars::schema_for!(crate::verify::Verification),
                SchemaName::Journal => schemars::schema_for!(crate::journal::Entry),
                SchemaName::JournalHead => schemars::schema_for!(crate::journal::HeadFile),
            };
            print_stdout(
                &(serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n"),
            )?;
            Ok(exit::OK)
        }
    }
}

/// Validates audit flags into a request, collecting every problem at once.
fn validate(a: &AuditArgs) -> Result<AuditRequest, Error> {
    let mut problems = Vec::new();
    if !a.aws && a.snapshot.is_none() && a.gcp_project.is_empty() {
        problems.push(
            "nothing to audit: pass --aws, --gcp-project ID (live) or --snapshot DIR".to_string(),
        );
    }
    if a.gcp_endpoint.is_some() && a.gcp_project.is_empty() {
        problems.push("--gcp-endpoint applies to a live GCP audit: add --gcp-project".to_string());
    }
    if let Some(e) = &a.gcp_endpoint {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            problems.push(format!(
                "--gcp-endpoint must be an http:// or https:// URL, not {e:?}"
            ));
        }
    }
    for p in &a.gcp_project {
        let ok = (6..=30).contains(&p.len())
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && p.starts_with(|c: char| c.is_ascii_lowercase());
        if !ok {
            problems.push(format!(
                "{p:?} is not a GCP project id (6-30 lowercase letters, digits, hyphens)"
            ));
        }
    }
    if !a.aws && (a.profile.is_some() || !a.region.is_empty()) {
        problems.push("--profile and --region apply to a live audit: add --aws".to_string());
    }
    if a.max_attempts == 0 || a.max_attempts > 20 {
        problems.push(format!(
            "--max-attempts must be 1 to 20, not {}",
            a.max_attempts
        ));
    }
    if a.concurrency == 0 || a.concurrency > 64 {
        problems.push(format!(
            "--concurrency must be 1 to 64, not {}",
            a.concurrency
        ));
    }
    for r in &a.region {
        if r.is_empty()
            || !r
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            problems.push(format!("{r:?} is not an AWS region name (like eu-west-1)"));
        }
    }
    if !problems.is_empty() {
        return Err(Error::usage(
            problems.join("; "),
            "see `handover audit --help`",
        ));
    }
    Ok(AuditRequest {
        aws: a.aws.then(|| LiveSettings {
            profile: a.profile.clone(),
            regions: a.region.clone(),
            concurrency: a.concurrency,
            max_attempts: a.max_attempts,
            fresh: false,
        }),
        snapshot: a.snapshot.clone(),
        gcp_projects: a.gcp_project.clone(),
        gcp: GcpSettings {
            endpoint: a.gcp_endpoint.clone(),
            concurrency: a.concurrency,
            max_attempts: a.max_attempts,
        },
    })
}

fn audit_command(a: AuditArgs, quiet: bool) -> Result<u8, Error> {
    let req = validate(&a)?;
    // Refuse the output before spending an audit's requests on it.
    if let Some(path) = &a.output {
        crate::output::check_target(path, a.force)?;
    }
    let stdout_tty = std::io::stdout().is_terminal();
    let progress: Arc<dyn Progress> = if !quiet && !a.no_progress && std::io::stderr().is_terminal()
    {
        Arc::new(Bar::new())
    } else {
        Arc::new(NoProgress)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::usage(
                format!("cannot start the async runtime: {e}"),
                "check the process limits",
            )
        })?;
    let inventory = runtime.block_on(audit::run(&req, chrono::Utc::now(), progress.clone()))?;
    progress.phase("done", 0);
    let json = serde_json::to_string_pretty(&inventory).expect("inventory serializes") + "\n";
    if let Some(path) = &a.output {
        crate::output::write_private(path, json.as_bytes(), a.force)?;
    }
    let format = a.format.unwrap_or(if stdout_tty {
        Format::Table
    } else {
        Format::Json
    });
    match (format, &a.output) {
        (Format::Json, Some(_)) if a.format.is_none() => {
            if !quiet {
                eprintln!(
                    "wrote {}: {} principals, {} credentials, {} secrets, {} findings, {} gaps",
                    a.output
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    inventory.principals.len(),
                    inventory.credentials.len(),
                    inventory.secrets.len(),
                    inventory.findings.len(),
                    inventory.gaps.len()
                );
            }
        }
        (Format::Json, _) => print_stdout(&json)?,
        (Format::Table, _) => print_stdout(&audit::table::render(&inventory))?,
    }
    Ok(match a.fail_on {
        Some(level) if inventory.findings.iter().any(|f| f.severity >= level) => exit::FINDINGS,
        _ => exit::OK,
    })
}

fn migrate_command(a: args::MigrateArgs, quiet: bool) -> Result<u8, Error> {
    use crate::migrate::{self, Endpoint, Request};
    let mut problems = Vec::new();
    let from = Endpoint::parse(&a.from)
        .map_err(|e| problems.push(format!("--from {e}")))
        .ok();
    let to = Endpoint::parse(&a.to)
        .map_err(|e| problems.push(format!("--to {e}")))
        .ok();
    let selections =
        usize::from(a.plan.is_some()) + usize::from(!a.secrets.is_empty()) + usize::from(a.all);
    if a.concurrency == 0 || a.concurrency > 64 {
        problems.push(format!(
            "--concurrency must be 1 to 64, not {}",
            a.concurrency
        ));
    }
    if selections != 1 {
        problems.push("choose the secrets one way: --plan PLAN.json, --secret NAME[=DEST] (repeatable) or --all".into());
    }
    if a.apply && (a.config.is_none() || a.identity.is_none()) {
        problems.push("--apply needs --config handover.toml and -i AGENCY_SSH_KEY: the journal's digest key is encrypted to the config's recipients and the agency's signing key".into());
    }
    if !problems.is_empty() {
        return Err(Error::usage(
            problems.join("; "),
            "see `handover migrate --help`",
        ));
    }
    let keys = match (a.apply, &a.config, &a.identity) {
        (true, Some(c), Some(i)) => Some(key_access(c, i)?),
        _ => None,
    };
    let plan = match &a.plan {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| {
                Error::input(
                    p,
                    format!("cannot read: {e}"),
                    "pass a plan written by `handover plan -o`",
                )
            })?;
            let plan: crate::plan::Plan = serde_json::from_slice(&bytes).map_err(|e| {
                Error::input(
                    p,
                    format!("not a handover plan: {e}"),
                    "pass a plan written by `handover plan -o`",
                )
            })?;
            // The secrets copied are the ones the approved plan names.
            plan.check_digest(p)?;
            Some(plan)
        }
        None => None,
    };
    let req = Request {
        from: from.expect("checked"),
        to: to.expect("checked"),
        plan,
        secrets: a
            .secrets
            .iter()
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (s.clone(), None),
            })
            .collect(),
        all: a.all,
        new_version_on_conflict: a.on_conflict == args::OnConflict::NewVersion,
        apply: a.apply,
        journal: a.journal.clone(),
        gcp: GcpSettings {
            endpoint: a.gcp_endpoint.clone(),
            concurrency: a.concurrency,
            max_attempts: a.max_attempts,
        },
        max_attempts: a.max_attempts,
        concurrency: a.concurrency,
        all_versions: a.all_versions,
        keys,
    };
    let progress: Arc<dyn Progress> = if !quiet && std::io::stderr().is_terminal() {
        Arc::new(Bar::new())
    } else {
        Arc::new(NoProgress)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::usage(
                format!("cannot start the async runtime: {e}"),
                "check the process limits",
            )
        })?;
    let report = runtime.block_on(migrate::run(&req, progress))?;
    let format = a.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    match format {
        Format::Json => {
            print_stdout(&(serde_json::to_string_pretty(&report).expect("serializes") + "\n"))?
        }
        Format::Table => {
            use crate::output::terminal::escape;
            let mut o = format!(
                "{} {} -> {}\n",
                if report.applied {
                    "Migrated"
                } else {
                    "Dry run (nothing written; --apply writes)"
                },
                escape(&report.from.to_string()),
                escape(&report.to.to_string())
            );
            for i in &report.items {
                let outcome = serde_json::to_value(i.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                o.push_str(&format!(
                    "  {:<14} {} -> {}{}{}{}\n",
                    outcome,
                    escape(&i.source),
                    escape(&i.destination),
                    i.version
                        .as_ref()
                        .map(|v| format!(" (version {})", escape(v)))
                        .unwrap_or_default(),
                    if i.verified && report.applied {
                        ", verified"
                    } else {
                        ""
                    },
                    if i.rotate_after_cutover {
                        ", rotate after cutover"
                    } else {
                        ""
                    }
                ));
                // Why nothing was copied, and the hint (missing or empty at the source).
                if let Some(d) = &i.detail {
                    o.push_str(&format!("                 {d}\n"));
                }
            }
            print_stdout(&o)?;
        }
    }
    let incomplete = migrate::incomplete(&report);
    if !quiet && report.applied {
        eprintln!("journal: {}", a.journal.display());
    }
    Ok(if incomplete.is_empty() {
        exit::OK
    } else {
        exit::INCOMPLETE
    })
}

/// The agency's identity, checked against the config's signing key, and the recipients
/// a new digest key is sealed to (the customer's, and the agency's own key).
fn key_access(
    config: &std::path::Path,
    identity: &std::path::Path,
) -> Result<crate::migrate::KeyAccess, Error> {
    let cfg = crate::config::load(config)?;
    let (ids, signer) = agency_identity(&cfg, config, identity)?;
    let mut recipients = cfg.recipients(config)?;
    let own = signer.to_openssh().map_err(|_| {
        Error::input(
            config,
            "[agency] signing_key cannot be encoded",
            "use an ssh-ed25519 or ssh-rsa key",
        )
    })?;
    recipients.push(crate::crypto::parse_recipient(&own).map_err(|e| {
        Error::input(
            config,
            format!("[agency] signing_key: {e}"),
            "use an ssh-ed25519 or ssh-rsa key",
        )
    })?);
    Ok(crate::migrate::KeyAccess {
        identity: ids,
        recipients,
    })
}

/// The agency's identity (an SSH private key), checked to be the private half of the
/// config's `[agency] signing_key`: it signs the manifest and opens digest keys.
fn agency_identity(
    cfg: &crate::config::HandoverConfig,
    config: &std::path::Path,
    identity: &std::path::Path,
) -> Result<(crate::crypto::Identities, ssh_key::PublicKey), Error> {
    let Some(signer) = cfg.signer() else {
        return Err(Error::input(
            config,
            "[agency] has no signing_key",
            "add the agency's SSH public key as [agency] signing_key",
        ));
    };
    let ids = crate::crypto::read_identities(identity)?;
    match &ids.ssh {
        None => Err(Error::input(
            identity,
            "not an OpenSSH private key",
            "pass the agency's unencrypted OpenSSH private key (ssh-ed25519 or ssh-rsa)",
        )),
        Some(k) if k.public_key().key_data() != signer.key_data() => Err(Error::usage(
            format!(
                "{} is not the private half of [agency] signing_key ({})",
                identity.display(),
                crate::crypto::fingerprint(&signer)
            ),
            "pass the agency's SSH private key, the one the config names",
        )),
        Some(_) => Ok((ids, signer)),
    }
}

/// Prints to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn print_stdout(s: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::output(
            "<stdout>",
            format!("cannot write: {e}"),
            "check where the output goes",
        )),
    }
}

struct NoProgress;
impl Progress for NoProgress {
    fn phase(&self, _: &str, _: u64) {}
    fn tick(&self) {}
}

/// A progress bar on stderr, shown only on a terminal.
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg:24} [{bar:30}] {pos}/{len} {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Bar(bar)
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: u64) {
        if name == "done" {
            self.0.finish_and_clear();
            return;
        }
        self.0.set_message(name.to_string());
        self.0.set_length(total);
        self.0.set_position(0);
    }
    fn tick(&self) {
        self.0.inc(1);
    }
}
