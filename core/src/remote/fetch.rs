//! Fetching documents over HTTP: the [`Fetcher`] trait users can implement, and the default
//! blocking client (ureq on rustls, with the same crypto backend as verification; no OpenSSL).

use std::time::Duration;

/// What a fetch may take: the verifier passes its limits to every call.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// Whole-request deadline (connect, TLS, headers and body).
    pub timeout: Duration,
    /// Largest body accepted; a longer body is an error, not a truncation.
    pub max_body_bytes: usize,
}

/// An HTTP response as the key source needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    /// The status code (redirects are returned as-is, never followed).
    pub status: u16,
    /// The body (at most `max_body_bytes`).
    pub body: Vec<u8>,
    /// The `Cache-Control` header, if any.
    pub cache_control: Option<String>,
    /// The `Date` header, if any.
    pub date: Option<String>,
}

/// Performs HTTP GETs for discovery and JWKS documents.
///
/// Implement it to route fetches through your own client (a proxy, custom roots, a test double).
/// Implementations must not follow redirects and must respect the limits.
pub trait Fetcher: Send + Sync {
    /// GETs `url`. Non-200 statuses are responses, not errors; errors are transport failures,
    /// timeouts and bodies over the limit, described in a short phrase.
    ///
    /// # Errors
    /// A description of the transport failure.
    fn get(&self, url: &str, limits: &FetchLimits) -> Result<FetchResponse, String>;

    /// POSTs an `application/x-www-form-urlencoded` body with extra headers (token
    /// introspection, RFC 7662). The default refuses: a fetcher that only GETs still serves keys.
    ///
    /// # Errors
    /// A description of the transport failure.
    fn post_form(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
        limits: &FetchLimits,
    ) -> Result<FetchResponse, String> {
        let _ = (url, headers, body, limits);
        Err("this Fetcher does not implement post_form, which token introspection needs".into())
    }
}

/// The default fetcher: a blocking HTTP/1.1 client on rustls with Mozilla's root certificates.
#[cfg(feature = "http")]
pub struct HttpFetcher {
    agent: ureq::Agent,
}

#[cfg(feature = "http")]
impl HttpFetcher {
    /// A client with `timeout` as its whole-request deadline.
    pub fn new(timeout: Duration) -> HttpFetcher {
        use std::sync::Arc;
        use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
        #[cfg(feature = "aws-lc-rs")]
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
        let provider = rustls::crypto::ring::default_provider();
        let agent = ureq::Agent::config_builder()
            .tls_config(
                TlsConfig::builder()
                    .provider(TlsProvider::Rustls)
                    .unversioned_rustls_crypto_provider(Arc::new(provider))
                    .root_certs(RootCerts::WebPki)
                    .build(),
            )
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("jwtgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        HttpFetcher { agent }
    }
}

#[cfg(feature = "http")]
impl Fetcher for HttpFetcher {
    fn get(&self, url: &str, limits: &FetchLimits) -> Result<FetchResponse, String> {
        let mut response = self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .config()
            .timeout_global(Some(limits.timeout))
            .build()
            .call()
            .map_err(describe)?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (cache_control, date) = (header("cache-control"), header("date"));
        read_response(&mut response, limits, cache_control, date)
    }

    fn post_form(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
        limits: &FetchLimits,
    ) -> Result<FetchResponse, String> {
        let mut request = self
            .agent
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let mut response = request
            .config()
            .timeout_global(Some(limits.timeout))
            .build()
            .send(body)
            .map_err(describe)?;
        let date = response
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        read_response(&mut response, limits, None, date)
    }
}

/// Reads a response body within the limit.
#[cfg(feature = "http")]
fn read_response(
    response: &mut ureq::http::Response<ureq::Body>,
    limits: &FetchLimits,
    cache_control: Option<String>,
    date: Option<String>,
) -> Result<FetchResponse, String> {
    {
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            // ureq fails once its limit is used up even when the body ends there, so allow one
            // byte more and check the exact bound ourselves: a body of exactly the limit passes.
            .limit(limits.max_body_bytes as u64 + 1)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => too_big(limits),
                other => describe(other),
            })?;
        if body.len() > limits.max_body_bytes {
            return Err(too_big(limits));
        }
        Ok(FetchResponse {
            status,
            body,
            cache_control,
            date,
        })
    }
}

#[cfg(feature = "http")]
fn too_big(limits: &FetchLimits) -> String {
    format!(
        "the response body exceeds {} KiB",
        limits.max_body_bytes / 1024
    )
}

#[cfg(feature = "http")]
fn describe(e: ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".to_string(),
        ureq::Error::Io(io) => format!("connection failed: {io}"),
        ureq::Error::HostNotFound => "host not found".to_string(),
        other => other.to_string(),
    }
}

/// The `max-age` of a `Cache-Control` header, if it has one.
pub(crate) fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|directive| {
        let (name, value) = directive.trim().split_once('=')?;
        if name.trim().eq_ignore_ascii_case("max-age") {
            value
                .trim()
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_age() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("Max-Age = \"60\""), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-store"), None);
        assert_eq!(max_age("max-age=-5"), None);
    }
}
