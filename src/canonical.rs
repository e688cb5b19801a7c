//! Canonical JSON: one byte form for a JSON value, so a digest or MAC over it does not
//! depend on field order or whitespace. The plan's digest and the journal's chain MACs
//! are computed over this form.
//!
//! It sits at the bottom of the module tree (it imports nothing of the crate) so that
//! both `plan` and `journal` can use it without one depending on the other.

/// Writes JSON with object keys sorted and no whitespace: the form digests and MACs are over.
pub fn canonical_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

/// `canonical_json` into one buffer: each value is appended where it goes, so a large
/// document (a plan of 50,000 steps) is not rebuilt level by level in fresh strings.
fn write_canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                write_canonical(&m[*k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte form every digest and MAC of earlier versions was made over: keys
    /// sorted at every depth, no whitespace, strings escaped as serde_json does.
    #[test]
    fn the_canonical_form_is_unchanged() {
        let v = serde_json::json!({
            "b": [1, {"z": null, "a": "x\"y"}, []],
            "a": {"d": true, "c": 1.5},
            "é": "\u{1b}"
        });
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":1.5,"d":true},"b":[1,{"a":"x\"y","z":null},[]],"é":"\u001b"}"#
        );
    }
}
