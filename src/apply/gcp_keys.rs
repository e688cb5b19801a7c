//! The GCP executor's steps on credentials outside IAM (issue 17): an API key deleted
//! (undo: undelete), a Cloud Storage HMAC key deactivated (undo: ACTIVE again), a
//! workload identity pool provider deleted (undo: undelete). Google keeps a deleted key
//! or provider 30 days, so each is undoable in that time. An HMAC key is deleted (not
//! undoable) by `--delete-now`, or by `--finish` once it has been INACTIVE for the
//! grace period; Google deletes only an INACTIVE key, so an active one is deactivated
//! first, in the same step.
//!
//! Invariants: the resource is named from the plan's typed fields (this project's id,
//! the key's uid, the access id, the pool principal's resource name and the provider
//! id), never parsed out of a label; a pool of another project is left for a person;
//! the live check reads the state first, so a key already deleted or deactivated is
//! `already-done` and one gone is `drift`; nothing read is a secret (`getKeyString` is
//! never called; an HMAC key's metadata never carries its secret).

use super::{Live, Options, Prepared, Write};
use crate::error::Error;
use crate::journal::{ApplyChange, Undo};
use crate::model::CredentialKind;
use crate::plan::{Step, TargetWhat};
use crate::providers::gcp::change::GcpChanger;
use crate::providers::gcp::{apikeys, hmac, wif};

/// The live check of a kept API key's `restrict:` (a transfer or retain-until): its
/// restrictions read live (`keys.get`, never the key string); already the plan's, it
/// is `already-done`; deleted or gone, `drift`; else patched to the plan's, the
/// restrictions found journaled for undo.
pub(super) async fn check_restrict(changer: &GcpChanger, step: &Step) -> Result<Live, Error> {
    let (Some(id), Some(restrict)) = (step.target.name.as_deref(), step.restrict.as_ref()) else {
        return Ok(Live::LeftForAPerson(
            "the plan names no key id or no restrictions for this step".into(),
        ));
    };
    let name = format!("projects/{}/locations/global/keys/{id}", changer.project());
    let Some((found, previous)) = apikeys::restrictions(changer.clients(), &name).await? else {
        return Ok(Live::Drift(format!("API key {name} is deleted or gone")));
    };
    if restrict.matches(&found) {
        return Ok(Live::AlreadyDone(format!(
            "API key {name} is already restricted to {}",
            restrict.describe()
        )));
    }
    Ok(Live::AsPlanned(Prepared {
        change: ApplyChange::Restrict,
        writes: vec![Write::GcpApiKeyRestrictions {
            name: name.clone(),
            restrictions: restrict.to_google(),
        }],
        calls: vec!["apikeys.keys.patch".into()],
        undo: Undo::GcpApiKeyRestrictions {
            name: name.clone(),
            previous,
        },
        what: format!("restrict API key {name} to {}", restrict.describe()),
    }))
}

/// The live check of a step on one of these kinds; `None` for any other kind.
pub(super) async fn check(
    changer: &GcpChanger,
    step: &Step,
    opts: Options,
) -> Option<Result<Live, Error>> {
    let t = &step.target;
    let project = changer.project();
    let Some(id) = t.name.as_deref() else {
        return Some(Ok(Live::LeftForAPerson(
            "the plan names no key or provider id for this step".into(),
        )));
    };
    Some(match t.what {
        TargetWhat::Credential(CredentialKind::GcpApiKey) => {
            let name = format!("projects/{project}/locations/global/keys/{id}");
            apikeys::key_state(changer.clients(), &name)
                .await
                .map(|s| decide_api_key(&name, s))
        }
        TargetWhat::Credential(CredentialKind::GcpHmacKey) => {
            hmac::state(changer.clients().rest(), project, id)
                .await
                .map(|s| decide_hmac(project, id, s.as_deref(), opts))
        }
        TargetWhat::Credential(CredentialKind::GcpWorkloadIdentityProvider) => {
            let own = format!("projects/{project}/locations/global/workloadIdentityPools/");
            match t.principal.as_deref().filter(|p| p.starts_with(&own)) {
                None => Ok(Live::LeftForAPerson(format!(
                    "the plan names no workload identity pool of project {project} for this provider"
                ))),
                Some(pool) => {
                    let name = format!("{pool}/providers/{id}");
                    wif::provider_state(changer.clients().rest(), &name)
                        .await
                        .map(|s| decide_provider(&name, s.as_deref()))
                }
            }
        }
        _ => return None,
    })
}

fn decide_api_key(name: &str, state: apikeys::KeyState) -> Live {
    match state {
        apikeys::KeyState::Gone => Live::Drift(format!("API key {name} is gone")),
        apikeys::KeyState::Deleted => {
            Live::AlreadyDone(format!("API key {name} is already deleted"))
        }
        apikeys::KeyState::Active => Live::AsPlanned(Prepared {
            change: ApplyChange::SoftDelete,
            writes: vec![Write::GcpApiKey {
                name: name.into(),
                undelete: false,
            }],
            calls: vec!["apikeys.keys.delete".into()],
            undo: Undo::GcpApiKey { name: name.into() },
            what: format!("delete API key {name} (undeletable for 30 days)"),
        }),
    }
}

fn decide_hmac(project: &str, access_id: &str, state: Option<&str>, opts: Options) -> Live {
    let deactivate = Write::GcpHmacKey {
        project: project.into(),
        access_id: access_id.into(),
        active: false,
    };
    match state {
        None => Live::Drift(format!("HMAC key {access_id} is gone")),
        Some(s) if opts.delete_now => {
            let mut writes = Vec::new();
            let mut calls = Vec::new();
            if s != "INACTIVE" {
                writes.push(deactivate);
                calls.push("storage.hmacKeys.update".to_string());
            }
            writes.push(Write::GcpDeleteHmacKey {
                project: project.into(),
                access_id: access_id.into(),
            });
            calls.push("storage.hmacKeys.delete".to_string());
            Live::AsPlanned(Prepared {
                change: ApplyChange::Delete,
                writes,
                calls,
                undo: Undo::Irreversible {
                    why: "a deleted HMAC key cannot be restored".into(),
                },
                what: format!("deactivate and delete HMAC key {access_id}"),
            })
        }
        Some("INACTIVE") => Live::AlreadyDone(format!("HMAC key {access_id} is already inactive")),
        Some(_) => Live::AsPlanned(Prepared {
            change: ApplyChange::Deactivate,
            writes: vec![deactivate],
            calls: vec!["storage.hmacKeys.update".into()],
            undo: Undo::GcpHmacKey {
                project: project.into(),
                access_id: access_id.into(),
            },
            what: format!("deactivate HMAC key {access_id}"),
        }),
    }
}

fn decide_provider(name: &str, state: Option<&str>) -> Live {
    match state {
        None => Live::Drift(format!("workload identity provider {name} is gone")),
        Some("DELETED") => Live::AlreadyDone(format!(
            "workload identity provider {name} is already deleted"
        )),
        Some(_) => Live::AsPlanned(Prepared {
            change: ApplyChange::SoftDelete,
            writes: vec![Write::GcpProvider {
                name: name.into(),
                undelete: false,
            }],
            calls: vec!["iam.workloadIdentityPoolProviders.delete".into()],
            undo: Undo::GcpProvider { name: name.into() },
            what: format!("delete workload identity provider {name} (undeletable for 30 days)"),
        }),
    }
}

/// Carries out one of these writes; `None` for any other write.
pub(super) async fn write(changer: &GcpChanger, w: &Write) -> Option<Result<(), Error>> {
    let c = changer.clients();
    Some(match w {
        Write::GcpApiKey { name, undelete } => match undelete {
            false => apikeys::delete(c, name).await,
            true => apikeys::undelete(c, name).await,
        },
        Write::GcpHmacKey {
            project,
            access_id,
            active,
        } => {
            let to = if *active { "ACTIVE" } else { "INACTIVE" };
            hmac::set_state(c.rest(), project, access_id, to).await
        }
        Write::GcpApiKeyRestrictions { name, restrictions } => {
            apikeys::set_restrictions(c, name, restrictions).await
        }
        Write::GcpDeleteHmacKey { project, access_id } => {
            hmac::delete(c.rest(), project, access_id).await
        }
        Write::GcpProvider { name, undelete } => {
            wif::set_provider_deleted(c.rest(), name, !undelete).await
        }
        _ => return None,
    })
}

/// The write that undoes one of these changes; `None` for any other undo.
pub(super) fn undo(undo: &Undo) -> Option<Write> {
    match undo {
        Undo::GcpApiKey { name } => Some(Write::GcpApiKey {
            name: name.clone(),
            undelete: true,
        }),
        Undo::GcpApiKeyRestrictions { name, previous } => Some(Write::GcpApiKeyRestrictions {
            name: name.clone(),
            restrictions: previous.clone(),
        }),
        Undo::GcpHmacKey { project, access_id } => Some(Write::GcpHmacKey {
            project: project.clone(),
            access_id: access_id.clone(),
            active: true,
        }),
        Undo::GcpProvider { name } => Some(Write::GcpProvider {
            name: name.clone(),
            undelete: true,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_decide_as_planned_already_done_or_drift() {
        let n = "projects/p/locations/global/keys/u";
        assert!(matches!(
            decide_api_key(n, apikeys::KeyState::Active),
            Live::AsPlanned(_)
        ));
        assert!(matches!(
            decide_api_key(n, apikeys::KeyState::Deleted),
            Live::AlreadyDone(_)
        ));
        assert!(matches!(
            decide_api_key(n, apikeys::KeyState::Gone),
            Live::Drift(_)
        ));
        assert!(matches!(
            decide_hmac("p", "GOOG1E", Some("ACTIVE"), Options::default()),
            Live::AsPlanned(_)
        ));
        assert!(matches!(
            decide_hmac("p", "GOOG1E", Some("INACTIVE"), Options::default()),
            Live::AlreadyDone(_)
        ));
        assert!(matches!(
            decide_provider(n, Some("DELETED")),
            Live::AlreadyDone(_)
        ));
        assert!(matches!(decide_provider(n, None), Live::Drift(_)));
    }

    /// `--delete-now` / `--finish`: an INACTIVE key is deleted alone; an active one is
    /// deactivated first (Google deletes only an INACTIVE key); not undoable.
    #[test]
    fn deleting_an_hmac_key_deactivates_it_first_when_active() {
        let now = Options { delete_now: true };
        let calls = |state| match decide_hmac("p", "GOOG1E", Some(state), now) {
            Live::AsPlanned(p) => {
                assert!(matches!(p.undo, Undo::Irreversible { .. }));
                assert_eq!(p.change, ApplyChange::Delete);
                p.calls
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(calls("INACTIVE"), ["storage.hmacKeys.delete"]);
        assert_eq!(
            calls("ACTIVE"),
            ["storage.hmacKeys.update", "storage.hmacKeys.delete"]
        );
        assert!(matches!(
            decide_hmac("p", "GOOG1E", None, now),
            Live::Drift(_)
        ));
    }
}
