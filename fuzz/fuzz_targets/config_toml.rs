//! The handover config (TOML), its recipients and the classification it drives.
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = file(
        "recipients.txt",
        &std::fs::read(example().join("recipients.txt")).unwrap(),
    );
    let path = file("handover.toml", data);
    match handover::config::load(&path) {
        Err(e) => assert_no_key_material(data, &shown(&e)),
        Ok(cfg) => {
            if let Err(e) = cfg.recipients(&path) {
                assert_no_key_material(data, &shown(&e));
            }
        }
    }
});
