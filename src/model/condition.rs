//! Whether a grant ends by itself: one typed verdict per grant, decided once by the
//! provider that read the condition (`providers::gcp::condition` for IAM conditions,
//! `providers::aws::policy_doc` for trust statements), and read as data by the audit,
//! the plan's policy context and `verify`, which never look at condition text again.
//!
//! Invariants:
//! - `Until` is only ever a proof: the whole condition is false from the bound on. A
//!   condition that merely mentions a date (`... || true`, `!(...)`, an `IfExists`
//!   operator, a second statement without the bound) is `Conditional`, never `Until`.
//! - A `Conditional` grant is treated as lasting until removed: it is never "expired",
//!   and it never proves that retained access ends.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// When a grant stops working by itself, as far as its condition proves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TimeBound {
    /// Nothing about it ends by itself: it lasts until someone removes it.
    Unbounded,
    /// Provably refused from `at` on (`request.time < T`, `DateLessThan`), or, when
    /// `inclusive`, from just after `at` (`request.time <= T`, `DateLessThanEquals`).
    Until { at: DateTime<Utc>, inclusive: bool },
    /// A condition touches time but does not prove an end (an alternative that allows,
    /// a negation, an `IfExists` operator, an expression that could not be analysed):
    /// treated as lasting until removed, and reported as a finding.
    Conditional { reason: String },
}

impl TimeBound {
    /// Refused from `at` on (`<`).
    pub fn before(at: DateTime<Utc>) -> Self {
        TimeBound::Until {
            at,
            inclusive: false,
        }
    }

    /// The proven end, where there is one (for display: "until 2027-01-31").
    pub fn end(&self) -> Option<DateTime<Utc>> {
        match self {
            TimeBound::Until { at, .. } => Some(*at),
            _ => None,
        }
    }

    /// Has the grant provably stopped working at `now`?
    pub fn ended_at(&self, now: DateTime<Utc>) -> bool {
        match self {
            TimeBound::Until {
                at,
                inclusive: false,
            } => now >= *at,
            TimeBound::Until {
                at,
                inclusive: true,
            } => now > *at,
            _ => false,
        }
    }

    /// Is it provably refused at every instant from `deadline` on?
    pub fn ends_by(&self, deadline: DateTime<Utc>) -> bool {
        match self {
            TimeBound::Until {
                at,
                inclusive: false,
            } => *at <= deadline,
            TimeBound::Until {
                at,
                inclusive: true,
            } => *at < deadline,
            _ => false,
        }
    }

    /// The earliest of two proven ends (conditions ANDed: the first to close wins).
    pub fn earliest(self, other: TimeBound) -> TimeBound {
        match (self, other) {
            (a @ TimeBound::Until { .. }, b @ TimeBound::Until { .. }) => {
                // Compare the first refused instant: `< T` closes at T, `<= T` just after.
                let key = |t: &TimeBound| match t {
                    TimeBound::Until { at, inclusive } => (*at, *inclusive),
                    _ => unreachable!("both are Until"),
                };
                if key(&a) <= key(&b) {
                    a
                } else {
                    b
                }
            }
            (a @ TimeBound::Until { .. }, _) | (_, a @ TimeBound::Until { .. }) => a,
            (a, _) => a,
        }
    }

    /// The latest of two ends (grants ORed: access lasts while any one allows). Any
    /// alternative that is not proven to end makes the whole not proven.
    pub fn latest(self, other: TimeBound) -> TimeBound {
        match (self, other) {
            (a @ TimeBound::Until { .. }, b @ TimeBound::Until { .. }) => {
                let key = |t: &TimeBound| match t {
                    TimeBound::Until { at, inclusive } => (*at, *inclusive),
                    _ => unreachable!("both are Until"),
                };
                if key(&a) >= key(&b) {
                    a
                } else {
                    b
                }
            }
            (c @ TimeBound::Conditional { .. }, _) | (_, c @ TimeBound::Conditional { .. }) => c,
            _ => TimeBound::Unbounded,
        }
    }
}

/// The shape of a CEL condition's text, read by a linear scan before any parser sees
/// it (`providers::gcp::condition`, `policy::cost`): the deepest bracket nesting and the
/// number of operator characters, both outside string literals. A parser and its tree
/// recurse once per nested bracket, member access, index or binary operator, so
/// capping these caps the recursion: a hostile text can neither overflow the stack nor
/// build a tree too deep to drop. An unbalanced quote only makes the counts wrong in
/// the safe direction (the text is then refused, never misread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CelTextShape {
    pub nesting: usize,
    pub operators: usize,
}

impl CelTextShape {
    pub fn of(text: &str) -> Self {
        let (mut depth, mut nesting, mut operators) = (0usize, 0usize, 0usize);
        let mut quote: Option<char> = None;
        let mut escaped = false;
        for c in text.chars() {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '"' | '\'' => quote = Some(c),
                '(' | '[' | '{' => {
                    depth += 1;
                    nesting = nesting.max(depth);
                    operators += 1;
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                '.' | '+' | '-' | '*' | '/' | '%' | '<' | '>' | '=' | '!' | '&' | '|' | '?'
                | ':' | ',' => operators += 1,
                _ => {}
            }
        }
        CelTextShape { nesting, operators }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_counts_outside_string_literals_only() {
        let s = CelTextShape::of(
            r#"request.time < timestamp("2027-01-01T00:00:00Z") && f('(((', "\"[[[")"#,
        );
        assert_eq!(s.nesting, 1);
        assert_eq!(s.operators, 7, "{s:?}");
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn an_exclusive_end_is_over_at_its_instant_an_inclusive_one_just_after() {
        let t = at("2027-01-31T00:00:00Z");
        let lt = TimeBound::before(t);
        let le = TimeBound::Until {
            at: t,
            inclusive: true,
        };
        assert!(lt.ended_at(t) && !le.ended_at(t));
        assert!(lt.ends_by(t) && !le.ends_by(t));
        assert!(le.ends_by(at("2027-01-31T00:00:01Z")));
        assert!(!TimeBound::Conditional { reason: "x".into() }.ended_at(at("2100-01-01T00:00:00Z")));
        assert!(!TimeBound::Unbounded.ends_by(at("2100-01-01T00:00:00Z")));
    }

    #[test]
    fn and_takes_the_earliest_end_or_takes_the_latest_and_any_open_alternative_wins() {
        let a = TimeBound::before(at("2027-01-01T00:00:00Z"));
        let b = TimeBound::before(at("2028-01-01T00:00:00Z"));
        assert_eq!(a.clone().earliest(b.clone()), a);
        assert_eq!(a.clone().latest(b.clone()), b);
        assert_eq!(a.clone().earliest(TimeBound::Unbounded), a);
        assert_eq!(a.clone().latest(TimeBound::Unbounded), TimeBound::Unbounded);
        assert!(matches!(
            a.latest(TimeBound::Conditional { reason: "r".into() }),
            TimeBound::Conditional { .. }
        ));
    }
}
