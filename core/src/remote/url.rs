//! Just enough URL handling for key sources: scheme, host and path, and the transport policy
//! (`https` only, except loopback hosts or an explicit opt-in).

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
        let host = if let Some(v6) = authority.strip_prefix('[') {
            v6.split(']').next().unwrap_or_default().to_string()
        } else {
            authority
                .split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        };
        if host.is_empty() {
            return Err(format!("{} has no host", quote(url)));
        }
        Ok(HttpUrl {
            https,
            authority: authority.to_string(),
            host,
            path: path.to_string(),
        })
    }

    /// Loopback hosts may use plain http (local identity providers, tests).
    pub(crate) fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host.ends_with(".localhost")
            || self.host == "::1"
            || self
                .host
                .parse::<std::net::Ipv4Addr>()
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

    pub(crate) fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }
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
        // A host that merely starts with 127 is not loopback.
        let tricky = "http://127.0.0.1.evil.example/";
        assert!(
            HttpUrl::parse(tricky)
                .unwrap()
                .check_transport(tricky, false)
                .is_err()
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
