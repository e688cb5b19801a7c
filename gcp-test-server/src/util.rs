//! Small shared helpers: RFC 3339 timestamps and `google.protobuf.Duration` strings as
//! the JSON mapping of protobuf writes them, CRC32C (Castagnoli) for Secret Manager
//! payload checksums, base64, and a stable non-cryptographic hash for deterministic ids.

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::error::{ApiError, ApiResult};

pub type Time = DateTime<Utc>;

pub fn now() -> Time {
    Utc::now()
}

/// Now, truncated to `digits` fractional digits: Google stamps keys to the second,
/// projects to the millisecond and Secret Manager resources to the microsecond.
pub fn now_to(digits: u16) -> Time {
    use chrono::SubsecRound as _;
    Utc::now().trunc_subsecs(digits)
}

/// RFC 3339 in UTC with a `Z` and 0, 3, 6 or 9 fractional digits, as protobuf JSON does.
pub fn fmt_time(t: &Time) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn parse_time(field: &str, s: &str) -> ApiResult<Time> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::invalid(format!(
                "Invalid value for {field}: '{s}' is not an RFC 3339 timestamp."
            ))
        })
}

/// Parses a protobuf JSON duration such as `"3600s"` or `"1.5s"`.
pub fn parse_duration(field: &str, s: &str) -> ApiResult<TimeDelta> {
    let bad = || {
        ApiError::invalid(format!(
            "Invalid value for {field}: '{s}' is not a duration such as \"3600s\"."
        ))
    };
    let num = s.strip_suffix('s').ok_or_else(bad)?;
    let (whole, frac) = match num.split_once('.') {
        Some((w, f)) => (w, f),
        None => (num, ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 9
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let secs: i64 = whole.parse().map_err(|_| bad())?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    };
    TimeDelta::new(secs, nanos).ok_or_else(bad)
}

/// `t + d`, or 400 INVALID_ARGUMENT when the result is past what timestamps can hold
/// (a huge `ttl` must not panic the server).
pub fn add_duration(field: &str, t: Time, d: TimeDelta) -> ApiResult<Time> {
    t.checked_add_signed(d).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid value for {field}: the duration is too large."
        ))
    })
}

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes protobuf JSON `bytes`: standard or URL-safe alphabet, padded or not.
pub fn b64_decode(field: &str, s: &str) -> ApiResult<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed = s.trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .map_err(|_| {
            ApiError::invalid(format!(
                "Invalid value at '{field}' (TYPE_BYTES): not valid base64."
            ))
        })
}

pub fn b64url_nopad(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

pub fn b64url_nopad_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}

const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC32C (Castagnoli), the checksum Secret Manager uses for `dataCrc32c`.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = CRC32C_TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// FNV-1a: stable across runs and platforms, for deterministic ids (not for security).
pub fn fnv64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// SplitMix64: a tiny deterministic generator (fault draws, key ids).
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        // What gcloud sent for the payload "vm\n".
        assert_eq!(crc32c(b"vm\n"), 3_423_888_391);
    }

    #[test]
    fn durations_parse_like_protobuf_json() {
        assert_eq!(
            parse_duration("ttl", "3600s").unwrap(),
            TimeDelta::seconds(3600)
        );
        assert_eq!(
            parse_duration("ttl", "1.5s").unwrap(),
            TimeDelta::milliseconds(1500)
        );
        assert!(parse_duration("ttl", "1h").is_err());
        assert!(parse_duration("ttl", "s").is_err());
    }

    #[test]
    fn huge_durations_are_errors_not_panics() {
        let d = parse_duration("ttl", "9223372036854775s").unwrap();
        assert!(add_duration("ttl", now(), d).is_err());
    }

    #[test]
    fn base64_accepts_both_alphabets() {
        assert_eq!(b64_decode("d", "+/8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(b64_decode("d", "-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(b64_decode("d", "!!").is_err());
    }
}
