//! The GCP executor's steps on credentials outside IAM (issue 17): an API key deleted
//! (undo: undelete), a Cloud Storage HMAC key deactivated (undo: ACTIVE again), a
//! workload identity pool provider deleted (undo: undelete). Google keeps a deleted key
//! or provider 30 days, so each is undoable in that time.
//!
//! Invariants: the resource is named from the plan's typed fields (this project's id,
//! the key's uid, the access id, the pool principal's resource name and the provider
//! id), never parsed out of a label; a pool of another project is left for a person;
//! the live check reads the state first, so a key already deleted or deactivated is
//! `already-done` and one gone is `drift`; nothing read is a secret (`getKeyString` is
//! never called; an HMAC key's metadata never carries its secret).

use super::{Live, Prepared, Write};
use crate::error::Error;
use crate::journal::{ApplyChange, Undo};
use crate::model::CredentialKind;
use crate::plan::{Step, TargetWhat};
use crate::providers::gcp::change::GcpChanger;
use crate::providers::gcp::{apikeys, hmac, wif};

/// The live check of a step on one of these kinds; `None` for any other kind.
pub(super) async fn check(changer: &GcpChanger, step: &Step) -> Option<Result<Live, Error>> {
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
                .map(|s| decide_hmac(project, id, s.as_deref()))
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

fn decide_hmac(project: &str, access_id: &str, state: Option<&str>) -> Live {
    match state {
        None => Live::Drift(format!("HMAC key {access_id} is gone")),
        Some("INACTIVE") => Live::AlreadyDone(format!("HMAC key {access_id} is already inactive")),
        Some(_) => Live::AsPlanned(Prepared {
            change: ApplyChange::Deactivate,
            writes: vec![Write::GcpHmacKey {
                project: project.into(),
                access_id: access_id.into(),
                active: false,
            }],
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
            decide_hmac("p", "GOOG1E", Some("ACTIVE")),
            Live::AsPlanned(_)
        ));
        assert!(matches!(
            decide_hmac("p", "GOOG1E", Some("INACTIVE")),
            Live::AlreadyDone(_)
        ));
        assert!(matches!(
            decide_provider(n, Some("DELETED")),
            Live::AlreadyDone(_)
        ));
        assert!(matches!(decide_provider(n, None), Live::Drift(_)));
    }
}
