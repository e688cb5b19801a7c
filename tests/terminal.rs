//! Output for a person (issue 15 item 9): tables fit the terminal's width with every id
//! whole, and severity, status and action words are coloured on a terminal only, with
//! `--color never|always|auto` and `NO_COLOR` (https://no-color.org: present and not
//! empty turns colour off; a command-line flag overrides it) honoured by the tables and
//! by the log lines alike. The pseudo terminal is util-linux's `script`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

fn example(name: &str) -> PathBuf {
    repo().join("examples/northwind-to-contoso").join(name)
}

fn audit_table(h: &Path) -> Command {
    let mut c = handover_offline(h);
    c.args(["audit", "--format", "table", "--snapshot"])
        .arg(example("snapshot"));
    c
}

fn plan_table(h: &Path) -> Command {
    let mut c = handover_offline(h);
    c.args(["plan", "--format", "table", "--inventory"])
        .arg(example("inventory.json"))
        .arg("--policy")
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--config")
        .arg(example("handover.toml"));
    c
}

/// Every line fits `width`, but a line that is one word longer than the width (an id,
/// which is never cut).
fn assert_fits(out: &str, width: usize, what: &str) {
    for l in out.lines() {
        let n = l.chars().count();
        assert!(
            n <= width || (!l.trim().contains(' ') && l.trim().chars().count() > width),
            "{what} at {width}: a line of {n}: {l:?}\n{out}"
        );
    }
}

// Issue 15 item 9: audit lines of 312 characters on an 80-column terminal, and a plan
// table that cut targets at 70 characters and showed no step id.
#[test]
fn tables_fit_80_and_200_columns_with_every_id_whole() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example("plan-full-transfer.json")).unwrap())
            .unwrap();
    let inv: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example("inventory.json")).unwrap()).unwrap();
    for width in [80usize, 200] {
        let a = run(audit_table(h).env("COLUMNS", width.to_string()));
        assert_eq!(a.code, 0, "{}", a.stderr);
        assert_fits(&a.stdout, width, "audit");
        for f in inv["findings"].as_array().unwrap() {
            let code = f["code"].as_str().unwrap();
            assert!(a.stdout.contains(code), "finding {code} at {width}");
        }
        let p = run(plan_table(h).env("COLUMNS", width.to_string()));
        assert_eq!(p.code, 0, "{}", p.stderr);
        assert_fits(&p.stdout, width, "plan");
        for s in plan["steps"].as_array().unwrap() {
            let id = s["id"].as_str().unwrap();
            assert!(p.stdout.contains(id), "step {id} missing at {width}");
            assert!(p.stdout.contains(s["rule"].as_str().unwrap()));
            // Every word of the target (key ids, ARNs, emails) is there whole.
            for word in s["target"]["label"].as_str().unwrap().split(' ') {
                assert!(p.stdout.contains(word), "{word:?} cut at {width}");
            }
        }
    }
    // A pipe with no COLUMNS is not wrapped: one line per row, for grep.
    let p = run(plan_table(h).env_remove("COLUMNS"));
    let step = &plan["steps"][0];
    assert!(
        p.stdout
            .lines()
            .any(|l| l.contains(step["id"].as_str().unwrap())
                && l.contains(step["target"]["label"].as_str().unwrap())
                && l.contains(step["rule"].as_str().unwrap())),
        "{}",
        p.stdout
    );
}

/// `cmd` run on a pseudo terminal (stdout and stderr both), its screen as text.
fn on_a_terminal(cmd: &Command) -> String {
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
        .output()
        .expect("script (util-linux) is needed for the terminal tests");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const ESC: char = '\u{1b}';

/// The text without the tool's colour codes (the words stay).
fn strip(s: &str) -> String {
    let mut out = s.to_string();
    for code in [
        "\u{1b}[1;31m",
        "\u{1b}[31m",
        "\u{1b}[33m",
        "\u{1b}[32m",
        "\u{1b}[36m",
        "\u{1b}[0m",
    ] {
        out = out.replace(code, "");
    }
    out
}

// Issue 15 item 9: no colour for severity and status; NO_COLOR not honoured.
#[test]
fn colour_follows_the_flag_then_no_color_then_the_terminal() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // --color always colours even a pipe, and even with NO_COLOR (a flag overrides it).
    let always = run(audit_table(h)
        .args(["--color", "always"])
        .env("NO_COLOR", "1"));
    assert_eq!(always.code, 0, "{}", always.stderr);
    assert!(
        always.stdout.contains("\u{1b}[1;31mCRITICAL\u{1b}[0m"),
        "{}",
        always.stdout
    );
    assert!(always.stdout.contains("\u{1b}[31mHIGH\u{1b}[0m"));
    let never = run(audit_table(h).args(["--color", "never"]));
    assert!(!never.stdout.contains(ESC), "{}", never.stdout);
    // The words are all there without colour: colour is never the only sign.
    assert_eq!(strip(&always.stdout), never.stdout);
    let piped = run(&mut audit_table(h));
    assert!(!piped.stdout.contains(ESC), "a pipe gets no colour");
    let plan = run(plan_table(h).args(["--color", "always"]));
    assert!(
        plan.stdout.contains("\u{1b}[31mrevoke\u{1b}[0m"),
        "{}",
        plan.stdout
    );

    // On a terminal: auto colours, unless NO_COLOR is set and not empty; never does not.
    let tty = on_a_terminal(audit_table(h).env_remove("NO_COLOR"));
    assert!(tty.contains("\u{1b}[31mHIGH"), "{tty:?}");
    let empty = on_a_terminal(audit_table(h).env("NO_COLOR", ""));
    assert!(
        empty.contains("\u{1b}[31mHIGH"),
        "an empty NO_COLOR is unset"
    );
    let no_color = on_a_terminal(audit_table(h).env("NO_COLOR", "1"));
    assert!(
        no_color.contains("HIGH") && !no_color.contains(ESC),
        "{no_color:?}"
    );
    let never = on_a_terminal(
        audit_table(h)
            .env_remove("NO_COLOR")
            .args(["--color", "never"]),
    );
    assert!(never.contains("HIGH") && !never.contains(ESC), "{never:?}");
}

// Issue 15 item 9: the log setup coloured stderr on a terminal whatever NO_COLOR said.
#[test]
fn log_lines_honour_no_color_and_the_flag() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let logged = |c: &mut Command| {
        c.args(["-v", "audit", "--format", "json", "--snapshot"])
            .arg(example("snapshot"));
    };
    let mut c = handover_offline(h);
    logged(&mut c);
    let tty = on_a_terminal(c.env_remove("NO_COLOR"));
    assert!(tty.contains("INFO") && tty.contains(ESC), "{tty:?}");
    let mut c = handover_offline(h);
    logged(&mut c);
    let no_color = on_a_terminal(c.env("NO_COLOR", "1"));
    assert!(
        no_color.contains("INFO") && !no_color.contains(ESC),
        "{no_color:?}"
    );
    let mut c = handover_offline(h);
    logged(&mut c);
    let never = on_a_terminal(c.env_remove("NO_COLOR").args(["--color", "never"]));
    assert!(never.contains("INFO") && !never.contains(ESC), "{never:?}");
    let mut c = handover_offline(h);
    logged(&mut c);
    let piped = run(c.args(["--color", "always"]));
    assert!(piped.stderr.contains(ESC), "{}", piped.stderr);
    let mut c = handover_offline(h);
    logged(&mut c);
    let piped = run(&mut c);
    assert!(piped.stderr.contains("INFO") && !piped.stderr.contains(ESC));
}
