//! The original request, read from the forward-auth dialects of the proxies in front.
//!
//! | dialect | method | URI | host / proto (trusted peers only) |
//! |---|---|---|---|
//! | nginx `auth_request` (`/auth`, `/auth/nginx`) | `X-Original-Method` | `X-Original-URI` | `X-Forwarded-Host` / `-Proto` |
//! | Caddy `forward_auth`, Traefik `ForwardAuth` (`/auth`) | `X-Forwarded-Method` | `X-Forwarded-Uri` | `X-Forwarded-Host` / `-Proto` |
//! | Envoy HTTP `ext_authz` (`/ext_authz/<path>`) | the request's own | the path after the prefix, with the query | `Host` (or `X-Forwarded-Host`) / `X-Forwarded-Proto` |
//!
//! Method and URI are always read: only the proxy calls the decision endpoint, and a client
//! calling it directly learns a decision, not access. What the DPoP `htu` (RFC 9449 §4.3) is
//! compared with is another matter: a proof is bound to the URL the client addressed, and
//! believing a Host header the client chose would let a proof made for another server be
//! replayed here. So the origin is the configured public URL's, unless the TCP peer is a
//! configured trusted proxy AND its forwarded host and proto form one of the configured public
//! origins (a server reachable under several names); anything else falls back to the public
//! URL's origin, where such a proof then fails.
//!
//! The client address (for rate limits) is the TCP peer, or, when the peer is a trusted proxy,
//! the rightmost `X-Forwarded-For` entry that is not itself a trusted proxy (`X-Real-IP` when
//! there is no `X-Forwarded-For`): entries left of that were written by the client.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderName, Method, Uri};

use super::cidr::{Cidr, canonical};
use super::config::normalize_origin;

/// Which decision endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `/auth`: nginx, Caddy, Traefik headers; true statuses.
    Forward,
    /// `/auth/nginx`: as `Forward`, statuses nginx `auth_request` cannot pass mapped to 403.
    Nginx,
    /// `/ext_authz/...`: Envoy's HTTP authorization service.
    Envoy,
}

/// The path prefix of the Envoy dialect.
pub const ENVOY_PREFIX: &str = "/ext_authz";

/// The original request as the decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// Upper-case method.
    pub method: String,
    /// Origin-form target (`/mcp?x=1`).
    pub path_and_query: String,
    /// The absolute URL for DPoP `htu`.
    pub url: String,
    /// The client address.
    pub client: IpAddr,
}

/// Reads the original request. `origins` is the configured public origins, the public URL's
/// first. Errors are for a 400 (said to the proxy's operator; nothing secret in them).
pub fn original(
    dialect: Dialect,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    peer: SocketAddr,
    trusted: &[Cidr],
    origins: &[String],
) -> Result<Original, String> {
    let peer_ip = canonical(peer.ip());
    let peer_trusted = trusted.iter().any(|c| c.contains(peer_ip));
    let (method, path_and_query) = match dialect {
        Dialect::Envoy => {
            let path = uri.path().strip_prefix(ENVOY_PREFIX).unwrap_or("");
            let path = if path.is_empty() { "/" } else { path };
            if !path.starts_with('/') {
                return Err(format!("the path must start with {ENVOY_PREFIX}/"));
            }
            let target = match uri.query() {
                Some(q) => format!("{path}?{q}"),
                None => path.to_string(),
            };
            (method.as_str().to_string(), target)
        }
        Dialect::Forward | Dialect::Nginx => {
            let method = one(headers, "x-original-method")?
                .or(one(headers, "x-forwarded-method")?)
                // nginx sends its subrequest with the original method when no header says it.
                .unwrap_or(method.as_str());
            let target = one(headers, "x-original-uri")?
                .or(one(headers, "x-forwarded-uri")?)
                .ok_or("no X-Original-URI or X-Forwarded-Uri header: the proxy must send the original request target")?;
            (method.to_string(), target.to_string())
        }
    };
    if method.is_empty()
        || method.len() > 32
        || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
    {
        return Err("the original method is not an HTTP method".into());
    }
    if !path_and_query.starts_with('/')
        || path_and_query.len() > 8192
        || path_and_query.bytes().any(|b| b <= b' ' || b == 0x7f)
    {
        return Err("the original URI must be an origin-form target such as /mcp?x=1".into());
    }

    let mut origin = origins.first().cloned().unwrap_or_default();
    if peer_trusted {
        let host = match one(headers, "x-forwarded-host")? {
            Some(h) => Some(h),
            None if dialect == Dialect::Envoy => one(headers, "host")?,
            None => None,
        };
        if let Some(host) = host.and_then(first_item) {
            let default_scheme = origin.split("://").next().unwrap_or("https");
            let proto = one(headers, "x-forwarded-proto")?
                .and_then(first_item)
                .unwrap_or(default_scheme);
            if let Some(candidate) = normalize_origin(&format!("{proto}://{host}"))
                .filter(|candidate| origins.contains(candidate))
            {
                origin = candidate;
            }
        }
    }
    let client = if peer_trusted {
        forwarded_client(headers, trusted)?.unwrap_or(peer_ip)
    } else {
        peer_ip
    };
    Ok(Original {
        url: format!("{origin}{path_and_query}"),
        method: method.to_ascii_uppercase(),
        path_and_query,
        client,
    })
}

/// The value of a header that must appear at most once.
fn one<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<Option<&'h str>, String> {
    let name = HeaderName::from_static(name);
    let mut values = headers.get_all(&name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("{name} appears more than once"));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| format!("{name} is not visible ASCII"))
}

fn first_item(value: &str) -> Option<&str> {
    value
        .split(',')
        .next()
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn forwarded_client(headers: &HeaderMap, trusted: &[Cidr]) -> Result<Option<IpAddr>, String> {
    // Several X-Forwarded-For lines are one list (RFC 9110 §5.3).
    let mut entries = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value
            .to_str()
            .map_err(|_| "x-forwarded-for is not visible ASCII".to_string())?;
        entries.extend(value.split(',').map(str::trim));
    }
    if entries.is_empty() {
        return Ok(one(headers, "x-real-ip")?.and_then(parse_ip));
    }
    let mut nearest = None;
    for entry in entries.iter().rev() {
        let Some(ip) = parse_ip(entry) else {
            // Unreadable: what is left of it cannot be attributed; keep the last proxy seen.
            break;
        };
        nearest = Some(ip);
        if !trusted.iter().any(|c| c.contains(ip)) {
            break;
        }
    }
    Ok(nearest)
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
        })
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    fn origins() -> Vec<String> {
        vec![
            "https://mcp.example.com".into(),
            "https://alt.example.com:8443".into(),
        ]
    }

    fn run(
        dialect: Dialect,
        uri: &str,
        pairs: &[(&str, &str)],
        peer: &str,
        trusted: &[&str],
    ) -> Result<Original, String> {
        let trusted: Vec<Cidr> = trusted.iter().map(|t| Cidr::parse(t).unwrap()).collect();
        original(
            dialect,
            &Method::GET,
            &uri.parse().unwrap(),
            &headers(pairs),
            peer.parse().unwrap(),
            &trusted,
            &origins(),
        )
    }

    #[test]
    fn nginx_and_caddy_headers_give_the_original_request() {
        let o = run(
            Dialect::Nginx,
            "/auth/nginx",
            &[
                ("x-original-method", "post"),
                ("x-original-uri", "/mcp?a=1"),
            ],
            "10.0.0.1:5000",
            &[],
        )
        .unwrap();
        assert_eq!(o.method, "POST");
        assert_eq!(o.path_and_query, "/mcp?a=1");
        assert_eq!(o.url, "https://mcp.example.com/mcp?a=1");
        let o = run(
            Dialect::Forward,
            "/auth",
            &[("x-forwarded-method", "DELETE"), ("x-forwarded-uri", "/x")],
            "10.0.0.1:5000",
            &[],
        )
        .unwrap();
        assert_eq!(
            (o.method.as_str(), o.url.as_str()),
            ("DELETE", "https://mcp.example.com/x")
        );
        assert!(run(Dialect::Forward, "/auth", &[], "10.0.0.1:1", &[]).is_err());
        assert!(
            run(
                Dialect::Forward,
                "/auth",
                &[("x-original-uri", "/a"), ("x-original-uri", "/b")],
                "10.0.0.1:1",
                &[]
            )
            .is_err()
        );
        assert!(
            run(
                Dialect::Forward,
                "/auth",
                &[("x-original-uri", "http://evil/")],
                "10.0.0.1:1",
                &[]
            )
            .is_err()
        );
    }

    #[test]
    fn envoy_appends_the_original_path_to_the_prefix() {
        let o = run(
            Dialect::Envoy,
            "/ext_authz/mcp/tools?x=1",
            &[],
            "10.0.0.1:1",
            &[],
        )
        .unwrap();
        assert_eq!(o.path_and_query, "/mcp/tools?x=1");
        assert_eq!(o.method, "GET");
        let o = run(Dialect::Envoy, "/ext_authz", &[], "10.0.0.1:1", &[]).unwrap();
        assert_eq!(o.path_and_query, "/");
    }

    #[test]
    fn the_htu_origin_follows_forwarded_host_only_from_trusted_peers_and_listed_origins() {
        let fwd = [
            ("x-original-uri", "/mcp"),
            ("x-forwarded-host", "alt.example.com:8443"),
            ("x-forwarded-proto", "https"),
        ];
        let trusted = run(
            Dialect::Forward,
            "/auth",
            &fwd,
            "10.0.0.1:1",
            &["10.0.0.0/8"],
        )
        .unwrap();
        assert_eq!(trusted.url, "https://alt.example.com:8443/mcp");
        let untrusted = run(
            Dialect::Forward,
            "/auth",
            &fwd,
            "192.0.2.1:1",
            &["10.0.0.0/8"],
        )
        .unwrap();
        assert_eq!(untrusted.url, "https://mcp.example.com/mcp");
        let evil = [
            ("x-original-uri", "/mcp"),
            ("x-forwarded-host", "evil.example.net"),
            ("x-forwarded-proto", "https"),
        ];
        let o = run(
            Dialect::Forward,
            "/auth",
            &evil,
            "10.0.0.1:1",
            &["10.0.0.0/8"],
        )
        .unwrap();
        assert_eq!(o.url, "https://mcp.example.com/mcp");
        // Envoy: the Host header is the original authority.
        let o = run(
            Dialect::Envoy,
            "/ext_authz/mcp",
            &[("host", "ALT.example.com:8443")],
            "10.0.0.1:1",
            &["10.0.0.0/8"],
        )
        .unwrap();
        assert_eq!(o.url, "https://alt.example.com:8443/mcp");
    }

    #[test]
    fn the_client_address_comes_from_forwarded_for_only_behind_trusted_proxies() {
        let h = [
            ("x-original-uri", "/"),
            ("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.0.0.2"),
        ];
        let o = run(Dialect::Forward, "/auth", &h, "10.0.0.1:1", &["10.0.0.0/8"]).unwrap();
        assert_eq!(o.client.to_string(), "198.51.100.7");
        let o = run(
            Dialect::Forward,
            "/auth",
            &h,
            "192.0.2.1:1",
            &["10.0.0.0/8"],
        )
        .unwrap();
        assert_eq!(o.client.to_string(), "192.0.2.1");
        let real = [("x-original-uri", "/"), ("x-real-ip", "203.0.113.5")];
        let o = run(
            Dialect::Forward,
            "/auth",
            &real,
            "10.0.0.1:1",
            &["10.0.0.0/8"],
        )
        .unwrap();
        assert_eq!(o.client.to_string(), "203.0.113.5");
    }
}
