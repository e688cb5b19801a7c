//! The audit: reads accounts (live or from snapshots) into one inventory, and renders it
//! (a table, or its findings as OCSF events).
//!
//! It never reads a secret value: the collectors call only list/describe APIs, and
//! the inventory types have no field that could hold a value.

pub mod ocsf;
pub mod table;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::model::{Inventory, SourceMode};
use crate::providers::aws::{self, live::LiveSettings};
use crate::providers::gcp::{self, live::GcpSettings};

pub use crate::providers::aws::live::Progress;

/// What to audit.
#[derive(Debug, Clone, Default)]
pub struct AuditRequest {
    /// Read the AWS account of the standard credential chain.
    pub aws: Option<LiveSettings>,
    /// Read the exports in this snapshot folder.
    pub snapshot: Option<PathBuf>,
    /// GCP projects to read live.
    pub gcp_projects: Vec<String>,
    pub gcp: GcpSettings,
}

/// Runs the audit and returns one inventory for everything read.
pub async fn run(
    req: &AuditRequest,
    now: DateTime<Utc>,
    progress: Arc<dyn Progress>,
) -> Result<Inventory, Error> {
    let mut inventory = Inventory::new(now);
    if let Some(dir) = &req.snapshot {
        let accounts = aws::snapshot::account_dirs(dir)?;
        let projects = gcp::snapshot::project_dirs(dir)?;
        if accounts.is_empty() && projects.is_empty() {
            return Err(Error::input(
                dir,
                "no account or project exports found (expected aws/<account>/account-authorization-details.json \
                 or gcp/<project>/iam-policy.json)",
                "see docs/snapshots.md for the layout and the aws CLI and gcloud commands that make it",
            ));
        }
        for project_dir in projects {
            let sources = gcp::snapshot::load_project(&project_dir)?;
            tracing::info!(project = %sources.project_id, folder = %project_dir.display(), "read GCP snapshot");
            inventory.merge(gcp::assemble::assemble(&sources, SourceMode::Snapshot, now));
        }
        for account_dir in accounts {
            let (sources, regions) = aws::snapshot::load_account(&account_dir)?;
            tracing::info!(account = %sources.account_id, folder = %account_dir.display(), "read AWS snapshot");
            inventory.merge(aws::assemble::assemble(
                &sources,
                SourceMode::Snapshot,
                &regions,
                now,
            ));
        }
    }
    if let Some(settings) = &req.aws {
        let config = aws::live::load_config(settings).await?;
        let regions: Vec<String> =
            if settings.regions.is_empty() {
                match config.region() {
                    Some(r) => vec![r.to_string()],
                    None => return Err(Error::usage(
                        "no AWS region is configured",
                        "pass --region (repeatable), or set AWS_REGION or a region in the profile",
                    )),
                }
            } else {
                settings.regions.clone()
            };
        let sources = aws::live::collect(
            &config,
            &regions,
            settings.concurrency,
            settings.fresh,
            progress.clone(),
        )
        .await?;
        inventory.merge(aws::assemble::assemble(
            &sources,
            SourceMode::Live,
            &regions,
            now,
        ));
    }
    if !req.gcp_projects.is_empty() {
        let clients = gcp::live::clients(&req.gcp).await?;
        for project in &req.gcp_projects {
            let sources =
                gcp::live::collect(&clients, project, req.gcp.concurrency, progress.clone())
                    .await?;
            inventory.merge(gcp::assemble::assemble(&sources, SourceMode::Live, now));
        }
    }
    inventory.normalize();
    Ok(inventory)
}
