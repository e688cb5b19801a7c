//! Many AWS accounts in one audit: the accounts of an AWS Organization (read from the
//! management account or a delegated administrator) entered by assuming a named role in
//! each, or several named profiles, one account each.
//!
//! Invariants:
//! - Each account is read by the single-account collector (`live::collect`) with its own
//!   request budget (`concurrency` requests in flight); at most `ACCOUNTS_AT_ONCE`
//!   accounts are read at a time.
//! - An organization account that cannot be entered (AssumeRole refused) or read is a
//!   coverage gap naming the account, the role and the reason; the other accounts are
//!   still audited. A profile the caller named that cannot be read fails the run, as a
//!   single-account audit does.
//! - The organization is read with list/describe calls only; SCPs are listed with their
//!   targets, never judged here. The OU tree walk is bounded (`MAX_OUS`, `MAX_DEPTH`).
//! - SDK types stay in this file and `live`; what leaves is `model` types.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_organizations::types::{PolicyType, TargetType};
use aws_types::sdk_config::SharedCredentialsProvider;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};

use super::live::{classify, collect, fatal, Failure, Progress};
use crate::error::Error;
use crate::model::*;

/// The role `--org` assumes in each member account unless `--assume-role` names another:
/// the one AWS Organizations creates in every account it creates.
/// (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html)
pub const DEFAULT_ROLE: &str = "OrganizationAccountAccessRole";
/// Accounts read at once; each has its own request budget.
pub const ACCOUNTS_AT_ONCE: usize = 4;
/// Most organizational units the tree walk visits (AWS's default quota is 1,000).
const MAX_OUS: usize = 2_000;
/// Deepest OU nesting followed: the root plus AWS's limit of five levels.
const MAX_DEPTH: usize = 6;
/// The session name the audit's assumed-role sessions carry (visible in CloudTrail).
const SESSION_NAME: &str = "handover-audit";

/// How `--org` chooses and enters accounts.
#[derive(Debug, Clone, Default)]
pub struct OrgSettings {
    /// The role to assume in each member account (`--assume-role`).
    pub assume_role: String,
    /// `--external-id`, passed to every AssumeRole.
    pub external_id: Option<String>,
    /// Only these account ids (`--accounts`); empty means every account.
    pub accounts: Vec<String>,
    /// Never these (`--exclude-accounts`).
    pub exclude: Vec<String>,
}

/// How the audit gets into one account.
pub enum Entry {
    /// Credentials it already has (a profile, the chain).
    Config(SdkConfig),
    /// Assume this role with the base credentials.
    AssumeRole {
        base: SdkConfig,
        role_arn: String,
        external_id: Option<String>,
    },
}

/// One account to audit: what is known of it, and how to enter it.
pub struct Target {
    pub account: AwsAccount,
    pub entry: Entry,
    /// A failure fails the run (a profile the caller named) rather than being a gap.
    pub required: bool,
}

/// What the organization's APIs said.
pub struct OrgRead {
    pub organization: AwsOrganization,
    /// Every account of the organization, none audited yet.
    pub accounts: Vec<AwsAccount>,
    /// What could not be read (OU paths, delegated administrators, SCPs).
    pub gaps: Vec<Gap>,
}

fn org_gap(scope: &str, source: &str, f: Failure) -> Gap {
    let reason = if f.denied {
        format!("access denied ({})", f.message)
    } else {
        f.message
    };
    Gap {
        provider: Provider::Aws,
        scope: scope.to_string(),
        source: source.to_string(),
        subject: None,
        reason,
    }
}

/// Reads the organization from its management account or a delegated administrator:
/// the organization itself and its accounts (fatal when refused: nothing else can be
/// chosen), then OU paths, delegated administrators and SCPs (each a gap when refused).
pub async fn read_organization(config: &SdkConfig) -> Result<OrgRead, Error> {
    let client = aws_sdk_organizations::Client::new(config);
    let org = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| fatal("organizations:DescribeOrganization", classify(&e)))?;
    let o = org.organization();
    let management = o
        .and_then(|o| o.master_account_id())
        .unwrap_or_default()
        .to_string();
    let pages: Vec<_> = client
        .list_accounts()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| fatal("organizations:ListAccounts", classify(&e)))?;
    let listed: Vec<&aws_sdk_organizations::types::Account> =
        pages.iter().flat_map(|p| p.accounts()).collect();
    let mut gaps = Vec::new();
    let paths = match ou_paths(&client).await {
        Ok(p) => p,
        Err((source, f)) => {
            gaps.push(org_gap(&management, source, f));
            HashMap::new()
        }
    };
    let accounts: Vec<AwsAccount> = listed
        .iter()
        .map(|a| {
            let id = a.id().unwrap_or_default().to_string();
            AwsAccount {
                ou_path: paths.get(&id).cloned().unwrap_or_default(),
                id,
                name: a.name().map(str::to_string),
                email: a.email().map(str::to_string),
                entered_via: String::new(),
                audited: false,
            }
        })
        .collect();
    let delegated_administrators = match delegated_admins(&client).await {
        Ok(d) => Some(d),
        Err((source, f)) => {
            gaps.push(org_gap(&management, source, f));
            None
        }
    };
    let service_control_policies = match scps(&client).await {
        Ok(p) => Some(p),
        Err((source, f)) => {
            gaps.push(org_gap(&management, source, f));
            None
        }
    };
    let organization = AwsOrganization {
        id: o.and_then(|o| o.id()).unwrap_or_default().to_string(),
        management_account_email: o.and_then(|o| o.master_account_email()).map(str::to_string),
        management_account_id: management,
        delegated_administrators,
        service_control_policies,
    };
    Ok(OrgRead {
        organization,
        accounts,
        gaps,
    })
}

type OrgFailure = (&'static str, Failure);

/// Each account's OU path from the root down, by names, walking the tree breadth-first
/// from the roots (two lists per OU, not one call per account).
async fn ou_paths(
    client: &aws_sdk_organizations::Client,
) -> Result<HashMap<String, Vec<String>>, OrgFailure> {
    let roots: Vec<_> = client
        .list_roots()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ("organizations:ListRoots", classify(&e)))?;
    let mut todo: Vec<(String, Vec<String>)> = roots
        .iter()
        .flat_map(|p| p.roots())
        .map(|r| {
            let name = r.name().unwrap_or("Root").to_string();
            (r.id().unwrap_or_default().to_string(), vec![name])
        })
        .collect();
    let mut paths = HashMap::new();
    let mut visited = 0usize;
    while let Some((parent, path)) = todo.pop() {
        visited += 1;
        if visited > MAX_OUS {
            break;
        }
        let accounts: Vec<_> = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| ("organizations:ListAccountsForParent", classify(&e)))?;
        for a in accounts.iter().flat_map(|p| p.accounts()) {
            paths.insert(a.id().unwrap_or_default().to_string(), path.clone());
        }
        if path.len() >= MAX_DEPTH {
            continue;
        }
        let ous: Vec<_> = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| {
                (
                    "organizations:ListOrganizationalUnitsForParent",
                    classify(&e),
                )
            })?;
        for ou in ous.iter().flat_map(|p| p.organizational_units()) {
            let mut p = path.clone();
            p.push(ou.name().unwrap_or_default().to_string());
            todo.push((ou.id().unwrap_or_default().to_string(), p));
        }
    }
    Ok(paths)
}

/// The delegated administrators and the services each administers.
async fn delegated_admins(
    client: &aws_sdk_organizations::Client,
) -> Result<Vec<DelegatedAdministrator>, OrgFailure> {
    let admins: Vec<_> = client
        .list_delegated_administrators()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ("organizations:ListDelegatedAdministrators", classify(&e)))?;
    let mut out = Vec::new();
    for a in admins.iter().flat_map(|p| p.delegated_administrators()) {
        let id = a.id().unwrap_or_default().to_string();
        let services: Vec<_> = client
            .list_delegated_services_for_account()
            .account_id(&id)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| {
                (
                    "organizations:ListDelegatedServicesForAccount",
                    classify(&e),
                )
            })?;
        let mut services: Vec<String> = services
            .iter()
            .flat_map(|p| p.delegated_services())
            .filter_map(|s| s.service_principal().map(str::to_string))
            .collect();
        services.sort();
        out.push(DelegatedAdministrator {
            account_id: id,
            name: a.name().map(str::to_string),
            email: a.email().map(str::to_string),
            services,
        });
    }
    out.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    Ok(out)
}

/// The service control policies and where each is attached.
async fn scps(
    client: &aws_sdk_organizations::Client,
) -> Result<Vec<ServiceControlPolicy>, OrgFailure> {
    let policies: Vec<_> = client
        .list_policies()
        .filter(PolicyType::ServiceControlPolicy)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| ("organizations:ListPolicies", classify(&e)))?;
    let mut out = Vec::new();
    for p in policies.iter().flat_map(|p| p.policies()) {
        let id = p.id().unwrap_or_default().to_string();
        let targets: Vec<_> = client
            .list_targets_for_policy()
            .policy_id(&id)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| ("organizations:ListTargetsForPolicy", classify(&e)))?;
        let mut targets: Vec<PolicyTarget> = targets
            .iter()
            .flat_map(|p| p.targets())
            .map(|t| PolicyTarget {
                id: t.target_id().unwrap_or_default().to_string(),
                name: t.name().map(str::to_string),
                kind: t
                    .r#type()
                    .map(TargetType::as_str)
                    .unwrap_or("UNKNOWN")
                    .to_string(),
            })
            .collect();
        targets.sort_by(|a, b| a.id.cmp(&b.id));
        out.push(ServiceControlPolicy {
            id,
            name: p.name().unwrap_or_default().to_string(),
            description: p
                .description()
                .filter(|d| !d.is_empty())
                .map(str::to_string),
            aws_managed: p.aws_managed(),
            targets,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The partition of a region, for the role ARNs the audit assumes.
pub fn partition(region: Option<&str>) -> &'static str {
    match region {
        Some(r) if r.starts_with("cn-") => "aws-cn",
        Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    }
}

/// The accounts `--org` audits: every account of the organization that `--accounts`
/// names (all when empty) and `--exclude-accounts` does not; the caller's own account is
/// entered with the caller's credentials, every other by assuming the role.
pub fn org_targets(
    read: &OrgRead,
    settings: &OrgSettings,
    base: &SdkConfig,
    caller_account: &str,
    caller_via: &str,
) -> Result<Vec<Target>, Error> {
    let known = |id: &String| read.accounts.iter().any(|a| &a.id == id);
    let unknown: Vec<&String> = settings
        .accounts
        .iter()
        .chain(&settings.exclude)
        .filter(|id| !known(id))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::usage(
            format!(
                "--accounts / --exclude-accounts name {} that the organization does not list",
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "name account ids from `aws organizations list-accounts`",
        ));
    }
    let partition = partition(base.region().map(|r| r.as_ref()));
    Ok(read
        .accounts
        .iter()
        .filter(|a| settings.accounts.is_empty() || settings.accounts.contains(&a.id))
        .filter(|a| !settings.exclude.contains(&a.id))
        .map(|a| {
            let mut account = a.clone();
            let entry = if a.id == caller_account {
                account.entered_via = caller_via.to_string();
                Entry::Config(base.clone())
            } else {
                let role_arn = format!(
                    "arn:{partition}:iam::{}:role/{}",
                    a.id, settings.assume_role
                );
                account.entered_via = format!("role {role_arn}");
                Entry::AssumeRole {
                    base: base.clone(),
                    role_arn,
                    external_id: settings.external_id.clone(),
                }
            };
            Target {
                account,
                entry,
                required: false,
            }
        })
        .collect())
}

/// Credentials for the role: one AssumeRole first, so a refusal is classified and named
/// (the SDK's provider would turn it into a generic credentials error at the first
/// call), then the SDK's own provider, which renews the session as it nears its end.
async fn assumed(
    base: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
) -> Result<SdkConfig, Failure> {
    let sts = aws_sdk_sts::Client::new(base);
    sts.assume_role()
        .role_arn(role_arn)
        .role_session_name(SESSION_NAME)
        .set_external_id(external_id.map(str::to_string))
        .send()
        .await
        .map_err(|e| classify(&e))?;
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name(SESSION_NAME)
        .configure(base);
    if let Some(x) = external_id {
        builder = builder.external_id(x);
    }
    let provider = builder.build().await;
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build())
}

/// Settings every account of one run is read with.
#[derive(Clone)]
pub struct RunSettings {
    pub regions: Vec<String>,
    pub concurrency: usize,
    pub fresh: bool,
    pub progress: Arc<dyn Progress>,
    pub now: DateTime<Utc>,
}

/// Audits one account into its own inventory: its contents, or the gap saying why it
/// could not be entered or read (an `Err` only for a `required` target).
async fn audit_target(t: Target, run: &RunSettings) -> Result<Inventory, Error> {
    let mut account = t.account;
    let mut inv = Inventory::new(run.now);
    let (config, operation) = match t.entry {
        Entry::Config(c) => (Ok(c), "sts:GetCallerIdentity"),
        Entry::AssumeRole {
            base,
            role_arn,
            external_id,
        } => (
            assumed(&base, &role_arn, external_id.as_deref()).await,
            "sts:AssumeRole",
        ),
    };
    let result = match config {
        Ok(config) => collect(
            &config,
            &run.regions,
            run.concurrency,
            run.fresh,
            run.progress.clone(),
        )
        .await
        .map_err(|e| (e, "account")),
        Err(f) => Err((fatal(operation, f), operation)),
    };
    match result {
        Ok(sources) => {
            if account.id.is_empty() {
                account.id = sources.account_id.clone();
            }
            inv.merge(super::assemble::assemble(
                &sources,
                SourceMode::Live,
                &run.regions,
                run.now,
            ));
            account.audited = true;
        }
        // A profile the caller named: its failure is the run's, as for one account.
        Err((e, _)) if t.required => return Err(e),
        Err((e, source)) => {
            tracing::warn!(account = %account.id, "account not audited: {e}");
            inv.gaps.push(unaudited(&account, source, &e));
        }
    }
    inv.aws_accounts.push(account);
    Ok(inv)
}

/// The gap for an account that could not be entered or read.
fn unaudited(account: &AwsAccount, source: &str, e: &Error) -> Gap {
    let name = account
        .name
        .as_deref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    Gap {
        provider: Provider::Aws,
        scope: account.id.clone(),
        source: source.to_string(),
        subject: Some(account.entered_via.clone()),
        reason: format!("account {}{name} not audited: {e}", account.id),
    }
}

/// Audits every target, `ACCOUNTS_AT_ONCE` at a time, into one inventory.
pub async fn audit_targets(targets: Vec<Target>, run: &RunSettings) -> Result<Inventory, Error> {
    let mut results = stream::iter(targets)
        .map(|t| audit_target(t, run))
        .buffer_unordered(ACCOUNTS_AT_ONCE);
    let mut inventory = Inventory::new(run.now);
    while let Some(r) = results.next().await {
        inventory.merge(r?);
    }
    Ok(inventory)
}
