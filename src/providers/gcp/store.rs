//! GCP Secret Manager as a place secrets are read from and written to (migration).
//! Payloads are wrapped in `SecretValue` the moment they arrive (the crate's
//! `SecretPayload` prints its data in `Debug`); writes carry a CRC32C the service checks.
//!
//! Invariants:
//! - A secret's current value is its newest ENABLED version, read by number. The
//!   `latest` alias is never read: Google documents it as "the most recently created
//!   SecretVersion", which may be disabled or destroyed (access then answers 400
//!   FAILED_PRECONDITION). A secret with no enabled version is `Stored::NoValue`.
//! - Writes (`create`, `add_version`) are retried within the attempt budget, and never
//!   duplicate a version: they are not idempotent, so after a failure that may have
//!   landed (UNAVAILABLE, 5xx, a dropped connection, a timeout) the versions are read
//!   again and a version holding the value, newer than the one known before, is taken
//!   as the write's. An empty value is never sent (Google refuses it: "Field [payload]
//!   is required.").

use std::collections::BTreeMap;

use google_cloud_gax::error::rpc::Code;
use google_cloud_secretmanager_v1::model::{replication, Replication, Secret, SecretPayload};

use super::live::{classify, GcpSettings};
use super::pages::all_pages_with;
use crate::error::Error;
use crate::model::Provider;
use crate::secret::store::{Listing, SecretStore, StoreKind, StoreRef, Values};
use crate::secret::{SecretValue, Stored};

pub struct GcpStore {
    client: google_cloud_secretmanager_v1::client::SecretManagerService,
    pub project: String,
    /// Attempts per write (the client retries reads itself).
    attempts: u32,
}

/// A list the server did not end (`super::pages`): an API error naming the operation.
fn unended(op: &str, reason: String) -> Error {
    Error::Api {
        provider: Provider::Gcp,
        operation: op.into(),
        what: reason,
        hint: "check --gcp-endpoint / HANDOVER_GCP_ENDPOINT: the server did not end the list"
            .into(),
    }
}

fn api_error(op: &str, e: &google_cloud_gax::error::Error) -> Error {
    let f = classify(e);
    if f.denied {
        Error::Access {
            provider: Provider::Gcp,
            operation: op.into(),
            what: f.message,
            // Migrate and verify set their own duty's hint (`Duty::hint`).
            hint: crate::providers::duty::Duty::MigrateDestination.gcp_hint(),
        }
    } else if f.unreachable {
        Error::Api {
            provider: Provider::Gcp,
            operation: op.into(),
            what: format!("cannot reach the endpoint: {}", f.message),
            hint: "check the network and --gcp-endpoint".into(),
        }
    } else {
        Error::Api {
            provider: Provider::Gcp,
            operation: op.into(),
            what: f.message,
            hint: "retry; the journal lets a migration resume".into(),
        }
    }
}

/// How a failed write is retried.
#[derive(Debug, PartialEq, Eq)]
enum Retry {
    /// Refused before it was applied (429 RESOURCE_EXHAUSTED): send it again.
    Again,
    /// It may have been applied (UNAVAILABLE, other 5xx, DEADLINE_EXCEEDED, a dropped
    /// connection, a timeout): read the destination before sending it again.
    CheckFirst,
    /// A definite answer (400, 403, 404, 409...): do not retry.
    No,
}

fn retry_of(e: &google_cloud_gax::error::Error) -> Retry {
    let code = e.status().map(|s| s.code);
    let http = e.http_status_code();
    if matches!(code, Some(Code::ResourceExhausted)) || http == Some(429) {
        Retry::Again
    } else if matches!(
        code,
        Some(Code::Unavailable | Code::Internal | Code::DeadlineExceeded | Code::Unknown)
    ) || http.is_some_and(|h| h >= 500)
        || (code.is_none() && http.is_none())
    {
        // No status and no HTTP code: the connection failed or timed out, so the
        // request may or may not have reached the service.
        Retry::CheckFirst
    } else {
        Retry::No
    }
}

/// Backoff before attempt `n` (1-based): 200 ms doubling, at most 5 s.
fn pause(n: u32) -> std::time::Duration {
    std::time::Duration::from_millis((200u64 << n.min(5).saturating_sub(1)).min(5_000))
}

fn wrap(data: &[u8]) -> SecretValue {
    // GCP keeps bytes only; text stays text so a copy to AWS is a SecretString.
    match String::from_utf8(data.to_vec()) {
        Ok(text) => SecretValue::text(text),
        Err(e) => SecretValue::binary(e.into_bytes()),
    }
}

/// A version as listed: its number and state (`ENABLED`, `DISABLED`, `DESTROYED`).
#[derive(Debug, Clone)]
pub struct VersionState {
    pub number: u64,
    pub state: String,
}

impl VersionState {
    fn enabled(&self) -> bool {
        self.state == "ENABLED"
    }
}

impl GcpStore {
    pub async fn connect(project: &str, settings: &GcpSettings) -> Result<Self, Error> {
        let client = super::live::secret_manager(settings).await?;
        Ok(GcpStore {
            client,
            project: project.to_string(),
            attempts: settings.max_attempts.max(1),
        })
    }

    fn parent(&self, id: &str) -> String {
        format!("projects/{}/secrets/{id}", self.project)
    }

    async fn list_all(&self) -> Result<Listing, Error> {
        const OP: &str = "secretmanager.secrets.list";
        let (secrets, why) = all_pages_with(
            |t| {
                self.client
                    .list_secrets()
                    .set_parent(format!("projects/{}", self.project))
                    .set_page_size(1000)
                    .set_page_token(t)
                    .send()
            },
            |r| (r.secrets, r.next_page_token),
            |e| api_error(OP, &e),
            |reason| unended(OP, reason),
        )
        .await;
        if let Some(e) = why {
            return Err(e);
        }
        Ok(secrets
            .into_iter()
            .map(|s| {
                let id = s.name.rsplit('/').next().unwrap_or_default().to_string();
                (id, s.labels.into_iter().collect())
            })
            .collect())
    }

    /// Every version's number and state, newest first; `None` when the secret does not
    /// exist. Bounded by the secret's versions (pages of 1000) and by `all_pages_with`.
    pub async fn versions(&self, id: &str) -> Result<Option<Vec<VersionState>>, Error> {
        const OP: &str = "secretmanager.versions.list";
        let (versions, why) = all_pages_with(
            |t| {
                self.client
                    .list_secret_versions()
                    .set_parent(self.parent(id))
                    .set_page_size(1000)
                    .set_page_token(t)
                    .send()
            },
            |r| (r.versions, r.next_page_token),
            // `None`: the secret does not exist.
            |e| (!classify(&e).not_found).then(|| api_error(OP, &e)),
            |reason| Some(unended(OP, reason)),
        )
        .await;
        match why {
            Some(None) => return Ok(None),
            Some(Some(e)) => return Err(e),
            None => {}
        }
        let mut out: Vec<VersionState> = versions
            .iter()
            .filter_map(|v| {
                let number = v.name.rsplit('/').next()?.parse::<u64>().ok()?;
                Some(VersionState {
                    number,
                    state: v.state.name().unwrap_or("STATE_UNSPECIFIED").to_string(),
                })
            })
            .collect();
        out.sort_by_key(|v| std::cmp::Reverse(v.number));
        Ok(Some(out))
    }

    /// One version's value by number; `None` when it is gone or no longer enabled.
    pub async fn read_version(&self, id: &str, number: u64) -> Result<Option<SecretValue>, Error> {
        match self
            .client
            .access_secret_version()
            .set_name(format!("{}/versions/{number}", self.parent(id)))
            .send()
            .await
        {
            Ok(resp) => Ok(resp.payload.map(|p| wrap(&p.data))),
            Err(e)
                if classify(&e).not_found
                    || e.status()
                        .is_some_and(|s| s.code == Code::FailedPrecondition) =>
            {
                Ok(None)
            }
            Err(e) => Err(api_error("secretmanager.versions.access", &e)),
        }
    }

    /// The newest ENABLED version's value and number; `None` when the secret does not
    /// exist; `NoValue` when no version is enabled. A version disabled between the list
    /// and the access is skipped by listing again (three times at most).
    pub async fn read(&self, id: &str) -> Result<Option<Stored>, Error> {
        for _ in 0..3 {
            let Some(versions) = self.versions(id).await? else {
                return Ok(None);
            };
            let Some(newest) = versions.iter().find(|v| v.enabled()) else {
                return Ok(Some(Stored::NoValue {
                    why: no_enabled_version(&versions),
                }));
            };
            if let Some(value) = self.read_version(id, newest.number).await? {
                return Ok(Some(Stored::Value {
                    value,
                    version: newest.number.to_string(),
                }));
            }
        }
        Err(Error::Api {
            provider: Provider::Gcp,
            operation: "secretmanager.versions.access".into(),
            what: format!("{id}: its newest enabled version kept changing while it was read"),
            hint: "run again once nobody is changing the secret's versions".into(),
        })
    }

    /// Every enabled version's value, oldest first; `None` when the secret does not exist.
    async fn enabled_values(&self, id: &str) -> Result<Option<Vec<SecretValue>>, Error> {
        let Some(versions) = self.versions(id).await? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for v in versions.iter().rev().filter(|v| v.enabled()) {
            let value = self
                .read_version(id, v.number)
                .await?
                .ok_or_else(|| Error::Api {
                    provider: Provider::Gcp,
                    operation: "secretmanager.versions.access".into(),
                    what: format!(
                        "{id}: version {} was disabled or destroyed while it was read",
                        v.number
                    ),
                    hint: "run again once nobody is changing the secret's versions".into(),
                })?;
            out.push(value);
        }
        Ok(Some(out))
    }

    /// Values by id. One paged list says which exist, so a fresh destination costs one
    /// request, not one per name; the existing ones are read 8 at a time.
    pub async fn read_many(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, Option<Stored>>, Error> {
        let existing: std::collections::BTreeSet<String> = if ids.len() > 1 {
            self.list_all()
                .await?
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        } else {
            ids.iter().cloned().collect()
        };
        self.read_existing(ids, &existing).await
    }

    /// Values by id when which ids exist is already known: only those in `existing` are
    /// read (8 at a time); the others are `None` without a request.
    pub async fn read_existing(
        &self,
        ids: &[String],
        existing: &std::collections::BTreeSet<String>,
    ) -> Result<BTreeMap<String, Option<Stored>>, Error> {
        use futures::stream::{self, StreamExt};
        let reads: Vec<Result<(String, Option<Stored>), Error>> = stream::iter(ids.iter().cloned())
            // Owned names: the futures must be `Send` for any lifetime (`SecretStore`).
            .map(|id: String| async move {
                if existing.contains(&id) {
                    let stored = self.read(&id).await?;
                    Ok((id, stored))
                } else {
                    Ok((id, None))
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        reads.into_iter().collect()
    }

    /// The versions just written, each read by the number its write returned (8 at a
    /// time): a read-back never reads `latest` nor a version someone else added since.
    pub async fn read_written(
        &self,
        written: &[(String, String)],
    ) -> Result<BTreeMap<String, Option<Stored>>, Error> {
        use futures::stream::{self, StreamExt};
        let reads: Vec<Result<(String, Option<Stored>), Error>> =
            stream::iter(written.iter().cloned())
                .map(|(id, version): (String, String)| async move {
                    let Ok(number) = version.parse::<u64>() else {
                        return Ok((id, None));
                    };
                    let value = self.read_version(&id, number).await?;
                    Ok((id, value.map(|value| Stored::Value { value, version })))
                })
                .buffer_unordered(8)
                .collect()
                .await;
        reads.into_iter().collect()
    }

    /// Creates the secret and its first version; returns the version number. A secret
    /// that already exists with no enabled version (a run stopped between the two
    /// calls, or a create that landed though its answer was lost) gets the version;
    /// one that holds this value already is left alone; one that holds another value is
    /// an error (a conflict that appeared since it was compared).
    async fn create_with(
        &self,
        id: &str,
        value: &SecretValue,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, Error> {
        refuse_empty(id, value)?;
        let secret = Secret::new()
            .set_replication(Replication::new().set_automatic(replication::Automatic::new()))
            .set_labels(labels.clone());
        let mut n = 0;
        let exists = loop {
            n += 1;
            let sent = self
                .client
                .create_secret()
                .set_parent(format!("projects/{}", self.project))
                .set_secret_id(id)
                .set_secret(secret.clone())
                .send()
                .await;
            match sent {
                Ok(_) => break false,
                Err(e) if e.status().is_some_and(|s| s.code == Code::AlreadyExists) => break true,
                // Creating by id is safe to repeat: a create that landed answers ALREADY_EXISTS.
                Err(e) if n < self.attempts && retry_of(&e) != Retry::No => {
                    tokio::time::sleep(pause(n)).await
                }
                Err(e) => return Err(api_error("secretmanager.secrets.create", &e)),
            }
        };
        if !exists {
            return self.add_version_after(id, value, Some(0)).await;
        }
        match self.read(id).await? {
            Some(Stored::Value {
                value: current,
                version,
            }) if current.same_as(value) => Ok(version),
            Some(Stored::Value { .. }) => Err(Error::Api {
                provider: Provider::Gcp,
                operation: "secretmanager.secrets.create".into(),
                what: format!(
                    "{id} was created by someone else with another value after it was compared"
                ),
                hint: "run the migration again: it reports the conflict".into(),
            }),
            Some(Stored::NoValue { .. }) | None => {
                let after = self
                    .versions(id)
                    .await?
                    .and_then(|v| v.first().map(|v| v.number));
                self.add_version_after(id, value, Some(after.unwrap_or(0)))
                    .await
            }
        }
    }

    /// Adds a version, retrying as the module says. `after`: the newest version number
    /// known before this write; a version newer than it holding `value` is this write's.
    /// Unknown (`None`): the newest version, if enabled and holding `value`, is.
    pub async fn add_version_after(
        &self,
        id: &str,
        value: &SecretValue,
        after: Option<u64>,
    ) -> Result<String, Error> {
        refuse_empty(id, value)?;
        let payload = SecretPayload::new()
            .set_data(bytes::Bytes::copy_from_slice(value.expose()))
            .set_data_crc32c(i64::from(crc32c::crc32c(value.expose())));
        let mut n = 0;
        loop {
            n += 1;
            let sent = self
                .client
                .add_secret_version()
                .set_parent(self.parent(id))
                .set_payload(payload.clone())
                .send()
                .await;
            let e = match sent {
                Ok(v) => return Ok(v.name.rsplit('/').next().unwrap_or_default().to_string()),
                Err(e) => e,
            };
            let retry = retry_of(&e);
            if n >= self.attempts || retry == Retry::No {
                return Err(api_error("secretmanager.secrets.addVersion", &e));
            }
            tokio::time::sleep(pause(n)).await;
            if retry == Retry::CheckFirst {
                if let Some(number) = self.landed(id, value, after).await? {
                    tracing::debug!(
                        secret = id,
                        version = number,
                        "an add-version whose answer was lost had landed"
                    );
                    return Ok(number.to_string());
                }
            }
        }
    }

    /// After a write whose answer was lost: the number of a version holding `value` that
    /// the write made, if it landed. Reads with the client's own retries.
    async fn landed(
        &self,
        id: &str,
        value: &SecretValue,
        after: Option<u64>,
    ) -> Result<Option<u64>, Error> {
        let Some(versions) = self.versions(id).await? else {
            return Ok(None);
        };
        let candidates: Vec<u64> = match after {
            Some(a) => versions
                .iter()
                .filter(|v| v.number > a && v.enabled())
                .map(|v| v.number)
                .collect(),
            None => versions
                .first()
                .filter(|v| v.enabled())
                .map(|v| v.number)
                .into_iter()
                .collect(),
        };
        for number in candidates {
            if self
                .read_version(id, number)
                .await?
                .is_some_and(|v| v.same_as(value))
            {
                return Ok(Some(number));
            }
        }
        Ok(None)
    }
}

#[async_trait::async_trait]
impl SecretStore for GcpStore {
    fn store_ref(&self) -> StoreRef {
        StoreRef {
            kind: StoreKind::Gcp,
            scope: self.project.clone(),
            region: None,
        }
    }

    fn provider(&self) -> Option<Provider> {
        Some(Provider::Gcp)
    }

    /// Reading a missing name costs a request: one paged list says which exist.
    fn lists_before_reading(&self) -> bool {
        true
    }

    async fn list(&self) -> Result<Listing, Error> {
        self.list_all().await
    }

    async fn read_current(&self, names: &[String]) -> Result<Values, Error> {
        self.read_many(names).await
    }

    /// Only the names known to exist are read, 8 at a time, without listing again.
    async fn read_known(
        &self,
        names: &[String],
        existing: &std::collections::BTreeSet<String>,
    ) -> Result<Values, Error> {
        self.read_existing(names, existing).await
    }

    /// Each version by the number its write returned (8 at a time).
    async fn read_back(&self, written: &[(String, String)]) -> Result<Values, Error> {
        self.read_written(written).await
    }

    async fn read_versions(&self, name: &str) -> Result<Option<Vec<SecretValue>>, Error> {
        self.enabled_values(name).await
    }

    async fn create(
        &self,
        name: &str,
        value: &SecretValue,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, Error> {
        self.create_with(name, value, labels).await
    }

    /// Adds a version holding `value`; returns its number. The caller compared the
    /// destination's newest enabled version with `value` just before (they differ).
    async fn add_version(&self, name: &str, value: &SecretValue) -> Result<String, Error> {
        self.add_version_after(name, value, None).await
    }
}

/// Why a secret has no value to read, naming its newest version and state.
fn no_enabled_version(versions: &[VersionState]) -> String {
    match versions.first() {
        None => "it has no version".to_string(),
        Some(v) => format!(
            "no version is enabled (the newest, {}, is {})",
            v.number, v.state
        ),
    }
}

/// Google refuses an empty payload ("Field [payload] is required."); so does AWS (a
/// SecretString or SecretBinary is at least 1 long). Migration never sends one.
fn refuse_empty(id: &str, value: &SecretValue) -> Result<(), Error> {
    if value.expose().is_empty() {
        return Err(Error::usage(
            format!("{id}: an empty value cannot be stored in Secret Manager"),
            "give the secret a value at the source, or leave it out",
        ));
    }
    Ok(())
}
