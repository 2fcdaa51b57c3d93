//! Core errors as Python exceptions: one class per group users catch, the stable code on `.code`.
//!
//! | Python class | base | codes |
//! |---|---|---|
//! | `InvalidToken` | `ValueError` | every rejection not listed below |
//! | `ExpiredToken` | `InvalidToken` | `token_expired` |
//! | `InsufficientScope` | `InvalidToken` | `insufficient_scope` |
//! | `KeysUnavailable` | `InvalidToken` | `jwks_unavailable`, `discovery_failed` |
//! | `ConfigError` | `ValueError` | `config_invalid` |
//!
//! Every instance has `.code` (the core's `ErrorCode::as_str`), `.message` (the core's message,
//! also `str(err)`) and `.claim` (the claim concerned, or `None`). Messages never contain the
//! token (the core guarantees it). [`to_pyerr`] is the one conversion from the core's error.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};

use jwtgate::{Error, ErrorCode};

use crate::claims::Claims;

create_exception!(
    jwtgate,
    InvalidToken,
    PyValueError,
    "A credential was rejected. `.code` is the stable reason (see `jwtgate.ERROR_CODES`), \
`.message` the explanation for an operator, `.claim` the claim concerned or None."
);
create_exception!(
    jwtgate,
    ExpiredToken,
    InvalidToken,
    "The token's `exp` has passed (beyond the leeway): code `token_expired`."
);
create_exception!(
    jwtgate,
    InsufficientScope,
    InvalidToken,
    "The credential is valid but lacks a required scope: code `insufficient_scope` \
(HTTP 403). `.claims` holds the otherwise valid credential's claims."
);
create_exception!(
    jwtgate,
    KeysUnavailable,
    InvalidToken,
    "No usable key set: remote keys not fetched yet or every fetch failed (code \
`jwks_unavailable`), or issuer discovery failed (code `discovery_failed`)."
);
create_exception!(
    jwtgate,
    ConfigError,
    PyValueError,
    "The verifier's configuration is invalid or contradictory: code `config_invalid`."
);

/// The one conversion of a core [`Error`] into the matching Python exception.
pub fn to_pyerr(py: Python<'_>, error: &Error) -> PyErr {
    // `insufficient_scope` carries the otherwise valid credential: `.claims`.
    let claims = error
        .credential()
        .and_then(|verified| Bound::new(py, Claims::new(verified.clone())).ok())
        .map(Bound::into_any);
    build(
        &class_of(py, error.code()),
        error.code().as_str(),
        error.message(),
        error.claim(),
        claims,
    )
}

/// The exception class of a code (the table above).
fn class_of(py: Python<'_>, code: ErrorCode) -> Bound<'_, PyType> {
    match code {
        ErrorCode::TokenExpired => py.get_type::<ExpiredToken>(),
        ErrorCode::InsufficientScope => py.get_type::<InsufficientScope>(),
        ErrorCode::JwksUnavailable | ErrorCode::DiscoveryFailed => py.get_type::<KeysUnavailable>(),
        ErrorCode::ConfigInvalid => py.get_type::<ConfigError>(),
        _ => py.get_type::<InvalidToken>(),
    }
}

/// A rejection the binding finds before the core sees the credential (a `str` the core cannot
/// receive), with the class and code the core would use.
pub fn token_error(py: Python<'_>, code: ErrorCode, message: &str) -> PyErr {
    build(&class_of(py, code), code.as_str(), message, None, None)
}

/// A `ConfigError` for Python arguments the binding cannot hand to the core (wrong value for an
/// option, unknown algorithm name): same class and code as the core's `config_invalid`.
pub fn config_error(py: Python<'_>, message: impl AsRef<str>) -> PyErr {
    build(
        &py.get_type::<ConfigError>(),
        ErrorCode::ConfigInvalid.as_str(),
        message.as_ref(),
        None,
        None,
    )
}

/// Instantiates `class(message)` and sets `code`, `message`, `claim` (and `claims`).
fn build(
    class: &Bound<'_, PyType>,
    code: &str,
    message: &str,
    claim: Option<&str>,
    claims: Option<Bound<'_, PyAny>>,
) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let instance = class.call1((message,))?;
        instance.setattr("code", code)?;
        instance.setattr("message", message)?;
        instance.setattr("claim", claim)?;
        if let Some(claims) = claims {
            instance.setattr("claims", claims)?;
        }
        Ok(PyErr::from_value(instance))
    })();
    made.unwrap_or_else(|e| e)
}

/// Adds the exception classes and `ERROR_CODES` (every core code, in the core's order).
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("InvalidToken", py.get_type::<InvalidToken>())?;
    m.add("ExpiredToken", py.get_type::<ExpiredToken>())?;
    m.add("InsufficientScope", py.get_type::<InsufficientScope>())?;
    m.add("KeysUnavailable", py.get_type::<KeysUnavailable>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    // Class-level defaults, so that instances raised by Python code (tests, mocks) still have
    // the attributes.
    for (class, code) in [
        (py.get_type::<InvalidToken>(), "token_malformed"),
        (py.get_type::<ExpiredToken>(), "token_expired"),
        (py.get_type::<InsufficientScope>(), "insufficient_scope"),
        (py.get_type::<KeysUnavailable>(), "jwks_unavailable"),
        (py.get_type::<ConfigError>(), "config_invalid"),
    ] {
        class.setattr("code", code)?;
        class.setattr("message", "")?;
        class.setattr("claim", py.None())?;
    }
    py.get_type::<InsufficientScope>()
        .setattr("claims", py.None())?;
    let codes = PyTuple::new(py, ErrorCode::ALL.iter().map(|c| c.as_str()))?;
    m.add("ERROR_CODES", codes)?;
    Ok(())
}
