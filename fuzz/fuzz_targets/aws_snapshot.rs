//! account-authorization-details.json through the AWS snapshot reader and assembly
//! (the other files of the example account stay as they are).
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let account = copy_once(
        &example().join("snapshot/aws/123456789012"),
        "aws/123456789012",
    );
    std::fs::write(account.join("account-authorization-details.json"), data).unwrap();
    if let Ok((sources, regions)) = handover::providers::aws::snapshot::load_account(&account) {
        let now = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let inv = handover::providers::aws::assemble::assemble(
            &sources,
            handover::model::SourceMode::Snapshot,
            &regions,
            now,
        );
        let _ = handover::audit::table::render(&inv);
    }
});
