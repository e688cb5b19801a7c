//! API keys (API Keys API v2, `projects/*/locations/global/keys`): read with the
//! official `google-cloud-apikeys-v2` crate, one paged list per project (300 a page),
//! and assembled into a `gcp-api-key` principal and credential each.
//!
//! Invariants: `getKeyString` is never called, and the source type has no field for
//! the key string, so even a response carrying one would drop it unread; an API key
//! with no API, referrer, IP or app restriction is a finding
//! (https://cloud.google.com/docs/authentication/api-keys#securing).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::live::{classify, Clients};
use super::pages::all_pages;
use crate::model::*;
use crate::providers::Availability;

/// One key as `keys.list` shows it (never `keyString`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub update_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub delete_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub restrictions: Option<Restrictions>,
    #[serde(default)]
    pub service_account_email: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restrictions {
    #[serde(default)]
    pub browser_key_restrictions: Option<Browser>,
    #[serde(default)]
    pub server_key_restrictions: Option<Server>,
    #[serde(default)]
    pub android_key_restrictions: Option<Android>,
    #[serde(default)]
    pub ios_key_restrictions: Option<Ios>,
    #[serde(default)]
    pub api_targets: Vec<ApiTarget>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Browser {
    #[serde(default)]
    pub allowed_referrers: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    #[serde(default)]
    pub allowed_ips: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Android {
    #[serde(default)]
    pub allowed_applications: Vec<AndroidApp>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AndroidApp {
    #[serde(default)]
    pub sha1_fingerprint: String,
    #[serde(default)]
    pub package_name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ios {
    #[serde(default)]
    pub allowed_bundle_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiTarget {
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub methods: Vec<String>,
}

pub const LIST_SOURCE: &str = "apikeys:ListKeys";

/// The project's keys (deleted ones are not listed).
pub async fn list(c: &Clients, project: &str) -> Availability<Vec<ApiKey>> {
    let (keys, why) = all_pages(
        |t| {
            c.apikeys
                .list_keys()
                .set_parent(format!("projects/{project}/locations/global"))
                .set_page_size(300)
                .set_page_token(t)
                .send()
        },
        |r| (r.keys, r.next_page_token),
        |e| classify(&e).message,
    )
    .await;
    if let Some(why) = why {
        return Availability::unknown(LIST_SOURCE, why);
    }
    let mut out = Vec::new();
    for key in keys {
        // Through the API's JSON, into a type with no key-string field.
        match serde_json::to_value(&key).and_then(serde_json::from_value::<ApiKey>) {
            Ok(k) => out.push(k),
            Err(e) => {
                return Availability::unknown(LIST_SOURCE, format!("unexpected key shape: {e}"))
            }
        }
    }
    Availability::Known(out)
}

/// The restrictions in the model's words.
pub fn detail(k: &ApiKey) -> ApiKeyDetail {
    let r = k.restrictions.clone().unwrap_or_default();
    let apis: Vec<String> = r
        .api_targets
        .iter()
        .map(|t| match t.methods.is_empty() {
            true => t.service.clone(),
            false => format!("{}: {}", t.service, t.methods.join(", ")),
        })
        .collect();
    let referrers = r
        .browser_key_restrictions
        .map(|b| b.allowed_referrers)
        .unwrap_or_default();
    let ips = r
        .server_key_restrictions
        .map(|s| s.allowed_ips)
        .unwrap_or_default();
    let mut apps: Vec<String> = r
        .android_key_restrictions
        .map(|a| a.allowed_applications)
        .unwrap_or_default()
        .into_iter()
        .map(|a| format!("{} ({})", a.package_name, a.sha1_fingerprint))
        .collect();
    apps.extend(
        r.ios_key_restrictions
            .map(|i| i.allowed_bundle_ids)
            .unwrap_or_default(),
    );
    let unrestricted = apis.is_empty() && referrers.is_empty() && ips.is_empty() && apps.is_empty();
    ApiKeyDetail {
        name: k.name.clone(),
        display_name: k.display_name.clone().filter(|d| !d.is_empty()),
        updated: k.update_time,
        service_account: k.service_account_email.clone().filter(|e| !e.is_empty()),
        apis,
        referrers,
        ips,
        apps,
        unrestricted,
    }
}

/// The principal id of a key: its resource name under the project.
pub fn principal_id(project: &str, uid: &str) -> String {
    format!("projects/{project}/locations/global/keys/{uid}")
}

/// One principal and one credential per key, and a finding for an unrestricted one.
pub fn assemble(project: &str, keys: &[ApiKey], out: &mut super::assemble::Part) {
    for k in keys.iter().filter(|k| k.delete_time.is_none()) {
        let uid = k
            .uid
            .clone()
            .unwrap_or_else(|| super::sources::short(&k.name).to_owned());
        let id = principal_id(project, &uid);
        let d = detail(k);
        let name = d.display_name.clone().unwrap_or_else(|| uid.clone());
        out.principals.push(super::assemble::bare_principal(
            &id,
            project,
            PrincipalKind::GcpApiKey,
            &name,
        ));
        if d.unrestricted {
            out.findings.push(Finding::new(
                FindingCode::GcpApiKeyUnrestricted,
                format!("{id}/key"),
                format!("API key {name} has no API, referrer, IP or app restriction"),
            ));
        }
        out.credentials.push(Credential {
            id: format!("{id}/key"),
            principal: id.clone(),
            provider: Provider::Gcp,
            scope: project.to_owned(),
            kind: CredentialKind::GcpApiKey,
            identifier: Some(uid),
            status: Status::Active,
            created: k.create_time,
            last_used: LastUsed::unknown(
                "the API Keys API records no use (Cloud Monitoring's per-key metrics do; not read)",
            ),
            detail: CredentialDetail::ApiKey(d),
        });
    }
}

/// An API key as a change finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    /// Deleted, and still undeletable (Google keeps a deleted key 30 days).
    Deleted,
    Gone,
}

/// The key's state (`keys.get`; never `getKeyString`).
pub async fn key_state(c: &Clients, name: &str) -> Result<KeyState, crate::error::Error> {
    match c.apikeys.get_key().set_name(name).send().await {
        Ok(k) if k.delete_time.is_some() => Ok(KeyState::Deleted),
        Ok(_) => Ok(KeyState::Active),
        Err(e) if classify(&e).not_found => Ok(KeyState::Gone),
        Err(e) => Err(super::change::api_error("apikeys.keys.get", name, &e)),
    }
}

/// Deletes a key (`keys.delete`, undone by [`undelete`] within 30 days).
pub async fn delete(c: &Clients, name: &str) -> Result<(), crate::error::Error> {
    use google_cloud_lro::Poller as _;
    c.apikeys
        .delete_key()
        .set_name(name)
        .poller()
        .until_done()
        .await
        .map(|_| ())
        .map_err(|e| super::change::api_error("apikeys.keys.delete", name, &e))
}

/// Brings a deleted key back (`keys.undelete`).
pub async fn undelete(c: &Clients, name: &str) -> Result<(), crate::error::Error> {
    use google_cloud_lro::Poller as _;
    c.apikeys
        .undelete_key()
        .set_name(name)
        .poller()
        .until_done()
        .await
        .map(|_| ())
        .map_err(|e| super::change::api_error("apikeys.keys.undelete", name, &e))
}

/// A key's restrictions read live (`keys.get`; never `getKeyString`): the key as the
/// inventory holds it (its restrictions in the model's words) and its `restrictions`
/// as Google's JSON (`null` when none), to put back on undo; `None` when the key is
/// deleted or gone.
pub async fn restrictions(
    c: &Clients,
    name: &str,
) -> Result<Option<(ApiKeyDetail, serde_json::Value)>, crate::error::Error> {
    let key = match c.apikeys.get_key().set_name(name).send().await {
        Ok(k) if k.delete_time.is_some() => return Ok(None),
        Ok(k) => k,
        Err(e) if classify(&e).not_found => return Ok(None),
        Err(e) => return Err(super::change::api_error("apikeys.keys.get", name, &e)),
    };
    let raw = serde_json::to_value(&key.restrictions).unwrap_or_default();
    // Through the API's JSON, into a type with no key-string field.
    let parsed = serde_json::to_value(&key)
        .and_then(serde_json::from_value::<ApiKey>)
        .map_err(|e| crate::error::Error::Api {
            provider: Provider::Gcp,
            operation: "apikeys.keys.get".into(),
            what: format!("{name}: unexpected key shape: {e}"),
            hint: "check --gcp-endpoint points at Google's API Keys API".into(),
        })?;
    Ok(Some((detail(&parsed), raw)))
}

/// Sets a key's restrictions to `restrictions` (API Keys v2 `Restrictions` JSON; `null`
/// or `{}` clears them) with `keys.patch`, update mask `restrictions` so nothing else
/// of the key changes
/// (<https://cloud.google.com/api-keys/docs/reference/rest/v2/projects.locations.keys/patch>),
/// and awaits the operation.
pub async fn set_restrictions(
    c: &Clients,
    name: &str,
    restrictions: &serde_json::Value,
) -> Result<(), crate::error::Error> {
    use google_cloud_lro::Poller as _;
    let op = "apikeys.keys.patch";
    let mut key = serde_json::json!({ "name": name });
    if !restrictions.is_null() {
        key["restrictions"] = restrictions.clone();
    }
    let request: google_cloud_apikeys_v2::model::UpdateKeyRequest =
        serde_json::from_value(serde_json::json!({ "key": key, "updateMask": "restrictions" }))
            .map_err(|e| crate::error::Error::Api {
                provider: Provider::Gcp,
                operation: op.into(),
                what: format!("{name}: the restrictions do not fit API Keys v2: {e}"),
                hint: "check the rule's `restrict:` (see docs/policies.md)".into(),
            })?;
    c.apikeys
        .update_key()
        .with_request(request)
        .poller()
        .until_done()
        .await
        .map(|_| ())
        .map_err(|e| super::change::api_error(op, name, &e))
}
