//! Cloud Resource Manager: projects (`GET`) and their IAM policies
//! (`:getIamPolicy`, `:setIamPolicy`) in both API versions, v1 (what gcloud uses) and
//! v3 (what the google-cloud-resourcemanager-v3 crate uses).
//! Shapes follow `cloudresourcemanager.v1.json` and `cloudresourcemanager.v3.json`.

use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::policy::{AuditConfigs, GetIamPolicyRequest, SetIamPolicyRequest};
use crate::store::{Project, Store};
use crate::util::fmt_time;
use crate::wire::ApiRequest;

/// `Project` as v1 shows it.
pub fn project_v1(p: &Project) -> Value {
    let mut out = json!({
        "projectNumber": p.number.to_string(),
        "projectId": p.id,
        "lifecycleState": "ACTIVE",
        "name": p.display_name,
        "createTime": fmt_time(&p.create_time),
    });
    if !p.labels.is_empty() {
        out["labels"] = json!(p.labels);
    }
    if let Some((kind, id)) = p.parent.as_deref().and_then(|s| s.split_once('/')) {
        let kind = kind.strip_suffix('s').unwrap_or(kind);
        out["parent"] = json!({ "type": kind, "id": id });
    }
    out
}

/// `Project` as v3 shows it.
pub fn project_v3(p: &Project) -> Value {
    let t = fmt_time(&p.create_time);
    let mut out = json!({
        "name": format!("projects/{}", p.number),
        "projectId": p.id,
        "state": "ACTIVE",
        "displayName": p.display_name,
        "createTime": t,
        "updateTime": t,
        "etag": format!("W/\"{:016x}\"", crate::util::fnv64(format!("{}{}", p.id, p.number).as_bytes())),
    });
    if !p.labels.is_empty() {
        out["labels"] = json!(p.labels);
    }
    if let Some(parent) = &p.parent {
        out["parent"] = json!(parent);
    }
    out
}

pub fn get_v1(store: &mut Store, project: &str) -> ApiResult<Value> {
    Ok(project_v1(store.project(project)?))
}

pub fn get_v3(store: &mut Store, project: &str) -> ApiResult<Value> {
    Ok(project_v3(store.project(project)?))
}

/// `:getIamPolicy` (both versions): the options come in the body.
pub fn get_iam_policy(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let body: GetIamPolicyRequest = req.json()?;
    let version = body.options.and_then(|o| o.requested_policy_version);
    store.project(project)?.policy.render(version)
}

/// `:setIamPolicy` (both versions).
pub fn set_iam_policy(store: &mut Store, project: &str, req: &ApiRequest) -> ApiResult<Value> {
    let body: SetIamPolicyRequest = req.json()?;
    let generation = store.next_generation();
    store
        .project(project)?
        .policy
        .set(body, generation, AuditConfigs::Allowed)
}
