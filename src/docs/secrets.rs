//! The secret scan of documents: credentials pasted into a runbook, a postmortem or any
//! file given with `--scan`. Each rule is anchored on a published rule set, gitleaks'
//! `config/gitleaks.toml` (rule ids cited per rule) and trufflehog's detectors, so a
//! reviewer can compare. The gitleaks and trufflehog rule sets are Go programs' data;
//! the Rust scanner crates on crates.io (rusty_hogs, whose library returns the matched
//! bytes and comes with its cloud-source binaries; young 0.x engines such as keyspoor,
//! cribra or nosecrets-rules) are not a rule set the field maintains and trusts the way
//! it does gitleaks', and a dependency that reads every handed-over document is one
//! more thing to audit. So the rules are written here, ten of them, against the `regex`
//! crate, whose matching is linear in the input (no catastrophic backtracking whatever
//! a document holds).
//!
//! Invariants:
//! - A hit names its line and kind, never the value nor any part of it. The one thing
//!   kept from a value is, for the two kinds that identify a credential of the inventory
//!   (an AWS access key id, a service-account key's `private_key_id`), the identifier in
//!   a [`KeyId`], whose `Debug` is redacted and which is not serialised: the plan
//!   compares it with the inventory and drops it.
//! - Bounded: a line is scanned in windows of at most [`WINDOW`] bytes (overlapping by
//!   more than the longest token), so a megabyte-long line costs linear time.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The longest stretch of a line given to the regexes at once.
pub const WINDOW: usize = 4096;
/// How much consecutive windows overlap: more than the longest token a rule matches.
const OVERLAP: usize = 512;

/// What kind of credential a hit is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum SecretKind {
    AwsAccessKeyId,
    AwsSecretAccessKey,
    GcpServiceAccountKey,
    GcpApiKey,
    PrivateKey,
    GithubToken,
    GitlabToken,
    SlackToken,
    StripeKey,
    /// A high-entropy value assigned to a name like password, secret or token.
    GenericSecret,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKeyId => "aws-access-key-id",
            SecretKind::AwsSecretAccessKey => "aws-secret-access-key",
            SecretKind::GcpServiceAccountKey => "gcp-service-account-key",
            SecretKind::GcpApiKey => "gcp-api-key",
            SecretKind::PrivateKey => "private-key",
            SecretKind::GithubToken => "github-token",
            SecretKind::GitlabToken => "gitlab-token",
            SecretKind::SlackToken => "slack-token",
            SecretKind::StripeKey => "stripe-key",
            SecretKind::GenericSecret => "generic-secret",
        }
    }

    /// What a reader is told the kind is.
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKeyId => "an AWS access key id",
            SecretKind::AwsSecretAccessKey => "an AWS secret access key",
            SecretKind::GcpServiceAccountKey => "a GCP service-account key (JSON)",
            SecretKind::GcpApiKey => "a GCP API key",
            SecretKind::PrivateKey => "a PEM private key",
            SecretKind::GithubToken => "a GitHub token",
            SecretKind::GitlabToken => "a GitLab token",
            SecretKind::SlackToken => "a Slack token",
            SecretKind::StripeKey => "a Stripe key",
            SecretKind::GenericSecret => "a high-entropy value assigned to a secret's name",
        }
    }
}

impl std::fmt::Display for SecretKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The identifier of a credential found in a document (an access key id, a
/// service-account key id), kept only to be compared with the inventory. Redacted in
/// `Debug`, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyId(String);

impl KeyId {
    /// Whether the inventory's identifier is this one.
    pub fn is(&self, identifier: &str) -> bool {
        self.0 == identifier
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyId(<redacted>)")
    }
}

/// One credential found: where and what kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub line: usize,
    pub kind: SecretKind,
    pub key_id: Option<KeyId>,
}

struct Rule {
    kind: SecretKind,
    re: &'static str,
    /// The capture group holding the identifier to compare with the inventory.
    key_id_group: Option<usize>,
    /// Generic assignments: the value (group 1) must look random.
    entropy: bool,
}

/// The rules. Each cites the gitleaks rule id (gitleaks `config/gitleaks.toml`, commit
/// b58d3f1) or the trufflehog detector it follows.
const RULES: &[Rule] = &[
    // gitleaks `aws-access-token`; trufflehog `aws` (the id half).
    Rule {
        kind: SecretKind::AwsAccessKeyId,
        re: r"\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        key_id_group: Some(1),
        entropy: false,
    },
    // trufflehog `aws` (the secret half: 40 base64 characters next to a secret-key
    // name); gitleaks has no standalone rule and finds these with `generic-api-key`.
    Rule {
        kind: SecretKind::AwsSecretAccessKey,
        re: r#"(?i)(?:aws)?[_ .-]?secret[_ .-]?(?:access[_ .-]?)?key["'`]?\s*(?:=|:|=>|:=)\s*["'`]?([A-Za-z0-9/+=]{40})(?:["'`\s;,|)]|$)"#,
        key_id_group: None,
        entropy: false,
    },
    // A service-account key file (`"type": "service_account"` with its
    // `private_key_id`, 40 hex digits): trufflehog `gcp`; gitleaks `gcp-service-account`
    // matches the type line alone, which a doc about key files also has, so the key id
    // is required here.
    Rule {
        kind: SecretKind::GcpServiceAccountKey,
        re: r#""private_key_id"\s*:\s*"([0-9a-f]{40})""#,
        key_id_group: Some(1),
        entropy: false,
    },
    // gitleaks `gcp-api-key`.
    Rule {
        kind: SecretKind::GcpApiKey,
        re: r#"\b(AIza[\w-]{35})(?:[`'"\s;]|\\[nr]|$)"#,
        key_id_group: None,
        entropy: false,
    },
    // gitleaks `private-key`, on one line (a JSON-escaped key); the multi-line form is
    // `pem_blocks`.
    Rule {
        kind: SecretKind::PrivateKey,
        re: r"(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?:\\n|\s)*[A-Za-z0-9+/=]{64}",
        key_id_group: None,
        entropy: false,
    },
    // gitleaks `github-pat`, `github-oauth`, `github-app-token`, `github-refresh-token`,
    // `github-fine-grained-pat`.
    Rule {
        kind: SecretKind::GithubToken,
        re: r"\b(?:gh[pousr]_[0-9a-zA-Z]{36}|github_pat_\w{82})",
        key_id_group: None,
        entropy: false,
    },
    // gitleaks `gitlab-pat`, `gitlab-ptt`, `gitlab-rrt`.
    Rule {
        kind: SecretKind::GitlabToken,
        re: r"\b(?:glpat-[\w-]{20}|glptt-[0-9a-f]{40}|GR1348941[\w-]{20})",
        key_id_group: None,
        entropy: false,
    },
    // gitleaks `slack-bot-token`, `slack-user-token`, `slack-app-token`,
    // `slack-legacy-token`, `slack-webhook-url`.
    Rule {
        kind: SecretKind::SlackToken,
        re: r"(?:xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*|xox[pe](?:-[0-9]{10,13}){3}-[a-zA-Z0-9-]{28,34}|(?i:xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+)|xox[os]-\d+-\d+-\d+-[a-fA-F\d]+|hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56})",
        key_id_group: None,
        entropy: false,
    },
    // gitleaks `stripe-access-token`.
    Rule {
        kind: SecretKind::StripeKey,
        re: r#"\b(?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99}(?:[`'"\s;]|\\[nr]|$)"#,
        key_id_group: None,
        entropy: false,
    },
    // gitleaks `generic-api-key` (narrowed: a secret's name, an assignment, then a value
    // of 16+ characters with letters and digits whose entropy is at least
    // `MIN_ENTROPY` bits a character, gitleaks' threshold of 3.5).
    Rule {
        kind: SecretKind::GenericSecret,
        re: r#"(?i)(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|auth[_-]?key|client[_-]?secret|credentials?)[\w.-]{0,20}["'`]?\s*(?:=|:=|:|=>)\s*["'`]?([A-Za-z0-9+/=_.~!@#$%^&*-]{16,200})(?:["'`\s;,]|$)"#,
        key_id_group: None,
        entropy: true,
    },
];

/// Gitleaks' entropy threshold for `generic-api-key`.
const MIN_ENTROPY: f64 = 3.5;

/// The rules compiled once, ASCII-only (`\w`, `\b`, `\s` and case-insensitivity
/// without Unicode tables): every token the rules look for is ASCII, and so the lazy
/// DFA runs them without falling back to the slower engines on large inputs.
fn compiled() -> &'static (RegexSet, Vec<Regex>) {
    static C: OnceLock<(RegexSet, Vec<Regex>)> = OnceLock::new();
    C.get_or_init(|| {
        let set = RegexSetBuilder::new(RULES.iter().map(|r| r.re))
            .unicode(false)
            .build()
            .expect("the rules compile");
        let each = RULES
            .iter()
            .map(|r| {
                RegexBuilder::new(r.re)
                    .unicode(false)
                    .build()
                    .expect("the rules compile")
            })
            .collect();
        (set, each)
    })
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether a generic assignment's value looks like a secret rather than a word, a path
/// or a placeholder.
fn random_looking(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let placeholder = [
        "example",
        "changeme",
        "xxxx",
        "redacted",
        "placeholder",
        "your",
    ]
    .iter()
    .any(|p| lower.contains(p));
    !placeholder
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_alphabetic())
        && entropy(v) >= MIN_ENTROPY
}

/// The windows a line is scanned in: at most `WINDOW` bytes, overlapping by `OVERLAP`,
/// cut at character boundaries.
fn windows(line: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= line.len() {
            return None;
        }
        let mut end = (start + WINDOW).min(line.len());
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        let w = &line[start..end];
        start = if end == line.len() {
            line.len()
        } else {
            let mut next = end.saturating_sub(OVERLAP).max(start + 1);
            while !line.is_char_boundary(next) {
                next += 1;
            }
            next
        };
        Some(w)
    })
}

/// The hits of one line (`n`, 1-based) by the rules `candidates` (the ones that match
/// somewhere in the text): at most one per kind.
fn scan_line(n: usize, line: &str, candidates: &[usize], hits: &mut Vec<Hit>) {
    let (_, each) = compiled();
    let mut found: Vec<SecretKind> = Vec::new();
    for w in windows(line) {
        for &i in candidates {
            let rule = &RULES[i];
            if found.contains(&rule.kind) {
                continue;
            }
            if !each[i].is_match(w) {
                continue;
            }
            let Some(caps) = each[i]
                .captures_iter(w)
                .find(|c| !rule.entropy || c.get(1).is_some_and(|v| random_looking(v.as_str())))
            else {
                continue;
            };
            // gitleaks `aws-access-token` allowlist: AWS's documented example ids end
            // in EXAMPLE (AKIAIOSFODNN7EXAMPLE).
            if rule.kind == SecretKind::AwsAccessKeyId && caps[0].ends_with("EXAMPLE") {
                continue;
            }
            found.push(rule.kind);
            hits.push(Hit {
                line: n,
                kind: rule.kind,
                key_id: rule
                    .key_id_group
                    .and_then(|g| caps.get(g))
                    .map(|m| KeyId(m.as_str().to_string())),
            });
        }
    }
}

/// Multi-line PEM private keys (gitleaks `private-key`): a BEGIN line followed by at
/// least 64 base64 characters before its END line. A BEGIN line alone (a document that
/// names the format) is not a key.
fn pem_blocks(lines: &[&str], hits: &mut Vec<Hit>) {
    static BEGIN: OnceLock<Regex> = OnceLock::new();
    let begin = BEGIN.get_or_init(|| {
        Regex::new(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----\s*$")
            .expect("compiles")
    });
    let mut i = 0;
    while i < lines.len() {
        if lines[i].len() <= WINDOW && begin.is_match(lines[i]) {
            let body: usize = lines[i + 1..]
                .iter()
                .take_while(|l| !l.contains("-----END"))
                .take(200)
                .map(|l| {
                    l.trim()
                        .bytes()
                        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                        .count()
                })
                .sum();
            if body >= 64 && !hits.iter().any(|h| h.line == i + 1) {
                hits.push(Hit {
                    line: i + 1,
                    kind: SecretKind::PrivateKey,
                    key_id: None,
                });
            }
        }
        i += 1;
    }
}

/// Every credential found in `text`, in line order. One pass of the rule set over
/// the whole text picks the rules worth running line by line (most documents match
/// none, and cost that one pass).
pub fn scan(text: &str) -> Vec<Hit> {
    let lines: Vec<&str> = text.lines().collect();
    let mut hits = Vec::new();
    let candidates: Vec<usize> = compiled().0.matches(text).into_iter().collect();
    if !candidates.is_empty() {
        for (i, line) in lines.iter().enumerate() {
            scan_line(i + 1, line, &candidates, &mut hits);
        }
    }
    pem_blocks(&lines, &mut hits);
    // A line with a credential of a known kind is that credential: the generic rule's
    // match there (its assignment) is the same value, not a second one.
    let specific: std::collections::HashSet<usize> = hits
        .iter()
        .filter(|h| h.kind != SecretKind::GenericSecret)
        .map(|h| h.line)
        .collect();
    hits.retain(|h| h.kind != SecretKind::GenericSecret || !specific.contains(&h.line));
    hits.sort_by_key(|h| (h.line, h.kind));
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_scanned_in_windows_and_a_token_across_a_cut_is_found() {
        let pad = "a ".repeat(WINDOW / 2 - 5);
        let line = format!("{pad}ghp_{}", "A1b2".repeat(9));
        let hits = scan(&line);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].kind, SecretKind::GithubToken);
        assert!(windows(&"é".repeat(10_000)).all(|w| w.len() <= WINDOW));
    }

    #[test]
    fn a_key_id_never_shows_in_debug() {
        let hits = scan("id AKIAABCDEFGHIJKLMNOP here");
        assert_eq!(hits[0].kind, SecretKind::AwsAccessKeyId);
        assert!(hits[0].key_id.as_ref().unwrap().is("AKIAABCDEFGHIJKLMNOP"));
        assert!(!format!("{hits:?}").contains("AKIA"));
    }

    #[test]
    fn words_paths_and_placeholders_are_not_generic_secrets() {
        for s in [
            "password: see the vault entry",
            "token = prod/stripe-key-name",
            "secret: EXAMPLEEXAMPLE123456",
            "api_key = ${STRIPE_API_KEY_VALUE_2}x",
        ] {
            assert!(scan(s).is_empty(), "{s}");
        }
        assert_eq!(scan("db_password = \"q8Zt3vP0xLw9Rk2m\"").len(), 1);
    }
}
