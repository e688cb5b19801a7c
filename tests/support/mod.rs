//! Test support: the AWS emulator (moto, in server mode, on a free loopback port), the
//! seeded account, the aws CLI snapshot export, and a `handover` command wired to them.
//!
//! A missing emulator or CLI is a failure with an install hint, never a skip.
#![allow(dead_code)]

pub mod browser;
pub mod fault_proxy;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

pub const INSTALL_HINT: &str =
    "run ./scripts/test.sh, which installs tests/requirements.txt (moto[server], boto3, awscli) into .venv";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A program from the test virtualenv (HANDOVER_TEST_VENV, else ./.venv).
pub fn venv_bin(name: &str) -> PathBuf {
    let venv = std::env::var_os("HANDOVER_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"));
    let p = venv.join("bin").join(name);
    assert!(p.exists(), "{} is missing: {INSTALL_HINT}", p.display());
    p
}

/// A moto server this test process owns.
pub struct Moto {
    child: Child,
    log: tempfile::NamedTempFile,
    _stdin: ChildStdin,
    pub url: String,
    pub port: u16,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_account("123456789012")
    }

    /// A server whose default account is `account` (for two-account tests).
    pub fn start_account(account: &str) -> Moto {
        Moto::launch(Some(account))
    }

    /// A server with no fixed account: requests signed with credentials from
    /// `AssumeRole` into another account's role act in that account (moto's
    /// multi-account mode, which `MOTO_ACCOUNT_ID` switches off); the rest act in
    /// 123456789012.
    pub fn start_multi_account() -> Moto {
        Moto::launch(None)
    }

    fn launch(account: Option<&str>) -> Moto {
        let python = venv_bin("python");
        // moto's own log goes to a file: a pipe nobody drains would block the server.
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut cmd = Command::new(&python);
        cmd.arg(repo().join("tests/support/moto_launcher.py"))
            .args(["--port", "0", "--exit-with-stdin"]);
        match account {
            Some(a) => cmd.env("MOTO_ACCOUNT_ID", a),
            None => cmd.env_remove("MOTO_ACCOUNT_ID"),
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto with {}: {e}; {INSTALL_HINT}",
                    python.display()
                )
            });
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if !line.starts_with("listening on ") {
            let _ = child.wait();
            let err = std::fs::read_to_string(log.path()).unwrap_or_default();
            panic!("moto did not start: {err}\n{INSTALL_HINT}");
        }
        let url = line.trim().trim_start_matches("listening on ").to_string();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Moto {
            child,
            log,
            _stdin: stdin,
            url,
            port,
        }
    }

    /// Empties every backend and switches permission checks off again.
    pub fn reset(&self) {
        self.post("/moto-api/reset", "", "application/json");
        self.post("/moto-api/reset-auth", "inf", "text/plain");
    }

    /// Switches moto's IAM permission checks on for every request from now on.
    pub fn enforce_permissions(&self) {
        self.post("/moto-api/reset-auth", "0", "text/plain");
    }

    /// Request counts the launcher keeps: `{"total": N, "by_action": {...}}`.
    pub fn requests(&self) -> serde_json::Value {
        {
            let body = self.request("GET", "/_handover/requests", "", "application/json");
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
        }
    }

    pub fn post(&self, path: &str, body: &str, content_type: &str) -> String {
        self.request("POST", path, body, content_type)
    }

    pub fn request(&self, method: &str, path: &str, body: &str, content_type: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(
            resp.starts_with("HTTP/1.1 200") || resp.starts_with("HTTP/1.0 200"),
            "{method} {path}: {resp}"
        );
        resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test binary's shared moto server, reset for the caller. Tests that use it run
/// one at a time.
pub fn moto() -> MutexGuard<'static, Moto> {
    static MOTO: OnceLock<Mutex<Moto>> = OnceLock::new();
    let guard = MOTO
        .get_or_init(|| Mutex::new(Moto::start()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    guard.reset();
    guard
}

/// Seeds the fictional agency-to-customer account; returns the ids it made.
pub fn seed(moto: &Moto) -> serde_json::Value {
    let out = Command::new(venv_bin("python"))
        .arg(repo().join("examples/northwind-to-contoso/seed_aws.py"))
        .args(["--endpoint", &moto.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seeding failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An environment with no trace of the developer's own AWS setup.
pub fn clean_aws_env(cmd: &mut Command, home: &Path) {
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HANDOVER_CONFIG", agency_config(home))
        .env("HANDOVER_IDENTITY", example_key("northwind-signing"))
        .env_remove("HANDOVER_GCP_ENDPOINT")
        .env_remove("HANDOVER_GCP_ACCESS_TOKEN")
        .env_remove("RUST_LOG");
}

/// A key of the example (examples/northwind-to-contoso/keys, example-only).
pub fn example_key(name: &str) -> PathBuf {
    repo().join("examples/northwind-to-contoso/keys").join(name)
}

/// A minimal handover config in `home` for applied migrations: the example agency's
/// signing key and the example customer's age recipient.
pub fn agency_config(home: &Path) -> PathBuf {
    let p = home.join("handover-test.toml");
    if !p.exists() {
        let signer = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
        std::fs::write(
            &p,
            format!(
                "scenario = \"full-transfer\"\nhandover_date = \"2026-11-01\"\n\n[agency]\nname = \"Northwind\"\nemail_domains = [\"northwind-agency.example\"]\nname_patterns = [\"*.agency\"]\nsigning_key = \"{}\"\n\n[customer]\nname = \"Contoso\"\nemail_domains = [\"contoso.example\"]\n\n[recipients]\nkeys = [\"age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3\"]\n",
                signer.trim()
            ),
        )
        .unwrap();
    }
    p
}

/// `handover` pointed at moto with throwaway credentials.
pub fn handover(moto: &Moto, home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handover"));
    clean_aws_env(&mut cmd, home);
    cmd.env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1");
    cmd
}

/// The customer's side of a GCP handover in one call: seals `plan`, `inventory` and
/// `journal` under `config` with the example agency's signing key into
/// `home/handover.age` (overwriting it), then verifies it live against the GCP test
/// server at `url` as the example customer. Returns verify's run (JSON on stdout).
pub fn seal_and_verify_gcp(
    home: &Path,
    url: &str,
    config: &Path,
    plan: &Path,
    inventory: &Path,
    journal: &Path,
) -> Run {
    let sealed = home.join("handover.age");
    let r = run(handover_offline(home)
        .args(["manifest", "--force", "--config"])
        .arg(config)
        .arg("--plan")
        .arg(plan)
        .arg("--inventory")
        .arg(inventory)
        .arg("--journal")
        .arg(journal)
        .arg("--sign-key")
        .arg(example_key("northwind-signing"))
        .arg("-o")
        .arg(&sealed));
    assert_eq!(r.code, 0, "manifest: {}", r.stderr);
    run(handover_offline(home)
        .args(["verify", "--format", "json", "--gcp-endpoint", url])
        .arg("--signer")
        .arg(example_key("northwind-signing.pub"))
        .arg("-i")
        .arg(example_key("contoso-security.agekey"))
        .arg(&sealed))
}

/// `handover` with no cloud settings at all.
pub fn handover_offline(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_handover"));
    clean_aws_env(&mut cmd, home);
    cmd
}

/// Exports the account with the real aws CLI through scripts/export-aws-snapshot.sh.
pub fn export_snapshot(moto: &Moto, out: &Path, regions: &[&str]) {
    let aws = venv_bin("aws");
    let mut cmd = Command::new(repo().join("scripts/export-aws-snapshot.sh"));
    clean_aws_env(&mut cmd, out);
    let path = format!(
        "{}:{}",
        aws.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = cmd
        .arg(out)
        .args(regions)
        .env("PATH", path)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        // moto answers the unsupported ListServiceSpecificCredentials with a 500: don't retry it for long.
        .env("AWS_MAX_ATTEMPTS", "1")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the aws CLI export failed");
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// The project's own GCP test server, in process on a free loopback port.
pub fn gcp_server() -> gcp_test_server::ServerHandle {
    gcp_test_server::Server::start("127.0.0.1:0").expect("the GCP test server starts")
}

/// Seeds the fictional Contoso GCP project with Google's Python clients.
pub fn seed_gcp(url: &str) -> serde_json::Value {
    let out = Command::new(venv_bin("python"))
        .arg(repo().join("examples/northwind-to-contoso/seed_gcp.py"))
        .args(["--endpoint", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "GCP seeding failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Exports a project with the real gcloud CLI through scripts/export-gcp-snapshot.sh.
pub fn export_gcp_snapshot(url: &str, out: &Path, project: &str) {
    let gcloud_ok = Command::new("gcloud")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        gcloud_ok,
        "gcloud is missing: install the Google Cloud CLI (Debian package google-cloud-cli)"
    );
    let config = tempfile::tempdir().unwrap();
    let endpoint = format!("{}/", url.trim_end_matches('/'));
    let status = Command::new(repo().join("scripts/export-gcp-snapshot.sh"))
        .arg(out)
        .arg(project)
        .env("CLOUDSDK_CONFIG", config.path())
        .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER", &endpoint)
        .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM", &endpoint)
        .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_APIKEYS", &endpoint)
        .env("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", &endpoint)
        .env(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER",
            &endpoint,
        )
        .env("CLOUDSDK_AUTH_DISABLE_CREDENTIALS", "true")
        .env("CLOUDSDK_CORE_DISABLE_PROMPTS", "1")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the gcloud export failed");
}

/// A loopback HTTP server that answers every request with one status and body, for
/// the error paths no emulator produces on demand (403, 404).
pub fn fixed_answer_server(status_line: &'static str, body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(200) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 {status_line}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A plain HTTP/1.0 JSON POST to a loopback server; returns the status line and body.
pub fn http_post_json(base: &str, path: &str, body: &str) -> (String, String) {
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.lines().next().unwrap_or("").to_string();
    (
        status,
        resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
    )
}

/// Runs a short boto3 script against a moto server; `{url}` in it is the endpoint.
pub fn boto3(moto: &Moto, script: &str) -> String {
    let code = format!(
        "import boto3, json, sys, base64\nsm = boto3.client('secretsmanager', region_name='us-east-1', endpoint_url='{}', aws_access_key_id='testing', aws_secret_access_key='testing')\n{}",
        moto.url, script
    );
    let out = Command::new(venv_bin("python"))
        .args(["-c", &code])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A plain HTTP/1.0 GET to a loopback server.
pub fn http_get(base: &str, path: &str) -> (String, String) {
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    (
        resp.lines().next().unwrap_or("").to_string(),
        resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
    )
}

/// The reference `age` CLI (Debian package `age`); scripts/test.sh installs it.
pub fn age_cli() -> Command {
    let found = Command::new("age")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(found, "the reference `age` CLI is missing: run ./scripts/test.sh (it installs it), or `apt-get install age`");
    Command::new("age")
}

/// Every file under a folder.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}
