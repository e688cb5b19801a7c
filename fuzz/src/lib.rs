//! Shared pieces of the fuzz targets: a private scratch folder per process, the
//! example's files, and the check that an error shows no planted key material.
//!
//! Invariant: a target either returns or panics; libFuzzer reports a panic, a timeout
//! (`-timeout=N`) or running out of memory (`-rss_limit_mb`) as a crash with its input.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository root (this crate is `fuzz/` inside it).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn example() -> PathBuf {
    repo().join("examples/northwind-to-contoso")
}

/// A scratch folder for this process, removed when it exits normally.
pub fn scratch() -> &'static Path {
    static D: OnceLock<tempfile::TempDir> = OnceLock::new();
    D.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("handover-cargo-fuzz-")
            .tempdir()
            .unwrap()
    })
    .path()
}

/// Writes `data` to `name` in the scratch folder and returns the path.
pub fn file(name: &str, data: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(&p, data).unwrap();
    p
}

/// Copies a folder (once) into the scratch folder.
pub fn copy_once(from: &Path, to_name: &str) -> PathBuf {
    let to = scratch().join(to_name);
    if !to.exists() {
        copy_tree(from, &to);
    }
    to
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (s, d) = (e.path(), to.join(e.file_name()));
        if s.is_dir() {
            copy_tree(&s, &d);
        } else {
            std::fs::copy(&s, &d).unwrap();
        }
    }
}

/// What a user sees of an error.
pub fn shown(e: &handover::error::Error) -> String {
    format!("{e}\nhint: {}", e.hint())
}

/// Panics when a message shows what looks like an age secret key, or a 12-character
/// piece of a private key's base64 that the input held after its public first line.
pub fn assert_no_key_material(input: &[u8], message: &str) {
    let upper = message.to_ascii_uppercase();
    if let Some(i) = upper.find("AGE-SECRET-KEY-1") {
        assert!(
            !upper[i + 16..].starts_with(|c: char| c.is_ascii_alphanumeric()),
            "an age secret key in: {message}"
        );
    }
    let text = String::from_utf8_lossy(input);
    let mut in_pem = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN") {
            in_pem = 1;
            continue;
        }
        if line.starts_with("-----END") {
            in_pem = 0;
        }
        if in_pem > 0 {
            in_pem += 1;
            // Only base64 lines are key material (a mutant may put anything in a PEM).
            if in_pem > 2
                && line
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
            {
                for w in line.as_bytes().windows(12) {
                    let w = String::from_utf8_lossy(w).to_ascii_uppercase();
                    assert!(
                        !upper.contains(&w),
                        "a piece of the private key ({w}) in: {message}"
                    );
                }
            }
        }
    }
}
