//! `handover apply --finish`: deletes the key-like credentials earlier `apply` runs
//! deactivated (AWS access keys, SSH public keys, service-specific credentials, signing
//! certificates; GCP service-account keys and Cloud Storage HMAC keys), once the config's `grace_days` have passed;
//! and settling, on resume, a deletion whose run was stopped midway.
//!
//! Invariants:
//! - Only what the journal records as deactivated by apply (its last `apply-step` entry a
//!   `deactivate` or `disable` result done, not undone since, or an `observed` entry
//!   saying an applied run found it already inactive) is deleted, and only once
//!   `grace_days` whole days have passed since that result was journaled (the entry's
//!   time, written by the journal itself); before then the step is `waiting`, saying from
//!   when it may be finished, and nothing is read or written.
//! - The credential is read live first: still inactive, it is deleted (intent journaled
//!   before the call, result after, like every change); active again (re-enabled by hand
//!   since) it is `drift` and is left as it is; gone, there is nothing to delete.
//! - A deletion journaled as intended (`--delete-now`) with no result after it is
//!   journaled done only when the credential is gone live. Found only deactivated (the
//!   run stopped between its two calls), what was made is journaled: the deactivation,
//!   undoable, so a later `--finish` deletes it after the grace period (counted from
//!   then); found untouched, the intent is closed as not made and the step is checked
//!   like any other.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use super::{
    about, change, error_detail, lock, report, select, undone_at, Ctx, Executor, Executors, Live,
    Options, Outcome, Prepared, Report, Request, StepReport, Write,
};
use crate::error::Error;
use crate::journal::{
    ApplyChange, ApplyIntent, ApplyOutcome, ApplyResult, Change, Journal, Op, Replay, Undo,
};
use crate::model::{CredentialKind, Provider};
use crate::plan::{Step, TargetWhat};

/// Where a step stands in the journal, for `--finish`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journaled {
    /// Deactivated (or disabled) by apply, journaled done at this time.
    Deactivated(DateTime<Utc>),
    /// Deleted (`--delete-now` or an earlier `--finish`).
    Deleted,
    /// Rotated (a replacement created) at this time: the old key is deactivated next.
    Rotated(DateTime<Utc>),
    /// Its last entry is an intent with no result: a run stopped mid-change.
    InDoubt,
}

/// The credential kinds apply deactivates and `--finish` deletes.
fn finishable(step: &Step) -> bool {
    deletes(step.target.what)
}

/// Whether `--finish` deletes a credential of this kind once apply deactivated it (what
/// `verify` says of one found inactive).
pub fn deletes(what: TargetWhat) -> bool {
    matches!(
        what,
        TargetWhat::Credential(
            CredentialKind::AccessKey
                | CredentialKind::SshPublicKey
                | CredentialKind::ServiceSpecificCredential
                | CredentialKind::SigningCertificate
                | CredentialKind::GcpServiceAccountKey
                | CredentialKind::GcpHmacKey
        )
    )
}

/// Each step's state in the journal as `--finish` reads it: the last `apply-step` entry
/// of each step, left out when undone since (the key is active again by undo) or when it
/// is neither a deactivation, a deletion nor in doubt.
pub fn journaled(replay: &Replay) -> BTreeMap<String, Journaled> {
    let undone = undone_at(replay);
    replay
        .latest(Op::ApplyStep)
        .into_iter()
        .filter(|e| undone.get(e.key.as_str()).is_none_or(|&u| u < e.seq))
        .filter_map(|e| {
            let state = match &e.change {
                Change::ApplyIntent(..) => Journaled::InDoubt,
                Change::ApplyResult(_, r) if r.outcome != ApplyOutcome::Done => return None,
                Change::ApplyResult(_, r) => match r.about.change {
                    ApplyChange::Deactivate | ApplyChange::Disable => Journaled::Deactivated(e.at),
                    ApplyChange::Delete => Journaled::Deleted,
                    ApplyChange::Rotate => Journaled::Rotated(e.at),
                    _ => return None,
                },
                // Found already inactive by an applied run (`observed`): its grace period
                // counts from then, as if apply had deactivated it.
                Change::ApplyObserved(o)
                    if matches!(
                        o.about.change,
                        ApplyChange::Deactivate | ApplyChange::Disable
                    ) =>
                {
                    Journaled::Deactivated(e.at)
                }
                _ => return None,
            };
            Some((e.key.clone(), state))
        })
        .collect()
}

/// When a credential deactivated at `at` may be deleted: `grace_days` whole days later.
pub fn due(at: DateTime<Utc>, grace_days: u32) -> DateTime<Utc> {
    at + Duration::days(i64::from(grace_days))
}

/// The steps `--finish` looks at: selected by the request, of a kind it deletes, and
/// journaled as deactivated, deleted or in doubt; with their journal state.
pub fn candidates<'r>(
    req: &'r Request,
    replay: &Replay,
) -> Result<Vec<(&'r Step, Journaled)>, Error> {
    let states = journaled(replay);
    Ok(select(req)?
        .into_iter()
        .filter(|s| finishable(s))
        .filter_map(|s| states.get(&s.id).map(|j| (s, *j)))
        .collect())
}

/// The (provider, account or project) pairs the candidates due by `now` reach: the only
/// ones `--finish` connects to.
pub fn due_scopes(
    req: &Request,
    replay: &Replay,
    grace_days: u32,
    now: DateTime<Utc>,
) -> Result<BTreeSet<(Provider, String)>, Error> {
    Ok(candidates(req, replay)?
        .into_iter()
        .filter(|(_, j)| {
            matches!(j, Journaled::Deactivated(at) | Journaled::Rotated(at) if due(*at, grace_days) <= now)
        })
        .map(|(s, _)| (s.target.provider, s.target.scope.clone()))
        .collect())
}

/// `--finish` (a dry run unless `req.apply`): each candidate deleted once its grace
/// period has passed, journaled; the others say why not.
pub async fn finish(
    req: &Request,
    exec: &Executors,
    journal: &Mutex<Journal>,
    replay: &Replay,
    grace_days: u32,
    now: DateTime<Utc>,
) -> Result<Report, Error> {
    let ctx = Ctx {
        exec,
        journal: Some(journal),
        done: BTreeSet::new(),
        in_doubt: BTreeMap::new(),
        plan_digest: &req.plan.digest,
        apply: req.apply,
        options: Options { delete_now: true },
        credentials: None,
        // A `delete: principal` step is carried out by `--delete-now`, not by finish.
        deleters: BTreeMap::new(),
        disablers: Default::default(),
    };
    let mut steps = Vec::new();
    for (step, state) in candidates(req, replay)? {
        steps.push(finish_step(&ctx, step, state, grace_days, now).await);
    }
    let mut summary = BTreeMap::new();
    for r in &steps {
        *summary.entry(r.outcome).or_insert(0) += 1;
    }
    Ok(Report {
        plan: req.plan.digest.clone(),
        applied: req.apply,
        steps,
        summary,
        notes: exec.notes.clone(),
    })
}

async fn finish_step(
    ctx: &Ctx<'_>,
    step: &Step,
    state: Journaled,
    grace_days: u32,
    now: DateTime<Utc>,
) -> StepReport {
    let at = match state {
        Journaled::Deleted => {
            return report(step, Outcome::AlreadyDone, "the journal records it deleted")
        }
        Journaled::InDoubt => {
            return report(
                step,
                Outcome::LeftForAPerson,
                "a run stopped in the middle of changing it: run apply again (without --finish) to settle it first",
            )
        }
        Journaled::Deactivated(at) | Journaled::Rotated(at) => at,
    };
    let rotated = matches!(state, Journaled::Rotated(_));
    let when = due(at, grace_days);
    if now < when {
        let (done, next) = if rotated {
            ("replaced", "the old key is deactivated from")
        } else {
            ("deactivated", "may be finished from")
        };
        let detail = format!(
            "{done} {}; {next} {} (grace_days = {grace_days})",
            at.format("%Y-%m-%d %H:%M UTC"),
            when.format("%Y-%m-%d %H:%M UTC")
        );
        return report(step, Outcome::Waiting, detail);
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
        return report(step, outcome, why);
    };
    if rotated {
        return deactivate_replaced(ctx, exec.as_ref(), step).await;
    }
    let prepared = match exec.check(step, ctx.options).await {
        Err(e) => return report(step, Outcome::Failed, error_detail(&e)),
        Ok(Live::AlreadyDone(why)) | Ok(Live::Drift(why)) => {
            return report(
                step,
                Outcome::AlreadyDone,
                format!("nothing to delete: {why}"),
            )
        }
        Ok(Live::LeftForAPerson(why)) => return report(step, Outcome::LeftForAPerson, why),
        Ok(Live::AsPlanned(p)) if !p.writes.iter().all(is_delete) => {
            return report(
                step,
                Outcome::Drift,
                format!(
                    "active again since apply deactivated it on {} (re-enabled by hand?): not deleted; find out what uses it, then run apply again",
                    at.format("%Y-%m-%d")
                ),
            )
        }
        Ok(Live::AsPlanned(p)) => p,
    };
    let what = prepared.what.clone();
    carry_out(ctx, exec.as_ref(), step, prepared, what).await
}

/// A change found needed: in a dry run `would-change`; applied, made journal-first.
async fn carry_out(
    ctx: &Ctx<'_>,
    exec: &dyn Executor,
    step: &Step,
    prepared: Prepared,
    what: String,
) -> StepReport {
    let mut r = report(step, Outcome::WouldChange, what);
    r.change = Some(prepared.change);
    r.calls = prepared.calls.clone();
    if !ctx.apply {
        return r;
    }
    let target = about(ctx, step, &prepared);
    let made = change(
        ctx,
        exec,
        Op::ApplyStep,
        &step.id,
        target,
        &prepared.writes,
        prepared.undo,
    )
    .await;
    match made {
        Ok(()) => r.outcome = Outcome::Done,
        Err(e) => {
            r.outcome = Outcome::Failed;
            r.detail = error_detail(&e);
        }
    }
    r
}

/// A rotated step's old key, its grace period over: deactivated (journaled, undoable);
/// a later `--finish` deletes it like any deactivated key.
async fn deactivate_replaced(ctx: &Ctx<'_>, exec: &dyn Executor, step: &Step) -> StepReport {
    let prepared = match exec.check(step, Options { delete_now: false }).await {
        Err(e) => return report(step, Outcome::Failed, error_detail(&e)),
        Ok(Live::AlreadyDone(why)) => return report(step, Outcome::AlreadyDone, why),
        Ok(Live::Drift(why)) => return report(step, Outcome::Drift, why),
        Ok(Live::LeftForAPerson(why)) => return report(step, Outcome::LeftForAPerson, why),
        Ok(Live::AsPlanned(p)) => p,
    };
    let what = format!("replaced earlier: {}", prepared.what);
    carry_out(ctx, exec, step, prepared, what).await
}

fn is_delete(w: &Write) -> bool {
    matches!(
        w,
        Write::AwsDelete { .. } | Write::GcpDeleteKey { .. } | Write::GcpDeleteHmacKey { .. }
    )
}

/// A step with an intent and no result after it (a run stopped mid-change), read live
/// again (`live`, under this run's options): journals what the stopped run made, and
/// returns what this run should do. Not a deletion: found in its end state, its result
/// is journaled done. A deletion: done only when the credential is gone (read as
/// `--delete-now` reads it); found only deactivated, the deactivation is journaled
/// (this run without `--delete-now` does not delete); found untouched, the intent is
/// closed as not made.
pub(super) async fn settle_in_doubt(
    ctx: &Ctx<'_>,
    exec: &dyn Executor,
    step: &Step,
    live: Live,
) -> Result<Live, Error> {
    let (Some(intent), Some(journal), true) = (ctx.in_doubt.get(&step.id), ctx.journal, ctx.apply)
    else {
        return Ok(live);
    };
    let result = |outcome, detail: &str| ApplyResult {
        about: intent.about.clone(),
        outcome,
        undo: intent.undo.clone(),
        detail: Some(detail.into()),
    };
    let append =
        |r: ApplyResult| lock(journal).append(&step.id, Change::ApplyResult(Op::ApplyStep, r));
    if intent.about.change != ApplyChange::Delete {
        if let Live::AlreadyDone(_) = live {
            append(result(
                ApplyOutcome::Done,
                "found made when the stopped run was resumed",
            ))?;
        }
        return Ok(live);
    }
    let as_deleting = if ctx.options.delete_now {
        live.clone()
    } else {
        exec.check(step, Options { delete_now: true }).await?
    };
    match as_deleting {
        Live::AlreadyDone(_) | Live::Drift(_) => {
            let why = "found deleted when the stopped run was resumed";
            append(result(ApplyOutcome::Done, why))?;
            Ok(Live::AlreadyDone(why.into()))
        }
        Live::AsPlanned(_) if ctx.options.delete_now => Ok(live),
        Live::AsPlanned(p) => match deactivation_made(intent, &p.writes, &p.calls) {
            Some(made) => {
                let why = made.detail.clone().unwrap_or_default();
                append(made)?;
                Ok(Live::AlreadyDone(why))
            }
            None => {
                append(result(
                    ApplyOutcome::Failed,
                    "not made: the run stopped before it",
                ))?;
                Ok(live)
            }
        },
        Live::LeftForAPerson(_) => Ok(live),
    }
}

/// A `--delete-now` intent (deactivate, then delete) whose credential is found inactive
/// and not deleted: the deactivation was made and the deletion not. Its result, as a
/// deactivation with its undo; `None` when the intent did not deactivate (the credential
/// was inactive before) or it is still active (`writes` then holds a status write).
fn deactivation_made(
    intent: &ApplyIntent,
    writes: &[Write],
    calls: &[String],
) -> Option<ApplyResult> {
    let (change, undo) = match writes {
        [Write::AwsDelete {
            credential,
            user,
            id,
        }] => (
            ApplyChange::Deactivate,
            Undo::Status {
                credential: *credential,
                user: user.clone(),
                id: id.clone(),
                previous: "Active".into(),
            },
        ),
        [Write::GcpDeleteKey { account, key_id }] => (
            ApplyChange::Disable,
            Undo::GcpKey {
                account: account.clone(),
                key_id: key_id.clone(),
            },
        ),
        [Write::GcpDeleteHmacKey { project, access_id }] => (
            ApplyChange::Deactivate,
            Undo::GcpHmacKey {
                project: project.clone(),
                access_id: access_id.clone(),
            },
        ),
        _ => return None,
    };
    // The stopped run's calls less the deletion left to make: its deactivation.
    let made: Vec<String> = intent
        .about
        .calls
        .iter()
        .filter(|c| !calls.contains(c))
        .cloned()
        .collect();
    if made.is_empty() {
        return None;
    }
    let mut about = intent.about.clone();
    about.change = change;
    about.calls = made;
    Some(ApplyResult {
        about,
        outcome: ApplyOutcome::Done,
        undo,
        detail: Some(
            "the run stopped between deactivating and deleting it: it is inactive, not deleted (apply --finish deletes it once grace_days have passed, or --delete-now)".into(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{ApplyTarget, Entry, UndoCredential};

    fn entry(seq: u64, at: DateTime<Utc>, key: &str, op: Op, change: ApplyChange) -> Entry {
        Entry {
            seq,
            at,
            key: key.into(),
            change: Change::ApplyResult(
                op,
                ApplyResult {
                    about: ApplyTarget {
                        plan: "sha256:x".into(),
                        target: key.into(),
                        provider: Provider::Aws,
                        scope: "123456789012".into(),
                        change,
                        calls: vec![],
                    },
                    outcome: ApplyOutcome::Done,
                    undo: Undo::Irreversible { why: String::new() },
                    detail: None,
                },
            ),
            prev: String::new(),
            mac: String::new(),
        }
    }

    // The grace period counts from the journaled deactivation, whole days: a key
    // deactivated 13 days and 23 hours ago waits under 14 days, one 14 days ago is due.
    #[test]
    fn a_deactivation_is_due_once_grace_days_have_passed_since_its_journaled_result() {
        let now: DateTime<Utc> = "2026-12-15T12:00:00Z".parse().unwrap();
        let at = now - Duration::days(14);
        let replay = Replay {
            entries: vec![
                entry(1, at, "s-due", Op::ApplyStep, ApplyChange::Deactivate),
                entry(
                    2,
                    at + Duration::hours(1),
                    "s-wait",
                    Op::ApplyStep,
                    ApplyChange::Disable,
                ),
                entry(3, at, "s-gone", Op::ApplyStep, ApplyChange::Delete),
                entry(4, at, "s-undone", Op::ApplyStep, ApplyChange::Deactivate),
                entry(5, at, "s-undone", Op::ApplyUndo, ApplyChange::Restore),
                entry(6, at, "s-trust", Op::ApplyStep, ApplyChange::RewriteTrust),
            ],
            torn_tail: false,
        };
        let j = journaled(&replay);
        assert_eq!(j.get("s-due"), Some(&Journaled::Deactivated(at)));
        assert_eq!(j.get("s-gone"), Some(&Journaled::Deleted));
        // Undone since: active again by undo, nothing for --finish.
        assert_eq!(j.get("s-undone"), None);
        assert_eq!(j.get("s-trust"), None);
        assert!(due(at, 14) <= now);
        let Some(Journaled::Deactivated(later)) = j.get("s-wait") else {
            panic!("{j:?}")
        };
        assert!(due(*later, 14) > now);
        assert!(due(*later, 13) <= now);
        assert_eq!(due(now, 0), now);
    }

    // Regression (merge of the observed entries with --finish): a key an applied run found
    // already inactive was journaled only as observed, and --finish, reading results
    // only, would never have deleted it.
    #[test]
    fn a_key_found_already_inactive_is_finished_like_one_apply_deactivated() {
        let at: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        let mut seen = entry(1, at, "s-found", Op::ApplyStep, ApplyChange::Deactivate);
        let Change::ApplyResult(_, r) = seen.change else {
            unreachable!()
        };
        seen.change = Change::ApplyObserved(crate::journal::ApplyObserved {
            about: r.about,
            observed: "already inactive".into(),
        });
        let mut granted = entry(2, at, "s-grant", Op::ApplyStep, ApplyChange::RemoveGrant);
        let Change::ApplyResult(_, r) = granted.change else {
            unreachable!()
        };
        granted.change = Change::ApplyObserved(crate::journal::ApplyObserved {
            about: r.about,
            observed: "already gone".into(),
        });
        let replay = Replay {
            entries: vec![seen, granted],
            torn_tail: false,
        };
        let j = journaled(&replay);
        assert_eq!(j.get("s-found"), Some(&Journaled::Deactivated(at)));
        assert_eq!(j.get("s-grant"), None);
    }

    // Regression: a --delete-now run stopped between deactivating and deleting, resumed
    // without --delete-now, journaled a done deletion of a key that is only inactive.
    #[test]
    fn a_delete_stopped_after_deactivating_is_journaled_as_the_deactivation_it_was() {
        let intent = ApplyIntent {
            about: ApplyTarget {
                plan: "sha256:x".into(),
                target: "k".into(),
                provider: Provider::Aws,
                scope: "123456789012".into(),
                change: ApplyChange::Delete,
                calls: vec!["iam:UpdateAccessKey".into(), "iam:DeleteAccessKey".into()],
            },
            undo: Undo::Irreversible { why: "x".into() },
        };
        let left = [Write::AwsDelete {
            credential: UndoCredential::AccessKey,
            user: "u".into(),
            id: "AKIA".into(),
        }];
        let r = deactivation_made(&intent, &left, &["iam:DeleteAccessKey".into()]).unwrap();
        assert_eq!(r.about.change, ApplyChange::Deactivate);
        assert_eq!(r.about.calls, ["iam:UpdateAccessKey"]);
        assert!(matches!(r.undo, Undo::Status { ref previous, .. } if previous == "Active"));
        // The key was inactive before the stopped run: it deactivated nothing.
        let mut before_inactive = intent.clone();
        before_inactive.about.calls = vec!["iam:DeleteAccessKey".into()];
        assert!(
            deactivation_made(&before_inactive, &left, &["iam:DeleteAccessKey".into()]).is_none()
        );
    }
}
