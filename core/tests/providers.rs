//! Several identity providers in one verifier: each token goes to the provider its `iss` names,
//! which verifies it in full with its own keys, audience, algorithms and claim dialect.

mod common;

use common::*;
use jwtgate::sign::{SigningKey, jwks};
use jwtgate::{Algorithm, ErrorCode, Verifier, VerifierBuilder};
use serde_json::json;

const A: &str = "https://tenant-a.example";
const B: &str = "https://tenant-b.example/realms/mcp";

fn a_key() -> &'static SigningKey {
    key(Algorithm::ES256, "a-1")
}

fn b_key() -> &'static SigningKey {
    key(Algorithm::EdDSA, "b-1")
}

fn provider_a() -> VerifierBuilder {
    Verifier::builder()
        .issuer(A)
        .audience("api-a")
        .jwks(&jwks(&[a_key()]))
}

fn provider_b() -> VerifierBuilder {
    Verifier::builder()
        .issuer(B)
        .audience("api-b")
        .jwks(&jwks(&[b_key()]))
        .scope_claims(["scope", "realm_access.roles"])
}

fn two() -> VerifierBuilder {
    Verifier::builder()
        .provider(provider_a())
        .provider(provider_b())
}

fn token(k: &SigningKey, iss: &str, aud: &str, extra: serde_json::Value) -> String {
    let mut c = claims_with(json!({"iss": iss, "aud": aud}));
    for (name, v) in extra.as_object().unwrap() {
        c[name] = v.clone();
    }
    k.mint(&c).unwrap()
}

#[test]
fn each_token_is_verified_by_the_provider_its_issuer_names() {
    let v = two().build().unwrap();
    let a = v.verify(&token(a_key(), A, "api-a", json!({}))).unwrap();
    assert_eq!(a.iss(), Some(A));
    let b = v
        .verify(&token(
            b_key(),
            B,
            "api-b",
            json!({"realm_access": {"roles": ["admin"]}}),
        ))
        .unwrap();
    assert_eq!(b.iss(), Some(B));
    assert!(
        b.has_scope("admin"),
        "provider B's dialect applies to B's tokens"
    );
    // Cached answers come from the right provider too.
    assert!(
        v.verify_cached(&token(a_key(), A, "api-a", json!({})))
            .is_none()
    );
    let t = token(a_key(), A, "api-a", json!({}));
    v.verify(&t).unwrap();
    assert!(matches!(v.verify_cached(&t), Some(Ok(_))));
    let stats = v.stats();
    assert_eq!(
        (stats.verified, stats.cache_hits, stats.accepted),
        (3, 1, 4),
        "{stats:?}"
    );
    assert_eq!(v.issuers(), [A, B]);
    assert_eq!(v.provider_keys_status().len(), 2);
}

#[test]
fn a_provider_never_vouches_for_another_providers_issuer() {
    let v = two().build().unwrap();
    // Signed by A's key but claiming B's issuer: B verifies it, and A's key is not B's.
    assert_eq!(
        code(v.verify(&token(a_key(), B, "api-b", json!({})))),
        ErrorCode::KeyNotFound
    );
    // A's audience is not B's.
    assert_eq!(
        code(v.verify(&token(b_key(), B, "api-a", json!({})))),
        ErrorCode::AudienceMismatch
    );
    // An unknown issuer: refused with the list, before any key is looked at.
    let err = v
        .verify(&token(a_key(), "https://evil.example", "api-a", json!({})))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::IssuerMismatch);
    assert_eq!(err.detail().unwrap().expected, [A, B]);
    // No iss at all, and a payload that is not JSON.
    assert_eq!(
        code(v.verify(&token(a_key(), A, "api-a", json!({"iss": null})))),
        ErrorCode::ClaimMissing
    );
    assert_eq!(
        code(v.verify("eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.AAAA")),
        ErrorCode::TokenMalformed
    );
}

#[test]
fn the_outer_verifier_keeps_static_tokens_required_scopes_and_dpop() {
    let v = two()
        .static_token("api-key-1", "ci")
        .required_scopes(["tools:call"])
        .build()
        .unwrap();
    assert_eq!(
        v.verify("api-key-1").unwrap_err().code(),
        ErrorCode::InsufficientScope
    );
    // claims() carries tools:call; without it, the outer required scope refuses.
    v.verify(&token(a_key(), A, "api-a", json!({}))).unwrap();
    let err = v
        .verify(&token(a_key(), A, "api-a", json!({"scope": "read"})))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    assert_eq!(err.credential().unwrap().iss(), Some(A));
    let stats = v.stats();
    assert_eq!(stats.refused_after_verification, 1, "{stats:?}");
    assert_eq!(stats.accepted + stats.rejected, 3, "{stats:?}");
    // A DPoP-bound token from a provider still needs its proof.
    let client = key(Algorithm::ES256, "client");
    let bound = token(
        a_key(),
        A,
        "api-a",
        json!({"cnf": {"jkt": client.thumbprint().unwrap()}}),
    );
    assert_eq!(code(v.verify(&bound)), ErrorCode::DpopProofMissing);
    let proof = client
        .dpop_proof("GET", "https://mcp.example/mcp", Some(&bound), None)
        .unwrap();
    let auth = format!("DPoP {bound}");
    let proofs = [proof.as_str()];
    let request = jwtgate::AuthRequest::new("GET", "https://mcp.example/mcp", Some(&auth), &proofs);
    v.verify_request(&request).unwrap();
}

#[test]
fn misconfigured_providers_are_config_invalid_naming_the_provider() {
    let cases: Vec<(&str, VerifierBuilder)> = vec![
        ("outer issuer", two().issuer("https://x.example")),
        ("outer audience", two().audience("api")),
        ("outer keys", two().jwks(&jwks(&[a_key()]))),
        ("outer dialect", two().scope_claims(["roles"])),
        (
            "two issuers in a provider",
            Verifier::builder().provider(provider_a().issuer("https://other.example")),
        ),
        (
            "same issuer twice",
            Verifier::builder()
                .provider(provider_a())
                .provider(provider_a()),
        ),
        (
            "static token inside",
            Verifier::builder().provider(provider_a().static_token("k", "c")),
        ),
        (
            "a broken provider",
            Verifier::builder().provider(Verifier::builder().issuer(A).jwks(&jwks(&[a_key()]))),
        ),
        (
            "too many",
            (0..65).fold(Verifier::builder(), |b, i| {
                b.provider(
                    Verifier::builder()
                        .issuer(format!("https://t{i}.example"))
                        .audience("a")
                        .jwks(&jwks(&[a_key()])),
                )
            }),
        ),
    ];
    for (name, b) in cases {
        let err = b.build().unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{name}");
    }
    let err = Verifier::builder()
        .provider(Verifier::builder().issuer(A).jwks(&jwks(&[a_key()])))
        .build()
        .unwrap_err();
    assert!(
        err.message()
            .starts_with("provider 1 (\"https://tenant-a.example\"): "),
        "{err}"
    );
}
