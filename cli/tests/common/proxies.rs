//! Real reverse proxies in front of a real MCP server, for the end-to-end tests of `jwtgate serve`:
//! nginx and Caddy started from the recipes in `deploy/` (their placeholders filled with this
//! test's ports), `redis-server`, the built `jwtgate serve`, an unauthenticated rmcp
//! streamable-HTTP server (the upstream) and an rmcp client that authenticates with a bearer
//! token, an API key in X-API-Key, or a DPoP-bound token with a fresh proof per request (both
//! from the tower crate's `tests/common/mcp.rs`, included as [`mcp`]).
//!
//! Every process listens on 127.0.0.1 only and is stopped (SIGTERM, then SIGKILL) when its
//! [`Process`] is dropped; its files live in the test's own directory.
#![allow(dead_code)] // each test binary uses a different part

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::request::Parts;
use jwtgate::sign::SigningKey;
use serde_json::{Value, json};

/// The rmcp server and client of the tower crate's tests, shared as they are.
#[path = "../../../tower/tests/common/mcp.rs"]
pub mod mcp;

const START_TIMEOUT: Duration = Duration::from_secs(20);
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Tools on PATH

/// Whether every program in `names` is on PATH. When one is missing: under `CI=true` the test
/// fails (CI installs them, `.ci/run`); elsewhere it says so loudly on stderr and the caller
/// skips.
pub fn require_programs(test: &str, names: &[&str]) -> bool {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| find_program(name).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{test}: {} not installed (apt-get install nginx caddy redis-server)",
        missing.join(", ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}; CI=true, so this is a failure");
    }
    eprintln!("\n======== SKIPPED: {message} ========\n");
    false
}

/// The full path of `name` on PATH (or /usr/sbin, where Debian puts nginx).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A port on 127.0.0.1 that was free a moment ago (for programs that cannot report the port
/// they bound, like nginx and Caddy).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A child process with its log file; stopped on drop.
pub struct Process {
    pub name: String,
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Spawns `command` with stdout and stderr appended to `log`, then waits (up to 20 s) until
    /// 127.0.0.1:`port` accepts connections.
    pub fn spawn(name: &str, mut command: Command, port: u16, log: &Path) -> Process {
        let out = std::fs::File::create(log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let mut process = Process {
            name: name.to_string(),
            port,
            child,
            log: log.to_path_buf(),
        };
        process.wait_listening();
        process
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before listening on {}:\n{}",
                    self.name,
                    self.port,
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{} not listening on {} after {START_TIMEOUT:?}:\n{}",
                    self.name,
                    self.port,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the process wrote so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SIGTERM first: nginx's master stops its workers only when asked (SIGKILL would leave
        // them holding the port); jwtgate serve drains. SIGKILL if that takes too long.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// Fills the `${NAME}` placeholders of a `deploy/` template, as
/// `envsubst '${NAME} ...'` would; every upper-case `${...}` left over is a test bug.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut text = template.to_string();
    for (name, value) in vars {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    // Outside comments, a `${...}` left is nginx's own variable unless it is upper-case.
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        for piece in line.split("${").skip(1) {
            let name: String = piece.chars().take_while(|c| *c != '}').collect();
            assert!(
                name.is_empty() || !name.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "placeholder ${{{name}}} not filled"
            );
        }
    }
    text
}

/// nginx with `deploy/nginx/jwtgate.conf.template` on 127.0.0.1:`port`, in front of
/// `jwtgate` (host:port of `jwtgate serve`) and `upstream` (host:port of the MCP server). A
/// foreground master with one worker; pid, logs and temp files under `dir`.
pub fn start_nginx(dir: &Path, port: u16, jwtgate: &str, upstream: &str) -> Process {
    let template = std::fs::read_to_string(repo_root().join("deploy/nginx/jwtgate.conf.template"))
        .expect("deploy/nginx/jwtgate.conf.template");
    let listen = format!("127.0.0.1:{port}");
    let site = render(
        &template,
        &[
            ("LISTEN", &listen),
            ("JWTGATE", jwtgate),
            ("MCP_UPSTREAM", upstream),
        ],
    );
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("jwtgate.conf"), site).unwrap();
    let d = dir.display();
    // As root, nginx's workers run as `nobody`: the temp directories must be theirs to write.
    for temp in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        let path = dir.join(temp);
        std::fs::create_dir_all(&path).unwrap();
        let _ = Command::new("chmod").arg("777").arg(&path).status();
    }
    let main = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log info;\nevents {{ worker_connections 1024; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/client_body;\n\
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n\
         scgi_temp_path {d}/scgi;\n  include {d}/jwtgate.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let nginx = find_program("nginx").expect("nginx");
    let mut command = Command::new(nginx);
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"));
    let mut process = Process::spawn("nginx", command, port, &dir.join("nginx.out"));
    process.log = dir.join("error.log");
    process
}

/// Caddy running `deploy/caddy/Caddyfile` as it is, its placeholders from the environment:
/// a plain-HTTP site on 127.0.0.1:`port`, admin endpoint off, its storage under `dir`.
pub fn start_caddy(dir: &Path, port: u16, jwtgate: &str, upstream: &str) -> Process {
    std::fs::create_dir_all(dir).unwrap();
    let caddy = find_program("caddy").expect("caddy");
    let mut command = Command::new(caddy);
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(repo_root().join("deploy/caddy/Caddyfile"))
        .env("SITE_ADDRESS", format!("http://127.0.0.1:{port}"))
        .env("JWTGATE", jwtgate)
        .env("MCP_UPSTREAM", upstream)
        .env("CADDY_ADMIN", "off")
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"));
    Process::spawn("caddy", command, port, &dir.join("caddy.log"))
}

/// `redis-server` on 127.0.0.1, no persistence, files under `dir`.
pub fn start_redis(dir: &Path) -> Process {
    std::fs::create_dir_all(dir).unwrap();
    let port = free_port();
    let redis = find_program("redis-server").expect("redis-server");
    let mut command = Command::new(redis);
    command
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ])
        .arg("--dir")
        .arg(dir);
    Process::spawn("redis-server", command, port, &dir.join("redis.log"))
}

/// The built `jwtgate serve` with the TOML `config` (written to `dir/jwtgate.toml`), listening
/// on 127.0.0.1:`port`; `env` adds environment variables.
pub fn start_serve(dir: &Path, port: u16, config: &str, env: &[(&str, &str)]) -> Process {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("jwtgate.toml");
    std::fs::write(&path, config).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_jwtgate"));
    command.arg("serve").arg("--config").arg(&path);
    for (name, value) in env {
        command.env(name, value);
    }
    Process::spawn("jwtgate serve", command, port, &dir.join("serve.log"))
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP, for exact statuses and headers

/// One response: status, headers (names lower-cased, in order) and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// Every value of header `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of header `name` (panics if there are several).
    pub fn header(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(
            all.len() <= 1,
            "{name} appears {} times: {self:?}",
            all.len()
        );
        all.first().copied()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    use std::io::Write;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 || data.len() < end + 2 + size {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[(end + 4 + size).min(data.len())..];
    }
}

/// The JSON-RPC `initialize` request body of a streamable-HTTP client.
pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

/// A POST of `initialize` to `path` with `headers` (plus the MCP content negotiation).
pub fn post_initialize(port: u16, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut all = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    all.extend_from_slice(headers);
    http(port, "POST", path, &all, INITIALIZE)
}

// ---------------------------------------------------------------------------------------------
// The MCP server (upstream) and client: tower's test harness (rmcp's streamable HTTP)

/// The headers `whoami` reports (identity from jwtgate; credentials the proxy should drop).
pub const REPORTED_HEADERS: [&str; 7] = [
    "x-auth-subject",
    "x-auth-client-id",
    "x-auth-scopes",
    "x-auth-issuer",
    "authorization",
    "dpop",
    "x-api-key",
];

/// `whoami`'s answer upstream: each of [`REPORTED_HEADERS`] as the proxy passed it on, null
/// when absent. The upstream does no authentication: it trusts the proxy's identity headers.
fn reported_headers(parts: &Parts) -> Value {
    let seen = REPORTED_HEADERS.iter().map(|name| {
        let value = parts.headers.get(*name).and_then(|v| v.to_str().ok());
        (name.to_string(), value.map_or(Value::Null, |v| json!(v)))
    });
    Value::Object(seen.collect())
}

/// The upstream MCP server on 127.0.0.1 (`/mcp`), served on `runtime`; stopped on drop.
pub fn start_upstream(runtime: &tokio::runtime::Runtime) -> mcp::Server {
    let options = mcp::ServerOptions {
        caller: Arc::new(reported_headers),
        ..mcp::ServerOptions::default()
    };
    runtime.block_on(mcp::start(&options))
}

/// A multi-threaded runtime for the upstream and the clients.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// How the client authenticates.
#[derive(Clone)]
pub enum Credential {
    /// Nothing.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `X-API-Key: <key>`.
    ApiKey(String),
    /// `Authorization: DPoP <token>` and a fresh `DPoP` proof of `key` for every request
    /// (RFC 9449 §4: htm and htu of that request, ath of the token).
    Dpop { token: String, key: Arc<SigningKey> },
    /// `Authorization: DPoP <token>` without a proof.
    DpopWithoutProof(String),
}

impl Credential {
    /// The rmcp client's options for this credential.
    fn client_options(self) -> mcp::ClientOptions {
        match self {
            Credential::None => mcp::ClientOptions::default(),
            Credential::Bearer(token) => mcp::ClientOptions::bearer(token),
            Credential::ApiKey(key) => mcp::ClientOptions::default().header("x-api-key", key),
            Credential::Dpop { token, key } => {
                let bound = token.clone();
                let prove: mcp::Prove = Arc::new(move |method: &str, url: &str| {
                    key.dpop_proof(method, url, Some(&bound), None)
                        .expect("DPoP proof")
                });
                mcp::ClientOptions::dpop(&token, Some(prove))
            }
            Credential::DpopWithoutProof(token) => mcp::ClientOptions::dpop(&token, None),
        }
    }
}

/// What one MCP session through the proxy did: initialize, tools/list, tools/call `whoami`.
#[derive(Debug)]
pub struct Session {
    /// The names tools/list returned, sorted.
    pub tools: Vec<String>,
    /// `whoami`'s answer: the headers the upstream received (null when absent).
    pub whoami: Value,
}

/// Runs an MCP session against `url` with `credential` (and the `extra` headers on every
/// request): initialize, tools/list, tools/call `whoami`, then closes it. Err: the client's
/// error, as text (it names the HTTP status and carries the challenge).
pub fn mcp_session(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    credential: Credential,
    extra: &[(&str, &str)],
) -> Result<Session, String> {
    let options = extra
        .iter()
        .fold(credential.client_options(), |options, (name, value)| {
            options.header(name, *value)
        });
    // The transport spawns its worker: connected inside the runtime. A session that stalls (a
    // response lost between proxy and upstream: seen about once in ten runs through Caddy 2.6,
    // which logs "aborting with incomplete response" for the upstream's event stream, with or
    // without jwtgate in front) fails after SESSION_TIMEOUT; such a stall, and only a stall, is
    // tried once more with a new session, loudly. Refusals and wrong answers are never retried.
    let attempt = |options: mcp::ClientOptions| {
        let session = async move {
            let client = mcp::connect(url, options)
                .await
                .map_err(|e| format!("initialize: {e:?}"))?;
            let outcome = async {
                let tools = mcp::tool_names(&client)
                    .await
                    .map_err(|e| format!("tools/list: {e:?}"))?;
                let whoami = mcp::whoami(&client)
                    .await
                    .map_err(|e| format!("tools/call: {e:?}"))?;
                Ok(Session { tools, whoami })
            }
            .await;
            let _ = client.cancel().await;
            outcome
        };
        runtime.block_on(async move {
            tokio::time::timeout(SESSION_TIMEOUT, session)
                .await
                .map_err(|_| Stalled)
        })
    };
    match attempt(options.clone()) {
        Ok(result) => result,
        Err(Stalled) => {
            eprintln!(
                "WARNING: the MCP session through {url} stalled for {SESSION_TIMEOUT:?} (a response lost between proxy and upstream); trying once more"
            );
            attempt(options).unwrap_or_else(|Stalled| {
                Err(format!("no answer within {SESSION_TIMEOUT:?}, twice"))
            })
        }
    }
}

/// A session that got no answer in time.
struct Stalled;
