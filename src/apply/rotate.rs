//! Rotate, for an AWS access key or a GCP service-account key the customer keeps: a
//! replacement key is created and its secret written only into an age-encrypted file
//! for the customer's recipients; the old key is deactivated by a later `--finish`
//! (once `grace_days` have passed, so the customer has time to switch), then deleted by
//! the `--finish` after that.
//!
//! Invariants:
//! - The secret (AWS secret access key, GCP private key data) lives in a `SecretValue`
//!   from the SDK's answer to the encryption; it reaches no output, log, journal or
//!   error, and no file but `DIR/STEP.age` (age, to the config's recipients; written
//!   atomically, mode 0600). The agency cannot read that file back.
//! - Journal first: the intent names the owner's key ids just before the create call;
//!   the result names the new key's id (never its secret). A file that cannot be
//!   written means the secret is lost: the new key is deleted and the step fails.
//! - A run stopped between the create call and its result left a key whose secret
//!   nobody holds (an orphan): on resume it is found as the owner's key not among the
//!   intent's `before`, deleted, and a replacement created again.
//! - AWS allows two access keys per user: a user already at two (not counting
//!   orphans) is left for a person.
//! - The old key is not touched by the rotate run itself, with or without
//!   `--delete-now`: the customer needs the new key in hand first.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{error_detail, lock, report, Ctx, Executor, Outcome, StepReport};
use crate::crypto::Recipient;
use crate::error::Error;
use crate::journal::{
    ApplyChange, ApplyIntent, ApplyOutcome, ApplyResult, ApplyTarget, Change, Op, Undo,
};
use crate::model::{CredentialKind, Provider};
use crate::plan::{Step, TargetWhat};
use crate::secret::SecretValue;

/// Most access keys AWS allows an IAM user
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>:
/// "Access keys assigned to an IAM user: 2").
pub const AWS_MAX_ACCESS_KEYS: usize = 2;

/// A secret marked rotate that apply cannot rotate itself (no rotation configured, or
/// not on AWS): the customer's task, and how `verify` tells it is done.
pub const CUSTOMER_TASK: &str = "customer task: rotate this secret's value (no rotation is configured for it that apply could start); `verify` reports it rotated once its value is no longer the migrated one";

/// The idempotency token (the new version's id) of a step's `RotateSecret` from the
/// secret's current version `from`: 32 hex digits of SHA-256 over both. The same call
/// repeated (a lost answer, a crash) makes no second version, and a version whose id is
/// the token of another version of the secret shows this step already rotated it.
pub fn rotation_token(step: &str, from: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("handover rotate-secret\n{step}\n{from}").as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// A key just created: its owner, id and secret.
pub struct Created {
    /// The IAM user's name or the service account's email.
    pub owner: String,
    pub id: String,
    /// The AWS secret access key, or the GCP key file (JSON) as Google returns it.
    pub secret: SecretValue,
}

impl std::fmt::Debug for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Created({}, {}, [REDACTED])", self.owner, self.id)
    }
}

/// A key's owner and the ids of the keys it holds now.
#[derive(Debug, Clone)]
pub struct Keys {
    pub owner: String,
    pub ids: Vec<String>,
}

/// Whether this version carries out a rotate step itself.
pub fn rotates(step: &Step) -> bool {
    matches!(
        (step.target.provider, step.target.what),
        (
            Provider::Aws,
            TargetWhat::Credential(CredentialKind::AccessKey)
        ) | (
            Provider::Gcp,
            TargetWhat::Credential(CredentialKind::GcpServiceAccountKey)
        )
    )
}

/// Where replacement keys are written: one age file per step, to the recipients.
pub struct CredentialsOut {
    dir: PathBuf,
    recipients: Vec<Recipient>,
}

impl CredentialsOut {
    /// `dir` (created with mode 0700 when missing) and the customer's recipients.
    pub fn new(dir: &Path, recipients: Vec<Recipient>) -> Result<CredentialsOut, Error> {
        if recipients.is_empty() {
            return Err(Error::input(
                dir,
                "no recipients to encrypt replacement keys to",
                "list the customer's keys in the config's [recipients]",
            ));
        }
        Ok(CredentialsOut {
            dir: dir.to_path_buf(),
            recipients,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of one step: `DIR/STEP.age`, the step id checked to be a plain name.
    pub fn path_of(&self, step_id: &str) -> Result<PathBuf, Error> {
        let plain = !step_id.is_empty()
            && step_id.len() <= 100
            && step_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plain {
            return Err(Error::input(
                &self.dir,
                "a step id is not a plain name (letters, digits, - and _)",
                "plan again: the plan's step ids are made by `handover plan`",
            ));
        }
        Ok(self.dir.join(format!("{step_id}.age")))
    }

    /// Encrypts the new key to the recipients and writes it atomically (0600).
    fn write(&self, step: &Step, old_id: &str, created: &Created) -> Result<PathBuf, Error> {
        let path = self.path_of(&step.id)?;
        create_private_dir(&self.dir)?;
        let plaintext = zeroize::Zeroizing::new(payload(step, old_id, created)?);
        let sealed = crate::crypto::encrypt(&plaintext, &self.recipients, false)?;
        crate::output::write_private(&path, &sealed, true)?;
        Ok(path)
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            Error::output(
                dir,
                format!("cannot create the credentials folder: {e}"),
                "check the folder's parent exists and is writable (--credentials-out DIR)",
            )
        })
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::output(
            dir,
            format!("cannot create the credentials folder: {e}"),
            "check the folder's parent exists and is writable (--credentials-out DIR)",
        )
    })
}

/// What the customer decrypts: the key's identity and its secret, as JSON.
#[derive(Serialize)]
struct Payload<'a> {
    step: &'a str,
    provider: Provider,
    scope: &'a str,
    owner: &'a str,
    replaces: &'a str,
    key_id: &'a str,
    /// AWS: the secret access key; GCP: the key file (JSON) Google returned.
    secret: &'a str,
}

fn payload(step: &Step, old_id: &str, created: &Created) -> Result<Vec<u8>, Error> {
    let secret = std::str::from_utf8(created.secret.expose()).map_err(|_| Error::Api {
        provider: step.target.provider,
        operation: "create key".into(),
        what: format!(
            "the new key {} of {} is not text",
            created.id, created.owner
        ),
        hint: "run apply again: the key is deleted and created again".into(),
    })?;
    let p = Payload {
        step: &step.id,
        provider: step.target.provider,
        scope: &step.target.scope,
        owner: &created.owner,
        replaces: old_id,
        key_id: &created.id,
        secret,
    };
    Ok(serde_json::to_vec_pretty(&p).expect("JSON serializes"))
}

/// The create call's name, for the journal and the report.
fn create_call(p: Provider) -> &'static str {
    match p {
        Provider::Aws => "iam:CreateAccessKey",
        Provider::Gcp => "iam.serviceAccountKeys.create",
    }
}

/// One rotate step: checked live, then (applied) carried out. Its final report.
pub(super) async fn run(ctx: &Ctx<'_>, exec: &dyn Executor, step: &Step) -> StepReport {
    match rotate(ctx, exec, step).await {
        Ok(r) => r,
        Err(e) => report(step, Outcome::Failed, error_detail(&e)),
    }
}

async fn rotate(ctx: &Ctx<'_>, exec: &dyn Executor, step: &Step) -> Result<StepReport, Error> {
    let Some(old_id) = step.target.name.as_deref() else {
        return Ok(report(
            step,
            Outcome::LeftForAPerson,
            "the plan names no key id",
        ));
    };
    let Some(keys) = exec.keys(step).await? else {
        return Ok(report(
            step,
            Outcome::Drift,
            "the key's owner the plan names no longer exists",
        ));
    };
    if !keys.ids.iter().any(|k| k == old_id) {
        return Ok(report(
            step,
            Outcome::Drift,
            format!(
                "{old_id} of {} is gone (deleted or replaced since the plan)",
                keys.owner
            ),
        ));
    }
    let orphans = orphans(ctx, step, &keys);
    let held = keys.ids.len() - orphans.len();
    if step.target.provider == Provider::Aws && held >= AWS_MAX_ACCESS_KEYS {
        return Ok(report(
            step,
            Outcome::LeftForAPerson,
            format!(
                "{} already has {held} access keys, the most AWS allows: a replacement cannot be created; delete or revoke one first",
                keys.owner
            ),
        ));
    }
    let Some(out) = ctx.credentials else {
        return Err(Error::usage(
            "rotate needs where to write the replacement keys",
            "this is a bug in handover: report it",
        ));
    };
    let file = out.path_of(&step.id)?;
    let call = create_call(step.target.provider);
    let what = format!(
        "create a replacement for {old_id} of {}, sealed for the customer's recipients into {}; {old_id} is deactivated by `apply --finish` once grace_days have passed",
        keys.owner,
        file.display()
    );
    let mut r = report(step, Outcome::WouldChange, what);
    r.change = Some(ApplyChange::Rotate);
    r.calls = vec![call.to_string()];
    if !orphans.is_empty() {
        r.detail.push_str(&format!(
            "; first delete {} (made by a stopped run, its secret never received)",
            orphans.join(", ")
        ));
    }
    if !ctx.apply {
        return Ok(r);
    }
    if !orphans.is_empty() {
        delete_orphans(ctx, exec, step, &orphans).await?;
    }
    let before: Vec<String> = keys
        .ids
        .iter()
        .filter(|k| !orphans.contains(k))
        .cloned()
        .collect();
    match make(ctx, exec, step, old_id, &keys.owner, before, out).await {
        Ok(id) => {
            r.outcome = Outcome::Done;
            r.detail = format!(
                "created {id} to replace {old_id} of {}, sealed into {}; {old_id} is deactivated by `apply --finish` once grace_days have passed",
                keys.owner,
                file.display()
            );
        }
        Err(e) => {
            r.outcome = Outcome::Failed;
            r.detail = error_detail(&e);
        }
    }
    Ok(r)
}

/// The owner's keys a stopped rotate of this step made but never journaled: not among
/// the `before` of its intent (only when its last entry is that intent).
fn orphans(ctx: &Ctx<'_>, step: &Step, keys: &Keys) -> Vec<String> {
    let Some(ApplyIntent {
        about,
        undo: Undo::ReplacementKey { before, .. },
    }) = ctx.in_doubt.get(&step.id)
    else {
        return Vec::new();
    };
    if about.change != ApplyChange::Rotate {
        return Vec::new();
    }
    keys.ids
        .iter()
        .filter(|k| !before.contains(k))
        .cloned()
        .collect()
}

/// Deletes the orphans and closes the stopped run's intent as not carried out.
async fn delete_orphans(
    ctx: &Ctx<'_>,
    exec: &dyn Executor,
    step: &Step,
    orphans: &[String],
) -> Result<(), Error> {
    for id in orphans {
        let Some(w) = exec.delete_key(step, id) else {
            continue;
        };
        tracing::info!(step = %step.id, key_id = %id, "deleting a key a stopped rotate made, whose secret was never received");
        exec.write(&w).await?;
    }
    let (Some(intent), Some(journal)) = (ctx.in_doubt.get(&step.id), ctx.journal) else {
        return Ok(());
    };
    let result = ApplyResult {
        about: intent.about.clone(),
        outcome: ApplyOutcome::Failed,
        undo: intent.undo.clone(),
        detail: Some(format!(
            "the run stopped before sealing the new key; {} deleted (its secret was lost) and made again",
            orphans.join(", ")
        )),
    };
    lock(journal).append(&step.id, Change::ApplyResult(Op::ApplyStep, result))?;
    Ok(())
}

/// Journals the intent, creates the key, seals it, journals the result with its id.
async fn make(
    ctx: &Ctx<'_>,
    exec: &dyn Executor,
    step: &Step,
    old_id: &str,
    owner: &str,
    before: Vec<String>,
    out: &CredentialsOut,
) -> Result<String, Error> {
    let journal = ctx
        .journal
        .ok_or_else(|| Error::usage("an applied run needs its journal", "pass --journal FILE"))?;
    let about = ApplyTarget {
        plan: ctx.plan_digest.to_string(),
        target: step.target.id.clone(),
        provider: step.target.provider,
        scope: step.target.scope.clone(),
        change: ApplyChange::Rotate,
        calls: vec![create_call(step.target.provider).to_string()],
    };
    let mut undo = Undo::ReplacementKey {
        owner: owner.to_string(),
        old_id: old_id.to_string(),
        before,
        created: None,
    };
    let intent = ApplyIntent {
        about: about.clone(),
        undo: undo.clone(),
    };
    lock(journal).append(&step.id, Change::ApplyIntent(Op::ApplyStep, intent))?;
    let before_ids = match &undo {
        Undo::ReplacementKey { before, .. } => before.clone(),
        _ => Vec::new(),
    };
    let sealed = match exec.create_key(step).await {
        Ok(created) => match out.write(step, old_id, &created) {
            Ok(_) => {
                // An SDK retry of a create whose first answer was lost made a key
                // nobody holds: only the one sealed stays.
                let mut kept = before_ids.clone();
                kept.push(created.id.clone());
                remove_new_keys(exec, step, &kept).await;
                Ok(created.id.clone())
            }
            Err(e) => {
                // The secret is lost with the write: the key must not stay.
                if let Some(w) = exec.delete_key(step, &created.id) {
                    exec.write(&w).await?;
                }
                Err(e)
            }
        },
        Err(e) => {
            // The call may have made a key whose answer was lost: its secret is lost
            // with it, so it goes now (a later run would not see this intent in doubt).
            remove_new_keys(exec, step, &before_ids).await;
            Err(e)
        }
    };
    if let (Ok(id), Undo::ReplacementKey { created, .. }) = (&sealed, &mut undo) {
        *created = Some(id.clone());
    }
    let result = ApplyResult {
        about,
        outcome: if sealed.is_ok() {
            ApplyOutcome::Done
        } else {
            ApplyOutcome::Failed
        },
        undo,
        detail: sealed.as_ref().err().map(|e| e.to_string()),
    };
    lock(journal).append(&step.id, Change::ApplyResult(Op::ApplyStep, result))?;
    sealed
}

/// Deletes, as far as it can, the owner's keys not in `before` (made by a create call
/// whose answer was lost). A failure here leaves them to the rerun's listing.
async fn remove_new_keys(exec: &dyn Executor, step: &Step, before: &[String]) {
    let Ok(Some(now)) = exec.keys(step).await else {
        return;
    };
    for id in now.ids.iter().filter(|k| !before.contains(k)) {
        if let Some(w) = exec.delete_key(step, id) {
            tracing::info!(step = %step.id, key_id = %id, "deleting a key whose create answer was lost");
            let _ = exec.write(&w).await;
        }
    }
}
