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
use crate::model::{AwsAccount, Inventory, SourceMode};
use crate::providers::aws::org::{self, OrgSettings, RunSettings, Target};
use crate::providers::aws::{self, live::LiveSettings};
use crate::providers::gcp::{self, live::GcpSettings};

pub use crate::providers::aws::live::Progress;

/// What to audit.
#[derive(Debug, Clone, Default)]
pub struct AuditRequest {
    /// Read the AWS account of the standard credential chain (or of `aws.profile`).
    pub aws: Option<LiveSettings>,
    /// Several `--profile`s, one account each (when more than one; the first is also
    /// `aws.profile`).
    pub aws_profiles: Vec<String>,
    /// `--org`: every account of the organization `aws` reaches.
    pub aws_org: Option<OrgSettings>,
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
        let mut read = Vec::new();
        for account_dir in accounts {
            let (sources, regions) = aws::snapshot::load_account(&account_dir)?;
            read.push(sources.account_id.clone());
            tracing::info!(account = %sources.account_id, folder = %account_dir.display(), "read AWS snapshot");
            inventory.merge(aws::assemble::assemble(
                &sources,
                SourceMode::Snapshot,
                &regions,
                now,
            ));
        }
        inventory.merge(snapshot_accounts(dir, &read, now)?);
    }
    if let Some(settings) = &req.aws {
        inventory.merge(audit_aws(req, settings, now, progress.clone()).await?);
    }
    gcp_live(req, now, progress, &mut inventory).await?;
    inventory.normalize();
    Ok(inventory)
}

/// The regions whose secrets to read: the flags', else the configuration's.
fn aws_regions(
    settings: &LiveSettings,
    config: &aws_config::SdkConfig,
) -> Result<Vec<String>, Error> {
    if !settings.regions.is_empty() {
        return Ok(settings.regions.clone());
    }
    match config.region() {
        Some(r) => Ok(vec![r.to_string()]),
        None => Err(Error::usage(
            "no AWS region is configured",
            "pass --region (repeatable), or set AWS_REGION or a region in the profile",
        )),
    }
}

/// The live AWS part of the audit: one account, several profiles, or an organization.
async fn audit_aws(
    req: &AuditRequest,
    settings: &LiveSettings,
    now: DateTime<Utc>,
    progress: Arc<dyn Progress>,
) -> Result<Inventory, Error> {
    let config = aws::live::load_config(settings).await?;
    let run = RunSettings {
        regions: aws_regions(settings, &config)?,
        concurrency: settings.concurrency,
        fresh: settings.fresh,
        progress,
        now,
    };
    let via = |p: Option<&str>| {
        p.map(|p| format!("profile {p}"))
            .unwrap_or_else(|| "credential chain".into())
    };
    let one = |config, via: String| Target {
        account: AwsAccount {
            id: String::new(),
            name: None,
            email: None,
            ou_path: Vec::new(),
            entered_via: via,
            audited: false,
        },
        entry: org::Entry::Config(config),
        required: true,
    };
    let mut inventory = Inventory::new(now);
    let targets = if let Some(o) = &req.aws_org {
        let read = org::read_organization(&config).await?;
        let caller = aws::live::caller_account(&config).await?;
        let targets = org::org_targets(
            &read,
            o,
            &config,
            &caller,
            &via(settings.profile.as_deref()),
        )?;
        inventory.aws_organization = Some(read.organization);
        inventory.gaps.extend(read.gaps);
        targets
    } else if req.aws_profiles.len() > 1 {
        let mut targets = Vec::new();
        for p in &req.aws_profiles {
            let c = aws::live::sdk_config(
                Some(p),
                settings.regions.first().map(String::as_str),
                settings.max_attempts,
            )
            .await?;
            targets.push(one(c, via(Some(p))));
        }
        targets
    } else {
        vec![one(config, via(settings.profile.as_deref()))]
    };
    inventory.merge(org::audit_targets(targets, &run).await?);
    Ok(inventory)
}

/// The AWS accounts of a snapshot: the organization's (from `aws/organizations/`, when
/// exported), each audited when its folder was read and a gap when not; else the
/// account folders read.
fn snapshot_accounts(
    dir: &std::path::Path,
    read: &[String],
    now: DateTime<Utc>,
) -> Result<Inventory, Error> {
    let mut inv = Inventory::new(now);
    let (mut accounts, organization) = match aws::org_snapshot::load(dir)? {
        Some(read) => {
            inv.gaps.extend(read.gaps);
            (read.accounts, Some(read.organization))
        }
        None => (Vec::new(), None),
    };
    for a in &mut accounts {
        a.audited = read.contains(&a.id);
        if !a.audited {
            inv.gaps.push(crate::model::Gap {
                provider: crate::model::Provider::Aws,
                scope: a.id.clone(),
                source: "account".into(),
                subject: None,
                reason: format!(
                    "account {}{} of the organization is not in the snapshot (export it with \
                     scripts/export-aws-snapshot.sh --org)",
                    a.id,
                    a.name
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                ),
            });
        }
    }
    let outside: Vec<&String> = read
        .iter()
        .filter(|id| !accounts.iter().any(|a| &a.id == *id))
        .collect();
    for id in outside {
        accounts.push(AwsAccount {
            id: id.clone(),
            name: None,
            email: None,
            ou_path: Vec::new(),
            entered_via: "snapshot".into(),
            audited: true,
        });
    }
    inv.aws_accounts = accounts;
    inv.aws_organization = organization;
    Ok(inv)
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
        // What Cloud Asset Inventory gave, per project found by a walk.
        let mut bulk: BTreeMap<String, gcp::sources::BulkProject> = BTreeMap::new();
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
            for p in &h.projects {
                bulk.insert(p.project_id.clone(), h.for_project(&p.project_id));
            }
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
                if !projects.contains(&p.project_id) {
                    projects.push(p.project_id);
                }
            }
        }
        // A project named by --gcp-project alone (outside every walked root) is read
        // per item: the bulk search did not cover it. Projects are read `at_once` side
        // by side, each with its share of --concurrency (so the requests in flight stay
        // within it), and merged in their order as each is read.
        use futures::stream::StreamExt as _;
        let at_once = (req.gcp.concurrency / 4).max(1);
        let each = (req.gcp.concurrency / at_once).max(1);
        let per_item = gcp::sources::BulkProject::default();
        let mut read = futures::stream::iter(&projects)
            .map(|project| {
                let bulk = bulk.get(project).unwrap_or(&per_item);
                gcp::live::collect_with(&clients, project, each, progress.clone(), bulk)
            })
            .buffered(at_once);
        while let Some(sources) = read.next().await {
            inventory.merge(gcp::assemble::assemble(&sources?, SourceMode::Live, now));
        }
    }
    Ok(())
}
