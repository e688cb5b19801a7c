//! The customer's KMS keys a person approved for re-encrypting secrets that are under a
//! key of the agency's (`[customer] kms_keys = { "ACCOUNT/REGION" = "arn:aws:kms:..." }`).
//!
//! Invariants:
//! - Parsed once, when the config is read: a `KmsKeyArn` is a key ARN
//!   (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`) taken apart into its fields here and
//!   nowhere else; an `AccountRegion` is a 12-digit account and a region. Anything else
//!   is refused with the entry named (a key ARN is not secret, but input is quoted).
//! - Bounded: an ARN or entry name longer than `MAX_ARN_CHARS` is refused unread, and a
//!   config names at most `MAX_KMS_KEYS` keys.
//! - An alias (`alias/...`) is refused: an alias can be pointed at another key later, so
//!   approving it would not approve one key.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::quote_input;

/// Longest ARN or `ACCOUNT/REGION` accepted (a KMS key ARN is under 100 characters).
pub const MAX_ARN_CHARS: usize = 256;
/// Most keys one config names (one per account and region).
pub const MAX_KMS_KEYS: usize = 1_000;

/// A KMS key's ARN, parsed: its partition, region, account and key id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KmsKeyArn {
    arn: String,
    pub region: String,
    pub account: String,
    pub key_id: String,
}

impl KmsKeyArn {
    /// The ARN as written (and as Secrets Manager is given it).
    pub fn as_str(&self) -> &str {
        &self.arn
    }
}

fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.contains('-')
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

impl TryFrom<String> for KmsKeyArn {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let hint = "write the key's ARN, arn:aws:kms:REGION:ACCOUNT:key/KEY_ID (not an alias)";
        if s.len() > MAX_ARN_CHARS {
            return Err(format!(
                "a KMS key ARN of {} characters; at most {MAX_ARN_CHARS}: {hint}",
                s.len()
            ));
        }
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return Err(format!("{} is not a KMS key ARN: {hint}", quote_input(&s)));
        };
        let key_id = resource.strip_prefix("key/").unwrap_or_default();
        let ok = arn == "arn"
            && matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
            && service == "kms"
            && is_region(region)
            && is_account(account)
            && !key_id.is_empty()
            && key_id.len() <= 128
            && key_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            return Err(format!("{} is not a KMS key ARN: {hint}", quote_input(&s)));
        }
        Ok(KmsKeyArn {
            region: region.into(),
            account: account.into(),
            key_id: key_id.into(),
            arn: s,
        })
    }
}

impl From<KmsKeyArn> for String {
    fn from(k: KmsKeyArn) -> String {
        k.arn
    }
}

impl std::fmt::Display for KmsKeyArn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.arn)
    }
}

impl JsonSchema for KmsKeyArn {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KmsKeyArn".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut s = String::json_schema(generator);
        s.insert(
            "description".into(),
            "A KMS key's ARN: arn:aws:kms:REGION:ACCOUNT:key/KEY_ID".into(),
        );
        s.insert(
            "pattern".into(),
            r"^arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$".into(),
        );
        s
    }
}

/// Where secrets live: an AWS account and a region (`ACCOUNT/REGION` in the config).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountRegion {
    pub account: String,
    pub region: String,
}

impl TryFrom<String> for AccountRegion {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let bad = || {
            format!(
                "{} is not ACCOUNT/REGION (a 12-digit account id, a slash, a region such as us-east-1)",
                quote_input(&s)
            )
        };
        if s.len() > MAX_ARN_CHARS {
            return Err(format!(
                "an account/region of {} characters is not ACCOUNT/REGION",
                s.len()
            ));
        }
        match s.split_once('/') {
            Some((a, r)) if is_account(a) && is_region(r) => Ok(AccountRegion {
                account: a.into(),
                region: r.into(),
            }),
            _ => Err(bad()),
        }
    }
}

impl From<AccountRegion> for String {
    fn from(a: AccountRegion) -> String {
        format!("{}/{}", a.account, a.region)
    }
}

impl std::fmt::Display for AccountRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

impl JsonSchema for AccountRegion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AccountRegion".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

/// What the config's `kms_keys` must also satisfy beyond parsing: the key is the
/// customer's (its account is one of `customer_accounts`) and in the region it is named
/// for. Each problem names the entry.
pub fn check(
    label: &str,
    keys: &std::collections::BTreeMap<AccountRegion, KmsKeyArn>,
    customer_accounts: Option<&[String]>,
    problems: &mut Vec<String>,
) {
    if keys.is_empty() {
        return;
    }
    let Some(customer_accounts) = customer_accounts else {
        problems.push(format!(
            "[{label}] kms_keys: only the customer names KMS keys to re-encrypt secrets under"
        ));
        return;
    };
    if keys.len() > MAX_KMS_KEYS {
        problems.push(format!(
            "[{label}] kms_keys: {} keys; at most {MAX_KMS_KEYS}",
            keys.len()
        ));
        return;
    }
    for (at, key) in keys {
        if !customer_accounts.contains(&key.account) {
            problems.push(format!(
                "[{label}] kms_keys.\"{at}\": the key's account {} is not one of the customer's aws_accounts",
                key.account
            ));
        }
        if key.region != at.region {
            problems.push(format!(
                "[{label}] kms_keys.\"{at}\": the key is in {}, not {}; Secrets Manager uses a key of the secret's region",
                key.region, at.region
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_arn_parses_to_its_fields_and_anything_else_is_refused() {
        let k = KmsKeyArn::try_from(
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                .to_string(),
        )
        .unwrap();
        assert_eq!(
            (k.account.as_str(), k.region.as_str()),
            ("111122223333", "eu-west-1")
        );
        assert_eq!(k.key_id, "1234abcd-12ab-34cd-56ef-1234567890ab");
        for bad in [
            "arn:aws:kms:eu-west-1:111122223333:alias/handover",
            "arn:aws:kms:eu-west-1:1111:key/abc",
            "arn:aws:s3:eu-west-1:111122223333:key/abc",
            "arn:aws:kms::111122223333:key/abc",
            "arn:aws:kms:eu-west-1:111122223333:key/",
            "arn:aws:kms:eu-west-1:111122223333:key/a:b",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "",
        ] {
            assert!(KmsKeyArn::try_from(bad.to_string()).is_err(), "{bad}");
        }
        let long = format!("arn:aws:kms:eu-west-1:111122223333:key/{}", "a".repeat(300));
        let e = KmsKeyArn::try_from(long).unwrap_err();
        assert!(!e.contains("aaaa"), "an overlong ARN is not echoed: {e}");
    }

    fn load_with(
        agency_extra: &str,
        customer_extra: &str,
    ) -> Result<crate::config::HandoverConfig, crate::error::Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("handover.toml");
        std::fs::write(
            &path,
            format!(
                "scenario = \"full-transfer\"\nhandover_date = \"2026-11-01\"\n\n[agency]\nname = \"Northwind\"\n\
                 aws_accounts = [\"210987654321\"]\n{agency_extra}\n\n[customer]\nname = \"Contoso\"\n\
                 aws_accounts = [\"123456789012\"]\n{customer_extra}\n"
            ),
        )
        .unwrap();
        crate::config::load(&path)
    }

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn the_customers_key_for_its_account_and_region_is_read_as_data() {
        let cfg = load_with(
            "",
            &format!("kms_keys = {{ \"123456789012/us-east-1\" = \"{KEY}\" }}"),
        )
        .unwrap();
        let at = AccountRegion::try_from("123456789012/us-east-1".to_string()).unwrap();
        let k = &cfg.customer.kms_keys[&at];
        assert_eq!((k.as_str(), k.account.as_str()), (KEY, "123456789012"));
    }

    // A key must be the customer's, in the region it is named for, and only the customer
    // names keys: anything else is an input error (exit 3) naming the entry.
    #[test]
    fn a_key_of_another_account_region_or_party_is_refused() {
        let agency_key = KEY.replace("123456789012", "210987654321");
        for (agency, customer, says) in [
            ("", format!("kms_keys = {{ \"123456789012/us-east-1\" = \"{agency_key}\" }}"), "not one of the customer's aws_accounts"),
            ("", format!("kms_keys = {{ \"123456789012/eu-west-1\" = \"{KEY}\" }}"), "the key is in us-east-1, not eu-west-1"),
            (&*format!("kms_keys = {{ \"210987654321/us-east-1\" = \"{KEY}\" }}"), String::new(), "only the customer names KMS keys"),
            ("", "kms_keys = { \"123456789012/us-east-1\" = \"arn:aws:kms:us-east-1:123456789012:alias/x\" }".into(), "line"),
            ("", format!("kms_keys = {{ \"us-east-1\" = \"{KEY}\" }}"), "line"),
        ] {
            let e = load_with(agency, &customer).expect_err(&customer);
            assert_eq!(crate::cli::exit::code_for(&e), 3, "{e}");
            assert!(e.to_string().contains(says), "{says}: {e}");
        }
    }

    #[test]
    fn an_account_region_parses_and_a_malformed_one_is_refused() {
        let a = AccountRegion::try_from("111122223333/us-east-1".to_string()).unwrap();
        assert_eq!(a.to_string(), "111122223333/us-east-1");
        for bad in ["111122223333", "1111/us-east-1", "111122223333/US", "/"] {
            assert!(AccountRegion::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }
}
