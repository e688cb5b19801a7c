//! GCP Secret Manager as a place secrets are read from and written to (migration).
//! Payloads are wrapped in `SecretValue` the moment they arrive (the crate's
//! `SecretPayload` prints its data in `Debug`); writes carry a CRC32C the service checks.

use std::collections::BTreeMap;

use google_cloud_gax::paginator::ItemPaginator as _;
use google_cloud_secretmanager_v1::model::{replication, Replication, Secret, SecretPayload};

use super::live::{classify, GcpSettings};
use crate::error::Error;
use crate::secret::SecretValue;

pub struct GcpStore {
    client: google_cloud_secretmanager_v1::client::SecretManagerService,
    pub project: String,
}

fn api_error(op: &str, e: &google_cloud_gax::error::Error) -> Error {
    let f = classify(e);
    if f.denied {
        Error::Access {
            provider: "gcp",
            operation: op.into(),
            what: f.message,
            hint: "grant the Secret Manager roles in policies/permissions/".into(),
        }
    } else if f.unreachable {
        Error::Api {
            provider: "gcp",
            operation: op.into(),
            what: format!("cannot reach the endpoint: {}", f.message),
            hint: "check the network and --gcp-endpoint".into(),
        }
    } else {
        Error::Api {
            provider: "gcp",
            operation: op.into(),
            what: f.message,
            hint: "retry; the journal lets a migration resume".into(),
        }
    }
}

impl GcpStore {
    pub async fn connect(project: &str, settings: &GcpSettings) -> Result<Self, Error> {
        let client = super::live::secret_manager(settings).await?;
        Ok(GcpStore {
            client,
            project: project.to_string(),
        })
    }

    pub fn describe(&self) -> String {
        format!("gcp {}", self.project)
    }

    pub async fn list(&self) -> Result<Vec<(String, BTreeMap<String, String>)>, Error> {
        let mut out = Vec::new();
        let mut it = self
            .client
            .list_secrets()
            .set_parent(format!("projects/{}", self.project))
            .set_page_size(1000)
            .by_item();
        while let Some(s) = it.next().await {
            let s = s.map_err(|e| api_error("secretmanager.secrets.list", &e))?;
            let id = s.name.rsplit('/').next().unwrap_or_default().to_string();
            out.push((
                id,
                s.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ));
        }
        Ok(out)
    }

    /// The latest enabled version's value, or `None` when the secret does not exist.
    pub async fn read(&self, id: &str) -> Result<Option<SecretValue>, Error> {
        let name = format!("projects/{}/secrets/{id}/versions/latest", self.project);
        match self
            .client
            .access_secret_version()
            .set_name(name)
            .send()
            .await
        {
            // GCP keeps bytes only; text stays text so a copy to AWS is a SecretString.
            Ok(resp) => Ok(resp
                .payload
                .map(|p| match String::from_utf8(p.data.to_vec()) {
                    Ok(text) => SecretValue::text(text),
                    Err(e) => SecretValue::binary(e.into_bytes()),
                })),
            Err(e) if classify(&e).not_found => Ok(None),
            Err(e) => Err(api_error("secretmanager.versions.access", &e)),
        }
    }

    /// Every enabled version's value, oldest first; `None` when the secret does not exist.
    pub async fn read_versions(&self, id: &str) -> Result<Option<Vec<SecretValue>>, Error> {
        let parent = format!("projects/{}/secrets/{id}", self.project);
        let mut numbers = Vec::new();
        let mut it = self
            .client
            .list_secret_versions()
            .set_parent(&parent)
            .set_page_size(1000)
            .by_item();
        while let Some(v) = it.next().await {
            match v {
                Ok(v) if v.state.name() == Some("ENABLED") => {
                    if let Ok(n) = v.name.rsplit('/').next().unwrap_or_default().parse::<u64>() {
                        numbers.push(n);
                    }
                }
                Ok(_) => {}
                Err(e) if classify(&e).not_found => return Ok(None),
                Err(e) => return Err(api_error("secretmanager.versions.list", &e)),
            }
        }
        numbers.sort_unstable();
        let mut out = Vec::new();
        for n in numbers {
            let resp = self
                .client
                .access_secret_version()
                .set_name(format!("{parent}/versions/{n}"))
                .send()
                .await
                .map_err(|e| api_error("secretmanager.versions.access", &e))?;
            if let Some(p) = resp.payload {
                out.push(match String::from_utf8(p.data.to_vec()) {
                    Ok(text) => SecretValue::text(text),
                    Err(e) => SecretValue::binary(e.into_bytes()),
                });
            }
        }
        Ok(Some(out))
    }

    /// Values by id. One paged list says which exist, so a fresh destination costs one
    /// request, not one per name; the existing ones are read 8 at a time.
    pub async fn read_many(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, Option<SecretValue>>, Error> {
        let existing: std::collections::BTreeSet<String> = if ids.len() > 1 {
            self.list().await?.into_iter().map(|(id, _)| id).collect()
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
    ) -> Result<BTreeMap<String, Option<SecretValue>>, Error> {
        use futures::stream::{self, StreamExt};
        let reads: Vec<Result<(String, Option<SecretValue>), Error>> = stream::iter(ids.iter())
            .map(|id| async move {
                if existing.contains(id) {
                    Ok((id.clone(), self.read(id).await?))
                } else {
                    Ok((id.clone(), None))
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        reads.into_iter().collect()
    }

    pub async fn create(
        &self,
        id: &str,
        value: &SecretValue,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, Error> {
        let secret = Secret::new()
            .set_replication(Replication::new().set_automatic(replication::Automatic::new()))
            .set_labels(labels.clone());
        let created = self
            .client
            .create_secret()
            .set_parent(format!("projects/{}", self.project))
            .set_secret_id(id)
            .set_secret(secret)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // A run killed between creating the secret and adding its version leaves a
            // secret with no value; the caller saw no value, so the first version goes in now.
            Err(e)
                if e.status().is_some_and(|s| {
                    s.code == google_cloud_gax::error::rpc::Code::AlreadyExists
                }) => {}
            Err(e) => return Err(api_error("secretmanager.secrets.create", &e)),
        }
        self.add_version(id, value).await
    }

    pub async fn add_version(&self, id: &str, value: &SecretValue) -> Result<String, Error> {
        let payload = SecretPayload::new()
            .set_data(bytes::Bytes::copy_from_slice(value.expose()))
            .set_data_crc32c(i64::from(crc32c::crc32c(value.expose())));
        let v = self
            .client
            .add_secret_version()
            .set_parent(format!("projects/{}/secrets/{id}", self.project))
            .set_payload(payload)
            .send()
            .await
            .map_err(|e| api_error("secretmanager.secrets.addVersion", &e))?;
        Ok(v.name.rsplit('/').next().unwrap_or_default().to_string())
    }
}
