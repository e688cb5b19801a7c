//! The documentation handover (issue 18): `handover docs check|init` as a user runs them,
//! each check failed by a document of its own (with the finding's line), the secret
//! scan measured on a corpus of planted credentials and on the project's own documents,
//! its integration into `plan`, canaries at -vvv and hostile files.

mod support;

use std::path::{Path, PathBuf};

use handover::docs::check::{self, Check, Sections, Settings};
use handover::docs::markdown::Outline;
use handover::docs::secrets;
use support::*;

fn example(name: &str) -> PathBuf {
    repo().join("examples/northwind-to-contoso").join(name)
}

fn corpus() -> PathBuf {
    repo().join("tests/data/docs-corpus")
}

/// The (check, line) pairs of a document's problems.
fn found(problems: &[check::Problem]) -> Vec<(Check, usize)> {
    problems.iter().map(|p| (p.check, p.line)).collect()
}

fn slo(text: &str) -> Vec<(Check, usize)> {
    found(&check::check_slo(
        &Outline::parse(text),
        &Sections::default(),
    ))
}

fn playbook(text: &str, st: &Settings) -> Vec<(Check, usize)> {
    found(&check::check_playbook(&Outline::parse(text), text, st))
}

fn postmortem(text: &str) -> Vec<(Check, usize)> {
    found(&check::check_postmortem(
        &Outline::parse(text),
        &Sections::default(),
    ))
}

/// The SLO template with one line replaced.
fn slo_with(from: &str, to: &str) -> String {
    let t = handover::docs::templates::SLO;
    assert!(t.contains(from), "{from}");
    t.replacen(from, to, 1)
}

#[test]
fn each_slo_check_has_a_document_that_fails_it_at_its_line() {
    assert_eq!(slo(handover::docs::templates::SLO), []);
    // An SLI that does not say how it is measured (line 18 of the template).
    let t = slo_with(
        ", measured at the load balancer [source].\n- Latency",
        ".\n- Latency",
    );
    assert_eq!(slo(&t), [(Check::SliWithoutMeasurement, 10)]);
    // An SLO without a window.
    let t = slo_with(
        "99.9% of requests succeed over a rolling 28 days",
        "99.9% of requests succeed",
    );
    assert_eq!(slo(&t), [(Check::SloWithoutTargetOrWindow, 17)]);
    // An SLO without a target.
    let t = slo_with("95% of requests", "most requests");
    assert_eq!(slo(&t), [(Check::SloWithoutTargetOrWindow, 18)]);
    // An SLA mixed into the SLOs.
    let t = slo_with(
        "over a rolling 28 days.\n- Latency",
        "over a rolling 28 days (our SLA).\n- Latency",
    );
    assert_eq!(slo(&t), [(Check::SlaNotApart, 17)]);
    // No error budget section.
    let t = slo_with("## Error budget\n\nThe budget is what the target leaves: 0.1% of requests over 28 days for 99.9%.\n\n", "");
    assert_eq!(slo(&t), [(Check::SectionMissing, 1)]);
    // A policy that weighs neither provider changes nor security fixes.
    let t = slo_with("- Cloud provider changes", "- Upstream changes");
    assert_eq!(slo(&t), [(Check::BudgetPolicyIncomplete, 24)]);
    let t = slo_with("- Security fixes ship", "- Urgent fixes ship");
    assert_eq!(slo(&t), [(Check::BudgetPolicyIncomplete, 24)]);
    // An SLA without consequences.
    let t = slo_with("consequences: [service credits or penalties when it is missed]; or state that there is none.", "terms: to be agreed.");
    assert_eq!(slo(&t), [(Check::SlaNotApart, 32)]);
    // No review cadence.
    let t = slo_with("## Review", "## Later");
    assert_eq!(slo(&t), [(Check::SectionMissing, 1)]);
    // No SLIs at all.
    let t = slo_with("## SLIs", "## Indicators");
    assert_eq!(slo(&t), [(Check::SectionMissing, 1)]);
}

#[test]
fn each_playbook_check_has_a_document_that_fails_it_at_its_line() {
    let st = Settings::default();
    let t = handover::docs::templates::PLAYBOOK;
    assert_eq!(playbook(t, &st), []);
    assert_eq!(
        playbook(&t.replace("## Trigger", "## Background"), &st),
        [(Check::SectionMissing, 1)]
    );
    let steps_as_prose = t.replace(
        "1. [first thing to check, and where]\n2. [how to mitigate, and how to tell it worked]\n3. [when to stop and escalate]",
        "Look around, then fix it.",
    );
    assert_eq!(playbook(&steps_as_prose, &st), [(Check::StepsNotAList, 9)]);
    assert_eq!(
        playbook(&t.replace("## Escalation", "## Contacts"), &st),
        [(Check::SectionMissing, 1)]
    );
    assert_eq!(
        playbook(
            &t.replace(
                "- Communications lead: [name], who keeps users and stakeholders informed.\n",
                ""
            ),
            &st
        ),
        [(Check::RoleMissing, 20)]
    );
}

// After the handover, a playbook naming the agency is a finding; the agency-operated
// scenario's named operations contacts may stay until agency access ends.
#[test]
fn a_playbook_naming_the_agency_is_a_finding_except_its_retained_contacts_until_access_ends() {
    let cfg = handover::config::load(&example("handover-agency-operated.toml")).unwrap();
    let mut text = handover::docs::templates::PLAYBOOK.to_string();
    text.push_str("\nNorthwind's ops group ops@northwind-agency.example is paged at night.\n");
    text.push_str("Ask dana@northwind-agency.example (Northwind operations contact).\n");
    let before = "2027-01-01T00:00:00Z".parse().unwrap();
    let after = "2027-02-01T00:00:00Z".parse().unwrap();
    // No contacts configured: both lines.
    assert_eq!(
        playbook(&text, &cfg.doc_settings(before)),
        [(Check::AgencyContact, 26), (Check::AgencyContact, 27)]
    );
    let mut cfg = cfg;
    cfg.operations.contacts = vec!["dana@northwind-agency.example".into()];
    assert_eq!(
        playbook(&text, &cfg.doc_settings(before)),
        [(Check::AgencyContact, 26)]
    );
    assert_eq!(
        playbook(&text, &cfg.doc_settings(after)),
        [(Check::AgencyContact, 26), (Check::AgencyContact, 27)],
        "after agency_access_ends the contact is a finding too"
    );
    let full = handover::config::load(&example("handover.toml")).unwrap();
    let mut full = full;
    full.operations.contacts = vec!["dana@northwind-agency.example".into()];
    assert_eq!(
        playbook(&text, &full.doc_settings(before)).len(),
        2,
        "a full transfer keeps no agency contact"
    );
}

#[test]
fn each_postmortem_check_has_a_document_that_fails_it_at_its_line() {
    let t = handover::docs::templates::POSTMORTEM;
    assert_eq!(postmortem(t), []);
    for (heading, _) in [
        ("## Summary", "summary"),
        ("## Impact", "impact"),
        ("## Root cause", "root cause"),
        ("## Resolution", "resolution"),
        ("## Action items", "action items"),
        ("## Timeline", "timeline"),
    ] {
        assert_eq!(
            postmortem(&t.replace(heading, "## Notes")),
            [(Check::SectionMissing, 1)],
            "{heading}"
        );
    }
    let no_owner = t.replace("| [owner's name] |", "| |");
    assert_eq!(postmortem(&no_owner), [(Check::ActionWithoutOwner, 25)]);
    let listed = t.replace(
        "| Action | Owner | Due |\n|---|---|---|\n| [what will prevent a repeat] | [owner's name] | [date] |",
        "- add a failover drill (owner: platform team)\n- lower the TTL",
    );
    assert_eq!(postmortem(&listed), [(Check::ActionWithoutOwner, 24)]);
    let untimed = t.replace(
        "- 14:10 [mitigation started]",
        "- later, mitigation started",
    );
    assert_eq!(
        postmortem(&untimed),
        [(Check::TimelineWithoutTimestamp, 32)]
    );
}

// A team's own template passes once its section names are in the config.
#[test]
fn configured_section_names_replace_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("handover.toml"),
        std::fs::read_to_string(example("handover.toml"))
            .unwrap()
            .replace("recipients.txt", &example("recipients.txt").display().to_string())
            + "\n[documentation.sections]\nsteps = [\"What to do\"]\nrole_names = [\"Incident lead\"]\n",
    )
    .unwrap();
    let cfg = handover::config::load(&dir.path().join("handover.toml")).unwrap();
    let text = "# P\n\n## Trigger\n\nalert x\n\n## What to do\n\n1. a\n\n## Escalation\n\nx\n\n## Incident roles\n\n- Incident lead: the on-call\n";
    assert_eq!(playbook(text, &cfg.doc_settings(chrono::Utc::now())), []);
    assert_eq!(
        playbook(text, &Settings::default()),
        [
            (Check::SectionMissing, 1),
            (Check::RoleMissing, 15),
            (Check::RoleMissing, 15),
            (Check::RoleMissing, 15)
        ]
    );
}

/// The corpus's expected hits: (file, line, kind).
fn expected() -> Vec<(String, usize, String)> {
    std::fs::read_to_string(corpus().join("EXPECTED"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let v: Vec<&str> = l.split(' ').collect();
            (v[0].to_string(), v[1].parse().unwrap(), v[2].to_string())
        })
        .collect()
}

#[test]
fn the_scan_finds_every_planted_kind_in_the_corpus_and_nothing_else() {
    let want = expected();
    let mut got = Vec::new();
    let mut files = 0;
    for e in std::fs::read_dir(corpus()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name == "EXPECTED" {
            continue;
        }
        files += 1;
        for h in secrets::scan(&std::fs::read_to_string(&p).unwrap()) {
            got.push((name.clone(), h.line, h.kind.as_str().to_string()));
        }
    }
    got.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert!(files >= 20, "the corpus has {files} documents");
    let kinds: std::collections::BTreeSet<&str> = want.iter().map(|w| w.2.as_str()).collect();
    assert_eq!(kinds.len(), 10, "every kind is planted: {kinds:?}");
    let missed: Vec<_> = want_sorted.iter().filter(|w| !got.contains(w)).collect();
    let extra: Vec<_> = got.iter().filter(|g| !want_sorted.contains(g)).collect();
    assert_eq!(
        (want_sorted.len() - missed.len(), missed.len(), extra.len()),
        (24, 0, 0),
        "found / missed / false positives: missed {missed:?}, extra {extra:?}"
    );
}

// Zero false positives on what the project itself hands over or publishes.
#[test]
fn the_scan_finds_nothing_in_the_examples_documents_nor_the_projects_docs() {
    let report = handover::docs::check(
        &example(""),
        &[],
        &[
            example("docs"),
            repo().join("docs"),
            repo().join("README.md"),
        ],
        &Settings::default(),
    )
    .unwrap();
    let secrets: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == Check::SecretInDocument)
        .map(|f| f.location())
        .collect();
    assert!(report.files.len() >= 15, "{:?}", report.files);
    assert_eq!(secrets.len(), 0, "false positives: {secrets:?}");
}

#[test]
fn the_examples_documents_pass_docs_check_in_both_scenarios() {
    let home = tempfile::tempdir().unwrap();
    for cfg in ["handover.toml", "handover-agency-operated.toml"] {
        let r = run(handover_offline(home.path())
            .args(["docs", "check", "--config"])
            .arg(example(cfg)));
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert_eq!(r.stdout, "3 file(s) checked, 0 finding(s)\n");
    }
}

/// A copy of the example's config and documents in `dir`, with `extra` appended to its
/// playbook.
fn example_copy(dir: &Path, extra: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("docs/playbooks")).unwrap();
    std::fs::create_dir_all(dir.join("docs/postmortems")).unwrap();
    for f in [
        "handover.toml",
        "recipients.txt",
        "docs/slo.md",
        "docs/postmortems/2026-05-db-failover.md",
    ] {
        std::fs::copy(example(f), dir.join(f)).unwrap();
    }
    let playbook = std::fs::read_to_string(example("docs/playbooks/checkout-errors.md")).unwrap();
    std::fs::write(
        dir.join("docs/playbooks/checkout-errors.md"),
        format!("{playbook}{extra}"),
    )
    .unwrap();
    dir.join("handover.toml")
}

/// The example's own service-account key id (a transferred key of app-runtime) and an
/// access key id (alice.agency's, revoked by the full-transfer policy).
const SA_KEY_ID: &str = "d3f6bee4dd9755804b114b8e80478b0ff78a3b61";
const ACCESS_KEY_ID: &str = "AKIARZPUZDIKH2UVO34D";
/// A planted secret value that must appear in no output.
const CANARY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzCanary0Qx";

fn leaky_playbook() -> String {
    format!(
        "\n## Credentials (do not do this)\n\n```json\n{{\"type\": \"service_account\", \"private_key_id\": \"{SA_KEY_ID}\"}}\n```\n\naws_access_key_id = {ACCESS_KEY_ID}\naws_secret_access_key = {CANARY}\n"
    )
}

// A credential of the inventory pasted into a playbook: its step becomes a rotation
// with the document as evidence (a revoked one stays revoked, with the evidence).
#[test]
fn plan_rotates_a_credential_found_in_a_document_and_records_the_document() {
    let home = tempfile::tempdir().unwrap();
    let cfg = example_copy(home.path(), &leaky_playbook());
    let out = home.path().join("plan.json");
    let r = run(handover_offline(home.path())
        .args(["plan", "--inventory"])
        .arg(example("inventory.json"))
        .args(["--policy", "full-transfer", "--config"])
        .arg(&cfg)
        .args(["--format", "json", "-o"])
        .arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = json(&std::fs::read_to_string(&out).unwrap());
    let step = |name: &str| {
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["target"]["name"] == name)
            .unwrap()
            .clone()
    };
    let sa = step(SA_KEY_ID);
    assert_eq!(sa["action"], "rotate");
    assert_eq!(sa["rule"], "secret-in-document");
    assert_eq!(sa["severity"], "critical");
    assert_eq!(
        sa["evidence"]["document"],
        "docs/playbooks/checkout-errors.md:27"
    );
    let ak = step(ACCESS_KEY_ID);
    assert_eq!(
        ak["action"], "revoke",
        "a revocation ends the leaked key outright"
    );
    assert_eq!(
        ak["evidence"]["document"],
        "docs/playbooks/checkout-errors.md:30"
    );
    let findings: Vec<String> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "secret-in-document")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(findings.len(), 3, "{findings:?}");
    assert!(
        findings[2].starts_with("docs/playbooks/checkout-errors.md:31: an AWS secret access key")
    );
    // The same plan without the paste: the key is transferred as the policy says.
    let clean = tempfile::tempdir().unwrap();
    let cfg = example_copy(clean.path(), "");
    let r = run(handover_offline(clean.path())
        .args(["plan", "--inventory"])
        .arg(example("inventory.json"))
        .args(["--policy", "full-transfer", "--format", "json", "--config"])
        .arg(&cfg));
    let plan = json(&r.stdout);
    let sa = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"]["name"] == SA_KEY_ID)
        .unwrap();
    assert_eq!(sa["action"], "transfer");
}

/// A config (agency-written, reviewed by the customer) could name `../x`, an absolute
/// path, or a document reached through a symbolic link out of its folder, and `plan` /
/// `docs check` read it (and the plan digested it, the manifest sealed it): every
/// document is read under the config's folder or refused by name, exit 3, nothing read.
#[cfg(unix)]
#[test]
fn a_document_outside_the_configs_folder_is_refused_by_name() {
    let home = tempfile::tempdir().unwrap();
    let outside = home.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("leak.md"), leaky_playbook()).unwrap();
    let abs = outside.join("leak.md").display().to_string();
    // What the config names as the SLO, a link to make under the config's folder (at,
    // to), what the error must name.
    type Case<'a> = (&'a str, Option<(&'a str, &'a Path)>, &'a str);
    let cases: [Case; 4] = [
        ("../outside/leak.md", None, "../outside/leak.md"),
        (&abs, None, &abs),
        (
            "docs/slo.md",
            Some(("docs/slo.md", &outside.join("leak.md"))),
            "docs/slo.md",
        ),
        ("docs", Some(("docs/linked", &outside)), "docs/linked"),
    ];
    for (i, (slo, link, named)) in cases.into_iter().enumerate() {
        let dir = home.path().join(format!("case{i}"));
        let cfg = example_copy(&dir, "");
        let toml = std::fs::read_to_string(&cfg).unwrap();
        let toml = toml.replace("slo = \"docs/slo.md\"", &format!("slo = {slo:?}"));
        std::fs::write(&cfg, toml).unwrap();
        if let Some((at, to)) = link {
            let at = dir.join(at);
            let _ = std::fs::remove_file(&at);
            std::os::unix::fs::symlink(to, &at).unwrap();
        }
        let check = run(handover_offline(home.path())
            .args(["docs", "check", "--format", "json", "--config"])
            .arg(&cfg));
        let out = dir.join("plan.json");
        let plan = run(handover_offline(home.path())
            .args(["plan", "--inventory"])
            .arg(example("inventory.json"))
            .args(["--policy", "full-transfer", "--config"])
            .arg(&cfg)
            .args(["--format", "json", "-o"])
            .arg(&out));
        for r in [&check, &plan] {
            assert_eq!(r.code, 3, "case {i} ({slo}): {}{}", r.stdout, r.stderr);
            assert!(
                r.stderr.contains(named) && r.stderr.contains("hint:"),
                "case {i}: the error names {named}: {}",
                r.stderr
            );
            assert!(!r.stdout.contains("leak.md") && !r.stdout.contains(ACCESS_KEY_ID));
            assert!(!r.stderr.contains(CANARY) && !r.stderr.contains(ACCESS_KEY_ID));
        }
        assert!(!out.exists(), "case {i}: no plan is written");
    }
}

/// `--scan PATH` may point anywhere (the user named it), but the walk under it follows
/// no link: a link to a folder outside, holding a pasted key, is not scanned.
#[cfg(unix)]
#[test]
fn a_scan_follows_no_link_out_of_the_path_it_walks() {
    let home = tempfile::tempdir().unwrap();
    let cfg = example_copy(&home.path().join("cfg"), "");
    let outside = home.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("leak.md"), leaky_playbook()).unwrap();
    let scanned = home.path().join("runbooks");
    std::fs::create_dir_all(&scanned).unwrap();
    std::fs::write(scanned.join("ok.md"), "# fine\n").unwrap();
    std::os::unix::fs::symlink(&outside, scanned.join("linked")).unwrap();
    std::os::unix::fs::symlink(outside.join("leak.md"), scanned.join("leak.md")).unwrap();
    let r = run(handover_offline(home.path())
        .args(["docs", "check", "--format", "json", "--config"])
        .arg(&cfg)
        .arg("--scan")
        .arg(&scanned));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let report = json(&r.stdout);
    assert!(!r.stdout.contains("leak.md"), "{}", r.stdout);
    assert!(report["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.as_str().unwrap().ends_with("runbooks/ok.md")));
    // The same file named directly is scanned: the user's own choice.
    let r = run(handover_offline(home.path())
        .args(["docs", "check", "--format", "json", "--config"])
        .arg(&cfg)
        .arg("--scan")
        .arg(scanned.join("linked")));
    assert_eq!(
        r.code, 1,
        "the named path is followed: {}{}",
        r.stdout, r.stderr
    );
    assert!(r.stdout.contains("secret-in-document"), "{}", r.stdout);
}

// `--config handover.toml` (a config in the current folder) has an empty folder path:
// confining documents to it must still read them.
#[test]
fn a_config_named_without_a_folder_reads_its_documents() {
    let home = tempfile::tempdir().unwrap();
    let cfg = example_copy(&home.path().join("cfg"), "");
    let r = run(handover_offline(home.path())
        .current_dir(cfg.parent().unwrap())
        .args(["docs", "check", "--config", "handover.toml"]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "3 file(s) checked, 0 finding(s)\n");
}

// A folder of documents holding a link to itself made `docs::read` walk it again
// through every path the loop allows (the kernel stops at 40 links: the playbook was
// digested and checked 41 times; two such links make 2^40 paths, a hang): each folder
// is walked once.
#[cfg(unix)]
#[test]
fn a_link_loop_in_a_documents_folder_ends() {
    let home = tempfile::tempdir().unwrap();
    let cfg = example_copy(home.path(), "");
    let playbooks = home.path().join("docs/playbooks");
    std::os::unix::fs::symlink(&playbooks, playbooks.join("again")).unwrap();
    let r = run(handover_offline(home.path())
        .args(["docs", "check", "--format", "json", "--config"])
        .arg(&cfg));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let report = json(&r.stdout);
    let files: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "docs/slo.md",
            "docs/playbooks/checkout-errors.md",
            "docs/postmortems/2026-05-db-failover.md"
        ],
        "each document once, however many links lead to its folder"
    );
}

// Canary: the planted value, and any 8-character piece of it, is in no output at -vvv.
#[test]
fn a_planted_secret_appears_in_no_output_at_trace_level() {
    let home = tempfile::tempdir().unwrap();
    let cfg = example_copy(home.path(), &leaky_playbook());
    let mut outputs = Vec::new();
    for format in ["text", "json"] {
        let r = run(handover_offline(home.path())
            .args(["-vvv", "docs", "check", "--format", format, "--config"])
            .arg(&cfg)
            .arg("--scan")
            .arg(home.path().join("docs")));
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stdout.contains("aws-secret-access-key"), "{}", r.stdout);
        outputs.push(r.stdout + &r.stderr);
    }
    let r = run(handover_offline(home.path())
        .args(["-vvv", "plan", "--inventory"])
        .arg(example("inventory.json"))
        .args([
            "--policy",
            "full-transfer",
            "--format",
            "markdown",
            "--config",
        ])
        .arg(&cfg));
    assert_eq!(r.code, 0, "{}", r.stderr);
    outputs.push(r.stdout + &r.stderr);
    for out in &outputs {
        for i in 0..=CANARY.len() - 8 {
            assert!(
                !out.contains(&CANARY[i..i + 8]),
                "a piece of the canary leaked"
            );
        }
    }
}

// Binary, huge, invalid UTF-8, deeply nested and unreadable files are findings, never a
// panic nor an error.
#[test]
fn hostile_files_are_findings_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("binary.md"), b"# x\n\0\x01\x02 ghp_").unwrap();
    std::fs::write(d.join("invalid-utf8.md"), b"# x\n\xff\xfe token\n").unwrap();
    let huge = vec![b'a'; (handover::docs::MAX_FILE_BYTES + 1) as usize];
    std::fs::write(d.join("huge.md"), huge).unwrap();
    std::fs::write(
        d.join("nested.md"),
        "- ".repeat(50_000) + "x\n" + &">".repeat(50_000),
    )
    .unwrap();
    std::fs::write(d.join("long-line.md"), "a".repeat(3_000_000)).unwrap();
    let wanted: Vec<_> = [
        "binary.md",
        "invalid-utf8.md",
        "huge.md",
        "nested.md",
        "long-line.md",
    ]
    .iter()
    .map(|f| (handover::docs::DocKind::Playbook, PathBuf::from(f)))
    .collect();
    let report =
        handover::docs::check(d, &wanted, &[d.join("no-such-file")], &Settings::default()).unwrap();
    let unreadable: Vec<(&str, Option<usize>)> = report
        .findings
        .iter()
        .filter(|f| f.check == Check::Unreadable)
        .map(|f| (f.path.as_str(), f.line))
        .collect();
    let missing = d.join("no-such-file").display().to_string();
    assert_eq!(
        unreadable,
        [
            ("binary.md", None),
            ("invalid-utf8.md", None),
            ("huge.md", None),
            (missing.as_str(), None)
        ]
    );
    assert!(report.findings.iter().all(|f| !f.message.contains("ghp_")));
    // Through the binary: exit 1 with findings, no panic (101).
    let home = tempfile::tempdir().unwrap();
    let cfg = example_copy(home.path(), "");
    let r = run(handover_offline(home.path())
        .args(["docs", "check", "--config"])
        .arg(&cfg)
        .arg("--scan")
        .arg(d));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("binary.md: high unreadable"),
        "{}",
        r.stdout
    );
}

#[test]
fn docs_init_writes_the_templates_and_refuses_to_overwrite() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("handbook");
    let init = || {
        run(handover_offline(home.path())
            .args(["docs", "init", "--dir"])
            .arg(&dir))
    };
    let r = init();
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (f, t) in [
        ("slo.md", handover::docs::templates::SLO),
        ("playbook.md", handover::docs::templates::PLAYBOOK),
        ("postmortem.md", handover::docs::templates::POSTMORTEM),
    ] {
        assert_eq!(std::fs::read_to_string(dir.join(f)).unwrap(), t);
    }
    std::fs::write(dir.join("slo.md"), "mine").unwrap();
    let r = init();
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(dir.join("slo.md")).unwrap(), "mine");
}

// The report's documentation checklist is the plan's documentation findings; a clean
// handover says every document passes.
#[test]
fn the_report_shows_the_documentation_checklist() {
    let report_md = |extra: &str| {
        let home = tempfile::tempdir().unwrap();
        let cfg = example_copy(home.path(), extra);
        let plan = home.path().join("plan.json");
        let r = run(handover_offline(home.path())
            .args(["plan", "--inventory"])
            .arg(example("inventory.json"))
            .args(["--policy", "full-transfer", "--format", "json", "--config"])
            .arg(&cfg)
            .arg("-o")
            .arg(&plan));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = run(handover_offline(home.path())
            .args(["report", "--format", "markdown", "--inventory"])
            .arg(example("inventory.json"))
            .arg("--plan")
            .arg(&plan)
            .arg("--config")
            .arg(&cfg));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let at = r.stdout.find("### Checklist").expect("a checklist");
        let end = r.stdout[at..].find("## Coverage gaps").unwrap();
        r.stdout[at..at + end].to_string()
    };
    let clean = report_md("");
    assert!(clean.contains("✓ Every document passes"), "{clean}");
    let leaky = report_md(&leaky_playbook());
    assert!(!leaky.contains("✓"), "{leaky}");
    assert!(
        leaky.contains("critical `secret-in-document`: docs/playbooks/checkout-errors.md:31: an AWS secret access key"),
        "{leaky}"
    );
    assert!(!leaky.contains(&CANARY[..8]));
}
