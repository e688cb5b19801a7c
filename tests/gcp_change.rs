//! GCP's write operations for `apply` (`providers::gcp::change`) against the project's
//! GCP test server: grants removed, restored and bounded in time on a project, a
//! service account and a secret (read at version 3, one write with the etag, redone on
//! a stale etag), service-account keys and accounts disabled and enabled, and what each
//! costs in requests.

mod support;

use chrono::{TimeZone, Utc};
use handover::model::{BindingDetail, IamCondition, RoleLevel, TimeBound};
use handover::providers::gcp::change::*;
use handover::providers::gcp::live::GcpSettings;
use serde_json::{json, Value};
use support::*;

const PROJECT: &str = "contoso-shop-prod";
const SA: &str = "deployer@contoso-shop-prod.iam.gserviceaccount.com";
const UNTIL_2027: &str = "request.time < timestamp(\"2027-01-31T00:00:00Z\")";

fn settings(url: &str) -> GcpSettings {
    GcpSettings {
        endpoint: Some(url.to_string()),
        concurrency: 4,
        max_attempts: 3,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn post(url: &str, path: &str, body: Value) -> Value {
    let (status, body) = http_post_json(url, path, &body.to_string());
    assert!(status.contains(" 200"), "{path}: {status}: {body}");
    json(&body)
}

/// The project, a service account and a secret, each with a policy.
fn seed(url: &str) {
    post(
        url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts"),
        json!({"accountId": "deployer"}),
    );
    post(
        url,
        &format!("/v1/projects/{PROJECT}/secrets?secretId=db-password"),
        json!({"replication": {"automatic": {}}}),
    );
}

fn cond(title: &str, expression: &str) -> Value {
    json!({"title": title, "expression": expression})
}

/// The project policy the removal tests start from: two members of one role, the
/// same member in one role under two conditions that differ only by title, and an
/// audit config.
fn project_policy() -> Value {
    json!({"version": 3, "bindings": [
        {"role": "roles/editor", "members": ["user:alice@northwind-agency.example", "user:bob@contoso.example"]},
        {"role": "roles/secretmanager.secretAccessor", "members": ["user:alice@northwind-agency.example"],
         "condition": cond("adoption", UNTIL_2027)},
        {"role": "roles/secretmanager.secretAccessor", "members": ["user:alice@northwind-agency.example", "user:bob@contoso.example"],
         "condition": {"title": "other", "expression": UNTIL_2027, "description": "kept"}},
        {"role": "roles/viewer", "members": ["user:alice@northwind-agency.example"]}
    ], "auditConfigs": [{"service": "allServices", "auditLogConfigs": [{"logType": "DATA_READ"}]}]})
}

fn set_policy(url: &str, resource: &IamResource, policy: Value) {
    // Only projects hold audit configs.
    let (path, mask) = match resource {
        IamResource::Project { project } => (
            format!("/v1/projects/{project}:setIamPolicy"),
            "bindings,auditConfigs",
        ),
        other => (format!("/v1/{}:setIamPolicy", other.name()), "bindings"),
    };
    post(url, &path, json!({"policy": policy, "updateMask": mask}));
}

/// The policy as a version-3 reader sees it (through the v1 Resource Manager route for
/// a project, which the changer does not use, so counts stay apart).
fn get_policy(url: &str, resource: &IamResource) -> Value {
    let v3 = json!({"options": {"requestedPolicyVersion": 3}});
    match resource {
        IamResource::Project { project } => {
            post(url, &format!("/v1/projects/{project}:getIamPolicy"), v3)
        }
        IamResource::Secret { .. } => json(
            &http_get(
                url,
                &format!(
                    "/v1/{}:getIamPolicy?options.requestedPolicyVersion=3",
                    resource.name()
                ),
            )
            .1,
        ),
        IamResource::ServiceAccount { .. } => {
            post(url, &format!("/v1/{}:getIamPolicy", resource.name()), v3)
        }
        IamResource::Folder { .. } | IamResource::Organization { .. } => {
            post(url, &format!("/v3/{}:getIamPolicy", resource.name()), v3)
        }
    }
}

fn bindings(policy: &Value) -> Vec<Value> {
    let mut b: Vec<Value> = policy["bindings"].as_array().cloned().unwrap_or_default();
    b.sort_by_key(|b| b.to_string());
    b
}

fn grant(member: &str, role: &str, condition: Option<(&str, &str)>) -> Grant {
    Grant {
        member: member.into(),
        role: role.into(),
        condition: condition.map(|(t, e)| GrantCondition {
            title: Some(t.into()),
            expression: e.into(),
            description: None,
        }),
    }
}

fn project() -> IamResource {
    IamResource::Project {
        project: PROJECT.into(),
    }
}

/// The counts of the changer's get and set routes for `resource`.
fn policy_requests(server: &gcp_test_server::ServerHandle, resource: &IamResource) -> (u64, u64) {
    let c = server.request_counts();
    let (get, set) = match resource {
        IamResource::Project { .. } => (
            "POST /v3/projects/{project}:getIamPolicy",
            "POST /v3/projects/{project}:setIamPolicy",
        ),
        IamResource::ServiceAccount { .. } => (
            "POST /v1/projects/{project}/serviceAccounts/{account}:getIamPolicy",
            "POST /v1/projects/{project}/serviceAccounts/{account}:setIamPolicy",
        ),
        IamResource::Secret { .. } => (
            "GET /v1/projects/{project}/secrets/{secret}:getIamPolicy",
            "POST /v1/projects/{project}/secrets/{secret}:setIamPolicy",
        ),
        IamResource::Folder { .. } => (
            "POST /v3/folders/{folder}:getIamPolicy",
            "POST /v3/folders/{folder}:setIamPolicy",
        ),
        IamResource::Organization { .. } => (
            "POST /v3/organizations/{organization}:getIamPolicy",
            "POST /v3/organizations/{organization}:setIamPolicy",
        ),
    };
    (c.route(get), c.route(set))
}

#[test]
fn connect_and_resource_names_are_checked_before_any_request() {
    let server = gcp_server();
    let rt = rt();
    assert!(rt
        .block_on(GcpChanger::connect("Bad/Project", &settings(&server.url())))
        .is_err());
    let changer = rt
        .block_on(GcpChanger::connect(PROJECT, &settings(&server.url())))
        .unwrap();
    assert_eq!(changer.project(), PROJECT);
    for bad in [
        "projects/contoso-shop-prod/secrets/../../x",
        "projects/contoso-shop-prod/secrets/a?b",
        "projects/contoso-shop-prod/serviceAccounts/no-at-sign",
        "projects/contoso-shop-prod/topics/t",
        "projects/",
        "",
    ] {
        let err = IamResource::parse(bad).expect_err(bad);
        assert!(!err.hint().is_empty());
    }
    // A resource of another project is refused, with no request sent.
    let other = IamResource::parse("projects/someone-else").unwrap();
    let before = server.request_counts().total;
    let err = rt.block_on(changer.remove_grants(&other, &[])).unwrap_err();
    assert!(err.to_string().contains("projects/someone-else"), "{err}");
    assert!(rt.block_on(changer.key_state(SA, "../../x")).is_err());
    assert_eq!(server.request_counts().total, before);
}

/// Removes exactly the named grants from each kind of resource, in one read and one
/// write each; restoring them gives back the policy it started from.
#[test]
fn remove_grants_touches_only_the_named_grants_in_one_write_and_restores() {
    let server = gcp_server();
    let url = server.url();
    seed(&url);
    let rt = rt();
    let changer = rt
        .block_on(GcpChanger::connect(PROJECT, &settings(&url)))
        .unwrap();
    let alice = "user:alice@northwind-agency.example";
    let sa = IamResource::parse(&format!("projects/{PROJECT}/serviceAccounts/{SA}")).unwrap();
    let secret = IamResource::parse(&format!("projects/{PROJECT}/secrets/db-password")).unwrap();
    set_policy(&url, &project(), project_policy());
    let sa_policy = json!({"version": 3, "bindings": [
        {"role": "roles/iam.serviceAccountUser", "members": [alice, "user:bob@contoso.example"]},
        {"role": "roles/iam.serviceAccountTokenCreator", "members": [alice], "condition": cond("adoption", UNTIL_2027)}]});
    set_policy(&url, &sa, sa_policy);
    let secret_policy = json!({"version": 3, "bindings": [
        {"role": "roles/secretmanager.secretAccessor", "members": [alice], "condition": cond("adoption", UNTIL_2027)},
        {"role": "roles/secretmanager.secretAccessor", "members": [alice]}]});
    set_policy(&url, &secret, secret_policy);

    let accessor = "roles/secretmanager.secretAccessor";
    let cases = [
        (
            project(),
            vec![
                grant(alice, "roles/editor", None),
                grant(alice, accessor, Some(("adoption", UNTIL_2027))),
                grant("user:carol@example.com", "roles/viewer", None),
            ],
        ),
        (
            sa.clone(),
            vec![grant(alice, "roles/iam.serviceAccountUser", None)],
        ),
        (
            secret.clone(),
            vec![grant(alice, accessor, Some(("adoption", UNTIL_2027)))],
        ),
    ];
    for (resource, grants) in &cases {
        let before = get_policy(&url, resource);
        let counts = policy_requests(&server, resource);
        let change = rt
            .block_on(changer.remove_grants(resource, grants))
            .unwrap();
        assert_eq!(
            policy_requests(&server, resource),
            (counts.0 + 1, counts.1 + 1),
            "{}: one read and one write",
            resource.name()
        );
        let after = get_policy(&url, resource);
        let expected_absent: Vec<Grant> = grants
            .iter()
            .filter(|g| g.member != alice)
            .cloned()
            .collect();
        assert_eq!(change.already_absent, expected_absent);
        assert_eq!(change.removed.len(), grants.len() - expected_absent.len());
        // Nothing else moved: every other binding, member and condition is as it was.
        let mut kept = bindings(&before);
        for b in kept.iter_mut() {
            let removed_here = change.removed.iter().any(|g| {
                g.role == b["role"]
                    && g.condition.as_ref().map(|c| c.title.as_deref())
                        == b.get("condition").map(|c| c["title"].as_str())
            });
            if removed_here {
                b["members"].as_array_mut().unwrap().retain(|m| m != alice);
            }
        }
        kept.retain(|b| !b["members"].as_array().unwrap().is_empty());
        kept.sort_by_key(|b| b.to_string());
        assert_eq!(bindings(&after), kept, "{}", resource.name());
        assert_eq!(after["auditConfigs"], before["auditConfigs"]);

        // Undo: the removed grants come back as they were, in one write.
        let undo = rt
            .block_on(changer.restore_grants(resource, &change.removed))
            .unwrap();
        assert_eq!(undo.added, change.removed);
        assert_eq!(bindings(&get_policy(&url, resource)), bindings(&before));
        // Again: already done, nothing written.
        let counts = policy_requests(&server, resource);
        let again = rt
            .block_on(changer.remove_grants(resource, grants))
            .unwrap();
        assert!(!again.already_done());
        let none = rt
            .block_on(changer.remove_grants(resource, grants))
            .unwrap();
        assert!(none.already_done());
        assert_eq!(none.already_absent.len(), grants.len());
        assert_eq!(
            policy_requests(&server, resource),
            (counts.0 + 2, counts.1 + 1)
        );
    }
}

/// Regression: a write refused for a stale etag (409 ABORTED) must be redone from a
/// fresh read, keeping the other writer's change (Google: "retry the whole
/// read-modify-write").
#[test]
fn a_stale_etag_is_redone_from_a_fresh_read_keeping_the_other_writers_change() {
    let server = gcp_server();
    let url = server.url();
    set_policy(&url, &project(), project_policy());
    // A proxy that, before forwarding the first setIamPolicy, lets another writer
    // change the policy, so the changer's etag is stale.
    let proxy = twisting_proxy(&url, Twist::Race, set_iam_policy);
    let rt = rt();
    let changer = rt
        .block_on(GcpChanger::connect(PROJECT, &settings(&proxy)))
        .unwrap();
    let alice = "user:alice@northwind-agency.example";
    let change = rt
        .block_on(changer.remove_grants(&project(), &[grant(alice, "roles/viewer", None)]))
        .unwrap();
    assert_eq!(change.removed.len(), 1);
    let after = get_policy(&url, &project());
    let viewer = bindings(&after)
        .into_iter()
        .find(|b| b["role"] == "roles/viewer")
        .expect("the other writer's member is kept");
    assert_eq!(viewer["members"], json!(["user:dave@contoso.example"]));
    assert_eq!(policy_requests(&server, &project()), (2, 2));
}

/// What the proxy does to the first request its matcher picks.
#[derive(Clone, Copy, PartialEq)]
enum Twist {
    /// Before forwarding it, another writer adds `user:dave@contoso.example` as a
    /// viewer through the v1 route, so its etag is stale.
    Race,
    /// It is served, then the connection is closed without the answer.
    LoseAnswer,
}

/// A loopback proxy to `upstream`, one request per connection, that twists the first
/// request whose request line `pick` accepts.
fn twisting_proxy(upstream: &str, twist: Twist, pick: fn(&str) -> bool) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.to_string();
    std::thread::spawn(move || {
        let mut raced = false;
        for stream in listener.incoming().take(50) {
            let Ok(mut client) = stream else { continue };
            let mut reader = BufReader::new(client.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("connection:") {
                    continue;
                }
                if line == "\r\n" {
                    head.push_str("Connection: close\r\n\r\n");
                    break;
                }
                head.push_str(&line);
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let first_write = !raced && pick(head.lines().next().unwrap_or(""));
            if first_write && twist == Twist::Race {
                let mut p = post(
                    &upstream,
                    &format!("/v1/projects/{PROJECT}:getIamPolicy"),
                    json!({"options": {"requestedPolicyVersion": 3}}),
                );
                let b = p["bindings"].as_array_mut().unwrap();
                b.push(json!({"role": "roles/viewer", "members": ["user:dave@contoso.example"]}));
                post(
                    &upstream,
                    &format!("/v1/projects/{PROJECT}:setIamPolicy"),
                    json!({"policy": p}),
                );
            }
            let addr = upstream.trim_start_matches("http://");
            let mut up = std::net::TcpStream::connect(addr).unwrap();
            up.write_all(head.as_bytes()).unwrap();
            up.write_all(&body).unwrap();
            let mut answer = Vec::new();
            let _ = up.read_to_end(&mut answer);
            if first_write {
                raced = true;
                if twist == Twist::LoseAnswer {
                    continue;
                }
            }
            let _ = client.write_all(&answer);
        }
    });
    url
}

/// Regression: a write that landed but whose answer was lost is redone from a fresh
/// read, which finds nothing left to do: no second write, and the grants are reported
/// removed (so undo restores them), not "already absent".
#[test]
fn a_write_whose_answer_is_lost_is_not_repeated_and_counts_as_removed() {
    let server = gcp_server();
    let url = server.url();
    set_policy(&url, &project(), project_policy());
    let proxy = twisting_proxy(&url, Twist::LoseAnswer, set_iam_policy);
    let rt = rt();
    let changer = rt
        .block_on(GcpChanger::connect(PROJECT, &settings(&proxy)))
        .unwrap();
    let grants = [grant(
        "user:alice@northwind-agency.example",
        "roles/editor",
        None,
    )];
    let change = rt
        .block_on(changer.remove_grants(&project(), &grants))
        .unwrap();
    assert_eq!(change.removed, grants);
    assert!(change.already_absent.is_empty());
    assert_eq!(policy_requests(&server, &project()), (2, 1));
}

fn set_iam_policy(line: &str) -> bool {
    line.contains(":setIamPolicy")
}

fn create_key(line: &str) -> bool {
    let path = line.split(' ').nth(1).unwrap_or("");
    line.starts_with("POST ") && path.split('?').next().unwrap_or("").ends_with("/keys")
}

/// A replacement key comes back with its credentials file wrapped (never in `Debug`);
/// a creation whose answer was lost leaves no orphan key behind.
#[test]
fn create_key_wraps_the_material_and_deletes_a_key_whose_answer_was_lost() {
    let server = gcp_server();
    let url = server.url();
    seed(&url);
    let rt = rt();
    let changer = rt
        .block_on(GcpChanger::connect(PROJECT, &settings(&url)))
        .unwrap();
    let first = rt.block_on(changer.create_key(SA)).unwrap();
    let file: Value = serde_json::from_slice(first.material.expose()).unwrap();
    assert_eq!(file["private_key_id"], first.key_id.as_str());
    let private = file["private_key"].as_str().unwrap();
    let shown = format!("{first:?}");
    assert!(
        shown.contains(&first.key_id) && !shown.contains(private) && !shown.contains("PRIVATE"),
        "{shown}"
    );
    assert_eq!(
        rt.block_on(changer.key_state(SA, &first.key_id)).unwrap(),
        KeyState::Enabled
    );

    // The next creation lands but its answer is lost: that key is deleted, and a new
    // one is made and returned.
    let proxy = twisting_proxy(&url, Twist::LoseAnswer, create_key);
    let via_proxy = rt
        .block_on(GcpChanger::connect(PROJECT, &settings(&proxy)))
        .unwrap();
    let second = rt.block_on(via_proxy.create_key(SA)).unwrap();
    let mut keys = rt.block_on(changer.user_keys(SA)).unwrap().unwrap();
    keys.sort();
    let mut expected = vec![first.key_id.clone(), second.key_id.clone()];
    expected.sort();
    assert_eq!(keys, expected, "the orphan is gone");
    let c = server.request_counts();
    assert_eq!(
        c.route("POST /v1/projects/{project}/serviceAccounts/{account}/keys"),
        3
    );
    assert_eq!(
        c.route("DELETE /v1/projects/{project}/serviceAccounts/{account}/keys/{key}"),
        1
    );
    let ghost = "ghost@contoso-shop-prod.iam.gserviceaccount.com";
    assert!(rt.block_on(changer.create_key(ghost)).is_err());
}

/// A target's binding as the plan carries it (the member is given to `Grant::of`
/// separately in these tests, so several members can share one detail).
fn detail(resource: &str, role: &str, condition: Option<IamCondition>) -> BindingDetail {
    BindingDetail {
        member: String::new(),
        resource: resource.into(),
        role: role.into(),
        level: RoleLevel::Other,
        condition,
        reaches: Vec::new(),
    }
}

/// The bounded grant replaces the open one in one write, and the audit's own condition
/// analysis decides it ends at the date; undo puts the open grant back.
#[test]
fn bound_grant_ends_at_the_date_as_the_audit_decides_it() {
    let server = gcp_server();
    let url = server.url();
    set_policy(&url, &project(), project_policy());
    let rt = rt();
    let changer = rt
        .block_on(GcpChanger::connect(PROJECT, &settings(&url)))
        .unwrap();
    let bob = "user:bob@contoso.example";
    let open = Grant::of(
        bob,
        &detail(
            &format!("projects/{PROJECT}"),
            "roles/iam.securityReviewer",
            None,
        ),
    );
    // bob has no such grant: nothing is added (drift), nothing written.
    let until = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
    let missing = rt
        .block_on(changer.bound_grant(&project(), &open, until, "northwind-to-contoso"))
        .unwrap();
    assert_eq!(missing.outcome, Outcome::Missing);
    assert_eq!(policy_requests(&server, &project()), (1, 0));

    let open = grant(bob, "roles/editor", None);
    let err = rt
        .block_on(changer.bound_grant(&project(), &open, until, "northwind-to-contoso"))
        .unwrap_err();
    assert!(err.to_string().contains("basic roles"), "{err}");

    let before = get_policy(&url, &project());
    let accessor = "roles/secretmanager.secretAccessor";
    let mut p = before.clone();
    p["bindings"].as_array_mut().unwrap().push(json!({"role": "roles/iam.securityReviewer", "members": [bob, "user:erin@contoso.example"]}));
    set_policy(&url, &project(), p);
    let before = get_policy(&url, &project());
    let open = grant(bob, "roles/iam.securityReviewer", None);
    let counts = policy_requests(&server, &project());
    let bound = rt
        .block_on(changer.bound_grant(&project(), &open, until, "northwind-to-contoso"))
        .unwrap();
    assert_eq!(
        policy_requests(&server, &project()),
        (counts.0 + 1, counts.1 + 1)
    );
    assert_eq!(bound.outcome, Outcome::Changed);
    assert_eq!(bound.previous.as_ref(), Some(&open));
    let after = get_policy(&url, &project());
    let b = bindings(&after);
    let reviewer: Vec<&Value> = b
        .iter()
        .filter(|b| b["role"] == "roles/iam.securityReviewer")
        .collect();
    assert_eq!(reviewer.len(), 2, "{reviewer:?}");
    let conditional = reviewer
        .iter()
        .find(|b| b.get("condition").is_some())
        .unwrap();
    assert_eq!(conditional["members"], json!([bob]));
    let expression = conditional["condition"]["expression"].as_str().unwrap();
    assert_eq!(
        expression,
        "request.time < timestamp(\"2027-03-01T00:00:00Z\")"
    );
    assert!(conditional["condition"]["title"]
        .as_str()
        .unwrap()
        .contains("northwind-to-contoso"));
    // The audit's own analysis decides the written condition ends at the date.
    assert_eq!(
        handover::providers::gcp::condition::time_bound(expression),
        TimeBound::before(until)
    );
    // Erin and every other binding are untouched.
    let open_left = reviewer
        .iter()
        .find(|b| b.get("condition").is_none())
        .unwrap();
    assert_eq!(open_left["members"], json!(["user:erin@contoso.example"]));
    assert_eq!(b.iter().filter(|b| b["role"] == accessor).count(), 2);

    // Again: already done, no write.
    let again = rt
        .block_on(changer.bound_grant(&project(), &open, until, "northwind-to-contoso"))
        .unwrap();
    assert_eq!(again.outcome, Outcome::AlreadyDone);
    // A grant under a condition keeps it, joined with the end date.
    let conditioned = grant(
        "user:alice@northwind-agency.example",
        accessor,
        Some(("other", UNTIL_2027)),
    );
    let both = rt
        .block_on(changer.bound_grant(&project(), &conditioned, until, "northwind-to-contoso"))
        .unwrap();
    assert_eq!(both.outcome, Outcome::Changed);
    let expr = &both.bounded.condition.as_ref().unwrap().expression;
    assert_eq!(
        handover::providers::gcp::condition::time_bound(expr),
        TimeBound::before(Utc.with_ymd_and_hms(2027, 1, 31, 0, 0, 0).unwrap()),
        "the earlier end closes first"
    );
    // Undo: the open grants come back exactly (description included).
    for done in [bound, both] {
        rt.block_on(changer.replace_grants(
            &project(),
            std::slice::from_ref(&done.bounded),
            &[done.previous.clone().unwrap()],
        ))
        .unwrap();
    }
    assert_eq!(bindings(&get_policy(&url, &project())), bindings(&before));
}

/// Keys and accounts: each change reads first, writes only when needed, and says when
/// the target is gone.
#[test]
fn keys_and_accounts_are_disabled_enabled_and_deleted_idempotently() {
    let server = gcp_server();
    let url = server.url();
    seed(&url);
    let key = post(
        &url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts/{SA}/keys"),
        json!({}),
    );
    let key_id = key["name"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let rt = rt();
    let changer = rt
        .block_on(GcpChanger::connect(PROJECT, &settings(&url)))
        .unwrap();
    let writes = |server: &gcp_test_server::ServerHandle| {
        let c = server.request_counts();
        c.by_route
            .iter()
            .filter(|(k, _)| {
                k.starts_with("POST") && (k.ends_with(":disable") || k.ends_with(":enable"))
                    || k.starts_with("DELETE")
            })
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    assert_eq!(
        rt.block_on(changer.key_state(SA, &key_id)).unwrap(),
        KeyState::Enabled
    );
    assert_eq!(
        rt.block_on(changer.disable_key(SA, &key_id)).unwrap(),
        Outcome::Changed
    );
    assert_eq!(
        rt.block_on(changer.key_state(SA, &key_id)).unwrap(),
        KeyState::Disabled
    );
    let w = writes(&server);
    assert_eq!(
        rt.block_on(changer.disable_key(SA, &key_id)).unwrap(),
        Outcome::AlreadyDone
    );
    assert_eq!(writes(&server), w, "already disabled: no write");
    assert_eq!(
        rt.block_on(changer.enable_key(SA, &key_id)).unwrap(),
        Outcome::Changed
    );
    assert_eq!(
        rt.block_on(changer.key_state(SA, &key_id)).unwrap(),
        KeyState::Enabled
    );
    assert_eq!(
        rt.block_on(changer.enable_key(SA, &key_id)).unwrap(),
        Outcome::AlreadyDone
    );
    assert_eq!(
        rt.block_on(changer.delete_key(SA, &key_id)).unwrap(),
        Outcome::Changed
    );
    assert_eq!(
        rt.block_on(changer.key_state(SA, &key_id)).unwrap(),
        KeyState::Gone
    );
    let w = writes(&server);
    assert_eq!(
        rt.block_on(changer.delete_key(SA, &key_id)).unwrap(),
        Outcome::AlreadyDone
    );
    assert_eq!(
        rt.block_on(changer.disable_key(SA, &key_id)).unwrap(),
        Outcome::Missing
    );
    assert_eq!(
        rt.block_on(changer.enable_key(SA, &key_id)).unwrap(),
        Outcome::Missing
    );
    assert_eq!(writes(&server), w, "gone: no write");

    assert_eq!(
        rt.block_on(changer.account_state(SA)).unwrap(),
        AccountState::Enabled
    );
    assert_eq!(
        rt.block_on(changer.disable_service_account(SA)).unwrap(),
        Outcome::Changed
    );
    assert_eq!(
        rt.block_on(changer.account_state(SA)).unwrap(),
        AccountState::Disabled
    );
    let w = writes(&server);
    assert_eq!(
        rt.block_on(changer.disable_service_account(SA)).unwrap(),
        Outcome::AlreadyDone
    );
    assert_eq!(writes(&server), w);
    assert_eq!(
        rt.block_on(changer.enable_service_account(SA)).unwrap(),
        Outcome::Changed
    );
    assert_eq!(
        rt.block_on(changer.account_state(SA)).unwrap(),
        AccountState::Enabled
    );
    let ghost = "ghost@contoso-shop-prod.iam.gserviceaccount.com";
    assert_eq!(
        rt.block_on(changer.disable_service_account(ghost)).unwrap(),
        Outcome::Missing
    );
}

/// N removals spread over M resources cost exactly M reads and M writes.
#[test]
fn removals_cost_one_read_and_one_write_per_resource() {
    let server = gcp_server();
    let url = server.url();
    let m = 6;
    let per = 5;
    let mut pairs = Vec::new();
    for i in 0..m {
        let id = format!("s{i}");
        post(
            &url,
            &format!("/v1/projects/{PROJECT}/secrets?secretId={id}"),
            json!({"replication": {"automatic": {}}}),
        );
        let members: Vec<String> = (0..per + 2)
            .map(|j| format!("user:u{j}@northwind-agency.example"))
            .collect();
        let resource = IamResource::parse(&format!("projects/{PROJECT}/secrets/{id}")).unwrap();
        set_policy(
            &url,
            &resource,
            json!({"bindings": [{"role": "roles/secretmanager.secretAccessor", "members": members}]}),
        );
        for member in members.iter().take(per) {
            let d = detail(&resource.name(), "roles/secretmanager.secretAccessor", None);
            pairs.push((
                IamResource::parse(&d.resource).unwrap(),
                Grant::of(member, &d),
            ));
        }
    }
    // Interleaved, as a plan orders its steps.
    pairs.sort_by_key(|(_, g)| g.member.clone());
    let rt = rt();
    let changer = rt
        .block_on(GcpChanger::connect(PROJECT, &settings(&url)))
        .unwrap();
    let before = server.request_counts();
    let groups = by_resource(pairs);
    assert_eq!(groups.len(), m);
    let mut removed = 0;
    for (resource, grants) in &groups {
        removed += rt
            .block_on(changer.remove_grants(resource, grants))
            .unwrap()
            .removed
            .len();
    }
    assert_eq!(removed, m * per);
    let after = server.request_counts();
    let get = "GET /v1/projects/{project}/secrets/{secret}:getIamPolicy";
    let set = "POST /v1/projects/{project}/secrets/{secret}:setIamPolicy";
    assert_eq!(after.route(get) - before.route(get), m as u64);
    assert_eq!(after.route(set) - before.route(set), m as u64);
    assert_eq!(after.total - before.total, 2 * m as u64);
}

/// With faults injected (429, 503, dropped connections, and writes served but their
/// answer lost), every change reaches the same end state exactly once: removals are
/// reported as removed (not "already absent" after a lost answer), and nothing else
/// in the policies moves.
#[test]
fn faults_and_lost_answers_reach_the_same_end_state() {
    let server = gcp_server();
    let url = server.url();
    seed(&url);
    let key = post(
        &url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts/{SA}/keys"),
        json!({}),
    );
    let key_id = key["name"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let accessor = "roles/secretmanager.secretAccessor";
    let mut pairs = Vec::new();
    let mut resources = Vec::new();
    for i in 0..4 {
        let id = format!("f{i}");
        post(
            &url,
            &format!("/v1/projects/{PROJECT}/secrets?secretId={id}"),
            json!({"replication": {"automatic": {}}}),
        );
        let resource = IamResource::parse(&format!("projects/{PROJECT}/secrets/{id}")).unwrap();
        set_policy(
            &url,
            &resource,
            json!({"version": 3, "bindings": [
            {"role": accessor, "members": ["user:a@northwind-agency.example", "user:b@northwind-agency.example", "user:keep@contoso.example"]},
            {"role": accessor, "members": ["user:a@northwind-agency.example"], "condition": cond("adoption", UNTIL_2027)}]}),
        );
        for m in [
            "user:a@northwind-agency.example",
            "user:b@northwind-agency.example",
        ] {
            pairs.push((resource.clone(), grant(m, accessor, None)));
        }
        resources.push(resource);
    }
    server
        .set_faults(Some(gcp_test_server::FaultConfig {
            rate: 0.4,
            seed: 5,
            kinds: vec![
                gcp_test_server::FaultKind::TooManyRequests,
                gcp_test_server::FaultKind::Unavailable,
                gcp_test_server::FaultKind::Drop,
                gcp_test_server::FaultKind::DropAfterServe,
            ],
        }))
        .unwrap();
    let rt = rt();
    let mut s = settings(&url);
    s.max_attempts = 10;
    let changer = rt.block_on(GcpChanger::connect(PROJECT, &s)).unwrap();
    for (resource, grants) in by_resource(pairs) {
        let change = rt
            .block_on(changer.remove_grants(&resource, &grants))
            .unwrap();
        assert_eq!(change.removed, grants, "{}", resource.name());
        assert!(change.already_absent.is_empty());
    }
    assert_eq!(
        rt.block_on(changer.disable_key(SA, &key_id)).unwrap(),
        Outcome::Changed
    );
    assert_eq!(
        rt.block_on(changer.disable_service_account(SA)).unwrap(),
        Outcome::Changed
    );
    let faults = http_get(&url, "/_admin/faults").1;
    server.set_faults(None).unwrap();
    let injected = json(&faults);
    assert!(
        injected["injectedByKind"]["drop-after-serve"]
            .as_u64()
            .unwrap_or(0)
            > 0
            && injected["injected"].as_u64().unwrap_or(0) >= 4,
        "the seed must inject lost answers: {injected}"
    );
    for resource in &resources {
        assert_eq!(
            bindings(&get_policy(&url, resource)),
            vec![
                json!({"role": accessor, "members": ["user:a@northwind-agency.example"], "condition": cond("adoption", UNTIL_2027)}),
                json!({"role": accessor, "members": ["user:keep@contoso.example"]}),
            ],
            "{}",
            resource.name()
        );
    }
    assert_eq!(
        rt.block_on(changer.key_state(SA, &key_id)).unwrap(),
        KeyState::Disabled
    );
    assert_eq!(
        rt.block_on(changer.account_state(SA)).unwrap(),
        AccountState::Disabled
    );
}

/// The lock-out check's input: who still holds owner or IAM admin on the project once
/// the planned removals are made (read live; nothing written).
#[test]
fn admins_after_removal_are_read_live_without_writing() {
    let server = gcp_server();
    let url = server.url();
    set_policy(
        &url,
        &project(),
        json!({"version": 3, "bindings": [
        {"role": "roles/owner", "members": ["user:alice@northwind-agency.example", "user:carol@contoso.example"]},
        {"role": "roles/resourcemanager.projectIamAdmin", "members": ["user:dan@northwind-agency.example"],
         "condition": cond("adoption", UNTIL_2027)},
        {"role": "roles/editor", "members": ["user:bob@contoso.example"]}]}),
    );
    let rt = rt();
    let changer = rt
        .block_on(GcpChanger::connect(PROJECT, &settings(&url)))
        .unwrap();
    let alice = grant("user:alice@northwind-agency.example", "roles/owner", None);
    let carol = grant("user:carol@contoso.example", "roles/owner", None);
    let left = rt
        .block_on(changer.admins_after(std::slice::from_ref(&alice)))
        .unwrap();
    assert_eq!(
        left,
        vec![carol.clone()],
        "conditional admins and editors do not count"
    );
    let none = rt.block_on(changer.admins_after(&[alice, carol])).unwrap();
    assert!(none.is_empty());
    assert_eq!(policy_requests(&server, &project()), (2, 0));
}
