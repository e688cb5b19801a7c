//! How tests/data/journal-v1/ was written (kept as a record; cargo does not build it).
//!
//! Run once at commit a1c1622, before journal entries became typed, by copying this file
//! to tests/gen_journal_v1.rs and running
//! `cargo test --test gen_journal_v1 -- --nocapture` with the emulators on PATH.
//! Every line of the journal is written by that commit's `handover migrate --apply`; the
//! expected records are that commit's `manifest::migrated_from` of it.

mod support;

use support::*;

const CUSTOMER: &str = "999988887777";

fn migrate(home: &std::path::Path, args: &[&str]) -> Run {
    run(handover_offline(home)
        .args(["migrate", "--format", "json"])
        .args(args))
}

#[test]
fn generate_journal_v1() {
    let gcp = gcp_server();
    let agency = Moto::start_account("210987654321");
    let customer = Moto::start_account(CUSTOMER);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::fs::write(
        h.join("aws-config"),
        format!("[profile agency]\nregion = us-east-1\nendpoint_url = {}\n\n[profile customer]\nregion = us-east-1\nendpoint_url = {}\n", agency.url, customer.url),
    )
    .unwrap();
    let creds = |customer_key: &str, customer_secret: &str| {
        std::fs::write(
            h.join("aws-credentials"),
            format!("[agency]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n[customer]\naws_access_key_id = {customer_key}\naws_secret_access_key = {customer_secret}\n"),
        )
        .unwrap()
    };
    creds("testing", "testing");
    let env = h.join("app.env");
    let envs = format!("dotenv:{}", env.display());
    let j = h.join("journal.jsonl");
    let js = j.to_str().unwrap().to_string();
    let url = gcp.url();
    let to_gcp = |extra: &[&str]| {
        let mut a = vec![
            "--from",
            envs.as_str(),
            "--to",
            "gcp:fixture-proj",
            "--gcp-endpoint",
            url.as_str(),
            "--apply",
            "--journal",
            js.as_str(),
        ];
        a.extend_from_slice(extra);
        migrate(h, &a)
    };
    // 1. create, create, empty-at-source (dotenv -> gcp).
    std::fs::write(&env, "A=CANARY-fx-a\nB=CANARY-fx-b\nEMPTY=\n").unwrap();
    let r = to_gcp(&["--all"]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    // 2. unchanged, conflict, create.
    std::fs::write(&env, "A=CANARY-fx-a\nB=CANARY-fx-b2\nC=CANARY-fx-c\n").unwrap();
    let r = to_gcp(&["--all"]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    // 3. new-version, missing-at-source.
    let r = to_gcp(&["--secret", "B", "--secret", "GONE", "--on-conflict", "new-version"]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    // 4. every version of an AWS secret (aws -> gcp), with a rename.
    boto3(&agency, "sm.create_secret(Name='fx/multi', SecretString='CANARY-fx-m1')\nsm.put_secret_value(SecretId='fx/multi', SecretString='CANARY-fx-m2')");
    let r = migrate(
        h,
        &[
            "--from", "aws:agency@us-east-1", "--to", "gcp:fixture-proj", "--gcp-endpoint", &url,
            "--secret", "fx/multi=multi", "--all-versions", "--apply", "--journal", &js,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // 5. aws -> aws, rotate-after-cutover not set, a binary value.
    boto3(&agency, "sm.create_secret(Name='fx/bin', SecretBinary=b'\\x00CANARY-fx-bin\\xff')");
    let r = migrate(
        h,
        &[
            "--from", "aws:agency@us-east-1", "--to", "aws:customer@us-east-1",
            "--secret", "fx/bin", "--apply", "--journal", &js,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // 6. An intent with no result: the destination refuses the write (dotenv -> aws).
    let out = boto3(
        &customer,
        &format!(
            "iam = boto3.client('iam', region_name='us-east-1', endpoint_url='{}', aws_access_key_id='testing', aws_secret_access_key='testing')\niam.create_user(UserName='reader')\niam.put_user_policy(UserName='reader', PolicyName='p', PolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': ['secretsmanager:ListSecrets', 'secretsmanager:BatchGetSecretValue', 'secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', 'sts:GetCallerIdentity'], 'Resource': '*'}}]}}))\nk = iam.create_access_key(UserName='reader')['AccessKey']\nprint(k['AccessKeyId'], k['SecretAccessKey'])",
            customer.url
        ),
    );
    let mut parts = out.split_whitespace();
    creds(parts.next().unwrap(), parts.next().unwrap());
    customer.enforce_permissions();
    let r = migrate(
        h,
        &[
            "--from", envs.as_str(), "--to", "aws:customer@us-east-1",
            "--secret", "C", "--apply", "--journal", &js, "--max-attempts", "1",
        ],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);

    // The fixture: the journal, its head, its sealed digest key, and what the manifest
    // made of it.
    let out = repo().join("tests/data/journal-v1");
    for (from, to) in [
        (j.clone(), "journal.jsonl"),
        (handover::journal::head_path(&j), "journal.jsonl.head"),
        (handover::migrate::key::key_path(&j), "journal.jsonl.key.age"),
    ] {
        std::fs::copy(&from, out.join(to)).unwrap();
    }
    let ids = handover::crypto::read_identities(&example_key("northwind-signing")).unwrap();
    let key = handover::migrate::key::open(&out.join("journal.jsonl"), &ids).unwrap();
    let (secrets, record) =
        handover::manifest::migrated_from(&out.join("journal.jsonl"), &key).unwrap();
    std::fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&serde_json::json!({"migrated_secrets": secrets, "journal": record})).unwrap() + "\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    assert!(!text.contains("CANARY"));
    println!("{text}");
}
