//! The one error conversion of the binding: a core [`jwtgate::Error`] (or a configuration
//! problem found while translating options) becomes a JavaScript `JwtGateError` with `code`,
//! `message` and `claim`.
//!
//! `JwtGateError` is defined in `index.js` and registered with [`register`] when the package
//! loads; the native side constructs it, so `verifySync` throws it and `verify` rejects with it
//! without any re-wrapping in JavaScript. (napi-rs would also put a custom `Error` status into
//! `err.code`, via `napi_create_error`, but it cannot carry `claim` or the class.)

use std::cell::RefCell;
use std::mem::ManuallyDrop;

use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, Unknown};
use napi::{Env, Status, sys};

/// Arguments of the registered class: `new JwtGateError(message, code, claim)`.
pub(crate) type ErrorClassArgs = FnArgs<(String, &'static str, Option<String>)>;

/// The registered class and the environment it belongs to. A reference is only valid in its
/// own environment, which lives on one thread, hence a thread-local. `ManuallyDrop`: when the
/// thread exits the environment is already gone, and the reference must be leaked, not freed.
struct Registered {
    env: sys::napi_env,
    class: ManuallyDrop<FunctionRef<ErrorClassArgs, Unknown<'static>>>,
}

thread_local! {
    static ERROR_CLASS: RefCell<Option<Registered>> = const { RefCell::new(None) };
}

/// Remembers `class` as this environment's `JwtGateError`.
pub(crate) fn register(
    env: &Env,
    class: &Function<ErrorClassArgs, Unknown<'static>>,
) -> napi::Result<()> {
    let registered = Registered {
        env: env.raw(),
        class: ManuallyDrop::new(class.create_ref()?),
    };
    ERROR_CLASS.with(|slot| {
        if let Some(mut old) = slot.borrow_mut().replace(registered) {
            // Still on the live environment that created it: release it properly.
            // SAFETY: `old.class` is never used again.
            unsafe { ManuallyDrop::drop(&mut old.class) };
        }
    });
    Ok(())
}

/// A rejection or configuration error from the core, as a `JwtGateError`.
pub(crate) fn from_core(env: &Env, error: &jwtgate::Error) -> napi::Error {
    to_js(
        env,
        error.code().as_str(),
        error.message().to_owned(),
        error.claim().map(str::to_owned),
    )
}

/// A configuration problem found while translating options (`config_invalid`).
pub(crate) fn config(env: &Env, message: impl Into<String>) -> napi::Error {
    to_js(
        env,
        jwtgate::ErrorCode::ConfigInvalid.as_str(),
        message.into(),
        None,
    )
}

/// Builds `new JwtGateError(message, code, claim)` and wraps it so that napi-rs throws (or
/// rejects with) that very object. Without a registered class (the addon loaded without
/// `index.js`), a plain `Error` whose message starts with the code.
fn to_js(env: &Env, code: &'static str, message: String, claim: Option<String>) -> napi::Error {
    let fallback = format!("{code}: {message}");
    let built = ERROR_CLASS.with(|slot| -> napi::Result<Option<napi::Error>> {
        let slot = slot.borrow();
        let Some(registered) = slot.as_ref().filter(|r| r.env == env.raw()) else {
            return Ok(None);
        };
        let class = registered.class.borrow_back(env)?;
        let instance = class.new_instance(FnArgs::from((message, code, claim)))?;
        Ok(Some(napi::Error::from(instance)))
    });
    match built {
        Ok(Some(error)) => error,
        _ => napi::Error::new(Status::GenericFailure, fallback),
    }
}

/// The message of a panic payload, for [`panic_error`].
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// A Rust panic on a worker thread, as a plain JS `Error` (exported functions get the same
/// treatment from napi-rs' `catch_unwind`).
pub(crate) fn panic_error(payload: Box<dyn std::any::Any + Send>) -> napi::Error {
    napi::Error::new(
        Status::GenericFailure,
        format!(
            "jwtgate: internal error (Rust panic): {}",
            panic_message(&*payload)
        ),
    )
}
