//! A first-time user's path (issue 15): the binary, copied out of the build into an empty
//! folder outside the repository, run there with that folder as HOME and no other
//! environment, on the user's own inventory: `init`, the config edited as a person would
//! (every CONFIRM placeholder filled), `plan --policy full-transfer` (the policy compiled
//! in), `manifest`, then `manifest show` as the customer. No file of the repository is
//! read: the inventory is copied in first, and keys are made with ssh-keygen and
//! age-keygen.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{repo, Run};

/// The built binary, placed in `dir` (a hard link where the filesystem allows, else a copy).
fn install_into(dir: &Path) -> PathBuf {
    let bin = dir.join("handover");
    let built = env!("CARGO_BIN_EXE_handover");
    if std::fs::hard_link(built, &bin).is_err() {
        std::fs::copy(built, &bin).unwrap();
    }
    bin
}

/// Runs `bin` in `home` with HOME set to it and nothing else inherited.
fn user(bin: &Path, home: &Path, args: &[&str]) -> Run {
    let out = Command::new(bin)
        .args(args)
        .current_dir(home)
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(r.code, 0, "handover {}: {}", args.join(" "), r.stderr);
    r
}

/// A key made by a tool the user has (ssh-keygen, age-keygen), in `home`.
fn tool(home: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(home)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is needed: apt-get install age openssh-client ({e})")
        });
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sets `key` in `[section]` ("" for the top) to `value`, as a person edits the file:
/// the line `key = ...` (or its commented-out form `# key = ...`) is replaced whole, with
/// the CONFIRM remark after it.
fn set(toml: &str, section: &str, key: &str, value: &str) -> String {
    let mut current = String::new();
    let mut done = false;
    let lines: Vec<String> = toml
        .lines()
        .map(|line| {
            let t = line.trim_start();
            if t.starts_with('[') {
                current = t.trim_matches(|c| c == '[' || c == ']').to_string();
            }
            let bare = t.trim_start_matches('#').trim_start();
            let is_key = bare
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='));
            if current == section && is_key && !done {
                done = true;
                format!("{key} = {value}")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert!(done, "init wrote no {key} in [{section}]:\n{toml}");
    lines.join("\n") + "\n"
}

#[test]
fn a_new_user_goes_from_an_inventory_to_a_manifest_outside_the_repository() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path().canonicalize().unwrap();
    assert!(
        !home.starts_with(repo()),
        "the folder is outside the repository"
    );
    let bin = install_into(&home);
    // The user's own file: an inventory their audit wrote.
    std::fs::copy(
        repo().join("examples/northwind-to-contoso/inventory.json"),
        home.join("inventory.json"),
    )
    .unwrap();
    tool(
        &home,
        "ssh-keygen",
        &[
            "-q", "-t", "ed25519", "-N", "", "-C", "agency", "-f", "agency",
        ],
    );
    tool(&home, "age-keygen", &["-o", "customer.txt"]);
    let customer_key = std::fs::read_to_string(home.join("customer.txt"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(str::to_string))
        .unwrap();
    let signing_key = std::fs::read_to_string(home.join("agency.pub")).unwrap();

    user(
        &bin,
        &home,
        &[
            "init",
            "--inventory",
            "inventory.json",
            "-o",
            "handover.toml",
        ],
    );
    let proposed = std::fs::read_to_string(home.join("handover.toml")).unwrap();
    assert!(proposed.contains("CONFIRM"), "init marks its guesses");

    // The edit: every placeholder confirmed or filled in.
    let mut toml = proposed.clone();
    for (section, key, value) in [
        ("", "handover_date", "\"2026-12-01\"".to_string()),
        ("agency", "name", "\"Northwind\"".into()),
        ("agency", "aws_accounts", "[\"210987654321\"]".into()),
        (
            "agency",
            "email_domains",
            "[\"northwind-agency.example\"]".into(),
        ),
        (
            "agency",
            "signing_key",
            format!("\"{}\"", signing_key.trim()),
        ),
        ("customer", "name", "\"Contoso\"".into()),
        ("customer", "aws_accounts", "[\"123456789012\"]".into()),
        ("customer", "gcp_projects", "[\"contoso-shop-prod\"]".into()),
        ("customer", "email_domains", "[\"contoso.example\"]".into()),
        ("recipients", "keys", format!("[\"{customer_key}\"]")),
    ] {
        toml = set(&toml, section, key, &value);
    }
    let left: Vec<&str> = toml
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains("CONFIRM"))
        .collect();
    assert!(left.is_empty(), "placeholders left: {left:?}");
    std::fs::write(home.join("handover.toml"), &toml).unwrap();

    let plan = user(
        &bin,
        &home,
        &[
            "plan",
            "--inventory",
            "inventory.json",
            "--policy",
            "full-transfer",
            "--config",
            "handover.toml",
            "-o",
            "plan.json",
            "--format",
            "markdown",
        ],
    );
    assert!(plan.stderr.starts_with("plan sha256:"), "{}", plan.stderr);
    assert!(
        plan.stdout.contains("Northwind to Contoso"),
        "{}",
        plan.stdout
    );
    let plan_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan_json["policy"]["name"], "full-transfer");
    let digest = plan_json["digest"].as_str().unwrap().to_string();

    user(
        &bin,
        &home,
        &[
            "manifest",
            "--config",
            "handover.toml",
            "--plan",
            "plan.json",
            "--inventory",
            "inventory.json",
            "--sign-key",
            "agency",
            "-o",
            "handover.age",
        ],
    );
    assert!(home.join("handover.age.sig").is_file());

    let show = user(
        &bin,
        &home,
        &[
            "manifest",
            "show",
            "handover.age",
            "-i",
            "customer.txt",
            "--signer",
            "agency.pub",
        ],
    );
    assert!(show.stdout.contains(&digest), "{}", show.stdout);
    assert!(show.stdout.contains("Northwind"), "{}", show.stdout);
    assert!(
        show.stdout.contains("Signature: good, by the agency's key"),
        "{}",
        show.stdout
    );
    let files: Vec<String> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!files.iter().any(|f| f == "policies"), "{files:?}");
}
