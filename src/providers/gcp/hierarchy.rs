//! The GCP resource hierarchy above and below an audited folder or organization
//! (`--gcp-folder`, `--gcp-organization`): which projects it holds (folders below
//! folders), each project's ancestry, and every folder's and organization's IAM policy,
//! so a binding set on a folder is audited once, where it is set, with the projects it
//! reaches ([inheritance](https://cloud.google.com/iam/docs/resource-hierarchy-access-control)).
//!
//! Reads, all through the official google-cloud-resourcemanager-v3 crate: the root
//! (`folders.get` / `organizations.get`: it must exist and be readable, else an error
//! that says which), the folders above a root folder up to its organization
//! (`folders.get`, whose policies reach every project below too), then breadth first
//! below the root `folders.list` and `projects.list` by parent, and each container's
//! `getIamPolicy` at version 3 (conditions kept). Anything else that fails is a gap.
//!
//! Bulk first: the policies of the folders below the root and of every service account
//! of every project below it come from Cloud Asset Inventory (`searchAllIamPolicies` on
//! the root, 500 a page: requests grow with pages, not with items). Where the identity
//! may not use it (PERMISSION_DENIED) or it fails, each is read per item instead and
//! the root's source carries a coverage note saying so. A resource the search does not
//! return has no bindings ("returns ... the IAM policies that match", an empty policy
//! matches none), so it is read as an empty policy. The folders above the root are
//! outside its scope and are always read per item. The key-bearing resources of every
//! project below the root (service accounts, their keys, API keys, secrets) come from
//! `searchAllResources` the same way, with its own per-kind fallback
//! ([`super::search`]).
//!
//! Bounds: Google allows folders to nest 10 levels deep
//! (<https://cloud.google.com/resource-manager/docs/creating-managing-folders>); the
//! walk goes at most `MAX_DEPTH` levels and visits at most `MAX_CONTAINERS` containers,
//! and each name is visited once, so a cycle in what a server answers cannot loop.
//! Going past a bound is a gap, never silence. Every list is paged through
//! [`super::pages::all_pages`] (a repeated token or more than its page bound is a gap).
//!
//! Names are data once: the root, each parent above it and each listed folder is parsed
//! into a [`Container`] (`IamResource::parse`: `folders/NUMBER` or
//! `organizations/NUMBER`) before it is used; which API reads it matches on that type.
//! A listed name or a parent that parses as neither is a gap, never walked.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use futures::stream::{self, StreamExt};

use super::change::IamResource;
use super::live::{classify, convert, gap_reason, policy_v3, Clients};
use super::pages::all_pages;
use super::sources::{Availability, BulkProject, Policy};
use crate::error::Error;
use crate::model::{Gap, Provider};
use crate::providers::duty::Duty;

/// Folders nest at most 10 levels below an organization; one more for slack.
pub const MAX_DEPTH: usize = 11;
/// The most folders and organizations one audit walks.
pub const MAX_CONTAINERS: usize = 10_000;

/// A folder or an organization, decided once from its name by [`IamResource::parse`]
/// (`folders/N` or `organizations/N`, N a number): every later choice between the
/// folder and organization APIs matches on this, never on the name's text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Container {
    Folder(String),
    Organization(String),
}

impl Container {
    /// The container `name` is, or `None` when it is neither a folder nor an
    /// organization (a project id, a malformed or hostile name).
    pub fn parse(name: &str) -> Option<Container> {
        match IamResource::parse(name).ok()? {
            r @ IamResource::Folder { .. } => Some(Container::Folder(r.name())),
            r @ IamResource::Organization { .. } => Some(Container::Organization(r.name())),
            _ => None,
        }
    }

    /// `folders/F` or `organizations/O`.
    pub fn name(&self) -> &str {
        match self {
            Container::Folder(n) | Container::Organization(n) => n,
        }
    }
}

/// A folder or organization that was read.
#[derive(Debug, Clone)]
pub struct ContainerSources {
    /// `folders/F` or `organizations/O`.
    pub name: String,
    pub policy: Availability<Policy>,
    /// The audited projects below it (ids), sorted.
    pub reaches: Vec<String>,
}

/// A project found below a root, with its ancestry (nearest first, up to the
/// organization when it was readable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPlace {
    pub project_id: String,
    pub ancestors: Vec<String>,
}

/// What one walk found.
#[derive(Debug, Clone, Default)]
pub struct Hierarchy {
    pub containers: Vec<ContainerSources>,
    pub projects: Vec<ProjectPlace>,
    pub gaps: Vec<Gap>,
    /// Service-account IAM policies read in bulk, by project id then unique id; `None`
    /// when the bulk read was not used (then each is read per item).
    pub service_account_policies: Option<BTreeMap<String, BTreeMap<String, Policy>>>,
    /// Secret IAM policies read in bulk, by full resource name; `None` when not.
    pub secret_policies: Option<BTreeMap<String, Policy>>,
    /// Coverage notes, by the scope they are about.
    pub notes: Vec<(String, String)>,
    /// Key-bearing resources read in bulk (each kind `None` when read per item).
    pub resources: super::search::Resources,
}

impl Hierarchy {
    /// What was read in bulk for one project found by the walk; all `None` (read per
    /// item) for a project it did not find.
    pub fn for_project(&self, project: &str) -> BulkProject {
        if !self.projects.iter().any(|p| p.project_id == project) {
            return BulkProject::default();
        }
        let r = &self.resources;
        BulkProject {
            account_policies: self
                .service_account_policies
                .as_ref()
                .map(|m| m.get(project).cloned().unwrap_or_default()),
            service_accounts: r
                .service_accounts
                .as_ref()
                .map(|m| m.get(project).cloned().unwrap_or_default()),
            keys: r
                .keys
                .as_ref()
                .map(|m| m.get(project).cloned().unwrap_or_default()),
            api_keys: r
                .api_keys
                .as_ref()
                .map(|m| m.get(project).cloned().unwrap_or_default()),
            secrets: r
                .secrets
                .as_ref()
                .map(|m| m.get(project).cloned().unwrap_or_default()),
            versions: r
                .versions
                .as_ref()
                .map(|m| m.get(project).cloned().unwrap_or_default()),
            secret_policies: self.secret_policies_of(project),
        }
    }

    /// The IAM policy of each secret of `project` found in bulk, by its Secret Manager
    /// name (a secret the policy search did not return has none: it has no bindings).
    fn secret_policies_of(&self, project: &str) -> Option<BTreeMap<String, Policy>> {
        let policies = self.secret_policies.as_ref()?;
        let secrets = self.resources.secrets.as_ref()?;
        let full = &self.resources.secret_full_names;
        Some(
            secrets
                .get(project)
                .into_iter()
                .flatten()
                .map(|s| {
                    let policy = full
                        .get(&s.name)
                        .and_then(|f| policies.get(f))
                        .cloned()
                        .unwrap_or_default();
                    (s.name.clone(), policy)
                })
                .collect(),
        )
    }
}

const FOLDER_ASSET: &str = "cloudresourcemanager.googleapis.com/Folder";
const ORG_ASSET: &str = "cloudresourcemanager.googleapis.com/Organization";
const SA_ASSET: &str = "iam.googleapis.com/ServiceAccount";
const SECRET_ASSET: &str = super::search::SECRET_TYPE;

/// What the bulk read gave: container policies by name, service-account policies by
/// project id and unique id, secret policies by full resource name.
#[derive(Default)]
struct Bulk {
    containers: BTreeMap<String, Policy>,
    accounts: BTreeMap<String, BTreeMap<String, Policy>>,
    secrets: BTreeMap<String, Policy>,
}

/// Every folder, organization and service-account IAM policy within `root`, from Cloud
/// Asset Inventory, or why not (the message for the coverage note).
async fn bulk_policies(c: &Clients, root: &str) -> Result<Bulk, String> {
    let mut bulk = Bulk::default();
    let (results, why) = all_pages(
        |t| {
            c.asset
                .search_all_iam_policies()
                .set_scope(root)
                .set_asset_types([FOLDER_ASSET, ORG_ASSET, SA_ASSET, SECRET_ASSET])
                .set_page_size(500)
                .set_page_token(t)
                .send()
        },
        |r| (r.results, r.next_page_token),
        |e| gap_reason(classify(&e)),
    )
    .await;
    if let Some(why) = why {
        return Err(why);
    }
    for r in results {
        let policy: Policy = match &r.policy {
            Some(p) => convert(p, "IAM policy")?,
            None => Policy::default(),
        };
        let name = r.resource.as_str();
        if r.asset_type == SECRET_ASSET {
            // Matched to the secret by the full name the resource search gave it.
            bulk.secrets.insert(r.resource.clone(), policy);
        } else if let Some(n) = name.strip_prefix("//cloudresourcemanager.googleapis.com/") {
            bulk.containers.insert(n.to_string(), policy);
        } else if let Some(rest) = name.strip_prefix("//iam.googleapis.com/projects/") {
            // `PROJECT/serviceAccounts/UNIQUE_ID`, split as data once, here.
            if let Some((project, id)) = rest.split_once("/serviceAccounts/") {
                bulk.accounts
                    .entry(project.to_string())
                    .or_default()
                    .insert(id.to_string(), policy);
            }
        }
    }
    Ok(bulk)
}

fn gap(scope: &str, source: &str, reason: String) -> Gap {
    Gap {
        provider: Provider::Gcp,
        scope: scope.to_string(),
        source: source.to_string(),
        subject: None,
        reason,
    }
}

/// The root must exist and be readable: a failure here is an error naming the flag.
fn root_error(root: &Container, e: &google_cloud_gax::error::Error) -> Error {
    let f = classify(e);
    let op = match root {
        Container::Folder(_) => "cloudresourcemanager.folders.get",
        Container::Organization(_) => "cloudresourcemanager.organizations.get",
    };
    let root = root.name();
    if f.not_found {
        Error::usage(
            format!("GCP {root} does not exist or is not visible: {}", f.message),
            "check the id given to --gcp-folder / --gcp-organization (a number)",
        )
    } else if f.denied {
        Error::Access {
            provider: Provider::Gcp,
            operation: op.into(),
            what: f.message,
            hint: Duty::Audit.gcp_hint(),
        }
    } else {
        Error::Api {
            provider: Provider::Gcp,
            operation: op.into(),
            what: f.message,
            hint: "check the network and --gcp-endpoint / HANDOVER_GCP_ENDPOINT; retry later"
                .into(),
        }
    }
}

/// Reads the root and returns the containers above it, nearest first.
async fn above(
    c: &Clients,
    root: &Container,
    gaps: &mut Vec<Gap>,
) -> Result<Vec<Container>, Error> {
    let name = match root {
        Container::Organization(name) => {
            c.organizations
                .get_organization()
                .set_name(name)
                .send()
                .await
                .map_err(|e| root_error(root, &e))?;
            return Ok(Vec::new());
        }
        Container::Folder(name) => name,
    };
    let folder = c
        .folders
        .get_folder()
        .set_name(name)
        .send()
        .await
        .map_err(|e| root_error(root, &e))?;
    let mut chain: Vec<Container> = Vec::new();
    let mut child = name.clone();
    let mut parent = folder.parent;
    while !parent.is_empty() && chain.len() < MAX_DEPTH {
        let Some(next) = Container::parse(&parent) else {
            gaps.push(gap(
                &child,
                "cloudresourcemanager.folders.get",
                format!(
                    "the containers above {child} were not read: its parent {parent:?} is neither folders/NUMBER nor organizations/NUMBER"
                ),
            ));
            break;
        };
        if chain.contains(&next) || &next == root {
            break;
        }
        chain.push(next.clone());
        let Container::Folder(folder) = next else {
            break;
        };
        match c.folders.get_folder().set_name(&folder).send().await {
            Ok(f) => parent = f.parent,
            Err(e) => {
                gaps.push(gap(
                    &folder,
                    "cloudresourcemanager.folders.get",
                    format!(
                        "the folders above {folder} were not read: {}",
                        gap_reason(classify(&e))
                    ),
                ));
                break;
            }
        }
        child = folder;
    }
    Ok(chain)
}

/// The direct child folders and active projects (`projects/NUMBER`, id) of `parent`.
async fn children(
    c: &Clients,
    parent: &str,
    gaps: &mut Vec<Gap>,
) -> (Vec<Container>, Vec<(String, String)>) {
    let (folders, why) = all_pages(
        |t| {
            c.folders
                .list_folders()
                .set_parent(parent)
                .set_page_size(100)
                .set_page_token(t)
                .send()
        },
        |r| {
            (
                r.folders.into_iter().map(|f| f.name).collect::<Vec<_>>(),
                r.next_page_token,
            )
        },
        |e| gap_reason(classify(&e)),
    )
    .await;
    // A listed name that is not a folder is never walked (nor its policy read).
    let (mut typed, mut odd) = (Vec::new(), Vec::new());
    for f in folders {
        match Container::parse(&f) {
            Some(folder @ Container::Folder(_)) => typed.push(folder),
            _ => odd.push(f),
        }
    }
    if !odd.is_empty() {
        gaps.push(gap(
            parent,
            "cloudresourcemanager.folders.list",
            format!(
                "{} listed name(s) are not folders/NUMBER and were not walked: {odd:?}",
                odd.len()
            ),
        ));
    }
    if let Some(why) = why {
        gaps.push(gap(
            parent,
            "cloudresourcemanager.folders.list",
            format!("the folders below were not all read: {why}"),
        ));
    }
    let (projects, why) = all_pages(
        |t| {
            c.projects
                .list_projects()
                .set_parent(parent)
                .set_page_size(1000)
                .set_page_token(t)
                .send()
        },
        |r| {
            let active = r
                .projects
                .into_iter()
                .filter(|p| {
                    p.state == google_cloud_resourcemanager_v3::model::project::State::Active
                })
                .map(|p| (p.name, p.project_id))
                .collect();
            (active, r.next_page_token)
        },
        |e| gap_reason(classify(&e)),
    )
    .await;
    if let Some(why) = why {
        gaps.push(gap(
            parent,
            "cloudresourcemanager.projects.list",
            format!("the projects below were not all read: {why}"),
        ));
    }
    (typed, projects)
}

/// A container's IAM policy at version 3 (conditions kept), or why not.
async fn container_policy(c: &Clients, container: &Container) -> Availability<Policy> {
    let (source, got) = match container {
        Container::Folder(name) => {
            let r = c
                .folders
                .get_iam_policy()
                .set_resource(name)
                .set_options(policy_v3())
                .send()
                .await;
            ("cloudresourcemanager.folders.getIamPolicy", r)
        }
        Container::Organization(name) => {
            let r = c
                .organizations
                .get_iam_policy()
                .set_resource(name)
                .set_options(policy_v3())
                .send()
                .await;
            ("cloudresourcemanager.organizations.getIamPolicy", r)
        }
    };
    match got {
        Ok(p) => convert(&p, "IAM policy")
            .map(Availability::Known)
            .unwrap_or_else(|e| Availability::unknown(source, e)),
        Err(e) => Availability::unknown(source, gap_reason(classify(&e))),
    }
}

/// What the breadth-first walk below a root found.
struct Below {
    /// Every container walked, the root and those above it included.
    seen: BTreeSet<Container>,
    /// Each project id found, with its ancestry (names, nearest first).
    projects: BTreeMap<String, Vec<String>>,
    /// `projects/NUMBER` to id, to place what the asset search returns.
    numbers: BTreeMap<String, String>,
}

/// Walks every folder and project below `root`, breadth first, within `MAX_DEPTH` and
/// `MAX_CONTAINERS` (past either, a gap naming the folder not walked).
async fn below(c: &Clients, typed: Container, above: &[Container], gaps: &mut Vec<Gap>) -> Below {
    // Breadth first below the root; `chain` is the node's ancestry (names), itself first.
    let mut queue: VecDeque<(Container, Vec<String>)> = VecDeque::new();
    let mut root_chain = vec![typed.name().to_string()];
    root_chain.extend(above.iter().map(|a| a.name().to_string()));
    let mut seen: BTreeSet<Container> = above.iter().cloned().collect();
    seen.insert(typed.clone());
    queue.push_back((typed, root_chain));
    let mut projects: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut numbers: BTreeMap<String, String> = BTreeMap::new();
    while let Some((name, chain)) = queue.pop_front() {
        let (folders, found) = children(c, name.name(), gaps).await;
        for (number, p) in found {
            numbers.entry(number).or_insert_with(|| p.clone());
            projects.entry(p).or_insert_with(|| chain.clone());
        }
        for f in folders {
            if seen.contains(&f) {
                continue;
            }
            if chain.len() > MAX_DEPTH || seen.len() >= MAX_CONTAINERS {
                gaps.push(gap(
                    f.name(),
                    "cloudresourcemanager.folders.list",
                    format!(
                        "not walked: past the walk's bound ({MAX_DEPTH} levels, {MAX_CONTAINERS} folders)"
                    ),
                ));
                continue;
            }
            seen.insert(f.clone());
            let mut next = vec![f.name().to_string()];
            next.extend(chain.iter().cloned());
            queue.push_back((f, next));
        }
    }
    Below {
        seen,
        projects,
        numbers,
    }
}

/// Walks one root (`folders/F` or `organizations/O`): the containers above it, every
/// folder and project below it (breadth first, bounded), and each container's policy,
/// `concurrency` policies at a time.
pub async fn walk(c: &Clients, root: &str, concurrency: usize) -> Result<Hierarchy, Error> {
    let mut gaps = Vec::new();
    let Some(typed) = Container::parse(root) else {
        return Err(Error::usage(
            format!("{root:?} is neither folders/NUMBER nor organizations/NUMBER"),
            "give --gcp-folder / --gcp-organization a number",
        ));
    };
    let above = above(c, &typed, &mut gaps).await?;
    let Below {
        seen,
        projects,
        numbers,
    } = below(c, typed, &above, &mut gaps).await;
    let (bulk, mut notes) = match bulk_policies(c, root).await {
        Ok(b) => (Some(b), Vec::new()),
        Err(why) => (
            None,
            vec![(
                root.to_string(),
                format!(
                    "Cloud Asset Inventory (cloudasset.assets.searchAllIamPolicies) was not used: {why}; \
                     each folder's, service account's and secret's IAM policy was read per item instead"
                ),
            )],
        ),
    };
    let (resources, more) = super::search::read(c, root, &numbers).await;
    notes.extend(more.into_iter().map(|n| (root.to_string(), n)));
    let bulk_ref = bulk.as_ref();
    let above_ref = &above;
    let policies: Vec<(String, Availability<Policy>)> = stream::iter(seen)
        .map(|container| async move {
            let name = container.name().to_string();
            let p = match bulk_ref {
                Some(b) if !above_ref.contains(&container) => {
                    Availability::Known(b.containers.get(&name).cloned().unwrap_or_default())
                }
                _ => container_policy(c, &container).await,
            };
            (name, p)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let containers = policies
        .into_iter()
        .map(|(name, policy)| ContainerSources {
            reaches: projects
                .iter()
                .filter(|(_, chain)| chain.contains(&name))
                .map(|(p, _)| p.clone())
                .collect(),
            name,
            policy,
        })
        .collect();
    Ok(Hierarchy {
        containers,
        projects: projects
            .into_iter()
            .map(|(project_id, ancestors)| ProjectPlace {
                project_id,
                ancestors,
            })
            .collect(),
        gaps,
        secret_policies: bulk.as_ref().map(|b| b.secrets.clone()),
        service_account_policies: bulk.map(|b| b.accounts),
        notes,
        resources,
    })
}

/// Whether a GCP scope is a folder or organization (`folders/F`, `organizations/O`)
/// rather than a project id (which never holds a `/`).
pub fn is_container(scope: &str) -> bool {
    Container::parse(scope).is_some()
}

/// One container's policy alone, no walk (what `verify` re-reads).
pub async fn read_one(c: &Clients, name: &str) -> Hierarchy {
    Hierarchy {
        containers: vec![ContainerSources {
            name: name.to_string(),
            policy: match Container::parse(name) {
                Some(container) => container_policy(c, &container).await,
                None => Availability::unknown(
                    "cloudresourcemanager.getIamPolicy",
                    format!("{name:?} is neither folders/NUMBER nor organizations/NUMBER"),
                ),
            },
            reaches: Vec::new(),
        }],
        projects: Vec::new(),
        gaps: Vec::new(),
        service_account_policies: None,
        secret_policies: None,
        notes: Vec::new(),
        resources: super::search::Resources::default(),
    }
}

/// Joins the walks of several roots: each container and project once (a project's
/// ancestry and a container's reach from the walk that found it first, reaches unioned).
pub fn join(walks: Vec<Hierarchy>) -> Hierarchy {
    let mut containers: BTreeMap<String, ContainerSources> = BTreeMap::new();
    let mut projects: BTreeMap<String, ProjectPlace> = BTreeMap::new();
    let mut gaps = Vec::new();
    let mut notes = Vec::new();
    // Bulk policies are usable only if every walk read them in bulk.
    let mut accounts: Option<BTreeMap<String, BTreeMap<String, Policy>>> = Some(BTreeMap::new());
    let mut resources = super::search::Resources::empty_bulk();
    let mut secret_policies: Option<BTreeMap<String, Policy>> = Some(BTreeMap::new());
    for h in walks {
        notes.extend(h.notes);
        match (&mut secret_policies, h.secret_policies) {
            (Some(all), Some(these)) => all.extend(these),
            (_, None) if !h.projects.is_empty() => secret_policies = None,
            _ => {}
        }
        super::search::join(&mut resources, h.resources, !h.projects.is_empty());
        match (&mut accounts, h.service_account_policies) {
            (Some(all), Some(these)) => all.extend(these),
            _ => accounts = None,
        }
        for c in h.containers {
            match containers.get_mut(&c.name) {
                Some(have) => {
                    have.reaches.extend(c.reaches);
                    have.reaches.sort();
                    have.reaches.dedup();
                }
                None => {
                    containers.insert(c.name.clone(), c);
                }
            }
        }
        for p in h.projects {
            projects.entry(p.project_id.clone()).or_insert(p);
        }
        gaps.extend(h.gaps);
    }
    Hierarchy {
        containers: containers.into_values().collect(),
        projects: projects.into_values().collect(),
        gaps,
        service_account_policies: accounts,
        secret_policies,
        notes,
        resources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(container: &str, reaches: &[&str], project: &str) -> Hierarchy {
        Hierarchy {
            containers: vec![ContainerSources {
                name: container.into(),
                policy: Availability::Known(Policy::default()),
                reaches: reaches.iter().map(|s| s.to_string()).collect(),
            }],
            projects: vec![ProjectPlace {
                project_id: project.into(),
                ancestors: vec![container.into()],
            }],
            gaps: Vec::new(),
            service_account_policies: None,
            secret_policies: None,
            notes: Vec::new(),
            resources: crate::providers::gcp::search::Resources::default(),
        }
    }

    /// The scope's kind was decided by its prefix: `folders/1/x` or `folders/abc` (from
    /// a hostile server or a tampered manifest) passed for a folder.
    #[test]
    fn only_a_well_formed_folder_or_organization_name_is_a_container() {
        assert_eq!(
            Container::parse("folders/123"),
            Some(Container::Folder("folders/123".into()))
        );
        assert_eq!(
            Container::parse("organizations/9"),
            Some(Container::Organization("organizations/9".into()))
        );
        assert!(is_container("folders/123") && is_container("organizations/9"));
        for not in [
            "shop-prod",
            "projects/shop-prod",
            "folders/",
            "folders/abc",
            "folders/1/x",
            "folders/1/../organizations/2",
            "organizations/2/folders/3",
            "organizations/ 2",
            "folders/123\n",
        ] {
            assert!(!is_container(not), "{not:?} is not a container");
            assert_eq!(Container::parse(not), None, "{not:?}");
        }
    }

    #[test]
    fn join_keeps_each_container_once_with_the_union_of_its_reach() {
        let j = join(vec![
            h("organizations/1", &["a-proj"], "a-proj"),
            h("organizations/1", &["b-proj"], "b-proj"),
        ]);
        assert_eq!(j.containers.len(), 1);
        assert_eq!(j.containers[0].reaches, ["a-proj", "b-proj"]);
        assert_eq!(j.projects.len(), 2);
    }
}
