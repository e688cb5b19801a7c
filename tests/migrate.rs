//! `handover migrate` against real emulators: two moto accounts (agency and customer),
//! the GCP test server, dotenv files. Values include binary, JSON, 64 KiB and
//! non-ASCII; canaries must reach only the destination.

mod support;

use std::path::Path;

use serde_json::Value;
use support::*;

const CUSTOMER: &str = "999988887777";

/// A home with two profiles: `agency` (the source moto) and `customer` (the destination moto).
fn profiles(home: &Path, agency: &Moto, customer: &Moto) {
    std::fs::write(
        home.join("aws-config"),
        format!("[profile agency]\nregion = us-east-1\nendpoint_url = {}\n\n[profile customer]\nregion = us-east-1\nendpoint_url = {}\n", agency.url, customer.url),
    )
    .unwrap();
    std::fs::write(
        home.join("aws-credentials"),
        "[agency]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n[customer]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
}

/// Reads and verifies a journal (chain and head) under its digest key, opened with the
/// example agency's SSH key as `handover manifest` opens it.
fn open_journal(journal: &Path) -> Result<handover::journal::Replay, handover::error::Error> {
    let ids = handover::crypto::read_identities(&example_key("northwind-signing"))?;
    let key = handover::migrate::key::open(journal, &ids)?;
    handover::journal::Journal::read(journal, &handover::journal::ChainKey::derive(&key))
}

fn migrate(home: &Path, args: &[&str]) -> Run {
    run(handover_offline(home)
        .args(["migrate", "--format", "json"])
        .args(args))
}

fn value_of(moto: &Moto, name: &str) -> Option<Value> {
    let out = boto3(
        moto,
        &format!(
            "try:\n    v = sm.get_secret_value(SecretId='{name}')\n    print(json.dumps({{'s': v.get('SecretString'), 'b': base64.b64encode(v['SecretBinary']).decode() if 'SecretBinary' in v else None, 'versions': len(sm.list_secret_version_ids(SecretId='{name}')['Versions'])}}))\nexcept sm.exceptions.ResourceNotFoundException:\n    print('null')"
        ),
    );
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn aws_to_aws_across_accounts_dry_run_apply_idempotent_conflicts() {
    let agency = moto();
    let ids = seed(&agency);
    let customer = Moto::start_account(CUSTOMER);
    let home = tempfile::tempdir().unwrap();
    profiles(home.path(), &agency, &customer);
    let journal = home.path().join("journal.jsonl");
    let j = journal.to_str().unwrap();
    let base = ["--from", "agency@us-east-1", "--to", "customer@us-east-1"].map(|s| {
        if s.contains('@') {
            format!("aws:{s}")
        } else {
            s.to_string()
        }
    });
    let base: Vec<&str> = base.iter().map(String::as_str).collect();

    // Dry run: reports, writes nothing, no journal.
    let r = migrate(
        home.path(),
        &[&base[..], &["--all", "--journal", j]].concat(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r.stdout);
    assert_eq!(report["applied"], false);
    assert!(
        report["to"].as_str().unwrap().contains(CUSTOMER),
        "{report}"
    );
    assert_eq!(report["items"].as_array().unwrap().len(), 4);
    assert!(report["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["outcome"] == "create"));
    assert!(value_of(&customer, "prod/db-password").is_none());
    assert!(!journal.exists());

    // Apply: created, verified, values identical (text and binary).
    let r = migrate(
        home.path(),
        &[&base[..], &["--all", "--apply", "--journal", j]].concat(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r.stdout);
    assert!(
        report["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["outcome"] == "create" && i["verified"] == true),
        "{report}"
    );
    let canaries: Vec<String> = ids["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let db = value_of(&customer, "prod/db-password").unwrap();
    assert_eq!(db["s"].as_str().unwrap(), format!("{}-db", canaries[3]));
    let bin = value_of(&customer, "shared/analytics-token").unwrap();
    assert_eq!(
        bin["b"],
        value_of(&agency, "shared/analytics-token").unwrap()["b"]
    );
    assert!(bin["s"].is_null(), "binary stays binary");

    // Again: nothing to do, no new version.
    let r = migrate(
        home.path(),
        &[&base[..], &["--all", "--apply", "--journal", j]].concat(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(json(&r.stdout)["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["outcome"] == "unchanged"));
    assert_eq!(
        value_of(&customer, "prod/db-password").unwrap()["versions"],
        1
    );

    // A different value at the destination is a conflict: reported, exit 8, untouched.
    boto3(
        &customer,
        "sm.put_secret_value(SecretId='prod/stripe-key', SecretString='customer-own-value')",
    );
    let r = migrate(
        home.path(),
        &[
            &base[..],
            &["--secret", "prod/stripe-key", "--apply", "--journal", j],
        ]
        .concat(),
    );
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["items"][0]["outcome"], "conflict");
    assert_eq!(
        value_of(&customer, "prod/stripe-key").unwrap()["s"],
        "customer-own-value"
    );
    // Unless asked: a new version, never an overwrite of history.
    let r = migrate(
        home.path(),
        &[
            &base[..],
            &[
                "--secret",
                "prod/stripe-key",
                "--apply",
                "--on-conflict",
                "new-version",
                "--journal",
                j,
            ],
        ]
        .concat(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stripe = value_of(&customer, "prod/stripe-key").unwrap();
    assert_eq!(
        stripe["s"].as_str().unwrap(),
        format!("{}-stripe", canaries[3])
    );
    assert_eq!(stripe["versions"], 3);
    // The source was never touched.
    assert_eq!(
        value_of(&agency, "prod/db-password").unwrap()["versions"],
        1
    );

    // The journal verifies and holds no value.
    let text = std::fs::read_to_string(&journal).unwrap();
    for c in &canaries {
        assert!(!text.contains(c.as_str()), "a value reached the journal");
    }
    open_journal(&journal).expect("the chain verifies");
    let plan_rotate = migrate(
        home.path(),
        &[
            &base[..],
            &[
                "--plan",
                repo()
                    .join("examples/northwind-to-contoso/plan-full-transfer.json")
                    .to_str()
                    .unwrap(),
            ],
        ]
        .concat(),
    );
    // The example plan is of account 123456789012 = the agency moto's: its secrets are
    // marked rotate, so the copies are flagged for rotation after cutover.
    assert_eq!(plan_rotate.code, 0, "{}", plan_rotate.stderr);
    let items = json(&plan_rotate.stdout)["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 4, "the us-east-1 secrets of the plan");
    assert!(items.iter().all(|i| i["rotate_after_cutover"] == true));

    // Regression (issue 12 review): `migrate --plan` did not check the plan's digest, so
    // a plan edited after approval chose what was copied. Refused before any request.
    let mut edited: Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo().join("examples/northwind-to-contoso/plan-full-transfer.json"),
        )
        .unwrap(),
    )
    .unwrap();
    edited["steps"].as_array_mut().unwrap().truncate(1);
    let edited_path = home.path().join("edited-plan.json");
    std::fs::write(&edited_path, edited.to_string()).unwrap();
    let r = migrate(
        home.path(),
        &[&base[..], &["--plan", edited_path.to_str().unwrap()]].concat(),
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not match its digest"),
        "{}",
        r.stderr
    );
}

#[test]
fn aws_gcp_and_dotenv_in_every_direction_keep_values_exactly() {
    let agency = moto();
    let ids = seed(&agency);
    let gcp = gcp_server();
    let home = tempfile::tempdir().unwrap();
    let customer = Moto::start_account(CUSTOMER);
    profiles(home.path(), &agency, &customer);
    let url = gcp.url();
    let j = home.path().join("j.jsonl");
    let j = j.to_str().unwrap();
    // A dotenv file with non-ASCII, JSON and a 64 KiB value.
    let big: String = (0..65536)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let env = home.path().join(".env");
    std::fs::write(&env, format!("GREETING=\"grüße — 你好 CANARY-env-1\"\nCONFIG='{{\"k\": \"CANARY-env-2\", \"n\": 1}}'\nBIG={big}\n")).unwrap();
    let envs = format!("dotenv:{}", env.display());

    // AWS -> GCP (names mapped: `/` is not allowed in GCP ids).
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "gcp:contoso-shop-prod",
            "--gcp-endpoint",
            &url,
            "--all",
            "--apply",
            "--journal",
            j,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dests: Vec<String> = json(&r.stdout)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["destination"].as_str().unwrap().to_string())
        .collect();
    assert!(dests.contains(&"prod-db-password".to_string()), "{dests:?}");
    // dotenv -> GCP and dotenv -> AWS.
    let r = migrate(
        home.path(),
        &[
            "--from",
            &envs,
            "--to",
            "gcp:contoso-shop-prod",
            "--gcp-endpoint",
            &url,
            "--all",
            "--apply",
            "--journal",
            j,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = migrate(
        home.path(),
        &[
            "--from",
            &envs,
            "--to",
            "aws:customer@us-east-1",
            "--all",
            "--apply",
            "--journal",
            j,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        value_of(&customer, "GREETING").unwrap()["s"],
        "grüße — 你好 CANARY-env-1"
    );
    assert_eq!(
        value_of(&customer, "BIG").unwrap()["s"]
            .as_str()
            .unwrap()
            .len(),
        65536
    );
    assert_eq!(
        value_of(&customer, "CONFIG").unwrap()["s"],
        "{\"k\": \"CANARY-env-2\", \"n\": 1}"
    );
    // GCP -> AWS (back into the customer's AWS account) and GCP -> GCP (another project).
    let r = migrate(
        home.path(),
        &[
            "--from",
            "gcp:contoso-shop-prod",
            "--to",
            "aws:customer@us-east-1",
            "--gcp-endpoint",
            &url,
            "--secret",
            "shared-analytics-token",
            "--secret",
            "GREETING=greeting-from-gcp",
            "--apply",
            "--journal",
            j,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        value_of(&customer, "greeting-from-gcp").unwrap()["s"],
        "grüße — 你好 CANARY-env-1"
    );
    assert_eq!(
        value_of(&customer, "shared-analytics-token").unwrap()["b"],
        value_of(&agency, "shared/analytics-token").unwrap()["b"],
        "binary bytes survive AWS -> GCP -> AWS"
    );
    let r = migrate(
        home.path(),
        &[
            "--from",
            "gcp:contoso-shop-prod",
            "--to",
            "gcp:contoso-shop-next",
            "--gcp-endpoint",
            &url,
            "--all",
            "--apply",
            "--journal",
            j,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(json(&r.stdout)["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["verified"] == true));

    // Nothing but the destinations saw a value: outputs, journal.
    let mut canaries: Vec<String> = ids["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    canaries.extend(["CANARY-env-1".to_string(), "CANARY-env-2".to_string()]);
    let r = run(handover_offline(home.path())
        .env("RUST_LOG", "trace")
        .args([
            "-vvv",
            "migrate",
            "--format",
            "table",
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "gcp:contoso-shop-canary",
            "--gcp-endpoint",
            &url,
            "--all",
            "--apply",
            "--journal",
            j,
        ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("TRACE"));
    let journal = std::fs::read_to_string(j).unwrap();
    for text in [&r.stdout, &r.stderr, &journal] {
        for c in &canaries {
            assert!(!text.contains(c.as_str()), "canary {c} leaked");
        }
    }
}

#[test]
fn name_collisions_and_bad_selections_are_refused_before_anything_is_written() {
    let agency = moto();
    boto3(&agency, "sm.create_secret(Name='app/key', SecretString='x')\nsm.create_secret(Name='app-key', SecretString='y')");
    let gcp = gcp_server();
    let home = tempfile::tempdir().unwrap();
    let customer = Moto::start_account(CUSTOMER);
    profiles(home.path(), &agency, &customer);
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "gcp:contoso-shop-prod",
            "--gcp-endpoint",
            &gcp.url(),
            "--all",
            "--apply",
            "--journal",
            home.path().join("j.jsonl").to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("app-key and app/key -> app-key")
            || r.stderr.contains("app/key and app-key -> app-key"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--secret SOURCE=DEST"), "{}", r.stderr);
    // Overriding one name resolves it.
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "gcp:contoso-shop-prod",
            "--gcp-endpoint",
            &gcp.url(),
            "--secret",
            "app/key=app-key-slash",
            "--secret",
            "app-key",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for bad in [
        vec![
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "aws:customer@us-east-1",
        ],
        vec![
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "aws:customer@us-east-1",
            "--all",
            "--secret",
            "x",
        ],
        vec![
            "--from",
            "s3:bucket",
            "--to",
            "aws:customer@us-east-1",
            "--all",
        ],
        vec![
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "dotenv:/tmp/x.env",
            "--all",
        ],
    ] {
        let r = migrate(home.path(), &bad);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
        assert!(r.stderr.contains("hint:"));
    }
    let j = home.path().join("j.jsonl");
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "aws:customer@us-east-1",
            "--secret",
            "does-not-exist",
            "--apply",
            "--journal",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["items"][0]["outcome"], "missing-at-source");
}

/// Kill -9 at seeded points during an applied migration, then resume: every secret
/// arrives exactly once (one version), with its value.
#[test]
fn resume_after_kill_minus_9_ends_in_the_same_state_without_duplicates() {
    let gcp = gcp_server();
    let home = tempfile::tempdir().unwrap();
    let env = home.path().join(".env");
    const N: usize = 150;
    let vars: Vec<String> = (0..N)
        .map(|i| format!("VAR_{i:03}=value-{i}-CANARY-resume"))
        .collect();
    std::fs::write(&env, vars.join("\n") + "\n").unwrap();
    let envs = format!("dotenv:{}", env.display());
    let journal = home.path().join("j.jsonl");
    let mut interrupted = 0;
    for (round, delay_ms) in [(0, 60u64), (1, 150), (2, 300), (3, 500)] {
        let project = format!("resume-test-{round}");
        let args = [
            "migrate",
            "--format",
            "json",
            "--from",
            &envs,
            "--to",
            &format!("gcp:{project}"),
            "--gcp-endpoint",
            &gcp.url(),
            "--all",
            "--apply",
            "--journal",
            journal.to_str().unwrap(),
        ];
        let mut child = handover_offline(home.path())
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let r = run(handover_offline(home.path()).args(args));
        assert_eq!(r.code, 0, "resume failed: {}", r.stderr);
        let items = json(&r.stdout)["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), N);
        assert!(items.iter().all(|i| i["verified"] == true), "round {round}");
        // Exactly one version each.
        for i in 0..N {
            let (status, body) = http_get(
                &gcp.url(),
                &format!("/v1/projects/{project}/secrets/VAR_{i:03}/versions"),
            );
            assert!(status.contains("200"), "{status} {body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                v["versions"].as_array().map(|a| a.len()).unwrap_or(0),
                1,
                "VAR_{i:03} in round {round}: {body}"
            );
        }
        open_journal(&journal).expect("the journal still verifies after a kill");
    }
    assert!(
        interrupted >= 2,
        "only {interrupted} runs were killed mid-way: the test proves little"
    );
}

/// Creates a user with an inline policy on a moto server; returns its key pair.
fn user_with_policy(moto: &Moto, name: &str, policy: &str) -> (String, String) {
    let out = boto3(
        moto,
        &format!(
            "iam = boto3.client('iam', region_name='us-east-1', endpoint_url='{}', aws_access_key_id='testing', aws_secret_access_key='testing')\niam.create_user(UserName='{name}')\niam.put_user_policy(UserName='{name}', PolicyName='p', PolicyDocument={policy:?})\nk = iam.create_access_key(UserName='{name}')['AccessKey']\nprint(k['AccessKeyId'], k['SecretAccessKey'])",
            moto.url
        ),
    );
    let mut parts = out.split_whitespace();
    (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    )
}

#[test]
fn least_privilege_source_and_destination_policies_are_enough() {
    let agency = moto();
    seed(&agency);
    let customer = Moto::start_account(CUSTOMER);
    let src_policy =
        std::fs::read_to_string(repo().join("policies/permissions/aws-migrate-source.json"))
            .unwrap();
    let dst_policy =
        std::fs::read_to_string(repo().join("policies/permissions/aws-migrate-destination.json"))
            .unwrap();
    let (sk, ss) = user_with_policy(&agency, "migrate-reader", &src_policy);
    let (dk, ds) = user_with_policy(&customer, "migrate-writer", &dst_policy);
    agency.enforce_permissions();
    customer.enforce_permissions();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("aws-config"),
        format!("[profile agency]\nregion = us-east-1\nendpoint_url = {}\n\n[profile customer]\nregion = us-east-1\nendpoint_url = {}\n", agency.url, customer.url),
    )
    .unwrap();
    std::fs::write(
        home.path().join("aws-credentials"),
        format!("[agency]\naws_access_key_id = {sk}\naws_secret_access_key = {ss}\n\n[customer]\naws_access_key_id = {dk}\naws_secret_access_key = {ds}\n"),
    )
    .unwrap();
    let j = home.path().join("j.jsonl");
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "aws:customer@us-east-1",
            "--all",
            "--apply",
            "--journal",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(json(&r.stdout)["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["verified"] == true));
    // Unknown credentials at the destination are refused (the checks are on).
    let (nk, ns) = ("AKIAIOSFODNN7EXAMPLE", "wrong");
    std::fs::write(
        home.path().join("aws-credentials"),
        format!("[agency]\naws_access_key_id = {sk}\naws_secret_access_key = {ss}\n\n[customer]\naws_access_key_id = {nk}\naws_secret_access_key = {ns}\n"),
    )
    .unwrap();
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "aws:customer@us-east-1",
            "--all",
            "--max-attempts",
            "1",
        ],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
}

/// Faults between the tool and the destination (429, 503, dropped connections before
/// and after serving, at 20%): reads and writes are retried (a write that may have
/// landed is checked against the destination before it is sent again), so ONE run
/// converges by itself and every secret arrives exactly once.
/// Regression: create and add-version were not retried, so every run exited 5.
#[test]
fn under_injected_faults_every_secret_arrives_exactly_once() {
    let gcp = gcp_server();
    let home = tempfile::tempdir().unwrap();
    let env = home.path().join(".env");
    const N: usize = 30;
    std::fs::write(
        &env,
        (0..N)
            .map(|i| format!("K_{i:02}=v{i}"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
    )
    .unwrap();
    gcp.set_faults(Some(gcp_test_server::FaultConfig {
        rate: 0.2,
        seed: 7,
        // Drop-after-serve: the write lands but its answer is lost, the ambiguous case a
        // blind retry would turn into a second version.
        kinds: vec![
            gcp_test_server::FaultKind::TooManyRequests,
            gcp_test_server::FaultKind::Unavailable,
            gcp_test_server::FaultKind::Drop,
            gcp_test_server::FaultKind::DropAfterServe,
        ],
    }))
    .unwrap();
    let envs = format!("dotenv:{}", env.display());
    let j = home.path().join("j.jsonl");
    let r = migrate(
        home.path(),
        &[
            "--from",
            &envs,
            "--to",
            "gcp:faulty-project",
            "--gcp-endpoint",
            &gcp.url(),
            "--all",
            "--apply",
            "--journal",
            j.to_str().unwrap(),
            "--max-attempts",
            "8",
        ],
    );
    assert_eq!(
        r.code, 0,
        "one run converges within its retry budget: {}",
        r.stderr
    );
    let items = json(&r.stdout)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), N);
    assert!(
        items
            .iter()
            .all(|i| i["verified"] == true && i["outcome"] == "create"),
        "{items:?}"
    );
    let (_, faults) = http_get(&gcp.url(), "/_admin/faults");
    let faults: Value = serde_json::from_str(&faults).unwrap();
    gcp.set_faults(None).unwrap();
    assert!(
        faults["injectedByKind"]["drop-after-serve"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{faults}"
    );
    assert!(faults["injected"].as_u64().unwrap_or(0) > 5, "{faults}");
    for i in 0..N {
        let (_, body) = http_get(
            &gcp.url(),
            &format!("/v1/projects/faulty-project/secrets/K_{i:02}/versions"),
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["versions"].as_array().map(|a| a.len()).unwrap_or(0),
            1,
            "K_{i:02}: {body}"
        );
    }
}

/// The same with faults between the tool and both AWS accounts (fault proxy): reads and
/// writes are retried (the SDK's idempotency tokens make retried writes safe); a run
/// that still fails resumes; every secret arrives exactly once.
#[test]
fn aws_to_aws_under_injected_faults_every_secret_arrives_exactly_once() {
    use support::fault_proxy::{start, Fault};
    let agency = moto();
    boto3(
        &agency,
        "for i in range(40):\n    sm.create_secret(Name=f'app/s{i:02}', SecretString=f'value-{i}')",
    );
    let customer = Moto::start_account(CUSTOMER);
    let kinds = [Fault::Throttle, Fault::Unavailable, Fault::Drop];
    let (pa, pc) = (
        start(&agency.url, 0.2, 11, &kinds),
        start(&customer.url, 0.2, 12, &kinds),
    );
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("aws-config"),
        format!("[profile agency]\nregion = us-east-1\nendpoint_url = {}\n\n[profile customer]\nregion = us-east-1\nendpoint_url = {}\n", pa.url, pc.url),
    )
    .unwrap();
    std::fs::write(
        home.path().join("aws-credentials"),
        "[agency]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n[customer]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let j = home.path().join("j.jsonl");
    let mut done = false;
    for _ in 0..15 {
        let r = migrate(
            home.path(),
            &[
                "--from",
                "aws:agency@us-east-1",
                "--to",
                "aws:customer@us-east-1",
                "--all",
                "--apply",
                "--journal",
                j.to_str().unwrap(),
                "--max-attempts",
                "10",
            ],
        );
        if r.code == 0 {
            assert!(json(&r.stdout)["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["verified"] == true));
            done = true;
            break;
        }
        assert!(r.code == 5 || r.code == 4, "{}: {}", r.code, r.stderr);
    }
    assert!(done, "the migration never completed under faults");
    assert!(
        pa.injected.load(std::sync::atomic::Ordering::SeqCst)
            + pc.injected.load(std::sync::atomic::Ordering::SeqCst)
            > 5
    );
    for i in 0..40 {
        let v = value_of(&customer, &format!("app/s{i:02}")).unwrap();
        assert_eq!(v["s"], format!("value-{i}"));
        assert_eq!(v["versions"], 1, "app/s{i:02}");
    }
}

/// The customer's account reached the standard way: a profile with `role_arn` and
/// `source_profile`, assuming a role in the customer's account.
#[test]
fn destination_profile_with_role_arn_and_source_profile() {
    let agency = moto();
    boto3(
        &agency,
        "sm.create_secret(Name='app/token', SecretString='CANARY-role-path')",
    );
    let customer = Moto::start_account(CUSTOMER);
    boto3(
        &customer,
        &format!(
            "iam = boto3.client('iam', region_name='us-east-1', endpoint_url='{}', aws_access_key_id='testing', aws_secret_access_key='testing')\niam.create_role(RoleName='handover-migrate', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Principal': {{'AWS': 'arn:aws:iam::{CUSTOMER}:root'}}, 'Action': 'sts:AssumeRole'}}]}}))",
            customer.url
        ),
    );
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("aws-config"),
        format!(
            "[profile agency]\nregion = us-east-1\nendpoint_url = {a}\n\n[profile customer-base]\nregion = us-east-1\nendpoint_url = {c}\n\n[profile customer]\nregion = us-east-1\nendpoint_url = {c}\nrole_arn = arn:aws:iam::{CUSTOMER}:role/handover-migrate\nsource_profile = customer-base\n",
            a = agency.url,
            c = customer.url
        ),
    )
    .unwrap();
    std::fs::write(
        home.path().join("aws-credentials"),
        "[agency]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n[customer-base]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let j = home.path().join("j.jsonl");
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "aws:customer@us-east-1",
            "--all",
            "--apply",
            "--journal",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(json(&r.stdout)["to"].as_str().unwrap().contains(CUSTOMER));
    assert_eq!(
        value_of(&customer, "app/token").unwrap()["s"],
        "CANARY-role-path"
    );
    assert!(
        customer.requests()["by_action"]["AssumeRole"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "the role was assumed: {}",
        customer.requests()
    );
}

/// `--all-versions`: every enabled version, oldest first; a destination that holds a
/// prefix of them (a run that stopped) gets only the rest.
#[test]
fn all_enabled_versions_in_order_and_resume_from_a_prefix() {
    let gcp = gcp_server();
    let url = gcp.url();
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let (st, body) = http_post_json(
        &url,
        "/v1/projects/src-proj/secrets?secretId=multi",
        r#"{"replication":{"automatic":{}}}"#,
    );
    assert!(st.contains("200"), "{st} {body}");
    for v in ["v1-CANARY-mv", "v2-disabled", "v3-current"] {
        let (st, body) = http_post_json(
            &url,
            "/v1/projects/src-proj/secrets/multi:addVersion",
            &format!(r#"{{"payload":{{"data":"{}"}}}}"#, b64(v)),
        );
        assert!(st.contains("200"), "{st} {body}");
    }
    let (st, body) = http_post_json(
        &url,
        "/v1/projects/src-proj/secrets/multi/versions/2:disable",
        "{}",
    );
    assert!(st.contains("200"), "{st} {body}");
    // The destination already has the first version: a run that stopped after it.
    http_post_json(
        &url,
        "/v1/projects/dst-proj/secrets?secretId=multi",
        r#"{"replication":{"automatic":{}}}"#,
    );
    http_post_json(
        &url,
        "/v1/projects/dst-proj/secrets/multi:addVersion",
        &format!(r#"{{"payload":{{"data":"{}"}}}}"#, b64("v1-CANARY-mv")),
    );

    let home = tempfile::tempdir().unwrap();
    let j = home.path().join("j.jsonl");
    let args = [
        "--from",
        "gcp:src-proj",
        "--to",
        "gcp:dst-proj",
        "--gcp-endpoint",
        url.as_str(),
        "--all",
        "--all-versions",
        "--apply",
        "--journal",
        j.to_str().unwrap(),
    ];
    let r = migrate(home.path(), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let item = &json(&r.stdout)["items"][0];
    assert_eq!(
        item["outcome"], "new-version",
        "only the missing version is added: {item}"
    );
    assert_eq!(item["verified"], true);
    let (_, body) = http_get(&url, "/v1/projects/dst-proj/secrets/multi/versions");
    let versions: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        2,
        "v1 and v3; the disabled v2 is not copied: {body}"
    );
    // Again: nothing to do.
    let r = migrate(home.path(), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["items"][0]["outcome"], "unchanged");
    assert!(!std::fs::read_to_string(&j).unwrap().contains("CANARY-mv"));
}

#[test]
fn all_versions_from_aws_are_its_labelled_versions_oldest_first() {
    let agency = moto();
    boto3(&agency, "sm.create_secret(Name='app/rotating', SecretString='first')\nsm.put_secret_value(SecretId='app/rotating', SecretString='second')\nsm.put_secret_value(SecretId='app/rotating', SecretString='third')");
    let gcp = gcp_server();
    let home = tempfile::tempdir().unwrap();
    let customer = Moto::start_account(CUSTOMER);
    profiles(home.path(), &agency, &customer);
    let j = home.path().join("j.jsonl");
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "gcp:dst-proj",
            "--gcp-endpoint",
            &gcp.url(),
            "--all",
            "--all-versions",
            "--apply",
            "--journal",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["items"][0]["verified"], true);
    // AWSPREVIOUS then AWSCURRENT; the unlabelled first version is deprecated.
    let (_, body) = http_get(
        &gcp.url(),
        "/v1/projects/dst-proj/secrets/app-rotating/versions/1:access",
    );
    assert!(body.contains(&base64_of("second")), "{body}");
    let (_, body) = http_get(
        &gcp.url(),
        "/v1/projects/dst-proj/secrets/app-rotating/versions/latest:access",
    );
    assert!(body.contains(&base64_of("third")), "{body}");
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Kill -9 while writing into AWS, then resume: one version per secret.
#[test]
fn resume_into_aws_after_kill_minus_9_without_duplicates() {
    let customer = moto();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("aws-config"),
        format!(
            "[profile customer]\nregion = us-east-1\nendpoint_url = {}\n",
            customer.url
        ),
    )
    .unwrap();
    std::fs::write(
        home.path().join("aws-credentials"),
        "[customer]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    const N: usize = 120;
    let env = home.path().join(".env");
    std::fs::write(
        &env,
        (0..N)
            .map(|i| format!("S_{i:03}=value-{i}"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
    )
    .unwrap();
    let envs = format!("dotenv:{}", env.display());
    let journal = home.path().join("j.jsonl");
    let args = [
        "migrate",
        "--format",
        "json",
        "--from",
        &envs,
        "--to",
        "aws:customer@us-east-1",
        "--all",
        "--apply",
        "--journal",
        journal.to_str().unwrap(),
    ];
    let mut interrupted = 0;
    for delay_ms in [200u64, 500, 900] {
        let mut child = handover_offline(home.path())
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let r = run(handover_offline(home.path()).args(args));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(json(&r.stdout)["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["verified"] == true));
    assert!(interrupted >= 1, "no run was killed mid-way");
    let counts = boto3(&customer, "print(json.dumps([len(sm.list_secret_version_ids(SecretId=f'S_{i:03}')['Versions']) for i in range(120)]))");
    let counts: Vec<u64> = serde_json::from_str(counts.trim()).unwrap();
    assert!(counts.iter().all(|c| *c == 1), "{counts:?}");
    open_journal(&journal).expect("the journal verifies");
}

#[test]
fn the_digest_key_is_per_handover_sealed_beside_the_journal_and_required() {
    let gcp = gcp_server();
    let home = tempfile::tempdir().unwrap();
    let env = home.path().join(".env");
    std::fs::write(&env, "A=CANARY-key-1\nB=CANARY-key-2\n").unwrap();
    let envs = format!("dotenv:{}", env.display());
    let j = home.path().join("j.jsonl");
    let args = [
        "--from",
        envs.as_str(),
        "--to",
        "gcp:key-proj",
        "--gcp-endpoint",
        &gcp.url(),
        "--all",
        "--apply",
        "--journal",
        j.to_str().unwrap(),
    ];
    // Without the agency's identity nothing is written.
    let r = run(handover_offline(home.path())
        .env_remove("HANDOVER_IDENTITY")
        .args(["migrate", "--format", "json"])
        .args(args));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("-i AGENCY_SSH_KEY"), "{}", r.stderr);
    assert!(!j.exists());
    // Another SSH key than the config's signing_key is refused.
    let r = run(handover_offline(home.path())
        .env("HANDOVER_IDENTITY", example_key("contoso-security-ssh"))
        .args(["migrate", "--format", "json"])
        .args(args));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("not the private half of [agency] signing_key"),
        "{}",
        r.stderr
    );

    let r = migrate(home.path(), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let key_file = home.path().join("j.jsonl.key.age");
    let sealed = std::fs::read_to_string(&key_file).unwrap();
    assert!(
        sealed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "armored age"
    );
    // The customer opens it with the reference age CLI; the key names itself in the journal.
    let out = age_cli()
        .args(["-d", "-i"])
        .arg(example_key("contoso-security.agekey"))
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain = String::from_utf8(out.stdout).unwrap();
    assert!(
        plain.starts_with("handover-digest-key/v1\n") && plain.lines().nth(1).unwrap().len() == 64
    );
    let journal = std::fs::read_to_string(&j).unwrap();
    assert!(
        !journal.contains(plain.lines().nth(1).unwrap()),
        "the key is never in the journal"
    );
    // A second run (a new secret) uses the same key.
    std::fs::write(&env, "A=CANARY-key-1\nB=CANARY-key-2\nC=CANARY-key-3\n").unwrap();
    let r = migrate(home.path(), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ids: std::collections::BTreeSet<String> = std::fs::read_to_string(&j)
        .unwrap()
        .lines()
        .map(|l| json(l)["data"]["digest_key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one key for the whole handover: {ids:?}");
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        sealed,
        "the key file is never rewritten"
    );
    // A journal whose key is lost is refused rather than continued under a new key.
    std::fs::remove_file(&key_file).unwrap();
    let r = migrate(home.path(), &args);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("digest key is missing"), "{}", r.stderr);
    for f in walk(home.path()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("CANARY-key") || f == env,
            "{} holds a value",
            f.display()
        );
    }
}

/// The GCP roles in `policies/permissions/gcp-migrate-roles.yaml`, under the GCP test
/// server's IAM enforcement: a caller bound to the source role on the agency's project
/// and the destination role on the customer's copies everything, verified; without a
/// token, or with the source role only at the destination, it is refused with exit 4.
#[test]
fn least_privilege_gcp_roles_are_enough_and_enforced() {
    let gcp = gcp_server();
    let url = gcp.url();
    let roles: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(repo().join("policies/permissions/gcp-migrate-roles.yaml"))
            .unwrap(),
    )
    .unwrap();
    let perms = |which: &str| -> Vec<String> {
        roles[which]["includedPermissions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect()
    };
    // Seed the source, and bind the roles, before enforcement starts.
    let (st, body) = http_post_json(
        &url,
        "/_admin/seed",
        r#"{"projects":[{"projectId":"agency-proj"},{"projectId":"customer-proj"}]}"#,
    );
    assert!(st.contains("200"), "{st} {body}");
    for (name, value) in [
        ("db-password", "CANARY-gcp-lp-1"),
        ("api-token", "CANARY-gcp-lp-2"),
    ] {
        http_post_json(
            &url,
            &format!("/v1/projects/agency-proj/secrets?secretId={name}"),
            r#"{"replication":{"automatic":{}}}"#,
        );
        let (st, body) = http_post_json(
            &url,
            &format!("/v1/projects/agency-proj/secrets/{name}:addVersion"),
            &format!(r#"{{"payload":{{"data":"{}"}}}}"#, base64_of(value)),
        );
        assert!(st.contains("200"), "{st} {body}");
    }
    let migrator = "serviceAccount:migrator@agency-proj.iam.gserviceaccount.com";
    let reader = "serviceAccount:reader@agency-proj.iam.gserviceaccount.com";
    // Google refuses a binding to a service account that does not exist.
    for id in ["migrator", "reader"] {
        let (st, body) = http_post_json(
            &url,
            "/v1/projects/agency-proj/serviceAccounts",
            &format!(r#"{{"accountId":"{id}"}}"#),
        );
        assert!(st.contains("200"), "{st} {body}");
    }
    let bind = |project: &str, bindings: &str| {
        let (st, body) = http_post_json(
            &url,
            &format!("/v1/projects/{project}:setIamPolicy"),
            &format!(r#"{{"policy":{{"bindings":[{bindings}]}}}}"#),
        );
        assert!(st.contains("200"), "{st} {body}");
    };
    bind(
        "agency-proj",
        &format!(
            r#"{{"role":"projects/agency-proj/roles/handoverMigrateSource","members":["{migrator}","{reader}"]}}"#
        ),
    );
    bind(
        "customer-proj",
        &format!(
            r#"{{"role":"projects/customer-proj/roles/handoverMigrateDestination","members":["{migrator}"]}},{{"role":"projects/customer-proj/roles/handoverMigrateSource","members":["{reader}"]}}"#
        ),
    );
    let config = serde_json::json!({
        "tokens": {"migrator-token": migrator, "reader-token": reader},
        "roles": {
            "projects/agency-proj/roles/handoverMigrateSource": perms("source"),
            "projects/customer-proj/roles/handoverMigrateSource": perms("source"),
            "projects/customer-proj/roles/handoverMigrateDestination": perms("destination"),
        }
    });
    let (st, body) = http_post_json(&url, "/_admin/iam", &config.to_string());
    assert!(st.contains("200"), "{st} {body}");

    let home = tempfile::tempdir().unwrap();
    let j = home.path().join("j.jsonl");
    let args = [
        "--from",
        "gcp:agency-proj",
        "--to",
        "gcp:customer-proj",
        "--gcp-endpoint",
        url.as_str(),
        "--all",
        "--apply",
        "--journal",
        j.to_str().unwrap(),
    ];
    let with_token = |token: Option<&str>| {
        let mut cmd = handover_offline(home.path());
        if let Some(t) = token {
            cmd.env("HANDOVER_GCP_ACCESS_TOKEN", t);
        }
        // At trace level: the token must not show up in any log line.
        run(cmd.args(["-vvv", "migrate", "--format", "json"]).args(args))
    };
    let r = with_token(None);
    assert_eq!(r.code, 4, "no token, no access: {}", r.stderr);
    let r = with_token(Some("reader-token"));
    assert_eq!(r.code, 4, "the source role cannot write: {}", r.stderr);
    assert!(
        r.stderr.contains("secretmanager.secrets.create") || r.stderr.contains("denied"),
        "{}",
        r.stderr
    );
    let r = with_token(Some("migrator-token"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let items = json(&r.stdout)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|i| i["outcome"] == "create" && i["verified"] == true),
        "{items:?}"
    );
    // A second run reads the destination and does nothing.
    let r = with_token(Some("migrator-token"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        json(&r.stdout)["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["outcome"] == "unchanged"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stderr.contains("migrator-token") && !r.stderr.contains("CANARY-gcp-lp"),
        "neither the token nor a value is logged"
    );
    // Every enabled version needs the version lists on both sides, which the roles grant.
    let mut cmd = handover_offline(home.path());
    let r = run(cmd
        .env("HANDOVER_GCP_ACCESS_TOKEN", "migrator-token")
        .args(["migrate", "--format", "json", "--all-versions"])
        .args(args));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        json(&r.stdout)["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["outcome"] == "unchanged"),
        "{}",
        r.stdout
    );
}

/// Copies are verified by batched read-back: 45 secrets into a fresh AWS account cost
/// ceil(45/20) BatchGetSecretValue calls to see what exists and as many to read back,
/// not one per secret.
#[test]
fn aws_read_back_is_batched() {
    let agency = moto();
    boto3(&agency, "for i in range(45):\n    sm.create_secret(Name=f'bulk/secret-{i:02}', SecretString=f'CANARY-bulk-{i}')");
    let customer = Moto::start_account(CUSTOMER);
    let home = tempfile::tempdir().unwrap();
    profiles(home.path(), &agency, &customer);
    let j = home.path().join("j.jsonl");
    let before = customer.requests();
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "aws:customer@us-east-1",
            "--all",
            "--apply",
            "--journal",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let items = json(&r.stdout)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 45);
    assert!(items
        .iter()
        .all(|i| i["outcome"] == "create" && i["verified"] == true));
    let after = customer.requests();
    let spent = |a: &str| {
        after["by_action"][a].as_u64().unwrap_or(0) - before["by_action"][a].as_u64().unwrap_or(0)
    };
    let batch_gets = spent("secretsmanager.BatchGetSecretValue");
    assert!(
        batch_gets <= 6,
        "45 secrets: 3 existence batches and 3 read-back batches expected, saw {batch_gets}"
    );
    assert_eq!(spent("secretsmanager.CreateSecret"), 45);
    // Each result is journaled after its intent, with the destination digest.
    let journal = std::fs::read_to_string(&j).unwrap();
    let results: Vec<Value> = journal
        .lines()
        .map(json)
        .filter(|e| e["phase"] == "result")
        .collect();
    assert_eq!(results.len(), 45);
    assert!(results.iter().all(|e| e["data"]["verified"] == true
        && e["data"]["destination_digest"] == e["data"]["source_digest"]));
}

// Regression: a journal cut by whole lines, or edited with its chain recomputed, was
// accepted (the chain was unkeyed SHA-256 with no recorded end). Resume refuses it and
// writes nothing; the original resumes; a journal of the old format is refused by name.
#[test]
fn a_journal_cut_short_or_rewritten_is_refused_on_resume() {
    let gcp = gcp_server();
    let home = tempfile::tempdir().unwrap();
    let env = home.path().join(".env");
    std::fs::write(&env, "A=CANARY-j-1\nB=CANARY-j-2\nC=CANARY-j-3\n").unwrap();
    let envs = format!("dotenv:{}", env.display());
    let j = home.path().join("j.jsonl");
    let args = [
        "--from",
        envs.as_str(),
        "--to",
        "gcp:journal-proj",
        "--gcp-endpoint",
        &gcp.url(),
        "--all",
        "--apply",
        "--journal",
        j.to_str().unwrap(),
    ];
    let r = migrate(home.path(), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let original = std::fs::read_to_string(&j).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    assert_eq!(open_journal(&j).unwrap().entries.len(), lines.len());
    assert!(
        json(lines[0])["mac"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:"),
        "a keyed chain"
    );
    std::fs::write(
        &env,
        "A=CANARY-j-1\nB=CANARY-j-2\nC=CANARY-j-3\nD=CANARY-j-4\n",
    )
    .unwrap();
    let refused = |content: String, expected: &str| {
        std::fs::write(&j, content).unwrap();
        let r = migrate(home.path(), &args);
        assert_eq!(r.code, 3, "{}", r.stderr);
        assert!(
            r.stderr.contains(expected) && r.stderr.contains("hint:"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("CANARY"));
        let (status, _) = http_get(&gcp.url(), "/v1/projects/journal-proj/secrets/D");
        assert!(
            status.contains("404"),
            "nothing was written after the refusal: {status}"
        );
    };
    // The last whole line removed, then all but the first.
    refused(
        lines[..lines.len() - 1]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect(),
        "whole lines were removed",
    );
    refused(format!("{}\n", lines[0]), "whole lines were removed");
    // An entry edited (its outcome), its MAC left as it was.
    let edited = original.replacen("\"outcome\":\"create\"", "\"outcome\":\"unchanged\"", 1);
    assert_ne!(edited, original);
    refused(edited, "does not verify");
    // The original resumes; a torn last line (a crash mid-append) is still tolerated.
    std::fs::write(
        &j,
        format!("{original}{{\"seq\":{},\"at\":\"20", lines.len()),
    )
    .unwrap();
    let r = migrate(home.path(), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let replay = open_journal(&j).unwrap();
    assert!(replay.entries.len() > lines.len() && !replay.torn_tail);
    // A journal in the earlier unkeyed format.
    let old = home.path().join("old.jsonl");
    std::fs::write(&old, "{\"seq\":0,\"at\":\"2026-01-01T00:00:00Z\",\"op\":\"migrate-secret\",\"phase\":\"intent\",\"key\":\"a\",\"data\":{},\"prev\":\"sha256:00\",\"hash\":\"sha256:11\"}\n").unwrap();
    let old_args = [
        "--from",
        envs.as_str(),
        "--to",
        "gcp:journal-proj",
        "--gcp-endpoint",
        &gcp.url(),
        "--all",
        "--apply",
        "--journal",
        old.to_str().unwrap(),
    ];
    let r = migrate(home.path(), &old_args);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("earlier unkeyed format") && r.stderr.contains("start a new journal"),
        "{}",
        r.stderr
    );
}

// ------------------------------------------------------------------ issue 11 / issue 10 item 12: versions, empty values, resumable destinations

/// Adds versions to a GCP test server secret (created first), with plain HTTP.
fn gcp_secret_with_versions(url: &str, project: &str, id: &str, values: &[&str]) {
    let (st, body) = http_post_json(
        url,
        &format!("/v1/projects/{project}/secrets?secretId={id}"),
        r#"{"replication":{"automatic":{}}}"#,
    );
    assert!(st.contains("200"), "{st} {body}");
    for v in values {
        let (st, body) = http_post_json(
            url,
            &format!("/v1/projects/{project}/secrets/{id}:addVersion"),
            &format!(r#"{{"payload":{{"data":"{}"}}}}"#, base64_of(v)),
        );
        assert!(st.contains("200"), "{st} {body}");
    }
}

/// The journal's last result entry per destination name.
fn journal_results(path: &Path) -> std::collections::BTreeMap<String, Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["phase"] == "result")
        .map(|e| {
            (
                e["data"]["destination"].as_str().unwrap().to_string(),
                e["data"].clone(),
            )
        })
        .collect()
}

/// On Google, `versions/latest` is the newest CREATED version: when it is disabled or
/// destroyed, accessing it fails (400 FAILED_PRECONDITION). The tool reads the newest
/// ENABLED version by number and names it in the journal.
/// Regression: the tool read `latest`, which the test server wrongly answered with the
/// newest enabled version; on real GCP such a migration failed or read the wrong value.
#[test]
fn gcp_source_whose_newest_version_is_disabled_or_destroyed_copies_the_newest_enabled_one() {
    let gcp = gcp_server();
    let url = gcp.url();
    gcp_secret_with_versions(
        &url,
        "src-latest",
        "newest-disabled",
        &["d1", "d2-CANARY-latest", "d3-disabled"],
    );
    gcp_secret_with_versions(
        &url,
        "src-latest",
        "newest-destroyed",
        &["x1", "x2-CANARY-latest", "x3-destroyed"],
    );
    let (st, body) = http_post_json(
        &url,
        "/v1/projects/src-latest/secrets/newest-disabled/versions/3:disable",
        "{}",
    );
    assert!(st.contains("200"), "{st} {body}");
    let (st, body) = http_post_json(
        &url,
        "/v1/projects/src-latest/secrets/newest-destroyed/versions/3:destroy",
        "{}",
    );
    assert!(st.contains("200"), "{st} {body}");
    let agency = moto();
    let customer = Moto::start_account(CUSTOMER);
    let home = tempfile::tempdir().unwrap();
    profiles(home.path(), &agency, &customer);
    let j = home.path().join("j.jsonl");

    // GCP -> GCP and GCP -> AWS: the newest enabled version (2) arrives.
    for (to, read) in [("gcp:dst-latest", "gcp"), ("aws:customer@us-east-1", "aws")] {
        let r = migrate(
            home.path(),
            &[
                "--from",
                "gcp:src-latest",
                "--to",
                to,
                "--gcp-endpoint",
                &url,
                "--all",
                "--apply",
                "--journal",
                j.to_str().unwrap(),
            ],
        );
        assert_eq!(r.code, 0, "{to}: {}", r.stderr);
        let items = json(&r.stdout)["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 2);
        for i in &items {
            assert_eq!(i["outcome"], "create", "{i}");
            assert_eq!(i["verified"], true, "{i}");
            assert_eq!(
                i["source_version"], "2",
                "the version copied is named by number: {i}"
            );
        }
        for (id, want) in [
            ("newest-disabled", "d2-CANARY-latest"),
            ("newest-destroyed", "x2-CANARY-latest"),
        ] {
            let got = if read == "gcp" {
                let (_, body) = http_get(
                    &url,
                    &format!("/v1/projects/dst-latest/secrets/{id}/versions/1:access"),
                );
                body.contains(&base64_of(want))
            } else {
                value_of(&customer, id).unwrap()["s"] == want
            };
            assert!(got, "{to} {id} holds the newest enabled source version");
        }
    }
    // The journal names the source version by number, never `latest`, and the version
    // written (read back by that number).
    let results = journal_results(&j);
    for id in ["newest-disabled", "newest-destroyed"] {
        assert_eq!(results[id]["source_version"], "2", "{}", results[id]);
        assert!(results[id]["version"].is_string(), "{}", results[id]);
        assert_eq!(results[id]["verified"], true);
    }
    let text = std::fs::read_to_string(&j).unwrap();
    assert!(
        !text.contains("\"latest\"")
            && !text.contains("/latest")
            && !text.contains("CANARY-latest"),
        "no alias and no value in the journal"
    );

    // verify-side reads go through the same read: the GCP destination's current value
    // is its newest enabled version even when a newer one is disabled.
    let (st, body) = http_post_json(
        &url,
        "/v1/projects/dst-latest/secrets/newest-disabled:addVersion",
        &format!(r#"{{"payload":{{"data":"{}"}}}}"#, base64_of("later")),
    );
    assert!(st.contains("200"), "{st} {body}");
    http_post_json(
        &url,
        "/v1/projects/dst-latest/secrets/newest-disabled/versions/2:disable",
        "{}",
    );
    let r = migrate(
        home.path(),
        &[
            "--from",
            "gcp:src-latest",
            "--to",
            "gcp:dst-latest",
            "--gcp-endpoint",
            &url,
            "--secret",
            "newest-disabled",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        json(&r.stdout)["items"][0]["outcome"],
        "unchanged",
        "version 1 (enabled) holds the value"
    );
}

/// A source secret with no enabled version is missing at the source: reported per
/// secret with a detail and a hint, exit 8, not an API error.
#[test]
fn gcp_source_with_no_enabled_version_is_missing_at_the_source() {
    let gcp = gcp_server();
    let url = gcp.url();
    gcp_secret_with_versions(&url, "src-none", "all-disabled", &["only"]);
    http_post_json(
        &url,
        "/v1/projects/src-none/secrets/all-disabled/versions/1:disable",
        "{}",
    );
    gcp_secret_with_versions(&url, "src-none", "fine", &["ok-value"]);
    let home = tempfile::tempdir().unwrap();
    let j = home.path().join("j.jsonl");
    let r = migrate(
        home.path(),
        &[
            "--from",
            "gcp:src-none",
            "--to",
            "gcp:dst-none",
            "--gcp-endpoint",
            &url,
            "--all",
            "--apply",
            "--journal",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 8, "{}", r.stderr);
    let items = json(&r.stdout)["items"].as_array().unwrap().clone();
    let none = items
        .iter()
        .find(|i| i["source"] == "all-disabled")
        .unwrap();
    assert_eq!(none["outcome"], "missing-at-source", "{none}");
    let detail = none["detail"].as_str().unwrap();
    assert!(
        detail.contains("no version is enabled")
            && detail.contains("DISABLED")
            && detail.contains("hint:"),
        "{detail}"
    );
    let fine = items.iter().find(|i| i["source"] == "fine").unwrap();
    assert_eq!(fine["verified"], true, "the other secret is copied: {fine}");
    let (st, _) = http_get(&url, "/v1/projects/dst-none/secrets/all-disabled");
    assert!(st.contains("404"), "nothing was created for it: {st}");
    // The table says why, with the hint.
    let t = run(handover_offline(home.path()).args([
        "migrate",
        "--format",
        "table",
        "--from",
        "gcp:src-none",
        "--to",
        "gcp:dst-none",
        "--gcp-endpoint",
        &url,
        "--secret",
        "all-disabled",
    ]));
    assert_eq!(t.code, 8, "{}", t.stderr);
    assert!(
        t.stdout.contains("missing-at-source") && t.stdout.contains("hint: enable the version"),
        "{}",
        t.stdout
    );
}

/// Neither cloud stores an empty value (GCP: 400 "Field [payload] is required."; AWS:
/// SecretString/SecretBinary are at least 1 long): an empty source value is reported
/// `empty-at-source` with a hint, exit 8, and nothing is created for it.
/// Regression: an empty value migrated into AWS left a secret with no version.
#[test]
fn empty_source_values_are_reported_not_copied_on_both_clouds() {
    let gcp = gcp_server();
    let customer = Moto::start_account(CUSTOMER);
    let agency = moto();
    let home = tempfile::tempdir().unwrap();
    profiles(home.path(), &agency, &customer);
    let env = home.path().join(".env");
    std::fs::write(&env, "EMPTY_ONE=\nFULL_ONE=CANARY-full\n").unwrap();
    let envs = format!("dotenv:{}", env.display());
    let j = home.path().join("j.jsonl");
    for to in ["aws:customer@us-east-1", "gcp:dst-empty"] {
        for _run in 0..2 {
            let r = migrate(
                home.path(),
                &[
                    "--from",
                    &envs,
                    "--to",
                    to,
                    "--gcp-endpoint",
                    &gcp.url(),
                    "--all",
                    "--apply",
                    "--journal",
                    j.to_str().unwrap(),
                ],
            );
            assert_eq!(r.code, 8, "{to}: {}", r.stderr);
            let items = json(&r.stdout)["items"].as_array().unwrap().clone();
            let empty = items.iter().find(|i| i["source"] == "EMPTY_ONE").unwrap();
            assert_eq!(empty["outcome"], "empty-at-source", "{empty}");
            assert!(
                empty["detail"].as_str().unwrap().contains("hint:"),
                "{empty}"
            );
            let full = items.iter().find(|i| i["source"] == "FULL_ONE").unwrap();
            assert_eq!(full["verified"], true, "{full}");
        }
    }
    assert!(
        value_of(&customer, "EMPTY_ONE").is_none(),
        "no secret without a version is left in AWS"
    );
    let (st, _) = http_get(&gcp.url(), "/v1/projects/dst-empty/secrets/EMPTY_ONE");
    assert!(st.contains("404"), "{st}");
    assert_eq!(
        journal_results(&j)["EMPTY_ONE"]["outcome"],
        "empty-at-source"
    );
}

/// A destination secret that exists with no current version (a run stopped between
/// creating it and storing its value, or an older run's empty value) is resumable: the
/// value goes in as its first version.
/// Regression: every rerun failed on CreateSecret's ResourceExistsException.
#[test]
fn aws_destination_secret_without_a_version_is_resumed() {
    let agency = moto();
    boto3(
        &agency,
        "sm.create_secret(Name='app/resume-me', SecretString='CANARY-resume')",
    );
    let customer = Moto::start_account(CUSTOMER);
    boto3(&customer, "sm.create_secret(Name='app/resume-me')");
    let home = tempfile::tempdir().unwrap();
    profiles(home.path(), &agency, &customer);
    let j = home.path().join("j.jsonl");
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "aws:customer@us-east-1",
            "--secret",
            "app/resume-me",
            "--apply",
            "--journal",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let item = &json(&r.stdout)["items"][0];
    assert_eq!(item["verified"], true, "{item}");
    let v = value_of(&customer, "app/resume-me").unwrap();
    assert_eq!(v["s"], "CANARY-resume");
    assert_eq!(v["versions"], 1);
    let r = migrate(
        home.path(),
        &[
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "aws:customer@us-east-1",
            "--secret",
            "app/resume-me",
            "--apply",
            "--journal",
            j.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r.stdout)["items"][0]["outcome"], "unchanged");
}
