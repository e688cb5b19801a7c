//! `handover apply`: its flags, their validation (every problem at once, before any file
//! is read or request sent), the approval check, the journal and its key (opened as
//! `migrate` opens them, with its code), the executors per account, and printing the
//! report. Carrying out the steps is `apply::run`; undoing them `apply::undo`.
//!
//! Invariants:
//! - Nothing is written unless `--apply` and `--approve sha256:DIGEST` equal to the
//!   plan's digest, and `read_plan` has proved the plan's content hashes to it. A wrong
//!   digest is a usage error (exit 2) before any request is sent.
//! - The journal's digest key is opened (or created, for a new journal) with the agency's
//!   identity, checked against the config's signing key, exactly as `migrate --apply` does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clap::Args;

use super::args::{
    check_concurrency, usage_problems, Format, FormatArgs, GcpEndpointArgs, JournalArgs, RetryArgs,
};
use super::exit;
use super::support::{pretty_json, print_stdout, progress, runtime};
use crate::apply::aws::AwsExecutor;
use crate::apply::gcp::GcpExecutor;
use crate::apply::{self, Executor, Executors, Options, Outcome, Report, Request, UndoReport};
use crate::error::Error;
use crate::journal::{ChainKey, Journal, Replay};
use crate::migrate::key;
use crate::model::Provider;
use crate::output::table::{wrap, Fit, Table};
use crate::output::terminal::{escape, escape_block_keeping_paint, Term, Tone};
use crate::plan::{Phase, Plan};
use crate::policy::Action;
use crate::providers::gcp::live::GcpSettings;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The approved plan (its digest is checked against its content).
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Only this step (repeatable).
    #[arg(long = "only", value_name = "STEP_ID")]
    pub only: Vec<String>,
    /// Only the steps of this phase (establish, rotate, time-bound, review, revoke,
    /// revoke-admin, revoke-self).
    #[arg(long, value_name = "PHASE")]
    pub phase: Option<String>,
    /// Write. Without it, nothing is changed: each step is checked live and reported.
    #[arg(long)]
    pub apply: bool,
    /// The digest the customer approved (`sha256:...`, as the plan prints it). Needed
    /// with --apply; it must equal the plan's digest.
    #[arg(long, value_name = "sha256:DIGEST")]
    pub approve: Option<String>,
    /// Delete key-like credentials now instead of only deactivating them (not undoable).
    #[arg(long)]
    pub delete_now: bool,
    /// Undo every reversible change the journal records (statuses, trust policies).
    #[arg(long)]
    pub undo: bool,
    /// Where rotate writes each replacement key, age-encrypted to the config's
    /// [recipients] (one FILE.age per step, mode 0600). Default: beside the journal, in
    /// JOURNAL.credentials/
    #[arg(long, value_name = "DIR")]
    pub credentials_out: Option<PathBuf>,
    /// Delete what earlier runs deactivated (keys), once the config's grace_days have
    /// passed since the journal recorded it; with --apply --approve, else a dry run.
    #[arg(long)]
    pub finish: bool,
    #[command(flatten)]
    pub journal: JournalArgs,
    /// An AWS profile (repeatable: one per account). Default: the standard chain.
    #[arg(long = "profile", value_name = "NAME")]
    pub profiles: Vec<String>,
    #[command(flatten)]
    pub gcp: GcpEndpointArgs,
    #[command(flatten)]
    pub format: FormatArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    /// Most steps in flight at once (steps on one principal run one after the other).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub concurrency: usize,
}

/// The flags, validated.
pub struct Validated {
    pub phase: Option<Phase>,
    /// With --apply or --undo: the config and the agency's identity.
    pub keys: Option<(PathBuf, PathBuf)>,
}

/// `sha256:` and 64 lowercase hex digits.
fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl ApplyArgs {
    /// Validates the flags, collecting every problem at once.
    pub fn validate(&self) -> Result<Validated, Error> {
        let mut problems = Vec::new();
        check_concurrency(self.concurrency, &mut problems);
        let phase = self.phase.as_deref().and_then(|p| {
            serde_json::from_value::<Phase>(serde_json::Value::String(p.to_string()))
                .map_err(|_| problems.push(format!("--phase {}: not a phase (establish, rotate, time-bound, review, revoke, revoke-admin, revoke-self)", escape(p))))
                .ok()
        });
        if self.plan.is_none() && !self.undo {
            problems.push("--plan PLAN.json is needed (or --undo --journal FILE)".into());
        }
        if self.undo && (self.apply || self.delete_now || self.finish) {
            problems.push("--undo goes alone: not with --apply, --delete-now or --finish".into());
        }
        if self.finish && self.delete_now {
            problems.push("--finish deletes what earlier runs deactivated once grace_days have passed; --delete-now is for a run that deactivates: use one or the other".into());
        }
        match (&self.approve, self.apply) {
            (None, true) => problems.push("--apply needs --approve sha256:DIGEST: the digest of the plan the customer approved".into()),
            (Some(_), false) => problems.push("--approve goes with --apply".into()),
            (Some(d), true) if !is_digest(d) => problems.push(format!("--approve {}: write sha256: and the 64 hex digits of the plan's digest", escape(d))),
            _ => {}
        }
        if self.delete_now && !self.apply {
            problems.push("--delete-now goes with --apply".into());
        }
        // --finish reads the journal even in its dry run.
        let writes = self.apply || self.undo || self.finish;
        let keys = match (&self.journal.config, &self.journal.identity) {
            (Some(c), Some(i)) if writes => Some((c.clone(), i.clone())),
            _ if writes => {
                problems.push("--apply, --undo and --finish need --config handover.toml and -i AGENCY_SSH_KEY: they open the journal's digest key".into());
                None
            }
            _ => None,
        };
        usage_problems(problems, "apply")?;
        Ok(Validated { phase, keys })
    }
}

/// Refuses, before any request, an approval that is not this plan's digest.
fn check_approval(plan: &Plan, approve: Option<&str>) -> Result<(), Error> {
    match approve {
        Some(d) if d == plan.digest => Ok(()),
        Some(d) => Err(Error::usage(
            format!(
                "--approve {} is not this plan's digest ({}): nothing was changed",
                escape(d),
                plan.digest
            ),
            "approve the plan you reviewed by its own digest (the `digest` field of plan.json); if the plan was written again, review it again",
        )),
        None => Ok(()),
    }
}

/// The journal and its digest key, opened as `migrate --apply` opens them (the key is
/// created only for a new journal, and only when `create`).
fn open_journal(
    path: &Path,
    keys: &(PathBuf, PathBuf),
    create: bool,
) -> Result<(Journal, Replay), Error> {
    let access = super::agency::key_access(&keys.0, &keys.1)?;
    let head = crate::journal::head_path(path);
    let key_file = key::key_path(path);
    crate::output::check_regular_or_absent(&[path, &head, &key_file])?;
    let digest_key = if create {
        key::open_or_create(
            path,
            crate::journal::is_new(path),
            &access.identity,
            &access.recipients,
        )?
    } else {
        key::open(path, &access.identity)?
    };
    Journal::open(path, &ChainKey::derive(&digest_key))
}

/// One GCP executor per project in `projects` (`--gcp-endpoint` / HANDOVER_GCP_ENDPOINT,
/// else application default credentials). In a dry run a project that cannot be reached
/// becomes a note and its steps `not-checked`.
async fn gcp_executors(
    a: &ApplyArgs,
    projects: &std::collections::BTreeSet<String>,
    handover: &str,
    strict: bool,
    exec: &mut Executors,
) -> Result<(), Error> {
    let settings = GcpSettings {
        endpoint: a.gcp.gcp_endpoint.clone(),
        concurrency: a.concurrency,
        max_attempts: a.retry.max_attempts,
    };
    for project in projects {
        match GcpExecutor::connect(project, &settings).await {
            Ok(e) => {
                let e = e.with_handover(handover);
                exec.by_scope
                    .insert((Provider::Gcp, project.clone()), Arc::new(e));
            }
            Err(e) if !strict => exec
                .notes
                .push(format!("GCP project {project}: not checked live: {e}")),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The scopes (provider, account or project) a plan's revocations or a journal's
/// changes reach.
fn scopes<'a>(
    of: impl Iterator<Item = (Provider, &'a str)>,
) -> (bool, std::collections::BTreeSet<String>) {
    let mut aws = false;
    let mut gcp = std::collections::BTreeSet::new();
    for (provider, scope) in of {
        match provider {
            Provider::Aws => aws = true,
            Provider::Gcp => {
                gcp.insert(scope.to_string());
            }
        }
    }
    (aws, gcp)
}

/// One AWS executor per profile (or the standard chain), by the account it reaches. In a
/// dry run an account that cannot be reached becomes a note and its steps `not-checked`.
async fn executors(a: &ApplyArgs, strict: bool) -> Result<Executors, Error> {
    let profiles: Vec<Option<&str>> = if a.profiles.is_empty() {
        vec![None]
    } else {
        a.profiles.iter().map(|p| Some(p.as_str())).collect()
    };
    let mut by_scope: BTreeMap<(Provider, String), Arc<dyn Executor>> = BTreeMap::new();
    let mut notes = Vec::new();
    for p in profiles {
        match AwsExecutor::connect(p, a.retry.max_attempts).await {
            Ok(e) => {
                let scope = e.scope().to_string();
                if by_scope
                    .insert((Provider::Aws, scope.clone()), Arc::new(e))
                    .is_some()
                {
                    return Err(Error::usage(
                        format!("two profiles reach AWS account {scope}"),
                        "pass one --profile per account",
                    ));
                }
            }
            Err(e) if !strict => notes.push(format!(
                "AWS{}: not checked live: {e}",
                p.map(|p| format!(" profile {p}")).unwrap_or_default()
            )),
            Err(e) => return Err(e),
        }
    }
    Ok(Executors { by_scope, notes })
}

pub fn apply_command(a: ApplyArgs, quiet: bool) -> Result<u8, Error> {
    let v = a.validate()?;
    super::support::check_profiles(&a.profiles)?;
    if a.undo {
        return undo_command(&a, &v);
    }
    if a.finish {
        return finish_command(&a, &v, quiet);
    }
    let plan = super::inputs::read_plan(a.plan.as_deref().expect("validated"))?;
    check_approval(&plan, a.approve.as_deref())?;
    let req = Request {
        plan,
        credentials: credentials_out(&a)?,
        only: a.only.iter().cloned().collect(),
        phase: v.phase,
        apply: a.apply,
        options: Options {
            delete_now: a.delete_now,
        },
        concurrency: a.concurrency,
    };
    let (needs_aws, projects) = scopes(
        apply::select(&req)?
            .into_iter()
            // Revoke and retain-until (GCP grants; AWS trusts and users) reach the cloud,
            // a review approved as a secret's re-encryption under the customer's key, and
            // a rotate of a key or of an AWS secret, a kept GCP API key's restriction.
            .filter(|s| {
                matches!(s.action, Action::Revoke | Action::RetainUntil)
                    || apply::restricts(s)
                    || (s.action == Action::Review && s.target.reencrypt.is_some())
                    || (s.action == Action::Rotate && apply::rotate::rotates(s))
                    || (s.action == Action::Rotate
                        && s.target.provider == Provider::Aws
                        && s.target.what
                            == crate::plan::TargetWhat::Secret(crate::plan::SecretPart::Secret))
            })
            .map(|s| (s.target.provider, s.target.scope.as_str())),
    );
    let rt = runtime()?;
    let mut exec = if needs_aws {
        rt.block_on(executors(&a, a.apply))?
    } else {
        Executors {
            by_scope: BTreeMap::new(),
            notes: Vec::new(),
        }
    };
    let handover = format!(
        "{} to {}",
        req.plan.handover.agency, req.plan.handover.customer
    );
    rt.block_on(gcp_executors(&a, &projects, &handover, a.apply, &mut exec))?;
    let journal = match &v.keys {
        Some(keys) if a.apply => Some(open_journal(&a.journal.file, keys, true)?),
        _ => None,
    };
    if let Some((_, replay)) = &journal {
        apply::check_journal_plan(replay, &req.plan, &a.journal.file)?;
    }
    let journal = journal.map(|(j, r)| (Mutex::new(j), r));
    // The bar is for a person: with JSON a program reads the output, so none is drawn.
    let format = a.format.resolve();
    let report = rt.block_on(apply::run(
        &req,
        &exec,
        journal.as_ref().map(|(j, r)| (j, r)),
        progress(!quiet && matches!(format, Format::Table)),
    ))?;
    print_report(&a, &report, quiet)
}

/// Prints the report; exit 8 when an applied run left something undone or a check failed.
fn print_report(a: &ApplyArgs, report: &Report, quiet: bool) -> Result<u8, Error> {
    match a.format.resolve() {
        Format::Json => print_stdout(&pretty_json(report))?,
        Format::Table => print_stdout(&table(report, &Term::stdout()))?,
    }
    if !quiet && report.applied {
        eprintln!("journal: {}", a.journal.file.display());
    }
    let failed = report.steps.iter().any(|s| s.outcome == Outcome::Failed);
    Ok(if (report.applied && report.incomplete()) || failed {
        exit::INCOMPLETE
    } else {
        exit::OK
    })
}

/// Where rotate seals replacement keys: `--credentials-out DIR`, else
/// `JOURNAL.credentials/`, to the config's recipients; `None` without a config or
/// recipients (rotate steps are then not carried out, and say why).
fn credentials_out(a: &ApplyArgs) -> Result<Option<apply::rotate::CredentialsOut>, Error> {
    let Some(config) = &a.journal.config else {
        return Ok(None);
    };
    let recipients = crate::config::load(config)?.recipients(config)?;
    let dir = a.credentials_out.clone().unwrap_or_else(|| {
        let mut d = a.journal.file.clone().into_os_string();
        d.push(".credentials");
        PathBuf::from(d)
    });
    if recipients.is_empty() {
        return Ok(None);
    }
    apply::rotate::CredentialsOut::new(&dir, recipients).map(Some)
}

/// `--finish`: the config's grace period (refused without one, before any request), the
/// journal (which must exist), the executors of the accounts and projects whose
/// deletions are due, then `apply::finish`.
fn finish_command(a: &ApplyArgs, v: &Validated, quiet: bool) -> Result<u8, Error> {
    let keys = v.keys.as_ref().expect("validated");
    let plan = super::inputs::read_plan(a.plan.as_deref().expect("validated"))?;
    check_approval(&plan, a.approve.as_deref())?;
    let grace_days = crate::config::load(&keys.0)?.grace_days.ok_or_else(|| {
        Error::input(
            &keys.0,
            "grace_days is not set: --finish deletes what apply deactivated once that many days have passed since",
            "set grace_days = N (days, 0 to 365) in the config, or delete at once with `handover apply --apply --approve DIGEST --delete-now`",
        )
    })?;
    let (journal, replay) = open_journal(&a.journal.file, keys, false)?;
    apply::check_journal_plan(&replay, &plan, &a.journal.file)?;
    let req = Request {
        plan,
        credentials: None,
        only: a.only.iter().cloned().collect(),
        phase: v.phase,
        apply: a.apply,
        options: Options { delete_now: true },
        concurrency: a.concurrency,
    };
    let now = chrono::Utc::now();
    let due = apply::finish::due_scopes(&req, &replay, grace_days, now)?;
    let (needs_aws, projects) = scopes(due.iter().map(|(p, s)| (*p, s.as_str())));
    let rt = runtime()?;
    let mut exec = if needs_aws {
        rt.block_on(executors(a, a.apply))?
    } else {
        Executors {
            by_scope: BTreeMap::new(),
            notes: Vec::new(),
        }
    };
    // Deleting a key writes no condition, so the handover's name is not needed.
    rt.block_on(gcp_executors(a, &projects, "", a.apply, &mut exec))?;
    let journal = Mutex::new(journal);
    let report = rt.block_on(apply::finish::finish(
        &req, &exec, &journal, &replay, grace_days, now,
    ))?;
    print_report(a, &report, quiet)
}

fn undo_command(a: &ApplyArgs, v: &Validated) -> Result<u8, Error> {
    let keys = v.keys.as_ref().expect("validated");
    let (journal, replay) = open_journal(&a.journal.file, keys, false)?;
    let rt = runtime()?;
    let journaled = apply::journaled_scopes(&replay);
    let (needs_aws, projects) = scopes(journaled.iter().map(|(p, s)| (*p, s.as_str())));
    let mut exec = if needs_aws {
        rt.block_on(executors(a, true))?
    } else {
        Executors {
            by_scope: BTreeMap::new(),
            notes: Vec::new(),
        }
    };
    // Undo writes no new condition, so the handover's name is not needed.
    rt.block_on(gcp_executors(a, &projects, "", true, &mut exec))?;
    let journal = Mutex::new(journal);
    let undone = rt.block_on(apply::undo(&exec, &journal, &replay))?;
    match a.format.resolve() {
        Format::Json => print_stdout(&pretty_json(&undone))?,
        Format::Table => print_stdout(&undo_table(&undone, &Term::stdout()))?,
    }
    // A step apply found already in its end state (`no-change`) has nothing to undo.
    Ok(if !undone.iter().any(|u| u.outcome.incomplete()) {
        exit::OK
    } else {
        exit::INCOMPLETE
    })
}

/// The colour of an outcome (the word is always written too).
fn outcome_tone(o: Outcome) -> Tone {
    match o {
        Outcome::Done | Outcome::AlreadyDone | Outcome::NoChange => Tone::Good,
        Outcome::WouldChange | Outcome::NotChecked | Outcome::Drift => Tone::Warn,
        Outcome::Failed => Tone::Bad,
        Outcome::LeftForAPerson => Tone::Critical,
        Outcome::Waiting => Tone::Note,
    }
}

/// The report as a table for `term`: step id, outcome and phase kept whole; target and
/// what was found (the calls, and why: action, rule, reason) wrapped. Names and reasons
/// come from the plan and are escaped (`output::table`, `wrap`).
fn table(report: &Report, term: &Term) -> String {
    let head = if report.applied {
        format!("Applied plan {}", report.plan)
    } else {
        format!(
            "Dry run of plan {} (nothing changed; --apply --approve {} writes)",
            report.plan, report.plan
        )
    };
    let mut o = wrap(&head, 2, term);
    for n in &report.notes {
        o.push_str(&wrap(&format!("  note: {n}"), 8, term));
    }
    let mut t = Table::new(&[
        ("STEP", Fit::Keep),
        ("OUTCOME", Fit::Keep),
        ("PHASE", Fit::Keep),
        ("TARGET", Fit::Wrap),
        ("DETAIL", Fit::Wrap),
    ])
    .tone_column(1);
    for s in &report.steps {
        let mut detail = s.detail.clone();
        if !s.calls.is_empty() {
            detail.push_str(&format!("; calls: {}", s.calls.join(", ")));
        }
        detail.push_str(&format!(
            "; why: {} {} ({})",
            s.action.as_str(),
            s.rule,
            s.reason
        ));
        t.toned_row(
            vec![
                s.id.clone(),
                s.outcome.as_str().to_string(),
                crate::plan::kebab(&s.phase),
                s.target.clone(),
                detail,
            ],
            Some(outcome_tone(s.outcome)),
        );
    }
    o.push_str(&t.render(term));
    let mut summary = String::from("Summary:");
    for (outcome, n) in &report.summary {
        summary.push_str(&format!(" {} {n};", outcome.as_str()));
    }
    o.push_str(&wrap(&summary, 2, term));
    escape_block_keeping_paint(&o)
}

fn undo_table(undone: &[UndoReport], term: &Term) -> String {
    let mut o = format!(
        "Undo: {} step(s) recorded as done or found done\n",
        undone.len()
    );
    let mut t = Table::new(&[
        ("STEP", Fit::Keep),
        ("OUTCOME", Fit::Keep),
        ("TARGET", Fit::Wrap),
        ("DETAIL", Fit::Wrap),
    ])
    .tone_column(1);
    for u in undone {
        t.toned_row(
            vec![
                u.step.clone(),
                u.outcome.as_str().to_string(),
                u.target.clone(),
                u.detail.clone(),
            ],
            Some(outcome_tone(u.outcome)),
        );
    }
    o.push_str(&t.render(term));
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression (hostile input): the step id and the calls come from the plan (a user
    // or role name in a call) and reached the terminal unescaped.
    #[test]
    fn every_plan_text_in_the_table_is_escaped() {
        let hostile = "x\u{1b}]0;owned\u{7}\u{1b}[2J";
        let step = apply::StepReport {
            id: hostile.into(),
            phase: Phase::Revoke,
            action: Action::Revoke,
            provider: Provider::Aws,
            scope: "123456789012".into(),
            target: hostile.into(),
            rule: hostile.into(),
            reason: hostile.into(),
            outcome: Outcome::Done,
            change: None,
            calls: vec![format!("iam:UpdateAccessKey ({hostile})")],
            detail: hostile.into(),
        };
        let report = Report {
            plan: "sha256:00".into(),
            applied: true,
            steps: vec![step],
            summary: BTreeMap::new(),
            notes: vec![hostile.into()],
        };
        for term in [
            Term::PLAIN,
            Term {
                width: Some(80),
                color: false,
            },
        ] {
            let text = table(&report, &term);
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}'),
                "{text:?}"
            );
        }
        // With colour, the outcome's own codes are the only escape sequences.
        let text = table(
            &report,
            &Term {
                width: Some(80),
                color: true,
            },
        )
        .replacen("\u{1b}[32mdone\u{1b}[0m", "done", 1);
        assert!(!text.contains('\u{1b}'), "{text:?}");
    }
}
