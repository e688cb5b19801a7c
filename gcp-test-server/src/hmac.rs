//! Cloud Storage JSON API v1 HMAC keys (`storage.v1.json`, `projects.hmacKeys`):
//! list (`maxResults`, `serviceAccountEmail`, `showDeletedKeys`), get, create, update
//! (the state only: ACTIVE <-> INACTIVE, with an optional etag) and delete (only an
//! INACTIVE key; it stays listed as DELETED with `showDeletedKeys`).
//!
//! Invariants: the secret is returned once, by `create`, and by no other method; a
//! service account holds at most 10 keys that are not deleted (Google's limit).
//! Where this differs from Google: a stale etag is answered 400 FAILED_PRECONDITION
//! (Google: 412 conditionNotMet) and errors carry the canonical body without the
//! legacy `errors[]` list.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::creds::Call;
use crate::error::{ApiError, ApiResult};
use crate::paging::{paginate, Limits};
use crate::store::Store;
use crate::util::{b64, fmt_time, now_to, splitmix64, Time};
use crate::wire::ApiRequest;

/// `hmacKeys.list`: "this parameter or 250 items, whichever is smaller".
const LIMITS: Limits = Limits {
    default: 250,
    max: 250,
};
const MAX_KEYS_PER_ACCOUNT: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmacState {
    Active,
    Inactive,
    Deleted,
}

impl HmacState {
    pub fn as_str(self) -> &'static str {
        match self {
            HmacState::Active => "ACTIVE",
            HmacState::Inactive => "INACTIVE",
            HmacState::Deleted => "DELETED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct HmacKey {
    pub access_id: String,
    /// The secret; only `create` returns it.
    pub secret: String,
    pub project_id: String,
    pub service_account_email: String,
    pub state: HmacState,
    pub time_created: Time,
    pub updated: Time,
    pub etag: String,
    pub seq: u64,
}

/// The route for an HMAC key request, if it is one.
pub fn route<'r>(
    method: &str,
    segs: &'r [&'r str],
    verb: Option<&'r str>,
) -> Option<(&'static str, Call<'r>)> {
    let r: (&'static str, Call<'r>) = match (method, segs, verb) {
        ("GET", ["storage", "v1", "projects", p, "hmacKeys"], None) => (
            "GET /storage/v1/projects/{project}/hmacKeys",
            Box::new(move |s, r| list(s, p, r)),
        ),
        ("POST", ["storage", "v1", "projects", p, "hmacKeys"], None) => (
            "POST /storage/v1/projects/{project}/hmacKeys",
            Box::new(move |s, r| create(s, p, r)),
        ),
        ("GET", ["storage", "v1", "projects", p, "hmacKeys", a], None) => (
            "GET /storage/v1/projects/{project}/hmacKeys/{accessId}",
            Box::new(move |s, _| find(s, p, a).map(|k| metadata(&k))),
        ),
        ("PUT", ["storage", "v1", "projects", p, "hmacKeys", a], None) => (
            "PUT /storage/v1/projects/{project}/hmacKeys/{accessId}",
            Box::new(move |s, r| update(s, p, a, r)),
        ),
        ("DELETE", ["storage", "v1", "projects", p, "hmacKeys", a], None) => (
            "DELETE /storage/v1/projects/{project}/hmacKeys/{accessId}",
            Box::new(move |s, _| delete(s, p, a)),
        ),
        _ => return None,
    };
    Some(r)
}

/// `HmacKeyMetadata`: never the secret.
pub fn metadata(k: &HmacKey) -> Value {
    json!({
        "kind": "storage#hmacKeyMetadata",
        "id": format!("{}/{}", k.project_id, k.access_id),
        "selfLink": format!("https://www.googleapis.com/storage/v1/projects/{}/hmacKeys/{}", k.project_id, k.access_id),
        "accessId": k.access_id,
        "projectId": k.project_id,
        "serviceAccountEmail": k.service_account_email,
        "state": k.state.as_str(),
        "timeCreated": fmt_time(&k.time_created),
        "updated": fmt_time(&k.updated),
        "etag": k.etag,
    })
}

fn find(store: &mut Store, project: &str, access_id: &str) -> ApiResult<HmacKey> {
    let project_id = store.project_id(project)?;
    store
        .creds
        .hmac_keys
        .get(access_id)
        .filter(|k| k.project_id == project_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("Access ID not found in project {project}.")))
}

fn etag(store: &mut Store) -> String {
    b64(format!("{:016x}", store.next_generation()).as_bytes())
}

/// Creates a key for a service account (the API's `create`, and the admin seed with a
/// fixed secret or creation time).
pub fn insert(
    store: &mut Store,
    project: &str,
    email: &str,
    secret: Option<String>,
    created: Option<Time>,
) -> ApiResult<Value> {
    if !email.contains('@') {
        return Err(ApiError::invalid("serviceAccountEmail is required."));
    }
    let project_id = store.project_id(project)?;
    let live = store
        .creds
        .hmac_keys
        .values()
        .filter(|k| k.service_account_email == email && k.state != HmacState::Deleted)
        .count();
    if live >= MAX_KEYS_PER_ACCOUNT {
        return Err(ApiError::precondition(format!(
            "The service account {email} already has {MAX_KEYS_PER_ACCOUNT} HMAC keys."
        )));
    }
    let seq = store.next_generation();
    let mut state = seq ^ 0x004d_4143;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let access_id: String = "GOOG1E"
        .chars()
        .chain((0..55).map(|_| alphabet[(splitmix64(&mut state) % 36) as usize] as char))
        .collect();
    let generated: Vec<u8> = (0..30).map(|_| splitmix64(&mut state) as u8).collect();
    let at = created.unwrap_or_else(|| now_to(3));
    let key = HmacKey {
        access_id: access_id.clone(),
        secret: secret.unwrap_or_else(|| b64(&generated)),
        project_id,
        service_account_email: email.to_owned(),
        state: HmacState::Active,
        time_created: at,
        updated: at,
        etag: etag(store),
        seq,
    };
    let out =
        json!({ "kind": "storage#hmacKey", "metadata": metadata(&key), "secret": key.secret });
    store.creds.hmac_keys.insert(access_id, key);
    Ok(out)
}

fn create(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let email = req
        .param("serviceAccountEmail")
        .unwrap_or_default()
        .to_owned();
    insert(store, project, &email, None, None)
}

fn list(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let project_id = store.project_id(project)?;
    let deleted = req.param("showDeletedKeys") == Some("true");
    let account = req.param("serviceAccountEmail").filter(|e| !e.is_empty());
    let mut items: Vec<(String, Value)> = store
        .creds
        .hmac_keys
        .values()
        .filter(|k| k.project_id == project_id)
        .filter(|k| deleted || k.state != HmacState::Deleted)
        .filter(|k| account.is_none_or(|a| a == k.service_account_email))
        .map(|k| (format!("{:020}", k.seq), metadata(k)))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (page, next) = paginate(
        items,
        &format!(
            "hmac|{project_id}|{deleted}|{}",
            account.unwrap_or_default()
        ),
        req.int_param("maxResults")?,
        req.page_token(),
        LIMITS,
    )?;
    let mut out = json!({ "kind": "storage#hmacKeysMetadata" });
    if !page.is_empty() {
        out["items"] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
struct UpdateBody {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    etag: Option<String>,
}

fn update(store: &mut Store, project: &str, access_id: &str, req: &ApiRequest) -> ApiResult<Value> {
    let body: UpdateBody = req.json()?;
    let current = find(store, project, access_id)?;
    let state = match body.state.as_deref() {
        Some("ACTIVE") => HmacState::Active,
        Some("INACTIVE") => HmacState::Inactive,
        _ => {
            return Err(ApiError::invalid(
                "state must be ACTIVE or INACTIVE (delete a key to make it DELETED).",
            ))
        }
    };
    if current.state == HmacState::Deleted {
        return Err(ApiError::precondition(
            "The key is deleted and cannot be updated.",
        ));
    }
    if body
        .etag
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != current.etag)
    {
        return Err(ApiError::precondition(
            "The etag does not match the key's current etag: read the key again.",
        ));
    }
    let etag = etag(store);
    let key = store.creds.hmac_keys.get_mut(access_id).expect("found");
    if key.state != state {
        key.state = state;
        key.updated = now_to(3);
        key.etag = etag;
    }
    Ok(metadata(key))
}

fn delete(store: &mut Store, project: &str, access_id: &str) -> ApiResult<Value> {
    let current = find(store, project, access_id)?;
    if current.state != HmacState::Inactive {
        return Err(ApiError::invalid(format!(
            "Cannot delete keys in '{}' state.",
            current.state.as_str()
        )));
    }
    let etag = etag(store);
    let key = store.creds.hmac_keys.get_mut(access_id).expect("found");
    key.state = HmacState::Deleted;
    key.updated = now_to(3);
    key.etag = etag;
    Ok(json!({}))
}
