//! The claims parser and the claims policy on arbitrary payload bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = jwtgate::fuzz_api::parse_and_check_claims(data, 1_800_000_000.0);
});
