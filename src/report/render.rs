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

/// Items of one account and owner shown in full on the page; the rest of that group is
/// listed in brief (label, id, decision, outcome, claim), so a page of 50,000 items stays
/// one a browser opens. The JSON report always has every field of every item.
pub const DETAIL_ROWS: usize = 200;

const HTML: &str = include_str!("templates/report.html");
const MARKDOWN: &str = include_str!("templates/report.md");

/// The report in `format`, with its own digest written in.
pub fn render(report: &Report, format: Format) -> Result<Vec<u8>, Error> {
    // Rendered with the placeholder where the digest goes (`build` puts it there; a
    // report given with another digest is copied once to put it back).
    let owned;
    let r = if report.digest == PLACEHOLDER {
        report
    } else {
        owned = Report {
            digest: PLACEHOLDER.into(),
            ..report.clone()
        };
        &owned
    };
    let bytes = match format {
        Format::Json => {
            let mut out = serde_json::to_vec_pretty(r).expect("a report serializes");
            out.push(b'\n');
            out
        }
        Format::Markdown => template("report.md", MARKDOWN, r, Escape::Markdown)?,
        Format::Html => template("report.html", HTML, r, Escape::Html)?,
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

/// How a template's output is made safe.
#[derive(Clone, Copy)]
enum Escape {
    /// Terminal escape, then minijinja's HTML autoescape.
    Html,
    /// Terminal escape, then `md_escape`.
    Markdown,
}

/// The page's view of the report: every part but the items, which go to the template
/// once, grouped by account and owner. Borrowed: nothing of the report is copied.
#[derive(serde::Serialize)]
struct Page<'a> {
    schema: &'a str,
    version: u32,
    generator: &'a str,
    digest: &'a str,
    inputs: &'a [super::InputFile],
    missing: &'a [String],
    summary: &'a super::Summary,
    findings: &'a [super::FindingRow],
    claims: &'a [super::ClaimRow],
    migrated_secrets: &'a [super::MigratedRow],
    new_credentials: &'a [String],
    documentation: &'a [crate::docs::DocItem],
    coverage_gaps: &'a [super::Gap],
    review_items: &'a [super::ReviewItem],
    timeline: &'a [super::TimelineDay],
    agency_access: &'a [super::AccessPoint],
    sign_off: &'a super::SignOff,
}

impl<'a> Page<'a> {
    fn of(r: &'a Report) -> Page<'a> {
        Page {
            schema: &r.schema,
            version: r.version,
            generator: &r.generator,
            digest: &r.digest,
            inputs: &r.inputs,
            missing: &r.missing,
            summary: &r.summary,
            findings: &r.findings,
            claims: &r.claims,
            migrated_secrets: &r.migrated_secrets,
            new_credentials: &r.new_credentials,
            documentation: &r.documentation,
            coverage_gaps: &r.coverage_gaps,
            review_items: &r.review_items,
            timeline: &r.timeline,
            agency_access: &r.agency_access,
            sign_off: &r.sign_off,
        }
    }
}

/// Renders one template over the report. Every value the template prints goes through
/// the environment's formatter, which makes strings safe there (terminal escape, then
/// HTML or Markdown escape): one place, whatever the template prints, and the values the
/// template compares and looks up (ids, statuses) stay as the report has them.
fn template(name: &str, source: &str, r: &Report, escape: Escape) -> Result<Vec<u8>, Error> {
    let claim_status: BTreeMap<&str, &str> = r
        .claims
        .iter()
        .map(|c| (c.id.as_str(), c.status.as_str()))
        .collect();
    let ctx = minijinja::context! {
        groups => groups(&r.items),
        r => Page::of(r),
        charts => charts(r),
        claim_status => claim_status,
        mark => marks(),
        detail_rows => DETAIL_ROWS,
        has_plan => r.summary.plan_digest.is_some(),
        has_verification => r.summary.verified_at.is_some(),
        has_journal => !r.migrated_secrets.is_empty() || r.inputs.iter().any(|i| i.role == "journal" || i.role == "manifest"),
    };
    let mut env = minijinja::Environment::new();
    env.set_formatter(move |out, state, value| match value.as_str() {
        Some(s) if !value.is_safe() => {
            let safe = crate::output::terminal::escape(s);
            match escape {
                Escape::Html => out.write_str(&html_escape(&safe)).map_err(|_| {
                    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write")
                }),
                Escape::Markdown => out.write_str(&md_escape(safe.into_owned())).map_err(|_| {
                    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write")
                }),
            }
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
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

/// Text made safe in HTML text and in a double- or single-quoted attribute: the five
/// characters that can end either, as entities. (minijinja's own escaper also writes
/// `/` as `&#x2f;`, which no context here needs: ids and ARNs are full of slashes, and
/// that was a tenth of a large report.)
fn html_escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
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
#[derive(serde::Serialize)]
struct OwnerGroup<'a> {
    owner: &'a str,
    items: Vec<&'a super::Item>,
}

/// One account's items, by owner.
#[derive(serde::Serialize)]
struct AccountGroup<'a> {
    provider: &'a str,
    scope: &'a str,
    total: usize,
    owners: Vec<OwnerGroup<'a>>,
}

/// The items, by account then owner (they are sorted so), for the collapsed tables.
fn groups(items: &[super::Item]) -> Vec<AccountGroup<'_>> {
    let mut accounts: Vec<AccountGroup> = Vec::new();
    for it in items {
        let same_account = accounts
            .last()
            .is_some_and(|a| a.provider == it.provider && a.scope == it.scope);
        if !same_account {
            accounts.push(AccountGroup {
                provider: &it.provider,
                scope: &it.scope,
                total: 0,
                owners: Vec::new(),
            });
        }
        let account = accounts.last_mut().expect("pushed");
        account.total += 1;
        if account.owners.last().is_none_or(|o| o.owner != it.owner) {
            account.owners.push(OwnerGroup {
                owner: &it.owner,
                items: Vec::new(),
            });
        }
        account.owners.last_mut().expect("pushed").items.push(it);
    }
    accounts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character that can end HTML text or a quoted attribute is an entity; the
    /// rest, slashes included, is left as it is.
    #[test]
    fn html_escape_covers_text_and_quoted_attributes() {
        assert_eq!(
            html_escape(r#"<a href="x" onclick='y'>&</a> arn:aws:iam::1:role/r"#),
            "&lt;a href=&quot;x&quot; onclick=&#x27;y&#x27;&gt;&amp;&lt;/a&gt; arn:aws:iam::1:role/r"
        );
        assert!(matches!(
            html_escape("plain/text"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
