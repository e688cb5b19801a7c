//! Reading IAM policy documents: who a trust or resource policy lets in, and whether
//! an identity policy makes its holder admin-equivalent.
//!
//! Documents arrive URL-encoded from the IAM API and as JSON objects from the aws CLI;
//! both are accepted. The analysis is deliberately simple and says so: Allow statements
//! only (a Deny elsewhere may narrow what we report, never widen it).
//!
//! Whether a trust ends by itself is decided here, once, on the parsed `Condition`
//! object (`Statement::time_bound`, `trust_time_bound`), never on display text:
//! - conditions within one statement are ANDed, values of one key ORed, and separate
//!   statements ORed (any Allow lets the principal in)
//!   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html,
//!   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
//! - only `DateLessThan` / `DateLessThanEquals` on `aws:CurrentTime` or `aws:EpochTime`
//!   bound a statement. `...IfExists` is true when the key is absent, and the
//!   `ForAnyValue:` / `ForAllValues:` set operators are for multivalued keys (an empty
//!   set satisfies `ForAllValues`), so neither proves an end
//!   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
//!   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-currenttime);
//! - a principal is time-bound only when every Allow statement that lets it in (naming
//!   it, its account's root, or anyone) is; otherwise a date anywhere makes it
//!   `Conditional` (looks bounded, is not).
//!
//! Whether an identity's own policies end all its access at a date is decided here too
//! (`deny_all_time_bound`), on the parsed clauses: a Deny statement on every action and
//! resource (`"Action": "*"`, `"Resource": "*"`, no `NotAction`/`NotResource`) whose
//! every clause is `DateGreaterThan[Equals]` on `aws:CurrentTime`/`aws:EpochTime` (no
//! `IfExists`, no set operator) refuses every request from its date on, whatever any
//! Allow says (an explicit Deny always wins,
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
//! Several such statements: the earliest closes; a statement with any other clause
//! denies only sometimes and proves nothing.
//!
//! Hostile input is bounded: a document's text over `MAX_DOCUMENT_BYTES` or with more
//! than `MAX_STATEMENTS` statements is refused (an error, so a gap), far above what IAM
//! accepts (6,144 characters for a managed policy, 10,240 for a role's inline ones,
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); a date
//! that does not parse proves nothing.
//!
//! A statement's `Condition` block is also kept as data, one `model::ConditionClause`
//! per key with each value whole, for the inventory's trusts and grants: whoever reads
//! them (owner classification, tables, plan evidence) reads the clauses, never a line.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::model::{ConditionClause, OutsideKind, OutsidePrincipal, TimeBound};

/// AWS managed policies that make their holder admin-equivalent: full access, or full
/// IAM, which can grant itself anything.
pub const ADMIN_MANAGED_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
];

/// The longest policy document text read (URL-decoded or not); IAM's own quotas are
/// a few kilobytes, so anything near this is not from IAM.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// The most statements read from one document.
pub const MAX_STATEMENTS: usize = 1_000;

/// One statement, reduced to what the audit reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub allow: bool,
    /// `(type, value)`: `("AWS", "arn:...")`, `("Federated", "...")`, `("*", "*")`.
    pub principals: Vec<(String, String)>,
    pub actions: Vec<String>,
    pub has_not_action: bool,
    pub resources: Vec<String>,
    pub has_not_resource: bool,
    /// One clause per condition key (`StringLike`, `token.actions.githubusercontent.com:sub`,
    /// `["repo:org/*"]`), ordered by display line.
    pub conditions: Vec<ConditionClause>,
    /// What this statement's own conditions prove about when it stops allowing.
    pub time_bound: TimeBound,
}

impl Default for Statement {
    fn default() -> Self {
        Statement {
            allow: false,
            principals: Vec::new(),
            actions: Vec::new(),
            has_not_action: false,
            resources: Vec::new(),
            has_not_resource: false,
            conditions: Vec::new(),
            time_bound: TimeBound::Unbounded,
        }
    }
}

/// Parses a document given as a JSON object, JSON text, or URL-encoded JSON text.
pub fn parse(doc: &Value) -> Result<Vec<Statement>, String> {
    let owned;
    let doc = match doc {
        Value::String(text) => {
            if text.len() > MAX_DOCUMENT_BYTES {
                return Err(format!(
                    "the policy document is {} bytes, over the {MAX_DOCUMENT_BYTES} read",
                    text.len()
                ));
            }
            let decoded = if text.trim_start().starts_with('{') {
                text.clone()
            } else {
                percent_encoding::percent_decode_str(text)
                    .decode_utf8()
                    .map_err(|_| {
                        "the policy document is not valid UTF-8 after URL-decoding".to_string()
                    })?
                    .into_owned()
            };
            owned = serde_json::from_str::<Value>(&decoded)
                .map_err(|e| format!("the policy document is not JSON ({e})"))?;
            &owned
        }
        v => v,
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(v @ Value::Object(_)) => vec![v],
        Some(_) => return Err("`Statement` is neither an object nor a list".into()),
        None => return Err("the policy document has no `Statement`".into()),
    };
    if statements.len() > MAX_STATEMENTS {
        return Err(format!(
            "the policy document has {} statements, over the {MAX_STATEMENTS} read",
            statements.len()
        ));
    }
    statements.into_iter().map(parse_statement).collect()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn parse_statement(v: &Value) -> Result<Statement, String> {
    let obj = v.as_object().ok_or("a statement is not an object")?;
    let allow = match obj.get("Effect").and_then(Value::as_str) {
        Some("Allow") => true,
        Some("Deny") => false,
        _ => return Err("a statement has no Effect of Allow or Deny".into()),
    };
    let mut principals = Vec::new();
    match obj.get("Principal") {
        Some(Value::String(s)) if s == "*" => principals.push(("*".to_string(), "*".to_string())),
        Some(Value::Object(map)) => {
            for (kind, values) in map {
                for value in strings(Some(values)) {
                    principals.push((kind.clone(), value));
                }
            }
        }
        _ => {}
    }
    let conditions = condition_clauses(obj.get("Condition"));
    let time_bound = statement_time_bound(obj.get("Condition"));
    Ok(Statement {
        allow,
        principals,
        actions: strings(obj.get("Action")),
        has_not_action: obj.contains_key("NotAction"),
        resources: strings(obj.get("Resource")),
        has_not_resource: obj.contains_key("NotResource"),
        conditions,
        time_bound,
    })
}

/// The `Condition` block as clauses, one per key, each value kept whole (a value holding
/// `", "` is one value); ordered by display line so the statement reads as before.
fn condition_clauses(condition: Option<&Value>) -> Vec<ConditionClause> {
    let mut clauses = Vec::new();
    if let Some(Value::Object(ops)) = condition {
        for (op, keys) in ops {
            let Value::Object(keys) = keys else { continue };
            for (key, values) in keys {
                let values = match values {
                    Value::Bool(b) => vec![b.to_string()],
                    Value::Number(n) => vec![n.to_string()],
                    other => strings(Some(other)),
                };
                clauses.push(ConditionClause::new(op, key, values));
            }
        }
    }
    clauses.sort_by_cached_key(ToString::to_string);
    clauses
}

/// The condition keys that hold the time of the request.
fn is_time_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("aws:CurrentTime") || key.eq_ignore_ascii_case("aws:EpochTime")
}

/// A date condition value: ISO 8601 (`2027-01-31T00:00:00Z`, `2027-01-31`) or epoch
/// seconds, as the date operators accept them. Anything else is unreadable.
fn date_value(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            }
            if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
            }
            if !s.is_empty() && s.len() <= 12 && s.chars().all(|c| c.is_ascii_digit()) {
                return s
                    .parse::<i64>()
                    .ok()
                    .and_then(|secs| DateTime::from_timestamp(secs, 0));
            }
            None
        }
        _ => None,
    }
}

/// What one statement's `Condition` object proves: the earliest bound among its
/// `DateLessThan[Equals]` time conditions (ANDed); for one key, the latest of its values
/// (ORed). A time condition that proves nothing makes it `Conditional`.
fn statement_time_bound(condition: Option<&Value>) -> TimeBound {
    let Some(Value::Object(ops)) = condition else {
        return TimeBound::Unbounded;
    };
    let mut bound: Option<TimeBound> = None;
    let mut doubt: Option<String> = None;
    for (op, keys) in ops {
        let Value::Object(keys) = keys else { continue };
        for (key, values) in keys {
            let inclusive = match op.as_str() {
                "DateLessThan" => false,
                "DateLessThanEquals" => true,
                _ => {
                    if is_time_key(key) || op.contains("Date") {
                        doubt.get_or_insert_with(|| format!("`{op}` on `{key}` does not prove an end (only DateLessThan[Equals] on aws:CurrentTime or aws:EpochTime does; IfExists holds when the key is absent)"));
                    }
                    continue;
                }
            };
            if !is_time_key(key) {
                doubt.get_or_insert_with(|| {
                    format!("`{op}` on `{key}` is not the time of the request")
                });
                continue;
            }
            let list: Vec<&Value> = match values {
                Value::Array(items) => items.iter().collect(),
                v => vec![v],
            };
            let dates: Option<Vec<DateTime<Utc>>> = list.iter().map(|v| date_value(v)).collect();
            match dates.as_deref().and_then(|d| d.iter().max()) {
                Some(at) => {
                    let b = TimeBound::Until { at: *at, inclusive };
                    bound = Some(match bound.take() {
                        Some(prev) => prev.earliest(b),
                        None => b,
                    });
                }
                None => {
                    doubt.get_or_insert_with(|| {
                        format!("`{op}` on `{key}` has a value that is not a date")
                    });
                }
            }
        }
    }
    match (bound, doubt) {
        (Some(b), _) => b,
        (None, Some(reason)) => TimeBound::Conditional { reason },
        (None, None) => TimeBound::Unbounded,
    }
}

/// What one identity-policy statement proves about the end of all its holder's access:
/// `Some(Until)` for a Deny on every action and resource whose every clause is a
/// `DateGreaterThan[Equals]` on the request time (values of one key ORed: the earliest
/// closes; keys ANDed: the latest); `Some(Conditional)` for such a Deny whose time
/// clauses prove nothing; `None` for any other statement.
fn deny_all_bound(st: &Statement) -> Option<TimeBound> {
    let everything = !st.allow
        && !st.has_not_action
        && !st.has_not_resource
        && st.actions.iter().any(|a| a == "*" || a == "*:*")
        && st.resources.iter().any(|r| r == "*");
    if !everything || st.conditions.is_empty() {
        // An unconditional deny-everything refuses now, not at a date: not a bound
        // this analysis claims (the holder's credentials are simply useless).
        return None;
    }
    let mut bound: Option<TimeBound> = None;
    for c in &st.conditions {
        let inclusive = match c.operator.as_str() {
            // Refused when now > T: allowed through T itself.
            "DateGreaterThan" => true,
            // Refused when now >= T.
            "DateGreaterThanEquals" => false,
            _ if is_time_key(&c.key) || c.operator.starts_with("Date") => {
                return Some(TimeBound::Conditional {
                    reason: format!(
                        "a deny-everything statement's `{}` on `{}` does not prove an end",
                        c.written_operator(),
                        c.key
                    ),
                })
            }
            // Another condition (MFA, source IP, ...): it denies only sometimes.
            _ => return None,
        };
        if c.if_exists || c.set_operator.is_some() || !is_time_key(&c.key) {
            return Some(TimeBound::Conditional {
                reason: format!(
                    "a deny-everything statement's `{}` on `{}` does not prove an end (only DateGreaterThan[Equals] on aws:CurrentTime or aws:EpochTime does)",
                    c.written_operator(),
                    c.key
                ),
            });
        }
        let dates: Option<Vec<DateTime<Utc>>> = c
            .values
            .iter()
            .map(|v| date_value(&Value::String(v.clone())))
            .collect();
        let Some(first) = dates.as_deref().and_then(|d| d.iter().min()).copied() else {
            return Some(TimeBound::Conditional {
                reason: format!(
                    "a deny-everything statement's `{}` on `{}` has a value that is not a date",
                    c.written_operator(),
                    c.key
                ),
            });
        };
        let b = TimeBound::Until {
            at: first,
            inclusive,
        };
        // Clauses are ANDed: the deny holds once the last of them does.
        bound = Some(match bound.take() {
            Some(prev) => prev.latest(b),
            None => b,
        });
    }
    bound
}

/// Whether an identity's policies (its own and its groups' statements, all together)
/// refuse its every request from a date on: the earliest such Deny; `Conditional` when
/// a deny-everything statement touches time without proving an end and none proves
/// one; `Unbounded` otherwise.
pub fn deny_all_time_bound<'a>(statements: impl IntoIterator<Item = &'a Statement>) -> TimeBound {
    let mut proven: Option<TimeBound> = None;
    let mut doubt: Option<TimeBound> = None;
    for b in statements.into_iter().filter_map(deny_all_bound) {
        match b {
            b @ TimeBound::Until { .. } => {
                proven = Some(match proven.take() {
                    Some(prev) => prev.earliest(b),
                    None => b,
                })
            }
            c @ TimeBound::Conditional { .. } => {
                doubt.get_or_insert(c);
            }
            TimeBound::Unbounded => {}
        }
    }
    proven.or(doubt).unwrap_or(TimeBound::Unbounded)
}

/// Does this Allow statement let `p` in: by naming it, its account's root, or anyone?
fn lets_in(st: &Statement, p: &OutsidePrincipal, own_account: &str) -> bool {
    outside_principals(st, own_account).iter().any(|q| {
        q.kind == OutsideKind::Wildcard
            || (q.kind == p.kind && q.value == p.value)
            || (q.kind == OutsideKind::Account
                && p.kind == OutsideKind::Account
                && q.account_id.is_some()
                && q.account_id == p.account_id
                && (q.value.ends_with(":root") || q.value.len() == 12))
    })
}

/// Does the trust policy let `p` in only until a date? Every Allow statement that lets
/// it in must be bounded (statements are ORed); access lasts until the latest bound.
pub fn trust_time_bound(
    statements: &[Statement],
    p: &OutsidePrincipal,
    own_account: &str,
) -> TimeBound {
    let mut latest: Option<TimeBound> = None;
    let mut open = 0usize;
    let mut doubt: Option<String> = None;
    for st in statements
        .iter()
        .filter(|st| st.allow && lets_in(st, p, own_account))
    {
        match &st.time_bound {
            b @ TimeBound::Until { .. } => {
                latest = Some(match latest.take() {
                    Some(prev) => prev.latest(b.clone()),
                    None => b.clone(),
                })
            }
            TimeBound::Conditional { reason } => {
                doubt.get_or_insert_with(|| reason.clone());
            }
            TimeBound::Unbounded => open += 1,
        }
    }
    match (latest, doubt, open) {
        (Some(b), None, 0) => b,
        (Some(b), None, _) => TimeBound::Conditional {
            reason: format!(
                "one statement ends it at {}, but another Allow statement lets {} in with no end",
                b.end()
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
                p.value
            ),
        },
        (_, Some(reason), _) => TimeBound::Conditional { reason },
        (None, None, _) => TimeBound::Unbounded,
    }
}

/// Does this identity-policy statement grant everything (or all of IAM) on everything?
pub fn grants_admin(st: &Statement) -> bool {
    st.allow
        && !st.has_not_action
        && !st.has_not_resource
        && st
            .actions
            .iter()
            .any(|a| a == "*" || a == "*:*" || a.eq_ignore_ascii_case("iam:*"))
        && st.resources.iter().any(|r| r == "*")
}

/// The account id inside an ARN (`arn:aws:iam::123456789012:root`) or a bare account id.
pub fn account_of(value: &str) -> Option<String> {
    if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
        return Some(value.to_string());
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() >= 5 && parts[0] == "arn" {
        let acct = parts[4];
        if acct.len() == 12 && acct.chars().all(|c| c.is_ascii_digit()) {
            return Some(acct.to_string());
        }
    }
    None
}

/// The principals of an Allow statement that come from outside `own_account`.
/// Service principals and the account's own principals are not outside.
pub fn outside_principals(st: &Statement, own_account: &str) -> Vec<OutsidePrincipal> {
    if !st.allow {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (kind, value) in &st.principals {
        let principal = match kind.as_str() {
            "*" => Some(OutsidePrincipal {
                kind: OutsideKind::Wildcard,
                value: "*".into(),
                account_id: None,
            }),
            "AWS" if value == "*" => Some(OutsidePrincipal {
                kind: OutsideKind::Wildcard,
                value: "*".into(),
                account_id: None,
            }),
            "AWS" => {
                let account = account_of(value);
                match account.as_deref() {
                    Some(a) if a == own_account => None,
                    // A unique id (AIDA..., AROA...) is what IAM shows once the principal
                    // it named was deleted: it lets nobody in any more, but we cannot
                    // tell whose it was.
                    _ => Some(OutsidePrincipal {
                        kind: OutsideKind::Account,
                        value: value.clone(),
                        account_id: account,
                    }),
                }
            }
            "Federated" => {
                let kind = if value.contains(":saml-provider/") {
                    OutsideKind::FederatedSaml
                } else {
                    OutsideKind::FederatedOidc
                };
                Some(OutsidePrincipal {
                    kind,
                    value: value.clone(),
                    account_id: account_of(value),
                })
            }
            _ => None,
        };
        out.extend(principal);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_encoded_and_object_documents_read_the_same() {
        let obj = json!({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}});
        let encoded = percent_encoding::utf8_percent_encode(
            &obj.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        assert_eq!(
            parse(&obj).unwrap(),
            parse(&Value::String(encoded)).unwrap()
        );
        assert!(grants_admin(&parse(&obj).unwrap()[0]));
    }

    #[test]
    fn power_user_style_not_action_is_not_admin() {
        let doc = json!({"Statement":[{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"}]});
        assert!(!grants_admin(&parse(&doc).unwrap()[0]));
    }

    #[test]
    fn trust_principals_outside_the_account() {
        let doc = json!({"Statement":[
            {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::123456789012:root"]},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity",
             "Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:agency/app:*"}}},
            {"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}
        ]});
        let sts = parse(&doc).unwrap();
        let outside: Vec<_> = sts
            .iter()
            .flat_map(|s| outside_principals(s, "123456789012"))
            .collect();
        assert_eq!(outside.len(), 3);
        assert_eq!(outside[0].account_id.as_deref(), Some("111122223333"));
        assert_eq!(outside[1].kind, OutsideKind::FederatedOidc);
        assert_eq!(outside[2].kind, OutsideKind::Wildcard);
        assert_eq!(
            sts[1].conditions,
            vec![ConditionClause {
                operator: "StringLike".into(),
                set_operator: None,
                if_exists: false,
                key: "token.actions.githubusercontent.com:sub".into(),
                values: vec!["repo:agency/app:*".into()],
            }]
        );
        assert_eq!(
            sts[1].conditions[0].to_string(),
            "StringLike token.actions.githubusercontent.com:sub = repo:agency/app:*"
        );
    }

    fn trust(statements: Value) -> TimeBound {
        let st = parse(&json!({ "Statement": statements })).unwrap();
        let p = OutsidePrincipal {
            kind: OutsideKind::Account,
            value: "arn:aws:iam::111122223333:user/dan".into(),
            account_id: Some("111122223333".into()),
        };
        trust_time_bound(&st, &p, "123456789012")
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_date_less_than_current_time_in_the_granting_statement_bounds_it() {
        let b = trust(
            json!([{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/dan"},"Action":"sts:AssumeRole",
            "Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-31T00:00:00Z"},"StringEquals":{"sts:ExternalId":"x"}}}]),
        );
        assert_eq!(b, TimeBound::before(at("2027-01-31T00:00:00Z")));
        let b = trust(
            json!([{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/dan"},"Action":"sts:AssumeRole",
            "Condition":{"DateLessThanEquals":{"aws:EpochTime":1801353600}}}]),
        );
        assert_eq!(
            b,
            TimeBound::Until {
                at: at("2027-01-31T00:00:00Z"),
                inclusive: true
            }
        );
        // Values of one key are ORed: the latest one is the end.
        let b = trust(
            json!([{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/dan"},"Action":"sts:AssumeRole",
            "Condition":{"DateLessThan":{"aws:CurrentTime":["2027-01-31","2028-01-31"]}}}]),
        );
        assert_eq!(b, TimeBound::before(at("2028-01-31T00:00:00Z")));
    }

    // Regression: a bound in one statement was read as bounding a principal that a
    // second Allow statement lets in forever (statements are ORed).
    #[test]
    fn a_second_unbounded_allow_statement_makes_it_not_time_bound() {
        let bounded = json!({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/dan"},"Action":"sts:AssumeRole",
            "Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-31T00:00:00Z"}}});
        for other in [
            json!({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/dan"},"Action":"sts:AssumeRole"}),
            json!({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}),
            json!({"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}),
        ] {
            assert!(
                matches!(
                    trust(json!([bounded.clone(), other.clone()])),
                    TimeBound::Conditional { .. }
                ),
                "{other}"
            );
        }
        // Another principal's statement does not matter; a Deny never widens.
        let b = trust(
            json!([bounded, {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"},
            {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/dan"},"Action":"sts:AssumeRole"}]),
        );
        assert_eq!(b, TimeBound::before(at("2027-01-31T00:00:00Z")));
    }

    #[test]
    fn if_exists_for_any_value_and_unreadable_dates_do_not_bound() {
        for cond in [
            json!({"DateLessThanIfExists":{"aws:CurrentTime":"2027-01-31T00:00:00Z"}}),
            json!({"ForAnyValue:DateLessThan":{"aws:CurrentTime":"2027-01-31T00:00:00Z"}}),
            json!({"DateGreaterThan":{"aws:CurrentTime":"2027-01-31T00:00:00Z"}}),
            json!({"DateLessThan":{"aws:CurrentTime":"soon"}}),
            json!({"DateLessThan":{"aws:TokenIssueTime":"2027-01-31T00:00:00Z"}}),
        ] {
            let b = trust(
                json!([{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/dan"},"Action":"sts:AssumeRole","Condition":cond.clone()}]),
            );
            assert!(matches!(b, TimeBound::Conditional { .. }), "{cond}: {b:?}");
        }
        let b = trust(
            json!([{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/dan"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]),
        );
        assert_eq!(b, TimeBound::Unbounded);
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        assert!(parse(&Value::String("%7B%22Statement".into())).is_err());
        assert!(parse(&json!({"Version":"2012-10-17"})).is_err());
        assert!(parse(&json!({"Statement":[{"Effect":"Maybe"}]})).is_err());
    }

    fn user_bound(statements: Value) -> TimeBound {
        deny_all_time_bound(&parse(&json!({ "Statement": statements })).unwrap())
    }

    #[test]
    fn a_deny_everything_after_a_date_ends_the_users_access_then() {
        let deny =
            |cond: Value| json!({"Effect":"Deny","Action":"*","Resource":"*","Condition":cond});
        // DateGreaterThanEquals T: refused from T on.
        assert_eq!(
            user_bound(json!([deny(
                json!({"DateGreaterThanEquals":{"aws:CurrentTime":"2027-01-31T00:00:00Z"}})
            )])),
            TimeBound::before(at("2027-01-31T00:00:00Z"))
        );
        // DateGreaterThan T: allowed at T itself, refused just after.
        assert_eq!(
            user_bound(json!([deny(
                json!({"DateGreaterThan":{"aws:EpochTime":"1801353600"}})
            )])),
            TimeBound::Until {
                at: at("2027-01-31T00:00:00Z"),
                inclusive: true
            }
        );
        // Values ORed (the earliest closes); two deny statements: the earliest wins; an
        // Allow beside it changes nothing (an explicit Deny wins).
        assert_eq!(
            user_bound(json!([
                deny(json!({"DateGreaterThanEquals":{"aws:CurrentTime":["2028-01-01","2027-06-01"]}})),
                deny(json!({"DateGreaterThanEquals":{"aws:CurrentTime":"2027-03-01"}})),
                {"Effect":"Allow","Action":"*","Resource":"*"}
            ])),
            TimeBound::before(at("2027-03-01T00:00:00Z"))
        );
    }

    #[test]
    fn a_deny_that_is_narrower_or_unprovable_does_not_end_access() {
        let cases = [
            // Only some actions or resources.
            json!({"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2027-01-31"}}}),
            json!({"Effect":"Deny","Action":"*","Resource":"arn:aws:s3:::b/*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2027-01-31"}}}),
            json!({"Effect":"Deny","NotAction":"iam:*","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2027-01-31"}}}),
            // Another clause ANDed: it denies only sometimes.
            json!({"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2027-01-31"},"Bool":{"aws:MultiFactorAuthPresent":"false"}}}),
            // An Allow with a date is not a deny.
            json!({"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2027-01-31"}}}),
            // No condition: refused now, not at a date.
            json!({"Effect":"Deny","Action":"*","Resource":"*"}),
        ];
        for st in cases {
            assert_eq!(
                user_bound(json!([st.clone()])),
                TimeBound::Unbounded,
                "{st}"
            );
        }
        for cond in [
            json!({"DateGreaterThanIfExists":{"aws:CurrentTime":"2027-01-31"}}),
            json!({"ForAnyValue:DateGreaterThan":{"aws:CurrentTime":"2027-01-31"}}),
            json!({"DateLessThan":{"aws:CurrentTime":"2027-01-31"}}),
            json!({"DateGreaterThan":{"aws:TokenIssueTime":"2027-01-31"}}),
            // Malformed dates prove nothing (and never panic).
            json!({"DateGreaterThan":{"aws:CurrentTime":"2027-13-45"}}),
            json!({"DateGreaterThan":{"aws:CurrentTime":["2027-01-31", "soon"]}}),
            json!({"DateGreaterThan":{"aws:CurrentTime":"99999999999999999999"}}),
            json!({"DateGreaterThan":{"aws:CurrentTime":[]}}),
        ] {
            let st = json!({"Effect":"Deny","Action":"*","Resource":"*","Condition":cond.clone()});
            assert!(
                matches!(user_bound(json!([st])), TimeBound::Conditional { .. }),
                "{cond}"
            );
        }
    }

    #[test]
    fn huge_documents_and_too_many_statements_are_refused() {
        let many: Vec<Value> = (0..=MAX_STATEMENTS)
            .map(|_| json!({"Effect":"Deny","Action":"*","Resource":"*"}))
            .collect();
        assert!(parse(&json!({ "Statement": many }))
            .unwrap_err()
            .contains("statements"));
        let text = format!(
            "{{\"Statement\":[{{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\",\"Sid\":\"{}\"}}]}}",
            "x".repeat(MAX_DOCUMENT_BYTES)
        );
        assert!(parse(&Value::String(text)).unwrap_err().contains("bytes"));
    }
}
