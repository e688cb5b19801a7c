//! Verification: each claim of a manifest checked against what the live accounts and
//! projects say now. A pure function of the manifest and the live facts; the command
//! (`cli::verify_cmd`) reads those facts with the customer's own credentials.
//!
//! Claims, and when each passes:
//! - `revoked`: the credential or binding is gone (a GCP binding counts as present while
//!   any binding of the same member, role and resource remains, conditional or not; an
//!   Identity Center assignment is unchecked while its account's assignments could not
//!   be listed);
//! - `retained`: agency access kept until a date provably ends by itself no later than
//!   that date, or is gone. "Provably" is the provider's typed `TimeBound` (an IAM
//!   condition whose whole expression is bounded by `request.time`, a trust whose every
//!   granting statement has `DateLessThan aws:CurrentTime`, a key's expiry, a user's
//!   Deny of everything with `DateGreaterThan[Equals] aws:CurrentTime`); condition
//!   text is never read here, and a `Conditional` grant never passes;
//! - `rotated`: the old credential is gone; replacements created since are named;
//! - `migrated-secret`: the destination holds the recorded keyed digest (or, for a
//!   secret flagged "rotate after cutover" once the handover date has passed, a new one);
//! - `agency-access`: no agency principal or credential is live that the plan does not
//!   retain or hand over (catches an agency key re-added after the handover);
//! - `documentation`: each handed-over document matches its digest;
//! - `re-encrypted`: a secret the plan re-encrypts under the customer's KMS key names
//!   that key live (`KmsKeyId`, as the audit reads it), so the agency's key no longer
//!   guards the value.
//!
//! Before the handover date, work that is not done yet is `pending`, not `fail`.
//! A step the manifest records done by `apply` (its journal) is checked for that
//! change's end state: a key apply deactivated passes while it is inactive (deletion
//! waits for `--finish`), and a step recorded done whose end state is not live fails
//! whatever the date: the record and the account disagree.

pub mod live;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::parties::Owner;
use crate::journal::ApplyChange;
use crate::manifest::{Manifest, Scope, StepOutcome, StepRecord, StoreRef};
use crate::model::{
    credential_ends, AccessPolicy, Credential, CredentialDetail, Inventory, Provider, Status,
    TimeBound,
};
use crate::plan::{kebab, policy_grant_id, SecretPart, TargetKind, TargetRef, TargetWhat};
use crate::policy::Action;

pub const SCHEMA: &str = "handover/verification";

/// How a claim stands. (Not `model::Status`, whether a credential works.)
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimStatus {
    Pass,
    Pending,
    /// Not checked: the account or project it is about could not be read (no
    /// credentials, access denied, unreachable). Never a pass, and not a failure either.
    Unchecked,
    Fail,
}

impl ClaimStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Pass => "pass",
            ClaimStatus::Pending => "pending",
            ClaimStatus::Unchecked => "unchecked",
            ClaimStatus::Fail => "fail",
        }
    }
}

/// What a claim checks: a stable kebab-case code (cargo-deny's `Code`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimKind {
    /// The manifest is signed by the agency's key.
    Signature,
    /// The manifest is encrypted to exactly the recipients it names.
    Recipients,
    /// An account or project could be read live.
    Scope,
    /// A revoked credential or binding is gone.
    Revoked,
    /// Retained agency access ends by itself no later than stated.
    Retained,
    /// A rotated credential is replaced.
    Rotated,
    /// A migrated secret holds its recorded keyed digest.
    MigratedSecret,
    /// No agency access is live that the plan does not keep.
    AgencyAccess,
    /// A blind spot of the live read.
    Coverage,
    /// A handed-over document matches its digest.
    Documentation,
    /// A secret the plan re-encrypts is under the customer's KMS key.
    ReEncrypted,
    /// A kept GCP API key's restrictions are the plan's (its rule's `restrict:`).
    Restricted,
}

impl ClaimKind {
    pub const ALL: &'static [ClaimKind] = &[
        ClaimKind::Signature,
        ClaimKind::Recipients,
        ClaimKind::Scope,
        ClaimKind::Revoked,
        ClaimKind::Retained,
        ClaimKind::Rotated,
        ClaimKind::MigratedSecret,
        ClaimKind::AgencyAccess,
        ClaimKind::Coverage,
        ClaimKind::Documentation,
        ClaimKind::ReEncrypted,
        ClaimKind::Restricted,
    ];

    /// The stable kebab-case code.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimKind::Signature => "signature",
            ClaimKind::Recipients => "recipients",
            ClaimKind::Scope => "scope",
            ClaimKind::Revoked => "revoked",
            ClaimKind::Retained => "retained",
            ClaimKind::Rotated => "rotated",
            ClaimKind::MigratedSecret => "migrated-secret",
            ClaimKind::AgencyAccess => "agency-access",
            ClaimKind::Coverage => "coverage",
            ClaimKind::Documentation => "documentation",
            ClaimKind::ReEncrypted => "re-encrypted",
            ClaimKind::Restricted => "restricted",
        }
    }
}

impl std::fmt::Display for ClaimKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so a table's `{:<16}` still aligns.
        f.pad(self.as_str())
    }
}

// Deserialize: `handover report --verification` reads the file `verify -o` wrote.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Claim {
    pub kind: ClaimKind,
    /// What it is about (a step id, a secret, a principal, a file).
    pub subject: String,
    pub status: ClaimStatus,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Verification {
    /// Always `handover/verification`.
    pub schema: String,
    pub version: u32,
    pub checked_at: DateTime<Utc>,
    pub plan_digest: String,
    pub manifest_created_at: DateTime<Utc>,
    pub handover_date: DateTime<Utc>,
    pub summary: BTreeMap<String, usize>,
    pub claims: Vec<Claim>,
}

impl Verification {
    pub fn failed(&self) -> bool {
        self.claims.iter().any(|c| c.status == ClaimStatus::Fail)
    }

    /// Some claim could not be checked (its scope could not be read).
    pub fn incomplete(&self) -> bool {
        self.claims
            .iter()
            .any(|c| c.status == ClaimStatus::Unchecked)
    }
}

/// What a destination holds now, as the keyed digest of its current value.
#[derive(Debug, Clone)]
pub enum SecretRead {
    Digest(String),
    Missing,
    Unread(String),
}

/// The live facts the command read.
#[derive(Debug)]
pub struct Live {
    /// One inventory of every scope that could be read (read live, not from reports).
    pub inventory: Inventory,
    /// Scopes that could not be read, and why.
    pub unread: Vec<(Scope, String)>,
    /// Destination secrets by (store description, name).
    pub secrets: BTreeMap<(String, String), SecretRead>,
    /// Integrity claims made while opening the manifest (signature, recipients).
    pub integrity: Vec<Claim>,
    /// The documentation folder's files, by manifest path: their `sha256:` digests.
    pub documents: Option<BTreeMap<String, Result<String, String>>>,
}

fn claim(
    kind: ClaimKind,
    subject: impl Into<String>,
    status: ClaimStatus,
    detail: impl Into<String>,
) -> Claim {
    Claim {
        kind,
        subject: subject.into(),
        status,
        detail: detail.into(),
    }
}

/// Does a plan target stand for this live credential: the same id, or (GCP bindings)
/// the same member, role and resource under any condition? Matched on the target's
/// typed fields against the live binding's, so no id, condition text or resource path
/// is split apart.
fn stands_for(t: &TargetRef, c: &Credential) -> bool {
    if t.id == c.id {
        return true;
    }
    match (&t.binding, &c.detail) {
        (Some(want), CredentialDetail::Binding(live)) => {
            t.principal.as_deref() == Some(c.principal.as_str())
                && want.resource == live.resource
                && want.role == live.role
        }
        _ => false,
    }
}

fn parse_until(s: &str) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// What every claim check shares: the manifest, the live facts, the time, and the
/// live credentials indexed once.
struct Ctx<'a> {
    m: &'a Manifest,
    live: &'a Live,
    now: DateTime<Utc>,
    /// The handover date has passed: work not done is a failure, not pending.
    past: bool,
    unread: BTreeMap<(Provider, &'a str), &'a str>,
    by_id: BTreeMap<&'a str, &'a Credential>,
    bindings: Vec<&'a Credential>,
    secret_ids: BTreeSet<&'a str>,
}

impl<'a> Ctx<'a> {
    fn new(m: &'a Manifest, live: &'a Live, now: DateTime<Utc>) -> Self {
        let inv = &live.inventory;
        Ctx {
            m,
            live,
            now,
            past: now >= m.handover.date,
            unread: live
                .unread
                .iter()
                .map(|(s, why)| ((s.provider, s.scope.as_str()), why.as_str()))
                .collect(),
            by_id: inv.credentials.iter().map(|c| (c.id.as_str(), c)).collect(),
            bindings: inv
                .credentials
                .iter()
                .filter(|c| matches!(c.detail, CredentialDetail::Binding(_)))
                .collect(),
            secret_ids: inv.secrets.iter().map(|s| s.id.as_str()).collect(),
        }
    }

    /// Work not done yet: pending before the handover date, failed after it.
    fn due(&self, what: &str) -> (ClaimStatus, String) {
        let date = self.m.handover.date.format("%Y-%m-%d");
        if self.past {
            (
                ClaimStatus::Fail,
                format!("{what}, and the handover date {date} has passed"),
            )
        } else {
            (
                ClaimStatus::Pending,
                format!("{what}; due by the handover date {date}"),
            )
        }
    }

    /// A step's end state not live: a failure when the manifest records the step done
    /// (the account no longer says what the record says), otherwise work due.
    fn claimed(&self, s: &StepRecord, what: &str) -> (ClaimStatus, String) {
        if s.outcome == StepOutcome::Done {
            (
                ClaimStatus::Fail,
                format!(
                    "{what}, though the manifest records it done ({})",
                    s.evidence
                ),
            )
        } else {
            self.due(what)
        }
    }

    fn readable(&self, p: Provider, scope: &str) -> bool {
        !self.unread.contains_key(&(p, scope))
    }

    /// The live credentials standing for a plan target: itself, or (bindings) any with
    /// the same member, role and resource.
    fn live_for(&self, t: &TargetRef) -> Vec<&'a Credential> {
        if let Some(c) = self.by_id.get(t.id.as_str()) {
            return vec![*c];
        }
        if t.binding.is_some() {
            return self
                .bindings
                .iter()
                .copied()
                .filter(|c| stands_for(t, c))
                .collect();
        }
        Vec::new()
    }
}

/// Checks every claim.
pub fn check(m: &Manifest, live: &Live, now: DateTime<Utc>) -> Verification {
    let cx = Ctx::new(m, live, now);
    let mut claims = live.integrity.clone();
    scope_claims(&cx, &mut claims);
    for s in &m.steps {
        let Some(kind) = step_claim_kind(s) else {
            continue;
        };
        let subject = format!("{} {}", s.id, s.target.label);
        if !cx.readable(s.target.provider, &s.target.scope) {
            // Listed, never dropped: the customer sees every claim the live read owes.
            claims.push(claim(
                kind,
                subject,
                ClaimStatus::Unchecked,
                format!(
                    "not checked: {} {} could not be read (see its scope claim)",
                    s.target.provider, s.target.scope
                ),
            ));
            continue;
        }
        match kind {
            ClaimKind::Revoked => revoked_claim(&cx, s, subject, &mut claims),
            ClaimKind::Retained => {
                if s.restrict.is_some() {
                    restricted_claim(&cx, s, subject.clone(), &mut claims);
                }
                retained_claim(&cx, s, subject, &mut claims)
            }
            ClaimKind::Restricted => restricted_claim(&cx, s, subject, &mut claims),
            ClaimKind::Rotated if s.target.kind == TargetKind::Credential => {
                rotated_claim(&cx, s, subject, &mut claims)
            }
            ClaimKind::Rotated => rotated_secret_claim(&cx, s, subject, &mut claims),
            ClaimKind::ReEncrypted => reencrypted_claim(&cx, s, subject, &mut claims),
            _ => {}
        }
    }
    migrated_secret_claims(&cx, &mut claims);
    agency_access_claims(&cx, &mut claims);
    coverage_claims(&cx, &mut claims);
    documentation_claims(&cx, &mut claims);
    let mut summary = BTreeMap::new();
    for c in &claims {
        *summary.entry(c.status.as_str().to_string()).or_insert(0) += 1;
    }
    Verification {
        schema: SCHEMA.into(),
        version: 1,
        checked_at: now,
        plan_digest: m.plan.digest.clone(),
        manifest_created_at: m.created_at,
        handover_date: m.handover.date,
        summary,
        claims,
    }
}

/// The claim a step owes, if any: revoked, retained, rotated (a credential or a secret),
/// re-encrypted.
fn step_claim_kind(s: &StepRecord) -> Option<ClaimKind> {
    match s.action {
        Action::Revoke => Some(ClaimKind::Revoked),
        Action::RetainUntil => Some(ClaimKind::Retained),
        Action::Rotate if matches!(s.target.kind, TargetKind::Credential | TargetKind::Secret) => {
            Some(ClaimKind::Rotated)
        }
        Action::Review if s.target.reencrypt.is_some() => Some(ClaimKind::ReEncrypted),
        Action::Transfer if s.restrict.is_some() => Some(ClaimKind::Restricted),
        _ => None,
    }
}

/// Each account and project of the manifest: read live, or not (and then nothing in it
/// is checked: unchecked, not failed, since nothing was found wrong).
fn scope_claims(cx: &Ctx, claims: &mut Vec<Claim>) {
    for s in &cx.m.scopes {
        match cx.unread.get(&(s.provider, s.scope.as_str())) {
            Some(why) => claims.push(claim(
                ClaimKind::Scope,
                format!("{} {}", s.provider, s.scope),
                ClaimStatus::Unchecked,
                format!("could not be read, so nothing in it is checked: {why}"),
            )),
            None => claims.push(claim(
                ClaimKind::Scope,
                format!("{} {}", s.provider, s.scope),
                ClaimStatus::Pass,
                "read live",
            )),
        }
    }
}

/// `revoked`: the credential, binding or secret is gone.
fn revoked_claim(cx: &Ctx, s: &StepRecord, subject: String, claims: &mut Vec<Claim>) {
    let secret_present =
        s.target.kind == TargetKind::Secret && cx.secret_ids.contains(s.target.id.as_str());
    if is_policy_grant(&s.target) {
        return policy_grant_claim(cx, s, subject, claims);
    }
    if let Some(why) = enabled_again(cx, s) {
        claims.push(claim(ClaimKind::Revoked, subject, ClaimStatus::Fail, why));
        return;
    }
    if let Some(why) = assignments_unread(cx, &s.target) {
        let d = format!("not checked, Identity Center's assignments could not be read: {why}");
        claims.push(claim(
            ClaimKind::Revoked,
            subject,
            ClaimStatus::Unchecked,
            d,
        ));
        return;
    }
    let found = cx.live_for(&s.target);
    if found.is_empty() && !secret_present {
        claims.push(claim(
            ClaimKind::Revoked,
            subject,
            ClaimStatus::Pass,
            "gone",
        ));
    } else if !secret_present && deactivated_by_apply(s, &found) {
        claims.push(claim(
            ClaimKind::Revoked,
            subject,
            ClaimStatus::Pass,
            format!(
                "inactive: {} by apply ({}); {}",
                if s.applied.is_some() {
                    "deactivated"
                } else {
                    "found inactive"
                },
                s.evidence,
                // Not yet deleted: found inactive, so `--finish` has not deleted it.
                if crate::apply::finish::deletes(s.target.what) {
                    "not deleted yet: `apply --finish` deletes it once grace_days have passed"
                } else {
                    "it stays inactive (`apply --finish` does not delete this kind)"
                }
            ),
        ));
    } else {
        let what = found
            .first()
            .map(|c| {
                format!(
                    "still present ({}{})",
                    kebab(&c.status),
                    c.created
                        .map(|t| format!(", created {}", t.format("%Y-%m-%d")))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "still present".into());
        let (st, d) = cx.claimed(s, &what);
        claims.push(claim(ClaimKind::Revoked, subject, st, d));
    }
}

/// `restricted`: the kept API key's live restrictions (as the audit reads them, never
/// the key string) are exactly the plan's: the same services, referrers and IPs, no
/// app restriction. A key gone fails: the plan keeps it.
fn restricted_claim(cx: &Ctx, s: &StepRecord, subject: String, claims: &mut Vec<Claim>) {
    let Some(want) = &s.restrict else {
        return;
    };
    let found = cx.live_for(&s.target);
    let detail = found.iter().find_map(|c| match &c.detail {
        crate::model::CredentialDetail::ApiKey(d) => Some(d),
        _ => None,
    });
    let (status, why) = match detail {
        None => (
            ClaimStatus::Fail,
            "the API key the plan keeps is gone".to_string(),
        ),
        Some(d) if want.matches(d) => (
            ClaimStatus::Pass,
            format!("restricted to {}", want.describe()),
        ),
        Some(d) => {
            let live = [
                ("apis", &d.apis),
                ("referrers", &d.referrers),
                ("ips", &d.ips),
                ("apps", &d.apps),
            ]
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k} {}", v.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
            let live = if live.is_empty() {
                "none".to_string()
            } else {
                live
            };
            cx.claimed(
                s,
                &format!(
                    "restrictions are {live}, not the plan's {}",
                    want.describe()
                ),
            )
        }
    };
    claims.push(claim(ClaimKind::Restricted, subject, status, why));
}

/// Why an Identity Center assignment's absence from the live read proves nothing: a
/// gap of a call that lists assignments (or what leads to them) in its account.
fn assignments_unread<'a>(cx: &Ctx<'a>, t: &TargetRef) -> Option<&'a str> {
    const LISTS: &[&str] = &[
        "sso-admin:ListInstances",
        "sso-admin:ListPermissionSets",
        "sso-admin:ListAccountsForProvisionedPermissionSet",
        "sso-admin:ListAccountAssignments",
    ];
    if t.what != TargetWhat::Credential(crate::model::CredentialKind::SsoAccountAssignment) {
        return None;
    }
    cx.live
        .inventory
        .gaps
        .iter()
        .find(|g| {
            g.provider == t.provider && g.scope == t.scope && LISTS.contains(&g.source.as_str())
        })
        .map(|g| g.reason.as_str())
}

/// Where a grant in an AWS secret's resource policy stands live. A grant is not a
/// credential of the inventory, so it is looked for in the live secrets' policies (by
/// the id the plan made for it); a policy that could not be read proves nothing.
enum GrantLive<'a> {
    Present,
    Gone,
    Unread(&'a str),
}

fn policy_grant_live<'a>(cx: &Ctx<'a>, t: &TargetRef) -> GrantLive<'a> {
    let mut unread = None;
    for sec in cx
        .live
        .inventory
        .secrets
        .iter()
        .filter(|x| x.provider == t.provider && x.scope == t.scope && x.region == t.region)
    {
        match &sec.access_policy {
            AccessPolicy::Known { outside } => {
                if outside.iter().any(|g| policy_grant_id(sec, g) == t.id) {
                    return GrantLive::Present;
                }
            }
            AccessPolicy::Unknown { reason } => unread = Some(reason.as_str()),
            AccessPolicy::None => {}
        }
    }
    unread.map_or(GrantLive::Gone, GrantLive::Unread)
}

fn is_policy_grant(t: &TargetRef) -> bool {
    t.what == TargetWhat::Secret(SecretPart::SecretPolicyGrant)
}

/// `revoked` for a grant in an AWS secret's resource policy: gone only when the secret
/// is gone or its policy, read live, no longer lets that principal in.
fn policy_grant_claim(cx: &Ctx, s: &StepRecord, subject: String, claims: &mut Vec<Claim>) {
    let (st, d) = match policy_grant_live(cx, &s.target) {
        GrantLive::Present => cx.claimed(s, "still in the secret's resource policy"),
        GrantLive::Unread(why) => cx.claimed(
            s,
            &format!("a secret's resource policy could not be read live ({why})"),
        ),
        GrantLive::Gone => (
            ClaimStatus::Pass,
            "gone from the secret's resource policy".into(),
        ),
    };
    claims.push(claim(ClaimKind::Revoked, subject, st, d));
}

/// `retained` for a grant in an AWS secret's resource policy: passes only once gone;
/// while present nothing read proves it ends by itself (its conditions are not read as
/// a time bound), so it is due, never passed.
fn retained_policy_grant(cx: &Ctx, s: &StepRecord, until: DateTime<Utc>) -> (ClaimStatus, String) {
    match policy_grant_live(cx, &s.target) {
        GrantLive::Gone => (ClaimStatus::Pass, "gone already".into()),
        GrantLive::Unread(why) => cx.claimed(
            s,
            &format!("a secret's resource policy could not be read live ({why})"),
        ),
        GrantLive::Present if cx.now >= until => (
            ClaimStatus::Fail,
            format!(
                "still in the secret's resource policy after {}, when it was to end",
                until.format("%Y-%m-%d")
            ),
        ),
        GrantLive::Present => cx.claimed(
            s,
            &format!(
                "retained until {}, but nothing read proves a resource-policy grant ends by itself",
                until.format("%Y-%m-%d")
            ),
        ),
    }
}

/// A step with which apply disabled a service account (`disable: principal`) whose
/// account is, live, enabled again: why the revocation no longer holds. `None` when the
/// step disabled none, or the account is disabled or gone.
fn enabled_again(cx: &Ctx, s: &StepRecord) -> Option<String> {
    if s.outcome != StepOutcome::Done
        || s.applied.or(s.observed) != Some(ApplyChange::DisableAccount)
    {
        return None;
    }
    let principal = s.target.principal.as_deref()?;
    let p = cx
        .live
        .inventory
        .principals
        .iter()
        .find(|p| p.id == principal)?;
    (p.disabled != Some(true)).then(|| {
        format!(
            "service account {} is enabled, though apply disabled it ({})",
            p.name, s.evidence
        )
    })
}

/// Whether apply's recorded change for this step (or the end state it found already in
/// place) is a deactivation (an AWS key-like
/// credential set `Inactive`, a GCP key disabled) and every live form of the target is
/// inactive: that revoke is carried out until `--finish` deletes it. Active again, it
/// is not.
fn deactivated_by_apply(s: &StepRecord, found: &[&Credential]) -> bool {
    s.outcome == StepOutcome::Done
        && matches!(
            s.applied.or(s.observed),
            Some(ApplyChange::Deactivate | ApplyChange::Disable | ApplyChange::DisableAccount)
        )
        && found.iter().all(|c| c.status == Status::Inactive)
}

/// `retained`: agency access kept until a date provably ends by itself by then.
fn retained_claim(cx: &Ctx, s: &StepRecord, subject: String, claims: &mut Vec<Claim>) {
    let now = cx.now;
    let until = s.until.as_deref().and_then(parse_until);
    let found = cx.live_for(&s.target);
    let Some(until) = until else {
        claims.push(claim(
            ClaimKind::Retained,
            subject,
            ClaimStatus::Fail,
            "the plan gives no end date",
        ));
        return;
    };
    if is_policy_grant(&s.target) {
        let (st, d) = retained_policy_grant(cx, s, until);
        claims.push(claim(ClaimKind::Retained, subject, st, d));
        return;
    }
    if found.is_empty() {
        claims.push(claim(
            ClaimKind::Retained,
            subject,
            ClaimStatus::Pass,
            "gone already",
        ));
    } else if now >= until {
        claims.push(claim(
            ClaimKind::Retained,
            subject,
            ClaimStatus::Fail,
            format!(
                "still present after {}, when it was to end",
                until.format("%Y-%m-%d")
            ),
        ));
    } else {
        let (st, d) = retained_live(cx, s, &found, until);
        claims.push(claim(ClaimKind::Retained, subject, st, d));
    }
}

/// A retained credential still live before its date: passes only when every live form
/// of it provably ends by itself no later than stated (the provider's typed verdict,
/// never the condition's text). A user's credentials also end with a Deny of everything
/// in its own or its groups' policies (`Principal::access_ends`), as the audit proved it.
fn retained_live(
    cx: &Ctx,
    s: &StepRecord,
    found: &[&Credential],
    until: DateTime<Utc>,
) -> (ClaimStatus, String) {
    let holder = |c: &Credential| {
        cx.live
            .inventory
            .principals
            .iter()
            .find(|p| p.id == c.principal)
    };
    let ends: Vec<TimeBound> = found
        .iter()
        .map(|c| credential_ends(c, holder(c)))
        .collect();
    if ends.iter().all(|e| e.ends_by(until)) {
        let last = ends
            .iter()
            .filter_map(TimeBound::end)
            .max()
            .unwrap_or(until);
        return (
            ClaimStatus::Pass,
            format!("ends by itself at {}", last.format("%Y-%m-%d %H:%M UTC")),
        );
    }
    if let Some(late) = ends
        .iter()
        .find(|e| e.end().is_some() && !e.ends_by(until))
        .and_then(TimeBound::end)
    {
        return (
            ClaimStatus::Fail,
            format!(
                "ends at {}, later than the stated {}",
                late.format("%Y-%m-%d"),
                until.format("%Y-%m-%d")
            ),
        );
    }
    let why = match ends.iter().find_map(|e| match e {
        TimeBound::Conditional { reason } => Some(reason),
        _ => None,
    }) {
        Some(reason) => format!(
            "retained until {}, but its condition does not provably end it ({reason})",
            until.format("%Y-%m-%d")
        ),
        None => format!(
            "retained until {}, but nothing in the account makes it end by itself",
            until.format("%Y-%m-%d")
        ),
    };
    cx.claimed(s, &why)
}

/// `rotated`: the old credential is gone; replacements made since the audit are named.
fn rotated_claim(cx: &Ctx, s: &StepRecord, subject: String, claims: &mut Vec<Claim>) {
    let (m, inv) = (cx.m, &cx.live.inventory);
    let found = cx.live_for(&s.target);
    if found.is_empty() {
        let newer: Vec<String> = inv
            .credentials
            .iter()
            .filter(|c| {
                Some(&c.principal) == s.target.principal.as_ref()
                    && s.target.what == TargetWhat::Credential(c.kind)
                    && c.created.is_some_and(|t| t > m.plan.inventory_generated_at)
            })
            .map(|c| {
                format!(
                    "{} (created {})",
                    c.identifier.as_deref().unwrap_or(&c.id),
                    c.created
                        .map(|t| t.format("%Y-%m-%d").to_string())
                        .unwrap_or_default()
                )
            })
            .collect();
        let detail = if newer.is_empty() {
            "the old credential is gone".to_string()
        } else {
            format!(
                "the old credential is gone; new since the audit: {}",
                newer.join(", ")
            )
        };
        claims.push(claim(
            ClaimKind::Rotated,
            subject,
            ClaimStatus::Pass,
            detail,
        ));
    } else {
        let (st, d) = cx.due("not rotated: the old credential is still present");
        claims.push(claim(ClaimKind::Rotated, subject, st, d));
    }
}

/// `re-encrypted`: the secret names the customer's key the plan re-encrypts it under.
fn reencrypted_claim(cx: &Ctx, s: &StepRecord, subject: String, claims: &mut Vec<Claim>) {
    let Some(r) = &s.target.reencrypt else {
        return;
    };
    let live = cx
        .live
        .inventory
        .secrets
        .iter()
        .find(|x| x.id == s.target.id);
    let (status, detail) = match live.map(|x| x.encryption.key.as_deref()) {
        None => (
            ClaimStatus::Fail,
            "the secret is gone: its value cannot be shown to be the customer's".to_string(),
        ),
        Some(Some(k)) if k == r.to.as_str() => (
            ClaimStatus::Pass,
            format!("under the customer's key {}", r.to),
        ),
        Some(k) => cx.due(&format!(
            "still under {}, not the customer's key {}",
            k.unwrap_or("the default key aws/secretsmanager"),
            r.to
        )),
    };
    claims.push(claim(ClaimKind::ReEncrypted, subject, status, detail));
}

/// `rotated`, for a secret the plan rotates (a customer task, or `RotateSecret`): every
/// copy migrated for the step holds, live, a value whose keyed digest is no longer the
/// one migrated (the value the agency knew). Still the migrated value: pending before
/// the handover date, failed after. Nothing migrated for it: no digest proves a new
/// value, so it stays pending (the audit's credential checks still apply).
fn rotated_secret_claim(cx: &Ctx, s: &StepRecord, subject: String, claims: &mut Vec<Claim>) {
    let copies: Vec<_> =
        cx.m.migrated_secrets
            .iter()
            .filter(|c| c.step.as_deref() == Some(s.id.as_str()) && c.outcome == StepOutcome::Done)
            .collect();
    if copies.is_empty() {
        claims.push(claim(
            ClaimKind::Rotated,
            subject,
            ClaimStatus::Pending,
            "no migrated copy of it is recorded: no keyed digest can prove a new value".to_string(),
        ));
        return;
    }
    let mut same = Vec::new();
    let mut missing = Vec::new();
    let mut unread = Vec::new();
    for c in &copies {
        let place = format!("{} {}", c.to.describe(), c.destination);
        match cx
            .live
            .secrets
            .get(&(c.to.describe(), c.destination.clone()))
        {
            Some(SecretRead::Digest(d)) if *d == c.digest => same.push(place),
            Some(SecretRead::Digest(_)) => {}
            Some(SecretRead::Missing) => missing.push(format!("{place} (missing)")),
            Some(SecretRead::Unread(why)) => unread.push(format!("{place} ({why})")),
            None => unread.push(format!("{place} (not read)")),
        }
    }
    let (status, detail) = if !missing.is_empty() {
        (
            ClaimStatus::Fail,
            format!("missing at the destination: {}", missing.join(", ")),
        )
    } else if !unread.is_empty() {
        (
            ClaimStatus::Unchecked,
            format!("not checked, could not be read: {}", unread.join(", ")),
        )
    } else if !same.is_empty() {
        cx.due(&format!(
            "not rotated: {} still holds the value migrated (the value the agency knew)",
            same.join(", ")
        ))
    } else {
        (
            ClaimStatus::Pass,
            "rotated: it holds a new value (its keyed digest is no longer the migrated one)"
                .to_string(),
        )
    };
    claims.push(claim(ClaimKind::Rotated, subject, status, detail));
}

/// `migrated-secret`: every secret copied holds its recorded keyed digest.
fn migrated_secret_claims(cx: &Ctx, claims: &mut Vec<Claim>) {
    let (m, live, past) = (cx.m, cx.live, cx.past);
    let keys: BTreeSet<&str> = m.digest_keys.iter().map(|k| k.id.as_str()).collect();
    for s in &m.migrated_secrets {
        let subject = format!("{} {}", s.to.describe(), s.destination);
        match s.outcome {
            StepOutcome::Done => {}
            StepOutcome::Skipped => {
                claims.push(claim(
                    ClaimKind::MigratedSecret,
                    subject,
                    ClaimStatus::Pending,
                    format!("not copied: {} had no such secret", s.from.describe()),
                ));
                continue;
            }
            other => {
                claims.push(claim(
                    ClaimKind::MigratedSecret,
                    subject,
                    ClaimStatus::Fail,
                    format!(
                        "the migration journal records it {}: {}",
                        format!("{other:?}").to_lowercase(),
                        s.migration
                    ),
                ));
                continue;
            }
        }
        if !keys.contains(s.digest_key.as_str()) {
            claims.push(claim(
                ClaimKind::MigratedSecret,
                subject,
                ClaimStatus::Fail,
                format!(
                    "the manifest does not carry its digest key {}",
                    s.digest_key
                ),
            ));
            continue;
        }
        let read = live.secrets.get(&(s.to.describe(), s.destination.clone()));
        let (status, detail) = match read {
            None => (ClaimStatus::Fail, "not read".to_string()),
            Some(SecretRead::Unread(why)) => (ClaimStatus::Unchecked, format!("not checked, could not be read: {why}")),
            Some(SecretRead::Missing) => (ClaimStatus::Fail, "missing at the destination".to_string()),
            Some(SecretRead::Digest(d)) if *d == s.digest => {
                if s.rotate_after_cutover && past {
                    (ClaimStatus::Fail, "still holds the value the agency knew: it was to be rotated after cutover".to_string())
                } else if s.rotate_after_cutover {
                    (ClaimStatus::Pass, "holds the migrated value (keyed digest matches); rotate it after cutover".to_string())
                } else {
                    (ClaimStatus::Pass, "holds the migrated value (keyed digest matches)".to_string())
                }
            }
            Some(SecretRead::Digest(_)) if s.rotate_after_cutover && past => (ClaimStatus::Pass, "rotated after cutover: it holds a new value".to_string()),
            Some(SecretRead::Digest(_)) => (ClaimStatus::Fail, "the value at the destination differs from the one migrated (keyed digest mismatch)".to_string()),
        };
        claims.push(claim(ClaimKind::MigratedSecret, subject, status, detail));
    }
}

/// `agency-access`: no agency principal or credential is live that the plan does not
/// retain or hand over.
fn agency_access_claims(cx: &Ctx, claims: &mut Vec<Claim>) {
    let m = cx.m;
    let cfg = m.handover.to_config();
    let (principal_owner, credential_owner) = crate::plan::owners(&cx.live.inventory, &cfg);
    let mut found = Vec::new();
    let (agency_found, reported) = agency_principal_claims(cx, &principal_owner, &mut found);
    agency_credential_claims(cx, &credential_owner, &reported, &mut found);
    let unread: Vec<&Scope> = m
        .scopes
        .iter()
        .filter(|s| !cx.readable(s.provider, &s.scope))
        .collect();
    if found.is_empty() && unread.len() < m.scopes.len() {
        let subject = if unread.is_empty() {
            "all scopes read"
        } else {
            "the scopes read"
        };
        found.push(claim(ClaimKind::AgencyAccess, subject, ClaimStatus::Pass, format!("no agency access beyond what the plan retains ({agency_found} agency principal(s) live, all retained)")));
    }
    // A scope not read may hold agency access nobody saw: that claim is owed too.
    for s in unread {
        found.push(claim(
            ClaimKind::AgencyAccess,
            format!("{} {}", s.provider, s.scope),
            ClaimStatus::Unchecked,
            "not checked: it could not be read (see its scope claim)",
        ));
    }
    claims.extend(found);
}

/// Live agency principals the plan does not keep. Returns how many agency principals
/// are live, and the ones reported (their credentials need no claim of their own).
fn agency_principal_claims(
    cx: &Ctx,
    principal_owner: &BTreeMap<String, Owner>,
    claims: &mut Vec<Claim>,
) -> (usize, BTreeSet<String>) {
    let (m, inv) = (cx.m, &cx.live.inventory);
    // What the plan lets the agency keep: the principals of retained and handed-over targets.
    let mut kept_principals: BTreeSet<String> = m.handover.retained.iter().cloned().collect();
    kept_principals.extend(
        m.steps
            .iter()
            .filter(|s| keeps(s.action))
            .filter_map(|s| s.target.principal.clone()),
    );
    let principals: BTreeMap<&str, &crate::model::Principal> =
        inv.principals.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut agency_found = 0usize;
    let planned_principals: BTreeSet<&str> = m
        .steps
        .iter()
        .filter_map(|s| s.target.principal.as_deref())
        .collect();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for (pid, owner) in principal_owner {
        if *owner != Owner::Agency {
            continue;
        }
        agency_found += 1;
        let name = principals
            .get(pid.as_str())
            .map(|p| p.name.clone())
            .unwrap_or_else(|| pid.clone());
        let kept = kept_principals.contains(pid) || m.handover.retained.contains(&name);
        if kept {
            continue;
        }
        reported.insert(pid.clone());
        if planned_principals.contains(pid.as_str()) {
            let (st, d) = cx.due(&format!(
                "agency principal {name} is still present and the plan does not retain it"
            ));
            claims.push(claim(ClaimKind::AgencyAccess, pid.clone(), st, d));
        } else {
            // A principal the plan never saw: nobody approved it, so it fails at once.
            claims.push(claim(
                ClaimKind::AgencyAccess,
                pid.clone(),
                ClaimStatus::Fail,
                format!("agency principal {name} is not in the plan: added after the audit?"),
            ));
        }
    }
    (agency_found, reported)
}

/// Does the plan let the agency keep what this step is about?
fn keeps(action: Action) -> bool {
    matches!(
        action,
        Action::RetainUntil | Action::Transfer | Action::Review
    )
}

/// Live agency credentials the plan does not keep (and whose principal was not
/// reported already).
fn agency_credential_claims(
    cx: &Ctx,
    credential_owner: &BTreeMap<String, Owner>,
    reported: &BTreeSet<String>,
    claims: &mut Vec<Claim>,
) {
    let (m, inv) = (cx.m, &cx.live.inventory);
    let kept_targets: Vec<&TargetRef> = m
        .steps
        .iter()
        .filter(|s| keeps(s.action))
        .map(|s| &s.target)
        .collect();
    for c in &inv.credentials {
        // MFA devices protect a credential and are not planned on their own (as in `plan`).
        if credential_owner.get(&c.id) != Some(&Owner::Agency)
            || kept_targets.iter().any(|t| stands_for(t, c))
            || c.kind == crate::model::CredentialKind::MfaDevice
        {
            continue;
        }
        let planned = m.steps.iter().any(|s| stands_for(&s.target, c));
        if planned {
            // Planned but still present: its own step's claim (or its principal's) says so.
            if reported.contains(&c.principal)
                || m.steps
                    .iter()
                    .any(|s| s.target.id == c.id && s.action != Action::Transfer)
            {
                continue;
            }
            let (st, d) = cx.due(&format!(
                "agency credential {} is still present",
                c.identifier.as_deref().unwrap_or(&c.id)
            ));
            claims.push(claim(ClaimKind::AgencyAccess, c.id.clone(), st, d));
        } else {
            // A credential the plan never saw fails at once: nobody approved it.
            claims.push(claim(
                ClaimKind::AgencyAccess,
                c.id.clone(),
                ClaimStatus::Fail,
                format!(
                    "agency credential {} ({}{}) is not in the plan: added after the audit?",
                    c.identifier.as_deref().unwrap_or(&c.id),
                    kebab(&c.kind),
                    c.created
                        .map(|t| format!(", created {}", t.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default()
                ),
            ));
        }
    }
}

/// `coverage`: what the live read could not see; claims resting on it are not proven.
fn coverage_claims(cx: &Ctx, claims: &mut Vec<Claim>) {
    for g in &cx.live.inventory.gaps {
        claims.push(claim(
            ClaimKind::Coverage,
            format!("{} {} {}", g.provider, g.scope, g.source),
            ClaimStatus::Pending,
            format!(
                "not read live{}: {}",
                g.subject
                    .as_deref()
                    .map(|s| format!(" for {s}"))
                    .unwrap_or_default(),
                g.reason
            ),
        ));
    }
}

/// `documentation`: each handed-over document matches its digest.
fn documentation_claims(cx: &Ctx, claims: &mut Vec<Claim>) {
    let (m, live) = (cx.m, cx.live);
    for d in &m.documentation {
        let subject = format!("{} {}", d.kind, d.path);
        let (status, detail) = match (&d.sha256, &live.documents) {
            (None, _) => (
                ClaimStatus::Fail,
                "missing from the handover (the plan flagged it)".to_string(),
            ),
            (Some(_), None) => (
                ClaimStatus::Pending,
                "not checked: pass --docs DIR with the handed-over documentation".to_string(),
            ),
            (Some(want), Some(have)) => match have.get(&d.path) {
                Some(Ok(got)) if got == want => {
                    (ClaimStatus::Pass, "matches its digest".to_string())
                }
                Some(Ok(_)) => (
                    ClaimStatus::Fail,
                    "does not match its digest: it changed after the manifest was written"
                        .to_string(),
                ),
                Some(Err(why)) => (ClaimStatus::Fail, why.clone()),
                None => (
                    ClaimStatus::Fail,
                    "not found in the documentation folder".to_string(),
                ),
            },
        };
        claims.push(claim(ClaimKind::Documentation, subject, status, detail));
    }
}

/// The destination stores the manifest's secrets went to.
pub fn destinations(m: &Manifest) -> BTreeMap<StoreRef, Vec<(String, String)>> {
    let mut out: BTreeMap<StoreRef, Vec<(String, String)>> = BTreeMap::new();
    for s in m
        .migrated_secrets
        .iter()
        .filter(|s| s.outcome == StepOutcome::Done)
    {
        out.entry(s.to.clone())
            .or_default()
            .push((s.destination.clone(), s.digest_key.clone()));
    }
    out
}

/// The report as text, with no width and no colour (a library caller, a test).
pub fn render(v: &Verification) -> String {
    render_for(v, &crate::output::terminal::Term::PLAIN)
}

/// The colour of a claim's status (the word is always written too).
fn status_tone(s: ClaimStatus) -> Option<crate::output::terminal::Tone> {
    use crate::output::terminal::Tone;
    Some(match s {
        ClaimStatus::Pass => Tone::Good,
        ClaimStatus::Pending | ClaimStatus::Unchecked => Tone::Warn,
        ClaimStatus::Fail => Tone::Bad,
    })
}

/// The report for a terminal: one row per claim (status and kind kept whole, subject and
/// detail wrapped to the width; the status coloured when the terminal colours), then the
/// counts. Every string is escaped here (`output::table`, `output::table::wrap`).
pub fn render_for(v: &Verification, term: &crate::output::terminal::Term) -> String {
    use crate::output::table::{wrap, Fit, Table};
    let mut t = Table::new(&[
        ("STATUS", Fit::Keep),
        ("CLAIM", Fit::Keep),
        ("SUBJECT", Fit::Wrap),
        ("DETAIL", Fit::Wrap),
    ])
    .indent(0)
    .tone_column(0);
    for c in &v.claims {
        t.toned_row(
            vec![
                c.status.as_str().to_uppercase(),
                c.kind.to_string(),
                c.subject.clone(),
                c.detail.clone(),
            ],
            status_tone(c.status),
        );
    }
    let mut o = t.render(term);
    let counts = format!(
        "{} claims: {} pass, {} pending, {} unchecked, {} fail (plan {}, checked {})",
        v.claims.len(),
        v.summary.get("pass").unwrap_or(&0),
        v.summary.get("pending").unwrap_or(&0),
        v.summary.get("unchecked").unwrap_or(&0),
        v.summary.get("fail").unwrap_or(&0),
        v.plan_digest,
        v.checked_at.format("%Y-%m-%d %H:%M UTC")
    );
    o.push('\n');
    o.push_str(&wrap(&counts, 2, term));
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{self, Signer};
    use crate::model::ConditionClause;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The example's agency-operated manifest, and its inventory as the live state.
    fn agency_operated() -> (Manifest, Inventory) {
        example("handover-agency-operated.toml", "plan-agency-operated.json")
    }

    /// The example's full-transfer manifest, and its inventory as the live state.
    fn full_transfer() -> (Manifest, Inventory) {
        example("handover.toml", "plan-full-transfer.json")
    }

    fn example(config: &str, plan: &str) -> (Manifest, Inventory) {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/northwind-to-contoso");
        let cfg = crate::config::load(&dir.join(config)).unwrap();
        let inv: Inventory =
            serde_json::from_str(&std::fs::read_to_string(dir.join("inventory.json")).unwrap())
                .unwrap();
        let plan: crate::plan::Plan =
            serde_json::from_str(&std::fs::read_to_string(dir.join(plan)).unwrap()).unwrap();
        let m = manifest::build(manifest::Input {
            config: &cfg,
            plan: &plan,
            inventory: &inv,
            journals: vec![],
            new_credentials: vec![],
            signer: Signer {
                key: String::new(),
                fingerprint: String::new(),
            },
            recipients: vec![],
            now: at("2026-11-25T00:00:00Z"),
        })
        .unwrap();
        (m, inv)
    }

    fn live(inv: Inventory) -> Live {
        Live {
            inventory: inv,
            unread: vec![],
            secrets: BTreeMap::new(),
            integrity: vec![],
            documents: None,
        }
    }

    fn retained<'a>(v: &'a Verification, label: &str) -> &'a Claim {
        v.claims
            .iter()
            .find(|c| c.kind == ClaimKind::Retained && c.subject.contains(label))
            .unwrap_or_else(|| panic!("no retained claim for {label}"))
    }

    // The audit did not read user policies: a user whose inline Deny of everything
    // ends its access at the date could not be proven retained-until.
    #[test]
    fn a_users_credentials_are_retained_until_when_its_own_deny_ends_them_by_the_date() {
        let (m, mut inv) = agency_operated();
        let alice = "arn:aws:iam::123456789012:user/alice.agency";
        let set = |inv: &mut Inventory, ends: TimeBound| {
            for p in inv.principals.iter_mut().filter(|p| p.id == alice) {
                p.access_ends = ends.clone();
            }
        };
        let during = at("2026-12-15T00:00:00Z");
        set(&mut inv, TimeBound::before(at("2027-01-31T00:00:00Z")));
        let v = check(&m, &live(inv.clone()), during);
        for label in [
            "access-key AKIARZPUZDIKH5CJMAWF",
            "console-password of alice.agency",
            "ssh-public-key APKAKZYB7J8U5JDLPMLW",
        ] {
            let c = retained(&v, label);
            assert_eq!(c.status, ClaimStatus::Pass, "{c:?}");
            assert!(c.detail.contains("ends by itself at 2027-01-31"), "{c:?}");
        }
        // Bob has no such policy: still not proven.
        assert_eq!(
            retained(&v, "access-key AKIARZPUZDIKNZSUEWIR").status,
            ClaimStatus::Fail
        );
        // A Deny that closes later than the date, or only after its first instant
        // (`DateGreaterThan` the date itself), does not end it by the date.
        for late in [
            TimeBound::before(at("2027-06-30T00:00:00Z")),
            TimeBound::Until {
                at: at("2027-01-31T00:00:00Z"),
                inclusive: true,
            },
        ] {
            set(&mut inv, late.clone());
            let c = retained(
                &check(&m, &live(inv.clone()), during),
                "access-key AKIARZPUZDIKH5CJMAWF",
            )
            .clone();
            assert_eq!(c.status, ClaimStatus::Fail, "{late:?}: {c:?}");
        }
    }

    #[test]
    fn retained_access_passes_only_when_it_ends_by_itself_by_the_stated_date() {
        let (m, mut inv) = agency_operated();
        // Make the agency-operations trust end by itself, and move bob's binding's end past the date.
        for c in &mut inv.credentials {
            if let CredentialDetail::Trust(t) = &mut c.detail {
                if c.id.contains("agency-operations") {
                    t.conditions.push(ConditionClause::new(
                        "DateLessThan",
                        "aws:CurrentTime",
                        vec!["2027-01-31T00:00:00Z".into()],
                    ));
                    t.ends = TimeBound::before(at("2027-01-31T00:00:00Z"));
                }
            }
        }
        let before = check(&m, &live(inv.clone()), at("2026-11-20T00:00:00Z"));
        assert_eq!(
            retained(&before, "access-key AKIARZPUZDIKH5CJMAWF").status,
            ClaimStatus::Pending,
            "before the handover date, not yet due"
        );
        let during = check(&m, &live(inv.clone()), at("2026-12-15T00:00:00Z"));
        let dan = retained(&during, "dan@northwind-agency.example");
        assert_eq!(dan.status, ClaimStatus::Pass, "{dan:?}");
        assert!(
            dan.detail.contains("ends by itself at 2027-01-31"),
            "{dan:?}"
        );
        assert_eq!(
            retained(&during, "of agency-operations").status,
            ClaimStatus::Pass
        );
        let key = retained(&during, "access-key AKIARZPUZDIKH5CJMAWF");
        assert_eq!(key.status, ClaimStatus::Fail);
        assert!(
            key.detail
                .contains("nothing in the account makes it end by itself"),
            "{key:?}"
        );
        let after = check(&m, &live(inv.clone()), at("2027-02-05T00:00:00Z"));
        let dan = retained(&after, "dan@northwind-agency.example");
        assert_eq!(dan.status, ClaimStatus::Fail);
        assert!(
            dan.detail.contains("still present after 2027-01-31"),
            "{dan:?}"
        );
        // Gone after the date: it ended as stated.
        inv.credentials
            .retain(|c| !c.id.contains("dan@northwind-agency.example"));
        assert_eq!(
            retained(
                &check(&m, &live(inv.clone()), at("2027-02-05T00:00:00Z")),
                "dan@northwind-agency.example"
            )
            .status,
            ClaimStatus::Pass
        );
    }

    #[test]
    fn a_binding_made_conditional_counts_as_the_same_access_and_a_later_end_fails() {
        let (m, mut inv) = agency_operated();
        // bob's unconditional editor binding, rewritten with an end after the stated date.
        let bob = inv.credentials.iter_mut().find(|c| c.id.ends_with("user:bob@northwind-agency.example/binding/projects/contoso-shop-prod/roles/editor")).unwrap();
        bob.id
            .push_str("/if/request.time < timestamp(\"2027-06-30T00:00:00Z\")");
        if let CredentialDetail::Binding(b) = &mut bob.detail {
            b.condition = Some(crate::model::IamCondition {
                title: None,
                expression: "request.time < timestamp(\"2027-06-30T00:00:00Z\")".into(),
                ends: TimeBound::before(at("2027-06-30T00:00:00Z")),
            });
        }
        let v = check(&m, &live(inv), at("2026-12-15T00:00:00Z"));
        let c = v
            .claims
            .iter()
            .find(|c| c.kind == ClaimKind::Retained && c.subject.contains("roles/editor of bob@"))
            .unwrap();
        assert_eq!(c.status, ClaimStatus::Fail, "{c:?}");
        assert!(
            c.detail.contains("later than the stated 2027-01-31"),
            "{c:?}"
        );
    }

    // Regression: `request.time < timestamp(...) || true` never ends, yet verify read
    // the date out of its text and passed it as retained-until.
    #[test]
    fn a_condition_that_does_not_provably_end_is_not_accepted_as_retained_until() {
        let (m, mut inv) = agency_operated();
        let dan = inv
            .credentials
            .iter_mut()
            .find(|c| {
                c.id.contains("dan@northwind-agency.example")
                    && matches!(c.detail, CredentialDetail::Binding(_))
            })
            .unwrap();
        let expression = r#"request.time < timestamp("2027-01-31T00:00:00Z") || true"#;
        if let CredentialDetail::Binding(b) = &mut dan.detail {
            // As the GCP provider reads it live.
            b.condition = Some(crate::model::IamCondition {
                title: None,
                expression: expression.into(),
                ends: crate::providers::gcp::condition::time_bound(expression),
            });
        }
        let during = check(&m, &live(inv.clone()), at("2026-12-15T00:00:00Z"));
        let c = retained(&during, "dan@northwind-agency.example");
        assert_eq!(c.status, ClaimStatus::Fail, "{c:?}");
        assert!(c.detail.contains("does not provably end"), "{c:?}");
        // The same for a role trust whose bound sits beside an unbounded alternative.
        let (m, mut inv) = agency_operated();
        for c in &mut inv.credentials {
            if let CredentialDetail::Trust(t) = &mut c.detail {
                if c.id.contains("agency-operations") {
                    t.conditions.push(ConditionClause::new(
                        "DateLessThan",
                        "aws:CurrentTime",
                        vec!["2027-01-31T00:00:00Z".into()],
                    ));
                    t.ends = TimeBound::Conditional {
                        reason: "another Allow statement lets it in with no end".into(),
                    };
                }
            }
        }
        let during = check(&m, &live(inv), at("2026-12-15T00:00:00Z"));
        assert_eq!(
            retained(&during, "of agency-operations").status,
            ClaimStatus::Fail
        );
    }

    /// A plan target for a live binding, with the binding's typed fields.
    fn binding_target(id: String, principal: &str, b: &crate::model::BindingDetail) -> TargetRef {
        TargetRef {
            kind: TargetKind::Credential,
            id,
            what: TargetWhat::Credential(crate::model::CredentialKind::GcpIamBinding),
            provider: Provider::Gcp,
            scope: "p".into(),
            principal: Some(principal.into()),
            name: None,
            region: None,
            binding: Some(b.clone()),
            secret: None,
            reencrypt: None,
            sso: None,
            label: String::new(),
            owner: Owner::Agency,
            party: None,
        }
    }

    // A resource named `if` (a secret) must not be cut at `/if/` as if a condition began.
    #[test]
    fn bindings_are_matched_on_their_typed_member_role_and_resource() {
        let (_, inv) = full_transfer();
        let mut c = inv
            .credentials
            .iter()
            .find(|c| matches!(c.detail, CredentialDetail::Binding(_)))
            .unwrap()
            .clone();
        if let CredentialDetail::Binding(b) = &mut c.detail {
            b.resource = "projects/p/secrets/if".into();
            b.role = "roles/secretmanager.secretAccessor".into();
        }
        c.id = format!(
            "{}/binding/projects/p/secrets/if/roles/secretmanager.secretAccessor",
            c.principal
        );
        let CredentialDetail::Binding(b) = c.detail.clone() else {
            unreachable!()
        };
        assert!(stands_for(
            &binding_target(c.id.clone(), &c.principal, &b),
            &c
        ));
        let mut conditional = b.clone();
        conditional.condition = Some(crate::model::IamCondition {
            title: None,
            expression: "request.time < timestamp(\"2027-01-01T00:00:00Z\")".into(),
            ends: TimeBound::before(at("2027-01-01T00:00:00Z")),
        });
        assert!(stands_for(
            &binding_target(
                format!(
                    "{}/if/request.time < timestamp(\"2027-01-01T00:00:00Z\")",
                    c.id
                ),
                &c.principal,
                &conditional
            ),
            &c
        ));
        let mut admin = b.clone();
        admin.role = "roles/secretmanager.admin".into();
        assert!(!stands_for(
            &binding_target(
                format!(
                    "{}/binding/projects/p/secrets/if/roles/secretmanager.admin",
                    c.principal
                ),
                &c.principal,
                &admin
            ),
            &c
        ));
        let mut parent = b.clone();
        parent.resource = "projects/p/secrets".into();
        assert!(!stands_for(
            &binding_target(
                format!("{}/binding/projects/p/secrets", c.principal),
                &c.principal,
                &parent
            ),
            &c
        ));
    }

    // Issue 12: verify matched a plan target to a live binding by cutting and comparing
    // the target's id text; it now compares the target's typed member, role and resource,
    // so the id is opaque (any text) and another member with the same role never matches.
    #[test]
    fn a_binding_target_is_matched_on_its_typed_fields_whatever_its_id_says() {
        let (_, inv) = full_transfer();
        let c = inv
            .credentials
            .iter()
            .find(|c| matches!(c.detail, CredentialDetail::Binding(_)))
            .unwrap();
        let CredentialDetail::Binding(b) = &c.detail else {
            unreachable!()
        };
        assert!(stands_for(
            &binding_target("an opaque id".into(), &c.principal, b),
            c
        ));
        assert!(!stands_for(
            &binding_target(c.id.clone() + "x", "someone else", b),
            c
        ));
    }

    // Regression: a grant in a secret's resource policy is no inventory credential, so
    // verify found nothing for it and passed its revoke as "gone" while it was live.
    #[test]
    fn a_secret_policy_grant_passes_only_once_gone_from_the_live_policy() {
        let (m, mut inv) = full_transfer();
        let grant = |v: &Verification| {
            v.claims
                .iter()
                .find(|c| {
                    c.kind == ClaimKind::Revoked && c.subject.contains("resource-policy grant")
                })
                .cloned()
                .expect("a claim for the grant")
        };
        let c = grant(&check(&m, &live(inv.clone()), at("2026-11-20T00:00:00Z")));
        assert_eq!(c.status, ClaimStatus::Pending, "{c:?}");
        assert!(
            c.detail.contains("still in the secret's resource policy"),
            "{c:?}"
        );
        let c = grant(&check(&m, &live(inv.clone()), at("2026-12-20T00:00:00Z")));
        assert_eq!(
            c.status,
            ClaimStatus::Fail,
            "due by the handover date: {c:?}"
        );
        let mut unread = inv.clone();
        for s in &mut unread.secrets {
            if let AccessPolicy::Known { .. } = s.access_policy {
                s.access_policy = AccessPolicy::Unknown {
                    reason: "AccessDenied".into(),
                };
            }
        }
        let c = grant(&check(&m, &live(unread), at("2026-11-20T00:00:00Z")));
        assert_eq!(
            c.status,
            ClaimStatus::Pending,
            "unread proves nothing: {c:?}"
        );
        for s in &mut inv.secrets {
            if let AccessPolicy::Known { outside } = &mut s.access_policy {
                outside.clear();
            }
        }
        let c = grant(&check(&m, &live(inv), at("2026-12-20T00:00:00Z")));
        assert_eq!(c.status, ClaimStatus::Pass, "{c:?}");
    }

    #[test]
    fn claim_kinds_are_unique_kebab_case_and_serialise_as_their_code() {
        let mut seen = BTreeSet::new();
        for kind in ClaimKind::ALL {
            assert!(seen.insert(kind.as_str()), "duplicate kind {kind}");
            assert!(
                kind.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{kind} is not kebab-case"
            );
            assert_eq!(
                serde_json::to_string(kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        for st in [ClaimStatus::Pass, ClaimStatus::Pending, ClaimStatus::Fail] {
            assert_eq!(kebab(&st), st.as_str());
        }
    }

    fn claim_for<'a>(v: &'a Verification, kind: ClaimKind, label: &str) -> &'a Claim {
        v.claims
            .iter()
            .find(|c| c.kind == kind && c.subject.contains(label))
            .unwrap_or_else(|| panic!("no {kind} claim for {label}: {:?}", v.claims))
    }

    #[test]
    fn rotated_keys_must_be_gone_by_the_handover_date_and_replacements_are_named() {
        const OLD: &str = "keys/a96c8178221dc4d19ba406444968b62571a2ff3d";
        let (m, mut inv) = full_transfer();
        let label = "gcp-service-account-key a96c8178";
        assert_eq!(
            claim_for(
                &check(&m, &live(inv.clone()), at("2026-11-20T00:00:00Z")),
                ClaimKind::Rotated,
                label
            )
            .status,
            ClaimStatus::Pending
        );
        let late = check(&m, &live(inv.clone()), at("2026-12-15T00:00:00Z"));
        let c = claim_for(&late, ClaimKind::Rotated, label);
        assert_eq!(c.status, ClaimStatus::Fail);
        assert!(
            c.detail.contains("the old credential is still present"),
            "{c:?}"
        );
        // Rotated: the old key gone, a new one made after the audit.
        let old = inv
            .credentials
            .iter()
            .position(|c| c.id.ends_with(OLD))
            .unwrap();
        let mut new = inv.credentials.remove(old);
        new.id = new.id.replace(
            "a96c8178221dc4d19ba406444968b62571a2ff3d",
            "feedfacefeedfacefeedfacefeedfacefeedface",
        );
        new.identifier = Some("feedfacefeedfacefeedfacefeedfacefeedface".into());
        new.created = Some(at("2026-12-02T09:00:00Z"));
        inv.credentials.push(new);
        let done = check(&m, &live(inv), at("2026-12-15T00:00:00Z"));
        let c = claim_for(&done, ClaimKind::Rotated, label);
        assert_eq!(c.status, ClaimStatus::Pass, "{c:?}");
        assert!(c.detail.contains("new since the audit: feedface"), "{c:?}");
    }

    #[test]
    fn a_revoked_binding_made_conditional_is_still_present() {
        let (m, mut inv) = full_transfer();
        let label = "roles/editor of bob@";
        let bob = inv.credentials.iter_mut().find(|c| c.id.ends_with("user:bob@northwind-agency.example/binding/projects/contoso-shop-prod/roles/editor")).unwrap();
        bob.id
            .push_str("/if/request.time < timestamp(\"2027-06-30T00:00:00Z\")");
        let v = check(&m, &live(inv.clone()), at("2026-12-15T00:00:00Z"));
        let c = claim_for(&v, ClaimKind::Revoked, label);
        assert_eq!(c.status, ClaimStatus::Fail, "{c:?}");
        inv.credentials.retain(|c| {
            !c.id.contains(
                "user:bob@northwind-agency.example/binding/projects/contoso-shop-prod/roles/editor",
            )
        });
        assert_eq!(
            claim_for(
                &check(&m, &live(inv), at("2026-12-15T00:00:00Z")),
                ClaimKind::Revoked,
                label
            )
            .status,
            ClaimStatus::Pass
        );
    }

    // Issue 15 item 6: a scope that could not be read failed (exit 9, "a claim does not
    // hold") and its step claims were dropped. Now the scope and every claim it owes are
    // listed `unchecked`, with the reason; nothing passes and nothing fails.
    #[test]
    fn unread_scopes_list_every_claim_unchecked_and_nothing_passes_or_fails() {
        let (m, inv) = agency_operated();
        let mut l = live(Inventory::new(inv.generated_at));
        l.unread = m
            .scopes
            .iter()
            .map(|s| (s.clone(), "access denied".to_string()))
            .collect();
        let v = check(&m, &l, at("2026-12-15T00:00:00Z"));
        assert!(v
            .claims
            .iter()
            .filter(|c| c.kind == ClaimKind::Scope)
            .all(|c| c.status == ClaimStatus::Unchecked && c.detail.ends_with("access denied")));
        let owed = m.steps.iter().filter(|s| step_claim_kind(s).is_some());
        for s in owed {
            let c = v
                .claims
                .iter()
                .find(|c| c.subject.starts_with(&format!("{} ", s.id)))
                .unwrap_or_else(|| panic!("no claim for step {}", s.id));
            assert_eq!(c.status, ClaimStatus::Unchecked, "{c:?}");
            assert_eq!(
                c.detail,
                format!(
                    "not checked: {} {} could not be read (see its scope claim)",
                    s.target.provider, s.target.scope
                )
            );
        }
        assert!(
            !v.claims.iter().any(|c| c.status == ClaimStatus::Pass),
            "nothing read, nothing passes: {:?}",
            v.claims
        );
        assert!(!v.failed() && v.incomplete());
    }

    // A secret the plan rotates is `rotated` once its migrated copy no longer holds the
    // migrated value (the customer's task, or RotateSecret); before, pending until the
    // handover date and failed after.
    #[test]
    fn a_secret_marked_rotate_is_rotated_once_its_value_is_no_longer_the_migrated_one() {
        let (mut m, inv) = full_transfer();
        let step = m
            .steps
            .iter()
            .find(|s| s.action == Action::Rotate && s.target.label == "secret prod/db-password")
            .expect("the example rotates prod/db-password")
            .clone();
        let to = StoreRef {
            kind: crate::secret::store::StoreKind::Aws,
            scope: "123456789012".into(),
            region: Some("us-east-1".into()),
        };
        m.digest_keys.push(manifest::SealedKey {
            id: "k1".into(),
            key: manifest::Material::new("00".repeat(32)),
        });
        m.migrated_secrets.push(manifest::MigratedSecret {
            step: Some(step.id.clone()),
            from: to.clone(),
            source: "prod/db-password".into(),
            to: to.clone(),
            destination: "prod/db-password".into(),
            version: Some("v1".into()),
            digest: "hmac-sha256:aa".into(),
            digest_key: "k1".into(),
            rotate_after_cutover: true,
            migration: crate::journal::CopyOutcome::Create,
            outcome: StepOutcome::Done,
            at: at("2026-11-20T00:00:00Z"),
        });
        let with = |digest: &str| {
            let mut l = live(inv.clone());
            l.secrets.insert(
                (to.describe(), "prod/db-password".into()),
                SecretRead::Digest(digest.into()),
            );
            l
        };
        let label = "secret prod/db-password";
        let early = check(&m, &with("hmac-sha256:aa"), at("2026-11-25T00:00:00Z"));
        assert_eq!(
            claim_for(&early, ClaimKind::Rotated, label).status,
            ClaimStatus::Pending
        );
        let late = check(&m, &with("hmac-sha256:aa"), at("2026-12-15T00:00:00Z"));
        let c = claim_for(&late, ClaimKind::Rotated, label);
        assert_eq!(c.status, ClaimStatus::Fail, "{c:?}");
        assert!(c.detail.contains("still holds the value migrated"), "{c:?}");
        let done = check(&m, &with("hmac-sha256:bb"), at("2026-12-15T00:00:00Z"));
        let c = claim_for(&done, ClaimKind::Rotated, label);
        assert_eq!(c.status, ClaimStatus::Pass, "{c:?}");
        assert!(c.detail.contains("holds a new value"), "{c:?}");
        let migrated = claim_for(&done, ClaimKind::MigratedSecret, "prod/db-password");
        assert_eq!(migrated.status, ClaimStatus::Pass, "{migrated:?}");
    }

    /// A key revoked with its service account disabled (`disable: principal`) passes
    /// while the account stays disabled; enabled again by someone, the revocation no
    /// longer holds (the key alone being disabled does not save it: the account's
    /// grants act again).
    #[test]
    fn a_service_account_apply_disabled_fails_the_claim_once_enabled_again() {
        let (mut m, mut inv) = full_transfer();
        let key = "bfa07c1ff0f2";
        let deployer = "deployer@contoso-shop-prod.iam.gserviceaccount.com";
        let s = m
            .steps
            .iter_mut()
            .find(|s| s.target.id.contains(key))
            .expect("the example revokes the deployer's old key");
        s.outcome = StepOutcome::Done;
        s.applied = Some(ApplyChange::DisableAccount);
        for c in inv.credentials.iter_mut().filter(|c| c.id.contains(key)) {
            c.status = Status::Inactive;
        }
        let set = |inv: &mut Inventory, disabled: bool| {
            for p in inv
                .principals
                .iter_mut()
                .filter(|p| p.id.ends_with(deployer))
            {
                p.disabled = Some(disabled);
            }
        };
        let revoked = |v: &Verification| {
            v.claims
                .iter()
                .find(|c| c.kind == ClaimKind::Revoked && c.subject.contains(key))
                .cloned()
                .expect("a revoked claim for the key")
        };
        let now = at("2026-11-26T00:00:00Z");
        set(&mut inv, true);
        let c = revoked(&check(&m, &live(inv.clone()), now));
        assert_eq!(c.status, ClaimStatus::Pass, "{c:?}");
        set(&mut inv, false);
        let c = revoked(&check(&m, &live(inv), now));
        assert_eq!(c.status, ClaimStatus::Fail, "{c:?}");
        assert!(
            c.detail.contains("is enabled, though apply disabled it"),
            "{c:?}"
        );
    }
}
