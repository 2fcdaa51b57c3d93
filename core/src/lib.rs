//! # jwtgate
//!
//! Strict, fast verification of JWT bearer tokens (OAuth 2.0 / OIDC access tokens, RFC 9068) and
//! static API keys, for servers that sit behind an identity provider.
//!
//! * Compact JWS only, parsed zero-copy with canonical base64url; claims parsed once, after the
//!   signature holds.
//! * RS256/384/512, PS256/384/512, ES256, ES384, ES512 (aws-lc-rs), EdDSA / Ed25519 (RFC 9864),
//!   and HS256/384/512 for explicitly configured secrets. Keys are parsed once (aws-lc-rs `ParsedPublicKey`) and bound to their family;
//!   weak keys (small-order Ed25519 points, ROCA moduli, short RSA) are refused when built.
//! * Registered claims checked with operator-grade errors: `issuer mismatch: expected "X", token has "Y"`,
//!   each with a stable [`ErrorCode`], an HTTP status, a client-safe description and structured
//!   [`ErrorDetail`].
//! * Static bearer tokens compared as SHA-256 digests in constant time ("multi-auth").
//! * Remote keys by discovery or JWKS URL, refreshed in the background, following rotation.
//!
//! ## One verification, in pipeline order
//! ARCHITECTURE.md in the repository walks the same path file by file.
//! 1. [`Verifier::verify`] (or [`verify_async`](Verifier::verify_async),
//!    [`verify_nonblocking`](Verifier::verify_nonblocking)) takes the credential.
//! 2. Configured [`StaticToken`]s are compared in constant time.
//! 3. The verified-token cache answers a token it has seen, re-checking its window and that its
//!    key would still be selected ([`Verifier::verify_cached`] asks only the cache).
//! 4. [`jws`] checks the compact JWS: size, segments, base64url, the header (`alg` against the
//!    allow-list, `crit`, `typ`), key selection in the current [`KeySet`] by `kid` (an unknown kid
//!    of a remote set asks for a refresh), and the signature with the pre-parsed [`Key`].
//! 5. The claims are decoded and checked: `exp`/`nbf`/`iat` with leeway, `iss`, `aud`, required
//!    claims, then the required scopes on the finished [`Verified`] (an `insufficient_scope`
//!    error carries it: [`Error::credential`]).
//! 6. The result is cached, counted in [`Verifier::stats`], and returned as [`Verified`].
//!
//! [`Verifier::builder`] configures all of it ([`VerifierBuilder`]); [`Verifier::keys_status`]
//! reports the keys; [`diagnostics`] serves tools such as `jwtgate doctor`.
//!
//! ## Non-features
//! * No `alg: none`, in any spelling. No JWE, no JSON serialization, no unencoded payloads (`b64`),
//!   no `crit` extensions, no nested JWTs.
//! * Keys or URLs from a token header (`jku`, `x5u`, `jwk`, `x5c`) are never used.
//! * No HMAC/RSA confusion: HMAC secrets are never taken from a JWKS and cannot share a verifier
//!   with public keys.
//!
//! ## Getting started
//! ```
//! use jwtgate::{Algorithm, ErrorCode, Verifier, sign::SigningKey};
//!
//! # let key = SigningKey::generate(Algorithm::ES256, "k1").unwrap();
//! # let jwks = key.public_jwks();
//! let verifier = Verifier::builder()
//!     .issuer("https://auth.example.com")
//!     .audience("https://mcp.example.com")
//!     .jwks(&jwks)
//!     .build()?;
//! # let token = key.mint(&serde_json::json!({"iss":"https://auth.example.com",
//! #     "aud":"https://mcp.example.com","sub":"alice","exp":jwtgate::now_unix()+60})).unwrap();
//! match verifier.verify(&token) {
//!     Ok(claims) => println!("hello {:?}", claims.sub()),
//!     Err(e) if e.code() == ErrorCode::TokenExpired => println!("refresh your token"),
//!     Err(e) => println!("rejected: {} ({})", e, e.code()),
//! }
//! # Ok::<(), jwtgate::Error>(())
//! ```
//!
//! ## Crate features
//! * `aws-lc-rs` (default): the aws-lc-rs crypto backend.
//! * `ring`: the ring backend (used when `aws-lc-rs` is off).

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

mod alg;
mod audience;
mod builder;
mod cache;
mod claims;
mod crypto;
mod der;
pub mod diagnostics;
mod dialect;
mod dpop;
mod env;
mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
#[allow(missing_docs, unreachable_pub)]
pub mod fuzz_api;
mod header;
mod introspection;
mod json;
mod jwk;
pub mod jws;
mod keyset;
mod policy;
mod providers;
mod remote;
mod resource;
mod scan;
mod scopes;
pub mod sign;
mod static_tokens;
mod stats;
mod token;
mod verified;
mod verifier;
mod weak_keys;

// The public interface:
pub use alg::{Algorithm, Curve, KeyFamily, UnknownAlgorithm};
pub use audience::AudienceMatch;
pub use builder::{
    DEFAULT_DPOP_IAT_WINDOW, MAX_CACHE_SIZE, MAX_DPOP_IAT_WINDOW, MAX_DPOP_REPLAY_CACHE_SIZE,
    MAX_FETCH_TIMEOUT, MAX_LEEWAY, MAX_MAX_STALE, MAX_REFRESH_COOLDOWN, MAX_TOKEN_BYTES_LIMIT,
    MIN_REFRESH_COOLDOWN, VerifierBuilder,
};
pub use dpop::{AuthRequest, AuthScheme, DpopMode, split_authorization};
pub use error::{Error, ErrorCode, ErrorDetail};
pub use introspection::ClientAuth;
pub use jwk::Key;
pub use keyset::{KeySet, SkippedKey};
pub use remote::KeysStatus;
#[cfg(feature = "http")]
pub use remote::fetch::HttpFetcher;
pub use remote::fetch::{FetchLimits, FetchResponse, Fetcher};
pub use resource::{Challenge, ProtectedResource};
pub use static_tokens::StaticToken;
pub use stats::Stats;
pub use verified::{CredentialKind, Verified};
pub use verifier::{Verifier, now_unix, time_from_unix_seconds};

/// The crypto backend compiled in (`"aws-lc-rs"` or `"ring"`).
pub const CRYPTO_BACKEND: &str = crypto::BACKEND_NAME;

/// Decodes strict base64url (no padding), as used in JWK members.
///
/// # Errors
/// `token_malformed` if `text` is not canonical unpadded base64url.
pub fn base64url_decode(text: &str) -> Result<Vec<u8>, Error> {
    token::decode_segment(text.as_bytes(), "input")
}

// The crate's README (what crates.io shows) is compiled with the doctests, so its example stays
// true to the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
