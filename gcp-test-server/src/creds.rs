//! Credentials that live outside IAM service-account keys: API Keys v2 keys
//! ([`crate::apikeys`]), Cloud Storage HMAC keys ([`crate::hmac`]) and workload identity
//! pools and providers ([`crate::wif`]). This module holds their state, maps their
//! routes (from the discovery documents `apikeys.v2.json`, `storage.v1.json` and
//! `iam.v1.json`) to handlers, and keeps their permission and query-parameter tables,
//! which [`crate::enforce`] and [`crate::params`] consult beside their own.
//!
//! Invariants:
//! - a key string or HMAC secret is held here, returned once by the method Google
//!   returns it from (`keys.getKeyString`, `hmacKeys.create`), and never by a list or get;
//! - deleted API keys, pools and providers are kept (Google keeps them 30 days) and
//!   `:undelete` brings them back; a list shows them only with `showDeleted`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::enforce::Need::{self, Permission as P};
use crate::error::ApiResult;
use crate::store::Store;
use crate::wire::ApiRequest;
use crate::{apikeys, hmac, wif};

/// The state of the three kinds.
#[derive(Debug, Default)]
pub struct CredStore {
    /// API keys by (project id, uid).
    pub api_keys: BTreeMap<(String, String), apikeys::ApiKey>,
    /// HMAC keys by access id.
    pub hmac_keys: BTreeMap<String, hmac::HmacKey>,
    /// Workload identity pools by (project id, pool id).
    pub pools: BTreeMap<(String, String), wif::Pool>,
    /// Providers by (project id, pool id, provider id).
    pub providers: BTreeMap<(String, String, String), wif::Provider>,
    /// Finished long-running operations by name (`operations/...`).
    pub operations: BTreeMap<String, Value>,
}

/// A matched route: its label and the call to run.
pub type Call<'r> = Box<dyn FnOnce(&mut Store, &ApiRequest) -> ApiResult<Value> + 'r>;

/// The route for a request to one of these services, if it is one.
pub fn route<'r>(
    method: &str,
    segs: &'r [&'r str],
    verb: Option<&'r str>,
) -> Option<(&'static str, Call<'r>)> {
    apikeys::route(method, segs, verb)
        .or_else(|| hmac::route(method, segs, verb))
        .or_else(|| wif::route(method, segs, verb))
}

/// The permission each of these routes needs (Google's method documentation).
#[rustfmt::skip]
pub const NEED: &[(&str, Need)] = &[
    ("GET /v2/projects/{project}/locations/{location}/keys", P("apikeys.keys.list")),
    ("POST /v2/projects/{project}/locations/{location}/keys", P("apikeys.keys.create")),
    ("GET /v2/projects/{project}/locations/{location}/keys/{key}", P("apikeys.keys.get")),
    ("PATCH /v2/projects/{project}/locations/{location}/keys/{key}", P("apikeys.keys.update")),
    ("DELETE /v2/projects/{project}/locations/{location}/keys/{key}", P("apikeys.keys.delete")),
    ("POST /v2/projects/{project}/locations/{location}/keys/{key}:undelete", P("apikeys.keys.undelete")),
    ("GET /v2/projects/{project}/locations/{location}/keys/{key}/keyString", P("apikeys.keys.getKeyString")),
    ("GET /v2/operations/{operation}", Need::Nothing),
    ("GET /storage/v1/projects/{project}/hmacKeys", P("storage.hmacKeys.list")),
    ("POST /storage/v1/projects/{project}/hmacKeys", P("storage.hmacKeys.create")),
    ("GET /storage/v1/projects/{project}/hmacKeys/{accessId}", P("storage.hmacKeys.get")),
    ("PUT /storage/v1/projects/{project}/hmacKeys/{accessId}", P("storage.hmacKeys.update")),
    ("DELETE /storage/v1/projects/{project}/hmacKeys/{accessId}", P("storage.hmacKeys.delete")),
    ("GET /v1/projects/{project}/locations/{location}/workloadIdentityPools", P("iam.workloadIdentityPools.list")),
    ("POST /v1/projects/{project}/locations/{location}/workloadIdentityPools", P("iam.workloadIdentityPools.create")),
    ("GET /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}", P("iam.workloadIdentityPools.get")),
    ("DELETE /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}", P("iam.workloadIdentityPools.delete")),
    ("POST /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}:undelete", P("iam.workloadIdentityPools.undelete")),
    ("GET /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers", P("iam.workloadIdentityPoolProviders.list")),
    ("POST /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers", P("iam.workloadIdentityPoolProviders.create")),
    ("GET /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}", P("iam.workloadIdentityPoolProviders.get")),
    ("DELETE /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}", P("iam.workloadIdentityPoolProviders.delete")),
    ("POST /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}:undelete", P("iam.workloadIdentityPoolProviders.undelete")),
];

/// The query parameters each route binds (the discovery documents' `location: query`).
#[rustfmt::skip]
pub const PARAMS: &[(&str, &[&str])] = &[
    ("GET /v2/projects/{project}/locations/{location}/keys", &["pageSize", "pageToken", "showDeleted"]),
    ("POST /v2/projects/{project}/locations/{location}/keys", &["keyId"]),
    ("GET /v2/projects/{project}/locations/{location}/keys/{key}", &[]),
    ("PATCH /v2/projects/{project}/locations/{location}/keys/{key}", &["checkExistingUsage", "updateMask"]),
    ("DELETE /v2/projects/{project}/locations/{location}/keys/{key}", &["checkExistingUsage", "etag"]),
    ("POST /v2/projects/{project}/locations/{location}/keys/{key}:undelete", &[]),
    ("GET /v2/projects/{project}/locations/{location}/keys/{key}/keyString", &[]),
    ("GET /v2/operations/{operation}", &[]),
    ("GET /storage/v1/projects/{project}/hmacKeys", &["maxResults", "pageToken", "serviceAccountEmail", "showDeletedKeys", "userProject"]),
    ("POST /storage/v1/projects/{project}/hmacKeys", &["serviceAccountEmail", "userProject"]),
    ("GET /storage/v1/projects/{project}/hmacKeys/{accessId}", &["userProject"]),
    ("PUT /storage/v1/projects/{project}/hmacKeys/{accessId}", &["userProject"]),
    ("DELETE /storage/v1/projects/{project}/hmacKeys/{accessId}", &["userProject"]),
    ("GET /v1/projects/{project}/locations/{location}/workloadIdentityPools", &["pageSize", "pageToken", "showDeleted"]),
    ("POST /v1/projects/{project}/locations/{location}/workloadIdentityPools", &["workloadIdentityPoolId"]),
    ("GET /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}", &[]),
    ("DELETE /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}", &[]),
    ("POST /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}:undelete", &[]),
    ("GET /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers", &["pageSize", "pageToken", "showDeleted"]),
    ("POST /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers", &["workloadIdentityPoolProviderId"]),
    ("GET /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}", &[]),
    ("DELETE /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}", &[]),
    ("POST /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}:undelete", &[]),
];

/// A finished long-running operation wrapping `response` (these services answer
/// mutations with an Operation; this server finishes them at once), kept for
/// `operations.get`.
pub fn done_operation(store: &mut Store, name: String, type_url: &str, response: &Value) -> Value {
    let mut body = response.clone();
    if let Value::Object(map) = &mut body {
        map.insert("@type".into(), Value::String(type_url.to_owned()));
    }
    let op = serde_json::json!({ "name": name, "done": true, "response": body });
    store.creds.operations.insert(name, op.clone());
    op
}

/// `GET /v2/operations/{operation}`.
pub fn get_operation(store: &Store, id: &str) -> ApiResult<Value> {
    store
        .creds
        .operations
        .get(&format!("operations/{id}"))
        .cloned()
        .ok_or_else(|| {
            crate::error::ApiError::not_found(format!("Operation operations/{id} not found."))
        })
}

/// Refuses a location other than `global`: API keys and workload identity pools are
/// global resources.
pub fn global_only(location: &str) -> ApiResult<()> {
    if location == "global" {
        Ok(())
    } else {
        Err(crate::error::ApiError::invalid(format!(
            "Location '{location}' is not supported: the only location is 'global'."
        )))
    }
}

/// The admin seed of these kinds (`POST /_admin/seed` with `"credentials": {...}`):
/// resources made as their `create` methods make them, with a chosen creation time,
/// key string or HMAC secret (canary tests need a known one).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    api_keys: Vec<SeedApiKey>,
    #[serde(default)]
    hmac_keys: Vec<SeedHmacKey>,
    #[serde(default)]
    workload_identity_pools: Vec<SeedPool>,
    #[serde(default)]
    workload_identity_pool_providers: Vec<SeedProvider>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedApiKey {
    project: String,
    /// The `V2Key` fields `create` takes (displayName, restrictions, annotations, ...).
    #[serde(default)]
    key: Value,
    #[serde(default)]
    key_string: Option<String>,
    #[serde(default)]
    create_time: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedHmacKey {
    project: String,
    service_account_email: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    time_created: Option<String>,
    /// ACTIVE (default) or INACTIVE.
    #[serde(default)]
    state: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedPool {
    project: String,
    pool_id: String,
    #[serde(default)]
    pool: Value,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedProvider {
    project: String,
    pool_id: String,
    provider_id: String,
    provider: Value,
}

fn object_or_empty(v: Value) -> Value {
    if v.is_null() {
        serde_json::json!({})
    } else {
        v
    }
}

/// Applies a credentials seed in order (pools before providers); stops at the first error.
pub fn seed(store: &mut Store, seed: Seed) -> ApiResult<Value> {
    let time = |field: &str, t: &Option<String>| {
        t.as_deref()
            .map(|t| crate::util::parse_time(field, t))
            .transpose()
    };
    let mut api_keys = Vec::new();
    for k in seed.api_keys {
        let at = time("createTime", &k.create_time)?;
        let mut shown =
            apikeys::insert(store, &k.project, object_or_empty(k.key), k.key_string, at)?;
        if let Value::Object(m) = &mut shown {
            m.remove("keyString");
        }
        api_keys.push(shown);
    }
    let mut hmac_keys = Vec::new();
    for k in seed.hmac_keys {
        let at = time("timeCreated", &k.time_created)?;
        let made = hmac::insert(store, &k.project, &k.service_account_email, k.secret, at)?;
        let access_id = made["metadata"]["accessId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match k.state.as_deref() {
            None | Some("ACTIVE") => {}
            Some("INACTIVE") => {
                if let Some(key) = store.creds.hmac_keys.get_mut(&access_id) {
                    key.state = hmac::HmacState::Inactive;
                }
            }
            Some(other) => {
                return Err(crate::error::ApiError::invalid(format!(
                    "Seeded HMAC key state '{other}': use ACTIVE or INACTIVE."
                )))
            }
        }
        hmac_keys.push(hmac::metadata(&store.creds.hmac_keys[&access_id]));
    }
    let mut pools = Vec::new();
    for p in seed.workload_identity_pools {
        pools.push(wif::insert_pool(
            store,
            &p.project,
            &p.pool_id,
            object_or_empty(p.pool),
        )?);
    }
    let mut providers = Vec::new();
    for p in seed.workload_identity_pool_providers {
        providers.push(wif::insert_provider(
            store,
            &p.project,
            &p.pool_id,
            &p.provider_id,
            p.provider,
        )?);
    }
    Ok(serde_json::json!({
        "apiKeys": api_keys,
        "hmacKeys": hmac_keys,
        "workloadIdentityPools": pools,
        "workloadIdentityPoolProviders": providers,
    }))
}
