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

const REPORT_COLUMNS: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// A credential report row for user `i` of `account()`: no password, no key, no MFA, no
/// certificate (as AWS writes it), with some columns replaced.
fn report_row(i: usize, name: &str, set: &[(&str, &str)]) -> String {
    let arn = format!("arn:aws:iam::{ACCT}:user/u{i}");
    let mut values: Vec<String> = vec![
        name,
        &arn,
        "2024-01-02T03:04:05+00:00",
        "false",
        "N/A",
        "N/A",
        "N/A",
        "false",
        "false",
        "N/A",
        "N/A",
        "N/A",
        "N/A",
        "false",
        "N/A",
        "N/A",
        "N/A",
        "N/A",
        "false",
        "N/A",
        "false",
        "N/A",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    let cols: Vec<&str> = REPORT_COLUMNS.split(',').collect();
    for (col, v) in set {
        let at = cols
            .iter()
            .position(|c| c == col)
            .unwrap_or_else(|| panic!("no column {col}"));
        values[at] = v.to_string();
    }
    values.join(",")
}

/// Audits one user whose report row has `set`; returns the inventory.
fn audit_report_row(set: &[(&str, &str)]) -> serde_json::Value {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = account(tmp.path(), &["dana"]);
    let root = "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,N/A,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A";
    std::fs::write(
        dir.join("credential-report.csv"),
        format!("{REPORT_COLUMNS}\n{root}\n{}\n", report_row(0, "dana", set)),
    )
    .unwrap();
    let r = audit_snapshot(home.path(), &tmp.path().join("snap"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    json(&r.stdout)
}

fn gaps_of(inv: &serde_json::Value, subject: &str) -> Vec<String> {
    inv["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["subject"].as_str() == Some(subject))
        .map(|g| g["reason"].as_str().unwrap().to_string())
        .collect()
}

fn credential<'a>(inv: &'a serde_json::Value, suffix: &str) -> Option<&'a serde_json::Value> {
    inv["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_str().unwrap().ends_with(suffix))
}

const DANA: &str = "arn:aws:iam::123456789012:user/u0";

fn assert_not_understood(inv: &serde_json::Value, column: &str, shown: &str) {
    let gaps = gaps_of(inv, DANA);
    let want = format!("the credential report's {column} column for \"dana\" holds {shown}, which is not a value AWS documents");
    assert!(
        gaps.iter().any(|g| g.contains(&want)),
        "want {want:?} in {gaps:#?}"
    );
}

/// Regression (issue 10, item 6): `password_enabled` of `yes`, `maybe` or empty silently
/// dropped the password. It is now kept with an unknown status, and a gap names the user
/// and the column. (Flag columns.)
#[test]
fn a_password_enabled_value_not_documented_keeps_the_password_as_unknown() {
    for (raw, shown) in [
        ("yes", "\"yes\""),
        ("maybe", "\"maybe\""),
        ("", "an empty value"),
    ] {
        let inv = audit_report_row(&[
            ("password_enabled", raw),
            ("password_last_changed", "2024-02-01T00:00:00+00:00"),
        ]);
        assert_not_understood(&inv, "password_enabled", shown);
        let pw = credential(&inv, "user/u0/console-password")
            .unwrap_or_else(|| panic!("password dropped for {raw:?}"));
        assert_eq!(pw["status"], "unknown", "{raw:?}");
    }
    // The documented values still mean what they say.
    let inv = audit_report_row(&[("password_enabled", "TRUE")]);
    assert_eq!(
        credential(&inv, "user/u0/console-password").unwrap()["status"],
        "active"
    );
    assert!(gaps_of(&inv, DANA)
        .iter()
        .all(|g| !g.contains("not a value AWS documents")));
    let inv = audit_report_row(&[("password_enabled", "false")]);
    assert!(credential(&inv, "user/u0/console-password").is_none());
}

/// Regression (issue 10, item 6): an access key's `active` value that was not `true` was
/// read as inactive, and `mfa_active` of anything but `true` as "no MFA" (a
/// console-without-MFA finding from a guess). (Flag columns.)
#[test]
fn key_and_mfa_flags_not_documented_are_gaps_not_guesses() {
    let inv = audit_report_row(&[
        ("password_enabled", "true"),
        ("mfa_active", "on"),
        ("access_key_1_active", "Active"),
        ("access_key_1_last_rotated", "2024-01-02T03:05:00+00:00"),
    ]);
    assert_not_understood(&inv, "mfa_active", "\"on\"");
    assert_not_understood(&inv, "access_key_1_active", "\"Active\"");
    assert_eq!(
        credential(&inv, "user/u0/access-key/slot-1").unwrap()["status"],
        "unknown"
    );
    let codes = inv["findings"].to_string();
    assert!(
        !codes.contains("console-without-mfa"),
        "MFA is unknown, not absent: {codes}"
    );
    assert!(!codes.contains("access-key-inactive"), "{codes}");
}

/// Regression (issue 10, item 6): a time column holding something that is neither a date
/// nor a documented marker made the key slot vanish (rotation) or was quoted whole into
/// the inventory (last use). (Time columns.)
#[test]
fn time_values_not_documented_are_gaps_and_never_quoted_whole() {
    let long = "x".repeat(5000);
    let inv = audit_report_row(&[
        ("access_key_1_active", "true"),
        ("access_key_1_last_rotated", "yesterday"),
        ("access_key_1_last_used_date", &long),
        ("password_enabled", "true"),
        ("password_last_used", "\u{1b}[2Jsoon"),
    ]);
    assert_not_understood(&inv, "access_key_1_last_rotated", "\"yesterday\"");
    assert_not_understood(
        &inv,
        "access_key_1_last_used_date",
        "a 5000-character value",
    );
    assert_not_understood(&inv, "password_last_used", "\"\\u{1b}[2Jsoon\"");
    let key = credential(&inv, "user/u0/access-key/slot-1").expect("the slot is kept");
    assert_eq!(key["status"], "active");
    assert_eq!(key["created"], serde_json::Value::Null);
    assert_eq!(key["last_used"]["state"], "unknown");
    let text = inv.to_string();
    assert!(!text.contains(&long[..100]), "a long value is never echoed");
    assert!(!text.contains("\\u001b"), "an escape is never echoed raw");
}

/// Regression (issue 10, item 6): the last-used region and service were copied from the
/// report whatever they held. (Name columns.)
#[test]
fn region_and_service_values_not_documented_are_gaps() {
    let inv = audit_report_row(&[
        ("access_key_1_active", "true"),
        ("access_key_1_last_rotated", "2024-01-02T03:05:00+00:00"),
        ("access_key_1_last_used_date", "2024-03-01T00:00:00+00:00"),
        (
            "access_key_1_last_used_region",
            "us-east-1\u{1b}]0;pwned\u{7}",
        ),
        ("access_key_1_last_used_service", "s3"),
    ]);
    assert_not_understood(
        &inv,
        "access_key_1_last_used_region",
        "\"us-east-1\\u{1b}]0;pwned\\u{7}\"",
    );
    let key = credential(&inv, "user/u0/access-key/slot-1").unwrap();
    assert_eq!(key["last_used"]["service"], "s3");
    assert_eq!(key["last_used"]["region"], serde_json::Value::Null);
    assert!(
        !inv.to_string().contains("\\u001b"),
        "a raw escape never reaches the inventory"
    );
}

/// Certificates: a flag not understood keeps the slot, of unknown status.
#[test]
fn certificate_flags_not_documented_are_gaps() {
    let inv = audit_report_row(&[("cert_2_active", "1")]);
    assert_not_understood(&inv, "cert_2_active", "\"1\"");
    assert_eq!(
        credential(&inv, "user/u0/signing-certificate/slot-2").unwrap()["status"],
        "unknown"
    );
}
