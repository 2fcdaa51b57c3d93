//! Compact JWS verification without a claims policy — the layer the JWT verifier is built on.
//!
//! Use [`verify_compact`] directly for JWS whose payload is not a JWT claims set (like jose's
//! `compactVerify`): every header and key rule applies, and the payload comes back as bytes.

use crate::alg::{self, Algorithm};
use crate::error::{Error, ErrorCode, ErrorDetail};
use crate::header::Header;
use crate::keyset::{Candidates, KeySet};
use crate::token::{self, Compact};

/// Largest signature we decode: an RSA-8192 signature is 1024 bytes.
const MAX_SIGNATURE_BYTES: usize = 1024;
/// Headers up to this size are decoded on the stack.
const STACK_HEADER_BYTES: usize = 1024;

/// A set of algorithms, as a bit mask (cheap to copy and to test on the hot path).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AlgSet(u16);

impl AlgSet {
    pub(crate) fn from_slice(algs: &[Algorithm]) -> AlgSet {
        AlgSet(algs.iter().fold(0, |m, a| m | (1 << a.index())))
    }
    pub(crate) fn contains(self, alg: Algorithm) -> bool {
        self.0 & (1 << alg.index()) != 0
    }
    pub(crate) fn to_vec(self) -> Vec<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(|&a| self.contains(a))
            .collect()
    }
    pub(crate) fn any(self, f: impl Fn(Algorithm) -> bool) -> bool {
        Algorithm::ALL.into_iter().any(|a| self.contains(a) && f(a))
    }
}

/// A JWS whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedJws {
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// The header's `typ`, if any.
    pub typ: Option<String>,
    /// The decoded payload.
    pub payload: Vec<u8>,
}

/// Verifies a compact JWS against `keys`, accepting only `algorithms`, and returns its payload.
///
/// Applies the size limit (16 KiB), strict base64url, the header rules (`crit`, `b64`, `enc`,
/// `zip` rejected; `jku`/`x5u`/`jwk`/`x5c` ignored) and the key-selection rules; no claim is
/// looked at.
///
/// # Errors
/// Any token, header, key or signature error code (`token_malformed`, `alg_not_allowed`,
/// `key_not_found`, `signature_invalid`, …).
///
/// # Examples
/// ```
/// use jwtgate::{Algorithm, Key, KeySet, jws};
/// // RFC 7515 Appendix A.1 (HS256).
/// let secret = jwtgate::base64url_decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow").unwrap();
/// let keys = KeySet::new(vec![Key::hmac_secret(Algorithm::HS256, secret).unwrap()]);
/// let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// let jws = jws::verify_compact(token, &keys, &[Algorithm::HS256]).unwrap();
/// assert!(jws.payload.starts_with(b"{\"iss\":\"joe\""));
/// ```
pub fn verify_compact(
    token: &str,
    keys: &KeySet,
    algorithms: &[Algorithm],
) -> Result<VerifiedJws, Error> {
    let policy = JwsPolicy {
        algorithms: AlgSet::from_slice(algorithms),
        max_token_bytes: token::DEFAULT_MAX_TOKEN_BYTES,
    };
    verify_with(token, keys, &policy, |header, compact, _| {
        Ok(VerifiedJws {
            alg: header.alg,
            kid: header.kid.as_deref().map(str::to_owned),
            typ: header.typ.as_deref().map(str::to_owned),
            payload: token::decode_segment(compact.payload_b64, "token payload")?,
        })
    })
}

/// The JWS-level policy: allowed algorithms and the size limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JwsPolicy {
    pub(crate) algorithms: AlgSet,
    pub(crate) max_token_bytes: usize,
}

/// Runs every JWS check; on success calls `then` with the parsed header, the split token and the
/// index of the key that verified it. The payload is not decoded here: claims are parsed only
/// after the signature holds, by the caller.
pub(crate) fn verify_with<'t, T>(
    token: &'t str,
    keys: &KeySet,
    policy: &JwsPolicy,
    then: impl FnOnce(&Header<'_>, &Compact<'t>, usize) -> Result<T, Error>,
) -> Result<T, Error> {
    let compact = Compact::split(token, policy.max_token_bytes)?;

    let mut stack = [0u8; STACK_HEADER_BYTES];
    let heap;
    let header_bytes: &[u8] = if compact.header_b64.len() / 4 * 3 <= STACK_HEADER_BYTES - 3 {
        token::decode_segment_into(compact.header_b64, &mut stack, "token header")?
    } else {
        heap = token::decode_segment(compact.header_b64, "token header")?;
        &heap
    };
    let header = Header::parse(header_bytes)?;

    let alg = header.alg;
    if !policy.algorithms.contains(alg) {
        return Err(Error::new(
            ErrorCode::AlgNotAllowed,
            format!(
                "token alg {alg} is not allowed (allowed: {})",
                alg::list(&policy.algorithms.to_vec())
            ),
        ));
    }

    if compact.signature_b64.is_empty() {
        return Err(Error::new(
            ErrorCode::SignatureInvalid,
            "token has an empty signature",
        ));
    }
    let mut sig_buf = [0u8; MAX_SIGNATURE_BYTES];
    let signature =
        token::decode_segment_into(compact.signature_b64, &mut sig_buf, "token signature")?;
    if let Some(expected) = alg.fixed_signature_len() {
        if signature.len() != expected {
            let hint = if matches!(alg, Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512) {
                " (JWS uses raw r‖s, not DER)"
            } else {
                ""
            };
            return Err(Error::new(
                ErrorCode::SignatureInvalid,
                format!(
                    "{alg} signature must be {expected} bytes, got {}{hint}",
                    signature.len()
                ),
            ));
        }
    }
    // A malformed payload must not reach key lookup: an unknown kid can cause a network refresh.
    if base64_simd::URL_SAFE_NO_PAD
        .check(compact.payload_b64)
        .is_err()
    {
        return Err(Error::malformed("token payload is not canonical base64url"));
    }

    let verify_one = |index: usize| -> Result<bool, Error> {
        let key = keys.key(index);
        match key.verifier(alg) {
            Some(verifier) => Ok(verifier.verify(compact.signing_input, signature)),
            None => Err(key.unusable_for(alg)),
        }
    };
    let candidates = keys.candidates(alg, header.kid.as_deref()).map_err(|e| {
        e.with_detail(ErrorDetail {
            kid: header.kid.as_deref().map(|k| k.chars().take(80).collect()),
            ..ErrorDetail::default()
        })
    })?;
    let verified_by = match candidates {
        Candidates::One(index) => verify_one(index)?.then_some(index),
        Candidates::Several(indices) => {
            let mut found = None;
            for index in indices {
                if verify_one(index)? {
                    found = Some(index);
                    break;
                }
            }
            found
        }
    };
    match verified_by {
        Some(index) => then(&header, &compact, index),
        None => Err(Error::new(
            ErrorCode::SignatureInvalid,
            "signature verification failed",
        )),
    }
}
