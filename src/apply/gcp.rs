//! The GCP executor of `apply`: removes a member from one role on a project, a service
//! account, a secret, or a folder or organization (a binding inherited by the projects
//! below is removed where it is set), and disables (or, with `--delete-now`, deletes)
//! service-account keys, through `providers::gcp::change` (one project, folder or
//! organization per executor; a folder or organization has no project number to check).
//!
//! Invariants:
//! - A grant is the plan's member in the plan's role under the plan's condition (title
//!   and expression compared exactly; no condition matches only an unconditional
//!   binding). The live check reads the resource's policy at version 3: the grant there
//!   is `as-planned`; the member holding that role only under another condition is
//!   `drift` (never guessed at); the member no longer holding the role is `already-done`.
//! - A resource's policy is read once for the checks of its steps in a phase (kept until
//!   the group ends or a write takes it), and the removal starts from that read: one
//!   `setIamPolicy` carrying the read's etag, redone from a fresh read on a stale etag
//!   (409), so a change made since the check is never overwritten; every other member, role,
//!   condition and audit config is kept as read. The removals of one phase from one
//!   resource are merged (`Executor::merge`) into one such write. The grants as found (their condition's
//!   description too) are journaled for undo, which puts them back with
//!   `restore_grants`.
//! - Retain-until: the grant is replaced, in one write, by the same member and role
//!   under its own condition `&&` `request.time < timestamp("DATE")`, titled for the
//!   handover (`change::bounded`); a basic role or a public member (which Google lets
//!   carry no condition) is left for a person; a grant whose condition already ends by
//!   the date is already done. Undo puts the open grant back as found.
//! - A key is disabled (`:disable`, undone by `:enable`); deleted only with
//!   `--delete-now` (not undoable). A key gone since the plan is `drift`.
//! - A resource or account of another project is refused; a secret named by the
//!   project's number (as Google lists secrets) is changed under the project's id, once
//!   the number is checked to be this project's (`projects.get` at connect).
//! - No lock-out: `admin_alive` finds, live, a customer admin the plan keeps (owner or
//!   IAM admin on the project or, inherited, on a folder or organization of its
//!   ancestry, unconditionally; a service account only when enabled).
//!   A folder or organization scope has no admins listed in the plan's summary, so an
//!   admin-phase revoke there is left for a person (conservative).
//! - Nothing read here is a secret: policies, key ids and states only.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use google_cloud_iam_v1::model::Policy;

use super::{Executor, Live, Options, Prepared, Write};
use crate::error::Error;
use crate::journal::{ApplyChange, Undo, UndoCondition, UndoGrant};
use crate::model::{CredentialKind, Provider};
use crate::plan::{Step, TargetWhat};
use crate::policy::Action;
use crate::providers::gcp::change::{
    bounded, AccountState, GcpChanger, Grant, GrantCondition, IamResource, KeyState, Outcome,
};
use crate::providers::gcp::live::GcpSettings;

/// One GCP project, reached with the settings of the run.
pub struct GcpExecutor {
    changer: GcpChanger,
    /// The project's number, by which Google names its secrets.
    number: String,
    /// The handover's name, in the title of a condition that ends a retained grant.
    handover: String,
    /// Policies read by live checks, by resource name, until the group of steps on that
    /// resource is over (`Executor::forget`) or a write to it takes the entry: the
    /// checks of one resource's steps read it once, and its merged removal starts from
    /// that read (its etag guards against a change made since).
    checked: Mutex<BTreeMap<String, Policy>>,
}

impl GcpExecutor {
    /// Connects to `project` and reads its number (which also proves access).
    pub async fn connect(project: &str, settings: &GcpSettings) -> Result<GcpExecutor, Error> {
        let changer = GcpChanger::connect(project, settings).await?;
        // A folder or organization has no project number; its policy read at the first
        // check proves access instead.
        let number = if changer.holder().is_container() {
            String::new()
        } else {
            changer.project_number().await?
        };
        Ok(GcpExecutor {
            changer,
            number,
            handover: String::new(),
            checked: Mutex::new(BTreeMap::new()),
        })
    }

    /// Names the handover in the titles of the conditions it writes ("handover NAME:
    /// until DATE").
    pub fn with_handover(mut self, name: &str) -> Self {
        self.handover = name.to_string();
        self
    }

    fn project(&self) -> &str {
        self.changer.project()
    }

    /// The resource the plan names, under this project's id; `None` when it belongs to
    /// another project.
    fn own_resource(&self, name: &str) -> Result<Option<IamResource>, Error> {
        let r = IamResource::parse(name)?;
        if r.scope() == self.project() {
            return Ok(Some(r));
        }
        if r.is_container() || r.scope() != self.number {
            return Ok(None);
        }
        let project = self.project().to_string();
        Ok(Some(match r {
            IamResource::Project { .. } => IamResource::Project { project },
            IamResource::ServiceAccount { email, .. } => {
                IamResource::ServiceAccount { project, email }
            }
            IamResource::Secret { secret, .. } => IamResource::Secret { project, secret },
            // A container is named by its number only: it matched above or is not ours.
            IamResource::Folder { .. } | IamResource::Organization { .. } => return Ok(None),
        }))
    }

    /// The no-lock-out check: the first of `names` (principal names as the plan's
    /// summary lists the customer admins it keeps: an email) that holds, live and with
    /// no condition, `roles/owner` or an IAM-admin role on the project or on a folder
    /// or organization above it (inherited, as the plan counts it), as a user, a group,
    /// or a service account of this project that is enabled; `None` when none does.
    /// The project's policy is read first; only when no name holds there are its
    /// ancestry and then each ancestor's policy read, nearest first, until one does.
    /// Members are built from the names, never split.
    pub async fn admin_alive(&self, names: &[String]) -> Result<Option<String>, Error> {
        let admins = self.changer.admins_after(&[]).await?;
        if let Some(found) = self.first_alive(names, &admins).await? {
            return Ok(Some(found));
        }
        for ancestor in self.changer.ancestry().await? {
            let admins = self.changer.admins_on(&ancestor).await?;
            if let Some(found) = self.first_alive(names, &admins).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The first of `names` among `admins`, a service account only while enabled (one
    /// account read each; an account of another project reads as gone: not counted).
    async fn first_alive(
        &self,
        names: &[String],
        admins: &[Grant],
    ) -> Result<Option<String>, Error> {
        let holds = |member: &str| admins.iter().any(|g| g.member == member);
        for name in names {
            if holds(&format!("user:{name}")) || holds(&format!("group:{name}")) {
                return Ok(Some(name.clone()));
            }
            if holds(&format!("serviceAccount:{name}"))
                && self.changer.account_state(name).await? == AccountState::Enabled
            {
                return Ok(Some(name.clone()));
            }
        }
        Ok(None)
    }

    /// `resource`'s policy for a live check: as an earlier check of this group read it,
    /// else read now (and kept for the group's other checks and its write).
    async fn checked_policy(&self, resource: &IamResource) -> Result<Policy, Error> {
        let name = resource.name();
        if let Some(p) = self.cache().get(&name) {
            return Ok(p.clone());
        }
        let policy = self.changer.read_policy(resource).await?;
        self.cache().insert(name, policy.clone());
        Ok(policy)
    }

    /// Takes the policy a check read of `resource`: a write changes it, so it is not
    /// read from the cache again.
    fn take_checked(&self, resource: &IamResource) -> Option<Policy> {
        self.cache().remove(&resource.name())
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Policy>> {
        self.checked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The resource and grant a binding step names, or why it cannot be carried out.
    fn planned_grant(&self, step: &Step) -> Result<Result<(IamResource, Grant), Live>, Error> {
        let t = &step.target;
        let Some(binding) = &t.binding else {
            return Ok(Err(Live::LeftForAPerson(
                "the plan names no binding for this grant".into(),
            )));
        };
        let Some(resource) = self.own_resource(&binding.resource)? else {
            return Ok(Err(Live::LeftForAPerson(format!(
                "{} is not in project {}: apply it with that project's plan",
                binding.resource,
                self.project()
            ))));
        };
        Ok(Ok((resource, Grant::of(&binding.member, binding))))
    }

    async fn check_binding(&self, step: &Step) -> Result<Live, Error> {
        let (resource, grant) = match self.planned_grant(step)? {
            Ok(found) => found,
            Err(live) => return Ok(live),
        };
        let policy = self.checked_policy(&resource).await?;
        Ok(decide_removal(&resource, &grant, &policy))
    }

    /// Retain-until: the grant gets a condition that ends it at the plan's date.
    async fn check_retain(&self, step: &Step) -> Result<Live, Error> {
        let (resource, grant) = match self.planned_grant(step)? {
            Ok(found) => found,
            Err(live) => return Ok(live),
        };
        let Some(until) = step.until.as_deref().and_then(end_of) else {
            return Ok(Live::LeftForAPerson(
                "the plan gives no end date (YYYY-MM-DD) for this grant".into(),
            ));
        };
        let bounded = match bounded(&grant, until, &self.handover) {
            Ok(b) => b,
            Err(e) => return Ok(Live::LeftForAPerson(format!("{e}; {}", e.hint()))),
        };
        let ends = step
            .target
            .binding
            .as_ref()
            .and_then(|b| b.condition.as_ref())
            .and_then(|c| c.ends.end());
        let policy = self.checked_policy(&resource).await?;
        let bound = Bound {
            grant: &grant,
            bounded: &bounded,
            ends,
            until,
            handover: &self.handover,
        };
        Ok(decide_bound(&resource, &bound, &policy))
    }

    /// The email of the service account owning the step's key, when it is this project's.
    fn account_of(&self, step: &Step) -> Option<String> {
        match step
            .target
            .principal
            .as_deref()
            .and_then(|p| self.own_resource(p).ok().flatten())
        {
            Some(IamResource::ServiceAccount { email, .. }) => Some(email),
            _ => None,
        }
    }

    /// The one write that undoes a journaled change of a single write.
    fn undo_write(&self, undo: &Undo) -> Option<Write> {
        match undo {
            Undo::GcpGrants { resource, grants } => Some(Write::GcpRestoreGrants {
                resource: self.own_resource(resource).ok().flatten()?,
                grants: grants.iter().map(grant_of).collect(),
            }),
            Undo::GcpReplace {
                resource,
                remove,
                add,
            } => Some(Write::GcpReplaceGrants {
                resource: self.own_resource(resource).ok().flatten()?,
                remove: remove.iter().map(grant_of).collect(),
                add: add.iter().map(grant_of).collect(),
            }),
            Undo::GcpKey { account, key_id } => Some(Write::GcpKey {
                account: account.clone(),
                key_id: key_id.clone(),
                enable: true,
            }),
            // A replacement key is undone by deleting it.
            Undo::ReplacementKey {
                owner,
                created: Some(id),
                ..
            } => Some(Write::GcpDeleteKey {
                account: owner.clone(),
                key_id: id.clone(),
            }),
            other => super::gcp_keys::undo(other),
        }
    }

    /// A service-account key disabled, or enabled again (undo).
    async fn write_key(&self, account: &str, key_id: &str, enable: bool) -> Result<(), Error> {
        let (op, outcome) = if enable {
            let o = self.changer.enable_key(account, key_id).await?;
            ("iam.serviceAccountKeys.enable", o)
        } else {
            let o = self.changer.disable_key(account, key_id).await?;
            ("iam.serviceAccountKeys.disable", o)
        };
        match outcome {
            Outcome::Missing => Err(missing(op, account, key_id)),
            Outcome::Changed | Outcome::AlreadyDone => Ok(()),
        }
    }

    async fn check_key(&self, step: &Step, opts: Options) -> Result<Live, Error> {
        let t = &step.target;
        let account = t
            .principal
            .as_deref()
            .and_then(|p| self.own_resource(p).ok().flatten());
        let (Some(IamResource::ServiceAccount { email, .. }), Some(key_id)) =
            (account, t.name.as_deref())
        else {
            return Ok(Live::LeftForAPerson(format!(
                "the plan names no service account of project {} and key id for this key",
                self.project()
            )));
        };
        let state = self.changer.key_state(&email, key_id).await?;
        Ok(decide_key(&email, key_id, state, opts))
    }
}

/// What removing `grant` from `resource`'s `policy` needs: the bindings holding it (as
/// found, for undo), else drift when the member holds the role under another condition,
/// else already done.
fn decide_removal(resource: &IamResource, grant: &Grant, policy: &Policy) -> Live {
    let holds = |b: &&google_cloud_iam_v1::model::Binding| b.members.contains(&grant.member);
    let found: Vec<Grant> = policy
        .bindings
        .iter()
        .filter(|b| grant.same_binding(b))
        .filter(holds)
        .map(|b| grant.as_found(b))
        .collect();
    let name = resource.name();
    if found.is_empty() {
        let elsewhere = policy
            .bindings
            .iter()
            .filter(|b| b.role == grant.role)
            .any(|b| holds(&b));
        return if elsewhere {
            Live::Drift(format!(
                "{} holds {} on {name} only under another condition than the plan saw",
                grant.member, grant.role
            ))
        } else {
            Live::AlreadyDone(format!(
                "{} no longer holds {} on {name}",
                grant.member, grant.role
            ))
        };
    }
    let (get, set) = resource.methods();
    Live::AsPlanned(Prepared {
        change: ApplyChange::RemoveGrant,
        writes: vec![Write::GcpRemoveGrants {
            resource: resource.clone(),
            grants: vec![grant.clone()],
        }],
        calls: vec![get.to_string(), set.to_string()],
        undo: Undo::GcpGrants {
            resource: name.clone(),
            grants: found.iter().map(undo_grant).collect(),
        },
        what: format!(
            "remove {} from {}{} on {name}, keeping every other member and condition",
            grant.member,
            grant.role,
            grant
                .condition
                .as_ref()
                .map(|c| format!(" (condition {:?})", c.title.as_deref().unwrap_or("")))
                .unwrap_or_default()
        ),
    })
}

/// When access ends on the day the plan names (`YYYY-MM-DD`, "ends by itself on DATE"):
/// that day's start, UTC.
fn end_of(date: &str) -> Option<DateTime<Utc>> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc())
}

/// A grant to bound: as the plan names it, under its end date, the plan's analysis of
/// its own condition's end, the date, and the handover's name.
struct Bound<'a> {
    grant: &'a Grant,
    bounded: &'a Grant,
    ends: Option<DateTime<Utc>>,
    until: DateTime<Utc>,
    handover: &'a str,
}

/// What bounding a grant needs: replace it by the bounded grant (undo: the reverse, with
/// the grant as found); already done when the bounded grant is there or the grant's own
/// condition already ends by the date; drift when the grant is gone.
fn decide_bound(resource: &IamResource, b: &Bound<'_>, policy: &Policy) -> Live {
    let name = resource.name();
    let day = b.until.format("%Y-%m-%d");
    let (grant, bounded) = (b.grant, b.bounded);
    let holds = |g: &Grant| {
        policy
            .bindings
            .iter()
            .find(|x| g.same_binding(x) && x.members.contains(&g.member))
            .map(|x| g.as_found(x))
    };
    let Some(found) = holds(grant) else {
        return match holds(bounded) {
            Some(_) => Live::AlreadyDone(format!(
                "{} holds {} on {name} until {day}",
                grant.member, grant.role
            )),
            None => Live::Drift(format!(
                "{} no longer holds {} on {name} as the plan saw it",
                grant.member, grant.role
            )),
        };
    };
    if let Some(end) = b.ends.filter(|end| *end <= b.until) {
        return Live::AlreadyDone(format!(
            "its condition already ends it on {}",
            end.format("%Y-%m-%d")
        ));
    }
    let (get, set) = resource.methods();
    let title = bounded.condition.as_ref().and_then(|c| c.title.as_deref());
    Live::AsPlanned(Prepared {
        change: ApplyChange::BoundGrant,
        writes: vec![Write::GcpBoundGrant {
            resource: resource.clone(),
            grant: grant.clone(),
            until: b.until,
            handover: b.handover.to_string(),
        }],
        calls: vec![get.to_string(), set.to_string()],
        undo: Undo::GcpReplace {
            resource: name.clone(),
            remove: vec![undo_grant(bounded)],
            add: vec![undo_grant(&found)],
        },
        what: format!(
            "end {} in {} on {name} on {day} (condition {:?})",
            grant.member,
            grant.role,
            title.unwrap_or("")
        ),
    })
}

/// What revoking a key in `state` needs: disable it (undo: enable), or with
/// `--delete-now` disable and delete it.
fn decide_key(email: &str, key_id: &str, state: KeyState, opts: Options) -> Live {
    let disable = Write::GcpKey {
        account: email.into(),
        key_id: key_id.into(),
        enable: false,
    };
    match state {
        KeyState::Gone => Live::Drift(format!(
            "key {key_id} of {email} is gone (deleted since the plan)"
        )),
        _ if opts.delete_now => {
            let mut writes = Vec::new();
            let mut calls = Vec::new();
            if state == KeyState::Enabled {
                writes.push(disable);
                calls.push("iam.serviceAccountKeys.disable".to_string());
            }
            writes.push(Write::GcpDeleteKey {
                account: email.into(),
                key_id: key_id.into(),
            });
            calls.push("iam.serviceAccountKeys.delete".to_string());
            Live::AsPlanned(Prepared {
                change: ApplyChange::Delete,
                writes,
                calls,
                undo: Undo::Irreversible {
                    why: "a deleted service-account key cannot be restored".into(),
                },
                what: format!("disable and delete key {key_id} of {email}"),
            })
        }
        KeyState::Disabled => {
            Live::AlreadyDone(format!("key {key_id} of {email} is already disabled"))
        }
        KeyState::Enabled => Live::AsPlanned(Prepared {
            change: ApplyChange::Disable,
            writes: vec![disable],
            calls: vec!["iam.serviceAccountKeys.disable".into()],
            undo: Undo::GcpKey {
                account: email.into(),
                key_id: key_id.into(),
            },
            what: format!(
                "disable key {key_id} of {email} (deletion waits for a later run: --delete-now deletes at once)"
            ),
        }),
    }
}

/// The step's own check `live` with its service account `email` (found `state`)
/// disabled too: one change (`disable-account`) making the step's writes then the
/// account's, undone account first; already done only when both are.
fn with_account_disabled(email: &str, state: AccountState, live: Live) -> Live {
    let disable = Write::GcpAccount {
        account: email.into(),
        enable: false,
    };
    let call = "iam.serviceAccounts.disable".to_string();
    match (live, state) {
        (Live::AlreadyDone(why), AccountState::Enabled) => Live::AsPlanned(Prepared {
            change: ApplyChange::DisableAccount,
            writes: vec![disable],
            calls: vec![call],
            undo: Undo::GcpAccount {
                account: email.into(),
                then: None,
            },
            what: format!("disable service account {email} ({why})"),
        }),
        (Live::AlreadyDone(why), AccountState::Disabled) => {
            Live::AlreadyDone(format!("{why}; service account {email} is disabled"))
        }
        (Live::AlreadyDone(why), AccountState::Gone) => {
            Live::AlreadyDone(format!("{why}; service account {email} is gone"))
        }
        (Live::AsPlanned(mut p), AccountState::Enabled) => {
            p.writes.push(disable);
            p.calls.push(call);
            Live::AsPlanned(Prepared {
                change: ApplyChange::DisableAccount,
                undo: Undo::GcpAccount {
                    account: email.into(),
                    then: Some(Box::new(p.undo)),
                },
                what: format!("{}; then disable service account {email}", p.what),
                writes: p.writes,
                calls: p.calls,
            })
        }
        // Disabled already (or gone): the step's own change is all there is to make.
        (live, _) => live,
    }
}

fn undo_grant(g: &Grant) -> UndoGrant {
    UndoGrant {
        member: g.member.clone(),
        role: g.role.clone(),
        condition: g.condition.as_ref().map(|c| UndoCondition {
            title: c.title.clone(),
            expression: c.expression.clone(),
            description: c.description.clone(),
        }),
    }
}

fn grant_of(u: &UndoGrant) -> Grant {
    Grant {
        member: u.member.clone(),
        role: u.role.clone(),
        condition: u.condition.as_ref().map(|c| GrantCondition {
            title: c.title.clone(),
            expression: c.expression.clone(),
            description: c.description.clone(),
        }),
    }
}

/// A key write that found the key gone: the step did not happen.
fn missing(op: &str, account: &str, key_id: &str) -> Error {
    Error::Api {
        provider: Provider::Gcp,
        operation: op.into(),
        what: format!("key {key_id} of {account} is gone"),
        hint: "it was deleted since the live check: audit again to see the project as it is".into(),
    }
}

#[async_trait::async_trait]
impl Executor for GcpExecutor {
    fn scope(&self) -> &str {
        self.project()
    }

    fn provider(&self) -> Provider {
        Provider::Gcp
    }

    /// Not deferred on GCP yet: the run-as-last rule matches an AWS IAM user only.
    fn caller(&self) -> Option<&str> {
        None
    }

    async fn admin_alive(&self, names: &[String]) -> Result<Option<String>, Error> {
        GcpExecutor::admin_alive(self, names).await
    }

    async fn keys(&self, step: &Step) -> Result<Option<super::rotate::Keys>, Error> {
        let Some(email) = self.account_of(step) else {
            return Ok(None);
        };
        Ok(self
            .changer
            .user_keys(&email)
            .await?
            .map(|ids| super::rotate::Keys { owner: email, ids }))
    }

    async fn create_key(&self, step: &Step) -> Result<super::rotate::Created, Error> {
        let email = self.account_of(step).ok_or_else(|| Error::Api {
            provider: Provider::Gcp,
            operation: "iam.serviceAccountKeys.create".into(),
            what: format!(
                "the plan names no service account of project {}",
                self.project()
            ),
            hint: "the plan is out of date: audit and plan again".into(),
        })?;
        let key = self.changer.create_key(&email).await?;
        Ok(super::rotate::Created {
            owner: email,
            id: key.key_id,
            secret: key.material,
        })
    }

    fn delete_key(&self, step: &Step, id: &str) -> Option<Write> {
        Some(Write::GcpDeleteKey {
            account: self.account_of(step)?,
            key_id: id.to_string(),
        })
    }

    async fn check(&self, step: &Step, opts: Options) -> Result<Live, Error> {
        if super::restricts(step) {
            return super::gcp_keys::check_restrict(&self.changer, step).await;
        }
        match step.target.what {
            TargetWhat::Credential(CredentialKind::GcpIamBinding)
                if step.action == Action::RetainUntil =>
            {
                self.check_retain(step).await
            }
            TargetWhat::Credential(CredentialKind::GcpIamBinding) => self.check_binding(step).await,
            TargetWhat::Credential(CredentialKind::GcpServiceAccountKey) => {
                self.check_key(step, opts).await
            }
            other => match super::gcp_keys::check(&self.changer, step, opts).await {
                Some(live) => live,
                None => Ok(Live::LeftForAPerson(format!(
                    "revoking a {other} is not carried out by apply yet; do it by hand"
                ))),
            },
        }
    }

    /// `disable: principal`: the step's own revocation, then its service account
    /// disabled (`iam.serviceAccounts.disable`), in one step; drift or a step left for a
    /// person disables nothing.
    async fn check_disable(&self, step: &Step, live: Live) -> Result<Live, Error> {
        if matches!(live, Live::Drift(_) | Live::LeftForAPerson(_)) {
            return Ok(live);
        }
        let Some(email) = self.account_of(step) else {
            return Ok(Live::LeftForAPerson(format!(
                "the plan names no service account of project {} to disable: disable it with its own project's plan",
                self.project()
            )));
        };
        let state = self.changer.account_state(&email).await?;
        Ok(with_account_disabled(&email, state, live))
    }

    async fn write(&self, w: &Write) -> Result<(), Error> {
        // API keys, HMAC keys and workload identity providers (`gcp_keys`).
        if let Some(done) = super::gcp_keys::write(&self.changer, w).await {
            return done;
        }
        match w {
            Write::GcpAccount { account, enable } => {
                let outcome = if *enable {
                    self.changer.enable_service_account(account).await?
                } else {
                    self.changer.disable_service_account(account).await?
                };
                match outcome {
                    Outcome::Changed | Outcome::AlreadyDone => Ok(()),
                    Outcome::Missing => Err(Error::Api {
                        provider: Provider::Gcp,
                        operation: if *enable {
                            "iam.serviceAccounts.enable"
                        } else {
                            "iam.serviceAccounts.disable"
                        }
                        .into(),
                        what: format!("service account {account} is gone"),
                        hint: "it was deleted since the live check: audit again to see the project as it is".into(),
                    }),
                }
            }
            Write::GcpRemoveGrants { resource, grants } => self
                .changer
                .remove_grants_as_read(resource, self.take_checked(resource), grants)
                .await
                .map(|_| ()),
            Write::GcpRestoreGrants { resource, grants } => {
                self.take_checked(resource);
                self.changer
                    .restore_grants(resource, grants)
                    .await
                    .map(|_| ())
            }
            Write::GcpKey {
                account,
                key_id,
                enable,
            } => self.write_key(account, key_id, *enable).await,
            Write::GcpDeleteKey { account, key_id } => {
                self.changer.delete_key(account, key_id).await.map(|_| ())
            }
            Write::GcpBoundGrant {
                resource,
                grant,
                until,
                handover,
            } => {
                self.take_checked(resource);
                let done = self
                    .changer
                    .bound_grant(resource, grant, *until, handover)
                    .await?;
                match done.outcome {
                    Outcome::Changed | Outcome::AlreadyDone => Ok(()),
                    Outcome::Missing => Err(Error::Api {
                        provider: Provider::Gcp,
                        operation: resource.methods().1.into(),
                        what: format!(
                            "{}: {} no longer holds {}",
                            resource.name(),
                            grant.member,
                            grant.role
                        ),
                        hint: "it changed since the live check: audit again to see the project as it is".into(),
                    }),
                }
            }
            Write::GcpReplaceGrants {
                resource,
                remove,
                add,
            } => {
                self.take_checked(resource);
                self.changer
                    .replace_grants(resource, remove, add)
                    .await
                    .map(|_| ())
            }
            other => Err(Error::usage(
                format!("not a GCP write: {other:?}"),
                "this is a bug in handover: report it",
            )),
        }
    }

    /// Every GCP write reads its target afresh (a policy with its etag, a key's state).
    fn merges(&self) -> bool {
        true
    }

    /// The group of steps on this resource is over: a later phase reads it live again.
    fn forget(&self, step: &Step) {
        let resource = step
            .target
            .binding
            .as_ref()
            .and_then(|b| self.own_resource(&b.resource).ok().flatten());
        if let Some(r) = resource {
            self.take_checked(&r);
        }
    }

    /// Removals from one resource's policy become one removal of all their grants: one
    /// read and one `setIamPolicy`.
    fn merge(&self, writes: &[&[Write]]) -> Option<Vec<Write>> {
        let mut resource: Option<&IamResource> = None;
        let mut all = Vec::new();
        for w in writes {
            let [Write::GcpRemoveGrants {
                resource: r,
                grants,
            }] = w
            else {
                return None;
            };
            if resource.is_some_and(|first| first != r) {
                return None;
            }
            resource = Some(r);
            for g in grants {
                if !all.contains(g) {
                    all.push(g.clone());
                }
            }
        }
        Some(vec![Write::GcpRemoveGrants {
            resource: resource?.clone(),
            grants: all,
        }])
    }

    fn undo(&self, undo: &Undo) -> Option<Vec<Write>> {
        match undo {
            // The account first, then the step's own revocation (the reverse of making
            // them); an irreversible one (a key deleted) leaves the account alone enabled.
            Undo::GcpAccount { account, then } => {
                let mut writes = vec![Write::GcpAccount {
                    account: account.clone(),
                    enable: true,
                }];
                writes.extend(then.as_deref().and_then(|t| self.undo_write(t)));
                Some(writes)
            }
            other => self.undo_write(other).map(|w| vec![w]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: serde_json::Value) -> Policy {
        serde_json::from_value(json).unwrap()
    }

    fn project() -> IamResource {
        IamResource::Project {
            project: "p-1".into(),
        }
    }

    fn grant(condition: Option<(&str, &str)>) -> Grant {
        Grant {
            member: "user:a@agency.example".into(),
            role: "roles/r".into(),
            condition: condition.map(|(t, e)| GrantCondition {
                title: Some(t.into()),
                expression: e.into(),
                description: None,
            }),
        }
    }

    #[test]
    fn a_grant_under_another_condition_is_drift_not_removed() {
        let p = policy(serde_json::json!({"bindings": [
            {"role": "roles/r", "members": ["user:a@agency.example"], "condition": {"title": "later", "expression": "e2"}}]}));
        assert!(matches!(
            decide_removal(&project(), &grant(Some(("t", "e"))), &p),
            Live::Drift(_)
        ));
        assert!(matches!(
            decide_removal(&project(), &grant(None), &p),
            Live::Drift(_)
        ));
        let p = policy(serde_json::json!({"bindings": [
            {"role": "roles/other", "members": ["user:a@agency.example"]}]}));
        assert!(matches!(
            decide_removal(&project(), &grant(None), &p),
            Live::AlreadyDone(_)
        ));
    }

    #[test]
    fn the_undo_keeps_the_condition_as_found() {
        let p = policy(serde_json::json!({"bindings": [
            {"role": "roles/r", "members": ["user:a@agency.example", "user:b@customer.example"],
             "condition": {"title": "t", "expression": "e", "description": "why"}}]}));
        let Live::AsPlanned(prep) = decide_removal(&project(), &grant(Some(("t", "e"))), &p) else {
            panic!("as planned")
        };
        let Undo::GcpGrants { resource, grants } = prep.undo else {
            panic!("grants")
        };
        assert_eq!(resource, "projects/p-1");
        assert_eq!(
            grants[0].condition.as_ref().unwrap().description.as_deref(),
            Some("why")
        );
        assert_eq!(grant_of(&grants[0]).member, "user:a@agency.example");
    }

    #[test]
    fn removals_from_one_resource_merge_and_others_do_not() {
        let settings = GcpSettings {
            endpoint: Some("http://127.0.0.1:9".into()),
            concurrency: 1,
            max_attempts: 1,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let exec = GcpExecutor {
            changer: rt.block_on(GcpChanger::connect("p-1", &settings)).unwrap(),
            number: "1".into(),
            handover: String::new(),
            checked: Mutex::new(BTreeMap::new()),
        };
        let remove = |r: IamResource, g: Grant| {
            vec![Write::GcpRemoveGrants {
                resource: r,
                grants: vec![g],
            }]
        };
        let a = remove(project(), grant(None));
        let b = remove(project(), grant(Some(("t", "e"))));
        let merged = exec.merge(&[&a, &b]).unwrap();
        assert_eq!(
            merged,
            vec![Write::GcpRemoveGrants {
                resource: project(),
                grants: vec![grant(None), grant(Some(("t", "e")))],
            }]
        );
        let secret = IamResource::Secret {
            project: "p-1".into(),
            secret: "s".into(),
        };
        assert!(exec.merge(&[&a, &remove(secret, grant(None))]).is_none());
        let key = vec![Write::GcpKey {
            account: "a@p-1.iam.gserviceaccount.com".into(),
            key_id: "k".into(),
            enable: false,
        }];
        assert!(exec.merge(&[&a, &key]).is_none());
    }

    #[test]
    fn a_bounded_grant_is_already_done_and_a_gone_one_is_drift() {
        use chrono::TimeZone;
        let until = Utc.with_ymd_and_hms(2027, 3, 31, 0, 0, 0).unwrap();
        let open = grant(None);
        let bounded = bounded(&open, until, "h").unwrap();
        let b = Bound {
            grant: &open,
            bounded: &bounded,
            ends: None,
            until,
            handover: "h",
        };
        let c = bounded.condition.clone().unwrap();
        let p = policy(serde_json::json!({"bindings": [
            {"role": "roles/r", "members": ["user:a@agency.example"],
             "condition": {"title": c.title, "expression": c.expression}}]}));
        assert!(matches!(
            decide_bound(&project(), &b, &p),
            Live::AlreadyDone(_)
        ));
        let p = policy(serde_json::json!({"bindings": []}));
        assert!(matches!(decide_bound(&project(), &b, &p), Live::Drift(_)));
        let p = policy(serde_json::json!({"bindings": [
            {"role": "roles/r", "members": ["user:a@agency.example"]}]}));
        let Live::AsPlanned(prep) = decide_bound(&project(), &b, &p) else {
            panic!("as planned")
        };
        assert!(matches!(prep.undo, Undo::GcpReplace { .. }));
        let earlier = Bound {
            ends: Some(until - chrono::Duration::days(1)),
            ..b
        };
        assert!(matches!(
            decide_bound(&project(), &earlier, &p),
            Live::AlreadyDone(_)
        ));
        assert_eq!(end_of("2027-03-31"), Some(until));
        assert_eq!(end_of("31/03/2027"), None);
    }

    #[test]
    fn a_key_gone_is_drift_and_delete_now_is_irreversible() {
        let o = Options::default();
        assert!(matches!(
            decide_key("a@p.iam.gserviceaccount.com", "k", KeyState::Gone, o),
            Live::Drift(_)
        ));
        assert!(matches!(
            decide_key("a@p.iam.gserviceaccount.com", "k", KeyState::Disabled, o),
            Live::AlreadyDone(_)
        ));
        let Live::AsPlanned(p) = decide_key(
            "a@p.iam.gserviceaccount.com",
            "k",
            KeyState::Enabled,
            Options { delete_now: true },
        ) else {
            panic!("as planned")
        };
        assert_eq!(p.writes.len(), 2);
        assert!(matches!(p.undo, Undo::Irreversible { .. }));
    }
}
