//! `handover plan`, `handover policy check|explain` and `handover init`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use super::args::{InitArgs, PlanArgs, PlanFormat, PolicyCommand};
use super::{exit, print_stdout};
use crate::error::Error;
use crate::model::{Inventory, PrincipalKind, INVENTORY_SCHEMA, INVENTORY_VERSION};
use crate::plan::{self, Plan};
use crate::policy::{self, Outcome};

/// Reads an inventory written by `handover audit -o`.
pub fn read_inventory(path: &Path) -> Result<Inventory, Error> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::input(
            path,
            format!("cannot read: {e}"),
            "write one with `handover audit ... -o inventory.json`",
        )
    })?;
    let head: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        let what = if e.is_eof() {
            "the JSON ends early (truncated file?)".to_string()
        } else {
            format!("not JSON: {e}")
        };
        Error::input(
            path,
            what,
            "write it again with `handover audit ... -o inventory.json`",
        )
    })?;
    if head.get("schema").and_then(|s| s.as_str()) != Some(INVENTORY_SCHEMA) {
        return Err(Error::input(
            path,
            "not a handover inventory (no \"schema\": \"handover/inventory\")",
            "pass the file `handover audit -o` wrote",
        ));
    }
    if head.get("version").and_then(|v| v.as_u64()) != Some(u64::from(INVENTORY_VERSION)) {
        return Err(Error::input(
            path,
            format!(
                "inventory version {} is not {INVENTORY_VERSION}",
                head["version"]
            ),
            "audit again with this version of handover",
        ));
    }
    serde_json::from_value(head).map_err(|e| {
        Error::input(
            path,
            format!("the inventory does not match its schema: {e}"),
            "audit again; schemas/inventory.v1.json describes the format",
        )
    })
}

fn read_plan(path: &Path) -> Result<Plan, Error> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::input(
            path,
            format!("cannot read: {e}"),
            "pass a plan JSON written by `handover plan -o`",
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::input(
            path,
            format!("not a handover plan: {e}"),
            "pass a plan JSON written by `handover plan -o`",
        )
    })
}

pub fn plan_command(a: PlanArgs, quiet: bool) -> Result<u8, Error> {
    // Every output is checked before anything is read or written: a plan is written
    // whole (plan.json and its Markdown together) or not at all.
    let targets: Vec<&Path> = a
        .output
        .iter()
        .chain(a.markdown.iter())
        .map(|p| p.as_path())
        .collect();
    crate::output::check_paths(&targets, a.force)?;
    let inventory = read_inventory(&a.inventory)?;
    let policy = policy::load(&a.policy)?;
    let config = crate::config::load(&a.config)?;
    let old = a.diff.as_deref().map(read_plan).transpose()?;
    let plan = plan::build(
        &inventory,
        &policy,
        &config,
        crate::docs::read(&config.base_dir, &plan::wanted_documents(&config)),
    )?;
    let json = serde_json::to_string_pretty(&plan).expect("plan serializes") + "\n";
    let mut outputs = crate::output::Outputs::new(a.force);
    if let Some(path) = &a.output {
        outputs.add(path, json.as_bytes());
    }
    if let Some(path) = &a.markdown {
        outputs.add(path, plan::render::markdown(&plan).as_bytes());
    }
    outputs.write()?;
    if !quiet {
        eprintln!("plan {} ({} steps)", plan.digest, plan.steps.len());
    }
    let format = a.format.unwrap_or(if std::io::stdout().is_terminal() {
        PlanFormat::Table
    } else {
        PlanFormat::Json
    });
    match old {
        Some(old) => print_stdout(&plan::diff::render(&old, &plan))?,
        None => match (format, &a.output) {
            (PlanFormat::Json, Some(_)) if a.format.is_none() => {}
            (PlanFormat::Json, _) => print_stdout(&json)?,
            (PlanFormat::Markdown, _) => print_stdout(&plan::render::markdown(&plan))?,
            (PlanFormat::Table, _) => print_stdout(&plan::render::table(&plan))?,
        },
    }
    Ok(exit::OK)
}

pub fn policy_command(c: PolicyCommand) -> Result<u8, Error> {
    match c {
        PolicyCommand::Check { files } => {
            let mut out = String::new();
            let mut first_error = None;
            for f in &files {
                match policy::load(f) {
                    Ok(p) => {
                        let _ = writeln!(
                            out,
                            "{}: ok, policy {} with {} rules ({})",
                            f.display(),
                            p.name,
                            p.rules.len(),
                            p.digest
                        );
                    }
                    Err(e) => {
                        if first_error.is_none() {
                            first_error = Some(e);
                        } else {
                            eprintln!("error: {}", crate::output::terminal::escape(&e.to_string()));
                        }
                    }
                }
            }
            print_stdout(&crate::output::terminal::escape_block(&out))?;
            match first_error {
                Some(e) => Err(e),
                None => Ok(exit::OK),
            }
        }
        PolicyCommand::Explain {
            inventory,
            policy: policy_path,
            config,
            target,
            context,
        } => {
            let inv = read_inventory(&inventory)?;
            let pol = policy::load(&policy_path)?;
            let cfg = crate::config::load(&config)?;
            let e = plan::explain(&inv, &pol, &cfg, &target)?;
            let mut o = String::new();
            let _ = writeln!(
                o,
                "{} ({}, owner {})",
                e.target.id,
                e.target.what,
                e.target.owner.as_str()
            );
            for (id, line, outcome) in &e.rules {
                let mark = match outcome {
                    Outcome::Match => "MATCH   ",
                    Outcome::NoMatch => "no      ",
                    Outcome::Failed(_) => "FAILED  ",
                };
                let decided = if e.decided_by.as_deref() == Some(id.as_str()) {
                    "  <- decides"
                } else {
                    ""
                };
                let detail = match outcome {
                    Outcome::Failed(m) => format!(" ({m})"),
                    _ => String::new(),
                };
                let _ = writeln!(o, "  {mark}{id} (line {line}){detail}{decided}");
            }
            if e.decided_by.is_none() {
                let _ = writeln!(o, "  no rule matches: the plan sends it to review");
            }
            if context {
                let _ = writeln!(
                    o,
                    "context:\n{}",
                    serde_json::to_string_pretty(&e.context).expect("serializes")
                );
            }
            // Ids and rule messages come from the inventory and the policy file.
            print_stdout(&crate::output::terminal::escape_block(&o))?;
            Ok(exit::OK)
        }
    }
}

/// Writes a commented config proposing what the inventory suggests.
pub fn init_command(a: InitArgs) -> Result<u8, Error> {
    let inv = read_inventory(&a.inventory)?;
    let mut accounts: Vec<String> = inv
        .sources
        .iter()
        .filter(|s| s.provider == crate::model::Provider::Aws)
        .map(|s| s.scope.clone())
        .collect();
    accounts.sort();
    accounts.dedup();
    let mut projects: Vec<String> = inv
        .sources
        .iter()
        .filter(|s| s.provider == crate::model::Provider::Gcp)
        .map(|s| s.scope.clone())
        .collect();
    projects.sort();
    projects.dedup();
    let mut outside_accounts: BTreeMap<String, usize> = BTreeMap::new();
    for c in &inv.credentials {
        if let crate::model::CredentialDetail::Trust(t) = &c.detail {
            if let Some(a) = &t.trusted.account_id {
                *outside_accounts.entry(a.clone()).or_default() += 1;
            }
        }
    }
    for s in &inv.secrets {
        if let crate::model::AccessPolicy::Known { outside } = &s.access_policy {
            for g in outside {
                if let Some(a) = &g.principal.account_id {
                    *outside_accounts.entry(a.clone()).or_default() += 1;
                }
            }
        }
    }
    let mut domains: BTreeMap<String, usize> = BTreeMap::new();
    for p in &inv.principals {
        let email = match p.kind {
            PrincipalKind::GcpUser | PrincipalKind::GcpGroup => Some(p.name.clone()),
            PrincipalKind::GcpDomain => Some(format!("x@{}", p.name)),
            _ => p.tags.get("email").cloned(),
        };
        if let Some(d) = email.and_then(|e| e.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()))
        {
            *domains.entry(d).or_default() += 1;
        }
    }
    let quote = |v: &[String]| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut o = String::new();
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
    let _ = writeln!(o, "# agency_access_ends = \"YYYY-MM-DD\"  # the end of the adoption period (agency-operated)\n");
    let _ = writeln!(o, "[agency]\nname = \"CONFIRM: the agency's name\"");
    let _ = writeln!(
        o,
        "# Outside accounts that roles or secret policies let in (count of grants):"
    );
    for (a, n) in &outside_accounts {
        let _ = writeln!(o, "#   {a}: {n}");
    }
    let _ = writeln!(
        o,
        "aws_accounts = []  # CONFIRM: which of the accounts above are the agency's"
    );
    let _ = writeln!(o, "# Email domains seen (count of principals):");
    for (d, n) in &domains {
        let _ = writeln!(o, "#   {d}: {n}");
    }
    let _ = writeln!(o, "email_domains = []  # CONFIRM");
    let _ = writeln!(o, "google_groups = []\ngoogle_domains = []\nname_patterns = []  # e.g. \"*.agency\", \"ci-*\"\n# tags = {{ \"managed-by\" = \"agency\" }}\n# The agency's SSH public key: signs the manifest and opens the migration's digest key.\n# signing_key = \"ssh-ed25519 AAAA... CONFIRM\"\n");
    let _ = writeln!(o, "[customer]\nname = \"CONFIRM: the customer's name\"");
    let _ = writeln!(
        o,
        "aws_accounts = [{}]  # CONFIRM: the audited accounts",
        quote(&accounts)
    );
    let _ = writeln!(
        o,
        "gcp_projects = [{}]  # CONFIRM: the audited projects",
        quote(&projects)
    );
    let _ = writeln!(o, "email_domains = []  # CONFIRM\ngoogle_groups = []\ngoogle_domains = []\nname_patterns = []\n");
    let _ = writeln!(
        o,
        "# [[third_party]]\n# name = \"a vendor\"\n# aws_accounts = []\n"
    );
    let _ = writeln!(o, "[operations]\n# agency-operated only: principals (ARNs, role names, GCP members) the agency keeps until agency_access_ends\nretained = []\n");
    let _ = writeln!(o, "[recipients]\n# the customer's age (age1...) or SSH public keys, for the encrypted manifest\nkeys = []\n");
    let _ = writeln!(o, "[documentation]\n# paths relative to this file\n# slo = \"docs/slo.md\"\nplaybooks = []\npostmortems = []");
    match &a.output {
        Some(p) => crate::output::write_private(p, o.as_bytes(), a.force)?,
        None => print_stdout(&o)?,
    }
    Ok(exit::OK)
}
