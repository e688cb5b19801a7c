//! The server's in-memory state: projects, service accounts with their keys, secrets
//! with their versions, and each resource's IAM policy.
//!
//! Invariants:
//! - a project is known by id and by a stable 12-digit number derived from the id; a
//!   project id seen for the first time is created on the spot (tests need no set-up),
//!   an unknown project *number* is answered like Google does: 403 PERMISSION_DENIED;
//! - `generation` only ever grows, even across [`Store::reset`], so no etag is reused;
//! - secrets past their `expireTime` are gone, as Secret Manager deletes them.

use std::collections::BTreeMap;

use crate::error::{ApiError, ApiResult, Code};
use crate::policy::Policy;
use crate::util::{fnv64, now, now_to, Time};

#[derive(Clone, Debug)]
pub struct Project {
    pub id: String,
    pub number: u64,
    pub display_name: String,
    pub parent: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub create_time: Time,
    pub policy: Policy,
}

/// An organization or a folder: a node above projects that holds a policy.
#[derive(Clone, Debug)]
pub struct Container {
    /// `organizations/{id}` or `folders/{id}`.
    pub name: String,
    pub display_name: String,
    /// A folder's parent (`organizations/{id}` or `folders/{id}`); none for organizations.
    pub parent: Option<String>,
    /// An organization's Workspace / Cloud Identity customer id.
    pub directory_customer_id: String,
    pub create_time: Time,
    pub policy: Policy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    UserManaged,
    SystemManaged,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::UserManaged => "USER_MANAGED",
            KeyType::SystemManaged => "SYSTEM_MANAGED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Key {
    pub id: String,
    pub key_type: KeyType,
    pub algorithm: String,
    pub valid_after: Time,
    pub valid_before: Time,
    pub disabled: bool,
    /// `keys:upload` keys are `USER_PROVIDED`; all others `GOOGLE_PROVIDED`.
    pub user_provided: bool,
}

#[derive(Clone, Debug)]
pub struct ServiceAccount {
    pub project_id: String,
    pub account_id: String,
    pub email: String,
    pub unique_id: String,
    pub display_name: String,
    pub description: String,
    pub disabled: bool,
    pub policy: Policy,
    pub keys: Vec<Key>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionState {
    Enabled,
    Disabled,
    Destroyed,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Enabled => "ENABLED",
            VersionState::Disabled => "DISABLED",
            VersionState::Destroyed => "DESTROYED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Version {
    pub number: u64,
    /// When a destroy requested under `versionDestroyTtl` takes effect.
    pub scheduled_destroy_time: Option<Time>,
    pub create_time: Time,
    pub state: VersionState,
    pub destroy_time: Option<Time>,
    /// The payload; emptied when the version is destroyed.
    pub data: Vec<u8>,
    pub crc32c: u32,
    pub client_checksum: bool,
    pub etag: String,
}

#[derive(Clone, Debug)]
pub struct Secret {
    pub project_id: String,
    /// The location of a regional secret; `None` for a global one.
    pub location: Option<String>,
    pub id: String,
    /// Creation order (the store's generation at creation), for newest-first listing.
    pub seq: u64,
    pub create_time: Time,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub replication: crate::secretmanager::Replication,
    pub rotation: Option<crate::secretmanager::Rotation>,
    pub topics: Vec<crate::secretmanager::Topic>,
    pub expire_time: Option<Time>,
    pub version_aliases: BTreeMap<String, u64>,
    pub version_destroy_ttl: Option<String>,
    pub customer_managed_encryption: Option<serde_json::Value>,
    pub etag: String,
    pub versions: Vec<Version>,
    pub next_version: u64,
    pub policy: Policy,
}

#[derive(Debug, Default)]
pub struct Store {
    pub projects: BTreeMap<String, Project>,
    /// Organizations and folders by resource name.
    pub containers: BTreeMap<String, Container>,
    /// Service accounts by email.
    pub service_accounts: BTreeMap<String, ServiceAccount>,
    /// Deleted service accounts, which `:undelete` can bring back (Google keeps them 30 days).
    pub deleted_service_accounts: Vec<ServiceAccount>,
    /// Secrets by (project id, location or "" for global secrets, secret id).
    pub secrets: BTreeMap<(String, String, String), Secret>,
    /// Custom roles by name (`projects/{project id}/roles/{id}`), deleted ones included.
    pub custom_roles: BTreeMap<String, crate::roles::CustomRole>,
    /// API keys, HMAC keys, workload identity pools and providers.
    pub creds: crate::creds::CredStore,
    generation: u64,
    unique_ids: u64,
}

impl Store {
    /// Forgets every resource; keeps the generation counter so etags stay unique.
    pub fn reset(&mut self) {
        *self = Store {
            generation: self.generation,
            ..Store::default()
        };
    }

    /// The next value of the never-repeating write counter.
    pub fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// An etag for a Secret Manager resource: a quoted hex string, as Google's.
    pub fn next_resource_etag(&mut self) -> String {
        let g = self.next_generation();
        format!("\"{:014x}\"", 0x0006_1000_0000_0000u64 + g)
    }

    /// A new 21-digit service account unique id (never reused, like Google's).
    pub fn next_unique_id(&mut self, email: &str) -> String {
        self.unique_ids += 1;
        let base = fnv64(email.as_bytes()) % 1_000_000_000_000;
        format!("1{base:012}{:08}", self.unique_ids)
    }

    fn number_for(&self, id: &str) -> u64 {
        let mut n = 100_000_000_000 + fnv64(id.as_bytes()) % 900_000_000_000;
        while self.projects.values().any(|p| p.number == n) {
            n += 1;
        }
        n
    }

    /// Creates a project (the admin seed), failing if the id or number is taken.
    pub fn create_project(&mut self, id: &str, number: Option<u64>) -> ApiResult<&mut Project> {
        validate_project_id(id)?;
        if self.projects.contains_key(id) {
            return Err(ApiError::exists(format!("Project {id} already exists.")));
        }
        let number = match number {
            Some(n) if self.projects.values().any(|p| p.number == n) => {
                return Err(ApiError::exists(format!(
                    "Project number {n} is already in use."
                )))
            }
            Some(n) => n,
            None => self.number_for(id),
        };
        let project = Project {
            id: id.to_owned(),
            number,
            display_name: id.to_owned(),
            parent: None,
            labels: BTreeMap::new(),
            create_time: now_to(3),
            policy: Policy::default(),
        };
        Ok(self.projects.entry(id.to_owned()).or_insert(project))
    }

    /// Resolves `projects/{key}` (id or number) to the project id, creating unknown ids.
    pub fn project_id(&mut self, key: &str) -> ApiResult<String> {
        Ok(self.project(key)?.id.clone())
    }

    /// Resolves `projects/{key}` (id or number), creating unknown ids.
    pub fn project(&mut self, key: &str) -> ApiResult<&mut Project> {
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            return self
                .projects
                .values_mut()
                .find(|p| p.number.to_string() == key)
                .ok_or_else(|| {
                    ApiError::new(
                        Code::PermissionDenied,
                        format!(
                            "Permission denied on resource project {key} (or it may not exist)."
                        ),
                    )
                });
        }
        if !self.projects.contains_key(key) {
            self.create_project(key, None)?;
        }
        self.projects
            .get_mut(key)
            .ok_or_else(|| ApiError::new(Code::Internal, "project vanished"))
    }

    /// Resolves `organizations/{id}` or `folders/{id}` (numeric ids), creating unknown
    /// ones: like projects, they exist as soon as a test names them.
    pub fn container(&mut self, kind: &str, id: &str) -> ApiResult<&mut Container> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::invalid(format!(
                "Invalid {kind} id '{id}': ids are numbers."
            )));
        }
        let name = format!("{kind}/{id}");
        let container = self
            .containers
            .entry(name.clone())
            .or_insert_with(|| Container {
                display_name: if kind == "organizations" {
                    format!("org-{id}.example")
                } else {
                    format!("folder-{id}")
                },
                parent: (kind == "folders").then(|| "organizations/0".to_owned()),
                directory_customer_id: format!("C{:08x}", fnv64(id.as_bytes()) as u32),
                create_time: now_to(3),
                policy: Policy::default(),
                name,
            });
        Ok(container)
    }

    /// Makes sure the parent a project or folder names exists, if it is a container.
    pub fn touch_parent(&mut self, parent: &str) -> ApiResult<()> {
        match parent.split_once('/') {
            Some((kind @ ("organizations" | "folders"), id)) => {
                self.container(kind, id).map(|_| ())
            }
            _ => Err(ApiError::invalid(format!(
                "Invalid parent '{parent}': expected organizations/{{id}} or folders/{{id}}."
            ))),
        }
    }

    pub fn project_number(&self, id: &str) -> u64 {
        self.projects.get(id).map_or(0, |p| p.number)
    }

    /// Renames a member in every policy the store holds (Google shows bindings of a
    /// deleted account as `deleted:serviceAccount:EMAIL?uid=ID`, and restores them on
    /// undelete).
    pub fn rewrite_member(&mut self, from: &str, to: &str) {
        let policies = self
            .projects
            .values_mut()
            .map(|p| &mut p.policy)
            .chain(self.containers.values_mut().map(|c| &mut c.policy))
            .chain(self.service_accounts.values_mut().map(|s| &mut s.policy))
            .chain(self.secrets.values_mut().map(|s| &mut s.policy));
        for policy in policies {
            let mut changed = false;
            for b in &mut policy.bindings {
                for m in &mut b.members {
                    if m == from {
                        *m = to.to_owned();
                        changed = true;
                    }
                }
                if changed {
                    b.members.sort();
                    b.members.dedup();
                }
            }
        }
    }

    /// Drops secrets whose expiry has passed and completes delayed version destroys.
    pub fn purge_expired(&mut self) {
        let t = now();
        self.secrets
            .retain(|_, s| s.expire_time.is_none_or(|e| e > t));
        for secret in self.secrets.values_mut() {
            for v in &mut secret.versions {
                if v.scheduled_destroy_time.is_some_and(|d| d <= t) {
                    v.state = VersionState::Destroyed;
                    v.destroy_time = v.scheduled_destroy_time.take();
                    v.data.clear();
                }
            }
        }
    }
}

/// Project ids as Resource Manager allows them, loosened only in length (>= 1) so
/// that short test ids work: lowercase letters, digits and hyphens, starting with a
/// letter, not ending in a hyphen.
pub fn validate_project_id(id: &str) -> ApiResult<()> {
    let ok = id.len() <= 30
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid project id '{id}': use lowercase letters, digits and hyphens, starting with a letter."
        )))
    }
}
