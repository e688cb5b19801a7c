//! The test-only admin API under `/_admin/`: reset, request counts, fault mode, IAM
//! enforcement (`/_admin/iam`, see [`crate::enforce`]) and seeding (projects with fixed
//! numbers, SYSTEM_MANAGED keys, back-dated keys, secrets and versions). Admin requests
//! are never counted, never faulted and never need a token.
//! `README.md` documents every endpoint.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::enforce::{self, IamConfig};
use crate::error::{ApiError, ApiResult};
use crate::faults::FaultConfig;
use crate::iam;
use crate::server::Shared;
use crate::store::{KeyType, Store};
use crate::util::{now_to, parse_time};

/// Answers one admin request with an HTTP status and a JSON body.
pub fn handle(shared: &Shared, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let result = match (method, path) {
        ("GET", "/_admin/health") => Ok(json!({ "status": "ok" })),
        ("POST", "/_admin/reset") => {
            shared.reset();
            Ok(json!({}))
        }
        ("GET", "/_admin/requests") => Ok(shared.counts().to_json()),
        ("DELETE", "/_admin/requests") => {
            shared.lock_counts().clear();
            Ok(json!({}))
        }
        ("GET", "/_admin/faults") => Ok(shared.lock_faults().to_json()),
        ("POST", "/_admin/faults") => parse::<FaultConfig>(body).and_then(|c| {
            let mut faults = shared.lock_faults();
            faults.configure(Some(c))?;
            Ok(faults.to_json())
        }),
        ("DELETE", "/_admin/faults") => {
            let mut faults = shared.lock_faults();
            faults.configure(None).map(|()| faults.to_json())
        }
        ("GET", "/_admin/iam") => Ok(enforce::config_json(shared.lock_iam().as_ref())),
        ("POST", "/_admin/iam") => parse::<IamConfig>(body).and_then(|c| {
            shared.set_iam(Some(c))?;
            Ok(enforce::config_json(shared.lock_iam().as_ref()))
        }),
        ("DELETE", "/_admin/iam") => shared.set_iam(None).map(|()| enforce::config_json(None)),
        ("POST", "/_admin/seed") => {
            parse::<SeedRequest>(body).and_then(|s| seed(&mut shared.lock_store(), s))
        }
        _ => Err(ApiError::not_found(format!(
            "No admin endpoint {method} {path}."
        ))),
    };
    match result {
        Ok(v) => (200, v),
        Err(e) => (e.code.http(), e.body()),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> ApiResult<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Number(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedProject {
    project_id: String,
    #[serde(default)]
    project_number: Option<NumberOrString>,
    #[serde(default)]
    display_name: Option<String>,
    /// `organizations/123` or `folders/456`.
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedKey {
    /// An email or `projects/{p}/serviceAccounts/{email}`.
    service_account: String,
    #[serde(default)]
    valid_after_time: Option<String>,
    #[serde(default)]
    valid_before_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyTimes {
    /// `projects/{p}/serviceAccounts/{account}/keys/{key}`.
    name: String,
    #[serde(default)]
    valid_after_time: Option<String>,
    #[serde(default)]
    valid_before_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateTime {
    /// `projects/{p}/secrets/{s}` or `projects/{p}/secrets/{s}/versions/{n}`.
    name: String,
    create_time: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedContainer {
    /// The numeric id.
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    /// Folders only: `organizations/{id}` or `folders/{id}`.
    #[serde(default)]
    parent: Option<String>,
    /// Organizations only.
    #[serde(default)]
    directory_customer_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedRequest {
    #[serde(default)]
    organizations: Vec<SeedContainer>,
    #[serde(default)]
    folders: Vec<SeedContainer>,
    #[serde(default)]
    projects: Vec<SeedProject>,
    #[serde(default)]
    system_managed_keys: Vec<SeedKey>,
    #[serde(default)]
    key_times: Vec<KeyTimes>,
    #[serde(default)]
    create_times: Vec<CreateTime>,
    /// API keys, HMAC keys, workload identity pools and providers ([`crate::creds::Seed`]).
    #[serde(default)]
    credentials: Option<crate::creds::Seed>,
}

fn split_account(name: &str) -> (String, String) {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["projects", p, "serviceAccounts", a] => ((*p).to_owned(), (*a).to_owned()),
        _ => ("-".to_owned(), name.to_owned()),
    }
}

/// Applies a seed document in order; stops at the first error.
fn seed(store: &mut Store, req: SeedRequest) -> ApiResult<Value> {
    let mut containers = Vec::new();
    for (kind, list) in [
        ("organizations", req.organizations),
        ("folders", req.folders),
    ] {
        for c in list {
            if let Some(parent) = &c.parent {
                if kind == "organizations" {
                    return Err(ApiError::invalid("Organizations have no parent."));
                }
                store.touch_parent(parent)?;
            }
            let container = store.container(kind, &c.id)?;
            if let Some(d) = c.display_name {
                container.display_name = d;
            }
            if c.parent.is_some() {
                container.parent = c.parent;
            }
            if let Some(id) = c.directory_customer_id {
                container.directory_customer_id = id;
            }
            containers.push(json!(container.name));
        }
    }
    let mut projects = Vec::new();
    for p in req.projects {
        let number =
            match p.project_number {
                None => None,
                Some(NumberOrString::Number(n)) => Some(n),
                Some(NumberOrString::Text(t)) => Some(t.parse().map_err(|_| {
                    ApiError::invalid(format!("projectNumber '{t}' is not a number."))
                })?),
            };
        if let Some(n) = number {
            if store
                .projects
                .values()
                .any(|x| x.number == n && x.id != p.project_id)
            {
                return Err(ApiError::exists(format!(
                    "Project number {n} is already in use."
                )));
            }
        }
        if !store.projects.contains_key(&p.project_id) {
            store.create_project(&p.project_id, number)?;
        }
        let project = store.project(&p.project_id)?;
        if let Some(n) = number {
            project.number = n;
        }
        if let Some(d) = p.display_name {
            project.display_name = d;
        }
        if let Some(labels) = p.labels {
            project.labels = labels;
        }
        if let Some(parent) = &p.parent {
            project.parent = Some(parent.clone());
        }
        let shown = crate::resourcemanager::project_v1(project);
        if let Some(parent) = &p.parent {
            store.touch_parent(parent)?;
        }
        projects.push(shown);
    }
    let mut keys = Vec::new();
    for k in req.system_managed_keys {
        let (project, account) = split_account(&k.service_account);
        let after = k
            .valid_after_time
            .as_deref()
            .map(|t| parse_time("validAfterTime", t))
            .transpose()?
            .unwrap_or_else(|| now_to(0));
        let before = match k.valid_before_time.as_deref() {
            Some(t) => parse_time("validBeforeTime", t)?,
            None => crate::util::add_duration("validAfterTime", after, iam::system_key_lifetime())?,
        };
        let (sa, key) = iam::add_key(
            store,
            &project,
            &account,
            KeyType::SystemManaged,
            "KEY_ALG_RSA_2048",
            after,
            before,
        )?;
        keys.push(iam::key_json(&sa, &key));
    }
    let mut updated = Vec::new();
    for t in req.key_times {
        let parts: Vec<&str> = t.name.split('/').collect();
        let ["projects", p, "serviceAccounts", a, "keys", id] = parts.as_slice() else {
            return Err(ApiError::invalid(format!(
                "'{}' is not a key name (projects/*/serviceAccounts/*/keys/*).",
                t.name
            )));
        };
        let after = t
            .valid_after_time
            .as_deref()
            .map(|x| parse_time("validAfterTime", x))
            .transpose()?;
        let before = t
            .valid_before_time
            .as_deref()
            .map(|x| parse_time("validBeforeTime", x))
            .transpose()?;
        let sa = iam::find_sa(store, p, a)?;
        let key = sa.keys.iter_mut().find(|k| k.id == *id).ok_or_else(|| {
            ApiError::not_found(format!("Service account key {} does not exist.", t.name))
        })?;
        if let Some(x) = after {
            key.valid_after = x;
        }
        if let Some(x) = before {
            key.valid_before = x;
        }
        let key = key.clone();
        let sa = sa.clone();
        updated.push(iam::key_json(&sa, &key));
    }
    let mut dated = Vec::new();
    for c in req.create_times {
        let when = parse_time("createTime", &c.create_time)?;
        let parts: Vec<&str> = c.name.split('/').collect();
        let (p, l, s, v) = match parts.as_slice() {
            ["projects", p, "secrets", s] => (*p, "", *s, None),
            ["projects", p, "secrets", s, "versions", v] => (*p, "", *s, Some(*v)),
            ["projects", p, "locations", l, "secrets", s] => (*p, *l, *s, None),
            ["projects", p, "locations", l, "secrets", s, "versions", v] => (*p, *l, *s, Some(*v)),
            _ => {
                return Err(ApiError::invalid(format!(
                    "'{}' is not a secret or secret version name.",
                    c.name
                )))
            }
        };
        let project_id = store.project_id(p)?;
        let secret = store
            .secrets
            .get_mut(&(project_id, l.to_owned(), s.to_owned()))
            .ok_or_else(|| ApiError::not_found(format!("Secret {} not found.", c.name)))?;
        match v {
            None => secret.create_time = when,
            Some(v) => {
                let n: u64 = v
                    .parse()
                    .map_err(|_| ApiError::invalid("Seeded version ids must be numbers."))?;
                let version = secret
                    .versions
                    .iter_mut()
                    .find(|x| x.number == n)
                    .ok_or_else(|| {
                        ApiError::not_found(format!("Secret version {} not found.", c.name))
                    })?;
                version.create_time = when;
            }
        }
        dated.push(json!(c.name));
    }
    let credentials = match req.credentials {
        Some(c) => crate::creds::seed(store, c)?,
        None => Value::Null,
    };
    Ok(
        json!({ "containers": containers, "projects": projects, "systemManagedKeys": keys, "keyTimes": updated, "createTimes": dated, "credentials": credentials }),
    )
}
