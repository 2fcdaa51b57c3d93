//! How a token's `aud` is compared with the configured audiences: exactly (the default), or as
//! canonical resource URIs (MCP authorization, "Canonical Server URI": RFC 8707 resource
//! identifiers, whose canonical form has a lowercase scheme and host; implementations SHOULD accept
//! uppercase ones, and the trailing slash is tolerated).

use crate::remote::url::HttpUrl;

/// The audience comparison of a verifier ([`VerifierBuilder::audience_match`](crate::VerifierBuilder::audience_match)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AudienceMatch {
    /// Byte-for-byte equality (RFC 7519 §4.1.3 string comparison).
    #[default]
    Exact,
    /// URL-shaped audiences compare in canonical form: scheme and host case-insensitive, the
    /// default port (443, 80) dropped, one trailing slash of the path ignored. Path and query
    /// stay case-sensitive; values that are not http(s) URLs still compare exactly.
    CanonicalUri,
}

impl AudienceMatch {
    /// The form a value is compared in.
    pub(crate) fn normalise(self, value: &str) -> String {
        match self {
            AudienceMatch::Exact => value.to_owned(),
            AudienceMatch::CanonicalUri => canonical_uri(value).unwrap_or_else(|| value.to_owned()),
        }
    }
}

/// The canonical form of an http(s) URL, `None` for anything else.
fn canonical_uri(value: &str) -> Option<String> {
    let starts = |prefix: &str| {
        value
            .as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    // The prefixes are ASCII, so after a match the cut is a character boundary.
    let (scheme, rest) = if starts("https://") {
        ("https", &value[8..])
    } else if starts("http://") {
        ("http", &value[7..])
    } else {
        return None;
    };
    let url = HttpUrl::parse(&format!("{scheme}://{rest}")).ok()?;
    let authority = url.canonical_authority()?;
    let path = if url.path.contains('?') {
        url.path.as_str()
    } else {
        url.path.strip_suffix('/').unwrap_or(&url.path)
    };
    Some(format!("{scheme}://{authority}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_follow_the_mcp_rules() {
        let c = |s| AudienceMatch::CanonicalUri.normalise(s);
        assert_eq!(
            c("HTTPS://MCP.Example.COM:443/mcp/"),
            "https://mcp.example.com/mcp"
        );
        assert_eq!(c("https://mcp.example.com"), c("https://mcp.example.com/"));
        assert_eq!(c("http://localhost:80"), "http://localhost");
        assert_eq!(
            c("https://mcp.example.com:8443"),
            "https://mcp.example.com:8443"
        );
        assert_ne!(
            c("https://mcp.example.com/MCP"),
            c("https://mcp.example.com/mcp")
        );
        assert_eq!(c("https://[::1]:443/x"), "https://[::1]/x");
        // Not a URL: compared as it is.
        assert_eq!(c("api://Default"), "api://Default");
        assert_eq!(c("my-api"), "my-api");
        assert_eq!(AudienceMatch::Exact.normalise("HTTPS://A/"), "HTTPS://A/");
    }
}
