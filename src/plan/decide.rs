//! Deciding: each target judged by the policy's rules in order (the first that matches
//! wins; none, or a rule that cannot be evaluated, sends it to review), then the step's
//! phase and preconditions. The rule loop is written once, here, for `build` and for
//! `explain`.

use std::collections::BTreeMap;

use super::facts::Facts;
use super::target::Target;
use super::Phase;
use crate::model::Severity;
use crate::policy::{Action, Delete, Disable, Outcome, Policy, Prepared, Rule};

/// Every rule that applies to the target's kind, in order, with its outcome; lazily, so
/// a caller that stops at the first decision evaluates no further rule. The context is
/// converted to CEL values once for all rules.
pub(super) fn judge<'p>(
    policy: &'p Policy,
    t: &Target,
) -> impl Iterator<Item = (&'p Rule, Outcome)> {
    let prepared = Prepared::new(&t.context);
    let applies = t.applies;
    policy
        .rules
        .iter()
        .filter(move |r| r.applies_to == applies)
        .map(move |r| {
            let outcome = match &prepared {
                Ok(p) => r.evaluate_prepared(p),
                Err(e) => Outcome::Failed(e.clone()),
            };
            (r, outcome)
        })
}

/// What the policy decides for one target.
pub(super) struct Decision {
    pub(super) action: Action,
    pub(super) rule: String,
    pub(super) reason: String,
    pub(super) severity: Severity,
    /// The matching rule's `delete`, where it means something for the target (`delete`).
    pub(super) delete: Option<Delete>,
    /// The matching rule's `disable`, where it means something for the target.
    pub(super) disable: Option<Disable>,
    /// The matching rule's `restrict`, where it means something for the target (a GCP
    /// API key).
    pub(super) restrict: Option<crate::policy::Restrict>,
}

/// The first matching rule's action; a rule that fails, or no rule, is review.
pub(super) fn decide(policy: &Policy, t: &Target) -> Decision {
    for (r, outcome) in judge(policy, t) {
        match outcome {
            Outcome::Match => {
                return Decision {
                    action: r.action,
                    rule: r.id.clone(),
                    reason: format!("{} ({})", r.description, t.why),
                    severity: r.severity,
                    delete: r.delete.filter(|_| deletable(t)),
                    disable: r.disable.filter(|_| disablable(t)),
                    restrict: r.restrict.clone().filter(|_| restrictable(t)),
                }
            }
            Outcome::NoMatch => {}
            Outcome::Failed(e) => {
                return Decision {
                    action: Action::Review,
                    rule: r.id.clone(),
                    reason: format!(
                        "rule {} could not be evaluated here ({e}); a person decides",
                        r.id
                    ),
                    severity: Severity::High,
                    delete: None,
                    disable: None,
                    restrict: None,
                }
            }
        }
    }
    Decision {
        action: Action::Review,
        rule: "no-rule-matched".into(),
        reason: format!("no rule of the policy matched ({})", t.why),
        severity: Severity::Medium,
        delete: None,
        disable: None,
        restrict: None,
    }
}

/// Whether `delete: principal` means something for this target: a credential of an AWS
/// IAM user (a key, password, certificate) or a role's trust. Root, GCP principals and
/// secret-policy grants have no principal apply deletes, so there the rule only revokes.
fn deletable(t: &Target) -> bool {
    let kind = t.context["principal"]["kind"].as_str();
    t.target.provider == crate::model::Provider::Aws
        && matches!(kind, Some("iam-user" | "iam-role"))
        && matches!(t.target.what, super::target::TargetWhat::Credential(_))
}

/// Whether `restrict:` means something for this target: a GCP API key. Elsewhere the
/// rule only transfers or retains.
fn restrictable(t: &Target) -> bool {
    t.target.provider == crate::model::Provider::Gcp
        && t.target.what
            == super::target::TargetWhat::Credential(crate::model::CredentialKind::GcpApiKey)
}

/// Whether `disable: principal` means something for this target: a key of a GCP service
/// account, or a grant a service account holds. Elsewhere the rule only revokes.
fn disablable(t: &Target) -> bool {
    t.target.provider == crate::model::Provider::Gcp
        && t.context["principal"]["kind"].as_str() == Some("gcp-service-account")
        && matches!(t.target.what, super::target::TargetWhat::Credential(_))
}

pub(super) fn preconditions(
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
        Action::Review => match &t.target.reencrypt {
            Some(r) => p.push(format!(
                "approved in the config ([customer] kms_keys): re-encrypted under the customer's key {} before any agency access ends",
                r.to
            )),
            None => p.push("a person decides, and the decision is recorded with the plan".into()),
        },
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

pub(super) fn phase_for(action: Action, t: &Target) -> Phase {
    if t.runs_audit && matches!(action, Action::Revoke | Action::Rotate) {
        return Phase::RevokeSelf;
    }
    match action {
        Action::Transfer => Phase::Establish,
        Action::Rotate => Phase::Rotate,
        Action::RetainUntil => Phase::TimeBound,
        // A review the config approved as a re-encryption under the customer's key: before
        // any agency access ends, or the value may be lost with the agency's key.
        Action::Review if t.target.reencrypt.is_some() => Phase::Establish,
        Action::Review => Phase::Review,
        Action::Revoke if t.admin => Phase::RevokeAdmin,
        Action::Revoke => Phase::Revoke,
    }
}
