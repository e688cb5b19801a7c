//! `handover apply` on the GCP test server, through the real binary: the example
//! project is seeded with Google's Python clients, audited and planned under full
//! transfer, then applied. A dry run writes nothing; an applied run removes exactly the
//! planned members (every other member, role, condition and its description kept) and
//! disables the agency-era key; a rerun is all already-done with no write request; a
//! grant whose condition changed since the plan, or a key deleted since, is drift; undo
//! puts every removed grant back as it was and enables the key; no secret value reaches
//! the output or the journal.
//!
//! GCP behaviour asserted here is Google's documented one: a policy with conditions is
//! read with `requestedPolicyVersion: 3` and written back whole with the etag read
//! (<https://cloud.google.com/iam/docs/policies#versions>, "If you use IAM Conditions,
//! you must include the etag field whenever you call setIamPolicy"); a disabled key
//! stays listed with `disabled: true` and `:enable` restores it
//! (<https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts.keys/disable>);
//! a deleted key's `get` answers 404.

mod support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support::*;

const PROJECT: &str = "contoso-shop-prod";
const UNTIL_2027: &str = "request.time < timestamp(\"2027-01-31T00:00:00Z\")";

/// The handover config: `scenario` is a line such as `scenario = "full-transfer"`.
fn write_config(home: &Path, scenario: &str) -> PathBuf {
    let signer = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
    let p = home.join("handover.toml");
    std::fs::write(
        &p,
        format!(
            r#"{scenario}
handover_date = "2026-11-01"

[agency]
name = "Northwind"
email_domains = ["northwind-agency.example"]
name_patterns = ["*.agency"]
signing_key = "{}"

[customer]
name = "Contoso"
email_domains = ["contoso.example"]
gcp_projects = ["{PROJECT}"]
name_patterns = ["*.customer"]

[recipients]
keys = ["age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3"]
"#,
            signer.trim()
        ),
    )
    .unwrap();
    p
}

fn post(url: &str, path: &str, body: Value) -> Value {
    let (status, body) = http_post_json(url, path, &body.to_string());
    assert!(status.contains(" 200"), "{path}: {status}: {body}");
    json(&body)
}

fn project_policy(url: &str) -> Value {
    post(
        url,
        &format!("/v1/projects/{PROJECT}:getIamPolicy"),
        json!({"options": {"requestedPolicyVersion": 3}}),
    )
}

fn set_project_bindings(url: &str, bindings: Value) {
    post(
        url,
        &format!("/v1/projects/{PROJECT}:setIamPolicy"),
        json!({"policy": {"version": 3, "bindings": bindings}}),
    );
}

/// A policy's bindings, each with its members sorted, sorted: equal for equal policies
/// whatever the order Google returns them in.
fn bindings(policy: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = policy["bindings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut b| {
            let mut m: Vec<String> = b["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect();
            m.sort();
            b["members"] = json!(m);
            b
        })
        .collect();
    out.sort_by_key(|b| b.to_string());
    out
}

/// A plain HTTP/1.0 DELETE to the loopback server (a key deleted by hand).
fn http_delete(base: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(s, "DELETE {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.lines().next().unwrap_or("").to_string();
    (
        status,
        resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
    )
}

fn key_path(seeded: &Value, which: &str) -> String {
    format!("/v1/{}", seeded["keys"][which].as_str().unwrap())
}

/// `disabled`, `enabled` or `gone`.
fn key_state(url: &str, seeded: &Value, which: &str) -> &'static str {
    let (status, body) = http_get(url, &key_path(seeded, which));
    if status.contains(" 404") {
        return "gone";
    }
    assert!(status.contains(" 200"), "{status}: {body}");
    if json(&body)["disabled"] == json!(true) {
        "disabled"
    } else {
        "enabled"
    }
}

/// Requests that change something: IAM policy writes and key or account changes.
fn writes(server: &gcp_test_server::ServerHandle) -> u64 {
    server
        .request_counts()
        .by_route
        .iter()
        .filter(|(route, _)| {
            route.contains(":setIamPolicy")
                || route.ends_with(":disable")
                || route.ends_with(":enable")
                || route.starts_with("DELETE ")
        })
        .map(|(_, n)| n)
        .sum()
}

struct Setup {
    server: gcp_test_server::ServerHandle,
    url: String,
    home: tempfile::TempDir,
    seeded: Value,
    plan: PathBuf,
    config: PathBuf,
    digest: String,
}

/// Seeds the example project, adds a customer member to the agency's conditional
/// binding (so the condition must outlive the agency's removal), audits it and plans it
/// under full transfer.
fn setup() -> Setup {
    setup_as(r#"scenario = "full-transfer""#, "full-transfer")
}

/// The same under `scenario` (config lines) and `policies/POLICY.yaml`.
fn setup_as(scenario: &str, policy_name: &str) -> Setup {
    setup_with(
        scenario,
        &repo().join(format!("policies/{policy_name}.yaml")),
    )
}

/// The same under `scenario` and the policy file `policy`.
fn setup_with(scenario: &str, policy_file: &Path) -> Setup {
    let server = gcp_server();
    let url = server.url();
    let seeded = seed_gcp(&url);
    let mut policy = project_policy(&url);
    for b in policy["bindings"].as_array_mut().unwrap() {
        if b["condition"]["title"] == "adoption period" {
            b["members"]
                .as_array_mut()
                .unwrap()
                .push(json!("user:erin@contoso.example"));
        }
    }
    set_project_bindings(&url, policy["bindings"].clone());
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let config = write_config(h, scenario);
    let inv = h.join("inventory.json");
    let r = run(handover_offline(h)
        .args(["audit", "--gcp-project", PROJECT, "--gcp-endpoint", &url])
        .args(["--format", "json", "-o"])
        .arg(&inv));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = h.join("plan.json");
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(policy_file)
        .arg("--inventory")
        .arg(&inv)
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(&plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let digest = json(&std::fs::read_to_string(&plan).unwrap())["digest"]
        .as_str()
        .unwrap()
        .to_string();
    Setup {
        server,
        url,
        home,
        seeded,
        plan,
        config,
        digest,
    }
}

impl Setup {
    fn handover(&self, args: &[&str]) -> Run {
        run(handover_offline(self.home.path())
            .args(args)
            .args(["--format", "json", "--gcp-endpoint", &self.url])
            .arg("--config")
            .arg(&self.config)
            .arg("--journal")
            .arg(self.journal()))
    }

    fn apply(&self, extra: &[&str]) -> Run {
        let plan = self.plan.to_str().unwrap();
        let mut args = vec!["apply", "--plan", plan];
        args.extend_from_slice(extra);
        self.handover(&args)
    }

    fn apply_approved(&self, extra: &[&str]) -> Run {
        let mut args = vec!["--apply", "--approve", &self.digest];
        args.extend_from_slice(extra);
        self.apply(&args)
    }

    fn journal(&self) -> PathBuf {
        self.home.path().join("apply.jsonl")
    }

    /// No canary value of the seeded project in `texts`, nor in the journal.
    fn assert_no_canary(&self, texts: &[&str]) {
        let journal = std::fs::read_to_string(self.journal()).unwrap_or_default();
        for c in self.seeded["canaries"].as_array().unwrap() {
            let c = c.as_str().unwrap();
            for t in texts.iter().chain([&journal.as_str()]) {
                assert!(!t.contains(c), "a secret value leaked");
            }
        }
    }
}

fn steps(report: &Value) -> &Vec<Value> {
    report["steps"].as_array().unwrap()
}

/// The GCP revocation steps (bindings and keys) of a report.
fn gcp_revocations(report: &Value) -> Vec<&Value> {
    steps(report)
        .iter()
        .filter(|s| s["provider"] == "gcp" && s["action"] == "revoke")
        .collect()
}

/// An applied run of the whole plan ends incomplete (exit 8) only because the plan's
/// rotations are not carried out by apply yet: nothing failed or drifted.
fn assert_incomplete_only_by_rotations(r: &Run) {
    assert_eq!(r.code, 8, "{}\n{}", r.stdout, r.stderr);
    for st in steps(&json(&r.stdout)) {
        if st["outcome"] == "left-for-a-person" {
            assert_eq!(st["action"], "rotate", "{st}");
        }
        assert!(
            st["outcome"] != "failed" && st["outcome"] != "drift",
            "{st}"
        );
    }
}

fn step<'a>(report: &'a Value, target_contains: &str) -> &'a Value {
    steps(report)
        .iter()
        .find(|s| s["target"].as_str().unwrap().contains(target_contains))
        .unwrap_or_else(|| panic!("no step for {target_contains}"))
}

/// The project policy once the plan is carried out: only the customer's members.
fn expected_after() -> Vec<Value> {
    bindings(&json!({"bindings": [
        {"role": "roles/owner", "members": ["user:carol@contoso.example"]},
        {"role": "roles/editor", "members": ["serviceAccount:deployer@contoso-shop-prod.iam.gserviceaccount.com"]},
        {"role": "roles/secretmanager.secretAccessor", "members": ["user:erin@contoso.example"],
         "condition": {"title": "adoption period", "expression": UNTIL_2027,
                       "description": "Northwind keeps read access to secrets until the adoption period ends"}}
    ]}))
}

#[test]
fn dry_run_checks_every_gcp_step_and_writes_nothing() {
    let s = setup();
    let before = project_policy(&s.url);
    let written = writes(&s.server);
    let r = s.apply(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r.stdout);
    let revocations = gcp_revocations(&report);
    assert_eq!(revocations.len(), 11, "{}", r.stdout);
    for st in &revocations {
        assert_eq!(st["outcome"], "would-change", "{st}");
    }
    let owner = step(&report, "roles/owner of alice@");
    assert_eq!(
        owner["calls"],
        json!([
            "cloudresourcemanager.projects.getIamPolicy",
            "cloudresourcemanager.projects.setIamPolicy"
        ])
    );
    assert_eq!(writes(&s.server), written, "a dry run writes nothing");
    assert_eq!(bindings(&project_policy(&s.url)), bindings(&before));
    assert_eq!(key_state(&s.url, &s.seeded, "deployer_old"), "enabled");
    assert!(!s.journal().exists(), "a dry run opens no journal");
    s.assert_no_canary(&[&r.stdout, &r.stderr]);
}

#[test]
fn applied_run_removes_exactly_the_planned_members_then_rerun_and_undo() {
    let s = setup();
    let before = project_policy(&s.url);
    let c0 = s.server.request_counts();
    let r = s.apply_approved(&[]);
    assert_incomplete_only_by_rotations(&r);
    let report = json(&r.stdout);
    for st in gcp_revocations(&report) {
        assert_eq!(st["outcome"], "done", "{st}");
    }
    assert_eq!(bindings(&project_policy(&s.url)), expected_after());
    // The removals of one phase from one policy are one write: the project's policy is
    // written once in the revoke phase and once in revoke-admin, the service account's once.
    let c = s.server.request_counts();
    let sets = |route: &str| c.route(route) - c0.route(route);
    assert_eq!(sets("POST /v3/projects/{project}:setIamPolicy"), 2);
    assert_eq!(
        sets("POST /v1/projects/{project}/serviceAccounts/{account}:setIamPolicy"),
        1
    );
    // Each policy is read once per phase (the checks share one read, and the merged
    // write starts from it, its etag guarding against a change since): the project's in
    // revoke, and in revoke-admin once for the no-lock-out check and once for the steps.
    assert_eq!(
        sets("POST /v1/projects/{project}/serviceAccounts/{account}:getIamPolicy"),
        1
    );
    assert_eq!(
        sets("GET /v1/projects/{project}/secrets/{secret}:getIamPolicy"),
        1
    );
    assert_eq!(sets("POST /v3/projects/{project}:getIamPolicy"), 3);
    // The service account's and the secret's policies lose the agency's members.
    let deployer = format!(
        "/v1/projects/{PROJECT}/serviceAccounts/{}:getIamPolicy",
        s.seeded["service_accounts"]["deployer"].as_str().unwrap()
    );
    let sa_policy = post(&s.url, &deployer, json!({}));
    assert!(
        !sa_policy.to_string().contains("northwind-agency"),
        "{sa_policy}"
    );
    let (_, secret) = http_get(
        &s.url,
        &format!("/v1/projects/{PROJECT}/secrets/stripe-key:getIamPolicy"),
    );
    assert!(!secret.contains("alice@northwind-agency"), "{secret}");
    assert_eq!(key_state(&s.url, &s.seeded, "deployer_old"), "disabled");
    assert_eq!(
        key_state(&s.url, &s.seeded, "deployer_new"),
        "enabled",
        "the key the plan rotates is not touched"
    );

    // A rerun: everything already done, nothing written.
    let written = writes(&s.server);
    let r2 = s.apply_approved(&[]);
    assert_incomplete_only_by_rotations(&r2);
    for st in gcp_revocations(&json(&r2.stdout)) {
        assert_eq!(st["outcome"], "already-done", "{st}");
    }
    assert_eq!(writes(&s.server), written, "a rerun writes nothing");

    // Undo: every grant back as it was (conditions and descriptions too), the key
    // enabled, the rotated key's replacement deleted (the 12th change).
    let u = s.handover(&["apply", "--undo"]);
    assert_eq!(u.code, 0, "{}\n{}", u.stdout, u.stderr);
    let undone = json(&u.stdout);
    assert_eq!(undone.as_array().unwrap().len(), 12, "{undone}");
    assert_eq!(bindings(&project_policy(&s.url)), bindings(&before));
    assert_eq!(key_state(&s.url, &s.seeded, "deployer_old"), "enabled");
    let again = s.handover(&["apply", "--undo"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(json(&again.stdout), json!([]), "a second undo does nothing");
    s.assert_no_canary(&[&r.stdout, &r.stderr, &r2.stdout, &u.stdout, &u.stderr]);
}

#[test]
fn a_condition_changed_or_a_key_deleted_since_the_plan_is_drift() {
    let s = setup();
    // Dan now holds the role under another condition; the old key is deleted by hand.
    let mut policy = project_policy(&s.url);
    for b in policy["bindings"].as_array_mut().unwrap() {
        if b["condition"]["title"] == "adoption period" {
            b["members"] = json!(["user:erin@contoso.example"]);
        }
    }
    policy["bindings"].as_array_mut().unwrap().push(json!({
        "role": "roles/secretmanager.secretAccessor",
        "members": ["user:dan@northwind-agency.example"],
        "condition": {"title": "extended", "expression": "request.time < timestamp(\"2028-01-01T00:00:00Z\")"}
    }));
    set_project_bindings(&s.url, policy["bindings"].clone());
    let (status, _) = http_delete(&s.url, &key_path(&s.seeded, "deployer_old"));
    assert!(status.contains(" 200"), "{status}");
    let r = s.apply_approved(&[]);
    assert_eq!(r.code, 8, "drift leaves the run incomplete: {}", r.stderr);
    let report = json(&r.stdout);
    assert_eq!(
        step(&report, "roles/secretmanager.secretAccessor of dan@")["outcome"],
        "drift"
    );
    assert_eq!(step(&report, "bfa07c1ff0f2")["outcome"], "drift");
    let after = project_policy(&s.url);
    assert!(
        bindings(&after)
            .iter()
            .any(|b| b["condition"]["title"] == "extended"
                && b["members"] == json!(["user:dan@northwind-agency.example"])),
        "a drifted grant is left alone: {after}"
    );
}

#[test]
fn delete_now_disables_and_deletes_the_key_and_undo_says_it_cannot() {
    let s = setup();
    let r = s.apply_approved(&["--delete-now"]);
    assert_incomplete_only_by_rotations(&r);
    let report = json(&r.stdout);
    let key = step(&report, "bfa07c1ff0f2");
    assert_eq!(key["outcome"], "done");
    assert_eq!(key["change"], "delete");
    assert_eq!(key_state(&s.url, &s.seeded, "deployer_old"), "gone");
    let u = s.handover(&["apply", "--undo"]);
    assert_eq!(u.code, 8, "{}", u.stderr);
    let undone = json(&u.stdout);
    let key = undone
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["target"].as_str().unwrap().contains("bfa07c1ff0f2"))
        .unwrap();
    assert_eq!(key["outcome"], "left-for-a-person");
    assert!(key["detail"]
        .as_str()
        .unwrap()
        .contains("cannot be restored"));
}

/// `enabled` or `disabled`: a service account's state as Google returns it
/// (`disabled: true` once disabled,
/// <https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/disable>).
fn account_state(url: &str, email: &str) -> &'static str {
    let (status, body) = http_get(
        url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts/{email}"),
    );
    assert!(status.contains(" 200"), "{status}: {body}");
    if json(&body)["disabled"] == json!(true) {
        "disabled"
    } else {
        "enabled"
    }
}

/// `disable: principal` on the rule that revokes the deployer's unused key: the plan
/// says so, the dry run names `iam.serviceAccounts.disable`, an applied run disables the
/// key and then the service account in one step (journaled `disable-account`), a rerun
/// is already done with no write, and undo enables the account and the key again.
#[test]
fn disable_principal_disables_the_service_account_with_its_key_and_undo_enables_both() {
    let full = std::fs::read_to_string(repo().join("policies/full-transfer.yaml")).unwrap();
    let anchor = "    action: revoke\n    severity: medium\n    rationale: A key nobody uses";
    assert!(full.contains(anchor), "the unused-key rule moved");
    let home = tempfile::tempdir().unwrap();
    let policy = home.path().join("disable.yaml");
    std::fs::write(
        &policy,
        full.replace(
            anchor,
            &anchor.replace("revoke\n", "revoke\n    disable: principal\n"),
        ),
    )
    .unwrap();
    let s = setup_with(r#"scenario = "full-transfer""#, &policy);
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let deployer = s.seeded["service_accounts"]["deployer"].as_str().unwrap();
    let planned = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| {
            st["target"]["id"]
                .as_str()
                .unwrap()
                .contains("bfa07c1ff0f2")
        })
        .unwrap();
    assert_eq!(planned["disable"], "principal", "{planned}");

    let dry = s.apply(&[]);
    let key = step(&json(&dry.stdout), "bfa07c1ff0f2").clone();
    assert_eq!(key["change"], "disable-account", "{key}");
    assert!(
        key["calls"]
            .to_string()
            .contains("iam.serviceAccounts.disable"),
        "{key}"
    );
    assert_eq!(
        account_state(&s.url, deployer),
        "enabled",
        "a dry run writes nothing"
    );

    let r = s.apply_approved(&[]);
    let key = step(&json(&r.stdout), "bfa07c1ff0f2").clone();
    assert_eq!(key["outcome"], "done", "{key}\n{}", r.stderr);
    assert_eq!(key_state(&s.url, &s.seeded, "deployer_old"), "disabled");
    assert_eq!(account_state(&s.url, deployer), "disabled");
    let journal = std::fs::read_to_string(s.journal()).unwrap();
    assert!(
        journal.contains("\"disable-account\""),
        "journaled as its own change"
    );

    let written = writes(&s.server);
    let r2 = s.apply_approved(&[]);
    let key = step(&json(&r2.stdout), "bfa07c1ff0f2").clone();
    assert_eq!(key["outcome"], "already-done", "{key}");
    assert_eq!(writes(&s.server), written, "a rerun writes nothing");

    let u = s.handover(&["apply", "--undo"]);
    assert_eq!(u.code, 0, "{}\n{}", u.stdout, u.stderr);
    assert_eq!(account_state(&s.url, deployer), "enabled");
    assert_eq!(key_state(&s.url, &s.seeded, "deployer_old"), "enabled");
    s.assert_no_canary(&[&r.stdout, &r.stderr, &u.stdout, &u.stderr]);
}

/// The no-lock-out check's GCP side: a customer admin counts only while it holds owner
/// (or an IAM-admin role) on the project live, unconditionally, and, for a service
/// account, while the account is enabled.
#[test]
fn admin_alive_finds_only_a_live_unconditional_customer_admin() {
    use handover::apply::gcp::GcpExecutor;
    use handover::providers::gcp::live::GcpSettings;
    let server = gcp_server();
    let url = server.url();
    let seeded = seed_gcp(&url);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let settings = GcpSettings {
        endpoint: Some(url.clone()),
        concurrency: 1,
        max_attempts: 2,
    };
    let exec = rt
        .block_on(GcpExecutor::connect(PROJECT, &settings))
        .unwrap();
    let alive = |names: &[&str]| {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        rt.block_on(exec.admin_alive(&names)).unwrap()
    };
    let carol = "carol@contoso.example";
    assert_eq!(
        alive(&["nobody@contoso.example", carol]).as_deref(),
        Some(carol)
    );
    let deployer = seeded["service_accounts"]["deployer"].as_str().unwrap();
    // carol is now IAM admin only under a condition (Google allows none on owner); the
    // deployer account is made IAM admin.
    set_project_bindings(
        &url,
        json!([
            {"role": "roles/resourcemanager.projectIamAdmin", "members": ["user:carol@contoso.example"],
             "condition": {"title": "t", "expression": UNTIL_2027}},
            {"role": "roles/resourcemanager.projectIamAdmin", "members": [format!("serviceAccount:{deployer}")]}
        ]),
    );
    assert_eq!(alive(&[carol]), None, "a conditional admin does not count");
    assert_eq!(alive(&[deployer]).as_deref(), Some(deployer));
    post(
        &url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts/{deployer}:disable"),
        json!({}),
    );
    assert_eq!(
        alive(&[deployer]),
        None,
        "a disabled service account does not count"
    );
}

/// Retain-until under agency-operated: each grant Google lets carry a condition gets
/// one ending it at `agency_access_ends`, titled for the handover, in place of the open
/// grant; a basic role is left for a person; a grant whose own condition ends earlier is
/// already done; undo puts the open grants back.
#[test]
fn retain_until_bounds_grants_in_time_and_undo_reopens_them() {
    let s = setup_as(
        "scenario = \"agency-operated\"\nagency_access_ends = \"2027-03-31\"",
        "agency-operated",
    );
    let before = project_policy(&s.url);
    let c0 = s.server.request_counts();
    let r = s.apply_approved(&[]);
    assert_eq!(r.code, 8, "basic roles are left for a person: {}", r.stderr);
    let report = json(&r.stdout);
    let ops = step(&report, "roles/iam.serviceAccountTokenCreator of ops@");
    assert_eq!(ops["outcome"], "done", "{ops}");
    assert_eq!(ops["change"], "bound-grant");
    let owner = step(&report, "roles/owner of alice@");
    assert_eq!(owner["outcome"], "left-for-a-person");
    assert!(owner["detail"].as_str().unwrap().contains("basic roles"));
    let dan = step(&report, "roles/secretmanager.secretAccessor of dan@");
    assert_eq!(
        dan["outcome"], "already-done",
        "it ends on 2027-01-31 already"
    );
    let after = bindings(&project_policy(&s.url));
    let bounded = json!({
        "role": "roles/iam.serviceAccountTokenCreator",
        "members": ["group:ops@northwind-agency.example"],
        "condition": {"title": "handover Northwind to Contoso: until 2027-03-31",
                      "expression": "request.time < timestamp(\"2027-03-31T00:00:00Z\")"}
    });
    assert!(after.contains(&bounded), "{after:?}");
    assert!(
        !after
            .iter()
            .any(|b| b["role"] == "roles/iam.serviceAccountTokenCreator"
                && b.get("condition").is_none()),
        "the open grant is gone: {after:?}"
    );
    let (_, secret) = http_get(
        &s.url,
        &format!("/v1/projects/{PROJECT}/secrets/stripe-key:getIamPolicy?options.requestedPolicyVersion=3"),
    );
    assert!(secret.contains("until 2027-03-31"), "{secret}");
    let c1 = s.server.request_counts();
    assert_eq!(
        c1.route("POST /v3/projects/{project}:setIamPolicy")
            - c0.route("POST /v3/projects/{project}:setIamPolicy"),
        2,
        "one write per phase: the bounded grant (time-bound), the public and deleted members (revoke)"
    );
    // A rerun writes nothing; undo reopens every grant as it was.
    let written = writes(&s.server);
    let r2 = s.apply_approved(&[]);
    assert_eq!(r2.code, 8, "{}", r2.stderr);
    assert_eq!(writes(&s.server), written, "a rerun writes nothing");
    let u = s.handover(&["apply", "--undo"]);
    assert_eq!(u.code, 0, "{}\n{}", u.stdout, u.stderr);
    // dan's grant, found already ending in time, was journaled as seen: nothing to undo
    // (and no reason for exit 8).
    assert!(u.stdout.contains("nothing to undo"), "{}", u.stdout);
    assert_eq!(bindings(&project_policy(&s.url)), bindings(&before));
    s.assert_no_canary(&[&r.stdout, &r.stderr, &u.stdout]);
}

/// With 20% of GCP requests failing (429, 503, dropped, or served with the answer
/// lost), reruns of apply reach the same end state as a clean run, and the journal
/// still undoes it exactly: a write whose answer was lost is never made twice in a way
/// that shows (the etag-guarded redo finds it done).
#[test]
fn under_injected_faults_reruns_reach_the_same_end_state_and_undo_still_restores() {
    let s = setup();
    let before = project_policy(&s.url);
    s.server
        .set_faults(Some(gcp_test_server::FaultConfig {
            rate: 0.2,
            // Draws follow the request order: seed 13 injected none once each policy
            // was read once per phase instead of once per step; 7 does.
            seed: 7,
            kinds: vec![
                gcp_test_server::FaultKind::TooManyRequests,
                gcp_test_server::FaultKind::Unavailable,
                gcp_test_server::FaultKind::Drop,
                gcp_test_server::FaultKind::DropAfterServe,
            ],
        }))
        .unwrap();
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(
            runs <= 8,
            "apply did not complete in 8 runs under 20% faults"
        );
        let r = s.apply_approved(&["--max-attempts", "4"]);
        assert!([0, 5, 8].contains(&r.code), "{}\n{}", r.stdout, r.stderr);
        let complete = r.code == 8
            && steps(&json(&r.stdout))
                .iter()
                .all(|st| st["outcome"] != "failed" && st["outcome"] != "drift");
        if complete {
            break;
        }
    }
    let faults = json(&http_get(&s.url, "/_admin/faults").1);
    s.server.set_faults(None).unwrap();
    assert!(faults["injected"].as_u64().unwrap_or(0) > 0, "{faults}");
    assert_eq!(bindings(&project_policy(&s.url)), expected_after());
    assert_eq!(key_state(&s.url, &s.seeded, "deployer_old"), "disabled");
    let u = s.handover(&["apply", "--undo"]);
    assert_eq!(u.code, 0, "{}\n{}", u.stdout, u.stderr);
    assert_eq!(bindings(&project_policy(&s.url)), bindings(&before));
    assert_eq!(key_state(&s.url, &s.seeded, "deployer_old"), "enabled");
}

/// A project that cannot be reached: a dry run says so and marks its steps not checked;
/// an applied run stops before any step, with the cloud's exit code, opening no journal.
#[test]
fn an_unreachable_project_is_a_note_in_a_dry_run_and_stops_an_applied_run() {
    let s = setup();
    let dead = "http://127.0.0.1:9";
    let plan = s.plan.to_str().unwrap();
    let dry = run(handover_offline(s.home.path()).args([
        "apply",
        "--plan",
        plan,
        "--format",
        "json",
        "--max-attempts",
        "1",
        "--gcp-endpoint",
        dead,
    ]));
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let report = json(&dry.stdout);
    assert!(
        report["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("GCP project contoso-shop-prod: not checked live"),
        "{report}"
    );
    for st in gcp_revocations(&report) {
        assert_eq!(st["outcome"], "not-checked", "{st}");
    }
    let applied = run(handover_offline(s.home.path())
        .args(["apply", "--plan", plan, "--apply", "--approve", &s.digest])
        .args(["--max-attempts", "1", "--gcp-endpoint", dead, "--config"])
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal()));
    assert_eq!(applied.code, 5, "{}", applied.stderr);
    assert!(applied.stderr.contains("hint:"), "{}", applied.stderr);
    assert!(
        !s.journal().exists(),
        "no journal is opened before every project is reached"
    );
}
