//! An IAM member string (`user:a@b`, `serviceAccount:sa@p.iam.gserviceaccount.com`,
//! `deleted:user:a@b?uid=1`, `allUsers`, ...) parsed once, where a policy is read, into
//! the kind, the name and (for a deleted member) what it was. The assembler passes the
//! parsed member on, and a deleted member's principal carries what it was
//! (`Principal.deleted`), which the party classification reads instead of splitting
//! the name again.
//!
//! Invariants:
//! - The kind is read from the prefix before the first `:`, as IAM writes it
//!   (https://cloud.google.com/iam/docs/principal-identifiers,
//!   https://cloud.google.com/iam/docs/reference/rest/v1/Policy#Binding for the
//!   `deleted:user:EMAIL?uid=ID` forms); a member without a
//!   known prefix (`allUsers`, `allAuthenticatedUsers`, and any form this tool does not
//!   know) is `GcpPublic`, so an unknown form is treated as the widest, never ignored.
//! - The name is the text after the first `:` (the whole member when there is none).
//! - A `deleted:` member's inner member is parsed by the same rules (one level: the
//!   inner kind is read from its own prefix), its address cut at `?uid=`.

use crate::model::{DeletedMember, PrincipalKind};

/// One IAM member, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    /// As the policy writes it (for ids and messages).
    pub raw: &'a str,
    pub kind: PrincipalKind,
    /// The text after the prefix: an address, a domain, or the whole public member.
    pub name: &'a str,
    /// For a `deleted:` member: what it was.
    pub deleted: Option<DeletedMember>,
}

impl<'a> Member<'a> {
    pub fn parse(raw: &'a str) -> Self {
        let (kind, name) = prefix_kind(raw);
        let deleted = (kind == PrincipalKind::GcpDeleted).then(|| {
            let (was, inner) = prefix_kind(name);
            let (email, uid) = match inner.split_once('?') {
                Some((email, query)) => (email, query.strip_prefix("uid=")),
                None => (inner, None),
            };
            DeletedMember {
                was,
                email: email.to_string(),
                uid: uid.map(str::to_string),
            }
        });
        Member {
            raw,
            kind,
            name,
            deleted,
        }
    }

    /// The service account's address, when the member is one.
    pub fn service_account(&self) -> Option<&'a str> {
        (self.kind == PrincipalKind::GcpServiceAccount).then_some(self.name)
    }
}

/// The kind a member's prefix names, and the text after it.
fn prefix_kind(member: &str) -> (PrincipalKind, &str) {
    let (prefix, name) = member.split_once(':').unwrap_or((member, member));
    let kind = match prefix {
        "user" => PrincipalKind::GcpUser,
        "group" => PrincipalKind::GcpGroup,
        "domain" => PrincipalKind::GcpDomain,
        "serviceAccount" => PrincipalKind::GcpServiceAccount,
        "deleted" => PrincipalKind::GcpDeleted,
        _ => PrincipalKind::GcpPublic,
    };
    (kind, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_parse_into_kind_name_and_what_a_deleted_one_was() {
        let m = Member::parse("serviceAccount:sa@p.iam.gserviceaccount.com");
        assert_eq!(m.kind, PrincipalKind::GcpServiceAccount);
        assert_eq!(m.service_account(), Some("sa@p.iam.gserviceaccount.com"));
        let m = Member::parse("user:a@b.example");
        assert_eq!(
            (m.kind, m.name, m.service_account()),
            (PrincipalKind::GcpUser, "a@b.example", None)
        );
        let m = Member::parse("allUsers");
        assert_eq!((m.kind, m.name), (PrincipalKind::GcpPublic, "allUsers"));
        let m = Member::parse("deleted:user:mallory@x.example?uid=123");
        assert_eq!(
            (m.kind, m.name),
            (PrincipalKind::GcpDeleted, "user:mallory@x.example?uid=123")
        );
        assert_eq!(
            m.deleted,
            Some(DeletedMember {
                was: PrincipalKind::GcpUser,
                email: "mallory@x.example".into(),
                uid: Some("123".into()),
            })
        );
        let m = Member::parse("deleted:serviceAccount:sa@p.iam.gserviceaccount.com");
        let d = m.deleted.unwrap();
        assert_eq!(
            (d.was, d.email.as_str(), d.uid),
            (
                PrincipalKind::GcpServiceAccount,
                "sa@p.iam.gserviceaccount.com",
                None
            )
        );
        // A form this tool does not know is the widest kind, never dropped.
        assert_eq!(
            Member::parse("principalSet://x").kind,
            PrincipalKind::GcpPublic
        );
    }
}
