//! The subset of Google's list filter language (<https://google.aip.dev/160>) that
//! Secret Manager documents for `secrets.list` and `versions.list`
//! (<https://cloud.google.com/secret-manager/docs/filtering>): terms joined by spaces or
//! `AND`, each `field:value` (has, case-insensitive; `*` means present, a trailing `*`
//! matches a prefix), `field=value`,
//! or a comparison (`<`, `<=`, `>`, `>=`) on a timestamp field. `OR`, `NOT` and
//! parentheses are refused with 400 INVALID_ARGUMENT rather than silently misread.

use crate::error::{ApiError, ApiResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Has,
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug)]
pub struct Term {
    pub field: String,
    pub op: Op,
    pub value: String,
}

/// What a resource exposes to a filter.
pub enum FieldValue {
    Missing,
    Text(String),
    Time(crate::util::Time),
}

fn unsupported(filter: &str, why: &str) -> ApiError {
    ApiError::invalid(format!("Invalid filter '{filter}': {why}."))
}

/// Parses a filter, accepting only fields for which `known` says yes.
pub fn parse(filter: &str, known: impl Fn(&str) -> bool) -> ApiResult<Vec<Term>> {
    let mut terms = Vec::new();
    for word in split_words(filter).map_err(|why| unsupported(filter, why))? {
        if word == "AND" {
            continue;
        }
        if word == "OR" || word == "NOT" || word.starts_with('-') || word.starts_with('(') {
            return Err(unsupported(
                filter,
                "only terms joined by AND are supported",
            ));
        }
        let idx = word
            .find([':', '=', '<', '>'])
            .ok_or_else(|| unsupported(filter, "a term needs an operator"))?;
        let field = word[..idx].to_owned();
        let rest = &word[idx..];
        let (op, len) = if rest.starts_with("<=") {
            (Op::Le, 2)
        } else if rest.starts_with(">=") {
            (Op::Ge, 2)
        } else {
            match rest.as_bytes()[0] {
                b':' => (Op::Has, 1),
                b'=' => (Op::Eq, 1),
                b'<' => (Op::Lt, 1),
                _ => (Op::Gt, 1),
            }
        };
        let value = rest[len..].trim_matches('"').to_owned();
        if field.is_empty() || !known(&field) {
            return Err(unsupported(filter, &format!("unknown field '{field}'")));
        }
        terms.push(Term { field, op, value });
    }
    Ok(terms)
}

/// Splits on spaces outside double quotes.
fn split_words(s: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("unbalanced quotes");
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
}

/// Whether a resource satisfies every term.
pub fn matches(terms: &[Term], lookup: impl Fn(&str) -> FieldValue) -> ApiResult<bool> {
    for t in terms {
        let ok = match (lookup(&t.field), t.op) {
            (FieldValue::Missing, _) => false,
            (FieldValue::Text(_), Op::Has) if t.value == "*" => true,
            (FieldValue::Text(v), Op::Has) => match t.value.strip_suffix('*') {
                Some(prefix) => v.to_lowercase().starts_with(&prefix.to_lowercase()),
                None => v.to_lowercase().contains(&t.value.to_lowercase()),
            },
            (FieldValue::Text(v), Op::Eq) => v == t.value,
            (FieldValue::Text(_), _) => {
                return Err(ApiError::invalid(format!(
                    "Invalid filter: field '{}' cannot be compared with < or >.",
                    t.field
                )))
            }
            (FieldValue::Time(v), op) => {
                let want = crate::util::parse_time(&t.field, &t.value)?;
                match op {
                    Op::Has | Op::Eq => v == want,
                    Op::Lt => v < want,
                    Op::Le => v <= want,
                    Op::Gt => v > want,
                    Op::Ge => v >= want,
                }
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let terms = parse("name:db AND labels.env=prod", |f| {
            f == "name" || f.starts_with("labels.")
        })
        .unwrap();
        let look = |f: &str| match f {
            "name" => FieldValue::Text("projects/1/secrets/db-password".into()),
            "labels.env" => FieldValue::Text("prod".into()),
            _ => FieldValue::Missing,
        };
        assert!(matches(&terms, look).unwrap());
        assert!(parse("a OR b", |_| true).is_err());
        assert!(parse("bogus:1", |f| f == "name").is_err());
    }
}
