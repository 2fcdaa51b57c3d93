//! `NativeVerifier`: options → `VerifierBuilder`, the verification entry points, `KeysStatus`,
//! `Stats`.
//!
//! `index.js` wraps it in the public `Verifier` class (argument checks, JWKS objects and
//! `KeyObject`s to text, the claims-object array); the option names are DESIGN.md's Node names.
//!
//! The hot entry points exist twice: as raw N-API callbacks (`fastcall.rs`, what `index.js`
//! uses) and as plain `#[napi]` methods here (`verifySyncPlain`, `verifyPlain`), which
//! `test/fastpath.test.mjs` holds the fast path against and `benchmarks/fastpath.mjs` measures
//! it against. Both call the same [`State`] methods; only the argument and return-value glue
//! differs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use jwtgate::{
    Algorithm, AudienceMatch, AuthRequest, ClientAuth, CredentialKind, DpopMode, StaticToken,
    Verified, VerifierBuilder,
};
use napi::Env;
use napi::bindgen_prelude::{
    AsyncTask, Either, JsObjectValue, Object, Uint8Array, Unknown, ValueType,
};
use napi_derive::napi;

use crate::claims::{self, ClaimsTable};
use crate::resource::NativeProtectedResource;
use crate::tasks::{VerifyRequestTask, VerifyTask, WaitReadyTask};
use crate::{errors, fastcall};

/// A static bearer token / API key and the identity it grants.
#[napi(object)]
pub struct StaticTokenOptions {
    /// The secret as presented in `Authorization: Bearer <token>` (kept only as a SHA-256 digest).
    pub token: String,
    /// The identity the token grants (`clientId` of the result).
    pub client_id: String,
    /// The scopes the token grants (default none).
    pub scopes: Option<Vec<String>>,
    /// The resource (audience) the token is for (`StaticToken::with_audience`).
    pub audience: Option<String>,
}

/// Token introspection (RFC 7662) for credentials that are not JWTs (the core's
/// `VerifierBuilder::introspection` and its `introspection_*` settings).
#[napi(object)]
pub struct IntrospectionOptions {
    /// This server's client id at the provider.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// The introspection endpoint (default: the issuer's metadata `introspection_endpoint`).
    pub endpoint: Option<String>,
    /// `basic` (`client_secret_basic`, default) or `post` (`client_secret_post`).
    pub client_auth: Option<String>,
    /// Also introspect JWTs that verified locally (revocation).
    pub jwts: Option<bool>,
    /// How long an active answer is reused, in seconds (default 60, at most 3600; 0 asks every
    /// time): the longest a revoked token is still accepted.
    pub cache_ttl: Option<f64>,
    /// How many answers are cached (0 disables the cache).
    pub cache_size: Option<f64>,
    /// How many calls to the provider may run at once (1 to 1024).
    pub max_concurrent: Option<f64>,
}

/// Verifier options (DESIGN.md "Option names"); see `index.d.ts` for the documented public form.
#[napi(object)]
pub struct VerifierOptions {
    /// Accepted issuer(s): `iss` must equal one exactly.
    pub issuer: Option<Either<String, Vec<String>>>,
    /// Accepted audience(s): one `aud` value must equal one of them.
    pub audience: Option<Either<String, Vec<String>>>,
    /// JWKS URL (skips discovery).
    pub jwks_uri: Option<String>,
    /// A static JWKS document (JSON text).
    pub jwks: Option<String>,
    /// One or more PEM public keys.
    pub public_key: Option<Either<String, Vec<String>>>,
    /// An HMAC secret for every HS* algorithm of `algorithms` (`index.js` turns strings into
    /// their UTF-8 bytes).
    pub hmac_secret: Option<Uint8Array>,
    /// Accepted algorithms (JOSE names).
    pub algorithms: Option<Vec<String>>,
    /// Scopes that must all be present.
    pub required_scopes: Option<Vec<String>>,
    /// The scope hierarchy: each scope → the scope(s) it implies (`*` for every scope).
    pub scope_implies: Option<HashMap<String, Either<String, Vec<String>>>>,
    /// How `aud` compares with the audiences: `exact` or `canonical`.
    pub audience_match: Option<String>,
    /// DPoP (RFC 9449) mode: `off`, `allowed` or `required`.
    pub dpop: Option<String>,
    /// Algorithms accepted for DPoP proofs (JOSE names).
    pub dpop_algorithms: Option<Vec<String>>,
    /// How far a proof's `iat` may lie from now, in seconds.
    pub dpop_iat_window: Option<f64>,
    /// Whether proofs must carry a server-issued nonce.
    pub dpop_nonce: Option<bool>,
    /// Capacity of the DPoP replay cache, in proofs.
    pub dpop_replay_cache_size: Option<f64>,
    /// The secret server nonces are made with (at least 32 bytes; `index.js` turns strings
    /// into their UTF-8 bytes): processes sharing it accept each other's nonces.
    pub dpop_nonce_secret: Option<Uint8Array>,
    /// Where scopes come from: claim names or dotted paths, in order (replaces `scope`, `scp`).
    pub scope_claims: Option<Either<String, Vec<String>>>,
    /// Where the client id comes from: claim names or dotted paths, in order.
    pub client_id_claims: Option<Either<String, Vec<String>>>,
    /// id_token mode: the client id OIDC id_tokens must be issued to.
    pub id_token: Option<String>,
    /// Several identity providers: one option set per provider, each with exactly one issuer.
    pub providers: Option<Vec<VerifierOptions>>,
    /// Token introspection (RFC 7662) for opaque access tokens.
    pub introspection: Option<IntrospectionOptions>,
    /// Leeway for `exp`, `nbf`, `iat`, in seconds.
    pub clock_tolerance: Option<f64>,
    /// Expected header `typ` (e.g. `at+jwt`).
    pub typ: Option<String>,
    /// Claims that must be present.
    pub required_claims: Option<Vec<String>>,
    /// Static bearer tokens / API keys.
    pub static_tokens: Option<Vec<StaticTokenOptions>>,
    /// Capacity of the verified-token cache (0 disables it).
    pub cache_size: Option<f64>,
    /// Disables the audience check (providers that set no `aud`).
    pub insecure_skip_audience_check: Option<bool>,
    /// Accepts tokens without `exp`.
    pub insecure_allow_missing_exp: Option<bool>,
    /// Allows plain-http discovery/JWKS URLs on non-loopback hosts.
    pub allow_insecure_http: Option<bool>,
    /// Deadline of each key fetch, in seconds.
    pub fetch_timeout: Option<f64>,
    /// Least time between two fetches caused by unknown `kid`s, in seconds.
    pub refresh_cooldown: Option<f64>,
    /// Largest accepted token, in bytes.
    pub max_token_bytes: Option<f64>,
    /// How long the last good remote keys keep verifying after fetches start failing, in seconds.
    pub max_stale: Option<f64>,
}

/// A key that was left out of a key set, and why.
#[napi(object)]
pub struct SkippedKey {
    /// Its `kid`, if it had one.
    pub kid: Option<String>,
    /// Its position in the JWKS `keys` array.
    pub index: u32,
    /// Why it cannot be used.
    pub reason: String,
}

/// An error without the class, as reported in [`KeysStatus::last_error`].
#[napi(object)]
pub struct ErrorInfo {
    /// The stable error code.
    pub code: String,
    /// The message.
    pub message: String,
}

/// The state of a verifier's keys (the core's `KeysStatus`).
#[napi(object)]
pub struct KeysStatus {
    /// `"static"`, or the JWKS URL once known.
    pub source: String,
    /// Whether keys are available.
    pub ready: bool,
    /// Whether the last fetch failed and the last good keys are in use meanwhile.
    pub stale: bool,
    /// The key set's generation, bumped on every swap.
    pub generation: f64,
    /// The `kid`s of the usable keys.
    pub kids: Vec<String>,
    /// Number of usable keys.
    pub key_count: u32,
    /// Keys of the last fetched document that were skipped, with reasons.
    pub skipped: Vec<SkippedKey>,
    /// Seconds since the current set was fetched (remote keys).
    pub age_seconds: Option<f64>,
    /// Seconds the current set stays fresh (remote keys).
    pub max_age_seconds: Option<f64>,
    /// Seconds the last good keys keep verifying while fetches fail (remote keys).
    pub max_stale_seconds: Option<f64>,
    /// The last failed fetch, cleared by a success.
    pub last_error: Option<ErrorInfo>,
    /// HTTP requests made (discovery and JWKS).
    pub fetches: f64,
    /// Fetch attempts that failed.
    pub failures: f64,
}

impl KeysStatus {
    fn from_core(s: jwtgate::KeysStatus) -> KeysStatus {
        KeysStatus {
            source: s.source,
            ready: s.ready,
            stale: s.stale,
            generation: s.generation as f64,
            kids: s.kids,
            key_count: s.key_count as u32,
            skipped: s
                .skipped
                .into_iter()
                .map(|k| SkippedKey {
                    kid: k.kid,
                    index: k.index as u32,
                    reason: k.reason,
                })
                .collect(),
            age_seconds: s.age.map(|d| d.as_secs_f64()),
            max_age_seconds: s.max_age.map(|d| d.as_secs_f64()),
            max_stale_seconds: s.max_stale.map(|d| d.as_secs_f64()),
            last_error: s.last_error.map(|e| ErrorInfo {
                code: e.code().as_str().to_owned(),
                message: e.message().to_owned(),
            }),
            fetches: s.fetches as f64,
            failures: s.failures as f64,
        }
    }
}

/// One provider's keys (`Verifier::provider_keys_status`).
#[napi(object, object_from_js = false)]
pub struct ProviderKeysStatus {
    /// The provider's issuer.
    pub issuer: String,
    /// The state of its keys.
    pub status: KeysStatus,
}

/// One error code and how often it occurred (`Stats::rejected_by_code`).
#[napi(object, object_from_js = false)]
pub struct CodeCount {
    /// The error code.
    pub code: &'static str,
    /// Rejections with it.
    pub count: f64,
}

/// What a verifier has done, and the state of its cache and keys (the core's `Stats`; counters
/// are numbers, exact up to 2^53).
#[napi(object, object_from_js = false)]
pub struct Stats {
    /// Credentials accepted (cache hits + verified + static tokens, less
    /// `refused_after_verification`).
    pub accepted: f64,
    /// Credentials that verified and were then refused: their DPoP binding failed, or (with
    /// providers) the outer required scopes were missing. Counted as rejected.
    pub refused_after_verification: f64,
    /// Accepted from the verified-token cache, without crypto.
    pub cache_hits: f64,
    /// Accepted by a full verification.
    pub verified: f64,
    /// Accepted as static tokens.
    pub static_tokens: f64,
    /// Rejections in total.
    pub rejected: f64,
    /// Rejections by code (codes that occurred, in the core's order).
    pub rejected_by_code: Vec<CodeCount>,
    /// Cache lookups that found nothing usable.
    pub cache_misses: f64,
    /// Results stored in the cache.
    pub cache_inserts: f64,
    /// Live entries pushed out to make room.
    pub cache_evictions: f64,
    /// Entries in the cache now.
    pub cache_entries: f64,
    /// The cache's capacity (0 when disabled).
    pub cache_capacity: f64,
    /// Discovery fetches (attempts).
    pub discovery_fetches: f64,
    /// Discovery attempts that failed.
    pub discovery_failures: f64,
    /// JWKS fetches (attempts).
    pub jwks_fetches: f64,
    /// JWKS fetches that failed.
    pub jwks_failures: f64,
    /// Refreshes asked for by unknown `kid`s.
    pub kid_refreshes: f64,
    /// The current key set's generation.
    pub key_generation: f64,
    /// Seconds since the current remote key set was fetched.
    pub key_age_seconds: Option<f64>,
    /// Whether the last good remote keys are in use because refreshes fail.
    pub keys_stale: bool,
    /// Calls made to the introspection endpoint (RFC 7662).
    pub introspections: f64,
    /// Introspection calls that failed (no answer, or one that is not RFC 7662's).
    pub introspection_failures: f64,
}

impl Stats {
    fn from_core(s: jwtgate::Stats) -> Stats {
        let n = |v: u64| v as f64;
        Stats {
            accepted: n(s.accepted),
            refused_after_verification: n(s.refused_after_verification),
            cache_hits: n(s.cache_hits),
            verified: n(s.verified),
            static_tokens: n(s.static_tokens),
            rejected: n(s.rejected),
            rejected_by_code: s
                .rejected_by_code
                .iter()
                .map(|&(code, count)| CodeCount {
                    code: code.as_str(),
                    count: n(count),
                })
                .collect(),
            cache_misses: n(s.cache_misses),
            cache_inserts: n(s.cache_inserts),
            cache_evictions: n(s.cache_evictions),
            cache_entries: s.cache_entries as f64,
            cache_capacity: s.cache_capacity as f64,
            discovery_fetches: n(s.discovery_fetches),
            discovery_failures: n(s.discovery_failures),
            jwks_fetches: n(s.jwks_fetches),
            jwks_failures: n(s.jwks_failures),
            kid_refreshes: n(s.kid_refreshes),
            key_generation: n(s.key_generation),
            key_age_seconds: s.key_age.map(|d| d.as_secs_f64()),
            keys_stale: s.keys_stale,
            introspections: n(s.introspections),
            introspection_failures: n(s.introspection_failures),
        }
    }
}

/// What a verifier's entry points share: the core verifier and the claims objects already
/// built for its credentials.
pub(crate) struct State {
    pub(crate) verifier: jwtgate::Verifier,
    table: RefCell<Option<ClaimsTable>>,
}

impl State {
    /// `verifySync`: the core's `verify_at` (`now` by default), which waits for a key fetch
    /// when the token needs one (at most the fetch timeout).
    pub(crate) fn verify_sync(
        &self,
        token: &str,
        now: Option<SystemTime>,
    ) -> Result<Verified, jwtgate::Error> {
        match now {
            Some(now) => self.verifier.verify_at(token, now),
            None => self.verifier.verify(token),
        }
    }

    /// What `verify()` answers on the calling thread: everything the core answers without
    /// waiting (`verify_nonblocking`): cached and static tokens, cached introspection answers,
    /// and every JWT whose keys are in hand, signature check included. A signature check takes
    /// microseconds, less than a hop to the libuv pool and back. `None` means the core must wait
    /// (a key fetch or an introspection call, now started): then `verify()` goes to the pool,
    /// where the core's blocking `verify` waits for it.
    pub(crate) fn nonblocking(&self, token: &str) -> Option<Result<Verified, jwtgate::Error>> {
        self.verifier.verify_nonblocking(token)
    }

    /// The JS value of an outcome: the claims object, or the `JwtGateError` to throw.
    pub(crate) fn settle<'env>(
        &self,
        env: &'env Env,
        outcome: Result<Verified, jwtgate::Error>,
        objects: Object<'env>,
    ) -> napi::Result<Unknown<'env>> {
        match outcome {
            Ok(verified) => self.claims_object(env, &verified, objects),
            Err(error) => Err(errors::from_core(env, &error)),
        }
    }

    /// The claims object of an accepted credential: the one built earlier for the same
    /// credential (`token_id`, at its slot of `objects`), or a new one, remembered.
    fn claims_object<'env>(
        &self,
        env: &'env Env,
        verified: &Verified,
        mut objects: Object<'env>,
    ) -> napi::Result<Unknown<'env>> {
        // An introspection answer is the provider's word at the time it was asked: a later
        // answer for the same token text may differ (scopes, expiry), so its object is built
        // anew each time, never reused by text.
        if verified.kind() == CredentialKind::Introspected {
            return claims::to_js(env, verified);
        }
        let id = verified.token_id();
        // No borrow is held across a call into JavaScript (the factory, element access).
        let slots = self
            .table
            .borrow()
            .as_ref()
            .map(|t| (t.find(id), t.slot_of(id)));
        let Some((found, slot)) = slots else {
            return claims::to_js(env, verified);
        };
        if let Some(slot) = found {
            let value: Unknown<'env> = objects.get_element(slot)?;
            if value.get_type()? == ValueType::Object {
                return Ok(value);
            }
        }
        let value = claims::to_js(env, verified)?;
        // Empty the slot first: should the write fail, no id points at another object.
        if let Some(t) = self.table.borrow_mut().as_mut() {
            t.forget(slot);
        }
        objects.set_element(slot, value)?;
        if let Some(t) = self.table.borrow_mut().as_mut() {
            t.remember(slot, id);
        }
        Ok(value)
    }

    /// `verifyRequestSync`: the core's `verify_request_at` (`now` by default).
    pub(crate) fn verify_request_sync(
        &self,
        request: &RequestParts,
        now: Option<SystemTime>,
    ) -> Result<Verified, jwtgate::Error> {
        request.with(|request| match now {
            Some(now) => self.verifier.verify_request_at(request, now),
            None => self.verifier.verify_request(request),
        })
    }

    /// What `verifyRequest()` answers on the calling thread: the core's
    /// `verify_request_nonblocking`, as [`nonblocking`](Self::nonblocking) for `verify()`.
    /// `None` means the core must wait (a key fetch or an introspection call, now started).
    pub(crate) fn verify_request_nonblocking(
        &self,
        request: &RequestParts,
    ) -> Option<Result<Verified, jwtgate::Error>> {
        request.with(|request| self.verifier.verify_request_nonblocking(request))
    }

    /// The thread-pool verification of `token` (at `now`, or when it runs).
    pub(crate) fn task(&self, token: String, now: Option<SystemTime>) -> AsyncTask<VerifyTask> {
        AsyncTask::new(VerifyTask {
            verifier: self.verifier.clone(),
            token,
            now,
        })
    }
}

/// A request's credentials as JavaScript passed them, owned (for the thread pool too): the
/// parts of the core's [`AuthRequest`].
pub(crate) struct RequestParts {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) authorization: Option<String>,
    pub(crate) dpop: Vec<String>,
    /// The `X-API-Key` header value (static tokens only; `AuthRequest::with_api_key`).
    pub(crate) api_key: Option<String>,
}

impl RequestParts {
    /// Calls `f` with the core's view of the request.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&AuthRequest<'_>) -> T) -> T {
        let proofs: Vec<&str> = self.dpop.iter().map(String::as_str).collect();
        f(&AuthRequest::new(
            &self.method,
            &self.url,
            self.authorization.as_deref(),
            &proofs,
        )
        .with_api_key(self.api_key.as_deref()))
    }
}

/// The instant `epoch_seconds` after the Unix epoch (`verifyAt`): the core's conversion, so
/// Python and Node accept the same range.
pub(crate) fn instant(env: &Env, epoch_seconds: f64) -> napi::Result<SystemTime> {
    jwtgate::time_from_unix_seconds(epoch_seconds).map_err(|e| errors::from_core(env, &e))
}

/// The native verifier behind the public `Verifier` class of `index.js`.
#[napi]
pub struct NativeVerifier {
    state: Rc<State>,
}

/// The largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A non-negative whole number option, passed on to the core (which bounds each size).
fn count(env: &Env, name: &str, value: f64) -> napi::Result<usize> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE_INTEGER {
        usize::try_from(value as u64).map_err(|_| {
            errors::config(
                env,
                format!("{name} is too large for this platform, got {value}"),
            )
        })
    } else {
        Err(errors::config(
            env,
            format!("{name} must be a non-negative whole number, got {value}"),
        ))
    }
}

/// A duration option given in seconds: checked into a `Duration` (negative, NaN, infinite and
/// larger-than-`Duration` values are `config_invalid`); the core bounds each option.
fn seconds(env: &Env, name: &str, value: f64) -> napi::Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        errors::config(
            env,
            format!("{name} must be a non-negative number of seconds, got {value}"),
        )
    })
}

/// JOSE algorithm names → the core's `Algorithm`s (`option` names the option in the error).
fn algorithms(env: &Env, option: &str, names: &[String]) -> napi::Result<Vec<Algorithm>> {
    names
        .iter()
        .map(|name| {
            name.parse().map_err(|_| {
                errors::config(
                    env,
                    format!(
                        "unknown algorithm {name:?} in {option} (supported: {})",
                        Algorithm::ALL.map(|a| a.as_str()).join(", ")
                    ),
                )
            })
        })
        .collect()
}

fn list(value: Either<String, Vec<String>>) -> Vec<String> {
    match value {
        Either::A(one) => vec![one],
        Either::B(many) => many,
    }
}

/// Translates the options into a builder, in DESIGN.md's terms; every check of their meaning
/// is the core's (`build`).
fn builder(env: &Env, options: VerifierOptions) -> napi::Result<VerifierBuilder> {
    let mut b = jwtgate::Verifier::builder();
    if let Some(issuer) = options.issuer {
        b = b.issuers(list(issuer));
    }
    if let Some(audience) = options.audience {
        b = b.audiences(list(audience));
    }
    if let Some(uri) = options.jwks_uri {
        b = b.jwks_uri(uri);
    }
    if let Some(jwks) = options.jwks {
        b = b.jwks(&jwks);
    }
    if let Some(pem) = options.public_key {
        for pem in list(pem) {
            b = b.public_key_pem(&pem);
        }
    }
    if let Some(secret) = &options.hmac_secret {
        b = b.hmac_secret_for_algorithms(&secret[..]);
    }
    if let Some(names) = options.algorithms {
        b = b.algorithms(algorithms(env, "algorithms", &names)?);
    }
    if let Some(scopes) = options.required_scopes {
        b = b.required_scopes(scopes);
    }
    if let Some(hierarchy) = options.scope_implies {
        for (broader, narrower) in hierarchy {
            for narrower in list(narrower) {
                b = b.scope_implies(broader.clone(), narrower);
            }
        }
    }
    if let Some(mode) = options.audience_match {
        b = b.audience_match(match mode.as_str() {
            "exact" => AudienceMatch::Exact,
            "canonical" => AudienceMatch::CanonicalUri,
            _ => {
                return Err(errors::config(
                    env,
                    format!("audienceMatch must be 'exact' or 'canonical', got {mode:?}"),
                ));
            }
        });
    }
    if let Some(mode) = options.dpop {
        b = b.dpop(DpopMode::from_name(&mode).ok_or_else(|| {
            errors::config(
                env,
                format!("dpop must be 'off', 'allowed' or 'required', got {mode:?}"),
            )
        })?);
    }
    if let Some(names) = options.dpop_algorithms {
        b = b.dpop_algorithms(algorithms(env, "dpopAlgorithms", &names)?);
    }
    if let Some(window) = options.dpop_iat_window {
        b = b.dpop_iat_window(seconds(env, "dpopIatWindow", window)?);
    }
    if let Some(nonce) = options.dpop_nonce {
        b = b.dpop_nonce(nonce);
    }
    if let Some(secret) = &options.dpop_nonce_secret {
        // The secret turns nonces on (the core's `dpop_nonce_secret`); `dpopNonce: false` next
        // to it would be silently overridden.
        if options.dpop_nonce == Some(false) {
            return Err(errors::config(
                env,
                "dpopNonceSecret turns server nonces on: remove dpopNonce: false, or the secret",
            ));
        }
        b = b.dpop_nonce_secret(&secret[..]);
    }
    if let Some(paths) = options.scope_claims {
        b = b.scope_claims(list(paths));
    }
    if let Some(paths) = options.client_id_claims {
        b = b.client_id_claims(list(paths));
    }
    if let Some(client_id) = options.id_token {
        b = b.id_token(client_id);
    }
    if let Some(introspection) = options.introspection {
        b = introspection_options(env, b, introspection)?;
    }
    if let Some(providers) = options.providers {
        // `index.js` bounds the nesting (the core refuses providers inside a provider).
        for provider in providers {
            b = b.provider(builder(env, provider)?);
        }
    }
    if let Some(size) = options.dpop_replay_cache_size {
        b = b.dpop_replay_cache_size(count(env, "dpopReplayCacheSize", size)?);
    }
    if let Some(tolerance) = options.clock_tolerance {
        b = b.leeway(seconds(env, "clockTolerance", tolerance)?);
    }
    if let Some(typ) = options.typ {
        b = b.typ(typ);
    }
    if let Some(claims) = options.required_claims {
        b = b.require_claims(claims);
    }
    if let Some(tokens) = options.static_tokens {
        b = b.static_tokens(tokens.into_iter().map(|t| {
            let token =
                StaticToken::new(t.token, t.client_id).with_scopes(t.scopes.unwrap_or_default());
            match t.audience {
                Some(audience) => token.with_audience(audience),
                None => token,
            }
        }));
    }
    if let Some(size) = options.cache_size {
        b = b.cache_size(count(env, "cacheSize", size)?);
    }
    if options.insecure_skip_audience_check == Some(true) {
        b = b.insecure_skip_audience_check();
    }
    if options.insecure_allow_missing_exp == Some(true) {
        b = b.insecure_allow_missing_exp();
    }
    if options.allow_insecure_http == Some(true) {
        b = b.allow_insecure_http();
    }
    if let Some(timeout) = options.fetch_timeout {
        b = b.fetch_timeout(seconds(env, "fetchTimeout", timeout)?);
    }
    if let Some(cooldown) = options.refresh_cooldown {
        b = b.refresh_cooldown(seconds(env, "refreshCooldown", cooldown)?);
    }
    if let Some(bytes) = options.max_token_bytes {
        b = b.max_token_bytes(count(env, "maxTokenBytes", bytes)?);
    }
    if let Some(max_stale) = options.max_stale {
        b = b.max_stale(seconds(env, "maxStale", max_stale)?);
    }
    Ok(b)
}

/// The `introspection` option onto the builder; the core bounds every value (`build`).
fn introspection_options(
    env: &Env,
    b: VerifierBuilder,
    o: IntrospectionOptions,
) -> napi::Result<VerifierBuilder> {
    let mut b = b.introspection(o.client_id, o.client_secret);
    if let Some(endpoint) = o.endpoint {
        b = b.introspection_endpoint(endpoint);
    }
    if let Some(auth) = o.client_auth {
        b = b.introspection_client_auth(match auth.as_str() {
            "basic" => ClientAuth::Basic,
            "post" => ClientAuth::Post,
            _ => {
                return Err(errors::config(
                    env,
                    format!("introspection.clientAuth must be 'basic' or 'post', got {auth:?}"),
                ));
            }
        });
    }
    if let Some(jwts) = o.jwts {
        b = b.introspect_jwts(jwts);
    }
    if let Some(ttl) = o.cache_ttl {
        b = b.introspection_cache_ttl(seconds(env, "introspection.cacheTtl", ttl)?);
    }
    if let Some(size) = o.cache_size {
        b = b.introspection_cache_size(count(env, "introspection.cacheSize", size)?);
    }
    if let Some(n) = o.max_concurrent {
        b = b.introspection_max_concurrent(count(env, "introspection.maxConcurrent", n)?);
    }
    Ok(b)
}

impl NativeVerifier {
    fn wrap(verifier: jwtgate::Verifier) -> NativeVerifier {
        // The claims table follows the core's cache: sized like it, absent when it is off.
        let capacity = verifier.stats().cache_capacity;
        NativeVerifier {
            state: Rc::new(State {
                verifier,
                table: RefCell::new(ClaimsTable::new(capacity)),
            }),
        }
    }
}

#[napi]
impl NativeVerifier {
    /// Builds a verifier; throws `JwtGateError` (`config_invalid`) for contradictory options.
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, options: VerifierOptions) -> napi::Result<NativeVerifier> {
        let verifier = builder(&env, options)?
            .build()
            .map_err(|e| errors::from_core(&env, &e))?;
        Ok(NativeVerifier::wrap(verifier))
    }

    /// A verifier configured from `{prefix}…` environment variables (core `from_env`).
    #[napi(factory, catch_unwind)]
    pub fn from_env(env: Env, prefix: String) -> napi::Result<NativeVerifier> {
        let verifier =
            jwtgate::Verifier::from_env(&prefix).map_err(|e| errors::from_core(&env, &e))?;
        Ok(NativeVerifier::wrap(verifier))
    }

    /// The hot entry points, `{ verifySync(token, objects, epochSeconds?), verify(token,
    /// objects) }`, as raw N-API functions bound to this verifier (see `fastcall.rs`). `objects`
    /// is the array in which the claims objects of earlier verifications are kept.
    #[napi(
        catch_unwind,
        ts_return_type = "{ verifySync(token: string, objects: Array<object | undefined>, epochSeconds?: number): object; verify(token: string, objects: Array<object | undefined>): object | Promise<object> }"
    )]
    pub fn entry_points<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        fastcall::entry_points(env, &self.state)
    }

    /// `verifySync` through napi-rs' generated glue: the plain twin of the fast path, for the
    /// differential test and the benchmark.
    #[napi(catch_unwind, ts_return_type = "object")]
    pub fn verify_sync_plain<'env>(
        &self,
        env: &'env Env,
        token: String,
        #[napi(ts_arg_type = "Array<object | undefined>")] objects: Object<'env>,
        epoch_seconds: Option<f64>,
    ) -> napi::Result<Unknown<'env>> {
        let now = epoch_seconds.map(|s| instant(env, s)).transpose()?;
        let outcome = self.state.verify_sync(&token, now);
        self.state.settle(env, outcome, objects)
    }

    /// `verify` through napi-rs' generated glue: the plain twin of the fast path.
    #[napi(catch_unwind, ts_return_type = "object | Promise<object>")]
    pub fn verify_plain<'env>(
        &self,
        env: &'env Env,
        token: String,
        #[napi(ts_arg_type = "Array<object | undefined>")] objects: Object<'env>,
    ) -> napi::Result<Either<Unknown<'env>, AsyncTask<VerifyTask>>> {
        match self.state.nonblocking(&token) {
            Some(outcome) => Ok(Either::A(self.state.settle(env, outcome, objects)?)),
            None => Ok(Either::B(self.state.task(token, None))),
        }
    }

    /// Verifies as if the time were `epochSeconds` after the Unix epoch, on the thread pool
    /// (the core's `verify_at`).
    #[napi(catch_unwind, ts_return_type = "Promise<object>")]
    pub fn verify_at(
        &self,
        env: Env,
        token: String,
        epoch_seconds: f64,
    ) -> napi::Result<AsyncTask<VerifyTask>> {
        let now = instant(&env, epoch_seconds)?;
        Ok(self.state.task(token, Some(now)))
    }

    /// `verifyRequestSync`: a request's credential (`Authorization`, every `DPoP` header value,
    /// the `X-API-Key` value) with the core's `verify_request`, on the calling thread, at
    /// `epochSeconds` when given.
    #[napi(catch_unwind, ts_return_type = "object")]
    #[allow(clippy::too_many_arguments)]
    pub fn verify_request_sync<'env>(
        &self,
        env: &'env Env,
        method: String,
        url: String,
        authorization: Option<String>,
        dpop: Vec<String>,
        api_key: Option<String>,
        #[napi(ts_arg_type = "Array<object | undefined>")] objects: Object<'env>,
        epoch_seconds: Option<f64>,
    ) -> napi::Result<Unknown<'env>> {
        let now = epoch_seconds.map(|s| instant(env, s)).transpose()?;
        let request = RequestParts {
            method,
            url,
            authorization,
            dpop,
            api_key,
        };
        let outcome = self.state.verify_request_sync(&request, now);
        self.state.settle(env, outcome, objects)
    }

    /// `verifyRequest`: [`verify_request_sync`](Self::verify_request_sync) without waiting on the
    /// calling thread. Answered here whenever the core can answer without waiting
    /// (`verify_request_nonblocking`: the keys in hand, the DPoP proof's and the token's
    /// signatures checked here, microseconds each); a Promise from the thread pool when the core
    /// must wait (a key fetch, an introspection call), and always at `epochSeconds`
    /// (`verifyRequestAt`), where the core's blocking `verify_request_at` runs.
    #[napi(catch_unwind, ts_return_type = "object | Promise<object>")]
    #[allow(clippy::too_many_arguments)]
    pub fn verify_request<'env>(
        &self,
        env: &'env Env,
        method: String,
        url: String,
        authorization: Option<String>,
        dpop: Vec<String>,
        api_key: Option<String>,
        #[napi(ts_arg_type = "Array<object | undefined>")] objects: Object<'env>,
        epoch_seconds: Option<f64>,
    ) -> napi::Result<Either<Unknown<'env>, AsyncTask<VerifyRequestTask>>> {
        let now = epoch_seconds.map(|s| instant(env, s)).transpose()?;
        let request = RequestParts {
            method,
            url,
            authorization,
            dpop,
            api_key,
        };
        if now.is_none()
            && let Some(outcome) = self.state.verify_request_nonblocking(&request)
        {
            return Ok(Either::A(self.state.settle(env, outcome, objects)?));
        }
        Ok(Either::B(AsyncTask::new(VerifyRequestTask {
            verifier: self.state.verifier.clone(),
            request,
            now,
        })))
    }

    /// The resource this verifier protects (the core's `Verifier::protected_resource`: empty
    /// lists mean the verifier's issuers and required scopes; its DPoP settings are advertised).
    #[napi(catch_unwind)]
    pub fn protected_resource(
        &self,
        env: Env,
        resource: String,
        authorization_servers: Vec<String>,
        scopes_supported: Vec<String>,
    ) -> napi::Result<NativeProtectedResource> {
        fn borrowed(values: &[String]) -> Vec<&str> {
            values.iter().map(String::as_str).collect()
        }
        self.state
            .verifier
            .protected_resource(
                &resource,
                &borrowed(&authorization_servers),
                &borrowed(&scopes_supported),
            )
            .map(NativeProtectedResource::from_core)
            .map_err(|e| errors::from_core(&env, &e))
    }

    /// Resolves once keys are available; rejects with the descriptive `discovery_failed` /
    /// `jwks_unavailable` error after `timeout_seconds`.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn wait_ready(
        &self,
        env: Env,
        timeout_seconds: f64,
    ) -> napi::Result<AsyncTask<WaitReadyTask>> {
        Ok(AsyncTask::new(WaitReadyTask {
            verifier: self.state.verifier.clone(),
            timeout: seconds(&env, "timeout", timeout_seconds)?,
        }))
    }

    /// What the verifier has done, and the state of its cache and keys (the core's `Stats`).
    #[napi(catch_unwind)]
    pub fn stats(&self) -> Stats {
        Stats::from_core(self.state.verifier.stats())
    }

    /// The state of the verifier's keys (with providers: the first provider's).
    #[napi(catch_unwind)]
    pub fn keys_status(&self) -> KeysStatus {
        KeysStatus::from_core(self.state.verifier.keys_status())
    }

    /// With several providers: each provider's issuer and the state of its keys, in
    /// configuration order (empty otherwise).
    #[napi(catch_unwind)]
    pub fn provider_keys_status(&self) -> Vec<ProviderKeysStatus> {
        self.state
            .verifier
            .provider_keys_status()
            .into_iter()
            .map(|(issuer, status)| ProviderKeysStatus {
                issuer,
                status: KeysStatus::from_core(status),
            })
            .collect()
    }

    /// The scopes every credential must carry (the core's `required_scopes`: configured or
    /// read from the environment).
    #[napi(catch_unwind)]
    pub fn required_scopes(&self) -> Vec<String> {
        self.state
            .verifier
            .required_scopes()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The algorithms this verifier accepts.
    #[napi(catch_unwind)]
    pub fn algorithms(&self) -> Vec<&'static str> {
        self.state
            .verifier
            .algorithms()
            .iter()
            .map(|a| a.as_str())
            .collect()
    }
}
