//! `updateMask` semantics for update (PATCH) methods, as `google.protobuf.FieldMask`
//! (<https://protobuf.dev/reference/protobuf/google.protobuf/#field-mask>) and AIP-134
//! (<https://google.aip.dev/134>) define them:
//!
//! - a mask is a comma-separated list of paths; a path is a dotted list of field names,
//!   in snake case (proto) or lower camel case (JSON) — both name the same field;
//! - each path replaces exactly that field of the stored resource with the request's
//!   value, and clears it when the request leaves it out; a path to a sub-field
//!   (`rotation.next_rotation_time`) touches nothing else of the enclosing message;
//! - `*` names every updatable field (AIP-134 full replacement);
//! - a path that names no field of the resource is 400 INVALID_ARGUMENT, and so is one
//!   naming an output-only or immutable field.
//!
//! Work is bounded by the mask's size: at most [`MAX_PATHS`] paths of at most
//! [`MAX_DEPTH`] segments.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

pub const MAX_PATHS: usize = 100;
pub const MAX_DEPTH: usize = 8;

/// What a resource lets an update mask name (paths in lower camel case).
pub struct Schema {
    /// Paths that may be updated, including sub-field paths (`rotation.rotationPeriod`).
    pub updatable: &'static [&'static str],
    /// Paths that exist but cannot be updated (output-only or immutable).
    pub immutable: &'static [&'static str],
}

/// `next_rotation_time` -> `nextRotationTime`; camel case stays as it is.
pub fn camel(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    let mut upper = false;
    for c in segment.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses `mask` against `schema`: the canonical (camel case) paths it names.
pub fn paths(mask: &str, schema: &Schema) -> ApiResult<Vec<String>> {
    let raw: Vec<&str> = mask
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if raw.is_empty() {
        return Err(ApiError::invalid("update_mask is required."));
    }
    if raw.len() > MAX_PATHS {
        return Err(ApiError::invalid(format!(
            "update_mask may name at most {MAX_PATHS} paths."
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for path in raw {
        if path == "*" {
            out.extend(
                schema
                    .updatable
                    .iter()
                    .filter(|p| !p.contains('.'))
                    .map(|p| (*p).to_owned()),
            );
            continue;
        }
        let segments: Vec<&str> = path.split('.').collect();
        if segments.len() > MAX_DEPTH || segments.iter().any(|s| s.is_empty()) {
            return Err(bad_path(path));
        }
        let canonical = segments
            .iter()
            .map(|s| camel(s))
            .collect::<Vec<_>>()
            .join(".");
        if schema.immutable.contains(&canonical.as_str()) {
            return Err(ApiError::invalid(format!(
                "The update_mask path '{}' names a field that cannot be updated.",
                printable(path)
            )));
        }
        if !schema.updatable.contains(&canonical.as_str()) {
            return Err(bad_path(path));
        }
        out.push(canonical);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(100).collect()
}

fn bad_path(path: &str) -> ApiError {
    ApiError::invalid(format!(
        "Invalid update_mask path: '{}' does not name a field of the resource.",
        printable(path)
    ))
}

/// Replaces, in `target`, each of `paths` by the value `source` has there (or clears
/// it when `source` has none). Keys are lower camel case, as in the JSON bodies;
/// `source` keys in snake case are read too.
pub fn apply(target: &mut Value, source: &Value, paths: &[String]) {
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        let value = get(source, &segments).cloned();
        set(target, &segments, value);
    }
}

fn get<'v>(v: &'v Value, segments: &[&str]) -> Option<&'v Value> {
    let mut cur = v;
    for s in segments {
        let obj = cur.as_object()?;
        cur = obj.get(*s).or_else(|| obj.get(&snake(s)))?;
    }
    (!cur.is_null()).then_some(cur)
}

fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn set(target: &mut Value, segments: &[&str], value: Option<Value>) {
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut cur = target;
    for s in parents {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut().expect("an object, made just above");
        cur = obj
            .entry((*s).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if cur.is_null() {
            *cur = Value::Object(Map::new());
        }
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    let obj = cur.as_object_mut().expect("an object, made just above");
    match value {
        Some(v) => {
            obj.insert((*last).to_owned(), v);
        }
        None => {
            obj.remove(*last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCHEMA: Schema = Schema {
        updatable: &[
            "labels",
            "rotation",
            "rotation.nextRotationTime",
            "rotation.rotationPeriod",
        ],
        immutable: &["name", "replication"],
    };

    #[test]
    fn a_sub_field_path_changes_only_that_sub_field() {
        let mut stored = json!({"labels": {"a": "1"},
            "rotation": {"nextRotationTime": "2030-01-01T00:00:00Z", "rotationPeriod": "3600s"}});
        let p = paths("rotation.rotation_period", &SCHEMA).unwrap();
        apply(&mut stored, &json!({"rotation": {}}), &p);
        assert_eq!(
            stored,
            json!({"labels": {"a": "1"}, "rotation": {"nextRotationTime": "2030-01-01T00:00:00Z"}})
        );
        let p = paths("rotation", &SCHEMA).unwrap();
        apply(&mut stored, &json!({}), &p);
        assert_eq!(stored, json!({"labels": {"a": "1"}}));
        let p = paths("rotation.nextRotationTime,labels", &SCHEMA).unwrap();
        apply(
            &mut stored,
            &json!({"rotation": {"next_rotation_time": "2031-01-01T00:00:00Z"}}),
            &p,
        );
        assert_eq!(
            stored,
            json!({"rotation": {"nextRotationTime": "2031-01-01T00:00:00Z"}})
        );
    }

    #[test]
    fn unknown_and_immutable_paths_are_refused() {
        for bad in [
            "",
            "bogus",
            "rotation.bogus",
            "labels.env",
            "replication",
            "name",
            "a..b",
        ] {
            assert!(paths(bad, &SCHEMA).is_err(), "{bad:?}");
        }
        assert_eq!(
            paths("*", &SCHEMA).unwrap(),
            ["labels", "rotation"].map(String::from)
        );
        let many = vec!["labels"; MAX_PATHS + 1].join(",");
        assert!(paths(&many, &SCHEMA).is_err());
    }
}
