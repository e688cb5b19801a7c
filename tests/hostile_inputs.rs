//! Hostile snapshots and reports (issue 10, items 5 and 6): a snapshot reads what is
//! under its folder and nothing else, and a credential report value outside the ones AWS
//! documents is a coverage gap naming the user and column, never a guess.

mod support;

use std::path::{Path, PathBuf};

use support::*;

const ACCT: &str = "123456789012";
/// An access key id only the canary file outside the snapshot holds.
const CANARY: &str = "AKIACANARYOUTSIDE0001";

fn audit_snapshot(home: &Path, dir: &Path) -> Run {
    run(handover_offline(home)
        .args(["audit", "--format", "json", "--snapshot"])
        .arg(dir))
}

fn user_json(i: usize, name: &str) -> String {
    let name = serde_json::to_string(name).unwrap();
    format!(
        r#"{{"UserName":{name},"UserId":"AIDAEXAMPLE{i}","Arn":"arn:aws:iam::{ACCT}:user/u{i}","CreateDate":"2024-01-02T03:04:05Z",
            "GroupList":[],"AttachedManagedPolicies":[],"UserPolicyList":[]}}"#
    )
}

/// An account folder whose authorization details list `users`.
fn account(root: &Path, users: &[&str]) -> PathBuf {
    let dir = root.join("snap/aws").join(ACCT);
    std::fs::create_dir_all(&dir).unwrap();
    let list: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, u)| user_json(i, u))
        .collect();
    std::fs::write(
        dir.join("account-authorization-details.json"),
        format!(
            r#"{{"UserDetailList":[{}],"GroupDetailList":[],"RoleDetailList":[],"Policies":[]}}"#,
            list.join(",")
        ),
    )
    .unwrap();
    dir
}

/// A folder outside the snapshot holding a per-user export with the canary key.
fn canary_user_folder(root: &Path, name: &str) -> PathBuf {
    let d = root.join("outside").join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("access-keys.json"),
        format!(r#"{{"AccessKeyMetadata":[{{"UserName":"x","AccessKeyId":"{CANARY}","Status":"Active","CreateDate":"2024-01-02T03:04:05Z"}}]}}"#),
    )
    .unwrap();
    d
}

/// Regression (issue 10, item 5): user names `../../x` and `/abs/path` made the audit
/// read per-user files outside the snapshot; they are now coverage gaps naming the user.
#[test]
fn iam_user_names_that_are_paths_read_nothing_outside_the_snapshot() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    canary_user_folder(tmp.path(), "x");
    let abs = canary_user_folder(tmp.path(), "y");
    // snap/aws/ACCT/users/../../../../outside/x is tmp/outside/x.
    let relative = "../../../../outside/x";
    let absolute = abs.to_str().unwrap();
    let dir = account(tmp.path(), &[relative, absolute, "alice"]);
    std::fs::create_dir_all(dir.join("users/alice")).unwrap();
    std::fs::write(
        dir.join("users/alice/access-keys.json"),
        r#"{"AccessKeyMetadata":[]}"#,
    )
    .unwrap();

    let r = audit_snapshot(home.path(), &tmp.path().join("snap"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains(CANARY) && !r.stderr.contains(CANARY),
        "a file outside the snapshot was read"
    );
    let inv = json(&r.stdout);
    let gaps: Vec<String> = inv["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["reason"].as_str().unwrap().to_string())
        .collect();
    for name in [relative, absolute] {
        assert!(
            gaps.iter().any(|g| g.contains(&format!(
                "the user name \"{name}\" is not a valid IAM user name"
            ))),
            "no gap names {name}: {gaps:#?}"
        );
    }
    assert!(
        !gaps.iter().any(|g| g.contains("\"alice\"")),
        "a valid user is read as before: {gaps:#?}"
    );
}

/// Regression (issue 10, item 5): a per-user file that is a symlink to a file outside
/// the snapshot was followed; it is now an input error naming the link.
#[test]
fn a_per_user_symlink_out_of_the_snapshot_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let outside = canary_user_folder(tmp.path(), "z");
    let dir = account(tmp.path(), &["carol"]);
    std::fs::create_dir_all(dir.join("users/carol")).unwrap();
    std::os::unix::fs::symlink(
        outside.join("access-keys.json"),
        dir.join("users/carol/access-keys.json"),
    )
    .unwrap();

    let r = audit_snapshot(home.path(), &tmp.path().join("snap"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        !r.stdout.contains(CANARY) && !r.stderr.contains(CANARY),
        "a file outside the snapshot was read"
    );
    assert!(
        r.stderr.contains("users/carol/access-keys.json"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("leads outside the snapshot folder"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);

    // The same for a whole user folder linked out of the snapshot.
    std::fs::remove_dir_all(dir.join("users/carol")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("users/carol")).unwrap();
    let r = audit_snapshot(home.path(), &tmp.path().join("snap"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(!r.stdout.contains(CANARY));
    assert!(
        r.stderr.contains("leads outside the snapshot folder"),
        "{}",
        r.stderr
    );
}

/// A GCP project folder with the given service accounts and secrets.
fn gcp_project(root: &Path, emails: &[&str], secrets: &[&str]) -> PathBuf {
    let dir = root.join("snap/gcp/proj-1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("iam-policy.json"),
        r#"{"version":1,"bindings":[]}"#,
    )
    .unwrap();
    let sas: Vec<serde_json::Value> = emails
        .iter()
        .map(|e| serde_json::json!({"name": format!("projects/proj-1/serviceAccounts/{e}"), "email": e, "disabled": false}))
        .collect();
    std::fs::write(
        dir.join("service-accounts.json"),
        serde_json::to_string(&sas).unwrap(),
    )
    .unwrap();
    let ss: Vec<serde_json::Value> = secrets
        .iter()
        .map(|s| serde_json::json!({"name": format!("projects/1/secrets/{s}")}))
        .collect();
    std::fs::write(
        dir.join("secrets.json"),
        serde_json::to_string(&ss).unwrap(),
    )
    .unwrap();
    dir
}

const GCP_CANARY: &str = "canaryoutside0000000000000000000000000001";

fn canary_sa_folder(root: &Path, name: &str) -> PathBuf {
    let d = root.join("outside").join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("keys.json"),
        serde_json::json!([{"name": format!("projects/proj-1/serviceAccounts/x/keys/{GCP_CANARY}"), "keyType": "USER_MANAGED"}]).to_string(),
    )
    .unwrap();
    d
}

/// Regression (issue 10, item 5): a service-account email `../../x` or `/abs/path` made
/// the audit read keys outside the snapshot; now a gap naming the email.
#[test]
fn service_account_emails_that_are_paths_read_nothing_outside_the_snapshot() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    canary_sa_folder(tmp.path(), "sa");
    let abs = canary_sa_folder(tmp.path(), "sb");
    // snap/gcp/proj-1/service-accounts/../../../../outside/sa is tmp/outside/sa.
    let relative = "../../../../outside/sa";
    let absolute = abs.to_str().unwrap();
    gcp_project(tmp.path(), &[relative, absolute], &[".."]);

    let r = audit_snapshot(home.path(), &tmp.path().join("snap"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains(GCP_CANARY) && !r.stderr.contains(GCP_CANARY),
        "a file outside the snapshot was read"
    );
    let gaps = json(&r.stdout)["gaps"].to_string();
    for name in [relative, absolute] {
        assert!(
            gaps.contains(&format!(
                "\\\"{name}\\\" is not a valid service-account email"
            )),
            "no gap names {name}: {gaps}"
        );
    }
    assert!(
        gaps.contains("\\\"..\\\" is not a valid secret id"),
        "{gaps}"
    );
}

/// Regression (issue 10, item 5): a service account's keys.json linked out of the
/// snapshot was followed.
#[test]
fn a_service_account_symlink_out_of_the_snapshot_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let outside = canary_sa_folder(tmp.path(), "sa");
    let email = "app@proj-1.iam.gserviceaccount.com";
    let dir = gcp_project(tmp.path(), &[email], &[]);
    let sd = dir.join("service-accounts").join(email);
    std::fs::create_dir_all(&sd).unwrap();
    std::os::unix::fs::symlink(outside.join("keys.json"), sd.join("keys.json")).unwrap();

    let r = audit_snapshot(home.path(), &tmp.path().join("snap"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(!r.stdout.contains(GCP_CANARY) && !r.stderr.contains(GCP_CANARY));
    assert!(
        r.stderr.contains("keys.json") && r.stderr.contains("leads outside the snapshot folder"),
        "{}",
        r.stderr
    );
}
