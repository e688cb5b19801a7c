//! Reading the plan's decisions back: who owns what by the config alone (`owners`,
//! what `verify` asks of the live accounts) and how each rule judges one target
//! (`explain`, what `handover policy explain` shows).

use std::collections::BTreeMap;

use super::decide::judge;
use super::facts::Facts;
use super::step_id;
use super::target::{targets, Target, TargetKind, TargetRef};
use crate::config::parties::{self, Owner};
use crate::config::HandoverConfig;
use crate::error::Error;
use crate::model::Inventory;
use crate::policy::{Outcome, Policy};

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
    for (r, o) in judge(policy, t) {
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
