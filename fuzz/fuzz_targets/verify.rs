//! Arbitrary bytes as a bearer credential against a verifier with static keys of every family
//! and a static token: must never panic, whatever the input.
#![no_main]

use std::sync::OnceLock;

use jwtgate::sign::{SigningKey, jwks};
use jwtgate::{Algorithm, Verifier};
use libfuzzer_sys::fuzz_target;

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let keys: Vec<SigningKey> = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
            .into_iter()
            .map(|alg| SigningKey::generate(alg, alg.as_str()).expect("keygen"))
            .collect();
        Verifier::builder()
            .issuer("https://fuzz.example")
            .audience("fuzz")
            .jwks_json(&jwks(&keys.iter().collect::<Vec<_>>()))
            .static_token("fuzz-static-token", "fuzzer")
            .build()
            .expect("verifier")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = verifier().verify(token);
    }
});
