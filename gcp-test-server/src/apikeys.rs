//! API Keys API v2 (`apikeys.v2.json`): `projects/*/locations/global/keys` list (with
//! `showDeleted`), get, create, patch (update mask over `displayName`, `restrictions`,
//! `annotations`), delete (with `etag`), undelete, `getKeyString`, and
//! `operations.get`. Mutations answer a finished Operation wrapping the key.
//!
//! Invariants: a key's `keyString` appears only in `getKeyString` and in the create
//! operation's response, as at Google; names carry the project *number*
//! (`projects/123/locations/global/keys/UID`); every change gives a new etag.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::creds::{done_operation, global_only, Call};
use crate::error::{ApiError, ApiResult};
use crate::paging::{paginate, Limits};
use crate::store::Store;
use crate::util::{fmt_time, fnv64, now_to, splitmix64, Time};
use crate::wire::ApiRequest;

/// Google documents no default or maximum page size for `keys.list`; 300 both.
const LIMITS: Limits = Limits {
    default: 300,
    max: 300,
};
const KEY_TYPE: &str = "type.googleapis.com/google.api.apikeys.v2.Key";

#[derive(Clone, Debug)]
pub struct ApiKey {
    pub project_id: String,
    pub uid: String,
    pub seq: u64,
    pub display_name: String,
    /// The secret. Shown only by `getKeyString` (and the create response).
    pub key_string: String,
    pub create_time: Time,
    pub update_time: Time,
    pub delete_time: Option<Time>,
    /// `V2Restrictions` as sent; `None` for an unrestricted key.
    pub restrictions: Option<Value>,
    pub annotations: Map<String, Value>,
    pub service_account_email: Option<String>,
    pub etag: String,
}

/// The route for an API Keys request, if it is one.
pub fn route<'r>(
    method: &str,
    segs: &'r [&'r str],
    verb: Option<&'r str>,
) -> Option<(&'static str, Call<'r>)> {
    let r: (&'static str, Call<'r>) = match (method, segs, verb) {
        ("GET", ["v2", "projects", p, "locations", l, "keys"], None) => (
            "GET /v2/projects/{project}/locations/{location}/keys",
            Box::new(move |s, r| list(s, p, l, r)),
        ),
        ("POST", ["v2", "projects", p, "locations", l, "keys"], None) => (
            "POST /v2/projects/{project}/locations/{location}/keys",
            Box::new(move |s, r| create(s, p, l, r)),
        ),
        ("GET", ["v2", "projects", p, "locations", l, "keys", k], None) => (
            "GET /v2/projects/{project}/locations/{location}/keys/{key}",
            Box::new(move |s, _| find(s, p, l, k)),
        ),
        ("PATCH", ["v2", "projects", p, "locations", l, "keys", k], None) => (
            "PATCH /v2/projects/{project}/locations/{location}/keys/{key}",
            Box::new(move |s, r| patch(s, p, l, k, r)),
        ),
        ("DELETE", ["v2", "projects", p, "locations", l, "keys", k], None) => (
            "DELETE /v2/projects/{project}/locations/{location}/keys/{key}",
            Box::new(move |s, r| delete(s, p, l, k, r)),
        ),
        ("POST", ["v2", "projects", p, "locations", l, "keys", k], Some("undelete")) => (
            "POST /v2/projects/{project}/locations/{location}/keys/{key}:undelete",
            Box::new(move |s, _| undelete(s, p, l, k)),
        ),
        ("GET", ["v2", "projects", p, "locations", l, "keys", k, "keyString"], None) => (
            "GET /v2/projects/{project}/locations/{location}/keys/{key}/keyString",
            Box::new(move |s, _| key_string(s, p, l, k)),
        ),
        ("GET", ["v2", "operations", o], None) => (
            "GET /v2/operations/{operation}",
            Box::new(move |s, _| crate::creds::get_operation(s, o)),
        ),
        _ => return None,
    };
    Some(r)
}

fn name(store: &Store, key: &ApiKey) -> String {
    format!(
        "projects/{}/locations/global/keys/{}",
        store.project_number(&key.project_id),
        key.uid
    )
}

/// The key as `keys.get` shows it: never the key string.
pub(crate) fn key_json_in(store: &Store, key: &ApiKey) -> Value {
    let mut out = json!({
        "name": name(store, key),
        "uid": key.uid,
        "createTime": fmt_time(&key.create_time),
        "updateTime": fmt_time(&key.update_time),
        "etag": key.etag,
    });
    if !key.display_name.is_empty() {
        out["displayName"] = json!(key.display_name);
    }
    if let Some(t) = &key.delete_time {
        out["deleteTime"] = json!(fmt_time(t));
    }
    if let Some(r) = &key.restrictions {
        out["restrictions"] = r.clone();
    }
    if !key.annotations.is_empty() {
        out["annotations"] = Value::Object(key.annotations.clone());
    }
    if let Some(e) = &key.service_account_email {
        out["serviceAccountEmail"] = json!(e);
    }
    out
}

fn locate(
    store: &mut Store,
    project: &str,
    location: &str,
    uid: &str,
) -> ApiResult<(String, String)> {
    global_only(location)?;
    let project_id = store.project_id(project)?;
    let id = (project_id, uid.to_owned());
    if store.creds.api_keys.contains_key(&id) {
        Ok(id)
    } else {
        Err(ApiError::not_found(format!(
            "Key projects/{project}/locations/{location}/keys/{uid} not found."
        )))
    }
}

fn find(store: &mut Store, project: &str, location: &str, uid: &str) -> ApiResult<Value> {
    let id = locate(store, project, location, uid)?;
    Ok(key_json_in(store, &store.creds.api_keys[&id]))
}

/// `keys.getKeyString`: the one read that returns the secret (the tool never calls it).
fn key_string(store: &mut Store, project: &str, location: &str, uid: &str) -> ApiResult<Value> {
    let id = locate(store, project, location, uid)?;
    Ok(json!({ "keyString": store.creds.api_keys[&id].key_string }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    restrictions: Option<Value>,
    #[serde(default)]
    annotations: Option<Map<String, Value>>,
    #[serde(default)]
    service_account_email: Option<String>,
}

fn check_body(body: &KeyBody) -> ApiResult<()> {
    if body
        .display_name
        .as_ref()
        .is_some_and(|d| d.chars().count() > 63)
    {
        return Err(ApiError::invalid(
            "displayName must be at most 63 characters.",
        ));
    }
    if body.restrictions.as_ref().is_some_and(|r| !r.is_object()) {
        return Err(ApiError::invalid(
            "restrictions must be an object (V2Restrictions).",
        ));
    }
    Ok(())
}

/// A UUID4-shaped uid and an `AIza`-shaped key string, deterministic per generation.
fn fresh_ids(store: &mut Store) -> (String, String) {
    let mut state = store.next_generation() ^ 0x5eed_a91c;
    let a = splitmix64(&mut state);
    let b = splitmix64(&mut state);
    let uid = format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    );
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut key = String::from("AIza");
    for _ in 0..35 {
        let r = splitmix64(&mut state);
        key.push(alphabet[(r % 64) as usize] as char);
    }
    (uid, key)
}

/// Creates a key (the API's `create`, and the admin seed with a fixed key string or
/// creation time).
pub fn insert(
    store: &mut Store,
    project: &str,
    body: Value,
    key_string: Option<String>,
    create_time: Option<Time>,
) -> ApiResult<Value> {
    let body: KeyBody = serde_json::from_value(body)
        .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))?;
    check_body(&body)?;
    let project_id = store.project_id(project)?;
    let (uid, generated) = fresh_ids(store);
    let at = create_time.unwrap_or_else(|| now_to(6));
    let key = ApiKey {
        project_id: project_id.clone(),
        uid: uid.clone(),
        seq: store.next_generation(),
        display_name: body.display_name.unwrap_or_default(),
        key_string: key_string.unwrap_or(generated),
        create_time: at,
        update_time: at,
        delete_time: None,
        restrictions: body.restrictions,
        annotations: body.annotations.unwrap_or_default(),
        service_account_email: body.service_account_email,
        etag: store.next_resource_etag(),
    };
    let mut out = key_json_in(store, &key);
    out["keyString"] = json!(key.key_string);
    store.creds.api_keys.insert((project_id, uid), key);
    Ok(out)
}

fn op_name(store: &mut Store, what: &str) -> String {
    let g = store.next_generation();
    format!(
        "operations/akmf.p{}-{:016x}",
        what.len(),
        fnv64(format!("{what}{g}").as_bytes())
    )
}

fn create(store: &mut Store, project: &str, location: &str, req: &ApiRequest) -> ApiResult<Value> {
    global_only(location)?;
    let body: Value = req.json()?;
    let key = insert(store, project, body, None, None)?;
    let name = op_name(store, "create");
    Ok(done_operation(store, name, KEY_TYPE, &key))
}

fn list(store: &mut Store, project: &str, location: &str, req: &ApiRequest) -> ApiResult<Value> {
    global_only(location)?;
    let project_id = store.project_id(project)?;
    let show_deleted = req.param("showDeleted") == Some("true");
    let items: Vec<(String, Value)> = store
        .creds
        .api_keys
        .values()
        .filter(|k| k.project_id == project_id && (show_deleted || k.delete_time.is_none()))
        .map(|k| (format!("{:020}", k.seq), key_json_in(store, k)))
        .collect();
    let mut items = items;
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (page, next) = paginate(
        items,
        &format!("apikeys|{project_id}|{show_deleted}"),
        req.page_size()?,
        req.page_token(),
        LIMITS,
    )?;
    let mut out = json!({});
    if !page.is_empty() {
        out["keys"] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

fn patch(
    store: &mut Store,
    project: &str,
    location: &str,
    uid: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let id = locate(store, project, location, uid)?;
    let body: KeyBody = req.json()?;
    check_body(&body)?;
    let mask: Vec<String> = match req.param("updateMask") {
        Some(m) if !m.trim().is_empty() => m.split(',').map(|s| s.trim().to_owned()).collect(),
        // No mask: every mutable field is overwritten (the method's documentation).
        _ => vec![
            "displayName".into(),
            "restrictions".into(),
            "annotations".into(),
        ],
    };
    let etag = store.next_resource_etag();
    let key = store.creds.api_keys.get_mut(&id).expect("located");
    if key.delete_time.is_some() {
        return Err(ApiError::precondition(
            "The key is deleted; undelete it first.",
        ));
    }
    for path in &mask {
        match path.as_str() {
            "displayName" | "display_name" => {
                key.display_name = body.display_name.clone().unwrap_or_default()
            }
            "restrictions" => key.restrictions = body.restrictions.clone(),
            "annotations" => key.annotations = body.annotations.clone().unwrap_or_default(),
            other => {
                return Err(ApiError::invalid(format!(
                    "Invalid update_mask path: '{other}'."
                )))
            }
        }
    }
    key.update_time = now_to(6);
    key.etag = etag;
    let shown = key_json_in(store, &store.creds.api_keys[&id]);
    let name = op_name(store, "patch");
    Ok(done_operation(store, name, KEY_TYPE, &shown))
}

fn delete(
    store: &mut Store,
    project: &str,
    location: &str,
    uid: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let id = locate(store, project, location, uid)?;
    let etag = store.next_resource_etag();
    let key = store.creds.api_keys.get_mut(&id).expect("located");
    if let Some(sent) = req.param("etag").filter(|e| !e.is_empty()) {
        if sent != key.etag {
            return Err(ApiError::aborted(
                "The etag does not match the key's current etag: read the key again.",
            ));
        }
    }
    if key.delete_time.is_some() {
        return Err(ApiError::not_found(format!(
            "Key projects/{project}/locations/{location}/keys/{uid} not found."
        )));
    }
    let t = now_to(6);
    key.delete_time = Some(t);
    key.update_time = t;
    key.etag = etag;
    let shown = key_json_in(store, &store.creds.api_keys[&id]);
    let name = op_name(store, "delete");
    Ok(done_operation(store, name, KEY_TYPE, &shown))
}

fn undelete(store: &mut Store, project: &str, location: &str, uid: &str) -> ApiResult<Value> {
    let id = locate(store, project, location, uid)?;
    let etag = store.next_resource_etag();
    let key = store.creds.api_keys.get_mut(&id).expect("located");
    if key.delete_time.is_none() {
        return Err(ApiError::precondition("The key is not deleted."));
    }
    key.delete_time = None;
    key.update_time = now_to(6);
    key.etag = etag;
    let shown = key_json_in(store, &store.creds.api_keys[&id]);
    let name = op_name(store, "undelete");
    Ok(done_operation(store, name, KEY_TYPE, &shown))
}
