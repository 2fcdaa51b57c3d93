//! Shared fixtures for the benchmarks: one key and one realistic access token per algorithm.

use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, Verifier};
use serde_json::json;

/// Issuer of the benchmark tokens.
pub const ISSUER: &str = "https://idp.bench.example";
/// Audience of the benchmark tokens.
pub const AUDIENCE: &str = "https://mcp.bench.example";

/// A key, a verifier trusting it, and a token it signed, for one algorithm.
pub struct Fixture {
    /// The algorithm.
    pub alg: Algorithm,
    /// The signing key.
    pub key: SigningKey,
    /// A verifier trusting only this key.
    pub verifier: Verifier,
    /// An RFC 9068-shaped access token (about 300 bytes of claims).
    pub token: String,
}

/// Builds the fixture for `alg`.
pub fn fixture(alg: Algorithm) -> Fixture {
    let key = SigningKey::generate(alg, format!("bench-{alg}")).expect("keygen");
    let builder = Verifier::builder().issuer(ISSUER).audience(AUDIENCE);
    let builder = match key.secret() {
        Some(secret) => builder.hmac_secret(alg, secret),
        None => builder.jwks_json(&key.public_jwks()),
    };
    let verifier = builder
        .required_scopes(["tools:call"])
        .build()
        .expect("verifier");
    let now = jwtgate::now_unix();
    let token = key
        .mint_with_header(
            &json!({"typ": "at+jwt"}),
            &json!({
                "iss": ISSUER, "aud": AUDIENCE, "sub": "user-2f6c1a", "client_id": "mcp-inspector",
                "scope": "tools:call resources:read prompts:get", "jti": "5b1c1e0e-8f4e-4d7b-9a61-0c3c5f2b7d11",
                "iat": now, "exp": now + 3600,
            }),
        )
        .expect("mint");
    Fixture {
        alg,
        key,
        verifier,
        token,
    }
}
