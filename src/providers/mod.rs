//! Where inventories come from: one module per cloud. Each reads its provider's APIs
//! (official SDKs) or the exports its CLI writes into raw `sources`, and one assembler
//! per cloud turns those into the provider-agnostic `model`.

pub mod aws;
pub mod dotenv;
pub mod duty;
pub mod gcp;
pub mod snapshot_fs;

/// A part of an account or project that was read, or the reason it could not be.
#[derive(Debug, Clone)]
pub enum Availability<T> {
    Known(T),
    Unknown { source: String, reason: String },
}

impl<T> Availability<T> {
    pub fn unknown(source: impl Into<String>, reason: impl Into<String>) -> Self {
        Availability::Unknown {
            source: source.into(),
            reason: reason.into(),
        }
    }

    pub fn known(&self) -> Option<&T> {
        match self {
            Availability::Known(t) => Some(t),
            Availability::Unknown { .. } => None,
        }
    }
}

/// Reads one exported JSON file of a snapshot. Errors name the file, say whether it is
/// truncated or of the wrong shape (serde_json names line and column, never quoting the
/// input), and give the command that exports it again.
pub(crate) fn read_export_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    command: &str,
) -> Result<T, crate::error::Error> {
    use crate::error::Error;
    let bytes = read_export(path, MAX_EXPORT_BYTES)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let what = if e.is_eof() {
            "the JSON ends early (truncated file?)".to_string()
        } else {
            format!("not the JSON `{command}` prints: {e}")
        };
        Error::input(path, what, format!("export it again with `{command}`"))
    })
}

/// The largest export file read. `get-account-authorization-details` for an account of
/// 5,000 users is tens of MiB; anything past this is not an export, and is refused
/// before it is read into memory (DESIGN: every parser has a size limit).
pub const MAX_EXPORT_BYTES: u64 = 512 * 1024 * 1024;

/// Reads an export file of at most `limit` bytes.
pub(crate) fn read_export(
    path: &std::path::Path,
    limit: u64,
) -> Result<Vec<u8>, crate::error::Error> {
    use crate::error::Error;
    match crate::input::read_at_most(path, limit) {
        Ok(Some(bytes)) => Ok(bytes.to_vec()),
        Ok(None) => Err(Error::input(
            path,
            format!("larger than {limit} bytes: not an export this tool reads"),
            "check that this is the file the export command wrote (docs/snapshots.md)",
        )),
        Err(e) => Err(Error::input(
            path,
            format!("cannot read: {e}"),
            "check the file's permissions",
        )),
    }
}

#[cfg(test)]
mod tests {
    // Regression (review of issue 10): snapshot files were read whole whatever their
    // size, so a crafted multi-GiB file could exhaust memory before any check.
    #[test]
    fn an_export_larger_than_the_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("users.json");
        std::fs::write(&p, vec![b' '; 2048]).unwrap();
        let err = super::read_export(&p, 1024).unwrap_err();
        assert!(err.to_string().contains("larger than 1024 bytes"), "{err}");
        assert_eq!(super::read_export(&p, 4096).unwrap().len(), 2048);
    }
}
