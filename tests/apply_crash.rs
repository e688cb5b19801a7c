//! Crash property of `handover apply` across AWS and GCP in one plan: the run is killed
//! (SIGKILL) at points a seeded generator picks, then run again to completion; the end
//! state is the uninterrupted run's, and every change is made exactly once (each write
//! counted in moto's and the GCP test server's request logs).
//!
//! The kill points are found without sleeping on wall time: the tool talks to both
//! emulators through a loopback proxy that counts write requests across the two clouds
//! and, at the Nth, freezes: either before forwarding it (the change never made) or after
//! forwarding it and before answering (the change made, its answer lost: the result
//! never journaled). Every later request is held too, so nothing else happens before the
//! kill. The shipped binary has no test hook.
//!
//! `HANDOVER_CRASH_SEED` (default 13) and `HANDOVER_CRASH_POINTS` (default 20) choose the
//! points; the seed is printed so that a failing run can be replayed.
//!
//! What each write does is AWS's and Google's documented behaviour, as in tests/apply.rs
//! and tests/apply_gcp.rs: `UpdateAccessKey` `Status=Inactive` deactivates a key
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html);
//! `DeleteLoginProfile` removes the console password
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteLoginProfile.html);
//! `UpdateAssumeRolePolicy` replaces a role's trust policy
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html);
//! `setIamPolicy` replaces a resource's whole policy, guarded by its etag
//! (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/setIamPolicy);
//! `serviceAccountKeys.disable` disables a key
//! (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts.keys/disable).

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

const PROJECT: &str = "contoso-crash";
const AGENCY_ROOT: &str = "arn:aws:iam::210987654321:root";

// ------------------------------------------------------------------ the freezing proxy

/// Where the proxy stops the run: at the Nth write, before forwarding it or after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The Nth write never reaches the emulator.
    Before,
    /// The Nth write is made, its answer never reaches the tool.
    After,
}

/// The counter and trip shared by the two proxies (AWS and GCP) of one run.
struct Trip {
    /// Trip at this write (1-based); 0: never (a counting run).
    at: u64,
    mode: Mode,
    /// Writes counted, and whether new requests are held: one lock, so no write slips
    /// past the trip's.
    gate: Mutex<Gate>,
    /// Requests forwarded whose answer has not come back from the emulator yet.
    inflight: AtomicU64,
    /// Once tripped, every request is held until released.
    tripped: Mutex<bool>,
    cv: Condvar,
    released: AtomicBool,
}

impl Trip {
    fn new(at: u64, mode: Mode) -> Arc<Trip> {
        Arc::new(Trip {
            at,
            mode,
            gate: Mutex::new(Gate::default()),
            inflight: AtomicU64::new(0),
            tripped: Mutex::new(false),
            cv: Condvar::new(),
            released: AtomicBool::new(false),
        })
    }

    fn writes(&self) -> u64 {
        self.gate.lock().unwrap().writes
    }

    /// Lets a request through (`Some(true)`: it is the trip's write, made but its answer
    /// to be held), or holds it (`None`): the run is frozen, or this is the trip's write
    /// and it is not to be made.
    fn admit(&self, write: bool) -> Option<bool> {
        let mut g = self.gate.lock().unwrap();
        if g.frozen {
            return None;
        }
        let mut at_trip = false;
        if write {
            g.writes += 1;
            at_trip = self.at != 0 && g.writes == self.at;
        }
        if at_trip {
            g.frozen = true;
            if self.mode == Mode::Before {
                drop(g);
                self.trip();
                return None;
            }
        }
        self.inflight.fetch_add(1, Ordering::SeqCst);
        Some(at_trip)
    }

    fn trip(&self) {
        *self.tripped.lock().unwrap() = true;
        self.cv.notify_all();
    }

    /// Waits until tripped or `done` says the run ended; true when tripped.
    fn wait(&self, mut done: impl FnMut() -> bool) -> bool {
        let mut t = self.tripped.lock().unwrap();
        while !*t {
            if done() {
                return false;
            }
            t = self
                .cv
                .wait_timeout(t, Duration::from_millis(20))
                .unwrap()
                .0;
        }
        true
    }

    /// Holds a connection until the test releases it (after the kill); it is then
    /// dropped without an answer.
    fn hold(&self) {
        while !self.released.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[derive(Default)]
struct Gate {
    writes: u64,
    frozen: bool,
}

/// One HTTP request read whole (head and body), with `Connection: close` forced.
struct Request {
    bytes: Vec<u8>,
    method: String,
    path: String,
    /// The AWS query-protocol `Action`, or the JSON protocol's `X-Amz-Target` operation.
    action: Option<String>,
}

impl Request {
    /// Whether it changes something: an AWS action other than a read, or a GCP call
    /// other than a GET and the read-only POST verbs.
    fn is_write(&self) -> bool {
        if let Some(a) = &self.action {
            return !["Get", "List", "Describe", "Generate"]
                .iter()
                .any(|p| a.starts_with(p));
        }
        self.method != "GET"
            && ![
                ":getIamPolicy",
                ":testIamPermissions",
                ":access",
                "/_admin/",
            ]
            .iter()
            .any(|v| self.path.contains(v))
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut parts = first.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut bytes = first.clone().into_bytes();
    let (mut length, mut target) = (0usize, None);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        if lower.starts_with("x-amz-target:") {
            target = line.trim().rsplit('.').next().map(str::to_string);
        }
        if lower.starts_with("connection:") {
            continue;
        }
        if line == "\r\n" {
            bytes.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        bytes.extend_from_slice(line.as_bytes());
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let action = target.or_else(|| {
        String::from_utf8_lossy(&body)
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .map(str::to_string)
    });
    bytes.extend_from_slice(&body);
    Some(Request {
        bytes,
        method,
        path,
        action,
    })
}

/// One request: forwarded, or held once the trip is reached.
fn serve(mut client: TcpStream, upstream: &str, trip: &Trip) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let Some(req) = read_request(&client) else {
        return;
    };
    let Some(at_trip) = trip.admit(req.is_write()) else {
        return trip.hold();
    };
    let response = forward(upstream, &req.bytes);
    trip.inflight.fetch_sub(1, Ordering::SeqCst);
    if at_trip {
        trip.trip();
        return trip.hold();
    }
    let _ = client.write_all(&response);
}

/// Sends one request upstream and reads its whole answer (empty if it failed).
fn forward(upstream: &str, request: &[u8]) -> Vec<u8> {
    let mut response = Vec::new();
    if let Ok(mut up) = TcpStream::connect(upstream) {
        let _ = up.set_read_timeout(Some(Duration::from_secs(60)));
        if up.write_all(request).is_ok() {
            let _ = up.read_to_end(&mut response);
        }
    }
    response
}

/// A proxy to `upstream` counting writes into `trip`; it lives as long as the test
/// process (one listener per run, a few per test).
fn proxy(upstream: &str, trip: Arc<Trip>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(client) = conn else { continue };
            let (upstream, trip) = (upstream.clone(), trip.clone());
            std::thread::spawn(move || serve(client, &upstream, &trip));
        }
    });
    url
}

// ------------------------------------------------------------------ the handover

fn iam(moto: &Moto, script: &str) -> String {
    boto3(moto, &format!("iam = boto3.client('iam', region_name='us-east-1', endpoint_url=sm.meta.endpoint_url, aws_access_key_id='testing', aws_secret_access_key='testing')\n{script}"))
}

fn write_config(home: &Path) -> PathBuf {
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
name_patterns = ["*.agency", "ci-*"]
aws_accounts = ["210987654321"]
signing_key = "{}"

[customer]
name = "Contoso"
email_domains = ["contoso.example"]
aws_accounts = ["123456789012"]
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

/// The account: a customer admin, three agency users with keys and passwords (one an
/// admin, so the revoke-admin phase runs), and two roles trusting the agency.
fn seed_aws(moto: &Moto) {
    let trust = |extra: Value| {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": AGENCY_ROOT}, "Action": "sts:AssumeRole"},
            extra
        ]})
        .to_string()
    };
    let ec2 = json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"});
    let lambda = json!({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"});
    iam(
        moto,
        &format!(
            r#"def user(name, admin=False, keys=0, login=False):
    iam.create_user(UserName=name)
    if admin:
        iam.attach_user_policy(UserName=name, PolicyArn='arn:aws:iam::aws:policy/AdministratorAccess')
    for _ in range(keys):
        iam.create_access_key(UserName=name)
    if login:
        iam.create_login_profile(UserName=name, Password='Pass-word-1!')
user('carol.customer', admin=True, login=True)
user('alice.agency', admin=True, keys=2, login=True)
user('bob.agency', keys=1, login=True)
user('dan.agency', keys=2)
iam.create_role(RoleName='shared-ops', AssumeRolePolicyDocument={:?})
iam.create_role(RoleName='batch', AssumeRolePolicyDocument={:?})
"#,
            trust(ec2),
            trust(lambda)
        ),
    );
}

fn post(url: &str, path: &str, body: Value) -> Value {
    let (status, body) = http_post_json(url, path, &body.to_string());
    assert!(status.contains("200"), "{path}: {status} {body}");
    json(&body)
}

/// The project: a customer owner, agency members on the project and on a service
/// account, and the agency's CI service account with two keys.
fn seed_gcp(url: &str) {
    post(
        url,
        "/_admin/seed",
        json!({"projects": [{"projectId": PROJECT, "projectNumber": "777001"}]}),
    );
    let sa = post(
        url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts"),
        json!({"accountId": "ci-deployer", "serviceAccount": {"displayName": "CI"}}),
    );
    let email = sa["email"].as_str().unwrap().to_string();
    for _ in 0..2 {
        post(
            url,
            &format!("/v1/projects/{PROJECT}/serviceAccounts/{email}/keys"),
            json!({}),
        );
    }
    post(
        url,
        &format!("/v1/projects/{PROJECT}:setIamPolicy"),
        json!({"policy": {"version": 3, "bindings": [
            {"role": "roles/owner", "members": ["user:carol@contoso.example"]},
            {"role": "roles/editor", "members": ["user:bob@northwind-agency.example", "user:erin@contoso.example"]},
            {"role": "roles/viewer", "members": ["user:dan@northwind-agency.example"]}
        ]}}),
    );
    post(
        url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts/{email}:setIamPolicy"),
        json!({"policy": {"bindings": [
            {"role": "roles/iam.serviceAccountUser", "members": ["user:bob@northwind-agency.example", "user:carol@contoso.example"]}
        ]}}),
    );
}

/// Both clouds seeded, audited and planned: one plan for AWS and GCP.
struct Setup {
    home: tempfile::TempDir,
    gcp: gcp_test_server::ServerHandle,
    plan: PathBuf,
    config: PathBuf,
    digest: String,
}

fn setup(moto: &Moto) -> Setup {
    moto.reset();
    seed_aws(moto);
    let gcp = gcp_server();
    seed_gcp(&gcp.url());
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let config = write_config(h);
    let inv = h.join("inventory.json");
    let r = run(handover(moto, h)
        .args([
            "audit",
            "--aws",
            "--region",
            "us-east-1",
            "--gcp-project",
            PROJECT,
        ])
        .args(["--gcp-endpoint", &gcp.url(), "--format", "json", "-o"])
        .arg(&inv));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = h.join("plan.json");
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(repo().join("policies/full-transfer.yaml"))
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
        home,
        gcp,
        plan,
        config,
        digest,
    }
}

impl Setup {
    /// `apply --apply`, with AWS and GCP reached at the given endpoints.
    fn apply_cmd(&self, moto: &Moto, aws: &str, gcp: &str) -> std::process::Command {
        let mut c = handover(moto, self.home.path());
        c.env("AWS_ENDPOINT_URL", aws)
            .args(["apply", "--format", "json", "--gcp-endpoint", gcp, "--plan"])
            .arg(&self.plan)
            .arg("--config")
            .arg(&self.config)
            .arg("--journal")
            .arg(self.home.path().join("apply.jsonl"))
            .args(["--apply", "--approve", &self.digest]);
        c
    }

    /// Writes made so far, per AWS action and per GCP route.
    fn writes(&self, moto: &Moto) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (action, n) in moto.requests()["by_action"].as_object().unwrap() {
            let name = action.rsplit('.').next().unwrap();
            if !["Get", "List", "Describe", "Generate"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                out.insert(format!("aws {name}"), n.as_u64().unwrap());
            }
        }
        for (route, n) in self.gcp.request_counts().by_route {
            if !route.starts_with("GET ")
                && ![":getIamPolicy", ":testIamPermissions", "/_admin/"]
                    .iter()
                    .any(|v| route.contains(v))
            {
                out.insert(format!("gcp {route}"), n);
            }
        }
        out
    }

    /// The end state, with every random id left out: per AWS user its keys' statuses
    /// and whether it has a password, each role's trust; the project's and the service
    /// account's bindings, the keys' states.
    fn state(&self, moto: &Moto) -> Value {
        let aws = json(&iam(
            moto,
            "out = {'users': {}, 'roles': {}}\n\
             for u in iam.list_users()['Users']:\n    n = u['UserName']\n    keys = sorted(k['Status'] for k in iam.list_access_keys(UserName=n)['AccessKeyMetadata'])\n    try:\n        iam.get_login_profile(UserName=n)\n        login = True\n    except iam.exceptions.NoSuchEntityException:\n        login = False\n    out['users'][n] = {'keys': keys, 'login': login}\n\
             for r in iam.list_roles()['Roles']:\n    out['roles'][r['RoleName']] = iam.get_role(RoleName=r['RoleName'])['Role']['AssumeRolePolicyDocument']\n\
             print(json.dumps(out))",
        ));
        let url = self.gcp.url();
        let bindings = |path: &str| {
            let p = post(
                &url,
                path,
                json!({"options": {"requestedPolicyVersion": 3}}),
            );
            let mut b: Vec<Value> = p["bindings"]
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
            b.sort_by_key(|b| b.to_string());
            b
        };
        let sa = format!("ci-deployer@{PROJECT}.iam.gserviceaccount.com");
        let (_, keys) = http_get(
            &url,
            &format!("/v1/projects/{PROJECT}/serviceAccounts/{sa}/keys?keyTypes=USER_MANAGED"),
        );
        let mut key_states: Vec<bool> = json(&keys)["keys"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|k| k["disabled"].as_bool().unwrap_or(false))
            .collect();
        key_states.sort();
        json!({
            "aws": aws,
            "project": bindings(&format!("/v1/projects/{PROJECT}:getIamPolicy")),
            "service_account": bindings(&format!("/v1/projects/{PROJECT}/serviceAccounts/{sa}:getIamPolicy")),
            "keys_disabled": key_states,
        })
    }

    /// Steps whose intent has no result in the journal.
    fn in_doubt(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.home.path().join("apply.jsonl")).unwrap();
        let mut open = std::collections::BTreeSet::new();
        for line in text.lines() {
            let v = json(line);
            let k = v["key"].as_str().unwrap().to_string();
            if v["phase"] == "intent" {
                open.insert(k);
            } else {
                open.remove(&k);
            }
        }
        open.into_iter().collect()
    }
}

/// A small seeded generator (SplitMix64): the same seed, the same kill points.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        })
        .unwrap_or(default)
}

impl Setup {
    fn journal_files(&self) -> Vec<PathBuf> {
        let j = self.home.path().join("apply.jsonl");
        vec![
            j.clone(),
            PathBuf::from(format!("{}.head", j.display())),
            PathBuf::from(format!("{}.key.age", j.display())),
        ]
    }

    /// Back to the state the plan was made from, with no journal: `apply --undo` puts
    /// back every reversible change, the console passwords it deleted are made again.
    /// (Seeding, auditing and planning again for each point would give new key ids and
    /// a new plan, at several times the cost.)
    fn restore(&self, moto: &Moto, initial: &Value) {
        let r = run(handover(moto, self.home.path())
            .args([
                "apply",
                "--undo",
                "--format",
                "json",
                "--gcp-endpoint",
                &self.gcp.url(),
            ])
            .arg("--config")
            .arg(&self.config)
            .arg("--journal")
            .arg(self.home.path().join("apply.jsonl")));
        assert!(r.code == 0 || r.code == 8, "{}\n{}", r.stdout, r.stderr);
        let logins: Vec<&String> = initial["aws"]["users"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, u)| u["login"] == true)
            .map(|(n, _)| n)
            .collect();
        iam(
            moto,
            &format!(
                "for n in {logins:?}:\n    try:\n        iam.get_login_profile(UserName=n)\n    except iam.exceptions.NoSuchEntityException:\n        iam.create_login_profile(UserName=n, Password='Pass-word-1!')\n"
            ),
        );
        for f in self.journal_files() {
            let _ = std::fs::remove_file(f);
        }
        assert_eq!(&self.state(moto), initial, "restored for the next point");
    }
}

fn diff(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, n)| (k.clone(), n - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// `n` kill points: every (write, before or after) pair in an order the seed shuffles,
/// taken round-robin when more are asked for than there are.
fn kill_points(total: u64, n: u64, seed: u64) -> Vec<(u64, Mode)> {
    let mut all: Vec<(u64, Mode)> = (1..=total)
        .flat_map(|at| [(at, Mode::Before), (at, Mode::After)])
        .collect();
    let mut rng = Rng(seed);
    for i in (1..all.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        all.swap(i, j);
    }
    (0..n as usize).map(|i| all[i % all.len()]).collect()
}

// Property: killed at any write of a run spanning AWS and GCP, before the write or after
// it landed but before its answer came back, a rerun reaches the uninterrupted run's end
// state with every change made exactly once and nothing left in doubt in the journal.
#[test]
fn killed_at_random_writes_across_aws_and_gcp_a_rerun_makes_every_change_exactly_once() {
    let moto = moto();
    let seed = env_u64("HANDOVER_CRASH_SEED", 13);
    let points = env_u64("HANDOVER_CRASH_POINTS", 20);
    println!("crash seed {seed}, {points} points (HANDOVER_CRASH_SEED / HANDOVER_CRASH_POINTS)");
    let s = setup(&moto);
    let initial = s.state(&moto);

    // The uninterrupted run, through the proxies (counting only).
    let before = s.writes(&moto);
    let trip = Trip::new(0, Mode::Before);
    let (aws, gcp) = (
        proxy(&moto.url, trip.clone()),
        proxy(&s.gcp.url(), trip.clone()),
    );
    let r = run(&mut s.apply_cmd(&moto, &aws, &gcp));
    assert!(r.code == 0 || r.code == 8, "{}\n{}", r.stdout, r.stderr);
    for st in json(&r.stdout)["steps"].as_array().unwrap() {
        assert!(
            st["outcome"] != "failed" && st["outcome"] != "drift",
            "{st}"
        );
    }
    let (code, expected) = (r.code, diff(&s.writes(&moto), &before));
    let end_state = s.state(&moto);
    let total = trip.writes();
    println!("an uninterrupted run writes {total} times: {expected:?}");
    assert!(
        expected.keys().any(|k| k.starts_with("aws "))
            && expected.keys().any(|k| k.starts_with("gcp ")),
        "the plan writes to both clouds: {expected:?}"
    );
    assert_eq!(
        expected.values().sum::<u64>(),
        total,
        "the proxy saw every write"
    );
    assert!(total >= 10, "{expected:?}");
    assert_ne!(end_state, initial);
    s.restore(&moto, &initial);

    for (i, (at, mode)) in kill_points(total, points, seed).into_iter().enumerate() {
        let point = format!("point {i}: write {at} of {total}, {mode:?} (seed {seed})");
        println!("{point}");
        let before = s.writes(&moto);
        let trip = Trip::new(at, mode);
        let (aws, gcp) = (
            proxy(&moto.url, trip.clone()),
            proxy(&s.gcp.url(), trip.clone()),
        );
        let mut child = s
            .apply_cmd(&moto, &aws, &gcp)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let tripped = trip.wait(|| child.try_wait().ok().flatten().is_some());
        assert!(tripped, "{point}: the run ended before the write");
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        trip.released.store(true, Ordering::SeqCst);
        // Requests the proxy had already forwarded land before they are counted.
        while trip.inflight.load(Ordering::SeqCst) > 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let made_before_kill = diff(&s.writes(&moto), &before).values().sum::<u64>();
        let expect_made = if mode == Mode::Before { at - 1 } else { at };
        assert_eq!(
            made_before_kill, expect_made,
            "{point}: writes that reached the emulators"
        );
        // The rerun, straight to the emulators.
        let r = run(&mut s.apply_cmd(&moto, &moto.url, &s.gcp.url()));
        assert_eq!(r.code, code, "{point}: {}\n{}", r.stdout, r.stderr);
        assert_eq!(diff(&s.writes(&moto), &before), expected, "{point}");
        assert_eq!(s.state(&moto), end_state, "{point}");
        assert!(s.in_doubt().is_empty(), "{point}: {:?}", s.in_doubt());
        s.restore(&moto, &initial);
    }
}
