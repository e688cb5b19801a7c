//! Resource Manager folders beyond `get`/`list` (in `resourcemanager`): v3
//! `folders.search`, and the v2 folder methods gcloud's `resource-manager folders`
//! commands call (`googlecloudsdk/api_lib/resource_manager/folders.py` pins
//! `FOLDERS_API_VERSION = 'v2'`): get, list by parent, search, and the folder's IAM
//! policy. Both versions share one store of folders and one policy per folder.
//! Shapes follow `cloudresourcemanager.v2.json` (`Folder`: `name`, `parent`,
//! `displayName`, `lifecycleState`, `createTime`) and `cloudresourcemanager.v3.json`.
//!
//! Invariant: a search or list visits each stored container once (bounded by the
//! store), and pages through `paging::paginate` like every other list.

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::filter::{self, Dialect, FieldValue};
use crate::paging::{paginate, Limits};
use crate::store::{Container, Store};
use crate::util::fmt_time;
use crate::wire::ApiRequest;

/// v2 caps folder pages at 100 (`folders.list`: "The maximum number of Folders to return
/// in the response. The server can return fewer folders than requested."); v3 too.
const FOLDER_LIMITS: Limits = Limits {
    default: 100,
    max: 100,
};

/// `Folder` as v2 shows it.
pub fn folder_v2(c: &Container) -> Value {
    json!({
        "name": c.name,
        "parent": c.parent,
        "displayName": c.display_name,
        "lifecycleState": "ACTIVE",
        "createTime": fmt_time(&c.create_time),
    })
}

/// A folder's value for a search field (`displayName`, `parent`, `state` /
/// `lifecycleState`); field names arrive lowercased.
fn folder_field(c: &Container, field: &str) -> FieldValue {
    let text = |s: &str| FieldValue::Text(s.to_owned());
    match field {
        "displayname" => text(&c.display_name),
        "parent" => c.parent.as_deref().map_or(FieldValue::Missing, text),
        "state" | "lifecyclestate" => text("ACTIVE"),
        "name" => text(&c.name),
        _ => FieldValue::Missing,
    }
}

fn known_folder_field(f: &str) -> bool {
    matches!(
        f,
        "displayname" | "parent" | "state" | "lifecyclestate" | "name"
    )
}

/// The folders matching `query`, as `(sort key, shown value)` pairs.
fn matching(
    store: &Store,
    query: &str,
    show: fn(&Container) -> Value,
) -> ApiResult<Vec<(String, Value)>> {
    let terms = filter::parse(query, Dialect::ResourceManager, known_folder_field)?;
    let mut items = Vec::new();
    for c in store.containers.values().filter(|c| c.parent.is_some()) {
        if filter::matches(&terms, |f| folder_field(c, f))? {
            items.push((c.name.clone(), show(c)));
        }
    }
    Ok(items)
}

fn page(
    items: Vec<(String, Value)>,
    scope: &str,
    size: Option<i64>,
    token: Option<&str>,
) -> ApiResult<Value> {
    let (page, next) = paginate(items, scope, size, token, FOLDER_LIMITS)?;
    let mut out = json!({});
    if !page.is_empty() {
        out["folders"] = Value::Array(page);
    }
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

/// v3 `GET /v3/folders:search?query=`: every folder the caller may see that matches.
pub fn search_v3(store: &mut Store, req: &ApiRequest) -> ApiResult<Value> {
    let text = req.param("query").unwrap_or_default().trim().to_owned();
    let items = matching(store, &text, crate::resourcemanager::container_v3)?;
    page(
        items,
        &format!("folders3|{text}"),
        req.page_size()?,
        req.page_token(),
    )
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SearchFoldersV2 {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    page_size: Option<i64>,
    #[serde(default)]
    page_token: Option<String>,
}

/// v2 `POST /v2/folders:search`: the query and paging come in the body.
pub fn search_v2(store: &mut Store, req: &ApiRequest) -> ApiResult<Value> {
    let body: SearchFoldersV2 = req.json()?;
    let text = body.query.unwrap_or_default().trim().to_owned();
    let items = matching(store, &text, folder_v2)?;
    page(
        items,
        &format!("folders2|{text}"),
        body.page_size,
        body.page_token.as_deref(),
    )
}

/// v2 `GET /v2/folders?parent=`: the direct child folders of an organization or folder.
pub fn list_v2(store: &mut Store, req: &ApiRequest) -> ApiResult<Value> {
    let parent = req
        .param("parent")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("parent is required, e.g. organizations/123 or folders/456.")
        })?
        .to_owned();
    let items = store
        .containers
        .values()
        .filter(|c| c.parent.as_deref() == Some(parent.as_str()))
        .map(|c| (c.name.clone(), folder_v2(c)))
        .collect();
    page(
        items,
        &format!("folders2list|{parent}"),
        req.page_size()?,
        req.page_token(),
    )
}

/// v2 `GET /v2/folders/{folder}`.
pub fn get_v2(store: &mut Store, id: &str) -> ApiResult<Value> {
    Ok(folder_v2(store.container("folders", id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_v2_names_its_parent_and_state() {
        let mut store = Store::default();
        let v = get_v2(&mut store, "20").unwrap();
        assert_eq!(v["name"], "folders/20");
        assert_eq!(v["lifecycleState"], "ACTIVE");
        assert!(v["parent"].as_str().unwrap().starts_with("organizations/"));
    }
}
