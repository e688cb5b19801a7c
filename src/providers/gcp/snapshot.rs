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
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::sources::*;
use crate::error::Error;

const POLICY_FILE: &str = "iam-policy.json";

fn read_json<T: DeserializeOwned>(path: &Path, command: &str) -> Result<T, Error> {
    crate::providers::read_export_json(path, &format!("{command} --format=json"))
}

fn optional<T: DeserializeOwned>(
    path: &Path,
    source: &str,
    command: &str,
) -> Result<Availability<T>, Error> {
    if path.is_file() {
        read_json(path, command).map(Availability::Known)
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

/// The project folders under a snapshot folder (`DIR/gcp/<project>`).
pub fn project_dirs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let gcp = dir.join("gcp");
    let mut out = Vec::new();
    if !gcp.is_dir() {
        return Ok(out);
    }
    let rd = std::fs::read_dir(&gcp).map_err(|e| {
        Error::input(
            &gcp,
            format!("cannot read the folder: {e}"),
            "check its permissions",
        )
    })?;
    let mut dirs: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        if !d.join(POLICY_FILE).is_file() {
            return Err(Error::input(
                &d,
                format!("this project folder has no {POLICY_FILE}"),
                "export it with `gcloud projects get-iam-policy PROJECT --format=json`; see docs/snapshots.md",
            ));
        }
        out.push(d);
    }
    Ok(out)
}

/// Reads one project folder.
pub fn load_project(dir: &Path) -> Result<ProjectSources, Error> {
    let project_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let p = &project_id;
    let iam_policy: Policy = read_json(
        &dir.join(POLICY_FILE),
        &format!("gcloud projects get-iam-policy {p}"),
    )?;
    let service_accounts: Availability<Vec<ServiceAccount>> = optional(
        &dir.join("service-accounts.json"),
        "iam:ListServiceAccounts",
        &format!("gcloud iam service-accounts list --project {p}"),
    )?;
    let mut keys = BTreeMap::new();
    let mut service_account_policies = BTreeMap::new();
    if let Availability::Known(accounts) = &service_accounts {
        for sa in accounts {
            let sd = dir.join("service-accounts").join(&sa.email);
            let e = &sa.email;
            keys.insert(
                e.clone(),
                optional(
                    &sd.join("keys.json"),
                    "iam:ListServiceAccountKeys",
                    &format!(
                        "gcloud iam service-accounts keys list --iam-account {e} --project {p}"
                    ),
                )?,
            );
            service_account_policies.insert(
                e.clone(),
                optional(
                    &sd.join(POLICY_FILE),
                    "iam:GetIamPolicy",
                    &format!("gcloud iam service-accounts get-iam-policy {e} --project {p}"),
                )?,
            );
        }
    }
    let secrets: Availability<Vec<Secret>> = optional(
        &dir.join("secrets.json"),
        "secretmanager:ListSecrets",
        &format!("gcloud secrets list --project {p}"),
    )?;
    let mut versions = BTreeMap::new();
    let mut secret_policies = BTreeMap::new();
    if let Availability::Known(list) = &secrets {
        for s in list {
            let id = short(&s.name);
            let sd = dir.join("secrets").join(id);
            versions.insert(
                s.name.clone(),
                optional(
                    &sd.join("versions.json"),
                    "secretmanager:ListSecretVersions",
                    &format!("gcloud secrets versions list {id} --project {p}"),
                )?,
            );
            secret_policies.insert(
                s.name.clone(),
                optional(
                    &sd.join(POLICY_FILE),
                    "secretmanager:GetIamPolicy",
                    &format!("gcloud secrets get-iam-policy {id} --project {p}"),
                )?,
            );
        }
    }
    Ok(ProjectSources {
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
