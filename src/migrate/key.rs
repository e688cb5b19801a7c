//! The per-handover digest key, kept beside the journal and never in the clear.
//!
//! The first applied migration with a journal generates the key and writes it to
//! `<journal>.key.age`, age-encrypted (armored) to the customer's recipients and the
//! agency's signing key. Later runs with that journal, and `handover manifest`, open it
//! with the agency's SSH private key; the manifest carries it to the customer, whose
//! `verify` recomputes the keyed digests at the destination. The journal's chain is
//! MAC'd under a key derived from it (`journal::ChainKey::derive`), never under the
//! digest key itself.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::crypto::{self, Identities, Recipient};
use crate::error::Error;
use crate::secret::DigestKey;

const HEADER: &str = "handover-digest-key/v1";

/// Where a journal's digest key lives.
pub fn key_path(journal: &Path) -> PathBuf {
    crate::output::with_suffix(journal, ".key.age")
}

/// Opens a journal's digest key.
pub fn open(journal: &Path, ids: &Identities) -> Result<DigestKey, Error> {
    crate::journal::check_format(journal)?;
    let path = key_path(journal);
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::input(&path, format!("cannot read the journal's digest key: {e}"), "it is written beside the journal by the first `migrate --apply`; keep the two together")
    })?;
    let plain = crypto::decrypt(&bytes, ids, &path)?;
    let text = std::str::from_utf8(&plain).map_err(|_| {
        Error::input(
            &path,
            "not a handover digest key",
            "keep the file as migrate wrote it",
        )
    })?;
    let mut lines = text.lines();
    match (lines.next(), lines.next().and_then(DigestKey::from_hex)) {
        (Some(HEADER), Some(key)) => Ok(key),
        _ => Err(Error::input(
            &path,
            "not a handover digest key",
            "keep the file as migrate wrote it",
        )),
    }
}

/// Opens the journal's key, or, when neither the key nor anything of the journal exists
/// yet (`journal_is_new`: see `journal::is_new`), generates one and writes it encrypted
/// to `recipients`. The key is created before the journal, whose chain it MACs.
pub fn open_or_create(
    journal: &Path,
    journal_is_new: bool,
    ids: &Identities,
    recipients: &[Recipient],
) -> Result<DigestKey, Error> {
    crate::journal::check_format(journal)?;
    let path = key_path(journal);
    if path.exists() {
        return open(journal, ids);
    }
    if !journal_is_new {
        return Err(Error::input(
            &path,
            "the journal exists but its digest key is missing, so neither its chain nor its digests could ever be checked",
            "restore the .key.age file beside the journal, or start a new journal with --journal",
        ));
    }
    let key = DigestKey::generate()
        .map_err(|e| Error::crypto(e, "check the operating system's random source"))?;
    let plain = Zeroizing::new(format!("{HEADER}\n{}\n", key.to_hex().as_str()));
    let sealed = crypto::encrypt(plain.as_bytes(), recipients, true)?;
    crate::output::write_private(&path, &sealed, false)?;
    // Prove the agency can open what it just wrote, before any digest depends on it.
    let reopened = open(journal, ids)?;
    if reopened.id() != key.id() {
        return Err(Error::input(
            &path,
            "the digest key read back differs from the one written",
            "check the disk",
        ));
    }
    Ok(key)
}
