//! Work that may block — a verification that waits for a key fetch, or for the cold signature
//! check of `verify()` — runs on the libuv thread pool as napi `AsyncTask`s, so the event loop
//! never waits on the network and `verify()` keeps signature math off the main thread.

use std::hash::BuildHasher;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jwtgate::{CredentialKind, Verified, Verifier};
use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue, Task};

use crate::{claims, errors};

/// Runs `f`, turning a panic into an error instead of an abort (the task callbacks are called
/// from C: a panic must not unwind out of them).
fn guarded<T>(f: impl FnOnce() -> T) -> napi::Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(errors::panic_error)
}

/// Tokens the core caches: at most 4 KiB (DESIGN.md "Verified-token cache").
const CACHEABLE_TOKEN_BYTES: usize = 4096;

/// Which tokens `verify()` may answer on the main thread.
///
/// A scheduling hint only: a static token, or a JWT whose earlier verification succeeded on a
/// verifier with a cache, is likely answered by the core without a signature check, so
/// `verify()` asks the core on the main thread (`verify_nonblocking`) instead of paying a
/// thread-pool round trip. Everything else goes to the pool. A wrong hint changes *where* the
/// core verifies, never the result. Direct-mapped token hashes, keyed per process.
pub(crate) struct Hints {
    slots: Box<[AtomicU64]>,
    mask: u64,
    hasher: foldhash::fast::RandomState,
    /// Whether the core caches JWTs (`cacheSize` > 0).
    jwts_cached: bool,
}

impl Hints {
    /// Hints for a verifier whose core cache holds `cache_size` tokens (room for as many, at
    /// least 64, rounded up to a power of two).
    pub(crate) fn new(cache_size: usize) -> Hints {
        let n = cache_size.clamp(64, 8192).next_power_of_two();
        Hints {
            slots: (0..n).map(|_| AtomicU64::new(0)).collect(),
            mask: n as u64 - 1,
            hasher: foldhash::fast::RandomState::default(),
            jwts_cached: cache_size > 0,
        }
    }

    /// Records a successful verification of `token` if the core can answer it again without a
    /// signature check.
    pub(crate) fn remember_success(&self, token: &str, verified: &Verified) {
        let cheap_again = match verified.kind() {
            CredentialKind::StaticToken => true,
            CredentialKind::Jwt => self.jwts_cached && token.len() <= CACHEABLE_TOKEN_BYTES,
            _ => false,
        };
        if cheap_again {
            self.remember(self.key(token));
        }
    }

    /// The hint key of a token (never 0, which marks an empty slot).
    pub(crate) fn key(&self, token: &str) -> u64 {
        self.hasher.hash_one(token) | 1
    }

    /// Whether `key` was remembered.
    pub(crate) fn contains(&self, key: u64) -> bool {
        self.slots[(key & self.mask) as usize].load(Ordering::Relaxed) == key
    }

    fn remember(&self, key: u64) {
        self.slots[(key & self.mask) as usize].store(key, Ordering::Relaxed);
    }
}

/// `verify()` off the main thread: the core's blocking `verify` (which waits, bounded by the
/// fetch timeout, when the token needs a key fetch).
pub struct VerifyTask {
    pub(crate) verifier: Verifier,
    pub(crate) token: String,
    pub(crate) hints: Arc<Hints>,
}

impl Task for VerifyTask {
    type Output = Result<Verified, jwtgate::Error>;
    type JsValue = Unknown<'static>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        guarded(|| self.verifier.verify(&self.token))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        guarded(|| match output {
            Ok(verified) => {
                self.hints.remember_success(&self.token, &verified);
                let value = claims::to_js(&env, &verified)?;
                // SAFETY: the value lives in the handle scope of this completion callback,
                // where napi-rs converts the return value.
                Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value.raw()) })
            }
            Err(error) => Err(errors::from_core(&env, &error)),
        })?
    }
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
