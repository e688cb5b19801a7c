//! age encryption and SSH signatures: the manifest's envelope.
//!
//! - Recipients: age X25519 (`age1...`) and SSH (`ssh-ed25519`, `ssh-rsa`) public keys,
//!   given one by one or in recipients files (one per line, `#` comments, blank lines;
//!   `authorized_keys` lines with options before the key type work too).
//! - Identities: age identity files (`AGE-SECRET-KEY-1...`, comments allowed) and
//!   OpenSSH private keys, passphrase-protected ones unlocked first ([`passphrase`]).
//! - Signing keys ([`agent::SigningKey`]): an OpenSSH private key, or a key an ssh-agent
//!   holds (`SSH_AUTH_SOCK`), hardware-backed ones included; both give the same sshsig.
//! - Signatures: the standard `sshsig` format (`ssh-keygen -Y sign/verify`) over the
//!   encrypted file, under the namespace [`SIG_NAMESPACE`], since age does not
//!   authenticate the sender.
//!
//! Invariants: plaintext exists only in memory (`Zeroizing` buffers); errors name files
//! and lines, never content (not even a prefix: a private key pasted as a recipient is
//! described, not quoted); every failure is an `Error::Untrusted` (exit 10) or an input
//! or usage error, never a panic. A recipient that would let anyone open the file (an
//! X25519 or Ed25519 point of small order, a broken RSA key) is refused before age sees
//! it. An age header is bounded (stanzas, bytes) by a linear scan before age parses it;
//! callers that hold a detached signature check it before calling [`decrypt`].

use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use zeroize::Zeroizing;

use crate::error::Error;

pub mod agent;
pub mod passphrase;

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

/// The longest recipient line read (an ssh-rsa key of 16384 bits is under 3 KB).
const MAX_RECIPIENT_LINE: usize = 16 * 1024;
/// The largest recipients file read.
const MAX_RECIPIENTS_FILE: u64 = 1 << 20;
/// RSA moduli age accepts start at 2048 bits; anything past this is not a real key.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=16384;

/// Parses one recipient: `age1...`, or an SSH public key line (a comment after the key
/// is allowed, as are `authorized_keys` options before it).
///
/// A key that would let anyone open the file is refused: an X25519 or Ed25519 point of
/// small order (the all-zero key among them), whose shared secret is all zeros whatever
/// the ephemeral key; an RSA key under 2048 bits, with an even modulus or a trivial
/// exponent. The error says what the text looks like and never repeats it: a private key
/// pasted in the wrong place must not be printed.
pub fn parse_recipient(s: &str) -> Result<Recipient, String> {
    let s = s.trim();
    if s.len() > MAX_RECIPIENT_LINE {
        return Err(format!(
            "a line of {} bytes is too long to be a public key",
            s.len()
        ));
    }
    if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("age1")) {
        return parse_x25519(s);
    }
    let Some(key) = ssh_key_words(s) else {
        return Err(looks_like(s).to_string());
    };
    check_ssh_recipient(&key)?;
    match age::ssh::Recipient::from_str(&key) {
        Ok(r) => Ok(Recipient {
            text: key,
            inner: Box::new(r),
        }),
        Err(age::ssh::ParseRecipientKeyError::Unsupported(_)) => {
            Err("this SSH key type is not supported by age (use ssh-ed25519 or ssh-rsa)".into())
        }
        Err(age::ssh::ParseRecipientKeyError::RsaModulusTooSmall) => {
            Err("the RSA key is too small (age needs 2048 bits or more)".into())
        }
        Err(_) => Err("not a valid SSH public key".into()),
    }
}

/// What a line that is not a recipient looks like, said without repeating it.
fn looks_like(s: &str) -> &'static str {
    let upper = s.to_ascii_uppercase();
    if upper.starts_with("AGE-SECRET-KEY-") {
        "an age identity (private key), not a recipient: pass its public key (`age-keygen -y`)"
    } else if upper.starts_with("-----BEGIN") || upper.starts_with("-----END") {
        "a PEM armor line, such as a private key's: not a public key"
    } else if s.len() >= 40
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        "a line of base64 data, such as a line of a private key: not a public key"
    } else {
        "neither an age recipient (age1...) nor an SSH public key (ssh-ed25519 or ssh-rsa)"
    }
}

/// An `age1...` recipient, checked before age sees it: Bech32 with its checksum, the
/// `age` prefix, 32 bytes, and not a point of small order.
fn parse_x25519(s: &str) -> Result<Recipient, String> {
    use bech32::FromBase32;
    let bad = |why: &str| format!("not an age X25519 recipient ({why})");
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad("write it in lowercase, as age-keygen prints it"));
    }
    let (hrp, data, variant) =
        bech32::decode(s).map_err(|_| bad("its Bech32 encoding or checksum is wrong"))?;
    if hrp != "age" || variant != bech32::Variant::Bech32 {
        return Err(bad(
            "it does not start with age1 in the Bech32 form age uses",
        ));
    }
    let bytes =
        Vec::<u8>::from_base32(&data).map_err(|_| bad("its Bech32 data is not whole bytes"))?;
    let point: [u8; 32] = bytes
        .try_into()
        .map_err(|_| bad("its key is not 32 bytes"))?;
    if x25519_is_degenerate(point) {
        return Err("an age X25519 recipient whose key is a point of small order (such as all zeros): anyone could open a file encrypted to it".into());
    }
    let r = age::x25519::Recipient::from_str(s).map_err(bad)?;
    Ok(Recipient {
        text: s.to_string(),
        inner: Box::new(r),
    })
}

/// Whether a Montgomery u-coordinate gives an all-zero X25519 shared secret (RFC 7748
/// section 6.1): exactly the points whose order divides 8 (on the curve or its twist),
/// since a clamped scalar is a multiple of 8. Non-canonical encodings are reduced as
/// X25519 reduces them, so `p`, `p + 1` and the like are caught too.
fn x25519_is_degenerate(u: [u8; 32]) -> bool {
    // Any clamped scalar works; this one is fixed so the check is deterministic.
    const SCALAR: [u8; 32] = [0x5a; 32];
    curve25519_dalek::montgomery::MontgomeryPoint(u)
        .mul_clamped(SCALAR)
        .to_bytes()
        == [0u8; 32]
}

/// The SSH key checks age leaves out: an Ed25519 key must be a curve point not of small
/// order (age converts it to X25519, where a small-order point opens to anyone), and an
/// RSA key must be of a sane size with an odd modulus and a real exponent.
fn check_ssh_recipient(key: &str) -> Result<(), String> {
    use ssh_key::public::KeyData;
    let parsed = ssh_key::PublicKey::from_openssh(key).map_err(|_| {
        "not a valid SSH public key (its type or base64 data is broken)".to_string()
    })?;
    match parsed.key_data() {
        KeyData::Ed25519(pk) => {
            let edwards = curve25519_dalek::edwards::CompressedEdwardsY(pk.0)
                .decompress()
                .ok_or("an ssh-ed25519 key that is not a point on the curve")?;
            if edwards.is_small_order() || x25519_is_degenerate(edwards.to_montgomery().to_bytes())
            {
                return Err("an ssh-ed25519 key that is a point of small order (such as all zeros): anyone could open a file encrypted to it".into());
            }
            Ok(())
        }
        KeyData::Rsa(rsa) => {
            let n = rsa.n.as_positive_bytes().unwrap_or_default();
            let e = rsa.e.as_positive_bytes().unwrap_or_default();
            let bits = n
                .first()
                .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
            if !RSA_BITS.contains(&bits) {
                return Err(format!(
                    "an ssh-rsa key of {bits} bits: age needs 2048 to 16384"
                ));
            }
            let odd = |x: &[u8]| x.last().is_some_and(|b| b & 1 == 1);
            let e_small = e.len() <= 1 && e.first().copied().unwrap_or(0) < 3;
            if !odd(n) || !odd(e) || e_small || e.len() > 8 {
                return Err("an ssh-rsa key with a broken modulus or exponent (even, or an exponent under 3 or over 64 bits)".into());
            }
            Ok(())
        }
        _ => Err("this SSH key type is not supported by age (use ssh-ed25519 or ssh-rsa)".into()),
    }
}

/// Reads a recipients file: one recipient per line, `#` comments and blank lines ignored.
/// A file holding a private key is refused whole, naming the line where it starts.
pub fn read_recipients_file(path: &Path) -> Result<Vec<Recipient>, Error> {
    let hint = "pass a file with one age or SSH public key per line";
    let bytes = crate::input::read_at_most(path, MAX_RECIPIENTS_FILE)
        .map_err(|e| Error::input(path, format!("cannot read the recipients file: {e}"), hint))?
        .ok_or_else(|| Error::input(path, "is over 1 MiB: not a recipients file", hint))?;
    let text = Zeroizing::new(
        std::str::from_utf8(&bytes)
            .map_err(|_| {
                Error::input(
                    path,
                    "cannot read the recipients file: stream did not contain valid UTF-8",
                    hint,
                )
            })?
            .to_owned(),
    );
    if let Some(n) = text.lines().position(|l| l.contains("PRIVATE KEY-----")) {
        return Err(Error::input(
            path,
            format!("line {}: a private key starts here; a recipients file holds public keys only", n + 1),
            "pass the public half (`ssh-keygen -y -f KEY`, or the .pub file); keep the private key private",
        ));
    }
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

/// The largest identity file read. An OpenSSH ssh-rsa 16384 key is about 13 KiB and an
/// age identity line about 75 bytes; the SSH private-key parsers are superlinear in the
/// line count (a 4,000-line PEM took minutes, found by `tests/fuzz.rs`), so the size is
/// capped before any parser sees the text.
pub const MAX_IDENTITY_BYTES: u64 = 64 * 1024;

/// The largest SSH private key read: an ssh-rsa 16384 key is about 13 KiB in OpenSSH's
/// format. age's SSH parser is quadratic in the key's lines (a 58 KB key took over 5 s of
/// CPU in a debug build, found by a long fuzz run), so SSH keys get a tighter cap.
pub const MAX_SSH_IDENTITY_BYTES: usize = 16 * 1024;

/// Reads a UTF-8 file of at most `limit` bytes, without quoting any of it in an error.
fn read_bounded_text(path: &Path, limit: u64, hint: &str) -> Result<String, Error> {
    let bytes = crate::input::read_at_most(path, limit)
        .map_err(|e| Error::input(path, format!("cannot read the identity: {e}"), hint))?
        .ok_or_else(|| {
            Error::input(
                path,
                format!("is larger than {limit} bytes, too large for an identity file"),
                hint,
            )
        })?;
    // The buffer read is zeroized on drop; the copy handed on is the caller's to wrap.
    std::str::from_utf8(&bytes)
        .map(str::to_owned)
        .map_err(|_| Error::input(path, "is not UTF-8 text", hint))
}

/// Reads an identity file: an age identity file or an OpenSSH private key. An encrypted
/// OpenSSH key is decrypted with its passphrase ([`passphrase::obtain`]: the file named
/// by `HANDOVER_SSH_PASSPHRASE_FILE`, else asked on the terminal).
pub fn read_identities(path: &Path) -> Result<Identities, Error> {
    read_identities_with(path, passphrase::obtain)
}

/// [`read_identities`], with the passphrase of an encrypted key from `ask`.
pub fn read_identities_with(
    path: &Path,
    ask: impl FnOnce(&Path, &str) -> Result<secrecy::SecretString, Error>,
) -> Result<Identities, Error> {
    let hint = "pass an age identity file (AGE-SECRET-KEY-1...) or an OpenSSH private key";
    let text = Zeroizing::new(read_bounded_text(path, MAX_IDENTITY_BYTES, hint)?);
    if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
        || text.contains("-----BEGIN RSA PRIVATE KEY-----")
    {
        if text.len() > MAX_SSH_IDENTITY_BYTES {
            return Err(Error::input(
                path,
                format!(
                    "larger than {MAX_SSH_IDENTITY_BYTES} bytes, too large for one SSH private key"
                ),
                hint,
            ));
        }
        return read_ssh_identity(path, &text, ask);
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

/// An OpenSSH private key (unlocked first when encrypted) as an age identity that can
/// also sign; a legacy PEM RSA key as age reads it.
fn read_ssh_identity(
    path: &Path,
    text: &str,
    ask: impl FnOnce(&Path, &str) -> Result<secrecy::SecretString, Error>,
) -> Result<Identities, Error> {
    let hint = "pass an age identity file (AGE-SECRET-KEY-1...) or an OpenSSH private key";
    let (ssh, text) = match ssh_key::PrivateKey::from_openssh(text.as_bytes()) {
        Ok(k) => {
            let k = passphrase::unlock(path, k, ask)?;
            // age reads the unlocked key from OpenSSH's unencrypted encoding.
            let plain = k
                .to_openssh(ssh_key::LineEnding::LF)
                .map_err(|_| Error::input(path, "not a readable SSH private key", hint))?;
            (Some(k), plain)
        }
        Err(_) => (None, Zeroizing::new(text.to_owned())),
    };
    let id = age::ssh::Identity::from_buffer(text.as_bytes(), Some(path.display().to_string()))
        .map_err(|_| Error::input(path, "not a readable SSH private key", hint))?;
    match &id {
        age::ssh::Identity::Unencrypted(_) => {}
        age::ssh::Identity::Encrypted(_) => {
            return Err(Error::input(
                path,
                "the SSH private key is passphrase-protected in the legacy PEM format",
                "convert it to OpenSSH's format (ssh-keygen -p -f FILE keeps the passphrase), or use ssh-agent",
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
    Ok(Identities {
        inner: vec![Box::new(id)],
        ssh,
    })
}

/// Encrypts to every recipient; ASCII armor on request.
pub fn encrypt(plaintext: &[u8], recipients: &[Recipient], armor: bool) -> Result<Vec<u8>, Error> {
    if recipients.is_empty() {
        return Err(Error::usage(
            "no recipients",
            "pass -r KEY or -R FILE, or list [recipients] in the config",
        ));
    }
    let fail = |e: String| Error::crypto(format!("cannot encrypt: {e}"), "check the recipients");
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

/// The most recipient stanzas an age header may have here. The tool writes one per
/// recipient plus age's grease stanza; age's header parser is quadratic in the stanza
/// count (20,000 stanzas took 86 s), so the count is capped before age parses anything.
pub const MAX_STANZAS: usize = 64;
/// The largest age header read (64 ssh-rsa stanzas of 16384-bit keys fit).
pub const MAX_HEADER_BYTES: usize = 256 * 1024;

/// The recipient stanzas in an age header: (type, first argument) pairs, e.g.
/// `("X25519", share)` or `("ssh-ed25519", tag)`, known types only (age also writes a
/// random "grease" stanza that no identity opens).
pub type Stanzas = Vec<(String, String)>;

/// Reads an age file's header (armored or binary) without age's parser, bounded in size
/// and stanza count: a header past [`MAX_HEADER_BYTES`] or [`MAX_STANZAS`] is refused as
/// untrusted (exit 10). Returns the known recipient stanzas.
pub fn check_header(ciphertext: &[u8], file: &Path) -> Result<Stanzas, Error> {
    let not_age = || {
        Error::untrusted(
            file,
            "not an age-encrypted file",
            "pass the handover.age the agency sent, unchanged",
        )
    };
    let mut raw = Vec::new();
    // The armor decoder streams: only the first bytes are decoded.
    ArmoredReader::new(ciphertext)
        .take(MAX_HEADER_BYTES as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|_| not_age())?;
    let mut lines = raw.split(|b| *b == b'\n');
    if lines.next() != Some(b"age-encryption.org/v1".as_slice()) {
        return Err(not_age());
    }
    let mut out = Vec::new();
    let mut stanzas = 0usize;
    let mut ended = false;
    for line in lines {
        if line.starts_with(b"---") {
            ended = true;
            break;
        }
        if let Some(rest) = line.strip_prefix(b"-> ") {
            stanzas += 1;
            if stanzas > MAX_STANZAS {
                return Err(Error::untrusted(
                    file,
                    format!("its age header has more than {MAX_STANZAS} recipient stanzas: not a handover manifest, and too costly to parse"),
                    "do not trust this file; ask the agency for the original",
                ));
            }
            let text = String::from_utf8_lossy(rest);
            let mut words = text.split(' ');
            let kind = words.next().unwrap_or_default();
            if matches!(kind, "X25519" | "ssh-ed25519" | "ssh-rsa" | "scrypt") {
                out.push((
                    kind.to_string(),
                    words.next().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    if !ended {
        return Err(if raw.len() > MAX_HEADER_BYTES {
            Error::untrusted(
                file,
                format!(
                    "its age header is over {} KiB: not a handover manifest",
                    MAX_HEADER_BYTES / 1024
                ),
                "do not trust this file; ask the agency for the original",
            )
        } else {
            not_age()
        });
    }
    Ok(out)
}

/// Decrypts an age file (armored or binary) with any of the identities. The header is
/// bounded by [`check_header`] before age parses it.
pub fn decrypt(
    ciphertext: &[u8],
    ids: &Identities,
    file: &Path,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    check_header(ciphertext, file)?;
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
    let hint = "use an ssh-ed25519 or ssh-rsa key";
    let sig = match key.key_data() {
        ssh_key::private::KeypairData::Rsa(rsa) => sign_rsa(rsa, data),
        _ => key
            .sign(SIG_NAMESPACE, ssh_key::HashAlg::Sha512, data)
            .map_err(|e| e.to_string()),
    }
    .map_err(|e| Error::crypto(format!("cannot sign: {e}"), hint))?;
    sig.to_pem(ssh_key::LineEnding::LF)
        .map_err(|e| Error::crypto(format!("cannot encode the signature: {e}"), hint))
}

/// The sshsig of `data` by an RSA key: rsa-sha2-512 (PKCS#1 v1.5 over SHA-512) of the
/// sshsig blob, as `ssh-keygen -Y sign` makes it. Done here because ssh-key 0.6.7 builds
/// the private key from the primes (p, p) instead of (p, q) and rsa 0.9.10 refuses it,
/// so no ssh-rsa key file could sign (found by tests/signing.rs, issue 15).
fn sign_rsa(key: &ssh_key::private::RsaKeypair, data: &[u8]) -> Result<ssh_key::SshSig, String> {
    use rsa::signature::{SignatureEncoding, Signer};
    let hash = ssh_key::HashAlg::Sha512;
    let int = |m: &ssh_key::Mpint| {
        m.as_positive_bytes()
            .map(rsa::BigUint::from_bytes_be)
            .ok_or_else(|| "the RSA key has a negative component".to_string())
    };
    let private = rsa::RsaPrivateKey::from_components(
        int(&key.public.n)?,
        int(&key.public.e)?,
        int(&key.private.d)?,
        vec![int(&key.private.p)?, int(&key.private.q)?],
    )
    .map_err(|e| format!("not a valid RSA key: {e}"))?;
    let blob =
        ssh_key::SshSig::signed_data(SIG_NAMESPACE, hash, data).map_err(|e| e.to_string())?;
    let signed = rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(private)
        .try_sign(&blob)
        .map_err(|e| e.to_string())?;
    let signature = ssh_key::Signature::new(
        ssh_key::Algorithm::Rsa { hash: Some(hash) },
        signed.to_vec(),
    )
    .map_err(|e| e.to_string())?;
    ssh_key::SshSig::new(
        ssh_key::public::KeyData::Rsa(key.public.clone()),
        SIG_NAMESPACE,
        hash,
        signature,
    )
    .map_err(|e| e.to_string())
}

/// Parses an SSH public key (`ssh-ed25519 AAAA... comment`), or the first key of a file
/// (`.pub` or an `allowed_signers`-style line).
pub fn parse_public_key(s: &str) -> Result<ssh_key::PublicKey, String> {
    let key =
        ssh_key_words(s).ok_or_else(|| format!("not an SSH public key: {}", looks_like(s)))?;
    ssh_key::PublicKey::from_openssh(&key)
        .map_err(|_| "not a valid SSH public key (its type or base64 data is broken)".to_string())
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
            assert_eq!(check_header(&ct, &idf).unwrap().len(), 1);
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

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// An SSH wire string: a 4-byte length, then the bytes.
    fn wire(parts: &[&[u8]]) -> Vec<u8> {
        parts
            .iter()
            .flat_map(|p| {
                (p.len() as u32)
                    .to_be_bytes()
                    .into_iter()
                    .chain(p.iter().copied())
            })
            .collect()
    }

    fn ed25519_line(point: [u8; 32]) -> String {
        format!(
            "ssh-ed25519 {} x@example",
            b64(&wire(&[b"ssh-ed25519", &point]))
        )
    }

    /// An ssh-rsa public key line with this exponent and a modulus of `bits` bits.
    fn rsa_line(e: &[u8], bits: usize, odd: bool) -> String {
        let mut n = vec![0xc5u8; bits / 8];
        n[0] = 0xc5;
        *n.last_mut().unwrap() = if odd { 0x2b } else { 0x2a };
        let mut mp = vec![0u8];
        mp.extend(&n);
        format!("ssh-rsa {}", b64(&wire(&[b"ssh-rsa", e, &mp])))
    }

    fn age1(bytes: &[u8], hrp: &str, variant: bech32::Variant) -> String {
        use bech32::ToBase32;
        bech32::encode(hrp, bytes.to_base32(), variant).unwrap()
    }

    fn hex32(s: &str) -> [u8; 32] {
        let v: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        v.try_into().unwrap()
    }

    /// The small-order X25519 u-coordinates of libsodium's blocklist (with their
    /// non-canonical forms), which give an all-zero shared secret (RFC 7748 6.1).
    const LOW_ORDER_U: [&str; 7] = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];

    /// Issue 10 item 2: a low-order age recipient was accepted (the all-zero one then
    /// panicked inside age, item 3); each must be refused with an error, never a panic.
    #[test]
    fn low_order_x25519_recipients_are_refused_without_a_panic() {
        assert!(
            parse_recipient("age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z")
                .unwrap_err()
                .contains("small order")
        );
        for u in LOW_ORDER_U {
            for high_bit in [false, true] {
                let mut p = hex32(u);
                if high_bit {
                    p[31] |= 0x80;
                }
                let r = age1(&p, "age", bech32::Variant::Bech32);
                let e = parse_recipient(&r).unwrap_err();
                assert!(e.contains("small order"), "{u} high bit {high_bit}: {e}");
            }
        }
        // A real key is still accepted, and encrypting to it works.
        let ok = age::x25519::Identity::generate().to_public().to_string();
        assert!(encrypt(b"x", &[parse_recipient(&ok).unwrap()], false).is_ok());
    }

    /// Issue 10 item 2: an all-zero ssh-ed25519 key made a manifest anyone could open.
    #[test]
    fn small_order_ed25519_recipients_are_refused() {
        let small = [
            "0000000000000000000000000000000000000000000000000000000000000000", // order 4
            "0100000000000000000000000000000000000000000000000000000000000000", // identity
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
        ];
        for p in small {
            let e = parse_recipient(&ed25519_line(hex32(p))).unwrap_err();
            assert!(
                e.contains("small order") || e.contains("not a point"),
                "{p}: {e}"
            );
            assert!(
                !e.contains(&b64(&hex32(p))[..12]),
                "the key is not echoed: {e}"
            );
        }
        let mut rng = rand_core_os();
        let real = ssh_key::PrivateKey::random(&mut rng, ssh_key::Algorithm::Ed25519).unwrap();
        let line = real.public_key().to_openssh().unwrap();
        assert_eq!(
            parse_recipient(&line).unwrap().ssh_kind(),
            Some("ssh-ed25519")
        );
    }

    #[test]
    fn rsa_recipients_of_absurd_size_or_broken_numbers_are_refused() {
        let f4 = [0x01, 0x00, 0x01];
        assert!(parse_recipient(&rsa_line(&f4, 2048, true)).is_ok());
        assert!(parse_recipient(&rsa_line(&f4, 1024, true))
            .unwrap_err()
            .contains("1024 bits"));
        assert!(parse_recipient(&rsa_line(&f4, 2048, false))
            .unwrap_err()
            .contains("broken modulus"));
        // e = 1 would make the "encrypted" file key the file key itself.
        assert!(parse_recipient(&rsa_line(&[0x01], 2048, true))
            .unwrap_err()
            .contains("exponent"));
        assert!(parse_recipient(&rsa_line(&[0x02], 2048, true))
            .unwrap_err()
            .contains("exponent"));
        assert!(parse_recipient(&rsa_line(&[0x01; 9], 2048, true))
            .unwrap_err()
            .contains("exponent"));
    }

    /// Item 3: no malformed recipient form may panic; each gets an error.
    #[test]
    fn malformed_recipients_of_every_form_get_an_error_never_a_panic() {
        let good = age::x25519::Identity::generate().to_public().to_string();
        let mut flipped = good.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'q' { 'p' } else { 'q' });
        let key = [7u8; 32];
        let ed_b64 = b64(&wire(&[b"ssh-ed25519", &[9u8; 32]]));
        let cases = vec![
            String::new(),
            "age1".into(),
            "age1q".into(),
            flipped,                                                  // bad checksum
            good.to_uppercase(),                                      // upper case
            format!("{}{}", &good[..10].to_uppercase(), &good[10..]), // mixed case
            age1(&key[..31], "age", bech32::Variant::Bech32),         // 31 bytes
            age1(&[7u8; 33], "age", bech32::Variant::Bech32),         // 33 bytes
            age1(&key, "age", bech32::Variant::Bech32m),              // wrong variant
            age1(&key, "agex", bech32::Variant::Bech32),              // wrong HRP
            age1(&key, "age1", bech32::Variant::Bech32),              // HRP age1
            format!("age1{}", "q".repeat(5000)),
            format!("age1ü{}", &good[5..]),
            "ssh-ed25519".into(),
            "ssh-ed25519 !!!notbase64".into(),
            format!("ssh-ed25519 {}", &ed_b64[..20]), // truncated
            format!("ssh-ed25519 {}", b64(&wire(&[b"ssh-ed25519", &[9u8; 31]]))), // 31-byte key
            format!("ssh-rsa {ed_b64}"),              // type mismatch
            format!(
                "ssh-ed25519 {}",
                b64(&wire(&[b"ssh-rsa", &[1], &[0, 0xc5]]))
            ),
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAAQ==".into(),
            "ssh-dss AAAAB3NzaC1kc3M=".into(),
            "ecdsa-sha2-nistp256 AAAA".into(),
            "sk-ssh-ed25519@openssh.com AAAA".into(),
            "\u{1b}[2K".into(),
            "x".repeat(MAX_RECIPIENT_LINE + 1),
        ];
        for c in &cases {
            assert!(parse_recipient(c).is_err(), "{c:?} was accepted");
        }
        assert!(
            parse_recipient(&age1(&key, "age", bech32::Variant::Bech32)).is_ok(),
            "a 32-byte key on the curve"
        );
    }

    #[test]
    fn malformed_identity_files_get_an_error_never_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<&[u8]> = vec![
            b"",
            b"AGE-SECRET-KEY-1\n",
            b"AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ5CU47Z\n",
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
            b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
            b"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
            b"\xff\xfe\x00binary",
        ];
        for (i, c) in cases.iter().enumerate() {
            let p = dir.path().join(format!("id{i}"));
            std::fs::write(&p, c).unwrap();
            assert!(read_identities(&p).is_err(), "case {i}");
        }
    }

    /// Item 4: a private key given as recipients must not be echoed, not even a prefix.
    #[test]
    fn a_private_key_given_as_recipients_is_named_never_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let sk = age::x25519::Identity::generate();
        use age::secrecy::ExposeSecret;
        let secret = sk.to_string().expose_secret().to_string();
        let age_file = dir.path().join("id.age");
        std::fs::write(
            &age_file,
            format!(
                "# created: now\n# public key: {}\n{secret}\n",
                sk.to_public()
            ),
        )
        .unwrap();
        let mut rng = rand_core_os();
        let ssh = ssh_key::PrivateKey::random(&mut rng, ssh_key::Algorithm::Ed25519).unwrap();
        let pem = ssh.to_openssh(ssh_key::LineEnding::LF).unwrap().to_string();
        let ssh_file = dir.path().join("id_ed25519");
        std::fs::write(&ssh_file, &pem).unwrap();
        for (file, text) in [(&age_file, secret.clone()), (&ssh_file, pem.clone())] {
            let e = read_recipients_file(file).unwrap_err().to_string();
            assert!(e.contains("line 3") || e.contains("line 1"), "{e}");
            assert!(e.contains("private key") || e.contains("identity"), "{e}");
            for l in text.lines() {
                let l = l.trim();
                for w in l.as_bytes().windows(12) {
                    assert!(
                        !e.contains(std::str::from_utf8(w).unwrap()),
                        "{e} echoes {l}"
                    );
                }
            }
        }
        let e = parse_recipient(&secret).unwrap_err();
        assert!(
            e.contains("age identity (private key)") && !e.contains("AGE-SECRET-KEY"),
            "{e}"
        );
        for l in pem.lines().skip(1).take(3) {
            let e = parse_recipient(l).unwrap_err();
            assert!(!e.contains(&l[..12.min(l.len())]), "{e}");
        }
    }

    /// Item 7: age parses a header in time quadratic in its stanzas (20,000 took 86 s);
    /// the header is bounded before age sees it.
    #[test]
    fn an_age_header_with_too_many_stanzas_is_refused_quickly() {
        let mut f = b"age-encryption.org/v1\n".to_vec();
        for _ in 0..20_000 {
            f.extend_from_slice(b"-> X25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
        }
        f.extend_from_slice(b"--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
        f.extend_from_slice(&[0u8; 64]);
        let t = std::time::Instant::now();
        let e = decrypt(&f, &Identities::empty(), Path::new("big.age"))
            .err()
            .unwrap();
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            t.elapsed()
        );
        assert!(
            e.to_string().contains("more than 64 recipient stanzas"),
            "{e}"
        );
        // A header with no end within the bound.
        let mut g = b"age-encryption.org/v1\n".to_vec();
        g.extend(std::iter::repeat_n(b'A', MAX_HEADER_BYTES + 10));
        assert!(check_header(&g, Path::new("g"))
            .unwrap_err()
            .to_string()
            .contains("header is over"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]
        /// Item 3 and 4: whatever follows a recipient's prefix, parsing returns (never
        /// panics) and an error never repeats 12 characters of the input.
        #[test]
        fn any_recipient_text_is_parsed_without_a_panic_or_an_echo(
            prefix in proptest::sample::select(vec!["age1", "ssh-ed25519 ", "ssh-rsa ", "AGE-SECRET-KEY-1", "no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", ""]),
            body in "[a-zA-Z0-9+/=]{0,120}",
        ) {
            let text = format!("{prefix}{body}");
            if let Err(e) = parse_recipient(&text) {
                for w in body.as_bytes().windows(12) {
                    proptest::prop_assert!(!e.contains(std::str::from_utf8(w).unwrap()), "{} echoes {}", e, text);
                }
            }
        }
    }

    fn rand_core_os() -> impl ssh_key::rand_core::CryptoRngCore {
        ssh_key::rand_core::OsRng
    }
}
