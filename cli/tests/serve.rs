//! `jwtgate serve` as a process: the decision endpoint over real HTTP in each proxy's header
//! dialect (nginx `auth_request`, Caddy/Traefik forward auth, Envoy `ext_authz`) against the real
//! identity provider (tests/idp), DPoP-bound tokens with and without proofs, API keys, the rate
//! limits (per client, failed attempts per address, trusted and untrusted proxies, shared through
//! a real `redis-server`, and Redis down), `/health`, `/metrics`, metadata, `--check`, bad
//! configurations and SIGTERM.
//!
//! Rate limits here refill at one token per 100 s or slower, so that no test depends on timing.

mod common;
#[path = "../../core/tests/common/idp.rs"]
mod idp;
#[path = "common/proxies.rs"]
mod proxies;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{TempDir, jwtgate, temp_dir};
use idp::{Idp, IdpOptions};
use jwtgate::Algorithm;
use jwtgate::sign::SigningKey;
use serde_json::{Value, json};

const PUBLIC_URL: &str = "https://mcp.test/mcp";
const AUDIENCE: &str = "https://mcp.test/";
const API_KEY: &str = "serve-test-api-key-0c3d9a1e77b54f2e";

// ---------------------------------------------------------------------------------------------
// A running `jwtgate serve`

struct Serve {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    /// Starts `jwtgate serve --config <file>` with exactly these `MCP_*` variables.
    fn start(dir: &TempDir, name: &str, config: &str, env: &[(&str, &str)]) -> Serve {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, config).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_jwtgate"));
        command
            .args(["serve", "--config"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars() {
            if key.starts_with("MCP_") {
                command.env_remove(key);
            }
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("jwtgate serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["msg"] == "listening"
                {
                    let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_string());
                }
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("jwtgate serve did not start:\n{}", stderr.lock().unwrap());
            }
        };
        Serve {
            child,
            addr,
            stderr,
        }
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The log once it contains `needle` (or after 10 s): lines reach stderr through the
    /// service's writer thread, a moment after the answer they describe.
    fn log_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) || std::time::Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn get(&self, path: &str) -> Reply {
        http(&self.addr, "GET", path, &[])
    }

    /// A decision in the nginx dialect (`X-Original-Method` / `X-Original-URI`).
    fn nginx(&self, method: &str, uri: &str, extra: &[(&str, &str)]) -> Reply {
        let mut headers = vec![("X-Original-Method", method), ("X-Original-URI", uri)];
        headers.extend_from_slice(extra);
        http(&self.addr, "GET", "/auth/nginx", &headers)
    }

    /// A decision in the Caddy / Traefik dialect (`X-Forwarded-Method` / `X-Forwarded-Uri`).
    fn caddy(&self, method: &str, uri: &str, extra: &[(&str, &str)]) -> Reply {
        self.caddy_at("mcp.test", method, uri, extra)
    }

    /// The same, for a request that reached the proxy at `https://<host>` (`X-Forwarded-Host`).
    fn caddy_at(&self, host: &str, method: &str, uri: &str, extra: &[(&str, &str)]) -> Reply {
        let mut headers = vec![
            ("X-Forwarded-Method", method),
            ("X-Forwarded-Uri", uri),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", host),
        ];
        headers.extend_from_slice(extra);
        http(&self.addr, "GET", "/auth", &headers)
    }

    /// A decision in the Envoy dialect: the original method, the original path after the prefix.
    fn envoy(&self, method: &str, uri: &str, extra: &[(&str, &str)]) -> Reply {
        http(&self.addr, method, &format!("/ext_authz{uri}"), extra)
    }

    fn metric(&self, line_start: &str) -> f64 {
        let text = self.get("/metrics").body;
        text.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in\n{text}"))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }
}

fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        idp::dechunk(rest).unwrap()
    } else {
        rest.to_vec()
    };
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

fn start_idp() -> Idp {
    idp::start(&IdpOptions {
        scopes: "tools:call read admin".into(),
        ..IdpOptions::default()
    })
}

fn env_for(idp: &Idp) -> Vec<(&'static str, String)> {
    vec![
        ("MCP_OAUTH_ISSUER", idp.issuer.clone()),
        ("MCP_OIDC_AUDIENCE", AUDIENCE.to_string()),
        ("MCP_API_KEY", API_KEY.to_string()),
    ]
}

fn refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn now() -> u64 {
    jwtgate::now_unix()
}

const ROUTES: &str = r#"
[[routes]]
exact = "/mcp"
methods = ["POST"]
scopes = ["tools:call"]

[[routes]]
prefix = "/admin"
scopes = ["admin"]

[[routes]]
prefix = "/public"
public = true
"#;

fn config(extra: &str) -> String {
    format!("listen = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\n{extra}\n{ROUTES}")
}

// ---------------------------------------------------------------------------------------------
// Decisions

#[test]
fn decisions_in_every_proxy_dialect_against_the_real_identity_provider() {
    let idp = start_idp();
    let dir = temp_dir("serve-dialects");
    let env = env_for(&idp);
    let serve = Serve::start(
        &dir,
        "serve",
        &config("[rate_limit]\nenabled = false"),
        &refs(&env),
    );

    let full = idp.token("ES256", Some("tools:call read"));
    let read_only = idp.token("RS256", Some("read"));
    let bearer_full = format!("Bearer {full}");
    let bearer_read = format!("Bearer {read_only}");

    // A valid token with the route's scope, in each dialect: 200 and the identity headers.
    for reply in [
        serve.nginx("POST", "/mcp", &[("Authorization", &bearer_full)]),
        serve.caddy("POST", "/mcp", &[("Authorization", &bearer_full)]),
        serve.envoy("POST", "/mcp", &[("Authorization", &bearer_full)]),
    ] {
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.header("x-auth-client-id"), Some("client-es256"));
        assert_eq!(reply.header("x-auth-scopes"), Some("tools:call read"));
        assert_eq!(reply.header("x-auth-issuer"), Some(idp.issuer.as_str()));
        assert!(reply.header("x-auth-subject").is_some(), "{reply:?}");
        assert_eq!(reply.header("x-auth-status"), Some("200"));
    }

    // Missing scope for the route: 403 with the core's challenge naming it, in every dialect;
    // the same token on a method the route does not cover passes.
    for reply in [
        serve.nginx("POST", "/mcp", &[("Authorization", &bearer_read)]),
        serve.caddy("POST", "/mcp", &[("Authorization", &bearer_read)]),
        serve.envoy("POST", "/mcp", &[("Authorization", &bearer_read)]),
    ] {
        assert_eq!(reply.status, 403, "{reply:?}");
        let challenge = reply.header("www-authenticate").unwrap();
        assert!(challenge.contains("insufficient_scope"), "{challenge}");
        assert!(challenge.contains("tools:call"), "{challenge}");
        assert_eq!(reply.code(), "insufficient_scope");
    }
    assert_eq!(
        serve
            .nginx("GET", "/mcp", &[("Authorization", &bearer_read)])
            .status,
        200
    );
    // A prefix route's scope, behind dot segments too.
    let admin = serve.caddy(
        "GET",
        "/public/../admin/users",
        &[("Authorization", &bearer_full)],
    );
    assert_eq!(admin.status, 403, "{admin:?}");
    let admin_token = format!("Bearer {}", idp.token("ES256", Some("admin")));
    assert_eq!(
        serve
            .caddy("GET", "/admin/users", &[("Authorization", &admin_token)])
            .status,
        200
    );

    // No credential: 401 pointing at the metadata (RFC 9728 §5.1); public routes need none.
    let none = serve.nginx("POST", "/mcp", &[]);
    assert_eq!(none.status, 401);
    let challenge = none.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(
            "resource_metadata=\"https://mcp.test/.well-known/oauth-protected-resource/mcp\""
        ),
        "{challenge}"
    );
    let public = serve.envoy("GET", "/public/logo.png", &[]);
    assert_eq!(public.status, 200, "{public:?}");
    assert_eq!(public.header("x-auth-subject"), Some(""));

    // Expired and wrong-audience tokens, signed by the IdP's trusted key.
    let base = json!({
        "iss": idp.issuer, "aud": AUDIENCE, "client_id": "client-es256",
        "scope": "tools:call", "iat": now() - 60, "exp": now() + 300,
    });
    let mut expired = base.clone();
    expired["iat"] = json!(now() - 900);
    expired["exp"] = json!(now() - 600);
    let mut wrong_aud = base.clone();
    wrong_aud["aud"] = json!("https://other.test/");
    for (claims, code) in [(expired, "token_expired"), (wrong_aud, "audience_mismatch")] {
        let auth = format!("Bearer {}", idp.sign("ES256", &claims));
        for reply in [
            serve.nginx("POST", "/mcp", &[("Authorization", &auth)]),
            serve.caddy("POST", "/mcp", &[("Authorization", &auth)]),
            serve.envoy("POST", "/mcp", &[("Authorization", &auth)]),
        ] {
            assert_eq!(reply.status, 401, "{reply:?}");
            assert_eq!(reply.code(), code);
            assert!(
                reply
                    .header("www-authenticate")
                    .unwrap()
                    .contains("invalid_token")
            );
        }
    }
    // The control: the same claims, valid.
    let good = format!("Bearer {}", idp.sign("ES256", &base));
    assert_eq!(
        serve
            .nginx("POST", "/mcp", &[("Authorization", &good)])
            .status,
        200
    );

    // API keys in X-API-Key: the static token's id as the client; a wrong key is refused.
    let key = serve.caddy("GET", "/tools", &[("X-API-Key", API_KEY)]);
    assert_eq!(key.status, 200, "{key:?}");
    assert_eq!(key.header("x-auth-client-id"), Some("api-key"));
    // The route's scopes apply to API keys too: MCP_API_KEY carries only MCP_OIDC_REQUIRED_SCOPES.
    let key = serve.caddy("POST", "/mcp", &[("X-API-Key", API_KEY)]);
    assert_eq!(key.status, 403, "{key:?}");
    let wrong = serve.caddy("GET", "/tools", &[("X-API-Key", "not-the-key")]);
    assert_eq!(wrong.status, 401, "{wrong:?}");

    // The original request is required; a proxy that sends none gets a 400 (nginx mode: 403
    // with the true status in X-Auth-Status, since auth_request passes only 2xx/401/403).
    let bare = http(&serve.addr, "GET", "/auth", &[]);
    assert_eq!(bare.status, 400, "{bare:?}");
    let bare = http(&serve.addr, "GET", "/auth/nginx", &[]);
    assert_eq!(bare.status, 403);
    assert_eq!(bare.header("x-auth-status"), Some("400"));

    // The metadata document, path-aware.
    let metadata = serve.get("/.well-known/oauth-protected-resource/mcp");
    assert_eq!(metadata.status, 200, "{metadata:?}");
    assert_eq!(metadata.json()["resource"], PUBLIC_URL);
    assert_eq!(metadata.json()["authorization_servers"][0], idp.issuer);

    // One log line per decision, without any credential in it.
    let log = serve.log_with("\"msg\":\"decision\"");
    assert!(log.contains("\"msg\":\"decision\""), "{log}");
    for secret in [full.as_str(), read_only.as_str(), API_KEY] {
        assert!(!log.contains(secret), "a credential in the log:\n{log}");
    }
}

#[test]
fn dpop_bound_tokens_need_their_proof_for_the_public_origin() {
    let idp = start_idp();
    let dir = temp_dir("serve-dpop");
    let env = env_for(&idp);
    let cfg = config(
        "public_origins = [\"https://alt.mcp.test\"]\ntrusted_proxies = [\"127.0.0.1\"]\n[rate_limit]\nenabled = false",
    );
    let serve = Serve::start(&dir, "serve", &cfg, &refs(&env));
    let key = SigningKey::generate(Algorithm::ES256, "client").unwrap();
    let token = idp.dpop_token("ES256", &key, "tools:call");
    let auth = format!("DPoP {token}");

    // With a proof for the public URL: accepted, in each dialect.
    for dialect in 0..3 {
        let proof = key
            .dpop_proof("POST", PUBLIC_URL, Some(&token), None)
            .unwrap();
        let headers = [("Authorization", auth.as_str()), ("DPoP", proof.as_str())];
        let reply = match dialect {
            0 => serve.nginx("POST", "/mcp", &headers),
            1 => serve.caddy("POST", "/mcp", &headers),
            _ => serve.envoy("POST", "/mcp", &headers),
        };
        assert_eq!(reply.status, 200, "dialect {dialect}: {reply:?}");
    }
    // Without a proof, or as a Bearer token: refused.
    let no_proof = serve.nginx("POST", "/mcp", &[("Authorization", &auth)]);
    assert_eq!(no_proof.status, 401, "{no_proof:?}");
    assert_eq!(no_proof.code(), "dpop_proof_missing");
    let bearer = format!("Bearer {token}");
    let as_bearer = serve.nginx("POST", "/mcp", &[("Authorization", &bearer)]);
    assert_eq!(as_bearer.status, 401);
    // A proof for another method (htm) is refused.
    let proof = key
        .dpop_proof("GET", PUBLIC_URL, Some(&token), None)
        .unwrap();
    let wrong_htm = serve.nginx(
        "POST",
        "/mcp",
        &[("Authorization", &auth), ("DPoP", &proof)],
    );
    assert_eq!(wrong_htm.status, 401, "{wrong_htm:?}");

    // A POST of /mcp that reached the proxy at https://<host>, with a proof for that URL.
    let proved_at = |serve: &Serve, host: &str| {
        let htu = format!("https://{host}/mcp");
        let proof = key.dpop_proof("POST", &htu, Some(&token), None).unwrap();
        let headers = [("Authorization", auth.as_str()), ("DPoP", proof.as_str())];
        serve.caddy_at(host, "POST", "/mcp", &headers)
    };
    // A listed second origin, forwarded by the trusted proxy: its proofs are accepted there.
    let reply = proved_at(&serve, "alt.mcp.test");
    assert_eq!(reply.status, 200, "{reply:?}");
    // A host the client chose is not believed: the proof for it fails against the public URL.
    let reply = proved_at(&serve, "evil.example");
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(reply.code(), "dpop_proof_invalid", "{reply:?}");
    drop(serve);

    // The same listed origin from an untrusted peer: the public URL's origin is used instead.
    let cfg = config(
        "public_origins = [\"https://alt.mcp.test\"]\ntrusted_proxies = [\"10.0.0.0/8\"]\n[rate_limit]\nenabled = false",
    );
    let serve = Serve::start(&dir, "untrusted", &cfg, &refs(&env));
    let reply = proved_at(&serve, "alt.mcp.test");
    assert_eq!(reply.status, 401, "{reply:?}");
}

#[test]
fn the_dpop_nonce_handshake_is_not_a_failed_attempt() {
    let idp = start_idp();
    let dir = temp_dir("serve-nonce");
    let cfg = format!(
        "listen = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\n[rate_limit]\nrps = 0.01\nburst = 10\nfailed_rps = 0.001\nfailed_burst = 2\n[verifier]\nissuer = \"{}\"\naudience = [\"{AUDIENCE}\"]\ndpop = \"required\"\ndpop_nonce = true\n",
        idp.issuer
    );
    let serve = Serve::start(&dir, "serve", &cfg, &[]);
    let key = SigningKey::generate(Algorithm::ES256, "client").unwrap();
    let token = idp.dpop_token("ES256", &key, "read");
    let auth = format!("DPoP {token}");
    // Three first proofs without a nonce: each refused with a fresh nonce (RFC 9449 §8).
    let mut nonce = String::new();
    for _ in 0..3 {
        let proof = key
            .dpop_proof("GET", PUBLIC_URL, Some(&token), None)
            .unwrap();
        let reply = serve.envoy("GET", "/mcp", &[("Authorization", &auth), ("DPoP", &proof)]);
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(reply.code(), "dpop_nonce_required");
        nonce = reply
            .header("dpop-nonce")
            .expect("a DPoP-Nonce")
            .to_string();
    }
    // More than the failed-attempt burst, yet the client is not locked out.
    let proof = key
        .dpop_proof("GET", PUBLIC_URL, Some(&token), Some(&nonce))
        .unwrap();
    let reply = serve.envoy("GET", "/mcp", &[("Authorization", &auth), ("DPoP", &proof)]);
    assert_eq!(reply.status, 200, "{reply:?}");
}

// ---------------------------------------------------------------------------------------------
// Rate limits

/// Limits that never refill during a test: burst 3 per client, 2 failed attempts per address.
const LIMITS: &str = "[rate_limit]\nrps = 0.01\nburst = 3\nfailed_rps = 0.001\nfailed_burst = 2\n";

#[test]
fn a_burst_over_the_limit_is_429_with_retry_after() {
    let dir = temp_dir("serve-burst");
    let cfg = format!(
        "listen = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\n{LIMITS}\n[verifier]\n[[verifier.api_keys]]\nclient_id = \"ci\"\nsecret_env = \"SERVE_TEST_KEY\"\n[[verifier.api_keys]]\nclient_id = \"other\"\nsecret_env = \"SERVE_TEST_KEY2\"\n"
    );
    let serve = Serve::start(
        &dir,
        "serve",
        &cfg,
        &[
            ("SERVE_TEST_KEY", API_KEY),
            ("SERVE_TEST_KEY2", "second-key-for-other-client"),
        ],
    );
    for _ in 0..3 {
        assert_eq!(
            serve.caddy("GET", "/x", &[("X-API-Key", API_KEY)]).status,
            200
        );
    }
    let limited = serve.caddy("GET", "/x", &[("X-API-Key", API_KEY)]);
    assert_eq!(limited.status, 429, "{limited:?}");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1, "{limited:?}");
    assert_eq!(limited.code(), "rate_limited");
    // nginx mode: 403 with the true status and Retry-After for nginx to map back.
    let nginx = serve.nginx("GET", "/x", &[("X-API-Key", API_KEY)]);
    assert_eq!(nginx.status, 403);
    assert_eq!(nginx.header("x-auth-status"), Some("429"));
    assert!(nginx.header("retry-after").is_some());
    // Another client from the same address has its own bucket.
    let other = serve.caddy("GET", "/x", &[("X-API-Key", "second-key-for-other-client")]);
    assert_eq!(other.status, 200, "{other:?}");
    assert_eq!(
        serve.metric("jwtgate_serve_rate_limited_total{limit=\"identity\"}"),
        2.0
    );
    assert_eq!(
        serve.metric("jwtgate_serve_decisions_total{status=\"429\"}"),
        2.0
    );
}

#[test]
fn failed_attempts_lock_out_the_address_behind_trusted_proxies_only() {
    let dir = temp_dir("serve-failed");
    let base = format!(
        "listen = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\n{LIMITS}\n[verifier]\n[[verifier.api_keys]]\nclient_id = \"ci\"\nsecret_env = \"SERVE_TEST_KEY\"\n"
    );
    let env = [("SERVE_TEST_KEY", API_KEY)];

    // Behind a trusted proxy (the test is 127.0.0.1): each X-Forwarded-For client is counted.
    let trusted = Serve::start(
        &dir,
        "trusted",
        &format!("trusted_proxies = [\"127.0.0.0/8\"]\n{base}"),
        &env,
    );
    let from = |addr: &'static str, key: &'static str| {
        trusted.caddy(
            "GET",
            "/x",
            &[("X-API-Key", key), ("X-Forwarded-For", addr)],
        )
    };
    assert_eq!(from("203.0.113.1", "guess-1").status, 401);
    assert_eq!(from("203.0.113.1", "guess-2").status, 401);
    let locked = from("203.0.113.1", "guess-3");
    assert_eq!(locked.status, 429, "{locked:?}");
    assert!(locked.header("retry-after").is_some());
    // Even the right key is refused from that address now: guessing learns nothing.
    assert_eq!(from("203.0.113.1", API_KEY).status, 429);
    // Another client address is unaffected.
    assert_eq!(from("203.0.113.2", API_KEY).status, 200);
    assert_eq!(
        trusted.metric("jwtgate_serve_rate_limited_total{limit=\"failed_attempts\"}"),
        2.0
    );
    drop(trusted);

    // From an untrusted peer, X-Forwarded-For is ignored: every "client" is the peer itself.
    let untrusted = Serve::start(
        &dir,
        "untrusted",
        &format!("trusted_proxies = [\"10.0.0.0/8\"]\n{base}"),
        &env,
    );
    let from = |addr: &'static str, key: &'static str| {
        untrusted.caddy(
            "GET",
            "/x",
            &[("X-API-Key", key), ("X-Forwarded-For", addr)],
        )
    };
    assert_eq!(from("203.0.113.1", "guess-1").status, 401);
    assert_eq!(from("203.0.113.2", "guess-2").status, 401);
    assert_eq!(from("203.0.113.3", API_KEY).status, 429);
    // Missing credentials are not failed attempts (the 401 that starts every OAuth flow).
    let fresh = Serve::start(&dir, "fresh", &base, &env);
    for _ in 0..3 {
        assert_eq!(fresh.caddy("GET", "/x", &[]).status, 401);
    }
    assert_eq!(
        fresh.caddy("GET", "/x", &[("X-API-Key", API_KEY)]).status,
        200
    );
}

fn key_config(extra: &str) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\n{LIMITS}{extra}\n[verifier]\n[[verifier.api_keys]]\nclient_id = \"ci\"\nsecret_env = \"SERVE_TEST_KEY\"\n"
    )
}

#[test]
fn two_serve_processes_share_their_limits_through_redis() {
    if !proxies::require_programs("serve sharing limits through redis", &["redis-server"]) {
        return;
    }
    let dir = temp_dir("serve-redis");
    let redis = proxies::start_redis(&dir.path().join("redis"));
    let cfg = key_config(&format!(
        "redis_url = \"redis://127.0.0.1:{}/0\"\n",
        redis.port
    ));
    let env = [("SERVE_TEST_KEY", API_KEY)];
    let a = Serve::start(&dir, "a", &cfg, &env);
    let b = Serve::start(&dir, "b", &cfg, &env);
    let ask = |s: &Serve| s.caddy("GET", "/x", &[("X-API-Key", API_KEY)]);
    // Burst 3 for the one client, spent across both processes.
    assert_eq!(ask(&a).status, 200);
    assert_eq!(ask(&b).status, 200);
    assert_eq!(ask(&a).status, 200);
    let limited = ask(&b);
    assert_eq!(limited.status, 429, "{limited:?}\n{}", b.log());
    assert!(limited.header("retry-after").is_some());
    assert_eq!(ask(&a).status, 429);
    // Failed attempts too: two on one process lock the address out on the other.
    let guess = |s: &Serve, k: &'static str| s.caddy("GET", "/x", &[("X-API-Key", k)]).status;
    assert_eq!(guess(&a, "guess-1"), 401);
    assert_eq!(guess(&b, "guess-2"), 401);
    assert_eq!(guess(&a, "guess-3"), 429);
    assert_eq!(a.metric("jwtgate_serve_redis_errors_total"), 0.0);
    // Redis restarted empty (a flush, a failover): the script is loaded again, buckets start full.
    drop(redis);
    let redis = proxies::start_redis(&dir.path().join("redis"));
    let cfg = key_config(&format!(
        "redis_url = \"redis://127.0.0.1:{}/0\"\n",
        redis.port
    ));
    let c = Serve::start(&dir, "c", &cfg, &env);
    assert_eq!(ask(&c).status, 200);
}

#[test]
fn with_redis_down_the_limits_fall_back_to_local_buckets() {
    let dir = temp_dir("serve-redis-down");
    // Nothing listens on this port.
    let cfg = key_config(&format!(
        "redis_url = \"redis://127.0.0.1:{}/0\"\n",
        proxies::free_port()
    ));
    let serve = Serve::start(&dir, "serve", &cfg, &[("SERVE_TEST_KEY", API_KEY)]);
    for _ in 0..3 {
        let reply = serve.caddy("GET", "/x", &[("X-API-Key", API_KEY)]);
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    // Fail open to this process's buckets: the limit still holds here.
    assert_eq!(
        serve.caddy("GET", "/x", &[("X-API-Key", API_KEY)]).status,
        429
    );
    assert!(serve.metric("jwtgate_serve_redis_errors_total") >= 1.0);
    let log = serve.log_with("redis rate-limit store failed");
    assert!(log.contains("redis rate-limit store failed"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// Health, metrics, shutdown

#[test]
fn health_metrics_and_a_graceful_sigterm() {
    let idp = start_idp();
    let dir = temp_dir("serve-health");
    let env = env_for(&idp);
    let serve = Serve::start(&dir, "serve", &config(""), &refs(&env));
    // A decision makes sure the keys are loaded before /health is read.
    let token = format!("Bearer {}", idp.token("ES256", Some("tools:call")));
    assert_eq!(
        serve
            .nginx("POST", "/mcp", &[("Authorization", &token)])
            .status,
        200
    );
    let health = serve.get("/health");
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(serve.nginx("POST", "/mcp", &[]).status, 401);
    assert_eq!(
        serve.metric("jwtgate_serve_decisions_total{status=\"200\"}"),
        1.0
    );
    assert_eq!(
        serve.metric("jwtgate_serve_decisions_total{status=\"401\"}"),
        1.0
    );
    assert_eq!(serve.metric("jwtgate_verifier_accepted_total"), 1.0);
    assert_eq!(serve.metric("jwtgate_verifier_keys_ready"), 1.0);
    let metrics = serve.get("/metrics");
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );

    // SIGTERM: a clean exit.
    let mut serve = serve;
    let status = Command::new("kill")
        .args(["-TERM", &serve.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = serve.child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "{}", serve.log());
    assert!(serve.log().contains("shutting down"), "{}", serve.log());

    // An issuer that cannot be reached: 503 with the reason, and decisions answer 503.
    let port = proxies::free_port();
    let dead = [
        ("MCP_OAUTH_ISSUER", format!("http://127.0.0.1:{port}")),
        ("MCP_OIDC_AUDIENCE", AUDIENCE.to_string()),
    ];
    let serve = Serve::start(&dir, "dead", &config(""), &refs(&dead));
    let decision = serve.nginx("GET", "/x", &[("Authorization", &token)]);
    assert_eq!(decision.status, 403, "{decision:?}");
    assert_eq!(decision.header("x-auth-status"), Some("503"));
    let health = serve.get("/health");
    assert_eq!(health.status, 503, "{health:?}");
    assert_eq!(health.json()["status"], "unavailable");
    assert!(
        !health.json()["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// --check and bad configurations

#[test]
fn check_prints_what_would_be_enforced() {
    let dir = temp_dir("serve-check");
    let path = dir.path().join("ok.toml");
    std::fs::write(
        &path,
        config(
            "trusted_proxies = [\"10.0.0.0/8\"]\n[rate_limit]\nrps = 5\nburst = 10\nredis_url = \"redis://:hunter2@127.0.0.1:6379/1\"\n[verifier]\nissuer = \"https://idp.example.com\"\naudience = [\"https://mcp.test/\"]\nrequired_scopes = [\"read\"]\n",
        ),
    )
    .unwrap();
    let run = jwtgate(&["serve", "--check", "--config", path.to_str().unwrap()]);
    run.expect_code(0);
    for expected in [
        "issuer:          https://idp.example.com",
        "audience:        https://mcp.test/",
        "required scopes: read",
        "exact /mcp [POST]: required scopes + tools:call",
        "prefix /admin [any method]: required scopes + admin",
        "prefix /public [any method]: public",
        "5 requests/s per client, burst 10",
        "10.0.0.0/8",
        "redis redis://:***@127.0.0.1:6379/1",
        "configuration OK",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected}\n{}",
            run.describe()
        );
    }
    assert!(!run.stdout.contains("hunter2"));
}

#[test]
fn bad_configurations_are_refused_with_a_clear_error() {
    let dir = temp_dir("serve-bad");
    let verifier = "[verifier]\nissuer = \"https://idp.example.com\"\naudience = [\"x\"]\n";
    let cases: &[(&str, &str)] = &[
        (
            "listen = \"127.0.0.1:0\"\npublic_url = \"https://mcp.test/mcp\"\nlisten_port = 3\n",
            "unknown field",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[rate_limit]\nrps = 0\n",
            "rate_limit.rps",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[rate_limit]\nrps = 1e9\n",
            "rate_limit.rps",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[rate_limit]\nburst = 0\n",
            "rate_limit.burst",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[rate_limit]\nburst = 5\nfailed_burst = 50\n",
            "stricter",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[rate_limit]\nrps = 1\nfailed_rps = 5\n",
            "failed_rps",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[rate_limit]\nmax_keys = 1\n",
            "max_keys",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[rate_limit]\nredis_url = \"http://x\"\n",
            "redis://",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\ntrusted_proxies = [\"10.0.0.1/8\"]\n",
            "host bits",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\ntrusted_proxies = [\"everyone\"]\n",
            "trusted_proxies",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[[routes]]\nprefix = \"/p\"\npublic = true\nscopes = [\"a\"]\n",
            "public route",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[[routes]]\nexact = \"/a\"\nprefix = \"/b\"\n",
            "exactly one",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[headers]\nsubject = \"Authorization\"\n",
            "reserved",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[headers]\nsubject = \"X-A\"\nissuer = \"x-a\"\n",
            "two identity fields",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\npublic_origins = [\"https://a.test/path\"]\n",
            "public_origins",
        ),
        (
            "listen = \"nowhere\"\npublic_url = \"https://mcp.test/mcp\"\n",
            "listen",
        ),
        ("[rate_limit]\nenabled = false\n", "public_url is required"),
        ("public_url = \"ftp://mcp.test/mcp\"\n", "http(s)"),
        (
            "public_url = \"https://mcp.test/mcp\"\nlog = \"xml\"\n",
            "log",
        ),
        (
            "public_url = \"https://mcp.test/mcp\"\n[verifier]\nissuer = \"https://idp.example.com\"\naudience = [\"x\"]\ndpop_nonce_secret_env = \"SERVE_TEST_UNSET_NONCE_SECRET\"\n",
            "SERVE_TEST_UNSET_NONCE_SECRET is not set",
        ),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        let text = if text.contains("[verifier]") {
            text.to_string()
        } else {
            format!("{text}\n{verifier}")
        };
        // The [verifier] section goes last so that it does not swallow the keys above it.
        std::fs::write(&path, &text).unwrap();
        let run = jwtgate(&["serve", "--check", "--config", path.to_str().unwrap()]);
        assert_eq!(run.code, 2, "case {i}:\n{text}\n{}", run.describe());
        assert!(
            run.stderr.to_lowercase().contains(&needle.to_lowercase()),
            "case {i}: expected {needle:?}\n{text}\n{}",
            run.describe()
        );
    }
}

#[test]
fn the_rate_limit_environment_variables_override_the_file() {
    let dir = temp_dir("serve-env");
    let path = dir.path().join("env.toml");
    std::fs::write(
        &path,
        format!("public_url = \"{PUBLIC_URL}\"\n[rate_limit]\nrps = 5\n"),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_jwtgate"))
        .args(["serve", "--check", "--config", path.to_str().unwrap()])
        .env("MCP_API_KEY", API_KEY)
        .env("MCP_RATE_LIMIT_RPS", "2.5")
        .env("MCP_RATE_LIMIT_BURST", "7")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("2.5 requests/s per client, burst 7"),
        "{stdout}"
    );
    assert!(stdout.contains("environment (MCP_*)"), "{stdout}");
    let output = Command::new(env!("CARGO_BIN_EXE_jwtgate"))
        .args(["serve", "--check", "--config", path.to_str().unwrap()])
        .env("MCP_API_KEY", API_KEY)
        .env("MCP_RATE_LIMIT_RPS", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    // Both verifier sources at once are refused.
    let both = dir.path().join("both.toml");
    std::fs::write(
        &both,
        format!("public_url = \"{PUBLIC_URL}\"\n[verifier]\nissuer = \"https://idp.example.com\"\naudience = [\"x\"]\n"),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_jwtgate"))
        .args(["serve", "--check", "--config", both.to_str().unwrap()])
        .env("MCP_OAUTH_ISSUER", "https://other.example.com")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("one place"));
}
