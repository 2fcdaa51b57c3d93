//! The Verifier's public behaviour: accessors, static tokens (multi-auth), configuration errors.

mod common;

use common::*;
use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, CredentialKind, ErrorCode, StaticToken, Verifier};
use serde_json::json;

#[test]
fn every_algorithm_round_trips() {
    for alg in Algorithm::ALL.into_iter().filter(|a| a.is_available()) {
        let k = key(alg, "k");
        let v = if alg.is_symmetric() {
            Verifier::builder()
                .issuer(ISS)
                .audience(AUD)
                .hmac_secret(alg, k.secret().unwrap())
                .build()
                .unwrap()
        } else {
            verifier(&[k])
        };
        let verified = v
            .verify(&k.mint(&claims()).unwrap())
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.alg(), Some(alg));
        assert_eq!(verified.kind(), CredentialKind::Jwt);
    }
}

#[test]
fn verified_exposes_registered_claims() {
    let k = key(Algorithm::EdDSA, "ed");
    let v = verifier(&[k]);
    let now = jwtgate::now_unix();
    let token = k
        .mint_with_header(
            &json!({"typ": "at+jwt"}),
            &claims_with(json!({"nbf": now - 5, "iat": now - 5, "exp": now + 60, "aud": [AUD, "x"], "tenant": "t1"})),
        )
        .unwrap();
    let c = v.verify(&token).unwrap();
    assert_eq!(c.iss(), Some(ISS));
    assert_eq!(c.sub(), Some("alice"));
    assert_eq!(c.aud(), [AUD, "x"]);
    assert_eq!(c.exp(), Some(now + 60));
    assert_eq!(c.nbf(), Some(now - 5));
    assert_eq!(c.iat(), Some(now - 5));
    assert_eq!(c.jti(), Some("j-1"));
    assert_eq!(c.client_id(), Some("mcp-client"));
    assert_eq!(c.scopes(), ["tools:call", "read"]);
    assert!(c.has_scope("read") && !c.has_scope("write"));
    assert_eq!(c.kid(), Some("ed"));
    assert_eq!(c.typ(), Some("at+jwt"));
    #[derive(serde::Deserialize)]
    struct Custom {
        tenant: String,
    }
    assert_eq!(c.deserialize::<Custom>().unwrap().tenant, "t1");
    let raw: serde_json::Value = serde_json::from_str(c.claims_json()).unwrap();
    assert_eq!(raw["tenant"], "t1");
}

#[test]
fn client_id_falls_back_to_azp_then_sub() {
    let k = key(Algorithm::ES256, "ec");
    let v = verifier(&[k]);
    let azp = k
        .mint(&claims_with(json!({"client_id": null, "azp": "spa"})))
        .unwrap();
    assert_eq!(v.verify(&azp).unwrap().client_id(), Some("spa"));
    let sub = k.mint(&claims_with(json!({"client_id": null}))).unwrap();
    assert_eq!(v.verify(&sub).unwrap().client_id(), Some("alice"));
}

#[test]
fn required_claims_must_be_present() {
    let k = key(Algorithm::ES256, "ec");
    let v = builder(&[k])
        .require_claims(["tenant", "sub"])
        .build()
        .unwrap();
    let err = v.verify(&k.mint(&claims()).unwrap()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ClaimMissing);
    assert_eq!(err.claim(), Some("tenant"));
    v.verify(&k.mint(&claims_with(json!({"tenant": null}))).unwrap())
        .unwrap_err();
    v.verify(&k.mint(&claims_with(json!({"tenant": "a"}))).unwrap())
        .unwrap();
}

#[test]
fn static_tokens_and_jwts_in_one_verifier() {
    let k = key(Algorithm::ES256, "ec");
    let v = builder(&[k])
        .static_tokens([
            StaticToken::new("ci-secret-1", "ci").with_scopes(["deploy"]),
            StaticToken::new("  ", "blank-is-ignored"),
        ])
        .static_token("ops-secret-2", "ops")
        .build()
        .unwrap();
    let ci = v.verify("ci-secret-1").unwrap();
    assert_eq!(ci.kind(), CredentialKind::StaticToken);
    assert_eq!(ci.client_id(), Some("ci"));
    assert_eq!(ci.scopes(), ["deploy"]);
    assert_eq!(v.verify("ops-secret-2").unwrap().client_id(), Some("ops"));
    assert_eq!(
        v.verify(&k.mint(&claims()).unwrap()).unwrap().kind(),
        CredentialKind::Jwt
    );
    assert_eq!(
        v.verify("nope").unwrap_err().code(),
        ErrorCode::TokenUnknown
    );
    assert_eq!(v.verify("  ").unwrap_err().code(), ErrorCode::TokenUnknown);
    assert_eq!(v.verify("").unwrap_err().code(), ErrorCode::TokenUnknown);
    // A JWT-shaped credential that is not a static token gets the JWT's own error.
    assert_eq!(
        v.verify("a.b.c").unwrap_err().code(),
        ErrorCode::TokenMalformed
    );
}

#[test]
fn static_only_verifier() {
    let v = Verifier::builder()
        .static_token("k1", "bot")
        .build()
        .unwrap();
    assert_eq!(v.verify("k1").unwrap().sub(), Some("bot"));
    let jwt = key(Algorithm::ES256, "ec").mint(&claims()).unwrap();
    assert_eq!(v.verify(&jwt).unwrap_err().code(), ErrorCode::TokenUnknown);
    assert!(v.key_set().is_none());
    let keys = jwtgate::KeySet::default();
    assert_eq!(
        v.set_keys(keys).unwrap_err().code(),
        ErrorCode::ConfigInvalid
    );
}

#[test]
fn contradictory_configuration_is_config_invalid() {
    let k = key(Algorithm::ES256, "ec");
    let jwks = k.public_jwks();
    let cases: Vec<(&str, jwtgate::VerifierBuilder)> = vec![
        ("nothing", Verifier::builder()),
        ("no issuer", Verifier::builder().audience(AUD).jwks(&jwks)),
        ("no audience", Verifier::builder().issuer(ISS).jwks(&jwks)),
        (
            "empty audience list",
            Verifier::builder()
                .issuer(ISS)
                .audiences(Vec::<String>::new())
                .jwks(&jwks),
        ),
        (
            "blank issuer",
            Verifier::builder().issuer(" ").audience(AUD).jwks(&jwks),
        ),
        (
            "audience without issuer",
            Verifier::builder().audience(AUD).static_token("t", "c"),
        ),
        (
            "discovery with two issuers",
            Verifier::builder()
                .issuers([ISS, "https://b.example"])
                .audience(AUD),
        ),
        (
            "plain http issuer",
            Verifier::builder()
                .issuer("http://idp.example.com")
                .audience(AUD),
        ),
        (
            "static keys and jwks_uri",
            builder(&[k]).jwks_uri("https://idp.example.com/jwks"),
        ),
        (
            "HS with remote keys",
            Verifier::builder()
                .issuer(ISS)
                .audience(AUD)
                .algorithms([Algorithm::HS256]),
        ),
        ("empty algorithms", builder(&[k]).algorithms([])),
        (
            "no key for algorithms",
            builder(&[k]).algorithms([Algorithm::RS256]),
        ),
        (
            "short secret",
            Verifier::builder()
                .issuer(ISS)
                .audience(AUD)
                .hmac_secret(Algorithm::HS256, b"short"),
        ),
        (
            "HS with RS key list",
            builder(&[k]).algorithms([Algorithm::HS256]),
        ),
        (
            "bad JWKS",
            Verifier::builder().issuer(ISS).audience(AUD).jwks("{"),
        ),
        (
            "bad PEM",
            Verifier::builder()
                .issuer(ISS)
                .audience(AUD)
                .public_key_pem("-----BEGIN PUBLIC KEY-----\n"),
        ),
    ];
    for (name, b) in cases {
        let err = b.build().err().unwrap_or_else(|| panic!("{name}: built"));
        assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{name}: {err}");
        assert!(!err.message().is_empty());
    }
    // Skipping the audience is possible, but only when asked for.
    Verifier::builder()
        .issuer(ISS)
        .jwks(&jwks)
        .insecure_skip_audience_check()
        .build()
        .unwrap();
}

#[test]
fn hmac_verifier_with_several_secrets_uses_kid() {
    let a = SigningKey::hmac(Algorithm::HS256, "a", &[1u8; 32]).unwrap();
    let b = SigningKey::hmac(Algorithm::HS512, "b", &[2u8; 64]).unwrap();
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .key(
            jwtgate::Key::hmac_secret(Algorithm::HS256, [1u8; 32])
                .unwrap()
                .with_kid("a"),
        )
        .key(
            jwtgate::Key::hmac_secret(Algorithm::HS512, [2u8; 64])
                .unwrap()
                .with_kid("b"),
        )
        .build()
        .unwrap();
    assert_eq!(v.algorithms(), [Algorithm::HS256, Algorithm::HS512]);
    v.verify(&a.mint(&claims()).unwrap()).unwrap();
    v.verify(&b.mint(&claims()).unwrap()).unwrap();
    let wrong = SigningKey::hmac(Algorithm::HS256, "a", &[9u8; 32]).unwrap();
    assert_eq!(
        v.verify(&wrong.mint(&claims()).unwrap())
            .unwrap_err()
            .code(),
        ErrorCode::SignatureInvalid
    );
}

#[test]
fn error_messages_never_echo_the_token() {
    let k = key(Algorithm::ES256, "ec");
    let v = verifier(&[k]);
    let token = k
        .mint(&claims_with(
            json!({"aud": "evil\n\u{1b}[31mforged log line"}),
        ))
        .unwrap();
    let err = v.verify(&token).unwrap_err();
    assert!(!err.message().contains(&token));
    assert!(
        !err.message().contains('\n') && !err.message().contains('\u{1b}'),
        "{err:?}"
    );
    let long = k
        .mint(&claims_with(json!({"iss": "x".repeat(500)})))
        .unwrap();
    let err = v.verify(&long).unwrap_err();
    assert!(err.message().len() < 200, "{}", err.message().len());
}

#[test]
fn required_scopes_apply_to_static_tokens_and_the_error_carries_the_credential() {
    let k = key(Algorithm::ES256, "ec");
    let v = builder(&[k])
        .required_scopes(["tools:call"])
        .static_tokens([
            StaticToken::new("full", "ci").with_scopes(["tools:call"]),
            StaticToken::new("narrow", "viewer")
                .with_scopes(["read"])
                .with_audience(AUD),
        ])
        .build()
        .unwrap();
    assert_eq!(v.verify("full").unwrap().client_id(), Some("ci"));
    let err = v.verify("narrow").unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    assert_eq!(err.detail().unwrap().missing_scopes, ["tools:call"]);
    let who = err.credential().expect("the credential rides on the error");
    assert_eq!(who.client_id(), Some("viewer"));
    assert_eq!(who.aud(), [AUD]);
    assert_eq!(who.audience_matched(), Some(AUD));
    // Same for a JWT lacking the scope.
    let jwt = k.mint(&claims_with(json!({"scope": "read"}))).unwrap();
    let err = v.verify(&jwt).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    assert_eq!(err.credential().unwrap().sub(), Some("alice"));
    assert_eq!(err.code().http_status(), 403);
}

#[test]
fn audience_matched_principal_and_token_id() {
    let k = key(Algorithm::ES256, "ec");
    let v = Verifier::builder()
        .issuer(ISS)
        .audiences(["https://other.example", AUD])
        .jwks(&k.public_jwks())
        .build()
        .unwrap();
    let token = k.mint(&claims_with(json!({"aud": ["x", AUD]}))).unwrap();
    let first = v.verify(&token).unwrap();
    assert_eq!(first.audience_matched(), Some(AUD));
    assert_eq!(first.principal(), (Some(ISS), Some("alice")));
    // A cache hit and a fresh result of the same token share an id; another token's differs.
    let again = v.verify(&token).unwrap();
    assert_eq!(first.token_id(), again.token_id());
    let other = v.verify(&k.mint(&claims()).unwrap()).unwrap();
    assert_ne!(first.token_id(), other.token_id());
    assert_eq!(
        v.verify_cached(&token).unwrap().unwrap().token_id(),
        first.token_id()
    );
    assert!(v.verify_cached("not.cached.token").is_none());
}

#[test]
fn errors_carry_structured_detail() {
    let k = key(Algorithm::ES256, "ec");
    let v = builder(&[k]).typ("at+jwt").build().unwrap();
    let header = json!({"typ": "at+jwt"});
    let mint = |c: serde_json::Value| k.mint_with_header(&header, &c).unwrap();
    let e = v
        .verify(&mint(claims_with(json!({"iss": "https://evil.example"}))))
        .unwrap_err();
    let d = e.detail().unwrap();
    assert_eq!(
        (d.expected.as_slice(), d.found.as_slice()),
        (
            [ISS.to_string()].as_slice(),
            ["https://evil.example".to_string()].as_slice()
        )
    );
    let e = v
        .verify(&mint(claims_with(json!({"aud": ["a", "b"]}))))
        .unwrap_err();
    assert_eq!(e.detail().unwrap().found, ["a", "b"]);
    let e = v
        .verify(&mint(claims_with(json!({"exp": jwtgate::now_unix() - 30}))))
        .unwrap_err();
    let skew = e.detail().unwrap().skew_seconds.unwrap();
    assert!((30..=32).contains(&skew), "{skew}");
    let e = v.verify(&k.mint(&claims()).unwrap()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::TypMismatch);
    assert_eq!(e.detail().unwrap().expected, ["at+jwt"]);
    let unknown = k
        .mint_with_header(&json!({"kid": "gone", "typ": "at+jwt"}), &claims())
        .unwrap();
    let e = v.verify(&unknown).unwrap_err();
    assert_eq!(e.detail().unwrap().kid.as_deref(), Some("gone"));
}

#[test]
fn stats_count_outcomes_cache_use_and_rejections_by_code() {
    let k = key(Algorithm::ES256, "ec");
    let v = builder(&[k])
        .cache_size(4)
        .static_token("api", "bot")
        .build()
        .unwrap();
    let token = k.mint(&claims()).unwrap();
    for _ in 0..3 {
        v.verify(&token).unwrap();
    }
    v.verify("api").unwrap();
    let _ = v.verify("a.b.c");
    let _ = v.verify(&k.mint(&claims_with(json!({"exp": 1}))).unwrap());
    let s = v.stats();
    assert_eq!(
        (s.accepted, s.verified, s.cache_hits, s.static_tokens),
        (4, 1, 2, 1)
    );
    assert_eq!(s.rejected, 2);
    assert_eq!(
        s.rejected_by_code,
        [(ErrorCode::TokenMalformed, 1), (ErrorCode::TokenExpired, 1)]
    );
    assert_eq!(
        (s.cache_inserts, s.cache_entries, s.cache_capacity),
        (1, 1, 4)
    );
    assert_eq!(s.cache_misses, 3); // the first token, the malformed one, the expired one
    // Filling a 4-entry cache with more live tokens than it holds evicts.
    for i in 0..20 {
        v.verify(
            &k.mint(&claims_with(json!({"jti": format!("t{i}")})))
                .unwrap(),
        )
        .unwrap();
    }
    let s = v.stats();
    assert!(s.cache_evictions > 0 && s.cache_entries <= 4, "{s:?}");
    assert_eq!(s.key_generation, 1);
}

#[test]
fn one_hmac_entry_point_binds_the_secret_to_the_allowed_hmac_algorithms() {
    let secret = [7u8; 64];
    let hs384 = SigningKey::hmac(Algorithm::HS384, "h", &secret).unwrap();
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .hmac_secret_for_algorithms(secret)
        .algorithms([Algorithm::HS256, Algorithm::HS384])
        .build()
        .unwrap();
    assert_eq!(
        v.verify(&hs384.mint(&claims()).unwrap()).unwrap().alg(),
        Some(Algorithm::HS384)
    );
    let err = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .hmac_secret_for_algorithms(secret)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert!(err.message().contains("HS256, HS384 or HS512"), "{err}");
    let short = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .hmac_secret_for_algorithms(b"short")
        .algorithms([Algorithm::HS256])
        .build()
        .unwrap_err();
    assert_eq!(short.code(), ErrorCode::ConfigInvalid);
}

#[test]
fn required_scopes_are_readable_however_they_were_configured() {
    let v = jwtgate::VerifierBuilder::default()
        .static_token("k", "bot")
        .required_scopes(["a", "b"])
        .build()
        .unwrap();
    assert_eq!(v.required_scopes(), ["a", "b"]);
}

#[test]
fn verify_cached_answers_what_needs_no_crypto_and_counts_it() {
    let k = key(Algorithm::ES256, "ec");
    let v = builder(&[k])
        .static_tokens([StaticToken::new("api", "bot").with_scopes(["read"])])
        .build()
        .unwrap();
    let token = k.mint(&claims()).unwrap();
    assert!(v.verify_cached(&token).is_none()); // not verified yet
    v.verify(&token).unwrap();
    assert_eq!(
        v.verify_cached(&token).unwrap().unwrap().sub(),
        Some("alice")
    );
    assert_eq!(
        v.verify_cached("api").unwrap().unwrap().client_id(),
        Some("bot")
    );
    assert_eq!(
        v.verify_cached(&"x".repeat(20_000))
            .unwrap()
            .unwrap_err()
            .code(),
        ErrorCode::TokenTooLarge
    );
    let s = v.stats();
    assert_eq!(
        (s.cache_hits, s.static_tokens, s.verified, s.rejected),
        (1, 1, 1, 1)
    );
}

#[test]
fn scope_hierarchies_grant_implied_scopes_in_every_check() {
    let k = key(Algorithm::ES256, "ec");
    let v = builder(&[k])
        .required_scopes(["files:read"])
        .scope_implies("files:write", "files:read")
        .scope_implies("files:admin", "files:write")
        .scope_implies("admin", "*")
        .static_tokens([StaticToken::new("ops", "ops").with_scopes(["admin"])])
        .build()
        .unwrap();
    let mint = |scope: &str| k.mint(&claims_with(json!({ "scope": scope }))).unwrap();
    // files:admin → files:write → files:read satisfies the required scope.
    let admin = v.verify(&mint("files:admin")).unwrap();
    assert_eq!(admin.scopes(), ["files:admin"]);
    assert_eq!(
        admin.granted_scopes().collect::<Vec<_>>(),
        ["files:admin", "files:write", "files:read"]
    );
    assert!(admin.has_scope("files:read") && !admin.has_scope("billing"));
    assert!(admin.require_scopes(&["files:write"]).is_ok());
    // A cache hit keeps what was granted.
    assert!(
        v.verify(&mint("files:admin"))
            .unwrap()
            .has_scope("files:read")
    );
    // `*`: every scope, static tokens included.
    let ops = v.verify("ops").unwrap();
    assert!(ops.has_scope("anything") && ops.require_scopes(&["x", "y"]).is_ok());
    // Nothing implies upwards.
    let e = v.verify(&mint("files:readonly other")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InsufficientScope);
    let read = builder(&[k])
        .scope_implies("files:write", "files:read")
        .build()
        .unwrap();
    let reader = read.verify(&mint("files:read")).unwrap();
    assert_eq!(
        reader.require_scopes(&["files:write"]).unwrap_err().code(),
        ErrorCode::InsufficientScope
    );
    // No hierarchy unless configured.
    let plain = builder(&[k]).build().unwrap();
    assert!(
        !plain
            .verify(&mint("files:write"))
            .unwrap()
            .has_scope("files:read")
    );
    assert_eq!(
        builder(&[k])
            .scope_implies("", "x")
            .build()
            .unwrap_err()
            .code(),
        ErrorCode::ConfigInvalid
    );
}

#[test]
fn canonical_uri_audiences_tolerate_case_default_ports_and_trailing_slashes() {
    let k = key(Algorithm::ES256, "ec");
    let canonical = Verifier::builder()
        .issuer(ISS)
        .audience("https://mcp.example.com/mcp")
        .jwks(&k.public_jwks())
        .audience_match(jwtgate::AudienceMatch::CanonicalUri)
        .build()
        .unwrap();
    let exact = builder(&[k]).build().unwrap(); // AUD exactly
    let with_aud = |aud: &str| k.mint(&claims_with(json!({ "aud": aud }))).unwrap();
    for aud in [
        "https://mcp.example.com/mcp",
        "HTTPS://MCP.EXAMPLE.COM/mcp",
        "https://mcp.example.com:443/mcp/",
    ] {
        let v = canonical.verify(&with_aud(aud)).unwrap();
        assert_eq!(
            v.audience_matched(),
            Some("https://mcp.example.com/mcp"),
            "{aud}"
        );
    }
    for aud in [
        "https://mcp.example.com/MCP",
        "https://mcp.example.com:8443/mcp",
        "https://evil.example/mcp",
    ] {
        assert_eq!(
            canonical.verify(&with_aud(aud)).unwrap_err().code(),
            ErrorCode::AudienceMismatch,
            "{aud}"
        );
    }
    // Exact stays the default.
    let upper = with_aud(&AUD.to_uppercase());
    assert_eq!(
        exact.verify(&upper).unwrap_err().code(),
        ErrorCode::AudienceMismatch
    );
}

/// RFC 9864 names Ed25519 signatures `Ed25519`; providers still send `EdDSA`. A key published
/// under either name verifies tokens under either, and stays bound to the Ed25519 family.
#[test]
fn ed25519_and_eddsa_are_one_algorithm_for_ed25519_keys() {
    for (key_alg, token_alg) in [
        (Algorithm::EdDSA, "Ed25519"),
        (Algorithm::Ed25519, "EdDSA"),
        (Algorithm::Ed25519, "Ed25519"),
    ] {
        let k = key(key_alg, "ed");
        let v = verifier(&[k]);
        let token = k
            .mint_with_header(&json!({"alg": token_alg}), &claims())
            .unwrap();
        let verified = v
            .verify(&token)
            .unwrap_or_else(|e| panic!("{key_alg} key, {token_alg} token: {e}"));
        assert_eq!(verified.alg().unwrap().as_str(), token_alg);
    }
    // Neither name lets an Ed25519 token reach an EC key under the same kid.
    let es = key(Algorithm::ES256, "ed");
    let ed = key(Algorithm::Ed25519, "ed");
    let v = verifier(&[es]);
    let forged = ed
        .mint_with_header(&json!({"alg": "Ed25519"}), &claims())
        .unwrap();
    assert_eq!(code(v.verify(&forged)), ErrorCode::KeyUnusable);
    // Allow-lists name what they allow: EdDSA alone does not admit the other spelling.
    let only_eddsa = builder(&[ed])
        .algorithms([Algorithm::EdDSA])
        .build()
        .unwrap();
    let token = ed
        .mint_with_header(&json!({"alg": "Ed25519"}), &claims())
        .unwrap();
    assert_eq!(code(only_eddsa.verify(&token)), ErrorCode::AlgNotAllowed);
}

/// ES512 (ECDSA on P-521) with the aws-lc-rs backend; ring says it cannot.
#[test]
fn es512_verifies_on_p521_where_the_backend_has_it() {
    if !Algorithm::ES512.is_available() {
        let err = SigningKey::generate(Algorithm::ES512, "p521").unwrap_err();
        assert!(err.message().contains("ES512"), "{err}");
        return;
    }
    let k = key(Algorithm::ES512, "p521");
    assert_eq!(k.public_jwk().unwrap()["crv"], "P-521");
    let v = verifier(&[k]);
    let token = k.mint(&claims()).unwrap();
    assert_eq!(v.verify(&token).unwrap().alg(), Some(Algorithm::ES512));
    // A P-521 key cannot verify an ES384 token under its kid, nor a P-384 key an ES512 one.
    let p384 = key(Algorithm::ES384, "p521");
    assert_eq!(
        code(v.verify(&p384.mint(&claims()).unwrap())),
        ErrorCode::KeyUnusable
    );
}
