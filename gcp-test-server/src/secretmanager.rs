//! Secret Manager v1, global and regional (`projects/*/locations/*`) secrets: secrets
//! (create, get, list, patch, delete),
//! their versions (add, get, list, access, enable, disable, destroy, the `latest` alias
//! and named aliases) and secret-level IAM policies.
//! Shapes follow `secretmanager.v1.json`.
//!
//! Invariants, as Secret Manager keeps them:
//! - resource names carry the project *number* (`projects/123.../secrets/s`), whatever
//!   form the caller used; both forms are accepted on input;
//! - version numbers start at 1 and are never reused; `latest` is the most recently
//!   created version, whatever its state; only ENABLED versions can be accessed (a
//!   disabled or destroyed one, `latest` included, answers 400 FAILED_PRECONDITION); a
//!   destroyed version keeps its metadata but loses its payload for good;
//! - a payload must hold data: an empty one is refused (400 "Field [payload] is
//!   required.", as Google answers an empty `payload.data`);
//! - a payload that comes with `dataCrc32c` is refused (400) when the checksum differs;
//! - writes that carry an etag other than the current one fail with 409 ABORTED.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::fieldmask;
use crate::filter::{self, Dialect, FieldValue};
use crate::paging::{paginate, Limits};
use crate::policy::{AuditConfigs, SetIamPolicyRequest};
use crate::store::{Secret, Store, Version, VersionState};
use crate::util::{
    add_duration, b64, b64_decode, crc32c, fmt_time, now, now_to, parse_duration, parse_time,
};
use crate::wire::ApiRequest;

/// "If set to 0, the server decides ... If greater than 25000, it is capped at 25000."
const LIMITS: Limits = Limits {
    default: 25_000,
    max: 25_000,
};
const MAX_PAYLOAD: usize = 64 * 1024;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerManagedEncryption {
    #[serde(default)]
    pub kms_key_name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Automatic {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_managed_encryption: Option<CustomerManagedEncryption>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Replica {
    #[serde(default)]
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_managed_encryption: Option<CustomerManagedEncryption>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserManaged {
    #[serde(default)]
    pub replicas: Vec<Replica>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Replication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic: Option<Automatic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_managed: Option<UserManaged>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_period: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Topic {
    #[serde(default)]
    pub name: String,
}

/// A `Secret` as a client sends it (create body or patch body).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretIn {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    replication: Option<Replication>,
    #[serde(default)]
    rotation: Option<Rotation>,
    #[serde(default)]
    topics: Option<Vec<Topic>>,
    #[serde(default)]
    expire_time: Option<String>,
    #[serde(default)]
    ttl: Option<String>,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    version_aliases: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    version_destroy_ttl: Option<String>,
    #[serde(default)]
    customer_managed_encryption: Option<Value>,
}

/// Where a secret lives: a project, and for regional secrets a location
/// (`projects/{project}/locations/{location}/secrets/...`).
#[derive(Clone, Copy, Debug)]
pub struct At<'a> {
    pub project: &'a str,
    pub location: Option<&'a str>,
}

impl<'a> At<'a> {
    pub fn global(project: &'a str) -> Self {
        At {
            project,
            location: None,
        }
    }
}

/// The store key of a secret: (project id, location or "" for global, secret id).
type SecretKey = (String, String, String);

/// Locations the server knows for regional secrets (a sample of Google's).
pub const LOCATIONS: &[(&str, &str)] = &[
    ("europe-west1", "Belgium"),
    ("europe-west3", "Frankfurt"),
    ("europe-west4", "Netherlands"),
    ("us-central1", "Iowa"),
    ("us-east1", "South Carolina"),
    ("us-east4", "Northern Virginia"),
    ("asia-northeast1", "Tokyo"),
];

fn check_location(location: &str) -> ApiResult<()> {
    if LOCATIONS.iter().any(|(l, _)| *l == location) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Location '{location}' is not supported for regional secrets by the GCP test server."
        )))
    }
}

// ---------------------------------------------------------------- rendering

fn secret_name(store: &Store, s: &Secret) -> String {
    let number = store.project_number(&s.project_id);
    match &s.location {
        Some(l) => format!("projects/{number}/locations/{l}/secrets/{}", s.id),
        None => format!("projects/{number}/secrets/{}", s.id),
    }
}

fn parent_name(number: u64, at: At<'_>) -> String {
    match at.location {
        Some(l) => format!("projects/{number}/locations/{l}"),
        None => format!("projects/{number}"),
    }
}

pub(crate) fn secret_json(store: &Store, s: &Secret) -> Value {
    let mut out = json!({
        "name": secret_name(store, s),
        "createTime": fmt_time(&s.create_time),
        "etag": s.etag,
    });
    if s.location.is_none() {
        out["replication"] = json!(s.replication);
    }
    if !s.labels.is_empty() {
        out["labels"] = json!(s.labels);
    }
    if !s.annotations.is_empty() {
        out["annotations"] = json!(s.annotations);
    }
    if !s.topics.is_empty() {
        out["topics"] = json!(s.topics);
    }
    if let Some(t) = &s.expire_time {
        out["expireTime"] = json!(fmt_time(t));
    }
    if let Some(r) = &s.rotation {
        out["rotation"] = json!(r);
    }
    if !s.version_aliases.is_empty() {
        let aliases: BTreeMap<&String, String> = s
            .version_aliases
            .iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        out["versionAliases"] = json!(aliases);
    }
    if let Some(t) = &s.version_destroy_ttl {
        out["versionDestroyTtl"] = json!(t);
    }
    if let Some(c) = &s.customer_managed_encryption {
        out["customerManagedEncryption"] = c.clone();
    }
    out
}

pub(crate) fn version_json(store: &Store, s: &Secret, v: &Version) -> Value {
    let replication_status = match &s.replication.user_managed {
        Some(um) => {
            json!({ "userManaged": { "replicas": um.replicas.iter().map(|r| json!({"location": r.location})).collect::<Vec<_>>() } })
        }
        None => json!({ "automatic": {} }),
    };
    let mut out = json!({
        "name": format!("{}/versions/{}", secret_name(store, s), v.number),
        "createTime": fmt_time(&v.create_time),
        "state": v.state.as_str(),
        "etag": v.etag,
    });
    if s.location.is_none() {
        out["replicationStatus"] = replication_status;
    }
    if v.client_checksum {
        out["clientSpecifiedPayloadChecksum"] = json!(true);
    }
    if let Some(t) = &v.destroy_time {
        out["destroyTime"] = json!(fmt_time(t));
    }
    if let Some(t) = &v.scheduled_destroy_time {
        out["scheduledDestroyTime"] = json!(fmt_time(t));
    }
    out
}

// ---------------------------------------------------------------- validation

fn valid_secret_id(id: &str) -> bool {
    (1..=255).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_labels(labels: &BTreeMap<String, String>) -> ApiResult<()> {
    if labels.len() > 64 {
        return Err(ApiError::invalid("A secret can have at most 64 labels."));
    }
    let ok_char = |c: char| {
        c.is_lowercase()
            || c.is_ascii_digit()
            || c == '_'
            || c == '-'
            || (c.is_alphabetic() && !c.is_uppercase())
    };
    for (k, v) in labels {
        let key_ok = (1..=63).contains(&k.chars().count())
            && k.starts_with(|c: char| c.is_lowercase())
            && k.chars().all(ok_char);
        let value_ok = v.chars().count() <= 63 && v.chars().all(ok_char);
        if !key_ok || !value_ok {
            return Err(ApiError::invalid(format!(
                "Invalid label '{k}': keys start with a lowercase letter, keys and values use lowercase letters, digits, '_' and '-', at most 63 characters."
            )));
        }
    }
    Ok(())
}

fn check_annotations(annotations: &BTreeMap<String, String>) -> ApiResult<()> {
    let mut total = 0;
    for (k, v) in annotations {
        let ok = (1..=63).contains(&k.len())
            && k.starts_with(|c: char| c.is_ascii_alphanumeric())
            && k.ends_with(|c: char| c.is_ascii_alphanumeric())
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !ok {
            return Err(ApiError::invalid(format!("Invalid annotation key '{k}'.")));
        }
        total += k.len() + v.len();
    }
    if total > 16 * 1024 {
        return Err(ApiError::invalid(
            "Annotations may hold at most 16KiB in total.",
        ));
    }
    Ok(())
}

fn check_replication(r: &Replication) -> ApiResult<()> {
    match (&r.automatic, &r.user_managed) {
        (Some(_), None) => Ok(()),
        (None, Some(um)) => {
            if um.replicas.is_empty() {
                return Err(ApiError::invalid(
                    "Secret.replication.user_managed.replicas cannot be empty.",
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            for rep in &um.replicas {
                if rep.location.is_empty() || !seen.insert(rep.location.as_str()) {
                    return Err(ApiError::invalid(
                        "Each replica needs a distinct, non-empty location.",
                    ));
                }
            }
            Ok(())
        }
        _ => Err(ApiError::invalid(
            "Secret.replication must set exactly one of automatic or user_managed.",
        )),
    }
}

fn check_topics(topics: &[Topic]) -> ApiResult<()> {
    if topics.len() > 10 {
        return Err(ApiError::invalid("A secret can have at most 10 topics."));
    }
    for t in topics {
        let parts: Vec<&str> = t.name.split('/').collect();
        if !(parts.len() == 4
            && parts[0] == "projects"
            && parts[2] == "topics"
            && !parts[1].is_empty()
            && !parts[3].is_empty())
        {
            return Err(ApiError::invalid(format!(
                "Invalid topic name '{}': expected projects/*/topics/*.",
                t.name
            )));
        }
    }
    Ok(())
}

/// Validates a rotation policy and returns it normalised.
/// Validates a rotation policy; `fresh` (a newly given next_rotation_time) must be
/// at least 5 minutes ahead.
fn check_rotation(r: &Rotation, topics: &[Topic], fresh: bool) -> ApiResult<Rotation> {
    let mut out = Rotation::default();
    if let Some(next) = &r.next_rotation_time {
        let t = parse_time("rotation.next_rotation_time", next)?;
        if fresh && t < now() + TimeDelta::seconds(299) {
            return Err(ApiError::invalid(
                "rotation.next_rotation_time must be at least 5 minutes in the future.",
            ));
        }
        out.next_rotation_time = Some(fmt_time(&t));
    }
    if let Some(period) = &r.rotation_period {
        let d = parse_duration("rotation.rotation_period", period)?;
        if d < TimeDelta::seconds(3600) || d > TimeDelta::seconds(3_153_600_000) {
            return Err(ApiError::invalid(
                "rotation.rotation_period must be between 3600s and 3153600000s.",
            ));
        }
        if out.next_rotation_time.is_none() {
            return Err(ApiError::invalid(
                "rotation.next_rotation_time must be set if rotation.rotation_period is set.",
            ));
        }
        out.rotation_period = Some(format!("{}s", d.num_seconds()));
    }
    if out.next_rotation_time.is_some() && topics.is_empty() {
        return Err(ApiError::invalid(
            "A secret with a rotation policy must have at least one topic.",
        ));
    }
    Ok(out)
}

fn expiry(input: &SecretIn) -> ApiResult<Option<crate::util::Time>> {
    match (&input.expire_time, &input.ttl) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "Only one of expire_time and ttl may be set.",
        )),
        (Some(t), None) => {
            let t = parse_time("expire_time", t)?;
            if t <= now() {
                return Err(ApiError::invalid("expire_time must be in the future."));
            }
            Ok(Some(t))
        }
        (None, Some(ttl)) => Ok(Some(add_duration(
            "ttl",
            now(),
            parse_duration("ttl", ttl)?,
        )?)),
        (None, None) => Ok(None),
    }
}

fn parse_aliases(s: &Secret, raw: &BTreeMap<String, Value>) -> ApiResult<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for (alias, v) in raw {
        let valid = alias.len() <= 63
            && alias.starts_with(|c: char| c.is_ascii_alphabetic())
            && alias
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && alias != "latest";
        if !valid {
            return Err(ApiError::invalid(format!(
                "Invalid version alias '{alias}'."
            )));
        }
        let n = match v {
            Value::String(s) => s.parse::<u64>().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Version alias '{alias}' must name a version number."
            ))
        })?;
        if !s.versions.iter().any(|x| x.number == n) {
            return Err(ApiError::invalid(format!(
                "Version alias '{alias}' names version {n}, which does not exist."
            )));
        }
        out.insert(alias.clone(), n);
    }
    Ok(out)
}

fn check_etag(given: Option<&str>, current: &str, what: &str) -> ApiResult<()> {
    match given.filter(|e| !e.is_empty()) {
        Some(e) if e != current => Err(ApiError::aborted(format!(
            "The etag provided does not match the current etag of the {what}; read it again and retry."
        ))),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- lookups

fn secret_key(store: &mut Store, at: At<'_>, secret: &str) -> ApiResult<SecretKey> {
    if let Some(l) = at.location {
        check_location(l)?;
    }
    let project_id = store.project_id(at.project)?;
    let key = (
        project_id,
        at.location.unwrap_or_default().to_owned(),
        secret.to_owned(),
    );
    if !store.secrets.contains_key(&key) {
        let parent = parent_name(store.project_number(&key.0), at);
        return Err(ApiError::not_found(format!(
            "Secret [{parent}/secrets/{secret}] not found."
        )));
    }
    Ok(key)
}

fn secret_mut<'a>(store: &'a mut Store, key: &SecretKey) -> ApiResult<&'a mut Secret> {
    store
        .secrets
        .get_mut(key)
        .ok_or_else(|| ApiError::not_found("Secret not found."))
}

/// Resolves a version id: a number, `latest` or an alias.
///
/// `latest` is "an alias to the most recently created SecretVersion" (the reference of
/// `projects.secrets.versions.access` and `.get`), whatever its state: when that version
/// is disabled or destroyed, accessing `latest` fails with FAILED_PRECONDITION naming it
/// (as Google answers: "Secret Version [.../versions/4] is in DESTROYED state."), and
/// describing `latest` shows it with its state. A secret with no version at all has no
/// `latest` (NOT_FOUND).
fn resolve_version(store: &Store, s: &Secret, version: &str) -> ApiResult<u64> {
    let missing = || {
        ApiError::not_found(format!(
            "Secret Version [{}/versions/{version}] not found.",
            secret_name(store, s)
        ))
    };
    if version == "latest" {
        return s
            .versions
            .iter()
            .map(|v| v.number)
            .max()
            .ok_or_else(missing);
    }
    let n = match version.parse::<u64>() {
        Ok(n) => n,
        Err(_) => *s.version_aliases.get(version).ok_or_else(missing)?,
    };
    s.versions
        .iter()
        .any(|v| v.number == n)
        .then_some(n)
        .ok_or_else(missing)
}

// ---------------------------------------------------------------- secrets

pub fn create(store: &mut Store, at: At<'_>, req: &ApiRequest) -> ApiResult<Value> {
    let secret_id = req.param("secretId").unwrap_or_default().to_owned();
    if !valid_secret_id(&secret_id) {
        return Err(ApiError::invalid(format!(
            "Invalid secret_id '{secret_id}': use 1 to 255 letters, digits, '_' and '-'."
        )));
    }
    let input: SecretIn = req.json()?;
    let replication = match (at.location, input.replication.clone()) {
        (Some(l), Some(_)) => {
            check_location(l)?;
            return Err(ApiError::invalid(
                "Regional secrets do not take a replication policy.",
            ));
        }
        (Some(l), None) => {
            check_location(l)?;
            Replication::default()
        }
        (None, Some(r)) => {
            check_replication(&r)?;
            r
        }
        (None, None) => return Err(ApiError::invalid("Secret.replication must be specified.")),
    };
    let labels = input.labels.clone().unwrap_or_default();
    check_labels(&labels)?;
    let annotations = input.annotations.clone().unwrap_or_default();
    check_annotations(&annotations)?;
    let topics = input.topics.clone().unwrap_or_default();
    check_topics(&topics)?;
    let rotation = input
        .rotation
        .as_ref()
        .map(|r| check_rotation(r, &topics, true))
        .transpose()?;
    let expire_time = expiry(&input)?;
    if let Some(ttl) = &input.version_destroy_ttl {
        parse_duration("version_destroy_ttl", ttl)?;
    }
    let project_id = store.project_id(at.project)?;
    let number = store.project_number(&project_id);
    let key = (
        project_id.clone(),
        at.location.unwrap_or_default().to_owned(),
        secret_id.clone(),
    );
    if store.secrets.contains_key(&key) {
        let parent = parent_name(number, at);
        return Err(ApiError::exists(format!(
            "Secret [{parent}/secrets/{secret_id}] already exists."
        )));
    }
    let seq = store.next_generation();
    let etag = store.next_resource_etag();
    let mut secret = Secret {
        project_id,
        location: at.location.map(str::to_owned),
        id: secret_id,
        seq,
        create_time: now_to(6),
        labels,
        annotations,
        replication,
        rotation,
        topics,
        expire_time,
        version_aliases: BTreeMap::new(),
        version_destroy_ttl: input.version_destroy_ttl.clone(),
        customer_managed_encryption: input.customer_managed_encryption.clone(),
        etag,
        versions: Vec::new(),
        next_version: 1,
        policy: Default::default(),
    };
    if let Some(raw) = &input.version_aliases {
        secret.version_aliases = parse_aliases(&secret, raw)?;
    }
    let out = secret_json(store, &secret);
    store.secrets.insert(key, secret);
    Ok(out)
}

pub fn get(store: &mut Store, at: At<'_>, secret: &str) -> ApiResult<Value> {
    let key = secret_key(store, at, secret)?;
    let s = secret_mut(store, &key)?.clone();
    Ok(secret_json(store, &s))
}

fn secret_field(store: &Store, s: &Secret, field: &str) -> FieldValue {
    let text = |v: &String| FieldValue::Text(v.clone());
    let list = |v: Vec<String>| match v.is_empty() {
        true => FieldValue::Missing,
        false => FieldValue::List(v),
    };
    let kms = |c: &Option<CustomerManagedEncryption>| {
        c.as_ref().map_or(FieldValue::Missing, |c| {
            FieldValue::Text(c.kms_key_name.clone())
        })
    };
    let replicas = || {
        s.replication
            .user_managed
            .iter()
            .flat_map(|u| u.replicas.iter())
    };
    // Field paths as the Filtering page writes them (snake case), with the JSON
    // (camel case) spelling accepted too, as AIP-160 allows.
    match field
        .replace("userManaged", "user_managed")
        .replace("customerManagedEncryption", "customer_managed_encryption")
        .replace("kmsKeyName", "kms_key_name")
        .replace("nextRotationTime", "next_rotation_time")
        .as_str()
    {
        "name" => FieldValue::Text(secret_name(store, s)),
        "create_time" | "createTime" => FieldValue::Time(s.create_time),
        "expire_time" | "expireTime" => s.expire_time.map_or(FieldValue::Missing, FieldValue::Time),
        "replication" => FieldValue::Text(if s.replication.automatic.is_some() {
            "automatic".into()
        } else {
            "user_managed".into()
        }),
        "replication.automatic" => s
            .replication
            .automatic
            .as_ref()
            .map_or(FieldValue::Missing, |_| FieldValue::Text(String::new())),
        "replication.automatic.customer_managed_encryption.kms_key_name" => s
            .replication
            .automatic
            .as_ref()
            .map_or(FieldValue::Missing, |a| kms(&a.customer_managed_encryption)),
        "replication.user_managed" => s
            .replication
            .user_managed
            .as_ref()
            .map_or(FieldValue::Missing, |_| FieldValue::Text(String::new())),
        "replication.user_managed.replicas" | "replication.user_managed.replicas.location" => {
            list(replicas().map(|r| r.location.clone()).collect())
        }
        "replication.user_managed.replicas.customer_managed_encryption.kms_key_name" => list(
            replicas()
                .filter_map(|r| r.customer_managed_encryption.as_ref())
                .map(|c| c.kms_key_name.clone())
                .collect(),
        ),
        "rotation.next_rotation_time" => s
            .rotation
            .as_ref()
            .and_then(|r| r.next_rotation_time.as_deref())
            .and_then(|t| parse_time("rotation.next_rotation_time", t).ok())
            .map_or(FieldValue::Missing, FieldValue::Time),
        "topics" | "topics.name" => list(s.topics.iter().map(|t| t.name.clone()).collect()),
        "labels" => list(s.labels.keys().cloned().collect()),
        "annotations" => list(s.annotations.keys().cloned().collect()),
        f => {
            if let Some(k) = f.strip_prefix("labels.") {
                s.labels.get(k).map_or(FieldValue::Missing, text)
            } else if let Some(k) = f.strip_prefix("annotations.") {
                s.annotations.get(k).map_or(FieldValue::Missing, text)
            } else {
                FieldValue::Missing
            }
        }
    }
}

fn known_secret_field(f: &str) -> bool {
    let f = f
        .replace("userManaged", "user_managed")
        .replace("customerManagedEncryption", "customer_managed_encryption")
        .replace("kmsKeyName", "kms_key_name")
        .replace("nextRotationTime", "next_rotation_time");
    matches!(
        f.as_str(),
        "name"
            | "create_time"
            | "createTime"
            | "expire_time"
            | "expireTime"
            | "replication"
            | "replication.automatic"
            | "replication.automatic.customer_managed_encryption.kms_key_name"
            | "replication.user_managed"
            | "replication.user_managed.replicas"
            | "replication.user_managed.replicas.location"
            | "replication.user_managed.replicas.customer_managed_encryption.kms_key_name"
            | "rotation.next_rotation_time"
            | "topics"
            | "topics.name"
            | "labels"
            | "annotations"
    ) || f.starts_with("labels.")
        || f.starts_with("annotations.")
}

pub fn list(store: &mut Store, at: At<'_>, req: &ApiRequest) -> ApiResult<Value> {
    if let Some(l) = at.location {
        check_location(l)?;
    }
    let project_id = store.project_id(at.project)?;
    let location = at.location.map(str::to_owned);
    let filter_text = req.param("filter").unwrap_or_default().trim().to_owned();
    let terms = filter::parse(&filter_text, Dialect::SecretManager, known_secret_field)?;
    let mut secrets: Vec<&Secret> = store
        .secrets
        .values()
        .filter(|s| s.project_id == project_id && s.location == location)
        .collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.seq));
    let mut items = Vec::new();
    for s in secrets {
        if filter::matches(&terms, |f| secret_field(store, s, f))? {
            items.push((format!("{:020}", u64::MAX - s.seq), secret_json(store, s)));
        }
    }
    let total = items.len();
    let scope = format!(
        "secrets|{project_id}|{}|{filter_text}",
        at.location.unwrap_or_default()
    );
    let (page, next) = paginate(items, &scope, req.page_size()?, req.page_token(), LIMITS)?;
    let mut out = json!({});
    if !page.is_empty() {
        out["secrets"] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    if filter_text.is_empty() && total > 0 {
        out["totalSize"] = json!(total);
    }
    Ok(out)
}

/// What `secrets.patch` lets `updateMask` name (`Secret` in `secretmanager.v1.json`):
/// sub-field paths of `rotation` change only that sub-field (FieldMask semantics, see
/// [`crate::fieldmask`]).
const SECRET_MASK: fieldmask::Schema = fieldmask::Schema {
    updatable: &[
        "labels",
        "annotations",
        "topics",
        "rotation",
        "rotation.nextRotationTime",
        "rotation.rotationPeriod",
        "expireTime",
        "ttl",
        "versionAliases",
        "versionDestroyTtl",
    ],
    immutable: &["name", "createTime", "replication", "etag"],
};

/// The updatable fields of a stored secret, as the JSON a PATCH body carries.
fn updatable_json(s: &Secret) -> Value {
    let mut out = json!({
        "labels": s.labels,
        "annotations": s.annotations,
        "topics": s.topics,
        "versionAliases": s.version_aliases,
    });
    if let Some(r) = &s.rotation {
        out["rotation"] = json!(r);
    }
    if let Some(t) = &s.version_destroy_ttl {
        out["versionDestroyTtl"] = json!(t);
    }
    out
}

fn field<T: serde::de::DeserializeOwned + Default>(v: &Value, key: &str) -> ApiResult<T> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(x) => serde_json::from_value(x.clone())
            .map_err(|e| ApiError::invalid(format!("Invalid value at 'secret.{key}': {e}"))),
    }
}

pub fn patch(store: &mut Store, at: At<'_>, secret: &str, req: &ApiRequest) -> ApiResult<Value> {
    let key = secret_key(store, at, secret)?;
    let paths = fieldmask::paths(req.param("updateMask").unwrap_or_default(), &SECRET_MASK)?;
    let body: Value = req.json()?;
    let input: SecretIn = req.json()?;
    let current = secret_mut(store, &key)?.clone();
    check_etag(input.etag.as_deref(), &current.etag, "secret")?;
    let mut next = current.clone();
    let touched = |p: &str| {
        paths
            .iter()
            .any(|x| x == p || x.starts_with(&format!("{p}.")))
    };
    let mut merged = updatable_json(&current);
    fieldmask::apply(&mut merged, &body, &paths);
    if touched("labels") {
        next.labels = field(&merged, "labels")?;
        check_labels(&next.labels)?;
    }
    if touched("annotations") {
        next.annotations = field(&merged, "annotations")?;
        check_annotations(&next.annotations)?;
    }
    if touched("topics") {
        next.topics = field(&merged, "topics")?;
        check_topics(&next.topics)?;
    }
    if touched("expireTime") || touched("ttl") {
        next.expire_time = expiry(&input)?;
    }
    if touched("versionAliases") {
        let raw: BTreeMap<String, Value> = field(&merged, "versionAliases")?;
        next.version_aliases = parse_aliases(&next, &raw)?;
    }
    if touched("versionDestroyTtl") {
        next.version_destroy_ttl = field::<Option<String>>(&merged, "versionDestroyTtl")?;
        if let Some(ttl) = &next.version_destroy_ttl {
            parse_duration("version_destroy_ttl", ttl)?;
        }
    }
    if touched("rotation") {
        let r: Rotation = field(&merged, "rotation")?;
        // A kept next_rotation_time is not re-checked against the clock.
        let kept = r.next_rotation_time.is_some()
            && r.next_rotation_time
                == current
                    .rotation
                    .as_ref()
                    .and_then(|c| c.next_rotation_time.clone());
        next.rotation = match r == Rotation::default() {
            true => None,
            false => Some(check_rotation(&r, &next.topics, !kept)?),
        };
    } else if next
        .rotation
        .as_ref()
        .is_some_and(|r| r.next_rotation_time.is_some())
        && next.topics.is_empty()
    {
        return Err(ApiError::invalid(
            "A secret with a rotation policy must have at least one topic.",
        ));
    }
    next.etag = store.next_resource_etag();
    let out = secret_json(store, &next);
    store.secrets.insert(key, next);
    Ok(out)
}

pub fn delete(store: &mut Store, at: At<'_>, secret: &str, req: &ApiRequest) -> ApiResult<Value> {
    let key = secret_key(store, at, secret)?;
    check_etag(req.param("etag"), &secret_mut(store, &key)?.etag, "secret")?;
    store.secrets.remove(&key);
    Ok(json!({}))
}

// ---------------------------------------------------------------- versions

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayloadIn {
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    data_crc32c: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddVersionIn {
    #[serde(default)]
    payload: Option<PayloadIn>,
}

pub fn add_version(
    store: &mut Store,
    at: At<'_>,
    secret: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let key = secret_key(store, at, secret)?;
    let body: AddVersionIn = req.json()?;
    let payload = body
        .payload
        .ok_or_else(|| ApiError::invalid("Field [payload] is required."))?;
    let data = b64_decode("payload.data", payload.data.as_deref().unwrap_or_default())?;
    // proto3 JSON cannot tell an empty `data` from an absent one, and Google refuses
    // both with this message (seen by terraform users sending `secret_data = ""`,
    // hashicorp/terraform-provider-google#10475, #8766; firebase-tools#3863).
    if data.is_empty() {
        return Err(ApiError::invalid("Field [payload] is required."));
    }
    if data.len() > MAX_PAYLOAD {
        return Err(ApiError::invalid(
            "Secret payload data must be no larger than 64KiB.",
        ));
    }
    let actual = crc32c(&data);
    let client_checksum = match &payload.data_crc32c {
        None | Some(Value::Null) => false,
        Some(v) => {
            let claimed = match v {
                Value::String(s) => s.parse::<i64>().ok(),
                Value::Number(n) => n.as_i64(),
                _ => None,
            }
            .ok_or_else(|| {
                ApiError::invalid("Invalid value at 'payload.data_crc32c' (TYPE_INT64).")
            })?;
            if claimed != i64::from(actual) {
                return Err(ApiError::invalid(
                    "Data integrity check failed: payload.data_crc32c does not match the CRC32C of payload.data.",
                ));
            }
            true
        }
    };
    let etag = store.next_resource_etag();
    let s = secret_mut(store, &key)?;
    let version = Version {
        number: s.next_version,
        scheduled_destroy_time: None,
        create_time: now_to(6),
        state: VersionState::Enabled,
        destroy_time: None,
        data,
        crc32c: actual,
        client_checksum,
        etag,
    };
    s.next_version += 1;
    s.versions.push(version.clone());
    let s = s.clone();
    Ok(version_json(store, &s, &version))
}

fn known_version_field(f: &str) -> bool {
    matches!(
        f,
        "name" | "state" | "create_time" | "createTime" | "destroy_time" | "destroyTime"
    )
}

pub fn list_versions(
    store: &mut Store,
    at: At<'_>,
    secret: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let key = secret_key(store, at, secret)?;
    let filter_text = req.param("filter").unwrap_or_default().trim().to_owned();
    let terms = filter::parse(&filter_text, Dialect::SecretManager, known_version_field)?;
    let s = secret_mut(store, &key)?.clone();
    let name = secret_name(store, &s);
    let mut items = Vec::new();
    for v in s.versions.iter().rev() {
        let vname = format!("{name}/versions/{}", v.number);
        let keep = filter::matches(&terms, |f| match f {
            "name" => FieldValue::Text(vname.clone()),
            "state" => FieldValue::Text(v.state.as_str().to_owned()),
            "create_time" | "createTime" => FieldValue::Time(v.create_time),
            _ => v.destroy_time.map_or(FieldValue::Missing, FieldValue::Time),
        })?;
        if keep {
            items.push((
                format!("{:020}", u64::MAX - v.number),
                version_json(store, &s, v),
            ));
        }
    }
    let total = items.len();
    let scope = format!("versions|{}|{}|{}|{filter_text}", key.0, key.1, key.2);
    let (page, next) = paginate(items, &scope, req.page_size()?, req.page_token(), LIMITS)?;
    let mut out = json!({});
    if !page.is_empty() {
        out["versions"] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    if filter_text.is_empty() && total > 0 {
        out["totalSize"] = json!(total);
    }
    Ok(out)
}

pub fn get_version(store: &mut Store, at: At<'_>, secret: &str, version: &str) -> ApiResult<Value> {
    let key = secret_key(store, at, secret)?;
    let s = secret_mut(store, &key)?.clone();
    let n = resolve_version(store, &s, version)?;
    let v = s
        .versions
        .iter()
        .find(|v| v.number == n)
        .ok_or_else(|| ApiError::not_found("Secret Version not found."))?;
    Ok(version_json(store, &s, v))
}

pub fn access_version(
    store: &mut Store,
    at: At<'_>,
    secret: &str,
    version: &str,
) -> ApiResult<Value> {
    let key = secret_key(store, at, secret)?;
    let s = secret_mut(store, &key)?.clone();
    let n = resolve_version(store, &s, version)?;
    let v = s
        .versions
        .iter()
        .find(|v| v.number == n)
        .ok_or_else(|| ApiError::not_found("Secret Version not found."))?;
    let name = format!("{}/versions/{}", secret_name(store, &s), v.number);
    if v.state != VersionState::Enabled {
        return Err(ApiError::precondition(format!(
            "Secret Version [{name}] is in {} state.",
            v.state.as_str()
        )));
    }
    Ok(json!({
        "name": name,
        "payload": { "data": b64(&v.data), "dataCrc32c": v.crc32c.to_string() },
    }))
}

/// The three state changes a version can go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionAction {
    Enable,
    Disable,
    Destroy,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EtagIn {
    #[serde(default)]
    etag: Option<String>,
}

pub fn change_version(
    store: &mut Store,
    at: At<'_>,
    secret: &str,
    version: &str,
    action: VersionAction,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let key = secret_key(store, at, secret)?;
    let body: EtagIn = req.json()?;
    let s = secret_mut(store, &key)?.clone();
    let n = resolve_version(store, &s, version)?;
    let etag = store.next_resource_etag();
    let name = format!("{}/versions/{n}", secret_name(store, &s));
    let s = secret_mut(store, &key)?;
    let destroy_ttl = s
        .version_destroy_ttl
        .as_deref()
        .map(|t| parse_duration("version_destroy_ttl", t))
        .transpose()?;
    let v = s
        .versions
        .iter_mut()
        .find(|v| v.number == n)
        .ok_or_else(|| ApiError::not_found("Secret Version not found."))?;
    check_etag(body.etag.as_deref(), &v.etag, "secret version")?;
    if v.state == VersionState::Destroyed {
        return Err(ApiError::precondition(format!(
            "Secret Version [{name}] is in DESTROYED state."
        )));
    }
    match action {
        VersionAction::Enable => {
            v.state = VersionState::Enabled;
            v.scheduled_destroy_time = None;
        }
        VersionAction::Disable => v.state = VersionState::Disabled,
        VersionAction::Destroy => match destroy_ttl.filter(|d| *d > TimeDelta::zero()) {
            Some(ttl) => {
                v.state = VersionState::Disabled;
                v.scheduled_destroy_time =
                    Some(add_duration("version_destroy_ttl", now_to(6), ttl)?);
            }
            None => {
                v.state = VersionState::Destroyed;
                v.destroy_time = Some(now_to(6));
                v.data.clear();
            }
        },
    }
    v.etag = etag;
    let v = v.clone();
    let s = s.clone();
    Ok(version_json(store, &s, &v))
}

// ---------------------------------------------------------------- IAM

/// `GET ...:getIamPolicy?options.requestedPolicyVersion=N`.
pub fn get_iam_policy(
    store: &mut Store,
    at: At<'_>,
    secret: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let key = secret_key(store, at, secret)?;
    let version = req.int_param("options.requestedPolicyVersion")?;
    secret_mut(store, &key)?.policy.render(version)
}

pub fn set_iam_policy(
    store: &mut Store,
    at: At<'_>,
    secret: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let key = secret_key(store, at, secret)?;
    let body: SetIamPolicyRequest = req.json()?;
    crate::policy::check_grants(store, crate::policy::On::Secret, &body)?;
    let generation = store.next_generation();
    secret_mut(store, &key)?
        .policy
        .set(body, generation, AuditConfigs::Rejected)
}

// ---------------------------------------------------------------- locations

fn location_json(project: &str, id: &str, display: &str) -> Value {
    json!({
        "name": format!("projects/{project}/locations/{id}"),
        "locationId": id,
        "displayName": display,
    })
}

/// `GET /v1/projects/{p}/locations`: where regional secrets may live.
pub fn list_locations(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let project_id = store.project_id(project)?;
    let items = LOCATIONS
        .iter()
        .map(|(id, display)| ((*id).to_owned(), location_json(&project_id, id, display)))
        .collect();
    let (page, next) = paginate(
        items,
        &format!("locations|{project_id}"),
        req.page_size()?,
        req.page_token(),
        LIMITS,
    )?;
    let mut out = json!({ "locations": page });
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

pub fn get_location(store: &mut Store, project: &str, location: &str) -> ApiResult<Value> {
    let project_id = store.project_id(project)?;
    let (id, display) = LOCATIONS
        .iter()
        .find(|(l, _)| *l == location)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Location projects/{project}/locations/{location} not found."
            ))
        })?;
    Ok(location_json(&project_id, id, display))
}
