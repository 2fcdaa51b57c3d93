//! Remote keys: OIDC / RFC 8414 discovery, JWKS fetch, scheduled and on-demand refresh.
//!
//! One background thread per remote verifier does every fetch, so fetches never overlap
//! (single-flight by construction). Verifying threads never fetch: when a token names an unknown
//! `kid` (or no keys have arrived yet) they ask the thread for one fetch — at most once per
//! cooldown — and wait for that attempt to finish, bounded by the fetch timeout. Async callers
//! await the same attempt through a waker list, so no runtime is needed. A failed fetch keeps the
//! last good set (stale-if-error) and retries with exponential back-off. Verifiers that only use
//! static keys create no thread.

pub(crate) mod discovery;
pub(crate) mod fetch;
pub(crate) mod jwks;
pub(crate) mod url;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorCode, quote};
use crate::keyset::{KeyHolder, KeySet, SkippedKey};
use fetch::{FetchLimits, Fetcher};

/// Tunables of a remote key source (defaults from DESIGN.md "Keys").
#[derive(Debug, Clone)]
pub(crate) struct RemoteOptions {
    pub(crate) fetch_timeout: Duration,
    pub(crate) cooldown: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_keys: usize,
    pub(crate) allow_http: bool,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            fetch_timeout: Duration::from_secs(5),
            cooldown: Duration::from_secs(30),
            max_body_bytes: 256 * 1024,
            max_keys: 100,
            allow_http: false,
        }
    }
}

/// Retry delays after failed fetches: 1 s, doubling, at most 1 minute.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Where the keys come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// `{issuer}/.well-known/openid-configuration`, then RFC 8414.
    Discovery { issuer: String },
    /// A JWKS URL given directly.
    JwksUri(String),
}

/// A snapshot of a verifier's key state, for health endpoints and diagnostics.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeysStatus {
    /// `"static"`, or the JWKS URL (once known).
    pub source: String,
    /// Whether keys are available.
    pub ready: bool,
    /// The current key set's generation (bumped on every swap).
    pub generation: u64,
    /// The `kid`s of the usable keys (keys without one are not listed).
    pub kids: Vec<String>,
    /// Number of usable keys.
    pub key_count: usize,
    /// Keys of the last fetched document that were skipped, with reasons.
    pub skipped: Vec<SkippedKey>,
    /// Time since the current set was fetched (remote sources).
    pub age: Option<Duration>,
    /// How long the current set is fresh for (from `Cache-Control`, clamped to [60 s, 24 h]).
    pub max_age: Option<Duration>,
    /// The error of the last failed fetch, cleared by a success.
    pub last_error: Option<Error>,
    /// HTTP requests made (discovery and JWKS).
    pub fetches: u64,
    /// Fetch attempts that failed.
    pub failures: u64,
}

/// What a verifying thread needs from the source.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Need {
    /// Keys have not arrived yet.
    Keys,
    /// The token's kid is not in the set of this generation.
    Kid(u64),
}

/// What the caller should do about a [`Need`].
pub(crate) enum Wait {
    /// Something already changed: retry now.
    Retry,
    /// Nothing will change soon (cooldown): give up with the original error.
    GiveUp,
    /// Wait until more than this many fetch attempts have completed, then retry.
    Until(u64),
}

/// The remote key source of one verifier. Dropping it stops its thread.
pub(crate) struct Remote {
    shared: Arc<Shared>,
}

struct Shared {
    source: Source,
    options: RemoteOptions,
    fetcher: Arc<dyn Fetcher>,
    holder: Arc<KeyHolder>,
    /// Set once the first set is stored; read lock-free on the hot path.
    loaded: AtomicBool,
    fetches: AtomicU64,
    state: Mutex<State>,
    changed: Condvar,
    wakers: Mutex<Vec<Waker>>,
}

struct State {
    jwks_uri: Option<String>,
    in_flight: bool,
    requested: bool,
    attempts: u64,
    failures: u64,
    fetched_at: Option<Instant>,
    max_age: Option<Duration>,
    last_error: Option<Error>,
    /// Last fetch asked for by a token with an unknown kid, and by a caller finding no keys:
    /// each kind at most once per cooldown, so start-up trouble does not delay following a
    /// rotation.
    last_kid_fetch: Option<Instant>,
    last_keys_fetch: Option<Instant>,
    next_refresh: Instant,
    backoff: Duration,
    skipped: Vec<SkippedKey>,
    /// Run discovery again before the next JWKS fetch.
    rediscover: bool,
    shutdown: bool,
}

/// A failed fetch attempt.
struct Failure {
    /// The JWKS URL, if discovery got that far.
    uri: Option<String>,
    error: Error,
    /// The JWKS URL answered 404 or 410.
    moved: bool,
}

impl Remote {
    /// Starts the source's thread, which fetches at once.
    pub(crate) fn start(
        source: Source,
        options: RemoteOptions,
        fetcher: Arc<dyn Fetcher>,
        holder: Arc<KeyHolder>,
    ) -> Result<Remote, Error> {
        let jwks_uri = match &source {
            Source::JwksUri(uri) => Some(uri.clone()),
            Source::Discovery { .. } => None,
        };
        let shared = Arc::new(Shared {
            source,
            options,
            fetcher,
            holder,
            loaded: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
            state: Mutex::new(State {
                jwks_uri,
                in_flight: false,
                requested: true,
                attempts: 0,
                failures: 0,
                fetched_at: None,
                max_age: None,
                last_error: None,
                last_kid_fetch: None,
                last_keys_fetch: None,
                next_refresh: Instant::now(),
                backoff: FIRST_BACKOFF,
                skipped: Vec::new(),
                rediscover: false,
                shutdown: false,
            }),
            changed: Condvar::new(),
            wakers: Mutex::new(Vec::new()),
        });
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("jwtgate-keys".into())
            .spawn(move || worker.run())
            .map_err(|e| Error::config(format!("cannot start the key refresh thread: {e}")))?;
        Ok(Remote { shared })
    }

    /// Whether keys have arrived (one atomic load).
    #[inline]
    pub(crate) fn loaded(&self) -> bool {
        self.shared.loaded.load(Ordering::Acquire)
    }

    /// The error verifications get while no keys are available.
    pub(crate) fn unavailable(&self) -> Error {
        let state = self.shared.lock();
        let what = self.shared.describe_source(&state);
        match &state.last_error {
            Some(e) => Error::new(
                ErrorCode::JwksUnavailable,
                format!("no keys yet from {what}: {e}"),
            ),
            None => Error::new(
                ErrorCode::JwksUnavailable,
                format!("no keys yet from {what}: the first fetch has not finished"),
            ),
        }
    }

    /// Decides what a caller should do about `need`, requesting a fetch if the cooldown allows.
    pub(crate) fn begin(&self, need: Need) -> Wait {
        let shared = &*self.shared;
        let mut state = shared.lock();
        match need {
            Need::Keys if shared.loaded.load(Ordering::Acquire) => return Wait::Retry,
            Need::Kid(generation) if shared.holder.load().generation() != generation => {
                return Wait::Retry;
            }
            _ => {}
        }
        // A fetch under way (or the first, not yet started) will bring the newest keys: share it.
        if state.in_flight || state.requested {
            return Wait::Until(state.attempts);
        }
        let now = Instant::now();
        let last = match need {
            Need::Keys => &mut state.last_keys_fetch,
            Need::Kid(_) => &mut state.last_kid_fetch,
        };
        if last.is_some_and(|t| now.duration_since(t) < shared.options.cooldown) {
            return Wait::GiveUp;
        }
        *last = Some(now);
        state.requested = true;
        shared.changed.notify_all();
        Wait::Until(state.attempts)
    }

    /// Blocks until more than `attempts` fetch attempts have completed, at most the fetch timeout.
    pub(crate) fn wait(&self, attempts: u64) {
        let shared = &*self.shared;
        let state = shared.lock();
        let _ = shared
            .changed
            .wait_timeout_while(state, shared.options.fetch_timeout, |s| {
                s.attempts <= attempts && !s.shutdown
            });
    }

    /// Resolves when more than `attempts` fetch attempts have completed. Every attempt ends within
    /// the fetch timeout of each of its (at most three) requests, and a panicking fetcher counts
    /// as a failed attempt, so this needs no timer.
    pub(crate) fn attempt_done(&self, attempts: u64) -> AttemptDone {
        AttemptDone {
            shared: Arc::clone(&self.shared),
            attempts,
        }
    }

    /// Waits for keys up to `timeout`, asking for a fetch if none is under way.
    pub(crate) fn wait_ready(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let shared = &*self.shared;
        loop {
            if self.loaded() {
                return Ok(());
            }
            let attempts = match self.begin(Need::Keys) {
                Wait::Retry => continue,
                Wait::Until(a) => a,
                Wait::GiveUp => shared.lock().attempts,
            };
            let now = Instant::now();
            if now >= deadline {
                let state = shared.lock();
                return Err(state.last_error.clone().unwrap_or_else(|| {
                    Error::new(
                        ErrorCode::JwksUnavailable,
                        format!(
                            "no keys from {} after {:?}",
                            shared.describe_source(&state),
                            timeout
                        ),
                    )
                }));
            }
            let state = shared.lock();
            let (state, _) = shared
                .changed
                .wait_timeout_while(state, deadline - now, |s| {
                    s.attempts <= attempts && !s.shutdown
                })
                .unwrap_or_else(|p| p.into_inner());
            if !self.loaded() && state.attempts > attempts {
                if let Some(e) = &state.last_error {
                    return Err(e.clone());
                }
            }
        }
    }

    pub(crate) fn status(&self) -> KeysStatus {
        let shared = &*self.shared;
        let keys = shared.holder.load();
        let state = shared.lock();
        KeysStatus {
            source: state
                .jwks_uri
                .clone()
                .unwrap_or_else(|| shared.describe_source(&state)),
            ready: self.loaded(),
            generation: keys.generation(),
            kids: keys
                .keys()
                .iter()
                .filter_map(|k| k.kid().map(str::to_owned))
                .collect(),
            key_count: keys.len(),
            skipped: state.skipped.clone(),
            age: state.fetched_at.map(|t| t.elapsed()),
            max_age: state.max_age,
            last_error: state.last_error.clone(),
            fetches: shared.fetches.load(Ordering::Relaxed),
            failures: state.failures,
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.changed.notify_all();
    }
}

/// The future of [`Remote::attempt_done`].
pub(crate) struct AttemptDone {
    shared: Arc<Shared>,
    attempts: u64,
}

impl Future for AttemptDone {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Register before checking, so a completion between the check and the registration
        // cannot be missed.
        self.shared
            .wakers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cx.waker().clone());
        let state = self.shared.lock();
        if state.attempts > self.attempts || state.shutdown {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State inconsistent (plain fields), so a
        // poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn describe_source(&self, state: &State) -> String {
        match (&state.jwks_uri, &self.source) {
            (Some(uri), _) => quote(uri),
            (None, Source::Discovery { issuer }) => format!("issuer {}", quote(issuer)),
            (None, Source::JwksUri(uri)) => quote(uri),
        }
    }

    fn limits(&self) -> FetchLimits {
        FetchLimits {
            timeout: self.options.fetch_timeout,
            max_body_bytes: self.options.max_body_bytes,
        }
    }

    /// The refresh thread: waits for a request or for the set to go stale, then fetches.
    fn run(self: Arc<Self>) {
        loop {
            let jwks_uri = {
                let mut state = self.lock();
                loop {
                    if state.shutdown {
                        return;
                    }
                    let now = Instant::now();
                    if state.requested || now >= state.next_refresh {
                        break;
                    }
                    let wait = state.next_refresh - now;
                    state = self
                        .changed
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                state.requested = false;
                state.in_flight = true;
                if std::mem::take(&mut state.rediscover) {
                    None
                } else {
                    state.jwks_uri.clone()
                }
            };
            // A user-supplied Fetcher may panic; that must count as a failed attempt, not end
            // the thread (waiters would otherwise wait for an attempt that never completes).
            let fetched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.fetch_keys(jwks_uri)
            }));
            let result = fetched.unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let message = format!("the key fetcher panicked: {}", quote(&what));
                Err(Failure {
                    uri: None,
                    error: Error::new(ErrorCode::JwksUnavailable, message),
                    moved: false,
                })
            });
            let mut warning = None;
            let mut state = self.lock();
            state.in_flight = false;
            state.attempts += 1;
            let now = Instant::now();
            match result {
                Ok((uri, keys, max_age)) => {
                    state.jwks_uri = Some(uri);
                    state.rediscover = false;
                    state.skipped = keys.skipped().to_vec();
                    self.holder.store(keys);
                    self.loaded.store(true, Ordering::Release);
                    state.fetched_at = Some(now);
                    state.max_age = Some(max_age);
                    state.last_error = None;
                    state.backoff = FIRST_BACKOFF;
                    state.next_refresh = now + max_age;
                }
                Err(Failure { uri, error, moved }) => {
                    if uri.is_some() {
                        state.jwks_uri = uri;
                    }
                    // A JWKS URL that answers 404/410 may have moved: with discovery, look it
                    // up again on the next attempt.
                    state.rediscover = moved && matches!(self.source, Source::Discovery { .. });
                    warning = Some(format!(
                        "jwtgate: key refresh failed ({}); retrying in {:?}: {error}",
                        if self.loaded.load(Ordering::Relaxed) {
                            "keeping the last good keys"
                        } else {
                            "no keys yet"
                        },
                        state.backoff
                    ));
                    state.failures += 1;
                    state.last_error = Some(error);
                    state.next_refresh = now + state.backoff;
                    state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
                }
            }
            drop(state);
            // Logged outside the lock: a logger may block (Python's needs the GIL, and a thread
            // holding the GIL may be waiting for this lock).
            if let Some(warning) = warning {
                log::warn!("{warning}");
            }
            self.changed.notify_all();
            for waker in std::mem::take(&mut *self.wakers.lock().unwrap_or_else(|p| p.into_inner()))
            {
                waker.wake();
            }
        }
    }

    /// One fetch attempt: discovery if the JWKS URL is not known yet, then the JWKS.
    #[allow(clippy::type_complexity)] // (uri, keys, max-age) or (uri if learned, error)
    fn fetch_keys(&self, known_uri: Option<String>) -> Result<(String, KeySet, Duration), Failure> {
        let uri = match known_uri {
            Some(uri) => uri,
            None => {
                let Source::Discovery { issuer } = &self.source else {
                    unreachable!("a JwksUri source always knows its URI")
                };
                discovery::discover(
                    issuer,
                    &*self.fetcher,
                    &self.limits(),
                    self.options.allow_http,
                    &self.fetches,
                )
                .map(|metadata| metadata.jwks_uri)
                .map_err(|error| Failure {
                    uri: None,
                    error,
                    moved: false,
                })?
            }
        };
        match jwks::fetch(
            &uri,
            &*self.fetcher,
            &self.limits(),
            self.options.max_keys,
            &self.fetches,
        ) {
            Ok(fetched) => Ok((uri, fetched.keys, fetched.max_age)),
            Err((error, moved)) => Err(Failure {
                uri: Some(uri),
                error,
                moved,
            }),
        }
    }
}
