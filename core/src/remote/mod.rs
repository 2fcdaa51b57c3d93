//! Remote keys: OIDC / RFC 8414 discovery, JWKS fetch, scheduled and on-demand refresh.
//!
//! One background thread per remote verifier does every fetch, so fetches never overlap
//! (single-flight by construction). Verifying threads never fetch: when a token names an unknown
//! `kid` (or no keys have arrived yet) they ask the thread for one fetch — at most once per
//! cooldown — and wait for that attempt to finish, bounded by the fetch timeout. Async callers
//! await the same attempt through a waker list, so no runtime is needed. Verifiers that only use
//! static keys create no thread.
//!
//! What an answer means:
//! * A 200 whose body parses as a JWKS is authoritative, even when it holds no usable key: the
//!   provider withdrew its keys, and tokens signed with them must stop verifying.
//! * Anything else — a transport error, another status, a body that is not a JWKS, an over-limit
//!   body — is a failed fetch: the last good set stays in use (stale-if-error) and the thread
//!   retries with exponential back-off, but only for `max_stale` after the last successful
//!   fetch. Past that, verifications answer `jwks_unavailable` until a fetch succeeds.

pub(crate) mod discovery;
pub(crate) mod fetch;
pub(crate) mod jwks;
pub(crate) mod url;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
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
    /// How long the last good set is used after fetches start failing, from its fetch.
    pub(crate) max_stale: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            fetch_timeout: Duration::from_secs(5),
            cooldown: Duration::from_secs(30),
            max_body_bytes: 256 * 1024,
            max_keys: 100,
            allow_http: false,
            max_stale: DEFAULT_MAX_STALE,
        }
    }
}

/// Default longest use of the last good keys while fetches fail.
pub(crate) const DEFAULT_MAX_STALE: Duration = Duration::from_secs(24 * 3600);

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
    /// Whether keys are available (false before the first fetch and once the last good keys are
    /// older than `max_stale` while fetches fail).
    pub ready: bool,
    /// Whether the last fetch failed and the last good keys are being used meanwhile
    /// (stale-if-error, bounded by `max_stale`).
    pub stale: bool,
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
    /// How long the last good keys are used while fetches fail (remote sources).
    pub max_stale: Option<Duration>,
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
    /// The provider's introspection answer (not a key fetch: handled by the verifier).
    Introspection,
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

/// `Shared::health`: no set fetched yet.
const NO_KEYS: u8 = 0;
/// `Shared::health`: the current set may be used.
const USABLE: u8 = 1;
/// `Shared::health`: fetches have failed for longer than `max_stale` since the last success.
const EXPIRED: u8 = 2;

/// The remote key source of one verifier. Dropping it stops its thread.
pub(crate) struct Remote {
    shared: Arc<Shared>,
}

struct Shared {
    source: Source,
    options: RemoteOptions,
    fetcher: Arc<dyn Fetcher>,
    holder: Arc<KeyHolder>,
    /// [`USABLE`] while the current set may be used; read lock-free on the hot path.
    health: AtomicU8,
    /// Requests made for discovery documents and JWKS documents.
    discovery_fetches: AtomicU64,
    jwks_fetches: AtomicU64,
    /// Failed attempts, by the step that failed.
    discovery_failures: AtomicU64,
    jwks_failures: AtomicU64,
    /// Fetches asked for by tokens with an unknown kid.
    kid_refreshes: AtomicU64,
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
            health: AtomicU8::new(NO_KEYS),
            discovery_fetches: AtomicU64::new(0),
            jwks_fetches: AtomicU64::new(0),
            discovery_failures: AtomicU64::new(0),
            jwks_failures: AtomicU64::new(0),
            kid_refreshes: AtomicU64::new(0),
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

    /// Whether keys may be used now (one atomic load).
    #[inline]
    pub(crate) fn loaded(&self) -> bool {
        self.shared.usable()
    }

    /// The error verifications get while no keys may be used.
    pub(crate) fn unavailable(&self) -> Error {
        let shared = &*self.shared;
        let state = shared.lock();
        let what = shared.describe_source(&state);
        let last = state
            .last_error
            .as_ref()
            .map_or_else(String::new, |e| format!("; last error: {e}"));
        let message = match state.fetched_at {
            Some(at) if shared.health.load(Ordering::Acquire) == EXPIRED => format!(
                "the keys from {what} are too old to trust: fetched {} ago, and every refresh since has failed (max_stale is {}){last}",
                seconds(at.elapsed()),
                seconds(shared.options.max_stale)
            ),
            _ => match &state.last_error {
                Some(e) => format!("no keys yet from {what}: {e}"),
                None => format!("no keys yet from {what}: the first fetch has not finished"),
            },
        };
        Error::new(ErrorCode::JwksUnavailable, message)
    }

    /// Decides what a caller should do about `need`, requesting a fetch if the cooldown allows.
    pub(crate) fn begin(&self, need: Need) -> Wait {
        let shared = &*self.shared;
        if let Need::Introspection = need {
            return Wait::GiveUp; // not a key fetch: the verifier handles it before asking here
        }
        let mut state = shared.lock();
        match need {
            Need::Keys if shared.usable() => return Wait::Retry,
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
            Need::Kid(_) | Need::Introspection => &mut state.last_kid_fetch,
        };
        if last.is_some_and(|t| now.duration_since(t) < shared.options.cooldown) {
            return Wait::GiveUp;
        }
        *last = Some(now);
        if let Need::Kid(_) = need {
            shared.kid_refreshes.fetch_add(1, Ordering::Relaxed);
        }
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

    /// Waits for keys up to `timeout`, asking for a fetch if none is under way. Failed attempts
    /// do not end the wait: the refresh thread retries with its back-off until the deadline, and
    /// the error then is the last attempt's (so a server started just before its provider
    /// still comes up).
    pub(crate) fn wait_ready(&self, timeout: Duration) -> Result<(), Error> {
        let shared = &*self.shared;
        // A timeout too large to add to now (Duration::MAX) means "no deadline".
        let deadline = Instant::now().checked_add(timeout);
        let mut asked = false;
        loop {
            if self.loaded() {
                return Ok(());
            }
            if !asked {
                asked = true;
                if let Wait::Retry = self.begin(Need::Keys) {
                    continue;
                }
            }
            let now = Instant::now();
            let remaining = match deadline {
                Some(deadline) if now >= deadline => {
                    if let Some(e) = self.ready_error(timeout) {
                        return Err(e);
                    }
                    return Ok(());
                }
                Some(deadline) => deadline - now,
                None => Duration::from_secs(3600),
            };
            let state = shared.lock();
            let attempts = state.attempts;
            let _ = shared
                .changed
                .wait_timeout_while(state, remaining, |s| {
                    s.attempts <= attempts && !s.shutdown && !shared.usable()
                })
                .unwrap_or_else(|p| p.into_inner());
            if shared.lock().shutdown {
                return Err(Error::new(
                    ErrorCode::JwksUnavailable,
                    "the verifier is shutting down",
                ));
            }
        }
    }

    /// Why keys are not ready after waiting `timeout` (`None` if they are).
    fn ready_error(&self, timeout: Duration) -> Option<Error> {
        if self.loaded() {
            return None;
        }
        let shared = &*self.shared;
        if shared.health.load(Ordering::Acquire) == EXPIRED {
            return Some(self.unavailable());
        }
        let state = shared.lock();
        Some(state.last_error.clone().unwrap_or_else(|| {
            Error::new(
                ErrorCode::JwksUnavailable,
                format!(
                    "no keys from {} after {}",
                    shared.describe_source(&state),
                    seconds(timeout)
                ),
            )
        }))
    }

    /// Adds the key source's counters and state to `stats`.
    pub(crate) fn fill_stats(&self, stats: &mut crate::stats::Stats) {
        let shared = &*self.shared;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        stats.discovery_fetches = load(&shared.discovery_fetches);
        stats.discovery_failures = load(&shared.discovery_failures);
        stats.jwks_fetches = load(&shared.jwks_fetches);
        stats.jwks_failures = load(&shared.jwks_failures);
        stats.kid_refreshes = load(&shared.kid_refreshes);
        let state = shared.lock();
        stats.key_age = state.fetched_at.map(|t| t.elapsed());
        stats.keys_stale = state.fetched_at.is_some() && state.last_error.is_some();
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
            stale: state.fetched_at.is_some() && state.last_error.is_some(),
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
            max_stale: Some(shared.options.max_stale),
            last_error: state.last_error.clone(),
            fetches: shared.discovery_fetches.load(Ordering::Relaxed)
                + shared.jwks_fetches.load(Ordering::Relaxed),
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
        // cannot be missed; a waker already registered (a spurious re-poll) is not added twice.
        {
            let mut wakers = self.shared.wakers.lock().unwrap_or_else(|p| p.into_inner());
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
        }
        let state = self.shared.lock();
        if state.attempts > self.attempts || state.shutdown {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A duration for messages: whole seconds below two minutes, else minutes or hours.
fn seconds(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        _ => format!("{}h", s / 3600),
    }
}

impl Shared {
    /// Whether the current set may be used (one atomic load).
    #[inline]
    fn usable(&self) -> bool {
        self.health.load(Ordering::Acquire) == USABLE
    }

    /// When the last good set stops being usable if fetches keep failing.
    fn stale_deadline(&self, state: &State) -> Option<Instant> {
        if state.last_error.is_none() || !self.usable() {
            return None;
        }
        state
            .fetched_at
            .and_then(|at| at.checked_add(self.options.max_stale))
    }

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
                    if let Some(deadline) = self.stale_deadline(&state) {
                        if now >= deadline {
                            self.health.store(EXPIRED, Ordering::Release);
                            let warning = format!(
                                "jwtgate: the last good keys from {} are older than max_stale ({}) and refreshes keep failing; tokens are refused until a fetch succeeds",
                                self.describe_source(&state),
                                seconds(self.options.max_stale)
                            );
                            // Logged outside the lock (see below).
                            drop(state);
                            log::warn!("{warning}");
                            self.changed.notify_all();
                            state = self.lock();
                            continue;
                        }
                    }
                    if state.requested || now >= state.next_refresh {
                        break;
                    }
                    let wake = self
                        .stale_deadline(&state)
                        .map_or(state.next_refresh, |d| d.min(state.next_refresh));
                    let wait = wake.saturating_duration_since(now);
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
                    self.health.store(USABLE, Ordering::Release);
                    state.fetched_at = Some(now);
                    state.max_age = Some(max_age);
                    state.last_error = None;
                    state.backoff = FIRST_BACKOFF;
                    state.next_refresh = now + max_age;
                }
                Err(Failure { uri, error, moved }) => {
                    let step = if error.code() == ErrorCode::DiscoveryFailed {
                        &self.discovery_failures
                    } else {
                        &self.jwks_failures
                    };
                    step.fetch_add(1, Ordering::Relaxed);
                    if uri.is_some() {
                        state.jwks_uri = uri;
                    }
                    // A JWKS URL that answers 404/410 may have moved: with discovery, look it
                    // up again on the next attempt.
                    state.rediscover = moved && matches!(self.source, Source::Discovery { .. });
                    warning = Some(format!(
                        "jwtgate: key refresh failed ({}); retrying in {:?}: {error}",
                        if self.usable() {
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
                    &self.discovery_fetches,
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
            &self.jwks_fetches,
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
