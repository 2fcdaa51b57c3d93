//! Opaque access tokens and id_tokens from the real identity provider (`oidc-provider`,
//! tests/idp): introspection (RFC 7662) with both client authentications, revocation (RFC 7009)
//! seen within the documented cache bound, and id_token mode.
#![cfg(feature = "http")]

mod common;

use std::time::Duration;

use common::idp::{self, Idp, IdpOptions, base64_std, form_encode};
use jwtgate::{ClientAuth, CredentialKind, ErrorCode, Verifier, VerifierBuilder};
use serde_json::Value;

fn start() -> Idp {
    idp::start(&IdpOptions::default())
}

/// An opaque token for `client-opaque` through client_credentials with the resource indicator.
fn opaque_token(idp: &Idp, scope: &str) -> String {
    let body = form_encode(&[
        ("grant_type", "client_credentials"),
        ("resource", idp.resource.as_str()),
        ("scope", scope),
    ]);
    let auth = format!("Basic {}", base64_std(b"client-opaque:secret-opaque"));
    let (status, text) = idp.request(
        "POST",
        &idp.path("/token"),
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{text}");
    let response: Value = serde_json::from_str(&text).unwrap();
    let token = response["access_token"].as_str().unwrap().to_owned();
    assert!(!token.contains('.'), "an opaque token, not a JWT: {token}");
    token
}

fn revoke(idp: &Idp, token: &str) {
    let body = form_encode(&[("token", token)]);
    let auth = format!(
        "Basic {}",
        base64_std(b"resource-server:secret-resource-server")
    );
    let (status, text) = idp.request(
        "POST",
        &idp.path("/token/revocation"),
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{text}");
}

fn introspecting(idp: &Idp) -> VerifierBuilder {
    Verifier::builder()
        .issuer(idp.issuer.clone())
        .audience(idp.resource.clone())
        .introspection("resource-server", "secret-resource-server")
}

#[test]
fn opaque_tokens_are_introspected_with_either_client_authentication() {
    let idp = start();
    for auth in [ClientAuth::Basic, ClientAuth::Post] {
        let v = introspecting(&idp)
            .introspection_client_auth(auth)
            .required_scopes(["tools:call"])
            .build()
            .unwrap();
        let token = opaque_token(&idp, "tools:call read");
        let verified = v.verify(&token).unwrap_or_else(|e| panic!("{auth:?}: {e}"));
        assert_eq!(verified.kind(), CredentialKind::Introspected);
        assert_eq!(verified.client_id(), Some("client-opaque"));
        assert!(verified.has_scope("tools:call") && verified.has_scope("read"));
        assert_eq!(verified.iss(), Some(idp.issuer.as_str()));
        // Missing scope: 403 with the credential, as for JWTs.
        let narrow = opaque_token(&idp, "read");
        let err = v.verify(&narrow).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InsufficientScope);
        assert_eq!(err.credential().unwrap().client_id(), Some("client-opaque"));
    }
    // The endpoint came from discovery; a wrong secret is the provider refusing this server.
    let wrong = Verifier::builder()
        .issuer(idp.issuer.clone())
        .audience(idp.resource.clone())
        .introspection("resource-server", "wrong-secret")
        .build()
        .unwrap();
    let err = wrong.verify(&opaque_token(&idp, "read")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::IntrospectionFailed);
    assert!(err.message().contains("401"), "{err}");
}

#[test]
fn a_revoked_token_is_refused_once_the_cache_time_has_passed() {
    let idp = start();
    let ttl = Duration::from_secs(1);
    let v = introspecting(&idp)
        .introspection_cache_ttl(ttl)
        .build()
        .unwrap();
    let token = opaque_token(&idp, "tools:call");
    v.verify(&token).unwrap();
    revoke(&idp, &token);
    // Within the cache time the cached answer may still be used; after it, never.
    std::thread::sleep(ttl + Duration::from_millis(200));
    let err = v.verify(&token).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TokenInactive);
    assert_eq!(err.code().http_status(), 401);
    // With no cache, the provider is asked every time: a revoked token is refused at once.
    let uncached = introspecting(&idp)
        .introspection_cache_ttl(Duration::ZERO)
        .build()
        .unwrap();
    let token = opaque_token(&idp, "tools:call");
    uncached.verify(&token).unwrap();
    revoke(&idp, &token);
    assert_eq!(
        uncached.verify(&token).unwrap_err().code(),
        ErrorCode::TokenInactive
    );
}

#[test]
fn jwts_are_still_verified_locally_next_to_introspection() {
    let idp = start();
    let v = introspecting(&idp).build().unwrap();
    v.wait_ready(Duration::from_secs(10)).unwrap();
    let jwt = idp.token("ES256", Some("tools:call"));
    assert_eq!(v.verify(&jwt).unwrap().kind(), CredentialKind::Jwt);
    assert_eq!(v.stats().introspections, 0);
}

#[test]
fn id_tokens_from_the_provider_are_accepted_in_id_token_mode() {
    let idp = start();
    let body =
        serde_json::json!({"client_id": "client-app", "sub": "user-7", "nonce": "n-1"}).to_string();
    let (status, text) = idp.request(
        "POST",
        "/__admin/id-token",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{text}");
    let id_token = serde_json::from_str::<Value>(&text).unwrap()["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = Verifier::builder()
        .issuer(idp.issuer.clone())
        .id_token("client-app")
        .build()
        .unwrap();
    v.wait_ready(Duration::from_secs(10)).unwrap();
    let verified = v.verify(&id_token).unwrap();
    assert_eq!(verified.kind(), CredentialKind::IdToken);
    assert_eq!(verified.sub(), Some("user-7"));
    // Another client's verifier refuses it; an access token is refused in id_token mode.
    let other = Verifier::builder()
        .issuer(idp.issuer.clone())
        .id_token("client-opaque")
        .build()
        .unwrap();
    other.wait_ready(Duration::from_secs(10)).unwrap();
    assert_eq!(
        other.verify(&id_token).unwrap_err().code(),
        ErrorCode::AudienceMismatch
    );
    let access = idp.token("ES256", Some("tools:call"));
    assert!(v.verify(&access).is_err());
}
