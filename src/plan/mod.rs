//! The plan: a pure function from an inventory, a policy and the handover config to
//! ordered steps, each with its action, the rule that chose it and why, preconditions
//! and evidence.
//!
//! Invariants (tested, including by property tests over generated inventories):
//! - Deterministic: the same inputs give byte-identical JSON; ages count to the
//!   inventory's time, never to "now". The digest (SHA-256 of the canonical JSON) names
//!   the plan for approval.
//! - No lock-out: a plan that leaves an account or project without a working customer
//!   admin is refused; revoking agency admin comes after everything that establishes
//!   the customer's access; the identity that ran the audit is revoked last.
//! - Step ids depend only on the target, so they are stable across re-audits.
//! - No secret value: the inputs hold none, and steps only name things.

pub mod diff;
pub mod render;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::canonical::canonical_json;
use crate::config::parties::{self, Classification, Owner};
use crate::config::HandoverConfig;
use crate::error::Error;
use crate::model::*;
use crate::policy::context::{self, CredentialCtx, HandoverCtx, PrincipalCtx, SecretCtx};
use crate::policy::{Action, AppliesTo, Outcome, Policy};

pub const PLAN_SCHEMA: &str = "handover/plan";
/// Version 2: targets carry their structured fields (`name`, `region`, `binding`).
/// A reader refuses any other version rather than half-read it.
pub const PLAN_VERSION: u32 = 2;

/// When in the handover a step happens. Steps run in this order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The customer takes over what is already its own: its access is established first.
    Establish,
    Rotate,
    /// Agency access made to end by itself.
    TimeBound,
    Review,
    Revoke,
    /// Revoking credentials that carry admin rights, after the customer's access is in place.
    RevokeAdmin,
    /// The identity that ran the audit, last, so the tool never cuts off its own hands.
    RevokeSelf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub schema: String,
    pub version: u32,
    /// `sha256:` of the canonical JSON of this plan with this field empty.
    pub digest: String,
    pub inventory: InventoryRef,
    pub policy: PolicyInfo,
    pub handover: HandoverInfo,
    pub summary: Summary,
    pub documentation: Vec<DocItem>,
    pub findings: Vec<PlanFinding>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryRef {
    pub generated_at: DateTime<Utc>,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInfo {
    pub name: String,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverInfo {
    pub scenario: String,
    pub date: String,
    pub agency_access_ends: Option<String>,
    pub agency: String,
    pub customer: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub steps: usize,
    pub by_action: BTreeMap<String, usize>,
    pub by_owner: BTreeMap<String, usize>,
    /// Per account or project: the customer admins that remain after the plan.
    pub customer_admins_after: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocItem {
    /// `slo`, `playbook` or `postmortem`.
    pub kind: String,
    pub path: String,
    pub present: bool,
    pub sha256: Option<String>,
}

/// What a plan finding is about: a stable kebab-case code (cargo-deny's `Code`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PlanFindingCode {
    /// The agency-operated scenario with no date when retained access ends.
    AdoptionEndMissing,
    /// Steps whose owner the config does not establish (they go to review).
    OwnerUnknown,
    /// An account or project in neither party's list.
    ScopeOwnerUnknown,
    /// A document the config names is missing, or the config names none of a kind.
    DocumentationMissing,
}

impl PlanFindingCode {
    pub const ALL: &'static [PlanFindingCode] = &[
        PlanFindingCode::AdoptionEndMissing,
        PlanFindingCode::OwnerUnknown,
        PlanFindingCode::ScopeOwnerUnknown,
        PlanFindingCode::DocumentationMissing,
    ];

    /// The stable kebab-case code.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanFindingCode::AdoptionEndMissing => "adoption-end-missing",
            PlanFindingCode::OwnerUnknown => "owner-unknown",
            PlanFindingCode::ScopeOwnerUnknown => "scope-owner-unknown",
            PlanFindingCode::DocumentationMissing => "documentation-missing",
        }
    }
}

impl std::fmt::Display for PlanFindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanFinding {
    pub code: PlanFindingCode,
    pub severity: Severity,
    pub message: String,
}

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
    /// A short human label (for display only).
    pub label: String,
    pub owner: Owner,
    pub party: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable across re-audits: derived from the target only.
    pub id: String,
    pub order: usize,
    pub phase: Phase,
    pub target: TargetRef,
    pub action: Action,
    /// For `retain-until`: when the access ends.
    pub until: Option<String>,
    pub rule: String,
    pub reason: String,
    pub severity: Severity,
    pub preconditions: Vec<String>,
    pub evidence: BTreeMap<String, String>,
}

/// A step's id: stable for the same target.
pub fn step_id(target_id: &str) -> String {
    let h = Sha256::digest(target_id.as_bytes());
    format!(
        "s-{}",
        h.iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

impl Plan {
    /// Computes the digest over the canonical JSON with the digest field empty.
    pub fn compute_digest(&self) -> String {
        let mut copy = self.clone();
        copy.digest = String::new();
        let v = serde_json::to_value(&copy).expect("plan serializes");
        format!("sha256:{:x}", Sha256::digest(canonical_json(&v).as_bytes()))
    }

    /// Refuses a plan that is not a plan of this format (another schema, or a version
    /// written before or after this one: an older plan lacks the targets' structured
    /// fields, and would be half-read), then a plan whose content no longer hashes to its
    /// digest: what a customer approved by digest is what every command acts on.
    pub fn check_digest(&self, path: &std::path::Path) -> Result<(), crate::error::Error> {
        if self.schema != PLAN_SCHEMA {
            return Err(Error::input(
                path,
                format!("not a handover plan (its schema is {:?})", self.schema),
                "pass a plan written by `handover plan -o`",
            ));
        }
        if self.version != PLAN_VERSION {
            return Err(Error::input(
                path,
                format!(
                    "the plan is in format version {}, and this handover reads version {PLAN_VERSION}",
                    self.version
                ),
                "run `handover plan` again with this version of handover, and approve the new plan by its digest",
            ));
        }
        if self.compute_digest() == self.digest {
            return Ok(());
        }
        Err(crate::error::Error::input(
            path,
            "the plan's content does not match its digest: it was edited after `handover plan` wrote it",
            "write the plan again with `handover plan`",
        ))
    }
}

/// Everything derived once from the inventory and config.
struct Facts<'a> {
    inv: &'a Inventory,
    cfg: &'a HandoverConfig,
    now: DateTime<Utc>,
    principals: HashMap<&'a str, &'a Principal>,
    classes: HashMap<String, Classification>,
    creds_by_principal: HashMap<&'a str, Vec<&'a Credential>>,
    findings_by_subject: HashMap<&'a str, Vec<String>>,
    /// Scopes where an agency principal is admin-equivalent.
    agency_admin_scopes: BTreeSet<(Provider, String)>,
    /// Principal ids that ran the audit.
    auditors: BTreeSet<String>,
    handover: HandoverCtx,
}

fn auditor_principal(identity: &str) -> Option<String> {
    // arn:aws:sts::ACCT:assumed-role/ROLE/SESSION -> arn:aws:iam::ACCT:role/ROLE
    let parts: Vec<&str> = identity.splitn(6, ':').collect();
    if parts.len() < 6 {
        return None;
    }
    let acct = parts[4];
    let res = parts[5];
    if let Some(rest) = res.strip_prefix("assumed-role/") {
        let role = rest.split('/').next()?;
        return Some(format!("arn:aws:iam::{acct}:role/{role}"));
    }
    if parts[2] == "sts" {
        if let Some(user) = res.strip_prefix("user/") {
            return Some(format!("arn:aws:iam::{acct}:user/{user}"));
        }
    }
    Some(identity.to_string())
}

fn days_between(later: DateTime<Utc>, earlier: DateTime<Utc>) -> i64 {
    (later - earlier).num_days().max(0)
}

impl<'a> Facts<'a> {
    fn new(inv: &'a Inventory, cfg: &'a HandoverConfig) -> Self {
        let principals: HashMap<&str, &Principal> =
            inv.principals.iter().map(|p| (p.id.as_str(), p)).collect();
        let mut creds_by_principal: HashMap<&str, Vec<&Credential>> = HashMap::new();
        for c in &inv.credentials {
            creds_by_principal
                .entry(c.principal.as_str())
                .or_default()
                .push(c);
        }
        let mut findings_by_subject: HashMap<&str, Vec<String>> = HashMap::new();
        for f in &inv.findings {
            findings_by_subject
                .entry(f.subject.as_str())
                .or_default()
                .push(f.code.as_str().to_string());
        }
        let mut classes = HashMap::new();
        for p in &inv.principals {
            let outside_trust = creds_by_principal
                .get(p.id.as_str())
                .is_some_and(|cs| cs.iter().any(|c| c.kind == CredentialKind::RoleTrust));
            classes.insert(p.id.clone(), parties::classify(cfg, p, outside_trust));
        }
        let mut agency_admin_scopes = BTreeSet::new();
        for p in &inv.principals {
            if classes[&p.id].owner == Owner::Agency && p.admin.equivalent == Some(true) {
                agency_admin_scopes.insert((p.provider, p.scope.clone()));
            }
        }
        // A role trusted by the agency's account with admin rights is agency admin access too.
        for c in &inv.credentials {
            if let CredentialDetail::Trust(t) = &c.detail {
                let admin = principals
                    .get(c.principal.as_str())
                    .is_some_and(|p| p.admin.equivalent == Some(true));
                if admin && parties::outside_owner(cfg, &t.trusted).owner == Owner::Agency {
                    agency_admin_scopes.insert((c.provider, c.scope.clone()));
                }
            }
        }
        let auditors = inv
            .sources
            .iter()
            .filter_map(|s| s.identity.as_deref().and_then(auditor_principal))
            .collect();
        let handover = HandoverCtx {
            scenario: cfg.scenario.as_str().into(),
            date: cfg.handover_date.format("%Y-%m-%d").to_string(),
            access_ends: cfg
                .agency_access_ends
                .map(|t| t.format("%Y-%m-%d").to_string()),
        };
        Facts {
            inv,
            cfg,
            now: inv.generated_at,
            principals,
            classes,
            creds_by_principal,
            findings_by_subject,
            agency_admin_scopes,
            auditors,
            handover,
        }
    }

    fn retained(&self, p: &Principal) -> bool {
        self.cfg.operations.retained.iter().any(|r| {
            *r == p.id || *r == p.name || r.split_once(':').is_some_and(|(_, n)| n == p.name)
        })
    }

    fn principal_ctx(&self, p: &Principal) -> PrincipalCtx {
        let class = &self.classes[&p.id];
        let creds = self
            .creds_by_principal
            .get(p.id.as_str())
            .cloned()
            .unwrap_or_default();
        PrincipalCtx {
            id: p.id.clone(),
            kind: kebab(&p.kind),
            name: p.name.clone(),
            owner: class.owner.as_str().into(),
            party: class.party.clone(),
            admin: p.admin.equivalent == Some(true),
            human: parties::is_human(p, &creds),
            runs_audit: self.auditors.contains(&p.id),
            retained: self.retained(p),
            disabled: p.disabled == Some(true),
            tags: p.tags.clone(),
        }
    }

    fn credential_ctx(&self, c: &Credential, trusted_owner: Option<Owner>) -> CredentialCtx {
        let age = c.created.map(|t| days_between(self.now, t));
        let (last_use, since) = match &c.last_used {
            LastUsed::Used { at, .. } => ("used", Some(days_between(self.now, *at))),
            LastUsed::Never => ("never", None),
            LastUsed::Unknown { .. } => ("unknown", None),
        };
        let (stale, basis) = match (since, age) {
            (Some(d), _) => (Some(d), Some("last-use".to_string())),
            (None, Some(a)) => (Some(a), Some("creation".to_string())),
            _ => (None, None),
        };
        let (role, level, resource, time_bound) = match &c.detail {
            CredentialDetail::Binding(b) => (
                Some(b.role.clone()),
                Some(kebab(&b.level)),
                Some(b.resource.clone()),
                b.condition.as_ref().is_some_and(|c| c.expires().is_some()),
            ),
            CredentialDetail::Trust(t) => (None, None, None, t.ends.end().is_some()),
            _ => (None, None, None, false),
        };
        let key_type = match &c.detail {
            CredentialDetail::ServiceAccountKey { key_type, .. } => Some(key_type.clone()),
            _ => None,
        };
        CredentialCtx {
            id: c.id.clone(),
            kind: if trusted_owner.is_some() && c.kind != CredentialKind::RoleTrust {
                "secret-policy-grant".into()
            } else {
                kebab(&c.kind)
            },
            provider: c.provider.to_string(),
            scope: c.scope.clone(),
            identifier: c.identifier.clone(),
            active: c.status == Status::Active,
            age_days: age,
            last_use: last_use.into(),
            days_since_last_use: since,
            stale_days: stale,
            stale_basis: basis,
            trusted_owner: trusted_owner.map(|o| o.as_str().to_string()),
            role,
            role_level: level,
            resource,
            time_bound,
            key_type,
            agency_could_read: self
                .agency_admin_scopes
                .contains(&(c.provider, c.scope.clone())),
            findings: self
                .findings_by_subject
                .get(c.id.as_str())
                .cloned()
                .unwrap_or_default(),
        }
    }
}

/// A unit enum's serde name (`access-key`, `active`, ...).
pub(crate) fn kebab<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One thing the plan decides about.
struct Target {
    target: TargetRef,
    context: serde_json::Value,
    applies: AppliesTo,
    admin: bool,
    runs_audit: bool,
    evidence: BTreeMap<String, String>,
    why: String,
}

fn last_used_text(l: &LastUsed) -> String {
    match l {
        LastUsed::Used { at, service, .. } => format!(
            "{}{}",
            at.format("%Y-%m-%d"),
            service
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        ),
        LastUsed::Never => "never".into(),
        LastUsed::Unknown { reason } => format!("unknown: {reason}"),
    }
}

fn targets(f: &Facts) -> Vec<Target> {
    let mut out = Vec::new();
    for c in &f.inv.credentials {
        let Some(p) = f.principals.get(c.principal.as_str()) else {
            continue;
        };
        // MFA devices protect a credential; they are not one to hand over on their own.
        if c.kind == CredentialKind::MfaDevice && p.kind != PrincipalKind::Root {
            continue;
        }
        let pclass = &f.classes[&p.id];
        let cclass = parties::credential_owner(f.cfg, c, pclass);
        let trusted_owner = matches!(c.detail, CredentialDetail::Trust(_)).then_some(cclass.owner);
        let cctx = f.credential_ctx(c, trusted_owner);
        let pctx = f.principal_ctx(p);
        let mut evidence = BTreeMap::new();
        evidence.insert("status".into(), kebab(&c.status));
        if let Some(t) = c.created {
            evidence.insert("created".into(), t.format("%Y-%m-%d").to_string());
        }
        evidence.insert("last_used".into(), last_used_text(&c.last_used));
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
        if let CredentialDetail::Trust(t) = &c.detail {
            evidence.insert("trusts".into(), t.trusted.value.clone());
            if !t.conditions.is_empty() {
                evidence.insert("conditions".into(), t.conditions.join("; "));
            }
        }
        let label = format!(
            "{} {} of {}",
            kebab(&c.kind),
            c.identifier.as_deref().unwrap_or(""),
            p.name
        )
        .replace("  ", " ");
        let why = match (&cctx.stale_days, &cctx.stale_basis) {
            (Some(d), Some(b))
                if matches!(
                    c.kind,
                    CredentialKind::AccessKey | CredentialKind::GcpServiceAccountKey
                ) =>
            {
                format!(
                    "owner {}; {d} days old counted from {b}",
                    cclass.owner.as_str()
                )
            }
            _ => format!("owner {}", cclass.owner.as_str()),
        };
        let admin_credential = p.admin.equivalent == Some(true)
            || matches!(&c.detail, CredentialDetail::Binding(b) if matches!(b.level, RoleLevel::Owner | RoleLevel::IamAdmin));
        out.push(Target {
            target: TargetRef {
                kind: TargetKind::Credential,
                id: c.id.clone(),
                what: if trusted_owner.is_some() && c.kind != CredentialKind::RoleTrust {
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
                label,
                owner: cclass.owner,
                party: cclass.party.clone(),
            },
            context: context::for_credential(&cctx, &pctx, &f.handover),
            applies: AppliesTo::Credentials,
            admin: admin_credential,
            runs_audit: pctx.runs_audit,
            evidence,
            why,
        });
    }
    // AWS secret resource-policy grants are credentials too: they let someone in.
    for s in &f.inv.secrets {
        if let AccessPolicy::Known { outside } = &s.access_policy {
            for g in outside {
                let class = parties::outside_owner(f.cfg, &g.principal);
                let c = Credential {
                    id: format!("{}/policy/{}", s.id, g.principal.value),
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
                    evidence.insert("conditions".into(), g.conditions.join("; "));
                }
                out.push(Target {
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
                });
            }
        }
    }
    for s in &f.inv.secrets {
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
        let sctx = SecretCtx {
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
        };
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
        evidence.insert("kms_key_owner".into(), kms_owner.as_str().into());
        let mut why = Vec::new();
        if agency_grant {
            why.push("a policy grants the agency access".to_string());
        }
        if agency_admin {
            why.push("the agency was admin where it lives".to_string());
        }
        if !why.is_empty() {
            evidence.insert("agency_could_read".into(), why.join("; "));
        }
        let owner = parties::scope_owner(f.cfg, s.provider, &s.scope);
        out.push(Target {
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
        });
    }
    out
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

fn preconditions(
    action: Action,
    t: &Target,
    f: &Facts,
    admins: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let scope_key = format!("{} {}", t.target.provider, t.target.scope);
    let mut p = Vec::new();
    match action {
        Action::Transfer => p.push("the customer confirms it holds and controls this".into()),
        Action::Rotate => {
            p.push(
                "a new value is issued to the customer and deployed wherever the old one is used"
                    .into(),
            );
            p.push("the old value is disabled only after the new one is verified".into());
        }
        Action::RetainUntil => {
            let until = f
                .handover
                .access_ends
                .clone()
                .unwrap_or_else(|| "(no agency_access_ends in the config)".into());
            p.push(format!(
                "the access is narrowed to what operations need and made to end by itself on {until} (an IAM condition on request.time / aws:CurrentTime)"
            ));
        }
        Action::Review => {
            p.push("a person decides, and the decision is recorded with the plan".into())
        }
        Action::Revoke => {
            p.push(format!(
                "nothing still depends on it (last used: {})",
                t.evidence
                    .get("last_used")
                    .cloned()
                    .unwrap_or_else(|| "not recorded".into())
            ));
            if t.admin {
                let names = admins
                    .get(&scope_key)
                    .map(|v| v.join(", "))
                    .unwrap_or_default();
                p.push(format!(
                    "the customer's admin access is verified first ({names})"
                ));
            }
        }
    }
    if t.runs_audit {
        p.push("this identity ran the audit: revoke it last, after every other step".into());
    }
    p
}

fn phase_for(action: Action, t: &Target) -> Phase {
    if t.runs_audit && matches!(action, Action::Revoke | Action::Rotate) {
        return Phase::RevokeSelf;
    }
    match action {
        Action::Transfer => Phase::Establish,
        Action::Rotate => Phase::Rotate,
        Action::RetainUntil => Phase::TimeBound,
        Action::Review => Phase::Review,
        Action::Revoke if t.admin => Phase::RevokeAdmin,
        Action::Revoke => Phase::Revoke,
    }
}

/// Would this principal still give the customer admin access after the steps?
fn survives(f: &Facts, p: &Principal, actions: &HashMap<String, Action>) -> bool {
    let creds = f
        .creds_by_principal
        .get(p.id.as_str())
        .cloned()
        .unwrap_or_default();
    let kept = |c: &&&Credential| {
        actions.get(&c.id) != Some(&Action::Revoke) && c.status == Status::Active
    };
    match p.kind {
        PrincipalKind::IamUser => creds
            .iter()
            .filter(|c| {
                matches!(
                    c.kind,
                    CredentialKind::ConsolePassword | CredentialKind::AccessKey
                )
            })
            .any(|c| kept(&c)),
        PrincipalKind::IamRole => {
            let trusts: Vec<&&Credential> = creds
                .iter()
                .filter(|c| c.kind == CredentialKind::RoleTrust)
                .collect();
            // A role with no outside trust is assumed from inside its account.
            trusts.is_empty() || trusts.iter().any(&kept)
        }
        _ if p.provider == Provider::Gcp => creds.iter().any(|c| {
            matches!(&c.detail, CredentialDetail::Binding(b)
                if matches!(b.level, RoleLevel::Owner | RoleLevel::IamAdmin)
                && b.resource == format!("projects/{}", p.scope)
                && b.condition.is_none())
                && kept(&c)
        }),
        _ => false,
    }
}

/// Builds the plan, or refuses it when it would lock the customer out.
pub fn build(inv: &Inventory, policy: &Policy, cfg: &HandoverConfig) -> Result<Plan, Error> {
    // The plan must not depend on the order of the inventory's lists.
    let mut normalized = inv.clone();
    normalized.normalize();
    let inv = &normalized;
    let f = Facts::new(inv, cfg);
    let targets = targets(&f);

    // Decide each target: the first matching rule wins; none, or a failing rule, is review.
    let mut decided: Vec<(Target, Action, String, String, Severity)> = Vec::new();
    for t in targets {
        let mut choice = None;
        let prepared = crate::policy::Prepared::new(&t.context);
        for r in policy.rules.iter().filter(|r| r.applies_to == t.applies) {
            let outcome = match &prepared {
                Ok(p) => r.evaluate_prepared(p),
                Err(e) => Outcome::Failed(e.clone()),
            };
            match outcome {
                Outcome::Match => {
                    choice = Some((
                        r.action,
                        r.id.clone(),
                        format!("{} ({})", r.description, t.why),
                        r.severity,
                    ));
                    break;
                }
                Outcome::NoMatch => {}
                Outcome::Failed(e) => {
                    choice = Some((
                        Action::Review,
                        r.id.clone(),
                        format!(
                            "rule {} could not be evaluated here ({e}); a person decides",
                            r.id
                        ),
                        Severity::High,
                    ));
                    break;
                }
            }
        }
        let (action, rule, reason, severity) = choice.unwrap_or((
            Action::Review,
            "no-rule-matched".into(),
            format!("no rule of the policy matched ({})", t.why),
            Severity::Medium,
        ));
        decided.push((t, action, rule, reason, severity));
    }

    // No lock-out: every account and project keeps a working customer admin.
    let actions: HashMap<String, Action> = decided
        .iter()
        .map(|(t, a, ..)| (t.target.id.clone(), *a))
        .collect();
    let mut admins_after: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut locked = Vec::new();
    for s in &inv.sources {
        let key = format!("{} {}", s.provider, s.scope);
        let survivors: Vec<String> = inv
            .principals
            .iter()
            .filter(|p| {
                p.provider == s.provider && p.scope == s.scope && p.kind != PrincipalKind::Root
            })
            .filter(|p| {
                f.classes[&p.id].owner == Owner::Customer
                    && p.admin.equivalent == Some(true)
                    && p.disabled != Some(true)
            })
            .filter(|p| survives(&f, p, &actions))
            .map(|p| p.name.clone())
            .collect();
        if survivors.is_empty() {
            locked.push(key.clone());
        }
        admins_after.insert(key, survivors);
    }
    if !locked.is_empty() {
        return Err(Error::Refused {
            what: format!(
                "the plan would leave {} without a working customer admin (the root user does not count)",
                locked.join(" and ")
            ),
            hint: "give a customer principal admin rights first (or place an existing admin with the customer in the config: \
                   tags, email_domains, name_patterns), then plan again"
                .into(),
        });
    }

    let until = cfg
        .agency_access_ends
        .map(|t| t.format("%Y-%m-%d").to_string());
    let mut steps: Vec<Step> = decided
        .into_iter()
        .map(|(t, action, rule, reason, severity)| {
            let phase = phase_for(action, &t);
            Step {
                id: step_id(&t.target.id),
                order: 0,
                phase,
                preconditions: preconditions(action, &t, &f, &admins_after),
                until: (action == Action::RetainUntil)
                    .then(|| until.clone())
                    .flatten(),
                target: t.target,
                action,
                rule,
                reason,
                severity,
                evidence: t.evidence,
            }
        })
        .collect();
    steps.sort_by(|a, b| {
        (a.phase, a.target.provider, &a.target.scope, &a.target.id).cmp(&(
            b.phase,
            b.target.provider,
            &b.target.scope,
            &b.target.id,
        ))
    });
    for (i, s) in steps.iter_mut().enumerate() {
        s.order = i + 1;
    }

    let mut findings = Vec::new();
    if cfg.scenario == crate::config::Scenario::AgencyOperated && cfg.agency_access_ends.is_none() {
        findings.push(PlanFinding {
            code: PlanFindingCode::AdoptionEndMissing,
            severity: Severity::High,
            message: "retained access has no end date".into(),
        });
    }
    let unknown = steps
        .iter()
        .filter(|s| s.target.owner == Owner::Unknown)
        .count();
    if unknown > 0 {
        findings.push(PlanFinding {
            code: PlanFindingCode::OwnerUnknown,
            severity: Severity::High,
            message: format!("{unknown} step(s) concern credentials whose owner the config does not establish; they go to review"),
        });
    }
    for s in &inv.sources {
        if parties::scope_owner(cfg, s.provider, &s.scope).owner == Owner::Unknown {
            findings.push(PlanFinding {
                code: PlanFindingCode::ScopeOwnerUnknown,
                severity: Severity::Medium,
                message: format!(
                    "{} {} is in neither party's list in the config",
                    s.provider, s.scope
                ),
            });
        }
    }
    let documentation = documentation(cfg, &mut findings);

    let mut by_action = BTreeMap::new();
    let mut by_owner = BTreeMap::new();
    for s in &steps {
        *by_action.entry(s.action.as_str().to_string()).or_insert(0) += 1;
        *by_owner
            .entry(s.target.owner.as_str().to_string())
            .or_insert(0) += 1;
    }
    let mut plan = Plan {
        schema: PLAN_SCHEMA.into(),
        version: PLAN_VERSION,
        digest: String::new(),
        inventory: InventoryRef {
            generated_at: inv.generated_at,
            sources: inv
                .sources
                .iter()
                .map(|s| format!("{} {} ({})", s.provider, s.scope, kebab(&s.mode)))
                .collect(),
        },
        policy: PolicyInfo {
            name: policy.name.clone(),
            digest: policy.digest.clone(),
        },
        handover: HandoverInfo {
            scenario: cfg.scenario.as_str().into(),
            date: cfg.handover_date.format("%Y-%m-%d").to_string(),
            agency_access_ends: until,
            agency: cfg.agency.name.clone(),
            customer: cfg.customer.name.clone(),
        },
        summary: Summary {
            steps: steps.len(),
            by_action,
            by_owner,
            customer_admins_after: admins_after,
        },
        documentation,
        findings,
        steps,
    };
    plan.digest = plan.compute_digest();
    Ok(plan)
}

fn sha256_file(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| format!("sha256:{:x}", Sha256::digest(&b)))
}

fn files_under(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(path) {
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            out.extend(files_under(&e));
        }
    }
    out
}

/// Each handed-over document, present with its digest, or a finding.
pub fn documentation(cfg: &HandoverConfig, findings: &mut Vec<PlanFinding>) -> Vec<DocItem> {
    let mut items = Vec::new();
    let mut check = |kind: &str, rel: &Path, findings: &mut Vec<PlanFinding>| {
        let path = cfg.base_dir.join(rel);
        let files = files_under(&path);
        if files.is_empty() {
            items.push(DocItem {
                kind: kind.into(),
                path: rel.display().to_string(),
                present: false,
                sha256: None,
            });
            findings.push(PlanFinding {
                code: PlanFindingCode::DocumentationMissing,
                severity: Severity::Medium,
                message: format!(
                    "the {kind} {} named in the config is missing or empty",
                    rel.display()
                ),
            });
        }
        for file in files {
            let shown = file
                .strip_prefix(&cfg.base_dir)
                .unwrap_or(&file)
                .display()
                .to_string();
            items.push(DocItem {
                kind: kind.into(),
                path: shown,
                present: true,
                sha256: sha256_file(&file),
            });
        }
    };
    match &cfg.documentation.slo {
        Some(p) => check("slo", p, findings),
        None => findings.push(PlanFinding {
            code: PlanFindingCode::DocumentationMissing,
            severity: Severity::Medium,
            message: "the config names no SLO document".into(),
        }),
    }
    if cfg.documentation.playbooks.is_empty() {
        findings.push(PlanFinding {
            code: PlanFindingCode::DocumentationMissing,
            severity: Severity::Medium,
            message: "the config names no support playbooks".into(),
        });
    }
    for p in &cfg.documentation.playbooks {
        check("playbook", p, findings);
    }
    if cfg.documentation.postmortems.is_empty() {
        findings.push(PlanFinding {
            code: PlanFindingCode::DocumentationMissing,
            severity: Severity::Low,
            message: "the config names no postmortems".into(),
        });
    }
    for p in &cfg.documentation.postmortems {
        check("postmortem", p, findings);
    }
    items
}

/// Who owns each principal and each credential of an inventory, by the config alone:
/// what a plan's targets say, and what `verify` asks of the live accounts.
pub fn owners(
    inv: &Inventory,
    cfg: &HandoverConfig,
) -> (BTreeMap<String, Owner>, BTreeMap<String, Owner>) {
    let f = Facts::new(inv, cfg);
    let principals = f
        .classes
        .iter()
        .map(|(k, c)| (k.clone(), c.owner))
        .collect();
    let credentials = inv
        .credentials
        .iter()
        .filter_map(|c| {
            f.classes
                .get(&c.principal)
                .map(|pc| (c.id.clone(), parties::credential_owner(cfg, c, pc).owner))
        })
        .collect();
    (principals, credentials)
}

/// How each rule of a policy judges one target: what `handover policy explain` shows.
pub struct Explanation {
    pub target: TargetRef,
    pub context: serde_json::Value,
    /// (rule id, line, outcome) for every rule that applies to the target's kind.
    pub rules: Vec<(String, usize, Outcome)>,
    /// The rule that decides (the first match), if any.
    pub decided_by: Option<String>,
}

/// Explains the decision for the target whose id is (or ends with) `target`.
pub fn explain(
    inv: &Inventory,
    policy: &Policy,
    cfg: &HandoverConfig,
    target: &str,
) -> Result<Explanation, Error> {
    let mut normalized = inv.clone();
    normalized.normalize();
    let inv = &normalized;
    let f = Facts::new(inv, cfg);
    let all = targets(&f);
    // The exact id, a step id, a unique ending of an id, or a secret's name.
    let tries: [&dyn Fn(&Target) -> bool; 4] = [
        &|t| t.target.id == target,
        &|t| step_id(&t.target.id) == target,
        &|t| t.target.id.ends_with(target),
        &|t| t.target.kind == TargetKind::Secret && t.target.name.as_deref() == Some(target),
    ];
    let matches: Vec<&Target> = tries
        .iter()
        .map(|m| all.iter().filter(|t| m(t)).collect::<Vec<_>>())
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    let t = match matches.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::usage(
                format!("no credential or secret with id {target:?} in the inventory"),
                "pass a credential or secret id from the inventory, or a step id from the plan",
            ))
        }
        many => {
            return Err(Error::usage(
                format!(
                    "{target:?} matches {} targets: {}",
                    many.len(),
                    many.iter()
                        .take(5)
                        .map(|t| t.target.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "pass a longer part of the id",
            ))
        }
    };
    let mut rules = Vec::new();
    let mut decided_by = None;
    for r in policy.rules.iter().filter(|r| r.applies_to == t.applies) {
        let o = r.evaluate(&t.context);
        if decided_by.is_none() && o != Outcome::NoMatch {
            decided_by = Some(r.id.clone());
        }
        rules.push((r.id.clone(), r.line, o));
    }
    Ok(Explanation {
        target: t.target.clone(),
        context: t.context.clone(),
        rules,
        decided_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn plan_finding_codes_are_unique_kebab_case_and_round_trip() {
        let mut seen = HashSet::new();
        for code in PlanFindingCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{code} is not kebab-case"
            );
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(
                serde_json::from_str::<PlanFindingCode>(&json).unwrap(),
                *code
            );
        }
    }
}
