//! The GCP write operations `apply` carries out: IAM grants on a project, a service
//! account or a secret (remove, restore, bound in time), service-account keys (disable,
//! enable, delete, create a replacement) and service accounts (disable, enable).
//! Clients come from the one factory (`live::clients`), so a test points them at the
//! GCP test server.
//!
//! Invariants:
//! - A resource's IAM policy is changed by read-modify-write: read at version 3, edit
//!   only the named members of the named (role, condition) bindings, write it back with
//!   the etag read and `version: 3`, in ONE `setIamPolicy` per call whatever the number
//!   of grants. Google documents each part: "Any operation that affects conditional role
//!   bindings must specify version 3 ... Removing any role binding, with or without a
//!   condition, from a policy that includes conditions", and "If you use IAM Conditions,
//!   you must include the etag field whenever you call setIamPolicy. If you omit this
//!   field, then IAM allows you to overwrite a version 3 policy with a version 1 policy,
//!   and all of the conditions in the version 3 policy are lost" (the `Policy` reference,
//!   <https://cloud.google.com/resource-manager/reference/rest/Shared.Types/Policy>).
//!   The update mask is left unset, so Google's default (`bindings, etag`) applies and
//!   audit configs are never touched.
//! - A write refused for a stale etag (409 ABORTED: "There were concurrent policy
//!   changes. Please retry the whole read-modify-write with exponential backoff") or
//!   that may not have landed (429, 5xx, a dropped connection) is redone from a fresh
//!   read, at most `MAX_POLICY_ATTEMPTS` times; the etag makes a redo safe, since a
//!   write that did land changed the etag.
//! - Other members, other roles and other conditions are never touched: a grant is
//!   matched on member, role, and the condition's title and expression exactly (an
//!   unconditional grant matches only an unconditional binding).
//! - Every operation reads first and writes only when the target is not already in its
//!   end state (`already-done`, no write). What undoing needs is returned: the grants
//!   as they were found (with the condition's description), the previous key or
//!   account state.
//! - A replacement key's credentials file is a `SecretValue` from the moment it arrives;
//!   a creation that may have landed without its answer is never retried blind: the
//!   keys made meanwhile (private half never received) are deleted first.
//! - Resource names, account emails and key ids are checked against what Google allows
//!   before any request, so no name can reach another path. Errors name the operation
//!   and the resource, never a secret (these APIs carry none).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::options::RequestOptionsBuilder as _;
use google_cloud_iam_v1::model::{Binding, Policy};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::live::{classify, clients, policy_v3, Clients, GcpSettings};
use crate::error::Error;
use crate::model::{BindingDetail, Provider};
use crate::secret::SecretValue;

/// Read-modify-write cycles of one policy change before giving up (a stale etag or a
/// write that may not have landed starts a new cycle).
pub const MAX_POLICY_ATTEMPTS: u32 = 5;

/// The longest condition title written; Google limits a title to 100 characters.
pub const MAX_TITLE_CHARS: usize = 100;

/// A resource that holds an IAM allow policy, parsed once from its resource name.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum IamResource {
    /// `projects/P`
    Project { project: String },
    /// `projects/P/serviceAccounts/EMAIL`
    ServiceAccount { project: String, email: String },
    /// `projects/P/secrets/S`
    Secret { project: String, secret: String },
    /// `folders/F` (a numeric id): a binding there reaches every project below by
    /// inheritance. The inventory's scope for it is the whole name, `folders/F`.
    Folder { id: String },
    /// `organizations/O` (a numeric id): as a folder, one level up.
    Organization { id: String },
}

impl IamResource {
    /// Parses a resource name as the inventory's `BindingDetail::resource` holds it.
    pub fn parse(name: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = name.split('/').collect();
        let r = match parts.as_slice() {
            ["projects", p] => IamResource::Project {
                project: p.to_string(),
            },
            ["projects", p, "serviceAccounts", e] => IamResource::ServiceAccount {
                project: p.to_string(),
                email: e.to_string(),
            },
            ["projects", p, "secrets", s] => IamResource::Secret {
                project: p.to_string(),
                secret: s.to_string(),
            },
            ["folders", f] => IamResource::Folder { id: f.to_string() },
            ["organizations", o] => IamResource::Organization { id: o.to_string() },
            _ => return Err(bad_name("IAM resource", name)),
        };
        r.check()?;
        Ok(r)
    }

    fn check(&self) -> Result<(), Error> {
        let (project, rest) = match self {
            IamResource::Project { project } => (project, None),
            IamResource::ServiceAccount { project, email } => {
                (project, Some(check_email(email).map(|_| ())))
            }
            IamResource::Secret { project, secret } => (project, Some(check_secret_id(secret))),
            IamResource::Folder { id } => return check_container_id("folder", id),
            IamResource::Organization { id } => return check_container_id("organization", id),
        };
        check_project(project)?;
        rest.unwrap_or(Ok(()))
    }

    /// The resource name, as the APIs take it.
    pub fn name(&self) -> String {
        match self {
            IamResource::Project { project } => format!("projects/{project}"),
            IamResource::ServiceAccount { project, email } => {
                format!("projects/{project}/serviceAccounts/{email}")
            }
            IamResource::Secret { project, secret } => {
                format!("projects/{project}/secrets/{secret}")
            }
            IamResource::Folder { id } => format!("folders/{id}"),
            IamResource::Organization { id } => format!("organizations/{id}"),
        }
    }

    /// The scope the resource is in, as the inventory names scopes: its project id, or
    /// a folder's or organization's own name.
    pub fn scope(&self) -> std::borrow::Cow<'_, str> {
        match self {
            IamResource::Project { project }
            | IamResource::ServiceAccount { project, .. }
            | IamResource::Secret { project, .. } => project.into(),
            IamResource::Folder { .. } | IamResource::Organization { .. } => self.name().into(),
        }
    }

    /// Whether this is a folder or an organization (no project number, no accounts).
    pub fn is_container(&self) -> bool {
        matches!(
            self,
            IamResource::Folder { .. } | IamResource::Organization { .. }
        )
    }

    /// The resource whose policy makes an admin of `scope` (a project id, or a
    /// folder's or organization's name, which `parse` decides): a scope with a `/` must
    /// parse as a folder or an organization.
    pub fn holder_of(scope: &str) -> Result<IamResource, Error> {
        if !scope.contains('/') {
            let r = IamResource::Project {
                project: scope.to_string(),
            };
            r.check()?;
            return Ok(r);
        }
        let r = IamResource::parse(scope)?;
        if r.is_container() {
            Ok(r)
        } else {
            Err(bad_name("project, folder or organization", scope))
        }
    }

    /// The API method names (get, set), for errors and the journal.
    pub fn methods(&self) -> (&'static str, &'static str) {
        match self {
            IamResource::Project { .. } => (
                "cloudresourcemanager.projects.getIamPolicy",
                "cloudresourcemanager.projects.setIamPolicy",
            ),
            IamResource::ServiceAccount { .. } => (
                "iam.serviceAccounts.getIamPolicy",
                "iam.serviceAccounts.setIamPolicy",
            ),
            IamResource::Secret { .. } => (
                "secretmanager.secrets.getIamPolicy",
                "secretmanager.secrets.setIamPolicy",
            ),
            IamResource::Folder { .. } => (
                "cloudresourcemanager.folders.getIamPolicy",
                "cloudresourcemanager.folders.setIamPolicy",
            ),
            IamResource::Organization { .. } => (
                "cloudresourcemanager.organizations.getIamPolicy",
                "cloudresourcemanager.organizations.setIamPolicy",
            ),
        }
    }
}

fn bad_name(what: &str, name: &str) -> Error {
    let shown: String = name.chars().take(200).collect();
    Error::usage(
        format!("{what} name {:?} is not one GCP accepts", shown),
        "the plan names resources as projects/P, projects/P/serviceAccounts/EMAIL, projects/P/secrets/S, folders/F or organizations/O; re-run `handover plan` from a fresh audit",
    )
}

/// The members of `policy` holding an admin-equivalent role (`roles/owner` or an
/// IAM-admin role, see `assemble::role_level`) with no condition, sorted.
fn admin_grants(policy: &Policy) -> Vec<Grant> {
    let mut admins: Vec<Grant> = policy
        .bindings
        .iter()
        .filter(|b| b.condition.is_none())
        .filter(|b| {
            matches!(
                super::assemble::role_level(&b.role),
                crate::model::RoleLevel::Owner | crate::model::RoleLevel::IamAdmin
            )
        })
        .flat_map(|b| {
            b.members.iter().map(|m| Grant {
                member: m.clone(),
                role: b.role.clone(),
                condition: None,
            })
        })
        .collect();
    admins.sort();
    admins
}

/// A folder's or organization's id: 1-32 decimal digits (as Google assigns them).
fn check_container_id(what: &str, id: &str) -> Result<(), Error> {
    let ok = !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(()).ok_or_else(|| bad_name(what, id))
}

/// Project ids (6-30 of `a-z0-9-`) and domain-scoped ids (`example.com:proj`).
fn check_project(p: &str) -> Result<(), Error> {
    let ok = !p.is_empty()
        && p.len() <= 100
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b));
    ok.then_some(()).ok_or_else(|| bad_name("project", p))
}

/// A service account's email: one `@`, no path or query characters.
fn check_email(e: &str) -> Result<&str, Error> {
    let ok = e.len() <= 254
        && e.split('@').count() == 2
        && e.split('@').all(|s| !s.is_empty())
        && e.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@._+-".contains(&b));
    ok.then_some(e)
        .ok_or_else(|| bad_name("service account email", e))
}

/// Secret ids: 1-255 of `A-Za-z0-9_-` (Secret Manager's rule).
fn check_secret_id(s: &str) -> Result<(), Error> {
    let ok = !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
    ok.then_some(()).ok_or_else(|| bad_name("secret", s))
}

/// Key ids: hexadecimal in Google's answers; at most 128 of `A-Za-z0-9_-` accepted.
fn check_key_id(k: &str) -> Result<(), Error> {
    let ok = !k.is_empty()
        && k.len() <= 128
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
    ok.then_some(())
        .ok_or_else(|| bad_name("service-account key", k))
}

/// An IAM condition as a grant carries it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct GrantCondition {
    pub title: Option<String>,
    pub expression: String,
    /// Kept so that a restored grant is the binding that was removed; not compared
    /// when matching (the plan's binding has no description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One member in one role on one resource, under one condition or none.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct Grant {
    pub member: String,
    pub role: String,
    pub condition: Option<GrantCondition>,
}

impl Grant {
    /// The grant a plan target names: its member and its typed binding.
    pub fn of(member: &str, binding: &BindingDetail) -> Grant {
        Grant {
            member: member.to_string(),
            role: binding.role.clone(),
            condition: binding.condition.as_ref().map(|c| GrantCondition {
                title: c.title.clone().filter(|t| !t.is_empty()),
                expression: c.expression.clone(),
                description: None,
            }),
        }
    }

    /// Whether `binding` is this grant's (role, condition): the condition by its title
    /// and expression exactly; an empty title is no title.
    pub fn same_binding(&self, binding: &Binding) -> bool {
        if binding.role != self.role {
            return false;
        }
        match (&self.condition, &binding.condition) {
            (None, None) => true,
            (Some(mine), Some(theirs)) => {
                mine.expression == theirs.expression
                    && mine.title.as_deref().unwrap_or("") == theirs.title
            }
            _ => false,
        }
    }

    /// This grant as found in `binding` (with the binding's condition description).
    pub fn as_found(&self, binding: &Binding) -> Grant {
        Grant {
            member: self.member.clone(),
            role: self.role.clone(),
            condition: binding.condition.as_ref().map(|c| GrantCondition {
                title: Some(c.title.clone()).filter(|t| !t.is_empty()),
                expression: c.expression.clone(),
                description: Some(c.description.clone()).filter(|d| !d.is_empty()),
            }),
        }
    }

    /// Whether the exact binding (condition with its description) matches, for merging
    /// a restored member into an existing binding.
    fn exact_binding(&self, binding: &Binding) -> bool {
        self.same_binding(binding)
            && self.condition.as_ref().is_none_or(|c| {
                c.description.as_deref().unwrap_or("")
                    == binding
                        .condition
                        .as_ref()
                        .map(|b| b.description.as_str())
                        .unwrap_or("")
            })
    }

    fn binding(&self) -> Binding {
        let mut b = Binding::new()
            .set_role(self.role.clone())
            .set_members([self.member.clone()]);
        if let Some(c) = &self.condition {
            let mut expr = b.condition.take().unwrap_or_default();
            expr.expression = c.expression.clone();
            expr.title = c.title.clone().unwrap_or_default();
            expr.description = c.description.clone().unwrap_or_default();
            b.condition = Some(expr);
        }
        b
    }
}

/// Groups (resource, grant) pairs by resource, so each resource costs one read and one
/// write whatever the number of its grants. Duplicates are dropped.
pub fn by_resource(
    pairs: impl IntoIterator<Item = (IamResource, Grant)>,
) -> BTreeMap<IamResource, Vec<Grant>> {
    let mut out: BTreeMap<IamResource, Vec<Grant>> = BTreeMap::new();
    for (r, g) in pairs {
        let grants = out.entry(r).or_default();
        if !grants.contains(&g) {
            grants.push(g);
        }
    }
    out
}

/// What a policy change did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GrantChange {
    /// Present when the policy was first read and gone after the write, as they were
    /// found: what `restore_grants` puts back to undo.
    pub removed: Vec<Grant>,
    /// Already absent at the first read: `already-done`.
    pub already_absent: Vec<Grant>,
    /// Added by the write (`restore_grants`, `bound_grant`).
    pub added: Vec<Grant>,
    /// Already present at the first read: nothing to add.
    pub already_present: Vec<Grant>,
}

impl GrantChange {
    /// Whether nothing had to be written.
    pub fn already_done(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }
}

/// When `edit_policy` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Adds {
    Always,
    /// Only when something was removed: a grant is bounded only while it is there, so
    /// a member whose access was removed meanwhile never gets it back.
    IfRemoved,
}

/// Removes `remove` then adds `add` in `policy`, touching nothing else; returns what
/// changed. Bindings left without members are dropped (Google: "Each of the bindings
/// must contain at least one member").
fn edit_policy(policy: &mut Policy, remove: &[Grant], add: &[Grant], adds: Adds) -> GrantChange {
    let mut change = GrantChange::default();
    for (i, g) in remove.iter().enumerate() {
        if remove[..i].contains(g) {
            continue; // named twice: one answer for it
        }
        let mut found = false;
        for b in policy.bindings.iter_mut().filter(|b| g.same_binding(b)) {
            if b.members.contains(&g.member) {
                b.members.retain(|m| m != &g.member);
                change.removed.push(g.as_found(b));
                found = true;
            }
        }
        if !found {
            change.already_absent.push(g.clone());
        }
    }
    policy.bindings.retain(|b| !b.members.is_empty());
    let adding = adds == Adds::Always || !change.removed.is_empty();
    for (i, g) in add.iter().enumerate() {
        if add[..i].contains(g) {
            continue;
        }
        let present = policy
            .bindings
            .iter()
            .any(|b| g.same_binding(b) && b.members.contains(&g.member));
        if present {
            change.already_present.push(g.clone());
            continue;
        }
        if !adding {
            continue;
        }
        match policy.bindings.iter_mut().find(|b| g.exact_binding(b)) {
            Some(b) => b.members.push(g.member.clone()),
            None => policy.bindings.push(g.binding()),
        }
        change.added.push(g.clone());
    }
    change
}

/// The condition that ends a grant at `until`: `request.time < timestamp("T")` (the
/// form Google documents for temporary access, and the one `condition::time_bound`
/// proves), joined with the grant's own condition by `&&` so that it still applies.
pub fn bounded(grant: &Grant, until: DateTime<Utc>, handover: &str) -> Result<Grant, Error> {
    // "you cannot use conditions when you grant legacy basic roles ... Also, you cannot
    // use conditions when you grant roles to all users (allUsers) or all authenticated
    // users (allAuthenticatedUsers)" (https://cloud.google.com/iam/docs/conditions-overview).
    let basic = ["roles/owner", "roles/editor", "roles/viewer"].contains(&grant.role.as_str());
    let public = ["allUsers", "allAuthenticatedUsers"].contains(&grant.member.as_str());
    if basic || public {
        return Err(Error::usage(
            format!(
                "{} in {} cannot be bounded in time: Google allows no condition on basic roles nor on allUsers/allAuthenticatedUsers",
                grant.member, grant.role
            ),
            "plan it as revoke, or grant a predefined role with an end date instead",
        ));
    }
    let end = format!(
        "request.time < timestamp(\"{}\")",
        until.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    let expression = match &grant.condition {
        None => end,
        Some(c) => format!("({}) && {end}", c.expression),
    };
    // The date always fits; the handover's name is shortened (and cleaned of control
    // characters) to keep the title within Google's limit.
    let date = until.format("%Y-%m-%d").to_string();
    let room = MAX_TITLE_CHARS - "handover : until ".len() - date.len();
    let name: String = handover
        .chars()
        .filter(|c| !c.is_control())
        .take(room)
        .collect();
    let title = format!("handover {name}: until {date}");
    Ok(Grant {
        member: grant.member.clone(),
        role: grant.role.clone(),
        condition: Some(GrantCondition {
            title: Some(title),
            expression,
            description: None,
        }),
    })
}

/// A service-account key's state, read live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KeyState {
    Enabled,
    Disabled,
    Gone,
}

/// A service account's state, read live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AccountState {
    Enabled,
    Disabled,
    Gone,
}

/// What a key or account operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Written; undoing restores the state it was in.
    Changed,
    /// Already in the end state: nothing written.
    AlreadyDone,
    /// The key or account does not exist (for a change other than deletion: drift).
    Missing,
}

/// What `bound_grant` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BoundChange {
    pub outcome: Outcome,
    /// The open grant as it was found (what undoing puts back); `None` unless changed.
    pub previous: Option<Grant>,
    /// The grant under its end date.
    pub bounded: Grant,
}

/// A replacement key: its id and the credentials file Google returned. `Debug` shows
/// the id only (`SecretValue` is redacted).
#[derive(Debug)]
pub struct NewKey {
    pub key_id: String,
    pub material: SecretValue,
}

/// The write side of one GCP project.
pub struct GcpChanger {
    clients: Clients,
    /// The scope as the plan names it: a project id, `folders/F` or `organizations/O`.
    project: String,
    /// The resource whose policy makes an admin of the scope, decided once at connect.
    holder: IamResource,
}

impl GcpChanger {
    /// Builds the clients for `project` (checked against GCP's project id rules).
    pub async fn connect(project: &str, settings: &GcpSettings) -> Result<Self, Error> {
        let holder = IamResource::holder_of(project)?;
        Ok(GcpChanger {
            clients: clients(settings).await?,
            project: project.to_string(),
            holder,
        })
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    /// The resource whose policy makes an admin of this changer's scope.
    pub fn holder(&self) -> &IamResource {
        &self.holder
    }

    /// The clients, for the changes of API keys, HMAC keys and workload identity
    /// providers (`apikeys`, `hmac`, `wif`).
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// The project's number (`projects.get`), by which Google names some of its
    /// resources (a secret: `projects/NUMBER/secrets/S`). Also proves the project is
    /// reachable with these credentials.
    pub async fn project_number(&self) -> Result<String, Error> {
        let name = format!("projects/{}", self.project);
        let got = self
            .clients
            .projects
            .get_project()
            .set_name(name.clone())
            .with_idempotency(true)
            .send()
            .await
            .map_err(|e| api_error("cloudresourcemanager.projects.get", &name, &e))?;
        got.name
            .strip_prefix("projects/")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
            .ok_or_else(|| Error::Api {
                provider: Provider::Gcp,
                operation: "cloudresourcemanager.projects.get".into(),
                what: format!("{name}: the answer names no project number"),
                hint: "check --gcp-endpoint points at Google's Resource Manager".into(),
            })
    }

    /// A resource of this changer's project, or a usage error.
    fn own(&self, resource: &IamResource) -> Result<(), Error> {
        resource.check()?;
        if resource.scope() != self.project {
            return Err(Error::usage(
                format!(
                    "{} is not in project {}, the one this run changes",
                    resource.name(),
                    self.project
                ),
                "run apply with the plan of that project's handover",
            ));
        }
        Ok(())
    }

    /// Reads `resource`'s IAM policy at version 3 (so conditional bindings come back
    /// whole: Google documents that "Getting a policy that includes a conditional role
    /// binding" must specify version 3). Reads are idempotent, so the client retries them.
    pub async fn read_policy(&self, resource: &IamResource) -> Result<Policy, Error> {
        self.own(resource)?;
        self.read_any_policy(resource).await
    }

    /// `read_policy` of any checked resource, this changer's or not: for reading the
    /// policies of the containers above the scope, which are never written here.
    async fn read_any_policy(&self, resource: &IamResource) -> Result<Policy, Error> {
        resource.check()?;
        let (get, _) = resource.methods();
        let c = &self.clients;
        let name = resource.name();
        let got = match resource {
            IamResource::Project { .. } => {
                c.projects
                    .get_iam_policy()
                    .set_resource(name.clone())
                    .set_options(policy_v3())
                    .with_idempotency(true)
                    .send()
                    .await
            }
            IamResource::ServiceAccount { .. } => {
                c.iam
                    .get_iam_policy()
                    .set_resource(name.clone())
                    .set_options(policy_v3())
                    .with_idempotency(true)
                    .send()
                    .await
            }
            IamResource::Secret { .. } => {
                c.secrets
                    .get_iam_policy()
                    .set_resource(name.clone())
                    .set_options(policy_v3())
                    .with_idempotency(true)
                    .send()
                    .await
            }
            IamResource::Folder { .. } => {
                c.folders
                    .get_iam_policy()
                    .set_resource(name.clone())
                    .set_options(policy_v3())
                    .with_idempotency(true)
                    .send()
                    .await
            }
            IamResource::Organization { .. } => {
                c.organizations
                    .get_iam_policy()
                    .set_resource(name.clone())
                    .set_options(policy_v3())
                    .with_idempotency(true)
                    .send()
                    .await
            }
        };
        got.map_err(|e| api_error(get, &name, &e))
    }

    /// Writes `policy` (with the etag it was read with, as version 3). Not retried by
    /// the client: the caller redoes the whole read-modify-write.
    async fn write_policy(
        &self,
        resource: &IamResource,
        mut policy: Policy,
    ) -> Result<(), google_cloud_gax::error::Error> {
        policy.version = 3;
        let c = &self.clients;
        let name = resource.name();
        match resource {
            IamResource::Project { .. } => c
                .projects
                .set_iam_policy()
                .set_resource(name)
                .set_policy(policy)
                .send()
                .await
                .map(|_| ()),
            IamResource::ServiceAccount { .. } => c
                .iam
                .set_iam_policy()
                .set_resource(name)
                .set_policy(policy)
                .send()
                .await
                .map(|_| ()),
            IamResource::Secret { .. } => c
                .secrets
                .set_iam_policy()
                .set_resource(name)
                .set_policy(policy)
                .send()
                .await
                .map(|_| ()),
            IamResource::Folder { .. } => c
                .folders
                .set_iam_policy()
                .set_resource(name)
                .set_policy(policy)
                .send()
                .await
                .map(|_| ()),
            IamResource::Organization { .. } => c
                .organizations
                .set_iam_policy()
                .set_resource(name)
                .set_policy(policy)
                .send()
                .await
                .map(|_| ()),
        }
    }

    /// One change to one policy: read, remove then add, write once with the etag;
    /// redone from a fresh read after a stale etag or a write that may not have landed.
    /// The answer describes the first read (what was there before this call).
    async fn change_policy(
        &self,
        resource: &IamResource,
        remove: &[Grant],
        add: &[Grant],
        adds: Adds,
    ) -> Result<GrantChange, Error> {
        self.change_policy_from(resource, None, remove, add, adds)
            .await
    }

    /// `change_policy` whose first cycle starts from `read` (a policy this run read,
    /// with its etag) instead of reading again: a write made stale since is refused for
    /// its etag and redone from a fresh read, so this saves a read and risks nothing.
    async fn change_policy_from(
        &self,
        resource: &IamResource,
        mut read: Option<Policy>,
        remove: &[Grant],
        add: &[Grant],
        adds: Adds,
    ) -> Result<GrantChange, Error> {
        let (_, set) = resource.methods();
        let mut first: Option<GrantChange> = None;
        for attempt in 1..=MAX_POLICY_ATTEMPTS {
            let mut policy = match read.take() {
                Some(p) => p,
                None => self.read_policy(resource).await?,
            };
            let change = edit_policy(&mut policy, remove, add, adds);
            let done = change.already_done();
            let first = first.get_or_insert(change);
            if done {
                // Nothing left to write: either nothing was ever needed, or a write of
                // this call landed though its answer was lost.
                return Ok(first.clone());
            }
            match self.write_policy(resource, policy).await {
                Ok(()) => return Ok(first.clone()),
                Err(e) if redo(&e) && attempt < MAX_POLICY_ATTEMPTS => {
                    tracing::debug!(resource = %resource.name(), attempt, "policy write redone: {}", classify(&e).message);
                    tokio::time::sleep(pause(attempt)).await;
                }
                Err(e) => return Err(api_error(set, &resource.name(), &e)),
            }
        }
        Err(Error::Api {
            provider: Provider::Gcp,
            operation: set.into(),
            what: format!(
                "{}: its policy kept changing during {MAX_POLICY_ATTEMPTS} read-modify-write cycles",
                resource.name()
            ),
            hint: "run apply again once nobody else is changing this policy".into(),
        })
    }

    /// Removes exactly `grants` from `resource`'s policy in one write. Grants already
    /// absent are reported, not an error; the removed ones (as found) are what undoing
    /// needs.
    pub async fn remove_grants(
        &self,
        resource: &IamResource,
        grants: &[Grant],
    ) -> Result<GrantChange, Error> {
        self.change_policy(resource, grants, &[], Adds::Always)
            .await
    }

    /// `remove_grants` starting from `read`, the policy as this run last read it (with
    /// its etag), when there is one: then one `setIamPolicy` and no read when nobody
    /// changed it since.
    pub async fn remove_grants_as_read(
        &self,
        resource: &IamResource,
        read: Option<Policy>,
        grants: &[Grant],
    ) -> Result<GrantChange, Error> {
        self.change_policy_from(resource, read, grants, &[], Adds::Always)
            .await
    }

    /// Puts `grants` back (undo of `remove_grants`), merging each member into its
    /// existing (role, condition) binding, in one write.
    pub async fn restore_grants(
        &self,
        resource: &IamResource,
        grants: &[Grant],
    ) -> Result<GrantChange, Error> {
        self.change_policy(resource, &[], grants, Adds::Always)
            .await
    }

    /// Replaces `grant` by the same member and role under a condition that ends at
    /// `until` (see `bounded`), in one write. When the open grant is no longer there,
    /// nothing is added: `AlreadyDone` if the bounded grant is, `Missing` (drift)
    /// otherwise. Undo: `replace_grants(resource, &[bounded], &[previous])`.
    pub async fn bound_grant(
        &self,
        resource: &IamResource,
        grant: &Grant,
        until: DateTime<Utc>,
        handover: &str,
    ) -> Result<BoundChange, Error> {
        let bounded = bounded(grant, until, handover)?;
        let change = self
            .change_policy(
                resource,
                std::slice::from_ref(grant),
                std::slice::from_ref(&bounded),
                Adds::IfRemoved,
            )
            .await?;
        let outcome = if !change.removed.is_empty() {
            Outcome::Changed
        } else if change.already_present.contains(&bounded) {
            Outcome::AlreadyDone
        } else {
            Outcome::Missing
        };
        Ok(BoundChange {
            outcome,
            previous: change.removed.into_iter().next(),
            bounded,
        })
    }

    /// The no-lock-out check's live input: the members that would still hold an
    /// admin-equivalent role (`roles/owner` or an IAM-admin role, see
    /// `assemble::role_level`) on the project, unconditionally, once `removing` is
    /// removed. One read; nothing is written. Conditional grants are not counted: a
    /// condition may stop them working. The caller decides which members are the
    /// customer's (the parties are the config's).
    pub async fn admins_after(&self, removing: &[Grant]) -> Result<Vec<Grant>, Error> {
        let mut policy = self.read_policy(&self.holder).await?;
        edit_policy(&mut policy, removing, &[], Adds::Always);
        Ok(admin_grants(&policy))
    }

    /// The members holding an admin-equivalent role unconditionally on `container` (a
    /// folder or organization above this changer's scope, from `ancestry`), whose
    /// bindings every project below inherits. One read; nothing is written.
    pub async fn admins_on(&self, container: &IamResource) -> Result<Vec<Grant>, Error> {
        if !container.is_container() {
            return Err(bad_name("folder or organization", &container.name()));
        }
        Ok(admin_grants(&self.read_any_policy(container).await?))
    }

    /// The folders and organization above this changer's scope, nearest first: a
    /// project's `parent` (`projects.get`), then each folder's (`folders.get`), as
    /// the audit reads a project's ancestry. Bounded by the hierarchy's depth
    /// (`hierarchy::MAX_DEPTH`): folders nest at most 10 levels below an organization,
    /// and a name met twice (a cycle in what a server answers) ends the walk, as does
    /// a parent that is not a folder or an organization.
    pub async fn ancestry(&self) -> Result<Vec<IamResource>, Error> {
        let mut parent = match &self.holder {
            IamResource::Organization { .. } => return Ok(Vec::new()),
            IamResource::Folder { .. } => self.folder_parent(&self.holder.name()).await?,
            _ => {
                let name = self.holder.name();
                self.clients
                    .projects
                    .get_project()
                    .set_name(name.clone())
                    .with_idempotency(true)
                    .send()
                    .await
                    .map_err(|e| api_error("cloudresourcemanager.projects.get", &name, &e))?
                    .parent
            }
        };
        let mut chain: Vec<IamResource> = Vec::new();
        while !parent.is_empty() && chain.len() < super::hierarchy::MAX_DEPTH {
            let r = IamResource::parse(&parent)
                .ok()
                .filter(IamResource::is_container);
            let Some(r) = r.filter(|r| !chain.contains(r)) else {
                break;
            };
            chain.push(r);
            if !matches!(chain.last(), Some(IamResource::Folder { .. })) {
                break;
            }
            parent = self.folder_parent(&parent).await?;
        }
        Ok(chain)
    }

    /// A folder's parent (`folders.get`): `folders/F` or `organizations/O`.
    async fn folder_parent(&self, name: &str) -> Result<String, Error> {
        self.clients
            .folders
            .get_folder()
            .set_name(name)
            .with_idempotency(true)
            .send()
            .await
            .map(|f| f.parent)
            .map_err(|e| api_error("cloudresourcemanager.folders.get", name, &e))
    }

    /// Removes `remove` and adds `add` in one write (undo of `bound_grant`).
    pub async fn replace_grants(
        &self,
        resource: &IamResource,
        remove: &[Grant],
        add: &[Grant],
    ) -> Result<GrantChange, Error> {
        self.change_policy(resource, remove, add, Adds::Always)
            .await
    }
}

/// Service-account keys and service accounts. Each operation reads the state first and
/// writes only when it is not already the end state. Enabling and disabling are
/// idempotent by nature, so the client retries them; a deletion retried after it
/// landed answers 404, which is taken as done.
impl GcpChanger {
    fn account_name(&self, email: &str) -> Result<String, Error> {
        check_email(email)?;
        Ok(format!("projects/{}/serviceAccounts/{email}", self.project))
    }

    fn key_name(&self, email: &str, key_id: &str) -> Result<String, Error> {
        check_key_id(key_id)?;
        Ok(format!("{}/keys/{key_id}", self.account_name(email)?))
    }

    /// Whether the key is enabled, disabled or gone (`iam.serviceAccountKeys.get`).
    pub async fn key_state(&self, email: &str, key_id: &str) -> Result<KeyState, Error> {
        let name = self.key_name(email, key_id)?;
        let got = self
            .clients
            .iam
            .get_service_account_key()
            .set_name(name.clone())
            .with_idempotency(true)
            .send()
            .await;
        match got {
            Ok(k) if k.disabled => Ok(KeyState::Disabled),
            Ok(_) => Ok(KeyState::Enabled),
            Err(e) if classify(&e).not_found => Ok(KeyState::Gone),
            Err(e) => Err(api_error("iam.serviceAccountKeys.get", &name, &e)),
        }
    }

    /// Disables a key (revoke now; undo with `enable_key`). `Missing` when it is gone.
    pub async fn disable_key(&self, email: &str, key_id: &str) -> Result<Outcome, Error> {
        self.set_key(email, key_id, KeyState::Disabled).await
    }

    /// Enables a key again (undo of `disable_key`). `Missing` when it is gone.
    pub async fn enable_key(&self, email: &str, key_id: &str) -> Result<Outcome, Error> {
        self.set_key(email, key_id, KeyState::Enabled).await
    }

    async fn set_key(&self, email: &str, key_id: &str, to: KeyState) -> Result<Outcome, Error> {
        let from = self.key_state(email, key_id).await?;
        if from == KeyState::Gone {
            return Ok(Outcome::Missing);
        }
        if from == to {
            return Ok(Outcome::AlreadyDone);
        }
        let name = self.key_name(email, key_id)?;
        let iam = &self.clients.iam;
        let (op, sent) = if to == KeyState::Disabled {
            let r = iam.disable_service_account_key().set_name(name.clone());
            (
                "iam.serviceAccountKeys.disable",
                r.with_idempotency(true).send().await,
            )
        } else {
            let r = iam.enable_service_account_key().set_name(name.clone());
            (
                "iam.serviceAccountKeys.enable",
                r.with_idempotency(true).send().await,
            )
        };
        sent.map_err(|e| api_error(op, &name, &e))?;
        Ok(Outcome::Changed)
    }

    /// Deletes a key (at `--finish`; not undoable). `AlreadyDone` when it is gone.
    pub async fn delete_key(&self, email: &str, key_id: &str) -> Result<Outcome, Error> {
        if self.key_state(email, key_id).await? == KeyState::Gone {
            return Ok(Outcome::AlreadyDone);
        }
        let name = self.key_name(email, key_id)?;
        let sent = self
            .clients
            .iam
            .delete_service_account_key()
            .set_name(name.clone())
            .with_idempotency(true)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Outcome::Changed),
            // A retry of a deletion that landed: the key is gone, which is the end state.
            Err(e) if classify(&e).not_found => Ok(Outcome::Changed),
            Err(e) => Err(api_error("iam.serviceAccountKeys.delete", &name, &e)),
        }
    }

    /// The ids of the account's user-managed keys (`iam.serviceAccountKeys.list` with
    /// `keyTypes=USER_MANAGED`); `None` when the account is gone.
    pub async fn user_keys(&self, email: &str) -> Result<Option<Vec<String>>, Error> {
        use google_cloud_iam_admin_v1::model::list_service_account_keys_request::KeyType;
        let name = self.account_name(email)?;
        let got = self
            .clients
            .iam
            .list_service_account_keys()
            .set_name(name.clone())
            .set_key_types([KeyType::UserManaged])
            .with_idempotency(true)
            .send()
            .await;
        match got {
            Ok(r) => Ok(Some(
                r.keys
                    .iter()
                    .map(|k| k.name.rsplit('/').next().unwrap_or_default().to_string())
                    .collect(),
            )),
            Err(e) if classify(&e).not_found => Ok(None),
            Err(e) => Err(api_error("iam.serviceAccountKeys.list", &name, &e)),
        }
    }

    /// Makes a replacement key (rotation): `iam.serviceAccountKeys.create`, the
    /// credentials file wrapped in a `SecretValue` the moment it arrives (the crate's
    /// key type prints its private data in `Debug`; it is never logged). Creating is
    /// not idempotent, so it is never retried blind: after a failure that may have
    /// landed, the keys made since the call began (whose private half never arrived,
    /// so nobody can use them) are deleted by `delete_orphans`, then it is tried again.
    pub async fn create_key(&self, email: &str) -> Result<NewKey, Error> {
        let name = self.account_name(email)?;
        let op = "iam.serviceAccountKeys.create";
        let before = self.user_keys(email).await?.ok_or_else(|| Error::Api {
            provider: Provider::Gcp,
            operation: op.into(),
            what: format!("{name}: the service account does not exist"),
            hint: "the plan is out of date: audit and plan again".into(),
        })?;
        for attempt in 1..=MAX_POLICY_ATTEMPTS {
            let sent = self
                .clients
                .iam
                .create_service_account_key()
                .set_name(name.clone())
                .send()
                .await;
            match sent {
                Ok(mut key) => {
                    let data = std::mem::take(&mut key.private_key_data);
                    let key_id = key.name.rsplit('/').next().unwrap_or_default().to_string();
                    if data.is_empty() || check_key_id(&key_id).is_err() {
                        return Err(Error::Api {
                            provider: Provider::Gcp,
                            operation: op.into(),
                            what: format!(
                                "{name}: the answer carried no key id or no private key data"
                            ),
                            hint:
                                "run apply again; the key without its private half is deleted first"
                                    .into(),
                        });
                    }
                    let material = match String::from_utf8(data.to_vec()) {
                        Ok(text) => SecretValue::text(text),
                        Err(e) => SecretValue::binary(e.into_bytes()),
                    };
                    return Ok(NewKey { key_id, material });
                }
                Err(e) if redo(&e) && attempt < MAX_POLICY_ATTEMPTS => {
                    self.delete_orphans(email, &before).await?;
                    tokio::time::sleep(pause(attempt)).await;
                }
                Err(e) => return Err(api_error(op, &name, &e)),
            }
        }
        Err(Error::Api {
            provider: Provider::Gcp,
            operation: op.into(),
            what: format!("{name}: no key after {MAX_POLICY_ATTEMPTS} attempts"),
            hint: "run apply again later".into(),
        })
    }

    /// Deletes the user-managed keys of `email` not in `before`: keys a `create_key`
    /// whose answer was lost (or a run killed after sending it) made, whose private
    /// half nobody received. Returns their ids. A key someone else made for the same
    /// account meanwhile would be deleted too: apply runs when nobody else manages the
    /// account's keys.
    pub async fn delete_orphans(
        &self,
        email: &str,
        before: &[String],
    ) -> Result<Vec<String>, Error> {
        let now = self.user_keys(email).await?.unwrap_or_default();
        let mut deleted = Vec::new();
        for key_id in now.into_iter().filter(|k| !before.contains(k)) {
            tracing::info!(account = email, key_id = %key_id, "deleting a key whose private half was never received");
            self.delete_key(email, &key_id).await?;
            deleted.push(key_id);
        }
        Ok(deleted)
    }

    /// Whether the account is enabled, disabled or gone (`iam.serviceAccounts.get`).
    pub async fn account_state(&self, email: &str) -> Result<AccountState, Error> {
        let name = self.account_name(email)?;
        let got = self
            .clients
            .iam
            .get_service_account()
            .set_name(name.clone())
            .with_idempotency(true)
            .send()
            .await;
        match got {
            Ok(a) if a.disabled => Ok(AccountState::Disabled),
            Ok(_) => Ok(AccountState::Enabled),
            Err(e) if classify(&e).not_found => Ok(AccountState::Gone),
            Err(e) => Err(api_error("iam.serviceAccounts.get", &name, &e)),
        }
    }

    /// Disables a service account (revoke; undo with `enable_service_account`).
    pub async fn disable_service_account(&self, email: &str) -> Result<Outcome, Error> {
        self.set_account(email, AccountState::Disabled).await
    }

    /// Enables a service account again (undo of `disable_service_account`).
    pub async fn enable_service_account(&self, email: &str) -> Result<Outcome, Error> {
        self.set_account(email, AccountState::Enabled).await
    }

    async fn set_account(&self, email: &str, to: AccountState) -> Result<Outcome, Error> {
        let from = self.account_state(email).await?;
        if from == AccountState::Gone {
            return Ok(Outcome::Missing);
        }
        if from == to {
            return Ok(Outcome::AlreadyDone);
        }
        let name = self.account_name(email)?;
        let iam = &self.clients.iam;
        let (op, sent) = if to == AccountState::Disabled {
            let r = iam.disable_service_account().set_name(name.clone());
            (
                "iam.serviceAccounts.disable",
                r.with_idempotency(true).send().await,
            )
        } else {
            let r = iam.enable_service_account().set_name(name.clone());
            (
                "iam.serviceAccounts.enable",
                r.with_idempotency(true).send().await,
            )
        };
        sent.map_err(|e| api_error(op, &name, &e))?;
        Ok(Outcome::Changed)
    }
}

/// Whether a failed policy write is redone from a fresh read: a stale etag (409
/// ABORTED), throttling (429), a server error or a lost connection. The etag makes the
/// redo safe even when the first write landed.
fn redo(e: &google_cloud_gax::error::Error) -> bool {
    let code = e.status().map(|s| s.code);
    let http = e.http_status_code();
    matches!(
        code,
        Some(
            Code::Aborted
                | Code::ResourceExhausted
                | Code::Unavailable
                | Code::Internal
                | Code::DeadlineExceeded
        )
    ) || matches!(http, Some(409 | 429))
        || http.is_some_and(|h| h >= 500)
        || (code.is_none() && http.is_none())
}

/// Backoff before cycle `n + 1`: 200 ms doubling, at most 3.2 s.
fn pause(n: u32) -> std::time::Duration {
    std::time::Duration::from_millis(200u64 << n.min(5).saturating_sub(1))
}

pub(crate) fn api_error(op: &str, resource: &str, e: &google_cloud_gax::error::Error) -> Error {
    let f = classify(e);
    let what = format!("{resource}: {}", f.message);
    if f.denied {
        Error::Access {
            provider: Provider::Gcp,
            operation: op.into(),
            what,
            hint: crate::providers::duty::Duty::Apply.gcp_hint(),
        }
    } else if f.unreachable {
        Error::Api {
            provider: Provider::Gcp,
            operation: op.into(),
            what: format!("{resource}: cannot reach the endpoint: {}", f.message),
            hint: "check the network and --gcp-endpoint; the journal lets apply resume".into(),
        }
    } else {
        Error::Api {
            provider: Provider::Gcp,
            operation: op.into(),
            what,
            hint: "run apply again; the journal lets it resume without repeating a change".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IamCondition, RoleLevel, TimeBound};
    use chrono::TimeZone;

    fn policy(json: serde_json::Value) -> Policy {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn resource_names_round_trip_and_hostile_names_are_refused() {
        for name in [
            "projects/p-1",
            "projects/example.com:p",
            "projects/p-1/serviceAccounts/a@p-1.iam.gserviceaccount.com",
            "projects/p-1/secrets/DB_password-2",
            // A binding inherited from above is changed where it is set (issue 17).
            "folders/1",
            "organizations/123456789012",
        ] {
            assert_eq!(IamResource::parse(name).unwrap().name(), name);
        }
        for bad in [
            "projects/P",
            "projects/p/secrets/a/versions/1",
            "projects/p/secrets/a%2F..",
            "projects/p/serviceAccounts/a@b@c",
            "projects/p/serviceAccounts/a@b/../x",
            "folders/abc",
            "folders/-1",
            "folders/",
            "folders/1/projects",
            "organizations/1%2F..",
        ] {
            assert!(IamResource::parse(bad).is_err(), "{bad}");
        }
    }

    /// A folder and an organization were one `Container` told apart by a prefix test
    /// wherever it mattered; parse now decides it once, as data (issue 17).
    #[test]
    fn folders_and_organizations_are_told_apart_once_by_parse() {
        let folder = IamResource::parse("folders/42").unwrap();
        assert_eq!(folder, IamResource::Folder { id: "42".into() });
        assert_eq!(
            folder.methods().0,
            "cloudresourcemanager.folders.getIamPolicy"
        );
        let org = IamResource::parse("organizations/7").unwrap();
        assert_eq!(org, IamResource::Organization { id: "7".into() });
        assert_eq!(
            org.methods().1,
            "cloudresourcemanager.organizations.setIamPolicy"
        );
        assert_eq!(org.scope(), "organizations/7");
        assert!(folder.is_container() && org.is_container());
        assert_eq!(IamResource::holder_of("folders/42").unwrap(), folder);
        assert_eq!(
            IamResource::holder_of("p-1").unwrap(),
            IamResource::Project {
                project: "p-1".into()
            }
        );
        for bad in ["projects/p-1", "projects/p-1/secrets/s", "folders/x", "Bad"] {
            assert!(IamResource::holder_of(bad).is_err(), "{bad}");
        }
        // The journal names the kind: an entry says which API undoes it.
        let json = serde_json::to_value(&folder).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "folder", "id": "42"}));
    }

    #[test]
    fn a_grant_of_a_plan_binding_matches_on_title_and_expression() {
        let detail = BindingDetail {
            member: "user:a@x".into(),
            resource: "projects/p".into(),
            role: "roles/r".into(),
            level: RoleLevel::Other,
            condition: Some(IamCondition {
                title: Some(String::new()),
                expression: "e".into(),
                ends: TimeBound::Unbounded,
            }),
            reaches: Vec::new(),
        };
        let g = Grant::of("user:a@x.example", &detail);
        assert_eq!(
            g.condition.as_ref().unwrap().title,
            None,
            "empty is no title"
        );
        let mut p = policy(serde_json::json!({"bindings": [
            {"role": "roles/r", "members": ["user:a@x.example"], "condition": {"expression": "e", "description": "d"}},
            {"role": "roles/r", "members": ["user:a@x.example"], "condition": {"expression": "e", "title": "t"}},
            {"role": "roles/r", "members": ["user:a@x.example"]}]}));
        let change = edit_policy(&mut p, &[g.clone(), g], &[], Adds::Always);
        assert_eq!(change.removed.len(), 1);
        assert!(
            change.already_absent.is_empty(),
            "a grant named twice is removed once"
        );
        assert_eq!(
            change.removed[0]
                .condition
                .as_ref()
                .unwrap()
                .description
                .as_deref(),
            Some("d"),
            "found as it was, for undo"
        );
        assert_eq!(
            p.bindings.len(),
            2,
            "the emptied binding is dropped, no other"
        );
    }

    #[test]
    fn bounded_grants_end_at_the_date_and_basic_roles_are_refused() {
        let until = Utc.with_ymd_and_hms(2027, 1, 31, 0, 0, 0).unwrap();
        let g = Grant {
            member: "user:a@x.example".into(),
            role: "roles/secretmanager.secretAccessor".into(),
            condition: None,
        };
        let b = bounded(&g, until, &"h".repeat(300)).unwrap();
        let c = b.condition.unwrap();
        assert_eq!(
            crate::providers::gcp::condition::time_bound(&c.expression),
            TimeBound::before(until)
        );
        let title = c.title.unwrap();
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
        assert!(title.ends_with(": until 2027-01-31"), "{title}");
        for (member, role) in [
            ("user:a@x.example", "roles/owner"),
            ("allUsers", "roles/secretmanager.secretAccessor"),
        ] {
            let g = Grant {
                member: member.into(),
                role: role.into(),
                condition: None,
            };
            assert!(bounded(&g, until, "h").is_err());
        }
    }
}
