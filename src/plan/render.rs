//! The plan for people: Markdown for the customer and the auditor (summary first, then
//! steps grouped by account and project, each with its reason), and a terminal table.
//!
//! A plan's labels, reasons and evidence come from cloud names and snapshots anyone could
//! have written, and a plan file can be edited: both renderers work on a copy whose every
//! string went through `output::terminal::escape`, and the finished text goes through
//! `escape_block` as well, so no control or bidi character reaches a terminal or a
//! Markdown file.
//!
//! The terminal table is laid out for a `Term` (`output::table`): one table per account
//! or project, the step id, action and owner kept whole, target and rule wrapped to the
//! width (never cut), the action coloured when the terminal colours. Markdown is not
//! laid out for a terminal: it is the same whatever the width or colour.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Plan, Step};
use crate::output::table::{wrap, Fit, Table};
use crate::output::terminal::{
    escape_block, escape_block_keeping_paint, escape_json_strings, severity_tone, Term, Tone,
};

/// The plan with every string escaped for display (a plan always round-trips through
/// JSON; should it ever not, the final `escape_block` still removes every control).
pub(crate) fn for_display(plan: &Plan) -> Plan {
    let mut v = serde_json::to_value(plan).unwrap_or_default();
    escape_json_strings(&mut v);
    serde_json::from_value(v).unwrap_or_else(|_| plan.clone())
}

fn group(plan: &Plan) -> BTreeMap<String, Vec<&Step>> {
    let mut g: BTreeMap<String, Vec<&Step>> = BTreeMap::new();
    for s in &plan.steps {
        g.entry(format!("{} {}", s.target.provider, s.target.scope))
            .or_default()
            .push(s);
    }
    g
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown for the customer and the auditor.
pub fn markdown(plan: &Plan) -> String {
    let plan = &for_display(plan);
    let mut o = String::new();
    md_header(&mut o, plan);
    md_summary(&mut o, plan);
    md_findings_and_documentation(&mut o, plan);
    md_steps(&mut o, plan);
    md_preconditions_and_evidence(&mut o, plan);
    escape_block(&o).into_owned()
}

/// The title and what the plan was made from, with its digest.
fn md_header(o: &mut String, plan: &Plan) {
    let h = &plan.handover;
    let _ = writeln!(o, "# Handover plan: {} to {}\n", h.agency, h.customer);
    let _ = writeln!(
        o,
        "- Scenario: **{}**; handover date {}{}",
        h.scenario,
        h.date,
        h.agency_access_ends
            .as_ref()
            .map(|e| format!("; agency access ends {e}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        o,
        "- Policy: `{}` ({})",
        plan.policy.name, plan.policy.digest
    );
    let _ = writeln!(
        o,
        "- Inventory of {}: {}",
        plan.inventory.generated_at.format("%Y-%m-%d %H:%M UTC"),
        plan.inventory.sources.join(", ")
    );
    let _ = writeln!(
        o,
        "- Plan digest: `{}` (approve this exact plan by its digest)\n",
        plan.digest
    );
}

/// Steps by action and by owner, and the customer admins that remain.
fn md_summary(o: &mut String, plan: &Plan) {
    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(o, "| action | steps |\n|---|---|");
    for (a, n) in &plan.summary.by_action {
        let _ = writeln!(o, "| {a} | {n} |");
    }
    let _ = writeln!(o, "\n| owner | steps |\n|---|---|");
    for (a, n) in &plan.summary.by_owner {
        let _ = writeln!(o, "| {a} | {n} |");
    }
    let _ = writeln!(o, "\nCustomer admins after the plan (the plan is refused when an account or project has none):\n");
    for (scope, admins) in &plan.summary.customer_admins_after {
        let _ = writeln!(o, "- {scope}: {}", admins.join(", "));
    }
}

/// The plan's findings, and each handed-over document with its digest.
fn md_findings_and_documentation(o: &mut String, plan: &Plan) {
    if !plan.findings.is_empty() {
        let _ = writeln!(o, "\n## Findings\n");
        for f in &plan.findings {
            let _ = writeln!(o, "- **{}** `{}`: {}", f.severity, f.code, f.message);
        }
    }
    let _ = writeln!(o, "\n## Documentation\n");
    if plan.documentation.is_empty() {
        let _ = writeln!(o, "None named in the config.");
    }
    for d in &plan.documentation {
        let _ = writeln!(
            o,
            "- {} `{}`: {}",
            d.kind,
            d.path,
            if d.present {
                d.sha256.clone().unwrap_or_default()
            } else {
                "MISSING".into()
            }
        );
    }
}

/// A step's action as shown: `retain-until DATE`, or `revoke + delete principal` when
/// the rule deletes the user or role too (`+ disable principal`: the service account) (its reason column says which rule and why).
fn action_text(s: &super::Step) -> String {
    let mut out = s.action.as_str().to_string();
    if let Some(u) = &s.until {
        out += &format!(" {u}");
    }
    if let Some(d) = s.delete {
        out += &format!(" + delete {}", d.as_str());
    }
    if let Some(d) = s.disable {
        out += &format!(" + disable {}", d.as_str());
    }
    if let Some(r) = &s.restrict {
        out += &format!(" + restrict ({})", r.describe());
    }
    out
}

/// One table of steps per account or project.
fn md_steps(o: &mut String, plan: &Plan) {
    let _ = writeln!(o, "\n## Steps\n");
    for (scope, steps) in group(plan) {
        let _ = writeln!(o, "### {scope}\n");
        let _ = writeln!(
            o,
            "| # | step | action | target | owner | rule | reason |\n|---|---|---|---|---|---|---|"
        );
        for s in steps {
            let action = md_escape(&action_text(s));
            let _ = writeln!(
                o,
                "| {} | `{}` | **{}** | {} | {} | `{}` | {} |",
                s.order,
                s.id,
                action,
                md_escape(&s.target.label),
                s.target.owner.as_str(),
                s.rule,
                md_escape(&s.reason)
            );
        }
        let _ = writeln!(o);
    }
}

/// Each step's preconditions and evidence.
fn md_preconditions_and_evidence(o: &mut String, plan: &Plan) {
    let _ = writeln!(o, "## Preconditions and evidence\n");
    for s in &plan.steps {
        let _ = writeln!(
            o,
            "**{}. `{}` {} {}**\n",
            s.order,
            s.id,
            s.action.as_str(),
            md_escape(&s.target.label)
        );
        for p in &s.preconditions {
            let _ = writeln!(o, "- before: {}", md_escape(p));
        }
        for (k, v) in &s.evidence {
            let _ = writeln!(o, "- {k}: {}", md_escape(v));
        }
        let _ = writeln!(o);
    }
}

/// The terminal table with no width and no colour (a library caller, a test).
pub fn table(plan: &Plan) -> String {
    table_for(plan, &Term::PLAIN)
}

/// The colour of an action (the word is always written too).
fn action_tone(a: super::Action) -> Option<Tone> {
    use super::Action;
    match a {
        Action::Revoke => Some(Tone::Bad),
        Action::Rotate => Some(Tone::Warn),
        Action::Transfer => Some(Tone::Good),
        Action::RetainUntil => Some(Tone::Note),
        Action::Review => Some(Tone::Critical),
    }
}

/// The terminal table for `term`: the plan's header, its findings, then one table of
/// steps per account or project (step id, action and owner kept whole; target and rule
/// wrapped to the width), the action coloured when the terminal colours.
pub fn table_for(plan: &Plan, term: &Term) -> String {
    let plan = &for_display(plan);
    let mut o = String::new();
    let h = &plan.handover;
    let head = format!(
        "Plan {} — {} to {} ({}; {})",
        plan.digest, h.agency, h.customer, h.scenario, h.date
    );
    o.push_str(&wrap(&head, 2, term));
    let counts = format!(
        "{} steps: {}",
        plan.summary.steps,
        plan.summary
            .by_action
            .iter()
            .map(|(a, n)| format!("{n} {a}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    o.push_str(&wrap(&counts, 2, term));
    if !plan.findings.is_empty() {
        let mut t = Table::new(&[
            ("SEVERITY", Fit::Keep),
            ("FINDING", Fit::Keep),
            ("WHAT", Fit::Wrap),
        ])
        .tone_column(0);
        for f in &plan.findings {
            t.toned_row(
                vec![
                    f.severity.to_string().to_uppercase(),
                    f.code.to_string(),
                    f.message.clone(),
                ],
                severity_tone(f.severity),
            );
        }
        o.push('\n');
        o.push_str(&t.render(term));
    }
    for (scope, steps) in group(plan) {
        o.push('\n');
        o.push_str(&wrap(&format!("{scope}:"), 2, term));
        let mut t = Table::new(&[
            ("#", Fit::Keep),
            ("STEP", Fit::Keep),
            ("ACTION", Fit::Keep),
            ("OWNER", Fit::Keep),
            ("TARGET", Fit::Wrap),
            ("RULE", Fit::Wrap),
        ])
        .tone_column(2);
        for s in steps {
            t.toned_row(
                vec![
                    s.order.to_string(),
                    s.id.clone(),
                    action_text(s),
                    s.target.owner.as_str().to_string(),
                    s.target.label.clone(),
                    s.rule.clone(),
                ],
                action_tone(s.action),
            );
        }
        o.push_str(&t.render(term));
    }
    escape_block_keeping_paint(&o)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example's plan with hostile text in a label, a reason and evidence.
    fn hostile_plan() -> Plan {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/northwind-to-contoso/plan-full-transfer.json");
        let mut plan: Plan = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let s = &mut plan.steps[0];
        s.target.label = "user eve\u{1b}[2K\u{1b}[1A\rOWNER customer\u{202e}".into();
        s.reason = "because\u{9b}31m\nSignature: good".into();
        s.evidence
            .insert("note\u{1b}".into(), "\u{7}\u{2066}x".into());
        plan.handover.agency = "North\u{1b}]0;title\u{7}wind".into();
        plan
    }

    /// Issue 10 item 8: plan labels come from cloud names and reached the terminal raw.
    #[test]
    fn the_plan_table_and_markdown_hold_no_raw_control() {
        let plan = hostile_plan();
        for text in [
            table(&plan),
            markdown(&plan),
            crate::plan::diff::render(&hostile_plan(), &plan),
        ] {
            for c in ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}', '\u{2066}'] {
                assert!(!text.contains(c), "raw {c:?} in {text}");
            }
        }
        assert!(
            table(&plan).contains("user eve\\x1b[2K\\x1b[1A\\rOWNER customer\\u{202e}"),
            "{}",
            table(&plan)
        );
        let md = markdown(&plan);
        assert!(
            md.contains("because\\x9b31m\\nSignature: good") && !md.contains("\nSignature: good"),
            "{md}"
        );
        assert!(md.contains("North\\x1b]0;title\\x07wind"), "{md}");
    }
}
