//! `handover apply` on moto: the dry run lists every step and changes nothing; a wrong
//! approval digest is refused before any request; an applied run deactivates the agency's
//! keys, deletes its console passwords and rewrites a role's trust policy without the
//! agency (the exact remaining document asserted); a rerun is all already-done with no
//! write request; a key deleted by hand between plan and apply is drift; undo restores
//! statuses and trust policies; no secret value reaches the journal or the output.
//!
//! AWS behaviour asserted here is AWS's documented one: `UpdateAccessKey` with
//! `Status=Inactive` disables a key without deleting it, and sets it back with `Active`
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html);
//! `DeleteLoginProfile` removes console access
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteLoginProfile.html);
//! `UpdateAssumeRolePolicy` replaces the role's whole trust policy
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html).

mod support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support::*;

const AGENCY_ROOT: &str = "arn:aws:iam::210987654321:root";
const PARTNER_ROOT: &str = "arn:aws:iam::444455556666:root";
const AGENCY_ROLE: &str = "arn:aws:iam::210987654321:role/northwind-deployer";

fn iam(moto: &Moto, script: &str) -> String {
    boto3(moto, &format!("iam = boto3.client('iam', region_name='us-east-1', endpoint_url=sm.meta.endpoint_url, aws_access_key_id='testing', aws_secret_access_key='testing')\n{script}"))
}

fn write_config(home: &Path) -> PathBuf {
    let signer = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
    let p = home.join("handover.toml");
    std::fs::write(
        &p,
        format!(
            r#"scenario = "full-transfer"
handover_date = "2026-11-01"

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

/// The role whose trust keeps the customer's partner account after the agency leaves.
fn shared_trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": [AGENCY_ROOT, PARTNER_ROOT]}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:ExternalId": "ops"}}},
        {"Effect": "Allow", "Principal": {"AWS": AGENCY_ROLE}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]})
}

/// shared-ops's trust once the agency's two principals are gone: the partner stays with
/// its condition, the statement that named only the agency's role goes, the service
/// statement stays.
fn shared_trust_after() -> Value {
    let before = shared_trust();
    let mut first = before["Statement"][0].clone();
    first["Principal"]["AWS"] = json!([PARTNER_ROOT]);
    json!({"Version": "2012-10-17", "Statement": [first, before["Statement"][2].clone()]})
}

struct Setup {
    home: tempfile::TempDir,
    seeded: Value,
    plan: PathBuf,
    config: PathBuf,
    digest: String,
}

/// Seeds the account (plus a role trusting the agency and a partner), audits it live,
/// and plans it under full transfer.
fn setup(moto: &Moto) -> Setup {
    let seeded = seed(moto);
    iam(
        moto,
        &format!(
            "iam.create_role(RoleName='shared-ops', AssumeRolePolicyDocument={:?})",
            shared_trust().to_string()
        ),
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let config = write_config(h);
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
    }
}

impl Setup {
    fn apply(&self, moto: &Moto, extra: &[&str]) -> Run {
        run(handover(moto, self.home.path())
            .args(["apply", "--format", "json", "--plan"])
            .arg(&self.plan)
            .arg("--config")
            .arg(&self.config)
            .arg("--journal")
            .arg(self.journal())
            .args(extra))
    }

    fn apply_approved(&self, moto: &Moto) -> Run {
        self.apply(moto, &["--apply", "--approve", &self.digest])
    }

    fn journal(&self) -> PathBuf {
        self.home.path().join("apply.jsonl")
    }
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
        // Secrets Manager's actions are logged as `secretsmanager.ACTION` (apply reads a
        // secret marked rotate with DescribeSecret).
        .filter(|a| {
            // IAM names the action alone, Secrets Manager as `secretsmanager.Action`.
            let action = a.rsplit('.').next().unwrap_or(a);
            !["Get", "List", "Describe", "Generate"]
                .iter()
                .any(|p| action.starts_with(p))
        })
        .collect()
}

fn key_status(moto: &Moto, user: &str, key: &str) -> String {
    iam(
        moto,
        &format!("print(next((k['Status'] for k in iam.list_access_keys(UserName={user:?})['AccessKeyMetadata'] if k['AccessKeyId'] == {key:?}), 'gone'))"),
    )
    .trim()
    .to_string()
}

fn has_login_profile(moto: &Moto, user: &str) -> bool {
    iam(moto, &format!("try:\n    iam.get_login_profile(UserName={user:?})\n    print('yes')\nexcept iam.exceptions.NoSuchEntityException:\n    print('no')")).trim() == "yes"
}

fn trust_of(moto: &Moto, role: &str) -> Value {
    json(&iam(
        moto,
        &format!("print(json.dumps(iam.get_role(RoleName={role:?})['Role']['AssumeRolePolicyDocument']))"),
    ))
}

fn step<'a>(report: &'a Value, target_contains: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"].as_str().unwrap().contains(target_contains))
        .unwrap_or_else(|| panic!("no step for {target_contains}"))
}

#[test]
fn dry_run_lists_every_step_and_changes_nothing() {
    let moto = moto();
    let s = setup(&moto);
    let before = moto.requests();
    let r = s.apply(&moto, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r.stdout);
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let ids: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let planned: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let mut a = ids.clone();
    let mut b = planned.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "every step is listed once");
    assert_eq!(report["applied"], false);
    let key = s.seeded["alice"]["old_key"].as_str().unwrap();
    let k = step(&report, key);
    assert_eq!(k["outcome"], "would-change");
    assert_eq!(k["calls"], json!(["iam:UpdateAccessKey"]));
    assert!(k["rule"].as_str().unwrap().len() > 1 && k["reason"].as_str().unwrap().len() > 1);
    assert_eq!(
        step(&report, "console-password of bob.agency")["outcome"],
        "would-change"
    );
    // bob's key was inactive when seeded: its revocation is already done.
    let bob = s.seeded["bob"]["inactive_key"].as_str().unwrap();
    assert_eq!(step(&report, bob)["outcome"], "already-done");
    assert!(
        writes_since(&moto, &before).is_empty(),
        "a dry run wrote: {:?}",
        writes_since(&moto, &before)
    );
    assert_eq!(key_status(&moto, "alice.agency", key), "Active");
    assert!(!s.journal().exists(), "a dry run opens no journal");
    // The table says the same: each step, its calls and why, then the summary.
    let r = run(handover(&moto, s.home.path())
        .args(["apply", "--format", "table", "--plan"])
        .arg(&s.plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("Dry run of plan sha256:"),
        "{}",
        r.stdout
    );
    for id in &planned {
        assert!(r.stdout.contains(id), "{id} missing from the table");
    }
    assert!(
        r.stdout.contains("calls: iam:UpdateAccessKey"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("why: revoke agency-human-revoked"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Summary: would-change"), "{}", r.stdout);
    assert!(writes_since(&moto, &before).is_empty());
}

#[test]
fn a_wrong_approval_digest_is_refused_before_any_request() {
    let moto = moto();
    let s = setup(&moto);
    let before = moto.requests();
    let wrong = format!("sha256:{}", "0".repeat(64));
    let r = s.apply(&moto, &["--apply", "--approve", &wrong]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("is not this plan's digest"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert_eq!(
        moto.requests()["total"],
        before["total"],
        "no request at all"
    );
    assert!(!s.journal().exists());
    // Without --approve, --apply is refused too.
    let r = s.apply(&moto, &["--apply"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--approve"), "{}", r.stderr);
    assert!(writes_since(&moto, &before).is_empty());
}

/// A plan edited after it was written (its digest left as it was) is refused even when
/// the approval names that digest: the content no longer hashes to it.
#[test]
fn an_edited_plan_is_refused_even_with_its_old_digest_approved() {
    let moto = moto();
    let s = setup(&moto);
    let mut plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    for st in plan["steps"].as_array_mut().unwrap() {
        st["action"] = json!("revoke");
    }
    std::fs::write(&s.plan, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let before = moto.requests();
    let r = s.apply_approved(&moto);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not match its digest"),
        "{}",
        r.stderr
    );
    assert_eq!(
        moto.requests()["total"],
        before["total"],
        "no request at all"
    );
    assert!(!s.journal().exists());
}

#[test]
fn applied_run_revokes_and_a_rerun_is_already_done_without_a_write() {
    let moto = moto();
    let s = setup(&moto);
    let r = s.apply_approved(&moto);
    // Review and GCP-free steps left for a person make the run incomplete.
    assert_eq!(r.code, 8, "{}\n{}", r.stdout, r.stderr);
    let report = json(&r.stdout);
    for k in ["old_key", "recent_key"] {
        let key = s.seeded["alice"][k].as_str().unwrap();
        assert_eq!(step(&report, key)["outcome"], "done", "{key}");
        assert_eq!(key_status(&moto, "alice.agency", key), "Inactive");
    }
    assert!(!has_login_profile(&moto, "alice.agency"));
    assert!(!has_login_profile(&moto, "bob.agency"));
    assert!(
        has_login_profile(&moto, "carol.customer"),
        "the customer's password stays"
    );
    assert_eq!(trust_of(&moto, "shared-ops"), shared_trust_after());
    // A trust whose only principal is the agency is not emptied: a person decides.
    let ops = step(&report, "of agency-operations");
    assert_eq!(ops["outcome"], "left-for-a-person", "{ops}");
    // alice's two keys, SSH key, signing certificate and password; bob's password; the
    // agency's two principals in shared-ops's trust; the agency's grant in
    // prod/stripe-key's resource policy.
    assert_eq!(report["summary"]["done"], 9, "{}", report["summary"]);

    let before = moto.requests();
    let again = s.apply_approved(&moto);
    assert_eq!(again.code, 8, "{}", again.stderr);
    let second = json(&again.stdout);
    assert!(
        second["summary"].get("done").is_none(),
        "{}",
        second["summary"]
    );
    for st in report["steps"].as_array().unwrap() {
        if st["outcome"] == "done" {
            let id = st["id"].as_str().unwrap();
            let now = second["steps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == id)
                .unwrap();
            assert_eq!(now["outcome"], "already-done", "{now}");
            // Known from the journal, before any live read of it.
            assert_eq!(now["detail"], "the journal records it done", "{now}");
        }
    }
    assert!(
        writes_since(&moto, &before).is_empty(),
        "the rerun wrote: {:?}",
        writes_since(&moto, &before)
    );
}

#[test]
fn a_key_deleted_by_hand_after_the_plan_is_drift_and_skipped() {
    let moto = moto();
    let s = setup(&moto);
    let key = s.seeded["alice"]["old_key"].as_str().unwrap();
    iam(
        &moto,
        &format!("iam.delete_access_key(UserName='alice.agency', AccessKeyId={key:?})"),
    );
    let r = s.apply_approved(&moto);
    assert_eq!(r.code, 8, "{}", r.stderr);
    let report = json(&r.stdout);
    let st = step(&report, key);
    assert_eq!(st["outcome"], "drift", "{st}");
    assert!(st["detail"].as_str().unwrap().contains("gone"), "{st}");
    // The other key of the same user is still revoked.
    let recent = s.seeded["alice"]["recent_key"].as_str().unwrap();
    assert_eq!(step(&report, recent)["outcome"], "done");
    assert_eq!(key_status(&moto, "alice.agency", key), "gone");
}

#[test]
fn undo_restores_key_statuses_and_trust_policies() {
    let moto = moto();
    let s = setup(&moto);
    let r = s.apply_approved(&moto);
    assert_eq!(r.code, 8, "{}", r.stderr);
    let key = s.seeded["alice"]["old_key"].as_str().unwrap();
    assert_eq!(key_status(&moto, "alice.agency", key), "Inactive");
    let r = run(handover(&moto, s.home.path())
        .args(["apply", "--undo", "--format", "json", "--config"])
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal()));
    // Deleted console passwords cannot be restored: the undo is incomplete and says so.
    assert_eq!(r.code, 8, "{}\n{}", r.stdout, r.stderr);
    let undone = json(&r.stdout);
    assert!(undone
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["outcome"] == "left-for-a-person"
            && u["detail"].as_str().unwrap().contains("cannot be restored")));
    assert_eq!(key_status(&moto, "alice.agency", key), "Active");
    // Two changes of one trust policy, put back newest first: the original document.
    assert_eq!(trust_of(&moto, "shared-ops"), shared_trust());
    // A second undo has nothing reversible left to do.
    let before = moto.requests();
    let undo = || {
        run(handover(&moto, s.home.path())
            .args(["apply", "--undo", "--format", "json", "--config"])
            .arg(&s.config)
            .arg("--journal")
            .arg(s.journal()))
    };
    let r = undo();
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(writes_since(&moto, &before).is_empty());
    // Applying again after an undo makes the changes again (the journal's "done" was
    // put back), and a further undo puts them back again.
    let r = s.apply_approved(&moto);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(step(&json(&r.stdout), key)["outcome"], "done");
    assert_eq!(key_status(&moto, "alice.agency", key), "Inactive");
    assert_eq!(trust_of(&moto, "shared-ops"), shared_trust_after());
    assert_eq!(undo().code, 8);
    assert_eq!(key_status(&moto, "alice.agency", key), "Active");
    assert_eq!(trust_of(&moto, "shared-ops"), shared_trust());
}

#[test]
fn the_journal_holds_each_intent_before_its_result_and_no_secret_value() {
    let moto = moto();
    let s = setup(&moto);
    let r = s.apply(&moto, &["--apply", "--approve", &s.digest, "-vvv"]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    let journal = std::fs::read_to_string(s.journal()).unwrap();
    assert!(journal.contains("apply-step"));
    let canaries: Vec<String> = s.seeded["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(!canaries.is_empty());
    for c in &canaries {
        assert!(!journal.contains(c.as_str()), "the journal holds a canary");
        assert!(!r.stdout.contains(c.as_str()) && !r.stderr.contains(c.as_str()));
    }
    assert!(
        !journal.contains("Pa55word"),
        "a password reached the journal"
    );
    // The journal is the hash-chained one migrate writes: its schema validates every line.
    // Journal first: every result follows an intent for the same step, and each intent
    // already carries what undoing it needs.
    let mut intents = std::collections::BTreeSet::new();
    let mut results = 0;
    let mut observed = Vec::new();
    for line in journal.lines() {
        let v = json(line);
        assert_eq!(v["op"], "apply-step", "{v}");
        let key = v["key"].as_str().unwrap().to_string();
        match v["phase"].as_str().unwrap() {
            "intent" => {
                assert!(v["data"]["undo"]["kind"].is_string(), "{v}");
                intents.insert(key);
            }
            "result" => {
                assert!(
                    intents.contains(&key),
                    "a result with no intent before it: {v}"
                );
                results += 1;
            }
            // Found already in its end state: no call, so no intent, and nothing to undo.
            "observed" => {
                assert!(!intents.contains(&key), "{v}");
                assert_eq!(v["data"]["calls"], json!([]), "{v}");
                assert!(v["data"].get("undo").is_none(), "{v}");
                observed.push(key);
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(results, 9);
    // bob's key, seeded inactive: found so, and journaled as seen.
    let bob_key = s.seeded["bob"]["inactive_key"].as_str().unwrap();
    let report = json(&r.stdout);
    assert_eq!(observed, [step(&report, bob_key)["id"].as_str().unwrap()]);
    assert_eq!(step(&report, bob_key)["outcome"], "already-done");
}

#[test]
fn only_and_phase_select_part_of_the_plan() {
    let moto = moto();
    let s = setup(&moto);
    let key = s.seeded["alice"]["old_key"].as_str().unwrap();
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let id = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["target"]["name"] == key)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = moto.requests();
    let r = s.apply(&moto, &["--apply", "--approve", &s.digest, "--only", &id]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r.stdout);
    assert_eq!(report["steps"].as_array().unwrap().len(), 1);
    assert_eq!(
        writes_since(&moto, &before),
        vec!["UpdateAccessKey".to_string()]
    );
    assert_eq!(key_status(&moto, "alice.agency", key), "Inactive");
    let recent = s.seeded["alice"]["recent_key"].as_str().unwrap();
    assert_eq!(key_status(&moto, "alice.agency", recent), "Active");
    // A step id the plan does not have is a usage error.
    let r = s.apply(&moto, &["--only", "s-000000000000"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // --phase: only the establish steps (transfers: nothing changes).
    let r = s.apply(&moto, &["--phase", "establish"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r.stdout);
    assert!(report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|st| st["phase"] == "establish" && st["outcome"] == "no-change"));
    let r = s.apply(&moto, &["--phase", "whenever"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn a_journal_of_another_plan_is_refused() {
    let moto = moto();
    let s = setup(&moto);
    let first = s.plan.with_file_name("first.json");
    std::fs::copy(&s.plan, &first).unwrap();
    let r = s.apply_approved(&moto);
    assert_eq!(r.code, 8, "{}", r.stderr);
    // Another plan (another handover date, so another digest) with the same journal.
    let cfg = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("2026-11-01", "2026-12-01");
    std::fs::write(&s.config, cfg).unwrap();
    let inv = s.home.path().join("inventory.json");
    let r = run(handover_offline(s.home.path())
        .args(["plan", "--force", "--format", "json", "--policy"])
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--inventory")
        .arg(&inv)
        .arg("--config")
        .arg(&s.config)
        .arg("-o")
        .arg(&s.plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let digest = json(&std::fs::read_to_string(&s.plan).unwrap())["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(digest, s.digest);
    let before = moto.requests();
    let r = s.apply(&moto, &["--apply", "--approve", &digest]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("not this plan"), "{}", r.stderr);
    assert!(writes_since(&moto, &before).is_empty());
}

#[test]
fn no_credentials_is_exit_4_and_nothing_is_written() {
    let moto = moto();
    let s = setup(&moto);
    let r = run(handover_offline(s.home.path())
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_REGION", "us-east-1")
        .args(["apply", "--format", "json", "--plan"])
        .arg(&s.plan)
        .arg("--config")
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal())
        .args(["--apply", "--approve", &s.digest]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert!(
        !s.journal().exists(),
        "no journal before the account is reached"
    );
    // A dry run without credentials still lists the steps, unchecked, and says why.
    let r = run(handover_offline(s.home.path())
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_REGION", "us-east-1")
        .args(["apply", "--format", "json", "--plan"])
        .arg(&s.plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r.stdout);
    assert!(report["notes"][0]
        .as_str()
        .unwrap()
        .contains("not checked live"));
    let key = s.seeded["alice"]["old_key"].as_str().unwrap();
    assert_eq!(step(&report, key)["outcome"], "not-checked");
}

#[test]
fn delete_now_deletes_the_key_and_undo_says_it_cannot_be_restored() {
    let moto = moto();
    let s = setup(&moto);
    let key = s.seeded["alice"]["old_key"].as_str().unwrap();
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let id = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["target"]["name"] == key)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = moto.requests();
    let r = s.apply(
        &moto,
        &[
            "--apply",
            "--approve",
            &s.digest,
            "--delete-now",
            "--only",
            &id,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let st = step(&json(&r.stdout), key).clone();
    assert_eq!(st["outcome"], "done");
    assert_eq!(
        st["calls"],
        json!(["iam:UpdateAccessKey", "iam:DeleteAccessKey"])
    );
    let mut w = writes_since(&moto, &before);
    w.sort();
    assert_eq!(w, vec!["DeleteAccessKey", "UpdateAccessKey"]);
    assert_eq!(key_status(&moto, "alice.agency", key), "gone");
    let journal = std::fs::read_to_string(s.journal()).unwrap();
    assert!(journal.contains("\"irreversible\""), "{journal}");
    let r = run(handover(&moto, s.home.path())
        .args(["apply", "--undo", "--format", "json", "--config"])
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal()));
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(r.stdout.contains("cannot be restored"), "{}", r.stdout);
    // --delete-now without --apply is a usage error.
    let r = s.apply(&moto, &["--delete-now"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// No lock-out: with the customer's only admin left without a credential (her console
/// password deleted by hand after the plan), the agency's admin access is not removed;
/// the non-admin revocations still are.
#[test]
fn admin_access_is_not_removed_when_no_customer_admin_remains_live() {
    let moto = moto();
    let s = setup(&moto);
    iam(&moto, "iam.delete_login_profile(UserName='carol.customer')");
    let r = s.apply_approved(&moto);
    assert_eq!(r.code, 8, "{}", r.stderr);
    let report = json(&r.stdout);
    let key = s.seeded["alice"]["old_key"].as_str().unwrap();
    let st = step(&report, key);
    assert_eq!(st["outcome"], "left-for-a-person", "{st}");
    assert!(
        st["detail"].as_str().unwrap().contains("no lock-out"),
        "{st}"
    );
    assert!(
        st["detail"].as_str().unwrap().contains("carol.customer"),
        "{st}"
    );
    assert_eq!(key_status(&moto, "alice.agency", key), "Active");
    assert!(has_login_profile(&moto, "alice.agency"));
    // bob is not an admin: his password goes.
    assert_eq!(
        step(&report, "console-password of bob.agency")["outcome"],
        "done"
    );
    assert!(!has_login_profile(&moto, "bob.agency"));
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

/// `policies/permissions/aws-apply.json` is exactly enough: under moto's permission
/// checks the run does everything the unrestricted one does; without its
/// `iam:UpdateAccessKey` the key steps fail as access denied (so the checks are on).
#[test]
fn apply_runs_under_its_least_privilege_policy() {
    let moto = moto();
    let s = setup(&moto);
    let policy =
        std::fs::read_to_string(repo().join("policies/permissions/aws-apply.json")).unwrap();
    let doc: Value = serde_json::from_str(&policy).unwrap();
    let mut fewer = doc.clone();
    for st in fewer["Statement"].as_array_mut().unwrap() {
        if let Some(a) = st["Action"].as_array_mut() {
            a.retain(|a| a != "iam:UpdateAccessKey");
        }
    }
    let (key, secret) = user_with_policy(&moto, "handover-applier", &policy);
    let (key2, secret2) = user_with_policy(&moto, "handover-short", &fewer.to_string());
    moto.enforce_permissions();
    let as_user = |k: &str, sec: &str, extra: &[&str]| {
        run(handover(&moto, s.home.path())
            .env("AWS_ACCESS_KEY_ID", k)
            .env("AWS_SECRET_ACCESS_KEY", sec)
            .args(["apply", "--format", "json", "--plan"])
            .arg(&s.plan)
            .arg("--config")
            .arg(&s.config)
            .arg("--journal")
            .arg(s.home.path().join(format!("{k}.jsonl")))
            .args(extra))
    };
    let r = as_user(&key2, &secret2, &["--apply", "--approve", &s.digest]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    let report = json(&r.stdout);
    let alice = s.seeded["alice"]["old_key"].as_str().unwrap();
    let st = step(&report, alice);
    assert_eq!(st["outcome"], "failed", "{st}");
    // moto answers a denial with a bare 403 (AWS with `AccessDenied`).
    let detail = st["detail"].as_str().unwrap();
    assert!(
        detail.contains("AccessDenied") || detail.contains("403"),
        "{st}"
    );
    let r = as_user(&key, &secret, &["--apply", "--approve", &s.digest]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    let report = json(&r.stdout);
    assert!(
        report["summary"].get("failed").is_none(),
        "{}",
        report["summary"]
    );
    // alice's keys, which the first user could not deactivate, are done now.
    assert_eq!(step(&report, alice)["outcome"], "done");
    // Permission checks off again, to read the result as the test's admin.
    moto.post("/moto-api/reset-auth", "inf", "text/plain");
    assert_eq!(key_status(&moto, "alice.agency", alice), "Inactive");
    // Each action named, no wildcard, nothing that reads a secret value but the
    // re-encryption under the customer's KMS key (it writes the value back under it).
    for st in doc["Statement"].as_array().unwrap() {
        let reencrypts = st["Sid"] == "HandoverApplyReEncryptSecret";
        let actions: Vec<&str> = match &st["Action"] {
            Value::String(a) => vec![a.as_str()],
            Value::Array(a) => a.iter().map(|a| a.as_str().unwrap()).collect(),
            other => panic!("unexpected Action {other}"),
        };
        for a in actions {
            assert!(
                !a.contains('*') && (reencrypts || !a.contains("SecretValue")),
                "{a}"
            );
        }
    }
}

/// Crash anywhere: `apply` killed (SIGKILL) at several points of a run, then run again,
/// reaches the same end state as an uninterrupted run, with every change made exactly
/// once (counted in moto's request log) and every change's result in the journal.
#[test]
fn killed_at_any_point_a_rerun_makes_every_change_exactly_once() {
    let moto = moto();
    // The writes of an uninterrupted run of the seeded plan.
    let expected: Vec<(&str, u64)> = vec![
        ("DeleteLoginProfile", 2),
        ("UpdateAccessKey", 2),
        ("UpdateAssumeRolePolicy", 2),
        ("UpdateSSHPublicKey", 1),
        ("UpdateSigningCertificate", 1),
    ];
    // An uninterrupted run takes about 300 ms here: the kills fall before, within and
    // after its writes.
    for delay_ms in [0u64, 60, 100, 130, 160, 190, 230, 400] {
        moto.reset();
        let s = setup(&moto);
        let before = moto.requests();
        let mut cmd = handover(&moto, s.home.path());
        cmd.args(["apply", "--format", "json", "--plan"])
            .arg(&s.plan)
            .arg("--config")
            .arg(&s.config)
            .arg("--journal")
            .arg(s.journal())
            .args(["--apply", "--approve", &s.digest])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let killed_writes = writes_since(&moto, &before).len();
        let r = s.apply_approved(&moto);
        assert_eq!(r.code, 8, "killed after {delay_ms} ms: {}", r.stderr);
        let after = moto.requests();
        for (action, n) in &expected {
            let made = after["by_action"][action].as_u64().unwrap_or(0)
                - before["by_action"][action].as_u64().unwrap_or(0);
            assert_eq!(
                made, *n,
                "{action} after a kill at {delay_ms} ms ({killed_writes} kinds of write made before it)"
            );
        }
        let key = s.seeded["alice"]["old_key"].as_str().unwrap();
        assert_eq!(key_status(&moto, "alice.agency", key), "Inactive");
        assert_eq!(trust_of(&moto, "shared-ops"), shared_trust_after());
        // Every change has its result journaled (none left in doubt).
        let journal = std::fs::read_to_string(s.journal()).unwrap();
        let mut open = std::collections::BTreeSet::new();
        for line in journal.lines() {
            let v = json(line);
            let k = v["key"].as_str().unwrap().to_string();
            if v["phase"] == "intent" {
                open.insert(k);
            } else {
                open.remove(&k);
            }
        }
        assert!(
            open.is_empty(),
            "in doubt after a kill at {delay_ms} ms: {open:?}"
        );
    }
}

/// Killed between a change and its result: the intent is journaled, the key already
/// deactivated, the result missing. The rerun reads the key live, makes no write, and
/// journals the result it never got to write, with the intent's undo.
#[test]
fn a_change_made_but_not_journaled_as_done_is_settled_on_resume() {
    use handover::journal::{
        ApplyChange, ApplyIntent, ApplyTarget, ChainKey, Change, Journal, Op, Undo, UndoCredential,
    };
    let moto = moto();
    let s = setup(&moto);
    let plan = json(&std::fs::read_to_string(&s.plan).unwrap());
    let id_of = |key: &str| {
        plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|st| st["target"]["name"] == key)
            .unwrap()
            .clone()
    };
    let old = s.seeded["alice"]["old_key"].as_str().unwrap();
    let recent = s.seeded["alice"]["recent_key"].as_str().unwrap();
    // A first run of one step creates the journal and its key.
    let first = id_of(old);
    let r = s.apply(
        &moto,
        &[
            "--apply",
            "--approve",
            &s.digest,
            "--only",
            first["id"].as_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The crash: the intent for the other key journaled, the call made, no result.
    let crashed = id_of(recent);
    let ids = handover::crypto::read_identities(&example_key("northwind-signing")).unwrap();
    let digest_key = handover::migrate::key::open(&s.journal(), &ids).unwrap();
    let (mut journal, _) = Journal::open(&s.journal(), &ChainKey::derive(&digest_key)).unwrap();
    let undo = Undo::Status {
        credential: UndoCredential::AccessKey,
        user: "alice.agency".into(),
        id: recent.into(),
        previous: "Active".into(),
    };
    journal
        .append(
            crashed["id"].as_str().unwrap(),
            Change::ApplyIntent(
                Op::ApplyStep,
                ApplyIntent {
                    about: ApplyTarget {
                        plan: s.digest.clone(),
                        target: crashed["target"]["id"].as_str().unwrap().into(),
                        provider: handover::model::Provider::Aws,
                        scope: "123456789012".into(),
                        change: ApplyChange::Deactivate,
                        calls: vec!["iam:UpdateAccessKey".into()],
                    },
                    undo: undo.clone(),
                },
            ),
        )
        .unwrap();
    drop(journal);
    iam(&moto, &format!("iam.update_access_key(UserName='alice.agency', AccessKeyId={recent:?}, Status='Inactive')"));
    let before = moto.requests();
    let r = s.apply(
        &moto,
        &[
            "--apply",
            "--approve",
            &s.digest,
            "--only",
            crashed["id"].as_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(step(&json(&r.stdout), recent)["outcome"], "already-done");
    assert!(writes_since(&moto, &before).is_empty());
    let text = std::fs::read_to_string(s.journal()).unwrap();
    let last = json(text.lines().last().unwrap());
    assert_eq!(last["key"], crashed["id"]);
    assert_eq!(last["phase"], "result");
    assert_eq!(last["data"]["outcome"], "done");
    assert_eq!(last["data"]["undo"], serde_json::to_value(&undo).unwrap());
    // So undo can put it back like any other change.
    let r = run(handover(&moto, s.home.path())
        .args(["apply", "--undo", "--format", "json", "--config"])
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal()));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(key_status(&moto, "alice.agency", recent), "Active");
}

/// With a fifth of the requests throttled, answered 503 or dropped (the fault proxy
/// between apply and moto), the run reaches the same end state as a clean one: the
/// SDK's retries absorb the faults and no step fails.
#[test]
fn with_a_fifth_of_requests_failing_the_run_reaches_the_same_end_state() {
    use support::fault_proxy::{self, Fault};
    let moto = moto();
    let s = setup(&moto);
    let proxy = fault_proxy::start(
        &moto.url,
        0.2,
        13,
        &[Fault::Throttle, Fault::Unavailable, Fault::Drop],
    );
    let r = run(handover(&moto, s.home.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args([
            "apply",
            "--format",
            "json",
            "--max-attempts",
            "10",
            "--plan",
        ])
        .arg(&s.plan)
        .arg("--config")
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal())
        .args(["--apply", "--approve", &s.digest]));
    assert_eq!(r.code, 8, "{}", r.stderr);
    let report = json(&r.stdout);
    assert!(
        report["summary"].get("failed").is_none(),
        "{}",
        report["summary"]
    );
    assert_eq!(report["summary"]["done"], 9, "{}", report["summary"]);
    assert!(
        proxy.injected.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "no fault was injected"
    );
    for k in ["old_key", "recent_key"] {
        let key = s.seeded["alice"][k].as_str().unwrap();
        assert_eq!(key_status(&moto, "alice.agency", key), "Inactive");
    }
    assert!(!has_login_profile(&moto, "alice.agency"));
    assert_eq!(trust_of(&moto, "shared-ops"), shared_trust_after());
}

/// The identity apply runs as is changed last: running as bob.agency (a key made after
/// the plan), bob's console password is deleted after every other change, in the report
/// and in the journal, so apply never cuts off its own access midway.
#[test]
fn the_identity_apply_runs_as_is_changed_last() {
    let moto = moto();
    let s = setup(&moto);
    let out = iam(
        &moto,
        "k = iam.create_access_key(UserName='bob.agency')['AccessKey']\nprint(k['AccessKeyId'], k['SecretAccessKey'])",
    );
    let mut parts = out.split_whitespace();
    let (key, secret) = (parts.next().unwrap(), parts.next().unwrap());
    let r = run(handover(&moto, s.home.path())
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .args(["apply", "--format", "json", "--plan"])
        .arg(&s.plan)
        .arg("--config")
        .arg(&s.config)
        .arg("--journal")
        .arg(s.journal())
        .args(["--apply", "--approve", &s.digest]));
    assert_eq!(r.code, 8, "{}", r.stderr);
    let report = json(&r.stdout);
    let steps = report["steps"].as_array().unwrap();
    let bob: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, st)| st["target"].as_str().unwrap().ends_with("of bob.agency"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(bob, [steps.len() - 2, steps.len() - 1], "bob's steps last");
    let password = step(&report, "console-password of bob.agency");
    assert_eq!(password["outcome"], "done");
    let journal = std::fs::read_to_string(s.journal()).unwrap();
    let lines: Vec<Value> = journal.lines().map(json).collect();
    // 9 changes, intent and result each, and bob's key found already inactive.
    assert_eq!(lines.len(), 19, "{journal}");
    let bob_key = s.seeded["bob"]["inactive_key"].as_str().unwrap();
    let found: Vec<&Value> = lines.iter().filter(|l| l["phase"] == "observed").collect();
    assert_eq!(found.len(), 1, "{journal}");
    assert_eq!(found[0]["key"], step(&report, bob_key)["id"]);
    assert_eq!(lines[17]["key"], password["id"], "bob's change is the last");
    assert_eq!(lines[18]["key"], password["id"]);
}
