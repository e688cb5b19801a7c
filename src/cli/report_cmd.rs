//! `handover report`: the handover report an auditor signs off, from whatever subset of
//! the handover's files the user has (the inventory is required). It reads each input
//! once (its digest is of the bytes parsed), opens the journals with their digest keys
//! and the manifest with the customer's identity (its signature checked against the
//! agency's key), checks they belong together, and writes one file: HTML, Markdown or
//! JSON. It changes nothing and holds no secret value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};

use super::args::usage_problems;
use super::exit;
use super::manifest_cmd::{expected_signer, open};
use super::support::{by_terminal, print_stdout};
use crate::error::Error;
use crate::report::render::{self, Format};
use crate::report::{Input, InputFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The inventory (`audit -o`). Alone, it gives an audit report.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// The plan (`plan -o`) made from that inventory: decisions, rules and owners.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// A migrate or apply journal of that plan (repeatable): what was carried out. Its
    /// digest key is read from FILE.key.age with --identity, or from the manifest.
    #[arg(long = "journal", value_name = "FILE")]
    pub journals: Vec<PathBuf>,
    /// The verification (`verify -o`): what the customer proved live.
    #[arg(long, value_name = "FILE")]
    pub verification: Option<PathBuf>,
    /// The encrypted manifest (`manifest -o`): migrated secrets, new credentials (names
    /// only) and documentation. Opened with --identity; its signature is checked.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// An age identity file or SSH private key that opens the manifest and the journals'
    /// digest keys (repeatable).
    #[arg(short = 'i', long = "identity", value_name = "IDENTITY")]
    pub identities: Vec<PathBuf>,
    /// The manifest's signature (default: MANIFEST.sig).
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// The agency's SSH public key (a key or a .pub file); default: --config's [agency] signing_key.
    #[arg(long, value_name = "KEY|FILE")]
    pub signer: Option<String>,
    /// The handover config naming the agency's signing_key.
    #[arg(long, env = "HANDOVER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// `html`, `markdown` or `json`. Default: from the -o extension (.html, .md, .json);
    /// on stdout, Markdown on a terminal and JSON otherwise.
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write the report to this file (atomically, mode 0600). Default: stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

impl ReportArgs {
    /// Every flag problem at once, and the format.
    fn validate(&self) -> Result<Format, Error> {
        let mut problems = Vec::new();
        if !self.journals.is_empty() && self.plan.is_none() {
            problems.push(
                "--journal needs --plan: a journal's entries are steps of a plan".to_string(),
            );
        }
        let needs_identity = self.manifest.is_some() || !self.journals.is_empty();
        if needs_identity && self.identities.is_empty() {
            problems.push("--manifest and --journal need -i IDENTITY to open the manifest and the journals' digest keys".into());
        }
        if self.manifest.is_some() && self.signer.is_none() && self.config.is_none() {
            problems.push("--manifest needs the agency's public key to check its signature: pass --signer or --config".into());
        }
        if self.verification.is_some() && self.plan.is_none() && self.manifest.is_none() {
            problems.push("--verification needs --plan or --manifest: the report checks that the verification is of that plan".into());
        }
        let format = match (self.format, &self.output) {
            (Some(f), _) => Some(match f {
                ReportFormat::Html => Format::Html,
                ReportFormat::Markdown => Format::Markdown,
                ReportFormat::Json => Format::Json,
            }),
            (None, Some(out)) => {
                let f = Format::from_extension(out);
                if f.is_none() {
                    problems.push(format!("cannot tell the format from {}: name it .html, .md or .json, or pass --format", out.display()));
                }
                f
            }
            (None, None) => Some(by_terminal(Format::Markdown, Format::Json)),
        };
        usage_problems(problems, "report")?;
        Ok(format.unwrap_or(Format::Json))
    }
}

/// The inputs as read: each document and its file's digest.
struct Read {
    inventory: crate::model::Inventory,
    plan: Option<crate::plan::Plan>,
    verification: Option<crate::verify::Verification>,
    manifest: Option<(crate::manifest::Manifest, Result<String, String>)>,
    outcomes: Option<crate::manifest::Outcomes>,
    files: Vec<InputFile>,
    names: BTreeMap<&'static str, PathBuf>,
}

pub fn report_command(a: ReportArgs, quiet: bool) -> Result<u8, Error> {
    let format = a.validate()?;
    if let Some(path) = &a.output {
        crate::output::check_target(path, a.force)?;
    }
    let read = read_inputs(&a)?;
    let input = Input {
        inventory: &read.inventory,
        plan: read.plan.as_ref(),
        outcomes: read.outcomes.as_ref(),
        verification: read.verification.as_ref(),
        manifest: read.manifest.as_ref().map(|(m, s)| (m, s)),
        files: read.files.clone(),
    };
    crate::report::check_together(&input, &read.names)?;
    let report = crate::report::build(&input);
    let bytes = render::render(&report, format)?;
    match &a.output {
        Some(path) => {
            crate::output::write_private(path, &bytes, a.force)?;
            if !quiet {
                let digest = render::claimed_digest(&bytes).unwrap_or_default();
                eprintln!(
                    "wrote {}: status {}, {} item(s), report {digest}",
                    crate::output::terminal::escape(&path.display().to_string()),
                    report.summary.status.as_str(),
                    report.items.len()
                );
            }
        }
        None => print_stdout(&String::from_utf8_lossy(&bytes))?,
    }
    Ok(exit::OK)
}

fn digest_of(role: &str, path: &Path, bytes: &[u8]) -> InputFile {
    InputFile {
        role: role.into(),
        file: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: format!("sha256:{:x}", Sha256::digest(bytes)),
    }
}

/// Reads every input once; the manifest before the journals, whose keys it may hold.
fn read_inputs(a: &ReportArgs) -> Result<Read, Error> {
    use super::inputs::{inventory_from, plan_from, read_bytes, verification_from};
    let mut files = Vec::new();
    let mut names = BTreeMap::new();
    let bytes = read_bytes(&a.inventory, "inventory")?;
    files.push(digest_of("inventory", &a.inventory, &bytes));
    names.insert("inventory", a.inventory.clone());
    let inventory = inventory_from(&a.inventory, &bytes)?;
    let plan = match &a.plan {
        Some(p) => {
            let bytes = read_bytes(p, "plan")?;
            files.push(digest_of("plan", p, &bytes));
            names.insert("plan", p.clone());
            Some(plan_from(p, &bytes)?)
        }
        None => None,
    };
    let verification = match &a.verification {
        Some(v) => {
            let bytes = read_bytes(v, "verification")?;
            files.push(digest_of("verification", v, &bytes));
            names.insert("verification", v.clone());
            Some(verification_from(v, &bytes)?)
        }
        None => None,
    };
    let manifest = match &a.manifest {
        Some(m) => {
            let bytes = read_bytes(m, "manifest")?;
            files.push(digest_of("manifest", m, &bytes));
            names.insert("manifest", m.clone());
            Some(open_manifest(a, m)?)
        }
        None => None,
    };
    let outcomes = match (&plan, a.journals.is_empty()) {
        (Some(plan), false) => {
            let mut keyed = Vec::new();
            for j in &a.journals {
                let bytes = read_bytes(j, "journal")?;
                files.push(digest_of("journal", j, &bytes));
                keyed.push((
                    j.clone(),
                    journal_key(a, j, manifest.as_ref().map(|(m, _)| m))?,
                ));
            }
            let sealed = manifest.as_ref().map(|(m, _)| m.journals.as_slice());
            Some(crate::manifest::outcomes(
                plan,
                &keyed,
                sealed.unwrap_or_default(),
            )?)
        }
        _ => None,
    };
    Ok(Read {
        inventory,
        plan,
        verification,
        manifest,
        outcomes,
        files,
        names,
    })
}

/// Opens the manifest with the customer's identity; a signature that does not hold
/// (or no `.sig`) is refused as untrusted before anything is decrypted, as `verify` does.
fn open_manifest(
    a: &ReportArgs,
    file: &Path,
) -> Result<(crate::manifest::Manifest, Result<String, String>), Error> {
    let signer = expected_signer(a.signer.as_deref(), a.config.as_deref())?;
    let Some(signer) = signer else {
        return Err(Error::usage(
            "the report needs the agency's public key to check the manifest's signature",
            "pass --signer with the agency's SSH public key, or --config with [agency] signing_key",
        ));
    };
    let opened = open(file, &a.identities, a.signature.as_deref(), Some(&signer))?;
    Ok((opened.manifest, opened.signature))
}

/// A journal's digest key: the manifest's, when it records this journal by name, else
/// FILE.key.age opened with the identities.
fn journal_key(
    a: &ReportArgs,
    journal: &Path,
    manifest: Option<&crate::manifest::Manifest>,
) -> Result<crate::secret::DigestKey, Error> {
    let name = journal
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sealed = manifest.and_then(|m| {
        let rec = m.journals.iter().find(|j| j.file == name)?;
        m.digest_keys
            .iter()
            .find(|k| k.id == rec.digest_key)?
            .digest_key()
    });
    if let Some(key) = sealed {
        return Ok(key);
    }
    let mut ids = crate::crypto::Identities::empty();
    for i in &a.identities {
        ids.extend(crate::crypto::read_identities(i)?);
    }
    crate::migrate::key::open(journal, &ids)
}
