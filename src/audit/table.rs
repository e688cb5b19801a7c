//! The terminal summary of an inventory: counts, the riskiest findings first, then the
//! principals, outside trusts, secrets and coverage gaps. Deterministic for a given
//! inventory; no secret value can appear because the inventory holds none.
//!
//! Every name, id and message comes from a cloud API or a snapshot anyone could have
//! written: each passes through `output::terminal::escape` (table cells in
//! `output::table`, the rest where it is written), so no control or bidi character
//! reaches the terminal.
//!
//! Laid out for a `Term`: tables wrap their free text (messages, names, conditions) to
//! its width and keep codes, ids, dates and counts whole (`output::table`); a severity is
//! coloured when the terminal colours, and always written as a word.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::*;
use crate::output::table::{wrap, Fit, Table};
use crate::output::terminal::{escape, escape_block_keeping_paint, severity_tone, Term};

fn date(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "-".into())
}

fn last_used(l: &LastUsed) -> String {
    match l {
        LastUsed::Used { at, .. } => at.format("%Y-%m-%d").to_string(),
        LastUsed::Never => "never".into(),
        LastUsed::Unknown { .. } => "unknown".into(),
    }
}

fn rows(out: &mut String, term: &Term, columns: &[(&'static str, Fit)], rows: Vec<Vec<String>>) {
    let mut t = Table::new(columns);
    for r in rows {
        t.row(r);
    }
    out.push_str(&t.render(term));
}

/// Renders the summary with no width and no colour (a library caller, a test).
pub fn render(inv: &Inventory) -> String {
    render_for(inv, &Term::PLAIN)
}

/// Renders the summary for `term`, one section after the other.
pub fn render_for(inv: &Inventory, term: &Term) -> String {
    let mut out = String::new();
    sources(&mut out, inv, term);
    principal_counts(&mut out, inv, term);
    credential_counts(&mut out, inv, term);
    secret_counts(&mut out, inv, term);
    findings(&mut out, inv, term);
    users(&mut out, inv, term);
    gcp_members(&mut out, inv, term);
    trusts(&mut out, inv, term);
    secrets(&mut out, inv, term);
    gaps(&mut out, inv, term);
    // Belt and braces: whatever a future line forgets, no control reaches the terminal
    // (but the colour codes of `Term::paint`).
    escape_block_keeping_paint(&out)
}

/// Each source: provider, scope, mode, regions, the credential report's date and who audited.
fn sources(out: &mut String, inv: &Inventory, term: &Term) {
    for s in &inv.sources {
        let mode = match s.mode {
            SourceMode::Live => "live",
            SourceMode::Snapshot => "snapshot",
        };
        let mut line = format!("{} {} ({mode}", s.provider, escape(&s.scope));
        if !s.regions.is_empty() {
            let _ = write!(line, "; regions {}", escape(&s.regions.join(", ")));
        }
        if let Some(t) = s.credential_report_generated_at {
            let _ = write!(
                line,
                "; credential report of {}",
                t.format("%Y-%m-%d %H:%M UTC")
            );
        }
        line.push(')');
        out.push_str(&wrap(&line, 2, term));
        if let Some(id) = &s.identity {
            out.push_str(&wrap(&format!("  audited as {}", escape(id)), 4, term));
        }
    }
}

/// How many principals of each kind, per cloud audited.
fn principal_counts(out: &mut String, inv: &Inventory, term: &Term) {
    let count = |k: PrincipalKind| inv.principals.iter().filter(|p| p.kind == k).count();
    let admins = inv
        .principals
        .iter()
        .filter(|p| p.kind == PrincipalKind::IamUser && p.admin.equivalent == Some(true))
        .count();
    let gcp_members = inv
        .principals
        .iter()
        .filter(|p| p.provider == Provider::Gcp && p.kind != PrincipalKind::GcpServiceAccount)
        .count();
    let gcp_owners = inv
        .principals
        .iter()
        .filter(|p| p.provider == Provider::Gcp && p.admin.equivalent == Some(true))
        .count();
    let mut parts = Vec::new();
    if inv.sources.iter().any(|s| s.provider == Provider::Aws) {
        parts.push(format!(
            "{} AWS users ({admins} admin-equivalent), {} roles, {} root",
            count(PrincipalKind::IamUser),
            count(PrincipalKind::IamRole),
            count(PrincipalKind::Root)
        ));
    }
    if inv.sources.iter().any(|s| s.provider == Provider::Gcp) {
        parts.push(format!(
            "{gcp_members} GCP members ({gcp_owners} owner or IAM admin), {} service accounts",
            count(PrincipalKind::GcpServiceAccount)
        ));
    }
    out.push('\n');
    out.push_str(&wrap(&format!("Principals: {}", parts.join("; ")), 2, term));
}

/// How many credentials of each kind, and how many of them are active.
fn credential_counts(out: &mut String, inv: &Inventory, term: &Term) {
    let mut by_kind: BTreeMap<CredentialKind, (usize, usize)> = BTreeMap::new();
    for c in &inv.credentials {
        let e = by_kind.entry(c.kind).or_default();
        e.0 += 1;
        if c.status == Status::Active {
            e.1 += 1;
        }
    }
    let parts: Vec<String> = by_kind
        .iter()
        .map(|(k, (n, active))| {
            format!(
                "{n} {} ({active} active)",
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )
        })
        .collect();
    let line = format!(
        "Credentials: {}",
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    );
    out.push_str(&wrap(&line, 2, term));
}

/// How many secrets, and how many are shared, under an outside key or not rotated.
fn secret_counts(out: &mut String, inv: &Inventory, term: &Term) {
    let shared = inv
        .secrets
        .iter()
        .filter(
            |s| matches!(&s.access_policy, AccessPolicy::Known { outside } if !outside.is_empty()),
        )
        .count();
    let external = inv.secrets.iter().filter(|s| s.encryption.external).count();
    let unrotated = inv.secrets.iter().filter(|s| !s.rotation.enabled).count();
    let line = format!(
        "Secrets: {} ({shared} shared outside the account, {external} under an outside KMS key, {unrotated} without rotation)",
        inv.secrets.len()
    );
    out.push_str(&wrap(&line, 2, term));
}

/// Every finding, riskiest first (the inventory's order).
fn findings(out: &mut String, inv: &Inventory, term: &Term) {
    let _ = writeln!(out, "\nFindings, riskiest first ({}):", inv.findings.len());
    if inv.findings.is_empty() {
        let _ = writeln!(out, "  none");
    } else {
        let mut t = Table::new(&[
            ("SEVERITY", Fit::Keep),
            ("CODE", Fit::Keep),
            ("WHAT", Fit::Wrap),
        ])
        .tone_column(0);
        for f in &inv.findings {
            t.toned_row(
                vec![
                    f.severity.to_string().to_uppercase(),
                    f.code.as_str().to_string(),
                    f.message.clone(),
                ],
                severity_tone(f.severity),
            );
        }
        out.push_str(&t.render(term));
    }
}

/// AWS users and root users: admin, password, MFA, keys, last use.
fn users(out: &mut String, inv: &Inventory, term: &Term) {
    let users: Vec<&Principal> = inv
        .principals
        .iter()
        .filter(|p| matches!(p.kind, PrincipalKind::IamUser | PrincipalKind::Root))
        .collect();
    if !users.is_empty() {
        let _ = writeln!(out, "\nUsers:");
        let r: Vec<Vec<String>> = users
            .iter()
            .map(|p| {
                let creds: Vec<&Credential> = inv
                    .credentials
                    .iter()
                    .filter(|c| c.principal == p.id)
                    .collect();
                let keys = creds
                    .iter()
                    .filter(|c| c.kind == CredentialKind::AccessKey)
                    .count();
                let active = creds
                    .iter()
                    .filter(|c| c.kind == CredentialKind::AccessKey && c.status == Status::Active)
                    .count();
                let password = creds
                    .iter()
                    .any(|c| c.kind == CredentialKind::ConsolePassword);
                let mfa = creds
                    .iter()
                    .filter(|c| c.kind == CredentialKind::MfaDevice)
                    .count();
                let admin = match p.admin.equivalent {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "unknown",
                };
                vec![
                    format!("{} {}", p.provider, p.name),
                    p.scope.clone(),
                    admin.into(),
                    if password { "yes".into() } else { "no".into() },
                    mfa.to_string(),
                    format!("{active}/{keys}"),
                    p.last_used
                        .as_ref()
                        .map(last_used)
                        .unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        rows(
            out,
            term,
            &[
                ("USER", Fit::Wrap),
                ("ACCOUNT", Fit::Keep),
                ("ADMIN", Fit::Keep),
                ("PASSWORD", Fit::Keep),
                ("MFA", Fit::Keep),
                ("KEYS ACTIVE/ALL", Fit::Keep),
                ("LAST USED", Fit::Keep),
            ],
            r,
        );
    }
}

/// GCP members and service accounts: kind, roles (with where and until when), user-managed keys.
fn gcp_members(out: &mut String, inv: &Inventory, term: &Term) {
    let gcp: Vec<&Principal> = inv
        .principals
        .iter()
        .filter(|p| p.provider == Provider::Gcp)
        .collect();
    if !gcp.is_empty() {
        let _ = writeln!(out, "\nGCP members and service accounts:");
        let r: Vec<Vec<String>> = gcp
            .iter()
            .map(|p| {
                let creds: Vec<&Credential> = inv.credentials.iter().filter(|c| c.principal == p.id).collect();
                let roles: Vec<String> = creds
                    .iter()
                    .filter_map(|c| match &c.detail {
                        CredentialDetail::Binding(b) => {
                            let on = if b.resource == format!("projects/{}", p.scope) { String::new() } else { format!(" on {}", b.resource.rsplit('/').next().unwrap_or("")) };
                            let until = b.condition.as_ref().and_then(|c| c.expires()).map(|t| format!(" until {}", t.format("%Y-%m-%d"))).unwrap_or_default();
                            Some(format!("{}{on}{until}", b.role.trim_start_matches("roles/")))
                        }
                        _ => None,
                    })
                    .collect();
                let keys = creds
                    .iter()
                    .filter(|c| matches!(&c.detail, CredentialDetail::ServiceAccountKey { key_type, .. } if key_type == "USER_MANAGED") && c.status == Status::Active)
                    .count();
                let kind = serde_json::to_value(p.kind).ok().and_then(|v| v.as_str().map(|s| s.trim_start_matches("gcp-").to_string())).unwrap_or_default();
                vec![
                    p.name.clone(),
                    kind + if p.disabled == Some(true) { " (disabled)" } else { "" },
                    p.scope.clone(),
                    if roles.is_empty() { "-".into() } else { roles.join(", ") },
                    if p.kind == PrincipalKind::GcpServiceAccount { keys.to_string() } else { "-".into() },
                ]
            })
            .collect();
        rows(
            out,
            term,
            &[
                ("MEMBER", Fit::Wrap),
                ("KIND", Fit::Keep),
                ("PROJECT", Fit::Keep),
                ("ROLES", Fit::Wrap),
                ("USER KEYS", Fit::Keep),
            ],
            r,
        );
    }
}

/// Roles trusting principals outside the account, with the statement's conditions.
fn trusts(out: &mut String, inv: &Inventory, term: &Term) {
    let trusts: Vec<&Credential> = inv
        .credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::RoleTrust)
        .collect();
    if !trusts.is_empty() {
        let _ = writeln!(out, "\nRoles trusting outside the account:");
        let names: BTreeMap<&str, &str> = inv
            .principals
            .iter()
            .map(|p| (p.id.as_str(), p.name.as_str()))
            .collect();
        let r: Vec<Vec<String>> = trusts
            .iter()
            .map(|c| {
                // The role's name as the inventory holds it, not cut from its ARN.
                let role = names
                    .get(c.principal.as_str())
                    .copied()
                    .unwrap_or(&c.principal)
                    .to_string();
                let (who, conds) = match &c.detail {
                    CredentialDetail::Trust(t) => (
                        t.trusted.value.clone(),
                        if t.conditions.is_empty() {
                            "none".into()
                        } else {
                            condition_lines(&t.conditions, "; ")
                        },
                    ),
                    _ => (String::new(), String::new()),
                };
                vec![role, who, conds]
            })
            .collect();
        rows(
            out,
            term,
            &[
                ("ROLE", Fit::Wrap),
                ("TRUSTS", Fit::Wrap),
                ("CONDITIONS", Fit::Wrap),
            ],
            r,
        );
    }
}

/// Secrets: where, rotation, key, last change, who outside may read them.
fn secrets(out: &mut String, inv: &Inventory, term: &Term) {
    if !inv.secrets.is_empty() {
        let _ = writeln!(out, "\nSecrets:");
        let r: Vec<Vec<String>> = inv
            .secrets
            .iter()
            .map(|s| {
                let outside = match &s.access_policy {
                    _ if !s.iam_members.is_empty() => s
                        .iam_members
                        .iter()
                        .map(|g| g.member.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    AccessPolicy::None => "no policy".to_string(),
                    AccessPolicy::Known { outside } if outside.is_empty() => "none".into(),
                    AccessPolicy::Known { outside } => outside
                        .iter()
                        .map(|g| {
                            g.principal
                                .account_id
                                .clone()
                                .unwrap_or_else(|| g.principal.value.clone())
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    AccessPolicy::Unknown { .. } => "unknown".into(),
                };
                vec![
                    format!("{} {}", s.provider, s.name),
                    s.region
                        .clone()
                        .or_else(|| s.replication.clone())
                        .unwrap_or_default(),
                    if s.rotation.enabled {
                        "on".into()
                    } else {
                        "off".into()
                    },
                    if s.encryption.external {
                        format!(
                            "outside ({})",
                            s.encryption.key_account.as_deref().unwrap_or("?")
                        )
                    } else {
                        "own".into()
                    },
                    date(s.last_changed),
                    outside,
                ]
            })
            .collect();
        rows(
            out,
            term,
            &[
                ("SECRET", Fit::Wrap),
                ("REGION", Fit::Keep),
                ("ROTATION", Fit::Keep),
                ("KMS KEY", Fit::Wrap),
                ("CHANGED", Fit::Keep),
                ("OUTSIDE ACCESS / MEMBERS", Fit::Wrap),
            ],
            r,
        );
    }
}

/// Coverage gaps, one line per source and reason.
fn gaps(out: &mut String, inv: &Inventory, term: &Term) {
    let _ = writeln!(out, "\nCoverage gaps ({}):", inv.gaps.len());
    if inv.gaps.is_empty() {
        let _ = writeln!(out, "  none: every source was read");
    } else {
        // Group per-principal gaps with the same cause so a thousand users make one line.
        let mut grouped: BTreeMap<(String, String), Vec<&Gap>> = BTreeMap::new();
        for g in &inv.gaps {
            grouped
                .entry((g.source.clone(), g.reason.clone()))
                .or_default()
                .push(g);
        }
        for ((source, reason), gaps) in grouped {
            let subjects: Vec<&str> = gaps.iter().filter_map(|g| g.subject.as_deref()).collect();
            let who = match subjects.len() {
                0 => String::new(),
                1 => format!(" [{}]", subjects[0]),
                n => format!(" [{} and {} more]", subjects[0], n - 1),
            };
            let line = format!("  {}: {}{}", escape(&source), escape(&reason), escape(&who));
            out.push_str(&wrap(&line, 4, term));
        }
    }
}
