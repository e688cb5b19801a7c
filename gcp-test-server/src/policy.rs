//! IAM allow policies (`google.iam.v1.Policy`) as projects, service accounts and secrets
//! hold them: bindings with optional conditions, audit configs, policy versions 1 and 3,
//! and optimistic concurrency through base64 etags.
//!
//! Invariants kept here, as <https://cloud.google.com/iam/docs/policies> describes:
//! - every successful write gets a new etag; a write carrying an etag other than the
//!   current one is refused with 409 ABORTED; a write without an etag overwrites;
//! - a write carrying the etag of a policy with conditional bindings must be version 3
//!   (400 otherwise); without an etag the version check is skipped and the write
//!   overwrites, conditions included, as Google documents;
//! - a policy with a conditional binding is only shown in full to callers asking for
//!   version 3; older callers see the role suffixed `_withcond_<hash>` and no condition;
//! - stored bindings are normalised: one binding per (role, condition), members
//!   deduplicated and sorted, bindings without members dropped.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::util::{b64, fnv64};

/// The etag of a policy nobody has written yet (what Google returns for one).
pub const EMPTY_POLICY_ETAG: &str = "ACAB";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expr {
    #[serde(default)]
    pub expression: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Expr>,
}

/// A policy as a client sends it in `setIamPolicy`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawPolicy {
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub bindings: Option<Vec<Binding>>,
    #[serde(default)]
    pub audit_configs: Option<Vec<Value>>,
    #[serde(default)]
    pub etag: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetIamPolicyRequest {
    #[serde(default)]
    pub policy: Option<RawPolicy>,
    #[serde(default)]
    pub update_mask: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetPolicyOptions {
    #[serde(default)]
    pub requested_policy_version: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetIamPolicyRequest {
    #[serde(default)]
    pub options: Option<GetPolicyOptions>,
}

/// Where audit configs are meaningful: only project (and org/folder) policies hold them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditConfigs {
    Allowed,
    Rejected,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub bindings: Vec<Binding>,
    pub audit_configs: Vec<Value>,
    pub etag: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            bindings: Vec::new(),
            audit_configs: Vec::new(),
            etag: EMPTY_POLICY_ETAG.to_owned(),
        }
    }
}

/// Makes a fresh policy etag from a never-repeating generation number.
pub fn policy_etag(generation: u64) -> String {
    // Eight bytes like Google's (`BwYs3z1aXk0=`): a fixed prefix and the generation.
    let v = 0x0006_0000_0000_0000u64 | (generation & 0x0000_FFFF_FFFF_FFFF);
    b64(&v.to_be_bytes())
}

fn check_version(v: i64) -> ApiResult<()> {
    match v {
        0 | 1 | 3 => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "Invalid policy version {v}: valid values are 0, 1 and 3."
        ))),
    }
}

/// Whether `m` is a member string policies accept (`user:...`, `serviceAccount:...`, ...).
pub fn is_valid_member(m: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "user",
        "serviceAccount",
        "group",
        "domain",
        "deleted",
        "principal",
        "principalSet",
        "projectOwner",
        "projectEditor",
        "projectViewer",
    ];
    if m == "allUsers" || m == "allAuthenticatedUsers" {
        return true;
    }
    match m.split_once(':') {
        Some((prefix, rest)) => PREFIXES.contains(&prefix) && !rest.is_empty(),
        None => false,
    }
}

impl Policy {
    fn has_conditions(&self) -> bool {
        self.bindings.iter().any(|b| b.condition.is_some())
    }

    /// The policy as `getIamPolicy` shows it to a caller asking for `requested` version.
    pub fn render(&self, requested: Option<i64>) -> ApiResult<Value> {
        let requested = requested.unwrap_or(0);
        check_version(requested)?;
        let full = requested == 3 || !self.has_conditions();
        let bindings: Vec<Binding> = if full {
            self.bindings.clone()
        } else {
            self.bindings
                .iter()
                .map(|b| match &b.condition {
                    None => b.clone(),
                    Some(c) => {
                        let digest = fnv64(serde_json::to_string(c).unwrap_or_default().as_bytes());
                        Binding {
                            role: format!("{}_withcond_{:020x}", b.role, u128::from(digest)),
                            members: b.members.clone(),
                            condition: None,
                        }
                    }
                })
                .collect()
        };
        let version = if full && self.has_conditions() { 3 } else { 1 };
        let mut out = json!({ "version": version, "etag": self.etag });
        if !bindings.is_empty() {
            out["bindings"] = serde_json::to_value(bindings).unwrap_or(Value::Null);
        }
        if !self.audit_configs.is_empty() {
            out["auditConfigs"] = Value::Array(self.audit_configs.clone());
        }
        Ok(out)
    }

    /// Applies a `setIamPolicy` request and returns the stored policy at version 3.
    pub fn set(
        &mut self,
        req: SetIamPolicyRequest,
        generation: u64,
        audit: AuditConfigs,
    ) -> ApiResult<Value> {
        let raw = req
            .policy
            .ok_or_else(|| ApiError::invalid("Request is missing required field: policy."))?;
        if let Some(v) = raw.version {
            check_version(v)?;
        }
        let mask = req
            .update_mask
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or("bindings,etag");
        let mut set_bindings = false;
        let mut set_audit = false;
        for path in mask.split(',').map(str::trim) {
            match path {
                "bindings" => set_bindings = true,
                "etag" | "version" => {}
                "auditConfigs" | "audit_configs" if audit == AuditConfigs::Allowed => {
                    set_audit = true
                }
                other => {
                    return Err(ApiError::invalid(format!(
                        "Invalid update_mask path: '{other}'."
                    )))
                }
            }
        }
        if let Some(etag) = raw.etag.as_deref().filter(|e| !e.is_empty()) {
            if etag != self.etag {
                return Err(ApiError::stale_etag());
            }
            // "Any operation that affects conditional role bindings must specify version
            // 3 ... Removing any role binding, with or without a condition, from a policy
            // that includes conditions"; "If no etag is provided in the call to
            // setIamPolicy, version compliance checks against the stored policy is
            // skipped" (the `Policy` reference). So, with an etag, a write below version 3
            // over a stored policy with conditions is refused, not allowed to drop them.
            if set_bindings && self.has_conditions() && raw.version != Some(3) {
                return Err(ApiError::invalid(
                    "The stored policy has conditional role bindings: a write that carries its etag must set policy.version to 3.",
                ));
            }
        }
        if audit == AuditConfigs::Rejected
            && raw.audit_configs.as_ref().is_some_and(|a| !a.is_empty())
        {
            return Err(ApiError::invalid(
                "Audit configs are not supported on this resource.",
            ));
        }
        let mut bindings: Vec<Binding> = Vec::new();
        if set_bindings {
            for b in raw.bindings.unwrap_or_default() {
                if b.role.is_empty() {
                    return Err(ApiError::invalid("Policy binding is missing a role."));
                }
                if !(b.role.starts_with("roles/")
                    || b.role.starts_with("projects/")
                    || b.role.starts_with("organizations/"))
                {
                    return Err(ApiError::invalid(format!(
                        "Role {} is not supported.",
                        b.role
                    )));
                }
                if b.role.contains("_withcond_") {
                    return Err(ApiError::invalid(format!(
                        "Role {} names a conditional binding read at policy version 1; read the policy with requestedPolicyVersion 3 and write it back.",
                        b.role
                    )));
                }
                if let Some(bad) = b.members.iter().find(|m| !is_valid_member(m)) {
                    return Err(ApiError::invalid(format!("Invalid member: {bad}.")));
                }
                if let Some(c) = &b.condition {
                    if c.expression.trim().is_empty() {
                        return Err(ApiError::invalid(
                            "A binding condition needs a non-empty expression.",
                        ));
                    }
                    if raw.version != Some(3) {
                        return Err(ApiError::invalid(
                            "Conditional role bindings require policy version 3: set policy.version to 3.",
                        ));
                    }
                }
                match bindings
                    .iter_mut()
                    .find(|x| x.role == b.role && x.condition == b.condition)
                {
                    Some(existing) => existing.members.extend(b.members),
                    None => bindings.push(b),
                }
            }
            for b in &mut bindings {
                b.members.sort();
                b.members.dedup();
            }
            bindings.retain(|b| !b.members.is_empty());
        }
        if set_bindings {
            self.bindings = bindings;
        }
        if set_audit {
            self.audit_configs = raw.audit_configs.unwrap_or_default();
        }
        self.etag = policy_etag(generation);
        self.render(Some(3))
    }
}

/// The kind of resource a policy is set on, for the checks of [`check_grants`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum On {
    /// A project, folder or organization.
    Container,
    Secret,
    ServiceAccount,
}

const BASIC_ROLES: &[&str] = &["roles/owner", "roles/editor", "roles/viewer"];

/// What Google checks in a `setIamPolicy` request beyond member syntax, before
/// anything is stored (all 400 INVALID_ARGUMENT):
/// - "you cannot use conditions when you grant legacy basic roles ... Also, you cannot
///   use conditions when you grant roles to all users (`allUsers`) or all authenticated
///   users (`allAuthenticatedUsers`)" (<https://cloud.google.com/iam/docs/conditions-overview>);
/// - a `serviceAccount:` member must be a service account: an address outside
///   `*.gserviceaccount.com` is answered `Account X is of type "user". Please set the
///   type prefix to be "user:".` (Google's answer; the server reads any such address as
///   a user's), and a user-managed one (`NAME@PROJECT.iam.gserviceaccount.com`) must
///   exist: `Service account X does not exist.` Google-managed service agents
///   (`@gcp-sa-*.iam.gserviceaccount.com`, `@developer.`, `@cloudservices.`, ...)
///   live outside the server and are accepted;
/// - on a secret or a service account, a role must be one the resource supports:
///   `Role X is not supported for this resource.` The server's rule: basic roles,
///   roles of the resource's own service (`roles/secretmanager.*` on secrets,
///   `roles/iam.*` on service accounts), and custom roles that hold at least one
///   permission of that service (a custom role the server has not seen is accepted).
///   Projects, folders and organizations accept every role (the server has no
///   catalogue of all predefined roles).
pub fn check_grants(
    store: &crate::store::Store,
    on: On,
    req: &SetIamPolicyRequest,
) -> ApiResult<()> {
    let Some(raw) = &req.policy else {
        return Ok(());
    };
    let mask = req.update_mask.as_deref().unwrap_or_default();
    if !(mask.trim().is_empty() || mask.split(',').any(|p| p.trim() == "bindings")) {
        return Ok(());
    }
    for b in raw.bindings.iter().flatten() {
        if b.condition.is_some() {
            if BASIC_ROLES.contains(&b.role.as_str()) {
                return Err(ApiError::invalid(format!(
                    "Conditions are not supported for basic roles: {} cannot be granted with a condition.",
                    printable(&b.role)
                )));
            }
            if let Some(m) = b
                .members
                .iter()
                .find(|m| *m == "allUsers" || *m == "allAuthenticatedUsers")
            {
                return Err(ApiError::invalid(format!(
                    "Conditions are not supported for {m}: a binding with a condition cannot grant a role to {m}."
                )));
            }
        }
        for m in &b.members {
            let Some(email) = m.strip_prefix("serviceAccount:") else {
                continue;
            };
            let email = printable(email);
            let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
            if !domain.ends_with(".gserviceaccount.com") {
                return Err(ApiError::invalid(format!(
                    "Account {email} is of type \"user\". Please set the type prefix to be \"user:\"."
                )));
            }
            let user_managed =
                domain.ends_with(".iam.gserviceaccount.com") && !domain.starts_with("gcp-sa-");
            let exists = store
                .service_accounts
                .values()
                .any(|sa| sa.email.eq_ignore_ascii_case(&email));
            if user_managed && !exists {
                return Err(ApiError::invalid(format!(
                    "Service account {email} does not exist."
                )));
            }
        }
        let service = match on {
            On::Container => continue,
            On::Secret => "secretmanager",
            On::ServiceAccount => "iam",
        };
        let role = b.role.as_str();
        let supported = BASIC_ROLES.contains(&role)
            || role
                .strip_prefix("roles/")
                .is_some_and(|r| r.split('.').next() == Some(service))
            || (!role.starts_with("roles/")
                && store.custom_roles.get(role).is_none_or(|r| {
                    r.permissions
                        .iter()
                        .any(|p| p.split('.').next() == Some(service))
                }));
        if !supported {
            return Err(ApiError::invalid(format!(
                "Role {} is not supported for this resource.",
                printable(role)
            )));
        }
    }
    Ok(())
}

fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestIamPermissionsRequest {
    #[serde(default)]
    permissions: Vec<String>,
}

/// `:testIamPermissions`: the server lets every caller do everything, so every
/// well-formed permission asked about is granted.
pub fn test_permissions(req: &crate::wire::ApiRequest) -> ApiResult<Value> {
    let body: TestIamPermissionsRequest = req.json()?;
    if let Some(bad) = body
        .permissions
        .iter()
        .find(|p| p.contains(['*', ' ']) || p.split('.').count() < 3)
    {
        return Err(ApiError::invalid(format!("Permission {bad} is not valid.")));
    }
    let mut out = json!({});
    if !body.permissions.is_empty() {
        out["permissions"] = json!(body.permissions);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: Value) -> SetIamPolicyRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn etags_change_and_stale_ones_are_refused() {
        let mut p = Policy::default();
        let out = p.set(req(json!({"policy": {"bindings": [{"role": "roles/viewer", "members": ["user:a@x.com"]}]}})), 1, AuditConfigs::Allowed).unwrap();
        let e1 = out["etag"].as_str().unwrap().to_owned();
        assert_ne!(e1, EMPTY_POLICY_ETAG);
        let stale = p.set(
            req(json!({"policy": {"etag": EMPTY_POLICY_ETAG, "bindings": []}})),
            2,
            AuditConfigs::Allowed,
        );
        assert_eq!(stale.unwrap_err().code, crate::error::Code::Aborted);
        let out = p
            .set(
                req(json!({"policy": {"etag": e1, "bindings": []}})),
                3,
                AuditConfigs::Allowed,
            )
            .unwrap();
        assert_ne!(out["etag"].as_str().unwrap(), e1);
    }

    #[test]
    fn conditions_need_version_3_and_are_hidden_from_v1_readers() {
        let mut p = Policy::default();
        let b = json!([{"role": "roles/secretmanager.secretAccessor", "members": ["user:a@x.com"],
            "condition": {"title": "t", "expression": "request.time < timestamp('2030-01-01T00:00:00Z')"}}]);
        assert!(p
            .set(
                req(json!({"policy": {"bindings": b}})),
                1,
                AuditConfigs::Allowed
            )
            .is_err());
        p.set(
            req(json!({"policy": {"version": 3, "bindings": b}})),
            2,
            AuditConfigs::Allowed,
        )
        .unwrap();
        let v3 = p.render(Some(3)).unwrap();
        assert_eq!(v3["version"], 3);
        assert!(v3["bindings"][0]["condition"].is_object());
        let v1 = p.render(Some(1)).unwrap();
        assert_eq!(v1["version"], 1);
        assert!(v1["bindings"][0]["role"]
            .as_str()
            .unwrap()
            .contains("_withcond_"));
        assert!(p.render(Some(2)).is_err());
    }

    #[test]
    fn bindings_are_normalised() {
        let mut p = Policy::default();
        p.set(
            req(json!({"policy": {"bindings": [
            {"role": "roles/viewer", "members": ["user:b@x.com", "user:a@x.com"]},
            {"role": "roles/viewer", "members": ["user:a@x.com"]},
            {"role": "roles/editor", "members": []}]}})),
            1,
            AuditConfigs::Allowed,
        )
        .unwrap();
        assert_eq!(p.bindings.len(), 1);
        assert_eq!(p.bindings[0].members, ["user:a@x.com", "user:b@x.com"]);
        assert!(p.set(req(json!({"policy": {"bindings": [{"role": "roles/viewer", "members": ["nobody"]}]}})), 2, AuditConfigs::Allowed).is_err());
    }
}
