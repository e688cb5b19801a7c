//! `handover init`: a commented handover config proposing what the inventory suggests
//! (the audited accounts and projects as the customer's, the outside accounts and email
//! domains seen, for the agency to confirm). Every guess is marked CONFIRM.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::exit;
use super::inputs::read_inventory;
use super::support::print_stdout;
use crate::error::Error;
use crate::model::{AccessPolicy, CredentialDetail, Inventory, PrincipalKind, Provider};

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

/// Writes a commented config proposing what the inventory suggests.
pub fn init_command(a: InitArgs) -> Result<u8, Error> {
    let inv = read_inventory(&a.inventory)?;
    let seen = Seen::of(&inv);
    let mut o = String::new();
    header(&mut o, &a, &inv);
    agency(&mut o, &seen);
    customer(&mut o, &seen);
    rest(&mut o);
    match &a.output {
        Some(p) => crate::output::write_private(p, o.as_bytes(), a.force)?,
        None => print_stdout(&o)?,
    }
    Ok(exit::OK)
}

/// What the inventory shows about the parties.
struct Seen {
    /// The audited AWS accounts and GCP projects, sorted.
    accounts: Vec<String>,
    projects: Vec<String>,
    /// The audited GCP folders and organizations, by numeric id, sorted.
    folders: Vec<String>,
    organizations: Vec<String>,
    /// Accounts outside the audit that roles or secret policies let in, by grant count.
    outside_accounts: BTreeMap<String, usize>,
    /// Email domains of principals, by principal count.
    domains: BTreeMap<String, usize>,
}

impl Seen {
    fn of(inv: &Inventory) -> Self {
        let scopes = |provider: Provider| {
            let mut v: Vec<String> = inv
                .sources
                .iter()
                .filter(|s| s.provider == provider)
                .map(|s| s.scope.clone())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        // A GCP scope is a project id (no `/`), `folders/F` or `organizations/O`.
        let gcp = scopes(Provider::Gcp);
        let ids = |prefix: &str| -> Vec<String> {
            gcp.iter()
                .filter_map(|s| s.strip_prefix(prefix))
                .map(str::to_string)
                .collect()
        };
        Seen {
            accounts: scopes(Provider::Aws),
            projects: gcp.iter().filter(|s| !s.contains('/')).cloned().collect(),
            folders: ids("folders/"),
            organizations: ids("organizations/"),
            outside_accounts: outside_accounts(inv),
            domains: domains(inv),
        }
    }
}

fn outside_accounts(inv: &Inventory) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    for c in &inv.credentials {
        if let CredentialDetail::Trust(t) = &c.detail {
            if let Some(a) = &t.trusted.account_id {
                *out.entry(a.clone()).or_default() += 1;
            }
        }
    }
    for s in &inv.secrets {
        if let AccessPolicy::Known { outside } = &s.access_policy {
            for g in outside {
                if let Some(a) = &g.principal.account_id {
                    *out.entry(a.clone()).or_default() += 1;
                }
            }
        }
    }
    out
}

fn domains(inv: &Inventory) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    for p in &inv.principals {
        let email = match p.kind {
            PrincipalKind::GcpUser | PrincipalKind::GcpGroup => Some(p.name.clone()),
            PrincipalKind::GcpDomain => Some(format!("x@{}", p.name)),
            _ => p.tags.get("email").cloned(),
        };
        if let Some(d) = email.and_then(|e| e.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()))
        {
            *out.entry(d).or_default() += 1;
        }
    }
    out
}

fn header(o: &mut String, a: &InitArgs, inv: &Inventory) {
    let _ = writeln!(
        o,
        "# handover config, proposed by `handover init` from {}.",
        a.inventory.display()
    );
    let _ = writeln!(
        o,
        "# Lines marked CONFIRM are guesses from the inventory: check each before planning."
    );
    let _ = writeln!(
        o,
        "# Every principal is classified from this file alone; what it does not place is `unknown`"
    );
    let _ = writeln!(o, "# and goes to review in the plan.\n");
    let _ = writeln!(
        o,
        "# \"full-transfer\": the customer takes over operations, all agency access ends."
    );
    let _ = writeln!(
        o,
        "# \"agency-operated\": the agency keeps narrow, named access until agency_access_ends."
    );
    let _ = writeln!(o, "scenario = \"full-transfer\"");
    let _ = writeln!(
        o,
        "handover_date = \"{}\"  # CONFIRM",
        inv.generated_at.format("%Y-%m-%d")
    );
    let _ = writeln!(
        o,
        "# agency_access_ends = \"YYYY-MM-DD\"  # the end of the adoption period (agency-operated)"
    );
    let _ = writeln!(o, "# grace_days = 14  # days a key apply deactivated waits before `apply --finish` deletes it (0 to 365)\n");
}

fn agency(o: &mut String, seen: &Seen) {
    let _ = writeln!(o, "[agency]\nname = \"CONFIRM: the agency's name\"");
    let _ = writeln!(
        o,
        "# Outside accounts that roles or secret policies let in (count of grants):"
    );
    for (a, n) in &seen.outside_accounts {
        let _ = writeln!(o, "#   {a}: {n}");
    }
    let _ = writeln!(
        o,
        "aws_accounts = []  # CONFIRM: which of the accounts above are the agency's"
    );
    let _ = writeln!(o, "# Email domains seen (count of principals):");
    for (d, n) in &seen.domains {
        let _ = writeln!(o, "#   {d}: {n}");
    }
    let _ = writeln!(o, "email_domains = []  # CONFIRM");
    let _ = writeln!(o, "google_groups = []\ngoogle_domains = []\nname_patterns = []  # e.g. \"*.agency\", \"ci-*\"\n# tags = {{ \"managed-by\" = \"agency\" }}\n# The agency's SSH public key: signs the manifest and opens the migration's digest key.\n# signing_key = \"ssh-ed25519 AAAA... CONFIRM\"\n");
}

fn customer(o: &mut String, seen: &Seen) {
    let quote = |v: &[String]| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(o, "[customer]\nname = \"CONFIRM: the customer's name\"");
    let _ = writeln!(
        o,
        "aws_accounts = [{}]  # CONFIRM: the audited accounts",
        quote(&seen.accounts)
    );
    let _ = writeln!(
        o,
        "gcp_projects = [{}]  # CONFIRM: the audited projects",
        quote(&seen.projects)
    );
    if !seen.folders.is_empty() || !seen.organizations.is_empty() {
        let _ = writeln!(
            o,
            "gcp_folders = [{}]  # CONFIRM: the audited folders (numeric ids)\ngcp_organizations = [{}]  # CONFIRM: the audited organizations (numeric ids)",
            quote(&seen.folders),
            quote(&seen.organizations)
        );
    }
    let _ = writeln!(o, "email_domains = []  # CONFIRM\ngoogle_groups = []\ngoogle_domains = []\nname_patterns = []\n");
}

/// Third parties, operations, recipients and documentation: empty, with their comments.
fn rest(o: &mut String) {
    let _ = writeln!(
        o,
        "# [[third_party]]\n# name = \"a vendor\"\n# aws_accounts = []\n"
    );
    let _ = writeln!(o, "[operations]\n# agency-operated only: principals (ARNs, role names, GCP members) the agency keeps until agency_access_ends\nretained = []\n");
    let _ = writeln!(o, "[recipients]\n# the customer's age (age1...) or SSH public keys, for the encrypted manifest\nkeys = []\n");
    let _ = writeln!(o, "[documentation]\n# paths relative to this file\n# slo = \"docs/slo.md\"\nplaybooks = []\npostmortems = []");
}
