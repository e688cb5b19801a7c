//! The audit: reads accounts (live or from snapshots) into one inventory, and renders it
//! (a table, or its findings as OCSF events).
//!
//! It never reads a secret value: the collectors call only list/describe APIs, and
//! the inventory types have no field that could hold a value.

pub mod ocsf;
pub mod table;

use std::collections::BTreeMap;
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
    /// GCP folders and organizations (`folders/F`, `organizations/O`) whose projects,
    /// and whose own and ancestors' IAM policies, to read live.
    pub gcp_roots: Vec<String>,
    /// GCP folders and organizations whose own IAM policy alone to read (no walk; what
    /// `verify` re-reads for a folder or organization scope).
    pub gcp_containers: Vec<String>,
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
        for c in gcp::snapshot::load_containers(dir, &projects)? {
            inventory.merge(gcp::assemble::assemble_container(
                &c.name,
                &c.policy,
                c.reaches,
                SourceMode::Snapshot,
                now,
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
    gcp_live(req, now, progress, &mut inventory).await?;
    inventory.normalize();
    Ok(inventory)
}

/// The live GCP part: the folders and organizations walked (each container's policy
/// once, with the projects it reaches), then every project named or found.
async fn gcp_live(
    req: &AuditRequest,
    now: DateTime<Utc>,
    progress: Arc<dyn Progress>,
    inventory: &mut Inventory,
) -> Result<(), Error> {
    let any = [&req.gcp_projects, &req.gcp_roots, &req.gcp_containers];
    if any.iter().any(|l| !l.is_empty()) {
        let clients = gcp::live::clients(&req.gcp).await?;
        let mut projects = req.gcp_projects.clone();
        let mut bulk = None;
        let mut walked = std::collections::BTreeSet::new();
        if !req.gcp_roots.is_empty() || !req.gcp_containers.is_empty() {
            let mut walks = Vec::new();
            for root in &req.gcp_roots {
                progress.phase(&format!("gcp {root}"), 1);
                walks.push(gcp::hierarchy::walk(&clients, root, req.gcp.concurrency).await?);
            }
            for name in &req.gcp_containers {
                walks.push(gcp::hierarchy::read_one(&clients, name).await);
            }
            let h = gcp::hierarchy::join(walks);
            for c in &h.containers {
                inventory.merge(gcp::assemble::assemble_container(
                    &c.name,
                    &c.policy,
                    c.reaches.clone(),
                    SourceMode::Live,
                    now,
                ));
            }
            inventory.gaps.extend(h.gaps);
            for (scope, note) in h.notes {
                if let Some(s) = inventory.sources.iter_mut().find(|s| s.scope == scope) {
                    s.notes.push(note);
                }
            }
            for p in h.projects {
                walked.insert(p.project_id.clone());
                if !projects.contains(&p.project_id) {
                    projects.push(p.project_id);
                }
            }
            bulk = h.service_account_policies;
        }
        for project in &projects {
            // A project named by --gcp-project alone (outside every walked root) is
            // read per item: the bulk search did not cover it.
            let empty = BTreeMap::new();
            let accounts = bulk
                .as_ref()
                .filter(|_| walked.contains(project))
                .map(|b: &BTreeMap<String, _>| b.get(project.as_str()).unwrap_or(&empty));
            let sources = gcp::live::collect_with(
                &clients,
                project,
                req.gcp.concurrency,
                progress.clone(),
                accounts,
            )
            .await?;
            inventory.merge(gcp::assemble::assemble(&sources, SourceMode::Live, now));
        }
    }
    Ok(())
}
