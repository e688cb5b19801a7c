//! The journal's digest key file: its plaintext, sealed to the customer, then opened.
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ex = example();
    let recipients = handover::crypto::read_recipients_file(&ex.join("recipients.txt")).unwrap();
    let ids = handover::crypto::read_identities(&ex.join("keys/contoso-security.agekey")).unwrap();
    let journal = scratch().join("journal.jsonl");
    let sealed = handover::crypto::encrypt(data, &recipients, true).unwrap();
    std::fs::write(handover::migrate::key::key_path(&journal), sealed).unwrap();
    let _ = handover::migrate::key::open(&journal, &ids);
});
