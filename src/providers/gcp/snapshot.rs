//! Reads a GCP snapshot: gcloud `--format=json` exports laid out per project (see
//! `docs/snapshots.md`; `scripts/export-gcp-snapshot.sh` makes one).
//!
//! ```text
//! DIR/gcp/<project>/
//!   iam-policy.json                          gcloud projects get-iam-policy P     (required)
//!   service-accounts.json                    gcloud iam service-accounts list
//!   service-accounts/<email>/keys.json       gcloud iam service-accounts keys list --iam-account E
//!   service-accounts/<email>/iam-policy.json gcloud iam service-accounts get-iam-policy E
//!   secrets.json                             gcloud secrets list
//!   secrets/<id>/versions.json               gcloud secrets versions list S
//!   secrets/<id>/iam-policy.json             gcloud secrets get-iam-policy S
//!   ancestors.json                           gcloud projects get-ancestors P      (--hierarchy)
//! DIR/gcp-containers/<folders|organizations>-<id>/
//!   iam-policy.json                          gcloud resource-manager folders / organizations get-iam-policy ID
//! ```
//!
//! A folder or organization named in a project's `ancestors.json` is read from its
//! folder under `gcp-containers/`, named from the ancestor's type and numeric id (both
//! checked: anything else is a gap, not a path); its bindings reach the projects whose
//! ancestry names it. A missing policy file is a coverage gap. An ancestry longer than
//! the hierarchy walk's depth bound is an input error, so the containers read grow
//! with the project folders, at most `MAX_ANCESTORS` each.
//!
//! Every read stays under the project folder (`providers::snapshot_fs`): a service
//! account's or a secret's folder is found by looking its email or id up in one listing
//! of `service-accounts/` or `secrets/`, never by joining it to a path. An email or id
//! Google would not issue is a coverage gap naming it, not a read; a symlink leading
//! outside the folder is an input error naming it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::sources::*;
use crate::error::Error;
use crate::providers::snapshot_fs::{quote_name, Listing, SnapshotRoot};

const POLICY_FILE: &str = "iam-policy.json";
/// The longest ancestry `ancestors.json` may list: the project, the walk's depth of
/// folders, the organization.
const MAX_ANCESTORS: usize = super::hierarchy::MAX_DEPTH + 2;

fn read_json<T: DeserializeOwned>(
    root: &SnapshotRoot,
    path: &Path,
    command: &str,
) -> Result<T, Error> {
    let command = format!("{command} --format=json");
    match root.file(path)? {
        Some(real) => crate::providers::read_export_json(&real, &command).map_err(|e| match e {
            // Name the file as the user knows it, not its canonical path.
            Error::Input { what, hint, .. } => Error::input(path, what, hint),
            other => other,
        }),
        None => Err(Error::input(
            path,
            "missing",
            format!("export it with `{command}`; see docs/snapshots.md"),
        )),
    }
}

fn optional<T: DeserializeOwned>(
    root: &SnapshotRoot,
    path: &Path,
    source: &str,
    command: &str,
) -> Result<Availability<T>, Error> {
    if root.file(path)?.is_some() {
        read_json(root, path, command).map(Availability::Known)
    } else {
        Ok(Availability::unknown(
            source,
            format!(
                "{} is not in the snapshot (export it with `{command} --format=json`)",
                path.file_name().unwrap_or_default().to_string_lossy()
            ),
        ))
    }
}

/// API keys (`api-keys.json`), HMAC keys (`hmac-keys.json`), workload identity pools
/// (`workload-identity-pools.json`) and each pool's providers
/// (`workload-identity-pools/POOL/providers.json`); a missing file is a gap.
fn outside_iam(
    root: &SnapshotRoot,
    dir: &Path,
    p: &str,
) -> Result<super::sources::OutsideIam, Error> {
    use super::{apikeys, hmac, wif};
    let api_keys = optional(
        root,
        &dir.join("api-keys.json"),
        apikeys::LIST_SOURCE,
        &format!("gcloud services api-keys list --project {p}"),
    )?;
    let hmac_keys = optional(
        root,
        &dir.join("hmac-keys.json"),
        hmac::LIST_SOURCE,
        &format!("gcloud storage hmac list --project {p}"),
    )?;
    let pools: Availability<Vec<wif::Pool>> = optional(
        root,
        &dir.join("workload-identity-pools.json"),
        wif::POOLS_SOURCE,
        &format!("gcloud iam workload-identity-pools list --location=global --project {p}"),
    )?;
    let mut providers = BTreeMap::new();
    for pool in pools.known().into_iter().flatten() {
        let id = super::sources::short(&pool.name).to_owned();
        // Pool ids are 4-32 of [a-z0-9-] (IAM's rule), so one is a safe folder name;
        // anything else is named as a gap, never joined to a path.
        let safe = (4..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let got = if safe {
            optional(
                root,
                &dir.join("workload-identity-pools").join(&id).join("providers.json"),
                wif::PROVIDERS_SOURCE,
                &format!("gcloud iam workload-identity-pools providers list --location=global --workload-identity-pool={id} --project {p}"),
            )?
        } else {
            Availability::unknown(
                wif::PROVIDERS_SOURCE,
                "the pool id is not one IAM allows, so it names no folder",
            )
        };
        providers.insert(id, got);
    }
    Ok(super::sources::OutsideIam {
        api_keys,
        hmac_keys,
        federation: wif::Federation { pools, providers },
    })
}

/// Whether `email` is an address Google gives service accounts and can be a folder
/// name: `NAME@PROJECT.iam.gserviceaccount.com`, `PROJECT@appspot.gserviceaccount.com`,
/// `NUMBER-compute@developer.gserviceaccount.com` and the service agents are all
/// lowercase letters, digits, `-`, `.` and one `@`, start with a letter or digit, and end
/// in `gserviceaccount.com`
/// (IAM docs, "Service account types"; account ids are 6 to 30 of `[a-z0-9-]`).
pub fn is_service_account_email(email: &str) -> bool {
    email.len() <= 254
        && email
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.@".contains(&b))
        && email.bytes().filter(|b| *b == b'@').count() == 1
        && email.split_once('@').is_some_and(|(local, domain)| {
            local
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric())
                && domain.ends_with("gserviceaccount.com")
        })
}

/// Whether `id` is a Secret Manager secret id: 1 to 255 of `[A-Za-z0-9_-]`
/// (Secret Manager API, `secrets.create` `secretId`).
pub fn is_secret_id(id: &str) -> bool {
    (1..=255).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The folder of one resource: looked up by name in the listing, never joined.
/// `Err(reason)` when the name could not be a folder of the snapshot.
fn folder_of<'a>(
    root: &SnapshotRoot,
    listing: &'a Listing,
    name: &str,
    valid: bool,
    what: &str,
) -> Result<Result<Option<&'a Path>, String>, Error> {
    if !valid {
        return Ok(Err(format!(
            "{} is not a valid {what}, so no per-{what} file of the snapshot is read for it",
            quote_name(name)
        )));
    }
    match listing.get(name) {
        Some(p) if root.dir(p)?.is_some() => Ok(Ok(Some(p))),
        _ => Ok(Ok(None)),
    }
}

/// A per-resource optional file, or the gap saying why it is not read.
fn optional_in<T: DeserializeOwned>(
    root: &SnapshotRoot,
    folder: &Result<Option<&Path>, String>,
    file: &str,
    source: &str,
    command: &str,
) -> Result<Availability<T>, Error> {
    match folder {
        Ok(Some(d)) => optional(root, &d.join(file), source, command),
        Ok(None) => Ok(Availability::unknown(
            source,
            format!("{file} is not in the snapshot (export it with `{command} --format=json`)"),
        )),
        Err(reason) => Ok(Availability::unknown(source, reason.clone())),
    }
}

/// The project folders under a snapshot folder (`DIR/gcp/<project>`).
pub fn project_dirs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let root = SnapshotRoot::open(dir)?;
    let mut out = Vec::new();
    for (_, d) in root.listing(&dir.join("gcp"))?.iter() {
        if root.dir(d)?.is_none() {
            continue;
        }
        if root.file(&d.join(POLICY_FILE))?.is_none() {
            return Err(Error::input(
                d,
                format!("this project folder has no {POLICY_FILE}"),
                "export it with `gcloud projects get-iam-policy PROJECT --format=json`; see docs/snapshots.md",
            ));
        }
        out.push(d.to_path_buf());
    }
    Ok(out)
}

/// Reads one project folder: the project's IAM policy (required), then the service
/// accounts and each one's folder, then the secrets and each one's folder.
pub fn load_project(dir: &Path) -> Result<ProjectSources, Error> {
    let root = &SnapshotRoot::open(dir)?;
    let project_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let p = &project_id;
    let iam_policy: Policy = read_json(
        root,
        &dir.join(POLICY_FILE),
        &format!("gcloud projects get-iam-policy {p}"),
    )?;
    let service_accounts: Availability<Vec<ServiceAccount>> = optional(
        root,
        &dir.join("service-accounts.json"),
        "iam:ListServiceAccounts",
        &format!("gcloud iam service-accounts list --project {p}"),
    )?;
    let (keys, service_account_policies) = match &service_accounts {
        Availability::Known(accounts) => service_account_folders(root, dir, p, accounts)?,
        _ => Default::default(),
    };
    let secrets: Availability<Vec<Secret>> = optional(
        root,
        &dir.join("secrets.json"),
        "secretmanager:ListSecrets",
        &format!("gcloud secrets list --project {p}"),
    )?;
    let (versions, secret_policies) = match &secrets {
        Availability::Known(list) => secret_folders(root, dir, p, list)?,
        _ => Default::default(),
    };
    let outside = outside_iam(root, dir, p)?;
    Ok(ProjectSources {
        outside,
        project_id,
        iam_policy,
        service_accounts,
        keys,
        service_account_policies,
        secrets,
        versions,
        secret_policies,
    })
}

type ByName<T> = BTreeMap<String, Availability<T>>;

/// Each listed service account's keys and IAM policy, from its folder under
/// `service-accounts/`, by email.
fn service_account_folders(
    root: &SnapshotRoot,
    dir: &Path,
    p: &str,
    accounts: &[ServiceAccount],
) -> Result<(ByName<Vec<ServiceAccountKey>>, ByName<Policy>), Error> {
    let mut keys = BTreeMap::new();
    let mut policies = BTreeMap::new();
    let listing = root.listing(&dir.join("service-accounts"))?;
    for sa in accounts {
        let e = &sa.email;
        let sd = folder_of(
            root,
            &listing,
            e,
            is_service_account_email(e),
            "service-account email",
        )?;
        keys.insert(
            e.clone(),
            optional_in(
                root,
                &sd,
                "keys.json",
                "iam:ListServiceAccountKeys",
                &format!("gcloud iam service-accounts keys list --iam-account {e} --project {p}"),
            )?,
        );
        policies.insert(
            e.clone(),
            optional_in(
                root,
                &sd,
                POLICY_FILE,
                "iam:GetIamPolicy",
                &format!("gcloud iam service-accounts get-iam-policy {e} --project {p}"),
            )?,
        );
    }
    Ok((keys, policies))
}

/// Each listed secret's versions and IAM policy, from its folder under `secrets/`, by
/// resource name.
fn secret_folders(
    root: &SnapshotRoot,
    dir: &Path,
    p: &str,
    list: &[Secret],
) -> Result<(ByName<Vec<SecretVersion>>, ByName<Policy>), Error> {
    let mut versions = BTreeMap::new();
    let mut policies = BTreeMap::new();
    let listing = root.listing(&dir.join("secrets"))?;
    for s in list {
        let id = short(&s.name);
        let sd = folder_of(root, &listing, id, is_secret_id(id), "secret id")?;
        versions.insert(
            s.name.clone(),
            optional_in(
                root,
                &sd,
                "versions.json",
                "secretmanager:ListSecretVersions",
                &format!("gcloud secrets versions list {id} --project {p}"),
            )?,
        );
        policies.insert(
            s.name.clone(),
            optional_in(
                root,
                &sd,
                POLICY_FILE,
                "secretmanager:GetIamPolicy",
                &format!("gcloud secrets get-iam-policy {id} --project {p}"),
            )?,
        );
    }
    Ok((versions, policies))
}

/// One entry of `gcloud projects get-ancestors --format=json`.
#[derive(Debug, serde::Deserialize)]
struct Ancestor {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

/// The folders and organizations above the snapshot's projects (from each project's
/// optional `ancestors.json`), each with its policy from `gcp-containers/` and the
/// project ids it reaches.
pub fn load_containers(
    dir: &Path,
    projects: &[PathBuf],
) -> Result<Vec<super::hierarchy::ContainerSources>, Error> {
    let root = &SnapshotRoot::open(dir)?;
    let mut reaches: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in projects {
        let path = p.join("ancestors.json");
        if root.file(&path)?.is_none() {
            continue;
        }
        let project = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ancestors: Vec<Ancestor> = read_json(
            root,
            &path,
            &format!("gcloud projects get-ancestors {project}"),
        )?;
        // A project sits below at most MAX_DEPTH folders and one organization (Google
        // allows 10 levels of folders): a longer ancestry is no export of gcloud's, and
        // unbounded it made the audit hang (20,000 ancestors took minutes).
        if ancestors.len() > MAX_ANCESTORS {
            return Err(Error::input(
                &path,
                format!(
                    "lists {} ancestors; a GCP project has at most {MAX_ANCESTORS} (itself, {} levels of folders, its organization)",
                    ancestors.len(),
                    super::hierarchy::MAX_DEPTH
                ),
                "re-export it with scripts/export-gcp-snapshot.sh --hierarchy",
            ));
        }
        for a in ancestors {
            let kind = match a.kind.as_str() {
                "folder" => "folders",
                "organization" => "organizations",
                _ => continue,
            };
            if a.id.is_empty() || a.id.len() > 32 || !a.id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::input(
                    &path,
                    format!(
                        "{} id {:?} is not a number",
                        a.kind,
                        a.id.chars().take(40).collect::<String>()
                    ),
                    "re-export it with scripts/export-gcp-snapshot.sh --hierarchy",
                ));
            }
            let list = reaches.entry(format!("{kind}/{}", a.id)).or_default();
            if !list.contains(&project) {
                list.push(project.clone());
            }
        }
    }
    let mut out = Vec::new();
    for (name, mut projects) in reaches {
        projects.sort();
        // `folders/20` -> `gcp-containers/folders-20`: both parts checked above.
        let folder = dir.join("gcp-containers").join(name.replace('/', "-"));
        let (kind, id) = name.split_once('/').unwrap_or_default();
        let command = if kind == "folders" {
            format!("gcloud resource-manager folders get-iam-policy {id}")
        } else {
            format!("gcloud organizations get-iam-policy {id}")
        };
        let source = format!("cloudresourcemanager.{kind}.getIamPolicy");
        let policy = optional(root, &folder.join(POLICY_FILE), &source, &command)?;
        out.push(super::hierarchy::ContainerSources {
            name,
            policy,
            reaches: projects,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_with_ancestors(n: usize) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gcp/p1");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join(POLICY_FILE), "{}").unwrap();
        let mut list = vec![serde_json::json!({"id": "p1", "type": "project"})];
        list.extend(
            (0..n).map(|i| serde_json::json!({"id": format!("{}", 100 + i), "type": "folder"})),
        );
        std::fs::write(p.join("ancestors.json"), serde_json::to_vec(&list).unwrap()).unwrap();
        (dir, p)
    }

    // An ancestors.json of 20,000 folders (found by tests/fuzz.rs
    // fuzz_gcp_hierarchy_snapshot) made the audit run for minutes: the ancestry is
    // bounded by the walk's depth, and past it is an input error naming the file.
    #[test]
    fn an_ancestry_longer_than_the_walk_allows_is_an_input_error() {
        let (dir, p) = project_with_ancestors(20_000);
        let e = load_containers(dir.path(), &[p]).unwrap_err();
        assert!(matches!(e, Error::Input { .. }), "{e:?}");
        let shown = e.to_string();
        assert!(
            shown.contains("ancestors.json") && shown.contains("20001 ancestors"),
            "{shown}"
        );

        let (dir, p) = project_with_ancestors(MAX_ANCESTORS - 1);
        let got = load_containers(dir.path(), &[p]).unwrap();
        assert_eq!(
            got.len(),
            MAX_ANCESTORS - 1,
            "every folder of a real ancestry is read"
        );
    }
}
