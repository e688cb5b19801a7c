//! IAM v1: service accounts (list, get, create, patch/update, delete, enable, disable),
//! their keys (list with the `keyTypes` filter, get, create, delete, enable, disable)
//! and each account's own IAM policy (who may act as it).
//! Shapes follow `iam.v1.json`.
//!
//! An account is addressed as `projects/{project}/serviceAccounts/{email or uniqueId}`;
//! the project may be `-` (what gcloud sends), otherwise it must be the account's own.
//! Key material is a placeholder: `privateKeyData` is a well-formed Google credentials
//! JSON file, but its `private_key` is not a usable RSA key (this server signs nothing).

use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::paging::{paginate, Limits};
use crate::policy::{AuditConfigs, SetIamPolicyRequest};
use crate::store::{Key, KeyType, ServiceAccount, Store};
use crate::util::{b64, b64_decode, fmt_time, fnv64, now_to, splitmix64, Time};
use crate::wire::ApiRequest;

/// IAM's documented list limits: default 20, maximum 100.
const SA_LIMITS: Limits = Limits {
    default: 20,
    max: 100,
};
/// Google's limit on user-managed keys per service account.
const MAX_USER_KEYS: usize = 10;
/// Google's "no expiry" for user-managed keys.
const FOREVER: &str = "9999-12-31T23:59:59Z";

fn sa_name(sa: &ServiceAccount) -> String {
    format!("projects/{}/serviceAccounts/{}", sa.project_id, sa.email)
}

pub fn sa_json(sa: &ServiceAccount) -> Value {
    let mut out = json!({
        "name": sa_name(sa),
        "projectId": sa.project_id,
        "uniqueId": sa.unique_id,
        "email": sa.email,
        "etag": "MDEwMjE5MjA=",
        "oauth2ClientId": sa.unique_id,
    });
    if !sa.display_name.is_empty() {
        out["displayName"] = json!(sa.display_name);
    }
    if !sa.description.is_empty() {
        out["description"] = json!(sa.description);
    }
    if sa.disabled {
        out["disabled"] = json!(true);
    }
    out
}

pub fn key_json(sa: &ServiceAccount, key: &Key) -> Value {
    let mut out = json!({
        "name": format!("{}/keys/{}", sa_name(sa), key.id),
        "validAfterTime": fmt_time(&key.valid_after),
        "validBeforeTime": fmt_time(&key.valid_before),
        "keyAlgorithm": key.algorithm,
        "keyOrigin": if key.user_provided { "USER_PROVIDED" } else { "GOOGLE_PROVIDED" },
        "keyType": key.key_type.as_str(),
    });
    if key.disabled {
        out["disabled"] = json!(true);
        out["disableReason"] = json!("SERVICE_ACCOUNT_KEY_DISABLE_REASON_USER_INITIATED");
    }
    out
}

fn not_found(project: &str, account: &str) -> ApiError {
    ApiError::not_found(format!(
        "Service account projects/{project}/serviceAccounts/{account} does not exist."
    ))
}

/// Finds an account by `projects/{project}/serviceAccounts/{account}`.
pub fn find_sa<'a>(
    store: &'a mut Store,
    project: &str,
    account: &str,
) -> ApiResult<&'a mut ServiceAccount> {
    let owner = if project == "-" {
        None
    } else {
        Some(store.project_id(project)?)
    };
    let email = if account.contains('@') {
        Some(account.to_owned())
    } else {
        store
            .service_accounts
            .values()
            .find(|sa| sa.unique_id == account)
            .map(|sa| sa.email.clone())
    };
    let sa = email
        .and_then(|e| store.service_accounts.get_mut(&e))
        .ok_or_else(|| not_found(project, account))?;
    match owner {
        Some(p) if p != sa.project_id => Err(not_found(project, account)),
        _ => Ok(sa),
    }
}

fn find_key<'a>(sa: &'a mut ServiceAccount, key_id: &str) -> ApiResult<&'a mut Key> {
    let name = format!("{}/keys/{key_id}", sa_name(sa));
    sa.keys
        .iter_mut()
        .find(|k| k.id == key_id)
        .ok_or_else(|| ApiError::not_found(format!("Service account key {name} does not exist.")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SaFields {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    service_account: Option<SaFields>,
}

fn check_fields(f: &SaFields) -> ApiResult<()> {
    if f.display_name.as_ref().is_some_and(|d| d.len() > 100) {
        return Err(ApiError::invalid("displayName must be at most 100 bytes."));
    }
    if f.description.as_ref().is_some_and(|d| d.len() > 256) {
        return Err(ApiError::invalid("description must be at most 256 bytes."));
    }
    Ok(())
}

fn valid_account_id(id: &str) -> bool {
    (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub fn create(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let body: CreateRequest = req.json()?;
    if !valid_account_id(&body.account_id) {
        return Err(ApiError::invalid(format!(
            "Invalid account id '{}': it must be 6 to 30 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen.",
            body.account_id
        )));
    }
    let fields = body.service_account.unwrap_or_default();
    check_fields(&fields)?;
    let project_id = store.project_id(project)?;
    let email = format!("{}@{project_id}.iam.gserviceaccount.com", body.account_id);
    if store.service_accounts.contains_key(&email) {
        return Err(ApiError::exists(format!(
            "Service account {} already exists within project projects/{project_id}.",
            body.account_id
        )));
    }
    let unique_id = store.next_unique_id(&email);
    let sa = ServiceAccount {
        project_id,
        account_id: body.account_id,
        email: email.clone(),
        unique_id,
        display_name: fields.display_name.unwrap_or_default(),
        description: fields.description.unwrap_or_default(),
        disabled: false,
        policy: Default::default(),
        keys: Vec::new(),
    };
    let out = sa_json(&sa);
    store.service_accounts.insert(email, sa);
    Ok(out)
}

pub fn list(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let project_id = store.project_id(project)?;
    let items: Vec<(String, Value)> = store
        .service_accounts
        .values()
        .filter(|sa| sa.project_id == project_id)
        .map(|sa| (sa.email.clone(), sa_json(sa)))
        .collect();
    let (page, next) = paginate(
        items,
        &format!("sa|{project_id}"),
        req.page_size()?,
        req.page_token(),
        SA_LIMITS,
    )?;
    let mut out = json!({});
    if !page.is_empty() {
        out["accounts"] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

pub fn get(store: &mut Store, project: &str, account: &str) -> ApiResult<Value> {
    Ok(sa_json(find_sa(store, project, account)?))
}

/// Deletes an account and its keys; bindings naming it turn into `deleted:` members.
pub fn delete(store: &mut Store, project: &str, account: &str) -> ApiResult<Value> {
    let email = find_sa(store, project, account)?.email.clone();
    if let Some(sa) = store.service_accounts.remove(&email) {
        let member = format!("serviceAccount:{email}");
        store.rewrite_member(&member, &format!("deleted:{member}?uid={}", sa.unique_id));
        store.deleted_service_accounts.push(sa);
    }
    Ok(json!({}))
}

/// `:undelete` by unique id (`projects/-/serviceAccounts/{uniqueId}`), as Google requires.
pub fn undelete(store: &mut Store, project: &str, account: &str) -> ApiResult<Value> {
    let idx = store
        .deleted_service_accounts
        .iter()
        .rposition(|sa| sa.unique_id == account && (project == "-" || project == sa.project_id))
        .ok_or_else(|| not_found(project, account))?;
    if store
        .service_accounts
        .contains_key(&store.deleted_service_accounts[idx].email)
    {
        return Err(ApiError::precondition(
            "Cannot undelete: an account with the same email exists again.",
        ));
    }
    let mut sa = store.deleted_service_accounts.remove(idx);
    sa.keys.clear();
    let member = format!("serviceAccount:{}", sa.email);
    store.rewrite_member(&format!("deleted:{member}?uid={}", sa.unique_id), &member);
    let out = sa_json(&sa);
    store.service_accounts.insert(sa.email.clone(), sa);
    Ok(json!({ "restoredAccount": out }))
}

pub fn set_disabled(
    store: &mut Store,
    project: &str,
    account: &str,
    disabled: bool,
) -> ApiResult<Value> {
    find_sa(store, project, account)?.disabled = disabled;
    Ok(json!({}))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchRequest {
    #[serde(default)]
    service_account: Option<SaFields>,
    #[serde(default)]
    update_mask: Option<String>,
}

/// `PATCH` with an update mask (`display_name`, `description`).
pub fn patch(
    store: &mut Store,
    project: &str,
    account: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let body: PatchRequest = req.json()?;
    let fields = body.service_account.unwrap_or_default();
    check_fields(&fields)?;
    let mask = body
        .update_mask
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("update_mask is required."))?;
    let sa = find_sa(store, project, account)?;
    for path in mask.split(',').map(str::trim) {
        match path {
            "display_name" | "displayName" => {
                sa.display_name = fields.display_name.clone().unwrap_or_default()
            }
            "description" => sa.description = fields.description.clone().unwrap_or_default(),
            other => {
                return Err(ApiError::invalid(format!(
                    "Invalid update_mask path: '{other}'."
                )))
            }
        }
    }
    Ok(sa_json(sa))
}

/// The deprecated `PUT` update: sets display name and description.
pub fn update(
    store: &mut Store,
    project: &str,
    account: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let fields: SaFields = req.json()?;
    check_fields(&fields)?;
    let sa = find_sa(store, project, account)?;
    sa.display_name = fields.display_name.unwrap_or_default();
    sa.description = fields.description.unwrap_or_default();
    Ok(sa_json(sa))
}

fn parse_key_type(v: &str) -> ApiResult<KeyType> {
    match v {
        "USER_MANAGED" => Ok(KeyType::UserManaged),
        "SYSTEM_MANAGED" => Ok(KeyType::SystemManaged),
        "1" => Ok(KeyType::UserManaged),
        "2" => Ok(KeyType::SystemManaged),
        other => Err(ApiError::invalid(format!(
            "Invalid value for keyTypes: '{other}'."
        ))),
    }
}

pub fn list_keys(
    store: &mut Store,
    project: &str,
    account: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let mut wanted = Vec::new();
    for v in req.params("keyTypes") {
        let t = parse_key_type(v)?;
        if wanted.contains(&t) {
            return Err(ApiError::invalid("Duplicate key types are not allowed."));
        }
        wanted.push(t);
    }
    let sa = find_sa(store, project, account)?;
    let keys: Vec<Value> = sa
        .keys
        .iter()
        .filter(|k| wanted.is_empty() || wanted.contains(&k.key_type))
        .map(|k| key_json(sa, k))
        .collect();
    Ok(json!({ "keys": keys }))
}

fn placeholder_pem(label: &str, id: &str) -> String {
    let body = b64(
        format!("gcp-test-server placeholder {label} for key {id}; not key material").as_bytes(),
    );
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

pub fn get_key(
    store: &mut Store,
    project: &str,
    account: &str,
    key_id: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    // Enum parameters arrive as names, or as numbers from clients that ask for
    // `enum-encoding=int` (the google-cloud-rust crates).
    let public = match req.param("publicKeyType") {
        None | Some("TYPE_NONE" | "0" | "") => None,
        Some("TYPE_X509_PEM_FILE" | "1") => Some("TYPE_X509_PEM_FILE"),
        Some("TYPE_RAW_PUBLIC_KEY" | "2") => Some("TYPE_RAW_PUBLIC_KEY"),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid value for publicKeyType: '{other}'."
            )))
        }
    };
    let sa = find_sa(store, project, account)?;
    let key = find_key(sa, key_id)?.clone();
    let mut out = key_json(sa, &key);
    if let Some(t) = public {
        let label = if t == "TYPE_X509_PEM_FILE" {
            "CERTIFICATE"
        } else {
            "PUBLIC KEY"
        };
        out["publicKeyData"] = json!(b64(placeholder_pem(label, &key.id).as_bytes()));
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateKeyRequest {
    /// An enum: its name, or its number (`enum-encoding=int` clients send numbers).
    #[serde(default)]
    private_key_type: Option<Value>,
    #[serde(default)]
    key_algorithm: Option<Value>,
}

/// An enum value as text: `"NAME"` stays, `2` becomes `"2"`, `null` is absent.
fn enum_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn new_key_id(store: &mut Store, email: &str) -> String {
    let mut state = fnv64(email.as_bytes()) ^ store.next_generation();
    (0..3)
        .map(|_| format!("{:016x}", splitmix64(&mut state)))
        .collect::<String>()[..40]
        .to_owned()
}

/// Adds a key to an account; used by `keys.create` and the admin seed.
pub fn add_key(
    store: &mut Store,
    project: &str,
    account: &str,
    key_type: KeyType,
    algorithm: &str,
    valid_after: Time,
    valid_before: Time,
) -> ApiResult<(ServiceAccount, Key)> {
    let email = find_sa(store, project, account)?.email.clone();
    let id = new_key_id(store, &email);
    let sa = find_sa(store, project, account)?;
    if key_type == KeyType::UserManaged
        && sa
            .keys
            .iter()
            .filter(|k| k.key_type == KeyType::UserManaged)
            .count()
            >= MAX_USER_KEYS
    {
        return Err(ApiError::precondition(format!(
            "Precondition check failed: service account {} already has {MAX_USER_KEYS} user-managed keys.",
            sa.email
        )));
    }
    let key = Key {
        id,
        key_type,
        algorithm: algorithm.to_owned(),
        valid_after,
        valid_before,
        disabled: false,
        user_provided: false,
    };
    sa.keys.push(key.clone());
    Ok((sa.clone(), key))
}

pub fn create_key(
    store: &mut Store,
    project: &str,
    account: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let body: CreateKeyRequest = req.json()?;
    let key_type = enum_text(body.private_key_type.as_ref())
        .unwrap_or_else(|| "TYPE_GOOGLE_CREDENTIALS_FILE".to_owned());
    match key_type.as_str() {
        "TYPE_GOOGLE_CREDENTIALS_FILE" | "TYPE_UNSPECIFIED" | "0" | "2" => {}
        "TYPE_PKCS12_FILE" | "1" => {
            return Err(ApiError::invalid(
                "TYPE_PKCS12_FILE keys are not supported by the GCP test server.",
            ))
        }
        other => {
            return Err(ApiError::invalid(format!(
                "Invalid value for privateKeyType: '{other}'."
            )))
        }
    }
    let algorithm = match enum_text(body.key_algorithm.as_ref()).as_deref() {
        None | Some("KEY_ALG_UNSPECIFIED") | Some("KEY_ALG_RSA_2048") | Some("0") | Some("2") => {
            "KEY_ALG_RSA_2048"
        }
        Some("KEY_ALG_RSA_1024") | Some("1") => "KEY_ALG_RSA_1024",
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid value for keyAlgorithm: '{other}'."
            )))
        }
    };
    let forever = crate::util::parse_time("validBeforeTime", FOREVER)?;
    let (sa, key) = add_key(
        store,
        project,
        account,
        KeyType::UserManaged,
        algorithm,
        now_to(0),
        forever,
    )?;
    let file = json!({
        "type": "service_account",
        "project_id": sa.project_id,
        "private_key_id": key.id,
        "private_key": placeholder_pem("PRIVATE KEY", &key.id),
        "client_email": sa.email,
        "client_id": sa.unique_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": format!("https://www.googleapis.com/robot/v1/metadata/x509/{}", sa.email.replace('@', "%40")),
        "universe_domain": "googleapis.com",
    });
    let file = serde_json::to_vec_pretty(&file)
        .map_err(|e| ApiError::new(Code::Internal, e.to_string()))?;
    let mut out = key_json(&sa, &key);
    out["privateKeyType"] = json!("TYPE_GOOGLE_CREDENTIALS_FILE");
    out["privateKeyData"] = json!(b64(&file));
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadKeyRequest {
    #[serde(default)]
    public_key_data: Option<String>,
}

/// `keys:upload`: registers the public half of a key pair the caller made itself
/// (`keyOrigin: USER_PROVIDED`). The certificate is checked for shape only; its
/// validity period is not read (the key is valid from now on, with no expiry).
pub fn upload_key(
    store: &mut Store,
    project: &str,
    account: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let body: UploadKeyRequest = req.json()?;
    let data = b64_decode(
        "publicKeyData",
        body.public_key_data.as_deref().unwrap_or_default(),
    )?;
    let is_cert = String::from_utf8(data).is_ok_and(|t| {
        t.contains("-----BEGIN CERTIFICATE-----") && t.contains("-----END CERTIFICATE-----")
    });
    if !is_cert {
        return Err(ApiError::invalid(
            "publicKeyData must be a base64-encoded X.509 certificate in PEM form.",
        ));
    }
    let forever = crate::util::parse_time("validBeforeTime", FOREVER)?;
    let (sa, key) = add_key(
        store,
        project,
        account,
        KeyType::UserManaged,
        "KEY_ALG_RSA_2048",
        now_to(0),
        forever,
    )?;
    let stored = find_key(find_sa(store, project, account)?, &key.id)?;
    stored.user_provided = true;
    let key = stored.clone();
    Ok(key_json(&sa, &key))
}

fn refuse_system_managed(key: &Key, what: &str) -> ApiResult<()> {
    if key.key_type == KeyType::SystemManaged {
        return Err(ApiError::precondition(format!(
            "System-managed keys cannot be {what}."
        )));
    }
    Ok(())
}

pub fn delete_key(
    store: &mut Store,
    project: &str,
    account: &str,
    key_id: &str,
) -> ApiResult<Value> {
    let sa = find_sa(store, project, account)?;
    refuse_system_managed(find_key(sa, key_id)?, "deleted")?;
    sa.keys.retain(|k| k.id != key_id);
    Ok(json!({}))
}

pub fn set_key_disabled(
    store: &mut Store,
    project: &str,
    account: &str,
    key_id: &str,
    disabled: bool,
) -> ApiResult<Value> {
    let key = find_key(find_sa(store, project, account)?, key_id)?;
    refuse_system_managed(key, if disabled { "disabled" } else { "enabled" })?;
    key.disabled = disabled;
    Ok(json!({}))
}

/// `:getIamPolicy` on an account: the version comes as a query parameter (or a body).
pub fn get_iam_policy(
    store: &mut Store,
    project: &str,
    account: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let version = match req.int_param("options.requestedPolicyVersion")? {
        Some(v) => Some(v),
        None => req
            .json::<crate::policy::GetIamPolicyRequest>()?
            .options
            .and_then(|o| o.requested_policy_version),
    };
    find_sa(store, project, account)?.policy.render(version)
}

pub fn set_iam_policy(
    store: &mut Store,
    project: &str,
    account: &str,
    req: &ApiRequest,
) -> ApiResult<Value> {
    let body: SetIamPolicyRequest = req.json()?;
    find_sa(store, project, account)?;
    crate::policy::check_grants(store, crate::policy::On::ServiceAccount, &body)?;
    let generation = store.next_generation();
    find_sa(store, project, account)?
        .policy
        .set(body, generation, AuditConfigs::Rejected)
}

/// A default lifetime for seeded system-managed keys (Google rotates them in about two weeks).
pub fn system_key_lifetime() -> TimeDelta {
    TimeDelta::days(14)
}
