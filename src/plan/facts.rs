//! `Facts`: everything the plan derives once from the inventory and the config (who
//! owns each principal, which scopes the agency was admin in, who ran the audit), and
//! the policy context of each principal and credential built from them.
//!
//! Invariants: ages count to the inventory's time, never to "now"; nothing here reads a
//! file or the clock.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::kebab;
use crate::config::parties::{self, Classification, Owner};
use crate::config::HandoverConfig;
use crate::model::*;
use crate::policy::context::{CredentialCtx, HandoverCtx, PrincipalCtx};

/// Everything derived once from the inventory and config.
pub(super) struct Facts<'a> {
    pub(super) inv: &'a Inventory,
    pub(super) cfg: &'a HandoverConfig,
    pub(super) now: DateTime<Utc>,
    pub(super) principals: HashMap<&'a str, &'a Principal>,
    pub(super) classes: HashMap<String, Classification>,
    pub(super) creds_by_principal: HashMap<&'a str, Vec<&'a Credential>>,
    pub(super) findings_by_subject: HashMap<&'a str, Vec<String>>,
    /// Scopes where an agency principal is admin-equivalent.
    pub(super) agency_admin_scopes: BTreeSet<(Provider, String)>,
    /// Principal ids that ran the audit.
    pub(super) auditors: BTreeSet<String>,
    pub(super) handover: HandoverCtx,
}

fn auditor_principal(identity: &str) -> Option<String> {
    // arn:aws:sts::ACCT:assumed-role/ROLE/SESSION -> arn:aws:iam::ACCT:role/ROLE
    let parts: Vec<&str> = identity.splitn(6, ':').collect();
    if parts.len() < 6 {
        return None;
    }
    let acct = parts[4];
    let res = parts[5];
    if let Some(rest) = res.strip_prefix("assumed-role/") {
        let role = rest.split('/').next()?;
        return Some(format!("arn:aws:iam::{acct}:role/{role}"));
    }
    if parts[2] == "sts" {
        if let Some(user) = res.strip_prefix("user/") {
            return Some(format!("arn:aws:iam::{acct}:user/{user}"));
        }
    }
    Some(identity.to_string())
}

pub(super) fn days_between(later: DateTime<Utc>, earlier: DateTime<Utc>) -> i64 {
    (later - earlier).num_days().max(0)
}

impl<'a> Facts<'a> {
    pub(super) fn new(inv: &'a Inventory, cfg: &'a HandoverConfig) -> Self {
        let principals: HashMap<&str, &Principal> =
            inv.principals.iter().map(|p| (p.id.as_str(), p)).collect();
        let mut creds_by_principal: HashMap<&str, Vec<&Credential>> = HashMap::new();
        for c in &inv.credentials {
            creds_by_principal
                .entry(c.principal.as_str())
                .or_default()
                .push(c);
        }
        let mut findings_by_subject: HashMap<&str, Vec<String>> = HashMap::new();
        for f in &inv.findings {
            findings_by_subject
                .entry(f.subject.as_str())
                .or_default()
                .push(f.code.as_str().to_string());
        }
        let mut classes = HashMap::new();
        for p in &inv.principals {
            let outside_trust = creds_by_principal
                .get(p.id.as_str())
                .is_some_and(|cs| cs.iter().any(|c| c.kind == CredentialKind::RoleTrust));
            classes.insert(p.id.clone(), parties::classify(cfg, p, outside_trust));
        }
        // A workload identity pool's members are placed by whom the pool lets in, when
        // the audit read the pool (its principal carries its own pool, parsed once by
        // the provider): its providers' trust, else the pool's names or project.
        let pools: HashMap<&MemberPool, Classification> = inv
            .principals
            .iter()
            .filter(|p| p.kind == PrincipalKind::GcpWorkloadIdentityPool)
            .filter_map(|p| {
                let f = p.federated.as_ref()?;
                let providers = creds_by_principal.get(p.id.as_str());
                let placed = parties::pool_identities_owner(
                    cfg,
                    &classes[&p.id],
                    providers.map_or(&[][..], |v| v.as_slice()),
                );
                Some((&f.pool, placed))
            })
            .collect();
        for p in &inv.principals {
            let pool = p.federated.as_ref().and_then(|f| pools.get(&f.pool));
            if let (PrincipalKind::GcpFederated, Some(pool)) = (p.kind, pool) {
                classes.insert(p.id.clone(), parties::federated_owner(cfg, p, Some(pool)));
            }
        }
        let mut agency_admin_scopes = BTreeSet::new();
        for p in &inv.principals {
            if classes[&p.id].owner == Owner::Agency && p.admin.equivalent == Some(true) {
                agency_admin_scopes.insert((p.provider, p.scope.clone()));
            }
        }
        // A role trusted by the agency's account with admin rights is agency admin access too.
        for c in &inv.credentials {
            if let CredentialDetail::Trust(t) = &c.detail {
                let admin = principals
                    .get(c.principal.as_str())
                    .is_some_and(|p| p.admin.equivalent == Some(true));
                if admin && parties::outside_owner(cfg, &t.trusted).owner == Owner::Agency {
                    agency_admin_scopes.insert((c.provider, c.scope.clone()));
                }
            }
        }
        let auditors = inv
            .sources
            .iter()
            .filter_map(|s| s.identity.as_deref().and_then(auditor_principal))
            .collect();
        let handover = HandoverCtx {
            scenario: cfg.scenario.as_str().into(),
            date: cfg.handover_date.format("%Y-%m-%d").to_string(),
            access_ends: cfg
                .agency_access_ends
                .map(|t| t.format("%Y-%m-%d").to_string()),
        };
        Facts {
            inv,
            cfg,
            now: inv.generated_at,
            principals,
            classes,
            creds_by_principal,
            findings_by_subject,
            agency_admin_scopes,
            auditors,
            handover,
        }
    }

    fn retained(&self, p: &Principal) -> bool {
        self.cfg.operations.retained.iter().any(|r| {
            *r == p.id || *r == p.name || r.split_once(':').is_some_and(|(_, n)| n == p.name)
        })
    }

    pub(super) fn principal_ctx(&self, p: &Principal) -> PrincipalCtx {
        let class = &self.classes[&p.id];
        let creds = self
            .creds_by_principal
            .get(p.id.as_str())
            .cloned()
            .unwrap_or_default();
        PrincipalCtx {
            id: p.id.clone(),
            kind: kebab(&p.kind),
            name: p.name.clone(),
            owner: class.owner.as_str().into(),
            party: class.party.clone(),
            admin: p.admin.equivalent == Some(true),
            human: parties::is_human(p, &creds),
            runs_audit: self.auditors.contains(&p.id),
            retained: self.retained(p),
            disabled: p.disabled == Some(true),
            tags: p.tags.clone(),
        }
    }

    pub(super) fn credential_ctx(
        &self,
        c: &Credential,
        trusted_owner: Option<Owner>,
    ) -> CredentialCtx {
        let age = c.created.map(|t| days_between(self.now, t));
        let (last_use, since) = match &c.last_used {
            LastUsed::Used { at, .. } => ("used", Some(days_between(self.now, *at))),
            LastUsed::Never => ("never", None),
            LastUsed::Unknown { .. } => ("unknown", None),
        };
        let (stale, basis) = match (since, age) {
            (Some(d), _) => (Some(d), Some("last-use".to_string())),
            (None, Some(a)) => (Some(a), Some("creation".to_string())),
            _ => (None, None),
        };
        let (role, level, resource, time_bound) = match &c.detail {
            CredentialDetail::Binding(b) => (
                Some(b.role.clone()),
                Some(kebab(&b.level)),
                Some(b.resource.clone()),
                b.condition.as_ref().is_some_and(|c| c.expires().is_some()),
            ),
            CredentialDetail::Trust(t) => (None, None, None, t.ends.end().is_some()),
            // An Identity Center assignment: its permission set and the account it opens.
            CredentialDetail::SsoAssignment(a) => (
                Some(a.permission_set_name.clone()),
                None,
                Some(a.account_id.clone()),
                false,
            ),
            // A user's credential: time-bound when its holder's own policies deny
            // everything from a date on (`Principal::access_ends`).
            CredentialDetail::None => {
                let holder = self.principals.get(c.principal.as_str()).copied();
                let ends = crate::model::credential_ends(c, holder);
                (None, None, None, ends.end().is_some())
            }
            _ => (None, None, None, false),
        };
        let key_type = match &c.detail {
            CredentialDetail::ServiceAccountKey { key_type, .. } => Some(key_type.clone()),
            _ => None,
        };
        CredentialCtx {
            id: c.id.clone(),
            kind: if trusted_owner.is_some() && !super::target::trust_kind(c.kind) {
                "secret-policy-grant".into()
            } else {
                kebab(&c.kind)
            },
            provider: c.provider.to_string(),
            scope: c.scope.clone(),
            identifier: c.identifier.clone(),
            active: c.status == Status::Active,
            age_days: age,
            last_use: last_use.into(),
            days_since_last_use: since,
            stale_days: stale,
            stale_basis: basis,
            trusted_owner: trusted_owner.map(|o| o.as_str().to_string()),
            role,
            role_level: level,
            resource,
            time_bound,
            key_type,
            agency_could_read: self
                .agency_admin_scopes
                .contains(&(c.provider, c.scope.clone())),
            findings: self
                .findings_by_subject
                .get(c.id.as_str())
                .cloned()
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The plan read a user's credentials as never time-bound, though the user's own
    // Deny of everything after a date (`Principal::access_ends`) ends them.
    #[test]
    fn a_users_credential_is_time_bound_when_its_holders_deny_ends_it() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/northwind-to-contoso");
        let cfg = crate::config::load(&dir.join("handover-agency-operated.toml")).unwrap();
        let mut inv: Inventory =
            serde_json::from_str(&std::fs::read_to_string(dir.join("inventory.json")).unwrap())
                .unwrap();
        let alice = "arn:aws:iam::123456789012:user/alice.agency";
        let key_ctx = |inv: &Inventory| {
            let facts = Facts::new(inv, &cfg);
            let key = inv
                .credentials
                .iter()
                .find(|c| c.principal == alice && c.kind == CredentialKind::AccessKey)
                .unwrap();
            facts.credential_ctx(key, None).time_bound
        };
        assert!(!key_ctx(&inv));
        for p in inv.principals.iter_mut().filter(|p| p.id == alice) {
            p.access_ends = TimeBound::before(
                DateTime::parse_from_rfc3339("2027-01-31T00:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
            );
        }
        assert!(key_ctx(&inv));
    }
}
