//! The library's typed errors. Each says what went wrong and what to try, and maps to
//! one documented exit code (see `cli::exit`). No variant ever carries a secret value:
//! messages name resources, never their contents.

use std::path::PathBuf;

use crate::model::Provider;

/// An error a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asks for something that cannot work.
    #[error("{what}")]
    Usage { what: String, hint: String },

    /// An input file or folder is missing or malformed.
    #[error("{}: {what}", path.display())]
    Input {
        path: PathBuf,
        what: String,
        hint: String,
    },

    /// The cloud refused us: no credentials, expired credentials, or access denied.
    #[error("{provider}: {operation}: {what}")]
    Access {
        provider: Provider,
        operation: String,
        what: String,
        hint: String,
    },

    /// The cloud could not be reached, or kept failing after retries.
    #[error("{provider}: {operation}: {what}")]
    Api {
        provider: Provider,
        operation: String,
        what: String,
        hint: String,
    },

    /// The plan would lock the customer out, so it is refused.
    #[error("plan refused: {what}")]
    Refused { what: String, hint: String },

    /// An encrypted or signed file cannot be opened or trusted: wrong identity, a
    /// truncated or altered file, a bad or missing signature.
    #[error("{}: {what}", path.display())]
    Untrusted {
        path: PathBuf,
        what: String,
        hint: String,
    },

    /// A local cryptographic operation failed: encryption, signing, or the operating
    /// system's random source. Not the user's input, so not a usage error.
    #[error("{what}")]
    Crypto { what: String, hint: String },

    /// An output could not be written (or would overwrite a file without `--force`).
    #[error("{}: {what}", path.display())]
    Output {
        path: PathBuf,
        what: String,
        hint: String,
    },
}

impl Error {
    /// What to try next, in a sentence.
    pub fn hint(&self) -> &str {
        match self {
            Error::Usage { hint, .. }
            | Error::Input { hint, .. }
            | Error::Access { hint, .. }
            | Error::Api { hint, .. }
            | Error::Refused { hint, .. }
            | Error::Untrusted { hint, .. }
            | Error::Crypto { hint, .. }
            | Error::Output { hint, .. } => hint,
        }
    }

    pub fn usage(what: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            what: what.into(),
            hint: hint.into(),
        }
    }

    pub fn crypto(what: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Crypto {
            what: what.into(),
            hint: hint.into(),
        }
    }

    pub fn input(
        path: impl Into<PathBuf>,
        what: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Input {
            path: path.into(),
            what: what.into(),
            hint: hint.into(),
        }
    }

    pub fn untrusted(
        path: impl Into<PathBuf>,
        what: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Untrusted {
            path: path.into(),
            what: what.into(),
            hint: hint.into(),
        }
    }

    pub fn output(
        path: impl Into<PathBuf>,
        what: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Output {
            path: path.into(),
            what: what.into(),
            hint: hint.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
