//! Reading the live facts a manifest's claims are checked against, with the customer's
//! own credentials: every scope of the manifest audited live (never from exports), and
//! every migrated secret read at its destination and digested under the key the manifest
//! recorded. It only reads. What cannot be read is recorded as unread (a claim that
//! cannot be checked is never a pass), not raised: one unreachable account does not stop
//! the others from being verified.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Live, SecretRead};
use crate::audit::{self, AuditRequest, Progress};
use crate::manifest::{Manifest, Scope, StoreKind, StoreRef};
use crate::migrate::Store;
use crate::model::{Inventory, Provider};
use crate::providers::aws::live::LiveSettings;
use crate::providers::gcp::live::GcpSettings;

/// How to reach the clouds.
#[derive(Debug, Clone)]
pub struct Settings {
    /// AWS profiles with the customer's credentials; none: the standard chain.
    pub profiles: Vec<String>,
    pub gcp: GcpSettings,
    pub concurrency: usize,
    pub max_attempts: u32,
}

/// Reads every scope of the manifest live, and every migrated secret at its destination.
/// `integrity` and `documents` are left empty for the caller.
pub async fn read(
    m: &Manifest,
    s: &Settings,
    now: DateTime<Utc>,
    progress: Arc<dyn Progress>,
) -> Live {
    let accounts = Accounts::reach(m, s).await;
    let (inventory, unread) = read_scopes(m, s, &accounts, now, progress).await;
    let secrets = read_destinations(m, s, &accounts).await;
    Live {
        inventory,
        unread,
        secrets,
        integrity: Vec::new(),
        documents: None,
    }
}

/// Which profile reaches which AWS account (the standard chain when none is given).
struct Accounts {
    profile_of: BTreeMap<String, Option<String>>,
    /// Profiles whose account could not be found, and why.
    errors: Vec<String>,
}

impl Accounts {
    async fn reach(m: &Manifest, s: &Settings) -> Self {
        let mut out = Accounts {
            profile_of: BTreeMap::new(),
            errors: Vec::new(),
        };
        let needs_aws = m.scopes.iter().any(|s| s.provider == Provider::Aws)
            || m.migrated_secrets
                .iter()
                .any(|s| s.to.kind == StoreKind::Aws);
        if !needs_aws {
            return out;
        }
        let profiles: Vec<Option<String>> = if s.profiles.is_empty() {
            vec![None]
        } else {
            s.profiles.iter().cloned().map(Some).collect()
        };
        for p in profiles {
            let settings = aws_settings(s, p.clone(), vec!["us-east-1".into()]);
            match crate::providers::aws::live::account_of(&settings).await {
                Ok(acct) => {
                    out.profile_of.entry(acct).or_insert(p);
                }
                Err(e) => out.errors.push(format!(
                    "{}: {e}",
                    p.as_deref().unwrap_or("the default credentials")
                )),
            }
        }
        out
    }

    /// The profile that reaches `acct`, or why none does.
    fn profile(&self, acct: &str) -> Result<&Option<String>, String> {
        self.profile_of.get(acct).ok_or_else(|| {
            if self.errors.is_empty() {
                format!("no credentials given reach account {acct} (pass --profile for it)")
            } else {
                format!(
                    "no credentials given reach account {acct} ({})",
                    self.errors.join("; ")
                )
            }
        })
    }
}

fn aws_settings(s: &Settings, profile: Option<String>, regions: Vec<String>) -> LiveSettings {
    LiveSettings {
        profile,
        regions,
        concurrency: s.concurrency,
        max_attempts: s.max_attempts,
        fresh: true,
    }
}

/// One live audit per scope; a scope that cannot be read is listed with the reason.
async fn read_scopes(
    m: &Manifest,
    s: &Settings,
    accounts: &Accounts,
    now: DateTime<Utc>,
    progress: Arc<dyn Progress>,
) -> (Inventory, Vec<(Scope, String)>) {
    let mut inventory = Inventory::new(now);
    let mut unread: Vec<(Scope, String)> = Vec::new();
    // AWS scopes first, then GCP, as the manifest lists each.
    let scopes = m
        .scopes
        .iter()
        .filter(|s| s.provider == Provider::Aws)
        .chain(m.scopes.iter().filter(|s| s.provider == Provider::Gcp));
    for scope in scopes {
        let req = match scope.provider {
            Provider::Aws => match accounts.profile(&scope.scope) {
                Ok(profile) => AuditRequest {
                    aws: Some(aws_settings(s, profile.clone(), scope.regions.clone())),
                    snapshot: None,
                    gcp_projects: vec![],
                    gcp_roots: vec![],
                    gcp_containers: vec![],
                    gcp: s.gcp.clone(),
                    ..Default::default()
                },
                Err(why) => {
                    unread.push((scope.clone(), why));
                    continue;
                }
            },
            // A folder or organization scope: its own policy again, not a new walk
            // (the projects below are scopes of their own).
            Provider::Gcp if crate::providers::gcp::hierarchy::is_container(&scope.scope) => {
                AuditRequest {
                    gcp_containers: vec![scope.scope.clone()],
                    gcp: s.gcp.clone(),
                    ..AuditRequest::default()
                }
            }
            Provider::Gcp => AuditRequest {
                aws: None,
                snapshot: None,
                gcp_projects: vec![scope.scope.clone()],
                gcp_roots: vec![],
                gcp_containers: vec![],
                gcp: s.gcp.clone(),
                ..Default::default()
            },
        };
        match audit::run(&req, now, progress.clone()).await {
            Ok(inv) => inventory.merge(inv),
            Err(e) => unread.push((scope.clone(), e.to_string())),
        }
    }
    // Blind spots of the live read stay in `inventory.gaps`: `check` lists them as claims.
    inventory.normalize();
    (inventory, unread)
}

/// Destination secrets, each digested under the key the manifest recorded.
async fn read_destinations(
    m: &Manifest,
    s: &Settings,
    accounts: &Accounts,
) -> BTreeMap<(String, String), SecretRead> {
    let keys: BTreeMap<&str, crate::secret::DigestKey> = m
        .digest_keys
        .iter()
        .filter_map(|k| k.digest_key().map(|d| (k.id.as_str(), d)))
        .collect();
    let mut secrets = BTreeMap::new();
    for (store, items) in super::destinations(m) {
        let names: Vec<String> = items.iter().map(|(n, _)| n.clone()).collect();
        let read = match connect(&store, s, accounts).await {
            Ok(st) => st.read_current(&names).await.map_err(|e| e.to_string()),
            Err(why) => Err(why),
        };
        for (name, key_id) in items {
            let r = match &read {
                Err(why) => SecretRead::Unread(why.clone()),
                // The current value: GCP's newest enabled version read by number.
                Ok(values) => match (
                    values
                        .get(&name)
                        .and_then(|v| v.as_ref())
                        .and_then(|v| v.value()),
                    keys.get(key_id.as_str()),
                ) {
                    (Some(v), Some(k)) => SecretRead::Digest(k.digest(v)),
                    (Some(_), None) => {
                        SecretRead::Unread(format!("no digest key {key_id} in the manifest"))
                    }
                    _ => SecretRead::Missing,
                },
            };
            secrets.insert((store.describe(), name), r);
        }
    }
    secrets
}

/// The destination store, with the credentials that reach it; why not, as text (it
/// becomes the claim's detail).
async fn connect(store: &StoreRef, s: &Settings, accounts: &Accounts) -> Result<Store, String> {
    match store.kind {
        StoreKind::Aws => {
            let profile = accounts.profile(&store.scope)?;
            crate::providers::aws::store::AwsStore::connect(
                profile.as_deref(),
                store.region.as_deref().unwrap_or("us-east-1"),
                s.max_attempts,
            )
            .await
            .map(|st| Box::new(st) as Store)
            .map_err(|e| e.to_string())
        }
        StoreKind::Gcp => crate::providers::gcp::store::GcpStore::connect(&store.scope, &s.gcp)
            .await
            .map(|st| Box::new(st) as Store)
            .map_err(|e| e.to_string()),
        StoreKind::Dotenv => Err("a dotenv file is not a destination".into()),
    }
}
