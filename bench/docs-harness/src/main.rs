//! `docs-harness CONFIG_DIR`: `handover docs check` of the documents under
//! CONFIG_DIR/playbooks with the default settings, its report as JSON on stdout; the
//! same `docs::check` as the binary (src/docs is included by path), so `bench/docs.py
//! --harness` times the check itself in a release build.

#[path = "../../../src/docs/mod.rs"]
#[allow(dead_code)]
mod docs;

#[path = "../../../src/model/finding.rs"]
#[allow(dead_code)]
mod finding;

mod model {
    pub use super::finding::Severity;
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("CONFIG_DIR"));
    let wanted = [(docs::DocKind::Playbook, std::path::PathBuf::from("playbooks"))];
    let report = docs::check(&dir, &wanted, &[], &docs::check::Settings::default());
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    std::process::exit(i32::from(report.fails_at(model::Severity::Low)));
}
