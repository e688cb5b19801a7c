//! The context a rule's condition reads, documented in `docs/policies.md`.
//!
//! For credentials (`applies_to: credentials`) the variables are `credential`,
//! `principal` and `handover`; for secrets, `secret` and `handover`. Fields that a
//! source can leave unknown are `null` (for example `credential.days_since_last_use`),
//! so conditions must guard them (`x != null && x > 90`); loading a policy checks that.

use std::collections::BTreeMap;

use serde::Serialize;

use super::AppliesTo;

/// `credential` in a rule's context.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CredentialCtx {
    pub id: String,
    /// `access-key`, `console-password`, `mfa-device`, `ssh-public-key`,
    /// `service-specific-credential`, `signing-certificate`, `role-trust`,
    /// `secret-policy-grant`, `gcp-service-account-key`, `gcp-iam-binding`,
    /// `gcp-api-key`, `gcp-hmac-key`, `gcp-workload-identity-provider`, `sso-account-assignment`, ...
    pub kind: String,
    pub provider: String,
    pub scope: String,
    pub identifier: Option<String>,
    pub active: bool,
    /// Days since it was created; null when the source has no date.
    pub age_days: Option<i64>,
    /// `used`, `never` or `unknown`.
    pub last_use: String,
    /// Days since last use; null when never used or unknown.
    pub days_since_last_use: Option<i64>,
    /// Days counted from last use where known, else from creation; null when neither is known.
    pub stale_days: Option<i64>,
    /// `last-use`, `creation`, or null.
    pub stale_basis: Option<String>,
    /// For a role trust, a secret-policy grant or a workload identity provider: whom it
    /// lets in
    /// (`agency`, `customer`, `third-party`, `unknown`).
    pub trusted_owner: Option<String>,
    /// For an IAM binding: the role, its level (`owner`, `iam-admin`, `editor`,
    /// `impersonation`, `secret-access`, `other`) and the resource it is on. For an
    /// Identity Center assignment: the permission set's name (`role`) and the account
    /// it opens (`resource`).
    pub role: Option<String>,
    pub role_level: Option<String>,
    pub resource: Option<String>,
    /// The grant already ends by itself (an IAM condition on `request.time`).
    pub time_bound: bool,
    /// For a GCP service-account key: `USER_MANAGED` or `SYSTEM_MANAGED`.
    pub key_type: Option<String>,
    /// The agency was admin-equivalent in this account or project, so could have read it.
    pub agency_could_read: bool,
    /// Finding codes the audit raised on it.
    pub findings: Vec<String>,
}

/// `principal` in a rule's context.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PrincipalCtx {
    pub id: String,
    /// `root`, `iam-user`, `iam-role`, `gcp-user`, `gcp-group`, `gcp-domain`,
    /// `gcp-service-account`, `gcp-public`, `gcp-deleted`, `gcp-federated`,
    /// `gcp-api-key`, `gcp-workload-identity-pool`, `sso-user`, `sso-group`.
    pub kind: String,
    pub name: String,
    /// `agency`, `customer`, `third-party`, `unknown` (from the config alone).
    pub owner: String,
    pub party: Option<String>,
    pub admin: bool,
    /// People sign in as it (password, MFA, a Google user or group).
    pub human: bool,
    /// It is the identity that ran the audit.
    pub runs_audit: bool,
    /// The config's `[operations] retained` names it.
    pub retained: bool,
    pub disabled: bool,
    pub tags: BTreeMap<String, String>,
}

/// `secret` in a rule's context.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SecretCtx {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub scope: String,
    pub rotation_enabled: bool,
    /// Days since its value last changed; null when unknown.
    pub days_since_change: Option<i64>,
    /// The agency could read its value (a grant to the agency, or the agency was
    /// admin-equivalent where it lives).
    pub agency_can_read: bool,
    /// A resource policy or secret-level binding names the agency.
    pub agency_grant: bool,
    /// Who owns the encryption key (`agency`, `customer`, `third-party`, `unknown`).
    pub kms_key_owner: String,
    pub public: bool,
    pub tags: BTreeMap<String, String>,
}

/// `handover` in a rule's context.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HandoverCtx {
    /// `full-transfer` or `agency-operated`.
    pub scenario: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// When retained agency access ends; null when there is no adoption period.
    pub access_ends: Option<String>,
}

/// Builds the context object for a credential.
pub fn for_credential(c: &CredentialCtx, p: &PrincipalCtx, h: &HandoverCtx) -> serde_json::Value {
    serde_json::json!({ "credential": c, "principal": p, "handover": h })
}

/// Builds the context object for a secret.
pub fn for_secret(s: &SecretCtx, h: &HandoverCtx) -> serde_json::Value {
    serde_json::json!({ "secret": s, "handover": h })
}

/// Every variable and field a condition may read.
pub fn schema(applies: AppliesTo) -> serde_json::Value {
    match applies {
        AppliesTo::Credentials => for_credential(
            &CredentialCtx::default(),
            &PrincipalCtx::default(),
            &HandoverCtx::default(),
        ),
        AppliesTo::Secrets => for_secret(&SecretCtx::default(), &HandoverCtx::default()),
    }
}

/// Is `path` (`["credential", "kind"]`) something the context has?
pub fn check_path(schema: &serde_json::Value, path: &[String]) -> Result<(), String> {
    let vars: Vec<&String> = schema
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    let Some(top) = schema.get(&path[0]) else {
        return Err(format!(
            "unknown variable `{}`; this rule's context has {}",
            path[0],
            vars.iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    if path.len() >= 2 {
        let fields = top.as_object().expect("context variables are objects");
        if !fields.contains_key(&path[1]) {
            return Err(format!(
                "unknown field `{}.{}` (see docs/policies.md for the fields of `{}`)",
                path[0], path[1], path[0]
            ));
        }
        // Maps (tags) take any key; other fields have none below them.
        if path.len() >= 3 && !fields[&path[1]].is_object() {
            return Err(format!(
                "`{}.{}` has no field `{}`",
                path[0], path[1], path[2]
            ));
        }
    }
    Ok(())
}

/// A generated context, and what is special about it (for error messages).
pub struct Sample {
    pub context: serde_json::Value,
    pub note: String,
}

/// A small deterministic generator (no dependency, same corpus everywhere).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() as usize) % items.len()]
    }
    fn bool(&mut self) -> bool {
        self.next().is_multiple_of(2)
    }
}

const CREDENTIAL_KINDS: &[&str] = &[
    "console-password",
    "access-key",
    "mfa-device",
    "ssh-public-key",
    "service-specific-credential",
    "signing-certificate",
    "role-trust",
    "secret-policy-grant",
    "sso-account-assignment",
    "gcp-service-account-key",
    "gcp-iam-binding",
    "gcp-api-key",
    "gcp-hmac-key",
    "gcp-workload-identity-provider",
];
const PRINCIPAL_KINDS: &[&str] = &[
    "root",
    "iam-user",
    "iam-role",
    "gcp-user",
    "gcp-group",
    "gcp-domain",
    "gcp-service-account",
    "gcp-public",
    "sso-user",
    "sso-group",
    "gcp-deleted",
    "gcp-api-key",
    "gcp-workload-identity-pool",
    "gcp-federated",
];
const OWNERS: &[&str] = &["agency", "customer", "third-party", "unknown"];
const DAYS: &[Option<i64>] = &[None, Some(0), Some(30), Some(91), Some(200), Some(400)];
const ROLES: &[(&str, &str)] = &[
    ("roles/owner", "owner"),
    ("roles/editor", "editor"),
    ("roles/resourcemanager.projectIamAdmin", "iam-admin"),
    ("roles/iam.serviceAccountTokenCreator", "impersonation"),
    ("roles/secretmanager.secretAccessor", "secret-access"),
    ("roles/viewer", "other"),
];
const SCENARIOS: &[&str] = &["full-transfer", "agency-operated"];

/// A broad corpus of contexts: every kind, owner, age and scenario, in many
/// combinations, including the `null`s a real source can produce. One seeded generator
/// draws every value in a fixed order, so the corpus is the same on every run.
pub fn corpus(applies: AppliesTo) -> Vec<Sample> {
    let mut rng = Lcg(0x5eed_1234);
    let mut out = Vec::new();
    for i in 0..1200 {
        let scenario = *rng.pick(SCENARIOS);
        let h = HandoverCtx {
            scenario: scenario.into(),
            date: "2026-12-01".into(),
            access_ends: if rng.bool() {
                Some("2027-01-31".into())
            } else {
                None
            },
        };
        out.push(match applies {
            AppliesTo::Credentials => credential_sample(&mut rng, i, &h),
            AppliesTo::Secrets => secret_sample(&mut rng, i, &h),
        });
    }
    out
}

/// The `i`th credential sample: kinds cycle so each appears with every owner.
fn credential_sample(rng: &mut Lcg, i: usize, h: &HandoverCtx) -> Sample {
    let kind = CREDENTIAL_KINDS[i % CREDENTIAL_KINDS.len()];
    let owner = OWNERS[(i / CREDENTIAL_KINDS.len()) % OWNERS.len()];
    let c = sample_credential(rng, i, kind);
    let pkind = *rng.pick(PRINCIPAL_KINDS);
    let p = PrincipalCtx {
        id: "p".into(),
        kind: pkind.into(),
        name: "p".into(),
        owner: owner.into(),
        party: None,
        admin: rng.bool(),
        human: rng.bool(),
        runs_audit: i.is_multiple_of(97),
        retained: rng.bool(),
        disabled: i.is_multiple_of(13),
        tags: BTreeMap::new(),
    };
    let note = format!(
        "for a {kind} of an {owner}-owned {pkind} (last use {}, days_since_last_use {}, age_days {})",
        c.last_use,
        c.days_since_last_use
            .map(|d| d.to_string())
            .unwrap_or("null".into()),
        c.age_days.map(|d| d.to_string()).unwrap_or("null".into())
    );
    Sample {
        context: for_credential(&c, &p, h),
        note,
    }
}

/// The credential of the `i`th sample, of `kind`.
fn sample_credential(rng: &mut Lcg, i: usize, kind: &str) -> CredentialCtx {
    let last_use = *rng.pick(&["used", "never", "unknown"]);
    let days_since = if last_use == "used" {
        *rng.pick(&DAYS[1..])
    } else {
        None
    };
    let age = *rng.pick(DAYS);
    let (stale, basis) = match (days_since, age) {
        (Some(d), _) => (Some(d), Some("last-use".to_string())),
        (None, Some(a)) => (Some(a), Some("creation".to_string())),
        _ => (None, None),
    };
    let binding = kind == "gcp-iam-binding";
    let (role, level) = if binding {
        let r = rng.pick(ROLES);
        (Some(r.0.to_string()), Some(r.1.to_string()))
    } else {
        (None, None)
    };
    let trust = matches!(
        kind,
        "role-trust" | "secret-policy-grant" | "gcp-workload-identity-provider"
    );
    // The findings the audit raises on the kinds that have them, on every other
    // sample (drawn from `i`, so the generator's sequence is not disturbed).
    let finding = match kind {
        "gcp-api-key" => Some("gcp-api-key-unrestricted"),
        "gcp-hmac-key" => Some("gcp-hmac-key-active"),
        "gcp-workload-identity-provider" => Some("gcp-wif-no-condition"),
        _ => None,
    };
    let findings: Vec<String> = finding
        .filter(|_| (i / CREDENTIAL_KINDS.len()).is_multiple_of(2))
        .map(|f| vec![f.to_string()])
        .unwrap_or_default();
    // Field by field in this order: each `rng` call draws the next value.
    CredentialCtx {
        id: format!("sample-{i}"),
        kind: kind.into(),
        provider: if kind.starts_with("gcp") {
            "gcp".into()
        } else {
            "aws".into()
        },
        scope: "123456789012".into(),
        identifier: None,
        active: rng.bool(),
        age_days: age,
        last_use: last_use.into(),
        days_since_last_use: days_since,
        stale_days: stale,
        stale_basis: basis,
        trusted_owner: if trust {
            Some((*rng.pick(OWNERS)).into())
        } else {
            None
        },
        role,
        role_level: level,
        resource: if binding {
            Some("projects/p".into())
        } else {
            None
        },
        time_bound: binding && rng.bool(),
        key_type: if kind == "gcp-service-account-key" {
            Some((*rng.pick(&["USER_MANAGED", "SYSTEM_MANAGED"])).into())
        } else {
            None
        },
        agency_could_read: rng.bool(),
        findings,
    }
}

/// The `i`th secret sample.
fn secret_sample(rng: &mut Lcg, i: usize, h: &HandoverCtx) -> Sample {
    let s = SecretCtx {
        id: format!("sample-{i}"),
        name: "s".into(),
        provider: (*rng.pick(&["aws", "gcp"])).into(),
        scope: "123456789012".into(),
        rotation_enabled: rng.bool(),
        days_since_change: *rng.pick(DAYS),
        agency_can_read: rng.bool(),
        agency_grant: rng.bool(),
        kms_key_owner: OWNERS[i % OWNERS.len()].into(),
        public: i.is_multiple_of(11),
        tags: BTreeMap::new(),
    };
    let note = format!(
        "for a secret (days_since_change {})",
        s.days_since_change
            .map(|d| d.to_string())
            .unwrap_or("null".into())
    );
    Sample {
        context: for_secret(&s, h),
        note,
    }
}
