//! Reads IAM Identity Center from a snapshot folder: the aws CLI's JSON of sso-admin and
//! identitystore, under `sso/` of an account folder.
//!
//! ```text
//! sso/instances.json                          aws sso-admin list-instances
//! sso/users.json                              aws identitystore list-users --identity-store-id ID
//! sso/groups.json                             aws identitystore list-groups --identity-store-id ID
//! sso/group-memberships/<group-id>.json       aws identitystore list-group-memberships --identity-store-id ID --group-id G
//! sso/permission-sets.json                    aws sso-admin list-permission-sets --instance-arn ARN
//! sso/permission-sets/<any>/permission-set.json          aws sso-admin describe-permission-set ...
//!                          /managed-policies.json        aws sso-admin list-managed-policies-in-permission-set ...
//!                          /customer-managed-policies.json  aws sso-admin list-customer-managed-policy-references-in-permission-set ...
//!                          /inline-policy.json           aws sso-admin get-inline-policy-for-permission-set ...
//!                          /accounts.json                aws sso-admin list-accounts-for-provisioned-permission-set ...
//!                          /assignments/<account-id>.json  aws sso-admin list-account-assignments --account-id A ...
//! ```
//!
//! Invariants: every read stays under the account folder (`snapshot_fs`); a group's or
//! an account's file is found by comparing its name in one listing, never by joining an
//! id to a path. A missing file is a coverage gap naming the command; a malformed one
//! is an input error naming the file.

use std::collections::BTreeMap;
use std::path::Path;

use super::snapshot::{missing, optional_json, read_json};
use super::sso::*;
use crate::error::Error;
use crate::providers::snapshot_fs::SnapshotRoot;
use crate::providers::Availability;

const LIST_INSTANCES: &str = "aws sso-admin list-instances";

/// Reads `dir/sso/`. No `instances.json`: a gap (the snapshot did not look).
pub fn load(root: &SnapshotRoot, dir: &Path) -> Result<IdentityCenterSources, Error> {
    let sd = dir.join("sso");
    let Some(list) =
        optional_json::<InstanceList>(root, &sd.join("instances.json"), LIST_INSTANCES)?
    else {
        return Ok(missing(
            "sso-admin:ListInstances",
            "sso/instances.json",
            LIST_INSTANCES,
        ));
    };
    let Some(instance) = list.instances.into_iter().next() else {
        return Ok(Availability::Known(None));
    };
    let store = instance.identity_store_id.clone();
    let users = optional_json::<UserList>(
        root,
        &sd.join("users.json"),
        &format!("aws identitystore list-users --identity-store-id {store}"),
    )?
    .map(|l| Availability::Known(l.users))
    .unwrap_or_else(|| {
        missing(
            "identitystore:ListUsers",
            "sso/users.json",
            "aws identitystore list-users",
        )
    });
    let groups = optional_json::<GroupList>(
        root,
        &sd.join("groups.json"),
        &format!("aws identitystore list-groups --identity-store-id {store}"),
    )?
    .map(|l| Availability::Known(l.groups))
    .unwrap_or_else(|| {
        missing(
            "identitystore:ListGroups",
            "sso/groups.json",
            "aws identitystore list-groups",
        )
    });
    let memberships = memberships(root, &sd, &store, &groups)?;
    let permission_sets = permission_sets(root, &sd)?;
    Ok(Availability::Known(Some(IdentityCenter {
        instance,
        users,
        groups,
        memberships,
        permission_sets,
    })))
}

fn memberships(
    root: &SnapshotRoot,
    sd: &Path,
    store: &str,
    groups: &Availability<Vec<Group>>,
) -> Result<BTreeMap<String, Availability<Vec<GroupMembership>>>, Error> {
    let mut out = BTreeMap::new();
    let Availability::Known(groups) = groups else {
        return Ok(out);
    };
    let listing = root.listing(&sd.join("group-memberships"))?;
    for g in groups {
        let cmd = format!(
            "aws identitystore list-group-memberships --identity-store-id {store} --group-id {}",
            g.group_id
        );
        let file = format!("{}.json", g.group_id);
        let read = match listing.get(&file) {
            Some(path) => Availability::Known(
                read_json::<GroupMembershipList>(root, path, &cmd)?.group_memberships,
            ),
            None => missing(
                "identitystore:ListGroupMemberships",
                &format!("sso/group-memberships/{file}"),
                &cmd,
            ),
        };
        out.insert(g.group_id.clone(), read);
    }
    Ok(out)
}

fn permission_sets(
    root: &SnapshotRoot,
    sd: &Path,
) -> Result<Availability<Vec<PermissionSetSources>>, Error> {
    const LIST: &str = "aws sso-admin list-permission-sets --instance-arn ARN";
    let Some(listed) =
        optional_json::<PermissionSetArnList>(root, &sd.join("permission-sets.json"), LIST)?
    else {
        return Ok(missing(
            "sso-admin:ListPermissionSets",
            "sso/permission-sets.json",
            LIST,
        ));
    };
    let mut read = BTreeMap::new();
    for (_, folder) in root.listing(&sd.join("permission-sets"))?.iter() {
        if root.dir(folder)?.is_some() {
            let ps = permission_set(root, folder)?;
            read.insert(ps.set.permission_set_arn.clone(), ps);
        }
    }
    let mut out = Vec::new();
    for arn in listed.permission_sets {
        match read.remove(&arn) {
            Some(ps) => out.push(ps),
            // Listed but not exported: its assignments are unknown, so is the whole list.
            None => {
                return Ok(Availability::unknown(
                    "sso-admin:DescribePermissionSet",
                    format!(
                        "permission set {arn} is listed in sso/permission-sets.json but has no folder under \
                         sso/permission-sets/ (export it with scripts/export-aws-snapshot.sh)"
                    ),
                ))
            }
        }
    }
    Ok(Availability::Known(out))
}

fn permission_set(root: &SnapshotRoot, folder: &Path) -> Result<PermissionSetSources, Error> {
    let set = read_json::<PermissionSetDescription>(
        root,
        &folder.join("permission-set.json"),
        "aws sso-admin describe-permission-set",
    )?
    .permission_set;
    let managed = optional_json::<ManagedPolicyList>(
        root,
        &folder.join("managed-policies.json"),
        "aws sso-admin list-managed-policies-in-permission-set",
    )?
    .map(|l| Availability::Known(l.attached_managed_policies))
    .unwrap_or_else(|| {
        missing(
            "sso-admin:ListManagedPoliciesInPermissionSet",
            "managed-policies.json",
            "aws sso-admin list-managed-policies-in-permission-set",
        )
    });
    let customer_managed = optional_json::<CustomerPolicyList>(
        root,
        &folder.join("customer-managed-policies.json"),
        "aws sso-admin list-customer-managed-policy-references-in-permission-set",
    )?
    .map(|l| Availability::Known(l.customer_managed_policy_references))
    .unwrap_or_else(|| {
        missing(
            "sso-admin:ListCustomerManagedPolicyReferencesInPermissionSet",
            "customer-managed-policies.json",
            "aws sso-admin list-customer-managed-policy-references-in-permission-set",
        )
    });
    const INLINE: &str = "aws sso-admin get-inline-policy-for-permission-set";
    let inline_path = folder.join("inline-policy.json");
    let inline = match optional_json::<InlinePolicyResponse>(root, &inline_path, INLINE)? {
        Some(r) => Availability::Known(r.document().map_err(|why| {
            Error::input(
                &inline_path,
                why,
                format!("export it again with `{INLINE}`"),
            )
        })?),
        None => missing(
            "sso-admin:GetInlinePolicyForPermissionSet",
            "inline-policy.json",
            INLINE,
        ),
    };
    let assignments = assignments(root, folder)?;
    Ok(PermissionSetSources {
        set,
        describe_failed: None,
        managed,
        customer_managed,
        inline,
        assignments,
    })
}

fn assignments(root: &SnapshotRoot, folder: &Path) -> Result<AssignmentsByAccount, Error> {
    const ACCOUNTS: &str = "aws sso-admin list-accounts-for-provisioned-permission-set";
    let Some(accounts) =
        optional_json::<AccountIdList>(root, &folder.join("accounts.json"), ACCOUNTS)?
    else {
        return Ok(missing(
            "sso-admin:ListAccountsForProvisionedPermissionSet",
            "accounts.json",
            ACCOUNTS,
        ));
    };
    let listing = root.listing(&folder.join("assignments"))?;
    let mut out = BTreeMap::new();
    for account in accounts.account_ids {
        let cmd = format!("aws sso-admin list-account-assignments --account-id {account}");
        let file = format!("{account}.json");
        let read = match listing.get(&file) {
            Some(path) => Availability::Known(
                read_json::<AssignmentList>(root, path, &cmd)?.account_assignments,
            ),
            None => missing(
                "sso-admin:ListAccountAssignments",
                &format!("assignments/{file}"),
                &cmd,
            ),
        };
        out.insert(account, read);
    }
    Ok(Availability::Known(out))
}
