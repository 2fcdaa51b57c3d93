//! Work that may block — a verification that waits for a key fetch or makes an introspection
//! call (RFC 7662) — runs on the libuv thread pool as napi `AsyncTask`s, so the event loop never
//! waits on the network. (`verify()` checks a signature whose key is in hand on the calling
//! thread: the core's `verify_nonblocking` says when it must wait instead.)

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, SystemTime};

use jwtgate::{Verified, Verifier};
use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue, Task};

use crate::verifier::RequestParts;
use crate::{claims, errors};

/// Runs `f`, turning a panic into an error instead of an abort (the task callbacks are called
/// from C: a panic must not unwind out of them).
fn guarded<T>(f: impl FnOnce() -> T) -> napi::Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(errors::panic_error)
}

/// `verify()` / `verifyAt()` off the main thread: the core's blocking `verify_at` (which waits,
/// bounded by the fetch timeout, when the token needs a key fetch, and makes the introspection
/// call inline for an opaque token whose answer is not cached).
pub struct VerifyTask {
    pub(crate) verifier: Verifier,
    pub(crate) token: String,
    /// The instant to verify at (`verifyAt`); `None` for the current time, read when the task
    /// runs.
    pub(crate) now: Option<SystemTime>,
}

impl Task for VerifyTask {
    type Output = Result<Verified, jwtgate::Error>;
    type JsValue = Unknown<'static>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        guarded(|| match self.now {
            Some(now) => self.verifier.verify_at(&self.token, now),
            None => self.verifier.verify(&self.token),
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        settle(env, output)
    }
}

/// `verifyRequest()` off the main thread: the core's blocking `verify_request_at` (a DPoP
/// proof's signature check, a key fetch when the token needs one, an introspection call).
pub struct VerifyRequestTask {
    pub(crate) verifier: Verifier,
    pub(crate) request: RequestParts,
    /// The instant to verify at; `None` for the current time, read when the task runs.
    pub(crate) now: Option<SystemTime>,
}

impl Task for VerifyRequestTask {
    type Output = Result<Verified, jwtgate::Error>;
    type JsValue = Unknown<'static>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        guarded(|| {
            self.request.with(|request| match self.now {
                Some(now) => self.verifier.verify_request_at(request, now),
                None => self.verifier.verify_request(request),
            })
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        settle(env, output)
    }
}

/// The JS value of a pool verification: the claims object, or the `JwtGateError` to reject with.
fn settle(env: Env, output: Result<Verified, jwtgate::Error>) -> napi::Result<Unknown<'static>> {
    guarded(|| match output {
        Ok(verified) => {
            let value = claims::to_js(&env, &verified)?;
            // SAFETY: the value lives in the handle scope of this completion callback,
            // where napi-rs converts the return value; only the lifetime parameter changes.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value.raw()) })
        }
        Err(error) => Err(errors::from_core(&env, &error)),
    })?
}

/// `waitReady()`: the core's `wait_ready`, which blocks until keys are available.
pub struct WaitReadyTask {
    pub(crate) verifier: Verifier,
    pub(crate) timeout: Duration,
}

impl Task for WaitReadyTask {
    type Output = Result<(), jwtgate::Error>;
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<Self::Output> {
        guarded(|| self.verifier.wait_ready(self.timeout))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<()> {
        guarded(|| output.map_err(|error| errors::from_core(&env, &error)))?
    }
}
