//! Fault injection for API routes (never admin ones): with probability `rate`, a request
//! is answered 429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, or its connection is dropped
//! without an answer, instead of being served; or (`drop-after-serve`, only when asked
//! for) it is served and then its connection is dropped, so the client cannot know
//! whether a write landed. Two more, only when asked for, make a list that never ends:
//! a list page (a request with `pageSize`, `maxResults` or `pageToken`) is served, and
//! its answer carries a `nextPageToken` whether or not more items exist, fresh on every
//! page (`endless-pages`) or the token the request sent (`repeat-page`), so a client
//! that follows tokens without a bound never stops (`paging::fault_token`).
//!
//! Determinism: draws come from SplitMix64 seeded with `seed`, one pair per API request
//! in arrival order, so a client that sends its requests one at a time sees the same
//! faults on every run with the same seed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::util::splitmix64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultKind {
    /// 429 RESOURCE_EXHAUSTED.
    #[serde(rename = "429")]
    TooManyRequests,
    /// 503 UNAVAILABLE.
    #[serde(rename = "503")]
    Unavailable,
    /// The connection is closed without a response.
    #[serde(rename = "drop")]
    Drop,
    /// The request is served, then the connection is closed without its response.
    #[serde(rename = "drop-after-serve")]
    DropAfterServe,
    /// A list page is served with a fresh `nextPageToken`, whatever is left.
    #[serde(rename = "endless-pages")]
    EndlessPages,
    /// A list page is served with the token it was asked with as its `nextPageToken`.
    #[serde(rename = "repeat-page")]
    RepeatPage,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::TooManyRequests => "429",
            FaultKind::Unavailable => "503",
            FaultKind::Drop => "drop",
            FaultKind::DropAfterServe => "drop-after-serve",
            FaultKind::EndlessPages => "endless-pages",
            FaultKind::RepeatPage => "repeat-page",
        }
    }
}

/// A fault mode as `POST /_admin/faults` takes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    pub rate: f64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "all_kinds")]
    pub kinds: Vec<FaultKind>,
}

fn all_kinds() -> Vec<FaultKind> {
    vec![
        FaultKind::TooManyRequests,
        FaultKind::Unavailable,
        FaultKind::Drop,
    ]
}

impl FaultConfig {
    /// A mode that injects every kind of fault at `rate`, drawn from `seed`.
    pub fn new(rate: f64, seed: u64) -> Self {
        FaultConfig {
            rate,
            seed,
            kinds: all_kinds(),
        }
    }

    pub fn validate(&self) -> ApiResult<()> {
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(ApiError::invalid("rate must be between 0 and 1."));
        }
        if self.kinds.is_empty() {
            return Err(ApiError::invalid(
                "kinds must name at least one of \"429\", \"503\", \"drop\", \"drop-after-serve\", \"endless-pages\", \"repeat-page\".",
            ));
        }
        Ok(())
    }
}

/// The active fault mode and what it has injected so far.
#[derive(Debug, Default)]
pub struct Faults {
    config: Option<FaultConfig>,
    state: u64,
    injected: BTreeMap<FaultKind, u64>,
}

impl Faults {
    /// Installs a mode (a rate of 0 turns faults off) and restarts its sequence.
    pub fn configure(&mut self, config: Option<FaultConfig>) -> ApiResult<()> {
        if let Some(c) = &config {
            c.validate()?;
        }
        self.state = config.as_ref().map_or(0, |c| c.seed);
        self.config = config.filter(|c| c.rate > 0.0);
        self.injected.clear();
        Ok(())
    }

    /// Decides the fate of the next API request.
    pub fn draw(&mut self) -> Option<FaultKind> {
        let config = self.config.as_ref()?;
        let r = splitmix64(&mut self.state);
        let pick = splitmix64(&mut self.state);
        let u = (r >> 11) as f64 / (1u64 << 53) as f64;
        if u >= config.rate {
            return None;
        }
        let kind = config.kinds[(pick % config.kinds.len() as u64) as usize];
        *self.injected.entry(kind).or_default() += 1;
        Some(kind)
    }

    pub fn to_json(&self) -> Value {
        let by_kind: BTreeMap<&str, u64> = self
            .injected
            .iter()
            .map(|(k, n)| (k.as_str(), *n))
            .collect();
        json!({
            "config": self.config,
            "injected": self.injected.values().sum::<u64>(),
            "injectedByKind": by_kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64) -> Vec<Option<FaultKind>> {
        let mut f = Faults::default();
        f.configure(Some(FaultConfig {
            rate: 0.3,
            seed,
            kinds: all_kinds(),
        }))
        .unwrap();
        (0..200).map(|_| f.draw()).collect()
    }

    #[test]
    fn same_seed_same_faults() {
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let n = run(42).iter().filter(|f| f.is_some()).count();
        assert!((30..=90).contains(&n), "about 30% of 200, got {n}");
    }

    #[test]
    fn bad_configs_are_refused() {
        let mut f = Faults::default();
        assert!(f
            .configure(Some(FaultConfig {
                rate: 1.5,
                seed: 0,
                kinds: all_kinds()
            }))
            .is_err());
        assert!(f
            .configure(Some(FaultConfig {
                rate: 0.5,
                seed: 0,
                kinds: vec![]
            }))
            .is_err());
    }
}
