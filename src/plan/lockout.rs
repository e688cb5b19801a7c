//! Lock-out: a plan that would leave an account or project without a working customer
//! admin is refused. The root user does not count; a principal counts only if, after
//! the plan's revocations, it keeps a way in (an active password or key, a trust not
//! revoked, an unconditional owner or IAM-admin binding on its project, an IAM Identity
//! Center assignment of an admin-equivalent permission set to its account).
//! An AWS account the config lists as another party's (`aws_accounts` of the agency or a
//! third party, as an organization often holds one) is not the customer's to be locked
//! out of: it is not checked, and not listed in `customer_admins_after`.
//!
//! GCP inheritance: a customer admin bound on a folder or organization above a project
//! (its binding's `reaches` names the project) counts for that project as long as that
//! binding is kept. A folder or organization is not itself a scope that needs an
//! admin of its own: the projects below it are what the customer must keep.

use std::collections::{BTreeMap, HashMap};

use super::facts::Facts;
use crate::config::parties::Owner;
use crate::error::Error;
use crate::model::*;
use crate::policy::Action;

/// Would this principal still give the customer admin access after the steps?
fn survives(f: &Facts, p: &Principal, actions: &HashMap<String, Action>) -> bool {
    let creds = f
        .creds_by_principal
        .get(p.id.as_str())
        .cloned()
        .unwrap_or_default();
    let kept = |c: &&&Credential| {
        actions.get(&c.id) != Some(&Action::Revoke) && c.status == Status::Active
    };
    match p.kind {
        PrincipalKind::IamUser => creds
            .iter()
            .filter(|c| {
                matches!(
                    c.kind,
                    CredentialKind::ConsolePassword | CredentialKind::AccessKey
                )
            })
            .any(|c| kept(&c)),
        PrincipalKind::IamRole => {
            let trusts: Vec<&&Credential> = creds
                .iter()
                .filter(|c| c.kind == CredentialKind::RoleTrust)
                .collect();
            // A role with no outside trust is assumed from inside its account.
            trusts.is_empty() || trusts.iter().any(&kept)
        }
        // An Identity Center user or group: an admin assignment to its own account
        // that the plan keeps, its own or (a user's) one of its groups'.
        PrincipalKind::SsoUser | PrincipalKind::SsoGroup => std::iter::once(p.id.as_str())
            .chain(p.groups.iter().map(String::as_str))
            .flat_map(|holder| f.creds_by_principal.get(holder).into_iter().flatten())
            .any(|c| {
                matches!(&c.detail, CredentialDetail::SsoAssignment(a)
                    if a.admin == Some(true) && a.account_id == p.scope)
                    && actions.get(&c.id) != Some(&Action::Revoke)
                    && c.status == Status::Active
            }),
        _ if p.provider == Provider::Gcp => creds.iter().any(|c| {
            matches!(&c.detail, CredentialDetail::Binding(b)
                if matches!(b.level, RoleLevel::Owner | RoleLevel::IamAdmin)
                && b.resource == gcp_holder(&p.scope)
                && b.condition.is_none())
                && kept(&c)
        }),
        _ => false,
    }
}

/// Whether a GCP scope is a folder or organization (`folders/F`, `organizations/O`);
/// a project id never holds a `/`.
fn gcp_container(scope: &str) -> bool {
    scope.contains('/')
}

/// The resource whose policy makes a principal of `scope` an admin there.
fn gcp_holder(scope: &str) -> String {
    if gcp_container(scope) {
        scope.to_string()
    } else {
        format!("projects/{scope}")
    }
}

/// Whether a principal of a folder or organization holds an admin binding there that
/// reaches `project` by inheritance.
fn inherited_admin_of(f: &Facts, p: &Principal, project: &str) -> bool {
    p.provider == Provider::Gcp
        && gcp_container(&p.scope)
        && f.creds_by_principal
            .get(p.id.as_str())
            .is_some_and(|creds| {
                creds.iter().any(|c| {
                    matches!(&c.detail, CredentialDetail::Binding(b)
                        if matches!(b.level, RoleLevel::Owner | RoleLevel::IamAdmin)
                        && b.reaches.iter().any(|r| r == project))
                })
            })
}

/// The customer admins that remain in each account and project after the plan's
/// actions (by target id), or the refusal naming every scope left without one.
pub(super) fn customer_admins_after(
    f: &Facts,
    actions: &HashMap<String, Action>,
) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let inv = f.inv;
    let mut admins_after: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut locked = Vec::new();
    for s in &inv.sources {
        let owner = crate::config::parties::account_owner(f.cfg, &s.scope).owner;
        let other_partys_account =
            s.provider == Provider::Aws && matches!(owner, Owner::Agency | Owner::ThirdParty);
        if other_partys_account || (s.provider == Provider::Gcp && gcp_container(&s.scope)) {
            continue;
        }
        let key = format!("{} {}", s.provider, s.scope);
        // An organization's account is named with its id and its name (issue 16).
        let named = match inv
            .aws_accounts
            .iter()
            .find(|a| s.provider == Provider::Aws && a.id == s.scope)
        {
            Some(AwsAccount { name: Some(n), .. }) => format!("{key} ({n})"),
            _ => key.clone(),
        };
        let survivors: Vec<String> = inv
            .principals
            .iter()
            .filter(|p| {
                (p.provider == s.provider && p.scope == s.scope && p.kind != PrincipalKind::Root)
                    || (s.provider == Provider::Gcp && inherited_admin_of(f, p, &s.scope))
            })
            .filter(|p| {
                f.classes[&p.id].owner == Owner::Customer
                    && p.admin.equivalent == Some(true)
                    && p.disabled != Some(true)
            })
            .filter(|p| survives(f, p, actions))
            .map(|p| p.name.clone())
            .collect();
        if survivors.is_empty() {
            locked.push(named);
        }
        admins_after.insert(key, survivors);
    }
    if !locked.is_empty() {
        return Err(Error::Refused {
            what: format!(
                "the plan would leave {} without a working customer admin (the root user does not count)",
                locked.join(" and ")
            ),
            hint: "give a customer principal admin rights first (or place an existing admin with the customer in the config: \
                   tags, email_domains, name_patterns), then plan again"
                .into(),
        });
    }
    Ok(admins_after)
}
