//! A cost limit for rule conditions, checked on the text and the parsed tree before
//! anything is evaluated. The `cel` interpreter has no runtime budget, and a
//! comprehension inside a comprehension multiplies work (`[1,2,3].all(x, [1,2,3].all(y,
//! ...))` nested ten deep is 3^10 iterations, per context, for each of the ~1200
//! contexts `policy check` tries), so a condition is refused when:
//! - its text is longer than `MAX_CONDITION_BYTES`, or has more than `MAX_OPERATORS`
//!   operators or brackets nested deeper than `MAX_DEPTH` (a linear scan that bounds the
//!   parser's recursion before it runs);
//! - its tree has more than `MAX_NODES` nodes or is deeper than `MAX_DEPTH`;
//! - comprehensions nest deeper than `MAX_COMPREHENSION_NESTING`;
//! - its estimated cost exceeds `MAX_COST`: one unit per node, and a comprehension
//!   costs its body times the size of what it ranges over (a list literal's length, the
//!   sum for `a + b`, the range of a `map`/`filter`; `UNKNOWN_RANGE` for a context
//!   list, whose real size is small: findings, tags).
//!
//! Real rules cost tens of units; the limits leave them room by orders of magnitude.

use cel::common::ast::{operators, EntryExpr, Expr};
use cel::IdedExpr;

use crate::model::CelTextShape;

pub const MAX_CONDITION_BYTES: usize = 4096;
pub const MAX_OPERATORS: usize = 512;
pub const MAX_NODES: usize = 2000;
pub const MAX_DEPTH: usize = 64;
pub const MAX_COMPREHENSION_NESTING: usize = 3;
pub const MAX_COST: u64 = 10_000;
/// The size assumed for a list that is not written in the condition (a context list).
pub const UNKNOWN_RANGE: u64 = 32;

/// Before parsing: the text is of a size and shape a person writes. Operators bound
/// the parser's recursion (see `model::CelTextShape`).
pub fn check_text(condition: &str) -> Result<(), String> {
    if condition.len() > MAX_CONDITION_BYTES {
        return Err(format!("the condition is {} bytes long, more than the {MAX_CONDITION_BYTES} a condition may have; split the rule", condition.len()));
    }
    let shape = CelTextShape::of(condition);
    if shape.operators > MAX_OPERATORS || shape.nesting > MAX_DEPTH {
        return Err(format!("the condition has {} operators and nests {} deep (at most {MAX_OPERATORS} and {MAX_DEPTH}); split the rule", shape.operators, shape.nesting));
    }
    Ok(())
}

/// After parsing, before evaluating: the tree is small, shallow and cheap to evaluate.
pub fn check_tree(root: &IdedExpr) -> Result<(), String> {
    // Size and depth first, without recursion: the tree's shape is not trusted yet.
    let (mut nodes, mut deepest) = (0usize, 0usize);
    let mut stack = vec![(root, 1usize)];
    while let Some((e, depth)) = stack.pop() {
        nodes += 1;
        deepest = deepest.max(depth);
        if nodes > MAX_NODES {
            return Err(format!(
                "the condition has more than {MAX_NODES} parts; split the rule"
            ));
        }
        if deepest > MAX_DEPTH {
            return Err(format!(
                "the condition nests deeper than {MAX_DEPTH} levels; simplify it"
            ));
        }
        stack.extend(children(e).into_iter().map(|c| (c, depth + 1)));
    }
    // Now recursion is bounded by MAX_DEPTH.
    let cost = cost(root, 0)?;
    if cost > MAX_COST {
        return Err(format!(
            "the condition is too costly to evaluate (estimated {cost} steps per credential, the limit is {MAX_COST}): comprehensions (`all`, `exists`, `map`, `filter`) over large lists or inside one another multiply the work"
        ));
    }
    Ok(())
}

fn children(e: &IdedExpr) -> Vec<&IdedExpr> {
    match &e.expr {
        Expr::Call(c) => c
            .target
            .as_deref()
            .into_iter()
            .chain(c.args.iter())
            .collect(),
        Expr::Select(s) => vec![&s.operand],
        Expr::List(l) => l.elements.iter().collect(),
        Expr::Map(m) => m
            .entries
            .iter()
            .flat_map(|entry| match &entry.expr {
                EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
                EntryExpr::StructField(f) => vec![&f.value],
            })
            .collect(),
        Expr::Struct(s) => s
            .entries
            .iter()
            .flat_map(|entry| match &entry.expr {
                EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
                EntryExpr::StructField(f) => vec![&f.value],
            })
            .collect(),
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Vec::new(),
    }
}

/// The estimated number of steps to evaluate `e`, within `nesting` comprehensions.
fn cost(e: &IdedExpr, nesting: usize) -> Result<u64, String> {
    if let Expr::Comprehension(c) = &e.expr {
        if nesting + 1 > MAX_COMPREHENSION_NESTING {
            return Err(format!(
                "comprehensions (`all`, `exists`, `map`, `filter`) nest more than {MAX_COMPREHENSION_NESTING} deep, which multiplies the work; simplify the condition"
            ));
        }
        let per_item = 1u64
            .saturating_add(cost(&c.loop_cond, nesting + 1)?)
            .saturating_add(cost(&c.loop_step, nesting + 1)?);
        return Ok(cost(&c.iter_range, nesting)?
            .saturating_add(cost(&c.accu_init, nesting)?)
            .saturating_add(size(&c.iter_range).saturating_mul(per_item))
            .saturating_add(cost(&c.result, nesting)?));
    }
    let mut total = 1u64;
    for c in children(e) {
        total = total.saturating_add(cost(c, nesting)?);
    }
    Ok(total)
}

/// How many items a comprehension over `e` visits, at most.
fn size(e: &IdedExpr) -> u64 {
    match &e.expr {
        Expr::List(l) => l.elements.len() as u64,
        Expr::Map(m) => m.entries.len() as u64,
        Expr::Call(c) if c.func_name == operators::ADD && c.args.len() == 2 => {
            size(&c.args[0]).saturating_add(size(&c.args[1]))
        }
        // `map` and `filter` give at most one item per item of their range.
        Expr::Comprehension(c) => size(&c.iter_range),
        _ => UNKNOWN_RANGE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(condition: &str) -> Result<(), String> {
        check_text(condition)?;
        let p = cel::Program::compile(condition).map_err(|e| e.to_string())?;
        check_tree(p.expression())
    }

    #[test]
    fn ordinary_rules_pass() {
        for ok in [
            r#"principal.owner == "agency" && credential.kind == "access-key""#,
            r#"credential.findings.exists(f, f == "access-key-stale") && credential.age_days != null && credential.age_days + 1 > 90"#,
            r#"principal.tags.exists(k, credential.findings.exists(f, f == k))"#,
            r#"[1, 2, 3].all(x, [1, 2, 3].all(y, [1, 2, 3].all(z, x + y + z > 0)))"#,
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    // Regression: nested comprehensions ran for minutes in `policy check`.
    #[test]
    fn nested_and_large_comprehensions_are_refused() {
        let mut deep = "x0 > 0".to_string();
        for i in 0..8 {
            deep = format!("[1, 2, 3].all(x{i}, {deep})");
        }
        assert!(
            check(&deep).unwrap_err().contains("nest more than"),
            "{deep}"
        );
        let big = format!("[{}]", vec!["1"; 150].join(", "));
        let two = format!("{big}.all(x, {big}.exists(y, x == y))");
        assert!(check(&two).unwrap_err().contains("too costly"));
        let mapped = format!("{big}.map(x, {big}).all(l, l.all(y, y > 0))");
        assert!(check(&mapped).unwrap_err().contains("too costly"));
    }

    #[test]
    fn huge_or_deep_conditions_are_refused() {
        assert!(check_text(&"true && ".repeat(1000)).is_err());
        // CEL balances `&&` chains, so a long one is shallow and cheap: allowed.
        assert_eq!(check(&format!("true{}", " && true".repeat(200))), Ok(()));
        // A left-nested chain as long as the size allows: refused, without overflowing the stack.
        for chain in [
            format!("credential.age_days{}", " + 1".repeat(1000)),
            format!("credential{}", ".a".repeat(2000)),
            format!("{}true", "!".repeat(4000)),
            format!("a{}", "[0]".repeat(1300)),
        ] {
            assert!(check(&chain).is_err(), "{}", &chain[..40]);
        }
        assert!(
            check(&format!("credential.age_days{} > 0", " + 1".repeat(1000)))
                .unwrap_err()
                .contains("operators")
        );
        assert!(
            check(&format!("credential.age_days{} > 0", " + 1".repeat(100)))
                .unwrap_err()
                .contains("deeper than")
        );
        let deep = format!("{}true{}", "(".repeat(2000), ")".repeat(2000));
        assert!(check(&deep).is_err());
    }
}
