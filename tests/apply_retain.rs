//! `handover apply` carrying out AWS retain-until steps on moto (the example's
//! agency-operated plan of a live audit of the seeded account: two role trusts and six
//! credentials of two agency users kept until 2027-01-31): each trust's statement that
//! lets the agency in gets `DateLessThan aws:CurrentTime`, each user ONE inline policy
//! denying everything from the date; a rerun writes nothing; the audit of the changed
//! account proves every one of them ends by itself at the date; a policy of another date
//! is drift; undo puts the trusts back and deletes the user policies; the least-privilege
//! policy is enough.
//!
//! AWS behaviour asserted here is AWS's documented one: `PutUserPolicy` adds or updates
//! an inline policy of that name
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html),
//! `DeleteUserPolicy` removes it
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUserPolicy.html),
//! `UpdateAssumeRolePolicy` replaces the whole trust policy
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html);
//! an explicit Deny overrides any Allow
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
//! date conditions take ISO 8601 dates
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date).
//! moto stores the documents without evaluating conditions, so what the documents
//! prove is read by the audit's own analysis, as `verify` reads it.

mod support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support::*;

const UNTIL: &str = "2027-01-31T00:00:00Z";
const USERS: [&str; 2] = ["alice.agency", "bob.agency"];
const ROLES: [&str; 2] = ["agency-operations", "github-deploy"];

fn iam(moto: &Moto, script: &str) -> String {
    boto3(moto, &format!("iam = boto3.client('iam', region_name='us-east-1', endpoint_url=sm.meta.endpoint_url, aws_access_key_id='testing', aws_secret_access_key='testing')\n{script}"))
}

fn example(name: &str) -> PathBuf {
    repo().join("examples/northwind-to-contoso").join(name)
}

struct Setup {
    home: tempfile::TempDir,
    plan: PathBuf,
    digest: String,
}

fn audit(moto: &Moto, home: &Path) -> Value {
    let r = run(handover(moto, home).args([
        "audit",
        "--aws",
        "--region",
        "us-east-1",
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    json(&r.stdout)
}

/// Seeds the example account, audits it live and plans it agency-operated.
fn setup(moto: &Moto) -> Setup {
    seed(moto);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let inv = h.join("inventory.json");
    std::fs::write(&inv, audit(moto, h).to_string()).unwrap();
    let plan = h.join("plan.json");
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(repo().join("policies/agency-operated.yaml"))
        .arg("--inventory")
        .arg(&inv)
        .arg("--config")
        .arg(example("handover-agency-operated.toml"))
        .arg("-o")
        .arg(&plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let digest = json(&std::fs::read_to_string(&plan).unwrap())["digest"]
        .as_str()
        .unwrap()
        .to_string();
    Setup { home, plan, digest }
}

impl Setup {
    fn apply_with(&self, cmd: &mut std::process::Command, extra: &[&str]) -> Run {
        run(cmd
            .args([
                "apply",
                "--format",
                "json",
                "--phase",
                "time-bound",
                "--plan",
            ])
            .arg(&self.plan)
            .arg("--config")
            .arg(example("handover-agency-operated.toml"))
            .arg("--journal")
            .arg(self.home.path().join("apply.jsonl"))
            .args(extra))
    }

    fn apply(&self, moto: &Moto) -> Run {
        self.apply_with(
            &mut handover(moto, self.home.path()),
            &["--apply", "--approve", &self.digest],
        )
    }

    fn undo(&self, moto: &Moto) -> Run {
        run(handover(moto, self.home.path())
            .args(["apply", "--undo", "--format", "json", "--config"])
            .arg(example("handover-agency-operated.toml"))
            .arg("--journal")
            .arg(self.home.path().join("apply.jsonl")))
    }
}

fn trust_of(moto: &Moto, role: &str) -> Value {
    json(&iam(
        moto,
        &format!("print(json.dumps(iam.get_role(RoleName={role:?})['Role']['AssumeRolePolicyDocument']))"),
    ))
}

/// The user's inline policies: name -> document.
fn user_policies(moto: &Moto, user: &str) -> Value {
    json(&iam(
        moto,
        &format!("print(json.dumps({{n: iam.get_user_policy(UserName={user:?}, PolicyName=n)['PolicyDocument'] for n in iam.list_user_policies(UserName={user:?})['PolicyNames']}}))"),
    ))
}

fn aws_retain_steps(report: &Value) -> Vec<&Value> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "retain-until" && s["provider"] == "aws")
        .collect()
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
        .filter(|a| !["Get", "List"].iter().any(|p| a.starts_with(p)))
        .collect()
}

/// Seals the plan's manifest and runs the customer's `verify` on the account: the
/// `retained` claims of AWS steps.
fn verify_retained(moto: &Moto, s: &Setup) -> Vec<Value> {
    let h = s.home.path();
    let inv = h.join("inventory.json");
    let sealed = h.join("handover.age");
    let _ = std::fs::remove_file(&sealed);
    let _ = std::fs::remove_file(h.join("handover.age.sig"));
    let r = run(handover_offline(h)
        .arg("manifest")
        .arg("--config")
        .arg(example("handover-agency-operated.toml"))
        .arg("--plan")
        .arg(&s.plan)
        .arg("--inventory")
        .arg(&inv)
        .arg("--sign-key")
        .arg(example_key("northwind-signing"))
        .arg("-o")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(handover(moto, h)
        .args(["verify", "--format", "json", "--signer"])
        .arg(example_key("northwind-signing.pub"))
        .arg("--docs")
        .arg(example(""))
        .arg("-i")
        .arg(example_key("contoso-security.agekey"))
        .arg(&sealed));
    let v = json(&r.stdout);
    v["claims"]
        .as_array()
        .unwrap_or_else(|| panic!("{}\n{}", r.stdout, r.stderr))
        .iter()
        .filter(|c| {
            let subject = c["subject"].as_str().unwrap();
            c["kind"] == "retained"
                && USERS
                    .iter()
                    .chain(ROLES.iter())
                    .any(|n| subject.ends_with(&format!("of {n}")))
        })
        .cloned()
        .collect()
}

// Regression: apply left every AWS retain-until step for a person, so the agency's
// retained access never ended by itself.
#[test]
fn retain_until_bounds_trusts_and_users_the_audit_proves_it_and_undo_reopens_them() {
    let moto = moto();
    let s = setup(&moto);
    let trusts_before: Vec<Value> = ROLES.iter().map(|r| trust_of(&moto, r)).collect();
    // Before apply, nothing proves the retained access ends.
    let claims = verify_retained(&moto, &s);
    assert_eq!(claims.len(), 8, "{claims:?}");
    assert!(claims.iter().all(|c| c["status"] != "pass"), "{claims:?}");
    let r = s.apply(&moto);
    let report = json(&r.stdout);
    let steps = aws_retain_steps(&report);
    assert_eq!(steps.len(), 8, "{}", r.stdout);
    for st in &steps {
        assert!(
            st["outcome"] == "done" || st["outcome"] == "already-done",
            "{st}"
        );
    }
    // One write per trust and one per user; the user's other steps find it there.
    let done = steps.iter().filter(|s| s["outcome"] == "done").count();
    assert_eq!(done, 4, "{}", r.stdout);
    for (role, before) in ROLES.iter().zip(&trusts_before) {
        let after = trust_of(&moto, role);
        let st = &after["Statement"][0];
        assert_eq!(
            st["Condition"]["DateLessThan"]["aws:CurrentTime"], UNTIL,
            "{role}: {after}"
        );
        // Everything else of the statement is as it was.
        let mut stripped = st.clone();
        let cond = stripped["Condition"].as_object_mut().unwrap();
        cond.remove("DateLessThan");
        if cond.is_empty() {
            stripped.as_object_mut().unwrap().remove("Condition");
        }
        assert_eq!(stripped, before["Statement"][0], "{role}");
        assert_eq!(
            after["Statement"].as_array().unwrap().len(),
            before["Statement"].as_array().unwrap().len()
        );
    }
    for user in USERS {
        let p = user_policies(&moto, user);
        let ours: Vec<&String> = p
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("handover-ends-"))
            .collect();
        assert_eq!(ours, ["handover-ends-2027-01-31"], "{user}: {p}");
        assert_eq!(
            p["handover-ends-2027-01-31"]["Statement"][0],
            json!({"Sid": "HandoverAccessEnds", "Effect": "Deny", "Action": "*", "Resource": "*",
                   "Condition": {"DateGreaterThanEquals": {"aws:CurrentTime": UNTIL}}})
        );
    }

    // A rerun changes nothing.
    let before = moto.requests();
    let again = s.apply(&moto);
    for st in aws_retain_steps(&json(&again.stdout)) {
        assert_eq!(st["outcome"], "already-done", "{st}");
    }
    assert!(writes_since(&moto, &before).is_empty());

    // The audit of the changed account proves every retained access ends at the date.
    let inv = audit(&moto, s.home.path());
    let end = json!({"state": "until", "at": UNTIL, "inclusive": false});
    for p in inv["principals"].as_array().unwrap() {
        if USERS.iter().any(|u| p["name"] == *u) {
            assert_eq!(p["access_ends"], end, "{p}");
        }
    }
    for c in inv["credentials"].as_array().unwrap() {
        if c["kind"] == "role-trust"
            && ROLES
                .iter()
                .any(|r| c["principal"].as_str().unwrap().ends_with(r))
        {
            assert_eq!(c["detail"]["ends"], end, "{c}");
        }
    }

    // The customer's verify, reading the account live, passes every retained step as
    // ending by itself at the date (before the change it was pending: nothing ended it).
    let claims = verify_retained(&moto, &s);
    assert_eq!(claims.len(), 8, "{claims:?}");
    for c in &claims {
        assert_eq!(c["status"], "pass", "{c}");
        assert!(
            c["detail"]
                .as_str()
                .unwrap()
                .contains("ends by itself at 2027-01-31 00:00 UTC"),
            "{c}"
        );
    }

    // Undo: the trusts as they were, the user policies gone.
    let u = s.undo(&moto);
    assert_eq!(u.code, 0, "{}\n{}", u.stdout, u.stderr);
    for (role, before) in ROLES.iter().zip(&trusts_before) {
        assert_eq!(&trust_of(&moto, role), before, "{role}");
    }
    for user in USERS {
        let p = user_policies(&moto, user);
        assert!(
            !p.as_object()
                .unwrap()
                .keys()
                .any(|k| k.starts_with("handover-ends-")),
            "{user}: {p}"
        );
    }
}

// A user already holding a handover-ends policy that proves another end is not
// overwritten: the person who put it there decides.
#[test]
fn a_handover_policy_of_another_date_is_drift_and_left_alone() {
    let moto = moto();
    let s = setup(&moto);
    let other = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"DateGreaterThanEquals": {"aws:CurrentTime": "2027-06-30T00:00:00Z"}}}]});
    iam(
        &moto,
        &format!(
            "iam.put_user_policy(UserName='bob.agency', PolicyName='handover-ends-2027-06-30', PolicyDocument={:?})",
            other.to_string()
        ),
    );
    let r = s.apply(&moto);
    let report = json(&r.stdout);
    for st in aws_retain_steps(&report) {
        if st["target"].as_str().unwrap().contains("of bob.agency") {
            assert_eq!(st["outcome"], "drift", "{st}");
        } else {
            assert!(
                st["outcome"] == "done" || st["outcome"] == "already-done",
                "{st}"
            );
        }
    }
    let p = user_policies(&moto, "bob.agency");
    assert_eq!(p["handover-ends-2027-06-30"], other);
    assert!(p.get("handover-ends-2027-01-31").is_none(), "{p}");
}

/// `policies/permissions/aws-apply.json` is enough for retain-until, under moto's
/// permission checks; without `iam:PutUserPolicy` the user steps fail (checks are on).
#[test]
fn retain_until_runs_under_the_least_privilege_policy() {
    let moto = moto();
    let s = setup(&moto);
    let policy =
        std::fs::read_to_string(repo().join("policies/permissions/aws-apply.json")).unwrap();
    let mut fewer: Value = serde_json::from_str(&policy).unwrap();
    for st in fewer["Statement"].as_array_mut().unwrap() {
        if let Some(a) = st["Action"].as_array_mut() {
            a.retain(|a| a != "iam:PutUserPolicy");
        }
    }
    let make = |name: &str, doc: &str| -> (String, String) {
        let out = iam(
            &moto,
            &format!(
                "iam.create_user(UserName={name:?})\niam.put_user_policy(UserName={name:?}, PolicyName='apply', PolicyDocument={doc:?})\nk = iam.create_access_key(UserName={name:?})['AccessKey']\nprint(k['AccessKeyId'], k['SecretAccessKey'])"
            ),
        );
        let mut p = out.split_whitespace();
        (p.next().unwrap().into(), p.next().unwrap().into())
    };
    let (k1, s1) = make("handover-short", &fewer.to_string());
    let (k2, s2) = make("handover-applier", &policy);
    moto.enforce_permissions();
    let as_user = |k: &str, sec: &str| {
        s.apply_with(
            handover(&moto, s.home.path())
                .env("AWS_ACCESS_KEY_ID", k)
                .env("AWS_SECRET_ACCESS_KEY", sec),
            &["--apply", "--approve", &s.digest],
        )
    };
    let r = as_user(&k1, &s1);
    let report = json(&r.stdout);
    let failed: Vec<&Value> = aws_retain_steps(&report)
        .into_iter()
        .filter(|s| s["outcome"] == "failed")
        .collect();
    assert!(!failed.is_empty(), "{}", r.stdout);
    for st in &failed {
        assert!(st["target"].as_str().unwrap().contains(".agency"), "{st}");
    }
    let r = as_user(&k2, &s2);
    let report = json(&r.stdout);
    for st in aws_retain_steps(&report) {
        assert!(
            st["outcome"] == "done" || st["outcome"] == "already-done",
            "{st}"
        );
    }
    moto.post("/moto-api/reset-auth", "inf", "text/plain");
}
