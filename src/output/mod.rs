//! Writing outputs safely: files are written whole or not at all (a temporary file in
//! the same folder, synced, then renamed), with mode 0600, and an existing file is
//! never replaced without `--force`.

pub mod terminal;

use std::io::Write;
use std::path::Path;

use crate::error::Error;

/// `path` with `suffix` appended to its file name (`handover.age` -> `handover.age.sig`).
pub fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// Writes `bytes` to `path` atomically with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<(), Error> {
    let hint_dir = "check that the folder exists and is writable";
    if path.is_dir() {
        return Err(Error::output(path, "is a folder", "name a file to write"));
    }
    if path.exists() && !force {
        return Err(Error::output(
            path,
            "already exists",
            "pass --force to overwrite it, or choose another name",
        ));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".handover-")
        .tempfile_in(dir)
        .map_err(|e| {
            Error::output(
                path,
                format!("cannot create a temporary file beside it: {e}"),
                hint_dir,
            )
        })?;
    set_private(tmp.path())
        .map_err(|e| Error::output(path, format!("cannot set mode 0600: {e}"), hint_dir))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::output(path, format!("cannot write: {e}"), hint_dir))?;
    let result = if force {
        tmp.persist(path).map(|_| ())
    } else {
        tmp.persist_noclobber(path).map(|_| ())
    };
    result.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::output(
                path,
                "already exists",
                "pass --force to overwrite it, or choose another name",
            )
        } else {
            Error::output(path, format!("cannot write: {}", e.error), hint_dir)
        }
    })
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
}
