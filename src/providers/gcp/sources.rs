//! The raw GCP sources of one project, in the JSON shape the APIs (and gcloud's
//! `--format=json`) use: camelCase field names, RFC 3339 times, enums as strings.
//!
//! The live collector serializes the official crates' model types (which serialize to
//! exactly this JSON) and deserializes them here, so both roads meet in one type.
//! Unknown fields are ignored; none of these types has a field that could hold a
//! secret value or a private key.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

pub use crate::providers::Availability;

/// Everything read from one project.
#[derive(Debug, Clone)]
pub struct ProjectSources {
    pub project_id: String,
    pub iam_policy: Policy,
    pub service_accounts: Availability<Vec<ServiceAccount>>,
    /// Keys per service account email.
    pub keys: BTreeMap<String, Availability<Vec<ServiceAccountKey>>>,
    /// IAM policy on each service account (who may act as it), per email.
    pub service_account_policies: BTreeMap<String, Availability<Policy>>,
    pub secrets: Availability<Vec<Secret>>,
    /// Versions per secret resource name.
    pub versions: BTreeMap<String, Availability<Vec<SecretVersion>>>,
    /// IAM policy per secret resource name.
    pub secret_policies: BTreeMap<String, Availability<Policy>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub bindings: Vec<Binding>,
    #[serde(default)]
    pub etag: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub role: String,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub condition: Option<Expr>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expr {
    #[serde(default)]
    pub expression: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    pub name: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub unique_id: Option<String>,
    pub email: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountKey {
    pub name: String,
    #[serde(default)]
    pub valid_after_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub valid_before_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub key_algorithm: Option<String>,
    #[serde(default)]
    pub key_origin: Option<String>,
    #[serde(default)]
    pub key_type: Option<String>,
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub name: String,
    #[serde(default)]
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub replication: Option<serde_json::Value>,
    #[serde(default)]
    pub rotation: Option<SecretRotation>,
    #[serde(default)]
    pub expire_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub customer_managed_encryption: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRotation {
    #[serde(default)]
    pub next_rotation_time: Option<DateTime<Utc>>,
    /// A duration like `2592000s`.
    #[serde(default)]
    pub rotation_period: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVersion {
    pub name: String,
    #[serde(default)]
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub destroy_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub state: Option<String>,
}

/// The last segment of a resource name.
pub fn short(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}
