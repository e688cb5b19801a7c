//! The agency's signing key as people keep it (issue 15): a passphrase-protected OpenSSH
//! key (the passphrase from `HANDOVER_SSH_PASSPHRASE_FILE` or asked on a terminal), or a
//! key held by a real `ssh-agent` (added with `ssh-add`, an encrypted one included). Every
//! signature is checked with `ssh-keygen -Y verify`; the passphrase never appears in any
//! output, at `-vvv` either.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

const PASSPHRASE: &str = "secret-phrase";

fn example(p: &str) -> PathBuf {
    repo().join("examples/northwind-to-contoso").join(p)
}

/// A new key pair made by `ssh-keygen` (`passphrase` "" for none): (private, .pub).
fn keygen(home: &Path, name: &str, kind: &str, passphrase: &str) -> (PathBuf, PathBuf) {
    let key = home.join(name);
    let mut cmd = Command::new("ssh-keygen");
    cmd.args([
        "-q",
        "-t",
        kind,
        "-N",
        passphrase,
        "-C",
        "agency-signing",
        "-f",
    ])
    .arg(&key);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let out = cmd
        .output()
        .expect("ssh-keygen is missing: apt-get install openssh-client");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (key.clone(), PathBuf::from(format!("{}.pub", key.display())))
}

/// The example's config, its recipients file and documents, in `home`, with `public`
/// as `[agency] signing_key`.
fn config_signed_by(home: &Path, public: &Path) -> PathBuf {
    let public = std::fs::read_to_string(public).unwrap();
    let text = std::fs::read_to_string(example("handover.toml")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("signing_key = "))
        .unwrap();
    let text = text.replace(line, &format!("signing_key = {:?}", public.trim()));
    let cfg = home.join("handover.toml");
    std::fs::write(&cfg, text).unwrap();
    std::fs::copy(example("recipients.txt"), home.join("recipients.txt")).unwrap();
    let ok = Command::new("cp")
        .arg("-r")
        .arg(example("docs"))
        .arg(home)
        .status()
        .unwrap();
    assert!(ok.success());
    cfg
}

/// `handover -vvv manifest` of the example's plan, signed with `sign_key`.
fn manifest(home: &Path, cfg: &Path, sign_key: &str, out: &Path) -> Command {
    let mut cmd = handover_offline(home);
    cmd.args(["-vvv", "manifest", "--config"])
        .arg(cfg)
        .arg("--inventory")
        .arg(example("inventory.json"))
        .arg("--plan")
        .arg(example("plan-full-transfer.json"))
        .args(["--sign-key", sign_key, "-o"])
        .arg(out)
        .env_remove("HANDOVER_SSH_PASSPHRASE_FILE")
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null());
    cmd
}

/// `ssh-keygen -Y verify` of `file` with its `.sig`, against `public`.
fn ssh_keygen_verifies(home: &Path, public: &Path, file: &Path) {
    let signers = home.join("allowed_signers");
    std::fs::write(
        &signers,
        format!("agency {}", std::fs::read_to_string(public).unwrap()),
    )
    .unwrap();
    let v = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(&signers)
        .args(["-I", "agency", "-n", "handover-manifest", "-s"])
        .arg(format!("{}.sig", file.display()))
        .stdin(std::fs::File::open(file).unwrap())
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "ssh-keygen -Y verify: {}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
}

/// A file only its owner reads, holding `text`.
fn private_file(path: &Path, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.to_path_buf()
}

fn fingerprint(public: &Path) -> String {
    let k = handover::crypto::parse_public_key(&std::fs::read_to_string(public).unwrap()).unwrap();
    handover::crypto::fingerprint(&k)
}

// Issue 15: a passphrase-protected signing key was refused ("use an unencrypted copy").
#[test]
fn an_encrypted_signing_key_signs_with_the_passphrase_file_and_ssh_keygen_verifies() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (key, public) = keygen(h, "agency", "ed25519", PASSPHRASE);
    let cfg = config_signed_by(h, &public);
    let pp = private_file(&h.join("passphrase"), &format!("{PASSPHRASE}\n"));
    let out = h.join("handover.age");
    let r = run(
        manifest(h, &cfg, key.to_str().unwrap(), &out).env("HANDOVER_SSH_PASSPHRASE_FILE", &pp)
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    ssh_keygen_verifies(h, &public, &out);
    // The canary: not in any output, at trace level (-vvv).
    assert!(!r.stdout.contains(PASSPHRASE) && !r.stderr.contains(PASSPHRASE));
}

#[test]
fn an_encrypted_signing_key_without_a_passphrase_or_with_a_wrong_one_is_exit_3_and_nothing_is_written(
) {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (key, public) = keygen(h, "agency", "ed25519", PASSPHRASE);
    let cfg = config_signed_by(h, &public);
    let fp = fingerprint(&public);
    let out = h.join("handover.age");

    // No terminal (stdin is /dev/null) and no passphrase file.
    let r = run(&mut manifest(h, &cfg, key.to_str().unwrap(), &out));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim_end(),
        format!(
            "error: {}: the SSH private key ({fp}) is passphrase-protected, and no passphrase was given (HANDOVER_SSH_PASSPHRASE_FILE is not set and standard input is not a terminal)\n  hint: \
             set HANDOVER_SSH_PASSPHRASE_FILE to a file (mode 0600) holding the passphrase on its first line, or run on a terminal to be asked for it; to sign, the key can also stay in ssh-agent (--sign-key agent)",
            key.display()
        )
    );
    assert!(!out.exists());

    // A wrong passphrase: said as such, never echoed.
    let canary = "WRONG-canary-words";
    let pp = private_file(&h.join("passphrase"), &format!("{canary}\n"));
    let r = run(
        manifest(h, &cfg, key.to_str().unwrap(), &out).env("HANDOVER_SSH_PASSPHRASE_FILE", &pp)
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{}: the passphrase does not open this key ({fp})",
            key.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(canary) && !r.stdout.contains(canary));
    assert!(!out.exists());

    // A passphrase file others may read is refused, its content not read out.
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(&pp, format!("{PASSPHRASE}\n")).unwrap();
    std::fs::set_permissions(&pp, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = run(
        manifest(h, &cfg, key.to_str().unwrap(), &out).env("HANDOVER_SSH_PASSPHRASE_FILE", &pp)
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("has mode 0644: other users may read it")
            && r.stderr.contains("chmod 600"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(PASSPHRASE));
    assert!(!out.exists());
}

/// Reads `child`'s output until `want` appears (or 60 s pass), returning all read so far.
fn read_until(out: &mut impl Read, seen: &mut Vec<u8>, want: &str) -> bool {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < Duration::from_secs(60) {
        if String::from_utf8_lossy(seen).contains(want) {
            return true;
        }
        match out.read(&mut buf) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(seen).contains(want),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    false
}

// Issue 15: on a terminal the passphrase is asked, without echo (a terminal echoes what
// it receives while echo is on, so the transcript after the prompt would show it).
#[test]
fn on_a_terminal_the_passphrase_is_asked_without_echo() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (key, public) = keygen(h, "agency", "ed25519", PASSPHRASE);
    let cfg = config_signed_by(h, &public);
    let out = h.join("handover.age");
    // `script` gives the command a pseudo-terminal: its stdin and its /dev/tty.
    let inner = manifest(h, &cfg, key.to_str().unwrap(), &out);
    let line = std::iter::once(inner.get_program())
        .chain(inner.get_args())
        .map(|a| format!("'{}'", a.to_str().unwrap()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"]);
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let mut child: Child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script is missing: apt-get install bsdutils");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    assert!(
        read_until(&mut stdout, &mut seen, "Passphrase for "),
        "no prompt: {}",
        String::from_utf8_lossy(&seen)
    );
    let prompt_end = seen.len();
    // rpassword prints the prompt, then turns echo off: give it that moment, since what
    // reaches the terminal before is echoed by the terminal itself, not by handover.
    std::thread::sleep(Duration::from_millis(1000));
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(format!("{PASSPHRASE}\n").as_bytes())
        .unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    let transcript = String::from_utf8_lossy(&seen).into_owned();
    assert!(status.success(), "{transcript}");
    assert!(
        transcript.contains(&format!(
            "Passphrase for {} ({}): ",
            key.display(),
            fingerprint(&public)
        )),
        "{transcript}"
    );
    assert!(
        !String::from_utf8_lossy(&seen[prompt_end..]).contains(PASSPHRASE),
        "the passphrase was echoed: {transcript}"
    );
    ssh_keygen_verifies(h, &public, &out);
}

/// A real `ssh-agent` on a socket in a temporary folder, ended when dropped.
struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Agent {
    fn start(home: &Path) -> Agent {
        let socket = home.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent is missing: apt-get install openssh-client");
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "ssh-agent did not open its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent { child, socket }
    }

    /// `ssh-add KEY`, its passphrase (if any) given through SSH_ASKPASS.
    fn add(&self, home: &Path, key: &Path, passphrase: &str) {
        use std::os::unix::fs::PermissionsExt;
        let askpass = home.join("askpass.sh");
        let pp = private_file(&home.join("askpass-phrase"), passphrase);
        std::fs::write(&askpass, format!("#!/bin/sh\ncat '{}'\n", pp.display())).unwrap();
        std::fs::set_permissions(&askpass, std::fs::Permissions::from_mode(0o700)).unwrap();
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .env("SSH_ASKPASS", &askpass)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("DISPLAY", ":0")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh-add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The key in `path`, unlocked with `passphrase`, as the file path signs with it.
fn file_key(path: &Path, passphrase: &str) -> handover::crypto::agent::SigningKey {
    let pp = passphrase.to_string();
    let ids = handover::crypto::read_identities_with(path, move |_, _| {
        Ok(secrecy::SecretString::from(pp))
    })
    .unwrap();
    handover::crypto::agent::SigningKey::File(Box::new(ids.ssh.unwrap()))
}

// Issue 15: there was no ssh-agent support; the agent's signature must be the very
// sshsig the key file gives (ed25519 and RSA PKCS#1 v1.5 are deterministic). An ssh-rsa
// key file could not sign at all (ssh-key 0.6.7's RSA conversion).
#[test]
fn a_key_in_ssh_agent_signs_the_same_sshsig_as_its_file_and_ssh_keygen_verifies() {
    use handover::crypto::agent::{agent_key, SigningKey};
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (ed, ed_pub) = keygen(h, "agency", "ed25519", PASSPHRASE);
    let (rsa, rsa_pub) = keygen(h, "agency-rsa", "rsa", "");
    let agent = Agent::start(h);
    // The encrypted key is added through SSH_ASKPASS, as a person's agent would hold it.
    agent.add(h, &ed, PASSPHRASE);
    agent.add(h, &rsa, "");

    let data = b"the sealed manifest's bytes";
    for (key, public, pp) in [(&ed, &ed_pub, PASSPHRASE), (&rsa, &rsa_pub, "")] {
        let k =
            handover::crypto::parse_public_key(&std::fs::read_to_string(public).unwrap()).unwrap();
        let through_agent = SigningKey::Agent(agent_key(&agent.socket, &k).unwrap());
        let sig = through_agent.sign(data).unwrap();
        handover::crypto::verify_signature(data, &sig, &k, Path::new("agent.sig")).unwrap();
        assert_eq!(
            sig,
            file_key(key, pp).sign(data).unwrap(),
            "{}",
            key.display()
        );
    }

    // An ssh-rsa key file signs too (ssh-key 0.6.7 alone could not: see crypto::sign_rsa).
    let rsa_home = tempfile::tempdir().unwrap();
    let cfg = config_signed_by(rsa_home.path(), &rsa_pub);
    let out = rsa_home.path().join("handover.age");
    let r = run(&mut manifest(h, &cfg, rsa.to_str().unwrap(), &out));
    assert_eq!(r.code, 0, "{}", r.stderr);
    ssh_keygen_verifies(h, &rsa_pub, &out);

    let cfg = config_signed_by(h, &ed_pub);
    let missing = h.join("no-such-private-key");
    for (i, sign_key) in ["agent", ed_pub.to_str().unwrap(), missing.to_str().unwrap()]
        .into_iter()
        .enumerate()
    {
        let out = h.join(format!("handover-{i}.age"));
        let r = run(manifest(h, &cfg, sign_key, &out).env("SSH_AUTH_SOCK", &agent.socket));
        assert_eq!(r.code, 0, "--sign-key {sign_key}: {}", r.stderr);
        ssh_keygen_verifies(h, &ed_pub, &out);
        assert!(!r.stderr.contains(PASSPHRASE));
        if sign_key == missing.to_str().unwrap() {
            assert!(
                r.stderr.contains(&format!(
                    "{}: no such file; signing through ssh-agent with [agency] signing_key ({})",
                    missing.display(),
                    fingerprint(&ed_pub)
                )),
                "{}",
                r.stderr
            );
        }
    }

    // An agent signs but cannot open a journal's digest key.
    let out = h.join("journal.age");
    let r = run(manifest(h, &cfg, "agent", &out)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .args(["--journal", "handover-journal.jsonl"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("an ssh-agent can sign but not decrypt"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
}

// Issue 15: an agent that is gone or lacks the key must say which key and which socket.
#[test]
fn an_agent_without_the_key_or_gone_is_a_clear_error_naming_the_key_and_the_socket() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (_, public) = keygen(h, "agency", "ed25519", "");
    let (other, other_pub) = keygen(h, "other", "ed25519", "");
    let cfg = config_signed_by(h, &public);
    let fp = fingerprint(&public);
    let out = h.join("handover.age");
    let mut agent = Agent::start(h);
    agent.add(h, &other, "");
    let sock = agent.socket.clone();
    let hint = format!("  hint: start ssh-agent and add the key ({fp}) with ssh-add (ssh-add -l lists what the agent holds), or pass the private key file with --sign-key");

    let r = run(manifest(h, &cfg, "agent", &out).env("SSH_AUTH_SOCK", &sock));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim_end(),
        format!(
            "error: {}: the ssh-agent (SSH_AUTH_SOCK) does not hold the signing key {fp} (it holds 1 other key(s))\n{hint}",
            sock.display()
        )
    );

    // A .pub that is not the config's key.
    let r = run(manifest(h, &cfg, other_pub.to_str().unwrap(), &out).env("SSH_AUTH_SOCK", &sock));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "is not the private half of [agency] signing_key ({fp})"
        )),
        "{}",
        r.stderr
    );

    // No SSH_AUTH_SOCK at all.
    let r = run(&mut manifest(h, &cfg, "agent", &out));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim_end(),
        format!("error: no ssh-agent to sign with {fp}: SSH_AUTH_SOCK is not set\n{hint}")
    );

    // The agent is gone.
    let _ = agent.child.kill();
    let _ = agent.child.wait();
    let _ = std::fs::remove_file(&sock);
    let r = run(manifest(h, &cfg, "agent", &out).env("SSH_AUTH_SOCK", &sock));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "error: {}: cannot reach the ssh-agent (SSH_AUTH_SOCK) to sign with {fp}: ",
            sock.display()
        )) && r.stderr.contains(&hint),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
}

/// `manifest show` of `file` with the customer's key, no config from the environment.
fn show(home: &Path, file: &Path, extra: &[&str]) -> Run {
    run(handover_offline(home)
        .env_remove("HANDOVER_CONFIG")
        .args(["manifest", "show", "-i"])
        .arg(example_key("contoso-security.agekey"))
        .args(extra)
        .arg(file))
}

// Issue 15 item 10: `manifest show` without a signer printed "Signature: NOT VERIFIED"
// and exited 0, so a script could not tell an unchecked manifest from a checked one.
#[test]
fn manifest_show_without_a_signer_is_exit_10_unless_no_signature_check_is_given() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = h.join("handover.age");
    let key = example_key("northwind-signing");
    let r = run(&mut manifest(
        h,
        &example("handover.toml"),
        key.to_str().unwrap(),
        &out,
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);

    let r = show(h, &out, &[]);
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr.trim_end(),
        format!(
            "error: {}: its signature cannot be checked: no signer was given\n  hint: \
             pass --signer with the agency's SSH public key (as agreed out of band), or --config with [agency] signing_key; --no-signature-check opens it unverified",
            out.display()
        )
    );

    let r = show(h, &out, &["--no-signature-check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(
            "Signature: NOT VERIFIED: not checked (--no-signature-check); anyone could have written this manifest\n"
        ),
        "{}",
        r.stdout
    );

    // With the agency's key the signature is checked and holds.
    let signer = example_key("northwind-signing.pub");
    let r = show(h, &out, &["--signer", signer.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("Signature: good, by the agency's key SHA256:"),
        "{}",
        r.stdout
    );

    // Asking for both is a usage error.
    let r = show(
        h,
        &out,
        &["--no-signature-check", "--signer", signer.to_str().unwrap()],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
}

// Issue 15: `migrate --apply` (and `apply`) read the agency's key to open the journal's
// digest key: a passphrase-protected key takes the same passphrase path, and `agent`
// is refused with the reason (an agent signs but cannot decrypt age).
#[test]
fn migrate_reads_an_encrypted_agency_key_and_refuses_agent_for_the_digest_key() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (key, public) = keygen(h, "agency", "ed25519", PASSPHRASE);
    let cfg = config_signed_by(h, &public);
    let migrate = |identity: &str| {
        let mut cmd = handover_offline(h);
        cmd.args([
            "migrate",
            "--from",
            "aws:agency@us-east-1",
            "--to",
            "gcp:contoso-shop-prod",
            "--all",
            "--apply",
            "--config",
        ])
        .arg(&cfg)
        .args(["--identity", identity])
        .env_remove("HANDOVER_SSH_PASSPHRASE_FILE")
        .stdin(Stdio::null());
        cmd
    };
    let r = run(&mut migrate("agent"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("an ssh-agent can sign but not decrypt"),
        "{}",
        r.stderr
    );
    let r = run(&mut migrate(key.to_str().unwrap()));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{}: the SSH private key ({}) is passphrase-protected, and no passphrase was given",
            key.display(),
            fingerprint(&public)
        )),
        "{}",
        r.stderr
    );
}

// Issue 15: the customer's passphrase-protected SSH identity (`-i`) opens a manifest the
// same way (ssh-rsa here: unlocked with ssh-key, then handed to age).
#[test]
fn a_passphrase_protected_customer_identity_opens_the_manifest() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (cust, cust_pub) = keygen(h, "customer", "rsa", "customer-phrase");
    let out = h.join("handover.age");
    let key = example_key("northwind-signing");
    let r = run(
        manifest(h, &example("handover.toml"), key.to_str().unwrap(), &out)
            .arg("-r")
            .arg(std::fs::read_to_string(&cust_pub).unwrap().trim()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let pp = private_file(&h.join("passphrase"), "customer-phrase\n");
    let r = run(handover_offline(h)
        .env_remove("HANDOVER_CONFIG")
        .env("HANDOVER_SSH_PASSPHRASE_FILE", &pp)
        .args(["manifest", "show", "--signer"])
        .arg(example_key("northwind-signing.pub"))
        .arg("-i")
        .arg(&cust)
        .arg(&out)
        .stdin(Stdio::null()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("Signature: good"), "{}", r.stdout);
    assert!(!r.stdout.contains("customer-phrase") && !r.stderr.contains("customer-phrase"));
}
