//! Signature primitives, one small module per backend with the same internal shape.
//!
//! `aws-lc-rs` is the default (pre-parsed public keys: the key is parsed once when the key set is
//! built, not on every verification); `ring` is the alternative. When both features are enabled,
//! aws-lc-rs is used. Every key is bound to one [`Algorithm`] when it is built: nothing in a token
//! can choose how a key verifies.
//!
//! [`Algorithm`]: crate::Algorithm

#[cfg(feature = "aws-lc-rs")]
mod aws_lc;
#[cfg(feature = "aws-lc-rs")]
use aws_lc as backend;

#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
mod ring_backend;
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
use ring_backend as backend;

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "jwtgate needs a crypto backend: enable the `aws-lc-rs` (default) or `ring` feature"
);

pub(crate) use backend::{BACKEND_NAME, KeyPair, VerifyingKey, sha256, supports};

/// Public key material in the canonical raw forms both backends accept.
#[derive(Clone, Copy)]
pub(crate) enum Material<'a> {
    /// A DER RSAPublicKey (RFC 8017 §A.1.1).
    RsaPkcs1Der(&'a [u8]),
    /// An uncompressed SEC1 point `04 ‖ x ‖ y`.
    EcPoint(&'a [u8]),
    /// 32 raw Ed25519 public-key bytes.
    Ed25519(&'a [u8]),
    /// An HMAC secret.
    Secret(&'a [u8]),
}

/// The public half of a key pair, for publishing as a JWK.
pub(crate) enum PublicParts {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { x: Vec<u8>, y: Vec<u8> },
    Ed25519(Vec<u8>),
    Secret(Vec<u8>),
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // An index loop over two slices of one proven length: LLVM vectorises it (16 bytes a step),
    // about as fast as memcmp on a cached token, with no data-dependent exit.
    let (a, b) = (&a[..a.len()], &b[..a.len()]);
    let mut diff = 0u8;
    for i in 0..a.len() {
        diff |= a[i] ^ b[i];
    }
    // black_box keeps the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyingKey({})", self.algorithm())
    }
}

#[cfg(test)]
mod wycheproof_tests;
