//! The documentation check's findings in the plan: each becomes a plan finding, and a
//! credential pasted into a document that the inventory holds (an access key id, a
//! service-account key's id) turns its step into a rotation, with the document as
//! evidence.
//!
//! Invariants:
//! - Compared by identifier only (`KeyId::is` against the inventory's identifier); the
//!   plan keeps the document's path and line, never what was found there.
//! - A step the policy already revokes stays a revocation (it ends the leaked key
//!   outright; rotating would hand its principal a new one) and gets the evidence too.
//! - Applied before the lock-out check, so the check sees the final actions.

use super::decide::Decision;
use super::target::{Target, TargetWhat};
use super::{PlanFinding, PlanFindingCode};
use crate::docs::check::Check;
use crate::docs::Report;
use crate::model::{CredentialKind, Severity};
use crate::policy::Action;

/// The rule id a rotation for a leaked credential is recorded under.
pub const LEAK_RULE: &str = "secret-in-document";

/// The documents where a target's own identifier was found (`path:line`, in order).
fn leaked_in(t: &Target, report: &Report) -> Vec<String> {
    let kind_fits = matches!(
        t.target.what,
        TargetWhat::Credential(CredentialKind::AccessKey | CredentialKind::GcpServiceAccountKey)
    );
    let Some(id) = t.target.name.as_deref().filter(|_| kind_fits) else {
        return Vec::new();
    };
    report
        .findings
        .iter()
        .filter(|f| f.key_id.as_ref().is_some_and(|k| k.is(id)))
        .map(|f| f.location())
        .collect()
}

/// Turns the step of each credential found in a document into a rotation (or keeps
/// its revocation), with the documents as evidence.
pub(super) fn rotate_leaked(decided: &mut [(Target, Decision)], report: &Report) {
    for (t, d) in decided.iter_mut() {
        let places = leaked_in(t, report);
        if places.is_empty() {
            continue;
        }
        let places = places.join(", ");
        t.evidence.insert("document".into(), places.clone());
        d.severity = Severity::Critical;
        if d.action == Action::Revoke {
            continue;
        }
        d.action = Action::Rotate;
        d.rule = LEAK_RULE.into();
        d.reason = format!(
            "its value is pasted in a handed-over document ({places}): whoever reads the document holds it, so it is rotated"
        );
        d.delete = None;
        d.disable = None;
        d.restrict = None;
    }
}

/// Every finding of the documentation check as a plan finding (a missing document is
/// already reported by `documentation_findings`).
pub(super) fn findings(report: &Report) -> Vec<PlanFinding> {
    report
        .findings
        .iter()
        .filter(|f| f.check != Check::Missing)
        .map(|f| PlanFinding {
            code: if f.check == Check::SecretInDocument {
                PlanFindingCode::SecretInDocument
            } else {
                PlanFindingCode::DocumentationCheck
            },
            severity: f.severity,
            message: format!("{}: {} ({})", f.location(), f.message, f.check),
        })
        .collect()
}
