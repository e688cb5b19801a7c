//! What changed since an earlier plan. Step ids depend only on their target, so a step
//! that changed action between two audits shows as changed, not as removed and added.
//! Its text, like the plan's, is escaped for a terminal (`render::for_display`).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Plan, Step};

pub struct Diff<'a> {
    pub added: Vec<&'a Step>,
    pub removed: Vec<&'a Step>,
    /// (old, new) where the action, rule or end date changed.
    pub changed: Vec<(&'a Step, &'a Step)>,
}

pub fn diff<'a>(old: &'a Plan, new: &'a Plan) -> Diff<'a> {
    let o: BTreeMap<&str, &Step> = old.steps.iter().map(|s| (s.id.as_str(), s)).collect();
    let n: BTreeMap<&str, &Step> = new.steps.iter().map(|s| (s.id.as_str(), s)).collect();
    Diff {
        added: n
            .iter()
            .filter(|(k, _)| !o.contains_key(*k))
            .map(|(_, s)| *s)
            .collect(),
        removed: o
            .iter()
            .filter(|(k, _)| !n.contains_key(*k))
            .map(|(_, s)| *s)
            .collect(),
        changed: n
            .iter()
            .filter_map(|(k, s)| o.get(k).map(|old| (*old, *s)))
            .filter(|(a, b)| a.action != b.action || a.rule != b.rule || a.until != b.until)
            .collect(),
    }
}

pub fn render(old: &Plan, new: &Plan) -> String {
    // Both sides escaped alike, so ids still pair up.
    let (old, new) = (
        &super::render::for_display(old),
        &super::render::for_display(new),
    );
    let d = diff(old, new);
    let mut o = String::new();
    let _ = writeln!(o, "Changes from {} to {}:", old.digest, new.digest);
    if d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty() {
        let _ = writeln!(o, "  no step changed");
    }
    for s in &d.added {
        let _ = writeln!(
            o,
            "  + {} {} {} ({})",
            s.id,
            s.action.as_str(),
            s.target.label,
            s.rule
        );
    }
    for s in &d.removed {
        let _ = writeln!(
            o,
            "  - {} {} {} ({})",
            s.id,
            s.action.as_str(),
            s.target.label,
            s.rule
        );
    }
    for (a, b) in &d.changed {
        let _ = writeln!(
            o,
            "  ~ {} {}: {} ({}) -> {} ({})",
            b.id,
            b.target.label,
            a.action.as_str(),
            a.rule,
            b.action.as_str(),
            b.rule
        );
    }
    crate::output::terminal::escape_block(&o).into_owned()
}
