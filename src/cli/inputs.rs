//! One reader per kind of file the commands take as input, each checking the document's
//! `schema` and `version` before its shape, so every command refuses the same files the
//! same way (exit 3, naming the file, with a hint):
//!
//! - an inventory (`plan`, `policy explain`, `init`, `manifest`), written by `audit -o`;
//! - a plan (`migrate --plan`, `manifest --plan`, `plan --diff`), written by `plan -o`,
//!   whose digest must also match its content: an approved plan is approved by digest,
//!   so a plan edited afterwards is refused by every command that reads it.
//!
//! - a verification (`report --verification`), written by `verify -o`.
//!
//! A manifest is read by `manifest::from_plaintext` (it is decrypted first). `report`
//! reads each file's bytes once (`read_bytes`), digests them and parses those same
//! bytes (`*_from`), so the digest it prints is of what it read.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::model::{Inventory, INVENTORY_SCHEMA, INVENTORY_VERSION};
use crate::plan::{Plan, PLAN_SCHEMA, PLAN_VERSION};

/// What a reader checks: the schema and version a document must carry, and how to say it.
struct Kind {
    schema: &'static str,
    version: u32,
    /// "inventory", "plan".
    name: &'static str,
    /// How to write a good one.
    write: &'static str,
    /// What to do with one of another format version.
    again: &'static str,
    /// Where the format is described.
    described: &'static str,
}

const INVENTORY: Kind = Kind {
    schema: INVENTORY_SCHEMA,
    version: INVENTORY_VERSION,
    name: "inventory",
    write: "`handover audit ... -o inventory.json`",
    again: "run `handover audit ... -o inventory.json` again with this version of handover, then plan from the new inventory",
    described: "schemas/inventory.v1.json",
};

const PLAN: Kind = Kind {
    schema: PLAN_SCHEMA,
    version: PLAN_VERSION,
    name: "plan",
    write: "`handover plan ... -o plan.json`",
    again: "run `handover plan` again with this version of handover, and approve the new plan by its digest",
    described: "schemas/plan.v1.json",
};

const VERIFICATION: Kind = Kind {
    schema: crate::verify::SCHEMA,
    version: 1,
    name: "verification",
    write: "`handover verify ... -o verification.json`",
    again: "run `handover verify ... -o verification.json` again with this version of handover",
    described: "schemas/verification.v1.json",
};

/// Reads an inventory written by `handover audit -o`.
pub fn read_inventory(path: &Path) -> Result<Inventory, Error> {
    inventory_from(path, &read_bytes(path, "inventory")?)
}

/// Reads a plan written by `handover plan -o`, and checks its digest.
pub fn read_plan(path: &Path) -> Result<Plan, Error> {
    plan_from(path, &read_bytes(path, "plan")?)
}

/// An inventory from the bytes read from `path`.
pub fn inventory_from(path: &Path, bytes: &[u8]) -> Result<Inventory, Error> {
    parse(path, bytes, &INVENTORY)
}

/// A plan from the bytes read from `path`; its digest is checked.
pub fn plan_from(path: &Path, bytes: &[u8]) -> Result<Plan, Error> {
    let plan: Plan = parse(path, bytes, &PLAN)?;
    plan.check_digest(path)?;
    Ok(plan)
}

/// A verification (`verify -o`) from the bytes read from `path`.
pub fn verification_from(path: &Path, bytes: &[u8]) -> Result<crate::verify::Verification, Error> {
    parse(path, bytes, &VERIFICATION)
}

/// A file's bytes; `what` names it in the error.
pub fn read_bytes(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| {
        Error::input(
            path,
            format!("cannot read the {what}: {e}"),
            "check the path",
        )
    })
}

/// The two fields every handover document opens its checks with; the rest of the
/// document is skipped here (not built into a tree), then read once into its type.
#[derive(serde::Deserialize)]
struct Head {
    #[serde(default)]
    schema: Option<serde_json::Value>,
    #[serde(default)]
    version: Option<serde_json::Value>,
}

fn parse<T: DeserializeOwned>(path: &Path, bytes: &[u8], kind: &Kind) -> Result<T, Error> {
    let not_json = |e: serde_json::Error| {
        let what = if e.is_eof() {
            "the JSON ends early (truncated file?)".to_string()
        } else {
            format!("not JSON: {e}")
        };
        Error::input(path, what, format!("write it again with {}", kind.write))
    };
    // Syntax first, over the whole file, so a broken file is "not JSON" whatever it holds.
    let head: Head = match serde_json::from_slice(bytes) {
        Ok(head) => head,
        Err(e) if e.is_data() => Head {
            schema: None,
            version: None,
        },
        Err(e) => return Err(not_json(e)),
    };
    if head.schema.as_ref().and_then(|s| s.as_str()) != Some(kind.schema) {
        return Err(Error::input(
            path,
            format!(
                "not a handover {} (no \"schema\": \"{}\")",
                kind.name, kind.schema
            ),
            format!("pass the file {} wrote", kind.write),
        ));
    }
    if head.version.as_ref().and_then(|v| v.as_u64()) != Some(u64::from(kind.version)) {
        return Err(Error::input(
            path,
            format!(
                "the {} is in format version {}, and this handover reads version {}",
                kind.name,
                head.version.unwrap_or(serde_json::Value::Null),
                kind.version
            ),
            kind.again,
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        Error::input(
            path,
            format!("the {} does not match its schema: {e}", kind.name),
            format!(
                "write it again with {}; {} describes the format",
                kind.write, kind.described
            ),
        )
    })
}
