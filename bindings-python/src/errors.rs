//! Core errors as Python exceptions, and the core's table of codes as data.
//!
//! The exception classes (`InvalidToken` and its subclasses, `ConfigError`) are declared in
//! `jwtgate/_errors.py`, not here: PyO3 can only extend a native exception type
//! (`#[pyclass(extends=PyValueError)]`) when the limited API is Python 3.12 or later, and this
//! package is one abi3 wheel for CPython ≥ 3.9 (pyo3's `abi3-py39`). What that module
//! decides is the Python shape only: one class per group users catch, chosen for each code by
//! the core's HTTP status (see `CLASS_BY_CODE` there). Everything an exception says comes from
//! here:
//!
//! * [`to_pyerr`], the one conversion of a core [`Error`]: class by code, `.code`, `.message`,
//!   `.claim`, `.detail` (the core's [`ErrorDetail`] as a dict), and for `insufficient_scope`
//!   `.claims` (the core's [`Error::credential`]);
//! * [`error_codes`], the core's table ([`ErrorCode::ALL`] with each code's HTTP status,
//!   client-safe description and operator hint), from which the classes read `.status`,
//!   `.client_description` and `.hint`.
//!
//! Messages never contain the token (the core guarantees it).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};

use jwtgate::{Error, ErrorCode, ErrorDetail};

use crate::claims::Claims;

/// One row of the core's error table: a code and what every language says about it.
#[pyclass(frozen, module = "jwtgate", name = "ErrorCodeInfo", get_all)]
pub struct ErrorCodeInfo {
    /// The stable code (`"token_expired"`, …): the value of an exception's `.code`.
    code: &'static str,
    /// The HTTP status a resource server answers with (401, 403, 500 or 503).
    status: u16,
    /// A fixed sentence safe to send to an unauthenticated client.
    client_description: &'static str,
    /// What an operator can do about it.
    hint: &'static str,
}

#[pymethods]
impl ErrorCodeInfo {
    fn __repr__(&self) -> String {
        format!(
            "ErrorCodeInfo(code={:?}, status={}, client_description={:?}, hint={:?})",
            self.code, self.status, self.client_description, self.hint
        )
    }
}

/// The core's error table, in the core's order: every code with its HTTP status, client-safe
/// description and operator hint.
#[pyfunction]
pub fn error_codes(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    let rows = ErrorCode::ALL.iter().map(|&code| ErrorCodeInfo {
        code: code.as_str(),
        status: code.http_status(),
        client_description: code.client_description(),
        hint: code.hint(),
    });
    PyTuple::new(py, rows)
}

/// The core's error itself, kept on the exception it became (attribute [`CORE_ERROR_ATTR`]) so
/// that the core can answer for it later: `ProtectedResource.challenge(error)` builds the
/// challenge from the core's error, not from a Python copy of its fields. Not pickled.
#[pyclass(frozen, module = "jwtgate._native", name = "_CoreError")]
pub struct CoreError(pub Error);

#[pymethods]
impl CoreError {
    fn __repr__(&self) -> String {
        format!("<jwtgate core error {}>", self.0.code().as_str())
    }
}

/// The exception attribute holding its [`CoreError`].
pub const CORE_ERROR_ATTR: &str = "_core_error";

/// The core error an exception raised by jwtgate carries (`None` for one built in Python).
pub fn core_error(exception: &Bound<'_, PyAny>) -> Option<Error> {
    let held = exception.getattr(CORE_ERROR_ATTR).ok()?;
    let held = held.cast::<CoreError>().ok()?;
    Some(held.get().0.clone())
}

/// The one conversion of a core [`Error`] into the matching Python exception.
pub fn to_pyerr(py: Python<'_>, error: &Error) -> PyErr {
    let err = exception(py, error.code(), error.message(), |kwargs| {
        kwargs.set_item("claim", error.claim())?;
        if let Some(detail) = error.detail() {
            kwargs.set_item("detail", detail_dict(py, detail)?)?;
        }
        // `insufficient_scope` carries the otherwise valid credential: `.claims`.
        if let Some(verified) = error.credential() {
            kwargs.set_item("claims", Claims::new(verified.clone()))?;
        }
        Ok(())
    });
    let value = err.value(py);
    if let Ok(held) = Bound::new(py, CoreError(error.clone())) {
        // Only fails for an exception that refuses attributes, which these classes never do.
        let _ = value.setattr(CORE_ERROR_ATTR, held);
    }
    err
}

/// A rejection the binding finds before the core sees the credential (a `str` the core cannot
/// receive), with the class and code the core would use.
pub fn token_error(py: Python<'_>, code: ErrorCode, message: &str) -> PyErr {
    exception(py, code, message, |_| Ok(()))
}

/// A `ConfigError` for Python arguments the binding cannot hand to the core (wrong value for an
/// option, unknown algorithm name): same class and code as the core's `config_invalid`.
pub fn config_error(py: Python<'_>, message: impl AsRef<str>) -> PyErr {
    exception(py, ErrorCode::ConfigInvalid, message.as_ref(), |_| Ok(()))
}

/// `CLASS_BY_CODE[code](message, code=code, **extra)`; an error while building it (none is
/// expected) is returned in its place.
fn exception(
    py: Python<'_>,
    code: ErrorCode,
    message: &str,
    extra: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>,
) -> PyErr {
    static CLASS_BY_CODE: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    let made = (|| -> PyResult<PyErr> {
        let class = CLASS_BY_CODE
            .import(py, "jwtgate._errors", "CLASS_BY_CODE")?
            .as_any()
            .get_item(code.as_str())?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("code", code.as_str())?;
        extra(&kwargs)?;
        Ok(PyErr::from_value(class.call((message,), Some(&kwargs))?))
    })();
    made.unwrap_or_else(|e| e)
}

/// The core's [`ErrorDetail`] as a dict holding only the facts the error has: `expected`,
/// `found`, `missing_scopes` (lists of str), `skew_seconds` (int), `kid` (str).
fn detail_dict<'py>(py: Python<'py>, detail: &ErrorDetail) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, values) in [
        ("expected", &detail.expected),
        ("found", &detail.found),
        ("missing_scopes", &detail.missing_scopes),
    ] {
        if !values.is_empty() {
            dict.set_item(key, values)?;
        }
    }
    if let Some(skew) = detail.skew_seconds {
        dict.set_item("skew_seconds", skew)?;
    }
    if let Some(kid) = &detail.kid {
        dict.set_item("kid", kid)?;
    }
    Ok(dict)
}

/// Adds `error_codes`, `ErrorCodeInfo` and `ERROR_CODES` (every core code, in the core's order).
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<ErrorCodeInfo>()?;
    m.add_class::<CoreError>()?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    let codes = PyTuple::new(py, ErrorCode::ALL.iter().map(|c| c.as_str()))?;
    m.add("ERROR_CODES", codes)?;
    Ok(())
}
