//! The two hot entry points, `verifySync` and `verify`, as raw N-API callbacks.
//!
//! Why not `#[napi]` methods: napi-rs' generated glue for a class method unwraps `this` and
//! converts a `String` argument with a length query, an allocation and a copy, which costs more
//! than the core's answer for a cached token. Here each call is one `napi_get_cb_info` (the
//! verifier is the function's data pointer: no unwrap) and one `napi_get_value_string_utf8`
//! into a reused buffer. The functions are created per verifier by
//! `NativeVerifier::entryPoints()` and keep its [`State`] alive until they are
//! garbage-collected.
//!
//! Everything after the arguments are read is shared with the plain `#[napi]` twins in
//! `verifier.rs` (`verifySyncPlain`, `verifyPlain`): [`State::verify_sync`],
//! [`State::nonblocking`], [`State::settle`], [`State::task`]. `test/fastpath.test.mjs` runs the shared conformance
//! fixtures through both and demands identical results; `benchmarks/fastpath.mjs` measures
//! both in one run (README "Performance").
//!
//! This file holds the binding's raw FFI. Its `unsafe` is fenced: every unsafe operation sits
//! in its own block (even inside `unsafe fn`), and each block states why it is sound.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::cell::RefCell;
use std::ffi::{CStr, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::{AsyncTask, JsError, Object, ToNapiValue};
use napi::{Env, JsValue, Status};
use napi_sys as sys;

use crate::errors;
use crate::verifier::{self, State};

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// What an entry point does once its arguments are read: `(env, state, token, arguments)`,
/// where `arguments` are the raw values after the token (as many as the caller passed, at
/// most [`MAX_ARGS`] − 1). Returns the raw value to hand back to JavaScript.
type Body = fn(&Env, &State, &str, &[sys::napi_value]) -> napi::Result<sys::napi_value>;

/// The most arguments an entry point reads: `(token, objects, epochSeconds)`.
const MAX_ARGS: usize = 3;

/// Starting capacity of the reused token buffer, room for the tokens identity providers issue.
/// A longer string is read into a buffer of its own, which is not kept. (How long a token may
/// be is the core's `max_token_bytes`, checked there.)
const BUFFER_BYTES: usize = 8 * 1024;

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
    let functions: [(&CStr, Callback); 2] = [(c"verifySync", verify_sync), (c"verify", verify)];
    for (name, callback) in functions {
        let data = Rc::into_raw(Rc::clone(state)) as *mut c_void;
        let mut function = ptr::null_mut();
        // SAFETY: `env` is the live environment of this call; `name` is a NUL-terminated
        // string whose length we pass; `callback` has the signature N-API calls; `function` is
        // a valid out-pointer. `data` is an owned `Rc<State>` that outlives the function (freed
        // by `release`, or right below if creation fails).
        let status = unsafe {
            sys::napi_create_function(
                env.raw(),
                name.as_ptr(),
                name.count_bytes() as isize,
                Some(callback),
                data,
                &mut function,
            )
        };
        if let Err(e) = check(status, "napi_create_function") {
            // SAFETY: no function was created, so nothing else holds `data`, which came from
            // `Rc::into_raw` above: reclaiming it once is sound.
            drop(unsafe { Rc::from_raw(data as *const State) });
            return Err(e);
        }
        // Should this fail, the function lives on with `data`: the Rc is leaked rather than
        // freed while the function still points to it.
        // SAFETY: `function` is the live function just created on `env`; `release` has the
        // finalizer signature and frees exactly the `data` given here; the out-pointer for a
        // reference may be null (none is wanted).
        let status = unsafe {
            sys::napi_add_finalizer(
                env.raw(),
                function,
                data,
                Some(release),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        check(status, "napi_add_finalizer")?;
        // SAFETY: `object` and `function` are live values of `env`; `name` is NUL-terminated.
        let status = unsafe {
            sys::napi_set_named_property(env.raw(), object.raw(), name.as_ptr(), function)
        };
        check(status, "napi_set_named_property")?;
    }
    Ok(object)
}

/// Frees an entry point's `Rc<State>` when the function is garbage-collected.
///
/// # Safety
/// Called by N-API only, once per function, with the `data` registered in [`entry_points`].
unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` came from `Rc::into_raw` in `entry_points`, and each finalizer runs once,
    // after which the function (the only other holder of the pointer) is gone.
    drop(unsafe { Rc::from_raw(data as *const State) });
}

/// Runs an entry point: reads the arguments `(token, …)`, calls `body`, and turns panics and
/// errors into JS throws.
///
/// # Safety
/// `env` and `info` must be the arguments N-API passed to a callback created by
/// [`entry_points`] (whose data pointer is a live `Rc<State>`).
unsafe fn run(env: sys::napi_env, info: sys::napi_callback_info, body: Body) -> sys::napi_value {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut argc = MAX_ARGS;
        let mut argv = [ptr::null_mut(); MAX_ARGS];
        let mut data = ptr::null_mut();
        // SAFETY: `env` and `info` are this callback's (the caller's contract); `argv` has room
        // for `argc` values (N-API fills missing ones with `undefined` and sets `argc` to the
        // number passed); `this` is not wanted (null); `data` is a valid out-pointer.
        let status = unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                ptr::null_mut(),
                &mut data,
            )
        };
        check(status, "napi_get_cb_info")?;
        // SAFETY: `data` is the `Rc<State>` given to this function in `entry_points`; the
        // function holds a count on it until its finalizer runs, which cannot happen while the
        // function is being called. Only shared access is taken.
        let state = unsafe { &*(data as *const State) };
        let env = Env::from_raw(env);
        // The arguments after the token: `objects` always (`undefined` if missing), the rest
        // as passed.
        let end = argc.clamp(2, MAX_ARGS);
        with_token(&env, argv[0], |token| {
            body(&env, state, token, &argv[1..end])
        })
    }));
    let error = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(error)) => error,
        Err(panic) => errors::panic_error(panic),
    };
    // SAFETY: throwing on the callback's own environment, with no exception pending (every
    // N-API call above either succeeded or returned a status without throwing).
    unsafe { JsError::from(error).throw_into(env) };
    ptr::null_mut()
}

/// Calls `f` with the JS string `value` as UTF-8 (N-API replaces lone surrogates with U+FFFD;
/// `index.js` refuses them first).
fn with_token<R>(
    env: &Env,
    value: sys::napi_value,
    f: impl FnOnce(&str) -> napi::Result<R>,
) -> napi::Result<R> {
    TOKEN_BUFFER.with(|cell| {
        let mut shared = cell.try_borrow_mut();
        let mut own = Vec::new();
        let buffer: &mut Vec<u8> = match shared.as_mut() {
            Ok(shared) => shared,
            Err(_) => &mut own,
        };
        buffer.clear();
        match read_string(env, value, buffer)? {
            Read::Fits(len) => f(utf8(&buffer[..len])?),
            Read::Needs(len) => f(utf8(&read_whole(env, value, len)?)?),
        }
    })
}

fn utf8(bytes: &[u8]) -> napi::Result<&str> {
    std::str::from_utf8(bytes)
        .map_err(|_| napi::Error::new(Status::InvalidArg, "jwtgate: the token is not valid UTF-8"))
}

/// What [`read_string`] found: the string's UTF-8 length, which fitted into the buffer, or the
/// length it needs.
enum Read {
    Fits(usize),
    Needs(usize),
}

fn string_status(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_string_expected {
        Err(napi::Error::new(
            Status::StringExpected,
            "token must be a string",
        ))
    } else {
        check(status, "napi_get_value_string_utf8")
    }
}

/// Reads the string `value` into `buffer`'s spare capacity (growing an empty buffer to
/// [`BUFFER_BYTES`] first). Sets the buffer's length to the bytes written.
fn read_string(env: &Env, value: sys::napi_value, buffer: &mut Vec<u8>) -> napi::Result<Read> {
    if buffer.capacity() < BUFFER_BYTES {
        buffer.reserve(BUFFER_BYTES);
    }
    let mut written = 0;
    // SAFETY: `env` is live and `value` one of its handles (a callback argument). N-API writes
    // at most `capacity` bytes, the terminating NUL included, into the buffer's allocation, and
    // reports the bytes written (without the NUL) in `written`.
    let status = unsafe {
        sys::napi_get_value_string_utf8(
            env.raw(),
            value,
            buffer.as_mut_ptr().cast(),
            buffer.capacity(),
            &mut written,
        )
    };
    string_status(status)?;
    // SAFETY: N-API initialised the first `written` bytes, and `written` < capacity (room was
    // left for the NUL).
    unsafe { buffer.set_len(written) };
    if written + 1 < buffer.capacity() {
        return Ok(Read::Fits(written));
    }
    // Possibly cut short: ask for the length (a null buffer makes N-API report it).
    let mut length = 0;
    // SAFETY: a length query: null buffer and size 0, valid out-pointer.
    let status = unsafe {
        sys::napi_get_value_string_utf8(env.raw(), value, ptr::null_mut(), 0, &mut length)
    };
    string_status(status)?;
    Ok(if length == written {
        Read::Fits(written)
    } else {
        Read::Needs(length)
    })
}

/// Reads the whole string `value` of `length` UTF-8 bytes into a buffer of its own.
fn read_whole(env: &Env, value: sys::napi_value, length: usize) -> napi::Result<Vec<u8>> {
    let mut own: Vec<u8> = Vec::with_capacity(length + 1);
    let mut written = 0;
    // SAFETY: as in `read_string`: N-API writes at most `capacity` (≥ length + 1) bytes into
    // the allocation and reports how many it wrote.
    let status = unsafe {
        sys::napi_get_value_string_utf8(
            env.raw(),
            value,
            own.as_mut_ptr().cast(),
            own.capacity(),
            &mut written,
        )
    };
    string_status(status)?;
    // SAFETY: N-API initialised the first `written` bytes (`written` < capacity).
    unsafe { own.set_len(written) };
    Ok(own)
}

/// The optional `epochSeconds` argument (`verifyAtSync`): `None` when not passed.
fn epoch_argument(env: &Env, value: Option<&sys::napi_value>) -> napi::Result<Option<f64>> {
    let Some(&value) = value else {
        return Ok(None);
    };
    let mut seconds = 0.0;
    // SAFETY: `value` is a callback argument of `env`; `seconds` is a valid out-pointer.
    let status = unsafe { sys::napi_get_value_double(env.raw(), value, &mut seconds) };
    if status == sys::Status::napi_number_expected {
        return Err(napi::Error::new(
            Status::NumberExpected,
            "epochSeconds must be a number",
        ));
    }
    check(status, "napi_get_value_double")?;
    Ok(Some(seconds))
}

/// `verifySync(token, objects, epochSeconds?)`: the core's `verify_at` (now by default), which
/// waits for a key fetch when the token needs one (at most the fetch timeout).
///
/// # Safety
/// Called by N-API only, as the callback of a function made by [`entry_points`].
unsafe extern "C" fn verify_sync(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    fn body(
        env: &Env,
        state: &State,
        token: &str,
        args: &[sys::napi_value],
    ) -> napi::Result<sys::napi_value> {
        let now = epoch_argument(env, args.get(1))?
            .map(|s| verifier::instant(env, s))
            .transpose()?;
        let objects = Object::from_raw(env.raw(), args[0]);
        let outcome = state.verify_sync(token, now);
        Ok(state.settle(env, outcome, objects)?.raw())
    }
    // SAFETY: the arguments N-API passed to this callback, forwarded unchanged.
    unsafe { run(env, info, body) }
}

/// `verify(token, objects)`: answered on the calling thread whenever the core can answer without
/// waiting (`verify_nonblocking`: keys in hand, the signature checked here); a Promise settled
/// from the pool only when the core must wait (a key fetch, an introspection call).
///
/// # Safety
/// Called by N-API only, as the callback of a function made by [`entry_points`].
unsafe extern "C" fn verify(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    fn body(
        env: &Env,
        state: &State,
        token: &str,
        args: &[sys::napi_value],
    ) -> napi::Result<sys::napi_value> {
        if let Some(outcome) = state.nonblocking(token) {
            let objects = Object::from_raw(env.raw(), args[0]);
            return Ok(state.settle(env, outcome, objects)?.raw());
        }
        let task = state.task(token.to_owned(), None);
        // SAFETY: converting the task into a Promise on the callback's live environment, which
        // is what napi-rs does with an `AsyncTask` returned from a `#[napi]` function.
        unsafe { AsyncTask::to_napi_value(env.raw(), task) }
    }
    // SAFETY: the arguments N-API passed to this callback, forwarded unchanged.
    unsafe { run(env, info, body) }
}
