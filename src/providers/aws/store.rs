//! AWS Secrets Manager as a place secrets are read from and written to (migration).
//! Values are wrapped in `SecretValue` the moment the SDK returns them; nothing here
//! logs, prints or returns a value in an error.
//!
//! Invariants:
//! - An empty value is never sent: `SecretString` and `SecretBinary` are at least 1 long
//!   (the API model's `SecretStringType`/`SecretBinaryType`), and `CreateSecret`
//!   without either makes a secret with no version.
//! - A secret that exists with no current version (a run stopped between creating it
//!   and storing its value, or a create that landed though its answer was lost) is
//!   resumable: `create` stores the value in it rather than failing on
//!   `ResourceExistsException` at every rerun.
//! - Writes carry the SDK's idempotency token (`ClientRequestToken`), so the SDK's
//!   retries of a write never add a second version.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::Tag;

use super::live::{classify, fatal};
use crate::error::Error;
use crate::model::Provider;
use crate::secret::store::{Listing, SecretStore, StoreKind, StoreRef, Values};
use crate::secret::{SecretValue, Stored, ValueKind};

pub struct AwsStore {
    client: aws_sdk_secretsmanager::Client,
    pub account: String,
    pub region: String,
}

/// BatchGetSecretValue takes at most 20 ids a call.
const BATCH: usize = 20;

impl AwsStore {
    /// Connects with the standard chain (a named profile: `role_arn` + `source_profile`,
    /// SSO, a profile's `endpoint_url`, ...).
    pub async fn connect(
        profile: Option<&str>,
        region: &str,
        max_attempts: u32,
    ) -> Result<Self, Error> {
        // Built where the audit's is: the same retries and timeouts.
        let config = super::live::sdk_config(profile, Some(region), max_attempts).await?;
        let me = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| fatal("sts:GetCallerIdentity", classify(&e)))?;
        Ok(AwsStore {
            client: aws_sdk_secretsmanager::Client::new(&config),
            account: me.account().unwrap_or_default().to_string(),
            region: region.to_string(),
        })
    }

    /// Every secret's name and tags.
    async fn list_all(&self) -> Result<Listing, Error> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_secrets()
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| fatal("secretsmanager:ListSecrets", classify(&e)))?;
            for s in page.secret_list() {
                let tags = s
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                out.push((s.name().unwrap_or_default().to_string(), tags));
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Current values (`AWSCURRENT`) and their version ids by name, 20 a request; `None`
    /// for a secret that does not exist or has no current version.
    async fn read_many(&self, names: &[String]) -> Result<Values, Error> {
        let mut out = BTreeMap::new();
        for chunk in names.chunks(BATCH) {
            let resp = match self
                .client
                .batch_get_secret_value()
                .set_secret_id_list(Some(chunk.to_vec()))
                .send()
                .await
            {
                Ok(r) => r,
                // AWS reports a secret without a current version in `Errors`, per
                // secret; some implementations (moto) fail the whole call instead. Read
                // the chunk one by one then, so one such secret does not hide the others
                // (and a rerun can resume it).
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    for n in chunk {
                        out.insert(n.clone(), self.read_one(n).await?);
                    }
                    continue;
                }
                Err(e) => return Err(fatal("secretsmanager:BatchGetSecretValue", classify(&e))),
            };
            for v in resp.secret_values() {
                let name = v.name().unwrap_or_default().to_string();
                let value = match (v.secret_string(), v.secret_binary()) {
                    (Some(s), _) => SecretValue::text(s.to_string()),
                    (None, Some(b)) => SecretValue::binary(b.as_ref().to_vec()),
                    (None, None) => continue,
                };
                out.insert(
                    name,
                    Some(Stored::Value {
                        value,
                        version: v.version_id().unwrap_or_default().to_string(),
                    }),
                );
            }
            for e in resp.errors() {
                let id = e.secret_id().unwrap_or_default().to_string();
                if e.error_code() == Some("ResourceNotFoundException") {
                    out.insert(id, None);
                } else {
                    return Err(Error::Api {
                        provider: Provider::Aws,
                        operation: "secretsmanager:BatchGetSecretValue".into(),
                        what: format!("{id}: {}", e.error_code().unwrap_or("error")),
                        hint: "check the permissions in policies/permissions/".into(),
                    });
                }
            }
            for n in chunk {
                out.entry(n.clone()).or_insert(None);
            }
        }
        Ok(out)
    }

    /// One secret's current value; `None` when it does not exist or has no current
    /// version (GetSecretValue answers ResourceNotFoundException for both).
    async fn read_one(&self, name: &str) -> Result<Option<Stored>, Error> {
        match self.client.get_secret_value().secret_id(name).send().await {
            Ok(v) => Ok(match (v.secret_string(), v.secret_binary()) {
                (Some(s), _) => Some(SecretValue::text(s.to_string())),
                (None, Some(b)) => Some(SecretValue::binary(b.as_ref().to_vec())),
                (None, None) => None,
            }
            .map(|value| Stored::Value {
                value,
                version: v.version_id().unwrap_or_default().to_string(),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(fatal("secretsmanager:GetSecretValue", classify(&e))),
        }
    }

    /// One secret's current value, as `read_many` reads it.
    async fn read(&self, name: &str) -> Result<Option<Stored>, Error> {
        Ok(self
            .read_many(&[name.to_string()])
            .await?
            .remove(name)
            .flatten())
    }

    /// Every enabled version's value (those with a staging label), oldest first;
    /// `None` when the secret does not exist.
    async fn versions(&self, name: &str) -> Result<Option<Vec<SecretValue>>, Error> {
        let mut entries: Vec<(i64, u32, u8, String)> = Vec::new();
        let mut token = None;
        loop {
            let page = match self
                .client
                .list_secret_version_ids()
                .secret_id(name)
                .include_deprecated(false)
                .set_next_token(token)
                .send()
                .await
            {
                Ok(p) => p,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(fatal("secretsmanager:ListSecretVersionIds", classify(&e))),
            };
            for v in page
                .versions()
                .iter()
                .filter(|v| !v.version_stages().is_empty())
            {
                let created = v
                    .created_date()
                    .map(|d| (d.secs(), d.subsec_nanos()))
                    .unwrap_or((0, 0));
                // Same-second versions: AWSPREVIOUS before others before AWSCURRENT.
                let rank = if v.version_stages().iter().any(|s| s == "AWSCURRENT") {
                    2
                } else if v.version_stages().iter().any(|s| s == "AWSPREVIOUS") {
                    0
                } else {
                    1
                };
                entries.push((
                    created.0,
                    created.1,
                    rank,
                    v.version_id().unwrap_or_default().to_string(),
                ));
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        entries.sort();
        let mut out = Vec::new();
        for (_, _, _, id) in entries {
            let v = self
                .client
                .get_secret_value()
                .secret_id(name)
                .version_id(&id)
                .send()
                .await
                .map_err(|e| fatal("secretsmanager:GetSecretValue", classify(&e)))?;
            out.push(match (v.secret_string(), v.secret_binary()) {
                (Some(s), _) => SecretValue::text(s.to_string()),
                (None, Some(b)) => SecretValue::binary(b.as_ref().to_vec()),
                (None, None) => continue,
            });
        }
        Ok(Some(out))
    }

    /// Creates a secret with its first value; returns the version id. A secret that
    /// already exists with no current version gets the value as its first version; one
    /// whose current value is this value is left alone; one with another value is an
    /// error (a conflict that appeared since it was compared).
    async fn create_with(
        &self,
        name: &str,
        value: &SecretValue,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, Error> {
        refuse_empty(name, value)?;
        let mut req = self.client.create_secret().name(name);
        req = match value.kind() {
            ValueKind::Text => {
                req.secret_string(String::from_utf8_lossy(value.expose()).into_owned())
            }
            ValueKind::Binary => req.secret_binary(Blob::new(value.expose().to_vec())),
        };
        for (k, v) in tags {
            req = req.tags(Tag::builder().key(k).value(v).build());
        }
        match req.send().await {
            Ok(out) => Ok(out.version_id().unwrap_or_default().to_string()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_exists_exception()) => match self.read(name).await? {
                Some(Stored::Value { value: current, version }) if current.same_as(value) => Ok(version),
                Some(Stored::Value { .. }) => Err(Error::Api {
                    provider: Provider::Aws,
                    operation: "secretsmanager:CreateSecret".into(),
                    what: format!("{name} was created by someone else with another value after it was compared"),
                    hint: "run the migration again: it reports the conflict".into(),
                }),
                Some(Stored::NoValue { .. }) | None => self.put_value(name, value).await,
            },
            Err(e) => Err(fatal("secretsmanager:CreateSecret", classify(&e))),
        }
    }

    /// Adds a new current version; returns its id.
    async fn put_value(&self, name: &str, value: &SecretValue) -> Result<String, Error> {
        refuse_empty(name, value)?;
        let mut req = self.client.put_secret_value().secret_id(name);
        req = match value.kind() {
            ValueKind::Text => {
                req.secret_string(String::from_utf8_lossy(value.expose()).into_owned())
            }
            ValueKind::Binary => req.secret_binary(Blob::new(value.expose().to_vec())),
        };
        let out = req
            .send()
            .await
            .map_err(|e| fatal("secretsmanager:PutSecretValue", classify(&e)))?;
        Ok(out.version_id().unwrap_or_default().to_string())
    }
}

#[async_trait::async_trait]
impl SecretStore for AwsStore {
    fn store_ref(&self) -> StoreRef {
        StoreRef {
            kind: StoreKind::Aws,
            scope: self.account.clone(),
            region: Some(self.region.clone()),
        }
    }

    fn provider(&self) -> Option<Provider> {
        Some(Provider::Aws)
    }

    async fn list(&self) -> Result<Listing, Error> {
        self.list_all().await
    }

    /// `AWSCURRENT` values, 20 names a request.
    async fn read_current(&self, names: &[String]) -> Result<Values, Error> {
        self.read_many(names).await
    }

    async fn read_versions(&self, name: &str) -> Result<Option<Vec<SecretValue>>, Error> {
        self.versions(name).await
    }

    async fn create(
        &self,
        name: &str,
        value: &SecretValue,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, Error> {
        self.create_with(name, value, tags).await
    }

    async fn add_version(&self, name: &str, value: &SecretValue) -> Result<String, Error> {
        self.put_value(name, value).await
    }
}

/// AWS refuses an empty `SecretString`/`SecretBinary` (minimum length 1), and a secret
/// created without one has no version: migration never sends an empty value.
fn refuse_empty(name: &str, value: &SecretValue) -> Result<(), Error> {
    if value.expose().is_empty() {
        return Err(Error::usage(
            format!("{name}: an empty value cannot be stored in Secrets Manager"),
            "give the secret a value at the source, or leave it out",
        ));
    }
    Ok(())
}
