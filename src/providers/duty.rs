//! What an identity is asked to do (audit, migrate's source or destination, apply,
//! verify), so that an access error names that command's own least-privilege policy in
//! `policies/permissions/` and the flags that choose its credentials. The providers'
//! own errors carry the audit's hint; a command that reads or writes for another duty
//! rewrites the hint of its access errors through [`Duty::hint`].
//!
//! One table, so that a new command or policy file changes one place, and
//! `tests/messages.rs` holds each sentence exactly.

use crate::error::Error;
use crate::model::Provider;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    Audit,
    MigrateSource,
    MigrateDestination,
    Apply,
    Verify,
}

/// How a person gets application default credentials, or points at an emulator: the
/// same for every command (each takes `--gcp-endpoint`).
pub const ADC_HINT: &str =
    "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a \
                            credentials file, or pass --gcp-endpoint for an emulator";

/// The operation named by an error about application default credentials themselves
/// (none found, no token): its hint is [`ADC_HINT`] whatever the duty.
pub const ADC_OPERATION: &str = "application default credentials";

impl Duty {
    /// Where the AWS credentials come from, as this command's flags say, and its policy.
    pub fn aws_hint(self) -> String {
        let (flags, policy) = match self {
            Duty::Audit => ("AWS_PROFILE / --profile", "aws-audit.json"),
            Duty::MigrateSource => (
                "the PROFILE of --from aws:PROFILE@REGION, else AWS_PROFILE",
                "aws-migrate-source.json",
            ),
            Duty::MigrateDestination => (
                "the PROFILE of --to aws:PROFILE@REGION, else AWS_PROFILE",
                "aws-migrate-destination.json",
            ),
            Duty::Apply => (
                "--profile, one per account, else AWS_PROFILE",
                "aws-apply.json",
            ),
            Duty::Verify => (
                "--profile, one per account, else AWS_PROFILE",
                "aws-verify.json",
            ),
        };
        format!(
            "check the credentials ({flags}; `aws sts get-caller-identity`) and that the identity \
             holds the policy in policies/permissions/{policy}"
        )
    }

    /// The custom role this command's GCP identity needs, and how to get credentials.
    pub fn gcp_hint(self) -> String {
        let role = match self {
            Duty::Audit => "the role in policies/permissions/gcp-audit-role.yaml",
            Duty::MigrateSource => "the source role in policies/permissions/gcp-migrate-roles.yaml",
            Duty::MigrateDestination => {
                "the destination role in policies/permissions/gcp-migrate-roles.yaml"
            }
            Duty::Apply => "the role in policies/permissions/gcp-apply-role.yaml",
            Duty::Verify => "the role in policies/permissions/gcp-verify-role.yaml",
        };
        format!("grant {role} on the project; {ADC_HINT}")
    }

    /// `e` with this duty's hint when it is an access error (no credentials, expired,
    /// denied); any other error is returned as it is.
    pub fn hint(self, e: Error) -> Error {
        match e {
            Error::Access {
                provider,
                operation,
                what,
                hint,
            } => {
                let hint = match provider {
                    Provider::Gcp if operation == ADC_OPERATION => hint,
                    Provider::Aws => self.aws_hint(),
                    Provider::Gcp => self.gcp_hint(),
                };
                Error::Access {
                    provider,
                    operation,
                    what,
                    hint,
                }
            }
            other => other,
        }
    }
}
