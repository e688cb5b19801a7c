//! Where inventories come from: one module per cloud. Each reads its provider's APIs
//! (official SDKs) or the exports its CLI writes into raw `sources`, and one assembler
//! per cloud turns those into the provider-agnostic `model`.

pub mod aws;
pub mod gcp;

/// A part of an account or project that was read, or the reason it could not be.
#[derive(Debug, Clone)]
pub enum Availability<T> {
    Known(T),
    Unknown { source: String, reason: String },
}

impl<T> Availability<T> {
    pub fn unknown(source: impl Into<String>, reason: impl Into<String>) -> Self {
        Availability::Unknown { source: source.into(), reason: reason.into() }
    }

    pub fn known(&self) -> Option<&T> {
        match self {
            Availability::Known(t) => Some(t),
            Availability::Unknown { .. } => None,
        }
    }
}
