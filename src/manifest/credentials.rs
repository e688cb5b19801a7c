//! Replacement keys `apply` rotated, carried by the manifest as credential material: each
//! `STEP.age` file of a credentials folder (age-encrypted to the customer by `apply`) is
//! embedded as it is, so the agency never decrypts it; `manifest show`, holding the
//! customer's identity, names each key inside (its id, owner and the key it replaces)
//! and never prints its secret.
//!
//! Invariants:
//! - A folder is read bounded (at most `MAX_FILES` files, regular `*.age` files only,
//!   sorted by name), and each file's name must be a plain step id.
//! - Describing a key decrypts it in memory (`Zeroizing`) and keeps only its names; a
//!   file that does not decrypt or parse is described as such, never echoed.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::NewCredential;
use crate::crypto::Identities;
use crate::error::Error;

/// Most files read from one credentials folder.
pub const MAX_FILES: usize = 10_000;

/// The name a rotated key's file gets in the manifest: `rotated-key-STEP`.
pub const PREFIX: &str = "rotated-key-";

/// The `NAME=FILE` pairs of a credentials folder written by `apply` (`STEP.age` each).
pub fn sealed_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let hint = "pass the folder `handover apply` sealed replacement keys into (--credentials-out, by default JOURNAL.credentials/)";
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::input(dir, format!("cannot read the folder: {e}"), hint))?;
    let mut out = Vec::new();
    for entry in entries.take(MAX_FILES + 1) {
        let entry = entry.map_err(|e| Error::input(dir, format!("cannot read: {e}"), hint))?;
        let path = entry.path();
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".age"));
        let Some(step) = stem.filter(|s| {
            is_file
                && !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }) else {
            continue;
        };
        out.push((format!("{PREFIX}{step}"), path.clone()));
    }
    if out.len() > MAX_FILES {
        return Err(Error::input(
            dir,
            format!("more than {MAX_FILES} files"),
            hint,
        ));
    }
    out.sort();
    Ok(out)
}

/// What a sealed key names (its secret is read and dropped, never kept).
#[derive(Deserialize)]
struct Names {
    step: String,
    provider: String,
    scope: String,
    owner: String,
    replaces: String,
    key_id: String,
}

/// One line per rotated key in `creds`, decrypted with `ids`: its id, owner and the key
/// it replaces; or why it cannot be read. Never its secret.
pub fn describe(creds: &[NewCredential], ids: &Identities) -> Vec<String> {
    creds
        .iter()
        .filter(|c| c.name.starts_with(PREFIX))
        .map(|c| match names_of(c, ids) {
            Some(n) => format!(
                "{}: key {} of {} ({} {}), replaces {} (step {}); its secret is inside, sealed to you",
                c.name, n.key_id, n.owner, n.provider, n.scope, n.replaces, n.step
            ),
            None => format!(
                "{}: cannot be opened with the identities given (not sealed to them, or damaged)",
                c.name
            ),
        })
        .collect()
}

fn names_of(c: &NewCredential, ids: &Identities) -> Option<Names> {
    use base64::Engine;
    let b64 = c.value.expose().strip_prefix("base64:")?;
    let sealed =
        zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(b64).ok()?);
    let plain = crate::crypto::decrypt(&sealed, ids, Path::new(&c.file)).ok()?;
    serde_json::from_slice::<Names>(&plain).ok()
}
