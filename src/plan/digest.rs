//! The plan's digest: SHA-256 of its canonical JSON with the digest field empty. It
//! names the plan for approval, and every command that acts on a plan checks it (and
//! the plan's schema and version) first.

use sha2::{Digest, Sha256};

use super::{Plan, PLAN_SCHEMA, PLAN_VERSION};
use crate::canonical::canonical_bytes_replacing;
use crate::error::Error;

impl Plan {
    /// Computes the digest over the canonical JSON with the digest field empty.
    pub fn compute_digest(&self) -> String {
        // The plan's canonical JSON with its digest field emptied, written straight from
        // the typed plan (no copy of it, no `Value` tree).
        let bytes = canonical_bytes_replacing(self, "digest", "").expect("plan serializes");
        format!("sha256:{:x}", Sha256::digest(&bytes))
    }

    /// Refuses a plan that is not a plan of this format (another schema, or a version
    /// written before or after this one: an older plan lacks the targets' structured
    /// fields, and would be half-read), then a plan whose content no longer hashes to its
    /// digest: what a customer approved by digest is what every command acts on.
    pub fn check_digest(&self, path: &std::path::Path) -> Result<(), crate::error::Error> {
        if self.schema != PLAN_SCHEMA {
            return Err(Error::input(
                path,
                format!("not a handover plan (its schema is {:?})", self.schema),
                "pass a plan written by `handover plan -o`",
            ));
        }
        if self.version != PLAN_VERSION {
            return Err(Error::input(
                path,
                format!(
                    "the plan is in format version {}, and this handover reads version {PLAN_VERSION}",
                    self.version
                ),
                "run `handover plan` again with this version of handover, and approve the new plan by its digest",
            ));
        }
        if self.compute_digest() == self.digest {
            return Ok(());
        }
        Err(crate::error::Error::input(
            path,
            "the plan's content does not match its digest: it was edited after `handover plan` wrote it",
            "write the plan again with `handover plan`",
        ))
    }
}
