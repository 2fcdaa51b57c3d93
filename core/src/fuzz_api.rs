//! Entry points into private parsers for the cargo-fuzz targets in `fuzz/`. Compiled only under
//! `--cfg fuzzing` (which cargo-fuzz sets); not part of the API.

use crate::claims::{Claims, ClaimsPolicy};
use crate::header::Header;

/// Splits a token and parses its header with the verifier's strict parser.
pub fn split_and_parse_header(token: &str) -> bool {
    let Ok(compact) = crate::token::Compact::split(token, crate::token::DEFAULT_MAX_TOKEN_BYTES)
    else {
        return false;
    };
    let Ok(bytes) = crate::token::decode_segment(compact.header_b64, "header") else {
        return false;
    };
    Header::parse(&bytes).is_ok()
}

/// Parses a claims set and runs a fixed policy over it at time `now`.
pub fn parse_and_check_claims(payload: &[u8], now: f64) -> bool {
    let required: Vec<Box<str>> = vec!["tenant".into(), "sub".into()];
    let Ok(claims) = Claims::parse(payload, &required) else {
        return false;
    };
    let policy = ClaimsPolicy {
        issuers: vec!["https://fuzz.example".into()],
        audiences: Some(vec!["fuzz".into()]),
        audience_match: crate::AudienceMatch::Exact,
        audiences_normalised: vec!["fuzz".into()],
        leeway: 30.0,
        require_exp: true,
        required_claims: required,
        id_token_client: None,
    };
    let scopes_ok = crate::claims::check_scopes(&["read"], || claims.scopes()).is_ok();
    policy.check(&claims, now).is_ok() && scopes_ok
}

/// Whether the claims scanner and the header scanner agree with their oracles, the serde_json
/// parsers they replaced, on `bytes` (verdict, values and error code); the first disagreement.
pub fn scanners_agree(bytes: &[u8]) -> Result<(), String> {
    crate::claims::scanner_agrees(bytes)?;
    crate::header::scanner_agrees(bytes)
}

/// Checks a discovery document against an issuer.
pub fn check_discovery_document(body: &[u8], issuer: &str) -> bool {
    crate::remote::discovery::metadata_from(body, issuer, "https://fuzz.example/doc", false).is_ok()
}
