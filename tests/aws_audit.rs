//! The AWS audit against moto in server mode: what it finds in a realistic account,
//! live versus snapshot equivalence, canaries, permissions and failures.

mod support;

use serde_json::Value;
use support::*;

fn find<'a>(items: &'a Value, key: &str, value: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i[key] == value)
        .unwrap_or_else(|| panic!("no item with {key} = {value}"))
}

fn creds_of<'a>(inv: &'a Value, principal: &str) -> Vec<&'a Value> {
    inv["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["principal"] == principal)
        .collect()
}

fn codes_for(inv: &Value, subject: &str) -> Vec<String> {
    inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"].as_str().unwrap().starts_with(subject))
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn live_audit(moto: &Moto, home: &std::path::Path) -> Value {
    let r = run(handover(moto, home).args([
        "audit",
        "--aws",
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    json(&r.stdout)
}

#[test]
fn live_audit_finds_every_credential_kind_in_the_seeded_account() {
    let moto = moto();
    let ids = seed(&moto);
    let home = tempfile::tempdir().unwrap();
    let inv = live_audit(&moto, home.path());
    let acct = "123456789012";
    assert_eq!(inv["schema"], "handover/inventory");
    assert_eq!(inv["version"], handover::model::INVENTORY_VERSION);
    assert_eq!(inv["sources"][0]["scope"], acct);
    assert_eq!(inv["sources"][0]["mode"], "live");

    // alice: admin through a group, password, virtual MFA, two keys, SSH key, certificate.
    let alice = format!("arn:aws:iam::{acct}:user/alice.agency");
    let p = find(&inv["principals"], "id", &alice);
    assert_eq!(p["kind"], "iam-user");
    assert_eq!(p["admin"]["equivalent"], true);
    assert!(
        p["admin"]["via"][0]
            .as_str()
            .unwrap()
            .contains("group admins"),
        "{}",
        p["admin"]
    );
    assert_eq!(p["groups"], serde_json::json!(["admins"]));
    assert_eq!(p["tags"]["email"], "alice@northwind-agency.example");
    let c = creds_of(&inv, &alice);
    let kinds: Vec<&str> = c.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    for k in [
        "console-password",
        "access-key",
        "mfa-device",
        "ssh-public-key",
        "signing-certificate",
    ] {
        assert!(kinds.contains(&k), "alice lacks {k}: {kinds:?}");
    }
    let recent = find(
        &inv["credentials"],
        "identifier",
        ids["alice"]["recent_key"].as_str().unwrap(),
    );
    assert_eq!(recent["status"], "active");
    assert_eq!(recent["last_used"]["state"], "used");
    let old = find(
        &inv["credentials"],
        "identifier",
        ids["alice"]["old_key"].as_str().unwrap(),
    );
    assert_eq!(old["last_used"]["state"], "never");
    let mfa = find(
        &inv["credentials"],
        "identifier",
        ids["alice"]["mfa"].as_str().unwrap(),
    );
    assert_eq!(mfa["detail"]["device"], "virtual");
    let ssh = find(
        &inv["credentials"],
        "identifier",
        ids["alice"]["ssh_key"].as_str().unwrap(),
    );
    assert_eq!(
        ssh["last_used"]["state"], "unknown",
        "IAM does not record SSH key use"
    );
    find(
        &inv["credentials"],
        "identifier",
        ids["alice"]["certificate"].as_str().unwrap(),
    );
    let alice_codes = codes_for(&inv, &alice);
    for code in [
        "admin-user",
        "access-key-stale",
        "access-key-never-used",
        "two-active-access-keys",
        "signing-certificate-active",
    ] {
        assert!(
            alice_codes.iter().any(|c| c == code),
            "alice lacks finding {code}: {alice_codes:?}"
        );
    }
    assert!(!alice_codes.iter().any(|c| c == "console-without-mfa"));

    // bob: console without MFA, an inactive key, not admin (PowerUserAccess is not admin).
    let bob = format!("arn:aws:iam::{acct}:user/bob.agency");
    assert_eq!(
        find(&inv["principals"], "id", &bob)["admin"]["equivalent"],
        false
    );
    let bob_key = find(
        &inv["credentials"],
        "identifier",
        ids["bob"]["inactive_key"].as_str().unwrap(),
    );
    assert_eq!(bob_key["status"], "inactive");
    let bob_codes = codes_for(&inv, &bob);
    assert!(
        bob_codes.contains(&"console-without-mfa".to_string()),
        "{bob_codes:?}"
    );
    assert!(
        bob_codes.contains(&"access-key-inactive".to_string()),
        "{bob_codes:?}"
    );

    // ci-deploy: admin through an inline `*` policy.
    let ci = format!("arn:aws:iam::{acct}:user/automation/ci-deploy");
    let ci_p = find(&inv["principals"], "id", &ci);
    assert_eq!(ci_p["admin"]["equivalent"], true);
    assert!(ci_p["admin"]["via"][0]
        .as_str()
        .unwrap()
        .contains("inline policy everything"));

    // old-contractor: last used 200 days ago; age is counted from last use.
    let oc = find(
        &inv["credentials"],
        "identifier",
        ids["old_contractor"]["key"].as_str().unwrap(),
    );
    assert_eq!(oc["last_used"]["state"], "used");
    let stale: Vec<&Value> = inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"] == oc["id"])
        .collect();
    assert!(
        stale[0]["message"]
            .as_str()
            .unwrap()
            .contains("last used 200 days ago"),
        "{stale:?}"
    );

    // carol: the customer's admin, directly attached.
    let carol = find(&inv["principals"], "name", "carol.customer");
    assert_eq!(carol["admin"]["equivalent"], true);

    // Roles: outside account with ExternalId, GitHub OIDC with and without a subject, a wildcard.
    let trust = |role: &str| -> Vec<&Value> {
        inv["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["kind"] == "role-trust"
                    && c["principal"] == format!("arn:aws:iam::{acct}:role/{role}")
            })
            .collect()
    };
    let ops = trust("agency-operations");
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0]["detail"]["trusted"]["account_id"], "210987654321");
    // Inventory format 2: a clause (operator, key, values), no longer a display line.
    assert_eq!(
        ops[0]["detail"]["conditions"][0],
        serde_json::json!({
            "operator": "StringEquals",
            "set_operator": null,
            "if_exists": false,
            "key": "sts:ExternalId",
            "values": ["northwind-ops"]
        })
    );
    assert_eq!(
        find(&inv["principals"], "name", "agency-operations")["admin"]["equivalent"],
        true
    );
    assert_eq!(
        trust("github-deploy")[0]["detail"]["trusted"]["kind"],
        "federated-oidc"
    );
    assert!(
        codes_for(&inv, &format!("arn:aws:iam::{acct}:role/github-any-repo"))
            .contains(&"role-trusts-oidc-without-subject".to_string())
    );
    assert!(
        codes_for(&inv, &format!("arn:aws:iam::{acct}:role/github-deploy"))
            .contains(&"role-trusts-federated".to_string())
    );
    assert!(
        codes_for(&inv, &format!("arn:aws:iam::{acct}:role/vendor-anyone"))
            .contains(&"role-trusts-anyone".to_string())
    );
    assert!(
        trust("app-runtime").is_empty(),
        "a service trust is not an outside trust"
    );

    // Secrets in both regions, never their values.
    let stripe = find(&inv["secrets"], "name", "prod/stripe-key");
    assert_eq!(stripe["access_policy"]["state"], "known");
    assert_eq!(
        stripe["access_policy"]["outside"][0]["principal"]["account_id"],
        "210987654321"
    );
    let signing = find(&inv["secrets"], "name", "prod/payments-signing");
    assert_eq!(signing["encryption"]["external"], true);
    assert_eq!(signing["encryption"]["key_account"], "444455556666");
    assert_eq!(
        find(&inv["secrets"], "name", "prod/db-password")["tags"]["app"],
        "shop"
    );
    assert_eq!(
        find(&inv["secrets"], "name", "eu/app-config")["region"],
        "eu-west-1"
    );
    assert_eq!(
        find(&inv["secrets"], "name", "prod/db-password")["access_policy"]["state"],
        "none"
    );

    // Blind spots are named, not guessed: moto has no ListServiceSpecificCredentials and
    // no root row in its credential report (AWS has both).
    let gaps: Vec<&str> = inv["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["source"].as_str().unwrap())
        .collect();
    assert!(
        gaps.contains(&"iam:ListServiceSpecificCredentials"),
        "{gaps:?}"
    );
    let root = find(&inv["principals"], "kind", "root");
    assert_eq!(root["admin"]["equivalent"], true);
    assert!(codes_for(&inv, root["id"].as_str().unwrap()).contains(&"root-without-mfa".to_string()));

    // Findings come riskiest first.
    let sev: Vec<&str> = inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    let rank = |s: &str| {
        ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    assert!(sev.windows(2).all(|w| rank(w[0]) >= rank(w[1])), "{sev:?}");
}

#[test]
fn audit_cost_is_bulk_calls_plus_what_no_bulk_source_has() {
    let moto = moto();
    seed(&moto);
    let before = moto.requests()["total"].as_u64().unwrap();
    let home = tempfile::tempdir().unwrap();
    live_audit(&moto, home.path());
    let counts = moto.requests();
    let spent = counts["total"].as_u64().unwrap() - before;
    let by = &counts["by_action"];
    // 6 users, 5 secrets: one ListSSHPublicKeys per user, ListAccessKeys only for the 4
    // users the credential report shows with keys, one GetResourcePolicy per secret.
    assert_eq!(by["ListSSHPublicKeys"], 6, "{counts}");
    assert_eq!(by["ListAccessKeys"], 4, "{counts}");
    assert_eq!(by["GetAccountAuthorizationDetails"], 1, "{counts}");
    assert!(
        by.get("ListMFADevices").is_none(),
        "virtual MFA comes from the bulk list: {counts}"
    );
    assert!(
        by.get("secretsmanager.GetSecretValue").is_none()
            && by.get("secretsmanager.BatchGetSecretValue").is_none()
    );
    // 30, plus Identity Center's fixed reads of an instance with no permission set:
    // ListInstances, ListUsers, ListGroups, ListPermissionSets.
    assert!(spent <= 34, "the audit spent {spent} requests: {counts}");
}

#[test]
fn snapshot_from_the_aws_cli_gives_the_same_inventory_as_the_live_audit() {
    let moto = moto();
    seed(&moto);
    let home = tempfile::tempdir().unwrap();
    let live = live_audit(&moto, home.path());
    let snap_dir = tempfile::tempdir().unwrap();
    export_snapshot(&moto, snap_dir.path(), &["us-east-1", "eu-west-1"]);
    let r = run(handover_offline(home.path())
        .args(["audit", "--snapshot"])
        .arg(snap_dir.path())
        .args(["--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let snap = json(&r.stdout);
    assert_eq!(snap["sources"][0]["mode"], "snapshot");
    for key in ["principals", "credentials", "secrets", "findings"] {
        assert_eq!(
            live[key], snap[key],
            "{key} differ between live and snapshot"
        );
    }
    // The same gaps, though the reasons differ (moto answers 500 live; the export left the file out).
    let sources = |v: &Value| -> Vec<(String, Value)> {
        v["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["source"].as_str().unwrap().to_string(),
                    g["subject"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(sources(&live), sources(&snap));
}

#[test]
fn canary_values_never_appear_in_any_output_at_any_verbosity() {
    let moto = moto();
    let ids = seed(&moto);
    let mut canaries: Vec<String> = ids["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    // The tool's own credentials are secrets too.
    let secret_key = "CANARY-secret-access-key-0d9c8b7a";
    let session_token = "CANARY-session-token-6b5a4c3d";
    canaries.push(secret_key.into());
    canaries.push(session_token.into());
    canaries.push("CANARY-BIN-5e1d".into());
    let home = tempfile::tempdir().unwrap();
    let out_file = home.path().join("inventory.json");
    let mut outputs = Vec::new();
    for (verbosity, format) in [("-vvv", "json"), ("-vvv", "table"), ("-v", "table")] {
        let r = run(handover(&moto, home.path())
            .env("AWS_SECRET_ACCESS_KEY", secret_key)
            .env("AWS_SESSION_TOKEN", session_token)
            .env("RUST_LOG", "trace")
            .args([
                verbosity,
                "audit",
                "--aws",
                "--region",
                "us-east-1",
                "--region",
                "eu-west-1",
                "--format",
                format,
                "--force",
                "-o",
            ])
            .arg(&out_file));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains("TRACE") || verbosity == "-v",
            "trace logging was not on"
        );
        outputs.push(r.stdout);
        outputs.push(r.stderr);
        outputs.push(std::fs::read_to_string(&out_file).unwrap());
    }
    // The plan made from that inventory (JSON, Markdown, table, explain) holds none either.
    let cfg = repo().join("examples/northwind-to-contoso/handover.toml");
    for format in ["json", "markdown", "table"] {
        let r = run(handover_offline(home.path())
            .env("RUST_LOG", "trace")
            .args(["-vvv", "plan", "--inventory"])
            .arg(&out_file)
            .arg("--policy")
            .arg(repo().join("policies/full-transfer.yaml"))
            .arg("--config")
            .arg(&cfg)
            .args(["--format", format]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    }
    let r = run(handover_offline(home.path())
        .args([
            "policy",
            "explain",
            "--context",
            "--target",
            "prod/stripe-key",
            "--inventory",
        ])
        .arg(&out_file)
        .arg("--policy")
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--config")
        .arg(&cfg));
    assert_eq!(r.code, 0, "{}", r.stderr);
    outputs.push(r.stdout);
    // The snapshot export holds no value either.
    let snap_dir = tempfile::tempdir().unwrap();
    export_snapshot(&moto, snap_dir.path(), &["us-east-1", "eu-west-1"]);
    for entry in walk(snap_dir.path()) {
        outputs.push(String::from_utf8_lossy(&std::fs::read(entry).unwrap()).into_owned());
    }
    for text in &outputs {
        for c in &canaries {
            assert!(!text.contains(c.as_str()), "canary {c} leaked");
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Creates a user with the given inline policy and returns its access key pair.
fn user_with_policy(moto: &Moto, name: &str, policy: Option<&str>) -> (String, String) {
    let script = format!(
        "import boto3,json,sys\n\
         iam=boto3.client('iam',region_name='us-east-1',endpoint_url='{url}',aws_access_key_id='testing',aws_secret_access_key='testing')\n\
         iam.create_user(UserName='{name}')\n\
         p=sys.stdin.read()\n\
         if p: iam.put_user_policy(UserName='{name}',PolicyName='handover-audit',PolicyDocument=p)\n\
         k=iam.create_access_key(UserName='{name}')['AccessKey']\n\
         print(k['AccessKeyId'],k['SecretAccessKey'])",
        url = moto.url
    );
    let mut child = std::process::Command::new(venv_bin("python"))
        .args(["-c", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(policy.unwrap_or("").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut parts = text.split_whitespace();
    (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    )
}

#[test]
fn least_privilege_policy_is_exactly_enough_for_the_audit() {
    let moto = moto();
    seed(&moto);
    let home = tempfile::tempdir().unwrap();
    let full = live_audit(&moto, home.path());
    let policy =
        std::fs::read_to_string(repo().join("policies/permissions/aws-audit.json")).unwrap();
    let (key, secret) = user_with_policy(&moto, "handover-auditor", Some(&policy));
    moto.enforce_permissions();
    let r = run(handover(&moto, home.path())
        .env("AWS_ACCESS_KEY_ID", &key)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .args([
            "audit",
            "--aws",
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--format",
            "json",
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let restricted = json(&r.stdout);
    let gap_sources: Vec<&str> = restricted["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["source"].as_str().unwrap())
        .collect();
    assert!(
        !restricted["gaps"].to_string().contains("access denied"),
        "the policy lacks something: {gap_sources:?} {}",
        restricted["gaps"]
    );
    // Everything the unrestricted audit saw (less the auditor user itself).
    let secrets = |v: &Value| v["secrets"].as_array().unwrap().len();
    assert_eq!(secrets(&full), secrets(&restricted));
    assert_eq!(
        full["principals"].as_array().unwrap().len() + 1,
        restricted["principals"].as_array().unwrap().len()
    );
    // The policy names each action (no wildcard) and none that reads a secret value.
    let doc: Value = serde_json::from_str(&policy).unwrap();
    for st in doc["Statement"].as_array().unwrap() {
        let actions: Vec<&str> = match &st["Action"] {
            Value::String(a) => vec![a.as_str()],
            Value::Array(a) => a.iter().map(|a| a.as_str().unwrap()).collect(),
            other => panic!("unexpected Action {other}"),
        };
        for a in actions {
            assert!(!a.contains('*'), "wildcard action {a}");
            assert!(
                !a.contains("GetSecretValue") && !a.contains("BatchGetSecretValue"),
                "{a} reads values"
            );
        }
    }
}

#[test]
fn access_denied_is_exit_4_with_a_hint_naming_the_policy() {
    let moto = moto();
    seed(&moto);
    let (key, secret) = user_with_policy(&moto, "nobody", None);
    moto.enforce_permissions();
    let home = tempfile::tempdir().unwrap();
    let r = run(handover(&moto, home.path())
        .env("AWS_ACCESS_KEY_ID", &key)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .args([
            "audit",
            "--aws",
            "--region",
            "us-east-1",
            "--format",
            "json",
        ]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("AccessDenied") || r.stderr.contains("403"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("policies/permissions/aws-audit.json"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn unreachable_endpoint_is_exit_5_with_a_hint() {
    let home = tempfile::tempdir().unwrap();
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = run(handover_offline(home.path())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args([
            "audit",
            "--aws",
            "--region",
            "us-east-1",
            "--max-attempts",
            "2",
        ]));
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("cannot reach"), "{}", r.stderr);
    assert!(r.stderr.contains("hint: check the network"), "{}", r.stderr);
}

#[test]
fn no_credentials_is_exit_4_with_a_hint() {
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path()).args([
        "audit",
        "--aws",
        "--region",
        "us-east-1",
        "--max-attempts",
        "1",
    ]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("hint: check the credentials"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_named_profile_supplies_credentials_region_and_endpoint_url() {
    let moto = moto();
    seed(&moto);
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("aws-config"),
        format!(
            "[profile handover-test]\nregion = eu-west-1\nendpoint_url = {}\n",
            moto.url
        ),
    )
    .unwrap();
    std::fs::write(
        home.path().join("aws-credentials"),
        "[handover-test]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    // No AWS_* variables at all: everything comes from the profile.
    let r = run(handover_offline(home.path()).args([
        "audit",
        "--aws",
        "--profile",
        "handover-test",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = json(&r.stdout);
    assert_eq!(
        inv["sources"][0]["regions"],
        serde_json::json!(["eu-west-1"]),
        "the profile's region"
    );
    let names: Vec<&str> = inv["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["eu/app-config"]);
    assert!(inv["principals"].as_array().unwrap().len() >= 10);

    // An unknown profile is a usage error naming the profiles that exist (issue 15 item 3;
    // tests/messages.rs holds the exact text), not a panic.
    let r = run(handover_offline(home.path()).args([
        "audit",
        "--aws",
        "--profile",
        "no-such-profile",
        "--region",
        "us-east-1",
        "--max-attempts",
        "1",
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("name one that does: handover-test"),
        "{}",
        r.stderr
    );
}

#[test]
fn throttling_5xx_and_dropped_connections_are_retried_to_the_same_inventory() {
    let moto = moto();
    seed(&moto);
    let home = tempfile::tempdir().unwrap();
    let clean = live_audit(&moto, home.path());
    let proxy = support::fault_proxy::start(
        &moto.url,
        0.2,
        42,
        &[
            support::fault_proxy::Fault::Throttle,
            support::fault_proxy::Fault::Unavailable,
            support::fault_proxy::Fault::Drop,
        ],
    );
    let r = run(handover(&moto, home.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args([
            "audit",
            "--aws",
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--format",
            "json",
            "--max-attempts",
            "10",
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        proxy.injected.load(std::sync::atomic::Ordering::SeqCst) > 3,
        "faults were injected"
    );
    let faulty = json(&r.stdout);
    for key in ["principals", "credentials", "secrets", "findings"] {
        assert_eq!(clean[key], faulty[key], "{key} differ under faults");
    }
}

/// Users whose own, group or attached policies deny everything from a date on, and one
/// whose deny is narrower: what the live audit and the snapshot audit say of each.
fn deny_after_users(moto: &Moto) {
    let script = format!(
        r#"import boto3,json
iam=boto3.client('iam',region_name='us-east-1',endpoint_url='{url}',aws_access_key_id='testing',aws_secret_access_key='testing')
def deny(cond): return json.dumps({{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"*","Resource":"*","Condition":cond}}]}})
allow=json.dumps({{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"*"}}]}})
for u in ['inline.ends','group.ends','managed.ends','mfa.only','bad.date']:
    iam.create_user(UserName=u)
    iam.put_user_policy(UserName=u,PolicyName='work',PolicyDocument=allow)
iam.put_user_policy(UserName='inline.ends',PolicyName='handover-ends-2027-01-31',PolicyDocument=deny({{"DateGreaterThanEquals":{{"aws:CurrentTime":"2027-01-31T00:00:00Z"}}}}))
iam.create_group(GroupName='agency')
iam.put_group_policy(GroupName='agency',PolicyName='ends',PolicyDocument=deny({{"DateGreaterThan":{{"aws:CurrentTime":"2027-03-01T00:00:00Z"}}}}))
iam.add_user_to_group(GroupName='agency',UserName='group.ends')
arn=iam.create_policy(PolicyName='ends',PolicyDocument=deny({{"DateGreaterThanEquals":{{"aws:EpochTime":"1801353600"}}}}))['Policy']['Arn']
iam.attach_user_policy(UserName='managed.ends',PolicyArn=arn)
iam.put_user_policy(UserName='mfa.only',PolicyName='ends',PolicyDocument=deny({{"DateGreaterThan":{{"aws:CurrentTime":"2027-01-31T00:00:00Z"}},"Bool":{{"aws:MultiFactorAuthPresent":"false"}}}}))
iam.put_user_policy(UserName='bad.date',PolicyName='ends',PolicyDocument=deny({{"DateGreaterThan":{{"aws:CurrentTime":"2027-02-30"}}}}))
"#,
        url = moto.url
    );
    let out = std::process::Command::new(venv_bin("python"))
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// The audit did not read conditions in user and group policies, so a user whose access
// a Deny ends at a date was not time-bound and `verify` could not prove retain-until.
#[test]
fn a_deny_everything_after_a_date_in_user_group_or_managed_policies_is_read_live_and_from_a_snapshot(
) {
    let moto = moto();
    deny_after_users(&moto);
    let home = tempfile::tempdir().unwrap();
    let live = live_audit(&moto, home.path());
    let ends = |inv: &Value, user: &str| {
        find(
            &inv["principals"],
            "id",
            &format!("arn:aws:iam::123456789012:user/{user}"),
        )["access_ends"]
            .clone()
    };
    let until = |at: &str, inclusive: bool| serde_json::json!({"state": "until", "at": at, "inclusive": inclusive});
    assert_eq!(
        ends(&live, "inline.ends"),
        until("2027-01-31T00:00:00Z", false)
    );
    assert_eq!(
        ends(&live, "group.ends"),
        until("2027-03-01T00:00:00Z", true)
    );
    assert_eq!(
        ends(&live, "managed.ends"),
        until("2027-01-31T00:00:00Z", false)
    );
    assert_eq!(
        ends(&live, "mfa.only"),
        serde_json::json!({"state": "unbounded"})
    );
    assert_eq!(ends(&live, "bad.date")["state"], "conditional");
    let snap_dir = tempfile::tempdir().unwrap();
    export_snapshot(&moto, snap_dir.path(), &["us-east-1"]);
    let r = run(handover_offline(home.path())
        .args(["audit", "--snapshot"])
        .arg(snap_dir.path())
        .args(["--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(live["principals"], json(&r.stdout)["principals"]);
}
