//! Reads an AWS snapshot: the JSON an AWS user already gets from the aws CLI, laid out
//! in a folder (see `docs/snapshots.md` for the exact commands).
//!
//! ```text
//! DIR/aws/<label>/                      one folder per account (or DIR is that folder)
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::sources::*;
use crate::error::Error;

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
    if dir.join(AUTH_FILE).is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let aws = dir.join("aws");
    let mut out = Vec::new();
    if aws.is_dir() {
        for entry in read_dir_sorted(&aws)? {
            if entry.is_dir() {
                if !entry.join(AUTH_FILE).is_file() {
                    return Err(Error::input(
                        &entry,
                        format!("this account folder has no {AUTH_FILE}"),
                        format!("export it with `aws iam get-account-authorization-details > {AUTH_FILE}`; {SNAPSHOT_HINT}"),
                    ));
                }
                out.push(entry);
            }
        }
    }
    Ok(out)
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let rd = std::fs::read_dir(dir).map_err(|e| {
        Error::input(
            dir,
            format!("cannot read the folder: {e}"),
            "check the path and its permissions",
        )
    })?;
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    Ok(v)
}

use crate::providers::read_export_json as read_json;

/// Reads an optional file: `Ok(None)` when absent.
fn optional_json<T: DeserializeOwned>(path: &Path, command: &str) -> Result<Option<T>, Error> {
    if path.is_file() {
        read_json(path, command).map(Some)
    } else {
        Ok(None)
    }
}

fn missing<T>(source: &str, file: &str, command: &str) -> Availability<T> {
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

/// Reads one account folder.
pub fn load_account(dir: &Path) -> Result<(AccountSources, Vec<String>), Error> {
    let authorization: AuthorizationDetails = read_json(
        &dir.join(AUTH_FILE),
        "aws iam get-account-authorization-details",
    )?;
    let caller: Option<CallerIdentity> = optional_json(
        &dir.join("caller-identity.json"),
        "aws sts get-caller-identity",
    )?;

    let credential_report = credential_report(dir)?;

    let account_id = caller
        .as_ref()
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
        })?;

    let account_summary = match optional_json::<AccountSummaryJson>(
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

    let mut users = BTreeMap::new();
    let users_dir = dir.join("users");
    for u in &authorization.user_detail_list {
        let ud = users_dir.join(&u.user_name);
        if !ud.is_dir() {
            continue;
        }
        let name = &u.user_name;
        let lists = UserLists {
            access_keys: optional_json::<AccessKeyList>(
                &ud.join("access-keys.json"),
                &format!("aws iam list-access-keys --user-name {name}"),
            )?
            .map(|l| Availability::Known(l.keys)),
            ssh_public_keys: optional_json::<SshPublicKeyList>(
                &ud.join("ssh-public-keys.json"),
                &format!("aws iam list-ssh-public-keys --user-name {name}"),
            )?
            .map(|l| Availability::Known(l.keys)),
            signing_certificates: optional_json::<SigningCertificateList>(
                &ud.join("signing-certificates.json"),
                &format!("aws iam list-signing-certificates --user-name {name}"),
            )?
            .map(|l| Availability::Known(l.certificates)),
            mfa_devices: optional_json::<MfaDeviceList>(
                &ud.join("mfa-devices.json"),
                &format!("aws iam list-mfa-devices --user-name {name}"),
            )?
            .map(|l| Availability::Known(l.devices)),
            login_profile: None,
        };
        users.insert(name.clone(), lists);
    }

    let mut regions = Vec::new();
    let secrets_dir = dir.join("secrets");
    if secrets_dir.is_dir() {
        for rd in read_dir_sorted(&secrets_dir)? {
            if !rd.is_dir() {
                continue;
            }
            let region = rd
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let cmd = format!(
                "aws secretsmanager list-secrets --include-planned-deletion --region {region}"
            );
            let secrets = match optional_json::<SecretList>(&rd.join("list-secrets.json"), &cmd)? {
                Some(l) => Availability::Known(l.secrets),
                None => missing("secretsmanager:ListSecrets", "list-secrets.json", &cmd),
            };
            let mut policies = BTreeMap::new();
            let pd = rd.join("resource-policies");
            if pd.is_dir() {
                for f in read_dir_sorted(&pd)? {
                    if f.extension().and_then(|e| e.to_str()) != Some("json") {
                        continue;
                    }
                    let r: ResourcePolicyResponse = read_json(
                        &f,
                        "aws secretsmanager get-resource-policy --secret-id <arn>",
                    )?;
                    let policy =
                        match r.resource_policy {
                            None => Availability::Known(None),
                            Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                                Ok(v) => Availability::Known(Some(v)),
                                Err(e) => return Err(Error::input(
                                    &f,
                                    format!("ResourcePolicy is not JSON ({e})"),
                                    "export it again with `aws secretsmanager get-resource-policy`",
                                )),
                            },
                        };
                    policies.insert(r.arn, policy);
                }
            }
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
            regions.push(RegionSecrets {
                region,
                secrets,
                policies,
            });
        }
    }
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
        },
        region_names,
    ))
}

fn credential_report(dir: &Path) -> Result<Availability<CredentialReport>, Error> {
    let json = dir.join("credential-report.json");
    let csv_path = dir.join("credential-report.csv");
    let hint = "export it again with `aws iam generate-credential-report` then `aws iam get-credential-report`";
    if json.is_file() {
        let r: CredentialReportJson = read_json(&json, "aws iam get-credential-report")?;
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
    } else if csv_path.is_file() {
        let bytes = std::fs::read(&csv_path).map_err(|e| {
            Error::input(
                &csv_path,
                format!("cannot read: {e}"),
                "check the file's permissions",
            )
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
