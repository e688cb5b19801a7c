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
    /// API keys, HMAC keys, workload identity pools and providers (issue 17).
    pub outside: OutsideIam,
}

/// What Cloud Asset Inventory already gave for one project of an audited folder or
/// organization ([`super::search`], [`super::hierarchy`]); each `None` is read per
/// item. `Default` is a project read wholly per item.
#[derive(Debug, Clone, Default)]
pub struct BulkProject {
    /// IAM policies of the project's service accounts by unique id (an account absent
    /// here has an empty policy: the search returns only policies with bindings).
    pub account_policies: Option<BTreeMap<String, Policy>>,
    pub service_accounts: Option<Vec<ServiceAccount>>,
    /// Keys by service-account email (an account absent here is listed per item).
    pub keys: Option<BTreeMap<String, Vec<ServiceAccountKey>>>,
    pub api_keys: Option<Vec<super::apikeys::ApiKey>>,
    pub secrets: Option<Vec<Secret>>,
    /// Versions by secret name (a secret absent here is listed per item).
    pub versions: Option<BTreeMap<String, Vec<SecretVersion>>>,
    /// IAM policies by secret name (a secret absent here is read per item).
    pub secret_policies: Option<BTreeMap<String, Policy>>,
}

/// Credentials outside IAM service-account keys.
#[derive(Debug, Clone)]
pub struct OutsideIam {
    pub api_keys: Availability<Vec<super::apikeys::ApiKey>>,
    pub hmac_keys: Availability<Vec<super::hmac::HmacKey>>,
    pub federation: super::wif::Federation,
}

/// Read, and empty.
impl Default for OutsideIam {
    fn default() -> Self {
        OutsideIam {
            api_keys: Availability::Known(Vec::new()),
            hmac_keys: Availability::Known(Vec::new()),
            federation: super::wif::Federation::default(),
        }
    }
}

impl OutsideIam {
    /// Nothing read, each source named as a gap with `reason`.
    pub fn unread(reason: &str) -> Self {
        OutsideIam {
            api_keys: Availability::unknown(super::apikeys::LIST_SOURCE, reason),
            hmac_keys: Availability::unknown(super::hmac::LIST_SOURCE, reason),
            federation: super::wif::Federation {
                pools: Availability::unknown(super::wif::POOLS_SOURCE, reason),
                providers: BTreeMap::new(),
            },
        }
    }
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
    pub replication: Option<Replication>,
    #[serde(default)]
    pub rotation: Option<SecretRotation>,
    #[serde(default)]
    pub expire_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub customer_managed_encryption: Option<CustomerManagedEncryption>,
}

/// How a secret is replicated, read once from the API's `replication` object. Any
/// shape is accepted (as it always was): one this tool does not know is `Unknown`,
/// never an error that would drop the project's whole secret list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replication {
    /// `{"automatic": ...}`: Google chooses the locations.
    Automatic,
    /// `{"userManaged": {"replicas": [{"location": ...}]}}`: the listed locations (a
    /// replica without a textual location is left out).
    UserManaged {
        locations: Vec<String>,
    },
    Unknown,
}

impl Replication {
    fn from_json(r: &serde_json::Value) -> Self {
        if r.get("automatic").is_some() {
            return Replication::Automatic;
        }
        match r
            .pointer("/userManaged/replicas")
            .and_then(|v| v.as_array())
        {
            Some(replicas) => Replication::UserManaged {
                locations: replicas
                    .iter()
                    .filter_map(|x| x.get("location").and_then(|l| l.as_str()))
                    .map(str::to_string)
                    .collect(),
            },
            None => Replication::Unknown,
        }
    }

    /// As the inventory shows it: `automatic`, `user-managed: LOC, LOC`, `unknown`.
    pub fn label(&self) -> String {
        match self {
            Replication::Automatic => "automatic".to_string(),
            Replication::UserManaged { locations } => {
                format!("user-managed: {}", locations.join(", "))
            }
            Replication::Unknown => "unknown".to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Replication {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(|v| Replication::from_json(&v))
    }
}

/// A secret's customer-managed encryption: the Cloud KMS key, when its name is text.
/// Any shape is accepted, like `Replication`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerManagedEncryption {
    pub kms_key_name: Option<String>,
}

impl<'de> Deserialize<'de> for CustomerManagedEncryption {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(CustomerManagedEncryption {
            kms_key_name: v
                .get("kmsKeyName")
                .and_then(|k| k.as_str())
                .map(str::to_string),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(json: &str) -> Secret {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn replication_and_key_are_read_once_into_data() {
        let auto = secret(r#"{"name":"s","replication":{"automatic":{}}}"#);
        assert_eq!(auto.replication, Some(Replication::Automatic));
        let user = secret(
            r#"{"name":"s","replication":{"userManaged":{"replicas":[{"location":"europe-west1"},{"location":7},{"location":"us-east1"}]}},
               "customerManagedEncryption":{"kmsKeyName":"projects/k/locations/global/keyRings/r/cryptoKeys/c"}}"#,
        );
        assert_eq!(
            user.replication.as_ref().map(Replication::label).as_deref(),
            Some("user-managed: europe-west1, us-east1")
        );
        assert_eq!(
            user.customer_managed_encryption
                .unwrap()
                .kms_key_name
                .as_deref(),
            Some("projects/k/locations/global/keyRings/r/cryptoKeys/c")
        );
    }

    // An odd shape must not make the whole secret list unreadable: it was accepted as
    // free JSON before these fields were typed, and still is.
    #[test]
    fn an_unknown_replication_or_key_shape_is_unknown_not_an_error() {
        let odd = secret(
            r#"{"name":"s","replication":"somewhere","customerManagedEncryption":{"kmsKeyName":42}}"#,
        );
        assert_eq!(odd.replication, Some(Replication::Unknown));
        assert_eq!(odd.customer_managed_encryption.unwrap().kms_key_name, None);
        assert_eq!(
            secret(r#"{"name":"s","replication":null}"#).replication,
            None
        );
    }
}
