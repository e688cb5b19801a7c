//! The agency's signing key, wherever it is kept: an OpenSSH private key read from a file,
//! or a key an ssh-agent holds (`SSH_AUTH_SOCK`; the agent protocol,
//! draft-miller-ssh-agent, through `ssh-agent-client-rs`), which may be backed by a
//! hardware key. Both produce the same `sshsig` signature (`ssh-keygen -Y verify` checks
//! either the same way): the agent signs the sshsig "signed data" blob (namespace,
//! SHA-512 of the message) exactly as `ssh-keygen -Y sign` asks it to.
//!
//! Invariants: the agent is asked only for the one key named (by its public half), and
//! only after it has said that it holds it; its signature is checked against that public
//! key before it is used, so a confused or hostile agent cannot produce a manifest
//! signature the customer would reject. Errors name the key's fingerprint and the
//! socket, never key material.

use std::path::{Path, PathBuf};

use ssh_agent_client_rs::Client;

use super::{fingerprint, SIG_NAMESPACE};
use crate::error::Error;

/// The environment variable that names the agent's socket, as OpenSSH reads it.
pub const AUTH_SOCK_ENV: &str = "SSH_AUTH_SOCK";

/// Where the agency's signing key is: a private key in memory, or an agent that holds it.
pub enum SigningKey {
    /// A private key read (and unlocked) from a file.
    File(Box<ssh_key::PrivateKey>),
    /// A key held by the ssh-agent at `socket`.
    Agent(AgentKey),
}

/// A key an ssh-agent was seen to hold.
pub struct AgentKey {
    pub socket: PathBuf,
    pub key: ssh_key::PublicKey,
}

impl SigningKey {
    /// The public half.
    pub fn public_key(&self) -> &ssh_key::PublicKey {
        match self {
            SigningKey::File(k) => k.public_key(),
            SigningKey::Agent(a) => &a.key,
        }
    }

    /// An `sshsig` signature (PEM) of `data`, under [`SIG_NAMESPACE`].
    pub fn sign(&self, data: &[u8]) -> Result<String, Error> {
        match self {
            SigningKey::File(k) => super::sign(k, data),
            SigningKey::Agent(a) => a.sign(data),
        }
    }

    /// Whether the key is in an agent (which signs, but cannot open age files).
    pub fn is_agent(&self) -> bool {
        matches!(self, SigningKey::Agent(_))
    }
}

/// The hint of the errors that find no agent or no key in it.
fn agent_hint(fp: &str) -> String {
    format!("start ssh-agent and add the key ({fp}) with ssh-add (ssh-add -l lists what the agent holds), or pass the private key file with --sign-key")
}

/// The socket `SSH_AUTH_SOCK` names, or a usage error saying there is no agent.
pub fn socket_from_env(key: &ssh_key::PublicKey) -> Result<PathBuf, Error> {
    std::env::var_os(AUTH_SOCK_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| {
            Error::usage(
                format!(
                    "no ssh-agent to sign with {}: {AUTH_SOCK_ENV} is not set",
                    fingerprint(key)
                ),
                agent_hint(&fingerprint(key)),
            )
        })
}

fn connect(socket: &Path, fp: &str) -> Result<Client, Error> {
    Client::connect(socket).map_err(|e| {
        Error::input(
            socket,
            format!("cannot reach the ssh-agent ({AUTH_SOCK_ENV}) to sign with {fp}: {e}"),
            agent_hint(fp),
        )
    })
}

/// Checks that the agent at `socket` holds `key`, and returns it as a signing key.
pub fn agent_key(socket: &Path, key: &ssh_key::PublicKey) -> Result<AgentKey, Error> {
    let fp = fingerprint(key);
    let mut client = connect(socket, &fp)?;
    let held = client.list_all_identities().map_err(|e| {
        Error::input(
            socket,
            format!("the ssh-agent ({AUTH_SOCK_ENV}) did not list its keys: {e}"),
            agent_hint(&fp),
        )
    })?;
    let holds = held.iter().any(|i| {
        let data: &ssh_key::public::KeyData = i.into();
        data == key.key_data()
    });
    if !holds {
        return Err(Error::input(
            socket,
            format!(
                "the ssh-agent ({AUTH_SOCK_ENV}) does not hold the signing key {fp} (it holds {} other key(s))",
                held.len()
            ),
            agent_hint(&fp),
        ));
    }
    Ok(AgentKey {
        socket: socket.to_path_buf(),
        key: key.clone(),
    })
}

impl AgentKey {
    /// Asks the agent to sign the sshsig blob of `data`, then checks the signature.
    fn sign(&self, data: &[u8]) -> Result<String, Error> {
        let fp = fingerprint(&self.key);
        let hash = ssh_key::HashAlg::Sha512;
        let fail = |what: String| {
            Error::crypto(
                format!("the ssh-agent at {} could not sign with {fp}: {what}", self.socket.display()),
                "check the agent still holds the key (ssh-add -l); a hardware key may need a touch or its PIN, and a key added with ssh-add -c a confirmation",
            )
        };
        let blob = ssh_key::SshSig::signed_data(SIG_NAMESPACE, hash, data)
            .map_err(|e| fail(e.to_string()))?;
        let mut client = connect(&self.socket, &fp)?;
        let sig = client
            .sign(&self.key, &blob)
            .map_err(|e| fail(e.to_string()))?;
        let sshsig = ssh_key::SshSig::new(self.key.key_data().clone(), SIG_NAMESPACE, hash, sig)
            .map_err(|e| fail(e.to_string()))?;
        let pem = sshsig
            .to_pem(ssh_key::LineEnding::LF)
            .map_err(|e| fail(e.to_string()))?;
        // A signature the customer's check would reject is never handed on.
        super::verify_signature(data, &pem, &self.key, &self.socket)
            .map_err(|_| fail("its signature does not verify against the key".into()))?;
        Ok(pem)
    }
}
