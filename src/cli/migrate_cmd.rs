//! `handover migrate`: its flags, their validation (every problem at once, before any file
//! is read or request sent), and printing the report. The copying is `migrate::run`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::args::{
    check_concurrency, usage_problems, Format, FormatArgs, GcpEndpointArgs, JournalArgs, RetryArgs,
};
use super::exit;
use super::support::{pretty_json, print_stdout, progress, runtime};
use crate::error::Error;
use crate::migrate::{self, Endpoint, Report, Request};
use crate::output::table::{wrap, Fit, Table};
use crate::output::terminal::{escape_block_keeping_paint, Term, Tone};
use crate::providers::gcp::live::GcpSettings;

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
    #[command(flatten)]
    pub journal: JournalArgs,
    #[command(flatten)]
    pub gcp: GcpEndpointArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    /// Most secrets copied at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnConflict {
    Report,
    NewVersion,
}

/// The flags, validated: what `migrate::Request` needs that no file has to be read for.
pub struct Validated {
    pub from: Endpoint,
    pub to: Endpoint,
    /// With `--apply`: the config and the agency's identity (checked to be present).
    pub keys: Option<(PathBuf, PathBuf)>,
}

impl MigrateArgs {
    /// Validates the flags, collecting every problem at once.
    pub fn validate(&self) -> Result<Validated, Error> {
        let mut problems = Vec::new();
        let from = Endpoint::parse(&self.from)
            .map_err(|e| problems.push(format!("--from {e}")))
            .ok();
        let to = Endpoint::parse(&self.to)
            .map_err(|e| problems.push(format!("--to {e}")))
            .ok();
        check_concurrency(self.concurrency, &mut problems);
        let selections = usize::from(self.plan.is_some())
            + usize::from(!self.secrets.is_empty())
            + usize::from(self.all);
        if selections != 1 {
            problems.push("choose the secrets one way: --plan PLAN.json, --secret NAME[=DEST] (repeatable) or --all".into());
        }
        let keys = match (&self.journal.config, &self.journal.identity) {
            (Some(c), Some(i)) => Some((c.clone(), i.clone())),
            _ if self.apply => {
                problems.push("--apply needs --config handover.toml and -i AGENCY_SSH_KEY: the journal's digest key is encrypted to the config's recipients and the agency's signing key".into());
                None
            }
            _ => None,
        };
        usage_problems(problems, "migrate")?;
        Ok(Validated {
            from: from.expect("checked"),
            to: to.expect("checked"),
            keys: keys.filter(|_| self.apply),
        })
    }

    /// The request, once the plan and the agency's keys are read.
    fn request(&self, v: Validated) -> Result<Request, Error> {
        let keys = match &v.keys {
            Some((config, identity)) => Some(super::agency::key_access(config, identity)?),
            None => None,
        };
        // The secrets copied are the ones the approved plan names: its digest is checked.
        let plan = self
            .plan
            .as_deref()
            .map(super::inputs::read_plan)
            .transpose()?;
        Ok(Request {
            from: v.from,
            to: v.to,
            plan,
            secrets: self
                .secrets
                .iter()
                .map(|s| match s.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (s.clone(), None),
                })
                .collect(),
            all: self.all,
            new_version_on_conflict: self.on_conflict == OnConflict::NewVersion,
            apply: self.apply,
            journal: self.journal.file.clone(),
            gcp: GcpSettings {
                endpoint: self.gcp.gcp_endpoint.clone(),
                concurrency: self.concurrency,
                max_attempts: self.retry.max_attempts,
            },
            max_attempts: self.retry.max_attempts,
            concurrency: self.concurrency,
            all_versions: self.all_versions,
            keys,
        })
    }
}

pub fn migrate_command(a: MigrateArgs, quiet: bool) -> Result<u8, Error> {
    let validated = a.validate()?;
    let req = a.request(validated)?;
    let report = runtime()?.block_on(migrate::run(&req, progress(!quiet)))?;
    match a.format.resolve() {
        Format::Json => print_stdout(&pretty_json(&report))?,
        Format::Table => print_stdout(&table(&report, &Term::stdout()))?,
    }
    if !quiet && report.applied {
        eprintln!("journal: {}", a.journal.file.display());
    }
    Ok(if migrate::incomplete(&report).is_empty() {
        exit::OK
    } else {
        exit::INCOMPLETE
    })
}

/// The colour of a copy's outcome (the word is always written too).
fn outcome_tone(o: &crate::journal::CopyOutcome) -> Tone {
    use crate::journal::CopyOutcome::*;
    match o {
        Create | NewVersion => Tone::Good,
        Unchanged => Tone::Note,
        Conflict | MissingAtSource | EmptyAtSource => Tone::Bad,
    }
}

/// The report as a table for `term`: the outcome kept whole, source, destination and
/// notes wrapped; names come from the source and are escaped (`output::table`).
fn table(report: &Report, term: &Term) -> String {
    let head = format!(
        "{} {} -> {}",
        if report.applied {
            "Migrated"
        } else {
            "Dry run (nothing written; --apply writes)"
        },
        report.from,
        report.to
    );
    let mut o = wrap(&head, 2, term);
    let mut t = Table::new(&[
        ("OUTCOME", Fit::Keep),
        ("SOURCE", Fit::Wrap),
        ("DESTINATION", Fit::Wrap),
        ("NOTE", Fit::Wrap),
    ])
    .tone_column(0);
    for i in &report.items {
        let mut note: Vec<String> = Vec::new();
        if let Some(v) = &i.version {
            note.push(format!("version {v}"));
        }
        if i.verified && report.applied {
            note.push("verified".into());
        }
        if i.rotate_after_cutover {
            note.push("rotate after cutover".into());
        }
        // Why nothing was copied, and the hint (missing or empty at the source).
        if let Some(d) = &i.detail {
            note.push(d.clone());
        }
        t.toned_row(
            vec![
                crate::plan::kebab(&i.outcome),
                i.source.clone(),
                i.destination.clone(),
                note.join("; "),
            ],
            Some(outcome_tone(&i.outcome)),
        );
    }
    o.push_str(&t.render(term));
    escape_block_keeping_paint(&o)
}
