//! The verified-token cache seen from outside: hits keep the exact semantics of a full check
//! (expiry, not-before, key withdrawal), and memory stays bounded under a flood of tokens.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::*;
use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, ErrorCode, KeySet, Verifier};
use serde_json::json;

fn at(secs: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn cached_tokens_still_expire_and_respect_nbf() {
    let k = key(Algorithm::ES256, "ec");
    let now = jwtgate::now_unix();
    let token = k
        .mint(&claims_with(
            json!({"nbf": now, "iat": now, "exp": now + 100}),
        ))
        .unwrap();
    for v in [verifier(&[k]), builder(&[k]).cache_size(0).build().unwrap()] {
        v.verify_at(&token, at(now + 10)).unwrap();
        v.verify_at(&token, at(now + 10)).unwrap(); // a hit, if the cache is on
        assert_eq!(
            v.verify_at(&token, at(now + 100)).unwrap_err().code(),
            ErrorCode::TokenExpired
        );
        assert_eq!(
            v.verify_at(&token, at(now - 1)).unwrap_err().code(),
            ErrorCode::TokenNotYetValid
        );
        v.verify_at(&token, at(now + 99)).unwrap();
    }
    let lenient = builder(&[k])
        .leeway(Duration::from_secs(30))
        .build()
        .unwrap();
    lenient.verify_at(&token, at(now + 10)).unwrap();
    lenient.verify_at(&token, at(now + 129)).unwrap();
    assert_eq!(
        lenient.verify_at(&token, at(now + 130)).unwrap_err().code(),
        ErrorCode::TokenExpired
    );
}

#[test]
fn a_withdrawn_key_fails_after_the_swap_even_when_cached() {
    let a = key(Algorithm::ES256, "a");
    let b = key(Algorithm::EdDSA, "b");
    let v = verifier(&[a, b]);
    let token = a.mint(&claims()).unwrap();
    v.verify(&token).unwrap();
    v.verify(&token).unwrap();
    // The same keys re-fetched (a new set, new generation): still valid.
    v.set_keys(KeySet::from_jwks_json(&jwtgate::sign::jwks(&[a, b])).unwrap())
        .unwrap();
    v.verify(&token).unwrap();
    // Key a withdrawn: the cached success must not survive.
    v.set_keys(KeySet::from_jwks_json(&b.public_jwks()).unwrap())
        .unwrap();
    assert_eq!(v.verify(&token).unwrap_err().code(), ErrorCode::KeyNotFound);
    // A different key under the same kid is a different key.
    let impostor = SigningKey::generate(Algorithm::ES256, "a").unwrap();
    v.set_keys(KeySet::from_jwks_json(&impostor.public_jwks()).unwrap())
        .unwrap();
    assert_eq!(
        v.verify(&token).unwrap_err().code(),
        ErrorCode::SignatureInvalid
    );
}

#[test]
fn failures_are_not_cached_and_codes_match_without_cache() {
    let k = key(Algorithm::ES256, "ec");
    let cached = builder(&[k]).required_scopes(["admin"]).build().unwrap();
    let uncached = builder(&[k])
        .required_scopes(["admin"])
        .cache_size(0)
        .build()
        .unwrap();
    let tokens = [
        k.mint(&claims()).unwrap(),
        k.mint(&claims_with(json!({"scope": "admin"}))).unwrap(),
        k.mint(&claims_with(json!({"scope": "admin", "aud": "x"})))
            .unwrap(),
        k.mint(&claims_with(json!({"scope": "admin", "exp": 1})))
            .unwrap(),
    ];
    for token in &tokens {
        for _ in 0..3 {
            let a = cached
                .verify(token)
                .map(|v| v.sub().map(str::to_owned))
                .map_err(|e| e.code());
            let b = uncached
                .verify(token)
                .map(|v| v.sub().map(str::to_owned))
                .map_err(|e| e.code());
            assert_eq!(a, b);
        }
    }
}

#[test]
fn oversized_tokens_are_verified_every_time() {
    let k = key(Algorithm::ES256, "ec");
    let v = verifier(&[k]);
    let big = k
        .mint(&claims_with(json!({"pad": "x".repeat(5000)})))
        .unwrap();
    assert!(big.len() > 4096);
    v.verify(&big).unwrap();
    v.verify(&big).unwrap();
}

/// Resident set size of this process, from /proc (Linux).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

#[test]
fn memory_stays_bounded_under_a_million_distinct_tokens() {
    const CAPACITY: usize = 1_000;
    let secret = [0x5au8; 32];
    let signer = SigningKey::hmac(Algorithm::HS256, "hs", &secret).unwrap();
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .hmac_secret(Algorithm::HS256, secret)
        .cache_size(CAPACITY)
        .build()
        .unwrap();
    let header = br#"{"alg":"HS256","typ":"JWT"}"#;
    let exp = jwtgate::now_unix() + 3600;
    let mint = |i: u64| {
        let payload = format!(
            r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"user-{i}","jti":"{i:016x}","exp":{exp}}}"#
        );
        signer.sign_raw(header, payload.as_bytes()).unwrap()
    };
    // Fill the cache well past capacity first, then measure the next 990,000 tokens.
    for i in 0..10_000 {
        v.verify(&mint(i)).unwrap();
    }
    let before = rss_bytes();
    for i in 10_000..1_000_000 {
        let token = mint(i);
        let verified = v.verify(&token).unwrap();
        if i % 100_000 == 0 {
            assert_eq!(verified.sub(), Some(format!("user-{i}").as_str()));
        }
    }
    let growth = rss_bytes().saturating_sub(before);
    // Each entry holds a ~230-byte token and its claims: a few hundred KiB for the whole cache.
    // Allow 8 MiB for allocator slack; an unbounded cache would grow by hundreds of MiB.
    println!(
        "RSS growth over 990,000 distinct tokens with capacity {CAPACITY}: {} KiB",
        growth / 1024
    );
    assert!(growth < 8 << 20, "RSS grew by {growth} bytes");
}
