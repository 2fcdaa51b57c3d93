//! Token splitting, base64url and the strict header parser, on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let strict = jwtgate::fuzz_api::split_and_parse_header(token);
        // The strict parser accepts only headers that are JSON objects with a string `alg`: when
        // the diagnostic decoder can read the whole token, it must see that too.
        if strict {
            if let Ok(decoded) = jwtgate::diagnostics::decode_unverified(token) {
                assert!(decoded.header["alg"].is_string());
            }
        }
    }
});
