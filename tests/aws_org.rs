//! Many AWS accounts in one audit (issue 16): an AWS Organization of a management
//! account and three members in moto's multi-account mode, entered by AssumeRole into
//! each member's OrganizationAccountAccessRole; accounts chosen and excluded; an account
//! that cannot be entered; the plan's lock-out check per account; least privilege.

mod support;

use std::sync::{Mutex, MutexGuard, OnceLock};

use serde_json::Value;
use support::*;

/// The test binary's multi-account moto (no MOTO_ACCOUNT_ID), reset and seeded with
/// the organization; tests that use it run one at a time.
fn org_moto() -> (MutexGuard<'static, Moto>, Value) {
    static MOTO: OnceLock<Mutex<Moto>> = OnceLock::new();
    let guard = MOTO
        .get_or_init(|| Mutex::new(Moto::start_multi_account()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    guard.reset();
    let out = std::process::Command::new(venv_bin("python"))
        .arg(repo().join("tests/support/seed_aws_org.py"))
        .args(["--endpoint", &guard.url, "--audit-policy"])
        .arg(repo().join("policies/permissions/aws-audit.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seeding the organization failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = serde_json::from_slice(&out.stdout).unwrap();
    (guard, ids)
}

fn audit(moto: &Moto, home: &std::path::Path, extra: &[&str]) -> Run {
    run(handover(moto, home)
        .args(["audit", "--aws", "--format", "json", "--max-attempts", "2"])
        .args(extra))
}

fn scopes(inv: &Value) -> Vec<String> {
    inv["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scope"].as_str().unwrap().to_string())
        .collect()
}

fn account<'a>(inv: &'a Value, id: &str) -> &'a Value {
    inv["aws_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("account {id} not listed: {}", inv["aws_accounts"]))
}

fn id(ids: &Value, name: &str) -> String {
    ids[name].as_str().unwrap().to_string()
}

#[test]
fn org_audit_reads_the_management_account_and_every_member_through_assumed_roles() {
    let (moto, ids) = org_moto();
    let home = tempfile::tempdir().unwrap();
    let r = audit(&moto, home.path(), &["--org"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = json(&r.stdout);
    let mut want: Vec<String> = ["management", "prod", "staging", "dev"]
        .iter()
        .map(|n| id(&ids, n))
        .collect();
    want.sort();
    assert_eq!(scopes(&inv), want, "one source per account");
    // Each member's principals are read in its own account (moto keeps per-account state).
    let principal_in = |name: &str, acct: &str| {
        inv["principals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == name && p["scope"] == acct)
    };
    assert!(principal_in("contoso-admin-prod", &id(&ids, "prod")));
    assert!(principal_in("dev.agency", &id(&ids, "dev")));
    assert!(!principal_in("contoso-admin-prod", &id(&ids, "dev")));
    // The accounts with their names, OU paths and how they were entered.
    let prod = account(&inv, &id(&ids, "prod"));
    assert_eq!(prod["name"], "contoso-prod");
    assert_eq!(
        prod["ou_path"],
        serde_json::json!(["Root", "Workloads", "Prod"])
    );
    assert_eq!(prod["audited"], true);
    assert_eq!(
        prod["entered_via"],
        format!(
            "role arn:aws:iam::{}:role/OrganizationAccountAccessRole",
            id(&ids, "prod")
        )
    );
    assert_eq!(
        account(&inv, &id(&ids, "staging"))["ou_path"],
        serde_json::json!(["Root", "Workloads"])
    );
    assert_eq!(
        account(&inv, "123456789012")["entered_via"],
        "credential chain"
    );
    // The organization's facts: management account, delegated administrators, SCPs.
    let org = &inv["aws_organization"];
    assert_eq!(org["management_account_id"], "123456789012");
    assert_eq!(
        org["delegated_administrators"][0]["account_id"],
        id(&ids, "staging")
    );
    assert_eq!(
        org["delegated_administrators"][0]["services"],
        serde_json::json!(["ssm.amazonaws.com"])
    );
    let scp = org["service_control_policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "DenyLeaveOrganization")
        .expect("the SCP is listed");
    assert_eq!(scp["aws_managed"], false);
    assert_eq!(scp["targets"][0]["id"], id(&ids, "workloads"));
    assert_eq!(scp["targets"][0]["kind"], "ORGANIZATIONAL_UNIT");
    // Member sessions are the assumed role's (revoked last by a plan).
    assert!(inv["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["scope"] == id(&ids, "prod"))
        .all(|s| s["identity"]
            .as_str()
            .unwrap()
            .contains("assumed-role/OrganizationAccountAccessRole/")));
}

#[test]
fn excluded_and_unchosen_accounts_are_neither_audited_nor_listed() {
    let (moto, ids) = org_moto();
    let home = tempfile::tempdir().unwrap();
    let dev = id(&ids, "dev");
    let r = audit(&moto, home.path(), &["--org", "--exclude-accounts", &dev]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = json(&r.stdout);
    assert!(!scopes(&inv).contains(&dev));
    assert_eq!(scopes(&inv).len(), 3);
    assert!(!r.stdout.contains("dev.agency"), "dev's users are absent");
    assert!(inv["aws_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["id"] != dev.as_str()));

    let prod = id(&ids, "prod");
    let r = audit(&moto, home.path(), &["--org", "--accounts", &prod]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(scopes(&json(&r.stdout)), vec![prod]);

    // An id the organization does not list is a usage error before any account is read.
    let r = audit(&moto, home.path(), &["--org", "--accounts", "999999999999"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("999999999999"), "{}", r.stderr);
    // --accounts without --org is refused.
    let r = audit(&moto, home.path(), &["--accounts", &dev]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("add --org"), "{}", r.stderr);
}

#[test]
fn an_account_whose_role_cannot_be_assumed_is_a_gap_and_the_others_are_audited() {
    let (moto, ids) = org_moto();
    let home = tempfile::tempdir().unwrap();
    let dev = id(&ids, "dev");
    // STS refuses AssumeRole into dev's role (moto itself never refuses one).
    let sts = fault_proxy::start_denying(&moto.url, &dev);
    let r = run(handover(&moto, home.path())
        .env("AWS_ENDPOINT_URL_STS", &sts.url)
        .args([
            "audit",
            "--aws",
            "--org",
            "--format",
            "json",
            "--max-attempts",
            "2",
        ]));
    assert_eq!(r.code, 0, "the run goes on: {}", r.stderr);
    let inv = json(&r.stdout);
    assert!(sts.injected.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert_eq!(
        scopes(&inv).len(),
        3,
        "the three other accounts are audited"
    );
    assert!(!scopes(&inv).contains(&dev));
    let gap = inv["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["scope"] == dev.as_str())
        .unwrap_or_else(|| panic!("no gap for {dev}: {}", inv["gaps"]));
    assert_eq!(gap["source"], "sts:AssumeRole");
    let reason = gap["reason"].as_str().unwrap();
    assert!(reason.contains("contoso-dev"), "{reason}");
    assert!(reason.contains("AccessDenied"), "{reason}");
    let listed = account(&inv, &dev);
    assert_eq!(listed["audited"], false);
}

/// The config for the seeded organization: the customer's accounts are those named
/// in `customer`; `agency` lists the rest as the agency's.
fn org_config(home: &std::path::Path, ids: &Value, customer: &[&str]) -> std::path::PathBuf {
    let p = home.join("org-handover.toml");
    let list = |names: Vec<&str>| -> String {
        names
            .iter()
            .map(|n| format!("\"{}\"", id(ids, n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let agency: Vec<&str> = ["management", "prod", "staging", "dev"]
        .into_iter()
        .filter(|n| !customer.contains(n))
        .collect();
    std::fs::write(
        &p,
        format!(
            "scenario = \"full-transfer\"\nhandover_date = \"2026-11-01\"\n\n[agency]\nname = \"Northwind\"\n\
             email_domains = [\"northwind-agency.example\"]\nname_patterns = [\"*.agency\"]\naws_accounts = [{}]\n\n\
             [customer]\nname = \"Contoso\"\nemail_domains = [\"contoso.example\"]\n\
             name_patterns = [\"contoso-*\"]\naws_accounts = [{}]\n",
            list(agency),
            list(customer.to_vec())
        ),
    )
    .unwrap();
    p
}

#[test]
fn the_plan_refuses_to_lock_the_customer_out_of_any_one_account_and_names_it() {
    let (moto, ids) = org_moto();
    let home = tempfile::tempdir().unwrap();
    let inv = home.path().join("inventory.json");
    let r = run(handover(&moto, home.path())
        .args(["audit", "--aws", "--org", "--max-attempts", "2", "-o"])
        .arg(&inv));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(handover_offline(home.path())
        .args(["plan", "--policy", "full-transfer", "--inventory"])
        .arg(&inv)
        .arg("--config")
        .arg(org_config(home.path(), &ids, &ALL)));
    assert_eq!(r.code, 7, "refused: {}", r.stderr);
    let dev = id(&ids, "dev");
    assert!(
        r.stderr.contains(&format!("aws {dev} (contoso-dev)")),
        "{}",
        r.stderr
    );
    for other in ["prod", "staging"] {
        assert!(!r.stderr.contains(&id(&ids, other)), "{}", r.stderr);
    }

    // Without dev, every account keeps a customer admin: the plan is made.
    let inv2 = home.path().join("inventory-no-dev.json");
    let r = run(handover(&moto, home.path())
        .args([
            "audit",
            "--aws",
            "--org",
            "--max-attempts",
            "2",
            "--exclude-accounts",
            &dev,
            "-o",
        ])
        .arg(&inv2));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(handover_offline(home.path())
        .args([
            "plan",
            "--policy",
            "full-transfer",
            "--format",
            "json",
            "--inventory",
        ])
        .arg(&inv2)
        .arg("--config")
        .arg(org_config(home.path(), &ids, &ALL)));
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The config's aws_accounts classify accounts: dev listed as the agency's own is not
    // the customer's to be locked out of, and the plan is made from the full inventory.
    let r = run(handover_offline(home.path())
        .args([
            "plan",
            "--policy",
            "full-transfer",
            "--format",
            "json",
            "--inventory",
        ])
        .arg(&inv)
        .arg("--config")
        .arg(org_config(
            home.path(),
            &ids,
            &["management", "prod", "staging"],
        )));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = json(&r.stdout);
    let after = plan["summary"]["customer_admins_after"].to_string();
    assert!(!after.contains(&dev), "{after}");
    assert!(after.contains(&id(&ids, "prod")), "{after}");
}

const ALL: [&str; 4] = ["management", "prod", "staging", "dev"];

#[test]
fn an_org_snapshot_reads_one_folder_per_account_and_the_organization_as_live() {
    let (moto, ids) = org_moto();
    let home = tempfile::tempdir().unwrap();
    let r = audit(&moto, home.path(), &["--org"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let live = json(&r.stdout);
    let snap = tempfile::tempdir().unwrap();
    let aws = venv_bin("aws");
    let mut cmd = std::process::Command::new(repo().join("scripts/export-aws-snapshot.sh"));
    clean_aws_env(&mut cmd, snap.path());
    let status = cmd
        .args(["--org"])
        .arg(snap.path())
        .arg("us-east-1")
        .env(
            "PATH",
            format!(
                "{}:{}",
                aws.parent().unwrap().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the aws CLI export failed");
    let snapshot_audit = |dir: &std::path::Path| {
        let r = run(handover_offline(home.path())
            .args(["audit", "--format", "json", "--snapshot"])
            .arg(dir));
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r.stdout)
    };
    let inv = snapshot_audit(snap.path());
    assert_eq!(scopes(&inv), scopes(&live), "one folder per account");
    for key in ["credentials", "aws_organization"] {
        assert!(
            inv[key] == live[key],
            "{key} differ between live and snapshot"
        );
    }
    // The same principals; a role's last use moves as the export itself assumes it.
    let principals = |v: &Value| -> Vec<(Value, Value, Value)> {
        v["principals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].clone(), p["admin"].clone(), p["policies"].clone()))
            .collect()
    };
    assert_eq!(principals(&inv), principals(&live));
    let strip = |v: &Value| -> Vec<(Value, Value, Value)> {
        v["aws_accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["id"].clone(), a["name"].clone(), a["ou_path"].clone()))
            .collect()
    };
    assert_eq!(strip(&inv), strip(&live));

    // An account of the organization whose folder is missing is a gap naming it.
    let dev = id(&ids, "dev");
    std::fs::remove_dir_all(snap.path().join("aws").join(&dev)).unwrap();
    let inv = snapshot_audit(snap.path());
    assert_eq!(scopes(&inv).len(), 3);
    assert_eq!(account(&inv, &dev)["audited"], false);
    assert!(inv["gaps"].as_array().unwrap().iter().any(
        |g| g["scope"] == dev.as_str() && g["reason"].as_str().unwrap().contains("contoso-dev")
    ));
}

#[test]
fn repeated_profiles_audit_one_account_each_into_one_inventory() {
    let (moto, ids) = org_moto();
    let home = tempfile::tempdir().unwrap();
    let prod = id(&ids, "prod");
    // The management account by keys; prod through the SDK's own role_arn profile.
    std::fs::write(
        home.path().join("aws-config"),
        format!(
            "[profile mgmt]\nregion = us-east-1\nendpoint_url = {url}\n\n\
             [profile prod]\nrole_arn = arn:aws:iam::{prod}:role/OrganizationAccountAccessRole\n\
             source_profile = mgmt\nregion = us-east-1\nendpoint_url = {url}\n",
            url = moto.url
        ),
    )
    .unwrap();
    std::fs::write(
        home.path().join("aws-credentials"),
        "[mgmt]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let r = run(handover_offline(home.path()).args([
        "audit",
        "--aws",
        "--profile",
        "mgmt",
        "--profile",
        "prod",
        "--format",
        "json",
        "--max-attempts",
        "2",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = json(&r.stdout);
    let mut want = vec!["123456789012".to_string(), prod.clone()];
    want.sort();
    assert_eq!(scopes(&inv), want);
    assert_eq!(account(&inv, &prod)["entered_via"], "profile prod");
    assert_eq!(account(&inv, "123456789012")["entered_via"], "profile mgmt");
    // --org reads the organization with one identity.
    let r = run(handover_offline(home.path()).args([
        "audit",
        "--aws",
        "--org",
        "--profile",
        "mgmt",
        "--profile",
        "prod",
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// Creates a management-account user holding `policy` inline; returns its key pair.
fn auditor(moto: &Moto, name: &str, policy: &Value) -> (String, String) {
    let script = format!(
        "import boto3,sys\n\
         iam=boto3.client('iam',region_name='us-east-1',endpoint_url='{url}',aws_access_key_id='testing',aws_secret_access_key='testing')\n\
         iam.create_user(UserName='{name}')\n\
         iam.put_user_policy(UserName='{name}',PolicyName='handover-audit',PolicyDocument=sys.stdin.read())\n\
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
        .write_all(policy.to_string().as_bytes())
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
fn the_audit_policy_with_assume_role_is_exactly_enough_for_an_org_audit() {
    let (moto, _ids) = org_moto();
    let home = tempfile::tempdir().unwrap();
    let mut policy: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("policies/permissions/aws-audit.json")).unwrap(),
    )
    .unwrap();
    // What docs/organizations.md adds for the management identity (moto checks
    // resource `*` only, so the role ARN pattern of the docs is `*` here).
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"
        }));
    let (key, secret) = auditor(&moto, "handover-auditor", &policy);
    // The same less the organization reads: the org audit cannot start.
    let mut no_org = policy.clone();
    no_org["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["Sid"] != "HandoverAuditOrganizationReads");
    let (key2, secret2) = auditor(&moto, "handover-auditor-no-org", &no_org);
    moto.enforce_permissions();
    let r = run(handover(&moto, home.path())
        .env("AWS_ACCESS_KEY_ID", &key)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .args([
            "audit",
            "--aws",
            "--org",
            "--format",
            "json",
            "--max-attempts",
            "2",
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = json(&r.stdout);
    assert_eq!(scopes(&inv).len(), 4, "{}", inv["gaps"]);
    assert!(
        !inv["gaps"].to_string().contains("access denied"),
        "a policy lacks something: {}",
        inv["gaps"]
    );
    assert!(inv["aws_organization"]["service_control_policies"].is_array());
    assert!(inv["aws_organization"]["delegated_administrators"].is_array());

    let r = run(handover(&moto, home.path())
        .env("AWS_ACCESS_KEY_ID", &key2)
        .env("AWS_SECRET_ACCESS_KEY", &secret2)
        .args(["audit", "--aws", "--org", "--max-attempts", "1"]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("organizations:DescribeOrganization"),
        "{}",
        r.stderr
    );
}
