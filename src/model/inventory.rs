//! The inventory: every principal, credential and secret an audit found, with the
//! sources it came from and the places those sources were blind.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ConditionClause, Finding, TimeBound};

/// The schema identifier written into every inventory.
pub const INVENTORY_SCHEMA: &str = "handover/inventory";
/// Bumped on any change a reader of version N could misread.
/// Version 2: a trust's and a resource-policy grant's `conditions` are clauses
/// (`ConditionClause`: operator, key, values), no longer one display line each.
/// Version 3: a principal's `access_ends`, what its own (and its groups') Deny
/// statements prove about when all its access ends.
/// Version 4: `aws_accounts` (every AWS account the audit set out to read, with its
/// name and OU path from the organization) and `aws_organization` (management account,
/// delegated administrators, SCPs).
pub const INVENTORY_VERSION: u32 = 4;

/// Everything an audit found, across every account and project it read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Always `handover/inventory`.
    pub schema: String,
    /// The inventory format version (currently 4).
    pub version: u32,
    /// When the audit ran.
    pub generated_at: DateTime<Utc>,
    /// The tool and version that wrote it.
    pub generator: String,
    /// One entry per account or project read, and how.
    pub sources: Vec<Source>,
    pub principals: Vec<Principal>,
    pub credentials: Vec<Credential>,
    pub secrets: Vec<Secret>,
    /// What the audit could not see, and why. An empty list means full coverage.
    pub gaps: Vec<Gap>,
    /// Risks worth a person's attention, riskiest first.
    pub findings: Vec<Finding>,
    /// Every AWS account the audit set out to read (audited or not: one it could not
    /// enter is here with a gap naming it), by account id.
    #[serde(default)]
    pub aws_accounts: Vec<AwsAccount>,
    /// The AWS Organization the accounts belong to, when the audit read it (`--org`).
    #[serde(default)]
    pub aws_organization: Option<AwsOrganization>,
}

impl Inventory {
    /// An empty inventory stamped with the time and this tool's version.
    pub fn new(generated_at: DateTime<Utc>) -> Self {
        Inventory {
            schema: INVENTORY_SCHEMA.to_string(),
            version: INVENTORY_VERSION,
            generated_at,
            generator: format!("handover {}", env!("CARGO_PKG_VERSION")),
            sources: Vec::new(),
            principals: Vec::new(),
            credentials: Vec::new(),
            secrets: Vec::new(),
            gaps: Vec::new(),
            findings: Vec::new(),
            aws_accounts: Vec::new(),
            aws_organization: None,
        }
    }

    /// Puts every collection in its canonical order so equal audits give equal JSON.
    pub fn normalize(&mut self) {
        self.sources
            .sort_by(|a, b| (a.provider, &a.scope).cmp(&(b.provider, &b.scope)));
        self.principals.sort_by(|a, b| a.id.cmp(&b.id));
        self.credentials.sort_by(|a, b| a.id.cmp(&b.id));
        self.secrets.sort_by(|a, b| a.id.cmp(&b.id));
        self.gaps.sort();
        self.gaps.dedup();
        self.aws_accounts.sort_by(|a, b| a.id.cmp(&b.id));
        self.aws_accounts.dedup_by(|a, b| a.id == b.id);
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.code.cmp(&b.code))
                .then_with(|| a.subject.cmp(&b.subject))
        });
    }

    /// Adds another inventory's contents (another account or project) to this one.
    pub fn merge(&mut self, other: Inventory) {
        self.sources.extend(other.sources);
        self.principals.extend(other.principals);
        self.credentials.extend(other.credentials);
        self.secrets.extend(other.secrets);
        self.gaps.extend(other.gaps);
        self.findings.extend(other.findings);
        self.aws_accounts.extend(other.aws_accounts);
        if self.aws_organization.is_none() {
            self.aws_organization = other.aws_organization;
        }
        self.normalize();
    }
}

/// A cloud provider.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    Aws,
    Gcp,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
        })
    }
}

/// How a source was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceMode {
    /// Live API calls with the caller's credentials.
    Live,
    /// Offline exports (aws CLI / gcloud output) in a snapshot folder.
    Snapshot,
}

/// One account or project that the audit read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub provider: Provider,
    /// AWS account id or GCP project id.
    pub scope: String,
    pub mode: SourceMode,
    /// Regions whose secrets were read (AWS).
    pub regions: Vec<String>,
    /// The identity whose credentials the audit used (live mode), e.g. a user ARN.
    /// A plan revokes this identity last.
    pub identity: Option<String>,
    /// When AWS generated the credential report the audit used. AWS reuses a report
    /// for up to four hours, so recent changes may not show in it.
    pub credential_report_generated_at: Option<DateTime<Utc>>,
    /// Coverage notes: how the source was read when not by its usual road (a bulk
    /// source that fell back to per-item reads, and why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What kind of identity a principal is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PrincipalKind {
    /// The AWS account root user.
    Root,
    IamUser,
    IamRole,
    GcpUser,
    GcpGroup,
    GcpDomain,
    GcpServiceAccount,
    /// `allUsers` / `allAuthenticatedUsers`.
    GcpPublic,
    /// A `deleted:` member still named in a policy.
    GcpDeleted,
    /// A `principal://` / `principalSet://` member: an identity, or a set of them, of a
    /// workload or workforce identity pool, or of Google's own directory
    /// (`principal://goog/subject/EMAIL`, ...). What it is, parsed once, is its
    /// `federated`; `principalSet://goog/public:all` is `gcp-public`.
    GcpFederated,
    /// A GCP API key (API Keys API v2): it identifies the project to Google APIs, held by
    /// whoever has its string; the key's own credential is a `gcp-api-key`.
    GcpApiKey,
    /// A workload identity pool: outside identities (GitHub Actions, another cloud)
    /// that its providers let act in the project; each provider is a
    /// `gcp-workload-identity-provider` credential of it.
    GcpWorkloadIdentityPool,
    /// An IAM Identity Center user (identitystore). It has no tags: its primary email
    /// is kept as its `email` tag, which placement reads as an IAM user's email tag.
    SsoUser,
    /// An IAM Identity Center group (identitystore).
    SsoGroup,
}

/// Whether a principal can do anything in its account or project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminRights {
    /// `true` admin-equivalent, `false` not, `null` unknown (a policy it holds could not be read).
    pub equivalent: Option<bool>,
    /// Which grants make it so (or why it is unknown), in words.
    pub via: Vec<String>,
}

/// A policy attached to a principal directly or through a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    pub name: String,
    /// The managed policy's ARN; `null` for an inline policy.
    pub arn: Option<String>,
    /// The group it comes through; `null` when attached directly.
    pub via_group: Option<String>,
}

/// An identity that can act in an account or project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// Stable id: the ARN for AWS.
    pub id: String,
    pub provider: Provider,
    /// AWS account id or GCP project id.
    pub scope: String,
    pub kind: PrincipalKind,
    pub name: String,
    pub path: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub tags: BTreeMap<String, String>,
    pub groups: Vec<String>,
    pub policies: Vec<PolicyRef>,
    pub admin: AdminRights,
    /// A permissions boundary caps what the policies grant.
    pub permissions_boundary: Option<String>,
    /// Last activity, where the source records it (roles; users via their credentials).
    pub last_used: Option<LastUsed>,
    /// A disabled identity cannot authenticate (GCP service accounts); `null` where the
    /// provider has no such state.
    pub disabled: Option<bool>,
    /// What a `deleted:` GCP member was (its kind and address), read from the member
    /// once by the provider; `null` for every other principal.
    pub deleted: Option<DeletedMember>,
    /// For a `gcp-federated` member: its pool and what it selects there, read from the
    /// member once by the provider. A `gcp-workload-identity-pool` principal carries its
    /// own pool (selecting `all`), so a member is matched to the pool by data.
    /// Absent for every other principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated: Option<FederatedMember>,
    /// When every request it makes is refused by itself, as its own policies prove (an
    /// AWS Deny on every action and resource from a date on, in its own or its groups'
    /// policies; decided once by the provider). `unbounded` where nothing proves an end.
    pub access_ends: TimeBound,
}

/// When a credential stops working by itself: the earliest of what the credential
/// proves (`CredentialDetail::time_bound`) and what its holder's policies prove
/// (`Principal::access_ends`: a Deny refuses whatever the credential would allow).
/// A proven end wins over a doubt; a doubt over nothing.
pub fn credential_ends(c: &Credential, holder: Option<&Principal>) -> TimeBound {
    let own = c.detail.time_bound();
    let held = holder
        .map(|p| p.access_ends.clone())
        .unwrap_or(TimeBound::Unbounded);
    match (own, held) {
        (a @ TimeBound::Until { .. }, b) | (b, a @ TimeBound::Until { .. }) => a.earliest(b),
        (c @ TimeBound::Conditional { .. }, _) | (_, c @ TimeBound::Conditional { .. }) => c,
        _ => TimeBound::Unbounded,
    }
}

/// A deleted GCP member as IAM names it: `deleted:user:EMAIL?uid=UID`
/// (https://cloud.google.com/iam/docs/reference/rest/v1/Policy#Binding, `members`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletedMember {
    /// What it was: `gcp-user`, `gcp-group`, `gcp-service-account`, ...
    pub was: PrincipalKind,
    /// Its address, without the `?uid=` suffix.
    pub email: String,
    /// The unique id IAM appends (`?uid=...`), when present.
    pub uid: Option<String>,
}

/// A `principal://` or `principalSet://` IAM member, as data
/// (https://cloud.google.com/iam/docs/principal-identifiers; Google's own
/// `goog/...` forms: https://cloud.google.com/iam/docs/reference/rest/v2/policies#DenyRule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FederatedMember {
    /// The pool (or directory) whose identities it names.
    pub pool: MemberPool,
    /// Which of them.
    pub selects: PoolSelection,
}

/// The pool a federated member belongs to.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum MemberPool {
    /// `projects/NUMBER/locations/global/workloadIdentityPools/POOL`: a workload identity
    /// pool (outside workloads, such as GitHub Actions) of the project with that number.
    WorkloadIdentity {
        project_number: String,
        pool: String,
    },
    /// GKE's pool of a project (`PROJECT_ID.svc.id.goog`, in the project with that
    /// number): the project's Kubernetes workloads.
    Gke {
        project_number: String,
        project: String,
    },
    /// `locations/global/workforcePools/POOL`: people of an organization's outside
    /// identity provider.
    Workforce { pool: String },
    /// Google's own directory (`goog/...`): Google accounts, groups, customers.
    Google,
}

/// Which identities of its pool a federated member names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PoolSelection {
    /// One identity: `principal://.../subject/VALUE` (a Google account's address for
    /// `goog`).
    Subject { value: String },
    /// A group: `principalSet://.../group/VALUE`.
    Group { value: String },
    /// Every identity whose mapped attribute NAME is VALUE:
    /// `principalSet://.../attribute.NAME/VALUE` (GKE: `namespace/NS`,
    /// `kubernetes.cluster/URL`).
    Attribute { name: String, value: String },
    /// Every identity of the pool: `principalSet://.../*`.
    All,
    /// Every account of a Cloud Identity or Workspace customer:
    /// `principalSet://goog/cloudIdentityCustomerId/ID`.
    Customer { id: String },
}

/// What kind of credential.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    ConsolePassword,
    AccessKey,
    MfaDevice,
    SshPublicKey,
    ServiceSpecificCredential,
    SigningCertificate,
    /// A role's trust policy letting in an outside account, a federated provider or anyone.
    RoleTrust,
    GcpServiceAccountKey,
    GcpHmacKey,
    GcpIamBinding,
    /// A GCP API key; its string is never read.
    GcpApiKey,
    /// A workload identity pool provider: an outside issuer trusted to act in the project.
    GcpWorkloadIdentityProvider,
    /// An IAM Identity Center account assignment: a user or group may sign in to an
    /// account with a permission set.
    SsoAccountAssignment,
}

/// Whether a credential works now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Active,
    Inactive,
    Unknown,
}

/// When a credential was last used, or why that is not known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LastUsed {
    Used {
        at: DateTime<Utc>,
        service: Option<String>,
        region: Option<String>,
    },
    /// The source says it was never used.
    Never,
    /// The source is blind here; `reason` says why.
    Unknown { reason: String },
}

impl LastUsed {
    pub fn unknown(reason: impl Into<String>) -> Self {
        LastUsed::Unknown {
            reason: reason.into(),
        }
    }

    /// In words, as the plan's evidence and the report show it: `DATE (service)`,
    /// `never`, or `unknown: reason`.
    pub fn text(&self) -> String {
        match self {
            LastUsed::Used { at, service, .. } => format!(
                "{}{}",
                at.format("%Y-%m-%d"),
                service
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ),
            LastUsed::Never => "never".into(),
            LastUsed::Unknown { reason } => format!("unknown: {reason}"),
        }
    }
}

/// Something that can authenticate as a principal or let someone in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Stable id, e.g. `<user ARN>/access-key/AKIA...`.
    pub id: String,
    /// The principal it belongs to (or, for a role trust, the role).
    pub principal: String,
    pub provider: Provider,
    pub scope: String,
    pub kind: CredentialKind,
    /// The provider's own identifier (access key id, MFA serial, SSH key id, ...),
    /// `null` where the source did not give it.
    pub identifier: Option<String>,
    pub status: Status,
    pub created: Option<DateTime<Utc>>,
    pub last_used: LastUsed,
    pub detail: CredentialDetail,
}

/// Kind-specific facts about a credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CredentialDetail {
    None,
    Mfa {
        /// `virtual`, `hardware` (including FIDO security keys) or `unknown`.
        device: String,
    },
    ServiceSpecific {
        service: String,
        user_name: String,
    },
    Trust(TrustDetail),
    /// A GCP IAM role binding: who holds which role on which resource.
    Binding(BindingDetail),
    /// A GCP API key's restrictions (none is a finding). Never its string.
    ApiKey(ApiKeyDetail),
    /// A Cloud Storage HMAC key of a service account. Never its secret.
    HmacKey {
        /// The service account whose access the key carries.
        service_account: String,
        /// `ACTIVE` or `INACTIVE` (a deleted key is not in the inventory).
        state: String,
        updated: Option<DateTime<Utc>>,
    },
    /// A workload identity pool provider: what it trusts and on what condition.
    WorkloadIdentityProvider(WorkloadIdentityDetail),
    /// A GCP service-account key.
    ServiceAccountKey {
        /// `USER_MANAGED` (a long-lived key someone holds) or `SYSTEM_MANAGED` (Google's own).
        key_type: String,
        algorithm: Option<String>,
        origin: Option<String>,
        /// The key stops working at this time.
        valid_before: Option<DateTime<Utc>>,
    },
    /// An IAM Identity Center account assignment.
    SsoAssignment(SsoAssignment),
}

impl CredentialDetail {
    /// When the credential stops working by itself, as its source proves: a binding's
    /// IAM condition, a role trust's date condition, a service-account key's expiry.
    pub fn time_bound(&self) -> TimeBound {
        match self {
            CredentialDetail::Binding(b) => b
                .condition
                .as_ref()
                .map(|c| c.ends.clone())
                .unwrap_or(TimeBound::Unbounded),
            CredentialDetail::Trust(t) => t.ends.clone(),
            // A key is refused from `validBeforeTime` on.
            CredentialDetail::ServiceAccountKey {
                valid_before: Some(t),
                ..
            } => TimeBound::before(*t),
            _ => TimeBound::Unbounded,
        }
    }
}

/// What an API key may be used for (API Keys v2 `V2Restrictions`): empty lists mean
/// no restriction of that sort; `unrestricted` when there is none at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyDetail {
    /// The key's resource name (`projects/NUMBER/locations/global/keys/UID`).
    pub name: String,
    pub display_name: Option<String>,
    pub updated: Option<DateTime<Utc>>,
    /// The service account the key is bound to, if any.
    pub service_account: Option<String>,
    /// The APIs (`service`, or `service: method, ...`) it may call.
    pub apis: Vec<String>,
    pub referrers: Vec<String>,
    pub ips: Vec<String>,
    /// Android apps (`package (sha1)`) and iOS bundle ids.
    pub apps: Vec<String>,
    /// No API, referrer, IP or app restriction: anyone holding the string can call any
    /// API enabled in the project.
    pub unrestricted: bool,
}

/// A workload identity pool provider
/// (https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadIdentityDetail {
    /// The provider's resource name.
    pub name: String,
    /// The pool id.
    pub pool: String,
    /// `oidc`, `aws`, `saml` or `x509`.
    pub protocol: String,
    /// The OIDC issuer URI, or `aws:ACCOUNT` for an AWS provider.
    pub issuer: Option<String>,
    pub attribute_mapping: BTreeMap<String, String>,
    /// The CEL condition every incoming token must meet; `null` trusts every identity the
    /// issuer vouches for.
    pub attribute_condition: Option<String>,
    /// For a GitHub Actions issuer: the GitHub organizations (repository owners) the
    /// condition names, read from its `==` comparisons and `in [...]` lists on
    /// `repository_owner`, `repository` or `sub`; empty when it names none.
    pub github_owners: Vec<String>,
    /// The service accounts this pool's identities may act as: those whose IAM policy
    /// grants `roles/iam.workloadIdentityUser` (or another impersonation role) to a
    /// `principal://` or `principalSet://` member of this pool.
    pub may_act_as: Vec<String>,
}

/// An IAM Identity Center account assignment, as `sso-admin:ListAccountAssignments`
/// gives it, with what the permission set grants: everything `DeleteAccountAssignment`
/// (and `CreateAccountAssignment`, its undo) must name, as data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoAssignment {
    /// The Identity Center instance (`arn:aws:sso:::instance/ssoins-...`).
    pub instance_arn: String,
    /// The account the assignment lets the principal into.
    pub account_id: String,
    pub permission_set_arn: String,
    pub permission_set_name: String,
    /// `USER` or `GROUP`, as sso-admin names it.
    pub principal_type: String,
    /// The identitystore user or group id.
    pub principal_id: String,
    /// Whether the permission set is admin-equivalent (`null`: a policy of it could not be read).
    pub admin: Option<bool>,
    /// Which of its policies make it so (or why that is unknown), in words.
    pub admin_via: Vec<String>,
}

/// A role a member holds on a resource, possibly under a condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingDetail {
    /// The member exactly as the policy names it (`user:a@example.com`,
    /// `serviceAccount:...`, `deleted:user:...?uid=...`, `allUsers`): what a change to
    /// the policy must name, kept as data so nothing parses it back out of an id.
    pub member: String,
    /// The resource the policy is on: `projects/P`, `projects/P/secrets/S`,
    /// `projects/P/serviceAccounts/E`, `folders/F` or `organizations/O`.
    pub resource: String,
    pub role: String,
    pub level: RoleLevel,
    pub condition: Option<IamCondition>,
    /// For a binding on a folder or organization (`resource` is `folders/F` or
    /// `organizations/O`): the ids of the audited projects it reaches by inheritance.
    /// Empty for a binding on a project or on a resource inside one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reaches: Vec<String>,
}

/// How much a role lets its holder do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RoleLevel {
    /// `roles/owner`: everything, including IAM.
    Owner,
    /// Can change IAM policies, so can grant itself anything.
    IamAdmin,
    /// `roles/editor`: nearly everything but IAM.
    Editor,
    /// Can act as service accounts (token creator, service account user, key admin, ...).
    Impersonation,
    /// Can read secret values.
    SecretAccess,
    Other,
}

/// An IAM condition, with what its parsed expression proves about when it ends
/// (decided once by the GCP provider; see `TimeBound`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IamCondition {
    pub title: Option<String>,
    /// The CEL expression as IAM returned it (for display only; never parsed again).
    pub expression: String,
    /// Whether the whole expression is provably false from a date on.
    pub ends: TimeBound,
}

impl IamCondition {
    /// The proven end of access, if the condition proves one.
    pub fn expires(&self) -> Option<DateTime<Utc>> {
        self.ends.end()
    }
}

/// A member a resource's own IAM policy names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IamGrant {
    /// As IAM writes it: `user:a@b`, `group:...`, `serviceAccount:...`, `allUsers`, ...
    pub member: String,
    pub role: String,
    pub condition: Option<IamCondition>,
}

/// Who a role trust lets in, and on what conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustDetail {
    pub trusted: OutsidePrincipal,
    /// `sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity`, ...
    pub actions: Vec<String>,
    /// The statement's conditions, one clause per key (ANDed), in display-line order.
    pub conditions: Vec<ConditionClause>,
    /// Whether every Allow statement of the trust policy that lets this principal in
    /// provably stops doing so at a date (decided once by the AWS provider).
    pub ends: TimeBound,
}

/// A principal from outside the account that a policy lets in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutsidePrincipal {
    pub kind: OutsideKind,
    /// As written in the policy: an ARN, an account id, a provider, or `*`.
    pub value: String,
    /// The AWS account it belongs to, where one can be read from it.
    pub account_id: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum OutsideKind {
    /// Another AWS account (its root or one of its principals).
    Account,
    /// A web identity (OIDC) provider, e.g. GitHub Actions.
    FederatedOidc,
    /// A SAML provider.
    FederatedSaml,
    /// Anyone (`*`), possibly narrowed by conditions.
    Wildcard,
}

/// Where a secret lives and who can get at it. Never its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    /// Stable id: the ARN for AWS.
    pub id: String,
    pub provider: Provider,
    pub scope: String,
    pub region: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub last_changed: Option<DateTime<Utc>>,
    pub last_accessed: Option<DateTime<Utc>>,
    /// Scheduled for deletion at this time.
    pub deletion_scheduled: Option<DateTime<Utc>>,
    pub rotation: Rotation,
    pub tags: BTreeMap<String, String>,
    /// Number of versions the source lists.
    pub versions: Option<u32>,
    /// Of those, how many are enabled (GCP).
    pub enabled_versions: Option<u32>,
    pub latest_version_created: Option<DateTime<Utc>>,
    /// Where the secret is replicated (GCP: `automatic` or the locations).
    pub replication: Option<String>,
    /// The secret deletes itself at this time (GCP expire time).
    pub expires: Option<DateTime<Utc>>,
    /// Members the secret's own IAM policy names (GCP).
    pub iam_members: Vec<IamGrant>,
    pub encryption: Encryption,
    pub access_policy: AccessPolicy,
    /// The service that manages the secret (e.g. RDS), if any.
    pub owning_service: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    pub enabled: bool,
    pub rotation_function: Option<String>,
    pub every_days: Option<i64>,
    pub schedule: Option<String>,
    pub last_rotated: Option<DateTime<Utc>>,
    pub next_rotation: Option<DateTime<Utc>>,
}

/// The key a secret is encrypted under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    /// The key as the source names it; `null` for the provider's default key.
    pub key: Option<String>,
    /// The account that owns the key, where known.
    pub key_account: Option<String>,
    /// The key belongs to another account: that account can decrypt, and can lock the
    /// customer out of the secret.
    pub external: bool,
}

/// A secret's resource policy, as far as it lets outsiders in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AccessPolicy {
    /// No resource policy: only the account's own IAM grants apply.
    None,
    Known {
        /// Outside principals that an Allow statement lets in, with its conditions.
        outside: Vec<PolicyGrant>,
    },
    Unknown {
        reason: String,
    },
}

/// One outside principal an Allow statement names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyGrant {
    pub principal: OutsidePrincipal,
    pub actions: Vec<String>,
    /// The statement's conditions, one clause per key (ANDed), in display-line order.
    pub conditions: Vec<ConditionClause>,
}

/// Something the audit could not see.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gap {
    pub provider: Provider,
    pub scope: String,
    /// The API or export that was missing or failed, e.g. `iam:ListServiceSpecificCredentials`.
    pub source: String,
    /// The principal or resource affected, when it is one.
    pub subject: Option<String>,
    pub reason: String,
}

/// An AWS account the audit set out to read, as the organization (or the caller's own
/// identity) names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsAccount {
    /// The 12-digit account id.
    pub id: String,
    /// The account's name in the organization; `null` outside `--org`.
    pub name: Option<String>,
    /// The account's root email address in the organization; `null` outside `--org`.
    pub email: Option<String>,
    /// The organizational units from the root down to the account (`["Root",
    /// "Workloads", "Prod"]`), each a name as the organization gives it; empty outside `--org`.
    pub ou_path: Vec<String>,
    /// How the audit entered it: `profile NAME`, `role ARN` or `credential chain`.
    pub entered_via: String,
    /// Whether the account was read; when not, a gap with its scope says why.
    pub audited: bool,
}

/// What a handover must name about the AWS Organization: whose management account it is,
/// who administers services for it, and the SCPs in force (listed, not judged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsOrganization {
    /// `o-...`.
    pub id: String,
    pub management_account_id: String,
    /// The management account's root email: its domain tells whose account it is.
    pub management_account_email: Option<String>,
    /// Accounts registered as delegated administrators, with the services they
    /// administer; `null` when the list could not be read (a gap says why).
    pub delegated_administrators: Option<Vec<DelegatedAdministrator>>,
    /// Service control policies and where they are attached; `null` when they could not
    /// be read (a gap says why).
    pub service_control_policies: Option<Vec<ServiceControlPolicy>>,
}

/// A member account that administers an AWS service for the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegatedAdministrator {
    pub account_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// Service principals, e.g. `sso.amazonaws.com`.
    pub services: Vec<String>,
}

/// A service control policy and its targets (roots, OUs, accounts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceControlPolicy {
    /// `p-...`.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// AWS's own (`FullAWSAccess`) rather than one the organization wrote.
    pub aws_managed: bool,
    pub targets: Vec<PolicyTarget>,
}

/// Where a service control policy is attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyTarget {
    /// `r-...`, `ou-...` or an account id.
    pub id: String,
    pub name: Option<String>,
    /// `ROOT`, `ORGANIZATIONAL_UNIT` or `ACCOUNT`.
    pub kind: String,
}
