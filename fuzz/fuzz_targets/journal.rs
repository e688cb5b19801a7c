//! The journal, read and verified (and opened, which may drop a torn last line).
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = file("journal.jsonl", data);
    let _ = handover::journal::Journal::read(&path);
    let _ = handover::journal::Journal::open(&path);
});
