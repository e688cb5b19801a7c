//! Recipients files, and encryption to what they accept.
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = file("recipients.txt", data);
    match handover::crypto::read_recipients_file(&path) {
        Err(e) => assert_no_key_material(data, &shown(&e)),
        Ok(rs) => {
            let _ = handover::crypto::encrypt(b"x", &rs, false);
        }
    }
});
