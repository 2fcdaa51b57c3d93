//! Provider metadata: OIDC Discovery 1.0 §4 and RFC 8414 §3, reduced to what a verifier needs —
//! the `jwks_uri` (and, for diagnostics, the advertised algorithms), after checking that the
//! document speaks for the configured issuer.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::fetch::{FetchLimits, Fetcher};
use super::url::{HttpUrl, discovery_urls};
use crate::error::{Error, ErrorCode, quote};

/// A provider's metadata document, checked against the expected issuer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The URL the document was fetched from.
    pub url: String,
    /// Its `issuer` (equal to the expected one).
    pub issuer: String,
    /// Its `jwks_uri`.
    pub jwks_uri: String,
    /// `id_token_signing_alg_values_supported` and RFC 8414's signing algorithm lists, merged.
    pub signing_algs: Vec<String>,
    /// The response's `Date` header (for clock-skew checks).
    pub date: Option<String>,
    /// The whole document.
    pub document: Value,
}

/// Finds the metadata of `issuer`, trying OIDC Discovery then RFC 8414.
pub(crate) fn discover(
    issuer: &str,
    fetcher: &dyn Fetcher,
    limits: &FetchLimits,
    allow_http: bool,
    fetches: &AtomicU64,
) -> Result<ProviderMetadata, Error> {
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
        return metadata_from(&response.body, issuer, url, allow_http)
            .map(|metadata| ProviderMetadata {
                date: response.date,
                ..metadata
            })
            .map_err(failed);
    }
    Err(failed(format!(
        "discovery for issuer {} failed: {}",
        quote(issuer),
        problems.join("; ")
    )))
}

/// Checks a metadata document.
pub(crate) fn metadata_from(
    body: &[u8],
    issuer: &str,
    url: &str,
    allow_http: bool,
) -> Result<ProviderMetadata, String> {
    crate::json::check_document(body, "the discovery document")
        .map_err(|e| format!("{url}: {}", e.message()))?;
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
    // A document served for an https issuer cannot downgrade key transport to plain http,
    // loopback or not: the keys would lose the protection the issuer's URL promised.
    if !parsed.https && HttpUrl::parse(issuer).is_ok_and(|i| i.https) {
        return Err(format!(
            "the discovery document at {url} names jwks_uri {} over plain http for an https issuer; keys must be fetched over https",
            quote(jwks_uri)
        ));
    }
    let mut signing_algs: Vec<String> = Vec::new();
    for member in [
        "id_token_signing_alg_values_supported",
        "token_endpoint_auth_signing_alg_values_supported",
        "authorization_signing_alg_values_supported",
    ] {
        for alg in doc
            .get(member)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(alg) = alg
                .as_str()
                .filter(|a| !signing_algs.iter().any(|s| s == a))
            {
                signing_algs.push(alg.to_string());
            }
        }
    }
    Ok(ProviderMetadata {
        url: url.to_string(),
        issuer: found.to_string(),
        jwks_uri: jwks_uri.to_string(),
        signing_algs,
        date: None,
        document: doc.clone(),
    })
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
        let err = metadata_from(doc, "https://idp.example", "u", false).unwrap_err();
        assert!(
            err.contains(r#"names issuer "https://idp.example/""#),
            "{err}"
        );
        assert_eq!(
            metadata_from(doc, "https://idp.example/", "u", false)
                .unwrap()
                .jwks_uri,
            "https://idp.example/jwks"
        );
    }

    #[test]
    fn jwks_uri_must_be_https_off_loopback() {
        let doc = br#"{"issuer":"https://idp.example","jwks_uri":"http://idp.example/jwks"}"#;
        assert!(
            metadata_from(doc, "https://idp.example", "u", false)
                .unwrap_err()
                .contains("plain http")
        );
        let doc = br#"{"issuer":"https://idp.example"}"#;
        assert!(
            metadata_from(doc, "https://idp.example", "u", false)
                .unwrap_err()
                .contains("no jwks_uri")
        );
    }
}
