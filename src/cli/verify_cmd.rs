//! `handover verify`: open the manifest, check its signature and recipients, read the
//! live accounts and projects with the customer's own credentials (`verify::live`), and
//! check each claim (`verify::check`). It only reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

use super::args::{
    check_concurrency, usage_problems, ConcurrencyArgs, Format, FormatArgs, GcpEndpointArgs,
    OpenArgs, RetryArgs,
};
use super::exit;
use super::manifest_cmd::{expected_signer, open, recipients_match, Opened};
use super::support::{pretty_json, print_stdout, progress, runtime};
use crate::error::Error;
use crate::manifest::Manifest;
use crate::providers::gcp::live::GcpSettings;
use crate::verify::{self, live, Claim, ClaimKind, ClaimStatus};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub open: OpenArgs,
    /// An AWS profile with the customer's credentials (repeatable: one per account). Default: the standard chain.
    #[arg(long = "profile", value_name = "NAME")]
    pub profiles: Vec<String>,
    #[command(flatten)]
    pub gcp: GcpEndpointArgs,
    /// The folder the documentation was handed over in (paths as in the manifest).
    #[arg(long, value_name = "DIR")]
    pub docs: Option<PathBuf>,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Also write the verification JSON (`handover schema verification`) to this file
    /// (atomically, mode 0600): the input of `handover report --verification`.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub concurrency: ConcurrencyArgs,
}

impl VerifyArgs {
    /// Validates the flags into the settings the live read uses.
    pub fn validate(&self) -> Result<live::Settings, Error> {
        let mut problems = Vec::new();
        let concurrency = self.concurrency.concurrency;
        check_concurrency(concurrency, &mut problems);
        usage_problems(problems, "verify")?;
        Ok(live::Settings {
            profiles: self.profiles.clone(),
            gcp: GcpSettings {
                endpoint: self.gcp.gcp_endpoint.clone(),
                concurrency,
                max_attempts: self.retry.max_attempts,
            },
            concurrency,
            max_attempts: self.retry.max_attempts,
        })
    }
}

pub fn verify_command(a: VerifyArgs, quiet: bool) -> Result<u8, Error> {
    let settings = a.validate()?;
    super::support::check_profiles(&settings.profiles)?;
    // Refuse the output before opening the manifest or reading any account.
    if let Some(path) = &a.output {
        crate::output::check_target(path, a.force)?;
    }
    let o = &a.open;
    let Some(signer) = expected_signer(o.signer.as_deref(), o.config.as_deref())? else {
        return Err(Error::usage(
            "verify needs the agency's public key to check the signature",
            "pass --signer with the agency's SSH public key (as agreed out of band), or --config with [agency] signing_key",
        ));
    };
    // The signature is checked before anything is decrypted: a file it does not cover is
    // refused here (exit 10), and nothing in it is read or printed.
    let opened = open(
        &o.file,
        &o.identities,
        o.signature.as_deref(),
        Some(&signer),
    )?;
    let m = &opened.manifest;
    let recipients = recipients_match(m, &opened.stanzas);
    let now = chrono::Utc::now();
    let progress = progress(!quiet);
    let mut live = runtime()?.block_on(live::read(m, &settings, now, progress.clone()));
    progress.phase("done", 0);
    live.integrity = integrity(&o.file, &opened, &recipients);
    live.documents = a.docs.as_deref().map(|d| documents(m, d));
    let v = verify::check(m, &live, now);
    // The file is the same document JSON prints, written whole or not at all; it is
    // written whatever the claims say (a failed verification is what an auditor needs).
    if let Some(path) = &a.output {
        crate::output::write_private(path, pretty_json(&v).as_bytes(), a.force)?;
    }
    match a.format.resolve() {
        // JSON chosen only because stdout is not a terminal, and the file has it.
        Format::Json if a.output.is_some() && a.format.format.is_none() => {}
        Format::Json => print_stdout(&pretty_json(&v))?,
        Format::Table => print_stdout(&verify::render_for(
            &for_terminal(&v),
            &crate::output::terminal::Term::stdout(),
        ))?,
    }
    if v.incomplete() {
        eprint!("{}", incomplete(&v, &live.unread));
    }
    if opened.signature.is_err() || recipients.is_err() {
        return Ok(exit::UNTRUSTED);
    }
    Ok(if v.failed() {
        exit::VERIFY_FAILED
    } else if v.incomplete() {
        exit::UNCHECKED
    } else {
        exit::OK
    })
}

/// Why claims are unchecked, and what to try: the scopes not read, and for each cloud
/// among them the credentials and the policy `verify` needs.
fn incomplete(v: &verify::Verification, unread: &[(crate::manifest::Scope, String)]) -> String {
    use crate::model::Provider;
    use crate::output::terminal::escape;
    use crate::providers::duty::Duty;
    let n = v
        .claims
        .iter()
        .filter(|c| c.status == verify::ClaimStatus::Unchecked)
        .count();
    let scopes: Vec<String> = unread
        .iter()
        .map(|(s, _)| escape(&format!("{} {}", s.provider, s.scope)).into_owned())
        .collect();
    let mut hints = Vec::new();
    if unread.iter().any(|(s, _)| s.provider == Provider::Aws) {
        hints.push(format!("AWS: {}", Duty::Verify.aws_hint()));
    }
    if unread.iter().any(|(s, _)| s.provider == Provider::Gcp) {
        hints.push(format!("GCP: {}", Duty::Verify.gcp_hint()));
    }
    if scopes.is_empty() {
        // Only destination secrets went unread: their claims say why.
        return format!("verification incomplete: {n} claim(s) unchecked (see their details)\n");
    }
    format!(
        "verification incomplete: {n} claim(s) unchecked: {} could not be read (see the scope claims)\n  hint: {}\n",
        scopes.join(", "),
        hints.join("; ")
    )
}

/// The claims opening the manifest made: who signed it, and whom it is encrypted to.
fn integrity(file: &Path, opened: &Opened, recipients: &Result<(), String>) -> Vec<Claim> {
    let claim = |kind: ClaimKind, status, detail| Claim {
        kind,
        subject: file.display().to_string(),
        status,
        detail,
    };
    vec![
        match &opened.signature {
            Ok(fp) => claim(
                ClaimKind::Signature,
                ClaimStatus::Pass,
                format!("signed by the agency's key {fp}"),
            ),
            Err(e) => claim(ClaimKind::Signature, ClaimStatus::Fail, e.clone()),
        },
        match recipients {
            Ok(()) => claim(
                ClaimKind::Recipients,
                ClaimStatus::Pass,
                format!(
                    "encrypted to exactly the {} recipient(s) it names",
                    opened.manifest.recipients.len()
                ),
            ),
            Err(e) => claim(ClaimKind::Recipients, ClaimStatus::Fail, e.clone()),
        },
    ]
}

/// The verification with every string that may come from the manifest or the live
/// accounts escaped for a terminal (a forged or hostile name must not rewrite the lines
/// around it).
fn for_terminal(v: &verify::Verification) -> verify::Verification {
    use crate::output::terminal::escape;
    let mut v = v.clone();
    v.plan_digest = escape(&v.plan_digest).into_owned();
    for c in &mut v.claims {
        c.subject = escape(&c.subject).into_owned();
        c.detail = escape(&c.detail).into_owned();
    }
    v
}

/// Each document's digest as found under `dir`, by the manifest's path.
fn documents(m: &Manifest, dir: &Path) -> BTreeMap<String, Result<String, String>> {
    let root = dir.canonicalize();
    m.documentation
        .iter()
        .map(|d| {
            let read = match &root {
                Ok(root) => read_document(root, &d.path),
                Err(e) => Err(format!("the documentation folder cannot be read: {e}")),
            };
            (d.path.clone(), read)
        })
        .collect()
}

/// The sha256 of one handed-over document, read only from under `root` (canonical).
///
/// The path comes from the manifest, which is input like any other: an absolute path, a
/// `..` or a symlink that leads out of `--docs` is refused, never read, and only regular
/// files are hashed (a FIFO would hang, a device stream forever).
fn read_document(root: &Path, rel: &str) -> Result<String, String> {
    use sha2::Digest;
    use std::path::Component;
    let p = Path::new(rel);
    if rel.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err("its path is absolute or steps out with `..`: not read".into());
    }
    let real = match root.join(p).canonicalize() {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("not found in the documentation folder".into())
        }
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    if !real.starts_with(root) {
        return Err("leads outside the documentation folder (a symlink?): not read".into());
    }
    if !real.is_file() {
        return Err("not a regular file: not read".into());
    }
    let mut hasher = sha2::Sha256::new();
    std::fs::File::open(&real)
        .and_then(|mut f| std::io::copy(&mut f, &mut hasher))
        .map_err(|e| format!("cannot be read: {e}"))?;
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression (review of issue 10): documentation paths come from the manifest and
    // were joined to --docs as they were, so `../x`, `/abs` or a symlink read files
    // outside the folder. Only regular files under the folder are hashed.
    #[cfg(unix)]
    #[test]
    fn document_paths_from_the_manifest_stay_under_the_docs_folder() {
        let top = tempfile::tempdir().unwrap();
        let docs = top.path().join("docs");
        std::fs::create_dir_all(docs.join("playbooks")).unwrap();
        std::fs::write(docs.join("playbooks/oncall.md"), "on call").unwrap();
        std::fs::write(top.path().join("outside.md"), "outside").unwrap();
        std::os::unix::fs::symlink(top.path().join("outside.md"), docs.join("link.md")).unwrap();
        let root = docs.canonicalize().unwrap();
        assert!(read_document(&root, "playbooks/oncall.md")
            .unwrap()
            .starts_with("sha256:"));
        for (rel, why) in [
            ("../outside.md", "steps out"),
            ("playbooks/../../outside.md", "steps out"),
            ("/etc/hostname", "absolute"),
            ("", "absolute"),
            ("link.md", "leads outside"),
            ("playbooks", "not a regular file"),
            ("missing.md", "not found"),
        ] {
            let err = read_document(&root, rel).unwrap_err();
            assert!(err.contains(why), "{rel:?}: {err}");
        }
    }

    /// Issue 10 item 8: names read live or from the manifest reached the verify table raw.
    #[test]
    fn the_verify_table_escapes_every_claim_field() {
        let hostile = "x\u{1b}[1A\u{1b}[2K\rPASS    signature\u{202e}";
        let v = verify::Verification {
            schema: verify::SCHEMA.into(),
            version: 1,
            checked_at: chrono::Utc::now(),
            plan_digest: hostile.into(),
            manifest_created_at: chrono::Utc::now(),
            handover_date: chrono::Utc::now(),
            summary: Default::default(),
            claims: vec![Claim {
                kind: ClaimKind::Signature,
                subject: hostile.into(),
                status: ClaimStatus::Fail,
                detail: format!("{hostile}\nPASS    all"),
            }],
        };
        // With colour, the only escape sequences are the status word's own (red FAIL).
        for color in [false, true] {
            let term = crate::output::terminal::Term {
                width: Some(80),
                color,
            };
            let text = verify::render_for(&for_terminal(&v), &term).replacen(
                "\u{1b}[31mFAIL\u{1b}[0m",
                "FAIL",
                1,
            );
            for c in ['\u{1b}', '\r', '\u{202e}'] {
                assert!(!text.contains(c), "raw {c:?} in {text}");
            }
            assert!(
                text.starts_with("STATUS")
                    && text.lines().nth(1).is_some_and(|l| l.starts_with("FAIL"))
                    && !text.lines().any(|l| l.starts_with("PASS")),
                "{text}"
            );
        }
    }
}
