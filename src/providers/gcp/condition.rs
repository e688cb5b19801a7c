//! Does a GCP IAM condition make its binding end by itself? Decided once, on the
//! parsed CEL expression, when the binding is first read; the answer is a
//! `model::TimeBound` that everything downstream reads as data.
//!
//! IAM grants a conditional role binding only while its expression evaluates to true
//! (https://cloud.google.com/iam/docs/conditions-overview), and the documented way
//! to grant temporary access is a date/time condition on `request.time`, e.g.
//! `request.time < timestamp("2020-10-01T00:00:00.000Z")`
//! (https://cloud.google.com/iam/docs/conditions-attribute-reference#date-time,
//! and the `Policy` reference's "expirable access" example). So the binding provably
//! ends at T when the whole expression is a conjunction (`&&`, any nesting,
//! parentheses) of which at least one conjunct is
//! - `request.time < timestamp("T")` or its mirror `timestamp("T") > request.time`:
//!   refused from T on;
//! - `request.time <= timestamp("T")` or `timestamp("T") >= request.time`: an
//!   inclusive end, refused from just after T (`TimeBound::Until { inclusive: true }`).
//!
//! A conjunction is false as soon as one conjunct is false (CEL's `&&` is false if
//! either side is false, even when the other errors), so the other conjuncts cannot
//! keep access open. With several bounding conjuncts the earliest closes first.
//!
//! Anything else that mentions `request.time` (`||`, `!`, `?:`, a function around the
//! comparison, a timestamp that is not RFC 3339) is `Conditional`: not provably
//! time-bound, treated as permanent and reported. So is text that cannot be analysed
//! (not CEL, too long, nested too deep). An expression that never reads
//! `request.time` is `Unbounded`: it narrows access, but not in time.
//!
//! Hostile input is bounded before the parser sees it: a length cap, and caps on
//! bracket nesting and operator count (`model::CelTextShape`, a linear scan), then the
//! parser's own recursion limit; the walk over the tree is iterative. No input panics,
//! recurses without bound or loops.

use cel::common::ast::{operators, Expr, LiteralValue};
use cel::parser::Parser;
use cel::IdedExpr;
use chrono::{DateTime, Utc};

use crate::model::{CelTextShape, TimeBound};

/// The longest expression analysed. IAM's own limits on a condition are far smaller
/// (a whole allow policy is limited in size, and a condition is one field of one
/// binding); anything longer than this is not something IAM accepted, so it is not
/// analysed and is `Conditional`.
pub const MAX_EXPRESSION_BYTES: usize = 4096;

/// The deepest bracket nesting analysed (`(`, `[`, `{`), and the parser's recursion
/// limit. Real conditions nest a few levels.
pub const MAX_NESTING: u16 = 32;

/// The most operators analysed (see `CelTextShape`): every level of a member chain or
/// operator chain needs one, so this bounds the parser's recursion. Real conditions
/// have tens.
pub const MAX_OPERATORS: usize = 256;

/// What the expression proves about when the binding stops working.
pub fn time_bound(expression: &str) -> TimeBound {
    let conditional = |reason: &str| TimeBound::Conditional {
        reason: reason.to_string(),
    };
    if expression.len() > MAX_EXPRESSION_BYTES {
        return conditional(&format!(
            "the condition is longer than {MAX_EXPRESSION_BYTES} bytes, so it was not analysed"
        ));
    }
    let shape = CelTextShape::of(expression);
    if shape.nesting > usize::from(MAX_NESTING) {
        return conditional(&format!(
            "the condition nests deeper than {MAX_NESTING} levels, so it was not analysed"
        ));
    }
    if shape.operators > MAX_OPERATORS {
        return conditional(&format!(
            "the condition has more than {MAX_OPERATORS} operators, so it was not analysed"
        ));
    }
    let ast = match Parser::new()
        .max_recursion_depth(MAX_NESTING)
        .parse(expression)
    {
        Ok(ast) => ast,
        Err(_) => return conditional("the condition is not valid CEL, so nothing proves it ends"),
    };
    decide(&ast)
}

fn decide(ast: &IdedExpr) -> TimeBound {
    // The conjuncts of the top-level conjunction, gathered without recursion.
    let mut bound: Option<TimeBound> = None;
    let mut bad_timestamp = false;
    let mut stack = vec![ast];
    while let Some(e) = stack.pop() {
        match &e.expr {
            Expr::Call(c) if c.func_name == operators::LOGICAL_AND && c.target.is_none() => {
                stack.extend(c.args.iter())
            }
            _ => match comparison(e) {
                Some(Ok(b)) => {
                    bound = Some(match bound.take() {
                        Some(prev) => prev.earliest(b),
                        None => b,
                    })
                }
                Some(Err(())) => bad_timestamp = true,
                None => {}
            },
        }
    }
    if let Some(b) = bound {
        return b;
    }
    if bad_timestamp {
        return TimeBound::Conditional {
            reason: "the condition compares request.time with a timestamp that is not RFC 3339"
                .into(),
        };
    }
    if reads_request_time(ast) {
        TimeBound::Conditional {
            reason: "the condition reads request.time but is not a conjunction with `request.time < timestamp(...)`: an alternative (`||`), a negation or a function around it can keep access open".into(),
        }
    } else {
        TimeBound::Unbounded
    }
}

/// `request.time < timestamp("T")` and the forms that mean the same: `Some(Ok)` with
/// the bound; `Some(Err)` for such a comparison with an unreadable timestamp; `None`
/// for anything else.
fn comparison(e: &IdedExpr) -> Option<Result<TimeBound, ()>> {
    let Expr::Call(c) = &e.expr else { return None };
    if c.target.is_some() || c.args.len() != 2 {
        return None;
    }
    let (lhs, rhs) = (&c.args[0], &c.args[1]);
    // (the time on the left, the timestamp on the right, inclusive)
    let (time, stamp, inclusive) = match c.func_name.as_str() {
        operators::LESS => (lhs, rhs, false),
        operators::LESS_EQUALS => (lhs, rhs, true),
        operators::GREATER => (rhs, lhs, false),
        operators::GREATER_EQUALS => (rhs, lhs, true),
        _ => return None,
    };
    if !is_request_time(time) {
        return None;
    }
    let text = timestamp_literal(stamp)?;
    Some(match DateTime::parse_from_rfc3339(text) {
        Ok(at) => Ok(TimeBound::Until {
            at: at.with_timezone(&Utc),
            inclusive,
        }),
        Err(_) => Err(()),
    })
}

fn is_request_time(e: &IdedExpr) -> bool {
    matches!(&e.expr, Expr::Select(s) if s.field == "time" && !s.test && matches!(&s.operand.expr, Expr::Ident(n) if n == "request"))
}

/// The string of `timestamp("...")`.
fn timestamp_literal(e: &IdedExpr) -> Option<&str> {
    let Expr::Call(c) = &e.expr else { return None };
    if c.func_name != "timestamp" || c.target.is_some() || c.args.len() != 1 {
        return None;
    }
    match &c.args[0].expr {
        Expr::Literal(LiteralValue::String(s)) => Some(s.inner()),
        _ => None,
    }
}

/// Does any node read `request.time`? (Iterative: the tree's depth is not trusted.)
fn reads_request_time(ast: &IdedExpr) -> bool {
    let mut stack = vec![ast];
    while let Some(e) = stack.pop() {
        if is_request_time(e) {
            return true;
        }
        match &e.expr {
            Expr::Call(c) => {
                stack.extend(c.target.as_deref());
                stack.extend(c.args.iter());
            }
            Expr::Select(s) => stack.push(&s.operand),
            Expr::List(l) => stack.extend(l.elements.iter()),
            Expr::Map(m) => {
                for entry in &m.entries {
                    if let cel::common::ast::EntryExpr::MapEntry(me) = &entry.expr {
                        stack.push(&me.key);
                        stack.push(&me.value);
                    }
                }
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    if let cel::common::ast::EntryExpr::StructField(f) = &entry.expr {
                        stack.push(&f.value);
                    }
                }
            }
            Expr::Comprehension(c) => {
                stack.extend([
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ]);
            }
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn until(s: &str) -> TimeBound {
        TimeBound::before(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    fn conditional(expr: &str) -> bool {
        matches!(time_bound(expr), TimeBound::Conditional { .. })
    }

    #[test]
    fn a_plain_request_time_bound_ends_at_its_date() {
        assert_eq!(
            time_bound(r#"request.time < timestamp("2027-01-31T00:00:00Z")"#),
            until("2027-01-31T00:00:00Z")
        );
        assert_eq!(
            time_bound(r#"request.time<timestamp('2027-01-31T00:00:00Z')"#),
            until("2027-01-31T00:00:00Z")
        );
    }

    // Regression: `|| true` kept access open forever, yet was read as ending on the date.
    #[test]
    fn an_alternative_that_allows_is_not_a_bound() {
        assert!(conditional(
            r#"request.time < timestamp("2027-01-01T00:00:00Z") || true"#
        ));
        assert!(conditional(
            r#"true || request.time < timestamp("2027-01-01T00:00:00Z")"#
        ));
    }

    // Regression: a negated bound grants access *after* the date, yet was read as ending.
    #[test]
    fn a_negated_bound_is_not_a_bound() {
        assert!(conditional(
            r#"!(request.time < timestamp("2027-01-01T00:00:00Z"))"#
        ));
        assert!(conditional(
            r#"request.time < timestamp("2027-01-01T00:00:00Z") ? false : true"#
        ));
        assert!(conditional(
            r#"f(request.time < timestamp("2027-01-01T00:00:00Z"))"#
        ));
        assert!(conditional(
            r#"[request.time < timestamp("2027-01-01T00:00:00Z")].exists(x, true)"#
        ));
    }

    #[test]
    fn a_bound_inside_nested_conjunctions_counts() {
        let e = r#"resource.name.startsWith("projects/p") && ((request.time < timestamp("2027-01-01T00:00:00Z")) && (resource.type == "x" || true))"#;
        assert_eq!(time_bound(e), until("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn the_mirrored_comparison_counts_and_inclusive_ends_are_marked() {
        assert_eq!(
            time_bound(r#"timestamp("2027-01-01T00:00:00Z") > request.time"#),
            until("2027-01-01T00:00:00Z")
        );
        let t = DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            time_bound(r#"request.time <= timestamp("2027-01-01T00:00:00Z")"#),
            TimeBound::Until {
                at: t,
                inclusive: true
            }
        );
        assert_eq!(
            time_bound(r#"timestamp("2027-01-01T00:00:00Z") >= request.time"#),
            TimeBound::Until {
                at: t,
                inclusive: true
            }
        );
        // The wrong direction opens access from the date on.
        assert!(conditional(
            r#"request.time > timestamp("2027-01-01T00:00:00Z")"#
        ));
        assert!(conditional(
            r#"timestamp("2027-01-01T00:00:00Z") < request.time"#
        ));
    }

    #[test]
    fn with_two_bounds_the_earliest_closes_access() {
        let e = r#"request.time < timestamp("2028-01-01T00:00:00Z") && timestamp("2027-06-01T00:00:00+02:00") > request.time"#;
        assert_eq!(time_bound(e), until("2027-05-31T22:00:00Z"));
    }

    #[test]
    fn conditions_without_time_are_unbounded_and_garbage_is_conditional() {
        assert_eq!(
            time_bound(r#"resource.name.startsWith("projects/p/secrets/x")"#),
            TimeBound::Unbounded
        );
        assert!(conditional(r#"request.time < timestamp("#));
        assert!(conditional("&&&& ||| (("));
        assert!(conditional("\u{0}\u{1b}[31m"));
        assert!(conditional(r#"request.time < timestamp("next tuesday")"#));
        assert!(conditional(""));
    }

    // Hostile input: deep nesting and huge text are refused quickly, never a stack overflow.
    #[test]
    fn deep_nesting_and_huge_input_are_refused_without_overflow() {
        let started = std::time::Instant::now();
        let bound = r#"request.time < timestamp("2027-01-01T00:00:00Z")"#;
        for open in ["(", "[", "{"] {
            let deep = format!("{}{bound}", open.repeat(100_000));
            assert!(conditional(&deep));
        }
        let wrapped = format!(
            "{}{bound}{}",
            "(".repeat(MAX_NESTING as usize + 1),
            ")".repeat(MAX_NESTING as usize + 1)
        );
        assert!(conditional(&wrapped));
        assert!(conditional(&format!(
            "{bound} && {}",
            "true && ".repeat(1_000_000)
        )));
        // Long chains within the size cap, which brackets do not count: parsed or refused, never a crash.
        let n = MAX_EXPRESSION_BYTES / 2 - bound.len();
        // Each within the size cap, each more levels than a 2 MiB stack parses in a debug build.
        for chain in [
            format!("{bound} && a{}", ".a".repeat(n / 2)),
            format!("{bound} && {}", "!".repeat(n)),
            format!("{bound} && 1{} > 0", "+1".repeat(n / 2)),
            format!("{bound}{}", " && true".repeat(n / 8)),
        ] {
            assert!(conditional(&chain), "{}", &chain[..80]);
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }
}
