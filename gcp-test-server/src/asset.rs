//! Cloud Asset Inventory search (`cloudasset.v1.json`): `GET v1/{scope}:searchAllIamPolicies`
//! and `GET v1/{scope}:searchAllResources`, where a scope is `projects/{id or number}`,
//! `folders/{n}` or `organizations/{n}`. Each answers, a page at a time, for every
//! resource within the scope (the scope itself, the folders and projects below it, the
//! projects' service accounts and secrets) as the reference shows them:
//! `IamPolicySearchResult` (`resource`, `assetType`, `project`, `folders`,
//! `organization`, `policy` with its bindings and conditions) and `ResourceSearchResult`
//! (`name`, `assetType`, `project`, `folders`, `organization`, `displayName`,
//! `parentFullResourceName`, `state`, `createTime`/`updateTime` where the resource has
//! them, `additionalAttributes`, and `versionedResources` when the `readMask` names it
//! or is `*`: "Some fields of large size, such as `versionedResources` ... are not
//! returned by default"). A versioned resource is the owning API's own JSON, rendered
//! by the same code as that API's get and list (IAM v1 service accounts and keys, API
//! Keys v2, Secret Manager v1), so it never holds what those do not (no key string,
//! no private key). Resources searched: containers, projects, service accounts, their
//! keys (`iam.googleapis.com/ServiceAccountKey`, parent: the account), API keys
//! (`apikeys.googleapis.com/Key`, not deleted ones), secrets and their versions
//! (`secretmanager.googleapis.com/SecretVersion`, parent: the secret; metadata only,
//! never the payload).
//! Full resource names follow <https://cloud.google.com/asset-inventory/docs/resource-name-format>:
//! `//cloudresourcemanager.googleapis.com/projects/NUMBER`,
//! `//iam.googleapis.com/projects/ID/serviceAccounts/UNIQUE_ID`,
//! `//iam.googleapis.com/projects/ID/serviceAccounts/UNIQUE_ID/keys/KEY_ID`,
//! `//apikeys.googleapis.com/projects/NUMBER/locations/global/keys/UID`,
//! `//secretmanager.googleapis.com/projects/NUMBER/secrets/ID`.
//!
//! Modelled: the `assetTypes` filter (exact types), paging (capped at 500 as documented),
//! `readMask` as far as `versionedResources` goes. Not modelled: the `query` language
//! beyond empty (a non-empty query is refused with INVALID_ARGUMENT rather than answered
//! wrongly), `orderBy`, a `readMask` that leaves default fields out.
//!
//! Invariant: a search visits each stored item once; the ancestry walk of a project or
//! folder is bounded by the number of containers, so a cycle in seeded data cannot loop.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::paging::{paginate, Limits};
use crate::store::Store;
use crate::util::fmt_time;
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
const KEY_TYPE: &str = "iam.googleapis.com/ServiceAccountKey";
const API_KEY_TYPE: &str = "apikeys.googleapis.com/Key";
const VERSION_TYPE: &str = "secretmanager.googleapis.com/SecretVersion";

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
    create_time: Option<String>,
    update_time: Option<String>,
    /// The owning API's version and its JSON of the resource.
    versioned: Option<(&'static str, Value)>,
}

impl Item {
    /// An item with no policy, state, times or extras yet.
    fn bare(full_name: String, asset_type: &'static str, place: Place) -> Item {
        Item {
            full_name,
            asset_type,
            place,
            policy: json!({}),
            display_name: String::new(),
            parent_full_name: None,
            state: None,
            additional: None,
            create_time: None,
            update_time: None,
            versioned: None,
        }
    }
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
            create_time: Some(fmt_time(&c.create_time)),
            update_time: None,
            versioned: None,
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
            create_time: Some(fmt_time(&p.create_time)),
            update_time: None,
            versioned: None,
        });
        let place = || Place::of(&above, Some(number.clone()));
        let project_full = format!("//cloudresourcemanager.googleapis.com/{number}");
        project_items(store, &p.id, &project_full, &place, &mut out)?;
    }
    Ok(out)
}

/// The service accounts, their keys, the API keys and the secrets of one project.
fn project_items(
    store: &Store,
    project: &str,
    project_full: &str,
    place: &dyn Fn() -> Place,
    out: &mut Vec<Item>,
) -> ApiResult<()> {
    for sa in store
        .service_accounts
        .values()
        .filter(|s| s.project_id == project)
    {
        let sa_full = format!(
            "//iam.googleapis.com/projects/{project}/serviceAccounts/{}",
            sa.unique_id
        );
        for k in &sa.keys {
            let mut key = Item::bare(format!("{sa_full}/keys/{}", k.id), KEY_TYPE, place());
            key.parent_full_name = Some(sa_full.clone());
            key.state = Some(if k.disabled { "DISABLED" } else { "ENABLED" });
            key.versioned = Some(("v1", crate::iam::key_json(sa, k)));
            out.push(key);
        }
        let mut item = Item::bare(sa_full, SA_TYPE, place());
        item.policy = sa.policy.render(Some(3))?;
        item.display_name = sa.display_name.clone();
        item.parent_full_name = Some(project_full.to_string());
        item.state = Some(if sa.disabled { "DISABLED" } else { "ENABLED" });
        item.additional = Some(json!({ "email": sa.email, "oauth2ClientId": sa.unique_id }));
        item.versioned = Some(("v1", crate::iam::sa_json(sa)));
        out.push(item);
    }
    for k in store.creds.api_keys.values() {
        if k.project_id != project || k.delete_time.is_some() {
            continue;
        }
        let shown = crate::apikeys::key_json_in(store, k);
        let name = shown["name"].as_str().unwrap_or_default().to_string();
        let mut item = Item::bare(
            format!("//apikeys.googleapis.com/{name}"),
            API_KEY_TYPE,
            place(),
        );
        item.display_name = k.display_name.clone();
        item.parent_full_name = Some(project_full.to_string());
        item.create_time = Some(fmt_time(&k.create_time));
        item.update_time = Some(fmt_time(&k.update_time));
        item.versioned = Some(("v2", shown));
        out.push(item);
    }
    for s in store.secrets.values().filter(|s| s.project_id == project) {
        let shown = crate::secretmanager::secret_json(store, s);
        let name = shown["name"].as_str().unwrap_or_default().to_string();
        let secret_full = format!("//secretmanager.googleapis.com/{name}");
        for v in &s.versions {
            let json = crate::secretmanager::version_json(store, s, v);
            let mut version = Item::bare(
                format!("{secret_full}/versions/{}", v.number),
                VERSION_TYPE,
                place(),
            );
            version.parent_full_name = Some(secret_full.clone());
            version.state = match json["state"].as_str() {
                Some("ENABLED") => Some("ENABLED"),
                Some("DISABLED") => Some("DISABLED"),
                Some("DESTROYED") => Some("DESTROYED"),
                _ => None,
            };
            version.create_time = Some(fmt_time(&v.create_time));
            version.versioned = Some(("v1", json));
            out.push(version);
        }
        let mut item = Item::bare(secret_full, SECRET_TYPE, place());
        item.policy = s.policy.render(Some(3))?;
        item.display_name = s.id.clone();
        item.parent_full_name = Some(project_full.to_string());
        item.create_time = Some(fmt_time(&s.create_time));
        item.versioned = Some(("v1", shown));
        out.push(item);
    }
    Ok(())
}

/// Whether the `readMask` asks for `versionedResources` (by name or `*`).
fn wants_versioned(req: &ApiRequest) -> bool {
    req.params("readMask")
        .iter()
        .flat_map(|m| m.split(','))
        .any(|f| matches!(f.trim(), "*" | "versionedResources" | "versioned_resources"))
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

fn page(mut results: Vec<(String, Value)>, scope: &str, req: &ApiRequest) -> ApiResult<Value> {
    // The page cursor is the last name served: results must ascend by name.
    results.sort_by(|a, b| a.0.cmp(&b.0));
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
    let versioned = wants_versioned(req);
    let mut results = Vec::new();
    for it in items(store, &scope)? {
        if !types.is_empty() && !types.iter().any(|t| t == it.asset_type) {
            continue;
        }
        let mut r = json!({
            "name": it.full_name,
            "assetType": it.asset_type,
        });
        if !it.display_name.is_empty() {
            r["displayName"] = json!(it.display_name);
        }
        if let Some(t) = &it.create_time {
            r["createTime"] = json!(t);
        }
        if let Some(t) = &it.update_time {
            r["updateTime"] = json!(t);
        }
        if let (true, Some((version, resource))) = (versioned, &it.versioned) {
            r["versionedResources"] = json!([{ "version": version, "resource": resource }]);
        }
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
