//! The detached sshsig signature (PEM) checked against the agency's key.
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let pubkey = std::fs::read_to_string(example().join("keys/northwind-signing.pub")).unwrap();
    let signer = handover::crypto::parse_public_key(&pubkey).unwrap();
    let _ = handover::crypto::verify_signature(
        b"manifest bytes",
        &String::from_utf8_lossy(data),
        &signer,
        Path::new("x.sig"),
    );
});
