//! `handover schema NAME`: the JSON Schema of each document the tool writes, generated
//! from the types (the committed `schemas/*.json` are compared with it by the tests).

use clap::ValueEnum;

use super::exit;
use super::support::{pretty_json, print_stdout};
use crate::error::Error;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaName {
    Inventory,
    Plan,
    Manifest,
    Verification,
    Journal,
    JournalHead,
    Report,
}

pub fn schema_command(name: SchemaName) -> Result<u8, Error> {
    let schema = match name {
        SchemaName::Inventory => schemars::schema_for!(crate::model::Inventory),
        SchemaName::Plan => schemars::schema_for!(crate::plan::Plan),
        SchemaName::Manifest => schemars::schema_for!(crate::manifest::Manifest),
        SchemaName::Verification => schemars::schema_for!(crate::verify::Verification),
        SchemaName::Journal => schemars::schema_for!(crate::journal::Entry),
        SchemaName::JournalHead => schemars::schema_for!(crate::journal::HeadFile),
        SchemaName::Report => schemars::schema_for!(crate::report::Report),
    };
    print_stdout(&pretty_json(&schema))?;
    Ok(exit::OK)
}
