//! age encryption and SSH signatures: the manifest's envelope.
//!
//! - Recipients: age X25519 (`age1...`) and SSH (`ssh-ed25519`, `ssh-rsa`) public keys,
//!   given one by one or in recipients files (one per line, `#` comments, blank lines;
//!   `authorized_keys` lines with options before the key type work too).
//! - Identities: age identity files (`AGE-SECRET-KEY-1...`, comments allowed) and
//!   unencrypted OpenSSH private keys.
//! - Signatures: the standard `sshsig` format (`ssh-keygen -Y sign/verify`) over the
//!   encrypted file, under the namespace [`SIG_NAMESPACE`], since age does not
//!   authenticate the sender.
//!
//! Invariants: plaintext exists only in memory (`Zeroizing` buffers); errors name files
//! and keys, never content; every failure is an `Error::Untrusted` (exit 10) or an input
//! or usage error, never a panic.

use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use zeroize::Zeroizing;

use crate::error::Error;

/// The sshsig namespace of handover manifests (`ssh-keygen -Y verify -n handover-manifest`).
pub const SIG_NAMESPACE: &str = "handover-manifest";

/// One recipient, with the text it was given as (for the manifest's own record).
pub struct Recipient {
    pub text: String,
    inner: Box<dyn age::Recipient + Send>,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipient({})", self.text)
    }
}

impl Recipient {
    /// `ssh-ed25519` / `ssh-rsa` recipients; `None` for X25519.
    pub fn ssh_kind(&self) -> Option<&str> {
        self.text
            .split_whitespace()
            .next()
            .filter(|k| k.starts_with("ssh-"))
    }
}

/// Parses one recipient: `age1...`, or an SSH public key line (a comment after the key
/// is allowed, as are `authorized_keys` options before it).
pub fn parse_recipient(s: &str) -> Result<Recipient, String> {
    let s = s.trim();
    if s.starts_with("age1") {
        let r = age::x25519::Recipient::from_str(s)
            .map_err(|e| format!("{}: not an age X25519 recipient ({e})", shorten(s)))?;
        return Ok(Recipient {
            text: s.to_string(),
            inner: Box::new(r),
        });
    }
    let Some(key) = ssh_key_words(s) else {
        return Err(format!(
            "{}: neither an age recipient (age1...) nor an SSH public key (ssh-ed25519 or ssh-rsa)",
            shorten(s)
        ));
    };
    match age::ssh::Recipient::from_str(&key) {
        Ok(r) => Ok(Recipient {
            text: key,
            inner: Box::new(r),
        }),
        Err(age::ssh::ParseRecipientKeyError::Unsupported(t)) => Err(format!(
            "{}: SSH key type {t} is not supported by age (use ssh-ed25519 or ssh-rsa)",
            shorten(s)
        )),
        Err(age::ssh::ParseRecipientKeyError::RsaModulusTooSmall) => Err(format!(
            "{}: the RSA key is too small (age needs 2048 bits or more)",
            shorten(s)
        )),
        Err(_) => Err(format!("{}: not a valid SSH public key", shorten(s))),
    }
}

/// Reads a recipients file: one recipient per line, `#` comments and blank lines ignored.
pub fn read_recipients_file(path: &Path) -> Result<Vec<Recipient>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            path,
            format!("cannot read the recipients file: {e}"),
            "pass a file with one age or SSH public key per line",
        )
    })?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_recipient(line) {
            Ok(r) => out.push(r),
            Err(e) => problems.push(format!("line {}: {e}", n + 1)),
        }
    }
    if !problems.is_empty() {
        return Err(Error::input(
            path,
            problems.join("; "),
            "each line is an age1... recipient or an ssh-ed25519/ssh-rsa public key",
        ));
    }
    if out.is_empty() {
        return Err(Error::input(
            path,
            "holds no recipient",
            "add the customer's age or SSH public keys, one per line",
        ));
    }
    Ok(out)
}

/// `keytype base64` from an SSH public key line, which may carry `authorized_keys`
/// options before it (`[options] keytype base64 [comment]`) or a principal before it
/// (`allowed_signers`).
fn ssh_key_words(s: &str) -> Option<String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.starts_with("ssh-") || w.starts_with("ecdsa-") || w.starts_with("sk-"))?;
    Some(
        words[at..]
            .iter()
            .take(2)
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn shorten(s: &str) -> String {
    let head: String = s.chars().take(24).collect();
    if head.len() < s.len() {
        format!("{head:?}...")
    } else {
        format!("{head:?}")
    }
}

/// Identities read from a file, to decrypt with.
pub struct Identities {
    inner: Vec<Box<dyn age::Identity>>,
    /// The SSH private key, when the file held one (it can also sign).
    pub ssh: Option<ssh_key::PrivateKey>,
}

impl Identities {
    pub fn empty() -> Self {
        Identities {
            inner: Vec::new(),
            ssh: None,
        }
    }

    /// Adds another file's identities.
    pub fn extend(&mut self, other: Identities) {
        self.inner.extend(other.inner);
        if self.ssh.is_none() {
            self.ssh = other.ssh;
        }
    }
}

/// Reads an identity file: an age identity file or an unencrypted OpenSSH private key.
pub fn read_identities(path: &Path) -> Result<Identities, Error> {
    let hint =
        "pass an age identity file (AGE-SECRET-KEY-1...) or an unencrypted OpenSSH private key";
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| Error::input(path, format!("cannot read the identity: {e}"), hint))?,
    );
    if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
        || text.contains("-----BEGIN RSA PRIVATE KEY-----")
    {
        let id = age::ssh::Identity::from_buffer(text.as_bytes(), Some(path.display().to_string()))
            .map_err(|_| Error::input(path, "not a readable SSH private key", hint))?;
        match &id {
            age::ssh::Identity::Unencrypted(_) => {}
            age::ssh::Identity::Encrypted(_) => {
                return Err(Error::input(
                    path,
                    "the SSH private key is passphrase-protected",
                    "use an unencrypted copy on a trusted machine, or an age identity",
                ))
            }
            age::ssh::Identity::Unsupported(_) => {
                return Err(Error::input(
                    path,
                    "this SSH key type is not supported by age",
                    "use an ssh-ed25519 or ssh-rsa key",
                ))
            }
        }
        let ssh = ssh_key::PrivateKey::from_openssh(text.as_bytes()).ok();
        return Ok(Identities {
            inner: vec![Box::new(id)],
            ssh,
        });
    }
    let file = age::IdentityFile::from_buffer(text.as_bytes())
        .map_err(|_| Error::input(path, "not an age identity file", hint))?;
    let inner = file
        .into_identities()
        .map_err(|_| Error::input(path, "not an age identity file", hint))?;
    if inner.is_empty() {
        return Err(Error::input(path, "holds no identity", hint));
    }
    Ok(Identities { inner, ssh: None })
}

/// Encrypts to every recipient; ASCII armor on request.
pub fn encrypt(plaintext: &[u8], recipients: &[Recipient], armor: bool) -> Result<Vec<u8>, Error> {
    if recipients.is_empty() {
        return Err(Error::usage(
            "no recipients",
            "pass -r KEY or -R FILE, or list [recipients] in the config",
        ));
    }
    let fail = |e: String| Error::usage(format!("cannot encrypt: {e}"), "check the recipients");
    let encryptor = age::Encryptor::with_recipients(
        recipients
            .iter()
            .map(|r| r.inner.as_ref() as &dyn age::Recipient),
    )
    .map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 1024);
    let format = if armor {
        Format::AsciiArmor
    } else {
        Format::Binary
    };
    let armored = ArmoredWriter::wrap_output(&mut out, format).map_err(|e| fail(e.to_string()))?;
    let mut w = encryptor
        .wrap_output(armored)
        .map_err(|e| fail(e.to_string()))?;
    w.write_all(plaintext).map_err(|e| fail(e.to_string()))?;
    w.finish()
        .and_then(|a| a.finish())
        .map_err(|e| fail(e.to_string()))?;
    Ok(out)
}

/// Decrypts an age file (armored or binary) with any of the identities.
pub fn decrypt(
    ciphertext: &[u8],
    ids: &Identities,
    file: &Path,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let untrusted = |what: &str, hint: &str| Error::untrusted(file, what, hint);
    let decryptor =
        age::Decryptor::new_buffered(ArmoredReader::new(ciphertext)).map_err(|e| match e {
            age::DecryptError::InvalidHeader
            | age::DecryptError::UnknownFormat
            | age::DecryptError::Io(_) => untrusted(
                "not an age-encrypted file, or its header is damaged",
                "pass the handover.age the agency sent, unchanged",
            ),
            _ => untrusted(
                &format!("cannot read the age header ({e})"),
                "pass the handover.age the agency sent, unchanged",
            ),
        })?;
    let mut reader = decryptor
        .decrypt(ids.inner.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => untrusted(
                "none of the identities can open it: it was not encrypted to this key",
                "pass the identity whose public key is in the manifest's recipients (-i FILE)",
            ),
            age::DecryptError::InvalidMac => untrusted(
                "the header has been altered (its MAC does not match)",
                "ask the agency for the original file",
            ),
            _ => untrusted(
                &format!("cannot decrypt ({e})"),
                "ask the agency for the original file",
            ),
        })?;
    let mut out = Zeroizing::new(Vec::new());
    reader.read_to_end(&mut out).map_err(|_| {
        untrusted(
            "the encrypted content is truncated or has been altered",
            "ask the agency for the original file",
        )
    })?;
    Ok(out)
}

/// The recipient stanzas in an age file's header (known types only): (type, first argument) pairs, e.g.
/// `("X25519", share)` or `("ssh-ed25519", tag)`. Read without decrypting.
pub fn header_stanzas(ciphertext: &[u8], file: &Path) -> Result<Vec<(String, String)>, Error> {
    let mut raw = Vec::new();
    ArmoredReader::new(ciphertext)
        .take(1 << 20)
        .read_to_end(&mut raw)
        .map_err(|_| {
            Error::untrusted(
                file,
                "not an age-encrypted file",
                "pass the handover.age the agency sent, unchanged",
            )
        })?;
    let mut out = Vec::new();
    let mut lines = raw.split(|b| *b == b'\n');
    if lines.next() != Some(b"age-encryption.org/v1".as_slice()) {
        return Err(Error::untrusted(
            file,
            "not an age-encrypted file",
            "pass the handover.age the agency sent, unchanged",
        ));
    }
    for line in lines {
        if line.starts_with(b"---") {
            break;
        }
        if let Some(rest) = line.strip_prefix(b"-> ") {
            let text = String::from_utf8_lossy(rest);
            let mut words = text.split(' ');
            let kind = words.next().unwrap_or_default();
            // age also writes a random "grease" stanza that no identity opens: skip it.
            if matches!(kind, "X25519" | "ssh-ed25519" | "ssh-rsa" | "scrypt") {
                out.push((
                    kind.to_string(),
                    words.next().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    Ok(out)
}

/// The 4-byte tag age puts in an SSH stanza: the first bytes of SHA-256 of the key's
/// wire encoding, base64 without padding.
pub fn ssh_stanza_tag(recipient_text: &str) -> Option<String> {
    use base64::Engine;
    use sha2::Digest;
    let b64 = recipient_text.split_whitespace().nth(1)?;
    let wire = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let digest = sha2::Sha256::digest(&wire);
    Some(base64::engine::general_purpose::STANDARD_NO_PAD.encode(&digest[..4]))
}

/// An `sshsig` signature (PEM) of `data`.
pub fn sign(key: &ssh_key::PrivateKey, data: &[u8]) -> Result<String, Error> {
    let sig = key
        .sign(SIG_NAMESPACE, ssh_key::HashAlg::Sha512, data)
        .map_err(|e| {
            Error::usage(
                format!("cannot sign: {e}"),
                "use an ssh-ed25519 or ssh-rsa key",
            )
        })?;
    sig.to_pem(ssh_key::LineEnding::LF).map_err(|e| {
        Error::usage(
            format!("cannot encode the signature: {e}"),
            "use an ssh-ed25519 or ssh-rsa key",
        )
    })
}

/// Parses an SSH public key (`ssh-ed25519 AAAA... comment`), or the first key of a file
/// (`.pub` or an `allowed_signers`-style line).
pub fn parse_public_key(s: &str) -> Result<ssh_key::PublicKey, String> {
    let key = ssh_key_words(s).ok_or_else(|| format!("{}: not an SSH public key", shorten(s)))?;
    ssh_key::PublicKey::from_openssh(&key)
        .map_err(|_| format!("{}: not a valid SSH public key", shorten(s)))
}

/// `SHA256:...` of a public key, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &ssh_key::PublicKey) -> String {
    key.fingerprint(ssh_key::HashAlg::Sha256).to_string()
}

/// Checks an `sshsig` signature over `data` against the expected signer.
pub fn verify_signature(
    data: &[u8],
    sig_pem: &str,
    signer: &ssh_key::PublicKey,
    sig_file: &Path,
) -> Result<(), Error> {
    let sig = ssh_key::SshSig::from_pem(sig_pem.trim().as_bytes()).map_err(|_| {
        Error::untrusted(
            sig_file,
            "not an SSH signature (sshsig PEM)",
            "pass the .sig file the agency sent with the manifest",
        )
    })?;
    if sig.namespace() != SIG_NAMESPACE {
        return Err(Error::untrusted(
            sig_file,
            format!(
                "the signature is for namespace {:?}, not {SIG_NAMESPACE:?}",
                sig.namespace()
            ),
            "it signs something else; ask the agency for the manifest's signature",
        ));
    }
    if sig.public_key() != signer.key_data() {
        let by = ssh_key::PublicKey::from(sig.public_key().clone());
        return Err(Error::untrusted(
            sig_file,
            format!(
                "signed by another key ({}), not the agency's ({})",
                fingerprint(&by),
                fingerprint(signer)
            ),
            "do not trust this manifest; confirm the agency's signing key out of band",
        ));
    }
    signer.verify(SIG_NAMESPACE, data, &sig).map_err(|_| {
        Error::untrusted(
            sig_file,
            "the signature does not match the file: it was changed after the agency signed it",
            "do not trust this manifest; ask the agency for the original",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const X25519_PK: &str = "age18klx6qvl4ek08nhknlpyh5xatrlzf2e2jjngf32d05a5yrvhepcswq3sj3";

    #[test]
    fn recipients_of_every_supported_form_parse_and_others_are_named() {
        assert!(parse_recipient(X25519_PK).unwrap().ssh_kind().is_none());
        let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJiaOmottijrKwXCSUTkvpYof2auQkuI1iW98xQd0kU8 security@contoso.example";
        assert_eq!(
            parse_recipient(ssh).unwrap().ssh_kind(),
            Some("ssh-ed25519")
        );
        let with_options = format!("no-pty,from=\"10.0.0.1\" {ssh}");
        assert_eq!(
            parse_recipient(&with_options).unwrap().text,
            ssh.rsplit_once(' ').unwrap().0
        );
        assert!(parse_recipient("age1notakey")
            .unwrap_err()
            .contains("not an age X25519 recipient"));
        assert!(parse_recipient("hello")
            .unwrap_err()
            .contains("neither an age recipient"));
        assert!(parse_recipient("ssh-dss AAAAB3NzaC1kc3M=").is_err());
    }

    #[test]
    fn round_trip_binary_and_armored_and_wrong_identity() {
        let dir = tempfile::tempdir().unwrap();
        let sk = age::x25519::Identity::generate();
        let idf = dir.path().join("id.txt");
        use age::secrecy::ExposeSecret;
        std::fs::write(
            &idf,
            format!("# created: now\n{}\n", sk.to_string().expose_secret()),
        )
        .unwrap();
        let ids = read_identities(&idf).unwrap();
        let r = parse_recipient(&sk.to_public().to_string()).unwrap();
        for armor in [false, true] {
            let ct = encrypt(b"CANARY-plain", std::slice::from_ref(&r), armor).unwrap();
            assert_eq!(ct.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"), armor);
            assert_eq!(&decrypt(&ct, &ids, &idf).unwrap()[..], b"CANARY-plain");
            assert_eq!(header_stanzas(&ct, &idf).unwrap().len(), 1);
            let mut cut = ct.clone();
            cut.truncate(ct.len() - 20);
            assert!(decrypt(&cut, &ids, &idf).is_err());
        }
        let other = age::x25519::Identity::generate();
        let ct = encrypt(
            b"x",
            &[parse_recipient(&other.to_public().to_string()).unwrap()],
            false,
        )
        .unwrap();
        let e = decrypt(&ct, &ids, &idf).err().unwrap();
        assert!(e.to_string().contains("not encrypted to this key"), "{e}");
        assert!(encrypt(b"x", &[], false).is_err());
    }

    #[test]
    fn signatures_verify_and_name_the_wrong_signer() {
        let mut rng = rand_core_os();
        let k1 = ssh_key::PrivateKey::random(&mut rng, ssh_key::Algorithm::Ed25519).unwrap();
        let k2 = ssh_key::PrivateKey::random(&mut rng, ssh_key::Algorithm::Ed25519).unwrap();
        let sig = sign(&k1, b"data").unwrap();
        let p = Path::new("x.sig");
        verify_signature(b"data", &sig, k1.public_key(), p).unwrap();
        assert!(verify_signature(b"datA", &sig, k1.public_key(), p)
            .unwrap_err()
            .to_string()
            .contains("changed after"));
        assert!(verify_signature(b"data", &sig, k2.public_key(), p)
            .unwrap_err()
            .to_string()
            .contains("signed by another key"));
    }

    fn rand_core_os() -> impl ssh_key::rand_core::CryptoRngCore {
        ssh_key::rand_core::OsRng
    }
}
