//! Handover policies: an ordered list of rules a person can read. Each rule has an id,
//! a description, a CEL condition over a documented context (`context`), an action, a
//! severity and a rationale. The first rule whose condition holds decides a target's
//! action; a target no rule matches goes to `review`.
//!
//! Loading checks everything a reader would otherwise find out too late, and reports
//! all problems together with file and line: YAML shape, duplicate ids, CEL syntax,
//! unknown variables and fields, type errors (including comparisons with a value that
//! can be null), and rules that match no context of a broad generated corpus.
//!
//! Evaluation is bounded before it starts: the CEL interpreter has no cost limit of
//! its own, so a rule's condition is refused at load (with its line) when its text is
//! too long, its tree too large, or its estimated evaluation cost (comprehensions
//! multiply by the size of what they range over) too high (`cost`). The YAML reader
//! refuses alias bombs rather than expanding them, and the file's size is capped.
//!
//! The shipped policies are compiled into the binary (`shipped`): `--policy NAME` reads
//! one, `--policy FILE` reads a file, and an argument that could be both is refused.
//!
//! Context numbers are CEL `int`s, as docs/policies.md documents (`age_days + 1`).

pub mod context;
mod cost;
pub mod shipped;

use std::collections::BTreeSet;
use std::path::Path;

use cel::common::ast::Expr;
use cel::{Context, Program, Value};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::Severity;

/// What a plan does with a credential or secret.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Issue a new value to the customer, then disable the old one.
    Rotate,
    /// Hand it over as it is: the customer becomes its owner.
    Transfer,
    /// Remove it.
    Revoke,
    /// Keep it until the end of the adoption period, as access that expires by itself.
    RetainUntil,
    /// A person decides.
    Review,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Rotate => "rotate",
            Action::Transfer => "transfer",
            Action::Revoke => "revoke",
            Action::RetainUntil => "retain-until",
            Action::Review => "review",
        }
    }
}

/// What a revoke rule removes besides the credential, when it says so (`delete:` in the
/// rule): never implied, so a plan deletes nothing a rule did not name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Delete {
    /// The AWS IAM user or role the credential belongs to (a user's key or password, a
    /// role's trust), once the plan's revocations of it are made: deleted by
    /// `apply --delete-now`, never undoable.
    Principal,
}

impl Delete {
    pub fn as_str(self) -> &'static str {
        match self {
            Delete::Principal => "principal",
        }
    }
}

/// What a revoke rule disables besides the credential, when it says so (`disable:` in
/// the rule): never implied. Reversible, unlike `delete`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Disable {
    /// The GCP service account the credential belongs to (a key of it, or a grant it
    /// holds): disabled by `apply` with the step, so it can no longer authenticate with
    /// any key nor act through any grant; undone by enabling it again.
    Principal,
}

impl Disable {
    pub fn as_str(self) -> &'static str {
        match self {
            Disable::Principal => "principal",
        }
    }
}

/// The restrictions a transfer or retain-until rule sets on a GCP API key
/// (`restrict:` in the rule), in the words of API Keys v2 `Restrictions`
/// (<https://cloud.google.com/api-keys/docs/reference/rest/v2/projects.locations.keys#Restrictions>):
/// `apiTargets` (the services the key may call; "if no restrictions are specified, all
/// targets are allowed") and at most one client restriction, browser referrers or
/// server IPs (Google's client restrictions are mutually exclusive). `apply` patches
/// the key's `restrictions` to exactly these (`keys.patch`, update mask
/// `restrictions`); `verify` checks the key's restrictions equal them.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Restrict {
    /// Service names (`maps-backend.googleapis.com`) the key may call, no method list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_targets: Vec<String>,
    /// `browserKeyRestrictions.allowedReferrers`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_referrers: Vec<String>,
    /// `serverKeyRestrictions.allowedIps` (addresses or CIDR ranges).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_ips: Vec<String>,
}

/// An entry as an error shows it: quoted and escaped, at most 80 characters.
fn shown(s: &str) -> String {
    format!("{:?}", s.chars().take(80).collect::<String>())
}

/// The most entries one list of a `restrict:` may hold (ours, to bound the rule).
pub const MAX_RESTRICT_ENTRIES: usize = 100;

impl Restrict {
    /// What is wrong with it, if anything: nothing restricted, both client kinds, too
    /// many entries, a service that is not a DNS name, an empty or control-character
    /// referrer, an IP that is not an address or CIDR range.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.api_targets.is_empty()
            && self.allowed_referrers.is_empty()
            && self.allowed_ips.is_empty()
        {
            out.push("`restrict:` names no api_targets, allowed_referrers or allowed_ips: it would leave the key unrestricted".into());
        }
        if !self.allowed_referrers.is_empty() && !self.allowed_ips.is_empty() {
            out.push("`restrict:` may name allowed_referrers or allowed_ips, not both (Google's client restrictions are mutually exclusive)".into());
        }
        for (field, list) in [
            ("api_targets", &self.api_targets),
            ("allowed_referrers", &self.allowed_referrers),
            ("allowed_ips", &self.allowed_ips),
        ] {
            if list.len() > MAX_RESTRICT_ENTRIES {
                out.push(format!(
                    "`restrict:` {field} has {} entries; at most {MAX_RESTRICT_ENTRIES}",
                    list.len()
                ));
            }
        }
        let service_ok = |s: &str| {
            s.len() <= 253
                && s.contains('.')
                && s.split('.').all(|l| {
                    !l.is_empty()
                        && l.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
        };
        for (i, s) in self
            .api_targets
            .iter()
            .enumerate()
            .filter(|(_, s)| !service_ok(s))
        {
            out.push(format!("`restrict:` api_targets entry {} ({}) is not a service name such as maps-backend.googleapis.com", i + 1, shown(s)));
        }
        for (i, _) in self
            .allowed_referrers
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_empty() || r.len() > 2000 || r.chars().any(char::is_control))
        {
            out.push(format!("`restrict:` allowed_referrers entry {} is empty, too long or holds control characters", i + 1));
        }
        let ip_ok = |s: &str| {
            let (addr, bits) = s.split_once('/').unwrap_or((s, ""));
            addr.parse::<std::net::IpAddr>().is_ok_and(|a| {
                bits.is_empty()
                    || bits
                        .parse::<u8>()
                        .is_ok_and(|b| b <= if a.is_ipv4() { 32 } else { 128 })
            })
        };
        for (i, s) in self
            .allowed_ips
            .iter()
            .enumerate()
            .filter(|(_, s)| !ip_ok(s))
        {
            out.push(format!(
                "`restrict:` allowed_ips entry {} ({}) is not an IP address or CIDR range",
                i + 1,
                shown(s)
            ));
        }
        out
    }

    /// The API Keys v2 `Restrictions` JSON that sets exactly these.
    pub fn to_google(&self) -> serde_json::Value {
        let mut r = serde_json::Map::new();
        if !self.api_targets.is_empty() {
            let targets: Vec<serde_json::Value> = self
                .api_targets
                .iter()
                .map(|s| serde_json::json!({ "service": s }))
                .collect();
            r.insert("apiTargets".into(), targets.into());
        }
        if !self.allowed_referrers.is_empty() {
            r.insert(
                "browserKeyRestrictions".into(),
                serde_json::json!({ "allowedReferrers": self.allowed_referrers }),
            );
        }
        if !self.allowed_ips.is_empty() {
            r.insert(
                "serverKeyRestrictions".into(),
                serde_json::json!({ "allowedIps": self.allowed_ips }),
            );
        }
        serde_json::Value::Object(r)
    }

    /// Whether a key's restrictions, as the inventory holds them, are exactly these
    /// (order aside): the same services with no method list, the same referrers and
    /// IPs, and no app restriction.
    pub fn matches(&self, d: &crate::model::ApiKeyDetail) -> bool {
        let sorted = |v: &[String]| -> Vec<String> {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v
        };
        sorted(&self.api_targets) == sorted(&d.apis)
            && sorted(&self.allowed_referrers) == sorted(&d.referrers)
            && sorted(&self.allowed_ips) == sorted(&d.ips)
            && d.apps.is_empty()
    }

    /// For display: `apis a, b; referrers ...; ips ...`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (what, list) in [
            ("apis", &self.api_targets),
            ("referrers", &self.allowed_referrers),
            ("ips", &self.allowed_ips),
        ] {
            if !list.is_empty() {
                parts.push(format!("{what} {}", list.join(", ")));
            }
        }
        parts.join("; ")
    }
}

/// What a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AppliesTo {
    /// Credentials, role trusts, IAM bindings and secret-policy grants.
    #[default]
    Credentials,
    Secrets,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: String,
    #[serde(default)]
    description: String,
    rules: Vec<RawRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    description: String,
    #[serde(default)]
    applies_to: AppliesTo,
    condition: String,
    action: Action,
    severity: Severity,
    rationale: String,
    /// `principal`: the rule also deletes the IAM user or role (revoke rules only).
    #[serde(default)]
    delete: Option<Delete>,
    /// `principal`: the rule also disables the GCP service account (revoke rules only).
    #[serde(default)]
    disable: Option<Disable>,
    /// The restrictions a transfer or retain-until rule sets on a GCP API key.
    #[serde(default)]
    restrict: Option<Restrict>,
}

/// A rule, compiled.
pub struct Rule {
    pub id: String,
    pub description: String,
    pub applies_to: AppliesTo,
    pub condition: String,
    pub action: Action,
    pub severity: Severity,
    pub rationale: String,
    /// What the rule deletes besides the credential (`None`: nothing).
    pub delete: Option<Delete>,
    /// What the rule disables besides the credential (`None`: nothing).
    pub disable: Option<Disable>,
    /// The restrictions it sets on a GCP API key it matches (`None`: none).
    pub restrict: Option<Restrict>,
    /// The line of the rule in its file.
    pub line: usize,
    program: Program,
}

/// A loaded, checked policy.
pub struct Policy {
    pub name: String,
    pub description: String,
    pub rules: Vec<Rule>,
    /// `sha256:` of the file's bytes, so a plan names the exact policy it used.
    pub digest: String,
    pub path: String,
}

/// One problem found while loading a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub rule: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(r) => write!(f, "line {}: rule {r}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// The outcome of evaluating one rule against one context.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Match,
    NoMatch,
    Failed(String),
}

/// A context converted to CEL values once, for evaluating many rules.
pub struct Prepared(Vec<(String, Value)>);

impl Prepared {
    pub fn new(ctx: &serde_json::Value) -> Result<Self, String> {
        let mut vars = Vec::new();
        if let serde_json::Value::Object(map) = ctx {
            for (k, v) in map {
                vars.push((k.clone(), cel_value(v)));
            }
        }
        Ok(Prepared(vars))
    }
}

/// A JSON context value as CEL sees it. Whole numbers are `int` (what docs/policies.md
/// documents, so `credential.age_days + 1 > 90` type-checks); serde's own conversion
/// made non-negative numbers `uint`, which CEL refuses to add to an `int` literal.
fn cel_value(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::String(std::sync::Arc::new(s.clone())),
        J::Array(items) => Value::List(std::sync::Arc::new(items.iter().map(cel_value).collect())),
        J::Object(map) => {
            let m: std::collections::HashMap<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), cel_value(v))).collect();
            Value::from(m)
        }
    }
}

impl Rule {
    pub fn evaluate(&self, ctx: &serde_json::Value) -> Outcome {
        match Prepared::new(ctx) {
            Ok(p) => self.evaluate_prepared(&p),
            Err(e) => Outcome::Failed(e),
        }
    }

    pub fn evaluate_prepared(&self, ctx: &Prepared) -> Outcome {
        let mut c = Context::default();
        for (k, v) in &ctx.0 {
            c.add_variable_from_value(k.clone(), v.clone());
        }
        match self.program.execute(&c) {
            Ok(Value::Bool(true)) => Outcome::Match,
            Ok(Value::Bool(false)) => Outcome::NoMatch,
            Ok(other) => {
                Outcome::Failed(format!("the condition gave {other:?}, not true or false"))
            }
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

fn line_of_rule(text: &str, id: &str) -> usize {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start().trim_start_matches("- ").trim();
        if let Some(rest) = t.strip_prefix("id:") {
            if rest.trim().trim_matches(['"', '\'']) == id {
                return i + 1;
            }
        }
    }
    1
}

/// The dotted paths (`credential.kind`) a condition reads, and bare identifiers.
fn paths(e: &cel::IdedExpr, bound: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    match &e.expr {
        Expr::Select(s) => {
            let mut chain = vec![s.field.clone()];
            let mut cur = &*s.operand;
            loop {
                match &cur.expr {
                    Expr::Select(inner) => {
                        chain.push(inner.field.clone());
                        cur = &inner.operand;
                    }
                    Expr::Ident(name) => {
                        if !bound.contains(name) {
                            chain.push(name.clone());
                            chain.reverse();
                            out.insert(chain);
                        }
                        return;
                    }
                    _ => {
                        paths(cur, bound, out);
                        return;
                    }
                }
            }
        }
        Expr::Ident(name) if !bound.contains(name) => {
            out.insert(vec![name.clone()]);
        }
        Expr::Ident(_) => {}
        Expr::Call(c) => {
            if let Some(t) = &c.target {
                paths(t, bound, out);
            }
            for a in &c.args {
                paths(a, bound, out);
            }
        }
        Expr::List(l) => l.elements.iter().for_each(|x| paths(x, bound, out)),
        Expr::Map(m) => {
            for entry in &m.entries {
                if let cel::common::ast::EntryExpr::MapEntry(me) = &entry.expr {
                    paths(&me.key, bound, out);
                    paths(&me.value, bound, out);
                }
            }
        }
        Expr::Comprehension(c) => {
            paths(&c.iter_range, bound, out);
            paths(&c.accu_init, bound, out);
            bound.push(c.iter_var.clone());
            if let Some(v2) = &c.iter_var2 {
                bound.push(v2.clone());
            }
            bound.push(c.accu_var.clone());
            paths(&c.loop_cond, bound, out);
            paths(&c.loop_step, bound, out);
            paths(&c.result, bound, out);
            bound.truncate(bound.len() - 2 - usize::from(c.iter_var2.is_some()));
        }
        _ => {}
    }
}

/// The largest policy file read (the shipped ones are a few KiB).
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// Reads and checks a policy named by a `--policy` argument: a shipped policy's name or
/// a file (`shipped::resolve` decides, refusing an ambiguous one); every problem is
/// reported at once.
pub fn open(arg: &Path) -> Result<Policy, Error> {
    match shipped::resolve(arg)? {
        shipped::Source::Shipped(s) => load_shipped(s),
        shipped::Source::File(path) if !path.exists() && shipped::looks_like_name(path).is_some() => {
            Err(Error::input(
                path,
                "neither a shipped policy nor a file",
                format!(
                    "the shipped policies are {} (`handover policy list`); or pass a policy file's path",
                    shipped::names()
                ),
            ))
        }
        shipped::Source::File(path) => load(path),
    }
}

/// Checks a shipped policy (its errors name it, not a file).
pub fn load_shipped(s: &shipped::Shipped) -> Result<Policy, Error> {
    from_bytes(Path::new(s.name), s.text.as_bytes())
}

/// Reads and checks a policy file; every problem is reported at once.
pub fn load(path: &Path) -> Result<Policy, Error> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::input(
            path,
            format!("cannot read: {e}"),
            format!(
                "pass a policy file, or a shipped policy's name ({})",
                shipped::names()
            ),
        )
    })?;
    if bytes.len() > MAX_POLICY_BYTES {
        return Err(Error::input(
            path,
            format!(
                "{} bytes, more than the {MAX_POLICY_BYTES} a policy may have",
                bytes.len()
            ),
            "a policy is a short YAML file of rules; split it or remove what is not a rule",
        ));
    }
    from_bytes(path, &bytes)
}

/// Checks a policy's bytes; `origin` (its file, or a shipped policy's name) names it in
/// errors. The digest is over the bytes, so a shipped policy and its file digest alike.
fn from_bytes(origin: &Path, bytes: &[u8]) -> Result<Policy, Error> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::input(origin, "not UTF-8 text", "a policy is a YAML file"))?;
    match parse(text) {
        Ok((name, description, rules)) => {
            use sha2::Digest;
            let digest = format!("sha256:{:x}", sha2::Sha256::digest(bytes));
            Ok(Policy {
                name,
                description,
                rules,
                digest,
                path: origin.display().to_string(),
            })
        }
        Err(problems) => Err(Error::input(
            origin,
            format!(
                "{} problem(s):\n  {}",
                problems.len(),
                problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ),
            "fix each line listed; docs/policies.md documents the rule format and the context",
        )),
    }
}

/// Parses and checks policy text.
/// The deepest bracket nesting (`[`/`{`, counted anywhere in the text) a policy may have.
/// The shipped policies nest 3 deep; a CEL condition deeper than 64 is refused by the
/// cost check anyway. The YAML parser is superlinear in flow-collection depth (100,000
/// `[` took minutes, found by the hostile corpus), so depth is checked before it runs.
pub const MAX_POLICY_NESTING: usize = 128;

/// The line where `text`'s bracket nesting first passes `limit`, if it does.
fn too_deep(text: &str, limit: usize) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    for c in text.chars() {
        match c {
            '[' | '{' => {
                depth += 1;
                if depth > limit {
                    return Some(line);
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            '\n' => line += 1,
            _ => {}
        }
    }
    None
}

/// Parses and checks a policy's text: its name, description and compiled rules, or
/// every problem found (sorted by line), not just the first.
pub fn parse(text: &str) -> Result<(String, String, Vec<Rule>), Vec<Problem>> {
    if let Some(line) = too_deep(text, MAX_POLICY_NESTING) {
        return Err(vec![Problem {
            line,
            rule: None,
            message: format!(
                "brackets nest deeper than {MAX_POLICY_NESTING} levels; a policy is a flat list of rules"
            ),
        }]);
    }
    // serde_norway (the maintained fork of serde_yaml) keeps error locations and
    // refuses alias expansion beyond a fixed budget ("billion laughs").
    let raw: RawPolicy = serde_norway::from_str(text).map_err(|e| {
        vec![Problem {
            line: e.location().map(|l| l.line()).unwrap_or(1),
            rule: None,
            message: e.to_string(),
        }]
    })?;
    let mut checker = RuleChecker::default();
    if raw.rules.is_empty() {
        checker.problems.push(Problem {
            line: 1,
            rule: None,
            message: "the policy has no rules".into(),
        });
    }
    let rules: Vec<Rule> = raw
        .rules
        .into_iter()
        .filter_map(|r| checker.rule(text, r))
        .collect();
    let mut problems = checker.problems;
    if problems.is_empty() {
        Ok((raw.name, raw.description, rules))
    } else {
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

/// The rules of one policy being checked: the problems found so far, the ids seen, and
/// each corpus of sample contexts, converted to CEL values once and shared by every rule.
#[derive(Default)]
struct RuleChecker {
    problems: Vec<Problem>,
    ids: BTreeSet<String>,
    corpora: std::collections::HashMap<bool, Vec<(Prepared, String)>>,
}

impl RuleChecker {
    fn problem(&mut self, line: usize, id: &str, message: String) {
        self.problems.push(Problem {
            line,
            rule: Some(id.to_string()),
            message,
        });
    }

    /// Checks one rule; `None` when its condition is too costly or not CEL.
    fn rule(&mut self, text: &str, r: RawRule) -> Option<Rule> {
        let line = line_of_rule(text, &r.id);
        self.names(line, &r);
        if r.delete.is_some()
            && (r.action != Action::Revoke || r.applies_to != AppliesTo::Credentials)
        {
            self.problem(
                line,
                &r.id,
                "`delete: principal` belongs on a revoke rule for credentials (it deletes the user or role a revoked credential belongs to)".into(),
            );
        }
        if r.disable.is_some()
            && (r.action != Action::Revoke || r.applies_to != AppliesTo::Credentials)
        {
            self.problem(
                line,
                &r.id,
                "`disable: principal` belongs on a revoke rule for credentials (it disables the GCP service account a revoked credential belongs to)".into(),
            );
        }
        if let Some(restrict) = &r.restrict {
            if !matches!(r.action, Action::Transfer | Action::RetainUntil)
                || r.applies_to != AppliesTo::Credentials
            {
                self.problem(
                    line,
                    &r.id,
                    "`restrict:` belongs on a transfer or retain-until rule for credentials (it restricts a GCP API key that is kept)".into(),
                );
            }
            for p in restrict.problems() {
                self.problem(line, &r.id, p);
            }
        }
        let (program, paths_known) = self.compile(line, &r)?;
        let rule = Rule {
            id: r.id,
            description: r.description,
            applies_to: r.applies_to,
            condition: r.condition,
            action: r.action,
            severity: r.severity,
            rationale: r.rationale,
            delete: r.delete,
            disable: r.disable,
            restrict: r.restrict,
            line,
            program,
        };
        if paths_known {
            self.try_on_corpus(&rule);
        }
        Some(rule)
    }

    /// A unique kebab-case id, and a description and rationale a person can read.
    fn names(&mut self, line: usize, r: &RawRule) {
        if !self.ids.insert(r.id.clone()) {
            self.problem(line, &r.id, "the id is used by an earlier rule".into());
        }
        if r.id.is_empty()
            || !r
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            self.problem(line, &r.id, "ids are kebab-case (a-z, 0-9, -)".into());
        }
        if r.description.trim().is_empty() || r.rationale.trim().is_empty() {
            self.problem(
                line,
                &r.id,
                "description and rationale must say something a person can read".into(),
            );
        }
    }

    /// The condition, within the cost limits and compiled, and whether every context
    /// path it reads exists for the rule's kind (each unknown one is a problem).
    fn compile(&mut self, line: usize, r: &RawRule) -> Option<(Program, bool)> {
        if let Err(m) = cost::check_text(&r.condition) {
            self.problem(line, &r.id, m);
            return None;
        }
        let program = match Program::compile(&r.condition) {
            Ok(p) => p,
            Err(e) => {
                let m = format!(
                    "the condition is not valid CEL: {}",
                    e.to_string().replace('\n', " ")
                );
                self.problem(line, &r.id, m);
                return None;
            }
        };
        if let Err(m) = cost::check_tree(program.expression()) {
            self.problem(line, &r.id, m);
            return None;
        }
        let mut found = BTreeSet::new();
        paths(program.expression(), &mut Vec::new(), &mut found);
        let schema = context::schema(r.applies_to);
        let mut known = true;
        for path in &found {
            if let Err(m) = context::check_path(&schema, path) {
                self.problem(line, &r.id, m);
                known = false;
            }
        }
        Some((program, known))
    }

    /// Type errors and never-matching rules, over a broad corpus of contexts.
    fn try_on_corpus(&mut self, rule: &Rule) {
        let corpus = self
            .corpora
            .entry(rule.applies_to == AppliesTo::Secrets)
            .or_insert_with(|| {
                context::corpus(rule.applies_to)
                    .into_iter()
                    .map(|s| {
                        (
                            Prepared::new(&s.context).expect("generated contexts convert"),
                            s.note,
                        )
                    })
                    .collect()
            });
        let mut matched = false;
        let mut failure = None;
        for (sample, note) in corpus.iter() {
            match rule.evaluate_prepared(sample) {
                Outcome::Match => matched = true,
                Outcome::NoMatch => {}
                Outcome::Failed(e) => {
                    failure = Some(format!("the condition fails {note}: {e}"));
                    matched = true;
                    break;
                }
            }
        }
        if let Some(m) = failure {
            self.problem(rule.line, &rule.id, m);
        }
        if !matched {
            self.problem(
                rule.line,
                &rule.id,
                "the condition matches no credential or secret of any kind, owner or age tried: check the values it compares with".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `delete: principal` only means something on a revoke rule for credentials: on
    /// any other it is refused at load with its line, never silently ignored.
    #[test]
    fn delete_principal_is_only_for_revoke_rules() {
        let rule = |action: &str| {
            format!("name: t\nrules:\n  - id: r\n    description: x\n    condition: 'true'\n    action: {action}\n    delete: principal\n    severity: low\n    rationale: x\n")
        };
        let (_, _, rules) = parse(&rule("revoke")).expect("a revoke rule may delete");
        assert_eq!(rules[0].delete, Some(Delete::Principal));
        for action in ["transfer", "review", "rotate"] {
            let problems = parse(&rule(action)).err().expect("refused");
            assert!(
                problems
                    .iter()
                    .any(|p| p.message.contains("delete: principal") && p.line == 3),
                "{problems:?}"
            );
        }
        let (_, _, rules) = parse(&one_rule("true")).unwrap();
        assert_eq!(rules[0].delete, None, "absent: deletes nothing");
    }

    /// `disable: principal` likewise: a revoke rule for credentials only, refused
    /// elsewhere with its line.
    #[test]
    fn disable_principal_is_only_for_revoke_rules() {
        let rule = |action: &str| {
            format!("name: t\nrules:\n  - id: r\n    description: x\n    condition: 'true'\n    action: {action}\n    disable: principal\n    severity: low\n    rationale: x\n")
        };
        let (_, _, rules) = parse(&rule("revoke")).expect("a revoke rule may disable");
        assert_eq!(rules[0].disable, Some(Disable::Principal));
        for action in ["transfer", "review", "rotate"] {
            let problems = parse(&rule(action)).err().expect("refused");
            assert!(
                problems
                    .iter()
                    .any(|p| p.message.contains("disable: principal") && p.line == 3),
                "{problems:?}"
            );
        }
        let (_, _, rules) = parse(&one_rule("true")).unwrap();
        assert_eq!(rules[0].disable, None, "absent: disables nothing");
    }

    /// `restrict:` (issue 17): a transfer or retain-until rule for credentials only,
    /// never leaving a key unrestricted, one client kind, well-formed entries.
    #[test]
    fn restrict_is_for_kept_keys_and_its_entries_are_checked() {
        let rule = |action: &str, restrict: &str| {
            format!("name: t\nrules:\n  - id: r\n    description: x\n    condition: 'true'\n    action: {action}\n    restrict: {restrict}\n    severity: low\n    rationale: x\n")
        };
        let good = "{api_targets: [maps-backend.googleapis.com], allowed_ips: [203.0.113.0/24, '2001:db8::1']}";
        for action in ["transfer", "retain-until"] {
            let (_, _, rules) = parse(&rule(action, good)).expect(action);
            let r = rules[0].restrict.clone().unwrap();
            assert_eq!(r.api_targets, ["maps-backend.googleapis.com"]);
            assert_eq!(
                r.to_google(),
                serde_json::json!({"apiTargets": [{"service": "maps-backend.googleapis.com"}],
                                   "serverKeyRestrictions": {"allowedIps": ["203.0.113.0/24", "2001:db8::1"]}})
            );
        }
        for (action, restrict, says) in [
            ("revoke", good, "belongs on a transfer or retain-until rule"),
            ("transfer", "{}", "would leave the key unrestricted"),
            (
                "transfer",
                "{allowed_referrers: [a.example], allowed_ips: [10.0.0.1]}",
                "not both",
            ),
            (
                "transfer",
                "{api_targets: ['Maps Backend']}",
                "is not a service name",
            ),
            (
                "transfer",
                "{allowed_ips: [10.0.0.1/33]}",
                "is not an IP address or CIDR range",
            ),
            (
                "transfer",
                "{allowed_referrers: ['']}",
                "allowed_referrers entry 1 is empty",
            ),
            (
                "transfer",
                "{api_target: [x.googleapis.com]}",
                "unknown field",
            ),
        ] {
            let problems = parse(&rule(action, restrict)).err().expect(restrict);
            assert!(
                problems.iter().any(|p| p.message.contains(says)),
                "{restrict}: {problems:?}"
            );
        }
        let many: Vec<String> = (0..=MAX_RESTRICT_ENTRIES)
            .map(|i| format!("s{i}.googleapis.com"))
            .collect();
        let problems = parse(&rule(
            "transfer",
            &format!("{{api_targets: [{}]}}", many.join(", ")),
        ))
        .err()
        .expect("too many");
        assert!(
            problems.iter().any(|p| p.message.contains("at most 100")),
            "{problems:?}"
        );
    }

    fn one_rule(condition: &str) -> String {
        format!("name: t\nrules:\n  - id: r\n    description: x\n    condition: '{condition}'\n    action: review\n    severity: low\n    rationale: x\n")
    }

    // Regression: context numbers were `uint`, so the documented int field could not
    // take `+ 1` ("unsupported binary operator UInt + Int").
    #[test]
    fn context_numbers_are_ints_as_documented() {
        let (_, _, rules) = parse(&one_rule(
            "credential.age_days != null && credential.age_days + 1 > 90",
        ))
        .unwrap_or_else(|p| panic!("{p:?}"));
        let ctx = context::for_credential(
            &context::CredentialCtx {
                age_days: Some(90),
                ..Default::default()
            },
            &context::PrincipalCtx::default(),
            &context::HandoverCtx::default(),
        );
        assert_eq!(rules[0].evaluate(&ctx), Outcome::Match);
    }

    // Regression: nested comprehensions ran past 60 s in `policy check`.
    #[test]
    fn a_costly_condition_is_refused_with_its_line_before_any_evaluation() {
        let mut deep = "x0 > 0".to_string();
        for i in 0..12 {
            deep = format!("[1, 2, 3, 4, 5].all(x{i}, {deep})");
        }
        let started = std::time::Instant::now();
        let problems = parse(&format!("name: t\nrules:\n  - id: ok\n    description: x\n    condition: \"true\"\n    action: review\n    severity: low\n    rationale: x\n{}", one_rule(&deep).split_once("rules:\n").unwrap().1)).err().expect("refused");
        // A hang guard: generous, the check itself takes milliseconds.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            (problems[0].line, problems[0].rule.as_deref()),
            (9, Some("r")),
            "{problems:?}"
        );
        assert!(
            problems[0].message.contains("nest more than"),
            "{problems:?}"
        );
    }

    // A YAML alias bomb ("billion laughs") is refused, not expanded.
    #[test]
    fn a_yaml_alias_bomb_is_refused_quickly() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let started = std::time::Instant::now();
        assert!(
            serde_norway::from_str::<serde_norway::Value>(&bomb).is_err(),
            "10^12 items are not built"
        );
        let policy = format!("name: t\ndescription: *a11\n{bomb}rules: *a11\n");
        assert!(parse(&policy).is_err());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }

    // Regression (hostile corpus, policy_yaml/deep-nesting.yaml): `name: [[[[…` 100,000
    // levels deep ran for minutes in the YAML parser. Depth is refused before parsing.
    #[test]
    fn deeply_nested_yaml_is_refused_before_parsing() {
        let started = std::time::Instant::now();
        for deep in [
            format!("name: {}\n", "[".repeat(100_000)),
            format!(
                "name: t\ndescription: d\nrules:\n  - id: x\n    condition: {}\n",
                "{a: ".repeat(50_000)
            ),
        ] {
            let Err(problems) = parse(&deep) else {
                panic!("a deep policy was accepted")
            };
            assert!(
                problems[0].message.contains("nest deeper"),
                "{}",
                problems[0].message
            );
        }
        let block = format!(
            "name: t\ndescription: d\nrules: {}x\n",
            "- ".repeat(100_000)
        );
        assert!(parse(&block).is_err());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }
}
