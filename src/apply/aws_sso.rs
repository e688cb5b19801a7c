//! IAM Identity Center account assignments in `apply`: revoke is
//! `DeleteAccountAssignment`, undo is `CreateAccountAssignment` of the same instance,
//! account, permission set and principal, both followed to their end.
//!
//! Invariants:
//! - The assignment is named by the plan's typed `SsoAssignment` (never parsed out of
//!   an id) and read live with `ListAccountAssignments` before anything is written: an
//!   assignment already gone is `already-done`, never a second delete.
//! - A request is followed until Identity Center says it `SUCCEEDED` or `FAILED`
//!   (`DescribeAccountAssignmentDeletionStatus` / `...CreationStatus`), at most
//!   `POLLS` times; where the answer carries no status the assignment list is read
//!   again, so "done" always rests on what Identity Center answers.
//! - Retain-until has no Identity Center form (an assignment has no end date): such a
//!   step is left for a person.

use std::time::Duration;

use aws_sdk_ssoadmin::types::{PrincipalType, StatusValues, TargetType};

use super::aws::fail;
use super::{Live, Prepared, Write};
use crate::error::Error;
use crate::journal::{ApplyChange, Undo};
use crate::model::{Provider, SsoAssignment};
use crate::plan::Step;
use crate::policy::Action;
use crate::providers::aws::sso_live::account_assignments;
use crate::providers::Availability;

/// Most status reads of one request.
const POLLS: u32 = 60;

/// The sso-admin client of one account's executor.
pub struct SsoAssignments {
    admin: aws_sdk_ssoadmin::Client,
}

impl SsoAssignments {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        SsoAssignments {
            admin: aws_sdk_ssoadmin::Client::new(config),
        }
    }

    /// Is the assignment in place now (`ListAccountAssignments`)?
    pub async fn exists(&self, a: &SsoAssignment) -> Result<bool, Error> {
        let op = "sso:ListAccountAssignments";
        match account_assignments(
            &self.admin,
            &a.instance_arn,
            &a.account_id,
            &a.permission_set_arn,
        )
        .await
        {
            Availability::Known(list) => Ok(list.iter().any(|x| {
                x.principal_id == a.principal_id
                    && x.principal_type.eq_ignore_ascii_case(&a.principal_type)
            })),
            Availability::Unknown { reason, .. } => Err(Error::Api {
                provider: Provider::Aws,
                operation: op.into(),
                what: reason,
                hint: crate::providers::duty::Duty::Apply.aws_hint(),
            }),
        }
    }

    /// The live check of a step on an assignment.
    pub async fn check(&self, step: &Step) -> Result<Live, Error> {
        let Some(a) = &step.target.sso else {
            return Ok(Live::LeftForAPerson(
                "the plan names no Identity Center assignment for this step (made by an older version: plan again)".into(),
            ));
        };
        if step.action != Action::Revoke {
            return Ok(Live::LeftForAPerson(
                "an Identity Center assignment has no end date: a person bounds it (a permission set with a time condition) or deletes it".into(),
            ));
        }
        let what = format!(
            "delete the assignment of permission set {} on account {} to {} {}",
            a.permission_set_name,
            a.account_id,
            a.principal_type.to_ascii_lowercase(),
            a.principal_id
        );
        if !self.exists(a).await? {
            return Ok(Live::AlreadyDone(format!("{what}: it no longer exists")));
        }
        Ok(Live::AsPlanned(Prepared {
            change: ApplyChange::DeleteAssignment,
            writes: vec![Write::AwsSsoAssignment {
                assignment: a.clone(),
                create: false,
            }],
            calls: vec![
                "sso:DeleteAccountAssignment".into(),
                "sso:DescribeAccountAssignmentDeletionStatus".into(),
            ],
            undo: Undo::SsoAssignment {
                assignment: Box::new(a.clone()),
            },
            what,
        }))
    }

    /// The first of `names` that is an Identity Center user or group of `account` with
    /// an admin-equivalent assignment to it now (its own or, a user's, its group's),
    /// read live and judged as the audit judges it. A customer managed policy is not
    /// read here, so a set that is admin only through one does not count: a hold, never
    /// a lock-out.
    pub async fn admin_alive(
        &self,
        config: &aws_config::SdkConfig,
        account: &str,
        names: &[String],
    ) -> Option<String> {
        let sources = crate::providers::aws::sso_live::collect(config).await;
        let mut inv = crate::model::Inventory::new(chrono::Utc::now());
        crate::providers::aws::sso::assemble(&sources, account, &|_| None, &mut inv);
        names
            .iter()
            .find(|n| {
                inv.principals
                    .iter()
                    .any(|p| &p.name == *n && p.admin.equivalent == Some(true))
            })
            .cloned()
    }

    /// Deletes (or, undoing, creates) the assignment and follows the request to its end.
    pub async fn write(&self, a: &SsoAssignment, create: bool) -> Result<(), Error> {
        let principal = PrincipalType::from(a.principal_type.as_str());
        let request = if create {
            let out = self
                .admin
                .create_account_assignment()
                .instance_arn(&a.instance_arn)
                .target_id(&a.account_id)
                .target_type(TargetType::AwsAccount)
                .permission_set_arn(&a.permission_set_arn)
                .principal_type(principal)
                .principal_id(&a.principal_id)
                .send()
                .await
                .map_err(|e| fail("sso:CreateAccountAssignment", &e))?;
            out.account_assignment_creation_status().cloned()
        } else {
            let out = self
                .admin
                .delete_account_assignment()
                .instance_arn(&a.instance_arn)
                .target_id(&a.account_id)
                .target_type(TargetType::AwsAccount)
                .permission_set_arn(&a.permission_set_arn)
                .principal_type(principal)
                .principal_id(&a.principal_id)
                .send()
                .await
                .map_err(|e| fail("sso:DeleteAccountAssignment", &e))?;
            out.account_assignment_deletion_status().cloned()
        };
        let mut status = request;
        for attempt in 0..POLLS {
            match status.as_ref().and_then(|s| s.status()) {
                Some(StatusValues::Succeeded) => return Ok(()),
                Some(StatusValues::Failed) => {
                    let why = status
                        .as_ref()
                        .and_then(|s| s.failure_reason())
                        .unwrap_or("no reason given");
                    return Err(Error::Api {
                        provider: Provider::Aws,
                        operation: op_name(create).into(),
                        what: format!("Identity Center reports the request failed: {why}"),
                        hint: "fix what it names, then run apply again: a step not done is tried again".into(),
                    });
                }
                // No status in the answer: what the assignment list says decides.
                None => return self.settled(a, create).await,
                Some(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt.min(8) + 1))).await;
            let Some(id) = status
                .as_ref()
                .and_then(|s| s.request_id())
                .map(str::to_string)
            else {
                return self.settled(a, create).await;
            };
            status = self.status(&a.instance_arn, &id, create).await?;
        }
        Err(Error::Api {
            provider: Provider::Aws,
            operation: op_name(create).into(),
            what: "Identity Center still reports the request in progress".into(),
            hint: "run apply again later: the step is read live again and finished or found done"
                .into(),
        })
    }

    async fn status(
        &self,
        instance: &str,
        request: &str,
        create: bool,
    ) -> Result<Option<aws_sdk_ssoadmin::types::AccountAssignmentOperationStatus>, Error> {
        if create {
            let out = self
                .admin
                .describe_account_assignment_creation_status()
                .instance_arn(instance)
                .account_assignment_creation_request_id(request)
                .send()
                .await
                .map_err(|e| fail("sso:DescribeAccountAssignmentCreationStatus", &e))?;
            Ok(out.account_assignment_creation_status().cloned())
        } else {
            let out = self
                .admin
                .describe_account_assignment_deletion_status()
                .instance_arn(instance)
                .account_assignment_deletion_request_id(request)
                .send()
                .await
                .map_err(|e| fail("sso:DescribeAccountAssignmentDeletionStatus", &e))?;
            Ok(out.account_assignment_deletion_status().cloned())
        }
    }

    /// The request's end as the assignment list shows it.
    async fn settled(&self, a: &SsoAssignment, create: bool) -> Result<(), Error> {
        if self.exists(a).await? == create {
            return Ok(());
        }
        Err(Error::Api {
            provider: Provider::Aws,
            operation: op_name(create).into(),
            what: "Identity Center accepted the request but the assignment list does not show its effect yet".into(),
            hint: "run apply again: the step is read live again and finished or found done".into(),
        })
    }
}

fn op_name(create: bool) -> &'static str {
    if create {
        "sso:CreateAccountAssignment"
    } else {
        "sso:DeleteAccountAssignment"
    }
}
