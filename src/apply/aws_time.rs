//! Retain-until on AWS: the agency's access the plan keeps until a date is made to end
//! by itself at that date, the way the audit proves it (`providers::aws::policy_doc`).
//!
//! - A role trust: the Allow statement that lets the plan's principal in gets
//!   `"Condition": {"DateLessThan": {"aws:CurrentTime": "DATE"}}`. When that statement
//!   lets others in too, the principal is split into its own copy of the statement (same
//!   actions and conditions) that gets the condition, and leaves the original; every
//!   other principal, statement and condition is kept. The document read is journaled
//!   for undo (`Undo::TrustPolicy`).
//! - An IAM user (any credential of it the plan retains): ONE inline policy per user
//!   and date, `handover-ends-DATE`, denying every action on every resource with
//!   `DateGreaterThanEquals aws:CurrentTime DATE` (`PutUserPolicy`; undo
//!   `DeleteUserPolicy`). An explicit Deny overrides every Allow, so the user's
//!   credentials stop working at DATE whatever else it holds
//!   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
//!   Several steps on one user share it: once there (its document proving the end),
//!   the others are `already-done`; a `handover-ends-*` policy that proves another end
//!   is `drift`, left alone.
//!
//! DATE is the plan's `until` day; access ends at the start of that day, UTC, as on GCP:
//! `DateLessThan` T and `DateGreaterThanEquals` T both refuse from T on (a plain
//! `DateGreaterThan` T would still allow at T itself). T is written in ISO 8601
//! (`2027-01-31T00:00:00Z`), the format the date condition operators take
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date,
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws-dates.html).
//!
//! Whether a change is needed, and whether the result is proven, is decided by the
//! audit's own analysis (`trust_time_bound`, `deny_all_time_bound`) on the parsed
//! document, never on its text: a trust that some other statement still lets the
//! principal into with no end (its account's root, anyone) is left for a person.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};

use super::aws::{decode_document, fail, too_many, AwsExecutor, Trust, MAX_PAGES};
use super::{Live, Prepared, Write};
use crate::error::Error;
use crate::journal::{ApplyChange, Undo};
use crate::model::{CredentialKind, TimeBound};
use crate::plan::{Step, TargetWhat};
use crate::providers::aws::policy_doc;

/// The inline policies apply puts on users all start so; the date follows.
pub const USER_POLICY_PREFIX: &str = "handover-ends-";

/// The start of the plan's `until` day, UTC.
pub fn end_of(date: &str) -> Option<DateTime<Utc>> {
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The user policy's name for an end at `until`: `handover-ends-2027-01-31`.
pub fn user_policy_name(until: DateTime<Utc>) -> String {
    format!("{USER_POLICY_PREFIX}{}", until.format("%Y-%m-%d"))
}

/// The user policy: every action on every resource denied from `until` on.
pub fn deny_after_document(until: DateTime<Utc>) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "HandoverAccessEnds",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateGreaterThanEquals": {"aws:CurrentTime": iso(until)}}
        }]
    })
}

/// What bounding one principal of a trust policy in time does to it.
#[derive(Debug, PartialEq)]
pub enum TrustBound {
    /// No Allow statement lets the principal in (by name): nothing to bound.
    Absent,
    /// It already provably ends by the date (the audit's verdict).
    AlreadyEnds(TimeBound),
    /// The document with the principal's statements bounded.
    Rewritten(Value),
    /// It cannot be bounded by this edit, and why (a person decides).
    Unprovable(String),
}

/// `doc` with every Allow statement naming `principal` ending at `until` for it (see
/// the module comment), checked with the audit's own analysis.
pub fn bounded_trust(
    doc: &Value,
    principal: &str,
    own_account: &str,
    until: DateTime<Utc>,
) -> TrustBound {
    let parsed = match policy_doc::parse(doc) {
        Ok(p) => p,
        Err(e) => return TrustBound::Unprovable(e),
    };
    let Some(who) = parsed
        .iter()
        .flat_map(|st| policy_doc::outside_principals(st, own_account))
        .find(|p| p.value == principal)
    else {
        return TrustBound::Absent;
    };
    let now = policy_doc::trust_time_bound(&parsed, &who, own_account);
    if now.ends_by(until) {
        return TrustBound::AlreadyEnds(now);
    }
    let statements: Vec<Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => return TrustBound::Absent,
    };
    let mut out = Vec::with_capacity(statements.len() + 1);
    for st in statements {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            out.push(st);
            continue;
        }
        match split_principal(&st, principal) {
            None => out.push(st),
            Some((rest, mut own)) => {
                if let Err(why) = add_date_less_than(&mut own, until) {
                    return TrustBound::Unprovable(why);
                }
                out.extend(rest);
                out.push(own);
            }
        }
    }
    let mut new = doc.clone();
    new["Statement"] = Value::Array(out);
    let after = policy_doc::parse(&new)
        .map(|p| policy_doc::trust_time_bound(&p, &who, own_account))
        .unwrap_or(TimeBound::Unbounded);
    if !after.ends_by(until) {
        let why = match after {
            TimeBound::Conditional { reason } => reason,
            _ => "another statement lets it in with no end".into(),
        };
        return TrustBound::Unprovable(format!(
            "bounding the statements that name {principal} does not end its access by {}: {why}",
            until.format("%Y-%m-%d")
        ));
    }
    TrustBound::Rewritten(new)
}

/// `None` when `st` does not name `principal`; else the statement without it (`None`
/// when it named no one else) and a copy naming only it.
fn split_principal(st: &Value, principal: &str) -> Option<(Option<Value>, Value)> {
    match st.get("Principal")? {
        Value::String(s) if s == principal => Some((None, st.clone())),
        Value::Object(map) => {
            let kind = map.iter().find_map(|(k, v)| {
                let named = match v {
                    Value::String(s) => s == principal,
                    Value::Array(items) => items.iter().any(|i| i.as_str() == Some(principal)),
                    _ => false,
                };
                named.then(|| k.clone())
            })?;
            let mut rest_map = map.clone();
            rest_map.retain(|_, v| match v {
                Value::String(s) => s != principal,
                Value::Array(items) => {
                    items.retain(|i| i.as_str() != Some(principal));
                    !items.is_empty()
                }
                _ => true,
            });
            let mut own = st.clone();
            own["Principal"] = json!({ kind: principal });
            if rest_map.is_empty() {
                return Some((None, own));
            }
            // Sids must be unique within a policy: the copy goes without one.
            if let Some(o) = own.as_object_mut() {
                o.remove("Sid");
            }
            let mut rest = st.clone();
            rest["Principal"] = Value::Object(rest_map);
            Some((Some(rest), own))
        }
        _ => None,
    }
}

/// Adds `DateLessThan aws:CurrentTime T` to the statement's conditions (ANDed with what
/// is there). A `DateLessThan` on `aws:CurrentTime` of its own is not overwritten.
fn add_date_less_than(st: &mut Value, until: DateTime<Utc>) -> Result<(), String> {
    let obj = st.as_object_mut().ok_or("a statement is not an object")?;
    let cond = obj
        .entry("Condition")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(cond) = cond else {
        return Err("a statement's Condition is not an object".into());
    };
    let lt = cond
        .entry("DateLessThan")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(lt) = lt else {
        return Err("a statement's DateLessThan is not an object".into());
    };
    if lt.keys().any(|k| k.eq_ignore_ascii_case("aws:CurrentTime")) {
        return Err(
            "the statement already has a DateLessThan aws:CurrentTime of its own, ending later than the plan's date: a person decides which end holds".into(),
        );
    }
    lt.insert("aws:CurrentTime".into(), Value::String(iso(until)));
    Ok(())
}

impl AwsExecutor {
    /// Retain-until: a role trust or a user's credential.
    pub(super) async fn check_retain(&self, step: &Step) -> Result<Live, Error> {
        let Some(until) = step.until.as_deref().and_then(end_of) else {
            return Ok(Live::LeftForAPerson(
                "the plan gives no end date (until) for this retain-until".into(),
            ));
        };
        match step.target.what {
            TargetWhat::Credential(CredentialKind::RoleTrust) => {
                self.check_retain_trust(step, until).await
            }
            TargetWhat::Credential(_) => {
                let Some(user) = step
                    .target
                    .principal
                    .as_ref()
                    .and_then(|arn| self.users.get(arn))
                else {
                    return Ok(Live::Drift(
                        "the user the plan names no longer exists".into(),
                    ));
                };
                self.check_retain_user(user, until).await
            }
            _ => Ok(Live::LeftForAPerson(
                "not an AWS credential apply bounds in time".into(),
            )),
        }
    }

    async fn check_retain_trust(&self, step: &Step, until: DateTime<Utc>) -> Result<Live, Error> {
        let Trust {
            role,
            principal,
            previous,
            doc,
        } = match self.read_trust(step).await? {
            Ok(t) => t,
            Err(gone) => return Ok(gone),
        };
        let day = until.format("%Y-%m-%d");
        Ok(match bounded_trust(&doc, principal, &self.account, until) {
            TrustBound::Absent => Live::Drift(format!(
                "{role} no longer lets {principal} in: nothing to keep until {day}"
            )),
            TrustBound::AlreadyEnds(_) => Live::AlreadyDone(format!(
                "{role} lets {principal} in only until {day} or earlier already"
            )),
            TrustBound::Unprovable(why) => Live::LeftForAPerson(why),
            TrustBound::Rewritten(new) => Live::AsPlanned(Prepared {
                change: ApplyChange::BoundTrust,
                writes: vec![Write::AwsTrust {
                    role: role.clone(),
                    document: serde_json::to_string(&new).expect("JSON serializes"),
                }],
                calls: vec!["iam:UpdateAssumeRolePolicy".into()],
                undo: Undo::TrustPolicy {
                    role: role.clone(),
                    previous,
                },
                what: format!(
                    "let {principal} into {role} only until {day} (DateLessThan aws:CurrentTime)"
                ),
            }),
        })
    }

    async fn check_retain_user(&self, user: &str, until: DateTime<Utc>) -> Result<Live, Error> {
        let name = user_policy_name(until);
        let day = until.format("%Y-%m-%d");
        for other in self.user_policy_names(user).await? {
            if !other.starts_with(USER_POLICY_PREFIX) {
                continue;
            }
            let ends = self.user_policy_ends(user, &other).await?;
            if other == name && ends == TimeBound::before(until) {
                return Ok(Live::AlreadyDone(format!(
                    "{user}'s access already ends at {day} ({name})"
                )));
            }
            return Ok(Live::Drift(format!(
                "{user} already holds {other}, which does not end its access exactly at {day}: a person decides which end holds"
            )));
        }
        Ok(Live::AsPlanned(Prepared {
            change: ApplyChange::DenyAfter,
            writes: vec![Write::AwsPutUserPolicy {
                user: user.into(),
                name: name.clone(),
                document: deny_after_document(until).to_string(),
            }],
            calls: vec!["iam:PutUserPolicy".into()],
            undo: Undo::UserPolicy {
                user: user.into(),
                name: name.clone(),
            },
            what: format!(
                "end every access of {user} at {day}: inline policy {name} denies everything from then on"
            ),
        }))
    }

    /// The names of the user's inline policies.
    async fn user_policy_names(&self, user: &str) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .iam
                .list_user_policies()
                .user_name(user)
                .set_marker(marker.take())
                .max_items(1000)
                .send()
                .await
                .map_err(|e| fail("iam:ListUserPolicies", &e))?;
            out.extend(page.policy_names().iter().cloned());
            match page.marker().filter(|_| page.is_truncated()) {
                Some(m) => marker = Some(m.to_string()),
                None => return Ok(out),
            }
        }
        Err(too_many("iam:ListUserPolicies"))
    }

    /// What one inline policy of the user proves about when its access ends.
    async fn user_policy_ends(&self, user: &str, name: &str) -> Result<TimeBound, Error> {
        let got = self
            .iam
            .get_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await
            .map_err(|e| fail("iam:GetUserPolicy", &e))?;
        let text = decode_document(got.policy_document()).unwrap_or_default();
        let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(policy_doc::parse(&doc)
            .map(|st| policy_doc::deny_all_time_bound(&st))
            .unwrap_or(TimeBound::Unbounded))
    }

    pub(super) async fn put_user_policy(
        &self,
        user: &str,
        name: &str,
        document: &str,
    ) -> Result<(), Error> {
        self.iam
            .put_user_policy()
            .user_name(user)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("iam:PutUserPolicy", &e))
    }

    /// Deletes the policy; one already gone is fine (an undo redone after a crash).
    pub(super) async fn delete_user_policy(&self, user: &str, name: &str) -> Result<(), Error> {
        match self
            .iam
            .delete_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(fail("iam:DeleteUserPolicy", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCT: &str = "123456789012";
    const AGENCY: &str = "arn:aws:iam::210987654321:root";

    fn until() -> DateTime<Utc> {
        end_of("2027-01-31").unwrap()
    }

    fn rewritten(doc: &Value, principal: &str) -> Value {
        match bounded_trust(doc, principal, ACCT, until()) {
            TrustBound::Rewritten(v) => v,
            other => panic!("not rewritten: {other:?}"),
        }
    }

    #[test]
    fn the_agencys_own_statement_gets_date_less_than_and_keeps_its_conditions() {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Agency", "Effect": "Allow", "Principal": {"AWS": AGENCY}, "Action": "sts:AssumeRole",
             "Condition": {"StringEquals": {"sts:ExternalId": "x"}}},
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]});
        let out = rewritten(&doc, AGENCY);
        assert_eq!(
            out["Statement"][0]["Condition"],
            json!({"StringEquals": {"sts:ExternalId": "x"}, "DateLessThan": {"aws:CurrentTime": "2027-01-31T00:00:00Z"}})
        );
        assert_eq!(out["Statement"][0]["Sid"], "Agency");
        assert_eq!(out["Statement"][1], doc["Statement"][1]);
        assert_eq!(out["Statement"].as_array().unwrap().len(), 2);
        // Bounded now, by the audit's own analysis: a second run has nothing to do.
        assert!(matches!(
            bounded_trust(&out, AGENCY, ACCT, until()),
            TrustBound::AlreadyEnds(_)
        ));
    }

    #[test]
    fn a_principal_sharing_a_statement_is_split_into_its_own_bounded_copy() {
        let other = "arn:aws:iam::111111111111:root";
        let doc = json!({"Statement": {"Sid": "Both", "Effect": "Allow",
            "Principal": {"AWS": [AGENCY, other], "Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}});
        let out = rewritten(&doc, AGENCY);
        let st = out["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(
            st[0]["Principal"],
            json!({"AWS": [other], "Service": "ec2.amazonaws.com"})
        );
        assert_eq!(st[0]["Condition"], doc["Statement"]["Condition"]);
        assert_eq!(st[0]["Sid"], "Both");
        assert_eq!(st[1]["Principal"], json!({"AWS": AGENCY}));
        assert!(st[1].get("Sid").is_none(), "Sids stay unique");
        assert_eq!(
            st[1]["Condition"],
            json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}, "DateLessThan": {"aws:CurrentTime": "2027-01-31T00:00:00Z"}})
        );
        assert_eq!(st[1]["Action"], "sts:AssumeRole");
    }

    #[test]
    fn a_trust_that_lets_it_in_otherwise_or_already_bounded_later_is_left_for_a_person() {
        // Another statement lets the agency account's root in with no end.
        let user = "arn:aws:iam::210987654321:user/dan";
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": user}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": AGENCY}, "Action": "sts:AssumeRole"}
        ]});
        assert!(matches!(
            bounded_trust(&doc, user, ACCT, until()),
            TrustBound::Unprovable(_)
        ));
        let later = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": AGENCY},
            "Action": "sts:AssumeRole", "Condition": {"DateLessThan": {"aws:CurrentTime": "2028-01-01T00:00:00Z"}}}]});
        assert!(matches!(
            bounded_trust(&later, AGENCY, ACCT, until()),
            TrustBound::Unprovable(_)
        ));
        let earlier = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": AGENCY},
            "Action": "sts:AssumeRole", "Condition": {"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}}]});
        assert!(matches!(
            bounded_trust(&earlier, AGENCY, ACCT, until()),
            TrustBound::AlreadyEnds(_)
        ));
        assert_eq!(
            bounded_trust(&doc, "arn:aws:iam::999999999999:root", ACCT, until()),
            TrustBound::Absent
        );
        // A Deny naming it is kept as it is.
        let deny = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": AGENCY}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": {"AWS": AGENCY}, "Action": "sts:TagSession"}
        ]});
        assert_eq!(
            rewritten(&deny, AGENCY)["Statement"][1],
            deny["Statement"][1]
        );
    }

    #[test]
    fn the_user_policy_denies_everything_from_the_start_of_the_day_as_the_audit_reads_it() {
        let doc = deny_after_document(until());
        assert_eq!(user_policy_name(until()), "handover-ends-2027-01-31");
        let st = policy_doc::parse(&doc).unwrap();
        assert_eq!(
            policy_doc::deny_all_time_bound(&st),
            TimeBound::before(until())
        );
        assert!(TimeBound::before(until()).ends_by(until()));
        assert_eq!(end_of("2027-02-30"), None);
        assert_eq!(end_of("31/01/2027"), None);
    }
}
