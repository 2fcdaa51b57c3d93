//! Just enough URL handling for key sources: scheme, host and path, and the transport policy
//! (`https` only, except loopback hosts or an explicit opt-in).
//!
//! The parser is deliberately narrower than RFC 3986: every character must be one RFC 3986
//! allows in its place, and a host is a DNS name of letters, digits, `-`, `.` and `_`, an IPv4
//! address, or a bracketed IPv6 address. Anything else — a backslash, a percent-encoded or
//! non-ASCII host, a user-info part — is refused, because URL parsers disagree on such input
//! (a WHATWG parser reads `https://evil.example\.idp.example/` as host `evil.example`), and a
//! user-supplied `Fetcher` must reach exactly the host this policy checked.

use crate::error::quote;

/// An absolute `http`/`https` URL, split where the policy and discovery need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    pub(crate) https: bool,
    /// `host[:port]` exactly as written.
    pub(crate) authority: String,
    /// The host without port or IPv6 brackets, lowercased.
    pub(crate) host: String,
    /// Path (and query), possibly empty; never contains the fragment.
    pub(crate) path: String,
}

impl HttpUrl {
    pub(crate) fn parse(url: &str) -> Result<HttpUrl, String> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("{} is not an http(s) URL", quote(url)));
        };
        if url.contains('#') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{} has a fragment or whitespace", quote(url)));
        }
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!(
                "{} has no host or has credentials in it",
                quote(url)
            ));
        }
        if let Some(bad) = path.chars().find(|&c| !is_path_or_query_char(c)) {
            return Err(format!(
                "{} has {} in its path, which RFC 3986 does not allow there (percent-encode it)",
                quote(url),
                quote(&bad.to_string())
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (inside, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{} has an unclosed IPv6 bracket", quote(url)))?;
            let ip: std::net::Ipv6Addr = inside
                .parse()
                .map_err(|_| format!("{} has an invalid IPv6 address", quote(url)))?;
            let port =
                match after {
                    "" => None,
                    _ => Some(after.strip_prefix(':').ok_or_else(|| {
                        format!("{} has text after its IPv6 address", quote(url))
                    })?),
                };
            (ip.to_string(), port)
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            if host.is_empty() || !host.chars().all(is_host_char) {
                return Err(format!(
                    "{} has a host that is not a plain DNS name or IP address (letters, digits, '-', '.', '_')",
                    quote(url)
                ));
            }
            (host.to_ascii_lowercase(), port)
        };
        if let Some(port) = port {
            if port.is_empty()
                || port.len() > 5
                || !port.bytes().all(|b| b.is_ascii_digit())
                || port.parse::<u32>().map_or(true, |p| p > 65535)
            {
                return Err(format!("{} has an invalid port", quote(url)));
            }
        }
        Ok(HttpUrl {
            https,
            authority: authority.to_string(),
            host,
            path: path.to_string(),
        })
    }

    /// Loopback hosts may use plain http (local identity providers, tests): literal loopback
    /// addresses (127.0.0.0/8, ::1) and the name `localhost` itself. Other names under
    /// `.localhost` are left to the resolver, which need not send them to loopback.
    pub(crate) fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Applies the transport policy.
    pub(crate) fn check_transport(&self, original: &str, allow_http: bool) -> Result<(), String> {
        if self.https || self.is_loopback() || allow_http {
            Ok(())
        } else {
            Err(format!(
                "{} uses plain http: only https is allowed, except for loopback hosts (or opt in with allow_insecure_http)",
                quote(original)
            ))
        }
    }

    /// The authority in RFC 3986 §6.2.2–6.2.3 normal form: lowercase host, IPv6 in brackets,
    /// the port only when it is not the scheme's default. `None` for an unparsable port.
    pub(crate) fn canonical_authority(&self) -> Option<String> {
        let (host, port) = match self.authority.strip_prefix('[') {
            Some(v6) => {
                let (_, after) = v6.split_once(']')?;
                (format!("[{}]", self.host), after.strip_prefix(':'))
            }
            None => (
                self.host.clone(),
                self.authority.split_once(':').map(|(_, p)| p),
            ),
        };
        let default = if self.https { 443 } else { 80 };
        match port.map(str::parse::<u16>) {
            Some(Ok(p)) if p != default => Some(format!("{host}:{p}")),
            Some(Err(_)) => None,
            _ => Some(host),
        }
    }

    pub(crate) fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }
}

/// RFC 3986 §3.2.2 reg-name characters, less percent-encoding and sub-delims.
fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')
}

/// RFC 3986 §3.3 and §3.4: `pchar`, `/` and `?` (unreserved, pct-encoded, sub-delims, `:`, `@`).
fn is_path_or_query_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.'
                | '_'
                | '~'
                | '%'
                | '!'
                | '$'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | ';'
                | '='
                | ':'
                | '@'
                | '/'
                | '?'
        )
}

/// Where to look for the provider metadata of `issuer`: OIDC Discovery first (path appended),
/// then RFC 8414 (well-known segment inserted between host and path).
pub(crate) fn discovery_urls(issuer: &str) -> Result<Vec<String>, String> {
    let url = HttpUrl::parse(issuer)?;
    let path = url.path.trim_end_matches('/');
    let base = issuer.trim_end_matches('/');
    let oidc = format!("{base}/.well-known/openid-configuration");
    let oauth = format!(
        "{}/.well-known/oauth-authorization-server{path}",
        url.origin()
    );
    Ok(vec![oidc, oauth])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_paths() {
        let u = HttpUrl::parse("https://Auth.Example.com:8443/realms/x?y=1").unwrap();
        assert_eq!(u.host, "auth.example.com");
        assert_eq!(u.authority, "Auth.Example.com:8443");
        assert_eq!(u.path, "/realms/x?y=1");
        assert_eq!(HttpUrl::parse("http://[::1]:80/").unwrap().host, "::1");
        for bad in [
            "ftp://x",
            "https://",
            "https://u:p@h/",
            "https://h/#f",
            "https://h /",
            "https://evil.example\\.idp.example/jwks",
            "https://idp.example/a\\b",
            "https://id%70.example/",
            "https://idp.exämple/",
            "https://idp.example:99999/",
            "https://idp.example:80a/",
            "https://[::1/",
            "https://[::1]x/",
            "https://[nope]/",
            "https://idp.example/{x}",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_http_only_on_loopback_or_opt_in() {
        for ok in [
            "http://127.0.0.1:9/x",
            "http://localhost/",
            "http://[::1]/",
            "https://idp.example",
        ] {
            assert!(
                HttpUrl::parse(ok)
                    .unwrap()
                    .check_transport(ok, false)
                    .is_ok(),
                "{ok}"
            );
        }
        let remote = "http://idp.example/jwks";
        assert!(
            HttpUrl::parse(remote)
                .unwrap()
                .check_transport(remote, false)
                .is_err()
        );
        assert!(
            HttpUrl::parse(remote)
                .unwrap()
                .check_transport(remote, true)
                .is_ok()
        );
        // A host that merely starts with 127, or a name under .localhost, is not loopback.
        for tricky in [
            "http://127.0.0.1.evil.example/",
            "http://idp.localhost/",
            "http://localhost.evil.example/",
        ] {
            assert!(
                HttpUrl::parse(tricky)
                    .unwrap()
                    .check_transport(tricky, false)
                    .is_err(),
                "{tricky}"
            );
        }
        let v6 = "http://[0:0:0:0:0:0:0:1]:8080/jwks";
        assert!(
            HttpUrl::parse(v6)
                .unwrap()
                .check_transport(v6, false)
                .is_ok()
        );
    }

    #[test]
    fn discovery_urls_follow_both_rules() {
        assert_eq!(
            discovery_urls("https://idp.example/realms/test").unwrap(),
            [
                "https://idp.example/realms/test/.well-known/openid-configuration",
                "https://idp.example/.well-known/oauth-authorization-server/realms/test"
            ]
        );
        assert_eq!(
            discovery_urls("https://idp.example/").unwrap(),
            [
                "https://idp.example/.well-known/openid-configuration",
                "https://idp.example/.well-known/oauth-authorization-server"
            ]
        );
    }
}
