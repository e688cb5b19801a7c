//! The live GCP collector: the official google-cloud-rust crates (HTTP/JSON), built by
//! one factory from explicit settings: an optional endpoint (for emulators, which then
//! get anonymous credentials) or application default credentials.
//!
//! Cost: one project IAM policy, paged lists of service accounts and secrets (100 a
//! page), and per service account its key list and IAM policy, per secret its version
//! list and IAM policy; bounded concurrency; retries on UNAVAILABLE and
//! RESOURCE_EXHAUSTED with backoff. It never calls an API that returns a secret value.
//! In a walked folder or organization, what Cloud Asset Inventory already gave
//! ([`BulkProject`]: service accounts, their keys and IAM policies, API keys, secrets,
//! their versions and IAM policies) is not read again: then a project costs its IAM
//! policy, HMAC key and workload identity lists.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicyExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::pages::all_pages;
use super::sources::*;
use crate::error::Error;
use crate::model::Provider;
use crate::providers::aws::live::Progress;

/// How to reach GCP.
#[derive(Debug, Clone, Default)]
pub struct GcpSettings {
    /// Send every call to this base URL with anonymous credentials (emulators).
    pub endpoint: Option<String>,
    pub concurrency: usize,
    pub max_attempts: u32,
}

/// The clients one audit needs, built once.
pub struct Clients {
    pub(super) projects: google_cloud_resourcemanager_v3::client::Projects,
    pub(super) folders: google_cloud_resourcemanager_v3::client::Folders,
    pub(super) organizations: google_cloud_resourcemanager_v3::client::Organizations,
    pub(super) asset: google_cloud_asset_v1::client::AssetService,
    pub(super) iam: google_cloud_iam_admin_v1::client::Iam,
    pub(super) secrets: google_cloud_secretmanager_v1::client::SecretManagerService,
    pub(super) apikeys: google_cloud_apikeys_v2::client::ApiKeys,
    /// JSON calls for what no official crate covers (HMAC keys, workload identity).
    pub(super) rest: super::rest::Rest,
}

impl Clients {
    /// The JSON client for HMAC keys and workload identity (`apply` changes them).
    pub fn rest(&self) -> &super::rest::Rest {
        &self.rest
    }
}

use crate::providers::duty::{Duty, ADC_HINT, ADC_OPERATION};

/// A Secret Manager client alone (migration), from the same settings.
pub async fn secret_manager(
    settings: &GcpSettings,
) -> Result<google_cloud_secretmanager_v1::client::SecretManagerService, Error> {
    Ok(clients(settings).await?.secrets)
}

/// Exponential backoff from 200 ms to 10 s (with jitter): quick to recover from a
/// blip, patient enough for quota throttling.
fn backoff() -> google_cloud_gax::exponential_backoff::ExponentialBackoff {
    google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder::new()
        .with_initial_delay(std::time::Duration::from_millis(200))
        .with_maximum_delay(std::time::Duration::from_secs(10))
        .build()
        .expect("valid backoff bounds")
}

/// The environment variable holding an OAuth access token to use instead of application
/// default credentials (for example `$(gcloud auth print-access-token)`).
pub const ACCESS_TOKEN_ENV: &str = "HANDOVER_GCP_ACCESS_TOKEN";

/// An OAuth access token given by the caller, sent as a bearer token. The header is
/// marked sensitive and `Debug` shows nothing of it.
struct StaticToken {
    header: http::HeaderValue,
    tag: google_cloud_auth::credentials::EntityTag,
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken([REDACTED])")
    }
}

impl google_cloud_auth::credentials::CredentialsProvider for StaticToken {
    async fn headers(
        &self,
        extensions: http::Extensions,
    ) -> Result<
        google_cloud_auth::credentials::CacheableResource<http::HeaderMap>,
        google_cloud_auth::errors::CredentialsError,
    > {
        use google_cloud_auth::credentials::{CacheableResource, EntityTag};
        if extensions.get::<EntityTag>() == Some(&self.tag) {
            return Ok(CacheableResource::NotModified);
        }
        let mut data = http::HeaderMap::new();
        data.insert(http::header::AUTHORIZATION, self.header.clone());
        Ok(CacheableResource::New {
            entity_tag: self.tag.clone(),
            data,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        None
    }
}

fn static_token(token: &str) -> Result<google_cloud_auth::credentials::Credentials, Error> {
    let mut header = http::HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
        Error::usage(format!("{ACCESS_TOKEN_ENV} is not a valid access token (it has characters a header cannot carry)"), "set it to the output of `gcloud auth print-access-token`")
    })?;
    header.set_sensitive(true);
    Ok(google_cloud_auth::credentials::Credentials::from(
        StaticToken {
            header,
            tag: google_cloud_auth::credentials::EntityTag::new(),
        },
    ))
}

/// The one factory for GCP clients. Credentials: an access token from
/// `HANDOVER_GCP_ACCESS_TOKEN` if set; else anonymous for an emulator endpoint; else
/// application default credentials.
pub async fn clients(settings: &GcpSettings) -> Result<Clients, Error> {
    let token = std::env::var(ACCESS_TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let credentials = match (&token, &settings.endpoint) {
        (Some(t), _) => static_token(t)?,
        (None, Some(_)) => google_cloud_auth::credentials::anonymous::Builder::new().build(),
        (None, None) => application_default().await?,
    };
    let attempts = settings.max_attempts.max(1);
    macro_rules! build {
        ($client:ty) => {{
            let mut b = <$client>::builder()
                .with_credentials(credentials.clone())
                .with_retry_policy(
                    Aip194Strict
                        .continue_on_too_many_requests()
                        .with_attempt_limit(attempts),
                )
                .with_backoff_policy(backoff());
            if let Some(e) = &settings.endpoint {
                b = b.with_endpoint(e.trim_end_matches('/'));
            }
            b.build().await.map_err(|e| Error::Api {
                provider: Provider::Gcp,
                operation: "client setup".into(),
                what: e.to_string(),
                hint: "check --gcp-endpoint / HANDOVER_GCP_ENDPOINT".into(),
            })?
        }};
    }
    Ok(Clients {
        projects: build!(google_cloud_resourcemanager_v3::client::Projects),
        folders: build!(google_cloud_resourcemanager_v3::client::Folders),
        organizations: build!(google_cloud_resourcemanager_v3::client::Organizations),
        asset: build!(google_cloud_asset_v1::client::AssetService),
        iam: build!(google_cloud_iam_admin_v1::client::Iam),
        secrets: build!(google_cloud_secretmanager_v1::client::SecretManagerService),
        apikeys: build!(google_cloud_apikeys_v2::client::ApiKeys),
        rest: super::rest::Rest::new(credentials.clone(), settings.endpoint.clone(), attempts),
    })
}

/// How long the first access token of application default credentials may take.
const FIRST_TOKEN_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Where application default credentials come from, as the auth library looks for them
/// ([AIP-4110](https://google.aip.dev/auth/4110)): the file GOOGLE_APPLICATION_CREDENTIALS
/// names, else gcloud's well-known file, else the metadata server.
enum AdcSource {
    File(std::path::PathBuf),
    MetadataServer {
        well_known: Option<std::path::PathBuf>,
    },
}

fn adc_source() -> AdcSource {
    if let Some(p) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        return AdcSource::File(p.into());
    }
    let well_known = std::env::var_os("HOME").map(|h| {
        std::path::PathBuf::from(h).join(".config/gcloud/application_default_credentials.json")
    });
    match well_known {
        Some(p) if p.exists() => AdcSource::File(p),
        well_known => AdcSource::MetadataServer { well_known },
    }
}

/// Application default credentials, with their first access token fetched here, once.
///
/// Without this, a machine with no credentials at all fell back to the metadata server,
/// every request's token fetch failed as "transient", and each client's retry loop
/// retried it with backoff for about a minute before printing the auth library's own
/// words. A missing credential is not transient: it is reported at once, in one sentence
/// naming where ADC looked. The token is cached by the credentials, so this costs no
/// extra request.
async fn application_default() -> Result<google_cloud_auth::credentials::Credentials, Error> {
    let source = adc_source();
    let fail = |what: String| Error::Access {
        provider: Provider::Gcp,
        operation: ADC_OPERATION.into(),
        what,
        hint: ADC_HINT.into(),
    };
    let unusable = |e: &dyn std::fmt::Display| {
        // The library's words go to the debug log; ours say where ADC looked.
        tracing::debug!(error = %e, "application default credentials failed");
        match &source {
            AdcSource::File(p) if !p.exists() => fail(format!(
                "GOOGLE_APPLICATION_CREDENTIALS names {}, which does not exist",
                p.display()
            )),
            AdcSource::File(p) => fail(format!(
                "the credentials file {} gives no access token (run with -vv for the reason)",
                p.display()
            )),
            AdcSource::MetadataServer { well_known } => fail(format!(
                "none found: GOOGLE_APPLICATION_CREDENTIALS is not set, {} does not exist, \
                 and no metadata server answers",
                well_known.as_deref().map_or_else(
                    || "gcloud's application_default_credentials.json (no HOME)".into(),
                    |p| p.display().to_string()
                )
            )),
        }
    };
    let credentials = google_cloud_auth::credentials::Builder::default()
        .build()
        .map_err(|e| unusable(&e))?;
    match tokio::time::timeout(
        FIRST_TOKEN_WITHIN,
        credentials.headers(http::Extensions::new()),
    )
    .await
    {
        Ok(Ok(_)) => Ok(credentials),
        Ok(Err(e)) => Err(unusable(&e)),
        Err(_) => Err(unusable(&"no token within 10 s")),
    }
}

pub(crate) struct Failure {
    pub(crate) denied: bool,
    pub(crate) not_found: bool,
    pub(crate) unreachable: bool,
    pub(crate) message: String,
}

pub(crate) fn classify(e: &google_cloud_gax::error::Error) -> Failure {
    use google_cloud_gax::error::rpc::Code;
    let code = e.status().map(|s| s.code);
    let http = e.http_status_code();
    let message = match e.status() {
        Some(s) => format!("{:?}: {}", s.code, s.message),
        None => match http {
            Some(h) => format!("the service answered HTTP {h}"),
            None => e.to_string(),
        },
    };
    Failure {
        denied: e.is_authentication()
            || matches!(code, Some(Code::PermissionDenied | Code::Unauthenticated))
            || matches!(http, Some(401 | 403)),
        not_found: matches!(code, Some(Code::NotFound)) || http == Some(404),
        unreachable: e.is_io()
            || e.is_connect()
            || e.is_transport()
            || e.is_timeout()
            || e.is_exhausted() && e.status().is_none(),
        message,
    }
}

/// A failure in a gap's words (also for [`super::rest`] calls).
pub(crate) fn gap_text(f: Failure) -> String {
    gap_reason(f)
}

pub(super) fn gap_reason(f: Failure) -> String {
    if f.denied {
        format!("access denied ({})", f.message)
    } else {
        f.message
    }
}

/// Converts an official model type into our source type through the API's JSON.
pub(super) fn convert<T: Serialize, U: DeserializeOwned>(v: &T, what: &str) -> Result<U, String> {
    serde_json::to_value(v)
        .and_then(serde_json::from_value)
        .map_err(|e| format!("unexpected {what} shape: {e}"))
}

/// The crates serialize enums as numbers; the APIs and gcloud print their names.
fn with_enum_names(mut v: serde_json::Value, names: &[(&str, Option<&str>)]) -> serde_json::Value {
    if let Some(obj) = v.as_object_mut() {
        for (field, name) in names {
            match name {
                Some(n) => obj.insert(
                    (*field).to_string(),
                    serde_json::Value::String((*n).to_string()),
                ),
                None => obj.remove(*field),
            };
        }
    }
    v
}

fn key_source(
    k: &google_cloud_iam_admin_v1::model::ServiceAccountKey,
) -> Result<ServiceAccountKey, String> {
    let v = serde_json::to_value(k).map_err(|e| e.to_string())?;
    let v = with_enum_names(
        v,
        &[
            ("keyType", k.key_type.name()),
            ("keyAlgorithm", k.key_algorithm.name()),
            ("keyOrigin", k.key_origin.name()),
        ],
    );
    serde_json::from_value(v).map_err(|e| format!("unexpected key shape: {e}"))
}

fn version_source(
    s: &google_cloud_secretmanager_v1::model::SecretVersion,
) -> Result<SecretVersion, String> {
    let v = serde_json::to_value(s).map_err(|e| e.to_string())?;
    let v = with_enum_names(v, &[("state", s.state.name())]);
    serde_json::from_value(v).map_err(|e| format!("unexpected secret version shape: {e}"))
}

pub(super) fn policy_v3() -> google_cloud_iam_v1::model::GetPolicyOptions {
    google_cloud_iam_v1::model::GetPolicyOptions::new().set_requested_policy_version(3)
}

/// Reads one project: its IAM policy (which must be readable), then paged lists, then
/// two requests per service account (keys, IAM policy) and two per secret (versions,
/// IAM policy).
pub async fn collect(
    c: &Clients,
    project: &str,
    concurrency: usize,
    progress: Arc<dyn Progress>,
) -> Result<ProjectSources, Error> {
    collect_with(c, project, concurrency, progress, &BulkProject::default()).await
}

/// `collect`, with what Cloud Asset Inventory already gave for the project (service
/// accounts, their IAM policies by unique id and keys, API keys, secrets): each kind
/// given is not read again; each `None` is read per item.
pub async fn collect_with(
    c: &Clients,
    project: &str,
    concurrency: usize,
    progress: Arc<dyn Progress>,
    bulk: &BulkProject,
) -> Result<ProjectSources, Error> {
    progress.phase(&format!("gcp {project}"), 1);
    let iam_policy = project_policy(c, project).await?;
    progress.tick();

    let service_accounts = match &bulk.service_accounts {
        Some(v) => Availability::Known(v.clone()),
        None => list_service_accounts(c, project).await,
    };
    let secrets = match &bulk.secrets {
        Some(v) => Availability::Known(v.clone()),
        None => list_secrets(c, project).await,
    };

    let accounts: Vec<PerAccount> = service_accounts
        .known()
        .map(|v| {
            v.iter()
                .map(|s| PerAccount {
                    email: s.email.clone(),
                    policy: bulk.account_policies.as_ref().and_then(|m| {
                        let id = s.unique_id.as_deref()?;
                        Some(m.get(id).cloned().unwrap_or_default())
                    }),
                    keys: bulk.keys.as_ref().and_then(|m| m.get(&s.email).cloned()),
                })
                .collect()
        })
        .unwrap_or_default();
    progress.phase("service accounts", accounts.len() as u64);
    let (keys, service_account_policies) =
        per_service_account(c, project, accounts, concurrency, &progress).await;

    let names: Vec<PerSecret> = secrets
        .known()
        .map(|v| {
            v.iter()
                .map(|s| PerSecret {
                    name: s.name.clone(),
                    versions: bulk.versions.as_ref().and_then(|m| m.get(&s.name).cloned()),
                    policy: bulk
                        .secret_policies
                        .as_ref()
                        .and_then(|m| m.get(&s.name).cloned()),
                })
                .collect()
        })
        .unwrap_or_default();
    progress.phase("secrets", names.len() as u64);
    let (versions, secret_policies) = per_secret(c, names, concurrency, &progress).await;
    let outside = outside_iam(c, project, bulk.api_keys.clone()).await;
    Ok(ProjectSources {
        project_id: project.to_string(),
        iam_policy,
        service_accounts,
        keys,
        service_account_policies,
        secrets,
        versions,
        secret_policies,
        outside,
    })
}

/// API keys, HMAC keys, and workload identity pools with their providers: one list
/// each (plus one provider list per pool), read side by side.
async fn outside_iam(
    c: &Clients,
    project: &str,
    bulk_api_keys: Option<Vec<super::apikeys::ApiKey>>,
) -> super::sources::OutsideIam {
    let api_keys = async {
        match bulk_api_keys {
            Some(k) => Availability::Known(k),
            None => super::apikeys::list(c, project).await,
        }
    };
    let (api_keys, hmac_keys, federation) = futures::join!(
        api_keys,
        super::hmac::list(&c.rest, project),
        super::wif::collect(&c.rest, project),
    );
    super::sources::OutsideIam {
        api_keys,
        hmac_keys,
        federation,
    }
}

/// The project's IAM policy: without it there is no audit, so a failure is an error
/// that says why (missing project, access, network), not a gap.
async fn project_policy(c: &Clients, project: &str) -> Result<Policy, Error> {
    let policy = c
        .projects
        .get_iam_policy()
        .set_resource(format!("projects/{project}"))
        .set_options(policy_v3())
        .send()
        .await
        .map_err(|e| {
            let f = classify(&e);
            let op = "cloudresourcemanager.projects.getIamPolicy".to_string();
            if f.not_found {
                Error::Usage {
                    what: format!(
                        "GCP project {project} does not exist or is not visible: {}",
                        f.message
                    ),
                    hint: "check the id given to --gcp-project".into(),
                }
            } else if f.denied {
                Error::Access {
                    provider: Provider::Gcp,
                    operation: op,
                    what: f.message,
                    hint: Duty::Audit.gcp_hint(),
                }
            } else if f.unreachable {
                Error::Api {
                    provider: Provider::Gcp,
                    operation: op,
                    what: format!("cannot reach the endpoint: {}", f.message),
                    hint: "check the network and --gcp-endpoint / HANDOVER_GCP_ENDPOINT".into(),
                }
            } else {
                Error::Api {
                    provider: Provider::Gcp,
                    operation: op,
                    what: f.message,
                    hint: "retry later; if it persists, run with -vv".into(),
                }
            }
        })?;
    convert(&policy, "IAM policy").map_err(|e| Error::Api {
        provider: Provider::Gcp,
        operation: "cloudresourcemanager.projects.getIamPolicy".into(),
        what: e,
        hint: "report this with the tool version".into(),
    })
}

type ByName<T> = BTreeMap<String, Availability<T>>;

/// One service account to read, with what the bulk read already gave.
struct PerAccount {
    email: String,
    policy: Option<Policy>,
    keys: Option<Vec<ServiceAccountKey>>,
}

/// Each service account's keys and IAM policy (who may act as it), unless read in bulk
/// already, `concurrency` at a time.
async fn per_service_account(
    c: &Clients,
    project: &str,
    emails: Vec<PerAccount>,
    concurrency: usize,
    progress: &Arc<dyn Progress>,
) -> (ByName<Vec<ServiceAccountKey>>, ByName<Policy>) {
    let per_sa: Vec<(
        String,
        Availability<Vec<ServiceAccountKey>>,
        Availability<Policy>,
    )> = stream::iter(emails)
        .map(|a| {
            let progress = progress.clone();
            async move {
                let PerAccount {
                    email,
                    policy,
                    keys,
                } = a;
                let name = format!("projects/{project}/serviceAccounts/{email}");
                let keys = match keys {
                    Some(k) => Availability::Known(k),
                    None => service_account_keys(c, &name).await,
                };
                let policy = match policy {
                    Some(p) => Availability::Known(p),
                    None => service_account_policy(c, &name).await,
                };
                progress.tick();
                (email, keys, policy)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut keys = BTreeMap::new();
    let mut policies = BTreeMap::new();
    for (email, k, p) in per_sa {
        keys.insert(email.clone(), k);
        policies.insert(email, p);
    }
    (keys, policies)
}

async fn service_account_keys(c: &Clients, name: &str) -> Availability<Vec<ServiceAccountKey>> {
    match c
        .iam
        .list_service_account_keys()
        .set_name(name)
        .send()
        .await
    {
        Ok(r) => match r.keys.iter().map(key_source).collect::<Result<Vec<_>, _>>() {
            Ok(k) => Availability::Known(k),
            Err(e) => Availability::unknown("iam:ListServiceAccountKeys", e),
        },
        Err(e) => Availability::unknown("iam:ListServiceAccountKeys", gap_reason(classify(&e))),
    }
}

async fn service_account_policy(c: &Clients, name: &str) -> Availability<Policy> {
    // Version 3, or conditional bindings come back renamed and without their condition.
    match c
        .iam
        .get_iam_policy()
        .set_resource(name)
        .set_options(policy_v3())
        .send()
        .await
    {
        Ok(p) => convert(&p, "IAM policy")
            .map(Availability::Known)
            .unwrap_or_else(|e| Availability::unknown("iam:GetIamPolicy", e)),
        Err(e) => Availability::unknown("iam:GetIamPolicy", gap_reason(classify(&e))),
    }
}

/// One secret to read, with what the bulk read already gave.
struct PerSecret {
    name: String,
    versions: Option<Vec<SecretVersion>>,
    policy: Option<Policy>,
}

/// Each secret's versions and IAM policy, unless read in bulk already, `concurrency`
/// at a time.
async fn per_secret(
    c: &Clients,
    names: Vec<PerSecret>,
    concurrency: usize,
    progress: &Arc<dyn Progress>,
) -> (ByName<Vec<SecretVersion>>, ByName<Policy>) {
    let per_secret: Vec<(
        String,
        Availability<Vec<SecretVersion>>,
        Availability<Policy>,
    )> = stream::iter(names)
        .map(|s| {
            let progress = progress.clone();
            async move {
                let PerSecret {
                    name,
                    versions,
                    policy,
                } = s;
                let versions = match versions {
                    Some(v) => Availability::Known(v),
                    None => secret_versions(c, &name).await,
                };
                let policy = match policy {
                    Some(p) => Availability::Known(p),
                    None => secret_policy(c, &name).await,
                };
                progress.tick();
                (name, versions, policy)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut versions = BTreeMap::new();
    let mut policies = BTreeMap::new();
    for (name, v, p) in per_secret {
        versions.insert(name.clone(), v);
        policies.insert(name, p);
    }
    (versions, policies)
}

async fn secret_versions(c: &Clients, name: &str) -> Availability<Vec<SecretVersion>> {
    const SOURCE: &str = "secretmanager:ListSecretVersions";
    let (versions, why) = all_pages(
        |t| {
            c.secrets
                .list_secret_versions()
                .set_parent(name)
                .set_page_size(100)
                .set_page_token(t)
                .send()
        },
        |r| (r.versions, r.next_page_token),
        |e| gap_reason(classify(&e)),
    )
    .await;
    if let Some(why) = why {
        return Availability::unknown(SOURCE, why);
    }
    match versions.iter().map(version_source).collect() {
        Ok(v) => Availability::Known(v),
        Err(e) => Availability::unknown(SOURCE, e),
    }
}

async fn secret_policy(c: &Clients, name: &str) -> Availability<Policy> {
    match c
        .secrets
        .get_iam_policy()
        .set_resource(name)
        .set_options(policy_v3())
        .send()
        .await
    {
        Ok(p) => convert(&p, "IAM policy")
            .map(Availability::Known)
            .unwrap_or_else(|e| Availability::unknown("secretmanager:GetIamPolicy", e)),
        Err(e) => Availability::unknown("secretmanager:GetIamPolicy", gap_reason(classify(&e))),
    }
}

async fn list_service_accounts(c: &Clients, project: &str) -> Availability<Vec<ServiceAccount>> {
    const SOURCE: &str = "iam:ListServiceAccounts";
    let (accounts, why) = all_pages(
        |t| {
            c.iam
                .list_service_accounts()
                .set_name(format!("projects/{project}"))
                .set_page_size(100)
                .set_page_token(t)
                .send()
        },
        |r| (r.accounts, r.next_page_token),
        |e| gap_reason(classify(&e)),
    )
    .await;
    if let Some(why) = why {
        return Availability::unknown(SOURCE, why);
    }
    match accounts
        .iter()
        .map(|a| convert(a, "service account"))
        .collect()
    {
        Ok(v) => Availability::Known(v),
        Err(e) => Availability::unknown(SOURCE, e),
    }
}

async fn list_secrets(c: &Clients, project: &str) -> Availability<Vec<Secret>> {
    const SOURCE: &str = "secretmanager:ListSecrets";
    // Secret Manager serves up to 25,000 a page; fewer round trips for large projects.
    let (secrets, why) = all_pages(
        |t| {
            c.secrets
                .list_secrets()
                .set_parent(format!("projects/{project}"))
                .set_page_size(1000)
                .set_page_token(t)
                .send()
        },
        |r| (r.secrets, r.next_page_token),
        |e| gap_reason(classify(&e)),
    )
    .await;
    if let Some(why) = why {
        return Availability::unknown(SOURCE, why);
    }
    match secrets.iter().map(|s| convert(s, "secret")).collect() {
        Ok(v) => Availability::Known(v),
        Err(e) => Availability::unknown(SOURCE, e),
    }
}
