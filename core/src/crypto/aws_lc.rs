//! The aws-lc-rs backend: pre-parsed public keys (`ParsedPublicKey`), parsed once per key and algorithm.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey, VerificationAlgorithm};
use aws_lc_rs::{digest, hmac, rsa};

use super::{Material, PublicParts};
use crate::alg::Algorithm;

/// Every algorithm is available with aws-lc-rs.
pub(crate) const fn supports(_alg: Algorithm) -> bool {
    true
}

pub(crate) const BACKEND_NAME: &str = "aws-lc-rs";

/// A public key (or HMAC secret) bound to exactly one algorithm.
pub(crate) struct VerifyingKey {
    alg: Algorithm,
    inner: Inner,
}

enum Inner {
    Public(ParsedPublicKey),
    /// Boxed: an HMAC key holds both padded key blocks (over 1 KiB), a parsed public key 56 bytes.
    Hmac(Box<hmac::Key>),
}

fn verification_algorithm(alg: Algorithm) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::ES512 => &signature::ECDSA_P521_SHA512_FIXED,
        Algorithm::EdDSA | Algorithm::Ed25519 => &signature::ED25519,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return None,
    })
}

fn hmac_algorithm(alg: Algorithm) -> Option<hmac::Algorithm> {
    match alg {
        Algorithm::HS256 => Some(hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

impl VerifyingKey {
    /// Parses `material` for `alg`. `None` when the backend rejects the key (bad point, bad
    /// encoding, size outside the algorithm's bounds) or the material does not suit `alg`.
    pub(crate) fn new(alg: Algorithm, material: Material<'_>) -> Option<VerifyingKey> {
        let inner = match (material, alg.is_symmetric()) {
            (Material::Secret(secret), true) => {
                Inner::Hmac(Box::new(hmac::Key::new(hmac_algorithm(alg)?, secret)))
            }
            (Material::Secret(_), false) | (_, true) => return None,
            (
                Material::RsaPkcs1Der(bytes) | Material::EcPoint(bytes) | Material::Ed25519(bytes),
                false,
            ) => Inner::Public(ParsedPublicKey::new(verification_algorithm(alg)?, bytes).ok()?),
        };
        Some(VerifyingKey { alg, inner })
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Verifies `signature` over `message`. HMAC tags are compared in constant time by aws-lc.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.inner {
            Inner::Public(key) => key.verify_sig(message, signature).is_ok(),
            Inner::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
        }
    }
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// A private key for minting tokens (tests, demos, local development).
pub(crate) enum KeyPair {
    Rsa(rsa::KeyPair),
    Ec(signature::EcdsaKeyPair),
    Ed25519(signature::Ed25519KeyPair),
    Hmac(Box<hmac::Key>, Vec<u8>),
}

fn ecdsa_signing(alg: Algorithm) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    match alg {
        Algorithm::ES256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        Algorithm::ES512 => Some(&signature::ECDSA_P521_SHA512_FIXED_SIGNING),
        _ => None,
    }
}

fn unsupported_signing(alg: Algorithm) -> String {
    format!("the {BACKEND_NAME} backend cannot sign {alg}")
}

fn rsa_encoding(alg: Algorithm) -> &'static dyn signature::RsaEncoding {
    match alg {
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
        _ => &signature::RSA_PKCS1_SHA256,
    }
}

impl KeyPair {
    /// Generates a fresh key for `alg` (RSA keys are 2048 bits; HMAC secrets the hash length).
    pub(crate) fn generate(alg: Algorithm) -> Result<KeyPair, String> {
        let fail = |e| format!("key generation failed: {e}");
        Ok(match alg.family() {
            crate::alg::KeyFamily::Rsa => {
                KeyPair::Rsa(rsa::KeyPair::generate(rsa::KeySize::Rsa2048).map_err(fail)?)
            }
            crate::alg::KeyFamily::Ec(_) => KeyPair::Ec(
                signature::EcdsaKeyPair::generate(
                    ecdsa_signing(alg).ok_or_else(|| unsupported_signing(alg))?,
                )
                .map_err(fail)?,
            ),
            crate::alg::KeyFamily::Ed25519 => {
                KeyPair::Ed25519(signature::Ed25519KeyPair::generate().map_err(fail)?)
            }
            crate::alg::KeyFamily::Hmac => {
                let mut secret = vec![0u8; alg.min_secret_len()];
                aws_lc_rs::rand::fill(&mut secret).map_err(fail)?;
                KeyPair::from_secret(alg, &secret)?
            }
        })
    }

    /// Loads a PKCS#8 DER private key for `alg`.
    pub(crate) fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<KeyPair, String> {
        let fail = |e: aws_lc_rs::error::KeyRejected| format!("private key rejected: {e}");
        Ok(match alg.family() {
            crate::alg::KeyFamily::Rsa => {
                KeyPair::Rsa(rsa::KeyPair::from_pkcs8(der).map_err(fail)?)
            }
            crate::alg::KeyFamily::Ec(_) => KeyPair::Ec(
                signature::EcdsaKeyPair::from_pkcs8(
                    ecdsa_signing(alg).ok_or_else(|| unsupported_signing(alg))?,
                    der,
                )
                .map_err(fail)?,
            ),
            crate::alg::KeyFamily::Ed25519 => {
                KeyPair::Ed25519(signature::Ed25519KeyPair::from_pkcs8(der).map_err(fail)?)
            }
            crate::alg::KeyFamily::Hmac => return Err("HMAC secrets are not PKCS#8 keys".into()),
        })
    }

    /// An HMAC key from a secret.
    pub(crate) fn from_secret(alg: Algorithm, secret: &[u8]) -> Result<KeyPair, String> {
        let algorithm = hmac_algorithm(alg).ok_or("not an HMAC algorithm")?;
        Ok(KeyPair::Hmac(
            Box::new(hmac::Key::new(algorithm, secret)),
            secret.to_vec(),
        ))
    }

    /// Signs `message` for `alg` (which must match the key's family).
    pub(crate) fn sign(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>, String> {
        let fail = |_| "signing failed".to_string();
        match self {
            KeyPair::Rsa(key) => {
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(rsa_encoding(alg), &SystemRandom::new(), message, &mut sig)
                    .map_err(fail)?;
                Ok(sig)
            }
            KeyPair::Ec(key) => Ok(key
                .sign(&SystemRandom::new(), message)
                .map_err(fail)?
                .as_ref()
                .to_vec()),
            KeyPair::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
            KeyPair::Hmac(key, _) => Ok(hmac::sign(key, message).as_ref().to_vec()),
        }
    }

    pub(crate) fn public_parts(&self) -> PublicParts {
        match self {
            KeyPair::Rsa(key) => {
                // `as_ref` is the RFC 8017 RSAPublicKey DER, which aws-lc always encodes correctly.
                let (n, e) =
                    crate::der::parse_rsa_public_key(key.public_key().as_ref()).unwrap_or_default();
                PublicParts::Rsa { n, e }
            }
            KeyPair::Ec(key) => {
                let point = key.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                PublicParts::Ec {
                    x: point[1..1 + half].to_vec(),
                    y: point[1 + half..].to_vec(),
                }
            }
            KeyPair::Ed25519(key) => PublicParts::Ed25519(key.public_key().as_ref().to_vec()),
            KeyPair::Hmac(_, secret) => PublicParts::Secret(secret.clone()),
        }
    }

    /// The private key as PKCS#8 DER (`None` for HMAC secrets).
    pub(crate) fn pkcs8(&self) -> Option<Vec<u8>> {
        match self {
            KeyPair::Rsa(key) => {
                let der: aws_lc_rs::encoding::Pkcs8V1Der = key.as_der().ok()?;
                Some(der.as_ref().to_vec())
            }
            KeyPair::Ec(key) => Some(key.to_pkcs8v1().ok()?.as_ref().to_vec()),
            KeyPair::Ed25519(key) => Some(key.to_pkcs8v1().ok()?.as_ref().to_vec()),
            KeyPair::Hmac(..) => None,
        }
    }
}
