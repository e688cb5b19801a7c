//! `handover audit --format ocsf`: every exported event is checked against the OCSF
//! 1.8.0 Detection Finding class as extracted from the schema repository
//! (tests/data/ocsf/detection_finding-1.8.0.json, made by tests/data/ocsf/extract.py):
//! required attributes present, no attribute the class or object does not define,
//! each value of its dictionary type, enum values among the schema's, nested objects
//! checked the same way, `at_least_one` constraints held. The checker itself is shown
//! to reject an event missing any required field.

mod support;

use std::path::PathBuf;

use serde_json::{Map, Value};
use support::*;

fn extract() -> Value {
    let text = std::fs::read_to_string(repo().join("tests/data/ocsf/detection_finding-1.8.0.json"))
        .unwrap();
    json(&text)
}

/// A change that breaks a valid event.
type Breaker = Box<dyn Fn(&mut Map<String, Value>)>;

fn snapshot() -> PathBuf {
    repo().join("examples/northwind-to-contoso/snapshot")
}

/// Every problem of one event against the extract, as `path: what`.
fn check_event(schema: &Value, event: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let class = &schema["class"];
    check_object(
        schema,
        &class["attributes"],
        None,
        event,
        "event",
        &mut problems,
    );
    // What the schema server derives: type_uid = class_uid * 100 + activity_id.
    if let (Some(c), Some(a), Some(t)) = (
        event["class_uid"].as_i64(),
        event["activity_id"].as_i64(),
        event["type_uid"].as_i64(),
    ) {
        if t != c * 100 + a {
            problems.push(format!(
                "event.type_uid: {t} is not class_uid * 100 + activity_id"
            ));
        }
    }
    problems
}

fn check_object(
    schema: &Value,
    attributes: &Value,
    constraints: Option<&Value>,
    value: &Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    let Some(obj) = value.as_object() else {
        problems.push(format!("{path}: not an object"));
        return;
    };
    let attributes = attributes.as_object().unwrap();
    for (name, spec) in attributes {
        if spec["requirement"] == "required" && !obj.contains_key(name) {
            problems.push(format!("{path}.{name}: required, missing"));
        }
    }
    if let Some(names) = constraints.and_then(|c| c["at_least_one"].as_array()) {
        if !names.iter().any(|n| obj.contains_key(n.as_str().unwrap())) {
            problems.push(format!("{path}: needs at least one of {names:?}"));
        }
    }
    for (name, v) in obj {
        let at = format!("{path}.{name}");
        match attributes.get(name) {
            None => problems.push(format!("{at}: not an attribute of this class or object")),
            Some(spec) if spec["is_array"] == true => match v.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        check_value(schema, spec, item, &format!("{at}[{i}]"), problems);
                    }
                }
                None => problems.push(format!("{at}: not an array")),
            },
            Some(spec) => check_value(schema, spec, v, &at, problems),
        }
    }
}

fn check_value(schema: &Value, spec: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
    let ok = match spec["base"].as_str().unwrap() {
        "integer_t" | "long_t" => v.is_i64() || v.is_u64(),
        "string_t" => v.is_string(),
        "boolean_t" => v.is_boolean(),
        "float_t" => v.is_number(),
        "json_t" => true,
        "object" => {
            let name = spec["type"].as_str().unwrap();
            match schema["objects"].get(name) {
                Some(o) => {
                    check_object(
                        schema,
                        &o["attributes"],
                        Some(&o["constraints"]),
                        v,
                        at,
                        problems,
                    );
                    true
                }
                None => {
                    problems.push(format!("{at}: object type {name} is not in the extract"));
                    true
                }
            }
        }
        other => {
            problems.push(format!("{at}: type {other} not checked"));
            true
        }
    };
    if !ok {
        problems.push(format!("{at}: {v} is not a {}", spec["type"]));
    }
    if let Some(values) = spec["enum"].as_array() {
        if !values.iter().any(|e| e.as_str() == Some(&v.to_string())) {
            problems.push(format!("{at}: {v} is not among the schema's {values:?}"));
        }
    }
}

fn export(home: &std::path::Path, inventory_out: &std::path::Path) -> Value {
    let r = run(handover_offline(home)
        .args(["audit", "--snapshot"])
        .arg(snapshot())
        .args(["--format", "ocsf", "-o"])
        .arg(inventory_out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    json(&r.stdout)
}

#[test]
fn every_event_of_the_example_export_holds_the_ocsf_detection_finding_schema() {
    let schema = extract();
    assert_eq!(schema["version"], "1.8.0");
    let home = tempfile::tempdir().unwrap();
    let inv_path = home.path().join("inventory.json");
    let events = export(home.path(), &inv_path);
    let inventory = json(&std::fs::read_to_string(&inv_path).unwrap());
    let events = events
        .as_array()
        .expect("one JSON array, as Prowler writes");
    let findings = inventory["findings"].as_array().unwrap();
    assert!(findings.len() > 5, "the example has findings");
    assert_eq!(events.len(), findings.len(), "one event per finding");
    let millis = chrono::DateTime::parse_from_rfc3339(inventory["generated_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    let mut providers = std::collections::BTreeSet::new();
    for (event, finding) in events.iter().zip(findings) {
        let problems = check_event(&schema, event);
        assert!(problems.is_empty(), "{problems:#?}\n{event:#}");
        assert_eq!(event["class_uid"], 2004);
        assert_eq!(event["category_uid"], 2);
        assert_eq!(event["type_uid"], 200401);
        assert_eq!(event["metadata"]["version"], "1.8.0");
        // The audit's own time, not the clock at export.
        assert_eq!(event["time"], millis);
        assert_eq!(event["metadata"]["event_code"], finding["code"]);
        assert_eq!(event["message"], finding["message"]);
        assert_eq!(event["resources"][0]["uid"], finding["subject"]);
        let sev = ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|s| *s == finding["severity"])
            .unwrap() as i64
            + 1;
        assert_eq!(event["severity_id"], sev);
        // Every subject is one the inventory holds: its cloud and account are known.
        assert_ne!(event["cloud"]["provider"], "unknown", "{event:#}");
        providers.insert(event["cloud"]["provider"].as_str().unwrap().to_string());
    }
    assert_eq!(
        providers.into_iter().collect::<Vec<_>>(),
        ["AWS", "GCP"],
        "the example has findings in both clouds"
    );
    let uids: std::collections::BTreeSet<_> = events
        .iter()
        .map(|e| e["finding_info"]["uid"].to_string())
        .collect();
    assert_eq!(uids.len(), events.len(), "finding uids are unique");
}

/// The check above must be able to fail: drop each required field (at the top and in
/// nested objects), break a type, an enum, the derived type_uid, and add an unknown field.
#[test]
fn the_schema_check_rejects_an_event_missing_a_required_field_or_of_a_wrong_type() {
    let schema = extract();
    let home = tempfile::tempdir().unwrap();
    let events = export(home.path(), &home.path().join("inventory.json"));
    let good = events[0].clone();
    assert!(check_event(&schema, &good).is_empty());
    let required: Vec<String> = schema["class"]["attributes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| s["requirement"] == "required")
        .map(|(n, _)| n.clone())
        .collect();
    assert!(required.len() >= 9, "{required:?}");
    for name in &required {
        let mut e = good.clone();
        e.as_object_mut().unwrap().remove(name);
        let problems = check_event(&schema, &e);
        assert!(
            problems
                .iter()
                .any(|p| p == &format!("event.{name}: required, missing")),
            "dropping {name} passed: {problems:?}"
        );
    }
    let broken: Vec<(&str, Breaker)> = vec![
        (
            "event.finding_info.uid: required, missing",
            Box::new(|e| {
                e["finding_info"].as_object_mut().unwrap().remove("uid");
            }),
        ),
        (
            "event.metadata.product: required, missing",
            Box::new(|e| {
                e["metadata"].as_object_mut().unwrap().remove("product");
            }),
        ),
        (
            "event.metadata.version: required, missing",
            Box::new(|e| {
                e["metadata"].as_object_mut().unwrap().remove("version");
            }),
        ),
        (
            "event.cloud.provider: required, missing",
            Box::new(|e| {
                e["cloud"].as_object_mut().unwrap().remove("provider");
            }),
        ),
        (
            "event.metadata.product: needs at least one of",
            Box::new(|e| {
                let p = e["metadata"]["product"].as_object_mut().unwrap();
                p.remove("name");
            }),
        ),
        (
            "event.time: \"2026-11-25T13:54:21Z\" is not a \"timestamp_t\"",
            Box::new(|e| {
                e.insert("time".into(), "2026-11-25T13:54:21Z".into());
            }),
        ),
        (
            "event.severity_id: 7 is not among",
            Box::new(|e| {
                e.insert("severity_id".into(), 7.into());
            }),
        ),
        (
            "event.class_uid: 2001 is not among",
            Box::new(|e| {
                e.insert("class_uid".into(), 2001.into());
            }),
        ),
        (
            "event.type_uid: 200402 is not class_uid * 100 + activity_id",
            Box::new(|e| {
                e.insert("type_uid".into(), 200402.into());
            }),
        ),
        (
            "event.resources: not an array",
            Box::new(|e| {
                let first = e["resources"][0].clone();
                e.insert("resources".into(), first);
            }),
        ),
        (
            "event.secret_value: not an attribute",
            Box::new(|e| {
                e.insert("secret_value".into(), "x".into());
            }),
        ),
    ];
    for (expected, breaker) in broken {
        let mut e = good.clone();
        breaker(e.as_object_mut().unwrap());
        let problems = check_event(&schema, &e);
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "{expected:?} not reported: {problems:?}"
        );
    }
}

/// Same inventory, same bytes: the export reads no clock (its `time` is the audit's).
#[test]
fn the_export_of_one_inventory_is_byte_identical_and_timed_by_the_audit() {
    let text = std::fs::read_to_string(repo().join("examples/northwind-to-contoso/inventory.json"))
        .unwrap();
    let inventory: handover::model::Inventory = serde_json::from_str(&text).unwrap();
    let a = handover::audit::ocsf::render(&inventory);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let b = handover::audit::ocsf::render(&inventory);
    assert_eq!(a, b);
    let events = json(&a);
    assert_eq!(
        events[0]["time"],
        inventory.generated_at.timestamp_millis(),
        "time is the inventory's generated_at"
    );
}

/// No secret value reaches the export: the seeded account's canaries (secret values,
/// the secret access keys moto issued, the tool's own credentials) at trace verbosity.
#[test]
fn no_canary_value_appears_in_the_ocsf_export_at_any_verbosity() {
    let moto = moto();
    let ids = seed(&moto);
    let mut canaries: Vec<String> = ids["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(!canaries.is_empty());
    let secret_key = "CANARY-ocsf-secret-access-key-51c0";
    canaries.push(secret_key.into());
    let home = tempfile::tempdir().unwrap();
    let r = run(handover(&moto, home.path())
        .env("AWS_SECRET_ACCESS_KEY", secret_key)
        .env("RUST_LOG", "trace")
        .args([
            "-vvv",
            "audit",
            "--aws",
            "--region",
            "us-east-1",
            "--format",
            "ocsf",
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("TRACE"), "trace logging was not on");
    let events = json(&r.stdout);
    assert!(!events.as_array().unwrap().is_empty());
    let schema = extract();
    for e in events.as_array().unwrap() {
        let problems = check_event(&schema, e);
        assert!(problems.is_empty(), "{problems:#?}");
    }
    for c in &canaries {
        assert!(!r.stdout.contains(c.as_str()), "canary {c} in the export");
        assert!(!r.stderr.contains(c.as_str()), "canary {c} on stderr");
    }
}
