//! Verification keys: JWK (RFC 7517), PEM SubjectPublicKeyInfo, and explicitly configured HMAC
//! secrets, each checked once and bound to its key family (and, if the JWK says so, one algorithm).
//!
//! The rules of DESIGN.md "Keys":
//! * RSA → RS*/PS*, with a 2048–8192-bit modulus and an odd exponent greater than 1;
//!   EC → ES* on its own curve; OKP → EdDSA on Ed25519.
//! * `alg` on the JWK, if present, must equal the token's; `use` must be `sig` and `key_ops` must
//!   allow `verify`, if present.
//! * Private members are refused (a JWKS must publish public keys only); symmetric keys never
//!   come from a JWKS.

use std::fmt;
use std::sync::OnceLock;

use serde_json::Value;
use zeroize::Zeroize;

use crate::alg::{Algorithm, Curve, KeyFamily};
use crate::crypto::{Material, VerifyingKey};
use crate::der;
use crate::error::{Error, ErrorCode, quote};
use crate::weak_keys;

/// Smallest and largest accepted RSA modulus, in bits.
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

/// One verification key, parsed and checked.
///
/// ```
/// use jwtgate::{Algorithm, Key};
/// let key = Key::from_jwk_json(r#"{"kty":"OKP","crv":"Ed25519","kid":"ed1",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap();
/// assert_eq!(key.kid(), Some("ed1"));
/// assert!(key.can_verify(Algorithm::EdDSA));
/// assert!(!key.can_verify(Algorithm::RS256));
/// ```
pub struct Key {
    kid: Option<Box<str>>,
    alg: Option<Algorithm>,
    family: KeyFamily,
    /// Canonical bytes: RSAPublicKey DER, uncompressed EC point, raw Ed25519 key, or HMAC secret.
    material: Box<[u8]>,
    /// SHA-256 over family and material: identifies the key across key-set generations.
    fingerprint: [u8; 32],
    /// Backend keys, parsed on first use per algorithm (an RSA key without `alg` may serve six).
    verifiers: [OnceLock<Option<VerifyingKey>>; Algorithm::ALL.len()],
}

impl Key {
    fn new(
        kid: Option<String>,
        alg: Option<Algorithm>,
        family: KeyFamily,
        material: Vec<u8>,
    ) -> Result<Key, String> {
        if let Some(alg) = alg {
            if alg.family() != family {
                return Err(format!(
                    "its alg {alg} does not fit {}",
                    family_name(family)
                ));
            }
        }
        // Every constructor (JWK, PEM, secret) passes here, so no path skips a rule.
        check_material(family, &material)?;
        let mut tagged = format!("{family:?}:").into_bytes();
        tagged.extend_from_slice(&material);
        let fingerprint = crate::crypto::sha256(&tagged);
        tagged.zeroize();
        let key = Key {
            kid: kid.map(String::into_boxed_str),
            alg,
            family,
            fingerprint,
            material: material.into_boxed_slice(),
            verifiers: Default::default(),
        };
        // Parse once now so that a broken key is reported when the key set is built, not on the
        // first token that names it. (With the aws-lc-rs backend this includes the EC on-curve
        // check; ring parses EC points lazily, so there an off-curve point fails each token's
        // signature check instead.)
        let probe = alg.unwrap_or(match family {
            KeyFamily::Rsa => Algorithm::RS256,
            KeyFamily::Ec(Curve::P256) => Algorithm::ES256,
            KeyFamily::Ec(Curve::P384) => Algorithm::ES384,
            KeyFamily::Ec(Curve::P521) => Algorithm::ES512,
            KeyFamily::Ed25519 => Algorithm::EdDSA,
            KeyFamily::Hmac => Algorithm::HS256,
        });
        if !crate::crypto::supports(probe) {
            return Err(format!(
                "{probe} ({}) is not available with the {} crypto backend; build jwtgate with the aws-lc-rs feature",
                family_name(family),
                crate::crypto::BACKEND_NAME
            ));
        }
        if key.verifier(probe).is_none() {
            return Err(format!(
                "its key material is invalid for {}",
                family_name(family)
            ));
        }
        Ok(key)
    }

    /// Parses one public JWK given as JSON text.
    ///
    /// # Errors
    /// `key_unusable` with the reason when the JWK is not a usable public signature key.
    pub fn from_jwk_json(json: &str) -> Result<Key, Error> {
        crate::json::check_document(json.as_bytes(), "the JWK")
            .map_err(|e| Error::new(ErrorCode::KeyUnusable, e.message()))?;
        let value: Value = serde_json::from_str(json).map_err(|e| {
            Error::new(
                ErrorCode::KeyUnusable,
                format!("JWK is not valid JSON: {e}"),
            )
        })?;
        Key::from_jwk_value(&value)
            .map_err(|reason| Error::new(ErrorCode::KeyUnusable, format!("JWK unusable: {reason}")))
    }

    /// Parses one JWK object; the error is a reason phrase for skip reports.
    pub(crate) fn from_jwk_value(jwk: &Value) -> Result<Key, String> {
        let obj = jwk.as_object().ok_or("a JWK must be a JSON object")?;
        let text = |name: &str| -> Result<Option<&str>, String> {
            match obj.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(format!("{name} must be a string")),
            }
        };
        let b64 = |name: &str| -> Result<Vec<u8>, String> {
            let s = text(name)?.ok_or_else(|| format!("{name} is missing"))?;
            base64_simd::URL_SAFE_NO_PAD
                .decode_to_vec(s.as_bytes())
                .map_err(|_| format!("{name} is not base64url"))
        };
        let kid = text("kid")?.map(str::to_owned);
        let kty = text("kty")?.ok_or("kty is missing")?;
        if let Some(usage) = text("use")? {
            if usage != "sig" {
                return Err(format!("its use is {}, not sig", quote(usage)));
            }
        }
        if let Some(ops) = obj.get("key_ops") {
            let ops = ops.as_array().ok_or("key_ops must be an array")?;
            if !ops.iter().any(|op| op.as_str() == Some("verify")) {
                return Err("its key_ops do not include verify".into());
            }
        }
        let alg = match text("alg")? {
            None => None,
            Some(name) => Some(name.parse::<Algorithm>().map_err(|_| {
                format!(
                    "its alg {} is not a supported signature algorithm",
                    quote(name)
                )
            })?),
        };
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            if obj.contains_key(private) && kty != "oct" {
                return Err(format!(
                    "it contains private key material ({private}); publish public keys only"
                ));
            }
        }
        match kty {
            "RSA" => {
                let n = strip_zeros(b64("n")?);
                let e = strip_zeros(b64("e")?);
                Key::new(kid, alg, KeyFamily::Rsa, der::encode_rsa_public_key(&n, &e))
            }
            "EC" => {
                let curve = match text("crv")?.ok_or("crv is missing")? {
                    "P-256" => Curve::P256,
                    "P-384" => Curve::P384,
                    "P-521" => Curve::P521,
                    other => return Err(format!("curve {} is not supported", quote(other))),
                };
                let (x, y) = (b64("x")?, b64("y")?);
                let len = curve.coordinate_len();
                if x.len() != len || y.len() != len {
                    return Err(format!("x and y must be {len} bytes each for {}", curve.as_str()));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Key::new(kid, alg, KeyFamily::Ec(curve), point)
            }
            "OKP" => match text("crv")?.ok_or("crv is missing")? {
                "Ed25519" => {
                    let x = b64("x")?;
                    if x.len() != 32 {
                        return Err("x must be 32 bytes for Ed25519".into());
                    }
                    Key::new(kid, alg, KeyFamily::Ed25519, x)
                }
                other => Err(format!("curve {} is not supported", quote(other))),
            },
            "oct" => Err("symmetric (oct) keys are never taken from a JWKS; configure HMAC secrets explicitly".into()),
            other => Err(format!("key type {} is not supported", quote(other))),
        }
    }

    /// Parses a PEM public key: `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1).
    ///
    /// # Errors
    /// `key_unusable` for private keys, certificates, unsupported key types, and malformed PEM/DER.
    pub fn from_pem(pem: &str) -> Result<Key, Error> {
        let unusable = |m: String| Error::new(ErrorCode::KeyUnusable, m);
        let blocks =
            der::parse_pem(pem).map_err(|e| unusable(format!("not a PEM public key: {e}")))?;
        if blocks.len() != 1 {
            return Err(unusable(format!(
                "expected one PEM public key, found {} blocks (use KeySet::from_pem for several)",
                blocks.len()
            )));
        }
        Key::from_pem_block(&blocks[0]).map_err(|e| unusable(format!("PEM key unusable: {e}")))
    }

    pub(crate) fn from_pem_block(block: &der::PemBlock) -> Result<Key, String> {
        match block.label.as_str() {
            "PUBLIC KEY" => match der::parse_spki(&block.der).ok_or("malformed SubjectPublicKeyInfo")? {
                der::Spki::Rsa { n, e } => {
                    Key::new(None, None, KeyFamily::Rsa, der::encode_rsa_public_key(&n, &e))
                }
                der::Spki::Ec { curve, point } => {
                    if point.len() != 1 + 2 * curve.coordinate_len() || point[0] != 4 {
                        return Err("the EC point must be uncompressed".into());
                    }
                    Key::new(None, None, KeyFamily::Ec(curve), point)
                }
                der::Spki::Ed25519(raw) => Key::new(None, None, KeyFamily::Ed25519, raw),
                der::Spki::Unsupported(_) => Err("the key type or curve is not supported".into()),
            },
            "RSA PUBLIC KEY" => {
                let (n, e) = der::parse_rsa_public_key(&block.der).ok_or("malformed RSAPublicKey")?;
                Key::new(None, None, KeyFamily::Rsa, der::encode_rsa_public_key(&n, &e))
            }
            label if label.contains("PRIVATE") => {
                Err("this is a private key; configure the public key (openssl pkey -pubout)".into())
            }
            "CERTIFICATE" => Err(
                "certificates are not accepted; extract the public key (openssl x509 -pubkey -noout)".into(),
            ),
            other => Err(format!("unexpected PEM label {}", quote(other))),
        }
    }

    /// An HMAC secret for exactly one HS* algorithm. Secrets shorter than the hash output are
    /// refused (RFC 7518 §3.2).
    ///
    /// # Errors
    /// `config_invalid` when `alg` is not HS* or the secret is too short.
    ///
    /// ```
    /// use jwtgate::{Algorithm, Key};
    /// assert!(Key::hmac_secret(Algorithm::HS256, [7u8; 32]).is_ok());
    /// assert!(Key::hmac_secret(Algorithm::HS256, b"short").is_err());
    /// assert!(Key::hmac_secret(Algorithm::RS256, [7u8; 32]).is_err());
    /// ```
    pub fn hmac_secret(alg: Algorithm, secret: impl AsRef<[u8]>) -> Result<Key, Error> {
        let secret = secret.as_ref();
        if !alg.is_symmetric() {
            return Err(Error::config(format!("{alg} is not an HMAC algorithm")));
        }
        if secret.len() < alg.min_secret_len() {
            return Err(Error::config(format!(
                "an {alg} secret must be at least {} bytes, got {}",
                alg.min_secret_len(),
                secret.len()
            )));
        }
        Key::new(None, Some(alg), KeyFamily::Hmac, secret.to_vec()).map_err(Error::config)
    }

    /// Sets the key id (for PEM keys and secrets, which carry none).
    pub fn with_kid(mut self, kid: impl Into<String>) -> Key {
        self.kid = Some(kid.into().into_boxed_str());
        self
    }

    /// Restricts the key to one algorithm, as a JWK `alg` member would.
    ///
    /// # Errors
    /// `config_invalid` if the algorithm does not fit the key's family, or the key is already bound
    /// to another algorithm.
    pub fn with_algorithm(mut self, alg: Algorithm) -> Result<Key, Error> {
        if alg.family() != self.family || self.alg.is_some_and(|a| a != alg) {
            return Err(Error::config(format!(
                "{} cannot be restricted to {alg}",
                self.describe()
            )));
        }
        self.alg = Some(alg);
        Ok(self)
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm the key is restricted to, if any.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.alg
    }

    /// The key family.
    pub fn family(&self) -> KeyFamily {
        self.family
    }

    /// Whether this key may verify tokens signed with `alg`.
    pub fn can_verify(&self, alg: Algorithm) -> bool {
        alg.family() == self.family && self.alg.is_none_or(|a| a.same_as(alg))
    }

    /// Identifies the key material across key sets (used by the verified-token cache).
    pub(crate) fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// Why this key cannot verify `alg`, for `key_unusable` messages.
    pub(crate) fn unusable_for(&self, alg: Algorithm) -> Error {
        let name = self
            .kid
            .as_deref()
            .map_or_else(|| "the key".to_string(), |k| format!("key {}", quote(k)));
        let message = match self.alg {
            Some(bound) if bound.family() == alg.family() => {
                format!("{name} is for {bound} (its alg) but the token is signed {alg}")
            }
            _ => format!("{name} is {} and cannot verify {alg}", self.describe()),
        };
        Error::new(ErrorCode::KeyUnusable, message)
    }

    /// The backend key for `alg`, parsed on first use. `None` if the backend rejects the key.
    pub(crate) fn verifier(&self, alg: Algorithm) -> Option<&VerifyingKey> {
        self.verifiers[alg.index()]
            .get_or_init(|| {
                let material = match self.family {
                    KeyFamily::Rsa => Material::RsaPkcs1Der(&self.material),
                    KeyFamily::Ec(_) => Material::EcPoint(&self.material),
                    KeyFamily::Ed25519 => Material::Ed25519(&self.material),
                    KeyFamily::Hmac => Material::Secret(&self.material),
                };
                VerifyingKey::new(alg, material)
            })
            .as_ref()
    }

    fn describe(&self) -> String {
        match self.family {
            KeyFamily::Rsa => {
                let bits =
                    der::parse_rsa_public_key(&self.material).map_or(0, |(n, _)| bit_len(&n));
                format!("an RSA-{bits} key")
            }
            other => family_name(other).to_string(),
        }
    }
}

fn family_name(family: KeyFamily) -> &'static str {
    match family {
        KeyFamily::Rsa => "an RSA key",
        KeyFamily::Ec(Curve::P256) => "an EC P-256 key",
        KeyFamily::Ec(Curve::P384) => "an EC P-384 key",
        KeyFamily::Ec(Curve::P521) => "an EC P-521 key",
        KeyFamily::Ed25519 => "an Ed25519 key",
        KeyFamily::Hmac => "an HMAC secret",
    }
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn bit_len(magnitude: &[u8]) -> usize {
    match magnitude.first() {
        None => 0,
        Some(&top) => magnitude.len() * 8 - top.leading_zeros() as usize,
    }
}

/// The rules a key's material must meet before it is trusted: RSA sizes, exponents and the
/// ROCA fingerprint; Ed25519 length, canonical encoding and no small order (see
/// [`weak_keys`](crate::weak_keys)). EC points are checked on the curve by the backend's parse.
fn check_material(family: KeyFamily, material: &[u8]) -> Result<(), String> {
    match family {
        KeyFamily::Rsa => {
            let (n, e) = der::parse_rsa_public_key(material).ok_or("malformed RSAPublicKey")?;
            check_rsa(&n, &e)
        }
        KeyFamily::Ed25519 if material.len() != 32 => Err("Ed25519 keys are 32 bytes".into()),
        KeyFamily::Ed25519 => weak_keys::check_ed25519(material),
        KeyFamily::Ec(_) | KeyFamily::Hmac => Ok(()),
    }
}

/// RSA rules: 2048–8192-bit modulus, odd exponent greater than 1, no ROCA fingerprint.
fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), String> {
    let bits = bit_len(n);
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(format!(
            "its RSA modulus is {bits} bits; {RSA_MIN_BITS} to {RSA_MAX_BITS} are accepted"
        ));
    }
    if n.last().is_some_and(|b| b & 1 == 0) {
        return Err("its RSA modulus is even".into());
    }
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    if !odd || e == [1] || e.len() > 8 {
        return Err("its RSA exponent must be odd, greater than 1 and at most 64 bits".into());
    }
    weak_keys::check_rsa_modulus(n)
}

impl fmt::Debug for Key {
    /// Never prints secrets: kid, family, restriction and a short fingerprint of public keys only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Key");
        d.field("kid", &self.kid)
            .field("family", &self.family)
            .field("alg", &self.alg);
        if self.family != KeyFamily::Hmac {
            let hex: String = self.fingerprint[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            d.field("sha256", &hex);
        }
        d.finish()
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        if self.family == KeyFamily::Hmac {
            self.material.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        crate::token::encode(bytes)
    }

    fn rsa_jwk(bits: usize, e: &[u8]) -> Value {
        let mut n = vec![0xffu8; bits / 8];
        n[bits / 8 - 1] = 0xfb; // odd
        json!({"kty":"RSA","n": b64(&n), "e": b64(e)})
    }

    #[test]
    fn rsa_size_and_exponent_rules() {
        let err = Key::from_jwk_value(&rsa_jwk(1024, &[1, 0, 1])).unwrap_err();
        assert!(err.contains("1024 bits"), "{err}");
        assert!(
            Key::from_jwk_value(&rsa_jwk(9216, &[1, 0, 1]))
                .unwrap_err()
                .contains("9216")
        );
        assert!(
            Key::from_jwk_value(&rsa_jwk(2048, &[1]))
                .unwrap_err()
                .contains("exponent")
        );
        assert!(
            Key::from_jwk_value(&rsa_jwk(2048, &[1, 0, 0]))
                .unwrap_err()
                .contains("exponent")
        );
    }

    #[test]
    fn use_key_ops_and_private_members_are_enforced() {
        let mut jwk = json!({"kty":"OKP","crv":"Ed25519","x": b64(&[9u8; 32])});
        jwk["use"] = json!("enc");
        assert!(Key::from_jwk_value(&jwk).unwrap_err().contains("use"));
        jwk["use"] = json!("sig");
        jwk["key_ops"] = json!(["sign"]);
        assert!(Key::from_jwk_value(&jwk).unwrap_err().contains("key_ops"));
        jwk["key_ops"] = json!(["verify"]);
        jwk["d"] = json!(b64(&[1u8; 32]));
        assert!(Key::from_jwk_value(&jwk).unwrap_err().contains("private"));
    }

    #[test]
    fn oct_and_unknown_types_are_refused() {
        let oct = json!({"kty":"oct","k": b64(&[1u8; 32])});
        assert!(
            Key::from_jwk_value(&oct)
                .unwrap_err()
                .contains("never taken from a JWKS")
        );
        let ed448 = json!({"kty":"OKP","crv":"Ed448","x": b64(&[1u8; 57])});
        assert!(Key::from_jwk_value(&ed448).unwrap_err().contains("Ed448"));
    }

    #[test]
    fn alg_must_fit_the_key_type() {
        let jwk = json!({"kty":"OKP","crv":"Ed25519","alg":"RS256","x": b64(&[9u8; 32])});
        assert!(
            Key::from_jwk_value(&jwk)
                .unwrap_err()
                .contains("does not fit")
        );
    }

    #[test]
    fn hmac_secret_debug_hides_the_secret() {
        let key = Key::hmac_secret(Algorithm::HS256, [0x41u8; 32]).unwrap();
        let shown = format!("{key:?}");
        assert!(
            !shown.contains("65") && !shown.contains("AAAA") && !shown.contains("sha256"),
            "{shown}"
        );
    }
}
