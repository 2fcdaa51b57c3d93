//! Token splitting, base64url and the strict header parser, on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let strict = jwtgate::fuzz_api::split_and_parse_header(token);
        // Whatever the strict parser accepts, the diagnostic decoder must decode too.
        if strict {
            assert!(jwtgate::diagnostics::decode_unverified(token).is_ok());
        }
    }
});
