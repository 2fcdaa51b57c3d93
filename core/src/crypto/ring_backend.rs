//! The ring backend. ring has no pre-parsed public key type, so the canonical key bytes are kept
//! and handed to `UnparsedPublicKey` on each verification; key validity is still checked once, when
//! the key is built, by the crate's own size and encoding checks. ring cannot generate RSA keys:
//! minting RSA tokens with this backend needs a PKCS#8 key from elsewhere.

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, KeyPair as _, VerificationAlgorithm};
use ring::{digest, hmac};

use super::{Material, PublicParts};
use crate::alg::{Algorithm, KeyFamily};

pub(crate) const BACKEND_NAME: &str = "ring";

/// ring has no P-521: ES512 needs the aws-lc-rs backend.
pub(crate) const fn supports(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::ES512)
}

/// A public key (or HMAC secret) bound to exactly one algorithm.
pub(crate) struct VerifyingKey {
    alg: Algorithm,
    inner: Inner,
}

enum Inner {
    Public(&'static dyn VerificationAlgorithm, Box<[u8]>),
    Hmac(hmac::Key),
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
        Algorithm::EdDSA | Algorithm::Ed25519 => &signature::ED25519,
        Algorithm::ES512 | Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return None,
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
    pub(crate) fn new(alg: Algorithm, material: Material<'_>) -> Option<VerifyingKey> {
        let inner = match (material, alg.is_symmetric()) {
            (Material::Secret(secret), true) => {
                Inner::Hmac(hmac::Key::new(hmac_algorithm(alg)?, secret))
            }
            (Material::Secret(_), false) | (_, true) => return None,
            (
                Material::RsaPkcs1Der(bytes) | Material::EcPoint(bytes) | Material::Ed25519(bytes),
                false,
            ) => Inner::Public(verification_algorithm(alg)?, bytes.into()),
        };
        Some(VerifyingKey { alg, inner })
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        self.alg
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.inner {
            Inner::Public(alg, key) => signature::UnparsedPublicKey::new(*alg, key)
                .verify(message, signature)
                .is_ok(),
            Inner::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
        }
    }
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// A private key for minting tokens, with its PKCS#8 encoding (ring cannot re-export it).
pub(crate) enum KeyPair {
    Rsa(signature::RsaKeyPair, Vec<u8>),
    Ec(signature::EcdsaKeyPair, Vec<u8>),
    Ed25519(signature::Ed25519KeyPair, Vec<u8>),
    Hmac(hmac::Key, Vec<u8>),
}

fn ecdsa_signing(alg: Algorithm) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    match alg {
        Algorithm::ES256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
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
    pub(crate) fn generate(alg: Algorithm) -> Result<KeyPair, String> {
        let rng = SystemRandom::new();
        let fail = |_| "key generation failed".to_string();
        match alg.family() {
            KeyFamily::Rsa => {
                Err("the ring backend cannot generate RSA keys; load a PKCS#8 key instead".into())
            }
            KeyFamily::Ec(_) => {
                let doc = signature::EcdsaKeyPair::generate_pkcs8(
                    ecdsa_signing(alg).ok_or_else(|| unsupported_signing(alg))?,
                    &rng,
                )
                .map_err(fail)?;
                KeyPair::from_pkcs8(alg, doc.as_ref())
            }
            KeyFamily::Ed25519 => {
                let doc = signature::Ed25519KeyPair::generate_pkcs8(&rng).map_err(fail)?;
                KeyPair::from_pkcs8(alg, doc.as_ref())
            }
            KeyFamily::Hmac => {
                let mut secret = vec![0u8; alg.min_secret_len()];
                rng.fill(&mut secret).map_err(fail)?;
                KeyPair::from_secret(alg, &secret)
            }
        }
    }

    pub(crate) fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<KeyPair, String> {
        let fail = |e: ring::error::KeyRejected| format!("private key rejected: {e}");
        Ok(match alg.family() {
            KeyFamily::Rsa => KeyPair::Rsa(
                signature::RsaKeyPair::from_pkcs8(der).map_err(fail)?,
                der.to_vec(),
            ),
            KeyFamily::Ec(_) => KeyPair::Ec(
                signature::EcdsaKeyPair::from_pkcs8(
                    ecdsa_signing(alg).ok_or_else(|| unsupported_signing(alg))?,
                    der,
                    &SystemRandom::new(),
                )
                .map_err(fail)?,
                der.to_vec(),
            ),
            KeyFamily::Ed25519 => KeyPair::Ed25519(
                signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(fail)?,
                der.to_vec(),
            ),
            KeyFamily::Hmac => return Err("HMAC secrets are not PKCS#8 keys".into()),
        })
    }

    pub(crate) fn from_secret(alg: Algorithm, secret: &[u8]) -> Result<KeyPair, String> {
        let algorithm = hmac_algorithm(alg).ok_or("not an HMAC algorithm")?;
        Ok(KeyPair::Hmac(
            hmac::Key::new(algorithm, secret),
            secret.to_vec(),
        ))
    }

    pub(crate) fn sign(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        let fail = |_| "signing failed".to_string();
        match self {
            KeyPair::Rsa(key, _) => {
                let mut sig = vec![0u8; key.public().modulus_len()];
                key.sign(rsa_encoding(alg), &rng, message, &mut sig)
                    .map_err(fail)?;
                Ok(sig)
            }
            KeyPair::Ec(key, _) => Ok(key.sign(&rng, message).map_err(fail)?.as_ref().to_vec()),
            KeyPair::Ed25519(key, _) => Ok(key.sign(message).as_ref().to_vec()),
            KeyPair::Hmac(key, _) => Ok(hmac::sign(key, message).as_ref().to_vec()),
        }
    }

    pub(crate) fn public_parts(&self) -> PublicParts {
        match self {
            KeyPair::Rsa(key, _) => {
                // `as_ref` is the RFC 8017 RSAPublicKey DER, which ring always encodes correctly.
                let (n, e) =
                    crate::der::parse_rsa_public_key(key.public_key().as_ref()).unwrap_or_default();
                PublicParts::Rsa { n, e }
            }
            KeyPair::Ec(key, _) => {
                let point = key.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                PublicParts::Ec {
                    x: point[1..1 + half].to_vec(),
                    y: point[1 + half..].to_vec(),
                }
            }
            KeyPair::Ed25519(key, _) => PublicParts::Ed25519(key.public_key().as_ref().to_vec()),
            KeyPair::Hmac(_, secret) => PublicParts::Secret(secret.clone()),
        }
    }

    pub(crate) fn pkcs8(&self) -> Option<Vec<u8>> {
        match self {
            KeyPair::Rsa(_, der) | KeyPair::Ec(_, der) | KeyPair::Ed25519(_, der) => {
                Some(der.clone())
            }
            KeyPair::Hmac(..) => None,
        }
    }
}
