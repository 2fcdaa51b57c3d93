//! [`ProtectedResource`] and [`Challenge`]: the core's RFC 9728 metadata document and RFC 6750
//! `WWW-Authenticate` challenges (MCP authorization, resource-server rules), for Python web
//! frameworks. The adapters (`jwtgate.fastmcp`, `jwtgate.mcp`) serve and send exactly these.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::convert::{given, plain_text, scopes, strings};
use crate::errors::{core_error, to_pyerr};

/// A protected resource (an MCP server): its identifier, authorization servers and scopes, where
/// its metadata document is served, and the answers to refused requests.
#[pyclass(frozen, module = "jwtgate", name = "ProtectedResource")]
pub struct ProtectedResource {
    core: jwtgate::ProtectedResource,
}

impl ProtectedResource {
    /// Wraps a core resource.
    pub fn from_core(core: jwtgate::ProtectedResource) -> ProtectedResource {
        ProtectedResource { core }
    }
}

/// What to answer a refused request: `status`, and the `WWW-Authenticate` header value (sent as
/// it is; `None` for 5xx answers), and `dpop_nonce` for a `DPoP-Nonce` header when set.
#[pyclass(frozen, module = "jwtgate", name = "Challenge", get_all)]
pub struct Challenge {
    /// 401, 403, or the 5xx status of a server-side problem.
    status: u16,
    /// The `WWW-Authenticate` header value, or `None`.
    www_authenticate: Option<String>,
    /// A server nonce for the `DPoP-Nonce` header (RFC 9449 §8), or `None`.
    dpop_nonce: Option<String>,
}

#[pymethods]
impl Challenge {
    /// The response headers to send: `WWW-Authenticate` and `DPoP-Nonce` when set.
    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::with_capacity(2);
        if let Some(value) = &self.www_authenticate {
            headers.push(("WWW-Authenticate", value.clone()));
        }
        if let Some(nonce) = &self.dpop_nonce {
            headers.push(("DPoP-Nonce", nonce.clone()));
        }
        headers
    }

    fn __repr__(&self) -> String {
        let text = |v: &Option<String>| {
            v.as_ref()
                .map_or_else(|| "None".to_owned(), |s| format!("{s:?}"))
        };
        format!(
            "Challenge(status={}, www_authenticate={}, dpop_nonce={})",
            self.status,
            text(&self.www_authenticate),
            text(&self.dpop_nonce)
        )
    }
}

#[pymethods]
impl ProtectedResource {
    /// `ProtectedResource(resource, authorization_servers, scopes_supported=())`; raises
    /// `ConfigError` for a resource that is not an https URL (http on loopback) without query or
    /// fragment, an authorization server that is not a URL, or a scope that is not an RFC 6749
    /// scope token.
    #[new]
    #[pyo3(signature = (resource, authorization_servers, scopes_supported = None))]
    fn new(
        py: Python<'_>,
        resource: &Bound<'_, PyAny>,
        authorization_servers: &Bound<'_, PyAny>,
        scopes_supported: Option<Bound<'_, PyAny>>,
    ) -> PyResult<ProtectedResource> {
        let resource = plain_text(resource, "resource")?;
        let servers = strings(Some(authorization_servers.clone()), "authorization_servers")?;
        let scopes = scopes(given(scopes_supported), "scopes_supported")?;
        let servers: Vec<&str> = servers.iter().map(String::as_str).collect();
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        jwtgate::ProtectedResource::new(&resource, &servers, &scopes)
            .map(ProtectedResource::from_core)
            .map_err(|e| to_pyerr(py, &e))
    }

    /// The resource identifier.
    #[getter]
    fn resource(&self) -> &str {
        self.core.resource()
    }

    /// Where the metadata document is served: the `resource_metadata` of every challenge.
    #[getter]
    fn metadata_url(&self) -> &str {
        self.core.metadata_url()
    }

    /// The path of [`metadata_url`](Self::metadata_url), for routing.
    #[getter]
    fn metadata_path(&self) -> &str {
        self.core.metadata_path()
    }

    /// The RFC 9728 metadata document as JSON text (with `dpop_signing_alg_values_supported`,
    /// and `dpop_bound_access_tokens_required` in required mode, for a verifier's resource).
    fn metadata_json(&self) -> String {
        self.core.metadata_json()
    }

    /// The RFC 9728 metadata document as a new `dict`.
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        LOADS
            .import(py, "json", "loads")?
            .call1((self.core.metadata_json(),))
    }

    /// The answer to a refused request. `error` is the exception jwtgate raised for it (`None`
    /// when the request carried no credential); `required_scopes` every scope the operation
    /// needs (sent together in one challenge).
    #[pyo3(signature = (error = None, required_scopes = None))]
    fn challenge(
        &self,
        error: Option<Bound<'_, PyAny>>,
        required_scopes: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Challenge> {
        let rejection = match given(error) {
            None => None,
            Some(error) => Some(core_error(&error).ok_or_else(|| {
                PyTypeError::new_err(
                    "error must be an exception raised by jwtgate (it carries the core's error), or None for a request without a credential",
                )
            })?),
        };
        let required = scopes(given(required_scopes), "required_scopes")?;
        let required: Vec<&str> = required.iter().map(String::as_str).collect();
        let answer = self.core.challenge(rejection.as_ref(), &required);
        Ok(Challenge {
            status: answer.status,
            www_authenticate: answer.www_authenticate,
            dpop_nonce: answer.dpop_nonce,
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "ProtectedResource(resource={:?}, metadata_url={:?})",
            self.core.resource(),
            self.core.metadata_url()
        )
    }
}
