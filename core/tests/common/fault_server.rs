//! A programmable loopback HTTP/1.1 server for fault-injection tests of remote keys.
//!
//! Each path answers with a [`Behaviour`] the test can change at any time; unknown paths answer
//! 404. Every request is counted per path. One thread accepts, one thread serves each
//! connection; every response closes its connection (no keep-alive), so one request is one
//! connection. Dropping the server stops the accept thread and makes every connection thread
//! (including hanging and dribbling ones) give up within a few tens of milliseconds.
#![allow(dead_code)] // not every test uses every helper

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use jwtgate::sign::SigningKey;
use serde_json::{Value, json};

/// What the server does with a request for one path.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// A complete response.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Arc<[u8]>,
    },
    /// Headers (with the full `Content-Length`) at once, then the body one byte per `delay`.
    SlowBody { body: Arc<[u8]>, delay: Duration },
    /// Reads the request and never answers (until the client or the server goes away).
    Hang,
    /// A 200 response whose body is `len` bytes of JSON-ish filler, streamed.
    HugeBody { len: usize },
    /// Reads the request and closes the connection without a response.
    Close,
}

impl Behaviour {
    /// `status` with a body and no extra headers.
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Behaviour {
        Behaviour::Respond {
            status,
            headers: Vec::new(),
            body: body.into().into(),
        }
    }

    /// 200 with a JSON body.
    pub fn json(body: impl Into<String>) -> Behaviour {
        Behaviour::Respond {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into().into_bytes().into(),
        }
    }

    /// 200 with a JSON body and extra headers.
    pub fn json_with(body: impl Into<String>, headers: &[(&str, &str)]) -> Behaviour {
        let mut all = vec![("Content-Type".to_string(), "application/json".to_string())];
        all.extend(
            headers
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
        );
        Behaviour::Respond {
            status: 200,
            headers: all,
            body: body.into().into_bytes().into(),
        }
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Behaviour {
        Behaviour::Respond {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new().into(),
        }
    }
}

type Routes = Arc<Mutex<HashMap<String, Behaviour>>>;
type Counts = Arc<Mutex<HashMap<String, Arc<AtomicU64>>>>;

/// The server; see the module documentation.
pub struct FaultServer {
    addr: SocketAddr,
    routes: Routes,
    counts: Counts,
    total: Arc<AtomicU64>,
    shutdown: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FaultServer {
    /// Starts a server on `127.0.0.1:0`.
    pub fn start() -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let routes: Routes = Arc::default();
        let counts: Counts = Arc::default();
        let total = Arc::new(AtomicU64::new(0));
        let shutdown = Arc::new(AtomicBool::new(false));
        let accept = {
            let (routes, counts, total, shutdown) = (
                Arc::clone(&routes),
                Arc::clone(&counts),
                Arc::clone(&total),
                Arc::clone(&shutdown),
            );
            std::thread::Builder::new()
                .name("fault-server-accept".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if shutdown.load(Ordering::SeqCst) {
                            return;
                        }
                        let Ok(stream) = stream else { continue };
                        let (routes, counts, total, shutdown) = (
                            Arc::clone(&routes),
                            Arc::clone(&counts),
                            Arc::clone(&total),
                            Arc::clone(&shutdown),
                        );
                        let _ = std::thread::Builder::new()
                            .name("fault-server-conn".into())
                            .spawn(move || serve(stream, &routes, &counts, &total, &shutdown));
                    }
                })
                .expect("spawn accept thread")
        };
        FaultServer {
            addr,
            routes,
            counts,
            total,
            shutdown,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT{path}`
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Sets (or replaces) what `path` answers.
    pub fn set(&self, path: &str, behaviour: Behaviour) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), behaviour);
    }

    /// Requests received for `path` so far.
    pub fn count(&self, path: &str) -> u64 {
        self.counts
            .lock()
            .unwrap()
            .get(path)
            .map_or(0, |c| c.load(Ordering::SeqCst))
    }

    /// Requests received for any path so far.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        // Unblock accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

/// Longest a connection thread lives in any behaviour (a safety net; tests end long before).
const MAX_CONNECTION_LIFE: Duration = Duration::from_secs(30);
/// How often waiting connection threads look at the shutdown flag.
const POLL: Duration = Duration::from_millis(20);

fn serve(
    mut stream: TcpStream,
    routes: &Routes,
    counts: &Counts,
    total: &AtomicU64,
    shutdown: &AtomicBool,
) {
    let Some(path) = read_request(&mut stream) else {
        return;
    };
    total.fetch_add(1, Ordering::SeqCst);
    Arc::clone(counts.lock().unwrap().entry(path.clone()).or_default())
        .fetch_add(1, Ordering::SeqCst);
    let behaviour = routes.lock().unwrap().get(&path).cloned();
    let behaviour = behaviour.unwrap_or_else(|| Behaviour::status(404, "not found"));
    let started = Instant::now();
    let alive = || !shutdown.load(Ordering::SeqCst) && started.elapsed() < MAX_CONNECTION_LIFE;
    // Write errors mean the client went away (timeout, body limit): nothing to do about them.
    match behaviour {
        Behaviour::Respond {
            status,
            headers,
            body,
        } => {
            let _ = stream
                .write_all(head(status, &headers, body.len()).as_bytes())
                .and_then(|()| stream.write_all(&body))
                .and_then(|()| stream.flush());
        }
        Behaviour::SlowBody { body, delay } => {
            let json = [("Content-Type".to_string(), "application/json".to_string())];
            if stream
                .write_all(head(200, &json, body.len()).as_bytes())
                .and_then(|()| stream.flush())
                .is_err()
            {
                return;
            }
            for byte in body.iter() {
                if !alive() || stream.write_all(&[*byte]).is_err() || stream.flush().is_err() {
                    return;
                }
                std::thread::sleep(delay);
            }
        }
        Behaviour::Hang => {
            // Wait until the client closes (read returns 0 or fails) or the server stops.
            let _ = stream.set_read_timeout(Some(POLL));
            let mut buf = [0u8; 256];
            while alive() {
                match stream.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => return,
                }
            }
        }
        Behaviour::HugeBody { len } => {
            let json = [("Content-Type".to_string(), "application/json".to_string())];
            if stream.write_all(head(200, &json, len).as_bytes()).is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut left = len;
            while left > 0 && alive() {
                let n = left.min(chunk.len());
                if stream.write_all(&chunk[..n]).is_err() {
                    return;
                }
                left -= n;
            }
            let _ = stream.flush();
        }
        Behaviour::Close => {}
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Reads the request head and returns its path (with query), or `None` if it is unreadable.
fn read_request(stream: &mut TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        if data.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&data);
    let mut first = text.lines().next()?.split_whitespace();
    let _method = first.next()?;
    first.next().map(str::to_owned)
}

fn head(status: u16, headers: &[(String, String)], content_length: usize) -> String {
    let reason = match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {content_length}\r\nConnection: close\r\n\r\n"
    ));
    out
}

// ---- documents and tokens ----

/// The audience every test verifier expects.
pub const AUD: &str = "https://mcp.example.com";

/// An OIDC discovery / RFC 8414 metadata document.
pub fn discovery_doc(issuer: &str, jwks_uri: &str) -> String {
    json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "token_endpoint": format!("{issuer}/token"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "EdDSA", "RS256"],
    })
    .to_string()
}

/// A JWKS with the public keys of `keys`.
pub fn jwks(keys: &[&SigningKey]) -> String {
    jwtgate::sign::jwks(keys)
}

/// Valid claims for `issuer` and [`AUD`], expiring in five minutes.
pub fn claims(issuer: &str) -> Value {
    json!({
        "iss": issuer,
        "aud": AUD,
        "sub": "alice",
        "exp": jwtgate::now_unix() + 300,
    })
}

/// A token for `issuer` signed by `key`.
pub fn token(key: &SigningKey, issuer: &str) -> String {
    key.mint(&claims(issuer)).unwrap()
}

/// A token for `issuer` signed by `key` but naming `kid`.
pub fn token_with_kid(key: &SigningKey, issuer: &str, kid: &str) -> String {
    key.mint_with_header(&json!({ "kid": kid }), &claims(issuer))
        .unwrap()
}

/// Unpadded base64url.
pub fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    s
}

/// Polls `condition` every 10 ms until it holds or `limit` passes; returns whether it held.
/// (A bound on waiting, never an assertion about speed.)
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
