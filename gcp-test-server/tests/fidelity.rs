//! Proof of fidelity for the GCP test server.
//!
//! 1. `gcloud`, pointed at the server through `CLOUDSDK_API_ENDPOINT_OVERRIDES_*`,
//!    creates, lists, reads, updates and deletes secrets (global and regional),
//!    versions, service accounts, keys and IAM bindings (project bindings with a
//!    condition, secret, service-account and organization bindings), and the test
//!    checks from the server's request counts that every call reached it.
//! 2. Google's Python clients (google-cloud-secret-manager over REST, and
//!    google-api-python-client's discovery clients for IAM v1 and Resource Manager
//!    v1/v3) run the scripts in `tests/python/`.
//! 3. Plain HTTP checks of what those clients do not reach: pagination, stale etags,
//!    CRC32C, `latest`, destroyed versions, `keyTypes`, numeric enums, the error body,
//!    malformed input, fault mode, request counts, seeding, the hierarchy, and the
//!    library and binary entry points.
//!
//! A missing `gcloud` or Python environment is a failure with a hint, never a skip.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use gcp_test_server::{FaultConfig, FaultKind, Server, ServerHandle};
use serde_json::{json, Value};

// ------------------------------------------------------------------ helpers

/// The server binary on a free port; killed when dropped.
struct BinaryServer {
    child: Child,
    url: String,
}

impl BinaryServer {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gcp-test-server"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the gcp-test-server binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the first stdout line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line should be `listening on URL`, got {line:?}"))
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        BinaryServer { child, url }
    }
}

impl Drop for BinaryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking JSON POST (for seeding the binary server from a sync test).
fn post_json(base: &str, path: &str, body: &Value) -> Value {
    http_json(base, "POST", path, body)
}

/// A minimal blocking JSON request over a fresh connection.
fn http_json(base: &str, method: &str, path: &str, body: &Value) -> Value {
    use std::io::{Read as _, Write as _};
    let addr = base.strip_prefix("http://").expect("http URL");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the server");
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
    let json = &response[response.find("\r\n\r\n").expect("headers end") + 4..];
    serde_json::from_str(json).expect("JSON response")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

const PYTHON_HINT: &str = "run ./scripts/test.sh (it installs tests/requirements.txt into .venv)";

fn python() -> PathBuf {
    let python = match std::env::var_os("HANDOVER_TEST_VENV") {
        Some(venv) => PathBuf::from(venv).join("bin/python"),
        None => repo_root().join(".venv/bin/python"),
    };
    assert!(
        python.exists(),
        "no Python interpreter at {}: {PYTHON_HINT}",
        python.display()
    );
    let check = Command::new(&python)
        .args([
            "-c",
            "import google.cloud.secretmanager, googleapiclient.discovery, google.auth",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}: {PYTHON_HINT}", python.display()));
    assert!(
        check.status.success(),
        "Google's Python clients are not importable with {}: {}\n{PYTHON_HINT}",
        python.display(),
        String::from_utf8_lossy(&check.stderr)
    );
    python
}

fn run_python_script(script: &str, url: &str, project: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = Command::new(python())
        .arg(&path)
        .args([url, project])
        .output()
        .expect("run the Python script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("ok"),
        "{script} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// gcloud wired to one server, with a throwaway configuration directory.
struct Gcloud {
    url: String,
    config: tempfile::TempDir,
    project: String,
}

impl Gcloud {
    fn new(url: &str, project: &str) -> Self {
        let found = Command::new("gcloud")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        assert!(
            found.is_ok_and(|s| s.success()),
            "gcloud is not installed or does not run: install the Google Cloud CLI: apt-get install google-cloud-cli"
        );
        Gcloud {
            url: format!("{url}/"),
            config: tempfile::tempdir().expect("temp dir"),
            project: project.to_owned(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("gcloud");
        cmd.args(args)
            .args(["--quiet", "--format=json"])
            .env("CLOUDSDK_CONFIG", self.config.path())
            .env("CLOUDSDK_CORE_PROJECT", &self.project)
            .env("CLOUDSDK_AUTH_DISABLE_CREDENTIALS", "true")
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
            .env("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "true")
            .env("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true")
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER", &self.url)
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", &self.url)
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDASSET", &self.url)
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_APIKEYS", &self.url)
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", &self.url)
            .env(
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER",
                &self.url,
            )
            .stdin(Stdio::null());
        cmd
    }

    /// Runs a command that must succeed and returns its JSON output (null if empty).
    fn json(&self, args: &[&str]) -> Value {
        let out = self.command(args).output().expect("run gcloud");
        assert!(
            out.status.success(),
            "gcloud {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("gcloud {} printed non-JSON ({e}): {text}", args.join(" ")))
    }

    /// Runs a command that must succeed, feeding `stdin`, and returns stdout.
    fn with_stdin(&self, args: &[&str], stdin: &[u8]) -> String {
        use std::io::Write as _;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run gcloud");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write stdin");
        let out = child.wait_with_output().expect("gcloud finishes");
        assert!(
            out.status.success(),
            "gcloud {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn in_process() -> ServerHandle {
    Server::start("127.0.0.1:0").expect("start the server in-process")
}

/// A small JSON-over-HTTP client; a fresh connection per request so a dropped
/// connection affects exactly one request.
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(server: &ServerHandle) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        Api {
            base: server.url(),
            http,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.try_call(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    async fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth("any-token-is-fine");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        Ok((status, value))
    }

    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body).await;
        assert_eq!(status, 200, "{method} {path}: {v}");
        v
    }

    /// Asserts the standard error body and returns its message.
    async fn err(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        code: u16,
        status: &str,
    ) -> String {
        let (got, v) = self.call(method, path, body).await;
        assert_eq!(got, code, "{method} {path}: {v}");
        assert_error_shape(&v, code, status);
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

fn assert_error_shape(v: &Value, code: u16, status: &str) {
    let e = &v["error"];
    assert_eq!(e["code"], json!(code), "{v}");
    assert_eq!(e["status"], json!(status), "{v}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert_eq!(
        v.as_object().map(|o| o.len()),
        Some(1),
        "only `error` at the top: {v}"
    );
}

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

async fn create_secret(api: &Api, project: &str, id: &str) -> Value {
    api.ok(
        "POST",
        &format!("/v1/projects/{project}/secrets?secretId={id}"),
        Some(json!({"replication": {"automatic": {}}})),
    )
    .await
}

async fn add_version(api: &Api, project: &str, id: &str, data: &[u8]) -> Value {
    let crc = gcp_test_server::util::crc32c(data).to_string();
    api.ok(
        "POST",
        &format!("/v1/projects/{project}/secrets/{id}:addVersion"),
        Some(json!({"payload": {"data": b64(data), "dataCrc32c": crc}})),
    )
    .await
}

// ------------------------------------------------------------------ 1. gcloud

#[test]
fn gcloud_drives_the_server() {
    let server = BinaryServer::start();
    let project = "gcloud-proj";
    let g = Gcloud::new(&server.url, project);

    // Secrets and versions.
    g.with_stdin(
        &[
            "secrets",
            "create",
            "db-password",
            "--data-file=-",
            "--labels=env=prod",
        ],
        b"s3cr3t-v1",
    );
    g.json(&[
        "secrets",
        "create",
        "api-token",
        "--replication-policy=user-managed",
        "--locations=europe-west1,us-east1",
    ]);
    let payload_file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(payload_file.path(), b"s3cr3t-v2 \xe2\x9c\x93").expect("write payload");
    let path = payload_file.path().to_str().expect("utf-8 path");
    let added = g.json(&[
        "secrets",
        "versions",
        "add",
        "db-password",
        &format!("--data-file={path}"),
    ]);
    assert_eq!(added["state"], "ENABLED");
    assert!(
        added["name"]
            .as_str()
            .unwrap()
            .ends_with("/secrets/db-password/versions/2"),
        "{added}"
    );

    let secrets = g.json(&["secrets", "list"]);
    let names: Vec<&str> = secrets
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{secrets}");
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("projects/") && !n.contains(project)),
        "names carry the project number: {names:?}"
    );
    let described = g.json(&["secrets", "describe", "api-token"]);
    assert_eq!(
        described["replication"]["userManaged"]["replicas"][1]["location"],
        "us-east1"
    );

    let versions = g.json(&["secrets", "versions", "list", "db-password"]);
    assert_eq!(versions.as_array().unwrap().len(), 2, "{versions}");
    let latest = g.json(&[
        "secrets",
        "versions",
        "access",
        "latest",
        "--secret=db-password",
    ]);
    let data = latest["payload"]["data"].as_str().unwrap();
    assert_eq!(data, b64("s3cr3t-v2 ✓".as_bytes()), "the value round-trips");
    let first = g.json(&["secrets", "versions", "access", "1", "--secret=db-password"]);
    assert_eq!(
        first["payload"]["data"],
        b64(b"s3cr3t-v1"),
        "the value given on stdin round-trips"
    );
    g.json(&[
        "secrets",
        "versions",
        "disable",
        "2",
        "--secret=db-password",
    ]);
    // `latest` is the most recently created version, enabled or not (corrected: it used
    // to skip the disabled one; `gcloud_sees_latest_as_the_newest_created_version`
    // asserts Google's answers in full).
    let refused = g
        .command(&[
            "secrets",
            "versions",
            "access",
            "latest",
            "--secret=db-password",
        ])
        .output()
        .unwrap();
    assert!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stderr)
                .contains("/versions/2] is in DISABLED state"),
        "latest is the disabled version 2: {}",
        String::from_utf8_lossy(&refused.stderr)
    );
    g.json(&["secrets", "versions", "enable", "2", "--secret=db-password"]);

    // A regional secret (gcloud sends it to the same endpoint override).
    g.with_stdin(
        &[
            "secrets",
            "create",
            "eu-token",
            "--location=europe-west1",
            "--data-file=-",
        ],
        b"eu-value",
    );
    let regional = g.json(&["secrets", "list", "--location=europe-west1"]);
    assert!(
        regional[0]["name"]
            .as_str()
            .unwrap()
            .ends_with("/locations/europe-west1/secrets/eu-token"),
        "{regional}"
    );
    let eu = g.json(&[
        "secrets",
        "versions",
        "access",
        "latest",
        "--secret=eu-token",
        "--location=europe-west1",
    ]);
    assert_eq!(eu["payload"]["data"], b64(b"eu-value"));

    // Service accounts and keys.
    let sa = g.json(&[
        "iam",
        "service-accounts",
        "create",
        "deploy-bot",
        "--display-name=Deploy bot",
    ]);
    let email = "deploy-bot@gcloud-proj.iam.gserviceaccount.com";
    assert_eq!(sa["email"], email);
    g.json(&[
        "iam",
        "service-accounts",
        "create",
        "ci-runner",
        "--description=agency CI",
    ]);
    let accounts = g.json(&["iam", "service-accounts", "list"]);
    assert_eq!(accounts.as_array().unwrap().len(), 2, "{accounts}");

    // Secret IAM (after the account exists: Google refuses a binding to a service
    // account that does not exist).
    g.json(&[
        "secrets",
        "add-iam-policy-binding",
        "db-password",
        "--member=serviceAccount:deploy-bot@gcloud-proj.iam.gserviceaccount.com",
        "--role=roles/secretmanager.secretAccessor",
    ]);
    let policy = g.json(&["secrets", "get-iam-policy", "db-password"]);
    assert_eq!(
        policy["bindings"][0]["role"], "roles/secretmanager.secretAccessor",
        "{policy}"
    );
    assert_eq!(
        policy["bindings"][0]["members"][0],
        "serviceAccount:deploy-bot@gcloud-proj.iam.gserviceaccount.com"
    );

    let key_dir = tempfile::tempdir().unwrap();
    let key_file = key_dir.path().join("key.json");
    g.json(&[
        "iam",
        "service-accounts",
        "keys",
        "create",
        key_file.to_str().unwrap(),
        &format!("--iam-account={email}"),
    ]);
    let key: Value =
        serde_json::from_slice(&std::fs::read(&key_file).expect("gcloud wrote the key file"))
            .expect("key file is JSON");
    assert_eq!(key["type"], "service_account");
    assert_eq!(key["client_email"], email);
    let keys = g.json(&[
        "iam",
        "service-accounts",
        "keys",
        "list",
        &format!("--iam-account={email}"),
        "--managed-by=user",
    ]);
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0]["name"]
        .as_str()
        .unwrap()
        .ends_with(key["private_key_id"].as_str().unwrap()));
    assert_eq!(keys[0]["keyType"], "USER_MANAGED");
    let system = g.json(&[
        "iam",
        "service-accounts",
        "keys",
        "list",
        &format!("--iam-account={email}"),
        "--managed-by=system",
    ]);
    assert_eq!(system, json!([]));
    g.json(&[
        "iam",
        "service-accounts",
        "add-iam-policy-binding",
        email,
        "--member=user:lead@agency.example",
        "--role=roles/iam.serviceAccountTokenCreator",
    ]);
    let sa_policy = g.json(&["iam", "service-accounts", "get-iam-policy", email]);
    assert_eq!(
        sa_policy["bindings"][0]["role"],
        "roles/iam.serviceAccountTokenCreator"
    );

    // Project IAM, one binding with a condition.
    g.json(&[
        "projects",
        "add-iam-policy-binding",
        project,
        "--member=user:lead@agency.example",
        "--role=roles/viewer",
    ]);
    g.json(&[
        "projects",
        "add-iam-policy-binding",
        project,
        "--member=group:ops@agency.example",
        "--role=roles/secretmanager.secretAccessor",
        "--condition=expression=request.time < timestamp(\"2030-01-01T00:00:00Z\"),title=adoption-period",
    ]);
    let policy = g.json(&["projects", "get-iam-policy", project]);
    assert_eq!(policy["version"], 3, "{policy}");
    let bindings = policy["bindings"].as_array().unwrap();
    assert_eq!(bindings.len(), 2, "{policy}");
    let cond = bindings
        .iter()
        .find(|b| b.get("condition").is_some())
        .expect("the conditional binding");
    assert_eq!(cond["condition"]["title"], "adoption-period");
    assert_eq!(cond["members"], json!(["group:ops@agency.example"]));
    let described = g.json(&["projects", "describe", project]);
    assert_eq!(described["projectId"], project);
    assert_eq!(described["lifecycleState"], "ACTIVE");

    // The hierarchy above the project, and its policies.
    post_json(
        &server.url,
        "/_admin/seed",
        &json!({"organizations": [{"id": "10", "displayName": "customer.example"}], "projects": [{"projectId": project, "parent": "organizations/10"}]}),
    );
    let orgs = g.json(&["organizations", "list"]);
    assert_eq!(orgs[0]["displayName"], "customer.example", "{orgs}");
    let ancestors = g.json(&["projects", "get-ancestors", project]);
    assert_eq!(ancestors[1], json!({"id": "10", "type": "organization"}));
    g.json(&[
        "organizations",
        "add-iam-policy-binding",
        "10",
        "--member=group:admins@customer.example",
        "--role=roles/resourcemanager.organizationAdmin",
    ]);
    let org_policy = g.json(&["organizations", "get-iam-policy", "10"]);
    assert_eq!(
        org_policy["bindings"][0]["members"],
        json!(["group:admins@customer.example"])
    );
    let projects = g.json(&["projects", "list"]);
    assert_eq!(
        projects[0]["parent"],
        json!({"id": "10", "type": "organization"})
    );

    // Updating, destroying and deleting.
    g.json(&[
        "secrets",
        "update",
        "api-token",
        "--update-labels=owner=customer",
    ]);
    assert_eq!(
        g.json(&["secrets", "describe", "api-token"])["labels"],
        json!({"owner": "customer"})
    );
    let destroyed = g.json(&[
        "secrets",
        "versions",
        "destroy",
        "1",
        "--secret=db-password",
    ]);
    assert_eq!(destroyed["state"], "DESTROYED");
    let failed = g
        .command(&["secrets", "versions", "access", "1", "--secret=db-password"])
        .output()
        .unwrap();
    assert!(
        !failed.status.success(),
        "a destroyed version cannot be accessed"
    );
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("DESTROYED"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    g.json(&["secrets", "delete", "api-token"]);
    g.json(&[
        "iam",
        "service-accounts",
        "keys",
        "delete",
        key["private_key_id"].as_str().unwrap(),
        &format!("--iam-account={email}"),
    ]);
    let keys = g.json(&[
        "iam",
        "service-accounts",
        "keys",
        "list",
        &format!("--iam-account={email}"),
    ]);
    assert_eq!(keys, json!([]));
    g.json(&["iam", "service-accounts", "delete", email]);
    let accounts = g.json(&["iam", "service-accounts", "list"]);
    assert_eq!(accounts.as_array().unwrap().len(), 1);

    // Every call above reached this server (gcloud did not fall back to Google).
    let counts = http_json(&server.url, "GET", "/_admin/requests", &Value::Null);
    for route in [
        "POST /v1/projects/{project}/secrets",
        "POST /v1/projects/{project}/secrets/{secret}:addVersion",
        "GET /v1/projects/{project}/secrets/{secret}/versions/{version}:access",
        "POST /v1/projects/{project}/serviceAccounts/{account}/keys",
        "POST /v1/projects/{project}:setIamPolicy",
        "POST /v1/organizations:search",
    ] {
        assert!(
            counts["byRoute"][route].as_u64().unwrap_or(0) >= 1,
            "{route} was never called: {counts}"
        );
    }
    assert_eq!(
        counts["byRoute"].get("unmatched"),
        None,
        "gcloud called a route this server lacks: {counts}"
    );
}

// ------------------------------------------------------------------ 2. Python clients

#[test]
fn google_python_secret_manager_client_drives_the_server() {
    let server = BinaryServer::start();
    run_python_script("secretmanager_client.py", &server.url, "py-secrets");
}

#[test]
fn google_python_discovery_clients_drive_the_credential_routes() {
    let server = BinaryServer::start();
    run_python_script("credential_clients.py", &server.url, "py-creds");
}

/// `gcloud services api-keys list`, `gcloud storage hmac list` and `gcloud iam
/// workload-identity-pools list` / `providers list` read what the admin seed made, and
/// the request counts show each reached the server (the `apikeys`, `storage` and `iam`
/// endpoint overrides all reach it).
#[test]
fn gcloud_lists_api_keys_hmac_keys_and_workload_identity() {
    let server = BinaryServer::start();
    let seed = json!({
        "projects": [{"projectId": "gc-creds", "projectNumber": 246813579024u64}],
        "credentials": {
            "apiKeys": [
                {"project": "gc-creds", "key": {"displayName": "browser"}, "keyString": "AIzaSyCANARYCANARYCANARYCANARY0000000"},
                {"project": "gc-creds", "key": {"displayName": "server", "restrictions": {"serverKeyRestrictions": {"allowedIps": ["203.0.113.7"]}}}}
            ],
            "hmacKeys": [{"project": "gc-creds", "serviceAccountEmail": "ci@gc-creds.iam.gserviceaccount.com", "secret": "hmac-secret-canary"}],
            "workloadIdentityPools": [{"project": "gc-creds", "poolId": "github", "pool": {"displayName": "GitHub"}}],
            "workloadIdentityPoolProviders": [{"project": "gc-creds", "poolId": "github", "providerId": "agency-ci", "provider": {
                "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"},
                "attributeMapping": {"google.subject": "assertion.sub"}
            }}]
        }
    });
    post_json(&server.url, "/_admin/seed", &seed);
    let gcloud = Gcloud::new(&server.url, "gc-creds");
    let keys = gcloud.json(&["services", "api-keys", "list"]);
    let names: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["browser", "server"]);
    assert!(keys[0]["name"]
        .as_str()
        .unwrap()
        .starts_with("projects/246813579024/locations/global/keys/"));
    assert_eq!(
        keys[1]["restrictions"]["serverKeyRestrictions"]["allowedIps"],
        json!(["203.0.113.7"])
    );
    assert!(
        !keys.to_string().contains("CANARY"),
        "list showed a key string"
    );
    let hmac = gcloud.json(&["storage", "hmac", "list"]);
    assert_eq!(
        hmac[0]["serviceAccountEmail"],
        "ci@gc-creds.iam.gserviceaccount.com"
    );
    assert_eq!(hmac[0]["state"], "ACTIVE");
    assert!(!hmac.to_string().contains("canary"), "list showed a secret");
    let pools = gcloud.json(&[
        "iam",
        "workload-identity-pools",
        "list",
        "--location=global",
    ]);
    assert_eq!(pools[0]["displayName"], "GitHub");
    let providers = gcloud.json(&[
        "iam",
        "workload-identity-pools",
        "providers",
        "list",
        "--location=global",
        "--workload-identity-pool=github",
    ]);
    assert_eq!(
        providers[0]["oidc"]["issuerUri"],
        "https://token.actions.githubusercontent.com"
    );
    assert!(providers[0].get("attributeCondition").is_none());
    let counts = http_json(&server.url, "GET", "/_admin/requests", &Value::Null);
    for route in [
        "GET /v2/projects/{project}/locations/{location}/keys",
        "GET /storage/v1/projects/{project}/hmacKeys",
        "GET /v1/projects/{project}/locations/{location}/workloadIdentityPools",
        "GET /v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers",
    ] {
        assert_eq!(counts["byRoute"][route], 1, "{route}: {counts}");
    }
}

#[test]
fn google_python_discovery_clients_drive_the_server() {
    let server = BinaryServer::start();
    run_python_script("discovery_clients.py", &server.url, "py-discovery");
}

/// Resource Manager v3 folders, v1 getAncestry and the Cloud Asset Inventory searches,
/// through the discovery clients built from Google's own discovery documents.
#[test]
fn google_python_discovery_clients_drive_the_hierarchy_and_asset_routes() {
    let server = BinaryServer::start();
    run_python_script("hierarchy_clients.py", &server.url, "py-hierarchy");
}

// ------------------------------------------------------------------ 3. semantics

#[tokio::test]
async fn secret_lists_page_like_google() {
    let server = in_process();
    let api = Api::new(&server);
    for i in 0..7 {
        create_secret(&api, "paging", &format!("s{i}")).await;
    }
    let mut token: Option<String> = None;
    let mut sizes = Vec::new();
    let mut names = Vec::new();
    loop {
        let mut path = "/v1/projects/paging/secrets?pageSize=3".to_owned();
        if let Some(t) = &token {
            path += &format!("&pageToken={t}");
        }
        let page = api.ok("GET", &path, None).await;
        let secrets = page["secrets"].as_array().unwrap();
        sizes.push(secrets.len());
        names.extend(secrets.iter().map(|s| {
            s["name"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        }));
        assert_eq!(page["totalSize"], 7);
        match page.get("nextPageToken") {
            Some(t) => token = Some(t.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(
        names,
        ["s6", "s5", "s4", "s3", "s2", "s1", "s0"],
        "newest first"
    );
    // 0 and absent mean the default page size (everything here).
    for path in [
        "/v1/projects/paging/secrets?pageSize=0",
        "/v1/projects/paging/secrets",
    ] {
        let all = api.ok("GET", path, None).await;
        assert_eq!(all["secrets"].as_array().unwrap().len(), 7);
        assert!(
            all.get("nextPageToken").is_none(),
            "no token on the last page: {all}"
        );
    }
    api.err(
        "GET",
        "/v1/projects/paging/secrets?pageToken=not-a-token",
        None,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    api.err(
        "GET",
        "/v1/projects/paging/secrets?pageSize=-1",
        None,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    api.err(
        "GET",
        "/v1/projects/paging/secrets?pageSize=abc",
        None,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    // A token from one list is refused by another.
    let page = api
        .ok("GET", "/v1/projects/paging/secrets?pageSize=2", None)
        .await;
    let t = page["nextPageToken"].as_str().unwrap();
    api.err(
        "GET",
        &format!("/v1/projects/other/secrets?pageToken={t}"),
        None,
        400,
        "INVALID_ARGUMENT",
    )
    .await;

    // Service accounts: IAM's default page is 20.
    for i in 0..23 {
        api.ok(
            "POST",
            "/v1/projects/paging/serviceAccounts",
            Some(json!({"accountId": format!("robot-{i:02}")})),
        )
        .await;
    }
    let first = api
        .ok("GET", "/v1/projects/paging/serviceAccounts", None)
        .await;
    assert_eq!(first["accounts"].as_array().unwrap().len(), 20);
    let t = first["nextPageToken"].as_str().unwrap();
    let second = api
        .ok(
            "GET",
            &format!("/v1/projects/paging/serviceAccounts?pageToken={t}"),
            None,
        )
        .await;
    assert_eq!(second["accounts"].as_array().unwrap().len(), 3);
    assert!(second.get("nextPageToken").is_none());
}

#[tokio::test]
async fn stale_etags_are_refused_with_409_aborted() {
    let server = in_process();
    let api = Api::new(&server);
    let empty = api
        .ok("POST", "/v3/projects/etags:getIamPolicy", Some(json!({})))
        .await;
    let e0 = empty["etag"].as_str().unwrap().to_owned();
    let policy = json!({"bindings": [{"role": "roles/viewer", "members": ["user:a@x.example"]}], "etag": e0});
    let written = api
        .ok(
            "POST",
            "/v3/projects/etags:setIamPolicy",
            Some(json!({"policy": policy})),
        )
        .await;
    let e1 = written["etag"].as_str().unwrap().to_owned();
    assert_ne!(e0, e1, "every write changes the etag");
    assert!(base64_ok(&e1), "etags are base64: {e1}");
    api.err(
        "POST",
        "/v3/projects/etags:setIamPolicy",
        Some(json!({"policy": policy})),
        409,
        "ABORTED",
    )
    .await;
    // v1 and v3 share the policy; a write through v1 makes the v3 etag stale too.
    let again = json!({"policy": {"bindings": [], "etag": e1}});
    let e2 = api
        .ok(
            "POST",
            "/v1/projects/etags:setIamPolicy",
            Some(again.clone()),
        )
        .await["etag"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(e1, e2);
    api.err(
        "POST",
        "/v3/projects/etags:setIamPolicy",
        Some(again),
        409,
        "ABORTED",
    )
    .await;

    // Secret Manager: deleting with a stale etag.
    let s = create_secret(&api, "etags", "guarded").await;
    let patched = api
        .ok(
            "PATCH",
            "/v1/projects/etags/secrets/guarded?updateMask=labels",
            Some(json!({"labels": {"a": "b"}, "etag": s["etag"]})),
        )
        .await;
    assert_ne!(patched["etag"], s["etag"]);
    let stale = s["etag"].as_str().unwrap();
    let q: String = url_encode(stale);
    api.err(
        "DELETE",
        &format!("/v1/projects/etags/secrets/guarded?etag={q}"),
        None,
        409,
        "ABORTED",
    )
    .await;
    let fresh = url_encode(patched["etag"].as_str().unwrap());
    api.ok(
        "DELETE",
        &format!("/v1/projects/etags/secrets/guarded?etag={fresh}"),
        None,
    )
    .await;
}

fn base64_ok(s: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).is_ok()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn payload_checksums_are_verified() {
    let server = in_process();
    let api = Api::new(&server);
    create_secret(&api, "crc", "s").await;
    let msg = api
        .err(
            "POST",
            "/v1/projects/crc/secrets/s:addVersion",
            Some(json!({"payload": {"data": b64(b"abc"), "dataCrc32c": "1"}})),
            400,
            "INVALID_ARGUMENT",
        )
        .await;
    assert!(msg.to_lowercase().contains("crc32c"), "{msg}");
    // Without a checksum the server computes one and says the client gave none.
    let v = api
        .ok(
            "POST",
            "/v1/projects/crc/secrets/s:addVersion",
            Some(json!({"payload": {"data": b64(b"abc")}})),
        )
        .await;
    assert!(v.get("clientSpecifiedPayloadChecksum").is_none(), "{v}");
    let got = api
        .ok("GET", "/v1/projects/crc/secrets/s/versions/1:access", None)
        .await;
    assert_eq!(
        got["payload"]["dataCrc32c"], "910901175",
        "CRC32C(\"abc\") as an int64 string"
    );
    let v = add_version(&api, "crc", "s", b"abc").await;
    assert_eq!(v["clientSpecifiedPayloadChecksum"], true);
    // Oversized payloads and bad base64 are refused.
    let big = vec![b'x'; 64 * 1024 + 1];
    api.err(
        "POST",
        "/v1/projects/crc/secrets/s:addVersion",
        Some(json!({"payload": {"data": b64(&big)}})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    api.err(
        "POST",
        "/v1/projects/crc/secrets/s:addVersion",
        Some(json!({"payload": {"data": "***"}})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
}

#[tokio::test]
async fn latest_and_version_states() {
    let server = in_process();
    let api = Api::new(&server);
    create_secret(&api, "states", "s").await;
    api.err(
        "GET",
        "/v1/projects/states/secrets/s/versions/latest:access",
        None,
        404,
        "NOT_FOUND",
    )
    .await;
    for v in [b"one".as_slice(), b"two", b"three"] {
        add_version(&api, "states", "s", v).await;
    }
    let base = "/v1/projects/states/secrets/s/versions";
    let access = |v: &str| format!("{base}/{v}:access");
    assert_eq!(
        api.ok("GET", &access("latest"), None).await["payload"]["data"],
        b64(b"three")
    );
    api.ok("POST", &format!("{base}/3:disable"), Some(json!({})))
        .await;
    // `latest` is the most recently created version (3), disabled or not.
    let msg = api
        .err("GET", &access("latest"), None, 400, "FAILED_PRECONDITION")
        .await;
    assert!(msg.ends_with("/versions/3] is in DISABLED state."), "{msg}");
    let described = api.ok("GET", &format!("{base}/latest"), None).await;
    assert_eq!(described["state"], "DISABLED", "{described}");
    assert!(described["name"].as_str().unwrap().ends_with("/versions/3"));
    api.err("GET", &access("3"), None, 400, "FAILED_PRECONDITION")
        .await;
    api.ok("POST", &format!("{base}/3:destroy"), Some(json!({})))
        .await;

    let destroyed = api
        .ok("POST", &format!("{base}/2:destroy"), Some(json!({})))
        .await;
    assert_eq!(destroyed["state"], "DESTROYED");
    assert!(destroyed["destroyTime"].as_str().unwrap().ends_with('Z'));
    api.err("GET", &access("2"), None, 400, "FAILED_PRECONDITION")
        .await;
    api.err(
        "POST",
        &format!("{base}/2:enable"),
        Some(json!({})),
        400,
        "FAILED_PRECONDITION",
    )
    .await;
    let msg = api
        .err("GET", &access("latest"), None, 400, "FAILED_PRECONDITION")
        .await;
    assert!(
        msg.ends_with("/versions/3] is in DESTROYED state."),
        "{msg}"
    );
    assert_eq!(
        api.ok("GET", &access("1"), None).await["payload"]["data"],
        b64(b"one")
    );
    let got = api.ok("GET", &format!("{base}/2"), None).await;
    assert_eq!(
        got["state"], "DESTROYED",
        "a destroyed version keeps its metadata"
    );

    // Version etags guard state changes.
    let v1 = api.ok("GET", &format!("{base}/1"), None).await;
    api.err(
        "POST",
        &format!("{base}/1:disable"),
        Some(json!({"etag": "\"stale\""})),
        409,
        "ABORTED",
    )
    .await;
    api.ok(
        "POST",
        &format!("{base}/1:disable"),
        Some(json!({"etag": v1["etag"]})),
    )
    .await;
    api.err("GET", &access("latest"), None, 400, "FAILED_PRECONDITION")
        .await;

    // Listing shows every state, newest first; the filter narrows it.
    let list = api.ok("GET", base, None).await;
    let states: Vec<&str> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["DESTROYED", "DESTROYED", "DISABLED"]);
    let filtered = api
        .ok("GET", &format!("{base}?filter=state%3ADESTROYED"), None)
        .await;
    assert_eq!(filtered["versions"].as_array().unwrap().len(), 2);
    // Version numbers are never reused.
    let v4 = add_version(&api, "states", "s", b"four").await;
    assert!(v4["name"].as_str().unwrap().ends_with("/versions/4"));
}

#[tokio::test]
async fn key_types_filter_and_admin_seeding() {
    let server = in_process();
    let api = Api::new(&server);
    api.ok(
        "POST",
        "/v1/projects/keys-proj/serviceAccounts",
        Some(json!({"accountId": "deployer"})),
    )
    .await;
    let email = "deployer@keys-proj.iam.gserviceaccount.com";
    let sa_path = format!("/v1/projects/-/serviceAccounts/{email}");
    let user_key = api
        .ok("POST", &format!("{sa_path}/keys"), Some(json!({})))
        .await;
    let seeded = api
        .ok(
            "POST",
            "/_admin/seed",
            Some(json!({
                "systemManagedKeys": [{"serviceAccount": email, "validAfterTime": "2025-01-01T00:00:00Z"}],
                "keyTimes": [{"name": user_key["name"], "validAfterTime": "2020-02-03T04:05:06Z"}],
            })),
        )
        .await;
    assert_eq!(seeded["systemManagedKeys"][0]["keyType"], "SYSTEM_MANAGED");
    assert_eq!(
        seeded["systemManagedKeys"][0]["validBeforeTime"],
        "2025-01-15T00:00:00Z"
    );
    let list = |q: &'static str| {
        let api = &api;
        let path = format!("{sa_path}/keys{q}");
        async move {
            let v = api.ok("GET", &path, None).await;
            v["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["keyType"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("").await, ["USER_MANAGED", "SYSTEM_MANAGED"]);
    assert_eq!(list("?keyTypes=USER_MANAGED").await, ["USER_MANAGED"]);
    assert_eq!(list("?keyTypes=SYSTEM_MANAGED").await, ["SYSTEM_MANAGED"]);
    assert_eq!(
        list("?keyTypes=USER_MANAGED&keyTypes=SYSTEM_MANAGED").await,
        ["USER_MANAGED", "SYSTEM_MANAGED"]
    );
    api.err(
        "GET",
        &format!("{sa_path}/keys?keyTypes=KEY_TYPE_UNSPECIFIED"),
        None,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    let key = api
        .ok(
            "GET",
            &format!("/v1/{}", user_key["name"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        key["validAfterTime"], "2020-02-03T04:05:06Z",
        "back-dated by the admin seed"
    );
    assert!(key.get("privateKeyData").is_none());
    // Clients that ask for `enum-encoding=int` (the google-cloud-rust crates) send enum
    // values as numbers, in bodies and in query parameters.
    let numeric = api
        .ok(
            "POST",
            &format!("{sa_path}/keys?%24alt=json%3Benum-encoding%3Dint"),
            Some(json!({"privateKeyType": 2, "keyAlgorithm": 2})),
        )
        .await;
    assert_eq!(numeric["keyAlgorithm"], "KEY_ALG_RSA_2048");
    assert!(numeric["privateKeyData"].is_string());
    assert_eq!(list("?keyTypes=1").await, ["USER_MANAGED", "USER_MANAGED"]);
    let with_cert = api
        .ok(
            "GET",
            &format!("/v1/{}?publicKeyType=1", numeric["name"].as_str().unwrap()),
            None,
        )
        .await;
    assert!(with_cert["publicKeyData"].is_string());
    // Uploaded keys are user-managed and USER_PROVIDED.
    let cert = b64(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    let uploaded = api
        .ok(
            "POST",
            &format!("{sa_path}/keys:upload"),
            Some(json!({"publicKeyData": cert})),
        )
        .await;
    assert_eq!(uploaded["keyOrigin"], "USER_PROVIDED");
    assert_eq!(uploaded["keyType"], "USER_MANAGED");
    api.err(
        "POST",
        &format!("{sa_path}/keys:upload"),
        Some(json!({"publicKeyData": b64(b"not a cert")})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    // System-managed keys cannot be deleted by users.
    let sys_name = seeded["systemManagedKeys"][0]["name"].as_str().unwrap();
    api.err(
        "DELETE",
        &format!("/v1/{sys_name}"),
        None,
        400,
        "FAILED_PRECONDITION",
    )
    .await;
    // The account is found by unique id too, and not under another project.
    let sa = api.ok("GET", &sa_path, None).await;
    api.ok(
        "GET",
        &format!(
            "/v1/projects/-/serviceAccounts/{}",
            sa["uniqueId"].as_str().unwrap()
        ),
        None,
    )
    .await;
    api.err(
        "GET",
        &format!("/v1/projects/elsewhere/serviceAccounts/{email}"),
        None,
        404,
        "NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn errors_use_the_standard_body() {
    let server = in_process();
    let api = Api::new(&server);
    api.err(
        "GET",
        "/v1/projects/e/secrets/missing",
        None,
        404,
        "NOT_FOUND",
    )
    .await;
    api.err("GET", "/v9/nothing/here", None, 404, "NOT_FOUND")
        .await;
    api.err(
        "POST",
        "/v1/projects/e/secrets?secretId=bad%20id",
        Some(json!({"replication": {"automatic": {}}})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    api.err(
        "POST",
        "/v1/projects/e/secrets?secretId=norep",
        Some(json!({})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    create_secret(&api, "e", "dup").await;
    api.err(
        "POST",
        "/v1/projects/e/secrets?secretId=dup",
        Some(json!({"replication": {"automatic": {}}})),
        409,
        "ALREADY_EXISTS",
    )
    .await;
    api.err(
        "PATCH",
        "/v1/projects/e/secrets/dup",
        Some(json!({"labels": {}})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    api.err("GET", "/v3/projects/123456", None, 403, "PERMISSION_DENIED")
        .await;
    api.err(
        "POST",
        "/v3/projects/e:setIamPolicy",
        Some(json!({"policy": {"bindings": [{"role": "roles/viewer", "members": ["nobody"]}]}})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    // Bad JSON is a 400, not a crash.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/projects/e/secrets?secretId=x", server.url()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_error_shape(&resp.json().await.unwrap(), 400, "INVALID_ARGUMENT");
    // No token at all is accepted too.
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/projects/e/secrets", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn projects_answer_by_id_and_number() {
    let server = in_process();
    let api = Api::new(&server);
    api.ok("POST", "/_admin/seed", Some(json!({"projects": [{"projectId": "numbered", "projectNumber": "424242424242", "displayName": "Numbered", "parent": "organizations/77"}]}))).await;
    let v1 = api.ok("GET", "/v1/projects/numbered", None).await;
    assert_eq!(v1["projectNumber"], "424242424242");
    assert_eq!(v1["parent"], json!({"type": "organization", "id": "77"}));
    let v3 = api.ok("GET", "/v3/projects/424242424242", None).await;
    assert_eq!(v3["name"], "projects/424242424242");
    assert_eq!(v3["projectId"], "numbered");
    assert_eq!(v3["parent"], "organizations/77");
    let s = create_secret(&api, "numbered", "by-id").await;
    assert_eq!(s["name"], "projects/424242424242/secrets/by-id");
    api.ok("GET", "/v1/projects/424242424242/secrets/by-id", None)
        .await;
    add_version(&api, "424242424242", "by-id", b"v").await;
    let t = api
        .ok(
            "GET",
            "/v1/projects/numbered/secrets/by-id/versions/1",
            None,
        )
        .await;
    assert_eq!(t["name"], "projects/424242424242/secrets/by-id/versions/1");
    assert!(t["createTime"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn secret_fields_round_trip() {
    let server = in_process();
    let api = Api::new(&server);
    let body = json!({
        "replication": {"userManaged": {"replicas": [{"location": "europe-west1"}, {"location": "europe-west4"}]}},
        "labels": {"env": "prod"},
        "annotations": {"owner": "agency"},
        "topics": [{"name": "projects/fields/topics/rotation"}],
        "rotation": {"nextRotationTime": "2099-01-01T00:00:00Z", "rotationPeriod": "2592000s"},
        "ttl": "86400s",
    });
    let s = api
        .ok(
            "POST",
            "/v1/projects/fields/secrets?secretId=full",
            Some(body),
        )
        .await;
    assert_eq!(
        s["rotation"],
        json!({"nextRotationTime": "2099-01-01T00:00:00Z", "rotationPeriod": "2592000s"})
    );
    assert_eq!(s["topics"][0]["name"], "projects/fields/topics/rotation");
    assert!(
        s["expireTime"].as_str().unwrap().ends_with('Z'),
        "ttl becomes expireTime: {s}"
    );
    assert!(s.get("ttl").is_none());
    assert_eq!(s["annotations"], json!({"owner": "agency"}));
    // Rotation needs a topic; the replication policy is immutable.
    api.err("POST", "/v1/projects/fields/secrets?secretId=rot", Some(json!({"replication": {"automatic": {}}, "rotation": {"nextRotationTime": "2099-01-01T00:00:00Z"}})), 400, "INVALID_ARGUMENT").await;
    api.err(
        "PATCH",
        "/v1/projects/fields/secrets/full?updateMask=replication",
        Some(json!({"replication": {"automatic": {}}})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    let p = api
        .ok(
            "PATCH",
            "/v1/projects/fields/secrets/full?updateMask=labels,annotations",
            Some(json!({"labels": {"env": "staging"}})),
        )
        .await;
    assert_eq!(p["labels"], json!({"env": "staging"}));
    assert!(
        p.get("annotations").is_none(),
        "a masked field absent from the body is cleared"
    );
    let filtered = api
        .ok(
            "GET",
            "/v1/projects/fields/secrets?filter=labels.env%3Dstaging",
            None,
        )
        .await;
    assert_eq!(filtered["secrets"].as_array().unwrap().len(), 1);
    assert!(
        filtered.get("totalSize").is_none(),
        "totalSize is 0 (omitted) when filtering"
    );
    let none = api
        .ok(
            "GET",
            "/v1/projects/fields/secrets?filter=labels.env%3Dprod",
            None,
        )
        .await;
    assert!(none.get("secrets").is_none());
    api.err(
        "GET",
        "/v1/projects/fields/secrets?filter=a%20OR%20b",
        None,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
}

#[tokio::test]
async fn fault_mode_is_deterministic_per_seed() {
    let server = in_process();
    let api = Api::new(&server);
    async fn outcomes(api: &Api, seed: u64) -> Vec<String> {
        let (status, _) = api
            .call(
                "POST",
                "/_admin/faults",
                Some(json!({"rate": 0.5, "seed": seed, "kinds": ["429", "503", "drop"]})),
            )
            .await;
        assert_eq!(status, 200);
        let mut seen = Vec::new();
        for _ in 0..40 {
            match api
                .try_call("GET", "/v1/projects/faults/secrets", None)
                .await
            {
                Ok((200, _)) => seen.push("ok".to_owned()),
                Ok((code, body)) => {
                    let status = if code == 429 {
                        "RESOURCE_EXHAUSTED"
                    } else {
                        "UNAVAILABLE"
                    };
                    assert_error_shape(&body, code, status);
                    seen.push(code.to_string());
                }
                Err(_) => seen.push("drop".to_owned()),
            }
        }
        seen
    }
    let a = outcomes(&api, 42).await;
    let b = outcomes(&api, 42).await;
    let c = outcomes(&api, 7).await;
    assert_eq!(a, b, "the same seed gives the same faults");
    assert_ne!(a, c, "another seed gives other faults");
    for kind in ["ok", "429", "503", "drop"] {
        assert!(a.iter().any(|o| o == kind), "{kind} occurs in {a:?}");
    }
    // Admin routes are never faulted.
    api.ok(
        "POST",
        "/_admin/faults",
        Some(json!({"rate": 1.0, "seed": 1, "kinds": ["503"]})),
    )
    .await;
    let counts = api.ok("GET", "/_admin/requests", None).await;
    assert_eq!(counts["total"], 120);
    api.err(
        "GET",
        "/v1/projects/faults/secrets",
        None,
        503,
        "UNAVAILABLE",
    )
    .await;
    let state = api.ok("GET", "/_admin/faults", None).await;
    assert_eq!(state["injected"], 1);
    api.ok("DELETE", "/_admin/faults", None).await;
    api.ok("GET", "/v1/projects/faults/secrets", None).await;
    api.err(
        "POST",
        "/_admin/faults",
        Some(json!({"rate": 2.0})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    // The library API does the same.
    server
        .set_faults(Some(FaultConfig {
            rate: 1.0,
            seed: 3,
            kinds: vec![FaultKind::TooManyRequests],
        }))
        .unwrap();
    api.err(
        "GET",
        "/v1/projects/faults/secrets",
        None,
        429,
        "RESOURCE_EXHAUSTED",
    )
    .await;
    server.set_faults(None).unwrap();
}

#[tokio::test]
async fn requests_are_counted_per_route_and_reset() {
    let server = in_process();
    let api = Api::new(&server);
    create_secret(&api, "counts", "a").await;
    for _ in 0..3 {
        api.ok("GET", "/v1/projects/counts/secrets", None).await;
    }
    api.err("GET", "/nope", None, 404, "NOT_FOUND").await;
    let counts = api.ok("GET", "/_admin/requests", None).await;
    assert_eq!(counts["total"], 5, "{counts}");
    assert_eq!(counts["byRoute"]["GET /v1/projects/{project}/secrets"], 3);
    assert_eq!(counts["byRoute"]["POST /v1/projects/{project}/secrets"], 1);
    assert_eq!(counts["byRoute"]["unmatched"], 1);
    let lib = server.request_counts();
    assert_eq!(lib.total, 5, "admin calls are not counted");
    assert_eq!(lib.route("GET /v1/projects/{project}/secrets"), 3);

    api.ok("POST", "/_admin/reset", None).await;
    assert_eq!(api.ok("GET", "/_admin/requests", None).await["total"], 0);
    api.err(
        "GET",
        "/v1/projects/counts/secrets/a",
        None,
        404,
        "NOT_FOUND",
    )
    .await;
    server.reset();
    assert_eq!(server.request_counts().total, 0);
}

#[tokio::test]
async fn deleted_accounts_show_as_deleted_members_until_undeleted() {
    let server = in_process();
    let api = Api::new(&server);
    let sa = api
        .ok(
            "POST",
            "/v1/projects/gone/serviceAccounts",
            Some(json!({"accountId": "old-robot"})),
        )
        .await;
    let member = format!("serviceAccount:{}", sa["email"].as_str().unwrap());
    let policy = json!({"policy": {"bindings": [{"role": "roles/editor", "members": [member, "user:lead@agency.example"]}]}});
    api.ok("POST", "/v1/projects/gone:setIamPolicy", Some(policy))
        .await;
    api.ok(
        "DELETE",
        &format!("/v1/{}", sa["name"].as_str().unwrap()),
        None,
    )
    .await;
    let read = api
        .ok("POST", "/v1/projects/gone:getIamPolicy", Some(json!({})))
        .await;
    let deleted = format!("deleted:{member}?uid={}", sa["uniqueId"].as_str().unwrap());
    assert_eq!(
        read["bindings"][0]["members"],
        json!([deleted, "user:lead@agency.example"]),
        "{read}"
    );
    let restored = api
        .ok(
            "POST",
            &format!(
                "/v1/projects/-/serviceAccounts/{}:undelete",
                sa["uniqueId"].as_str().unwrap()
            ),
            Some(json!({})),
        )
        .await;
    assert_eq!(restored["restoredAccount"]["email"], sa["email"]);
    let read = api
        .ok("POST", "/v3/projects/gone:getIamPolicy", Some(json!({})))
        .await;
    assert_eq!(
        read["bindings"][0]["members"],
        json!([member, "user:lead@agency.example"])
    );
}

#[tokio::test]
async fn projects_list_search_and_ancestry() {
    let server = in_process();
    let api = Api::new(&server);
    api.ok(
        "POST",
        "/_admin/seed",
        Some(json!({"projects": [
            {"projectId": "shop-prod", "parent": "organizations/10", "labels": {"env": "prod"}},
            {"projectId": "shop-dev", "parent": "organizations/10", "labels": {"env": "dev"}},
            {"projectId": "agency-tools", "parent": "folders/20"},
        ]})),
    )
    .await;
    let ids = |v: &Value| {
        v["projects"].as_array().map_or(vec![], |a| {
            a.iter()
                .map(|p| p["projectId"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        ids(&api.ok("GET", "/v1/projects", None).await),
        ["agency-tools", "shop-dev", "shop-prod"]
    );
    assert_eq!(
        ids(&api
            .ok("GET", "/v1/projects?filter=labels.env%3Aprod", None)
            .await),
        ["shop-prod"]
    );
    assert_eq!(
        ids(&api.ok("GET", "/v1/projects?filter=id%3Ashop*", None).await),
        ["shop-dev", "shop-prod"]
    );
    assert_eq!(
        ids(&api
            .ok("GET", "/v3/projects?parent=organizations/10", None)
            .await),
        ["shop-dev", "shop-prod"]
    );
    api.err("GET", "/v3/projects", None, 400, "INVALID_ARGUMENT")
        .await;
    assert_eq!(
        ids(&api
            .ok("GET", "/v3/projects:search?query=parent%3Afolders/20", None)
            .await),
        ["agency-tools"]
    );
    let paged = api.ok("GET", "/v3/projects:search?pageSize=2", None).await;
    assert_eq!(ids(&paged).len(), 2);
    assert!(paged["nextPageToken"].is_string());
    let ancestry = api
        .ok(
            "POST",
            "/v1/projects/shop-prod:getAncestry",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        ancestry["ancestor"][1]["resourceId"],
        json!({"type": "organization", "id": "10"})
    );
    let granted = api
        .ok(
            "POST",
            "/v1/projects/shop-prod:testIamPermissions",
            Some(json!({"permissions": ["resourcemanager.projects.getIamPolicy"]})),
        )
        .await;
    assert_eq!(
        granted["permissions"],
        json!(["resourcemanager.projects.getIamPolicy"])
    );
}

#[tokio::test]
async fn organizations_and_folders_hold_policies() {
    let server = in_process();
    let api = Api::new(&server);
    let seeded = api
        .ok(
            "POST",
            "/_admin/seed",
            Some(json!({
                "organizations": [{"id": "10", "displayName": "customer.example", "directoryCustomerId": "C0abc"}],
                "folders": [{"id": "20", "displayName": "apps", "parent": "organizations/10"}],
                "projects": [{"projectId": "shop-prod", "parent": "folders/20"}],
            })),
        )
        .await;
    assert_eq!(
        seeded["containers"],
        json!(["organizations/10", "folders/20"])
    );
    let org = api.ok("GET", "/v3/organizations/10", None).await;
    assert_eq!(org["directoryCustomerId"], "C0abc");
    assert_eq!(org["displayName"], "customer.example");
    let v1 = api.ok("GET", "/v1/organizations/10", None).await;
    assert_eq!(v1["owner"]["directoryCustomerId"], "C0abc");
    let found = api
        .ok(
            "GET",
            "/v3/organizations:search?query=domain%3Acustomer.example",
            None,
        )
        .await;
    assert_eq!(found["organizations"][0]["name"], "organizations/10");
    let folders = api
        .ok("GET", "/v3/folders?parent=organizations/10", None)
        .await;
    assert_eq!(folders["folders"][0]["name"], "folders/20");
    assert_eq!(folders["folders"][0]["displayName"], "apps");

    let policy = json!({"policy": {"bindings": [{"role": "roles/resourcemanager.organizationAdmin", "members": ["group:admins@customer.example"]}]}});
    let written = api
        .ok(
            "POST",
            "/v3/organizations/10:setIamPolicy",
            Some(policy.clone()),
        )
        .await;
    let read = api
        .ok("POST", "/v1/organizations/10:getIamPolicy", Some(json!({})))
        .await;
    assert_eq!(
        read["etag"], written["etag"],
        "v1 and v3 share the organization's policy"
    );
    api.ok("POST", "/v3/folders/20:setIamPolicy", Some(policy))
        .await;
    let stale = json!({"policy": {"etag": written["etag"], "bindings": []}});
    api.ok(
        "POST",
        "/v3/organizations/10:setIamPolicy",
        Some(stale.clone()),
    )
    .await;
    api.err(
        "POST",
        "/v3/organizations/10:setIamPolicy",
        Some(stale),
        409,
        "ABORTED",
    )
    .await;
    api.err(
        "GET",
        "/v3/organizations/not-a-number",
        None,
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    let counts = server.request_counts();
    assert_eq!(
        counts.route("POST /v3/organizations/{organization}:setIamPolicy"),
        3
    );
    assert_eq!(counts.route("POST /v3/folders/{folder}:setIamPolicy"), 1);
}

#[test]
fn in_process_server_serves_sync_tests_and_stops_when_dropped() {
    let server = in_process();
    let url = server.url();
    assert_eq!(url, format!("http://{}", server.addr()));
    let health = post_json(&url, "/_admin/reset", &json!({}));
    assert_eq!(health, json!({}));
    drop(server);
    let addr = url.strip_prefix("http://").unwrap();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the port is closed once the handle is dropped"
    );
}

#[test]
fn binary_rejects_bad_arguments_with_a_hint() {
    let out = Command::new(env!("CARGO_BIN_EXE_gcp-test-server"))
        .args(["--port", "not-a-port"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--port") && stderr.contains("usage:"),
        "{stderr}"
    );
    let help = Command::new(env!("CARGO_BIN_EXE_gcp-test-server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("usage: gcp-test-server"));
}

#[tokio::test]
async fn malformed_input_is_answered_never_crashes() {
    let server = in_process();
    let api = Api::new(&server);
    create_secret(&api, "fuzz", "s").await;
    add_version(&api, "fuzz", "s", b"v").await;
    api.ok(
        "POST",
        "/v1/projects/fuzz/serviceAccounts",
        Some(json!({"accountId": "fuzzer"})),
    )
    .await;
    let sa = "/v1/projects/-/serviceAccounts/fuzzer@fuzz.iam.gserviceaccount.com";
    let targets = [
        ("POST", "/v1/projects/fuzz:setIamPolicy".to_owned()),
        ("POST", "/v3/projects/fuzz:getIamPolicy".to_owned()),
        ("POST", "/v3/organizations/1:setIamPolicy".to_owned()),
        ("POST", "/v1/projects/fuzz/secrets?secretId=new".to_owned()),
        (
            "PATCH",
            "/v1/projects/fuzz/secrets/s?updateMask=labels,rotation,topics,ttl,versionAliases"
                .to_owned(),
        ),
        ("POST", "/v1/projects/fuzz/secrets/s:addVersion".to_owned()),
        (
            "POST",
            "/v1/projects/fuzz/secrets/s/versions/1:disable".to_owned(),
        ),
        (
            "POST",
            "/v1/projects/fuzz/secrets/s:setIamPolicy".to_owned(),
        ),
        ("POST", "/v1/projects/fuzz/serviceAccounts".to_owned()),
        ("PATCH", sa.to_owned()),
        ("PUT", sa.to_owned()),
        ("POST", format!("{sa}/keys")),
        ("POST", format!("{sa}/keys:upload")),
        ("POST", format!("{sa}:setIamPolicy")),
        ("POST", format!("{sa}:testIamPermissions")),
        ("POST", "/v1/organizations:search".to_owned()),
        ("POST", "/_admin/seed".to_owned()),
        ("POST", "/_admin/faults".to_owned()),
    ];
    let bodies = [
        json!([]),
        json!("text"),
        json!(42),
        json!({"policy": 5}),
        json!({"policy": {"bindings": "x", "version": "three"}}),
        json!({"policy": {"bindings": [{"role": 1, "members": [null]}]}}),
        json!({"payload": {"data": 5, "dataCrc32c": {"a": 1}}}),
        json!({"payload": {"data": "aGk=", "dataCrc32c": "99999999999999999999999"}}),
        json!({"replication": {"automatic": {}, "userManaged": {"replicas": []}}, "labels": {"BAD KEY": "v"}}),
        json!({"replication": {"userManaged": {"replicas": [{"location": ""}]}}}),
        json!({"rotation": {"rotationPeriod": "1s"}, "ttl": "-5s", "topics": [{"name": "nope"}], "versionAliases": {"a": "999"}}),
        json!({"expireTime": "yesterday", "ttl": "99999999999999999999s"}),
        json!({"accountId": "x".repeat(100), "serviceAccount": {"displayName": "y".repeat(500)}}),
        json!({"privateKeyType": {"nested": true}, "keyAlgorithm": [1]}),
        json!({"publicKeyData": "%%%"}),
        json!({"permissions": ["*"]}),
        json!({"serviceAccount": {}, "updateMask": "email"}),
        json!({"projects": [{"projectId": "UPPER"}], "keyTimes": [{"name": "bad"}]}),
        json!({"rate": -1, "kinds": ["teapot"]}),
        json!({"filter": "OR OR", "pageSize": -3, "pageToken": "zz"}),
    ];
    for (method, path) in &targets {
        for body in &bodies {
            let (status, v) = api.call(method, path, Some(body.clone())).await;
            assert!(
                matches!(status, 200 | 400 | 403 | 404 | 409),
                "{method} {path} with {body}: {status} {v}"
            );
            if status != 200 {
                assert!(v["error"]["status"].is_string(), "{method} {path}: {v}");
            }
        }
        // Not JSON at all.
        let resp = reqwest::Client::new()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", server.url()),
            )
            .body(vec![0xff, 0xfe, b'{'])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{method} {path}");
    }
    // Odd paths and percent-encoding.
    for path in [
        "/",
        "/v1",
        "/v1/projects/",
        "/v1/projects/%ff%fe",
        "/v1/projects/a/secrets/%2F..%2F",
        "/v1/projects/a:",
        "/v1/projects/a/secrets/s/versions/-1:access",
    ] {
        let (status, v) = api.call("GET", path, None).await;
        assert!(
            matches!(status, 400 | 403 | 404),
            "GET {path}: {status} {v}"
        );
    }
    // The server is still healthy (a body without an etag may well have disabled version 1).
    let v = api
        .ok("GET", "/v1/projects/fuzz/secrets/s/versions/1", None)
        .await;
    assert!(v["state"] == "ENABLED" || v["state"] == "DISABLED", "{v}");
    api.ok(
        "POST",
        "/v1/projects/fuzz/secrets/s/versions/1:enable",
        Some(json!({})),
    )
    .await;
    api.ok(
        "GET",
        "/v1/projects/fuzz/secrets/s/versions/latest:access",
        None,
    )
    .await;
}

#[tokio::test]
async fn regional_secrets_live_under_locations() {
    let server = in_process();
    let api = Api::new(&server);
    let base = "/v1/projects/regions/locations/europe-west4/secrets";
    api.err(
        "POST",
        &format!("{base}?secretId=r"),
        Some(json!({"replication": {"automatic": {}}})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    api.err(
        "POST",
        "/v1/projects/regions/locations/mars-north1/secrets?secretId=r",
        Some(json!({})),
        400,
        "INVALID_ARGUMENT",
    )
    .await;
    let s = api
        .ok(
            "POST",
            &format!("{base}?secretId=r"),
            Some(json!({"labels": {"a": "b"}})),
        )
        .await;
    assert!(
        s["name"]
            .as_str()
            .unwrap()
            .ends_with("/locations/europe-west4/secrets/r"),
        "{s}"
    );
    assert!(s.get("replication").is_none(), "{s}");
    // The same id may exist globally and in other regions.
    create_secret(&api, "regions", "r").await;
    api.ok(
        "POST",
        "/v1/projects/regions/locations/us-east1/secrets?secretId=r",
        Some(json!({})),
    )
    .await;
    let v = api
        .ok("POST", &format!("{base}/r:addVersion"), Some(json!({"payload": {"data": b64(b"eu"), "dataCrc32c": gcp_test_server::util::crc32c(b"eu").to_string()}})))
        .await;
    assert!(v.get("replicationStatus").is_none());
    assert_eq!(
        api.ok("GET", &format!("{base}/r/versions/latest:access"), None)
            .await["payload"]["data"],
        b64(b"eu")
    );
    api.err(
        "GET",
        "/v1/projects/regions/secrets/r/versions/latest:access",
        None,
        404,
        "NOT_FOUND",
    )
    .await;
    let listed = api.ok("GET", base, None).await;
    assert_eq!(listed["secrets"].as_array().unwrap().len(), 1);
    assert_eq!(
        api.ok("GET", "/v1/projects/regions/secrets", None).await["secrets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    api.ok("POST", &format!("{base}/r:setIamPolicy"), Some(json!({"policy": {"bindings": [{"role": "roles/secretmanager.secretAccessor", "members": ["user:eu@customer.example"]}]}}))).await;
    let policy = api
        .ok(
            "GET",
            &format!("{base}/r:getIamPolicy?options.requestedPolicyVersion=3"),
            None,
        )
        .await;
    assert_eq!(
        policy["bindings"][0]["members"][0],
        "user:eu@customer.example"
    );
    let locations = api.ok("GET", "/v1/projects/regions/locations", None).await;
    assert!(locations["locations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["locationId"] == "europe-west4"));
    assert_eq!(
        server
            .request_counts()
            .route("POST /v1/projects/{project}/locations/{location}/secrets/{secret}:addVersion"),
        1
    );
    api.ok("DELETE", &format!("{base}/r"), None).await;
    api.err("GET", &format!("{base}/r"), None, 404, "NOT_FOUND")
        .await;
    api.ok("GET", "/v1/projects/regions/secrets/r", None).await;
}

// ------------------------------------------------------------------ 4. `latest` and payloads (issue 11)
//
// Driven by gcloud and Google's Python client, not by handover. References:
// - `projects/*/secrets/*/versions/latest` "is an alias to the most recently created
//   SecretVersion" (REST reference of projects.secrets.versions.access and .get);
// - a disabled or destroyed version "may not be accessed" (SecretVersion.State), and
//   Google answers 400 FAILED_PRECONDITION "Secret Version [.../versions/4] is in
//   DESTROYED state." (google-github-actions/get-secretmanager-secrets#268);
// - an empty payload is 400 "Field [payload] is required."
//   (hashicorp/terraform-provider-google#10475).

/// Regression: the server answered `latest` with the newest ENABLED version, which hid
/// that the tool read `latest` and would fail on real GCP once the newest was disabled.
#[test]
fn gcloud_sees_latest_as_the_newest_created_version() {
    let server = BinaryServer::start();
    let g = Gcloud::new(&server.url, "gcloud-latest");
    for secret in ["newest-disabled", "newest-destroyed"] {
        g.with_stdin(&["secrets", "create", secret, "--data-file=-"], b"v1");
        g.with_stdin(
            &["secrets", "versions", "add", secret, "--data-file=-"],
            b"v2",
        );
    }
    let flag = |s: &str| format!("--secret={s}");
    g.json(&[
        "secrets",
        "versions",
        "disable",
        "2",
        &flag("newest-disabled"),
    ]);
    g.json(&[
        "secrets",
        "versions",
        "destroy",
        "2",
        &flag("newest-destroyed"),
    ]);
    for (secret, state) in [
        ("newest-disabled", "DISABLED"),
        ("newest-destroyed", "DESTROYED"),
    ] {
        let out = g
            .command(&["secrets", "versions", "access", "latest", &flag(secret)])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "latest of {secret} must not be readable"
        );
        assert!(
            stderr.contains("FAILED_PRECONDITION")
                && stderr.contains(&format!(
                    "/secrets/{secret}/versions/2] is in {state} state."
                )),
            "{stderr}"
        );
        let described = g.json(&["secrets", "versions", "describe", "latest", &flag(secret)]);
        assert_eq!(described["state"], state, "{described}");
        assert!(
            described["name"].as_str().unwrap().ends_with("/versions/2"),
            "{described}"
        );
        // Version 1 is still enabled and readable by number.
        let one = g.json(&["secrets", "versions", "access", "1", &flag(secret)]);
        assert_eq!(one["payload"]["data"], b64(b"v1"));
    }
}

/// An empty payload from gcloud is refused as Google refuses it, and adds no version.
#[test]
fn gcloud_empty_payload_is_refused() {
    let server = BinaryServer::start();
    let g = Gcloud::new(&server.url, "gcloud-empty");
    g.with_stdin(&["secrets", "create", "empty", "--data-file=-"], b"v1");
    let mut child = g
        .command(&["secrets", "versions", "add", "empty", "--data-file=-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an empty version must be refused");
    assert!(stderr.contains("Field [payload] is required."), "{stderr}");
    let versions = g.json(&["secrets", "versions", "list", "empty"]);
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");
}

#[test]
fn google_python_client_sees_latest_and_payload_rules_as_google_documents() {
    let server = BinaryServer::start();
    run_python_script("secretmanager_latest.py", &server.url, "py-latest");
}

/// gcloud's folder commands call Resource Manager v2 (`FOLDERS_API_VERSION = 'v2'` in
/// googlecloudsdk/api_lib/resource_manager/folders.py); these failed with 404 before the
/// v2 folder routes, and `get-ancestors` stopped at the project's direct parent.
#[test]
fn gcloud_reads_folders_their_policies_and_projects_by_parent() {
    let server = BinaryServer::start();
    let g = Gcloud::new(&server.url, "shop-prod");
    post_json(
        &server.url,
        "/_admin/seed",
        &json!({
            "organizations": [{"id": "10", "displayName": "customer.example"}],
            "folders": [
                {"id": "20", "displayName": "apps", "parent": "organizations/10"},
                {"id": "30", "displayName": "prod", "parent": "folders/20"}
            ],
            "projects": [
                {"projectId": "shop-prod", "parent": "folders/30"},
                {"projectId": "shop-tools", "parent": "organizations/10"}
            ]
        }),
    );
    g.json(&[
        "resource-manager",
        "folders",
        "add-iam-policy-binding",
        "20",
        "--member=group:agency@agency.example",
        "--role=roles/editor",
    ]);
    let policy = g.json(&["resource-manager", "folders", "get-iam-policy", "20"]);
    assert_eq!(policy["bindings"][0]["role"], "roles/editor", "{policy}");
    assert_eq!(
        policy["bindings"][0]["members"],
        json!(["group:agency@agency.example"])
    );
    assert!(policy["etag"].is_string(), "{policy}");
    let below = g.json(&["resource-manager", "folders", "list", "--folder=20"]);
    assert_eq!(below.as_array().map(Vec::len), Some(1), "{below}");
    assert_eq!(below[0]["name"], "folders/30");
    assert_eq!(below[0]["parent"], "folders/20");
    let described = g.json(&["resource-manager", "folders", "describe", "30"]);
    assert_eq!(described["displayName"], "prod");
    assert_eq!(described["lifecycleState"], "ACTIVE");
    let in_folder = g.json(&[
        "projects",
        "list",
        "--filter=parent.id=30 parent.type=folder",
    ]);
    let ids: Vec<&str> = in_folder
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["projectId"].as_str())
        .collect();
    assert_eq!(ids, ["shop-prod"], "{in_folder}");
    let ancestors = g.json(&["projects", "get-ancestors", "shop-prod"]);
    assert_eq!(
        ancestors,
        json!([
            {"id": "shop-prod", "type": "project"},
            {"id": "30", "type": "folder"},
            {"id": "20", "type": "folder"},
            {"id": "10", "type": "organization"}
        ])
    );
    // v3 search, as the Rust crate's `Folders::search_folders` sends it.
    let found = http_json(
        &server.url,
        "GET",
        "/v3/folders:search?query=parent%3Dfolders/20",
        &Value::Null,
    );
    assert_eq!(found["folders"][0]["name"], "folders/30", "{found}");
    assert_eq!(found["folders"].as_array().map(Vec::len), Some(1));
}

/// Cloud Asset Inventory search on a folder, as `gcloud asset search-all-iam-policies`
/// and `search-all-resources` call it (404 before the asset routes): every policy and
/// resource below the folder, none outside it, with its folders and organization.
#[test]
fn gcloud_searches_the_asset_inventory_of_a_folder() {
    let server = BinaryServer::start();
    let g = Gcloud::new(&server.url, "shop-prod");
    post_json(
        &server.url,
        "/_admin/seed",
        &json!({
            "organizations": [{"id": "10"}],
            "folders": [{"id": "20", "parent": "organizations/10"}],
            "projects": [
                {"projectId": "shop-prod", "projectNumber": "4242", "parent": "folders/20"},
                {"projectId": "elsewhere", "parent": "organizations/10"}
            ]
        }),
    );
    let bind = |path: &str, role: &str, member: &str| {
        post_json(
            &server.url,
            path,
            &json!({"policy": {"bindings": [{"role": role, "members": [member]}]}}),
        );
    };
    bind(
        "/v3/folders/20:setIamPolicy",
        "roles/editor",
        "group:devs@agency.example",
    );
    bind(
        "/v1/projects/shop-prod:setIamPolicy",
        "roles/viewer",
        "user:carol@customer.example",
    );
    bind(
        "/v1/projects/elsewhere:setIamPolicy",
        "roles/viewer",
        "user:out@customer.example",
    );
    post_json(
        &server.url,
        "/v1/projects/shop-prod/serviceAccounts",
        &json!({"accountId": "deployer"}),
    );
    let policies = g.json(&["asset", "search-all-iam-policies", "--scope=folders/20"]);
    let resources: Vec<&str> = policies
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    assert_eq!(
        resources,
        [
            "//cloudresourcemanager.googleapis.com/folders/20",
            "//cloudresourcemanager.googleapis.com/projects/4242"
        ],
        "{policies}"
    );
    let folder = &policies[0];
    assert_eq!(
        folder["assetType"],
        "cloudresourcemanager.googleapis.com/Folder"
    );
    assert_eq!(folder["policy"]["bindings"][0]["role"], "roles/editor");
    assert_eq!(policies[1]["folders"], json!(["folders/20"]));
    assert_eq!(policies[1]["organization"], "organizations/10");
    let found = g.json(&[
        "asset",
        "search-all-resources",
        "--scope=folders/20",
        "--asset-types=iam.googleapis.com/ServiceAccount",
    ]);
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["assetType"], "iam.googleapis.com/ServiceAccount");
    assert_eq!(found[0]["project"], "projects/4242");
    assert_eq!(
        found[0]["additionalAttributes"]["email"],
        "deployer@shop-prod.iam.gserviceaccount.com"
    );
    // Paging: one result a page, three pages for folder, project and account.
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let path = format!("/v1/folders/20:searchAllResources?pageSize=1&pageToken={token}");
        let page = http_json(&server.url, "GET", &path, &Value::Null);
        pages += 1;
        match page["nextPageToken"].as_str() {
            Some(t) => token = t.to_owned(),
            None => break,
        }
        assert!(pages < 10, "paging ends");
    }
    assert_eq!(pages, 3);
}

/// The key-bearing resources of a folder (issue 17's bulk read), as
/// `gcloud asset search-all-resources --asset-types=... --read-mask=...` asks for them:
/// service accounts, their keys (parent: the account), API keys and secrets, each with
/// `versionedResources` (the owning API's own JSON, asked for by the read mask and
/// absent without it: "not returned by default"), paged by `--page-size`, none from
/// outside the scope, and never a key string or private key.
#[test]
fn gcloud_searches_the_key_bearing_resources_of_a_folder_with_their_versioned_resources() {
    let server = BinaryServer::start();
    let g = Gcloud::new(&server.url, "shop-prod");
    post_json(
        &server.url,
        "/_admin/seed",
        &json!({
            "organizations": [{"id": "10"}],
            "folders": [{"id": "20", "parent": "organizations/10"}],
            "projects": [
                {"projectId": "shop-prod", "projectNumber": "4242", "parent": "folders/20"},
                {"projectId": "elsewhere", "parent": "organizations/10"}
            ],
            "credentials": {"apiKeys": [
                {"project": "shop-prod", "key": {"displayName": "maps"}, "keyString": "AIzaFidelityCanary"},
                {"project": "elsewhere", "key": {"displayName": "outside"}}
            ]}
        }),
    );
    for project in ["shop-prod", "elsewhere"] {
        let sa = post_json(
            &server.url,
            &format!("/v1/projects/{project}/serviceAccounts"),
            &json!({"accountId": "deployer"}),
        );
        post_json(
            &server.url,
            &format!("/v1/{}/keys", sa["name"].as_str().unwrap()),
            &json!({}),
        );
        post_json(
            &server.url,
            &format!("/v1/projects/{project}/secrets?secretId=db-password"),
            &json!({"replication": {"automatic": {}}}),
        );
        post_json(
            &server.url,
            &format!("/v1/projects/{project}/secrets/db-password:addVersion"),
            &json!({"payload": {"data": "RmlkZWxpdHlTZWNyZXRWYWx1ZQ=="}}),
        );
    }
    let types = "--asset-types=iam.googleapis.com/ServiceAccount,iam.googleapis.com/ServiceAccountKey,apikeys.googleapis.com/Key,secretmanager.googleapis.com/Secret,secretmanager.googleapis.com/SecretVersion";
    http_json(&server.url, "DELETE", "/_admin/requests", &Value::Null);
    let found = g.json(&[
        "asset",
        "search-all-resources",
        "--scope=folders/20",
        types,
        "--read-mask=name,assetType,project,parentFullResourceName,versionedResources",
        "--page-size=1",
    ]);
    let counts = http_json(&server.url, "GET", "/_admin/requests", &Value::Null);
    assert_eq!(
        counts["byRoute"]["GET /v1/folders/{folder}:searchAllResources"], 5,
        "one result a page: {counts} {found}"
    );
    let by_type = |t: &str| -> Vec<&Value> {
        found
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["assetType"] == t)
            .collect()
    };
    let (sa, key) = (
        by_type("iam.googleapis.com/ServiceAccount"),
        by_type("iam.googleapis.com/ServiceAccountKey"),
    );
    let (api, secret) = (
        by_type("apikeys.googleapis.com/Key"),
        by_type("secretmanager.googleapis.com/Secret"),
    );
    let resource = |r: &Value, version: &str| {
        assert_eq!(r["versionedResources"][0]["version"], version, "{r}");
        r["versionedResources"][0]["resource"].clone()
    };
    let version = by_type("secretmanager.googleapis.com/SecretVersion");
    assert_eq!(
        [sa.len(), key.len(), api.len(), secret.len(), version.len()],
        [1, 1, 1, 1, 1],
        "{found}"
    );
    assert_eq!(version[0]["parentFullResourceName"], secret[0]["name"]);
    assert_eq!(resource(version[0], "v1")["state"], "ENABLED");
    // Neither the value nor its base64 form.
    assert!(!found.to_string().contains("RmlkZWxpdHlTZWNyZXRWYWx1ZQ"));
    assert!(!found.to_string().contains("FidelitySecretValue"));
    assert!(found
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["project"] == "projects/4242"));
    assert_eq!(key[0]["parentFullResourceName"], sa[0]["name"]);
    assert_eq!(
        resource(sa[0], "v1")["email"],
        "deployer@shop-prod.iam.gserviceaccount.com"
    );
    let k = resource(key[0], "v1");
    assert_eq!(k["keyType"], "USER_MANAGED", "{k}");
    assert!(k.get("validAfterTime").is_some() && k.get("privateKeyData").is_none());
    let a = resource(api[0], "v2");
    assert_eq!(a["displayName"], "maps");
    assert!(
        !found.to_string().contains("AIzaFidelityCanary"),
        "no key string"
    );
    assert_eq!(
        resource(secret[0], "v1")["name"],
        "projects/4242/secrets/db-password"
    );
    // Without the read mask, no versioned resources.
    let plain = g.json(&["asset", "search-all-resources", "--scope=folders/20", types]);
    assert_eq!(plain.as_array().map(Vec::len), Some(5));
    assert!(plain
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r.get("versionedResources").is_none()));
}
