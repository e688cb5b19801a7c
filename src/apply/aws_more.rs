//! More of the AWS executor of `apply`: a grant in a secret's resource policy (the
//! plan's `secret-policy-grant`), removed through Secrets Manager.
//!
//! Invariants:
//! - The secret is the one the plan's target names as data (`TargetRef::secret`, its
//!   ARN; `TargetRef::region`); nothing is parsed out of an id. A plan without that field
//!   (made before it existed) leaves the step for a person.
//! - The policy loses only the principal the step names, in Allow statements only (a
//!   Deny naming it keeps denying), and a statement only when that was its only
//!   principal (`aws::without_principal`, as for a role's trust); every other
//!   statement, condition and field is kept as read. When nothing would be left, the
//!   policy is deleted (`DeleteResourcePolicy`) rather than written empty.
//! - The document read is journaled for undo, which puts it back (`PutResourcePolicy`).
//!   Secrets Manager has no version guard on a policy, so the write first reads the
//!   policy again and refuses (the step fails, a rerun checks it afresh) when it is not
//!   the document the check read: a change made in between is never overwritten.
//! - A secret gone since the plan is `drift`; a policy that no longer names the
//!   principal (or no policy) is `already-done`.
//! - Only the policy is read (`GetResourcePolicy`), never the secret's value.

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_config::{Region, SdkConfig};
use aws_sdk_secretsmanager::Client;
use serde_json::Value;

use super::aws::{fail, without_principal, TrustEdit};
use super::{Live, Prepared, Write};
use crate::error::Error;
use crate::journal::{ApplyChange, Undo};
use crate::model::Provider;
use crate::plan::Step;

/// Secrets Manager clients of one account, one per region, made on first use.
pub struct SecretPolicies {
    config: SdkConfig,
    clients: Mutex<BTreeMap<String, Client>>,
}

/// A secret's resource policy as read: `None` when it has none.
type Read = Option<String>;

impl SecretPolicies {
    pub fn new(config: &SdkConfig) -> Self {
        SecretPolicies {
            config: config.clone(),
            clients: Mutex::new(BTreeMap::new()),
        }
    }

    fn client(&self, region: &str) -> Client {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let conf = aws_sdk_secretsmanager::config::Builder::from(&self.config)
                    .region(Region::new(region.to_string()))
                    .build();
                Client::from_conf(conf)
            })
            .clone()
    }

    /// The secret's policy, `Ok(None)` without one, `Err(None)` when the secret is gone.
    async fn read(&self, secret: &str, region: &str) -> Result<Result<Read, ()>, Error> {
        match self
            .client(region)
            .get_resource_policy()
            .secret_id(secret)
            .send()
            .await
        {
            Ok(out) => Ok(Ok(out.resource_policy().map(str::to_string))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(Err(()))
            }
            Err(e) => Err(fail("secretsmanager:GetResourcePolicy", &e)),
        }
    }

    /// The live check of a revoke of one principal's grant in a secret's policy.
    pub async fn check(&self, step: &Step) -> Result<Live, Error> {
        let t = &step.target;
        let (Some(secret), Some(region), Some(principal)) =
            (t.secret.as_ref(), t.region.as_deref(), t.name.as_deref())
        else {
            return Ok(Live::LeftForAPerson(
                "the plan names no secret, region and principal for this grant (a plan made before apply could remove one): plan again".into(),
            ));
        };
        let name = &secret.name;
        let previous = match self.read(&secret.id, region).await? {
            Err(()) => return Ok(Live::Drift(format!("secret {name} is gone"))),
            Ok(None) => {
                return Ok(Live::AlreadyDone(format!(
                    "secret {name} has no resource policy"
                )))
            }
            Ok(Some(p)) => p,
        };
        let Ok(doc) = serde_json::from_str::<Value>(&previous) else {
            return Ok(Live::LeftForAPerson(format!(
                "the resource policy of secret {name} is not JSON: look at it in the console"
            )));
        };
        let (document, call, what) = match without_principal(&doc, principal) {
            TrustEdit::Absent => {
                return Ok(Live::AlreadyDone(format!(
                    "the resource policy of secret {name} no longer lets {principal} in"
                )))
            }
            TrustEdit::Empty => (
                None,
                "secretsmanager:DeleteResourcePolicy",
                format!("delete the resource policy of secret {name}: it lets only {principal} in"),
            ),
            TrustEdit::Rewritten(new) => (
                Some(serde_json::to_string(&new).expect("JSON serializes")),
                "secretsmanager:PutResourcePolicy",
                format!("rewrite the resource policy of secret {name} without {principal}"),
            ),
        };
        Ok(Live::AsPlanned(Prepared {
            change: ApplyChange::RewriteSecretPolicy,
            writes: vec![Write::AwsSecretPolicy {
                secret: secret.id.clone(),
                region: region.to_string(),
                read: Some(previous.clone()),
                document,
            }],
            calls: vec!["secretsmanager:GetResourcePolicy".into(), call.to_string()],
            undo: Undo::SecretPolicy {
                secret: secret.id.clone(),
                region: region.to_string(),
                previous,
            },
            what,
        }))
    }

    /// Writes `document` as the secret's policy (`None`: deletes it), after checking
    /// that the policy is still `read` when that is given.
    pub async fn write(
        &self,
        secret: &str,
        region: &str,
        read: Option<&str>,
        document: Option<&str>,
    ) -> Result<(), Error> {
        if let Some(expected) = read {
            let now = self.read(secret, region).await?;
            if now.as_ref().ok().and_then(|p| p.as_deref()) != Some(expected) {
                return Err(Error::Api {
                    provider: Provider::Aws,
                    operation: "secretsmanager:GetResourcePolicy".into(),
                    what: format!("the resource policy of {secret} changed since the live check"),
                    hint: "run apply again: the step is checked afresh".into(),
                });
            }
        }
        let client = self.client(region);
        match document {
            Some(doc) => client
                .put_resource_policy()
                .secret_id(secret)
                .resource_policy(doc)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail("secretsmanager:PutResourcePolicy", &e)),
            None => client
                .delete_resource_policy()
                .secret_id(secret)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| fail("secretsmanager:DeleteResourcePolicy", &e)),
        }
    }
}
