//! `handover policy check` (every file, every problem), `handover policy explain` (which
//! rules match one credential or secret, and why), and `handover policy list|show` (the
//! policies compiled into the binary; `show` prints one's exact YAML, so a team can start
//! its own from it and get the same digest). Everything printed from a policy file or an
//! inventory is escaped for the terminal; the shipped YAML is the binary's own text.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Subcommand;

use super::exit;
use super::inputs::read_inventory;
use super::support::print_stdout;
use crate::error::Error;
use crate::output::terminal::{escape, escape_block};
use crate::plan;
use crate::policy::{self, Outcome};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check policy files: YAML shape, CEL, unknown fields, type errors, rules that never match.
    Check {
        /// Policy files, or shipped policies by name.
        #[arg(required = true, value_name = "NAME|FILE")]
        files: Vec<PathBuf>,
    },
    /// List the policies shipped in the binary: name and description.
    List,
    /// Print a shipped policy's exact YAML (e.g. `policy show full-transfer > mine.yaml`
    /// to start your own).
    Show {
        #[arg(value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(policy::shipped::NAMES))]
        name: String,
    },
    /// Show which rules match a credential or secret, and why.
    Explain {
        #[arg(long, value_name = "FILE")]
        inventory: PathBuf,
        /// A shipped policy's name (see `handover policy list`) or a policy file.
        #[arg(long, value_name = "NAME|FILE")]
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

pub fn policy_command(c: PolicyCommand) -> Result<u8, Error> {
    match c {
        PolicyCommand::Check { files } => check(&files),
        PolicyCommand::List => list(),
        PolicyCommand::Show { name } => show(&name),
        PolicyCommand::Explain {
            inventory,
            policy,
            config,
            target,
            context,
        } => explain(&inventory, &policy, &config, &target, context),
    }
}

/// Checks every file; the first error is returned (its exit code), the others printed.
fn check(files: &[PathBuf]) -> Result<u8, Error> {
    let mut out = String::new();
    let mut first_error = None;
    for f in files {
        match policy::open(f) {
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
            Err(e) if first_error.is_none() => first_error = Some(e),
            Err(e) => eprintln!("error: {}", escape(&e.to_string())),
        }
    }
    print_stdout(&escape_block(&out))?;
    match first_error {
        Some(e) => Err(e),
        None => Ok(exit::OK),
    }
}

/// Names and descriptions of the shipped policies (each parsed and checked, as any
/// policy is before use).
fn list() -> Result<u8, Error> {
    let mut out = String::new();
    for s in policy::shipped::SHIPPED {
        let p = policy::load_shipped(s)?;
        let _ = writeln!(out, "{:<16} {}", s.name, p.description);
    }
    print_stdout(&out)?;
    Ok(exit::OK)
}

/// The exact text of a shipped policy (clap has checked the name).
fn show(name: &str) -> Result<u8, Error> {
    let s = policy::shipped::get(name).ok_or_else(|| {
        Error::usage(
            format!("no shipped policy named {name}"),
            format!("the shipped policies are {}", policy::shipped::names()),
        )
    })?;
    print_stdout(s.text)?;
    Ok(exit::OK)
}

fn explain(
    inventory: &std::path::Path,
    policy_path: &std::path::Path,
    config: &std::path::Path,
    target: &str,
    context: bool,
) -> Result<u8, Error> {
    let inv = read_inventory(inventory)?;
    let pol = policy::open(policy_path)?;
    let cfg = crate::config::load(config)?;
    let e = plan::explain(&inv, &pol, &cfg, target)?;
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
    print_stdout(&escape_block(&o))?;
    Ok(exit::OK)
}
