//! Minting tokens, for tests, demos and local development.
//!
//! jwtgate is a verifier; this module exists so that its own tests, benchmarks, the `jwtgate`
//! command and your integration tests can produce real tokens for every supported algorithm
//! without a second JOSE library. It uses the same crypto backend as verification.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::alg::Algorithm;
use crate::crypto::{KeyPair, PublicParts};
use crate::error::Error;
use crate::token::encode;

/// A private signing key with its algorithm and key id.
///
/// ```
/// use jwtgate::{Algorithm, sign::SigningKey};
/// let key = SigningKey::generate(Algorithm::EdDSA, "ed-1").unwrap();
/// let token = key.mint(&serde_json::json!({"sub": "alice"})).unwrap();
/// assert_eq!(token.split('.').count(), 3);
/// assert!(key.public_jwks().contains("\"kid\":\"ed-1\""));
/// ```
pub struct SigningKey {
    alg: Algorithm,
    kid: String,
    pair: KeyPair,
}

impl SigningKey {
    /// Generates a new key (RSA: 2048 bits; HMAC: a random secret of the hash length).
    ///
    /// # Errors
    /// `config_invalid` if the backend cannot generate this key type (ring cannot generate RSA).
    pub fn generate(alg: Algorithm, kid: impl Into<String>) -> Result<SigningKey, Error> {
        Ok(SigningKey {
            alg,
            kid: kid.into(),
            pair: KeyPair::generate(alg).map_err(Error::config)?,
        })
    }

    /// Loads a PKCS#8 private key (DER) for `alg`.
    ///
    /// # Errors
    /// `config_invalid` if the key does not parse or does not fit `alg`.
    pub fn from_pkcs8_der(
        alg: Algorithm,
        kid: impl Into<String>,
        der: &[u8],
    ) -> Result<SigningKey, Error> {
        Ok(SigningKey {
            alg,
            kid: kid.into(),
            pair: KeyPair::from_pkcs8(alg, der).map_err(Error::config)?,
        })
    }

    /// Loads a PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`) for `alg`.
    ///
    /// # Errors
    /// `config_invalid` if the PEM or key does not parse or does not fit `alg`.
    pub fn from_pkcs8_pem(
        alg: Algorithm,
        kid: impl Into<String>,
        pem: &str,
    ) -> Result<SigningKey, Error> {
        let blocks = crate::der::parse_pem(pem).map_err(Error::config)?;
        let block = blocks
            .iter()
            .find(|b| b.label == "PRIVATE KEY")
            .ok_or_else(|| Error::config("no '-----BEGIN PRIVATE KEY-----' block"))?;
        SigningKey::from_pkcs8_der(alg, kid, &block.der)
    }

    /// An HMAC key.
    ///
    /// # Errors
    /// `config_invalid` if `alg` is not HS*.
    pub fn hmac(
        alg: Algorithm,
        kid: impl Into<String>,
        secret: &[u8],
    ) -> Result<SigningKey, Error> {
        Ok(SigningKey {
            alg,
            kid: kid.into(),
            pair: KeyPair::from_secret(alg, secret).map_err(Error::config)?,
        })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id put in headers and in the public JWK.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The HMAC secret (HS* keys only).
    pub fn secret(&self) -> Option<Vec<u8>> {
        match self.pair.public_parts() {
            PublicParts::Secret(s) => Some(s),
            _ => None,
        }
    }

    /// The private key as PKCS#8 DER (not for HMAC keys).
    pub fn pkcs8_der(&self) -> Option<Vec<u8>> {
        self.pair.pkcs8()
    }

    /// The private key as PKCS#8 PEM (not for HMAC keys).
    pub fn pkcs8_pem(&self) -> Option<String> {
        self.pkcs8_der().map(|der| pem("PRIVATE KEY", &der))
    }

    /// The public JWK (with `kid`, `alg`, `use: sig`), or `None` for HMAC keys.
    pub fn public_jwk(&self) -> Option<Value> {
        let mut jwk = match self.pair.public_parts() {
            PublicParts::Rsa { n, e } => json!({"kty": "RSA", "n": encode(&n), "e": encode(&e)}),
            PublicParts::Ec { x, y } => {
                let crv = match self.alg {
                    Algorithm::ES384 => "P-384",
                    Algorithm::ES512 => "P-521",
                    _ => "P-256",
                };
                json!({"kty": "EC", "crv": crv, "x": encode(&x), "y": encode(&y)})
            }
            PublicParts::Ed25519(x) => json!({"kty": "OKP", "crv": "Ed25519", "x": encode(&x)}),
            PublicParts::Secret(_) => return None,
        };
        jwk["kid"] = json!(self.kid);
        jwk["alg"] = json!(self.alg.as_str());
        jwk["use"] = json!("sig");
        Some(jwk)
    }

    /// A JWKS document holding this key's public JWK (`{"keys":[]}` for HMAC keys).
    pub fn public_jwks(&self) -> String {
        jwks(&[self])
    }

    /// Signs `claims` as a JWT with header `{"alg", "typ":"JWT", "kid"}`.
    ///
    /// # Errors
    /// `config_invalid` if the claims do not serialize or signing fails.
    pub fn mint<C: Serialize>(&self, claims: &C) -> Result<String, Error> {
        self.mint_with_header(&json!({"typ": "JWT"}), claims)
    }

    /// Signs `claims` with extra header members (`alg` and `kid` are added unless present).
    ///
    /// # Errors
    /// `config_invalid` if the header or claims do not serialize or signing fails.
    pub fn mint_with_header<C: Serialize>(
        &self,
        header: &Value,
        claims: &C,
    ) -> Result<String, Error> {
        let mut header: Map<String, Value> = header
            .as_object()
            .cloned()
            .ok_or_else(|| Error::config("header must be a JSON object"))?;
        header
            .entry("alg")
            .or_insert_with(|| json!(self.alg.as_str()));
        header.entry("kid").or_insert_with(|| json!(self.kid));
        let header = serde_json::to_vec(&header).map_err(|e| Error::config(e.to_string()))?;
        let payload = serde_json::to_vec(claims).map_err(|e| Error::config(e.to_string()))?;
        self.sign_raw(&header, &payload)
    }

    /// The RFC 7638 thumbprint of the public key (the `cnf.jkt` of tokens bound to it, RFC 9449
    /// §6.1), or `None` for HMAC keys.
    pub fn thumbprint(&self) -> Option<String> {
        let jwk = self.public_jwk()?;
        crate::dpop::thumbprint(jwk.as_object()?).ok()
    }

    /// A DPoP proof (RFC 9449 §4.2) signed with this key, for tests and demos: header `typ`
    /// `dpop+jwt`, `alg`, the public `jwk`; claims a random `jti`, `htm`, `htu` (without query
    /// and fragment), `iat` now, `ath` when the access token is given, `nonce` when given.
    ///
    /// ```
    /// use jwtgate::{Algorithm, sign::SigningKey};
    /// let client = SigningKey::generate(Algorithm::ES256, "client").unwrap();
    /// let proof = client.dpop_proof("POST", "https://mcp.example.com/mcp", Some("the-token"), None).unwrap();
    /// assert_eq!(proof.split('.').count(), 3);
    /// ```
    ///
    /// # Errors
    /// `config_invalid` for an HMAC key (proofs are signed with asymmetric keys) or a signing
    /// failure.
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, Error> {
        let jwk = self
            .public_jwk()
            .ok_or_else(|| Error::config("DPoP proofs are signed with asymmetric keys"))?;
        let jti = match KeyPair::generate(Algorithm::HS256).map(|k| k.public_parts()) {
            Ok(PublicParts::Secret(random)) => encode(&random[..16]),
            _ => return Err(Error::config("no randomness for the proof's jti")),
        };
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        let mut claims = json!({
            "jti": jti, "htm": method, "htu": htu, "iat": crate::verifier::now_unix(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(encode(&crate::crypto::sha256(token.as_bytes())));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let header = json!({"typ": "dpop+jwt", "alg": self.alg.as_str(), "jwk": jwk});
        let header = serde_json::to_vec(&header).map_err(|e| Error::config(e.to_string()))?;
        let payload = serde_json::to_vec(&claims).map_err(|e| Error::config(e.to_string()))?;
        self.sign_raw(&header, &payload)
    }

    /// Signs exact header and payload bytes (no checks, no changes): for tests that need
    /// unusual headers or payloads.
    ///
    /// # Errors
    /// `config_invalid` if signing fails.
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> Result<String, Error> {
        let signing_input = format!("{}.{}", encode(header), encode(payload));
        let signature = self.sign_bytes(signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", encode(&signature)))
    }

    /// A raw signature over `message` with this key's algorithm.
    ///
    /// # Errors
    /// `config_invalid` if signing fails.
    pub fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.pair.sign(self.alg, message).map_err(Error::config)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A JWKS document with the public JWKs of `keys` (HMAC keys are left out).
pub fn jwks(keys: &[&SigningKey]) -> String {
    let keys: Vec<Value> = keys.iter().filter_map(|k| k.public_jwk()).collect();
    json!({ "keys": keys }).to_string()
}

/// PEM-armours DER bytes with 64-column lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64_simd::STANDARD.encode_to_string(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
