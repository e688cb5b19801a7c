//! Reads an AWS snapshot: the JSON an AWS user already gets from the aws CLI, laid out
//! in a folder (see `docs/snapshots.md` for the exact commands).
//!
//! ```text
//! DIR/aws/<label>/                      one folder per account (or DIR is that folder)
//! DIR/aws/organizations/                the organization, when exported (`org_snapshot`)
//!   account-authorization-details.json  aws iam get-account-authorization-details   (required)
//!   credential-report.json              aws iam get-credential-report  (or credential-report.csv)
//!   virtual-mfa-devices.json            aws iam list-virtual-mfa-devices
//!   account-summary.json                aws iam get-account-summary
//!   caller-identity.json                aws sts get-caller-identity
//!   service-specific-credentials.json   aws iam list-service-specific-credentials --all-users
//!   users/<user>/access-keys.json       aws iam list-access-keys --user-name <user>
//!   users/<user>/ssh-public-keys.json   aws iam list-ssh-public-keys --user-name <user>
//!   users/<user>/signing-certificates.json, users/<user>/mfa-devices.json
//!   secrets/<region>/list-secrets.json  aws secretsmanager list-secrets --include-planned-deletion
//!   secrets/<region>/resource-policies/<any>.json  aws secretsmanager get-resource-policy --secret-id <arn>
//! ```
//!
//! A missing optional file becomes a coverage gap that names the command to run; a
//! malformed file is an error naming the file, never a silent skip.
//!
//! Every read stays under the account folder (`providers::snapshot_fs`): a user's
//! folder is found by looking its name up in one listing of `users/`, never by joining
//! the name to a path, and a user name IAM would not accept (`[\w+=,.@-]`, 1 to 64
//! characters) is a coverage gap naming the user, not a read. A symlink leading
//! outside the folder is an input error naming it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::sources::*;
use crate::error::Error;
use crate::providers::snapshot_fs::{quote_name, SnapshotRoot};

const AUTH_FILE: &str = "account-authorization-details.json";

const SNAPSHOT_HINT: &str = "see docs/snapshots.md for the aws CLI commands that make a snapshot \
                             (scripts/export-aws-snapshot.sh runs them all)";

/// Finds the account folders under a snapshot folder.
pub fn account_dirs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    if !dir.is_dir() {
        return Err(Error::input(
            dir,
            "not a folder",
            "pass the snapshot folder made with the aws CLI; ".to_string() + SNAPSHOT_HINT,
        ));
    }
    let root = SnapshotRoot::open(dir)?;
    if root.file(&dir.join(AUTH_FILE))?.is_some() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut out = Vec::new();
    for (name, entry) in root.listing(&dir.join("aws"))?.iter() {
        // The organization's folder (`org_snapshot`) is not an account.
        if root.dir(entry)?.is_none() || name == super::org_snapshot::ORG_DIR {
            continue;
        }
        if root.file(&entry.join(AUTH_FILE))?.is_none() {
            return Err(Error::input(
                entry,
                format!("this account folder has no {AUTH_FILE}"),
                format!("export it with `aws iam get-account-authorization-details > {AUTH_FILE}`; {SNAPSHOT_HINT}"),
            ));
        }
        out.push(entry.to_path_buf());
    }
    Ok(out)
}

use crate::providers::read_export_json;

/// Reads a required file under the root.
pub(super) fn read_json<T: DeserializeOwned>(
    root: &SnapshotRoot,
    path: &Path,
    command: &str,
) -> Result<T, Error> {
    match root.file(path)? {
        Some(real) => read_export_json(&real, command).map_err(|e| match e {
            // Name the file as the user knows it, not its canonical path.
            Error::Input { what, hint, .. } => Error::input(path, what, hint),
            other => other,
        }),
        None => Err(Error::input(
            path,
            "missing",
            format!("export it with `{command}`; {SNAPSHOT_HINT}"),
        )),
    }
}

/// Reads an optional file under the root: `Ok(None)` when absent.
pub(super) fn optional_json<T: DeserializeOwned>(
    root: &SnapshotRoot,
    path: &Path,
    command: &str,
) -> Result<Option<T>, Error> {
    match root.file(path)? {
        Some(_) => read_json(root, path, command).map(Some),
        None => Ok(None),
    }
}

/// Whether IAM would accept `name` as a user name, and it can be a folder name: 1 to 64
/// of `[\w+=,.@-]` (IAM API reference, CreateUser `UserName`), and neither `.` nor `..`.
pub fn is_iam_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
        && name != "."
        && name != ".."
}

/// The per-user lists of a user whose name cannot be an IAM user name: each one a gap
/// saying why it was not read.
fn unreadable_user(name: &str) -> UserLists {
    let reason = format!(
        "the user name {} is not a valid IAM user name ([\\w+=,.@-], 1 to 64 characters), so no per-user file of the \
         snapshot is read for it",
        quote_name(name)
    );
    fn gap<T>(source: &str, reason: &str) -> Option<Availability<T>> {
        Some(Availability::unknown(source, reason))
    }
    UserLists {
        access_keys: gap("iam:ListAccessKeys", &reason),
        ssh_public_keys: gap("iam:ListSSHPublicKeys", &reason),
        signing_certificates: gap("iam:ListSigningCertificates", &reason),
        mfa_devices: gap("iam:ListMFADevices", &reason),
        login_profile: None,
    }
}

pub(super) fn missing<T>(source: &str, file: &str, command: &str) -> Availability<T> {
    Availability::unknown(
        source,
        format!("{file} is not in the snapshot (export it with `{command}`)"),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CallerIdentity {
    account: Option<String>,
    arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CredentialReportJson {
    content: String,
    generated_time: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccountSummaryJson {
    summary_map: BTreeMap<String, i64>,
}

/// Reads one account folder: the authorization details (required), the caller and the
/// credential report, the account-wide lists, then each user's folder and each region's
/// secrets. Every read is in this order, so the first malformed file is the one named.
pub fn load_account(dir: &Path) -> Result<(AccountSources, Vec<String>), Error> {
    let root = &SnapshotRoot::open(dir)?;
    let authorization: AuthorizationDetails = read_json(
        root,
        &dir.join(AUTH_FILE),
        "aws iam get-account-authorization-details",
    )?;
    let caller: Option<CallerIdentity> = optional_json(
        root,
        &dir.join("caller-identity.json"),
        "aws sts get-caller-identity",
    )?;
    let credential_report = credential_report(root, dir)?;
    let account_id = account_id(dir, caller.as_ref(), &authorization, &credential_report)?;
    let account_summary = match optional_json::<AccountSummaryJson>(
        root,
        &dir.join("account-summary.json"),
        "aws iam get-account-summary",
    )? {
        Some(s) => Availability::Known(s.summary_map),
        None => missing(
            "iam:GetAccountSummary",
            "account-summary.json",
            "aws iam get-account-summary",
        ),
    };
    let virtual_mfa = match optional_json::<VirtualMfaDeviceList>(
        root,
        &dir.join("virtual-mfa-devices.json"),
        "aws iam list-virtual-mfa-devices",
    )? {
        Some(l) => Availability::Known(l.devices),
        None => missing(
            "iam:ListVirtualMFADevices",
            "virtual-mfa-devices.json",
            "aws iam list-virtual-mfa-devices",
        ),
    };
    const SSC: &str = "aws iam list-service-specific-credentials --all-users";
    let service_specific = match optional_json::<ServiceSpecificCredentialList>(
        root,
        &dir.join("service-specific-credentials.json"),
        SSC,
    )? {
        Some(l) => Availability::Known(l.credentials),
        None => missing(
            "iam:ListServiceSpecificCredentials",
            "service-specific-credentials.json",
            SSC,
        ),
    };
    let users = users(root, dir, &authorization)?;
    let mut regions = Vec::new();
    for (region, rd) in root.listing(&dir.join("secrets"))?.iter() {
        if root.dir(rd)?.is_some() {
            regions.push(region_secrets(root, region, rd)?);
        }
    }
    let identity_center = super::sso_snapshot::load(root, dir)?;
    let region_names = regions.iter().map(|r| r.region.clone()).collect();
    Ok((
        AccountSources {
            account_id,
            caller_arn: caller.and_then(|c| c.arn),
            credential_report,
            authorization,
            account_summary,
            virtual_mfa,
            service_specific,
            users,
            regions,
            identity_center,
        },
        region_names,
    ))
}

/// The account id: from the caller identity, else the account of the first user, role
/// or group ARN of the authorization details, else of a credential report row.
fn account_id(
    dir: &Path,
    caller: Option<&CallerIdentity>,
    authorization: &AuthorizationDetails,
    credential_report: &Availability<CredentialReport>,
) -> Result<String, Error> {
    caller
        .and_then(|c| c.account.clone())
        .or_else(|| {
            let arns = authorization
                .user_detail_list
                .iter()
                .map(|u| u.arn.as_str())
                .chain(
                    authorization
                        .role_detail_list
                        .iter()
                        .map(|r| r.arn.as_str()),
                )
                .chain(
                    authorization
                        .group_detail_list
                        .iter()
                        .filter_map(|g| g.arn.as_deref()),
                );
            arns.filter_map(super::policy_doc::account_of).next()
        })
        .or_else(|| {
            credential_report.known().and_then(|r| {
                r.rows
                    .iter()
                    .find_map(|row| super::policy_doc::account_of(&row.arn))
            })
        })
        .ok_or_else(|| {
            Error::input(
                dir,
                "cannot tell which AWS account this is",
                "add caller-identity.json (`aws sts get-caller-identity`)",
            )
        })
}

/// Each user's per-user lists, from its folder under `users/` when it has one.
fn users(
    root: &SnapshotRoot,
    dir: &Path,
    authorization: &AuthorizationDetails,
) -> Result<BTreeMap<String, UserLists>, Error> {
    let mut users = BTreeMap::new();
    let user_folders = root.listing(&dir.join("users"))?;
    for u in &authorization.user_detail_list {
        let name = &u.user_name;
        if !is_iam_user_name(name) {
            users.insert(name.clone(), unreadable_user(name));
            continue;
        }
        // Looked up in the listing, never joined: see the module's invariants.
        let Some(ud) = user_folders.get(name) else {
            continue;
        };
        if root.dir(ud)?.is_none() {
            continue;
        }
        users.insert(name.clone(), user_folder(root, ud, name)?);
    }
    Ok(users)
}

/// The lists in one user's folder; an absent file leaves its list unread.
fn user_folder(root: &SnapshotRoot, ud: &Path, name: &str) -> Result<UserLists, Error> {
    Ok(UserLists {
        access_keys: optional_json::<AccessKeyList>(
            root,
            &ud.join("access-keys.json"),
            &format!("aws iam list-access-keys --user-name {name}"),
        )?
        .map(|l| Availability::Known(l.keys)),
        ssh_public_keys: optional_json::<SshPublicKeyList>(
            root,
            &ud.join("ssh-public-keys.json"),
            &format!("aws iam list-ssh-public-keys --user-name {name}"),
        )?
        .map(|l| Availability::Known(l.keys)),
        signing_certificates: optional_json::<SigningCertificateList>(
            root,
            &ud.join("signing-certificates.json"),
            &format!("aws iam list-signing-certificates --user-name {name}"),
        )?
        .map(|l| Availability::Known(l.certificates)),
        mfa_devices: optional_json::<MfaDeviceList>(
            root,
            &ud.join("mfa-devices.json"),
            &format!("aws iam list-mfa-devices --user-name {name}"),
        )?
        .map(|l| Availability::Known(l.devices)),
        login_profile: None,
    })
}

/// One region's folder under `secrets/`: its secret list and each secret's resource
/// policy (a listed secret without one is a gap).
fn region_secrets(root: &SnapshotRoot, region: &str, rd: &Path) -> Result<RegionSecrets, Error> {
    let region = region.to_string();
    let cmd =
        format!("aws secretsmanager list-secrets --include-planned-deletion --region {region}");
    let secrets = match optional_json::<SecretList>(root, &rd.join("list-secrets.json"), &cmd)? {
        Some(l) => Availability::Known(l.secrets),
        None => missing("secretsmanager:ListSecrets", "list-secrets.json", &cmd),
    };
    let pd = rd.join("resource-policies");
    let mut policies = resource_policies(root, &pd)?;
    if let Availability::Known(list) = &secrets {
        for s in list {
            policies.entry(s.arn.clone()).or_insert_with(|| {
                Availability::unknown(
                    "secretsmanager:GetResourcePolicy",
                    format!(
                        "no get-resource-policy export for this secret in {}",
                        pd.display()
                    ),
                )
            });
        }
    }
    Ok(RegionSecrets {
        region,
        secrets,
        policies,
    })
}

/// Every `*.json` get-resource-policy export in `pd`, by the secret ARN it names.
fn resource_policies(
    root: &SnapshotRoot,
    pd: &Path,
) -> Result<BTreeMap<String, Availability<Option<serde_json::Value>>>, Error> {
    let mut policies = BTreeMap::new();
    for (_, f) in root.listing(pd)?.iter() {
        if f.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let r: ResourcePolicyResponse = read_json(
            root,
            f,
            "aws secretsmanager get-resource-policy --secret-id <arn>",
        )?;
        let policy = match r.resource_policy {
            None => Availability::Known(None),
            Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => Availability::Known(Some(v)),
                Err(e) => {
                    return Err(Error::input(
                        f,
                        format!("ResourcePolicy is not JSON ({e})"),
                        "export it again with `aws secretsmanager get-resource-policy`",
                    ))
                }
            },
        };
        policies.insert(r.arn, policy);
    }
    Ok(policies)
}

fn credential_report(
    root: &SnapshotRoot,
    dir: &Path,
) -> Result<Availability<CredentialReport>, Error> {
    let json = dir.join("credential-report.json");
    let csv_path = dir.join("credential-report.csv");
    let hint = "export it again with `aws iam generate-credential-report` then `aws iam get-credential-report`";
    if root.file(&json)?.is_some() {
        let r: CredentialReportJson = read_json(root, &json, "aws iam get-credential-report")?;
        let content = base64::engine::general_purpose::STANDARD
            .decode(r.content.trim())
            .map_err(|_| Error::input(&json, "Content is not base64", hint))?;
        let report =
            CredentialReport::parse_csv(&content, r.generated_time.map(|t| t.0)).map_err(|e| {
                Error::input(
                    &json,
                    format!("the credential report in Content is malformed: {e}"),
                    hint,
                )
            })?;
        Ok(Availability::Known(report))
    } else if let Some(real) = root.file(&csv_path)? {
        let bytes = crate::providers::read_export(&real, crate::providers::MAX_EXPORT_BYTES)
            .map_err(|e| match e {
                Error::Input { what, hint, .. } => Error::input(&csv_path, what, hint),
                other => other,
            })?;
        let report = CredentialReport::parse_csv(&bytes, None).map_err(|e| {
            Error::input(&csv_path, format!("malformed credential report: {e}"), hint)
        })?;
        Ok(Availability::Known(report))
    } else {
        Ok(missing(
            "iam:GetCredentialReport",
            "credential-report.json",
            "aws iam get-credential-report",
        ))
    }
}
