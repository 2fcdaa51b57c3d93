//! The crypto floor of a token: its signature checked over its signing input with a pre-parsed
//! aws-lc-rs key and nothing else — no parsing, no header, no claims (the signature validation of
//! RFC 7515 §5.2 alone). No verifier can be faster; `jwtgate bench` and the criterion suite in
//! benches/ both measure jwtgate against it.
//!
//! One definition for both, shared as a source file: benches/src/lib.rs includes this file with
//! `#[path]`. A crate dependency would be worse either way: the CLI depending on jwtgate-benches
//! would pull the peer libraries (jsonwebtoken, jwt-simple: about 90 crates) into the command's
//! build, and benches cannot depend on the CLI, a binary crate. This file uses only `jwtgate` and
//! `aws-lc-rs`, which both crates already depend on: no dependency is added, no cycle is possible.

use aws_lc_rs::{hmac, rsa, signature};
use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, KeyFamily};

/// A token's signature and the key that made it, parsed once, to be checked again and again.
pub struct Floor {
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    key: FloorKey,
}

enum FloorKey {
    // Boxed: an HMAC key holds its padded inner and outer hash states (over 1 KiB).
    Hmac(Box<hmac::Key>),
    Public(signature::ParsedPublicKey),
}

impl Floor {
    /// The floor for `token`, signed by `key`, for any algorithm `key` can sign with.
    ///
    /// # Errors
    /// What is missing: not a compact JWS, a signature that is not base64url, a JWK member.
    pub fn new(key: &SigningKey, token: &str) -> Result<Floor, String> {
        let alg = key.algorithm();
        let (signing_input, signature) = token.rsplit_once('.').ok_or("not a token")?;
        let signing_input = signing_input.as_bytes().to_vec();
        let signature = jwtgate::base64url_decode(signature).map_err(|e| e.to_string())?;
        let key = match key.secret() {
            Some(secret) => FloorKey::Hmac(Box::new(hmac::Key::new(hmac_algorithm(alg), &secret))),
            None => FloorKey::Public(public_key(key, alg)?),
        };
        Ok(Floor {
            signing_input,
            signature,
            key,
        })
    }

    /// Checks the signature once: whether it verifies.
    pub fn check(&self) -> bool {
        match &self.key {
            FloorKey::Hmac(key) => hmac::verify(key, &self.signing_input, &self.signature).is_ok(),
            FloorKey::Public(key) => key.verify_sig(&self.signing_input, &self.signature).is_ok(),
        }
    }
}

fn hmac_algorithm(alg: Algorithm) -> hmac::Algorithm {
    match alg {
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    }
}

/// The public half of `key` as aws-lc-rs parses it for `alg` (RFC 7518 §3.3–§3.5, RFC 8037).
fn public_key(key: &SigningKey, alg: Algorithm) -> Result<signature::ParsedPublicKey, String> {
    let jwk = key.public_jwk().ok_or("no public key")?;
    let member = |name: &str| -> Result<Vec<u8>, String> {
        jwtgate::base64url_decode(jwk[name].as_str().ok_or("missing JWK member")?)
            .map_err(|e| e.to_string())
    };
    match alg.family() {
        KeyFamily::Rsa => {
            let params: &'static signature::RsaParameters = match alg {
                Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                _ => &signature::RSA_PSS_2048_8192_SHA512,
            };
            rsa::PublicKeyComponents {
                n: member("n")?,
                e: member("e")?,
            }
            .to_parsed_public_key(params)
            .map_err(|e| e.to_string())
        }
        KeyFamily::Ec(_) => {
            // An uncompressed SEC 1 point: 0x04 ‖ x ‖ y.
            let mut point = vec![4];
            point.extend(member("x")?);
            point.extend(member("y")?);
            let verification: &'static dyn signature::VerificationAlgorithm = match alg {
                Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
                Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
                _ => &signature::ECDSA_P521_SHA512_FIXED,
            };
            signature::ParsedPublicKey::new(verification, point).map_err(|e| e.to_string())
        }
        KeyFamily::Ed25519 => signature::ParsedPublicKey::new(&signature::ED25519, member("x")?)
            .map_err(|e| e.to_string()),
        KeyFamily::Hmac => Err("HMAC keys have a secret".into()),
        other => Err(format!("no crypto floor for {other:?} keys")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every algorithm's floor accepts its token and refuses one whose signed bytes changed: the
    /// algorithm → primitive mapping is right for each (compiled and run in cli and benches).
    #[test]
    fn every_algorithm_accepts_its_signature_and_refuses_other_bytes() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg, "floor").expect("key");
            let token = key
                .mint_with_header(&serde_json::json!({}), &serde_json::json!({"sub": "x"}))
                .expect("token");
            assert!(Floor::new(&key, &token).expect("floor").check(), "{alg}");
            let (header, rest) = token.split_once('.').expect("three parts");
            let other = format!(
                "{header}.{}{}",
                if rest.starts_with('A') { 'B' } else { 'A' },
                &rest[1..]
            );
            assert!(!Floor::new(&key, &other).expect("floor").check(), "{alg}");
        }
    }
}
