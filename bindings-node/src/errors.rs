//! The one error conversion of the binding: a core [`jwtgate::Error`] (or a configuration
//! problem found while translating options) becomes a JavaScript `JwtGateError` with `code`,
//! `message`, `claim`, `detail` (the core's `ErrorDetail`) and, for `insufficient_scope`, `claims`
//! (the otherwise valid credential, `Error::credential`). `status` and `hint` come from the core's
//! code table (`errorCodes()`), looked up by the class itself.
//!
//! `JwtGateError` is defined in `index.js` and registered with [`register`] when the package
//! loads; the native side constructs it, so `verifySync` throws it and `verify` rejects with it
//! without any re-wrapping in JavaScript. The core's error itself travels along, as an `External`
//! the class keeps in a private field: `ProtectedResource.challenge(error)` hands it back to the
//! core, which builds the challenge from the error itself (code, missing scopes). (napi-rs would also put a custom `Error` status into
//! `err.code`, via `napi_create_error`, but it cannot carry `claim` or the class.)

use std::cell::RefCell;
use std::mem::ManuallyDrop;

use napi::bindgen_prelude::{
    External, FnArgs, Function, FunctionRef, JsObjectValue, Object, Unknown,
};
use napi::{Env, JsValue, Status, sys};
use napi_derive::napi;

use crate::claims;

/// The core's [`jwtgate::ErrorDetail`]: structured facts about a rejection. Only the facts the
/// error has are set (an empty list counts as absent).
#[napi(object, object_from_js = false)]
pub struct ErrorDetail {
    /// What the verifier expected: the configured issuers, audiences or `typ`.
    pub expected: Option<Vec<String>>,
    /// What the credential had: its `iss`, its `aud` values, its `typ` (each cut to 80 characters).
    pub found: Option<Vec<String>>,
    /// Required scopes the credential lacks.
    pub missing_scopes: Option<Vec<String>>,
    /// For time claims: whole seconds `exp` lies in the past, or `nbf`/`iat` in the future,
    /// beyond the leeway.
    pub skew_seconds: Option<f64>,
    /// The token's `kid`, for key errors.
    pub kid: Option<String>,
}

impl ErrorDetail {
    fn from_core(detail: &jwtgate::ErrorDetail) -> ErrorDetail {
        let list = |values: &[String]| (!values.is_empty()).then(|| values.to_vec());
        ErrorDetail {
            expected: list(&detail.expected),
            found: list(&detail.found),
            missing_scopes: list(&detail.missing_scopes),
            skew_seconds: detail.skew_seconds.map(|s| s as f64),
            kid: detail.kid.clone(),
        }
    }
}

/// Arguments of the registered class: `new JwtGateError(message, code, claim, detail, core)`,
/// `core` being the core's error itself (absent for configuration problems found here).
pub(crate) type ErrorClassArgs = FnArgs<(
    String,
    &'static str,
    Option<String>,
    Option<ErrorDetail>,
    Option<External<jwtgate::Error>>,
)>;

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
    from_core_with_message(env, error, error.message().to_owned())
}

/// [`from_core`] with another operator message (the core's error is what the class keeps).
pub(crate) fn from_core_with_message(
    env: &Env,
    error: &jwtgate::Error,
    message: String,
) -> napi::Error {
    to_js(
        env,
        error.code().as_str(),
        message,
        error.claim().map(str::to_owned),
        error.detail().map(ErrorDetail::from_core),
        Some(error),
    )
}

/// A configuration problem found while translating options (`config_invalid`).
pub(crate) fn config(env: &Env, message: impl Into<String>) -> napi::Error {
    to_js(
        env,
        jwtgate::ErrorCode::ConfigInvalid.as_str(),
        message.into(),
        None,
        None,
        None,
    )
}

/// Builds `new JwtGateError(message, code, claim, detail, core)` (plus `claims`, the credential
/// of an `insufficient_scope` rejection) and wraps it so that napi-rs throws (or rejects with) that
/// very object. Without a registered class (the addon loaded without `index.js`), a plain
/// `Error` whose message starts with the code.
fn to_js(
    env: &Env,
    code: &'static str,
    message: String,
    claim: Option<String>,
    detail: Option<ErrorDetail>,
    core: Option<&jwtgate::Error>,
) -> napi::Error {
    let credential = core.and_then(jwtgate::Error::credential);
    let fallback = format!("{code}: {message}");
    let built = ERROR_CLASS.with(|slot| -> napi::Result<Option<Unknown<'_>>> {
        let slot = slot.borrow();
        let Some(registered) = slot.as_ref().filter(|r| r.env == env.raw()) else {
            return Ok(None);
        };
        let class = registered.class.borrow_back(env)?;
        let core = core.map(|e| External::new(e.clone()));
        Ok(Some(class.new_instance(FnArgs::from((
            message, code, claim, detail, core,
        )))?))
    });
    let instance = match built {
        Ok(Some(instance)) => instance,
        _ => return napi::Error::new(Status::GenericFailure, fallback),
    };
    if let Some(verified) = credential {
        // Outside the class's borrow: the claims factory is JavaScript too.
        let attached = claims::to_js(env, verified).and_then(|claims| {
            Object::from_raw(env.raw(), instance.raw()).set_named_property("claims", claims)
        });
        if let Err(e) = attached {
            return e;
        }
    }
    napi::Error::from(instance)
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
