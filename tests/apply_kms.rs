//! `handover apply` re-encrypting a secret that is under a KMS key of the agency's under
//! the customer's key the config approves (`[customer] kms_keys`), on moto: the plan
//! moves that secret's review into the establish phase with the key in its target (so
//! the approved digest covers it); apply makes it before any revoke, in one
//! `UpdateSecret` with the new `KmsKeyId` and the current value as a new version; the
//! value appears nowhere but in the secret; a rerun writes nothing; a key changed since
//! the plan is drift; undo sets the agency's key back; the least-privilege policy is
//! enough.
//!
//! AWS behaviour asserted here is AWS's documented one: changing a secret's key keeps
//! existing versions readable with the previous key, and only a new version is under
//! the new key alone
//! (https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_update-encryption-key.html);
//! `UpdateSecret` with `SecretString` creates a new version, moves `AWSCURRENT` to it and
//! `AWSPREVIOUS` to the one before, and an empty `KmsKeyId` means the AWS managed key
//! (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecret.html);
//! `DescribeSecret` returns the `KmsKeyId` as it was given and `VersionIdsToStages`
//! (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html).
//! moto stores `KmsKeyId` as given and encrypts nothing, so which key a version is
//! under is read from the version stages, as apply itself reads it.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::*;

const SECRET: &str = "prod/kms-agency-held";
const CANARY: &str = "CANARY-kms-9d41e7-reencrypt-value";
const AGENCY_KEY: &str =
    "arn:aws:kms:us-east-1:210987654321:key/aaaaaaaa-1111-2222-3333-agencykey0001";
const CUSTOMER_KEY: &str =
    "arn:aws:kms:us-east-1:123456789012:key/cccccccc-4444-5555-6666-customerkey01";

fn sm(moto: &Moto, script: &str) -> String {
    boto3(moto, script)
}

/// The example's config, with the customer's approved key for its account and region
/// (`kms_keys`), or without it.
fn config(home: &Path, approve: bool) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/northwind-to-contoso/handover.toml"))
        .unwrap();
    let mut out = String::new();
    for line in text.lines() {
        // Files of the example's folder are not needed here.
        if line.starts_with("files = ") || line.starts_with("[documentation]") {
            break;
        }
        out.push_str(line);
        out.push('\n');
        if approve && line == "name_patterns = [\"*.customer\"]" {
            out.push_str(&format!(
                "kms_keys = {{ \"123456789012/us-east-1\" = \"{CUSTOMER_KEY}\" }}\n"
            ));
        }
    }
    let p = home.join(if approve {
        "handover-kms.toml"
    } else {
        "handover-plain.toml"
    });
    std::fs::write(&p, out).unwrap();
    p
}

struct Setup {
    home: tempfile::TempDir,
    config: PathBuf,
    plan: PathBuf,
    digest: String,
    step: Value,
}

/// Seeds the example account and one secret under the agency's key, audits it live,
/// plans it (full transfer) with the customer's key approved.
fn setup(moto: &Moto) -> Setup {
    seed(moto);
    sm(
        moto,
        &format!(
            "sm.create_secret(Name={SECRET:?}, SecretString={CANARY:?}, KmsKeyId={AGENCY_KEY:?})"
        ),
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let r = run(handover(moto, h).args([
        "audit",
        "--aws",
        "--region",
        "us-east-1",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inv = h.join("inventory.json");
    std::fs::write(&inv, &r.stdout).unwrap();
    let config = config(h, true);
    let plan = plan(h, &inv, &config, "plan.json");
    let p = json(&std::fs::read_to_string(&plan).unwrap());
    let digest = p["digest"].as_str().unwrap().to_string();
    let step = secret_step(&p);
    Setup {
        home,
        config,
        plan,
        digest,
        step,
    }
}

fn plan(h: &Path, inv: &Path, config: &Path, name: &str) -> PathBuf {
    let plan = h.join(name);
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--inventory")
        .arg(inv)
        .arg("--config")
        .arg(config)
        .arg("-o")
        .arg(&plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    plan
}

fn secret_step(plan: &Value) -> Value {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"]["name"] == SECRET)
        .unwrap_or_else(|| panic!("no step for {SECRET}"))
        .clone()
}

impl Setup {
    fn journal(&self) -> PathBuf {
        self.home.path().join("apply.jsonl")
    }

    fn apply_with(&self, cmd: &mut std::process::Command, journal: &Path, extra: &[&str]) -> Run {
        run(cmd
            .args(["apply", "--format", "json", "--plan"])
            .arg(&self.plan)
            .arg("--config")
            .arg(&self.config)
            .arg("--journal")
            .arg(journal)
            .args(["--apply", "--approve", &self.digest])
            .args(extra))
    }

    fn apply(&self, moto: &Moto, extra: &[&str]) -> Run {
        self.apply_with(
            &mut handover(moto, self.home.path()),
            &self.journal(),
            extra,
        )
    }

    fn step_report(&self, r: &Run) -> Value {
        let report = json(&r.stdout);
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == self.step["id"])
            .unwrap_or_else(|| panic!("{}", r.stdout))
            .clone()
    }
}

/// The secret's key, current value and version stages, as Secrets Manager returns them.
fn live(moto: &Moto) -> Value {
    json(&sm(
        moto,
        &format!(
            "d = sm.describe_secret(SecretId={SECRET:?})\nv = sm.get_secret_value(SecretId={SECRET:?})\nprint(json.dumps({{'key': d.get('KmsKeyId'), 'value': v['SecretString'], 'current': v['VersionId'], 'stages': d['VersionIdsToStages']}}))"
        ),
    ))
}

/// The write actions moto has served since `before`.
fn writes_since(moto: &Moto, before: &Value) -> Vec<String> {
    let after = moto.requests();
    after["by_action"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(a, n)| before["by_action"].get(a.as_str()) != Some(n))
        .map(|(a, _)| a.clone())
        .filter(|a| !["Get", "List", "Describe"].iter().any(|p| a.starts_with(p)))
        .collect()
}

/// Seals the plan's manifest and runs the customer's `verify` on the account: the
/// `re-encrypted` claim of the secret.
fn verify_claim(moto: &Moto, s: &Setup) -> Value {
    let h = s.home.path();
    let sealed = h.join("handover.age");
    let _ = std::fs::remove_file(&sealed);
    let _ = std::fs::remove_file(h.join("handover.age.sig"));
    let r = run(handover_offline(h)
        .arg("manifest")
        .arg("--config")
        .arg(&s.config)
        .arg("--plan")
        .arg(&s.plan)
        .arg("--inventory")
        .arg(h.join("inventory.json"))
        .arg("--sign-key")
        .arg(example_key("northwind-signing"))
        .arg("-o")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(handover(moto, h)
        .args(["verify", "--format", "json", "--signer"])
        .arg(example_key("northwind-signing.pub"))
        .arg("-i")
        .arg(example_key("contoso-security.agekey"))
        .arg(&sealed));
    let v = json(&r.stdout);
    let claims: Vec<&Value> = v["claims"]
        .as_array()
        .unwrap_or_else(|| panic!("{}\n{}", r.stdout, r.stderr))
        .iter()
        .filter(|c| c["kind"] == "re-encrypted")
        .collect();
    assert_eq!(claims.len(), 1, "{}", r.stdout);
    claims[0].clone()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

// Regression: a secret under the agency's KMS key was only ever `review`, so apply left
// it there while revoking the agency's access: once the agency's key went, the value
// was lost. The plan now carries the approved customer key and apply re-encrypts first.
#[test]
fn a_secret_under_the_agencys_key_is_re_encrypted_under_the_customers_before_any_revoke() {
    let moto = moto();
    let s = setup(&moto);
    // The plan: the review is approved by the config's key, made in the establish phase
    // (before every revoke), the key in the target so the digest covers it.
    assert_eq!(s.step["action"], "review", "{}", s.step);
    assert_eq!(s.step["rule"], "agency-kms-key-reencrypt");
    assert_eq!(s.step["phase"], "establish");
    assert_eq!(s.step["target"]["reencrypt"]["to"], CUSTOMER_KEY);
    assert_eq!(s.step["target"]["reencrypt"]["from"], AGENCY_KEY);
    // Without the config's approval it stays a review for a person, in the review phase.
    let plain = plan(
        s.home.path(),
        &s.home.path().join("inventory.json"),
        &config(s.home.path(), false),
        "plain.json",
    );
    let plain = secret_step(&json(&std::fs::read_to_string(plain).unwrap()));
    assert_eq!(plain["phase"], "review");
    assert!(plain["target"].get("reencrypt").is_none(), "{plain}");

    let before = live(&moto);
    assert_eq!(before["key"], AGENCY_KEY);
    // The customer's verify does not pass it while the agency's key guards it.
    let c = verify_claim(&moto, &s);
    assert_ne!(c["status"], "pass", "{c}");
    assert!(c["detail"].as_str().unwrap().contains(AGENCY_KEY), "{c}");
    let r = s.apply(&moto, &[]);
    assert_eq!(r.code, 8, "other steps are left for a person: {}", r.stderr);
    let st = s.step_report(&r);
    assert_eq!(st["outcome"], "done", "{st}");
    assert_eq!(st["change"], "re-encrypt");
    let after = live(&moto);
    assert_eq!(after["key"], CUSTOMER_KEY, "{after}");
    assert_eq!(after["value"], CANARY, "the value is unchanged");
    // A new current version, written under the new key; the one before is previous.
    assert_ne!(after["current"], before["current"]);
    assert_eq!(
        after["stages"][before["current"].as_str().unwrap()],
        serde_json::json!(["AWSPREVIOUS"])
    );

    // verify, reading the account live, passes it now.
    let c = verify_claim(&moto, &s);
    assert_eq!(c["status"], "pass", "{c}");

    // Journal first, and before any revoke: the re-encryption's intent and result come
    // before the first entry of any revoke step.
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let revokes: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["action"] == "revoke")
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    let journal = std::fs::read_to_string(s.journal()).unwrap();
    let lines: Vec<Value> = journal.lines().map(json).collect();
    let id = s.step["id"].as_str().unwrap();
    let mine: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i]["key"] == id)
        .collect();
    assert_eq!(mine.len(), 2, "an intent and a result: {journal}");
    assert_eq!(lines[mine[0]]["phase"], "intent");
    assert_eq!(lines[mine[1]]["phase"], "result");
    let first_revoke = lines
        .iter()
        .position(|l| revokes.contains(&l["key"].as_str().unwrap_or_default()))
        .expect("the full plan revokes something");
    assert!(mine[1] < first_revoke, "{journal}");
    // The journal keeps the previous key for undo, never the value.
    assert!(
        lines[mine[0]].to_string().contains(AGENCY_KEY),
        "{}",
        lines[mine[0]]
    );

    // A rerun changes nothing, with this journal or with a fresh one (read live: the
    // current version is the one this step wrote).
    let before = moto.requests();
    let again = s.apply(&moto, &[]);
    assert_eq!(s.step_report(&again)["outcome"], "already-done");
    let fresh = s.apply_with(
        &mut handover(&moto, s.home.path()),
        &s.home.path().join("fresh.jsonl"),
        &["--only", id],
    );
    let st = s.step_report(&fresh);
    assert_eq!(st["outcome"], "already-done", "{st}");
    assert!(
        !writes_since(&moto, &before).contains(&"UpdateSecret".to_string()),
        "{:?}",
        moto.requests()
    );

    // Undo: the agency's key is set back (the version written under the customer's key
    // stays, and so does the value).
    let u = run(handover(&moto, s.home.path())
        .args(["apply", "--undo", "--format", "json", "--config"])
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal()));
    assert!(
        u.stdout
            .contains("the version written under the customer's key stays"),
        "{}",
        u.stdout
    );
    let undone = live(&moto);
    assert_eq!(undone["key"], AGENCY_KEY, "{undone}");
    assert_eq!(undone["value"], CANARY);
}

// The value read to write it back under the new key must leak nowhere: not in the
// output, the trace log, the journal, nor any file apply writes.
#[test]
fn the_re_encrypted_value_appears_in_no_output_log_journal_or_file() {
    let moto = moto();
    let s = setup(&moto);
    let r = s.apply_with(
        handover(&moto, s.home.path()).env("RUST_LOG", "trace"),
        &s.journal(),
        &["-vvv"],
    );
    assert_eq!(s.step_report(&r)["outcome"], "done", "{}", r.stdout);
    assert!(
        r.stderr.len() > 1000,
        "the trace log is on: {} bytes",
        r.stderr.len()
    );
    // Also no prefix of it (the distinctive part alone).
    for needle in [CANARY, "9d41e7-reencrypt"] {
        assert!(!r.stdout.contains(needle), "stdout holds the value");
        assert!(!r.stderr.contains(needle), "the log holds the value");
        let mut all = Vec::new();
        files(s.home.path(), &mut all);
        for f in all {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(needle),
                "{} holds the value",
                f.display()
            );
        }
    }
    assert_eq!(live(&moto)["value"], CANARY);
    assert_eq!(live(&moto)["key"], CUSTOMER_KEY);
}

// A secret whose key changed since the plan (to a key neither party's plan names) is
// not guessed at: drift, and nothing is written.
#[test]
fn a_key_changed_since_the_plan_is_drift_and_left_alone() {
    let moto = moto();
    let s = setup(&moto);
    let other = "arn:aws:kms:us-east-1:123456789012:key/dddddddd-7777-8888-9999-somebodyelse";
    sm(
        &moto,
        &format!("sm.update_secret(SecretId={SECRET:?}, KmsKeyId={other:?})"),
    );
    let before = live(&moto);
    let r = s.apply(&moto, &["--phase", "establish"]);
    let st = s.step_report(&r);
    assert_eq!(st["outcome"], "drift", "{st}");
    assert_eq!(live(&moto), before);
    // A dry run says the same, and says what it would call otherwise.
    let dry = run(handover(&moto, s.home.path())
        .args([
            "apply",
            "--format",
            "json",
            "--phase",
            "establish",
            "--plan",
        ])
        .arg(&s.plan));
    assert_eq!(s.step_report(&dry)["outcome"], "drift");
}

/// `policies/permissions/aws-apply.json` is enough for the re-encryption under moto's
/// permission checks; without `secretsmanager:UpdateSecret` the step fails (checks on).
#[test]
fn re_encryption_runs_under_the_least_privilege_policy() {
    let moto = moto();
    let s = setup(&moto);
    let policy =
        std::fs::read_to_string(repo().join("policies/permissions/aws-apply.json")).unwrap();
    let mut fewer: Value = serde_json::from_str(&policy).unwrap();
    for st in fewer["Statement"].as_array_mut().unwrap() {
        if let Some(a) = st["Action"].as_array_mut() {
            a.retain(|a| a != "secretsmanager:UpdateSecret");
        }
    }
    let make = |name: &str, doc: &str| -> (String, String) {
        let out = boto3(
            &moto,
            &format!(
                "iam = boto3.client('iam', region_name='us-east-1', endpoint_url=sm.meta.endpoint_url, aws_access_key_id='testing', aws_secret_access_key='testing')\niam.create_user(UserName={name:?})\niam.put_user_policy(UserName={name:?}, PolicyName='apply', PolicyDocument={doc:?})\nk = iam.create_access_key(UserName={name:?})['AccessKey']\nprint(k['AccessKeyId'], k['SecretAccessKey'])"
            ),
        );
        let mut p = out.split_whitespace();
        (p.next().unwrap().into(), p.next().unwrap().into())
    };
    let (k1, s1) = make("handover-short", &fewer.to_string());
    let (k2, s2) = make("handover-applier", &policy);
    moto.enforce_permissions();
    let as_user = |k: &str, sec: &str, journal: &str| {
        s.apply_with(
            handover(&moto, s.home.path())
                .env("AWS_ACCESS_KEY_ID", k)
                .env("AWS_SECRET_ACCESS_KEY", sec),
            &s.home.path().join(journal),
            &["--phase", "establish"],
        )
    };
    let r = as_user(&k1, &s1, "short.jsonl");
    let st = s.step_report(&r);
    assert_eq!(st["outcome"], "failed", "{st}");
    assert!(
        st["detail"].as_str().unwrap().contains("UpdateSecret"),
        "{st}"
    );
    let r = as_user(&k2, &s2, "full.jsonl");
    let st = s.step_report(&r);
    assert_eq!(st["outcome"], "done", "{st}");
    moto.post("/moto-api/reset-auth", "inf", "text/plain");
    assert_eq!(live(&moto)["key"], CUSTOMER_KEY);
}
