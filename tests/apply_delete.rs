//! `handover apply --delete-now` deleting whole IAM users and roles on moto, only where
//! the plan's rule says `delete: principal`: the order of the calls (asserted from the
//! launcher's request log, since moto does not enforce it), a user holding a key made
//! since the audit is not deleted, a rerun is already-done, the lock-out rail holds, and
//! the least-privilege policy is enough.
//!
//! AWS behaviour asserted here is AWS's documented one: before `DeleteUser` the user's
//! password, access keys, signing certificates, SSH public keys, service-specific
//! credentials, MFA devices, inline policies, attached policies and group memberships
//! must be removed, in that order as listed
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html); before
//! `DeleteRole` its instance profiles, inline policies and attached policies
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html). moto
//! deletes a user with all of that still attached, so the order is checked from the
//! requests it received, not from its refusals.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::*;

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
name_patterns = ["*.agency"]
aws_accounts = ["210987654321"]
signing_key = "{}"

[customer]
name = "Contoso"
email_domains = ["contoso.example"]
aws_accounts = ["123456789012", "444455556666"]
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

/// The shipped full-transfer policy with deletion opted into: the agency's people and
/// the roles only the agency can assume are deleted, not just revoked.
fn deleting_policy(home: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("policies/full-transfer.yaml")).unwrap();
    let text = text
        .replace(
            "  - id: agency-human-revoked\n    description: Credentials of the agency's people are revoked.\n    condition: principal.owner == \"agency\" && principal.human\n    action: revoke\n",
            "  - id: agency-human-revoked\n    description: Credentials of the agency's people are revoked.\n    condition: principal.owner == \"agency\" && principal.human\n    action: revoke\n    delete: principal\n",
        )
        .replace(
            "    condition: (credential.kind == \"role-trust\" || credential.kind == \"secret-policy-grant\") && credential.trusted_owner == \"agency\"\n    action: revoke\n",
            "    condition: (credential.kind == \"role-trust\" || credential.kind == \"secret-policy-grant\") && credential.trusted_owner == \"agency\"\n    action: revoke\n    delete: principal\n",
        );
    assert_eq!(text.matches("delete: principal").count(), 2, "{text}");
    let p = home.join("deleting.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

struct Setup {
    home: tempfile::TempDir,
    plan: PathBuf,
    config: PathBuf,
    digest: String,
}

/// The example account; alice (agency, admin through a group) also gets an inline and
/// an attached policy, and the agency-only role an inline policy and an instance
/// profile; audited live and planned under the deleting policy.
fn setup(moto: &Moto) -> Setup {
    seed(moto);
    iam(
        moto,
        "iam.put_user_policy(UserName='alice.agency', PolicyName='extra', PolicyDocument='{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:ListBucket\", \"Resource\": \"*\"}]}')\n\
         iam.attach_user_policy(UserName='alice.agency', PolicyArn='arn:aws:iam::aws:policy/ReadOnlyAccess')\n\
         iam.put_role_policy(RoleName='agency-operations', PolicyName='extra', PolicyDocument='{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:ListBucket\", \"Resource\": \"*\"}]}')\n\
         iam.create_instance_profile(InstanceProfileName='ops-profile')\n\
         iam.add_role_to_instance_profile(InstanceProfileName='ops-profile', RoleName='agency-operations')\n\
         print('{}')",
    );
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
            "--format",
            "json",
            "-o",
        ])
        .arg(&inv));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = h.join("plan.json");
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(deleting_policy(h))
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
        plan,
        config,
        digest,
    }
}

impl Setup {
    fn apply(&self, moto: &Moto, extra: &[&str]) -> Run {
        run(handover(moto, self.home.path())
            .args(["apply", "--format", "json", "--plan"])
            .arg(&self.plan)
            .arg("--config")
            .arg(&self.config)
            .arg("--journal")
            .arg(self.home.path().join("apply.jsonl"))
            .args(["--apply", "--approve", &self.digest])
            .args(extra))
    }
}

fn user_exists(moto: &Moto, user: &str) -> bool {
    let out = iam(
        moto,
        &format!(
            "print(json.dumps({user:?} in [u['UserName'] for u in iam.list_users()['Users']]))"
        ),
    );
    json(&out) == Value::Bool(true)
}

fn role_exists(moto: &Moto, role: &str) -> bool {
    let out = iam(
        moto,
        &format!(
            "print(json.dumps({role:?} in [r['RoleName'] for r in iam.list_roles()['Roles']]))"
        ),
    );
    json(&out) == Value::Bool(true)
}

/// The report's step whose detail names `what` (the deleting step's sentence).
fn step_saying<'a>(report: &'a Value, what: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["detail"].as_str().unwrap_or("").contains(what))
        .unwrap_or_else(|| panic!("no step saying {what:?}: {report}"))
}

/// The plan says which steps delete their principal, in the JSON (so under the digest)
/// and in its Markdown: only the agency's people and the agency-only role.
#[test]
fn the_plan_says_which_principals_it_deletes() {
    let moto = moto();
    let s = setup(&moto);
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let deleting: Vec<&Value> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["delete"] == "principal")
        .collect();
    assert!(!deleting.is_empty());
    for st in &deleting {
        let p = st["target"]["principal"].as_str().unwrap();
        assert!(
            p.ends_with(":user/alice.agency")
                || p.ends_with(":user/bob.agency")
                || p.ends_with(":role/agency-operations"),
            "{st}"
        );
        assert_eq!(st["action"], "revoke", "{st}");
    }
    // Only the two rules that say so delete: every other step (the customer's, the
    // reviews, the secret grant revoked under the same rule) deletes nothing.
    for st in plan["steps"].as_array().unwrap() {
        let deleting_rule = st["rule"] == "agency-human-revoked"
            || (st["rule"] == "agency-trust-revoked" && st["target"]["what"] == "role-trust");
        assert_eq!(st.get("delete").is_some(), deleting_rule, "{st}");
    }
    let md = s.home.path().join("plan.md");
    let r = run(handover_offline(s.home.path())
        .args(["plan", "--format", "json", "--policy"])
        .arg(deleting_policy(s.home.path()))
        .arg("--inventory")
        .arg(s.home.path().join("inventory.json"))
        .arg("--config")
        .arg(&s.config)
        .arg("-o")
        .arg(s.home.path().join("again.json"))
        .arg("--markdown")
        .arg(&md));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let md = std::fs::read_to_string(md).unwrap();
    assert!(md.contains("**revoke + delete principal**"), "{md}");
}

/// Without --delete-now nothing is deleted (the report says what waits); with it alice
/// and the agency-only role are deleted in the documented order; bob, who holds a key
/// made since the audit, is not; a rerun is already-done.
#[test]
fn users_and_roles_are_deleted_in_the_documented_order_only_as_planned() {
    let moto = moto();
    let s = setup(&moto);
    let r = s.apply(&moto, &[]);
    assert!(r.code == 0 || r.code == 8, "{}", r.stderr);
    assert!(user_exists(&moto, "alice.agency") && role_exists(&moto, "agency-operations"));
    assert!(
        r.stdout.contains("`apply --delete-now` deletes it"),
        "{}",
        r.stdout
    );
    // A key bob made after the audit: the plan never saw it.
    iam(
        &moto,
        "iam.create_access_key(UserName='bob.agency'); print('{}')",
    );
    let before = moto.requests()["sequence"].as_array().unwrap().len();
    let r = s.apply(&moto, &["--delete-now", "--concurrency", "1"]);
    assert!(r.code == 0 || r.code == 8, "{}", r.stderr);
    let report = json(&r.stdout);
    assert!(!user_exists(&moto, "alice.agency"), "{report}");
    assert!(!role_exists(&moto, "agency-operations"), "{report}");
    assert!(user_exists(&moto, "bob.agency"), "{report}");
    let bob = step_saying(&report, "bob.agency holds what the plan does not revoke");
    assert_eq!(bob["outcome"], "drift", "{bob}");
    // The deleting step's calls, as made (the earlier steps already deleted the keys and
    // the password): MFA, inline, attached, groups, then the user.
    let alice = step_saying(&report, "delete the IAM user alice.agency");
    assert_eq!(alice["outcome"], "done", "{alice}");
    assert_eq!(alice["change"], "delete-principal", "{alice}");
    let calls: Vec<&str> = alice["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let tail = [
        "iam:DeactivateMFADevice",
        "iam:DeleteVirtualMFADevice",
        "iam:DeleteUserPolicy",
        "iam:DetachUserPolicy",
        "iam:RemoveUserFromGroup",
        "iam:DeleteUser",
    ];
    assert!(calls.ends_with(&tail), "{calls:?}");
    // What moto received, in order: every credential of alice deleted before her MFA
    // device, and each kind of attachment before the next, the user last.
    let seq: Vec<String> = moto.requests()["sequence"].as_array().unwrap()[before..]
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let at = |a: &str| {
        seq.iter()
            .position(|x| x == a)
            .unwrap_or_else(|| panic!("{a} not sent: {seq:?}"))
    };
    let user_gone = at("DeleteUser");
    let order = [
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
        "DeleteUserPolicy",
        "DetachUserPolicy",
        "RemoveUserFromGroup",
        "DeleteUser",
    ];
    let positions: Vec<usize> = order.iter().map(|a| at(a)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{seq:?}");
    // (Her password went in the first run: AWS has no way to only disable one.)
    for cred in [
        "DeleteAccessKey",
        "DeleteSigningCertificate",
        "DeleteSSHPublicKey",
    ] {
        let last = seq[..user_gone].iter().rposition(|x| x == cred);
        assert!(last.is_some_and(|l| l < positions[0]), "{cred}: {seq:?}");
    }
    assert_eq!(
        seq.iter().filter(|a| *a == "DeleteUser").count(),
        1,
        "{seq:?}"
    );
    // The role: instance profile, inline policy, attached policy, then the role.
    let role_order: Vec<usize> = [
        "RemoveRoleFromInstanceProfile",
        "DeleteRolePolicy",
        "DetachRolePolicy",
        "DeleteRole",
    ]
    .iter()
    .map(|a| at(a))
    .collect();
    assert!(role_order.windows(2).all(|w| w[0] < w[1]), "{seq:?}");
    // Rerun: journaled done, nothing more deleted.
    let r = s.apply(&moto, &["--delete-now"]);
    let report = json(&r.stdout);
    for st in report["steps"].as_array().unwrap() {
        assert_ne!(st["outcome"], "done", "{st}");
    }
    assert!(user_exists(&moto, "bob.agency"));
}

/// The lock-out rail holds for deletion too: with no customer admin left live, alice
/// (an admin) is neither revoked nor deleted.
#[test]
fn no_user_is_deleted_when_no_customer_admin_is_left() {
    let moto = moto();
    let s = setup(&moto);
    iam(
        &moto,
        "iam.delete_login_profile(UserName='carol.customer'); print('{}')",
    );
    let r = s.apply(&moto, &["--delete-now"]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(user_exists(&moto, "alice.agency"));
    assert!(role_exists(&moto, "agency-operations"));
    assert!(r.stdout.contains("no lock-out"), "{}", r.stdout);
}

/// `policies/permissions/aws-apply.json` is enough to delete users and roles; without
/// `iam:DeleteUser` the deleting step fails as denied (so moto's checks are on).
#[test]
fn deletion_runs_under_the_least_privilege_policy() {
    let moto = moto();
    let s = setup(&moto);
    let policy =
        std::fs::read_to_string(repo().join("policies/permissions/aws-apply.json")).unwrap();
    let mut fewer: Value = serde_json::from_str(&policy).unwrap();
    for st in fewer["Statement"].as_array_mut().unwrap() {
        if let Some(a) = st["Action"].as_array_mut() {
            a.retain(|a| a != "iam:DeleteUser");
        }
    }
    let make = |name: &str, doc: &str| -> (String, String) {
        let out = iam(
            &moto,
            &format!("iam.create_user(UserName={name:?})\niam.put_user_policy(UserName={name:?}, PolicyName='p', PolicyDocument={doc:?})\nk = iam.create_access_key(UserName={name:?})['AccessKey']\nprint(json.dumps([k['AccessKeyId'], k['SecretAccessKey']]))"),
        );
        let v = json(&out);
        (v[0].as_str().unwrap().into(), v[1].as_str().unwrap().into())
    };
    let (k1, s1) = make("handover-short", &fewer.to_string());
    let (k2, s2) = make("handover-applier", &policy);
    moto.enforce_permissions();
    let as_user = |k: &str, sec: &str| {
        run(handover(&moto, s.home.path())
            .env("AWS_ACCESS_KEY_ID", k)
            .env("AWS_SECRET_ACCESS_KEY", sec)
            .args(["apply", "--format", "json", "--plan"])
            .arg(&s.plan)
            .arg("--config")
            .arg(&s.config)
            .arg("--journal")
            .arg(s.home.path().join(format!("{k}.jsonl")))
            .args(["--apply", "--approve", &s.digest, "--delete-now"]))
    };
    let r = as_user(&k1, &s1);
    let report = json(&r.stdout);
    // The deleting step's write failed at `DeleteUser` (moto: a bare 403), so alice is
    // still there, stripped of what came before it in the order.
    let alice = step_saying(&report, "iam:DeleteUser");
    assert_eq!(alice["outcome"], "failed", "{alice}");
    let r = as_user(&k2, &s2);
    let report = json(&r.stdout);
    moto.post("/moto-api/reset-auth", "inf", "text/plain");
    assert!(!user_exists(&moto, "alice.agency"), "{report}");
    assert!(!role_exists(&moto, "agency-operations"), "{report}");
}
