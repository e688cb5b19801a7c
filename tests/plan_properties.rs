//! Property tests over generated inventories: whatever the account holds, a plan
//! either keeps a working customer admin in every account or is refused; it never
//! revokes agency admin before establishing the customer's access; the identity that
//! ran the audit comes last; the same input gives the same plan.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use handover::config::{PartySpec, RawConfig};
use handover::model::*;
use handover::plan::{self, Phase};
use handover::policy::{self, Action};
use proptest::prelude::*;

const ACCT: &str = "123456789012";
const AGENCY_ACCT: &str = "210987654321";

#[derive(Debug, Clone)]
struct GenUser {
    owner: u8, // 0 agency, 1 customer, 2 unplaced
    admin: bool,
    password: bool,
    password_used_days: Option<i64>,
    keys: Vec<(bool, i64, Option<i64>)>, // active, age days, used days ago
}

#[derive(Debug, Clone)]
struct GenRole {
    admin: bool,
    trusts_agency: bool,
    customer_named: bool,
}

fn user() -> impl Strategy<Value = GenUser> {
    (
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        prop::option::of(0i64..400),
        prop::collection::vec(
            (any::<bool>(), 0i64..500, prop::option::of(0i64..300)),
            0..3,
        ),
    )
        .prop_map(
            |(owner, admin, password, password_used_days, keys)| GenUser {
                owner,
                admin,
                password,
                password_used_days,
                keys,
            },
        )
}

fn role() -> impl Strategy<Value = GenRole> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(admin, trusts_agency, customer_named)| GenRole {
            admin,
            trusts_agency,
            customer_named,
        },
    )
}

fn inventory(users: &[GenUser], roles: &[GenRole], auditor: Option<usize>) -> Inventory {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    let mut inv = Inventory::new(now);
    let user_arn = |i: usize, u: &GenUser| {
        let suffix = ["agency", "customer", "x"][u.owner as usize];
        format!("arn:aws:iam::{ACCT}:user/u{i}.{suffix}")
    };
    inv.sources.push(Source {
        provider: Provider::Aws,
        scope: ACCT.into(),
        mode: SourceMode::Live,
        regions: vec!["us-east-1".into()],
        identity: auditor.and_then(|i| users.get(i).map(|u| user_arn(i, u))),
        credential_report_generated_at: Some(now),
        notes: Vec::new(),
    });
    let admin = |yes: bool| AdminRights {
        equivalent: Some(yes),
        via: if yes {
            vec!["AdministratorAccess".into()]
        } else {
            vec![]
        },
    };
    for (i, u) in users.iter().enumerate() {
        let arn = user_arn(i, u);
        let name = arn.rsplit('/').next().unwrap().to_string();
        inv.principals.push(Principal {
            id: arn.clone(),
            provider: Provider::Aws,
            scope: ACCT.into(),
            kind: PrincipalKind::IamUser,
            name,
            path: None,
            created: Some(now - Duration::days(600)),
            tags: BTreeMap::new(),
            groups: vec![],
            policies: vec![],
            admin: admin(u.admin),
            permissions_boundary: None,
            last_used: None,
            disabled: None,
            deleted: None,
            federated: None,
            access_ends: TimeBound::Unbounded,
        });
        let mk =
            |suffix: String, kind, status, created: Option<i64>, used: Option<i64>| Credential {
                id: format!("{arn}/{suffix}"),
                principal: arn.clone(),
                provider: Provider::Aws,
                scope: ACCT.into(),
                kind,
                identifier: None,
                status,
                created: created.map(|d| now - Duration::days(d)),
                last_used: match used {
                    Some(d) => LastUsed::Used {
                        at: now - Duration::days(d),
                        service: None,
                        region: None,
                    },
                    None => LastUsed::Never,
                },
                detail: CredentialDetail::None,
            };
        if u.password {
            inv.credentials.push(mk(
                "console-password".into(),
                CredentialKind::ConsolePassword,
                Status::Active,
                Some(500),
                u.password_used_days,
            ));
        }
        for (k, (active, age, used)) in u.keys.iter().enumerate() {
            let status = if *active {
                Status::Active
            } else {
                Status::Inactive
            };
            inv.credentials.push(mk(
                format!("access-key/AKIA{i}X{k}"),
                CredentialKind::AccessKey,
                status,
                Some(*age),
                used.map(|d| d.min(*age)),
            ));
        }
    }
    for (i, r) in roles.iter().enumerate() {
        let name = if r.customer_named {
            format!("r{i}.customer")
        } else {
            format!("r{i}")
        };
        let arn = format!("arn:aws:iam::{ACCT}:role/{name}");
        inv.principals.push(Principal {
            id: arn.clone(),
            provider: Provider::Aws,
            scope: ACCT.into(),
            kind: PrincipalKind::IamRole,
            name,
            path: None,
            created: None,
            tags: BTreeMap::new(),
            groups: vec![],
            policies: vec![],
            admin: admin(r.admin),
            permissions_boundary: None,
            last_used: None,
            disabled: None,
            deleted: None,
            federated: None,
            access_ends: TimeBound::Unbounded,
        });
        if r.trusts_agency {
            inv.credentials.push(Credential {
                id: format!("{arn}/trust/arn:aws:iam::{AGENCY_ACCT}:root"),
                principal: arn.clone(),
                provider: Provider::Aws,
                scope: ACCT.into(),
                kind: CredentialKind::RoleTrust,
                identifier: None,
                status: Status::Active,
                created: None,
                last_used: LastUsed::unknown("n/a"),
                detail: CredentialDetail::Trust(TrustDetail {
                    trusted: OutsidePrincipal {
                        kind: OutsideKind::Account,
                        value: format!("arn:aws:iam::{AGENCY_ACCT}:root"),
                        account_id: Some(AGENCY_ACCT.into()),
                    },
                    actions: vec!["sts:AssumeRole".into()],
                    conditions: vec![],
                    ends: TimeBound::Unbounded,
                }),
            });
        }
    }
    inv.normalize();
    inv
}

/// The documentation the config names, read as `handover plan` reads it.
fn docs(cfg: &handover::config::HandoverConfig) -> Vec<plan::DocItem> {
    handover::docs::read(&cfg.base_dir, &plan::wanted_documents(cfg)).unwrap()
}

fn config(scenario: &str) -> handover::config::HandoverConfig {
    RawConfig {
        scenario: Some(scenario.into()),
        handover_date: Some("2026-12-01".into()),
        agency_access_ends: Some("2027-01-31".into()),
        agency: Some(PartySpec {
            name: "Agency".into(),
            aws_accounts: vec![AGENCY_ACCT.into()],
            name_patterns: vec!["*.agency".into()],
            ..Default::default()
        }),
        customer: Some(PartySpec {
            name: "Customer".into(),
            aws_accounts: vec![ACCT.into()],
            name_patterns: vec!["*.customer".into()],
            ..Default::default()
        }),
        ..Default::default()
    }
    .validate(std::path::Path::new("."))
    .expect("valid config")
}

fn load_policy(name: &str) -> &'static policy::Policy {
    // Loading checks each policy against a generated corpus: do it once per process.
    static FULL: std::sync::OnceLock<policy::Policy> = std::sync::OnceLock::new();
    static OPERATED: std::sync::OnceLock<policy::Policy> = std::sync::OnceLock::new();
    let cell = if name == "full-transfer.yaml" {
        &FULL
    } else {
        &OPERATED
    };
    cell.get_or_init(|| {
        policy::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("policies")
                .join(name),
        )
        .unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_a_customer_admin_order_safely_and_are_deterministic(
        users in prop::collection::vec(user(), 1..7),
        roles in prop::collection::vec(role(), 0..4),
        auditor in prop::option::of(0usize..7),
        agency_operated in any::<bool>(),
    ) {
        let (policy_file, scenario) = if agency_operated { ("agency-operated.yaml", "agency-operated") } else { ("full-transfer.yaml", "full-transfer") };
        let pol = load_policy(policy_file);
        let cfg = config(scenario);
        let inv = inventory(&users, &roles, auditor);
        let result = plan::build(&inv, pol, &cfg, docs(&cfg));

        // A customer admin user with an active console password is always kept (the
        // shipped policies transfer customer passwords), so such a plan is never refused.
        let keeps_admin = users.iter().any(|u| u.owner == 1 && u.admin && u.password);
        match result {
            Err(e) => {
                prop_assert!(matches!(e, handover::error::Error::Refused { .. }), "unexpected error {e}");
                prop_assert!(!keeps_admin, "refused although a customer admin keeps a password");
            }
            Ok(p) => {
                // Every account keeps a customer admin, and the steps agree.
                for (scope, admins) in &p.summary.customer_admins_after {
                    prop_assert!(!admins.is_empty(), "{scope} has no customer admin");
                    for name in admins {
                        let steps: Vec<&plan::Step> = p.steps.iter().filter(|s| s.target.principal.as_deref().is_some_and(|pr| pr.ends_with(&format!("/{name}")))).collect();
                        prop_assert!(steps.is_empty() || steps.iter().any(|s| s.action != Action::Revoke), "admin {name} loses every credential");
                    }
                }
                // Phases never go backwards: customer access before revoking agency admin.
                prop_assert!(p.steps.windows(2).all(|w| w[0].phase <= w[1].phase));
                let last_establish = p.steps.iter().rposition(|s| s.phase == Phase::Establish);
                let first_admin_revoke = p.steps.iter().position(|s| s.phase == Phase::RevokeAdmin);
                if let (Some(a), Some(b)) = (last_establish, first_admin_revoke) {
                    prop_assert!(a < b);
                }
                // The auditor's revocations come after every other step.
                if let Some(id) = inv.sources[0].identity.clone() {
                    if let Some(first_self) = p.steps.iter().position(|s| s.target.principal.as_deref() == Some(id.as_str()) && matches!(s.action, Action::Revoke | Action::Rotate)) {
                        prop_assert!(p.steps[first_self..].iter().all(|s| s.target.principal.as_deref() == Some(id.as_str())));
                    }
                }
                // Orders are 1..n, ids unique, the digest verifies.
                prop_assert!(p.steps.iter().enumerate().all(|(i, s)| s.order == i + 1));
                let ids: std::collections::BTreeSet<&str> = p.steps.iter().map(|s| s.id.as_str()).collect();
                prop_assert_eq!(ids.len(), p.steps.len());
                prop_assert_eq!(p.compute_digest(), p.digest.clone());
                // Deterministic, whatever the order of the inventory's lists.
                let mut reversed = inv.clone();
                reversed.principals.reverse();
                reversed.credentials.reverse();
                let again = plan::build(&reversed, pol, &cfg, docs(&cfg)).expect("same input, same outcome");
                prop_assert_eq!(serde_json::to_string(&again).unwrap(), serde_json::to_string(&p).unwrap());
            }
        }
    }
}
