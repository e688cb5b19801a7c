//! The live AWS collector: reads an account through the official SDK with the standard
//! credential chain, and converts what it reads into `sources` types at once.
//!
//! Cost is API requests, so bulk sources come first (credential report,
//! GetAccountAuthorizationDetails, ListVirtualMFADevices, ListServiceSpecificCredentials
//! for all users, pages of 100 to 1,000) and per-user calls are made only for what no
//! bulk source has: access key ids when the report shows a key, SSH public keys always,
//! signing certificates and non-virtual MFA devices only when the report shows them.
//! Calls run with bounded concurrency under the SDK's adaptive retry (client-side rate
//! limiting on throttling). It never calls an API that returns a secret value.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_iam::types::{EntityType, ReportStateType};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use chrono::{TimeZone, Utc};
use futures::stream::{self, StreamExt};

use super::sources::*;
use crate::error::Error;
use crate::model::Provider;

/// How to reach the account.
#[derive(Debug, Clone, Default)]
pub struct LiveSettings {
    /// A named profile from the shared config files (else the default chain).
    pub profile: Option<String>,
    /// Regions whose secrets to read; empty means the chain's region.
    pub regions: Vec<String>,
    /// Most requests in flight at once.
    pub concurrency: usize,
    /// Retry attempts per request (adaptive retry on throttling).
    pub max_attempts: u32,
    /// Read every user's access keys, certificates, MFA devices and console password
    /// from the live APIs instead of trusting the credential report, which AWS reuses for
    /// up to four hours (`verify` needs what is true now). Costs requests per user.
    pub fresh: bool,
}

/// Observes progress (a terminal progress bar, or nothing).
pub trait Progress: Send + Sync {
    fn phase(&self, name: &str, total: u64);
    fn tick(&self);
}

/// A failed call, classified.
pub(crate) struct Failure {
    pub(crate) denied: bool,
    pub(crate) unreachable: bool,
    pub(crate) unavailable: bool,
    pub(crate) message: String,
}

pub(crate) fn classify<E>(err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = match err {
        SdkError::ServiceError(e) => e.err().code().map(str::to_string),
        _ => None,
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    let text = display_chain(err);
    // The full context (with the SDK's Debug of the response) goes to the debug log only.
    tracing::debug!(error = %DisplayErrorContext(err), "AWS call failed");
    let denied_codes = [
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
    ];
    // moto answers some errors with a body the SDK cannot parse: the status still tells.
    let denied = code.as_deref().is_some_and(|c| denied_codes.contains(&c))
        || matches!(status, Some(401 | 403));
    let credentials_missing =
        !matches!(err, SdkError::ServiceError(_)) && text.contains("credential");
    if credentials_missing {
        return Failure {
            denied: true,
            unreachable: false,
            unavailable: false,
            message: "no usable AWS credentials: the standard chain (environment, profile, SSO, web identity, \
                      container, instance metadata) found none"
                .to_string(),
        };
    }
    let unreachable = matches!(err, SdkError::TimeoutError(_))
        || matches!(err, SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout());
    let unavailable = matches!(status, Some(404 | 405 | 501))
        || code.as_deref().is_some_and(|c| {
            c == "NotImplemented" || c == "InvalidAction" || c == "UnknownOperationException"
        });
    let message = match (&code, status) {
        (Some(c), _) => format!("{c}: {}", service_message(err).unwrap_or_default()),
        (None, Some(s)) => format!("the service answered HTTP {s}"),
        (None, None) => text,
    };
    Failure {
        denied,
        unreachable,
        unavailable,
        message: message.trim_end_matches(": ").to_string(),
    }
}

/// The error and its sources, each by its Display (never Debug, which can dump a
/// response body), joined with `: `.
fn display_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !s.is_empty() && parts.last() != Some(&s) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

fn service_message<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<String> {
    match err {
        SdkError::ServiceError(e) => e.err().message().map(str::to_string),
        _ => None,
    }
}

/// Turns a failure of a call the audit cannot do without into an `Error`.
pub(crate) fn fatal(operation: &str, f: Failure) -> Error {
    if f.denied {
        Error::Access {
            provider: Provider::Aws,
            operation: operation.to_string(),
            what: f.message,
            hint: crate::providers::duty::Duty::Audit.aws_hint(),
        }
    } else if f.unreachable {
        Error::Api {
            provider: Provider::Aws,
            operation: operation.to_string(),
            what: format!("cannot reach the endpoint: {}", f.message),
            hint:
                "check the network, the region and AWS_ENDPOINT_URL (or the profile's endpoint_url)"
                    .into(),
        }
    } else {
        Error::Api {
            provider: Provider::Aws,
            operation: operation.to_string(),
            what: f.message,
            hint: "retry later; if it persists, run with -vv and report the operation that failed"
                .into(),
        }
    }
}

pub(crate) fn gap_reason(f: Failure) -> String {
    if f.denied {
        format!("access denied ({})", f.message)
    } else if f.unavailable {
        format!("the API is unavailable here ({})", f.message)
    } else {
        f.message
    }
}

fn ts(d: &aws_smithy_types::DateTime) -> Timestamp {
    Timestamp(
        Utc.timestamp_opt(d.secs(), d.subsec_nanos())
            .single()
            .unwrap_or_default(),
    )
}

fn ots(d: Option<&aws_smithy_types::DateTime>) -> Option<Timestamp> {
    d.map(ts)
}

fn doc(s: Option<&str>) -> Option<serde_json::Value> {
    s.map(|s| serde_json::Value::String(s.to_string()))
}

/// Loads the SDK config from the standard chain.
pub async fn load_config(settings: &LiveSettings) -> Result<SdkConfig, Error> {
    sdk_config(
        settings.profile.as_deref(),
        settings.regions.first().map(String::as_str),
        settings.max_attempts,
    )
    .await
}

/// The one place an AWS SDK config is built, for every command (audit, migrate,
/// verify): the standard chain, an optional profile and region, adaptive retries, and
/// timeouts, so a server that accepts a connection and never answers cannot hang a
/// command. A named profile the shared config files do not define is refused first
/// (`check_profile`): the chain would otherwise fall through it silently.
pub async fn sdk_config(
    profile: Option<&str>,
    region: Option<&str>,
    max_attempts: u32,
) -> Result<SdkConfig, Error> {
    if let Some(p) = profile {
        check_profile(p).await?;
    }
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(120))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::adaptive().with_max_attempts(max_attempts.max(1)));
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_string()));
    }
    Ok(loader.load().await)
}

/// Most profile names a "does not exist" hint lists.
const PROFILES_LISTED: usize = 20;

/// Refuses a profile that neither shared file defines (exit 2: the flag names nothing),
/// naming the profiles that exist. The files are read by the SDK's own parser, from
/// where the SDK reads them (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, else
/// `~/.aws/config` and `~/.aws/credentials`), so the answer is the SDK's. Only section
/// names are used: no value from the files reaches a message. Files that cannot be read
/// or parsed are left to the SDK, which reports them as it loads.
pub async fn check_profile(profile: &str) -> Result<(), Error> {
    let env = aws_types::os_shim_internal::Env::real();
    let fs = aws_types::os_shim_internal::Fs::real();
    let set = match aws_config::profile::load(&fs, &env, &Default::default(), None).await {
        Ok(set) => set,
        Err(_) => {
            tracing::debug!("the shared AWS config files cannot be read; the SDK reports it");
            return Ok(());
        }
    };
    if set.get_profile(profile).is_some() {
        return Ok(());
    }
    let mut names: Vec<&str> = set.profiles().collect();
    names.sort_unstable();
    Err(missing_profile(profile, &names))
}

/// The error for a profile that does not exist, given the names that do.
fn missing_profile(profile: &str, names: &[&str]) -> Error {
    let file = |var: &str, default: &str| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    let what = format!(
        "AWS profile \"{profile}\" does not exist in {} or {}",
        file("AWS_CONFIG_FILE", "~/.aws/config"),
        file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    );
    let hint = match names.len() {
        0 => format!(
            "no profile is defined there: create it with `aws configure --profile {profile}`, \
             or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at the files that define it"
        ),
        n if n > PROFILES_LISTED => format!(
            "name one that does: {} (and {} more)",
            names[..PROFILES_LISTED].join(", "),
            n - PROFILES_LISTED
        ),
        _ => format!("name one that does: {}", names.join(", ")),
    };
    Error::usage(what, hint)
}

/// The account the settings' credentials reach (sts:GetCallerIdentity).
pub async fn account_of(settings: &LiveSettings) -> Result<String, Error> {
    let config = load_config(settings).await?;
    let me = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| fatal("sts:GetCallerIdentity", classify(&e)))?;
    Ok(me.account().unwrap_or_default().to_string())
}

/// The account the config's credentials reach (sts:GetCallerIdentity).
pub async fn caller_account(config: &SdkConfig) -> Result<String, Error> {
    let me = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| fatal("sts:GetCallerIdentity", classify(&e)))?;
    Ok(me.account().unwrap_or_default().to_string())
}

/// Reads one account. Fails only when the account cannot be read at all (no
/// credentials, denied, unreachable); a source that is merely blind becomes `Unknown`.
pub async fn collect(
    config: &SdkConfig,
    regions: &[String],
    concurrency: usize,
    fresh: bool,
    progress: Arc<dyn Progress>,
) -> Result<AccountSources, Error> {
    let sts = aws_sdk_sts::Client::new(config);
    let me = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| fatal("sts:GetCallerIdentity", classify(&e)))?;
    let account_id = me.account().unwrap_or_default().to_string();
    tracing::info!(account = %account_id, "auditing AWS account");
    let iam = aws_sdk_iam::Client::new(config);

    progress.phase("credential report", 1);
    let credential_report = credential_report(&iam).await;
    progress.tick();

    progress.phase("authorization details", 1);
    let authorization = authorization_details(&iam).await?;
    progress.tick();

    let account_summary = match iam.get_account_summary().send().await {
        Ok(out) => Availability::Known(
            out.summary_map()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.as_str().to_string(), i64::from(*v)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Err(e) => Availability::unknown("iam:GetAccountSummary", gap_reason(classify(&e))),
    };
    let virtual_mfa = virtual_mfa_devices(&iam).await;
    let service_specific = service_specific_credentials(&iam).await;

    let users = per_user(
        &iam,
        &authorization,
        &credential_report,
        &virtual_mfa,
        concurrency,
        fresh,
        progress.as_ref(),
    )
    .await;

    let mut region_secrets = Vec::new();
    for region in regions {
        let conf = config
            .to_builder()
            .region(Region::new(region.clone()))
            .build();
        let sm = aws_sdk_secretsmanager::Client::new(&conf);
        region_secrets.push(secrets(&sm, region, concurrency, progress.as_ref()).await);
    }

    progress.phase("identity center", 1);
    let identity_center = super::sso_live::collect(config).await;
    progress.tick();

    Ok(AccountSources {
        identity_center,
        account_id,
        caller_arn: me.arn().map(str::to_string),
        credential_report,
        authorization,
        account_summary,
        virtual_mfa,
        service_specific,
        users,
        regions: region_secrets,
    })
}

async fn credential_report(iam: &aws_sdk_iam::Client) -> Availability<CredentialReport> {
    const SOURCE: &str = "iam:GetCredentialReport";
    // AWS builds the report asynchronously; poll until it is complete (about a minute
    // at most for large accounts), then fetch it.
    let mut delay = Duration::from_millis(200);
    for _ in 0..40 {
        match iam.generate_credential_report().send().await {
            Ok(out) if out.state() == Some(&ReportStateType::Complete) => break,
            Ok(_) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                return Availability::unknown(
                    "iam:GenerateCredentialReport",
                    gap_reason(classify(&e)),
                )
            }
        }
    }
    match iam.get_credential_report().send().await {
        Ok(out) => {
            let content = out
                .content()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default();
            match CredentialReport::parse_csv(&content, out.generated_time().map(|t| ts(t).0)) {
                Ok(r) => Availability::Known(r),
                Err(e) => {
                    Availability::unknown(SOURCE, format!("the report could not be read: {e}"))
                }
            }
        }
        Err(e) => Availability::unknown(SOURCE, gap_reason(classify(&e))),
    }
}

/// Every user, group, role and customer managed policy with its documents, page by page.
async fn authorization_details(iam: &aws_sdk_iam::Client) -> Result<AuthorizationDetails, Error> {
    let mut out = AuthorizationDetails::default();
    let mut marker: Option<String> = None;
    loop {
        let page = iam
            .get_account_authorization_details()
            .filter(EntityType::User)
            .filter(EntityType::Role)
            .filter(EntityType::Group)
            .filter(EntityType::LocalManagedPolicy)
            .max_items(1000)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| fatal("iam:GetAccountAuthorizationDetails", classify(&e)))?;
        out.user_detail_list
            .extend(page.user_detail_list().iter().map(user_detail));
        out.group_detail_list
            .extend(page.group_detail_list().iter().map(group_detail));
        out.role_detail_list
            .extend(page.role_detail_list().iter().map(role_detail));
        out.policies
            .extend(page.policies().iter().map(managed_policy));
        match (page.is_truncated(), page.marker()) {
            (true, Some(m)) => marker = Some(m.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

fn user_detail(u: &aws_sdk_iam::types::UserDetail) -> UserDetail {
    UserDetail {
        path: u.path().map(str::to_string),
        user_name: u.user_name().unwrap_or_default().to_string(),
        user_id: u.user_id().map(str::to_string),
        arn: u.arn().unwrap_or_default().to_string(),
        create_date: ots(u.create_date()),
        user_policy_list: u.user_policy_list().iter().map(inline).collect(),
        group_list: u.group_list().to_vec(),
        attached_managed_policies: u.attached_managed_policies().iter().map(attached).collect(),
        permissions_boundary: u.permissions_boundary().map(boundary),
        tags: tags(u.tags()),
    }
}

fn group_detail(g: &aws_sdk_iam::types::GroupDetail) -> GroupDetail {
    GroupDetail {
        path: g.path().map(str::to_string),
        group_name: g.group_name().unwrap_or_default().to_string(),
        arn: g.arn().map(str::to_string),
        group_policy_list: g.group_policy_list().iter().map(inline).collect(),
        attached_managed_policies: g.attached_managed_policies().iter().map(attached).collect(),
    }
}

fn role_detail(r: &aws_sdk_iam::types::RoleDetail) -> RoleDetail {
    RoleDetail {
        path: r.path().map(str::to_string),
        role_name: r.role_name().unwrap_or_default().to_string(),
        role_id: r.role_id().map(str::to_string),
        arn: r.arn().unwrap_or_default().to_string(),
        create_date: ots(r.create_date()),
        assume_role_policy_document: doc(r.assume_role_policy_document()),
        role_policy_list: r.role_policy_list().iter().map(inline).collect(),
        attached_managed_policies: r.attached_managed_policies().iter().map(attached).collect(),
        permissions_boundary: r.permissions_boundary().map(boundary),
        tags: tags(r.tags()),
        role_last_used: r.role_last_used().map(|l| RoleLastUsed {
            last_used_date: ots(l.last_used_date()),
            region: l.region().map(str::to_string),
        }),
    }
}

fn managed_policy(p: &aws_sdk_iam::types::ManagedPolicyDetail) -> ManagedPolicyDetail {
    ManagedPolicyDetail {
        policy_name: p.policy_name().unwrap_or_default().to_string(),
        arn: p.arn().unwrap_or_default().to_string(),
        default_version_id: p.default_version_id().map(str::to_string),
        policy_version_list: p
            .policy_version_list()
            .iter()
            .map(|v| PolicyVersion {
                document: doc(v.document()),
                version_id: v.version_id().map(str::to_string),
                is_default_version: v.is_default_version(),
            })
            .collect(),
    }
}

fn boundary(b: &aws_sdk_iam::types::AttachedPermissionsBoundary) -> PermissionsBoundary {
    PermissionsBoundary {
        permissions_boundary_arn: b.permissions_boundary_arn().map(str::to_string),
    }
}

fn tags(t: &[aws_sdk_iam::types::Tag]) -> Vec<Tag> {
    t.iter()
        .map(|t| Tag {
            key: t.key().to_string(),
            value: t.value().to_string(),
        })
        .collect()
}

fn inline(p: &aws_sdk_iam::types::PolicyDetail) -> InlinePolicy {
    InlinePolicy {
        policy_name: p.policy_name().unwrap_or_default().to_string(),
        policy_document: doc(p.policy_document()),
    }
}

fn attached(p: &aws_sdk_iam::types::AttachedPolicy) -> AttachedPolicy {
    AttachedPolicy {
        policy_name: p.policy_name().unwrap_or_default().to_string(),
        policy_arn: p.policy_arn().unwrap_or_default().to_string(),
    }
}

async fn virtual_mfa_devices(iam: &aws_sdk_iam::Client) -> Availability<Vec<VirtualMfaDevice>> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = match iam
            .list_virtual_mfa_devices()
            .max_items(1000)
            .set_marker(marker.clone())
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                return Availability::unknown("iam:ListVirtualMFADevices", gap_reason(classify(&e)))
            }
        };
        for d in page.virtual_mfa_devices() {
            // The seed and QR code never leave this function: only identifying fields
            // are copied.
            out.push(VirtualMfaDevice {
                serial_number: d.serial_number().to_string(),
                user: d.user().map(|u| MfaUser {
                    user_name: Some(u.user_name().to_string()),
                    arn: Some(u.arn().to_string()),
                }),
                enable_date: ots(d.enable_date()),
            });
        }
        match (page.is_truncated(), page.marker()) {
            (true, Some(m)) => marker = Some(m.to_string()),
            _ => break,
        }
    }
    Availability::Known(out)
}

async fn service_specific_credentials(
    iam: &aws_sdk_iam::Client,
) -> Availability<Vec<ServiceSpecificCredential>> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        // Optional, and missing from some partitions and emulators: a failure is a gap,
        // not worth the full retry budget.
        let page = match iam
            .list_service_specific_credentials()
            .all_users(true)
            .set_marker(marker.clone())
            .customize()
            .config_override(
                aws_sdk_iam::config::Builder::default()
                    .retry_config(RetryConfig::standard().with_max_attempts(2)),
            )
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                return Availability::unknown(
                    "iam:ListServiceSpecificCredentials",
                    gap_reason(classify(&e)),
                )
            }
        };
        for c in page.service_specific_credentials() {
            out.push(ServiceSpecificCredential {
                user_name: c.user_name().to_string(),
                status: Some(c.status().as_str().to_string()),
                service_user_name: Some(c.service_user_name().to_string()),
                create_date: Some(ts(c.create_date())),
                service_specific_credential_id: c.service_specific_credential_id().to_string(),
                service_name: c.service_name().to_string(),
            });
        }
        match (page.is_truncated(), page.marker()) {
            (true, Some(m)) => marker = Some(m.to_string()),
            _ => break,
        }
    }
    Availability::Known(out)
}

/// What the per-user pass must fetch for one user, decided from the credential report.
struct UserNeeds {
    name: String,
    access_keys: bool,
    certificates: bool,
    mfa_devices: bool,
    login_profile: bool,
}

fn needs(report: &Availability<CredentialReport>, user: &str, has_virtual_mfa: bool) -> UserNeeds {
    let row = report.known().and_then(|r| r.row_for(user));
    match row {
        // No row (report unavailable, or the user is newer than the report): read everything.
        None => UserNeeds {
            name: user.to_string(),
            access_keys: true,
            certificates: true,
            mfa_devices: true,
            login_profile: false,
        },
        // The typed row: a value the report does not document is read live rather
        // than taken to mean "none" (the same rule as the assembler's).
        Some(r) => {
            use super::sources::{Parsed, ReportFlag, ReportTime};
            let r = r.typed();
            let not_false = |f: &Parsed<ReportFlag>| !matches!(f, Ok(ReportFlag::False));
            UserNeeds {
                name: user.to_string(),
                access_keys: r.access_keys.iter().any(|k| {
                    not_false(&k.active) || !matches!(k.last_rotated, Ok(ReportTime::NotApplicable))
                }),
                certificates: r.certificates.iter().any(|c| {
                    not_false(&c.active)
                        || matches!(c.last_rotated, Ok(Some(ReportTime::At(_))) | Err(_))
                }),
                mfa_devices: not_false(&r.mfa_active) && !has_virtual_mfa,
                login_profile: false,
            }
        }
    }
}

async fn per_user(
    iam: &aws_sdk_iam::Client,
    auth: &AuthorizationDetails,
    report: &Availability<CredentialReport>,
    virtual_mfa: &Availability<Vec<VirtualMfaDevice>>,
    concurrency: usize,
    fresh: bool,
    progress: &dyn Progress,
) -> BTreeMap<String, UserLists> {
    progress.phase("users", auth.user_detail_list.len() as u64);
    // A user whose active MFA is a virtual device needs no ListMFADevices call.
    let with_virtual: std::collections::HashSet<&str> = virtual_mfa
        .known()
        .map(|d| {
            d.iter()
                .filter_map(|d| d.user.as_ref().and_then(|u| u.arn.as_deref()))
                .collect()
        })
        .unwrap_or_default();
    let plans: Vec<UserNeeds> = auth
        .user_detail_list
        .iter()
        .map(|u| {
            if fresh {
                UserNeeds {
                    name: u.user_name.clone(),
                    access_keys: true,
                    certificates: true,
                    mfa_devices: true,
                    login_profile: true,
                }
            } else {
                needs(report, &u.user_name, with_virtual.contains(u.arn.as_str()))
            }
        })
        .collect();
    stream::iter(plans)
        .map(|n| async move {
            let lists = user_lists(iam, &n).await;
            progress.tick();
            (n.name, lists)
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<BTreeMap<_, _>>()
        .await
}

/// The per-user lists the credential report left open, one request each, in a fixed
/// order; the SSH keys always (no bulk source has them).
async fn user_lists(iam: &aws_sdk_iam::Client, n: &UserNeeds) -> UserLists {
    let mut lists = UserLists::default();
    if n.login_profile {
        lists.login_profile = Some(login_profile(iam, &n.name).await);
    }
    if n.access_keys {
        lists.access_keys = Some(access_keys(iam, &n.name).await);
    }
    lists.ssh_public_keys = Some(ssh_public_keys(iam, &n.name).await);
    if n.certificates {
        lists.signing_certificates = Some(signing_certificates(iam, &n.name).await);
    }
    if n.mfa_devices {
        lists.mfa_devices = Some(mfa_devices(iam, &n.name).await);
    }
    lists
}

/// `Known(None)`: the user has no console password.
async fn login_profile(iam: &aws_sdk_iam::Client, user: &str) -> Availability<Option<Timestamp>> {
    match iam.get_login_profile().user_name(user).send().await {
        Ok(out) => Availability::Known(out.login_profile().map(|p| ts(p.create_date()))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Availability::Known(None)
        }
        Err(e) => Availability::unknown("iam:GetLoginProfile", gap_reason(classify(&e))),
    }
}

async fn access_keys(
    iam: &aws_sdk_iam::Client,
    user: &str,
) -> Availability<Vec<AccessKeyMetadata>> {
    match iam
        .list_access_keys()
        .user_name(user)
        .max_items(100)
        .send()
        .await
    {
        Ok(out) => Availability::Known(
            out.access_key_metadata()
                .iter()
                .map(|k| AccessKeyMetadata {
                    user_name: k.user_name().map(str::to_string),
                    access_key_id: k.access_key_id().unwrap_or_default().to_string(),
                    status: k.status().map(|s| s.as_str().to_string()),
                    create_date: ots(k.create_date()),
                })
                .collect(),
        ),
        Err(e) => Availability::unknown("iam:ListAccessKeys", gap_reason(classify(&e))),
    }
}

async fn ssh_public_keys(iam: &aws_sdk_iam::Client, user: &str) -> Availability<Vec<SshPublicKey>> {
    match iam
        .list_ssh_public_keys()
        .user_name(user)
        .max_items(100)
        .send()
        .await
    {
        Ok(out) => Availability::Known(
            out.ssh_public_keys()
                .iter()
                .map(|k| SshPublicKey {
                    user_name: Some(k.user_name().to_string()),
                    ssh_public_key_id: k.ssh_public_key_id().to_string(),
                    status: Some(k.status().as_str().to_string()),
                    upload_date: Some(ts(k.upload_date())),
                })
                .collect(),
        ),
        Err(e) => Availability::unknown("iam:ListSSHPublicKeys", gap_reason(classify(&e))),
    }
}

async fn signing_certificates(
    iam: &aws_sdk_iam::Client,
    user: &str,
) -> Availability<Vec<SigningCertificate>> {
    match iam
        .list_signing_certificates()
        .user_name(user)
        .max_items(100)
        .send()
        .await
    {
        Ok(out) => Availability::Known(
            out.certificates()
                .iter()
                .map(|c| SigningCertificate {
                    user_name: Some(c.user_name().to_string()),
                    certificate_id: c.certificate_id().to_string(),
                    status: Some(c.status().as_str().to_string()),
                    upload_date: ots(c.upload_date()),
                })
                .collect(),
        ),
        Err(e) => Availability::unknown("iam:ListSigningCertificates", gap_reason(classify(&e))),
    }
}

async fn mfa_devices(iam: &aws_sdk_iam::Client, user: &str) -> Availability<Vec<MfaDevice>> {
    match iam
        .list_mfa_devices()
        .user_name(user)
        .max_items(100)
        .send()
        .await
    {
        Ok(out) => Availability::Known(
            out.mfa_devices()
                .iter()
                .map(|d| MfaDevice {
                    user_name: Some(d.user_name().to_string()),
                    serial_number: d.serial_number().to_string(),
                    enable_date: Some(ts(d.enable_date())),
                })
                .collect(),
        ),
        Err(e) => Availability::unknown("iam:ListMFADevices", gap_reason(classify(&e))),
    }
}

async fn secrets(
    sm: &aws_sdk_secretsmanager::Client,
    region: &str,
    concurrency: usize,
    progress: &dyn Progress,
) -> RegionSecrets {
    let mut entries = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = match sm
            .list_secrets()
            .include_planned_deletion(true)
            .max_results(100)
            .set_next_token(token.clone())
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                return RegionSecrets {
                    region: region.to_string(),
                    secrets: Availability::unknown(
                        "secretsmanager:ListSecrets",
                        gap_reason(classify(&e)),
                    ),
                    policies: BTreeMap::new(),
                }
            }
        };
        for s in page.secret_list() {
            let rules = s.rotation_rules();
            entries.push(SecretListEntry {
                arn: s.arn().unwrap_or_default().to_string(),
                name: s.name().unwrap_or_default().to_string(),
                description: s.description().map(str::to_string),
                kms_key_id: s.kms_key_id().map(str::to_string),
                rotation_enabled: s.rotation_enabled().unwrap_or(false),
                rotation_lambda_arn: s.rotation_lambda_arn().map(str::to_string),
                rotation_rules: rules.map(|r| RotationRules {
                    automatically_after_days: r.automatically_after_days(),
                    schedule_expression: r.schedule_expression().map(str::to_string),
                }),
                last_rotated_date: ots(s.last_rotated_date()),
                last_changed_date: ots(s.last_changed_date()),
                last_accessed_date: ots(s.last_accessed_date()),
                deleted_date: ots(s.deleted_date()),
                next_rotation_date: ots(s.next_rotation_date()),
                tags: s
                    .tags()
                    .iter()
                    .map(|t| Tag {
                        key: t.key().unwrap_or_default().to_string(),
                        value: t.value().unwrap_or_default().to_string(),
                    })
                    .collect(),
                versions_to_stages: s
                    .secret_versions_to_stages()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                owning_service: s.owning_service().map(str::to_string),
                created_date: ots(s.created_date()),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    progress.phase(&format!("secrets {region}"), entries.len() as u64);
    let arns: Vec<String> = entries.iter().map(|s| s.arn.clone()).collect();
    let policies = stream::iter(arns)
        .map(|arn| async move {
            let policy = match sm.get_resource_policy().secret_id(&arn).send().await {
                Ok(out) => match out.resource_policy() {
                    Some(p) => match serde_json::from_str::<serde_json::Value>(p) {
                        Ok(v) => Availability::Known(Some(v)),
                        Err(e) => Availability::unknown(
                            "secretsmanager:GetResourcePolicy",
                            format!("the policy is not JSON ({e})"),
                        ),
                    },
                    None => Availability::Known(None),
                },
                Err(e) => Availability::unknown(
                    "secretsmanager:GetResourcePolicy",
                    gap_reason(classify(&e)),
                ),
            };
            progress.tick();
            (arn, policy)
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<BTreeMap<_, _>>()
        .await;
    RegionSecrets {
        region: region.to_string(),
        secrets: Availability::Known(entries),
        policies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn report(mfa: &str, key1: &str, cert1: &str) -> Availability<CredentialReport> {
        let row = format!(
            "u,arn:aws:iam::123456789012:user/u,2024-01-02T03:04:05+00:00,false,N/A,N/A,N/A,{mfa},{key1},N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,{cert1},N/A,false,N/A"
        );
        let csv = format!("{HEADER}\n{row}\n");
        Availability::Known(CredentialReport::parse_csv(csv.as_bytes(), None).unwrap())
    }

    // Regression (review of issue 10 item 6): the live audit compared raw report text
    // (`== "true"`), so `TRUE` or an undocumented value made it skip the per-user reads
    // that would have found the key, certificate or MFA device.
    #[test]
    fn report_values_not_plainly_false_are_read_live() {
        let none = needs(&report("false", "false", "false"), "u", false);
        assert!(!none.access_keys && !none.certificates && !none.mfa_devices);
        for v in ["TRUE", "True", "yes", ""] {
            let n = needs(&report(v, v, v), "u", false);
            assert!(n.access_keys && n.certificates && n.mfa_devices, "{v:?}");
        }
        // A virtual MFA device is already known from the bulk list.
        assert!(!needs(&report("true", "false", "false"), "u", true).mfa_devices);
    }
}
