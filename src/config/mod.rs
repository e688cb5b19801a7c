//! The handover config file (TOML): who the agency and the customer are, the scenario,
//! the dates, the customer's recipients and the documentation handed over.
//!
//! Raw, then validated: `RawConfig` is plain serde data; `RawConfig::validate` turns it
//! into a `HandoverConfig` that cannot be invalid, collecting every problem at once.
//! Classification of principals (`parties`) uses the config alone: a principal the
//! config does not place is `unknown`, never guessed.

pub mod kms;
pub mod parties;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::secret::quote_input;

/// The longest grace period `grace_days` may set: a deactivated key left a year is no
/// longer a grace period but a forgotten credential.
pub const MAX_GRACE_DAYS: u32 = 365;

/// The two handover scenarios.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// The customer's team takes over operations; all agency access ends.
    FullTransfer,
    /// The agency stays responsible for reliability with narrow, named, time-bound access.
    AgencyOperated,
}

impl Scenario {
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::FullTransfer => "full-transfer",
            Scenario::AgencyOperated => "agency-operated",
        }
    }
}

/// How a party is recognised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartySpec {
    pub name: String,
    /// Email domains of its people (`user:`/`group:` members, IAM user `email` tags).
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// Google groups (full addresses) it controls.
    #[serde(default)]
    pub google_groups: Vec<String>,
    /// Google Workspace / Cloud Identity domains (`domain:` members).
    #[serde(default)]
    pub google_domains: Vec<String>,
    /// AWS account ids it owns.
    #[serde(default)]
    pub aws_accounts: Vec<String>,
    /// Its GCP organization (`organizations/123`), if any.
    #[serde(default)]
    pub gcp_organization: Option<String>,
    /// GCP projects it owns (service accounts of these projects are its own), by id; a
    /// project NUMBER listed here places the identities of a workload identity pool of
    /// that project the audit did not read (members name a pool's project by number).
    #[serde(default)]
    pub gcp_projects: Vec<String>,
    /// GCP folders it owns, by numeric id as `--gcp-folder` takes them: a binding set
    /// on one (scope `folders/F`) has this party as its scope's owner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gcp_folders: Vec<String>,
    /// GCP organizations it owns, by numeric id as `--gcp-organization` takes them
    /// (`gcp_organization`, `organizations/O`, names one too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gcp_organizations: Vec<String>,
    /// GitHub organizations (or users) whose Actions workflows it controls: a role
    /// trusting GitHub's OIDC provider for `repo:ORG/...` belongs to the party with ORG.
    #[serde(default)]
    pub github_orgs: Vec<String>,
    /// Glob patterns (`*`, `?`) on IAM user, role and service-account names.
    #[serde(default)]
    pub name_patterns: Vec<String>,
    /// Tags (`key = "value"`, or `key = "*"` for any value) that mark its principals.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The agency's SSH public key (`ssh-ed25519 ...` or `ssh-rsa ...`): it signs the
    /// manifest, and `verify` checks the signature against it. It also opens the
    /// migration's digest key. Meaningful for the agency only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// The customer's KMS key, per `ACCOUNT/REGION` where its secrets live, that a
    /// person approved for re-encrypting the secrets there that are under a key of the
    /// agency's (`apply` re-encrypts them before any agency access ends). Meaningful for
    /// the customer only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kms_keys: BTreeMap<kms::AccountRegion, kms::KmsKeyArn>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub scenario: Option<String>,
    pub handover_date: Option<String>,
    /// The end of the adoption period: agency access continues until then, as access
    /// that expires by itself.
    pub agency_access_ends: Option<String>,
    /// Days a credential `apply` deactivated waits before `apply --finish` deletes it
    /// (whole days, 0 to [`MAX_GRACE_DAYS`]). Read as a signed integer so that a
    /// negative value gets this file's own message, not the parser's.
    pub grace_days: Option<i64>,
    pub agency: Option<PartySpec>,
    pub customer: Option<PartySpec>,
    #[serde(default)]
    pub third_party: Vec<PartySpec>,
    #[serde(default)]
    pub operations: Operations,
    #[serde(default)]
    pub recipients: Recipients,
    #[serde(default)]
    pub documentation: Documentation,
}

/// What the agency keeps in the agency-operated scenario: named principals (ARNs, GCP
/// members) retained until `agency_access_ends`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operations {
    #[serde(default)]
    pub retained: Vec<String>,
    /// The agency's named operations contacts (names or addresses) that its playbooks
    /// may keep naming in the agency-operated scenario until `agency_access_ends`
    /// (`handover docs check`); any other mention of the agency in a playbook is a
    /// finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
}

/// The customer's recipients for the encrypted manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipients {
    /// age X25519 (`age1...`) or SSH (`ssh-ed25519 ...`, `ssh-rsa ...`) public keys.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Files in the age recipients-file format.
    #[serde(default)]
    pub files: Vec<PathBuf>,
}

/// The documentation handed over, as paths relative to the config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Documentation {
    pub slo: Option<PathBuf>,
    #[serde(default)]
    pub playbooks: Vec<PathBuf>,
    #[serde(default)]
    pub postmortems: Vec<PathBuf>,
    /// The heading names `handover docs check` looks for, per check; each list replaces
    /// its default (docs/documentation.md lists them).
    #[serde(default)]
    pub sections: crate::docs::check::Sections,
}

/// A validated handover config.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoverConfig {
    pub scenario: Scenario,
    pub handover_date: DateTime<Utc>,
    pub agency_access_ends: Option<DateTime<Utc>>,
    /// Days between `apply` deactivating a credential and `apply --finish` deleting it;
    /// `None`: not set, so `--finish` is refused.
    pub grace_days: Option<u32>,
    pub agency: PartySpec,
    pub customer: PartySpec,
    pub third_parties: Vec<PartySpec>,
    pub operations: Operations,
    pub recipients: Recipients,
    pub documentation: Documentation,
    /// The folder the config is in; documentation paths are relative to it.
    pub base_dir: PathBuf,
}

impl HandoverConfig {
    /// What `docs check` needs from the config at time `at`: the section names, the
    /// agency's name, `@domain`s and groups, and (agency-operated, before
    /// `agency_access_ends`) the operations contacts its playbooks may still name.
    pub fn doc_settings(&self, at: DateTime<Utc>) -> crate::docs::check::Settings {
        let a = &self.agency;
        let agency_terms = std::iter::once(a.name.clone())
            .chain(a.email_domains.iter().map(|d| format!("@{d}")))
            .chain(a.google_domains.iter().map(|d| format!("@{d}")))
            .chain(a.google_groups.iter().cloned())
            .collect();
        let retained = self.scenario == Scenario::AgencyOperated
            && self.agency_access_ends.is_some_and(|end| at < end);
        crate::docs::check::Settings {
            sections: self.documentation.sections.clone(),
            agency_terms,
            allowed_contacts: if retained {
                self.operations.contacts.clone()
            } else {
                Vec::new()
            },
        }
    }
}

fn parse_date(field: &str, s: &str, problems: &mut Vec<String>) -> Option<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            problems.push(format!(
                "{field} = {} is not a date (YYYY-MM-DD or RFC 3339)",
                quote_input(s)
            ));
            None
        }
    }
}

fn check_party(label: &str, p: &PartySpec, problems: &mut Vec<String>) {
    if p.name.trim().is_empty() {
        problems.push(format!("[{label}] needs a name"));
    }
    for a in &p.aws_accounts {
        if a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()) {
            problems.push(format!(
                "[{label}] aws_accounts: {} is not a 12-digit AWS account id",
                quote_input(a)
            ));
        }
    }
    for d in p.email_domains.iter().chain(&p.google_domains) {
        if d.contains('@') || !d.contains('.') {
            problems.push(format!(
                "[{label}] {} is not a domain (write example.com, not an address)",
                quote_input(d)
            ));
        }
    }
    use parties::{MAX_NAME_PATTERNS, MAX_NAME_PATTERN_CHARS};
    if p.name_patterns.len() > MAX_NAME_PATTERNS {
        problems.push(format!(
            "[{label}] name_patterns: {} patterns; at most {MAX_NAME_PATTERNS} are allowed",
            p.name_patterns.len()
        ));
    }
    for (i, pat) in p.name_patterns.iter().enumerate() {
        let chars = pat.chars().count();
        // The pattern itself is not quoted: it may be megabytes long.
        if chars == 0 {
            problems.push(format!(
                "[{label}] name_patterns: pattern {} is empty and matches nothing",
                i + 1
            ));
        } else if chars > MAX_NAME_PATTERN_CHARS {
            problems.push(format!("[{label}] name_patterns: pattern {} is {chars} characters long; at most {MAX_NAME_PATTERN_CHARS} are allowed (IAM and service-account names are shorter)", i + 1));
        }
    }
    for g in &p.google_groups {
        if !g.contains('@') {
            problems.push(format!(
                "[{label}] google_groups: {} is not a group address",
                quote_input(g)
            ));
        }
    }
    if let Some(o) = &p.gcp_organization {
        if !o.starts_with("organizations/") {
            problems.push(format!(
                "[{label}] gcp_organization: {} should look like organizations/123456789",
                quote_input(o)
            ));
        }
    }
    for (field, ids) in [
        ("gcp_folders", &p.gcp_folders),
        ("gcp_organizations", &p.gcp_organizations),
    ] {
        for id in ids.iter().filter(|id| !is_gcp_container_id(id)) {
            problems.push(format!(
                "[{label}] {field}: {} is not a numeric id (write the number alone, e.g. \"123456789\", as `gcloud {} list` shows it)",
                quote_input(id),
                if field == "gcp_folders" { "resource-manager folders" } else { "organizations" }
            ));
        }
    }
}

/// A folder's or organization's id as Google assigns them: 1-32 decimal digits.
fn is_gcp_container_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Every GCP folder and organization listed for more than one party (agency, customer
/// or a third party), as problems: its owner would be ambiguous.
fn check_gcp_containers(parties: &[(String, &PartySpec)], problems: &mut Vec<String>) {
    let mut seen: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for (label, p) in parties {
        let orgs = p.gcp_organizations.iter().map(String::as_str).chain(
            p.gcp_organization
                .as_deref()
                .and_then(|o| o.strip_prefix("organizations/")),
        );
        let mut mine: BTreeSet<(&str, &str)> = p
            .gcp_folders
            .iter()
            .map(|f| ("folder", f.as_str()))
            .collect();
        mine.extend(orgs.map(|o| ("organization", o)));
        for key in mine {
            seen.entry(key).or_default().push(label);
        }
    }
    for ((kind, id), labels) in seen.into_iter().filter(|(_, l)| l.len() > 1) {
        problems.push(format!(
            "GCP {kind} {id} is listed for more than one party ({}): each folder or organization has one owner",
            labels.join(", ")
        ));
    }
}

impl RawConfig {
    /// Validates, reporting every problem at once: the scenario and dates, the parties,
    /// then the keys and files.
    pub fn validate(self, base_dir: &Path) -> Result<HandoverConfig, Vec<String>> {
        let mut problems = Vec::new();
        let scenario = self.scenario(&mut problems);
        let (handover_date, ends) = self.dates(scenario, &mut problems);
        let grace_days = self.grace_days(&mut problems);
        self.check_parties(&mut problems);
        self.check_keys_and_files(base_dir, &mut problems);
        problems.extend(self.documentation.sections.problems());
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(HandoverConfig {
            scenario: scenario.expect("checked"),
            handover_date: handover_date.expect("checked"),
            agency_access_ends: ends,
            grace_days,
            agency: self.agency.expect("checked"),
            customer: self.customer.expect("checked"),
            third_parties: self.third_party,
            operations: self.operations,
            recipients: self.recipients,
            documentation: self.documentation,
            base_dir: base_dir.to_path_buf(),
        })
    }

    fn scenario(&self, problems: &mut Vec<String>) -> Option<Scenario> {
        match self.scenario.as_deref() {
            Some("full-transfer") => Some(Scenario::FullTransfer),
            Some("agency-operated") => Some(Scenario::AgencyOperated),
            Some(other) => {
                problems.push(format!(
                    "scenario = {}: use \"full-transfer\" or \"agency-operated\"",
                    quote_input(other)
                ));
                None
            }
            None => {
                problems
                    .push("scenario is missing: \"full-transfer\" or \"agency-operated\"".into());
                None
            }
        }
    }

    /// The handover date and when agency access ends, and what the scenario asks of them
    /// (agency-operated: access ends by itself; full transfer: nothing is retained).
    fn dates(
        &self,
        scenario: Option<Scenario>,
        problems: &mut Vec<String>,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let handover_date = match &self.handover_date {
            Some(s) => parse_date("handover_date", s, problems),
            None => {
                problems.push("handover_date is missing (YYYY-MM-DD)".into());
                None
            }
        };
        let ends = self
            .agency_access_ends
            .as_deref()
            .and_then(|s| parse_date("agency_access_ends", s, problems));
        if let (Some(h), Some(e)) = (handover_date, ends) {
            if e < h {
                problems.push("agency_access_ends is before handover_date".into());
            }
        }
        if scenario == Some(Scenario::AgencyOperated)
            && ends.is_none()
            && self.agency_access_ends.is_none()
        {
            problems.push("the agency-operated scenario needs agency_access_ends: retained access must end by itself".into());
        }
        if scenario == Some(Scenario::FullTransfer) && !self.operations.retained.is_empty() {
            problems.push("[operations] retained is for the agency-operated scenario; full transfer ends all agency access".into());
        }
        (handover_date, ends)
    }

    /// `grace_days`, when set: a whole number of days from 0 to [`MAX_GRACE_DAYS`].
    fn grace_days(&self, problems: &mut Vec<String>) -> Option<u32> {
        let days = self.grace_days?;
        match u32::try_from(days) {
            Ok(d) if d <= MAX_GRACE_DAYS => Some(d),
            _ => {
                problems.push(format!(
                    "grace_days = {days}: write a whole number of days from 0 to {MAX_GRACE_DAYS} (how long a deactivated key waits before `apply --finish` deletes it)"
                ));
                None
            }
        }
    }

    /// Every party well formed, and no account or domain claimed by both the agency and
    /// the customer.
    fn check_parties(&self, problems: &mut Vec<String>) {
        match &self.agency {
            Some(p) => check_party("agency", p, problems),
            None => problems.push("[agency] is missing".into()),
        }
        match &self.customer {
            Some(p) => check_party("customer", p, problems),
            None => problems.push("[customer] is missing".into()),
        }
        for (i, p) in self.third_party.iter().enumerate() {
            check_party(&format!("third_party {}", i + 1), p, problems);
            kms::check(
                &format!("third_party {}", i + 1),
                &p.kms_keys,
                None,
                problems,
            );
        }
        if let Some(a) = &self.agency {
            kms::check("agency", &a.kms_keys, None, problems);
        }
        if let Some(c) = &self.customer {
            kms::check("customer", &c.kms_keys, Some(&c.aws_accounts), problems);
        }
        let labelled: Vec<(String, &PartySpec)> = self
            .agency
            .iter()
            .map(|p| ("agency".to_string(), p))
            .chain(self.customer.iter().map(|p| ("customer".to_string(), p)))
            .chain(
                self.third_party
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("third_party {}", i + 1), p)),
            )
            .collect();
        check_gcp_containers(&labelled, problems);
        if let (Some(a), Some(c)) = (&self.agency, &self.customer) {
            for acct in a.aws_accounts.iter().filter(|x| c.aws_accounts.contains(x)) {
                problems.push(format!(
                    "AWS account {acct} is listed for both the agency and the customer"
                ));
            }
            for d in a
                .email_domains
                .iter()
                .filter(|x| c.email_domains.contains(x))
            {
                problems.push(format!(
                    "email domain {d} is listed for both the agency and the customer"
                ));
            }
        }
    }

    /// Recipient keys and the agency's signing key parse, only the agency has a signing
    /// key, and every recipients file exists.
    fn check_keys_and_files(&self, base_dir: &Path, problems: &mut Vec<String>) {
        // Each key checked in full (low-order points included); the error names the entry,
        // never its text, which may be a private key pasted in the wrong place.
        for (i, k) in self.recipients.keys.iter().enumerate() {
            if let Err(e) = crate::crypto::parse_recipient(k) {
                problems.push(format!("[recipients] keys entry {}: {e}", i + 1));
            }
        }
        if let Some(k) = self.agency.as_ref().and_then(|a| a.signing_key.as_ref()) {
            if let Err(e) = crate::crypto::parse_public_key(k) {
                problems.push(format!("[agency] signing_key: {e}"));
            }
        }
        for p in std::iter::once(&self.customer)
            .flatten()
            .chain(&self.third_party)
        {
            if p.signing_key.is_some() {
                problems.push(format!(
                    "[{}] signing_key: only the agency signs the manifest",
                    p.name
                ));
            }
        }
        for f in &self.recipients.files {
            if !base_dir.join(f).is_file() {
                problems.push(format!(
                    "[recipients] files: {} does not exist (paths are relative to the config)",
                    f.display()
                ));
            }
        }
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<HandoverConfig, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            path,
            format!("cannot read: {e}"),
            "check the path; `handover init` writes a config from an inventory",
        )
    })?;
    let raw: RawConfig = toml::from_str(&text).map_err(|e| {
        Error::input(
            path,
            format!("not a valid handover config: {}", unquoted(e.message()))
                + &line_of(&text, e.span()),
            "see examples/northwind-to-contoso/handover.toml",
        )
    })?;
    refuse_placeholders(path, &text)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    raw.validate(&base).map_err(|problems| {
        Error::input(
            path,
            problems.join("; "),
            "fix each problem listed; see examples/northwind-to-contoso/handover.toml",
        )
    })
}

/// The text `handover init` writes where it cannot guess a value (`name = "CONFIRM: the
/// agency's name"`): a value holding it has not been filled in.
pub const PLACEHOLDER: &str = "CONFIRM";

/// Refuses a config that still holds `init`'s placeholder in any value (exit 3), naming
/// every such field at once by file and line, so a plan can never be titled "CONFIRM:
/// the agency's name to ...". Comments marked CONFIRM are not values: they stay after a
/// guess is checked. The value itself is never quoted (it may be half-edited key text).
fn refuse_placeholders(path: &Path, text: &str) -> Result<(), Error> {
    let found = placeholders(text);
    if found.is_empty() {
        return Ok(());
    }
    let mut what = format!(
        "{} still hold{} the {PLACEHOLDER} placeholder `handover init` wrote:",
        if found.len() == 1 {
            "1 field".to_string()
        } else {
            format!("{} fields", found.len())
        },
        if found.len() == 1 { "s" } else { "" },
    );
    for (line, field) in &found {
        what.push_str(&format!("\n  {}:{line}: {field}", path.display()));
    }
    Err(Error::input(
        path,
        what,
        "edit each line named: replace the placeholder with the real value, then run the command again",
    ))
}

/// Every value holding [`PLACEHOLDER`], as (line, field) in file order. Only called on
/// text that already parsed as a config.
fn placeholders(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    if let Ok(doc) = toml::de::DeTable::parse(text) {
        for (k, v) in doc.get_ref() {
            find_placeholders(text, &[k.get_ref().to_string()], v, &mut out);
        }
    }
    out.sort();
    out
}

/// One value, by its path of keys (`["agency", "name"]`; an array of tables counts its
/// entries from 1, as `validate` names them).
fn find_placeholders(
    text: &str,
    path: &[String],
    v: &toml::Spanned<toml::de::DeValue<'_>>,
    out: &mut Vec<(usize, String)>,
) {
    use toml::de::DeValue;
    match v.get_ref() {
        DeValue::String(s) if s.contains(PLACEHOLDER) => {
            let line = text[..v.span().start.min(text.len())].matches('\n').count() + 1;
            out.push((line, field_label(path)));
        }
        DeValue::Table(t) => {
            for (k, item) in t {
                let mut p = path.to_vec();
                p.push(k.get_ref().to_string());
                find_placeholders(text, &p, item, out);
            }
        }
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let mut p = path.to_vec();
                if matches!(item.get_ref(), DeValue::Table(_)) {
                    if let Some(last) = p.last_mut() {
                        *last = format!("{last} {}", i + 1);
                    }
                }
                find_placeholders(text, &p, item, out);
            }
        }
        _ => {}
    }
}

/// `[agency] name` for a key in a table, `handover_date` for a top-level one.
fn field_label(path: &[String]) -> String {
    match path.split_last() {
        Some((key, [])) => key.clone(),
        Some((key, tables)) => format!("[{}] {key}", tables.join(".")),
        None => String::new(),
    }
}

/// A TOML error message without input that could be key material. What the parser
/// quotes before "expected" comes from the file (an unknown key, a value of the wrong
/// type) and may be a key pasted in the wrong place (found by `tests/fuzz.rs`): it is
/// kept only when [`crate::secret::may_quote`] allows, else replaced; the line number
/// says where. What follows "expected" is the schema's own words.
fn unquoted(message: &str) -> String {
    let (input, schema) = match message.find("expected") {
        Some(i) => message.split_at(i),
        None => (message, ""),
    };
    let mut out = String::with_capacity(message.len());
    let mut rest = input;
    while let Some(open) = rest.find(['`', '"']) {
        let quote = rest[open..].chars().next().unwrap_or('`');
        out.push_str(&rest[..open]);
        match rest[open + 1..].find(quote) {
            Some(close) => {
                let quoted = &rest[open + 1..open + 1 + close];
                if crate::secret::may_quote(quoted) {
                    out.push_str(&rest[open..open + 1 + close + 1]);
                } else {
                    out.push_str("(text not shown)");
                }
                rest = &rest[open + 1 + close + 1..];
            }
            None => {
                out.push_str("(text not shown)");
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.push_str(schema);
    out
}

fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(r) => format!(
            " (line {})",
            text[..r.start.min(text.len())].matches('\n').count() + 1
        ),
        None => String::new(),
    }
}

impl HandoverConfig {
    /// The customer's recipients: `[recipients] keys` and every line of `files`.
    pub fn recipients(&self, config_path: &Path) -> Result<Vec<crate::crypto::Recipient>, Error> {
        let mut out = Vec::new();
        for k in &self.recipients.keys {
            out.push(crate::crypto::parse_recipient(k).map_err(|e| {
                Error::input(
                    config_path,
                    format!("[recipients] keys: {e}"),
                    "use age1... or ssh-ed25519/ssh-rsa public keys",
                )
            })?);
        }
        for f in &self.recipients.files {
            out.extend(crate::crypto::read_recipients_file(&self.base_dir.join(f))?);
        }
        Ok(out)
    }

    /// The agency's signing key, when the config names one.
    pub fn signer(&self) -> Option<ssh_key::PublicKey> {
        self.agency
            .signing_key
            .as_deref()
            .and_then(|k| crate::crypto::parse_public_key(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression (long fuzz run, seed 0x1d0c5): a key pasted as a TOML key name came back
    // in "unknown field `…`"; TOML errors no longer quote the file, only the schema.
    #[test]
    fn a_toml_error_quotes_the_schema_never_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("handover.toml");
        let secret = "AGE-SECRET-KEY-1X423KRX2MK2RLMZZYNW9CKFUESMPE5L8PRRT43V5NM26QGLSU";
        for text in [
            format!("scenario = \"full-transfer\"\n[agency]\n{secret} = 1\n"),
            format!("scenario = \"full-transfer\"\nhandover_date = \"{secret}\"\n"),
            format!("scenario = 7\nx = \"{secret}"),
        ] {
            std::fs::write(&p, &text).unwrap();
            let Err(e) = load(&p) else {
                panic!("accepted: {text}")
            };
            let shown = format!("{e} {}", e.hint());
            assert!(!shown.contains("X423KRX2MK2R"), "{shown}");
            // A parse error says where; a validation problem names the field.
            assert!(
                shown.contains("line ") || shown.contains("handover_date"),
                "{shown}"
            );
        }
        assert_eq!(
            unquoted("unknown field `colour`, expected one of `name`, `tags`"),
            "unknown field `colour`, expected one of `name`, `tags`"
        );
        assert_eq!(
            unquoted("unknown field `gooHePMGsMtsMeOlb8NO7zC62Oiz`, expected `name`"),
            "unknown field (text not shown), expected `name`"
        );
    }

    fn config_with_patterns(patterns: &str) -> String {
        format!(
            "scenario = \"full-transfer\"\nhandover_date = \"2026-11-01\"\n\n[agency]\nname = \"Northwind\"\n\
             email_domains = [\"northwind-agency.example\"]\nname_patterns = {patterns}\n\n[customer]\nname = \"Contoso\"\n\
             email_domains = [\"contoso.example\"]\n"
        )
    }

    /// Regression (issue 10, item 7): a 2M-star name pattern was accepted and then
    /// overflowed the matcher's stack; config validation now caps pattern length (exit 3)
    /// without echoing the pattern.
    #[test]
    fn an_overlong_name_pattern_is_an_input_error_that_does_not_echo_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handover.toml");
        let long = "*".repeat(2_000_000) + "z";
        std::fs::write(
            &path,
            config_with_patterns(&format!("[\"ci-*\", \"{long}\", \"\"]")),
        )
        .unwrap();
        let e = load(&path).expect_err("an overlong pattern must be refused");
        assert_eq!(crate::cli::exit::code_for(&e), 3);
        let text = e.to_string();
        assert!(
            text.contains("pattern 2 is 2000001 characters long"),
            "{text}"
        );
        assert!(text.contains("pattern 3 is empty"), "{text}");
        assert!(!text.contains("*****"), "the pattern must not be echoed");
        assert!(text.len() < 1000);
    }

    #[test]
    fn too_many_name_patterns_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handover.toml");
        let many: Vec<String> = (0..=parties::MAX_NAME_PATTERNS)
            .map(|i| format!("\"p{i}-*\""))
            .collect();
        std::fs::write(
            &path,
            config_with_patterns(&format!("[{}]", many.join(", "))),
        )
        .unwrap();
        let e = load(&path).expect_err("too many patterns must be refused");
        assert!(e.to_string().contains("1001 patterns; at most 1000"), "{e}");
        std::fs::write(&path, config_with_patterns("[\"*.agency\", \"ci-*\"]")).unwrap();
        load(&path).expect("ordinary patterns are accepted");
    }

    fn config_with_grace(line: &str) -> String {
        format!(
            "scenario = \"full-transfer\"\nhandover_date = \"2026-11-01\"\n{line}\n\n[agency]\nname = \"Northwind\"\n\n[customer]\nname = \"Contoso\"\n"
        )
    }

    #[test]
    fn grace_days_is_a_bounded_whole_number_of_days() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handover.toml");
        for (line, want) in [
            ("", None),
            ("grace_days = 0", Some(0)),
            ("grace_days = 14", Some(14)),
            ("grace_days = 365", Some(MAX_GRACE_DAYS)),
        ] {
            std::fs::write(&path, config_with_grace(line)).unwrap();
            assert_eq!(load(&path).expect(line).grace_days, want, "{line}");
        }
        for (line, shown) in [
            (
                "grace_days = -1",
                "grace_days = -1: write a whole number of days from 0 to 365",
            ),
            ("grace_days = 366", "grace_days = 366: write a whole number"),
            (
                "grace_days = 9223372036854775807",
                "grace_days = 9223372036854775807: write",
            ),
            ("grace_days = \"7\"", "line 3"),
            ("grace_days = 1.5", "line 3"),
        ] {
            std::fs::write(&path, config_with_grace(line)).unwrap();
            let e = load(&path).expect_err(line);
            assert_eq!(crate::cli::exit::code_for(&e), 3, "{line}");
            assert!(e.to_string().contains(shown), "{line}: {e}");
        }
    }

    fn config_with_containers(agency: &str, customer: &str) -> String {
        format!(
            "scenario = \"full-transfer\"\nhandover_date = \"2026-11-01\"\n\n[agency]\nname = \"Northwind\"\n{agency}\n\n\
             [customer]\nname = \"Contoso\"\n{customer}\n\n[[third_party]]\nname = \"Vendor\"\ngcp_folders = [\"77\"]\n"
        )
    }

    /// A binding set on a folder or organization had no owner the config could give
    /// (`scope-owner-unknown`) before parties listed folders and organizations (issue 17).
    #[test]
    fn gcp_folders_and_organizations_give_a_container_scope_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handover.toml");
        std::fs::write(
            &path,
            config_with_containers(
                "gcp_folders = [\"20\"]",
                "gcp_folders = [\"30\"]\ngcp_organizations = [\"10\"]\ngcp_organization = \"organizations/11\"",
            ),
        )
        .unwrap();
        let cfg = load(&path).unwrap();
        let owner = |scope: &str| parties::scope_owner(&cfg, crate::model::Provider::Gcp, scope);
        assert_eq!(owner("folders/20").owner, parties::Owner::Agency);
        assert_eq!(owner("folders/30").owner, parties::Owner::Customer);
        assert_eq!(owner("folders/77").owner, parties::Owner::ThirdParty);
        assert_eq!(owner("organizations/10").owner, parties::Owner::Customer);
        assert_eq!(owner("organizations/11").owner, parties::Owner::Customer);
        let unknown = owner("folders/99");
        assert_eq!(unknown.owner, parties::Owner::Unknown);
        assert!(
            unknown.reason.contains("GCP folder 99"),
            "{}",
            unknown.reason
        );
        // A folder id is not an organization id, nor a project id.
        assert_eq!(owner("organizations/30").owner, parties::Owner::Unknown);
        assert_eq!(owner("30").owner, parties::Owner::Unknown);
    }

    #[test]
    fn a_gcp_folder_or_organization_in_two_parties_or_not_numeric_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handover.toml");
        for (agency, customer, shown) in [
            (
                "gcp_folders = [\"20\"]",
                "gcp_folders = [\"20\"]",
                "GCP folder 20 is listed for more than one party (agency, customer)",
            ),
            (
                "gcp_organizations = [\"10\"]",
                "gcp_organization = \"organizations/10\"",
                "GCP organization 10 is listed for more than one party (agency, customer)",
            ),
            (
                "",
                "gcp_folders = [\"77\"]",
                "GCP folder 77 is listed for more than one party (customer, third_party 1)",
            ),
            (
                "gcp_folders = [\"folders/20\"]",
                "",
                "[agency] gcp_folders: \"folders/20\" is not a numeric id",
            ),
            (
                "",
                "gcp_organizations = [\"\"]",
                "[customer] gcp_organizations: \"\" is not a numeric id",
            ),
        ] {
            std::fs::write(&path, config_with_containers(agency, customer)).unwrap();
            let e = load(&path).expect_err(shown);
            assert_eq!(crate::cli::exit::code_for(&e), 3, "{shown}");
            assert!(e.to_string().contains(shown), "{shown}: {e}");
        }
    }
}
