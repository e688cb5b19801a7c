//! Maps a request (method, path segments, custom verb) to its handler and to a route
//! label such as `POST /v1/projects/{project}/secrets/{secret}:addVersion`, which the
//! request counter uses. Paths are those of the discovery documents' `flatPath`s.
//! A request that matches no route is answered 404 NOT_FOUND, as Google's front end does;
//! one whose query string names a parameter the route cannot bind, 400 ([`crate::params`]).

use std::borrow::Cow;

use serde_json::Value;

use crate::enforce::Refusal;
use crate::error::{ApiError, ApiResult};
use crate::faults::FaultKind;
use crate::secretmanager::VersionAction;
use crate::store::Store;
use crate::wire::ApiRequest;
use crate::{asset, folders, iam, resourcemanager as rm, roles, secretmanager as sm};

/// The label counted for requests that match no route.
pub const UNMATCHED: &str = "unmatched";

/// What became of a request.
#[derive(Debug)]
pub enum Outcome {
    /// The handler ran.
    Done(ApiResult<Value>),
    /// The gate injected a fault instead; the handler did not run.
    Faulted(FaultKind),
    /// IAM enforcement refused the request (401 or 403); the handler did not run.
    Refused(Refusal),
}

/// Why a gate stops a request before its handler.
#[derive(Debug)]
pub enum Stop {
    Fault(FaultKind),
    Refuse(Refusal),
}

/// Finds the route for `req`, shows its label and the store to `gate` (which counts
/// it and may inject a fault or refuse it instead), and otherwise runs the handler
/// against `store`.
pub fn dispatch(
    store: &mut Store,
    req: &ApiRequest,
    gate: &mut dyn FnMut(&str, &Store) -> Option<Stop>,
) -> (Cow<'static, str>, Outcome) {
    let mut segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let verb = req.verb.as_deref();
    let method = req.method.as_str();
    // Regional secrets (`projects/P/locations/L/secrets/...`) share the global
    // routes: take the location out of the path and keep it aside.
    let mut location = None;
    if let ["v1", "projects", _, "locations", l, "secrets", ..] = segs.as_slice() {
        location = Some(*l);
        segs.drain(3..5);
    }
    macro_rules! route {
        ($label:expr, $call:expr) => {{
            let label: Cow<'static, str> = match location {
                Some(_) => Cow::Owned($label.replacen(
                    "{project}/secrets",
                    "{project}/locations/{location}/secrets",
                    1,
                )),
                None => Cow::Borrowed($label),
            };
            match gate(&label, &*store) {
                Some(Stop::Fault(fault)) => (label, Outcome::Faulted(fault)),
                Some(Stop::Refuse(refusal)) => (label, Outcome::Refused(refusal)),
                None => {
                    store.purge_expired();
                    // Unknown query parameters are refused before the handler runs.
                    match crate::params::check(&label, req) {
                        Err(e) => (label, Outcome::Done(Err(e))),
                        Ok(()) => (label, Outcome::Done($call)),
                    }
                }
            }
        }};
    }
    let at = |project| sm::At { project, location };
    // API keys, HMAC keys and workload identity federation (`creds.rs`).
    if let Some((label, call)) = crate::creds::route(method, &segs, verb) {
        return route!(label, call(store, req));
    }
    match (method, segs.as_slice(), verb) {
        // ---------------------------------------------------- Resource Manager
        ("GET", ["v1", "projects", p], None) => {
            route!("GET /v1/projects/{project}", rm::get_v1(store, p))
        }
        ("POST", ["v1", "projects", p], Some("getIamPolicy")) => {
            route!(
                "POST /v1/projects/{project}:getIamPolicy",
                rm::get_iam_policy(store, p, req)
            )
        }
        ("POST", ["v1", "projects", p], Some("setIamPolicy")) => {
            route!(
                "POST /v1/projects/{project}:setIamPolicy",
                rm::set_iam_policy(store, p, req)
            )
        }
        ("GET", ["v1", "projects"], None) => route!("GET /v1/projects", rm::list_v1(store, req)),
        ("POST", ["v1", "projects", p], Some("getAncestry")) => {
            route!(
                "POST /v1/projects/{project}:getAncestry",
                rm::get_ancestry(store, p)
            )
        }
        ("POST", ["v1", "projects", p], Some("testIamPermissions")) => route!(
            "POST /v1/projects/{project}:testIamPermissions",
            rm::test_iam_permissions(store, p, req)
        ),
        ("GET", ["v3", "projects"], None) => route!("GET /v3/projects", rm::list_v3(store, req)),
        ("GET", ["v3", "projects"], Some("search")) => {
            route!("GET /v3/projects:search", rm::search_v3(store, req))
        }
        ("POST", ["v3", "projects", p], Some("testIamPermissions")) => route!(
            "POST /v3/projects/{project}:testIamPermissions",
            rm::test_iam_permissions(store, p, req)
        ),
        ("GET", ["v3", "projects", p], None) => {
            route!("GET /v3/projects/{project}", rm::get_v3(store, p))
        }
        ("POST", ["v3", "projects", p], Some("getIamPolicy")) => {
            route!(
                "POST /v3/projects/{project}:getIamPolicy",
                rm::get_iam_policy(store, p, req)
            )
        }
        ("POST", ["v3", "projects", p], Some("setIamPolicy")) => {
            route!(
                "POST /v3/projects/{project}:setIamPolicy",
                rm::set_iam_policy(store, p, req)
            )
        }

        ("GET", ["v1", "organizations", o], None) => {
            route!(
                "GET /v1/organizations/{organization}",
                rm::get_organization(store, o, false)
            )
        }
        ("GET", ["v3", "organizations", o], None) => {
            route!(
                "GET /v3/organizations/{organization}",
                rm::get_organization(store, o, true)
            )
        }
        ("POST", ["v1", "organizations"], Some("search")) => {
            route!(
                "POST /v1/organizations:search",
                rm::search_organizations_v1(store, req)
            )
        }
        ("GET", ["v3", "organizations"], Some("search")) => {
            route!(
                "GET /v3/organizations:search",
                rm::search_organizations(store, req)
            )
        }
        ("GET", ["v3", "folders"], Some("search")) => {
            route!("GET /v3/folders:search", folders::search_v3(store, req))
        }
        ("POST", ["v2", "folders"], Some("search")) => {
            route!("POST /v2/folders:search", folders::search_v2(store, req))
        }
        ("GET", ["v2", "folders"], None) => route!("GET /v2/folders", folders::list_v2(store, req)),
        ("GET", ["v2", "folders", f], None) => {
            route!("GET /v2/folders/{folder}", folders::get_v2(store, f))
        }
        ("GET", ["v3", "folders", f], None) => {
            route!("GET /v3/folders/{folder}", rm::get_folder(store, f))
        }
        ("GET", ["v3", "folders"], None) => route!("GET /v3/folders", rm::list_folders(store, req)),
        (
            "POST",
            [v @ ("v1" | "v2" | "v3"), kind @ ("organizations" | "folders"), id],
            Some(verb @ ("getIamPolicy" | "setIamPolicy" | "testIamPermissions")),
        ) if matches!(
            (*v, *kind),
            ("v1" | "v3", "organizations") | ("v2" | "v3", "folders")
        ) =>
        {
            let label = container_label(v, kind, verb);
            route!(
                label,
                match verb {
                    "getIamPolicy" => rm::container_get_iam_policy(store, kind, id, req),
                    "setIamPolicy" => rm::container_set_iam_policy(store, kind, id, req),
                    _ => rm::container_test_iam_permissions(store, kind, id, req),
                }
            )
        }

        // ---------------------------------------------------- Cloud Asset Inventory
        (
            "GET",
            ["v1", kind @ ("projects" | "folders" | "organizations"), id],
            Some(verb @ ("searchAllIamPolicies" | "searchAllResources")),
        ) => route!(
            asset_label(kind, verb),
            match verb {
                "searchAllIamPolicies" => asset::search_all_iam_policies(store, kind, id, req),
                _ => asset::search_all_resources(store, kind, id, req),
            }
        ),

        // ---------------------------------------------------- IAM service accounts
        ("GET", ["v1", "projects", p, "serviceAccounts"], None) => {
            route!(
                "GET /v1/projects/{project}/serviceAccounts",
                iam::list(store, p, req)
            )
        }
        ("POST", ["v1", "projects", p, "serviceAccounts"], None) => {
            route!(
                "POST /v1/projects/{project}/serviceAccounts",
                iam::create(store, p, req)
            )
        }
        ("GET", ["v1", "projects", p, "serviceAccounts", a], None) => {
            route!(
                "GET /v1/projects/{project}/serviceAccounts/{account}",
                iam::get(store, p, a)
            )
        }
        ("DELETE", ["v1", "projects", p, "serviceAccounts", a], None) => {
            route!(
                "DELETE /v1/projects/{project}/serviceAccounts/{account}",
                iam::delete(store, p, a)
            )
        }
        ("PATCH", ["v1", "projects", p, "serviceAccounts", a], None) => {
            route!(
                "PATCH /v1/projects/{project}/serviceAccounts/{account}",
                iam::patch(store, p, a, req)
            )
        }
        ("PUT", ["v1", "projects", p, "serviceAccounts", a], None) => {
            route!(
                "PUT /v1/projects/{project}/serviceAccounts/{account}",
                iam::update(store, p, a, req)
            )
        }
        ("POST", ["v1", "projects", p, "serviceAccounts", a], Some("disable")) => {
            route!(
                "POST /v1/projects/{project}/serviceAccounts/{account}:disable",
                iam::set_disabled(store, p, a, true)
            )
        }
        ("POST", ["v1", "projects", p, "serviceAccounts", a], Some("enable")) => {
            route!(
                "POST /v1/projects/{project}/serviceAccounts/{account}:enable",
                iam::set_disabled(store, p, a, false)
            )
        }
        ("POST", ["v1", "projects", p, "serviceAccounts", a], Some("getIamPolicy")) => route!(
            "POST /v1/projects/{project}/serviceAccounts/{account}:getIamPolicy",
            iam::get_iam_policy(store, p, a, req)
        ),
        ("POST", ["v1", "projects", p, "serviceAccounts", a], Some("setIamPolicy")) => route!(
            "POST /v1/projects/{project}/serviceAccounts/{account}:setIamPolicy",
            iam::set_iam_policy(store, p, a, req)
        ),
        ("POST", ["v1", "projects", p, "serviceAccounts", a], Some("undelete")) => {
            route!(
                "POST /v1/projects/{project}/serviceAccounts/{account}:undelete",
                iam::undelete(store, p, a)
            )
        }
        ("POST", ["v1", "projects", p, "serviceAccounts", a], Some("testIamPermissions")) => {
            route!(
                "POST /v1/projects/{project}/serviceAccounts/{account}:testIamPermissions",
                iam::find_sa(store, p, a).and_then(|_| crate::policy::test_permissions(req))
            )
        }
        ("GET", ["v1", "projects", p, "serviceAccounts", a, "keys"], None) => {
            route!(
                "GET /v1/projects/{project}/serviceAccounts/{account}/keys",
                iam::list_keys(store, p, a, req)
            )
        }
        ("POST", ["v1", "projects", p, "serviceAccounts", a, "keys"], None) => {
            route!(
                "POST /v1/projects/{project}/serviceAccounts/{account}/keys",
                iam::create_key(store, p, a, req)
            )
        }
        ("POST", ["v1", "projects", p, "serviceAccounts", a, "keys"], Some("upload")) => route!(
            "POST /v1/projects/{project}/serviceAccounts/{account}/keys:upload",
            iam::upload_key(store, p, a, req)
        ),
        ("GET", ["v1", "projects", p, "serviceAccounts", a, "keys", k], None) => route!(
            "GET /v1/projects/{project}/serviceAccounts/{account}/keys/{key}",
            iam::get_key(store, p, a, k, req)
        ),
        ("DELETE", ["v1", "projects", p, "serviceAccounts", a, "keys", k], None) => route!(
            "DELETE /v1/projects/{project}/serviceAccounts/{account}/keys/{key}",
            iam::delete_key(store, p, a, k)
        ),
        ("POST", ["v1", "projects", p, "serviceAccounts", a, "keys", k], Some("disable")) => {
            route!(
                "POST /v1/projects/{project}/serviceAccounts/{account}/keys/{key}:disable",
                iam::set_key_disabled(store, p, a, k, true)
            )
        }
        ("POST", ["v1", "projects", p, "serviceAccounts", a, "keys", k], Some("enable")) => route!(
            "POST /v1/projects/{project}/serviceAccounts/{account}/keys/{key}:enable",
            iam::set_key_disabled(store, p, a, k, false)
        ),

        // ---------------------------------------------------- IAM roles
        ("POST", ["v1", "permissions"], Some("queryTestablePermissions")) => route!(
            "POST /v1/permissions:queryTestablePermissions",
            roles::query_testable_permissions(req)
        ),
        ("GET", ["v1", "roles"], None) => {
            route!("GET /v1/roles", roles::list_predefined(store, req))
        }
        ("GET", ["v1", "roles", r], None) => {
            route!("GET /v1/roles/{role}", roles::get_predefined(store, r))
        }
        ("GET", ["v1", "projects", p, "roles"], None) => {
            route!(
                "GET /v1/projects/{project}/roles",
                roles::list(store, p, req)
            )
        }
        ("POST", ["v1", "projects", p, "roles"], None) => {
            route!(
                "POST /v1/projects/{project}/roles",
                roles::create(store, p, req)
            )
        }
        ("GET", ["v1", "projects", p, "roles", r], None) => {
            route!(
                "GET /v1/projects/{project}/roles/{role}",
                roles::get(store, p, r)
            )
        }
        ("PATCH", ["v1", "projects", p, "roles", r], None) => {
            route!(
                "PATCH /v1/projects/{project}/roles/{role}",
                roles::patch(store, p, r, req)
            )
        }
        ("DELETE", ["v1", "projects", p, "roles", r], None) => {
            route!(
                "DELETE /v1/projects/{project}/roles/{role}",
                roles::delete(store, p, r, req)
            )
        }
        ("POST", ["v1", "projects", p, "roles", r], Some("undelete")) => {
            route!(
                "POST /v1/projects/{project}/roles/{role}:undelete",
                roles::undelete(store, p, r, req)
            )
        }

        // ---------------------------------------------------- Secret Manager
        ("GET", ["v1", "projects", p, "locations"], None) => {
            route!(
                "GET /v1/projects/{project}/locations",
                sm::list_locations(store, p, req)
            )
        }
        ("GET", ["v1", "projects", p, "locations", l], None) => {
            route!(
                "GET /v1/projects/{project}/locations/{location}",
                sm::get_location(store, p, l)
            )
        }
        ("GET", ["v1", "projects", p, "secrets"], None) => route!(
            "GET /v1/projects/{project}/secrets",
            sm::list(store, at(p), req)
        ),
        ("POST", ["v1", "projects", p, "secrets"], None) => {
            route!(
                "POST /v1/projects/{project}/secrets",
                sm::create(store, at(p), req)
            )
        }
        ("GET", ["v1", "projects", p, "secrets", s], None) => {
            route!(
                "GET /v1/projects/{project}/secrets/{secret}",
                sm::get(store, at(p), s)
            )
        }
        ("PATCH", ["v1", "projects", p, "secrets", s], None) => {
            route!(
                "PATCH /v1/projects/{project}/secrets/{secret}",
                sm::patch(store, at(p), s, req)
            )
        }
        ("DELETE", ["v1", "projects", p, "secrets", s], None) => {
            route!(
                "DELETE /v1/projects/{project}/secrets/{secret}",
                sm::delete(store, at(p), s, req)
            )
        }
        ("POST", ["v1", "projects", p, "secrets", s], Some("addVersion")) => {
            route!(
                "POST /v1/projects/{project}/secrets/{secret}:addVersion",
                sm::add_version(store, at(p), s, req)
            )
        }
        ("GET", ["v1", "projects", p, "secrets", s], Some("getIamPolicy")) => {
            route!(
                "GET /v1/projects/{project}/secrets/{secret}:getIamPolicy",
                sm::get_iam_policy(store, at(p), s, req)
            )
        }
        ("POST", ["v1", "projects", p, "secrets", s], Some("setIamPolicy")) => {
            route!(
                "POST /v1/projects/{project}/secrets/{secret}:setIamPolicy",
                sm::set_iam_policy(store, at(p), s, req)
            )
        }
        ("POST", ["v1", "projects", p, "secrets", s], Some("testIamPermissions")) => route!(
            "POST /v1/projects/{project}/secrets/{secret}:testIamPermissions",
            sm::get(store, at(p), s).and_then(|_| crate::policy::test_permissions(req))
        ),
        ("GET", ["v1", "projects", p, "secrets", s, "versions"], None) => {
            route!(
                "GET /v1/projects/{project}/secrets/{secret}/versions",
                sm::list_versions(store, at(p), s, req)
            )
        }
        ("GET", ["v1", "projects", p, "secrets", s, "versions", v], None) => route!(
            "GET /v1/projects/{project}/secrets/{secret}/versions/{version}",
            sm::get_version(store, at(p), s, v)
        ),
        ("GET", ["v1", "projects", p, "secrets", s, "versions", v], Some("access")) => route!(
            "GET /v1/projects/{project}/secrets/{secret}/versions/{version}:access",
            sm::access_version(store, at(p), s, v)
        ),
        ("POST", ["v1", "projects", p, "secrets", s, "versions", v], Some("enable")) => route!(
            "POST /v1/projects/{project}/secrets/{secret}/versions/{version}:enable",
            sm::change_version(store, at(p), s, v, VersionAction::Enable, req)
        ),
        ("POST", ["v1", "projects", p, "secrets", s, "versions", v], Some("disable")) => route!(
            "POST /v1/projects/{project}/secrets/{secret}/versions/{version}:disable",
            sm::change_version(store, at(p), s, v, VersionAction::Disable, req)
        ),
        ("POST", ["v1", "projects", p, "secrets", s, "versions", v], Some("destroy")) => route!(
            "POST /v1/projects/{project}/secrets/{secret}/versions/{version}:destroy",
            sm::change_version(store, at(p), s, v, VersionAction::Destroy, req)
        ),

        _ => route!(
            UNMATCHED,
            Err(ApiError::not_found(format!(
                "The requested URL {} /{}{} was not found on this server.",
                method,
                req.segments.join("/"),
                verb.map(|v| format!(":{v}")).unwrap_or_default()
            )))
        ),
    }
}

/// The route label of an organization or folder policy method.
fn container_label(version: &str, kind: &str, verb: &str) -> &'static str {
    match (version, kind, verb) {
        ("v1", _, "getIamPolicy") => "POST /v1/organizations/{organization}:getIamPolicy",
        ("v1", _, "setIamPolicy") => "POST /v1/organizations/{organization}:setIamPolicy",
        ("v1", _, _) => "POST /v1/organizations/{organization}:testIamPermissions",
        ("v2", _, "getIamPolicy") => "POST /v2/folders/{folder}:getIamPolicy",
        ("v2", _, "setIamPolicy") => "POST /v2/folders/{folder}:setIamPolicy",
        ("v2", _, _) => "POST /v2/folders/{folder}:testIamPermissions",
        (_, "organizations", "getIamPolicy") => {
            "POST /v3/organizations/{organization}:getIamPolicy"
        }
        (_, "organizations", "setIamPolicy") => {
            "POST /v3/organizations/{organization}:setIamPolicy"
        }
        (_, "organizations", _) => "POST /v3/organizations/{organization}:testIamPermissions",
        (_, _, "getIamPolicy") => "POST /v3/folders/{folder}:getIamPolicy",
        (_, _, "setIamPolicy") => "POST /v3/folders/{folder}:setIamPolicy",
        _ => "POST /v3/folders/{folder}:testIamPermissions",
    }
}

/// The route label of a Cloud Asset Inventory search on a scope.
fn asset_label(kind: &str, verb: &str) -> &'static str {
    match (kind, verb) {
        ("projects", "searchAllIamPolicies") => "GET /v1/projects/{project}:searchAllIamPolicies",
        ("folders", "searchAllIamPolicies") => "GET /v1/folders/{folder}:searchAllIamPolicies",
        (_, "searchAllIamPolicies") => "GET /v1/organizations/{organization}:searchAllIamPolicies",
        ("projects", _) => "GET /v1/projects/{project}:searchAllResources",
        ("folders", _) => "GET /v1/folders/{folder}:searchAllResources",
        _ => "GET /v1/organizations/{organization}:searchAllResources",
    }
}
