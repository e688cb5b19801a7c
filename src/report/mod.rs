//! The handover report an auditor signs off (issue 14): one typed `Report` built from
//! whatever the user has (an inventory, and any of a plan, the journals' outcomes, a
//! verification and the manifest), rendered as JSON, Markdown or one self-contained
//! HTML page (`render`).
//!
//! Invariants:
//! - Pure and deterministic: nothing here reads a file, the network or the clock. Every
//!   date comes from the inputs, every list is sorted, so the same inputs give the same
//!   report (and `render` the same bytes).
//! - Linear in the inventory: every join (finding -> item, step -> item, claim -> step)
//!   goes through a map built once, never a scan per item.
//! - What is missing is named (`missing`), never guessed: no plan means no decision and
//!   no owner; no journal means no outcome; no verification means no live claim.
//! - The inputs must belong together (`check_together`): the plan made from this
//!   inventory, the verification and the manifest of this plan; else an input error.
//! - No secret value: no input holds one (inventory, plan, journal entries and the
//!   verification are value-free by their own invariants; of the manifest only names,
//!   keyed digests and documentation digests are taken, never its `Material`).
//!
//! The overall status (`OverallStatus`, documented in docs/report.md):
//! - `failed` when a live claim fails, or a journal records a step or a copy failed;
//! - `proven` when a verification of this plan is given, no claim is failed or pending,
//!   and every step of the plan other than `review` has a passing claim about it;
//! - `pending` otherwise (no plan, no verification, or work not yet shown live).
//!
//! `review` steps never block `proven`: they are left for a person, listed under review
//! items, and covered by the sign-off.

mod build;
pub mod charts;
pub mod render;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::error::Error;
use crate::manifest::{Manifest, Outcomes};
use crate::model::{Gap, Inventory};
use crate::plan::{DocItem, Plan};
use crate::verify::Verification;

pub use build::build;

pub const SCHEMA: &str = "handover/report";
pub const VERSION: u32 = 1;

/// What a report is made from. Only the inventory is required.
pub struct Input<'a> {
    pub inventory: &'a Inventory,
    pub plan: Option<&'a Plan>,
    /// The outcomes the journals record (read with `manifest::outcomes`), when journals
    /// were given.
    pub outcomes: Option<&'a Outcomes>,
    pub verification: Option<&'a Verification>,
    /// The opened manifest and what checking its signature said (the agency key's
    /// fingerprint, or why it does not hold).
    pub manifest: Option<(&'a Manifest, &'a Result<String, String>)>,
    /// Each input file, as given: its role and digest.
    pub files: Vec<InputFile>,
}

/// One file the report was made from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct InputFile {
    /// `inventory`, `plan`, `journal`, `verification` or `manifest`.
    pub role: String,
    /// Its file name (the name only, so the report does not depend on where it was).
    pub file: String,
    /// `sha256:` of its bytes as read.
    pub sha256: String,
}

/// The one answer to "are we done?" (the rule is in the module's doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OverallStatus {
    Proven,
    Pending,
    Failed,
}

impl OverallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OverallStatus::Proven => "proven",
            OverallStatus::Pending => "pending",
            OverallStatus::Failed => "failed",
        }
    }
}

/// The handover report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    /// Always `handover/report`.
    pub schema: String,
    pub version: u32,
    pub generator: String,
    /// The report's own digest: `sha256:` of the rendered file's bytes with every
    /// occurrence of this digest replaced by `sha256:` and 64 zeros (docs/report.md).
    pub digest: String,
    /// The files it was made from, with their digests.
    pub inputs: Vec<InputFile>,
    /// What was not given, and what the report therefore cannot say.
    pub missing: Vec<String>,
    pub summary: Summary,
    /// Every credential, secret and plan target, by account and owner.
    pub items: Vec<Item>,
    /// Every finding of the audit and of the plan, riskiest first.
    pub findings: Vec<FindingRow>,
    /// Every live claim of the verification.
    pub claims: Vec<ClaimRow>,
    pub migrated_secrets: Vec<MigratedRow>,
    /// Credential material issued to the customer: names only.
    pub new_credentials: Vec<String>,
    pub documentation: Vec<DocItem>,
    /// What the audit could not see.
    pub coverage_gaps: Vec<Gap>,
    /// What is left for a person: review steps and the plan's findings.
    pub review_items: Vec<ReviewItem>,
    /// The journals' entries per day, and the verification.
    pub timeline: Vec<TimelineDay>,
    /// Agency access remaining at each date until the adoption period ends.
    pub agency_access: Vec<AccessPoint>,
    pub sign_off: SignOff,
}

/// The first page.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    pub status: OverallStatus,
    /// Why the status is what it is, one sentence each.
    pub status_reasons: Vec<String>,
    pub agency: Option<String>,
    pub customer: Option<String>,
    pub third_parties: Vec<String>,
    pub scenario: Option<String>,
    /// The handover date (`YYYY-MM-DD`).
    pub handover_date: Option<String>,
    /// When the adoption period ends: agency access retained ends by then.
    pub adoption_period_ends: Option<String>,
    pub inventory_generated_at: DateTime<Utc>,
    pub sources: Vec<String>,
    pub plan_digest: Option<String>,
    pub policy: Option<String>,
    /// Who or what approved the plan, as the inputs record it.
    pub approval: String,
    pub manifest_created_at: Option<DateTime<Utc>>,
    /// The signature check of the manifest.
    pub manifest_signature: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub counts: Counts,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Counts {
    pub principals: usize,
    pub credentials: usize,
    pub secrets: usize,
    pub steps: usize,
    pub steps_by_action: BTreeMap<String, usize>,
    /// `done`, `pending`, `failed`, `skipped`; `not-journaled` without journals.
    pub steps_by_outcome: BTreeMap<String, usize>,
    /// Per action, per outcome.
    pub steps_by_action_and_outcome: BTreeMap<String, BTreeMap<String, usize>>,
    pub claims_by_status: BTreeMap<String, usize>,
    pub claims_by_kind: BTreeMap<String, usize>,
    pub findings_by_severity: BTreeMap<String, usize>,
    /// Items per owner before the handover (the plan's classification).
    pub owners_before: BTreeMap<String, usize>,
    /// Items per owner once the plan is carried out (revoked ones are gone).
    pub owners_after: BTreeMap<String, usize>,
}

/// One credential, secret or plan target, with everything known about it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Item {
    /// The inventory's (or plan target's) id.
    pub id: String,
    /// `i-` and 12 hex digits of the id's sha256: the anchor others link to.
    pub anchor: String,
    /// What it is (`access-key`, `secret`, `secret-policy-grant`, ...).
    pub what: String,
    pub provider: String,
    pub scope: String,
    pub principal: Option<String>,
    pub label: String,
    /// `agency`, `customer`, `third-party`, `unknown`, or `not classified (no plan)`.
    pub owner: String,
    pub party: Option<String>,
    /// Whether it works now (`active`, `inactive`, `unknown`), where the inventory says.
    pub state: Option<String>,
    pub created: String,
    pub last_used: String,
    /// Anchors of the findings about it (or its principal).
    pub findings: Vec<String>,
    pub step: Option<StepRow>,
    /// What the journals (or the manifest) record of its step.
    pub outcome: Option<OutcomeRow>,
    /// Ids of the live claims about its step.
    pub claims: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StepRow {
    pub id: String,
    pub order: usize,
    pub phase: String,
    pub action: String,
    pub until: Option<String>,
    pub rule: String,
    pub reason: String,
    pub severity: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OutcomeRow {
    /// `done`, `pending`, `failed`, `skipped`.
    pub outcome: String,
    pub evidence: String,
    /// The change apply made or found in place (`deactivate`, `remove-grant`, ...).
    pub change: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingRow {
    /// `f-` and its position: the anchor items link to.
    pub id: String,
    pub code: String,
    pub severity: String,
    /// The inventory id it is about (none for a plan finding).
    pub subject: Option<String>,
    pub message: String,
    /// `audit` or `plan`.
    pub source: String,
    /// The anchor of the item it is about, when the report has one.
    pub item: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ClaimRow {
    /// `c-` and its position in the verification.
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub status: String,
    pub detail: String,
    /// The plan step it is about, when its subject names one.
    pub step: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MigratedRow {
    pub step: Option<String>,
    pub from: String,
    pub source: String,
    pub to: String,
    pub destination: String,
    pub version: Option<String>,
    /// The keyed digest (HMAC-SHA-256) of the value copied: proves equality to whoever
    /// holds the key, reveals nothing of the value.
    pub digest: String,
    pub digest_key: String,
    pub migration: String,
    pub outcome: String,
    pub rotate_after_cutover: bool,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReviewItem {
    /// The step id, or the plan finding's code.
    pub id: String,
    pub label: String,
    pub reason: String,
    /// The anchor of the item it is about.
    pub item: Option<String>,
}

/// The journals' entries on one day (UTC), by op and stage.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TimelineDay {
    pub date: String,
    /// `apply-step result`, `migrate-secret intent`, ... -> entries.
    pub entries: BTreeMap<String, usize>,
    /// What else happened that day (`verification`, `handover date`, ...).
    pub marks: Vec<String>,
}

/// Agency access left at a date, as the plan and the journals have it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccessPoint {
    pub date: String,
    pub label: String,
    /// Agency items still granting access, by why (`not yet carried out`, `retained
    /// until DATE`, `left for review`).
    pub remaining: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SignOff {
    pub statement: String,
    /// Who signs: one block each.
    pub roles: Vec<String>,
}

/// Refuses inputs that do not belong together: a plan made from another inventory, a
/// manifest or a verification of another plan (or of another manifest's plan).
pub fn check_together(
    input: &Input<'_>,
    names: &BTreeMap<&'static str, std::path::PathBuf>,
) -> Result<(), Error> {
    let name = |role: &str| names.get(role).cloned().unwrap_or_default();
    let hint = "give the files of one handover: the inventory the plan was made from, and the manifest and verification of that plan";
    if let Some(p) = input.plan {
        if p.inventory.generated_at != input.inventory.generated_at {
            return Err(Error::input(
                name("plan"),
                format!(
                    "the plan was made from the inventory of {}, not this one ({})",
                    p.inventory.generated_at.to_rfc3339(),
                    input.inventory.generated_at.to_rfc3339()
                ),
                hint,
            ));
        }
    }
    let plan_digest = input
        .plan
        .map(|p| p.digest.clone())
        .or_else(|| input.manifest.map(|(m, _)| m.plan.digest.clone()));
    if let (Some((m, _)), Some(p)) = (input.manifest, input.plan) {
        if m.plan.digest != p.digest {
            return Err(Error::input(
                name("manifest"),
                format!(
                    "the manifest seals plan {}, not this plan ({})",
                    m.plan.digest, p.digest
                ),
                hint,
            ));
        }
    }
    if let Some((m, _)) = input.manifest {
        if m.plan.inventory_generated_at != input.inventory.generated_at {
            return Err(Error::input(
                name("manifest"),
                "the manifest's plan was made from another inventory",
                hint,
            ));
        }
    }
    if let (Some(v), Some(d)) = (input.verification, plan_digest) {
        if v.plan_digest != d {
            return Err(Error::input(
                name("verification"),
                format!(
                    "the verification checked plan {}, not this plan ({d})",
                    v.plan_digest
                ),
                hint,
            ));
        }
    }
    Ok(())
}
