//! The raw AWS sources an audit reads, in the shape the aws CLI prints them.
//!
//! Both roads into an inventory end here: the live collector converts SDK responses
//! into these types, and the snapshot reader deserializes the aws CLI's JSON exports
//! into them. One assembler then builds the inventory from them, which is what makes a
//! live audit and a snapshot audit of the same account equal.
//!
//! Field names follow the aws CLI's JSON output (PascalCase). Unknown fields are
//! ignored on purpose: a customer's export may carry more than we read (and some, like
//! a virtual MFA seed, must never be copied anywhere).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer};

pub use crate::providers::Availability;

/// Everything read from one AWS account.
#[derive(Debug, Clone)]
pub struct AccountSources {
    pub account_id: String,
    /// The identity that ran the audit (live mode).
    pub caller_arn: Option<String>,
    pub credential_report: Availability<CredentialReport>,
    pub authorization: AuthorizationDetails,
    pub account_summary: Availability<BTreeMap<String, i64>>,
    pub virtual_mfa: Availability<Vec<VirtualMfaDevice>>,
    /// Service-specific credentials of all users (`ListServiceSpecificCredentials --all-users`).
    pub service_specific: Availability<Vec<ServiceSpecificCredential>>,
    /// Per-user lists, keyed by user name. A missing entry means "not read".
    pub users: BTreeMap<String, UserLists>,
    pub regions: Vec<RegionSecrets>,
    /// IAM Identity Center, as read in this account (`sso`).
    pub identity_center: super::sso::IdentityCenterSources,
}

/// What only per-user calls tell. `None`: not read, because the credential report
/// showed there was nothing to read (or, in a snapshot, because it was not exported).
#[derive(Debug, Clone, Default)]
pub struct UserLists {
    pub access_keys: Option<Availability<Vec<AccessKeyMetadata>>>,
    pub ssh_public_keys: Option<Availability<Vec<SshPublicKey>>>,
    pub signing_certificates: Option<Availability<Vec<SigningCertificate>>>,
    pub mfa_devices: Option<Availability<Vec<MfaDevice>>>,
    /// Read only in fresh mode (GetLoginProfile): `Known(Some(created))` when the user
    /// has a console password, `Known(None)` when not. Overrides the credential report.
    pub login_profile: Option<Availability<Option<Timestamp>>>,
}

/// The secrets of one region, and each one's resource policy by ARN.
#[derive(Debug, Clone)]
pub struct RegionSecrets {
    pub region: String,
    pub secrets: Availability<Vec<SecretListEntry>>,
    /// `Known(None)`: the secret has no resource policy.
    pub policies: BTreeMap<String, Availability<Option<serde_json::Value>>>,
}

/// The credential report, parsed.
#[derive(Debug, Clone)]
pub struct CredentialReport {
    pub generated_at: Option<DateTime<Utc>>,
    pub rows: Vec<CredentialReportRow>,
}

/// One row of the credential report, as AWS writes it (strings like `N/A`,
/// `no_information`, `not_supported` kept as they are; the assembler interprets them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CredentialReportRow {
    pub user: String,
    pub arn: String,
    pub user_creation_time: String,
    pub password_enabled: String,
    pub password_last_used: String,
    pub password_last_changed: String,
    #[serde(default)]
    pub password_next_rotation: String,
    pub mfa_active: String,
    pub access_key_1_active: String,
    pub access_key_1_last_rotated: String,
    pub access_key_1_last_used_date: String,
    #[serde(default)]
    pub access_key_1_last_used_region: String,
    #[serde(default)]
    pub access_key_1_last_used_service: String,
    pub access_key_2_active: String,
    pub access_key_2_last_rotated: String,
    pub access_key_2_last_used_date: String,
    #[serde(default)]
    pub access_key_2_last_used_region: String,
    #[serde(default)]
    pub access_key_2_last_used_service: String,
    pub cert_1_active: String,
    #[serde(default)]
    pub cert_1_last_rotated: String,
    pub cert_2_active: String,
    #[serde(default)]
    pub cert_2_last_rotated: String,
}

/// The columns a credential report must have for us to read it.
pub const CREDENTIAL_REPORT_REQUIRED_COLUMNS: &[&str] = &[
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "cert_1_active",
    "cert_2_active",
];

impl CredentialReport {
    /// Parses the CSV AWS returns. Errors name the line and what is wrong with it.
    pub fn parse_csv(csv_text: &[u8], generated_at: Option<DateTime<Utc>>) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(csv_text);
        let headers = reader
            .headers()
            .map_err(|e| format!("cannot read the header line: {e}"))?
            .clone();
        let missing: Vec<&str> = CREDENTIAL_REPORT_REQUIRED_COLUMNS
            .iter()
            .copied()
            .filter(|c| !headers.iter().any(|h| h == *c))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the header line lacks the column(s) {}; is this an IAM credential report?",
                missing.join(", ")
            ));
        }
        let mut rows = Vec::new();
        for (i, row) in reader.deserialize::<CredentialReportRow>().enumerate() {
            // Line 1 is the header; a CSV error message would quote the row, which we
            // avoid repeating in full.
            let row = row.map_err(|e| format!("line {}: {}", i + 2, csv_error_kind(&e)))?;
            rows.push(row);
        }
        Ok(CredentialReport { generated_at, rows })
    }

    pub fn root_row(&self) -> Option<&CredentialReportRow> {
        self.rows.iter().find(|r| r.user == "<root_account>")
    }

    pub fn row_for(&self, user_name: &str) -> Option<&CredentialReportRow> {
        self.rows.iter().find(|r| r.user == user_name)
    }
}

fn csv_error_kind(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields, found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
        csv::ErrorKind::Deserialize { err, .. } => format!("a field is malformed ({})", err.kind()),
        _ => "malformed CSV".to_string(),
    }
}

// ---------------------------------------------------------------------------------
// The credential report's values, typed once.
//
// AWS documents every column's values ("Getting credential reports for your AWS
// account", IAM User Guide, docs.aws.amazon.com/IAM/latest/UserGuide/
// id_credentials_getting-report.html): flags are `TRUE`/`FALSE` (AWS writes them in
// lower case; case is ignored), `password_enabled` is `not_supported` for the root user,
// times are ISO 8601, and a time column with no time says `N/A` (no such credential, or
// never used), `no_information` (no record, e.g. a password last used before October
// 2014) or `not_supported` (the root user's password dates; moto also writes it for a
// user without a password and for the last-used region and service). Those three
// markers are accepted in every time and name column and never stand for a value.
// Anything else, an empty required column included, is `NotUnderstood`: the assembler
// turns it into a coverage gap naming the user and the column, never a guess.
// ---------------------------------------------------------------------------------

/// A credential report value that is none of the values AWS documents for its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUnderstood {
    pub column: &'static str,
    /// The value, quoted and escaped, at most 24 characters of it (a report is not
    /// secret, but a hostile one must not flood or drive a terminal).
    pub shown: String,
}

impl NotUnderstood {
    fn new(column: &'static str, raw: &str) -> Self {
        let n = raw.chars().count();
        let shown = if n == 0 {
            "an empty value".to_string()
        } else if n <= 24 {
            format!(
                "\"{}\"",
                raw.chars().flat_map(char::escape_debug).collect::<String>()
            )
        } else {
            format!("a {n}-character value")
        };
        NotUnderstood { column, shown }
    }
}

pub type Parsed<T> = Result<T, NotUnderstood>;

/// A `TRUE`/`FALSE` column (`not_supported` only where documented).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFlag {
    True,
    False,
    /// `password_enabled` of the root user.
    NotSupported,
}

/// A time column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportTime {
    At(DateTime<Utc>),
    /// `N/A`: no such credential, or never used.
    NotApplicable,
    /// `no_information`: AWS has no record.
    NoInformation,
    /// `not_supported`.
    NotSupported,
}

impl ReportTime {
    pub fn at(self) -> Option<DateTime<Utc>> {
        match self {
            ReportTime::At(t) => Some(t),
            _ => None,
        }
    }
}

/// One access key slot's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportKeySlot {
    pub index: usize,
    pub active: Parsed<ReportFlag>,
    pub last_rotated: Parsed<ReportTime>,
    pub last_used_date: Parsed<ReportTime>,
    /// `None`: `N/A` (or the column is absent).
    pub last_used_region: Parsed<Option<String>>,
    pub last_used_service: Parsed<Option<String>>,
}

/// One signing certificate slot's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCertSlot {
    pub index: usize,
    pub active: Parsed<ReportFlag>,
    /// `Ok(None)` when the column is absent (older reports, moto).
    pub last_rotated: Parsed<Option<ReportTime>>,
}

/// A credential report row with every column read against its documented values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub user: String,
    pub arn: String,
    pub is_root: bool,
    pub user_creation_time: Parsed<ReportTime>,
    pub password_enabled: Parsed<ReportFlag>,
    pub password_last_used: Parsed<ReportTime>,
    pub password_last_changed: Parsed<ReportTime>,
    pub password_next_rotation: Parsed<Option<ReportTime>>,
    pub mfa_active: Parsed<ReportFlag>,
    pub access_keys: [ReportKeySlot; 2],
    pub certificates: [ReportCertSlot; 2],
}

fn report_flag(column: &'static str, raw: &str, not_supported_ok: bool) -> Parsed<ReportFlag> {
    let v = raw.trim();
    if v.eq_ignore_ascii_case("true") {
        Ok(ReportFlag::True)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(ReportFlag::False)
    } else if not_supported_ok && v == "not_supported" {
        Ok(ReportFlag::NotSupported)
    } else {
        Err(NotUnderstood::new(column, raw))
    }
}

fn report_time(column: &'static str, raw: &str) -> Parsed<ReportTime> {
    match raw.trim() {
        "N/A" => Ok(ReportTime::NotApplicable),
        "no_information" => Ok(ReportTime::NoInformation),
        "not_supported" => Ok(ReportTime::NotSupported),
        v => parse_time_text(v)
            .map(ReportTime::At)
            .ok_or_else(|| NotUnderstood::new(column, raw)),
    }
}

/// A column that older reports (and moto) leave out: empty means absent.
fn optional_time(column: &'static str, raw: &str) -> Parsed<Option<ReportTime>> {
    if raw.is_empty() {
        Ok(None)
    } else {
        report_time(column, raw).map(Some)
    }
}

/// A region or service namespace (`us-east-1`, `s3`): 1 to 64 of `[a-z0-9-]`.
fn report_name(column: &'static str, raw: &str) -> Parsed<Option<String>> {
    match raw.trim() {
        "" | "N/A" | "not_supported" | "no_information" => Ok(None),
        v if v.len() <= 64
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            Ok(Some(v.to_string()))
        }
        _ => Err(NotUnderstood::new(column, raw)),
    }
}

impl CredentialReportRow {
    /// Reads every column against its documented values.
    pub fn typed(&self) -> ReportRow {
        let is_root = self.user == "<root_account>";
        let r = self;
        ReportRow {
            user: r.user.clone(),
            arn: r.arn.clone(),
            is_root,
            user_creation_time: report_time("user_creation_time", &r.user_creation_time),
            password_enabled: report_flag("password_enabled", &r.password_enabled, is_root),
            password_last_used: report_time("password_last_used", &r.password_last_used),
            password_last_changed: report_time("password_last_changed", &r.password_last_changed),
            password_next_rotation: optional_time(
                "password_next_rotation",
                &r.password_next_rotation,
            ),
            mfa_active: report_flag("mfa_active", &r.mfa_active, false),
            access_keys: [
                ReportKeySlot {
                    index: 1,
                    active: report_flag("access_key_1_active", &r.access_key_1_active, false),
                    last_rotated: report_time(
                        "access_key_1_last_rotated",
                        &r.access_key_1_last_rotated,
                    ),
                    last_used_date: report_time(
                        "access_key_1_last_used_date",
                        &r.access_key_1_last_used_date,
                    ),
                    last_used_region: report_name(
                        "access_key_1_last_used_region",
                        &r.access_key_1_last_used_region,
                    ),
                    last_used_service: report_name(
                        "access_key_1_last_used_service",
                        &r.access_key_1_last_used_service,
                    ),
                },
                ReportKeySlot {
                    index: 2,
                    active: report_flag("access_key_2_active", &r.access_key_2_active, false),
                    last_rotated: report_time(
                        "access_key_2_last_rotated",
                        &r.access_key_2_last_rotated,
                    ),
                    last_used_date: report_time(
                        "access_key_2_last_used_date",
                        &r.access_key_2_last_used_date,
                    ),
                    last_used_region: report_name(
                        "access_key_2_last_used_region",
                        &r.access_key_2_last_used_region,
                    ),
                    last_used_service: report_name(
                        "access_key_2_last_used_service",
                        &r.access_key_2_last_used_service,
                    ),
                },
            ],
            certificates: [
                ReportCertSlot {
                    index: 1,
                    active: report_flag("cert_1_active", &r.cert_1_active, false),
                    last_rotated: optional_time("cert_1_last_rotated", &r.cert_1_last_rotated),
                },
                ReportCertSlot {
                    index: 2,
                    active: report_flag("cert_2_active", &r.cert_2_active, false),
                    last_rotated: optional_time("cert_2_last_rotated", &r.cert_2_last_rotated),
                },
            ],
        }
    }
}

impl ReportRow {
    /// Every column whose value was not understood, in column order.
    pub fn not_understood(&self) -> Vec<&NotUnderstood> {
        fn e<T>(p: &Parsed<T>) -> Option<&NotUnderstood> {
            p.as_ref().err()
        }
        let mut v = vec![
            e(&self.user_creation_time),
            e(&self.password_enabled),
            e(&self.password_last_used),
            e(&self.password_last_changed),
            e(&self.password_next_rotation),
            e(&self.mfa_active),
        ];
        for k in &self.access_keys {
            v.extend([
                e(&k.active),
                e(&k.last_rotated),
                e(&k.last_used_date),
                e(&k.last_used_region),
                e(&k.last_used_service),
            ]);
        }
        for c in &self.certificates {
            v.extend([e(&c.active), e(&c.last_rotated)]);
        }
        v.into_iter().flatten().collect()
    }
}

/// A timestamp as the aws CLI prints it: ISO 8601 text for query-protocol services
/// (IAM), epoch seconds for JSON-protocol ones (Secrets Manager).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        parse_timestamp_value(&v)
            .map(Timestamp)
            .map_err(serde::de::Error::custom)
    }
}

fn parse_timestamp_value(v: &serde_json::Value) -> Result<DateTime<Utc>, String> {
    match v {
        serde_json::Value::String(s) => {
            parse_time_text(s).ok_or_else(|| format!("not a timestamp: {s:?}"))
        }
        serde_json::Value::Number(n) => {
            let secs = n.as_f64().ok_or("not a timestamp number")?;
            let whole = secs.floor();
            let nanos = ((secs - whole) * 1e9).round() as u32;
            Utc.timestamp_opt(whole as i64, nanos.min(999_999_999))
                .single()
                .ok_or_else(|| format!("timestamp out of range: {secs}"))
        }
        other => Err(format!("not a timestamp: {other}")),
    }
}

/// Parses the date-times AWS writes (RFC 3339, with or without `T`, fractional seconds).
pub fn parse_time_text(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let with_t = s.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&with_t) {
        return Some(t.with_timezone(&Utc));
    }
    // Some tools drop the offset; AWS times are UTC.
    chrono::NaiveDateTime::parse_from_str(&with_t, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

pub fn tags_to_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// `iam get-account-authorization-details`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizationDetails {
    #[serde(default)]
    pub user_detail_list: Vec<UserDetail>,
    #[serde(default)]
    pub group_detail_list: Vec<GroupDetail>,
    #[serde(default)]
    pub role_detail_list: Vec<RoleDetail>,
    #[serde(default)]
    pub policies: Vec<ManagedPolicyDetail>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserDetail {
    pub path: Option<String>,
    pub user_name: String,
    pub user_id: Option<String>,
    pub arn: String,
    pub create_date: Option<Timestamp>,
    #[serde(default)]
    pub user_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    pub group_list: Vec<String>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    pub permissions_boundary: Option<PermissionsBoundary>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupDetail {
    pub path: Option<String>,
    pub group_name: String,
    pub arn: Option<String>,
    #[serde(default)]
    pub group_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleDetail {
    pub path: Option<String>,
    pub role_name: String,
    pub role_id: Option<String>,
    pub arn: String,
    pub create_date: Option<Timestamp>,
    /// URL-encoded JSON from the API, a JSON object from the aws CLI.
    pub assume_role_policy_document: Option<serde_json::Value>,
    #[serde(default)]
    pub role_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    pub permissions_boundary: Option<PermissionsBoundary>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub role_last_used: Option<RoleLastUsed>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleLastUsed {
    pub last_used_date: Option<Timestamp>,
    pub region: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    pub policy_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionsBoundary {
    pub permissions_boundary_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicyDetail {
    /// moto leaves this out of its `Policies` list (AWS always sends it); the ARN still names it.
    #[serde(default)]
    pub policy_name: String,
    pub arn: String,
    pub default_version_id: Option<String>,
    #[serde(default)]
    pub policy_version_list: Vec<PolicyVersion>,
}

impl ManagedPolicyDetail {
    /// The document of the default version.
    pub fn default_document(&self) -> Option<&serde_json::Value> {
        self.policy_version_list
            .iter()
            .find(|v| {
                v.is_default_version
                    || v.version_id.is_some() && v.version_id == self.default_version_id
            })
            .and_then(|v| v.document.as_ref())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersion {
    pub document: Option<serde_json::Value>,
    pub version_id: Option<String>,
    #[serde(default)]
    pub is_default_version: bool,
}

/// `iam list-virtual-mfa-devices`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VirtualMfaDeviceList {
    #[serde(rename = "VirtualMFADevices", default)]
    pub devices: Vec<VirtualMfaDevice>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VirtualMfaDevice {
    pub serial_number: String,
    pub user: Option<MfaUser>,
    pub enable_date: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MfaUser {
    pub user_name: Option<String>,
    pub arn: Option<String>,
}

/// `iam list-mfa-devices --user-name U`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MfaDeviceList {
    #[serde(rename = "MFADevices", default)]
    pub devices: Vec<MfaDevice>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MfaDevice {
    pub user_name: Option<String>,
    pub serial_number: String,
    pub enable_date: Option<Timestamp>,
}

/// `iam list-access-keys --user-name U`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccessKeyList {
    #[serde(rename = "AccessKeyMetadata", default)]
    pub keys: Vec<AccessKeyMetadata>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyMetadata {
    pub user_name: Option<String>,
    pub access_key_id: String,
    pub status: Option<String>,
    pub create_date: Option<Timestamp>,
}

/// `iam list-ssh-public-keys --user-name U`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SshPublicKeyList {
    #[serde(rename = "SSHPublicKeys", default)]
    pub keys: Vec<SshPublicKey>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SshPublicKey {
    #[serde(rename = "UserName")]
    pub user_name: Option<String>,
    #[serde(rename = "SSHPublicKeyId")]
    pub ssh_public_key_id: String,
    #[serde(rename = "Status")]
    pub status: Option<String>,
    #[serde(rename = "UploadDate")]
    pub upload_date: Option<Timestamp>,
}

/// `iam list-signing-certificates --user-name U`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SigningCertificateList {
    #[serde(rename = "Certificates", default)]
    pub certificates: Vec<SigningCertificate>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SigningCertificate {
    pub user_name: Option<String>,
    pub certificate_id: String,
    pub status: Option<String>,
    pub upload_date: Option<Timestamp>,
}

/// `iam list-service-specific-credentials --all-users`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceSpecificCredentialList {
    #[serde(rename = "ServiceSpecificCredentials", default)]
    pub credentials: Vec<ServiceSpecificCredential>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceSpecificCredential {
    pub user_name: String,
    pub status: Option<String>,
    pub service_user_name: Option<String>,
    pub create_date: Option<Timestamp>,
    pub service_specific_credential_id: String,
    pub service_name: String,
}

/// `secretsmanager list-secrets`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretList {
    #[serde(rename = "SecretList", default)]
    pub secrets: Vec<SecretListEntry>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretListEntry {
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "KmsKeyId")]
    pub kms_key_id: Option<String>,
    #[serde(rename = "RotationEnabled", default)]
    pub rotation_enabled: bool,
    #[serde(rename = "RotationLambdaARN")]
    pub rotation_lambda_arn: Option<String>,
    #[serde(rename = "RotationRules")]
    pub rotation_rules: Option<RotationRules>,
    #[serde(rename = "LastRotatedDate")]
    pub last_rotated_date: Option<Timestamp>,
    #[serde(rename = "LastChangedDate")]
    pub last_changed_date: Option<Timestamp>,
    #[serde(rename = "LastAccessedDate")]
    pub last_accessed_date: Option<Timestamp>,
    #[serde(rename = "DeletedDate")]
    pub deleted_date: Option<Timestamp>,
    #[serde(rename = "NextRotationDate")]
    pub next_rotation_date: Option<Timestamp>,
    #[serde(rename = "Tags", default)]
    pub tags: Vec<Tag>,
    #[serde(rename = "SecretVersionsToStages", default)]
    pub versions_to_stages: BTreeMap<String, Vec<String>>,
    #[serde(rename = "OwningService")]
    pub owning_service: Option<String>,
    #[serde(rename = "CreatedDate")]
    pub created_date: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationRules {
    pub automatically_after_days: Option<i64>,
    pub schedule_expression: Option<String>,
}

/// `secretsmanager get-resource-policy --secret-id ARN`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourcePolicyResponse {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: Option<String>,
    pub resource_policy: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_both_cli_forms() {
        let a: Timestamp = serde_json::from_str("\"2024-03-01T10:00:00+00:00\"").unwrap();
        let b: Timestamp = serde_json::from_str("\"2024-03-01T10:00:00Z\"").unwrap();
        let c: Timestamp = serde_json::from_str("1709287200.0").unwrap();
        let d: Timestamp = serde_json::from_str("\"2024-03-01 10:00:00+00:00\"").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }

    #[test]
    fn credential_report_rejects_a_csv_that_is_not_one() {
        let err = CredentialReport::parse_csv(b"name,email\nx,y\n", None).unwrap_err();
        assert!(err.contains("lacks the column"), "{err}");
    }
}
