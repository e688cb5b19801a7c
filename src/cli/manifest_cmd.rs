//! `handover manifest` (write), `handover manifest show` and the shared opening of a
//! manifest that `verify` uses too: the detached signature is checked first, over the
//! file exactly as it is, and a file it does not cover is refused (exit 10) before any
//! age parsing or decryption; then the header is bounded and the file decrypted.
//! Everything `show` prints from the manifest is escaped for the terminal. `show` with no
//! signer to check against (no `--signer`, no `--config`) is refused as untrusted (exit
//! 10) before the file is read, unless `--no-signature-check` opens it as NOT VERIFIED.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::args::{Format, OpenArgs};
use super::exit;
use super::support::print_stdout;
use crate::crypto::{self, Recipient};
use crate::error::Error;
use crate::manifest::{self, Manifest, Material};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ManifestArgs {
    #[command(subcommand)]
    pub command: Option<ManifestCommand>,
    #[command(flatten)]
    pub write: ManifestWriteArgs,
}

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Decrypt a manifest and print a readable summary (secret material hidden unless --reveal).
    Show(ManifestShowArgs),
}

#[derive(Debug, Args)]
pub struct ManifestWriteArgs {
    /// The handover config: parties, dates, recipients, documentation, the agency's signing_key.
    #[arg(long, env = "HANDOVER_CONFIG", value_name = "FILE", required = true)]
    pub config: Option<PathBuf>,
    /// The plan JSON written by `handover plan -o`.
    #[arg(long, value_name = "FILE", required = true)]
    pub plan: Option<PathBuf>,
    /// The inventory the plan was made from (for its coverage gaps).
    #[arg(long, value_name = "FILE", required = true)]
    pub inventory: Option<PathBuf>,
    /// A migrate or apply journal (repeatable); its digest key is read from FILE.key.age.
    #[arg(long = "journal", value_name = "FILE")]
    pub journals: Vec<PathBuf>,
    /// The agency's SSH private key (passphrase-protected ones too): signs the manifest and
    /// opens the journals' digest keys. `agent` (or the key's .pub file) signs through the
    /// ssh-agent at SSH_AUTH_SOCK instead.
    #[arg(
        long = "sign-key",
        env = "HANDOVER_IDENTITY",
        value_name = "FILE",
        required = true
    )]
    pub sign_key: Option<PathBuf>,
    /// Encrypt to this recipient (age1... or ssh-ed25519/ssh-rsa); repeatable. Default: the config's.
    #[arg(short = 'r', long = "recipient", value_name = "KEY")]
    pub recipients: Vec<String>,
    /// Encrypt to every recipient in this file (age recipients-file format); repeatable.
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
    /// Credential material issued to the customer, from a file (repeatable): NAME=FILE.
    #[arg(long = "credential", value_name = "NAME=FILE")]
    pub credentials: Vec<String>,
    /// A folder of replacement keys `apply` rotated (repeatable): each STEP.age in it,
    /// already encrypted to the customer, is carried as it is (rotated-key-STEP).
    #[arg(long = "credentials", value_name = "DIR")]
    pub credential_dirs: Vec<PathBuf>,
    /// ASCII armor (PEM-style) instead of binary.
    #[arg(short, long)]
    pub armor: bool,
    /// Where to write the manifest (default: stdout; binary output is refused to a terminal).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where to write the signature (default: OUTPUT.sig; needed when writing to stdout).
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// Overwrite the output and signature files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ManifestShowArgs {
    #[command(flatten)]
    pub open: OpenArgs,
    /// Also print secret material (digest keys, new credentials).
    #[arg(long)]
    pub reveal: bool,
    /// `table` (a readable summary, the default) or `json` (the document).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Open the manifest without a signer to check its signature against (it is shown as
    /// NOT VERIFIED). Without it, no signer (--signer or --config) is exit 10.
    #[arg(long, conflicts_with = "signer")]
    pub no_signature_check: bool,
}

pub fn manifest_command(a: ManifestArgs) -> Result<u8, Error> {
    match a.command {
        Some(ManifestCommand::Show(s)) => show(s),
        None => write(a.write),
    }
}

fn sig_path_for(out: &Path) -> PathBuf {
    crate::output::with_suffix(out, ".sig")
}

/// `manifest` (write), its flags validated: where everything comes from and goes.
struct WriteRequest {
    config: PathBuf,
    plan: PathBuf,
    inventory: PathBuf,
    sign_key: PathBuf,
    /// `-r`, parsed.
    recipients: Vec<Recipient>,
    /// `--credential NAME=FILE`, split.
    credentials: Vec<(String, PathBuf)>,
    output: Option<PathBuf>,
    signature: PathBuf,
}

impl ManifestWriteArgs {
    /// Validates the flags, before anything is read or written.
    fn validate(&self) -> Result<WriteRequest, Error> {
        let (Some(config), Some(plan), Some(inventory), Some(sign_key)) =
            (&self.config, &self.plan, &self.inventory, &self.sign_key)
        else {
            return Err(Error::usage(
                "manifest needs --config, --plan, --inventory and --sign-key",
                "see `handover manifest --help`",
            ));
        };
        let signature = match (&self.signature, &self.output) {
            (Some(s), _) => s.clone(),
            (None, Some(o)) => sig_path_for(o),
            (None, None) => {
                return Err(Error::usage(
                    "writing the manifest to stdout needs --signature FILE for its signature",
                    "or pass -o handover.age",
                ))
            }
        };
        if self.output.is_none() && !self.armor && std::io::stdout().is_terminal() {
            return Err(Error::usage(
                "refusing to write a binary age file to a terminal",
                "pass -o handover.age, or --armor for ASCII",
            ));
        }
        Ok(WriteRequest {
            config: config.clone(),
            plan: plan.clone(),
            inventory: inventory.clone(),
            sign_key: sign_key.clone(),
            recipients: self.parse_recipients()?,
            credentials: self.parse_credentials()?,
            output: self.output.clone(),
            signature,
        })
    }

    fn parse_recipients(&self) -> Result<Vec<Recipient>, Error> {
        let mut recipients = Vec::new();
        let mut problems = Vec::new();
        for r in &self.recipients {
            match crypto::parse_recipient(r) {
                Ok(r) => recipients.push(r),
                Err(e) => problems.push(format!("-r {e}")),
            }
        }
        if !problems.is_empty() {
            return Err(Error::usage(
                problems.join("; "),
                "pass age1... or ssh-ed25519/ssh-rsa public keys",
            ));
        }
        Ok(recipients)
    }

    fn parse_credentials(&self) -> Result<Vec<(String, PathBuf)>, Error> {
        let mut problems = Vec::new();
        let mut out = Vec::new();
        for c in &self.credentials {
            match c
                .split_once('=')
                .filter(|(n, f)| !n.is_empty() && !f.is_empty())
            {
                Some((name, file)) => out.push((name.to_string(), PathBuf::from(file))),
                None => problems.push(format!("--credential {c:?}: write NAME=FILE")),
            }
        }
        if !problems.is_empty() {
            return Err(Error::usage(
                problems.join("; "),
                "for example --credential break-glass-key=./key.json",
            ));
        }
        for dir in &self.credential_dirs {
            out.extend(manifest::credentials::sealed_files(dir)?);
        }
        Ok(out)
    }
}

fn write(a: ManifestWriteArgs) -> Result<u8, Error> {
    let req = a.validate()?;
    // Where it goes, refused before anything is read or written.
    let targets: Vec<&Path> = req
        .output
        .iter()
        .map(|p| p.as_path())
        .chain(std::iter::once(req.signature.as_path()))
        .collect();
    crate::output::check_paths(&targets, a.force)?;
    let cfg = crate::config::load(&req.config)?;
    let plan = super::inputs::read_plan(&req.plan)?;
    let inventory = super::inputs::read_inventory(&req.inventory)?;
    // The signing key must be the config's: the customer checks against that one. The
    // same key opens the journals' digest keys.
    let (ids, sign_with, signer) = super::agency::agency_signer(&cfg, &req.config, &req.sign_key)?;
    if sign_with.is_agent() && !a.journals.is_empty() {
        return Err(Error::usage(
            "the journals' digest keys are sealed to the agency's SSH key, and an ssh-agent can sign but not decrypt",
            "pass the agency's private key file with --sign-key (a passphrase-protected one works)",
        ));
    }
    let sealed = manifest::seal::seal(manifest::seal::Request {
        config: &cfg,
        config_path: &req.config,
        plan: &plan,
        plan_path: &req.plan,
        inventory: &inventory,
        inventory_path: &req.inventory,
        identity: &ids,
        sign_with: &sign_with,
        signer: &signer,
        recipients: req.recipients,
        recipients_files: &a.recipients_files,
        journals: &a.journals,
        credentials: &req.credentials,
        armor: a.armor,
        now: chrono::Utc::now(),
    })?;
    // The manifest and its signature are one output set: both checked, then both written.
    match &req.output {
        Some(out) => {
            crate::output::Outputs::new(a.force)
                .add(out, &sealed.sealed)
                .add(&req.signature, sealed.signature.as_bytes())
                .write()?;
        }
        None => {
            crate::output::write_private(&req.signature, sealed.signature.as_bytes(), a.force)?;
            use std::io::Write;
            let mut o = std::io::stdout().lock();
            o.write_all(&sealed.sealed)
                .and_then(|_| o.flush())
                .map_err(|e| {
                    Error::output(
                        "<stdout>",
                        format!("cannot write: {e}"),
                        "check where the output goes",
                    )
                })?;
        }
    }
    summary(&sealed, req.output.as_deref(), a.armor, &req.signature);
    Ok(exit::OK)
}

/// The one line on stderr saying what was written.
fn summary(s: &manifest::seal::Sealed, output: Option<&Path>, armor: bool, sig: &Path) {
    let m = &s.manifest;
    let done = m
        .steps
        .iter()
        .filter(|s| s.outcome == manifest::StepOutcome::Done)
        .count();
    eprintln!(
        "wrote {}{}: {} steps ({} done), {} migrated secrets, {} documents, {} coverage gaps; encrypted to {} recipient(s); signature {}",
        output.map(|p| p.display().to_string()).unwrap_or_else(|| "<stdout>".into()),
        if armor { " (armored)" } else { "" },
        m.steps.len(),
        done,
        m.migrated_secrets.len(),
        m.documentation.len(),
        m.coverage_gaps.len(),
        s.recipients,
        sig.display()
    );
}

/// The agency's public key: `--signer` (a key or a .pub/allowed_signers file), else the
/// config's `[agency] signing_key`.
pub fn expected_signer(
    signer: Option<&str>,
    config: Option<&Path>,
) -> Result<Option<ssh_key::PublicKey>, Error> {
    if let Some(s) = signer {
        let text = if Path::new(s).is_file() {
            std::fs::read_to_string(s).map_err(|e| {
                Error::input(
                    s,
                    format!("cannot read: {e}"),
                    "pass the agency's SSH public key or its .pub file",
                )
            })?
        } else {
            s.to_string()
        };
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or_default();
        return crypto::parse_public_key(line).map(Some).map_err(|e| {
            Error::usage(
                format!("--signer {e}"),
                "pass the agency's SSH public key or its .pub file",
            )
        });
    }
    match config {
        Some(c) => {
            let cfg = crate::config::load(c)?;
            match cfg.signer() {
                Some(k) => Ok(Some(k)),
                None => Err(Error::input(
                    c,
                    "[agency] has no signing_key",
                    "pass --signer with the agency's SSH public key",
                )),
            }
        }
        None => Ok(None),
    }
}

/// The largest manifest file opened (a manifest is a few hundred KiB at most).
const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// The largest signature file read (an sshsig PEM of a 16384-bit RSA key is under 5 KiB).
const MAX_SIGNATURE_BYTES: u64 = 64 << 10;

/// What opening a manifest found.
pub struct Opened {
    pub manifest: Manifest,
    /// The header's recipient stanzas, by type.
    pub stanzas: crypto::Stanzas,
    /// `Ok(fingerprint)` when the signature was checked (and held), `Err(why)` when no
    /// signer was given so nothing was checked.
    pub signature: Result<String, String>,
}

/// Reads at most `max` bytes of `path`; a longer file is refused.
fn read_bounded(path: &Path, max: u64, untrusted_what: &str, hint: &str) -> Result<Vec<u8>, Error> {
    crate::input::read_at_most(path, max)
        .map_err(|e| Error::input(path, format!("cannot read: {e}"), hint))?
        .map(|bytes| bytes.to_vec())
        .ok_or_else(|| {
            Error::untrusted(
                path,
                format!("is over {} KiB: {untrusted_what}", max / 1024),
                hint,
            )
        })
}

/// Opens a manifest: checks the detached signature against the expected signer FIRST
/// (it covers the encrypted file exactly as it is), then bounds the age header, then
/// decrypts. A file whose signature does not hold is refused as untrusted (exit 10)
/// before any age parsing or decryption. Without a signer nothing can be checked: the
/// manifest is opened and `signature` says it was not checked.
pub fn open(
    file: &Path,
    identities: &[PathBuf],
    sig: Option<&Path>,
    signer: Option<&ssh_key::PublicKey>,
) -> Result<Opened, Error> {
    let sealed = read_bounded(
        file,
        MAX_MANIFEST_BYTES,
        "not a handover manifest",
        "pass the handover.age the agency sent",
    )?;
    let signature = match signer {
        None => Err("not checked: no signer given (pass --signer or --config)".to_string()),
        Some(k) => {
            let sig_file = sig
                .map(Path::to_path_buf)
                .unwrap_or_else(|| sig_path_for(file));
            let hint = "pass the .sig file the agency sent with the manifest (--signature FILE)";
            if !sig_file.exists() {
                return Err(Error::untrusted(&sig_file, "no signature here: the manifest cannot be trusted without the agency's signature", hint));
            }
            let pem = read_bounded(&sig_file, MAX_SIGNATURE_BYTES, "not an SSH signature", hint)?;
            let pem = String::from_utf8(pem).map_err(|_| {
                Error::untrusted(&sig_file, "not an SSH signature (sshsig PEM)", hint)
            })?;
            crypto::verify_signature(&sealed, &pem, k, &sig_file)?;
            Ok(crypto::fingerprint(k))
        }
    };
    let stanzas = crypto::check_header(&sealed, file)?;
    let mut all = crypto::Identities::empty();
    for i in identities {
        all.extend(crypto::read_identities(i)?);
    }
    let plain = crypto::decrypt(&sealed, &all, file)?;
    let manifest = manifest::from_plaintext(&plain, file)?;
    drop(plain);
    Ok(Opened {
        manifest,
        stanzas,
        signature,
    })
}

/// Whether the header's stanzas are exactly the manifest's recipients: one X25519
/// stanza per age recipient, and each SSH recipient's tag.
pub fn recipients_match(m: &Manifest, stanzas: &[(String, String)]) -> Result<(), String> {
    let want_x = m
        .recipients
        .iter()
        .filter(|r| r.starts_with("age1"))
        .count();
    let have_x = stanzas.iter().filter(|(k, _)| k == "X25519").count();
    let mut problems = Vec::new();
    if want_x != have_x {
        problems.push(format!(
            "the file is encrypted to {have_x} age recipient(s) but the manifest names {want_x}"
        ));
    }
    let ssh: Vec<&String> = m
        .recipients
        .iter()
        .filter(|r| r.starts_with("ssh-"))
        .collect();
    let have_ssh: Vec<&(String, String)> = stanzas
        .iter()
        .filter(|(k, _)| k.starts_with("ssh-"))
        .collect();
    for r in &ssh {
        let tag = crypto::ssh_stanza_tag(r);
        if !have_ssh.iter().any(|(_, t)| Some(t) == tag.as_ref()) {
            problems.push(format!(
                "the manifest names {} but the file is not encrypted to it",
                r.split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(40)
                    .collect::<String>()
                    + "..."
            ));
        }
    }
    if have_ssh.len() > ssh.len() {
        problems.push(format!(
            "the file is encrypted to {} SSH recipient(s) but the manifest names {}",
            have_ssh.len(),
            ssh.len()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; ")
            + ": a recipient was dropped or added after the manifest was written")
    }
}

/// The manifest with every string escaped for a terminal: its content comes from a file
/// anyone could have forged, and `show` prints it even without a signer. Revealed
/// credentials keep their newlines and tabs; secret material never passes through a
/// plain (not zeroized) JSON value.
fn for_terminal(m: &Manifest) -> Manifest {
    use crate::output::terminal::{escape, escape_block, escape_json_strings};
    let mut m = m.clone();
    let keys: Vec<Material> = m
        .digest_keys
        .iter_mut()
        .map(|k| std::mem::replace(&mut k.key, Material::new(String::new())))
        .collect();
    let creds: Vec<Material> = m
        .new_credentials
        .iter_mut()
        .map(|c| std::mem::replace(&mut c.value, Material::new(String::new())))
        .collect();
    let mut out = match serde_json::to_value(&m) {
        Ok(mut v) => {
            escape_json_strings(&mut v);
            // Every string of a manifest that parsed is still valid once escaped.
            serde_json::from_value(v).unwrap_or(m)
        }
        Err(_) => m,
    };
    for (k, v) in out.digest_keys.iter_mut().zip(keys) {
        k.key = Material::new(escape(v.expose()).into_owned());
    }
    for (c, v) in out.new_credentials.iter_mut().zip(creds) {
        c.value = Material::new(escape_block(v.expose()).into_owned());
    }
    out
}

/// The replacement keys the manifest carries, each opened with the customer's
/// identities and named (never its secret); escaped for the terminal.
fn rotated_keys(m: &Manifest, identities: &[PathBuf]) -> Result<String, Error> {
    use crate::output::terminal::escape;
    let mut ids = crypto::Identities::empty();
    for i in identities {
        ids.extend(crypto::read_identities(i)?);
    }
    let lines = manifest::credentials::describe(&m.new_credentials, &ids);
    if lines.is_empty() {
        return Ok(String::new());
    }
    let mut out = format!("\nReplacement keys (rotated by apply): {}\n", lines.len());
    for l in lines {
        out.push_str(&format!("  {}\n", escape(&l)));
    }
    Ok(out)
}

/// The key `show` checks the signature against. Without one the manifest is refused as
/// untrusted (exit 10) before it is read, unless `--no-signature-check` asks to open it
/// unverified (issue 15: it used to open with exit 0 and a NOT VERIFIED line).
fn show_signer(a: &ManifestShowArgs) -> Result<Option<ssh_key::PublicKey>, Error> {
    if a.no_signature_check {
        return Ok(None);
    }
    let o = &a.open;
    match expected_signer(o.signer.as_deref(), o.config.as_deref())? {
        Some(k) => Ok(Some(k)),
        None => Err(Error::untrusted(
            &o.file,
            "its signature cannot be checked: no signer was given",
            "pass --signer with the agency's SSH public key (as agreed out of band), or --config with [agency] signing_key; --no-signature-check opens it unverified",
        )),
    }
}

fn show(a: ManifestShowArgs) -> Result<u8, Error> {
    use crate::output::terminal::escape;
    let o = &a.open;
    let signer = show_signer(&a)?;
    // A signature that does not hold is an error here, before anything is decrypted.
    let opened = open(
        &o.file,
        &o.identities,
        o.signature.as_deref(),
        signer.as_ref(),
    )?;
    let m = &opened.manifest;
    let recipients = recipients_match(m, &opened.stanzas);
    match a.format.unwrap_or(Format::Table) {
        Format::Json => print_stdout(&manifest::redacted_json(m, a.reveal))?,
        Format::Table => {
            let mut out = String::new();
            out.push_str(&match &opened.signature {
                Ok(fp) => format!("Signature: good, by the agency's key {fp}\n"),
                Err(_) if a.no_signature_check => "Signature: NOT VERIFIED: not checked (--no-signature-check); anyone could have written this manifest\n".to_string(),
                Err(e) => format!("Signature: NOT VERIFIED: {e}\n"),
            });
            out.push_str(&match &recipients {
                Ok(()) => "Recipients: as the manifest lists them\n".to_string(),
                Err(e) => format!("Recipients: MISMATCH: {}\n", escape(e)),
            });
            out.push_str(&manifest::summary(&for_terminal(m), a.reveal));
            out.push_str(&rotated_keys(m, &o.identities)?);
            print_stdout(&crate::output::terminal::escape_block(&out))?;
        }
    }
    if let Err(e) = recipients {
        return Err(Error::untrusted(
            &o.file,
            e,
            "do not trust this manifest; ask the agency for the original",
        ));
    }
    Ok(exit::OK)
}
