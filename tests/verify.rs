//! End to end on the emulators: audit, plan, migrate, manifest, the agency carries out
//! its part, and the customer's `verify` passes; then each tampering is caught with its
//! own message: an agency key re-added, a secret value changed at the destination, the
//! manifest edited, a recipient dropped, a signature from another key, a document
//! changed. Canary values appear only in the encrypted manifest's source systems and the
//! destination.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::*;

const AGE_PK: &str = "age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3";
const PROJECT: &str = "contoso-verify";
const CANARIES: [&str; 2] = ["CANARY-verify-db-9c2", "CANARY-verify-api-41a"];

fn iam(moto: &Moto, script: &str) -> String {
    boto3(moto, &format!("iam = boto3.client('iam', region_name='us-east-1', endpoint_url=sm.meta.endpoint_url, aws_access_key_id='testing', aws_secret_access_key='testing')\n{script}"))
}

fn ssh_pub() -> String {
    std::fs::read_to_string(example_key("contoso-security-ssh.pub"))
        .unwrap()
        .trim()
        .to_string()
}

fn write_config(home: &Path) -> PathBuf {
    let signer = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
    std::fs::create_dir_all(home.join("docs")).unwrap();
    std::fs::write(
        home.join("docs/slo.md"),
        "# SLO\n99.9% of checkouts succeed.\n",
    )
    .unwrap();
    std::fs::create_dir_all(home.join("docs/playbooks")).unwrap();
    std::fs::write(home.join("docs/playbooks/restart.md"), "# Restart\n").unwrap();
    let p = home.join("handover.toml");
    std::fs::write(
        &p,
        format!(
            r#"scenario = "full-transfer"
# In the future, so work not done yet is pending rather than failed.
handover_date = "2027-06-01"

[agency]
name = "Northwind"
email_domains = ["northwind-agency.example"]
name_patterns = ["*.agency"]
signing_key = "{}"

[customer]
name = "Contoso"
email_domains = ["contoso.example"]
aws_accounts = ["123456789012"]
gcp_projects = ["{PROJECT}"]
name_patterns = ["*.customer"]

[recipients]
keys = ["{AGE_PK}", "{}"]

[documentation]
slo = "docs/slo.md"
playbooks = ["docs/playbooks"]
postmortems = []
"#,
            signer.trim(),
            ssh_pub()
        ),
    )
    .unwrap();
    p
}

fn set_project_policy(url: &str, bindings: &str) {
    let (status, body) = http_post_json(
        url,
        &format!("/v1/projects/{PROJECT}:setIamPolicy"),
        &format!(r#"{{"policy":{{"version":3,"bindings":[{bindings}]}}}}"#),
    );
    assert!(status.contains("200"), "{status} {body}");
}

/// The agency's live audit of the AWS account and the GCP project, to `h/inventory.json`.
fn audit(moto: &Moto, h: &Path, url: &str) -> PathBuf {
    let inv = h.join("inventory.json");
    let r = run(handover(moto, h)
        .args([
            "audit",
            "--aws",
            "--region",
            "us-east-1",
            "--gcp-project",
            PROJECT,
            "--gcp-endpoint",
            url,
            "--format",
            "json",
            "-o",
        ])
        .arg(&inv));
    assert_eq!(r.code, 0, "{}", r.stderr);
    inv
}

/// The full-transfer plan of `inv` under `cfg`, to `h/NAME`.
fn plan(h: &Path, inv: &Path, cfg: &Path, name: &str) -> PathBuf {
    let plan = h.join(name);
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--inventory")
        .arg(inv)
        .arg("--config")
        .arg(cfg)
        .arg("-o")
        .arg(&plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    plan
}

fn claims<'a>(v: &'a Value, kind: &str) -> Vec<&'a Value> {
    v["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .collect()
}

fn failures(v: &Value) -> Vec<String> {
    v["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| format!("{} {}: {}", c["kind"], c["subject"], c["detail"]))
        .collect()
}

fn age_decrypt(file: &Path) -> Vec<u8> {
    let o = age_cli()
        .args(["-d", "-i"])
        .arg(example_key("contoso-security.agekey"))
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

fn age_encrypt(recipients: &[&str], plain: &[u8], out: &Path) {
    let mut cmd = age_cli();
    cmd.arg("-e");
    for r in recipients {
        cmd.args(["-r", r]);
    }
    let mut child = cmd
        .arg("-o")
        .arg(out)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(plain).unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn audit_plan_migrate_manifest_verify_passes_and_each_tampering_is_caught() {
    let moto = moto();
    let gcp = gcp_server();
    let url = gcp.url();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cfg = write_config(h);

    // The account and project as the agency leaves them.
    iam(&moto, &format!(
        "iam.create_user(UserName='carol.customer')\n\
         iam.attach_user_policy(UserName='carol.customer', PolicyArn='arn:aws:iam::aws:policy/AdministratorAccess')\n\
         iam.create_login_profile(UserName='carol.customer', Password='Carol-pass-1!')\n\
         iam.create_user(UserName='alice.agency')\n\
         iam.attach_user_policy(UserName='alice.agency', PolicyArn='arn:aws:iam::aws:policy/AdministratorAccess')\n\
         iam.create_access_key(UserName='alice.agency')\n\
         iam.create_login_profile(UserName='alice.agency', Password='Alice-pass-1!')\n\
         sm.create_secret(Name='app/db-password', SecretString='{}')\n\
         sm.create_secret(Name='app/api-token', SecretString='{}')\n",
        CANARIES[0], CANARIES[1]
    ));
    let (status, body) = http_post_json(
        &url,
        "/_admin/seed",
        &format!(r#"{{"projects":[{{"projectId":"{PROJECT}","projectNumber":"424242"}}]}}"#),
    );
    assert!(status.contains("200"), "{status} {body}");
    set_project_policy(
        &url,
        r#"{"role":"roles/owner","members":["user:carol@contoso.example"]},{"role":"roles/editor","members":["user:bob@northwind-agency.example"]}"#,
    );

    // The agency: audit, plan, migrate, manifest.
    let inv = audit(&moto, h, &url);
    let plan = plan(h, &inv, &cfg, "plan.json");
    let plan_json = json(&std::fs::read_to_string(&plan).unwrap());
    let revokes: Vec<&Value> = plan_json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "revoke")
        .collect();
    assert!(
        revokes.len() >= 3,
        "alice's key and password, bob's binding: {revokes:?}"
    );
    let journal = h.join("journal.jsonl");
    let r = run(handover(&moto, h)
        .args([
            "migrate",
            "--format",
            "json",
            "--from",
            "aws:us-east-1",
            "--to",
            &format!("gcp:{PROJECT}"),
            "--gcp-endpoint",
            &url,
            "--apply",
            "--plan",
        ])
        .arg(&plan)
        .arg("--config")
        .arg(&cfg)
        .arg("--journal")
        .arg(&journal));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        json(&r.stdout)["items"].as_array().unwrap().len(),
        2,
        "{}",
        r.stdout
    );
    let sealed = h.join("handover.age");
    let r = run(handover_offline(h)
        .arg("manifest")
        .arg("--config")
        .arg(&cfg)
        .arg("--plan")
        .arg(&plan)
        .arg("--inventory")
        .arg(&inv)
        .arg("--journal")
        .arg(&journal)
        .arg("-o")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The agency carries out its part: alice's key and password, bob's binding.
    iam(&moto, "for k in iam.list_access_keys(UserName='alice.agency')['AccessKeyMetadata']:\n    iam.delete_access_key(UserName='alice.agency', AccessKeyId=k['AccessKeyId'])\niam.delete_login_profile(UserName='alice.agency')\n");
    set_project_policy(
        &url,
        r#"{"role":"roles/owner","members":["user:carol@contoso.example"]}"#,
    );

    // The customer verifies, with its own credentials and the agency's public key.
    let verify = |file: &Path| {
        run(handover(&moto, h)
            .args([
                "-vvv",
                "verify",
                "--format",
                "json",
                "--gcp-endpoint",
                &url,
                "--signer",
            ])
            .arg(example_key("northwind-signing.pub"))
            .arg("--docs")
            .arg(h)
            .arg("-i")
            .arg(example_key("contoso-security.agekey"))
            .arg(file))
    };
    let aws_before = moto.requests()["by_action"].clone();
    let (_, gcp_before) = http_get(&url, "/_admin/requests");
    let r = verify(&sealed);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = json(&r.stdout);
    assert!(failures(&v).is_empty(), "{:?}", failures(&v));
    // It changes nothing: every request it made reads.
    let aws_after = moto.requests()["by_action"].clone();
    assert_ne!(aws_before, aws_after, "verify reads the account live");
    for (action, n) in aws_after.as_object().unwrap() {
        if aws_before.get(action) != Some(n) {
            let name = action.rsplit('.').next().unwrap();
            assert!(
                [
                    "Get",
                    "List",
                    "BatchGet",
                    "Describe",
                    "GenerateCredentialReport"
                ]
                .iter()
                .any(|p| name.starts_with(p)),
                "verify called {action}"
            );
        }
    }
    let gcp_before = json(&gcp_before)["byRoute"].clone();
    let (_, gcp_after) = http_get(&url, "/_admin/requests");
    for (route, n) in json(&gcp_after)["byRoute"].as_object().unwrap() {
        if gcp_before.get(route) != Some(n) {
            assert!(
                route.starts_with("GET ")
                    || route.contains(":getIamPolicy")
                    || route.contains(":access")
                    || route.contains("testIamPermissions"),
                "verify called {route}"
            );
        }
    }
    assert_eq!(claims(&v, "signature")[0]["status"], "pass");
    assert_eq!(claims(&v, "recipients")[0]["status"], "pass");
    assert!(
        claims(&v, "revoked").len() >= 3
            && claims(&v, "revoked").iter().all(|c| c["status"] == "pass"),
        "{}",
        r.stdout
    );
    let secrets = claims(&v, "migrated-secret");
    assert_eq!(secrets.len(), 2);
    assert!(
        secrets.iter().all(|c| c["status"] == "pass"
            && c["detail"]
                .as_str()
                .unwrap()
                .contains("keyed digest matches")),
        "{secrets:?}"
    );
    assert!(
        claims(&v, "documentation")
            .iter()
            .all(|c| c["status"] == "pass")
            && claims(&v, "documentation").len() == 2
    );
    // alice.agency herself still exists: due by the handover date, so pending.
    let alice: Vec<&Value> = claims(&v, "agency-access")
        .into_iter()
        .filter(|c| {
            c["subject"]
                .as_str()
                .unwrap()
                .ends_with("user/alice.agency")
        })
        .collect();
    assert_eq!(alice.len(), 1, "{}", r.stdout);
    assert_eq!(alice[0]["status"], "pending");
    // The table says the same.
    let t = run(handover(&moto, h)
        .args([
            "verify",
            "--format",
            "table",
            "--gcp-endpoint",
            &url,
            "--config",
        ])
        .arg(&cfg)
        .arg("-i")
        .arg(example_key("contoso-security-ssh"))
        .arg(&sealed));
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert!(
        t.stdout
            .lines()
            .any(|l| l.starts_with("PASS") && l.contains(" signature "))
            && t.stdout.contains("0 fail"),
        "{}",
        t.stdout
    );
    let mut outputs = vec![r.stdout.clone(), r.stderr.clone(), t.stdout, t.stderr];

    // 1. An agency key and password re-added after the handover work, while AWS still
    // serves a credential report from before (it reuses one for up to four hours): an
    // audit trusting the report misses both; verify reads live and does not.
    moto.request(
        "POST",
        "/_handover/freeze-credential-report",
        "",
        "application/json",
    );
    let audit_alice = || {
        let r = run(handover(&moto, h).args([
            "audit",
            "--aws",
            "--region",
            "us-east-1",
            "--format",
            "json",
        ]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r.stdout)["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["principal"]
                    .as_str()
                    .unwrap()
                    .ends_with("user/alice.agency")
            })
            .count()
    };
    assert_eq!(
        audit_alice(),
        0,
        "the report is frozen with alice holding nothing"
    );
    iam(&moto, "iam.create_access_key(UserName='alice.agency')\niam.create_login_profile(UserName='alice.agency', Password='Alice-again-1!')");
    assert_eq!(
        audit_alice(),
        0,
        "an audit that trusts the stale report sees nothing new"
    );
    let r = verify(&sealed);
    assert_eq!(r.code, 9, "{}", r.stderr);
    let v = json(&r.stdout);
    let f = failures(&v);
    assert!(
        f.iter().any(|f| f.contains("agency-access")
            && f.contains("access-key")
            && f.contains("is not in the plan: added after the audit?")),
        "{f:?}"
    );
    let password = claims(&v, "revoked")
        .into_iter()
        .find(|c| {
            c["subject"]
                .as_str()
                .unwrap()
                .contains("console-password of alice.agency")
        })
        .unwrap()
        .clone();
    assert!(
        password["status"] == "pending"
            && password["detail"]
                .as_str()
                .unwrap()
                .contains("still present"),
        "{password}"
    );
    outputs.extend([r.stdout, r.stderr]);
    iam(&moto, "for k in iam.list_access_keys(UserName='alice.agency')['AccessKeyMetadata']:\n    iam.delete_access_key(UserName='alice.agency', AccessKeyId=k['AccessKeyId'])\niam.delete_login_profile(UserName='alice.agency')\n");
    assert_eq!(verify(&sealed).code, 0);

    // 2. A secret's value changed at the destination.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode("not-the-migrated-value");
    let (status, body) = http_post_json(
        &url,
        &format!("/v1/projects/{PROJECT}/secrets/app-db-password:addVersion"),
        &format!(r#"{{"payload":{{"data":"{b64}"}}}}"#),
    );
    assert!(status.contains("200"), "{status} {body}");
    let r = verify(&sealed);
    assert_eq!(r.code, 9, "{}", r.stderr);
    let f = failures(&json(&r.stdout));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("app-db-password") && f[0].contains("differs from the one migrated"),
        "{f:?}"
    );
    outputs.extend([r.stdout, r.stderr]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(CANARIES[0]);
    http_post_json(
        &url,
        &format!("/v1/projects/{PROJECT}/secrets/app-db-password:addVersion"),
        &format!(r#"{{"payload":{{"data":"{b64}"}}}}"#),
    );
    assert_eq!(verify(&sealed).code, 0, "the value is back");
    // A newer version, disabled: Google's `latest` is that version (accessing it fails
    // FAILED_PRECONDITION); verify reads the newest ENABLED version by number and passes.
    // Regression: verify read `latest`.
    let b64 = base64::engine::general_purpose::STANDARD.encode("a-newer-version-then-disabled");
    let (status, body) = http_post_json(
        &url,
        &format!("/v1/projects/{PROJECT}/secrets/app-db-password:addVersion"),
        &format!(r#"{{"payload":{{"data":"{b64}"}}}}"#),
    );
    assert!(status.contains("200"), "{status} {body}");
    let newest = json(&body)["name"].as_str().unwrap().to_string();
    let (status, body) = http_post_json(&url, &format!("/v1/{newest}:disable"), "{}");
    assert!(status.contains("200"), "{status} {body}");
    let r = verify(&sealed);
    assert_eq!(
        r.code, 0,
        "the newest enabled version holds the migrated value: {}",
        r.stdout
    );

    // 3. The manifest edited (decrypted and encrypted again to the same recipients).
    let plain = age_decrypt(&sealed);
    let edited = String::from_utf8(plain.clone())
        .unwrap()
        .replace("\"pending\"", "\"done\"");
    let edited_file = h.join("edited.age");
    age_encrypt(&[AGE_PK, &ssh_pub()], edited.as_bytes(), &edited_file);
    std::fs::copy(h.join("handover.age.sig"), h.join("edited.age.sig")).unwrap();
    let r = verify(&edited_file);
    assert_eq!(r.code, 10, "{}", r.stderr);
    // Refused on its signature before it is decrypted: nothing of it is reported.
    assert!(
        r.stdout.is_empty() && r.stderr.contains("changed after the agency signed it"),
        "{}{}",
        r.stdout,
        r.stderr
    );

    // 4. A recipient dropped (the same content, encrypted to one of its two recipients).
    let dropped = h.join("dropped.age");
    age_encrypt(&[AGE_PK], &plain, &dropped);
    std::fs::copy(h.join("handover.age.sig"), h.join("dropped.age.sig")).unwrap();
    let r = verify(&dropped);
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stdout.is_empty() && r.stderr.contains("changed after the agency signed it"),
        "the old signature no longer covers it: {}",
        r.stderr
    );
    // Signed again by the agency's own key, the dropped recipient is still caught.
    std::fs::remove_file(h.join("dropped.age.sig")).unwrap();
    let agency_key = h.join("agency-signer");
    std::fs::copy(example_key("northwind-signing"), &agency_key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&agency_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let o = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "handover-manifest", "-f"])
        .arg(&agency_key)
        .arg(&dropped)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = verify(&dropped);
    assert_eq!(r.code, 10, "{}", r.stderr);
    let rc = claims(&json(&r.stdout), "recipients")[0].clone();
    assert!(
        rc["status"] == "fail"
            && rc["detail"]
                .as_str()
                .unwrap()
                .contains("a recipient was dropped"),
        "{rc}"
    );

    // 5. A signature from another key.
    let other_key = h.join("other-signer");
    std::fs::copy(example_key("contoso-security-ssh"), &other_key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&other_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let resigned = h.join("resigned.age");
    std::fs::copy(&sealed, &resigned).unwrap();
    let o = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "handover-manifest", "-f"])
        .arg(&other_key)
        .arg(&resigned)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = verify(&resigned);
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stdout.is_empty() && r.stderr.contains("signed by another key"),
        "{}{}",
        r.stdout,
        r.stderr
    );

    // 6. A handed-over document changed.
    std::fs::write(h.join("docs/slo.md"), "# SLO\n95% is fine.\n").unwrap();
    let r = verify(&sealed);
    assert_eq!(r.code, 9, "{}", r.stderr);
    assert!(failures(&json(&r.stdout))
        .iter()
        .any(|f| f.contains("docs/slo.md") && f.contains("does not match its digest")));
    outputs.extend([r.stdout, r.stderr]);

    // 7. After the handover date, what is not done fails: a second plan and manifest for
    // the same handover dated in the past.
    std::fs::write(
        h.join("docs/slo.md"),
        "# SLO\n99.9% of checkouts succeed.\n",
    )
    .unwrap();
    let past_cfg = h.join("handover-past.toml");
    std::fs::write(
        &past_cfg,
        std::fs::read_to_string(&cfg).unwrap().replace(
            "handover_date = \"2027-06-01\"",
            "handover_date = \"2026-01-15\"",
        ),
    )
    .unwrap();
    let past_plan = self::plan(h, &inv, &past_cfg, "plan-past.json");
    let past = h.join("past.age");
    let r = run(handover_offline(h)
        .arg("manifest")
        .arg("--config")
        .arg(&past_cfg)
        .arg("--plan")
        .arg(&past_plan)
        .arg("--inventory")
        .arg(&inv)
        .arg("--journal")
        .arg(&journal)
        .arg("-o")
        .arg(&past));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = verify(&past);
    assert_eq!(r.code, 9, "{}", r.stderr);
    let f = failures(&json(&r.stdout));
    assert!(
        f.iter()
            .any(|f| f.contains("alice.agency is still present") && f.contains("has passed")),
        "{f:?}"
    );
    assert_eq!(
        f.iter()
            .filter(|f| f.contains("was to be rotated after cutover"))
            .count(),
        2,
        "{f:?}"
    );
    outputs.extend([r.stdout, r.stderr]);
    // The customer rotates both secrets and the agency removes alice: everything passes.
    for name in ["app-db-password", "app-api-token"] {
        let b64 =
            base64::engine::general_purpose::STANDARD.encode(format!("rotated-by-contoso-{name}"));
        http_post_json(
            &url,
            &format!("/v1/projects/{PROJECT}/secrets/{name}:addVersion"),
            &format!(r#"{{"payload":{{"data":"{b64}"}}}}"#),
        );
    }
    iam(&moto, "iam.detach_user_policy(UserName='alice.agency', PolicyArn='arn:aws:iam::aws:policy/AdministratorAccess')\niam.delete_user(UserName='alice.agency')\n");
    let r = verify(&past);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = json(&r.stdout);
    assert!(
        claims(&v, "migrated-secret").iter().all(|c| c["detail"]
            .as_str()
            .unwrap()
            .contains("rotated after cutover")),
        "{}",
        r.stdout
    );
    assert!(
        claims(&v, "agency-access")
            .iter()
            .all(|c| c["status"] == "pass"),
        "{}",
        r.stdout
    );
    outputs.extend([r.stdout, r.stderr]);

    // Canary values: in no output (trace logs included) and in no file but the sealed ones.
    for o in &outputs {
        for c in CANARIES {
            assert!(!o.contains(c), "a secret value leaked into output");
        }
    }
    for f in walk(h) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        for c in CANARIES {
            assert!(!text.contains(c), "{} holds a secret value", f.display());
        }
    }
}

#[test]
fn verify_needs_the_agency_key_and_says_what_it_cannot_read() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let r = run(handover_offline(h)
        .env_remove("HANDOVER_CONFIG")
        .args(["verify", "-i"])
        .arg(example_key("contoso-security.agekey"))
        .arg(h.join("nothing.age")));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("needs the agency's public key"),
        "{}",
        r.stderr
    );
    let r = run(handover_offline(h)
        .args(["verify", "--signer", "ssh-ed25519 notakey", "-i"])
        .arg(example_key("contoso-security.agekey"))
        .arg(h.join("nothing.age")));
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(handover_offline(h)
        .args(["verify", "--signer"])
        .arg(example_key("northwind-signing.pub"))
        .arg("-i")
        .arg(example_key("contoso-security.agekey"))
        .arg(h.join("nothing.age")));
    assert_eq!(r.code, 3, "{}", r.stderr);
}

/// `policies/permissions/aws-verify.json` and `gcp-verify-role.yaml` are all verify
/// needs (moto's permission checks and the GCP test server's IAM enforcement on): the
/// audit's reads, the live login profile, and the values of migrated secrets (digested,
/// never kept).
#[test]
fn verify_runs_under_its_least_privilege_policy() {
    let moto = moto();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cfg = write_config(h);
    let gcp = gcp_server();
    let url = gcp.url();
    let verifier = "serviceAccount:verifier@contoso-verify.iam.gserviceaccount.com";
    let role = format!("projects/{PROJECT}/roles/handoverVerify");
    let (status, body) = http_post_json(
        &url,
        "/_admin/seed",
        &format!(r#"{{"projects":[{{"projectId":"{PROJECT}"}}]}}"#),
    );
    assert!(status.contains("200"), "{status} {body}");
    // Google refuses a binding to a service account that does not exist.
    let (status, body) = http_post_json(
        &url,
        &format!("/v1/projects/{PROJECT}/serviceAccounts"),
        r#"{"accountId":"verifier"}"#,
    );
    assert!(status.contains("200"), "{status} {body}");
    set_project_policy(
        &url,
        &format!(
            r#"{{"role":"roles/owner","members":["user:carol@contoso.example"]}},{{"role":"{role}","members":["{verifier}"]}}"#
        ),
    );
    iam(&moto, "iam.create_user(UserName='carol.customer')\n\
         iam.attach_user_policy(UserName='carol.customer', PolicyArn='arn:aws:iam::aws:policy/AdministratorAccess')\n\
         iam.create_login_profile(UserName='carol.customer', Password='Carol-pass-1!')\n\
         iam.create_user(UserName='alice.agency')\n\
         iam.create_access_key(UserName='alice.agency')\n");
    let inv = audit(&moto, h, &url);
    let plan = plan(h, &inv, &cfg, "plan.json");
    let env = h.join("prod.env");
    std::fs::write(&env, format!("DB_PASSWORD={}\n", CANARIES[0])).unwrap();
    let journal = h.join("j.jsonl");
    let r = run(handover(&moto, h)
        .args([
            "migrate",
            "--format",
            "json",
            "--from",
            &format!("dotenv:{}", env.display()),
            "--to",
            "aws:us-east-1",
            "--all",
            "--apply",
            "--config",
        ])
        .arg(&cfg)
        .arg("--journal")
        .arg(&journal));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let gcp_journal = h.join("j-gcp.jsonl");
    let r = run(handover(&moto, h)
        .args([
            "migrate",
            "--format",
            "json",
            "--from",
            &format!("dotenv:{}", env.display()),
            "--to",
            &format!("gcp:{PROJECT}"),
            "--gcp-endpoint",
            &url,
            "--all",
            "--apply",
            "--config",
        ])
        .arg(&cfg)
        .arg("--journal")
        .arg(&gcp_journal));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sealed = h.join("handover.age");
    let r = run(handover_offline(h)
        .arg("manifest")
        .arg("--config")
        .arg(&cfg)
        .arg("--plan")
        .arg(&plan)
        .arg("--inventory")
        .arg(&inv)
        .arg("--journal")
        .arg(&journal)
        .arg("--journal")
        .arg(&gcp_journal)
        .arg("-o")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    iam(&moto, "for k in iam.list_access_keys(UserName='alice.agency')['AccessKeyMetadata']:\n    iam.delete_access_key(UserName='alice.agency', AccessKeyId=k['AccessKeyId'])\n");

    let policy =
        std::fs::read_to_string(repo().join("policies/permissions/aws-verify.json")).unwrap();
    let out = iam(&moto, &format!("iam.create_user(UserName='contoso-verifier')\niam.put_user_policy(UserName='contoso-verifier', PolicyName='verify', PolicyDocument={policy:?})\nk = iam.create_access_key(UserName='contoso-verifier')['AccessKey']\nprint(k['AccessKeyId'], k['SecretAccessKey'])"));
    let mut parts = out.split_whitespace();
    let (key, secret) = (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    );
    moto.enforce_permissions();
    let yaml: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(repo().join("policies/permissions/gcp-verify-role.yaml")).unwrap(),
    )
    .unwrap();
    let perms: Vec<String> = yaml["includedPermissions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let (status, body) = http_post_json(
        &url,
        "/_admin/iam",
        &serde_json::json!({"tokens": {"verify-token": verifier}, "roles": {role.clone(): perms}})
            .to_string(),
    );
    assert!(status.contains("200"), "{status} {body}");
    let verify = |key: &str, secret: &str| {
        run(handover(&moto, h)
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("HANDOVER_GCP_ACCESS_TOKEN", "verify-token")
            .args([
                "verify",
                "--format",
                "json",
                "--gcp-endpoint",
                &url,
                "--config",
            ])
            .arg(&cfg)
            .arg("-i")
            .arg(example_key("contoso-security.agekey"))
            .arg(&sealed))
    };
    let r = verify(&key, &secret);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = json(&r.stdout);
    assert!(failures(&v).is_empty(), "{:?}", failures(&v));
    assert!(
        claims(&v, "scope").len() == 2 && claims(&v, "scope").iter().all(|c| c["status"] == "pass"),
        "{}",
        r.stdout
    );
    assert!(claims(&v, "revoked").iter().any(|c| c["subject"].as_str().unwrap().contains("access-key") && c["status"] == "pass"), "{}", r.stdout);
    assert!(
        claims(&v, "migrated-secret").len() == 2
            && claims(&v, "migrated-secret")
                .iter()
                .all(|c| c["status"] == "pass"),
        "{}",
        r.stdout
    );
    // Nothing was denied (the gaps left are moto's own: no root row, no service-specific credentials).
    let blind: Vec<&Value> = claims(&v, "coverage")
        .into_iter()
        .filter(|c| {
            c["detail"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("denied")
        })
        .collect();
    assert!(blind.is_empty(), "{blind:?}");
    // The checks are on: unknown credentials are refused, and the scope is reported unread:
    // its claims unchecked (exit 12), not failed (issue 15 item 6).
    let r = verify("AKIAUNKNOWN000000000", "nope");
    assert_eq!(r.code, 12, "{}", r.stderr);
    let v = json(&r.stdout);
    let aws_scope = claims(&v, "scope")
        .into_iter()
        .find(|c| c["subject"].as_str().unwrap().starts_with("aws"))
        .unwrap()
        .clone();
    assert_eq!(aws_scope["status"], "unchecked", "{}", r.stdout);
    assert!(
        claims(&v, "migrated-secret").iter().any(|c| c["subject"]
            .as_str()
            .unwrap()
            .starts_with("aws")
            && c["status"] == "unchecked"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains(CANARIES[0]) && !r.stderr.contains(CANARIES[0]));
}

// ------------------------------------------------------------------ issue 13: the flow with apply

const SHOP: &str = "contoso-shop-prod";

/// The example handover (both clouds), with the handover date ahead so that work left
/// for a person is `pending`, not failed.
fn write_example_config(home: &Path) -> PathBuf {
    let signer = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
    std::fs::create_dir_all(home.join("docs")).unwrap();
    std::fs::write(home.join("docs/slo.md"), "# SLO\n").unwrap();
    let p = home.join("handover.toml");
    std::fs::write(
        &p,
        format!(
            r#"scenario = "full-transfer"
handover_date = "2027-06-01"

[agency]
name = "Northwind"
email_domains = ["northwind-agency.example"]
google_domains = ["northwind-agency.example"]
aws_accounts = ["210987654321"]
name_patterns = ["*.agency", "ci-*", "old-contractor"]
tags = {{ "managed-by" = "northwind-agency" }}
signing_key = "{}"

[customer]
name = "Contoso"
email_domains = ["contoso.example"]
aws_accounts = ["123456789012"]
gcp_projects = ["{SHOP}"]
name_patterns = ["*.customer"]

[[third_party]]
name = "Payments provider (KMS)"
aws_accounts = ["444455556666"]

[recipients]
keys = ["{AGE_PK}", "{}"]

[documentation]
slo = "docs/slo.md"
"#,
            signer.trim(),
            ssh_pub()
        ),
    )
    .unwrap();
    p
}

/// The claims about one plan step (their subject starts with its id).
fn claims_of<'a>(v: &'a Value, step_id: &str) -> Vec<&'a Value> {
    let prefix = format!("{step_id} ");
    v["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["subject"].as_str().unwrap().starts_with(&prefix))
        .collect()
}

// The flow with no step done by hand: audit (AWS and GCP) -> plan -> migrate -> apply
// (dry run, then approved) -> manifest -> verify. Regression: the manifest did not read
// apply's journal, so every applied revoke stayed "pending" in it, and verify reported a
// key apply had deactivated as "still present" instead of carried out.
#[test]
fn audit_plan_migrate_apply_manifest_verify_passes_every_applied_step() {
    let moto = moto();
    let gcp = gcp_server();
    let url = gcp.url();
    seed(&moto);
    seed_gcp(&url);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cfg = write_example_config(h);
    let with_cfg = |args: &[&str]| {
        let mut c = handover(&moto, h);
        c.args(args).arg("--config").arg(&cfg);
        run(&mut c)
    };

    // audit -> plan.
    let inv = h.join("inventory.json");
    let r = run(handover(&moto, h)
        .args([
            "audit",
            "--aws",
            "--region",
            "us-east-1",
            "--gcp-project",
            SHOP,
        ])
        .args(["--gcp-endpoint", &url, "--format", "json", "-o"])
        .arg(&inv));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = plan(h, &inv, &cfg, "plan.json");
    let plan_s = plan.to_str().unwrap();
    let digest = json(&std::fs::read_to_string(&plan).unwrap())["digest"]
        .as_str()
        .unwrap()
        .to_string();

    // migrate the AWS secrets into the customer's project.
    let mj = h.join("migrate.jsonl");
    let r = with_cfg(&[
        "migrate",
        "--format",
        "json",
        "--from",
        "aws:us-east-1",
        "--to",
        &format!("gcp:{SHOP}"),
        "--gcp-endpoint",
        &url,
        "--apply",
        "--plan",
        plan_s,
        "--journal",
        mj.to_str().unwrap(),
    ]);
    assert!(r.code == 0 || r.code == 8, "{}\n{}", r.stdout, r.stderr);

    // apply: a dry run writes nothing, then the approved run.
    let aj = h.join("apply.jsonl");
    let apply = |extra: &[&str]| {
        let mut args = vec![
            "apply",
            "--format",
            "json",
            "--gcp-endpoint",
            &url,
            "--plan",
            plan_s,
            "--journal",
            aj.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        with_cfg(&args)
    };
    let aws_before = moto.requests();
    let dry = apply(&[]);
    assert!(
        dry.code == 0 || dry.code == 8,
        "{}\n{}",
        dry.stdout,
        dry.stderr
    );
    assert!(!aj.exists(), "a dry run opens no journal");
    let aws_after = moto.requests();
    for (action, n) in aws_after["by_action"].as_object().unwrap() {
        if aws_before["by_action"].get(action) != Some(n) {
            let name = action.rsplit('.').next().unwrap();
            assert!(
                ["Get", "List", "Describe", "Generate"]
                    .iter()
                    .any(|p| name.starts_with(p)),
                "the dry run called {action}"
            );
        }
    }
    // Approved by the plan's own digest (`sha256:...`), as the customer approves it.
    assert!(digest.starts_with("sha256:"), "{digest}");
    let r = apply(&["--apply", "--approve", &digest]);
    assert!(r.code == 0 || r.code == 8, "{}\n{}", r.stdout, r.stderr);
    let report = json(&r.stdout);
    let applied: Vec<&Value> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "done")
        .collect();
    let left: Vec<&Value> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "left-for-a-person")
        .collect();
    for s in report["steps"].as_array().unwrap() {
        assert!(s["outcome"] != "failed" && s["outcome"] != "drift", "{s}");
    }
    assert!(
        applied.iter().any(|s| s["provider"] == "aws")
            && applied.iter().any(|s| s["provider"] == "gcp"),
        "apply changed both clouds: {}",
        r.stdout
    );

    // manifest, from both journals.
    let sealed = h.join("handover.age");
    let r = run(handover_offline(h)
        .arg("manifest")
        .arg("--config")
        .arg(&cfg)
        .arg("--plan")
        .arg(&plan)
        .arg("--inventory")
        .arg(&inv)
        .arg("--journal")
        .arg(&mj)
        .arg("--journal")
        .arg(&aj)
        .arg("-o")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = json(std::str::from_utf8(&age_decrypt(&sealed)).unwrap());
    let record = |id: &Value| {
        m["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| &r["id"] == id)
            .unwrap()
            .clone()
    };
    for s in &applied {
        let rec = record(&s["id"]);
        assert_eq!(rec["outcome"], "done", "{rec}");
    }
    for s in &applied {
        assert_eq!(record(&s["id"])["applied"], s["change"], "{s}");
    }
    // Left for a person: not claimed as applied (a secret's rotate step is `done` only
    // as far as migrate copied it).
    for s in &left {
        let rec = record(&s["id"]);
        assert!(rec.get("applied").is_none(), "{rec}");
        if rec["outcome"] != "pending" {
            assert!(
                rec["outcome"] == "done" && rec["evidence"].as_str().unwrap().contains(" -> "),
                "{rec}"
            );
        }
    }

    // verify, as the customer: every applied step passes live.
    let verify = || {
        run(handover(&moto, h)
            .args([
                "verify",
                "--format",
                "json",
                "--gcp-endpoint",
                &url,
                "--signer",
            ])
            .arg(example_key("northwind-signing.pub"))
            .arg("--docs")
            .arg(h)
            .arg("-i")
            .arg(example_key("contoso-security.agekey"))
            .arg(&sealed))
    };
    let r = verify();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v = json(&r.stdout);
    let mut checked = 0;
    for s in &applied {
        let id = s["id"].as_str().unwrap();
        let cs = claims_of(&v, id);
        assert_eq!(cs.len(), 1, "one claim for {id}: {}", r.stdout);
        if s["action"] == "rotate" && s["change"] == "rotate" {
            // A key rotated by apply has its replacement sealed for the customer, but the
            // old key stays until `apply --finish` after grace_days: not yet a pass, and
            // not a failure before the handover date.
            assert_eq!(cs[0]["status"], "pending", "{id}: {}", cs[0]);
            continue;
        }
        assert_eq!(cs[0]["status"], "pass", "{id}: {}", cs[0]);
        checked += 1;
    }
    assert!(checked >= 5, "{checked} applied steps");
    let deactivated = claims(&v, "revoked")
        .into_iter()
        .filter(|c| {
            c["detail"]
                .as_str()
                .unwrap()
                .contains("deactivated by apply")
        })
        .count();
    assert!(
        deactivated >= 2,
        "AWS keys and a GCP key deactivated: {}",
        r.stdout
    );
    // What apply left for a person is what it is: never a pass.
    for s in &left {
        for c in claims_of(&v, s["id"].as_str().unwrap()) {
            assert_ne!(c["status"], "pass", "{s} {c}");
        }
    }

    // Regression: a grant in a secret's resource policy is not an inventory credential,
    // so verify found no credential for it and passed it as "gone" without reading the
    // secret's policy. Apply now removes it (`apply::aws_more`), so it is an applied step
    // that passes because the live policy no longer names it (the unit test
    // `a_secret_policy_grant_passes_only_once_gone_from_the_live_policy` holds the case
    // of a grant still there).
    let grants: Vec<&Value> = claims(&v, "revoked")
        .into_iter()
        .filter(|c| {
            c["subject"]
                .as_str()
                .unwrap()
                .contains("resource-policy grant")
        })
        .collect();
    assert!(!grants.is_empty(), "{}", r.stdout);
    for g in grants {
        assert!(
            g["status"] == "pass"
                && g["detail"]
                    .as_str()
                    .unwrap()
                    .contains("gone from the secret's resource policy"),
            "{g}"
        );
    }

    // An applied change undone behind the record's back fails, whatever the date.
    let key = applied
        .iter()
        .find(|s| s["provider"] == "aws" && s["change"] == "deactivate")
        .expect("an AWS key deactivated");
    let plan_json = json(&std::fs::read_to_string(&plan).unwrap());
    let key_id = plan_json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["id"] == key["id"])
        .unwrap()["target"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    iam(&moto, &format!(
        "for u in iam.list_users()['Users']:\n    for k in iam.list_access_keys(UserName=u['UserName'])['AccessKeyMetadata']:\n        if k['AccessKeyId'] == {key_id:?}:\n            iam.update_access_key(UserName=u['UserName'], AccessKeyId=k['AccessKeyId'], Status='Active')\n"
    ));
    let r = verify();
    assert_eq!(r.code, 9, "{}\n{}", r.stdout, r.stderr);
    let f = failures(&json(&r.stdout));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains(key["id"].as_str().unwrap())
            && f[0].contains("still present (active")
            && f[0].contains("though the manifest records it done"),
        "{f:?}"
    );
}

// Regression: a key apply found already inactive (deactivated by hand after the plan)
// was reported already-done but not journaled, so the manifest left the step pending,
// verify did not count it, `--finish` would never delete it, and every rerun read it
// again. Now it is journaled once as observed, recorded done as found, and verified.
#[test]
fn a_key_found_inactive_by_apply_is_journaled_as_observed_recorded_done_and_verified() {
    let moto = moto();
    let seeded = seed(&moto);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cfg = write_example_config(h);
    let inv = h.join("inventory.json");
    let r = run(handover(&moto, h)
        .args(["audit", "--aws", "--region", "us-east-1"])
        .args(["--format", "json", "-o"])
        .arg(&inv));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = plan(h, &inv, &cfg, "plan.json");
    let plan_json = json(&std::fs::read_to_string(&plan).unwrap());
    let digest = plan_json["digest"].as_str().unwrap().to_string();
    let key = seeded["alice"]["old_key"].as_str().unwrap();
    let step_id = plan_json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["action"] == "revoke" && st["target"]["name"] == key)
        .expect("a revoke step for alice's key")["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Deactivated by hand between plan and apply.
    iam(&moto, &format!("iam.update_access_key(UserName='alice.agency', AccessKeyId={key:?}, Status='Inactive')"));

    let aj = h.join("apply.jsonl");
    let apply = |extra: &[&str]| {
        let mut c = handover(&moto, h);
        c.args(["apply", "--format", "json", "--plan"])
            .arg(&plan)
            .arg("--config")
            .arg(&cfg)
            .arg("--journal")
            .arg(&aj)
            .args(extra);
        run(&mut c)
    };
    let step_of = |r: &Run| {
        json(&r.stdout)["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == step_id.as_str())
            .unwrap()
            .clone()
    };
    // A dry run journals nothing, observation included.
    let r = apply(&[]);
    assert!(r.code == 0 || r.code == 8, "{}\n{}", r.stdout, r.stderr);
    assert!(!aj.exists(), "a dry run opens no journal");

    let r = apply(&["--apply", "--approve", &digest]);
    assert!(r.code == 0 || r.code == 8, "{}\n{}", r.stdout, r.stderr);
    let st = step_of(&r);
    assert_eq!(st["outcome"], "already-done", "{st}");
    let lines = || -> Vec<Value> {
        std::fs::read_to_string(&aj)
            .unwrap()
            .lines()
            .map(json)
            .filter(|l| l["key"] == step_id.as_str())
            .collect()
    };
    let journaled = lines();
    assert_eq!(journaled.len(), 1, "{journaled:?}");
    let seen = &journaled[0];
    assert_eq!(seen["op"], "apply-step", "{seen}");
    assert_eq!(seen["phase"], "observed", "{seen}");
    assert_eq!(seen["data"]["change"], "deactivate", "{seen}");
    assert_eq!(seen["data"]["calls"], serde_json::json!([]), "{seen}");
    assert!(
        seen["data"]["observed"]
            .as_str()
            .unwrap()
            .contains("already inactive"),
        "{seen}"
    );

    // A rerun skips it on the journal's word and journals nothing new for it.
    let entries = std::fs::read_to_string(&aj).unwrap().lines().count();
    let r = apply(&["--apply", "--approve", &digest]);
    assert!(r.code == 0 || r.code == 8, "{}\n{}", r.stdout, r.stderr);
    let st = step_of(&r);
    assert_eq!(st["outcome"], "already-done", "{st}");
    assert_eq!(st["detail"], "the journal records it done", "{st}");
    assert_eq!(lines().len(), 1);
    let after = std::fs::read_to_string(&aj).unwrap();
    assert_eq!(
        after.lines().count(),
        entries,
        "the rerun journaled: {after}"
    );

    // The manifest records it done, as found (not as a change apply made).
    let sealed = h.join("handover.age");
    let r = run(handover_offline(h)
        .arg("manifest")
        .arg("--config")
        .arg(&cfg)
        .arg("--plan")
        .arg(&plan)
        .arg("--inventory")
        .arg(&inv)
        .arg("--journal")
        .arg(&aj)
        .arg("-o")
        .arg(&sealed));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = json(std::str::from_utf8(&age_decrypt(&sealed)).unwrap());
    let rec = m["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == step_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(rec["outcome"], "done", "{rec}");
    assert_eq!(rec["observed"], "deactivate", "{rec}");
    assert!(rec.get("applied").is_none(), "{rec}");
    assert!(
        rec["evidence"]
            .as_str()
            .unwrap()
            .contains("found already in its end state"),
        "{rec}"
    );

    // verify passes it live, as a key apply found inactive.
    let verify = || {
        run(handover(&moto, h)
            .args(["verify", "--format", "json", "--signer"])
            .arg(example_key("northwind-signing.pub"))
            .arg("--docs")
            .arg(h)
            .arg("-i")
            .arg(example_key("contoso-security.agekey"))
            .arg(&sealed))
    };
    let r = verify();
    let v = json(&r.stdout);
    let cs = claims_of(&v, &step_id);
    assert_eq!(cs.len(), 1, "{}", r.stdout);
    assert_eq!(cs[0]["status"], "pass", "{}", cs[0]);
    assert!(
        cs[0]["detail"]
            .as_str()
            .unwrap()
            .contains("found inactive by apply"),
        "{}",
        cs[0]
    );

    // --undo leaves it as found and says there is nothing to undo.
    let r = run(handover(&moto, h)
        .args(["apply", "--undo", "--format", "json", "--config"])
        .arg(&cfg)
        .arg("--journal")
        .arg(&aj));
    let undone = json(&r.stdout);
    let u = undone
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["step"] == step_id.as_str())
        .unwrap_or_else(|| panic!("no undo line for {step_id}: {}", r.stdout));
    assert_eq!(u["outcome"], "no-change", "{u}");
    assert!(
        u["detail"].as_str().unwrap().contains("nothing to undo"),
        "{u}"
    );
    let status = iam(&moto, &format!("print(next(k['Status'] for k in iam.list_access_keys(UserName='alice.agency')['AccessKeyMetadata'] if k['AccessKeyId'] == {key:?}))"));
    assert_eq!(status.trim(), "Inactive");

    // Active again behind the record's back, it fails verify like an applied step.
    iam(
        &moto,
        &format!(
            "iam.update_access_key(UserName='alice.agency', AccessKeyId={key:?}, Status='Active')"
        ),
    );
    let r = verify();
    assert_eq!(r.code, 9, "{}\n{}", r.stdout, r.stderr);
    let cs = claims_of(&json(&r.stdout), &step_id)
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(cs[0]["status"], "fail", "{}", cs[0]);
}
