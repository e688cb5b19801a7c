//! The plan's targets: each credential, secret-policy grant and secret of the
//! inventory as one thing to decide about, with its policy context, its evidence and
//! the typed record (`TargetRef`) that every later command reads.
//!
//! Invariants:
//! - A target's id is the inventory's id, unchanged, so step ids are stable.
//! - `TargetRef` carries what a command needs as data (kind, name, region, principal,
//!   binding): nobody parses its id or label back.
//! - MFA devices (other than root's) are not targets: they protect a credential.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::facts::{days_between, Facts};
use super::kebab;
use crate::config::kms::{AccountRegion, KmsKeyArn};
use crate::config::parties::{self, Classification, Owner};
use crate::model::*;
use crate::policy::context::{self, CredentialCtx, PrincipalCtx, SecretCtx};
use crate::policy::AppliesTo;

/// Whether a step is about a credential (something that lets someone in) or a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Credential,
    Secret,
}

/// What a target is: one of the model's credential kinds, or (not a model credential)
/// a grant in a secret's resource policy, or a secret. Serialised as the kind's
/// kebab-case name (`access-key`, `secret-policy-grant`, `secret`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TargetWhat {
    Credential(CredentialKind),
    Secret(SecretPart),
}

/// The targets that are about a secret rather than a model credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SecretPart {
    /// An outside principal that the secret's resource policy lets in.
    SecretPolicyGrant,
    /// The secret itself.
    Secret,
}

impl std::fmt::Display for TargetWhat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&kebab(self))
    }
}

/// What a step is about, as data: every command that acts on a step (migrate, manifest,
/// verify, apply) reads these fields and never parses `id` or `label` back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetRef {
    pub kind: TargetKind,
    /// The credential's or secret's id in the inventory (opaque: compared, never split).
    pub id: String,
    pub what: TargetWhat,
    pub provider: Provider,
    pub scope: String,
    /// The principal the credential belongs to (for a GCP binding, its member).
    pub principal: Option<String>,
    /// The secret's name, or the credential's own identifier (access key id, key id,
    /// the principal a trust or a secret's grant lets in); `null` where there is none
    /// (a console password).
    pub name: Option<String>,
    /// The region an AWS secret lives in (and the region of a grant in its policy).
    pub region: Option<String>,
    /// A GCP IAM binding's role, resource and condition, as the inventory has them.
    pub binding: Option<BindingDetail>,
    /// The secret whose resource policy holds the grant (a `secret-policy-grant` of an
    /// AWS secret); absent otherwise, and in plans made before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretRef>,
    /// A secret under a KMS key of the agency's, for which the config names the
    /// customer's key of its account and region: `apply` re-encrypts it under that key
    /// (in the plan, so the approved digest covers the key). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reencrypt: Option<ReEncrypt>,
    /// An IAM Identity Center account assignment as the inventory has it (what
    /// `DeleteAccountAssignment` names); absent otherwise, and in plans made before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<SsoAssignment>,
    /// A short human label (for display only).
    pub label: String,
    pub owner: Owner,
    pub party: Option<String>,
}

/// The secret a grant in a resource policy belongs to, as the inventory has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The secret's id in the inventory: its ARN for AWS (what `GetResourcePolicy`
    /// takes as `SecretId`).
    pub id: String,
    pub name: String,
}

/// A secret's re-encryption, approved by naming the customer's key in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReEncrypt {
    /// The key the secret was under when audited (the agency's), as the source named it.
    pub from: Option<String>,
    /// The customer's key it goes under.
    pub to: KmsKeyArn,
}

/// One thing the plan decides about.
pub(super) struct Target {
    pub(super) target: TargetRef,
    pub(super) context: serde_json::Value,
    pub(super) applies: AppliesTo,
    pub(super) admin: bool,
    pub(super) runs_audit: bool,
    pub(super) evidence: BTreeMap<String, String>,
    pub(super) why: String,
}

/// Every target of the inventory: its credentials, then its secrets' policy grants,
/// then its secrets.
pub(super) fn targets(f: &Facts) -> Vec<Target> {
    let mut out: Vec<Target> = f
        .inv
        .credentials
        .iter()
        .filter_map(|c| credential_target(f, c))
        .collect();
    // AWS secret resource-policy grants are credentials too: they let someone in.
    for s in &f.inv.secrets {
        out.extend(grant_targets(f, s));
    }
    out.extend(f.inv.secrets.iter().map(|s| secret_target(f, s)));
    out
}

/// What the plan shows as a credential's evidence.
fn credential_evidence(
    c: &Credential,
    cctx: &CredentialCtx,
    cclass: &Classification,
) -> BTreeMap<String, String> {
    let mut evidence = BTreeMap::new();
    evidence.insert("status".into(), kebab(&c.status));
    if let Some(t) = c.created {
        evidence.insert("created".into(), t.format("%Y-%m-%d").to_string());
    }
    evidence.insert("last_used".into(), c.last_used.text());
    if let (Some(d), Some(b)) = (cctx.stale_days, &cctx.stale_basis) {
        evidence.insert("age".into(), format!("{d} days, counted from {b}"));
    }
    evidence.insert(
        "owner".into(),
        format!("{} ({})", cclass.owner.as_str(), cclass.reason),
    );
    if !cctx.findings.is_empty() {
        evidence.insert("findings".into(), cctx.findings.join(", "));
    }
    if let CredentialDetail::Binding(b) = &c.detail {
        evidence.insert("role".into(), format!("{} on {}", b.role, b.resource));
        if let Some(cond) = &b.condition {
            evidence.insert("condition".into(), cond.expression.clone());
        }
    }
    if let CredentialDetail::SsoAssignment(a) = &c.detail {
        evidence.insert(
            "assignment".into(),
            format!(
                "permission set {} on account {}",
                a.permission_set_name, a.account_id
            ),
        );
        let admin = match a.admin {
            Some(true) => format!("yes: {}", a.admin_via.join("; ")),
            Some(false) => "no".into(),
            None => format!("unknown: {}", a.admin_via.join("; ")),
        };
        evidence.insert("admin_equivalent".into(), admin);
    }
    if let CredentialDetail::Trust(t) = &c.detail {
        evidence.insert("trusts".into(), t.trusted.value.clone());
        if !t.conditions.is_empty() {
            evidence.insert("conditions".into(), condition_lines(&t.conditions, "; "));
        }
    }
    evidence
}

/// When a credential provably stops working by itself, and what proves it: its own
/// condition, or a Deny of everything from a date on in its holder's (or the holder's
/// groups') policies (`Principal::access_ends`). `None` where nothing proves an end.
fn access_end_evidence(c: &Credential, holder: &Principal) -> Option<String> {
    let at = credential_ends(c, Some(holder)).end()?;
    let by = if c.detail.time_bound().end() == Some(at) {
        "its own condition"
    } else {
        "a Deny of everything in its holder's policies"
    };
    Some(format!("until {} ({by})", at.format("%Y-%m-%dT%H:%M:%SZ")))
}

/// Why a credential's rule chose what it did, in a few words (the owner, and a key's age).
fn credential_why(c: &Credential, cctx: &CredentialCtx, owner: Owner) -> String {
    match (&cctx.stale_days, &cctx.stale_basis) {
        (Some(d), Some(b))
            if matches!(
                c.kind,
                CredentialKind::AccessKey | CredentialKind::GcpServiceAccountKey
            ) =>
        {
            format!("owner {}; {d} days old counted from {b}", owner.as_str())
        }
        _ => format!("owner {}", owner.as_str()),
    }
}

/// Kinds whose `trusted_owner` is the credential's own (a trust), not a secret grant's.
pub(super) fn trust_kind(kind: CredentialKind) -> bool {
    matches!(
        kind,
        CredentialKind::RoleTrust | CredentialKind::GcpWorkloadIdentityProvider
    )
}

/// A credential of the inventory as a target; `None` for an MFA device (other than
/// root's) or a credential whose principal the inventory does not hold.
fn credential_target(f: &Facts, c: &Credential) -> Option<Target> {
    let p = f.principals.get(c.principal.as_str())?;
    // MFA devices protect a credential; they are not one to hand over on their own.
    if c.kind == CredentialKind::MfaDevice && p.kind != PrincipalKind::Root {
        return None;
    }
    let pclass = &f.classes[&p.id];
    let cclass = parties::credential_owner(f.cfg, c, pclass);
    let trusted_owner = matches!(
        c.detail,
        CredentialDetail::Trust(_) | CredentialDetail::WorkloadIdentityProvider(_)
    )
    .then_some(cclass.owner);
    let cctx = f.credential_ctx(c, trusted_owner);
    let pctx = f.principal_ctx(p);
    let label = format!(
        "{} {} of {}",
        kebab(&c.kind),
        c.identifier.as_deref().unwrap_or(""),
        p.name
    )
    .replace("  ", " ");
    let admin_credential = match &c.detail {
        // An assignment is as strong as its own permission set, whatever else its
        // holder may do.
        CredentialDetail::SsoAssignment(a) => a.admin == Some(true),
        _ => p.admin.equivalent == Some(true),
    } || matches!(&c.detail, CredentialDetail::Binding(b) if matches!(b.level, RoleLevel::Owner | RoleLevel::IamAdmin));
    let mut evidence = credential_evidence(c, &cctx, &cclass);
    if let Some(line) = access_end_evidence(c, p) {
        evidence.insert("access_ends".into(), line);
    }
    Some(Target {
        target: TargetRef {
            kind: TargetKind::Credential,
            id: c.id.clone(),
            what: if trusted_owner.is_some() && !trust_kind(c.kind) {
                TargetWhat::Secret(SecretPart::SecretPolicyGrant)
            } else {
                TargetWhat::Credential(c.kind)
            },
            provider: c.provider,
            scope: c.scope.clone(),
            principal: Some(p.id.clone()),
            name: c.identifier.clone(),
            region: None,
            binding: match &c.detail {
                CredentialDetail::Binding(b) => Some(b.clone()),
                _ => None,
            },
            secret: None,
            reencrypt: None,
            sso: match &c.detail {
                CredentialDetail::SsoAssignment(a) => Some(a.clone()),
                _ => None,
            },
            label,
            owner: cclass.owner,
            party: cclass.party.clone(),
        },
        context: context::for_credential(&cctx, &pctx, &f.handover),
        applies: AppliesTo::Credentials,
        admin: admin_credential,
        runs_audit: pctx.runs_audit,
        evidence,
        why: credential_why(c, &cctx, cclass.owner),
    })
}

/// The outside principals a secret's resource policy lets in, one target each.
fn grant_targets(f: &Facts, s: &Secret) -> Vec<Target> {
    let AccessPolicy::Known { outside } = &s.access_policy else {
        return Vec::new();
    };
    outside.iter().map(|g| grant_target(f, s, g)).collect()
}

/// The target id of a secret's resource-policy grant: made here once, so that `verify`
/// finds the grant again by making the same id from what it reads live (never by taking
/// an id apart).
pub fn policy_grant_id(s: &Secret, g: &PolicyGrant) -> String {
    format!("{}/policy/{}", s.id, g.principal.value)
}

fn grant_target(f: &Facts, s: &Secret, g: &PolicyGrant) -> Target {
    let class = parties::outside_owner(f.cfg, &g.principal);
    let c = Credential {
        id: policy_grant_id(s, g),
        principal: s.id.clone(),
        provider: s.provider,
        scope: s.scope.clone(),
        kind: CredentialKind::RoleTrust,
        identifier: Some(g.principal.value.clone()),
        status: Status::Active,
        created: None,
        last_used: LastUsed::unknown("resource policies record no use"),
        detail: CredentialDetail::None,
    };
    let mut cctx = f.credential_ctx(&c, Some(class.owner));
    cctx.kind = "secret-policy-grant".into();
    let pseudo = PrincipalCtx {
        id: s.id.clone(),
        kind: "secret".into(),
        name: s.name.clone(),
        owner: parties::scope_owner(f.cfg, s.provider, &s.scope)
            .owner
            .as_str()
            .into(),
        ..Default::default()
    };
    let mut evidence = BTreeMap::new();
    evidence.insert(
        "grants".into(),
        format!("{} to {}", g.actions.join(", "), g.principal.value),
    );
    evidence.insert(
        "owner".into(),
        format!("{} ({})", class.owner.as_str(), class.reason),
    );
    if !g.conditions.is_empty() {
        evidence.insert("conditions".into(), condition_lines(&g.conditions, "; "));
    }
    Target {
        target: TargetRef {
            kind: TargetKind::Credential,
            id: c.id.clone(),
            what: TargetWhat::Secret(SecretPart::SecretPolicyGrant),
            provider: s.provider,
            scope: s.scope.clone(),
            principal: None,
            name: c.identifier.clone(),
            region: s.region.clone(),
            binding: None,
            secret: Some(SecretRef {
                id: s.id.clone(),
                name: s.name.clone(),
            }),
            reencrypt: None,
            sso: None,
            label: format!(
                "resource-policy grant on {} to {}",
                s.name, g.principal.value
            ),
            owner: class.owner,
            party: class.party.clone(),
        },
        context: context::for_credential(&cctx, &pseudo, &f.handover),
        applies: AppliesTo::Credentials,
        admin: false,
        runs_audit: false,
        evidence,
        why: format!("lets {} in", class.owner.as_str()),
    }
}

/// What the policy sees of a secret: who could read it, and who holds its key.
fn secret_ctx(f: &Facts, s: &Secret) -> SecretCtx {
    let agency_grant = match &s.access_policy {
        AccessPolicy::Known { outside } => outside
            .iter()
            .any(|g| parties::outside_owner(f.cfg, &g.principal).owner == Owner::Agency),
        _ => false,
    } || s
        .iam_members
        .iter()
        .any(|m| member_owner(f, &s.scope, &m.member) == Owner::Agency);
    let public = s
        .iam_members
        .iter()
        .any(|m| m.member == "allUsers" || m.member == "allAuthenticatedUsers")
        || matches!(&s.access_policy, AccessPolicy::Known { outside } if outside.iter().any(|g| g.principal.kind == OutsideKind::Wildcard));
    let agency_admin = f
        .agency_admin_scopes
        .contains(&(s.provider, s.scope.clone()));
    let kms_owner = match (&s.encryption.key_account, s.provider) {
        (Some(a), Provider::Aws) => parties::account_owner(f.cfg, a).owner,
        (Some(p), Provider::Gcp) => parties::project_owner(f.cfg, p).owner,
        (None, _) => parties::scope_owner(f.cfg, s.provider, &s.scope).owner,
    };
    SecretCtx {
        id: s.id.clone(),
        name: s.name.clone(),
        provider: s.provider.to_string(),
        scope: s.scope.clone(),
        rotation_enabled: s.rotation.enabled,
        days_since_change: s.last_changed.map(|t| days_between(f.now, t)),
        agency_can_read: agency_grant || agency_admin,
        agency_grant,
        kms_key_owner: kms_owner.as_str().into(),
        public,
        tags: s.tags.clone(),
    }
}

fn secret_target(f: &Facts, s: &Secret) -> Target {
    let sctx = secret_ctx(f, s);
    let agency_admin = f
        .agency_admin_scopes
        .contains(&(s.provider, s.scope.clone()));
    let mut evidence = BTreeMap::new();
    evidence.insert(
        "rotation".into(),
        if s.rotation.enabled {
            "on".into()
        } else {
            "off".into()
        },
    );
    if let Some(t) = s.last_changed {
        evidence.insert("last_changed".into(), t.format("%Y-%m-%d").to_string());
    }
    evidence.insert("kms_key_owner".into(), sctx.kms_key_owner.clone());
    let mut why = Vec::new();
    if sctx.agency_grant {
        why.push("a policy grants the agency access".to_string());
    }
    if agency_admin {
        why.push("the agency was admin where it lives".to_string());
    }
    if !why.is_empty() {
        evidence.insert("agency_could_read".into(), why.join("; "));
    }
    let owner = parties::scope_owner(f.cfg, s.provider, &s.scope);
    Target {
        target: TargetRef {
            kind: TargetKind::Secret,
            id: s.id.clone(),
            what: TargetWhat::Secret(SecretPart::Secret),
            provider: s.provider,
            scope: s.scope.clone(),
            principal: None,
            name: Some(s.name.clone()),
            region: s.region.clone(),
            binding: None,
            secret: None,
            reencrypt: reencrypt(f, s, &sctx),
            sso: None,
            label: format!("secret {}", s.name),
            owner: owner.owner,
            party: owner.party.clone(),
        },
        context: context::for_secret(&sctx, &f.handover),
        applies: AppliesTo::Secrets,
        admin: false,
        runs_audit: false,
        evidence,
        why: if why.is_empty() {
            "no agency identity could read it".into()
        } else {
            why.join("; ")
        },
    }
}

/// The re-encryption the config approves for an AWS secret under an agency's key: the
/// customer's key named for the secret's account and region, if any.
fn reencrypt(f: &Facts, s: &Secret, sctx: &SecretCtx) -> Option<ReEncrypt> {
    if s.provider != Provider::Aws || sctx.kms_key_owner != Owner::Agency.as_str() {
        return None;
    }
    let at = AccountRegion {
        account: s.scope.clone(),
        region: s.region.clone()?,
    };
    let to = f.cfg.customer.kms_keys.get(&at)?.clone();
    Some(ReEncrypt {
        from: s.encryption.key.clone(),
        to,
    })
}

fn member_owner(f: &Facts, scope: &str, member: &str) -> Owner {
    let id = f
        .inv
        .principals
        .iter()
        .find(|p| {
            p.scope == scope
                && (p.id.ends_with(&format!(":{member}"))
                    || format!("serviceAccount:{}", p.name) == member)
        })
        .map(|p| p.id.clone());
    id.and_then(|id| f.classes.get(&id).map(|c| c.owner))
        .unwrap_or(Owner::Unknown)
}
