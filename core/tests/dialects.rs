//! Claim dialects: tokens shaped like each provider's published examples give their scopes and
//! client id to the scope checks, once the verifier names where they are.

mod common;

use common::*;
use jwtgate::{Algorithm, ErrorCode, VerifierBuilder};
use serde_json::json;

fn mint(extra: serde_json::Value) -> String {
    let mut c = claims_with(json!({"scope": null, "client_id": null}));
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    key(Algorithm::ES256, "k").mint(&c).unwrap()
}

fn with(configure: impl FnOnce(VerifierBuilder) -> VerifierBuilder) -> jwtgate::Verifier {
    configure(builder(&[key(Algorithm::ES256, "k")]))
        .build()
        .unwrap()
}

#[test]
fn auth0_permissions_count_as_scopes() {
    // Auth0 RBAC: "permissions" next to the OAuth "scope".
    let token = mint(
        json!({"scope": "openid profile", "permissions": ["read:files", "write:files"], "azp": "auth0-client"}),
    );
    let v = with(|b| {
        b.scope_claims(["scope", "permissions"])
            .required_scopes(["write:files"])
    });
    let verified = v.verify(&token).unwrap();
    assert_eq!(
        verified.scopes(),
        ["openid", "profile", "read:files", "write:files"]
    );
    assert_eq!(verified.client_id(), Some("auth0-client"));
    // The default reading does not see permissions.
    let plain = with(|b| b.required_scopes(["write:files"]));
    assert_eq!(code(plain.verify(&token)), ErrorCode::InsufficientScope);
}

#[test]
fn entra_roles_scp_and_appid() {
    // Entra v1 access token: delegated "scp" string, app "roles", client in "appid".
    let token = mint(
        json!({"scp": "User.Read Files.Read", "roles": ["Mcp.Admin"], "appid": "6e74172b-be56-4843-9ff4-e66a39bb12e3"}),
    );
    let v = with(|b| {
        b.scope_claims(["scp", "roles"])
            .client_id_claims(["azp", "appid"])
            .required_scopes(["Mcp.Admin", "Files.Read"])
    });
    let verified = v.verify(&token).unwrap();
    assert_eq!(
        verified.client_id(),
        Some("6e74172b-be56-4843-9ff4-e66a39bb12e3")
    );
    assert!(verified.has_scope("User.Read"));
}

#[test]
fn keycloak_realm_and_client_roles() {
    let token = mint(json!({
        "azp": "mcp-client",
        "realm_access": {"roles": ["offline_access", "admin"]},
        "resource_access": {"mcp-server": {"roles": ["tools:call"]}, "account": {"roles": ["view-profile"]}},
        "scope": "openid email",
    }));
    let v = with(|b| {
        b.scope_claims([
            "scope",
            "realm_access.roles",
            "resource_access.mcp-server.roles",
        ])
        .required_scopes(["tools:call", "admin"])
    });
    let verified = v.verify(&token).unwrap();
    assert_eq!(
        verified.scopes(),
        ["openid", "email", "offline_access", "admin", "tools:call"]
    );
    assert!(
        !verified.has_scope("view-profile"),
        "another client's roles stay out"
    );
    assert_eq!(verified.client_id(), Some("mcp-client"));
}

#[test]
fn okta_cid_and_cognito_groups() {
    let okta = mint(json!({"cid": "0oa1b2c3d4", "scp": ["tools:call"], "sub": "user@example.com"}));
    let v = with(|b| b.client_id_claims(["cid"]).required_scopes(["tools:call"]));
    assert_eq!(v.verify(&okta).unwrap().client_id(), Some("0oa1b2c3d4"));
    let cognito = mint(
        json!({"cognito:groups": ["mcp-admins"], "client_id": "7abc", "scope": "aws.cognito.signin.user.admin"}),
    );
    let v = with(|b| {
        b.scope_claims(["scope", "cognito:groups"])
            .required_scopes(["mcp-admins"])
    });
    let verified = v.verify(&cognito).unwrap();
    assert_eq!(verified.client_id(), Some("7abc"));
}

#[test]
fn namespaced_claims_with_dots_are_found_as_written() {
    let token = mint(json!({"https://example.com/roles": ["editor"]}));
    let v = with(|b| {
        b.scope_claims(["https://example.com/roles"])
            .required_scopes(["editor"])
    });
    v.verify(&token).unwrap();
}

#[test]
fn a_scope_claim_of_the_wrong_shape_is_claim_invalid() {
    let v = with(|b| b.scope_claims(["permissions"]));
    for bad in [
        json!({"permissions": {"read": true}}),
        json!({"permissions": [1, 2]}),
        json!({"permissions": 5}),
    ] {
        let err = v.verify(&mint(bad.clone())).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ClaimInvalid, "{bad}");
        assert_eq!(err.claim(), Some("permissions"));
    }
    // Absent is no scopes, not an error.
    assert!(v.verify(&mint(json!({}))).unwrap().scopes().is_empty());
}

#[test]
fn dialect_options_are_bounded() {
    let bad: Vec<VerifierBuilder> = vec![
        builder(&[key(Algorithm::ES256, "k")]).scope_claims(Vec::<String>::new()),
        builder(&[key(Algorithm::ES256, "k")]).scope_claims([""]),
        builder(&[key(Algorithm::ES256, "k")]).scope_claims(["a..b"]),
        builder(&[key(Algorithm::ES256, "k")]).client_id_claims([".cid"]),
        builder(&[key(Algorithm::ES256, "k")]).scope_claims((0..17).map(|i| format!("c{i}"))),
        builder(&[key(Algorithm::ES256, "k")]).scope_claims(["x".repeat(257)]),
    ];
    for b in bad {
        assert_eq!(b.build().unwrap_err().code(), ErrorCode::ConfigInvalid);
    }
}
