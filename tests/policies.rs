//! Every rule of the shipped policies, one case each: a context in which that rule is
//! the one that decides, and what it decides. A last test checks no rule is left
//! without a case.

use std::collections::BTreeSet;

use handover::policy::context::*;
use handover::policy::{self, Action, AppliesTo, Outcome, Policy};

fn load(name: &str) -> Policy {
    policy::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("policies")
            .join(name),
    )
    .unwrap()
}

fn decide(p: &Policy, applies: AppliesTo, ctx: &serde_json::Value) -> (String, Action) {
    for r in p.rules.iter().filter(|r| r.applies_to == applies) {
        match r.evaluate(ctx) {
            Outcome::Match => return (r.id.clone(), r.action),
            Outcome::NoMatch => {}
            Outcome::Failed(e) => panic!("rule {} failed: {e}", r.id),
        }
    }
    ("no-rule-matched".into(), Action::Review)
}

fn handover(scenario: &str) -> HandoverCtx {
    HandoverCtx {
        scenario: scenario.into(),
        date: "2026-12-01".into(),
        access_ends: Some("2027-01-31".into()),
    }
}

fn cred(kind: &str) -> CredentialCtx {
    CredentialCtx {
        id: "c".into(),
        kind: kind.into(),
        provider: "aws".into(),
        scope: "123456789012".into(),
        active: true,
        age_days: Some(10),
        last_use: "used".into(),
        days_since_last_use: Some(3),
        stale_days: Some(3),
        stale_basis: Some("last-use".into()),
        ..Default::default()
    }
}

fn with_principal(mut p: PrincipalCtx, f: impl FnOnce(&mut PrincipalCtx)) -> PrincipalCtx {
    f(&mut p);
    p
}

fn principal(kind: &str, owner: &str, human: bool) -> PrincipalCtx {
    PrincipalCtx {
        id: "p".into(),
        kind: kind.into(),
        name: "p".into(),
        owner: owner.into(),
        human,
        ..Default::default()
    }
}

fn secret(agency_can_read: bool, kms: &str) -> SecretCtx {
    SecretCtx {
        id: "s".into(),
        name: "s".into(),
        provider: "aws".into(),
        scope: "123456789012".into(),
        agency_can_read,
        kms_key_owner: kms.into(),
        ..Default::default()
    }
}

struct Case {
    rule: &'static str,
    action: Action,
    ctx: serde_json::Value,
    applies: AppliesTo,
}

fn c(
    rule: &'static str,
    action: Action,
    cred: CredentialCtx,
    p: PrincipalCtx,
    h: &HandoverCtx,
) -> Case {
    Case {
        rule,
        action,
        ctx: for_credential(&cred, &p, h),
        applies: AppliesTo::Credentials,
    }
}

fn s(rule: &'static str, action: Action, sec: SecretCtx, h: &HandoverCtx) -> Case {
    Case {
        rule,
        action,
        ctx: for_secret(&sec, h),
        applies: AppliesTo::Secrets,
    }
}

fn with<T>(mut v: T, f: impl FnOnce(&mut T)) -> T {
    f(&mut v);
    v
}

/// A GCP credential of `kind` carrying the audit finding `finding` (if any).
fn gcp_cred(kind: &str, finding: Option<&str>) -> CredentialCtx {
    with(cred(kind), |c| {
        c.provider = "gcp".into();
        c.scope = "contoso-prod".into();
        c.findings = finding.map(|f| vec![f.to_string()]).unwrap_or_default();
    })
}

/// A workload identity provider letting in `owner`'s identities.
fn provider(owner: &str, finding: Option<&str>) -> CredentialCtx {
    with(gcp_cred("gcp-workload-identity-provider", finding), |c| {
        c.trusted_owner = Some(owner.into())
    })
}

fn common_cases(h: &HandoverCtx) -> Vec<Case> {
    vec![
        c(
            "open-workload-identity-revoked",
            Action::Revoke,
            provider("third-party", Some("gcp-wif-no-condition")),
            principal("gcp-workload-identity-pool", "customer", false),
            h,
        ),
        c(
            "unrestricted-api-key-review",
            Action::Review,
            gcp_cred("gcp-api-key", Some("gcp-api-key-unrestricted")),
            principal("gcp-api-key", "customer", false),
            h,
        ),
        c(
            "root-access-key-revoked",
            Action::Revoke,
            cred("access-key"),
            principal("root", "customer", true),
            h,
        ),
        c(
            "root-credentials-transferred",
            Action::Transfer,
            cred("console-password"),
            principal("root", "customer", true),
            h,
        ),
        c(
            "outside-trust-review",
            Action::Review,
            with(cred("role-trust"), |c| {
                c.trusted_owner = Some("third-party".into())
            }),
            principal("iam-role", "customer", false),
            h,
        ),
        c(
            "public-access-revoked",
            Action::Revoke,
            cred("gcp-iam-binding"),
            principal("gcp-public", "third-party", false),
            h,
        ),
        c(
            "deleted-member-removed",
            Action::Revoke,
            cred("gcp-iam-binding"),
            principal("gcp-deleted", "agency", true),
            h,
        ),
        c(
            "unknown-owner-review",
            Action::Review,
            cred("access-key"),
            principal("iam-user", "unknown", false),
            h,
        ),
        // A pool the config does not place (not audited, project number not listed)
        // goes to a person; the customer's own pool keeps its grant.
        c(
            "unknown-owner-review",
            Action::Review,
            gcp_cred("gcp-iam-binding", Some("gcp-can-impersonate")),
            principal("gcp-federated", "unknown", false),
            h,
        ),
        c(
            "customer-transferred",
            Action::Transfer,
            gcp_cred("gcp-iam-binding", Some("gcp-can-impersonate")),
            principal("gcp-federated", "customer", false),
            h,
        ),
        c(
            "unused-key-revoked",
            Action::Revoke,
            with(cred("access-key"), |c| {
                c.stale_days = Some(200);
                c.days_since_last_use = Some(200);
            }),
            principal("iam-user", "customer", false),
            h,
        ),
        c(
            "key-agency-could-read-rotated",
            Action::Rotate,
            with(cred("gcp-service-account-key"), |c| {
                c.key_type = Some("USER_MANAGED".into());
                c.agency_could_read = true;
            }),
            principal("gcp-service-account", "customer", false),
            h,
        ),
        c(
            "old-key-rotated",
            Action::Rotate,
            with(cred("access-key"), |c| c.age_days = Some(200)),
            principal("iam-user", "customer", false),
            h,
        ),
        c(
            "third-party-review",
            Action::Review,
            cred("console-password"),
            principal("iam-user", "third-party", true),
            h,
        ),
        c(
            "customer-transferred",
            Action::Transfer,
            cred("console-password"),
            principal("iam-user", "customer", true),
            h,
        ),
        s(
            "agency-kms-key-reencrypt",
            Action::Review,
            secret(false, "agency"),
            h,
        ),
        s(
            "secret-transferred",
            Action::Transfer,
            secret(false, "customer"),
            h,
        ),
    ]
}

fn check(policy: &str, cases: Vec<Case>) -> BTreeSet<String> {
    let p = load(policy);
    let mut covered = BTreeSet::new();
    for case in cases {
        let (rule, action) = decide(&p, case.applies, &case.ctx);
        assert_eq!(
            rule, case.rule,
            "{policy}: expected {} to decide",
            case.rule
        );
        assert_eq!(action, case.action, "{policy}: rule {}", case.rule);
        covered.insert(rule);
    }
    let all: BTreeSet<String> = p.rules.iter().map(|r| r.id.clone()).collect();
    let missing: Vec<&String> = all.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "{policy}: rules without a test case: {missing:?}"
    );
    covered
}

#[test]
fn every_full_transfer_rule_decides_what_it_says() {
    let h = handover("full-transfer");
    let mut cases = common_cases(&h);
    cases.extend([
        c(
            "agency-workload-identity-revoked",
            Action::Revoke,
            provider("agency", None),
            principal("gcp-workload-identity-pool", "customer", false),
            &h,
        ),
        c(
            "outside-workload-identity-review",
            Action::Review,
            provider("third-party", None),
            principal("gcp-workload-identity-pool", "customer", false),
            &h,
        ),
        // A binding of an agency pool's identities (principalSet://...) on a service
        // account: revoked as federation, not as public access.
        c(
            "agency-federated-grant-revoked",
            Action::Revoke,
            gcp_cred("gcp-iam-binding", Some("gcp-can-impersonate")),
            principal("gcp-federated", "agency", false),
            &h,
        ),
        c(
            "agency-api-key-deleted",
            Action::Revoke,
            gcp_cred("gcp-api-key", None),
            principal("gcp-api-key", "agency", false),
            &h,
        ),
        c(
            "agency-trust-revoked",
            Action::Revoke,
            with(cred("role-trust"), |c| {
                c.trusted_owner = Some("agency".into())
            }),
            principal("iam-role", "customer", false),
            &h,
        ),
        c(
            "agency-trust-revoked",
            Action::Revoke,
            with(cred("secret-policy-grant"), |c| {
                c.trusted_owner = Some("agency".into())
            }),
            principal("secret", "customer", false),
            &h,
        ),
        c(
            "agency-sso-assignment-revoked",
            Action::Revoke,
            cred("sso-account-assignment"),
            principal("sso-user", "agency", true),
            &h,
        ),
        c(
            "agency-human-revoked",
            Action::Revoke,
            cred("console-password"),
            principal("iam-user", "agency", true),
            &h,
        ),
        c(
            "agency-workload-revoked",
            Action::Revoke,
            cred("access-key"),
            principal("iam-user", "agency", false),
            &h,
        ),
        s(
            "secret-agency-could-read-rotated",
            Action::Rotate,
            secret(true, "customer"),
            &h,
        ),
    ]);
    check("full-transfer.yaml", cases);
}

#[test]
fn every_agency_operated_rule_decides_what_it_says() {
    let h = handover("agency-operated");
    let mut cases = common_cases(&h);
    cases.extend([
        c(
            "agency-workload-identity-review",
            Action::Review,
            provider("agency", None),
            principal("gcp-workload-identity-pool", "customer", false),
            &h,
        ),
        c(
            "retained-federated-grant-time-bound",
            Action::RetainUntil,
            gcp_cred("gcp-iam-binding", Some("gcp-can-impersonate")),
            with_principal(principal("gcp-federated", "agency", false), |p| {
                p.retained = true
            }),
            &h,
        ),
        c(
            "agency-federated-grant-review",
            Action::Review,
            gcp_cred("gcp-iam-binding", Some("gcp-can-impersonate")),
            principal("gcp-federated", "agency", false),
            &h,
        ),
        c(
            "agency-api-key-review",
            Action::Review,
            gcp_cred("gcp-api-key", None),
            principal("gcp-api-key", "agency", false),
            &h,
        ),
        c(
            "retained-operations-trust-time-bound",
            Action::RetainUntil,
            with(cred("role-trust"), |c| {
                c.trusted_owner = Some("agency".into())
            }),
            with(principal("iam-role", "customer", false), |p| {
                p.retained = true
            }),
            &h,
        ),
        c(
            "other-agency-trust-revoked",
            Action::Revoke,
            with(cred("role-trust"), |c| {
                c.trusted_owner = Some("agency".into())
            }),
            principal("iam-role", "customer", false),
            &h,
        ),
        c(
            "agency-unused-key-revoked",
            Action::Revoke,
            with(cred("access-key"), |c| {
                c.stale_days = Some(120);
                c.stale_basis = Some("creation".into());
                c.last_use = "never".into();
                c.days_since_last_use = None;
            }),
            principal("iam-user", "agency", true),
            &h,
        ),
        c(
            "retained-operations-sso-review",
            Action::Review,
            cred("sso-account-assignment"),
            with_principal(principal("sso-user", "agency", true), |p| p.retained = true),
            &h,
        ),
        c(
            "agency-sso-assignment-revoked",
            Action::Revoke,
            cred("sso-account-assignment"),
            principal("sso-group", "agency", true),
            &h,
        ),
        c(
            "agency-human-time-bound",
            Action::RetainUntil,
            cred("console-password"),
            principal("gcp-user", "agency", true),
            &h,
        ),
        // An agency person named `principal://goog/subject/...` or of a workforce pool
        // is time-bound as its other people are, not sent to review as a pipeline.
        c(
            "agency-human-time-bound",
            Action::RetainUntil,
            gcp_cred("gcp-iam-binding", None),
            principal("gcp-federated", "agency", true),
            &h,
        ),
        c(
            "agency-workload-rotated",
            Action::Rotate,
            cred("access-key"),
            principal("iam-user", "agency", false),
            &h,
        ),
        s(
            "secret-agency-saw-rotated",
            Action::Rotate,
            secret(true, "customer"),
            &h,
        ),
    ]);
    check("agency-operated.yaml", cases);
}

#[test]
fn a_key_of_unknown_age_and_use_is_not_judged_stale() {
    // Nulls are unknowns, not zeros: a key whose creation and use are unknown must not
    // be revoked as "unused" nor crash a rule.
    let h = handover("full-transfer");
    let p = load("full-transfer.yaml");
    let k = with(cred("access-key"), |c| {
        c.age_days = None;
        c.days_since_last_use = None;
        c.stale_days = None;
        c.stale_basis = None;
        c.last_use = "unknown".into();
    });
    let (rule, _) = decide(
        &p,
        AppliesTo::Credentials,
        &for_credential(&k, &principal("iam-user", "customer", false), &h),
    );
    assert_eq!(rule, "customer-transferred");
}
