//! AWS: the live collector (official SDK), the snapshot reader (aws CLI exports) and
//! the assembler that turns either into an inventory.
//!
//! SDK types stay inside `live`; everything else sees `sources` and `model` types.

pub mod assemble;
pub mod live;
pub mod org;
pub mod org_snapshot;
pub mod policy_doc;
pub mod snapshot;
pub mod sources;
pub mod sso;
pub mod sso_live;
pub mod sso_snapshot;
pub mod store;
