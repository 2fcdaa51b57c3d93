//! A loopback RFC 7662 endpoint for the introspection benchmark: answers every POST with one
//! active response (`Connection: close`, as a provider behind a fresh connection would be
//! measured at worst).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// Starts the endpoint on 127.0.0.1 and returns its URL. The thread lives as long as the process.
pub fn start(issuer: &str, audience: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/introspect", listener.local_addr().expect("addr"));
    let body = serde_json::json!({
        "active": true, "iss": issuer, "aud": audience, "client_id": "mcp-inspector",
        "scope": "tools:call resources:read", "exp": jwtgate::now_unix() + 3600,
        "token_type": "Bearer",
    })
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut request_body = vec![0u8; length];
            let _ = reader.read_exact(&mut request_body);
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}
