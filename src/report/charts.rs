//! The HTML report's charts, as geometry the template draws as inline SVG: one
//! horizontal stacked bar per row. Every bar is also written out in words beside it
//! ("12: done 8, pending 4") and its segments carry a `<title>`, so no value is shown
//! by colour alone; the numbers come from the `Report` only.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Report;

/// Where the bars start and how wide they may grow, in SVG units.
const LABEL_W: f64 = 250.0;
const BAR_W: f64 = 280.0;
const ROW_H: u32 = 24;

#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub id: String,
    pub title: String,
    /// What the chart shows, for the figure's caption and the SVG's `<desc>`.
    pub desc: String,
    pub height: u32,
    pub rows: Vec<Row>,
    /// Segment names with their style class, in drawing order.
    pub legend: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub label: String,
    pub y: u32,
    pub total: usize,
    /// The row in words: "12: done 8, pending 4".
    pub words: String,
    pub text_x: f64,
    pub segs: Vec<Seg>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Seg {
    pub name: String,
    pub value: usize,
    pub x: f64,
    pub w: f64,
    /// `k0`..`k5`: a fill and a hatch pattern each (the legend shows both).
    pub class: String,
}

/// The five charts of the issue, from the report's counts.
pub fn charts(r: &Report) -> Vec<Chart> {
    let c = &r.summary.counts;
    let mut owners: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (o, n) in &c.owners_before {
        owners
            .entry(o.clone())
            .or_default()
            .insert("before".into(), *n);
    }
    for (o, n) in &c.owners_after {
        owners
            .entry(o.clone())
            .or_default()
            .insert("after the plan".into(), *n);
    }
    let by_owner: Vec<(String, BTreeMap<String, usize>)> = owners
        .into_iter()
        .flat_map(|(o, m)| {
            ["before", "after the plan"].into_iter().map(move |k| {
                let mut one = BTreeMap::new();
                one.insert(k.to_string(), m.get(k).copied().unwrap_or(0));
                (format!("{o}, {k}"), one)
            })
        })
        .collect();
    let severity: Vec<(String, BTreeMap<String, usize>)> =
        ["critical", "high", "medium", "low", "info"]
            .iter()
            .filter_map(|s| {
                let n = *c.findings_by_severity.get(*s)?;
                Some((s.to_string(), BTreeMap::from([(s.to_string(), n)])))
            })
            .collect();
    vec![
        chart("owners", "Credentials by owner, before and after", "Items per owner before the handover and once the plan is carried out (revoked items are gone; rotated and transferred ones are the customer's).", by_owner),
        chart("steps", "Steps by action and outcome", "Plan steps per action, split by what the journals record.", c.steps_by_action_and_outcome.clone().into_iter().collect()),
        chart("findings", "Findings by severity", "Audit and plan findings per severity.", severity),
        chart("timeline", "Timeline of changes", "Journal entries per day, up to the verification (marked days in brackets).", r.timeline.iter().map(|d| {
            let label = if d.marks.is_empty() { d.date.clone() } else { format!("{} [{}]", d.date, d.marks.join(", ")) };
            (label, d.entries.clone())
        }).collect()),
        chart("access", "Agency access remaining", "Agency items still granting access at each date, until the adoption period ends.", r.agency_access.iter().map(|p| (format!("{} {}", p.date, p.label), p.remaining.clone())).collect()),
    ]
}

/// One chart: rows of named values, scaled to the largest row.
fn chart(id: &str, title: &str, desc: &str, rows: Vec<(String, BTreeMap<String, usize>)>) -> Chart {
    let mut names: Vec<String> = Vec::new();
    for (_, m) in &rows {
        for k in m.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    names.sort();
    let class = |n: &str| {
        let i =
            fixed_class(n).unwrap_or_else(|| names.iter().position(|x| x == n).unwrap_or(0) % 6);
        format!("k{i}")
    };
    let max = rows
        .iter()
        .map(|(_, m)| m.values().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let rows: Vec<Row> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (label, m))| {
            let total: usize = m.values().sum();
            let mut x = LABEL_W;
            let segs: Vec<Seg> = m
                .iter()
                .filter(|(_, v)| **v > 0)
                .map(|(name, v)| {
                    let w = BAR_W * (*v as f64) / (max as f64);
                    let s = Seg {
                        name: name.clone(),
                        value: *v,
                        x: round(x),
                        w: round(w),
                        class: class(name),
                    };
                    x += w;
                    s
                })
                .collect();
            let parts: Vec<String> = segs
                .iter()
                .map(|s| format!("{} {}", s.name, s.value))
                .collect();
            Row {
                label,
                y: (i as u32) * ROW_H,
                total,
                words: if parts.is_empty() {
                    format!("{total}")
                } else {
                    format!("{total}: {}", parts.join(", "))
                },
                text_x: round(x + 6.0),
                segs,
            }
        })
        .collect();
    Chart {
        id: id.into(),
        title: title.into(),
        desc: desc.into(),
        height: (rows.len() as u32).max(1) * ROW_H + 4,
        legend: names.iter().map(|n| (n.clone(), class(n))).collect(),
        rows,
    }
}

/// The style of the names that mean the same in every chart: green hatch for done,
/// red dots for failed and critical, amber for pending and high, grey for what is not
/// yet known. (The words beside each bar say the same without colour.)
fn fixed_class(name: &str) -> Option<usize> {
    Some(match name {
        "done" | "pass" | "after the plan" => 1,
        "failed" | "fail" | "critical" => 3,
        "pending" | "high" | "not yet carried out" => 4,
        "medium" => 5,
        "low" | "held by the agency" => 0,
        "info" | "skipped" | "not-journaled" | "before" | "left for review" => 2,
        _ => return None,
    })
}

/// Two decimals: enough for a drawing, and the same text on every platform.
fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
