//! Command-line arguments as plain data (clap derive): the top-level `Cli` and `Command`,
//! and the flag groups several commands share, each declared once and flattened where it
//! is used. Each command's own flags live in its file (`audit_cmd.rs`, `plan_cmd.rs`, ...)
//! with a `validate()` that turns them into a typed request, collecting every problem at
//! once; nothing here reads a file or the network.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::apply_cmd::ApplyArgs;
use super::audit_cmd::AuditArgs;
use super::completions_cmd::{CompletionsArgs, ManArgs};
use super::init_cmd::InitArgs;
use super::manifest_cmd::ManifestArgs;
use super::migrate_cmd::MigrateArgs;
use super::plan_cmd::PlanArgs;
use super::policy_cmd::PolicyCommand;
use super::report_cmd::ReportArgs;
use super::schema_cmd::SchemaName;
use super::verify_cmd::VerifyArgs;

/// Audit, plan and prove the handover of cloud credentials from an agency to its customer.
#[derive(Debug, Parser)]
#[command(name = "handover", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr; no progress bar.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Colour severity and status words: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        value_name = "WHEN",
        hide_possible_values = true,
        hide_default_value = true
    )]
    pub color: crate::output::terminal::ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 ok; 1 findings at or above --fail-on; 2 usage; 3 bad input file or \
snapshot; 4 no credentials or access denied; 5 cloud API unreachable or failing; 6 output file exists or cannot \
be written; 7 plan refused (it would lock the customer out); 8 migration incomplete (conflicts or secrets missing \
at the source); 9 verification failed (a claim of the manifest does not hold); 10 untrusted (the manifest cannot be \
opened or trusted: wrong identity, altered or truncated file, bad signature); 11 a local cryptographic operation \
failed (encryption, signing, the random source); 12 verification incomplete (an account or project could not be \
read, so its claims are unchecked).";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inventory every principal, credential and secret of AWS accounts and GCP projects (live or from a snapshot).
    Audit(AuditArgs),
    /// Turn an inventory into an ordered plan: rotate, transfer, revoke, retain-until or review.
    Plan(PlanArgs),
    /// List, show or check policies (shipped ones by name), or explain how one judges a credential or secret.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Copy application secrets into the customer's secret manager (dry run unless --apply).
    Migrate(MigrateArgs),
    /// Carry out an approved plan's revocations (dry run unless --apply --approve DIGEST).
    Apply(ApplyArgs),
    /// Write the age-encrypted, signed handover manifest for the customer; `manifest show` reads one.
    Manifest(ManifestArgs),
    /// Check a manifest's claims against the live accounts and projects (changes nothing).
    Verify(VerifyArgs),
    /// Write the handover report an auditor signs off (HTML, Markdown or JSON) from the inventory and whatever else is given.
    Report(ReportArgs),
    /// Write a commented handover config from an inventory, proposing the parties it can infer.
    Init(InitArgs),
    /// Check the handed-over documents (SLO, playbooks, postmortems) and scan them for credentials; or write their templates.
    Docs {
        #[command(subcommand)]
        command: super::docs_cmd::DocsCommand,
    },
    /// Print the JSON Schema of an output format.
    Schema {
        #[arg(value_enum)]
        name: SchemaName,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the manual page, or write every command's page into a folder.
    Man(ManArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// `--format` of the commands that print a table or JSON (audit, migrate, verify).
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Output on stdout: `table` (default on a terminal) or `json`.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

impl FormatArgs {
    /// The format asked for, else a table on a terminal and JSON otherwise.
    pub fn resolve(&self) -> Format {
        self.format
            .unwrap_or_else(|| super::support::by_terminal(Format::Table, Format::Json))
    }
}

/// `--gcp-endpoint` of the commands that call GCP (audit, migrate, verify).
#[derive(Debug, Args)]
pub struct GcpEndpointArgs {
    /// Send every GCP call to this base URL with anonymous credentials (an emulator).
    #[arg(long, env = "HANDOVER_GCP_ENDPOINT", value_name = "URL")]
    pub gcp_endpoint: Option<String>,
}

/// `--max-attempts` of the commands that call a cloud (audit, migrate, verify).
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Attempts per API request before giving up (adaptive retry backs off on throttling).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_attempts: u32,
}

/// `--concurrency` of the commands that read a cloud (audit, verify).
#[derive(Debug, Args)]
pub struct ConcurrencyArgs {
    /// Most API requests in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

/// The bounds of `--concurrency`, one rule for every command that has it.
pub fn check_concurrency(concurrency: usize, problems: &mut Vec<String>) {
    if concurrency == 0 || concurrency > 64 {
        problems.push(format!("--concurrency must be 1 to 64, not {concurrency}"));
    }
}

/// Opening a manifest: the file, the customer's identities, and who must have signed it
/// (`manifest show` and `verify`).
/// The journal of a command that writes (`migrate --apply`, `apply`), and the keys that
/// open its digest key.
#[derive(Debug, Args)]
pub struct JournalArgs {
    /// The journal (append-only, hash-chained, no values) of an applied run. Its digest
    /// key is kept beside it, age-encrypted, as FILE.key.age.
    #[arg(
        long = "journal",
        value_name = "FILE",
        default_value = "handover-journal.jsonl"
    )]
    pub file: PathBuf,
    /// The handover config: a new digest key is encrypted to its [recipients] and the
    /// agency's signing_key. Needed with --apply (and `apply --undo`).
    #[arg(long, env = "HANDOVER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The agency's SSH private key (the signing_key's private half): opens the digest
    /// key. Needed with --apply (and `apply --undo`).
    #[arg(
        short = 'i',
        long = "identity",
        env = "HANDOVER_IDENTITY",
        value_name = "FILE"
    )]
    pub identity: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The encrypted manifest.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// An age identity file or SSH private key of one of the recipients (repeatable).
    #[arg(
        short = 'i',
        long = "identity",
        value_name = "IDENTITY",
        required = true
    )]
    pub identities: Vec<PathBuf>,
    /// Check the signature in this file (default: FILE.sig when it exists).
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// The agency's SSH public key (a key or a .pub file); default: --config's [agency] signing_key.
    #[arg(long, value_name = "KEY|FILE")]
    pub signer: Option<String>,
    /// The handover config naming the agency's signing_key.
    #[arg(long, env = "HANDOVER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Problems collected by a `validate()`, as one usage error naming the command's help.
pub fn usage_problems(problems: Vec<String>, command: &str) -> Result<(), crate::error::Error> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(crate::error::Error::usage(
        problems.join("; "),
        format!("see `handover {command} --help`"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own consistency checks over every command: a flag declared twice (a shared
    /// group flattened beside a field of the same name), a conflict naming no flag, ...
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn concurrency_bounds_are_one_to_sixty_four() {
        let mut p = Vec::new();
        for n in [1, 8, 64] {
            check_concurrency(n, &mut p);
        }
        assert!(p.is_empty(), "{p:?}");
        check_concurrency(0, &mut p);
        check_concurrency(65, &mut p);
        assert_eq!(p.len(), 2, "{p:?}");
    }
}
