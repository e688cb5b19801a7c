//! GCP: the live collector (official google-cloud-rust crates), the snapshot reader
//! (gcloud `--format=json` exports) and the assembler that turns either into an
//! inventory. Both roads produce the API's own JSON shapes (`sources`), which is what
//! makes a live audit and a snapshot audit of the same project equal. `change` holds
//! the write operations `apply` carries out (IAM grants, service-account keys and
//! accounts), through the same client factory. `hierarchy` walks the folders and
//! organizations above and below an audited root and reads their IAM policies.

pub mod apikeys;
pub mod assemble;
pub mod change;
pub mod condition;
pub mod hierarchy;
pub mod hmac;
pub mod live;
pub mod member;
pub mod pages;
pub mod rest;
pub mod search;
pub mod snapshot;
pub mod sources;
pub mod store;
pub mod wif;
