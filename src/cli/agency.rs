//! The agency's keys as `migrate --apply` and `manifest` take them: its SSH private key,
//! checked to be the private half of the config's `[agency] signing_key` before it signs
//! anything or opens a digest key, and the recipients a new digest key is sealed to.

use std::path::Path;

use crate::config::HandoverConfig;
use crate::crypto::{self, Identities};
use crate::error::Error;
use crate::migrate::KeyAccess;

/// The agency's identity, checked against the config's signing key, and the recipients
/// a new digest key is sealed to (the customer's, and the agency's own key).
pub fn key_access(config: &Path, identity: &Path) -> Result<KeyAccess, Error> {
    let cfg = crate::config::load(config)?;
    let (ids, signer) = agency_identity(&cfg, config, identity)?;
    let mut recipients = cfg.recipients(config)?;
    let own = signer.to_openssh().map_err(|_| {
        Error::input(
            config,
            "[agency] signing_key cannot be encoded",
            "use an ssh-ed25519 or ssh-rsa key",
        )
    })?;
    recipients.push(crypto::parse_recipient(&own).map_err(|e| {
        Error::input(
            config,
            format!("[agency] signing_key: {e}"),
            "use an ssh-ed25519 or ssh-rsa key",
        )
    })?);
    Ok(KeyAccess {
        identity: ids,
        recipients,
    })
}

/// The agency's identity (an SSH private key), checked to be the private half of the
/// config's `[agency] signing_key`: it signs the manifest and opens digest keys.
pub fn agency_identity(
    cfg: &HandoverConfig,
    config: &Path,
    identity: &Path,
) -> Result<(Identities, ssh_key::PublicKey), Error> {
    let Some(signer) = cfg.signer() else {
        return Err(Error::input(
            config,
            "[agency] has no signing_key",
            "add the agency's SSH public key as [agency] signing_key",
        ));
    };
    let ids = crypto::read_identities(identity)?;
    match &ids.ssh {
        None => Err(Error::input(
            identity,
            "not an OpenSSH private key",
            "pass the agency's unencrypted OpenSSH private key (ssh-ed25519 or ssh-rsa)",
        )),
        Some(k) if k.public_key().key_data() != signer.key_data() => Err(Error::usage(
            format!(
                "{} is not the private half of [agency] signing_key ({})",
                identity.display(),
                crypto::fingerprint(&signer)
            ),
            "pass the agency's SSH private key, the one the config names",
        )),
        Some(_) => Ok((ids, signer)),
    }
}
