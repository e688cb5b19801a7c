//! The journal: an append-only, keyed hash chain recording every change `migrate` and
//! `apply` make, written before (intent) and after (result) each change, so that a run
//! that crashed can resume without doing anything twice, and an auditor can check that
//! nothing was rewritten, reordered or cut off.
//!
//! Invariants:
//! - One JSON object per line; each names the MAC of the one before it (`prev`) and
//!   its own (`mac`: HMAC-SHA-256, under the journal's `ChainKey`, of its canonical JSON
//!   without `mac`). The chain key is derived from the handover's digest key, which is
//!   never in the clear on disk, so whoever edits a line cannot recompute the chain.
//!   Editing or reordering any line breaks it, and `open`/`read` refuse the file.
//! - The head (how many entries, and the last MAC) is kept MAC'd beside the journal in
//!   `<journal>.head`, rewritten atomically after every append. A journal with fewer
//!   whole entries than its head, or whose entry at the head differs, was cut short or
//!   rewritten and is refused. The head is a lower bound: a crash between an append and
//!   the head's rewrite leaves the journal ahead of it, which is fine. What the head
//!   cannot catch: rolling back the journal and its head together to an older
//!   consistent pair, or deleting both; the manifest records each journal's head to
//!   catch that against a manifest already issued.
//! - A last line cut short by a crash is the only damage tolerated: `open` reports it
//!   and the next append replaces it. Removing whole lines is not tolerated.
//! - A journal in the earlier unkeyed format (SHA-256 `hash` fields) is refused with a
//!   message saying so, never misread.
//! - Entries name things and carry digests; never a secret value. Callers pass data
//!   types that have no field for one.
//! - Every append is flushed to disk (`sync_data`) before it returns.
//! - This module imports no layer above it: callers hand it a `ChainKey`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::canonical::canonical_json;
use crate::error::Error;
use crate::secret::DigestKey;

pub mod entry;

pub use crate::secret::store::{StoreKind, StoreRef};
pub use entry::{
    ApplyChange, ApplyIntent, ApplyObserved, ApplyOutcome, ApplyResult, ApplyTarget, Change,
    CopyIntent, CopyOutcome, CopyResult, Op, ReadBack, SecretCopy, SourceDigests, Stage, Undo,
    UndoCondition, UndoCredential, UndoGrant,
};

/// The `prev` of the first entry.
pub const GENESIS: &str =
    "hmac-sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// What a head file says it is.
pub const HEAD_SCHEMA: &str = "handover/journal-head";

// Domain labels: an entry's MAC, a head's MAC and the key derivation never share input.
const ENTRY_DOMAIN: &[u8] = b"handover-journal-entry/v2\n";
const HEAD_DOMAIN: &[u8] = b"handover-journal-head/v1\n";
const DERIVE_SALT: &[u8] = b"handover journal chain salt v1";
const DERIVE_INFO: &[u8] = b"handover journal chain key v1";

/// The key that MACs a journal's chain and its head, derived from the handover's digest
/// key (never the digest key itself, so a keyed digest of a value can never be a MAC).
pub struct ChainKey(SecretBox<[u8; 32]>);

impl ChainKey {
    /// HKDF-SHA-256 (RFC 5869) with a fixed salt and label: extract is HMAC(salt, digest
    /// key), expand one block HMAC(prk, info || 1). The digest key is only ever an HMAC
    /// *key* for digests (`DigestKey::digest`), and here it is the extract's *message*
    /// under a public salt, so no digest of any value equals the chain key.
    pub fn derive(digest_key: &DigestKey) -> ChainKey {
        let mut ext =
            <Hmac<Sha256> as Mac>::new_from_slice(DERIVE_SALT).expect("HMAC takes any key length");
        ext.update(digest_key.expose());
        let mut prk = zeroize::Zeroizing::new([0u8; 32]);
        prk.copy_from_slice(&ext.finalize().into_bytes());
        let mut exp = <Hmac<Sha256> as Mac>::new_from_slice(prk.as_slice())
            .expect("HMAC takes any key length");
        exp.update(DERIVE_INFO);
        exp.update(&[1u8]);
        let okm = exp.finalize().into_bytes();
        let mut k = Box::new([0u8; 32]);
        k.copy_from_slice(&okm);
        ChainKey(SecretBox::new(k))
    }

    fn mac(&self, domain: &[u8], v: &serde_json::Value) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret())
            .expect("HMAC takes any key length");
        mac.update(domain);
        mac.update(canonical_json(v).as_bytes());
        let out = mac.finalize().into_bytes();
        format!(
            "hmac-sha256:{}",
            out.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }
}

impl Clone for ChainKey {
    fn clone(&self) -> Self {
        ChainKey(SecretBox::new(Box::new(*self.0.expose_secret())))
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey([REDACTED])")
    }
}

/// Compares two MACs without an early exit.
fn same_mac(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// One line of a journal (`schemas/journal.v1.json`), typed: its change is the op, the
/// stage and the payload of that op at that stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The stable key of the change (a plan step id, a migration item).
    pub key: String,
    /// What is being or was done: names, versions, digests; never a value.
    pub change: Change,
    /// The MAC of the entry before (`hmac-sha256:` and 64 zeros for the first).
    pub prev: String,
    /// HMAC-SHA-256 under the chain key of this entry without `mac`.
    pub mac: String,
}

impl Entry {
    pub fn op(&self) -> Op {
        self.change.op()
    }

    pub fn stage(&self) -> Stage {
        self.change.stage()
    }
}

/// The schema of a line is the schema of what is written (`Line`, with typed data).
impl schemars::JsonSchema for Entry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Entry".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        LineSchema::json_schema(generator)
    }
}

/// One line as written and read: the MAC is computed over this, so an entry written by
/// an earlier version verifies whatever its typed form now is. Stays in this module.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    seq: u64,
    at: DateTime<Utc>,
    op: String,
    phase: Stage,
    key: String,
    data: serde_json::Value,
    prev: String,
    mac: String,
}

/// `Line` with its op and data typed, for `schemas/journal.v1.json`.
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct LineSchema {
    seq: u64,
    at: DateTime<Utc>,
    /// What kind of change (`migrate-secret`, ...).
    op: Op,
    phase: Stage,
    /// The stable key of the change (a plan step id, a migration item).
    key: String,
    /// What is being or was done: names, versions, digests; never a value.
    data: entry::Data,
    /// The MAC of the entry before (`hmac-sha256:` and 64 zeros for the first).
    prev: String,
    /// HMAC-SHA-256 under the chain key of this entry without `mac`.
    mac: String,
}

impl Line {
    fn compute_mac(&self, key: &ChainKey) -> String {
        let mut v = serde_json::to_value(self).expect("entries serialize");
        v.as_object_mut().expect("an object").remove("mac");
        key.mac(ENTRY_DOMAIN, &v)
    }
}

/// A journal's head: how many whole entries it has, and the MAC of the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub entries: u64,
    pub last: String,
}

impl Head {
    fn empty() -> Head {
        Head {
            entries: 0,
            last: GENESIS.into(),
        }
    }
}

/// The head file as written (`schemas/journal-head.v1.json`): the head, MAC'd under
/// the chain key.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeadFile {
    /// Always `handover/journal-head`.
    pub schema: String,
    pub version: u32,
    /// How many whole entries the journal had after the last append.
    pub entries: u64,
    /// The MAC of the last of them (`hmac-sha256:` and 64 zeros when there is none).
    pub last: String,
    /// HMAC-SHA-256 under the chain key of the fields above.
    pub mac: String,
}

/// Where a journal's head is kept.
pub fn head_path(journal: &Path) -> PathBuf {
    crate::output::with_suffix(journal, ".head")
}

/// True when nothing of a journal exists yet: no head, and no journal or an empty one
/// (the state in which its digest key may still be created).
pub fn is_new(journal: &Path) -> bool {
    !head_path(journal).exists()
        && std::fs::metadata(journal)
            .map(|m| m.len() == 0)
            .unwrap_or(true)
}

fn head_mac(key: &ChainKey, entries: u64, last: &str) -> String {
    key.mac(HEAD_DOMAIN, &serde_json::json!({ "schema": HEAD_SCHEMA, "version": 1, "entries": entries, "last": last }))
}

/// Reads and checks the head file: `None` when there is none.
fn read_head(journal: &Path, key: &ChainKey) -> Result<Option<Head>, Error> {
    let path = head_path(journal);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::input(
                &path,
                format!("cannot read the journal's head record: {e}"),
                "check the file's permissions",
            ))
        }
    };
    let bad = |what: &str| {
        Error::input(
            &path,
            format!(
                "{what}; the journal's head record has been altered or belongs to another journal"
            ),
            "restore the original .head file beside the journal, or start a new journal",
        )
    };
    let h: HeadFile =
        serde_json::from_slice(&bytes).map_err(|_| bad("not a journal head record"))?;
    if h.schema != HEAD_SCHEMA || h.version != 1 {
        return Err(bad("not a journal head record this version reads"));
    }
    if !same_mac(&head_mac(key, h.entries, &h.last), &h.mac) {
        return Err(bad("its MAC does not verify under this journal's key"));
    }
    Ok(Some(Head {
        entries: h.entries,
        last: h.last,
    }))
}

fn write_head(journal: &Path, key: &ChainKey, head: &Head) -> Result<(), Error> {
    let file = HeadFile {
        schema: HEAD_SCHEMA.into(),
        version: 1,
        entries: head.entries,
        last: head.last.clone(),
        mac: head_mac(key, head.entries, &head.last),
    };
    let text = serde_json::to_string(&file).expect("a head serializes") + "\n";
    crate::output::write_private(&head_path(journal), text.as_bytes(), true)
}

/// What `open` found in an existing journal.
#[derive(Debug, Default)]
pub struct Replay {
    pub entries: Vec<Entry>,
    /// A last line cut short by a crash (it will be replaced by the next append).
    pub torn_tail: bool,
}

impl Replay {
    /// The last entry of each key of `op`, in key order: where each change stands.
    pub fn latest(&self, op: Op) -> Vec<&Entry> {
        let mut last: std::collections::BTreeMap<&str, &Entry> = std::collections::BTreeMap::new();
        for e in self.entries.iter().filter(|e| e.op() == op) {
            last.insert(e.key.as_str(), e);
        }
        last.into_values().collect()
    }

    /// Changes of `op` whose last entry is an intent with no result: changes that may or
    /// may not have happened, which a resume checks against the cloud before redoing
    /// (migrate compares the destination; apply reads the target live).
    pub fn in_doubt(&self, op: Op) -> Vec<&Entry> {
        self.latest(op)
            .into_iter()
            .filter(|e| e.stage() == Stage::Intent)
            .collect()
    }

    /// The head of what was read (whole entries only).
    pub fn head(&self) -> Head {
        match self.entries.last() {
            Some(e) => Head {
                entries: self.entries.len() as u64,
                last: e.mac.clone(),
            },
            None => Head::empty(),
        }
    }

    /// Checks that this journal still holds a head recorded earlier (by its head file,
    /// or by a manifest): at least that many entries, the one at the head unchanged.
    /// Entries appended since are fine; fewer, or a different one there, are not.
    pub fn check_head(&self, path: &Path, head: &Head, recorded_by: &str) -> Result<(), Error> {
        let have = self.entries.len() as u64;
        if have < head.entries {
            return Err(tampered_at(path, &format!("it has {have} whole entries, but {recorded_by} records {}: whole lines were removed", head.entries)));
        }
        let at = match head.entries {
            0 => GENESIS,
            n => self.entries[(n - 1) as usize].mac.as_str(),
        };
        if !same_mac(at, &head.last) {
            return Err(tampered_at(
                path,
                &format!(
                    "entry {} is not the one {recorded_by} records: the journal was rewritten",
                    head.entries.saturating_sub(1)
                ),
            ));
        }
        Ok(())
    }
}

pub struct Journal {
    path: PathBuf,
    file: File,
    key: ChainKey,
    next_seq: u64,
    prev: String,
}

const TAMPERED_HINT: &str = "do not edit journals; restore the original file, or start a new journal and audit what was done";

fn tampered(path: &Path, line: usize, what: &str) -> Error {
    Error::input(
        path,
        format!("line {line}: {what}; the journal has been altered"),
        TAMPERED_HINT,
    )
}

fn tampered_at(path: &Path, what: &str) -> Error {
    Error::input(
        path,
        format!("{what}; the journal has been altered"),
        TAMPERED_HINT,
    )
}

impl Journal {
    /// Opens (or creates, mode 0600) a journal, verifying the whole chain under `key`
    /// and against its head record. A new journal gets its head record first.
    pub fn open(path: &Path, key: &ChainKey) -> Result<(Journal, Replay), Error> {
        let head = read_head(path, key)?;
        let mut opts = OpenOptions::new();
        opts.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(path).map_err(|e| {
            Error::output(
                path,
                format!("cannot open the journal: {e}"),
                "check the folder exists and is writable",
            )
        })?;
        let (replay, good_len) = read_chain(path, &file, key)?;
        match &head {
            Some(h) => replay.check_head(path, h, "its head record")?,
            None if replay.entries.is_empty() && !replay.torn_tail => {
                write_head(path, key, &Head::empty())?
            }
            None => return Err(head_missing(path)),
        }
        let prev = replay.head().last;
        let mut j = Journal {
            path: path.to_path_buf(),
            file,
            key: key.clone(),
            next_seq: replay.entries.len() as u64,
            prev,
        };
        j.truncate_to(good_len)?;
        Ok((j, replay))
    }

    /// Reads and verifies a journal (chain and head) without changing it; a torn last
    /// line is reported, not dropped.
    pub fn read(path: &Path, key: &ChainKey) -> Result<Replay, Error> {
        let file = File::open(path).map_err(|e| {
            Error::input(
                path,
                format!("cannot read the journal: {e}"),
                "pass a journal written by `handover migrate --apply`",
            )
        })?;
        let head = read_head(path, key)?;
        let (replay, _) = read_chain(path, &file, key)?;
        match &head {
            Some(h) => replay.check_head(path, h, "its head record")?,
            None if replay.entries.is_empty() && !replay.torn_tail => {}
            None => return Err(head_missing(path)),
        }
        Ok(replay)
    }

    fn truncate_to(&mut self, len: u64) -> Result<(), Error> {
        let current = self.file.metadata().map(|m| m.len()).unwrap_or(len);
        if current != len {
            self.file.set_len(len).map_err(|e| {
                Error::output(
                    &self.path,
                    format!("cannot drop the torn last line: {e}"),
                    "check the file",
                )
            })?;
        }
        let needs_newline = len > 0 && {
            let mut f = &self.file;
            f.seek(SeekFrom::Start(len - 1)).ok();
            let mut b = [0u8; 1];
            std::io::Read::read_exact(&mut f, &mut b).is_ok() && b[0] != b'\n'
        };
        if needs_newline {
            self.file
                .write_all(b"\n")
                .and_then(|_| self.file.sync_data())
                .map_err(|e| {
                    Error::output(&self.path, format!("cannot write: {e}"), "check the disk")
                })?;
        }
        Ok(())
    }

    /// Appends one entry and flushes it to disk before returning.
    pub fn append(&mut self, key: &str, change: Change) -> Result<Entry, Error> {
        let mut entries = self.append_many(vec![(key.to_string(), change)])?;
        Ok(entries.remove(0))
    }

    /// Appends several entries with one write and one flush to disk (a chunk of a
    /// migration journals its intents, then its results, this way), then moves the
    /// head record to the new last entry. A crash can cut the last line short, which
    /// `open` tolerates; whole lines before it are kept.
    pub fn append_many(&mut self, entries: Vec<(String, Change)>) -> Result<Vec<Entry>, Error> {
        let mut out = Vec::with_capacity(entries.len());
        let mut buf = String::new();
        let (mut seq, mut prev) = (self.next_seq, self.prev.clone());
        for (key, change) in entries {
            let mut line = Line {
                seq,
                at: Utc::now(),
                op: change.op().as_str().into(),
                phase: change.stage(),
                key,
                data: change.data(),
                prev: prev.clone(),
                mac: String::new(),
            };
            line.mac = line.compute_mac(&self.key);
            buf.push_str(&(serde_json::to_string(&line).expect("entries serialize") + "\n"));
            seq += 1;
            prev = line.mac.clone();
            out.push(Entry {
                seq: line.seq,
                at: line.at,
                key: line.key,
                change,
                prev: line.prev,
                mac: line.mac,
            });
        }
        if out.is_empty() {
            return Ok(out);
        }
        self.file
            .write_all(buf.as_bytes())
            .and_then(|_| self.file.sync_data())
            .map_err(|err| {
                Error::output(
                    &self.path,
                    format!("cannot append to the journal: {err}"),
                    "check the disk; nothing after this step was done",
                )
            })?;
        self.next_seq = seq;
        self.prev = prev;
        write_head(
            &self.path,
            &self.key,
            &Head {
                entries: self.next_seq,
                last: self.prev.clone(),
            },
        )?;
        Ok(out)
    }
}

fn head_missing(path: &Path) -> Error {
    Error::input(
        head_path(path),
        "the journal has entries but no head record beside it, so whole lines could have been removed unseen",
        "restore the .head file beside the journal (it is rewritten after every append), or start a new journal",
    )
}

fn old_format(path: &Path, line: usize) -> Error {
    Error::input(
        path,
        format!("line {line}: a journal in the earlier unkeyed format (SHA-256 `hash` chain), which cannot show it was not rewritten"),
        "this version reads only keyed journals: keep the old file as a record and start a new journal with --journal",
    )
}

fn is_old_entry(line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line.trim_end())
        .ok()
        .is_some_and(|v| v.get("hash").is_some() && v.get("mac").is_none())
}

/// Refuses a journal in the earlier unkeyed format by its first line, before anything
/// (its key) is opened for it. A missing or empty journal passes.
pub fn check_format(path: &Path) -> Result<(), Error> {
    let Ok(file) = File::open(path) else {
        return Ok(());
    };
    let mut first = String::new();
    // One entry is small; a first "line" of a megabyte is not an entry of either format.
    let _ = BufReader::new(std::io::Read::take(file, 1 << 20)).read_line(&mut first);
    if is_old_entry(&first) {
        return Err(old_format(path, 1));
    }
    Ok(())
}

/// Reads every entry, verifying the chain under `key`: (entries, the length of the
/// intact part).
fn read_chain(path: &Path, file: &File, key: &ChainKey) -> Result<(Replay, u64), Error> {
    let mut replay = Replay::default();
    let mut prev = GENESIS.to_string();
    let mut good_len: u64 = 0;
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut n = 0usize;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| Error::input(path, format!("cannot read: {e}"), "check the file"))?;
        if read == 0 {
            break;
        }
        n += 1;
        let complete = line.ends_with('\n');
        let entry: Line = match serde_json::from_str(line.trim_end()) {
            Ok(e) => e,
            Err(_) if !complete => {
                replay.torn_tail = true;
                break;
            }
            Err(e) => {
                if is_old_entry(&line) {
                    return Err(old_format(path, n));
                }
                // The parse error names a position and a category, never the content.
                return Err(tampered(
                    path,
                    n,
                    &format!("not a journal entry ({})", classify(&e)),
                ));
            }
        };
        if entry.seq != replay.entries.len() as u64 {
            return Err(tampered(
                path,
                n,
                &format!(
                    "sequence number {} where {} was expected",
                    entry.seq,
                    replay.entries.len()
                ),
            ));
        }
        if !same_mac(&entry.prev, &prev) {
            return Err(tampered(
                path,
                n,
                "it does not follow from the entry before it",
            ));
        }
        if !same_mac(&entry.compute_mac(key), &entry.mac) {
            return Err(tampered(
                path,
                n,
                "its MAC does not verify under this journal's key",
            ));
        }
        if !complete {
            // A whole entry without its newline: keep it, finish the line on append.
            replay.torn_tail = false;
        }
        prev = entry.mac.clone();
        good_len += read as u64;
        replay.entries.push(typed(path, n, entry)?);
    }
    Ok((replay, good_len))
}

/// The typed entry of a verified line. Its MAC verified, so it was written under this
/// journal's key: a line this version cannot type was written by another version.
fn typed(path: &Path, n: usize, l: Line) -> Result<Entry, Error> {
    let change = Change::from_parts(&l.op, l.phase, l.data).map_err(|what| {
        Error::input(
            path,
            format!("line {n}: {what}"),
            "read this journal with the handover version that wrote it",
        )
    })?;
    Ok(Entry {
        seq: l.seq,
        at: l.at,
        key: l.key,
        change,
        prev: l.prev,
        mac: l.mac,
    })
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "a field is missing or has the wrong type",
        serde_json::error::Category::Eof => "cut short",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn key() -> ChainKey {
        ChainKey::derive(&DigestKey::from_bytes([9u8; 32]))
    }

    fn copy(n: &str) -> SecretCopy {
        SecretCopy {
            from: StoreRef {
                kind: StoreKind::Dotenv,
                scope: ".env".into(),
                region: None,
            },
            source: n.into(),
            to: StoreRef {
                kind: StoreKind::Gcp,
                scope: "p".into(),
                region: None,
            },
            destination: n.into(),
            outcome: CopyOutcome::Create,
            rotate_after_cutover: false,
            digest_key: "key:0000000000000000".into(),
        }
    }

    fn one() -> SourceDigests {
        SourceDigests::One {
            source_digest: "hmac-sha256:00".into(),
            source_version: None,
        }
    }

    /// A copy's intent, naming `n`.
    fn intent(n: &str) -> Change {
        Change::CopyIntent(CopyIntent {
            copy: copy(n),
            source: one(),
        })
    }

    /// A copy's verified result, naming `n`.
    fn result(n: &str) -> Change {
        Change::CopyResult(CopyResult {
            copy: copy(n),
            source: Some(one()),
            detail: None,
            read_back: Some(ReadBack::One {
                version: Some("1".into()),
                destination_digest: Some("hmac-sha256:00".into()),
                verified: true,
            }),
        })
    }

    /// Writes a journal of three intents (a, b, c); returns its path and lines.
    fn three(dir: &Path) -> (PathBuf, Vec<String>) {
        let p = dir.join("journal.jsonl");
        let (mut j, _) = Journal::open(&p, &key()).unwrap();
        for k in ["a", "b", "c"] {
            j.append(k, intent(k)).unwrap();
        }
        drop(j);
        let l = lines(&p);
        (p, l)
    }

    /// The unkeyed SHA-256 an attacker without the key can recompute (the old chain).
    fn unkeyed(v: &serde_json::Value) -> String {
        use sha2::Digest;
        format!("sha256:{:x}", Sha256::digest(canonical_json(v).as_bytes()))
    }

    /// Rewrites entry `i` of `lines` with `data`, re-chaining it and every later entry
    /// with `mac_of` (what a forger can compute), and returns the new lines.
    fn forge(
        lines: &[String],
        i: usize,
        data: serde_json::Value,
        mac_of: &dyn Fn(&serde_json::Value) -> String,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut prev: Option<String> = None;
        for (n, l) in lines.iter().enumerate() {
            let mut e: serde_json::Value = serde_json::from_str(l).unwrap();
            if n == i {
                e["data"] = data.clone();
            }
            if let Some(p) = &prev {
                e["prev"] = json!(p);
            }
            if n >= i {
                e.as_object_mut().unwrap().remove("mac");
                let m = mac_of(&e);
                e["mac"] = json!(m);
            }
            prev = Some(e["mac"].as_str().unwrap().to_string());
            out.push(serde_json::to_string(&e).unwrap());
        }
        out
    }

    // An observation (a step found already in its end state) has no result after it:
    // it must read back as what it is and never count as an intent in doubt.
    #[test]
    fn an_observation_round_trips_and_is_never_in_doubt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let observed = Change::ApplyObserved(ApplyObserved {
            about: ApplyTarget {
                plan: "sha256:00".into(),
                target: "t".into(),
                provider: crate::model::Provider::Aws,
                scope: "123456789012".into(),
                change: ApplyChange::Deactivate,
                calls: vec![],
            },
            observed: "AKIA of u is already inactive".into(),
        });
        let (mut j, _) = Journal::open(&p, &key()).unwrap();
        j.append("s-1", observed.clone()).unwrap();
        drop(j);
        assert!(
            lines(&p)[0].contains(r#""phase":"observed""#),
            "{:?}",
            lines(&p)
        );
        let replay = Journal::read(&p, &key()).unwrap();
        assert_eq!(replay.entries[0].change, observed);
        assert_eq!(replay.entries[0].stage(), Stage::Observed);
        assert_eq!(replay.entries[0].op(), Op::ApplyStep);
        assert_eq!(replay.latest(Op::ApplyStep).len(), 1);
        assert!(replay.in_doubt(Op::ApplyStep).is_empty());
    }

    #[test]
    fn appends_chain_and_reopen_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, replay) = Journal::open(&p, &key()).unwrap();
        assert!(replay.entries.is_empty());
        j.append("a", intent("dest/a")).unwrap();
        j.append("a", result("dest/a")).unwrap();
        j.append("b", intent("dest/b")).unwrap();
        drop(j);
        let (_, replay) = Journal::open(&p, &key()).unwrap();
        assert_eq!(replay.entries.len(), 3);
        assert_eq!(replay.entries[0].prev, GENESIS);
        assert_eq!(replay.entries[1].prev, replay.entries[0].mac);
        assert!(replay.entries[0].mac.starts_with("hmac-sha256:"));
        let doubt: Vec<&str> = replay
            .in_doubt(Op::MigrateSecret)
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(doubt, vec!["b"], "b's intent has no result");
        assert!(replay
            .latest(Op::MigrateSecret)
            .iter()
            .any(|e| e.key == "a" && e.stage() == Stage::Result));
        assert_eq!(
            replay.entries[1].change,
            result("dest/a"),
            "read back typed"
        );
        assert_eq!(read_head(&p, &key()).unwrap(), Some(replay.head()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                std::fs::metadata(head_path(&p))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn a_batch_is_one_chain_with_single_appends_around_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, _) = Journal::open(&p, &key()).unwrap();
        j.append("a", intent("a")).unwrap();
        let batch = j
            .append_many(vec![("a".into(), result("a")), ("b".into(), intent("b"))])
            .unwrap();
        assert_eq!(batch.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert!(j.append_many(vec![]).unwrap().is_empty());
        let head_before_last = read_head(&p, &key()).unwrap().unwrap();
        j.append("b", result("b")).unwrap();
        drop(j);
        let replay = Journal::read(&p, &key()).unwrap();
        assert_eq!(replay.entries.len(), 4);
        assert_eq!(replay.entries[2].prev, replay.entries[1].mac);
        assert_eq!(replay.entries[3].prev, batch[1].mac);
        assert!(replay.in_doubt(Op::MigrateSecret).is_empty());
        // A crash in the middle of a batch, before the head moved: the head still names
        // entry 2, the batch's first line is whole and its second torn.
        write_head(&p, &key(), &head_before_last).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let cut = text.lines().take(3).collect::<Vec<_>>().join("\n")
            + "\n"
            + &text.lines().nth(3).unwrap()[..30];
        std::fs::write(&p, cut).unwrap();
        let (_, replay) = Journal::open(&p, &key()).unwrap();
        assert!(replay.torn_tail);
        assert_eq!(replay.entries.len(), 3);
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, _) = Journal::open(&p, &key()).unwrap();
        j.append("a", intent("a")).unwrap();
        drop(j);
        // A crash in the middle of writing the second entry.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"seq\":1,\"at\":\"2026-").unwrap();
        drop(f);
        let (mut j, replay) = Journal::open(&p, &key()).unwrap();
        assert!(replay.torn_tail);
        assert_eq!(replay.entries.len(), 1);
        j.append("a", result("a")).unwrap();
        drop(j);
        let (_, replay) = Journal::open(&p, &key()).unwrap();
        assert_eq!(replay.entries.len(), 2);
        assert!(!replay.torn_tail);
        assert_eq!(lines(&p).len(), 2);
    }

    #[test]
    fn edits_and_reordering_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (p, original) = three(dir.path());
        let cases: Vec<(Vec<String>, &str)> = vec![
            (
                vec![
                    original[0].clone(),
                    original[1].replacen("\"destination\":\"b\"", "\"destination\":\"x\"", 1),
                    original[2].clone(),
                ],
                "does not verify",
            ),
            (
                vec![original[0].clone(), original[2].clone()],
                "sequence number",
            ),
            (
                vec![
                    original[1].clone(),
                    original[0].clone(),
                    original[2].clone(),
                ],
                "sequence number",
            ),
            (
                vec![original[0].clone(), "not json".into(), original[2].clone()],
                "not a journal entry",
            ),
        ];
        for (content, expected) in cases {
            std::fs::write(&p, content.join("\n") + "\n").unwrap();
            let err = Journal::open(&p, &key())
                .err()
                .expect("refused")
                .to_string();
            assert!(err.contains(expected) && err.contains("altered"), "{err}");
        }
    }

    // Regression: removing the last whole lines was accepted (the chain has no end marker).
    #[test]
    fn whole_line_truncation_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (p, original) = three(dir.path());
        for keep in [2usize, 1, 0] {
            std::fs::write(
                &p,
                original[..keep]
                    .iter()
                    .map(|l| format!("{l}\n"))
                    .collect::<String>(),
            )
            .unwrap();
            let err = Journal::read(&p, &key())
                .expect_err("a cut journal is refused")
                .to_string();
            assert!(
                err.contains("whole lines were removed") && err.contains("altered"),
                "{keep}: {err}"
            );
            let err = Journal::open(&p, &key())
                .err()
                .expect("and cannot be resumed")
                .to_string();
            assert!(err.contains("whole lines were removed"), "{err}");
        }
        // Deleting the head record with it is refused too.
        std::fs::write(&p, original[..2].join("\n") + "\n").unwrap();
        std::fs::remove_file(head_path(&p)).unwrap();
        let err = Journal::read(&p, &key()).expect_err("refused").to_string();
        assert!(err.contains("no head record"), "{err}");
    }

    // Regression: with an unkeyed SHA-256 chain, an edited entry with recomputed hashes passed.
    #[test]
    fn a_rewritten_entry_with_recomputed_chain_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (p, original) = three(dir.path());
        let forged_data = intent("forged").data();
        // Recomputed as the old unkeyed chain.
        let unkeyed_lines = forge(&original, 1, forged_data.clone(), &|v| unkeyed(v));
        std::fs::write(&p, unkeyed_lines.join("\n") + "\n").unwrap();
        let err = Journal::read(&p, &key()).expect_err("refused").to_string();
        assert!(err.contains("line 2") && err.contains("altered"), "{err}");
        // Recomputed as a keyed chain, under a key that is not this journal's.
        let wrong = ChainKey::derive(&DigestKey::from_bytes([8u8; 32]));
        let wrong_lines = forge(&original, 1, forged_data.clone(), &|v| {
            wrong.mac(ENTRY_DOMAIN, v)
        });
        std::fs::write(&p, wrong_lines.join("\n") + "\n").unwrap();
        let err = Journal::read(&p, &key()).expect_err("refused").to_string();
        assert!(
            err.contains("line 2") && err.contains("does not verify"),
            "{err}"
        );
        // Even with its head record rewritten under the wrong key.
        let last = serde_json::from_str::<serde_json::Value>(&wrong_lines[2]).unwrap()["mac"]
            .as_str()
            .unwrap()
            .to_string();
        write_head(&p, &wrong, &Head { entries: 3, last }).unwrap();
        let err = Journal::read(&p, &key()).expect_err("refused").to_string();
        assert!(
            err.contains("head record") && err.contains("does not verify"),
            "{err}"
        );
        // The right key recomputes a chain that verifies: the key is what protects it.
        let right_lines = forge(&original, 1, forged_data, &|v| key().mac(ENTRY_DOMAIN, v));
        std::fs::write(&p, right_lines.join("\n") + "\n").unwrap();
        let last = serde_json::from_str::<serde_json::Value>(&right_lines[2]).unwrap()["mac"]
            .as_str()
            .unwrap()
            .to_string();
        write_head(&p, &key(), &Head { entries: 3, last }).unwrap();
        assert!(Journal::read(&p, &key()).is_ok());
    }

    #[test]
    fn a_recorded_head_catches_rollback_of_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let (p, original) = three(dir.path());
        let recorded = Journal::read(&p, &key()).unwrap().head();
        // Rolled back to an older consistent pair: the journal's own head cannot see it.
        std::fs::write(&p, original[..2].join("\n") + "\n").unwrap();
        let older = Head {
            entries: 2,
            last: serde_json::from_str::<serde_json::Value>(&original[1]).unwrap()["mac"]
                .as_str()
                .unwrap()
                .to_string(),
        };
        write_head(&p, &key(), &older).unwrap();
        let replay = Journal::read(&p, &key()).expect("consistent with its own head");
        // A head recorded elsewhere (the manifest) does.
        let err = replay
            .check_head(&p, &recorded, "the manifest")
            .unwrap_err()
            .to_string();
        assert!(err.contains("the manifest records 3"), "{err}");
        assert!(replay.check_head(&p, &older, "the manifest").is_ok());
    }

    #[test]
    fn an_unkeyed_journal_of_the_earlier_format_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("old.jsonl");
        let mut e = json!({"seq": 0, "at": "2026-01-01T00:00:00Z", "op": "migrate-secret", "phase": "intent", "key": "a", "data": {}, "prev": format!("sha256:{}", "0".repeat(64))});
        e["hash"] = json!(unkeyed(&e));
        std::fs::write(&p, serde_json::to_string(&e).unwrap() + "\n").unwrap();
        let err = Journal::read(&p, &key()).expect_err("refused").to_string();
        assert!(err.contains("earlier unkeyed format"), "{err}");
        let err = Journal::open(&p, &key())
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("earlier unkeyed format"), "{err}");
    }

    // An entry whose MAC verifies but whose op or data this version cannot type was
    // written by another version: refused by line, never misread or half-read.
    #[test]
    fn an_entry_this_version_cannot_type_is_refused_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let (p, original) = three(dir.path());
        let rewrite = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut e: serde_json::Value = serde_json::from_str(&original[2]).unwrap();
            edit(&mut e);
            e.as_object_mut().unwrap().remove("mac");
            let m = key().mac(ENTRY_DOMAIN, &e);
            e["mac"] = json!(m);
            let mut lines = original[..2].to_vec();
            lines.push(serde_json::to_string(&e).unwrap());
            std::fs::write(&p, lines.join("\n") + "\n").unwrap();
            write_head(
                &p,
                &key(),
                &Head {
                    entries: 3,
                    last: m,
                },
            )
            .unwrap();
            Journal::read(&p, &key()).expect_err("refused").to_string()
        };
        let err = rewrite(&|e| e["op"] = json!("delete-everything"));
        assert!(
            err.contains("line 3") && err.contains("op this version does not know"),
            "{err}"
        );
        let err = rewrite(&|e| e["data"] = json!({"n": "c"}));
        assert!(
            err.contains("line 3") && err.contains("not a migrate-secret intent"),
            "{err}"
        );
    }

    #[test]
    fn the_chain_key_is_derived_apart_from_digests() {
        let dk = DigestKey::from_bytes([5u8; 32]);
        let ck = ChainKey::derive(&dk);
        assert_ne!(ck.0.expose_secret(), dk.expose());
        assert_eq!(format!("{ck:?}"), "ChainKey([REDACTED])");
        // No digest of the derivation's labels is the chain key.
        for label in [DERIVE_INFO, DERIVE_SALT] {
            let d = dk.digest(&crate::secret::SecretValue::binary(label.to_vec()));
            let hex: String =
                ck.0.expose_secret()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
            assert!(!d.contains(&hex));
        }
        assert_ne!(
            ChainKey::derive(&DigestKey::from_bytes([6u8; 32]))
                .0
                .expose_secret(),
            ck.0.expose_secret()
        );
    }
}
