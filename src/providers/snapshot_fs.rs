//! The file system side of reading a snapshot: every file read stays under the folder
//! the user named, whatever the exported JSON says.
//!
//! Invariants (issue 10, item 5):
//! - No path is ever built from data. A name that comes from an export (an IAM user
//!   name, a service-account email, a secret id) is looked up in one listing of the
//!   folder ([`Listing`]); `read_dir` never yields `.`, `..` or a name with `/`, so no
//!   name can step out of the folder, however it is spelled.
//! - Every file or folder used is canonicalized and must lie under the canonical root:
//!   a symlink that leads outside is an input error naming the link, never a read.
//! - Only regular files are read (a FIFO or a device would hang or stream forever).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;

const ESCAPE_HINT: &str =
    "copy the exported file into the snapshot folder instead of linking to it; a snapshot reads nothing outside its folder";

/// A snapshot folder, canonicalized once.
#[derive(Debug, Clone)]
pub struct SnapshotRoot {
    root: PathBuf,
}

/// What a path under the root turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

impl SnapshotRoot {
    /// Opens `dir` as the root every later read must stay under.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let root = dir.canonicalize().map_err(|e| {
            Error::input(
                dir,
                format!("cannot open the snapshot folder: {e}"),
                "check the path and its permissions",
            )
        })?;
        if !root.is_dir() {
            return Err(Error::input(
                dir,
                "not a folder",
                "pass the snapshot folder (see docs/snapshots.md)",
            ));
        }
        Ok(SnapshotRoot { root })
    }

    /// The canonical root.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `Ok(None)` when nothing is at `path`; the canonical path when it resolves under
    /// the root and is of `kind`; an error when it leads outside the root.
    fn resolve(&self, path: &Path, kind: Kind) -> Result<Option<PathBuf>, Error> {
        if std::fs::symlink_metadata(path).is_err() {
            return Ok(None);
        }
        let real = match path.canonicalize() {
            Ok(p) => p,
            // A dangling symlink: nothing to read, but say why rather than skip it.
            Err(e) => {
                return Err(Error::input(
                    path,
                    format!("cannot resolve this snapshot entry: {e}"),
                    ESCAPE_HINT,
                ));
            }
        };
        if !real.starts_with(&self.root) {
            return Err(Error::input(
                path,
                format!(
                    "leads outside the snapshot folder {} (a symlink?); it is not read",
                    self.root.display()
                ),
                ESCAPE_HINT,
            ));
        }
        let meta = std::fs::metadata(&real).map_err(|e| {
            Error::input(
                path,
                format!("cannot read: {e}"),
                "check the file's permissions",
            )
        })?;
        let ok = match kind {
            Kind::File => meta.is_file(),
            Kind::Dir => meta.is_dir(),
        };
        Ok(ok.then_some(real))
    }

    /// A regular file under the root, or `None` when there is none at `path` (or
    /// something that is not a regular file, such as a folder or a FIFO).
    pub fn file(&self, path: &Path) -> Result<Option<PathBuf>, Error> {
        let r = self.resolve(path, Kind::File)?;
        if r.is_none() && path.exists() && !path.is_dir() {
            return Err(Error::input(
                path,
                "not a regular file; it is not read",
                "a snapshot holds only the JSON files the export commands write",
            ));
        }
        Ok(r)
    }

    /// A folder under the root, or `None`.
    pub fn dir(&self, path: &Path) -> Result<Option<PathBuf>, Error> {
        self.resolve(path, Kind::Dir)
    }

    /// Lists a folder under the root once: its entries by name, each checked to stay
    /// under the root. An absent folder lists as empty.
    pub fn listing(&self, dir: &Path) -> Result<Listing, Error> {
        let mut entries = BTreeMap::new();
        let Some(real) = self.dir(dir)? else {
            return Ok(Listing { entries });
        };
        let rd = std::fs::read_dir(&real).map_err(|e| {
            Error::input(
                dir,
                format!("cannot read the folder: {e}"),
                "check the path and its permissions",
            )
        })?;
        for entry in rd {
            let entry = entry.map_err(|e| {
                Error::input(
                    dir,
                    format!("cannot read the folder: {e}"),
                    "check its permissions",
                )
            })?;
            // A name that is not UTF-8 cannot be any name an export carries.
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            entries.insert(name, entry.path());
        }
        Ok(Listing { entries })
    }
}

/// The entries of one folder, by name, sorted.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    entries: BTreeMap<String, PathBuf>,
}

impl Listing {
    /// The entry called exactly `name`, if the folder has one. `name` is compared, never
    /// joined to a path.
    pub fn get(&self, name: &str) -> Option<&Path> {
        self.entries.get(name).map(PathBuf::as_path)
    }

    /// Every entry, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.entries.iter().map(|(n, p)| (n.as_str(), p.as_path()))
    }
}

/// A name printable in a message: at most 80 characters, control characters escaped,
/// so that a hostile name can neither flood nor drive a terminal.
pub fn quote_name(name: &str) -> String {
    let mut out: String = name.chars().take(80).flat_map(char::escape_debug).collect();
    if name.chars().count() > 80 {
        out.push('…');
    }
    format!("\"{out}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symlink inside the root that points outside it is refused, never followed.
    #[test]
    fn a_symlink_out_of_the_root_is_an_error() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("canary.json"), "{}").unwrap();
        let snap = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("canary.json"),
            snap.path().join("link.json"),
        )
        .unwrap();
        std::fs::write(snap.path().join("inside.json"), "{}").unwrap();
        std::os::unix::fs::symlink(snap.path().join("inside.json"), snap.path().join("ok.json"))
            .unwrap();
        let root = SnapshotRoot::open(snap.path()).unwrap();
        let e = root.file(&snap.path().join("link.json")).unwrap_err();
        assert!(
            e.to_string().contains("leads outside the snapshot folder"),
            "{e}"
        );
        assert!(
            root.file(&snap.path().join("ok.json")).unwrap().is_some(),
            "a link that stays inside is fine"
        );
        assert!(root
            .file(&snap.path().join("absent.json"))
            .unwrap()
            .is_none());
    }

    /// Names from data are looked up, so `..` and absolute paths match nothing.
    #[test]
    fn a_listing_never_matches_a_path_like_name() {
        let snap = tempfile::tempdir().unwrap();
        std::fs::create_dir(snap.path().join("alice")).unwrap();
        let root = SnapshotRoot::open(snap.path()).unwrap();
        let l = root.listing(snap.path()).unwrap();
        assert!(l.get("alice").is_some());
        for evil in ["..", ".", "../alice", "/etc", "alice/", "alice/../alice"] {
            assert!(l.get(evil).is_none(), "{evil}");
        }
    }

    #[test]
    fn quoted_names_are_short_and_escaped() {
        assert_eq!(quote_name("a\u{1b}[2Jb"), "\"a\\u{1b}[2Jb\"");
        assert!(quote_name(&"x".repeat(10_000)).chars().count() < 90);
    }
}
