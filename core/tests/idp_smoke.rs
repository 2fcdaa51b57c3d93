//! Against a real identity provider (panva's `oidc-provider`, tests/idp): RFC 9068 access tokens
//! from `client_credentials` for every algorithm it signs with verify, and key rotation behaves.
//! Needs Node 20+ and `npm ci --prefix tests/idp`.

#[path = "common/idp.rs"]
mod idp;

use idp::{DEFAULT_KEYS, DEFAULT_RESOURCE, Idp, IdpOptions};
use jwtgate::{ErrorCode, KeySet, Verifier};
use serde_json::Value;

fn header(token: &str) -> Value {
    let segment = token.split('.').next().unwrap();
    serde_json::from_slice(&jwtgate::base64url_decode(segment).unwrap()).unwrap()
}

fn json(idp: &Idp, path: &str) -> Value {
    let (status, body) = idp.get(path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn verifier(idp: &Idp, jwks: &str) -> Verifier {
    Verifier::builder()
        .issuer(&idp.issuer)
        .audience(DEFAULT_RESOURCE)
        .typ("at+jwt")
        .jwks(jwks)
        .build()
        .unwrap()
}

fn published_kids(jwks: &str) -> Vec<String> {
    let set = KeySet::from_jwks_json(jwks).unwrap();
    assert!(
        set.skipped().is_empty(),
        "skipped keys: {:?}",
        set.skipped()
    );
    set.keys()
        .iter()
        .map(|k| k.kid().unwrap().to_string())
        .collect()
}

#[test]
fn idp_tokens_verify_and_rotation_works() {
    let idp = idp::start(&IdpOptions::default());
    eprintln!("issuer {} kids {:?}", idp.issuer, idp.kids);
    assert_eq!(idp.issuer, format!("http://127.0.0.1:{}", idp.port));

    // Discovery.
    let config = json(&idp, "/.well-known/openid-configuration");
    assert_eq!(config["issuer"], idp.issuer.as_str());
    assert_eq!(config["jwks_uri"], format!("{}/jwks", idp.issuer).as_str());
    assert_eq!(
        config["token_endpoint"],
        format!("{}/token", idp.issuer).as_str()
    );
    let metadata = json(&idp, "/.well-known/oauth-authorization-server");
    assert_eq!(metadata["issuer"], idp.issuer.as_str());

    // One token per algorithm, each from its own client.
    let mut tokens = Vec::new();
    for alg in DEFAULT_KEYS {
        let token = idp.token(alg, Some("tools:call read"));
        let h = header(&token);
        assert_eq!(h["typ"], "at+jwt", "{h}");
        assert_eq!(h["alg"], alg, "{h}");
        assert_eq!(h["kid"], idp.kids[alg].as_str(), "{h}");
        tokens.push((alg, token));
    }
    assert_eq!(idp.request_count("/token"), 4);

    let jwks = idp.get("/jwks").1;
    let kids = published_kids(&jwks);
    assert_eq!(kids.len(), 4, "{jwks}");
    for (alg, _) in &tokens {
        assert!(kids.contains(&idp.kids[*alg]), "{alg} kid not in {kids:?}");
    }
    assert_eq!(idp.request_count("/jwks"), 1);

    let v = verifier(&idp, &jwks);
    for (alg, token) in &tokens {
        let client = format!("client-{}", alg.to_ascii_lowercase());
        let claims = v
            .verify(token)
            .unwrap_or_else(|e| panic!("{alg}: {e} ({})", e.code()));
        eprintln!("{alg}: {}", claims.claims_json());
        assert_eq!(claims.alg().unwrap().to_string(), *alg);
        assert_eq!(claims.kid(), Some(idp.kids[*alg].as_str()));
        assert_eq!(claims.typ(), Some("at+jwt"));
        assert_eq!(claims.iss(), Some(idp.issuer.as_str()));
        assert_eq!(claims.aud(), [DEFAULT_RESOURCE.to_string()]);
        assert_eq!(claims.client_id(), Some(client.as_str()));
        assert_eq!(claims.sub(), Some(client.as_str()));
        assert!(claims.has_scope("tools:call") && claims.has_scope("read"));
        assert_eq!(claims.exp().unwrap() - claims.iat().unwrap(), 300);
        assert!(claims.jti().is_some());
    }

    // Scope handling: unknown scopes are dropped silently; no scope asked, no scope claim.
    let narrowed = v.verify(&idp.token("ES256", Some("read bogus"))).unwrap();
    assert_eq!(narrowed.scopes(), ["read".to_string()]);
    let scopeless = v.verify(&idp.token("ES256", None)).unwrap();
    assert!(scopeless.scopes().is_empty(), "{}", scopeless.claims_json());

    // Rotation: a new ES256 key, nothing kept.
    idp.reset_counts();
    assert_eq!(idp.request_count("/jwks"), 0);
    let old_es256 = tokens
        .iter()
        .find(|(alg, _)| *alg == "ES256")
        .unwrap()
        .1
        .clone();
    let rotated = idp.rotate(&["ES256"], &[]);
    let new_kid = rotated["kids"]["ES256"].as_str().unwrap().to_string();
    assert_ne!(new_kid, idp.kids["ES256"]);
    assert_eq!(rotated["published"], serde_json::json!([new_kid]));

    let new_jwks = idp.get("/jwks").1;
    assert_eq!(published_kids(&new_jwks), vec![new_kid.clone()]);
    assert_eq!(idp.request_count("/jwks"), 1);

    let new_token = idp.token("ES256", Some("read"));
    assert_eq!(header(&new_token)["kid"], new_kid.as_str());
    // The old verifier does not know the new key ...
    assert_eq!(
        v.verify(&new_token).unwrap_err().code(),
        ErrorCode::KeyNotFound
    );
    // ... the rebuilt one does, and no longer knows the old key.
    let v2 = verifier(&idp, &new_jwks);
    assert!(v2.verify(&new_token).unwrap().has_scope("read"));
    assert_eq!(
        v2.verify(&old_es256).unwrap_err().code(),
        ErrorCode::KeyNotFound
    );
    // Swapping keys into the live verifier works the same way.
    v.set_keys(KeySet::from_jwks_json(&new_jwks).unwrap())
        .unwrap();
    v.verify(&new_token).unwrap();
    assert_eq!(
        v.verify(&old_es256).unwrap_err().code(),
        ErrorCode::KeyNotFound
    );
    assert_eq!(idp.request_count("/jwks"), 1);
    assert_eq!(idp.request_count("/token"), 1);
}

#[test]
fn idp_with_issuer_path_and_overlapping_rotation() {
    let idp = idp::start(&IdpOptions {
        issuer_path: Some("/realms/test".to_string()),
        keys: vec!["ES256", "EdDSA"],
        ..IdpOptions::default()
    });
    assert_eq!(
        idp.issuer,
        format!("http://127.0.0.1:{}/realms/test", idp.port)
    );
    let config = json(&idp, &idp.path("/.well-known/openid-configuration"));
    assert_eq!(config["issuer"], idp.issuer.as_str());
    assert_eq!(config["jwks_uri"], format!("{}/jwks", idp.issuer).as_str());
    // RFC 8414 path-inserted location.
    let metadata = json(&idp, "/.well-known/oauth-authorization-server/realms/test");
    assert_eq!(metadata["issuer"], idp.issuer.as_str());
    // Nothing outside the issuer path.
    assert_eq!(idp.get("/jwks").0, 404);

    let old = idp.token("ES256", Some("tools:call"));
    let jwks = idp.get(&idp.path("/jwks")).1;
    let v = verifier(&idp, &jwks);
    assert!(v.verify(&old).unwrap().has_scope("tools:call"));
    v.verify(&idp.token("EdDSA", None)).unwrap();

    // Rotate ES256 keeping the old key published: old and new tokens both verify.
    let rotated = idp.rotate(&["ES256"], &[idp.kids["ES256"].as_str()]);
    let new_kid = rotated["kids"]["ES256"].as_str().unwrap();
    let new_jwks = idp.get(&idp.path("/jwks")).1;
    let kids = published_kids(&new_jwks);
    assert_eq!(kids, [new_kid.to_string(), idp.kids["ES256"].clone()]);
    let new = idp.token("ES256", Some("tools:call"));
    assert_eq!(header(&new)["kid"], new_kid);
    let v2 = verifier(&idp, &new_jwks);
    v2.verify(&old).unwrap();
    v2.verify(&new).unwrap();
    assert_eq!(idp.request_count(&idp.path("/jwks")), 2);
    assert_eq!(idp.request_count("/jwks"), 1);
}

#[test]
fn http_helpers() {
    assert_eq!(
        idp::base64_std(b"client-es256:secret-es256"),
        "Y2xpZW50LWVzMjU2OnNlY3JldC1lczI1Ng=="
    );
    assert_eq!(idp::base64_std(b"ab"), "YWI=");
    assert_eq!(idp::base64_std(b"abc"), "YWJj");
    assert_eq!(
        idp::form_encode(&[
            ("scope", "tools:call read"),
            ("resource", "https://mcp.test/")
        ]),
        "scope=tools%3Acall+read&resource=https%3A%2F%2Fmcp.test%2F"
    );
    assert_eq!(
        idp::dechunk(b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n").unwrap(),
        b"Wikipedia"
    );
}

#[test]
#[should_panic(expected = "unsupported alg in KEYS: HS256")]
fn idp_start_failure_shows_stderr() {
    idp::start(&IdpOptions {
        keys: vec!["HS256"],
        ..IdpOptions::default()
    });
}
