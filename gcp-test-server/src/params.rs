//! Query-parameter binding, as Google's front end does it: a request whose query string
//! names a parameter that is neither a system parameter nor a field of the method's
//! request message is refused with 400 INVALID_ARGUMENT and Google's message
//! `Invalid JSON payload received. Unknown name "x": Cannot bind query parameter.
//! Field 'x' could not be found in request message.` (the text Google's APIs answer,
//! e.g. for `optionsRequestedPolicyVersion` on `serviceAccounts.getIamPolicy`).
//!
//! The accepted names per route are the `location: query` parameters of the method in
//! the discovery documents (`cloudresourcemanager.v1/v3`, `iam.v1`,
//! `secretmanager.v1`), plus the system parameters every Google API takes
//! (<https://cloud.google.com/apis/docs/system-parameters>), which the server accepts
//! and ignores (`fields` included: partial responses are not served).

use crate::error::{ApiError, ApiResult};
use crate::wire::ApiRequest;

/// System parameters (both spellings where Google documents a `$` form).
const SYSTEM: &[&str] = &[
    "$.xgafv",
    "$alt",
    "alt",
    "$callback",
    "callback",
    "$fields",
    "fields",
    "$prettyPrint",
    "prettyPrint",
    "pp",
    "$quotaUser",
    "quotaUser",
    "$userProject",
    "userProject",
    "$key",
    "key",
    "access_token",
    "oauth_token",
    "bearer_token",
    "upload_protocol",
    "uploadType",
    "$outputDefaults",
    "$apiFormatVersion",
    "requestReason",
    "$requestReason",
];

/// The method parameters each route binds from the query string (from the discovery
/// documents). Regional secret routes use the global route's entry.
#[rustfmt::skip]
pub const TABLE: &[(&str, &[&str])] = &[
    (crate::router::UNMATCHED, &[]),
    ("GET /v1/projects", &["filter", "pageSize", "pageToken"]),
    ("GET /v3/projects", &["pageSize", "pageToken", "parent", "showDeleted"]),
    ("GET /v3/projects:search", &["pageSize", "pageToken", "query"]),
    ("GET /v1/projects/{project}", &[]),
    ("GET /v3/projects/{project}", &[]),
    ("POST /v1/projects/{project}:getAncestry", &[]),
    ("POST /v1/projects/{project}:getIamPolicy", &[]),
    ("POST /v3/projects/{project}:getIamPolicy", &[]),
    ("POST /v1/projects/{project}:setIamPolicy", &[]),
    ("POST /v3/projects/{project}:setIamPolicy", &[]),
    ("POST /v1/projects/{project}:testIamPermissions", &[]),
    ("POST /v3/projects/{project}:testIamPermissions", &[]),
    ("POST /v1/organizations:search", &[]),
    ("GET /v3/organizations:search", &["pageSize", "pageToken", "query"]),
    ("GET /v3/folders", &["pageSize", "pageToken", "parent", "showDeleted"]),
    ("GET /v1/organizations/{organization}", &[]),
    ("GET /v3/organizations/{organization}", &[]),
    ("POST /v1/organizations/{organization}:getIamPolicy", &[]),
    ("POST /v3/organizations/{organization}:getIamPolicy", &[]),
    ("POST /v1/organizations/{organization}:setIamPolicy", &[]),
    ("POST /v3/organizations/{organization}:setIamPolicy", &[]),
    ("POST /v1/organizations/{organization}:testIamPermissions", &[]),
    ("POST /v3/organizations/{organization}:testIamPermissions", &[]),
    ("GET /v3/folders/{folder}", &[]),
    ("GET /v3/folders:search", &["pageSize", "pageToken", "query"]),
    ("GET /v1/projects/{project}:searchAllIamPolicies", &["assetTypes", "orderBy", "pageSize", "pageToken", "query"]),
    ("GET /v1/projects/{project}:searchAllResources", &["assetTypes", "orderBy", "pageSize", "pageToken", "query", "readMask"]),
    ("GET /v1/folders/{folder}:searchAllIamPolicies", &["assetTypes", "orderBy", "pageSize", "pageToken", "query"]),
    ("GET /v1/folders/{folder}:searchAllResources", &["assetTypes", "orderBy", "pageSize", "pageToken", "query", "readMask"]),
    ("GET /v1/organizations/{organization}:searchAllIamPolicies", &["assetTypes", "orderBy", "pageSize", "pageToken", "query"]),
    ("GET /v1/organizations/{organization}:searchAllResources", &["assetTypes", "orderBy", "pageSize", "pageToken", "query", "readMask"]),
    ("POST /v2/folders:search", &[]),
    ("GET /v2/folders", &["pageSize", "pageToken", "parent", "showDeleted"]),
    ("GET /v2/folders/{folder}", &[]),
    ("POST /v2/folders/{folder}:getIamPolicy", &[]),
    ("POST /v2/folders/{folder}:setIamPolicy", &[]),
    ("POST /v2/folders/{folder}:testIamPermissions", &[]),
    ("POST /v3/folders/{folder}:getIamPolicy", &[]),
    ("POST /v3/folders/{folder}:setIamPolicy", &[]),
    ("POST /v3/folders/{folder}:testIamPermissions", &[]),
    ("GET /v1/projects/{project}/serviceAccounts", &["pageSize", "pageToken"]),
    ("POST /v1/projects/{project}/serviceAccounts", &[]),
    ("GET /v1/projects/{project}/serviceAccounts/{account}", &[]),
    ("DELETE /v1/projects/{project}/serviceAccounts/{account}", &[]),
    ("PATCH /v1/projects/{project}/serviceAccounts/{account}", &[]),
    ("PUT /v1/projects/{project}/serviceAccounts/{account}", &[]),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:disable", &[]),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:enable", &[]),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:undelete", &[]),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:getIamPolicy", &["options.requestedPolicyVersion"]),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:setIamPolicy", &[]),
    ("POST /v1/projects/{project}/serviceAccounts/{account}:testIamPermissions", &[]),
    ("GET /v1/projects/{project}/serviceAccounts/{account}/keys", &["keyTypes"]),
    ("POST /v1/projects/{project}/serviceAccounts/{account}/keys", &[]),
    ("POST /v1/projects/{project}/serviceAccounts/{account}/keys:upload", &[]),
    ("GET /v1/projects/{project}/serviceAccounts/{account}/keys/{key}", &["publicKeyType"]),
    ("DELETE /v1/projects/{project}/serviceAccounts/{account}/keys/{key}", &[]),
    ("POST /v1/projects/{project}/serviceAccounts/{account}/keys/{key}:disable", &[]),
    ("POST /v1/projects/{project}/serviceAccounts/{account}/keys/{key}:enable", &[]),
    ("POST /v1/permissions:queryTestablePermissions", &[]),
    ("GET /v1/roles", &["pageSize", "pageToken", "parent", "showDeleted", "view"]),
    ("GET /v1/roles/{role}", &[]),
    ("GET /v1/projects/{project}/roles", &["pageSize", "pageToken", "showDeleted", "view"]),
    ("POST /v1/projects/{project}/roles", &[]),
    ("GET /v1/projects/{project}/roles/{role}", &[]),
    ("PATCH /v1/projects/{project}/roles/{role}", &["updateMask"]),
    ("DELETE /v1/projects/{project}/roles/{role}", &["etag"]),
    ("POST /v1/projects/{project}/roles/{role}:undelete", &[]),
    ("GET /v1/projects/{project}/locations", &["extraLocationTypes", "filter", "pageSize", "pageToken"]),
    ("GET /v1/projects/{project}/locations/{location}", &[]),
    ("GET /v1/projects/{project}/secrets", &["filter", "pageSize", "pageToken"]),
    ("POST /v1/projects/{project}/secrets", &["secretId"]),
    ("GET /v1/projects/{project}/secrets/{secret}", &[]),
    ("PATCH /v1/projects/{project}/secrets/{secret}", &["updateMask"]),
    ("DELETE /v1/projects/{project}/secrets/{secret}", &["etag"]),
    ("POST /v1/projects/{project}/secrets/{secret}:addVersion", &[]),
    ("GET /v1/projects/{project}/secrets/{secret}:getIamPolicy", &["options.requestedPolicyVersion"]),
    ("POST /v1/projects/{project}/secrets/{secret}:setIamPolicy", &[]),
    ("POST /v1/projects/{project}/secrets/{secret}:testIamPermissions", &[]),
    ("GET /v1/projects/{project}/secrets/{secret}/versions", &["filter", "pageSize", "pageToken"]),
    ("GET /v1/projects/{project}/secrets/{secret}/versions/{version}", &[]),
    ("GET /v1/projects/{project}/secrets/{secret}/versions/{version}:access", &[]),
    ("POST /v1/projects/{project}/secrets/{secret}/versions/{version}:enable", &[]),
    ("POST /v1/projects/{project}/secrets/{secret}/versions/{version}:disable", &[]),
    ("POST /v1/projects/{project}/secrets/{secret}/versions/{version}:destroy", &[]),
    ("GET /v1/projects/{project}/secrets", &["filter", "pageSize", "pageToken"]),
    ("POST /v1/projects/{project}/secrets/{secret}:addVersion", &[]),
    ("POST /v3/folders/{folder}:getIamPolicy", &[]),
];

/// The parameters a route binds; `None` for a route missing from the table.
pub fn allowed(label: &str) -> Option<&'static [&'static str]> {
    let global;
    let key = if label.contains("{project}/locations/{location}/secrets") {
        global = label.replacen(
            "{project}/locations/{location}/secrets",
            "{project}/secrets",
            1,
        );
        global.as_str()
    } else {
        label
    };
    TABLE
        .iter()
        .chain(crate::creds::PARAMS)
        .find(|(l, _)| *l == key)
        .map(|(_, p)| *p)
}

/// Refuses a query parameter the route cannot bind.
pub fn check(label: &str, req: &ApiRequest) -> ApiResult<()> {
    if label == crate::router::UNMATCHED {
        return Ok(());
    }
    let allowed = allowed(label).unwrap_or_default();
    for (name, _) in &req.query {
        if SYSTEM.contains(&name.as_str()) || allowed.contains(&name.as_str()) {
            continue;
        }
        let shown: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
        let field = shown.rsplit('.').next().unwrap_or_default();
        return Err(ApiError::invalid(format!(
            "Invalid JSON payload received. Unknown name \"{shown}\": Cannot bind query parameter. Field '{field}' could not be found in request message."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route the enforcement table knows binds its query parameters here too.
    #[test]
    fn every_route_has_an_entry() {
        for (label, _) in crate::enforce::TABLE {
            assert!(allowed(label).is_some(), "{label} has no parameter entry");
        }
        for (label, _) in TABLE {
            assert!(
                crate::enforce::need(label).is_some(),
                "{label} is not a route"
            );
        }
    }

    #[test]
    fn unknown_parameters_are_refused_with_googles_message() {
        let req = |q: &str| {
            ApiRequest::parse(
                "GET",
                "/v1/projects/p/secrets",
                Some(q),
                bytes::Bytes::new(),
            )
            .unwrap()
        };
        let label = "GET /v1/projects/{project}/secrets";
        assert!(check(
            label,
            &req("filter=name:a&pageSize=2&alt=json&$alt=json;enum-encoding=int")
        )
        .is_ok());
        let err = check(label, &req("pagesize=2")).unwrap_err();
        assert_eq!(
            err.message,
            "Invalid JSON payload received. Unknown name \"pagesize\": Cannot bind query parameter. Field 'pagesize' could not be found in request message."
        );
        let err = check(
            "GET /v1/projects/{project}/locations/{location}/secrets",
            &req("a.b=1"),
        )
        .unwrap_err();
        assert!(
            err.message.contains("Field 'b' could not be found"),
            "{}",
            err.message
        );
    }
}
