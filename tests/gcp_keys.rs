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

fn find<'a>(items: &'a Value, pred: impl Fn(&Value) -> bool) -> &'a Value {
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
