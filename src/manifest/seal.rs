//! Sealing a manifest: everything `handover manifest` does between reading its inputs and
//! writing its two files. The inputs are checked to belong together (the plan was made
//! for this config and from this inventory), the recipients chosen (the ones given, else
//! the config's; never none), each journal opened with its digest key, the customer's new
//! credentials read, the manifest built, encrypted with age and signed by the agency.
//!
//! Invariants:
//! - The plaintext exists only in memory and is dropped once encrypted; credential files
//!   are read into zeroized buffers; nothing is written here (the caller writes the
//!   sealed file and its signature as one output set).
//! - The signature covers the sealed bytes exactly as they will be written.
//! - The caller has checked that `sign_with` is the config's `[agency] signing_key`
//!   (`signer`), in a file or in ssh-agent: the customer verifies against that key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use super::{Manifest, Material, NewCredential, Signer};
use crate::config::HandoverConfig;
use crate::crypto::{self, Identities, Recipient};
use crate::error::Error;
use crate::model::Inventory;
use crate::plan::Plan;

/// What to seal, every input already read and checked on its own.
pub struct Request<'a> {
    pub config: &'a HandoverConfig,
    /// Where the config was read from (its recipient files are relative to it).
    pub config_path: &'a Path,
    pub plan: &'a Plan,
    pub plan_path: &'a Path,
    pub inventory: &'a Inventory,
    pub inventory_path: &'a Path,
    /// The agency's identity: it opens the journals' digest keys.
    pub identity: &'a Identities,
    /// The agency's signing key (a private key, or a key in ssh-agent).
    pub sign_with: &'a crypto::agent::SigningKey,
    /// The public half of `sign_with`, the config's `[agency] signing_key`.
    pub signer: &'a ssh_key::PublicKey,
    /// Recipients given on the command line (`-r`), already parsed.
    pub recipients: Vec<Recipient>,
    /// Recipient files (`-R`).
    pub recipients_files: &'a [PathBuf],
    /// Migration journals; each one's digest key is read from FILE.key.age.
    pub journals: &'a [PathBuf],
    /// Credential material issued to the customer: (name, file).
    pub credentials: &'a [(String, PathBuf)],
    pub armor: bool,
    pub now: DateTime<Utc>,
}

/// A sealed manifest, ready to be written.
pub struct Sealed {
    /// The manifest as sealed (for the caller's summary line; secret material inside is
    /// `Material`, which never prints).
    pub manifest: Manifest,
    /// The age-encrypted file.
    pub sealed: Vec<u8>,
    /// Its detached sshsig signature (PEM).
    pub signature: String,
    /// How many recipients it is encrypted to.
    pub recipients: usize,
}

/// Checks, builds, encrypts and signs.
pub fn seal(mut r: Request<'_>) -> Result<Sealed, Error> {
    check_inputs(&r)?;
    let given = std::mem::take(&mut r.recipients);
    let recipients = recipients(given, &r)?;
    let journals = r
        .journals
        .iter()
        .map(|j| Ok((j.clone(), crate::migrate::key::open(j, r.identity)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let new_credentials = r
        .credentials
        .iter()
        .map(|(name, file)| read_credential(name, file))
        .collect::<Result<Vec<_>, Error>>()?;
    let manifest = super::build(super::Input {
        config: r.config,
        plan: r.plan,
        inventory: r.inventory,
        journals,
        new_credentials,
        signer: Signer {
            key: r.signer.to_openssh().unwrap_or_default(),
            fingerprint: crypto::fingerprint(r.signer),
        },
        recipients: recipients.iter().map(|r| r.text.clone()).collect(),
        now: r.now,
    })?;
    let plaintext = super::to_plaintext(&manifest);
    let sealed = crypto::encrypt(&plaintext, &recipients, r.armor)?;
    drop(plaintext);
    let signature = r.sign_with.sign(&sealed)?;
    Ok(Sealed {
        manifest,
        sealed,
        signature,
        recipients: recipients.len(),
    })
}

/// The plan was made for this config's handover, and from this inventory.
fn check_inputs(r: &Request<'_>) -> Result<(), Error> {
    let (h, cfg) = (&r.plan.handover, r.config);
    let date = cfg.handover_date.format("%Y-%m-%d").to_string();
    if h.scenario != cfg.scenario.as_str()
        || h.date != date
        || h.agency != cfg.agency.name
        || h.customer != cfg.customer.name
    {
        return Err(Error::input(
            r.plan_path,
            format!(
                "the plan is for {} -> {} ({}, {}), but the config says {} -> {} ({}, {date})",
                h.agency,
                h.customer,
                h.scenario,
                h.date,
                cfg.agency.name,
                cfg.customer.name,
                cfg.scenario.as_str(),
            ),
            "pass the config the plan was made with, or plan again",
        ));
    }
    if r.inventory.generated_at != r.plan.inventory.generated_at {
        return Err(Error::input(
            r.inventory_path,
            "the plan was not made from this inventory (their audit times differ)",
            "pass the inventory the plan was made from",
        ));
    }
    Ok(())
}

/// The recipients given (`-r`, then `-R`), else the config's; each once; never none.
fn recipients(mut given: Vec<Recipient>, r: &Request<'_>) -> Result<Vec<Recipient>, Error> {
    let any_given = !given.is_empty() || !r.recipients_files.is_empty();
    for f in r.recipients_files {
        given.extend(crypto::read_recipients_file(f)?);
    }
    let mut out = if any_given {
        given
    } else {
        r.config.recipients(r.config_path)?
    };
    let mut seen = BTreeSet::new();
    out.retain(|r| seen.insert(r.text.clone()));
    if out.is_empty() {
        return Err(Error::usage(
            "no recipients: the manifest would be readable by no one",
            "pass -r KEY or -R FILE, or list [recipients] in the config",
        ));
    }
    Ok(out)
}

/// One credential file, as text (UTF-8) or `base64:` and its bytes; only its name is kept.
fn read_credential(name: &str, file: &Path) -> Result<NewCredential, Error> {
    let bytes = Zeroizing::new(std::fs::read(file).map_err(|e| {
        Error::input(
            file,
            format!("cannot read: {e}"),
            "pass the file holding the credential",
        )
    })?);
    let value = match std::str::from_utf8(&bytes) {
        Ok(t) => t.to_string(),
        Err(_) => {
            use base64::Engine;
            format!(
                "base64:{}",
                base64::engine::general_purpose::STANDARD.encode(&*bytes)
            )
        }
    };
    let file_name = file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(NewCredential {
        name: name.to_string(),
        file: file_name,
        value: Material::new(value),
    })
}
