//! Opt-in IAM enforcement (`/_admin/iam`, `ServerHandle::enforce_iam`): off changes
//! nothing; on, tokens map to members, routes need their documented permissions
//! through project, secret and service-account policies, and refusals use Google's
//! error bodies. Needs neither gcloud nor Python.
#![forbid(unsafe_code)]

use gcp_test_server::{FaultConfig, FaultKind, IamConfig, Server, ServerHandle};
use serde_json::{json, Value};

const PROJECT: &str = "dst-proj";
const MIGRATOR: &str = "serviceAccount:migrator@dst-proj.iam.gserviceaccount.com";
const READER: &str = "user:reader@example.com";
const OWNER: &str = "user:owner@example.com";
const CUSTOM_ROLE: &str = "projects/dst-proj/roles/handoverMigrateDestination";

const UNAUTHENTICATED: &str = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

/// A JSON-over-HTTP client sending one bearer token (or none).
struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    fn new(server: &ServerHandle, token: Option<&str>) -> Self {
        Api {
            base: server.url(),
            token: token.map(str::to_owned),
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        (status, v)
    }

    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body).await;
        assert_eq!(status, 200, "{method} {path}: {v}");
        v
    }

    async fn status(&self, method: &str, path: &str, body: Option<Value>) -> u16 {
        self.call(method, path, body).await.0
    }

    async fn create_secret(&self, id: &str) -> (u16, Value) {
        self.call(
            "POST",
            &format!("/v1/projects/{PROJECT}/secrets?secretId={id}"),
            Some(json!({"replication": {"automatic": {}}})),
        )
        .await
    }

    async fn add_version(&self, id: &str, data: &[u8]) -> (u16, Value) {
        use base64::Engine as _;
        let crc = gcp_test_server::util::crc32c(data).to_string();
        let data = base64::engine::general_purpose::STANDARD.encode(data);
        self.call(
            "POST",
            &format!("/v1/projects/{PROJECT}/secrets/{id}:addVersion"),
            Some(json!({"payload": {"data": data, "dataCrc32c": crc}})),
        )
        .await
    }

    async fn access(&self, id: &str) -> (u16, Value) {
        self.call(
            "GET",
            &format!("/v1/projects/{PROJECT}/secrets/{id}/versions/latest:access"),
            None,
        )
        .await
    }
}

fn tokens() -> IamConfig {
    IamConfig::new()
        .token("migrator-token", MIGRATOR)
        .token("reader-token", READER)
        .token("owner-token", OWNER)
}

fn config() -> IamConfig {
    tokens().role(
        CUSTOM_ROLE,
        ["secretmanager.secrets.create", "secretmanager.versions.add"],
    )
}

/// Binds roles on the project with enforcement off (policies are plain data). The
/// service accounts bound are created first: Google refuses a binding to a service
/// account that does not exist.
async fn set_project_policy(server: &ServerHandle, bindings: Value) {
    let api = Api::new(server, None);
    let accounts = bindings
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| b["members"].as_array().cloned().unwrap_or_default());
    for member in accounts {
        let email = member
            .as_str()
            .and_then(|m| m.strip_prefix("serviceAccount:"));
        if let Some((id, _)) = email.and_then(|e| e.split_once('@')) {
            let (status, v) = api
                .call(
                    "POST",
                    &format!("/v1/projects/{PROJECT}/serviceAccounts"),
                    Some(json!({"accountId": id})),
                )
                .await;
            assert!(status == 200 || status == 409, "{v}");
        }
    }
    api.ok(
        "POST",
        &format!("/v1/projects/{PROJECT}:setIamPolicy"),
        Some(json!({"policy": {"version": 3, "bindings": bindings}})),
    )
    .await;
}

async fn admin(server: &ServerHandle, method: &str, body: Option<Value>) -> (u16, Value) {
    Api::new(server, None)
        .call(method, "/_admin/iam", body)
        .await
}

#[tokio::test]
async fn off_by_default_and_any_token_or_none_is_accepted() {
    let server = Server::start("127.0.0.1:0").unwrap();
    assert_eq!(
        admin(&server, "GET", None).await,
        (200, json!({"enforced": false}))
    );
    assert!(server.iam_enforcement().is_none());
    for token in [None, Some("anything")] {
        let api = Api::new(&server, token);
        let id = format!("s{}", token.is_some() as u8);
        assert_eq!(api.create_secret(&id).await.0, 200);
        assert_eq!(api.add_version(&id, b"v").await.0, 200);
        assert_eq!(api.access(&id).await.0, 200);
        // testIamPermissions grants everything asked, as before.
        let v = api
            .ok(
                "POST",
                &format!("/v1/projects/{PROJECT}:testIamPermissions"),
                Some(json!({"permissions": ["secretmanager.versions.access"]})),
            )
            .await;
        assert_eq!(v, json!({"permissions": ["secretmanager.versions.access"]}));
    }
}

#[tokio::test]
async fn missing_or_unknown_tokens_are_401_unauthenticated() {
    let server = Server::start("127.0.0.1:0").unwrap();
    let (status, shown) = admin(
        &server,
        "POST",
        Some(serde_json::to_value(config()).unwrap()),
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["enforced"], json!(true));
    assert_eq!(shown["tokens"]["migrator-token"], json!(MIGRATOR));
    assert_eq!(
        shown["roles"][CUSTOM_ROLE],
        json!(["secretmanager.secrets.create", "secretmanager.versions.add"])
    );
    assert_eq!(admin(&server, "GET", None).await.1, shown);
    let expected =
        json!({"error": {"code": 401, "message": UNAUTHENTICATED, "status": "UNAUTHENTICATED"}});
    for token in [None, Some("unknown-token")] {
        let api = Api::new(&server, token);
        assert_eq!(api.create_secret("s").await, (401, expected.clone()));
        // Even routes that need no permission, and unknown paths, need a token.
        assert_eq!(
            api.call("GET", "/v1/projects", None).await,
            (401, expected.clone())
        );
        assert_eq!(
            api.call("GET", "/v9/nothing", None).await,
            (401, expected.clone())
        );
    }
    // A non-Bearer scheme is no token.
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/projects/{PROJECT}/secrets", server.url()))
        .header("Authorization", "Basic bWlncmF0b3ItdG9rZW4=")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // Refused requests are counted like others; admin requests still need no token.
    assert_eq!(
        server
            .request_counts()
            .route("POST /v1/projects/{project}/secrets"),
        2
    );
    assert_eq!(server.request_counts().route("unmatched"), 2);
    // A known token on a route needing nothing (the list is not filtered).
    assert_eq!(
        Api::new(&server, Some("reader-token"))
            .status("GET", "/v1/projects", None)
            .await,
        200
    );
    // Nothing was created by the refused requests.
    server.stop_enforcing_iam();
    assert_eq!(
        Api::new(&server, None)
            .ok("GET", &format!("/v1/projects/{PROJECT}/secrets"), None)
            .await,
        json!({})
    );
}

#[tokio::test]
async fn a_custom_role_allows_exactly_its_permissions() {
    let server = Server::start("127.0.0.1:0").unwrap();
    // The role is created as a customer creates it (IAM `projects.roles.create`, what
    // `gcloud iam roles create --project` calls), not defined in `/_admin/iam`.
    let created = Api::new(&server, None)
        .ok(
            "POST",
            &format!("/v1/projects/{PROJECT}/roles"),
            Some(json!({"roleId": "handoverMigrateDestination", "role": {
                "title": "handover migrate destination", "stage": "GA",
                "includedPermissions": ["secretmanager.secrets.create", "secretmanager.versions.add"]}})),
        )
        .await;
    assert_eq!(created["name"], CUSTOM_ROLE);
    set_project_policy(
        &server,
        json!([{"role": CUSTOM_ROLE, "members": [MIGRATOR]}]),
    )
    .await;
    server.enforce_iam(tokens()).unwrap();
    assert_eq!(server.iam_enforcement(), Some(tokens()));
    let migrator = Api::new(&server, Some("migrator-token"));

    assert_eq!(migrator.create_secret("db").await.0, 200);
    let (status, v) = migrator.add_version("db", b"hunter2").await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = migrator.access("db").await;
    assert_eq!(status, 403, "{v}");
    let resource = format!("projects/{PROJECT}/secrets/db/versions/latest");
    assert_eq!(
        v,
        json!({"error": {
            "code": 403,
            "message": format!("Permission 'secretmanager.versions.access' denied for resource '{resource}' (or it may not exist)."),
            "status": "PERMISSION_DENIED",
            "details": [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "IAM_PERMISSION_DENIED",
                "domain": "secretmanager.googleapis.com",
                "metadata": {"permission": "secretmanager.versions.access", "resource": resource},
            }],
        }})
    );
    // Other methods are denied too, and a denied request changes nothing.
    let (status, v) = migrator
        .call(
            "POST",
            &format!("/v1/projects/{PROJECT}/secrets/db/versions/1:destroy"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        v["error"]["details"][0]["metadata"]["permission"],
        json!("secretmanager.versions.destroy")
    );
    let (status, v) = migrator
        .call("GET", &format!("/v1/projects/{PROJECT}/secrets"), None)
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        v["error"]["message"],
        json!(format!("Permission 'secretmanager.secrets.list' denied for resource 'projects/{PROJECT}' (or it may not exist)."))
    );
    // Other services' domains.
    let (status, v) = migrator
        .call(
            "GET",
            &format!("/v1/projects/{PROJECT}/serviceAccounts"),
            None,
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        v["error"]["details"][0]["domain"],
        json!("iam.googleapis.com")
    );
    let (status, v) = migrator
        .call(
            "POST",
            &format!("/v3/projects/{PROJECT}:getIamPolicy"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        v["error"]["details"][0]["domain"],
        json!("cloudresourcemanager.googleapis.com")
    );
    // The policy of another project grants nothing here.
    assert_eq!(
        migrator
            .call(
                "POST",
                "/v1/projects/other-proj/secrets?secretId=x",
                Some(json!({"replication": {"automatic": {}}}))
            )
            .await
            .0,
        403
    );
    // testIamPermissions answers only what the caller holds.
    let v = migrator
        .ok(
            "POST",
            &format!("/v1/projects/{PROJECT}:testIamPermissions"),
            Some(json!({"permissions": ["secretmanager.versions.add", "secretmanager.versions.access"]})),
        )
        .await;
    assert_eq!(v, json!({"permissions": ["secretmanager.versions.add"]}));

    server.stop_enforcing_iam();
    let anyone = Api::new(&server, None);
    let v = anyone
        .ok(
            "GET",
            &format!("/v1/projects/{PROJECT}/secrets/db/versions/1"),
            None,
        )
        .await;
    assert_eq!(
        v["state"],
        json!("ENABLED"),
        "the denied destroy changed nothing"
    );
    assert_eq!(anyone.access("db").await.0, 200);
}

#[tokio::test]
async fn a_secret_level_binding_grants_on_that_secret_only() {
    let server = Server::start("127.0.0.1:0").unwrap();
    set_project_policy(
        &server,
        json!([{"role": "roles/owner", "members": [OWNER]}]),
    )
    .await;
    server.enforce_iam(config()).unwrap();
    let owner = Api::new(&server, Some("owner-token"));
    let reader = Api::new(&server, Some("reader-token"));
    for id in ["a", "b"] {
        assert_eq!(owner.create_secret(id).await.0, 200);
        assert_eq!(owner.add_version(id, id.as_bytes()).await.0, 200);
    }
    assert_eq!(reader.access("a").await.0, 403);
    owner
        .ok(
            "POST",
            &format!("/v1/projects/{PROJECT}/secrets/a:setIamPolicy"),
            Some(json!({"policy": {"bindings": [
                {"role": "roles/secretmanager.secretAccessor", "members": [READER]}]}})),
        )
        .await;
    let (status, v) = reader.access("a").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(reader.access("b").await.0, 403);
    // secretAccessor holds access only: not get, list or addVersion.
    assert_eq!(
        reader
            .status("GET", &format!("/v1/projects/{PROJECT}/secrets/a"), None)
            .await,
        403
    );
    assert_eq!(reader.add_version("a", b"x").await.0, 403);
    // The project's number addresses the same secret.
    let number = owner
        .ok("GET", &format!("/v1/projects/{PROJECT}"), None)
        .await["projectNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        reader
            .status(
                "GET",
                &format!("/v1/projects/{number}/secrets/a/versions/1:access"),
                None
            )
            .await,
        200
    );
}

#[tokio::test]
async fn conditional_bindings_count_only_before_their_expiry() {
    let server = Server::start("127.0.0.1:0").unwrap();
    let anyone = Api::new(&server, None);
    for id in ["past", "future", "other"] {
        assert_eq!(anyone.create_secret(id).await.0, 200);
        assert_eq!(anyone.add_version(id, b"x").await.0, 200);
    }
    let bind = |expression: &str| {
        json!({"policy": {"version": 3, "bindings": [{
            "role": "roles/secretmanager.secretAccessor",
            "members": [READER],
            "condition": {"title": "t", "expression": expression}}]}})
    };
    for (id, expression) in [
        ("past", "request.time < timestamp(\"2020-01-01T00:00:00Z\")"),
        (
            "future",
            "request.time < timestamp(\"2999-01-01T00:00:00Z\")",
        ),
        ("other", "resource.name.startsWith(\"projects/\")"),
    ] {
        anyone
            .ok(
                "POST",
                &format!("/v1/projects/{PROJECT}/secrets/{id}:setIamPolicy"),
                Some(bind(expression)),
            )
            .await;
    }
    server.enforce_iam(config()).unwrap();
    let reader = Api::new(&server, Some("reader-token"));
    assert_eq!(reader.access("past").await.0, 403);
    assert_eq!(reader.access("future").await.0, 200);
    assert_eq!(
        reader.access("other").await.0,
        403,
        "unknown condition forms grant nothing"
    );
}

#[tokio::test]
async fn service_account_routes_use_project_and_account_policies() {
    let server = Server::start("127.0.0.1:0").unwrap();
    let anyone = Api::new(&server, None);
    let sa = anyone
        .ok(
            "POST",
            &format!("/v1/projects/{PROJECT}/serviceAccounts"),
            Some(json!({"accountId": "app-runner"})),
        )
        .await;
    let email = sa["email"].as_str().unwrap().to_owned();
    anyone
        .ok(
            "POST",
            &format!("/v1/projects/{PROJECT}/serviceAccounts/{email}:setIamPolicy"),
            Some(json!({"policy": {"bindings": [{"role": "roles/viewer", "members": [READER]}]}})),
        )
        .await;
    server.enforce_iam(config()).unwrap();
    let reader = Api::new(&server, Some("reader-token"));
    let migrator = Api::new(&server, Some("migrator-token"));
    // `projects/-` resolves to the account's project and policy.
    for project in ["-", PROJECT] {
        let path = format!("/v1/projects/{project}/serviceAccounts/{email}");
        assert_eq!(reader.status("GET", &path, None).await, 200);
        assert_eq!(
            reader.status("GET", &format!("{path}/keys"), None).await,
            200
        );
        assert_eq!(reader.status("DELETE", &path, None).await, 403);
        let (status, v) = migrator.call("GET", &path, None).await;
        assert_eq!(status, 403);
        assert_eq!(
            v["error"]["details"][0]["metadata"],
            json!({"permission": "iam.serviceAccounts.get", "resource": format!("projects/{project}/serviceAccounts/{email}")})
        );
    }
    // The account-level viewer binding does not reach the project's list.
    assert_eq!(
        reader
            .status(
                "GET",
                &format!("/v1/projects/{PROJECT}/serviceAccounts"),
                None
            )
            .await,
        403
    );
}

#[tokio::test]
async fn delete_and_reset_turn_enforcement_off() {
    let server = Server::start("127.0.0.1:0").unwrap();
    let anyone = Api::new(&server, None);
    let on = serde_json::to_value(config()).unwrap();

    assert_eq!(admin(&server, "POST", Some(on.clone())).await.0, 200);
    assert_eq!(anyone.create_secret("a").await.0, 401);
    assert_eq!(
        admin(&server, "DELETE", None).await,
        (200, json!({"enforced": false}))
    );
    assert_eq!(
        admin(&server, "GET", None).await.1,
        json!({"enforced": false})
    );
    assert_eq!(anyone.create_secret("a").await.0, 200);

    assert_eq!(admin(&server, "POST", Some(on.clone())).await.0, 200);
    assert_eq!(anyone.create_secret("b").await.0, 401);
    assert_eq!(
        Api::new(&server, None)
            .call("POST", "/_admin/reset", None)
            .await
            .0,
        200
    );
    assert_eq!(
        admin(&server, "GET", None).await.1,
        json!({"enforced": false})
    );
    assert_eq!(anyone.create_secret("b").await.0, 200);

    server.enforce_iam(config()).unwrap();
    assert_eq!(anyone.create_secret("c").await.0, 401);
    server.reset();
    assert!(server.iam_enforcement().is_none());
    assert_eq!(anyone.create_secret("c").await.0, 200);

    // A new POST replaces the previous configuration.
    server.enforce_iam(config()).unwrap();
    let only_owner = json!({"tokens": {"t2": OWNER}});
    assert_eq!(admin(&server, "POST", Some(only_owner)).await.0, 200);
    assert_eq!(
        Api::new(&server, Some("migrator-token"))
            .status("GET", "/v1/projects", None)
            .await,
        401
    );
    assert_eq!(
        Api::new(&server, Some("t2"))
            .status("GET", "/v1/projects", None)
            .await,
        200
    );
}

#[tokio::test]
async fn bad_configurations_are_refused_and_change_nothing() {
    let server = Server::start("127.0.0.1:0").unwrap();
    for bad in [
        json!({"tokens": {"t": "migrator@p.iam.gserviceaccount.com"}}),
        json!({"roles": {"custom": ["a.b.c"]}}),
        json!({"roles": {"roles/x": ["not-a-permission"]}}),
        json!({"tokens": {}, "unknown": 1}),
    ] {
        let (status, v) = admin(&server, "POST", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert_eq!(v["error"]["status"], json!("INVALID_ARGUMENT"));
    }
    assert_eq!(
        admin(&server, "GET", None).await.1,
        json!({"enforced": false})
    );
    assert!(server
        .enforce_iam(IamConfig::new().token("t", "nobody"))
        .is_err());
    assert!(server.iam_enforcement().is_none());
}

#[tokio::test]
async fn faults_apply_before_enforcement() {
    let server = Server::start("127.0.0.1:0").unwrap();
    server.enforce_iam(config()).unwrap();
    server
        .set_faults(Some(FaultConfig {
            rate: 1.0,
            seed: 1,
            kinds: vec![FaultKind::Unavailable],
        }))
        .unwrap();
    let (status, v) = Api::new(&server, None).create_secret("a").await;
    assert_eq!(status, 503, "{v}");
    server.set_faults(None).unwrap();
    assert_eq!(Api::new(&server, None).create_secret("a").await.0, 401);
}
