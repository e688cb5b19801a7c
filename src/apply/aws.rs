//! The AWS executor of `apply`: revokes IAM credentials and outside principals in role
//! trust policies through the official SDK (grants in secrets' resource policies:
//! `aws_more`).
//!
//! Invariants:
//! - A user or role is found by its ARN in one `ListUsers` / `ListRoles` read per run
//!   (the ARN compared, never split), so a path in the ARN is never misread and a user
//!   deleted since the plan is `drift`.
//! - Key-like credentials (access key, SSH public key, service-specific credential,
//!   signing certificate) are set `Inactive` (undoable); deleted only with
//!   `--delete-now`. A console password is deleted (`DeleteLoginProfile`): AWS has no
//!   way to disable one, and a deleted password cannot be restored, so its undo says so.
//! - A trust policy loses only the principal the step names, in Allow statements only (a
//!   Deny naming it keeps denying), and a statement only when that was its only
//!   principal; everything else (conditions, other principals, Deny statements) is kept.
//!   A trust that would be left empty is left for a person (the plan does not say to
//!   delete the role). The document read is journaled for undo.
//! - Retain-until (a trust's `DateLessThan`, a user's inline Deny after the date) is
//!   `apply::aws_time`'s: its own checks and writes, dispatched from here.
//! - Re-encrypting a secret under the customer's KMS key is `apply::aws_kms`'s; it
//!   alone reads a secret value (to write it back under the new key), never logged.
//! - Revoking reads no secret: listing credentials returns ids and statuses only.

use std::collections::BTreeMap;

use aws_sdk_iam::types::StatusType;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::Value;

use super::{Executor, Live, Options, Prepared, Write};
use crate::error::Error;
use crate::journal::{ApplyChange, Undo, UndoCredential};
use crate::model::{CredentialKind, Provider};
use crate::plan::{SecretPart, Step, TargetWhat};
use crate::policy::Action;
use crate::providers::aws::live::{classify, sdk_config};

/// Most pages read of a list (1,000 items each): an account larger than this is refused
/// rather than read without end.
pub(super) const MAX_PAGES: usize = 1_000;

/// One AWS account, reached with one profile (or the standard chain).
pub struct AwsExecutor {
    pub(super) iam: aws_sdk_iam::Client,
    /// The connection's settings, for Secrets Manager clients of a secret's region.
    pub(super) sdk: aws_config::SdkConfig,
    pub(super) account: String,
    /// The caller's ARN when it is an IAM user (an assumed role's session ARN names no
    /// principal of the plan).
    caller: Option<String>,
    /// User ARN -> user name, role ARN -> role name, as IAM lists them.
    pub(super) users: BTreeMap<String, String>,
    pub(super) roles: BTreeMap<String, String>,
    /// Grants in secrets' resource policies (`aws_more`).
    secret_policies: super::aws_more::SecretPolicies,
    /// IAM Identity Center account assignments (`aws_sso`).
    pub(super) sso: super::aws_sso::SsoAssignments,
}

/// A failed call as an error naming the operation, with a hint for apply.
pub(super) fn fail<E>(operation: &str, e: &SdkError<E, HttpResponse>) -> Error
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let f = classify(e);
    if f.denied {
        Error::Access {
            provider: Provider::Aws,
            operation: operation.into(),
            what: f.message,
            hint: crate::providers::duty::Duty::Apply.aws_hint(),
        }
    } else {
        Error::Api {
            provider: Provider::Aws,
            operation: operation.into(),
            what: f.message,
            hint: "retry the run: steps journaled as done are not made again".into(),
        }
    }
}

impl AwsExecutor {
    /// Connects with `profile` (else the standard chain): the account, its users and roles.
    pub async fn connect(profile: Option<&str>, max_attempts: u32) -> Result<AwsExecutor, Error> {
        let mut config = sdk_config(profile, None, max_attempts).await?;
        if config.region().is_none() {
            // IAM is global; the SDK still signs for a region.
            config = sdk_config(profile, Some("us-east-1"), max_attempts).await?;
        }
        let me = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| fail("sts:GetCallerIdentity", &e))?;
        let iam = aws_sdk_iam::Client::new(&config);
        let mut exec = AwsExecutor {
            iam,
            sdk: config.clone(),
            account: me.account().unwrap_or_default().to_string(),
            caller: me.arn().map(str::to_string),
            users: BTreeMap::new(),
            roles: BTreeMap::new(),
            secret_policies: super::aws_more::SecretPolicies::new(&config),
            sso: super::aws_sso::SsoAssignments::new(&config),
        };
        exec.users = exec.list_users().await?;
        exec.roles = exec.list_roles().await?;
        // Compared with the users IAM lists, so only a user's own ARN is kept.
        exec.caller = exec.caller.filter(|arn| exec.users.contains_key(arn));
        Ok(exec)
    }

    async fn list_users(&self) -> Result<BTreeMap<String, String>, Error> {
        let mut out = BTreeMap::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .iam
                .list_users()
                .set_marker(marker.take())
                .max_items(1000)
                .send()
                .await
                .map_err(|e| fail("iam:ListUsers", &e))?;
            for u in page.users() {
                out.insert(u.arn().to_string(), u.user_name().to_string());
            }
            match page.marker().filter(|_| page.is_truncated()) {
                Some(m) => marker = Some(m.to_string()),
                None => return Ok(out),
            }
        }
        Err(too_many("iam:ListUsers"))
    }

    async fn list_roles(&self) -> Result<BTreeMap<String, String>, Error> {
        let mut out = BTreeMap::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .iam
                .list_roles()
                .set_marker(marker.take())
                .max_items(1000)
                .send()
                .await
                .map_err(|e| fail("iam:ListRoles", &e))?;
            for r in page.roles() {
                out.insert(r.arn().to_string(), r.role_name().to_string());
            }
            match page.marker().filter(|_| page.is_truncated()) {
                Some(m) => marker = Some(m.to_string()),
                None => return Ok(out),
            }
        }
        Err(too_many("iam:ListRoles"))
    }
}

pub(super) fn too_many(op: &str) -> Error {
    Error::Api {
        provider: Provider::Aws,
        operation: op.into(),
        what: format!("more than {MAX_PAGES} pages"),
        hint: "run apply with --only on part of the plan".into(),
    }
}

/// The credential kind as the status calls name it.
fn status_kind(k: CredentialKind) -> Option<UndoCredential> {
    Some(match k {
        CredentialKind::AccessKey => UndoCredential::AccessKey,
        CredentialKind::SshPublicKey => UndoCredential::SshPublicKey,
        CredentialKind::ServiceSpecificCredential => UndoCredential::ServiceSpecificCredential,
        CredentialKind::SigningCertificate => UndoCredential::SigningCertificate,
        _ => return None,
    })
}

fn update_call(c: UndoCredential) -> &'static str {
    match c {
        UndoCredential::AccessKey => "iam:UpdateAccessKey",
        UndoCredential::SshPublicKey => "iam:UpdateSSHPublicKey",
        UndoCredential::ServiceSpecificCredential => "iam:UpdateServiceSpecificCredential",
        UndoCredential::SigningCertificate => "iam:UpdateSigningCertificate",
    }
}

fn delete_call(c: UndoCredential) -> &'static str {
    match c {
        UndoCredential::AccessKey => "iam:DeleteAccessKey",
        UndoCredential::SshPublicKey => "iam:DeleteSSHPublicKey",
        UndoCredential::ServiceSpecificCredential => "iam:DeleteServiceSpecificCredential",
        UndoCredential::SigningCertificate => "iam:DeleteSigningCertificate",
    }
}

#[async_trait::async_trait]
impl Executor for AwsExecutor {
    fn scope(&self) -> &str {
        &self.account
    }

    fn provider(&self) -> Provider {
        Provider::Aws
    }

    fn caller(&self) -> Option<&str> {
        self.caller.as_deref()
    }

    async fn check(&self, step: &Step, opts: Options) -> Result<Live, Error> {
        if step.target.what == TargetWhat::Credential(CredentialKind::SsoAccountAssignment) {
            return self.sso.check(step).await;
        }
        if step.action == Action::RetainUntil {
            return self.check_retain(step).await;
        }
        if step.target.what == TargetWhat::Secret(SecretPart::SecretPolicyGrant) {
            return self.secret_policies.check(step).await;
        }
        if let (Action::Review, Some(r)) = (step.action, &step.target.reencrypt) {
            return self.check_reencrypt(step, r).await;
        }
        if step.target.what == TargetWhat::Secret(crate::plan::SecretPart::Secret)
            && step.action == crate::policy::Action::Rotate
        {
            return self.check_rotate_secret(step).await;
        }
        let TargetWhat::Credential(kind) = step.target.what else {
            return Ok(Live::LeftForAPerson(
                "not an AWS credential apply revokes".into(),
            ));
        };
        if kind == CredentialKind::RoleTrust {
            return self.check_trust(step).await;
        }
        let Some(user) = step
            .target
            .principal
            .as_ref()
            .and_then(|arn| self.users.get(arn))
        else {
            return Ok(Live::Drift(
                "the user the plan names no longer exists".into(),
            ));
        };
        match status_kind(kind) {
            Some(c) => self.check_status(step, c, user, opts).await,
            None if kind == CredentialKind::ConsolePassword => self.check_password(user).await,
            None => Ok(Live::LeftForAPerson(format!(
                "revoking a {kind:?} is not carried out by apply yet"
            ))),
        }
    }

    async fn write(&self, w: &Write) -> Result<(), Error> {
        match w {
            Write::AwsStatus {
                credential,
                user,
                id,
                status,
            } => self.set_status(*credential, user, id, status).await,
            Write::AwsDelete {
                credential,
                user,
                id,
            } => self.delete(*credential, user, id).await,
            Write::AwsDeleteLoginProfile { user } => self
                .iam
                .delete_login_profile()
                .user_name(user)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail("iam:DeleteLoginProfile", &e)),
            Write::AwsRotateSecret {
                region,
                secret,
                token,
            } => self
                .secrets(region)
                .rotate_secret()
                .secret_id(secret)
                .client_request_token(token)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail("secretsmanager:RotateSecret", &e)),
            Write::AwsTrust { role, document } => self
                .iam
                .update_assume_role_policy()
                .role_name(role)
                .policy_document(document)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail("iam:UpdateAssumeRolePolicy", &e)),
            Write::AwsPutUserPolicy {
                user,
                name,
                document,
            } => self.put_user_policy(user, name, document).await,
            Write::AwsDeleteUserPolicy { user, name } => self.delete_user_policy(user, name).await,
            Write::AwsSecretPolicy {
                secret,
                region,
                read,
                document,
            } => {
                self.secret_policies
                    .write(secret, region, read.as_deref(), document.as_deref())
                    .await
            }
            Write::AwsReEncrypt {
                secret,
                region,
                key,
                token,
            } => self.reencrypt(region, secret, key, token).await,
            Write::AwsSecretKey {
                secret,
                region,
                key,
            } => self.set_secret_key(region, secret, key.as_deref()).await,
            Write::AwsIdentity(call) => super::aws_delete::write(&self.iam, call).await,
            Write::AwsSsoAssignment { assignment, create } => {
                self.sso.write(assignment, *create).await
            }
            other => Err(Error::usage(
                format!("not an AWS write: {other:?}"),
                "this is a bug in handover: report it",
            )),
        }
    }

    async fn check_delete(&self, step: &Step, planned: &[&Step]) -> Result<Live, Error> {
        let arn = step.target.principal.as_ref();
        let name = match step.target.what {
            TargetWhat::Credential(CredentialKind::RoleTrust) => {
                arn.and_then(|a| self.roles.get(a))
            }
            _ => arn.and_then(|a| self.users.get(a)),
        };
        let who = super::aws_delete::Who {
            iam: &self.iam,
            caller: self.caller.as_deref(),
            name: name.map(String::as_str),
        };
        super::aws_delete::check(who, step, planned).await
    }

    fn undo(&self, undo: &Undo) -> Option<Vec<Write>> {
        let write = match undo {
            Undo::Status {
                credential,
                user,
                id,
                previous,
            } => Some(Write::AwsStatus {
                credential: *credential,
                user: user.clone(),
                id: id.clone(),
                status: previous.clone(),
            }),
            Undo::SsoAssignment { assignment } => Some(Write::AwsSsoAssignment {
                assignment: (**assignment).clone(),
                create: true,
            }),
            Undo::TrustPolicy { role, previous } => Some(Write::AwsTrust {
                role: role.clone(),
                document: previous.clone(),
            }),
            Undo::UserPolicy { user, name } => Some(Write::AwsDeleteUserPolicy {
                user: user.clone(),
                name: name.clone(),
            }),
            Undo::SecretPolicy {
                secret,
                region,
                previous,
            } => Some(Write::AwsSecretPolicy {
                secret: secret.clone(),
                region: region.clone(),
                read: None,
                document: Some(previous.clone()),
            }),
            Undo::SecretKey {
                secret,
                region,
                previous,
            } => Some(Write::AwsSecretKey {
                secret: secret.clone(),
                region: region.clone(),
                key: previous.clone(),
            }),
            // A replacement key is undone by deleting it.
            Undo::ReplacementKey {
                owner,
                created: Some(id),
                ..
            } => Some(Write::AwsDelete {
                credential: UndoCredential::AccessKey,
                user: owner.clone(),
                id: id.clone(),
            }),
            Undo::ReplacementKey { created: None, .. }
            | Undo::Irreversible { .. }
            | Undo::GcpGrants { .. }
            | Undo::GcpKey { .. }
            | Undo::GcpApiKey { .. }
            | Undo::GcpHmacKey { .. }
            | Undo::GcpApiKeyRestrictions { .. }
            | Undo::GcpProvider { .. }
            | Undo::GcpReplace { .. }
            | Undo::GcpAccount { .. } => None,
        };
        write.map(|w| vec![w])
    }

    async fn keys(&self, step: &Step) -> Result<Option<super::rotate::Keys>, Error> {
        let Some(user) = self.user_of(step) else {
            return Ok(None);
        };
        let out = self
            .iam
            .list_access_keys()
            .user_name(user)
            .max_items(100)
            .send()
            .await
            .map_err(|e| fail("iam:ListAccessKeys", &e))?;
        let ids = out
            .access_key_metadata()
            .iter()
            .filter_map(|k| k.access_key_id().map(str::to_string))
            .collect();
        Ok(Some(super::rotate::Keys {
            owner: user.to_string(),
            ids,
        }))
    }

    async fn create_key(&self, step: &Step) -> Result<super::rotate::Created, Error> {
        let user = self.user_of(step).ok_or_else(|| Error::Api {
            provider: Provider::Aws,
            operation: "iam:CreateAccessKey".into(),
            what: "the user the plan names no longer exists".into(),
            hint: "the plan is out of date: audit and plan again".into(),
        })?;
        let out = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(|e| fail("iam:CreateAccessKey", &e))?;
        // The SDK's `AccessKey` redacts its secret in `Debug`; it is moved into a
        // `SecretValue` here and nowhere else.
        let key = out.access_key.ok_or_else(|| Error::Api {
            provider: Provider::Aws,
            operation: "iam:CreateAccessKey".into(),
            what: format!("{user}: the answer carried no access key"),
            hint: "run apply again: a key made without its secret is deleted first".into(),
        })?;
        Ok(super::rotate::Created {
            owner: user.to_string(),
            id: key.access_key_id,
            secret: crate::secret::SecretValue::text(key.secret_access_key),
        })
    }

    fn delete_key(&self, step: &Step, id: &str) -> Option<Write> {
        Some(Write::AwsDelete {
            credential: UndoCredential::AccessKey,
            user: self.user_of(step)?.to_string(),
            id: id.to_string(),
        })
    }

    /// A user with a console password or an active access key, or a role (its trust is
    /// how it is reached). Names are compared with what IAM lists.
    async fn admin_alive(&self, names: &[String]) -> Result<Option<String>, Error> {
        for name in names {
            if self.roles.values().any(|r| r == name) {
                return Ok(Some(name.clone()));
            }
            if !self.users.values().any(|u| u == name) {
                continue;
            }
            if let Live::AsPlanned(_) = self.check_password(name).await? {
                return Ok(Some(name.clone()));
            }
            let keys = self
                .iam
                .list_access_keys()
                .user_name(name)
                .send()
                .await
                .map_err(|e| fail("iam:ListAccessKeys", &e))?;
            if keys
                .access_key_metadata()
                .iter()
                .any(|k| k.status() == Some(&StatusType::Active))
            {
                return Ok(Some(name.clone()));
            }
        }
        // Not an IAM user or role: an Identity Center user or group of the account.
        Ok(self.sso.admin_alive(&self.sdk, &self.account, names).await)
    }
}

impl AwsExecutor {
    /// A secret marked rotate: read live (`DescribeSecret`, no value). Rotated by this
    /// step already (a version whose id is the rotation token of another): done. With
    /// rotation configured (`RotationEnabled`): `RotateSecret`, which "starts a rotation
    /// with the values already stored in the secret"
    /// (<https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html>).
    /// Otherwise the customer's task.
    async fn check_rotate_secret(&self, step: &Step) -> Result<Live, Error> {
        let region = step.target.region.as_deref().unwrap_or("us-east-1");
        let got = self
            .secrets(region)
            .describe_secret()
            .secret_id(&step.target.id)
            .send()
            .await;
        let d = match got {
            Ok(d) => d,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(Live::Drift(
                    "the secret is gone (deleted since the plan)".into(),
                ))
            }
            Err(e) => return Err(fail("secretsmanager:DescribeSecret", &e)),
        };
        let name = d.name().unwrap_or(&step.target.id).to_string();
        let stages = d.version_ids_to_stages().cloned().unwrap_or_default();
        let ours = stages
            .keys()
            .find(|v| stages.contains_key(&super::rotate::rotation_token(&step.id, v)));
        if let Some(from) = ours {
            return Ok(Live::AlreadyDone(format!(
                "secret {name} was rotated by apply (from version {from})"
            )));
        }
        if !d.rotation_enabled().unwrap_or(false) {
            return Ok(Live::LeftForAPerson(super::rotate::CUSTOMER_TASK.into()));
        }
        let Some(current) = stages
            .iter()
            .find(|(_, s)| s.iter().any(|x| x == "AWSCURRENT"))
            .map(|(v, _)| v.clone())
        else {
            return Ok(Live::LeftForAPerson(format!(
                "secret {name} has no current version to rotate"
            )));
        };
        Ok(Live::AsPlanned(Prepared {
            change: ApplyChange::RotateSecret,
            writes: vec![Write::AwsRotateSecret {
                region: region.to_string(),
                secret: step.target.id.clone(),
                token: super::rotate::rotation_token(&step.id, &current),
            }],
            calls: vec!["secretsmanager:RotateSecret".into()],
            undo: Undo::Irreversible {
                why: "a rotation is not undone by apply: the previous value stays as the secret's AWSPREVIOUS version".into(),
            },
            what: format!("start the rotation configured for secret {name} (RotateSecret)"),
        }))
    }

    /// The IAM user name of the step's principal, as IAM listed it.
    fn user_of(&self, step: &Step) -> Option<&str> {
        step.target
            .principal
            .as_ref()
            .and_then(|arn| self.users.get(arn))
            .map(String::as_str)
    }

    /// The status of one key-like credential of `user`, `None` when it is gone.
    async fn status_of(
        &self,
        c: UndoCredential,
        user: &str,
        id: &str,
    ) -> Result<Option<StatusType>, Error> {
        let found: Vec<(String, StatusType)> = match c {
            UndoCredential::AccessKey => {
                let out = self
                    .iam
                    .list_access_keys()
                    .user_name(user)
                    .max_items(100)
                    .send()
                    .await;
                out.map_err(|e| fail("iam:ListAccessKeys", &e))?
                    .access_key_metadata()
                    .iter()
                    .filter_map(|k| Some((k.access_key_id()?.to_string(), k.status()?.clone())))
                    .collect()
            }
            UndoCredential::SshPublicKey => {
                let out = self
                    .iam
                    .list_ssh_public_keys()
                    .user_name(user)
                    .max_items(100)
                    .send()
                    .await;
                out.map_err(|e| fail("iam:ListSSHPublicKeys", &e))?
                    .ssh_public_keys()
                    .iter()
                    .map(|k| (k.ssh_public_key_id().to_string(), k.status().clone()))
                    .collect()
            }
            UndoCredential::ServiceSpecificCredential => {
                let out = self
                    .iam
                    .list_service_specific_credentials()
                    .user_name(user)
                    .send()
                    .await;
                out.map_err(|e| fail("iam:ListServiceSpecificCredentials", &e))?
                    .service_specific_credentials()
                    .iter()
                    .map(|k| {
                        (
                            k.service_specific_credential_id().to_string(),
                            k.status().clone(),
                        )
                    })
                    .collect()
            }
            UndoCredential::SigningCertificate => {
                let out = self
                    .iam
                    .list_signing_certificates()
                    .user_name(user)
                    .max_items(100)
                    .send()
                    .await;
                out.map_err(|e| fail("iam:ListSigningCertificates", &e))?
                    .certificates()
                    .iter()
                    .map(|k| (k.certificate_id().to_string(), k.status().clone()))
                    .collect()
            }
        };
        Ok(found.into_iter().find(|(k, _)| k == id).map(|(_, s)| s))
    }

    async fn check_status(
        &self,
        step: &Step,
        c: UndoCredential,
        user: &str,
        opts: Options,
    ) -> Result<Live, Error> {
        let Some(id) = step.target.name.as_deref() else {
            return Ok(Live::LeftForAPerson(
                "the plan names no credential id".into(),
            ));
        };
        let status = match self.status_of(c, user, id).await? {
            None => {
                return Ok(Live::Drift(format!(
                    "{id} of {user} is gone (deleted or replaced since the plan)"
                )))
            }
            Some(s) => s,
        };
        let active = status == StatusType::Active;
        let deactivate = Write::AwsStatus {
            credential: c,
            user: user.into(),
            id: id.into(),
            status: StatusType::Inactive.as_str().into(),
        };
        if opts.delete_now {
            let mut writes = Vec::new();
            let mut calls = Vec::new();
            if active {
                writes.push(deactivate);
                calls.push(update_call(c).to_string());
            }
            writes.push(Write::AwsDelete {
                credential: c,
                user: user.into(),
                id: id.into(),
            });
            calls.push(delete_call(c).to_string());
            return Ok(Live::AsPlanned(Prepared {
                change: ApplyChange::Delete,
                writes,
                calls,
                undo: Undo::Irreversible {
                    why: "a deleted credential cannot be restored".into(),
                },
                what: format!("deactivate and delete {id} of {user}"),
            }));
        }
        if !active {
            return Ok(Live::AlreadyDone(format!(
                "{id} of {user} is already inactive"
            )));
        }
        Ok(Live::AsPlanned(Prepared {
            change: ApplyChange::Deactivate,
            writes: vec![deactivate],
            calls: vec![update_call(c).to_string()],
            undo: Undo::Status {
                credential: c,
                user: user.into(),
                id: id.into(),
                previous: StatusType::Active.as_str().into(),
            },
            what: format!(
                "deactivate {id} of {user} (deletion waits for a later run: --delete-now deletes at once)"
            ),
        }))
    }

    async fn check_password(&self, user: &str) -> Result<Live, Error> {
        match self.iam.get_login_profile().user_name(user).send().await {
            Ok(_) => Ok(Live::AsPlanned(Prepared {
                change: ApplyChange::Delete,
                writes: vec![Write::AwsDeleteLoginProfile { user: user.into() }],
                calls: vec!["iam:DeleteLoginProfile".into()],
                undo: Undo::Irreversible {
                    why: "a deleted console password cannot be restored; the user would need a new one".into(),
                },
                what: format!("delete the console password of {user}"),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(Live::AlreadyDone(format!("{user} has no console password")))
            }
            Err(e) => Err(fail("iam:GetLoginProfile", &e)),
        }
    }

    async fn set_status(
        &self,
        c: UndoCredential,
        user: &str,
        id: &str,
        status: &str,
    ) -> Result<(), Error> {
        let s = StatusType::from(status);
        let r = match c {
            UndoCredential::AccessKey => self
                .iam
                .update_access_key()
                .user_name(user)
                .access_key_id(id)
                .status(s)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail(update_call(c), &e)),
            UndoCredential::SshPublicKey => self
                .iam
                .update_ssh_public_key()
                .user_name(user)
                .ssh_public_key_id(id)
                .status(s)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail(update_call(c), &e)),
            UndoCredential::ServiceSpecificCredential => self
                .iam
                .update_service_specific_credential()
                .user_name(user)
                .service_specific_credential_id(id)
                .status(s)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail(update_call(c), &e)),
            UndoCredential::SigningCertificate => self
                .iam
                .update_signing_certificate()
                .user_name(user)
                .certificate_id(id)
                .status(s)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail(update_call(c), &e)),
        };
        r
    }

    async fn delete(&self, c: UndoCredential, user: &str, id: &str) -> Result<(), Error> {
        delete_credential(&self.iam, c, user, id).await
    }

    async fn check_trust(&self, step: &Step) -> Result<Live, Error> {
        let Trust {
            role,
            principal,
            previous,
            doc,
        } = match self.read_trust(step).await? {
            Ok(t) => t,
            Err(gone) => return Ok(gone),
        };
        Ok(match without_principal(&doc, principal) {
            TrustEdit::Absent => Live::AlreadyDone(format!("{role} no longer trusts {principal}")),
            TrustEdit::Empty if step.delete.is_some() => Live::LeftForAPerson(format!(
                "{principal} is the only principal {role} trusts: the plan says to delete the role, which `apply --delete-now` does"
            )),
            TrustEdit::Empty => Live::LeftForAPerson(format!(
                "{principal} is the only principal {role} trusts: removing it would leave no trust; the plan does not say to delete the role"
            )),
            TrustEdit::Rewritten(new) => Live::AsPlanned(Prepared {
                change: ApplyChange::RewriteTrust,
                writes: vec![Write::AwsTrust {
                    role: role.clone(),
                    document: serde_json::to_string(&new).expect("JSON serializes"),
                }],
                calls: vec!["iam:UpdateAssumeRolePolicy".into()],
                undo: Undo::TrustPolicy {
                    role: role.clone(),
                    previous,
                },
                what: format!("rewrite the trust policy of {role} without {principal}"),
            }),
        })
    }
}

/// The trust policy of the role a trust step names, read live: the role's name, the
/// principal the step is about, the document as IAM holds it (for undo) and parsed.
pub(super) struct Trust<'s> {
    pub role: String,
    pub principal: &'s str,
    pub previous: String,
    pub doc: Value,
}

impl AwsExecutor {
    /// Reads the trust policy of the role `step` names (`GetRole`); `Err(drift)` when the
    /// role is gone since the plan. Revoke (`check_trust`) and retain-until
    /// (`aws_time`) both start from it.
    pub(super) async fn read_trust<'s>(
        &self,
        step: &'s Step,
    ) -> Result<Result<Trust<'s>, Live>, Error> {
        let (Some(role), Some(principal)) = (
            step.target
                .principal
                .as_ref()
                .and_then(|arn| self.roles.get(arn)),
            step.target.name.as_deref(),
        ) else {
            return Ok(Err(Live::Drift(
                "the role the plan names no longer exists".into(),
            )));
        };
        let got = self
            .iam
            .get_role()
            .role_name(role)
            .send()
            .await
            .map_err(|e| fail("iam:GetRole", &e))?;
        let raw = got
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .unwrap_or_default();
        let previous = decode_document(raw).map_err(|what| Error::Api {
            provider: Provider::Aws,
            operation: "iam:GetRole".into(),
            what: format!("the trust policy of {role}: {what}"),
            hint: "look at the role's trust policy in the console".into(),
        })?;
        let doc: Value = serde_json::from_str(&previous).unwrap_or(Value::Null);
        Ok(Ok(Trust {
            role: role.clone(),
            principal,
            previous,
            doc,
        }))
    }
}

/// Deletes one key-like credential of `user`.
pub(super) async fn delete_credential(
    iam: &aws_sdk_iam::Client,
    c: UndoCredential,
    user: &str,
    id: &str,
) -> Result<(), Error> {
    match c {
        UndoCredential::AccessKey => iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(delete_call(c), &e)),
        UndoCredential::SshPublicKey => iam
            .delete_ssh_public_key()
            .user_name(user)
            .ssh_public_key_id(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(delete_call(c), &e)),
        UndoCredential::ServiceSpecificCredential => iam
            .delete_service_specific_credential()
            .user_name(user)
            .service_specific_credential_id(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(delete_call(c), &e)),
        UndoCredential::SigningCertificate => iam
            .delete_signing_certificate()
            .user_name(user)
            .certificate_id(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail(delete_call(c), &e)),
    }
}

/// A policy document as IAM returns it (URL-encoded JSON) as JSON text.
pub(super) fn decode_document(raw: &str) -> Result<String, String> {
    let text = if raw.trim_start().starts_with('{') {
        raw.to_string()
    } else {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| "not UTF-8 after URL-decoding".to_string())?
            .into_owned()
    };
    serde_json::from_str::<Value>(&text).map_err(|e| format!("not JSON ({e})"))?;
    Ok(text)
}

/// What removing one principal does to a trust policy.
#[derive(Debug, PartialEq)]
pub enum TrustEdit {
    /// No Allow statement names it: nothing to do.
    Absent,
    /// It was the only principal of every Allow statement left: nothing would remain.
    Empty,
    Rewritten(Value),
}

/// The trust policy without `principal` in any Allow statement: removed from each
/// `Principal` entry naming it, the entry dropped when empty, the statement dropped when
/// no principal is left. Deny statements and every other field are kept as they are.
pub fn without_principal(doc: &Value, principal: &str) -> TrustEdit {
    let statements: Vec<Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => return TrustEdit::Absent,
    };
    let mut found = false;
    let mut kept = Vec::new();
    for mut st in statements {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            kept.push(st);
            continue;
        }
        match remove_from_statement(&mut st, principal) {
            Removed::No => kept.push(st),
            Removed::Some => {
                found = true;
                kept.push(st)
            }
            Removed::All => found = true,
        }
    }
    if !found {
        return TrustEdit::Absent;
    }
    if kept.is_empty() {
        return TrustEdit::Empty;
    }
    let mut out = doc.clone();
    out["Statement"] = Value::Array(kept);
    TrustEdit::Rewritten(out)
}

enum Removed {
    No,
    Some,
    /// The statement names no principal any more.
    All,
}

fn remove_from_statement(st: &mut Value, principal: &str) -> Removed {
    let Some(p) = st.get_mut("Principal") else {
        return Removed::No;
    };
    let map = match p {
        Value::String(s) if s == principal => return Removed::All,
        Value::Object(map) => map,
        _ => return Removed::No,
    };
    let mut found = false;
    map.retain(|_, v| {
        match v {
            Value::String(s) if s == principal => {
                found = true;
                return false;
            }
            Value::Array(items) => {
                let before = items.len();
                items.retain(|i| i.as_str() != Some(principal));
                found |= items.len() != before;
                return !items.is_empty();
            }
            _ => {}
        }
        true
    });
    match (found, map.is_empty()) {
        (false, _) => Removed::No,
        (true, true) => Removed::All,
        (true, false) => Removed::Some,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_named_principal_leaves_the_trust_policy() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::210987654321:root", "arn:aws:iam::111111111111:root"]}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/x"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {"x:sub": "repo:a/*"}}},
            {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}, "Action": "sts:TagSession"}
        ]});
        let TrustEdit::Rewritten(out) = without_principal(&doc, "arn:aws:iam::210987654321:root")
        else {
            panic!("rewritten")
        };
        assert_eq!(
            out["Statement"][0]["Principal"]["AWS"],
            json!(["arn:aws:iam::111111111111:root"])
        );
        assert_eq!(out["Statement"][1], doc["Statement"][1]);
        // A Deny naming it keeps denying.
        assert_eq!(out["Statement"][2], doc["Statement"][2]);
        let TrustEdit::Rewritten(out) =
            without_principal(&doc, "arn:aws:iam::123456789012:oidc-provider/x")
        else {
            panic!("rewritten")
        };
        assert_eq!(
            out["Statement"].as_array().unwrap().len(),
            2,
            "its only principal: the statement goes"
        );
        assert_eq!(
            without_principal(&doc, "arn:aws:iam::999999999999:root"),
            TrustEdit::Absent
        );
    }

    #[test]
    fn a_trust_left_with_no_statement_is_not_rewritten() {
        let doc =
            json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}});
        assert_eq!(without_principal(&doc, "*"), TrustEdit::Empty);
    }
}
