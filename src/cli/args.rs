//! Command-line arguments as plain data (clap derive). The audit's validation into a request is
//! `cli::validate` (src/cli/mod.rs); the other commands check their arguments where they run.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::Severity;

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
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 ok; 1 findings at or above --fail-on; 2 usage; 3 bad input file or \
snapshot; 4 no credentials or access denied; 5 cloud API unreachable or failing; 6 output file exists or cannot \
be written; 7 plan refused (it would lock the customer out); 8 migration incomplete (conflicts or secrets missing \
at the source); 9 verification failed (a claim of the manifest does not hold); 10 untrusted (the manifest cannot be \
opened or trusted: wrong identity, altered or truncated file, bad signature).";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inventory every principal, credential and secret of AWS accounts and GCP projects (live or from a snapshot).
    Audit(AuditArgs),
    /// Turn an inventory into an ordered plan: rotate, transfer, revoke, retain-until or review.
    Plan(PlanArgs),
    /// Check a policy file, or explain how it judges one credential or secret.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Copy application secrets into the customer's secret manager (dry run unless --apply).
    Migrate(MigrateArgs),
    /// Write the age-encrypted, signed handover manifest for the customer; `manifest show` reads one.
    Manifest(ManifestArgs),
    /// Check a manifest's claims against the live accounts and projects (changes nothing).
    Verify(VerifyArgs),
    /// Write a commented handover config from an inventory, proposing the parties it can infer.
    Init(InitArgs),
    /// Print the JSON Schema of an output format.
    Schema {
        #[arg(value_enum)]
        name: SchemaName,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaName {
    Inventory,
    Plan,
    Manifest,
    Verification,
    Journal,
    JournalHead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The inventory JSON written by `handover audit -o`.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// The policy (policies/full-transfer.yaml, policies/agency-operated.yaml, or your own).
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The handover config (TOML).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Output on stdout: `table` (default on a terminal), `json` or `markdown`.
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,
    /// Write the plan JSON to this file (atomically, mode 0600).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the Markdown plan to this file.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Overwrite output files.
    #[arg(long)]
    pub force: bool,
    /// Show what changed since this earlier plan JSON.
    #[arg(long, value_name = "OLD.json")]
    pub diff: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check policy files: YAML shape, CEL, unknown fields, type errors, rules that never match.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Show which rules match a credential or secret, and why.
    Explain {
        #[arg(long, value_name = "FILE")]
        inventory: PathBuf,
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// A credential or secret id from the inventory (or its unique ending), or a step id.
        #[arg(long, value_name = "ID")]
        target: String,
        /// Also print the context the conditions see.
        #[arg(long)]
        context: bool,
    },
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Where the secrets are: aws:[PROFILE@]REGION, gcp:PROJECT or dotenv:PATH.
    #[arg(long, value_name = "SOURCE")]
    pub from: String,
    /// The customer's secret manager: aws:[PROFILE@]REGION or gcp:PROJECT.
    #[arg(long, value_name = "DEST")]
    pub to: String,
    /// Copy the secrets this plan marks transfer or rotate (those marked rotate are flagged
    /// "rotate after cutover").
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Copy this secret (repeatable); `SOURCE=DEST` names it at the destination.
    #[arg(long = "secret", value_name = "NAME[=DEST]")]
    pub secrets: Vec<String>,
    /// Copy every secret of the source.
    #[arg(long)]
    pub all: bool,
    /// What to do when the destination holds a different value: report it (default),
    /// or add a new version.
    #[arg(long, value_enum, default_value = "report")]
    pub on_conflict: OnConflict,
    /// Copy every enabled version (oldest first) instead of only the current one.
    #[arg(long)]
    pub all_versions: bool,
    /// Write. Without it, nothing is written: the run reports what it would do.
    #[arg(long)]
    pub apply: bool,
    /// The journal (append-only, hash-chained, no values) of an applied run. Its digest
    /// key is kept beside it, age-encrypted, as FILE.key.age.
    #[arg(long, value_name = "FILE", default_value = "handover-journal.jsonl")]
    pub journal: PathBuf,
    /// The handover config: a new digest key is encrypted to its [recipients] and the
    /// agency's signing_key. Needed with --apply.
    #[arg(long, env = "HANDOVER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The agency's SSH private key (the signing_key's private half): opens the digest
    /// key. Needed with --apply.
    #[arg(
        short = 'i',
        long = "identity",
        env = "HANDOVER_IDENTITY",
        value_name = "FILE"
    )]
    pub identity: Option<PathBuf>,
    /// Send GCP calls to this base URL with anonymous credentials (an emulator).
    #[arg(long, env = "HANDOVER_GCP_ENDPOINT", value_name = "URL")]
    pub gcp_endpoint: Option<String>,
    /// Output on stdout: `table` (default on a terminal) or `json`.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Attempts per API request before giving up.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_attempts: u32,
    /// Most secrets copied at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnConflict {
    Report,
    NewVersion,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The inventory JSON to infer parties from.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// Where to write the config (default: stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Audit the AWS account of the standard credential chain (environment, profile, SSO).
    /// Honours AWS_ENDPOINT_URL and a profile's endpoint_url.
    #[arg(long)]
    pub aws: bool,
    /// The named profile to use (else AWS_PROFILE or the default chain).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// A region whose secrets to read; repeat for several. Default: the profile's region.
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
    /// A GCP project to audit with application default credentials; repeat for several.
    #[arg(long = "gcp-project", value_name = "ID")]
    pub gcp_project: Vec<String>,
    /// Send every GCP call to this base URL with anonymous credentials (an emulator).
    #[arg(long, env = "HANDOVER_GCP_ENDPOINT", value_name = "URL")]
    pub gcp_endpoint: Option<String>,
    /// Build the inventory from aws CLI / gcloud exports in this folder instead of (or besides) live APIs.
    #[arg(long, value_name = "DIR")]
    pub snapshot: Option<PathBuf>,
    /// Output on stdout: `table` (default on a terminal) or `json`.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the inventory JSON to this file (atomically, mode 0600).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Exit with code 1 when a finding has this severity or higher.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Most API requests in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Attempts per API request before giving up (adaptive retry backs off on throttling).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_attempts: u32,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ManifestArgs {
    #[command(subcommand)]
    pub command: Option<ManifestCommand>,
    #[command(flatten)]
    pub write: ManifestWriteArgs,
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Decrypt a manifest and print a readable summary (secret material hidden unless --reveal).
    Show(ManifestShowArgs),
}

#[derive(Debug, Args)]
pub struct ManifestWriteArgs {
    /// The handover config: parties, dates, recipients, documentation, the agency's signing_key.
    #[arg(long, env = "HANDOVER_CONFIG", value_name = "FILE", required = true)]
    pub config: Option<PathBuf>,
    /// The plan JSON written by `handover plan -o`.
    #[arg(long, value_name = "FILE", required = true)]
    pub plan: Option<PathBuf>,
    /// The inventory the plan was made from (for its coverage gaps).
    #[arg(long, value_name = "FILE", required = true)]
    pub inventory: Option<PathBuf>,
    /// A migration journal (repeatable); its digest key is read from FILE.key.age.
    #[arg(long = "journal", value_name = "FILE")]
    pub journals: Vec<PathBuf>,
    /// The agency's SSH private key: signs the manifest and opens the journals' digest keys.
    #[arg(
        long = "sign-key",
        env = "HANDOVER_IDENTITY",
        value_name = "FILE",
        required = true
    )]
    pub sign_key: Option<PathBuf>,
    /// Encrypt to this recipient (age1... or ssh-ed25519/ssh-rsa); repeatable. Default: the config's.
    #[arg(short = 'r', long = "recipient", value_name = "KEY")]
    pub recipients: Vec<String>,
    /// Encrypt to every recipient in this file (age recipients-file format); repeatable.
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
    /// Credential material issued to the customer, from a file (repeatable): NAME=FILE.
    #[arg(long = "credential", value_name = "NAME=FILE")]
    pub credentials: Vec<String>,
    /// ASCII armor (PEM-style) instead of binary.
    #[arg(short, long)]
    pub armor: bool,
    /// Where to write the manifest (default: stdout; binary output is refused to a terminal).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where to write the signature (default: OUTPUT.sig; needed when writing to stdout).
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// Overwrite the output and signature files.
    #[arg(long)]
    pub force: bool,
}

/// Opening a manifest: the file, the customer's identities, and who must have signed it.
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

#[derive(Debug, Args)]
pub struct ManifestShowArgs {
    #[command(flatten)]
    pub open: OpenArgs,
    /// Also print secret material (digest keys, new credentials).
    #[arg(long)]
    pub reveal: bool,
    /// `table` (a readable summary, the default) or `json` (the document).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub open: OpenArgs,
    /// An AWS profile with the customer's credentials (repeatable: one per account). Default: the standard chain.
    #[arg(long = "profile", value_name = "NAME")]
    pub profiles: Vec<String>,
    /// Send GCP calls to this base URL with anonymous credentials (an emulator).
    #[arg(long, env = "HANDOVER_GCP_ENDPOINT", value_name = "URL")]
    pub gcp_endpoint: Option<String>,
    /// The folder the documentation was handed over in (paths as in the manifest).
    #[arg(long, value_name = "DIR")]
    pub docs: Option<PathBuf>,
    /// Output on stdout: `table` (default on a terminal) or `json`.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Attempts per API request before giving up.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_attempts: u32,
    /// Most API requests in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}
