//! The hostile-input corpus (`tests/hostile/`, listed in `tests/hostile/cases.toml`),
//! each case run through the `handover` command that reads it.
//!
//! For every case: no panic (exit 101), no abort or death by a signal (134, stack
//! overflow), done within the time bound, no partial output file when the command
//! fails, no key material from the input on stdout, stderr or any plain output file, no
//! string the case lists under `lacks`, every string it lists under `has` somewhere in
//! the output, and the documented exit code where the case names one. All cases run (two at a time), and every failure is reported at once.
//!
//! Knobs: `HANDOVER_HOSTILE_CASE=substring` runs the matching cases only;
//! `HANDOVER_HOSTILE_TIMEOUT_S` changes the bound on a case's CPU time (default 10 s, for
//! a debug build; the slowest legitimate case, `plan` of the example, needs about 3 s).
//! A case that needs more is a hang.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// A file or folder under tests/hostile.
    input: Option<String>,
    /// A file made at run time: head + repeat * count + tail.
    generate: Option<String>,
    head: Option<String>,
    repeat: Option<String>,
    count: Option<usize>,
    tail: Option<String>,
    run: String,
    expect: Option<i32>,
    /// The input holds key material (or the canary value): none of it may be printed.
    #[serde(default)]
    secret: bool,
    #[serde(default)]
    lacks: Vec<String>,
    /// Strings that must appear in some output (stdout, stderr or a written file): what
    /// proves the case was decided, not just survived.
    #[serde(default)]
    has: Vec<String>,
    #[allow(dead_code)]
    why: Option<String>,
}

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

/// The value planted in dotenv cases (the same as in tests/fuzz.rs).
const CANARY_VALUE: &str = "Cn/ry+Va/lu+e9/Zq+Wx/Yv+Kp/Mq+Rs/Tu+";
const WINDOW: usize = 12;

fn hostile_dir() -> PathBuf {
    support::repo().join("tests/hostile")
}

fn example() -> PathBuf {
    support::repo().join("examples/northwind-to-contoso")
}

fn timeout() -> Duration {
    Duration::from_secs(
        std::env::var("HANDOVER_HOSTILE_TIMEOUT_S")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10),
    )
}

/// The example's manifest and signature, made once with the real binary.
fn sealed() -> &'static (PathBuf, PathBuf) {
    static S: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("handover-hostile-sealed-")
            .tempdir()
            .unwrap()
            .keep();
        let out = dir.join("handover.age");
        let r = support::run(manifest_cmd(&dir).arg("-o").arg(&out));
        assert_eq!(r.code, 0, "cannot make the example manifest: {}", r.stderr);
        (out.clone(), dir.join("handover.age.sig"))
    })
}

/// `handover manifest` for the example, without its output flags.
fn manifest_cmd(home: &Path) -> Command {
    let ex = example();
    let mut cmd = support::handover_offline(home);
    cmd.arg("manifest")
        .arg("--config")
        .arg(ex.join("handover.toml"))
        .arg("--plan")
        .arg(ex.join("plan-full-transfer.json"))
        .arg("--inventory")
        .arg(ex.join("inventory.json"))
        .arg("--sign-key")
        .arg(ex.join("keys/northwind-signing"));
    cmd
}

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    elapsed: Duration,
    timed_out: bool,
}

/// CPU time (user + system, all threads) of a running process, from /proc/<pid>/stat.
fn process_cpu(stat: &Path) -> Duration {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    let fields: Vec<&str> = text
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split(' ').collect())
        .unwrap_or_default();
    // After the command name: state is field 3, utime 14, stime 15 (clock ticks, 100 Hz).
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Runs a command with a bound on its CPU time; past it the process is killed.
fn run_bounded(cmd: &mut Command, limit: Duration) -> Outcome {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the handover binary starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let mut timed_out = false;
    let stat = PathBuf::from(format!("/proc/{}/stat", child.id()));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        // The bound is on the process's CPU time (a busy machine slows the wall clock,
        // not the work); ten times the bound of wall-clock time is the backstop.
        if process_cpu(&stat) > limit || started.elapsed() > limit * 10 {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    use std::os::unix::process::ExitStatusExt;
    Outcome {
        code: status.code(),
        signal: status.signal(),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
        elapsed,
        timed_out,
    }
}

/// The secret parts of an input: age secret keys (after their fixed prefix), the
/// base64 lines of PEM private keys after the first (the public header), the canary.
fn secret_windows(input: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(input);
    let mut secrets: Vec<String> = vec![CANARY_VALUE.to_string()];
    let mut in_pem = false;
    let mut first = true;
    for line in text.lines() {
        let line = line.trim();
        if let Some(i) = line.find("AGE-SECRET-KEY-1") {
            secrets.push(line[i + 16..].to_string());
        }
        if line.starts_with("-----BEGIN") {
            in_pem = true;
            first = true;
            continue;
        }
        if line.starts_with("-----END") {
            in_pem = false;
            continue;
        }
        if in_pem {
            if !first && line.len() >= WINDOW {
                secrets.push(line.to_string());
            }
            first = false;
        }
    }
    let mut w: Vec<Vec<u8>> = Vec::new();
    for s in secrets {
        for win in s.as_bytes().windows(WINDOW) {
            w.push(win.to_ascii_uppercase());
        }
    }
    w
}

fn find_leak(windows: &[Vec<u8>], text: &[u8]) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    if let Some(i) = upper
        .windows(17)
        .position(|w| w.starts_with(b"AGE-SECRET-KEY-1") && w[16].is_ascii_alphanumeric())
    {
        return Some(String::from_utf8_lossy(&upper[i..(i + 24).min(upper.len())]).into_owned());
    }
    let set: std::collections::HashSet<&[u8]> = windows.iter().map(|w| w.as_slice()).collect();
    upper
        .windows(WINDOW)
        .find(|w| set.contains(*w))
        .map(|w| String::from_utf8_lossy(w).into_owned())
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_in(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The input's path: the corpus file or folder, or a generated file in `work`.
fn materialize(c: &Case, work: &Path) -> PathBuf {
    if let Some(i) = &c.input {
        let p = hostile_dir().join(i);
        assert!(p.exists(), "{i} is listed in cases.toml but missing");
        return p;
    }
    let name = c.generate.as_ref().expect("a case has input or generate");
    let p = work.join(Path::new(name).file_name().unwrap());
    let mut bytes = c.head.clone().unwrap_or_default().into_bytes();
    bytes.extend(
        c.repeat
            .clone()
            .unwrap_or_default()
            .repeat(c.count.unwrap_or(1))
            .into_bytes(),
    );
    bytes.extend(c.tail.clone().unwrap_or_default().into_bytes());
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The command that reads this case; outputs go under `out`.
fn command(c: &Case, input: &Path, work: &Path, out: &Path) -> Command {
    let ex = example();
    let home = work.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let customer_key = ex.join("keys/contoso-security.agekey");
    let signer = ex.join("keys/northwind-signing.pub");
    let mut cmd = support::handover_offline(&home);
    match c.run.as_str() {
        "audit-snapshot" => {
            cmd.args(["audit", "--format", "json", "--snapshot"])
                .arg(input)
                .arg("-o")
                .arg(out.join("inventory.json"));
        }
        "audit-table" => {
            cmd.args(["audit", "--format", "table", "--snapshot"])
                .arg(input);
        }
        "plan-config" => {
            cmd.arg("plan")
                .arg("--inventory")
                .arg(ex.join("inventory.json"))
                .arg("--policy")
                .arg(support::repo().join("policies/full-transfer.yaml"))
                .arg("--config")
                .arg(input)
                .arg("-o")
                .arg(out.join("plan.json"))
                .arg("--markdown")
                .arg(out.join("plan.md"));
        }
        "policy-check" => {
            cmd.args(["policy", "check"]).arg(input);
        }
        "cel-policy" => {
            let cond = String::from_utf8_lossy(&std::fs::read(input).unwrap()).into_owned();
            let p = work.join("policy.yaml");
            let yaml = format!(
                "name: hostile\ndescription: one rule\nrules:\n  - id: r1\n    description: a rule\n    rationale: a reason\n    applies_to: credential\n    action: review\n    condition: {}\n",
                serde_json::to_string(&cond).unwrap()
            );
            std::fs::write(&p, yaml).unwrap();
            cmd.args(["policy", "check"]).arg(p);
        }
        "cel-gcp-binding" => {
            let cond = String::from_utf8_lossy(&std::fs::read(input).unwrap()).into_owned();
            let project = work.join("snapshot/gcp/hostile-project");
            std::fs::create_dir_all(&project).unwrap();
            let iam = serde_json::json!({"version": 3, "etag": "BwX=", "bindings": [
                {"role": "roles/owner", "members": ["user:dev@northwind-agency.example"], "condition": {"title": "t", "expression": cond}},
                {"role": "roles/owner", "members": ["user:admin@contoso.example"]}]});
            std::fs::write(
                project.join("iam-policy.json"),
                serde_json::to_vec_pretty(&iam).unwrap(),
            )
            .unwrap();
            cmd.args(["audit", "--format", "json", "--snapshot"])
                .arg(work.join("snapshot"))
                .arg("-o")
                .arg(out.join("inventory.json"));
        }
        "manifest-recipients" => {
            cmd = manifest_cmd(&home);
            cmd.arg("-R")
                .arg(input)
                .arg("-o")
                .arg(out.join("handover.age"));
        }
        "manifest-identity" => {
            cmd.args(["manifest", "show"])
                .arg(&sealed().0)
                .arg("-i")
                .arg(input)
                .arg("--signer")
                .arg(&signer)
                .arg("--signature")
                .arg(&sealed().1);
        }
        "manifest-signature" => {
            cmd.args(["manifest", "show"])
                .arg(&sealed().0)
                .arg("-i")
                .arg(&customer_key)
                .arg("--signer")
                .arg(&signer)
                .arg("--signature")
                .arg(input);
        }
        "manifest-show" => {
            cmd.args(["manifest", "show"])
                .arg(input)
                .arg("-i")
                .arg(&customer_key)
                .arg("--signer")
                .arg(&signer);
            let sig = PathBuf::from(format!("{}.sig", input.display()));
            if sig.exists() {
                cmd.arg("--signature").arg(sig);
            }
        }
        "manifest-show-unsigned" | "manifest-plaintext" => {
            let file = if c.run == "manifest-plaintext" {
                let recipients =
                    handover::crypto::read_recipients_file(&ex.join("recipients.txt")).unwrap();
                let sealed =
                    handover::crypto::encrypt(&std::fs::read(input).unwrap(), &recipients, false)
                        .unwrap();
                let p = work.join("plaintext-case.age");
                std::fs::write(&p, sealed).unwrap();
                p
            } else {
                input.to_path_buf()
            };
            // Opened unverified on purpose: what it prints is what is tested.
            cmd.args(["manifest", "show", "--no-signature-check"])
                .arg(file)
                .arg("-i")
                .arg(&customer_key);
        }
        "manifest-journal" => {
            // A copy beside a digest key the agency can open, so the journal itself is read.
            let journal = work.join("journal.jsonl");
            std::fs::copy(input, &journal).unwrap();
            let ids =
                handover::crypto::read_identities(&ex.join("keys/northwind-signing")).unwrap();
            let recipients = handover::crypto::read_recipients_file(&signer).unwrap();
            handover::migrate::key::open_or_create(
                &work.join("fresh.jsonl"),
                true,
                &ids,
                &recipients,
            )
            .unwrap();
            std::fs::rename(
                handover::migrate::key::key_path(&work.join("fresh.jsonl")),
                handover::migrate::key::key_path(&journal),
            )
            .unwrap();
            cmd = manifest_cmd(&home);
            cmd.arg("--journal")
                .arg(&journal)
                .arg("-o")
                .arg(out.join("handover.age"));
        }
        "migrate-dotenv" => {
            cmd.arg("migrate")
                .arg("--from")
                .arg(format!("dotenv:{}", input.display()))
                .args([
                    "--to",
                    "gcp:hostile-project",
                    "--all",
                    "--gcp-endpoint",
                    "http://127.0.0.1:9",
                    "--max-attempts",
                    "1",
                    "--format",
                    "json",
                ]);
        }
        other => panic!("cases.toml: unknown run = {other:?}"),
    }
    cmd
}

/// Runs one case; `Err` says every way it failed.
fn check(c: &Case) -> Result<Duration, String> {
    let work = tempfile::Builder::new()
        .prefix("handover-hostile-")
        .tempdir()
        .unwrap();
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let input = materialize(c, work.path());
    let mut cmd = command(c, &input, work.path(), &out);
    let o = run_bounded(&mut cmd, timeout());
    let mut problems = Vec::new();
    if o.timed_out {
        problems.push(format!(
            "still running after {:?} (a hang); killed",
            timeout()
        ));
    }
    match (o.code, o.signal) {
        (Some(101), _) => problems.push("panicked (exit 101)".into()),
        (Some(134), _) => problems.push("aborted (exit 134)".into()),
        (None, Some(s)) if !o.timed_out => {
            problems.push(format!("killed by signal {s} (abort or stack overflow)"))
        }
        _ => {}
    }
    if let (Some(want), Some(got)) = (c.expect, o.code) {
        if want != got && !o.timed_out {
            problems.push(format!("exit {got}, expected {want}"));
        }
    }
    let written = files_in(&out);
    if o.code != Some(0) && !written.is_empty() {
        problems.push(format!("failed but left output files: {written:?}"));
    }
    // What a user or a log sees: stdout, stderr, every plain (not age-encrypted) output.
    let mut seen: Vec<(String, Vec<u8>)> = vec![
        ("stdout".into(), o.stdout.clone()),
        ("stderr".into(), o.stderr.clone()),
    ];
    for f in &written {
        if f.extension().is_some_and(|e| e == "age") {
            continue;
        }
        seen.push((
            f.display().to_string(),
            std::fs::read(f).unwrap_or_default(),
        ));
    }
    if c.secret {
        let windows = secret_windows(&std::fs::read(&input).unwrap());
        for (name, bytes) in &seen {
            if let Some(w) = find_leak(&windows, bytes) {
                problems.push(format!("{name} prints key material from the input ({w:?})"));
            }
        }
    }
    for needle in &c.lacks {
        for (name, bytes) in &seen {
            if bytes
                .windows(needle.len().max(1))
                .any(|w| w == needle.as_bytes())
            {
                problems.push(format!("{name} contains {needle:?}"));
            }
        }
    }
    for needle in &c.has {
        let found = seen.iter().any(|(_, bytes)| {
            bytes
                .windows(needle.len().max(1))
                .any(|w| w == needle.as_bytes())
        });
        if !found {
            problems.push(format!("no output contains {needle:?}"));
        }
    }
    if problems.is_empty() {
        Ok(o.elapsed)
    } else {
        let stderr = String::from_utf8_lossy(&o.stderr);
        let tail: String = stderr
            .chars()
            .rev()
            .take(600)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Err(format!(
            "{} [{}]: {} (after {:.1}s)\n    stderr: {}",
            name_of(c),
            c.run,
            problems.join("; "),
            o.elapsed.as_secs_f64(),
            tail.escape_debug()
        ))
    }
}

fn name_of(c: &Case) -> String {
    c.input
        .clone()
        .or_else(|| c.generate.clone())
        .unwrap_or_default()
}

fn load_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(hostile_dir().join("cases.toml")).unwrap();
    let cases: Cases =
        toml::from_str(&text).unwrap_or_else(|e| panic!("tests/hostile/cases.toml: {e}"));
    cases.case
}

/// Every file and folder of the corpus that a case names exists, and every case file
/// that hostile.rs runs is listed (a corpus file nobody runs is a test that cannot fail).
#[test]
fn every_corpus_case_is_listed_and_present() {
    let cases = load_cases();
    let listed: std::collections::HashSet<String> =
        cases.iter().filter_map(|c| c.input.clone()).collect();
    for c in &cases {
        assert!(
            c.input.is_some() != c.generate.is_some(),
            "{}: give input or generate, not both",
            name_of(c)
        );
        if let Some(i) = &c.input {
            assert!(hostile_dir().join(i).exists(), "{i} is listed but missing");
        }
    }
    // Folders run by hostile.rs; the others (journal_key, inventory_json) seed tests/fuzz.rs only.
    for dir in [
        "recipients",
        "identities",
        "manifest_age",
        "manifest_json",
        "config_toml",
        "policy_yaml",
        "cel_condition",
        "dotenv",
        "journal",
        "signature",
    ] {
        for e in std::fs::read_dir(hostile_dir().join(dir)).unwrap() {
            let name = format!("{dir}/{}", e.unwrap().file_name().to_string_lossy());
            if name.ends_with(".sig") && listed.contains(name.trim_end_matches(".sig")) {
                continue;
            }
            assert!(
                listed.contains(&name),
                "{name} is in the corpus but not in cases.toml"
            );
        }
    }
    for dir in ["gcp_snapshot", "aws_snapshot", "credential_report"] {
        for e in std::fs::read_dir(hostile_dir().join(dir)).unwrap() {
            let name = format!("{dir}/{}", e.unwrap().file_name().to_string_lossy());
            assert!(
                listed.contains(&name),
                "{name} is in the corpus but not in cases.toml"
            );
        }
    }
}

/// The whole corpus through the binary.
#[test]
fn hostile_corpus_neither_panics_hangs_leaks_nor_writes_partial_files() {
    let filter = std::env::var("HANDOVER_HOSTILE_CASE").ok();
    let cases: Vec<Case> = load_cases()
        .into_iter()
        .filter(|c| filter.as_deref().is_none_or(|f| name_of(c).contains(f)))
        .collect();
    assert!(!cases.is_empty(), "no case matches HANDOVER_HOSTILE_CASE");
    let _ = sealed();
    let queue = Arc::new(Mutex::new(cases.clone()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (queue, failures) = (queue.clone(), failures.clone());
            std::thread::spawn(move || loop {
                let Some(c) = queue.lock().unwrap().pop() else {
                    break;
                };
                match check(&c) {
                    Ok(t) => eprintln!("ok   {} ({:.1}s)", name_of(&c), t.as_secs_f64()),
                    Err(e) => {
                        eprintln!("FAIL {e}");
                        failures.lock().unwrap().push(e);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
