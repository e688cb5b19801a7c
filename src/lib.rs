//! `handover`: audit, plan, migrate and prove the handover of a cloud application's
//! credentials from an agency to its customer.
//!
//! The binary is a thin shell over [`cli::main`], which parses the arguments, runs the
//! command ([`cli::run`]) and maps the outcome to an exit code. Modules follow the design,
//! lowest layer first (tests/structure.rs checks that none imports a higher one):
//! - leaves: `model` (provider-agnostic inventory types, findings), `secret` (the only
//!   type holding values, keyed digests), `canonical` (canonical JSON for digests),
//!   `input` (bounded file reads), `error` (typed errors with hints), `output` (atomic
//!   private files, terminal escaping);
//! - local logic and files: `crypto` (age recipients and identities, sshsig), `policy`
//!   (CEL rules), `journal` (the append-only keyed hash chain), `config` (the handover
//!   config, party classification);
//! - the clouds: `providers` (AWS and GCP live collectors, snapshot readers, the
//!   assemblers both feed, secret stores, dotenv);
//! - `audit` (running an audit, the table), `plan` (steps, lock-out, digest, rendering);
//! - `migrate` (secret copies and their journal), `manifest` (the sealed document),
//!   `verify` (claims against live facts);
//! - `cli` (arguments, one file per command, exit codes).
#![forbid(unsafe_code)]

pub mod apply;
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
pub mod report;
pub mod secret;
pub mod verify;
