//! Secret migration: copies application secrets from where the agency keeps them (AWS
//! Secrets Manager, GCP Secret Manager, dotenv files) into the customer's secret
//! manager (AWS or GCP), losing nothing and proving every copy.
//!
//! Invariants:
//! - Dry run unless `apply`: it reads, compares and reports; it writes nothing.
//! - The source is never written. A destination holding a different value is a
//!   conflict, reported and left alone, unless `on_conflict` is `NewVersion`. An
//!   identical value is left alone, so a second run (or a resume after a crash) does
//!   nothing and never adds a duplicate version.
//! - Every write is journaled before (intent) and after (result), and verified by
//!   reading the destination back and comparing keyed digests (HMAC-SHA-256 under a
//!   per-handover key kept beside the journal, age-encrypted: see `key`). The journal's
//!   chain is MAC'd under a key derived from it, so the key is opened before the journal.
//! - Values live only in `SecretValue`s in memory, read chunk by chunk (20 secrets, at
//!   most two chunks in flight) and dropped with their chunk; reports and the journal
//!   carry names, versions and keyed digests.
//! - Per chunk: one batch read at the source and at the destination (AWS), the intents
//!   journaled with one flush, the writes, one batched read-back (AWS), the results
//!   journaled with one flush.
//! - What is copied is the source's current value *by version*: GCP's newest ENABLED
//!   version read by number (never `latest`, which Google resolves to the newest
//!   created version, disabled or not), AWS's `AWSCURRENT`. The journal names that
//!   version (`source_version`) and the one written (`version`); the read-back reads
//!   the version the write returned.
//! - A source secret with no readable value (no enabled version, no current version)
//!   is `missing-at-source`; an empty value is `empty-at-source` and is not copied
//!   (neither AWS nor GCP stores an empty value). Both leave the run incomplete (exit
//!   8), with a `detail` saying why and what to do.

pub mod key;

use crate::providers::duty::Duty;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::error::Error;
use crate::journal::{
    ChainKey, Change, CopyIntent, CopyResult, Journal, Op, ReadBack, SecretCopy, SourceDigests,
};
use crate::model::Provider;
use crate::plan::{Plan, TargetKind};
use crate::policy::Action;
use crate::providers::aws::store::AwsStore;
use crate::providers::dotenv::DotenvStore;
use crate::providers::gcp::live::GcpSettings;
use crate::providers::gcp::store::GcpStore;
use crate::secret::store::SecretStore;
use crate::secret::{DigestKey, SecretValue, Stored};

/// Where secrets come from or go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `aws:REGION` or `aws:PROFILE@REGION`.
    Aws {
        profile: Option<String>,
        region: String,
    },
    /// `gcp:PROJECT`.
    Gcp { project: String },
    /// `dotenv:PATH` (a source only).
    Dotenv { path: PathBuf },
}

impl Endpoint {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            format!("{s:?}: write aws:[PROFILE@]REGION, gcp:PROJECT or dotenv:PATH")
        })?;
        match kind {
            "aws" => {
                let (profile, region) = match rest.split_once('@') {
                    Some((p, r)) => (Some(p.to_string()), r.to_string()),
                    None => (None, rest.to_string()),
                };
                if region.is_empty()
                    || !region
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    return Err(format!("{s:?}: {region:?} is not an AWS region"));
                }
                Ok(Endpoint::Aws { profile, region })
            }
            "gcp" if !rest.is_empty() => Ok(Endpoint::Gcp {
                project: rest.to_string(),
            }),
            "dotenv" if !rest.is_empty() => Ok(Endpoint::Dotenv {
                path: PathBuf::from(rest),
            }),
            _ => Err(format!(
                "{s:?}: write aws:[PROFILE@]REGION, gcp:PROJECT or dotenv:PATH"
            )),
        }
    }
}

/// A connected secret store.
pub type Store = Box<dyn SecretStore>;

/// Connects to an endpoint's store: AWS with the standard chain and the audit's SDK
/// settings, GCP with `gcp`'s, a dotenv file read once.
pub async fn connect(e: &Endpoint, gcp: &GcpSettings, max_attempts: u32) -> Result<Store, Error> {
    Ok(match e {
        Endpoint::Aws { profile, region } => {
            Box::new(AwsStore::connect(profile.as_deref(), region, max_attempts).await?)
        }
        Endpoint::Gcp { project } => Box::new(GcpStore::connect(project, gcp).await?),
        Endpoint::Dotenv { path } => Box::new(DotenvStore::open(path)?),
    })
}

/// The destination name for a source name, by the destination's naming rules:
/// GCP secret ids allow `[A-Za-z0-9_-]` (up to 255), so every other character (AWS
/// names allow `/+=.@`) becomes `-`; AWS names take dotenv and GCP names as they are.
pub fn map_name(name: &str, to: &Endpoint) -> String {
    match to {
        Endpoint::Gcp { .. } => name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .take(255)
            .collect(),
        _ => name.to_string(),
    }
}

/// Tags to labels (GCP: lowercase keys and values of `[a-z0-9_-]`, at most 63 long; keys
/// start with a letter) and back (AWS takes labels as they are).
pub fn map_tags(tags: &BTreeMap<String, String>, to: &Endpoint) -> BTreeMap<String, String> {
    match to {
        Endpoint::Gcp { .. } => {
            let clean = |s: &str| -> String {
                s.to_ascii_lowercase()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .take(63)
                    .collect()
            };
            tags.iter()
                .map(|(k, v)| (clean(k), clean(v)))
                .filter(|(k, _)| k.starts_with(|c: char| c.is_ascii_lowercase()))
                .collect()
        }
        _ => tags.clone(),
    }
}

/// What to migrate and how.
pub struct Request {
    pub from: Endpoint,
    pub to: Endpoint,
    /// Take the secrets this plan marks transfer or rotate.
    pub plan: Option<Plan>,
    /// Or these: (source name, destination name override).
    pub secrets: Vec<(String, Option<String>)>,
    /// Or every secret of the source.
    pub all: bool,
    pub new_version_on_conflict: bool,
    pub apply: bool,
    pub journal: PathBuf,
    pub gcp: GcpSettings,
    pub max_attempts: u32,
    /// Most secrets in flight at once.
    pub concurrency: usize,
    /// Copy every enabled version, oldest first, instead of the current one.
    pub all_versions: bool,
    /// For an applied run: the agency's identity (opens the digest key) and the
    /// recipients a new digest key is encrypted to.
    pub keys: Option<KeyAccess>,
}

/// What opens or seals the journal's digest key.
pub struct KeyAccess {
    pub identity: crate::crypto::Identities,
    pub recipients: Vec<crate::crypto::Recipient>,
}

/// What comparing one secret decided: the journal's, the report's and the manifest's.
pub use crate::journal::CopyOutcome;

#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    pub source: String,
    pub destination: String,
    pub outcome: CopyOutcome,
    /// The plan marked it for rotation: copy now, rotate after cutover.
    pub rotate_after_cutover: bool,
    /// The destination version written, when one was.
    pub version: Option<String>,
    /// The copy was read back and its keyed digest matched the source's.
    pub verified: bool,
    /// The source version copied (GCP: its number; AWS: its version id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Why nothing was copied, and what to do (missing or empty at the source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub applied: bool,
    pub items: Vec<ItemReport>,
}

struct Item {
    source: String,
    dest: String,
    tags: BTreeMap<String, String>,
    rotate: bool,
}

/// The secrets a plan's transfer and rotate steps name in this store, from the
/// targets' typed fields (name, scope, region): no label or ARN is parsed back.
fn plan_items(plan: &Plan, from: &Endpoint, store: &dyn SecretStore) -> Vec<(String, bool)> {
    plan.steps
        .iter()
        .filter(|s| {
            s.target.kind == TargetKind::Secret
                && matches!(s.action, Action::Transfer | Action::Rotate)
        })
        .filter(|s| match (from, store) {
            (Endpoint::Aws { region, .. }, store) => {
                s.target.provider == Provider::Aws
                    && s.target.scope == store.store_ref().scope
                    && s.target.region.as_deref() == Some(region.as_str())
            }
            (Endpoint::Gcp { project }, _) => {
                s.target.provider == Provider::Gcp && &s.target.scope == project
            }
            _ => false,
        })
        .filter_map(|s| {
            s.target
                .name
                .clone()
                .map(|n| (n, s.action == Action::Rotate))
        })
        .collect()
}

/// Runs a migration (or its dry run): check the endpoints, connect, choose what to
/// copy, open the journal and its key when applying, copy, report.
pub async fn run(
    req: &Request,
    progress: std::sync::Arc<dyn crate::audit::Progress>,
) -> Result<Report, Error> {
    refuse_endpoints(req)?;
    // Access errors name the source's or the destination's own policy and flag.
    let (at_source, at_dest) = (
        |e| Duty::MigrateSource.hint(e),
        |e| Duty::MigrateDestination.hint(e),
    );
    let source = connect(&req.from, &req.gcp, req.max_attempts)
        .await
        .map_err(at_source)?;
    let dest = connect(&req.to, &req.gcp, req.max_attempts)
        .await
        .map_err(at_dest)?;
    if source.describe() == dest.describe() {
        return Err(Error::usage(
            format!(
                "the source and the destination are both {}",
                source.describe()
            ),
            "name the customer's secret manager with --to",
        ));
    }
    let listed: BTreeMap<String, BTreeMap<String, String>> = source
        .list()
        .await
        .map_err(at_source)?
        .into_iter()
        .collect();
    let items = select(req, source.as_ref(), &listed)?;
    // Which names exist, known without reading a value: the source's list (read above),
    // and for a store that lists before reading (GCP) one paged list of the destination
    // (AWS answers existence in the same batch read that compares values). Values are
    // then read chunk by chunk, so memory holds at most the chunks in flight.
    let known = Known {
        source: listed.keys().cloned().collect(),
        dest: if dest.lists_before_reading() && !req.all_versions {
            Some(
                dest.list()
                    .await
                    .map_err(at_dest)?
                    .into_iter()
                    .map(|(n, _)| n)
                    .collect(),
            )
        } else {
            None
        },
    };
    let (journal, key) = open_journal(req)?;
    let ctx = Ctx {
        source: source.as_ref(),
        dest: dest.as_ref(),
        key: &key,
        journal: journal.as_ref(),
        new_version_on_conflict: req.new_version_on_conflict,
    };
    progress.phase(
        if req.apply { "copying" } else { "comparing" },
        items.len() as u64,
    );
    let results = copy_all(&ctx, &items, &known, req, progress.clone()).await;
    progress.phase("done", 0);
    let mut reports = Vec::new();
    for r in results {
        reports.push(r?);
    }
    reports.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(Report {
        from: source.describe(),
        to: dest.describe(),
        applied: req.apply,
        items: reports,
    })
}

/// Refuses, before connecting, a destination that cannot be one and a copy onto itself.
fn refuse_endpoints(req: &Request) -> Result<(), Error> {
    if matches!(req.to, Endpoint::Dotenv { .. }) {
        return Err(Error::usage(
            "a dotenv file is a source only",
            "migrate to aws:[PROFILE@]REGION or gcp:PROJECT",
        ));
    }
    if req.from == req.to {
        return Err(Error::usage(
            "the source and the destination are the same",
            "name the customer's secret manager with --to",
        ));
    }
    Ok(())
}

/// What to copy: the named secrets, every listed one, or the plan's; each with its
/// destination name and tags, sorted, without duplicates or collisions.
fn select(
    req: &Request,
    source: &dyn SecretStore,
    listed: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<Vec<Item>, Error> {
    let chosen: Vec<(String, Option<String>, bool)> = if !req.secrets.is_empty() {
        req.secrets
            .iter()
            .map(|(s, d)| (s.clone(), d.clone(), false))
            .collect()
    } else if req.all {
        listed.keys().map(|n| (n.clone(), None, false)).collect()
    } else if let Some(plan) = &req.plan {
        plan_items(plan, &req.from, source)
            .into_iter()
            .map(|(n, r)| (n, None, r))
            .collect()
    } else {
        return Err(Error::usage(
            "nothing selected",
            "pass --plan PLAN.json (its transfer and rotate steps), --secret NAME[=DEST] or --all",
        ));
    };
    let mut items: Vec<Item> = chosen
        .into_iter()
        .map(|(s, d, rotate)| Item {
            dest: d.unwrap_or_else(|| map_name(&s, &req.to)),
            tags: map_tags(listed.get(&s).unwrap_or(&BTreeMap::new()), &req.to),
            source: s,
            rotate,
        })
        .collect();
    items.sort_by(|a, b| a.source.cmp(&b.source));
    items.dedup_by(|a, b| a.source == b.source);
    refuse_collisions(&items)?;
    Ok(items)
}

/// Two sources must never land on one destination.
fn refuse_collisions(items: &[Item]) -> Result<(), Error> {
    let mut by_dest: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for i in items {
        by_dest.entry(&i.dest).or_default().push(&i.source);
    }
    let collisions: Vec<String> = by_dest
        .iter()
        .filter(|(_, s)| s.len() > 1)
        .map(|(d, s)| format!("{} -> {d}", s.join(" and ")))
        .collect();
    if !collisions.is_empty() {
        return Err(Error::usage(
            format!(
                "after name mapping, secrets collide: {}",
                collisions.join("; ")
            ),
            "give one of them its own name with --secret SOURCE=DEST",
        ));
    }
    Ok(())
}

/// For an applied run: the digest key (opened, or created for a new journal) and the
/// journal opened under it. For a dry run: no journal, and a throwaway key.
fn open_journal(req: &Request) -> Result<(Option<std::sync::Mutex<Journal>>, DigestKey), Error> {
    if !req.apply {
        // A dry run records no digest: a throwaway key compares nothing but values.
        let key = DigestKey::generate()
            .map_err(|e| Error::crypto(e, "check the operating system's random source"))?;
        return Ok((None, key));
    }
    let access = req.keys.as_ref().ok_or_else(|| {
        Error::usage(
            "an applied migration needs the handover config and the agency's identity",
            "pass --config handover.toml and -i AGENCY_SSH_KEY",
        )
    })?;
    // Every file the run writes (journal, head, key) is checked before any is written.
    let head = crate::journal::head_path(&req.journal);
    let key_file = key::key_path(&req.journal);
    crate::output::check_regular_or_absent(&[&req.journal, &head, &key_file])?;
    // The key first: it MACs the journal's chain, so the journal opens under it.
    let key = key::open_or_create(
        &req.journal,
        crate::journal::is_new(&req.journal),
        &access.identity,
        &access.recipients,
    )?;
    let (journal, replay) = Journal::open(&req.journal, &ChainKey::derive(&key))?;
    // A copy journaled without its result may or may not have been written: it is
    // compared with the destination like every other, so it is neither lost nor doubled.
    let in_doubt = replay.in_doubt(Op::MigrateSecret).len();
    if in_doubt > 0 {
        tracing::info!(
            in_doubt,
            "resuming: copies journaled without a result are compared with the destination first"
        );
    }
    Ok((Some(std::sync::Mutex::new(journal)), key))
}

/// Copies every item: with `--all-versions` one item at a time per slot, each
/// journaling its own intent and result; otherwise in chunks of READBACK_BATCH, whose
/// writes run concurrently (each journaled before it is made) before one batched
/// read-back verifies them all. Two chunks are in flight so writes and read-backs overlap.
async fn copy_all(
    ctx: &Ctx<'_>,
    items: &[Item],
    known: &Known,
    req: &Request,
    progress: std::sync::Arc<dyn crate::audit::Progress>,
) -> Vec<Result<ItemReport, Error>> {
    if req.all_versions {
        return stream::iter(items.iter())
            .map(|item| {
                let progress = progress.clone();
                async move {
                    let r = migrate_versions(ctx, item).await;
                    progress.tick();
                    r
                }
            })
            .buffer_unordered(req.concurrency.max(1))
            .collect()
            .await;
    }
    let per_chunk = (req.concurrency / 2).max(1);
    let chunks: Vec<Vec<Result<ItemReport, Error>>> = stream::iter(items.chunks(READBACK_BATCH))
        .map(|chunk| {
            let progress = progress.clone();
            async move { migrate_chunk(ctx, chunk, known, per_chunk, progress.as_ref()).await }
        })
        .buffer_unordered(2)
        .collect()
        .await;
    chunks.into_iter().flatten().collect()
}

struct Ctx<'a> {
    source: &'a dyn SecretStore,
    dest: &'a dyn SecretStore,
    key: &'a DigestKey,
    journal: Option<&'a std::sync::Mutex<Journal>>,
    new_version_on_conflict: bool,
}

fn journal_append(j: &std::sync::Mutex<Journal>, key: &str, change: Change) -> Result<(), Error> {
    let mut guard = j.lock().unwrap_or_else(|e| e.into_inner());
    guard.append(key, change).map(|_| ())
}

fn not_verified(store: &dyn SecretStore, dest: &str) -> Error {
    let what = "what was read back from the destination does not match the source";
    let hint = "the journal records the write; investigate the destination before running again";
    let Some(provider) = store.provider() else {
        // A dotenv file is never a destination (it refuses writes), but say so plainly.
        return Error::output(store.store_ref().scope, what, hint);
    };
    Error::Api {
        provider,
        operation: format!("verify {dest}"),
        what: what.into(),
        hint: hint.into(),
    }
}

/// All enabled versions of one secret, oldest first. The destination's versions must
/// be the source's or a prefix of them (a run that stopped half-way): only the missing
/// ones are added, so a resumed run never duplicates a version.
async fn migrate_versions(ctx: &Ctx<'_>, item: &Item) -> Result<ItemReport, Error> {
    let journal_key = format!(
        "{} -> {} {} (all versions)",
        ctx.source.describe(),
        ctx.dest.describe(),
        item.dest
    );
    let mut report = skipped(item, CopyOutcome::MissingAtSource, String::new());
    let src = match ctx.source.read_versions(&item.source).await? {
        None => Some(missing_detail(None)),
        Some(v) if v.is_empty() => Some(missing_detail(Some("no version is enabled"))),
        Some(v) if v.iter().any(|v| v.expose().is_empty()) => {
            report.outcome = CopyOutcome::EmptyAtSource;
            Some(EMPTY_DETAIL.to_string())
        }
        Some(v) => {
            report.detail = None;
            return migrate_versions_of(ctx, item, journal_key, report, v).await;
        }
    };
    report.detail = src;
    journal_skipped(ctx, item, &journal_key, &report)?;
    Ok(report)
}

async fn migrate_versions_of(
    ctx: &Ctx<'_>,
    item: &Item,
    journal_key: String,
    mut report: ItemReport,
    src: Vec<SecretValue>,
) -> Result<ItemReport, Error> {
    let dst = ctx.dest.read_versions(&item.dest).await?;
    let is_prefix =
        |d: &[SecretValue]| d.len() <= src.len() && d.iter().zip(&src).all(|(a, b)| a.same_as(b));
    let (outcome, to_write): (CopyOutcome, Vec<&SecretValue>) = match &dst {
        None => (CopyOutcome::Create, src.iter().collect()),
        Some(d) if d.len() == src.len() && is_prefix(d) => (CopyOutcome::Unchanged, vec![]),
        Some(d) if is_prefix(d) => (CopyOutcome::NewVersion, src[d.len()..].iter().collect()),
        Some(_) if ctx.new_version_on_conflict => (CopyOutcome::NewVersion, src.iter().collect()),
        Some(_) => (CopyOutcome::Conflict, vec![]),
    };
    report.outcome = outcome;
    report.verified = outcome == CopyOutcome::Unchanged;
    let Some(j) = ctx.journal else {
        return Ok(report);
    };
    let digests: Vec<String> = src.iter().map(|v| ctx.key.digest(v)).collect();
    let copy = entry(ctx, item, outcome);
    let source = SourceDigests::All {
        source_digests: digests.clone(),
        writing: to_write.len(),
    };
    let result = |read_back: Option<ReadBack>| {
        Change::CopyResult(CopyResult {
            copy: copy.clone(),
            source: Some(source.clone()),
            detail: None,
            read_back,
        })
    };
    if to_write.is_empty() {
        journal_append(j, &journal_key, result(None))?;
        return Ok(report);
    }
    let intent = Change::CopyIntent(CopyIntent {
        copy: copy.clone(),
        source: source.clone(),
    });
    journal_append(j, &journal_key, intent)?;
    let mut last = None;
    for (i, v) in to_write.iter().enumerate() {
        last = Some(if i == 0 && dst.is_none() {
            ctx.dest.create(&item.dest, v, &item.tags).await?
        } else {
            ctx.dest.add_version(&item.dest, v).await?
        });
    }
    // The copy holds the source's versions, in order, as its newest ones (AWS keeps
    // staging labels on the last two only, so older ones read back as deprecated).
    let back = ctx
        .dest
        .read_versions(&item.dest)
        .await?
        .unwrap_or_default();
    let back_digests: Vec<String> = back.iter().map(|v| ctx.key.digest(v)).collect();
    report.verified = !back_digests.is_empty()
        && digests.ends_with(&back_digests[back_digests.len().saturating_sub(digests.len())..])
        && back_digests.last() == digests.last();
    report.version = last;
    let read_back = ReadBack::All {
        destination_digests: back_digests,
        verified: report.verified,
    };
    journal_append(j, &journal_key, result(Some(read_back)))?;
    if !report.verified {
        return Err(not_verified(ctx.dest, &item.dest));
    }
    Ok(report)
}

/// Records (when applying) that nothing was copied because the source had no value (or
/// an empty one), so the manifest can say the step was skipped rather than leave it
/// pending.
fn journal_skipped(
    ctx: &Ctx<'_>,
    item: &Item,
    journal_key: &str,
    report: &ItemReport,
) -> Result<(), Error> {
    let Some(j) = ctx.journal else { return Ok(()) };
    let copy = entry(ctx, item, report.outcome);
    journal_append(
        j,
        journal_key,
        not_copied_result(copy, report.detail.clone()),
    )
}

/// A report for a secret nothing was copied for.
fn skipped(item: &Item, outcome: CopyOutcome, detail: String) -> ItemReport {
    ItemReport {
        source: item.source.clone(),
        destination: item.dest.clone(),
        outcome,
        rotate_after_cutover: item.rotate,
        version: None,
        verified: false,
        source_version: None,
        detail: Some(detail),
    }
}

/// Why a source secret was not copied: it does not exist, or (`why`) it holds no value.
fn missing_detail(why: Option<&str>) -> String {
    match why {
        None => "no such secret at the source; hint: check the name, or leave it out of the selection".to_string(),
        Some(why) => format!("the source secret has no value to copy: {why}; hint: enable the version to copy at the source (or add one), then run again"),
    }
}

/// Why an empty source value is not copied.
const EMPTY_DETAIL: &str = "the source value is empty, and neither AWS Secrets Manager nor GCP Secret Manager stores an empty value; \
                            not copied; hint: give the secret a value at the source, or leave it out of the selection";

/// A journal entry's common part: which secret, from where to where, the outcome, and
/// the digest key its digests are made under. Never a value.
fn entry(ctx: &Ctx<'_>, item: &Item, outcome: CopyOutcome) -> SecretCopy {
    SecretCopy {
        from: ctx.source.store_ref(),
        source: item.source.clone(),
        to: ctx.dest.store_ref(),
        destination: item.dest.clone(),
        outcome,
        rotate_after_cutover: item.rotate,
        digest_key: ctx.key.id(),
    }
}

/// The result entry of a secret nothing was copied for, saying why.
fn not_copied_result(copy: SecretCopy, detail: Option<String>) -> Change {
    Change::CopyResult(CopyResult {
        copy,
        source: None,
        detail,
        read_back: None,
    })
}

/// Secrets verified by one batched read-back.
const READBACK_BATCH: usize = 20;

/// A write to make (its intent journaled first), then read back.
struct Written<'a> {
    item: &'a Item,
    value: &'a SecretValue,
    report: ItemReport,
    journal_key: String,
    base: CopyIntent,
    digest: String,
    version: Option<String>,
}

/// What comparing one secret decided.
enum Step<'a> {
    /// Nothing to write; when applying, a result entry to journal.
    Done(ItemReport, Option<(String, Change)>),
    Write(Written<'a>),
}

/// Names known to exist at the source and (GCP) at the destination.
struct Known {
    source: BTreeSet<String>,
    dest: Option<BTreeSet<String>>,
}

/// One chunk: read its values at the source and the destination (one batch each on
/// AWS); compare each secret; journal the intents (one flush); make the writes
/// concurrently; verify them with one read-back; journal the results (one flush).
/// The chunk's values are dropped (and zeroized) when it ends.
async fn migrate_chunk(
    ctx: &Ctx<'_>,
    chunk: &[Item],
    known: &Known,
    concurrency: usize,
    progress: &dyn crate::audit::Progress,
) -> Vec<Result<ItemReport, Error>> {
    let src_names: Vec<String> = chunk.iter().map(|i| i.source.clone()).collect();
    let dest_names: Vec<String> = chunk.iter().map(|i| i.dest.clone()).collect();
    let read = async {
        let values = ctx.source.read_known(&src_names, &known.source).await?;
        let existing = match &known.dest {
            Some(d) => ctx.dest.read_known(&dest_names, d).await?,
            None => ctx.dest.read_current(&dest_names).await?,
        };
        Ok::<_, Error>((values, existing))
    };
    let (values, existing) = match read.await {
        Ok(v) => v,
        Err(e) => return vec![Err(e)],
    };
    migrate_chunk_values(ctx, chunk, &values, &existing, concurrency, progress).await
}

/// One chunk whose values are read: decide each secret, journal the intents (one flush),
/// write, read back and journal the results (one flush).
async fn migrate_chunk_values<'a>(
    ctx: &Ctx<'_>,
    chunk: &'a [Item],
    values: &'a BTreeMap<String, Option<Stored>>,
    existing: &BTreeMap<String, Option<Stored>>,
    concurrency: usize,
    progress: &dyn crate::audit::Progress,
) -> Vec<Result<ItemReport, Error>> {
    let mut out = Vec::with_capacity(chunk.len());
    let mut entries = Vec::new();
    let mut writes = Vec::new();
    for item in chunk {
        let value = values.get(&item.source).and_then(|v| v.as_ref());
        let current = existing.get(&item.dest).and_then(|v| v.as_ref());
        match decide(ctx, item, value, current) {
            Step::Done(report, entry) => {
                entries.extend(entry);
                progress.tick();
                out.push(Ok(report));
            }
            Step::Write(w) => {
                entries.push((w.journal_key.clone(), Change::CopyIntent(w.base.clone())));
                writes.push(w);
            }
        }
    }
    if let Some(j) = ctx.journal {
        if let Err(e) = journal_many(j, entries) {
            out.push(Err(e));
            return out;
        }
    }
    if writes.is_empty() {
        return out;
    }
    let written = write_all(ctx, writes, concurrency, progress, &mut out).await;
    if !written.is_empty() {
        out.extend(verify_written(ctx, written, progress).await);
    }
    out
}

/// Makes the writes, `concurrency` at a time; a failed one is reported in `out` (its
/// intent stays without a result: a rerun checks it against the destination).
async fn write_all<'a>(
    ctx: &Ctx<'_>,
    writes: Vec<Written<'a>>,
    concurrency: usize,
    progress: &dyn crate::audit::Progress,
    out: &mut Vec<Result<ItemReport, Error>>,
) -> Vec<Written<'a>> {
    let made: Vec<Result<Written<'a>, Error>> = stream::iter(writes)
        .map(|mut w| async move {
            let version = match w.report.outcome {
                CopyOutcome::Create => ctx.dest.create(&w.item.dest, w.value, &w.item.tags).await?,
                _ => ctx.dest.add_version(&w.item.dest, w.value).await?,
            };
            w.version = Some(version);
            Ok(w)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut written = Vec::new();
    for m in made {
        match m {
            Ok(w) => written.push(w),
            Err(e) => {
                progress.tick();
                out.push(Err(e));
            }
        }
    }
    written
}

/// Reads back what was just written (AWS in batches of 20; GCP one access per name by
/// the version number its write returned: it has no batch read), journals each result
/// (one flush), and reports each write verified or not.
async fn verify_written(
    ctx: &Ctx<'_>,
    written: Vec<Written<'_>>,
    progress: &dyn crate::audit::Progress,
) -> Vec<Result<ItemReport, Error>> {
    let names: Vec<(String, String)> = written
        .iter()
        .map(|w| (w.item.dest.clone(), w.version.clone().unwrap_or_default()))
        .collect();
    let mut back = match ctx.dest.read_back(&names).await {
        Ok(b) => b,
        Err(e) => return vec![Err(e)],
    };
    let mut results = Vec::new();
    let mut reports = Vec::new();
    for w in written {
        let value = back.remove(&w.item.dest).flatten();
        let (report, key, result) = finish_one(ctx, w, value.as_ref());
        results.push((key, result));
        reports.push(report);
    }
    if let Some(j) = ctx.journal {
        if let Err(e) = journal_many(j, results) {
            return vec![Err(e)];
        }
    }
    reports
        .into_iter()
        .map(|r| {
            progress.tick();
            if r.verified {
                Ok(r)
            } else {
                Err(not_verified(ctx.dest, &r.destination))
            }
        })
        .collect()
}

fn journal_many(
    j: &std::sync::Mutex<Journal>,
    entries: Vec<(String, Change)>,
) -> Result<(), Error> {
    let mut guard = j.lock().unwrap_or_else(|e| e.into_inner());
    guard.append_many(entries).map(|_| ())
}

/// Compares one secret with what the destination holds: nothing to do (with the result
/// to journal when applying), or a write to make. A destination secret with no value
/// (it exists with no enabled or current version) is a `Create`: the store writes the
/// value into it.
fn decide<'a>(
    ctx: &Ctx<'_>,
    item: &'a Item,
    source: Option<&'a Stored>,
    existing: Option<&Stored>,
) -> Step<'a> {
    let journal_key = format!(
        "{} -> {} {}",
        ctx.source.describe(),
        ctx.dest.describe(),
        item.dest
    );
    let applying = ctx.journal.is_some();
    let not_copied = |outcome: CopyOutcome, detail: String| {
        let report = skipped(item, outcome, detail);
        let result = applying.then(|| {
            let copy = entry(ctx, item, outcome);
            (
                journal_key.clone(),
                not_copied_result(copy, report.detail.clone()),
            )
        });
        Step::Done(report, result)
    };
    let (value, source_version) = match source {
        None => return not_copied(CopyOutcome::MissingAtSource, missing_detail(None)),
        Some(Stored::NoValue { why }) => {
            return not_copied(CopyOutcome::MissingAtSource, missing_detail(Some(why)))
        }
        Some(Stored::Value { value, .. }) if value.expose().is_empty() => {
            return not_copied(CopyOutcome::EmptyAtSource, EMPTY_DETAIL.to_string())
        }
        Some(Stored::Value { value, version }) => {
            (value, Some(version.clone()).filter(|v| !v.is_empty()))
        }
    };
    let outcome = match existing.and_then(Stored::value) {
        None => CopyOutcome::Create,
        Some(current) if current.same_as(value) => CopyOutcome::Unchanged,
        Some(_) if ctx.new_version_on_conflict => CopyOutcome::NewVersion,
        Some(_) => CopyOutcome::Conflict,
    };
    let report = ItemReport {
        source: item.source.clone(),
        destination: item.dest.clone(),
        outcome,
        rotate_after_cutover: item.rotate,
        version: if outcome == CopyOutcome::Unchanged {
            existing
                .and_then(Stored::version)
                .map(str::to_string)
                .filter(|v| !v.is_empty())
        } else {
            None
        },
        verified: outcome == CopyOutcome::Unchanged,
        source_version: source_version.clone(),
        detail: None,
    };
    if !applying {
        return Step::Done(report, None);
    }
    let digest = ctx.key.digest(value);
    let base = CopyIntent {
        copy: entry(ctx, item, outcome),
        source: SourceDigests::One {
            source_digest: digest.clone(),
            source_version,
        },
    };
    if !matches!(outcome, CopyOutcome::Create | CopyOutcome::NewVersion) {
        let result = Change::CopyResult(CopyResult {
            copy: base.copy,
            source: Some(base.source),
            detail: None,
            read_back: None,
        });
        return Step::Done(report, Some((journal_key, result)));
    }
    Step::Write(Written {
        item,
        value,
        report,
        journal_key,
        base,
        digest,
        version: None,
    })
}

/// Checks one write against what was read back (the version the write returned, with
/// the source's keyed digest): the report and its result entry.
fn finish_one(
    ctx: &Ctx<'_>,
    w: Written<'_>,
    back: Option<&Stored>,
) -> (ItemReport, String, Change) {
    let Written {
        mut report,
        journal_key,
        base,
        digest,
        version,
        ..
    } = w;
    let back_digest = back.and_then(Stored::value).map(|b| ctx.key.digest(b));
    let same_version = match (back.and_then(Stored::version), version.as_deref()) {
        (Some(read), Some(written)) if !read.is_empty() && !written.is_empty() => read == written,
        _ => true,
    };
    report.verified = same_version && back_digest.as_deref() == Some(digest.as_str());
    report.version = version.clone();
    let result = Change::CopyResult(CopyResult {
        copy: base.copy,
        source: Some(base.source),
        detail: None,
        read_back: Some(ReadBack::One {
            version,
            destination_digest: back_digest,
            verified: report.verified,
        }),
    });
    (report, journal_key, result)
}

/// The set of outcomes that leave the migration incomplete.
pub fn incomplete(r: &Report) -> BTreeSet<CopyOutcome> {
    r.items
        .iter()
        .map(|i| i.outcome)
        .filter(|o| {
            matches!(
                o,
                CopyOutcome::Conflict | CopyOutcome::MissingAtSource | CopyOutcome::EmptyAtSource
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_name_mapping() {
        assert_eq!(
            Endpoint::parse("aws:eu-west-1").unwrap(),
            Endpoint::Aws {
                profile: None,
                region: "eu-west-1".into()
            }
        );
        assert_eq!(
            Endpoint::parse("aws:customer@us-east-1").unwrap(),
            Endpoint::Aws {
                profile: Some("customer".into()),
                region: "us-east-1".into()
            }
        );
        assert!(Endpoint::parse("aws:").is_err());
        assert!(Endpoint::parse("s3:bucket").is_err());
        let gcp = Endpoint::Gcp {
            project: "p".into(),
        };
        assert_eq!(
            map_name("prod/db.password+1@x", &gcp),
            "prod-db-password-1-x"
        );
        assert_eq!(
            map_name(
                "prod/db",
                &Endpoint::Aws {
                    profile: None,
                    region: "r".into()
                }
            ),
            "prod/db"
        );
        let tags: BTreeMap<String, String> = [
            ("App".to_string(), "Shop/Prod".to_string()),
            ("9x".to_string(), "y".to_string()),
        ]
        .into();
        let labels = map_tags(&tags, &gcp);
        assert_eq!(labels.get("app").map(String::as_str), Some("shop_prod"));
        assert!(!labels.contains_key("9x"), "label keys start with a letter");
    }
}
