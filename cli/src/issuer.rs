//! A loopback issuer that publishes keys and nothing else: the OIDC discovery document (also at
//! the RFC 8414 path) and a JWKS, for `jwtgate demo` and `jwtgate jwks serve`.
//!
//! The JWKS comes from a callback on every request, so callers can swap keys while it runs (the
//! demo's rotation, `jwks serve` re-reading its directory). Responses carry `Cache-Control:
//! max-age=60`, the shortest age a jwtgate verifier honours, so withdrawn keys disappear from
//! verifiers within a minute. It binds 127.0.0.1 only: it is a development tool, served over
//! plain http, which verifiers accept for loopback hosts alone.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::{Value, json};
use tiny_http::{Header, Response, Server};

/// Produces the current JWKS document.
pub(crate) type JwksSource = Arc<dyn Fn() -> String + Send + Sync>;

/// A running issuer; stops when dropped.
pub(crate) struct Issuer {
    server: Arc<Server>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl Issuer {
    /// Listens on `127.0.0.1:port` (0: any free port) and serves from a background thread.
    /// With `log`, every request is reported on stderr.
    pub(crate) fn start(port: u16, jwks: JwksSource, log: bool) -> Result<Issuer, String> {
        let server = Server::http(("127.0.0.1", port))
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or("the server has no IP address")?;
        let server = Arc::new(server);
        let issuer = format!("http://{addr}");
        let thread = {
            let server = Arc::clone(&server);
            std::thread::Builder::new()
                .name("jwtgate-issuer".into())
                .spawn(move || serve(&server, &issuer, &jwks, log))
                .map_err(|e| format!("cannot start the issuer thread: {e}"))?
        };
        Ok(Issuer {
            server,
            addr,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, exactly as it appears in the discovery document (no trailing
    /// slash).
    pub(crate) fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until the process ends (`jwks serve`).
    pub(crate) fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(server: &Server, issuer: &str, jwks: &JwksSource, log: bool) {
    for request in server.incoming_requests() {
        let path = request
            .url()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        let (status, body) = match (request.method(), path.as_str()) {
            (
                tiny_http::Method::Get,
                "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server",
            ) => (200, discovery_document(issuer, &jwks())),
            (tiny_http::Method::Get, "/jwks") => (200, jwks()),
            (tiny_http::Method::Get, _) => (
                404,
                json!({"error": "not found", "documents": ["/.well-known/openid-configuration", "/jwks"]})
                    .to_string(),
            ),
            _ => (405, json!({"error": "only GET is served"}).to_string()),
        };
        if log {
            anstream::eprintln!("{} {} -> {status}", request.method(), request.url());
        }
        let response = Response::from_string(body)
            .with_status_code(status)
            .with_header(header("Content-Type", "application/json"))
            .with_header(header("Cache-Control", "max-age=60"));
        // A client that went away is not the server's problem.
        let _ = request.respond(response);
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header is valid")
}

/// Discovery metadata: the issuer, its JWKS, and the algorithms its keys sign with. There is no
/// token endpoint; tokens come from `jwtgate mint`.
fn discovery_document(issuer: &str, jwks: &str) -> String {
    let mut algs: Vec<String> = Vec::new();
    if let Ok(doc) = serde_json::from_str::<Value>(jwks) {
        for key in doc["keys"].as_array().into_iter().flatten() {
            if let Some(alg) = key["alg"].as_str().filter(|a| !algs.iter().any(|x| x == a)) {
                algs.push(alg.to_string());
            }
        }
    }
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
    })
    .to_string()
}
