//! Several identity providers in one verifier (multi-tenant servers, or two providers during a
//! migration). Each provider is a complete verifier of its own — key source, audience,
//! algorithms, claim dialect, cache — for exactly one issuer. A token's `iss` is read before the
//! signature only to choose which provider verifies it; that provider then checks everything,
//! `iss` included. An unknown `iss` is `issuer_mismatch` with no network traffic, and no
//! provider is ever created from a token.

use serde::Deserialize;

use crate::error::{Error, ErrorCode, ErrorDetail, quote};
use crate::stats::Stats;
use crate::token::{self, Compact};
use crate::verifier::Verifier;

/// Most providers in one verifier.
pub(crate) const MAX_PROVIDERS: usize = 64;

/// One trusted provider: its issuer and the verifier for its tokens.
#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) issuer: Box<str>,
    pub(crate) verifier: Verifier,
}

/// The providers of a verifier, in configuration order.
#[derive(Debug, Default)]
pub(crate) struct Providers(Vec<Provider>);

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    iss: Option<std::borrow::Cow<'a, str>>,
}

impl Providers {
    pub(crate) fn new(providers: Vec<Provider>) -> Providers {
        Providers(providers)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.0.iter()
    }

    /// The provider named by the token's `iss`, read without trusting it: the chosen provider
    /// verifies the token in full.
    pub(crate) fn route(&self, token: &str, max_bytes: usize) -> Result<&Verifier, Error> {
        let compact = Compact::split(token, max_bytes)?;
        let payload = token::decode_segment(compact.payload_b64, "token payload")?;
        let peek: Peek<'_> = serde_json::from_slice(&payload).map_err(|_| {
            Error::malformed("token claims are not a JSON object with a string iss")
        })?;
        let Some(iss) = peek.iss else {
            return Err(Error::for_claim(
                ErrorCode::ClaimMissing,
                "iss",
                "token has no iss claim, so no provider can be chosen",
            ));
        };
        match self.0.iter().find(|p| *p.issuer == *iss) {
            Some(provider) => Ok(&provider.verifier),
            None => {
                let expected: Vec<String> = self.0.iter().map(|p| p.issuer.to_string()).collect();
                Err(Error::for_claim(
                    ErrorCode::IssuerMismatch,
                    "iss",
                    format!(
                        "issuer mismatch: token has {}, which is none of the {} configured providers",
                        quote(&iss),
                        self.0.len()
                    ),
                )
                .with_detail(ErrorDetail {
                    expected,
                    found: vec![iss.chars().take(80).collect()],
                    ..ErrorDetail::default()
                }))
            }
        }
    }

    /// Adds what the providers did to the outer verifier's counters.
    pub(crate) fn add_stats(&self, stats: &mut Stats) {
        for provider in &self.0 {
            let s = provider.verifier.stats();
            stats.cache_hits += s.cache_hits;
            stats.verified += s.verified;
            stats.introspected += s.introspected;
            stats.cache_misses += s.cache_misses;
            stats.cache_inserts += s.cache_inserts;
            stats.cache_evictions += s.cache_evictions;
            stats.cache_entries += s.cache_entries;
            stats.cache_capacity += s.cache_capacity;
            stats.discovery_fetches += s.discovery_fetches;
            stats.discovery_failures += s.discovery_failures;
            stats.jwks_fetches += s.jwks_fetches;
            stats.jwks_failures += s.jwks_failures;
            stats.kid_refreshes += s.kid_refreshes;
            stats.key_generation = stats.key_generation.max(s.key_generation);
            stats.key_age = match (stats.key_age, s.key_age) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            stats.keys_stale |= s.keys_stale;
            stats.introspections += s.introspections;
            stats.introspection_failures += s.introspection_failures;
        }
    }
}
