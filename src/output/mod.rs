//! Writing outputs safely: files are written whole or not at all (a temporary file in
//! the same folder, synced, then renamed), with mode 0600, and an existing file is
//! never replaced without `--force`.
//!
//! Invariants:
//! - Only regular files are written. A target that exists as anything else (a device
//!   such as `/dev/full`, a FIFO, a socket, a folder) is refused, `--force` or not, and
//!   so is a symbolic link: the tool never writes through a link to a place the user did
//!   not name (name the real file instead). The rename replaces a directory entry and
//!   never writes into what it named, so even a target swapped after the check is not
//!   written through; without `--force` the rename refuses any existing entry.
//! - A command with several outputs (`plan -o` and `--markdown`, a manifest and its
//!   `.sig`) builds one `Outputs` set: every target is checked before any is written,
//!   every temporary file is written and synced before any is renamed, and if a rename
//!   still fails the error names the outputs already in place.
//! - Files the tool keeps updating (the journal, its head and key file) are checked with
//!   `check_regular_or_absent` before the first write.

pub mod table;
pub mod terminal;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// `path` with `suffix` appended to its file name (`handover.age` -> `handover.age.sig`).
pub fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

const HINT_DIR: &str = "check that the folder exists and is writable";

/// What is at a path, without following a link.
fn kind_problem(path: &Path) -> Result<Option<(&'static str, &'static str)>, Error> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::output(
                path,
                format!("cannot inspect it: {e}"),
                HINT_DIR,
            ))
        }
    };
    let t = meta.file_type();
    Ok(if t.is_symlink() {
        Some((
            "is a symbolic link; handover does not write through links",
            "name the file the link points to, or remove the link",
        ))
    } else if t.is_dir() {
        Some(("is a folder", "name a file to write"))
    } else if !t.is_file() {
        Some(("is not a regular file (a device, FIFO or socket); it is never replaced, even with --force", "name a regular file to write, or leave out the option to print instead"))
    } else {
        None
    })
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn check_parent(path: &Path) -> Result<(), Error> {
    if parent_of(path).is_dir() {
        Ok(())
    } else {
        Err(Error::output(
            path,
            format!("its folder {} does not exist", parent_of(path).display()),
            HINT_DIR,
        ))
    }
}

/// Checks that `path` may be written as a new output: a regular file (existing only
/// with `force`) or nothing yet, in a folder that exists.
pub fn check_target(path: &Path, force: bool) -> Result<(), Error> {
    if let Some((what, hint)) = kind_problem(path)? {
        return Err(Error::output(path, what, hint));
    }
    if !force && std::fs::symlink_metadata(path).is_ok() {
        return Err(Error::output(
            path,
            "already exists",
            "pass --force to overwrite it, or choose another name",
        ));
    }
    check_parent(path)
}

/// Checks files the tool appends to or keeps replacing (a journal, its head): each is
/// a regular file or absent, in a folder that exists.
pub fn check_regular_or_absent(paths: &[&Path]) -> Result<(), Error> {
    for p in paths {
        if let Some((what, hint)) = kind_problem(p)? {
            return Err(Error::output(p, what, hint));
        }
        check_parent(p)?;
    }
    Ok(())
}

/// Every output of one command: checked together, then written together.
pub struct Outputs {
    force: bool,
    files: Vec<(PathBuf, zeroize::Zeroizing<Vec<u8>>)>,
}

impl Outputs {
    pub fn new(force: bool) -> Self {
        Outputs {
            force,
            files: Vec::new(),
        }
    }

    /// Adds an output (nothing is written until `write`).
    pub fn add(&mut self, path: &Path, bytes: &[u8]) -> &mut Self {
        self.files
            .push((path.to_path_buf(), zeroize::Zeroizing::new(bytes.to_vec())));
        self
    }

    /// Checks every target (see `check_paths`).
    pub fn check(&self) -> Result<(), Error> {
        check_paths(
            &self
                .files
                .iter()
                .map(|(p, _)| p.as_path())
                .collect::<Vec<_>>(),
            self.force,
        )
    }

    /// Checks every target, writes every temporary file, then renames each into place.
    /// Nothing is written when a check fails or a temporary file cannot be written.
    pub fn write(&self) -> Result<(), Error> {
        self.check()?;
        let mut staged = Vec::with_capacity(self.files.len());
        for (path, bytes) in &self.files {
            staged.push((path, stage(path, bytes)?));
        }
        let mut done: Vec<&Path> = Vec::new();
        for (path, tmp) in staged {
            let result = if self.force {
                tmp.persist(path).map(|_| ())
            } else {
                tmp.persist_noclobber(path).map(|_| ())
            };
            if let Err(e) = result {
                let what = if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                    "already exists".to_string()
                } else {
                    format!("cannot write: {}", e.error)
                };
                let what = if done.is_empty() {
                    what
                } else {
                    format!(
                        "{what}; already written: {}",
                        done.iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                return Err(Error::output(
                    path,
                    what,
                    "pass --force to overwrite, or choose other names; then run the command again",
                ));
            }
            done.push(path);
        }
        Ok(())
    }
}

/// Checks a command's targets together: each may be written (`check_target`), and no
/// two name the same file.
pub fn check_paths(paths: &[&Path], force: bool) -> Result<(), Error> {
    for (i, p) in paths.iter().enumerate() {
        if paths[..i].iter().any(|q| q == p) {
            return Err(Error::usage(
                format!("{} is named for two outputs", p.display()),
                "give each output its own file",
            ));
        }
        check_target(p, force)?;
    }
    Ok(())
}

/// A temporary file beside `path`, mode 0600, holding `bytes`, synced.
fn stage(path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, Error> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".handover-")
        .tempfile_in(parent_of(path))
        .map_err(|e| {
            Error::output(
                path,
                format!("cannot create a temporary file beside it: {e}"),
                HINT_DIR,
            )
        })?;
    set_private(tmp.path())
        .map_err(|e| Error::output(path, format!("cannot set mode 0600: {e}"), HINT_DIR))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::output(path, format!("cannot write: {e}"), HINT_DIR))?;
    Ok(tmp)
}

/// Writes `bytes` to `path` atomically with mode 0600 (a set of one output).
pub fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<(), Error> {
    Outputs::new(force).add(path, bytes).write()
}

#[cfg(unix)]
fn set_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_0600_and_refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.json");
        write_private(&p, b"one", false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let err = write_private(&p, b"two", false).unwrap_err();
        assert!(err.to_string().contains("already exists"));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write_private(&p, b"two", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    // Regression: `-o /dev/full --force` replaced the device node with a regular file.
    #[cfg(unix)]
    #[test]
    fn non_regular_targets_are_refused_even_with_force() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let real = dir.path().join("real.json");
        std::fs::write(&real, b"keep").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        for (p, expected) in [
            (&fifo, "not a regular file"),
            (&link, "symbolic link"),
            (&dir.path().to_path_buf(), "folder"),
        ] {
            for force in [false, true] {
                let err = write_private(p, b"x", force).unwrap_err();
                assert!(
                    matches!(err, Error::Output { .. }) && err.to_string().contains(expected),
                    "{err}"
                );
            }
        }
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo(),
            "the FIFO is still a FIFO"
        );
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"keep");
        // A character device, when the machine has one to test with.
        let dev = Path::new("/dev/null");
        if std::fs::symlink_metadata(dev)
            .map(|m| m.file_type().is_char_device())
            .unwrap_or(false)
        {
            assert!(check_target(dev, true)
                .unwrap_err()
                .to_string()
                .contains("not a regular file"));
        }
    }

    // Regression: `plan` wrote plan.json, then failed on the existing --markdown file.
    #[test]
    fn a_set_writes_nothing_when_any_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.json"), dir.path().join("b.md"));
        std::fs::write(&b, b"old").unwrap();
        let err = Outputs::new(false)
            .add(&a, b"new a")
            .add(&b, b"new b")
            .write()
            .unwrap_err();
        assert!(
            err.to_string().contains("b.md") && err.to_string().contains("already exists"),
            "{err}"
        );
        assert!(!a.exists(), "nothing is written when one target is refused");
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
        let err = Outputs::new(true)
            .add(&a, b"1")
            .add(&a, b"2")
            .write()
            .unwrap_err();
        assert!(err.to_string().contains("two outputs"), "{err}");
        let err = Outputs::new(false)
            .add(&a, b"1")
            .add(&dir.path().join("no/such/dir/x"), b"2")
            .write()
            .unwrap_err();
        assert!(
            err.to_string().contains("does not exist") && !a.exists(),
            "{err}"
        );
        Outputs::new(true)
            .add(&a, b"new a")
            .add(&b, b"new b")
            .write()
            .unwrap();
        assert_eq!(std::fs::read(&b).unwrap(), b"new b");
        assert!(check_regular_or_absent(&[&a, &dir.path().join("absent")]).is_ok());
    }
}
