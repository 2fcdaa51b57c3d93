//! [`KeysStatus`]: the core's `KeysStatus` snapshot for health endpoints and diagnostics.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::to_pyerr;

/// The state of a verifier's keys at one moment (`Verifier.keys_status()`).
#[pyclass(frozen, module = "jwtgate", name = "KeysStatus", get_all)]
pub struct KeysStatus {
    /// `"static"`, or the JWKS URL (once known), or a description of the discovery source.
    source: String,
    /// Whether keys are available.
    ready: bool,
    /// Whether the last fetch failed and the last good keys are in use meanwhile
    /// (stale-if-error, bounded by `max_stale`).
    stale: bool,
    /// The current key set's generation (bumped on every swap).
    generation: u64,
    /// The `kid`s of the usable keys (keys without one are not listed).
    kids: Vec<String>,
    /// Number of usable keys.
    key_count: usize,
    /// Keys of the last fetched document that were skipped: dicts with `kid`, `index`, `reason`.
    skipped: Vec<Py<PyDict>>,
    /// Seconds since the current set was fetched (remote sources), or None.
    age: Option<f64>,
    /// Seconds the current set is fresh for (from `Cache-Control`, clamped to [60, 86400]).
    max_age: Option<f64>,
    /// Seconds the last good set keeps verifying after refreshes start failing (remote
    /// sources), or None.
    max_stale: Option<f64>,
    /// The error of the last failed fetch (an exception instance, not raised), or None.
    last_error: Option<Py<PyAny>>,
    /// HTTP requests made (discovery and JWKS).
    fetches: u64,
    /// Fetch attempts that failed.
    failures: u64,
}

impl KeysStatus {
    /// Converts the core's snapshot.
    pub fn from_core(py: Python<'_>, status: jwtgate::KeysStatus) -> PyResult<KeysStatus> {
        let skipped = status
            .skipped
            .iter()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("kid", s.kid.as_deref())?;
                d.set_item("index", s.index)?;
                d.set_item("reason", &s.reason)?;
                Ok(d.unbind())
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(KeysStatus {
            source: status.source,
            ready: status.ready,
            stale: status.stale,
            generation: status.generation,
            kids: status.kids,
            key_count: status.key_count,
            skipped,
            age: status.age.map(|d| d.as_secs_f64()),
            max_age: status.max_age.map(|d| d.as_secs_f64()),
            max_stale: status.max_stale.map(|d| d.as_secs_f64()),
            last_error: status
                .last_error
                .as_ref()
                .map(|e| to_pyerr(py, e).into_value(py).into_any()),
            fetches: status.fetches,
            failures: status.failures,
        })
    }
}

#[pymethods]
impl KeysStatus {
    /// The status as a plain dict (JSON-serialisable: `last_error` becomes
    /// `{"code", "message"}` or None).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("source", &self.source)?;
        d.set_item("ready", self.ready)?;
        d.set_item("stale", self.stale)?;
        d.set_item("generation", self.generation)?;
        d.set_item("kids", &self.kids)?;
        d.set_item("key_count", self.key_count)?;
        d.set_item("skipped", &self.skipped)?;
        d.set_item("age", self.age)?;
        d.set_item("max_age", self.max_age)?;
        d.set_item("max_stale", self.max_stale)?;
        let last_error = match &self.last_error {
            Some(e) => {
                let e = e.bind(py);
                let out = PyDict::new(py);
                out.set_item("code", e.getattr("code")?)?;
                out.set_item("message", e.getattr("message")?)?;
                Some(out)
            }
            None => None,
        };
        d.set_item("last_error", last_error)?;
        d.set_item("fetches", self.fetches)?;
        d.set_item("failures", self.failures)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "KeysStatus(source={:?}, ready={}, stale={}, generation={}, kids={:?}, fetches={}, failures={})",
            self.source,
            if self.ready { "True" } else { "False" },
            if self.stale { "True" } else { "False" },
            self.generation,
            self.kids,
            self.fetches,
            self.failures
        )
    }
}
