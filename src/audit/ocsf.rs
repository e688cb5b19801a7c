//! The audit's findings as OCSF Detection Findings (class 2004 in category 2,
//! "Findings", of OCSF 1.8.0: https://schema.ocsf.io/1.8.0/classes/detection_finding),
//! the format Prowler emits (`-M json-ocsf`) and security data lakes ingest.
//!
//! One event per inventory finding, in the inventory's order, written as one JSON array
//! as Prowler writes its `.ocsf.json` file. Invariants:
//! - Deterministic: every field comes from the inventory; `time` is the audit's own
//!   `generated_at`, never the clock at export, and `finding_info.uid` is a digest of
//!   the finding, so the same inventory gives the same bytes and a data lake can
//!   recognise a finding seen again.
//! - Nothing but what the inventory already holds: codes, severities, messages, ids,
//!   names and scopes. The inventory has no field that could hold a secret value.
//! - Typed: each OCSF object is a struct here, checked by `tests/ocsf.rs` against the
//!   attributes, types, enums and required fields extracted from the schema
//!   (`tests/data/ocsf/`).

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::{Finding, Inventory, Provider, Severity};

/// The OCSF schema version the events follow (`metadata.version`).
pub const OCSF_VERSION: &str = "1.8.0";
const CLASS_UID: u32 = 2004;
const CATEGORY_UID: u32 = 2;
/// `activity_id` 1, "Create": the audit reports the finding.
const ACTIVITY_CREATE: u32 = 1;

/// One OCSF Detection Finding event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionFinding {
    pub activity_id: u32,
    pub activity_name: &'static str,
    pub category_uid: u32,
    pub category_name: &'static str,
    pub class_uid: u32,
    pub class_name: &'static str,
    /// `class_uid * 100 + activity_id`.
    pub type_uid: u64,
    pub type_name: &'static str,
    pub severity_id: u32,
    pub severity: &'static str,
    /// 1, "New": the finding is yet to be reviewed.
    pub status_id: u32,
    pub status: &'static str,
    /// "FAIL", as Prowler marks a failed check (an inventory finding is one).
    pub status_code: &'static str,
    /// Milliseconds since the epoch: when the audit ran.
    pub time: i64,
    pub message: String,
    pub metadata: Metadata,
    pub finding_info: FindingInfo,
    pub cloud: Cloud,
    pub resources: Vec<ResourceDetails>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metadata {
    /// The OCSF schema version.
    pub version: &'static str,
    pub product: Product,
    /// The profiles applied: `cloud` (the event carries `cloud`).
    pub profiles: Vec<&'static str>,
    /// The finding's stable code, e.g. `root-access-key`.
    pub event_code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub name: &'static str,
    pub vendor_name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingInfo {
    /// `handover-` and the sha256 of the finding's code, subject and message.
    pub uid: String,
    /// What the code means, in a sentence.
    pub title: String,
    /// The finding's own sentence.
    pub desc: String,
    /// The finding's code.
    pub types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cloud {
    /// `AWS` or `GCP` (the names OCSF's `cloud.provider` gives as examples).
    pub provider: &'static str,
    pub account: Account,
    /// The GCP project id; absent for AWS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    /// The AWS account id or GCP project id.
    pub uid: String,
    /// 10 "AWS Account" or 11 "GCP Project".
    pub type_id: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceDetails {
    /// The inventory id of the principal, credential or secret.
    pub uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `principal/KIND`, `credential/KIND` or `secret`, KIND as the inventory spells it.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// What the inventory knows of a finding's subject.
struct Subject<'a> {
    provider: Provider,
    scope: &'a str,
    name: Option<&'a str>,
    kind: String,
    region: Option<&'a str>,
}

/// Every finding of the inventory as an OCSF event, in the inventory's order.
pub fn events(inventory: &Inventory) -> Vec<DetectionFinding> {
    let subjects = subjects(inventory);
    let time = inventory.generated_at.timestamp_millis();
    inventory
        .findings
        .iter()
        .map(|f| event(f, subjects.get(f.subject.as_str()), time))
        .collect()
}

/// The events as one pretty-printed JSON array, ending in a newline.
pub fn render(inventory: &Inventory) -> String {
    serde_json::to_string_pretty(&events(inventory)).expect("serializes") + "\n"
}

fn subjects(inv: &Inventory) -> BTreeMap<&str, Subject<'_>> {
    let mut out = BTreeMap::new();
    for p in &inv.principals {
        let subject = Subject {
            provider: p.provider,
            scope: &p.scope,
            name: Some(&p.name),
            kind: format!("principal/{}", kebab(&p.kind)),
            region: None,
        };
        out.insert(p.id.as_str(), subject);
    }
    for c in &inv.credentials {
        let subject = Subject {
            provider: c.provider,
            scope: &c.scope,
            name: c.identifier.as_deref(),
            kind: format!("credential/{}", kebab(&c.kind)),
            region: None,
        };
        out.insert(c.id.as_str(), subject);
    }
    for s in &inv.secrets {
        let subject = Subject {
            provider: s.provider,
            scope: &s.scope,
            name: Some(&s.name),
            kind: "secret".into(),
            region: s.region.as_deref(),
        };
        out.insert(s.id.as_str(), subject);
    }
    out
}

fn event(f: &Finding, subject: Option<&Subject<'_>>, time: i64) -> DetectionFinding {
    let (severity_id, severity) = severity(f.severity);
    DetectionFinding {
        activity_id: ACTIVITY_CREATE,
        activity_name: "Create",
        category_uid: CATEGORY_UID,
        category_name: "Findings",
        class_uid: CLASS_UID,
        class_name: "Detection Finding",
        type_uid: u64::from(CLASS_UID) * 100 + u64::from(ACTIVITY_CREATE),
        type_name: "Detection Finding: Create",
        severity_id,
        severity,
        status_id: 1,
        status: "New",
        status_code: "FAIL",
        time,
        message: f.message.clone(),
        metadata: Metadata {
            version: OCSF_VERSION,
            product: Product {
                name: "handover",
                vendor_name: "handover",
                version: env!("CARGO_PKG_VERSION"),
            },
            profiles: vec!["cloud"],
            event_code: f.code.as_str().to_string(),
        },
        finding_info: FindingInfo {
            uid: finding_uid(f),
            title: f.code.description().to_string(),
            desc: f.message.clone(),
            types: vec![f.code.as_str().to_string()],
        },
        cloud: cloud(subject),
        resources: vec![ResourceDetails {
            uid: f.subject.clone(),
            name: subject.and_then(|s| s.name.map(str::to_string)),
            kind: subject.map_or_else(|| "unknown".into(), |s| s.kind.clone()),
            region: subject.and_then(|s| s.region.map(str::to_string)),
        }],
    }
}

/// The cloud a finding is in, from its subject. A subject the inventory does not hold
/// (no assembler makes one) is named `unknown` rather than guessed from its id.
fn cloud(subject: Option<&Subject<'_>>) -> Cloud {
    let Some(s) = subject else {
        return Cloud {
            provider: "unknown",
            account: Account {
                uid: "unknown".into(),
                type_id: 0,
                kind: "Unknown",
            },
            project_uid: None,
            region: None,
        };
    };
    let (provider, type_id, kind) = match s.provider {
        Provider::Aws => ("AWS", 10, "AWS Account"),
        Provider::Gcp => ("GCP", 11, "GCP Project"),
    };
    Cloud {
        provider,
        account: Account {
            uid: s.scope.to_string(),
            type_id,
            kind,
        },
        project_uid: (s.provider == Provider::Gcp).then(|| s.scope.to_string()),
        region: s.region.map(str::to_string),
    }
}

/// OCSF `severity_id` and its caption.
fn severity(s: Severity) -> (u32, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// Stable across runs and unique per finding: the code, subject and message, each
/// length-prefixed so no two findings share an input.
fn finding_uid(f: &Finding) -> String {
    let mut h = Sha256::new();
    for part in [f.code.as_str(), f.subject.as_str(), f.message.as_str()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("handover-{hex}")
}

/// A kind as the inventory spells it (its serde name).
fn kebab<T: Serialize>(kind: &T) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FindingCode;

    #[test]
    fn every_severity_maps_to_its_ocsf_caption() {
        // OCSF dictionary.json, severity_id: 1 Informational ... 5 Critical.
        assert_eq!(severity(Severity::Info), (1, "Informational"));
        assert_eq!(severity(Severity::Critical), (5, "Critical"));
    }

    #[test]
    fn a_subject_the_inventory_does_not_hold_is_unknown_not_guessed() {
        let mut inv = Inventory::new(chrono::DateTime::UNIX_EPOCH);
        inv.findings.push(Finding::new(
            FindingCode::RootAccessKey,
            "arn:aws:iam::111122223333:root",
            "m",
        ));
        let e = &events(&inv)[0];
        assert_eq!(e.cloud.provider, "unknown");
        assert_eq!(e.resources[0].uid, "arn:aws:iam::111122223333:root");
        assert_eq!(e.resources[0].kind, "unknown");
    }

    #[test]
    fn finding_uids_differ_when_any_part_differs() {
        let a = Finding::new(FindingCode::AdminUser, "ab", "c");
        let b = Finding::new(FindingCode::AdminUser, "a", "bc");
        assert_ne!(finding_uid(&a), finding_uid(&b));
        assert_eq!(finding_uid(&a), finding_uid(&a.clone()));
    }
}
