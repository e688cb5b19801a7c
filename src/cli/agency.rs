//! The agency's keys as `migrate --apply` and `manifest` take them: its SSH private key,
//! checked to be the private half of the config's `[agency] signing_key` before it signs
//! anything or opens a digest key, and the recipients a new digest key is sealed to.
//!
//! `manifest --sign-key` names where the signing key is kept (the config names only its
//! public half, which is the customer's trust anchor and the same on every machine):
//! - a private key file, unencrypted or passphrase-protected;
//! - `agent`: the ssh-agent at `SSH_AUTH_SOCK` holds the config's key;
//! - a public key file (`.pub`): the agent holds that key, which must be the config's;
//! - a path that does not exist while `SSH_AUTH_SOCK` is set: the agent, when it holds
//!   the config's key (said on stderr), since the key may live only there (a hardware key).
//!
//! An agent signs but cannot decrypt, so what opens a digest key needs the file.

use std::path::Path;

use crate::config::HandoverConfig;
use crate::crypto::agent::{self, SigningKey};
use crate::crypto::{self, Identities};
use crate::error::Error;
use crate::migrate::KeyAccess;

/// The agency's identity, checked against the config's signing key, and the recipients
/// a new digest key is sealed to (the customer's, and the agency's own key).
pub fn key_access(config: &Path, identity: &Path) -> Result<KeyAccess, Error> {
    let cfg = crate::config::load(config)?;
    if identity == Path::new(AGENT) {
        return Err(Error::usage(
            "the digest key is sealed with age to the agency's SSH key, and an ssh-agent can sign but not decrypt",
            "pass the agency's private key file (a passphrase-protected one works)",
        ));
    }
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
            "pass the agency's OpenSSH private key (ssh-ed25519 or ssh-rsa)",
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

/// The `--sign-key` value that means "the ssh-agent holds the config's key".
pub const AGENT: &str = "agent";

/// The agency's signing key as `manifest --sign-key` names it (see the module's list),
/// checked to be the config's `[agency] signing_key`, and the identities it opens digest
/// keys with (none when the key is in an agent).
pub fn agency_signer(
    cfg: &HandoverConfig,
    config: &Path,
    sign_key: &Path,
) -> Result<(Identities, SigningKey, ssh_key::PublicKey), Error> {
    let Some(signer) = cfg.signer() else {
        return Err(Error::input(
            config,
            "[agency] has no signing_key",
            "add the agency's SSH public key as [agency] signing_key",
        ));
    };
    let through_agent = |key: &ssh_key::PublicKey| -> Result<_, Error> {
        let socket = agent::socket_from_env(key)?;
        let held = agent::agent_key(&socket, key)?;
        Ok((Identities::empty(), SigningKey::Agent(held), signer.clone()))
    };
    if sign_key == Path::new(AGENT) {
        return through_agent(&signer);
    }
    if !sign_key.exists() && std::env::var_os(agent::AUTH_SOCK_ENV).is_some_and(|v| !v.is_empty()) {
        let out = through_agent(&signer).map_err(|e| {
            Error::input(
                sign_key,
                format!("no such file, and {e}"),
                e.hint().to_string(),
            )
        })?;
        eprintln!(
            "{}: no such file; signing through ssh-agent with [agency] signing_key ({})",
            sign_key.display(),
            crypto::fingerprint(&signer)
        );
        return Ok(out);
    }
    if let Some(public) = public_key_file(sign_key)? {
        if public.key_data() != signer.key_data() {
            return Err(not_the_config_key(sign_key, &signer));
        }
        return through_agent(&signer);
    }
    let (ids, signer) = agency_identity(cfg, config, sign_key)?;
    let key = ids
        .ssh
        .clone()
        .ok_or_else(|| not_the_config_key(sign_key, &signer))?;
    Ok((ids, SigningKey::File(Box::new(key)), signer))
}

/// The public key in `path` when it holds one (an OpenSSH `.pub` line) and no private key.
fn public_key_file(path: &Path) -> Result<Option<ssh_key::PublicKey>, Error> {
    let hint = "pass the agency's OpenSSH private key, its .pub file (the agent holds the key), or `agent`";
    let Ok(Some(bytes)) = crate::input::read_at_most(path, crypto::MAX_SSH_IDENTITY_BYTES as u64)
    else {
        // Unreadable or too large: the private-key reader says why.
        return Ok(None);
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(None);
    };
    if text.contains("PRIVATE KEY") {
        return Ok(None);
    }
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    if !(line.starts_with("ssh-") || line.starts_with("sk-") || line.starts_with("ecdsa-")) {
        return Ok(None);
    }
    crypto::parse_public_key(line)
        .map(Some)
        .map_err(|e| Error::input(path, e, hint))
}

fn not_the_config_key(sign_key: &Path, signer: &ssh_key::PublicKey) -> Error {
    Error::usage(
        format!(
            "{} is not the private half of [agency] signing_key ({})",
            sign_key.display(),
            crypto::fingerprint(signer)
        ),
        "pass the agency's SSH private key, the one the config names",
    )
}
