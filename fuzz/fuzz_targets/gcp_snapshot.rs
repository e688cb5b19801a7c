//! A project's iam-policy.json (bindings, conditions) through the GCP snapshot reader
//! and assembly.
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let project = copy_once(
        &example().join("snapshot/gcp/contoso-shop-prod"),
        "gcp/contoso-shop-prod",
    );
    std::fs::write(project.join("iam-policy.json"), data).unwrap();
    if let Ok(sources) = handover::providers::gcp::snapshot::load_project(&project) {
        let now = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let inv = handover::providers::gcp::assemble::assemble(
            &sources,
            handover::model::SourceMode::Snapshot,
            now,
        );
        let _ = handover::audit::table::render(&inv);
    }
});
