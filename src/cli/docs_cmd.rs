//! `handover docs check` (what the handed-over documents say, and any credential pasted
//! into them or into the `--scan` paths) and `handover docs init` (the templates).
//! Exit code of `check`: 1 (findings) when any finding is at `--fail-on` or above, as
//! for the other commands that report findings.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::exit;
use super::support::{pretty_json, print_stdout};
use crate::docs::{self, DocKind};
use crate::error::Error;
use crate::model::Severity;
use crate::output::terminal::escape;

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Check the SLO document, playbooks and postmortems the config names, and scan them (and --scan paths) for credentials.
    Check(DocsCheckArgs),
    /// Write Markdown templates of the three documents, with every section the check looks for.
    Init(DocsInitArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocsFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DocsCheckArgs {
    /// The handover config (TOML): its [documentation] names the documents and, in
    /// [documentation.sections], the headings each check looks for.
    #[arg(long, value_name = "FILE", default_value = "handover.toml")]
    pub config: PathBuf,
    /// Also scan this file or folder for credentials (repeatable; links in a folder are
    /// not followed).
    #[arg(long, value_name = "PATH")]
    pub scan: Vec<PathBuf>,
    /// Output on stdout: `text` (default) or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DocsFormat,
    /// Exit 1 when a finding is at this severity or above.
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: Severity,
}

#[derive(Debug, Args)]
pub struct DocsInitArgs {
    /// The folder to write slo.md, playbook.md and postmortem.md into (made if missing).
    #[arg(long, value_name = "DIR", default_value = "docs")]
    pub dir: PathBuf,
    /// Overwrite the files.
    #[arg(long)]
    pub force: bool,
}

pub fn docs_command(c: DocsCommand) -> Result<u8, Error> {
    match c {
        DocsCommand::Check(a) => check_command(a),
        DocsCommand::Init(a) => init_command(a),
    }
}

fn check_command(a: DocsCheckArgs) -> Result<u8, Error> {
    let config = crate::config::load(&a.config)?;
    let settings = config.doc_settings(chrono::Utc::now());
    let report = docs::check(
        &config.base_dir,
        &crate::plan::wanted_documents(&config),
        &a.scan,
        &settings,
    )?;
    match a.format {
        DocsFormat::Json => print_stdout(&pretty_json(&report))?,
        DocsFormat::Text => print_stdout(&text(&report))?,
    }
    Ok(if report.fails_at(a.fail_on) {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// One line per finding (`path:line: severity check: message`), then a count.
fn text(report: &docs::Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let kind = f.secret.map(|k| format!(" ({k})")).unwrap_or_default();
        out.push_str(&format!(
            "{}: {} {}{kind}: {}\n",
            escape(&f.location()),
            f.severity,
            f.check,
            escape(&f.message)
        ));
    }
    out.push_str(&format!(
        "{} file(s) checked, {} finding(s)\n",
        report.files.len(),
        report.findings.len()
    ));
    out
}

fn init_command(a: DocsInitArgs) -> Result<u8, Error> {
    std::fs::create_dir_all(&a.dir).map_err(|e| {
        Error::output(
            &a.dir,
            format!("cannot make the folder: {}", e.kind()),
            "choose another --dir",
        )
    })?;
    let mut outputs = crate::output::Outputs::new(a.force);
    let mut written = Vec::new();
    for kind in [DocKind::Slo, DocKind::Playbook, DocKind::Postmortem] {
        let (name, text) = docs::templates::template(kind);
        let path = a.dir.join(name);
        outputs.add(&path, text.as_bytes());
        written.push(path);
    }
    outputs.write()?;
    for p in written {
        eprintln!("wrote {}", escape(&p.display().to_string()));
    }
    Ok(exit::OK)
}
