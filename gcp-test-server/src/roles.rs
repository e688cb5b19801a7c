//! IAM v1 roles: project-level custom roles (`projects.roles` create, get, list, patch,
//! delete, undelete; what `gcloud iam roles create|describe|list|update|delete
//! --project` call) and a catalogue of the predefined roles this server knows
//! (`roles.get`, `roles.list`). Shapes follow `iam.v1.json` (`Role`).
//!
//! Invariants, as <https://cloud.google.com/iam/docs/reference/rest/v1/projects.roles>
//! and <https://cloud.google.com/iam/docs/creating-custom-roles> describe them:
//! - a custom role is named `projects/{project id}/roles/{roleId}`; the id has 3 to 64
//!   characters from `[a-zA-Z0-9_.]`; the title at most 100 bytes, the description at
//!   most 300; at most 3000 permissions, each `service.resource.verb`;
//! - `stage` defaults to ALPHA, and an ALPHA role's `stage` is left out of answers;
//! - delete marks the role `deleted` (it still answers `get`, and `undelete` restores it
//!   within Google's 7 days; this server keeps it until reset); a deleted role id cannot
//!   be reused by `create` (409);
//! - every write makes a new etag; a write carrying another etag is 409 ABORTED.
//!
//! The permissions a role grants (for IAM enforcement, [`crate::enforce`]) come from
//! [`permissions_of`]: a live custom role's `includedPermissions` (none once deleted or
//! DISABLED), or the catalogue below.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::fieldmask;
use crate::paging::{paginate, Limits};
use crate::policy::policy_etag;
use crate::store::Store;
use crate::wire::ApiRequest;

/// "The maximum number of roles to include in the response ... default 300, max 1000."
const LIMITS: Limits = Limits {
    default: 300,
    max: 1000,
};
const MAX_PERMISSIONS: usize = 3000;
const STAGES: &[&str] = &["ALPHA", "BETA", "GA", "DEPRECATED", "DISABLED", "EAP"];

/// A custom role as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomRole {
    pub name: String,
    pub title: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub stage: String,
    pub etag: String,
    pub deleted: bool,
}

/// Every permission some route of this server checks (the enforcement table), plus
/// the role methods' own.
fn known_permissions() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = crate::enforce::TABLE
        .iter()
        .filter_map(|(_, n)| match n {
            crate::enforce::Need::Permission(p) => Some(*p),
            crate::enforce::Need::Nothing => None,
        })
        .chain([
            "iam.roles.get",
            "iam.roles.list",
            "iam.roles.create",
            "iam.roles.update",
            "iam.roles.delete",
            "iam.roles.undelete",
            "iam.serviceAccounts.actAs",
            "resourcemanager.projects.list",
        ])
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The predefined roles this server knows: name, title, and which known permissions
/// they hold (from Google's IAM roles reference,
/// <https://cloud.google.com/iam/docs/understanding-roles>, restricted to the
/// permissions this server has routes for).
pub const PREDEFINED: &[(&str, &str)] = &[
    ("roles/owner", "Owner"),
    ("roles/editor", "Editor"),
    ("roles/viewer", "Viewer"),
    ("roles/browser", "Browser"),
    ("roles/iam.roleAdmin", "Role Administrator"),
    ("roles/iam.roleViewer", "Role Viewer"),
    ("roles/iam.securityReviewer", "Security Reviewer"),
    ("roles/iam.serviceAccountAdmin", "Service Account Admin"),
    (
        "roles/iam.serviceAccountKeyAdmin",
        "Service Account Key Admin",
    ),
    ("roles/iam.serviceAccountUser", "Service Account User"),
    (
        "roles/iam.serviceAccountTokenCreator",
        "Service Account Token Creator",
    ),
    ("roles/resourcemanager.projectIamAdmin", "Project IAM Admin"),
    ("roles/secretmanager.admin", "Secret Manager Admin"),
    (
        "roles/secretmanager.secretAccessor",
        "Secret Manager Secret Accessor",
    ),
    (
        "roles/secretmanager.secretVersionAdder",
        "Secret Manager Secret Version Adder",
    ),
    (
        "roles/secretmanager.secretVersionManager",
        "Secret Manager Secret Version Manager",
    ),
    ("roles/secretmanager.viewer", "Secret Manager Viewer"),
];

fn predefined_grants(role: &str, p: &str) -> Option<bool> {
    let verb = p.rsplit('.').next().unwrap_or_default();
    let read = matches!(verb, "get" | "list" | "getIamPolicy");
    Some(match role {
        "roles/owner" => true,
        // Approximate: every known permission but policy writes, role writes and
        // secret payload reads (the server keeps those to narrower roles).
        "roles/editor" => {
            !matches!(verb, "setIamPolicy" | "undelete")
                && !p.starts_with("iam.roles.")
                && p != "secretmanager.versions.access"
                || p == "iam.roles.get"
                || p == "iam.roles.list"
        }
        "roles/viewer" => read,
        "roles/browser" => matches!(
            p,
            "resourcemanager.projects.get"
                | "resourcemanager.projects.list"
                | "resourcemanager.folders.get"
                | "resourcemanager.organizations.get"
                | "resourcemanager.projects.getIamPolicy"
                | "resourcemanager.folders.getIamPolicy"
                | "resourcemanager.organizations.getIamPolicy"
        ),
        "roles/iam.roleAdmin" => p.starts_with("iam.roles."),
        "roles/iam.roleViewer" => matches!(p, "iam.roles.get" | "iam.roles.list"),
        "roles/iam.securityReviewer" => {
            (read && !p.starts_with("secretmanager.versions.")) || p == "iam.roles.list"
        }
        "roles/iam.serviceAccountAdmin" => {
            p.starts_with("iam.serviceAccounts.") && p != "iam.serviceAccounts.actAs"
        }
        "roles/iam.serviceAccountKeyAdmin" => {
            p.starts_with("iam.serviceAccountKeys.")
                || matches!(p, "iam.serviceAccounts.get" | "iam.serviceAccounts.list")
        }
        "roles/iam.serviceAccountUser" => matches!(
            p,
            "iam.serviceAccounts.actAs" | "iam.serviceAccounts.get" | "iam.serviceAccounts.list"
        ),
        "roles/iam.serviceAccountTokenCreator" => {
            matches!(p, "iam.serviceAccounts.get" | "iam.serviceAccounts.list")
        }
        "roles/resourcemanager.projectIamAdmin" => matches!(
            p,
            "resourcemanager.projects.getIamPolicy" | "resourcemanager.projects.setIamPolicy"
        ),
        "roles/secretmanager.admin" => p.starts_with("secretmanager."),
        "roles/secretmanager.secretAccessor" => p == "secretmanager.versions.access",
        "roles/secretmanager.secretVersionAdder" => p == "secretmanager.versions.add",
        "roles/secretmanager.secretVersionManager" => {
            p.starts_with("secretmanager.versions.") && p != "secretmanager.versions.access"
        }
        "roles/secretmanager.viewer" => {
            p.starts_with("secretmanager.") && read && !p.ends_with("getIamPolicy")
        }
        _ => return None,
    })
}

/// Whether `role` grants `permission`: a live custom role's own list, else the
/// catalogue; `None` if the server knows no such role.
pub fn grants(store: &Store, role: &str, permission: &str) -> Option<bool> {
    if let Some(r) = store.custom_roles.get(role) {
        return Some(
            !r.deleted && r.stage != "DISABLED" && r.permissions.iter().any(|p| p == permission),
        );
    }
    predefined_grants(role, permission)
}

/// The permissions a role holds, as `roles.get` shows them.
pub fn permissions_of(store: &Store, role: &str) -> Option<Vec<String>> {
    if let Some(r) = store.custom_roles.get(role) {
        return Some(r.permissions.clone());
    }
    predefined_grants(role, "")?;
    Some(
        known_permissions()
            .into_iter()
            .filter(|p| predefined_grants(role, p) == Some(true))
            .map(str::to_owned)
            .collect(),
    )
}

// ---------------------------------------------------------------- rendering

fn role_json(r: &CustomRole) -> Value {
    let mut out = json!({
        "name": r.name,
        "title": r.title,
        "includedPermissions": r.permissions,
        "etag": r.etag,
    });
    if !r.description.is_empty() {
        out["description"] = json!(r.description);
    }
    if r.stage != "ALPHA" {
        out["stage"] = json!(r.stage);
    }
    if r.deleted {
        out["deleted"] = json!(true);
    }
    out
}

fn predefined_json(store: &Store, name: &str, title: &str, full: bool) -> Value {
    let mut out = json!({
        "name": name,
        "title": title,
        "description": format!("{title} (the GCP test server's catalogue, restricted to the permissions it serves)."),
        "stage": "GA",
        "etag": "AA==",
    });
    if full {
        out["includedPermissions"] = json!(permissions_of(store, name).unwrap_or_default());
    }
    out
}

// ---------------------------------------------------------------- validation

fn valid_role_id(id: &str) -> bool {
    (3..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// `service.resource.verb`, as IAM permission names are.
pub fn valid_permission(p: &str) -> bool {
    let parts: Vec<&str> = p.split('.').collect();
    parts.len() >= 3
        && parts.iter().all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleIn {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    included_permissions: Option<Vec<String>>,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRoleIn {
    #[serde(default)]
    role_id: String,
    #[serde(default)]
    role: Option<RoleIn>,
}

fn check_fields(
    title: &str,
    description: &str,
    permissions: &[String],
    stage: &str,
) -> ApiResult<()> {
    if title.len() > 100 {
        return Err(ApiError::invalid(
            "The role title must be at most 100 bytes.",
        ));
    }
    if description.len() > 300 {
        return Err(ApiError::invalid(
            "The role description must be at most 300 bytes.",
        ));
    }
    if permissions.len() > MAX_PERMISSIONS {
        return Err(ApiError::invalid(format!(
            "A custom role may hold at most {MAX_PERMISSIONS} permissions."
        )));
    }
    if let Some(bad) = permissions.iter().find(|p| !valid_permission(p)) {
        let shown: String = bad.chars().filter(|c| !c.is_control()).take(100).collect();
        return Err(ApiError::invalid(format!(
            "Permission {shown} is not valid."
        )));
    }
    if !STAGES.contains(&stage) {
        return Err(ApiError::invalid(format!(
            "Invalid value at 'role.stage' (type.googleapis.com/google.iam.admin.v1.Role.RoleLaunchStage), \"{}\"",
            stage.chars().filter(|c| !c.is_control()).take(40).collect::<String>()
        )));
    }
    Ok(())
}

fn role_name(store: &mut Store, project: &str, role_id: &str) -> ApiResult<String> {
    let project_id = store.project_id(project)?;
    Ok(format!("projects/{project_id}/roles/{role_id}"))
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("The role named {name} was not found."))
}

// ---------------------------------------------------------------- methods

/// `POST /v1/projects/{p}/roles`.
pub fn create(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let body: CreateRoleIn = req.json()?;
    if !valid_role_id(&body.role_id) {
        return Err(ApiError::invalid(
            "The role id must be 3 to 64 characters from [a-zA-Z0-9_.].",
        ));
    }
    let role = body.role.unwrap_or_default();
    if role.name.as_deref().is_some_and(|n| !n.is_empty()) {
        return Err(ApiError::invalid(
            "The role name must not be set when the role is created.",
        ));
    }
    let name = role_name(store, project, &body.role_id)?;
    if store.custom_roles.contains_key(&name) {
        return Err(ApiError::exists(format!(
            "A role named {} in {} already exists.",
            body.role_id,
            name.rsplit_once("/roles/")
                .map(|(p, _)| p)
                .unwrap_or_default()
        )));
    }
    let mut permissions = role.included_permissions.unwrap_or_default();
    permissions.sort();
    permissions.dedup();
    let r = CustomRole {
        name: name.clone(),
        title: role.title.unwrap_or_default(),
        description: role.description.unwrap_or_default(),
        stage: role.stage.unwrap_or_else(|| "ALPHA".to_owned()),
        permissions,
        etag: policy_etag(store.next_generation()),
        deleted: false,
    };
    check_fields(&r.title, &r.description, &r.permissions, &r.stage)?;
    let out = role_json(&r);
    store.custom_roles.insert(name, r);
    Ok(out)
}

fn find<'s>(store: &'s mut Store, project: &str, role_id: &str) -> ApiResult<&'s mut CustomRole> {
    let name = role_name(store, project, role_id)?;
    store
        .custom_roles
        .get_mut(&name)
        .ok_or_else(|| not_found(&name))
}

/// `GET /v1/projects/{p}/roles/{r}`.
pub fn get(store: &mut Store, project: &str, role_id: &str) -> ApiResult<Value> {
    Ok(role_json(find(store, project, role_id)?))
}

/// `GET /v1/projects/{p}/roles` (`view=FULL` adds the permissions, `showDeleted`).
pub fn list(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let prefix = format!(
        "{}/",
        role_name(store, project, "x")?.trim_end_matches("/x")
    );
    let full = view_is_full(req)?;
    let show_deleted = req.param("showDeleted") == Some("true");
    let items = store
        .custom_roles
        .values()
        .filter(|r| r.name.starts_with(&prefix) && (show_deleted || !r.deleted))
        .map(|r| {
            let mut v = role_json(r);
            if !full {
                if let Some(o) = v.as_object_mut() {
                    o.remove("includedPermissions");
                }
            }
            (r.name.clone(), v)
        })
        .collect();
    page(
        "roles",
        items,
        &format!("roles|{prefix}|{full}|{show_deleted}"),
        req,
    )
}

fn view_is_full(req: &ApiRequest) -> ApiResult<bool> {
    match req.param("view") {
        None | Some("") | Some("BASIC") => Ok(false),
        Some("FULL") => Ok(true),
        Some(v) => {
            Err(ApiError::invalid(format!(
            "Invalid value at 'view' (type.googleapis.com/google.iam.admin.v1.RoleView), \"{}\"",
            v.chars().filter(|c| !c.is_control()).take(40).collect::<String>()
        )))
        }
    }
}

fn page(key: &str, items: Vec<(String, Value)>, scope: &str, req: &ApiRequest) -> ApiResult<Value> {
    let (page, next) = paginate(items, scope, req.page_size()?, req.page_token(), LIMITS)?;
    let mut out = json!({});
    if !page.is_empty() {
        out[key] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

const ROLE_MASK: fieldmask::Schema = fieldmask::Schema {
    updatable: &["title", "description", "includedPermissions", "stage"],
    immutable: &["name", "etag", "deleted"],
};

/// `PATCH /v1/projects/{p}/roles/{r}?updateMask=` (no mask: every updatable field).
pub fn patch(
    store: &mut Store,
    project: &str,
    role_id: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let mask = req
        .param("updateMask")
        .filter(|m| !m.trim().is_empty())
        .unwrap_or("*");
    let paths = fieldmask::paths(mask, &ROLE_MASK)?;
    let body: Value = req.json()?;
    let input: RoleIn = req.json()?;
    let generation = store.next_generation();
    let r = find(store, project, role_id)?;
    if r.deleted {
        return Err(ApiError::precondition(format!(
            "You can't update role {}: it is deleted.",
            r.name
        )));
    }
    if let Some(etag) = input.etag.as_deref().filter(|e| !e.is_empty()) {
        if etag != r.etag {
            return Err(ApiError::stale_etag());
        }
    }
    let mut merged = json!({
        "title": r.title, "description": r.description,
        "includedPermissions": r.permissions, "stage": r.stage,
    });
    fieldmask::apply(&mut merged, &body, &paths);
    let text = |k: &str| {
        merged
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut permissions: Vec<String> = match merged.get("includedPermissions") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            ApiError::invalid(format!("Invalid value at 'role.included_permissions': {e}"))
        })?,
        None => Vec::new(),
    };
    permissions.sort();
    permissions.dedup();
    let stage = match text("stage") {
        s if s.is_empty() => "ALPHA".to_owned(),
        s => s,
    };
    check_fields(&text("title"), &text("description"), &permissions, &stage)?;
    r.title = text("title");
    r.description = text("description");
    r.permissions = permissions;
    r.stage = stage;
    r.etag = policy_etag(generation);
    Ok(role_json(r))
}

/// `DELETE /v1/projects/{p}/roles/{r}` (`?etag=`): marks the role deleted.
pub fn delete(
    store: &mut Store,
    project: &str,
    role_id: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    set_deleted(store, project, role_id, req.param("etag"), true)
}

/// `POST /v1/projects/{p}/roles/{r}:undelete` (body `{"etag": ...}`).
pub fn undelete(
    store: &mut Store,
    project: &str,
    role_id: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let body: BTreeMap<String, Value> = req.json()?;
    let etag = body.get("etag").and_then(Value::as_str).map(str::to_owned);
    set_deleted(store, project, role_id, etag.as_deref(), false)
}

fn set_deleted(
    store: &mut Store,
    project: &str,
    role_id: &str,
    etag: Option<&str>,
    deleted: bool,
) -> ApiResult<Value> {
    let generation = store.next_generation();
    let r = find(store, project, role_id)?;
    if let Some(etag) = etag.filter(|e| !e.is_empty()) {
        if etag != r.etag {
            return Err(ApiError::stale_etag());
        }
    }
    if r.deleted == deleted {
        return Err(ApiError::precondition(format!(
            "The role {} is {}.",
            r.name,
            if deleted {
                "already deleted"
            } else {
                "not deleted"
            }
        )));
    }
    r.deleted = deleted;
    r.etag = policy_etag(generation);
    Ok(role_json(r))
}

/// `GET /v1/roles/{r}`: a predefined role from the catalogue.
pub fn get_predefined(store: &mut Store, role_id: &str) -> ApiResult<Value> {
    let name = format!("roles/{role_id}");
    PREDEFINED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, t)| predefined_json(store, n, t, true))
        .ok_or_else(|| not_found(&name))
}

/// `GET /v1/roles`: the catalogue (`view=FULL` adds the permissions). A `parent`
/// (`projects/P`) lists that project's custom roles instead, as Google's does.
pub fn list_predefined(store: &mut Store, req: &ApiRequest) -> ApiResult<Value> {
    if let Some(parent) = req.param("parent").filter(|p| !p.is_empty()) {
        return match parent.strip_prefix("projects/") {
            Some(p) if !p.contains('/') => {
                let p = p.to_owned();
                list(store, &p, req)
            }
            _ => Err(ApiError::invalid(
                "parent must be projects/PROJECT_ID (organization roles are not served by the GCP test server).",
            )),
        };
    }
    let full = view_is_full(req)?;
    let items = PREDEFINED
        .iter()
        .map(|(n, t)| ((*n).to_owned(), predefined_json(store, n, t, full)))
        .collect();
    page("roles", items, &format!("predefined|{full}"), req)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryTestableIn {
    #[serde(default)]
    full_resource_name: String,
    #[serde(default)]
    page_size: Option<i64>,
    #[serde(default)]
    page_token: Option<String>,
}

/// `POST /v1/permissions:queryTestablePermissions` (what `gcloud iam roles create`
/// and `update` ask before writing a role): the permissions this server knows, all
/// `SUPPORTED` in custom roles. Only project, organization and folder resources
/// (`//cloudresourcemanager.googleapis.com/projects/p`) are answered.
pub fn query_testable_permissions(req: &ApiRequest) -> ApiResult<Value> {
    let body: QueryTestableIn = req.json()?;
    // gcloud names the service by the endpoint it talks to (`//127.0.0.1:PORT/...`
    // under an endpoint override), so any service host is accepted.
    let resource = body
        .full_resource_name
        .strip_prefix("//")
        .and_then(|r| r.split_once('/'))
        .map(|(_, path)| path)
        .unwrap_or_default();
    let container = ["projects/", "folders/", "organizations/"]
        .iter()
        .any(|k| resource.starts_with(k) && resource.matches('/').count() == 1);
    if !container {
        return Err(ApiError::invalid(
            "fullResourceName must name a project, folder or organization, e.g. //cloudresourcemanager.googleapis.com/projects/p (the GCP test server answers no other).",
        ));
    }
    let items = known_permissions()
        .into_iter()
        .map(|p| {
            (
                p.to_owned(),
                json!({"name": p, "title": p, "stage": "GA", "customRolesSupportLevel": "SUPPORTED"}),
            )
        })
        .collect();
    let (page, next) = paginate(
        items,
        &format!("testable|{}", body.full_resource_name),
        body.page_size,
        body.page_token.as_deref(),
        LIMITS,
    )?;
    let mut out = json!({ "permissions": page });
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_consistent() {
        let store = Store::default();
        for (name, _) in PREDEFINED {
            assert!(permissions_of(&store, name).is_some(), "{name}");
        }
        assert_eq!(
            grants(&store, "roles/owner", "iam.serviceAccounts.delete"),
            Some(true)
        );
        assert_eq!(
            grants(&store, "roles/viewer", "secretmanager.versions.access"),
            Some(false)
        );
        assert_eq!(
            grants(
                &store,
                "roles/editor",
                "resourcemanager.projects.setIamPolicy"
            ),
            Some(false)
        );
        assert_eq!(
            grants(&store, "roles/compute.admin", "compute.instances.get"),
            None
        );
        assert!(valid_permission("secretmanager.versions.access"));
        assert!(!valid_permission("secretmanager.*"));
        assert!(!valid_permission("a.b"));
    }
}
