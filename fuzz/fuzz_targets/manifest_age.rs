//! The age envelope of a manifest: header stanzas, decryption with the customer's key,
//! the JSON inside.
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let ids =
        handover::crypto::read_identities(&example().join("keys/contoso-security.agekey")).unwrap();
    let f = Path::new("handover.age");
    let _ = handover::crypto::header_stanzas(data, f);
    if let Ok(plain) = handover::crypto::decrypt(data, &ids, f) {
        let _ = handover::manifest::from_plaintext(&plain, f);
    }
});
