//! Fetching one JWKS document under the limits, and how long to trust it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::discovery::status_problem;
use super::fetch::{self, FetchLimits, Fetcher};
use crate::error::{Error, ErrorCode, quote};
use crate::keyset::KeySet;

/// Cache lifetime bounds for a fetched JWKS (DESIGN.md: `max-age` clamped to [60 s, 24 h],
/// 10 minutes without one).
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
const MIN_MAX_AGE: Duration = Duration::from_secs(60);
const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// A fetched and parsed JWKS.
#[derive(Debug)]
#[non_exhaustive]
pub struct FetchedJwks {
    /// Where it came from.
    pub url: String,
    /// The usable keys, and the skipped ones with reasons.
    pub keys: KeySet,
    /// How long to trust it (Cache-Control `max-age`, clamped).
    pub max_age: Duration,
    /// The response's `Date` header (for clock-skew checks).
    pub date: Option<String>,
}

/// Fetches and parses the JWKS at `uri`. On failure also says whether the URL looks gone
/// (404/410), which makes a discovering source look the URL up again.
pub(crate) fn fetch(
    uri: &str,
    fetcher: &dyn Fetcher,
    limits: &FetchLimits,
    max_keys: usize,
    fetches: &AtomicU64,
) -> Result<FetchedJwks, (Error, bool)> {
    let failed = |why: String, moved: bool| {
        let message = format!("JWKS {}: {why}", quote(uri));
        (Error::new(ErrorCode::JwksUnavailable, message), moved)
    };
    let unavailable = |why: String| failed(why, false);
    fetches.fetch_add(1, Ordering::Relaxed);
    let response = fetcher.get(uri, limits).map_err(unavailable)?;
    if response.status != 200 {
        let moved = matches!(response.status, 404 | 410);
        return Err(failed(status_problem(response.status), moved));
    }
    let text = std::str::from_utf8(&response.body)
        .map_err(|_| unavailable("the body is not UTF-8".into()))?;
    let keys = KeySet::from_jwks_json_limited(text, max_keys)
        .map_err(|e| unavailable(e.message().into()))?;
    // A JWKS that parses is authoritative even when no key in it is usable: the provider has
    // withdrawn its keys (ARCHITECTURE.md, "Remote keys"). Tokens then fail with key_not_found,
    // naming why the published keys were skipped.
    let keys = keys.fetched_remotely();
    let max_age = response
        .cache_control
        .as_deref()
        .and_then(fetch::max_age)
        .map_or(DEFAULT_MAX_AGE, |age| age.clamp(MIN_MAX_AGE, MAX_MAX_AGE));
    Ok(FetchedJwks {
        url: uri.to_string(),
        keys,
        max_age,
        date: response.date,
    })
}
