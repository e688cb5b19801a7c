//! Secret values and keyed digests: the only types in the tool that hold a secret.
//!
//! Invariants:
//! - `SecretValue` has no `Display` or `Serialize`, and its `Debug` prints nothing of
//!   the value (not a prefix, not the length); the bytes are zeroized on drop.
//! - A value is compared across systems by its keyed digest (HMAC-SHA-256 under a
//!   per-handover `DigestKey`), never by printing or storing it. The key itself is a
//!   secret: only the encrypted manifest may carry it.

pub mod store;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

/// Whether a secret holds text or bytes (both AWS and GCP distinguish them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Binary,
}

/// A secret value.
pub struct SecretValue {
    bytes: SecretBox<Vec<u8>>,
    kind: ValueKind,
}

impl SecretValue {
    pub fn text(s: String) -> Self {
        SecretValue {
            bytes: SecretBox::new(Box::new(s.into_bytes())),
            kind: ValueKind::Text,
        }
    }

    pub fn binary(b: Vec<u8>) -> Self {
        SecretValue {
            bytes: SecretBox::new(Box::new(b)),
            kind: ValueKind::Binary,
        }
    }

    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    /// The bytes, for the one place that must hand them to an SDK.
    pub fn expose(&self) -> &[u8] {
        self.bytes.expose_secret()
    }

    /// Constant-time equality, so comparing two values leaks nothing through timing.
    pub fn same_as(&self, other: &SecretValue) -> bool {
        let (a, b) = (self.expose(), other.expose());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretValue({:?}, [REDACTED])", self.kind)
    }
}

/// What a secret store holds as a secret's current value, read by version.
#[derive(Debug)]
pub enum Stored {
    /// The value and the version it was read from (GCP: the version number, never the
    /// `latest` alias; AWS: the version id of `AWSCURRENT`).
    Value { value: SecretValue, version: String },
    /// The secret exists but holds no value that can be read (GCP: no ENABLED version;
    /// AWS: no version labelled `AWSCURRENT`). `why` names the versions, never a value.
    NoValue { why: String },
}

impl Stored {
    pub fn value(&self) -> Option<&SecretValue> {
        match self {
            Stored::Value { value, .. } => Some(value),
            Stored::NoValue { .. } => None,
        }
    }

    pub fn version(&self) -> Option<&str> {
        match self {
            Stored::Value { version, .. } => Some(version),
            Stored::NoValue { .. } => None,
        }
    }
}

/// The per-handover key for keyed digests.
pub struct DigestKey(SecretBox<[u8; 32]>);

impl DigestKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, String> {
        let mut k = Box::new([0u8; 32]);
        getrandom::fill(k.as_mut())
            .map_err(|e| format!("no randomness from the operating system: {e}"))?;
        Ok(DigestKey(SecretBox::new(k)))
    }

    /// A key from its 32 bytes (as decrypted from a manifest).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DigestKey(SecretBox::new(Box::new(bytes)))
    }

    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }

    /// The key as 64 lowercase hex digits (for the sealed key file and the manifest).
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        let mut s = zeroize::Zeroizing::new(String::with_capacity(64));
        for b in self.expose() {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// A key from 64 hex digits; `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(DigestKey::from_bytes(*k))
    }

    /// A public name for this key (an HMAC of a fixed label under it), recorded next to
    /// the digests it made so a later reader knows which key to ask the manifest for.
    pub fn id(&self) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.expose())
            .expect("HMAC takes any key length");
        mac.update(b"handover digest key id");
        let out = mac.finalize().into_bytes();
        format!(
            "key:{}",
            out.iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    }

    /// `hmac-sha256:<hex>` of a value. Without the key it tells nothing about the value.
    pub fn digest(&self, value: &SecretValue) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.expose())
            .expect("HMAC takes any key length");
        // Over the bytes only: GCP keeps no text/binary distinction, and a copy from AWS
        // to GCP and back must still verify.
        mac.update(value.expose());
        let out = mac.finalize().into_bytes();
        format!(
            "hmac-sha256:{}",
            out.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }
}

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey([REDACTED])")
    }
}

/// A value read from an input file, quoted for an error message only when it cannot be
/// key material: short, and with no long run of base64/bech32 text that mixes letters and
/// digits, nor a private-key marker. Anything else is described by its length. (A private
/// key pasted into the wrong field must never come back in an error.)
pub fn quote_input(s: &str) -> String {
    if may_quote(s) {
        format!("{s:?}")
    } else {
        format!("(a {}-character value, not shown)", s.chars().count())
    }
}

/// Whether input text may appear in a message (see [`quote_input`]).
pub fn may_quote(s: &str) -> bool {
    let upper = s.to_ascii_uppercase();
    let marker = upper.contains("PRIVATE KEY") || upper.contains("SECRET-KEY");
    let keyish_run = s
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_')))
        .any(|run| {
            run.len() >= 12
                && run.chars().any(|c| c.is_ascii_digit())
                && run.chars().any(|c| c.is_ascii_alphabetic())
        });
    s.chars().count() <= 64 && !marker && !keyish_run
}

#[cfg(test)]
mod tests {
    #[test]
    fn input_that_could_be_key_material_is_not_quoted() {
        use super::quote_input;
        assert_eq!(quote_input("2026-13-01"), "\"2026-13-01\"");
        assert_eq!(quote_input("12345678901"), "\"12345678901\"");
        assert_eq!(quote_input("contoso@example"), "\"contoso@example\"");
        for hidden in [
            "AGE-SECRET-KEY-1X423KRX2MK2RLMZZYNW9CKFUESMPE5L8PRRT43V5NM26QGLSU",
            "abcX423KRX2MK2R.com",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            &"a".repeat(65),
        ] {
            assert!(quote_input(hidden).contains("not shown"), "{hidden}");
        }
    }

    use super::*;

    const CANARY: &str = "CANARY-secret-value-91d7";

    #[test]
    fn debug_shows_nothing_of_the_value_or_key() {
        let v = SecretValue::text(CANARY.to_string());
        let shown = format!("{v:?} {v:#?}");
        assert!(
            !shown.contains(CANARY)
                && !shown.contains("CANARY")
                && !shown.contains(&CANARY.len().to_string()),
            "{shown}"
        );
        let k = DigestKey::from_bytes([7u8; 32]);
        assert_eq!(format!("{k:?}"), "DigestKey([REDACTED])");
    }

    #[test]
    fn digests_are_keyed_over_the_bytes() {
        let k1 = DigestKey::from_bytes([1u8; 32]);
        let k2 = DigestKey::from_bytes([2u8; 32]);
        let v = SecretValue::text(CANARY.to_string());
        let d = k1.digest(&v);
        assert!(d.starts_with("hmac-sha256:") && d.len() == 12 + 64);
        assert!(!d.contains(CANARY));
        assert_eq!(d, k1.digest(&SecretValue::text(CANARY.to_string())));
        assert_ne!(d, k2.digest(&v), "another key, another digest");
        assert_eq!(
            d,
            k1.digest(&SecretValue::binary(CANARY.as_bytes().to_vec())),
            "the same bytes, whatever the kind"
        );
        assert!(v.same_as(&SecretValue::text(CANARY.to_string())));
        assert!(!v.same_as(&SecretValue::text("other".into())));
    }

    #[test]
    fn key_ids_name_keys_without_revealing_them() {
        let k = DigestKey::from_bytes([3u8; 32]);
        assert_eq!(k.id(), DigestKey::from_bytes([3u8; 32]).id());
        assert_ne!(k.id(), DigestKey::from_bytes([4u8; 32]).id());
        assert!(k.id().starts_with("key:") && !k.id().contains("0303"));
    }

    #[test]
    fn hex_round_trips_and_rejects_other_text() {
        let k = DigestKey::from_bytes([0xab; 32]);
        assert_eq!(k.to_hex().as_str(), "ab".repeat(32));
        assert_eq!(DigestKey::from_hex(&k.to_hex()).unwrap().id(), k.id());
        assert!(DigestKey::from_hex("ab").is_none());
        assert!(DigestKey::from_hex(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn generated_keys_differ() {
        let a = DigestKey::generate().unwrap();
        let b = DigestKey::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
    }
}
