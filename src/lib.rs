//! `handover`: audit, plan, migrate and prove the handover of a cloud application's
//! credentials from an agency to its customer.
//!
//! The binary is a thin shell over [`cli::run`]. Modules follow the design:
//! `model` (provider-agnostic types), `providers` (AWS, GCP, snapshots, dotenv), `audit` (inventory
//! building and its outputs), `output` (atomic files, terminal rendering).
#![forbid(unsafe_code)]

pub mod audit;
pub mod canonical;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod docs;
pub mod error;
pub mod input;
pub mod journal;
pub mod manifest;
pub mod migrate;
pub mod model;
pub mod output;
pub mod plan;
pub mod policy;
pub mod providers;
pub mod secret;
pub mod verify;
