//! `handover apply --finish` and `--delete-now` resumes, through the real binary, on moto
//! and the GCP test server: a key apply deactivated is deleted only once the config's
//! `grace_days` have passed since the journaled deactivation (before, it is `waiting` and
//! nothing is written), each deletion journaled first; without `grace_days` `--finish` is
//! refused with a hint; a key re-enabled by hand since is drift and stays; a
//! `--delete-now` run stopped between deactivating and deleting is journaled as what it
//! made. No test sleeps: the grace period is 0 (due now) or 30 days (not due).
//!
//! AWS behaviour asserted here is AWS's documented one: `UpdateAccessKey` with
//! `Status=Inactive` disables a key without deleting it
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html), and
//! `DeleteAccessKey` deletes it for good
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteAccessKey.html). GCP: a
//! disabled key stays listed with `disabled: true`
//! (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts.keys/disable)
//! and a deleted key's `get` answers 404
//! (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts.keys/delete).

mod support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support::*;

const GCP_PROJECT: &str = "contoso-shop-prod";

fn iam(moto: &Moto, script: &str) -> String {
    boto3(moto, &format!("iam = boto3.client('iam', region_name='us-east-1', endpoint_url=sm.meta.endpoint_url, aws_access_key_id='testing', aws_secret_access_key='testing')\n{script}"))
}

/// The handover config, with `extra` lines at the top level (`grace_days = N`).
fn write_config(home: &Path, extra: &str) -> PathBuf {
    let signer = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
    let p = home.join("handover.toml");
    std::fs::write(
        &p,
        format!(
            r#"scenario = "full-transfer"
handover_date = "2026-11-01"
{extra}

[agency]
name = "Northwind"
email_domains = ["northwind-agency.example"]
name_patterns = ["*.agency"]
aws_accounts = ["210987654321"]
signing_key = "{}"

[customer]
name = "Contoso"
email_domains = ["contoso.example"]
aws_accounts = ["123456789012", "444455556666"]
gcp_projects = ["{GCP_PROJECT}"]
name_patterns = ["*.customer"]

[recipients]
keys = ["age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3"]
"#,
            signer.trim()
        ),
    )
    .unwrap();
    p
}

struct Setup {
    home: tempfile::TempDir,
    seeded: Value,
    plan: PathBuf,
    config: PathBuf,
    digest: String,
    /// The GCP test server's URL, for a GCP setup.
    gcp: Option<String>,
}

/// Plans `inventory` (audited into `home`) under full transfer.
fn plan(home: tempfile::TempDir, seeded: Value, gcp: Option<String>) -> Setup {
    let h = home.path();
    let config = write_config(h, "grace_days = 30");
    let plan = h.join("plan.json");
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--inventory")
        .arg(h.join("inventory.json"))
        .arg("--config")
        .arg(&config)
        .arg("-o")
        .arg(&plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let digest = json(&std::fs::read_to_string(&plan).unwrap())["digest"]
        .as_str()
        .unwrap()
        .to_string();
    Setup {
        home,
        seeded,
        plan,
        config,
        digest,
        gcp,
    }
}

/// The seeded AWS account, audited live and planned.
fn setup_aws(moto: &Moto) -> Setup {
    setup_aws_with(moto, "")
}

/// The same, with `script` (boto3, `iam` bound) run on the account before the audit.
fn setup_aws_with(moto: &Moto, script: &str) -> Setup {
    let seeded = seed(moto);
    if !script.is_empty() {
        iam(moto, script);
    }
    let home = tempfile::tempdir().unwrap();
    let r = run(handover(moto, home.path())
        .args([
            "audit",
            "--aws",
            "--region",
            "us-east-1",
            "--format",
            "json",
            "-o",
        ])
        .arg(home.path().join("inventory.json")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    plan(home, seeded, None)
}

/// The seeded GCP project, audited and planned.
fn setup_gcp(url: &str) -> Setup {
    let seeded = seed_gcp(url);
    let home = tempfile::tempdir().unwrap();
    let r = run(handover_offline(home.path())
        .args(["audit", "--gcp-project", GCP_PROJECT, "--gcp-endpoint", url])
        .args(["--format", "json", "-o"])
        .arg(home.path().join("inventory.json")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    plan(home, seeded, Some(url.to_string()))
}

impl Setup {
    fn apply(&self, moto: Option<&Moto>, extra: &[&str]) -> Run {
        let mut cmd = match moto {
            Some(m) => handover(m, self.home.path()),
            None => handover_offline(self.home.path()),
        };
        cmd.args(["apply", "--format", "json", "--plan"])
            .arg(&self.plan)
            .arg("--config")
            .arg(&self.config)
            .arg("--journal")
            .arg(self.journal());
        if let Some(url) = &self.gcp {
            cmd.args(["--gcp-endpoint", url]);
        }
        run(cmd.args(extra))
    }

    fn approved<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["--apply", "--approve", self.digest.as_str()];
        args.extend_from_slice(extra);
        args
    }

    fn journal(&self) -> PathBuf {
        self.home.path().join("apply.jsonl")
    }

    fn grace(&self, extra: &str) {
        write_config(self.home.path(), extra);
    }

    /// The plan's step whose target is the credential `name`.
    fn step_id(&self, name: &str) -> String {
        let plan = json(&std::fs::read_to_string(&self.plan).unwrap());
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|st| st["target"]["name"] == name)
            .unwrap_or_else(|| panic!("no step for {name}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The journal's entries, parsed.
    fn entries(&self) -> Vec<Value> {
        std::fs::read_to_string(self.journal())
            .unwrap()
            .lines()
            .map(json)
            .collect()
    }
}

fn the_step<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {report}"))
}

fn key_status(moto: &Moto, user: &str, key: &str) -> String {
    iam(
        moto,
        &format!("print(next((k['Status'] for k in iam.list_access_keys(UserName={user:?})['AccessKeyMetadata'] if k['AccessKeyId'] == {key:?}), 'gone'))"),
    )
    .trim()
    .to_string()
}

/// The write actions (anything not a read) moto has served since `before`.
fn writes_since(moto: &Moto, before: &Value) -> Vec<String> {
    let after = moto.requests();
    after["by_action"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(a, n)| before["by_action"].get(a.as_str()) != Some(n))
        .map(|(a, _)| a.clone())
        // Secrets Manager's actions are logged as `secretsmanager.ACTION`.
        .map(|a| a.trim_start_matches("secretsmanager.").to_string())
        .filter(|a| {
            !["Get", "List", "Describe", "Generate"]
                .iter()
                .any(|p| a.starts_with(p))
        })
        .collect()
}

#[test]
fn finish_is_refused_without_grace_days_with_a_hint_and_changes_nothing() {
    let moto = moto();
    let s = setup_aws(&moto);
    let key = s.seeded["alice"]["old_key"].as_str().unwrap();
    let id = s.step_id(key);
    let r = s.apply(Some(&moto), &s.approved(&["--only", &id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    s.grace("");
    let before = moto.requests();
    let r = s.apply(Some(&moto), &s.approved(&["--finish"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("grace_days is not set"), "{}", r.stderr);
    assert!(r.stderr.contains("--delete-now"), "{}", r.stderr);
    assert_eq!(moto.requests()["by_action"], before["by_action"]);
    assert_eq!(key_status(&moto, "alice.agency", key), "Inactive");
    // Bad flag combinations are usage errors.
    s.grace("grace_days = 0");
    for bad in [
        s.approved(&["--finish", "--delete-now"]),
        vec!["--finish", "--undo"],
    ] {
        let r = s.apply(Some(&moto), &bad);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
    }
}

/// The grace period: 30 days after the deactivation the key waits (no write); with 0
/// days the dry run says what it would delete, the applied run deletes it (intent
/// journaled before the call), a rerun is already done, and undo says it cannot be
/// restored.
#[test]
fn finish_deletes_a_deactivated_key_once_grace_days_have_passed_and_journals_it() {
    let moto = moto();
    let s = setup_aws(&moto);
    let key = s.seeded["alice"]["old_key"].as_str().unwrap();
    let id = s.step_id(key);
    let r = s.apply(Some(&moto), &s.approved(&["--only", &id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(key_status(&moto, "alice.agency", key), "Inactive");

    let before = moto.requests();
    let r = s.apply(Some(&moto), &s.approved(&["--finish"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let st = the_step(&json(&r.stdout), &id).clone();
    assert_eq!(st["outcome"], "waiting", "{st}");
    assert!(st["detail"]
        .as_str()
        .unwrap()
        .contains("may be finished from"));
    assert!(writes_since(&moto, &before).is_empty());
    assert_eq!(key_status(&moto, "alice.agency", key), "Inactive");

    s.grace("grace_days = 0");
    let r = s.apply(Some(&moto), &["--finish"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let st = the_step(&json(&r.stdout), &id).clone();
    assert_eq!(st["outcome"], "would-change", "{st}");
    assert_eq!(st["calls"], json!(["iam:DeleteAccessKey"]));
    assert!(writes_since(&moto, &before).is_empty());

    let entries = s.entries().len();
    let r = s.apply(Some(&moto), &s.approved(&["--finish"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &id)["outcome"], "done");
    assert_eq!(writes_since(&moto, &before), vec!["DeleteAccessKey"]);
    assert_eq!(key_status(&moto, "alice.agency", key), "gone");
    let journal = s.entries();
    assert_eq!(journal.len(), entries + 2);
    let (intent, result) = (&journal[entries], &journal[entries + 1]);
    assert_eq!(intent["key"], id);
    assert_eq!(intent["phase"], "intent");
    assert_eq!(intent["data"]["change"], "delete");
    assert_eq!(result["phase"], "result");
    assert_eq!(result["data"]["outcome"], "done");
    assert_eq!(result["data"]["undo"]["kind"], "irreversible");

    let before = moto.requests();
    let r = s.apply(Some(&moto), &s.approved(&["--finish"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &id)["outcome"], "already-done");
    assert!(writes_since(&moto, &before).is_empty());
    let r = run(handover(&moto, s.home.path())
        .args(["apply", "--undo", "--format", "json", "--config"])
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal()));
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(r.stdout.contains("cannot be restored"), "{}", r.stdout);
}

#[test]
fn a_key_re_enabled_by_hand_since_its_deactivation_is_drift_and_not_deleted() {
    let moto = moto();
    let s = setup_aws(&moto);
    let key = s.seeded["alice"]["old_key"].as_str().unwrap();
    let id = s.step_id(key);
    let r = s.apply(Some(&moto), &s.approved(&["--only", &id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    iam(
        &moto,
        &format!(
            "iam.update_access_key(UserName='alice.agency', AccessKeyId={key:?}, Status='Active')"
        ),
    );
    s.grace("grace_days = 0");
    let before = moto.requests();
    let r = s.apply(Some(&moto), &s.approved(&["--finish"]));
    assert_eq!(r.code, 8, "{}", r.stderr);
    let st = the_step(&json(&r.stdout), &id).clone();
    assert_eq!(st["outcome"], "drift", "{st}");
    assert!(st["detail"].as_str().unwrap().contains("active again"));
    assert!(writes_since(&moto, &before).is_empty());
    assert_eq!(key_status(&moto, "alice.agency", key), "Active");
}

/// Journals, as a stopped run would have left it, an intent with no result.
fn journal_intent(s: &Setup, id: &str, target_name: &str, change: &str, calls: &[&str]) {
    use handover::journal::{
        ApplyChange, ApplyIntent, ApplyTarget, ChainKey, Change, Journal, Op, Undo,
    };
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let st = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["target"]["name"] == target_name)
        .unwrap()
        .clone();
    let ids = handover::crypto::read_identities(&example_key("northwind-signing")).unwrap();
    let digest_key = handover::migrate::key::open(&s.journal(), &ids).unwrap();
    let (mut journal, _) = Journal::open(&s.journal(), &ChainKey::derive(&digest_key)).unwrap();
    let change: ApplyChange = serde_json::from_value(json!(change)).unwrap();
    journal
        .append(
            id,
            Change::ApplyIntent(
                Op::ApplyStep,
                ApplyIntent {
                    about: ApplyTarget {
                        plan: s.digest.clone(),
                        target: st["target"]["id"].as_str().unwrap().into(),
                        provider: serde_json::from_value(st["target"]["provider"].clone()).unwrap(),
                        scope: st["target"]["scope"].as_str().unwrap().into(),
                        change,
                        calls: calls.iter().map(|c| c.to_string()).collect(),
                    },
                    undo: Undo::Irreversible {
                        why: "a deleted credential cannot be restored".into(),
                    },
                },
            ),
        )
        .unwrap();
}

// Regression: a --delete-now run killed between deactivating and deleting a key, resumed
// without --delete-now, journaled a done deletion though the key was only inactive; and
// resumed with --delete-now after the deletion landed, it was drift with the intent
// never settled.
#[test]
fn a_delete_now_run_stopped_midway_is_journaled_as_what_it_made() {
    let moto = moto();
    let s = setup_aws(&moto);
    let old = s.seeded["alice"]["old_key"].as_str().unwrap();
    let recent = s.seeded["alice"]["recent_key"].as_str().unwrap();
    let (old_id, recent_id) = (s.step_id(old), s.step_id(recent));
    // A first run creates the journal; the other step is killed after its first call.
    let r = s.apply(Some(&moto), &s.approved(&["--only", &old_id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let calls = ["iam:UpdateAccessKey", "iam:DeleteAccessKey"];
    journal_intent(&s, &recent_id, recent, "delete", &calls);
    iam(&moto, &format!("iam.update_access_key(UserName='alice.agency', AccessKeyId={recent:?}, Status='Inactive')"));
    let before = moto.requests();
    let r = s.apply(Some(&moto), &s.approved(&["--only", &recent_id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        the_step(&json(&r.stdout), &recent_id)["outcome"],
        "already-done"
    );
    assert!(writes_since(&moto, &before).is_empty());
    assert_eq!(key_status(&moto, "alice.agency", recent), "Inactive");
    let last = s.entries().pop().unwrap();
    assert_eq!(last["key"], json!(recent_id));
    assert_eq!(last["data"]["outcome"], "done");
    assert_eq!(last["data"]["change"], "deactivate", "{last}");
    assert_eq!(last["data"]["calls"], json!(["iam:UpdateAccessKey"]));
    assert_eq!(last["data"]["undo"]["kind"], "status");
    // So --finish deletes it once the grace period has passed.
    s.grace("grace_days = 0");
    let r = s.apply(
        Some(&moto),
        &s.approved(&["--finish", "--only", &recent_id]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &recent_id)["outcome"], "done");
    assert_eq!(key_status(&moto, "alice.agency", recent), "gone");

    // Stopped after the deletion landed: resumed with --delete-now, settled as done.
    journal_intent(&s, &old_id, old, "delete", &["iam:DeleteAccessKey"]);
    iam(
        &moto,
        &format!("iam.delete_access_key(UserName='alice.agency', AccessKeyId={old:?})"),
    );
    let r = s.apply(
        Some(&moto),
        &s.approved(&["--delete-now", "--only", &old_id]),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        the_step(&json(&r.stdout), &old_id)["outcome"],
        "already-done"
    );
    let last = s.entries().pop().unwrap();
    assert_eq!(last["key"], json!(old_id));
    assert_eq!(last["data"]["change"], "delete");
    assert_eq!(last["data"]["outcome"], "done");
}

/// GCP: a service-account key apply disabled waits out the grace period, then is
/// deleted by --finish (disable, then `DELETE`), journaled.
#[test]
fn finish_deletes_a_disabled_service_account_key_on_gcp() {
    let server = gcp_server();
    let url = server.url();
    let s = setup_gcp(&url);
    let name = s.seeded["keys"]["deployer_old"].as_str().unwrap();
    let key_id = name.rsplit('/').next().unwrap();
    let id = s.step_id(key_id);
    let r = s.apply(None, &s.approved(&["--only", &id]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let state = || {
        let (status, body) = http_get(&url, &format!("/v1/{name}"));
        if status.contains(" 404") {
            return "gone".to_string();
        }
        assert!(status.contains(" 200"), "{status}: {body}");
        json(&body)["disabled"].to_string()
    };
    assert_eq!(state(), "true");
    let r = s.apply(None, &s.approved(&["--finish"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &id)["outcome"], "waiting");
    assert_eq!(state(), "true");
    s.grace("grace_days = 0");
    let r = s.apply(None, &s.approved(&["--finish"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let st = the_step(&json(&r.stdout), &id).clone();
    assert_eq!(st["outcome"], "done", "{st}");
    assert_eq!(st["calls"], json!(["iam.serviceAccountKeys.delete"]));
    assert_eq!(state(), "gone");
    let last = s.entries().pop().unwrap();
    assert_eq!(last["key"], json!(id));
    assert_eq!(last["data"]["change"], "delete");
}

/// The access key ids of `user`.
fn keys_of(moto: &Moto, user: &str) -> Vec<String> {
    let out = iam(
        moto,
        &format!("print(json.dumps([k['AccessKeyId'] for k in iam.list_access_keys(UserName={user:?})['AccessKeyMetadata']]))"),
    );
    serde_json::from_str(out.trim()).unwrap()
}

/// A customer user with one key (rotated: the agency was admin in the account) and one
/// with two keys (at AWS's limit).
const CUSTOMER_KEYS: &str = "iam.create_user(UserName='app.customer')
k = iam.create_access_key(UserName='app.customer')['AccessKey']['AccessKeyId']
iam.create_user(UserName='full.customer')
a = iam.create_access_key(UserName='full.customer')['AccessKey']['AccessKeyId']
b = iam.create_access_key(UserName='full.customer')['AccessKey']['AccessKeyId']
print(json.dumps({'app': k, 'full': [a, b]}))";

/// Decrypts an age file with the example customer's identity (the reference CLI).
fn decrypt(file: &Path) -> Value {
    let out = age_cli()
        .arg("-d")
        .arg("-i")
        .arg(example_key("contoso-security.agekey"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every file under `dir` but `except`, as text (lossy).
fn other_files(dir: &Path, except: &Path) -> Vec<(PathBuf, String)> {
    walk(dir)
        .into_iter()
        .filter(|p| p != except)
        .map(|p| {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
            (p, text)
        })
        .collect()
}

/// Rotate of an access key the customer keeps: a new key is created, sealed only into
/// the age file (0600), journaled by id; the secret appears in no output, trace log,
/// journal or other file, and works (GetCallerIdentity with it names the user). A rerun
/// creates nothing; the old key stays active until `--finish` deactivates it, and the
/// `--finish` after that deletes it. A user already at two keys is left for a person.
#[test]
fn rotate_seals_a_new_access_key_for_the_customer_and_its_secret_appears_nowhere_else() {
    let moto = moto();
    let s = setup_aws_with(&moto, CUSTOMER_KEYS);
    let old = keys_of(&moto, "app.customer").pop().unwrap();
    let id = s.step_id(&old);
    let full = keys_of(&moto, "full.customer");
    let full_id = s.step_id(&full[0]);
    let out_dir = s.home.path().join("sealed");
    let before = moto.requests();
    let mut cmd = handover(&moto, s.home.path());
    cmd.env("RUST_LOG", "trace")
        .args(["apply", "--format", "json", "--plan"])
        .arg(&s.plan)
        .arg("--config")
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal())
        .arg("--credentials-out")
        .arg(&out_dir)
        .args(s.approved(&["--only", &id, "--only", &full_id]));
    let r = run(&mut cmd);
    assert_eq!(r.code, 8, "{}\n{}", r.stdout, r.stderr);
    let report = json(&r.stdout);
    let st = the_step(&report, &id);
    assert_eq!(st["action"], "rotate");
    assert_eq!(st["outcome"], "done", "{st}");
    assert_eq!(st["calls"], json!(["iam:CreateAccessKey"]));
    let at_limit = the_step(&report, &full_id);
    assert_eq!(at_limit["outcome"], "left-for-a-person", "{at_limit}");
    assert!(at_limit["detail"]
        .as_str()
        .unwrap()
        .contains("the most AWS allows"));
    assert_eq!(writes_since(&moto, &before), vec!["CreateAccessKey"]);
    let now = keys_of(&moto, "app.customer");
    assert_eq!(now.len(), 2);
    let new = now.iter().find(|k| **k != old).unwrap().clone();
    assert_eq!(key_status(&moto, "app.customer", &old), "Active");

    let file = out_dir.join(format!("{id}.age"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let sealed = decrypt(&file);
    assert_eq!(sealed["key_id"], json!(new));
    assert_eq!(sealed["replaces"], json!(old));
    assert_eq!(sealed["owner"], "app.customer");
    let secret = sealed["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 20);
    // The canary: the secret (or its first 12 characters) nowhere but the age file.
    let journal = std::fs::read_to_string(s.journal()).unwrap();
    assert!(journal.contains(&new), "the journal names the new key");
    let mut texts = vec![
        ("stdout".into(), r.stdout.clone()),
        ("stderr (RUST_LOG=trace)".into(), r.stderr.clone()),
    ];
    texts.extend(
        other_files(s.home.path(), &file)
            .into_iter()
            .map(|(p, t)| (p.display().to_string(), t)),
    );
    for (name, text) in &texts {
        assert!(
            !text.contains(&secret[..12]),
            "the new secret leaked into {name}"
        );
    }
    assert!(r.stderr.contains("CreateAccessKey"), "the trace log was on");
    // The sealed key works: STS names its user.
    let who = boto3(
        &moto,
        &format!("sts = boto3.client('sts', region_name='us-east-1', endpoint_url=sm.meta.endpoint_url, aws_access_key_id={new:?}, aws_secret_access_key={secret:?})\nprint(sts.get_caller_identity()['Arn'])"),
    );
    assert!(who.trim().ends_with(":user/app.customer"), "{who}");

    // A rerun creates nothing.
    let before = moto.requests();
    let r = s.apply(Some(&moto), &s.approved(&["--only", &id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &id)["outcome"], "already-done");
    assert!(writes_since(&moto, &before).is_empty());
    // --finish: waiting under 30 days; with 0, the old key is deactivated, then deleted.
    let r = s.apply(Some(&moto), &s.approved(&["--finish", "--only", &id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &id)["outcome"], "waiting");
    s.grace("grace_days = 0");
    let r = s.apply(Some(&moto), &s.approved(&["--finish", "--only", &id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &id)["change"], "deactivate");
    assert_eq!(key_status(&moto, "app.customer", &old), "Inactive");
    let r = s.apply(Some(&moto), &s.approved(&["--finish", "--only", &id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &id)["change"], "delete");
    assert_eq!(keys_of(&moto, "app.customer"), vec![new.clone()]);
    assert_eq!(key_status(&moto, "app.customer", &new), "Active");
}

/// Killed between the create call and its journaled result: the key made then is an
/// orphan whose secret nobody holds. The rerun finds it (not among the intent's keys
/// before), deletes it and creates a replacement again; without that the user would be
/// at AWS's two-key limit and the rotate stuck.
#[test]
fn a_key_created_but_never_journaled_is_deleted_and_made_again() {
    use handover::journal::{
        ApplyChange, ApplyIntent, ApplyTarget, ChainKey, Change, Journal, Op, Undo,
    };
    let moto = moto();
    let s = setup_aws_with(&moto, CUSTOMER_KEYS);
    let old = keys_of(&moto, "app.customer").pop().unwrap();
    let id = s.step_id(&old);
    // A first run of another step creates the journal and its key.
    let alice = s.step_id(s.seeded["alice"]["old_key"].as_str().unwrap());
    let r = s.apply(Some(&moto), &s.approved(&["--only", &alice]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let target = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["id"] == json!(id))
        .unwrap()["target"]
        .clone();
    let ids = handover::crypto::read_identities(&example_key("northwind-signing")).unwrap();
    let digest_key = handover::migrate::key::open(&s.journal(), &ids).unwrap();
    let (mut journal, _) = Journal::open(&s.journal(), &ChainKey::derive(&digest_key)).unwrap();
    journal
        .append(
            &id,
            Change::ApplyIntent(
                Op::ApplyStep,
                ApplyIntent {
                    about: ApplyTarget {
                        plan: s.digest.clone(),
                        target: target["id"].as_str().unwrap().into(),
                        provider: handover::model::Provider::Aws,
                        scope: target["scope"].as_str().unwrap().into(),
                        change: ApplyChange::Rotate,
                        calls: vec!["iam:CreateAccessKey".into()],
                    },
                    undo: Undo::ReplacementKey {
                        owner: "app.customer".into(),
                        old_id: old.clone(),
                        before: vec![old.clone()],
                        created: None,
                    },
                },
            ),
        )
        .unwrap();
    drop(journal);
    // The key the killed run made; its secret went nowhere.
    let orphan = iam(
        &moto,
        "print(iam.create_access_key(UserName='app.customer')['AccessKey']['AccessKeyId'])",
    )
    .trim()
    .to_string();
    let r = s.apply(Some(&moto), &s.approved(&["--only", &id]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &id)["outcome"], "done");
    let now = keys_of(&moto, "app.customer");
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(!now.contains(&orphan), "the orphan is deleted");
    let new = now.iter().find(|k| **k != old).unwrap();
    let file = s
        .journal()
        .with_extension("jsonl.credentials")
        .join(format!("{id}.age"));
    assert_eq!(decrypt(&file)["key_id"], json!(new));
    // The stopped intent is closed as not carried out, then the rotate journaled whole.
    let entries: Vec<Value> = s
        .entries()
        .into_iter()
        .filter(|e| e["key"] == json!(id))
        .collect();
    let phases: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["phase"].as_str().unwrap(),
                e["data"]["outcome"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            ("intent", "-"),
            ("result", "failed"),
            ("intent", "-"),
            ("result", "done")
        ]
    );
    assert!(entries[1]["data"]["detail"]
        .as_str()
        .unwrap()
        .contains(&orphan));
    assert_eq!(entries[3]["data"]["undo"]["created"], json!(new));
}

/// GCP: rotate of a service-account key the customer keeps: a new key, its key file
/// sealed only into the age file (it decrypts to Google's key file naming the key), the
/// old key untouched, the private key in no output or other file.
#[test]
fn rotate_seals_a_new_service_account_key_on_gcp() {
    let server = gcp_server();
    let url = server.url();
    let s = setup_gcp(&url);
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let st = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["action"] == "rotate" && st["target"]["what"] == "gcp-service-account-key")
        .unwrap_or_else(|| panic!("no key rotate in {plan}"))
        .clone();
    let id = st["id"].as_str().unwrap().to_string();
    let old = st["target"]["name"].as_str().unwrap().to_string();
    let mut cmd = handover_offline(s.home.path());
    cmd.env("RUST_LOG", "trace")
        .args([
            "apply",
            "--format",
            "json",
            "--gcp-endpoint",
            &url,
            "--plan",
        ])
        .arg(&s.plan)
        .arg("--config")
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal())
        .args(s.approved(&["--only", &id]));
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let rep = json(&r.stdout);
    let done = the_step(&rep, &id);
    assert_eq!(done["outcome"], "done", "{done}");
    assert_eq!(done["calls"], json!(["iam.serviceAccountKeys.create"]));
    let file = s
        .journal()
        .with_extension("jsonl.credentials")
        .join(format!("{id}.age"));
    let sealed = decrypt(&file);
    let new = sealed["key_id"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(sealed["replaces"], json!(old));
    let secret = sealed["secret"].as_str().unwrap().to_string();
    assert!(secret.len() > 40);
    // The private half: the key file's private_key, else the whole text.
    let canary = serde_json::from_str::<Value>(&secret)
        .ok()
        .and_then(|k| k["private_key"].as_str().map(str::to_string))
        .unwrap_or(secret.clone());
    let canary = canary
        .lines()
        .find(|l| l.len() > 40 && !l.starts_with("-----"))
        .unwrap_or(&canary)
        .to_string();
    let mut texts = vec![
        ("stdout".to_string(), r.stdout.clone()),
        ("stderr".into(), r.stderr.clone()),
    ];
    texts.extend(
        other_files(s.home.path(), &file)
            .into_iter()
            .map(|(p, t)| (p.display().to_string(), t)),
    );
    for (name, text) in &texts {
        assert!(
            !text.contains(&canary[..24]),
            "the new private key leaked into {name}"
        );
    }
    let journal = std::fs::read_to_string(s.journal()).unwrap();
    assert!(journal.contains(&new));
    // A rerun creates nothing.
    let r = s.apply(None, &s.approved(&["--only", &id]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &id)["outcome"], "already-done");

    // The manifest carries the sealed file as it is; `show` with the customer's
    // identity names the key inside, never its secret (not even with --reveal, which
    // shows the still-sealed file).
    let h = s.home.path();
    let m = h.join("handover.age");
    let r = run(handover_offline(h)
        .args(["manifest", "--config"])
        .arg(&s.config)
        .arg("--plan")
        .arg(&s.plan)
        .arg("--inventory")
        .arg(h.join("inventory.json"))
        .arg("--sign-key")
        .arg(example_key("northwind-signing"))
        .arg("--credentials")
        .arg(file.parent().unwrap())
        .arg("-o")
        .arg(&m));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for extra in [&[][..], &["--reveal"][..]] {
        let r = run(handover_offline(h)
            .args(["manifest", "show", "--config"])
            .arg(&s.config)
            .arg("-i")
            .arg(example_key("contoso-security.agekey"))
            .args(extra)
            .arg(&m));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let line = format!("rotated-key-{id}: key {new} of ");
        assert!(r.stdout.contains(&line), "{}", r.stdout);
        assert!(
            r.stdout.contains(&format!("replaces {old}")),
            "{}",
            r.stdout
        );
        assert!(
            !r.stdout.contains(&canary[..24]),
            "the private key was shown"
        );
    }
}

/// A user holding `policy` (IAM JSON) and its access key, made with boto3.
fn user_with_policy(moto: &Moto, name: &str, policy: &str) -> (String, String) {
    let out = iam(
        moto,
        &format!(
            "iam.create_user(UserName={name:?})\niam.put_user_policy(UserName={name:?}, PolicyName='handover-apply', PolicyDocument={policy:?})\nk = iam.create_access_key(UserName={name:?})['AccessKey']\nprint(k['AccessKeyId'], k['SecretAccessKey'])"
        ),
    );
    let mut parts = out.split_whitespace();
    (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    )
}

/// `policies/permissions/aws-apply.json` is enough to rotate a key and a secret, and its
/// `iam:CreateAccessKey` and `secretsmanager:RotateSecret` are needed: under moto's
/// permission checks, a user without them fails both steps as access denied, a user
/// with the policy carries both out.
#[test]
fn rotate_runs_under_the_least_privilege_policy_and_needs_create_access_key() {
    let moto = moto();
    let s = setup_aws_with(&moto, CUSTOMER_KEYS);
    let old = keys_of(&moto, "app.customer").pop().unwrap();
    let id = s.step_id(&old);
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let secret_step = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["action"] == "rotate" && st["target"]["what"] == "secret")
        .unwrap()
        .clone();
    let arn = secret_step["target"]["id"].as_str().unwrap();
    sm(
        &moto,
        &format!(
            "sm.rotate_secret(SecretId={arn:?}, RotationRules={{'AutomaticallyAfterDays': 30}})"
        ),
    );
    let secret_id = secret_step["id"].as_str().unwrap().to_string();
    let policy =
        std::fs::read_to_string(repo().join("policies/permissions/aws-apply.json")).unwrap();
    let mut fewer: Value = serde_json::from_str(&policy).unwrap();
    for st in fewer["Statement"].as_array_mut().unwrap() {
        if let Some(a) = st["Action"].as_array_mut() {
            a.retain(|a| a != "iam:CreateAccessKey" && a != "secretsmanager:RotateSecret");
        }
    }
    // A statement left with no action is refused by IAM: drop it.
    fewer["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|st| st["Action"].as_array().is_none_or(|a| !a.is_empty()));
    assert!(!fewer.to_string().contains("CreateAccessKey"));
    assert!(!fewer.to_string().contains("RotateSecret"));
    let (key, secret) = user_with_policy(&moto, "handover-applier", &policy);
    let (key2, secret2) = user_with_policy(&moto, "handover-short", &fewer.to_string());
    moto.enforce_permissions();
    let as_user = |k: &str, sec: &str| {
        run(handover(&moto, s.home.path())
            .env("AWS_ACCESS_KEY_ID", k)
            .env("AWS_SECRET_ACCESS_KEY", sec)
            .args(["apply", "--format", "json", "--plan"])
            .arg(&s.plan)
            .arg("--config")
            .arg(&s.config)
            .arg("--journal")
            .arg(s.home.path().join(format!("{k}.jsonl")))
            .args(s.approved(&["--only", &id, "--only", &secret_id])))
    };
    let r = as_user(&key2, &secret2);
    assert_eq!(r.code, 8, "{}", r.stderr);
    for step_id in [&id, &secret_id] {
        let st = the_step(&json(&r.stdout), step_id).clone();
        assert_eq!(st["outcome"], "failed", "{st}");
        let detail = st["detail"].as_str().unwrap();
        assert!(
            detail.contains("AccessDenied") || detail.contains("403"),
            "{st}"
        );
    }
    let r = as_user(&key, &secret);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(the_step(&json(&r.stdout), &id)["outcome"], "done");
    assert_eq!(the_step(&json(&r.stdout), &secret_id)["outcome"], "done");
    moto.post("/moto-api/reset-auth", "inf", "text/plain");
    assert_eq!(keys_of(&moto, "app.customer").len(), 2);
}

fn sm(moto: &Moto, script: &str) -> String {
    boto3(moto, &format!("sm = boto3.client('secretsmanager', region_name='us-east-1', endpoint_url=sm.meta.endpoint_url, aws_access_key_id='testing', aws_secret_access_key='testing')\n{script}"))
}

/// A secret marked rotate: with rotation configured (RotationEnabled) apply starts it
/// with `RotateSecret` (journaled, once: its idempotency token is the new version's id,
/// so a run stopped before its result is settled, not rotated twice); without, it is
/// the customer's task. AWS: RotateSecret without parameters "starts a rotation with
/// the values already stored in the secret"
/// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html).
/// moto rotates without a Lambda by making a new AWSCURRENT version at once.
#[test]
fn a_secret_with_rotation_configured_is_rotated_once_and_one_without_is_a_customer_task() {
    let moto = moto();
    let s = setup_aws(&moto);
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let rotate_of = |name: &str| {
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|st| st["action"] == "rotate" && st["target"]["name"] == name)
            .unwrap_or_else(|| panic!("no rotate step for {name}"))
            .clone()
    };
    let names: Vec<String> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["action"] == "rotate" && st["target"]["what"] == "secret")
        .map(|st| st["target"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 2, "{names:?}");
    let (with, without) = (rotate_of(&names[0]), rotate_of(&names[1]));
    let arn = with["target"]["id"].as_str().unwrap();
    // Rotation configured (moto makes a first rotation as it does).
    sm(
        &moto,
        &format!(
            "sm.rotate_secret(SecretId={arn:?}, RotationRules={{'AutomaticallyAfterDays': 30}})"
        ),
    );
    let versions = |moto: &Moto| -> Value {
        json(&sm(
            moto,
            &format!(
                "print(json.dumps(sm.describe_secret(SecretId={arn:?})['VersionIdsToStages']))"
            ),
        ))
    };
    let before_versions = versions(&moto);
    let (id_with, id_without) = (
        with["id"].as_str().unwrap().to_string(),
        without["id"].as_str().unwrap().to_string(),
    );
    let before = moto.requests();
    let r = s.apply(
        Some(&moto),
        &s.approved(&["--only", &id_with, "--only", &id_without]),
    );
    assert_eq!(r.code, 8, "{}\n{}", r.stdout, r.stderr);
    let report = json(&r.stdout);
    let done = the_step(&report, &id_with);
    assert_eq!(done["outcome"], "done", "{done}");
    assert_eq!(done["calls"], json!(["secretsmanager:RotateSecret"]));
    let task = the_step(&report, &id_without);
    assert_eq!(task["outcome"], "left-for-a-person", "{task}");
    assert!(task["detail"].as_str().unwrap().contains("customer task"));
    assert!(task["detail"].as_str().unwrap().contains("verify"));
    assert_eq!(writes_since(&moto, &before), vec!["RotateSecret"]);
    let after = versions(&moto);
    let current = |v: &Value| {
        v.as_object()
            .unwrap()
            .iter()
            .find(|(_, st)| st.as_array().unwrap().contains(&json!("AWSCURRENT")))
            .map(|(k, _)| k.clone())
            .unwrap()
    };
    let token = handover::apply::rotate::rotation_token(&id_with, &current(&before_versions));
    assert_eq!(
        current(&after),
        token,
        "the new version's id is the step's token"
    );
    // A rerun, and a run whose journal lost the result (a crash after the call): no
    // second rotation.
    let n = moto.requests()["by_action"]["secretsmanager.RotateSecret"].clone();
    let r = s.apply(Some(&moto), &s.approved(&["--only", &id_with]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        the_step(&json(&r.stdout), &id_with)["outcome"],
        "already-done"
    );
    std::fs::remove_file(s.journal()).unwrap();
    let _ = std::fs::remove_file(handover::journal::head_path(&s.journal()));
    let _ = std::fs::remove_file(handover::migrate::key::key_path(&s.journal()));
    let r = s.apply(Some(&moto), &s.approved(&["--only", &id_with]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let st = the_step(&json(&r.stdout), &id_with).clone();
    assert_eq!(st["outcome"], "already-done", "{st}");
    assert!(st["detail"].as_str().unwrap().contains("rotated by apply"));
    assert_eq!(
        moto.requests()["by_action"]["secretsmanager.RotateSecret"],
        n
    );
}
