//! IAM Identity Center (sso-admin and identitystore) of one account: the raw sources in
//! the aws CLI's JSON shape, and the assembler that turns them into principals (users,
//! groups) and credential-like grants (account assignments).
//!
//! Invariants:
//! - An account assignment is one credential (`sso-account-assignment`) of the user or
//!   group it names, carrying as data everything `DeleteAccountAssignment` needs
//!   (`SsoAssignment`); nothing is parsed back out of its id.
//! - Whether a permission set is admin-equivalent is decided by the same rules as an
//!   IAM principal's (`policy_doc::grants_admin`, `ADMIN_MANAGED_POLICIES`); a policy
//!   that cannot be read (a customer managed policy of an account not audited, a
//!   document that does not parse) makes it unknown, never "no".
//! - Assignments to other accounts are kept as data (their account id) and not audited.
//! - No instance is a finding of severity info, not an error; a call that failed is a
//!   coverage gap naming it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::policy_doc::{self, Statement, ADMIN_MANAGED_POLICIES};
use crate::model::*;
use crate::providers::Availability;

/// What the audit read of Identity Center: `Known(None)` when the account has no instance.
pub type IdentityCenterSources = Availability<Option<IdentityCenter>>;

/// One Identity Center instance (an account has at most one) and what it holds.
#[derive(Debug, Clone)]
pub struct IdentityCenter {
    pub instance: Instance,
    pub users: Availability<Vec<User>>,
    pub groups: Availability<Vec<Group>>,
    /// Each group's memberships, by group id; a group missing here was not read.
    pub memberships: BTreeMap<String, Availability<Vec<GroupMembership>>>,
    pub permission_sets: Availability<Vec<PermissionSetSources>>,
}

/// `aws sso-admin list-instances`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceList {
    #[serde(default)]
    pub instances: Vec<Instance>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Instance {
    pub instance_arn: String,
    pub identity_store_id: String,
    #[serde(default)]
    pub owner_account_id: Option<String>,
}

/// `aws identitystore list-users`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserList {
    #[serde(default)]
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    pub user_id: String,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<Email>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Email {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub primary: Option<bool>,
}

impl User {
    /// The primary email, else the first one listed.
    pub fn email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.primary == Some(true))
            .or_else(|| self.emails.first())
            .and_then(|e| e.value.as_deref())
    }
}

/// `aws identitystore list-groups`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupList {
    #[serde(default)]
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Group {
    pub group_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `aws identitystore list-group-memberships --group-id G`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMembershipList {
    #[serde(default)]
    pub group_memberships: Vec<GroupMembership>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMembership {
    pub group_id: String,
    #[serde(default)]
    pub member_id: Option<MemberId>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemberId {
    #[serde(default)]
    pub user_id: Option<String>,
}

/// `aws sso-admin list-permission-sets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionSetArnList {
    #[serde(default)]
    pub permission_sets: Vec<String>,
}

/// A permission set and everything read about it.
#[derive(Debug, Clone)]
pub struct PermissionSetSources {
    pub set: PermissionSet,
    /// Why `DescribePermissionSet` failed, if it did (the set is then named by its ARN).
    pub describe_failed: Option<String>,
    /// `ListManagedPoliciesInPermissionSet` (AWS managed policies).
    pub managed: Availability<Vec<ManagedPolicyRef>>,
    /// `ListCustomerManagedPolicyReferencesInPermissionSet`: policies that must exist,
    /// by name and path, in each account the set is provisioned to.
    pub customer_managed: Availability<Vec<CustomerPolicyRef>>,
    /// `GetInlinePolicyForPermissionSet`: `None` when it has none.
    pub inline: Availability<Option<serde_json::Value>>,
    /// Its assignments, by account (from `ListAccountsForProvisionedPermissionSet`,
    /// then `ListAccountAssignments` per account).
    pub assignments: AssignmentsByAccount,
}

/// A permission set's assignments, by account (`Unknown`: its accounts were not listed).
pub type AssignmentsByAccount = Availability<BTreeMap<String, Availability<Vec<Assignment>>>>;

/// `aws sso-admin describe-permission-set`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionSetDescription {
    pub permission_set: PermissionSet,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionSet {
    pub permission_set_arn: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// `aws sso-admin list-managed-policies-in-permission-set`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicyList {
    #[serde(default)]
    pub attached_managed_policies: Vec<ManagedPolicyRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicyRef {
    #[serde(default)]
    pub name: Option<String>,
    pub arn: String,
}

/// `aws sso-admin list-customer-managed-policy-references-in-permission-set`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerPolicyList {
    #[serde(default)]
    pub customer_managed_policy_references: Vec<CustomerPolicyRef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerPolicyRef {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
}

/// `aws sso-admin get-inline-policy-for-permission-set`: the document as a JSON string,
/// empty when the set has none.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicyResponse {
    #[serde(default)]
    pub inline_policy: Option<String>,
}

impl InlinePolicyResponse {
    /// The document, `Ok(None)` when there is none, `Err` when it is not JSON.
    pub fn document(&self) -> Result<Option<serde_json::Value>, String> {
        match self.inline_policy.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) if text.len() > policy_doc::MAX_DOCUMENT_BYTES => {
                Err("the inline policy is larger than any IAM accepts".into())
            }
            Some(text) => serde_json::from_str(text).map(Some).map_err(|e| {
                format!(
                    "the inline policy is not JSON (line {}, column {})",
                    e.line(),
                    e.column()
                )
            }),
        }
    }
}

/// `aws sso-admin list-accounts-for-provisioned-permission-set`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountIdList {
    #[serde(default)]
    pub account_ids: Vec<String>,
}

/// `aws sso-admin list-account-assignments`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssignmentList {
    #[serde(default)]
    pub account_assignments: Vec<Assignment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Assignment {
    pub account_id: String,
    pub permission_set_arn: String,
    /// `USER` or `GROUP`.
    pub principal_type: String,
    pub principal_id: String,
}

const AWS: Provider = Provider::Aws;

/// The id of an Identity Center user or group principal: made here once, and by
/// `verify` from what it reads live; never taken apart.
pub fn principal_id(store: &str, principal_type: &str, id: &str) -> String {
    let kind = if principal_type.eq_ignore_ascii_case("GROUP") {
        "group"
    } else {
        "user"
    };
    format!("identitystore:{store}/{kind}/{id}")
}

/// The id of an account assignment's credential.
pub fn assignment_id(store: &str, a: &Assignment) -> String {
    format!(
        "{}/sso-assignment/{}/{}",
        principal_id(store, &a.principal_type, &a.principal_id),
        a.account_id,
        a.permission_set_arn
    )
}

/// What a permission set grants, decided once per (set, account).
struct SetRights {
    admin: Option<bool>,
    via: Vec<String>,
}

/// Adds Identity Center's principals, assignments, findings and gaps of account
/// `acct` to `inv`. `managed` gives a customer managed policy's parsed statements by
/// ARN (`Some(None)`: listed but unreadable), as the IAM sources of `acct` have them.
pub fn assemble(
    src: &IdentityCenterSources,
    acct: &str,
    managed: &dyn Fn(&str) -> Option<Option<Vec<Statement>>>,
    inv: &mut Inventory,
) {
    let mut a = SsoAssembler { acct, managed, inv };
    match src {
        Availability::Unknown { source, reason } => a.gap(source, None, reason.clone()),
        Availability::Known(None) => a.inv.findings.push(Finding::new(
            FindingCode::IdentityCenterAbsent,
            acct,
            format!("account {acct} has no IAM Identity Center instance"),
        )),
        Availability::Known(Some(ic)) => a.instance(ic),
    }
}

struct SsoAssembler<'a> {
    acct: &'a str,
    managed: &'a dyn Fn(&str) -> Option<Option<Vec<Statement>>>,
    inv: &'a mut Inventory,
}

impl SsoAssembler<'_> {
    fn gap(&mut self, source: &str, subject: Option<&str>, reason: String) {
        self.inv.gaps.push(Gap {
            provider: AWS,
            scope: self.acct.to_string(),
            source: source.to_string(),
            subject: subject.map(str::to_string),
            reason,
        });
    }

    fn instance(&mut self, ic: &IdentityCenter) {
        let store = ic.instance.identity_store_id.as_str();
        let groups_of = self.memberships(ic);
        let creds = self.assignments(ic);
        let mut principals: BTreeMap<String, Principal> = BTreeMap::new();
        if let Some(users) = self.known(&ic.users, None) {
            for u in users {
                let id = principal_id(store, "USER", &u.user_id);
                let name = u.user_name.clone().unwrap_or_else(|| u.user_id.clone());
                let mut p = sso_principal(&id, self.acct, PrincipalKind::SsoUser, name);
                if let Some(email) = u.email() {
                    p.tags.insert("email".into(), email.to_string());
                }
                p.groups = groups_of.get(&u.user_id).cloned().unwrap_or_default();
                principals.insert(id, p);
            }
        }
        if let Some(groups) = self.known(&ic.groups, None) {
            for g in groups {
                let id = principal_id(store, "GROUP", &g.group_id);
                let name = g.display_name.clone().unwrap_or_else(|| g.group_id.clone());
                principals.insert(
                    id.clone(),
                    sso_principal(&id, self.acct, PrincipalKind::SsoGroup, name),
                );
            }
        }
        // An assignment to a user or group not listed (deleted since, or the lists
        // unread) keeps its principal, placed by nobody: a person looks at it.
        for (c, _) in &creds {
            let CredentialDetail::SsoAssignment(a) = &c.detail else {
                continue;
            };
            principals.entry(c.principal.clone()).or_insert_with(|| {
                let kind = if a.principal_type == "GROUP" {
                    PrincipalKind::SsoGroup
                } else {
                    PrincipalKind::SsoUser
                };
                sso_principal(&c.principal, self.acct, kind, a.principal_id.clone())
            });
        }
        self.admin_rights(&mut principals, &creds);
        self.findings(&principals, &creds);
        self.inv.principals.extend(principals.into_values());
        self.inv
            .credentials
            .extend(creds.into_iter().map(|(c, _)| c));
    }

    fn known<'t, T>(&mut self, a: &'t Availability<T>, subject: Option<&str>) -> Option<&'t T> {
        match a {
            Availability::Known(t) => Some(t),
            Availability::Unknown { source, reason } => {
                self.gap(source, subject, reason.clone());
                None
            }
        }
    }

    /// User id -> the principal ids of its groups.
    fn memberships(&mut self, ic: &IdentityCenter) -> BTreeMap<String, Vec<String>> {
        let store = &ic.instance.identity_store_id;
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (group, m) in &ic.memberships {
            let gid = principal_id(store, "GROUP", group);
            let Some(list) = self.known(m, Some(&gid)) else {
                continue;
            };
            for member in list {
                if let Some(user) = member.member_id.as_ref().and_then(|m| m.user_id.clone()) {
                    out.entry(user).or_default().push(gid.clone());
                }
            }
        }
        for v in out.values_mut() {
            v.sort();
            v.dedup();
        }
        out
    }

    /// Every assignment as a credential, with whether its set is admin-equivalent in
    /// its account.
    fn assignments(&mut self, ic: &IdentityCenter) -> Vec<(Credential, SetRights)> {
        let store = ic.instance.identity_store_id.clone();
        let mut out = Vec::new();
        let Some(sets) = self.known(&ic.permission_sets, None) else {
            return out;
        };
        for ps in sets {
            let subject = ps.set.permission_set_arn.clone();
            if let Some(why) = &ps.describe_failed {
                self.gap(
                    "sso-admin:DescribePermissionSet",
                    Some(&subject),
                    why.clone(),
                );
            }
            let Some(by_account) = self.known(&ps.assignments, Some(&subject)) else {
                continue;
            };
            for (account, list) in by_account {
                let Some(list) = self.known(list, Some(&subject)) else {
                    continue;
                };
                for a in list {
                    let rights = self.set_rights(ps, account);
                    out.push((
                        assignment_credential(&store, &ic.instance, ps, a, self.acct, &rights),
                        rights,
                    ));
                }
            }
        }
        out
    }

    /// Whether a permission set is admin-equivalent in `account`: an admin AWS managed
    /// policy, an inline or customer managed policy allowing `*` on `*`.
    fn set_rights(&mut self, ps: &PermissionSetSources, account: &str) -> SetRights {
        let mut yes = Vec::new();
        let mut unknown = Vec::new();
        match &ps.managed {
            Availability::Known(list) => yes.extend(
                list.iter()
                    .filter(|p| ADMIN_MANAGED_POLICIES.contains(&p.arn.as_str()))
                    .map(|p| p.name.clone().unwrap_or_else(|| p.arn.clone())),
            ),
            Availability::Unknown { source, .. } => unknown.push(format!("{source} failed")),
        }
        match &ps.inline {
            Availability::Known(Some(doc)) => match policy_doc::parse(doc) {
                Ok(st) if st.iter().any(policy_doc::grants_admin) => {
                    yes.push("its inline policy allows * on *".into())
                }
                Ok(_) => {}
                Err(e) => unknown.push(format!("its inline policy is unreadable: {e}")),
            },
            Availability::Known(None) => {}
            Availability::Unknown { source, .. } => unknown.push(format!("{source} failed")),
        }
        match &ps.customer_managed {
            Availability::Known(list) => {
                for r in list {
                    self.customer_policy(r, account, &mut yes, &mut unknown);
                }
            }
            Availability::Unknown { source, .. } => unknown.push(format!("{source} failed")),
        }
        SetRights {
            admin: if !yes.is_empty() {
                Some(true)
            } else if !unknown.is_empty() {
                None
            } else {
                Some(false)
            },
            via: if yes.is_empty() { unknown } else { yes },
        }
    }

    /// A customer managed policy reference: read from the audited account's IAM
    /// sources when the assignment is to it, unknown otherwise.
    fn customer_policy(
        &self,
        r: &CustomerPolicyRef,
        account: &str,
        yes: &mut Vec<String>,
        unknown: &mut Vec<String>,
    ) {
        if account != self.acct {
            unknown.push(format!(
                "customer managed policy {} lives in account {account}, which this audit did not read",
                r.name
            ));
            return;
        }
        let path = r.path.as_deref().unwrap_or("/");
        let arn = format!("arn:aws:iam::{account}:policy{path}{}", r.name);
        match (self.managed)(&arn) {
            Some(Some(st)) if st.iter().any(policy_doc::grants_admin) => {
                yes.push(format!("customer managed policy {} allows * on *", r.name))
            }
            Some(Some(_)) => {}
            Some(None) | None => unknown.push(format!(
                "customer managed policy {} is not in the account's authorization details",
                r.name
            )),
        }
    }

    /// A user's or group's admin rights in the audited account: through its own
    /// assignments, and a user's through its groups'.
    fn admin_rights(
        &self,
        principals: &mut BTreeMap<String, Principal>,
        creds: &[(Credential, SetRights)],
    ) {
        let mut own: BTreeMap<&str, Vec<&SetRights>> = BTreeMap::new();
        for (c, r) in creds {
            if let CredentialDetail::SsoAssignment(a) = &c.detail {
                if a.account_id == self.acct {
                    own.entry(c.principal.as_str()).or_default().push(r);
                }
            }
        }
        for p in principals.values_mut() {
            let mut yes = Vec::new();
            let mut unknown = Vec::new();
            let through = std::iter::once((p.id.as_str(), None))
                .chain(p.groups.iter().map(|g| (g.as_str(), Some(g.as_str()))));
            for (holder, group) in through {
                for r in own.get(holder).into_iter().flatten() {
                    let how = group
                        .map(|g| format!(" (through group {g})"))
                        .unwrap_or_default();
                    let into = match r.admin {
                        Some(true) => &mut yes,
                        None => &mut unknown,
                        Some(false) => continue,
                    };
                    into.extend(r.via.iter().map(|v| format!("permission set: {v}{how}")));
                }
            }
            p.admin = if !yes.is_empty() {
                AdminRights {
                    equivalent: Some(true),
                    via: yes,
                }
            } else if !unknown.is_empty() {
                AdminRights {
                    equivalent: None,
                    via: unknown,
                }
            } else {
                AdminRights {
                    equivalent: Some(false),
                    via: Vec::new(),
                }
            };
        }
    }

    fn findings(
        &mut self,
        principals: &BTreeMap<String, Principal>,
        creds: &[(Credential, SetRights)],
    ) {
        let mut seen = BTreeSet::new();
        for (c, r) in creds {
            let CredentialDetail::SsoAssignment(a) = &c.detail else {
                continue;
            };
            if r.admin == Some(true) && seen.insert(c.id.clone()) {
                let who = principals
                    .get(&c.principal)
                    .map_or(c.principal.as_str(), |p| p.name.as_str());
                self.inv.findings.push(Finding::new(
                    FindingCode::SsoAdminAssignment,
                    &c.principal,
                    format!(
                        "{who} may sign in to account {} with the admin-equivalent permission set {}",
                        a.account_id, a.permission_set_name
                    ),
                ));
            }
        }
    }
}

fn sso_principal(id: &str, acct: &str, kind: PrincipalKind, name: String) -> Principal {
    Principal {
        id: id.to_string(),
        provider: AWS,
        scope: acct.to_string(),
        kind,
        name,
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

fn assignment_credential(
    store: &str,
    instance: &Instance,
    ps: &PermissionSetSources,
    a: &Assignment,
    acct: &str,
    rights: &SetRights,
) -> Credential {
    let set_name = ps
        .set
        .name
        .clone()
        .unwrap_or_else(|| ps.set.permission_set_arn.clone());
    Credential {
        id: assignment_id(store, a),
        principal: principal_id(store, &a.principal_type, &a.principal_id),
        provider: AWS,
        scope: acct.to_string(),
        kind: CredentialKind::SsoAccountAssignment,
        identifier: Some(format!("{set_name} on {}", a.account_id)),
        status: Status::Active,
        created: None,
        last_used: LastUsed::unknown(
            "Identity Center records no last use of an assignment (CloudTrail's sign-in events do)",
        ),
        detail: CredentialDetail::SsoAssignment(SsoAssignment {
            instance_arn: instance.instance_arn.clone(),
            account_id: a.account_id.clone(),
            permission_set_arn: a.permission_set_arn.clone(),
            permission_set_name: set_name,
            principal_type: a.principal_type.to_ascii_uppercase(),
            principal_id: a.principal_id.clone(),
            admin: rights.admin,
            admin_via: rights.via.clone(),
        }),
    }
}
