//! The policies compiled into the binary (issue 15, item 1): `policy list|show`, and
//! `--policy NAME` resolving a shipped policy from any directory, with the same digest as
//! the file; an argument that is both a shipped name and a file here is refused.

mod support;

use std::path::{Path, PathBuf};

use support::*;

fn example(name: &str) -> PathBuf {
    repo().join("examples/northwind-to-contoso").join(name)
}

/// `handover plan` of the example inventory, run in `cwd`, with `policy` as given.
fn plan_in(cwd: &Path, policy: &str) -> Run {
    run(handover_offline(cwd)
        .current_dir(cwd)
        .args(["plan", "--format", "json", "--inventory"])
        .arg(example("inventory.json"))
        .args(["--policy", policy, "--config"])
        .arg(example("handover.toml")))
}

#[test]
fn policy_list_names_every_shipped_policy_with_its_description() {
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path())
        .current_dir(home.path())
        .args(["policy", "list"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(lines[0].starts_with("full-transfer    The customer takes over operations;"));
    assert!(lines[1].starts_with("agency-operated  The agency keeps operating"));
}

/// Before issue 15 `--policy full-transfer` answered "cannot read" outside the checkout.
#[test]
fn a_shipped_policy_by_name_and_its_shown_copy_plan_alike_outside_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let shown = run(handover_offline(dir.path()).current_dir(dir.path()).args([
        "policy",
        "show",
        "full-transfer",
    ]));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let file = std::fs::read_to_string(repo().join("policies/full-transfer.yaml")).unwrap();
    assert_eq!(shown.stdout, file, "show prints the exact shipped YAML");
    std::fs::write(dir.path().join("mine.yaml"), &shown.stdout).unwrap();

    let by_name = plan_in(dir.path(), "full-transfer");
    assert_eq!(by_name.code, 0, "{}", by_name.stderr);
    let by_copy = plan_in(dir.path(), "mine.yaml");
    assert_eq!(by_copy.code, 0, "{}", by_copy.stderr);
    assert_eq!(by_name.stdout, by_copy.stdout, "same plan, same digest");
    let plan = json(&by_name.stdout);
    assert_eq!(plan["policy"]["name"], "full-transfer");
    // The committed example plan was made from the repository's file: same policy digest.
    let committed = json(&std::fs::read_to_string(example("plan-full-transfer.json")).unwrap());
    assert_eq!(plan["policy"]["digest"], committed["policy"]["digest"]);
    assert_eq!(plan["digest"], committed["digest"]);

    // A team's edited copy is its own policy, with its own digest.
    std::fs::write(
        dir.path().join("mine.yaml"),
        shown
            .stdout
            .replace("name: full-transfer", "name: our-transfer"),
    )
    .unwrap();
    let edited = plan_in(dir.path(), "mine.yaml");
    assert_eq!(edited.code, 0, "{}", edited.stderr);
    assert_eq!(json(&edited.stdout)["policy"]["name"], "our-transfer");
    assert_ne!(json(&edited.stdout)["digest"], plan["digest"]);
}

#[test]
fn a_shipped_name_that_is_also_a_file_here_is_refused_as_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("policies/agency-operated.yaml")).unwrap();
    std::fs::write(dir.path().join("full-transfer"), text).unwrap();
    let r = plan_in(dir.path(), "full-transfer");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: --policy full-transfer is ambiguous: it names a shipped policy and a file in the current directory\n  \
         hint: write ./full-transfer to read the file, or run from another directory to use the shipped policy (or rename the file to full-transfer.yaml)\n"
    );
    assert_eq!(r.stdout, "");
    // `./NAME` is the file (here: the agency-operated policy under another name).
    let r = plan_in(dir.path(), "./full-transfer");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["policy"]["name"], "agency-operated");
}

#[test]
fn an_unknown_policy_name_is_an_input_error_listing_the_shipped_ones() {
    let dir = tempfile::tempdir().unwrap();
    let r = plan_in(dir.path(), "full-transfr");
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: full-transfr: neither a shipped policy nor a file\n  \
         hint: the shipped policies are full-transfer, agency-operated (`handover policy list`); or pass a policy file's path\n"
    );
    let r = run(handover_offline(dir.path()).current_dir(dir.path()).args([
        "policy",
        "show",
        "full-transfr",
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("[possible values: full-transfer, agency-operated]"),
        "{}",
        r.stderr
    );
}

#[test]
fn policy_check_and_explain_take_a_shipped_name() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(handover_offline(dir.path()).current_dir(dir.path()).args([
        "policy",
        "check",
        "full-transfer",
        "agency-operated",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("full-transfer: ok, policy full-transfer with "));
    assert!(lines[1].starts_with("agency-operated: ok, policy agency-operated with "));
    let plan = json(&std::fs::read_to_string(example("plan-agency-operated.json")).unwrap());
    let step = plan["steps"][0]["id"].as_str().unwrap();
    let r = run(handover_offline(dir.path())
        .current_dir(dir.path())
        .args([
            "policy",
            "explain",
            "--policy",
            "agency-operated",
            "--inventory",
        ])
        .arg(example("inventory.json"))
        .arg("--config")
        .arg(example("handover-agency-operated.toml"))
        .args(["--target", step]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("<- decides"), "{}", r.stdout);
}
