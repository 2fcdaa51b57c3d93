//! Step-by-step access to what a verifier does, for tools that explain a set-up (`jwtgate
//! doctor`, `jwtgate inspect`): fetch a provider's metadata, fetch its JWKS, decode a token
//! without verifying it. Same code paths and limits as the verifier; nothing here trusts a token.

use std::sync::atomic::AtomicU64;

use serde_json::Value;

use crate::error::Error;
use crate::remote::RemoteOptions;
pub use crate::remote::discovery::ProviderMetadata;
use crate::remote::fetch::{FetchLimits, Fetcher};
pub use crate::remote::jwks::FetchedJwks;
use crate::token::{self, Compact};

/// The verifier's default fetch limits (5 s, 256 KiB).
pub fn default_limits() -> FetchLimits {
    let options = RemoteOptions::default();
    FetchLimits {
        timeout: options.fetch_timeout,
        max_body_bytes: options.max_body_bytes,
    }
}

/// Fetches and checks `issuer`'s metadata (OIDC Discovery, then RFC 8414), exactly as a
/// verifier does.
///
/// # Errors
/// `discovery_failed` naming each URL tried and its problem, or the issuer mismatch.
pub fn discover(
    issuer: &str,
    fetcher: &dyn Fetcher,
    allow_http: bool,
) -> Result<ProviderMetadata, Error> {
    let url = crate::remote::url::HttpUrl::parse(issuer).map_err(Error::config)?;
    url.check_transport(issuer, allow_http)
        .map_err(Error::config)?;
    crate::remote::discovery::discover(
        issuer,
        fetcher,
        &default_limits(),
        allow_http,
        &AtomicU64::new(0),
    )
}

/// Fetches and parses a JWKS, exactly as a verifier does (≤ 100 keys, unusable keys skipped
/// with reasons).
///
/// # Errors
/// `jwks_unavailable` with the URL and the cause.
pub fn fetch_jwks(
    url: &str,
    fetcher: &dyn Fetcher,
    allow_http: bool,
) -> Result<FetchedJwks, Error> {
    let parsed = crate::remote::url::HttpUrl::parse(url).map_err(Error::config)?;
    parsed
        .check_transport(url, allow_http)
        .map_err(Error::config)?;
    let max_keys = RemoteOptions::default().max_keys;
    crate::remote::jwks::fetch(
        url,
        fetcher,
        &default_limits(),
        max_keys,
        &AtomicU64::new(0),
    )
    .map_err(|(e, _)| e)
}

/// A token decoded WITHOUT any verification: for display only.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UnverifiedToken {
    /// The JOSE header.
    pub header: Value,
    /// The payload as JSON, when it is JSON.
    pub claims: Option<Value>,
    /// The raw payload bytes.
    pub payload: Vec<u8>,
    /// The signature length in bytes.
    pub signature_len: usize,
}

/// Decodes a compact JWS without verifying anything but its shape. Never use the result to make
/// a decision; it is for showing an operator what a token says.
///
/// # Errors
/// `token_malformed` / `token_too_large` when it is not a compact JWS (e.g. an opaque token).
pub fn decode_unverified(token: &str) -> Result<UnverifiedToken, Error> {
    let compact = Compact::split(token, token::DEFAULT_MAX_TOKEN_BYTES)?;
    let header_bytes = token::decode_segment(compact.header_b64, "token header")?;
    let header: Value = serde_json::from_slice(&header_bytes)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| Error::malformed("token header is not a JSON object"))?;
    let payload = token::decode_segment(compact.payload_b64, "token payload")?;
    let signature = token::decode_segment(compact.signature_b64, "token signature")?;
    Ok(UnverifiedToken {
        header,
        claims: serde_json::from_slice(&payload).ok(),
        payload,
        signature_len: signature.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_without_verifying_and_refuses_opaque_tokens() {
        let t = decode_unverified("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln").unwrap();
        assert_eq!(t.header["alg"], "HS256");
        assert_eq!(t.claims.unwrap()["sub"], "x");
        assert_eq!(t.signature_len, 3);
        let opaque = decode_unverified("2YotnFZFEjr1zCsicMWpAA").unwrap_err();
        assert_eq!(opaque.code(), crate::ErrorCode::TokenMalformed);
    }
}
