//! Building the `Report` from its inputs: one pass over each input, joined through maps
//! keyed by id (inventory id, step id), so the work is linear in the inventory.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use super::*;
use crate::manifest::{MigratedSecret, StepRecord};
use crate::model::{Credential, Principal, Secret};
use crate::plan::{kebab, Step};
use crate::policy::Action;
use crate::verify::ClaimStatus;

/// The digest field's value while a report is rendered (`render` replaces it).
pub const PLACEHOLDER: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// What the inventory says of one id: a credential or a secret.
enum Found<'a> {
    Credential(&'a Credential),
    Secret(&'a Secret),
}

/// The lookups every join goes through, built once.
struct Index<'a> {
    found: HashMap<&'a str, Found<'a>>,
    principals: HashMap<&'a str, &'a Principal>,
    /// Step records (outcomes) by step id.
    records: HashMap<&'a str, &'a StepRecord>,
    /// Claim ids by step id.
    claims: HashMap<String, Vec<String>>,
    /// Finding anchors by subject id.
    findings: HashMap<&'a str, Vec<String>>,
}

/// Builds the report; see the module's doc for what each input adds.
pub fn build(input: &Input<'_>) -> Report {
    let claims = claim_rows(input);
    let findings_rows = finding_rows(input);
    let index = index(input, &claims, &findings_rows);
    let mut items = items(input, &index);
    items.sort_by(|a, b| {
        (&a.provider, &a.scope, &a.owner, &a.id).cmp(&(&b.provider, &b.scope, &b.owner, &b.id))
    });
    let findings_rows = link_findings(findings_rows, &items);
    let migrated = migrated_rows(input);
    let counts = counts(input, &items, &claims, &findings_rows);
    let (status, status_reasons) = status(input, &items, &claims, &migrated);
    let mut inputs = input.files.clone();
    inputs.sort();
    Report {
        schema: SCHEMA.into(),
        version: VERSION,
        generator: format!("handover {}", env!("CARGO_PKG_VERSION")),
        digest: PLACEHOLDER.into(),
        inputs,
        missing: missing(input),
        summary: summary(input, status, status_reasons, counts),
        review_items: review_items(input, &items),
        timeline: timeline(input),
        agency_access: agency_access(input, &items),
        items,
        findings: findings_rows,
        claims,
        migrated_secrets: migrated,
        new_credentials: new_credentials(input),
        documentation: documentation(input),
        coverage_gaps: input.inventory.gaps.clone(),
        sign_off: SignOff {
            statement: "I have read this report, including its review items and coverage gaps, and I accept the handover as it records it.".into(),
            roles: vec!["Agency lead".into(), "Customer security".into(), "Auditor".into()],
        },
    }
}

/// The anchor of an item: stable for the same id.
pub fn anchor(id: &str) -> String {
    let h = Sha256::digest(id.as_bytes());
    format!(
        "i-{}",
        h.iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

fn index<'a>(input: &Input<'a>, claims: &[ClaimRow], findings: &[FindingRow]) -> Index<'a> {
    let inv = input.inventory;
    let mut found: HashMap<&str, Found> = HashMap::with_capacity(inv.credentials.len());
    for c in &inv.credentials {
        found.insert(c.id.as_str(), Found::Credential(c));
    }
    for s in &inv.secrets {
        found.insert(s.id.as_str(), Found::Secret(s));
    }
    let records: HashMap<&str, &StepRecord> = step_records(input)
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut by_step: HashMap<String, Vec<String>> = HashMap::new();
    for c in claims {
        if let Some(s) = &c.step {
            by_step.entry(s.clone()).or_default().push(c.id.clone());
        }
    }
    let mut by_subject: HashMap<&str, Vec<String>> = HashMap::new();
    for (f, row) in inv.findings.iter().zip(findings) {
        by_subject
            .entry(f.subject.as_str())
            .or_default()
            .push(row.id.clone());
    }
    Index {
        found,
        principals: inv.principals.iter().map(|p| (p.id.as_str(), p)).collect(),
        records,
        claims: by_step,
        findings: by_subject,
    }
}

/// The step records: the journals' if given, else the manifest's, else none.
fn step_records<'a>(input: &Input<'a>) -> &'a [StepRecord] {
    match (input.outcomes, input.manifest) {
        (Some(o), _) => &o.steps,
        (None, Some((m, _))) => &m.steps,
        (None, None) => &[],
    }
}

fn migrated<'a>(input: &Input<'a>) -> &'a [MigratedSecret] {
    match (input.outcomes, input.manifest) {
        (Some(o), _) => &o.migrated,
        (None, Some((m, _))) => &m.migrated_secrets,
        (None, None) => &[],
    }
}

fn date(d: Option<chrono::DateTime<chrono::Utc>>, none: &str) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| none.to_string())
}

/// Created and last used (or why unknown) of what the inventory holds under `id`.
fn evidence(found: Option<&Found<'_>>) -> (Option<String>, String, String) {
    match found {
        Some(Found::Credential(c)) => (
            Some(kebab(&c.status)),
            date(c.created, "unknown: the source does not give it"),
            c.last_used.text(),
        ),
        Some(Found::Secret(s)) => (
            None,
            date(s.created, "unknown: the source does not give it"),
            s.last_accessed
                .map(|d| format!("{} (accessed)", d.format("%Y-%m-%d")))
                .unwrap_or_else(|| "unknown: the source records no access date".into()),
        ),
        None => (
            None,
            "unknown: not an inventory credential (a grant inside a secret's policy)".into(),
            "unknown: the source records no use of a grant".into(),
        ),
    }
}

/// Every plan step as an item, then what the inventory holds that no step is about.
fn items(input: &Input<'_>, ix: &Index<'_>) -> Vec<Item> {
    let mut out = Vec::new();
    let mut stepped: std::collections::HashSet<&str> = std::collections::HashSet::new();
    if let Some(plan) = input.plan {
        for s in &plan.steps {
            stepped.insert(s.target.id.as_str());
            out.push(step_item(s, ix));
        }
    }
    let inv = input.inventory;
    let no_owner = if input.plan.is_some() {
        "unknown"
    } else {
        "not classified (no plan)"
    };
    let unstepped = inv
        .credentials
        .iter()
        .map(|c| {
            (
                c.id.as_str(),
                kebab(&c.kind),
                c.provider,
                &c.scope,
                Some(&c.principal),
                c.identifier.clone().unwrap_or_else(|| c.id.clone()),
            )
        })
        .chain(inv.secrets.iter().map(|s| {
            (
                s.id.as_str(),
                "secret".to_string(),
                s.provider,
                &s.scope,
                None,
                s.name.clone(),
            )
        }));
    for (id, what, provider, scope, principal, label) in unstepped {
        if stepped.contains(id) {
            continue;
        }
        let (state, created, last_used) = evidence(ix.found.get(id));
        out.push(Item {
            id: id.to_string(),
            anchor: anchor(id),
            what,
            provider: provider.to_string(),
            scope: scope.clone(),
            principal: principal.cloned(),
            label,
            owner: no_owner.into(),
            party: None,
            state,
            created,
            last_used,
            findings: item_findings(ix, id, principal.map(String::as_str)),
            step: None,
            outcome: None,
            claims: Vec::new(),
        });
    }
    out
}

/// The findings about an id, and about its principal.
fn item_findings(ix: &Index<'_>, id: &str, principal: Option<&str>) -> Vec<String> {
    let mut f: Vec<String> = ix.findings.get(id).cloned().unwrap_or_default();
    if let Some(p) = principal.filter(|p| *p != id && ix.principals.contains_key(p)) {
        f.extend(ix.findings.get(p).cloned().unwrap_or_default());
    }
    f.sort();
    f.dedup();
    f
}

fn step_item(s: &Step, ix: &Index<'_>) -> Item {
    let t = &s.target;
    let (state, created, last_used) = evidence(ix.found.get(t.id.as_str()));
    Item {
        id: t.id.clone(),
        anchor: anchor(&t.id),
        what: t.what.to_string(),
        provider: t.provider.to_string(),
        scope: t.scope.clone(),
        principal: t.principal.clone(),
        label: t.label.clone(),
        owner: t.owner.as_str().into(),
        party: t.party.clone(),
        state,
        created,
        last_used,
        findings: item_findings(ix, &t.id, t.principal.as_deref()),
        step: Some(StepRow {
            id: s.id.clone(),
            order: s.order,
            phase: kebab(&s.phase),
            action: s.action.as_str().into(),
            until: s.until.clone(),
            rule: s.rule.clone(),
            reason: s.reason.clone(),
            severity: s.severity.to_string(),
        }),
        outcome: ix.records.get(s.id.as_str()).map(|r| OutcomeRow {
            outcome: kebab(&r.outcome),
            evidence: r.evidence.clone(),
            change: r.applied.or(r.observed).map(|c| kebab(&c)),
        }),
        claims: ix.claims.get(&s.id).cloned().unwrap_or_default(),
    }
}

/// The verification's claims, each linked to the step its subject names (`STEP-ID ...`).
fn claim_rows(input: &Input<'_>) -> Vec<ClaimRow> {
    let Some(v) = input.verification else {
        return Vec::new();
    };
    let steps: std::collections::HashSet<&str> = input
        .plan
        .map(|p| p.steps.iter().map(|s| s.id.as_str()).collect())
        .or_else(|| {
            input
                .manifest
                .map(|(m, _)| m.steps.iter().map(|s| s.id.as_str()).collect())
        })
        .unwrap_or_default();
    v.claims
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let first = c.subject.split(' ').next().unwrap_or_default();
            ClaimRow {
                id: format!("c-{}", i + 1),
                kind: c.kind.as_str().into(),
                subject: c.subject.clone(),
                status: c.status.as_str().into(),
                detail: c.detail.clone(),
                step: steps.contains(first).then(|| first.to_string()),
            }
        })
        .collect()
}

/// The audit's findings (in the inventory's order: riskiest first), then the plan's.
fn finding_rows(input: &Input<'_>) -> Vec<FindingRow> {
    let audit = input.inventory.findings.iter().map(|f| {
        (
            f.code.as_str().to_string(),
            f.severity,
            Some(f.subject.clone()),
            f.message.clone(),
            "audit",
        )
    });
    let plan = input.plan.into_iter().flat_map(|p| {
        p.findings.iter().map(|f| {
            (
                f.code.as_str().to_string(),
                f.severity,
                None,
                f.message.clone(),
                "plan",
            )
        })
    });
    audit
        .chain(plan)
        .enumerate()
        .map(
            |(i, (code, severity, subject, message, source))| FindingRow {
                id: format!("f-{}", i + 1),
                code,
                severity: severity.to_string(),
                subject,
                message,
                source: source.into(),
                item: None,
            },
        )
        .collect()
}

/// Each finding linked to the item it is about (or, for a principal's finding, the
/// first of its credentials).
fn link_findings(mut rows: Vec<FindingRow>, items: &[Item]) -> Vec<FindingRow> {
    let mut by_finding: HashMap<&str, &str> = HashMap::new();
    for it in items {
        for f in &it.findings {
            by_finding.entry(f.as_str()).or_insert(it.anchor.as_str());
        }
    }
    for r in &mut rows {
        r.item = by_finding.get(r.id.as_str()).map(|a| a.to_string());
    }
    rows
}

fn migrated_rows(input: &Input<'_>) -> Vec<MigratedRow> {
    let mut rows: Vec<MigratedRow> = migrated(input)
        .iter()
        .map(|m| MigratedRow {
            step: m.step.clone(),
            from: m.from.describe(),
            source: m.source.clone(),
            to: m.to.describe(),
            destination: m.destination.clone(),
            version: m.version.clone(),
            digest: m.digest.clone(),
            digest_key: m.digest_key.clone(),
            migration: m.migration.as_str().into(),
            outcome: kebab(&m.outcome),
            rotate_after_cutover: m.rotate_after_cutover,
            at: m.at,
        })
        .collect();
    rows.sort_by(|a, b| (&a.from, &a.source, &a.to).cmp(&(&b.from, &b.source, &b.to)));
    rows
}

fn new_credentials(input: &Input<'_>) -> Vec<String> {
    let mut names: Vec<String> = input
        .manifest
        .map(|(m, _)| m.new_credentials.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn documentation(input: &Input<'_>) -> Vec<DocItem> {
    let mut docs = match (input.manifest, input.plan) {
        (Some((m, _)), _) => m.documentation.clone(),
        (None, Some(p)) => p.documentation.clone(),
        (None, None) => Vec::new(),
    };
    docs.sort_by(|a, b| a.path.cmp(&b.path));
    docs
}

/// What was not given, and what that leaves unsaid.
fn missing(input: &Input<'_>) -> Vec<String> {
    let mut m = Vec::new();
    if input.plan.is_none() {
        m.push("no plan given: no decision, rule or owner per credential".into());
    }
    if input.outcomes.is_none() && input.manifest.is_none() {
        m.push("no journal given: no step is recorded carried out".into());
    } else if input.outcomes.is_none() {
        m.push("no journal given: outcomes are the manifest's records".into());
    }
    if input.verification.is_none() {
        m.push("no verification given: nothing is proven live".into());
    }
    if input.manifest.is_none() {
        m.push(
            "no manifest given: new credentials issued and the manifest's signature are not shown"
                .into(),
        );
    }
    m
}

fn review_items(input: &Input<'_>, items: &[Item]) -> Vec<ReviewItem> {
    let mut out: Vec<ReviewItem> = items
        .iter()
        .filter_map(|it| {
            let s = it.step.as_ref()?;
            (s.action == Action::Review.as_str()).then(|| ReviewItem {
                id: s.id.clone(),
                label: it.label.clone(),
                reason: s.reason.clone(),
                item: Some(it.anchor.clone()),
            })
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(p) = input.plan {
        out.extend(p.findings.iter().map(|f| ReviewItem {
            id: f.code.as_str().into(),
            label: format!("plan finding ({})", f.severity),
            reason: f.message.clone(),
            item: None,
        }));
    }
    out
}

fn counts(
    input: &Input<'_>,
    items: &[Item],
    claims: &[ClaimRow],
    findings: &[FindingRow],
) -> Counts {
    let inv = input.inventory;
    let mut c = Counts {
        principals: inv.principals.len(),
        credentials: inv.credentials.len(),
        secrets: inv.secrets.len(),
        ..Counts::default()
    };
    let journaled = input.outcomes.is_some() || input.manifest.is_some();
    for it in items {
        *c.owners_before.entry(it.owner.clone()).or_default() += 1;
        if let Some(after) = owner_after(it) {
            *c.owners_after.entry(after).or_default() += 1;
        }
        let Some(s) = &it.step else { continue };
        c.steps += 1;
        *c.steps_by_action.entry(s.action.clone()).or_default() += 1;
        let outcome = match (&it.outcome, journaled) {
            (Some(o), _) => o.outcome.clone(),
            (None, true) => "pending".into(),
            (None, false) => "not-journaled".into(),
        };
        *c.steps_by_outcome.entry(outcome.clone()).or_default() += 1;
        *c.steps_by_action_and_outcome
            .entry(s.action.clone())
            .or_default()
            .entry(outcome)
            .or_default() += 1;
    }
    for cl in claims {
        *c.claims_by_status.entry(cl.status.clone()).or_default() += 1;
        *c.claims_by_kind.entry(cl.kind.clone()).or_default() += 1;
    }
    for f in findings {
        *c.findings_by_severity
            .entry(f.severity.clone())
            .or_default() += 1;
    }
    c
}

/// Who holds an item once its step is carried out: revoked is gone (`None`); rotated
/// and transferred are the customer's; retained stays the agency's until its date.
fn owner_after(it: &Item) -> Option<String> {
    let Some(s) = &it.step else {
        return Some(it.owner.clone());
    };
    match s.action.as_str() {
        a if a == Action::Revoke.as_str() => None,
        a if a == Action::Rotate.as_str() || a == Action::Transfer.as_str() => {
            Some("customer".into())
        }
        _ => Some(it.owner.clone()),
    }
}

/// The overall status and why (the rule is in the module's doc).
fn status(
    input: &Input<'_>,
    items: &[Item],
    claims: &[ClaimRow],
    migrated: &[MigratedRow],
) -> (OverallStatus, Vec<String>) {
    let mut failed = Vec::new();
    let n_fail = claims
        .iter()
        .filter(|c| c.status == ClaimStatus::Fail.as_str())
        .count();
    if n_fail > 0 {
        failed.push(format!("{n_fail} live claim(s) failed"));
    }
    let failed_steps = items
        .iter()
        .filter(|i| i.outcome.as_ref().is_some_and(|o| o.outcome == "failed"))
        .count();
    if failed_steps > 0 {
        failed.push(format!("{failed_steps} step(s) recorded failed"));
    }
    let failed_copies = migrated.iter().filter(|m| m.outcome == "failed").count();
    if failed_copies > 0 {
        failed.push(format!("{failed_copies} secret copy(ies) recorded failed"));
    }
    if !failed.is_empty() {
        return (OverallStatus::Failed, failed);
    }
    let mut pending = Vec::new();
    if input.plan.is_none() && input.manifest.is_none() {
        pending.push("no plan: nothing is decided yet".to_string());
    }
    if input.verification.is_none() {
        pending.push("no verification: nothing is proven live".to_string());
    }
    let n_pending = claims
        .iter()
        .filter(|c| c.status == ClaimStatus::Pending.as_str())
        .count();
    if n_pending > 0 {
        pending.push(format!("{n_pending} live claim(s) pending"));
    }
    let unproven = items
        .iter()
        .filter_map(|i| i.step.as_ref().map(|s| (i, s)))
        .filter(|(_, s)| s.action != Action::Review.as_str())
        .filter(|(i, _)| !i.claims.iter().any(|c| claim_passes(claims, c)))
        .count();
    if input.verification.is_some() && unproven > 0 {
        pending.push(format!("{unproven} step(s) have no passing live claim"));
    }
    if pending.is_empty() {
        let reason =
            "every step other than review has a passing live claim, and none fails or is pending";
        (OverallStatus::Proven, vec![reason.into()])
    } else {
        (OverallStatus::Pending, pending)
    }
}

/// Whether claim `id` (`c-N`, the N-th claim) passes.
fn claim_passes(claims: &[ClaimRow], id: &str) -> bool {
    id.strip_prefix("c-")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| claims.get(n.wrapping_sub(1)))
        .is_some_and(|c| c.status == ClaimStatus::Pass.as_str())
}

fn summary(
    input: &Input<'_>,
    status: OverallStatus,
    status_reasons: Vec<String>,
    counts: Counts,
) -> Summary {
    let inv = input.inventory;
    let m = input.manifest.map(|(m, _)| m);
    let p = input.plan;
    let day = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d").to_string();
    Summary {
        status,
        status_reasons,
        agency: m
            .map(|m| m.handover.agency.name.clone())
            .or_else(|| p.map(|p| p.handover.agency.clone())),
        customer: m
            .map(|m| m.handover.customer.name.clone())
            .or_else(|| p.map(|p| p.handover.customer.clone())),
        third_parties: m
            .map(|m| {
                m.handover
                    .third_parties
                    .iter()
                    .map(|t| t.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
        scenario: m
            .map(|m| m.handover.scenario.as_str().to_string())
            .or_else(|| p.map(|p| p.handover.scenario.clone())),
        handover_date: m
            .map(|m| day(m.handover.date))
            .or_else(|| p.map(|p| p.handover.date.clone())),
        adoption_period_ends: m
            .and_then(|m| m.handover.agency_access_ends.map(day))
            .or_else(|| p.and_then(|p| p.handover.agency_access_ends.clone())),
        inventory_generated_at: inv.generated_at,
        sources: inv
            .sources
            .iter()
            .map(|s| format!("{} {} ({})", s.provider, s.scope, kebab(&s.mode)))
            .collect(),
        plan_digest: p
            .map(|p| p.digest.clone())
            .or_else(|| m.map(|m| m.plan.digest.clone())),
        policy: p
            .map(|p| p.policy.name.clone())
            .or_else(|| m.map(|m| m.plan.policy.clone())),
        approval: approval(input),
        manifest_created_at: m.map(|m| m.created_at),
        manifest_signature: input.manifest.map(|(_, s)| match s {
            Ok(fp) => format!("good, by the agency's key {fp}"),
            Err(e) => format!("NOT VERIFIED: {e}"),
        }),
        verified_at: input.verification.map(|v| v.checked_at),
        counts,
    }
}

/// Who approved the plan, as far as the inputs record it: apply runs only under
/// `--approve` with the plan's digest, and its journal names that digest in every entry.
fn approval(input: &Input<'_>) -> String {
    let applied = input.outcomes.is_some_and(|o| {
        o.events
            .iter()
            .any(|e| e.op == crate::journal::Op::ApplyStep)
    });
    let sealed = input
        .manifest
        .and_then(|(m, s)| s.as_ref().ok().map(|fp| (m, fp)));
    match (applied, sealed) {
        (true, Some((_, fp))) => format!("approved by its digest (`apply --approve`, recorded in the apply journal); sealed by the agency's key {fp}"),
        (true, None) => "approved by its digest (`apply --approve`, recorded in the apply journal)".into(),
        (false, Some((_, fp))) => format!("sealed by the agency's key {fp}; no apply journal given to show an approval"),
        (false, None) => "no approval recorded in the inputs (no apply journal, no manifest)".into(),
    }
}

/// The journals' entries per day, with the handover date, the verification and the
/// end of the adoption period marked.
fn timeline(input: &Input<'_>) -> Vec<TimelineDay> {
    let mut days: BTreeMap<String, TimelineDay> = BTreeMap::new();
    let mut add = |d: String, f: &dyn Fn(&mut TimelineDay)| {
        let e = days.entry(d.clone()).or_insert_with(|| TimelineDay {
            date: d,
            entries: BTreeMap::new(),
            marks: Vec::new(),
        });
        f(e);
    };
    if let Some(o) = input.outcomes {
        for e in &o.events {
            let what = format!("{} {}", e.op.as_str(), kebab(&e.stage));
            add(e.at.format("%Y-%m-%d").to_string(), &|d| {
                *d.entries.entry(what.clone()).or_default() += 1
            });
        }
    }
    let s = summary_dates(input);
    for (date, mark) in s {
        add(date, &|d| d.marks.push(mark.clone()));
    }
    days.into_values().collect()
}

/// The dates worth marking: the audit, the handover, the manifest, the verification,
/// the end of the adoption period.
fn summary_dates(input: &Input<'_>) -> Vec<(String, String)> {
    let day = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d").to_string();
    let mut out = vec![(day(input.inventory.generated_at), "audit".to_string())];
    if let Some(p) = input.plan {
        out.push((p.handover.date.clone(), "handover date".into()));
        if let Some(e) = &p.handover.agency_access_ends {
            out.push((e.clone(), "adoption period ends".into()));
        }
    }
    if let Some((m, _)) = input.manifest {
        out.push((day(m.created_at), "manifest sealed".into()));
    }
    if let Some(v) = input.verification {
        out.push((day(v.checked_at), "verification".into()));
    }
    out
}

/// Agency items still granting access at the audit, at the handover date and after
/// the adoption period: a revoked or rotated item ends at the handover once its step
/// is done (else it is "not yet carried out"); a retained one ends at its date; one
/// left for review has no end.
fn agency_access(input: &Input<'_>, items: &[Item]) -> Vec<AccessPoint> {
    let Some(p) = input.plan else {
        return Vec::new();
    };
    let agency: Vec<&Item> = items.iter().filter(|i| i.owner == "agency").collect();
    let audit_date = input.inventory.generated_at.format("%Y-%m-%d").to_string();
    let mut at_audit = BTreeMap::new();
    at_audit.insert("held by the agency".to_string(), agency.len());
    let mut points = vec![AccessPoint {
        date: audit_date,
        label: "audit".into(),
        remaining: at_audit,
    }];
    let mut handover = BTreeMap::new();
    let mut after = BTreeMap::new();
    for it in agency {
        let (now, later) = access_left(it);
        if let Some(w) = now {
            *handover.entry(w).or_default() += 1;
        }
        if let Some(w) = later {
            *after.entry(w).or_default() += 1;
        }
    }
    points.push(AccessPoint {
        date: p.handover.date.clone(),
        label: "handover date".into(),
        remaining: handover,
    });
    let end = p
        .handover
        .agency_access_ends
        .clone()
        .unwrap_or_else(|| p.handover.date.clone());
    points.push(AccessPoint {
        date: end,
        label: "adoption period ends".into(),
        remaining: after,
    });
    points
}

/// Why an agency item still grants access at the handover date, and after the
/// adoption period (`None`: it does not).
fn access_left(it: &Item) -> (Option<String>, Option<String>) {
    let Some(s) = &it.step else {
        return (Some("no step".into()), Some("no step".into()));
    };
    let done = it.outcome.as_ref().is_some_and(|o| o.outcome == "done");
    let proven = !it.claims.is_empty();
    match s.action.as_str() {
        a if a == Action::RetainUntil.as_str() => (
            Some(format!(
                "retained until {}",
                s.until.as_deref().unwrap_or("?")
            )),
            (!done && !proven).then(|| "retained, its end not yet in place".into()),
        ),
        a if a == Action::Review.as_str() => (
            Some("left for review".into()),
            Some("left for review".into()),
        ),
        a if a == Action::Transfer.as_str() => (None, None),
        _ if done => (None, None),
        _ => (
            Some("not yet carried out".into()),
            Some("not yet carried out".into()),
        ),
    }
}
