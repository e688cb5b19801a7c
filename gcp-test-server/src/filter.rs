//! Google's list filter language (AIP-160, <https://google.aip.dev/160>, and its EBNF
//! grammar) as Secret Manager (`secrets.list`, `versions.list`,
//! <https://cloud.google.com/secret-manager/docs/filtering>) and Resource Manager
//! (`projects.list` v1 `filter`, `projects.search` v3 `query`, organization searches)
//! document it: a tokenizer, a recursive-descent parser into an [`Expr`] tree, and an
//! evaluator over the fields a resource exposes.
//!
//! Grammar (AIP-160 EBNF; note that `OR` binds tighter than `AND`: "the `OR` operator
//! has higher precedence than `AND` ... `a AND b OR c` evaluates `a AND (b OR c)`"):
//!
//! ```text
//! expression  = sequence { "AND" sequence }
//! sequence    = factor { factor }            -- juxtaposition: AND, or OR (see Dialect)
//! factor      = term { "OR" term }
//! term        = [ "NOT" | "-" ] simple
//! simple      = restriction | "(" expression ")"
//! restriction = field comparator arg         -- comparator: = != < <= > >= :
//! arg         = literal | "(" value-expression ")"   -- `loc:(us-east1 OR us-central1)`
//! ```
//!
//! Semantics, per dialect:
//! - [`Dialect::SecretManager`]: juxtaposed terms are ANDed (AIP-160's "fuzzy AND");
//!   `field:value` is a case-insensitive substring match in which `*` matches any run
//!   (`name:APIKEY*production`, the Filtering page's example), `field:*` means present;
//!   `=` is exact (a `*` is a wildcard, AIP-160); field names are as written.
//! - [`Dialect::ResourceManager`]: "Filter rules are case insensitive. If multiple
//!   fields are included in a filter query, the query will return results that match
//!   any of the fields" (v1 `projects.list`): juxtaposed terms are ORed, explicit `AND`
//!   still ANDs (gcloud sends `lifecycleState:ACTIVE AND (...)`), field names and values
//!   compare case-insensitively, and `name:how*` anchors ("starts with how").
//! - Repeated fields ([`FieldValue::List`]) match when any element does (AIP-160 "has").
//! - `<`, `>`, ... compare timestamps as times and text lexically (AIP-160).
//!
//! Bounds (AIP-160 "Limitations" lets a service limit queries; a non-compliant one is
//! 400 INVALID_ARGUMENT): at most [`MAX_LEN`] bytes and [`MAX_DEPTH`] nested
//! parentheses, so hostile filters cost linear time and bounded stack. Errors quote the
//! filter only when it is short. Bare literals (AIP-160's global search) and functions
//! are not documented by these APIs and are refused with 400.

use crate::error::{ApiError, ApiResult};

/// The longest filter accepted, in bytes.
pub const MAX_LEN: usize = 8 * 1024;
/// The deepest nesting of parentheses accepted.
pub const MAX_DEPTH: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Has,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Which API's reading of the language applies (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    SecretManager,
    ResourceManager,
}

/// The right-hand side of a restriction: a literal, or a composite of literals.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Lit(String),
    And(Vec<Arg>),
    Or(Vec<Arg>),
    Not(Box<Arg>),
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Matches everything (the empty filter).
    True,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Restriction {
        field: String,
        op: Op,
        arg: Arg,
    },
}

/// A parsed filter and the dialect it is evaluated in.
#[derive(Clone, Debug)]
pub struct Filter {
    pub expr: Expr,
    pub dialect: Dialect,
}

impl Filter {
    /// A filter of one restriction `field op value`, built by a handler (e.g. the v3
    /// `parent` parameter), not parsed.
    pub fn restriction(dialect: Dialect, field: &str, op: Op, value: &str) -> Self {
        Filter {
            expr: Expr::Restriction {
                field: field.to_owned(),
                op,
                arg: Arg::Lit(value.to_owned()),
            },
            dialect,
        }
    }
}

/// What a resource exposes to a filter.
pub enum FieldValue {
    Missing,
    Text(String),
    Time(crate::util::Time),
    /// A repeated field (or the values of a map): matches when any element does.
    List(Vec<String>),
}

fn invalid(filter: &str, why: &str) -> ApiError {
    if filter.len() <= 200 && !filter.contains(|c: char| c.is_control()) {
        ApiError::invalid(format!("Invalid filter '{filter}': {why}."))
    } else {
        ApiError::invalid(format!("Invalid filter: {why}."))
    }
}

// ---------------------------------------------------------------- tokens

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    /// Unquoted text: a field path, a literal, or a keyword (`AND`, `OR`, `NOT`).
    Word(String),
    /// A quoted string (`"..."` or `'...'`, backslash escapes the quote).
    Str(String),
    Cmp(Op),
    /// `-` directly before a term: negation.
    Minus,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                toks.push(Tok::RParen);
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unbalanced quotes".into()),
                        Some('\\') if chars.get(i + 1).is_some() => {
                            text.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&q) if q == quote => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            text.push(ch);
                            i += 1;
                        }
                    }
                }
                toks.push(Tok::Str(text));
            }
            '=' | ':' | '<' | '>' | '!' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('<', Some('=')) => (Op::Le, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('!', Some('=')) => (Op::Ne, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', _) => (Op::Gt, 1),
                    ('=', _) => (Op::Eq, 1),
                    (':', _) => (Op::Has, 1),
                    _ => return Err("'!' must be followed by '='".into()),
                };
                toks.push(Tok::Cmp(op));
                i += len;
            }
            '-' if !matches!(toks.last(), Some(Tok::Cmp(_)))
                && chars.get(i + 1).is_some_and(|n| !n.is_whitespace()) =>
            {
                toks.push(Tok::Minus);
                i += 1;
            }
            '~' => return Err("regular expressions ('~') are not supported by the API".into()),
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(
                        chars[i],
                        '(' | ')' | '"' | '\'' | '=' | ':' | '<' | '>' | '!' | '~'
                    )
                {
                    i += 1;
                }
                toks.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(toks)
}

// ---------------------------------------------------------------- parser

struct Parser<'a, K: Fn(&str) -> bool> {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    dialect: Dialect,
    known: &'a K,
}

fn is_keyword(t: Option<&Tok>, k: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w == k)
}

impl<K: Fn(&str) -> bool> Parser<'_, K> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("more than {MAX_DEPTH} nested parentheses"));
        }
        Ok(())
    }

    /// expression = sequence { AND sequence }
    fn expression(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.sequence()?];
        while is_keyword(self.peek(), "AND") {
            self.pos += 1;
            parts.push(self.sequence()?);
        }
        Ok(one_or(parts, Expr::And))
    }

    /// sequence = factor { factor }
    fn sequence(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.factor()?];
        while self.starts_term() {
            parts.push(self.factor()?);
        }
        Ok(match self.dialect {
            Dialect::SecretManager => one_or(parts, Expr::And),
            Dialect::ResourceManager => one_or(parts, Expr::Or),
        })
    }

    fn starts_term(&self) -> bool {
        match self.peek() {
            None | Some(Tok::RParen) => false,
            Some(Tok::Word(w)) => w != "AND" && w != "OR",
            _ => true,
        }
    }

    /// factor = term { OR term }
    fn factor(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.term()?];
        while is_keyword(self.peek(), "OR") {
            self.pos += 1;
            parts.push(self.term()?);
        }
        Ok(one_or(parts, Expr::Or))
    }

    /// term = [NOT | -] simple
    fn term(&mut self) -> Result<Expr, String> {
        let negated = match self.peek() {
            Some(Tok::Minus) => true,
            Some(Tok::Word(w)) if w == "NOT" => true,
            _ => false,
        };
        if negated {
            self.pos += 1;
        }
        let simple = self.simple()?;
        Ok(if negated {
            Expr::Not(Box::new(simple))
        } else {
            simple
        })
    }

    /// simple = restriction | ( expression )
    fn simple(&mut self) -> Result<Expr, String> {
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                self.enter()?;
                let e = self.expression()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err("unbalanced parentheses".into());
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(e)
            }
            Some(Tok::Word(w)) if !matches!(w.as_str(), "AND" | "OR" | "NOT") => {
                self.pos += 1;
                let field = match self.dialect {
                    Dialect::SecretManager => w,
                    Dialect::ResourceManager => w.to_lowercase(),
                };
                let op = match self.peek() {
                    Some(Tok::Cmp(op)) => *op,
                    _ => {
                        return Err(format!(
                            "'{}' needs a comparator and a value, e.g. name:value",
                            short(&field)
                        ))
                    }
                };
                self.pos += 1;
                if field.is_empty() || !(self.known)(&field) {
                    return Err(format!("unknown field '{}'", short(&field)));
                }
                let arg = self.arg()?;
                Ok(Expr::Restriction { field, op, arg })
            }
            Some(Tok::Str(_)) => Err("a bare literal needs a field, e.g. name:value".into()),
            Some(t) => Err(format!("unexpected {}", describe(&t))),
            None => Err("unexpected end of filter".into()),
        }
    }

    /// arg = literal | ( value-expression )
    fn arg(&mut self) -> Result<Arg, String> {
        match self.peek().cloned() {
            Some(Tok::Word(w)) if !matches!(w.as_str(), "AND" | "OR" | "NOT") => {
                self.pos += 1;
                Ok(Arg::Lit(w))
            }
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(Arg::Lit(s))
            }
            Some(Tok::Minus) => {
                // A value such as `-1` after a comparator is text, not negation.
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Tok::Word(w)) => {
                        self.pos += 1;
                        Ok(Arg::Lit(format!("-{w}")))
                    }
                    _ => Err("a value is missing after '-'".into()),
                }
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                self.enter()?;
                let a = self.arg_expression()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err("unbalanced parentheses".into());
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(a)
            }
            Some(t) => Err(format!("a value is missing before {}", describe(&t))),
            None => Err("a value is missing at the end of the filter".into()),
        }
    }

    /// The composite value grammar, with literals for restrictions.
    fn arg_expression(&mut self) -> Result<Arg, String> {
        let mut and = vec![self.arg_sequence()?];
        while is_keyword(self.peek(), "AND") {
            self.pos += 1;
            and.push(self.arg_sequence()?);
        }
        Ok(one_arg(and, Arg::And))
    }

    fn arg_sequence(&mut self) -> Result<Arg, String> {
        let mut parts = vec![self.arg_factor()?];
        while self.starts_term() {
            parts.push(self.arg_factor()?);
        }
        Ok(match self.dialect {
            Dialect::SecretManager => one_arg(parts, Arg::And),
            Dialect::ResourceManager => one_arg(parts, Arg::Or),
        })
    }

    fn arg_factor(&mut self) -> Result<Arg, String> {
        let mut parts = vec![self.arg_term()?];
        while is_keyword(self.peek(), "OR") {
            self.pos += 1;
            parts.push(self.arg_term()?);
        }
        Ok(one_arg(parts, Arg::Or))
    }

    fn arg_term(&mut self) -> Result<Arg, String> {
        let negated = match self.peek() {
            Some(Tok::Minus) => true,
            Some(Tok::Word(w)) if w == "NOT" => true,
            _ => false,
        };
        if negated {
            self.pos += 1;
        }
        let a = self.arg()?;
        Ok(if negated { Arg::Not(Box::new(a)) } else { a })
    }
}

fn one_or(mut parts: Vec<Expr>, join: fn(Vec<Expr>) -> Expr) -> Expr {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        join(parts)
    }
}

fn one_arg(mut parts: Vec<Arg>, join: fn(Vec<Arg>) -> Arg) -> Arg {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        join(parts)
    }
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(64).collect();
    if s.chars().count() > 64 {
        out.push_str("...");
    }
    out
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Word(w) => format!("'{}'", short(w)),
        Tok::Str(_) => "a quoted string".into(),
        Tok::Cmp(_) => "a comparator".into(),
        Tok::Minus => "'-'".into(),
    }
}

/// Parses a filter, accepting only fields for which `known` says yes (in the Resource
/// Manager dialect `known` sees field names lowercased). Empty text matches everything.
pub fn parse(text: &str, dialect: Dialect, known: impl Fn(&str) -> bool) -> ApiResult<Filter> {
    let text = text.trim();
    if text.len() > MAX_LEN {
        return Err(invalid(
            text,
            &format!("a filter may hold at most {MAX_LEN} bytes"),
        ));
    }
    if text.is_empty() {
        return Ok(Filter {
            expr: Expr::True,
            dialect,
        });
    }
    let toks = tokenize(text).map_err(|why| invalid(text, &why))?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        dialect,
        known: &known,
    };
    let expr = p.expression().map_err(|why| invalid(text, &why))?;
    if let Some(t) = p.peek() {
        let why = match t {
            Tok::RParen => "unbalanced parentheses".to_owned(),
            t => format!("unexpected {}", describe(t)),
        };
        return Err(invalid(text, &why));
    }
    Ok(Filter { expr, dialect })
}

// ---------------------------------------------------------------- evaluation

/// `*` matches any run of characters; `anchored` requires the whole text to match.
fn glob(pattern: &str, text: &str, anchored: bool) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return if anchored {
            text == pattern
        } else {
            text.contains(pattern)
        };
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        let first = i == 0;
        let last = i == parts.len() - 1;
        if first && anchored {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if last && anchored {
            return rest.ends_with(part);
        } else if let Some(at) = rest.find(part) {
            rest = &rest[at + part.len()..];
        } else {
            return false;
        }
    }
    true
}

fn text_matches(dialect: Dialect, op: Op, value: &str, want: &str) -> bool {
    let (v, w) = match dialect {
        Dialect::ResourceManager => (value.to_lowercase(), want.to_lowercase()),
        Dialect::SecretManager if op == Op::Has => (value.to_lowercase(), want.to_lowercase()),
        Dialect::SecretManager => (value.to_owned(), want.to_owned()),
    };
    match op {
        Op::Has => glob(&w, &v, dialect == Dialect::ResourceManager),
        Op::Eq => glob(&w, &v, true),
        Op::Ne => !glob(&w, &v, true),
        Op::Lt => v < w,
        Op::Le => v <= w,
        Op::Gt => v > w,
        Op::Ge => v >= w,
    }
}

fn restriction(
    dialect: Dialect,
    field: &str,
    op: Op,
    want: &str,
    value: &FieldValue,
) -> ApiResult<bool> {
    if op == Op::Has && want == "*" {
        return Ok(match value {
            FieldValue::Missing => false,
            FieldValue::List(items) => !items.is_empty(),
            _ => true,
        });
    }
    Ok(match value {
        FieldValue::Missing => op == Op::Ne,
        FieldValue::Text(v) => text_matches(dialect, op, v, want),
        FieldValue::List(items) => match op {
            Op::Ne => !items.iter().any(|v| text_matches(dialect, Op::Eq, v, want)),
            op => items.iter().any(|v| text_matches(dialect, op, v, want)),
        },
        FieldValue::Time(v) => {
            let want = crate::util::parse_time(field, want)?;
            match op {
                Op::Has | Op::Eq => *v == want,
                Op::Ne => *v != want,
                Op::Lt => *v < want,
                Op::Le => *v <= want,
                Op::Gt => *v > want,
                Op::Ge => *v >= want,
            }
        }
    })
}

fn eval_arg(
    dialect: Dialect,
    field: &str,
    op: Op,
    arg: &Arg,
    value: &FieldValue,
) -> ApiResult<bool> {
    Ok(match arg {
        Arg::Lit(want) => restriction(dialect, field, op, want, value)?,
        Arg::And(parts) => {
            for p in parts {
                if !eval_arg(dialect, field, op, p, value)? {
                    return Ok(false);
                }
            }
            true
        }
        Arg::Or(parts) => {
            for p in parts {
                if eval_arg(dialect, field, op, p, value)? {
                    return Ok(true);
                }
            }
            false
        }
        Arg::Not(a) => !eval_arg(dialect, field, op, a, value)?,
    })
}

fn eval(dialect: Dialect, expr: &Expr, lookup: &dyn Fn(&str) -> FieldValue) -> ApiResult<bool> {
    Ok(match expr {
        Expr::True => true,
        Expr::And(parts) => {
            for p in parts {
                if !eval(dialect, p, lookup)? {
                    return Ok(false);
                }
            }
            true
        }
        Expr::Or(parts) => {
            for p in parts {
                if eval(dialect, p, lookup)? {
                    return Ok(true);
                }
            }
            false
        }
        Expr::Not(e) => !eval(dialect, e, lookup)?,
        Expr::Restriction { field, op, arg } => eval_arg(dialect, field, *op, arg, &lookup(field))?,
    })
}

/// Whether a resource satisfies the filter; `lookup` gives a field's value (field
/// names as `known` accepted them).
pub fn matches(filter: &Filter, lookup: impl Fn(&str) -> FieldValue) -> ApiResult<bool> {
    eval(filter.dialect, &filter.expr, &lookup)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sm(text: &str) -> ApiResult<Filter> {
        parse(text, Dialect::SecretManager, |f| {
            f == "name" || f.starts_with("labels.") || f == "loc" || f == "create_time"
        })
    }

    fn secret(name: &str, env: Option<&str>, locs: &[&str]) -> impl Fn(&str) -> FieldValue {
        let name = name.to_owned();
        let env = env.map(str::to_owned);
        let locs: Vec<String> = locs.iter().map(|s| (*s).to_owned()).collect();
        move |f: &str| match f {
            "name" => FieldValue::Text(name.clone()),
            "labels.env" => env.clone().map_or(FieldValue::Missing, FieldValue::Text),
            "loc" if locs.is_empty() => FieldValue::Missing,
            "loc" => FieldValue::List(locs.clone()),
            _ => FieldValue::Missing,
        }
    }

    fn m(text: &str, r: &impl Fn(&str) -> FieldValue) -> bool {
        matches(&sm(text).unwrap(), r).unwrap()
    }

    #[test]
    fn and_or_not_and_precedence() {
        let db = secret("projects/1/secrets/db-password", Some("prod"), &[]);
        assert!(m("name:db AND labels.env=prod", &db));
        assert!(m("name:nope OR labels.env=prod", &db));
        assert!(!m("NOT labels.env=prod", &db));
        assert!(!m("-labels.env=prod", &db));
        assert!(m("-labels.env=dev", &db));
        // AIP-160: OR binds tighter than AND: `a AND b OR c` is `a AND (b OR c)`.
        assert!(!m("name:nope AND name:db OR labels.env=prod", &db));
        assert!(m("(name:nope AND name:db) OR labels.env=prod", &db));
        // Juxtaposition is AND in Secret Manager.
        assert!(!m("name:db labels.env=dev", &db));
        assert!(m("name:db labels.env!=dev", &db));
    }

    #[test]
    fn wildcards_nested_and_value_composites() {
        let s = secret(
            "projects/1/secrets/APIKEY-shop-production",
            None,
            &["us-east1", "europe-west1"],
        );
        assert!(m("name:APIKEY*production", &s));
        assert!(m("name:apikey*PRODUCTION", &s), "has is case-insensitive");
        assert!(!m("name:APIKEY*staging", &s));
        assert!(m("name=*production", &s));
        assert!(!m("name=*product", &s));
        assert!(m("loc:us-east1", &s));
        assert!(m("loc:(us-central1 OR europe-west1)", &s));
        assert!(!m("loc:* AND NOT loc:(us-east1 OR us-central1)", &s));
        assert!(m("loc:*", &s));
        assert!(!m("labels.env:*", &s));
        assert!(m("NOT labels.env:*", &s));
    }

    #[test]
    fn resource_manager_is_case_insensitive_and_space_is_or() {
        let known = |f: &str| f == "name" || f.starts_with("labels.") || f == "lifecyclestate";
        let p = |f: &str| match f {
            "name" => FieldValue::Text("Howl".into()),
            "labels.color" => FieldValue::Text("red".into()),
            "lifecyclestate" => FieldValue::Text("ACTIVE".into()),
            _ => FieldValue::Missing,
        };
        let rm = |t: &str| matches(&parse(t, Dialect::ResourceManager, known).unwrap(), p).unwrap();
        assert!(rm("NAME:howl"));
        assert!(rm("name:HOWL"));
        assert!(rm("name:how*"));
        assert!(!rm("name:ow*"), "has is anchored in Resource Manager");
        assert!(rm("labels.color:red labels.size:big"), "space means OR");
        assert!(!rm("labels.color:blue labels.size:big"));
        assert!(rm(
            "lifecycleState:ACTIVE AND (labels.color:red AND name:\"how*\")"
        ));
        assert!(!rm("lifecycleState:ACTIVE AND (labels.color:blue)"));
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [
            "a OR b",
            "bogus:1",
            "name:",
            "(name:a",
            "name:a)",
            "name",
            "\"lit\"",
            "name:a AND",
            "OR name:a",
            "name ~ \"x.*\"",
            "name:\"open",
            "name!x",
            "NOT",
            "name:(a OR",
        ] {
            assert!(sm(bad).is_err(), "{bad} should be refused");
        }
    }

    /// Hostile input: deep nesting must be refused, never overflow the stack.
    #[test]
    fn hostile_nesting_is_bounded() {
        let deep = format!("{}name:a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(sm(&deep).is_err());
        let within_len = format!("{}name:a{}", "(".repeat(1000), ")".repeat(1000));
        let err = sm(&within_len).unwrap_err();
        assert!(err.message.contains("nested"), "{}", err.message);
        let ok = format!("{}name:a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(sm(&ok).is_ok());
        let value_deep = format!("name:{}a{}", "(".repeat(1000), ")".repeat(1000));
        assert!(sm(&value_deep).is_err());
        assert!(sm(&"NOT ".repeat(2000)).is_err());
    }
}
