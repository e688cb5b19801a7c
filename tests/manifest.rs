//! `handover manifest` and `manifest show`: age interop with the reference `age` CLI in
//! both directions (armored and binary, X25519, ssh-ed25519 and ssh-rsa), the sshsig
//! signature checked by `ssh-keygen -Y verify`, bad input, and canaries.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::*;

const AGE_PK: &str = "age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3";

fn example(p: &str) -> PathBuf {
    repo().join("examples/northwind-to-contoso").join(p)
}

/// The example's inventory and full-transfer plan, made offline into `home`.
fn example_plan(home: &Path) -> (PathBuf, PathBuf) {
    let (inv, plan) = (home.join("inventory.json"), home.join("plan.json"));
    let r = run(handover_offline(home)
        .args(["audit", "--snapshot"])
        .arg(example("snapshot"))
        .args(["--format", "json", "-o"])
        .arg(&inv));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(handover_offline(home)
        .args(["plan", "--policy"])
        .arg(repo().join("policies/full-transfer.yaml"))
        .arg("--inventory")
        .arg(&inv)
        .arg("--config")
        .arg(example("handover.toml"))
        .args(["--format", "json", "-o"])
        .arg(&plan));
    assert_eq!(r.code, 0, "{}", r.stderr);
    (inv, plan)
}

fn manifest(home: &Path, config: &Path, inv: &Path, plan: &Path, extra: &[&str]) -> Run {
    run(handover_offline(home)
        .arg("manifest")
        .arg("--config")
        .arg(config)
        .arg("--inventory")
        .arg(inv)
        .arg("--plan")
        .arg(plan)
        .args(extra))
}

fn age_decrypt(identity: &Path, file: &Path) -> std::process::Output {
    age_cli()
        .args(["-d", "-i"])
        .arg(identity)
        .arg(file)
        .output()
        .unwrap()
}

fn allowed_signers(home: &Path) -> PathBuf {
    let p = home.join("allowed_signers");
    std::fs::write(
        &p,
        format!(
            "northwind {}",
            std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap()
        ),
    )
    .unwrap();
    p
}

fn ssh_keygen_verify(home: &Path, file: &Path, sig: &Path) -> std::process::Output {
    Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(allowed_signers(home))
        .args(["-I", "northwind", "-n", "handover-manifest", "-s"])
        .arg(sig)
        .stdin(std::fs::File::open(file).unwrap())
        .output()
        .expect("ssh-keygen is missing: apt-get install openssh-client")
}

/// Encrypts `plain` with the reference age CLI to these recipients.
fn age_encrypt(recipients: &[&str], armor: bool, plain: &[u8], out: &Path) {
    let mut cmd = age_cli();
    cmd.arg("-e");
    for r in recipients {
        cmd.args(["-r", r]);
    }
    if armor {
        cmd.arg("-a");
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

fn ssh_pub() -> String {
    std::fs::read_to_string(example_key("contoso-security-ssh.pub"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn the_reference_age_cli_reads_what_handover_writes_and_the_signature_verifies_with_ssh_keygen() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (inv, plan) = example_plan(h);
    let plan_digest = json(&std::fs::read_to_string(&plan).unwrap())["digest"]
        .as_str()
        .unwrap()
        .to_string();
    for armor in [false, true] {
        let out = h.join(if armor {
            "handover.age.asc"
        } else {
            "handover.age"
        });
        let mut args = vec!["-o", out.to_str().unwrap()];
        if armor {
            args.push("--armor");
        }
        let r = manifest(h, &example("handover.toml"), &inv, &plan, &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(
            bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"),
            armor
        );
        assert_eq!(bytes.starts_with(b"age-encryption.org/v1\n"), !armor);
        // The customer's age key and its SSH key both open it.
        for id in ["contoso-security.agekey", "contoso-security-ssh"] {
            let o = age_decrypt(&example_key(id), &out);
            assert!(
                o.status.success(),
                "{id}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let m = json(&String::from_utf8(o.stdout).unwrap());
            assert_eq!(m["schema"], "handover/manifest");
            assert_eq!(m["plan"]["digest"], plan_digest.as_str());
            assert_eq!(
                m["steps"].as_array().unwrap().len(),
                json(&std::fs::read_to_string(&plan).unwrap())["steps"]
                    .as_array()
                    .unwrap()
                    .len()
            );
            assert_eq!(
                m["recipients"].as_array().unwrap().len(),
                2,
                "the config's key and file name the same age key once: {}",
                m["recipients"]
            );
            assert!(m["documentation"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["sha256"].as_str().unwrap().starts_with("sha256:")));
            assert_eq!(
                m["coverage_gaps"],
                json(&std::fs::read_to_string(&inv).unwrap())["gaps"]
            );
        }
        let v = ssh_keygen_verify(h, &out, &PathBuf::from(format!("{}.sig", out.display())));
        assert!(
            v.status.success(),
            "ssh-keygen -Y verify: {}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    // An ssh-rsa recipient given with -r.
    let rsa = h.join("rsa");
    assert!(Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "rsa",
            "-b",
            "2048",
            "-N",
            "",
            "-C",
            "rsa@contoso.example",
            "-f"
        ])
        .arg(&rsa)
        .status()
        .unwrap()
        .success());
    let rsa_pub = std::fs::read_to_string(h.join("rsa.pub")).unwrap();
    let out = h.join("rsa.age");
    let r = manifest(
        h,
        &example("handover.toml"),
        &inv,
        &plan,
        &["-r", rsa_pub.trim(), "-o", out.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(age_decrypt(&rsa, &out).status.success());
    assert!(
        !age_decrypt(&example_key("contoso-security.agekey"), &out)
            .status
            .success(),
        "-r replaces the config's recipients"
    );

    // A recipients file in authorized_keys style, with comments and options.
    let file = h.join("authorized_keys");
    std::fs::write(
        &file,
        format!(
            "# the security team\n\nno-pty,command=\"/bin/false\" {}\n",
            ssh_pub()
        ),
    )
    .unwrap();
    let out = h.join("file.age");
    let r = manifest(
        h,
        &example("handover.toml"),
        &inv,
        &plan,
        &["-R", file.to_str().unwrap(), "-o", out.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(age_decrypt(&example_key("contoso-security-ssh"), &out)
        .status
        .success());

    // The other direction: handover reads what the reference age encrypted, armored and binary.
    let plain = age_decrypt(
        &example_key("contoso-security.agekey"),
        &h.join("handover.age"),
    )
    .stdout;
    for armor in [false, true] {
        let rev = h.join(format!("reverse-{armor}.age"));
        age_encrypt(&[AGE_PK, &ssh_pub()], armor, &plain, &rev);
        for id in ["contoso-security.agekey", "contoso-security-ssh"] {
            let r = run(handover_offline(h)
                .env_remove("HANDOVER_CONFIG")
                // age's own file carries no signature (issue 15: unverified is exit 10).
                .args([
                    "manifest",
                    "show",
                    "--no-signature-check",
                    "--format",
                    "json",
                    "-i",
                ])
                .arg(example_key(id))
                .arg(&rev));
            assert_eq!(r.code, 0, "{id}: {}", r.stderr);
            assert_eq!(json(&r.stdout)["plan"]["digest"], plan_digest.as_str());
        }
    }
    // And `show` of the tool's own file checks the signature against the config.
    let r = run(handover_offline(h)
        .args(["manifest", "show", "--config"])
        .arg(example("handover.toml"))
        .arg("-i")
        .arg(example_key("contoso-security-ssh"))
        .arg(h.join("handover.age")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Signature: good")
            && r.stdout.contains("Recipients: as the manifest lists them"),
        "{}",
        r.stdout
    );
}

#[test]
fn bad_input_gets_a_clear_error_its_exit_code_and_nothing_written() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (inv, plan) = example_plan(h);
    let out = h.join("m.age");
    let o = out.to_str().unwrap();
    let nothing_written = |h: &Path| {
        assert!(
            !h.join("m.age").exists() && !h.join("m.age.sig").exists(),
            "nothing may be written"
        )
    };

    // No recipients at all.
    let cfg = h.join("no-recipients.toml");
    let text = std::fs::read_to_string(example("handover.toml")).unwrap();
    let cut = text.split("[recipients]").next().unwrap().to_string()
        + "[documentation]\nslo = \"docs/slo.md\"\n";
    std::fs::write(&cfg, cut).unwrap();
    let r = manifest(h, &cfg, &inv, &plan, &["-o", o]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no recipients") && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
    nothing_written(h);
    // A malformed recipient.
    let r = manifest(
        h,
        &example("handover.toml"),
        &inv,
        &plan,
        &["-r", "age1bogus", "-o", o],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("not an age X25519 recipient"),
        "{}",
        r.stderr
    );
    let bad = h.join("bad-recipients.txt");
    std::fs::write(&bad, format!("{AGE_PK}\nssh-dss AAAAB3NzaC1kc3MAAACBAP\n")).unwrap();
    let r = manifest(
        h,
        &example("handover.toml"),
        &inv,
        &plan,
        &["-R", bad.to_str().unwrap(), "-o", o],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    nothing_written(h);
    // A signing key that is not the config's.
    let r = run(handover_offline(h)
        .env("HANDOVER_IDENTITY", example_key("contoso-security-ssh"))
        .arg("manifest")
        .arg("--config")
        .arg(example("handover.toml"))
        .arg("--inventory")
        .arg(&inv)
        .arg("--plan")
        .arg(&plan)
        .args(["-o", o]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("not the private half of [agency] signing_key"),
        "{}",
        r.stderr
    );
    // A plan edited after it was written.
    let edited = h.join("edited-plan.json");
    std::fs::write(
        &edited,
        std::fs::read_to_string(&plan)
            .unwrap()
            .replacen("\"revoke\"", "\"transfer\"", 1),
    )
    .unwrap();
    let r = manifest(h, &example("handover.toml"), &inv, &edited, &["-o", o]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not match its digest"),
        "{}",
        r.stderr
    );
    nothing_written(h);

    // A good manifest, then each way of breaking it.
    let r = manifest(h, &example("handover.toml"), &inv, &plan, &["-o", o]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let good = std::fs::read(&out).unwrap();
    let r = manifest(h, &example("handover.toml"), &inv, &plan, &["-o", o]);
    assert_eq!(
        r.code, 6,
        "an existing manifest is not overwritten: {}",
        r.stderr
    );
    assert_eq!(std::fs::read(&out).unwrap(), good);

    let show = |file: &Path, id: &Path| {
        run(handover_offline(h)
            .args(["manifest", "show", "--config"])
            .arg(example("handover.toml"))
            .arg("-i")
            .arg(id)
            .arg(file))
    };
    // Without a signer nothing is checked first: what decryption itself catches.
    let show_unsigned = |file: &Path, id: &Path| {
        run(handover_offline(h)
            .env_remove("HANDOVER_CONFIG")
            .args(["manifest", "show", "--no-signature-check", "-i"])
            .arg(id)
            .arg(file))
    };
    // An identity it was not encrypted to.
    let stranger = h.join("stranger.key");
    assert!(Command::new("age-keygen")
        .arg("-o")
        .arg(&stranger)
        .output()
        .unwrap()
        .status
        .success());
    let r = show(&out, &stranger);
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stderr.contains("not encrypted to this key"),
        "{}",
        r.stderr
    );
    // Truncated.
    let cut = h.join("cut.age");
    std::fs::write(&cut, &good[..good.len() - 100]).unwrap();
    std::fs::copy(h.join("m.age.sig"), h.join("cut.age.sig")).unwrap();
    let r = show(&cut, &example_key("contoso-security.agekey"));
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stderr.contains("changed after the agency signed it"),
        "the signature is checked first: {}",
        r.stderr
    );
    let r = show_unsigned(&cut, &example_key("contoso-security.agekey"));
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stderr.contains("truncated or has been altered"),
        "{}",
        r.stderr
    );
    // One byte flipped in the payload.
    let mut flipped = good.clone();
    let at = flipped.len() - 50;
    flipped[at] ^= 0x01;
    let tampered = h.join("flipped.age");
    std::fs::write(&tampered, &flipped).unwrap();
    let r = show(&tampered, &example_key("contoso-security.agekey"));
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert_eq!(
        show_unsigned(&tampered, &example_key("contoso-security.agekey")).code,
        10
    );
    // A signature from another key.
    let good_sig = std::fs::read(h.join("m.age.sig")).unwrap();
    std::fs::remove_file(h.join("m.age.sig")).unwrap();
    // ssh-keygen refuses a private key others can read; a git checkout does not keep 0600.
    let other_key = h.join("other-signer");
    std::fs::copy(example_key("contoso-security-ssh"), &other_key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&other_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let other_sig = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "handover-manifest", "-f"])
        .arg(&other_key)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        other_sig.status.success(),
        "{}",
        String::from_utf8_lossy(&other_sig.stderr)
    );
    assert_ne!(std::fs::read(h.join("m.age.sig")).unwrap(), good_sig);
    let r = show(&out, &example_key("contoso-security.agekey"));
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stdout.is_empty() && r.stderr.contains("signed by another key"),
        "refused before anything is shown: {}{}",
        r.stdout,
        r.stderr
    );
    std::fs::write(h.join("m.age.sig"), &good_sig).unwrap();
    // The manifest edited and encrypted again to the same recipients.
    let plain =
        String::from_utf8(age_decrypt(&example_key("contoso-security.agekey"), &out).stdout)
            .unwrap();
    let edited_plain = plain.replacen("\"pending\"", "\"done\"", 1);
    assert_ne!(plain, edited_plain);
    let edited = h.join("edited.age");
    age_encrypt(
        &[AGE_PK, &ssh_pub()],
        false,
        edited_plain.as_bytes(),
        &edited,
    );
    std::fs::copy(h.join("m.age.sig"), h.join("edited.age.sig")).unwrap();
    let r = show(&edited, &example_key("contoso-security.agekey"));
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stderr.contains("changed after the agency signed it"),
        "{}",
        r.stderr
    );
    // Not an age file at all.
    let junk = h.join("junk.age");
    std::fs::write(&junk, b"hello").unwrap();
    let r = show(&junk, &example_key("contoso-security.agekey"));
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(r.stderr.contains("no signature"), "{}", r.stderr);
    let r = show_unsigned(&junk, &example_key("contoso-security.agekey"));
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stderr.contains("not an age-encrypted file"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn secret_material_is_only_inside_the_encrypted_manifest_and_shown_only_when_revealed() {
    const CANARY: &str = "CANARY-breakglass-5e1f";
    let gcp = gcp_server();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (inv, plan) = example_plan(h);
    // A migration journal, for its digest key.
    let env = h.join(".env");
    std::fs::write(&env, "TOKEN=CANARY-migrated-77\n").unwrap();
    let j = h.join("j.jsonl");
    let r = run(handover_offline(h)
        .args([
            "migrate",
            "--format",
            "json",
            "--from",
            &format!("dotenv:{}", env.display()),
            "--to",
            "gcp:canary-proj",
            "--gcp-endpoint",
            &gcp.url(),
            "--all",
            "--apply",
            "--journal",
        ])
        .arg(&j));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cred = h.join("break-glass.json");
    std::fs::write(
        &cred,
        format!("{{\"AccessKeyId\": \"AKIA-new\", \"SecretAccessKey\": \"{CANARY}\"}}"),
    )
    .unwrap();
    let out = h.join("m.age");
    let r = run(handover_offline(h)
        .args(["-vvv", "manifest", "--config"])
        .arg(example("handover.toml"))
        .arg("--inventory")
        .arg(&inv)
        .arg("--plan")
        .arg(&plan)
        .arg("--journal")
        .arg(&j)
        .arg("--credential")
        .arg(format!("break-glass={}", cred.display()))
        .arg("-o")
        .arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains(CANARY) && !r.stderr.contains(CANARY));
    let key_hex = String::from_utf8(
        age_decrypt(
            &example_key("contoso-security.agekey"),
            &PathBuf::from(format!("{}.key.age", j.display())),
        )
        .stdout,
    )
    .unwrap()
    .lines()
    .nth(1)
    .unwrap()
    .to_string();
    for f in walk(h) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        if f == cred || f == env {
            continue;
        }
        assert!(
            !text.contains(CANARY) && !text.contains("CANARY-migrated") && !text.contains(&key_hex),
            "{} holds secret material",
            f.display()
        );
    }
    let show = |reveal: bool, format: &str| {
        let mut cmd = handover_offline(h);
        cmd.args(["-vvv", "manifest", "show", "--format", format, "-i"])
            .arg(example_key("contoso-security-ssh"))
            .arg(&out);
        if reveal {
            cmd.arg("--reveal");
        }
        run(&mut cmd)
    };
    for format in ["table", "json"] {
        let r = show(false, format);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            !r.stdout.contains(CANARY)
                && !r.stderr.contains(CANARY)
                && !r.stdout.contains(&key_hex),
            "hidden without --reveal"
        );
        assert!(r.stdout.contains("break-glass"), "{}", r.stdout);
        let r = show(true, format);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.contains(CANARY) && r.stdout.contains(&key_hex),
            "--reveal shows it"
        );
        assert!(!r.stderr.contains(CANARY), "never in the log");
    }
    let m = json(&show(false, "json").stdout);
    let migrated = &m["migrated_secrets"][0];
    assert_eq!(migrated["destination"], "TOKEN");
    assert_eq!(migrated["to"]["scope"], "canary-proj");
    assert!(migrated["digest"]
        .as_str()
        .unwrap()
        .starts_with("hmac-sha256:"));
    assert_eq!(migrated["outcome"], "done");
    assert_eq!(m["digest_keys"][0]["id"], migrated["digest_key"]);
    // The manifest records the journal's head, so a journal read beside it later shows
    // whether it was cut short or rewritten since.
    let lines: Vec<String> = std::fs::read_to_string(&j)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let record = &m["journals"][0];
    assert_eq!(record["file"], "j.jsonl");
    assert_eq!(record["entries"], lines.len() as u64);
    assert_eq!(record["last_mac"], json(lines.last().unwrap())["mac"]);
    assert_eq!(record["digest_key"], migrated["digest_key"]);

    // Regression: a journal cut by whole lines was read as complete. `manifest` refuses it
    // and writes nothing.
    std::fs::write(
        &j,
        lines[..lines.len() - 1]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let out2 = h.join("m2.age");
    let r = run(handover_offline(h)
        .args(["manifest", "--config"])
        .arg(example("handover.toml"))
        .arg("--inventory")
        .arg(&inv)
        .arg("--plan")
        .arg(&plan)
        .arg("--journal")
        .arg(&j)
        .arg("-o")
        .arg(&out2));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("whole lines were removed") && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
    assert!(
        !out2.exists() && !h.join("m2.age.sig").exists(),
        "nothing written"
    );
}

#[test]
fn the_committed_manifest_and_verification_schemas_match_the_code() {
    let home = tempfile::tempdir().unwrap();
    for name in ["manifest", "verification"] {
        let r = run(handover_offline(home.path()).args(["schema", name]));
        assert_eq!(r.code, 0);
        let committed = std::fs::read_to_string(repo().join(format!("schemas/{name}.v1.json")))
            .unwrap_or_default();
        assert_eq!(r.stdout, committed, "schemas/{name}.v1.json is stale: run `cargo run -- schema {name} > schemas/{name}.v1.json`");
    }
}

/// Binary age output is refused to a terminal (a pseudo-terminal from util-linux
/// `script`); armored output to one is allowed.
#[test]
fn binary_output_is_refused_to_a_terminal() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (inv, plan) = example_plan(h);
    let present = Command::new("script")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        present,
        "util-linux `script` is missing: apt-get install bsdutils"
    );
    let base = format!(
        "{} manifest --config {} --inventory {} --plan {} --sign-key {}",
        env!("CARGO_BIN_EXE_handover"),
        example("handover.toml").display(),
        inv.display(),
        plan.display(),
        example_key("northwind-signing").display()
    );
    let on_tty = |args: &str| {
        Command::new("script")
            .args([
                "-qec",
                &format!("{base} {args}; echo \"exit=$?\""),
                "/dev/null",
            ])
            .current_dir(h)
            .output()
            .unwrap()
    };
    let o = on_tty(&format!("--signature {}", h.join("a.sig").display()));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("exit=2")
            && text.contains("refusing to write a binary age file to a terminal"),
        "{text}"
    );
    assert!(!h.join("a.sig").exists(), "nothing written");
    let o = on_tty(&format!(
        "--armor --signature {}",
        h.join("b.sig").display()
    ));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("exit=0") && text.contains("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{text}"
    );
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An ssh-ed25519 public key line for these 32 bytes (any bytes, on the curve or not).
fn ed25519_line(point: [u8; 32]) -> String {
    let mut wire = Vec::new();
    for part in [b"ssh-ed25519".as_slice(), &point] {
        wire.extend((part.len() as u32).to_be_bytes());
        wire.extend(part);
    }
    format!("ssh-ed25519 {} attacker@example", b64(&wire))
}

const ZERO_AGE: &str = "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z";

/// Issue 10 items 2 and 3: an all-zero ssh-ed25519 recipient was accepted and the manifest
/// then opened without any private key; the all-zero age recipient panicked (exit 101).
/// Both are refused with exit 3 (a file) or 2 (a flag), naming the file and line, and the
/// reference age CLI refuses them too.
#[test]
fn degenerate_recipients_are_refused_like_the_reference_age_does_and_nothing_is_written() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (inv, plan) = example_plan(h);
    let out = h.join("m.age");
    let o = out.to_str().unwrap();
    let nothing_written = || {
        assert!(
            !out.exists() && !h.join("m.age.sig").exists(),
            "nothing may be written"
        )
    };
    let zero_ssh = ed25519_line([0; 32]);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    for (n, bad) in [
        zero_ssh.clone(),
        ed25519_line(identity),
        ZERO_AGE.to_string(),
    ]
    .iter()
    .enumerate()
    {
        let file = h.join(format!("recipients-{n}.txt"));
        std::fs::write(&file, format!("# the customer\n{AGE_PK}\n{bad}\n")).unwrap();
        let r = manifest(
            h,
            &example("handover.toml"),
            &inv,
            &plan,
            &["-R", file.to_str().unwrap(), "-o", o],
        );
        assert_eq!(r.code, 3, "{bad}: {}", r.stderr);
        assert!(
            r.stderr.contains(file.to_str().unwrap())
                && r.stderr.contains("line 3")
                && r.stderr.contains("small order"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("hint:"), "{}", r.stderr);
        assert!(
            !r.stderr
                .contains(bad.split_whitespace().nth(1).unwrap_or(bad)),
            "the key is not echoed: {}",
            r.stderr
        );
        nothing_written();
        // The reference age refuses to encrypt to it as well.
        let mut cmd = age_cli();
        let refused = cmd
            .arg("-R")
            .arg(&file)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            !refused.status.success(),
            "the reference age encrypted to {bad}"
        );
    }
    let r = manifest(
        h,
        &example("handover.toml"),
        &inv,
        &plan,
        &["-r", ZERO_AGE, "-o", o],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("small order") && !r.stderr.contains("internal error"),
        "{}",
        r.stderr
    );
    nothing_written();
    let r = manifest(
        h,
        &example("handover.toml"),
        &inv,
        &plan,
        &["-r", &zero_ssh, "-o", o],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    nothing_written();
    // In the config too: its load fails, naming the entry.
    let cfg = h.join("zero.toml");
    let text = std::fs::read_to_string(example("handover.toml")).unwrap();
    std::fs::write(&cfg, text.replace(AGE_PK, ZERO_AGE)).unwrap();
    assert_ne!(std::fs::read_to_string(&cfg).unwrap(), text);
    let r = manifest(h, &cfg, &inv, &plan, &["-o", o]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("[recipients] keys entry 1")
            && r.stderr.contains("small order")
            && !r.stderr.contains(ZERO_AGE),
        "{}",
        r.stderr
    );
    nothing_written();
}

/// Issue 10 item 3: no malformed recipient may panic the command (exit 101).
#[test]
fn malformed_recipients_on_the_command_line_are_exit_2_never_a_panic() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (inv, plan) = example_plan(h);
    let o = h.join("m.age");
    let mut flipped = AGE_PK.to_string();
    flipped.pop();
    flipped.push('4');
    for bad in [
        ZERO_AGE,
        "age1",
        flipped.as_str(),
        &AGE_PK.to_uppercase(),
        &AGE_PK[..40],
        "ssh-ed25519 AAAA",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAAQ==",
        "AGE-SECRET-KEY-1QQQQ",
    ] {
        let r = manifest(
            h,
            &example("handover.toml"),
            &inv,
            &plan,
            &["-r", bad, "-o", o.to_str().unwrap()],
        );
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(
            !r.stderr.contains("internal error") && r.stderr.contains("hint:"),
            "{bad}: {}",
            r.stderr
        );
        assert!(!o.exists());
    }
}

/// Issue 10 item 4: `-R` pointed at a private key printed the first 24 characters of each
/// line. The error names the file and line, says what it looks like, and echoes nothing.
#[test]
fn a_private_key_given_as_recipients_is_named_and_never_echoed() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (inv, plan) = example_plan(h);
    let o = h.join("m.age");
    for key in [
        "contoso-security-ssh",
        "contoso-security.agekey",
        "northwind-signing",
    ] {
        let file = example_key(key);
        let r = manifest(
            h,
            &example("handover.toml"),
            &inv,
            &plan,
            &["-R", file.to_str().unwrap(), "-o", o.to_str().unwrap()],
        );
        assert_eq!(r.code, 3, "{key}: {}", r.stderr);
        assert!(
            r.stderr.contains(key)
                && r.stderr.contains("line ")
                && r.stderr.contains("private key"),
            "{}",
            r.stderr
        );
        let text = std::fs::read_to_string(&file).unwrap();
        for l in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#') && !l.starts_with("-----"))
        {
            for w in l.as_bytes().windows(10) {
                let w = std::str::from_utf8(w).unwrap();
                assert!(
                    !r.stderr.contains(w) && !r.stdout.contains(w),
                    "{key}: the error echoes {w:?}: {}",
                    r.stderr
                );
            }
        }
        assert!(!o.exists());
    }
}

/// A manifest header of `stanzas` X25519 stanzas (none opens) and a short payload.
fn many_stanzas(stanzas: usize) -> Vec<u8> {
    let mut f = b"age-encryption.org/v1\n".to_vec();
    for _ in 0..stanzas {
        f.extend_from_slice(b"-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    }
    f.extend_from_slice(b"--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    f.extend_from_slice(&[0u8; 64]);
    f
}

/// Issue 10 item 7: a header of 20,000 stanzas took 86 s to parse, and a manifest was
/// decrypted before its signature was checked. The signature comes first (a forged or
/// missing one is refused before any identity is read or anything decrypted), and the
/// header is bounded before age parses it.
#[test]
fn the_signature_is_checked_before_decrypting_and_a_huge_header_is_refused_quickly() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let big = h.join("big.age");
    std::fs::write(&big, many_stanzas(20_000)).unwrap();
    // No signer: nothing to check, and the header cap still holds.
    let t = std::time::Instant::now();
    let r = run(handover_offline(h)
        .env_remove("HANDOVER_CONFIG")
        .args(["manifest", "show", "--no-signature-check", "-i"])
        .arg(example_key("contoso-security.agekey"))
        .arg(&big));
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stderr.contains("more than 64 recipient stanzas"),
        "{}",
        r.stderr
    );
    // With a signer: a missing signature is refused before anything else, even before
    // the identity (which does not exist) is read.
    let show = |file: &Path| {
        run(handover_offline(h)
            .args(["manifest", "show", "--config"])
            .arg(example("handover.toml"))
            .arg("-i")
            .arg(h.join("no-such-identity"))
            .arg(file))
    };
    let r = show(&big);
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(r.stderr.contains("no signature"), "{}", r.stderr);

    // A real manifest, then the same content re-encrypted (a forgery) under its signature.
    let (inv, plan) = example_plan(h);
    let out = h.join("m.age");
    let r = manifest(
        h,
        &example("handover.toml"),
        &inv,
        &plan,
        &["-o", out.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plain = age_decrypt(&example_key("contoso-security.agekey"), &out).stdout;
    let forged = h.join("forged.age");
    age_encrypt(&[AGE_PK, &ssh_pub()], false, &plain, &forged);
    std::fs::copy(h.join("m.age.sig"), h.join("forged.age.sig")).unwrap();
    let r = show(&forged);
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stderr.contains("changed after the agency signed it"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.is_empty(),
        "nothing of an unsigned manifest is shown: {}",
        r.stdout
    );
    // The 20,000-stanza file under a signature of another key: refused on the signature.
    std::fs::copy(h.join("m.age.sig"), h.join("big.age.sig")).unwrap();
    let r = show(&big);
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(
        r.stderr.contains("changed after the agency signed it"),
        "{}",
        r.stderr
    );
    // The genuine file still opens.
    let r = run(handover_offline(h)
        .args(["manifest", "show", "--config"])
        .arg(example("handover.toml"))
        .arg("-i")
        .arg(example_key("contoso-security.agekey"))
        .arg(&out));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Issue 10 item 8: a forged manifest printed raw ESC sequences that rewrote
/// "Signature: NOT VERIFIED" as "Signature: good". Every field is escaped on a terminal,
/// and JSON output carries controls only as \u escapes.
#[test]
fn a_hostile_manifest_prints_no_raw_control_or_bidi_character() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (inv, plan) = example_plan(h);
    let out = h.join("m.age");
    let r = manifest(
        h,
        &example("handover.toml"),
        &inv,
        &plan,
        &["-o", out.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut m = json(
        &String::from_utf8(age_decrypt(&example_key("contoso-security.agekey"), &out).stdout)
            .unwrap(),
    );
    let hostile = "\u{1b}[1A\u{1b}[2K\rSignature: good\u{202e}\u{9b}2J\u{7}";
    m["handover"]["agency"]["name"] = hostile.into();
    m["steps"][0]["target"]["label"] = format!("user {hostile}\nSignature: good").into();
    m["recipients"][0] = format!("ssh-ed25519 {hostile}").into();
    if let Some(g) = m["coverage_gaps"].get_mut(0) {
        g["reason"] = hostile.into();
    }
    let forged = h.join("forged.age");
    age_encrypt(
        &[AGE_PK, &ssh_pub()],
        false,
        m.to_string().as_bytes(),
        &forged,
    );
    for format in ["table", "json"] {
        let r = run(handover_offline(h)
            .env_remove("HANDOVER_CONFIG")
            .args([
                "manifest",
                "show",
                "--no-signature-check",
                "--format",
                format,
                "-i",
            ])
            .arg(example_key("contoso-security.agekey"))
            .arg(&forged));
        assert_eq!(r.code, 10, "the recipients no longer match: {}", r.stderr);
        for text in [&r.stdout, &r.stderr] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\r'),
                "{format}: raw control in {text:?}"
            );
        }
        if format == "table" {
            assert!(
                r.stdout.starts_with("Signature: NOT VERIFIED"),
                "{}",
                r.stdout
            );
            assert!(
                !r.stdout.lines().any(|l| l.starts_with("Signature: good")),
                "{}",
                r.stdout
            );
            assert!(
                r.stdout.contains("\\x1b[2K")
                    && r.stdout.contains("\\u{202e}")
                    && r.stdout.contains("\\x9b"),
                "{}",
                r.stdout
            );
            assert!(
                !r.stdout.contains('\u{202e}') && !r.stdout.contains('\u{9b}'),
                "{}",
                r.stdout
            );
        } else {
            assert!(r.stdout.contains("\\u001b[2K"), "{}", r.stdout);
        }
    }
}

// ------------------------------------------------------------------ issue 12: typed journal entries

/// The committed journal written by `handover migrate --apply` before journal entries
/// were typed (tests/data/journal-v1, see generate.rs there), opened with the example
/// agency's key. Holds every outcome, every store kind, an all-versions copy and an
/// intent with no result.
fn journal_v1() -> (tempfile::TempDir, PathBuf, handover::secret::DigestKey) {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "journal.jsonl",
        "journal.jsonl.head",
        "journal.jsonl.key.age",
    ] {
        std::fs::copy(
            repo().join("tests/data/journal-v1").join(f),
            dir.path().join(f),
        )
        .unwrap();
    }
    let j = dir.path().join("journal.jsonl");
    let ids = handover::crypto::read_identities(&example_key("northwind-signing")).unwrap();
    let key = handover::migrate::key::open(&j, &ids).unwrap();
    (dir, j, key)
}

// Regression guard: a journal written before entries were typed (store names as text)
// must still verify, replay, and give the manifest the same migrated-secret records.
#[test]
fn a_journal_of_the_first_format_reads_into_the_same_records() {
    let (_dir, j, key) = journal_v1();
    let replay = handover::journal::Journal::read(&j, &handover::journal::ChainKey::derive(&key))
        .expect("the old journal verifies");
    assert_eq!(replay.entries.len(), 17);
    let (secrets, record) = handover::manifest::migrated_from(&j, &key).unwrap();
    let got = serde_json::json!({"migrated_secrets": secrets, "journal": record});
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/data/journal-v1/expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(got, expected);
}

// A resumed old journal holds both forms: old entries name stores as text, new ones as
// typed records; the chain verifies across them and the manifest reads both.
#[test]
fn a_journal_of_the_first_format_resumes_with_typed_entries() {
    use handover::journal::{Change, CopyResult, Journal, ReadBack, Stage};
    let (_dir, j, key) = journal_v1();
    let chain = handover::journal::ChainKey::derive(&key);
    let (mut journal, replay) = Journal::open(&j, &chain).unwrap();
    let doubt = replay.in_doubt(handover::journal::Op::MigrateSecret);
    assert_eq!(doubt.len(), 1, "the refused write is in doubt");
    let Change::CopyIntent(intent) = &doubt[0].change else {
        panic!("an intent")
    };
    assert_eq!(intent.copy.to.kind, handover::journal::StoreKind::Aws);
    let result = Change::CopyResult(CopyResult {
        copy: intent.copy.clone(),
        source: Some(intent.source.clone()),
        detail: None,
        read_back: Some(ReadBack::One {
            version: Some("v-new".into()),
            destination_digest: intent.source.current().map(str::to_string),
            verified: true,
        }),
    });
    let key_of = doubt[0].key.clone();
    journal.append(&key_of, result).unwrap();
    drop(journal);
    let replay = Journal::read(&j, &chain).unwrap();
    assert_eq!(replay.entries.len(), 18);
    assert_eq!(replay.entries[17].stage(), Stage::Result);
    // The new line has the old line's fields, the stores now as records.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&j)
        .unwrap()
        .lines()
        .map(json)
        .collect();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v["data"].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(
        keys(&lines[17]),
        keys(&lines[15]),
        "same fields as a written result"
    );
    assert_eq!(lines[15]["data"]["to"], "aws 999988887777 us-east-1");
    assert_eq!(
        lines[17]["data"]["to"],
        serde_json::json!({"kind": "aws", "scope": "999988887777", "region": "us-east-1"})
    );
    let (secrets, _) = handover::manifest::migrated_from(&j, &key).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/data/journal-v1/expected.json")).unwrap(),
    )
    .unwrap();
    let expected = expected["migrated_secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), expected.len());
    for (got, want) in secrets.iter().zip(expected) {
        let got = serde_json::to_value(got).unwrap();
        if got["destination"] == "C" && got["to"]["kind"] == "aws" {
            assert_eq!(want["outcome"], "pending");
            assert_eq!(got["outcome"], "done");
            assert_eq!(got["version"], "v-new");
        } else {
            assert_eq!(&got, want);
        }
    }
}

// ------------------------------------------------------------------ issue 13: apply journals

/// Appends one apply change of `step` (an intent, then, with `outcome`, its result) to
/// `journal`, as apply journals it.
fn journal_apply(
    journal: &mut handover::journal::Journal,
    op: handover::journal::Op,
    step: &serde_json::Value,
    plan_digest: &str,
    change: handover::journal::ApplyChange,
    outcome: Option<handover::journal::ApplyOutcome>,
) {
    use handover::journal::{ApplyIntent, ApplyResult, ApplyTarget, Change, Undo};
    let about = ApplyTarget {
        plan: plan_digest.into(),
        target: step["target"]["id"].as_str().unwrap().into(),
        provider: serde_json::from_value(step["target"]["provider"].clone()).unwrap(),
        scope: step["target"]["scope"].as_str().unwrap().into(),
        change,
        calls: vec!["iam:UpdateAccessKey".into()],
    };
    let undo = Undo::Irreversible { why: "test".into() };
    let id = step["id"].as_str().unwrap();
    journal
        .append(
            id,
            Change::ApplyIntent(
                op,
                ApplyIntent {
                    about: about.clone(),
                    undo: undo.clone(),
                },
            ),
        )
        .unwrap();
    if let Some(outcome) = outcome {
        journal
            .append(
                id,
                Change::ApplyResult(
                    op,
                    ApplyResult {
                        about,
                        outcome,
                        undo,
                        detail: None,
                    },
                ),
            )
            .unwrap();
    }
}

/// A new journal at `path` with its digest key sealed to the example agency's key, as
/// `apply --apply` creates one.
fn new_journal(path: &Path) -> handover::journal::Journal {
    let ids = handover::crypto::read_identities(&example_key("northwind-signing")).unwrap();
    let agency = std::fs::read_to_string(example_key("northwind-signing.pub")).unwrap();
    let to = [handover::crypto::parse_recipient(agency.trim()).unwrap()];
    let key = handover::migrate::key::open_or_create(path, true, &ids, &to).unwrap();
    let chain = handover::journal::ChainKey::derive(&key);
    handover::journal::Journal::open(path, &chain).unwrap().0
}

// Regression: `manifest` read only migrate's copies from its journals, so every step apply
// carried out stayed `pending` ("carried out in the account") and `verify` could not tell
// an applied revoke from one still to do.
#[test]
fn an_apply_journal_gives_each_step_its_outcome_and_one_of_another_plan_is_refused() {
    use handover::journal::{ApplyChange as C, ApplyOutcome as O, Op};
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (inv, plan) = example_plan(h);
    let plan_json = json(&std::fs::read_to_string(&plan).unwrap());
    let digest = plan_json["digest"].as_str().unwrap().to_string();
    let revokes: Vec<&serde_json::Value> = plan_json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "revoke")
        .collect();
    assert!(revokes.len() >= 5, "{}", revokes.len());
    let (done, failed, in_doubt, undone) = (revokes[0], revokes[1], revokes[2], revokes[3]);
    let j = h.join("apply.jsonl");
    let mut journal = new_journal(&j);
    journal_apply(
        &mut journal,
        Op::ApplyStep,
        done,
        &digest,
        C::Deactivate,
        Some(O::Done),
    );
    journal_apply(
        &mut journal,
        Op::ApplyStep,
        failed,
        &digest,
        C::Delete,
        Some(O::Failed),
    );
    journal_apply(
        &mut journal,
        Op::ApplyStep,
        in_doubt,
        &digest,
        C::Deactivate,
        None,
    );
    journal_apply(
        &mut journal,
        Op::ApplyStep,
        undone,
        &digest,
        C::Deactivate,
        Some(O::Done),
    );
    journal_apply(
        &mut journal,
        Op::ApplyUndo,
        undone,
        &digest,
        C::Restore,
        Some(O::Done),
    );
    drop(journal);

    let out = h.join("handover.age");
    let r = manifest(
        h,
        &example("handover.toml"),
        &inv,
        &plan,
        &[
            "--journal",
            j.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let o = age_decrypt(&example_key("contoso-security.agekey"), &out);
    assert!(o.status.success());
    let m = json(&String::from_utf8(o.stdout).unwrap());
    let record = |s: &serde_json::Value| {
        m["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == s["id"])
            .unwrap()
            .clone()
    };
    let r0 = record(done);
    assert_eq!(r0["outcome"], "done", "{r0}");
    assert_eq!(r0["applied"], "deactivate", "{r0}");
    assert!(
        r0["evidence"]
            .as_str()
            .unwrap()
            .contains("apply journal apply.jsonl: deactivate done"),
        "{r0}"
    );
    let r1 = record(failed);
    assert_eq!(r1["outcome"], "failed", "{r1}");
    assert!(
        r1.get("applied").is_none(),
        "a failed change is not applied: {r1}"
    );
    let r2 = record(in_doubt);
    assert_eq!(r2["outcome"], "pending", "{r2}");
    assert!(
        r2["evidence"]
            .as_str()
            .unwrap()
            .contains("result not journaled"),
        "{r2}"
    );
    // A change put back by `apply --undo` no longer holds: not claimed as done.
    let r3 = record(undone);
    assert_eq!(r3["outcome"], "pending", "{r3}");
    assert!(r3.get("applied").is_none(), "{r3}");
    let r4 = record(revokes[4]);
    assert_eq!(r4["outcome"], "pending", "untouched by apply: {r4}");
    assert_eq!(m["journals"][0]["file"], "apply.jsonl");

    // A journal carrying out another plan (another digest) is refused, nothing written.
    let other = h.join("other.jsonl");
    let mut journal = new_journal(&other);
    let foreign = format!("sha256:{}", "0".repeat(64));
    journal_apply(
        &mut journal,
        Op::ApplyStep,
        done,
        &foreign,
        C::Deactivate,
        Some(O::Done),
    );
    drop(journal);
    let out2 = h.join("refused.age");
    let r = manifest(
        h,
        &example("handover.toml"),
        &inv,
        &plan,
        &[
            "--journal",
            other.to_str().unwrap(),
            "-o",
            out2.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("not this plan") && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
    assert!(!out2.exists() && !h.join("refused.age.sig").exists());
}
