//! Shared fixtures for the integration tests: one generated key per algorithm, standard claims,
//! and verifiers built the way users build them.
#![allow(dead_code)] // each test binary uses a different part

pub mod idp;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, ErrorCode, Verified, Verifier, VerifierBuilder};
use serde_json::{Value, json};

pub const ISS: &str = "https://idp.example.com";
pub const AUD: &str = "https://mcp.example.com";

/// A signing key per (algorithm, kid), generated once per test binary (RSA generation is slow).
pub fn key(alg: Algorithm, kid: &str) -> &'static SigningKey {
    static KEYS: OnceLock<Mutex<HashMap<(Algorithm, String), &'static SigningKey>>> =
        OnceLock::new();
    let mut map = KEYS.get_or_init(Default::default).lock().unwrap();
    map.entry((alg, kid.to_string()))
        .or_insert_with(|| Box::leak(Box::new(generate(alg, kid))))
}

/// A fresh key; with the ring backend, which cannot generate RSA keys, RSA keys come from a
/// fixture file instead.
fn generate(alg: Algorithm, kid: &str) -> SigningKey {
    match SigningKey::generate(alg, kid) {
        Ok(key) => key,
        Err(_) if alg.family() == jwtgate::KeyFamily::Rsa => {
            SigningKey::from_pkcs8_pem(alg, kid, include_str!("../data/rsa2048_private_pkcs8.pem"))
                .unwrap()
        }
        Err(e) => panic!("{alg}: {e}"),
    }
}

/// Valid claims for ISS/AUD, expiring in five minutes.
pub fn claims() -> Value {
    json!({
        "iss": ISS,
        "aud": AUD,
        "sub": "alice",
        "client_id": "mcp-client",
        "scope": "tools:call read",
        "iat": jwtgate::now_unix(),
        "exp": jwtgate::now_unix() + 300,
        "jti": "j-1",
    })
}

/// `claims()` with some members replaced (a `null` value removes the member).
pub fn claims_with(changes: Value) -> Value {
    let mut c = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

/// A builder for ISS/AUD trusting the public keys of `keys`.
pub fn builder(keys: &[&SigningKey]) -> VerifierBuilder {
    Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks(&jwtgate::sign::jwks(keys))
}

pub fn verifier(keys: &[&SigningKey]) -> Verifier {
    builder(keys).build().unwrap()
}

/// The error code of a verification that must fail.
pub fn code(result: Result<Verified, jwtgate::Error>) -> ErrorCode {
    match result {
        Ok(v) => panic!("expected a rejection, got {v:?}"),
        Err(e) => e.code(),
    }
}

pub fn b64(bytes: &[u8]) -> String {
    let mut s = String::new();
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    s
}

pub fn unb64(s: &str) -> Vec<u8> {
    jwtgate::base64url_decode(s).unwrap()
}

/// Replaces segment `i` of a compact token.
pub fn with_segment(token: &str, i: usize, segment: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[i] = segment;
    parts.join(".")
}
