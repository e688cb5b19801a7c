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

// Issue 15: on a terminal the passphrase is asked, without echo.
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
    std::thread::sleep(Duration::from_millis(500));
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
