//! The signature algorithms jwtgate verifies, and what each needs of a key.
//!
//! | alg | family | key | notes |
//! |---|---|---|---|
//! | `RS256` `RS384` `RS512` | RSASSA-PKCS1-v1_5 ([RFC 7518 §3.3]) | RSA, 2048–8192 bits | |
//! | `PS256` `PS384` `PS512` | RSASSA-PSS ([RFC 7518 §3.5]) | RSA, 2048–8192 bits | salt = hash length |
//! | `ES256` `ES384` `ES512` | ECDSA ([RFC 7518 §3.4]) | EC P-256 / P-384 / P-521 | signature is raw `r‖s`, 64 / 96 / 132 bytes; ES512 needs the aws-lc-rs backend |
//! | `EdDSA` `Ed25519` | Ed25519 ([RFC 8037], [RFC 9864]) | OKP Ed25519 | the same algorithm under its two names |
//! | `HS256` `HS384` `HS512` | HMAC ([RFC 7518 §3.2]) | a configured secret ≥ the hash length | never from a JWKS |
//!
//! There is no `none` algorithm: `"none"` in any spelling is rejected with `alg_not_allowed`.
//!
//! [RFC 7518 §3.2]: https://www.rfc-editor.org/rfc/rfc7518#section-3.2
//! [RFC 7518 §3.3]: https://www.rfc-editor.org/rfc/rfc7518#section-3.3
//! [RFC 7518 §3.4]: https://www.rfc-editor.org/rfc/rfc7518#section-3.4
//! [RFC 7518 §3.5]: https://www.rfc-editor.org/rfc/rfc7518#section-3.5
//! [RFC 8037]: https://www.rfc-editor.org/rfc/rfc8037
//! [RFC 9864]: https://www.rfc-editor.org/rfc/rfc9864

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorCode, quote};

/// A JWS signature algorithm ([RFC 7518](https://www.rfc-editor.org/rfc/rfc7518) names).
///
/// ```
/// use jwtgate::Algorithm;
/// assert_eq!("ES256".parse::<Algorithm>().unwrap(), Algorithm::ES256);
/// assert_eq!(Algorithm::PS384.as_str(), "PS384");
/// assert!("none".parse::<Algorithm>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::upper_case_acronyms)] // the JOSE registry spells them this way
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1-SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1-SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512 (aws-lc-rs backend only; ring has no P-521).
    ES512,
    /// EdDSA on Ed25519.
    EdDSA,
    /// Ed25519, the fully-specified name of RFC 9864 for what `EdDSA` means with an Ed25519 key.
    Ed25519,
}

/// The kind of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyFamily {
    /// A shared secret (`kty: oct`), configured explicitly.
    Hmac,
    /// An RSA public key (`kty: RSA`).
    Rsa,
    /// An EC public key on the given curve (`kty: EC`).
    Ec(Curve),
    /// An Ed25519 public key (`kty: OKP`, `crv: Ed25519`).
    Ed25519,
}

/// An elliptic curve usable with ECDSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (`crv: P-256`).
    P256,
    /// NIST P-384 (`crv: P-384`).
    P384,
    /// NIST P-521 (`crv: P-521`).
    P521,
}

impl Curve {
    /// The JWK `crv` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Length in bytes of one coordinate or scalar.
    pub(crate) const fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 14] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
        Algorithm::Ed25519,
    ];

    /// Every asymmetric algorithm: the default allow-list for public keys, since each key is bound
    /// to its own family and so cannot be confused with another.
    pub const ASYMMETRIC: [Algorithm; 11] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
        Algorithm::Ed25519,
    ];

    /// The JOSE name (`"RS256"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::Ed25519 => "Ed25519",
        }
    }

    /// The key family this algorithm requires.
    pub const fn family(self) -> KeyFamily {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => KeyFamily::Hmac,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyFamily::Rsa,
            Algorithm::ES256 => KeyFamily::Ec(Curve::P256),
            Algorithm::ES384 => KeyFamily::Ec(Curve::P384),
            Algorithm::ES512 => KeyFamily::Ec(Curve::P521),
            Algorithm::EdDSA | Algorithm::Ed25519 => KeyFamily::Ed25519,
        }
    }

    /// Whether this build's crypto backend implements the algorithm (every one with aws-lc-rs;
    /// ring has no ES512).
    pub const fn is_available(self) -> bool {
        crate::crypto::supports(self)
    }

    /// Whether this is an HMAC (shared-secret) algorithm.
    pub const fn is_symmetric(self) -> bool {
        matches!(self.family(), KeyFamily::Hmac)
    }

    /// Minimum HMAC secret length in bytes (the hash output length, RFC 7518 §3.2).
    pub(crate) const fn min_secret_len(self) -> usize {
        match self {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        }
    }

    /// Exact signature length for fixed-size signatures (ECDSA `r‖s`, Ed25519, HMAC).
    pub(crate) const fn fixed_signature_len(self) -> Option<usize> {
        match self {
            Algorithm::HS256 => Some(32),
            Algorithm::HS384 => Some(48),
            Algorithm::HS512 => Some(64),
            Algorithm::ES256 => Some(64),
            Algorithm::ES384 => Some(96),
            Algorithm::ES512 => Some(132),
            Algorithm::EdDSA | Algorithm::Ed25519 => Some(64),
            _ => None,
        }
    }

    /// Whether a key whose JWK names `self` may verify tokens signed with `other`: the same
    /// algorithm, or `EdDSA` and `Ed25519`, two names for one algorithm on Ed25519 keys.
    pub(crate) const fn same_as(self, other: Algorithm) -> bool {
        self as usize == other as usize
            || matches!(
                (self, other),
                (Algorithm::EdDSA, Algorithm::Ed25519) | (Algorithm::Ed25519, Algorithm::EdDSA)
            )
    }

    /// Dense index for per-algorithm tables.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// Parses a header `alg` value, with the error a token deserves.
    pub(crate) fn from_header(alg: &str) -> Result<Algorithm, Error> {
        alg.parse().map_err(|_| {
            if alg.eq_ignore_ascii_case("none") {
                Error::new(
                    ErrorCode::AlgNotAllowed,
                    format!(
                        "alg {} is never accepted: the token is unsigned",
                        quote(alg)
                    ),
                )
            } else {
                Error::new(
                    ErrorCode::AlgNotAllowed,
                    format!(
                        "alg {} is not supported (supported: {})",
                        quote(alg),
                        list(&Algorithm::ALL)
                    ),
                )
            }
        })
    }
}

/// Formats a list of algorithms for messages: `RS256, ES256`.
pub(crate) fn list(algs: &[Algorithm]) -> String {
    algs.iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The error of [`Algorithm::from_str`]: the name is not a supported algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAlgorithm;

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown or unsupported JWS algorithm")
    }
}

impl std::error::Error for UnknownAlgorithm {}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Exact, case-sensitive JOSE names only (RFC 7515 §4.1.1 says `alg` is case-sensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or(UnknownAlgorithm)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(Algorithm::ALL[alg.index()], alg);
        }
    }

    #[test]
    fn none_in_any_case_is_not_an_algorithm() {
        for s in ["none", "None", "NONE", "nOnE"] {
            let err = Algorithm::from_header(s).unwrap_err();
            assert_eq!(err.code(), ErrorCode::AlgNotAllowed);
            assert!(err.message().contains("never accepted"), "{err}");
        }
    }

    #[test]
    fn names_are_case_sensitive() {
        assert!("rs256".parse::<Algorithm>().is_err());
        assert!("eddsa".parse::<Algorithm>().is_err());
    }
}
