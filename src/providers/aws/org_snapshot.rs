//! Reads an AWS Organization from a snapshot: the JSON the aws CLI prints, in the
//! snapshot's `aws/organizations/` folder (`scripts/export-aws-snapshot.sh --org` writes
//! it; docs/snapshots.md lists the commands), into the same `model` types a live
//! `--org` audit gives.
//!
//! ```text
//! DIR/aws/organizations/
//!   describe-organization.json            aws organizations describe-organization       (required)
//!   list-accounts.json                    aws organizations list-accounts               (required)
//!   list-roots.json                       aws organizations list-roots
//!   parents/<id>/organizational-units.json  aws organizations list-organizational-units-for-parent --parent-id <id>
//!   parents/<id>/accounts.json            aws organizations list-accounts-for-parent --parent-id <id>
//!   list-delegated-administrators.json    aws organizations list-delegated-administrators
//!   delegated-services/<account>.json     aws organizations list-delegated-services-for-account --account-id <account>
//!   scps.json                             aws organizations list-policies --filter SERVICE_CONTROL_POLICY
//!   policy-targets/<policy id>.json       aws organizations list-targets-for-policy --policy-id <id>
//! ```
//!
//! Invariants: a folder is found by looking an id up in one listing of its parent, and
//! only an id of the shape AWS gives (`r-`, `ou-`, `p-` or 12 digits: letters, digits,
//! `-` and `_`) is looked up; the OU walk is bounded like the live one. A missing
//! optional file is a gap naming the command that exports it.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::org::OrgRead;
use super::snapshot::{optional_json, read_json};
use crate::error::Error;
use crate::model::*;
use crate::providers::snapshot_fs::SnapshotRoot;

/// The organization's folder under `DIR/aws/`.
pub const ORG_DIR: &str = "organizations";
/// Most organizational units the walk visits, as the live walk.
const MAX_OUS: usize = 2_000;
const MAX_DEPTH: usize = 6;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeOrganization {
    organization: OrgJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OrgJson {
    id: String,
    master_account_id: String,
    master_account_email: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccountJson {
    id: String,
    name: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Accounts {
    #[serde(default)]
    accounts: Vec<AccountJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Named {
    id: String,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Roots {
    #[serde(default)]
    roots: Vec<Named>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Ous {
    #[serde(default)]
    organizational_units: Vec<Named>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Admins {
    #[serde(default)]
    delegated_administrators: Vec<AccountJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Services {
    #[serde(default)]
    delegated_services: Vec<Service>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Service {
    service_principal: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Policies {
    #[serde(default)]
    policies: Vec<PolicyJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyJson {
    id: String,
    name: String,
    description: Option<String>,
    #[serde(default)]
    aws_managed: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Targets {
    #[serde(default)]
    targets: Vec<TargetJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetJson {
    target_id: String,
    name: Option<String>,
    #[serde(rename = "Type")]
    kind: String,
}

/// Whether an id has the shape AWS gives ids, so it may name a folder.
fn is_org_id(id: &str) -> bool {
    (1..=68).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The organization of a snapshot, when it has one: the organization, its accounts
/// (none marked audited) and the gaps of what was not exported.
pub fn load(dir: &Path) -> Result<Option<OrgRead>, Error> {
    let root = SnapshotRoot::open(dir)?;
    let org_dir = dir.join("aws").join(ORG_DIR);
    if root.dir(&org_dir)?.is_none() {
        return Ok(None);
    }
    let d: DescribeOrganization = read_json(
        &root,
        &org_dir.join("describe-organization.json"),
        "aws organizations describe-organization",
    )?;
    let listed: Accounts = read_json(
        &root,
        &org_dir.join("list-accounts.json"),
        "aws organizations list-accounts",
    )?;
    let management = d.organization.master_account_id.clone();
    let mut gaps = Vec::new();
    let mut gap = |source: &str, command: &str| {
        gaps.push(Gap {
            provider: Provider::Aws,
            scope: management.clone(),
            source: source.to_string(),
            subject: None,
            reason: format!("not in the snapshot (export it with `{command}`)"),
        })
    };
    let paths = match ou_paths(&root, &org_dir)? {
        Some(p) => p,
        None => {
            gap(
                "organizations:ListRoots",
                "aws organizations list-roots, then list-organizational-units-for-parent and list-accounts-for-parent",
            );
            HashMap::new()
        }
    };
    let accounts = listed
        .accounts
        .into_iter()
        .map(|a| AwsAccount {
            ou_path: paths.get(&a.id).cloned().unwrap_or_default(),
            id: a.id,
            name: a.name,
            email: a.email,
            entered_via: "snapshot".into(),
            audited: false,
        })
        .collect();
    let delegated_administrators = delegated(&root, &org_dir)?;
    if delegated_administrators.is_none() {
        gap(
            "organizations:ListDelegatedAdministrators",
            "aws organizations list-delegated-administrators",
        );
    }
    let service_control_policies = scps(&root, &org_dir)?;
    if service_control_policies.is_none() {
        gap(
            "organizations:ListPolicies",
            "aws organizations list-policies --filter SERVICE_CONTROL_POLICY",
        );
    }
    let organization = AwsOrganization {
        id: d.organization.id,
        management_account_id: management.clone(),
        management_account_email: d.organization.master_account_email,
        delegated_administrators,
        service_control_policies,
    };
    Ok(Some(OrgRead {
        organization,
        accounts,
        gaps,
    }))
}

/// Each account's OU path by names, walking `parents/<id>/` from the roots; `None`
/// when the roots were not exported.
fn ou_paths(
    root: &SnapshotRoot,
    org_dir: &Path,
) -> Result<Option<HashMap<String, Vec<String>>>, Error> {
    let Some(roots) = optional_json::<Roots>(
        root,
        &org_dir.join("list-roots.json"),
        "aws organizations list-roots",
    )?
    else {
        return Ok(None);
    };
    let parents = root.listing(&org_dir.join("parents"))?;
    let mut todo: Vec<(String, Vec<String>)> = roots
        .roots
        .into_iter()
        .map(|r| (r.id, vec![r.name.unwrap_or_else(|| "Root".into())]))
        .collect();
    let mut paths = HashMap::new();
    let mut visited = 0usize;
    while let Some((parent, path)) = todo.pop() {
        visited += 1;
        if visited > MAX_OUS {
            break;
        }
        let Some(folder) = parents.get(&parent).filter(|_| is_org_id(&parent)) else {
            continue;
        };
        let accounts: Option<Accounts> = optional_json(
            root,
            &folder.join("accounts.json"),
            "aws organizations list-accounts-for-parent --parent-id ID",
        )?;
        for a in accounts.map(|a| a.accounts).unwrap_or_default() {
            paths.insert(a.id, path.clone());
        }
        if path.len() >= MAX_DEPTH {
            continue;
        }
        let ous: Option<Ous> = optional_json(
            root,
            &folder.join("organizational-units.json"),
            "aws organizations list-organizational-units-for-parent --parent-id ID",
        )?;
        for ou in ous.map(|o| o.organizational_units).unwrap_or_default() {
            let mut p = path.clone();
            p.push(ou.name.unwrap_or_default());
            todo.push((ou.id, p));
        }
    }
    Ok(Some(paths))
}

fn delegated(
    root: &SnapshotRoot,
    org_dir: &Path,
) -> Result<Option<Vec<DelegatedAdministrator>>, Error> {
    let Some(admins) = optional_json::<Admins>(
        root,
        &org_dir.join("list-delegated-administrators.json"),
        "aws organizations list-delegated-administrators",
    )?
    else {
        return Ok(None);
    };
    let services_dir = root.listing(&org_dir.join("delegated-services"))?;
    let mut out = Vec::new();
    for a in admins.delegated_administrators {
        let file = format!("{}.json", a.id);
        let services: Option<Services> = match services_dir.get(&file) {
            Some(p) if is_org_id(&a.id) => optional_json(
                root,
                p,
                "aws organizations list-delegated-services-for-account --account-id ID",
            )?,
            _ => None,
        };
        let mut services: Vec<String> = services
            .map(|s| s.delegated_services)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.service_principal)
            .collect();
        services.sort();
        out.push(DelegatedAdministrator {
            account_id: a.id,
            name: a.name,
            email: a.email,
            services,
        });
    }
    out.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    Ok(Some(out))
}

fn scps(root: &SnapshotRoot, org_dir: &Path) -> Result<Option<Vec<ServiceControlPolicy>>, Error> {
    let Some(policies) = optional_json::<Policies>(
        root,
        &org_dir.join("scps.json"),
        "aws organizations list-policies --filter SERVICE_CONTROL_POLICY",
    )?
    else {
        return Ok(None);
    };
    let targets_dir = root.listing(&org_dir.join("policy-targets"))?;
    let mut out = Vec::new();
    for p in policies.policies {
        let targets: Option<Targets> = match targets_dir.get(&format!("{}.json", p.id)) {
            Some(f) if is_org_id(&p.id) => optional_json(
                root,
                f,
                "aws organizations list-targets-for-policy --policy-id ID",
            )?,
            _ => None,
        };
        let mut targets: Vec<PolicyTarget> = targets
            .map(|t| t.targets)
            .unwrap_or_default()
            .into_iter()
            .map(|t| PolicyTarget {
                id: t.target_id,
                name: t.name,
                kind: t.kind,
            })
            .collect();
        targets.sort_by(|a, b| a.id.cmp(&b.id));
        out.push(ServiceControlPolicy {
            id: p.id,
            name: p.name,
            description: p.description.filter(|d| !d.is_empty()),
            aws_managed: p.aws_managed,
            targets,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Some(out))
}
