//! A policy statement's conditions as data: one `ConditionClause` per key of an IAM
//! `Condition` block (operator, qualifiers, key, values), built once by the provider that
//! parsed the document (`providers::aws::policy_doc`) and read as data by everyone else.
//!
//! Invariants:
//! - The display line (`StringLike token.actions.githubusercontent.com:sub = repo:org/*`)
//!   is derived from the data (`Display`) where it is shown, never stored, and never
//!   parsed back: a value holding `", "` or `" = "` stays one value.
//! - The operator round-trips: `ForAnyValue:`/`ForAllValues:` and `IfExists` are split
//!   off only when written exactly so, and `Display` writes them back as they were, so
//!   the line reads as the policy does.
//! - Clauses order by their display line (then by their fields), so a statement's
//!   clauses, and the grants holding them, keep the order they had as text.

use std::cmp::Ordering;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One key of a statement's `Condition` block: `{"StringLike": {"KEY": [VALUES]}}`.
/// The clauses of one statement are ANDed, the values of one clause ORed
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionClause {
    /// The operator without its qualifiers: `StringEquals`, `StringLike`,
    /// `DateLessThan`, `Bool`, ... as written.
    pub operator: String,
    /// `ForAnyValue:` / `ForAllValues:` before the operator (keys with several values).
    pub set_operator: Option<SetOperator>,
    /// The operator ends in `IfExists`: the clause also holds when the key is absent.
    pub if_exists: bool,
    /// The condition key as written: `sts:ExternalId`, `aws:SourceIp`, ...
    pub key: String,
    /// The values, any one of which matches; numbers and booleans as their JSON text.
    pub values: Vec<String>,
}

/// The set operators of multivalued condition keys
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum SetOperator {
    /// `ForAnyValue:`: at least one value of the request's set matches.
    ForAnyValue,
    /// `ForAllValues:`: every value of the request's set matches (an empty set does).
    ForAllValues,
}

impl SetOperator {
    fn prefix(self) -> &'static str {
        match self {
            SetOperator::ForAnyValue => "ForAnyValue:",
            SetOperator::ForAllValues => "ForAllValues:",
        }
    }
}

impl ConditionClause {
    /// A clause from an operator as the policy writes it (`ForAnyValue:StringLikeIfExists`),
    /// its key and its values.
    pub fn new(written_operator: &str, key: &str, values: Vec<String>) -> Self {
        let (set_operator, rest) = [SetOperator::ForAnyValue, SetOperator::ForAllValues]
            .into_iter()
            .find_map(|s| {
                written_operator
                    .strip_prefix(s.prefix())
                    .map(|r| (Some(s), r))
            })
            .unwrap_or((None, written_operator));
        let (operator, if_exists) = match rest.strip_suffix("IfExists") {
            Some(op) => (op, true),
            None => (rest, false),
        };
        ConditionClause {
            operator: operator.to_string(),
            set_operator,
            if_exists,
            key: key.to_string(),
            values,
        }
    }

    /// Is this clause on `key`? Condition keys are not case-sensitive
    /// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html).
    pub fn is_on(&self, key: &str) -> bool {
        self.key.eq_ignore_ascii_case(key)
    }

    /// A negated operator (`StringNotEquals`, `StringNotLike`, `ArnNotLike`, ...): its
    /// values name what is refused, not what is let in
    /// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
    pub fn is_negated(&self) -> bool {
        self.operator.contains("Not")
    }

    /// The operator as the policy writes it, qualifiers included.
    pub fn written_operator(&self) -> String {
        format!(
            "{}{}{}",
            self.set_operator.map(SetOperator::prefix).unwrap_or(""),
            self.operator,
            if self.if_exists { "IfExists" } else { "" }
        )
    }
}

/// One line: `StringEquals sts:ExternalId = a, b` (for display only).
impl fmt::Display for ConditionClause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} = {}",
            self.written_operator(),
            self.key,
            self.values.join(", ")
        )
    }
}

impl Ord for ConditionClause {
    fn cmp(&self, other: &Self) -> Ordering {
        self.to_string().cmp(&other.to_string()).then_with(|| {
            (
                &self.operator,
                self.set_operator,
                self.if_exists,
                &self.key,
                &self.values,
            )
                .cmp(&(
                    &other.operator,
                    other.set_operator,
                    other.if_exists,
                    &other.key,
                    &other.values,
                ))
        })
    }
}

impl PartialOrd for ConditionClause {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Clauses as one line each, joined by `sep` (`"; "` in tables and plan evidence,
/// `" and "` in findings).
pub fn condition_lines(clauses: &[ConditionClause], sep: &str) -> String {
    clauses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_operator_round_trips_whatever_its_qualifiers() {
        for op in [
            "StringEquals",
            "ForAnyValue:StringLike",
            "ForAllValues:StringEqualsIfExists",
            "DateLessThanIfExists",
            "IfExists",
            "ForAnyValue:",
            "forAnyValue:StringLike",
            "StringLikeifexists",
            "",
        ] {
            assert_eq!(ConditionClause::new(op, "k", vec![]).written_operator(), op);
        }
        let c = ConditionClause::new("ForAllValues:StringLikeIfExists", "aws:TagKeys", vec![]);
        assert_eq!(c.operator, "StringLike");
        assert_eq!(c.set_operator, Some(SetOperator::ForAllValues));
        assert!(c.if_exists);
    }

    #[test]
    fn a_value_holding_the_separators_stays_one_value() {
        let c = ConditionClause::new(
            "StringLike",
            "token.actions.githubusercontent.com:sub",
            vec!["repo:a/b:ref:refs/heads/main, repo:c/d".into()],
        );
        assert_eq!(c.values.len(), 1);
        assert_eq!(
            c.to_string(),
            "StringLike token.actions.githubusercontent.com:sub = repo:a/b:ref:refs/heads/main, repo:c/d"
        );
        assert!(c.is_on("Token.Actions.GithubUserContent.com:SUB"));
        assert!(!c.is_negated());
        assert!(ConditionClause::new("StringNotLike", "k", vec![]).is_negated());
    }

    #[test]
    fn clauses_order_by_their_display_line() {
        let mut cs = vec![
            ConditionClause::new("StringEquals", "b", vec!["1".into()]),
            ConditionClause::new("ForAnyValue:StringLike", "z", vec!["1".into()]),
            ConditionClause::new("StringEquals", "a", vec!["1".into()]),
        ];
        cs.sort();
        assert_eq!(
            condition_lines(&cs, "; "),
            "ForAnyValue:StringLike z = 1; StringEquals a = 1; StringEquals b = 1"
        );
    }
}
