//! The audit: reads accounts (live or from snapshots) into one inventory, and renders it.
//!
//! It never reads a secret value: the collectors call only list/describe APIs, and
//! the inventory types have no field that could hold a value.

pub mod table;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::model::{Inventory, SourceMode};
use crate::providers::aws::{self, live::LiveSettings};

pub use crate::providers::aws::live::Progress;

/// What to audit.
#[derive(Debug, Clone, Default)]
pub struct AuditRequest {
    /// Read the AWS account of the standard credential chain.
    pub aws: Option<LiveSettings>,
    /// Read the exports in this snapshot folder.
    pub snapshot: Option<PathBuf>,
}

/// Runs the audit and returns one inventory for everything read.
pub async fn run(req: &AuditRequest, now: DateTime<Utc>, progress: Arc<dyn Progress>) -> Result<Inventory, Error> {
    let mut inventory = Inventory::new(now);
    if let Some(dir) = &req.snapshot {
        let accounts = aws::snapshot::account_dirs(dir)?;
        if accounts.is_empty() {
            return Err(Error::input(
                dir,
                "no account exports found (expected aws/<account>/account-authorization-details.json)",
                "see docs/snapshots.md for the layout and the aws CLI commands that make it",
            ));
        }
        for account_dir in accounts {
            let (sources, regions) = aws::snapshot::load_account(&account_dir)?;
            tracing::info!(account = %sources.account_id, folder = %account_dir.display(), "read AWS snapshot");
            inventory.merge(aws::assemble::assemble(&sources, SourceMode::Snapshot, &regions, now));
        }
    }
    if let Some(settings) = &req.aws {
        let config = aws::live::load_config(settings).await;
        let regions: Vec<String> = if settings.regions.is_empty() {
            match config.region() {
                Some(r) => vec![r.to_string()],
                None => {
                    return Err(Error::usage(
                        "no AWS region is configured",
                        "pass --region (repeatable), or set AWS_REGION or a region in the profile",
                    ))
                }
            }
        } else {
            settings.regions.clone()
        };
        let sources = aws::live::collect(&config, &regions, settings.concurrency, progress).await?;
        inventory.merge(aws::assemble::assemble(&sources, SourceMode::Live, &regions, now));
    }
    inventory.normalize();
    Ok(inventory)
}
