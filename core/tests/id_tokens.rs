//! id_token mode (OIDC Core §3.1.3.7): an explicit mode, never a fallback, for servers whose
//! provider issues opaque access tokens.

mod common;

use common::*;
use jwtgate::{Algorithm, CredentialKind, ErrorCode, Verifier};
use serde_json::json;

const CLIENT: &str = "mcp-web-client";

fn id_token_verifier() -> Verifier {
    Verifier::builder()
        .issuer(ISS)
        .jwks(&jwtgate::sign::jwks(&[key(Algorithm::RS256, "k")]))
        .id_token(CLIENT)
        .build()
        .unwrap()
}

fn id_token(changes: serde_json::Value, typ: Option<&str>) -> String {
    let mut c = json!({
        "iss": ISS, "sub": "user-42", "aud": CLIENT, "exp": jwtgate::now_unix() + 300,
        "iat": jwtgate::now_unix(), "nonce": "n-0S6_WzA2Mj", "email": "u@example.com",
    });
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    let header = match typ {
        Some(t) => json!({"typ": t}),
        None => json!({}),
    };
    key(Algorithm::RS256, "k")
        .mint_with_header(&header, &c)
        .unwrap()
}

#[test]
fn an_id_token_for_the_client_is_accepted_and_says_what_it_is() {
    let v = id_token_verifier();
    for typ in [Some("JWT"), None] {
        let verified = v.verify(&id_token(json!({}), typ)).unwrap();
        assert_eq!(verified.kind(), CredentialKind::IdToken);
        assert_eq!(verified.kind().as_str(), "id_token");
        assert_eq!(verified.sub(), Some("user-42"));
        assert!(verified.scopes().is_empty());
        assert_eq!(verified.audience_matched(), Some(CLIENT));
    }
    // Several audiences with azp naming this client.
    v.verify(&id_token(
        json!({"aud": [CLIENT, "other"], "azp": CLIENT}),
        Some("JWT"),
    ))
    .unwrap();
}

#[test]
fn id_tokens_of_other_clients_and_access_tokens_are_refused() {
    let v = id_token_verifier();
    let cases = [
        (
            id_token(json!({"aud": "another-client"}), None),
            ErrorCode::AudienceMismatch,
        ),
        (
            id_token(json!({"azp": "another-client"}), None),
            ErrorCode::AudienceMismatch,
        ),
        (
            id_token(json!({"aud": [CLIENT, "other"]}), None),
            ErrorCode::ClaimMissing,
        ),
        // An RFC 9068 access token is not an id_token, even with the client as audience.
        (id_token(json!({}), Some("at+jwt")), ErrorCode::TypMismatch),
        (
            id_token(json!({"exp": jwtgate::now_unix() - 100}), None),
            ErrorCode::TokenExpired,
        ),
        (
            id_token(json!({"iss": "https://evil.example"}), None),
            ErrorCode::IssuerMismatch,
        ),
    ];
    for (token, expected) in cases {
        assert_eq!(code(v.verify(&token)), expected);
    }
}

#[test]
fn id_token_mode_refuses_options_it_cannot_honour() {
    let jwks = jwtgate::sign::jwks(&[key(Algorithm::RS256, "k")]);
    let base = || Verifier::builder().issuer(ISS).jwks(&jwks).id_token(CLIENT);
    for (name, b) in [
        ("audience", base().audience("https://mcp.example.com")),
        ("skipped audience", base().insecure_skip_audience_check()),
        ("required scopes", base().required_scopes(["tools:call"])),
        ("typ", base().typ("at+jwt")),
        (
            "blank client",
            Verifier::builder().issuer(ISS).jwks(&jwks).id_token(" "),
        ),
        (
            "no issuer",
            Verifier::builder().static_token("k", "c").id_token(CLIENT),
        ),
    ] {
        let err = b.build().unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{name}");
        assert!(err.message().contains("id_token"), "{name}: {err}");
    }
}
