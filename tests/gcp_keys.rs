//! GCP credentials outside IAM service-account keys (issue 17): API keys, Cloud Storage
//! HMAC keys, workload identity pools and providers, read from the project's GCP test
//! server live and from a gcloud snapshot, planned under the shipped policies, applied,
//! verified and undone. Canaries: the seeded key string and HMAC secret never appear.

mod support;

use serde_json::{json, Value};
use support::*;

const PROJECT: &str = "contoso-keys";
/// The seeded API key string and HMAC secret: nothing the tool writes may hold them.
const KEY_CANARY: &str = "AIzaSyKEYCANARY0123456789abcdefghijk";
const HMAC_CANARY: &str = "hmacCANARYsecret/0123456789abcdefghijklmn";

/// An agency key with no restriction, a restricted customer key, an HMAC key of an
/// agency service account and one of a customer account, a pool whose GitHub provider
/// has no condition, and one whose provider is the customer's organization.
fn seed(url: &str) -> Value {
    let sa = |name: &str| format!("{name}@{PROJECT}.iam.gserviceaccount.com");
    for (id, name) in [("deploy-agency", "Agency deploy"), ("app-runtime", "App")] {
        let body = json!({"accountId": id, "serviceAccount": {"displayName": name}});
        let (status, text) = http_post_json(
            url,
            &format!("/v1/projects/{PROJECT}/serviceAccounts"),
            &body.to_string(),
        );
        assert!(status.contains("200"), "{status}: {text}");
    }
    let seed = json!({
        "projects": [{"projectId": PROJECT, "projectNumber": 402030405060u64}],
        "credentials": {
            "apiKeys": [
                {"project": PROJECT, "key": {"displayName": "maps.agency"}, "keyString": KEY_CANARY,
                 "createTime": "2024-02-01T00:00:00Z"},
                {"project": PROJECT, "key": {"displayName": "shop-web", "restrictions": {
                    "browserKeyRestrictions": {"allowedReferrers": ["https://shop.contoso.example/*"]},
                    "apiTargets": [{"service": "maps-backend.googleapis.com"}]}}}
            ],
            "hmacKeys": [
                {"project": PROJECT, "serviceAccountEmail": sa("deploy-agency"), "secret": HMAC_CANARY,
                 "timeCreated": "2024-03-01T00:00:00Z"},
                {"project": PROJECT, "serviceAccountEmail": sa("app-runtime")}
            ],
            "workloadIdentityPools": [
                {"project": PROJECT, "poolId": "github-ci", "pool": {"displayName": "GitHub CI"}},
                {"project": PROJECT, "poolId": "contoso-ci"}
            ],
            "workloadIdentityPoolProviders": [
                {"project": PROJECT, "poolId": "github-ci", "providerId": "any-repo", "provider": {
                    "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"},
                    "attributeMapping": {"google.subject": "assertion.sub"}}},
                {"project": PROJECT, "poolId": "contoso-ci", "providerId": "contoso", "provider": {
                    "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"},
                    "attributeMapping": {"google.subject": "assertion.sub"},
                    "attributeCondition": "assertion.repository_owner == 'contoso'"}}
            ]
        }
    });
    let (status, text) = http_post_json(url, "/_admin/seed", &seed.to_string());
    assert!(status.contains("200"), "{status}: {text}");
    // The pool's identities may act as the agency's deploy account.
    let member = "principalSet://iam.googleapis.com/projects/402030405060/locations/global/workloadIdentityPools/github-ci/attribute.repository/northwind/deploy";
    let policy = json!({"policy": {"bindings": [{"role": "roles/iam.workloadIdentityUser", "members": [member]}]}});
    let (status, text) = http_post_json(
        url,
        &format!(
            "/v1/projects/{PROJECT}/serviceAccounts/{}:setIamPolicy",
            sa("deploy-agency")
        ),
        &policy.to_string(),
    );
    assert!(status.contains("200"), "{status}: {text}");
    json(&text)
}

fn audit(url: &str, home: &std::path::Path, extra: &[&str]) -> Run {
    run(handover_offline(home)
        .args(["audit", "--gcp-project", PROJECT, "--gcp-endpoint", url])
        .args(["--format", "json"])
        .args(extra))
}

fn find(items: &Value, pred: impl Fn(&Value) -> bool) -> &Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| pred(i))
        .unwrap_or_else(|| panic!("not found in {items:#}"))
}

fn has_finding(inv: &Value, code: &str, subject_contains: &str) -> bool {
    inv["findings"].as_array().unwrap().iter().any(|f| {
        f["code"] == code
            && f["subject"]
                .as_str()
                .unwrap_or("")
                .contains(subject_contains)
    })
}

fn assert_no_canary(what: &str, text: &str) {
    for canary in [
        KEY_CANARY,
        HMAC_CANARY,
        &KEY_CANARY[..12],
        &HMAC_CANARY[..12],
    ] {
        assert!(!text.contains(canary), "{what} holds a canary ({canary})");
    }
}

/// Live: API keys with their restrictions, HMAC keys under their service accounts,
/// pools and providers with what they trust and whom they may act as; the findings;
/// `getKeyString` never requested; no canary anywhere, at -vvv too.
#[test]
fn live_audit_reads_api_keys_hmac_keys_and_workload_identity() {
    let server = gcp_server();
    seed(&server.url());
    let home = tempfile::tempdir().unwrap();
    let r = audit(&server.url(), home.path(), &["-vvv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_no_canary("stdout", &r.stdout);
    assert_no_canary("stderr", &r.stderr);
    let inv = json(&r.stdout);
    assert_eq!(inv["gaps"], json!([]), "every source was read");

    let agency_key = find(&inv["credentials"], |c| {
        c["kind"] == "gcp-api-key" && c["detail"]["display_name"] == "maps.agency"
    });
    assert_eq!(agency_key["detail"]["unrestricted"], true);
    assert_eq!(agency_key["created"], "2024-02-01T00:00:00Z");
    let web = find(&inv["credentials"], |c| {
        c["kind"] == "gcp-api-key" && c["detail"]["display_name"] == "shop-web"
    });
    assert_eq!(web["detail"]["unrestricted"], false);
    assert_eq!(
        web["detail"]["apis"],
        json!(["maps-backend.googleapis.com"])
    );
    assert_eq!(
        web["detail"]["referrers"],
        json!(["https://shop.contoso.example/*"])
    );
    assert!(has_finding(
        &inv,
        "gcp-api-key-unrestricted",
        agency_key["identifier"].as_str().unwrap()
    ));
    assert!(!has_finding(
        &inv,
        "gcp-api-key-unrestricted",
        web["identifier"].as_str().unwrap()
    ));

    let hmac = find(&inv["credentials"], |c| {
        c["kind"] == "gcp-hmac-key"
            && c["detail"]["service_account"]
                == format!("deploy-agency@{PROJECT}.iam.gserviceaccount.com")
    });
    assert_eq!(
        hmac["principal"],
        format!(
            "projects/{PROJECT}/serviceAccounts/deploy-agency@{PROJECT}.iam.gserviceaccount.com"
        ),
        "an HMAC key is its service account's credential"
    );
    assert_eq!(hmac["status"], "active");
    assert!(hmac["identifier"].as_str().unwrap().starts_with("GOOG1E"));
    assert!(has_finding(&inv, "gcp-hmac-key-active", "deploy-agency"));

    let open = find(&inv["credentials"], |c| c["identifier"] == "any-repo");
    assert_eq!(open["kind"], "gcp-workload-identity-provider");
    assert_eq!(open["detail"]["attribute_condition"], Value::Null);
    assert_eq!(
        open["detail"]["issuer"],
        "https://token.actions.githubusercontent.com"
    );
    assert_eq!(
        open["detail"]["may_act_as"],
        json!([format!("deploy-agency@{PROJECT}.iam.gserviceaccount.com")])
    );
    assert!(has_finding(&inv, "gcp-wif-no-condition", "github-ci"));
    let contoso = find(&inv["credentials"], |c| c["identifier"] == "contoso");
    assert_eq!(contoso["detail"]["github_owners"], json!(["contoso"]));
    assert!(!has_finding(&inv, "gcp-wif-no-condition", "contoso-ci"));
    let pool = find(&inv["principals"], |p| p["name"] == "github-ci");
    assert_eq!(pool["kind"], "gcp-workload-identity-pool");

    let counts = server.request_counts().by_route;
    let count = |route: &str| counts.get(route).copied().unwrap_or(0);
    assert_eq!(
        count("GET /v2/projects/{project}/locations/{location}/keys/{key}/keyString"),
        0,
        "getKeyString is never called"
    );
    assert_eq!(
        count("GET /v2/projects/{project}/locations/{location}/keys"),
        1
    );
    assert_eq!(count("GET /storage/v1/projects/{project}/hmacKeys"), 1);
}

/// The handover config: Northwind (GitHub organization `northwind`, names `*.agency`
/// and `*-agency`) hands the project to Contoso (GitHub organization `contoso`).
fn write_config(home: &std::path::Path) -> std::path::PathBuf {
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
name_patterns = ["*.agency", "*-agency"]
github_orgs = ["northwind"]
signing_key = "{}"

[customer]
name = "Contoso"
email_domains = ["contoso.example"]
gcp_projects = ["{PROJECT}"]
github_orgs = ["contoso"]

[recipients]
keys = ["age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3"]
"#,
            signer.trim()
        ),
    )
    .unwrap();
    p
}

fn get(url: &str, path: &str) -> Value {
    let (status, body) = http_get(url, path);
    assert!(status.contains(" 200"), "{path}: {status}: {body}");
    json(&body)
}

/// The customer's owner, so the plan keeps a customer admin.
fn seed_owner(url: &str) {
    let policy = json!({"policy": {"bindings": [{"role": "roles/owner", "members": ["user:carol@contoso.example"]}]}});
    let (status, text) = http_post_json(
        url,
        &format!("/v1/projects/{PROJECT}:setIamPolicy"),
        &policy.to_string(),
    );
    assert!(status.contains("200"), "{status}: {text}");
}

fn step<'a>(plan: &'a Value, credential_id_ends: &str) -> &'a Value {
    find(&plan["steps"], |s| {
        s["target"]["id"]
            .as_str()
            .unwrap_or("")
            .ends_with(credential_id_ends)
    })
}

/// Regression (issue 17): API keys, HMAC keys and workload identity providers were not
/// in the inventory, so an agency's unrestricted API key, its HMAC key and an open
/// GitHub trust outlived a "full transfer". Now each is planned, applied (deleted,
/// deactivated, deleted), proven by `verify`, and `--undo` brings each back.
#[test]
fn agency_api_key_hmac_key_and_open_provider_are_revoked_verified_and_undone() {
    let server = gcp_server();
    let url = server.url();
    seed(&url);
    seed_owner(&url);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let config = write_config(h);
    let inv = h.join("inventory.json");
    let r = audit(&url, h, &["-o", inv.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan_file = h.join("plan.json");
    let r = run(handover_offline(h)
        .args([
            "plan",
            "--format",
            "json",
            "--policy",
            "full-transfer",
            "--inventory",
        ])
        .arg(&inv)
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(&plan_file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan_text = std::fs::read_to_string(&plan_file).unwrap();
    assert_no_canary("plan", &plan_text);
    let plan = json(&plan_text);
    let inventory = json(&std::fs::read_to_string(&inv).unwrap());
    let key = find(&inventory["credentials"], |c| {
        c["kind"] == "gcp-api-key" && c["detail"]["display_name"] == "maps.agency"
    });
    let uid = key["identifier"].as_str().unwrap().to_string();
    let api_step = step(&plan, &format!("keys/{uid}/key"));
    assert_eq!(api_step["action"], "revoke", "{api_step}");
    assert_eq!(api_step["rule"], "agency-api-key-deleted");
    let web = find(&inventory["credentials"], |c| {
        c["detail"]["display_name"] == "shop-web"
    });
    let web_step = step(
        &plan,
        &format!("keys/{}/key", web["identifier"].as_str().unwrap()),
    );
    assert_eq!(web_step["action"], "transfer", "{web_step}");
    let hmac = find(&inventory["credentials"], |c| {
        c["kind"] == "gcp-hmac-key"
            && c["status"] == "active"
            && c["principal"].as_str().unwrap().contains("deploy-agency")
    });
    let access_id = hmac["identifier"].as_str().unwrap().to_string();
    let hmac_step = step(&plan, &access_id);
    assert_eq!(hmac_step["action"], "revoke", "{hmac_step}");
    let open_step = step(&plan, "providers/any-repo");
    assert_eq!(open_step["action"], "revoke", "{open_step}");
    assert_eq!(open_step["rule"], "open-workload-identity-revoked");
    let contoso_step = step(&plan, "providers/contoso");
    assert_eq!(contoso_step["action"], "transfer", "{contoso_step}");

    // Apply.
    let digest = plan["digest"].as_str().unwrap().to_string();
    let journal = h.join("apply.jsonl");
    let apply = |extra: &[&str]| {
        run(handover_offline(h)
            .args(["apply", "--plan", plan_file.to_str().unwrap()])
            .args(extra)
            .args(["--format", "json", "--gcp-endpoint", &url, "--config"])
            .arg(&config)
            .arg("--journal")
            .arg(&journal)
            .arg("-vvv"))
    };
    let r = apply(&["--apply", "--approve", &digest]);
    assert!(r.code == 0 || r.code == 8, "{}\n{}", r.stdout, r.stderr);
    assert_no_canary("apply stdout", &r.stdout);
    assert_no_canary("apply stderr", &r.stderr);
    assert_no_canary("journal", &std::fs::read_to_string(&journal).unwrap());
    let report = json(&r.stdout);
    for what in [uid.as_str(), access_id.as_str(), "any-repo"] {
        let st = find(&report["steps"], |s| {
            s["target"].as_str().unwrap_or("").contains(what)
        });
        assert_eq!(st["outcome"], "done", "{st}");
    }
    let key_path = format!("/v2/projects/{PROJECT}/locations/global/keys/{uid}");
    assert!(
        get(&url, &key_path)["deleteTime"].is_string(),
        "the key is deleted"
    );
    let hmac_path = format!("/storage/v1/projects/{PROJECT}/hmacKeys/{access_id}");
    assert_eq!(get(&url, &hmac_path)["state"], "INACTIVE");
    let provider_path = format!(
        "/v1/projects/{PROJECT}/locations/global/workloadIdentityPools/github-ci/providers/any-repo"
    );
    assert_eq!(get(&url, &provider_path)["state"], "DELETED");
    // The customer's restricted key and its provider are untouched.
    let contoso_path = format!(
        "/v1/projects/{PROJECT}/locations/global/workloadIdentityPools/contoso-ci/providers/contoso"
    );
    assert_eq!(get(&url, &contoso_path)["state"], "ACTIVE");

    // Verify, as the customer: the three revoked claims pass.
    let r = seal_and_verify_gcp(h, &url, &config, &plan_file, &inv, &journal);
    assert_no_canary("verify", &r.stdout);
    let v = json(&r.stdout);
    for what in [uid.as_str(), access_id.as_str(), "any-repo"] {
        let c = find(&v["claims"], |c| {
            c["kind"] == "revoked" && c["subject"].as_str().unwrap_or("").contains(what)
        });
        assert_eq!(c["status"], "pass", "{c}");
    }

    // Undo brings each back.
    let r = apply(&["--undo"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        get(&url, &key_path).get("deleteTime").is_none(),
        "undeleted"
    );
    assert_eq!(get(&url, &hmac_path)["state"], "ACTIVE");
    assert_eq!(get(&url, &provider_path)["state"], "ACTIVE");
}

/// The gcloud export (`scripts/export-gcp-snapshot.sh`) holds API keys, HMAC keys,
/// pools and providers, and `audit --snapshot` reads from it the same credentials and
/// findings as the live audit; the export holds no key string or HMAC secret.
#[test]
fn gcloud_snapshot_holds_the_same_keys_and_providers_as_the_live_audit() {
    let server = gcp_server();
    let url = server.url();
    seed(&url);
    let home = tempfile::tempdir().unwrap();
    let r = audit(&url, home.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let live = json(&r.stdout);
    let snap = tempfile::tempdir().unwrap();
    export_gcp_snapshot(&url, snap.path(), PROJECT);
    for f in walk(snap.path()) {
        assert_no_canary(
            &f.display().to_string(),
            &std::fs::read_to_string(&f).unwrap(),
        );
    }
    let dir = snap.path().join("gcp").join(PROJECT);
    assert!(dir.join("api-keys.json").exists());
    assert!(dir
        .join("workload-identity-pools/github-ci/providers.json")
        .exists());
    let r = run(handover_offline(home.path())
        .args(["audit", "--format", "json", "--snapshot"])
        .arg(snap.path()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let from_snapshot = json(&r.stdout);
    assert_eq!(from_snapshot["gaps"], json!([]));
    let outside = |inv: &Value| -> Vec<Value> {
        inv["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                let k = c["kind"].as_str().unwrap();
                k == "gcp-api-key" || k == "gcp-hmac-key" || k == "gcp-workload-identity-provider"
            })
            .cloned()
            .collect()
    };
    assert_eq!(outside(&live).len(), 6);
    assert_eq!(outside(&live), outside(&from_snapshot));
    assert_eq!(live["findings"], from_snapshot["findings"]);
}

/// `gcp-audit-role.yaml` and `gcp-verify-role.yaml` read API keys, HMAC keys, pools and
/// providers: under the test server's IAM enforcement, an auditor holding only one of
/// them reads the same credentials, findings and gaps as an open read; without the four
/// list permissions the new sources are coverage gaps, never silently empty.
#[test]
fn the_audit_and_verify_roles_read_keys_and_providers_under_enforcement() {
    let server = gcp_server();
    let url = server.url();
    seed(&url);
    let home = tempfile::tempdir().unwrap();
    let open = audit(&url, home.path(), &[]);
    assert_eq!(open.code, 0, "{}", open.stderr);
    let open = json(&open.stdout);
    let auditor = format!("serviceAccount:deploy-agency@{PROJECT}.iam.gserviceaccount.com");
    for (file, role_id) in [
        ("gcp-audit-role.yaml", "handoverAudit"),
        ("gcp-verify-role.yaml", "handoverVerify"),
    ] {
        let yaml: serde_norway::Value = serde_norway::from_str(
            &std::fs::read_to_string(repo().join("policies/permissions").join(file)).unwrap(),
        )
        .unwrap();
        let definition = json!({"roleId": role_id, "role": {"title": yaml["title"].as_str(),
            "includedPermissions": serde_json::to_value(&yaml["includedPermissions"]).unwrap()}});
        let (st, body) = http_post_json(
            &url,
            &format!("/v1/projects/{PROJECT}/roles"),
            &definition.to_string(),
        );
        assert!(st.contains("200"), "{st} {body}");
        let policy = json!({"policy": {"bindings": [
            {"role": "roles/owner", "members": ["user:carol@contoso.example"]},
            {"role": format!("projects/{PROJECT}/roles/{role_id}"), "members": [auditor]}]}});
        let (st, body) = http_post_json(
            &url,
            &format!("/v1/projects/{PROJECT}:setIamPolicy"),
            &policy.to_string(),
        );
        assert!(st.contains("200"), "{st} {body}");
        let config = json!({"tokens": {"audit-token": auditor}});
        let (st, body) = http_post_json(&url, "/_admin/iam", &config.to_string());
        assert!(st.contains("200"), "{st} {body}");
        let r = run(handover_offline(home.path())
            .env("HANDOVER_GCP_ACCESS_TOKEN", "audit-token")
            .args(["audit", "--gcp-project", PROJECT, "--gcp-endpoint", &url])
            .args(["--format", "json"]));
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        let enforced = json(&r.stdout);
        assert_eq!(enforced["gaps"], json!([]), "{file}");
        // The project policy changed between the two reads; the new kinds did not.
        let ours = |inv: &Value, part: &str, field: &str| -> Vec<Value> {
            inv[part]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| {
                    let k = x[field].as_str().unwrap();
                    [
                        "gcp-api-key",
                        "gcp-hmac-key",
                        "gcp-workload-identity-provider",
                        "gcp-wif-",
                    ]
                    .iter()
                    .any(|p| k.starts_with(p))
                })
                .cloned()
                .collect()
        };
        assert_eq!(ours(&open, "credentials", "kind").len(), 6, "{file}");
        assert_eq!(
            ours(&open, "credentials", "kind"),
            ours(&enforced, "credentials", "kind"),
            "{file}"
        );
        assert_eq!(
            ours(&open, "findings", "code"),
            ours(&enforced, "findings", "code"),
            "{file}"
        );
        let (st, _) = http_delete_admin_iam(&url);
        assert!(st.contains("200"), "{st}");
    }
}

/// `DELETE /_admin/iam`: enforcement off again.
fn http_delete_admin_iam(base: &str) -> (String, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "DELETE /_admin/iam HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    (
        resp.lines().next().unwrap_or("").to_string(),
        resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
    )
}

/// Regression (issue 17): `apply --finish` deleted the service-account keys apply
/// disabled but left the HMAC keys it deactivated, and verify said of such a key
/// "deleted by `apply --finish`" while it was only inactive. Now `--finish` deletes it
/// once grace_days have passed (Google deletes only an INACTIVE key), and verify says
/// it is not deleted yet until it is gone.
#[test]
fn finish_deletes_a_deactivated_hmac_key_and_verify_says_what_is_live() {
    let server = gcp_server();
    let url = server.url();
    seed(&url);
    seed_owner(&url);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let config = write_config(h);
    let inv = h.join("inventory.json");
    let r = audit(&url, h, &["-o", inv.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan_file = h.join("plan.json");
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy", "full-transfer"])
        .arg("--inventory")
        .arg(&inv)
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(&plan_file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = json(&std::fs::read_to_string(&plan_file).unwrap());
    let inventory = json(&std::fs::read_to_string(&inv).unwrap());
    let hmac = find(&inventory["credentials"], |c| {
        c["kind"] == "gcp-hmac-key"
            && c["status"] == "active"
            && c["principal"].as_str().unwrap().contains("deploy-agency")
    });
    let access_id = hmac["identifier"].as_str().unwrap().to_string();
    let id = step(&plan, &access_id)["id"].as_str().unwrap().to_string();
    let digest = plan["digest"].as_str().unwrap().to_string();
    let journal = h.join("apply.jsonl");
    let apply = |extra: &[&str]| {
        run(handover_offline(h)
            .args(["apply", "--plan", plan_file.to_str().unwrap()])
            .args(["--apply", "--approve", &digest, "--only", &id])
            .args(extra)
            .args(["--format", "json", "--gcp-endpoint", &url, "--config"])
            .arg(&config)
            .arg("--journal")
            .arg(&journal))
    };
    let the_step = |r: &Run| {
        let report = json(&r.stdout);
        find(&report["steps"], |s| s["id"] == id.as_str()).clone()
    };
    let r = apply(&[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let hmac_path = format!("/storage/v1/projects/{PROJECT}/hmacKeys/{access_id}");
    assert_eq!(get(&url, &hmac_path)["state"], "INACTIVE");

    let verify = || {
        let r = seal_and_verify_gcp(h, &url, &config, &plan_file, &inv, &journal);
        let v = json(&r.stdout);
        find(&v["claims"], |c| {
            c["kind"] == "revoked" && c["subject"].as_str().unwrap_or("").contains(&access_id)
        })
        .clone()
    };
    let c = verify();
    assert_eq!(c["status"], "pass", "{c}");
    let detail = c["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("not deleted yet"), "{c}");
    assert!(!detail.contains("deleted by"), "{c}");

    // Grace period over: `--finish` deletes it (it is INACTIVE: the delete call alone).
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("grace_days = 0\n{text}")).unwrap();
    let r = apply(&["--finish"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let st = the_step(&r);
    assert_eq!(st["outcome"], "done", "{st}");
    assert_eq!(st["calls"], json!(["storage.hmacKeys.delete"]), "{st}");
    let (status, body) = http_get(&url, &hmac_path);
    assert!(
        status.contains(" 404") || json(&body)["state"] == "DELETED",
        "{status}: {body}"
    );
    let c = verify();
    assert_eq!(c["status"], "pass", "{c}");
    assert_eq!(c["detail"], "gone", "{c}");
    // A rerun has nothing left to delete.
    let r = apply(&["--finish"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(the_step(&r)["outcome"], "already-done");
}

/// A plain HTTP/1.0 JSON PATCH to the test server (a key's restrictions changed by hand).
fn http_patch(base: &str, path: &str, body: &Value) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let body = body.to_string();
    write!(
        s,
        "PATCH {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.lines().next().unwrap_or("").to_string()
}

/// The full-transfer policy with one rule first: the customer's API keys are kept,
/// restricted to two APIs called from one address range.
fn restricting_policy(home: &std::path::Path) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(repo().join("policies/full-transfer.yaml")).unwrap();
    let rule = "rules:
  - id: customer-api-key-restricted
    description: The customer's API keys are kept, restricted to the APIs and addresses they serve.
    condition: credential.kind == \"gcp-api-key\" && principal.owner == \"customer\"
    action: transfer
    restrict:
      api_targets: [maps-backend.googleapis.com, places.googleapis.com]
      allowed_ips: [203.0.113.0/24]
    severity: medium
    rationale: A kept key should call only what it serves, from where it runs.
";
    let p = home.join("restricting.yaml");
    std::fs::write(&p, shipped.replacen("rules:\n", rule, 1)).unwrap();
    p
}

/// Issue 17: an API key the customer keeps could only be handed over as it was; a rule
/// may now restrict it (`restrict:`): the plan carries the restrictions, apply patches
/// the key (`keys.patch`, mask `restrictions`; never the key string), verify checks
/// them live, undo puts back what was there.
#[test]
fn a_kept_api_key_is_restricted_verified_and_the_restriction_undone() {
    let server = gcp_server();
    let url = server.url();
    seed(&url);
    seed_owner(&url);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let config = write_config(h);
    let inv = h.join("inventory.json");
    let r = audit(&url, h, &["-o", inv.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan_file = h.join("plan.json");
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(restricting_policy(h))
        .arg("--inventory")
        .arg(&inv)
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(&plan_file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = json(&std::fs::read_to_string(&plan_file).unwrap());
    let inventory = json(&std::fs::read_to_string(&inv).unwrap());
    let web = find(&inventory["credentials"], |c| {
        c["detail"]["display_name"] == "shop-web"
    });
    let uid = web["identifier"].as_str().unwrap().to_string();
    let web_step = step(&plan, &format!("keys/{uid}/key"));
    assert_eq!(web_step["action"], "transfer", "{web_step}");
    assert_eq!(
        web_step["restrict"],
        json!({"api_targets": ["maps-backend.googleapis.com", "places.googleapis.com"],
               "allowed_ips": ["203.0.113.0/24"]}),
        "{web_step}"
    );
    let id = web_step["id"].as_str().unwrap().to_string();
    let digest = plan["digest"].as_str().unwrap().to_string();
    let journal = h.join("apply.jsonl");
    let apply = |extra: &[&str]| {
        run(handover_offline(h)
            .args(["apply", "--plan", plan_file.to_str().unwrap()])
            .args(extra)
            .args(["--only", &id, "--format", "json", "--gcp-endpoint", &url])
            .arg("--config")
            .arg(&config)
            .arg("--journal")
            .arg(&journal)
            .arg("-vvv"))
    };
    let key_path = format!("/v2/projects/{PROJECT}/locations/global/keys/{uid}");
    let before = get(&url, &key_path)["restrictions"].clone();
    let r = apply(&["--apply", "--approve", &digest]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for (what, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        assert_no_canary(what, text);
    }
    assert_no_canary("journal", &std::fs::read_to_string(&journal).unwrap());
    let report = json(&r.stdout);
    let st = find(&report["steps"], |s| s["id"] == id.as_str());
    assert_eq!(st["outcome"], "done", "{st}");
    assert_eq!(st["calls"], json!(["apikeys.keys.patch"]), "{st}");
    let after = get(&url, &key_path);
    assert_eq!(
        after["restrictions"],
        json!({"apiTargets": [{"service": "maps-backend.googleapis.com"}, {"service": "places.googleapis.com"}],
               "serverKeyRestrictions": {"allowedIps": ["203.0.113.0/24"]}}),
        "{after}"
    );
    assert_eq!(after["displayName"], "shop-web", "nothing else changed");

    let verify = || {
        let r = seal_and_verify_gcp(h, &url, &config, &plan_file, &inv, &journal);
        assert_no_canary("verify", &r.stdout);
        let v = json(&r.stdout);
        find(&v["claims"], |c| {
            c["kind"] == "restricted" && c["subject"].as_str().unwrap_or("").contains(&id)
        })
        .clone()
    };
    let c = verify();
    assert_eq!(c["status"], "pass", "{c}");

    // Changed by hand since: verify fails it, naming what is live.
    let status = http_patch(
        &url,
        &format!("{key_path}?updateMask=restrictions"),
        &json!({"restrictions": {"apiTargets": [{"service": "maps-backend.googleapis.com"}]}}),
    );
    assert!(status.contains(" 200"), "{status}");
    let c = verify();
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["detail"].as_str().unwrap().contains("not the plan's"),
        "{c}"
    );

    // Undo puts back the restrictions found before apply.
    let r = apply(&["--undo"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(get(&url, &key_path)["restrictions"], before);
}
