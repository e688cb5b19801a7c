//! Cloud Storage HMAC keys (JSON API `projects.hmacKeys`,
//! https://cloud.google.com/storage/docs/json_api/v1/projects/hmacKeys): one paged list
//! per project (250 a page, the API's maximum), through [`super::rest`] because the
//! official Rust storage crate has no HMAC methods. Each key is a `gcp-hmac-key`
//! credential of its service account, so its owner follows the account's.
//!
//! Invariants: the secret is never read (only `create` returns it, and this tool never
//! creates a key; the source type has no field for it); deleted keys are not listed.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::rest::{Rest, Service};
use crate::model::*;
use crate::providers::Availability;

/// `HmacKeyMetadata` (never the secret).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HmacKey {
    pub access_id: String,
    #[serde(default)]
    pub service_account_email: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub time_created: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated: Option<DateTime<Utc>>,
    #[serde(default)]
    pub etag: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    items: Vec<HmacKey>,
    #[serde(default)]
    next_page_token: Option<String>,
}

pub const LIST_SOURCE: &str = "storage:ListHmacKeys";

/// The project's HMAC keys that are not deleted (paging bounded by
/// [`super::pages::all_pages`]).
pub async fn list(rest: &Rest, project: &str) -> Availability<Vec<HmacKey>> {
    let path = format!("storage/v1/projects/{project}/hmacKeys");
    let (keys, why) = super::pages::all_pages(
        |t| {
            let mut query = vec![("maxResults", "250".to_owned())];
            if !t.is_empty() {
                query.push(("pageToken", t));
            }
            let path = &path;
            async move {
                rest.call::<Page>(reqwest::Method::GET, Service::Storage, path, &query, None)
                    .await
            }
        },
        |p| (p.items, p.next_page_token.unwrap_or_default()),
        super::live::gap_text,
    )
    .await;
    match why {
        None => Availability::Known(keys),
        Some(why) => Availability::unknown(LIST_SOURCE, why),
    }
}

/// One credential per key, held by its service account's principal (`sa_id` maps an
/// email to the project's own account's id, else the member id is used).
pub fn assemble(
    project: &str,
    keys: &[HmacKey],
    sa_id: &dyn Fn(&str) -> String,
    out: &mut super::assemble::Part,
) {
    for k in keys.iter().filter(|k| k.state != "DELETED") {
        let holder = sa_id(&k.service_account_email);
        let id = format!("{holder}/hmacKeys/{}", k.access_id);
        let active = k.state == "ACTIVE";
        if active {
            out.findings.push(Finding::new(
                FindingCode::GcpHmacKeyActive,
                &id,
                format!(
                    "{} has an active HMAC key {}",
                    k.service_account_email, k.access_id
                ),
            ));
        }
        out.credentials.push(Credential {
            id,
            principal: holder,
            provider: Provider::Gcp,
            scope: project.to_owned(),
            kind: CredentialKind::GcpHmacKey,
            identifier: Some(k.access_id.clone()),
            status: if active {
                Status::Active
            } else {
                Status::Inactive
            },
            created: k.time_created,
            last_used: LastUsed::unknown("the HMAC key list records no use (not read)"),
            detail: CredentialDetail::HmacKey {
                service_account: k.service_account_email.clone(),
                state: k.state.clone(),
                updated: k.updated,
            },
        });
    }
}

/// An HMAC key's state, read live (`hmacKeys.get`: metadata, never the secret);
/// `None` when it is gone.
pub async fn state(
    rest: &Rest,
    project: &str,
    access_id: &str,
) -> Result<Option<String>, crate::error::Error> {
    let path = format!("storage/v1/projects/{project}/hmacKeys/{access_id}");
    match rest
        .call::<HmacKey>(reqwest::Method::GET, Service::Storage, &path, &[], None)
        .await
    {
        Ok(k) if k.state == "DELETED" => Ok(None),
        Ok(k) => Ok(Some(k.state)),
        Err(f) if f.not_found => Ok(None),
        Err(f) => Err(super::rest::change_error(
            "storage.hmacKeys.get",
            access_id,
            f,
        )),
    }
}

/// Deletes an HMAC key (`hmacKeys.delete`; cannot be undone). Google deletes only an
/// INACTIVE key: "keys must be updated to be in the INACTIVE state before they can be
/// deleted" (<https://cloud.google.com/sdk/gcloud/reference/storage/hmac/delete>; the
/// XML API: "An HMAC key must be in an inactive state in order to delete it",
/// <https://cloud.google.com/storage/docs/xml-api/post-hmac-delete>), so the caller
/// deactivates it first. A key already gone (404) is deleted: a retry after a lost
/// answer is safe.
pub async fn delete(
    rest: &Rest,
    project: &str,
    access_id: &str,
) -> Result<(), crate::error::Error> {
    let path = format!("storage/v1/projects/{project}/hmacKeys/{access_id}");
    match rest
        .call::<serde_json::Value>(reqwest::Method::DELETE, Service::Storage, &path, &[], None)
        .await
    {
        Ok(_) => Ok(()),
        Err(f) if f.not_found => Ok(()),
        Err(f) => Err(super::rest::change_error(
            "storage.hmacKeys.delete",
            access_id,
            f,
        )),
    }
}

/// Sets an HMAC key's state (`hmacKeys.update`): `INACTIVE` to revoke, `ACTIVE` to undo.
pub async fn set_state(
    rest: &Rest,
    project: &str,
    access_id: &str,
    to: &str,
) -> Result<(), crate::error::Error> {
    let path = format!("storage/v1/projects/{project}/hmacKeys/{access_id}");
    let body = serde_json::json!({ "state": to });
    rest.call::<HmacKey>(
        reqwest::Method::PUT,
        Service::Storage,
        &path,
        &[],
        Some(&body),
    )
    .await
    .map(|_| ())
    .map_err(|f| super::rest::change_error("storage.hmacKeys.update", access_id, f))
}
