//! [`Verifier`], the one entry point: it runs the pipeline of ARCHITECTURE.md — static tokens,
//! then the verified-token cache, then the JWS checks, claims and scopes — and asks the remote key
//! source for a fetch when a token needs keys that are not there yet. The builder is in
//! [`builder`](crate::builder), the rules in [`policy`](crate::policy).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::alg::Algorithm;
use crate::builder::VerifierBuilder;
use crate::cache::{KeyBinding, TokenCache};
use crate::claims::Claims;
use crate::dpop::{self, AuthRequest, DpopMode, DpopPolicy, Presented, Scheme};
use crate::error::{Error, ErrorCode};
use crate::introspection::{self, Introspector};
use crate::jws;
use crate::keyset::{KeyHolder, KeySet};
use crate::policy::Policy;
use crate::providers::Providers;
use crate::remote::{KeysStatus, Need, Remote, Wait};
use crate::resource::ProtectedResource;
use crate::static_tokens::StaticTokens;
use crate::stats::{Counters, Event, Stats};
use crate::token;
use crate::verified::{CredentialKind, PendingClaims, Verified};

/// Verifies bearer credentials: JWTs against a key set and a claims policy, and/or static tokens.
///
/// `Send + Sync` and cheap to clone (one `Arc`): build it once and share it with every thread.
///
/// ```
/// use jwtgate::{Algorithm, ErrorCode, Verifier};
/// use jwtgate::sign::SigningKey;
///
/// let key = SigningKey::generate(Algorithm::ES256, "k1").unwrap();
/// let verifier = Verifier::builder()
///     .issuer("https://idp.example.com")
///     .audience("https://mcp.example.com")
///     .jwks(&key.public_jwks())
///     .required_scopes(["tools:call"])
///     .build()
///     .unwrap();
///
/// let token = key.mint(&serde_json::json!({
///     "iss": "https://idp.example.com", "aud": "https://mcp.example.com",
///     "sub": "alice", "scope": "tools:call", "exp": jwtgate::now_unix() + 300,
/// })).unwrap();
/// let verified = verifier.verify(&token).unwrap();
/// assert_eq!(verified.sub(), Some("alice"));
///
/// let wrong = key.mint(&serde_json::json!({
///     "iss": "https://idp.example.com/", "aud": "https://mcp.example.com",
///     "exp": jwtgate::now_unix() + 300,
/// })).unwrap();
/// let err = verifier.verify(&wrong).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::IssuerMismatch);
/// assert_eq!(err.to_string(),
///     r#"issuer mismatch: expected "https://idp.example.com", token has "https://idp.example.com/""#);
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

/// A verifier's state, assembled by the builder.
pub(crate) struct Inner {
    /// `None` for a verifier that accepts static tokens only.
    pub(crate) keys: Option<Arc<KeyHolder>>,
    /// The remote source filling `keys`, if they are fetched.
    pub(crate) remote: Option<Remote>,
    /// Verified-token cache (`None` when disabled).
    pub(crate) cache: Option<TokenCache>,
    pub(crate) policy: Policy,
    pub(crate) static_tokens: StaticTokens,
    /// Several identity providers, each a verifier of its own (`providers.rs`); empty otherwise.
    pub(crate) providers: Providers,
    /// Token introspection (RFC 7662), when configured.
    pub(crate) introspection: Option<Introspector>,
    pub(crate) counters: Counters,
    /// DPoP (RFC 9449): the mode, proof rules and replay cache of [`Verifier::verify_request`].
    pub(crate) dpop: DpopPolicy,
}

/// Seconds since the Unix epoch, now (with fractions).
fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The current time in whole seconds since the Unix epoch (a convenience for building claims).
pub fn now_unix() -> u64 {
    unix_seconds(SystemTime::now()) as u64
}

/// The instant `seconds` after the Unix epoch, for [`Verifier::verify_at`] from languages that
/// count time in seconds (the Python and Node `verify_at`). Times from 1970 to the end of year 9999
/// are accepted — the NumericDate range of RFC 7519 §2 that claims are checked in (the latest `now`
/// that means anything to them).
///
/// # Errors
/// `config_invalid` for a negative, NaN, infinite or later time.
///
/// ```
/// assert!(jwtgate::time_from_unix_seconds(1_700_000_000.5).is_ok());
/// assert!(jwtgate::time_from_unix_seconds(1e20).is_err());
/// ```
pub fn time_from_unix_seconds(seconds: f64) -> Result<SystemTime, Error> {
    if !(0.0..=crate::claims::MAX_NUMERIC_DATE).contains(&seconds) {
        return Err(Error::config(format!(
            "now (the time to verify at) must be from 1970 to the end of year 9999 (0 to {} seconds since the Unix epoch), got {seconds}",
            crate::claims::MAX_NUMERIC_DATE
        )));
    }
    Ok(UNIX_EPOCH + Duration::from_secs_f64(seconds))
}

/// The outcome of one pass through the pipeline.
/// Where a token goes in a verifier with several providers.
enum Routed<'v> {
    /// A configured static token (its answer).
    Static(Result<Verified, Error>),
    /// A provider's cached answer for the token (its own issuer's credential).
    Cached(Verified),
    /// The provider the token's `iss` names.
    Provider(&'v Verifier),
}

enum Pass {
    /// The answer.
    Done(Result<Verified, Error>),
    /// The answer depends on a key fetch that has been requested: wait until more than this many
    /// fetch attempts have completed, then run the pipeline once more.
    AfterFetch(u64),
}

impl Verifier {
    pub(crate) fn from_inner(inner: Inner) -> Verifier {
        Verifier {
            inner: Arc::new(inner),
        }
    }

    /// Starts building a verifier.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// Verifies a bearer credential (the token without the `Bearer ` prefix) now.
    ///
    /// # Errors
    /// An [`Error`] whose [`code`](Error::code) says why the credential was rejected.
    pub fn verify(&self, token: &str) -> Result<Verified, Error> {
        self.verify_at(token, SystemTime::now())
    }

    /// Verifies as if the current time were `now` (for tests, replays and diagnostics). When the
    /// token needs a key fetch, waits for it (at most the fetch timeout).
    ///
    /// The credential is taken as a Bearer token: a DPoP-bound token (`cnf.jkt`) is refused with
    /// `dpop_proof_missing` (RFC 9449 §7.2); use [`verify_request`](Verifier::verify_request),
    /// which sees the proof.
    ///
    /// # Errors
    /// As [`verify`](Verifier::verify).
    pub fn verify_at(&self, token: &str, now: SystemTime) -> Result<Verified, Error> {
        let result = self.verify_token_at(token, now);
        self.as_bearer(result)
    }

    /// Verifies without blocking the calling task: when the token needs a key fetch (unknown
    /// `kid`, keys not arrived yet), the future waits for the background fetch instead of
    /// blocking. Works with any executor; the signature check itself runs inline (it takes
    /// microseconds).
    ///
    /// # Errors
    /// As [`verify`](Verifier::verify).
    pub async fn verify_async(&self, token: &str) -> Result<Verified, Error> {
        let result = self.verify_token_async(token).await;
        self.as_bearer(result)
    }

    /// Verifies without ever waiting: `None` means the answer depends on a key fetch that has
    /// now been requested (an unknown `kid`, or keys not arrived yet); ask again shortly, or use
    /// [`verify`](Verifier::verify) on a worker thread or [`verify_async`](Verifier::verify_async).
    /// Bindings use it to keep event loops free on the fast path.
    pub fn verify_nonblocking(&self, token: &str) -> Option<Result<Verified, Error>> {
        match self.first_pass_routed(token, SystemTime::now()) {
            Pass::Done(result) => Some(self.as_bearer(result)),
            Pass::AfterFetch(_) => None,
        }
    }

    /// Verifies an HTTP request's credential: `Authorization: Bearer <token>`, or
    /// `Authorization: DPoP <token>` with its `DPoP` proof (RFC 9449), under the verifier's
    /// [`DpopMode`](crate::DpopMode). Adapters call this rather than [`verify`](Verifier::verify):
    /// it applies the scheme rules, and a DPoP-bound token is accepted only with a valid proof.
    ///
    /// ```
    /// use jwtgate::{AuthRequest, ErrorCode, Verifier};
    /// let v = Verifier::builder().static_token("s3cret", "ci").build().unwrap();
    /// let ok = AuthRequest::new("GET", "https://mcp.example.com/mcp", Some("Bearer s3cret"), &[]);
    /// assert_eq!(v.verify_request(&ok).unwrap().client_id(), Some("ci"));
    /// let none = AuthRequest::new("GET", "https://mcp.example.com/mcp", None, &[]);
    /// assert_eq!(v.verify_request(&none).unwrap_err().code(), ErrorCode::CredentialMissing);
    /// ```
    ///
    /// # Errors
    /// `credential_missing` without a usable `Authorization` header; the DPoP codes
    /// (`dpop_proof_missing`, `dpop_proof_invalid`, `dpop_proof_replayed`, `dpop_key_mismatch`,
    /// `dpop_nonce_required`, `dpop_replay_cache_full`); otherwise as [`verify`](Verifier::verify).
    pub fn verify_request(&self, request: &AuthRequest<'_>) -> Result<Verified, Error> {
        self.verify_request_at(request, SystemTime::now())
    }

    /// [`verify_request`](Verifier::verify_request) as if the current time were `now`.
    ///
    /// # Errors
    /// As [`verify_request`](Verifier::verify_request).
    pub fn verify_request_at(
        &self,
        request: &AuthRequest<'_>,
        now: SystemTime,
    ) -> Result<Verified, Error> {
        let presented = match self.inner.dpop.presented(request) {
            Ok(presented) => presented,
            Err(e) => return self.count_rejection(Err(e)),
        };
        let result = match presented.scheme {
            Scheme::ApiKey => self.verify_api_key(presented.token),
            _ => self.verify_token_at(presented.token, now),
        };
        self.finish_request(presented, request, result, now)
    }

    /// [`verify_request`](Verifier::verify_request) without blocking the calling task (as
    /// [`verify_async`](Verifier::verify_async)).
    ///
    /// # Errors
    /// As [`verify_request`](Verifier::verify_request).
    pub async fn verify_request_async(&self, request: &AuthRequest<'_>) -> Result<Verified, Error> {
        let presented = match self.inner.dpop.presented(request) {
            Ok(presented) => presented,
            Err(e) => return self.count_rejection(Err(e)),
        };
        let result = match presented.scheme {
            Scheme::ApiKey => self.verify_api_key(presented.token),
            _ => self.verify_token_async(presented.token).await,
        };
        self.finish_request(presented, request, result, SystemTime::now())
    }

    /// [`verify_request`](Verifier::verify_request) without ever waiting (as
    /// [`verify_nonblocking`](Verifier::verify_nonblocking)): `None` when a key fetch is needed.
    pub fn verify_request_nonblocking(
        &self,
        request: &AuthRequest<'_>,
    ) -> Option<Result<Verified, Error>> {
        let presented = match self.inner.dpop.presented(request) {
            Ok(presented) => presented,
            Err(e) => return Some(self.count_rejection(Err(e))),
        };
        let now = SystemTime::now();
        if presented.scheme == Scheme::ApiKey {
            let result = self.verify_api_key(presented.token);
            return Some(self.finish_request(presented, request, result, now));
        }
        match self.first_pass_routed(presented.token, now) {
            Pass::Done(result) => Some(self.finish_request(presented, request, result, now)),
            Pass::AfterFetch(_) => None,
        }
    }

    /// An `X-API-Key` credential: configured static tokens only, never a JWT.
    fn verify_api_key(&self, key: &str) -> Result<Verified, Error> {
        let inner = &*self.inner;
        token::check_size(key, inner.policy.jws.max_token_bytes)?;
        match inner.static_tokens.verify(key) {
            Some(verified) => {
                let result = inner.policy.check_scopes(verified);
                if result.is_ok() {
                    inner.counters.add(Event::StaticToken);
                }
                result
            }
            None => Err(Error::new(
                ErrorCode::TokenUnknown,
                "the X-API-Key value matches no configured API key (only static tokens are taken from that header)",
            )),
        }
    }

    /// The token check of every entry point, without the presentation rules.
    fn verify_token_at(&self, token: &str, now: SystemTime) -> Result<Verified, Error> {
        match self.provider_for(token) {
            None => {}
            Some(Err(e)) => return Err(e),
            Some(Ok(Routed::Static(result))) => return result,
            Some(Ok(Routed::Cached(verified))) => return self.outer_scopes(Ok(verified)),
            Some(Ok(Routed::Provider(provider))) => {
                return self.outer_scopes(provider.verify_token_at(token, now));
            }
        }
        match self.first_pass(token, now, true) {
            Pass::Done(result) => result,
            Pass::AfterFetch(attempts) => {
                if let Some(remote) = &self.inner.remote {
                    remote.wait(attempts);
                }
                self.attempt(token, now, true).map_err(|(e, _)| e)
            }
        }
    }

    async fn verify_token_async(&self, token: &str) -> Result<Verified, Error> {
        match self.provider_for(token) {
            None => {}
            Some(Err(e)) => return Err(e),
            Some(Ok(Routed::Static(result))) => return result,
            Some(Ok(Routed::Cached(verified))) => return self.outer_scopes(Ok(verified)),
            Some(Ok(Routed::Provider(provider))) => {
                let result = Box::pin(provider.verify_token_async(token)).await;
                return self.outer_scopes(result);
            }
        }
        // An introspection call, when one is needed, runs inline here (a blocking HTTP call of at
        // most the fetch timeout): event-loop bindings use verify_nonblocking first, which hands
        // it to a background thread instead.
        match self.first_pass(token, SystemTime::now(), true) {
            Pass::Done(result) => result,
            Pass::AfterFetch(attempts) => {
                if let Some(remote) = &self.inner.remote {
                    remote.attempt_done(attempts).await;
                }
                self.attempt(token, SystemTime::now(), true)
                    .map_err(|(e, _)| e)
            }
        }
    }

    /// A credential given without its request is a Bearer token: a DPoP-bound one is refused
    /// (RFC 9449 §7.2), from the cache as after a full verification.
    #[inline]
    fn as_bearer(&self, result: Result<Verified, Error>) -> Result<Verified, Error> {
        let bound = match &result {
            Ok(verified) => verified.confirmation_jkt().is_some(),
            Err(e) => e
                .credential()
                .is_some_and(|c| c.confirmation_jkt().is_some()),
        };
        // With dpop = required, no credential is accepted without a proof: not a bound token,
        // and not an unbound one either (RFC 9728 `dpop_bound_access_tokens_required`).
        let required = self.inner.dpop.mode == DpopMode::Required;
        if bound || (required && result.is_ok()) {
            if result.is_ok() {
                self.inner.counters.add(Event::RefusedAfterVerification);
            }
            let error = if bound {
                dpop::bound_as_bearer()
            } else {
                dpop::bearer_where_required()
            };
            return self.count_rejection(Err(error));
        }
        self.count_rejection(result)
    }

    /// The binding rules after the token check (RFC 9449 §7). A token refused only for its
    /// scopes is checked too, so that a bound token without its proof learns nothing more.
    fn finish_request(
        &self,
        presented: Presented<'_>,
        request: &AuthRequest<'_>,
        result: Result<Verified, Error>,
        now: SystemTime,
    ) -> Result<Verified, Error> {
        let dpop = &self.inner.dpop;
        let now = unix_seconds(now);
        let checked = match result {
            Ok(verified) => match dpop.check_binding(presented, request, &verified, now) {
                Ok(()) if presented.scheme == Scheme::Dpop => Ok(verified.with_dpop_presentation()),
                Ok(()) => Ok(verified),
                Err(e) => {
                    self.inner.counters.add(Event::RefusedAfterVerification);
                    Err(e)
                }
            },
            Err(e) => match e.credential() {
                Some(credential) => match dpop.check_binding(presented, request, credential, now) {
                    Ok(()) => Err(e),
                    Err(binding) => Err(binding),
                },
                None => Err(e),
            },
        };
        let checked = match presented.scheme {
            Scheme::Dpop => checked.map_err(Error::in_dpop_scheme),
            Scheme::Bearer | Scheme::ApiKey => checked,
        };
        self.count_rejection(checked)
    }

    /// Counts a final rejection (acceptances are counted where they happen, in `attempt`).
    #[inline]
    fn count_rejection(&self, result: Result<Verified, Error>) -> Result<Verified, Error> {
        if let Err(e) = &result {
            self.inner.counters.reject(e.code());
        }
        result
    }

    /// What this verifier has done — outcomes by error code, cache hits, misses, inserts and
    /// evictions, key fetches and failures by step — and the state of its cache and keys.
    ///
    /// ```
    /// # use jwtgate::Verifier;
    /// let v = Verifier::builder().static_token("k", "bot").build().unwrap();
    /// v.verify("k").unwrap();
    /// let _ = v.verify("nope");
    /// let stats = v.stats();
    /// assert_eq!((stats.accepted, stats.static_tokens, stats.rejected), (1, 1, 1));
    /// assert_eq!(stats.rejected_by_code, [(jwtgate::ErrorCode::TokenUnknown, 1)]);
    /// ```
    pub fn stats(&self) -> Stats {
        let inner = &*self.inner;
        let mut stats = inner.counters.snapshot();
        if let Some(cache) = &inner.cache {
            stats.cache_entries = cache.entries();
            stats.cache_capacity = cache.capacity();
        }
        stats.key_generation = inner.keys.as_ref().map_or(0, |k| k.load().generation());
        if let Some(remote) = &inner.remote {
            remote.fill_stats(&mut stats);
        }
        if let Some(introspector) = &inner.introspection {
            stats.introspections = introspector
                .calls
                .load(std::sync::atomic::Ordering::Relaxed);
            stats.introspection_failures = introspector
                .failures
                .load(std::sync::atomic::Ordering::Relaxed);
        }
        if !inner.providers.is_empty() {
            inner.providers.add_stats(&mut stats);
            stats.compute_accepted();
        }
        stats
    }

    /// The answer when it needs no signature check, no key fetch and no waiting: a configured
    /// static token (`Some(Ok)`, or `insufficient_scope`), a cached credential that is still
    /// valid (its window and its key re-checked as on every hit), or a credential over the size
    /// limit. `Some(result)` is exactly what [`verify`](Verifier::verify) would answer now (and
    /// is counted the same way in [`stats`](Verifier::stats)); `None` means it takes more work —
    /// then call `verify`. Event-loop bindings answer the `Some` cases inline.
    pub fn verify_cached(&self, token: &str) -> Option<Result<Verified, Error>> {
        self.cached(token).map(|result| self.as_bearer(result))
    }

    /// A hit in this verifier's verified-token cache (counted), nothing else.
    fn cache_hit(&self, token: &str) -> Option<Result<Verified, Error>> {
        let inner = &*self.inner;
        if inner.introspection.as_ref().is_some_and(|i| i.jwts) {
            return None; // the provider is asked about every JWT (revocation)
        }
        let (cache, holder) = (inner.cache.as_ref()?, inner.keys.as_ref()?);
        let verified = cache
            .get(token, unix_seconds(SystemTime::now()), &holder.load())
            .ok()?;
        inner.counters.add(Event::CacheHit);
        Some(Ok(verified))
    }

    /// [`verify_cached`](Verifier::verify_cached) before the presentation rules and the count.
    fn cached(&self, token: &str) -> Option<Result<Verified, Error>> {
        let inner = &*self.inner;
        if let Err(e) = token::check_size(token, inner.policy.jws.max_token_bytes) {
            return Some(Err(e));
        }
        match self.provider_for(token) {
            None => {}
            Some(Err(e)) => return Some(Err(e)),
            Some(Ok(Routed::Static(result))) => return Some(result),
            Some(Ok(Routed::Cached(verified))) => return Some(self.outer_scopes(Ok(verified))),
            Some(Ok(Routed::Provider(provider))) => {
                return provider.cached(token).map(|r| self.outer_scopes(r));
            }
        }
        if let Some(verified) = inner.static_tokens.verify(token) {
            let result = inner.policy.check_scopes(verified);
            if result.is_ok() {
                inner.counters.add(Event::StaticToken);
            }
            return Some(result);
        }
        if let Some(introspector) = &inner.introspection {
            if !token::looks_like_jws(token) {
                let answer = introspector.cached(token, unix_seconds(SystemTime::now()))?;
                let result = answer.and_then(|v| inner.policy.check_scopes(v));
                if result.is_ok() {
                    inner.counters.add(Event::Introspected);
                }
                return Some(result);
            }
            if introspector.jwts {
                return None; // the provider is asked about JWTs too
            }
        }
        if inner.remote.as_ref().is_some_and(|r| !r.loaded()) {
            return None; // `verify` would wait for the keys
        }
        let (cache, holder) = (inner.cache.as_ref()?, inner.keys.as_ref()?);
        let now = unix_seconds(SystemTime::now());
        let verified = cache.get(token, now, &holder.load()).ok()?;
        inner.counters.add(Event::CacheHit);
        Some(Ok(verified))
    }

    /// With several providers: the answer for a static token, or the provider the token's
    /// `iss` names (see `providers.rs`). `None` for a verifier without providers.
    fn provider_for(&self, token: &str) -> Option<Result<Routed<'_>, Error>> {
        let inner = &*self.inner;
        if inner.providers.is_empty() {
            return None;
        }
        if let Some(verified) = inner.static_tokens.verify(token) {
            let result = inner.policy.check_scopes(verified);
            if result.is_ok() {
                inner.counters.add(Event::StaticToken);
            }
            return Some(Ok(Routed::Static(result)));
        }
        // A token a provider verified before is in that provider's cache: a few lookups are
        // cheaper than reading `iss` from the payload. The cached credential names its issuer,
        // which must be that provider's.
        for provider in inner.providers.iter() {
            if let Some(Ok(verified)) = provider.verifier.cache_hit(token) {
                if verified.iss() == Some(&*provider.issuer) {
                    return Some(Ok(Routed::Cached(verified)));
                }
            }
        }
        Some(
            inner
                .providers
                .route(token, inner.policy.jws.max_token_bytes)
                .map(Routed::Provider),
        )
    }

    /// The outer verifier's own scope rules on what a provider accepted.
    fn outer_scopes(&self, result: Result<Verified, Error>) -> Result<Verified, Error> {
        let policy = &self.inner.policy;
        match result {
            Ok(verified)
                if !policy.required_scopes.is_empty() || !policy.scope_hierarchy.is_empty() =>
            {
                let checked = policy.check_scopes(verified);
                if checked.is_err() {
                    self.inner.counters.add(Event::RefusedAfterVerification);
                }
                checked
            }
            other => other,
        }
    }

    /// [`first_pass`](Verifier::first_pass) through the provider the token names, if any.
    fn first_pass_routed(&self, token: &str, now: SystemTime) -> Pass {
        match self.provider_for(token) {
            None => self.first_pass(token, now, false),
            Some(Err(e)) => Pass::Done(Err(e)),
            Some(Ok(Routed::Static(result))) => Pass::Done(result),
            Some(Ok(Routed::Cached(verified))) => Pass::Done(self.outer_scopes(Ok(verified))),
            Some(Ok(Routed::Provider(provider))) => match provider.first_pass_routed(token, now) {
                Pass::Done(result) => Pass::Done(self.outer_scopes(result)),
                after => after,
            },
        }
    }

    /// Runs the pipeline once; when it needs a key fetch, asks for one (at most once per
    /// cooldown) and says what to wait for. The one retry rule of `verify_at`, `verify_async`
    /// and `verify_nonblocking`.
    #[inline(always)]
    fn first_pass(&self, token: &str, now: SystemTime, block: bool) -> Pass {
        match self.attempt(token, now, block) {
            Ok(verified) => Pass::Done(Ok(verified)),
            Err((error, None)) => Pass::Done(Err(error)),
            // The introspection call was handed to a background thread.
            Err((_, Some(Need::Introspection))) => Pass::AfterFetch(0),
            Err((error, Some(need))) => match self.inner.remote.as_ref().map(|r| r.begin(need)) {
                None | Some(Wait::GiveUp) => Pass::Done(Err(error)),
                Some(Wait::Retry) => {
                    Pass::Done(self.attempt(token, now, block).map_err(|(e, _)| e))
                }
                Some(Wait::Until(attempts)) => Pass::AfterFetch(attempts),
            },
        }
    }

    /// One verification pass. On failure, also says what a key fetch could fix.
    fn attempt(
        &self,
        token: &str,
        now: SystemTime,
        block: bool,
    ) -> Result<Verified, (Error, Option<Need>)> {
        let inner = &*self.inner;
        token::check_size(token, inner.policy.jws.max_token_bytes).map_err(|e| (e, None))?;
        if let Some(verified) = inner.static_tokens.verify(token) {
            let verified = inner.policy.check_scopes(verified).map_err(|e| (e, None))?;
            inner.counters.add(Event::StaticToken);
            return Ok(verified);
        }
        if let Some(introspector) = &inner.introspection {
            if !token::looks_like_jws(token) {
                let answer = self.introspect(introspector, token, now, block)?;
                let verified = inner.policy.check_scopes(answer).map_err(|e| (e, None))?;
                inner.counters.add(Event::Introspected);
                return Ok(verified);
            }
        }
        let Some(holder) = &inner.keys else {
            return Err((
                Error::new(
                    ErrorCode::TokenUnknown,
                    "credential matches no configured static token",
                ),
                None,
            ));
        };
        if !inner.static_tokens.is_empty() && !token.contains('.') {
            return Err((
                Error::new(
                    ErrorCode::TokenUnknown,
                    "credential is not a JWT and matches no configured static token",
                ),
                None,
            ));
        }
        if let Some(remote) = &inner.remote {
            if !remote.loaded() {
                // What can be refused without keys is refused before waiting for them: a
                // credential that is not a compact JWS never needs the keys, so it does not get a
                // 503 while they are away.
                token::Compact::split(token, inner.policy.jws.max_token_bytes)
                    .map_err(|e| (e, None))?;
                return Err((remote.unavailable(), Some(Need::Keys)));
            }
        }
        let keys = holder.load();
        let now_seconds = unix_seconds(now);
        if let Some(cache) = &inner.cache {
            if let Ok(verified) = cache.get(token, now_seconds, &keys) {
                if let Some(introspector) = inner.introspection.as_ref().filter(|i| i.jwts) {
                    self.introspect(introspector, token, now, block)?;
                }
                inner.counters.add(Event::CacheHit);
                return Ok(verified);
            }
            inner.counters.add(Event::CacheMiss);
        }
        match self.verify_jwt(&keys, token, now_seconds) {
            Ok((verified, key)) => {
                if let Some(introspector) = inner.introspection.as_ref().filter(|i| i.jwts) {
                    // Revocation: the provider must still call the token active.
                    self.introspect(introspector, token, now, block)?;
                }
                inner.counters.add(Event::Verified);
                if let (Some(cache), Some(alg)) = (&inner.cache, verified.alg()) {
                    inner.counters.add(Event::CacheInsert);
                    let binding = KeyBinding {
                        fingerprint: *keys.key(key).fingerprint(),
                        alg,
                        kid: verified.kid(),
                        generation: keys.generation(),
                    };
                    let window = verified.validity(inner.policy.claims.leeway);
                    let evicted = cache.insert(token, &verified, binding, window, now_seconds);
                    if evicted {
                        inner.counters.add(Event::CacheEviction);
                    }
                }
                Ok(verified)
            }
            Err(e) if e.code() == ErrorCode::KeyNotFound && inner.remote.is_some() => {
                Err((e, Some(Need::Kid(keys.generation()))))
            }
            Err(e) => Err((e, None)),
        }
    }

    /// The provider's answer for `token` (RFC 7662): cached, or one shared call — made here when
    /// `block`, else started on a background thread (`Need::Introspection`).
    fn introspect(
        &self,
        introspector: &Introspector,
        token: &str,
        now: SystemTime,
        block: bool,
    ) -> Result<Verified, (Error, Option<Need>)> {
        let now = unix_seconds(now);
        if let Some(answer) = introspector.cached(token, now) {
            return answer.map_err(|e| (e, None));
        }
        if !block {
            if introspector.has_room() {
                let verifier = self.clone();
                let token = token.to_owned();
                std::thread::spawn(move || {
                    if let Some(introspector) = &verifier.inner.introspection {
                        let now = unix_seconds(SystemTime::now());
                        let _ = introspector.introspect(&token, now, &|body| {
                            verifier.check_introspection(&token, body, now)
                        });
                    }
                });
            }
            return Err((
                introspection::failed("the answer is being fetched"),
                Some(Need::Introspection),
            ));
        }
        introspector
            .introspect(token, now, &|body| {
                self.check_introspection(token, body, now)
            })
            .map_err(|e| (e, None))
    }

    /// An introspection answer through the verifier's claims and dialect rules (the scope rules
    /// run on every use, cached or not).
    fn check_introspection(&self, token: &str, body: &[u8], now: f64) -> Result<Verified, Error> {
        let policy = &self.inner.policy;
        let issuer = match policy.claims.issuers.as_slice() {
            [one] => Some(&**one),
            _ => None,
        };
        let claims = introspection::parse_response(body, &policy.claims.required_claims, issuer)?;
        let claims_policy = introspection::claims_policy(&policy.claims);
        let audience = claims_policy.check(&claims, now)?.map(str::to_owned);
        let json = String::from_utf8(body.to_vec())
            .map_err(|_| introspection::failed("the response is not UTF-8"))?;
        let pending = PendingClaims::new(CredentialKind::Introspected, token, &claims, body);
        drop(claims);
        let verified = Verified::from_introspection(pending, json, audience.as_deref());
        policy.dialect.apply(verified)
    }

    /// Full verification; returns the result and the index of the key that verified it.
    fn verify_jwt(&self, keys: &KeySet, token: &str, now: f64) -> Result<(Verified, usize), Error> {
        let policy = &self.inner.policy;
        jws::verify_with(token, keys, &policy.jws, |header, compact, key| {
            policy.check_typ(header.typ.as_deref())?;
            // Claims are decoded and parsed only now, after the signature held.
            let (kid, typ) = (header.kid.as_deref(), header.typ.as_deref());
            // Room for the strings the credential appends to its claims text (see Verified).
            let room = kid.map_or(0, str::len)
                + typ.map_or(0, str::len)
                + policy
                    .claims
                    .audiences
                    .iter()
                    .flatten()
                    .map(|a| a.len())
                    .max()
                    .unwrap_or(0);
            let payload =
                token::decode_segment_with_room(compact.payload_b64, room, "token payload")?;
            // RFC 7519 §7.2 step 8 reads the claims as UTF-8 JSON (RFC 8259 §8.1): checked once
            // here, so the parser need not check every string again; the text is kept for
            // custom claims.
            let json = String::from_utf8(payload)
                .map_err(|_| Error::malformed("token claims are not UTF-8"))?;
            let claims = Claims::parse_str(&json, &policy.claims.required_claims)?;
            let audience = policy.claims.check(&claims, now)?;
            let pending = PendingClaims::new(CredentialKind::Jwt, token, &claims, json.as_bytes());
            drop(claims);
            let verified = Verified::from_jwt(pending, json, (header.alg, kid, typ), audience);
            let verified = policy.dialect.apply(verified)?;
            let verified = match policy.claims.id_token_client {
                Some(_) => verified.into_id_token(),
                None => verified,
            };
            let verified = policy.check_scopes(verified)?;
            Ok((verified, key))
        })
    }

    /// Blocks until keys are available or `timeout` passes. Static keys are always ready; for
    /// remote keys, this is how a server fails fast at start-up with the descriptive error.
    ///
    /// # Errors
    /// The last `discovery_failed` / `jwks_unavailable` error, or `jwks_unavailable` on timeout.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), Error> {
        if !self.inner.providers.is_empty() {
            // One deadline for all: each provider gets what is left of it.
            let deadline = std::time::Instant::now() + timeout;
            for provider in self.inner.providers.iter() {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                provider.verifier.wait_ready(left)?;
            }
            return Ok(());
        }
        match &self.inner.remote {
            Some(remote) => remote.wait_ready(timeout),
            None => Ok(()),
        }
    }

    /// The state of the verifier's keys: generation, kids, age, last error, fetch counts.
    pub fn keys_status(&self) -> KeysStatus {
        if let Some(remote) = &self.inner.remote {
            return remote.status();
        }
        if let Some(first) = self.inner.providers.iter().next() {
            return first.verifier.keys_status();
        }
        let keys = self.key_set();
        KeysStatus {
            source: "static".into(),
            ready: true,
            generation: keys.as_ref().map_or(0, |k| k.generation()),
            kids: keys
                .as_ref()
                .map(|k| {
                    k.keys()
                        .iter()
                        .filter_map(|k| k.kid().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            key_count: keys.as_ref().map_or(0, |k| k.len()),
            skipped: Vec::new(),
            age: None,
            max_age: None,
            max_stale: None,
            stale: false,
            last_error: None,
            fetches: 0,
            failures: 0,
        }
    }

    /// Builds a verifier from `{prefix}…` environment variables (see the table in
    /// [`VerifierBuilder::from_env`]).
    ///
    /// # Errors
    /// `config_invalid` naming the missing or contradictory variable.
    pub fn from_env(prefix: &str) -> Result<Verifier, Error> {
        VerifierBuilder::from_env(prefix)?.build()
    }

    /// Replaces the key set while other threads keep verifying (they finish with the set they
    /// loaded). Returns the new set's generation number.
    ///
    /// # Errors
    /// `config_invalid` if this verifier has no JWT policy (static tokens only), or the new set
    /// mixes HMAC secrets with public keys.
    pub fn set_keys(&self, keys: KeySet) -> Result<u64, Error> {
        if !self.inner.providers.is_empty() {
            return Err(Error::config(
                "this verifier has several providers; each has its own keys",
            ));
        }
        if self.inner.remote.is_some() {
            return Err(Error::config(
                "this verifier's keys are fetched from its issuer; set_keys is for static keys",
            ));
        }
        let Some(holder) = &self.inner.keys else {
            return Err(Error::config(
                "this verifier accepts static tokens only; it has no key set",
            ));
        };
        check_no_mixing(&keys)?;
        Ok(holder.store(keys))
    }

    /// A snapshot of the current key set (`None` for a static-token-only verifier).
    pub fn key_set(&self) -> Option<Arc<KeySet>> {
        self.inner.keys.as_ref().map(|h| Arc::clone(&h.load()))
    }

    /// The algorithms this verifier accepts.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut algorithms = self.inner.policy.jws.algorithms.to_vec();
        for provider in self.inner.providers.iter() {
            for alg in provider.verifier.algorithms() {
                if !algorithms.contains(&alg) {
                    algorithms.push(alg);
                }
            }
        }
        algorithms.sort();
        algorithms
    }

    /// With several providers: each provider's issuer and the state of its keys, in
    /// configuration order (empty otherwise; [`keys_status`](Verifier::keys_status) is the
    /// first provider's).
    pub fn provider_keys_status(&self) -> Vec<(String, KeysStatus)> {
        self.inner
            .providers
            .iter()
            .map(|p| (p.issuer.to_string(), p.verifier.keys_status()))
            .collect()
    }

    /// The issuers this verifier trusts, as configured.
    pub fn issuers(&self) -> Vec<&str> {
        self.inner
            .policy
            .claims
            .issuers
            .iter()
            .map(|s| &**s)
            .collect()
    }

    /// The resource this verifier protects, for the RFC 9728 metadata document and the
    /// challenges of refused requests: see [`ProtectedResource::for_verifier`].
    ///
    /// # Errors
    /// As [`ProtectedResource::new`].
    pub fn protected_resource(
        &self,
        resource: &str,
        authorization_servers: &[&str],
        scopes_supported: &[&str],
    ) -> Result<ProtectedResource, Error> {
        ProtectedResource::for_verifier(self, resource, authorization_servers, scopes_supported)
    }

    /// DPoP mode, proof algorithms, and whether nonces are required.
    pub(crate) fn dpop_settings(&self) -> (DpopMode, Vec<Algorithm>, bool) {
        let dpop = &self.inner.dpop;
        (dpop.mode, dpop.algorithms.to_vec(), dpop.nonces())
    }

    /// A fresh DPoP nonce (RFC 9449 §8) when this verifier requires nonces.
    pub(crate) fn fresh_dpop_nonce(&self) -> Option<String> {
        self.inner.dpop.fresh_nonce(unix_seconds(SystemTime::now()))
    }

    /// The scopes every credential must carry, however they were configured (builder or
    /// environment).
    pub fn required_scopes(&self) -> Vec<&str> {
        self.inner
            .policy
            .required_scopes
            .iter()
            .map(|s| &**s)
            .collect()
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.inner.policy.claims.issuers)
            .field("audiences", &self.inner.policy.claims.audiences)
            .field("algorithms", &self.algorithms())
            .field("static_tokens", &self.inner.static_tokens.len())
            .finish_non_exhaustive()
    }
}

pub(crate) fn check_no_mixing(keys: &KeySet) -> Result<(), Error> {
    if keys.has_secrets()
        && keys
            .keys()
            .iter()
            .any(|k| !k.family().eq(&crate::alg::KeyFamily::Hmac))
    {
        return Err(Error::config(
            "HMAC secrets and public keys cannot share a verifier (algorithm confusion); use two verifiers",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn verifier_is_send_sync_clone() {
        assert_send_sync::<Verifier>();
    }
}
