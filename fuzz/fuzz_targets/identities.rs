//! Identity files: age identities and OpenSSH private keys.
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = file("identity", data);
    if let Err(e) = handover::crypto::read_identities(&path) {
        assert_no_key_material(data, &shown(&e));
    }
});
