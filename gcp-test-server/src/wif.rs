//! IAM v1 workload identity federation (`iam.v1.json`):
//! `projects/*/locations/global/workloadIdentityPools` and their `providers`: list
//! (`showDeleted`), get, create, delete (soft: state DELETED with an `expireTime` 30
//! days on, as Google keeps them) and undelete. Mutations answer a finished Operation.
//!
//! Invariants: names carry the project number; a provider has exactly one of `oidc`,
//! `aws`, `saml`, `x509`; an OIDC provider maps `google.subject` (Google requires it).
//! Where this differs from Google: the operation names returned are not served by an
//! `operations.get` route (they are finished when returned).

use std::collections::BTreeMap;

use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::creds::{done_operation, global_only, Call};
use crate::error::{ApiError, ApiResult};
use crate::paging::{paginate, Limits};
use crate::store::Store;
use crate::util::{fmt_time, now_to, Time};
use crate::wire::ApiRequest;

/// `workloadIdentityPools.list`: "at most 50 pools are returned. The maximum value is
/// 1000"; the same for providers.
const LIMITS: Limits = Limits {
    default: 50,
    max: 1000,
};
const POOL_TYPE: &str = "type.googleapis.com/google.iam.v1.WorkloadIdentityPool";
const PROVIDER_TYPE: &str = "type.googleapis.com/google.iam.v1.WorkloadIdentityPoolProvider";

#[derive(Clone, Debug)]
pub struct Pool {
    pub project_id: String,
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub disabled: bool,
    pub deleted: Option<Time>,
}

#[derive(Clone, Debug)]
pub struct Provider {
    pub project_id: String,
    pub pool: String,
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub disabled: bool,
    pub deleted: Option<Time>,
    pub attribute_mapping: BTreeMap<String, String>,
    pub attribute_condition: Option<String>,
    /// `("oidc" | "aws" | "saml" | "x509", its object)`.
    pub protocol: (String, Value),
}

/// The route for a workload identity request, if it is one.
pub fn route<'r>(
    method: &str,
    segs: &'r [&'r str],
    verb: Option<&'r str>,
) -> Option<(&'static str, Call<'r>)> {
    const POOLS: &str = "workloadIdentityPools";
    let r: (&'static str, Call<'r>) = match (method, segs, verb) {
        ("GET", ["v1", "projects", p, "locations", l, POOLS], None) => (
            "GET /v1/projects/{project}/locations/{location}/workloadIdentityPools",
            Box::new(move |s, r| list_pools(s, p, l, r)),
        ),
        ("POST", ["v1", "projects", p, "locations", l, POOLS], None) => (
            "POST /v1/projects/{project}/locations/{location}/workloadIdentityPools",
            Box::new(move |s, r| create_pool(s, p, l, r)),
        ),
        ("GET", ["v1", "projects", p, "locations", l, POOLS, w], None) => (
            "GET /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}",
            Box::new(move |s, _| get_pool(s, p, l, w)),
        ),
        ("DELETE", ["v1", "projects", p, "locations", l, POOLS, w], None) => (
            "DELETE /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}",
            Box::new(move |s, _| set_pool_deleted(s, p, l, w, true)),
        ),
        ("POST", ["v1", "projects", p, "locations", l, POOLS, w], Some("undelete")) => (
            "POST /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}:undelete",
            Box::new(move |s, _| set_pool_deleted(s, p, l, w, false)),
        ),
        ("GET", ["v1", "projects", p, "locations", l, POOLS, w, "providers"], None) => (
            "GET /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers",
            Box::new(move |s, r| list_providers(s, p, l, w, r)),
        ),
        ("POST", ["v1", "projects", p, "locations", l, POOLS, w, "providers"], None) => (
            "POST /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers",
            Box::new(move |s, r| create_provider(s, p, l, w, r)),
        ),
        ("GET", ["v1", "projects", p, "locations", l, POOLS, w, "providers", v], None) => (
            "GET /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}",
            Box::new(move |s, _| get_provider(s, p, l, w, v)),
        ),
        ("DELETE", ["v1", "projects", p, "locations", l, POOLS, w, "providers", v], None) => (
            "DELETE /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}",
            Box::new(move |s, _| set_provider_deleted(s, p, l, w, v, true)),
        ),
        ("POST", ["v1", "projects", p, "locations", l, POOLS, w, "providers", v], Some("undelete")) => (
            "POST /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}:undelete",
            Box::new(move |s, _| set_provider_deleted(s, p, l, w, v, false)),
        ),
        _ => return None,
    };
    Some(r)
}

fn pool_name(store: &Store, project_id: &str, pool: &str) -> String {
    format!(
        "projects/{}/locations/global/workloadIdentityPools/{pool}",
        store.project_number(project_id)
    )
}

fn state_fields(out: &mut Value, deleted: Option<Time>, disabled: bool) {
    match deleted {
        Some(t) => {
            out["state"] = json!("DELETED");
            out["expireTime"] = json!(fmt_time(&(t + TimeDelta::days(30))));
        }
        None => out["state"] = json!("ACTIVE"),
    }
    if disabled {
        out["disabled"] = json!(true);
    }
}

pub fn pool_json(store: &Store, p: &Pool) -> Value {
    let mut out =
        json!({ "name": pool_name(store, &p.project_id, &p.id), "mode": "FEDERATION_ONLY" });
    if !p.display_name.is_empty() {
        out["displayName"] = json!(p.display_name);
    }
    if !p.description.is_empty() {
        out["description"] = json!(p.description);
    }
    state_fields(&mut out, p.deleted, p.disabled);
    out
}

pub fn provider_json(store: &Store, p: &Provider) -> Value {
    let mut out = json!({
        "name": format!("{}/providers/{}", pool_name(store, &p.project_id, &p.pool), p.id),
        "attributeMapping": p.attribute_mapping,
    });
    out[p.protocol.0.as_str()] = p.protocol.1.clone();
    if let Some(c) = &p.attribute_condition {
        out["attributeCondition"] = json!(c);
    }
    if !p.display_name.is_empty() {
        out["displayName"] = json!(p.display_name);
    }
    if !p.description.is_empty() {
        out["description"] = json!(p.description);
    }
    state_fields(&mut out, p.deleted, p.disabled);
    out
}

/// Pool and provider ids: 4 to 32 lowercase letters, digits and hyphens, not starting
/// with `gcp-` (reserved).
fn check_id(what: &str, id: &str) -> ApiResult<()> {
    let ok = (4..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with("gcp-");
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid {what} id '{id}': use 4 to 32 lowercase letters, digits and hyphens."
        )))
    }
}

fn pool_key(
    store: &mut Store,
    project: &str,
    location: &str,
    pool: &str,
) -> ApiResult<(String, String)> {
    global_only(location)?;
    let key = (store.project_id(project)?, pool.to_owned());
    if store.creds.pools.contains_key(&key) {
        Ok(key)
    } else {
        Err(ApiError::not_found(format!(
            "Requested entity was not found: workload identity pool projects/{project}/locations/{location}/workloadIdentityPools/{pool}."
        )))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoolBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
}

/// Creates a pool (the API's `create` and the admin seed).
pub fn insert_pool(store: &mut Store, project: &str, id: &str, body: Value) -> ApiResult<Value> {
    check_id("pool", id)?;
    let body: PoolBody = serde_json::from_value(body)
        .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))?;
    let project_id = store.project_id(project)?;
    let key = (project_id.clone(), id.to_owned());
    if store.creds.pools.contains_key(&key) {
        return Err(ApiError::exists(format!(
            "Workload identity pool {id} already exists."
        )));
    }
    let pool = Pool {
        project_id,
        id: id.to_owned(),
        display_name: body.display_name.unwrap_or_default(),
        description: body.description.unwrap_or_default(),
        disabled: body.disabled.unwrap_or(false),
        deleted: None,
    };
    let out = pool_json(store, &pool);
    store.creds.pools.insert(key, pool);
    Ok(out)
}

fn operation(store: &mut Store, resource: &Value, type_url: &str) -> Value {
    let g = store.next_generation();
    let name = format!(
        "{}/operations/{g:016x}",
        resource["name"].as_str().unwrap_or_default()
    );
    done_operation(store, name, type_url, resource)
}

fn create_pool(
    store: &mut Store,
    project: &str,
    location: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    global_only(location)?;
    let id = req
        .param("workloadIdentityPoolId")
        .unwrap_or_default()
        .to_owned();
    let pool = insert_pool(store, project, &id, req.json()?)?;
    Ok(operation(store, &pool, POOL_TYPE))
}

fn get_pool(store: &mut Store, project: &str, location: &str, pool: &str) -> ApiResult<Value> {
    let key = pool_key(store, project, location, pool)?;
    Ok(pool_json(store, &store.creds.pools[&key]))
}

fn list_pools(
    store: &mut Store,
    project: &str,
    location: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    global_only(location)?;
    let project_id = store.project_id(project)?;
    let deleted = req.param("showDeleted") == Some("true");
    let items: Vec<(String, Value)> = store
        .creds
        .pools
        .values()
        .filter(|p| p.project_id == project_id && (deleted || p.deleted.is_none()))
        .map(|p| (p.id.clone(), pool_json(store, p)))
        .collect();
    let (page, next) = paginate(
        items,
        &format!("pools|{project_id}|{deleted}"),
        req.page_size()?,
        req.page_token(),
        LIMITS,
    )?;
    Ok(list_body("workloadIdentityPools", page, next))
}

fn list_body(field: &str, page: Vec<Value>, next: Option<String>) -> Value {
    let mut out = json!({});
    if !page.is_empty() {
        out[field] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    out
}

fn set_pool_deleted(
    store: &mut Store,
    project: &str,
    location: &str,
    pool: &str,
    delete: bool,
) -> ApiResult<Value> {
    let key = pool_key(store, project, location, pool)?;
    let p = store.creds.pools.get_mut(&key).expect("found");
    match (delete, p.deleted.is_some()) {
        (true, true) => return Err(ApiError::precondition("The pool is already deleted.")),
        (false, false) => return Err(ApiError::precondition("The pool is not deleted.")),
        (true, false) => p.deleted = Some(now_to(6)),
        (false, true) => p.deleted = None,
    }
    let shown = pool_json(store, &store.creds.pools[&key]);
    Ok(operation(store, &shown, POOL_TYPE))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProviderBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    attribute_mapping: BTreeMap<String, String>,
    #[serde(default)]
    attribute_condition: Option<String>,
    #[serde(default)]
    oidc: Option<Value>,
    #[serde(default)]
    aws: Option<Value>,
    #[serde(default)]
    saml: Option<Value>,
    #[serde(default)]
    x509: Option<Value>,
}

fn protocol(body: &mut ProviderBody) -> ApiResult<(String, Value)> {
    let mut found: Vec<(String, Value)> = [
        ("oidc", body.oidc.take()),
        ("aws", body.aws.take()),
        ("saml", body.saml.take()),
        ("x509", body.x509.take()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
    .collect();
    if found.len() != 1 {
        return Err(ApiError::invalid(
            "A provider needs exactly one of oidc, aws, saml or x509.",
        ));
    }
    let (kind, value) = found.remove(0);
    if kind == "oidc" {
        if value["issuerUri"].as_str().is_none_or(str::is_empty) {
            return Err(ApiError::invalid("oidc.issuerUri is required."));
        }
        if !body.attribute_mapping.contains_key("google.subject") {
            return Err(ApiError::invalid(
                "attributeMapping must map google.subject for an OIDC provider.",
            ));
        }
    }
    Ok((kind, value))
}

/// Creates a provider in a pool (the API's `create` and the admin seed).
pub fn insert_provider(
    store: &mut Store,
    project: &str,
    pool: &str,
    id: &str,
    body: Value,
) -> ApiResult<Value> {
    check_id("provider", id)?;
    let mut body: ProviderBody = serde_json::from_value(body)
        .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))?;
    let proto = protocol(&mut body)?;
    let (project_id, pool) = pool_key(store, project, "global", pool)?;
    let key = (project_id.clone(), pool.clone(), id.to_owned());
    if store.creds.providers.contains_key(&key) {
        return Err(ApiError::exists(format!("Provider {id} already exists.")));
    }
    let provider = Provider {
        project_id,
        pool,
        id: id.to_owned(),
        display_name: body.display_name.unwrap_or_default(),
        description: body.description.unwrap_or_default(),
        disabled: body.disabled.unwrap_or(false),
        deleted: None,
        attribute_mapping: body.attribute_mapping,
        attribute_condition: body.attribute_condition.filter(|c| !c.trim().is_empty()),
        protocol: proto,
    };
    let out = provider_json(store, &provider);
    store.creds.providers.insert(key, provider);
    Ok(out)
}

fn provider_key(
    store: &mut Store,
    project: &str,
    location: &str,
    pool: &str,
    id: &str,
) -> ApiResult<(String, String, String)> {
    let (project_id, pool) = pool_key(store, project, location, pool)?;
    let key = (project_id, pool, id.to_owned());
    if store.creds.providers.contains_key(&key) {
        Ok(key)
    } else {
        Err(ApiError::not_found(format!(
            "Requested entity was not found: provider {id} in pool {}.",
            key.1
        )))
    }
}

fn create_provider(
    store: &mut Store,
    project: &str,
    location: &str,
    pool: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    global_only(location)?;
    let id = req
        .param("workloadIdentityPoolProviderId")
        .unwrap_or_default()
        .to_owned();
    let provider = insert_provider(store, project, pool, &id, req.json()?)?;
    Ok(operation(store, &provider, PROVIDER_TYPE))
}

fn get_provider(
    store: &mut Store,
    project: &str,
    location: &str,
    pool: &str,
    id: &str,
) -> ApiResult<Value> {
    let key = provider_key(store, project, location, pool, id)?;
    Ok(provider_json(store, &store.creds.providers[&key]))
}

fn list_providers(
    store: &mut Store,
    project: &str,
    location: &str,
    pool: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let (project_id, pool) = pool_key(store, project, location, pool)?;
    let deleted = req.param("showDeleted") == Some("true");
    let items: Vec<(String, Value)> = store
        .creds
        .providers
        .values()
        .filter(|p| p.project_id == project_id && p.pool == pool)
        .filter(|p| deleted || p.deleted.is_none())
        .map(|p| (p.id.clone(), provider_json(store, p)))
        .collect();
    let (page, next) = paginate(
        items,
        &format!("providers|{project_id}|{pool}|{deleted}"),
        req.page_size()?,
        req.page_token(),
        LIMITS,
    )?;
    Ok(list_body("workloadIdentityPoolProviders", page, next))
}

fn set_provider_deleted(
    store: &mut Store,
    project: &str,
    location: &str,
    pool: &str,
    id: &str,
    delete: bool,
) -> ApiResult<Value> {
    let key = provider_key(store, project, location, pool, id)?;
    let p = store.creds.providers.get_mut(&key).expect("found");
    match (delete, p.deleted.is_some()) {
        (true, true) => return Err(ApiError::precondition("The provider is already deleted.")),
        (false, false) => return Err(ApiError::precondition("The provider is not deleted.")),
        (true, false) => p.deleted = Some(now_to(6)),
        (false, true) => p.deleted = None,
    }
    let shown = provider_json(store, &store.creds.providers[&key]);
    Ok(operation(store, &shown, PROVIDER_TYPE))
}
