//! Renders the message of every error code (and of every key-rule failure) once, and checks each
//! for the slips a reader notices: doubled words ("key key"), stacked articles ("the an"), a
//! capital first letter or a trailing period (messages are fragments that callers embed).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use jwtgate::{
    Algorithm, Error, ErrorCode, FetchLimits, FetchResponse, Fetcher, Key, KeySet, Verifier,
};
use serde_json::json;

struct NotFound;

impl Fetcher for NotFound {
    fn get(&self, _url: &str, _limits: &FetchLimits) -> Result<FetchResponse, String> {
        Ok(FetchResponse {
            status: 404,
            body: Vec::new(),
            cache_control: None,
            date: None,
        })
    }
}

/// An introspection endpoint that always gives the same answer.
struct Introspection(u16, &'static str);

impl Fetcher for Introspection {
    fn get(&self, url: &str, limits: &FetchLimits) -> Result<FetchResponse, String> {
        NotFound.get(url, limits)
    }

    fn post_form(
        &self,
        _url: &str,
        _headers: &[(String, String)],
        _body: &[u8],
        _limits: &FetchLimits,
    ) -> Result<FetchResponse, String> {
        Ok(FetchResponse {
            status: self.0,
            body: self.1.as_bytes().to_vec(),
            cache_control: None,
            date: None,
        })
    }
}

fn introspected(answer: Introspection) -> Error {
    Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .jwks_uri("https://idp.example/jwks")
        .fetcher(Arc::new(answer))
        .introspection("mcp-server", "s3cret")
        .introspection_endpoint("https://idp.example/introspect")
        .build()
        .unwrap()
        .verify("an-opaque-token")
        .unwrap_err()
}

fn lint(e: &Error) {
    let m = e.message();
    assert!(!m.is_empty(), "{e:?}");
    let first = m.chars().next().unwrap();
    assert!(
        !first.is_uppercase()
            || m.starts_with("JWK")
            || m.starts_with("JWKS")
            || m.starts_with("HMAC")
            || m.starts_with("PEM")
            || m.starts_with("OIDC")
            || m.starts_with("RS")
            || m.starts_with("ES")
            || m.starts_with("PS")
            || m.starts_with("HS")
            || m.starts_with("EdDSA"),
        "starts with a capital: {m}"
    );
    assert!(!m.ends_with('.'), "ends with a period: {m}");
    let words: Vec<String> = m
        .split(|c: char| c.is_whitespace())
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        assert!(
            pair[0] != pair[1] || pair[0].chars().all(|c| c.is_ascii_digit()),
            "doubled word {:?}: {m}",
            pair[0]
        );
        let article = |w: &str| matches!(w, "a" | "an" | "the");
        assert!(
            !(article(&pair[0]) && article(&pair[1])),
            "stacked articles {:?} {:?}: {m}",
            pair[0],
            pair[1]
        );
    }
}

#[test]
fn every_error_message_reads_cleanly_and_every_code_is_rendered() {
    let es = key(Algorithm::ES256, "es");
    let rs = key(Algorithm::RS256, "rs");
    let v = builder(&[es])
        .required_scopes(["admin"])
        .typ("at+jwt")
        .build()
        .unwrap();
    let plain = verifier(&[es]);
    let mint = |c: serde_json::Value| es.mint_with_header(&json!({"typ": "at+jwt"}), &c).unwrap();
    let now = jwtgate::now_unix();
    let mut errors: Vec<Error> = vec![
        v.verify("a.b").unwrap_err(),
        v.verify(&"a".repeat(100_000)).unwrap_err(),
        v.verify(&format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(b"{}")))
            .unwrap_err(),
        v.verify(&format!(
            "{}.{}.AA",
            b64(br#"{"alg":"ES256","crit":["x"],"x":1}"#),
            b64(b"{}")
        ))
        .unwrap_err(),
        v.verify(&key(Algorithm::ES256, "other").mint(&claims()).unwrap())
            .unwrap_err(),
        plain
            .verify(&with_segment(
                &es.mint(&claims()).unwrap(),
                2,
                &b64(&[1; 64]),
            ))
            .unwrap_err(),
        v.verify(&mint(claims_with(json!({"exp": now - 100}))))
            .unwrap_err(),
        v.verify(&mint(claims_with(json!({"nbf": now + 100}))))
            .unwrap_err(),
        v.verify(&mint(claims_with(json!({"exp": null}))))
            .unwrap_err(),
        v.verify(&mint(claims_with(json!({"exp": "soon"}))))
            .unwrap_err(),
        v.verify(&mint(claims_with(json!({"iss": "https://other.example"}))))
            .unwrap_err(),
        v.verify(&mint(claims_with(json!({"aud": "other"}))))
            .unwrap_err(),
        v.verify(&es.mint(&claims()).unwrap()).unwrap_err(),
        v.verify(&mint(claims())).unwrap_err(),
        Verifier::builder()
            .static_token("s3cret", "c")
            .build()
            .unwrap()
            .verify("nope")
            .unwrap_err(),
        Verifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .jwks_uri("https://idp.example/jwks")
            .fetcher(Arc::new(NotFound))
            .build()
            .unwrap()
            .verify(&mint(claims()))
            .unwrap_err(),
        Verifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .fetcher(Arc::new(NotFound))
            .build()
            .unwrap()
            .wait_ready(Duration::from_millis(50))
            .unwrap_err(),
        rs_key_as(rs, Algorithm::ES256),
    ];
    // Key-rule failures for every family, and configuration errors.
    for jwk in [
        json!({"kty":"OKP","crv":"Ed25519","alg":"RS256","x": b64(&[9; 32])}),
        json!({"kty":"EC","crv":"P-256","alg":"EdDSA","x": b64(&[1; 32]),"y": b64(&[2; 32])}),
        json!({"kty":"EC","crv":"P-256","x": b64(&[1; 32]),"y": b64(&[2; 32])}),
        json!({"kty":"EC","crv":"P-384","x": b64(&[1; 48]),"y": b64(&[2; 48])}),
        json!({"kty":"EC","crv":"P-384","alg":"ES256","x": b64(&[1; 48]),"y": b64(&[2; 48])}),
        json!({"kty":"RSA","alg":"ES256","n": b64(&[0xff; 256]),"e":"AQAB"}),
        json!({"kty":"RSA","n": b64(&[0xff; 64]),"e":"AQAB"}),
        json!({"kty":"OKP","crv":"Ed25519","x": b64(&[0; 32])}),
        json!({"kty":"OKP","crv":"Ed25519","use":"enc","x": b64(&[9; 32])}),
        json!({"kty":"oct","k": b64(&[9; 32])}),
    ] {
        match Key::from_jwk_json(&jwk.to_string()) {
            Err(e) => errors.push(e),
            // ring parses EC points lazily, at the first signature check: an off-curve point
            // is refused there (signature_invalid), not when the key is built.
            Ok(_) if jwtgate::CRYPTO_BACKEND == "ring" && jwk["kty"] == "EC" => {}
            Ok(key) => panic!("{jwk} was accepted: {key:?}"),
        }
    }
    errors.push(KeySet::from_jwks_json("[]").unwrap_err());
    errors.push(Key::hmac_secret(Algorithm::HS256, b"short").unwrap_err());
    errors.push(
        Key::from_jwk_json(&rs.public_jwk().unwrap().to_string())
            .unwrap()
            .with_algorithm(Algorithm::ES256)
            .unwrap_err(),
    );
    errors.push(builder(&[es]).cache_size(usize::MAX).build().unwrap_err());
    errors.push(Verifier::builder().build().unwrap_err());
    errors.push(Verifier::from_env("").unwrap_err());
    errors.extend(dpop_errors(es));
    errors.push(introspected(Introspection(200, r#"{"active":false}"#)));
    errors.push(introspected(Introspection(
        401,
        r#"{"error":"invalid_client"}"#,
    )));

    for e in &errors {
        lint(e);
    }
    for code in ErrorCode::ALL {
        assert!(
            errors.iter().any(|e| e.code() == code),
            "no message rendered for {code}"
        );
    }
}

/// `key_unusable` for a token: an RSA key named by a token signed with another algorithm.
fn rs_key_as(rs: &jwtgate::sign::SigningKey, alg: Algorithm) -> Error {
    let v = verifier(&[rs]);
    let header = b64(format!(r#"{{"alg":"{alg}","kid":"rs"}}"#).as_bytes());
    let token = format!("{header}.{}.{}", b64(b"{}"), b64(&[1; 64]));
    v.verify(&token).unwrap_err()
}

/// The code → HTTP status → client description → operator hint table, against the committed
/// snapshot (`tests/data/error_table.txt`): a change to any code's facts shows in review. After an
/// intended change, regenerate it with `UPDATE_SNAPSHOTS=1 cargo test -p jwtgate --test messages`.
#[test]
fn error_table_matches_its_snapshot() {
    let rendered: String = ErrorCode::ALL
        .iter()
        .map(|c| {
            format!(
                "{} | {} | {} | {}\n",
                c.as_str(),
                c.http_status(),
                c.client_description(),
                c.hint()
            )
        })
        .collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/error_table.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        rendered, committed,
        "the error table changed: review, then regenerate the snapshot"
    );
    // Client descriptions never leak configuration: no URLs, no quotes of values.
    for code in ErrorCode::ALL {
        let d = code.client_description();
        assert!(
            !d.contains("://") && !d.contains('"') && d.is_ascii(),
            "{code}: {d}"
        );
    }
}

/// The request-level rejections: no credential, and each DPoP (RFC 9449) failure.
fn dpop_errors(es: &jwtgate::sign::SigningKey) -> Vec<Error> {
    use jwtgate::AuthRequest;
    let url = "https://mcp.example.com/mcp";
    let client = key(Algorithm::ES256, "client");
    let mut bound = claims();
    bound["cnf"] = json!({"jkt": client.thumbprint().unwrap()});
    let bound = es.mint(&bound).unwrap();
    let auth = format!("DPoP {bound}");
    let proof = |method: &str| client.dpop_proof(method, url, Some(&bound), None).unwrap();
    let v = builder(&[es]).dpop_replay_cache_size(1).build().unwrap();
    let check = |v: &Verifier, auth: Option<&str>, proof: &str| {
        let proofs = [proof];
        let n = usize::from(!proof.is_empty());
        v.verify_request(&AuthRequest::new("POST", url, auth, &proofs[..n]))
            .unwrap_err()
    };
    let replayed = proof("POST");
    let _ = v.verify_request(&AuthRequest::new("POST", url, Some(&auth), &[&replayed]));
    let mut errors = vec![
        check(&v, None, ""),
        check(&v, Some(&format!("Bearer {bound}")), ""),
        check(&v, Some(&auth), &proof("GET")),
        check(&v, Some(&auth), &replayed),
        check(
            &v,
            Some(&auth),
            &key(Algorithm::ES256, "thief")
                .dpop_proof("POST", url, Some(&bound), None)
                .unwrap(),
        ),
        check(
            &builder(&[es]).dpop_nonce(true).build().unwrap(),
            Some(&auth),
            &proof("POST"),
        ),
    ];
    // A replay cache of one entry per shard fills after a few distinct proofs.
    let full = (0..200).find_map(|_| {
        let p = proof("POST");
        v.verify_request(&AuthRequest::new("POST", url, Some(&auth), &[&p]))
            .err()
    });
    errors.push(full.expect("the replay cache fills"));
    errors
}
