//! One test per attack class of DESIGN.md and issue #2, each asserting the exact error code.

mod common;

use common::*;
use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, ErrorCode, KeySet, Verifier};
use serde_json::json;

fn payload_b64() -> String {
    b64(serde_json::to_string(&claims()).unwrap().as_bytes())
}

#[test]
fn alg_none_in_every_spelling_is_rejected() {
    let rs = key(Algorithm::RS256, "rs");
    let v = verifier(&[rs]);
    for alg in ["none", "None", "NONE", "nOnE", "NoNe"] {
        let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
        // Unsigned, as RFC 7515 A.5 writes it, and with a signature copied from a valid token.
        let unsigned = format!("{header}.{}.", payload_b64());
        assert_eq!(code(v.verify(&unsigned)), ErrorCode::AlgNotAllowed, "{alg}");
        let valid = rs.mint(&claims()).unwrap();
        let sig = valid.rsplit('.').next().unwrap();
        let signed = format!("{header}.{}.{sig}", payload_b64());
        let err = v.verify(&signed).unwrap_err();
        assert_eq!(err.code(), ErrorCode::AlgNotAllowed, "{alg}");
        assert!(err.message().contains("never accepted"), "{err}");
    }
}

#[test]
fn hmac_with_the_rsa_public_key_as_secret_is_rejected() {
    let rs = key(Algorithm::RS256, "rs");
    let jwk = rs.public_jwk().unwrap();
    let pem = {
        // The attacker's secret: the server's own public key, as PEM text and as DER bytes.
        let set = KeySet::from_jwks_json(&rs.public_jwks()).unwrap();
        assert_eq!(set.len(), 1);
        let der = jwtgate::base64url_decode(jwk["n"].as_str().unwrap()).unwrap();
        (der.clone(), String::from_utf8_lossy(&der).into_owned())
    };
    let verifier = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks_json(&rs.public_jwks())
        .build()
        .unwrap();
    let pem_verifier = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .public_key_pem(&jwtgate::sign::pem("PUBLIC KEY", &spki_of(rs)))
        .build()
        .unwrap();
    for secret in [
        pem.0.clone(),
        pem.1.into_bytes(),
        jwtgate::sign::pem("PUBLIC KEY", &spki_of(rs)).into_bytes(),
        spki_of(rs),
    ] {
        let forger = SigningKey::hmac(Algorithm::HS256, "rs", &secret).unwrap();
        let forged = forger.mint(&claims()).unwrap();
        assert_eq!(code(verifier.verify(&forged)), ErrorCode::AlgNotAllowed);
        assert_eq!(code(pem_verifier.verify(&forged)), ErrorCode::AlgNotAllowed);
    }
    // Allowing HS256 next to public keys is refused when the verifier is built.
    let err = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks_json(&rs.public_jwks())
        .algorithms([Algorithm::RS256, Algorithm::HS256])
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert!(err.message().contains("algorithm confusion"), "{err}");
    // And so is mixing an HMAC secret with public keys.
    let err = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks_json(&rs.public_jwks())
        .hmac_secret(Algorithm::HS256, [1u8; 32])
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
}

/// SubjectPublicKeyInfo DER of an RSA signing key, built from its JWK.
fn spki_of(key: &SigningKey) -> Vec<u8> {
    let jwk = key.public_jwk().unwrap();
    let n = jwtgate::base64url_decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = jwtgate::base64url_decode(jwk["e"].as_str().unwrap()).unwrap();
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = body.len();
        if len < 128 {
            out.push(len as u8);
        } else if len < 256 {
            out.extend([0x81, len as u8]);
        } else {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(body);
        out
    }
    let int = |m: &[u8]| {
        let mut b = if m[0] & 0x80 != 0 { vec![0] } else { vec![] };
        b.extend_from_slice(m);
        tlv(0x02, &b)
    };
    let rsa_key = tlv(0x30, &[int(&n), int(&e)].concat());
    let mut bits = vec![0u8];
    bits.extend(rsa_key);
    let alg_id = tlv(
        0x30,
        &[
            tlv(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    tlv(0x30, &[alg_id, tlv(0x03, &bits)].concat())
}

#[test]
fn pem_public_key_verifies_like_the_jwk() {
    let rs = key(Algorithm::RS256, "rs");
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .public_key_pem(&jwtgate::sign::pem("PUBLIC KEY", &spki_of(rs)))
        .build()
        .unwrap();
    // A PEM key has no kid; the token's kid is then not needed to find it.
    let token = rs
        .mint_with_header(&json!({"kid": null}), &claims())
        .unwrap();
    let token_without_kid = {
        let header = b64(br#"{"alg":"RS256"}"#);
        let signing_input = format!("{header}.{}", token.split('.').nth(1).unwrap());
        let sig = rs.sign_bytes(signing_input.as_bytes()).unwrap();
        format!("{signing_input}.{}", b64(&sig))
    };
    v.verify(&token_without_kid).unwrap();
}

#[test]
fn header_alg_different_from_the_jwk_alg_is_key_unusable() {
    let rs = key(Algorithm::RS256, "rs");
    let v = verifier(&[rs]); // the JWK says alg RS256
    // The same RSA key signs PS256: mathematically valid, but the JWK pins RS256.
    let der = rs.pkcs8_der().unwrap();
    let ps = SigningKey::from_pkcs8_der(Algorithm::PS256, "rs", &der).unwrap();
    let err = v.verify(&ps.mint(&claims()).unwrap()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyUnusable);
    assert!(err.message().contains("is for RS256"), "{err}");
    // A kid naming an EC key for an RSA token: wrong family.
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[rs, ec]);
    let wrong = SigningKey::from_pkcs8_der(Algorithm::RS256, "ec", &der).unwrap();
    assert_eq!(
        code(v.verify(&wrong.mint(&claims()).unwrap())),
        ErrorCode::KeyUnusable
    );
}

const P256_N: &str = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn ecdsa_zero_and_out_of_range_signatures_are_rejected() {
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[ec]);
    let token = ec.mint(&claims()).unwrap();
    v.verify(&token).unwrap();
    let sig = unb64(token.rsplit('.').next().unwrap());
    let (r, s) = sig.split_at(32);
    let n = hex(P256_N);
    let cases: [(&str, Vec<u8>); 4] = [
        ("r=s=0", vec![0u8; 64]),
        ("r=n", [n.as_slice(), s].concat()),
        ("s=n", [r, n.as_slice()].concat()),
        ("r=s=n", [n.as_slice(), n.as_slice()].concat()),
    ];
    for (name, bad) in cases {
        let forged = with_segment(&token, 2, &b64(&bad));
        assert_eq!(
            code(v.verify(&forged)),
            ErrorCode::SignatureInvalid,
            "{name}"
        );
    }
}

#[test]
fn der_encoded_ecdsa_signature_is_rejected() {
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[ec]);
    let token = ec.mint(&claims()).unwrap();
    let sig = unb64(token.rsplit('.').next().unwrap());
    let int = |m: &[u8]| {
        let m: Vec<u8> = m.iter().copied().skip_while(|&b| b == 0).collect();
        let mut b = if m[0] & 0x80 != 0 { vec![0] } else { vec![] };
        b.extend(m);
        [vec![0x02, b.len() as u8], b].concat()
    };
    let body = [int(&sig[..32]), int(&sig[32..])].concat();
    let der = [vec![0x30, body.len() as u8], body].concat();
    let err = v.verify(&with_segment(&token, 2, &b64(&der))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::SignatureInvalid);
    assert!(err.message().contains("not DER"), "{err}");
}

#[test]
fn key_location_headers_have_no_effect() {
    let good = key(Algorithm::ES256, "good");
    let attacker = SigningKey::generate(Algorithm::ES256, "good").unwrap();
    let v = verifier(&[good]);
    let attacker_jwk = attacker.public_jwk().unwrap();
    let pointing = json!({
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "jwk": attacker_jwk,
        "x5c": ["MIIBszCCAVmgAwIBAgIUW"],
    });
    // Signed by the trusted key: the extra members change nothing.
    v.verify(&good.mint_with_header(&pointing, &claims()).unwrap())
        .unwrap();
    // Signed by the attacker, whose key the header embeds or points to: never trusted.
    let forged = attacker.mint_with_header(&pointing, &claims()).unwrap();
    assert_eq!(code(v.verify(&forged)), ErrorCode::SignatureInvalid);
    let mut no_kid = pointing.clone();
    no_kid["kid"] = json!(null);
    let header = serde_json::to_vec(&json!({"alg":"ES256","jwk": attacker_jwk})).unwrap();
    let forged = attacker
        .sign_raw(
            &header,
            serde_json::to_string(&claims()).unwrap().as_bytes(),
        )
        .unwrap();
    assert_eq!(code(v.verify(&forged)), ErrorCode::SignatureInvalid);
}

#[test]
fn crit_b64_and_jwe_are_rejected() {
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[ec]);
    let crit = ec
        .mint_with_header(&json!({"crit": ["exp"], "exp": 1}), &claims())
        .unwrap();
    assert_eq!(code(v.verify(&crit)), ErrorCode::HeaderUnsupported);
    let b64_false = ec
        .mint_with_header(&json!({"b64": false, "crit": ["b64"]}), &claims())
        .unwrap();
    assert_eq!(code(v.verify(&b64_false)), ErrorCode::HeaderUnsupported);
    let enc = ec
        .mint_with_header(&json!({"enc": "A256GCM"}), &claims())
        .unwrap();
    assert_eq!(code(v.verify(&enc)), ErrorCode::HeaderUnsupported);
    // A compact JWE: five segments.
    let jwe = format!(
        "{}.{}.{}.{}.{}",
        b64(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#),
        b64(&[1; 256]),
        b64(&[2; 12]),
        b64(&[3; 40]),
        b64(&[4; 16])
    );
    let err = v.verify(&jwe).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TokenMalformed);
    assert!(err.message().contains("JWE"), "{err}");
}

#[test]
fn duplicate_members_are_rejected_in_header_and_claims() {
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[ec]);
    let claims = serde_json::to_string(&claims()).unwrap();
    let dup_header = br#"{"alg":"ES256","kid":"ec","kid":"other"}"#;
    assert_eq!(
        code(v.verify(&ec.sign_raw(dup_header, claims.as_bytes()).unwrap())),
        ErrorCode::TokenMalformed
    );
    // The second "sub" would win in a last-value-wins parser.
    let dup_claims = claims.replacen('{', r#"{"sub":"mallory","#, 1);
    let err = v
        .verify(
            &ec.sign_raw(br#"{"alg":"ES256","kid":"ec"}"#, dup_claims.as_bytes())
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TokenMalformed);
    assert!(err.message().contains("duplicate member \"sub\""), "{err}");
}

#[test]
fn ten_thousand_deep_nesting_is_rejected() {
    let ec = key(Algorithm::ES256, "ec");
    let v = builder(&[ec]).max_token_bytes(1 << 20).build().unwrap();
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let claims =
        serde_json::to_string(&claims())
            .unwrap()
            .replacen('{', &format!(r#"{{"deep":{deep},"#), 1);
    let err = v
        .verify(
            &ec.sign_raw(br#"{"alg":"ES256","kid":"ec"}"#, claims.as_bytes())
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TokenMalformed);
    let header = format!(r#"{{"alg":"ES256","kid":"ec","x":{deep}}}"#);
    let plain = serde_json::to_string(&common::claims()).unwrap();
    let err = v
        .verify(&ec.sign_raw(header.as_bytes(), plain.as_bytes()).unwrap())
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TokenMalformed);
}

#[test]
fn a_one_megabyte_token_is_rejected_before_parsing() {
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[ec]);
    let big = claims_with(json!({"pad": "x".repeat(1 << 20)}));
    let token = ec.mint(&big).unwrap();
    assert!(token.len() > 1_000_000);
    let err = v.verify(&token).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TokenTooLarge);
    assert!(err.message().contains("16384"), "{err}");
}

#[test]
fn non_canonical_base64_in_each_segment_is_rejected() {
    let rs = key(Algorithm::RS256, "rs");
    let v = verifier(&[rs]);
    // Pick header and claims whose base64 lengths leave unused bits (length % 4 != 0).
    let mut extra = String::new();
    let token = loop {
        let t = rs
            .mint_with_header(
                &json!({"typ": "JWT", "x": extra}),
                &claims_with(json!({"p": extra})),
            )
            .unwrap();
        if t.split('.').all(|s| s.len() % 4 != 0) {
            break t;
        }
        extra.push('a');
    };
    v.verify(&token).unwrap();
    for i in 0..3 {
        let seg = token.split('.').nth(i).unwrap();
        // Same bytes in a lenient decoder: flip an unused low bit of the last character.
        let last = seg.as_bytes()[seg.len() - 1];
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let idx = A.iter().position(|&c| c == last).unwrap();
        let tweaked = format!("{}{}", &seg[..seg.len() - 1], A[idx ^ 1] as char);
        assert_eq!(
            code(v.verify(&with_segment(&token, i, &tweaked))),
            ErrorCode::TokenMalformed,
            "bits {i}"
        );
        let padded = format!("{seg}{}", "=".repeat(4 - seg.len() % 4));
        assert_eq!(
            code(v.verify(&with_segment(&token, i, &padded))),
            ErrorCode::TokenMalformed,
            "pad {i}"
        );
        let standard = seg.replace('-', "+").replace('_', "/");
        if standard != seg {
            assert_eq!(
                code(v.verify(&with_segment(&token, i, &standard))),
                ErrorCode::TokenMalformed,
                "std {i}"
            );
        }
    }
}

#[test]
fn trailing_dot_and_whitespace_are_rejected() {
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[ec]);
    let token = ec.mint(&claims()).unwrap();
    v.verify(&token).unwrap();
    for bad in [
        format!("{token}."),
        format!(" {token}"),
        format!("{token} "),
        format!("{token}\n"),
        token.replacen('.', ". ", 1),
        token.replacen('.', "\t.", 1),
    ] {
        assert_eq!(code(v.verify(&bad)), ErrorCode::TokenMalformed, "{bad:?}");
    }
}

#[test]
fn malformed_exp_values_are_claim_invalid() {
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[ec]);
    let header = br#"{"alg":"ES256","kid":"ec"}"#;
    for exp in [
        r#""9999999999""#,
        "true",
        "null",
        "-1",
        "1e400",
        "[1]",
        "{}",
    ] {
        let body = serde_json::to_string(&claims_with(json!({"exp": null})))
            .unwrap()
            .replacen('{', &format!(r#"{{"exp":{exp},"#), 1);
        let err = v
            .verify(&ec.sign_raw(header, body.as_bytes()).unwrap())
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ClaimInvalid, "exp {exp}: {err}");
        assert_eq!(err.claim(), Some("exp"));
    }
}

#[test]
fn time_claims_are_enforced() {
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[ec]);
    let now = jwtgate::now_unix();
    let expired = ec.mint(&claims_with(json!({"exp": now - 10}))).unwrap();
    assert_eq!(code(v.verify(&expired)), ErrorCode::TokenExpired);
    let future = ec.mint(&claims_with(json!({"nbf": now + 120}))).unwrap();
    assert_eq!(code(v.verify(&future)), ErrorCode::TokenNotYetValid);
    let issued_later = ec.mint(&claims_with(json!({"iat": now + 120}))).unwrap();
    assert_eq!(code(v.verify(&issued_later)), ErrorCode::TokenNotYetValid);
    let no_exp = ec.mint(&claims_with(json!({"exp": null}))).unwrap();
    assert_eq!(code(v.verify(&no_exp)), ErrorCode::ClaimMissing);
    // Leeway covers small skews in both directions.
    let lenient = builder(&[ec])
        .leeway(std::time::Duration::from_secs(180))
        .build()
        .unwrap();
    lenient.verify(&expired).unwrap();
    lenient.verify(&future).unwrap();
    let long_expired = ec.mint(&claims_with(json!({"exp": now - 400}))).unwrap();
    assert_eq!(code(lenient.verify(&long_expired)), ErrorCode::TokenExpired);
    let err = builder(&[ec])
        .leeway(std::time::Duration::from_secs(601))
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
}

#[test]
fn issuer_must_match_exactly_with_or_without_trailing_slash() {
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[ec]);
    let slash = ec
        .mint(&claims_with(json!({"iss": format!("{ISS}/")})))
        .unwrap();
    let err = v.verify(&slash).unwrap_err();
    assert_eq!(err.code(), ErrorCode::IssuerMismatch);
    assert_eq!(
        err.message(),
        r#"issuer mismatch: expected "https://idp.example.com", token has "https://idp.example.com/""#
    );
    let slash_verifier = Verifier::builder()
        .issuer(format!("{ISS}/"))
        .audience(AUD)
        .jwks_json(&ec.public_jwks())
        .build()
        .unwrap();
    let plain = ec.mint(&claims()).unwrap();
    let err = slash_verifier.verify(&plain).unwrap_err();
    assert_eq!(err.code(), ErrorCode::IssuerMismatch);
    assert!(
        err.message()
            .contains(r#"expected "https://idp.example.com/""#),
        "{err}"
    );
    slash_verifier.verify(&slash).unwrap();
    let none = ec.mint(&claims_with(json!({"iss": null}))).unwrap();
    assert_eq!(code(v.verify(&none)), ErrorCode::ClaimMissing);
}

#[test]
fn audience_shapes_and_mismatch() {
    let ec = key(Algorithm::ES256, "ec");
    let v = verifier(&[ec]);
    for aud in [json!([]), json!([123]), json!(true), json!({"a": 1})] {
        let t = ec.mint(&claims_with(json!({"aud": aud}))).unwrap();
        assert_eq!(code(v.verify(&t)), ErrorCode::ClaimInvalid, "aud {aud}");
    }
    let header = br#"{"alg":"ES256","kid":"ec"}"#;
    let body = serde_json::to_string(&claims_with(json!({"aud": null})))
        .unwrap()
        .replacen('{', r#"{"aud":null,"#, 1);
    assert_eq!(
        code(v.verify(&ec.sign_raw(header, body.as_bytes()).unwrap())),
        ErrorCode::ClaimInvalid
    );
    let other = ec
        .mint(&claims_with(json!({"aud": "https://other.example.com"})))
        .unwrap();
    let err = v.verify(&other).unwrap_err();
    assert_eq!(err.code(), ErrorCode::AudienceMismatch);
    assert!(err.message().contains("https://other.example.com"), "{err}");
    let missing = ec.mint(&claims_with(json!({"aud": null}))).unwrap();
    assert_eq!(code(v.verify(&missing)), ErrorCode::ClaimMissing);
    let many = ec.mint(&claims_with(json!({"aud": ["x", AUD]}))).unwrap();
    v.verify(&many).unwrap();
}

#[test]
fn typ_expectation() {
    let ec = key(Algorithm::ES256, "ec");
    let v = builder(&[ec]).typ("at+jwt").build().unwrap();
    let jwt = ec.mint(&claims()).unwrap(); // typ JWT
    let err = v.verify(&jwt).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TypMismatch);
    assert_eq!(
        err.message(),
        r#"typ mismatch: expected "at+jwt", token has "JWT""#
    );
    let at = ec
        .mint_with_header(&json!({"typ": "application/AT+JWT"}), &claims())
        .unwrap();
    v.verify(&at).unwrap();
    let none = ec
        .sign_raw(
            br#"{"alg":"ES256","kid":"ec"}"#,
            serde_json::to_string(&claims()).unwrap().as_bytes(),
        )
        .unwrap();
    assert_eq!(code(v.verify(&none)), ErrorCode::TypMismatch);
}

#[test]
fn missing_scope_is_insufficient_scope() {
    let ec = key(Algorithm::ES256, "ec");
    let v = builder(&[ec])
        .required_scopes(["tools:call", "admin"])
        .build()
        .unwrap();
    let err = v.verify(&ec.mint(&claims()).unwrap()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    assert_eq!(
        err.message(),
        r#"missing scope: admin (token has: "tools:call" "read")"#
    );
    let ok = ec
        .mint(&claims_with(
            json!({"scope": null, "scp": ["admin", "tools:call"]}),
        ))
        .unwrap();
    assert_eq!(v.verify(&ok).unwrap().scopes(), ["admin", "tools:call"]);
}

#[test]
fn rsa_1024_bit_keys_are_refused() {
    let weak_jwk = include_str!("data/rsa1024_public_jwk.json");
    let set = KeySet::from_jwks_json(&format!(r#"{{"keys":[{weak_jwk}]}}"#)).unwrap();
    assert!(set.is_empty());
    assert!(
        set.skipped()[0].reason.contains("1024 bits"),
        "{:?}",
        set.skipped()
    );
    let err = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks_json(&format!(r#"{{"keys":[{weak_jwk}]}}"#))
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert!(err.message().contains("1024 bits"), "{err}");
    let pem = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .public_key_pem(include_str!("data/rsa1024_public.pem"))
        .build()
        .unwrap_err();
    assert!(pem.message().contains("1024 bits"), "{pem}");
    // Next to a good key, a token signed by the weak key finds nothing to verify with.
    let good = key(Algorithm::RS256, "rs");
    let mixed = format!(r#"{{"keys":[{weak_jwk},{}]}}"#, good.public_jwk().unwrap());
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks_json(&mixed)
        .build()
        .unwrap();
    let weak = SigningKey::from_pkcs8_pem(
        Algorithm::RS256,
        "weak-1024",
        include_str!("data/rsa1024_private_pkcs8.pem"),
    );
    let token = match weak {
        Ok(k) => k.mint(&claims()).unwrap(),
        // The backend may refuse to load a 1024-bit private key at all; the kid is what matters.
        Err(_) => with_segment(
            &good
                .mint_with_header(&json!({"kid": "weak-1024"}), &claims())
                .unwrap(),
            2,
            &b64(&[7; 128]),
        ),
    };
    assert_eq!(code(v.verify(&token)), ErrorCode::KeyNotFound);
}

#[test]
fn rsa_exponent_one_is_refused_and_its_forgery_fails() {
    let good = key(Algorithm::RS256, "rs");
    let mut jwk = good.public_jwk().unwrap();
    jwk["kid"] = json!("e1");
    jwk["e"] = json!("AQ");
    let jwks = format!(r#"{{"keys":[{jwk},{}]}}"#, good.public_jwk().unwrap());
    let set = KeySet::from_jwks_json(&jwks).unwrap();
    assert_eq!(set.len(), 1);
    assert!(set.skipped()[0].reason.contains("exponent"));
    // With e = 1, s^e = s, so the PKCS#1 v1.5 encoding of the hash is itself a "signature".
    let header = b64(br#"{"alg":"RS256","kid":"e1"}"#);
    let signing_input = format!("{header}.{}", payload_b64());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, signing_input.as_bytes());
    let digest_info = hex("3031300d060960864801650304020105000420");
    let mut em = vec![0x00, 0x01];
    em.resize(256 - digest_info.len() - 32 - 1, 0xff);
    em.push(0);
    em.extend(digest_info);
    em.extend_from_slice(digest.as_ref());
    let forged = format!("{signing_input}.{}", b64(&em));
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks_json(&jwks)
        .build()
        .unwrap();
    assert_eq!(code(v.verify(&forged)), ErrorCode::KeyNotFound);
}

#[test]
fn tampered_tokens_fail_the_signature() {
    for alg in [
        Algorithm::RS256,
        Algorithm::PS384,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let k = key(alg, "t");
        let v = verifier(&[k]);
        let token = k.mint(&claims()).unwrap();
        v.verify(&token).unwrap();
        let tampered = with_segment(&token, 1, &payload_b64().replace("alice", "mallo"));
        let tampered = with_segment(
            &tampered,
            1,
            &b64(
                serde_json::to_string(&claims_with(json!({"sub": "mallory"})))
                    .unwrap()
                    .as_bytes(),
            ),
        );
        assert_eq!(
            code(v.verify(&tampered)),
            ErrorCode::SignatureInvalid,
            "{alg}"
        );
    }
}

#[test]
fn unknown_kid_and_ambiguous_kidless_tokens() {
    let a = key(Algorithm::ES256, "a");
    let b = key(Algorithm::ES256, "b");
    let v = verifier(&[a]);
    assert_eq!(
        code(v.verify(&b.mint(&claims()).unwrap())),
        ErrorCode::KeyNotFound
    );
    let two = verifier(&[a, b]);
    let kidless = a
        .sign_raw(
            br#"{"alg":"ES256"}"#,
            serde_json::to_string(&claims()).unwrap().as_bytes(),
        )
        .unwrap();
    let err = two.verify(&kidless).unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyNotFound);
    assert!(err.message().contains("no kid"), "{err}");
    v.verify(&kidless).unwrap();
}

#[test]
fn unsupported_algorithms_in_the_allow_list_are_rejected() {
    let ec = key(Algorithm::ES256, "ec");
    let rs = key(Algorithm::RS256, "rs");
    let v = builder(&[ec, rs])
        .algorithms([Algorithm::ES256])
        .build()
        .unwrap();
    let err = v.verify(&rs.mint(&claims()).unwrap()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::AlgNotAllowed);
    assert_eq!(
        err.message(),
        "token alg RS256 is not allowed (allowed: ES256)"
    );
    let es512 = format!(
        "{}.{}.{}",
        b64(br#"{"alg":"ES512"}"#),
        payload_b64(),
        b64(&[1; 132])
    );
    assert_eq!(code(v.verify(&es512)), ErrorCode::AlgNotAllowed);
}
