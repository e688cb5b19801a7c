//! An IAM member string (`user:a@b`, `serviceAccount:sa@p.iam.gserviceaccount.com`,
//! `deleted:user:a@b?uid=1`, `allUsers`, `principalSet://iam.googleapis.com/...`, ...)
//! parsed once, where a policy is read, into the kind, the name and (for a deleted
//! member) what it was, (for a `principal://` / `principalSet://` member) its pool and
//! what it selects there. The assembler passes the parsed member on, and its principal
//! carries what was read (`Principal.deleted`, `Principal.federated`), which the party
//! classification and the workload identity assembler read instead of splitting the
//! name again.
//!
//! Invariants:
//! - The kind is read from the prefix before the first `:`, as IAM writes it
//!   (https://cloud.google.com/iam/docs/principal-identifiers,
//!   https://cloud.google.com/iam/docs/reference/rest/v1/Policy#Binding for the
//!   `deleted:user:EMAIL?uid=ID` forms); a member without a
//!   known prefix (`allUsers`, `allAuthenticatedUsers`, and any form this tool does not
//!   know) is `GcpPublic`, so an unknown form is treated as the widest, never ignored.
//! - `principal://` and `principalSet://` members are parsed whole, path segment by
//!   segment, into the forms the principal identifiers page documents (workload identity
//!   pools, GKE's `PROJECT_ID.svc.id.goog` pool, workforce pools) and Google's own
//!   `goog/` forms (https://cloud.google.com/iam/docs/reference/rest/v2/policies#DenyRule:
//!   `principal://goog/subject/EMAIL`, `principalSet://goog/group/EMAIL`,
//!   `principalSet://goog/cloudIdentityCustomerId/ID`, `principalSet://goog/public:all`).
//!   `goog/public:all` is `GcpPublic`; any other form, or a documented one with a part
//!   missing or malformed (a project number that is not digits, an empty pool), is
//!   `GcpPublic` too (fail-safe). A single `principal://` names a subject only; a set
//!   never does.
//! - The name is the text after the first `:` (the whole member when there is none,
//!   and for a `principal://`/`principalSet://` member).
//! - A `deleted:` member's inner member is parsed by the same rules (one level: the
//!   inner kind is read from its own prefix), its address cut at `?uid=`; a deleted
//!   `principal://goog/subject/EMAIL` was a user, `principalSet://goog/group/EMAIL` a
//!   group.

use crate::model::{DeletedMember, FederatedMember, MemberPool, PoolSelection, PrincipalKind};

/// One IAM member, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    /// As the policy writes it (for ids and messages).
    pub raw: &'a str,
    pub kind: PrincipalKind,
    /// The text after the prefix: an address, a domain, or the whole public member.
    pub name: &'a str,
    /// For a `deleted:` member: what it was.
    pub deleted: Option<DeletedMember>,
    /// For a `principal://` / `principalSet://` member: its pool and what it selects.
    pub federated: Option<FederatedMember>,
}

impl<'a> Member<'a> {
    pub fn parse(raw: &'a str) -> Self {
        if let Some(parsed) = principal_uri(raw) {
            return Member {
                raw,
                kind: parsed
                    .as_ref()
                    .map_or(PrincipalKind::GcpPublic, |_| PrincipalKind::GcpFederated),
                name: raw,
                deleted: None,
                federated: parsed,
            };
        }
        let (kind, name) = prefix_kind(raw);
        let deleted = (kind == PrincipalKind::GcpDeleted).then(|| deleted_member(name));
        Member {
            raw,
            kind,
            name,
            deleted,
            federated: None,
        }
    }

    /// The service account's address, when the member is one.
    pub fn service_account(&self) -> Option<&'a str> {
        (self.kind == PrincipalKind::GcpServiceAccount).then_some(self.name)
    }
}

/// What a `deleted:` member's inner member (`user:a@b?uid=1`,
/// `principal://goog/subject/a@b?uid=1`) was.
fn deleted_member(inner: &str) -> DeletedMember {
    let (address, uid) = match inner.split_once('?') {
        Some((address, query)) => (address, query.strip_prefix("uid=")),
        None => (inner, None),
    };
    let (was, email) = match principal_uri(address) {
        Some(Some(FederatedMember {
            pool: MemberPool::Google,
            selects: PoolSelection::Subject { value },
        })) => (PrincipalKind::GcpUser, value),
        Some(Some(FederatedMember {
            pool: MemberPool::Google,
            selects: PoolSelection::Group { value },
        })) => (PrincipalKind::GcpGroup, value),
        Some(Some(_)) => (PrincipalKind::GcpFederated, address.to_string()),
        Some(None) => (PrincipalKind::GcpPublic, address.to_string()),
        None => {
            let (was, email) = prefix_kind(address);
            (was, email.to_string())
        }
    };
    DeletedMember {
        was,
        email,
        uid: uid.map(str::to_string),
    }
}

/// A `principal://` or `principalSet://` member: `None` when it is neither;
/// `Some(None)` when it is one but not a form this parser knows, or
/// `principalSet://goog/public:all` (both are public: fail-safe for the first).
fn principal_uri(member: &str) -> Option<Option<FederatedMember>> {
    let (set, rest) = match member.strip_prefix("principalSet://") {
        Some(rest) => (true, rest),
        None => (false, member.strip_prefix("principal://")?),
    };
    Some(match rest.split_once('/') {
        Some(("goog", path)) => google(set, path),
        Some(("iam.googleapis.com", path)) => pool_member(set, path),
        _ => None,
    })
}

/// `goog/subject/EMAIL`, `goog/group/EMAIL`, `goog/cloudIdentityCustomerId/ID`
/// (`goog/public:all`, and anything else, is `None`).
fn google(set: bool, path: &str) -> Option<FederatedMember> {
    let (what, value) = path.split_once('/')?;
    let selects = match (set, what) {
        (false, "subject") => PoolSelection::Subject {
            value: one_segment(value)?,
        },
        (true, "group") => PoolSelection::Group {
            value: one_segment(value)?,
        },
        (true, "cloudIdentityCustomerId") => PoolSelection::Customer {
            id: one_segment(value)?,
        },
        _ => return None,
    };
    Some(FederatedMember {
        pool: MemberPool::Google,
        selects,
    })
}

/// A non-empty value with no `/`.
fn one_segment(value: &str) -> Option<String> {
    (!value.is_empty() && !value.contains('/')).then(|| value.to_string())
}

/// `projects/NUMBER/locations/global/workloadIdentityPools/POOL/SELECTOR` or
/// `locations/global/workforcePools/POOL/SELECTOR`.
fn pool_member(set: bool, path: &str) -> Option<FederatedMember> {
    let (pool, selector) = if let Some(rest) = path.strip_prefix("projects/") {
        let (number, rest) = rest.split_once('/')?;
        let rest = rest.strip_prefix("locations/global/workloadIdentityPools/")?;
        let (pool, selector) = rest.split_once('/')?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let project_number = number.to_string();
        let pool = match pool.strip_suffix(".svc.id.goog") {
            Some(project) if !project.is_empty() => MemberPool::Gke {
                project_number,
                project: project.to_string(),
            },
            _ => MemberPool::WorkloadIdentity {
                project_number,
                pool: pool.to_string(),
            },
        };
        (pool, selector)
    } else {
        let rest = path.strip_prefix("locations/global/workforcePools/")?;
        let (pool, selector) = rest.split_once('/')?;
        (
            MemberPool::Workforce {
                pool: pool.to_string(),
            },
            selector,
        )
    };
    if matches!(&pool, MemberPool::WorkloadIdentity { pool, .. } | MemberPool::Workforce { pool } if pool.is_empty())
    {
        return None;
    }
    let selects = selection(set, matches!(pool, MemberPool::Gke { .. }), selector)?;
    Some(FederatedMember { pool, selects })
}

/// What a pool member's path after the pool selects: `subject/VALUE` (a single
/// principal), `group/VALUE`, `attribute.NAME/VALUE`, `*` (sets); in GKE's pool also
/// `namespace/NS` and `kubernetes.cluster/URL`. A value may hold `/` (a GKE subject is
/// `ns/NS/sa/KSA`, a GitHub repository `org/repo`), never be empty.
fn selection(set: bool, gke: bool, selector: &str) -> Option<PoolSelection> {
    if selector == "*" {
        return set.then_some(PoolSelection::All);
    }
    let (what, value) = selector.split_once('/')?;
    if value.is_empty() {
        return None;
    }
    let value = value.to_string();
    match (set, what) {
        (false, "subject") => Some(PoolSelection::Subject { value }),
        (true, "group") => Some(PoolSelection::Group { value }),
        (true, what) => {
            let name = match what.strip_prefix("attribute.") {
                Some(name) => name,
                None if gke && matches!(what, "namespace" | "kubernetes.cluster") => what,
                None => return None,
            };
            (!name.is_empty()).then(|| PoolSelection::Attribute {
                name: name.to_string(),
                value,
            })
        }
        (false, _) => None,
    }
}

/// The kind a member's prefix names, and the text after it.
fn prefix_kind(member: &str) -> (PrincipalKind, &str) {
    let (prefix, name) = member.split_once(':').unwrap_or((member, member));
    let kind = match prefix {
        "user" => PrincipalKind::GcpUser,
        "group" => PrincipalKind::GcpGroup,
        "domain" => PrincipalKind::GcpDomain,
        "serviceAccount" => PrincipalKind::GcpServiceAccount,
        "deleted" => PrincipalKind::GcpDeleted,
        _ => PrincipalKind::GcpPublic,
    };
    (kind, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_into_kind_name_and_what_a_deleted_one_was() {
        let m = Member::parse("serviceAccount:sa@p.iam.gserviceaccount.com");
        assert_eq!(m.kind, PrincipalKind::GcpServiceAccount);
        assert_eq!(m.service_account(), Some("sa@p.iam.gserviceaccount.com"));
        let m = Member::parse("user:a@b.example");
        assert_eq!(
            (m.kind, m.name, m.service_account()),
            (PrincipalKind::GcpUser, "a@b.example", None)
        );
        let m = Member::parse("allUsers");
        assert_eq!((m.kind, m.name), (PrincipalKind::GcpPublic, "allUsers"));
        let m = Member::parse("deleted:user:mallory@x.example?uid=123");
        assert_eq!(
            (m.kind, m.name),
            (PrincipalKind::GcpDeleted, "user:mallory@x.example?uid=123")
        );
        assert_eq!(
            m.deleted,
            Some(DeletedMember {
                was: PrincipalKind::GcpUser,
                email: "mallory@x.example".into(),
                uid: Some("123".into()),
            })
        );
        let m = Member::parse("deleted:serviceAccount:sa@p.iam.gserviceaccount.com");
        let d = m.deleted.unwrap();
        assert_eq!(
            (d.was, d.email.as_str(), d.uid),
            (
                PrincipalKind::GcpServiceAccount,
                "sa@p.iam.gserviceaccount.com",
                None
            )
        );
        // A form this tool does not know is the widest kind, never dropped.
        assert_eq!(
            Member::parse("principalSet://x").kind,
            PrincipalKind::GcpPublic
        );
    }

    const WIF: &str = "iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools";
    const WFP: &str = "iam.googleapis.com/locations/global/workforcePools";

    fn federated(raw: &str) -> FederatedMember {
        let m = Member::parse(raw);
        assert_eq!(
            (m.kind, m.name),
            (PrincipalKind::GcpFederated, raw),
            "{raw}"
        );
        m.federated.expect(raw)
    }

    fn wif(pool: &str) -> MemberPool {
        MemberPool::WorkloadIdentity {
            project_number: "123456".into(),
            pool: pool.into(),
        }
    }

    fn attr(name: &str, value: &str) -> PoolSelection {
        PoolSelection::Attribute {
            name: name.into(),
            value: value.into(),
        }
    }

    /// Every documented `principal://` / `principalSet://` form parses into its pool and
    /// selection (a workload identity pool's workloadIdentityUser binding used to parse
    /// as `gcp-public`: a false Critical finding, and the public-access rule revoked it).
    #[test]
    fn workload_identity_pool_members_parse_into_pool_and_selection() {
        let sub = |v: &str| PoolSelection::Subject { value: v.into() };
        let cases = [
            (
                format!("principal://{WIF}/github/subject/repo:org/app:ref:refs/heads/main"),
                wif("github"),
                sub("repo:org/app:ref:refs/heads/main"),
            ),
            (
                format!("principalSet://{WIF}/github/group/deployers"),
                wif("github"),
                PoolSelection::Group {
                    value: "deployers".into(),
                },
            ),
            (
                format!("principalSet://{WIF}/github/attribute.repository/org/repo"),
                wif("github"),
                attr("repository", "org/repo"),
            ),
            (
                format!("principalSet://{WIF}/github/*"),
                wif("github"),
                PoolSelection::All,
            ),
        ];
        for (raw, pool, selects) in cases {
            assert_eq!(federated(&raw), FederatedMember { pool, selects }, "{raw}");
        }
    }

    #[test]
    fn gke_and_workforce_pool_members_parse_into_pool_and_selection() {
        let gke = MemberPool::Gke {
            project_number: "123456".into(),
            project: "shop-prod".into(),
        };
        let f = federated(&format!(
            "principal://{WIF}/shop-prod.svc.id.goog/subject/ns/web/sa/frontend"
        ));
        assert_eq!(f.pool, gke);
        assert_eq!(
            f.selects,
            PoolSelection::Subject {
                value: "ns/web/sa/frontend".into()
            }
        );
        let f = federated(&format!(
            "principalSet://{WIF}/shop-prod.svc.id.goog/namespace/web"
        ));
        assert_eq!((f.pool, f.selects), (gke, attr("namespace", "web")));
        let wfp = MemberPool::Workforce {
            pool: "agency-staff".into(),
        };
        let f = federated(&format!(
            "principal://{WFP}/agency-staff/subject/raha@agency.example"
        ));
        assert_eq!(
            (f.pool.clone(), f.selects),
            (
                wfp.clone(),
                PoolSelection::Subject {
                    value: "raha@agency.example".into()
                }
            )
        );
        let f = federated(&format!(
            "principalSet://{WFP}/agency-staff/group/admins@agency.example"
        ));
        assert_eq!(
            f.selects,
            PoolSelection::Group {
                value: "admins@agency.example".into()
            }
        );
        let f = federated(&format!(
            "principalSet://{WFP}/agency-staff/attribute.department/ops"
        ));
        assert_eq!(f.selects, attr("department", "ops"));
        let f = federated(&format!("principalSet://{WFP}/agency-staff/*"));
        assert_eq!((f.pool, f.selects), (wfp, PoolSelection::All));
    }

    #[test]
    fn google_directory_members_parse_and_public_all_stays_public() {
        let f = federated("principal://goog/subject/alice@agency.example");
        assert_eq!(
            (f.pool, f.selects),
            (
                MemberPool::Google,
                PoolSelection::Subject {
                    value: "alice@agency.example".into()
                }
            )
        );
        let f = federated("principalSet://goog/group/ops@agency.example");
        assert_eq!(
            f.selects,
            PoolSelection::Group {
                value: "ops@agency.example".into()
            }
        );
        let f = federated("principalSet://goog/cloudIdentityCustomerId/C01abc");
        assert_eq!(
            f.selects,
            PoolSelection::Customer {
                id: "C01abc".into()
            }
        );
        let m = Member::parse("principalSet://goog/public:all");
        assert_eq!((m.kind, m.federated), (PrincipalKind::GcpPublic, None));
        let d = Member::parse("deleted:principal://goog/subject/bob@agency.example?uid=42")
            .deleted
            .unwrap();
        assert_eq!(
            (d.was, d.email.as_str(), d.uid.as_deref()),
            (PrincipalKind::GcpUser, "bob@agency.example", Some("42"))
        );
        let d = Member::parse("deleted:principalSet://goog/group/ops@agency.example?uid=7")
            .deleted
            .unwrap();
        assert_eq!(
            (d.was, d.email.as_str()),
            (PrincipalKind::GcpGroup, "ops@agency.example")
        );
    }

    /// A form not documented, or a documented one with a part missing or malformed, is
    /// the widest kind (fail-safe), never a federated member of some pool.
    #[test]
    fn unknown_or_malformed_principal_forms_stay_public() {
        for raw in [
            "principalSet://x",
            "principal://goog/group/ops@agency.example",
            "principalSet://goog/subject/alice@agency.example",
            "principalSet://goog/public:none",
            "principal://iam.googleapis.com/projects/12a/locations/global/workloadIdentityPools/p/subject/s",
            "principal://iam.googleapis.com/projects/1/locations/us/workloadIdentityPools/p/subject/s",
            "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools//*",
            "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p",
            "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/s",
            "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*",
            "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/namespace/web",
            "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/attribute./v",
            "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/group/",
            "principalSet://iam.googleapis.com/locations/global/workforcePools/w",
            "principalSet://cloudresourcemanager.googleapis.com/projects/1/type/ServiceAccount",
        ] {
            let m = Member::parse(raw);
            assert_eq!((m.kind, m.federated), (PrincipalKind::GcpPublic, None), "{raw}");
        }
    }

    /// Hostile members (huge, deep, odd characters, cut anywhere) parse without a panic
    /// in one pass, to a federated member only when the whole form is documented.
    #[test]
    fn hostile_principal_members_parse_without_panic() {
        let long = format!(
            "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/attribute.a/{}",
            "x/".repeat(200_000)
        );
        let started = std::time::Instant::now();
        assert_eq!(Member::parse(&long).kind, PrincipalKind::GcpFederated);
        let deep = format!("principal://{}", "/".repeat(200_000));
        assert_eq!(Member::parse(&deep).kind, PrincipalKind::GcpPublic);
        let full = format!("principal://{WIF}/p\u{202e}/subject/\u{0}\u{1b}[2J");
        for cut in full.char_indices().map(|(i, _)| i) {
            let m = Member::parse(&full[..cut]);
            assert!(m.federated.is_none() || m.kind == PrincipalKind::GcpFederated);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
