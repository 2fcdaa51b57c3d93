//! A real identity provider for the integration tests: `tests/idp/server.mjs` (panva's
//! `oidc-provider` on Node), issuing RFC 9068 JWT access tokens through `client_credentials`.
//!
//! [`start`] spawns it on a random port of 127.0.0.1; dropping the [`Idp`] kills it. One client
//! per signing algorithm: `client-<alg>` / `secret-<alg>` (alg lower-cased); its tokens are signed
//! with that algorithm. Paths given to [`Idp::get`] and [`Idp::request_count`] are raw paths on the
//! server; when the issuer has a path (`issuer_path`), use [`Idp::path`] to prefix it.
//! [`Idp::dpop_token`] mints DPoP-bound tokens, [`Idp::token_for`] tokens for another resource, and
//! [`Idp::sign`] tokens of exactly the claims given (expired ones, say), all signed by the IdP.
//!
//! Needs `node` (20+) on PATH (or `NODE=/path/to/node`) and `npm ci --prefix tests/idp`.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

/// The resource indicator (and so the tokens' `aud`) unless [`IdpOptions::resource`] says otherwise.
pub const DEFAULT_RESOURCE: &str = "https://mcp.test/";
/// The scopes the resource server knows unless [`IdpOptions::scopes`] says otherwise.
pub const DEFAULT_SCOPES: &str = "tools:call read";
/// The signing algorithms (one key and one client each) unless [`IdpOptions::keys`] says otherwise.
pub const DEFAULT_KEYS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

const START_TIMEOUT: Duration = Duration::from_secs(20);
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start the identity provider.
#[derive(Clone, Debug)]
pub struct IdpOptions {
    /// A path suffix of the issuer, e.g. `/realms/test` (default: none, the issuer is
    /// `http://127.0.0.1:PORT` without a trailing slash).
    pub issuer_path: Option<String>,
    /// Algorithms to publish keys for and sign with; a subset of RS256/384/512, PS256/384/512,
    /// ES256, ES384, EdDSA.
    pub keys: Vec<&'static str>,
    /// The resource indicator; becomes the tokens' `aud`.
    pub resource: String,
    /// Space-separated scopes the resource server knows (others are silently dropped).
    pub scopes: String,
    /// Access token lifetime in seconds.
    pub ttl: u64,
}

impl Default for IdpOptions {
    fn default() -> Self {
        IdpOptions {
            issuer_path: None,
            keys: DEFAULT_KEYS.to_vec(),
            resource: DEFAULT_RESOURCE.to_string(),
            scopes: DEFAULT_SCOPES.to_string(),
            ttl: 300,
        }
    }
}

/// A running identity provider; killed on drop.
pub struct Idp {
    /// The issuer, exactly as it appears in tokens and discovery (`iss`).
    pub issuer: String,
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The signing key id per algorithm at start (see [`Idp::rotate`] for later ones).
    pub kids: HashMap<String, String>,
    /// The issuer's path (`""` or e.g. `/realms/test`), no trailing slash.
    pub issuer_path: String,
    /// The resource indicator requested with every token (the tokens' `aud`).
    pub resource: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
}

/// The directory of `server.mjs` (`<repo>/tests/idp`).
pub fn idp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/idp")
}

/// Starts the identity provider and waits (up to 20 s) until it listens.
pub fn start(opts: &IdpOptions) -> Idp {
    let dir = idp_dir();
    if !dir.join("node_modules").is_dir() {
        panic!("run `npm ci --prefix tests/idp` first (.ci/run does)");
    }
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_string());
    let issuer_path = opts.issuer_path.clone().unwrap_or_default();
    let mut child = Command::new(&node)
        .arg("server.mjs")
        .current_dir(&dir)
        .env("PORT", "0")
        .env("ISSUER_PATH", &issuer_path)
        .env("KEYS", opts.keys.join(","))
        .env("RESOURCE", &opts.resource)
        .env("SCOPES", &opts.scopes)
        .env("TTL", opts.ttl.to_string())
        .env("EXIT_ON_STDIN_EOF", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{node}` (Node.js 20+ is needed): {e}"));

    // Drain stderr for the whole life of the child (for panics), and stdout after its first line.
    let stderr = Arc::new(Mutex::new(String::new()));
    let err_pipe = child.stderr.take().expect("stderr is piped");
    let err_buf = Arc::clone(&stderr);
    let err_thread = thread::spawn(move || {
        let mut reader = BufReader::new(err_pipe);
        let mut line = String::new();
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            err_buf.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    let out_pipe = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(out_pipe);
        let mut line = String::new();
        let first = reader.read_line(&mut line).map(|_| line.clone());
        let _ = tx.send(first);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });

    let line = match rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(line)) if !line.trim().is_empty() => line,
        outcome => {
            let _ = child.kill();
            let status = child.wait();
            let _ = err_thread.join();
            let why = match outcome {
                Ok(Ok(_)) => "it exited without printing its start-up line".to_string(),
                Ok(Err(e)) => format!("reading its stdout failed: {e}"),
                Err(_) => format!("no start-up line within {START_TIMEOUT:?}"),
            };
            panic!(
                "the test IdP (tests/idp/server.mjs) did not start: {why}; status {status:?}; \
                 stderr:\n{}",
                stderr.lock().unwrap()
            );
        }
    };
    let info: Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("bad start-up line from the test IdP: {e}: {line}"));
    let issuer = info["issuer"].as_str().expect("issuer").to_string();
    let port = u16::try_from(info["port"].as_u64().expect("port")).expect("port fits u16");
    let kids = kid_map(&info["kids"]);

    Idp {
        issuer,
        port,
        kids,
        issuer_path: issuer_path.trim_end_matches('/').to_string(),
        resource: opts.resource.clone(),
        stdin: child.stdin.take(),
        child,
        stderr,
    }
}

/// `{"RS256": "kid", ...}` as a map.
pub fn kid_map(kids: &Value) -> HashMap<String, String> {
    kids.as_object()
        .map(|m| {
            m.iter()
                .map(|(alg, kid)| (alg.clone(), kid.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

impl Idp {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A path under the issuer: `path("/jwks")` is `/realms/test/jwks` for the issuer path
    /// `/realms/test`, and `/jwks` without one.
    pub fn path(&self, rel: &str) -> String {
        format!("{}{}", self.issuer_path, rel)
    }

    /// What the IdP printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// An access token from the client of `alg` (`client-<alg>`), through `client_credentials`
    /// with the resource indicator and `scope` (none: the token has no `scope`).
    pub fn token(&self, alg: &str, scope: Option<&str>) -> String {
        access_token(&self.token_response(alg, scope))
    }

    /// The whole token response (`access_token`, `expires_in`, `scope`, `token_type`).
    pub fn token_response(&self, alg: &str, scope: Option<&str>) -> Value {
        self.token_request(alg, &self.resource, scope, None)
    }

    /// An access token of `client-<alg>` for another resource indicator (RFC 8707): its `aud` is
    /// `resource` (a loopback http(s) URL, see server.mjs), not [`Idp::resource`].
    pub fn token_for(&self, alg: &str, resource: &str, scope: Option<&str>) -> String {
        access_token(&self.token_request(alg, resource, scope, None))
    }

    /// A DPoP-bound access token of `client-<alg>` (RFC 9449 §5): the token request carries a
    /// proof of `key` (`htm` POST, `htu` the token endpoint), so the token's `cnf.jkt` is the
    /// thumbprint of `key` and its `token_type` is `DPoP`.
    pub fn dpop_token(&self, alg: &str, key: &jwtgate::sign::SigningKey, scope: &str) -> String {
        let proof = key
            .dpop_proof("POST", &format!("{}/token", self.issuer), None, None)
            .unwrap_or_else(|e| panic!("DPoP proof for the token request: {e}"));
        let response = self.token_request(alg, &self.resource, Some(scope), Some(&proof));
        assert_eq!(response["token_type"], "DPoP", "not DPoP-bound: {response}");
        access_token(&response)
    }

    /// The token response of `client-<alg>` through `client_credentials` for the resource
    /// indicator `resource` and `scope`, with the `DPoP` proof header `dpop` when given.
    pub fn token_request(
        &self,
        alg: &str,
        resource: &str,
        scope: Option<&str>,
        dpop: Option<&str>,
    ) -> Value {
        let alg = alg.to_ascii_lowercase();
        let credentials = format!("client-{alg}:secret-{alg}");
        let mut form = vec![("grant_type", "client_credentials"), ("resource", resource)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let body = form_encode(&form);
        let auth = format!("Basic {}", base64_std(credentials.as_bytes()));
        let mut headers = vec![
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        if let Some(proof) = dpop {
            headers.push(("DPoP", proof));
        }
        let (status, text) = self.request("POST", &self.path("/token"), &headers, body.as_bytes());
        if status != 200 {
            panic!("token request for client-{alg} failed: HTTP {status}: {text}");
        }
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad token response ({e}): {text}"))
    }

    /// A JWS of exactly `claims`, unchecked (expired, another audience, any `iss`), signed by the
    /// IdP's current key of `alg` (`POST /__admin/sign`): a token a verifier trusting this IdP
    /// refuses for its claims alone.
    pub fn sign(&self, alg: &str, claims: &Value) -> String {
        let body = serde_json::json!({ "alg": alg, "claims": claims }).to_string();
        let (status, text) = self.request(
            "POST",
            "/__admin/sign",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        if status != 200 {
            panic!("signing failed: HTTP {status}: {text}");
        }
        let reply: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("bad sign response ({e}): {text}"));
        reply["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {reply}"))
            .to_string()
    }

    /// Rotates: fresh keys for `keys` (which sign from now on; their clients are the only ones
    /// left) plus the old keys `keep` (published only). Returns `{"kids": {alg: kid},
    /// "published": [kid, ...]}`.
    pub fn rotate(&self, keys: &[&str], keep: &[&str]) -> Value {
        let body = serde_json::json!({ "keys": keys, "keep": keep }).to_string();
        let (status, text) = self.request(
            "POST",
            "/__admin/rotate",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        if status != 200 {
            panic!("rotation failed: HTTP {status}: {text}");
        }
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad rotate response ({e}): {text}"))
    }

    /// All request counts per raw path since start or the last [`Idp::reset_counts`].
    pub fn request_counts(&self) -> HashMap<String, u64> {
        let (status, text) = self.get("/__admin/requests");
        assert_eq!(status, 200, "{text}");
        let counts: Value = serde_json::from_str(&text).expect("counts JSON");
        counts
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(path, n)| (path.clone(), n.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many requests the raw `path` (query excluded) got, e.g. `request_count("/jwks")`.
    pub fn request_count(&self, path: &str) -> u64 {
        self.request_counts().get(path).copied().unwrap_or(0)
    }

    /// Zeroes the request counts.
    pub fn reset_counts(&self) {
        let (status, text) = self.request("POST", "/__admin/reset-counts", &[], b"");
        assert_eq!(status, 200, "{text}");
    }

    /// A GET of the raw `path`: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, &[], b"")
    }

    /// One HTTP/1.1 request on a fresh connection (`Connection: close`): status and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        http_request(self.port, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path} on the test IdP failed: {e}"))
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `access_token` of a token response.
fn access_token(response: &Value) -> String {
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token in {response}"))
        .to_string()
}

/// A minimal HTTP/1.1 client on 127.0.0.1: sends one request with `Connection: close`, reads
/// until the server closes, and decodes `Content-Length` or chunked bodies.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, String), String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Accept: */*\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream
        .write_all(&bytes)
        .map_err(|e| format!("write: {e}"))?;

    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| format!("read: {e}"))?;
    parse_response(&response)
}

fn parse_response(response: &[u8]) -> Result<(u16, String), String> {
    let split = find(response, b"\r\n\r\n").ok_or("no end of headers in the response")?;
    let head = std::str::from_utf8(&response[..split]).map_err(|e| format!("head: {e}"))?;
    let rest = &response[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.parse::<usize>().map_err(|e| format!("{line}: {e}"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = content_length {
        rest.get(..n)
            .ok_or_else(|| format!("body shorter ({}) than Content-Length {n}", rest.len()))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    let body = String::from_utf8(body).map_err(|e| format!("body is not UTF-8: {e}"))?;
    Ok((status, body))
}

/// Decodes a chunked body (trailers ignored).
pub fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let end = find(data, b"\r\n").ok_or("truncated chunk size")?;
        let size_text = std::str::from_utf8(&data[..end]).map_err(|e| e.to_string())?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|e| format!("bad chunk size {size_text:?}: {e}"))?;
        data = &data[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = data.get(..size).ok_or("truncated chunk")?;
        out.extend_from_slice(chunk);
        data = data.get(size + 2..).ok_or("truncated chunk end")?;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `application/x-www-form-urlencoded`.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str, out: &mut String) {
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(name, &mut out);
        out.push('=');
        encode(value, &mut out);
    }
    out
}

/// Standard base64 with padding (for HTTP Basic credentials).
pub fn base64_std(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
