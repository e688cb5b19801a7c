//! The credential report CSV, alone and through the AWS snapshot assembly.
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = handover::providers::aws::sources::CredentialReport::parse_csv(data, None);
    let account = copy_once(
        &example().join("snapshot/aws/123456789012"),
        "aws/123456789012",
    );
    let _ = std::fs::remove_file(account.join("credential-report.json"));
    std::fs::write(account.join("credential-report.csv"), data).unwrap();
    if let Ok((sources, regions)) = handover::providers::aws::snapshot::load_account(&account) {
        let inv = handover::providers::aws::assemble::assemble(
            &sources,
            handover::model::SourceMode::Snapshot,
            &regions,
            chrono_now(),
        );
        let _ = handover::audit::table::render(&inv);
    }
});

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap()
}
