//! [`Stats`]: the core's `Stats` snapshot (`Verifier.stats()`), for metrics endpoints.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// What a verifier has done since it was built, and the state of its keys and cache. Counters
/// only grow: take two snapshots and subtract for rates.
#[pyclass(frozen, module = "jwtgate", name = "Stats")]
pub struct Stats {
    /// Credentials accepted (from the cache, by full verification, or as static tokens), less
    /// `refused_after_verification`.
    #[pyo3(get)]
    accepted: u64,
    /// Credentials that verified (counted in `cache_hits` or `verified`) and were then refused:
    /// their DPoP binding failed (RFC 9449), or, with several providers, the verifier's own
    /// required scopes were missing. They count as rejected.
    #[pyo3(get)]
    refused_after_verification: u64,
    /// Accepted from the verified-token cache, without crypto.
    #[pyo3(get)]
    cache_hits: u64,
    /// Accepted by a full verification (signature and claims).
    #[pyo3(get)]
    verified: u64,
    /// Accepted as configured static tokens.
    #[pyo3(get)]
    static_tokens: u64,
    /// Rejections, in total.
    #[pyo3(get)]
    rejected: u64,
    /// Rejections by error code, for the codes that occurred, in the core's order.
    rejected_by_code: Vec<(&'static str, u64)>,
    /// Cache lookups that found nothing usable.
    #[pyo3(get)]
    cache_misses: u64,
    /// Results stored in the cache.
    #[pyo3(get)]
    cache_inserts: u64,
    /// Live entries pushed out of the cache to make room.
    #[pyo3(get)]
    cache_evictions: u64,
    /// Entries in the cache now.
    #[pyo3(get)]
    cache_entries: usize,
    /// The cache's capacity (0 when it is disabled).
    #[pyo3(get)]
    cache_capacity: usize,
    /// Discovery documents fetched (attempts, failed ones included).
    #[pyo3(get)]
    discovery_fetches: u64,
    /// Discovery attempts that failed.
    #[pyo3(get)]
    discovery_failures: u64,
    /// JWKS documents fetched (attempts, failed ones included).
    #[pyo3(get)]
    jwks_fetches: u64,
    /// JWKS fetches that failed.
    #[pyo3(get)]
    jwks_failures: u64,
    /// Refreshes asked for by tokens with an unknown `kid`.
    #[pyo3(get)]
    kid_refreshes: u64,
    /// The current key set's generation.
    #[pyo3(get)]
    key_generation: u64,
    /// Seconds since the current remote key set was fetched, or None.
    #[pyo3(get)]
    key_age: Option<f64>,
    /// Whether the last good remote keys are in use because refreshes fail.
    #[pyo3(get)]
    keys_stale: bool,
    /// Calls to the provider's introspection endpoint (RFC 7662), failed ones included.
    #[pyo3(get)]
    introspections: u64,
    /// Introspection calls that failed (no answer, refused client credentials, a malformed
    /// answer, or too many calls at once).
    #[pyo3(get)]
    introspection_failures: u64,
}

impl Stats {
    /// Converts the core's snapshot.
    pub fn from_core(stats: jwtgate::Stats) -> Stats {
        Stats {
            accepted: stats.accepted,
            refused_after_verification: stats.refused_after_verification,
            cache_hits: stats.cache_hits,
            verified: stats.verified,
            static_tokens: stats.static_tokens,
            rejected: stats.rejected,
            rejected_by_code: stats
                .rejected_by_code
                .iter()
                .map(|&(code, count)| (code.as_str(), count))
                .collect(),
            cache_misses: stats.cache_misses,
            cache_inserts: stats.cache_inserts,
            cache_evictions: stats.cache_evictions,
            cache_entries: stats.cache_entries,
            cache_capacity: stats.cache_capacity,
            discovery_fetches: stats.discovery_fetches,
            discovery_failures: stats.discovery_failures,
            jwks_fetches: stats.jwks_fetches,
            jwks_failures: stats.jwks_failures,
            kid_refreshes: stats.kid_refreshes,
            key_generation: stats.key_generation,
            key_age: stats.key_age.map(|d| d.as_secs_f64()),
            keys_stale: stats.keys_stale,
            introspections: stats.introspections,
            introspection_failures: stats.introspection_failures,
        }
    }
}

#[pymethods]
impl Stats {
    /// Rejections by error code: a new `{code: count}` dict of the codes that occurred, in the
    /// core's order.
    #[getter]
    fn rejected_by_code<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for &(code, count) in &self.rejected_by_code {
            d.set_item(code, count)?;
        }
        Ok(d)
    }

    /// The snapshot as a plain, JSON-serialisable dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("accepted", self.accepted)?;
        d.set_item(
            "refused_after_verification",
            self.refused_after_verification,
        )?;
        d.set_item("cache_hits", self.cache_hits)?;
        d.set_item("verified", self.verified)?;
        d.set_item("static_tokens", self.static_tokens)?;
        d.set_item("rejected", self.rejected)?;
        d.set_item("rejected_by_code", self.rejected_by_code(py)?)?;
        d.set_item("cache_misses", self.cache_misses)?;
        d.set_item("cache_inserts", self.cache_inserts)?;
        d.set_item("cache_evictions", self.cache_evictions)?;
        d.set_item("cache_entries", self.cache_entries)?;
        d.set_item("cache_capacity", self.cache_capacity)?;
        d.set_item("discovery_fetches", self.discovery_fetches)?;
        d.set_item("discovery_failures", self.discovery_failures)?;
        d.set_item("jwks_fetches", self.jwks_fetches)?;
        d.set_item("jwks_failures", self.jwks_failures)?;
        d.set_item("kid_refreshes", self.kid_refreshes)?;
        d.set_item("key_generation", self.key_generation)?;
        d.set_item("key_age", self.key_age)?;
        d.set_item("keys_stale", self.keys_stale)?;
        d.set_item("introspections", self.introspections)?;
        d.set_item("introspection_failures", self.introspection_failures)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let by_code: Vec<String> = self
            .rejected_by_code
            .iter()
            .map(|(code, count)| format!("'{code}': {count}"))
            .collect();
        format!(
            "Stats(accepted={}, rejected={}, rejected_by_code={{{}}}, cache_hits={}, cache_entries={}, key_generation={})",
            self.accepted,
            self.rejected,
            by_code.join(", "),
            self.cache_hits,
            self.cache_entries,
            self.key_generation,
        )
    }
}
