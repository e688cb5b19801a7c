//! Command behaviour without a cloud: flag validation, bad snapshots, output safety,
//! the schema. Each error must say what is wrong, give a hint, and use its exit code.

mod support;

use std::path::Path;

use support::*;

fn audit_snapshot(home: &Path, dir: &Path) -> Run {
    run(handover_offline(home)
        .args(["audit", "--format", "json", "--snapshot"])
        .arg(dir))
}

/// A minimal valid account export to break in different ways.
fn minimal_snapshot(root: &Path) -> std::path::PathBuf {
    let dir = root.join("aws/123456789012");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("account-authorization-details.json"),
        r#"{"UserDetailList":[{"UserName":"eve","UserId":"AIDAEXAMPLE","Arn":"arn:aws:iam::123456789012:user/eve",
            "CreateDate":"2024-01-02T03:04:05Z","GroupList":[],"AttachedManagedPolicies":[],"UserPolicyList":[]}],
           "GroupDetailList":[],"RoleDetailList":[],"Policies":[]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("credential-report.csv"),
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
         <root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2024-05-01T00:00:00+00:00,not_supported,not_supported,false,true,2020-02-01T00:00:00+00:00,2024-04-01T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
         eve,arn:aws:iam::123456789012:user/eve,2024-01-02T03:04:05+00:00,false,N/A,N/A,N/A,false,true,2024-01-02T03:05:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_minimal_snapshot_reads_the_root_row_and_reports_what_it_lacks() {
    let home = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    minimal_snapshot(snap.path());
    let r = audit_snapshot(home.path(), snap.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = json(&r.stdout);
    let codes: Vec<&str> = inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"root-access-key"), "{codes:?}");
    assert!(codes.contains(&"root-without-mfa"), "{codes:?}");
    // eve's key id is unknown without list-access-keys: a slot, and a gap naming the command.
    let eve_key = inv["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["id"]
                .as_str()
                .unwrap()
                .ends_with("user/eve/access-key/slot-1")
        })
        .unwrap();
    assert_eq!(eve_key["identifier"], serde_json::Value::Null);
    assert_eq!(eve_key["last_used"]["state"], "never");
    let gaps = inv["gaps"].to_string();
    assert!(gaps.contains("access key ids unknown"), "{gaps}");
    assert!(gaps.contains("aws iam list-virtual-mfa-devices"), "{gaps}");
    assert!(gaps.contains("aws secretsmanager") || inv["secrets"].as_array().unwrap().is_empty());
}

#[test]
fn malformed_credential_report_is_exit_3_naming_file_and_line() {
    let home = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    let dir = minimal_snapshot(snap.path());
    let csv = std::fs::read_to_string(dir.join("credential-report.csv")).unwrap();
    // A row cut short, as a bad copy-paste leaves it.
    let broken = format!("{csv}mallory,arn:aws:iam::123456789012:user/mallory,2024-01-02\n");
    std::fs::write(dir.join("credential-report.csv"), broken).unwrap();
    let r = audit_snapshot(home.path(), snap.path());
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("credential-report.csv"), "{}", r.stderr);
    assert!(
        r.stderr.contains("line 4: expected 22 fields, found 3"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn a_csv_that_is_not_a_credential_report_is_exit_3() {
    let home = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    let dir = minimal_snapshot(snap.path());
    std::fs::write(dir.join("credential-report.csv"), "name,email\nx,y\n").unwrap();
    let r = audit_snapshot(home.path(), snap.path());
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("is this an IAM credential report"),
        "{}",
        r.stderr
    );
}

#[test]
fn truncated_json_is_exit_3_with_the_command_to_export_again() {
    let home = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    let dir = minimal_snapshot(snap.path());
    let path = dir.join("account-authorization-details.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let r = audit_snapshot(home.path(), snap.path());
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("truncated"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("aws iam get-account-authorization-details"),
        "{}",
        r.stderr
    );
}

#[test]
fn wrong_snapshot_folders_are_exit_3() {
    let home = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let r = audit_snapshot(home.path(), empty.path());
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("no account or project exports found"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("docs/snapshots.md"), "{}", r.stderr);

    let r = audit_snapshot(home.path(), &empty.path().join("does-not-exist"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("not a folder"), "{}", r.stderr);

    std::fs::create_dir_all(empty.path().join("aws/some-account")).unwrap();
    let r = audit_snapshot(home.path(), empty.path());
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("has no account-authorization-details.json"),
        "{}",
        r.stderr
    );
}

#[test]
fn flag_problems_are_exit_2_and_reported_together() {
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path()).args(["audit"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nothing to audit"), "{}", r.stderr);

    let r = run(handover_offline(home.path()).args([
        "audit",
        "--snapshot",
        "x",
        "--region",
        "Not A Region",
        "--concurrency",
        "0",
    ]));
    assert_eq!(r.code, 2);
    for part in [
        "add --aws",
        "not an AWS region name",
        "--concurrency must be 1 to 64",
    ] {
        assert!(r.stderr.contains(part), "missing {part:?} in {}", r.stderr);
    }

    let r = run(handover_offline(home.path()).args(["audit", "--format", "yaml"]));
    assert_eq!(r.code, 2);
    let r = run(handover_offline(home.path()).args(["frobnicate"]));
    assert_eq!(r.code, 2);
}

#[test]
fn output_file_is_0600_and_never_overwritten_without_force() {
    let home = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    minimal_snapshot(snap.path());
    let out = home.path().join("inventory.json");
    let args = |force: bool| {
        let mut a = vec![
            "audit".to_string(),
            "--snapshot".into(),
            snap.path().display().to_string(),
            "-o".into(),
            out.display().to_string(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let r = run(handover_offline(home.path()).args(args(false)));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("wrote"),
        "a one-line summary when stdout is not a terminal: {}",
        r.stderr
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    std::fs::write(&out, "keep me").unwrap();
    let r = run(handover_offline(home.path()).args(args(false)));
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("already exists") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    let r = run(handover_offline(home.path()).args(args(true)));
    assert_eq!(r.code, 0, "{}", r.stderr);
    json(&std::fs::read_to_string(&out).unwrap());
}

#[test]
fn fail_on_turns_findings_into_exit_1() {
    let home = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    minimal_snapshot(snap.path());
    let r = run(handover_offline(home.path())
        .args([
            "audit",
            "--format",
            "table",
            "--fail-on",
            "critical",
            "--snapshot",
        ])
        .arg(snap.path()));
    assert_eq!(r.code, 1, "root-access-key is critical: {}", r.stderr);
    assert!(r.stdout.contains("root-access-key"), "{}", r.stdout);
    let r = run(handover_offline(home.path())
        .args(["audit", "--format", "table", "--snapshot"])
        .arg(snap.path()));
    assert_eq!(r.code, 0);
}

#[test]
fn the_committed_inventory_schema_matches_the_code() {
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path()).args(["schema", "inventory"]));
    assert_eq!(r.code, 0);
    let committed = std::fs::read_to_string(repo().join("schemas/inventory.v1.json")).unwrap();
    assert_eq!(
        r.stdout, committed,
        "schemas/inventory.v1.json is stale: run `cargo run -- schema inventory > schemas/inventory.v1.json`"
    );
}

#[test]
fn the_example_snapshot_audits_offline() {
    let home = tempfile::tempdir().unwrap();
    let r = audit_snapshot(
        home.path(),
        &repo().join("examples/northwind-to-contoso/snapshot"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = json(&r.stdout);
    assert!(inv["principals"].as_array().unwrap().len() >= 10);
    assert!(inv["secrets"].as_array().unwrap().len() >= 5);
}

#[test]
fn help_lists_the_exit_codes() {
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path()).args(["--help"]));
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Exit codes: 0 ok; 1 findings"),
        "{}",
        r.stdout
    );
    let r = run(handover_offline(home.path()).args(["audit", "--help"]));
    for flag in [
        "--aws",
        "--snapshot",
        "--profile",
        "--region",
        "--format",
        "--output",
        "--force",
        "--fail-on",
    ] {
        assert!(r.stdout.contains(flag), "{flag} missing from audit --help");
    }
}

// Regression: `-o /dev/full --force` as root replaced the device node with a regular
// file. A FIFO, a character device (a copy of /dev/full's node, made with mknod when
// root, so a regression cannot damage the machine's own /dev) and a symbolic link are
// refused with exit 6 and a hint, --force or not, and are still what they were.
#[cfg(unix)]
#[test]
fn non_regular_output_targets_are_refused_even_with_force() {
    use std::os::unix::fs::FileTypeExt;
    let home = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    minimal_snapshot(snap.path());
    let fifo = home.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let real = home.path().join("real.json");
    std::fs::write(&real, "keep me").unwrap();
    let link = home.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut targets = vec![
        (fifo.clone(), "not a regular file"),
        (link.clone(), "symbolic link"),
        (home.path().to_path_buf(), "is a folder"),
    ];
    let dev = home.path().join("full");
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if is_root {
        assert!(
            std::process::Command::new("mknod")
                .arg(&dev)
                .args(["c", "1", "7"])
                .status()
                .unwrap()
                .success(),
            "mknod as root"
        );
        targets.push((dev.clone(), "not a regular file"));
    }
    for (target, expected) in &targets {
        for force in [false, true] {
            let mut cmd = handover_offline(home.path());
            cmd.args(["audit", "--snapshot"])
                .arg(snap.path())
                .arg("-o")
                .arg(target);
            if force {
                cmd.arg("--force");
            }
            let r = run(&mut cmd);
            assert_eq!(r.code, 6, "{}: {}", target.display(), r.stderr);
            assert!(
                r.stderr.contains(expected) && r.stderr.contains("hint:"),
                "{}",
                r.stderr
            );
        }
    }
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "still a FIFO"
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "still a link"
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "keep me");
    if is_root {
        assert!(
            std::fs::symlink_metadata(&dev)
                .unwrap()
                .file_type()
                .is_char_device(),
            "still a device"
        );
    }
}

// Regression: `plan` wrote plan.json, then exited 6 because the --markdown file existed
// (a partial result). Every output is checked first; nothing is written.
#[test]
fn plan_with_an_existing_markdown_target_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let example = repo().join("examples/northwind-to-contoso");
    let (json_out, md_out) = (home.path().join("plan.json"), home.path().join("plan.md"));
    std::fs::write(&md_out, "keep me").unwrap();
    let plan = |extra: &[&str]| {
        run(handover_offline(home.path())
            .args(["plan", "--inventory"])
            .arg(example.join("inventory.json"))
            .arg("--policy")
            .arg(repo().join("policies/full-transfer.yaml"))
            .arg("--config")
            .arg(example.join("handover.toml"))
            .arg("-o")
            .arg(&json_out)
            .arg("--markdown")
            .arg(&md_out)
            .args(extra))
    };
    let r = plan(&[]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("plan.md")
            && r.stderr.contains("already exists")
            && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
    assert!(
        !json_out.exists(),
        "plan.json was written before the refusal"
    );
    assert_eq!(std::fs::read_to_string(&md_out).unwrap(), "keep me");
    assert_eq!(
        std::fs::read_dir(home.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".handover-"))
            .count(),
        0,
        "no temporary file"
    );
    // With --force both are written.
    let r = plan(&["--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(json_out.exists() && std::fs::read_to_string(&md_out).unwrap() != "keep me");
}

// Regression: `A="x"garbage` was silently read as `x`. `migrate` refuses the dotenv file
// with exit 3 naming the file and line, and no value (a canary) reaches its output.
#[test]
fn a_malformed_dotenv_is_refused_by_line_without_echoing_values() {
    let home = tempfile::tempdir().unwrap();
    let env = home.path().join("app.env");
    for (text, line) in [
        ("OK=CANARY-ok-1\nA=\"CANARY-dq-2\"CANARY-tail-3\n", 2),
        ("A='CANARY-open-4\nB=CANARY-5\n", 1),
        ("A=CANARY-6\nA=CANARY-7\n", 2),
    ] {
        std::fs::write(&env, text).unwrap();
        let r = run(handover_offline(home.path())
            .args([
                "-vvv",
                "migrate",
                "--format",
                "json",
                "--to",
                "aws:us-east-1",
                "--all",
                "--from",
            ])
            .arg(format!("dotenv:{}", env.display())));
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(
            r.stderr.contains("app.env")
                && r.stderr.contains(&format!("line {line}:"))
                && r.stderr.contains("hint:"),
            "{}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("CANARY") && !r.stdout.contains("CANARY"),
            "a value was echoed: {}",
            r.stderr
        );
    }
}

/// The journal's line and head-record schemas are committed and current.
#[test]
fn the_committed_journal_schemas_match_the_code() {
    let home = tempfile::tempdir().unwrap();
    for name in ["journal", "journal-head"] {
        let r = run(handover_offline(home.path()).args(["schema", name]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let committed = std::fs::read_to_string(repo().join(format!("schemas/{name}.v1.json")))
            .unwrap_or_default();
        assert_eq!(r.stdout, committed, "schemas/{name}.v1.json is stale: run `cargo run -- schema {name} > schemas/{name}.v1.json`");
    }
}

/// Issue 10 item 8: snapshot names with ESC reached the audit table raw (a name can erase
/// or rewrite the lines around it). The table escapes them; JSON carries them as \u001b.
#[test]
fn a_hostile_user_name_in_a_snapshot_prints_no_raw_escape() {
    let home = tempfile::tempdir().unwrap();
    let snap = tempfile::tempdir().unwrap();
    let dir = minimal_snapshot(snap.path());
    let hostile = "eve\u{1b}[2K\u{1b}[1A\rroot\u{202e}\u{9b}0m";
    let details = std::fs::read_to_string(dir.join("account-authorization-details.json")).unwrap();
    let json_name = serde_json::to_string(hostile).unwrap();
    std::fs::write(
        dir.join("account-authorization-details.json"),
        details
            .replace("\"eve\"", &json_name)
            .replace("user/eve\"", &format!("user/{}", &json_name[1..])),
    )
    .unwrap();
    let csv = std::fs::read_to_string(dir.join("credential-report.csv")).unwrap();
    std::fs::write(
        dir.join("credential-report.csv"),
        csv.replace(
            "\neve,arn:aws:iam::123456789012:user/eve,",
            &format!("\n\"{hostile}\",\"arn:aws:iam::123456789012:user/{hostile}\","),
        ),
    )
    .unwrap();
    let r = run(handover_offline(home.path())
        .args(["audit", "--format", "table", "--snapshot"])
        .arg(snap.path()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("eve\\x1b[2K\\x1b[1A\\rroot\\u{202e}\\x9b0m"),
        "{}",
        r.stdout
    );
    for c in ['\u{1b}', '\r', '\u{202e}', '\u{9b}'] {
        assert!(
            !r.stdout.contains(c) && !r.stderr.contains(c),
            "raw {c:?} in {}",
            r.stdout
        );
    }
    let r = audit_snapshot(home.path(), snap.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains('\u{1b}') && r.stdout.contains("\\u001b[2K"),
        "{}",
        r.stdout
    );
}

/// Issue 10 item 8: an error quoting its input (here a path) must not carry raw controls.
#[test]
fn an_error_quoting_hostile_input_is_escaped() {
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path()).args([
        "audit",
        "--snapshot",
        "/nonexistent/\u{1b}[2K\u{1b}]0;owned\u{7}dir",
    ]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        !r.stderr.contains('\u{1b}') && !r.stderr.contains('\u{7}'),
        "{:?}",
        r.stderr
    );
    assert!(r.stderr.contains("\\x1b[2K"), "{}", r.stderr);
}

/// Copies of a committed document that a reader must refuse, each with the words its
/// error must carry: another schema, another version, and for a plan an edit after it
/// was written (its digest no longer matches).
fn refused_copies(home: &Path, committed: &Path, kind: &str) -> Vec<(std::path::PathBuf, String)> {
    let good = json(&std::fs::read_to_string(committed).unwrap());
    let other = if kind == "plan" {
        "handover/inventory"
    } else {
        "handover/plan"
    };
    let mut out = Vec::new();
    let mut write = |name: &str, v: serde_json::Value, expect: String| {
        let p = home.join(format!("{kind}-{name}.json"));
        std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
        out.push((p, expect));
    };
    let mut v = good.clone();
    v["schema"] = other.into();
    write("schema", v, format!("not a handover {kind}"));
    // A version this build does not write (the next one), whatever the current one is.
    let current = good["version"].as_u64().unwrap();
    let mut v = good.clone();
    v["version"] = (current + 1).into();
    write(
        "version",
        v,
        format!(
            "the {kind} is in format version {}, and this handover reads version {current}",
            current + 1
        ),
    );
    if kind == "plan" {
        let mut v = good;
        v["policy"]["name"] = "edited-after-approval".into();
        write("digest", v, "does not match its digest".into());
    }
    out
}

fn example_file(name: &str) -> std::path::PathBuf {
    repo().join("examples/northwind-to-contoso").join(name)
}

/// Each command that reads an inventory, with the inventory it should read.
fn inventory_readers(home: &Path, inventory: &Path) -> Vec<(&'static str, std::process::Command)> {
    let policy = repo().join("policies/full-transfer.yaml");
    let config = example_file("handover.toml");
    let mut plan = handover_offline(home);
    plan.args(["plan", "--format", "json", "--inventory"])
        .arg(inventory)
        .arg("--policy")
        .arg(&policy)
        .arg("--config")
        .arg(&config);
    let mut explain = handover_offline(home);
    explain
        .args(["policy", "explain", "--inventory"])
        .arg(inventory)
        .arg("--policy")
        .arg(&policy)
        .arg("--config")
        .arg(&config)
        .args(["--target", "user/bob.agency/console-password"]);
    let mut init = handover_offline(home);
    init.args(["init", "--inventory"]).arg(inventory);
    let mut manifest = handover_offline(home);
    manifest
        .args(["manifest", "--force", "--config"])
        .arg(&config)
        .arg("--plan")
        .arg(example_file("plan-full-transfer.json"))
        .arg("--inventory")
        .arg(inventory)
        .arg("--sign-key")
        .arg(example_file("keys/northwind-signing"))
        .arg("-o")
        .arg(home.join("m.age"));
    vec![
        ("plan", plan),
        ("policy explain", explain),
        ("init", init),
        ("manifest", manifest),
    ]
}

/// Each command that reads a plan, with the plan it should read.
fn plan_readers(home: &Path, plan: &Path) -> Vec<(&'static str, std::process::Command)> {
    let config = example_file("handover.toml");
    let mut diff = handover_offline(home);
    diff.args(["plan", "--format", "json", "--inventory"])
        .arg(example_file("inventory.json"))
        .arg("--policy")
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--config")
        .arg(&config)
        .arg("--diff")
        .arg(plan);
    let mut manifest = handover_offline(home);
    manifest
        .args(["manifest", "--force", "--config"])
        .arg(&config)
        .arg("--plan")
        .arg(plan)
        .arg("--inventory")
        .arg(example_file("inventory.json"))
        .arg("--sign-key")
        .arg(example_file("keys/northwind-signing"))
        .arg("-o")
        .arg(home.join("m.age"));
    // A dry run from a dotenv file: the plan is read before any store is reached.
    std::fs::write(home.join("app.env"), "A=1\n").unwrap();
    let mut migrate = handover_offline(home);
    migrate
        .args([
            "migrate",
            "--format",
            "json",
            "--to",
            "aws:us-east-1",
            "--from",
        ])
        .arg(format!("dotenv:{}", home.join("app.env").display()))
        .arg("--plan")
        .arg(plan);
    vec![
        ("plan --diff", diff),
        ("manifest", manifest),
        ("migrate", migrate),
    ]
}

// Regression (issue 12): four readers of inventories and plans, and only one checked a
// schema and version; `manifest` read an inventory of any schema or version and
// `plan --diff` read an edited plan. Every command now refuses them the same way.
#[test]
fn every_command_refuses_an_inventory_of_another_schema_or_version() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // The committed inventory is read by every one of them (the commands are sound).
    for (name, mut cmd) in inventory_readers(h, &example_file("inventory.json")) {
        let r = run(&mut cmd);
        assert_eq!(
            r.code, 0,
            "{name} with the committed inventory: {}",
            r.stderr
        );
    }
    for (bad, expect) in refused_copies(h, &example_file("inventory.json"), "inventory") {
        for (name, mut cmd) in inventory_readers(h, &bad) {
            let r = run(&mut cmd);
            assert_eq!(r.code, 3, "{name} read {}: {}", bad.display(), r.stderr);
            assert!(
                r.stderr.contains(&expect) && r.stderr.contains("hint:"),
                "{name}: {expect:?} missing from {}",
                r.stderr
            );
        }
    }
}

// Regression (issue 12): `plan --diff` read a plan without checking its schema, version or
// digest, and `migrate --plan` and `manifest --plan` checked only the digest.
#[test]
fn every_command_refuses_a_plan_of_another_schema_or_version_or_edited() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let committed = example_file("plan-full-transfer.json");
    for (name, mut cmd) in plan_readers(h, &committed) {
        let r = run(&mut cmd);
        assert!(
            !r.stderr.contains("error:") || r.code != 3,
            "{name} refused the committed plan: {}",
            r.stderr
        );
    }
    for (bad, expect) in refused_copies(h, &committed, "plan") {
        for (name, mut cmd) in plan_readers(h, &bad) {
            let r = run(&mut cmd);
            assert_eq!(r.code, 3, "{name} read {}: {}", bad.display(), r.stderr);
            assert!(
                r.stderr.contains(&expect) && r.stderr.contains("hint:"),
                "{name}: {expect:?} missing from {}",
                r.stderr
            );
        }
    }
}

/// Every `Error` built in `src/` (a constructor call or a struct literal) with its hint
/// argument as written: `(file:line, hint expression)`.
fn error_hints(text: &str) -> Vec<(usize, String)> {
    let bytes = text.as_bytes();
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    for ctor in ["usage", "input", "untrusted", "output", "crypto"] {
        for (at, m) in text.match_indices(&format!("Error::{ctor}(")) {
            if let Some(args) = balanced(bytes, at + m.len() - 1, b'(', b')') {
                let parts = top_level_split(&args);
                if let Some(hint) = parts.iter().rev().find(|p| !p.trim().is_empty()) {
                    out.push((line_of(at), hint.trim().to_string()));
                }
            }
        }
    }
    for variant in [
        "Usage",
        "Input",
        "Access",
        "Api",
        "Refused",
        "Untrusted",
        "Crypto",
        "Output",
    ] {
        for (at, m) in text.match_indices(&format!("Error::{variant} {{")) {
            let Some(fields) = balanced(bytes, at + m.len() - 1, b'{', b'}') else {
                continue;
            };
            // A pattern (`Error::Usage { hint, .. }`) is not a construction.
            if fields.contains("..") {
                continue;
            }
            for f in top_level_split(&fields) {
                if let Some(v) = f.trim().strip_prefix("hint:") {
                    out.push((line_of(at), v.trim().to_string()));
                }
            }
        }
    }
    out
}

/// The text between the bracket at `open` and its match, skipping string literals.
fn balanced(b: &[u8], open: usize, o: u8, c: u8) -> Option<String> {
    let (mut depth, mut i, mut in_str) = (0usize, open, false);
    while i < b.len() {
        let ch = b[i];
        if in_str {
            if ch == b'\\' {
                i += 1;
            } else if ch == b'"' {
                in_str = false;
            }
        } else if ch == b'"' {
            in_str = true;
        } else if ch == o {
            depth += 1;
        } else if ch == c {
            depth -= 1;
            if depth == 0 {
                return Some(String::from_utf8_lossy(&b[open + 1..i]).into_owned());
            }
        }
        i += 1;
    }
    None
}

/// Splits at commas outside brackets and string literals.
fn top_level_split(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut in_str, mut esc) =
        (Vec::new(), String::new(), 0i32, false, false);
    for ch in s.chars() {
        if in_str {
            in_str = esc || ch != '"';
            esc = !esc && ch == '\\';
        } else {
            match ch {
                '"' => in_str = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
        }
        cur.push(ch);
    }
    out.push(cur);
    out
}

/// Whether a hint expression is empty as written.
fn is_empty_hint(expr: &str) -> bool {
    let mut e = expr.trim();
    for suffix in [".into()", ".to_string()", ".to_owned()"] {
        e = e.strip_suffix(suffix).unwrap_or(e);
    }
    let literal = e
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .map(|inner| inner.trim().is_empty());
    literal.unwrap_or(false)
        || matches!(
            e,
            "String::new()" | "Default::default()" | "String::default()" | "String::from(\"\")"
        )
        || e.starts_with("format!(\"\"")
}

// Regression (issue 12): `verify` built `Error::usage("... is not a destination", "")`,
// an error whose printed `hint:` line would be empty. Every error says what to try: no
// error in src/ is constructed with an empty hint.
#[test]
fn no_error_in_src_has_an_empty_hint() {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo().join("src"), &mut files);
    let (mut seen, mut empty) = (0, Vec::new());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let production = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (line, hint) in error_hints(production) {
            seen += 1;
            if is_empty_hint(&hint) {
                empty.push(format!("{}:{line}: hint {hint}", f.display()));
            }
        }
    }
    assert!(seen > 100, "the scanner found only {seen} errors in src/");
    assert!(
        empty.is_empty(),
        "errors with an empty hint:\n{}",
        empty.join("\n")
    );
}

#[test]
fn the_hint_scanner_sees_empty_hints_in_calls_and_literals() {
    let src = r#"
        let a = Error::usage(format!("x, {y}"), "");
        let b = Error::input(
            path,
            "bad (really)",
            String::new(),
        );
        let c = Error::Api { provider: P, operation: o, what: w, hint: "".into() };
        let d = Error::output(p, "fine", "try again");
        match e { Error::Usage { hint, .. } => hint }
    "#;
    let hints: Vec<(usize, bool)> = error_hints(src)
        .into_iter()
        .map(|(l, h)| (l, is_empty_hint(&h)))
        .collect();
    assert_eq!(
        hints,
        vec![(2, true), (3, true), (9, false), (8, true)],
        "{:?}",
        error_hints(src)
    );
}

/// Every command's `--help`, as committed in tests/help/ (issue 12 moved every flag into
/// per-command files and shared groups; the help text is the contract that must not
/// drift). After a deliberate change: `handover CMD --help > tests/help/handover-CMD.txt`
/// with COLUMNS unset.
#[test]
fn help_of_every_command_matches_the_committed_text() {
    let home = tempfile::tempdir().unwrap();
    for cmd in [
        "",
        "audit",
        "plan",
        "policy",
        "policy check",
        "policy explain",
        "policy list",
        "policy show",
        "migrate",
        "manifest",
        "manifest show",
        "verify",
        "report",
        "init",
        "docs",
        "docs check",
        "docs init",
        "schema",
        "completions",
        "man",
    ] {
        let name = format!("handover {cmd}").trim().replace(' ', "-");
        let mut c = handover_offline(home.path());
        // Unset: clap shows an env variable's value in the help.
        for var in ["COLUMNS", "LINES", "HANDOVER_CONFIG", "HANDOVER_IDENTITY"] {
            c.env_remove(var);
        }
        let r = run(c.args(cmd.split_whitespace()).arg("--help"));
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let committed =
            std::fs::read_to_string(repo().join(format!("tests/help/{name}.txt"))).unwrap();
        assert_eq!(r.stdout, committed, "tests/help/{name}.txt differs");
    }
}

/// `migrate` reports every flag problem at once, before reading a file or a cloud.
#[test]
fn migrate_flag_problems_are_exit_2_and_reported_together() {
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path())
        .env_remove("HANDOVER_CONFIG")
        .env_remove("HANDOVER_IDENTITY")
        .args([
            "migrate",
            "--from",
            "ftp:x",
            "--to",
            "ftp:y",
            "--concurrency",
            "0",
            "--all",
            "--secret",
            "A",
            "--apply",
        ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    for part in [
        "--from \"ftp:x\"",
        "--to \"ftp:y\"",
        "--concurrency must be 1 to 64, not 0",
        "choose the secrets one way",
        "--apply needs --config",
        "hint: see `handover migrate --help`",
    ] {
        assert!(r.stderr.contains(part), "missing {part:?} in {}", r.stderr);
    }
}

// Regression (issue 12): exit code 11 was added to the exit table (src/cli/exit.rs) but not
// to the exit-code line of `--help`. Every code of the table is on that line.
#[test]
fn help_names_every_exit_code_of_the_table() {
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path())
        .env_remove("COLUMNS")
        .arg("--help"));
    let line = r
        .stdout
        .split("Exit codes:")
        .nth(1)
        .unwrap_or_default()
        .replace('\n', " ");
    let table = std::fs::read_to_string(repo().join("src/cli/exit.rs")).unwrap();
    let codes: Vec<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("//! | "))
        .filter_map(|l| l.split(' ').next())
        .filter(|c| c.chars().all(|d| d.is_ascii_digit()))
        .collect();
    assert_eq!(codes.len(), 13, "{codes:?}");
    for c in codes {
        assert!(
            line.contains(&format!(" {c} ")),
            "exit code {c} missing from --help: {line}"
        );
    }
}
