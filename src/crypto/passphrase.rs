//! The passphrase of an encrypted OpenSSH private key, and the unlocking of the key.
//!
//! Where the passphrase comes from, in this order:
//! 1. `HANDOVER_SSH_PASSPHRASE_FILE` (for automation): a file whose first line is the
//!    passphrase (a trailing `\n` or `\r\n` is not part of it). Like OpenSSH with a
//!    private key, the file is refused when its group or other users may read or write
//!    it (any of the mode bits 0o077): it is as secret as the key.
//! 2. A terminal: when standard input is a terminal, the passphrase is asked on the
//!    controlling terminal without echo (`rpassword`).
//! 3. Otherwise a clear input error (exit 3) whose hint names both ways, and ssh-agent.
//!
//! Invariants: the passphrase lives in a `SecretString` (no `Debug`, no `Display`) and the
//! bytes read from its file in a zeroized buffer; no error, log line or prompt ever
//! carries it or a part of it, nor any of the key (errors name the key's file and its
//! public fingerprint). A wrong passphrase is its own error, said as such.

use std::io::IsTerminal;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::Error;

/// The environment variable naming the passphrase file.
pub const PASSPHRASE_FILE_ENV: &str = "HANDOVER_SSH_PASSPHRASE_FILE";

/// The largest passphrase file read (a passphrase is a line; this leaves room).
const MAX_PASSPHRASE_FILE: u64 = 4096;

/// The hint of every "no passphrase" error: both ways to give one, and the agent.
pub const NO_PASSPHRASE_HINT: &str = "set HANDOVER_SSH_PASSPHRASE_FILE to a file (mode 0600) holding the passphrase on its first line, or run on a terminal to be asked for it; to sign, the key can also stay in ssh-agent (--sign-key agent)";

/// Unlocks an OpenSSH private key: an unencrypted one is returned as it is; an encrypted
/// one is decrypted with the passphrase `ask` gives (called only then, at most once).
pub fn unlock(
    path: &Path,
    key: ssh_key::PrivateKey,
    ask: impl FnOnce(&Path, &str) -> Result<SecretString, Error>,
) -> Result<ssh_key::PrivateKey, Error> {
    if !key.is_encrypted() {
        return Ok(key);
    }
    let fp = super::fingerprint(key.public_key());
    let passphrase = ask(path, &fp)?;
    key.decrypt(passphrase.expose_secret().as_bytes())
        .map_err(|e| match e {
            ssh_key::Error::Crypto => Error::input(
                path,
                format!("the passphrase does not open this key ({fp})"),
                "check the passphrase (its file's first line, or what was typed) is this key's",
            ),
            _ => Error::input(
                path,
                format!("cannot decrypt this key ({fp}): its cipher or KDF is not supported"),
                "re-encrypt it with OpenSSH's default (ssh-keygen -p -f FILE), or use ssh-agent",
            ),
        })
}

/// The passphrase of the key at `path` (fingerprint `fp`): from the file named by
/// `HANDOVER_SSH_PASSPHRASE_FILE`, else asked on the terminal, else an error.
pub fn obtain(path: &Path, fp: &str) -> Result<SecretString, Error> {
    if let Some(file) = std::env::var_os(PASSPHRASE_FILE_ENV).filter(|v| !v.is_empty()) {
        return from_file(Path::new(&file));
    }
    if std::io::stdin().is_terminal() {
        // The path is the user's own argument; control characters are still not sent
        // to the terminal as they are.
        let shown: String = path
            .display()
            .to_string()
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        let prompt = format!("Passphrase for {shown} ({fp}): ");
        // Copied into an exact-size secret; the String rpassword returns (whose buffer
        // may be larger) is zeroized on drop.
        return rpassword::prompt_password(prompt)
            .map(|typed| SecretString::from(Zeroizing::new(typed).as_str()))
            .map_err(|e| {
                Error::input(
                    path,
                    format!("cannot read the passphrase from the terminal: {e}"),
                    NO_PASSPHRASE_HINT,
                )
            });
    }
    Err(Error::input(
        path,
        format!(
            "the SSH private key ({fp}) is passphrase-protected, and no passphrase was given ({PASSPHRASE_FILE_ENV} is not set and standard input is not a terminal)"
        ),
        NO_PASSPHRASE_HINT,
    ))
}

/// The first line of the passphrase file, which only its owner may read.
pub fn from_file(file: &Path) -> Result<SecretString, Error> {
    let hint = "write the passphrase on the first line of a file only you can read (chmod 600 FILE), and name it in HANDOVER_SSH_PASSPHRASE_FILE";
    check_private(file, hint)?;
    let bytes = crate::input::read_at_most(file, MAX_PASSPHRASE_FILE)
        .map_err(|e| {
            Error::input(
                file,
                format!("cannot read the passphrase file ({PASSPHRASE_FILE_ENV}): {e}"),
                hint,
            )
        })?
        .ok_or_else(|| {
            Error::input(
                file,
                format!("is larger than {MAX_PASSPHRASE_FILE} bytes, too large for a passphrase file ({PASSPHRASE_FILE_ENV})"),
                hint,
            )
        })?;
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(Error::input(
            file,
            format!("the passphrase file ({PASSPHRASE_FILE_ENV}) has an empty first line"),
            hint,
        ));
    }
    let text = Zeroizing::new(
        std::str::from_utf8(line)
            .map_err(|_| {
                Error::input(
                    file,
                    format!("the passphrase file ({PASSPHRASE_FILE_ENV}) is not UTF-8 text"),
                    hint,
                )
            })?
            .to_owned(),
    );
    Ok(SecretString::from(text.as_str()))
}

/// Refuses a passphrase file its group or other users may read or write, as OpenSSH
/// refuses such a private key.
#[cfg(unix)]
fn check_private(file: &Path, hint: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file).map_err(|e| {
        Error::input(
            file,
            format!("cannot read the passphrase file ({PASSPHRASE_FILE_ENV}): {e}"),
            hint,
        )
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::input(
            file,
            format!(
                "the passphrase file ({PASSPHRASE_FILE_ENV}) has mode {mode:04o}: other users may read it"
            ),
            hint,
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_file: &Path, _hint: &str) -> Result<(), Error> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ssh_key::PrivateKey {
        ssh_key::PrivateKey::random(&mut ssh_key::rand_core::OsRng, ssh_key::Algorithm::Ed25519)
            .unwrap()
    }

    #[test]
    fn unlock_with_the_right_passphrase_gives_the_same_key() {
        let k = key();
        let enc = k
            .encrypt(&mut ssh_key::rand_core::OsRng, "right horse")
            .unwrap();
        let out = unlock(Path::new("k"), enc, |_, _| {
            Ok(SecretString::from("right horse"))
        })
        .unwrap();
        assert_eq!(out.public_key(), k.public_key());
        assert!(!out.is_encrypted());
    }

    #[test]
    fn unlock_with_a_wrong_passphrase_says_so_and_never_echoes_it() {
        let enc = key()
            .encrypt(&mut ssh_key::rand_core::OsRng, "right horse")
            .unwrap();
        let e = unlock(Path::new("k"), enc, |_, _| {
            Ok(SecretString::from("WRONG-canary-phrase"))
        })
        .unwrap_err();
        let all = format!("{e} {} {e:?}", e.hint());
        assert!(
            all.contains("the passphrase does not open this key"),
            "{all}"
        );
        assert!(!all.contains("canary"), "{all}");
    }

    #[test]
    fn an_unencrypted_key_is_never_asked_for() {
        let k = key();
        let out = unlock(Path::new("k"), k.clone(), |_, _| panic!("asked")).unwrap();
        assert_eq!(out.public_key(), k.public_key());
    }

    #[cfg(unix)]
    #[test]
    fn the_passphrase_file_first_line_without_its_newline_and_only_when_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pp");
        std::fs::write(&f, "two words\r\nsecond line\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(from_file(&f).unwrap().expose_secret(), "two words");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = from_file(&f).unwrap_err();
        assert!(e.to_string().contains("mode 0644"), "{e}");
        assert!(!format!("{e} {}", e.hint()).contains("two words"));
    }
}
