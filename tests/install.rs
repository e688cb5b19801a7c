//! What an installed binary brings with it (issue 15, "Installing"): completion scripts
//! for each shell and manual pages, both generated from the clap definitions; the
//! committed `man/` must be what the binary generates, so a flag cannot change without
//! its page.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use support::*;

/// `handover` with none of the variables clap would show in a page.
fn handover_clean(home: &Path) -> Command {
    let mut c = handover_offline(home);
    for var in ["COLUMNS", "LINES", "HANDOVER_CONFIG", "HANDOVER_IDENTITY"] {
        c.env_remove(var);
    }
    c
}

#[test]
fn a_completion_script_for_each_shell_knows_every_command() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let r = run(handover_clean(home.path()).args(["completions", shell]));
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        for word in [
            "audit",
            "plan",
            "policy",
            "migrate",
            "apply",
            "manifest",
            "verify",
            "init",
            "completions",
            "inventory",
            "agency-operated",
        ] {
            assert!(r.stdout.contains(word), "{shell}: {word} missing");
        }
        if shell == "bash" {
            let script = home.path().join("handover.bash");
            std::fs::write(&script, &r.stdout).unwrap();
            let check = Command::new("bash")
                .arg("-n")
                .arg(&script)
                .output()
                .unwrap();
            assert!(
                check.status.success(),
                "bash -n: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    let r = run(handover_clean(home.path()).args(["completions", "tcsh"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}

fn pages(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

/// A flag added or changed without regenerating man/ fails here.
#[test]
fn the_committed_man_pages_are_what_the_binary_generates() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("man");
    let r = run(handover_clean(home.path()).args(["man", "--dir"]).arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fresh = pages(&out);
    let committed = pages(&repo().join("man"));
    assert_eq!(
        fresh.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>(),
        "man/ has other pages than the commands: run `cargo run -- man --dir man --force` (and remove stale pages)"
    );
    for (name, text) in &fresh {
        assert!(
            committed[name] == *text,
            "man/{name} is stale: run `cargo run -- man --dir man --force`"
        );
    }
    for cmd in ["plan", "policy-show", "manifest-show", "completions"] {
        assert!(fresh.contains_key(&format!("handover-{cmd}.1")), "{cmd}");
    }
    // Without --dir: the top page on stdout; an existing folder is not overwritten.
    let r = run(handover_clean(home.path()).arg("man"));
    assert_eq!(r.stdout, fresh["handover.1"]);
    let r = run(handover_clean(home.path()).args(["man", "--dir"]).arg(&out));
    assert_eq!(r.code, 6, "{}", r.stderr);
}

/// Each page renders with groff (what `man -l man/handover.1` runs) without a warning.
#[test]
fn every_man_page_renders_without_a_warning() {
    for (name, _) in pages(&repo().join("man")) {
        let out = Command::new("groff")
            .args(["-man", "-T", "utf8", "-ww", "-z"])
            .arg(repo().join("man").join(&name))
            .output()
            .expect("groff renders the man pages: apt-get install groff-base");
        assert!(out.status.success(), "{name}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{name}");
    }
    let text = Command::new("groff")
        .args(["-man", "-T", "utf8", "-P", "-cbu"])
        .arg(repo().join("man/handover-plan.1"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("--inventory <FILE>"), "{text}");
    assert!(text.contains("--policy <NAME|FILE>"), "{text}");
}
