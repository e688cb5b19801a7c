//! The key-bearing resources of a whole folder or organization from Cloud Asset
//! Inventory's `searchAllResources`, in a few pages (500 a page, all four types in one
//! search): service accounts, their keys, API keys, secrets and their versions.
//! Requests grow with pages, not with items.
//!
//! What is taken, and why it is enough: each result's `versionedResources` holds "the
//! JSON representation of the resource as defined by the corresponding service
//! providing this resource" (`VersionedResource.resource`,
//! <https://cloud.google.com/asset-inventory/docs/reference/rest/v1/TopLevel/searchAllResources#resourcesearchresult>),
//! which Google returns only when the `readMask` names it. So a service account is IAM
//! v1's `ServiceAccount`, a key IAM v1's `ServiceAccountKey` (validity, algorithm,
//! origin, type, disabled), an API key API Keys v2's `Key` (restrictions included; the
//! key string is never part of the resource: only `getKeyString` returns it), a
//! secret Secret Manager v1's `Secret` and a version its `SecretVersion` (metadata:
//! state, create and destroy time; a payload is no part of it): the same JSON the per-item lists return, read
//! into the same source types, so both roads give the same inventory. The asset type
//! names are those of <https://cloud.google.com/asset-inventory/docs/asset-types>.
//! `additionalAttributes` is not read: Google says not to consume it programmatically.
//!
//! Where a kind's results carry no representation of the expected API version, that
//! kind (everywhere) is read per item instead and a coverage note says so; where the
//! search fails (PERMISSION_DENIED, or anything else), every kind is. A key is placed
//! under its account by the result's `parentFullResourceName`, which equals the
//! account's own result `name` (data compared, no name parsed); a result is placed in
//! its project by `project` (`projects/NUMBER`), through the numbers the walk read.
//!
//! A secret's IAM policy comes from `searchAllIamPolicies` ([`super::hierarchy`]),
//! matched by the full resource name kept here. Not covered: HMAC keys (Cloud Storage
//! HMAC keys are not among the searchable asset types): one list per project. Cloud Asset Inventory is eventually consistent (most changes appear
//! "within minutes"): a credential created moments before the audit may be missing.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use super::apikeys::ApiKey;
use super::live::{classify, gap_reason, Clients};
use super::pages::all_pages;
use super::sources::{Secret, SecretVersion, ServiceAccount, ServiceAccountKey};

pub const SA_TYPE: &str = "iam.googleapis.com/ServiceAccount";
pub const KEY_TYPE: &str = "iam.googleapis.com/ServiceAccountKey";
pub const API_KEY_TYPE: &str = "apikeys.googleapis.com/Key";
pub const SECRET_TYPE: &str = "secretmanager.googleapis.com/Secret";
pub const VERSION_TYPE: &str = "secretmanager.googleapis.com/SecretVersion";

/// The operation named in coverage notes.
pub const OPERATION: &str = "cloudasset.assets.searchAllResources";

/// The key-bearing resources of a scope by project id; each `None` is a kind read per
/// item instead (a project within the scope that holds none has an empty entry or
/// none at all: the search returns every resource of the scope).
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub service_accounts: Option<BTreeMap<String, Vec<ServiceAccount>>>,
    /// By project id, then service-account email.
    pub keys: Option<BTreeMap<String, BTreeMap<String, Vec<ServiceAccountKey>>>>,
    pub api_keys: Option<BTreeMap<String, Vec<ApiKey>>>,
    pub secrets: Option<BTreeMap<String, Vec<Secret>>>,
    /// By project id, then secret name (as Secret Manager names it).
    pub versions: Option<BTreeMap<String, BTreeMap<String, Vec<SecretVersion>>>>,
    /// Each secret's full resource name (how `searchAllIamPolicies` names it), by its
    /// Secret Manager name.
    pub secret_full_names: BTreeMap<String, String>,
}

impl Resources {
    /// Every kind read in bulk, none found yet (where [`join`] starts).
    pub fn empty_bulk() -> Self {
        Resources {
            service_accounts: Some(BTreeMap::new()),
            keys: Some(BTreeMap::new()),
            api_keys: Some(BTreeMap::new()),
            secrets: Some(BTreeMap::new()),
            versions: Some(BTreeMap::new()),
            secret_full_names: BTreeMap::new(),
        }
    }
}

/// One result, as far as it is used.
struct Found {
    name: String,
    asset_type: String,
    project: String,
    parent: String,
    /// The resource representations by API version.
    versions: Vec<(String, serde_json::Value)>,
}

/// The representation of `version`, read into `T`; `None` when there is none or it has
/// another shape.
fn resource<T: DeserializeOwned>(f: &Found, version: &str) -> Option<T> {
    f.versions
        .iter()
        .find(|(v, _)| v == version)
        .and_then(|(_, r)| serde_json::from_value(r.clone()).ok())
}

/// Every result of the four types within `root`, or why not.
async fn search(c: &Clients, root: &str) -> Result<Vec<Found>, String> {
    let mask = google_cloud_wkt::FieldMask::default().set_paths([
        "name",
        "assetType",
        "project",
        "parentFullResourceName",
        "versionedResources",
    ]);
    let (results, why) = all_pages(
        |t| {
            c.asset
                .search_all_resources()
                .set_scope(root)
                .set_asset_types([SA_TYPE, KEY_TYPE, API_KEY_TYPE, SECRET_TYPE, VERSION_TYPE])
                .set_page_size(500)
                .set_read_mask(mask.clone())
                .set_page_token(t)
                .send()
        },
        |r| (r.results, r.next_page_token),
        |e| gap_reason(classify(&e)),
    )
    .await;
    if let Some(why) = why {
        return Err(why);
    }
    let out = results
        .into_iter()
        .map(|r| Found {
            versions: r
                .versioned_resources
                .into_iter()
                .filter_map(|v| Some((v.version, serde_json::Value::Object(v.resource?))))
                .collect(),
            name: r.name,
            asset_type: r.asset_type,
            project: r.project,
            parent: r.parent_full_resource_name,
        })
        .collect();
    Ok(out)
}

/// Reads one kind: each result of `asset_type` in an audited project, as `T` of API
/// `version`, grouped by project id; `Err` names the first result without one.
fn kind<T: DeserializeOwned>(
    found: &[Found],
    asset_type: &str,
    version: &str,
    numbers: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Vec<(String, T)>>, String> {
    let mut out: BTreeMap<String, Vec<(String, T)>> = BTreeMap::new();
    for f in found.iter().filter(|f| f.asset_type == asset_type) {
        // Outside the audited projects (past a bound, or not active): not audited.
        let Some(project) = numbers.get(&f.project) else {
            continue;
        };
        let Some(t) = resource::<T>(f, version) else {
            return Err(format!(
                "a {asset_type} result carries no {version} resource representation"
            ));
        };
        out.entry(project.clone())
            .or_default()
            .push((f.name.clone(), t));
    }
    Ok(out)
}

fn values<T>(m: BTreeMap<String, Vec<(String, T)>>) -> BTreeMap<String, Vec<T>> {
    m.into_iter()
        .map(|(p, v)| (p, v.into_iter().map(|(_, t)| t).collect()))
        .collect()
}

/// Children by project id, then by their parent's key (`key_of`), each parent with an
/// entry (empty when it has none).
type Children<C> = BTreeMap<String, BTreeMap<String, Vec<C>>>;

/// Places each child of `child_type` (IAM v1 keys, Secret Manager v1 versions) under
/// its parent: the child's `parentFullResourceName` is the parent's result name (data
/// compared, no name parsed). Sorted by `sort_key` within each parent.
fn children<P, C: DeserializeOwned>(
    found: &[Found],
    parents: &BTreeMap<String, Vec<(String, P)>>,
    key_of: impl Fn(&P) -> String,
    child_type: &str,
    sort_key: impl Fn(&C) -> String,
    numbers: &BTreeMap<String, String>,
) -> Result<Children<C>, String> {
    let mut owner: BTreeMap<&str, (&str, String)> = BTreeMap::new();
    let mut out: Children<C> = BTreeMap::new();
    for (project, list) in parents {
        let m = out.entry(project.clone()).or_default();
        for (full, p) in list {
            owner.insert(full.as_str(), (project.as_str(), key_of(p)));
            m.insert(key_of(p), Vec::new());
        }
    }
    for f in found.iter().filter(|f| f.asset_type == child_type) {
        if !numbers.contains_key(&f.project) {
            continue;
        }
        let Some((project, key)) = owner.get(f.parent.as_str()) else {
            return Err(format!(
                "a {child_type} result names a parent that was not found"
            ));
        };
        let Some(c) = resource::<C>(f, "v1") else {
            return Err(format!(
                "a {child_type} result carries no v1 resource representation"
            ));
        };
        out.entry(project.to_string())
            .or_default()
            .entry(key.clone())
            .or_default()
            .push(c);
    }
    for m in out.values_mut() {
        for list in m.values_mut() {
            list.sort_by_key(|c| sort_key(c));
        }
    }
    Ok(out)
}

/// Places each key under its account (by email).
fn keys_by_account(
    found: &[Found],
    accounts: &BTreeMap<String, Vec<(String, ServiceAccount)>>,
    numbers: &BTreeMap<String, String>,
) -> Result<Children<ServiceAccountKey>, String> {
    let email = |sa: &ServiceAccount| sa.email.clone();
    let name = |k: &ServiceAccountKey| k.name.clone();
    children(found, accounts, email, KEY_TYPE, name, numbers)
}

fn note(what: &str, why: &str, instead: &str) -> String {
    format!("Cloud Asset Inventory ({OPERATION}) was not used for {what}: {why}; {instead}")
}

/// The key-bearing resources below `root`, and a coverage note per kind read per item
/// instead. `numbers` maps each audited project's `projects/NUMBER` to its id.
pub async fn read(
    c: &Clients,
    root: &str,
    numbers: &BTreeMap<String, String>,
) -> (Resources, Vec<String>) {
    let found = match search(c, root).await {
        Ok(f) => f,
        Err(why) => {
            let n = note(
                "service accounts, their keys, API keys and secrets",
                &why,
                "each project's lists and each service account's keys were read per item instead",
            );
            return (Resources::default(), vec![n]);
        }
    };
    let mut notes = Vec::new();
    let mut res = Resources::default();
    match kind::<ServiceAccount>(&found, SA_TYPE, "v1", numbers) {
        Ok(mut accounts) => {
            for v in accounts.values_mut() {
                v.sort_by(|a, b| a.1.email.cmp(&b.1.email));
            }
            match keys_by_account(&found, &accounts, numbers) {
                Ok(k) => res.keys = Some(k),
                Err(why) => notes.push(note(
                    "service-account keys",
                    &why,
                    "each service account's keys were listed per item instead",
                )),
            }
            res.service_accounts = Some(values(accounts));
        }
        Err(why) => notes.push(note(
            "service accounts and their keys",
            &why,
            "each project's service accounts and each one's keys were listed per item instead",
        )),
    }
    match kind::<ApiKey>(&found, API_KEY_TYPE, "v2", numbers) {
        Ok(mut k) => {
            for v in k.values_mut() {
                v.sort_by(|a, b| a.0.cmp(&b.0));
            }
            res.api_keys = Some(values(k));
        }
        Err(why) => notes.push(note(
            "API keys",
            &why,
            "each project's API keys were listed per item instead",
        )),
    }
    match kind::<Secret>(&found, SECRET_TYPE, "v1", numbers) {
        Ok(mut s) => {
            for v in s.values_mut() {
                v.sort_by(|a, b| a.0.cmp(&b.0));
            }
            let name = |s: &Secret| s.name.clone();
            let by_name = |v: &SecretVersion| v.name.clone();
            match children(&found, &s, name, VERSION_TYPE, by_name, numbers) {
                Ok(v) => res.versions = Some(v),
                Err(why) => notes.push(note(
                    "secret versions",
                    &why,
                    "each secret's versions were listed per item instead",
                )),
            }
            res.secret_full_names = s
                .values()
                .flatten()
                .map(|(full, secret)| (secret.name.clone(), full.clone()))
                .collect();
            res.secrets = Some(values(s));
        }
        Err(why) => notes.push(note(
            "secrets and their versions",
            &why,
            "each project's secrets and each one's versions were listed per item instead",
        )),
    }
    (res, notes)
}

/// Joins the resources of several walks: a kind stays bulk only if every walk that
/// found projects read it in bulk.
pub fn join(have: &mut Resources, these: Resources, found_projects: bool) {
    fn one<T>(
        have: &mut Option<BTreeMap<String, T>>,
        these: Option<BTreeMap<String, T>>,
        found: bool,
    ) {
        match (have.as_mut(), these) {
            (Some(h), Some(t)) => h.extend(t),
            (Some(_), None) if found => *have = None,
            _ => {}
        }
    }
    one(
        &mut have.service_accounts,
        these.service_accounts,
        found_projects,
    );
    one(&mut have.keys, these.keys, found_projects);
    one(&mut have.api_keys, these.api_keys, found_projects);
    one(&mut have.secrets, these.secrets, found_projects);
    one(&mut have.versions, these.versions, found_projects);
    have.secret_full_names.extend(these.secret_full_names);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(
        asset_type: &str,
        name: &str,
        parent: &str,
        versions: &[(&str, serde_json::Value)],
    ) -> Found {
        Found {
            name: name.into(),
            asset_type: asset_type.into(),
            project: "projects/7".into(),
            parent: parent.into(),
            versions: versions
                .iter()
                .map(|(v, r)| (v.to_string(), r.clone()))
                .collect(),
        }
    }

    fn numbers() -> BTreeMap<String, String> {
        [("projects/7".to_string(), "shop".to_string())].into()
    }

    // A result without the API version's representation must not be read as an empty
    // resource: the kind falls back to per-item reads (never a guessed key).
    #[test]
    fn a_result_without_its_representation_makes_the_kind_fall_back() {
        let f = [found(API_KEY_TYPE, "//apikeys.googleapis.com/k", "", &[])];
        assert!(kind::<ApiKey>(&f, API_KEY_TYPE, "v2", &numbers()).is_err());
        let other = [found(
            API_KEY_TYPE,
            "//apikeys.googleapis.com/k",
            "",
            &[("v1", serde_json::json!({"name": "k"}))],
        )];
        assert!(kind::<ApiKey>(&other, API_KEY_TYPE, "v2", &numbers()).is_err());
    }

    #[test]
    fn a_key_is_placed_under_the_account_whose_result_is_its_parent() {
        let sa = "//iam.googleapis.com/projects/shop/serviceAccounts/101";
        let f = [
            found(
                SA_TYPE,
                sa,
                "//cloudresourcemanager.googleapis.com/projects/7",
                &[(
                    "v1",
                    serde_json::json!({"name": "projects/shop/serviceAccounts/a@shop.iam.gserviceaccount.com", "email": "a@shop.iam.gserviceaccount.com"}),
                )],
            ),
            found(
                KEY_TYPE,
                "//iam.googleapis.com/projects/shop/serviceAccounts/101/keys/k1",
                sa,
                &[(
                    "v1",
                    serde_json::json!({"name": "projects/shop/serviceAccounts/a@shop.iam.gserviceaccount.com/keys/k1", "keyType": "USER_MANAGED"}),
                )],
            ),
        ];
        let accounts = kind::<ServiceAccount>(&f, SA_TYPE, "v1", &numbers()).unwrap();
        let keys = keys_by_account(&f, &accounts, &numbers()).unwrap();
        assert_eq!(keys["shop"]["a@shop.iam.gserviceaccount.com"].len(), 1);
        let orphan = [found(
            KEY_TYPE,
            "//k",
            "//iam.googleapis.com/elsewhere",
            &[],
        )];
        assert!(keys_by_account(&orphan, &accounts, &numbers()).is_err());
    }
}
