//! The exit-code rule, one place for it (documented in the README):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done; no finding at or above `--fail-on` |
//! | 1 | done, and findings at or above `--fail-on` were found |
//! | 2 | usage: a flag or combination of flags is wrong (a `--profile` that no shared AWS config file defines included) |
//! | 3 | input: a file or snapshot folder is missing or malformed |
//! | 4 | access: no credentials, expired credentials, or access denied |
//! | 5 | cloud API unreachable or failing after retries |
//! | 6 | output: a file exists (no `--force`) or cannot be written |
//! | 7 | plan refused: it would leave an account or project without a customer admin |
//! | 8 | migration incomplete: a destination held a different value, or a secret was missing at the source |
//! | 9 | verification failed: a claim of the manifest does not hold in the live accounts |
//! | 10 | untrusted: the manifest cannot be opened or trusted (wrong identity, altered or truncated file, bad signature) |
//! | 11 | a local cryptographic operation failed: encryption, signing, or the random source |
//! | 12 | verification incomplete: an account or project could not be read (no credentials, access denied, unreachable), so its claims are unchecked; none failed |

use crate::error::Error;

pub const OK: u8 = 0;
pub const FINDINGS: u8 = 1;
pub const USAGE: u8 = 2;
pub const INPUT: u8 = 3;
pub const ACCESS: u8 = 4;
pub const API: u8 = 5;
pub const OUTPUT: u8 = 6;
pub const REFUSED: u8 = 7;
pub const INCOMPLETE: u8 = 8;
pub const VERIFY_FAILED: u8 = 9;
pub const UNTRUSTED: u8 = 10;
pub const CRYPTO: u8 = 11;
pub const UNCHECKED: u8 = 12;

pub fn code_for(e: &Error) -> u8 {
    match e {
        Error::Usage { .. } => USAGE,
        Error::Input { .. } => INPUT,
        Error::Access { .. } => ACCESS,
        Error::Api { .. } => API,
        Error::Output { .. } => OUTPUT,
        Error::Refused { .. } => REFUSED,
        Error::Untrusted { .. } => UNTRUSTED,
        Error::Crypto { .. } => CRYPTO,
    }
}
