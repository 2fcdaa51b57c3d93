//! Node bindings for jwtgate (napi-rs): the native half of the npm package `jwtgate`.
//!
//! The binding translates types and errors and nothing else: every decision about a token is
//! made by the `jwtgate` crate. The JavaScript half (`index.js`) defines the public `Verifier`,
//! `JwtGateError` and the claims objects, and registers the two hooks this side calls
//! ([`setup`]).
//!
//! | module | mirrors (core) | what it converts |
//! |---|---|---|
//! | `verifier` | `verifier.rs`, `remote/mod.rs`, `stats.rs` | options → `VerifierBuilder`; the plain `#[napi]` verify entry points; `KeysStatus`; `Stats` |
//! | `fastcall` | – | the same `verifySync` / `verify` as raw N-API callbacks (the binding's `unsafe` FFI) |
//! | `claims` | `verified.rs` | `Verified` → one frozen JS object, reused for the same `Verified::token_id` |
//! | `errors` | `error.rs` | `jwtgate::Error` → `JwtGateError` (`code`, `message`, `claim`, `detail`, `claims`) |
//! | `resource` | `resource.rs` | `ProtectedResource` (RFC 9728 document, RFC 6750 challenges) → `NativeProtectedResource`; `Challenge` |
//! | `tasks` | – | blocking core calls (key fetches, introspection calls) run on the libuv thread pool (`AsyncTask`) |
//!
//! Every exported function is compiled with `catch_unwind`: a Rust panic becomes a thrown JS
//! `Error`, never an abort.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::collections::HashMap;

use napi::Env;
use napi::bindgen_prelude::{Function, Unknown};
use napi_derive::napi;

mod claims;
mod errors;
mod fastcall;
mod resource;
mod tasks;
mod verifier;

pub use errors::ErrorDetail;
pub use resource::{Challenge, NativeProtectedResource, malformed_credential};
pub use verifier::{
    CodeCount, ErrorInfo, IntrospectionOptions, KeysStatus, NativeVerifier, SkippedKey,
    StaticTokenOptions, Stats, VerifierOptions,
};

/// Registers the JavaScript hooks of this JS environment (main thread or worker): the
/// `JwtGateError` class and the claims-object factory. `index.js` calls it once when loaded.
#[napi(catch_unwind)]
pub fn setup(
    env: &Env,
    #[napi(
        ts_arg_type = "new (message: string, code: string, claim?: string | null, detail?: ErrorDetail | null, core?: ExternalObject<unknown> | null) => Error"
    )]
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

/// One row of the core's error-code table (`ErrorCode`).
#[napi(object, object_from_js = false)]
pub struct ErrorCodeInfo {
    /// The stable code (`ErrorCode::as_str`).
    pub code: &'static str,
    /// The HTTP status a resource server answers with (`ErrorCode::http_status`).
    pub status: u16,
    /// The fixed sentence safe to send to a client (`ErrorCode::client_description`).
    pub client_description: &'static str,
    /// What an operator can do about it (`ErrorCode::hint`).
    pub hint: &'static str,
}

/// The core's error-code table: every code (`ErrorCode::ALL`, in its stable order) with its
/// HTTP status, client description and operator hint.
#[napi(catch_unwind)]
pub fn error_codes() -> Vec<ErrorCodeInfo> {
    jwtgate::ErrorCode::ALL
        .iter()
        .map(|c| ErrorCodeInfo {
            code: c.as_str(),
            status: c.http_status(),
            client_description: c.client_description(),
            hint: c.hint(),
        })
        .collect()
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
