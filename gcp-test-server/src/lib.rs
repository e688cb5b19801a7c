//! A GCP test server: Cloud Resource Manager (v1 and v3 projects and their IAM
//! policies), IAM (service accounts, their keys and policies) and Secret Manager
//! (secrets, versions, policies) over HTTP/JSON on loopback, built from Google's
//! discovery documents so that unmodified clients (gcloud, Google's Python clients, the
//! google-cloud-rust crates) can be pointed at it.
//!
//! ```no_run
//! let server = gcp_test_server::Server::start("127.0.0.1:0")?;
//! let endpoint = server.url(); // e.g. http://127.0.0.1:40123
//! # let _ = endpoint;
//! server.reset();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Any bearer token, or none, is accepted, unless IAM enforcement is turned on
//! (`/_admin/iam` or [`ServerHandle::enforce_iam`]; see [`enforce`]): then tokens map
//! to members and each route needs its documented permission through the policies
//! the server holds. See `README.md` for the admin API (`/_admin/reset`,
//! `/_admin/requests`, `/_admin/faults`, `/_admin/iam`, `/_admin/seed`) and for where
//! the server knowingly differs from Google.
#![forbid(unsafe_code)]

pub mod admin;
pub mod apikeys;
pub mod asset;
pub mod creds;
pub mod enforce;
pub mod error;
pub mod faults;
pub mod fieldmask;
pub mod filter;
pub mod folders;
pub mod hmac;
pub mod iam;
pub mod paging;
pub mod params;
pub mod policy;
pub mod resourcemanager;
pub mod roles;
pub mod router;
pub mod secretmanager;
pub mod server;
pub mod store;
pub mod util;
pub mod wif;
pub mod wire;

pub use enforce::IamConfig;
pub use error::{ApiError, Code};
pub use faults::{FaultConfig, FaultKind};
pub use server::{RequestCounts, Server, ServerHandle};
