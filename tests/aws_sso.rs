//! IAM Identity Center on moto: an agency engineer signing in with an admin permission
//! set (no IAM user) is in the inventory and the plan as revoke; apply deletes the
//! assignment, verify proves it gone, undo creates it again; a customer group's admin
//! assignment counts for the lock-out check; a snapshot of the aws CLI's sso-admin and
//! identitystore JSON gives the same assignments.
//!
//! AWS behaviour asserted here is AWS's documented one:
//! `DeleteAccountAssignment` removes a principal's access to an account with a
//! permission set, and `ListAccountAssignments` lists the principals assigned
//! (https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_DeleteAccountAssignment.html,
//! https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_ListAccountAssignments.html);
//! `CreateAccountAssignment` provisions the permission set to the account itself
//! (https://docs.aws.amazon.com/singlesignon/latest/APIReference/API_CreateAccountAssignment.html).
//! moto does not (docs/emulators.md), so the seed provisions each set explicitly.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::*;

const ACCT: &str = "123456789012";
const AGE_PK: &str = "age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3";

fn sso(moto: &Moto, script: &str) -> String {
    boto3(
        moto,
        &format!(
            "kw = dict(region_name='us-east-1', endpoint_url=sm.meta.endpoint_url, aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             sso = boto3.client('sso-admin', **kw)\nids = boto3.client('identitystore', **kw)\n\
             inst = sso.list_instances()['Instances'][0]\narn, store = inst['InstanceArn'], inst['IdentityStoreId']\n{script}"
        ),
    )
}

/// An agency engineer (dana) with an admin and a read-only assignment, and a customer
/// group (carol in it) with an admin assignment (unless `customer_admin` is false).
fn seed_sso(moto: &Moto, customer_admin: bool) -> Value {
    let script = format!(
        r#"
def user(name, email):
    return ids.create_user(IdentityStoreId=store, UserName=name, DisplayName=name,
        Name={{'GivenName': name, 'FamilyName': 'x'}},
        Emails=[{{'Value': email, 'Type': 'work', 'Primary': True}}])['UserId']
dana = user('dana', 'dana@northwind-agency.example')
carol = user('carol', 'carol@contoso.example')
group = ids.create_group(IdentityStoreId=store, DisplayName='contoso-admins')['GroupId']
ids.create_group_membership(IdentityStoreId=store, GroupId=group, MemberId={{'UserId': carol}})
def pset(name, policy):
    # An ISO-8601 duration as AWS gives it: moto's default is the number 3600 (docs/emulators.md).
    ps = sso.create_permission_set(InstanceArn=arn, Name=name, SessionDuration='PT1H')['PermissionSet']['PermissionSetArn']
    sso.attach_managed_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=ps, ManagedPolicyArn=policy)
    sso.provision_permission_set(InstanceArn=arn, PermissionSetArn=ps, TargetType='AWS_ACCOUNT', TargetId='{ACCT}')
    return ps
admin = pset('AdministratorAccess', 'arn:aws:iam::aws:policy/AdministratorAccess')
ro = pset('ReadOnly', 'arn:aws:iam::aws:policy/ReadOnlyAccess')
def assign(ps, kind, pid):
    sso.create_account_assignment(InstanceArn=arn, TargetId='{ACCT}', TargetType='AWS_ACCOUNT',
        PermissionSetArn=ps, PrincipalType=kind, PrincipalId=pid)
assign(admin, 'USER', dana)
assign(ro, 'USER', dana)
if {customer_admin}:
    assign(admin, 'GROUP', group)
print(json.dumps(dict(instance=arn, store=store, dana=dana, carol=carol, group=group, admin=admin, ro=ro)))
"#,
        customer_admin = if customer_admin { "True" } else { "False" }
    );
    json(&sso(moto, &script))
}

/// The principals assigned `ps` on the account, as `ListAccountAssignments` lists them.
fn assigned(moto: &Moto, ps: &str) -> Vec<String> {
    let out = sso(
        moto,
        &format!(
            "print(json.dumps([a['PrincipalId'] for a in sso.list_account_assignments(InstanceArn=arn, AccountId='{ACCT}', PermissionSetArn={ps:?})['AccountAssignments']]))"
        ),
    );
    serde_json::from_str(&out).unwrap()
}

fn write_config(home: &Path) -> PathBuf {
    let signer = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
    std::fs::create_dir_all(home.join("docs")).unwrap();
    std::fs::write(home.join("docs/slo.md"), "# SLO\n").unwrap();
    let p = home.join("handover.toml");
    std::fs::write(
        &p,
        format!(
            r#"scenario = "full-transfer"
handover_date = "2027-06-01"

[agency]
name = "Northwind"
email_domains = ["northwind-agency.example"]
name_patterns = ["*.agency"]
signing_key = "{}"

[customer]
name = "Contoso"
email_domains = ["contoso.example"]
aws_accounts = ["{ACCT}"]
name_patterns = ["contoso-*"]

[recipients]
keys = ["{AGE_PK}"]

[documentation]
slo = "docs/slo.md"
"#,
            signer.trim()
        ),
    )
    .unwrap();
    p
}

fn audit(moto: &Moto, h: &Path) -> PathBuf {
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
    inv
}

fn plan(h: &Path, inv: &Path, cfg: &Path) -> (Run, PathBuf) {
    let out = h.join("plan.json");
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--inventory")
        .arg(inv)
        .arg("--config")
        .arg(cfg)
        .arg("-o")
        .arg(&out));
    (r, out)
}

fn read(p: &Path) -> Value {
    json(&std::fs::read_to_string(p).unwrap())
}

fn assignment_id(seeded: &Value, who: &str, kind: &str, ps: &str) -> String {
    format!(
        "identitystore:{}/{kind}/{}/sso-assignment/{ACCT}/{}",
        seeded["store"].as_str().unwrap(),
        seeded[who].as_str().unwrap(),
        seeded[ps].as_str().unwrap()
    )
}

#[test]
fn agency_sso_admin_assignment_is_revoked_by_plan_deleted_by_apply_proven_by_verify_and_restored_by_undo(
) {
    let moto = moto();
    let seeded = seed_sso(&moto, true);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cfg = write_config(h);

    // audit: dana is an agency principal with no IAM user, admin through her assignment.
    let inv_path = audit(&moto, h);
    let inv = read(&inv_path);
    let dana_id = format!(
        "identitystore:{}/user/{}",
        seeded["store"].as_str().unwrap(),
        seeded["dana"].as_str().unwrap()
    );
    let dana = inv["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == dana_id.as_str())
        .unwrap_or_else(|| panic!("dana is not in the inventory: {}", inv["principals"]));
    assert_eq!(dana["kind"], "sso-user");
    assert_eq!(dana["tags"]["email"], "dana@northwind-agency.example");
    assert_eq!(dana["admin"]["equivalent"], true, "{}", dana["admin"]);
    let admin_id = assignment_id(&seeded, "dana", "user", "admin");
    let cred = inv["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == admin_id.as_str())
        .unwrap_or_else(|| panic!("no assignment {admin_id}"));
    assert_eq!(cred["kind"], "sso-account-assignment");
    assert_eq!(cred["detail"]["admin"], true);
    assert_eq!(cred["detail"]["account_id"], ACCT);
    assert!(inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "sso-admin-assignment" && f["subject"] == dana_id.as_str()));

    // plan: dana's assignments are revoked; the customer group's is transferred.
    let (r, plan_path) = plan(h, &inv_path, &cfg);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = read(&plan_path);
    let step_of = |id: &str| {
        p["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["target"]["id"] == id)
            .unwrap_or_else(|| panic!("no step for {id}"))
            .clone()
    };
    let step = step_of(&admin_id);
    assert_eq!(step["action"], "revoke");
    assert_eq!(step["rule"], "agency-sso-assignment-revoked");
    assert_eq!(step["target"]["sso"]["principal_type"], "USER");
    let group_step = step_of(&assignment_id(&seeded, "group", "group", "admin"));
    assert_eq!(group_step["action"], "transfer");
    let digest = p["digest"].as_str().unwrap().to_string();

    // apply: the assignment is deleted through sso-admin.
    let journal = h.join("apply.jsonl");
    let apply = |extra: &[&str]| {
        run(handover(&moto, h)
            .args(["apply", "--format", "json", "--plan"])
            .arg(&plan_path)
            .arg("--config")
            .arg(&cfg)
            .arg("--journal")
            .arg(&journal)
            .args(extra))
    };
    let r = apply(&["--apply", "--approve", &digest]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = json(&r.stdout);
    let done = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == step["id"])
        .unwrap()
        .clone();
    assert_eq!(done["outcome"], "done", "{done}");
    assert_eq!(done["change"], "delete-assignment", "{done}");
    let dana_pid = seeded["dana"].as_str().unwrap().to_string();
    let group_pid = seeded["group"].as_str().unwrap().to_string();
    let admin_ps = seeded["admin"].as_str().unwrap();
    assert_eq!(assigned(&moto, admin_ps), vec![group_pid.clone()]);
    assert!(assigned(&moto, seeded["ro"].as_str().unwrap()).is_empty());
    // A second run finds it done and writes nothing.
    let r = apply(&["--apply", "--approve", &digest]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);

    // verify, as the customer: the revocation is proven from a live read.
    let sealed = h.join("handover.age");
    let r = run(handover_offline(h)
        .arg("manifest")
        .arg("--config")
        .arg(&cfg)
        .arg("--plan")
        .arg(&plan_path)
        .arg("--inventory")
        .arg(&inv_path)
        .arg("--journal")
        .arg(&journal)
        .arg("-o")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let verify = || {
        run(handover(&moto, h)
            .args(["verify", "--format", "json", "--signer"])
            .arg(example_key("northwind-signing.pub"))
            .arg("--docs")
            .arg(h)
            .arg("-i")
            .arg(example_key("contoso-security.agekey"))
            .arg(&sealed))
    };
    let r = verify();
    let v = json(&r.stdout);
    let claim = |v: &Value| {
        v["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["kind"] == "revoked"
                    && c["subject"]
                        .as_str()
                        .unwrap()
                        .starts_with(&format!("{} ", step["id"].as_str().unwrap()))
            })
            .unwrap_or_else(|| panic!("no revoked claim for {}: {v}", step["id"]))
            .clone()
    };
    assert_eq!(claim(&v)["status"], "pass", "{}", claim(&v));

    // undo: the assignment is created again, and verify now fails the claim.
    let r = run(handover(&moto, h)
        .args(["apply", "--undo", "--format", "json", "--config"])
        .arg(&cfg)
        .arg("--journal")
        .arg(&journal));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let mut after = assigned(&moto, admin_ps);
    after.sort();
    let mut want = vec![dana_pid, group_pid];
    want.sort();
    assert_eq!(after, want);
    let v = json(&verify().stdout);
    assert_eq!(claim(&v)["status"], "fail", "{}", claim(&v));
}

/// The lock-out check counts a customer group's admin assignment as a customer admin
/// (it used to see no customer admin in an account run through Identity Center).
#[test]
fn customer_sso_admin_assignment_counts_for_the_lock_out_check() {
    let moto = moto();
    seed_sso(&moto, true);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cfg = write_config(h);
    let inv = audit(&moto, h);
    let (r, _) = plan(h, &inv, &cfg);
    assert_eq!(r.code, 0, "the customer group is an admin: {}", r.stderr);

    // Without it, nobody of the customer's is admin: the plan is refused.
    drop(moto);
    let moto = support::moto();
    seed_sso(&moto, false);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cfg = write_config(h);
    let inv = audit(&moto, h);
    let (r, _) = plan(h, &inv, &cfg);
    assert_eq!(r.code, 7, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(ACCT), "{}", r.stderr);
}

/// The aws CLI's sso-admin and identitystore JSON (`scripts/export-aws-snapshot.sh`)
/// read with `--snapshot` gives the same Identity Center principals, assignments and
/// findings as the live audit.
#[test]
fn an_identity_center_snapshot_gives_the_same_assignments_as_the_live_audit() {
    let moto = moto();
    let seeded = seed_sso(&moto, true);
    let home = tempfile::tempdir().unwrap();
    let live = read(&audit(&moto, home.path()));
    let snap_dir = tempfile::tempdir().unwrap();
    export_snapshot(&moto, snap_dir.path(), &["us-east-1"]);
    let sso_dir = snap_dir.path().join(format!("aws/{ACCT}/sso"));
    assert!(sso_dir.join("instances.json").is_file());
    assert!(sso_dir
        .join(format!(
            "group-memberships/{}.json",
            seeded["group"].as_str().unwrap()
        ))
        .is_file());
    let r = run(handover_offline(home.path())
        .args(["audit", "--snapshot"])
        .arg(snap_dir.path())
        .args(["--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let snap = json(&r.stdout);
    let sso_only = |v: &Value, key: &str| -> Vec<Value> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| {
                x["id"].as_str().unwrap_or("").starts_with("identitystore:")
                    || x["subject"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("identitystore:")
            })
            .cloned()
            .collect()
    };
    for key in ["principals", "credentials", "findings"] {
        let (l, s) = (sso_only(&live, key), sso_only(&snap, key));
        assert!(!l.is_empty(), "no Identity Center {key} live");
        assert_eq!(l, s, "{key} differ between live and snapshot");
    }
    let assignments = sso_only(&snap, "credentials");
    assert_eq!(assignments.len(), 3, "{assignments:?}");
    // carol is admin through her group's assignment.
    let carol = sso_only(&snap, "principals")
        .into_iter()
        .find(|p| p["name"] == "carol")
        .unwrap();
    assert_eq!(carol["admin"]["equivalent"], true, "{carol}");
    assert!(!snap["gaps"].as_array().unwrap().iter().any(|g| g["source"]
        .as_str()
        .unwrap()
        .starts_with("sso-admin:")
        || g["source"].as_str().unwrap().starts_with("identitystore:")));
}

/// An account folder with the IAM exports and `sso/` as the test gives it.
fn minimal_snapshot(dir: &Path, instances: Option<&str>) {
    let acct = dir.join(format!("aws/{ACCT}"));
    std::fs::create_dir_all(&acct).unwrap();
    std::fs::write(
        acct.join("account-authorization-details.json"),
        r#"{"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}"#,
    )
    .unwrap();
    std::fs::write(
        acct.join("caller-identity.json"),
        format!(r#"{{"Account": "{ACCT}", "Arn": "arn:aws:iam::{ACCT}:user/auditor"}}"#),
    )
    .unwrap();
    if let Some(text) = instances {
        std::fs::create_dir_all(acct.join("sso")).unwrap();
        std::fs::write(acct.join("sso/instances.json"), text).unwrap();
    }
}

/// No Identity Center instance is a note (an info finding), not an error; a snapshot
/// that did not look at Identity Center says so as a coverage gap naming the command.
#[test]
fn no_identity_center_instance_is_a_note_and_an_unread_one_is_a_gap() {
    let home = tempfile::tempdir().unwrap();
    let audit_snapshot = |dir: &Path| {
        let r = run(handover_offline(home.path())
            .args(["audit", "--snapshot"])
            .arg(dir)
            .args(["--format", "json"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r.stdout)
    };
    let none = tempfile::tempdir().unwrap();
    minimal_snapshot(none.path(), Some(r#"{"Instances": []}"#));
    let inv = audit_snapshot(none.path());
    let notes: Vec<&Value> = inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "identity-center-absent")
        .collect();
    assert_eq!(notes.len(), 1, "{}", inv["findings"]);
    assert_eq!(notes[0]["severity"], "info");
    assert!(!inv["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["source"].as_str().unwrap().starts_with("sso-admin:")));

    let unread = tempfile::tempdir().unwrap();
    minimal_snapshot(unread.path(), None);
    let inv = audit_snapshot(unread.path());
    let gap = inv["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["source"] == "sso-admin:ListInstances")
        .unwrap_or_else(|| panic!("no gap: {}", inv["gaps"]));
    assert!(
        gap["reason"]
            .as_str()
            .unwrap()
            .contains("aws sso-admin list-instances"),
        "{gap}"
    );
    assert!(!inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "identity-center-absent"));
}

/// An IAM user whose own inline policy denies everything after a date
/// (`DateGreaterThan aws:CurrentTime`) keeps access only until then: the plan shows
/// that end on each of its credentials, with what proves it (it showed no end).
#[test]
fn a_users_inline_deny_after_a_date_shows_in_the_plan_as_access_until_then() {
    let moto = moto();
    seed_sso(&moto, true);
    boto3(
        &moto,
        r#"iam = boto3.client('iam', region_name='us-east-1', endpoint_url=sm.meta.endpoint_url, aws_access_key_id='testing', aws_secret_access_key='testing')
iam.create_user(UserName='ops.agency')
iam.create_login_profile(UserName='ops.agency', Password='x-Very-long-1!')
iam.put_user_policy(UserName='ops.agency', PolicyName='handover-ends', PolicyDocument=json.dumps({
    'Version': '2012-10-17',
    'Statement': [{'Effect': 'Deny', 'Action': '*', 'Resource': '*',
                   'Condition': {'DateGreaterThan': {'aws:CurrentTime': '2027-01-31T00:00:00Z'}}}]}))
"#,
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cfg = write_config(h);
    let inv = audit(&moto, h);
    let (r, plan_path) = plan(h, &inv, &cfg);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = read(&plan_path);
    let step = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["target"]["id"] == format!("arn:aws:iam::{ACCT}:user/ops.agency/console-password")
        })
        .unwrap_or_else(|| panic!("no step for ops.agency's password: {}", p["steps"]));
    assert_eq!(
        step["evidence"]["access_ends"],
        "until 2027-01-31T00:00:00Z (a Deny of everything in its holder's policies)",
        "{step}"
    );
}
