//! The two hot entry points, `verifySync` and `verify`, as raw N-API callbacks.
//!
//! Why not `#[napi]` methods: on this project's machine a cached verification costs the core
//! about 100 ns, while napi-rs' generated glue for a class method cost about 240 ns before the
//! body ran, and its `String` conversion (a length query, an allocation, then the copy) another
//! 270 ns for a 611-byte token. Here each call is one `napi_get_cb_info` (the verifier is the
//! function's data pointer: no unwrap) and one `napi_get_value_string_utf8` into a reused
//! buffer. The functions are created per verifier by `NativeVerifier::entryPoints()` and keep
//! its [`State`] alive until they are garbage-collected.
//!
//! Everything else goes through napi-rs as usual; this file holds the binding's `unsafe` FFI.

use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::rc::Rc;

use jwtgate::Verified;
use napi::bindgen_prelude::{AsyncTask, JsError, Object, ToNapiValue};
use napi::{Env, JsValue, Status, sys};

use crate::verifier::State;
use crate::{claims, errors};

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Bytes of the reused token buffer: the core's default token limit (16 KiB) and its NUL.
const BUFFER_BYTES: usize = 16 * 1024 + 1;

thread_local! {
    /// The buffer tokens are read into (one per JS thread; calls on it do not overlap, and a
    /// nested call, should one ever happen, falls back to its own buffer).
    static TOKEN_BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(BUFFER_BYTES));
}

fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            Status::from(status),
            format!("jwtgate: {what} failed"),
        ))
    }
}

/// `{ verifySync, verify }` bound to `state`.
pub(crate) fn entry_points<'env>(env: &'env Env, state: &Rc<State>) -> napi::Result<Object<'env>> {
    let object = Object::new(env)?;
    let functions: [(&str, Callback); 2] = [("verifySync", verify_sync), ("verify", verify)];
    for (name, callback) in functions {
        let data = Rc::into_raw(Rc::clone(state)) as *mut c_void;
        let mut function = ptr::null_mut();
        // SAFETY: plain N-API calls on the current environment with valid out-pointers. `data`
        // is an owned `Rc<State>` that `release` frees when the function is collected.
        unsafe {
            if let Err(e) = check(
                sys::napi_create_function(
                    env.raw(),
                    name.as_ptr().cast(),
                    name.len() as isize,
                    Some(callback),
                    data,
                    &mut function,
                ),
                "napi_create_function",
            ) {
                drop(Rc::from_raw(data as *const State));
                return Err(e);
            }
            // Should this fail, the function lives on with `data`: leak the Rc rather than
            // free what the function still points to.
            check(
                sys::napi_add_finalizer(
                    env.raw(),
                    function,
                    data,
                    Some(release),
                    ptr::null_mut(),
                    ptr::null_mut(),
                ),
                "napi_add_finalizer",
            )?;
            check(
                sys::napi_set_named_property(
                    env.raw(),
                    object.raw(),
                    match name {
                        "verifySync" => c"verifySync".as_ptr(),
                        _ => c"verify".as_ptr(),
                    },
                    function,
                ),
                "napi_set_named_property",
            )?;
        }
    }
    Ok(object)
}

/// Frees an entry point's `Rc<State>` when the function is garbage-collected.
unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` came from `Rc::into_raw` in `entry_points`, and each finalizer runs once.
    drop(unsafe { Rc::from_raw(data as *const State) });
}

/// Runs an entry point: arguments `(token, objects)`, panics and errors turned into JS throws.
///
/// # Safety
/// `env` and `info` are the arguments N-API passed to the callback.
unsafe fn run(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    body: fn(&Env, &State, &str, sys::napi_value) -> napi::Result<sys::napi_value>,
) -> sys::napi_value {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut argc = 2;
        let mut argv = [ptr::null_mut(); 2];
        let mut data = ptr::null_mut();
        // SAFETY: valid out-pointers for two arguments (missing ones become `undefined`).
        check(
            unsafe {
                sys::napi_get_cb_info(
                    env,
                    info,
                    &mut argc,
                    argv.as_mut_ptr(),
                    ptr::null_mut(),
                    &mut data,
                )
            },
            "napi_get_cb_info",
        )?;
        // SAFETY: `data` is the `Rc<State>` given to this function in `entry_points`; it stays
        // alive while the function can be called.
        let state = unsafe { &*(data as *const State) };
        let env = Env::from_raw(env);
        with_token(&env, argv[0], |token| body(&env, state, token, argv[1]))
    }));
    let error = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(error)) => error,
        Err(panic) => errors::panic_error(panic),
    };
    // SAFETY: throwing on the callback's own environment.
    unsafe { JsError::from(error).throw_into(env) };
    ptr::null_mut()
}

/// Calls `f` with the JS string `value` as UTF-8 (N-API replaces lone surrogates with U+FFFD).
fn with_token<R>(
    env: &Env,
    value: sys::napi_value,
    f: impl FnOnce(&str) -> napi::Result<R>,
) -> napi::Result<R> {
    TOKEN_BUFFER.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut buffer) => f(read_string(env, value, &mut buffer)?),
        Err(_) => f(read_string(env, value, &mut Vec::new())?),
    })
}

fn read_string<'b>(
    env: &Env,
    value: sys::napi_value,
    buffer: &'b mut Vec<u8>,
) -> napi::Result<&'b str> {
    let not_a_string = |status: sys::napi_status| {
        if status == sys::Status::napi_string_expected {
            Err(napi::Error::new(
                Status::StringExpected,
                "token must be a string",
            ))
        } else {
            check(status, "napi_get_value_string_utf8")
        }
    };
    buffer.clear();
    if buffer.capacity() < BUFFER_BYTES {
        buffer.reserve(BUFFER_BYTES);
    }
    let mut written = 0;
    // SAFETY: N-API writes at most `capacity` bytes (NUL included) into the spare capacity.
    not_a_string(unsafe {
        sys::napi_get_value_string_utf8(
            env.raw(),
            value,
            buffer.as_mut_ptr().cast(),
            buffer.capacity(),
            &mut written,
        )
    })?;
    if written + 1 >= buffer.capacity() {
        // Possibly cut short: ask for the length, then read the whole string.
        let mut length = 0;
        // SAFETY: a length query (null buffer).
        not_a_string(unsafe {
            sys::napi_get_value_string_utf8(env.raw(), value, ptr::null_mut(), 0, &mut length)
        })?;
        buffer.reserve(length + 1);
        // SAFETY: as above, with room for the whole string.
        not_a_string(unsafe {
            sys::napi_get_value_string_utf8(
                env.raw(),
                value,
                buffer.as_mut_ptr().cast(),
                buffer.capacity(),
                &mut written,
            )
        })?;
    }
    // SAFETY: N-API initialised the first `written` bytes (`written` < capacity).
    unsafe { buffer.set_len(written) };
    std::str::from_utf8(buffer)
        .map_err(|_| napi::Error::new(Status::InvalidArg, "jwtgate: the token is not valid UTF-8"))
}

/// The claims object for a successful verification: the one built earlier for this very
/// `Verified` (at its slot of `objects`), or a new one.
fn claims_value(
    env: &Env,
    state: &State,
    token: &str,
    verified: Verified,
    objects: sys::napi_value,
) -> napi::Result<sys::napi_value> {
    if let Some(slot) = state.find(&verified) {
        let mut value = ptr::null_mut();
        let mut kind = sys::ValueType::napi_undefined;
        // SAFETY: element read and type query on the caller's array, valid out-pointers.
        unsafe {
            check(
                sys::napi_get_element(env.raw(), objects, slot, &mut value),
                "napi_get_element",
            )?;
            check(sys::napi_typeof(env.raw(), value, &mut kind), "napi_typeof")?;
        }
        if kind == sys::ValueType::napi_object {
            return Ok(value);
        }
    }
    let value = claims::to_js(env, &verified)?.raw();
    if let Some(slot) = state.remember(token, &verified) {
        // SAFETY: element write on the caller's array.
        check(
            unsafe { sys::napi_set_element(env.raw(), objects, slot, value) },
            "napi_set_element",
        )?;
    }
    Ok(value)
}

fn settle(
    env: &Env,
    state: &State,
    token: &str,
    outcome: Result<Verified, jwtgate::Error>,
    objects: sys::napi_value,
) -> napi::Result<sys::napi_value> {
    match outcome {
        Ok(verified) => claims_value(env, state, token, verified, objects),
        Err(error) => Err(errors::from_core(env, &error)),
    }
}

/// `verifySync(token, objects)`: the core's `verify_nonblocking`; when that needs a key fetch,
/// the blocking `verify` (which waits at most the fetch timeout).
unsafe extern "C" fn verify_sync(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    fn body(
        env: &Env,
        state: &State,
        token: &str,
        objects: sys::napi_value,
    ) -> napi::Result<sys::napi_value> {
        let outcome = match state.verifier.verify_nonblocking(token) {
            Some(outcome) => outcome,
            None => state.verifier.verify(token),
        };
        settle(env, state, token, outcome, objects)
    }
    // SAFETY: forwarded callback arguments.
    unsafe { run(env, info, body) }
}

/// `verify(token, objects)`: answered on the main thread when the token is likely cached (see
/// `tasks::Hints`) and the core needs no fetch; otherwise a Promise settled from the pool.
unsafe extern "C" fn verify(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    fn body(
        env: &Env,
        state: &State,
        token: &str,
        objects: sys::napi_value,
    ) -> napi::Result<sys::napi_value> {
        if state.hints.contains(state.hints.key(token))
            && let Some(outcome) = state.verifier.verify_nonblocking(token)
        {
            return settle(env, state, token, outcome, objects);
        }
        // SAFETY: converting the task (it becomes a Promise) on the callback's environment.
        unsafe { AsyncTask::to_napi_value(env.raw(), state.task(token.to_owned())) }
    }
    // SAFETY: forwarded callback arguments.
    unsafe { run(env, info, body) }
}
