//! Rendering a `Report` as JSON, Markdown or one self-contained HTML page, and the
//! report's own digest.
//!
//! Invariants:
//! - Every string that came from an input is made safe once, before any template sees
//!   it: controls and bidi overrides shown visibly (`output::terminal`), then, for
//!   Markdown, its markup characters escaped (`md_escape`); HTML goes through minijinja
//!   with autoescape on (the template's name ends in `.html`). JSON is serde_json's.
//! - The templates are compiled into the binary (`include_str!`); the page loads
//!   nothing: inline CSS and SVG, no script, and a Content-Security-Policy that forbids
//!   any request.
//! - The digest: each format is rendered with `digest` set to `PLACEHOLDER` (`sha256:`
//!   and 64 zeros); the sha256 of those bytes is the digest, written in place of every
//!   occurrence of the placeholder. `check` undoes that: every occurrence of the claimed
//!   digest back to the placeholder, then hashes.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::build::PLACEHOLDER;
use super::charts::charts;
use super::Report;
use crate::error::Error;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Markdown,
    Html,
}

impl Format {
    /// The format a file name asks for, by its extension.
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::Json),
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }
}

const HTML: &str = include_str!("templates/report.html");
const MARKDOWN: &str = include_str!("templates/report.md");

/// The report in `format`, with its own digest written in.
pub fn render(report: &Report, format: Format) -> Result<Vec<u8>, Error> {
    let mut r = report.clone();
    r.digest = PLACEHOLDER.into();
    let bytes = match format {
        Format::Json => {
            (serde_json::to_string_pretty(&r).expect("a report serializes") + "\n").into_bytes()
        }
        Format::Markdown => template("report.md", MARKDOWN, &r, md_escape)?,
        Format::Html => template("report.html", HTML, &r, |s| s)?,
    };
    Ok(seal(bytes))
}

/// Writes the digest of `bytes` (rendered with the placeholder) in its place.
fn seal(bytes: Vec<u8>) -> Vec<u8> {
    let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
    replace_all(&bytes, PLACEHOLDER.as_bytes(), digest.as_bytes())
}

/// Every occurrence of `from` replaced by `to` (std's substring search: linear, and
/// fast on a report of tens of megabytes). Bytes that are not UTF-8 are not a report:
/// they are returned as they are, so a check of them fails.
fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    match (
        std::str::from_utf8(hay),
        std::str::from_utf8(from),
        std::str::from_utf8(to),
    ) {
        (Ok(h), Ok(f), Ok(t)) => h.replace(f, t).into_bytes(),
        _ => hay.to_vec(),
    }
}

/// Where each format writes its digest first, before any input text.
const MARKERS: &[&str] = &[
    "\"digest\": \"",
    "name=\"handover-report-digest\" content=\"",
    "Report digest: `",
];

/// The digest a rendered report claims (the first after its format's marker).
pub fn claimed_digest(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let at = MARKERS
        .iter()
        .filter_map(|m| text.find(m).map(|i| i + m.len()))
        .min()?;
    let d = text.get(at..at + PLACEHOLDER.len())?;
    (d.starts_with("sha256:") && d[7..].bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| d.to_string())
}

/// Checks a rendered report's own digest: `Ok(digest)` when it holds.
pub fn check(bytes: &[u8]) -> Result<String, String> {
    let claimed = claimed_digest(bytes).ok_or("no report digest found")?;
    let original = replace_all(bytes, claimed.as_bytes(), PLACEHOLDER.as_bytes());
    let actual = format!("sha256:{:x}", Sha256::digest(&original));
    if actual == claimed {
        Ok(claimed)
    } else {
        Err(format!(
            "the report claims {claimed} but its content hashes to {actual}: it was changed"
        ))
    }
}

/// Markdown's markup characters escaped, and `<`, `>`, `&` as entities (a ticket
/// system may render HTML in Markdown).
fn md_escape(s: String) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Every string in `v` through `f`, after the terminal escape.
fn escape_strings(v: &mut Value, f: &dyn Fn(String) -> String) {
    match v {
        Value::String(s) => {
            let safe = crate::output::terminal::escape(s).into_owned();
            *s = f(safe);
        }
        Value::Array(a) => a.iter_mut().for_each(|x| escape_strings(x, f)),
        Value::Object(m) => m.values_mut().for_each(|x| escape_strings(x, f)),
        _ => {}
    }
}

/// Renders one template over the report made safe.
fn template(
    name: &str,
    source: &str,
    r: &Report,
    escape: fn(String) -> String,
) -> Result<Vec<u8>, Error> {
    let mut value = serde_json::to_value(r).expect("a report serializes");
    escape_strings(&mut value, &escape);
    let mut chart_values = serde_json::to_value(charts(r)).expect("charts serialize");
    escape_strings(&mut chart_values, &escape);
    let claim_status: BTreeMap<String, String> = r
        .claims
        .iter()
        .map(|c| (c.id.clone(), c.status.clone()))
        .collect();
    // The items go to the template once, grouped (not also as `r.items`).
    let items = value["items"].take();
    let ctx = minijinja::context! {
        groups => groups(items),
        r => value,
        charts => chart_values,
        claim_status => claim_status,
        mark => marks(),
        has_plan => r.summary.plan_digest.is_some(),
        has_verification => r.summary.verified_at.is_some(),
        has_journal => !r.migrated_secrets.is_empty() || r.inputs.iter().any(|i| i.role == "journal" || i.role == "manifest"),
    };
    let mut env = minijinja::Environment::new();
    env.add_template(name, source).map_err(template_error)?;
    let out = env
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(template_error)?;
    Ok(out.into_bytes())
}

fn template_error(e: minijinja::Error) -> Error {
    Error::output(
        "<report>",
        format!("the report template failed: {e}"),
        "this is a bug in handover; please report it",
    )
}

/// A word's symbol, so no status is told by colour alone.
fn marks() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("proven", "✔"),
        ("pass", "✔"),
        ("done", "✔"),
        ("pending", "…"),
        ("not-journaled", "…"),
        ("skipped", "↷"),
        ("failed", "✘"),
        ("fail", "✘"),
    ])
}

/// One owner's items in one account.
type OwnerItems = (String, Vec<Value>);

/// The items, by account then owner (they are sorted so), for the collapsed tables.
fn groups(items: Value) -> Vec<Value> {
    let Value::Array(items) = items else {
        return Vec::new();
    };
    let mut accounts: Vec<(String, String, Vec<OwnerItems>)> = Vec::new();
    for it in items {
        let (p, s, o) = (
            it["provider"].as_str().unwrap_or_default().to_string(),
            it["scope"].as_str().unwrap_or_default().to_string(),
            it["owner"].as_str().unwrap_or_default().to_string(),
        );
        if accounts.last().is_none_or(|a| a.0 != p || a.1 != s) {
            accounts.push((p, s, Vec::new()));
        }
        let owners = &mut accounts.last_mut().expect("pushed").2;
        if owners.last().is_none_or(|(last, _)| *last != o) {
            owners.push((o, Vec::new()));
        }
        owners.last_mut().expect("pushed").1.push(it);
    }
    accounts
        .into_iter()
        .map(|(provider, scope, owners)| {
            let total: usize = owners.iter().map(|(_, i)| i.len()).sum();
            serde_json::json!({
                "provider": provider,
                "scope": scope,
                "total": total,
                "owners": owners.into_iter().map(|(owner, items)| serde_json::json!({"owner": owner, "items": items})).collect::<Vec<_>>(),
            })
        })
        .collect()
}
