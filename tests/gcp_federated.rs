//! Federated IAM members (issue 17): `principal://` / `principalSet://` members of
//! workload identity pools, read from the project's GCP test server, are
//! `gcp-federated` principals placed by their pool (whom its providers let in), never
//! public; the plan revokes the agency pool's grant by the federation rule in a full
//! transfer, sends it to a person in agency-operated, keeps the customer pool's, and a
//! pool the audit did not read goes to a person. `principalSet://goog/public:all` is
//! still public access.

mod support;

use serde_json::{json, Value};
use support::*;

const PROJECT: &str = "contoso-fed";
const NUMBER: u64 = 402030405061;

fn sa(name: &str) -> String {
    format!("{name}@{PROJECT}.iam.gserviceaccount.com")
}

fn pool_member(number: u64, pool: &str, selector: &str) -> String {
    format!("principalSet://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/{pool}/{selector}")
}

/// The agency's deploy pipeline: pool `northwind-ci` (its provider lets in the GitHub
/// organization `northwind`) may act as `deploy-agency`. The customer's pool
/// `contoso-ci` may act as `app-runtime`, and so may an identity of a pool in a project
/// the audit did not read. The project grants viewer to `principalSet://goog/public:all`.
fn seed(url: &str) -> (String, String, String) {
    let post = |path: &str, body: &Value| {
        let (status, text) = http_post_json(url, path, &body.to_string());
        assert!(status.contains("200"), "{path}: {status}: {text}");
    };
    let provider = |pool: &str, id: &str, org: &str| {
        json!({"project": PROJECT, "poolId": pool, "providerId": id, "provider": {
            "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"},
            "attributeMapping": {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository"},
            "attributeCondition": format!("assertion.repository_owner == '{org}'")}})
    };
    post(
        "/_admin/seed",
        &json!({
            "projects": [{"projectId": PROJECT, "projectNumber": NUMBER}],
            "credentials": {
                "workloadIdentityPools": [
                    {"project": PROJECT, "poolId": "northwind-ci"},
                    {"project": PROJECT, "poolId": "contoso-ci"}
                ],
                "workloadIdentityPoolProviders": [
                    provider("northwind-ci", "northwind", "northwind"),
                    provider("contoso-ci", "contoso", "contoso")
                ]
            }
        }),
    );
    for id in ["deploy-agency", "app-runtime"] {
        post(
            &format!("/v1/projects/{PROJECT}/serviceAccounts"),
            &json!({"accountId": id}),
        );
    }
    let agency = pool_member(
        NUMBER,
        "northwind-ci",
        "attribute.repository/northwind/deploy",
    );
    let customer = pool_member(NUMBER, "contoso-ci", "*");
    let elsewhere = pool_member(999, "elsewhere", "group/builders");
    let wiu = |members: &[&str]| json!({"policy": {"bindings": [{"role": "roles/iam.workloadIdentityUser", "members": members}]}});
    post(
        &format!(
            "/v1/projects/{PROJECT}/serviceAccounts/{}:setIamPolicy",
            sa("deploy-agency")
        ),
        &wiu(&[&agency]),
    );
    post(
        &format!(
            "/v1/projects/{PROJECT}/serviceAccounts/{}:setIamPolicy",
            sa("app-runtime")
        ),
        &wiu(&[&customer, &elsewhere]),
    );
    post(
        &format!("/v1/projects/{PROJECT}:setIamPolicy"),
        &json!({"policy": {"bindings": [
            {"role": "roles/owner", "members": ["user:carol@contoso.example"]},
            {"role": "roles/viewer", "members": ["principalSet://goog/public:all"]}]}}),
    );
    (agency, customer, elsewhere)
}

fn write_config(home: &std::path::Path, scenario: &str) -> std::path::PathBuf {
    let signer = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
    let p = home.join(format!("{scenario}.toml"));
    std::fs::write(
        &p,
        format!(
            r#"scenario = "{scenario}"
handover_date = "2026-11-01"
{}
[agency]
name = "Northwind"
email_domains = ["northwind-agency.example"]
name_patterns = ["*-agency"]
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
            if scenario == "agency-operated" {
                "agency_access_ends = \"2027-01-31\"\n"
            } else {
                ""
            },
            signer.trim()
        ),
    )
    .unwrap();
    p
}

fn find<'a>(items: &'a Value, what: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| pred(i))
        .unwrap_or_else(|| panic!("{what} not found in {items:#}"))
}

fn plan(h: &std::path::Path, inv: &std::path::Path, scenario: &str) -> (Value, std::path::PathBuf) {
    let config = write_config(h, scenario);
    let out = h.join(format!("plan-{scenario}.json"));
    let r = run(handover_offline(h)
        .args([
            "plan",
            "--format",
            "json",
            "--policy",
            scenario,
            "--inventory",
        ])
        .arg(inv)
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    (json(&std::fs::read_to_string(&out).unwrap()), config)
}

/// The binding step of `member` on the service account `account` (or the project).
fn binding_step<'a>(plan: &'a Value, member: &str, on: &str) -> &'a Value {
    find(&plan["steps"], member, |s| {
        let id = s["target"]["id"].as_str().unwrap_or("");
        id.contains(member) && id.contains(&format!("/binding/{on}"))
    })
}

/// Regression (issue 17): a workload identity pool's `principalSet://` member bound
/// `roles/iam.workloadIdentityUser` on an agency service account parsed as `gcp-public`:
/// a false Critical `gcp-public-access` finding, placed as "anyone", revoked by the
/// public-access rule whatever the pool was. Now it is a `gcp-federated` principal
/// placed by its pool and planned by the federation rules; `goog/public:all` is still
/// public access.
#[test]
fn a_pool_s_workload_identity_user_binding_is_federated_placed_by_its_pool_not_public() {
    let server = gcp_server();
    let url = server.url();
    let (agency, customer, elsewhere) = seed(&url);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let inv_file = h.join("inventory.json");
    let r = run(handover_offline(h)
        .args(["audit", "--gcp-project", PROJECT, "--gcp-endpoint", &url])
        .args(["--format", "json", "-o"])
        .arg(&inv_file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = json(&std::fs::read_to_string(&inv_file).unwrap());
    assert_eq!(inv["gaps"], json!([]), "every source was read");

    // The member, parsed once: its pool and what it selects there.
    let p = find(&inv["principals"], "agency pool member", |p| {
        p["name"] == agency
    });
    assert_eq!(p["kind"], "gcp-federated", "{p}");
    assert_eq!(
        p["federated"],
        json!({"pool": {"type": "workload-identity", "project_number": NUMBER.to_string(), "pool": "northwind-ci"},
               "selects": {"type": "attribute", "name": "repository", "value": "northwind/deploy"}})
    );
    // The pool's principal carries its own pool, so members are matched to it by data.
    let pool = find(&inv["principals"], "pool", |p| p["name"] == "northwind-ci");
    assert_eq!(pool["kind"], "gcp-workload-identity-pool");
    assert_eq!(pool["federated"]["pool"], p["federated"]["pool"]);
    let provider = find(&inv["credentials"], "provider", |c| {
        c["identifier"] == "northwind"
    });
    assert_eq!(
        provider["detail"]["may_act_as"],
        json!([sa("deploy-agency")])
    );

    // No public-access finding for any pool member; goog/public:all still has one.
    let findings = inv["findings"].as_array().unwrap();
    let public: Vec<&str> = findings
        .iter()
        .filter(|f| f["code"] == "gcp-public-access")
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    assert_eq!(public.len(), 1, "{public:?}");
    assert!(
        public[0].contains("principalSet://goog/public:all"),
        "{public:?}"
    );
    let impersonate = find(&inv["findings"], "impersonation finding", |f| {
        f["code"] == "gcp-can-impersonate" && f["subject"].as_str().unwrap().contains(&agency)
    });
    assert!(
        impersonate["message"]
            .as_str()
            .unwrap()
            .contains("workload identity pool northwind-ci"),
        "{impersonate}"
    );

    // Full transfer: the agency pool's grant is revoked by the federation rule, the
    // customer's is kept, the pool not audited goes to a person, public access revoked.
    let (full, config) = plan(h, &inv_file, "full-transfer");
    let on_deploy = format!("projects/{PROJECT}/serviceAccounts/{}", sa("deploy-agency"));
    let on_app = format!("projects/{PROJECT}/serviceAccounts/{}", sa("app-runtime"));
    let s = binding_step(&full, &agency, &on_deploy);
    assert_eq!(
        (&s["action"], &s["rule"], &s["target"]["owner"]),
        (
            &json!("revoke"),
            &json!("agency-federated-grant-revoked"),
            &json!("agency")
        ),
        "{s}"
    );
    assert!(
        s["evidence"]["owner"]
            .as_str()
            .unwrap()
            .contains("northwind is listed"),
        "placed by its provider's GitHub organization: {s}"
    );
    let s = binding_step(&full, &customer, &on_app);
    assert_eq!(
        (&s["action"], &s["target"]["owner"]),
        (&json!("transfer"), &json!("customer")),
        "{s}"
    );
    let s = binding_step(&full, &elsewhere, &on_app);
    assert_eq!(
        (&s["action"], &s["rule"]),
        (&json!("review"), &json!("unknown-owner-review")),
        "{s}"
    );
    let s = binding_step(
        &full,
        "principalSet://goog/public:all",
        &format!("projects/{PROJECT}/"),
    );
    assert_eq!(s["rule"], "public-access-revoked", "{s}");

    // Agency-operated: the agency pool's grant goes to a person.
    let (operated, _) = plan(h, &inv_file, "agency-operated");
    let s = binding_step(&operated, &agency, &on_deploy);
    assert_eq!(
        (&s["action"], &s["rule"]),
        (&json!("review"), &json!("agency-federated-grant-review")),
        "{s}"
    );

    // Applied, the agency pool's member leaves the account's policy; the customer's stays.
    let plan_file = h.join("plan-full-transfer.json");
    let digest = full["digest"].as_str().unwrap();
    let r = run(handover_offline(h)
        .args([
            "apply",
            "--plan",
            plan_file.to_str().unwrap(),
            "--apply",
            "--approve",
            digest,
        ])
        .args(["--format", "json", "--gcp-endpoint", &url, "--config"])
        .arg(&config)
        .arg("--journal")
        .arg(h.join("apply.jsonl")));
    assert!(r.code == 0 || r.code == 8, "{}\n{}", r.stdout, r.stderr);
    let members = |account: &str| -> String {
        let (status, body) = http_post_json(
            &url,
            &format!(
                "/v1/projects/{PROJECT}/serviceAccounts/{}:getIamPolicy",
                sa(account)
            ),
            "{}",
        );
        assert!(status.contains("200"), "{status}: {body}");
        body
    };
    assert!(!members("deploy-agency").contains(&agency), "revoked");
    assert!(members("app-runtime").contains(&customer), "kept");

    // Verify, as the customer: the federated grant's revocation is a passing claim.
    let journal = h.join("apply.jsonl");
    let r = seal_and_verify_gcp(h, &url, &config, &plan_file, &inv_file, &journal);
    let v = json(&r.stdout);
    let claim = find(&v["claims"], "revoked claim", |c| {
        c["kind"] == "revoked" && c["subject"].as_str().unwrap_or("").contains(&agency)
    });
    assert_eq!(claim["status"], "pass", "{claim}");
}
