//! `jwtgate serve` behind real reverse proxies, end to end: nginx (`auth_request`) and Caddy
//! (`forward_auth`) started from the recipes in `deploy/`, the real identity provider
//! (tests/idp), an unauthenticated rmcp streamable-HTTP server as the upstream, and the rmcp
//! client driving initialize, tools/list and tools/call through the proxy.
//!
//! Needs nginx, caddy and redis-server (Debian packages of those names). Without them the tests
//! fail under CI=true and are skipped, loudly, elsewhere.

mod common;
#[path = "../../core/tests/common/idp.rs"]
mod idp;
#[path = "common/proxies.rs"]
mod proxies;

use std::sync::Arc;

use jwtgate::Algorithm;
use jwtgate::sign::SigningKey;
use proxies::{Credential, Process, Response};
use serde_json::{Value, json};

/// The API key the configuration names (through an environment variable, as a secret should).
const API_KEY: &str = "proxy-test-key-5b1f0c9e7d2a4e68b3c1";
const API_KEY_ENV: &str = "PROXY_TEST_API_KEY";

#[derive(Clone, Copy, Debug)]
enum Proxy {
    Nginx,
    Caddy,
}

/// Rate limits of one `jwtgate serve`.
struct Limits {
    rps: f64,
    burst: u32,
    failed_burst: u32,
    redis_url: Option<String>,
}

/// One proxy in front of one `jwtgate serve` in front of the upstream.
struct Gateway {
    proxy: Process,
    serve: Process,
}

impl Gateway {
    /// `http://127.0.0.1:PORT/mcp` through the proxy: the public URL, the tokens' audience.
    fn url(&self) -> String {
        format!("{}/mcp", self.proxy.base_url())
    }

    fn port(&self) -> u16 {
        self.proxy.port
    }

    /// The logs of the proxy and of jwtgate serve, for assertion messages.
    fn logs(&self) -> String {
        format!(
            "--- {} log\n{}\n--- jwtgate serve log\n{}",
            self.proxy.name,
            self.proxy.log_text(),
            self.serve.log_text()
        )
    }
}

/// The configuration of `jwtgate serve` for a proxy on `proxy_port`.
fn serve_config(serve_port: u16, proxy_port: u16, issuer: &str, limits: &Limits) -> String {
    let public_url = format!("http://127.0.0.1:{proxy_port}/mcp");
    let redis = limits
        .redis_url
        .as_ref()
        .map(|url| format!("redis_url = \"{url}\"\n"))
        .unwrap_or_default();
    format!(
        r#"listen = "127.0.0.1:{serve_port}"
public_url = "{public_url}"
trusted_proxies = ["127.0.0.1/32"]
log = "json"

[verifier]
issuer = "{issuer}"
audience = ["{public_url}"]
dpop = "allowed"
api_keys = [{{ client_id = "ci-bot", secret_env = "{API_KEY_ENV}", scopes = ["tools:call"] }}]

[rate_limit]
rps = {rps}
burst = {burst}
failed_rps = {rps}
failed_burst = {failed_burst}
{redis}
[[routes]]
exact = "/mcp"
scopes = ["tools:call"]
"#,
        rps = limits.rps,
        burst = limits.burst,
        failed_burst = limits.failed_burst,
    )
}

/// Starts `jwtgate serve` and the proxy (on `proxy_port`) in front of the upstream. The public
/// URL (the tokens' audience, DPoP's htu) is the one behind `public_port`: `proxy_port` itself,
/// or another replica's, as behind one load balancer.
fn gateway(
    proxy: Proxy,
    dir: &std::path::Path,
    proxy_port: u16,
    public_port: u16,
    upstream_port: u16,
    issuer: &str,
    limits: &Limits,
) -> Gateway {
    let serve_port = proxies::free_port();
    let config = serve_config(serve_port, public_port, issuer, limits);
    let serve = proxies::start_serve(
        &dir.join("serve"),
        serve_port,
        &config,
        &[(API_KEY_ENV, API_KEY)],
    );
    let jwtgate = format!("127.0.0.1:{serve_port}");
    let upstream = format!("127.0.0.1:{upstream_port}");
    let proxy = match proxy {
        Proxy::Nginx => proxies::start_nginx(&dir.join("nginx"), proxy_port, &jwtgate, &upstream),
        Proxy::Caddy => proxies::start_caddy(&dir.join("caddy"), proxy_port, &jwtgate, &upstream),
    };
    Gateway { proxy, serve }
}

/// The identity provider, its tokens' audience the URL behind `proxy_port`.
fn idp_for(proxy_port: u16) -> idp::Idp {
    idp::start(&idp::IdpOptions {
        resource: format!("http://127.0.0.1:{proxy_port}/mcp"),
        keys: vec!["RS256", "PS256", "ES256", "EdDSA", "ES384", "RS384"],
        ..Default::default()
    })
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The challenge of a refusal: exactly one WWW-Authenticate, with the metadata URL of RFC 9728 §5.1.
fn challenge<'a>(response: &'a Response, gateway: &Gateway) -> &'a str {
    let value = response
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("no WWW-Authenticate: {response:?}\n{}", gateway.logs()));
    let metadata = format!(
        "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
        gateway.proxy.base_url()
    );
    assert!(value.contains(&metadata), "{value}");
    value
}

/// Every case through one proxy. Each token comes from its own IdP client, so each has its own
/// rate-limit bucket (keyed by client id); the failed-credential cases share one (127.0.0.1).
fn end_to_end(proxy: Proxy) {
    let test = format!("{proxy:?} end to end");
    if !proxies::require_programs(&test, &[proxy_program(proxy)]) {
        return;
    }
    let dir = common::temp_dir(&format!("proxies-{proxy:?}"));
    let runtime = proxies::runtime();
    let upstream = proxies::start_upstream(&runtime);
    let upstream_port = upstream.addr.port();
    let proxy_port = proxies::free_port();
    let idp = idp_for(proxy_port);
    let limits = Limits {
        rps: 1.0,
        burst: 40,
        failed_burst: 30,
        redis_url: None,
    };
    let gw = gateway(
        proxy,
        dir.path(),
        proxy_port,
        proxy_port,
        upstream_port,
        &idp.issuer,
        &limits,
    );
    let url = gw.url();
    let port = gw.port();

    // A valid token: the whole MCP session; the upstream sees the identity jwtgate verified
    // (forged identity headers replaced) and not the token.
    let token = idp.token("RS256", Some("tools:call read"));
    let session = proxies::mcp_session(
        &runtime,
        &url,
        Credential::Bearer(token.clone()),
        &[("X-Auth-Subject", "admin"), ("X-Auth-Scopes", "admin")],
    )
    .unwrap_or_else(|e| panic!("valid token: {e}\n{}", gw.logs()));
    assert_eq!(session.tools, ["add", "echo", "whoami"]);
    let who = &session.whoami;
    assert_eq!(who["x-auth-client-id"], "client-rs256", "{who}");
    assert_ne!(who["x-auth-subject"], "admin", "{who}");
    assert!(who["x-auth-subject"].is_string(), "{who}");
    assert_eq!(who["x-auth-issuer"], json!(idp.issuer), "{who}");
    let scopes = who["x-auth-scopes"].as_str().unwrap_or_default();
    assert!(scopes.split(' ').any(|s| s == "tools:call"), "{who}");
    assert!(!scopes.split(' ').any(|s| s == "admin"), "{who}");
    assert_eq!(
        who["authorization"],
        Value::Null,
        "the token reached the upstream: {who}"
    );

    // No credential: 401 with the challenge, and the metadata it names is served through the
    // proxy (RFC 9728 §3, path-aware).
    let none = proxies::post_initialize(port, "/mcp", &[]);
    assert_eq!(none.status, 401, "{none:?}\n{}", gw.logs());
    let value = challenge(&none, &gw);
    assert!(
        value.starts_with("Bearer") || value.starts_with("DPoP"),
        "{value}"
    );
    let metadata = proxies::http(
        port,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        &[],
        "",
    );
    assert_eq!(metadata.status, 200, "{metadata:?}\n{}", gw.logs());
    let document: Value = serde_json::from_str(&metadata.body).expect("metadata JSON");
    assert_eq!(document["resource"], json!(url), "{document}");
    assert!(
        document["authorization_servers"]
            .as_array()
            .is_some_and(|a| a.contains(&json!(idp.issuer))),
        "{document}"
    );
    let refused = proxies::mcp_session(&runtime, &url, Credential::None, &[]).unwrap_err();
    assert!(refused.contains("resource_metadata"), "{refused}");

    // Expired.
    let now = jwtgate::now_unix();
    let expired = idp.sign(
        "ES256",
        &json!({"iss": idp.issuer, "sub": "client-es256", "client_id": "client-es256",
               "aud": url, "scope": "tools:call", "iat": now - 1200, "exp": now - 600,
               "jti": "expired-1"}),
    );
    let response = proxies::post_initialize(port, "/mcp", &[("Authorization", &bearer(&expired))]);
    assert_eq!(response.status, 401, "{response:?}\n{}", gw.logs());
    assert!(
        challenge(&response, &gw).contains("invalid_token"),
        "{response:?}"
    );
    let refused =
        proxies::mcp_session(&runtime, &url, Credential::Bearer(expired), &[]).unwrap_err();
    assert!(refused.contains("invalid_token"), "{refused}");

    // Wrong audience: the same IdP's token for another resource (RFC 8707 indicator).
    let wrong_aud = idp.token_for(
        "PS256",
        "http://127.0.0.1:9/another-server",
        Some("tools:call"),
    );
    let response =
        proxies::post_initialize(port, "/mcp", &[("Authorization", &bearer(&wrong_aud))]);
    assert_eq!(response.status, 401, "{response:?}\n{}", gw.logs());
    assert!(
        challenge(&response, &gw).contains("invalid_token"),
        "{response:?}"
    );

    // Missing scope: /mcp requires tools:call.
    let read_only = idp.token("EdDSA", Some("read"));
    let response =
        proxies::post_initialize(port, "/mcp", &[("Authorization", &bearer(&read_only))]);
    assert_eq!(response.status, 403, "{response:?}\n{}", gw.logs());
    let value = challenge(&response, &gw);
    assert!(value.contains("insufficient_scope"), "{value}");
    assert!(value.contains("tools:call"), "{value}");
    let refused =
        proxies::mcp_session(&runtime, &url, Credential::Bearer(read_only), &[]).unwrap_err();
    assert!(refused.contains("insufficient_scope"), "{refused}");

    // An API key in X-API-Key: the whole session, as the key's client; the key not passed on.
    let session = proxies::mcp_session(&runtime, &url, Credential::ApiKey(API_KEY.into()), &[])
        .unwrap_or_else(|e| panic!("API key: {e}\n{}", gw.logs()));
    assert_eq!(
        session.whoami["x-auth-client-id"], "ci-bot",
        "{}",
        session.whoami
    );
    assert_eq!(
        session.whoami["x-api-key"],
        Value::Null,
        "{}",
        session.whoami
    );
    let response = proxies::post_initialize(port, "/mcp", &[("X-API-Key", "not-the-key")]);
    assert_eq!(response.status, 401, "{response:?}\n{}", gw.logs());

    // A DPoP-bound token: with a fresh proof per request the session works (htu is the public
    // URL through the proxy); without a proof, or as a bearer token, it is refused.
    let key = Arc::new(SigningKey::generate(Algorithm::ES256, "client-proof-key").unwrap());
    let bound = idp.dpop_token("ES384", &key, "tools:call read");
    let session = proxies::mcp_session(
        &runtime,
        &url,
        Credential::Dpop {
            token: bound.clone(),
            key: Arc::clone(&key),
        },
        &[],
    )
    .unwrap_or_else(|e| panic!("DPoP with proofs: {e}\n{}", gw.logs()));
    assert_eq!(
        session.whoami["x-auth-client-id"], "client-es384",
        "{}",
        session.whoami
    );
    assert_eq!(session.whoami["dpop"], Value::Null, "{}", session.whoami);
    let response =
        proxies::post_initialize(port, "/mcp", &[("Authorization", &format!("DPoP {bound}"))]);
    assert_eq!(response.status, 401, "{response:?}\n{}", gw.logs());
    assert!(
        response.header("www-authenticate").is_some(),
        "{response:?}"
    );
    let refused = proxies::mcp_session(
        &runtime,
        &url,
        Credential::DpopWithoutProof(bound.clone()),
        &[],
    )
    .unwrap_err();
    assert!(refused.contains("invalid_dpop_proof"), "{refused}");
    let response = proxies::post_initialize(port, "/mcp", &[("Authorization", &bearer(&bound))]);
    assert_eq!(response.status, 401, "{response:?}\n{}", gw.logs());

    // A burst over the client's rate limit: 429 with Retry-After, through the proxy.
    let token = idp.token("ES256", Some("tools:call"));
    let limited = burst_until_429(port, &[("Authorization", &bearer(&token))], 100)
        .unwrap_or_else(|| panic!("no 429 in 100 requests\n{}", gw.logs()));
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("429 without a Retry-After in seconds: {limited:?}"));
    assert!(retry_after >= 1, "{limited:?}");
    // Another client is not affected.
    let session = proxies::mcp_session(
        &runtime,
        &url,
        Credential::Bearer(idp.token("RS384", Some("tools:call"))),
        &[],
    );
    assert!(session.is_ok(), "{session:?}\n{}", gw.logs());

    // Guessing API keys: the failed-credential limit of the client address answers 429.
    let limited = burst_until_429(port, &[("X-API-Key", "guess")], 80)
        .unwrap_or_else(|| panic!("no 429 for failed attempts in 80 requests\n{}", gw.logs()));
    assert!(limited.header("retry-after").is_some(), "{limited:?}");
}

/// POSTs initialize with `headers` up to `max` times; the first 429.
fn burst_until_429(port: u16, headers: &[(&str, &str)], max: usize) -> Option<Response> {
    (0..max)
        .map(|_| proxies::post_initialize(port, "/mcp", headers))
        .find(|r| r.status == 429)
}

fn proxy_program(proxy: Proxy) -> &'static str {
    match proxy {
        Proxy::Nginx => "nginx",
        Proxy::Caddy => "caddy",
    }
}

#[test]
fn nginx_in_front_of_an_mcp_server() {
    end_to_end(Proxy::Nginx);
}

#[test]
fn caddy_in_front_of_an_mcp_server() {
    end_to_end(Proxy::Caddy);
}

/// Two replicas of `jwtgate serve` (one behind nginx, one behind Caddy) share their rate
/// limits in one redis-server: a client's burst is one budget across both.
#[test]
fn replicas_behind_nginx_and_caddy_share_one_redis_budget() {
    let test = "replicas sharing redis";
    if !proxies::require_programs(test, &["nginx", "caddy", "redis-server"]) {
        return;
    }
    let dir = common::temp_dir("proxies-redis");
    let redis = proxies::start_redis(&dir.path().join("redis"));
    let runtime = proxies::runtime();
    let upstream = proxies::start_upstream(&runtime);
    let upstream_port = upstream.addr.port();
    // One public URL for both replicas (as behind one load balancer): the nginx one. Caddy's
    // requests are checked against the same audience; its DPoP htu is not exercised here.
    let nginx_port = proxies::free_port();
    let caddy_port = proxies::free_port();
    let idp = idp_for(nginx_port);
    let limits = Limits {
        rps: 0.2,
        burst: 10,
        failed_burst: 10,
        redis_url: Some(format!("redis://127.0.0.1:{}/", redis.port)),
    };
    let nginx = gateway(
        Proxy::Nginx,
        &dir.path().join("a"),
        nginx_port,
        nginx_port,
        upstream_port,
        &idp.issuer,
        &limits,
    );
    let caddy = gateway(
        Proxy::Caddy,
        &dir.path().join("b"),
        caddy_port,
        nginx_port,
        upstream_port,
        &idp.issuer,
        &limits,
    );

    let token = idp.token("RS256", Some("tools:call"));
    let auth = bearer(&token);
    let headers = [("Authorization", auth.as_str())];
    // Alternate between the replicas: with a burst of 10 per client, a 429 must come within
    // about 10 requests in all, not 20 (10 per replica) as with local buckets.
    let mut statuses = Vec::new();
    for i in 0..16 {
        let port = if i % 2 == 0 {
            nginx.port()
        } else {
            caddy.port()
        };
        let response = proxies::post_initialize(port, "/mcp", &headers);
        statuses.push(response.status);
        if response.status == 429 {
            assert!(response.header("retry-after").is_some(), "{response:?}");
            break;
        }
    }
    let allowed = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(
        statuses.last(),
        Some(&429),
        "statuses {statuses:?}\n{}\n{}",
        nginx.logs(),
        caddy.logs()
    );
    assert!(allowed <= 12, "statuses {statuses:?}");
    drop(redis);
}
