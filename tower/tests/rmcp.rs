//! The tower layer in front of a real MCP server: rmcp's streamable HTTP server on axum, rmcp's
//! own client, tokens from the real identity provider (tests/idp, oidc-provider). What an MCP
//! client meets: the handshake and tool calls with a valid credential, the RFC 6750 / RFC 9728
//! challenges and the metadata document they point to, DPoP (RFC 9449), API keys, key rotation.

#[path = "../../core/tests/common/idp.rs"]
mod idp;

mod common {
    pub mod mcp;
}

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use common::mcp::{self, ClientOptions, ServerOptions};
use http::Method;
use idp::{Idp, IdpOptions};
use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, ErrorCode, StaticToken, Verified, Verifier, VerifierBuilder};
use jwtgate_tower::{Authenticated, Gate, GateBuilder, Route};
use rmcp::service::ClientInitializeError;
use serde_json::{Value, json};

const SCOPES: &str = "tools:call read admin";

/// `whoami`'s view of the credential the layer put in the request extensions.
fn caller(parts: &http::request::Parts) -> Value {
    match parts.extensions.get::<Verified>() {
        None => json!({ "verified": null }),
        Some(v) => json!({ "verified": {
            "sub": v.sub(),
            "client_id": v.client_id(),
            "scopes": v.scopes(),
            "kid": v.kid(),
            "dpop": v.presented_with_dpop(),
            "jkt": v.confirmation_jkt(),
        }}),
    }
}

fn server_options() -> ServerOptions {
    ServerOptions {
        caller: Arc::new(caller),
        ..ServerOptions::default()
    }
}

/// One protected MCP server and the identity provider whose tokens it accepts.
struct Setup {
    idp: Idp,
    gate: Gate,
    server: mcp::Server,
}

impl Setup {
    /// The resource identifier: the MCP endpoint's own URL, which is also the tokens' `aud`.
    fn resource(&self) -> String {
        self.server.mcp_url()
    }

    fn metadata_url(&self) -> String {
        self.server.url("/.well-known/oauth-protected-resource/mcp")
    }

    /// An access token from the IdP's `client-<alg>`.
    fn token(&self, scope: &str) -> String {
        self.idp.token("ES256", Some(scope))
    }
}

/// Starts the IdP (its tokens' audience: this server's `/mcp`), a verifier for it, a gate, and
/// the MCP server behind the gate's layer, with the metadata router and a few plain axum routes.
async fn setup(
    idp_keys: &[&'static str],
    verifier: impl FnOnce(VerifierBuilder, &Idp) -> VerifierBuilder,
    gate: impl FnOnce(GateBuilder) -> GateBuilder,
) -> Setup {
    let listener = mcp::bind().await;
    let port = listener.local_addr().unwrap().port();
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let idp = idp::start(&IdpOptions {
        keys: idp_keys.to_vec(),
        resource: resource.clone(),
        scopes: SCOPES.to_owned(),
        ..IdpOptions::default()
    });
    let builder = Verifier::builder()
        .issuer(&idp.issuer)
        .audience(&resource)
        .typ("at+jwt")
        .required_scopes(["tools:call"])
        .refresh_cooldown(Duration::from_millis(100));
    let verifier = verifier(builder, &idp).build().expect("verifier");
    let gate = gate(Gate::builder(verifier).resource(&resource))
        .route(Route::prefix("/health").public())
        .route(Route::exact("/public/whoami").public())
        .build()
        .expect("gate");
    let router = mcp::router(&server_options(), &["/admin/mcp"])
        .route("/health", get(|| async { "ok" }))
        .route("/http/whoami", get(http_whoami))
        .route("/public/whoami", get(http_whoami))
        .layer(gate.layer())
        .merge(gate.metadata_router());
    let server = mcp::serve_on(listener, router);
    Setup { idp, gate, server }
}

async fn default_setup() -> Setup {
    setup(&["ES256"], |b, _| b, |g| g).await
}

/// Connects, expecting the server to refuse the `initialize` handshake.
async fn refused(url: &str, options: ClientOptions, why: &str) -> ClientInitializeError {
    match mcp::connect(url, options).await {
        Ok(_) => panic!("accepted, but {why}"),
        Err(err) => err,
    }
}

/// A plain axum handler that takes the credential with the extractor.
async fn http_whoami(Authenticated(me): Authenticated) -> String {
    format!(
        "{} {}",
        me.client_id().unwrap_or("-"),
        me.scopes().join(",")
    )
}

/// A plain HTTP request (no MCP client): status, headers, body.
async fn http(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, http::HeaderMap, String) {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "raw", "version": "0"}}
    });
    let response = request
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    (status, headers, text)
}

fn header<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.to_str().expect("ASCII header"))
}

/// The challenge the core builds for this resource: what the layer must send, byte for byte.
fn core_challenge(s: &Setup, error: Option<&jwtgate::Error>, scopes: &[&str]) -> String {
    s.gate.resources()[0]
        .challenge(error, scopes)
        .www_authenticate
        .expect("a 401/403 challenge")
}

/// The `Bearer` challenge of a refused token, as RFC 6750 §3 spells it with the core's fixed
/// description.
fn bearer_challenge(s: &Setup, error: &str, code: ErrorCode, scope: &str) -> String {
    format!(
        r#"Bearer error="{error}", error_description="{}", resource_metadata="{}", scope="{scope}""#,
        code.client_description(),
        s.metadata_url()
    )
}

/// Client options presenting the DPoP-bound `token` and, when `key` is given, a fresh proof of it
/// on every HTTP request the client makes (its method and URL, `ath` of the token).
fn dpop_client(token: &str, key: Option<Arc<SigningKey>>) -> ClientOptions {
    let prove = key.map(|key| {
        let token = token.to_owned();
        Arc::new(move |method: &str, url: &str| {
            key.dpop_proof(method, url, Some(&token), None).unwrap()
        }) as mcp::Prove
    });
    ClientOptions::dpop(token, prove)
}

#[tokio::test]
async fn a_valid_token_reaches_the_tools_and_the_tool_sees_the_caller() {
    let s = default_setup().await;
    let token = s.token("tools:call read");
    let client = mcp::connect(&s.resource(), ClientOptions::bearer(&token))
        .await
        .expect("initialize with a valid token");
    let info = client.peer_info().expect("server info after initialize");
    let server = info.server_info.as_ref().expect("serverInfo");
    assert_eq!(server.name, "jwtgate-test-mcp");
    assert_eq!(
        mcp::tool_names(&client).await.unwrap(),
        ["add", "echo", "whoami"]
    );
    let sum = mcp::call_text(&client, "add", json!({"a": 2, "b": 40})).await;
    assert_eq!(sum.unwrap(), "42");
    let me = mcp::whoami(&client).await.unwrap();
    assert_eq!(me["verified"]["client_id"], "client-es256", "{me}");
    assert_eq!(
        me["verified"]["scopes"],
        json!(["tools:call", "read"]),
        "{me}"
    );
    assert_eq!(me["verified"]["dpop"], false);
    client.cancel().await.unwrap();
    // Every HTTP request of the session (initialize, the initialized notification, the event
    // stream, tools/list, the calls, the session's DELETE) went through the layer: the token's
    // signature was checked once, then the cache answered; the key set was fetched once.
    let stats = s.gate.verifier().stats();
    assert_eq!(stats.rejected, 0, "{stats:?}");
    assert!(stats.accepted >= 6, "{stats:?}");
    assert_eq!(stats.verified, 1, "{stats:?}");
    assert_eq!(stats.cache_hits, stats.accepted - 1, "{stats:?}");
    assert_eq!(stats.jwks_fetches, 1, "{stats:?}");
}

#[tokio::test]
async fn no_token_is_a_401_with_the_challenge_and_the_metadata_it_points_to() {
    let s = default_setup().await;
    // The default DPoP mode (allowed) adds a DPoP challenge after the Bearer one.
    let expected = core_challenge(&s, None, &["tools:call"]);
    let bearer = format!(
        r#"Bearer resource_metadata="{}", scope="tools:call""#,
        s.metadata_url()
    );
    assert!(
        expected.starts_with(&format!("{bearer}, DPoP algs=")),
        "{expected}"
    );

    // rmcp's client sees the refusal of `initialize` and hands over the challenge.
    let err = refused(&s.resource(), ClientOptions::default(), "no credential").await;
    assert!(err.is_authorization_required(), "{err:?}");
    assert_eq!(err.auth_challenge(), Some(expected.as_str()));

    // On the wire: 401, the challenge exactly, no body error (RFC 6750 §3.1: no error code
    // when the request had no credential), not cached.
    let (status, headers, _body) = http(Method::POST, &s.resource(), &[]).await;
    assert_eq!(status, 401);
    assert_eq!(
        header(&headers, "www-authenticate"),
        Some(expected.as_str())
    );
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));

    // The metadata document at the path-aware URL the challenge names (RFC 9728 §3.1).
    let response = reqwest::get(s.metadata_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(response.headers(), "content-type"),
        Some("application/json")
    );
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["resource"], s.resource(), "{doc}");
    assert_eq!(doc["authorization_servers"], json!([s.idp.issuer]), "{doc}");
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]), "{doc}");
    assert_eq!(doc["scopes_supported"], json!(["tools:call"]), "{doc}");
    assert!(doc["dpop_signing_alg_values_supported"].is_array(), "{doc}");
    // The same path without the resource's path is not it.
    let root = reqwest::get(s.server.url("/.well-known/oauth-protected-resource"))
        .await
        .unwrap();
    assert_ne!(root.status(), 200);
}

#[tokio::test]
async fn expired_and_wrong_audience_tokens_are_invalid_token() {
    let s = default_setup().await;
    let now = jwtgate::now_unix();
    let claims = |aud: &str, exp: u64| {
        json!({
            "iss": s.idp.issuer, "aud": aud, "sub": "client-es256",
            "client_id": "client-es256", "scope": "tools:call",
            "iat": now - 600, "exp": exp, "jti": format!("j{exp}{aud}"),
        })
    };
    let expired = s.idp.sign("ES256", &claims(&s.resource(), now - 300));
    let elsewhere = s
        .idp
        .sign("ES256", &claims("https://other.example/mcp", now + 300));
    let cases = [
        (expired, ErrorCode::TokenExpired),
        (elsewhere, ErrorCode::AudienceMismatch),
    ];
    for (token, code) in cases {
        let err = refused(
            &s.resource(),
            ClientOptions::bearer(&token),
            &format!("{code:?}"),
        )
        .await;
        let challenge = err.auth_challenge().expect("a challenge").to_owned();
        let bearer = bearer_challenge(&s, "invalid_token", code, "tools:call");
        assert!(
            challenge.starts_with(&format!("{bearer}, DPoP ")),
            "{code:?}: {challenge}"
        );
        let core = s.gate.verifier().verify(&token).unwrap_err();
        assert_eq!(core.code(), code);
        assert_eq!(challenge, core_challenge(&s, Some(&core), &["tools:call"]));

        let auth = format!("Bearer {token}");
        let (status, headers, body) =
            http(Method::POST, &s.resource(), &[("authorization", &auth)]).await;
        assert_eq!(status, 401, "{code:?}");
        assert_eq!(
            header(&headers, "www-authenticate"),
            Some(challenge.as_str())
        );
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"], "invalid_token", "{body}");
        assert_eq!(
            body["error_description"],
            code.client_description(),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_route_with_required_scopes_is_403_naming_them() {
    let s = setup(
        &["ES256"],
        |b, _| b,
        |g| g.route(Route::exact("/admin/mcp").scopes(["admin"])),
    )
    .await;
    let admin_url = s.server.url("/admin/mcp");
    let token = s.token("tools:call read");
    let err = refused(&admin_url, ClientOptions::bearer(&token), "no admin scope").await;
    let challenge = err.auth_challenge().expect("a challenge");
    // Every scope the operation needs, in one challenge (the verifier's and the route's).
    let bearer = bearer_challenge(
        &s,
        "insufficient_scope",
        ErrorCode::InsufficientScope,
        "tools:call admin",
    );
    assert!(
        challenge.starts_with(&format!("{bearer}, DPoP ")),
        "{challenge}"
    );

    let auth = format!("Bearer {token}");
    let (status, headers, body) = http(Method::POST, &admin_url, &[("authorization", &auth)]).await;
    assert_eq!(status, 403);
    assert_eq!(header(&headers, "www-authenticate"), Some(challenge));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "insufficient_scope", "{body}");

    // The same token is fine on /mcp; one with the scope is fine on /admin/mcp.
    let client = mcp::connect(&s.resource(), ClientOptions::bearer(&token))
        .await
        .expect("/mcp needs tools:call only");
    client.cancel().await.unwrap();
    let admin = s.token("tools:call admin");
    let client = mcp::connect(&admin_url, ClientOptions::bearer(&admin))
        .await
        .expect("the admin scope opens /admin/mcp");
    let me = mcp::whoami(&client).await.unwrap();
    assert_eq!(
        me["verified"]["scopes"],
        json!(["tools:call", "admin"]),
        "{me}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_dpop_bound_token_needs_a_proof_on_every_request() {
    let s = default_setup().await;
    let key = Arc::new(SigningKey::generate(Algorithm::ES256, "client").unwrap());
    let token = s.idp.dpop_token("ES256", &key, "tools:call");

    // A fresh proof on every HTTP request of the session (POSTs, the GET of the event stream,
    // the DELETE at the end): all accepted, none replayed.
    let client = mcp::connect(&s.resource(), dpop_client(&token, Some(Arc::clone(&key))))
        .await
        .expect("DPoP token with proofs");
    let me = mcp::whoami(&client).await.unwrap();
    assert_eq!(me["verified"]["dpop"], true, "{me}");
    assert_eq!(me["verified"]["jkt"], key.thumbprint().unwrap(), "{me}");
    assert_eq!(
        mcp::call_text(&client, "echo", json!({"text": "bound"}))
            .await
            .unwrap(),
        "bound"
    );
    client.cancel().await.unwrap();

    // The DPoP scheme without a proof: a proof error on the DPoP challenge.
    let err = refused(&s.resource(), dpop_client(&token, None), "no proof").await;
    let challenge = err.auth_challenge().expect("a challenge");
    assert!(challenge.contains(r#"DPoP algs="#), "{challenge}");
    assert!(
        challenge.contains(r#"error="invalid_dpop_proof""#),
        "{challenge}"
    );

    // The bound token as a Bearer token: refused (RFC 9449 §7.2), an invalid Bearer token.
    let err = refused(
        &s.resource(),
        ClientOptions::bearer(&token),
        "bound token as Bearer",
    )
    .await;
    let challenge = err.auth_challenge().expect("a challenge");
    let bearer = bearer_challenge(
        &s,
        "invalid_token",
        ErrorCode::DpopProofMissing,
        "tools:call",
    );
    assert!(challenge.starts_with(&bearer), "{challenge}");

    // A proof by another key: refused.
    let other = Arc::new(SigningKey::generate(Algorithm::ES256, "thief").unwrap());
    let err = refused(
        &s.resource(),
        dpop_client(&token, Some(other)),
        "proof by another key",
    )
    .await;
    assert!(
        err.auth_challenge().is_some_and(|c| c.contains("error=")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_api_key_in_x_api_key_with_static_tokens() {
    let s = setup(
        &["ES256"],
        |b, _| {
            b.static_tokens([
                StaticToken::new("k-3f9a2c7e-api", "ci-bot").with_scopes(["tools:call"])
            ])
        },
        |g| g,
    )
    .await;
    let client = mcp::connect(
        &s.resource(),
        ClientOptions::default().header("x-api-key", "k-3f9a2c7e-api"),
    )
    .await
    .expect("a configured API key");
    let me = mcp::whoami(&client).await.unwrap();
    assert_eq!(me["verified"]["client_id"], "ci-bot", "{me}");
    client.cancel().await.unwrap();

    // A JWT from the IdP still works in Authorization next to the keys.
    let client = mcp::connect(&s.resource(), ClientOptions::bearer(s.token("tools:call")))
        .await
        .expect("a JWT next to static tokens");
    client.cancel().await.unwrap();

    // A wrong key, and a JWT in the key header (only static tokens are read from it): refused.
    for key in ["k-wrong".to_owned(), s.token("tools:call")] {
        let err = refused(
            &s.resource(),
            ClientOptions::default().header("x-api-key", &key),
            "refused",
        )
        .await;
        let challenge = err.auth_challenge().expect("a challenge");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }
}

/// The key fetch after a rotation must not block the executor: on a current-thread runtime the
/// JWKS is served by a task of this same runtime, so a gate that waited on the executor thread
/// would never see it (the fetch would time out and the token be refused).
#[tokio::test(flavor = "current_thread")]
async fn an_unknown_kid_after_rotation_is_fetched_without_blocking_the_executor() {
    let jwks_listener = mcp::bind().await;
    let jwks_url = format!(
        "http://127.0.0.1:{}/jwks",
        jwks_listener.local_addr().unwrap().port()
    );
    let s = setup(
        &["ES256"],
        |b, _| b.jwks_uri(&jwks_url).fetch_timeout(Duration::from_secs(5)),
        |g| g,
    )
    .await;
    // The JWKS, relayed by this runtime from the IdP.
    let upstream = format!("{}/jwks", s.idp.issuer);
    let relay = Router::new().route(
        "/jwks",
        get(move || {
            let upstream = upstream.clone();
            async move {
                let body = reqwest::get(&upstream).await.unwrap().text().await.unwrap();
                ([("content-type", "application/json")], body)
            }
        }),
    );
    let _jwks = mcp::serve_on(jwks_listener, relay);

    // The first request finds no keys yet: they are fetched, through this runtime.
    let first = s.token("tools:call");
    let client = mcp::connect(&s.resource(), ClientOptions::bearer(&first))
        .await
        .expect("first token");
    let me = mcp::whoami(&client).await.unwrap();
    let old_kid = me["verified"]["kid"].as_str().unwrap().to_owned();
    assert_eq!(old_kid, s.idp.kids["ES256"]);
    client.cancel().await.unwrap();
    let fetches = s.gate.verifier().keys_status().fetches;

    // Rotation: the IdP signs with a new key; the gate fetches it on first sight.
    let rotated = s.idp.rotate(&["ES256"], &[]);
    let new_kid = rotated["kids"]["ES256"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    let second = s.token("tools:call");
    let client = mcp::connect(&s.resource(), ClientOptions::bearer(&second))
        .await
        .expect("token signed with the rotated key");
    let me = mcp::whoami(&client).await.unwrap();
    assert_eq!(me["verified"]["kid"], new_kid, "{me}");
    client.cancel().await.unwrap();
    assert!(s.gate.verifier().keys_status().fetches > fetches);
}

#[tokio::test]
async fn the_extractor_and_public_routes() {
    let s = default_setup().await;
    let token = s.token("tools:call read");
    let auth = format!("Bearer {token}");
    let (status, _, body) = http(
        Method::GET,
        &s.server.url("/http/whoami"),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "client-es256 tools:call,read");
    let (status, headers, _) = http(Method::GET, &s.server.url("/http/whoami"), &[]).await;
    assert_eq!(status, 401);
    assert!(header(&headers, "www-authenticate").is_some());

    // A public route needs no credential.
    let (status, _, body) = http(Method::GET, &s.server.url("/health"), &[]).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    // The extractor on a public route: no credential there, a 500 that says why.
    let (status, _, body) = http(
        Method::GET,
        &s.server.url("/public/whoami"),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(status, 500);
    assert!(body.contains("public"), "{body}");
}

/// The layer wraps rmcp's `StreamableHttpService` itself, not only an axum `Router`: its answers
/// carry the inner service's own body type next to the refusals' JSON (`GateBody`).
#[tokio::test]
async fn the_layer_wraps_the_rmcp_service_directly() {
    use tower_layer::Layer;
    let listener = mcp::bind().await;
    let port = listener.local_addr().unwrap().port();
    let resource = format!("http://127.0.0.1:{port}/mcp");
    let idp = idp::start(&IdpOptions {
        keys: vec!["ES256"],
        resource: resource.clone(),
        scopes: SCOPES.to_owned(),
        ..IdpOptions::default()
    });
    let verifier = Verifier::builder()
        .issuer(&idp.issuer)
        .audience(&resource)
        .build()
        .unwrap();
    let gate = Gate::builder(verifier).resource(&resource).build().unwrap();
    let protected = gate.layer().layer(mcp::service(&server_options()));
    let server = mcp::serve_on(listener, Router::new().route_service("/mcp", protected));

    let token = idp.token("ES256", Some("tools:call"));
    let client = mcp::connect(&server.mcp_url(), ClientOptions::bearer(&token))
        .await
        .expect("initialize through the bare layer");
    let me = mcp::whoami(&client).await.unwrap();
    assert_eq!(me["verified"]["client_id"], "client-es256", "{me}");
    client.cancel().await.unwrap();

    let err = refused(&server.mcp_url(), ClientOptions::default(), "no token").await;
    let challenge = err.auth_challenge().expect("a WWW-Authenticate challenge");
    assert!(
        challenge.starts_with("Bearer resource_metadata="),
        "{challenge}"
    );
}
