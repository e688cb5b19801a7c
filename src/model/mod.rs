//! The provider-agnostic domain model: what an audit finds, in terms that mean the same
//! for an AWS account and a GCP project.
//!
//! Invariants:
//! - No SDK type appears here; providers translate into these types at their edge.
//! - Nothing here holds a secret value. Secrets are described (where, who, rotation,
//!   encryption), never read.
//! - Where a source could not tell something, the model says `unknown` with the reason
//!   rather than guessing (`LastUsed::Unknown`, `Availability`, `Gap`).
//! - Collections are sorted by id, so the same account gives the same JSON.

mod clause;
mod condition;
mod finding;
mod inventory;

pub use clause::{condition_lines, ConditionClause, SetOperator};
pub use condition::{CelTextShape, TimeBound};
pub use finding::{Finding, FindingCode, Severity};
pub use inventory::*;
