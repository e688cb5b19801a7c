//! Cloud Resource Manager: projects (get, list, search, `:getAncestry`), the
//! organizations and folders above them, and their IAM policies (`:getIamPolicy`,
//! `:setIamPolicy`, `:testIamPermissions`) in both API versions, v1 (what gcloud uses) and
//! v3 (what the google-cloud-resourcemanager-v3 crate uses).
//! Shapes follow `cloudresourcemanager.v1.json` and `cloudresourcemanager.v3.json`.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::filter::{self, Dialect, FieldValue};
use crate::paging::{paginate, Limits};
use crate::policy::{AuditConfigs, GetIamPolicyRequest, SetIamPolicyRequest};
use crate::store::{Container, Project, Store};
use crate::util::fmt_time;
use crate::wire::ApiRequest;

/// `Project` as v1 shows it.
pub fn project_v1(p: &Project) -> Value {
    let mut out = json!({
        "projectNumber": p.number.to_string(),
        "projectId": p.id,
        "lifecycleState": "ACTIVE",
        "name": p.display_name,
        "createTime": fmt_time(&p.create_time),
    });
    if !p.labels.is_empty() {
        out["labels"] = json!(p.labels);
    }
    if let Some((kind, id)) = p.parent.as_deref().and_then(|s| s.split_once('/')) {
        let kind = kind.strip_suffix('s').unwrap_or(kind);
        out["parent"] = json!({ "type": kind, "id": id });
    }
    out
}

/// `Project` as v3 shows it.
pub fn project_v3(p: &Project) -> Value {
    let t = fmt_time(&p.create_time);
    let mut out = json!({
        "name": format!("projects/{}", p.number),
        "projectId": p.id,
        "state": "ACTIVE",
        "displayName": p.display_name,
        "createTime": t,
        "updateTime": t,
        "etag": format!("W/\"{:016x}\"", crate::util::fnv64(format!("{}{}", p.id, p.number).as_bytes())),
    });
    if !p.labels.is_empty() {
        out["labels"] = json!(p.labels);
    }
    if let Some(parent) = &p.parent {
        out["parent"] = json!(parent);
    }
    out
}

pub fn get_v1(store: &mut Store, project: &str) -> ApiResult<Value> {
    Ok(project_v1(store.project(project)?))
}

pub fn get_v3(store: &mut Store, project: &str) -> ApiResult<Value> {
    Ok(project_v3(store.project(project)?))
}

/// `:getIamPolicy` (both versions): the options come in the body.
pub fn get_iam_policy(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let body: GetIamPolicyRequest = req.json()?;
    let version = body.options.and_then(|o| o.requested_policy_version);
    store.project(project)?.policy.render(version)
}

/// `:setIamPolicy` (both versions).
pub fn set_iam_policy(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let body: SetIamPolicyRequest = req.json()?;
    crate::policy::check_grants(store, crate::policy::On::Container, &body)?;
    let generation = store.next_generation();
    store
        .project(project)?
        .policy
        .set(body, generation, AuditConfigs::Allowed)
}

/// Page limits for project listing (v1 documents none; v3 caps pages at 1000).
const PROJECT_LIMITS: Limits = Limits {
    default: 500,
    max: 1000,
};

/// A project's value for a filter field. Resource Manager filters are case-insensitive
/// ("Filter rules are case insensitive", v1 `projects.list`), so `field` arrives
/// lowercased and label keys are lowercase by rule.
fn project_field(p: &Project, field: &str, v3: bool) -> FieldValue {
    let text = |s: &str| FieldValue::Text(s.to_owned());
    let parent = p.parent.as_deref().and_then(|s| s.split_once('/'));
    match field {
        "id" | "projectid" => text(&p.id),
        "name" if !v3 => text(&p.display_name),
        "name" | "displayname" => text(&p.display_name),
        "projectnumber" | "number" => text(&p.number.to_string()),
        "lifecyclestate" | "state" => text("ACTIVE"),
        "parent" => p.parent.as_deref().map_or(FieldValue::Missing, text),
        "parent.type" => parent.map_or(FieldValue::Missing, |(k, _)| {
            text(k.strip_suffix('s').unwrap_or(k))
        }),
        "parent.id" => parent.map_or(FieldValue::Missing, |(_, id)| text(id)),
        // v3 `labels`: "Filters by label name or value".
        "labels" => FieldValue::List(
            p.labels
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect(),
        ),
        f => match f.strip_prefix("labels.") {
            Some(k) => p.labels.get(k).map_or(FieldValue::Missing, |v| text(v)),
            None => FieldValue::Missing,
        },
    }
}

fn known_project_field(f: &str) -> bool {
    matches!(
        f,
        "id" | "projectid"
            | "name"
            | "displayname"
            | "projectnumber"
            | "number"
            | "lifecyclestate"
            | "state"
            | "parent"
            | "parent.type"
            | "parent.id"
            | "labels"
    ) || f.starts_with("labels.")
}

fn list_projects(
    store: &Store,
    req: &ApiRequest,
    terms: &filter::Filter,
    scope: &str,
    v3: bool,
) -> ApiResult<Value> {
    let mut items = Vec::new();
    for p in store.projects.values() {
        if filter::matches(terms, |f| project_field(p, f, v3))? {
            items.push((p.id.clone(), if v3 { project_v3(p) } else { project_v1(p) }));
        }
    }
    let (page, next) = paginate(
        items,
        scope,
        req.page_size()?,
        req.page_token(),
        PROJECT_LIMITS,
    )?;
    let mut out = json!({});
    if !page.is_empty() {
        out["projects"] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

/// v1 `GET /v1/projects?filter=...`: every project the caller can see.
pub fn list_v1(store: &mut Store, req: &ApiRequest) -> ApiResult<Value> {
    let text = req.param("filter").unwrap_or_default().trim().to_owned();
    let terms = filter::parse(&text, Dialect::ResourceManager, known_project_field)?;
    list_projects(store, req, &terms, &format!("v1|{text}"), false)
}

/// v3 `GET /v3/projects?parent=...`: the direct children of an organization or folder.
pub fn list_v3(store: &mut Store, req: &ApiRequest) -> ApiResult<Value> {
    let parent = req
        .param("parent")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("parent is required, e.g. organizations/123 or folders/456.")
        })?
        .to_owned();
    let terms =
        filter::Filter::restriction(Dialect::ResourceManager, "parent", filter::Op::Eq, &parent);
    list_projects(store, req, &terms, &format!("v3list|{parent}"), true)
}

/// v3 `GET /v3/projects:search?query=...`.
pub fn search_v3(store: &mut Store, req: &ApiRequest) -> ApiResult<Value> {
    let text = req.param("query").unwrap_or_default().trim().to_owned();
    let terms = filter::parse(&text, Dialect::ResourceManager, known_project_field)?;
    list_projects(store, req, &terms, &format!("v3search|{text}"), true)
}

/// v1 `:getAncestry`: the project, then each container above it up to the
/// organization ("The first ancestor is the project itself, followed by the project's
/// parent, etc."). The walk stops at a container not in the store or after as many
/// steps as there are containers, so a cycle in seeded data cannot loop.
pub fn get_ancestry(store: &mut Store, project: &str) -> ApiResult<Value> {
    let p = store.project(project)?;
    let mut ancestors = vec![json!({ "resourceId": { "type": "project", "id": p.id } })];
    let mut next = p.parent.clone();
    let mut steps = 0;
    while let Some(name) = next.take() {
        let Some((kind, id)) = name.split_once('/') else {
            break;
        };
        ancestors.push(
            json!({ "resourceId": { "type": kind.strip_suffix('s').unwrap_or(kind), "id": id } }),
        );
        steps += 1;
        if steps > store.containers.len() {
            break;
        }
        next = store.containers.get(&name).and_then(|c| c.parent.clone());
    }
    Ok(json!({ "ancestor": ancestors }))
}

/// `:testIamPermissions` on a project (v1 and v3).
pub fn test_iam_permissions(
    store: &mut Store,
    project: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    store.project(project)?;
    crate::policy::test_permissions(req)
}

// ---------------------------------------------------------------- organizations, folders

/// `Organization` as v1 shows it.
fn organization_v1(c: &Container) -> Value {
    json!({
        "name": c.name,
        "displayName": c.display_name,
        "owner": { "directoryCustomerId": c.directory_customer_id },
        "creationTime": fmt_time(&c.create_time),
        "lifecycleState": "ACTIVE",
    })
}

/// `Organization` or `Folder` as v3 shows it.
pub fn container_v3(c: &Container) -> Value {
    let t = fmt_time(&c.create_time);
    let mut out = json!({
        "name": c.name,
        "displayName": c.display_name,
        "state": "ACTIVE",
        "createTime": t,
        "updateTime": t,
        "etag": format!("W/\"{:016x}\"", crate::util::fnv64(c.name.as_bytes())),
    });
    match &c.parent {
        Some(parent) => out["parent"] = json!(parent),
        None => out["directoryCustomerId"] = json!(c.directory_customer_id),
    }
    out
}

pub fn get_organization(store: &mut Store, id: &str, v3: bool) -> ApiResult<Value> {
    let c = store.container("organizations", id)?;
    Ok(if v3 {
        container_v3(c)
    } else {
        organization_v1(c)
    })
}

pub fn get_folder(store: &mut Store, id: &str) -> ApiResult<Value> {
    Ok(container_v3(store.container("folders", id)?))
}

/// `:getIamPolicy` on an organization or folder.
pub fn container_get_iam_policy(
    store: &mut Store,
    kind: &str,
    id: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let body: GetIamPolicyRequest = req.json()?;
    let version = body.options.and_then(|o| o.requested_policy_version);
    store.container(kind, id)?.policy.render(version)
}

/// `:setIamPolicy` on an organization or folder.
pub fn container_set_iam_policy(
    store: &mut Store,
    kind: &str,
    id: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let body: SetIamPolicyRequest = req.json()?;
    crate::policy::check_grants(store, crate::policy::On::Container, &body)?;
    let generation = store.next_generation();
    store
        .container(kind, id)?
        .policy
        .set(body, generation, AuditConfigs::Allowed)
}

/// `:testIamPermissions` on an organization or folder.
pub fn container_test_iam_permissions(
    store: &mut Store,
    kind: &str,
    id: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    store.container(kind, id)?;
    crate::policy::test_permissions(req)
}

fn page_of(
    items: Vec<(String, Value)>,
    key: &str,
    scope: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let (page, next) = paginate(
        items,
        scope,
        req.page_size()?,
        req.page_token(),
        PROJECT_LIMITS,
    )?;
    let mut out = json!({});
    if !page.is_empty() {
        out[key] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchOrganizationsV1 {
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    page_size: Option<i64>,
    #[serde(default)]
    page_token: Option<String>,
}

fn org_field(c: &Container, f: &str) -> FieldValue {
    match f {
        "displayname" | "domain" => FieldValue::Text(c.display_name.clone()),
        _ => FieldValue::Text(c.directory_customer_id.clone()),
    }
}

fn known_org_field(f: &str) -> bool {
    matches!(
        f,
        "displayname"
            | "domain"
            | "directorycustomerid"
            | "directory_customer_id"
            | "owner.directorycustomerid"
    )
}

/// v1 `POST /v1/organizations:search` (what `gcloud organizations list` calls); the
/// filter and paging come in the body.
pub fn search_organizations_v1(store: &mut Store, req: &ApiRequest) -> ApiResult<Value> {
    let body: SearchOrganizationsV1 = req.json()?;
    let text = body.filter.unwrap_or_default().trim().to_owned();
    let terms = filter::parse(&text, Dialect::ResourceManager, known_org_field)?;
    let mut items = Vec::new();
    for c in store.containers.values().filter(|c| c.parent.is_none()) {
        if filter::matches(&terms, |f| org_field(c, f))? {
            items.push((c.name.clone(), organization_v1(c)));
        }
    }
    let scope = format!("orgs1|{text}");
    let (page, next) = paginate(
        items,
        &scope,
        body.page_size,
        body.page_token.as_deref(),
        PROJECT_LIMITS,
    )?;
    let mut out = json!({});
    if !page.is_empty() {
        out["organizations"] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

/// v3 `GET /v3/organizations:search?query=` (`displayName:`, `domain:`, `directoryCustomerId:`).
pub fn search_organizations(store: &mut Store, req: &ApiRequest) -> ApiResult<Value> {
    let text = req.param("query").unwrap_or_default().trim().to_owned();
    let terms = filter::parse(&text, Dialect::ResourceManager, known_org_field)?;
    let mut items = Vec::new();
    for c in store.containers.values().filter(|c| c.parent.is_none()) {
        if filter::matches(&terms, |f| org_field(c, f))? {
            items.push((c.name.clone(), container_v3(c)));
        }
    }
    page_of(items, "organizations", &format!("orgs|{text}"), req)
}

/// v3 `GET /v3/folders?parent=`: the direct child folders of a parent.
pub fn list_folders(store: &mut Store, req: &ApiRequest) -> ApiResult<Value> {
    let parent = req
        .param("parent")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("parent is required, e.g. organizations/123 or folders/456.")
        })?
        .to_owned();
    let items = store
        .containers
        .values()
        .filter(|c| c.parent.as_deref() == Some(parent.as_str()))
        .map(|c| (c.name.clone(), container_v3(c)))
        .collect();
    page_of(items, "folders", &format!("folders|{parent}"), req)
}
