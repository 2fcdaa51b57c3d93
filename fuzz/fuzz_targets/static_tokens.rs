//! Static-token comparison: exactly the configured secrets are accepted, each with its identity.
#![no_main]

use std::sync::OnceLock;

use jwtgate::{StaticToken, Verifier};
use libfuzzer_sys::fuzz_target;

const SECRETS: [&str; 3] = ["fuzz-static-token-1", "sk_live_0123456789abcdef", "x"];

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        Verifier::builder()
            .static_tokens(SECRETS.iter().enumerate().map(|(i, s)| StaticToken::new(s, format!("client-{i}"))))
            .build()
            .expect("verifier")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(credential) = std::str::from_utf8(data) else { return };
    let result = verifier().verify(credential);
    match SECRETS.iter().position(|s| *s == credential) {
        Some(i) => assert_eq!(result.expect("configured secret").client_id(), Some(format!("client-{i}").as_str())),
        None => assert_eq!(result.expect_err("unknown secret").code(), jwtgate::ErrorCode::TokenUnknown),
    }
});
