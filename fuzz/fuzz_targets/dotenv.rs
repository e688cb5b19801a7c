//! Dotenv files (a migration source): errors name lines, never values.
#![no_main]
use handover_fuzz::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = file(".env", data);
    if let Err(e) = handover::providers::dotenv::read(&path) {
        let text = shown(&e);
        // Every value of the input: none may be echoed. Values of 8+ bytes holding a
        // character no variable name can (a name may be echoed: "A is set twice").
        for line in String::from_utf8_lossy(data).lines() {
            if let Some((_, v)) = line.split_once('=') {
                let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                if v.len() >= 8
                    && !v.contains(char::is_whitespace)
                    && v.contains(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
                {
                    assert!(!text.contains(v), "a value echoed in: {text}");
                }
            }
        }
    }
});
