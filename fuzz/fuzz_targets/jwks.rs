//! JWK / JWKS and PEM parsing: hostile key documents must give errors or skipped keys, never a
//! panic, and every key that is kept must be usable for some algorithm.
#![no_main]

use jwtgate::{Algorithm, Key, KeySet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(set) = KeySet::from_jwks_json(text) {
        for key in set.keys() {
            assert!(Algorithm::ALL.iter().any(|&a| key.can_verify(a)));
        }
    }
    let _ = KeySet::from_pem(text);
    let _ = Key::from_jwk_json(text);
});
