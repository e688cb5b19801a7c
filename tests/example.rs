//! The example tells a true story (issue 15 item 11): its committed snapshot shows no
//! artefact of the emulator it was made with, and the one edit `make-snapshot.sh` makes
//! to the emulator's export (`plausible_export.py`) gives exactly the committed files.

mod support;

use std::path::{Path, PathBuf};

use support::*;

fn example(name: &str) -> PathBuf {
    repo().join("examples/northwind-to-contoso").join(name)
}

// Issue 15 item 11: the example's audit header showed a credential report "of
// 2015-02-02" and "audited as ...user/moto", moto's fixed answers.
#[test]
fn the_example_audit_shows_no_emulator_artefact() {
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path())
        .args(["audit", "--format", "table", "--snapshot"])
        .arg(example("snapshot")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for artefact in ["2015-02-02", "user/moto", "AKIAIOSFODNN7EXAMPLE"] {
        assert!(!r.stdout.contains(artefact), "{artefact} in\n{}", r.stdout);
    }
    assert!(
        r.stdout
            .contains("credential report of 2026-11-25 13:30 UTC")
            && r.stdout
                .contains("audited as arn:aws:iam::123456789012:user/carol.customer"),
        "{}",
        r.stdout
    );
}

fn plausible(dir: &Path, at: &str) -> std::process::Output {
    std::process::Command::new(venv_bin("python"))
        .arg(example("plausible_export.py"))
        .arg("--account-dir")
        .arg(dir)
        .args(["--generated-at", at, "--caller", "carol.customer"])
        .output()
        .expect("the test virtualenv's python (./scripts/test.sh makes it)")
}

// What make-snapshot.sh changes is exactly these two fields: from moto's answers, the
// script makes the committed files byte for byte, twice over, and refuses a report time
// before the newest user.
#[test]
fn plausible_export_turns_the_emulator_answers_into_the_committed_files() {
    let committed = example("snapshot/aws/123456789012");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    for f in [
        "account-authorization-details.json",
        "caller-identity.json",
        "credential-report.json",
    ] {
        std::fs::copy(committed.join(f), dir.join(f)).unwrap();
    }
    // moto's answers, as its export wrote them.
    std::fs::write(
        dir.join("caller-identity.json"),
        "{\n    \"UserId\": \"AKIAIOSFODNN7EXAMPLE\",\n    \"Account\": \"123456789012\",\n    \"Arn\": \"arn:aws:sts::123456789012:user/moto\"\n}\n",
    )
    .unwrap();
    let report = std::fs::read_to_string(dir.join("credential-report.json")).unwrap();
    let at = "\"GeneratedTime\": \"2026-11-25T13:30:30Z\"";
    assert!(report.contains(at));
    std::fs::write(
        dir.join("credential-report.json"),
        report.replace(at, "\"GeneratedTime\": \"2015-02-02T20:02:02Z\""),
    )
    .unwrap();
    for _ in 0..2 {
        let o = plausible(dir, "2026-11-25T13:30:30Z");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for f in ["caller-identity.json", "credential-report.json"] {
            assert_eq!(
                std::fs::read(dir.join(f)).unwrap(),
                std::fs::read(committed.join(f)).unwrap(),
                "{f}"
            );
        }
    }
    let o = plausible(dir, "2026-11-25T13:29:00Z");
    assert!(!o.status.success(), "a report older than its newest user");
}
