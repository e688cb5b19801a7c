//! `handover plan`: its flags, and building, writing and printing the plan (or what
//! changed since an earlier one). Every output is checked before anything is read.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::exit;
use super::inputs::{read_inventory, read_plan};
use super::support::{by_terminal, pretty_json, print_stdout};
use crate::error::Error;
use crate::plan;
use crate::policy;

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
    /// The policy: a shipped one by name (full-transfer, agency-operated; see `handover
    /// policy list`) or your own YAML file.
    #[arg(long, value_name = "NAME|FILE")]
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

impl PlanArgs {
    /// The files written: the plan JSON and its Markdown, one output set.
    fn outputs(&self) -> Vec<&Path> {
        self.output
            .iter()
            .chain(self.markdown.iter())
            .map(|p| p.as_path())
            .collect()
    }
}

pub fn plan_command(a: PlanArgs, quiet: bool) -> Result<u8, Error> {
    // Every output is checked before anything is read or written: a plan is written
    // whole (plan.json and its Markdown together) or not at all.
    crate::output::check_paths(&a.outputs(), a.force)?;
    let inventory = read_inventory(&a.inventory)?;
    let policy = policy::open(&a.policy)?;
    let config = crate::config::load(&a.config)?;
    let old = a.diff.as_deref().map(read_plan).transpose()?;
    // The documents are read here (the plan is pure) and checked as `docs check` does,
    // at the inventory's time so that the same inputs give the same plan.
    let wanted = plan::wanted_documents(&config);
    let checked = crate::docs::check(
        &config.base_dir,
        &wanted,
        &[],
        &config.doc_settings(inventory.generated_at),
    )?;
    let plan = plan::build_checked(
        &inventory,
        &policy,
        &config,
        crate::docs::read(&config.base_dir, &wanted)?,
        &checked,
    )?;
    let json = pretty_json(&plan);
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
    let format = a
        .format
        .unwrap_or_else(|| by_terminal(PlanFormat::Table, PlanFormat::Json));
    match old {
        Some(old) => print_stdout(&plan::diff::render(&old, &plan))?,
        None => match (format, &a.output) {
            (PlanFormat::Json, Some(_)) if a.format.is_none() => {}
            (PlanFormat::Json, _) => print_stdout(&json)?,
            (PlanFormat::Markdown, _) => print_stdout(&plan::render::markdown(&plan))?,
            (PlanFormat::Table, _) => print_stdout(&plan::render::table_for(
                &plan,
                &crate::output::terminal::Term::stdout(),
            ))?,
        },
    }
    Ok(exit::OK)
}
