//! The handed-over documentation, read from disk: each document the config names, as
//! the files it is made of, with their SHA-256 digests. The plan records them (so the
//! customer approves them by digest) and the manifest seals them; issue 18 grows this
//! module into `handover docs check`.
//!
//! Invariants:
//! - This is where documentation is read; the plan itself stays a pure function of its
//!   inputs and takes these items as one of them.
//! - A folder stands for every file under it, in sorted order, so the same folder gives
//!   the same items; a path that names nothing (or an empty folder) is one item marked
//!   not present, never silently dropped.
//! - Only digests are kept, never contents.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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

fn files_under(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(path) {
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            out.extend(files_under(&e));
        }
    }
    out
}

/// Reads each wanted document (`rel` under `base_dir`, a file or a folder): one item per
/// file with its digest, or one item marked not present.
pub fn read(base_dir: &Path, wanted: &[(DocKind, PathBuf)]) -> Vec<DocItem> {
    let mut items = Vec::new();
    for (kind, rel) in wanted {
        let files = files_under(&base_dir.join(rel));
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
    items
}

#[cfg(test)]
mod tests {
    use super::*;

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
        );
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
