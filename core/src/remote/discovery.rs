//! Provider metadata: OIDC Discovery 1.0 §4 and RFC 8414 §3, reduced to what a verifier needs —
//! the `jwks_uri`, after checking that the document speaks for the configured issuer.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::fetch::{FetchLimits, Fetcher};
use super::url::{HttpUrl, discovery_urls};
use crate::error::{Error, ErrorCode, quote};

/// Finds the JWKS URL of `issuer`, trying OIDC Discovery then RFC 8414.
pub(crate) fn discover(
    issuer: &str,
    fetcher: &dyn Fetcher,
    limits: &FetchLimits,
    allow_http: bool,
    fetches: &AtomicU64,
) -> Result<String, Error> {
    let failed = |why: String| Error::new(ErrorCode::DiscoveryFailed, why);
    let urls = discovery_urls(issuer).map_err(failed)?;
    let mut problems = Vec::new();
    for url in &urls {
        fetches.fetch_add(1, Ordering::Relaxed);
        let response = match fetcher.get(url, limits) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{url}: {e}"));
                continue;
            }
        };
        if response.status != 200 {
            problems.push(format!("{url}: {}", status_problem(response.status)));
            continue;
        }
        // A document that answers but is wrong is a configuration problem: report it as is.
        return jwks_uri_from(&response.body, issuer, url, allow_http).map_err(failed);
    }
    Err(failed(format!(
        "discovery for issuer {} failed: {}",
        quote(issuer),
        problems.join("; ")
    )))
}

/// Checks a metadata document and returns its `jwks_uri`.
pub(crate) fn jwks_uri_from(
    body: &[u8],
    issuer: &str,
    url: &str,
    allow_http: bool,
) -> Result<String, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| format!("{url}: not valid JSON ({e})"))?;
    let found = doc
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{url}: no issuer member"))?;
    if found != issuer {
        return Err(format!(
            "the discovery document at {url} names issuer {}, but the configured issuer is {} (they must be equal, including any trailing slash)",
            quote(found),
            quote(issuer)
        ));
    }
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{url}: no jwks_uri member"))?;
    let parsed = HttpUrl::parse(jwks_uri).map_err(|e| format!("{url}: jwks_uri: {e}"))?;
    parsed.check_transport(jwks_uri, allow_http)?;
    Ok(jwks_uri.to_string())
}

/// Describes a non-200 status for an operator.
pub(crate) fn status_problem(status: u16) -> String {
    match status {
        300..=399 => format!("HTTP {status}: redirects are not followed; configure the final URL"),
        _ => format!("HTTP {status} (expected 200)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_must_match_exactly() {
        let doc = br#"{"issuer":"https://idp.example/","jwks_uri":"https://idp.example/jwks"}"#;
        let err = jwks_uri_from(doc, "https://idp.example", "u", false).unwrap_err();
        assert!(
            err.contains(r#"names issuer "https://idp.example/""#),
            "{err}"
        );
        assert_eq!(
            jwks_uri_from(doc, "https://idp.example/", "u", false).unwrap(),
            "https://idp.example/jwks"
        );
    }

    #[test]
    fn jwks_uri_must_be_https_off_loopback() {
        let doc = br#"{"issuer":"https://idp.example","jwks_uri":"http://idp.example/jwks"}"#;
        assert!(
            jwks_uri_from(doc, "https://idp.example", "u", false)
                .unwrap_err()
                .contains("plain http")
        );
        let doc = br#"{"issuer":"https://idp.example"}"#;
        assert!(
            jwks_uri_from(doc, "https://idp.example", "u", false)
                .unwrap_err()
                .contains("no jwks_uri")
        );
    }
}
