//! Opt-in IAM enforcement, so that least-privilege (custom) roles can be tested.
//!
//! Off by default: then every caller may do everything, as before. `POST /_admin/iam`
//! (or [`crate::ServerHandle::enforce_iam`]) turns it on with an [`IamConfig`]: which
//! bearer token is which member, and which permissions custom roles hold. From then on
//! every API request (admin requests never) goes through, in this order:
//!
//! 1. the request counter, then the fault mode (so fault draws stay one per request);
//! 2. authentication: `Authorization: Bearer TOKEN` with a configured token, else
//!    401 UNAUTHENTICATED;
//! 3. authorization: the route's permission (the [`TABLE`] below, from Google's method
//!    reference) must be held by the member through a binding in the IAM policy of the
//!    project in the path, or of the secret / service account the route is on (or of
//!    the organization / folder), else 403 PERMISSION_DENIED with an `ErrorInfo`
//!    detail. A denied request runs no handler and changes nothing.
//!
//! Roles: the config's `roles` map (which takes precedence), then custom roles created
//! through IAM `projects.roles.create` (as `gcloud iam roles create` does; none once
//! deleted or DISABLED), then the predefined catalogue of [`crate::roles`]
//! (`roles/owner` everything, `roles/viewer` every `*.get`, `*.list`,
//! `*.getIamPolicy`, `roles/secretmanager.admin` every `secretmanager.*`,
//! `roles/secretmanager.secretAccessor` `secretmanager.versions.access`, ...). Any
//! other role grants nothing. A conditional binding counts only if its condition is exactly
//! `request.time < timestamp("RFC 3339")` with a time still in the future.
//!
//! Not modelled: inheritance from folders and organizations, groups and domains
//! (`group:`, `domain:` members never match), deny policies, other condition forms,
//! `actAs`. `:testIamPermissions` answers only the permissions the caller holds; list
//! and search methods of projects, folders and organizations are not filtered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::policy::{is_valid_member, Policy};
use crate::router::UNMATCHED;
use crate::store::{Project, ServiceAccount, Store};
use crate::util::{now, Time};
use crate::wire::ApiRequest;

/// What a route needs from the caller once authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing more: Google filters the results (lists, searches, `testIamPermissions`)
    /// or the request matches no route (answered 404).
    Nothing,
    /// This permission on the route's resource.
    Permission(&'static str),
}

use Need::{Nothing, Permission as P};

/// The permission each route needs. Regional secret routes
/// (`.../{project}/locations/{location}/secrets/...`) use the global route's entry.
/// A route missing here is denied when enforcement is on (and a unit test fails).
#[rustfmt::skip]
pub const TABLE: &[(&str, Need)] = &[
    (UNMATCHED, Nothing),
    // ------------------------------------------------ Resource Manager: projects
    ("GET /v1/projects", Nothing),
    ("GET /v3/projects", Nothing),
    ("GET /v3/projects:search", Nothing),
    ("GET /v1/projects/{project}", P("resourcemanager.projects.get")),
    ("GET /v3/projects/{project}", P("resourcemanager.projects.get")),
    ("POST /v1/projects/{project}:getAncestry", P("resourcemanager.projects.get")),
    ("POST /v1/projects/{project}:getIamPolicy", P("resourcemanager.projects.getIamPolicy")),
    ("POST /v3/projects/{project}:getIamPolicy", P("resourcemanager.projects.getIamPolicy")),
    ("POST /v1/projects/{project}:setIamPolicy", P("resourcemanager.projects.setIamPolicy")),
    ("POST /v3/projects/{project}:setIamPolicy", P("resourcemanager.projects.setIamPolicy")),
    ("POST /v1/projects/{project}:testIamPermissions", Nothing),
    ("POST /v3/projects/{project}:testIamPermissions", Nothing),
    // ------------------------------------------------ organizations and folders
    ("POST /v1/organizations:search", Nothing),
    ("GET /v3/organizations:search", Nothing),
    ("GET /v3/folders", Nothing),
    ("GET /v1/organizations/{organization}", P("resourcemanager.organizations.get")),
    ("GET /v3/organizations/{organization}", P("resourcemanager.organizations.get")),
    ("POST /v1/organizations/{organization}:getIamPolicy", P("resourcemanager.organizations.getIamPolicy")),
    ("POST /v3/organizations/{organization}:getIamPolicy", P("resourcemanager.organizations.getIamPolicy")),
    ("POST /v1/organizations/{organization}:setIamPolicy", P("resourcemanager.organizations.setIamPolicy")),
    ("POST /v3/organizations/{organization}:setIamPolicy", P("resourcemanager.organizations.setIamPolicy")),
    ("POST /v1/organizations/{organization}:testIamPermissions", Nothing),
    ("POST /v3/organizations/{organization}:testIamPermissions", Nothing),
    ("GET /v3/folders/{folder}", P("resourcemanager.folders.get")),
    ("POST /v3/folders/{folder}:getIamPolicy", P("resourcemanager.folders.getIamPolicy")),
    ("POST /v3/folders/{folder}:setIamPolicy", P("resourcemanager.folders.setIamPolicy")),
    ("POST /v3/folders/{folder}:testIamPermissions", Nothing),
    ("GET /v3/folders:search", Nothing),
    ("GET /v1/projects/{project}:searchAllIamPolicies", P("cloudasset.assets.searchAllIamPolicies")),
    ("GET /v1/projects/{project}:searchAllResources", P("cloudasset.assets.searchAllResources")),
    ("GET /v1/folders/{folder}:searchAllIamPolicies", P("cloudasset.assets.searchAllIamPolicies")),
    ("GET /v1/folders/{folder}:searchAllResources", P("cloudasset.assets.searchAllResources")),
    ("GET /v1/organizations/{organization}:searchAllIamPolicies", P("cloudasset.assets.searchAllIamPolicies")),
    ("GET /v1/organizations/{organization}:searchAllResources", P("cloudasset.assets.searchAllResources")),
    ("POST /v2/folders:search", Nothing),
    ("GET /v2/folders", Nothing),
    ("GET /v2/folders/{folder}", P("resourcemanager.folders.get")),
    ("POST /v2/folders/{folder}:getIamPolicy", P("resourcemanager.folders.getIamPolicy")),
    ("POST /v2/folders/{folder}:setIamPolicy", P("resourcemanager.folders.setIamPolicy")),
    ("POST /v2/folders/{folder}:testIamPermissions", Nothing),
    // ------------------------------------------------ IAM: service accounts
    ("GET /v1/projects/{project}/serviceAccounts", P("iam.serviceAccounts.list")),
    ("POST /v1/projects/{project}/serviceAccounts", P("iam.serviceAccounts.create")),
    ("GET /v1/projects/{project}/serviceAccounts/{account}", P("iam.serviceAccounts.get")),
    ("DELETE /v1/projects/{project}/serviceAccounts/{account}", P("iam.serviceAccounts.delete")),
    ("PATCH /v1/projects/{project}/serviceAccounts/{account}", P("iam.serviceAccounts.update")),
    ("PUT /v1/projects/{project}/serviceAccounts/{account}", P("iam.serviceAccounts.update")),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:disable", P("iam.serviceAccounts.disable")),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:enable", P("iam.serviceAccounts.enable")),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:undelete", P("iam.serviceAccounts.undelete")),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:getIamPolicy", P("iam.serviceAccounts.getIamPolicy")),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:setIamPolicy", P("iam.serviceAccounts.setIamPolicy")),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:testIamPermissions", Nothing),
    // ------------------------------------------------ IAM: service account keys
    ("GET /v1/projects/{project}/serviceAccounts/{account}/keys", P("iam.serviceAccountKeys.list")),
    ("POST /v1/projects/{project}/serviceAccounts/{account}/keys", P("iam.serviceAccountKeys.create")),
    ("POST /v1/projects/{project}/serviceAccounts/{account}/keys:upload", P("iam.serviceAccountKeys.create")),
    ("GET /v1/projects/{project}/serviceAccounts/{account}/keys/{key}", P("iam.serviceAccountKeys.get")),
    ("DELETE /v1/projects/{project}/serviceAccounts/{account}/keys/{key}", P("iam.serviceAccountKeys.delete")),
    ("POST /v1/projects/{project}/serviceAccounts/{account}/keys/{key}:disable", P("iam.serviceAccountKeys.disable")),
    ("POST /v1/projects/{project}/serviceAccounts/{account}/keys/{key}:enable", P("iam.serviceAccountKeys.enable")),
    // ------------------------------------------------ IAM: roles
    ("POST /v1/permissions:queryTestablePermissions", Nothing),
    ("GET /v1/roles", Nothing),
    ("GET /v1/roles/{role}", Nothing),
    ("GET /v1/projects/{project}/roles", P("iam.roles.list")),
    ("POST /v1/projects/{project}/roles", P("iam.roles.create")),
    ("GET /v1/projects/{project}/roles/{role}", P("iam.roles.get")),
    ("PATCH /v1/projects/{project}/roles/{role}", P("iam.roles.update")),
    ("DELETE /v1/projects/{project}/roles/{role}", P("iam.roles.delete")),
    ("POST /v1/projects/{project}/roles/{role}:undelete", P("iam.roles.undelete")),
    // ------------------------------------------------ Secret Manager
    ("GET /v1/projects/{project}/locations", P("secretmanager.locations.list")),
    ("GET /v1/projects/{project}/locations/{location}", P("secretmanager.locations.get")),
    ("GET /v1/projects/{project}/secrets", P("secretmanager.secrets.list")),
    ("POST /v1/projects/{project}/secrets", P("secretmanager.secrets.create")),
    ("GET /v1/projects/{project}/secrets/{secret}", P("secretmanager.secrets.get")),
    ("PATCH /v1/projects/{project}/secrets/{secret}", P("secretmanager.secrets.update")),
    ("DELETE /v1/projects/{project}/secrets/{secret}", P("secretmanager.secrets.delete")),
    ("POST /v1/projects/{project}/secrets/{secret}:addVersion", P("secretmanager.versions.add")),
    ("GET /v1/projects/{project}/secrets/{secret}:getIamPolicy", P("secretmanager.secrets.getIamPolicy")),
    ("POST /v1/projects/{project}/secrets/{secret}:setIamPolicy", P("secretmanager.secrets.setIamPolicy")),
    ("POST /v1/projects/{project}/secrets/{secret}:testIamPermissions", Nothing),
    ("GET /v1/projects/{project}/secrets/{secret}/versions", P("secretmanager.versions.list")),
    ("GET /v1/projects/{project}/secrets/{secret}/versions/{version}", P("secretmanager.versions.get")),
    ("GET /v1/projects/{project}/secrets/{secret}/versions/{version}:access", P("secretmanager.versions.access")),
    ("POST /v1/projects/{project}/secrets/{secret}/versions/{version}:enable", P("secretmanager.versions.enable")),
    ("POST /v1/projects/{project}/secrets/{secret}/versions/{version}:disable", P("secretmanager.versions.disable")),
    ("POST /v1/projects/{project}/secrets/{secret}/versions/{version}:destroy", P("secretmanager.versions.destroy")),
];

const REGIONAL: &str = "{project}/locations/{location}/secrets";
const GLOBAL: &str = "{project}/secrets";

/// The entry for a route label; `None` if the table has none (the route is denied).
pub fn need(label: &str) -> Option<Need> {
    let global;
    let key = if label.contains(REGIONAL) {
        global = label.replacen(REGIONAL, GLOBAL, 1);
        global.as_str()
    } else {
        label
    };
    TABLE
        .iter()
        .chain(crate::creds::NEED)
        .find(|(l, _)| *l == key)
        .map(|(_, n)| *n)
}

/// The enforcement configuration, as `POST /_admin/iam` takes it and `GET` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IamConfig {
    /// Bearer token -> IAM member (`serviceAccount:a@p.iam.gserviceaccount.com`).
    #[serde(default)]
    pub tokens: BTreeMap<String, String>,
    /// Role name (`projects/p/roles/r`, `roles/x`) -> the permissions it holds.
    #[serde(default)]
    pub roles: BTreeMap<String, Vec<String>>,
}

impl IamConfig {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a bearer token standing for `member`.
    pub fn token(mut self, token: impl Into<String>, member: impl Into<String>) -> Self {
        self.tokens.insert(token.into(), member.into());
        self
    }

    /// Defines (or redefines, over a built-in) a role's permissions.
    pub fn role<S: Into<String>>(
        mut self,
        name: impl Into<String>,
        permissions: impl IntoIterator<Item = S>,
    ) -> Self {
        self.roles.insert(
            name.into(),
            permissions.into_iter().map(Into::into).collect(),
        );
        self
    }

    pub fn validate(&self) -> ApiResult<()> {
        for (token, member) in &self.tokens {
            if token.is_empty() || token.contains(char::is_whitespace) {
                return Err(ApiError::invalid(format!(
                    "Token '{token}' must be non-empty and contain no whitespace."
                )));
            }
            if !is_valid_member(member) {
                return Err(ApiError::invalid(format!(
                    "Invalid member '{member}' for token '{token}' (e.g. serviceAccount:a@p.iam.gserviceaccount.com)."
                )));
            }
        }
        for (role, permissions) in &self.roles {
            if !valid_role_name(role) {
                return Err(ApiError::invalid(format!(
                    "Invalid role name '{role}': use roles/NAME, projects/P/roles/NAME or organizations/O/roles/NAME."
                )));
            }
            if let Some(bad) = permissions.iter().find(|p| !valid_permission(p)) {
                return Err(ApiError::invalid(format!(
                    "Role {role}: '{bad}' is not a permission (service.resource.verb)."
                )));
            }
        }
        Ok(())
    }
}

fn valid_role_name(name: &str) -> bool {
    let ok = |s: &str| !s.is_empty() && !s.contains('/');
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["roles", r] => ok(r),
        ["projects" | "organizations", p, "roles", r] => ok(p) && ok(r),
        _ => false,
    }
}

fn valid_permission(p: &str) -> bool {
    let parts: Vec<&str> = p.split('.').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// What `GET /_admin/iam` answers.
pub fn config_json(config: Option<&IamConfig>) -> Value {
    match config {
        None => json!({ "enforced": false }),
        Some(c) => json!({ "enforced": true, "tokens": c.tokens, "roles": c.roles }),
    }
}

/// A request refused by enforcement: 401 or 403, with Google's error body.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub error: ApiError,
    /// `error.details` (an `ErrorInfo` for permission denials).
    pub details: Vec<Value>,
}

impl Refusal {
    pub fn status(&self) -> u16 {
        self.error.code.http()
    }

    pub fn body(&self) -> Value {
        let mut body = self.error.body();
        if !self.details.is_empty() {
            body["error"]["details"] = Value::Array(self.details.clone());
        }
        body
    }

    fn unauthenticated() -> Self {
        Refusal {
            error: ApiError::new(
                Code::Unauthenticated,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            ),
            details: Vec::new(),
        }
    }

    fn denied(permission: &str, resource: &str) -> Self {
        let domain = match permission.split('.').next() {
            Some("secretmanager") => "secretmanager.googleapis.com",
            Some("iam") => "iam.googleapis.com",
            _ => "cloudresourcemanager.googleapis.com",
        };
        Refusal {
            error: ApiError::new(
                Code::PermissionDenied,
                format!(
                    "Permission '{permission}' denied for resource '{resource}' (or it may not exist)."
                ),
            ),
            details: vec![json!({
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "IAM_PERMISSION_DENIED",
                "domain": domain,
                "metadata": { "permission": permission, "resource": resource },
            })],
        }
    }
}

/// The token of an `Authorization: Bearer TOKEN` header value (scheme case-insensitive).
pub fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The member a request's `Authorization` header authenticates as, or 401.
pub fn authenticate<'c>(
    config: &'c IamConfig,
    authorization: Option<&str>,
) -> Result<&'c str, Refusal> {
    bearer_token(authorization)
        .and_then(|t| config.tokens.get(t))
        .map(String::as_str)
        .ok_or_else(Refusal::unauthenticated)
}

/// Decides one API request: `Ok` lets the handler run.
pub fn check(
    config: &IamConfig,
    store: &Store,
    label: &str,
    req: &ApiRequest,
    authorization: Option<&str>,
) -> Result<(), Refusal> {
    let member = authenticate(config, authorization)?;
    let permission = match need(label) {
        Some(Need::Nothing) => return Ok(()),
        Some(Need::Permission(p)) => p,
        None => {
            return Err(Refusal {
                error: ApiError::new(
                    Code::PermissionDenied,
                    format!("Permission denied: the GCP test server's enforcement table (src/enforce.rs) has no entry for route '{label}'."),
                ),
                details: Vec::new(),
            })
        }
    };
    let target = Target::of(label, req);
    if holds(config, store, &target, member, permission, now()) {
        Ok(())
    } else {
        Err(Refusal::denied(permission, &target.resource))
    }
}

/// Which of `permissions` the request's caller holds on the route's resource (what
/// `:testIamPermissions` answers under enforcement).
pub fn held<'p>(
    config: &IamConfig,
    store: &Store,
    label: &str,
    req: &ApiRequest,
    authorization: Option<&str>,
    permissions: &'p [Value],
) -> Vec<&'p Value> {
    let Ok(member) = authenticate(config, authorization) else {
        return Vec::new();
    };
    let target = Target::of(label, req);
    let t = now();
    permissions
        .iter()
        .filter(|p| {
            p.as_str()
                .is_some_and(|p| holds(config, store, &target, member, p, t))
        })
        .collect()
}

/// The resource a request is on: its name (for messages) and its path parameters.
#[derive(Debug, Default)]
struct Target {
    resource: String,
    params: BTreeMap<String, String>,
}

impl Target {
    /// Reads the parameters by laying the label's path template over the request path.
    fn of(label: &str, req: &ApiRequest) -> Self {
        let Some((_, path)) = label.split_once(' ') else {
            return Target::default();
        };
        let path = path.split(':').next().unwrap_or_default();
        let template: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if template.len() != req.segments.len() {
            return Target::default();
        }
        let mut params = BTreeMap::new();
        let mut name = Vec::new();
        // Skip the API version; substitute `{param}`s.
        for (t, s) in template.iter().zip(&req.segments).skip(1) {
            match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(p) => {
                    params.insert(p.to_owned(), s.clone());
                    name.push(s.as_str());
                }
                None => name.push(t),
            }
        }
        // `projects/p/secrets` (a collection) is checked on its parent, `projects/p`.
        if name.len() % 2 == 1 {
            name.pop();
        }
        Target {
            resource: name.join("/"),
            params,
        }
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }
}

fn find_project<'s>(store: &'s Store, key: &str) -> Option<&'s Project> {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
        store
            .projects
            .values()
            .find(|p| p.number.to_string() == key)
    } else {
        store.projects.get(key)
    }
}

fn find_account<'s>(store: &'s Store, account: &str) -> Option<&'s ServiceAccount> {
    let matches =
        |sa: &&ServiceAccount| sa.email.eq_ignore_ascii_case(account) || sa.unique_id == account;
    store
        .service_accounts
        .values()
        .find(matches)
        .or_else(|| store.deleted_service_accounts.iter().find(matches))
}

/// The policies whose bindings count for `target`: its project's, and its secret's,
/// service account's, organization's or folder's own.
fn policies<'s>(store: &'s Store, target: &Target) -> Vec<&'s Policy> {
    let mut out = Vec::new();
    for kind in ["organization", "folder"] {
        if let Some(id) = target.param(kind) {
            if let Some(c) = store.containers.get(&format!("{kind}s/{id}")) {
                out.push(&c.policy);
            }
        }
    }
    let mut project = target.param("project").and_then(|p| find_project(store, p));
    if let Some(account) = target.param("account") {
        if let Some(sa) = find_account(store, account) {
            match project {
                // `projects/-/serviceAccounts/...`: the account's own project.
                None if target.param("project") == Some("-") => {
                    project = store.projects.get(&sa.project_id);
                    out.push(&sa.policy);
                }
                Some(p) if p.id == sa.project_id => out.push(&sa.policy),
                _ => {}
            }
        }
    }
    if let Some(p) = project {
        out.push(&p.policy);
        if let Some(secret) = target.param("secret") {
            let location = target.param("location").unwrap_or_default();
            let key = (p.id.clone(), location.to_owned(), secret.to_owned());
            if let Some(s) = store.secrets.get(&key) {
                out.push(&s.policy);
            }
        }
    }
    out
}

fn holds(
    config: &IamConfig,
    store: &Store,
    target: &Target,
    member: &str,
    permission: &str,
    now: Time,
) -> bool {
    policies(store, target).iter().any(|policy| {
        policy.bindings.iter().any(|b| {
            b.members.iter().any(|m| member_matches(m, member))
                && b.condition
                    .as_ref()
                    .is_none_or(|c| condition_holds(&c.expression, now))
                && role_grants_in(config, store, &b.role, permission)
        })
    })
}

fn member_matches(bound: &str, caller: &str) -> bool {
    bound == "allUsers" || bound == "allAuthenticatedUsers" || bound.eq_ignore_ascii_case(caller)
}

/// Whether `role` holds `permission` when no custom role was created through the API:
/// the config's definition if it has one, else the catalogue ([`crate::roles`]).
pub fn role_grants(config: &IamConfig, role: &str, permission: &str) -> bool {
    role_grants_in(config, &Store::default(), role, permission)
}

/// Whether `role` holds `permission`: the config's definition if it has one, else a
/// custom role created through `projects.roles.create` (while not deleted or
/// DISABLED), else the predefined catalogue ([`crate::roles::PREDEFINED`]); a role
/// nobody defined grants nothing.
pub fn role_grants_in(config: &IamConfig, store: &Store, role: &str, permission: &str) -> bool {
    if let Some(permissions) = config.roles.get(role) {
        return permissions.iter().any(|p| p == permission);
    }
    crate::roles::grants(store, role, permission).unwrap_or(false)
}

/// The one condition form understood: `request.time < timestamp("2030-01-01T00:00:00Z")`
/// (single or double quotes), true while `now` is before that time. Anything else is
/// false, so the binding does not count.
pub fn condition_holds(expression: &str, now: Time) -> bool {
    let parse = || -> Option<Time> {
        let rest = expression.trim().strip_prefix("request.time")?.trim_start();
        let rest = rest.strip_prefix('<')?;
        if rest.starts_with('=') {
            return None;
        }
        let rest = rest.trim_start().strip_prefix("timestamp")?.trim_start();
        let rest = rest.strip_prefix('(')?.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let rest = &rest[1..];
        let end = rest.find(quote)?;
        let time = &rest[..end];
        let tail = rest[end + 1..].trim_start().strip_prefix(')')?;
        if !tail.trim().is_empty() {
            return None;
        }
        crate::util::parse_time("condition", time).ok()
    };
    parse().is_some_and(|t| now < t)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use bytes::Bytes;

    use super::*;
    use crate::router::{self, Outcome, Stop};

    /// Every route label written in router.rs (the router builds labels from literals
    /// only, plus the regional variant of each `{project}/secrets` one).
    fn router_labels() -> BTreeSet<String> {
        let src = [
            include_str!("router.rs"),
            include_str!("apikeys.rs"),
            include_str!("hmac.rs"),
            include_str!("wif.rs"),
        ]
        .concat();
        let mut labels = BTreeSet::new();
        for (i, _) in src.match_indices('"') {
            let rest = &src[i + 1..];
            let is_label = ["GET /", "POST /", "PUT /", "PATCH /", "DELETE /"]
                .iter()
                .any(|m| rest.starts_with(m));
            if let (true, Some(end)) = (is_label, rest.find('"')) {
                labels.insert(rest[..end].to_owned());
            }
        }
        labels.insert(UNMATCHED.to_owned());
        let regional: Vec<String> = labels
            .iter()
            .filter(|l| l.contains(GLOBAL))
            .map(|l| l.replacen(GLOBAL, REGIONAL, 1))
            .collect();
        labels.extend(regional);
        labels
    }

    #[test]
    fn every_route_has_an_entry_and_every_entry_is_a_route() {
        let labels = router_labels();
        assert!(labels.len() > 60, "found only {} labels", labels.len());
        let missing: Vec<&String> = labels.iter().filter(|l| need(l).is_none()).collect();
        assert!(
            missing.is_empty(),
            "routes without a permission entry: {missing:#?}"
        );
        let stale: Vec<&str> = TABLE
            .iter()
            .chain(crate::creds::NEED)
            .map(|(l, _)| *l)
            .filter(|l| !labels.contains(*l))
            .collect();
        assert!(stale.is_empty(), "entries for no route: {stale:#?}");
        let unique: BTreeSet<&str> = TABLE.iter().map(|(l, _)| *l).collect();
        assert_eq!(unique.len(), TABLE.len(), "duplicate entries");
    }

    fn concrete(label: &str) -> (String, String) {
        let (method, path) = label.split_once(' ').unwrap();
        let path = path
            .replace("{project}", "p")
            .replace("{location}", "us-central1")
            .replace("{secret}", "s")
            .replace("{version}", "1")
            .replace("{account}", "a@p.iam.gserviceaccount.com")
            .replace("{key}", "k")
            .replace("{organization}", "10")
            .replace("{folder}", "20")
            .replace("{operation}", "op")
            .replace("{accessId}", "GOOG1EXAMPLE")
            .replace("{pool}", "pool-1")
            .replace("{provider}", "prov-1");
        (method.to_owned(), path)
    }

    /// The router produces exactly the table's labels, and a refusing gate keeps every
    /// handler from running.
    #[test]
    fn the_router_produces_each_label_and_a_refusal_runs_nothing() {
        for label in router_labels() {
            if label == UNMATCHED {
                continue;
            }
            let (method, path) = concrete(&label);
            let req = ApiRequest::parse(&method, &path, None, Bytes::new()).unwrap();
            let mut store = Store::default();
            let mut seen = String::new();
            let mut gate = |l: &str, _: &Store| {
                seen = l.to_owned();
                Some(Stop::Refuse(Refusal::unauthenticated()))
            };
            let (got, outcome) = router::dispatch(&mut store, &req, &mut gate);
            assert_eq!(got, label.as_str(), "{method} {path}");
            assert_eq!(seen, label);
            assert!(matches!(outcome, Outcome::Refused(_)), "{label}");
            assert!(store.projects.is_empty(), "{label} ran its handler");
        }
    }

    #[test]
    fn targets_name_the_resource() {
        let cases = [
            ("GET /v1/projects/{project}/secrets", "projects/p"),
            ("POST /v1/projects/{project}/secrets/{secret}:addVersion", "projects/p/secrets/s"),
            (
                "GET /v1/projects/{project}/locations/{location}/secrets/{secret}/versions/{version}:access",
                "projects/p/locations/us-central1/secrets/s/versions/1",
            ),
            (
                "POST /v1/projects/{project}/serviceAccounts/{account}/keys:upload",
                "projects/p/serviceAccounts/a@p.iam.gserviceaccount.com",
            ),
            ("POST /v3/folders/{folder}:getIamPolicy", "folders/20"),
        ];
        for (label, resource) in cases {
            let (method, path) = concrete(label);
            let req = ApiRequest::parse(&method, &path, None, Bytes::new()).unwrap();
            assert_eq!(Target::of(label, &req).resource, resource, "{label}");
        }
    }

    #[test]
    fn conditions() {
        let now = crate::util::parse_time("t", "2026-01-01T00:00:00Z").unwrap();
        assert!(condition_holds(
            "request.time < timestamp(\"2030-01-01T00:00:00Z\")",
            now
        ));
        assert!(condition_holds(
            "  request.time<timestamp( '2030-01-01T00:00:00.000Z' ) ",
            now
        ));
        assert!(!condition_holds(
            "request.time < timestamp(\"2020-01-01T00:00:00Z\")",
            now
        ));
        assert!(!condition_holds(
            "request.time <= timestamp(\"2030-01-01T00:00:00Z\")",
            now
        ));
        assert!(!condition_holds(
            "request.time < timestamp(\"2030-01-01T00:00:00Z\") || true",
            now
        ));
        assert!(!condition_holds("resource.name.startsWith(\"x\")", now));
        assert!(!condition_holds("request.time < timestamp(\"soon\")", now));
    }

    #[test]
    fn bearer_tokens_and_roles() {
        assert_eq!(bearer_token(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(Some("Basic abc")), None);
        assert_eq!(bearer_token(Some("Bearer ")), None);
        assert_eq!(bearer_token(None), None);
        let c = IamConfig::new().role("roles/viewer", ["secretmanager.secrets.list"]);
        assert!(role_grants(&c, "roles/owner", "iam.serviceAccounts.delete"));
        assert!(role_grants(
            &c,
            "roles/viewer",
            "secretmanager.secrets.list"
        ));
        assert!(!role_grants(
            &c,
            "roles/viewer",
            "secretmanager.secrets.get"
        ));
        let c = IamConfig::new();
        assert!(role_grants(&c, "roles/viewer", "secretmanager.secrets.get"));
        assert!(role_grants(
            &c,
            "roles/viewer",
            "resourcemanager.projects.getIamPolicy"
        ));
        assert!(!role_grants(
            &c,
            "roles/viewer",
            "secretmanager.versions.access"
        ));
        assert!(role_grants(
            &c,
            "roles/secretmanager.admin",
            "secretmanager.versions.destroy"
        ));
        assert!(!role_grants(
            &c,
            "roles/secretmanager.admin",
            "iam.serviceAccounts.get"
        ));
        assert!(role_grants(
            &c,
            "roles/secretmanager.secretAccessor",
            "secretmanager.versions.access"
        ));
        assert!(!role_grants(
            &c,
            "roles/editor",
            "secretmanager.versions.access"
        ));
    }

    #[test]
    fn configs_are_validated() {
        let ok = IamConfig::new()
            .token("t", "serviceAccount:m@p.iam.gserviceaccount.com")
            .role("projects/p/roles/r", ["secretmanager.versions.add"]);
        assert!(ok.validate().is_ok());
        assert!(IamConfig::new().token("t", "m@p").validate().is_err());
        assert!(IamConfig::new()
            .token("", "user:a@x.com")
            .validate()
            .is_err());
        assert!(IamConfig::new()
            .role("custom", ["a.b.c"])
            .validate()
            .is_err());
        assert!(IamConfig::new()
            .role("roles/x", ["a.b"])
            .validate()
            .is_err());
        assert!(IamConfig::new()
            .role("roles/x", ["a.*.c"])
            .validate()
            .is_err());
    }
}
