//! Reads IAM Identity Center live through the official `aws-sdk-ssoadmin` and
//! `aws-sdk-identitystore` crates into `sso` source types.
//!
//! Invariants:
//! - Only list, describe and get calls: nothing here changes Identity Center, and none
//!   of them returns a credential.
//! - A failed call is `Unknown` with the operation and why (access denied is a coverage
//!   gap, never the end of the audit); an account with no instance is `Known(None)`.
//! - Every list is paged and bounded (`MAX_PAGES`), so a hostile or broken endpoint that
//!   never stops answering with a next token cannot keep the audit going forever.

use std::collections::BTreeMap;

use aws_config::SdkConfig;

use super::live::{classify, gap_reason};
use super::sso::*;
use crate::providers::Availability;

/// Most pages read of any one list.
const MAX_PAGES: usize = 1_000;

fn unknown<T, E>(
    op: &str,
    e: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Availability<T>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    Availability::unknown(op, gap_reason(classify(e)))
}

fn too_many<T>(op: &str) -> Availability<T> {
    Availability::unknown(
        op,
        format!("more than {MAX_PAGES} pages: not read to the end"),
    )
}

type SdkError<E> = aws_smithy_runtime_api::client::result::SdkError<
    E,
    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
>;

/// Every page of one list operation `op`: `page(token)` sends one request and gives that
/// page's items and its next token. Stops at the first page without a next token
/// (`Known`), at a failed request (`Unknown`, why), or after `MAX_PAGES` (`Unknown`).
async fn all_pages<T, E, F, Fut>(op: &str, mut page: F) -> Availability<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), SdkError<E>>>,
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (items, next) = match page(token.take()).await {
            Ok(p) => p,
            Err(e) => return unknown(op, &e),
        };
        out.extend(items);
        match next {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Availability::Known(out),
        }
    }
    too_many(op)
}

/// A page's next token as `all_pages` takes it.
fn next(token: Option<&str>) -> Option<String> {
    token.map(str::to_string)
}

/// Reads the account's Identity Center instance and everything it holds.
pub async fn collect(config: &SdkConfig) -> IdentityCenterSources {
    let admin = aws_sdk_ssoadmin::Client::new(config);
    let ids = aws_sdk_identitystore::Client::new(config);
    let instance = match instances(&admin).await {
        Availability::Known(list) => match list.into_iter().next() {
            Some(i) => i,
            None => return Availability::Known(None),
        },
        Availability::Unknown { source, reason } => {
            return Availability::Unknown { source, reason }
        }
    };
    let store = instance.identity_store_id.clone();
    let users = users(&ids, &store).await;
    let groups = groups(&ids, &store).await;
    let mut memberships = BTreeMap::new();
    if let Availability::Known(gs) = &groups {
        for g in gs {
            memberships.insert(
                g.group_id.clone(),
                group_memberships(&ids, &store, &g.group_id).await,
            );
        }
    }
    let permission_sets = permission_sets(&admin, &instance.instance_arn).await;
    Availability::Known(Some(IdentityCenter {
        instance,
        users,
        groups,
        memberships,
        permission_sets,
    }))
}

async fn instances(c: &aws_sdk_ssoadmin::Client) -> Availability<Vec<Instance>> {
    all_pages("sso-admin:ListInstances", |token| async move {
        let page = c.list_instances().set_next_token(token).send().await?;
        let items = page.instances().iter().filter_map(|i| {
            Some(Instance {
                instance_arn: i.instance_arn()?.to_string(),
                identity_store_id: i.identity_store_id()?.to_string(),
                owner_account_id: i.owner_account_id().map(str::to_string),
            })
        });
        Ok((items.collect(), next(page.next_token())))
    })
    .await
}

async fn users(c: &aws_sdk_identitystore::Client, store: &str) -> Availability<Vec<User>> {
    all_pages("identitystore:ListUsers", |token| async move {
        let page = c
            .list_users()
            .identity_store_id(store)
            .set_next_token(token)
            .send()
            .await?;
        let items = page.users().iter().map(|u| User {
            user_id: u.user_id().to_string(),
            user_name: u.user_name().map(str::to_string),
            display_name: u.display_name().map(str::to_string),
            emails: u
                .emails()
                .iter()
                .map(|e| Email {
                    value: e.value().map(str::to_string),
                    primary: Some(e.primary()),
                })
                .collect(),
        });
        Ok((items.collect(), next(page.next_token())))
    })
    .await
}

async fn groups(c: &aws_sdk_identitystore::Client, store: &str) -> Availability<Vec<Group>> {
    all_pages("identitystore:ListGroups", |token| async move {
        let page = c
            .list_groups()
            .identity_store_id(store)
            .set_next_token(token)
            .send()
            .await?;
        let items = page.groups().iter().map(|g| Group {
            group_id: g.group_id().to_string(),
            display_name: g.display_name().map(str::to_string),
        });
        Ok((items.collect(), next(page.next_token())))
    })
    .await
}

async fn group_memberships(
    c: &aws_sdk_identitystore::Client,
    store: &str,
    group: &str,
) -> Availability<Vec<GroupMembership>> {
    all_pages("identitystore:ListGroupMemberships", |token| async move {
        let page = c
            .list_group_memberships()
            .identity_store_id(store)
            .group_id(group)
            .set_next_token(token)
            .send()
            .await?;
        let items = page.group_memberships().iter().map(|m| GroupMembership {
            group_id: m.group_id().unwrap_or(group).to_string(),
            member_id: Some(MemberId {
                user_id: match m.member_id() {
                    Some(aws_sdk_identitystore::types::MemberId::UserId(u)) => Some(u.clone()),
                    _ => None,
                },
            }),
        });
        Ok((items.collect(), next(page.next_token())))
    })
    .await
}

async fn permission_sets(
    c: &aws_sdk_ssoadmin::Client,
    instance: &str,
) -> Availability<Vec<PermissionSetSources>> {
    let arns = all_pages("sso-admin:ListPermissionSets", |token| async move {
        let page = c
            .list_permission_sets()
            .instance_arn(instance)
            .set_next_token(token)
            .send()
            .await?;
        Ok((page.permission_sets().to_vec(), next(page.next_token())))
    })
    .await;
    let arns = match arns {
        Availability::Known(arns) => arns,
        Availability::Unknown { source, reason } => {
            return Availability::Unknown { source, reason }
        }
    };
    let mut out = Vec::new();
    for arn in arns {
        out.push(permission_set(c, instance, &arn).await);
    }
    Availability::Known(out)
}

/// One permission set: its name, its three kinds of policy and its assignments.
async fn permission_set(
    c: &aws_sdk_ssoadmin::Client,
    instance: &str,
    arn: &str,
) -> PermissionSetSources {
    let (name, describe_failed) = match c
        .describe_permission_set()
        .instance_arn(instance)
        .permission_set_arn(arn)
        .send()
        .await
    {
        Ok(d) => (
            d.permission_set()
                .and_then(|p| p.name())
                .map(str::to_string),
            None,
        ),
        // The name is for people; the set's ARN still names it, and the failure is a gap.
        Err(e) => (None, Some(gap_reason(classify(&e)))),
    };
    PermissionSetSources {
        set: PermissionSet {
            permission_set_arn: arn.to_string(),
            name,
        },
        describe_failed,
        managed: managed_policies(c, instance, arn).await,
        customer_managed: customer_policies(c, instance, arn).await,
        inline: inline_policy(c, instance, arn).await,
        assignments: assignments(c, instance, arn).await,
    }
}

async fn managed_policies(
    c: &aws_sdk_ssoadmin::Client,
    instance: &str,
    arn: &str,
) -> Availability<Vec<ManagedPolicyRef>> {
    let op = "sso-admin:ListManagedPoliciesInPermissionSet";
    all_pages(op, |token| async move {
        let page = c
            .list_managed_policies_in_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .set_next_token(token)
            .send()
            .await?;
        let items = page.attached_managed_policies().iter().filter_map(|p| {
            Some(ManagedPolicyRef {
                name: p.name().map(str::to_string),
                arn: p.arn()?.to_string(),
            })
        });
        Ok((items.collect(), next(page.next_token())))
    })
    .await
}

async fn customer_policies(
    c: &aws_sdk_ssoadmin::Client,
    instance: &str,
    arn: &str,
) -> Availability<Vec<CustomerPolicyRef>> {
    let op = "sso-admin:ListCustomerManagedPolicyReferencesInPermissionSet";
    all_pages(op, |token| async move {
        let page = c
            .list_customer_managed_policy_references_in_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .set_next_token(token)
            .send()
            .await?;
        let items = page
            .customer_managed_policy_references()
            .iter()
            .map(|p| CustomerPolicyRef {
                name: p.name().to_string(),
                path: p.path().map(str::to_string),
            });
        Ok((items.collect(), next(page.next_token())))
    })
    .await
}

async fn inline_policy(
    c: &aws_sdk_ssoadmin::Client,
    instance: &str,
    arn: &str,
) -> Availability<Option<serde_json::Value>> {
    const OP: &str = "sso-admin:GetInlinePolicyForPermissionSet";
    match c
        .get_inline_policy_for_permission_set()
        .instance_arn(instance)
        .permission_set_arn(arn)
        .send()
        .await
    {
        Ok(out) => {
            let resp = InlinePolicyResponse {
                inline_policy: out.inline_policy().map(str::to_string),
            };
            match resp.document() {
                Ok(doc) => Availability::Known(doc),
                Err(why) => Availability::unknown(OP, why),
            }
        }
        Err(e) => unknown(OP, &e),
    }
}

/// The accounts the set is provisioned to, then each one's assignments of it.
async fn assignments(
    c: &aws_sdk_ssoadmin::Client,
    instance: &str,
    arn: &str,
) -> AssignmentsByAccount {
    let op = "sso-admin:ListAccountsForProvisionedPermissionSet";
    let accounts = all_pages(op, |token| async move {
        let page = c
            .list_accounts_for_provisioned_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .set_next_token(token)
            .send()
            .await?;
        Ok((page.account_ids().to_vec(), next(page.next_token())))
    })
    .await;
    let accounts = match accounts {
        Availability::Known(accounts) => accounts,
        Availability::Unknown { source, reason } => {
            return Availability::Unknown { source, reason }
        }
    };
    let mut out = BTreeMap::new();
    for account in accounts {
        let list = account_assignments(c, instance, &account, arn).await;
        out.insert(account, list);
    }
    Availability::Known(out)
}

/// `ListAccountAssignments` of one set in one account (also what `apply` and `verify`
/// read to find an assignment live).
pub async fn account_assignments(
    c: &aws_sdk_ssoadmin::Client,
    instance: &str,
    account: &str,
    arn: &str,
) -> Availability<Vec<Assignment>> {
    all_pages("sso-admin:ListAccountAssignments", |token| async move {
        let page = c
            .list_account_assignments()
            .instance_arn(instance)
            .account_id(account)
            .permission_set_arn(arn)
            .set_next_token(token)
            .send()
            .await?;
        let items = page.account_assignments().iter().filter_map(|a| {
            Some(Assignment {
                account_id: a.account_id().unwrap_or(account).to_string(),
                permission_set_arn: a.permission_set_arn().unwrap_or(arn).to_string(),
                principal_type: a.principal_type()?.as_str().to_string(),
                principal_id: a.principal_id()?.to_string(),
            })
        });
        Ok((items.collect(), next(page.next_token())))
    })
    .await
}
