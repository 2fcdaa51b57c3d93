//! Byte-exact examples from RFC 7515 Appendix A, RFC 7520 §4 and RFC 8037 Appendix A.4
//! (files under `tests/vectors/`, each checked independently with Python `cryptography`).

mod common;

use std::time::{Duration, UNIX_EPOCH};

use jwtgate::{Algorithm, ErrorCode, Key, KeySet, Verifier, jws};
use serde_json::Value;

struct Vector {
    name: String,
    alg: String,
    jwk: Value,
    token: String,
    payload_b64: String,
    detached: bool,
    expect: String,
}

fn vectors() -> Vec<Vector> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");
    let mut out: Vec<Vector> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            Vector {
                name: path.file_name().unwrap().to_string_lossy().into_owned(),
                alg: s("alg"),
                jwk: v["jwk"].clone(),
                token: s("token"),
                payload_b64: s("payload_b64"),
                detached: v["detached"].as_bool().unwrap_or(false),
                expect: s("expect"),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(out.len() >= 10, "vectors missing: {}", out.len());
    out
}

/// The key set a vector's JWK describes; symmetric JWKs become configured HMAC secrets.
fn key_set(v: &Vector, alg: Algorithm) -> KeySet {
    if v.jwk.is_null() {
        return KeySet::default();
    }
    if v.jwk["kty"] == "oct" {
        let secret = jwtgate::base64url_decode(v.jwk["k"].as_str().unwrap()).unwrap();
        let mut key = Key::hmac_secret(alg, secret).unwrap();
        if let Some(kid) = v.jwk["kid"].as_str() {
            key = key.with_kid(kid);
        }
        return KeySet::new(vec![key]);
    }
    KeySet::from_jwks_json(&serde_json::json!({ "keys": [v.jwk] }).to_string()).unwrap()
}

#[test]
fn rfc_vectors_verify_or_fail_as_specified() {
    let mut valid = 0;
    for v in vectors() {
        // Detached content (RFC 7520 §4.5): re-attach the payload before verifying.
        let token = if v.detached {
            let parts: Vec<&str> = v.token.split('.').collect();
            assert_eq!(parts[1], "", "{}", v.name);
            format!("{}.{}.{}", parts[0], v.payload_b64, parts[2])
        } else {
            v.token.clone()
        };
        match v.expect.as_str() {
            "valid" if jwtgate::CRYPTO_BACKEND == "ring" && v.alg == "ES512" => {
                // ring has no P-521: the key is refused with a message naming the way out.
                let jwks = serde_json::json!({ "keys": [v.jwk] }).to_string();
                let reason = match KeySet::from_jwks_json(&jwks) {
                    Ok(keys) => {
                        assert_eq!(keys.len(), 0, "{}", v.name);
                        format!("{:?}", keys.skipped())
                    }
                    Err(e) => e.to_string(),
                };
                assert!(reason.contains("aws-lc-rs"), "{}: {reason}", v.name);
                valid += 1;
            }
            "valid" => {
                let alg: Algorithm = v.alg.parse().unwrap();
                let keys = key_set(&v, alg);
                assert_eq!(keys.len(), 1, "{}", v.name);
                let result = jws::verify_compact(&token, &keys, &[alg])
                    .unwrap_or_else(|e| panic!("{}: {e}", v.name));
                assert_eq!(result.alg, alg);
                assert_eq!(
                    result.payload,
                    jwtgate::base64url_decode(&v.payload_b64).unwrap(),
                    "{}",
                    v.name
                );
                assert_eq!(result.kid.as_deref(), v.jwk["kid"].as_str(), "{}", v.name);
                // One flipped signature bit must fail.
                let (head, sig) = token.rsplit_once('.').unwrap();
                let mut raw = jwtgate::base64url_decode(sig).unwrap();
                raw[0] ^= 1;
                let bad = format!("{head}.{}", common::b64(&raw));
                let err = jws::verify_compact(&bad, &keys, &[alg]).unwrap_err();
                assert_eq!(err.code(), ErrorCode::SignatureInvalid, "{}", v.name);
                valid += 1;
            }
            code => {
                let keys =
                    KeySet::from_jwks_json(&serde_json::json!({ "keys": [v.jwk] }).to_string())
                        .unwrap_or_default();
                let err = jws::verify_compact(&token, &keys, &Algorithm::ALL).unwrap_err();
                assert_eq!(err.code().as_str(), code, "{}: {err}", v.name);
            }
        }
    }
    assert_eq!(valid, 10);
}

#[test]
fn rfc7515_a1_as_a_jwt_at_its_own_time() {
    let v = vectors()
        .into_iter()
        .find(|v| v.name == "rfc7515_a1_hs256.json")
        .unwrap();
    let secret = jwtgate::base64url_decode(v.jwk["k"].as_str().unwrap()).unwrap();
    let verifier = Verifier::builder()
        .issuer("joe")
        .insecure_skip_audience_check()
        .hmac_secret(Algorithm::HS256, &secret)
        .typ("JWT")
        .build()
        .unwrap();
    let exp = UNIX_EPOCH + Duration::from_secs(1_300_819_380);
    let verified = verifier
        .verify_at(&v.token, exp - Duration::from_secs(1))
        .unwrap();
    assert_eq!(verified.iss(), Some("joe"));
    assert_eq!(verified.exp(), Some(1_300_819_380));
    let custom: Value = verified.deserialize().unwrap();
    assert_eq!(custom["http://example.com/is_root"], true);
    assert_eq!(
        verifier.verify_at(&v.token, exp).unwrap_err().code(),
        ErrorCode::TokenExpired
    );
    assert_eq!(
        verifier.verify(&v.token).unwrap_err().code(),
        ErrorCode::TokenExpired
    );
}
