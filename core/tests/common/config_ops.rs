//! Builds verifiers from arbitrary option values, for the "no panic from any public entry point"
//! property. Shared by `core/tests/properties.rs` (proptest, in CI) and the `builder` fuzz target
//! (libFuzzer), so both explore the same surface: each `(selector, number, text)` triple becomes one
//! builder call with hostile values — huge, zero and maximal durations and sizes, arbitrary
//! strings as issuers, keys, PEM, JWKS, URLs and secrets.
#![allow(dead_code)] // each user takes a different part

use std::sync::Arc;
use std::time::Duration;

use jwtgate::sign::SigningKey;
use jwtgate::{
    Algorithm, ErrorCode, FetchLimits, FetchResponse, Fetcher, StaticToken, Verifier,
    VerifierBuilder,
};

/// One builder call: which option, a number and a string to derive its value from.
pub type Op = (u8, u64, String);

/// A fetcher that never reaches a network: remote key sources fail fast and typed.
struct Offline;

impl Fetcher for Offline {
    fn get(&self, _url: &str, _limits: &FetchLimits) -> Result<FetchResponse, String> {
        Err("offline".into())
    }
}

/// A duration from a number: small values as milliseconds, then seconds, then the extremes.
fn duration(n: u64) -> Duration {
    match n % 4 {
        0 => Duration::from_millis(n / 4 % 10_000),
        1 => Duration::from_secs(n / 4),
        2 => Duration::MAX,
        _ => Duration::ZERO,
    }
}

/// A size from a number: small values, or the value as it is (up to `usize::MAX`).
fn size(n: u64) -> usize {
    if n % 2 == 0 {
        (n / 2 % 5000) as usize
    } else {
        usize::try_from(n).unwrap_or(usize::MAX)
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(',').map(str::to_owned).collect()
}

/// Applies `ops` to a builder that already trusts `key` (so many inputs reach verification).
pub fn builder(ops: &[Op], key: &SigningKey) -> VerifierBuilder {
    let mut b = Verifier::builder();
    for (selector, n, text) in ops {
        let n = *n;
        b = match selector % 27 {
            0 => b.issuer(text.as_str()),
            1 => b.audience(text.as_str()),
            2 => b.audiences(words(text)),
            3 => b.jwks(text),
            4 => b.jwks(&key.public_jwks()),
            5 => b.public_key_pem(text),
            6 => b.hmac_secret(
                Algorithm::ALL[n as usize % Algorithm::ALL.len()],
                text.as_bytes(),
            ),
            7 => b.jwks_uri(text.as_str()).fetcher(Arc::new(Offline)),
            8 => b.algorithms(
                Algorithm::ALL
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| n >> i & 1 == 1)
                    .map(|(_, a)| a),
            ),
            9 => b.required_scopes(words(text)),
            10 => b.leeway(duration(n)),
            11 => b.typ(text.as_str()),
            12 => b.require_claims(words(text)),
            13 => b.static_token(text, format!("client-{n}")),
            14 => b.static_tokens([StaticToken::new(text, "c").with_scopes(words(text))]),
            15 => b.cache_size(size(n)),
            16 => b.max_token_bytes(size(n)),
            17 => b.fetch_timeout(duration(n)),
            18 => b.refresh_cooldown(duration(n)),
            19 => b.max_stale(duration(n)),
            20 => b.insecure_skip_audience_check(),
            21 => b.insecure_allow_missing_exp(),
            22 => b.allow_insecure_http(),
            23 => b.issuer("https://fuzz.example").audience("fuzz"),
            24 => b.fetcher(Arc::new(Offline)),
            25 => b
                .scope_implies(text.as_str(), if n % 2 == 0 { "*" } else { "read" })
                .audience_match(jwtgate::AudienceMatch::CanonicalUri),
            _ => b.issuer(text.as_str()).fetcher(Arc::new(Offline)),
        };
    }
    b
}

/// Builds from `ops` and verifies `tokens` (plus one validly signed token): every outcome must be
/// a value — a verifier or a `config_invalid` error, and for each token a result — never a panic.
pub fn check(ops: &[Op], tokens: &[String], key: &SigningKey) {
    let verifier = match builder(ops, key).build() {
        Ok(v) => v,
        Err(e) => {
            assert_eq!(
                e.code(),
                ErrorCode::ConfigInvalid,
                "build failed with {e:?}"
            );
            assert!(!e.message().is_empty());
            return;
        }
    };
    let signed = key
        .mint(&serde_json::json!({"iss": "https://fuzz.example", "aud": "fuzz", "exp": 4_000_000_000u64}))
        .expect("mint");
    for token in tokens.iter().chain([&signed]) {
        // Never waits for a key fetch (the offline fetcher would make it fail after a timeout).
        if let Some(Err(e)) = verifier.verify_nonblocking(token) {
            assert!(!e.message().is_empty(), "{e:?}");
        }
    }
    let _ = verifier.keys_status();
    let _ = verifier.wait_ready(Duration::ZERO);
}
