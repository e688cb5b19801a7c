//! Deleting a whole IAM user or role with `apply --delete-now`, only where the plan says
//! so (`delete: principal` on the revoke rule that decided one of its steps).
//!
//! Invariants:
//! - A user is deleted in the order AWS documents for `DeleteUser` (its console password,
//!   access keys, signing certificates, SSH public keys, service-specific credentials,
//!   MFA devices, inline policies, attached policies, group memberships, then the user):
//!   <https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html>. A role
//!   likewise (`DeleteRole`: instance profiles, inline policies, attached policies,
//!   then the role): <https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html>.
//! - Only what the plan saw is removed. A credential of the user that no revoke step of
//!   the plan names (a key made since the audit, or one the plan transfers) is `drift`:
//!   left for a person, the user is not deleted. A role's trust that still lets in a
//!   principal no revoke step names is `drift` likewise. Policies, groups, MFA devices and
//!   instance profiles grant or protect, they let no one in: they are detached as part of
//!   the deletion.
//! - The identity apply runs as is never deleted (left for a person, with why).
//! - The whole deletion is one journaled change (its intent, listing every call in order,
//!   is journaled before the first call). It cannot be undone (a deleted user's keys and
//!   password are gone; a role recreated is another role), so its undo says so. A run
//!   stopped midway is resumed from what is left live: every call is checked again.
//! - A principal already gone is `already-done` (the plan said to delete it).
//! - Nothing secret is read: lists return ids, names and ARNs only.

use std::collections::BTreeSet;

use aws_sdk_iam::types::AssignmentStatusType;
use aws_sdk_iam::Client;
use serde_json::Value;

use super::aws::fail;
use super::{Live, Prepared, Write};
use crate::error::Error;
use crate::journal::{ApplyChange, Undo, UndoCredential};
use crate::model::CredentialKind;
use crate::plan::{Step, TargetWhat};

/// One IAM call of a deletion, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    DeleteLoginProfile {
        user: String,
    },
    DeleteCredential {
        credential: UndoCredential,
        user: String,
        id: String,
    },
    DeactivateMfaDevice {
        user: String,
        serial: String,
    },
    DeleteVirtualMfaDevice {
        serial: String,
    },
    DeleteUserPolicy {
        user: String,
        name: String,
    },
    DetachUserPolicy {
        user: String,
        arn: String,
    },
    RemoveUserFromGroup {
        user: String,
        group: String,
    },
    DeleteUser {
        user: String,
    },
    RemoveRoleFromInstanceProfile {
        role: String,
        profile: String,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    DetachRolePolicy {
        role: String,
        arn: String,
    },
    DeleteRole {
        role: String,
    },
}

impl Call {
    /// The IAM action it needs (as `policies/permissions/aws-apply.json` grants it).
    pub fn action(&self) -> &'static str {
        match self {
            Call::DeleteLoginProfile { .. } => "iam:DeleteLoginProfile",
            Call::DeleteCredential { credential, .. } => match credential {
                UndoCredential::AccessKey => "iam:DeleteAccessKey",
                UndoCredential::SigningCertificate => "iam:DeleteSigningCertificate",
                UndoCredential::SshPublicKey => "iam:DeleteSSHPublicKey",
                UndoCredential::ServiceSpecificCredential => "iam:DeleteServiceSpecificCredential",
            },
            Call::DeactivateMfaDevice { .. } => "iam:DeactivateMFADevice",
            Call::DeleteVirtualMfaDevice { .. } => "iam:DeleteVirtualMFADevice",
            Call::DeleteUserPolicy { .. } => "iam:DeleteUserPolicy",
            Call::DetachUserPolicy { .. } => "iam:DetachUserPolicy",
            Call::RemoveUserFromGroup { .. } => "iam:RemoveUserFromGroup",
            Call::DeleteUser { .. } => "iam:DeleteUser",
            Call::RemoveRoleFromInstanceProfile { .. } => "iam:RemoveRoleFromInstanceProfile",
            Call::DeleteRolePolicy { .. } => "iam:DeleteRolePolicy",
            Call::DetachRolePolicy { .. } => "iam:DetachRolePolicy",
            Call::DeleteRole { .. } => "iam:DeleteRole",
        }
    }
}

/// What the deletion check needs from the AWS executor.
pub struct Who<'a> {
    pub iam: &'a Client,
    /// The principal apply runs as (an IAM user's ARN), when it is one.
    pub caller: Option<&'a str>,
    /// The user's or role's name as IAM lists it, `None` when it is gone.
    pub name: Option<&'a str>,
}

fn gone(what: &str) -> Live {
    Live::AlreadyDone(format!(
        "{what} no longer exists (the plan says to delete it)"
    ))
}

/// A list that IAM says goes on past what one read returns: left for a person rather
/// than read without end or deleted from a partial view.
fn too_long(user: &str, what: &str) -> Live {
    Live::LeftForAPerson(format!(
        "{user} has more {what} than one read returns: delete it by hand"
    ))
}

/// The live check of a step whose principal the plan deletes. `planned` are the plan's
/// revoke steps of the same principal (this one among them).
pub async fn check(who: Who<'_>, step: &Step, planned: &[&Step]) -> Result<Live, Error> {
    let principal = step.target.principal.as_deref().unwrap_or_default();
    if who.caller.is_some() && who.caller == step.target.principal.as_deref() {
        return Ok(Live::LeftForAPerson(format!(
            "apply runs as {principal}: it does not delete the identity it runs as; delete it with another identity once the rest is done"
        )));
    }
    match step.target.what {
        TargetWhat::Credential(CredentialKind::RoleTrust) => match who.name {
            None => Ok(gone(principal)),
            Some(role) => check_role(who.iam, role, planned).await,
        },
        TargetWhat::Credential(_) => match who.name {
            None => Ok(gone(principal)),
            Some(user) => check_user(who.iam, user, planned).await,
        },
        TargetWhat::Secret(_) => Ok(Live::LeftForAPerson(
            "a secret's grant has no principal apply deletes".into(),
        )),
    }
}

/// The (kind, id) of each credential the plan revokes (`None` id: a console password).
fn planned_credentials(planned: &[&Step]) -> BTreeSet<(CredentialKind, Option<String>)> {
    planned
        .iter()
        .filter_map(|s| match s.target.what {
            TargetWhat::Credential(CredentialKind::ConsolePassword) => {
                Some((CredentialKind::ConsolePassword, None))
            }
            TargetWhat::Credential(k) => Some((k, s.target.name.clone())),
            TargetWhat::Secret(_) => None,
        })
        .collect()
}

/// The user's credentials, in the order `DeleteUser` needs them gone: `Err` with the
/// outcome when one cannot be read whole.
async fn credentials(
    iam: &Client,
    user: &str,
) -> Result<Result<Vec<(CredentialKind, Option<String>)>, Live>, Error> {
    let mut out = Vec::new();
    match iam.get_login_profile().user_name(user).send().await {
        Ok(_) => out.push((CredentialKind::ConsolePassword, None)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) => {}
        Err(e) => return Err(fail("iam:GetLoginProfile", &e)),
    }
    let keys = iam
        .list_access_keys()
        .user_name(user)
        .max_items(1000)
        .send()
        .await;
    let keys = keys.map_err(|e| fail("iam:ListAccessKeys", &e))?;
    if keys.is_truncated() {
        return Ok(Err(too_long(user, "access keys")));
    }
    for k in keys.access_key_metadata() {
        out.push((
            CredentialKind::AccessKey,
            k.access_key_id().map(str::to_string),
        ));
    }
    let certs = iam
        .list_signing_certificates()
        .user_name(user)
        .max_items(1000)
        .send()
        .await;
    let certs = certs.map_err(|e| fail("iam:ListSigningCertificates", &e))?;
    if certs.is_truncated() {
        return Ok(Err(too_long(user, "signing certificates")));
    }
    for c in certs.certificates() {
        out.push((
            CredentialKind::SigningCertificate,
            Some(c.certificate_id().to_string()),
        ));
    }
    let ssh = iam
        .list_ssh_public_keys()
        .user_name(user)
        .max_items(1000)
        .send()
        .await;
    let ssh = ssh.map_err(|e| fail("iam:ListSSHPublicKeys", &e))?;
    if ssh.is_truncated() {
        return Ok(Err(too_long(user, "SSH public keys")));
    }
    for k in ssh.ssh_public_keys() {
        out.push((
            CredentialKind::SshPublicKey,
            Some(k.ssh_public_key_id().to_string()),
        ));
    }
    let ssc = iam
        .list_service_specific_credentials()
        .user_name(user)
        .send()
        .await;
    match ssc.map_err(|e| fail("iam:ListServiceSpecificCredentials", &e)) {
        Ok(ssc) => {
            for c in ssc.service_specific_credentials() {
                out.push((
                    CredentialKind::ServiceSpecificCredential,
                    Some(c.service_specific_credential_id().to_string()),
                ));
            }
        }
        // Denied: the identity lacks what apply needs, said as such.
        Err(e @ Error::Access { .. }) => return Err(e),
        // Not answered (moto does not implement the call): none is deleted, and one left
        // makes `DeleteUser` fail with `DeleteConflict` (API_DeleteUser.html), so an
        // unseen credential is never deleted blind; the audit marked them unknown too.
        Err(_) => {}
    }
    Ok(Ok(out))
}

fn credential_call(user: &str, kind: CredentialKind, id: Option<String>) -> Option<Call> {
    let credential = match kind {
        CredentialKind::ConsolePassword => {
            return Some(Call::DeleteLoginProfile { user: user.into() })
        }
        CredentialKind::AccessKey => UndoCredential::AccessKey,
        CredentialKind::SigningCertificate => UndoCredential::SigningCertificate,
        CredentialKind::SshPublicKey => UndoCredential::SshPublicKey,
        CredentialKind::ServiceSpecificCredential => UndoCredential::ServiceSpecificCredential,
        _ => return None,
    };
    Some(Call::DeleteCredential {
        credential,
        user: user.into(),
        id: id?,
    })
}

async fn check_user(iam: &Client, user: &str, planned: &[&Step]) -> Result<Live, Error> {
    let creds = match credentials(iam, user).await? {
        Ok(c) => c,
        Err(live) => return Ok(live),
    };
    let planned = planned_credentials(planned);
    let unplanned: Vec<String> = creds
        .iter()
        .filter(|c| !planned.contains(c))
        .map(|(k, id)| {
            format!("{k:?} {}", id.as_deref().unwrap_or(""))
                .trim()
                .to_string()
        })
        .collect();
    if !unplanned.is_empty() {
        return Ok(Live::Drift(format!(
            "{user} holds what the plan does not revoke ({}): a credential made since the audit, or one the plan keeps; the user is not deleted, a person decides",
            unplanned.join(", ")
        )));
    }
    let mut calls: Vec<Call> = creds
        .into_iter()
        .filter_map(|(k, id)| credential_call(user, k, id))
        .collect();
    let Some(more) = user_attachments(iam, user).await? else {
        return Ok(too_long(user, "policies, groups or MFA devices"));
    };
    calls.extend(more);
    calls.push(Call::DeleteUser { user: user.into() });
    Ok(prepared(calls, format!("delete the IAM user {user}"), "a deleted user cannot be restored: its keys, password and MFA are gone; a user made again under the name is a new principal"))
}

/// The user's MFA devices, inline and attached policies and groups, as the calls that
/// remove them, in `DeleteUser`'s order; `None` when a list is longer than one read.
async fn user_attachments(iam: &Client, user: &str) -> Result<Option<Vec<Call>>, Error> {
    let mut calls = Vec::new();
    let mfa = iam
        .list_mfa_devices()
        .user_name(user)
        .max_items(1000)
        .send()
        .await;
    let mfa = mfa.map_err(|e| fail("iam:ListMFADevices", &e))?;
    if mfa.is_truncated() {
        return Ok(None);
    }
    let serials: Vec<String> = mfa
        .mfa_devices()
        .iter()
        .map(|d| d.serial_number().to_string())
        .collect();
    let virtual_serials = if serials.is_empty() {
        BTreeSet::new()
    } else {
        // Which of them are virtual (a hardware device has nothing to delete), by the
        // serial numbers IAM lists, never by reading the serial's shape.
        let v = iam
            .list_virtual_mfa_devices()
            .assignment_status(AssignmentStatusType::Assigned)
            .max_items(1000)
            .send()
            .await
            .map_err(|e| fail("iam:ListVirtualMFADevices", &e))?;
        if v.is_truncated() {
            return Ok(None);
        }
        v.virtual_mfa_devices()
            .iter()
            .map(|d| d.serial_number().to_string())
            .collect::<BTreeSet<String>>()
    };
    for serial in serials {
        calls.push(Call::DeactivateMfaDevice {
            user: user.into(),
            serial: serial.clone(),
        });
        if virtual_serials.contains(&serial) {
            calls.push(Call::DeleteVirtualMfaDevice { serial });
        }
    }
    let inline = iam
        .list_user_policies()
        .user_name(user)
        .max_items(1000)
        .send()
        .await;
    let inline = inline.map_err(|e| fail("iam:ListUserPolicies", &e))?;
    let attached = iam
        .list_attached_user_policies()
        .user_name(user)
        .max_items(1000)
        .send()
        .await;
    let attached = attached.map_err(|e| fail("iam:ListAttachedUserPolicies", &e))?;
    let groups = iam
        .list_groups_for_user()
        .user_name(user)
        .max_items(1000)
        .send()
        .await;
    let groups = groups.map_err(|e| fail("iam:ListGroupsForUser", &e))?;
    if inline.is_truncated() || attached.is_truncated() || groups.is_truncated() {
        return Ok(None);
    }
    for name in inline.policy_names() {
        calls.push(Call::DeleteUserPolicy {
            user: user.into(),
            name: name.clone(),
        });
    }
    for p in attached.attached_policies() {
        if let Some(arn) = p.policy_arn() {
            calls.push(Call::DetachUserPolicy {
                user: user.into(),
                arn: arn.to_string(),
            });
        }
    }
    for g in groups.groups() {
        calls.push(Call::RemoveUserFromGroup {
            user: user.into(),
            group: g.group_name().to_string(),
        });
    }
    Ok(Some(calls))
}

/// Every principal the Allow statements of a trust policy name.
fn trusted(doc: &Value) -> BTreeSet<String> {
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    let mut out = BTreeSet::new();
    for st in statements {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        match st.get("Principal") {
            Some(Value::String(s)) => {
                out.insert(s.clone());
            }
            Some(Value::Object(map)) => {
                for v in map.values() {
                    match v {
                        Value::String(s) => {
                            out.insert(s.clone());
                        }
                        Value::Array(items) => {
                            out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

async fn check_role(iam: &Client, role: &str, planned: &[&Step]) -> Result<Live, Error> {
    let got = iam.get_role().role_name(role).send().await;
    let got = got.map_err(|e| fail("iam:GetRole", &e))?;
    let raw = got
        .role()
        .and_then(|r| r.assume_role_policy_document())
        .unwrap_or_default();
    let text = super::aws::decode_document(raw).unwrap_or_default();
    let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if doc.is_null() {
        return Ok(Live::LeftForAPerson(format!(
            "the trust policy of {role} could not be read as JSON: look at it in the console"
        )));
    }
    let revoked: BTreeSet<String> = planned
        .iter()
        .filter(|s| s.target.what == TargetWhat::Credential(CredentialKind::RoleTrust))
        .filter_map(|s| s.target.name.clone())
        .collect();
    let kept: Vec<String> = trusted(&doc).difference(&revoked).cloned().collect();
    if !kept.is_empty() {
        return Ok(Live::Drift(format!(
            "{role} also trusts what the plan does not revoke ({}): the role is not deleted, a person decides",
            kept.join(", ")
        )));
    }
    let profiles = iam
        .list_instance_profiles_for_role()
        .role_name(role)
        .max_items(1000)
        .send()
        .await;
    let profiles = profiles.map_err(|e| fail("iam:ListInstanceProfilesForRole", &e))?;
    let inline = iam
        .list_role_policies()
        .role_name(role)
        .max_items(1000)
        .send()
        .await;
    let inline = inline.map_err(|e| fail("iam:ListRolePolicies", &e))?;
    let attached = iam
        .list_attached_role_policies()
        .role_name(role)
        .max_items(1000)
        .send()
        .await;
    let attached = attached.map_err(|e| fail("iam:ListAttachedRolePolicies", &e))?;
    if profiles.is_truncated() || inline.is_truncated() || attached.is_truncated() {
        return Ok(too_long(role, "instance profiles or policies"));
    }
    let mut calls = Vec::new();
    for p in profiles.instance_profiles() {
        calls.push(Call::RemoveRoleFromInstanceProfile {
            role: role.into(),
            profile: p.instance_profile_name().to_string(),
        });
    }
    for name in inline.policy_names() {
        calls.push(Call::DeleteRolePolicy {
            role: role.into(),
            name: name.clone(),
        });
    }
    for p in attached.attached_policies() {
        if let Some(arn) = p.policy_arn() {
            calls.push(Call::DetachRolePolicy {
                role: role.into(),
                arn: arn.to_string(),
            });
        }
    }
    calls.push(Call::DeleteRole { role: role.into() });
    Ok(prepared(calls, format!("delete the IAM role {role}"), "a deleted role cannot be restored: a role made again under the name is a new principal, and trusts naming the old one do not follow it"))
}

fn prepared(calls: Vec<Call>, what: String, why: &str) -> Live {
    Live::AsPlanned(Prepared {
        change: ApplyChange::DeletePrincipal,
        calls: calls.iter().map(|c| c.action().to_string()).collect(),
        writes: calls.into_iter().map(Write::AwsIdentity).collect(),
        undo: Undo::Irreversible { why: why.into() },
        what: format!(
            "{what} ({}; not undoable)",
            "the plan's rule says to delete it"
        ),
    })
}

/// Makes one call of a deletion.
pub async fn write(iam: &Client, call: &Call) -> Result<(), Error> {
    let op = call.action();
    let r = match call {
        Call::DeleteLoginProfile { user } => iam
            .delete_login_profile()
            .user_name(user)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
        Call::DeleteCredential {
            credential,
            user,
            id,
        } => return super::aws::delete_credential(iam, *credential, user, id).await,
        Call::DeactivateMfaDevice { user, serial } => iam
            .deactivate_mfa_device()
            .user_name(user)
            .serial_number(serial)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
        Call::DeleteVirtualMfaDevice { serial } => iam
            .delete_virtual_mfa_device()
            .serial_number(serial)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
        Call::DeleteUserPolicy { user, name } => iam
            .delete_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
        Call::DetachUserPolicy { user, arn } => iam
            .detach_user_policy()
            .user_name(user)
            .policy_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
        Call::RemoveUserFromGroup { user, group } => iam
            .remove_user_from_group()
            .user_name(user)
            .group_name(group)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
        Call::DeleteUser { user } => iam
            .delete_user()
            .user_name(user)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
        Call::RemoveRoleFromInstanceProfile { role, profile } => iam
            .remove_role_from_instance_profile()
            .role_name(role)
            .instance_profile_name(profile)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
        Call::DeleteRolePolicy { role, name } => iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
        Call::DetachRolePolicy { role, arn } => iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
        Call::DeleteRole { role } => iam
            .delete_role()
            .role_name(role)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(op, &e)),
    };
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(principal: &str, what: TargetWhat) -> Step {
        let target = serde_json::json!({
            "kind": "credential", "id": "c", "what": what, "provider": "aws",
            "scope": "123456789012", "principal": principal, "name": "AKIA1",
            "region": null, "binding": null, "label": "l", "owner": "agency", "party": null
        });
        serde_json::from_value(serde_json::json!({
            "id": "s-1", "order": 1, "phase": "revoke-self", "target": target,
            "action": "revoke", "delete": "principal", "until": null, "rule": "r",
            "reason": "r", "severity": "high", "preconditions": [], "evidence": {}
        }))
        .unwrap()
    }

    /// The identity apply runs as is never deleted, whatever the plan says: it is
    /// refused before any call (the client here reaches nothing).
    #[tokio::test]
    async fn the_identity_apply_runs_as_is_not_deleted() {
        let arn = "arn:aws:iam::123456789012:user/ci-deploy";
        let conf = aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let iam = Client::from_conf(conf);
        let s = step(arn, TargetWhat::Credential(CredentialKind::AccessKey));
        let who = Who {
            iam: &iam,
            caller: Some(arn),
            name: Some("ci-deploy"),
        };
        let Live::LeftForAPerson(why) = check(who, &s, &[&s]).await.unwrap() else {
            panic!("left for a person");
        };
        assert!(
            why.contains("does not delete the identity it runs as"),
            "{why}"
        );
    }

    #[test]
    fn every_allow_principal_of_a_trust_is_read_and_deny_is_not() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["a", "b"], "Federated": "f"}},
            {"Effect": "Allow", "Principal": "*"},
            {"Effect": "Deny", "Principal": {"AWS": "d"}}
        ]});
        let got: Vec<String> = trusted(&doc).into_iter().collect();
        assert_eq!(got, vec!["*", "a", "b", "f"]);
    }
}
