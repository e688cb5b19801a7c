//! The decrypted manifest: parsed, summarised, shown redacted.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = handover::manifest::from_plaintext(data, Path::new("handover.age")) {
        let _ = handover::manifest::summary(&m, false);
        let _ = handover::manifest::redacted_json(&m, false);
    }
});
