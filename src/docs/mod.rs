//! The handed-over documentation, read from disk: each document the config names, as
//! the files it is made of, with their SHA-256 digests. The plan records them (so the
//! customer approves them by digest) and the manifest seals them. `check` reads them
//! once more for `handover docs check` (and `plan`): what each must say (`check`, over
//! the Markdown outline of `markdown`) and any credential pasted into them or into the
//! extra `--scan` paths (`secrets`).
//!
//! Invariants:
//! - This is where documentation is read; the plan itself stays a pure function of its
//!   inputs and takes these items (and the check's report) as inputs.
//! - A folder stands for every file under it, in sorted order, so the same folder gives
//!   the same items; a path that names nothing (or an empty folder) is one item marked
//!   not present, never silently dropped.
//! - Only digests and findings are kept, never contents: a finding names the file, the
//!   line and what is wrong, never the text it found (a credential's value least of all).
//! - Bounded: a file over [`MAX_FILE_BYTES`] is not read past that bound, a `--scan`
//!   folder yields at most [`MAX_SCAN_FILES`] files, symbolic links inside it are not
//!   followed; a binary, unreadable or oversized file is a finding, never an error.
//! - Confined: a document the config names is read only under the config's folder. A
//!   path that is absolute, holds `..`, or reaches a file or folder through a symbolic
//!   link leading out of the folder is an input error naming it (exit 3), never a read;
//!   a link inside the folder is followed, each folder walked once. A `--scan` path is
//!   the user's own choice and may be anywhere, but the walk under it follows no link.

pub mod check;
pub mod markdown;
pub mod secrets;
pub mod templates;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::model::Severity;

/// What kind of document.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum DocKind {
    /// The service-level objectives.
    Slo,
    /// A support playbook.
    Playbook,
    /// A postmortem of a past incident.
    Postmortem,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Slo => "slo",
            DocKind::Playbook => "playbook",
            DocKind::Postmortem => "postmortem",
        }
    }
}

impl std::fmt::Display for DocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One handed-over file (or a named document that is missing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocItem {
    pub kind: DocKind,
    /// Relative to the config's folder.
    pub path: String,
    pub present: bool,
    pub sha256: Option<String>,
}

fn sha256_file(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| format!("sha256:{:x}", Sha256::digest(&b)))
}

const ESCAPE_HINT: &str = "keep the handed-over documents in the config's folder (or a folder below it), name them relative to it, and copy a document there rather than linking to it";

/// A document path as the config gives it: relative, and with no `..`, so it cannot
/// name anything outside the config's folder by its spelling.
fn confined(base_dir: &Path, rel: &Path) -> Result<(), Error> {
    use std::path::Component;
    if rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Ok(());
    }
    Err(Error::input(
        base_dir.join(rel),
        format!(
            "the documentation path {:?} in the config leaves the config's folder (an absolute path or `..`); it is not read",
            rel.display().to_string()
        ),
        ESCAPE_HINT,
    ))
}

/// Every file `path` stands for (itself, or every file under it in sorted order), each
/// checked to resolve under `base_real` (the config's canonical folder): a symbolic link
/// that leads out of it is an error naming the link. A folder is walked once however
/// many links lead to it, so a link loop ends. An absent path (or a dangling link, or
/// something that is neither a file nor a folder) stands for no file.
fn files_under(base_real: &Path, path: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let mut walked = std::collections::BTreeSet::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(p) = pending.pop() {
        let Ok(real) = p.canonicalize() else {
            continue;
        };
        if !real.starts_with(base_real) {
            return Err(Error::input(
                &p,
                format!(
                    "leads outside the config's folder {} (a symbolic link?); it is not read",
                    base_real.display()
                ),
                ESCAPE_HINT,
            ));
        }
        let Ok(meta) = std::fs::metadata(&real) else {
            continue;
        };
        if meta.is_file() {
            out.push(p);
        } else if meta.is_dir() && walked.insert(real) {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&p)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            entries.sort();
            pending.extend(entries.into_iter().rev());
        }
    }
    Ok(out)
}

/// Reads each wanted document (`rel` under `base_dir`, a file or a folder): one item per
/// file with its digest, or one item marked not present. A path that leaves
/// `base_dir` (absolute, `..`, or a symbolic link leading out) is an input error naming
/// it: a config must not make `plan` or `docs check` read, digest or seal a file from
/// elsewhere on the disk.
pub fn read(base_dir: &Path, wanted: &[(DocKind, PathBuf)]) -> Result<Vec<DocItem>, Error> {
    // `--config handover.toml` gives an empty folder: the current one.
    let folder = if base_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base_dir
    };
    let base_real = folder.canonicalize().map_err(|e| {
        Error::input(
            base_dir,
            format!("cannot open the config's folder: {}", e.kind()),
            "check the config's path and its folder's permissions",
        )
    })?;
    let mut items = Vec::new();
    for (kind, rel) in wanted {
        confined(base_dir, rel)?;
        let files = files_under(&base_real, &base_dir.join(rel))?;
        if files.is_empty() {
            items.push(DocItem {
                kind: *kind,
                path: rel.display().to_string(),
                present: false,
                sha256: None,
            });
        }
        for file in files {
            items.push(DocItem {
                kind: *kind,
                path: file
                    .strip_prefix(base_dir)
                    .unwrap_or(&file)
                    .display()
                    .to_string(),
                present: true,
                sha256: sha256_file(&file),
            });
        }
    }
    Ok(items)
}

/// The largest file read: past it a document is a finding (`unreadable`), not read.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// The most files one `--scan` folder yields; past it, one finding says so.
pub const MAX_SCAN_FILES: usize = 100_000;

/// One finding of `docs check`: where, which check, how bad, what is wrong. For a
/// credential, its kind; never its value.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Finding {
    /// The file: relative to the config's folder for a handed-over document, as given
    /// (joined with the file's path under it) for a `--scan` path.
    pub path: String,
    /// The document kind, or `null` for a file scanned with `--scan`.
    pub document: Option<DocKind>,
    /// 1-based; `null` when the finding is about the whole file.
    pub line: Option<usize>,
    pub check: check::Check,
    pub severity: Severity,
    /// For `secret-in-document`: what kind of credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<secrets::SecretKind>,
    pub message: String,
    /// The found credential's identifier, for the plan to compare with the inventory
    /// (redacted in `Debug`, never serialised).
    #[serde(skip)]
    #[schemars(skip)]
    pub key_id: Option<secrets::KeyId>,
}

impl Finding {
    /// `path:line`, or the path alone.
    pub fn location(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.path),
            None => self.path.clone(),
        }
    }
}

/// What `docs check` found over every document and scanned file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Report {
    /// The files checked (documents and scanned files), in order.
    pub files: Vec<String>,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether any finding is at `severity` or above.
    pub fn fails_at(&self, severity: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= severity)
    }
}

fn severity_of(c: check::Check) -> Severity {
    use check::Check::*;
    match c {
        SecretInDocument => Severity::Critical,
        AgencyContact | Unreadable | Missing => Severity::High,
        SectionMissing | SloWithoutTargetOrWindow | BudgetPolicyIncomplete | RoleMissing => {
            Severity::Medium
        }
        _ => Severity::Low,
    }
}

/// A file's text, or why it cannot be checked (never with any of its content).
fn read_text(path: &Path) -> Result<(String, bool), String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot be read ({})", e.kind()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read ({})", e.kind()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "is larger than {} MiB: not checked nor scanned (split it, or remove it from the handover)",
            MAX_FILE_BYTES >> 20
        ));
    }
    if bytes.contains(&0) {
        return Err(
            "is a binary file: not checked nor scanned (hand over text, or remove it)".into(),
        );
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok((s, true)),
        Err(e) => Ok((String::from_utf8_lossy(e.as_bytes()).into_owned(), false)),
    }
}

fn finding(
    path: &str,
    document: Option<DocKind>,
    line: Option<usize>,
    check: check::Check,
    message: String,
) -> Finding {
    Finding {
        path: path.to_string(),
        document,
        line,
        check,
        severity: severity_of(check),
        secret: None,
        message,
        key_id: None,
    }
}

/// Checks one file: its structure for its kind (when it is a document), then the
/// secret scan.
fn check_file(
    file: &Path,
    shown: &str,
    kind: Option<DocKind>,
    st: &check::Settings,
) -> Vec<Finding> {
    let (text, utf8) = match read_text(file) {
        Ok(t) => t,
        Err(why) => {
            return vec![finding(
                shown,
                kind,
                None,
                check::Check::Unreadable,
                format!("{shown} {why}"),
            )]
        }
    };
    let mut out = Vec::new();
    if !utf8 {
        out.push(finding(
            shown,
            kind,
            None,
            check::Check::Unreadable,
            format!(
                "{shown} is not valid UTF-8: checked and scanned with the invalid bytes replaced"
            ),
        ));
    }
    if let Some(kind) = kind {
        let o = markdown::Outline::parse(&text);
        let problems = match kind {
            DocKind::Slo => check::check_slo(&o, &st.sections),
            DocKind::Playbook => check::check_playbook(&o, &text, st),
            DocKind::Postmortem => check::check_postmortem(&o, &st.sections),
        };
        out.extend(
            problems
                .into_iter()
                .map(|p| finding(shown, Some(kind), Some(p.line), p.check, p.message)),
        );
    }
    for hit in secrets::scan(&text) {
        out.push(Finding {
            secret: Some(hit.kind),
            key_id: hit.key_id,
            ..finding(
                shown,
                kind,
                Some(hit.line),
                check::Check::SecretInDocument,
                format!(
                    "{} is pasted here: rotate it, then remove it from the document",
                    hit.kind.describe()
                ),
            )
        });
    }
    out
}

/// The files under a `--scan` path: symbolic links not followed, at most
/// `MAX_SCAN_FILES` (the second value says whether more were left out).
fn scan_files(root: &Path) -> (Vec<PathBuf>, bool) {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(p) = pending.pop() {
        // The path given is followed (it is what the user named); links under it are not.
        let meta = if p == root {
            std::fs::metadata(&p)
        } else {
            std::fs::symlink_metadata(&p)
        };
        let Ok(meta) = meta else {
            out.push(p);
            continue;
        };
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&p)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            entries.sort();
            pending.extend(entries.into_iter().rev());
        } else if meta.is_file() {
            if out.len() == MAX_SCAN_FILES {
                return (out, true);
            }
            out.push(p);
        }
    }
    (out, false)
}

/// Checks the documents the config names (`wanted`, under `base_dir`) and scans them
/// and every file under `scan` for credentials.
pub fn check(
    base_dir: &Path,
    wanted: &[(DocKind, PathBuf)],
    scan: &[PathBuf],
    st: &check::Settings,
) -> Result<Report, Error> {
    let mut report = Report::default();
    for item in read(base_dir, wanted)? {
        if !item.present {
            report.findings.push(finding(
                &item.path,
                Some(item.kind),
                None,
                check::Check::Missing,
                format!(
                    "the {} {} named in the config is missing or empty",
                    item.kind, item.path
                ),
            ));
            continue;
        }
        let file = base_dir.join(&item.path);
        report
            .findings
            .extend(check_file(&file, &item.path, Some(item.kind), st));
        report.files.push(item.path);
    }
    for root in scan {
        let (files, more) = scan_files(root);
        for file in files {
            let shown = file.display().to_string();
            report.findings.extend(check_file(&file, &shown, None, st));
            report.files.push(shown);
        }
        if more {
            let shown = root.display().to_string();
            report.findings.push(finding(&shown, None, None, check::Check::Unreadable, format!("{shown} holds more than {MAX_SCAN_FILES} files: only the first {MAX_SCAN_FILES} were scanned")));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A --scan path that is a link to a folder is scanned (the user named it); a link
    // inside it, which could lead anywhere on the disk, is not followed.
    #[cfg(unix)]
    #[test]
    fn a_scanned_link_is_followed_at_the_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        let real = dir.path().join("real");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::create_dir_all(&real).unwrap();
        std::fs::write(outside.join("secret.md"), "x").unwrap();
        std::fs::write(real.join("a.md"), "a").unwrap();
        std::os::unix::fs::symlink(&outside, real.join("escape")).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let (files, more) = scan_files(&link);
        assert_eq!(files, [link.join("a.md")]);
        assert!(!more);
    }

    #[test]
    fn a_folder_is_its_files_in_order_and_a_missing_path_is_one_absent_item() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("play/b")).unwrap();
        std::fs::write(dir.path().join("play/z.md"), "z").unwrap();
        std::fs::write(dir.path().join("play/b/a.md"), "a").unwrap();
        let items = read(
            dir.path(),
            &[
                (DocKind::Playbook, PathBuf::from("play")),
                (DocKind::Slo, PathBuf::from("slo.md")),
            ],
        )
        .unwrap();
        let paths: Vec<(&str, bool)> = items.iter().map(|d| (d.path.as_str(), d.present)).collect();
        assert_eq!(
            paths,
            [
                ("play/b/a.md", true),
                ("play/z.md", true),
                ("slo.md", false)
            ]
        );
        assert_eq!(
            items[0].sha256.as_deref(),
            Some("sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")
        );
    }
}
