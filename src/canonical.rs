//! Canonical JSON: one byte form for a JSON value, so a digest or MAC over it does not
//! depend on field order or whitespace. The plan's digest and the journal's chain MACs
//! are computed over this form.
//!
//! It sits at the bottom of the module tree (it imports nothing of the crate) so that
//! both `plan` and `journal` can use it without one depending on the other.

/// Writes JSON with object keys sorted and no whitespace: the form digests and MACs are over.
pub fn canonical_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap(),
                        canonical_json(&m[*k])
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical_json).collect::<Vec<_>>().join(",")
        ),
        other => serde_json::to_string(other).unwrap(),
    }
}
