//! Findings: risks an audit points out. They are data, not errors: each has a stable
//! kebab-case code (which policies and reports may name), a severity and a sentence.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How much a finding matters at handover. Ordered: `Info < ... < Critical`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

macro_rules! finding_codes {
    ($($variant:ident = $code:literal, $severity:ident, $doc:literal;)*) => {
        /// Every finding the audit can report. The code string is stable.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum FindingCode {
            $(#[doc = $doc] #[serde(rename = $code)] $variant,)*
        }

        impl FindingCode {
            pub const ALL: &'static [FindingCode] = &[$(FindingCode::$variant,)*];

            /// The stable kebab-case code.
            pub fn as_str(self) -> &'static str {
                match self { $(FindingCode::$variant => $code,)* }
            }

            /// The severity this code carries.
            pub fn severity(self) -> Severity {
                match self { $(FindingCode::$variant => Severity::$severity,)* }
            }

            /// What the code means, in a sentence.
            pub fn description(self) -> &'static str {
                match self { $(FindingCode::$variant => $doc,)* }
            }
        }
    };
}

finding_codes! {
    RootAccessKey = "root-access-key", Critical, "The account root user has an active access key.";
    RootWithoutMfa = "root-without-mfa", High, "The account root user has no MFA device.";
    RoleTrustsAnyone = "role-trusts-anyone", Critical, "A role's trust policy lets in any principal (`*`).";
    RoleTrustsOutsideAccount = "role-trusts-outside-account", High, "A role's trust policy lets in another AWS account.";
    RoleTrustsOidcWithoutSubject = "role-trusts-oidc-without-subject", High, "A role trusts a web identity provider without a condition on the subject, so any repository or workload of that provider can assume it.";
    RoleTrustsFederated = "role-trusts-federated", Medium, "A role trusts a federated identity provider (OIDC or SAML).";
    SecretOpenToAnyone = "secret-open-to-anyone", Critical, "A secret's resource policy lets in any principal (`*`).";
    SecretSharedOutside = "secret-shared-outside", High, "A secret's resource policy lets in another AWS account.";
    SecretKeyOutsideAccount = "secret-key-outside-account", High, "A secret is encrypted under a KMS key owned by another account, which can decrypt it or lock the owner out.";
    SecretNotRotated = "secret-not-rotated", Low, "A secret has no automatic rotation.";
    AdminUser = "admin-user", Medium, "An IAM user has admin-equivalent rights.";
    ConsoleWithoutMfa = "console-without-mfa", High, "An IAM user can sign in to the console without MFA.";
    AccessKeyStale = "access-key-stale", Medium, "An active access key has not been used, or was created, more than 90 days ago.";
    AccessKeyNeverUsed = "access-key-never-used", Low, "An active access key has never been used.";
    AccessKeyInactive = "access-key-inactive", Info, "An inactive access key still exists.";
    TwoActiveAccessKeys = "two-active-access-keys", Low, "An IAM user has two active access keys.";
    SigningCertificateActive = "signing-certificate-active", Low, "An IAM user has an active X.509 signing certificate.";
    GcpPublicAccess = "gcp-public-access", Critical, "allUsers or allAuthenticatedUsers holds a role on the project or a secret.";
    GcpBasicRole = "gcp-basic-role", Medium, "A user, group or domain holds a basic role (owner or editor) on the project.";
    GcpDomainGrant = "gcp-domain-grant", Medium, "A whole domain is granted a role.";
    GcpCanImpersonate = "gcp-can-impersonate", High, "A member can act as service accounts (token creator, service account user, key admin).";
    GcpDeletedMember = "gcp-deleted-member", Low, "A deleted principal is still named in a policy.";
    GcpUserManagedKey = "gcp-user-managed-key", Medium, "A service account has a user-managed key: a long-lived credential that can be copied anywhere.";
    GcpKeyStale = "gcp-key-stale", Medium, "A user-managed service-account key is older than 90 days.";
    GcpApiKeyUnrestricted = "gcp-api-key-unrestricted", High, "An API key has no API, referrer, IP or app restriction: whoever holds its string can call every API enabled in the project.";
    GcpHmacKeyActive = "gcp-hmac-key-active", Medium, "A service account has an active Cloud Storage HMAC key: a long-lived secret that can be copied anywhere.";
    GcpWifNoCondition = "gcp-wif-no-condition", High, "A workload identity provider has no attribute condition: every identity its issuer vouches for (every GitHub repository, for GitHub Actions) can act in the project.";
    GcpSecretMember = "gcp-secret-member", Medium, "A secret's own IAM policy grants a user, group or domain access.";
    SsoAdminAssignment = "sso-admin-assignment", Medium, "An IAM Identity Center user or group may sign in to an account with an admin-equivalent permission set.";
    IdentityCenterAbsent = "identity-center-absent", Info, "The account has no IAM Identity Center instance (sso-admin:ListInstances lists none): nobody signs in to it through Identity Center from here.";
    ConditionNotTimeBound = "condition-not-time-bound", Medium, "A grant's condition involves time but does not provably end it (an alternative that allows, a negation, an `IfExists` operator, another statement without the end): it is treated as permanent.";
}

/// One risk, about one principal, credential or secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// The id of the principal, credential or secret it is about.
    pub subject: String,
    pub message: String,
}

impl Finding {
    pub fn new(code: FindingCode, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity: code.severity(),
            subject: subject.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_kebab_case_and_round_trip() {
        let mut seen = HashSet::new();
        for code in FindingCode::ALL {
            assert!(
                seen.insert(code.as_str()),
                "duplicate code {}",
                code.as_str()
            );
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{} is not kebab-case",
                code.as_str()
            );
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: FindingCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *code);
        }
    }
}
