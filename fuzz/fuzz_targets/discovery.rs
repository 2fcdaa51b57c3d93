//! Discovery documents: the issuer check and jwks_uri policy on arbitrary bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let accepted = jwtgate::fuzz_api::check_discovery_document(data, "https://fuzz.example");
    if accepted {
        // Anything accepted must name the issuer exactly and carry an https jwks_uri.
        let doc: serde_json::Value = serde_json::from_slice(data).expect("accepted JSON");
        assert_eq!(doc["issuer"], "https://fuzz.example");
        assert!(doc["jwks_uri"].as_str().is_some_and(|u| u.starts_with("https://") || u.starts_with("http://127.") || u.starts_with("http://localhost")));
    }
});
