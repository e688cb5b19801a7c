//! Builds the provider-agnostic inventory of one GCP project from its raw sources.
//!
//! Principals are the members IAM policies name (project, service accounts, secrets)
//! and the project's service accounts; credentials are their role bindings and
//! service-account keys. Where a source could not be read, a gap says so.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::member::Member;
use super::sources::{
    short, Availability, Expr, Policy, ProjectSources, Replication, Secret as GcpSecret,
    ServiceAccountKey,
};
use crate::model::*;

const GCP: Provider = Provider::Gcp;

/// User-managed keys older than this are stale.
pub const STALE_DAYS: i64 = 90;

/// Roles that let a member act as service accounts.
const IMPERSONATION_ROLES: &[&str] = &[
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountKeyAdmin",
    "roles/iam.workloadIdentityUser",
    "roles/iam.serviceAccountAdmin",
];

/// Roles that can change IAM policies, and so grant themselves anything. The folder
/// roles hold `resourcemanager.folders.setIamPolicy`, which reaches every project below
/// the folder (<https://cloud.google.com/iam/docs/roles-permissions/resourcemanager>).
const IAM_ADMIN_ROLES: &[&str] = &[
    "roles/resourcemanager.projectIamAdmin",
    "roles/iam.securityAdmin",
    "roles/resourcemanager.organizationAdmin",
    "roles/resourcemanager.folderIamAdmin",
    "roles/resourcemanager.folderAdmin",
];

pub fn role_level(role: &str) -> RoleLevel {
    match role {
        "roles/owner" => RoleLevel::Owner,
        "roles/editor" => RoleLevel::Editor,
        r if IAM_ADMIN_ROLES.contains(&r) => RoleLevel::IamAdmin,
        r if IMPERSONATION_ROLES.contains(&r) => RoleLevel::Impersonation,
        "roles/secretmanager.secretAccessor" | "roles/secretmanager.admin" => {
            RoleLevel::SecretAccess
        }
        _ => RoleLevel::Other,
    }
}

/// The condition as the model holds it: its text for display, and what its parsed
/// expression proves about when the binding ends (`condition::time_bound`).
fn condition(c: &Option<Expr>) -> Option<IamCondition> {
    c.as_ref().map(|e| IamCondition {
        title: e.title.clone(),
        expression: e.expression.clone(),
        ends: super::condition::time_bound(&e.expression),
    })
}

struct Assembler<'a> {
    src: &'a ProjectSources,
    now: DateTime<Utc>,
    inv: Inventory,
    /// The scope: a project id, or `folders/F` / `organizations/O`.
    project: String,
    /// The resource `src.iam_policy` is on: `projects/P`, or the folder or organization.
    holder: String,
    /// For a folder or organization: the audited projects its bindings reach.
    reaches: Vec<String>,
    /// Service-account email -> principal id, for the project's own accounts.
    own_accounts: BTreeMap<String, String>,
    /// Principals made from members, by id.
    members: BTreeMap<String, Principal>,
    /// Admin evidence per principal id.
    admin: BTreeMap<String, Vec<String>>,
    /// The service accounts (by email) each federated pool's identities may act as
    /// (an impersonation role granted to a member of the pool on the account), read
    /// from the parsed members, for the workload identity assembler.
    pool_grants: BTreeMap<MemberPool, BTreeSet<String>>,
}

pub fn assemble(src: &ProjectSources, mode: SourceMode, now: DateTime<Utc>) -> Inventory {
    let holder = format!("projects/{}", src.project_id);
    assemble_at(src, holder, Vec::new(), mode, now)
}

/// The inventory of a folder's or organization's IAM policy (`name` is `folders/F` or
/// `organizations/O`): each binding once, at its level, with the audited projects it
/// reaches; its members are principals of that scope. An unreadable policy is a gap.
pub fn assemble_container(
    name: &str,
    policy: &Availability<Policy>,
    reaches: Vec<String>,
    mode: SourceMode,
    now: DateTime<Utc>,
) -> Inventory {
    let src = ProjectSources {
        project_id: name.to_string(),
        iam_policy: policy.known().cloned().unwrap_or_default(),
        service_accounts: Availability::Known(Vec::new()),
        keys: BTreeMap::new(),
        service_account_policies: BTreeMap::new(),
        secrets: Availability::Known(Vec::new()),
        versions: BTreeMap::new(),
        secret_policies: BTreeMap::new(),
        // Keys and federation live in projects: a folder or organization holds none.
        outside: Default::default(),
    };
    let mut inv = assemble_at(&src, name.to_string(), reaches, mode, now);
    if let Availability::Unknown { source, reason } = policy {
        inv.gaps.push(Gap {
            provider: GCP,
            scope: name.to_string(),
            source: source.clone(),
            subject: None,
            reason: reason.clone(),
        });
    }
    inv
}

fn assemble_at(
    src: &ProjectSources,
    holder: String,
    reaches: Vec<String>,
    mode: SourceMode,
    now: DateTime<Utc>,
) -> Inventory {
    let mut a = Assembler {
        src,
        now,
        inv: Inventory::new(now),
        project: src.project_id.clone(),
        holder,
        reaches,
        own_accounts: BTreeMap::new(),
        members: BTreeMap::new(),
        admin: BTreeMap::new(),
        pool_grants: BTreeMap::new(),
    };
    a.inv.sources.push(Source {
        provider: GCP,
        scope: a.project.clone(),
        mode,
        regions: Vec::new(),
        identity: None,
        credential_report_generated_at: None,
        notes: Vec::new(),
    });
    a.gaps();
    a.service_accounts();
    let holder = a.holder.clone();
    a.policy(&holder, None, &src.iam_policy.clone());
    for (email, policy) in &src.service_account_policies {
        if let Availability::Known(p) = policy {
            let resource = a
                .own_accounts
                .get(email)
                .cloned()
                .unwrap_or_else(|| format!("projects/{}/serviceAccounts/{email}", a.project));
            a.policy(&resource, Some(email), p);
        }
    }
    a.secrets();
    a.outside_iam();
    let admin = std::mem::take(&mut a.admin);
    for (id, p) in a.members.iter_mut() {
        if let Some(via) = admin.get(id) {
            p.admin = AdminRights {
                equivalent: Some(true),
                via: via.clone(),
            };
        }
    }
    let members = std::mem::take(&mut a.members);
    a.inv.principals.extend(members.into_values());
    a.inv.normalize();
    a.inv
}

/// What the assemblers of API keys, HMAC keys and workload identity
/// (`apikeys`, `hmac`, `wif`) add to a project's inventory.
#[derive(Debug, Default)]
pub struct Part {
    pub principals: Vec<Principal>,
    pub credentials: Vec<Credential>,
    pub findings: Vec<Finding>,
}

/// A principal with nothing but its id, kind and name (API keys and pools).
pub fn bare_principal(id: &str, project: &str, kind: PrincipalKind, name: &str) -> Principal {
    Principal {
        id: id.to_owned(),
        provider: GCP,
        scope: project.to_owned(),
        kind,
        name: name.to_owned(),
        path: None,
        created: None,
        tags: BTreeMap::new(),
        groups: Vec::new(),
        policies: Vec::new(),
        admin: AdminRights {
            equivalent: Some(false),
            via: Vec::new(),
        },
        permissions_boundary: None,
        last_used: None,
        disabled: None,
        deleted: None,
        federated: None,
        access_ends: TimeBound::Unbounded,
    }
}

impl Assembler<'_> {
    /// API keys, HMAC keys, workload identity pools and providers; a source that could
    /// not be read is a gap.
    fn outside_iam(&mut self) {
        let o = &self.src.outside;
        let mut part = Part::default();
        let unknown = [
            match &o.api_keys {
                Availability::Known(keys) => {
                    super::apikeys::assemble(&self.project, keys, &mut part);
                    None
                }
                Availability::Unknown { source, reason } => Some((source, None, reason)),
            },
            match &o.hmac_keys {
                Availability::Known(keys) => {
                    let own = self.own_accounts.clone();
                    let project = self.project.clone();
                    let sa_id = |email: &str| {
                        own.get(email)
                            .cloned()
                            .unwrap_or_else(|| format!("gcp:{project}:serviceAccount:{email}"))
                    };
                    super::hmac::assemble(&self.project, keys, &sa_id, &mut part);
                    None
                }
                Availability::Unknown { source, reason } => Some((source, None, reason)),
            },
            match &o.federation.pools {
                Availability::Known(_) => {
                    super::wif::assemble(
                        &self.project,
                        &o.federation,
                        &self.pool_grants,
                        &mut part,
                    );
                    None
                }
                Availability::Unknown { source, reason } => Some((source, None, reason)),
            },
        ];
        let providers = o
            .federation
            .providers
            .iter()
            .filter_map(|(pool, a)| match a {
                Availability::Unknown { source, reason } => {
                    Some((source, Some(pool.clone()), reason))
                }
                Availability::Known(_) => None,
            });
        let gaps: Vec<(String, Option<String>, String)> = unknown
            .into_iter()
            .flatten()
            .chain(providers)
            .map(|(s, subject, r)| (s.clone(), subject, r.clone()))
            .collect();
        for (source, subject, reason) in gaps {
            self.gap(&source, subject.as_deref(), &reason);
        }
        // An HMAC key of an account that is not the project's own: its holder is a member.
        for c in &part.credentials {
            if let CredentialDetail::HmacKey {
                service_account, ..
            } = &c.detail
            {
                if !self.own_accounts.contains_key(service_account) {
                    let raw = format!("serviceAccount:{service_account}");
                    self.ensure_member(&Member::parse(&raw));
                }
            }
        }
        self.inv.principals.extend(part.principals);
        self.inv.credentials.extend(part.credentials);
        self.inv.findings.extend(part.findings);
    }

    fn gap(&mut self, source: &str, subject: Option<&str>, reason: &str) {
        self.inv.gaps.push(Gap {
            provider: GCP,
            scope: self.project.clone(),
            source: source.into(),
            subject: subject.map(str::to_string),
            reason: reason.into(),
        });
    }

    fn finding(&mut self, code: FindingCode, subject: &str, message: String) {
        self.inv.findings.push(Finding::new(code, subject, message));
    }

    fn gaps(&mut self) {
        fn unknown<T>(a: &Availability<T>) -> Option<(String, String)> {
            match a {
                Availability::Unknown { source, reason } => Some((source.clone(), reason.clone())),
                Availability::Known(_) => None,
            }
        }
        let src = self.src;
        let mut found: Vec<(String, Option<String>, String)> = Vec::new();
        for (source, reason) in [unknown(&src.service_accounts), unknown(&src.secrets)]
            .into_iter()
            .flatten()
        {
            found.push((source, None, reason));
        }
        let per_item = src
            .keys
            .iter()
            .map(|(k, v)| (k, unknown(v)))
            .chain(
                src.service_account_policies
                    .iter()
                    .map(|(k, v)| (k, unknown(v))),
            )
            .chain(src.versions.iter().map(|(k, v)| (k, unknown(v))))
            .chain(src.secret_policies.iter().map(|(k, v)| (k, unknown(v))));
        for (subject, u) in per_item {
            if let Some((source, reason)) = u {
                found.push((source, Some(subject.clone()), reason));
            }
        }
        for (source, subject, reason) in found {
            self.gap(&source, subject.as_deref(), &reason);
        }
    }

    /// The principal id for an IAM member: the project's own service account's, or
    /// `gcp:{project}:{member}`.
    fn member_id(&self, member: &Member) -> String {
        if let Some(id) = member
            .service_account()
            .and_then(|email| self.own_accounts.get(email))
        {
            return id.clone();
        }
        format!("gcp:{}:{}", self.project, member.raw)
    }

    fn ensure_member(&mut self, member: &Member) -> String {
        let id = self.member_id(member);
        if self.own_accounts.values().any(|v| *v == id) {
            return id;
        }
        self.members.entry(id.clone()).or_insert_with(|| Principal {
            id: id.clone(),
            provider: GCP,
            scope: self.project.clone(),
            kind: member.kind,
            name: member.name.to_string(),
            path: None,
            created: None,
            tags: BTreeMap::new(),
            groups: Vec::new(),
            policies: Vec::new(),
            admin: AdminRights {
                equivalent: Some(false),
                via: Vec::new(),
            },
            permissions_boundary: None,
            last_used: None,
            disabled: None,
            deleted: member.deleted.clone(),
            federated: member.federated.clone(),
            access_ends: TimeBound::Unbounded,
        });
        id
    }

    fn service_accounts(&mut self) {
        let Some(accounts) = self.src.service_accounts.known() else {
            return;
        };
        for sa in accounts {
            let id = format!("projects/{}/serviceAccounts/{}", self.project, sa.email);
            self.own_accounts.insert(sa.email.clone(), id.clone());
            self.members.insert(
                id.clone(),
                Principal {
                    id: id.clone(),
                    provider: GCP,
                    scope: self.project.clone(),
                    kind: PrincipalKind::GcpServiceAccount,
                    name: sa.email.clone(),
                    path: None,
                    created: None,
                    tags: sa
                        .display_name
                        .iter()
                        .map(|d| ("displayName".to_string(), d.clone()))
                        .collect(),
                    groups: Vec::new(),
                    policies: Vec::new(),
                    admin: AdminRights {
                        equivalent: Some(false),
                        via: Vec::new(),
                    },
                    permissions_boundary: None,
                    last_used: None,
                    disabled: Some(sa.disabled),
                    deleted: None,
                    federated: None,
                    access_ends: TimeBound::Unbounded,
                },
            );
            match self.src.keys.get(&sa.email) {
                Some(Availability::Known(keys)) => {
                    for k in keys {
                        self.key(&id, &sa.email, k);
                    }
                }
                Some(Availability::Unknown { .. }) => {}
                None => self.gap(
                    "iam:ListServiceAccountKeys",
                    Some(&id),
                    "the key list was not read",
                ),
            }
            if !self.src.service_account_policies.contains_key(&sa.email) {
                self.gap(
                    "iam:GetIamPolicy",
                    Some(&id),
                    "who may act as this service account was not read",
                );
            }
        }
    }

    fn key(&mut self, sa_id: &str, email: &str, k: &ServiceAccountKey) {
        let key_type = k
            .key_type
            .clone()
            .unwrap_or_else(|| "KEY_TYPE_UNSPECIFIED".into());
        let expired = k.valid_before_time.is_some_and(|t| t <= self.now);
        let status = if k.disabled || expired {
            Status::Inactive
        } else {
            Status::Active
        };
        let user_managed = key_type == "USER_MANAGED";
        let key_id = short(&k.name).to_string();
        let cred = Credential {
            id: format!("{sa_id}/keys/{key_id}"),
            principal: sa_id.to_string(),
            provider: GCP,
            scope: self.project.clone(),
            kind: CredentialKind::GcpServiceAccountKey,
            identifier: Some(key_id.clone()),
            status,
            created: k.valid_after_time,
            last_used: LastUsed::unknown(
                "the key list records no use (Policy Analyzer's activity API does; not read)",
            ),
            detail: CredentialDetail::ServiceAccountKey {
                key_type,
                algorithm: k.key_algorithm.clone(),
                origin: k.key_origin.clone(),
                valid_before: k.valid_before_time,
            },
        };
        // Google's own rotated keys are not a handover concern; a key someone holds is.
        if user_managed && status == Status::Active {
            self.finding(
                FindingCode::GcpUserManagedKey,
                &cred.id,
                format!("service account {email} has user-managed key {key_id}"),
            );
            if let Some(created) = k.valid_after_time {
                let days = (self.now - created).num_days();
                if days > STALE_DAYS {
                    self.finding(
                        FindingCode::GcpKeyStale,
                        &cred.id,
                        format!("key {key_id} of {email} was created {days} days ago"),
                    );
                }
            }
        }
        self.inv.credentials.push(cred);
    }

    /// Adds one binding credential per member and role of a policy on `resource`
    /// (`account`: the service account's email, when the policy is one's).
    fn policy(&mut self, resource: &str, account: Option<&str>, policy: &Policy) {
        let on_project = resource == self.holder;
        let mut seen = BTreeSet::new();
        for b in &policy.bindings {
            let cond = condition(&b.condition);
            for member in b.members.iter().map(|m| Member::parse(m)) {
                let pid = self.ensure_member(&member);
                if let (Some(email), Some(f)) = (account, &member.federated) {
                    if role_level(&b.role) == RoleLevel::Impersonation {
                        self.pool_grants
                            .entry(f.pool.clone())
                            .or_default()
                            .insert(email.to_string());
                    }
                }
                let mut id = format!("{pid}/binding/{resource}/{}", b.role);
                if let Some(c) = &cond {
                    id.push_str(&format!("/if/{}", c.expression));
                }
                if !seen.insert(id.clone()) {
                    continue;
                }
                self.binding(MemberGrant {
                    id,
                    pid,
                    member: member.raw,
                    kind: member.kind,
                    federated: member.federated.as_ref(),
                    role: &b.role,
                    level: role_level(&b.role),
                    ends: cond
                        .as_ref()
                        .map(|c| c.ends.clone())
                        .unwrap_or(TimeBound::Unbounded),
                    cond: cond.clone(),
                    resource,
                    on_project,
                });
            }
        }
    }

    /// One member's binding: its findings and admin evidence while it holds, the role
    /// among the member's project policies, and the binding credential.
    fn binding(&mut self, g: MemberGrant) {
        if let TimeBound::Conditional { reason } = &g.ends {
            self.finding(
                FindingCode::ConditionNotTimeBound,
                &g.id,
                format!(
                    "{} holds {} on {} under a condition that does not provably end: {reason}",
                    g.member,
                    g.role,
                    g.what()
                ),
            );
        }
        let ended = g.ends.ended_at(self.now);
        if !ended {
            self.binding_findings(&g);
            if g.on_project
                && matches!(g.level, RoleLevel::Owner | RoleLevel::IamAdmin)
                && g.kind != PrincipalKind::GcpDeleted
            {
                let via = format!(
                    "{} on {}{}",
                    g.role,
                    g.what(),
                    g.cond
                        .as_ref()
                        .map(|c| format!(" (if {})", c.expression))
                        .unwrap_or_default()
                );
                self.admin.entry(g.pid.clone()).or_default().push(via);
            }
        }
        let policy_ref = PolicyRef {
            name: g.role.to_string(),
            arn: None,
            via_group: None,
        };
        if let Some(p) = self.members.get_mut(&g.pid) {
            if g.on_project && !p.policies.contains(&policy_ref) {
                p.policies.push(policy_ref);
                p.policies.sort();
            }
        }
        self.inv.credentials.push(Credential {
            id: g.id,
            principal: g.pid,
            provider: GCP,
            scope: self.project.clone(),
            kind: CredentialKind::GcpIamBinding,
            identifier: Some(g.role.to_string()),
            status: if ended {
                Status::Inactive
            } else {
                Status::Active
            },
            created: None,
            last_used: LastUsed::unknown("IAM records no use per binding"),
            detail: CredentialDetail::Binding(BindingDetail {
                member: g.member.to_string(),
                resource: g.resource.to_string(),
                role: g.role.to_string(),
                level: g.level,
                condition: g.cond,
                reaches: if g.on_project {
                    self.reaches.clone()
                } else {
                    Vec::new()
                },
            }),
        });
    }

    /// What a binding that still holds says: public or deleted members, basic roles,
    /// domain-wide grants, impersonation.
    fn binding_findings(&mut self, g: &MemberGrant) {
        let (member, role, what) = (g.member, g.role, g.what());
        match g.kind {
            PrincipalKind::GcpPublic => self.finding(
                FindingCode::GcpPublicAccess,
                &g.id,
                format!("{member} holds {role} on {what}"),
            ),
            PrincipalKind::GcpDeleted => self.finding(
                FindingCode::GcpDeletedMember,
                &g.id,
                format!("deleted member {member} still holds {role} on {what}"),
            ),
            _ => {}
        }
        // Google's own `goog/` members are accounts, groups and whole customers, as
        // `user:`, `group:` and `domain:` are.
        let google = g.federated.map(|f| (&f.pool, &f.selects));
        let person = matches!(
            g.kind,
            PrincipalKind::GcpUser | PrincipalKind::GcpGroup | PrincipalKind::GcpDomain
        ) || matches!(google, Some((MemberPool::Google, _)));
        if g.on_project && matches!(g.level, RoleLevel::Owner | RoleLevel::Editor) && person {
            self.finding(
                FindingCode::GcpBasicRole,
                &g.id,
                format!("{member} holds {role} on {what}"),
            );
        }
        if g.kind == PrincipalKind::GcpDomain
            || matches!(
                google,
                Some((MemberPool::Google, PoolSelection::Customer { .. }))
            )
        {
            self.finding(
                FindingCode::GcpDomainGrant,
                &g.id,
                format!("every account of {member} holds {role} on {what}"),
            );
        }
        if g.level == RoleLevel::Impersonation {
            let scope = if g.on_project {
                format!("every service account of {what}")
            } else {
                g.resource.to_string()
            };
            let who = match g.federated.map(|f| &f.pool) {
                Some(MemberPool::WorkloadIdentity { project_number, pool }) => format!(
                    "{member} (identities of workload identity pool {pool} of project {project_number})"
                ),
                _ => member.to_string(),
            };
            self.finding(
                FindingCode::GcpCanImpersonate,
                &g.id,
                format!("{who} can act as {scope} ({role})"),
            );
        }
    }

    fn secrets(&mut self) {
        let Some(secrets) = self.src.secrets.known() else {
            return;
        };
        for s in secrets {
            self.secret(s);
        }
    }

    /// One Secret Manager secret: its versions, members (whose bindings become
    /// credentials), rotation, replication and encryption key.
    fn secret(&mut self, s: &GcpSecret) {
        let name = short(&s.name).to_string();
        let (versions, enabled, latest) = match self.src.versions.get(&s.name) {
            Some(Availability::Known(v)) => (
                Some(v.len() as u32),
                Some(
                    v.iter()
                        .filter(|v| v.state.as_deref() == Some("ENABLED"))
                        .count() as u32,
                ),
                v.iter().filter_map(|v| v.create_time).max(),
            ),
            _ => (None, None, None),
        };
        let (access_policy, members) = self.secret_members(s, &name);
        let rotation = s.rotation.clone().unwrap_or_default();
        let every_days = rotation
            .rotation_period
            .as_deref()
            .and_then(|p| p.trim_end_matches('s').parse::<f64>().ok())
            .map(|secs| (secs / 86_400.0).round() as i64);
        let enabled_rotation =
            rotation.rotation_period.is_some() || rotation.next_rotation_time.is_some();
        if !enabled_rotation {
            self.finding(
                FindingCode::SecretNotRotated,
                &s.name,
                format!("secret {name} has no rotation schedule"),
            );
        }
        let encryption = self.secret_encryption(s);
        let external = encryption.external;
        self.inv.secrets.push(Secret {
            id: s.name.clone(),
            provider: GCP,
            scope: self.project.clone(),
            region: None,
            name,
            description: None,
            created: s.create_time,
            last_changed: latest,
            last_accessed: None,
            deletion_scheduled: None,
            rotation: Rotation {
                enabled: enabled_rotation,
                rotation_function: None,
                every_days,
                schedule: rotation.rotation_period.clone(),
                last_rotated: None,
                next_rotation: rotation.next_rotation_time,
            },
            tags: s.labels.clone(),
            versions,
            enabled_versions: enabled,
            latest_version_created: latest,
            replication: s.replication.as_ref().map(Replication::label),
            expires: s.expire_time,
            encryption,
            access_policy,
            owning_service: None,
            iam_members: members,
        });
        if external {
            self.finding(
                FindingCode::SecretKeyOutsideAccount,
                &s.name,
                format!(
                    "secret {} is encrypted under a key of another project",
                    short(&s.name)
                ),
            );
        }
    }

    /// The secret's IAM policy: its members (each binding also becomes a credential,
    /// and a person or group granted on a secret is a finding).
    fn secret_members(&mut self, s: &GcpSecret, name: &str) -> (AccessPolicy, Vec<IamGrant>) {
        let mut members = Vec::new();
        let p = match self.src.secret_policies.get(&s.name) {
            Some(Availability::Known(p)) => p,
            Some(Availability::Unknown { reason, .. }) => {
                let reason = reason.clone();
                return (AccessPolicy::Unknown { reason }, members);
            }
            None => {
                let reason = "the secret's IAM policy was not read".into();
                return (AccessPolicy::Unknown { reason }, members);
            }
        };
        // Each member parsed once: the grant keeps it as IAM writes it, the finding
        // reads its kind.
        let mut grants: Vec<(IamGrant, PrincipalKind)> = Vec::new();
        for b in &p.bindings {
            for m in &b.members {
                let grant = IamGrant {
                    member: m.clone(),
                    role: b.role.clone(),
                    condition: condition(&b.condition),
                };
                grants.push((grant, Member::parse(m).kind));
            }
        }
        grants.sort_by(|a, b| a.0.cmp(&b.0));
        self.policy(&s.name, None, p);
        for (g, kind) in &grants {
            if matches!(
                kind,
                PrincipalKind::GcpUser | PrincipalKind::GcpGroup | PrincipalKind::GcpDomain
            ) {
                self.finding(
                    FindingCode::GcpSecretMember,
                    &s.name,
                    format!("secret {name} grants {} {}", g.member, g.role),
                );
            }
        }
        members.extend(grants.into_iter().map(|(g, _)| g));
        let outside = Vec::new();
        (AccessPolicy::Known { outside }, members)
    }

    /// The secret's customer-managed key and the project that holds it.
    fn secret_encryption(&self, s: &GcpSecret) -> Encryption {
        let key = s
            .customer_managed_encryption
            .as_ref()
            .and_then(|c| c.kms_key_name.clone());
        let key_project = key
            .as_deref()
            .and_then(|k| k.strip_prefix("projects/"))
            .and_then(|k| k.split('/').next())
            .map(str::to_string);
        let external = key_project.as_deref().is_some_and(|p| p != self.project);
        Encryption {
            key,
            key_account: key_project.or_else(|| Some(self.project.clone())),
            external,
        }
    }
}

/// One member's binding on a resource, as `policy` read it.
struct MemberGrant<'b> {
    /// `{principal}/binding/{resource}/{role}[/if/{expression}]`.
    id: String,
    pid: String,
    member: &'b str,
    kind: PrincipalKind,
    /// A `principal://`/`principalSet://` member's pool and selection.
    federated: Option<&'b FederatedMember>,
    role: &'b str,
    level: RoleLevel,
    cond: Option<IamCondition>,
    ends: TimeBound,
    resource: &'b str,
    on_project: bool,
}

impl MemberGrant<'_> {
    /// The resource as a message names it.
    fn what(&self) -> String {
        if self.on_project && self.resource.starts_with("projects/") {
            "the project".to_string()
        } else {
            self.resource.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder IAM admin can grant itself anything below the folder, yet counted as
    /// no admin: a false lock-out refusal, and an agency holder missed.
    #[test]
    fn folder_iam_admins_are_iam_admins() {
        for r in [
            "roles/resourcemanager.folderIamAdmin",
            "roles/resourcemanager.folderAdmin",
            "roles/resourcemanager.organizationAdmin",
            "roles/resourcemanager.projectIamAdmin",
        ] {
            assert_eq!(role_level(r), RoleLevel::IamAdmin, "{r}");
        }
        assert_eq!(
            role_level("roles/resourcemanager.folderViewer"),
            RoleLevel::Other
        );
    }

    fn owner_binding(expression: &str) -> ProjectSources {
        let policy: Policy = serde_json::from_value(serde_json::json!({"bindings": [{
            "role": "roles/owner", "members": ["user:eve@agency.example"],
            "condition": {"title": "t", "expression": expression}
        }]}))
        .unwrap();
        ProjectSources {
            outside: Default::default(),
            project_id: "p".into(),
            iam_policy: policy,
            service_accounts: Availability::Known(Vec::new()),
            keys: BTreeMap::new(),
            service_account_policies: BTreeMap::new(),
            secrets: Availability::Known(Vec::new()),
            versions: BTreeMap::new(),
            secret_policies: BTreeMap::new(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    // Regression: with a past date, `... || true` made a permanent owner look expired,
    // with no finding.
    #[test]
    fn a_past_date_that_does_not_bound_the_condition_is_not_expired() {
        let now = at("2027-06-01T00:00:00Z");
        let inv = assemble(
            &owner_binding(r#"request.time < timestamp("2027-01-01T00:00:00Z") || true"#),
            SourceMode::Snapshot,
            now,
        );
        let c = inv
            .credentials
            .iter()
            .find(|c| c.kind == CredentialKind::GcpIamBinding)
            .unwrap();
        assert_eq!(c.status, Status::Active, "{c:?}");
        assert!(matches!(
            c.detail.time_bound(),
            TimeBound::Conditional { .. }
        ));
        assert!(
            inv.findings
                .iter()
                .any(|f| f.code == FindingCode::ConditionNotTimeBound && f.subject == c.id),
            "{:?}",
            inv.findings
        );
        assert!(
            inv.findings
                .iter()
                .any(|f| f.code == FindingCode::GcpBasicRole),
            "a live owner is reported: {:?}",
            inv.findings
        );
        // The same date as a real bound: expired, and no finding on it.
        let inv = assemble(
            &owner_binding(r#"request.time < timestamp("2027-01-01T00:00:00Z")"#),
            SourceMode::Snapshot,
            now,
        );
        let c = inv
            .credentials
            .iter()
            .find(|c| c.kind == CredentialKind::GcpIamBinding)
            .unwrap();
        assert_eq!(c.status, Status::Inactive);
        assert!(inv.findings.is_empty(), "{:?}", inv.findings);
    }

    #[test]
    fn role_levels() {
        assert_eq!(role_level("roles/owner"), RoleLevel::Owner);
        assert_eq!(
            role_level("roles/iam.serviceAccountTokenCreator"),
            RoleLevel::Impersonation
        );
        assert_eq!(
            role_level("roles/resourcemanager.projectIamAdmin"),
            RoleLevel::IamAdmin
        );
        assert_eq!(role_level("roles/viewer"), RoleLevel::Other);
    }
}
