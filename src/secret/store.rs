//! Secret stores: where secret values are read from and written to (AWS Secrets Manager,
//! GCP Secret Manager, dotenv files), behind one trait, and how journals and the manifest
//! name one (`StoreRef`).
//!
//! Invariants:
//! - A store hands values out only as `SecretValue`s (`Stored`), wrapped the moment its
//!   SDK returns them; errors name secrets and operations, never a value.
//! - Reads never change anything; `create` and `add_version` are the only writes, and a
//!   store that is a source only (dotenv) refuses them with an error and a hint.
//! - A current value is read *by version* and says which (`Stored::Value::version`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{SecretValue, Stored};
use crate::error::Error;
use crate::model::Provider;

/// Secret names with their tags (AWS) or labels (GCP).
pub type Listing = Vec<(String, BTreeMap<String, String>)>;

/// Values by name: `None` for a secret that does not exist.
pub type Values = BTreeMap<String, Option<Stored>>;

/// A connected secret store: read, list, write, read back.
#[async_trait::async_trait]
pub trait SecretStore: Send + Sync {
    /// The store, as journals and the manifest name it.
    fn store_ref(&self) -> StoreRef;

    /// The cloud it is in (`None`: a local file), for the errors it causes.
    fn provider(&self) -> Option<Provider>;

    /// `aws ACCOUNT REGION`, `gcp PROJECT` or `dotenv PATH`.
    fn describe(&self) -> String {
        self.store_ref().describe()
    }

    /// Whether which secrets exist is best learned from one paged list before reading
    /// values (GCP: reading a missing name costs a request; AWS answers existence in
    /// the same batch read that returns values).
    fn lists_before_reading(&self) -> bool {
        false
    }

    /// Every secret's name, with its tags or labels.
    async fn list(&self) -> Result<Listing, Error>;

    /// The current value of each name, with the version it was read from.
    async fn read_current(&self, names: &[String]) -> Result<Values, Error>;

    /// As `read_current`, when which names exist is already known (`existing`): a
    /// store may skip reading the others.
    async fn read_known(
        &self,
        names: &[String],
        existing: &BTreeSet<String>,
    ) -> Result<Values, Error> {
        let _ = existing;
        self.read_current(names).await
    }

    /// Reads back what was just written, by (name, version written). By default the
    /// current values (the caller checks the version read is the one written).
    async fn read_back(&self, written: &[(String, String)]) -> Result<Values, Error> {
        let names: Vec<String> = written.iter().map(|(n, _)| n.clone()).collect();
        self.read_current(&names).await
    }

    /// Every enabled version's value, oldest first; `None` when the secret does not exist.
    async fn read_versions(&self, name: &str) -> Result<Option<Vec<SecretValue>>, Error>;

    /// Creates a secret with its first value (tags or labels as given); returns the
    /// version written.
    async fn create(
        &self,
        name: &str,
        value: &SecretValue,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, Error>;

    /// Adds a new current version; returns it.
    async fn add_version(&self, name: &str, value: &SecretValue) -> Result<String, Error>;
}

/// The kind of a secret store.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// AWS Secrets Manager in one account and region.
    Aws,
    /// GCP Secret Manager in one project.
    Gcp,
    /// A dotenv file (a source only).
    Dotenv,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Aws => "aws",
            StoreKind::Gcp => "gcp",
            StoreKind::Dotenv => "dotenv",
        }
    }
}

/// A secret store, as journals and the manifest name it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct StoreRef {
    pub kind: StoreKind,
    /// AWS account, GCP project, or the dotenv file's path.
    pub scope: String,
    pub region: Option<String>,
}

impl StoreRef {
    /// Parses a store's description as journals written before issue 12 hold it
    /// (`aws ACCOUNT REGION`, `gcp PROJECT`, `dotenv PATH`): for reading those old
    /// entries only; new entries hold the `StoreRef` itself.
    pub fn parse_legacy(s: &str) -> Option<StoreRef> {
        let mut w = s.splitn(3, ' ');
        match (w.next()?, w.next(), w.next()) {
            ("aws", Some(a), Some(r)) => Some(StoreRef {
                kind: StoreKind::Aws,
                scope: a.into(),
                region: Some(r.into()),
            }),
            ("gcp", Some(p), None) => Some(StoreRef {
                kind: StoreKind::Gcp,
                scope: p.into(),
                region: None,
            }),
            ("dotenv", Some(p), rest) => Some(StoreRef {
                kind: StoreKind::Dotenv,
                scope: rest.map_or(p.to_string(), |r| format!("{p} {r}")),
                region: None,
            }),
            _ => None,
        }
    }

    /// `aws ACCOUNT REGION`, `gcp PROJECT` or `dotenv PATH`: for people, and the stable
    /// part of a copy's journal key.
    pub fn describe(&self) -> String {
        match &self.region {
            Some(r) => format!("{} {} {r}", self.kind.as_str(), self.scope),
            None => format!("{} {}", self.kind.as_str(), self.scope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legacy_store_description_reads_as_the_typed_store() {
        for (text, kind, scope, region) in [
            (
                "aws 123 eu-west-1",
                StoreKind::Aws,
                "123",
                Some("eu-west-1"),
            ),
            ("gcp proj", StoreKind::Gcp, "proj", None),
            ("dotenv /a b/.env", StoreKind::Dotenv, "/a b/.env", None),
        ] {
            let s = StoreRef::parse_legacy(text).unwrap();
            assert_eq!(
                (s.kind, s.scope.as_str(), s.region.as_deref()),
                (kind, scope, region)
            );
            assert_eq!(s.describe(), text);
        }
        assert!(StoreRef::parse_legacy("gcp a b").is_none());
        assert!(StoreRef::parse_legacy("s3 bucket").is_none());
    }
}
