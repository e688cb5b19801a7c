//! `handover apply`: carries out an approved plan's steps in the customer's cloud, one
//! provider executor per cloud (`Executor`: check live, change, undo), with every change
//! journaled before and after it is made.
//!
//! Invariants:
//! - Dry run unless `apply`: the executors read, nothing is written, no journal is opened.
//! - Every step is checked live before it is changed: a target already in its end state
//!   is `already-done`, a target not as the plan saw it (key gone or replaced, role gone)
//!   is `drift` and is skipped, never guessed at.
//! - A change journals its intent (with what undoing it needs: the previous status, the
//!   previous trust policy; never a secret) before the call and its result after, so a
//!   rerun skips what the journal records as done, and an intent without a result is
//!   checked live like any other step.
//! - A change whose intent was journaled but not its result (the run was killed between
//!   them) is read live again on resume: made, its result is journaled then; not made,
//!   it is made (a new intent first). A deletion is journaled done only when the
//!   credential is gone (`finish::settle_in_doubt`).
//! - Deactivated keys are deleted by `--finish` (`finish`), once the config's grace
//!   period has passed since the journaled deactivation.
//! - A step an applied run finds already in its end state live (and not in doubt) is
//!   journaled as `observed` (what was seen, when; no call, nothing to undo): the
//!   manifest then records it done as found, a rerun skips it without journaling it
//!   again, and `--undo` leaves it alone. A dry run journals nothing.
//! - A journal holding entries of another plan (another digest) is refused.
//! - Phases run in the plan's order (the identity that ran the audit is revoked last),
//!   and the steps on the identity apply itself runs as after all of them;
//!   within a phase, steps on different documents run concurrently, steps on one (a
//!   role's trust policy, a user's credentials, a GCP resource's IAM policy) one after
//!   the other, so a read-modify-write of one document never races another.
//! - No lock-out: before the revoke-admin and revoke-self phases, each account or project
//!   they touch must still hold, live, a customer admin the plan keeps, with an active
//!   credential; otherwise that scope's steps of the phase are left for a person.
//! - A key the customer keeps that the plan rotates gets a replacement sealed for the
//!   customer's recipients (`rotate`); an AWS secret with rotation configured is rotated
//!   (`RotateSecret`). Steps this version cannot carry out (a secret's rotate without
//!   configured rotation: a customer task; the root user's MFA device)
//!   are `left-for-a-person`, with the reason; review steps too, except a secret's
//!   re-encryption under the customer's KMS key that the config approves (made in the
//!   establish phase, before any revoke).
//!
//! The approval (the `--approve` digest equals the plan's, whose content hashes to it)
//! and the journal's key are checked by the command before `run` is called.

pub mod aws;
pub mod aws_delete;
pub mod aws_kms;
pub mod aws_more;
pub mod aws_sso;
pub mod aws_time;
pub mod finish;
pub mod gcp;
pub mod gcp_keys;
pub mod rotate;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::error::Error;
use crate::journal::{
    ApplyChange, ApplyIntent, ApplyObserved, ApplyOutcome, ApplyResult, ApplyTarget, Change,
    Journal, Op, Replay, Undo, UndoCredential,
};
use crate::model::{CredentialKind, Provider};
use crate::plan::{Phase, Plan, SecretPart, Step, TargetWhat};
use crate::policy::Action;
use crate::providers::gcp::change::{Grant, IamResource};

/// What a step's outcome is (kebab-case in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Dry run: the target is as the plan saw it, and this change would be made.
    WouldChange,
    /// Dry run without live access: what would be done, unchecked.
    NotChecked,
    Done,
    AlreadyDone,
    Drift,
    Failed,
    LeftForAPerson,
    /// A transfer: nothing in the cloud changes.
    NoChange,
    /// `--finish`: deactivated, to be deleted once the grace period has passed.
    Waiting,
}

impl Outcome {
    pub const ALL: &'static [Outcome] = &[
        Outcome::WouldChange,
        Outcome::NotChecked,
        Outcome::Done,
        Outcome::AlreadyDone,
        Outcome::Drift,
        Outcome::Failed,
        Outcome::LeftForAPerson,
        Outcome::NoChange,
        Outcome::Waiting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::WouldChange => "would-change",
            Outcome::NotChecked => "not-checked",
            Outcome::Done => "done",
            Outcome::AlreadyDone => "already-done",
            Outcome::Drift => "drift",
            Outcome::Failed => "failed",
            Outcome::LeftForAPerson => "left-for-a-person",
            Outcome::NoChange => "no-change",
            Outcome::Waiting => "waiting",
        }
    }

    /// Whether a run with this outcome left something undone (exit 8).
    pub fn incomplete(self) -> bool {
        matches!(
            self,
            Outcome::Drift | Outcome::Failed | Outcome::LeftForAPerson
        )
    }
}

/// One write an executor makes: typed, so that a change, its undo and the journal
/// agree on what was done.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// An IAM Identity Center account assignment deleted (`create: false`) or created
    /// again (undo), and the request followed to its end (`aws_sso`).
    AwsSsoAssignment {
        assignment: crate::model::SsoAssignment,
        create: bool,
    },
    /// An AWS credential's status set (`Inactive`, or back to `Active` by undo).
    AwsStatus {
        credential: UndoCredential,
        user: String,
        id: String,
        status: String,
    },
    /// An AWS credential deleted (`--delete-now`).
    AwsDelete {
        credential: UndoCredential,
        user: String,
        id: String,
    },
    /// An AWS console password deleted.
    AwsDeleteLoginProfile { user: String },
    /// A role's trust policy replaced by `document`.
    AwsTrust { role: String, document: String },
    /// An inline policy `name` put on `user` (retain-until: a Deny of everything from
    /// the date on).
    AwsPutUserPolicy {
        user: String,
        name: String,
        document: String,
    },
    /// The inline policy `name` deleted from `user` (undo of `AwsPutUserPolicy`).
    AwsDeleteUserPolicy { user: String, name: String },
    /// A secret's resource policy replaced by `document` (`None`: deleted), once it
    /// is checked to still be `read` (when given; undo gives none).
    AwsSecretPolicy {
        secret: String,
        region: String,
        read: Option<String>,
        document: Option<String>,
    },
    /// The secret's current value written back as a new version `token` under the KMS
    /// key `key`, in one `UpdateSecret` (the value is read at write time, never held here).
    AwsReEncrypt {
        secret: String,
        region: String,
        key: String,
        token: String,
    },
    /// The secret's KMS key set to `key` (`None`: the default key); undo of a re-encryption.
    AwsSecretKey {
        secret: String,
        region: String,
        key: Option<String>,
    },
    /// One IAM call of deleting a whole user or role (`aws_delete`).
    AwsIdentity(aws_delete::Call),
    /// These grants removed from `resource`'s IAM policy, in one etag-guarded write.
    GcpRemoveGrants {
        resource: IamResource,
        grants: Vec<Grant>,
    },
    /// These grants put back in `resource`'s IAM policy (undo), in one write.
    GcpRestoreGrants {
        resource: IamResource,
        grants: Vec<Grant>,
    },
    /// A service-account key disabled (`enable: false`) or enabled again (undo).
    GcpKey {
        account: String,
        key_id: String,
        enable: bool,
    },
    /// A service-account key deleted (`--delete-now`).
    GcpDeleteKey { account: String, key_id: String },
    /// A service account (by email) disabled (`enable: false`) or enabled again (undo).
    GcpAccount { account: String, enable: bool },
    /// An API key deleted, or undeleted (undo).
    GcpApiKey { name: String, undelete: bool },
    /// An HMAC key of `project` set INACTIVE (`active: false`) or ACTIVE again (undo).
    GcpHmacKey {
        project: String,
        access_id: String,
        active: bool,
    },
    /// An HMAC key of `project` deleted (`--delete-now`, or `--finish` once it has been
    /// INACTIVE for `grace_days`; Google deletes only an INACTIVE key).
    GcpDeleteHmacKey { project: String, access_id: String },
    /// A workload identity pool provider deleted, or undeleted (undo).
    GcpProvider { name: String, undelete: bool },
    /// An API key's restrictions set to `restrictions` (API Keys v2 `Restrictions`
    /// JSON; `null` clears them), by `keys.patch` with update mask `restrictions`.
    GcpApiKeyRestrictions {
        name: String,
        restrictions: serde_json::Value,
    },
    /// An AWS secret's configured rotation started, with an idempotency token so that
    /// a call repeated after a lost answer makes no second version.
    AwsRotateSecret {
        region: String,
        secret: String,
        token: String,
    },
    /// `grant` replaced by the same member and role under a condition ending at `until`
    /// (titled for `handover`), in one write; nothing added if `grant` is gone.
    GcpBoundGrant {
        resource: IamResource,
        grant: Grant,
        until: chrono::DateTime<chrono::Utc>,
        handover: String,
    },
    /// `remove` removed and `add` added in one write (undo of a bounded grant).
    GcpReplaceGrants {
        resource: IamResource,
        remove: Vec<Grant>,
        add: Vec<Grant>,
    },
}

/// A change the live check found to be needed: what, by which calls, and how to undo it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub change: ApplyChange,
    pub writes: Vec<Write>,
    pub calls: Vec<String>,
    pub undo: Undo,
    /// What it does, in a sentence (names only).
    pub what: String,
}

/// What a step's live check found.
#[derive(Debug, Clone)]
pub enum Live {
    AsPlanned(Prepared),
    AlreadyDone(String),
    Drift(String),
    LeftForAPerson(String),
}

/// How far apply goes with a key-like credential.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Delete a credential now instead of only deactivating it.
    pub delete_now: bool,
}

/// One cloud's executor: reads a step's target live, makes writes, and says how to undo.
#[async_trait::async_trait]
pub trait Executor: Send + Sync {
    /// The account or project it reaches.
    fn scope(&self) -> &str;
    fn provider(&self) -> Provider;
    /// Reads the step's target live and decides what (if anything) to change.
    async fn check(&self, step: &Step, opts: Options) -> Result<Live, Error>;
    /// Makes one write.
    async fn write(&self, w: &Write) -> Result<(), Error>;
    /// The live check of a step whose rule says `delete: principal`, under
    /// `--delete-now`: the whole user or role, `planned` being the plan's revoke steps of
    /// it (what it holds beyond them is drift). Only the AWS executor deletes principals.
    async fn check_delete(&self, step: &Step, planned: &[&Step]) -> Result<Live, Error> {
        let _ = planned;
        Ok(Live::LeftForAPerson(format!(
            "deleting a {} principal is not carried out by apply; do it by hand",
            step.target.provider
        )))
    }
    /// The live check of a step whose rule says `disable: principal`, given the step's
    /// own check (`live`): that, with the principal disabled too. Only the GCP executor
    /// disables principals (service accounts).
    async fn check_disable(&self, step: &Step, live: Live) -> Result<Live, Error> {
        let _ = live;
        Ok(Live::LeftForAPerson(format!(
            "disabling a {} principal is not carried out by apply; do it by hand",
            step.target.provider
        )))
    }
    /// The writes that undo a journaled change, in order; `None` when it cannot be
    /// undone.
    fn undo(&self, undo: &Undo) -> Option<Vec<Write>>;
    /// The principal apply runs as, in the form the plan names principals (an IAM user's
    /// ARN), when it is one; its steps are made last.
    fn caller(&self) -> Option<&str>;
    /// The first of these customer admins (by name, as the plan's summary lists them)
    /// that exists live with an active credential, or `None`.
    async fn admin_alive(&self, names: &[String]) -> Result<Option<String>, Error>;
    /// Whether the steps on one document may all be checked before any is made, their
    /// writes merged by `merge`: true only where every write reads the document afresh
    /// (a GCP policy's etag-guarded read-modify-write); false where a write carries a
    /// document computed at check time (an AWS trust policy).
    fn merges(&self) -> bool {
        false
    }
    /// Several steps' writes on one document as fewer writes that make all of them;
    /// `None` when they cannot be merged (each is then made on its own).
    fn merge(&self, writes: &[&[Write]]) -> Option<Vec<Write>> {
        let _ = writes;
        None
    }
    /// The steps on `step`'s document are over for this phase: what the executor kept
    /// from their checks (a GCP policy read once per resource) is dropped, so the next
    /// check reads it live.
    fn forget(&self, step: &Step) {
        let _ = step;
    }
    /// Rotate: the owner of the step's key and the ids of the keys it holds now (an IAM
    /// user's access keys, a service account's user-managed keys); `None` when the owner
    /// is gone.
    async fn keys(&self, step: &Step) -> Result<Option<rotate::Keys>, Error> {
        let _ = step;
        Ok(None)
    }
    /// Rotate: creates a new key for the owner of the step's key; its secret is wrapped
    /// the moment it arrives.
    async fn create_key(&self, step: &Step) -> Result<rotate::Created, Error> {
        let _ = step;
        Err(Error::usage(
            "this cloud's executor creates no keys",
            "this is a bug in handover: report it",
        ))
    }
    /// Rotate: the write deleting key `id` of the owner of the step's key.
    fn delete_key(&self, step: &Step, id: &str) -> Option<Write> {
        let _ = (step, id);
        None
    }
}

/// What to carry out.
pub struct Request {
    pub plan: Plan,
    /// Where rotate writes replacement keys (age-encrypted); `None`: rotate steps are
    /// left for a person.
    pub credentials: Option<rotate::CredentialsOut>,
    /// Only these step ids (empty: all).
    pub only: BTreeSet<String>,
    pub phase: Option<Phase>,
    pub apply: bool,
    pub options: Options,
    pub concurrency: usize,
}

/// One step's report line.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: String,
    pub phase: Phase,
    pub action: Action,
    pub provider: Provider,
    pub scope: String,
    pub target: String,
    pub rule: String,
    pub reason: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<ApplyChange>,
    pub calls: Vec<String>,
    /// What it would do or did, or why not.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plan: String,
    pub applied: bool,
    pub steps: Vec<StepReport>,
    /// How many steps ended each way.
    pub summary: BTreeMap<Outcome, usize>,
    /// Why the live checks could not run (a dry run without credentials).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    /// Whether something failed, drifted or was left undone.
    pub fn incomplete(&self) -> bool {
        self.steps.iter().any(|s| s.outcome.incomplete())
    }
}

/// The executors reachable, by account or project; and why others are not.
pub struct Executors {
    pub by_scope: BTreeMap<(Provider, String), Arc<dyn Executor>>,
    pub notes: Vec<String>,
}

/// The steps the request selects, in plan order; an unknown `--only` id is refused.
pub fn select(req: &Request) -> Result<Vec<&Step>, Error> {
    let known: BTreeSet<&str> = req.plan.steps.iter().map(|s| s.id.as_str()).collect();
    let unknown: Vec<&str> = req
        .only
        .iter()
        .map(String::as_str)
        .filter(|id| !known.contains(id))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::usage(
            format!(
                "--only names steps the plan does not have: {}",
                unknown.join(", ")
            ),
            "copy the step ids from the plan (`handover apply --plan plan.json` lists them)",
        ));
    }
    let mut steps: Vec<&Step> = req
        .plan
        .steps
        .iter()
        .filter(|s| req.only.is_empty() || req.only.contains(&s.id))
        .filter(|s| req.phase.is_none_or(|p| s.phase == p))
        .collect();
    steps.sort_by_key(|s| (s.phase, s.order));
    Ok(steps)
}

/// Refuses a journal that records another plan's changes.
pub fn check_journal_plan(
    replay: &Replay,
    plan: &Plan,
    path: &std::path::Path,
) -> Result<(), Error> {
    for e in &replay.entries {
        let about = match &e.change {
            Change::ApplyIntent(_, i) => &i.about,
            Change::ApplyResult(_, r) => &r.about,
            Change::ApplyObserved(o) => &o.about,
            _ => continue,
        };
        if about.plan != plan.digest {
            return Err(Error::input(
                path,
                format!(
                    "entry {} carries out plan {}, not this plan ({})",
                    e.seq, about.plan, plan.digest
                ),
                "use a journal of its own for each plan (--journal FILE)",
            ));
        }
    }
    Ok(())
}

/// Where each step of a journal stands, for `manifest` and for a resume: the last
/// `apply-step` entry per step, its change, and how it ended (`None`: an intent with no
/// result, a change that may or may not have been made). A change put back since by
/// `--undo` is left out: it no longer holds.
pub fn journaled_steps(replay: &Replay) -> BTreeMap<String, (ApplyChange, Option<ApplyOutcome>)> {
    let undone_at = undone_at(replay);
    replay
        .latest(Op::ApplyStep)
        .into_iter()
        .filter(|e| undone_at.get(e.key.as_str()).is_none_or(|&u| u < e.seq))
        .filter_map(|e| match &e.change {
            Change::ApplyIntent(_, i) => Some((e.key.clone(), (i.about.change, None))),
            Change::ApplyResult(_, r) => Some((e.key.clone(), (r.about.change, Some(r.outcome)))),
            _ => None,
        })
        .collect()
}

/// A step an applied run found already in its end state live, as its journal records
/// it: the change whose end state was found, when, and what was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The target's inventory id.
    pub target: String,
    pub change: ApplyChange,
    pub at: chrono::DateTime<chrono::Utc>,
    pub observed: String,
}

/// The steps whose last `apply-step` entry is an observation (found in their end state,
/// no change made): for `manifest`, and for `--finish`, whose grace period for a key
/// found inactive runs from when it was seen. `journaled_steps` leaves these out.
pub fn journaled_observed(replay: &Replay) -> BTreeMap<String, Observed> {
    replay
        .latest(Op::ApplyStep)
        .into_iter()
        .filter_map(|e| match &e.change {
            Change::ApplyObserved(o) => Some((
                e.key.clone(),
                Observed {
                    target: o.about.target.clone(),
                    change: o.about.change,
                    at: e.at,
                    observed: o.observed.clone(),
                },
            )),
            _ => None,
        })
        .collect()
}

/// When each step was last undone (the journal's sequence number of its `apply-undo`
/// result done).
fn undone_at(replay: &Replay) -> BTreeMap<&str, u64> {
    replay
        .latest(Op::ApplyUndo)
        .into_iter()
        .filter(
            |e| matches!(&e.change, Change::ApplyResult(_, r) if r.outcome == ApplyOutcome::Done),
        )
        .map(|e| (e.key.as_str(), e.seq))
        .collect()
}

/// The intents a journal holds with no result after them, by step.
fn in_doubt(replay: &Replay) -> BTreeMap<String, ApplyIntent> {
    replay
        .in_doubt(Op::ApplyStep)
        .into_iter()
        .filter_map(|e| match &e.change {
            Change::ApplyIntent(_, i) => Some((e.key.clone(), i.clone())),
            _ => None,
        })
        .collect()
}

/// The (provider, account or project) pairs a journal's apply entries reach, so that
/// `--undo` connects to those alone.
pub fn journaled_scopes(replay: &Replay) -> BTreeSet<(Provider, String)> {
    replay
        .entries
        .iter()
        .filter_map(|e| match &e.change {
            Change::ApplyIntent(_, i) => Some((i.about.provider, i.about.scope.clone())),
            Change::ApplyResult(_, r) => Some((r.about.provider, r.about.scope.clone())),
            _ => None,
        })
        .collect()
}

/// The steps a journal records as done (and not undone since), or as found already in
/// their end state: a rerun skips both without a call or a new entry.
fn journaled_done(replay: &Replay) -> BTreeSet<String> {
    done_and_not_undone(replay)
        .into_iter()
        .map(|e| e.key.clone())
        .chain(journaled_observed(replay).into_keys())
        .collect()
}

/// A step found already in its end state by an applied run, with no intent of it in
/// doubt (that is settled as made instead): journaled as an observation, so the
/// manifest and a rerun know it is done, and `--undo` that apply changed nothing.
fn observe(ctx: &Ctx<'_>, step: &Step, seen: &str) -> Result<(), Error> {
    let (Some(journal), true) = (ctx.journal, ctx.apply) else {
        return Ok(());
    };
    if ctx.in_doubt.contains_key(&step.id) {
        return Ok(());
    }
    let observed = ApplyObserved {
        about: ApplyTarget {
            plan: ctx.plan_digest.to_string(),
            target: step.target.id.clone(),
            provider: step.target.provider,
            scope: step.target.scope.clone(),
            change: if ctx.disablers.contains(&step.id) {
                ApplyChange::DisableAccount
            } else {
                end_state(step)
            },
            calls: Vec::new(),
        },
        observed: seen.to_string(),
    };
    lock(journal).append(&step.id, Change::ApplyObserved(observed))?;
    Ok(())
}

/// The change whose end state a step's live check found already in place: a key-like
/// AWS credential deactivated, a GCP key disabled, a trust rewritten, a grant removed or
/// bounded; any other revoke's end state is its target gone (`delete`).
fn end_state(step: &Step) -> ApplyChange {
    let t = &step.target;
    match (step.action, t.what) {
        (Action::RetainUntil, TargetWhat::Credential(CredentialKind::GcpIamBinding)) => {
            ApplyChange::BoundGrant
        }
        (Action::RetainUntil, TargetWhat::Credential(CredentialKind::RoleTrust)) => {
            ApplyChange::BoundTrust
        }
        (Action::RetainUntil, _) => ApplyChange::DenyAfter,
        (Action::Review, _) if t.reencrypt.is_some() => ApplyChange::ReEncrypt,
        (Action::Rotate, TargetWhat::Secret(SecretPart::Secret)) => ApplyChange::RotateSecret,
        (Action::Rotate, _) => ApplyChange::Rotate,
        (_, TargetWhat::Secret(SecretPart::SecretPolicyGrant)) => ApplyChange::RewriteSecretPolicy,
        (_, TargetWhat::Credential(CredentialKind::GcpIamBinding)) => ApplyChange::RemoveGrant,
        (_, TargetWhat::Credential(CredentialKind::GcpServiceAccountKey)) => ApplyChange::Disable,
        (_, TargetWhat::Credential(CredentialKind::RoleTrust)) => ApplyChange::RewriteTrust,
        (_, TargetWhat::Credential(CredentialKind::SsoAccountAssignment)) => {
            ApplyChange::DeleteAssignment
        }
        (
            _,
            TargetWhat::Credential(
                CredentialKind::AccessKey
                | CredentialKind::SshPublicKey
                | CredentialKind::ServiceSpecificCredential
                | CredentialKind::SigningCertificate,
            ),
        ) => ApplyChange::Deactivate,
        _ => ApplyChange::Delete,
    }
}

/// The last `apply-step` entry of each step journaled as done and not undone since (an
/// `apply-undo` done after it means the change was put back, so a rerun makes it again
/// and a second undo leaves it alone).
fn done_and_not_undone(replay: &Replay) -> Vec<&crate::journal::Entry> {
    let undone_at = undone_at(replay);
    replay
        .latest(Op::ApplyStep)
        .into_iter()
        .filter(
            |e| matches!(&e.change, Change::ApplyResult(_, r) if r.outcome == ApplyOutcome::Done),
        )
        .filter(|e| undone_at.get(e.key.as_str()).is_none_or(|&u| u < e.seq))
        .collect()
}

/// What a step needs from the run: executors, the journal, the options.
struct Ctx<'a> {
    exec: &'a Executors,
    journal: Option<&'a Mutex<Journal>>,
    done: BTreeSet<String>,
    /// Steps whose last entry is an intent with no result (a run stopped mid-change).
    in_doubt: BTreeMap<String, ApplyIntent>,
    plan_digest: &'a str,
    apply: bool,
    options: Options,
    /// Where rotate writes replacement keys.
    credentials: Option<&'a rotate::CredentialsOut>,
    /// The step that deletes each principal the plan deletes (the last selected one of
    /// its steps saying `delete: principal`), with the plan's revoke steps of it.
    deleters: BTreeMap<String, Vec<&'a Step>>,
    /// The step that disables each principal the plan disables (the last selected one
    /// of its steps saying `disable: principal`).
    disablers: BTreeSet<String>,
}

/// Runs the request (or its dry run) over the selected steps: every phase in order, then
/// the steps on the identity apply runs as, so it never cuts off its own access midway.
pub async fn run(
    req: &Request,
    exec: &Executors,
    journal: Option<(&Mutex<Journal>, &Replay)>,
    progress: Arc<dyn crate::audit::Progress>,
) -> Result<Report, Error> {
    let steps = select(req)?;
    let deleters = deleters(&req.plan, &steps);
    let disablers = disablers(&steps);
    let mut done = journal.map(|(_, r)| journaled_done(r)).unwrap_or_default();
    if let (true, Some((_, r))) = (req.options.delete_now, journal) {
        // A deleting step journaled done as a revocation (a run without --delete-now)
        // still has its principal to delete. (`--finish` should route here too.)
        let changes = journaled_steps(r);
        done.retain(|id| {
            !deleters.contains_key(id)
                || changes
                    .get(id)
                    .is_some_and(|(c, _)| *c == ApplyChange::DeletePrincipal)
        });
    }
    let ctx = Ctx {
        exec,
        journal: journal.map(|(j, _)| j),
        done,
        in_doubt: journal.map(|(_, r)| in_doubt(r)).unwrap_or_default(),
        plan_digest: &req.plan.digest,
        apply: req.apply,
        options: req.options,
        credentials: req.credentials.as_ref(),
        deleters,
        disablers,
    };
    progress.phase(
        if req.apply { "applying" } else { "checking" },
        steps.len() as u64,
    );
    let (own, others): (Vec<&Step>, Vec<&Step>) = steps.iter().partition(|s| {
        let key = (s.target.provider, s.target.scope.clone());
        let caller = exec
            .by_scope
            .get(&key)
            .and_then(|e| e.caller().map(str::to_string));
        caller.is_some() && s.target.principal == caller
    });
    let mut reports = run_phases(&ctx, &req.plan, &others, req.concurrency, &progress).await;
    reports.extend(run_phases(&ctx, &req.plan, &own, 1, &progress).await);
    progress.phase("done", 0);
    let mut summary = BTreeMap::new();
    for r in &reports {
        *summary.entry(r.outcome).or_insert(0) += 1;
    }
    Ok(Report {
        plan: req.plan.digest.clone(),
        applied: req.apply,
        steps: reports,
        summary,
        notes: exec.notes.clone(),
    })
}

/// For each principal a selected step says to delete (`delete: principal`), the last
/// such step in run order, with every revoke step of that principal in the plan.
fn deleters<'p>(plan: &'p Plan, selected: &[&'p Step]) -> BTreeMap<String, Vec<&'p Step>> {
    last_per_principal(selected, |s| s.delete.is_some())
        .into_iter()
        .map(|((provider, scope, principal), s)| {
            let planned = plan
                .steps
                .iter()
                .filter(|o| o.action == Action::Revoke && o.target.provider == provider)
                .filter(|o| o.target.scope == scope)
                .filter(|o| o.target.principal.as_deref() == Some(principal))
                .collect();
            (s.id.clone(), planned)
        })
        .collect()
}

/// For each principal a selected step says to disable (`disable: principal`), the last
/// such step in run order: it disables the principal with its own revocation, once.
fn disablers(selected: &[&Step]) -> BTreeSet<String> {
    last_per_principal(selected, |s| s.disable.is_some())
        .into_values()
        .map(|s| s.id.clone())
        .collect()
}

/// A principal as the plan names it: provider, scope, principal.
type PrincipalKey<'p> = (Provider, &'p str, &'p str);

/// The last of the selected steps that `marked` picks, per principal, in run order.
fn last_per_principal<'p>(
    selected: &[&'p Step],
    marked: impl Fn(&Step) -> bool,
) -> BTreeMap<PrincipalKey<'p>, &'p Step> {
    let mut last = BTreeMap::new();
    for s in selected.iter().copied().filter(|s| marked(s)) {
        if let Some(p) = s.target.principal.as_deref() {
            last.insert((s.target.provider, s.target.scope.as_str(), p), s);
        }
    }
    last
}

/// The steps phase by phase; within a phase, groups on different documents at once.
async fn run_phases(
    ctx: &Ctx<'_>,
    plan: &Plan,
    steps: &[&Step],
    concurrency: usize,
    progress: &Arc<dyn crate::audit::Progress>,
) -> Vec<StepReport> {
    let mut reports = Vec::new();
    let mut phases: Vec<Phase> = steps.iter().map(|s| s.phase).collect();
    phases.dedup();
    for phase in phases {
        let in_phase: Vec<&Step> = steps.iter().copied().filter(|s| s.phase == phase).collect();
        let blocked = if matches!(phase, Phase::RevokeAdmin | Phase::RevokeSelf) {
            lockout_blocked(ctx, plan, &in_phase).await
        } else {
            BTreeMap::new()
        };
        let done: Vec<Vec<StepReport>> = stream::iter(by_document(in_phase.into_iter()))
            .map(|group| {
                let (blocked, progress) = (&blocked, progress.clone());
                async move {
                    // A group is one document, so of one scope: held back whole or run.
                    let key = |s: &Step| (s.target.provider, s.target.scope.clone());
                    let (held, free): (Vec<&Step>, Vec<&Step>) = group
                        .into_iter()
                        .partition(|s| blocked.contains_key(&key(s)));
                    let mut out = Vec::new();
                    for step in held {
                        let why = blocked[&key(step)].clone();
                        out.push(report(step, Outcome::LeftForAPerson, why));
                        progress.tick();
                    }
                    out.extend(run_group(ctx, free, progress.as_ref()).await);
                    out
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut phase_reports: Vec<StepReport> = done.into_iter().flatten().collect();
        let order: BTreeMap<&str, usize> = steps.iter().map(|s| (s.id.as_str(), s.order)).collect();
        phase_reports.sort_by_key(|r| order.get(r.id.as_str()).copied().unwrap_or(usize::MAX));
        reports.extend(phase_reports);
    }
    reports
}

/// No lock-out: before a phase that removes admin-equivalent access, each account or
/// project it touches must still hold, live, one of the customer admins the plan says
/// remain (`summary.customer_admins_after`) with an active credential. The scopes that
/// do not, with why: their steps are left for a person.
async fn lockout_blocked(
    ctx: &Ctx<'_>,
    plan: &Plan,
    steps: &[&Step],
) -> BTreeMap<(Provider, String), String> {
    let scopes: BTreeSet<(Provider, String)> = steps
        .iter()
        .filter(|s| s.action == Action::Revoke)
        .map(|s| (s.target.provider, s.target.scope.clone()))
        .collect();
    let mut blocked = BTreeMap::new();
    for (provider, scope) in scopes {
        let Some(exec) = ctx.exec.by_scope.get(&(provider, scope.clone())) else {
            continue;
        };
        // The summary names its scopes as `PROVIDER SCOPE`; built here, never split.
        let names = plan
            .summary
            .customer_admins_after
            .get(&format!("{provider} {scope}"))
            .cloned()
            .unwrap_or_default();
        let why = match exec.admin_alive(&names).await {
            Ok(Some(_)) => continue,
            Ok(None) => format!(
                "no lock-out: none of the customer admins the plan keeps in {provider} {scope} ({}) exists live with an active credential; admin access is not removed",
                if names.is_empty() { "none listed".to_string() } else { names.join(", ") }
            ),
            Err(e) => format!("no lock-out: the customer's admins could not be checked: {}", error_detail(&e)),
        };
        blocked.insert((provider, scope), why);
    }
    blocked
}

/// Steps grouped by the document they change, each group in plan order: a GCP binding's
/// resource (its policy is read, edited and written whole), else the principal (a role's
/// trust policy, a user's credentials), else the target itself.
fn by_document<'a>(steps: impl Iterator<Item = &'a Step>) -> Vec<Vec<&'a Step>> {
    let mut groups: BTreeMap<String, Vec<&Step>> = BTreeMap::new();
    for s in steps {
        let t = &s.target;
        let key = match (&t.binding, &t.principal, &t.secret) {
            (Some(b), _, _) => format!("resource {}", b.resource),
            (None, Some(p), _) => format!("principal {p}"),
            (None, None, Some(s)) => format!("secret {}", s.id),
            (None, None, None) => format!("target {}", t.id),
        };
        groups.entry(key).or_default().push(s);
    }
    groups.into_values().collect()
}

fn report(step: &Step, outcome: Outcome, detail: impl Into<String>) -> StepReport {
    StepReport {
        id: step.id.clone(),
        phase: step.phase,
        action: step.action,
        provider: step.target.provider,
        scope: step.target.scope.clone(),
        target: step.target.label.clone(),
        rule: step.rule.clone(),
        reason: step.reason.clone(),
        outcome,
        change: None,
        calls: Vec::new(),
        detail: detail.into(),
    }
}

/// Whether the step sets a GCP API key's restrictions: a transfer or retain-until of
/// one, whose rule says `restrict:`.
pub(crate) fn restricts(step: &Step) -> bool {
    step.restrict.is_some()
        && matches!(step.action, Action::Transfer | Action::RetainUntil)
        && step.target.provider == Provider::Gcp
        && step.target.what == TargetWhat::Credential(CredentialKind::GcpApiKey)
}

/// Why a step is not one this version carries out itself, or `None` when it is.
fn not_carried_out(step: &Step) -> Option<(Outcome, String)> {
    let t = &step.target;
    // A GCP API key kept (transfer or retain-until) whose rule restricts it: the
    // restrictions are set (the GCP executor, `gcp_keys`).
    if restricts(step) {
        return None;
    }
    match step.action {
        Action::Transfer => {
            return Some((
                Outcome::NoChange,
                "transfer: nothing in the cloud changes".into(),
            ))
        }
        // A review the config approved as re-encrypting an AWS secret under the
        // customer's key (`aws_kms`).
        Action::Review if t.provider == Provider::Aws && t.reencrypt.is_some() => return None,
        Action::Review => {
            return Some((
                Outcome::LeftForAPerson,
                "review: a person decides this step".into(),
            ))
        }
        // A GCP grant gets a condition that ends it (the GCP executor); nothing else yet.
        Action::RetainUntil
            if t.provider == Provider::Gcp
                && matches!(
                    t.what,
                    TargetWhat::Credential(CredentialKind::GcpIamBinding)
                ) => {}
        // An AWS trust gets a `DateLessThan`, a user an inline Deny after the date
        // (`aws_time`).
        Action::RetainUntil
            if t.provider == Provider::Aws && matches!(t.what, TargetWhat::Credential(_)) =>
        {
            return None
        }
        // A key the customer keeps gets a replacement (`rotate`); an AWS secret with
        // rotation configured is rotated (`RotateSecret`, decided live).
        Action::Rotate if rotate::rotates(step) => return None,
        Action::Rotate
            if t.provider == Provider::Aws
                && t.what == TargetWhat::Secret(crate::plan::SecretPart::Secret) =>
        {
            return None
        }
        Action::Rotate if t.what == TargetWhat::Secret(crate::plan::SecretPart::Secret) => {
            return Some((Outcome::LeftForAPerson, rotate::CUSTOMER_TASK.into()))
        }
        Action::Rotate | Action::RetainUntil => {
            return Some((
                Outcome::LeftForAPerson,
                format!(
                    "{}: apply does not carry it out yet; do it by hand",
                    step.action.as_str()
                ),
            ))
        }
        Action::Revoke => {}
    }
    if t.provider == Provider::Gcp {
        return match t.what {
            TargetWhat::Credential(
                CredentialKind::GcpIamBinding
                | CredentialKind::GcpServiceAccountKey
                | CredentialKind::GcpApiKey
                | CredentialKind::GcpHmacKey
                | CredentialKind::GcpWorkloadIdentityProvider,
            ) => None,
            other => Some((
                Outcome::LeftForAPerson,
                format!("revoking a {other} is not carried out by apply yet; do it by hand"),
            )),
        };
    }
    match t.what {
        TargetWhat::Credential(
            CredentialKind::AccessKey
            | CredentialKind::ConsolePassword
            | CredentialKind::SshPublicKey
            | CredentialKind::ServiceSpecificCredential
            | CredentialKind::SigningCertificate
            | CredentialKind::RoleTrust
            | CredentialKind::SsoAccountAssignment,
        )
        | TargetWhat::Secret(SecretPart::SecretPolicyGrant) => None,
        // The plan names no IAM user's MFA device (it protects a credential the plan
        // decides about), only the root user's: IAM lets only root itself (or an
        // AssumeRoot session) deactivate that one.
        TargetWhat::Credential(CredentialKind::MfaDevice) => Some((
            Outcome::LeftForAPerson,
            "the root user's MFA device can be deactivated only by the root user itself (or an AssumeRoot session): sign in as root and remove it under Security credentials".into(),
        )),
        other => Some((
            Outcome::LeftForAPerson,
            format!("revoking a {other} is not carried out by apply yet; do it by hand"),
        )),
    }
}

/// A step checked live and found to need a change (its report says `would-change`).
struct Ready<'s, 'e> {
    step: &'s Step,
    exec: &'e Arc<dyn Executor>,
    prepared: Prepared,
    report: StepReport,
}

/// One step: journaled as done, not ours to carry out, checked live, then (applied) made.
async fn run_step(ctx: &Ctx<'_>, step: &Step) -> StepReport {
    match check_step(ctx, step).await {
        Err(r) => r,
        Ok(ready) if !ctx.apply => ready.report,
        Ok(ready) => make(ctx, ready).await,
    }
}

/// A step's live check: `Err` with its final report when nothing is to be made.
async fn check_step<'s, 'e>(ctx: &Ctx<'e>, step: &'s Step) -> Result<Ready<'s, 'e>, StepReport> {
    if ctx.done.contains(&step.id) {
        return Err(report(
            step,
            Outcome::AlreadyDone,
            "the journal records it done",
        ));
    }
    if let Some((outcome, why)) = not_carried_out(step) {
        return Err(report(step, outcome, why));
    }
    let key = (step.target.provider, step.target.scope.clone());
    let Some(exec) = ctx.exec.by_scope.get(&key) else {
        let why = format!(
            "no credentials reach {} {}: pass --profile for it",
            step.target.provider, step.target.scope
        );
        let outcome = if ctx.apply {
            Outcome::LeftForAPerson
        } else {
            Outcome::NotChecked
        };
        return Err(report(step, outcome, why));
    };
    if step.action == Action::Rotate && rotate::rotates(step) {
        if ctx.credentials.is_none() {
            let why = "rotate: a replacement key is sealed for the customer's recipients: pass --config with [recipients]";
            let outcome = if ctx.apply {
                Outcome::LeftForAPerson
            } else {
                Outcome::NotChecked
            };
            return Err(report(step, outcome, why));
        }
        return Err(rotate::run(ctx, exec.as_ref(), step).await);
    }
    let checked = match ctx.deleters.get(&step.id) {
        Some(planned) if ctx.options.delete_now => exec.check_delete(step, planned).await,
        Some(_) => exec.check(step, ctx.options).await.map(deletion_waits),
        None => exec.check(step, ctx.options).await,
    };
    let checked = match checked {
        Ok(live) if ctx.disablers.contains(&step.id) => exec.check_disable(step, live).await,
        other => other,
    };
    // A change a stopped run may have made is settled against what is live first.
    let live = match checked {
        Ok(l) => finish::settle_in_doubt(ctx, exec.as_ref(), step, l).await,
        Err(e) => Err(e),
    };
    let live = match live {
        Ok(l) => l,
        Err(e) => return Err(report(step, Outcome::Failed, error_detail(&e))),
    };
    let prepared = match live {
        Live::AlreadyDone(why) => {
            // Settled above when a stopped run's intent was in doubt; otherwise what was
            // found is journaled as observed.
            let mut r = report(step, Outcome::AlreadyDone, why);
            if let Err(e) = observe(ctx, step, &r.detail) {
                r.outcome = Outcome::Failed;
                r.detail = error_detail(&e);
            }
            return Err(r);
        }
        Live::Drift(why) => return Err(report(step, Outcome::Drift, why)),
        Live::LeftForAPerson(why) => return Err(report(step, Outcome::LeftForAPerson, why)),
        Live::AsPlanned(p) => p,
    };
    let mut r = report(step, Outcome::WouldChange, prepared.what.clone());
    r.change = Some(prepared.change);
    r.calls = prepared.calls.clone();
    Ok(Ready {
        step,
        exec,
        prepared,
        report: r,
    })
}

/// A deleting step's revocation without `--delete-now`: says the deletion waits for it.
fn deletion_waits(live: Live) -> Live {
    const WAITS: &str =
        "; the plan says to delete the principal too: `apply --delete-now` deletes it";
    match live {
        Live::AsPlanned(mut p) => {
            p.what += WAITS;
            Live::AsPlanned(p)
        }
        Live::AlreadyDone(why) => Live::AlreadyDone(why + WAITS),
        other => other,
    }
}

fn about(ctx: &Ctx<'_>, step: &Step, prepared: &Prepared) -> ApplyTarget {
    ApplyTarget {
        plan: ctx.plan_digest.to_string(),
        target: step.target.id.clone(),
        provider: step.target.provider,
        scope: step.target.scope.clone(),
        change: prepared.change,
        calls: prepared.calls.clone(),
    }
}

/// Makes one checked step's change, journaled.
async fn make(ctx: &Ctx<'_>, ready: Ready<'_, '_>) -> StepReport {
    let Ready {
        step,
        exec,
        prepared,
        report: mut r,
    } = ready;
    let about = about(ctx, step, &prepared);
    match change(
        ctx,
        exec.as_ref(),
        Op::ApplyStep,
        &step.id,
        about,
        &prepared.writes,
        prepared.undo,
    )
    .await
    {
        Ok(()) => r.outcome = Outcome::Done,
        Err(e) => {
            r.outcome = Outcome::Failed;
            r.detail = error_detail(&e);
        }
    }
    r
}

/// The steps of one document, in plan order. Where the executor merges (every write
/// reads the document afresh, as a GCP policy's etag-guarded read-modify-write does),
/// all are checked first and their changes made in as few writes as it can (one
/// `setIamPolicy` for every removal from one policy); otherwise each is checked right
/// after the previous one was made, so a document computed at check time (an AWS trust
/// policy) always starts from the last write.
async fn run_group(
    ctx: &Ctx<'_>,
    group: Vec<&Step>,
    progress: &dyn crate::audit::Progress,
) -> Vec<StepReport> {
    let exec_of = |s: &Step| {
        ctx.exec
            .by_scope
            .get(&(s.target.provider, s.target.scope.clone()))
    };
    let merges = group.iter().all(|s| exec_of(s).is_some_and(|e| e.merges()));
    let members = group.clone();
    let out = run_group_steps(ctx, group, merges, progress).await;
    for s in members {
        if let Some(e) = exec_of(s) {
            e.forget(s);
        }
    }
    out
}

/// `run_group`'s steps: checked and made one by one, or (merging) all checked first.
async fn run_group_steps(
    ctx: &Ctx<'_>,
    group: Vec<&Step>,
    merges: bool,
    progress: &dyn crate::audit::Progress,
) -> Vec<StepReport> {
    let mut out = Vec::new();
    if !merges || !ctx.apply {
        for step in group {
            out.push(run_step(ctx, step).await);
            progress.tick();
        }
        return out;
    }
    let mut ready = Vec::new();
    for step in group {
        match check_step(ctx, step).await {
            Ok(r) => ready.push(r),
            Err(r) => {
                out.push(r);
                progress.tick();
            }
        }
    }
    let n = ready.len();
    out.extend(make_together(ctx, ready).await);
    (0..n).for_each(|_| progress.tick());
    out
}

/// Makes the changes of checked steps on one document: merged by their executor when
/// it can (every intent journaled, the merged writes made, every result journaled),
/// else one after the other.
async fn make_together(ctx: &Ctx<'_>, ready: Vec<Ready<'_, '_>>) -> Vec<StepReport> {
    let exec = ready.first().map(|r| r.exec.clone());
    let merged = exec.as_ref().and_then(|exec| {
        let one_exec = ready.iter().all(|r| Arc::ptr_eq(r.exec, exec));
        let writes: Vec<&[Write]> = ready.iter().map(|r| r.prepared.writes.as_slice()).collect();
        (ready.len() > 1 && one_exec)
            .then(|| exec.merge(&writes))
            .flatten()
    });
    let (Some(exec), Some(merged)) = (exec, merged) else {
        let mut out = Vec::new();
        for r in ready {
            out.push(make(ctx, r).await);
        }
        return out;
    };
    let items: Vec<(String, ApplyTarget, Undo)> = ready
        .iter()
        .map(|r| {
            let about = about(ctx, r.step, &r.prepared);
            (r.step.id.clone(), about, r.prepared.undo.clone())
        })
        .collect();
    let made = change_together(ctx, exec.as_ref(), Op::ApplyStep, &items, &merged).await;
    let detail = made.as_ref().err().map(error_detail);
    ready
        .into_iter()
        .map(|r| {
            let mut rep = r.report;
            match &detail {
                None => rep.outcome = Outcome::Done,
                Some(d) => {
                    rep.outcome = Outcome::Failed;
                    rep.detail = d.clone();
                }
            }
            rep
        })
        .collect()
}

/// An error as a report's detail: what failed and what to try.
fn error_detail(e: &Error) -> String {
    format!("{e} (hint: {})", e.hint())
}

/// Journals the intent, makes the writes, journals the result (done or failed).
async fn change(
    ctx: &Ctx<'_>,
    exec: &dyn Executor,
    op: Op,
    key: &str,
    about: ApplyTarget,
    writes: &[Write],
    undo: Undo,
) -> Result<(), Error> {
    change_together(ctx, exec, op, &[(key.to_string(), about, undo)], writes).await
}

/// Journals every item's intent, makes the writes (which carry out all of them), then
/// journals every item's result (done, or failed with the error).
async fn change_together(
    ctx: &Ctx<'_>,
    exec: &dyn Executor,
    op: Op,
    items: &[(String, ApplyTarget, Undo)],
    writes: &[Write],
) -> Result<(), Error> {
    let journal = ctx
        .journal
        .ok_or_else(|| Error::usage("an applied run needs its journal", "pass --journal FILE"))?;
    // One journal write (one flush) for all the intents, one for all the results: a
    // merged GCP removal of 20 grants costs 2 flushes, not 40.
    let intents = items
        .iter()
        .map(|(key, about, undo)| {
            let intent = ApplyIntent {
                about: about.clone(),
                undo: undo.clone(),
            };
            (key.clone(), Change::ApplyIntent(op, intent))
        })
        .collect();
    lock(journal).append_many(intents)?;
    let mut made = Ok(());
    for w in writes {
        made = exec.write(w).await;
        if made.is_err() {
            break;
        }
    }
    let results = items
        .iter()
        .map(|(key, about, undo)| {
            let result = ApplyResult {
                about: about.clone(),
                outcome: if made.is_ok() {
                    ApplyOutcome::Done
                } else {
                    ApplyOutcome::Failed
                },
                undo: undo.clone(),
                detail: made.as_ref().err().map(|e| e.to_string()),
            };
            (key.clone(), Change::ApplyResult(op, result))
        })
        .collect();
    lock(journal).append_many(results)?;
    made
}

fn lock(j: &Mutex<Journal>) -> std::sync::MutexGuard<'_, Journal> {
    j.lock().unwrap_or_else(|e| e.into_inner())
}

/// The changes to put back, newest first by the journal's order (not by step id): two
/// changes of one trust policy are undone in the reverse order they were made, so the
/// document from before the first is the one left.
fn to_undo(replay: &Replay) -> Vec<(&str, &ApplyResult)> {
    let mut entries = done_and_not_undone(replay);
    entries.sort_by_key(|e| std::cmp::Reverse(e.seq));
    entries
        .into_iter()
        .filter_map(|e| match &e.change {
            Change::ApplyResult(_, r) => Some((e.key.as_str(), r)),
            _ => None,
        })
        .collect()
}

/// One change put back by `--undo`.
#[derive(Debug, Clone, Serialize)]
pub struct UndoReport {
    pub step: String,
    pub target: String,
    pub outcome: Outcome,
    pub detail: String,
}

/// Undoes every reversible change the journal records as done and not yet undone, last
/// change first; a step apply found already in its end state is reported with nothing
/// to undo (apply changed nothing there), and left as it is.
pub async fn undo(
    exec: &Executors,
    journal: &Mutex<Journal>,
    replay: &Replay,
) -> Result<Vec<UndoReport>, Error> {
    let done = to_undo(replay);
    let ctx = Ctx {
        exec,
        journal: Some(journal),
        done: BTreeSet::new(),
        in_doubt: BTreeMap::new(),
        plan_digest: "",
        apply: true,
        options: Options::default(),
        credentials: None,
        deleters: BTreeMap::new(),
        disablers: BTreeSet::new(),
    };
    let mut out = Vec::new();
    for (key, r) in done {
        out.push(undo_one(&ctx, key, r).await);
    }
    out.extend(nothing_to_undo(replay));
    Ok(out)
}

/// The undo report of each step apply found already in its end state: left as it is.
fn nothing_to_undo(replay: &Replay) -> Vec<UndoReport> {
    journaled_observed(replay)
        .into_iter()
        .map(|(step, o)| UndoReport {
            target: o.target,
            detail: format!(
                "nothing to undo: apply found it already in its end state at {} ({}) and changed nothing",
                o.at.format("%Y-%m-%dT%H:%M:%SZ"),
                o.observed
            ),
            step,
            outcome: Outcome::NoChange,
        })
        .collect()
}

async fn undo_one(ctx: &Ctx<'_>, key: &str, r: &ApplyResult) -> UndoReport {
    let mut rep = UndoReport {
        step: key.to_string(),
        target: r.about.target.clone(),
        outcome: Outcome::LeftForAPerson,
        detail: String::new(),
    };
    let Some(exec) = ctx
        .exec
        .by_scope
        .get(&(r.about.provider, r.about.scope.clone()))
    else {
        rep.detail = format!(
            "no credentials reach {} {}: pass --profile for it",
            r.about.provider, r.about.scope
        );
        return rep;
    };
    let Some(writes) = exec.undo(&r.undo) else {
        rep.detail = match &r.undo {
            Undo::Irreversible { why } => why.clone(),
            _ => "cannot be undone".into(),
        };
        return rep;
    };
    let about = ApplyTarget {
        change: ApplyChange::Restore,
        ..r.about.clone()
    };
    match change(
        ctx,
        exec.as_ref(),
        Op::ApplyUndo,
        key,
        about,
        &writes,
        r.undo.clone(),
    )
    .await
    {
        Ok(()) => {
            rep.outcome = Outcome::Done;
            rep.detail = match &r.undo {
                Undo::SecretKey { .. } => "restored: the secret's previous KMS key is set back; the version written under the customer's key stays (Secrets Manager cannot remove it without losing the value)".into(),
                _ => "restored".into(),
            };
        }
        Err(e) => {
            rep.outcome = Outcome::Failed;
            rep.detail = error_detail(&e);
        }
    }
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, key: &str, op: Op, outcome: ApplyOutcome) -> crate::journal::Entry {
        let about = ApplyTarget {
            plan: "sha256:x".into(),
            target: key.into(),
            provider: Provider::Aws,
            scope: "123456789012".into(),
            change: ApplyChange::RewriteTrust,
            calls: vec![],
        };
        crate::journal::Entry {
            seq,
            at: chrono::Utc::now(),
            key: key.into(),
            change: Change::ApplyResult(
                op,
                ApplyResult {
                    about,
                    outcome,
                    undo: Undo::Irreversible { why: String::new() },
                    detail: None,
                },
            ),
            prev: String::new(),
            mac: String::new(),
        }
    }

    // Regression: undo went in reverse step-id order, so two edits of one trust policy
    // could be put back oldest first, leaving the document from between them.
    #[test]
    fn undo_goes_newest_first_by_the_journal_not_by_step_id() {
        let replay = Replay {
            entries: vec![
                entry(1, "s-b", Op::ApplyStep, ApplyOutcome::Done),
                entry(3, "s-a", Op::ApplyStep, ApplyOutcome::Done),
                entry(5, "s-c", Op::ApplyStep, ApplyOutcome::Failed),
            ],
            torn_tail: false,
        };
        let keys: Vec<&str> = to_undo(&replay).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["s-a", "s-b"]);
    }

    // Regression: a change undone stayed "done" for the next run, which then skipped it.
    #[test]
    fn a_change_undone_is_no_longer_journaled_done_until_made_again() {
        let mut replay = Replay {
            entries: vec![
                entry(1, "s-a", Op::ApplyStep, ApplyOutcome::Done),
                entry(3, "s-a", Op::ApplyUndo, ApplyOutcome::Done),
            ],
            torn_tail: false,
        };
        assert!(journaled_done(&replay).is_empty());
        assert!(to_undo(&replay).is_empty());
        replay
            .entries
            .push(entry(5, "s-a", Op::ApplyStep, ApplyOutcome::Done));
        assert_eq!(journaled_done(&replay).len(), 1);
        assert_eq!(to_undo(&replay).len(), 1);
    }

    fn step_on(what: TargetWhat, principal: &str) -> Step {
        Step {
            id: "s-1".into(),
            order: 0,
            phase: Phase::Revoke,
            target: crate::plan::TargetRef {
                kind: crate::plan::TargetKind::Credential,
                id: format!("{principal}/mfa"),
                what,
                provider: Provider::Aws,
                scope: "123456789012".into(),
                principal: Some(principal.into()),
                name: None,
                region: None,
                binding: None,
                secret: None,
                reencrypt: None,
                sso: None,
                label: String::new(),
                owner: crate::config::parties::Owner::Customer,
                party: None,
            },
            action: Action::Revoke,
            until: None,
            rule: "r".into(),
            reason: "r".into(),
            severity: crate::model::Severity::High,
            preconditions: vec![],
            evidence: BTreeMap::new(),
            delete: None,
            disable: None,
            restrict: None,
        }
    }

    // Regression: a revoke of the root user's MFA device said only "not carried out
    // yet", though no IAM caller can ever do it: the step now says who can.
    #[test]
    fn a_root_mfa_device_is_left_for_the_root_user_with_why() {
        let step = step_on(
            TargetWhat::Credential(CredentialKind::MfaDevice),
            "arn:aws:iam::123456789012:root",
        );
        let (outcome, why) = not_carried_out(&step).unwrap();
        assert_eq!(outcome, Outcome::LeftForAPerson);
        assert!(why.contains("only by the root user itself"), "{why}");
        let grant = step_on(
            TargetWhat::Secret(SecretPart::SecretPolicyGrant),
            "arn:aws:iam::123456789012:root",
        );
        assert!(not_carried_out(&grant).is_none(), "carried out on AWS");
    }

    fn observed(seq: u64, key: &str) -> crate::journal::Entry {
        let mut e = entry(seq, key, Op::ApplyStep, ApplyOutcome::Done);
        let Change::ApplyResult(_, r) = e.change else {
            unreachable!()
        };
        e.change = Change::ApplyObserved(ApplyObserved {
            about: ApplyTarget {
                change: ApplyChange::Deactivate,
                ..r.about
            },
            observed: "already inactive".into(),
        });
        e
    }

    // Regression: a step found already in its end state was not journaled, so a rerun
    // read it again and nothing recorded it done. Its observation counts as done for a
    // rerun, is never an intent in doubt, never a change to undo or a change made.
    #[test]
    fn an_observation_is_done_for_a_rerun_but_never_in_doubt_nor_undone() {
        let replay = Replay {
            entries: vec![
                entry(1, "s-a", Op::ApplyStep, ApplyOutcome::Failed),
                observed(2, "s-a"),
                entry(3, "s-b", Op::ApplyStep, ApplyOutcome::Done),
            ],
            torn_tail: false,
        };
        assert_eq!(
            journaled_done(&replay),
            BTreeSet::from(["s-a".to_string(), "s-b".to_string()])
        );
        assert!(in_doubt(&replay).is_empty());
        let undo: Vec<&str> = to_undo(&replay).into_iter().map(|(k, _)| k).collect();
        assert_eq!(undo, ["s-b"]);
        assert_eq!(journaled_steps(&replay).keys().collect::<Vec<_>>(), ["s-b"]);
        let found = journaled_observed(&replay);
        assert_eq!(found.len(), 1);
        assert_eq!(found["s-a"].change, ApplyChange::Deactivate);
        let skipped = nothing_to_undo(&replay);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].step, "s-a");
        assert_eq!(skipped[0].outcome, Outcome::NoChange);
        assert!(skipped[0].detail.starts_with("nothing to undo"));
    }

    #[test]
    fn outcome_codes_are_unique_and_serialize_as_written() {
        let mut seen = BTreeSet::new();
        for o in Outcome::ALL {
            assert!(seen.insert(o.as_str()));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }
}
