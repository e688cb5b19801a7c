//! What the handed-over documents must say: the SLO document (SLIs, SLOs with a target
//! and a window, the error budget and its policy, an SLA kept apart, a review cadence),
//! the playbooks (trigger, steps, escalation, incident roles, no agency contact after
//! the handover) and the postmortems (the blameless sections, action items with owners,
//! a timeline with timestamps).
//!
//! Invariants:
//! - The section names each check looks for come from [`Sections`] (the handover
//!   config's `[documentation.sections]`), with documented defaults; a heading matches
//!   when its text contains one of the names, case-insensitively.
//! - Every finding names its line: the heading's, the block's, or the document's first
//!   line when a whole section is missing.
//! - Pure: text in, findings out.

use std::sync::OnceLock;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::markdown::{Block, BlockKind, Outline};
use super::DocKind;

/// The heading names each check looks for (any one of them, contained in a heading's
/// text, case-insensitively).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Sections {
    pub sli: Vec<String>,
    pub slo: Vec<String>,
    pub error_budget: Vec<String>,
    pub error_budget_policy: Vec<String>,
    pub sla: Vec<String>,
    pub review: Vec<String>,
    pub trigger: Vec<String>,
    pub steps: Vec<String>,
    pub escalation: Vec<String>,
    pub roles: Vec<String>,
    /// The incident roles a playbook names (each must appear in its roles section).
    pub role_names: Vec<String>,
    pub summary: Vec<String>,
    pub impact: Vec<String>,
    pub root_cause: Vec<String>,
    pub resolution: Vec<String>,
    pub action_items: Vec<String>,
    pub timeline: Vec<String>,
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl Default for Sections {
    fn default() -> Self {
        Sections {
            sli: names(&["SLI", "Service level indicator"]),
            slo: names(&["SLO", "Service level objective"]),
            error_budget: names(&["Error budget"]),
            error_budget_policy: names(&["Error budget policy"]),
            sla: names(&["SLA", "Service level agreement"]),
            review: names(&["Review"]),
            trigger: names(&["Trigger", "Alert", "Symptom"]),
            steps: names(&["Steps", "Procedure", "Mitigation"]),
            escalation: names(&["Escalation"]),
            roles: names(&["Incident roles", "Roles"]),
            role_names: names(&[
                "Incident commander",
                "Communications lead",
                "Operations lead",
            ]),
            summary: names(&["Summary"]),
            impact: names(&["Impact"]),
            root_cause: names(&["Root cause"]),
            resolution: names(&["Resolution"]),
            action_items: names(&["Action items"]),
            timeline: names(&["Timeline"]),
        }
    }
}

impl Sections {
    /// What is wrong with configured names: a list left empty (it would match no
    /// heading, so the check could never pass) or an empty name (it would match every
    /// heading). One line per key, in the config's terms.
    pub fn problems(&self) -> Vec<String> {
        let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, names) in map {
            let names: Vec<&str> = names
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            if names.is_empty() {
                out.push(format!("[documentation.sections] {key} is empty: name at least one heading, or leave the key out for its default"));
            } else if names.iter().any(|n| n.trim().is_empty()) {
                out.push(format!("[documentation.sections] {key} has an empty name, which would match every heading"));
            }
        }
        out
    }
}

/// What the checks need besides the document: the section names and the agency's
/// names, addresses and groups that a playbook must no longer hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub sections: Sections,
    /// Case-insensitive terms naming the agency (its name, `@domain`s, group addresses).
    pub agency_terms: Vec<String>,
    /// The agency's named operations contacts that may stay in a playbook (the
    /// agency-operated scenario, until `agency_access_ends`); empty otherwise.
    pub allowed_contacts: Vec<String>,
}

/// What a check found wrong.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// A section the document kind needs is missing (or empty).
    SectionMissing,
    /// An SLI does not say how it is measured.
    SliWithoutMeasurement,
    /// An SLO has no target or no window.
    SloWithoutTargetOrWindow,
    /// The error budget policy does not weigh cloud provider changes or security fixes.
    BudgetPolicyIncomplete,
    /// An SLA is mixed into the SLOs, or states no consequence.
    SlaNotApart,
    /// A playbook has no steps as a list.
    StepsNotAList,
    /// An incident role is not named.
    RoleMissing,
    /// A playbook names the agency's people or groups after the handover.
    AgencyContact,
    /// A postmortem's action item names no owner.
    ActionWithoutOwner,
    /// A postmortem's timeline entry has no timestamp.
    TimelineWithoutTimestamp,
    /// A credential in a document (the secret scan).
    SecretInDocument,
    /// A file that cannot be checked: unreadable, binary, too large or not UTF-8.
    Unreadable,
    /// A document the config names is not there.
    Missing,
}

impl Check {
    pub const ALL: &'static [Check] = &[
        Check::SectionMissing,
        Check::SliWithoutMeasurement,
        Check::SloWithoutTargetOrWindow,
        Check::BudgetPolicyIncomplete,
        Check::SlaNotApart,
        Check::StepsNotAList,
        Check::RoleMissing,
        Check::AgencyContact,
        Check::ActionWithoutOwner,
        Check::TimelineWithoutTimestamp,
        Check::SecretInDocument,
        Check::Unreadable,
        Check::Missing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Check::SectionMissing => "section-missing",
            Check::SliWithoutMeasurement => "sli-without-measurement",
            Check::SloWithoutTargetOrWindow => "slo-without-target-or-window",
            Check::BudgetPolicyIncomplete => "budget-policy-incomplete",
            Check::SlaNotApart => "sla-not-apart",
            Check::StepsNotAList => "steps-not-a-list",
            Check::RoleMissing => "role-missing",
            Check::AgencyContact => "agency-contact",
            Check::ActionWithoutOwner => "action-without-owner",
            Check::TimelineWithoutTimestamp => "timeline-without-timestamp",
            Check::SecretInDocument => "secret-in-document",
            Check::Unreadable => "unreadable",
            Check::Missing => "missing",
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One problem in one document: the check, the line, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub check: Check,
    pub line: usize,
    pub message: String,
}

fn problem(check: Check, line: usize, message: String) -> Problem {
    Problem {
        check,
        line,
        message,
    }
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("compiles"))
}

/// A target such as `99.9%`.
fn has_target(t: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"\d+(?:\.\d+)?\s*%").is_match(t)
}

/// A window such as `28 days`, `over 4 weeks`, `monthly`, `rolling 30d`.
fn has_window(t: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    re(
        &R,
        r"(?i)\b(?:\d+\s*(?:d|h|days?|hours?|weeks?|months?|quarters?)\b|daily|weekly|monthly|quarterly|per (?:day|week|month|quarter)|calendar (?:week|month|quarter))",
    )
    .is_match(t)
}

/// A timestamp such as `14:02`, `2026-05-12T14:02Z` or `2026-05-12 14:02`.
fn has_timestamp(t: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"\b(?:[01]?\d|2[0-3]):[0-5]\d\b").is_match(t)
}

/// `SLA` as a word, or spelled out.
fn names_sla(t: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"(?i)\bSLAs?\b|service level agreement").is_match(t)
}

fn contains_any(text: &str, terms: &[&str]) -> bool {
    let t = text.to_lowercase();
    terms.iter().any(|w| t.contains(w))
}

/// The section named by `wanted`, or a `section-missing` problem at line 1 (also when
/// it is there but has nothing in it).
fn required<'o>(
    o: &'o Outline,
    kind: DocKind,
    wanted: &[String],
    what: &str,
    out: &mut Vec<Problem>,
) -> Option<(usize, Vec<&'o Block>)> {
    required_except(o, kind, wanted, &[], what, out)
}

/// `required`, where a heading that also matches `except` does not count.
fn required_except<'o>(
    o: &'o Outline,
    kind: DocKind,
    wanted: &[String],
    except: &[String],
    what: &str,
    out: &mut Vec<Problem>,
) -> Option<(usize, Vec<&'o Block>)> {
    let Some(i) = o.find_heading_except(wanted, except) else {
        out.push(problem(
            Check::SectionMissing,
            1,
            format!(
                "the {kind} has no {what} section (a heading containing {})",
                wanted.join(" or ")
            ),
        ));
        return None;
    };
    let blocks: Vec<&Block> = o.section(i).collect();
    if blocks.is_empty() {
        out.push(problem(
            Check::SectionMissing,
            o.headings[i].line,
            format!("the {kind}'s {what} section is empty"),
        ));
        return None;
    }
    Some((i, blocks))
}

/// Items and rows (not a table's header) of a section: the entries checked one by one.
fn entries<'a>(blocks: &'a [&'a Block]) -> impl Iterator<Item = &'a Block> {
    blocks
        .iter()
        .copied()
        .filter(|b| matches!(b.kind, BlockKind::Item { .. } | BlockKind::Row))
}

/// The SLO document.
pub fn check_slo(o: &Outline, s: &Sections) -> Vec<Problem> {
    let mut out = Vec::new();
    let k = DocKind::Slo;
    if let Some((_, blocks)) = required(o, k, &s.sli, "SLI", &mut out) {
        for b in entries(&blocks) {
            if !contains_any(
                &b.text,
                &["measured", "measure", "source", "query", "counted"],
            ) {
                out.push(problem(
                    Check::SliWithoutMeasurement,
                    b.line,
                    "this SLI does not say how it is measured (measured at/by, source, query)"
                        .into(),
                ));
            }
        }
    }
    slos(o, s, &mut out);
    required_except(
        o,
        k,
        &s.error_budget,
        &s.error_budget_policy,
        "error budget",
        &mut out,
    );
    if let Some((i, blocks)) = required(
        o,
        k,
        &s.error_budget_policy,
        "error budget policy",
        &mut out,
    ) {
        let text: String = blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        for (terms, what) in [
            (
                &["cloud provider", "provider change"][..],
                "cloud provider changes",
            ),
            (&["security"][..], "security fixes"),
        ] {
            if !contains_any(&text, terms) {
                out.push(problem(
                    Check::BudgetPolicyIncomplete,
                    o.headings[i].line,
                    format!("the error budget policy does not say how {what} are weighed against the budget"),
                ));
            }
        }
    }
    sla(o, s, &mut out);
    required(o, k, &s.review, "review cadence", &mut out);
    out
}

/// Each SLO has a target and a window. The SLO section is the first heading that
/// matches `slo` but not the SLI, error budget, SLA or review names, and holds no
/// heading that does (so a document's title is not taken for it).
fn slos(o: &Outline, s: &Sections, out: &mut Vec<Problem>) {
    let other: Vec<String> = [
        &s.sli,
        &s.error_budget,
        &s.error_budget_policy,
        &s.sla,
        &s.review,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    let is = |names: &[String], t: &str| names.iter().any(|n| t.contains(&n.to_lowercase()));
    let other_at = |j: usize| is(&other, &o.headings[j].text.to_lowercase());
    let found = (0..o.headings.len()).find(|&i| {
        is(&s.slo, &o.headings[i].text.to_lowercase()) && !(i..o.section_end(i)).any(other_at)
    });
    let Some(i) = found else {
        out.push(problem(
            Check::SectionMissing,
            1,
            format!(
                "the slo document has no SLO section (a heading containing {})",
                s.slo.join(" or ")
            ),
        ));
        return;
    };
    let blocks: Vec<&Block> = o.section(i).collect();
    let mut any = false;
    for b in entries(&blocks) {
        any = true;
        if !has_target(&b.text) || !has_window(&b.text) {
            out.push(problem(
                Check::SloWithoutTargetOrWindow,
                b.line,
                "this SLO needs a target and a window (for example 99.9% over 28 days)".into(),
            ));
        }
        if names_sla(&b.text) {
            out.push(problem(
                Check::SlaNotApart,
                b.line,
                "an SLA is mixed into the SLOs: give it its own section with its consequences"
                    .into(),
            ));
        }
    }
    if !any {
        out.push(problem(
            Check::SectionMissing,
            o.headings[i].line,
            "the SLO section lists no SLO (a list item or table row each)".into(),
        ));
    }
}

/// An SLA is optional; when there is one, it states its consequences.
fn sla(o: &Outline, s: &Sections, out: &mut Vec<Problem>) {
    let Some(i) = o.find_heading(&s.sla) else {
        return;
    };
    let text: String = o
        .section(i)
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if !contains_any(
        &text,
        &[
            "credit",
            "penalt",
            "consequence",
            "refund",
            "terminat",
            "none",
        ],
    ) {
        out.push(problem(
            Check::SlaNotApart,
            o.headings[i].line,
            "the SLA section does not state the consequences of missing it (credits, penalties)"
                .into(),
        ));
    }
}

/// A support playbook.
pub fn check_playbook(o: &Outline, text: &str, st: &Settings) -> Vec<Problem> {
    let s = &st.sections;
    let k = DocKind::Playbook;
    let mut out = Vec::new();
    required(o, k, &s.trigger, "trigger (alert or symptom)", &mut out);
    if let Some((i, blocks)) = required(o, k, &s.steps, "steps", &mut out) {
        if !blocks
            .iter()
            .any(|b| matches!(b.kind, BlockKind::Item { .. }))
        {
            out.push(problem(
                Check::StepsNotAList,
                o.headings[i].line,
                "the playbook's steps are not a list".into(),
            ));
        }
    }
    required(o, k, &s.escalation, "escalation path", &mut out);
    if let Some((i, blocks)) = required(o, k, &s.roles, "incident roles", &mut out) {
        let text: String = blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        for role in &s.role_names {
            if !contains_any(&text, &[role.to_lowercase().as_str()]) {
                out.push(problem(
                    Check::RoleMissing,
                    o.headings[i].line,
                    format!("the incident roles do not name the {}", role.to_lowercase()),
                ));
            }
        }
    }
    agency_contacts(text, st, &mut out);
    out
}

/// The agency's name, addresses and groups, line by line; a line naming an allowed
/// operations contact is excused.
fn agency_contacts(text: &str, st: &Settings, out: &mut Vec<Problem>) {
    // A name matches as a whole word (an agency called "Arc" is not in "search"); an
    // address or `@domain` as it is written.
    let terms: Vec<Regex> = st
        .agency_terms
        .iter()
        .filter(|t| !t.trim().is_empty())
        .filter_map(|t| {
            let e = regex::escape(t.trim());
            let pattern = if t.contains('@') {
                format!("(?i){e}")
            } else {
                format!(r"(?i)\b{e}\b")
            };
            Regex::new(&pattern).ok()
        })
        .collect();
    let allowed: Vec<String> = st
        .allowed_contacts
        .iter()
        .map(|t| t.to_lowercase())
        .collect();
    for (n, line) in text.lines().enumerate() {
        let l = line.to_lowercase();
        if allowed
            .iter()
            .any(|a| !a.is_empty() && l.contains(a.as_str()))
        {
            continue;
        }
        if terms.iter().any(|t| t.is_match(line)) {
            out.push(problem(
                Check::AgencyContact,
                n + 1,
                "this line names the agency (its name, an address or a group); after the handover the contacts and roles are the customer's".into(),
            ));
        }
    }
}

/// A postmortem: the blameless sections.
pub fn check_postmortem(o: &Outline, s: &Sections) -> Vec<Problem> {
    let k = DocKind::Postmortem;
    let mut out = Vec::new();
    for (names, what) in [
        (&s.summary, "summary"),
        (&s.impact, "impact"),
        (&s.root_cause, "root cause"),
        (&s.resolution, "resolution"),
    ] {
        required(o, k, names, what, &mut out);
    }
    if let Some((_, blocks)) = required(o, k, &s.action_items, "action items", &mut out) {
        // A table with an Owner column: that cell; otherwise the entry names one.
        let owner_column = blocks
            .iter()
            .find(|b| b.kind == BlockKind::HeaderRow)
            .and_then(|h| h.cells.iter().position(|c| contains_any(c, &["owner"])));
        for b in entries(&blocks) {
            let named = match (owner_column, b.kind) {
                (Some(col), BlockKind::Row) => {
                    b.cells.get(col).is_some_and(|c| !c.trim().is_empty())
                }
                _ => contains_any(&b.text, &["owner", "@"]),
            };
            if !named {
                out.push(problem(
                    Check::ActionWithoutOwner,
                    b.line,
                    "this action item names no owner (owner: NAME)".into(),
                ));
            }
        }
    }
    if let Some((_, blocks)) = required(o, k, &s.timeline, "timeline", &mut out) {
        for b in entries(&blocks) {
            if !has_timestamp(&b.text) {
                out.push(problem(
                    Check::TimelineWithoutTimestamp,
                    b.line,
                    "this timeline entry has no timestamp (HH:MM, with the date and zone once)"
                        .into(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_codes_are_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Check::ALL {
            assert!(seen.insert(c.as_str()));
            assert!(c
                .as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-'));
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{c}\""));
        }
    }

    #[test]
    fn empty_section_names_are_config_problems() {
        assert!(Sections::default().problems().is_empty());
        let s = Sections {
            steps: Vec::new(),
            escalation: vec![" ".into()],
            ..Sections::default()
        };
        let p = s.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("[documentation.sections] escalation has an empty name"));
        assert!(p[1].starts_with("[documentation.sections] steps is empty"));
    }

    // An agency whose name is a common word part: only the word is a finding.
    #[test]
    fn the_agency_name_matches_as_a_word_and_an_address_as_written() {
        let st = Settings {
            agency_terms: vec!["Arc".into(), "@arc.example".into()],
            ..Settings::default()
        };
        let mut out = Vec::new();
        agency_contacts(
            "search the logs\nask ARC ops\npage bob@ARC.example\n",
            &st,
            &mut out,
        );
        let lines: Vec<usize> = out.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn windows_targets_and_timestamps() {
        assert!(has_target("99.9 %") && has_window("over 28 days"));
        assert!(!has_window("99.9% of requests"));
        assert!(has_timestamp("- 14:02 UTC paged") && !has_timestamp("- paged"));
    }
}
