//! `handover audit`: its flags, their validation into an `AuditRequest` (every problem
//! reported at once, before any request is sent), and printing or writing the inventory.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::args::{check_concurrency, usage_problems, ConcurrencyArgs, GcpEndpointArgs, RetryArgs};
use super::exit;
use super::support::{by_terminal, pretty_json, print_stdout, progress, runtime};
use crate::audit::{self, AuditRequest};
use crate::error::Error;
use crate::model::Severity;
use crate::providers::aws::live::LiveSettings;
use crate::providers::aws::org::OrgSettings;
use crate::providers::gcp::live::GcpSettings;

/// What `audit` prints on stdout: the shared table and JSON, and the findings as OCSF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    // The findings as OCSF 1.8.0 Detection Findings, one JSON array (`audit::ocsf`).
    Ocsf,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Audit the AWS account of the standard credential chain (environment, profile, SSO).
    /// Honours AWS_ENDPOINT_URL and a profile's endpoint_url.
    #[arg(long)]
    pub aws: bool,
    /// The named profile to use (else AWS_PROFILE or the default chain). Repeat it to
    /// audit several accounts, one per profile, into one inventory.
    #[arg(long, value_name = "NAME")]
    pub profile: Vec<String>,
    #[command(flatten)]
    pub org: OrgArgs,
    /// A region whose secrets to read; repeat for several. Default: the profile's region.
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
    /// A GCP project to audit with application default credentials; repeat for several.
    #[arg(long = "gcp-project", value_name = "ID")]
    pub gcp_project: Vec<String>,
    /// A GCP folder (its number) whose projects to audit, folders below folders, with the
    /// IAM policies of the folder, the folders below it and those above it; repeatable.
    #[arg(long = "gcp-folder", value_name = "ID")]
    pub gcp_folder: Vec<String>,
    /// A GCP organization (its number) whose projects and folders to audit, with their
    /// IAM policies; repeatable.
    #[arg(long = "gcp-organization", value_name = "ID")]
    pub gcp_organization: Vec<String>,
    #[command(flatten)]
    pub gcp: GcpEndpointArgs,
    /// Build the inventory from aws CLI / gcloud exports in this folder instead of (or besides) live APIs.
    #[arg(long, value_name = "DIR")]
    pub snapshot: Option<PathBuf>,
    /// Output on stdout: `table` (default on a terminal), `json`, or `ocsf` (the findings as
    /// OCSF 1.8.0 Detection Findings, one JSON array).
    #[arg(long, value_enum)]
    pub format: Option<AuditFormat>,
    /// Write the inventory JSON to this file (atomically, mode 0600).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Exit with code 1 when a finding has this severity or higher.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    #[command(flatten)]
    pub concurrency: ConcurrencyArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    pub no_progress: bool,
}

/// `--org` and how it chooses and enters accounts.
#[derive(Debug, Args)]
pub struct OrgArgs {
    /// Audit every account of the AWS Organization, listed from the management account
    /// or a delegated administrator (the credentials of --profile or the chain), entering
    /// each by assuming --assume-role. An account that cannot be entered is a coverage gap.
    #[arg(long)]
    pub org: bool,
    /// The role to assume in each member account (with --org).
    #[arg(long, value_name = "NAME", default_value = crate::providers::aws::org::DEFAULT_ROLE)]
    pub assume_role: String,
    /// The external id the role's trust policy requires (with --org).
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Only these account ids (with --org; comma-separated or repeated).
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Not these account ids (with --org; comma-separated or repeated).
    #[arg(long, value_name = "ID", value_delimiter = ',')]
    pub exclude_accounts: Vec<String>,
}

impl OrgArgs {
    /// Problems with the `--org` flags, given the profiles named.
    fn problems(&self, profiles: usize) -> Vec<String> {
        let mut problems = Vec::new();
        let set_without_org = self.external_id.is_some()
            || !self.accounts.is_empty()
            || !self.exclude_accounts.is_empty()
            || self.assume_role != crate::providers::aws::org::DEFAULT_ROLE;
        if !self.org && set_without_org {
            problems.push(
                "--assume-role, --external-id, --accounts and --exclude-accounts apply to --org: add --org"
                    .into(),
            );
        }
        if self.org && profiles > 1 {
            problems.push(
                "--org reads the organization with one identity: give at most one --profile (the management account or a delegated administrator)"
                    .into(),
            );
        }
        for id in self.accounts.iter().chain(&self.exclude_accounts) {
            if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
                problems.push(format!("{id:?} is not a 12-digit AWS account id"));
            }
        }
        let role_ok = (1..=64).contains(&self.assume_role.len())
            && self
                .assume_role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !role_ok {
            problems.push(format!(
                "--assume-role {:?} is not an IAM role name (1-64 of letters, digits and +=,.@_-)",
                self.assume_role
            ));
        }
        if let Some(x) = &self.external_id {
            let ok = (2..=1224).contains(&x.len())
                && x.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/_-".contains(c));
            if !ok {
                problems.push(
                    "--external-id must be 2-1224 of letters, digits and +=,.@:/_- (as AssumeRole accepts)"
                        .into(),
                );
            }
        }
        problems
    }

    fn settings(&self) -> Option<OrgSettings> {
        self.org.then(|| OrgSettings {
            assume_role: self.assume_role.clone(),
            external_id: self.external_id.clone(),
            accounts: self.accounts.clone(),
            exclude: self.exclude_accounts.clone(),
        })
    }
}

impl AuditArgs {
    /// Validates the flags into a request, collecting every problem at once.
    pub fn validate(&self) -> Result<AuditRequest, Error> {
        let mut problems = self.scope_problems();
        problems.extend(self.org.problems(self.profile.len()));
        let (concurrency, max_attempts) = (self.concurrency.concurrency, self.retry.max_attempts);
        if max_attempts == 0 || max_attempts > 20 {
            problems.push(format!(
                "--max-attempts must be 1 to 20, not {max_attempts}"
            ));
        }
        check_concurrency(concurrency, &mut problems);
        for r in &self.region {
            if r.is_empty()
                || !r
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                problems.push(format!("{r:?} is not an AWS region name (like eu-west-1)"));
            }
        }
        usage_problems(problems, "audit")?;
        Ok(AuditRequest {
            aws: self.aws.then(|| LiveSettings {
                profile: self.profile.first().cloned(),
                regions: self.region.clone(),
                concurrency,
                max_attempts,
                fresh: false,
            }),
            aws_profiles: self.profile.clone(),
            aws_org: self.org.settings(),
            snapshot: self.snapshot.clone(),
            gcp_projects: self.gcp_project.clone(),
            gcp_roots: self.gcp_roots(),
            gcp_containers: Vec::new(),
            gcp: GcpSettings {
                endpoint: self.gcp.gcp_endpoint.clone(),
                concurrency,
                max_attempts,
            },
        })
    }

    /// The folders and organizations to walk, as resource names.
    fn gcp_roots(&self) -> Vec<String> {
        let folders = self.gcp_folder.iter().map(|f| format!("folders/{f}"));
        let orgs = self
            .gcp_organization
            .iter()
            .map(|o| format!("organizations/{o}"));
        folders.chain(orgs).collect()
    }

    /// What to audit, and the flags that only apply to one kind of source.
    fn scope_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let gcp_live = !self.gcp_project.is_empty()
            || !self.gcp_folder.is_empty()
            || !self.gcp_organization.is_empty();
        if !self.aws && self.snapshot.is_none() && !gcp_live {
            problems.push(
                "nothing to audit: pass --aws, --gcp-project ID, --gcp-folder ID, --gcp-organization ID (live) or --snapshot DIR".into(),
            );
        }
        let endpoint = &self.gcp.gcp_endpoint;
        if endpoint.is_some() && !gcp_live {
            problems.push("--gcp-endpoint applies to a live GCP audit: add --gcp-project, --gcp-folder or --gcp-organization".into());
        }
        for (flag, id) in self.gcp_folder.iter().map(|f| ("--gcp-folder", f)).chain(
            self.gcp_organization
                .iter()
                .map(|o| ("--gcp-organization", o)),
        ) {
            // Folder and organization ids are numbers (`folders/123456789012`).
            if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
                problems.push(format!(
                    "{flag} takes the numeric id (like 123456789012), not {id:?}"
                ));
            }
        }
        if let Some(e) = endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                problems.push(format!(
                    "--gcp-endpoint must be an http:// or https:// URL, not {e:?}"
                ));
            }
        }
        for p in &self.gcp_project {
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
        if !self.aws && (!self.profile.is_empty() || !self.region.is_empty() || self.org.org) {
            problems.push("--profile, --region and --org apply to a live audit: add --aws".into());
        }
        problems
    }
}

pub fn audit_command(a: AuditArgs, quiet: bool) -> Result<u8, Error> {
    let req = a.validate()?;
    // Refuse the output before spending an audit's requests on it.
    if let Some(path) = &a.output {
        crate::output::check_target(path, a.force)?;
    }
    let format = a
        .format
        .unwrap_or_else(|| by_terminal(AuditFormat::Table, AuditFormat::Json));
    let progress = progress(!quiet && !a.no_progress);
    let inventory = runtime()?.block_on(audit::run(&req, chrono::Utc::now(), progress.clone()))?;
    progress.phase("done", 0);
    let json = pretty_json(&inventory);
    if let Some(path) = &a.output {
        crate::output::write_private(path, json.as_bytes(), a.force)?;
    }
    match (format, &a.output) {
        // JSON chosen only because stdout is not a terminal, and the file has it: a summary.
        (AuditFormat::Json, Some(path)) if a.format.is_none() => {
            if !quiet {
                eprintln!(
                    "wrote {}: {} principals, {} credentials, {} secrets, {} findings, {} gaps",
                    path.display(),
                    inventory.principals.len(),
                    inventory.credentials.len(),
                    inventory.secrets.len(),
                    inventory.findings.len(),
                    inventory.gaps.len()
                );
            }
        }
        (AuditFormat::Json, _) => print_stdout(&json)?,
        (AuditFormat::Table, _) => print_stdout(&audit::table::render_for(
            &inventory,
            &crate::output::terminal::Term::stdout(),
        ))?,
        (AuditFormat::Ocsf, _) => print_stdout(&audit::ocsf::render(&inventory))?,
    }
    Ok(match a.fail_on {
        Some(level) if inventory.findings.iter().any(|f| f.severity >= level) => exit::FINDINGS,
        _ => exit::OK,
    })
}
