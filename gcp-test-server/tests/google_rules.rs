//! Google's documented answers for the behaviours of issue 11, checked with clients
//! nobody here wrote: `gcloud` and Google's Python clients (`tests/python/google_rules.py`).
//!
//! - list filters: Secret Manager (`OR`, `NOT`/`-`, wildcards, nested fields, value
//!   composites; <https://cloud.google.com/secret-manager/docs/filtering>, AIP-160) and
//!   Resource Manager v1 (`projects.list`: case-insensitive, space means OR; gcloud's
//!   parenthesised filters);
//! - field masks: `updateMask` paths change only the named (sub)fields;
//! - request validation: unknown query parameters, roles a resource does not support,
//!   conditions on basic roles and public principals, bindings to service accounts that
//!   do not exist or members of the wrong type;
//! - custom roles: `gcloud iam roles create|describe|list|update|delete`;
//! - policy versions: a write carrying the etag of a policy with conditions must be
//!   version 3 (issue 13: apply removes bindings from such policies).
//!
//! A missing `gcloud` or Python environment is a failure with a hint, never a skip.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use gcp_test_server::{Server, ServerHandle};
use serde_json::{json, Value};

// ------------------------------------------------------------------ helpers

const PYTHON_HINT: &str = "run ./scripts/test.sh (it installs tests/requirements.txt into .venv)";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

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
    python
}

/// Runs one section of `tests/python/google_rules.py`, which must print "ok".
fn python_section(server: &ServerHandle, project: &str, section: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/google_rules.py");
    let out = Command::new(python())
        .arg(&script)
        .args([server.url().as_str(), project, section])
        .output()
        .unwrap_or_else(|e| panic!("cannot run Python: {e}: {PYTHON_HINT}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("ok"),
        "google_rules.py {section} failed ({}):\n{stdout}\n{}\n(hint: {PYTHON_HINT})",
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
    fn new(server: &ServerHandle, project: &str) -> Self {
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
            url: format!("{}/", server.url()),
            config: tempfile::tempdir().expect("temp dir"),
            project: project.to_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("gcloud")
            .args(args)
            .args(["--quiet", "--format=json"])
            .env("CLOUDSDK_CONFIG", self.config.path())
            .env("CLOUDSDK_CORE_PROJECT", &self.project)
            .env("CLOUDSDK_AUTH_DISABLE_CREDENTIALS", "true")
            .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
            .env("CLOUDSDK_CORE_DISABLE_USAGE_REPORTING", "true")
            .env("CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK", "true")
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER", &self.url)
            .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", &self.url)
            .env(
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER",
                &self.url,
            )
            .stdin(Stdio::null())
            .output()
            .expect("run gcloud")
    }

    /// A command that must succeed; its JSON output (null if empty).
    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
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

    /// A command that must fail; its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "gcloud {} should have failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("a JSON list: {v}"))
        .iter()
        .map(|p| {
            let s = p[key].as_str().unwrap_or_default();
            s.rsplit('/').next().unwrap_or(s).to_owned()
        })
        .collect();
    out.sort();
    out
}

async fn seed(server: &ServerHandle, body: Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/_admin/seed", server.url()))
        .json(&body)
        .send()
        .await
        .expect("seed");
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
}

fn start() -> ServerHandle {
    Server::start("127.0.0.1:0").expect("start the server in-process")
}

// ------------------------------------------------------------------ list filters

/// Broke: filters with OR, NOT, wildcards inside `name:`, nested fields and gcloud's
/// parentheses were refused; Resource Manager read a space as AND and was case-sensitive.
#[tokio::test(flavor = "multi_thread")]
async fn list_filters_follow_aip160_and_the_resource_manager_reference() {
    let server = start();
    seed(
        &server,
        json!({"projects": [
            {"projectId": "howl-prod", "displayName": "Howl", "labels": {"color": "red"}},
            {"projectId": "moving-castle", "displayName": "Moving Castle", "labels": {"color": "blue"}},
            {"projectId": "calcifer", "displayName": "Calcifer", "labels": {"size": "big"}}
        ]}),
    )
    .await;
    python_section(&server, "calcifer", "filters");

    // gcloud wraps every --filter as `lifecycleState:ACTIVE AND (...)`.
    let g = Gcloud::new(&server, "calcifer");
    let listed = g.json(&[
        "projects",
        "list",
        "--filter=labels.color:red OR labels.size:big",
    ]);
    assert_eq!(ids(&listed, "projectId"), ["calcifer", "howl-prod"]);
    let listed = g.json(&["projects", "list", "--filter=NOT labels.color:*"]);
    assert_eq!(ids(&listed, "projectId"), ["calcifer"]);
    let listed = g.json(&["projects", "list", "--filter=name:how*"]);
    assert_eq!(ids(&listed, "projectId"), ["howl-prod"]);
    let listed = g.json(&[
        "secrets",
        "list",
        "--filter=name:apikey-shop-staging OR name:db-password",
    ]);
    assert_eq!(ids(&listed, "name"), ["apikey-shop-staging", "db-password"]);
    let listed = g.json(&[
        "secrets",
        "list",
        "--filter=replication.user_managed.replicas.location:europe-west4",
    ]);
    assert_eq!(ids(&listed, "name"), ["db-password"]);
}

// ------------------------------------------------------------------ field masks

/// Broke: `updateMask=rotation.rotation_period` replaced the whole `rotation`, so
/// removing the period wiped the next rotation time.
#[tokio::test(flavor = "multi_thread")]
async fn update_masks_change_only_the_named_subfield() {
    let server = start();
    python_section(&server, "masks-proj", "masks");

    let g = Gcloud::new(&server, "masks-proj");
    g.json(&[
        "secrets",
        "create",
        "rotated",
        "--topics=projects/masks-proj/topics/t",
        "--next-rotation-time=2031-01-01T00:00:00Z",
        "--rotation-period=7200s",
    ]);
    // gcloud sends updateMask=rotation.rotation_period.
    g.json(&["secrets", "update", "rotated", "--remove-rotation-period"]);
    let described = g.json(&["secrets", "describe", "rotated"]);
    assert_eq!(
        described["rotation"],
        json!({"nextRotationTime": "2031-01-01T00:00:00Z"}),
        "{described}"
    );
    g.json(&[
        "secrets",
        "update",
        "rotated",
        "--next-rotation-time=2032-01-01T00:00:00Z",
    ]);
    let described = g.json(&["secrets", "describe", "rotated"]);
    assert_eq!(
        described["rotation"],
        json!({"nextRotationTime": "2032-01-01T00:00:00Z"})
    );
    assert_eq!(
        described["topics"][0]["name"],
        "projects/masks-proj/topics/t"
    );
}

// ------------------------------------------------------------------ custom roles

/// Broke: `gcloud iam roles create|describe|list` were answered 404; custom roles could
/// only be defined through `/_admin/iam`, not as a customer creates them.
#[tokio::test(flavor = "multi_thread")]
async fn custom_roles_are_served_as_gcloud_creates_them() {
    let server = start();
    let project = "roles-proj";
    let g = Gcloud::new(&server, project);
    let file = repo_root().join("policies/permissions/gcp-audit-role.yaml");
    let file = file.to_str().expect("utf-8 path");
    let created = g.json(&[
        "iam",
        "roles",
        "create",
        "handoverAudit",
        "--project",
        project,
        "--file",
        file,
    ]);
    assert_eq!(created["name"], "projects/roles-proj/roles/handoverAudit");
    assert_eq!(created["stage"], "GA");
    assert_eq!(created["title"], "handover audit");
    let described = g.json(&[
        "iam",
        "roles",
        "describe",
        "handoverAudit",
        "--project",
        project,
    ]);
    let perms: Vec<&str> = described["includedPermissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        perms.contains(&"secretmanager.versions.list"),
        "{described}"
    );
    assert!(
        !perms.contains(&"secretmanager.versions.access"),
        "{described}"
    );
    let listed = g.json(&["iam", "roles", "list", "--project", project]);
    assert_eq!(ids(&listed, "name"), ["handoverAudit"]);
    // A second create of the same id is refused (ALREADY_EXISTS).
    let err = g.fails(&[
        "iam",
        "roles",
        "create",
        "handoverAudit",
        "--project",
        project,
        "--file",
        file,
    ]);
    assert!(err.contains("already exists"), "{err}");
    g.json(&[
        "iam",
        "roles",
        "update",
        "handoverAudit",
        "--project",
        project,
        "--add-permissions=secretmanager.versions.access",
    ]);
    let described = g.json(&[
        "iam",
        "roles",
        "describe",
        "handoverAudit",
        "--project",
        project,
    ]);
    assert!(described["includedPermissions"]
        .as_array()
        .expect("permissions")
        .contains(&json!("secretmanager.versions.access")));
    let deleted = g.json(&[
        "iam",
        "roles",
        "delete",
        "handoverAudit",
        "--project",
        project,
    ]);
    assert_eq!(deleted["deleted"], true, "{deleted}");
    assert_eq!(
        g.json(&["iam", "roles", "list", "--project", project]),
        json!([])
    );
    let undeleted = g.json(&[
        "iam",
        "roles",
        "undelete",
        "handoverAudit",
        "--project",
        project,
    ]);
    assert!(undeleted.get("deleted").is_none(), "{undeleted}");
    // Predefined roles from the catalogue.
    let accessor = g.json(&[
        "iam",
        "roles",
        "describe",
        "roles/secretmanager.secretAccessor",
    ]);
    assert_eq!(
        accessor["includedPermissions"],
        json!(["secretmanager.versions.access"])
    );
    let err = g.fails(&["iam", "roles", "describe", "roles/no.suchRole"]);
    assert!(err.contains("not found"), "{err}");
    python_section(&server, project, "roles");
}

/// The enforcement path a customer takes: the role created from the repository's YAML
/// with gcloud, granted in the project policy, and nothing defined in `/_admin/iam`
/// but who holds which token.
#[tokio::test(flavor = "multi_thread")]
async fn a_role_created_with_gcloud_is_enforced() {
    let server = start();
    let project = "enforced-proj";
    let g = Gcloud::new(&server, project);
    let file = repo_root().join("policies/permissions/gcp-audit-role.yaml");
    g.json(&[
        "iam",
        "roles",
        "create",
        "handoverAudit",
        "--project",
        project,
        "--file",
        file.to_str().expect("utf-8 path"),
    ]);
    g.json(&["iam", "service-accounts", "create", "auditor"]);
    let auditor = format!("serviceAccount:auditor@{project}.iam.gserviceaccount.com");
    g.json(&[
        "projects",
        "add-iam-policy-binding",
        project,
        &format!("--member={auditor}"),
        &format!("--role=projects/{project}/roles/handoverAudit"),
    ]);
    g.json(&[
        "secrets",
        "create",
        "db-password",
        "--replication-policy=automatic",
    ]);
    server
        .enforce_iam(gcp_test_server::IamConfig::new().token("audit-token", &auditor))
        .expect("enforcement on");
    let http = reqwest::Client::new();
    let call = |path: String| {
        let http = http.clone();
        let url = format!("{}{path}", server.url());
        async move {
            http.get(url)
                .bearer_auth("audit-token")
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    assert_eq!(call(format!("/v1/projects/{project}/secrets")).await, 200);
    assert_eq!(
        call(format!(
            "/v1/projects/{project}/secrets/db-password/versions"
        ))
        .await,
        200
    );
    assert_eq!(
        call(format!(
            "/v1/projects/{project}/secrets/db-password/versions/latest:access"
        ))
        .await,
        403,
        "the audit role reads no secret value"
    );
    // Deleting the role (as its owner) takes its permissions away.
    server.stop_enforcing_iam();
    g.json(&[
        "iam",
        "roles",
        "delete",
        "handoverAudit",
        "--project",
        project,
    ]);
    server
        .enforce_iam(gcp_test_server::IamConfig::new().token("audit-token", &auditor))
        .expect("enforcement on");
    assert_eq!(call(format!("/v1/projects/{project}/secrets")).await, 403);
}

// ------------------------------------------------------------------ request validation

/// Broke: unknown query parameters were ignored; roles a secret does not support,
/// conditions on basic roles and public principals, bindings to service accounts that
/// do not exist and `serviceAccount:` members naming a user were all stored.
#[tokio::test(flavor = "multi_thread")]
async fn requests_google_refuses_are_refused() {
    let server = start();
    let project = "checked-proj";
    python_section(&server, project, "validation");

    let g = Gcloud::new(&server, project);
    let err = g.fails(&[
        "projects",
        "add-iam-policy-binding",
        project,
        "--member=serviceAccount:nobody@checked-proj.iam.gserviceaccount.com",
        "--role=roles/viewer",
        "--condition=None",
    ]);
    assert!(
        err.contains("Service account nobody@checked-proj.iam.gserviceaccount.com does not exist."),
        "{err}"
    );
    let err = g.fails(&[
        "secrets",
        "add-iam-policy-binding",
        "db-password",
        "--member=user:carol@example.com",
        "--role=roles/compute.admin",
    ]);
    assert!(
        err.contains("Role roles/compute.admin is not supported for this resource."),
        "{err}"
    );
    g.json(&[
        "secrets",
        "add-iam-policy-binding",
        "db-password",
        "--member=user:carol@example.com",
        "--role=roles/secretmanager.secretAccessor",
    ]);
}

// ------------------------------------------------------------------ policy versions

/// Broke: a write below version 3 that carried the etag of a policy with conditional
/// bindings was stored, silently dropping the conditions; Google refuses it ("Any
/// operation that affects conditional role bindings must specify version 3", the
/// `Policy` reference) and skips the check only when no etag is sent.
#[test]
fn a_version_1_write_with_the_etag_over_conditions_is_refused() {
    let server = start();
    python_section(&server, "versioned-proj", "versions");
    // gcloud reads at version 3 and writes back with the etag: still accepted.
    let g = Gcloud::new(&server, "versioned-proj");
    g.json(&[
        "projects",
        "add-iam-policy-binding",
        "versioned-proj",
        "--member=user:erin@example.com",
        "--role=roles/secretmanager.secretAccessor",
        "--condition=expression=request.time < timestamp(\"2031-01-01T00:00:00Z\"),title=later",
    ]);
    g.json(&[
        "projects",
        "remove-iam-policy-binding",
        "versioned-proj",
        "--member=user:carol@example.com",
        "--role=roles/viewer",
        "--condition=None",
    ]);
}
