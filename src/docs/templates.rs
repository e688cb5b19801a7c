//! The Markdown templates `handover docs init` writes: one per document kind, with every
//! section the checks look for (under the default names) and a short explanation of
//! what belongs in it. A template filled in passes `docs check`; a test checks that the
//! templates themselves have every section.

use super::DocKind;

/// The SLO document's template.
pub const SLO: &str = "# Service level objectives

What the service promises its users, how it is measured and what happens when it is
missed. Replace every part in square brackets.

## SLIs

Each service level indicator says what is measured and how (where, by which query).

- Availability: the share of requests answered without a 5xx, measured at the load balancer [source].
- Latency: the share of requests answered within [N] ms, measured at the load balancer [source].

## SLOs

Each objective has a target and a window.

- Availability: 99.9% of requests succeed over a rolling 28 days.
- Latency: 95% of requests complete within [N] ms over a rolling 28 days.

## Error budget

The budget is what the target leaves: 0.1% of requests over 28 days for 99.9%.

## Error budget policy

- When the budget is spent, feature releases pause until reliability work brings it back.
- Cloud provider changes (deprecations, forced upgrades) are planned work: they are
  weighed against the budget and scheduled before their deadline, not taken from it.
- Security fixes ship whatever the budget; the incidents they cause are counted, and
  reviewed if they spend more than a quarter of it.

## SLA

The contractual promise, kept apart from the SLOs (looser than them), and its
consequences: [service credits or penalties when it is missed]; or state that there is none.

## Review

The SLOs and this policy are reviewed [every quarter] by [the customer's team].
";

/// The playbook template.
pub const PLAYBOOK: &str = "# Playbook: [what goes wrong]

One playbook per alert or symptom. Replace every part in square brackets.

## Trigger

The alert or symptom that starts this playbook: [alert name and threshold].

## Steps

1. [first thing to check, and where]
2. [how to mitigate, and how to tell it worked]
3. [when to stop and escalate]

## Escalation

Who is paged next, and after how long: [the customer's on-call rotation, then its
engineering manager after 30 minutes].

## Incident roles

- Incident commander: [the customer's on-call lead], who runs the incident.
- Communications lead: [name], who keeps users and stakeholders informed.
- Operations lead: [name], who makes the changes.
";

/// The postmortem template (blameless).
pub const POSTMORTEM: &str = "# Postmortem: [incident], [date]

Blameless: what happened and what the system let happen, not who was at fault.

## Summary

[Two sentences: what broke, for how long, and how it ended.]

## Impact

[Who was affected and how much: requests failed, users, money, SLO budget spent.]

## Root cause

[The conditions that made it possible, not only the trigger.]

## Resolution

[What ended the incident.]

## Action items

| Action | Owner | Due |
|---|---|---|
| [what will prevent a repeat] | [owner's name] | [date] |

## Timeline

All times in UTC on [date].

- 14:02 [first alert]
- 14:10 [mitigation started]
- 14:16 [resolved]
";

/// The template of a kind, and the file name `docs init` gives it.
pub fn template(kind: DocKind) -> (&'static str, &'static str) {
    match kind {
        DocKind::Slo => ("slo.md", SLO),
        DocKind::Playbook => ("playbook.md", PLAYBOOK),
        DocKind::Postmortem => ("postmortem.md", POSTMORTEM),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{check, markdown::Outline};
    use super::*;

    // The templates are what a team fills in: they must pass the checks themselves.
    #[test]
    fn every_template_passes_its_checks() {
        let st = check::Settings::default();
        let s = &st.sections;
        for kind in [DocKind::Slo, DocKind::Playbook, DocKind::Postmortem] {
            let (_, text) = template(kind);
            let o = Outline::parse(text);
            let problems = match kind {
                DocKind::Slo => check::check_slo(&o, s),
                DocKind::Playbook => check::check_playbook(&o, text, &st),
                DocKind::Postmortem => check::check_postmortem(&o, s),
            };
            assert!(problems.is_empty(), "{kind}: {problems:?}");
            assert!(super::super::secrets::scan(text).is_empty());
        }
    }
}
