//! Python bindings for jwtgate: the native module `jwtgate._native`.
//!
//! This crate only translates. Options arrive as Python values and become a
//! [`jwtgate::VerifierBuilder`]; results leave as [`claims::Claims`] (a read-only mapping over a
//! [`jwtgate::Verified`]); every [`jwtgate::Error`] leaves through [`errors::to_pyerr`]. All
//! verification happens in the core crate.
//!
//! Modules mirror the core's concepts:
//!
//! | module | core | Python |
//! |---|---|---|
//! | [`verifier`] | `Verifier`, `VerifierBuilder` | `jwtgate.Verifier` |
//! | [`claims`] | `Verified` | `jwtgate.Claims` |
//! | [`access`] | `Verified` | a framework's `AccessToken` (`jwtgate._access`) |
//! | [`errors`] | `Error`, `ErrorCode`, `ErrorDetail` | `jwtgate.error_codes()`; the exceptions (`jwtgate/_errors.py`) |
//! | [`convert`] | – | Python values → Rust values, every failure a typed exception |
//! | [`remote`] | `KeysStatus` | `jwtgate.KeysStatus` |
//! | [`resource`] | `ProtectedResource`, `Challenge` | `jwtgate.ProtectedResource`, `jwtgate.Challenge` |
//! | [`stats`] | `Stats` | `jwtgate.Stats` |
//! | [`sign`] | `sign::SigningKey` | `jwtgate.testing.SigningKey` |
//!
//! Threading: every call into the core that may verify, wait or take one of its locks runs with
//! the Python thread state detached (`Python::detach`), so other Python threads keep running and
//! verifications scale across cores. The exception is the core's lock-free cache answer
//! (`Verifier::verify_cached`), cheaper than detaching and re-attaching: see `Verifier::cached`. Panics become `pyo3_runtime.PanicException` (pyo3 catches
//! them at the boundary); none unwinds into the interpreter.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod access;
pub mod claims;
pub mod convert;
pub mod errors;
pub mod remote;
pub mod resource;
pub mod sign;
pub mod stats;
pub mod verifier;

use pyo3::prelude::*;

/// The `log` targets the core logs under (its modules that log; `tests/test_logging.py` checks
/// the list against the core's sources). Their Python loggers are made at import.
const CORE_LOG_TARGETS: [&str; 4] = [
    "jwtgate",
    "jwtgate::builder",
    "jwtgate::keyset",
    "jwtgate::remote",
];

/// The extension module `jwtgate._native`; `jwtgate/__init__.py` re-exports its public names.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // Core log records (key refresh failures, skipped keys, the skipped-audience warning) go to
    // Python's logging, loggers `jwtgate.*`. Levels are read from Python on every record (they
    // are rare), so configuring logging after import works.
    //
    // Every Python logger a record can reach is created here, at import, on the importing
    // thread: a logger first created by the key-refresh thread would insert into logging's
    // registry while other code iterates it without logging's lock (pytest's log capture does),
    // which fails there with "dictionary changed size during iteration". For the same reason
    // only the core's records are forwarded, not those of the crates under it (ureq, rustls),
    // whose targets are not known in advance.
    let logging = py.import("logging")?;
    for target in CORE_LOG_TARGETS {
        logging.call_method1("getLogger", (target.replace("::", "."),))?;
    }
    let _ = pyo3_log::Logger::new(py, pyo3_log::Caching::Loggers)?
        .filter(log::LevelFilter::Off)
        .filter_target("jwtgate".to_owned(), log::LevelFilter::Trace)
        .install();

    m.add_class::<verifier::Verifier>()?;
    m.add_class::<claims::Claims>()?;
    m.add_class::<access::AccessTokens>()?;
    m.add_class::<remote::KeysStatus>()?;
    m.add_class::<stats::Stats>()?;
    m.add_class::<resource::ProtectedResource>()?;
    m.add_class::<resource::Challenge>()?;
    m.add_class::<sign::SigningKey>()?;
    errors::register(m)?;
    m.add("CRYPTO_BACKEND", jwtgate::CRYPTO_BACKEND)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(now_unix, m)?)?;
    m.add_function(wrap_pyfunction!(split_authorization, m)?)?;
    m.add_function(wrap_pyfunction!(auth_scheme, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_panic, m)?)?;
    Ok(())
}

/// Panics on purpose, so tests can prove that a Rust panic reaches Python as an exception
/// (`pyo3_runtime.PanicException`) and never aborts the interpreter. Not for other use.
#[pyfunction]
fn _debug_panic() {
    panic!("jwtgate debug panic: deliberate, for the FFI safety test");
}

/// An `Authorization` header value split as `Verifier.verify_request` splits it: the scheme and
/// the token (`jwtgate::split_authorization`). A value that is not a `str`, or has a lone
/// surrogate, is a `TypeError` / `ConfigError` as for every text argument.
#[pyfunction]
fn split_authorization(header: &Bound<'_, PyAny>) -> PyResult<(String, String)> {
    let header = convert::plain_text(header, "header")?;
    let (scheme, token) = jwtgate::split_authorization(&header);
    Ok((scheme.to_owned(), token.to_owned()))
}

/// The scheme a verifier reads under `name` (`jwtgate::AuthScheme::from_name`: compared
/// case-insensitively, RFC 9110 §11.1): `"bearer"`, `"dpop"`, or `None` for any other.
#[pyfunction]
fn auth_scheme(name: &Bound<'_, PyAny>) -> PyResult<Option<&'static str>> {
    let name = convert::plain_text(name, "name")?;
    Ok(match jwtgate::AuthScheme::from_name(&name) {
        Some(jwtgate::AuthScheme::Bearer) => Some("bearer"),
        Some(jwtgate::AuthScheme::Dpop) => Some("dpop"),
        // A scheme added to the core later: not one this binding's adapters read.
        Some(_) | None => None,
    })
}

/// The current time in whole seconds since the Unix epoch (the core's clock).
#[pyfunction]
fn now_unix() -> u64 {
    jwtgate::now_unix()
}
