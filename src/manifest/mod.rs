//! The handover manifest: everything the customer needs to know, in one versioned JSON
//! document, age-encrypted to the customer and signed by the agency.
//!
//! It holds the handover (parties, scenario, dates), the plan's digest and each step
//! with its outcome from the journals (a migrate journal's copies, an apply journal's
//! changes), the migrated secrets (where from, where to,
//! version, keyed digest, "rotate after cutover") with the digest keys, credential
//! material newly issued to the customer, the documentation with digests, and the
//! audit's coverage gaps.
//!
//! Invariants:
//! - The plaintext exists only in memory (`Zeroizing`), is encrypted with age before
//!   anything is written, and the signature covers the encrypted file exactly as written.
//! - Secret material (digest keys, new credentials) lives in `Material`, whose `Debug`
//!   shows nothing; `show` hides it unless asked to reveal.
//! - A journal is read only if its keyed chain and head verify under its digest key;
//!   the manifest records each journal's head (entries, last MAC), so a journal read
//!   later beside the signed manifest shows whether it was cut short or rewritten.
//! - A step is `done` by apply only when an apply journal of this plan records its
//!   change done and not undone since (`apply::journaled_steps`); a journal carrying out
//!   another plan is refused, so no step is claimed on another plan's word. A step apply
//!   found already in its end state (journaled `observed`) is `done` too, recorded as
//!   found (`observed`, with when and what was seen), never as a change apply made.

pub mod credentials;
pub mod seal;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::{HandoverConfig, PartySpec, Scenario};
use crate::error::Error;
use crate::journal::{
    ApplyChange, ApplyOutcome, ChainKey, Change, CopyOutcome, Journal, Op, ReadBack, Replay,
};
use crate::model::{Gap, Inventory, Provider};
use crate::plan::{kebab, DocItem, Plan, TargetKind, TargetRef};
use crate::policy::Action;
use crate::secret::DigestKey;

pub const SCHEMA: &str = "handover/manifest";
/// Version 2: each step's target carries its structured fields (plan format 2); a
/// version-1 manifest would be half-read by `verify`, so it is refused.
pub const VERSION: u32 = 2;

/// Secret material in the manifest: digest keys, new credentials. Serialized only into
/// the plaintext that is encrypted at once; never shown unless revealed.
#[derive(Clone, PartialEq)]
pub struct Material(Zeroizing<String>);

impl Material {
    pub fn new(s: String) -> Self {
        Material(Zeroizing::new(s))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Material([REDACTED])")
    }
}

impl Serialize for Material {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Material {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Material(Zeroizing::new(String::deserialize(d)?)))
    }
}

impl JsonSchema for Material {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Material".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut s = String::json_schema(generator);
        s.insert(
            "description".into(),
            "Secret material: shown only with `manifest show --reveal`.".into(),
        );
        s
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `handover/manifest`.
    pub schema: String,
    pub version: u32,
    pub created_at: DateTime<Utc>,
    /// The tool and version that wrote it.
    pub generator: String,
    pub handover: Handover,
    /// The agency's SSH public key that signs this manifest, and its fingerprint.
    pub signer: Signer,
    /// Who it is encrypted to (age and SSH public keys).
    pub recipients: Vec<String>,
    pub plan: PlanRef,
    /// The accounts and projects the plan covers, for `verify` to read again.
    pub scopes: Vec<Scope>,
    pub steps: Vec<StepRecord>,
    pub migrated_secrets: Vec<MigratedSecret>,
    /// The keys of the keyed digests above (HMAC-SHA-256), by id.
    pub digest_keys: Vec<SealedKey>,
    /// Each journal's head when the manifest was written: whoever later reads a journal
    /// beside this signed manifest can tell it was not cut short or rewritten since.
    pub journals: Vec<JournalRecord>,
    /// Credential material the agency issued to the customer (break-glass keys, ...).
    pub new_credentials: Vec<NewCredential>,
    pub documentation: Vec<DocItem>,
    /// What the audit could not see: claims about it cannot be proven.
    pub coverage_gaps: Vec<Gap>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    pub scenario: Scenario,
    pub date: DateTime<Utc>,
    pub agency_access_ends: Option<DateTime<Utc>>,
    pub agency: PartySpec,
    pub customer: PartySpec,
    pub third_parties: Vec<PartySpec>,
    /// Principals the agency keeps (agency-operated scenario).
    pub retained: Vec<String>,
}

impl Handover {
    /// The parties as a config, for classifying what `verify` reads live.
    pub fn to_config(&self) -> HandoverConfig {
        HandoverConfig {
            scenario: self.scenario,
            handover_date: self.date,
            agency_access_ends: self.agency_access_ends,
            grace_days: None,
            agency: self.agency.clone(),
            customer: self.customer.clone(),
            third_parties: self.third_parties.clone(),
            operations: crate::config::Operations {
                retained: self.retained.clone(),
                contacts: Vec::new(),
            },
            recipients: Default::default(),
            documentation: Default::default(),
            base_dir: PathBuf::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    pub key: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRef {
    pub digest: String,
    pub policy: String,
    pub policy_digest: String,
    pub inventory_generated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub provider: Provider,
    /// AWS account id or GCP project id.
    pub scope: String,
    /// AWS regions whose secrets the audit read.
    pub regions: Vec<String>,
}

/// What became of a plan step.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    /// A journal records it done (and, for a copy, verified).
    Done,
    /// Nothing records it done yet (including changes a person makes, such as revoking
    /// a key): `verify` checks those in the live account.
    Pending,
    /// A journal records it failed (a conflict, a copy that did not verify).
    Failed,
    /// A journal records it was not done: the source no longer had the secret.
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    pub id: String,
    pub order: usize,
    pub action: Action,
    pub until: Option<String>,
    pub target: TargetRef,
    pub rule: String,
    pub reason: String,
    pub outcome: StepOutcome,
    /// What the outcome rests on (a journal entry, or why it is pending).
    pub evidence: String,
    /// The change `apply` made for it, when an apply journal records it done (and not
    /// undone): `verify` then checks that change's end state live (a deactivated key
    /// inactive, a removed grant gone) and fails it, whatever the date, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<ApplyChange>,
    /// The change whose end state `apply` found already in place live (a key already
    /// inactive, a grant already gone), when an apply journal records that observation:
    /// apply changed nothing; `verify` checks that end state live as for `applied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<ApplyChange>,
    /// The restrictions the plan sets on a kept GCP API key (its rule's `restrict:`):
    /// `verify` checks the key's live restrictions equal them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict: Option<crate::policy::Restrict>,
}

/// A secret store, as journals and the manifest name it (defined with the journal
/// entries that first record it).
pub use crate::journal::{StoreKind, StoreRef};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MigratedSecret {
    /// The plan step it carries out, when the migration followed the plan.
    pub step: Option<String>,
    pub from: StoreRef,
    pub source: String,
    pub to: StoreRef,
    pub destination: String,
    /// The destination version written (none when it already held the value).
    pub version: Option<String>,
    /// The keyed digest of the value copied (HMAC-SHA-256 under `digest_key`).
    pub digest: String,
    pub digest_key: String,
    pub rotate_after_cutover: bool,
    /// What comparing it decided, as the journal records it.
    pub migration: CopyOutcome,
    pub outcome: StepOutcome,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedKey {
    pub id: String,
    /// 64 hex digits.
    pub key: Material,
}

impl SealedKey {
    pub fn digest_key(&self) -> Option<DigestKey> {
        DigestKey::from_hex(self.key.expose())
    }
}

/// A journal the manifest was built from, by its head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JournalRecord {
    /// The journal's file name (its name only).
    pub file: String,
    /// The digest key its chain is MAC'd under (a key derived from it), by id.
    pub digest_key: String,
    /// How many whole entries it had.
    pub entries: u64,
    /// The MAC of the last of them (`hmac-sha256:`, under the chain key).
    pub last_mac: String,
}

impl JournalRecord {
    /// The head it records, for `journal::Replay::check_head`.
    pub fn head(&self) -> crate::journal::Head {
        crate::journal::Head {
            entries: self.entries,
            last: self.last_mac.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredential {
    pub name: String,
    /// The file it came from (its name only).
    pub file: String,
    /// The credential, as text (UTF-8) or `base64:` and the bytes.
    pub value: Material,
}

/// Everything `build` needs.
pub struct Input<'a> {
    pub config: &'a HandoverConfig,
    pub plan: &'a Plan,
    pub inventory: &'a Inventory,
    /// Journals with their digest keys.
    pub journals: Vec<(PathBuf, DigestKey)>,
    pub new_credentials: Vec<NewCredential>,
    pub signer: Signer,
    pub recipients: Vec<String>,
    pub now: DateTime<Utc>,
}

/// What became of a copy whose result is journaled (`verified`: its read-back matched).
fn outcome_of(migration: CopyOutcome, verified: bool) -> StepOutcome {
    match migration {
        CopyOutcome::Unchanged => StepOutcome::Done,
        CopyOutcome::Create | CopyOutcome::NewVersion if verified => StepOutcome::Done,
        CopyOutcome::MissingAtSource | CopyOutcome::EmptyAtSource => StepOutcome::Skipped,
        _ => StepOutcome::Failed,
    }
}

/// The migrated secrets a journal records (the last entry per secret), and its head.
/// A journal whose chain or head does not verify under its key is refused.
pub fn migrated_from(
    path: &Path,
    key: &DigestKey,
) -> Result<(Vec<MigratedSecret>, JournalRecord), Error> {
    let replay = Journal::read(path, &ChainKey::derive(key))?;
    let record = journal_record(path, key, &replay);
    Ok((migrated_in(&replay, path, key)?, record))
}

/// A journal's head, as the manifest records it.
fn journal_record(path: &Path, key: &DigestKey, replay: &Replay) -> JournalRecord {
    let head = replay.head();
    JournalRecord {
        file: file_name(path),
        digest_key: key.id(),
        entries: head.entries,
        last_mac: head.last,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The migrated secrets a read journal records (the last entry per secret).
fn migrated_in(
    replay: &Replay,
    path: &Path,
    key: &DigestKey,
) -> Result<Vec<MigratedSecret>, Error> {
    let mut out = Vec::new();
    for e in replay.latest(Op::MigrateSecret) {
        let Some(copy) = e.change.copy() else {
            continue;
        };
        if copy.digest_key != key.id() {
            return Err(Error::input(
                path,
                format!(
                    "entry {} was made under digest key {}, not this journal's {}",
                    e.seq,
                    copy.digest_key,
                    key.id()
                ),
                "keep each journal with its own .key.age",
            ));
        }
        let (source, version, outcome) = match &e.change {
            Change::CopyIntent(i) => (Some(&i.source), None, StepOutcome::Pending),
            Change::CopyResult(r) => (
                r.source.as_ref(),
                match &r.read_back {
                    Some(ReadBack::One { version, .. }) => version.clone(),
                    _ => None,
                },
                outcome_of(
                    copy.outcome,
                    r.read_back.as_ref().is_some_and(ReadBack::verified),
                ),
            ),
            // `copy()` is `None` for these: skipped above.
            Change::ApplyIntent(..) | Change::ApplyResult(..) | Change::ApplyObserved(_) => {
                continue
            }
        };
        out.push(MigratedSecret {
            step: None,
            from: copy.from.clone(),
            source: copy.source.clone(),
            to: copy.to.clone(),
            destination: copy.destination.clone(),
            version,
            digest: source
                .and_then(|s| s.current())
                .unwrap_or_default()
                .to_string(),
            digest_key: copy.digest_key.clone(),
            rotate_after_cutover: copy.rotate_after_cutover,
            migration: copy.outcome,
            outcome,
            at: e.at,
        });
    }
    Ok(out)
}

/// A step's change as an apply journal records it: the change, how it ended (`None`:
/// an intent with no result), and the journal's file name.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub change: ApplyChange,
    pub outcome: Option<ApplyOutcome>,
    pub journal: String,
    /// Found already in its end state, no change made (`outcome` is then `None`): when,
    /// and what was seen.
    pub observed: Option<(DateTime<Utc>, String)>,
}

/// The steps an apply journal of `plan` carries out, by step id, with where each stands
/// (a change undone since is left out: it no longer holds). A journal with another
/// plan's apply entries is refused.
pub fn applied_in(
    replay: &Replay,
    plan: &Plan,
    path: &Path,
) -> Result<BTreeMap<String, Applied>, Error> {
    crate::apply::check_journal_plan(replay, plan, path)?;
    let journal = file_name(path);
    let changed =
        crate::apply::journaled_steps(replay)
            .into_iter()
            .map(|(id, (change, outcome))| {
                let a = Applied {
                    change,
                    outcome,
                    journal: journal.clone(),
                    observed: None,
                };
                (id, a)
            });
    let found = crate::apply::journaled_observed(replay)
        .into_iter()
        .map(|(id, o)| {
            let a = Applied {
                change: o.change,
                outcome: None,
                journal: journal.clone(),
                observed: Some((o.at, o.observed)),
            };
            (id, a)
        });
    Ok(changed.chain(found).collect())
}

/// Whether a plan step is about this migrated secret (same store, same name), from the
/// target's typed fields: no label or ARN is parsed back.
fn step_matches(t: &TargetRef, m: &MigratedSecret) -> bool {
    if t.kind != TargetKind::Secret
        || t.name.as_deref() != Some(m.source.as_str())
        || t.scope != m.from.scope
    {
        return false;
    }
    match t.provider {
        Provider::Aws => m.from.kind == StoreKind::Aws && m.from.region == t.region,
        Provider::Gcp => m.from.kind == StoreKind::Gcp,
    }
}

/// Builds the manifest: the journals' migrated secrets and heads, each plan step with
/// its outcome, the scopes, and the handover as configured.
pub fn build(input: Input<'_>) -> Result<Manifest, Error> {
    let cfg = input.config;
    let read = read_journals(&input.journals, input.plan)?;
    let (steps, migrated) = step_records(input.plan, &read.applied, read.migrated);
    let (keys, journals) = (read.keys, read.records);
    Ok(Manifest {
        schema: SCHEMA.into(),
        version: VERSION,
        created_at: input.now,
        generator: format!("handover {}", env!("CARGO_PKG_VERSION")),
        handover: Handover {
            scenario: cfg.scenario,
            date: cfg.handover_date,
            agency_access_ends: cfg.agency_access_ends,
            agency: cfg.agency.clone(),
            customer: cfg.customer.clone(),
            third_parties: cfg.third_parties.clone(),
            retained: cfg.operations.retained.clone(),
        },
        signer: input.signer,
        recipients: input.recipients,
        plan: PlanRef {
            digest: input.plan.digest.clone(),
            policy: input.plan.policy.name.clone(),
            policy_digest: input.plan.policy.digest.clone(),
            inventory_generated_at: input.plan.inventory.generated_at,
        },
        scopes: scopes(input.inventory),
        steps,
        migrated_secrets: migrated,
        digest_keys: keys,
        journals,
        new_credentials: input.new_credentials,
        documentation: crate::docs::read(&cfg.base_dir, &crate::plan::wanted_documents(cfg))?,
        coverage_gaps: input.inventory.gaps.clone(),
    })
}

/// Each plan step with its outcome (an apply journal's record of it, else its copies'),
/// and the migrated secrets marked with the step they carry out.
fn step_records(
    plan: &Plan,
    applied: &BTreeMap<String, Applied>,
    mut migrated: Vec<MigratedSecret>,
) -> (Vec<StepRecord>, Vec<MigratedSecret>) {
    let steps = plan
        .steps
        .iter()
        .map(|s| match applied.get(&s.id) {
            Some(a) => applied_record(s, a),
            None => step_record(s, &mut migrated),
        })
        .collect();
    (steps, migrated)
}

/// One journal entry, as a reader of the journals' history sees it: when, which
/// journal, what (op and stage) and about which key. Never a value (entries hold none).
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEvent {
    pub at: DateTime<Utc>,
    pub journal: String,
    pub op: Op,
    pub stage: crate::journal::Stage,
    pub key: String,
}

/// What the journals of a plan record, as the manifest would seal it: each step with
/// its outcome, the migrated secrets, each journal's head, and every entry in order.
pub struct Outcomes {
    pub steps: Vec<StepRecord>,
    pub migrated: Vec<MigratedSecret>,
    pub journals: Vec<JournalRecord>,
    pub events: Vec<JournalEvent>,
}

/// Reads the journals (each chain verified under its key; an apply journal of another
/// plan refused) into the outcomes `build` would seal: one rule for the manifest and
/// for whoever reports on the same journals (`report`). A journal a signed manifest
/// recorded (`sealed`: its journal records; same file name and digest key) must still
/// hold the head recorded then: one cut short or rewritten since is refused.
pub fn outcomes(
    plan: &Plan,
    journals: &[(PathBuf, DigestKey)],
    sealed: &[JournalRecord],
) -> Result<Outcomes, Error> {
    for (path, key) in journals {
        let rec = sealed
            .iter()
            .find(|r| r.file == file_name(path) && r.digest_key == key.id());
        if let Some(rec) = rec {
            Journal::read(path, &ChainKey::derive(key))?.check_head(
                path,
                &rec.head(),
                "the manifest",
            )?;
        }
    }
    let read = read_journals(journals, plan)?;
    let (steps, migrated) = step_records(plan, &read.applied, read.migrated);
    Ok(Outcomes {
        steps,
        migrated,
        journals: read.records,
        events: read.events,
    })
}

/// What the journals give the manifest.
struct FromJournals {
    migrated: Vec<MigratedSecret>,
    /// The steps apply journals carry out (a later journal's record of a step wins).
    applied: BTreeMap<String, Applied>,
    /// The digest keys, each once.
    keys: Vec<SealedKey>,
    records: Vec<JournalRecord>,
    /// Every entry of every journal, in journal then sequence order.
    events: Vec<JournalEvent>,
}

/// Every journal's migrated secrets, applied steps and head, and the digest keys (each
/// once). Each journal is read, and its chain verified, once.
fn read_journals(journals: &[(PathBuf, DigestKey)], plan: &Plan) -> Result<FromJournals, Error> {
    let mut out = FromJournals {
        migrated: Vec::new(),
        applied: BTreeMap::new(),
        keys: Vec::new(),
        records: Vec::new(),
        events: Vec::new(),
    };
    for (path, key) in journals {
        let replay = Journal::read(path, &ChainKey::derive(key))?;
        out.events
            .extend(replay.entries.iter().map(|e| JournalEvent {
                at: e.at,
                journal: file_name(path),
                op: e.op(),
                stage: e.change.stage(),
                key: e.key.clone(),
            }));
        out.migrated.extend(migrated_in(&replay, path, key)?);
        out.applied.extend(applied_in(&replay, plan, path)?);
        out.records.push(journal_record(path, key, &replay));
        if !out.keys.iter().any(|k| k.id == key.id()) {
            out.keys.push(SealedKey {
                id: key.id(),
                key: Material::new(key.to_hex().to_string()),
            });
        }
    }
    Ok(out)
}

/// A plan step an apply journal records: done (and not undone), failed, or an intent
/// whose result was never written (the run stopped between them: pending until a rerun
/// of apply settles it live).
fn applied_record(s: &crate::plan::Step, a: &Applied) -> StepRecord {
    let change = kebab(&a.change);
    if let Some((at, seen)) = &a.observed {
        let evidence = format!(
            "apply journal {}: found already in its end state ({change}) at {}: {seen}; apply changed nothing",
            a.journal,
            at.format("%Y-%m-%dT%H:%M:%SZ")
        );
        let mut r = record(s, StepOutcome::Done, evidence);
        r.observed = Some(a.change);
        return r;
    }
    let (outcome, evidence, applied) = match a.outcome {
        Some(ApplyOutcome::Done) => (
            StepOutcome::Done,
            format!("apply journal {}: {change} done", a.journal),
            Some(a.change),
        ),
        Some(ApplyOutcome::Failed) => (
            StepOutcome::Failed,
            format!("apply journal {}: {change} failed", a.journal),
            None,
        ),
        None => (
            StepOutcome::Pending,
            format!(
                "apply journal {}: {change} intended, its result not journaled (run apply again to settle it)",
                a.journal
            ),
            None,
        ),
    };
    StepRecord {
        applied,
        ..record(s, outcome, evidence)
    }
}

/// A step's record with its outcome and evidence, nothing applied or observed.
fn record(s: &crate::plan::Step, outcome: StepOutcome, evidence: String) -> StepRecord {
    StepRecord {
        id: s.id.clone(),
        order: s.order,
        action: s.action,
        until: s.until.clone(),
        target: s.target.clone(),
        rule: s.rule.clone(),
        reason: s.reason.clone(),
        outcome,
        evidence,
        applied: None,
        observed: None,
        restrict: s.restrict.clone(),
    }
}

/// A plan step with its outcome: a copy's from the journals (the worst of its copies,
/// one per destination, which are marked as carrying out the step), anything else
/// pending, with why.
fn step_record(s: &crate::plan::Step, migrated: &mut [MigratedSecret]) -> StepRecord {
    let copied: Vec<&mut MigratedSecret> = if matches!(s.action, Action::Transfer | Action::Rotate)
    {
        migrated
            .iter_mut()
            .filter(|m| step_matches(&s.target, m))
            .collect()
    } else {
        Vec::new()
    };
    let (outcome, evidence) = if copied.is_empty() {
        let why = match (s.target.kind, s.action) {
            (TargetKind::Secret, Action::Transfer | Action::Rotate) => {
                "no journal records its copy"
            }
            (_, Action::Review) => "a person decides; verify reports what is live",
            (_, Action::Transfer) => "handed over as it is; verify reports what is live",
            _ => "carried out in the account; verify checks it live",
        };
        (StepOutcome::Pending, why.to_string())
    } else {
        let worst = copied.iter().map(|m| m.outcome).max_by_key(|o| match o {
            StepOutcome::Done => 0,
            StepOutcome::Skipped => 1,
            StepOutcome::Pending => 2,
            StepOutcome::Failed => 3,
        });
        let ev = copied
            .iter()
            .map(|m| {
                format!(
                    "{} {} -> {} {}: {}",
                    m.from.describe(),
                    m.source,
                    m.to.describe(),
                    m.destination,
                    m.migration
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        (worst.unwrap_or(StepOutcome::Pending), ev)
    };
    for m in copied {
        m.step = Some(s.id.clone());
    }
    record(s, outcome, evidence)
}

/// The accounts and projects the inventory covers, sorted, each once.
fn scopes(inventory: &Inventory) -> Vec<Scope> {
    let mut scopes: Vec<Scope> = inventory
        .sources
        .iter()
        .map(|s| Scope {
            provider: s.provider,
            scope: s.scope.clone(),
            regions: s.regions.clone(),
        })
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// The plaintext: pretty JSON, in a buffer zeroized on drop.
pub fn to_plaintext(m: &Manifest) -> Zeroizing<Vec<u8>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(64 * 1024));
    serde_json::to_writer_pretty(&mut *buf, m).expect("a manifest serializes");
    buf.push(b'\n');
    buf
}

/// Parses a decrypted manifest.
pub fn from_plaintext(bytes: &[u8], file: &Path) -> Result<Manifest, Error> {
    let m: Manifest = serde_json::from_slice(bytes).map_err(|e| {
        Error::untrusted(
            file,
            format!(
                "it decrypts, but not to a handover manifest ({})",
                e.classify_name()
            ),
            "ask the agency for a manifest written by `handover manifest`",
        )
    })?;
    if m.schema != SCHEMA || m.version != VERSION {
        return Err(Error::input(
            file,
            format!(
                "a {} v{} document; this tool reads {SCHEMA} v{VERSION}",
                m.schema, m.version
            ),
            "use the handover version that wrote it",
        ));
    }
    Ok(m)
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    // The parse error's message may quote the document; name only its category.
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "a field is missing or has the wrong type",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

/// A readable summary; secret material is hidden unless `reveal`.
pub fn summary(m: &Manifest, reveal: bool) -> String {
    let mut o = String::new();
    summary_header(&mut o, m);
    summary_steps(&mut o, m);
    summary_secrets(&mut o, m, reveal);
    summary_credentials(&mut o, m, reveal);
    summary_evidence(&mut o, m);
    o
}

/// Who hands over to whom, when, signed and encrypted by whom, under which plan.
fn summary_header(o: &mut String, m: &Manifest) {
    let h = &m.handover;
    o.push_str(&format!(
        "Handover manifest ({} v{}), written {} by {}\n",
        m.schema,
        m.version,
        m.created_at.format("%Y-%m-%d %H:%M UTC"),
        m.generator
    ));
    o.push_str(&format!(
        "  {} hands over to {} ({}), on {}{}\n",
        h.agency.name,
        h.customer.name,
        h.scenario.as_str(),
        h.date.format("%Y-%m-%d"),
        h.agency_access_ends
            .map(|d| format!("; agency access ends {}", d.format("%Y-%m-%d")))
            .unwrap_or_default()
    ));
    o.push_str(&format!(
        "  signed by {} ({})\n",
        m.signer.key.split_whitespace().take(1).collect::<String>(),
        m.signer.fingerprint
    ));
    o.push_str(&format!(
        "  encrypted to {} recipient(s)\n",
        m.recipients.len()
    ));
    o.push_str(&format!(
        "  plan {} (policy {})\n",
        m.plan.digest, m.plan.policy
    ));
}

/// The steps, counted by outcome, then one line each.
fn summary_steps(o: &mut String, m: &Manifest) {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for s in &m.steps {
        *by.entry(format!("{:?}", s.outcome).to_lowercase())
            .or_default() += 1;
    }
    o.push_str(&format!(
        "\nSteps: {}  ({})\n",
        m.steps.len(),
        by.iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for s in &m.steps {
        o.push_str(&format!(
            "  {:>3}. {:<9} {:<12} {}\n",
            s.order,
            format!("{:?}", s.outcome).to_lowercase(),
            s.action.as_str(),
            s.target.label
        ));
    }
}

/// The migrated secrets, the digest keys (hidden unless `reveal`) and the journals.
fn summary_secrets(o: &mut String, m: &Manifest, reveal: bool) {
    o.push_str(&format!(
        "\nMigrated secrets: {}\n",
        m.migrated_secrets.len()
    ));
    for s in &m.migrated_secrets {
        o.push_str(&format!(
            "  {:<9} {} {} -> {} {}{}{}\n",
            format!("{:?}", s.outcome).to_lowercase(),
            s.from.describe(),
            s.source,
            s.to.describe(),
            s.destination,
            s.version
                .as_ref()
                .map(|v| format!(" (version {v})"))
                .unwrap_or_default(),
            if s.rotate_after_cutover {
                ", rotate after cutover"
            } else {
                ""
            }
        ));
    }
    o.push_str(&format!("\nDigest keys: {}\n", m.digest_keys.len()));
    for k in &m.digest_keys {
        o.push_str(&format!(
            "  {}  {}\n",
            k.id,
            if reveal {
                k.key.expose()
            } else {
                "[hidden; --reveal shows it]"
            }
        ));
    }
    o.push_str(&format!("\nJournals: {}\n", m.journals.len()));
    for j in &m.journals {
        o.push_str(&format!(
            "  {}  {} entries, head {} ({})\n",
            j.file, j.entries, j.last_mac, j.digest_key
        ));
    }
}

/// Credential material issued to the customer, hidden unless `reveal`.
fn summary_credentials(o: &mut String, m: &Manifest, reveal: bool) {
    o.push_str(&format!(
        "\nNew credentials for the customer: {}\n",
        m.new_credentials.len()
    ));
    for c in &m.new_credentials {
        if reveal {
            o.push_str(&format!(
                "  {} (from {}):\n{}\n",
                c.name,
                c.file,
                c.value.expose()
            ));
        } else {
            o.push_str(&format!(
                "  {} (from {})  [hidden; --reveal shows it]\n",
                c.name, c.file
            ));
        }
    }
}

/// The documentation with its digests, and what the audit could not see.
fn summary_evidence(o: &mut String, m: &Manifest) {
    o.push_str(&format!("\nDocumentation: {}\n", m.documentation.len()));
    for d in &m.documentation {
        o.push_str(&format!(
            "  {:<10} {}  {}\n",
            d.kind,
            d.path,
            d.sha256.as_deref().unwrap_or("MISSING")
        ));
    }
    o.push_str(&format!("\nCoverage gaps: {}\n", m.coverage_gaps.len()));
    for g in &m.coverage_gaps {
        o.push_str(&format!(
            "  {} {}: {} ({})\n",
            g.scope,
            g.source,
            g.reason,
            g.subject.as_deref().unwrap_or("-")
        ));
    }
}

/// The manifest as JSON for display: secret material replaced unless `reveal`.
pub fn redacted_json(m: &Manifest, reveal: bool) -> String {
    let mut m = m.clone();
    if !reveal {
        for k in &mut m.digest_keys {
            k.key = Material::new("[hidden]".into());
        }
        for c in &mut m.new_credentials {
            c.value = Material::new("[hidden]".into());
        }
    }
    let out = Zeroizing::new(serde_json::to_string_pretty(&m).expect("a manifest serializes"));
    format!("{}\n", out.as_str())
}
