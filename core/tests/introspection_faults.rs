//! Token introspection (RFC 7662) against a programmable loopback server: what the verifier does
//! with each kind of answer, refusal and failure, how long it keeps answers, and that concurrent
//! requests share one call. The real identity provider's introspection is tested in
//! `introspection_idp.rs`.
#![cfg(feature = "http")]

#[path = "common/fault_server.rs"]
mod fault_server;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use fault_server::{Behaviour, FaultServer};
use jwtgate::{CredentialKind, ErrorCode, Verifier, VerifierBuilder};
use serde_json::json;

const AUD: &str = "https://mcp.example.com/mcp";

fn builder(server: &FaultServer) -> VerifierBuilder {
    // A JWKS for JWTs (never used here) and the introspection endpoint, both on the server.
    server.set("/jwks", Behaviour::json(r#"{"keys":[]}"#));
    Verifier::builder()
        .issuer(server.base())
        .audience(AUD)
        .jwks_uri(server.url("/jwks"))
        .fetch_timeout(Duration::from_millis(800))
        .introspection("mcp-server", "s3cret")
        .introspection_endpoint(server.url("/introspect"))
}

fn answer(server: &FaultServer, extra: serde_json::Value) -> serde_json::Value {
    let mut body = json!({
        "active": true, "iss": server.base(), "aud": AUD, "client_id": "app-1", "sub": "alice",
        "scope": "tools:call read", "exp": jwtgate::now_unix() + 300, "token_type": "Bearer",
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

#[test]
fn an_active_answer_becomes_a_credential_and_is_cached() {
    let server = FaultServer::start();
    server.set(
        "/introspect",
        Behaviour::json(answer(&server, json!({})).to_string()),
    );
    let v = builder(&server)
        .required_scopes(["tools:call"])
        .build()
        .unwrap();
    let verified = v.verify("opaque-token-1").unwrap();
    assert_eq!(verified.kind(), CredentialKind::Introspected);
    assert_eq!(verified.kind().as_str(), "introspected");
    assert_eq!(verified.client_id(), Some("app-1"));
    assert_eq!(verified.scopes(), ["tools:call", "read"]);
    assert_eq!(verified.audience_matched(), Some(AUD));
    v.verify("opaque-token-1").unwrap();
    assert!(matches!(v.verify_cached("opaque-token-1"), Some(Ok(_))));
    assert_eq!(server.count("/introspect"), 1, "one call, then the cache");
    let stats = v.stats();
    assert_eq!((stats.introspections, stats.introspection_failures), (1, 0));
    assert_eq!(
        (stats.introspected, stats.accepted, stats.rejected),
        (3, 3, 0),
        "{stats:?}"
    );
    // Another token is another call.
    v.verify("opaque-token-2").unwrap();
    assert_eq!(server.count("/introspect"), 2);
}

#[test]
fn refusals_are_the_providers_answers_and_failures_are_503() {
    let server = FaultServer::start();
    let v = builder(&server).build().unwrap();
    let cases: Vec<(&str, Behaviour, ErrorCode)> = vec![
        (
            "inactive",
            Behaviour::json(r#"{"active":false}"#),
            ErrorCode::TokenInactive,
        ),
        (
            "another audience",
            Behaviour::json(answer(&server, json!({"aud": "https://other.example"})).to_string()),
            ErrorCode::AudienceMismatch,
        ),
        (
            "another issuer",
            Behaviour::json(answer(&server, json!({"iss": "https://evil.example"})).to_string()),
            ErrorCode::IssuerMismatch,
        ),
        (
            "expired",
            Behaviour::json(answer(&server, json!({"exp": jwtgate::now_unix() - 100})).to_string()),
            ErrorCode::TokenExpired,
        ),
        (
            "a refresh token",
            Behaviour::json(answer(&server, json!({"token_type": "refresh_token"})).to_string()),
            ErrorCode::ClaimInvalid,
        ),
        (
            "no aud while one is required",
            Behaviour::json(answer(&server, json!({"aud": null})).to_string()),
            ErrorCode::ClaimMissing,
        ),
        (
            "active as a string",
            Behaviour::json(r#"{"active":"true"}"#),
            ErrorCode::IntrospectionFailed,
        ),
        (
            "not JSON",
            Behaviour::json("<html>"),
            ErrorCode::IntrospectionFailed,
        ),
        (
            "duplicate members",
            Behaviour::json(r#"{"active":true,"active":false}"#),
            ErrorCode::IntrospectionFailed,
        ),
        (
            "credentials refused",
            Behaviour::status(401, r#"{"error":"invalid_client"}"#),
            ErrorCode::IntrospectionFailed,
        ),
        ("no answer", Behaviour::Hang, ErrorCode::IntrospectionFailed),
        ("closed", Behaviour::Close, ErrorCode::IntrospectionFailed),
    ];
    for (i, (name, behaviour, expected)) in cases.into_iter().enumerate() {
        server.set("/introspect", behaviour);
        let err = v.verify(&format!("opaque-{i}")).unwrap_err();
        assert_eq!(err.code(), expected, "{name}: {err}");
        assert_eq!(
            err.code().http_status(),
            if expected == ErrorCode::IntrospectionFailed {
                503
            } else {
                401
            },
            "{name}"
        );
    }
    // No answer at all is not kept: the next request asks again.
    server.set("/introspect", Behaviour::status(500, "oops"));
    let before = server.count("/introspect");
    let _ = v.verify("opaque-retry");
    let _ = v.verify("opaque-retry");
    assert_eq!(server.count("/introspect") - before, 2);
    // A refusal is kept briefly.
    server.set("/introspect", Behaviour::json(r#"{"active":false}"#));
    let before = server.count("/introspect");
    let _ = v.verify("opaque-inactive");
    let _ = v.verify("opaque-inactive");
    assert_eq!(server.count("/introspect") - before, 1);
}

#[test]
fn concurrent_requests_with_one_token_share_one_call() {
    let server = FaultServer::start();
    let body = answer(&server, json!({})).to_string();
    server.set(
        "/introspect",
        Behaviour::SlowBody {
            body: body.into_bytes().into(),
            delay: Duration::from_micros(1500),
        },
    );
    let v = builder(&server)
        .fetch_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (v, barrier) = (v.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                v.verify("shared-token")
                    .map(|c| c.client_id().map(str::to_owned))
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap().as_deref(), Some("app-1"));
    }
    assert_eq!(server.count("/introspect"), 1);
}

#[test]
fn calls_beyond_the_concurrency_bound_are_refused_not_queued() {
    let server = FaultServer::start();
    let body = answer(&server, json!({})).to_string();
    server.set(
        "/introspect",
        Behaviour::SlowBody {
            body: body.into_bytes().into(),
            delay: Duration::from_millis(2),
        },
    );
    let v = builder(&server)
        .fetch_timeout(Duration::from_secs(5))
        .introspection_max_concurrent(1)
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (v, barrier) = (v.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                v.verify(&format!("token-{i}"))
                    .map(|_| ())
                    .map_err(|e| e.code())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(results.iter().any(|r| r.is_ok()), "{results:?}");
    assert!(
        results.contains(&Err(ErrorCode::IntrospectionFailed)),
        "{results:?}"
    );
}

#[test]
fn the_nonblocking_path_hands_the_call_to_a_thread() {
    let server = FaultServer::start();
    server.set(
        "/introspect",
        Behaviour::json(answer(&server, json!({})).to_string()),
    );
    let v = builder(&server).build().unwrap();
    assert!(v.verify_nonblocking("bg-token").is_none());
    assert!(fault_server::eventually(Duration::from_secs(5), || {
        matches!(v.verify_cached("bg-token"), Some(Ok(_)))
    }));
    assert!(matches!(v.verify_nonblocking("bg-token"), Some(Ok(_))));
    assert_eq!(server.count("/introspect"), 1);
}

#[test]
fn the_endpoint_is_discovered_from_the_issuer() {
    let server = FaultServer::start();
    let mut doc: serde_json::Value = serde_json::from_str(&fault_server::discovery_doc(
        &server.base(),
        &server.url("/jwks"),
    ))
    .unwrap();
    doc["introspection_endpoint"] = json!(server.url("/introspect"));
    server.set(
        "/.well-known/openid-configuration",
        Behaviour::json(doc.to_string()),
    );
    server.set("/jwks", Behaviour::json(r#"{"keys":[]}"#));
    server.set(
        "/introspect",
        Behaviour::json(answer(&server, json!({})).to_string()),
    );
    let v = Verifier::builder()
        .issuer(server.base())
        .audience(AUD)
        .introspection("mcp-server", "s3cret")
        .build()
        .unwrap();
    assert_eq!(
        v.verify("opaque").unwrap().kind(),
        CredentialKind::Introspected
    );
}

#[test]
fn introspection_options_are_checked() {
    let server = FaultServer::start();
    let bad: Vec<(&str, VerifierBuilder)> = vec![
        (
            "ttl over an hour",
            builder(&server).introspection_cache_ttl(Duration::from_secs(3601)),
        ),
        (
            "no concurrency",
            builder(&server).introspection_max_concurrent(0),
        ),
        (
            "huge cache",
            builder(&server).introspection_cache_size(1 << 20),
        ),
        (
            "option without introspection",
            Verifier::builder()
                .issuer(server.base())
                .audience(AUD)
                .introspection_cache_size(10),
        ),
        (
            "blank client",
            Verifier::builder()
                .issuer(server.base())
                .audience(AUD)
                .introspection(" ", "x"),
        ),
        (
            "plain http off loopback",
            builder(&server).introspection_endpoint("http://idp.example/introspect"),
        ),
    ];
    for (name, b) in bad {
        assert_eq!(
            b.build().unwrap_err().code(),
            ErrorCode::ConfigInvalid,
            "{name}"
        );
    }
}
