//! `handover apply`'s progress bar: drawn on stderr when it is a terminal (here a pseudo
//! terminal from util-linux's `script`), never with `--format json` (whose reader is a
//! program) nor on a non-terminal, and never with `--quiet`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

/// The example account seeded in moto, audited and planned under full transfer.
fn planned(moto: &Moto, h: &Path) -> PathBuf {
    seed(moto);
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
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--inventory")
        .arg(&inv)
        .arg("--config")
        .arg(repo().join("examples/northwind-to-contoso/handover.toml"))
        .arg("-o")
        .arg(&plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    plan
}

/// `cmd` run with a pseudo terminal as its stdin, stdout and stderr (`script -qec`); what
/// the terminal showed.
fn on_a_terminal(cmd: &Command) -> String {
    let found = Command::new("script").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "`script` is missing: install util-linux (Debian package bsdutils)"
    );
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
    let line = std::iter::once(quote(cmd.get_program()))
        .chain(cmd.get_args().map(quote))
        .collect::<Vec<_>>()
        .join(" ");
    let mut s = Command::new("script");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => s.env(k, v),
            None => s.env_remove(k),
        };
    }
    let o = s
        .args(["-qec", &line, "/dev/null"])
        .env("TERM", "xterm")
        .env("COLUMNS", "120")
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The bar's line: the phase name, then `[`, the bar, `]` and `N/M`.
fn shows_bar(screen: &str) -> bool {
    screen.contains("checking") && screen.contains(']') && screen.contains("/")
}

// The bar is for a person at a terminal: with `--format json` a program reads the output,
// so nothing is drawn, even when the terminal is there.
#[test]
fn the_progress_bar_is_drawn_on_a_terminal_only_for_a_table() {
    let moto = moto();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let plan = planned(&moto, h);
    let apply = |format: &str, quiet: bool| {
        let mut c = handover(&moto, h);
        if quiet {
            c.arg("--quiet");
        }
        c.args(["apply", "--format", format, "--plan"]).arg(&plan);
        c
    };
    let table = on_a_terminal(&apply("table", false));
    assert!(table.contains("Summary:"), "{table}");
    assert!(
        shows_bar(&table),
        "a table on a terminal shows the bar: {table:?}"
    );
    let j = on_a_terminal(&apply("json", false));
    assert!(j.contains("\"summary\""), "{j}");
    assert!(!j.contains("checking"), "no bar with --format json: {j:?}");
    let quiet = on_a_terminal(&apply("table", true));
    assert!(
        quiet.contains("Summary:") && !quiet.contains("checking"),
        "{quiet:?}"
    );
    // Not a terminal: nothing but the table on stdout, nothing drawn on stderr.
    let r = run(&mut apply("table", false));
    assert!(
        !r.stderr.contains("checking") && !r.stderr.contains('\r'),
        "{:?}",
        r.stderr
    );
}
