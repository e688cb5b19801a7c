//! Builds the provider-agnostic inventory of one AWS account from its raw sources.
//!
//! This is the one place that interprets AWS's sources (the credential report's
//! `N/A` and `no_information`, which list names which key), so a live audit and a
//! snapshot audit of the same account give the same inventory. Every place a source is
//! blind becomes a `Gap` or an `unknown`, never a guess.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::policy_doc::{self, Statement, ADMIN_MANAGED_POLICIES};
use super::sources::*;
use crate::model::*;

/// Keys not used (or, if never used, created) for longer than this are stale.
pub const STALE_DAYS: i64 = 90;

const AWS: Provider = Provider::Aws;

/// Builds the inventory of one account. `now` is when the audit ran: ages are counted to it.
pub fn assemble(
    src: &AccountSources,
    mode: SourceMode,
    regions: &[String],
    now: DateTime<Utc>,
) -> Inventory {
    let mut a = Assembler {
        src,
        now,
        inv: Inventory::new(now),
        acct: src.account_id.clone(),
        managed: ManagedDocs::new(),
        groups: HashMap::new(),
    };
    a.inv.sources.push(Source {
        provider: AWS,
        scope: a.acct.clone(),
        mode,
        regions: {
            let mut r = regions.to_vec();
            r.sort();
            r.dedup();
            r
        },
        identity: src.caller_arn.clone(),
        credential_report_generated_at: src.credential_report.known().and_then(|r| r.generated_at),
        notes: Vec::new(),
    });
    a.source_gaps();
    a.managed = a.managed_documents();
    a.groups = a.groups();
    for user in &src.authorization.user_detail_list {
        a.user(user);
    }
    a.root();
    for role in &src.authorization.role_detail_list {
        a.role(role);
    }
    for region in &src.regions {
        a.secrets(region);
    }
    let lookup = |arn: &str| a.managed.get(arn).cloned();
    super::sso::assemble(&src.identity_center, &a.acct, &lookup, &mut a.inv);
    a.inv.normalize();
    a.inv
}

struct Assembler<'a> {
    src: &'a AccountSources,
    now: DateTime<Utc>,
    inv: Inventory,
    acct: String,
    /// Every customer managed policy's default document, read once.
    managed: ManagedDocs,
    /// Every group's policies and admin evidence, by group name.
    groups: HashMap<String, GroupInfo>,
}

/// One IAM user while its credentials are assembled: what every credential-kind
/// section reads (its credential report row, its per-user lists) and adds to.
struct UserCtx<'u> {
    detail: &'u UserDetail,
    arn: String,
    acct: String,
    row: Option<ReportRow>,
    lists: UserLists,
    creds: Vec<Credential>,
    /// What a finding calls each access key (its id, or its credential report slot),
    /// by credential id: kept when the key is added, never read back from the id.
    key_labels: HashMap<String, String>,
}

impl UserCtx<'_> {
    fn credential(&self, suffix: &str, kind: CredentialKind) -> Credential {
        base_credential(&self.arn, &self.acct, suffix, kind)
    }
}

/// A credential `{principal}/{suffix}` with no identifier and no detail. The caller
/// sets its status, creation date and last use.
fn base_credential(principal: &str, acct: &str, suffix: &str, kind: CredentialKind) -> Credential {
    Credential {
        id: format!("{principal}/{suffix}"),
        principal: principal.to_string(),
        provider: AWS,
        scope: acct.to_string(),
        kind,
        identifier: None,
        status: Status::Unknown,
        created: None,
        last_used: LastUsed::Never,
        detail: CredentialDetail::None,
    }
}

/// Admin evidence gathered across a principal's policies.
#[derive(Default, Clone)]
struct AdminEvidence {
    yes: Vec<String>,
    unknown: Vec<String>,
}

impl AdminEvidence {
    fn rights(self) -> AdminRights {
        if !self.yes.is_empty() {
            AdminRights {
                equivalent: Some(true),
                via: self.yes,
            }
        } else if !self.unknown.is_empty() {
            AdminRights {
                equivalent: None,
                via: self.unknown,
            }
        } else {
            AdminRights {
                equivalent: Some(false),
                via: Vec::new(),
            }
        }
    }
}

struct GroupInfo {
    policies: Vec<PolicyRef>,
    admin: AdminEvidence,
    /// The statements of its inline and customer managed policies, parsed (for what
    /// its Deny statements prove about when its members' access ends).
    statements: Vec<Statement>,
}

/// `None` in the map: the policy is in the export but its document could not be read.
type ManagedDocs = HashMap<String, Option<Vec<Statement>>>;

fn status_of(s: Option<&str>) -> Status {
    match s.map(|s| s.to_ascii_lowercase()) {
        Some(s) if s == "active" || s == "true" => Status::Active,
        Some(s) if s == "inactive" || s == "false" || s == "expired" => Status::Inactive,
        _ => Status::Unknown,
    }
}

/// One access key slot of a credential report row.
struct KeySlot {
    index: usize,
    status: Status,
    rotated: Option<DateTime<Utc>>,
    last_used: LastUsed,
}

/// What a flag column says about a credential's status.
fn flag_status(f: &Parsed<ReportFlag>) -> Status {
    match f {
        Ok(ReportFlag::True) => Status::Active,
        Ok(ReportFlag::False) => Status::Inactive,
        Ok(ReportFlag::NotSupported) | Err(_) => Status::Unknown,
    }
}

const NOT_UNDERSTOOD: &str =
    "the credential report's value was not understood (see the coverage gaps)";

/// What a last-used column says.
fn report_last_used(
    t: &Parsed<ReportTime>,
    region: &Parsed<Option<String>>,
    service: &Parsed<Option<String>>,
) -> LastUsed {
    match t {
        Ok(ReportTime::At(at)) => LastUsed::Used {
            at: *at,
            service: service.clone().ok().flatten(),
            region: region.clone().ok().flatten(),
        },
        Ok(ReportTime::NotApplicable) => LastUsed::Never,
        Ok(ReportTime::NoInformation) => {
            LastUsed::unknown("the credential report says \"no_information\"")
        }
        Ok(ReportTime::NotSupported) => {
            LastUsed::unknown("the credential report says \"not_supported\"")
        }
        Err(_) => LastUsed::unknown(NOT_UNDERSTOOD),
    }
}

/// The access key slots a row shows: a slot exists when it has a rotation date, or when
/// either column does not say plainly that there is no key.
fn key_slots(row: &ReportRow) -> Vec<KeySlot> {
    row.access_keys
        .iter()
        .filter(|k| {
            let no_key_by_date = matches!(
                k.last_rotated,
                Ok(ReportTime::NotApplicable
                    | ReportTime::NoInformation
                    | ReportTime::NotSupported)
            );
            !(no_key_by_date && k.active == Ok(ReportFlag::False))
        })
        .map(|k| KeySlot {
            index: k.index,
            status: flag_status(&k.active),
            rotated: k.last_rotated.as_ref().ok().and_then(|t| t.at()),
            last_used: report_last_used(
                &k.last_used_date,
                &k.last_used_region,
                &k.last_used_service,
            ),
        })
        .collect()
}

fn cert_slots(row: &ReportRow) -> Vec<(usize, Status, Option<DateTime<Utc>>)> {
    row.certificates
        .iter()
        .filter(|c| {
            // A slot exists when it has a date; reports that omit the date column (and
            // moto's) still say `true` for an active certificate.
            let dated = matches!(c.last_rotated, Ok(Some(ReportTime::At(_))) | Err(_));
            dated || c.active != Ok(ReportFlag::False)
        })
        .map(|c| {
            (
                c.index,
                flag_status(&c.active),
                c.last_rotated
                    .clone()
                    .ok()
                    .flatten()
                    .and_then(ReportTime::at),
            )
        })
        .collect()
}

impl Assembler<'_> {
    fn gap(&mut self, source: &str, subject: Option<&str>, reason: impl Into<String>) {
        self.inv.gaps.push(Gap {
            provider: AWS,
            scope: self.acct.clone(),
            source: source.to_string(),
            subject: subject.map(str::to_string),
            reason: reason.into(),
        });
    }

    fn finding(&mut self, code: FindingCode, subject: &str, message: impl Into<String>) {
        self.inv.findings.push(Finding::new(code, subject, message));
    }

    fn source_gaps(&mut self) {
        let src = self.src;
        let mut unknowns: Vec<(String, String)> = Vec::new();
        if let Availability::Unknown { source, reason } = &src.credential_report {
            unknowns.push((source.clone(), reason.clone()));
        }
        if let Availability::Unknown { source, reason } = &src.virtual_mfa {
            unknowns.push((source.clone(), reason.clone()));
        }
        if let Availability::Unknown { source, reason } = &src.service_specific {
            unknowns.push((source.clone(), reason.clone()));
        }
        for region in &src.regions {
            if let Availability::Unknown { source, reason } = &region.secrets {
                unknowns.push((format!("{source} ({})", region.region), reason.clone()));
            }
        }
        for (source, reason) in unknowns {
            self.gap(&source, None, reason);
        }
    }

    fn managed_documents(&mut self) -> ManagedDocs {
        let mut docs = ManagedDocs::new();
        for p in &self.src.authorization.policies {
            let parsed = match p.default_document() {
                Some(doc) => match policy_doc::parse(doc) {
                    Ok(st) => Some(st),
                    Err(e) => {
                        self.gap(
                            "iam:GetAccountAuthorizationDetails",
                            Some(&p.arn),
                            format!("policy document unreadable: {e}"),
                        );
                        None
                    }
                },
                None => None,
            };
            docs.insert(p.arn.clone(), parsed);
        }
        docs
    }

    /// Adds admin evidence for attached and inline policies.
    fn admin_evidence(
        &mut self,
        owner: &str,
        attached: &[AttachedPolicy],
        inline: &[InlinePolicy],
        via_group: Option<&str>,
        ev: &mut AdminEvidence,
    ) {
        let via = match via_group {
            Some(g) => format!("through group {g}"),
            None => "attached directly".to_string(),
        };
        for p in attached {
            if ADMIN_MANAGED_POLICIES.contains(&p.policy_arn.as_str()) {
                ev.yes.push(format!("{} ({via})", p.policy_name));
            } else if p.policy_arn.starts_with("arn:aws:iam::aws:policy/") {
                // Other AWS managed policies: not admin-equivalent by our definition.
            } else {
                match self.managed.get(&p.policy_arn) {
                    Some(Some(st)) if st.iter().any(policy_doc::grants_admin) => ev
                        .yes
                        .push(format!("{} ({via}) allows * on *", p.policy_name)),
                    Some(Some(_)) => {}
                    Some(None) | None => ev.unknown.push(format!(
                        "{} ({via}): document not in the authorization details",
                        p.policy_name
                    )),
                }
            }
        }
        for p in inline {
            match p.policy_document.as_ref().map(policy_doc::parse) {
                Some(Ok(st)) if st.iter().any(policy_doc::grants_admin) => ev.yes.push(format!(
                    "inline policy {} ({via}) allows * on *",
                    p.policy_name
                )),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    let source = "iam:GetAccountAuthorizationDetails";
                    self.gap(
                        source,
                        Some(owner),
                        format!("inline policy {} unreadable: {e}", p.policy_name),
                    );
                    ev.unknown.push(format!(
                        "inline policy {} ({via}) unreadable",
                        p.policy_name
                    ));
                }
                None => ev.unknown.push(format!(
                    "inline policy {} ({via}) has no document",
                    p.policy_name
                )),
            }
        }
    }

    fn groups(&mut self) -> HashMap<String, GroupInfo> {
        let mut out = HashMap::new();
        for g in &self.src.authorization.group_detail_list {
            let mut ev = AdminEvidence::default();
            let owner = g.arn.clone().unwrap_or_else(|| g.group_name.clone());
            self.admin_evidence(
                &owner,
                &g.attached_managed_policies,
                &g.group_policy_list,
                Some(&g.group_name),
                &mut ev,
            );
            let policies = policy_refs(
                &g.attached_managed_policies,
                &g.group_policy_list,
                Some(&g.group_name),
            );
            let statements =
                self.identity_statements(&g.attached_managed_policies, &g.group_policy_list);
            out.insert(
                g.group_name.clone(),
                GroupInfo {
                    policies,
                    admin: ev,
                    statements,
                },
            );
        }
        out
    }

    /// The user's credential report row, typed; every value not understood becomes a
    /// coverage gap naming the user and the column.
    fn report_row(&mut self, user_name: &str, subject: &str) -> Option<ReportRow> {
        let row = self
            .src
            .credential_report
            .known()
            .and_then(|r| r.row_for(user_name))?
            .typed();
        self.report_row_gaps(&row, subject);
        Some(row)
    }

    fn report_row_gaps(&mut self, row: &ReportRow, subject: &str) {
        let who = if row.is_root {
            "the root user".to_string()
        } else {
            crate::providers::snapshot_fs::quote_name(&row.user)
        };
        for n in row.not_understood() {
            let reason = format!(
                "the credential report's {} column for {who} holds {}, which is not a value AWS documents for it; \
                 what it would tell is unknown",
                n.column, n.shown
            );
            self.gap("iam:GetCredentialReport", Some(subject), reason);
        }
    }

    fn report_blind_reason(&self) -> String {
        match &self.src.credential_report {
            Availability::Known(_) => {
                "the user is not in the credential report (created after it was generated?)"
                    .to_string()
            }
            Availability::Unknown { reason, .. } => {
                format!("the credential report is unavailable: {reason}")
            }
        }
    }

    /// One IAM user: its policies and admin rights, then one section per credential
    /// kind, then its findings.
    fn user(&mut self, u: &UserDetail) {
        let (policies, admin) = self.user_policies(u);
        let access_ends = self.user_access_ends(u);
        let mut user = UserCtx {
            detail: u,
            arn: u.arn.clone(),
            row: self.report_row(&u.user_name, &u.arn),
            lists: self
                .src
                .users
                .get(&u.user_name)
                .cloned()
                .unwrap_or_default(),
            acct: self.acct.clone(),
            creds: Vec::new(),
            key_labels: HashMap::new(),
        };
        self.console_password(&mut user);
        self.access_keys(&mut user);
        self.mfa_devices(&mut user);
        self.ssh_public_keys(&mut user);
        self.signing_certificates(&mut user);
        self.service_specific_credentials(&mut user);
        self.user_findings(&user, &admin);
        let last_used = principal_last_used(&user.creds);
        let arn = user.arn;
        self.inv.principals.push(Principal {
            id: arn.clone(),
            provider: AWS,
            scope: self.acct.clone(),
            kind: PrincipalKind::IamUser,
            name: u.user_name.clone(),
            path: u.path.clone(),
            created: u.create_date.map(|t| t.0),
            tags: tags_to_map(&u.tags),
            groups: u.group_list.clone(),
            policies,
            admin,
            permissions_boundary: u
                .permissions_boundary
                .as_ref()
                .and_then(|b| b.permissions_boundary_arn.clone()),
            last_used,
            disabled: None,
            deleted: None,
            federated: None,
            access_ends,
        });
        self.inv.credentials.extend(user.creds);
    }

    /// The statements of these attached (customer managed) and inline policies, parsed.
    /// One unreadable is already a gap (`admin_evidence`) and adds nothing here: it can
    /// only hide a Deny, so an end may be missed, never invented.
    fn identity_statements(
        &self,
        attached: &[AttachedPolicy],
        inline: &[InlinePolicy],
    ) -> Vec<Statement> {
        let mut out = Vec::new();
        for p in attached {
            if let Some(Some(st)) = self.managed.get(&p.policy_arn) {
                out.extend(st.iter().cloned());
            }
        }
        for p in inline {
            if let Some(Ok(st)) = p.policy_document.as_ref().map(policy_doc::parse) {
                out.extend(st);
            }
        }
        out
    }

    /// What the user's own and its groups' Deny statements prove about when all its
    /// access ends (`Principal::access_ends`).
    fn user_access_ends(&self, u: &UserDetail) -> TimeBound {
        let mut statements =
            self.identity_statements(&u.attached_managed_policies, &u.user_policy_list);
        for g in &u.group_list {
            if let Some(info) = self.groups.get(g) {
                statements.extend(info.statements.iter().cloned());
            }
        }
        policy_doc::deny_all_time_bound(&statements)
    }

    /// The user's policies (its own and its groups'), sorted, and what they say about
    /// admin rights.
    fn user_policies(&mut self, u: &UserDetail) -> (Vec<PolicyRef>, AdminRights) {
        let mut ev = AdminEvidence::default();
        self.admin_evidence(
            &u.arn,
            &u.attached_managed_policies,
            &u.user_policy_list,
            None,
            &mut ev,
        );
        let mut policies = policy_refs(&u.attached_managed_policies, &u.user_policy_list, None);
        for g in &u.group_list {
            match self.groups.get(g) {
                Some(info) => {
                    policies.extend(info.policies.iter().cloned());
                    ev.yes.extend(info.admin.yes.iter().cloned());
                    ev.unknown.extend(info.admin.unknown.iter().cloned());
                }
                None => ev
                    .unknown
                    .push(format!("group {g} is not in the authorization details")),
            }
        }
        policies.sort();
        (policies, ev.rights())
    }

    /// Console password: the credential report says whether one exists, unless the
    /// live GetLoginProfile was read (fresh mode), which is the truth now.
    fn console_password(&mut self, user: &mut UserCtx) {
        if let Some(Availability::Known(profile)) = &user.lists.login_profile {
            if let Some(created) = profile {
                let last_used = user
                    .row
                    .as_ref()
                    .and_then(|r| r.password_last_used.as_ref().ok().and_then(|t| t.at()))
                    .map_or_else(
                        || {
                            LastUsed::unknown(
                                "read live; the credential report has no sign-in for it",
                            )
                        },
                        |at| LastUsed::Used {
                            at,
                            service: None,
                            region: None,
                        },
                    );
                let c = Credential {
                    status: Status::Active,
                    created: Some(created.0),
                    last_used,
                    ..user.credential("console-password", CredentialKind::ConsolePassword)
                };
                user.creds.push(c);
            }
            return;
        }
        if let Some(Availability::Unknown { source, reason }) = &user.lists.login_profile {
            self.gap(
                source,
                Some(&user.arn),
                format!("console password read from the credential report instead: {reason}"),
            );
        }
        match &user.row {
            // A value not understood may hide a password: it is kept, of unknown status
            // (with a coverage gap), never dropped.
            Some(r) if matches!(r.password_enabled, Ok(ReportFlag::True) | Err(_)) => {
                let last_used = match &r.password_last_used {
                    Ok(ReportTime::NoInformation) => LastUsed::unknown(
                        "AWS has no record of a sign-in (never used, or last used before October 2014)",
                    ),
                    other => report_last_used(other, &Ok(None), &Ok(None)),
                };
                let c = Credential {
                    status: flag_status(&r.password_enabled),
                    created: r.password_last_changed.as_ref().ok().and_then(|t| t.at()),
                    last_used,
                    ..user.credential("console-password", CredentialKind::ConsolePassword)
                };
                user.creds.push(c);
            }
            Some(_) => {}
            None => {
                let reason = self.report_blind_reason();
                self.gap(
                    "iam:GetCredentialReport",
                    Some(&user.arn),
                    format!("console password unknown: {reason}"),
                );
            }
        }
    }

    /// Access keys: ids from ListAccessKeys, use from the credential report.
    fn access_keys(&mut self, user: &mut UserCtx) {
        let slots = user.row.as_ref().map(key_slots);
        match (&user.lists.access_keys, &slots) {
            (Some(Availability::Known(keys)), _) => {
                let keys = keys.clone();
                self.listed_access_keys(user, &keys, slots.as_deref().unwrap_or(&[]));
            }
            (list, Some(slots)) => {
                if !slots.is_empty() {
                    let reason = match list {
                        Some(Availability::Unknown { reason, .. }) => reason.clone(),
                        _ => "the access key list was not read".to_string(),
                    };
                    self.gap(
                        "iam:ListAccessKeys",
                        Some(&user.arn),
                        format!("access key ids unknown: {reason}"),
                    );
                }
                for s in slots {
                    let label = format!("slot-{}", s.index);
                    let c = Credential {
                        status: s.status,
                        created: s.rotated,
                        last_used: s.last_used.clone(),
                        ..user.credential(&format!("access-key/{label}"), CredentialKind::AccessKey)
                    };
                    user.key_labels.insert(c.id.clone(), label);
                    user.creds.push(c);
                }
            }
            (_, None) => {
                let reason = self.report_blind_reason();
                self.gap(
                    "iam:ListAccessKeys",
                    Some(&user.arn),
                    format!("access keys unknown: {reason}"),
                );
            }
        }
    }

    /// Listed access keys, each matched to its credential report slot by creation date
    /// (or by position when the counts agree) for its last use.
    fn listed_access_keys(
        &mut self,
        user: &mut UserCtx,
        keys: &[AccessKeyMetadata],
        slots: &[KeySlot],
    ) {
        let mut keys: Vec<&AccessKeyMetadata> = keys.iter().collect();
        keys.sort_by_key(|k| (k.create_date, k.access_key_id.clone()));
        for (i, k) in keys.iter().enumerate() {
            let created = k.create_date.map(|t| t.0);
            let by_date = created.and_then(|c| {
                slots
                    .iter()
                    .find(|s| s.rotated.is_some_and(|r| (r - c).num_seconds().abs() <= 1))
            });
            let slot = by_date.or_else(|| (slots.len() == keys.len()).then(|| &slots[i]));
            let last_used = match (slot, &user.row) {
                (Some(s), _) => s.last_used.clone(),
                (None, Some(_)) => LastUsed::unknown(
                    "the key is not in the credential report (created after it was generated?)",
                ),
                (None, None) => LastUsed::unknown(self.report_blind_reason()),
            };
            let c = Credential {
                identifier: Some(k.access_key_id.clone()),
                status: status_of(k.status.as_deref()),
                created,
                last_used,
                ..user.credential(
                    &format!("access-key/{}", k.access_key_id),
                    CredentialKind::AccessKey,
                )
            };
            user.key_labels
                .insert(c.id.clone(), k.access_key_id.clone());
            user.creds.push(c);
        }
    }

    /// MFA: virtual devices from the bulk list, others from ListMFADevices.
    fn mfa_devices(&mut self, user: &mut UserCtx) {
        let mut mfa_serials = BTreeSet::new();
        if let Some(devices) = self.src.virtual_mfa.known() {
            for d in devices {
                let owner = d.user.as_ref();
                let mine = owner.is_some_and(|o| {
                    o.arn.as_deref() == Some(&user.arn)
                        || o.user_name.as_deref() == Some(&user.detail.user_name) && o.arn.is_none()
                });
                if mine && mfa_serials.insert(d.serial_number.clone()) {
                    user.creds.push(mfa_credential(
                        &user.arn,
                        &self.acct,
                        &d.serial_number,
                        "virtual",
                        d.enable_date,
                    ));
                }
            }
        }
        match &user.lists.mfa_devices {
            Some(Availability::Known(devices)) => {
                for d in devices {
                    if mfa_serials.insert(d.serial_number.clone()) {
                        user.creds.push(mfa_credential(
                            &user.arn,
                            &self.acct,
                            &d.serial_number,
                            "hardware",
                            d.enable_date,
                        ));
                    }
                }
            }
            other => {
                let report_says = user.row.as_ref().map(|r| r.mfa_active.clone());
                if report_says == Some(Ok(ReportFlag::True)) && mfa_serials.is_empty() {
                    let reason = match other {
                        Some(Availability::Unknown { reason, .. }) => reason.clone(),
                        _ => "per-user MFA device list not read".to_string(),
                    };
                    self.gap(
                        "iam:ListMFADevices",
                        Some(&user.arn),
                        format!("an MFA device is active but not listed: {reason}"),
                    );
                    let mut c = mfa_credential(&user.arn, &self.acct, "unlisted", "unknown", None);
                    c.identifier = None;
                    user.creds.push(c);
                }
            }
        }
    }

    /// SSH public keys: no bulk source.
    fn ssh_public_keys(&mut self, user: &mut UserCtx) {
        match &user.lists.ssh_public_keys {
            Some(Availability::Known(keys)) => {
                let creds: Vec<Credential> = keys
                    .iter()
                    .map(|k| Credential {
                        identifier: Some(k.ssh_public_key_id.clone()),
                        status: status_of(k.status.as_deref()),
                        created: k.upload_date.map(|t| t.0),
                        last_used: LastUsed::unknown("IAM does not record SSH public key use"),
                        ..user.credential(
                            &format!("ssh-public-key/{}", k.ssh_public_key_id),
                            CredentialKind::SshPublicKey,
                        )
                    })
                    .collect();
                user.creds.extend(creds);
            }
            Some(Availability::Unknown { reason, .. }) => self.gap(
                "iam:ListSSHPublicKeys",
                Some(&user.arn),
                format!("SSH public keys unknown: {reason}"),
            ),
            None => self.gap(
                "iam:ListSSHPublicKeys",
                Some(&user.arn),
                "SSH public keys were not read",
            ),
        }
    }

    /// Signing certificates: the list when read, else the report's slots say whether
    /// any exist.
    fn signing_certificates(&mut self, user: &mut UserCtx) {
        let unrecorded = || LastUsed::unknown("IAM does not record signing certificate use");
        let cslots = user.row.as_ref().map(cert_slots).unwrap_or_default();
        let other = match &user.lists.signing_certificates {
            Some(Availability::Known(certs)) => {
                let creds: Vec<Credential> = certs
                    .iter()
                    .map(|c| Credential {
                        identifier: Some(c.certificate_id.clone()),
                        status: status_of(c.status.as_deref()),
                        created: c.upload_date.map(|t| t.0),
                        last_used: unrecorded(),
                        ..user.credential(
                            &format!("signing-certificate/{}", c.certificate_id),
                            CredentialKind::SigningCertificate,
                        )
                    })
                    .collect();
                user.creds.extend(creds);
                return;
            }
            other => other.clone(),
        };
        if !cslots.is_empty() {
            let reason = match &other {
                Some(Availability::Unknown { reason, .. }) => reason.clone(),
                _ => "per-user certificate list not read".to_string(),
            };
            self.gap(
                "iam:ListSigningCertificates",
                Some(&user.arn),
                format!("certificate ids unknown: {reason}"),
            );
        }
        for (i, status, rotated) in &cslots {
            let c = Credential {
                status: *status,
                created: *rotated,
                last_used: unrecorded(),
                ..user.credential(
                    &format!("signing-certificate/slot-{i}"),
                    CredentialKind::SigningCertificate,
                )
            };
            user.creds.push(c);
        }
        if user.row.is_none() && other.is_none() {
            let reason = self.report_blind_reason();
            self.gap(
                "iam:ListSigningCertificates",
                Some(&user.arn),
                format!("signing certificates unknown: {reason}"),
            );
        }
    }

    /// Service-specific credentials (CodeCommit, Keyspaces, Bedrock): one bulk list.
    fn service_specific_credentials(&mut self, user: &mut UserCtx) {
        let Some(all) = self.src.service_specific.known() else {
            return;
        };
        for s in all.iter().filter(|s| s.user_name == user.detail.user_name) {
            let c = Credential {
                identifier: Some(s.service_specific_credential_id.clone()),
                status: status_of(s.status.as_deref()),
                created: s.create_date.map(|t| t.0),
                last_used: LastUsed::unknown("IAM does not record service-specific credential use"),
                detail: CredentialDetail::ServiceSpecific {
                    service: s.service_name.clone(),
                    user_name: s.service_user_name.clone().unwrap_or_default(),
                },
                ..user.credential(
                    &format!(
                        "service-specific-credential/{}",
                        s.service_specific_credential_id
                    ),
                    CredentialKind::ServiceSpecificCredential,
                )
            };
            user.creds.push(c);
        }
    }

    fn user_findings(&mut self, user: &UserCtx, admin: &AdminRights) {
        let (arn, name) = (user.arn.as_str(), user.detail.user_name.as_str());
        let (row, creds) = (user.row.as_ref(), &user.creds);
        if admin.equivalent == Some(true) {
            self.finding(
                FindingCode::AdminUser,
                arn,
                format!("user {name} is admin-equivalent: {}", admin.via.join("; ")),
            );
        }
        let has_password = creds
            .iter()
            .any(|c| c.kind == CredentialKind::ConsolePassword);
        let mfa = creds.iter().any(|c| c.kind == CredentialKind::MfaDevice)
            || row.is_some_and(|r| r.mfa_active == Ok(ReportFlag::True));
        // An mfa_active value not understood is a coverage gap, not a "no MFA" finding.
        let mfa_unknown = row.is_some_and(|r| r.mfa_active.is_err());
        if has_password && !mfa && !mfa_unknown {
            self.finding(
                FindingCode::ConsoleWithoutMfa,
                arn,
                format!("user {name} has a console password and no MFA device"),
            );
        }
        let mut active_keys = 0;
        for c in creds.iter().filter(|c| c.kind == CredentialKind::AccessKey) {
            let label = user.key_labels.get(&c.id).cloned().unwrap_or_default();
            if c.status != Status::Active {
                // An unknown status (a value not understood, with its gap) is no finding.
                if c.status == Status::Inactive {
                    self.finding(
                        FindingCode::AccessKeyInactive,
                        &c.id,
                        format!("inactive access key {label} of {name} still exists"),
                    );
                }
                continue;
            }
            active_keys += 1;
            match (&c.last_used, c.created) {
                (LastUsed::Used { at, .. }, _) => {
                    let days = (self.now - *at).num_days();
                    if days > STALE_DAYS {
                        self.finding(
                            FindingCode::AccessKeyStale,
                            &c.id,
                            format!("access key {label} of {name} was last used {days} days ago"),
                        );
                    }
                }
                (LastUsed::Never, created) => {
                    self.finding(
                        FindingCode::AccessKeyNeverUsed,
                        &c.id,
                        format!("access key {label} of {name} has never been used"),
                    );
                    if let Some(created) = created {
                        let days = (self.now - created).num_days();
                        if days > STALE_DAYS {
                            self.finding(FindingCode::AccessKeyStale, &c.id, format!("access key {label} of {name} was created {days} days ago and never used"));
                        }
                    }
                }
                (LastUsed::Unknown { .. }, Some(created)) => {
                    let days = (self.now - created).num_days();
                    if days > STALE_DAYS {
                        self.finding(FindingCode::AccessKeyStale, &c.id, format!("access key {label} of {name} was created {days} days ago (last use unknown)"));
                    }
                }
                (LastUsed::Unknown { .. }, None) => {}
            }
        }
        if active_keys >= 2 {
            self.finding(
                FindingCode::TwoActiveAccessKeys,
                arn,
                format!("user {name} has {active_keys} active access keys"),
            );
        }
        for c in creds
            .iter()
            .filter(|c| c.kind == CredentialKind::SigningCertificate && c.status == Status::Active)
        {
            self.finding(
                FindingCode::SigningCertificateActive,
                &c.id,
                format!("user {name} has an active signing certificate"),
            );
        }
    }

    /// The root user: its credentials from the credential report's root row (or,
    /// without one, the account summary), then its findings.
    fn root(&mut self) {
        let arn = format!("arn:aws:iam::{}:root", self.acct);
        let report = self.src.credential_report.known();
        let row = report
            .and_then(|r| r.root_row())
            .map(CredentialReportRow::typed);
        if let Some(r) = &row {
            self.report_row_gaps(r, &arn);
        }
        let mut root = RootCtx {
            arn,
            acct: self.acct.clone(),
            creds: Vec::new(),
            mfa_known: None,
        };
        self.root_virtual_mfa(&mut root);
        let created = row
            .as_ref()
            .and_then(|r| r.user_creation_time.as_ref().ok().and_then(|t| t.at()));
        match &row {
            Some(r) => root.add_report_row(r),
            None => self.root_from_summary(&mut root, report.is_some()),
        }
        self.root_findings(&root);
        let last_used = principal_last_used(&root.creds);
        self.inv.principals.push(Principal {
            id: root.arn.clone(),
            provider: AWS,
            scope: self.acct.clone(),
            kind: PrincipalKind::Root,
            name: "root".into(),
            path: None,
            created,
            tags: BTreeMap::new(),
            groups: Vec::new(),
            policies: Vec::new(),
            admin: AdminRights {
                equivalent: Some(true),
                via: vec!["the account root user".into()],
            },
            permissions_boundary: None,
            last_used,
            disabled: None,
            deleted: None,
            federated: None,
            // The root user is not bound by identity policies.
            access_ends: TimeBound::Unbounded,
        });
        self.inv.credentials.extend(root.creds);
    }

    /// The root user's virtual MFA shows in the bulk list under the root ARN.
    fn root_virtual_mfa(&self, root: &mut RootCtx) {
        let Some(devices) = self.src.virtual_mfa.known() else {
            return;
        };
        for d in devices
            .iter()
            .filter(|d| d.user.as_ref().and_then(|u| u.arn.as_deref()) == Some(&root.arn))
        {
            root.creds.push(mfa_credential(
                &root.arn,
                &self.acct,
                &d.serial_number,
                "virtual",
                d.enable_date,
            ));
            root.mfa_known = Some(true);
        }
    }

    /// Without a root row, the account summary says whether root access keys and MFA
    /// exist (without dates); without it too, a gap.
    fn root_from_summary(&mut self, root: &mut RootCtx, report_read: bool) {
        let reason = if report_read {
            // moto's credential report has no root row; AWS's always does.
            "the credential report has no <root_account> row".to_string()
        } else {
            self.report_blind_reason()
        };
        let Some(summary) = self.src.account_summary.known() else {
            self.gap(
                "iam:GetCredentialReport",
                Some(&root.arn),
                format!("root credentials unknown: {reason}"),
            );
            return;
        };
        self.gap(
            "iam:GetCredentialReport",
            Some(&root.arn),
            format!("{reason}; root credentials taken from the account summary, without dates"),
        );
        if summary
            .get("AccountAccessKeysPresent")
            .copied()
            .unwrap_or(0)
            > 0
        {
            let c = Credential {
                status: Status::Active,
                created: None,
                last_used: LastUsed::unknown("only the account summary was available"),
                ..root.credential("access-key/present", CredentialKind::AccessKey)
            };
            root.creds.push(c);
        }
        if let Some(m) = summary.get("AccountMFAEnabled") {
            if *m > 0 && root.mfa_known.is_none() {
                root.unnamed_mfa();
            }
            root.mfa_known = Some(*m > 0 || root.mfa_known == Some(true));
        }
    }

    fn root_findings(&mut self, root: &RootCtx) {
        if root
            .creds
            .iter()
            .any(|c| c.kind == CredentialKind::AccessKey && c.status == Status::Active)
        {
            self.finding(
                FindingCode::RootAccessKey,
                &root.arn,
                "the root user has an active access key; revoke it",
            );
        }
        if root.mfa_known == Some(false) {
            self.finding(
                FindingCode::RootWithoutMfa,
                &root.arn,
                "the root user has no MFA device",
            );
        }
    }

    /// One role: its policies and admin rights, and one credential per principal outside
    /// the account that its trust policy lets in.
    fn role(&mut self, r: &RoleDetail) {
        let arn = r.arn.clone();
        let mut ev = AdminEvidence::default();
        self.admin_evidence(
            &arn,
            &r.attached_managed_policies,
            &r.role_policy_list,
            None,
            &mut ev,
        );
        let mut policies = policy_refs(&r.attached_managed_policies, &r.role_policy_list, None);
        policies.sort();
        let last_used = match r.role_last_used.as_ref().and_then(|l| l.last_used_date) {
            Some(at) => LastUsed::Used {
                at: at.0,
                service: None,
                region: r.role_last_used.as_ref().and_then(|l| l.region.clone()),
            },
            None => {
                LastUsed::unknown("no last-used date recorded (AWS tracks role use for 400 days)")
            }
        };
        let statements = self.trust_statements(r);
        self.role_trusts(r, &statements);
        let access_ends = policy_doc::deny_all_time_bound(
            &self.identity_statements(&r.attached_managed_policies, &r.role_policy_list),
        );
        self.inv.principals.push(Principal {
            id: arn.clone(),
            provider: AWS,
            scope: self.acct.clone(),
            kind: PrincipalKind::IamRole,
            name: r.role_name.clone(),
            path: r.path.clone(),
            created: r.create_date.map(|t| t.0),
            tags: tags_to_map(&r.tags),
            groups: Vec::new(),
            policies,
            admin: ev.rights(),
            permissions_boundary: r
                .permissions_boundary
                .as_ref()
                .and_then(|b| b.permissions_boundary_arn.clone()),
            last_used: Some(last_used),
            disabled: None,
            deleted: None,
            federated: None,
            access_ends,
        });
    }

    /// The role's trust policy, parsed; unreadable or missing is a gap (and no trusts).
    fn trust_statements(&mut self, r: &RoleDetail) -> Vec<Statement> {
        match r
            .assume_role_policy_document
            .as_ref()
            .map(policy_doc::parse)
        {
            Some(Ok(st)) => st,
            Some(Err(e)) => {
                self.gap(
                    "iam:GetAccountAuthorizationDetails",
                    Some(&r.arn),
                    format!("trust policy unreadable: {e}"),
                );
                Vec::new()
            }
            None => {
                self.gap(
                    "iam:GetAccountAuthorizationDetails",
                    Some(&r.arn),
                    "the role has no trust policy in the export",
                );
                Vec::new()
            }
        }
    }

    /// One `role-trust` credential (and its findings) per outside principal of every
    /// trust statement; a principal named twice gets `#2`, `#3`.
    fn role_trusts(&mut self, r: &RoleDetail, statements: &[Statement]) {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for st in statements {
            for p in policy_doc::outside_principals(st, &self.acct) {
                let base = format!("{}/trust/{}", r.arn, p.value);
                let n = seen.entry(base.clone()).or_insert(0);
                *n += 1;
                let id = if *n == 1 { base } else { format!("{base}#{n}") };
                self.trust_finding(r, st, &p, &id);
                let ends = policy_doc::trust_time_bound(statements, &p, &self.acct);
                if let TimeBound::Conditional { reason } = &ends {
                    self.finding(FindingCode::ConditionNotTimeBound, &id, format!("role {} trusts {} under a condition that does not provably end: {reason}", r.role_name, p.value));
                }
                self.inv.credentials.push(Credential {
                    id,
                    principal: r.arn.clone(),
                    provider: AWS,
                    scope: self.acct.clone(),
                    kind: CredentialKind::RoleTrust,
                    identifier: Some(p.value.clone()),
                    status: Status::Active,
                    created: r.create_date.map(|t| t.0),
                    last_used: LastUsed::unknown(
                        "IAM records use per role, not per trusted principal",
                    ),
                    detail: CredentialDetail::Trust(TrustDetail {
                        trusted: p,
                        actions: st.actions.clone(),
                        conditions: st.conditions.clone(),
                        ends,
                    }),
                });
            }
        }
    }

    /// What letting `p` in says: anyone, another account, a federated provider (an
    /// OIDC one without a subject condition is worse).
    fn trust_finding(
        &mut self,
        r: &RoleDetail,
        st: &Statement,
        p: &OutsidePrincipal,
        subject: &str,
    ) {
        let (code, message) = match p.kind {
            OutsideKind::Wildcard => (
                FindingCode::RoleTrustsAnyone,
                format!(
                    "role {} can be assumed by any principal{}",
                    r.role_name,
                    cond_note(st)
                ),
            ),
            OutsideKind::Account => (
                FindingCode::RoleTrustsOutsideAccount,
                format!(
                    "role {} can be assumed from account {}{}",
                    r.role_name,
                    p.account_id.as_deref().unwrap_or(&p.value),
                    cond_note(st)
                ),
            ),
            OutsideKind::FederatedOidc
                if !st
                    .conditions
                    .iter()
                    .any(|c| c.key.to_ascii_lowercase().ends_with(":sub")) =>
            {
                (
                    FindingCode::RoleTrustsOidcWithoutSubject,
                    format!(
                        "role {} trusts {} with no subject condition",
                        r.role_name, p.value
                    ),
                )
            }
            OutsideKind::FederatedOidc | OutsideKind::FederatedSaml => (
                FindingCode::RoleTrustsFederated,
                format!("role {} trusts {}{}", r.role_name, p.value, cond_note(st)),
            ),
        };
        self.finding(code, subject, message);
    }

    fn secrets(&mut self, region: &RegionSecrets) {
        let Some(list) = region.secrets.known() else {
            return;
        };
        for s in list {
            self.secret(region, s);
        }
    }

    /// One Secrets Manager secret: who its KMS key and resource policy let in, its
    /// rotation, and the findings those give.
    fn secret(&mut self, region: &RegionSecrets, s: &SecretListEntry) {
        let key_account = match s.kms_key_id.as_deref() {
            Some(k) => policy_doc::account_of(k).or_else(|| Some(self.acct.clone())),
            None => Some(self.acct.clone()),
        };
        let external = key_account.as_deref().is_some_and(|a| a != self.acct);
        let access_policy = self.access_policy(region, s);
        match &access_policy {
            AccessPolicy::Unknown { reason } => self.gap(
                "secretsmanager:GetResourcePolicy",
                Some(&s.arn),
                reason.clone(),
            ),
            AccessPolicy::Known { outside } => self.secret_grant_findings(s, outside),
            AccessPolicy::None => {}
        }
        if external {
            self.finding(
                FindingCode::SecretKeyOutsideAccount,
                &s.arn,
                format!(
                    "secret {} is encrypted under a KMS key of account {}",
                    s.name,
                    key_account.as_deref().unwrap_or("?")
                ),
            );
        }
        if !s.rotation_enabled {
            self.finding(
                FindingCode::SecretNotRotated,
                &s.arn,
                format!("secret {} has no automatic rotation", s.name),
            );
        }
        let rules = s.rotation_rules.clone().unwrap_or_default();
        self.inv.secrets.push(Secret {
            id: s.arn.clone(),
            provider: AWS,
            scope: self.acct.clone(),
            region: Some(region.region.clone()),
            name: s.name.clone(),
            description: s.description.clone(),
            created: s.created_date.map(|t| t.0),
            last_changed: s.last_changed_date.map(|t| t.0),
            last_accessed: s.last_accessed_date.map(|t| t.0),
            deletion_scheduled: s.deleted_date.map(|t| t.0),
            rotation: Rotation {
                enabled: s.rotation_enabled,
                rotation_function: s.rotation_lambda_arn.clone(),
                every_days: rules.automatically_after_days,
                schedule: rules.schedule_expression,
                last_rotated: s.last_rotated_date.map(|t| t.0),
                next_rotation: s.next_rotation_date.map(|t| t.0),
            },
            tags: tags_to_map(&s.tags),
            versions: Some(s.versions_to_stages.len() as u32),
            enabled_versions: None,
            latest_version_created: None,
            replication: None,
            expires: None,
            iam_members: Vec::new(),
            encryption: Encryption {
                key: s.kms_key_id.clone(),
                key_account,
                external,
            },
            access_policy,
            owning_service: s.owning_service.clone(),
        });
    }

    /// Who the secret's resource policy lets in from outside the account.
    fn access_policy(&self, region: &RegionSecrets, s: &SecretListEntry) -> AccessPolicy {
        match region.policies.get(&s.arn) {
            Some(Availability::Known(None)) => AccessPolicy::None,
            Some(Availability::Known(Some(doc))) => match policy_doc::parse(doc) {
                Ok(statements) => {
                    let mut outside = Vec::new();
                    for st in &statements {
                        for p in policy_doc::outside_principals(st, &self.acct) {
                            outside.push(PolicyGrant {
                                principal: p,
                                actions: st.actions.clone(),
                                conditions: st.conditions.clone(),
                            });
                        }
                    }
                    outside.sort();
                    AccessPolicy::Known { outside }
                }
                Err(e) => AccessPolicy::Unknown {
                    reason: format!("resource policy unreadable: {e}"),
                },
            },
            Some(Availability::Unknown { reason, .. }) => AccessPolicy::Unknown {
                reason: reason.clone(),
            },
            None => AccessPolicy::Unknown {
                reason: "the resource policy was not read".into(),
            },
        }
    }

    fn secret_grant_findings(&mut self, s: &SecretListEntry, outside: &[PolicyGrant]) {
        for g in outside {
            let conds = if g.conditions.is_empty() {
                String::new()
            } else {
                format!(" when {}", condition_lines(&g.conditions, " and "))
            };
            match g.principal.kind {
                OutsideKind::Wildcard => self.finding(
                    FindingCode::SecretOpenToAnyone,
                    &s.arn,
                    format!("secret {} lets any principal in{conds}", s.name),
                ),
                _ => self.finding(
                    FindingCode::SecretSharedOutside,
                    &s.arn,
                    format!(
                        "secret {} lets {} in{conds}",
                        s.name,
                        g.principal
                            .account_id
                            .as_deref()
                            .unwrap_or(&g.principal.value)
                    ),
                ),
            }
        }
    }
}

/// The root user while its credentials are assembled.
struct RootCtx {
    arn: String,
    acct: String,
    creds: Vec<Credential>,
    /// Whether the root user has MFA; `None` while no source has said.
    mfa_known: Option<bool>,
}

impl RootCtx {
    fn credential(&self, suffix: &str, kind: CredentialKind) -> Credential {
        base_credential(&self.arn, &self.acct, suffix, kind)
    }

    /// An MFA device a source says exists but does not name.
    fn unnamed_mfa(&mut self) {
        let mut c = mfa_credential(&self.arn, &self.acct, "root", "unknown", None);
        c.identifier = None;
        self.creds.push(c);
    }

    /// The credential report's root row: password, access key slots, MFA flag.
    fn add_report_row(&mut self, r: &ReportRow) {
        // The root row says `not_supported` for password_enabled; a date in
        // password_last_used still proves a password exists.
        if r.password_enabled != Ok(ReportFlag::False) {
            let c = Credential {
                status: flag_status(&r.password_enabled),
                created: None,
                last_used: report_last_used(&r.password_last_used, &Ok(None), &Ok(None)),
                ..self.credential("console-password", CredentialKind::ConsolePassword)
            };
            self.creds.push(c);
        }
        for s in key_slots(r) {
            let c = Credential {
                status: s.status,
                created: s.rotated,
                last_used: s.last_used,
                ..self.credential(
                    &format!("access-key/slot-{}", s.index),
                    CredentialKind::AccessKey,
                )
            };
            self.creds.push(c);
        }
        match r.mfa_active {
            Ok(ReportFlag::True) => {
                if self.mfa_known.is_none() {
                    self.unnamed_mfa();
                }
                self.mfa_known = Some(true);
            }
            Ok(_) => self.mfa_known = Some(self.mfa_known == Some(true)),
            // Not understood (a gap says so): neither "has MFA" nor "has none".
            Err(_) => {}
        }
    }
}

fn cond_note(st: &Statement) -> String {
    if st.conditions.is_empty() {
        " with no condition".to_string()
    } else {
        format!(" when {}", condition_lines(&st.conditions, " and "))
    }
}

fn policy_refs(
    attached: &[AttachedPolicy],
    inline: &[InlinePolicy],
    via_group: Option<&str>,
) -> Vec<PolicyRef> {
    let g = via_group.map(str::to_string);
    attached
        .iter()
        .map(|p| PolicyRef {
            name: p.policy_name.clone(),
            arn: Some(p.policy_arn.clone()),
            via_group: g.clone(),
        })
        .chain(inline.iter().map(|p| PolicyRef {
            name: p.policy_name.clone(),
            arn: None,
            via_group: g.clone(),
        }))
        .collect()
}

fn mfa_credential(
    principal: &str,
    acct: &str,
    serial: &str,
    device: &str,
    enabled: Option<Timestamp>,
) -> Credential {
    Credential {
        id: format!("{principal}/mfa-device/{serial}"),
        principal: principal.to_string(),
        provider: AWS,
        scope: acct.to_string(),
        kind: CredentialKind::MfaDevice,
        identifier: Some(serial.to_string()),
        status: Status::Active,
        created: enabled.map(|t| t.0),
        last_used: LastUsed::unknown("IAM does not record MFA device use"),
        detail: CredentialDetail::Mfa {
            device: device.to_string(),
        },
    }
}

/// A principal was last active when its most recently used password or key was.
fn principal_last_used(creds: &[Credential]) -> Option<LastUsed> {
    let authn: Vec<&Credential> = creds
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                CredentialKind::ConsolePassword | CredentialKind::AccessKey
            )
        })
        .collect();
    if authn.is_empty() {
        return None;
    }
    let latest = authn
        .iter()
        .filter_map(|c| match &c.last_used {
            LastUsed::Used { at, .. } => Some(*at),
            _ => None,
        })
        .max();
    Some(match latest {
        Some(at) => LastUsed::Used {
            at,
            service: None,
            region: None,
        },
        None if authn.iter().all(|c| c.last_used == LastUsed::Never) => LastUsed::Never,
        None => LastUsed::unknown("no password or key records a use"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    /// One user, `eve`, with two active never-used keys in the credential report; the
    /// key list read for her when `listed` holds the id of one key.
    fn account(listed: Option<&str>) -> AccountSources {
        let at = "2026-01-02T03:04:05+00:00";
        let csv = format!(
            "{HEADER}\neve,arn:aws:iam::123456789012:user/eve,{at},false,N/A,N/A,N/A,false,\
             true,{at},N/A,N/A,N/A,true,2026-01-03T03:04:05+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        let report = CredentialReport::parse_csv(csv.as_bytes(), None).unwrap();
        let user = UserDetail {
            user_name: "eve".into(),
            arn: "arn:aws:iam::123456789012:user/eve".into(),
            ..UserDetail::default()
        };
        let mut users = BTreeMap::new();
        if let Some(id) = listed {
            let key = AccessKeyMetadata {
                user_name: Some("eve".into()),
                access_key_id: id.into(),
                status: Some("Active".into()),
                create_date: Some(Timestamp(at.parse().unwrap())),
            };
            let lists = UserLists {
                access_keys: Some(Availability::Known(vec![key])),
                ..UserLists::default()
            };
            users.insert("eve".to_string(), lists);
        }
        AccountSources {
            account_id: "123456789012".into(),
            caller_arn: None,
            credential_report: Availability::Known(report),
            authorization: AuthorizationDetails {
                user_detail_list: vec![user],
                ..AuthorizationDetails::default()
            },
            account_summary: Availability::unknown("iam:GetAccountSummary", "not read"),
            virtual_mfa: Availability::Known(Vec::new()),
            service_specific: Availability::Known(Vec::new()),
            users,
            regions: Vec::new(),
            identity_center: Availability::Known(None),
        }
    }

    fn never_used(inv: &Inventory) -> Vec<String> {
        inv.findings
            .iter()
            .filter(|f| f.code == FindingCode::AccessKeyNeverUsed)
            .map(|f| f.message.clone())
            .collect()
    }

    // A finding names an access key by the label kept when the key was added (its id, or
    // its credential report slot), not by cutting the credential id apart again.
    #[test]
    fn a_finding_names_an_access_key_by_its_id_or_its_report_slot() {
        let now = "2026-02-01T00:00:00Z".parse().unwrap();
        let slots = assemble(&account(None), SourceMode::Snapshot, &[], now);
        assert_eq!(
            never_used(&slots),
            [
                "access key slot-1 of eve has never been used",
                "access key slot-2 of eve has never been used",
            ]
        );
        let listed = assemble(
            &account(Some("AKIAEXAMPLEEVE000001")),
            SourceMode::Snapshot,
            &[],
            now,
        );
        assert_eq!(
            never_used(&listed),
            ["access key AKIAEXAMPLEEVE000001 of eve has never been used"]
        );
    }
}
