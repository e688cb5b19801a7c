//! Re-encrypting an AWS secret that is under a KMS key of the agency's under the
//! customer's key the config approves (`TargetRef::reencrypt`), before any agency
//! access ends: if the agency's key went first, the value would be lost.
//!
//! - The live check (`DescribeSecret`): the secret's `KmsKeyId` is the key the plan saw
//!   (the agency's) → the change is made; it is the customer's key and the current
//!   version is the one this step writes → `already-done`; it is the customer's key but
//!   the current version is someone else's → the change is made (a key changed by hand
//!   without a new version leaves the current value under the old key); any other key,
//!   or the secret gone → `drift`.
//! - The change is ONE `UpdateSecret` carrying the customer's `KmsKeyId` and the current
//!   value (read by `GetSecretValue` just before, held in a `SecretValue`, never logged,
//!   zeroized on drop), so the key and the new version under it land together: no crash
//!   leaves the key switched with the current value still under the agency's key.
//!   AWS documents why the new version is needed: changing the key alone keeps the
//!   existing versions readable with the previous key; "To make AWSCURRENT decryptable
//!   only with the new key, create a new version of the secret with the new key"
//!   (https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_update-encryption-key.html),
//!   and `UpdateSecret` with `SecretString`/`SecretBinary` creates that version and
//!   moves `AWSCURRENT` to it
//!   (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecret.html).
//! - The new version's id (`ClientRequestToken`) is derived from the step and the
//!   version it replaces, so a retried request is ignored rather than doubled (the
//!   token's documented idempotency), and a resumed run recognises its own version
//!   (current = token of the previous version).
//! - The journal holds the previous key id for undo (`Undo::SecretKey`), never the
//!   value. Undo sets the previous key back (`UpdateSecret KmsKeyId`); it cannot remove
//!   the version written under the customer's key (it stays, and stays current).

use sha2::{Digest, Sha256};

use super::aws::AwsExecutor;
use super::{Live, Prepared, Write};
use crate::error::Error;
use crate::journal::{ApplyChange, Undo};
use crate::model::Provider;
use crate::plan::{ReEncrypt, Step};
use crate::providers::aws::live::classify;
use crate::secret::{SecretValue, ValueKind};

/// A failed Secrets Manager call as an error naming the operation (never the value).
fn fail_sm<E>(
    operation: &str,
    e: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Error
where
    E: aws_sdk_secretsmanager::error::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    let f = classify(e);
    if f.denied {
        Error::Access {
            provider: Provider::Aws,
            operation: operation.into(),
            what: f.message,
            hint: "check that the identity holds the policy apply needs and may use both KMS keys (see docs/apply.md)".into(),
        }
    } else {
        Error::Api {
            provider: Provider::Aws,
            operation: operation.into(),
            what: f.message,
            hint: "retry the run: steps journaled as done are not made again".into(),
        }
    }
}

/// The id of the version this step writes in place of `replaced`: 41 characters, within
/// the 32 to 64 that `ClientRequestToken` takes.
pub fn version_token(step_id: &str, replaced: &str) -> String {
    let h = Sha256::digest(format!("{step_id}\n{replaced}").as_bytes());
    format!(
        "handover-{}",
        h.iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// What `DescribeSecret` says of a secret: its key and its current and previous versions.
struct Described {
    key: Option<String>,
    current: Option<String>,
    previous: Option<String>,
}

impl AwsExecutor {
    /// A Secrets Manager client for `region` (re-encryption here, a secret's rotate in
    /// `aws`).
    pub(super) fn secrets(&self, region: &str) -> aws_sdk_secretsmanager::Client {
        let conf = aws_sdk_secretsmanager::config::Builder::from(&self.sdk)
            .region(aws_sdk_secretsmanager::config::Region::new(
                region.to_string(),
            ))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(conf)
    }

    /// The secret's key and versions; `None` when it no longer exists.
    async fn describe(&self, region: &str, secret: &str) -> Result<Option<Described>, Error> {
        match self
            .secrets(region)
            .describe_secret()
            .secret_id(secret)
            .send()
            .await
        {
            Ok(d) => {
                let stage = |label: &str| {
                    d.version_ids_to_stages().and_then(|m| {
                        m.iter()
                            .find(|(_, stages)| stages.iter().any(|s| s == label))
                            .map(|(v, _)| v.clone())
                    })
                };
                Ok(Some(Described {
                    key: d.kms_key_id().filter(|k| !k.is_empty()).map(str::to_string),
                    current: stage("AWSCURRENT"),
                    previous: stage("AWSPREVIOUS"),
                }))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(fail_sm("secretsmanager:DescribeSecret", &e)),
        }
    }

    /// The live check of a re-encryption step.
    pub(super) async fn check_reencrypt(&self, step: &Step, r: &ReEncrypt) -> Result<Live, Error> {
        let Some(region) = step.target.region.as_deref() else {
            return Ok(Live::LeftForAPerson(
                "the plan names no region for this secret".into(),
            ));
        };
        let secret = &step.target.id;
        let Some(d) = self.describe(region, secret).await? else {
            return Ok(Live::Drift("the secret no longer exists".into()));
        };
        let to = r.to.as_str();
        let Some(current) = d.current.clone() else {
            return Ok(Live::LeftForAPerson(
                "the secret has no current version: there is no value to re-encrypt".into(),
            ));
        };
        if d.key.as_deref() == Some(to) {
            let ours = d
                .previous
                .as_deref()
                .is_some_and(|p| version_token(&step.id, p) == current);
            if ours {
                return Ok(Live::AlreadyDone(format!(
                    "the secret is under the customer's key {to} and its current version was written under it"
                )));
            }
        } else if d.key != r.from {
            return Ok(Live::Drift(format!(
                "the secret is under {}, not the key the plan saw ({})",
                d.key
                    .as_deref()
                    .unwrap_or("the default key aws/secretsmanager"),
                r.from
                    .as_deref()
                    .unwrap_or("the default key aws/secretsmanager")
            )));
        }
        let token = version_token(&step.id, &current);
        Ok(Live::AsPlanned(Prepared {
            change: ApplyChange::ReEncrypt,
            writes: vec![Write::AwsReEncrypt {
                secret: secret.clone(),
                region: region.into(),
                key: to.into(),
                token,
            }],
            calls: vec![
                "secretsmanager:GetSecretValue".into(),
                "secretsmanager:UpdateSecret".into(),
            ],
            undo: Undo::SecretKey {
                secret: secret.clone(),
                region: region.into(),
                previous: d.key.clone(),
            },
            what: format!(
                "re-encrypt {} under the customer's key {to}: a new current version of the same value under it",
                step.target.label
            ),
        }))
    }

    /// Reads the current value and writes it back as a new version under `key`, in one
    /// `UpdateSecret` with `key` (the value only ever in a `SecretValue`).
    pub(super) async fn reencrypt(
        &self,
        region: &str,
        secret: &str,
        key: &str,
        token: &str,
    ) -> Result<(), Error> {
        let sm = self.secrets(region);
        let v = sm
            .get_secret_value()
            .secret_id(secret)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(|e| fail_sm("secretsmanager:GetSecretValue", &e))?;
        let value = match (v.secret_string(), v.secret_binary()) {
            (Some(s), _) => SecretValue::text(s.to_string()),
            (None, Some(b)) => SecretValue::binary(b.as_ref().to_vec()),
            (None, None) => {
                return Err(Error::Api {
                    provider: Provider::Aws,
                    operation: "secretsmanager:GetSecretValue".into(),
                    what: format!("{secret} has no current value"),
                    hint: "re-encrypt it by hand, or give it a value first".into(),
                })
            }
        };
        drop(v);
        let mut req = sm
            .update_secret()
            .secret_id(secret)
            .kms_key_id(key)
            .client_request_token(token);
        req = match value.kind() {
            ValueKind::Text => {
                req.secret_string(String::from_utf8_lossy(value.expose()).into_owned())
            }
            ValueKind::Binary => req.secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(
                value.expose().to_vec(),
            )),
        };
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| fail_sm("secretsmanager:UpdateSecret", &e))
    }

    /// Sets the secret's key back (undo): `None` is the default key, which
    /// `UpdateSecret` takes as an empty `KmsKeyId`.
    pub(super) async fn set_secret_key(
        &self,
        region: &str,
        secret: &str,
        key: Option<&str>,
    ) -> Result<(), Error> {
        self.secrets(region)
            .update_secret()
            .secret_id(secret)
            .kms_key_id(key.unwrap_or(""))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail_sm("secretsmanager:UpdateSecret", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_token_is_stable_per_replaced_version_and_in_aws_bounds() {
        let a = version_token("s-0123456789ab", "v1");
        assert_eq!(a, version_token("s-0123456789ab", "v1"));
        assert_ne!(a, version_token("s-0123456789ab", "v2"));
        assert_ne!(a, version_token("s-ba9876543210", "v1"));
        assert!((32..=64).contains(&a.len()), "{a}");
    }
}
