//! The shape of the source tree, checked on every test run (issue 12): the module layers
//! import only downwards, and no function in `src/` is longer than a screen and a half.
//!
//! Both checks read the rustfmt-formatted source as text (`cargo fmt --check` runs first in
//! `scripts/test.sh`), so a function is the lines from its `fn` to the closing brace at the
//! same indentation. Test modules (`#[cfg(test)]` to the end of a file) are not counted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The module layers, lowest first. A module may import (`crate::NAME`) only modules of a
/// lower rank. `apply` (issue 13) belongs beside `migrate`; `report` (issue 14) beside
/// `verify`, below `cli`.
const LAYERS: &[(&str, u8)] = &[
    // Leaves: no import of the crate, or only of each other.
    ("canonical", 0),
    ("input", 0),
    ("model", 0),
    // The typed error names a `model::Provider`.
    ("error", 1),
    // Writing outputs returns errors; secret values, keyed digests and the
    // `SecretStore` trait (its errors name a provider).
    ("output", 2),
    ("secret", 2),
    // Pure logic and local files.
    ("crypto", 2),
    ("policy", 2),
    // Documentation: read, checked and scanned from local files (its section names are
    // part of the config, which imports them).
    ("docs", 2),
    ("journal", 3),
    ("config", 3),
    // The clouds and exports.
    ("providers", 3),
    ("audit", 4),
    ("plan", 4),
    // What changes the world, then what seals and proves it.
    ("migrate", 5),
    // Writes the journal; reads the plan and the providers (manifest reads its journal).
    ("apply", 5),
    ("manifest", 6),
    ("verify", 7),
    // Reads everything below (plan, the journals' outcomes through `manifest`, the
    // verification) and changes nothing.
    ("report", 8),
    ("cli", 9),
];

/// The longest a function in `src/` may be, in lines from `fn` to its closing brace.
const MAX_LINES: usize = 100;

/// Functions allowed to be longer, each with its reason: declarative tables, where one
/// line per entry is the point and splitting would only scatter the table.
const LONG_ALLOWED: &[(&str, &str, &str)] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file's lines before its test module.
fn production_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .map(str::to_string)
        .collect()
}

/// The top-level module a file belongs to (`src/plan/render.rs` -> `plan`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// `(name, first line, length)` of every function with a body.
fn functions(lines: &[String]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        let Some(after) = fn_keyword(t) else { continue };
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // The signature ends at the first line (from here) ending in `{`, or `;` for a
        // declaration without a body.
        let Some(open) = (i..lines.len()).find(|&j| {
            let l = lines[j].trim_end();
            l.ends_with('{') || l.ends_with(';') || l.ends_with('}')
        }) else {
            continue;
        };
        let open_line = lines[open].trim_end();
        if open_line.ends_with(';') || open_line.ends_with('}') {
            out.push((name, i + 1, open - i + 1));
            continue;
        }
        let close = " ".repeat(indent) + "}";
        let end = (open + 1..lines.len())
            .find(|&j| lines[j].trim_end() == close)
            .unwrap_or(lines.len() - 1);
        out.push((name, i + 1, end - i + 1));
    }
    out
}

/// The text after `fn ` when the line opens a function item.
fn fn_keyword(t: &str) -> Option<&str> {
    let mut rest = t;
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    rest.strip_prefix("fn ")
}

#[test]
fn no_function_in_src_is_longer_than_the_limit() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut long = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(src()).unwrap().display().to_string();
        for (name, line, len) in functions(&production_lines(f)) {
            let allowed = LONG_ALLOWED
                .iter()
                .any(|(file, n, _)| *file == rel && *n == name);
            if len > MAX_LINES && !allowed {
                long.push(format!("src/{rel}:{line} {name}: {len} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_LINES} lines (split them along their sections, or add a \
         declarative table to LONG_ALLOWED with its reason):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_allowed_long_functions_still_exist_and_are_long() {
    // An entry that no longer matches would silently allow a new long function later.
    for (file, name, why) in LONG_ALLOWED {
        assert!(!why.is_empty(), "{file} {name}: give the reason");
        let lines = production_lines(&src().join(file));
        let found = functions(&lines)
            .into_iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{file}: no function {name}"));
        assert!(found.2 > MAX_LINES, "{file} {name} is short now: remove it");
    }
}

#[test]
fn modules_import_only_lower_layers() {
    let rank: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for f in &files {
        let m = module_of(f);
        if m == "lib" || m == "main" {
            continue;
        }
        let Some(&mine) = rank.get(m.as_str()) else {
            wrong.push(format!(
                "{}: module `{m}` has no layer in LAYERS",
                f.display()
            ));
            continue;
        };
        for (n, line) in production_lines(f).iter().enumerate() {
            for (at, _) in line.match_indices("crate::") {
                let used: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if used == m || used.is_empty() {
                    continue;
                }
                match rank.get(used.as_str()) {
                    Some(&theirs) if theirs < mine => {}
                    _ => wrong.push(format!(
                        "src/{}:{}: `{m}` imports `{used}`",
                        f.strip_prefix(src()).unwrap().display(),
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up or sideways:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checks_see_a_long_function_and_an_upward_import() {
    // The scanners themselves: a 102-line function is found, with its length.
    let mut lines = vec![
        "pub fn long(".to_string(),
        "    x: u8,".into(),
        ") {".into(),
    ];
    lines.extend((0..98).map(|_| "    let _ = 1;".to_string()));
    lines.push("}".into());
    lines.push("fn short() {}".into());
    let f = functions(&lines);
    assert_eq!(f[0], ("long".into(), 1, 102));
    assert_eq!(f[1], ("short".into(), 103, 1));
}
