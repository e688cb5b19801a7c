//! The GCP resource hierarchy through the real binary on the GCP test server:
//! `--gcp-folder` / `--gcp-organization` find the projects below (folders below
//! folders), each folder's and organization's IAM policy is read at version 3, a
//! binding set on a folder is in the inventory once, at the folder, with the projects
//! it reaches, and the plan's lock-out check counts a customer admin bound above the
//! projects. Google documents that "the effective policy for a resource is the union of
//! the policy set at that resource and the policy inherited from its parent"
//! (<https://cloud.google.com/iam/docs/resource-hierarchy-access-control>).

mod support;

use std::path::Path;

use serde_json::{json, Value};
use support::*;

fn post(url: &str, path: &str, body: Value) -> Value {
    let (status, body) = http_post_json(url, path, &body.to_string());
    assert!(status.contains(" 200"), "{path}: {status}: {body}");
    json(&body)
}

/// Organization 10 > folder 20 (agency editors) > folder 30 > shop-prod; folder 20 >
/// shop-dev; organization 10 > other-app (outside folder 20). The customer's admins
/// group owns the organization; no project has an admin of its own.
fn seed_hierarchy(url: &str) {
    post(
        url,
        "/_admin/seed",
        json!({
            "organizations": [{"id": "10", "displayName": "contoso.example"}],
            "folders": [
                {"id": "20", "displayName": "apps", "parent": "organizations/10"},
                {"id": "30", "displayName": "prod", "parent": "folders/20"}
            ],
            "projects": [
                {"projectId": "shop-prod", "parent": "folders/30"},
                {"projectId": "shop-dev", "parent": "folders/20"},
                {"projectId": "other-app", "parent": "organizations/10"}
            ]
        }),
    );
    post(
        url,
        "/v3/folders/20:setIamPolicy",
        json!({"policy": {"version": 3, "bindings": [
            {"role": "roles/editor", "members": ["group:devs@northwind-agency.example"]},
            {"role": "roles/browser", "members": ["user:ann@northwind-agency.example"],
             "condition": {"title": "adoption", "expression": "request.time < timestamp(\"2027-01-31T00:00:00Z\")"}}
        ]}}),
    );
    post(
        url,
        "/v3/organizations/10:setIamPolicy",
        json!({"policy": {"bindings": [
            {"role": "roles/owner", "members": ["group:admins@contoso.example"]}
        ]}}),
    );
    post(
        url,
        "/v1/projects/shop-prod:setIamPolicy",
        json!({"policy": {"bindings": [
            {"role": "roles/viewer", "members": ["user:carol@contoso.example"]}
        ]}}),
    );
}

fn audit(url: &str, home: &Path, scope: &[&str]) -> Value {
    let r = run(handover_offline(home).arg("audit").args(scope).args([
        "--gcp-endpoint",
        url,
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    json(&r.stdout)
}

fn bindings_on<'a>(inv: &'a Value, resource: &str) -> Vec<&'a Value> {
    inv["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["detail"]["resource"] == resource)
        .collect()
}

/// Before `--gcp-folder`, a folder-level grant (the usual way an agency reaches every
/// project of a customer) was not in the inventory at all.
#[test]
fn a_folder_binding_is_audited_once_at_the_folder_with_the_projects_it_reaches() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    let home = tempfile::tempdir().unwrap();
    let inv = audit(&url, home.path(), &["--gcp-folder", "20"]);

    let scopes: Vec<&str> = inv["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scope"].as_str().unwrap())
        .collect();
    for s in [
        "shop-prod",
        "shop-dev",
        "folders/20",
        "folders/30",
        "organizations/10",
    ] {
        assert!(scopes.contains(&s), "{s} not read: {scopes:?}");
    }
    assert!(!scopes.contains(&"other-app"), "outside folder 20");

    let on_folder = bindings_on(&inv, "folders/20");
    let editor: Vec<&&Value> = on_folder
        .iter()
        .filter(|c| c["detail"]["role"] == "roles/editor")
        .collect();
    assert_eq!(editor.len(), 1, "once, at the folder: {on_folder:#?}");
    assert_eq!(editor[0]["scope"], "folders/20");
    assert_eq!(
        editor[0]["detail"]["reaches"],
        json!(["shop-dev", "shop-prod"])
    );
    let everywhere = inv["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["detail"]["member"] == "group:devs@northwind-agency.example")
        .count();
    assert_eq!(everywhere, 1, "not repeated on each project");

    // Conditions are kept (the policy was read at version 3).
    let ann = on_folder
        .iter()
        .find(|c| c["detail"]["role"] == "roles/browser")
        .expect("the conditional binding");
    assert_eq!(ann["detail"]["condition"]["title"], "adoption");
    assert_eq!(ann["detail"]["condition"]["ends"]["state"], "until");

    // The organization's owner binding reaches every audited project and makes its
    // group an admin, at the organization.
    let owner = bindings_on(&inv, "organizations/10");
    assert_eq!(owner.len(), 1);
    assert_eq!(
        owner[0]["detail"]["reaches"],
        json!(["shop-dev", "shop-prod"])
    );
    let admins = inv["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "admins@contoso.example")
        .unwrap();
    assert_eq!(admins["scope"], "organizations/10");
    assert_eq!(admins["admin"]["equivalent"], true);

    // The project's own binding is still there, on the project.
    assert_eq!(bindings_on(&inv, "projects/shop-prod").len(), 1);
    assert_eq!(inv["gaps"], json!([]), "everything was read");
}

#[test]
fn an_organization_walk_finds_every_project_and_bad_ids_are_usage_errors() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    let home = tempfile::tempdir().unwrap();
    let inv = audit(&url, home.path(), &["--gcp-organization", "10"]);
    let owner = bindings_on(&inv, "organizations/10");
    assert_eq!(
        owner[0]["detail"]["reaches"],
        json!(["other-app", "shop-dev", "shop-prod"])
    );
    let r = run(handover_offline(home.path()).args([
        "audit",
        "--gcp-folder",
        "folders/20",
        "--gcp-endpoint",
        &url,
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("numeric id"), "{}", r.stderr);
}

/// The customer config of these tests: the agency is northwind, the customer contoso.
fn write_config(home: &Path) -> std::path::PathBuf {
    let signer = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
    let p = home.join("handover.toml");
    std::fs::write(
        &p,
        format!(
            r#"scenario = "full-transfer"
handover_date = "2026-11-01"

[agency]
name = "Northwind"
email_domains = ["northwind-agency.example"]
signing_key = "{}"

[customer]
name = "Contoso"
email_domains = ["contoso.example"]

[recipients]
keys = ["age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3"]
"#,
            signer.trim()
        ),
    )
    .unwrap();
    p
}

/// The projects have no admin of their own: before inherited admins counted, the plan
/// was refused as a lock-out although the customer owns the organization above them.
#[test]
fn the_lock_out_check_counts_an_organization_owner_and_the_revoke_names_the_folder() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let inv_file = h.join("inventory.json");
    let r = run(handover_offline(h)
        .args(["audit", "--gcp-folder", "20", "--gcp-endpoint", &url])
        .args(["--format", "json", "-o"])
        .arg(&inv_file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config = write_config(h);
    let r = run(handover_offline(h)
        .args([
            "plan",
            "--format",
            "json",
            "--policy",
            "full-transfer",
            "--inventory",
        ])
        .arg(&inv_file)
        .arg("--config")
        .arg(&config));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = json(&r.stdout);
    let kept = &plan["summary"]["customer_admins_after"];
    assert_eq!(
        kept["gcp shop-prod"],
        json!(["admins@contoso.example"]),
        "{kept}"
    );
    assert_eq!(kept["gcp shop-dev"], json!(["admins@contoso.example"]));
    let steps = plan["steps"].as_array().unwrap();
    let revoke = steps
        .iter()
        .find(|s| {
            s["target"]["id"]
                .as_str()
                .is_some_and(|t| t.contains("group:devs@northwind-agency.example"))
        })
        .unwrap_or_else(|| panic!("no step for the folder editor: {plan:#}"));
    assert_eq!(revoke["action"], "revoke", "{revoke:#}");
    assert_eq!(revoke["target"]["scope"], "folders/20", "{revoke:#}");
    assert_eq!(revoke["target"]["binding"]["resource"], "folders/20");
}

/// Audit and plan `--gcp-folder 20` into `home`; the plan file and its digest.
fn planned(url: &str, home: &Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let inv_file = home.join("inventory.json");
    let r = run(handover_offline(home)
        .args(["audit", "--gcp-folder", "20", "--gcp-endpoint", url])
        .args(["--format", "json", "-o"])
        .arg(&inv_file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config = write_config(home);
    let plan = home.join("plan.json");
    let r = run(handover_offline(home)
        .args([
            "plan",
            "--format",
            "json",
            "--policy",
            "full-transfer",
            "--inventory",
        ])
        .arg(&inv_file)
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(&plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let digest = json(&std::fs::read_to_string(&plan).unwrap())["digest"]
        .as_str()
        .unwrap()
        .to_string();
    (plan, config, digest)
}

fn folder_policy(url: &str) -> Value {
    post(
        url,
        "/v3/folders/20:getIamPolicy",
        json!({"options": {"requestedPolicyVersion": 3}}),
    )
}

/// Before the folder was a resource apply could change, the revoke of a folder-level
/// binding failed ("IAM resource name \"folders/20\" is not one GCP accepts").
#[test]
fn apply_removes_a_folder_binding_at_the_folder_and_leaves_the_rest() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (plan, config, digest) = planned(&url, h);
    let before = folder_policy(&url);
    let r = run(handover_offline(h)
        .args(["apply", "--plan"])
        .arg(&plan)
        .args(["--apply", "--approve", &digest])
        .args(["--format", "json", "--gcp-endpoint", &url])
        .arg("--config")
        .arg(&config)
        .arg("--journal")
        .arg(h.join("apply.jsonl")));
    let report = json(&r.stdout);
    let step = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["target"]
                .as_str()
                .is_some_and(|t| t.contains("roles/editor of devs@northwind-agency.example"))
        })
        .unwrap_or_else(|| panic!("no folder step: {report:#}\n{}", r.stderr));
    assert_eq!(step["outcome"], "done", "{step:#}\n{}", r.stderr);
    let after = folder_policy(&url);
    let roles: Vec<String> = after["bindings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|b| b["role"].as_str().unwrap().to_string())
        .collect();
    assert!(!roles.contains(&"roles/editor".to_string()), "{after}");
    assert_ne!(before["etag"], after["etag"], "written with the etag read");
    // The organization's owner binding is untouched.
    let org = post(
        &url,
        "/v3/organizations/10:getIamPolicy",
        json!({"options": {"requestedPolicyVersion": 3}}),
    );
    assert_eq!(
        org["bindings"][0]["members"],
        json!(["group:admins@contoso.example"])
    );
    assert_eq!(
        server
            .request_counts()
            .route("POST /v3/folders/{folder}:setIamPolicy"),
        2,
        "one seed write and one apply write"
    );

    // The customer verifies: the folder binding is gone, read live at the folder; put
    // back, verify fails naming it.
    let sealed = h.join("handover.age");
    let r = run(handover_offline(h)
        .arg("manifest")
        .arg("--config")
        .arg(&config)
        .arg("--plan")
        .arg(&plan)
        .arg("--inventory")
        .arg(h.join("inventory.json"))
        .arg("--journal")
        .arg(h.join("apply.jsonl"))
        .arg("-o")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let verify = || {
        run(handover_offline(h)
            .args([
                "verify",
                "--format",
                "json",
                "--gcp-endpoint",
                &url,
                "--signer",
            ])
            .arg(example_key("northwind-signing.pub"))
            .arg("-i")
            .arg(example_key("contoso-security.agekey"))
            .arg(&sealed))
    };
    let gets = |s: &gcp_test_server::ServerHandle| {
        s.request_counts()
            .route("POST /v3/folders/{folder}:getIamPolicy")
    };
    let reads_before = gets(&server);
    let ok = verify();
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    assert!(
        gets(&server) > reads_before,
        "the folder's policy is read live"
    );
    post(
        &url,
        "/v3/folders/20:setIamPolicy",
        json!({"policy": {"bindings": [
            {"role": "roles/editor", "members": ["group:devs@northwind-agency.example"]}
        ]}}),
    );
    let bad = verify();
    assert_eq!(bad.code, 9, "{}\n{}", bad.stdout, bad.stderr);
    assert!(
        bad.stdout.contains("devs@northwind-agency.example"),
        "{}",
        bad.stdout
    );
}

/// A folder's or organization's scope had no owner the config could give: the plan
/// named every one `scope-owner-unknown`, and `handover init` proposed `folders/20` as
/// a project. Parties now list `gcp_folders` and `gcp_organizations` (issue 17).
#[test]
fn listed_folders_and_organizations_have_owners_and_init_proposes_them() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let inv_file = h.join("inventory.json");
    let r = run(handover_offline(h)
        .args(["audit", "--gcp-folder", "20", "--gcp-endpoint", &url])
        .args(["--format", "json", "-o"])
        .arg(&inv_file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let init = run(handover_offline(h)
        .args(["init", "--inventory"])
        .arg(&inv_file));
    assert_eq!(init.code, 0, "{}", init.stderr);
    assert!(
        init.stdout
            .contains("gcp_projects = [\"shop-dev\", \"shop-prod\"]"),
        "{}",
        init.stdout
    );
    assert!(
        init.stdout.contains("gcp_folders = [\"20\", \"30\"]"),
        "{}",
        init.stdout
    );
    assert!(
        init.stdout.contains("gcp_organizations = [\"10\"]"),
        "{}",
        init.stdout
    );

    let unknown_scopes = |config: &Path| -> Vec<String> {
        let r = run(handover_offline(h)
            .args([
                "plan",
                "--format",
                "json",
                "--policy",
                "full-transfer",
                "--inventory",
            ])
            .arg(&inv_file)
            .arg("--config")
            .arg(config));
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r.stdout)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == "scope-owner-unknown")
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    let config = write_config(h);
    let before = unknown_scopes(&config);
    assert!(
        before.iter().any(|m| m.contains("gcp folders/20")),
        "{before:?}"
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[customer]\n",
        "[customer]\ngcp_projects = [\"shop-prod\", \"shop-dev\"]\ngcp_folders = [\"20\", \"30\"]\ngcp_organizations = [\"10\"]\n",
    );
    std::fs::write(&config, text).unwrap();
    assert_eq!(unknown_scopes(&config), Vec::<String>::new());
}

/// `handover apply` of the plan in `home`, with its own journal `journal`.
fn apply_plan(
    url: &str,
    home: &Path,
    plan: &Path,
    config: &Path,
    digest: &str,
    journal: &str,
) -> Value {
    let r = run(handover_offline(home)
        .args(["apply", "--plan"])
        .arg(plan)
        .args(["--apply", "--approve", digest])
        .args(["--format", "json", "--gcp-endpoint", url])
        .arg("--config")
        .arg(config)
        .arg("--journal")
        .arg(home.join(journal)));
    let report = json(&r.stdout);
    assert!(report["steps"].is_array(), "{}\n{}", r.stdout, r.stderr);
    report
}

fn step_on<'a>(report: &'a Value, target: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"].as_str().is_some_and(|t| t.contains(target)))
        .unwrap_or_else(|| panic!("no step on {target}: {report:#}"))
}

/// Before apply's lock-out check read the project's ancestry, it read the project's own
/// policy alone: the agency's project-level owner binding, whose only remaining customer
/// admin is the organization's owner (inherited), was held for a person although the
/// plan counted that admin.
#[test]
fn apply_counts_an_inherited_customer_admin_and_holds_when_there_is_none() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    post(
        &url,
        "/v1/projects/shop-prod:setIamPolicy",
        json!({"policy": {"bindings": [
            {"role": "roles/viewer", "members": ["user:carol@contoso.example"]},
            {"role": "roles/owner", "members": ["user:ann@northwind-agency.example"]}
        ]}}),
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (plan, config, digest) = planned(&url, h);
    let owner = "roles/owner of ann@northwind-agency.example";
    let project_owner = |url: &str| {
        let p = post(
            url,
            "/v1/projects/shop-prod:getIamPolicy",
            json!({"options": {"requestedPolicyVersion": 3}}),
        );
        p["bindings"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .any(|b| b["role"] == "roles/owner")
    };

    // No customer admin anywhere, live: the organization's owner binding is gone since
    // the plan, so the project-level owner binding is held.
    let org = post(
        &url,
        "/v3/organizations/10:getIamPolicy",
        json!({"options": {"requestedPolicyVersion": 3}}),
    );
    post(
        &url,
        "/v3/organizations/10:setIamPolicy",
        json!({"policy": {"bindings": []}}),
    );
    let held = apply_plan(&url, h, &plan, &config, &digest, "held.jsonl");
    let step = step_on(&held, owner);
    assert_eq!(step["outcome"], "left-for-a-person", "{step:#}");
    assert!(project_owner(&url), "the owner binding is kept");

    // The customer's owner on the organization, inherited by shop-prod: revoked.
    post(
        &url,
        "/v3/organizations/10:setIamPolicy",
        json!({"policy": {"bindings": org["bindings"]}}),
    );
    let gets = |s: &gcp_test_server::ServerHandle| {
        s.request_counts()
            .route("POST /v3/organizations/{organization}:getIamPolicy")
    };
    let before = gets(&server);
    let done = apply_plan(&url, h, &plan, &config, &digest, "done.jsonl");
    let step = step_on(&done, owner);
    assert_eq!(step["outcome"], "done", "{step:#}");
    assert!(
        !project_owner(&url),
        "the agency's owner binding is revoked"
    );
    assert!(
        gets(&server) > before,
        "the organization's policy was read live"
    );
}

/// Two service accounts in shop-prod (one the agency may act as), one in shop-dev.
fn seed_accounts(url: &str) {
    for (project, id) in [
        ("shop-prod", "deployer"),
        ("shop-prod", "nightly-batch"),
        ("shop-dev", "ci-runner"),
    ] {
        post(
            url,
            &format!("/v1/projects/{project}/serviceAccounts"),
            json!({ "accountId": id }),
        );
    }
    post(
        url,
        "/v1/projects/shop-prod/serviceAccounts/deployer@shop-prod.iam.gserviceaccount.com:setIamPolicy",
        json!({"policy": {"bindings": [
            {"role": "roles/iam.serviceAccountUser", "members": ["group:devs@northwind-agency.example"]}
        ]}}),
    );
}

/// The audit role of policies/permissions/gcp-audit-role.yaml (minus `without`), held
/// by `user:auditor@contoso.example` (token `audit-token`) on the organization, both
/// folders and both projects (the test server's enforcement does not model inheritance).
fn enforce_audit_role(url: &str, without: &[&str], bind: bool) {
    let yaml: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(repo().join("policies/permissions/gcp-audit-role.yaml")).unwrap(),
    )
    .unwrap();
    let permissions: Vec<String> = yaml["includedPermissions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .filter(|p| !without.contains(&p.as_str()))
        .collect();
    let member = "user:auditor@contoso.example";
    let grant = |path: &str, read: &str| {
        let mut policy = post(url, read, json!({"options": {"requestedPolicyVersion": 3}}));
        let mut bindings = policy["bindings"].as_array().cloned().unwrap_or_default();
        bindings.push(json!({"role": "roles/handoverAudit", "members": [member]}));
        policy["bindings"] = json!(bindings);
        post(url, path, json!({ "policy": policy }));
    };
    let scopes: &[&str] = if bind {
        &[
            "v3/organizations/10",
            "v3/folders/20",
            "v3/folders/30",
            "v1/projects/shop-prod",
            "v1/projects/shop-dev",
        ]
    } else {
        &[]
    };
    for scope in scopes {
        grant(
            &format!("/{scope}:setIamPolicy"),
            &format!("/{scope}:getIamPolicy"),
        );
    }
    post(
        url,
        "/_admin/iam",
        json!({"tokens": {"audit-token": member}, "roles": {"roles/handoverAudit": permissions}}),
    );
}

fn audited(url: &str, home: &Path, token: Option<&str>) -> Value {
    let mut cmd = handover_offline(home);
    if let Some(t) = token {
        cmd.env("HANDOVER_GCP_ACCESS_TOKEN", t);
    }
    let r = run(cmd.args([
        "audit",
        "--gcp-folder",
        "20",
        "--gcp-endpoint",
        url,
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    json(&r.stdout)
}

const SA_POLICY: &str = "POST /v1/projects/{project}/serviceAccounts/{account}:getIamPolicy";

/// The bulk road (Cloud Asset Inventory) against the per-item one on the same seed,
/// both under the audit role: the same inventory, fewer requests, no per-account or
/// per-folder policy read; without the asset permission the audit falls back and says
/// so in a coverage note on the folder's source.
#[test]
fn the_asset_inventory_reads_policies_in_bulk_and_the_fallback_is_named() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    seed_accounts(&url);
    enforce_audit_role(&url, &[], true);
    let home = tempfile::tempdir().unwrap();
    let count = |route: &str| server.request_counts().route(route);
    let total = || server.request_counts().total;

    const FOLDER_POLICY: &str = "POST /v3/folders/{folder}:getIamPolicy";
    let (t0, sa0, f0) = (total(), count(SA_POLICY), count(FOLDER_POLICY));
    let bulk = audited(&url, home.path(), Some("audit-token"));
    let bulk_requests = total() - t0;
    assert_eq!(count(SA_POLICY) - sa0, 0, "no per-account policy read");
    assert_eq!(
        count(FOLDER_POLICY) - f0,
        0,
        "folders in bulk: {}",
        bulk["sources"]
    );
    assert_eq!(count("GET /v1/folders/{folder}:searchAllIamPolicies"), 1);
    let folder_source = bulk["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scope"] == "folders/20")
        .unwrap();
    assert!(folder_source.get("notes").is_none(), "{folder_source}");

    // Enforcement is on: only the role's definition changes (no authenticated rebinding).
    enforce_audit_role(&url, BOTH_SEARCHES, false);
    let (t1, sa1) = (total(), count(SA_POLICY));
    let per_item = audited(&url, home.path(), Some("audit-token"));
    let per_item_requests = total() - t1;
    assert_eq!(count(SA_POLICY) - sa1, 3, "one per account");
    assert!(
        bulk_requests < per_item_requests,
        "bulk {bulk_requests} vs per item {per_item_requests}"
    );
    let folder_source = per_item["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scope"] == "folders/20")
        .unwrap();
    let note = folder_source["notes"][0].as_str().unwrap_or_default();
    assert!(
        note.contains("Cloud Asset Inventory") && note.contains("per item"),
        "{folder_source}"
    );
    for part in ["principals", "credentials", "findings", "gaps"] {
        assert_eq!(
            bulk[part], per_item[part],
            "{part} differ between the roads"
        );
    }
    let can_act = bulk["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["detail"]["role"] == "roles/iam.serviceAccountUser")
        .count();
    assert_eq!(
        can_act, 1,
        "the account policy read in bulk is in the inventory"
    );
}

const BOTH_SEARCHES: &[&str] = &[
    "cloudasset.assets.searchAllIamPolicies",
    "cloudasset.assets.searchAllResources",
];

/// `n` more service accounts in each project of folder 20 (numbered from `from`), each
/// with a user-managed key (every other one disabled) and an API key (every other one
/// unrestricted), and a secret per account (one version each, every other one readable
/// by the agency): what the audit lists per item without Cloud Asset Inventory.
fn seed_key_bearing(url: &str, from: usize, n: usize) {
    let mut api_keys = Vec::new();
    for project in ["shop-prod", "shop-dev"] {
        for i in from..from + n {
            let sa = post(
                url,
                &format!("/v1/projects/{project}/serviceAccounts"),
                json!({ "accountId": format!("worker-{i:02}") }),
            );
            let key = post(
                url,
                &format!("/v1/{}/keys", sa["name"].as_str().unwrap()),
                json!({}),
            );
            if i % 2 == 1 {
                post(
                    url,
                    &format!("/v1/{}:disable", key["name"].as_str().unwrap()),
                    json!({}),
                );
            }
            let restrictions = if i % 2 == 0 {
                json!({})
            } else {
                json!({"restrictions": {"apiTargets": [{"service": "maps-backend.googleapis.com"}]}})
            };
            let mut key = restrictions;
            key["displayName"] = json!(format!("key-{i:02}"));
            api_keys.push(json!({"project": project, "key": key, "keyString": format!("AIzaCanary{project}{i:02}")}));
            let secret = format!("/v1/projects/{project}/secrets/token-{i:02}");
            post(
                url,
                &format!("/v1/projects/{project}/secrets?secretId=token-{i:02}"),
                json!({"replication": {"automatic": {}}}),
            );
            post(
                url,
                &format!("{secret}:addVersion"),
                json!({"payload": {"data": "c2VjcmV0LXZhbHVl"}}),
            );
            if i % 2 == 0 {
                post(
                    url,
                    &format!("{secret}:setIamPolicy"),
                    json!({"policy": {"bindings": [{"role": "roles/secretmanager.secretAccessor",
                        "members": ["group:devs@northwind-agency.example"]}]}}),
                );
            }
        }
    }
    post(
        url,
        "/_admin/seed",
        json!({"credentials": {"apiKeys": api_keys}}),
    );
}

/// The per-item list routes that Cloud Asset Inventory's `searchAllResources` replaces.
const PER_ITEM_LISTS: &[&str] = &[
    "GET /v1/projects/{project}/serviceAccounts",
    "GET /v1/projects/{project}/serviceAccounts/{account}/keys",
    "GET /v2/projects/{project}/locations/{location}/keys",
    "GET /v1/projects/{project}/secrets",
    "GET /v1/projects/{project}/secrets/{secret}/versions",
    "GET /v1/projects/{project}/secrets/{secret}:getIamPolicy",
];

/// Issue 17's "bulk sources first": with `searchAllResources` allowed, service accounts,
/// their keys, API keys and secrets come from a few pages and none of their per-item
/// lists is called; without it (both asset permissions denied) each is listed per item
/// and a coverage note says so. Both roads give the same principals, credentials,
/// findings and gaps (before, the bulk road did not exist: every key list was per
/// account).
#[test]
fn key_bearing_resources_come_from_the_asset_search_and_match_the_per_item_road() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    seed_accounts(&url);
    seed_key_bearing(&url, 0, 3);
    enforce_audit_role(&url, &[], true);
    let home = tempfile::tempdir().unwrap();
    let count = |route: &str| server.request_counts().route(route);
    let lists = || PER_ITEM_LISTS.iter().map(|r| count(r)).collect::<Vec<_>>();

    let before = lists();
    let bulk = audited(&url, home.path(), Some("audit-token"));
    assert_eq!(
        lists(),
        before,
        "no per-item list with the asset search allowed"
    );
    assert_eq!(count("GET /v1/folders/{folder}:searchAllResources"), 1);
    let folder_source = |inv: &Value| {
        inv["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["scope"] == "folders/20")
            .cloned()
            .unwrap()
    };
    assert!(
        folder_source(&bulk).get("notes").is_none(),
        "{}",
        folder_source(&bulk)
    );

    enforce_audit_role(&url, BOTH_SEARCHES, false);
    let before = lists();
    let per_item = audited(&url, home.path(), Some("audit-token"));
    let grew: Vec<u64> = lists().iter().zip(&before).map(|(a, b)| a - b).collect();
    // 2 projects; 3 + 6 accounts (seed_accounts, seed_key_bearing) with a key list
    // each; 6 secrets with a version list and a policy each.
    assert_eq!(
        grew,
        [2, 9, 2, 2, 6, 6],
        "per-item lists: {PER_ITEM_LISTS:?}"
    );
    let notes = folder_source(&per_item)["notes"].to_string();
    assert!(
        notes.contains("searchAllResources") && notes.contains("per item"),
        "{notes}"
    );
    for part in ["principals", "credentials", "secrets", "findings", "gaps"] {
        assert_eq!(
            bulk[part], per_item[part],
            "{part} differ between the roads"
        );
    }
    // Each search falls back on its own: without searchAllIamPolicies alone, the
    // key-bearing resources still come from searchAllResources.
    enforce_audit_role(&url, &[BOTH_SEARCHES[0]], false);
    let before = lists();
    let mixed = audited(&url, home.path(), Some("audit-token"));
    let grew: Vec<u64> = lists().iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(
        grew,
        [0, 0, 0, 0, 0, 6],
        "only the secret policies per item"
    );
    let notes = folder_source(&mixed)["notes"].to_string();
    assert!(
        notes.contains("searchAllIamPolicies") && !notes.contains("searchAllResources"),
        "{notes}"
    );
    for part in ["principals", "credentials", "secrets", "findings", "gaps"] {
        assert_eq!(bulk[part], mixed[part], "{part} differ between the roads");
    }
    let creds = bulk["credentials"].as_array().unwrap();
    let kinds = |k: &str| creds.iter().filter(|c| c["kind"] == k).count();
    assert_eq!(
        kinds("gcp-service-account-key"),
        6,
        "{}",
        bulk["credentials"]
    );
    assert_eq!(kinds("gcp-api-key"), 6);
    assert_eq!(bulk["secrets"].as_array().unwrap().len(), 6);
    let readers = creds
        .iter()
        .filter(|c| c["detail"]["role"] == "roles/secretmanager.secretAccessor")
        .count();
    assert_eq!(
        readers, 4,
        "secret policies read in bulk are in the inventory"
    );
    assert!(!bulk.to_string().contains("AIzaCanary"), "no key string");
}

/// Issue 17's goal: with the asset inventory, an audit's requests grow with pages, not
/// items. Doubling the accounts, keys, API keys and secrets (with their versions and
/// policies) of a folder leaves the request count unchanged, where the per-item road
/// pays a key list per added account and two reads per added secret.
#[test]
fn doubling_accounts_and_keys_does_not_double_the_requests_with_the_asset_inventory() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    seed_key_bearing(&url, 0, 4);
    // Open reads (no enforcement) while seeding goes on; the per-item road below denies
    // the asset searches.
    let home = tempfile::tempdir().unwrap();
    let total = || server.request_counts().total;
    let measure = |token: Option<&str>| {
        let t = total();
        audited(&url, home.path(), token);
        total() - t
    };
    let small = measure(None);
    seed_key_bearing(&url, 4, 4);
    let large = measure(None);
    assert_eq!(large, small, "bulk: {small} then {large} requests");

    enforce_audit_role(&url, BOTH_SEARCHES, true);
    let per_item = measure(Some("audit-token"));
    // 16 accounts with a key list and a policy each, 16 secrets with two reads each.
    assert!(
        per_item >= large + 64,
        "per item {per_item} vs bulk {large}"
    );
}

/// `export-gcp-snapshot.sh --hierarchy` exports each project's ancestry and the policies
/// above it; `--snapshot` then holds the same folder and organization bindings, with
/// the same reach, as the live walk (before, a snapshot had no inherited access at all).
#[test]
fn a_hierarchy_snapshot_holds_the_same_inherited_bindings_as_the_live_walk() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    let home = tempfile::tempdir().unwrap();
    let live = audit(&url, home.path(), &["--gcp-folder", "20"]);

    let snap = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let endpoint = format!("{}/", url.trim_end_matches('/'));
    let out = std::process::Command::new(repo().join("scripts/export-gcp-snapshot.sh"))
        .arg("--hierarchy")
        .arg(snap.path())
        .args(["shop-prod", "shop-dev"])
        .env("CLOUDSDK_CONFIG", config.path())
        .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER", &endpoint)
        .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", &endpoint)
        .env(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER",
            &endpoint,
        )
        // The export also lists API keys and HMAC keys (issue 17): without these two the
        // snapshot lacks their files and the audit names them as gaps.
        .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_APIKEYS", &endpoint)
        .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", &endpoint)
        .env("CLOUDSDK_AUTH_DISABLE_CREDENTIALS", "true")
        .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = run(handover_offline(home.path())
        .args(["audit", "--format", "json", "--snapshot"])
        .arg(snap.path()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let snapshot = json(&r.stdout);
    let inherited = |inv: &Value| -> Vec<Value> {
        inv["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["scope"].as_str().unwrap().contains('/'))
            .cloned()
            .collect()
    };
    let from_live = inherited(&live);
    assert_eq!(from_live.len(), 3, "editor, browser, owner");
    assert_eq!(inherited(&snapshot), from_live);
    assert_eq!(snapshot["gaps"], json!([]));
}

/// The customer's only admin is a folder IAM admin on folder 20 (it holds
/// `resourcemanager.folders.setIamPolicy`, so it can grant itself anything below:
/// <https://cloud.google.com/iam/docs/roles-permissions/resourcemanager>). Before the
/// folder roles counted as IAM admin, the plan was refused as a lock-out.
#[test]
fn the_lock_out_check_counts_a_folder_iam_admin_above_the_projects() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    post(
        &url,
        "/v3/organizations/10:setIamPolicy",
        json!({"policy": {"bindings": []}}),
    );
    post(
        &url,
        "/v3/folders/20:setIamPolicy",
        json!({"policy": {"version": 3, "bindings": [
            {"role": "roles/editor", "members": ["group:devs@northwind-agency.example"]},
            {"role": "roles/resourcemanager.folderIamAdmin", "members": ["group:admins@contoso.example"]}
        ]}}),
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let inv_file = h.join("inventory.json");
    let r = run(handover_offline(h)
        .args(["audit", "--gcp-folder", "20", "--gcp-endpoint", &url])
        .args(["--format", "json", "-o"])
        .arg(&inv_file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config = write_config(h);
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy", "full-transfer"])
        .arg("--inventory")
        .arg(&inv_file)
        .arg("--config")
        .arg(&config));
    assert_eq!(r.code, 0, "the plan is not a lock-out: {}", r.stderr);
    let plan = json(&r.stdout);
    let kept = &plan["summary"]["customer_admins_after"];
    for p in ["gcp shop-prod", "gcp shop-dev"] {
        assert_eq!(kept[p], json!(["admins@contoso.example"]), "{p}: {kept}");
    }
}

/// Projects of a folder or organization are read side by side (a quarter of
/// `--concurrency` at once) and merged in the order they were listed: the inventory must
/// not depend on how many were in flight, nor on which answered first.
#[test]
fn the_inventory_is_the_same_whether_projects_are_read_one_at_a_time_or_side_by_side() {
    let server = gcp_server();
    let url = server.url();
    seed_hierarchy(&url);
    seed_accounts(&url);
    seed_key_bearing(&url, 0, 3);
    let home = tempfile::tempdir().unwrap();
    let at = |concurrency: &str| {
        let r = run(handover_offline(home.path()).args([
            "audit",
            "--gcp-organization",
            "10",
            "--concurrency",
            concurrency,
            "--gcp-endpoint",
            &url,
            "--format",
            "json",
        ]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r.stdout)
    };
    let one = at("1");
    let side_by_side = at("16");
    let scopes = |inv: &Value| {
        inv["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["scope"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        scopes(&one),
        scopes(&side_by_side),
        "sources in the same order"
    );
    assert!(
        scopes(&one).len() >= 4,
        "the organization, its folders and three projects: {:?}",
        scopes(&one)
    );
    for part in ["principals", "credentials", "secrets", "findings", "gaps"] {
        assert_eq!(one[part], side_by_side[part], "{part} differ");
    }
}
