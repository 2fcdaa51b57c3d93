//! One test per attack class, each asserting the exact error code. Tests of the remote key
//! source run against a programmable loopback server (`common/fault_server.rs`).

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
        .jwks(&rs.public_jwks())
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
        .jwks(&rs.public_jwks())
        .algorithms([Algorithm::RS256, Algorithm::HS256])
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert!(err.message().contains("algorithm confusion"), "{err}");
    // And so is mixing an HMAC secret with public keys.
    let err = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks(&rs.public_jwks())
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
        .jwks(&ec.public_jwks())
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
        .jwks(&format!(r#"{{"keys":[{weak_jwk}]}}"#))
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
        .jwks(&mixed)
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
        .jwks(&jwks)
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

// ---- findings of the outside audit: weak keys, revocation, panics, kid rules, URLs, cache ----

#[cfg(feature = "http")]
#[path = "common/fault_server.rs"]
mod fault_server;

use jwtgate::{FetchLimits, FetchResponse, Fetcher, Key};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Ed25519 SubjectPublicKeyInfo prefix (RFC 8410 §4) before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Every small-order Ed25519 encoding (both sign bits where a point exists) and the
/// non-canonical spellings of 0 and 1 (p and p + 1).
fn small_order_ed25519_keys() -> Vec<[u8; 32]> {
    let from_hex = |h: &str| -> [u8; 32] { hex(h).try_into().unwrap() };
    let mut keys = vec![
        from_hex("0100000000000000000000000000000000000000000000000000000000000000"), // identity
        from_hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // order 2
        from_hex("0000000000000000000000000000000000000000000000000000000000000000"), // order 4
        from_hex("0000000000000000000000000000000000000000000000000000000000000080"), // order 4
        from_hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), // order 8
        from_hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"), // order 8
        from_hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), // order 8
        from_hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"), // order 8
        from_hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // p
        from_hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), // p + 1
    ];
    keys.dedup();
    keys
}

#[test]
fn ed25519_small_order_keys_would_accept_a_forged_identity_signature_and_are_refused() {
    let identity = small_order_ed25519_keys()[0];
    // The forgery itself: R = identity, S = 0 verifies under the identity key for any message,
    // as the audit reported (checked with aws-lc-rs directly, no jwtgate involved).
    let header = b64(br#"{"alg":"EdDSA","kid":"weak"}"#);
    let forged = {
        let mut sig = vec![0u8; 64];
        sig[0] = 1; // R = the encoded identity point (y = 1), S = 0
        format!("{header}.{}.{}", payload_b64(), b64(&sig))
    };
    let signing_input = forged.rsplit_once('.').unwrap().0;
    let raw_sig = jwtgate::base64url_decode(forged.rsplit('.').next().unwrap()).unwrap();
    assert!(
        aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, identity)
            .verify(signing_input.as_bytes(), &raw_sig)
            .is_ok(),
        "the forgery should verify under a small-order key at the primitive level"
    );

    for weak in small_order_ed25519_keys() {
        let x = b64(&weak);
        let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"weak","x":"{x}"}}"#);
        let err = Key::from_jwk_json(&jwk).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KeyUnusable, "{x}");
        assert!(
            err.message().contains("small order") || err.message().contains("canonical"),
            "{x}: {err}"
        );
        // PEM takes the same path.
        let mut spki = ED25519_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(&weak);
        let err = Key::from_pem(&jwtgate::sign::pem("PUBLIC KEY", &spki)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KeyUnusable, "{x}");
        // In a JWKS next to a good key, it is skipped with the reason, and the forged token
        // naming it finds no key.
        let good = key(Algorithm::EdDSA, "good");
        let doc = format!(r#"{{"keys":[{jwk},{}]}}"#, good.public_jwk().unwrap());
        let set = KeySet::from_jwks_json(&doc).unwrap();
        assert_eq!(set.len(), 1, "{x}");
        assert_eq!(set.skipped()[0].kid.as_deref(), Some("weak"));
        let v = Verifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .jwks(&doc)
            .build()
            .unwrap();
        assert_eq!(code(v.verify(&forged)), ErrorCode::KeyNotFound, "{x}");
        v.verify(&good.mint(&claims()).unwrap()).unwrap();
    }
}

#[test]
fn roca_fingerprinted_rsa_modulus_is_refused() {
    // A 2048-bit modulus whose primes both have the ROCA form k·M + (65537^a mod M), M the
    // product of the first 126 primes (generated for this test with Python).
    const ROCA_N: &str = "otBMs0kdlSNg7T-zR-i9IxwQBuNuaeWu3DwdCUKnDWrzG70DzS_y43cg0XmTmp8f3-W_R2aKoIfAhFmlA0dBPZVS6aF80RlmRtUg-kIeM4beDGa_xvcO2bLd_oSKptP19rWkmzF8h8Q4x9ABl_i9vCHEjRQBQdBwrHffqr694k4BixLXAYBiUb55_iXED3WDx2V5Dz3dhfWd2qryABOAe9M9l_Fcg13f5E08aj5LHZJhs9PyBNmAxib3V4BfmMi9Wtcwfsqj_y2eHZZHk1r1eTbca6ao09dHX8yEWHHFn1S5jtZRowC-j691poo4_3JmEJIdsbiDiIhr7xo-k2l3bw";
    let err = Key::from_jwk_json(&format!(
        r#"{{"kty":"RSA","kid":"roca","n":"{ROCA_N}","e":"AQAB"}}"#
    ))
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyUnusable);
    assert!(err.message().contains("ROCA"), "{err}");
    // Keys generated here (and the committed RSA fixture) are not flagged.
    let rs = key(Algorithm::RS256, "rs");
    assert!(Key::from_jwk_json(&rs.public_jwk().unwrap().to_string()).is_ok());
}

#[test]
fn typ_with_a_multibyte_character_across_byte_12_is_a_mismatch_not_a_panic() {
    let es = key(Algorithm::ES256, "es");
    for (configured, in_token) in [
        ("at+jwt", "applicationé/at+jwt"),
        ("at+jwt", "aaaaaaaaaaaéé"),
        ("applicationé/x", "at+jwt"),
    ] {
        let v = builder(&[es]).typ(configured).build().unwrap();
        let t = es
            .mint_with_header(&json!({ "typ": in_token }), &claims())
            .unwrap();
        assert_eq!(code(v.verify(&t)), ErrorCode::TypMismatch, "{in_token}");
    }
}

#[test]
fn absurd_configuration_values_are_config_invalid_not_a_crash() {
    let es = key(Algorithm::ES256, "es");
    let remote = || {
        Verifier::builder()
            .issuer("https://idp.example.com")
            .audience(AUD)
    };
    let cases: Vec<(&str, jwtgate::VerifierBuilder, &str)> = vec![
        (
            "cache_size 2^40",
            builder(&[es]).cache_size(1 << 40),
            "65536",
        ),
        (
            "cache_size max",
            builder(&[es]).cache_size(usize::MAX),
            "65536",
        ),
        (
            "max_token_bytes 0",
            builder(&[es]).max_token_bytes(0),
            "between 1",
        ),
        (
            "max_token_bytes max",
            builder(&[es]).max_token_bytes(usize::MAX),
            "between 1",
        ),
        (
            "leeway max",
            builder(&[es]).leeway(Duration::MAX),
            "at most 600s",
        ),
        (
            "fetch_timeout 0",
            remote().fetch_timeout(Duration::ZERO),
            "more than 0",
        ),
        (
            "fetch_timeout max",
            remote().fetch_timeout(Duration::MAX),
            "at most 60s",
        ),
        (
            "refresh_cooldown max",
            remote().refresh_cooldown(Duration::MAX),
            "between 100ms",
        ),
        (
            "refresh_cooldown 0",
            remote().refresh_cooldown(Duration::ZERO),
            "between 100ms",
        ),
        (
            "max_stale max",
            remote().max_stale(Duration::MAX),
            "30 days",
        ),
        (
            "10,000 audiences",
            builder(&[es]).audiences((0..10_000).map(|i| format!("a{i}"))),
            "at most 256",
        ),
        (
            "a 1 MB issuer",
            builder(&[es]).issuer("i".repeat(1 << 20)),
            "at most 4096",
        ),
        (
            "a 1 MB typ",
            builder(&[es]).typ("t".repeat(1 << 20)),
            "at most 4096",
        ),
    ];
    for (name, b, expected) in cases {
        let err = b.build().unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{name}: {err}");
        assert!(err.message().contains(expected), "{name}: {err}");
    }
    // Waiting "forever" on ready keys, and verifying at the edge of time, return normally.
    let v = verifier(&[es]);
    v.wait_ready(Duration::MAX).unwrap();
    let far = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799 * 4);
    assert_eq!(
        code(v.verify_at(&es.mint(&claims()).unwrap(), far)),
        ErrorCode::TokenExpired
    );
}

#[test]
fn an_invented_kid_cannot_choose_among_several_kidless_keys() {
    let a = key(Algorithm::ES256, "a");
    let b = key(Algorithm::ES256, "b");
    let strip_kid = |k: &jwtgate::sign::SigningKey| {
        let mut jwk = k.public_jwk().unwrap();
        jwk.as_object_mut().unwrap().remove("kid");
        Key::from_jwk_json(&jwk.to_string()).unwrap()
    };
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .key(strip_kid(a))
        .key(strip_kid(b))
        .build()
        .unwrap();
    let payload = serde_json::to_string(&claims()).unwrap();
    let kidless = b
        .sign_raw(br#"{"alg":"ES256"}"#, payload.as_bytes())
        .unwrap();
    let invented = b
        .sign_raw(br#"{"alg":"ES256","kid":"made-up"}"#, payload.as_bytes())
        .unwrap();
    assert_eq!(code(v.verify(&kidless)), ErrorCode::KeyNotFound);
    let err = v.verify(&invented).unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyNotFound, "{err}");
    assert!(err.message().contains("2 keys without a kid"), "{err}");
    // One kid-less key still answers any kid (a PEM key configured for an IdP that sets kids).
    let one = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .key(strip_kid(b))
        .build()
        .unwrap();
    one.verify(&invented).unwrap();
}

#[test]
fn cached_token_is_refused_once_its_key_is_republished_under_another_kid_alg_or_use() {
    let rs = key(Algorithm::RS256, "rs");
    let token = rs.mint(&claims()).unwrap();
    let jwk = rs.public_jwk().unwrap();
    let republished = |change: serde_json::Value| {
        let mut j = jwk.clone();
        for (k, v) in change.as_object().unwrap() {
            j[k] = v.clone();
        }
        KeySet::from_jwks_json(&json!({ "keys": [j] }).to_string()).unwrap()
    };
    for (name, change, expected) in [
        (
            "another kid",
            json!({"kid": "rs-new"}),
            ErrorCode::KeyNotFound,
        ),
        (
            "another alg",
            json!({"alg": "PS256"}),
            ErrorCode::KeyUnusable,
        ),
        ("use enc", json!({"use": "enc"}), ErrorCode::KeyNotFound),
    ] {
        let v = verifier(&[rs]);
        v.verify(&token).unwrap(); // cached now
        v.verify(&token).unwrap();
        v.set_keys(republished(change.clone())).unwrap();
        let err = v.verify(&token).unwrap_err();
        assert_eq!(err.code(), expected, "{name}: {err}");
        // A verifier without a cache, holding the republished key (and an unrelated one, so
        // that it can be built), gives the same answer: the cache is not looser.
        let fresh = Verifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .keys(republished(change))
            .jwks(&key(Algorithm::ES256, "other").public_jwks())
            .cache_size(0)
            .build()
            .unwrap();
        assert_eq!(code(fresh.verify(&token)), expected, "{name}");
    }
    // Republishing the same binding keeps the entry (no needless re-verification).
    let v = verifier(&[rs]);
    v.verify(&token).unwrap();
    v.set_keys(KeySet::from_jwks_json(&rs.public_jwks()).unwrap())
        .unwrap();
    v.verify(&token).unwrap();
}

#[test]
fn from_env_with_an_empty_prefix_reads_no_generic_names() {
    let err = Verifier::from_env("").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert!(err.message().contains("non-empty prefix"), "{err}");
}

/// A fetcher that serves fixed documents by URL, without a network.
struct Documents(Vec<(String, String)>);

impl Fetcher for Documents {
    fn get(&self, url: &str, _limits: &FetchLimits) -> Result<FetchResponse, String> {
        let found = self.0.iter().find(|(u, _)| u == url);
        Ok(FetchResponse {
            status: if found.is_some() { 200 } else { 404 },
            body: found.map_or_else(Vec::new, |(_, body)| body.clone().into_bytes()),
            cache_control: None,
            date: None,
        })
    }
}

#[test]
fn url_policy_refuses_ambiguous_hosts_localhost_subdomains_and_https_downgrades() {
    for (url, expected) in [
        (
            "https://evil.example\\.idp.example/jwks",
            "not a plain DNS name",
        ),
        ("https://idp%2eexample/jwks", "not a plain DNS name"),
        ("https://idp.example/jwks\\..\\x", "RFC 3986"),
        ("http://idp.localhost:8080/jwks", "plain http"),
        ("http://localhost.evil.example/jwks", "plain http"),
    ] {
        let err = Verifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .jwks_uri(url)
            .fetcher(Arc::new(Documents(Vec::new())))
            .build()
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{url}");
        assert!(err.message().contains(expected), "{url}: {err}");
    }
    // An https issuer's discovery document cannot send key fetches to plain http, even on
    // loopback.
    let doc = json!({"issuer": ISS, "jwks_uri": "http://127.0.0.1:9/jwks"}).to_string();
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .fetch_timeout(Duration::from_millis(300))
        .fetcher(Arc::new(Documents(vec![(
            format!("{ISS}/.well-known/openid-configuration"),
            doc,
        )])))
        .build()
        .unwrap();
    let err = v.wait_ready(Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DiscoveryFailed, "{err}");
    assert!(err.message().contains("for an https issuer"), "{err}");
}

/// A verifier of `url`'s JWKS with short timeouts and a 100 ms kid-refresh cooldown.
#[cfg(feature = "http")]
fn remote_verifier(url: &str, max_stale: Duration) -> Verifier {
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks_uri(url)
        .fetch_timeout(Duration::from_millis(400))
        .refresh_cooldown(Duration::from_millis(100))
        .max_stale(max_stale)
        .build()
        .unwrap();
    v.wait_ready(Duration::from_secs(5)).unwrap();
    v
}

/// Makes the verifier fetch now: a token with an unknown kid asks for a refresh and waits for it.
#[cfg(feature = "http")]
fn force_refresh(v: &Verifier, signer: &jwtgate::sign::SigningKey) {
    std::thread::sleep(Duration::from_millis(120)); // past the cooldown
    let unknown = signer
        .mint_with_header(&json!({ "kid": "force-refresh" }), &claims())
        .unwrap();
    let _ = v.verify(&unknown);
}

#[cfg(feature = "http")]
#[test]
fn withdrawn_keys_stop_verifying_when_the_provider_publishes_no_usable_key() {
    use fault_server::{Behaviour, FaultServer, b64url};
    let server = FaultServer::start();
    let es = key(Algorithm::ES256, "es");
    let token = es.mint(&claims()).unwrap();
    let mut rsa1024 = vec![0xff_u8; 128];
    rsa1024[127] = 0xfb;
    let mut enc = es.public_jwk().unwrap();
    enc["use"] = json!("enc");
    for (name, doc, reason) in [
        ("empty", json!({"keys": []}), "no key with kid"),
        ("only use enc", json!({"keys": [enc]}), "not sig"),
        (
            "only RSA-1024",
            json!({"keys": [{"kty": "RSA", "kid": "es", "n": b64url(&rsa1024), "e": "AQAB"}]}),
            "1024 bits",
        ),
    ] {
        let path = format!("/jwks/{}", name.replace(' ', "-"));
        server.set(&path, Behaviour::json(es.public_jwks()));
        let v = remote_verifier(&server.url(&path), Duration::from_secs(3600));
        v.verify(&token).unwrap(); // and cached
        server.set(&path, Behaviour::json(doc.to_string()));
        force_refresh(&v, es);
        let err = v.verify(&token).unwrap_err();
        assert_eq!(err.code(), ErrorCode::KeyNotFound, "{name}: {err}");
        assert!(err.message().contains(reason), "{name}: {err}");
        let status = v.keys_status();
        assert_eq!(status.key_count, 0, "{name}");
        assert!(
            status.last_error.is_none() && !status.stale,
            "{name}: {status:?}"
        );
    }
}

#[cfg(feature = "http")]
#[test]
fn stale_keys_are_refused_past_max_stale_while_refreshes_fail() {
    use fault_server::{Behaviour, FaultServer, eventually};
    let server = FaultServer::start();
    let es = key(Algorithm::ES256, "es");
    let token = es.mint(&claims()).unwrap();
    server.set("/jwks", Behaviour::json(es.public_jwks()));
    let url = server.url("/jwks");
    let v = remote_verifier(&url, Duration::from_secs(1));
    v.verify(&token).unwrap();

    server.set("/jwks", Behaviour::status(500, "down"));
    force_refresh(&v, es);
    // Within max_stale the last good keys keep working, and the status says they are stale.
    let status = v.keys_status();
    if status.age.unwrap() < Duration::from_millis(900) {
        assert!(status.stale && status.ready, "{status:?}");
    }
    // Past it, tokens are refused with the URL, the age and the last error.
    assert!(
        eventually(Duration::from_secs(10), || !v.keys_status().ready),
        "the keys never expired"
    );
    let err = v.verify(&token).unwrap_err();
    assert_eq!(err.code(), ErrorCode::JwksUnavailable, "{err}");
    for part in [url.as_str(), "fetched", "max_stale is 1s", "HTTP 500"] {
        assert!(err.message().contains(part), "{part}: {err}");
    }
    // The provider comes back: the next fetch restores verification.
    server.set("/jwks", Behaviour::json(es.public_jwks()));
    assert!(
        eventually(Duration::from_secs(10), || v.verify(&token).is_ok()),
        "keys never came back: {:?}",
        v.keys_status()
    );
}

#[cfg(feature = "http")]
#[test]
fn a_kidless_key_in_a_remote_jwks_does_not_block_rotation() {
    use fault_server::{Behaviour, FaultServer};
    let server = FaultServer::start();
    let old = key(Algorithm::ES256, "old");
    let new = key(Algorithm::ES256, "new");
    let mut kidless = old.public_jwk().unwrap();
    kidless.as_object_mut().unwrap().remove("kid");
    server.set(
        "/jwks",
        Behaviour::json(json!({ "keys": [kidless] }).to_string()),
    );
    let v = remote_verifier(&server.url("/jwks"), Duration::from_secs(3600));
    let fetches = server.count("/jwks");
    // The provider rotates to a key with a kid; a token naming it must trigger a refetch instead
    // of being checked against the kid-less key.
    server.set("/jwks", Behaviour::json(new.public_jwks()));
    std::thread::sleep(Duration::from_millis(120));
    let verified = v.verify(&new.mint(&claims()).unwrap()).unwrap();
    assert_eq!(verified.kid(), Some("new"));
    assert_eq!(server.count("/jwks"), fetches + 1);
}

#[test]
fn jwks_jwk_and_discovery_documents_with_duplicate_members_are_refused() {
    let es = key(Algorithm::ES256, "es");
    let jwk = es.public_jwk().unwrap().to_string();
    // The same JWK twice in one object: a `Value` parser would keep the second `x`.
    let twice_x = jwk.replacen("\"x\":", "\"x\":\"AAAA\",\"x\":", 1);
    let err = Key::from_jwk_json(&twice_x).unwrap_err();
    assert_eq!(err.code(), ErrorCode::KeyUnusable);
    assert!(err.message().contains("duplicate member"), "{err}");
    let doc = format!(r#"{{"keys":[{jwk}],"keys":[]}}"#);
    let err = KeySet::from_jwks_json(&doc).unwrap_err();
    assert!(err.message().contains("duplicate member"), "{err}");
    // A discovery document naming two issuers (or two jwks_uris) is refused.
    let doubled = format!(
        r#"{{"issuer":"https://evil.example","issuer":"{ISS}","jwks_uri":"https://idp.example.com/jwks"}}"#
    );
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .fetch_timeout(Duration::from_millis(300))
        .fetcher(Arc::new(Documents(vec![(
            format!("{ISS}/.well-known/openid-configuration"),
            doubled,
        )])))
        .build()
        .unwrap();
    let err = v.wait_ready(Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DiscoveryFailed, "{err}");
    assert!(err.message().contains("duplicate member"), "{err}");
}

#[test]
fn an_oversized_credential_is_refused_before_static_token_hashing() {
    let v = Verifier::builder()
        .static_token("s3cret", "bot")
        .max_token_bytes(64)
        .build()
        .unwrap();
    assert_eq!(code(v.verify(&"s".repeat(65))), ErrorCode::TokenTooLarge);
    assert_eq!(v.verify("s3cret").unwrap().client_id(), Some("bot"));
}
