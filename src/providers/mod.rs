//! Where inventories come from: one module per cloud. Each reads its provider's APIs
//! (official SDKs) or the exports its CLI writes into raw `sources`, and one assembler
//! per cloud turns those into the provider-agnostic `model`.

pub mod aws;
pub mod dotenv;
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
    let bytes = std::fs::read(path).map_err(|e| {
        Error::input(
            path,
            format!("cannot read: {e}"),
            "check the file's permissions",
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let what = if e.is_eof() {
            "the JSON ends early (truncated file?)".to_string()
        } else {
            format!("not the JSON `{command}` prints: {e}")
        };
        Error::input(path, what, format!("export it again with `{command}`"))
    })
}
