//! `handover report` (issue 14) and `verify -o`: the report from an inventory alone, with
//! a plan, and (on the emulators) from the whole flow with journals, the manifest and
//! the verification; deterministic bytes, its own digest, the JSON against its schema,
//! hostile names escaped in every format, inputs that do not belong together refused,
//! and no secret value at any verbosity.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::*;

const EXAMPLE: &str = "examples/northwind-to-contoso";

fn example(name: &str) -> PathBuf {
    repo().join(EXAMPLE).join(name)
}

/// `handover report ARGS -o OUT`, which must succeed; the file's bytes.
fn report(h: &Path, args: &[&str], out: &Path) -> Vec<u8> {
    let r = run(handover_offline(h)
        .arg("report")
        .args(args)
        .arg("-o")
        .arg(out));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    std::fs::read(out).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An example file's path as a `&'static str` for argument lists.
fn ex(name: &str) -> &'static str {
    Box::leak(example(name).to_str().unwrap().to_string().into_boxed_str())
}

/// The digest a report claims, checked independently of the tool: every occurrence of
/// it back to `sha256:` and 64 zeros, then sha256 of the bytes (docs/report.md).
fn independent_digest_check(bytes: &[u8], claimed: &str) -> bool {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let zeros = format!("sha256:{}", "0".repeat(64));
    let original = text.replace(claimed, &zeros);
    format!("sha256:{:x}", Sha256::digest(original.as_bytes())) == claimed
}

#[test]
fn an_inventory_alone_gives_an_audit_report_that_names_what_is_missing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = h.join("audit.json");
    let bytes = report(h, &["--inventory", ex("inventory.json")], &out);
    let r: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(r["schema"], "handover/report");
    assert_eq!(r["summary"]["status"], "pending");
    let missing: Vec<&str> = r["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for want in [
        "no plan given",
        "no journal given",
        "no verification given",
        "no manifest given",
    ] {
        assert!(missing.iter().any(|m| m.starts_with(want)), "{missing:?}");
    }
    let inv: Value =
        serde_json::from_str(&std::fs::read_to_string(example("inventory.json")).unwrap()).unwrap();
    let n = inv["credentials"].as_array().unwrap().len() + inv["secrets"].as_array().unwrap().len();
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), n, "every credential and secret");
    for it in items {
        assert!(
            it["step"].is_null() && it["owner"] == "not classified (no plan)",
            "{it}"
        );
    }
    assert_eq!(
        r["findings"].as_array().unwrap().len(),
        inv["findings"].as_array().unwrap().len()
    );
    assert_eq!(r["inputs"][0]["role"], "inventory");
    let raw = std::fs::read(example("inventory.json")).unwrap();
    assert_eq!(
        r["inputs"][0]["sha256"],
        format!("sha256:{:x}", Sha256::digest(&raw))
    );
}

#[test]
fn with_a_plan_every_step_is_in_every_format_with_its_decision_and_counts() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let args = [
        "--inventory",
        ex("inventory.json"),
        "--plan",
        ex("plan-full-transfer.json"),
    ];
    let json = report(h, &args, &h.join("r.json"));
    let html = String::from_utf8(report(h, &args, &h.join("r.html"))).unwrap();
    let md = String::from_utf8(report(h, &args, &h.join("r.md"))).unwrap();
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(example("plan-full-transfer.json")).unwrap())
            .unwrap();
    let r: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(r["summary"]["plan_digest"], plan["digest"]);
    assert_eq!(
        r["summary"]["counts"]["steps_by_action"],
        plan["summary"]["by_action"]
    );
    assert_eq!(r["summary"]["handover_date"], plan["handover"]["date"]);
    assert_eq!(
        r["summary"]["adoption_period_ends"],
        plan["handover"]["agency_access_ends"]
    );
    for step in plan["steps"].as_array().unwrap() {
        let id = step["id"].as_str().unwrap();
        let item = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["step"]["id"] == id)
            .unwrap_or_else(|| panic!("{id} not in the report"));
        assert_eq!(item["step"]["rule"], step["rule"]);
        assert_eq!(item["step"]["action"], step["action"]);
        assert_eq!(item["owner"], step["target"]["owner"]);
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} in the HTML");
        assert!(md.contains(id), "{id} in the Markdown");
    }
    // A finding links to the item it is about, and the item back to it.
    let linked = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| !f["item"].is_null())
        .expect("a linked finding");
    let anchor = linked["item"].as_str().unwrap();
    assert!(html.contains(&format!("<tr id=\"{anchor}\"")));
    assert!(html.contains(&format!("href=\"#{}\"", linked["id"].as_str().unwrap())));
    // The status word is there in text, beside its symbol: never colour alone.
    assert!(html.contains("… pending</strong>"), "status in words");
    assert!(md.contains("**Overall status: … PENDING**"));
    // No script, no request: a strict CSP and nothing that loads.
    assert!(html.contains("default-src 'none'; style-src 'unsafe-inline'; img-src data:"));
    for banned in [
        "<script",
        "src=\"http",
        "href=\"http",
        "@import",
        "url(http",
    ] {
        assert!(!html.contains(banned), "{banned}");
    }
}

// Same inputs, same bytes (no clock, everything sorted), wherever the files are.
#[test]
fn the_same_inputs_give_the_same_bytes_in_every_format() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let other = h.join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    for f in ["inventory.json", "plan-full-transfer.json"] {
        std::fs::copy(example(f), other.join(f)).unwrap();
    }
    for ext in ["json", "md", "html"] {
        let one = report(
            h,
            &[
                "--inventory",
                ex("inventory.json"),
                "--plan",
                ex("plan-full-transfer.json"),
            ],
            &h.join(format!("one.{ext}")),
        );
        let two = report(
            h,
            &[
                "--inventory",
                s(&other.join("inventory.json")),
                "--plan",
                s(&other.join("plan-full-transfer.json")),
            ],
            &h.join(format!("two.{ext}")),
        );
        assert!(one == two, "{ext} differs between two runs");
    }
}

#[test]
fn each_format_carries_its_own_digest_and_an_edit_breaks_it() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    for ext in ["json", "md", "html"] {
        let bytes = report(
            h,
            &[
                "--inventory",
                ex("inventory.json"),
                "--plan",
                ex("plan-full-transfer.json"),
            ],
            &h.join(format!("r.{ext}")),
        );
        let claimed = handover::report::render::claimed_digest(&bytes).expect("a digest");
        assert!(independent_digest_check(&bytes, &claimed), "{ext}");
        assert_eq!(handover::report::render::check(&bytes), Ok(claimed.clone()));
        // One character changed anywhere (a count, a word) and the digest no longer holds.
        let text = String::from_utf8(bytes).unwrap();
        let edited = text.replacen("revoke", "rotate", 1);
        assert!(
            !independent_digest_check(edited.as_bytes(), &claimed),
            "{ext}"
        );
        assert!(handover::report::render::check(edited.as_bytes()).is_err());
    }
}

#[test]
fn the_json_report_validates_against_the_committed_schema() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let r = run(handover_offline(h).args(["schema", "report"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let committed = std::fs::read_to_string(repo().join("schemas/report.v1.json")).unwrap();
    assert_eq!(
        r.stdout, committed,
        "schemas/report.v1.json is stale: run `cargo run -- schema report > schemas/report.v1.json`"
    );
    for args in [
        vec!["--inventory", ex("inventory.json")],
        vec![
            "--inventory",
            ex("inventory.json"),
            "--plan",
            ex("plan-full-transfer.json"),
        ],
    ] {
        let out = h.join(format!("r{}.json", args.len()));
        report(h, &args, &out);
        validate(&repo().join("schemas/report.v1.json"), &out);
    }
}

/// Validates a document against a JSON Schema with the reference Python `jsonschema`
/// (in the test venv), never with this crate's own types.
fn validate(schema: &Path, doc: &Path) {
    let o = std::process::Command::new(venv_bin("python"))
        .args([
            "-c",
            "import json,sys,jsonschema\nschema=json.load(open(sys.argv[1]))\njsonschema.validators.validator_for(schema)(schema).validate(json.load(open(sys.argv[2])))",
        ])
        .arg(schema)
        .arg(doc)
        .output()
        .expect("python from the test venv (HANDOVER_TEST_VENV); see tests/requirements.txt");
    assert!(
        o.status.success(),
        "{} does not validate: {}",
        doc.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The example inventory with a credential named `<script>alert(1)</script>` and a
/// principal whose name carries terminal escapes, and its plan.
fn hostile_inputs(h: &Path) -> (PathBuf, PathBuf) {
    let mut inv: Value =
        serde_json::from_str(&std::fs::read_to_string(example("inventory.json")).unwrap()).unwrap();
    let creds = inv["credentials"].as_array_mut().unwrap();
    let key = creds
        .iter_mut()
        .find(|c| c["kind"] == "access-key")
        .unwrap();
    key["identifier"] = "<script>alert(1)</script>".into();
    let p = inv["principals"].as_array_mut().unwrap();
    p[0]["name"] = "ops\u{1b}[2J\u{1b}[1;1HPASS\u{202e}|*_[x](http://evil)".into();
    let findings = inv["findings"].as_array_mut().unwrap();
    findings[0]["message"] = "<img src=x onerror=alert(2)> \u{1b}]8;;http://evil\u{7}".into();
    let path = h.join("hostile-inventory.json");
    std::fs::write(&path, serde_json::to_string_pretty(&inv).unwrap()).unwrap();
    let plan = h.join("hostile-plan.json");
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--inventory")
        .arg(&path)
        .arg("--config")
        .arg(example("handover.toml"))
        .arg("-o")
        .arg(&plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    (path, plan)
}

// Names come from the clouds and from files anyone could have edited: in HTML they are
// text, never markup; in Markdown never markup or a link; nowhere a raw escape.
#[test]
fn hostile_names_are_escaped_in_every_format() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (inv, plan) = hostile_inputs(h);
    let args = ["--inventory", s(&inv), "--plan", s(&plan)];
    let html = String::from_utf8(report(h, &args, &h.join("r.html"))).unwrap();
    let md = String::from_utf8(report(h, &args, &h.join("r.md"))).unwrap();
    let json = String::from_utf8(report(h, &args, &h.join("r.json"))).unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped in the HTML"
    );
    for out in [&html, &md] {
        assert!(!out.contains("<script"), "a script tag");
        assert!(!out.contains("<img"), "an img tag");
        for c in ['\u{1b}', '\u{7}', '\u{202e}'] {
            assert!(!out.contains(c), "raw {c:?}");
        }
    }
    // The hostile text is there, shown visibly, not dropped.
    assert!(
        html.contains("ops\\x1b[2J") && md.contains("ops\\\\x1b\\[2J"),
        "the name, escaped"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "the message, as text"
    );
    assert!(!md.contains("[x](http://evil)"), "a live Markdown link");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // JSON keeps the exact text (escaped by JSON itself, no raw control byte).
    assert!(!json.contains('\u{1b}'));
    let r: Value = serde_json::from_str(&json).unwrap();
    assert!(r["items"].as_array().unwrap().iter().any(|i| i["label"]
        .as_str()
        .unwrap()
        .contains("<script>alert(1)</script>")));
    // And the digest still holds over the escaped bytes.
    for out in [&html, &md, &json] {
        assert!(handover::report::render::check(out.as_bytes()).is_ok());
    }
}

// A report must not mix handovers: a plan made from another inventory, or a
// verification of another plan, is an input error (exit 3) naming the file.
#[test]
fn inputs_that_do_not_belong_together_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (hostile_inv, _) = hostile_inputs(h);
    let mut inv: Value =
        serde_json::from_str(&std::fs::read_to_string(&hostile_inv).unwrap()).unwrap();
    inv["generated_at"] = "2020-01-01T00:00:00Z".into();
    let other = h.join("other-inventory.json");
    std::fs::write(&other, inv.to_string()).unwrap();
    let out = h.join("r.json");
    let r = run(handover_offline(h).arg("report").args([
        "--inventory",
        s(&other),
        "--plan",
        ex("plan-full-transfer.json"),
        "-o",
        s(&out),
    ]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("plan-full-transfer.json") && r.stderr.contains("not this one"),
        "{}",
        r.stderr
    );
    assert!(!out.exists(), "no report written");

    let v = h.join("verification.json");
    std::fs::write(
        &v,
        serde_json::json!({
            "schema": "handover/verification", "version": 1,
            "checked_at": "2026-12-02T00:00:00Z", "plan_digest": "sha256:0123",
            "manifest_created_at": "2026-12-01T00:00:00Z", "handover_date": "2026-12-01T00:00:00Z",
            "summary": {}, "claims": []
        })
        .to_string(),
    )
    .unwrap();
    let r = run(handover_offline(h).arg("report").args([
        "--inventory",
        ex("inventory.json"),
        "--plan",
        ex("plan-full-transfer.json"),
        "--verification",
        s(&v),
        "-o",
        s(&out),
    ]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("verification checked plan sha256:0123"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
}

#[test]
fn report_flag_problems_are_exit_2_together_and_an_existing_output_is_exit_6() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let r = run(handover_offline(h)
        .env_remove("HANDOVER_CONFIG")
        .arg("report")
        .args([
            "--inventory",
            ex("inventory.json"),
            "--journal",
            "x.jsonl",
            "--manifest",
            "h.age",
            "-o",
            "r.pdf",
        ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    for want in [
        "--journal needs --plan",
        "need -i IDENTITY",
        "--signer or --config",
        "name it .html, .md or .json",
    ] {
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
    }
    let out = h.join("r.html");
    std::fs::write(&out, "mine").unwrap();
    let r = run(handover_offline(h).arg("report").args([
        "--inventory",
        ex("inventory.json"),
        "-o",
        s(&out),
    ]));
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");
}

// `verify -o` refuses an existing file before it opens the manifest or reads any
// account (as `audit -o` does), and leaves it as it was; --force is the way to replace.
#[test]
fn verify_output_that_exists_is_refused_before_anything_is_read() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = h.join("verification.json");
    std::fs::write(&out, "earlier").unwrap();
    let r = run(handover_offline(h)
        .args(["verify", "--signer"])
        .arg(example_key("northwind-signing.pub"))
        .args([
            "-i",
            Box::leak(
                example_key("contoso-security.agekey")
                    .to_str()
                    .unwrap()
                    .to_string()
                    .into_boxed_str(),
            ),
            "does-not-exist.age",
            "-o",
            s(&out),
        ]));
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(
        r.stderr.contains("already exists") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier");
}

// ------------------------------------------------------------------ the whole flow, on the emulators

const AGE_PK: &str = "age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3";
const SHOP: &str = "contoso-shop-prod";

/// The example handover (both clouds), the handover date ahead so that work left for a
/// person is pending, not failed (as tests/verify.rs writes it).
fn write_example_config(home: &Path) -> PathBuf {
    let signer = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
    let ssh = std::fs::read_to_string(example_key("contoso-security-ssh.pub")).unwrap();
    std::fs::create_dir_all(home.join("docs")).unwrap();
    std::fs::write(home.join("docs/slo.md"), "# SLO\n").unwrap();
    let p = home.join("handover.toml");
    std::fs::write(
        &p,
        format!(
            r#"scenario = "full-transfer"
handover_date = "2027-06-01"
agency_access_ends = "2027-08-01"

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
            ssh.trim()
        ),
    )
    .unwrap();
    p
}

/// Runs `handover` with `args` and the config; must end 0 (or 8 for `apply`/`migrate`
/// leaving work for a person).
/// `handover manifest` of the plan, inventory and journals into `out`, which must succeed.
fn seal(h: &Path, cfg: &Path, plan: &Path, inv: &Path, journals: &[&Path], out: &Path) {
    let mut c = handover_offline(h);
    c.args([
        "manifest",
        "--config",
        s(cfg),
        "--plan",
        s(plan),
        "--inventory",
        s(inv),
    ]);
    for j in journals {
        c.args(["--journal", s(j)]);
    }
    let r = run(c.args(["-o", s(out)]));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn step(moto: &Moto, h: &Path, cfg: &Path, args: &[&str]) -> Run {
    let r = run(handover(moto, h).args(args).arg("--config").arg(cfg));
    assert!(
        r.code == 0 || r.code == 8,
        "{args:?}\n{}\n{}",
        r.stdout,
        r.stderr
    );
    r
}

// The full report: audit (AWS and GCP) -> plan -> migrate -> apply -> manifest ->
// verify -o -> report. Every step is in it with its outcome from the journals and its
// live claim; migrated secrets carry keyed digests; and the canary values the seed put
// in the secrets appear in no output of `report` at -v, -vv or -vvv.
#[test]
fn the_full_report_links_steps_outcomes_and_claims_and_holds_no_secret_value() {
    let moto = moto();
    let gcp = gcp_server();
    let url = gcp.url();
    let ids = seed(&moto);
    seed_gcp(&url);
    let canaries: Vec<String> = ids["canaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cfg = write_example_config(h);
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
        .args(["--gcp-endpoint", &url, "--format", "json", "-o", s(&inv)]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan = h.join("plan.json");
    let r = run(handover_offline(h)
        .args(["plan", "--format", "json", "--policy"])
        .arg(repo().join("policies/full-transfer.yaml"))
        .args(["--inventory", s(&inv), "--config", s(&cfg), "-o", s(&plan)]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan_json: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let digest = plan_json["digest"].as_str().unwrap();
    let (mj, aj) = (h.join("migrate.jsonl"), h.join("apply.jsonl"));
    let to = format!("gcp:{SHOP}");
    step(
        &moto,
        h,
        &cfg,
        &[
            "migrate",
            "--format",
            "json",
            "--from",
            "aws:us-east-1",
            "--to",
            &to,
            "--gcp-endpoint",
            &url,
            "--apply",
            "--plan",
            s(&plan),
            "--journal",
            s(&mj),
        ],
    );
    step(
        &moto,
        h,
        &cfg,
        &[
            "apply",
            "--format",
            "json",
            "--gcp-endpoint",
            &url,
            "--plan",
            s(&plan),
            "--journal",
            s(&aj),
            "--apply",
            "--approve",
            digest,
        ],
    );
    let sealed = h.join("handover.age");
    seal(h, &cfg, &plan, &inv, &[&mj, &aj], &sealed);
    let signer = example_key("northwind-signing.pub");
    let agekey = example_key("contoso-security.agekey");

    // verify -o: the file is the document --format json prints, written whole.
    let vfile = h.join("verification.json");
    let r = run(handover(&moto, h)
        .args([
            "verify",
            "--format",
            "json",
            "--gcp-endpoint",
            &url,
            "--signer",
            s(&signer),
        ])
        .args([
            "--docs",
            s(h),
            "-i",
            s(&agekey),
            s(&sealed),
            "-o",
            s(&vfile),
        ]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(std::fs::read_to_string(&vfile).unwrap(), r.stdout);
    validate(&repo().join("schemas/verification.v1.json"), &vfile);

    let all = [
        "--inventory",
        s(&inv),
        "--plan",
        s(&plan),
        "--journal",
        s(&mj),
        "--journal",
        s(&aj),
        "--verification",
        s(&vfile),
        "--manifest",
        s(&sealed),
        "-i",
        s(&agekey),
        "--signer",
        s(&signer),
    ];
    let mut texts = Vec::new();
    for (v, ext) in [("-v", "html"), ("-vv", "md"), ("-vvv", "json")] {
        let out = h.join(format!("report.{ext}"));
        let r = run(handover_offline(h)
            .arg(v)
            .arg("report")
            .args(all)
            .arg("-o")
            .arg(&out));
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        texts.push((format!("report {v} stdout"), r.stdout));
        texts.push((format!("report {v} stderr"), r.stderr));
        texts.push((
            out.display().to_string(),
            std::fs::read_to_string(&out).unwrap(),
        ));
    }
    // And to stdout, at the most verbose.
    let r = run(handover_offline(h)
        .arg("-vvv")
        .arg("report")
        .args(all)
        .args(["--format", "markdown"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    texts.push(("report -vvv to stdout".into(), r.stdout + &r.stderr));
    for (what, text) in &texts {
        for c in &canaries {
            assert!(!text.contains(c.as_str()), "a canary value in {what}");
        }
    }

    let html = &texts[2].1;
    let report: Value = serde_json::from_str(&texts[8].1).unwrap();
    validate(
        &repo().join("schemas/report.v1.json"),
        &h.join("report.json"),
    );
    let roles: Vec<&str> = report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            "inventory",
            "journal",
            "journal",
            "manifest",
            "plan",
            "verification"
        ]
    );
    assert!(
        report["missing"].as_array().unwrap().is_empty(),
        "{}",
        report["missing"]
    );
    assert_ne!(
        report["summary"]["status"], "failed",
        "{}",
        report["summary"]
    );
    assert!(report["summary"]["approval"]
        .as_str()
        .unwrap()
        .contains("apply --approve"));
    assert!(report["summary"]["manifest_signature"]
        .as_str()
        .unwrap()
        .starts_with("good"));
    let claims = report["claims"].as_array().unwrap();
    let mut done_and_passed = 0;
    for step in plan_json["steps"].as_array().unwrap() {
        let id = step["id"].as_str().unwrap();
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} in the HTML");
        let item = report["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["step"]["id"] == id)
            .unwrap();
        assert!(
            !item["outcome"].is_null(),
            "{id}: an outcome from the journals"
        );
        for cid in item["claims"].as_array().unwrap() {
            let c = claims.iter().find(|c| &c["id"] == cid).unwrap();
            assert_eq!(c["step"], id, "claim {cid} links back to {id}");
            if item["outcome"]["outcome"] == "done" && c["status"] == "pass" {
                done_and_passed += 1;
            }
        }
    }
    assert!(
        done_and_passed >= 5,
        "{done_and_passed} steps done and proven live"
    );
    let migrated = report["migrated_secrets"].as_array().unwrap();
    assert!(!migrated.is_empty());
    for m in migrated {
        assert!(
            m["digest"].as_str().unwrap().starts_with("hmac-sha256:"),
            "{m}"
        );
    }
    let timeline = report["timeline"].as_array().unwrap();
    assert!(
        timeline
            .iter()
            .any(|d| d["entries"].get("apply-step result").is_some()),
        "{timeline:?}"
    );
    assert!(timeline.iter().any(|d| d["marks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "verification")));

    // Without the manifest, the journals open with their own .key.age and the customer's
    // identity, and give the same outcomes.
    let out = h.join("no-manifest.json");
    let r = run(handover_offline(h).arg("report").args([
        "--inventory",
        s(&inv),
        "--plan",
        s(&plan),
        "--journal",
        s(&mj),
        "--journal",
        s(&aj),
        "--verification",
        s(&vfile),
        "-i",
        s(&agekey),
        "-o",
        s(&out),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let alone: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        alone["summary"]["counts"]["steps_by_outcome"],
        report["summary"]["counts"]["steps_by_outcome"]
    );
    assert_eq!(alone["migrated_secrets"], report["migrated_secrets"]);

    // A journal the manifest sealed must still hold what it sealed: an older copy of the
    // apply journal (its own head valid, fewer entries than the manifest records) is
    // refused, not reported as if it were the record the manifest was made from.
    let backup = h.join("backup");
    std::fs::create_dir_all(&backup).unwrap();
    let head = h.join("apply.jsonl.head");
    std::fs::copy(&aj, backup.join("apply.jsonl")).unwrap();
    std::fs::copy(&head, backup.join("apply.jsonl.head")).unwrap();
    step(
        &moto,
        h,
        &cfg,
        &[
            "apply",
            "--undo",
            "--format",
            "json",
            "--gcp-endpoint",
            &url,
            "--journal",
            s(&aj),
        ],
    );
    let m2 = h.join("m2.age");
    seal(h, &cfg, &plan, &inv, &[&mj, &aj], &m2);
    std::fs::copy(backup.join("apply.jsonl"), &aj).unwrap();
    std::fs::copy(backup.join("apply.jsonl.head"), &head).unwrap();
    let out = h.join("older-journal.json");
    let r = run(handover_offline(h).arg("report").args([
        "--inventory",
        s(&inv),
        "--plan",
        s(&plan),
        "--journal",
        s(&mj),
        "--journal",
        s(&aj),
        "--manifest",
        s(&m2),
        "-i",
        s(&agekey),
        "--signer",
        s(&signer),
        "-o",
        s(&out),
    ]));
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("the manifest records"), "{}", r.stderr);
    assert!(!out.exists());
}

/// A verification of the example plan with one claim per step of `plan`, each with the
/// status `status_of` gives it (`None`: no claim about that step).
fn verification_of(
    plan: &Value,
    status_of: impl Fn(usize, &Value) -> Option<&'static str>,
) -> Value {
    let claims: Vec<Value> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter_map(|(i, st)| {
            let status = status_of(i, st)?;
            Some(serde_json::json!({
                "kind": "revoked",
                "subject": format!("{} {}", st["id"].as_str().unwrap(), st["target"]["label"].as_str().unwrap()),
                "status": status,
                "detail": "as checked live",
            }))
        })
        .collect();
    serde_json::json!({
        "schema": "handover/verification", "version": 1,
        "checked_at": "2026-12-02T10:00:00Z", "plan_digest": plan["digest"],
        "manifest_created_at": "2026-12-01T09:00:00Z", "handover_date": "2026-12-01T00:00:00Z",
        "summary": {}, "claims": claims,
    })
}

// The status rule of docs/report.md: proven only when every step but review has a
// passing claim and none is failed or pending; one failed claim fails the handover; a
// pending claim, or a step no claim proves, leaves it pending.
#[test]
fn the_overall_status_follows_the_documented_rule() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(example("plan-full-transfer.json")).unwrap())
            .unwrap();
    let not_review = |st: &Value| st["action"] != "review";
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "proven",
            verification_of(&plan, |_, st| not_review(st).then_some("pass")),
            "every step other than review has a passing live claim",
        ),
        (
            "failed",
            verification_of(&plan, |i, st| {
                not_review(st).then_some(if i == 3 { "fail" } else { "pass" })
            }),
            "1 live claim(s) failed",
        ),
        (
            "pending",
            verification_of(&plan, |i, st| {
                not_review(st).then_some(if i == 3 { "pending" } else { "pass" })
            }),
            "1 live claim(s) pending",
        ),
        (
            "pending",
            verification_of(&plan, |i, st| (not_review(st) && i != 3).then_some("pass")),
            "1 step(s) have no passing live claim",
        ),
    ];
    for (n, (want, v, why)) in cases.into_iter().enumerate() {
        let vf = h.join(format!("v{n}.json"));
        std::fs::write(&vf, v.to_string()).unwrap();
        let out = h.join(format!("r{n}.json"));
        let bytes = report(
            h,
            &[
                "--inventory",
                ex("inventory.json"),
                "--plan",
                ex("plan-full-transfer.json"),
                "--verification",
                s(&vf),
            ],
            &out,
        );
        let r: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            r["summary"]["status"], want,
            "case {n}: {}",
            r["summary"]["status_reasons"]
        );
        let reasons = r["summary"]["status_reasons"].to_string();
        assert!(reasons.contains(why), "case {n}: {reasons}");
    }
}

/// A group of more items than the page shows in full (an organisation's account with
/// hundreds of keys of one owner): the first `DETAIL_ROWS` are in full, every other one
/// is still on the page in brief, with its id and anchor, and the JSON has them all.
/// Without the brief table a 50,000-credential page was 46 MB.
#[test]
fn a_large_group_is_in_full_then_in_brief_and_no_item_is_left_out() {
    let h = tempfile::tempdir().unwrap();
    let mut inv: serde_json::Value =
        serde_json::from_slice(&std::fs::read(example("inventory.json")).unwrap()).unwrap();
    let first = inv["credentials"][0].clone();
    let n = handover::report::render::DETAIL_ROWS + 37;
    let mut ids = Vec::new();
    for i in 0..n {
        let mut c = first.clone();
        let id = format!("{}-copy-{i:03}", first["id"].as_str().unwrap());
        c["id"] = id.clone().into();
        ids.push(id);
        inv["credentials"].as_array_mut().unwrap().push(c);
    }
    let path = h.path().join("inventory.json");
    std::fs::write(&path, serde_json::to_vec(&inv).unwrap()).unwrap();
    let html = String::from_utf8(report(
        h.path(),
        &["--inventory", s(&path)],
        &h.path().join("r.html"),
    ))
    .unwrap();
    let json = String::from_utf8(report(
        h.path(),
        &["--inventory", s(&path)],
        &h.path().join("r.json"),
    ))
    .unwrap();
    for id in &ids {
        assert!(html.contains(id.as_str()), "{id} is not on the page");
        assert!(json.contains(id.as_str()), "{id} is not in the JSON");
    }
    assert!(html.contains("in brief"), "no brief table");
    let brief = html
        .split("table class=\"items brief\"")
        .nth(1)
        .expect("a brief table");
    let brief_rows = brief
        .split("</table>")
        .next()
        .unwrap()
        .matches("<tr id=")
        .count();
    assert!(brief_rows >= 37, "{brief_rows} brief rows");
}
