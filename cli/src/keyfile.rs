//! Key files: private keys as JWK and PKCS#8 PEM (for `keygen` and `mint`), verification keys
//! from files (for `verify`), and RFC 7638 thumbprints as default key ids.
//!
//! Core's `SigningKey` generates keys and writes PKCS#8, but has no private-JWK form. The
//! conversions here are plumbing, not verification: EC and Ed25519 go through aws-lc-rs (the
//! backend core uses), RSA through the RustCrypto `pkcs1`/`pkcs8` DER types because aws-lc-rs does
//! not expose RSA private components. Wanted in core instead: `SigningKey::private_jwk()` and
//! `SigningKey::from_jwk(&Value)` (see cli/README.md).

use std::path::Path;

use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair};
use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, Key, KeyFamily, VerifierBuilder};
use pkcs1::der::{Decode, Encode};
use pkcs8::ObjectIdentifier;
use serde_json::{Map, Value, json};

use crate::ui::{Failure, read_file};

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Unpadded base64url, as JWK members use.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes)
}

fn member_bytes(jwk: &Value, name: &str) -> Result<Vec<u8>, String> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the JWK has no \"{name}\" member"))?;
    jwtgate::base64url_decode(text).map_err(|e| format!("JWK member \"{name}\": {e}"))
}

/// The RFC 7638 thumbprint (SHA-256, base64url) of a public or symmetric JWK: a key id that
/// anyone can recompute from the key itself.
pub(crate) fn thumbprint(jwk: &Value) -> Result<String, String> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
    let members: &[&str] = match kty {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "oct" => &["k", "kty"],
        other => return Err(format!("no thumbprint for kty {other:?}")),
    };
    // Required members only, lexicographic order, no whitespace (RFC 7638 §3.2).
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk
            .get(*name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the JWK has no \"{name}\" member"))?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&format!("\"{name}\":{}", Value::from(value)));
    }
    canonical.push('}');
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    Ok(b64url(digest.as_ref()))
}

/// The same key under another kid.
pub(crate) fn with_kid(key: &SigningKey, kid: &str) -> Result<SigningKey, String> {
    let alg = key.algorithm();
    let result = match (key.secret(), key.pkcs8_der()) {
        (Some(secret), _) => SigningKey::hmac(alg, kid, &secret),
        (None, Some(der)) => SigningKey::from_pkcs8_der(alg, kid, &der),
        (None, None) => return Err("the key has neither a secret nor a PKCS#8 form".into()),
    };
    result.map_err(|e| e.to_string())
}

/// The key's thumbprint, computed from its public JWK (or its secret for HMAC).
pub(crate) fn default_kid(key: &SigningKey) -> Result<String, String> {
    match key.public_jwk() {
        Some(jwk) => thumbprint(&jwk),
        None => {
            let secret = key.secret().ok_or("an HMAC key without a secret")?;
            thumbprint(&json!({"kty": "oct", "k": b64url(&secret)}))
        }
    }
}

fn ec_signing(alg: Algorithm) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    match alg {
        Algorithm::ES256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        _ => None,
    }
}

/// The private key as a JWK (RFC 7517/7518/8037 members), with `kid`, `alg` and `use: sig`.
pub(crate) fn private_jwk(key: &SigningKey) -> Result<Value, String> {
    let alg = key.algorithm();
    let fail = |what: &str| format!("cannot export the {alg} private key: {what}");
    let mut jwk: Map<String, Value> = match key.public_jwk() {
        Some(Value::Object(map)) => map,
        Some(_) => return Err(fail("unexpected public JWK")),
        None => {
            let secret = key.secret().ok_or_else(|| fail("no secret"))?;
            let mut map = Map::new();
            map.insert("kty".into(), "oct".into());
            map.insert("k".into(), b64url(&secret).into());
            map.insert("kid".into(), key.kid().into());
            map.insert("alg".into(), alg.as_str().into());
            map.insert("use".into(), "sig".into());
            return Ok(Value::Object(map));
        }
    };
    let der = key.pkcs8_der().ok_or_else(|| fail("no PKCS#8 form"))?;
    match alg.family() {
        KeyFamily::Rsa => {
            let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice())
                .map_err(|e| fail(&e.to_string()))?;
            let rsa = pkcs1::RsaPrivateKey::from_der(info.private_key)
                .map_err(|e| fail(&e.to_string()))?;
            for (name, value) in [
                ("d", rsa.private_exponent),
                ("p", rsa.prime1),
                ("q", rsa.prime2),
                ("dp", rsa.exponent1),
                ("dq", rsa.exponent2),
                ("qi", rsa.coefficient),
            ] {
                jwk.insert(name.into(), b64url(value.as_bytes()).into());
            }
        }
        KeyFamily::Ec(_) => {
            let signing = ec_signing(alg).ok_or_else(|| fail("not an EC algorithm"))?;
            let pair = EcdsaKeyPair::from_pkcs8(signing, &der).map_err(|e| fail(&e.to_string()))?;
            let d = pair
                .private_key()
                .as_be_bytes()
                .map_err(|e| fail(&e.to_string()))?;
            jwk.insert("d".into(), b64url(d.as_ref()).into());
        }
        KeyFamily::Ed25519 => {
            let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|e| fail(&e.to_string()))?;
            let seed = pair.seed().map_err(|e| fail(&e.to_string()))?;
            let seed = seed.as_be_bytes().map_err(|e| fail(&e.to_string()))?;
            jwk.insert("d".into(), b64url(seed.as_ref()).into());
        }
        KeyFamily::Hmac => return Err(fail("HMAC keys have no PKCS#8 form")),
        other => return Err(fail(&format!("{other:?} keys cannot be exported"))),
    }
    Ok(Value::Object(jwk))
}

/// PKCS#8 DER for a private JWK (RSA with CRT members, EC, Ed25519).
fn pkcs8_from_jwk(jwk: &Value, alg: Algorithm) -> Result<Vec<u8>, String> {
    if jwk.get("d").is_none() {
        return Err("this JWK has no private member \"d\": it is a public key; signing needs the private key (the .private.jwk.json written by `jwtgate keygen`)".into());
    }
    match alg.family() {
        KeyFamily::Rsa => {
            let names = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];
            let parts = names
                .iter()
                .map(|n| member_bytes(jwk, n))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{e} (RSA private JWKs need n, e, d, p, q, dp, dq and qi)"))?;
            let uint = |i: usize| {
                pkcs1::UintRef::new(&parts[i])
                    .map_err(|e| format!("JWK member \"{}\": {e}", names[i]))
            };
            let rsa = pkcs1::RsaPrivateKey {
                modulus: uint(0)?,
                public_exponent: uint(1)?,
                private_exponent: uint(2)?,
                prime1: uint(3)?,
                prime2: uint(4)?,
                exponent1: uint(5)?,
                exponent2: uint(6)?,
                coefficient: uint(7)?,
                other_prime_infos: None,
            };
            let inner = rsa.to_der().map_err(|e| e.to_string())?;
            pkcs8::PrivateKeyInfo::new(pkcs1::ALGORITHM_ID, &inner)
                .to_der()
                .map_err(|e| e.to_string())
        }
        KeyFamily::Ec(_) => {
            let signing = ec_signing(alg).ok_or("not an EC algorithm")?;
            let mut point = vec![4u8];
            point.extend(member_bytes(jwk, "x")?);
            point.extend(member_bytes(jwk, "y")?);
            let pair = EcdsaKeyPair::from_private_key_and_public_key(
                signing,
                &member_bytes(jwk, "d")?,
                &point,
            )
            .map_err(|e| format!("the EC private JWK does not fit {alg}: {e}"))?;
            Ok(pair
                .to_pkcs8v1()
                .map_err(|e| e.to_string())?
                .as_ref()
                .to_vec())
        }
        KeyFamily::Ed25519 => {
            let pair = Ed25519KeyPair::from_seed_and_public_key(
                &member_bytes(jwk, "d")?,
                &member_bytes(jwk, "x")?,
            )
            .map_err(|e| format!("the Ed25519 private JWK is inconsistent: {e}"))?;
            Ok(pair
                .to_pkcs8()
                .map_err(|e| e.to_string())?
                .as_ref()
                .to_vec())
        }
        KeyFamily::Hmac => Err("HMAC keys have no PKCS#8 form".into()),
        other => Err(format!("{other:?} keys cannot be imported")),
    }
}

/// The algorithm a JWK or `--alg` names; both must agree when both are given.
fn choose_alg(
    from_file: Option<Algorithm>,
    flag: Option<Algorithm>,
    default: Option<Algorithm>,
) -> Result<Algorithm, String> {
    match (from_file, flag) {
        (Some(a), Some(b)) if a != b => Err(format!("the key is for {a} but --alg says {b}")),
        (Some(a), _) | (None, Some(a)) => Ok(a),
        (None, None) => {
            default.ok_or_else(|| "the key does not say its algorithm: pass --alg".to_string())
        }
    }
}

/// Loads a private signing key: a private JWK (as written by `keygen`; `alg` and `kid` come
/// from it) or a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`; the algorithm follows from the key
/// type, RSA defaulting to RS256). The kid defaults to the key's RFC 7638 thumbprint.
pub(crate) fn load_signing_key(
    path: &Path,
    alg: Option<Algorithm>,
    kid: Option<&str>,
) -> Result<SigningKey, Failure> {
    let text = read_file(path, "the key file")?;
    let bad = |why: String| {
        Failure::usage(
            format!("{}: {why}", path.display()),
            "pass the .private.jwk.json or .pem written by `jwtgate keygen`, or a PKCS#8 PEM private key",
        )
    };
    let trimmed = text.trim_start();
    let key = if trimmed.starts_with('{') {
        let jwk: Value =
            serde_json::from_str(trimmed).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let file_alg = match jwk.get("alg").and_then(Value::as_str) {
            Some(name) => Some(
                name.parse::<Algorithm>()
                    .map_err(|_| bad(format!("unsupported alg {name:?}")))?,
            ),
            None => None,
        };
        let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
        let family_default = match (kty, jwk.get("crv").and_then(Value::as_str)) {
            ("oct", _) => Some(Algorithm::HS256),
            ("RSA", _) => Some(Algorithm::RS256),
            ("EC", Some("P-256")) => Some(Algorithm::ES256),
            ("EC", Some("P-384")) => Some(Algorithm::ES384),
            ("EC", Some("P-521")) => Some(Algorithm::ES512),
            ("OKP", Some("Ed25519")) => Some(Algorithm::EdDSA),
            (kty, crv) => return Err(bad(format!("unsupported key type kty={kty:?} crv={crv:?}"))),
        };
        let alg = choose_alg(file_alg, alg, family_default).map_err(bad)?;
        let kid = kid
            .map(str::to_owned)
            .or_else(|| jwk.get("kid").and_then(Value::as_str).map(str::to_owned));
        let key = if kty == "oct" {
            let secret = member_bytes(&jwk, "k").map_err(bad)?;
            SigningKey::hmac(alg, kid.clone().unwrap_or_default(), &secret)
        } else {
            let der = pkcs8_from_jwk(&jwk, alg).map_err(bad)?;
            SigningKey::from_pkcs8_der(alg, kid.clone().unwrap_or_default(), &der)
        }
        .map_err(|e| bad(e.to_string()))?;
        match kid {
            Some(_) => key,
            None => with_kid(&key, &default_kid(&key).map_err(bad)?).map_err(bad)?,
        }
    } else if trimmed.contains("-----BEGIN") {
        let (label, doc) = pkcs8::SecretDocument::from_pem(trimmed)
            .map_err(|e| bad(format!("not a PEM document: {e}")))?;
        if label != "PRIVATE KEY" {
            return Err(bad(format!(
                "a \"{label}\" PEM block; a PKCS#8 \"PRIVATE KEY\" is needed (convert with `openssl pkcs8 -topk8 -nocrypt -in FILE`)"
            )));
        }
        let info = pkcs8::PrivateKeyInfo::try_from(doc.as_bytes())
            .map_err(|e| bad(format!("not a PKCS#8 private key: {e}")))?;
        let family_default = if info.algorithm.oid == OID_RSA {
            Algorithm::RS256
        } else if info.algorithm.oid == OID_ED25519 {
            Algorithm::EdDSA
        } else if info.algorithm.oid == OID_EC {
            match info.algorithm.parameters_oid() {
                Ok(OID_P256) => Algorithm::ES256,
                Ok(OID_P384) => Algorithm::ES384,
                _ => return Err(bad("an EC key on a curve other than P-256 or P-384".into())),
            }
        } else {
            return Err(bad(format!(
                "unsupported key algorithm {}",
                info.algorithm.oid
            )));
        };
        let chosen = choose_alg(None, alg, Some(family_default)).map_err(bad)?;
        if chosen.family() != family_default.family() {
            return Err(bad(format!(
                "the key is for {} keys but --alg says {chosen}",
                family_default.as_str()
            )));
        }
        let key = SigningKey::from_pkcs8_der(chosen, kid.unwrap_or_default(), doc.as_bytes())
            .map_err(|e| bad(e.to_string()))?;
        match kid {
            Some(_) => key,
            None => with_kid(&key, &default_kid(&key).map_err(bad)?).map_err(bad)?,
        }
    } else {
        return Err(bad("neither a JWK (JSON) nor a PEM private key".into()));
    };
    Ok(key)
}

/// Adds the verification key(s) of a file to a verifier builder: a JWKS, a public JWK, an HMAC
/// secret JWK (`kty: oct`, as `keygen --alg HS256` writes), or PEM public keys. Core parses and
/// checks the keys exactly as for a server.
pub(crate) fn add_verification_keys(
    builder: VerifierBuilder,
    path: &Path,
) -> Result<VerifierBuilder, Failure> {
    let text = read_file(path, "the key file")?;
    let bad = |why: String| {
        Failure::usage(
            format!("{}: {why}", path.display()),
            "pass a JWKS, a public JWK, an HMAC secret JWK (kty oct) or a PEM public key",
        )
    };
    let trimmed = text.trim_start();
    if trimmed.contains("-----BEGIN") {
        return Ok(builder.public_key_pem(trimmed));
    }
    let doc: Value =
        serde_json::from_str(trimmed).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    if doc.get("keys").is_some() {
        return Ok(builder.jwks(trimmed));
    }
    if doc.get("kty").and_then(Value::as_str) == Some("oct") {
        let alg = match doc.get("alg").and_then(Value::as_str) {
            Some(name) => name
                .parse::<Algorithm>()
                .map_err(|_| bad(format!("unsupported alg {name:?}")))?,
            None => Algorithm::HS256,
        };
        let secret = member_bytes(&doc, "k").map_err(bad)?;
        let mut key = Key::hmac_secret(alg, secret).map_err(|e| bad(e.to_string()))?;
        if let Some(kid) = doc.get("kid").and_then(Value::as_str) {
            key = key.with_kid(kid);
        }
        return Ok(builder.key(key));
    }
    Ok(builder.jwks(&json!({ "keys": [doc] }).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn private_jwks_round_trip_for_every_family() {
        for alg in [
            Algorithm::RS256,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
            Algorithm::HS256,
        ] {
            let key = SigningKey::generate(alg, "k").unwrap();
            let jwk = private_jwk(&key).unwrap();
            assert!(
                jwk.get(if alg == Algorithm::HS256 { "k" } else { "d" })
                    .is_some(),
                "{alg}"
            );
            let dir = std::env::temp_dir()
                .join(format!("jwtgate-cli-keyfile-{}-{alg}", std::process::id()));
            std::fs::write(&dir, jwk.to_string()).unwrap();
            let loaded = load_signing_key(&dir, None, None).unwrap();
            std::fs::remove_file(&dir).unwrap();
            assert_eq!(loaded.algorithm(), alg);
            assert_eq!(loaded.kid(), "k");
            let token = loaded.mint(&json!({"iss": "i", "sub": "x"})).unwrap();
            // The loaded key signs what the original key's public half verifies.
            let builder = jwtgate::Verifier::builder()
                .issuer("i")
                .insecure_skip_audience_check()
                .insecure_allow_missing_exp();
            let verifier = match key.secret() {
                Some(secret) => builder.key(Key::hmac_secret(alg, secret).unwrap().with_kid("k")),
                None => builder.jwks(&key.public_jwks()),
            }
            .build()
            .unwrap();
            assert!(verifier.verify(&token).is_ok(), "{alg}");
        }
    }
}
