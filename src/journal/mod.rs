//! The journal: an append-only, hash-chained record of every change `migrate` and
//! `apply` make, written before (intent) and after (result) each change, so that a run
//! that crashed can resume without doing anything twice, and an auditor can check that
//! nothing was rewritten.
//!
//! Invariants:
//! - One JSON object per line; each names the hash of the one before it (`prev`) and
//!   its own (`hash`: SHA-256 of its canonical JSON without `hash`). Editing, removing
//!   or reordering any line breaks the chain, and `open` refuses the file.
//! - A last line cut short by a crash is the only damage tolerated: `open` reports it
//!   and the next append replaces it.
//! - Entries name things and carry digests; never a secret value. Callers pass data
//!   types that have no field for one.
//! - Every append is flushed to disk (`sync_data`) before it returns.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::plan::canonical_json;

/// The `prev` of the first entry.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Before or after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Intent,
    Result,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// What kind of change (`migrate-secret`, `revoke-credential`, ...).
    pub op: String,
    pub phase: Phase,
    /// The stable key of the change (a plan step id, a migration item).
    pub key: String,
    /// What is being or was done: names, versions, digests; never a value.
    pub data: serde_json::Value,
    pub prev: String,
    pub hash: String,
}

impl Entry {
    fn compute_hash(&self) -> String {
        let mut v = serde_json::to_value(self).expect("entries serialize");
        v.as_object_mut().expect("an object").remove("hash");
        format!("sha256:{:x}", Sha256::digest(canonical_json(&v).as_bytes()))
    }
}

/// What `open` found in an existing journal.
#[derive(Debug, Default)]
pub struct Replay {
    pub entries: Vec<Entry>,
    /// A last line cut short by a crash (it will be replaced by the next append).
    pub torn_tail: bool,
}

impl Replay {
    /// Keys whose last entry is an intent with no result: changes that may or may not
    /// have happened, which a resume must check against the cloud before redoing.
    pub fn in_doubt(&self) -> Vec<&Entry> {
        let mut last: std::collections::BTreeMap<(&str, &str), &Entry> =
            std::collections::BTreeMap::new();
        for e in &self.entries {
            last.insert((e.op.as_str(), e.key.as_str()), e);
        }
        last.into_values()
            .filter(|e| e.phase == Phase::Intent)
            .collect()
    }

    /// The last result recorded for a key, if any.
    pub fn result_for(&self, op: &str, key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.op == op && e.key == key && e.phase == Phase::Result)
    }
}

pub struct Journal {
    path: PathBuf,
    file: File,
    next_seq: u64,
    prev: String,
}

fn tampered(path: &Path, line: usize, what: &str) -> Error {
    Error::input(
        path,
        format!("line {line}: {what}; the journal has been altered"),
        "do not edit journals; restore the original file, or start a new journal and audit what was done",
    )
}

impl Journal {
    /// Opens (or creates, mode 0600) a journal, verifying the whole chain.
    pub fn open(path: &Path) -> Result<(Journal, Replay), Error> {
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
        let (replay, prev, good_len) = read_chain(path, &file)?;
        let mut j = Journal {
            path: path.to_path_buf(),
            file,
            next_seq: replay.entries.len() as u64,
            prev,
        };
        j.truncate_to(good_len)?;
        Ok((j, replay))
    }

    /// Reads and verifies a journal without changing it (a torn last line is reported,
    /// not dropped).
    pub fn read(path: &Path) -> Result<Replay, Error> {
        let file = File::open(path).map_err(|e| {
            Error::input(
                path,
                format!("cannot read the journal: {e}"),
                "pass a journal written by `handover migrate --apply`",
            )
        })?;
        Ok(read_chain(path, &file)?.0)
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
    pub fn append(
        &mut self,
        op: &str,
        phase: Phase,
        key: &str,
        data: serde_json::Value,
    ) -> Result<Entry, Error> {
        let mut entries = self.append_many(op, vec![(phase, key.to_string(), data)])?;
        Ok(entries.remove(0))
    }

    /// Appends several entries with one write and one flush to disk (a chunk of a
    /// migration journals its intents, then its results, this way). A crash can cut the
    /// last line short, which `open` tolerates; whole lines before it are kept.
    pub fn append_many(
        &mut self,
        op: &str,
        entries: Vec<(Phase, String, serde_json::Value)>,
    ) -> Result<Vec<Entry>, Error> {
        let mut out = Vec::with_capacity(entries.len());
        let mut buf = String::new();
        let (mut seq, mut prev) = (self.next_seq, self.prev.clone());
        for (phase, key, data) in entries {
            let mut e = Entry {
                seq,
                at: Utc::now(),
                op: op.into(),
                phase,
                key,
                data,
                prev: prev.clone(),
                hash: String::new(),
            };
            e.hash = e.compute_hash();
            buf.push_str(&(serde_json::to_string(&e).expect("entries serialize") + "\n"));
            seq += 1;
            prev = e.hash.clone();
            out.push(e);
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
        Ok(out)
    }
}

/// Reads every entry, verifying the chain: (entries, the last hash, the length of the
/// intact part).
fn read_chain(path: &Path, file: &File) -> Result<(Replay, String, u64), Error> {
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
        let entry: Entry = match serde_json::from_str(line.trim_end()) {
            Ok(e) => e,
            Err(_) if !complete => {
                replay.torn_tail = true;
                break;
            }
            Err(e) => return Err(tampered(path, n, &format!("not a journal entry ({e})"))),
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
        if entry.prev != prev {
            return Err(tampered(
                path,
                n,
                "it does not follow from the entry before it",
            ));
        }
        if entry.compute_hash() != entry.hash {
            return Err(tampered(path, n, "its content does not match its hash"));
        }
        if !complete {
            // A whole entry without its newline: keep it, finish the line on append.
            replay.torn_tail = false;
        }
        prev = entry.hash.clone();
        good_len += read as u64;
        replay.entries.push(entry);
    }
    Ok((replay, prev, good_len))
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

    #[test]
    fn appends_chain_and_reopen_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, replay) = Journal::open(&p).unwrap();
        assert!(replay.entries.is_empty());
        j.append(
            "migrate-secret",
            Phase::Intent,
            "a",
            json!({"to": "dest/a"}),
        )
        .unwrap();
        j.append(
            "migrate-secret",
            Phase::Result,
            "a",
            json!({"version": "1", "digest": "hmac-sha256:00"}),
        )
        .unwrap();
        j.append(
            "migrate-secret",
            Phase::Intent,
            "b",
            json!({"to": "dest/b"}),
        )
        .unwrap();
        drop(j);
        let (_, replay) = Journal::open(&p).unwrap();
        assert_eq!(replay.entries.len(), 3);
        assert_eq!(replay.entries[0].prev, GENESIS);
        assert_eq!(replay.entries[1].prev, replay.entries[0].hash);
        let doubt: Vec<&str> = replay.in_doubt().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(doubt, vec!["b"], "b's intent has no result");
        assert!(replay.result_for("migrate-secret", "a").is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn a_batch_is_one_chain_with_single_appends_around_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, _) = Journal::open(&p).unwrap();
        j.append("op", Phase::Intent, "a", serde_json::json!({}))
            .unwrap();
        let batch = j
            .append_many(
                "op",
                vec![
                    (Phase::Result, "a".into(), serde_json::json!({"n": 1})),
                    (Phase::Intent, "b".into(), serde_json::json!({"n": 2})),
                ],
            )
            .unwrap();
        assert_eq!(batch.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert!(j.append_many("op", vec![]).unwrap().is_empty());
        j.append("op", Phase::Result, "b", serde_json::json!({}))
            .unwrap();
        drop(j);
        let replay = Journal::read(&p).unwrap();
        assert_eq!(replay.entries.len(), 4);
        assert_eq!(replay.entries[2].prev, replay.entries[1].hash);
        assert_eq!(replay.entries[3].prev, batch[1].hash);
        assert!(replay.in_doubt().is_empty());
        // A crash in the middle of a batch leaves its first line whole and the second torn.
        let text = std::fs::read_to_string(&p).unwrap();
        let cut = text.lines().take(2).collect::<Vec<_>>().join("\n")
            + "\n"
            + &text.lines().nth(2).unwrap()[..30];
        std::fs::write(&p, cut).unwrap();
        let (_, replay) = Journal::open(&p).unwrap();
        assert!(replay.torn_tail);
        assert_eq!(replay.entries.len(), 2);
        assert_eq!(
            replay.in_doubt().len(),
            0,
            "a's result survived; b's intent was torn, so b was never written"
        );
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, _) = Journal::open(&p).unwrap();
        j.append("op", Phase::Intent, "a", json!({})).unwrap();
        drop(j);
        // A crash in the middle of writing the second entry.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"seq\":1,\"at\":\"2026-").unwrap();
        drop(f);
        let (mut j, replay) = Journal::open(&p).unwrap();
        assert!(replay.torn_tail);
        assert_eq!(replay.entries.len(), 1);
        j.append("op", Phase::Result, "a", json!({})).unwrap();
        drop(j);
        let (_, replay) = Journal::open(&p).unwrap();
        assert_eq!(replay.entries.len(), 2);
        assert!(!replay.torn_tail);
        assert_eq!(lines(&p).len(), 2);
    }

    #[test]
    fn edits_removals_and_reordering_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.jsonl");
        let (mut j, _) = Journal::open(&p).unwrap();
        for k in ["a", "b", "c"] {
            j.append("op", Phase::Intent, k, json!({"n": k})).unwrap();
        }
        drop(j);
        let original = lines(&p);
        let cases: Vec<(Vec<String>, &str)> = vec![
            (
                vec![
                    original[0].clone(),
                    original[1].replace("\"n\":\"b\"", "\"n\":\"x\""),
                    original[2].clone(),
                ],
                "does not match its hash",
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
            let err = Journal::open(&p).err().expect("refused").to_string();
            assert!(err.contains(expected) && err.contains("altered"), "{err}");
        }
    }
}
