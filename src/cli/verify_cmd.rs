//! `handover verify`: open the manifest, check its signature and recipients, read the
//! live accounts and projects with the customer's own credentials, and check each claim.
//! It only reads.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use super::args::{Format, VerifyArgs};
use super::manifest_cmd::{expected_signer, open, recipients_match};
use super::{exit, print_stdout, Bar, NoProgress};
use crate::audit::{self, AuditRequest, Progress};
use crate::error::Error;
use crate::manifest::{Manifest, Scope};
use crate::model::{Inventory, Provider};
use crate::providers::aws::live::LiveSettings;
use crate::providers::gcp::live::GcpSettings;
use crate::verify::{self, Claim, ClaimKind, ClaimStatus, Live, SecretRead};

pub fn verify_command(a: VerifyArgs, quiet: bool) -> Result<u8, Error> {
    if a.concurrency == 0 || a.concurrency > 64 {
        return Err(Error::usage(
            format!("--concurrency must be 1 to 64, not {}", a.concurrency),
            "see `handover verify --help`",
        ));
    }
    let o = &a.open;
    let Some(signer) = expected_signer(o.signer.as_deref(), o.config.as_deref())? else {
        return Err(Error::usage(
            "verify needs the agency's public key to check the signature",
            "pass --signer with the agency's SSH public key (as agreed out of band), or --config with [agency] signing_key",
        ));
    };
    // The signature is checked before anything is decrypted: a file it does not cover is
    // refused here (exit 10), and nothing in it is read or printed.
    let opened = open(
        &o.file,
        &o.identities,
        o.signature.as_deref(),
        Some(&signer),
    )?;
    let m = &opened.manifest;
    let mut integrity = Vec::new();
    integrity.push(match &opened.signature {
        Ok(fp) => Claim {
            kind: ClaimKind::Signature,
            subject: o.file.display().to_string(),
            status: ClaimStatus::Pass,
            detail: format!("signed by the agency's key {fp}"),
        },
        Err(e) => Claim {
            kind: ClaimKind::Signature,
            subject: o.file.display().to_string(),
            status: ClaimStatus::Fail,
            detail: e.clone(),
        },
    });
    let recipients = recipients_match(m, &opened.stanzas);
    integrity.push(match &recipients {
        Ok(()) => Claim {
            kind: ClaimKind::Recipients,
            subject: o.file.display().to_string(),
            status: ClaimStatus::Pass,
            detail: format!(
                "encrypted to exactly the {} recipient(s) it names",
                m.recipients.len()
            ),
        },
        Err(e) => Claim {
            kind: ClaimKind::Recipients,
            subject: o.file.display().to_string(),
            status: ClaimStatus::Fail,
            detail: e.clone(),
        },
    });

    let progress: Arc<dyn Progress> = if !quiet && std::io::stderr().is_terminal() {
        Arc::new(Bar::new())
    } else {
        Arc::new(NoProgress)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::usage(
                format!("cannot start the async runtime: {e}"),
                "check the process limits",
            )
        })?;
    let now = chrono::Utc::now();
    let mut live = runtime.block_on(read_live(m, &a, now, progress.clone()));
    progress.phase("done", 0);
    live.integrity = integrity;
    live.documents = a.docs.as_deref().map(|d| documents(m, d));
    let v = verify::check(m, &live, now);
    let format = a.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    match format {
        Format::Json => {
            print_stdout(&(serde_json::to_string_pretty(&v).expect("serializes") + "\n"))?
        }
        Format::Table => print_stdout(&crate::output::terminal::escape_block(&verify::render(
            &for_terminal(&v),
        )))?,
    }
    if opened.signature.is_err() || recipients.is_err() {
        return Ok(exit::UNTRUSTED);
    }
    Ok(if v.failed() {
        exit::VERIFY_FAILED
    } else {
        exit::OK
    })
}

/// The verification with every string that may come from the manifest or the live
/// accounts escaped for a terminal (a forged or hostile name must not rewrite the lines
/// around it).
fn for_terminal(v: &verify::Verification) -> verify::Verification {
    use crate::output::terminal::escape;
    let mut v = v.clone();
    v.plan_digest = escape(&v.plan_digest).into_owned();
    for c in &mut v.claims {
        c.subject = escape(&c.subject).into_owned();
        c.detail = escape(&c.detail).into_owned();
    }
    v
}

/// Each document's digest as found under `dir`, by the manifest's path.
fn documents(m: &Manifest, dir: &Path) -> BTreeMap<String, Result<String, String>> {
    let root = dir.canonicalize();
    m.documentation
        .iter()
        .map(|d| {
            let read = match &root {
                Ok(root) => read_document(root, &d.path),
                Err(e) => Err(format!("the documentation folder cannot be read: {e}")),
            };
            (d.path.clone(), read)
        })
        .collect()
}

/// The sha256 of one handed-over document, read only from under `root` (canonical).
///
/// The path comes from the manifest, which is input like any other: an absolute path, a
/// `..` or a symlink that leads out of `--docs` is refused, never read, and only regular
/// files are hashed (a FIFO would hang, a device stream forever).
fn read_document(root: &Path, rel: &str) -> Result<String, String> {
    use sha2::Digest;
    use std::path::Component;
    let p = Path::new(rel);
    if rel.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err("its path is absolute or steps out with `..`: not read".into());
    }
    let real = match root.join(p).canonicalize() {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("not found in the documentation folder".into())
        }
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    if !real.starts_with(root) {
        return Err("leads outside the documentation folder (a symlink?): not read".into());
    }
    if !real.is_file() {
        return Err("not a regular file: not read".into());
    }
    let mut hasher = sha2::Sha256::new();
    std::fs::File::open(&real)
        .and_then(|mut f| std::io::copy(&mut f, &mut hasher))
        .map_err(|e| format!("cannot be read: {e}"))?;
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

/// Reads every scope of the manifest live, and every migrated secret at its destination.
async fn read_live(
    m: &Manifest,
    a: &VerifyArgs,
    now: chrono::DateTime<chrono::Utc>,
    progress: Arc<dyn Progress>,
) -> Live {
    let gcp = GcpSettings {
        endpoint: a.gcp_endpoint.clone(),
        concurrency: a.concurrency,
        max_attempts: a.max_attempts,
    };
    let mut inventory = Inventory::new(now);
    let mut unread: Vec<(Scope, String)> = Vec::new();

    // Which profile reaches which AWS account (the standard chain when none is given).
    let profiles: Vec<Option<String>> = if a.profiles.is_empty() {
        vec![None]
    } else {
        a.profiles.iter().cloned().map(Some).collect()
    };
    let mut account_profile: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut profile_errors = Vec::new();
    let needs_aws = m.scopes.iter().any(|s| s.provider == Provider::Aws)
        || m.migrated_secrets.iter().any(|s| s.to.kind == "aws");
    if needs_aws {
        for p in &profiles {
            let settings = LiveSettings {
                profile: p.clone(),
                regions: vec!["us-east-1".into()],
                concurrency: a.concurrency,
                max_attempts: a.max_attempts,
                fresh: true,
            };
            match crate::providers::aws::live::account_of(&settings).await {
                Ok(acct) => {
                    account_profile.entry(acct).or_insert(p.clone());
                }
                Err(e) => profile_errors.push(format!(
                    "{}: {e}",
                    p.as_deref().unwrap_or("the default credentials")
                )),
            }
        }
    }
    let no_profile = |acct: &str| {
        if profile_errors.is_empty() {
            format!("no credentials given reach account {acct} (pass --profile for it)")
        } else {
            format!(
                "no credentials given reach account {acct} ({})",
                profile_errors.join("; ")
            )
        }
    };

    for s in m.scopes.iter().filter(|s| s.provider == Provider::Aws) {
        let Some(profile) = account_profile.get(&s.scope) else {
            unread.push((s.clone(), no_profile(&s.scope)));
            continue;
        };
        let req = AuditRequest {
            aws: Some(LiveSettings {
                profile: profile.clone(),
                regions: s.regions.clone(),
                concurrency: a.concurrency,
                max_attempts: a.max_attempts,
                fresh: true,
            }),
            snapshot: None,
            gcp_projects: vec![],
            gcp: gcp.clone(),
        };
        match audit::run(&req, now, progress.clone()).await {
            Ok(inv) => inventory.merge(inv),
            Err(e) => unread.push((s.clone(), e.to_string())),
        }
    }
    for s in m.scopes.iter().filter(|s| s.provider == Provider::Gcp) {
        let req = AuditRequest {
            aws: None,
            snapshot: None,
            gcp_projects: vec![s.scope.clone()],
            gcp: gcp.clone(),
        };
        match audit::run(&req, now, progress.clone()).await {
            Ok(inv) => inventory.merge(inv),
            Err(e) => unread.push((s.clone(), e.to_string())),
        }
    }
    // Blind spots of the live read stay in `inventory.gaps`: `check` lists them as claims.
    inventory.normalize();

    // Destination secrets, each digested under the key the manifest recorded.
    let keys: BTreeMap<&str, crate::secret::DigestKey> = m
        .digest_keys
        .iter()
        .filter_map(|k| k.digest_key().map(|d| (k.id.as_str(), d)))
        .collect();
    let mut secrets = BTreeMap::new();
    for (store, items) in verify::destinations(m) {
        let names: Vec<String> = items.iter().map(|(n, _)| n.clone()).collect();
        let connected = match store.kind.as_str() {
            "aws" => match account_profile.get(&store.scope) {
                Some(p) => crate::providers::aws::store::AwsStore::connect(
                    p.as_deref(),
                    store.region.as_deref().unwrap_or("us-east-1"),
                    a.max_attempts,
                )
                .await
                .map(crate::migrate::Store::Aws),
                None => Err(Error::usage(no_profile(&store.scope), "pass --profile")),
            },
            "gcp" => crate::providers::gcp::store::GcpStore::connect(&store.scope, &gcp)
                .await
                .map(crate::migrate::Store::Gcp),
            other => Err(Error::usage(format!("{other} is not a destination"), "")),
        };
        let read = match connected {
            Ok(st) => st.read_current(&names).await,
            Err(e) => Err(e),
        };
        for (name, key_id) in items {
            let r = match &read {
                Err(e) => SecretRead::Unread(e.to_string()),
                // The current value: GCP's newest enabled version read by number.
                Ok(values) => match (
                    values
                        .get(&name)
                        .and_then(|v| v.as_ref())
                        .and_then(|v| v.value()),
                    keys.get(key_id.as_str()),
                ) {
                    (Some(v), Some(k)) => SecretRead::Digest(k.digest(v)),
                    (Some(_), None) => {
                        SecretRead::Unread(format!("no digest key {key_id} in the manifest"))
                    }
                    _ => SecretRead::Missing,
                },
            };
            secrets.insert((store.describe(), name), r);
        }
    }
    Live {
        inventory,
        unread,
        secrets,
        integrity: Vec::new(),
        documents: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression (review of issue 10): documentation paths come from the manifest and
    // were joined to --docs as they were, so `../x`, `/abs` or a symlink read files
    // outside the folder. Only regular files under the folder are hashed.
    #[cfg(unix)]
    #[test]
    fn document_paths_from_the_manifest_stay_under_the_docs_folder() {
        let top = tempfile::tempdir().unwrap();
        let docs = top.path().join("docs");
        std::fs::create_dir_all(docs.join("playbooks")).unwrap();
        std::fs::write(docs.join("playbooks/oncall.md"), "on call").unwrap();
        std::fs::write(top.path().join("outside.md"), "outside").unwrap();
        std::os::unix::fs::symlink(top.path().join("outside.md"), docs.join("link.md")).unwrap();
        let root = docs.canonicalize().unwrap();
        assert!(read_document(&root, "playbooks/oncall.md")
            .unwrap()
            .starts_with("sha256:"));
        for (rel, why) in [
            ("../outside.md", "steps out"),
            ("playbooks/../../outside.md", "steps out"),
            ("/etc/hostname", "absolute"),
            ("", "absolute"),
            ("link.md", "leads outside"),
            ("playbooks", "not a regular file"),
            ("missing.md", "not found"),
        ] {
            let err = read_document(&root, rel).unwrap_err();
            assert!(err.contains(why), "{rel:?}: {err}");
        }
    }

    /// Issue 10 item 8: names read live or from the manifest reached the verify table raw.
    #[test]
    fn the_verify_table_escapes_every_claim_field() {
        let hostile = "x\u{1b}[1A\u{1b}[2K\rPASS    signature\u{202e}";
        let v = verify::Verification {
            schema: verify::SCHEMA.into(),
            version: 1,
            checked_at: chrono::Utc::now(),
            plan_digest: hostile.into(),
            manifest_created_at: chrono::Utc::now(),
            handover_date: chrono::Utc::now(),
            summary: Default::default(),
            claims: vec![Claim {
                kind: ClaimKind::Signature,
                subject: hostile.into(),
                status: ClaimStatus::Fail,
                detail: format!("{hostile}\nPASS    all"),
            }],
        };
        let text =
            crate::output::terminal::escape_block(&verify::render(&for_terminal(&v))).into_owned();
        for c in ['\u{1b}', '\r', '\u{202e}'] {
            assert!(!text.contains(c), "raw {c:?} in {text}");
        }
        assert!(
            text.starts_with("FAIL") && !text.lines().any(|l| l.starts_with("PASS")),
            "{text}"
        );
    }
}
