//! `handover apply` on moto, for the AWS actions beyond keys and trusts: a grant in a
//! secret's resource policy loses only the agency's principal (the exact remaining
//! policy asserted), a policy left with nothing is deleted, undo puts both back as they
//! were, a secret deleted since the plan is drift; the plan names the secret as data.
//!
//! AWS behaviour asserted here is AWS's documented one: `GetResourcePolicy` returns the
//! policy as a JSON string, and no `ResourcePolicy` when the secret has none
//! (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetResourcePolicy.html);
//! `PutResourcePolicy` replaces the whole policy
//! (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutResourcePolicy.html);
//! `DeleteResourcePolicy` removes it
//! (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteResourcePolicy.html).

mod support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support::*;

const AGENCY_ROOT: &str = "arn:aws:iam::210987654321:root";
const AGENCY_ROLE: &str = "arn:aws:iam::210987654321:role/northwind-deployer";
const PARTNER_ROOT: &str = "arn:aws:iam::444455556666:root";

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

/// `ops/shared`'s policy: the agency's account and the customer's partner in one
/// conditional statement, the agency's role alone in another, a Deny naming the agency.
fn shared_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Both", "Effect": "Allow", "Principal": {"AWS": [AGENCY_ROOT, PARTNER_ROOT]},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ops"}}},
        {"Sid": "Deployer", "Effect": "Allow", "Principal": {"AWS": AGENCY_ROLE},
         "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": "*"},
        {"Sid": "NoDelete", "Effect": "Deny", "Principal": {"AWS": AGENCY_ROOT},
         "Action": "secretsmanager:DeleteSecret", "Resource": "*"}
    ]})
}

/// What is left once both agency principals are gone: the partner keeps its condition,
/// the statement naming only the role goes, the Deny stays.
fn shared_policy_after() -> Value {
    let before = shared_policy();
    let mut both = before["Statement"][0].clone();
    both["Principal"]["AWS"] = json!([PARTNER_ROOT]);
    json!({"Version": "2012-10-17", "Statement": [both, before["Statement"][2].clone()]})
}

fn agency_only_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": AGENCY_ROLE}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    ]})
}

struct Setup {
    home: tempfile::TempDir,
    plan: PathBuf,
    config: PathBuf,
    digest: String,
    /// Secret name -> ARN.
    arns: Value,
}

/// The example account plus two secrets with policies granting the agency, audited
/// live and planned under full transfer.
fn setup(moto: &Moto) -> Setup {
    seed(moto);
    let arns = json(&boto3(
        moto,
        &format!(
            "a = sm.create_secret(Name='ops/shared', SecretString='BENCHMORECANARY-1')['ARN']\n\
             sm.put_resource_policy(SecretId=a, ResourcePolicy={:?})\n\
             b = sm.create_secret(Name='ops/agency-only', SecretString='BENCHMORECANARY-2')['ARN']\n\
             sm.put_resource_policy(SecretId=b, ResourcePolicy={:?})\n\
             print(json.dumps({{'ops/shared': a, 'ops/agency-only': b}}))",
            shared_policy().to_string(),
            agency_only_policy().to_string()
        ),
    ));
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
        plan,
        config,
        digest,
        arns,
    }
}

impl Setup {
    fn handover(&self, moto: &Moto, args: &[&str]) -> Run {
        run(handover(moto, self.home.path())
            .args(args)
            .args(["--format", "json", "--config"])
            .arg(&self.config)
            .arg("--journal")
            .arg(self.home.path().join("apply.jsonl")))
    }

    fn apply(&self, moto: &Moto, extra: &[&str]) -> Run {
        let plan = self.plan.to_str().unwrap();
        let mut args = vec!["apply", "--plan", plan];
        args.extend_from_slice(extra);
        self.handover(moto, &args)
    }

    fn apply_approved(&self, moto: &Moto) -> Run {
        self.apply(moto, &["--apply", "--approve", &self.digest])
    }

    fn plan_json(&self) -> Value {
        json(&std::fs::read_to_string(&self.plan).unwrap())
    }
}

/// The secret's resource policy, `null` when it has none.
fn policy_of(moto: &Moto, arn: &str) -> Value {
    json(&boto3(
        moto,
        &format!(
            "p = sm.get_resource_policy(SecretId={arn:?}).get('ResourcePolicy')\n\
             print(p if p is not None else 'null')"
        ),
    ))
}

/// The report's revoke steps on grants in `secret`'s policy.
fn grant_steps<'a>(report: &'a Value, secret: &str) -> Vec<&'a Value> {
    let label = format!("resource-policy grant on {secret} to ");
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["target"].as_str().unwrap_or("").starts_with(&label))
        .filter(|s| s["action"] == "revoke")
        .collect()
}

/// The plan names the secret of a policy grant as data (its ARN and name), so apply
/// never reads it out of the target's id.
#[test]
fn the_plan_names_a_grants_secret_as_data() {
    let moto = moto();
    let s = setup(&moto);
    let plan = s.plan_json();
    let grants: Vec<&Value> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["target"]["what"] == "secret-policy-grant")
        .collect();
    assert!(!grants.is_empty());
    for st in &grants {
        let secret = &st["target"]["secret"];
        let id = secret["id"].as_str().unwrap();
        assert!(
            id.starts_with("arn:aws:secretsmanager:us-east-1:123456789012:secret:"),
            "{st}"
        );
        assert!(st["target"]["id"].as_str().unwrap().starts_with(id), "{st}");
        if let Some(arn) = s.arns.get(secret["name"].as_str().unwrap()) {
            assert_eq!(secret["id"], *arn, "{st}");
        }
        assert_eq!(st["target"]["region"], "us-east-1");
    }
    assert_eq!(
        grants
            .iter()
            .filter(|st| s
                .arns
                .get(st["target"]["secret"]["name"].as_str().unwrap())
                .is_some())
            .count(),
        4,
        "ops/shared names three principals, ops/agency-only one"
    );
    // Other targets carry no `secret` field (the plan's JSON is unchanged for them).
    assert!(plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["target"]["what"] != "secret-policy-grant")
        .all(|st| st["target"].get("secret").is_none()));
}

/// Only the agency's principals leave a secret's policy: the partner keeps its grant and
/// condition, the Deny stays; a policy granting only the agency is deleted; a rerun
/// writes nothing; undo puts both policies back exactly.
#[test]
fn a_secret_policy_loses_only_the_agency_and_undo_puts_it_back() {
    let moto = moto();
    let s = setup(&moto);
    let shared = s.arns["ops/shared"].as_str().unwrap();
    let only = s.arns["ops/agency-only"].as_str().unwrap();

    let dry = s.apply(&moto, &[]);
    let report = json(&dry.stdout);
    let steps = grant_steps(&report, "ops/shared");
    assert_eq!(steps.len(), 2, "{report}");
    for st in steps {
        assert_eq!(st["outcome"], "would-change", "{st}");
        assert_eq!(
            st["calls"],
            json!([
                "secretsmanager:GetResourcePolicy",
                "secretsmanager:PutResourcePolicy"
            ])
        );
    }
    assert_eq!(
        policy_of(&moto, shared),
        shared_policy(),
        "a dry run writes nothing"
    );

    let r = s.apply_approved(&moto);
    let report = json(&r.stdout);
    for name in ["ops/shared", "ops/agency-only"] {
        for st in grant_steps(&report, name) {
            assert_eq!(st["outcome"], "done", "{st}");
        }
    }
    assert_eq!(policy_of(&moto, shared), shared_policy_after());
    assert_eq!(policy_of(&moto, only), Value::Null, "nothing left: deleted");

    let again = s.apply_approved(&moto);
    let report = json(&again.stdout);
    for name in ["ops/shared", "ops/agency-only"] {
        for st in grant_steps(&report, name) {
            assert_eq!(st["outcome"], "already-done", "{st}");
        }
    }

    let u = s.handover(&moto, &["apply", "--undo"]);
    // The example's deleted console passwords cannot be restored: the undo says so (8).
    assert_eq!(u.code, 8, "{}\n{}", u.stdout, u.stderr);
    let undone = json(&u.stdout);
    let restored = undone
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"].as_str().unwrap_or("").contains("/policy/"))
        .filter(|e| e["outcome"] == "done")
        .count();
    // Two grants of ops/shared, one of ops/agency-only, the example's prod/stripe-key.
    assert_eq!(restored, 4, "{undone}");
    assert_eq!(policy_of(&moto, shared), shared_policy());
    assert_eq!(policy_of(&moto, only), agency_only_policy());
    // The journal holds policies and names, never a secret's value.
    let journal = std::fs::read_to_string(s.home.path().join("apply.jsonl")).unwrap();
    assert!(journal.contains("rewrite-secret-policy"));
    assert!(!journal.contains("BENCHMORECANARY"));
    for out in [&r.stdout, &r.stderr, &u.stdout, &u.stderr] {
        assert!(!out.contains("BENCHMORECANARY"));
    }
}

/// A secret deleted between plan and apply is drift, not an error and not a write.
#[test]
fn a_secret_gone_since_the_plan_is_drift() {
    let moto = moto();
    let s = setup(&moto);
    let only = s.arns["ops/agency-only"].as_str().unwrap();
    boto3(
        &moto,
        &format!("sm.delete_secret(SecretId={only:?}, ForceDeleteWithoutRecovery=True)"),
    );
    let r = s.apply_approved(&moto);
    let report = json(&r.stdout);
    let steps = grant_steps(&report, "ops/agency-only");
    assert_eq!(steps.len(), 1, "{report}");
    assert_eq!(steps[0]["outcome"], "drift", "{}", steps[0]);
    assert_eq!(
        policy_of(&moto, s.arns["ops/shared"].as_str().unwrap()),
        shared_policy_after(),
        "the other secret is still carried out"
    );
}
