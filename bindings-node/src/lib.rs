//! Node bindings for jwtgate (napi-rs): the native half of the npm package `jwtgate`.
//!
//! The binding translates types and errors and nothing else: every decision about a token is
//! made by the `jwtgate` crate. The JavaScript half (`index.js`) defines the public `Verifier`,
//! `JwtGateError` and the claims objects, and registers the two hooks this side calls
//! ([`setup`]).
//!
//! | module | mirrors (core) | what it converts |
//! |---|---|---|
//! | `verifier` | `verifier.rs`, `remote/mod.rs` | options → `VerifierBuilder`; `verify*` entry points; `KeysStatus` |
//! | `claims` | `verified.rs` | `Verified` → one frozen JS object, reused while the core returns the same `Verified` |
//! | `errors` | `error.rs` | `jwtgate::Error` → `JwtGateError` (`code`, `message`, `claim`) |
//! | `tasks` | – | blocking core calls run on the libuv thread pool (`AsyncTask`) |
//!
//! Every exported function is compiled with `catch_unwind`: a Rust panic becomes a thrown JS
//! `Error`, never an abort.

#![deny(missing_docs)]

use std::collections::HashMap;

use napi::Env;
use napi::bindgen_prelude::{Function, Unknown};
use napi_derive::napi;

mod claims;
mod errors;
mod fastcall;
mod tasks;
mod verifier;

pub use verifier::{
    ErrorInfo, KeysStatus, NativeVerifier, SkippedKey, StaticTokenOptions, VerifierOptions,
};

/// Registers the JavaScript hooks of this JS environment (main thread or worker): the
/// `JwtGateError` class and the claims-object factory. `index.js` calls it once when loaded.
#[napi(catch_unwind)]
pub fn setup(
    env: &Env,
    #[napi(ts_arg_type = "new (message: string, code: string, claim?: string | null) => Error")]
    error_class: Function<errors::ErrorClassArgs, Unknown<'static>>,
    #[napi(ts_arg_type = "(...fields: any[]) => object")] make_claims: Function<
        claims::FactoryArgs,
        Unknown<'static>,
    >,
) -> napi::Result<()> {
    install_logger();
    errors::register(env, &error_class)?;
    claims::register(env, &make_claims)
}

/// The core reports operator-relevant events with `log::warn!` (a key refresh that failed, JWKS
/// keys that were skipped, a disabled audience check): they go to stderr, as Node's own
/// warnings do.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("{}", record.args());
        }
    }

    fn flush(&self) {}
}

fn install_logger() {
    static LOGGER: StderrLogger = StderrLogger;
    // Fails only if a logger is already installed in this addon (a second environment).
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

/// Every error code (`ErrorCode::ALL` of the core), in its stable order.
#[napi(catch_unwind)]
pub fn error_codes() -> Vec<&'static str> {
    jwtgate::ErrorCode::ALL.iter().map(|c| c.as_str()).collect()
}

/// What a client may be told about each error code: the core's fixed
/// `ErrorCode::client_description`, code → sentence (no URL, no expected or found value).
#[napi(catch_unwind)]
pub fn client_descriptions() -> HashMap<&'static str, &'static str> {
    jwtgate::ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str(), c.client_description()))
        .collect()
}

/// Panics on purpose, so tests can prove that a Rust panic reaches JavaScript as a thrown
/// `Error` and never aborts the process. Not for other use.
#[napi(catch_unwind, js_name = "_debugPanic")]
pub fn debug_panic() {
    panic!("jwtgate debug panic: deliberate, for the FFI safety test");
}

/// The crypto backend compiled into the addon (`"aws-lc-rs"`).
#[napi]
pub const CRYPTO_BACKEND: &str = jwtgate::CRYPTO_BACKEND;
