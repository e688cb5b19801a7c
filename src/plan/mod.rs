//! The plan: a pure function from an inventory, a policy, the handover config and the
//! documentation's digests (read by `docs`) to ordered steps, each with its action, the
//! rule that chose it and why, preconditions and evidence.
//!
//! Invariants (tested, including by property tests over generated inventories):
//! - Deterministic: the same inputs give byte-identical JSON; ages count to the
//!   inventory's time, never to "now". The digest (SHA-256 of the canonical JSON) names
//!   the plan for approval.
//! - Pure: nothing here reads a file or the clock; documentation is an input.
//! - No lock-out: a plan that leaves an account or project without a working customer
//!   admin is refused; revoking agency admin comes after everything that establishes
//!   the customer's access; the identity that ran the audit is revoked last.
//! - Step ids depend only on the target, so they are stable across re-audits.
//! - No secret value: the inputs hold none, and steps only name things.
//!
//! Files: `types` (the plan document), `target` (what it decides about, `TargetRef`),
//! `facts` (what is derived once from the inventory and config), `decide` (the rules,
//! phases and preconditions), `lockout`, `explain` (and `owners`), `digest`, and the
//! renderers `render` and `diff`.

mod decide;
pub mod diff;
mod digest;
mod explain;
mod facts;
mod leaks;
mod lockout;
pub mod render;
mod target;
mod types;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;

use crate::config::parties::{self, Owner};
use crate::config::HandoverConfig;
use crate::error::Error;
use crate::model::{Inventory, Severity};
use crate::policy::{Action, Policy};
use decide::{decide, phase_for, preconditions, Decision};
use facts::Facts;
use target::{targets, Target};

pub use crate::docs::{DocItem, DocKind};
pub use explain::{explain, owners, Explanation};
pub use target::{
    policy_grant_id, ReEncrypt, SecretPart, SecretRef, TargetKind, TargetRef, TargetWhat,
};
pub use types::*;

pub const PLAN_SCHEMA: &str = "handover/plan";
/// Version 2: targets carry their structured fields (`name`, `region`, `binding`).
/// A reader refuses any other version rather than half-read it.
pub const PLAN_VERSION: u32 = 2;

/// A unit enum's serde name (`access-key`, `active`, ...).
pub(crate) fn kebab<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Builds the plan from the documentation's digests (`docs::read` of
/// `wanted_documents`), or refuses it when it would lock the customer out. No
/// documentation check: see `build_checked`.
pub fn build(
    inv: &Inventory,
    policy: &Policy,
    cfg: &HandoverConfig,
    documentation: Vec<DocItem>,
) -> Result<Plan, Error> {
    build_checked(
        inv,
        policy,
        cfg,
        documentation,
        &crate::docs::Report::default(),
    )
}

/// `build`, with the documentation check's report (`docs::check`): its findings become
/// plan findings, and a credential of the inventory found in a document is rotated.
pub fn build_checked(
    inv: &Inventory,
    policy: &Policy,
    cfg: &HandoverConfig,
    documentation: Vec<DocItem>,
    checked: &crate::docs::Report,
) -> Result<Plan, Error> {
    // The plan must not depend on the order of the inventory's lists.
    let mut normalized = inv.clone();
    normalized.normalize();
    let inv = &normalized;
    let f = Facts::new(inv, cfg);
    let mut decided: Vec<(Target, Decision)> = targets(&f)
        .into_iter()
        .map(|t| {
            let d = decide(policy, &t);
            (t, d)
        })
        .collect();
    leaks::rotate_leaked(&mut decided, checked);
    // No lock-out: every account and project keeps a working customer admin.
    let actions: HashMap<String, Action> = decided
        .iter()
        .map(|(t, d)| (t.target.id.clone(), d.action))
        .collect();
    let admins_after = lockout::customer_admins_after(&f, &actions)?;
    let until = cfg
        .agency_access_ends
        .map(|t| t.format("%Y-%m-%d").to_string());
    let steps = ordered_steps(&f, decided, &admins_after, until.as_deref());
    let mut findings = findings(cfg, inv, &steps);
    findings.extend(documentation_findings(cfg, &documentation));
    findings.extend(leaks::findings(checked));
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
        summary: summary(&steps, admins_after),
        documentation,
        findings,
        steps,
    };
    plan.digest = plan.compute_digest();
    Ok(plan)
}

/// The decided targets as steps, in phase order (then provider, scope, id), numbered.
fn ordered_steps(
    f: &Facts,
    decided: Vec<(Target, Decision)>,
    admins_after: &BTreeMap<String, Vec<String>>,
    until: Option<&str>,
) -> Vec<Step> {
    let mut steps: Vec<Step> = decided
        .into_iter()
        .map(|(mut t, d)| {
            // Re-encryption carries out an approved review only; another action keeps
            // its own meaning.
            if d.action != Action::Review {
                t.target.reencrypt = None;
            }
            (t, d)
        })
        .map(|(t, d)| Step {
            id: step_id(&t.target.id),
            order: 0,
            phase: phase_for(d.action, &t),
            preconditions: preconditions(d.action, &t, f, admins_after),
            until: (d.action == Action::RetainUntil)
                .then(|| until.map(str::to_string))
                .flatten(),
            target: t.target,
            action: d.action,
            delete: d.delete,
            disable: d.disable,
            restrict: d.restrict,
            rule: d.rule,
            reason: d.reason,
            severity: d.severity,
            evidence: t.evidence,
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
    steps
}

/// What the plan points out besides its steps: a missing end date, owners the config
/// does not establish, scopes in neither party's list.
fn findings(cfg: &HandoverConfig, inv: &Inventory, steps: &[Step]) -> Vec<PlanFinding> {
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
    findings
}

fn summary(steps: &[Step], customer_admins_after: BTreeMap<String, Vec<String>>) -> Summary {
    let mut by_action = BTreeMap::new();
    let mut by_owner = BTreeMap::new();
    for s in steps {
        *by_action.entry(s.action.as_str().to_string()).or_insert(0) += 1;
        *by_owner
            .entry(s.target.owner.as_str().to_string())
            .or_insert(0) += 1;
    }
    Summary {
        steps: steps.len(),
        by_action,
        by_owner,
        customer_admins_after,
    }
}

/// The documents the config names, relative to its folder, for `docs::read`.
pub fn wanted_documents(cfg: &HandoverConfig) -> Vec<(DocKind, PathBuf)> {
    let d = &cfg.documentation;
    d.slo
        .iter()
        .map(|p| (DocKind::Slo, p.clone()))
        .chain(d.playbooks.iter().map(|p| (DocKind::Playbook, p.clone())))
        .chain(
            d.postmortems
                .iter()
                .map(|p| (DocKind::Postmortem, p.clone())),
        )
        .collect()
}

/// A finding for each kind of document the config names none of, and for each named
/// document that is missing or empty.
fn documentation_findings(cfg: &HandoverConfig, items: &[DocItem]) -> Vec<PlanFinding> {
    let d = &cfg.documentation;
    let none_named = [
        (
            DocKind::Slo,
            d.slo.is_none(),
            Severity::Medium,
            "the config names no SLO document",
        ),
        (
            DocKind::Playbook,
            d.playbooks.is_empty(),
            Severity::Medium,
            "the config names no support playbooks",
        ),
        (
            DocKind::Postmortem,
            d.postmortems.is_empty(),
            Severity::Low,
            "the config names no postmortems",
        ),
    ];
    let mut findings = Vec::new();
    for (kind, none, severity, message) in none_named {
        if none {
            findings.push(PlanFinding {
                code: PlanFindingCode::DocumentationMissing,
                severity,
                message: message.into(),
            });
        }
        for item in items.iter().filter(|i| i.kind == kind && !i.present) {
            findings.push(PlanFinding {
                code: PlanFindingCode::DocumentationMissing,
                severity: Severity::Medium,
                message: format!(
                    "the {kind} {} named in the config is missing or empty",
                    item.path
                ),
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    // Issue 12: `build` hashed the documentation files itself, so the "pure" plan read
    // the disk. It now takes the digests as an input and reads nothing: an item given as
    // absent is reported missing even though the file is on disk.
    #[test]
    fn build_takes_the_documentation_as_input_and_reads_no_file() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/northwind-to-contoso");
        let cfg = crate::config::load(&dir.join("handover.toml")).unwrap();
        let inv: Inventory =
            serde_json::from_str(&std::fs::read_to_string(dir.join("inventory.json")).unwrap())
                .unwrap();
        let policy = crate::policy::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/full-transfer.yaml"),
        )
        .unwrap();
        let wanted = wanted_documents(&cfg);
        assert!(wanted.iter().any(|(k, _)| *k == DocKind::Slo));
        let read = crate::docs::read(&cfg.base_dir, &wanted).unwrap();
        assert!(
            read.iter().all(|d| d.present),
            "the example's documents exist"
        );
        let given: Vec<DocItem> = wanted
            .iter()
            .map(|(kind, path)| DocItem {
                kind: *kind,
                path: path.display().to_string(),
                present: false,
                sha256: None,
            })
            .collect();
        let plan = build(&inv, &policy, &cfg, given.clone()).unwrap();
        assert_eq!(plan.documentation, given);
        assert!(
            plan.findings
                .iter()
                .any(|f| f.code == PlanFindingCode::DocumentationMissing
                    && f.message == "the slo docs/slo.md named in the config is missing or empty"),
            "{:?}",
            plan.findings
        );
        let plan = build(&inv, &policy, &cfg, read.clone()).unwrap();
        assert_eq!(plan.documentation, read);
        assert!(!plan
            .findings
            .iter()
            .any(|f| f.code == PlanFindingCode::DocumentationMissing));
    }

    /// The example's inventory with its KMS-held secret's key moved to the agency's
    /// account, the example's config with (or without) the customer's key approved.
    fn agency_key_example(approve: bool) -> (Inventory, HandoverConfig) {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/northwind-to-contoso");
        let mut inv: Inventory =
            serde_json::from_str(&std::fs::read_to_string(dir.join("inventory.json")).unwrap())
                .unwrap();
        let s = inv
            .secrets
            .iter_mut()
            .find(|s| s.name == "prod/payments-signing")
            .unwrap();
        s.encryption.key = Some("arn:aws:kms:us-east-1:210987654321:key/agency".into());
        s.encryption.key_account = Some("210987654321".into());
        let mut cfg = crate::config::load(&dir.join("handover.toml")).unwrap();
        if approve {
            cfg.customer.kms_keys.insert(
                "123456789012/us-east-1".to_string().try_into().unwrap(),
                "arn:aws:kms:us-east-1:123456789012:key/customer"
                    .to_string()
                    .try_into()
                    .unwrap(),
            );
        }
        (inv, cfg)
    }

    fn policy(text: &str) -> Policy {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.yaml");
        std::fs::write(&p, text).unwrap();
        crate::policy::load(&p).unwrap()
    }

    // The re-encryption is the approved review of an agency-held key: it goes first
    // (establish), carries its key in the digested target, and only a review gets it.
    #[test]
    fn an_approved_agency_key_review_is_a_re_encryption_made_before_any_revoke() {
        let shipped = crate::policy::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/full-transfer.yaml"),
        )
        .unwrap();
        let step = |plan: &Plan| {
            plan.steps
                .iter()
                .find(|s| s.target.name.as_deref() == Some("prod/payments-signing"))
                .unwrap()
                .clone()
        };
        let (inv, cfg) = agency_key_example(false);
        let plain = build(&inv, &shipped, &cfg, Vec::new()).unwrap();
        assert_eq!(step(&plain).phase, Phase::Review);
        assert_eq!(step(&plain).target.reencrypt, None);
        let (inv, cfg) = agency_key_example(true);
        let approved = build(&inv, &shipped, &cfg, Vec::new()).unwrap();
        let s = step(&approved);
        assert_eq!((s.action, s.phase), (Action::Review, Phase::Establish));
        let r = s.target.reencrypt.clone().unwrap();
        assert_eq!(
            r.to.as_str(),
            "arn:aws:kms:us-east-1:123456789012:key/customer"
        );
        assert_eq!(
            r.from.as_deref(),
            Some("arn:aws:kms:us-east-1:210987654321:key/agency")
        );
        assert_ne!(plain.digest, approved.digest, "the digest covers the key");
        let first_revoke = approved
            .steps
            .iter()
            .find(|x| x.action == Action::Revoke)
            .unwrap();
        assert!(s.order < first_revoke.order);
        // Another action keeps its meaning: a rotate is not turned into a re-encryption.
        let rotate = policy(
            "name: t\ndescription: t\nrules:\n  - id: all-rotated\n    description: d\n    applies_to: secrets\n    condition: \"true\"\n    action: rotate\n    severity: high\n    rationale: r\n",
        );
        let rotated = build(&inv, &rotate, &cfg, Vec::new()).unwrap();
        let s = step(&rotated);
        assert_eq!(
            (s.action, s.phase, s.target.reencrypt),
            (Action::Rotate, Phase::Rotate, None)
        );
    }

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
