//! Reading IAM policy documents: who a trust or resource policy lets in, and whether
//! an identity policy makes its holder admin-equivalent.
//!
//! Documents arrive URL-encoded from the IAM API and as JSON objects from the aws CLI;
//! both are accepted. The analysis is deliberately simple and says so: Allow statements
//! only (a Deny elsewhere may narrow what we report, never widen it).

use serde_json::Value;

use crate::model::{OutsideKind, OutsidePrincipal};

/// AWS managed policies that make their holder admin-equivalent: full access, or full
/// IAM, which can grant itself anything.
pub const ADMIN_MANAGED_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
];

/// One statement, reduced to what the audit reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statement {
    pub allow: bool,
    /// `(type, value)`: `("AWS", "arn:...")`, `("Federated", "...")`, `("*", "*")`.
    pub principals: Vec<(String, String)>,
    pub actions: Vec<String>,
    pub has_not_action: bool,
    pub resources: Vec<String>,
    pub has_not_resource: bool,
    /// One line per condition key: `StringLike token.actions.githubusercontent.com:sub = repo:org/*`.
    pub conditions: Vec<String>,
    pub condition_keys: Vec<String>,
}

/// Parses a document given as a JSON object, JSON text, or URL-encoded JSON text.
pub fn parse(doc: &Value) -> Result<Vec<Statement>, String> {
    let owned;
    let doc = match doc {
        Value::String(text) => {
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
    let mut conditions = Vec::new();
    let mut condition_keys = Vec::new();
    if let Some(Value::Object(ops)) = obj.get("Condition") {
        for (op, keys) in ops {
            if let Value::Object(keys) = keys {
                for (key, values) in keys {
                    let values = match values {
                        Value::Bool(b) => vec![b.to_string()],
                        Value::Number(n) => vec![n.to_string()],
                        other => strings(Some(other)),
                    };
                    conditions.push(format!("{op} {key} = {}", values.join(", ")));
                    condition_keys.push(key.to_ascii_lowercase());
                }
            }
        }
    }
    conditions.sort();
    Ok(Statement {
        allow,
        principals,
        actions: strings(obj.get("Action")),
        has_not_action: obj.contains_key("NotAction"),
        resources: strings(obj.get("Resource")),
        has_not_resource: obj.contains_key("NotResource"),
        conditions,
        condition_keys,
    })
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
            vec!["StringLike token.actions.githubusercontent.com:sub = repo:agency/app:*"]
        );
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        assert!(parse(&Value::String("%7B%22Statement".into())).is_err());
        assert!(parse(&json!({"Version":"2012-10-17"})).is_err());
        assert!(parse(&json!({"Statement":[{"Effect":"Maybe"}]})).is_err());
    }
}
