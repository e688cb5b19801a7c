//! Who owns what: every principal is the agency's, the customer's, a third party's, or
//! unknown, decided from the config alone. Unknown is an answer, not a failure: the
//! plan sends it to a person (`review`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HandoverConfig, PartySpec};
use crate::model::{
    ConditionClause, Credential, CredentialDetail, MemberPool, OutsidePrincipal, PoolSelection,
    Principal, PrincipalKind, Provider, TrustDetail,
};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Owner {
    Agency,
    Customer,
    ThirdParty,
    Unknown,
}

impl Owner {
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Agency => "agency",
            Owner::Customer => "customer",
            Owner::ThirdParty => "third-party",
            Owner::Unknown => "unknown",
        }
    }
}

/// An owner and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Classification {
    pub owner: Owner,
    /// The party's name from the config, when one matched.
    pub party: Option<String>,
    pub reason: String,
}

impl Classification {
    fn unknown(reason: impl Into<String>) -> Self {
        Classification {
            owner: Owner::Unknown,
            party: None,
            reason: reason.into(),
        }
    }
}

/// The longest name pattern the config accepts (`config::check_party` enforces it).
/// IAM names are at most 128 characters and service-account addresses about 100, so a
/// longer pattern can only be a mistake or an attack on the matcher.
pub const MAX_NAME_PATTERN_CHARS: usize = 256;
/// The most name patterns one party may list.
pub const MAX_NAME_PATTERNS: usize = 1000;

/// Matches `*` (any run, also empty) and `?` (one character) globs, ASCII
/// case-insensitively.
///
/// Iterative, with one backtrack point (the last `*` seen): O(pattern × text) in the
/// worst case, constant stack, so no pattern can make it hang or overflow (issue 10,
/// item 7: the old recursive matcher took 69 s on `********z`). The classic argument:
/// on a mismatch only the latest star needs retrying, because any match an earlier
/// star could still give is also reachable by letting the later star eat more text.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    // (pattern index after the star, text index the star's run currently ends at)
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                // A run of stars is one star.
                while p.get(pi) == Some(&'*') {
                    pi += 1;
                }
                star = Some((pi, ti));
            }
            Some('?') => {
                pi += 1;
                ti += 1;
            }
            Some(c) if c.eq_ignore_ascii_case(&t[ti]) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                // Let the last star eat one more character and retry after it.
                Some((after, run_end)) => {
                    pi = after;
                    ti = run_end + 1;
                    star = Some((after, run_end + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn domain_of(email: &str) -> Option<String> {
    email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase())
}

/// The parties in the order they are tried, with their owner kind.
fn parties(cfg: &HandoverConfig) -> Vec<(Owner, &PartySpec)> {
    let mut v = vec![
        (Owner::Agency, &cfg.agency),
        (Owner::Customer, &cfg.customer),
    ];
    v.extend(cfg.third_parties.iter().map(|p| (Owner::ThirdParty, p)));
    v
}

/// Picks the one party a test matches; two parties matching is `unknown`.
fn one_party(
    cfg: &HandoverConfig,
    what: &str,
    test: impl Fn(&PartySpec) -> Option<String>,
) -> Option<Classification> {
    let hits: Vec<(Owner, &PartySpec, String)> = parties(cfg)
        .into_iter()
        .filter_map(|(o, p)| test(p).map(|why| (o, p, why)))
        .collect();
    match hits.as_slice() {
        [] => None,
        [(owner, p, why)] => Some(Classification {
            owner: *owner,
            party: Some(p.name.clone()),
            reason: format!("{what}: {why}"),
        }),
        many => Some(Classification::unknown(format!(
            "{what} matches more than one party ({})",
            many.iter()
                .map(|(_, p, _)| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The owner of an AWS account id.
pub fn account_owner(cfg: &HandoverConfig, account: &str) -> Classification {
    one_party(cfg, "AWS account", |p| {
        p.aws_accounts
            .iter()
            .any(|a| a == account)
            .then(|| format!("{account} is listed"))
    })
    .unwrap_or_else(|| {
        Classification::unknown(format!("AWS account {account} is not in the config"))
    })
}

/// The owner of a GCP project id.
pub fn project_owner(cfg: &HandoverConfig, project: &str) -> Classification {
    one_party(cfg, "GCP project", |p| {
        p.gcp_projects
            .iter()
            .any(|a| a == project)
            .then(|| format!("{project} is listed"))
    })
    .unwrap_or_else(|| {
        Classification::unknown(format!("GCP project {project} is not in the config"))
    })
}

/// The owner of a GCP folder (`folder` true) or organization, by its numeric id: the
/// party listing it in `gcp_folders`, or in `gcp_organizations` / `gcp_organization`.
pub fn container_owner(cfg: &HandoverConfig, folder: bool, id: &str) -> Classification {
    let what = if folder {
        "GCP folder"
    } else {
        "GCP organization"
    };
    one_party(cfg, what, |p| {
        let listed = if folder {
            p.gcp_folders.iter().any(|f| f == id)
        } else {
            p.gcp_organizations.iter().any(|o| o == id)
                || p.gcp_organization
                    .as_deref()
                    .and_then(|o| o.strip_prefix("organizations/"))
                    == Some(id)
        };
        listed.then(|| format!("{id} is listed"))
    })
    .unwrap_or_else(|| Classification::unknown(format!("{what} {id} is not in the config")))
}

/// The owner of the account, project, folder or organization a principal or binding
/// lives in. A GCP scope is a project id (which never holds a `/`), or a folder's or
/// organization's resource name, `folders/F` / `organizations/O`, as the inventory
/// names them.
pub fn scope_owner(cfg: &HandoverConfig, provider: Provider, scope: &str) -> Classification {
    match provider {
        Provider::Aws => account_owner(cfg, scope),
        Provider::Gcp => match scope.split_once('/') {
            Some(("folders", id)) => container_owner(cfg, true, id),
            Some(("organizations", id)) => container_owner(cfg, false, id),
            _ => project_owner(cfg, scope),
        },
    }
}

fn by_email(cfg: &HandoverConfig, email: &str) -> Option<Classification> {
    let domain = domain_of(email)?;
    one_party(cfg, "email domain", |p| {
        p.email_domains
            .iter()
            .chain(&p.google_domains)
            .any(|d| d.eq_ignore_ascii_case(&domain))
            .then(|| format!("{domain} is listed"))
    })
}

/// Combines every signal that placed a principal. All agreeing: that party, with every
/// reason. Any disagreement (including one signal matching two parties): `unknown`,
/// with every reason, so that the plan sends it to a person. No signal: `None`.
fn combine(signals: Vec<Classification>) -> Option<Classification> {
    let first = signals.first()?.clone();
    let agree = signals
        .iter()
        .all(|c| c.owner != Owner::Unknown && c.owner == first.owner && c.party == first.party);
    let reasons: Vec<String> = signals
        .iter()
        .map(|c| match (&c.party, c.owner) {
            (Some(party), owner) if owner != Owner::Unknown => {
                format!("{} ({party}, {})", c.reason, owner.as_str())
            }
            _ => c.reason.clone(),
        })
        .collect();
    if agree {
        Some(Classification {
            reason: signals
                .iter()
                .map(|c| c.reason.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            ..first
        })
    } else {
        Some(Classification::unknown(format!(
            "the signals disagree: {}",
            reasons.join("; ")
        )))
    }
}

/// Every signal the config gives about an IAM user or role (issue 10, item 13: the first
/// one used to win, so a customer tag hid an agency email-like name):
/// tags, the email domain of an `email` tag, the email domain of an email-like name,
/// and name patterns. Each is tried against every party.
fn by_tags_and_names(cfg: &HandoverConfig, p: &Principal) -> Option<Classification> {
    let mut signals = Vec::new();
    signals.extend(one_party(cfg, "tag", |party| {
        party.tags.iter().find_map(|(k, v)| {
            p.tags
                .get(k)
                .filter(|have| v == "*" || *have == v)
                .map(|have| format!("{k}={have}"))
        })
    }));
    for key in ["email", "Email"] {
        if let Some(email) = p.tags.get(key) {
            signals.extend(by_email(cfg, email).map(|c| Classification {
                reason: format!("{key} tag: {}", c.reason),
                ..c
            }));
        }
    }
    if p.name.contains('@') {
        signals.extend(by_email(cfg, &p.name).map(|c| Classification {
            reason: format!("name {}: {}", p.name, c.reason),
            ..c
        }));
    }
    signals.extend(one_party(cfg, "name", |party| {
        party
            .name_patterns
            .iter()
            .find(|pat| glob(pat, &p.name))
            .map(|pat| format!("{} matches {pat}", p.name))
    }));
    combine(signals)
}

/// Classifies a principal from the config alone.
pub fn classify(cfg: &HandoverConfig, p: &Principal, has_outside_trust: bool) -> Classification {
    match p.kind {
        PrincipalKind::Root => {
            let c = account_owner(cfg, &p.scope);
            Classification {
                reason: format!("the root user belongs with its account ({})", c.reason),
                ..c
            }
        }
        PrincipalKind::IamUser => by_tags_and_names(cfg, p).unwrap_or_else(|| {
            Classification::unknown("no tag, email or name pattern in the config matches this user")
        }),
        // An Identity Center user's primary email is its `email` tag (the provider's);
        // a group has its name only, so name patterns place it, else a person does.
        PrincipalKind::SsoUser | PrincipalKind::SsoGroup => by_tags_and_names(cfg, p)
            .unwrap_or_else(|| {
                Classification::unknown(
                    "no email domain or name pattern in the config matches this Identity Center principal",
                )
            }),
        PrincipalKind::IamRole => by_tags_and_names(cfg, p).unwrap_or_else(|| {
            if has_outside_trust {
                Classification::unknown(
                    "the role trusts outside the account and no tag or name pattern places it",
                )
            } else {
                let c = account_owner(cfg, &p.scope);
                Classification {
                    reason: format!(
                        "a role only its own account can assume belongs with the account ({})",
                        c.reason
                    ),
                    ..c
                }
            }
        }),
        PrincipalKind::GcpUser | PrincipalKind::GcpGroup => person_owner(cfg, &p.name),
        PrincipalKind::GcpDomain => by_email(cfg, &format!("x@{}", p.name)).unwrap_or_else(|| {
            Classification::unknown(format!("domain {} is not in the config", p.name))
        }),
        PrincipalKind::GcpServiceAccount => classify_service_account(cfg, p),
        // An API key or a pool has no address: a name pattern (or tag) may place it,
        // else it belongs with its project, as a role only its own account can assume.
        PrincipalKind::GcpApiKey | PrincipalKind::GcpWorkloadIdentityPool => {
            by_tags_and_names(cfg, p).unwrap_or_else(|| {
                let c = project_owner(cfg, &p.scope);
                Classification {
                    reason: format!("it belongs with its project ({})", c.reason),
                    ..c
                }
            })
        }
        PrincipalKind::GcpPublic => Classification {
            owner: Owner::ThirdParty,
            party: Some("anyone".into()),
            reason: "a public member: anyone on the internet or with a Google account".into(),
        },
        // Placed by its pool; the plan passes the pool's owner when the audit read the
        // pool (`federated_owner`).
        PrincipalKind::GcpFederated => federated_owner(cfg, p, None),
        PrincipalKind::GcpDeleted => {
            // deleted:user:a@b?uid=1 -> the address the provider read out of it.
            let email = p.deleted.as_ref().map_or("", |d| d.email.as_str());
            by_email(cfg, email)
                .map(|c| Classification {
                    reason: format!("deleted member; {}", c.reason),
                    ..c
                })
                .unwrap_or_else(|| Classification::unknown("a deleted member of an unknown domain"))
        }
    }
}

/// A Google account or group: by the listed groups and by its address's domain.
fn person_owner(cfg: &HandoverConfig, email: &str) -> Classification {
    let group = one_party(cfg, "Google group", |party| {
        party
            .google_groups
            .iter()
            .any(|g| g.eq_ignore_ascii_case(email))
            .then(|| format!("{email} is listed"))
    });
    // Both signals count: a listed group in another party's domain is a disagreement.
    combine(group.into_iter().chain(by_email(cfg, email)).collect()).unwrap_or_else(|| {
        Classification::unknown(format!("the domain of {email} is not in the config"))
    })
}

/// Whose a `gcp-federated` member (`principal://`, `principalSet://`) is, from the pool
/// the provider parsed out of it (`Principal.federated`):
/// - a workload identity pool's identities: whom the pool lets in, when the audit read the
///   pool (`pool`: its providers' trust, else its names or project:
///   `pool_identities_owner`); otherwise the party whose
///   `gcp_projects` lists the pool's project NUMBER; otherwise unknown;
/// - GKE's pool (`PROJECT_ID.svc.id.goog`): its project's owner;
/// - a workforce pool's people: the party one of whose name patterns matches the pool
///   id, else unknown (a workforce pool belongs to an organization the config cannot name);
/// - Google's `goog/subject/EMAIL` and `goog/group/EMAIL`: as a user or group;
///   a whole Cloud Identity customer: unknown (the config lists domains, not customers).
pub fn federated_owner(
    cfg: &HandoverConfig,
    p: &Principal,
    pool: Option<&Classification>,
) -> Classification {
    let Some(f) = &p.federated else {
        return Classification::unknown("a federated member whose pool was not read");
    };
    match (&f.pool, &f.selects) {
        (MemberPool::WorkloadIdentity { pool: id, .. }, _) if pool.is_some() => {
            let c = pool.expect("checked");
            Classification {
                reason: format!("an identity of workload identity pool {id}, placed as the pool is ({})", c.reason),
                ..c.clone()
            }
        }
        (MemberPool::WorkloadIdentity { project_number, pool: id }, _) => one_party(cfg, "GCP project number", |party| {
            party
                .gcp_projects
                .iter()
                .any(|n| n == project_number)
                .then(|| format!("{project_number} is listed"))
        })
        .map(|c| Classification {
            reason: format!("an identity of workload identity pool {id} (not audited) of project {project_number}: {}", c.reason),
            ..c
        })
        .unwrap_or_else(|| {
            Classification::unknown(format!(
                "workload identity pool {id} was not audited and its project number {project_number} is not in the config"
            ))
        }),
        (MemberPool::Gke { project, .. }, _) => {
            let c = project_owner(cfg, project);
            Classification {
                reason: format!("a Kubernetes workload of GKE's pool of project {project} belongs with the project ({})", c.reason),
                ..c
            }
        }
        (MemberPool::Workforce { pool: id }, _) => one_party(cfg, "workforce pool", |party| {
            party
                .name_patterns
                .iter()
                .find(|pat| glob(pat, id))
                .map(|pat| format!("{id} matches {pat}"))
        })
        .unwrap_or_else(|| {
            Classification::unknown(format!(
                "no name pattern in the config matches workforce pool {id}"
            ))
        }),
        (MemberPool::Google, PoolSelection::Subject { value } | PoolSelection::Group { value }) => {
            person_owner(cfg, value)
        }
        (MemberPool::Google, _) => Classification::unknown(
            "every account of a Cloud Identity customer: the config names domains, not customer ids",
        ),
    }
}

fn classify_service_account(cfg: &HandoverConfig, p: &Principal) -> Classification {
    let email = &p.name;
    let Some((local, domain)) = email.split_once('@') else {
        return Classification::unknown("not a service-account address");
    };
    if !domain.ends_with(".iam.gserviceaccount.com") {
        // Google's own service agents (…@gcp-sa-….iam…, …@cloudservices.gserviceaccount.com).
        if domain.ends_with("gserviceaccount.com") && !domain.starts_with("developer") {
            return Classification {
                owner: Owner::ThirdParty,
                party: Some("Google".into()),
                reason: "a Google-managed service agent".into(),
            };
        }
    }
    if domain.starts_with("gcp-sa-") {
        return Classification {
            owner: Owner::ThirdParty,
            party: Some("Google".into()),
            reason: "a Google-managed service agent".into(),
        };
    }
    let named = one_party(cfg, "name", |party| {
        party
            .name_patterns
            .iter()
            .find(|pat| glob(pat, local) || glob(pat, email))
            .map(|pat| format!("{local} matches {pat}"))
    });
    if let Some(c) = named {
        return c;
    }
    let project = domain
        .strip_suffix(".iam.gserviceaccount.com")
        .unwrap_or("");
    let c = project_owner(cfg, project);
    Classification {
        reason: format!("a service account belongs with its project ({})", c.reason),
        ..c
    }
}

/// The owner of an outside principal a trust or resource policy names.
pub fn outside_owner(cfg: &HandoverConfig, o: &OutsidePrincipal) -> Classification {
    match (&o.account_id, o.kind) {
        (_, crate::model::OutsideKind::Wildcard) => Classification {
            owner: Owner::ThirdParty,
            party: Some("anyone".into()),
            reason: "a wildcard principal".into(),
        },
        (Some(acct), _) => account_owner(cfg, acct),
        (None, _) => Classification::unknown(format!("{} names no account", o.value)),
    }
}

/// The key of a GitHub Actions token's subject: `repo:ORG/REPO:...`
/// (https://docs.github.com/en/actions/reference/security/oidc).
const GITHUB_SUB: &str = "token.actions.githubusercontent.com:sub";

/// The organization a GitHub subject value names: `repo:ORG/REPO:ref:...` -> `ORG`. Each
/// value is one subject pattern (a value holding `", repo:..."` is still one, and names
/// one organization: the text before its first `/`).
fn github_org_of(subject: &str) -> Option<&str> {
    subject.strip_prefix("repo:")?.split('/').next()
}

/// The GitHub owners (`repo:ORG/...`) a GitHub Actions trust's `sub` conditions let in,
/// read from the clauses' values; empty when no clause on `sub` lets a named
/// repository in (a negated operator names the repositories refused, not admitted).
pub fn github_orgs(conditions: &[ConditionClause]) -> Vec<String> {
    let mut orgs: Vec<String> = conditions
        .iter()
        .filter(|c| c.is_on(GITHUB_SUB) && !c.is_negated())
        .flat_map(|c| c.values.iter())
        .filter_map(|v| github_org_of(v))
        .map(str::to_string)
        .collect();
    orgs.sort();
    orgs.dedup();
    orgs
}

/// Whose a GitHub Actions trust is: the party of the organizations its subject
/// conditions let in, when they all belong to one.
fn github_trust_owner(cfg: &HandoverConfig, t: &TrustDetail) -> Classification {
    let orgs = github_orgs(&t.conditions);
    if orgs.is_empty() {
        let reason = if t.conditions.iter().any(|c| c.is_on(GITHUB_SUB)) {
            "GitHub Actions trust whose subject condition only refuses repositories: any other repository can assume the role"
        } else {
            "GitHub Actions trust with no subject condition: any repository can assume the role"
        };
        return Classification {
            owner: Owner::ThirdParty,
            party: Some("any GitHub repository".into()),
            reason: reason.into(),
        };
    }
    github_orgs_owner(cfg, &orgs)
}

/// The party of GitHub organizations, when they all belong to one.
fn github_orgs_owner(cfg: &HandoverConfig, orgs: &[String]) -> Classification {
    let owners: Vec<Classification> = orgs
        .iter()
        .map(|org| {
            one_party(cfg, "GitHub organization", |p| {
                p.github_orgs
                    .iter()
                    .any(|g| g.eq_ignore_ascii_case(org))
                    .then(|| format!("{org} is listed"))
            })
            .unwrap_or_else(|| {
                Classification::unknown(format!("GitHub organization {org} is not in the config"))
            })
        })
        .collect();
    if owners.windows(2).all(|w| w[0].owner == w[1].owner) {
        owners.into_iter().next().expect("non-empty")
    } else {
        Classification::unknown(format!(
            "the trust names repositories of different parties ({})",
            orgs.join(", ")
        ))
    }
}

/// Whose a credential is: a trust or grant belongs to whoever it lets in; anything
/// else to its principal's owner.
pub fn credential_owner(
    cfg: &HandoverConfig,
    c: &Credential,
    principal: &Classification,
) -> Classification {
    match &c.detail {
        CredentialDetail::Trust(t)
            if t.trusted
                .value
                .ends_with("oidc-provider/token.actions.githubusercontent.com") =>
        {
            github_trust_owner(cfg, t)
        }
        CredentialDetail::Trust(t)
            if t.trusted.account_id.is_some()
                || t.trusted.kind == crate::model::OutsideKind::Wildcard =>
        {
            outside_owner(cfg, &t.trusted)
        }
        CredentialDetail::WorkloadIdentityProvider(w) => workload_identity_owner(cfg, w, principal),
        _ => principal.clone(),
    }
}

/// Whose a workload identity provider is: whoever it lets in. With no attribute
/// condition, anyone its issuer vouches for; a GitHub Actions provider whose condition
/// names organizations, their party; otherwise the pool's.
fn workload_identity_owner(
    cfg: &HandoverConfig,
    w: &crate::model::WorkloadIdentityDetail,
    pool: &Classification,
) -> Classification {
    let issuer = w.issuer.as_deref().unwrap_or(&w.protocol);
    if w.attribute_condition.is_none() {
        return Classification {
            owner: Owner::ThirdParty,
            party: Some(format!("any identity of {issuer}")),
            reason: "workload identity provider with no attribute condition: every identity its issuer vouches for can use it".into(),
        };
    }
    if !w.github_owners.is_empty() {
        return github_orgs_owner(cfg, &w.github_owners);
    }
    pool.clone()
}

/// Whose a workload identity pool's identities are: whoever its active providers let in
/// (each provider's owner, `credential_owner`: the GitHub organizations its condition
/// names, anyone its issuer vouches for when it has no condition, else the pool's),
/// when they all agree; unknown when they disagree; the pool's own placement (`pool`:
/// names, project) when no provider is active.
pub fn pool_identities_owner(
    cfg: &HandoverConfig,
    pool: &Classification,
    providers: &[&Credential],
) -> Classification {
    let owners: Vec<Classification> = providers
        .iter()
        .filter(|c| {
            c.kind == crate::model::CredentialKind::GcpWorkloadIdentityProvider
                && c.status == crate::model::Status::Active
        })
        .map(|c| credential_owner(cfg, c, pool))
        .collect();
    combine(owners)
        .map(|c| Classification {
            reason: format!("its providers let in: {}", c.reason),
            ..c
        })
        .unwrap_or_else(|| pool.clone())
}

/// A principal is human when people sign in as it: a console password or MFA device
/// (AWS users), a person or group (GCP). Keys-only users, roles and service accounts
/// are workloads.
pub fn is_human(p: &Principal, creds: &[&Credential]) -> bool {
    use crate::model::CredentialKind::*;
    match p.kind {
        PrincipalKind::IamUser => {
            creds
                .iter()
                .any(|c| matches!(c.kind, ConsolePassword | MfaDevice))
                || p.tags.contains_key("email")
        }
        PrincipalKind::GcpUser
        | PrincipalKind::GcpGroup
        | PrincipalKind::GcpDomain
        | PrincipalKind::SsoUser
        | PrincipalKind::SsoGroup
        | PrincipalKind::Root => true,
        // People: a workforce pool's, and Google's own accounts and groups; a workload
        // identity pool's identities (GitHub Actions, GKE) are workloads.
        PrincipalKind::GcpFederated => p
            .federated
            .as_ref()
            .is_some_and(|f| matches!(f.pool, MemberPool::Workforce { .. } | MemberPool::Google)),
        PrincipalKind::GcpDeleted => p
            .deleted
            .as_ref()
            .is_some_and(|d| matches!(d.was, PrincipalKind::GcpUser | PrincipalKind::GcpGroup)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*.agency", "alice.agency"));
        assert!(glob("ci-*", "CI-deploy"));
        assert!(!glob("ci-*", "deploy-ci"));
        assert!(glob("a?c", "abc"));
    }

    use crate::config::{PartySpec, RawConfig};
    use crate::model::AdminRights;
    use std::collections::BTreeMap;

    fn cfg() -> HandoverConfig {
        RawConfig {
            scenario: Some("full-transfer".into()),
            handover_date: Some("2026-12-01".into()),
            agency: Some(PartySpec {
                name: "Northwind".into(),
                email_domains: vec!["agency.example".into()],
                name_patterns: vec!["*.agency".into(), "ci-*".into()],
                tags: BTreeMap::from([("managed-by".into(), "agency".into())]),
                ..Default::default()
            }),
            customer: Some(PartySpec {
                name: "Contoso".into(),
                email_domains: vec!["customer.example".into()],
                name_patterns: vec!["*.customer".into()],
                tags: BTreeMap::from([("owner".into(), "customer".into())]),
                ..Default::default()
            }),
            ..Default::default()
        }
        .validate(std::path::Path::new("."))
        .expect("valid config")
    }

    fn iam_user(name: &str, tags: &[(&str, &str)]) -> Principal {
        Principal {
            id: format!("arn:aws:iam::123456789012:user/{name}"),
            provider: Provider::Aws,
            scope: "123456789012".into(),
            kind: PrincipalKind::IamUser,
            name: name.into(),
            path: None,
            created: None,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
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
            access_ends: crate::model::TimeBound::Unbounded,
        }
    }

    fn github_cfg() -> HandoverConfig {
        let mut c = cfg();
        c.agency.github_orgs = vec!["agency-org".into()];
        c.customer.github_orgs = vec!["customer-org".into()];
        c
    }

    /// A GitHub Actions trust of role `deploy` under the given condition clauses.
    fn github_trust(conditions: Vec<ConditionClause>) -> Credential {
        let provider =
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
        Credential {
            id: format!("arn:aws:iam::123456789012:role/deploy/trust/{provider}"),
            principal: "arn:aws:iam::123456789012:role/deploy".into(),
            provider: Provider::Aws,
            scope: "123456789012".into(),
            kind: crate::model::CredentialKind::RoleTrust,
            identifier: Some(provider.into()),
            status: crate::model::Status::Active,
            created: None,
            last_used: crate::model::LastUsed::unknown("n/a"),
            detail: CredentialDetail::Trust(TrustDetail {
                trusted: OutsidePrincipal {
                    kind: crate::model::OutsideKind::FederatedOidc,
                    value: provider.into(),
                    account_id: None,
                },
                actions: vec!["sts:AssumeRoleWithWebIdentity".into()],
                conditions,
                ends: crate::model::TimeBound::Unbounded,
            }),
        }
    }

    fn sub(operator: &str, values: &[&str]) -> ConditionClause {
        ConditionClause::new(
            operator,
            GITHUB_SUB,
            values.iter().map(|v| v.to_string()).collect(),
        )
    }

    fn github_owner(conditions: Vec<ConditionClause>) -> Classification {
        let role = Classification::unknown("the role");
        credential_owner(&github_cfg(), &github_trust(conditions), &role)
    }

    /// Regression (issue 12): the trust's conditions were display lines split back on
    /// ", ", so ONE subject value holding ", repo:customer-org/x" counted as two orgs and
    /// the agency's trust became "repositories of different parties" (unknown).
    #[test]
    fn a_subject_value_holding_a_comma_is_one_value_naming_one_org() {
        let c = github_owner(vec![sub(
            "StringLike",
            &["repo:agency-org/app:ref:refs/heads/main, repo:customer-org/x"],
        )]);
        assert_eq!(
            (c.owner, c.party.as_deref()),
            (Owner::Agency, Some("Northwind")),
            "{c:?}"
        );
        assert_eq!(
            github_orgs(&[sub(
                "StringLike",
                &["repo:agency-org/app:*, repo:customer-org/x"]
            )]),
            vec!["agency-org"]
        );
    }

    /// Two values of one clause are ORed: both orgs are let in.
    #[test]
    fn subject_values_of_two_parties_are_unknown_and_of_one_party_are_its() {
        let c = github_owner(vec![sub(
            "StringLike",
            &["repo:agency-org/app:*", "repo:customer-org/x:*"],
        )]);
        assert_eq!(c.owner, Owner::Unknown, "{c:?}");
        assert!(
            c.reason.contains("agency-org, customer-org"),
            "{}",
            c.reason
        );
        let c = github_owner(vec![sub(
            "StringEquals",
            &[
                "repo:customer-org/a:ref:refs/heads/main",
                "repo:Customer-Org/b:*",
            ],
        )]);
        assert_eq!(c.owner, Owner::Customer, "{c:?}");
    }

    /// The key is matched as a key, case-insensitively as IAM does, never by finding its
    /// name somewhere in a line; a negated operator's values are the repositories refused.
    #[test]
    fn only_a_positive_clause_on_the_sub_key_names_who_gets_in() {
        // Another key whose value mentions the sub key and an org.
        let other = ConditionClause::new(
            "StringEquals",
            "token.actions.githubusercontent.com:aud",
            vec!["token.actions.githubusercontent.com:sub = repo:agency-org/x".into()],
        );
        let c = github_owner(vec![other]);
        assert_eq!(
            (c.owner, c.party.as_deref()),
            (Owner::ThirdParty, Some("any GitHub repository")),
            "{c:?}"
        );
        let c = github_owner(vec![ConditionClause::new(
            "StringLike",
            "Token.Actions.GitHubUserContent.com:Sub",
            vec!["repo:agency-org/app:*".into()],
        )]);
        assert_eq!(c.owner, Owner::Agency, "{c:?}");
        let c = github_owner(vec![sub("StringNotLike", &["repo:agency-org/*"])]);
        assert_eq!(c.owner, Owner::ThirdParty, "{c:?}");
        assert!(c.reason.contains("only refuses"), "{}", c.reason);
    }

    /// Regression (issue 10, item 13): a customer tag on a user whose email-like name says
    /// agency made the user silently the customer's; the disagreement is now `unknown`
    /// with both reasons.
    #[test]
    fn a_customer_tag_and_an_agency_email_name_disagree() {
        let c = classify(
            &cfg(),
            &iam_user("someone@agency.example", &[("owner", "customer")]),
            false,
        );
        assert_eq!(c.owner, Owner::Unknown, "{c:?}");
        assert!(c.reason.contains("tag: owner=customer"), "{}", c.reason);
        assert!(
            c.reason.contains("agency.example is listed"),
            "{}",
            c.reason
        );
        assert!(
            c.reason.contains("Northwind") && c.reason.contains("Contoso"),
            "{}",
            c.reason
        );
    }

    /// Regression (issue 10, item 13): an untagged user named `someone@agency-domain` was
    /// not classified by its domain at all.
    #[test]
    fn an_untagged_email_named_user_is_classified_by_its_domain() {
        let c = classify(&cfg(), &iam_user("someone@agency.example", &[]), false);
        assert_eq!(
            (c.owner, c.party.as_deref()),
            (Owner::Agency, Some("Northwind")),
            "{c:?}"
        );
        assert!(
            c.reason.contains("agency.example is listed"),
            "{}",
            c.reason
        );
    }

    /// Signals that agree give that owner with every reason.
    #[test]
    fn agreeing_signals_give_the_owner_with_every_reason() {
        let c = classify(
            &cfg(),
            &iam_user(
                "ci-deploy",
                &[("managed-by", "agency"), ("email", "ops@agency.example")],
            ),
            false,
        );
        assert_eq!(c.owner, Owner::Agency, "{c:?}");
        for why in [
            "tag: managed-by=agency",
            "email tag",
            "ci-deploy matches ci-*",
        ] {
            assert!(c.reason.contains(why), "{why}: {}", c.reason);
        }
        let c = classify(&cfg(), &iam_user("bob.customer", &[]), false);
        assert_eq!(c.owner, Owner::Customer, "{c:?}");
        assert_eq!(
            classify(&cfg(), &iam_user("nobody", &[]), false).owner,
            Owner::Unknown
        );
    }

    /// A Google group listed for one party in another party's domain is `unknown`, not
    /// whichever signal was tried first.
    #[test]
    fn a_listed_group_in_another_partys_domain_is_unknown() {
        let mut config = cfg();
        config.agency.google_groups =
            vec!["ops@customer.example".into(), "team@agency.example".into()];
        let mut group = iam_user("ops@customer.example", &[]);
        group.provider = Provider::Gcp;
        group.kind = PrincipalKind::GcpGroup;
        let c = classify(&config, &group, false);
        assert_eq!(c.owner, Owner::Unknown, "{c:?}");
        assert!(
            c.reason.contains("Google group") && c.reason.contains("customer.example is listed"),
            "{}",
            c.reason
        );
        group.name = "team@agency.example".into();
        assert_eq!(classify(&config, &group, false).owner, Owner::Agency);
    }

    /// A user name, or a tag (key, value): one signal.
    type Signal = (Option<&'static str>, Option<(&'static str, &'static str)>);

    /// The signals of one party, each of which alone places a user with it.
    fn signals_of(agency: bool) -> Vec<Signal> {
        if agency {
            vec![
                (Some("x.agency"), None),
                (Some("x@agency.example"), None),
                (None, Some(("managed-by", "agency"))),
                (None, Some(("email", "x@agency.example"))),
            ]
        } else {
            vec![
                (Some("x.customer"), None),
                (Some("x@customer.example"), None),
                (None, Some(("owner", "customer"))),
                (None, Some(("Email", "x@customer.example"))),
            ]
        }
    }

    proptest::proptest! {
        /// Adding a signal for the other party never leaves a definite owner.
        #[test]
        fn a_contradicting_signal_never_yields_a_definite_owner(a in 0usize..4, b in 0usize..4, agency_first in proptest::bool::ANY) {
            let (n1, t1) = signals_of(agency_first)[a];
            let (n2, t2) = signals_of(!agency_first)[b];
            // Both signals can be names only one at a time: the name is one field.
            proptest::prop_assume!(!(n1.is_some() && n2.is_some()));
            let name = n1.or(n2).unwrap_or("plain");
            let tags: Vec<(&str, &str)> = t1.into_iter().chain(t2).collect();
            proptest::prop_assume!(tags.len() < 2 || tags[0].0 != tags[1].0);
            let alone = classify(&cfg(), &iam_user(n1.unwrap_or("plain"), &t1.into_iter().collect::<Vec<_>>()), false);
            proptest::prop_assert_ne!(alone.owner, Owner::Unknown, "each signal alone places the user");
            let both = classify(&cfg(), &iam_user(name, &tags), false);
            proptest::prop_assert_eq!(both.owner, Owner::Unknown, "{:?}", both);
        }
    }

    /// The semantics of `*` and `?` on the cases a backtracking matcher gets wrong.
    #[test]
    fn globs_backtrack_and_anchor() {
        for (pat, text, want) in [
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("?", "", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbYcZ", false),
            ("*ab", "aab", true),
            ("*ab", "abab", true),
            ("*aab", "aaab", true),
            ("a*a", "a", false),
            ("**a**", "bab", true),
            ("*?", "", false),
            ("*?", "x", true),
            ("ci-*", "ci-", true),
            ("old-contractor", "OLD-Contractor", true),
            ("*.agency", "alice.agency.evil", false),
        ] {
            assert_eq!(glob(pat, text), want, "glob({pat:?}, {text:?})");
        }
    }

    /// Regression (issue 10, item 7): `********z` took 69 s and 2M stars overflowed the
    /// stack (exit 134) in the recursive matcher. Generous wall-clock guard: a hang
    /// guard, not a benchmark.
    #[test]
    fn glob_with_many_stars_finishes_at_once() {
        let started = std::time::Instant::now();
        let text = "a".repeat(64);
        assert!(!glob("********z", &text));
        let stars = "*".repeat(2_000_000) + "z";
        assert!(!glob(&stars, &text));
        assert!(glob(&stars, "aaaz"));
        let alternating = "*a".repeat(2_000) + "z";
        assert!(!glob(&alternating, &"a".repeat(4_000)));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
    }

    fn federated(pool: MemberPool, selects: PoolSelection) -> Principal {
        let mut p = iam_user("principalSet://x", &[]);
        p.provider = Provider::Gcp;
        p.kind = PrincipalKind::GcpFederated;
        p.federated = Some(crate::model::FederatedMember { pool, selects });
        p
    }

    fn wif_member(number: &str) -> Principal {
        federated(
            MemberPool::WorkloadIdentity {
                project_number: number.into(),
                pool: "github".into(),
            },
            PoolSelection::Attribute {
                name: "repository".into(),
                value: "org/app".into(),
            },
        )
    }

    /// A workload identity pool's identities are placed as the audited pool is; a pool
    /// not audited by its project number when the config lists it, else by a person.
    /// (They used to parse as `gcp-public`: "anyone", third party.)
    #[test]
    fn a_workload_identity_pool_member_is_placed_by_its_pool() {
        let mut config = cfg();
        config.customer.gcp_projects = vec!["contoso-prod".into(), "222".into()];
        let agency_pool = Classification {
            owner: Owner::Agency,
            party: Some("Northwind".into()),
            reason: "name ci-pool matches ci-*".into(),
        };
        let c = federated_owner(&config, &wif_member("111"), Some(&agency_pool));
        assert_eq!(
            (c.owner, c.party.as_deref()),
            (Owner::Agency, Some("Northwind")),
            "{c:?}"
        );
        assert!(c.reason.contains("placed as the pool is"), "{}", c.reason);
        let c = classify(&config, &wif_member("222"), false);
        assert_eq!(c.owner, Owner::Customer, "{c:?}");
        let c = classify(&config, &wif_member("333"), false);
        assert_eq!(c.owner, Owner::Unknown, "{c:?}");
        assert!(
            c.reason.contains("333 is not in the config"),
            "{}",
            c.reason
        );
        let gke = federated(
            MemberPool::Gke {
                project_number: "444".into(),
                project: "contoso-prod".into(),
            },
            PoolSelection::All,
        );
        assert_eq!(classify(&config, &gke, false).owner, Owner::Customer);
        assert!(!is_human(&gke, &[]));
    }

    #[test]
    fn workforce_and_google_members_are_placed_by_name_pattern_and_email() {
        let config = cfg();
        let workforce = |pool: &str| {
            federated(
                MemberPool::Workforce { pool: pool.into() },
                PoolSelection::All,
            )
        };
        let c = classify(&config, &workforce("ci-staff"), false);
        assert_eq!(c.owner, Owner::Agency, "{c:?}");
        assert!(is_human(&workforce("ci-staff"), &[]));
        assert_eq!(
            classify(&config, &workforce("contractors"), false).owner,
            Owner::Unknown
        );
        let subject = federated(
            MemberPool::Google,
            PoolSelection::Subject {
                value: "alice@agency.example".into(),
            },
        );
        assert_eq!(classify(&config, &subject, false).owner, Owner::Agency);
        let group = federated(
            MemberPool::Google,
            PoolSelection::Group {
                value: "ops@customer.example".into(),
            },
        );
        assert_eq!(classify(&config, &group, false).owner, Owner::Customer);
        let customer = federated(
            MemberPool::Google,
            PoolSelection::Customer { id: "C01".into() },
        );
        assert_eq!(classify(&config, &customer, false).owner, Owner::Unknown);
    }

    fn provider(owners: &[&str], status: crate::model::Status) -> Credential {
        use crate::model::{CredentialKind, LastUsed, WorkloadIdentityDetail};
        Credential {
            id: format!("pool/providers/{}", owners.join("-")),
            principal: "pool".into(),
            provider: Provider::Gcp,
            scope: "contoso-prod".into(),
            kind: CredentialKind::GcpWorkloadIdentityProvider,
            identifier: None,
            status,
            created: None,
            last_used: LastUsed::Never,
            detail: CredentialDetail::WorkloadIdentityProvider(WorkloadIdentityDetail {
                name: "p".into(),
                pool: "pool".into(),
                protocol: "oidc".into(),
                issuer: Some("https://token.actions.githubusercontent.com".into()),
                attribute_mapping: Default::default(),
                github_owners: owners.iter().map(|o| o.to_string()).collect(),
                attribute_condition: Some("assertion.repository_owner == 'x'".into()),
                may_act_as: Vec::new(),
            }),
        }
    }

    /// A pool in the customer's project whose provider lets in the agency's GitHub
    /// organization: its identities are the agency's pipelines, not the customer's.
    #[test]
    fn a_pool_s_identities_are_whom_its_active_providers_let_in() {
        use crate::model::Status;
        let config = github_cfg();
        let by_project = Classification {
            owner: Owner::Customer,
            party: Some("Contoso".into()),
            reason: "it belongs with its project".into(),
        };
        let agency = provider(&["agency-org"], Status::Active);
        let c = pool_identities_owner(&config, &by_project, &[&agency]);
        assert_eq!(c.owner, Owner::Agency, "{c:?}");
        let customer = provider(&["customer-org"], Status::Active);
        let c = pool_identities_owner(&config, &by_project, &[&agency, &customer]);
        assert_eq!(c.owner, Owner::Unknown, "{c:?}");
        let disabled = provider(&["agency-org"], Status::Inactive);
        let c = pool_identities_owner(&config, &by_project, &[&disabled]);
        assert_eq!(c, by_project);
    }
}
