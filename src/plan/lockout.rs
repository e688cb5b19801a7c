//! Lock-out: a plan that would leave an account or project without a working customer
//! admin is refused. The root user does not count; a principal counts only if, after
//! the plan's revocations, it keeps a way in (an active password or key, a trust not
//! revoked, an unconditional owner or IAM-admin binding on its project, an IAM Identity
//! Center assignment of an admin-equivalent permission set to its account).

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
                && b.resource == format!("projects/{}", p.scope)
                && b.condition.is_none())
                && kept(&c)
        }),
        _ => false,
    }
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
        let key = format!("{} {}", s.provider, s.scope);
        let survivors: Vec<String> = inv
            .principals
            .iter()
            .filter(|p| {
                p.provider == s.provider && p.scope == s.scope && p.kind != PrincipalKind::Root
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
            locked.push(key.clone());
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
