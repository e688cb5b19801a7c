//! The plan as a document: its steps, summary, findings and the references to what it
//! was made from. `schemas/plan.v1.json` is generated from these types.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::target::TargetRef;
use crate::docs::DocItem;
use crate::model::Severity;
use crate::policy::{Action, Delete, Disable};

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
    /// A handed-over document lacks what it must say (`handover docs check`).
    DocumentationCheck,
    /// A credential is pasted into a handed-over document.
    SecretInDocument,
}

impl PlanFindingCode {
    pub const ALL: &'static [PlanFindingCode] = &[
        PlanFindingCode::AdoptionEndMissing,
        PlanFindingCode::OwnerUnknown,
        PlanFindingCode::ScopeOwnerUnknown,
        PlanFindingCode::DocumentationMissing,
        PlanFindingCode::DocumentationCheck,
        PlanFindingCode::SecretInDocument,
    ];

    /// The stable kebab-case code.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanFindingCode::AdoptionEndMissing => "adoption-end-missing",
            PlanFindingCode::OwnerUnknown => "owner-unknown",
            PlanFindingCode::ScopeOwnerUnknown => "scope-owner-unknown",
            PlanFindingCode::DocumentationMissing => "documentation-missing",
            PlanFindingCode::DocumentationCheck => "documentation-check",
            PlanFindingCode::SecretInDocument => "secret-in-document",
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable across re-audits: derived from the target only.
    pub id: String,
    pub order: usize,
    pub phase: Phase,
    pub target: TargetRef,
    pub action: Action,
    /// `principal`: the rule also deletes the IAM user or role the target belongs to
    /// (`apply --delete-now`, after its revocations). Absent when the rule says nothing:
    /// a plan without it deletes no principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<Delete>,
    /// `principal`: the rule also disables the GCP service account the target belongs
    /// to (with the step, undoable). Absent when the rule says nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<Disable>,
    /// A transfer or retain-until of a GCP API key: the restrictions `apply` sets on
    /// it (the rule's `restrict:`), undoable; `verify` checks them live. Absent when the
    /// rule says nothing: the key is kept as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict: Option<crate::policy::Restrict>,
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
