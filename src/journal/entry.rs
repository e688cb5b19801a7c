//! What a journal entry records, as types: the op (`Op`), its stage (`Stage`: before or
//! after the change) and one typed payload per op and stage (`Change`). `migrate` writes
//! `migrate-secret` entries; `apply` writes `apply-step` entries (a plan step carried
//! out: the plan's digest, the target, the change, the calls, and what undoing it needs)
//! and `apply-undo` entries (a change put back), so that one journal file, one reader
//! and one schema cover every change. An `apply-step` entry at stage `observed` records
//! a step apply found already in its end state live (a key already inactive, a grant
//! already gone): what was seen and when, with no change made and nothing to undo.
//!
//! Invariants:
//! - The JSON of an entry's `data` is what it always was: the same field names and
//!   kebab-case strings, except that new entries name a secret store as a `StoreRef`
//!   object (`{"kind": "aws", "scope": ACCOUNT, "region": REGION}`). Journals written
//!   before issue 12 name it as text (`aws ACCOUNT REGION`, `gcp PROJECT`, `dotenv
//!   PATH`); that text is parsed only when reading such an old entry (`legacy`), never
//!   written again.
//! - No payload has a field for a secret value: names, versions, keyed digests only.
//! - The MAC of an entry is computed over its JSON as written (`super::Line`), so the
//!   typed form never has to reproduce an old entry byte for byte.

use serde::{Deserialize, Serialize};

use crate::secret::store::StoreRef;

/// Before or after a change, or (`observed`) no change: its end state found live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Intent,
    Result,
    /// A live check found the step already in its end state: nothing was changed, so
    /// this is neither an intent (never in doubt) nor a change's result (nothing to undo).
    Observed,
}

/// What kind of change an entry records: a stable kebab-case code (written as `op`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// A secret copied by `migrate`.
    MigrateSecret,
    /// A plan step carried out by `apply`.
    ApplyStep,
    /// A change of `apply` undone by `apply --undo`.
    ApplyUndo,
}

impl Op {
    /// Every op, for the uniqueness test and for error messages.
    pub const ALL: &'static [Op] = &[Op::MigrateSecret, Op::ApplyStep, Op::ApplyUndo];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::MigrateSecret => "migrate-secret",
            Op::ApplyStep => "apply-step",
            Op::ApplyUndo => "apply-undo",
        }
    }

    fn parse(s: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|o| o.as_str() == s)
    }
}

/// An entry's change: its op and stage, with the payload that op writes at that stage.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `migrate-secret`, `intent`: a write about to be made.
    CopyIntent(CopyIntent),
    /// `migrate-secret`, `result`: what was found, written and read back (or why
    /// nothing was copied).
    CopyResult(CopyResult),
    /// `apply-step` or `apply-undo`, `intent`: a change about to be made, with what
    /// undoing it needs.
    ApplyIntent(Op, ApplyIntent),
    /// `apply-step` or `apply-undo`, `result`: whether the change was made.
    ApplyResult(Op, ApplyResult),
    /// `apply-step`, `observed`: the step found already in its end state live, so no
    /// change was made (and none is to be undone).
    ApplyObserved(ApplyObserved),
}

impl Change {
    pub fn op(&self) -> Op {
        match self {
            Change::CopyIntent(_) | Change::CopyResult(_) => Op::MigrateSecret,
            Change::ApplyIntent(op, _) | Change::ApplyResult(op, _) => *op,
            Change::ApplyObserved(_) => Op::ApplyStep,
        }
    }

    pub fn stage(&self) -> Stage {
        match self {
            Change::CopyIntent(_) | Change::ApplyIntent(..) => Stage::Intent,
            Change::CopyResult(_) | Change::ApplyResult(..) => Stage::Result,
            Change::ApplyObserved(_) => Stage::Observed,
        }
    }

    /// The secret copy it is about (`None` for an entry of `apply`).
    pub fn copy(&self) -> Option<&SecretCopy> {
        match self {
            Change::CopyIntent(i) => Some(&i.copy),
            Change::CopyResult(r) => Some(&r.copy),
            Change::ApplyIntent(..) | Change::ApplyResult(..) | Change::ApplyObserved(_) => None,
        }
    }

    /// The payload as the `data` written.
    pub(super) fn data(&self) -> serde_json::Value {
        match self {
            Change::CopyIntent(i) => serde_json::to_value(i),
            Change::CopyResult(r) => serde_json::to_value(r),
            Change::ApplyIntent(_, i) => serde_json::to_value(i),
            Change::ApplyResult(_, r) => serde_json::to_value(r),
            Change::ApplyObserved(o) => serde_json::to_value(o),
        }
        .expect("payloads serialize")
    }

    /// The typed change of an entry's `op`, `phase` and `data`; `Err` says what it is not
    /// (never quoting the data).
    pub(super) fn from_parts(
        op: &str,
        stage: Stage,
        data: serde_json::Value,
    ) -> Result<Change, String> {
        let Some(op) = Op::parse(op) else {
            return Err("an op this version does not know".to_string());
        };
        let what = |e: serde_json::Error| {
            format!(
                "its data is not a {} {} this version reads ({})",
                op.as_str(),
                match stage {
                    Stage::Intent => "intent",
                    Stage::Result => "result",
                    Stage::Observed => "observation",
                },
                super::classify(&e)
            )
        };
        match (op, stage) {
            (Op::MigrateSecret, Stage::Intent) => serde_json::from_value(data)
                .map(Change::CopyIntent)
                .map_err(what),
            (Op::MigrateSecret, Stage::Result) => serde_json::from_value(data)
                .map(Change::CopyResult)
                .map_err(what),
            (Op::ApplyStep | Op::ApplyUndo, Stage::Intent) => serde_json::from_value(data)
                .map(|i| Change::ApplyIntent(op, i))
                .map_err(what),
            (Op::ApplyStep | Op::ApplyUndo, Stage::Result) => serde_json::from_value(data)
                .map(|r| Change::ApplyResult(op, r))
                .map_err(what),
            (Op::ApplyStep, Stage::Observed) => serde_json::from_value(data)
                .map(Change::ApplyObserved)
                .map_err(what),
            (Op::MigrateSecret | Op::ApplyUndo, Stage::Observed) => {
                Err(format!("{} has no observed stage", op.as_str()))
            }
        }
    }
}

/// Reads a `StoreRef`, or the text an entry written before issue 12 holds instead.
fn store_or_legacy<'de, D: serde::Deserializer<'de>>(d: D) -> Result<StoreRef, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Typed(StoreRef),
        Legacy(String),
    }
    match Either::deserialize(d)? {
        Either::Typed(s) => Ok(s),
        Either::Legacy(t) => {
            StoreRef::parse_legacy(&t).ok_or_else(|| serde::de::Error::custom("not a secret store"))
        }
    }
}

/// What comparing a source secret with its destination decided (kebab-case in the
/// journal, the reports and the manifest).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum CopyOutcome {
    /// The destination has no such secret: it is (or would be) created.
    Create,
    /// The destination already holds the same value: nothing to do.
    Unchanged,
    /// The destination holds a different value: left alone.
    Conflict,
    /// The destination held a different value and gets (or would get) a new version.
    NewVersion,
    /// The source has no such secret, or no value to read in it (no enabled version).
    MissingAtSource,
    /// The source's value is empty: neither AWS nor GCP stores an empty value, so it is
    /// not copied.
    EmptyAtSource,
}

impl CopyOutcome {
    pub const ALL: &'static [CopyOutcome] = &[
        CopyOutcome::Create,
        CopyOutcome::Unchanged,
        CopyOutcome::Conflict,
        CopyOutcome::NewVersion,
        CopyOutcome::MissingAtSource,
        CopyOutcome::EmptyAtSource,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CopyOutcome::Create => "create",
            CopyOutcome::Unchanged => "unchanged",
            CopyOutcome::Conflict => "conflict",
            CopyOutcome::NewVersion => "new-version",
            CopyOutcome::MissingAtSource => "missing-at-source",
            CopyOutcome::EmptyAtSource => "empty-at-source",
        }
    }
}

impl std::fmt::Display for CopyOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which secret, from where to where, what comparing it decided, and the digest key its
/// digests are made under: the part every `migrate-secret` entry holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SecretCopy {
    #[serde(deserialize_with = "store_or_legacy")]
    pub from: StoreRef,
    pub source: String,
    #[serde(deserialize_with = "store_or_legacy")]
    pub to: StoreRef,
    pub destination: String,
    pub outcome: CopyOutcome,
    /// The plan marked it for rotation: copy now, rotate after cutover.
    pub rotate_after_cutover: bool,
    /// The id of the digest key (`key:` and 16 hex digits).
    pub digest_key: String,
}

/// The keyed digests of what the source held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SourceDigests {
    /// Every enabled version, oldest first (`--all-versions`), and how many of them are
    /// being written.
    All {
        source_digests: Vec<String>,
        writing: usize,
    },
    /// The current value, and the version it was read from (none for a dotenv file).
    One {
        source_digest: String,
        source_version: Option<String>,
    },
}

impl SourceDigests {
    /// The digest of the value the destination ends up current with.
    pub fn current(&self) -> Option<&str> {
        match self {
            SourceDigests::All { source_digests, .. } => source_digests.last().map(String::as_str),
            SourceDigests::One { source_digest, .. } => Some(source_digest),
        }
    }
}

/// What was read back from the destination after the write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ReadBack {
    /// Every version, oldest first (`--all-versions`).
    All {
        destination_digests: Vec<String>,
        verified: bool,
    },
    /// The version written, and the keyed digest of what it holds (none: not found).
    One {
        version: Option<String>,
        destination_digest: Option<String>,
        verified: bool,
    },
}

impl ReadBack {
    pub fn verified(&self) -> bool {
        match self {
            ReadBack::All { verified, .. } | ReadBack::One { verified, .. } => *verified,
        }
    }
}

/// A `migrate-secret` intent: the copy and the source's digests, journaled before the
/// write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CopyIntent {
    #[serde(flatten)]
    pub copy: SecretCopy,
    #[serde(flatten)]
    pub source: SourceDigests,
}

/// A `migrate-secret` result: the copy; the source's digests when it had a value; why
/// nothing was copied (`detail`, missing or empty at the source); what was read back
/// when something was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CopyResult {
    #[serde(flatten)]
    pub copy: SecretCopy,
    #[serde(flatten)]
    pub source: Option<SourceDigests>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(flatten)]
    pub read_back: Option<ReadBack>,
}

/// The `data` of an entry, for the schema: one of the payloads above.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(super) enum Data {
    CopyIntent(CopyIntent),
    CopyResult(CopyResult),
    ApplyIntent(ApplyIntent),
    ApplyResult(ApplyResult),
    ApplyObserved(ApplyObserved),
}

/// The change `apply` makes to one target (kebab-case in the journal and its report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ApplyChange {
    /// An access key, SSH public key, service-specific credential or signing
    /// certificate set to `Inactive`.
    Deactivate,
    /// A credential deleted (`--delete-now`, or a console password): not undoable.
    Delete,
    /// A role's trust policy rewritten without one principal (or its statement).
    RewriteTrust,
    /// A member removed from one role (under one condition or none) in a GCP resource's
    /// IAM policy.
    RemoveGrant,
    /// A GCP service-account key disabled.
    Disable,
    /// A GCP API key or workload identity provider deleted; Google keeps it 30 days,
    /// so undo undeletes it.
    SoftDelete,
    /// A GCP grant replaced by the same member and role under a condition that ends it
    /// at the plan's date (retain-until).
    BoundGrant,
    /// An AWS role's trust made to let one principal in only until the plan's date
    /// (`DateLessThan aws:CurrentTime` on its statement; retain-until).
    BoundTrust,
    /// An AWS user given an inline policy denying everything from the plan's date on
    /// (retain-until).
    DenyAfter,
    /// An AWS secret re-encrypted under the customer's KMS key: its `KmsKeyId` set and
    /// its current value written as a new version under it, in one `UpdateSecret`.
    ReEncrypt,
    /// A change undone: a status or a trust policy put back.
    Restore,
    /// A secret's resource policy rewritten without one principal (or deleted, when
    /// that principal was all it granted).
    RewriteSecretPolicy,
    /// A replacement key created for a key the customer keeps (rotate), its secret
    /// written only into the age-encrypted credentials file; the old key is deactivated
    /// by a later `--finish`.
    Rotate,
    /// An AWS secret's rotation started (`RotateSecret`, the rotation it has configured).
    RotateSecret,
    /// An IAM user or role deleted whole, with everything attached to it (the plan's
    /// `delete: principal`, `--delete-now`): not undoable.
    DeletePrincipal,
    /// A GCP service account disabled (the plan's `disable: principal`), with the
    /// step's own revocation (its key disabled, its grant removed) when that was still
    /// to make.
    DisableAccount,
    /// An IAM Identity Center account assignment deleted (`DeleteAccountAssignment`).
    DeleteAssignment,
    /// A GCP API key's restrictions set to the plan's (`keys.patch`, a kept key).
    Restrict,
}

/// What undoing a change needs, journaled with its intent and its result; never a
/// secret (a key's id and status, a trust policy document, names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Undo {
    /// Set this credential's status back to `previous` (`Active`).
    Status {
        credential: UndoCredential,
        user: String,
        id: String,
        previous: String,
    },
    /// Put this role's trust policy back as it was (the document as IAM returned it,
    /// URL-decoded).
    TrustPolicy { role: String, previous: String },
    /// Put these grants back in the IAM policy of `resource` (`projects/P`,
    /// `projects/P/serviceAccounts/EMAIL`, `projects/P/secrets/S`), as they were found.
    GcpGrants {
        resource: String,
        grants: Vec<UndoGrant>,
    },
    /// Enable this service-account key again.
    GcpKey { account: String, key_id: String },
    /// Enable this service account again (`account`: its email), then undo `then`, the
    /// step's own revocation made with it (`None`: there was none to make).
    GcpAccount {
        account: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        then: Option<Box<Undo>>,
    },
    /// In the IAM policy of `resource`, remove `remove` and put `add` back (a bounded
    /// grant replaced by the open grant as it was found).
    GcpReplace {
        resource: String,
        remove: Vec<UndoGrant>,
        add: Vec<UndoGrant>,
    },
    /// Delete the inline policy `name` of the AWS user `user` (one apply put there).
    UserPolicy { user: String, name: String },
    /// Put this secret's resource policy back as it was (`previous`, the document
    /// `GetResourcePolicy` returned: a policy, never the secret's value).
    SecretPolicy {
        /// The secret's ARN.
        secret: String,
        region: String,
        previous: String,
    },
    /// Set the AWS secret's KMS key back to `previous` (`None`: the default key). The
    /// version written under the customer's key stays.
    SecretKey {
        secret: String,
        region: String,
        previous: Option<String>,
    },
    /// Create this IAM Identity Center account assignment again
    /// (`CreateAccountAssignment`: the same instance, account, permission set and
    /// principal).
    SsoAssignment {
        assignment: Box<crate::model::SsoAssignment>,
    },
    /// Not undoable, and why (a deleted credential cannot be brought back).
    Irreversible { why: String },
    /// Undelete this API key (`projects/P/locations/global/keys/UID`; Google keeps a
    /// deleted key 30 days).
    GcpApiKey { name: String },
    /// Set this API key's restrictions back to `previous` (API Keys v2 `Restrictions`
    /// JSON as read before the change; `null` when it had none): names of services,
    /// referrers, IPs and apps, never the key string.
    GcpApiKeyRestrictions {
        name: String,
        previous: serde_json::Value,
    },
    /// Set this Cloud Storage HMAC key of `project` ACTIVE again.
    GcpHmacKey { project: String, access_id: String },
    /// Undelete this workload identity pool provider (kept 30 days after deletion).
    GcpProvider { name: String },
    /// A replacement key of `owner` (an IAM user's name, a service account's email) for
    /// its key `old_id` (rotate): `before` are the owner's key ids just before the create
    /// call (so a key made by a run stopped before its result is found as the one not
    /// among them), `created` the new key's id once made (never its secret). Undoing
    /// deletes `created`.
    ReplacementKey {
        owner: String,
        old_id: String,
        before: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created: Option<String>,
    },
}

/// A GCP grant as undoing its removal needs it: the member, the role and the binding's
/// condition as it was found (with its description). Names only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UndoGrant {
    pub member: String,
    pub role: String,
    pub condition: Option<UndoCondition>,
}

/// An IAM condition of an `UndoGrant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UndoCondition {
    pub title: Option<String>,
    pub expression: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The AWS credential kinds whose status `apply` sets (and `--undo` sets back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UndoCredential {
    AccessKey,
    SshPublicKey,
    ServiceSpecificCredential,
    SigningCertificate,
}

/// What an `apply` entry is about: the plan it carries out (its digest), the target
/// (its inventory id, provider and scope), the change and the API calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApplyTarget {
    /// The digest of the plan carried out (`sha256:...`).
    pub plan: String,
    pub target: String,
    pub provider: crate::model::Provider,
    pub scope: String,
    pub change: ApplyChange,
    /// The API calls made, e.g. `iam:UpdateAccessKey`.
    pub calls: Vec<String>,
}

/// An `apply-step` or `apply-undo` intent: journaled before the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApplyIntent {
    #[serde(flatten)]
    pub about: ApplyTarget,
    pub undo: Undo,
}

/// How an `apply` change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ApplyOutcome {
    Done,
    Failed,
}

/// An `apply-step` or `apply-undo` result: journaled after the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApplyResult {
    #[serde(flatten)]
    pub about: ApplyTarget,
    pub outcome: ApplyOutcome,
    pub undo: Undo,
    /// Why it failed (the API's error code and message; never a value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An `apply-step` observation, journaled (during an applied run, never a dry run) when
/// the live check finds a step already in its end state and no intent of it is in
/// doubt: `about.change` is the change whose end state was found (a key `deactivate`d,
/// a grant removed), `about.calls` is empty (no write was made), and `observed` says
/// what was seen, in names (never a value). The entry's time is when it was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApplyObserved {
    #[serde(flatten)]
    pub about: ApplyTarget,
    pub observed: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for o in Op::ALL {
            assert!(seen.insert(o.as_str()));
            assert_eq!(Op::parse(o.as_str()), Some(*o));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        let mut seen = std::collections::BTreeSet::new();
        for o in CopyOutcome::ALL {
            assert!(seen.insert(o.as_str()));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }
}
