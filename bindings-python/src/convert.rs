//! Python values → Rust values for options and arguments, every failure a typed exception.
//!
//! The rule: a value of the wrong type is a `TypeError`; a value of the right type that Rust
//! cannot hold or the core cannot use is a `ConfigError` (`config_invalid`) — a number out of
//! range (negative, NaN, infinite, larger than a `Duration`, a `usize` or the calendar), a `str`
//! with a lone surrogate (it has no UTF-8 form), `bytes` that are not UTF-8. A credential that
//! cannot be valid is an `InvalidToken`. Nothing here panics: no `Duration::from_secs_f64`, no
//! unchecked `SystemTime` arithmetic, no `OverflowError` or `UnicodeEncodeError` leaking out of
//! pyo3's own conversions.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString};

use jwtgate::ErrorCode;

use crate::errors::{config_error, to_pyerr, token_error};

/// An option's value, `None` for Python's `None` too.
pub fn given<'py>(value: Option<Bound<'py, PyAny>>) -> Option<Bound<'py, PyAny>> {
    value.filter(|v| !v.is_none())
}

fn lone_surrogate(py: Python<'_>, name: &str) -> PyErr {
    config_error(
        py,
        format!("{name} is not valid Unicode: it contains a lone surrogate"),
    )
}

/// A `str` as UTF-8 (a lone surrogate is a `ConfigError`).
fn str_text(value: &Bound<'_, PyString>, name: &str) -> PyResult<String> {
    value
        .to_cow()
        .map(Cow::into_owned)
        .map_err(|_| lone_surrogate(value.py(), name))
}

/// A `str`, or UTF-8 `bytes`.
pub fn text(value: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return String::from_utf8(bytes.as_bytes().to_vec())
            .map_err(|_| config_error(value.py(), format!("{name} is not UTF-8")));
    }
    match value.cast::<PyString>() {
        Ok(s) => str_text(s, name),
        Err(_) => Err(PyTypeError::new_err(format!("{name} must be a str"))),
    }
}

/// A `str` only (no `bytes`).
pub fn plain_text(value: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    match value.cast::<PyString>() {
        Ok(s) => str_text(s, name),
        Err(_) => Err(PyTypeError::new_err(format!("{name} must be a str"))),
    }
}

/// A `str` (UTF-8 encoded) or `bytes`.
pub fn bytes(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    match value.cast::<PyString>() {
        Ok(s) => str_text(s, name).map(String::into_bytes),
        Err(_) => Err(PyTypeError::new_err(format!("{name} must be str or bytes"))),
    }
}

/// A `bool` (no truthiness: `1`, `"yes"` or `None` passed on purpose are not flags).
pub fn flag(value: &Bound<'_, PyAny>, name: &str) -> PyResult<bool> {
    value
        .cast::<PyBool>()
        .map(|b| b.is_true())
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a bool")))
}

/// One string, or an iterable of strings (a lone `str` is one value, never its characters).
pub fn strings(value: Option<Bound<'_, PyAny>>, name: &str) -> PyResult<Vec<String>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let shape = || PyTypeError::new_err(format!("{name} must be a str or a list of str"));
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(vec![str_text(s, name)?]);
    }
    if value.is_instance_of::<PyBytes>() {
        // Iterable, but of ints: never what was meant.
        return Err(shape());
    }
    let iter = value.try_iter().map_err(|_| shape())?;
    iter.map(|item| match item?.cast::<PyString>() {
        Ok(s) => str_text(s, name),
        Err(_) => Err(shape()),
    })
    .collect()
}

/// A space-separated `str` or an iterable of strings (scopes).
pub fn scopes(value: Option<Bound<'_, PyAny>>, name: &str) -> PyResult<Vec<String>> {
    match value {
        Some(value) if value.is_instance_of::<PyString>() => Ok(text(&value, name)?
            .split_whitespace()
            .map(str::to_owned)
            .collect()),
        value => strings(value, name),
    }
}

/// A real number: `int` (however large), `float`, or an object with `__float__`; `bool` is
/// not a number here. An `int` too large for a float is a `ConfigError`.
fn number(value: &Bound<'_, PyAny>, name: &str, what: &str) -> PyResult<f64> {
    let py = value.py();
    let wrong_type = || PyTypeError::new_err(format!("{name} must be {what}"));
    if value.is_instance_of::<PyBool>() {
        return Err(wrong_type());
    }
    match value.extract::<f64>() {
        Ok(n) => Ok(n),
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
            Err(config_error(py, format!("{name} is out of range")))
        }
        Err(_) if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() => {
            Err(config_error(py, format!("{name} is out of range")))
        }
        Err(_) => Err(wrong_type()),
    }
}

/// Seconds as a non-negative number or a `timedelta`, checked into a `Duration`.
pub fn seconds(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Duration> {
    let py = value.py();
    const WHAT: &str = "seconds (an int or a float) or a timedelta";
    let secs = if value.is_instance_of::<PyInt>()
        || value.is_instance_of::<PyFloat>()
        || !value.hasattr("total_seconds")?
    {
        number(value, name, WHAT)?
    } else {
        let total = value.call_method0("total_seconds")?;
        number(&total, name, WHAT)?
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(config_error(
            py,
            format!("{name} must be a finite, non-negative number of seconds, got {secs}"),
        ));
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|_| config_error(py, format!("{name} is too large: {secs} seconds")))
}

/// A whole number for a size option: an `int` (or an object with `__index__`) in `usize`.
pub fn size(value: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    let py = value.py();
    let wrong_type = || PyTypeError::new_err(format!("{name} must be an int"));
    if value.is_instance_of::<PyBool>() {
        return Err(wrong_type());
    }
    match value.extract::<usize>() {
        Ok(n) => Ok(n),
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
            let negative = value.lt(0).unwrap_or(false);
            Err(config_error(
                py,
                if negative {
                    format!("{name} must not be negative")
                } else {
                    format!("{name} is too large (more than {})", usize::MAX)
                },
            ))
        }
        Err(e) if e.is_instance_of::<PyTypeError>(py) => Err(wrong_type()),
        Err(e) => Err(e),
    }
}

/// `now` for `verify_at`: seconds since the epoch or a `datetime` (anything with
/// `timestamp()`), from 1970 to the end of year 9999.
pub fn unix_time(value: &Bound<'_, PyAny>) -> PyResult<SystemTime> {
    let py = value.py();
    const WHAT: &str = "seconds since the Unix epoch (an int or a float) or a datetime";
    let seconds = if value.is_instance_of::<PyInt>()
        || value.is_instance_of::<PyFloat>()
        || !value.hasattr("timestamp")?
    {
        number(value, "now", WHAT)?
    } else {
        // datetime.timestamp() raises OverflowError / ValueError for dates it cannot place.
        let stamp = value.call_method0("timestamp").map_err(|e| {
            if e.is_instance_of::<PyOverflowError>(py) || e.is_instance_of::<PyValueError>(py) {
                config_error(py, format!("now is out of range: {e}"))
            } else {
                e
            }
        })?;
        number(&stamp, "now", WHAT)?
    };
    // The range rule is the core's, so Python and Node accept the same instants.
    jwtgate::time_from_unix_seconds(seconds).map_err(|e| to_pyerr(py, &e))
}

/// A bearer credential: a `str`; one with a lone surrogate is no credential (`token_malformed`),
/// and is never mapped to another string (U+FFFD) that a configured static token might equal.
pub fn credential(value: &Bound<'_, PyAny>) -> PyResult<String> {
    let s = value
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("token must be a str"))?;
    s.to_cow().map(Cow::into_owned).map_err(|_| {
        token_error(
            value.py(),
            ErrorCode::TokenMalformed,
            "the credential is not valid Unicode: it contains a lone surrogate",
        )
    })
}

/// [`credential`] borrowed from the Python string (no copy: a `str`'s UTF-8 text lives as long
/// as the object, and a `str` never changes).
pub fn credential_ref<'a>(value: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, str>> {
    let s = value
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("token must be a str"))?;
    s.to_cow().map_err(|_| {
        token_error(
            value.py(),
            ErrorCode::TokenMalformed,
            "the credential is not valid Unicode: it contains a lone surrogate",
        )
    })
}
