//! Cloud Asset Inventory search (`cloudasset.v1.json`): `GET v1/{scope}:searchAllIamPolicies`
//! and `GET v1/{scope}:searchAllResources`, where a scope is `projects/{id or number}`,
//! `folders/{n}` or `organizations/{n}`. Each answers, a page at a time, for every
//! resource within the scope (the scope itself, the folders and projects below it, the
//! projects' service accounts and secrets) as the reference shows them:
//! `IamPolicySearchResult` (`resource`, `assetType`, `project`, `folders`,
//! `organization`, `policy` with its bindings and conditions) and `ResourceSearchResult`
//! (`name`, `assetType`, `project`, `folders`, `organization`, `displayName`,
//! `parentFullResourceName`, `state`, `additionalAttributes`).
//! Full resource names follow <https://cloud.google.com/asset-inventory/docs/resource-name-format>:
//! `//cloudresourcemanager.googleapis.com/projects/NUMBER`,
//! `//iam.googleapis.com/projects/ID/serviceAccounts/UNIQUE_ID`,
//! `//secretmanager.googleapis.com/projects/NUMBER/secrets/ID`.
//!
//! Modelled: the `assetTypes` filter (exact types), paging (capped at 500 as documented).
//! Not modelled: the `query` language beyond empty (a non-empty query is refused with
//! INVALID_ARGUMENT rather than answered wrongly), `orderBy`, `readMask`.
//!
//! Invariant: a search visits each stored item once; the ancestry walk of a project or
//! folder is bounded by the number of containers, so a cycle in seeded data cannot loop.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::paging::{paginate, Limits};
use crate::store::Store;
use crate::wire::ApiRequest;

/// "Page size is capped at 500 even if a larger value is given."
const ASSET_LIMITS: Limits = Limits {
    default: 100,
    max: 500,
};

const PROJECT_TYPE: &str = "cloudresourcemanager.googleapis.com/Project";
const FOLDER_TYPE: &str = "cloudresourcemanager.googleapis.com/Folder";
const ORG_TYPE: &str = "cloudresourcemanager.googleapis.com/Organization";
const SA_TYPE: &str = "iam.googleapis.com/ServiceAccount";
const SECRET_TYPE: &str = "secretmanager.googleapis.com/Secret";

/// The containers above `parent` (itself first), bounded by the store's size.
fn chain(store: &Store, parent: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = parent.map(str::to_owned);
    while let Some(name) = next.take() {
        if out.len() > store.containers.len() || out.contains(&name) {
            break;
        }
        next = store.containers.get(&name).and_then(|c| c.parent.clone());
        out.push(name);
    }
    out
}

/// Where an item sits: its project (`projects/NUMBER`), folders and organization.
struct Place {
    project: Option<String>,
    folders: Vec<String>,
    organization: Option<String>,
}

impl Place {
    fn of(chain: &[String], project: Option<String>) -> Place {
        Place {
            project,
            folders: chain
                .iter()
                .filter(|c| c.starts_with("folders/"))
                .cloned()
                .collect(),
            organization: chain
                .iter()
                .find(|c| c.starts_with("organizations/"))
                .cloned(),
        }
    }

    fn fill(&self, out: &mut Value) {
        if let Some(p) = &self.project {
            out["project"] = json!(p);
        }
        if !self.folders.is_empty() {
            out["folders"] = json!(self.folders);
        }
        if let Some(o) = &self.organization {
            out["organization"] = json!(o);
        }
    }
}

/// One resource within a scope, as both searches see it.
struct Item {
    full_name: String,
    asset_type: &'static str,
    place: Place,
    policy: Value,
    display_name: String,
    parent_full_name: Option<String>,
    state: Option<&'static str>,
    additional: Option<Value>,
}

/// Resolves the scope into the chain test an item's ancestry must pass: the scope's own
/// name (`folders/F`, `organizations/O`) or the project's id.
enum Scope {
    Project(String),
    Container(String),
}

fn scope_of(store: &mut Store, kind: &str, id: &str) -> ApiResult<Scope> {
    match kind {
        "projects" => Ok(Scope::Project(store.project(id)?.id.clone())),
        _ => Ok(Scope::Container(store.container(kind, id)?.name.clone())),
    }
}

/// Every resource within `scope`, in a stable order.
fn items(store: &Store, scope: &Scope) -> ApiResult<Vec<Item>> {
    let mut out = Vec::new();
    let within = |chain: &[String], project: Option<&str>| match scope {
        Scope::Project(p) => project == Some(p.as_str()),
        Scope::Container(c) => chain.iter().any(|x| x == c),
    };
    for c in store.containers.values() {
        let above = chain(store, Some(&c.name));
        if !within(&above, None) {
            continue;
        }
        let folder = c.name.starts_with("folders/");
        out.push(Item {
            full_name: format!("//cloudresourcemanager.googleapis.com/{}", c.name),
            asset_type: if folder { FOLDER_TYPE } else { ORG_TYPE },
            place: Place::of(&above, None),
            policy: c.policy.render(Some(3))?,
            display_name: c.display_name.clone(),
            parent_full_name: c
                .parent
                .as_ref()
                .map(|p| format!("//cloudresourcemanager.googleapis.com/{p}")),
            state: Some("ACTIVE"),
            additional: None,
        });
    }
    for p in store.projects.values() {
        let above = chain(store, p.parent.as_deref());
        if !within(&above, Some(&p.id)) {
            continue;
        }
        let number = format!("projects/{}", p.number);
        out.push(Item {
            full_name: format!("//cloudresourcemanager.googleapis.com/{number}"),
            asset_type: PROJECT_TYPE,
            place: Place::of(&above, Some(number.clone())),
            policy: p.policy.render(Some(3))?,
            display_name: p.display_name.clone(),
            parent_full_name: p
                .parent
                .as_ref()
                .map(|x| format!("//cloudresourcemanager.googleapis.com/{x}")),
            state: Some("ACTIVE"),
            additional: Some(json!({ "projectId": p.id })),
        });
        for sa in store
            .service_accounts
            .values()
            .filter(|s| s.project_id == p.id)
        {
            out.push(Item {
                full_name: format!(
                    "//iam.googleapis.com/projects/{}/serviceAccounts/{}",
                    p.id, sa.unique_id
                ),
                asset_type: SA_TYPE,
                place: Place::of(&above, Some(number.clone())),
                policy: sa.policy.render(Some(3))?,
                display_name: sa.display_name.clone(),
                parent_full_name: Some(format!("//cloudresourcemanager.googleapis.com/{number}")),
                state: Some(if sa.disabled { "DISABLED" } else { "ENABLED" }),
                additional: Some(json!({ "email": sa.email, "oauth2ClientId": sa.unique_id })),
            });
        }
        for s in store.secrets.values().filter(|s| s.project_id == p.id) {
            let secret = match &s.location {
                Some(l) => format!("{number}/locations/{l}/secrets/{}", s.id),
                None => format!("{number}/secrets/{}", s.id),
            };
            out.push(Item {
                full_name: format!("//secretmanager.googleapis.com/{secret}"),
                asset_type: SECRET_TYPE,
                place: Place::of(&above, Some(number.clone())),
                policy: s.policy.render(Some(3))?,
                display_name: s.id.clone(),
                parent_full_name: Some(format!("//cloudresourcemanager.googleapis.com/{number}")),
                state: None,
                additional: None,
            });
        }
    }
    Ok(out)
}

/// The request's `assetTypes` (repeated), checked against the types this server knows;
/// empty means all.
fn asset_types(req: &ApiRequest) -> Vec<String> {
    let mut types: Vec<String> = req
        .params("assetTypes")
        .into_iter()
        .map(str::to_owned)
        .collect();
    types.sort();
    types.dedup();
    types
}

fn refuse_query(req: &ApiRequest) -> ApiResult<()> {
    match req.param("query").map(str::trim) {
        None | Some("") => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "This test server answers searches with an empty query only.",
        )),
    }
}

fn page(results: Vec<(String, Value)>, scope: &str, req: &ApiRequest) -> ApiResult<Value> {
    let (page, next) = paginate(
        results,
        scope,
        req.page_size()?.filter(|n| *n > 0),
        req.page_token(),
        ASSET_LIMITS,
    )?;
    let mut out = json!({});
    if !page.is_empty() {
        out["results"] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

/// `GET v1/{scope}:searchAllIamPolicies`: each resource within the scope whose policy
/// has bindings (Google returns no result for an empty policy).
pub fn search_all_iam_policies(
    store: &mut Store,
    kind: &str,
    id: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    refuse_query(req)?;
    let scope = scope_of(store, kind, id)?;
    let types = asset_types(req);
    let mut results = Vec::new();
    for it in items(store, &scope)? {
        if !types.is_empty() && !types.iter().any(|t| t == it.asset_type) {
            continue;
        }
        if it.policy.get("bindings").is_none() {
            continue;
        }
        let mut r = json!({
            "resource": it.full_name,
            "assetType": it.asset_type,
            "policy": { "bindings": it.policy["bindings"] },
        });
        it.place.fill(&mut r);
        results.push((it.full_name, r));
    }
    page(
        results,
        &format!("iam|{kind}/{id}|{}", types.join(",")),
        req,
    )
}

/// `GET v1/{scope}:searchAllResources`: each resource within the scope.
pub fn search_all_resources(
    store: &mut Store,
    kind: &str,
    id: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    refuse_query(req)?;
    let scope = scope_of(store, kind, id)?;
    let types = asset_types(req);
    let mut results = Vec::new();
    for it in items(store, &scope)? {
        if !types.is_empty() && !types.iter().any(|t| t == it.asset_type) {
            continue;
        }
        let mut r = json!({
            "name": it.full_name,
            "assetType": it.asset_type,
            "displayName": it.display_name,
        });
        it.place.fill(&mut r);
        if let Some(p) = &it.parent_full_name {
            r["parentFullResourceName"] = json!(p);
        }
        if let Some(s) = it.state {
            r["state"] = json!(s);
        }
        if let Some(a) = &it.additional {
            r["additionalAttributes"] = a.clone();
        }
        results.push((it.full_name, r));
    }
    page(
        results,
        &format!("res|{kind}/{id}|{}", types.join(",")),
        req,
    )
}
