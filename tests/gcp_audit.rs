//! The GCP audit against the project's GCP test server: what it finds in the seeded
//! project (seeded with Google's Python clients), live versus gcloud snapshot
//! equivalence, canaries, faults, and failures.

mod support;

use serde_json::Value;
use support::*;

const PROJECT: &str = "contoso-shop-prod";

fn live(url: &str, home: &std::path::Path, extra: &[&str]) -> Run {
    run(handover_offline(home)
        .args([
            "audit",
            "--gcp-project",
            PROJECT,
            "--gcp-endpoint",
            url,
            "--format",
            "json",
        ])
        .args(extra))
}

fn item(items: &Value, pred: impl Fn(&Value) -> bool) -> &Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| pred(i))
        .expect("item present")
}

fn all(items: &Value, pred: impl Fn(&Value) -> bool) -> Vec<&Value> {
    items
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| pred(i))
        .collect()
}

#[test]
fn live_gcp_audit_finds_members_keys_and_secrets() {
    let server = gcp_server();
    let ids = seed_gcp(&server.url());
    let home = tempfile::tempdir().unwrap();
    let before = server.request_counts().total;
    let r = live(&server.url(), home.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let spent = server.request_counts().total - before;
    let inv = json(&r.stdout);
    assert_eq!(inv["sources"][0]["provider"], "gcp");
    assert_eq!(inv["gaps"], serde_json::json!([]), "every source was read");

    // Owners are admin-equivalent; editors are not.
    let alice = item(&inv["principals"], |p| {
        p["name"] == "alice@northwind-agency.example"
    });
    assert_eq!(alice["kind"], "gcp-user");
    assert_eq!(alice["admin"]["equivalent"], true);
    let bob = item(&inv["principals"], |p| {
        p["name"] == "bob@northwind-agency.example"
    });
    assert_eq!(bob["admin"]["equivalent"], false);
    assert_eq!(
        item(&inv["principals"], |p| p["name"] == "carol@contoso.example")["admin"]["equivalent"],
        true
    );

    // Every member kind the policy names.
    for kind in [
        "gcp-user",
        "gcp-group",
        "gcp-domain",
        "gcp-service-account",
        "gcp-public",
        "gcp-deleted",
    ] {
        assert!(
            !all(&inv["principals"], |p| p["kind"] == kind).is_empty(),
            "no {kind}"
        );
    }

    // Time-bound access: the condition's end is read out.
    let dan = item(&inv["credentials"], |c| {
        c["id"]
            .as_str()
            .unwrap()
            .contains("user:dan@northwind-agency.example/binding/")
    });
    assert_eq!(
        dan["detail"]["condition"]["ends"],
        serde_json::json!({"state": "until", "at": "2027-01-31T00:00:00Z", "inclusive": false})
    );
    assert_eq!(dan["detail"]["level"], "secret-access");

    // Keys: user-managed (one stale), system-managed listed without findings, disabled account.
    let deployer_old = ids["keys"]["deployer_old"].as_str().unwrap();
    let old_key = item(&inv["credentials"], |c| {
        c["kind"] == "gcp-service-account-key"
            && deployer_old.ends_with(c["identifier"].as_str().unwrap())
    });
    assert_eq!(old_key["detail"]["key_type"], "USER_MANAGED");
    let stale: Vec<&Value> = all(&inv["findings"], |f| f["code"] == "gcp-key-stale");
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0]["subject"], old_key["id"]);
    let system = item(&inv["credentials"], |c| {
        c["detail"]["key_type"] == "SYSTEM_MANAGED"
    });
    assert!(
        all(&inv["findings"], |f| f["subject"] == system["id"]).is_empty(),
        "system keys are not a handover concern"
    );
    let legacy = item(&inv["principals"], |p| {
        p["name"].as_str().unwrap().starts_with("legacy-batch@")
    });
    assert_eq!(legacy["disabled"], true);

    // Who may act as the deployer account.
    let imp: Vec<&Value> = all(&inv["findings"], |f| f["code"] == "gcp-can-impersonate");
    assert!(
        imp.iter().any(|f| f["message"]
            .as_str()
            .unwrap()
            .contains("user:bob@northwind-agency.example can act as")),
        "{imp:?}"
    );
    assert!(imp.iter().any(|f| f["message"]
        .as_str()
        .unwrap()
        .contains("group:ops@northwind-agency.example can act as every service account")));

    // Secrets: versions, rotation, replication, secret-level members. Never a value.
    let db = item(&inv["secrets"], |s| s["name"] == "db-password");
    assert_eq!(db["versions"], 2);
    assert_eq!(db["enabled_versions"], 1);
    assert_eq!(db["tags"]["app"], "shop");
    let signing = item(&inv["secrets"], |s| s["name"] == "payments-signing");
    assert_eq!(signing["rotation"]["enabled"], true);
    assert_eq!(signing["rotation"]["every_days"], 30);
    assert!(signing["replication"]
        .as_str()
        .unwrap()
        .starts_with("user-managed"));
    assert!(signing["expires"].is_string());
    let stripe = item(&inv["secrets"], |s| s["name"] == "stripe-key");
    assert_eq!(
        stripe["iam_members"][0]["member"],
        "user:alice@northwind-agency.example"
    );

    for code in [
        "gcp-public-access",
        "gcp-basic-role",
        "gcp-domain-grant",
        "gcp-deleted-member",
        "gcp-user-managed-key",
        "gcp-secret-member",
    ] {
        assert!(
            !all(&inv["findings"], |f| f["code"] == code).is_empty(),
            "no {code} finding"
        );
    }
    // Requests: one policy, two lists, two calls per service account and per secret,
    // and the lists of API keys, HMAC keys and workload identity pools (issue 17; no
    // pool here, so no provider list).
    assert_eq!(
        spent,
        1 + 2 + 3 * 2 + 3 * 2 + 3,
        "the audit spent {spent} requests"
    );
}

#[test]
fn gcloud_snapshot_gives_the_same_inventory_as_the_live_audit() {
    let server = gcp_server();
    seed_gcp(&server.url());
    let home = tempfile::tempdir().unwrap();
    let r = live(&server.url(), home.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let live = json(&r.stdout);
    let snap_dir = tempfile::tempdir().unwrap();
    export_gcp_snapshot(&server.url(), snap_dir.path(), PROJECT);
    let r = run(handover_offline(home.path())
        .args(["audit", "--format", "json", "--snapshot"])
        .arg(snap_dir.path()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let snap = json(&r.stdout);
    assert_eq!(snap["sources"][0]["mode"], "snapshot");
    for key in ["principals", "credentials", "secrets", "findings", "gaps"] {
        assert_eq!(
            live[key], snap[key],
            "{key} differ between live and gcloud snapshot"
        );
    }
}

#[test]
fn gcp_canary_values_never_appear_in_any_output() {
    let server = gcp_server();
    let ids = seed_gcp(&server.url());
    let canaries: Vec<String> = ids["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(!canaries.is_empty());
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("inv.json");
    let mut texts = Vec::new();
    for format in ["json", "table"] {
        let r = run(handover_offline(home.path())
            .env("RUST_LOG", "trace")
            .args([
                "-vvv",
                "audit",
                "--gcp-project",
                PROJECT,
                "--gcp-endpoint",
                &server.url(),
                "--force",
                "-o",
            ])
            .arg(&out)
            .args(["--format", format]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stderr.contains("TRACE"), "trace logging was not on");
        texts.extend([r.stdout, r.stderr, std::fs::read_to_string(&out).unwrap()]);
    }
    let snap = tempfile::tempdir().unwrap();
    export_gcp_snapshot(&server.url(), snap.path(), PROJECT);
    let mut stack = vec![snap.path().to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let e = e.unwrap().path();
            if e.is_dir() {
                stack.push(e);
            } else {
                texts.push(String::from_utf8_lossy(&std::fs::read(&e).unwrap()).into_owned());
            }
        }
    }
    for t in &texts {
        for c in &canaries {
            assert!(!t.contains(c.as_str()), "canary {c} leaked");
        }
    }
}

#[test]
fn throttling_unavailability_and_dropped_connections_are_retried() {
    let server = gcp_server();
    seed_gcp(&server.url());
    let home = tempfile::tempdir().unwrap();
    let clean = json(&live(&server.url(), home.path(), &[]).stdout);
    server
        .set_faults(Some(gcp_test_server::FaultConfig {
            rate: 0.2,
            seed: 42,
            kinds: vec![
                gcp_test_server::FaultKind::TooManyRequests,
                gcp_test_server::FaultKind::Unavailable,
                gcp_test_server::FaultKind::Drop,
            ],
        }))
        .unwrap();
    let r = live(
        &server.url(),
        home.path(),
        &["--max-attempts", "10", "--concurrency", "1"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let faulty = json(&r.stdout);
    for key in ["principals", "credentials", "secrets", "findings", "gaps"] {
        assert_eq!(clean[key], faulty[key], "{key} differ under faults");
    }
}

#[test]
fn aws_and_gcp_together_give_one_inventory() {
    let moto = moto();
    seed(&moto);
    let server = gcp_server();
    seed_gcp(&server.url());
    let home = tempfile::tempdir().unwrap();
    let r = run(handover(&moto, home.path()).args([
        "audit",
        "--aws",
        "--region",
        "us-east-1",
        "--gcp-project",
        PROJECT,
        "--gcp-endpoint",
        &server.url(),
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = json(&r.stdout);
    let providers: Vec<&str> = inv["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, vec!["aws", "gcp"]);
    assert!(!all(&inv["principals"], |p| p["provider"] == "aws").is_empty());
    assert!(!all(&inv["principals"], |p| p["provider"] == "gcp").is_empty());
}

#[test]
fn permission_denied_is_exit_4_and_unknown_project_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let denied = fixed_answer_server(
        "403 Forbidden",
        r#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#,
    );
    let r = live(&denied, home.path(), &["--max-attempts", "1"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("gcp-audit-role.yaml"), "{}", r.stderr);
    let missing = fixed_answer_server(
        "404 Not Found",
        r#"{"error":{"code":404,"message":"Project not found","status":"NOT_FOUND"}}"#,
    );
    let r = live(&missing, home.path(), &["--max-attempts", "1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not exist or is not visible"),
        "{}",
        r.stderr
    );
}

#[test]
fn unreachable_gcp_endpoint_is_exit_5() {
    let home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = live(
        &format!("http://127.0.0.1:{port}"),
        home.path(),
        &["--max-attempts", "1"],
    );
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("cannot reach"), "{}", r.stderr);
}

#[test]
fn malformed_gcloud_exports_are_exit_3() {
    let home = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    let dir = snap.path().join("gcp").join(PROJECT);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("iam-policy.json"),
        r#"{"bindings":[{"role":"roles/owner","members":["user:a@b.example"]}],"etag":"BwX"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("service-accounts.json"),
        r#"[{"name":"projects/p/serviceAccounts/x","email":"#,
    )
    .unwrap();
    let r = run(handover_offline(home.path())
        .args(["audit", "--format", "json", "--snapshot"])
        .arg(snap.path()));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("service-accounts.json") && r.stderr.contains("truncated"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("gcloud iam service-accounts list"),
        "{}",
        r.stderr
    );

    std::fs::write(dir.join("service-accounts.json"), "[]").unwrap();
    std::fs::write(dir.join("iam-policy.json"), r#"{"bindings": "everyone"}"#).unwrap();
    let r = run(handover_offline(home.path())
        .args(["audit", "--format", "json", "--snapshot"])
        .arg(snap.path()));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("iam-policy.json"), "{}", r.stderr);
}

#[test]
fn bad_gcp_flags_are_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path()).args([
        "audit",
        "--gcp-project",
        "Bad_Project",
        "--gcp-endpoint",
        "localhost:1",
    ]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not a GCP project id") && r.stderr.contains("must be an http"),
        "{}",
        r.stderr
    );
}

/// Regression: per-service-account and per-secret policies were read without asking for
/// version 3, so a conditional binding came back renamed with its condition dropped.
#[test]
fn conditional_bindings_on_service_accounts_and_secrets_keep_role_and_condition() {
    let server = gcp_server();
    seed_gcp(&server.url());
    let cond =
        r#"{"title":"adoption","expression":"request.time < timestamp(\"2027-01-31T00:00:00Z\")"}"#;
    let sa = "deployer@contoso-shop-prod.iam.gserviceaccount.com";
    let body = format!(
        r#"{{"policy":{{"version":3,"bindings":[{{"role":"roles/iam.serviceAccountUser","members":["user:eve@northwind-agency.example"],"condition":{cond}}}]}}}}"#
    );
    let (status, resp) = http_post_json(
        &server.url(),
        &format!("/v1/projects/{PROJECT}/serviceAccounts/{sa}:setIamPolicy"),
        &body,
    );
    assert!(status.contains("200"), "{status} {resp}");
    let body = format!(
        r#"{{"policy":{{"version":3,"bindings":[{{"role":"roles/secretmanager.secretAccessor","members":["user:eve@northwind-agency.example"],"condition":{cond}}}]}}}}"#
    );
    let (status, resp) = http_post_json(
        &server.url(),
        &format!("/v1/projects/{PROJECT}/secrets/db-password:setIamPolicy"),
        &body,
    );
    assert!(status.contains("200"), "{status} {resp}");
    let home = tempfile::tempdir().unwrap();
    let r = live(&server.url(), home.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = json(&r.stdout);
    let eve: Vec<&Value> = all(&inv["credentials"], |c| {
        c["principal"]
            .as_str()
            .unwrap()
            .ends_with("user:eve@northwind-agency.example")
    });
    assert_eq!(eve.len(), 2, "{eve:?}");
    for c in &eve {
        assert!(
            !c["detail"]["role"].as_str().unwrap().contains("_withcond_"),
            "{c}"
        );
        assert_eq!(
            c["detail"]["condition"]["ends"]["at"], "2027-01-31T00:00:00Z",
            "{c}"
        );
    }
    assert!(
        all(&inv["findings"], |f| f["code"] == "gcp-can-impersonate")
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("eve@"))
    );
}

/// `policies/permissions/gcp-audit-role.yaml` is all the live audit needs: under the
/// GCP test server's IAM enforcement, an auditor holding only that custom role reads the
/// same inventory as an unrestricted read; a caller without it is refused with exit 4.
#[test]
fn the_audit_role_is_enough_under_iam_enforcement() {
    let server = gcp_server();
    let url = server.url();
    seed_gcp(&url);
    let auditor = "serviceAccount:auditor@contoso-shop-prod.iam.gserviceaccount.com";
    let role = format!("projects/{PROJECT}/roles/handoverAudit");
    // As a customer sets it up: the account, then the role from the repository's YAML through IAM
    // `projects.roles.create` (what `gcloud iam roles create --project P --file
    // policies/permissions/gcp-audit-role.yaml` sends), then the binding.
    let (st, body) = http_post_json(
        &url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts"),
        r#"{"accountId":"auditor"}"#,
    );
    assert!(st.contains("200"), "{st} {body}");
    let yaml: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(repo().join("policies/permissions/gcp-audit-role.yaml")).unwrap(),
    )
    .unwrap();
    let definition = serde_json::json!({"roleId": "handoverAudit", "role": {"title": yaml["title"].as_str(), "description": yaml["description"].as_str(), "stage": yaml["stage"].as_str(), "includedPermissions": serde_json::to_value(&yaml["includedPermissions"]).unwrap()}});
    let (st, body) = http_post_json(
        &url,
        &format!("/v1/projects/{PROJECT}/roles"),
        &definition.to_string(),
    );
    assert!(st.contains("200"), "{st} {body}");
    let (st, policy) = http_post_json(
        &url,
        &format!("/v1/projects/{PROJECT}:getIamPolicy"),
        r#"{"options":{"requestedPolicyVersion":3}}"#,
    );
    assert!(st.contains("200"), "{st} {policy}");
    let mut policy = json(&policy);
    policy["bindings"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"role": role, "members": [auditor]}));
    let (st, body) = http_post_json(
        &url,
        &format!("/v1/projects/{PROJECT}:setIamPolicy"),
        &serde_json::json!({"policy": policy}).to_string(),
    );
    assert!(st.contains("200"), "{st} {body}");
    let home = tempfile::tempdir().unwrap();
    let open = live(&url, home.path(), &[]);
    assert_eq!(open.code, 0, "{}", open.stderr);

    // Enforcement is told who holds which token, nothing about the role.
    let config = serde_json::json!({"tokens": {"audit-token": auditor, "nobody-token": "user:nobody@example.com"}});
    let (st, body) = http_post_json(&url, "/_admin/iam", &config.to_string());
    assert!(st.contains("200"), "{st} {body}");
    let enforced = run(handover_offline(home.path())
        .env("HANDOVER_GCP_ACCESS_TOKEN", "audit-token")
        .args([
            "audit",
            "--gcp-project",
            PROJECT,
            "--gcp-endpoint",
            &url,
            "--format",
            "json",
        ]));
    assert_eq!(enforced.code, 0, "{}", enforced.stderr);
    let (a, b) = (json(&open.stdout), json(&enforced.stdout));
    for part in ["principals", "credentials", "secrets", "findings", "gaps"] {
        assert_eq!(a[part], b[part], "{part} differ under the audit role");
    }
    let r = run(handover_offline(home.path())
        .env("HANDOVER_GCP_ACCESS_TOKEN", "nobody-token")
        .args([
            "audit",
            "--gcp-project",
            PROJECT,
            "--gcp-endpoint",
            &url,
            "--format",
            "json",
        ]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("resourcemanager.projects.getIamPolicy"),
        "{}",
        r.stderr
    );
}
