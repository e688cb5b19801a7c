//! Workload identity federation (IAM v1
//! `projects.locations.workloadIdentityPools[.providers]`): the pools of a project and
//! each pool's providers, read through [`super::rest`] (no official crate covers them:
//! `google-cloud-iam-admin-v1` has service accounts and roles only). Each pool is a
//! `gcp-workload-identity-pool` principal, each provider a
//! `gcp-workload-identity-provider` credential of it, with the service accounts the
//! pool's identities may act as (`roles/iam.workloadIdentityUser` and the other
//! impersonation roles granted to `principal://`/`principalSet://` members of the pool
//! on the project's service accounts).
//!
//! Invariants: the GitHub organizations a provider trusts are read from its parsed
//! attribute condition (CEL), from the top-level conjuncts only (an alternative can
//! let anyone else in, so it proves nothing), never from text matching; a provider with
//! no attribute condition is a finding; cost is one list of pools and one list of
//! providers per pool, each bounded in pages.

use std::collections::{BTreeMap, BTreeSet};

use cel::common::ast::{operators, Expr, LiteralValue};
use cel::IdedExpr;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::rest::{Rest, Service};
use crate::model::*;
use crate::providers::Availability;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub attribute_mapping: BTreeMap<String, String>,
    #[serde(default)]
    pub attribute_condition: Option<String>,
    #[serde(default)]
    pub oidc: Option<Oidc>,
    #[serde(default)]
    pub aws: Option<Aws>,
    #[serde(default)]
    pub saml: Option<serde_json::Value>,
    #[serde(default)]
    pub x509: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Oidc {
    #[serde(default)]
    pub issuer_uri: String,
    #[serde(default)]
    pub allowed_audiences: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Aws {
    #[serde(default)]
    pub account_id: String,
}

/// What was read: the pools, and each pool's providers by pool id.
#[derive(Debug, Clone)]
pub struct Federation {
    pub pools: Availability<Vec<Pool>>,
    pub providers: BTreeMap<String, Availability<Vec<Provider>>>,
}

impl Default for Federation {
    fn default() -> Self {
        Federation {
            pools: Availability::Known(Vec::new()),
            providers: BTreeMap::new(),
        }
    }
}

pub const POOLS_SOURCE: &str = "iam:ListWorkloadIdentityPools";
pub const PROVIDERS_SOURCE: &str = "iam:ListWorkloadIdentityPoolProviders";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

async fn list_all<T: DeserializeOwned>(
    rest: &Rest,
    path: &str,
    field: &str,
    source: &str,
) -> Availability<Vec<T>> {
    let (pages, why) = super::pages::all_pages(
        |t| {
            let mut query = vec![("pageSize", "1000".to_owned())];
            if !t.is_empty() {
                query.push(("pageToken", t));
            }
            async move {
                rest.call::<serde_json::Value>(
                    reqwest::Method::GET,
                    Service::Iam,
                    path,
                    &query,
                    None,
                )
                .await
            }
        },
        |mut page| {
            let next = page["nextPageToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            (vec![page[field].take()], next)
        },
        super::live::gap_text,
    )
    .await;
    if let Some(why) = why {
        return Availability::unknown(source, why);
    }
    let mut out = Vec::new();
    for items in pages.into_iter().filter(|v| !v.is_null()) {
        match serde_json::from_value::<Vec<T>>(items) {
            Ok(items) => out.extend(items),
            Err(e) => return Availability::unknown(source, format!("unexpected shape: {e}")),
        }
    }
    Availability::Known(out)
}

/// The project's pools and each pool's providers (deleted ones are not listed).
pub async fn collect(rest: &Rest, project: &str) -> Federation {
    let parent = format!("v1/projects/{project}/locations/global/workloadIdentityPools");
    let pools: Availability<Vec<Pool>> =
        list_all(rest, &parent, "workloadIdentityPools", POOLS_SOURCE).await;
    let mut providers = BTreeMap::new();
    if let Availability::Known(list) = &pools {
        for p in list {
            let id = super::sources::short(&p.name).to_owned();
            let path = format!("{parent}/{id}/providers");
            let got = list_all(
                rest,
                &path,
                "workloadIdentityPoolProviders",
                PROVIDERS_SOURCE,
            )
            .await;
            providers.insert(id, got);
        }
    }
    Federation { pools, providers }
}

/// The principal id of a pool.
pub fn pool_id(project: &str, pool: &str) -> String {
    format!("projects/{project}/locations/global/workloadIdentityPools/{pool}")
}

/// The project number a pool's resource name carries
/// (`projects/NUMBER/locations/global/workloadIdentityPools/POOL`); `None` when the
/// name holds anything else there.
fn project_number(name: &str) -> Option<&str> {
    let (number, _) = name.strip_prefix("projects/")?.split_once('/')?;
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(number)
}

/// The service accounts the identities of a pool may act as: those on which an
/// impersonation role is granted to a member of the pool (`grants`, from the members
/// the assembler parsed: `principal://` / `principalSet://` of
/// `projects/NUMBER/.../workloadIdentityPools/POOL`,
/// https://cloud.google.com/iam/docs/principal-identifiers). A member matches by pool
/// id and project number; when the pool's name carries no number, by id alone (more
/// accounts, never fewer).
pub fn pool_may_act_as(
    grants: &BTreeMap<MemberPool, BTreeSet<String>>,
    number: Option<&str>,
    pool: &str,
) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for (granted, accounts) in grants {
        if let MemberPool::WorkloadIdentity {
            project_number,
            pool: id,
        } = granted
        {
            if id == pool && number.is_none_or(|n| n == project_number) {
                out.extend(accounts.iter().cloned());
            }
        }
    }
    out.into_iter().collect()
}

/// The GitHub organizations a condition's top-level conjuncts name: `X.repository_owner
/// == 'org'`, `X.repository_owner in ['a', 'b']`, `X.repository == 'org/repo'`,
/// `X.sub == 'repo:org/...'` (X is `assertion` or `attribute`). Empty when it names none
/// or is not CEL.
pub fn github_owners(condition: &str) -> Vec<String> {
    if condition.len() > super::condition::MAX_EXPRESSION_BYTES {
        return Vec::new();
    }
    let shape = CelTextShape::of(condition);
    if shape.nesting > usize::from(super::condition::MAX_NESTING)
        || shape.operators > super::condition::MAX_OPERATORS
    {
        return Vec::new();
    }
    let Ok(ast) = cel::parser::Parser::new()
        .max_recursion_depth(super::condition::MAX_NESTING)
        .parse(condition)
    else {
        return Vec::new();
    };
    let mut owners = Vec::new();
    let mut stack = vec![&ast];
    while let Some(e) = stack.pop() {
        let Expr::Call(c) = &e.expr else { continue };
        if c.target.is_some() || c.args.len() != 2 {
            continue;
        }
        match c.func_name.as_str() {
            operators::LOGICAL_AND => stack.extend(c.args.iter()),
            operators::EQUALS => {
                let (field, lit) = match (claim(&c.args[0]), string(&c.args[1])) {
                    (Some(f), Some(l)) => (f, l),
                    _ => match (claim(&c.args[1]), string(&c.args[0])) {
                        (Some(f), Some(l)) => (f, l),
                        _ => continue,
                    },
                };
                owners.extend(owner_from(field, lit));
            }
            operators::IN => {
                if let (Some(field), Expr::List(l)) = (claim(&c.args[0]), &c.args[1].expr) {
                    owners.extend(
                        l.elements
                            .iter()
                            .filter_map(string)
                            .filter_map(|v| owner_from(field, v)),
                    );
                }
            }
            _ => {}
        }
    }
    owners.sort();
    owners.dedup();
    owners
}

/// `assertion.F` or `attribute.F` -> F.
fn claim(e: &IdedExpr) -> Option<&str> {
    match &e.expr {
        Expr::Select(s) if !s.test => match &s.operand.expr {
            Expr::Ident(n) if n == "assertion" || n == "attribute" => Some(s.field.as_str()),
            _ => None,
        },
        _ => None,
    }
}

fn string(e: &IdedExpr) -> Option<&str> {
    match &e.expr {
        Expr::Literal(LiteralValue::String(s)) => Some(s.inner()),
        _ => None,
    }
}

fn owner_from(field: &str, value: &str) -> Option<String> {
    let owner = match field {
        "repository_owner" => value,
        "repository" => value.split('/').next()?,
        "sub" => value.strip_prefix("repo:")?.split('/').next()?,
        _ => return None,
    };
    (!owner.is_empty()).then(|| owner.to_owned())
}

/// The detail of one provider.
pub fn detail(pool: &str, p: &Provider, may_act_as: Vec<String>) -> WorkloadIdentityDetail {
    let (protocol, issuer) = match (&p.oidc, &p.aws, &p.saml) {
        (Some(o), _, _) => ("oidc", Some(o.issuer_uri.clone())),
        (_, Some(a), _) => ("aws", Some(format!("aws:{}", a.account_id))),
        (_, _, Some(_)) => ("saml", None),
        _ => ("x509", None),
    };
    let condition = p
        .attribute_condition
        .clone()
        .filter(|c| !c.trim().is_empty());
    let github = issuer.as_deref() == Some(GITHUB_ISSUER);
    WorkloadIdentityDetail {
        name: p.name.clone(),
        pool: pool.to_owned(),
        protocol: protocol.into(),
        issuer,
        attribute_mapping: p.attribute_mapping.clone(),
        github_owners: match (&condition, github) {
            (Some(c), true) => github_owners(c),
            _ => Vec::new(),
        },
        attribute_condition: condition,
        may_act_as,
    }
}

/// Pools as principals, providers as their credentials, a finding per provider with no
/// condition. `grants` are the service accounts (by email) each pool's members may act
/// as, from the project's service accounts' policies (`pool_may_act_as`). A pool's
/// principal carries its own pool (`federated`, selecting `all`) so that members of it
/// named anywhere in the inventory are matched to it by data.
pub fn assemble(
    project: &str,
    fed: &Federation,
    grants: &BTreeMap<MemberPool, BTreeSet<String>>,
    out: &mut super::assemble::Part,
) {
    let Availability::Known(pools) = &fed.pools else {
        return;
    };
    for pool in pools
        .iter()
        .filter(|p| p.state.as_deref() != Some("DELETED"))
    {
        let pool_short = super::sources::short(&pool.name).to_owned();
        let id = pool_id(project, &pool_short);
        let mut principal = super::assemble::bare_principal(
            &id,
            project,
            PrincipalKind::GcpWorkloadIdentityPool,
            &pool_short,
        );
        principal.disabled = Some(pool.disabled);
        let number = project_number(&pool.name);
        principal.federated = number.map(|n| FederatedMember {
            pool: MemberPool::WorkloadIdentity {
                project_number: n.to_owned(),
                pool: pool_short.clone(),
            },
            selects: PoolSelection::All,
        });
        out.principals.push(principal);
        let may_act_as = pool_may_act_as(grants, number, &pool_short);
        let Some(Availability::Known(providers)) = fed.providers.get(&pool_short) else {
            continue;
        };
        for p in providers
            .iter()
            .filter(|p| p.state.as_deref() != Some("DELETED"))
        {
            let d = detail(&pool_short, p, may_act_as.clone());
            let short = super::sources::short(&p.name).to_owned();
            let cred_id = format!("{id}/providers/{short}");
            if d.attribute_condition.is_none() {
                out.findings.push(Finding::new(
                    FindingCode::GcpWifNoCondition,
                    &cred_id,
                    format!(
                        "provider {short} of pool {pool_short} trusts every identity of {} (no attribute condition)",
                        d.issuer.as_deref().unwrap_or(&d.protocol)
                    ),
                ));
            }
            out.credentials.push(Credential {
                id: cred_id,
                principal: id.clone(),
                provider: crate::model::Provider::Gcp,
                scope: project.to_owned(),
                kind: CredentialKind::GcpWorkloadIdentityProvider,
                identifier: Some(short),
                status: if p.disabled {
                    Status::Inactive
                } else {
                    Status::Active
                },
                created: None,
                last_used: LastUsed::unknown(
                    "the provider records no use (audit logs do; not read)",
                ),
                detail: CredentialDetail::WorkloadIdentityProvider(d),
            });
        }
    }
}

/// A provider's state, read live (`providers.get`): `Some("ACTIVE")`, `Some("DELETED")`
/// (still undeletable for 30 days), or `None` when it is gone.
pub async fn provider_state(
    rest: &Rest,
    name: &str,
) -> Result<Option<String>, crate::error::Error> {
    match rest
        .call::<Provider>(
            reqwest::Method::GET,
            Service::Iam,
            &format!("v1/{name}"),
            &[],
            None,
        )
        .await
    {
        Ok(p) => Ok(Some(p.state.unwrap_or_else(|| "ACTIVE".into()))),
        Err(f) if f.not_found => Ok(None),
        Err(f) => Err(super::rest::change_error(
            "iam.workloadIdentityPoolProviders.get",
            name,
            f,
        )),
    }
}

/// Deletes a provider (`providers.delete`; undone by `:undelete` within 30 days) or
/// brings it back. The operation is awaited by reading the provider again until it is in
/// the state asked for (at most 30 reads, a second apart).
pub async fn set_provider_deleted(
    rest: &Rest,
    name: &str,
    delete: bool,
) -> Result<(), crate::error::Error> {
    let (method, path, op) = if delete {
        (
            reqwest::Method::DELETE,
            format!("v1/{name}"),
            "iam.workloadIdentityPoolProviders.delete",
        )
    } else {
        (
            reqwest::Method::POST,
            format!("v1/{name}:undelete"),
            "iam.workloadIdentityPoolProviders.undelete",
        )
    };
    let body = (!delete).then(|| serde_json::json!({}));
    let done: serde_json::Value = rest
        .call(method, Service::Iam, &path, &[], body.as_ref())
        .await
        .map_err(|f| super::rest::change_error(op, name, f))?;
    if done["done"] == true {
        return Ok(());
    }
    let want = if delete { "DELETED" } else { "ACTIVE" };
    for _ in 0..30 {
        if provider_state(rest, name).await?.as_deref() == Some(want) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    Err(crate::error::Error::Api {
        provider: crate::model::Provider::Gcp,
        operation: op.into(),
        what: format!("{name}: the operation did not finish within 30 s"),
        hint: "run apply again: the journal resumes it".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_owners_come_from_top_level_conjuncts_only() {
        assert_eq!(
            github_owners("assertion.repository_owner == 'northwind'"),
            ["northwind"]
        );
        assert_eq!(
            github_owners(
                "attribute.repository_owner in ['a', 'b'] && assertion.ref == 'refs/heads/main'"
            ),
            ["a", "b"]
        );
        assert_eq!(
            github_owners("assertion.repository == 'contoso/shop'"),
            ["contoso"]
        );
        assert_eq!(github_owners("'repo:x/y:ref:main' == assertion.sub"), ["x"]);
        // An alternative proves nothing about who else gets in.
        assert!(github_owners("assertion.repository_owner == 'a' || true").is_empty());
        assert!(github_owners("not cel ((").is_empty());
    }

    /// A pool's grants are found by its parsed pool (id and project number): a pool of
    /// the same id in another project lets its identities act as nothing here.
    #[test]
    fn pool_grants_match_by_pool_id_and_project_number() {
        let pool = |n: &str, p: &str| MemberPool::WorkloadIdentity {
            project_number: n.into(),
            pool: p.into(),
        };
        let grants = BTreeMap::from([
            (
                pool("123", "github"),
                BTreeSet::from(["deploy@p.iam.gserviceaccount.com".to_string()]),
            ),
            (
                pool("999", "github"),
                BTreeSet::from(["other@q.iam.gserviceaccount.com".to_string()]),
            ),
            (
                MemberPool::Workforce {
                    pool: "github".into(),
                },
                BTreeSet::from(["w@p.iam.gserviceaccount.com".to_string()]),
            ),
        ]);
        assert_eq!(
            pool_may_act_as(&grants, Some("123"), "github"),
            ["deploy@p.iam.gserviceaccount.com"]
        );
        assert!(pool_may_act_as(&grants, Some("123"), "git").is_empty());
        assert_eq!(pool_may_act_as(&grants, None, "github").len(), 2);
        assert_eq!(
            project_number("projects/123/locations/global/workloadIdentityPools/github"),
            Some("123")
        );
        assert_eq!(
            project_number("projects/shop/locations/global/workloadIdentityPools/g"),
            None
        );
    }
}
