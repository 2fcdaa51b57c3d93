//! `NativeVerifier`: options → `VerifierBuilder`, the verification entry points, `KeysStatus`.
//!
//! `index.js` wraps it in the public `Verifier` class (argument checks, JWKS objects and
//! `KeyObject`s to text, the claims-object array); the option names are DESIGN.md's Node names.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use jwtgate::{Algorithm, StaticToken, Verified, VerifierBuilder};
use napi::Env;
use napi::bindgen_prelude::{AsyncTask, Either, Object};
use napi_derive::napi;

use crate::claims::ClaimsTable;
use crate::tasks::{Hints, VerifyTask, WaitReadyTask};
use crate::{errors, fastcall};

/// The core's default cache capacity (`VerifierBuilder::cache_size`), which sizes the
/// binding's tables when the option is absent.
const DEFAULT_CACHE_SIZE: usize = 1024;

/// A static bearer token / API key and the identity it grants.
#[napi(object)]
pub struct StaticTokenOptions {
    /// The secret as presented in `Authorization: Bearer <token>` (kept only as a SHA-256 digest).
    pub token: String,
    /// The identity the token grants (`clientId` of the result).
    pub client_id: String,
    /// The scopes the token grants (default none).
    pub scopes: Option<Vec<String>>,
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
    /// Accepted algorithms (JOSE names).
    pub algorithms: Option<Vec<String>>,
    /// Scopes that must all be present.
    pub required_scopes: Option<Vec<String>>,
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

/// What a verifier's entry points share: the core verifier, the claims objects' identities, and
/// the hints that let `verify()` answer cached tokens on the main thread.
pub(crate) struct State {
    pub(crate) verifier: jwtgate::Verifier,
    table: RefCell<Option<ClaimsTable>>,
    pub(crate) hints: Arc<Hints>,
}

impl State {
    /// The slot of the claims object built earlier for this very `Verified`, if any.
    pub(crate) fn find(&self, verified: &Verified) -> Option<u32> {
        self.table.borrow().as_ref().and_then(|t| t.find(verified))
    }

    /// Remembers a verification that succeeded: `verified`'s identity (returning the slot for
    /// its claims object, if it may be returned again) and the token as a hint for `verify()`.
    pub(crate) fn remember(&self, token: &str, verified: &Verified) -> Option<u32> {
        self.hints.remember_success(token, verified);
        self.table
            .borrow_mut()
            .as_mut()
            .and_then(|t| t.remember(verified))
    }

    /// The thread-pool verification of `token`.
    pub(crate) fn task(&self, token: String) -> AsyncTask<VerifyTask> {
        AsyncTask::new(VerifyTask {
            verifier: self.verifier.clone(),
            token,
            hints: Arc::clone(&self.hints),
        })
    }
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
    if let Some(names) = options.algorithms {
        let mut algorithms = Vec::with_capacity(names.len());
        for name in &names {
            let alg: Algorithm = name.parse().map_err(|_| {
                errors::config(
                    env,
                    format!(
                        "unknown algorithm {name:?} in algorithms (supported: {})",
                        Algorithm::ALL.map(|a| a.as_str()).join(", ")
                    ),
                )
            })?;
            algorithms.push(alg);
        }
        b = b.algorithms(algorithms);
    }
    if let Some(scopes) = options.required_scopes {
        b = b.required_scopes(scopes);
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
            StaticToken::new(t.token, t.client_id).with_scopes(t.scopes.unwrap_or_default())
        }));
    }
    if let Some(size) = options.cache_size {
        b = b.cache_size(count(env, "cacheSize", size)?);
    }
    if options.insecure_skip_audience_check == Some(true) {
        b = b.insecure_skip_audience_check();
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

impl NativeVerifier {
    fn wrap(verifier: jwtgate::Verifier, cache_size: usize) -> NativeVerifier {
        NativeVerifier {
            state: Rc::new(State {
                verifier,
                table: RefCell::new(ClaimsTable::new(cache_size)),
                hints: Arc::new(Hints::new(cache_size)),
            }),
        }
    }
}

#[napi]
impl NativeVerifier {
    /// Builds a verifier; throws `JwtGateError` (`config_invalid`) for contradictory options.
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, options: VerifierOptions) -> napi::Result<NativeVerifier> {
        let cache_size = match options.cache_size {
            Some(size) => count(&env, "cacheSize", size)?,
            None => DEFAULT_CACHE_SIZE,
        };
        let verifier = builder(&env, options)?
            .build()
            .map_err(|e| errors::from_core(&env, &e))?;
        Ok(NativeVerifier::wrap(verifier, cache_size))
    }

    /// A verifier configured from `{prefix}…` environment variables (core `from_env`).
    #[napi(factory, catch_unwind)]
    pub fn from_env(env: Env, prefix: String) -> napi::Result<NativeVerifier> {
        let verifier =
            jwtgate::Verifier::from_env(&prefix).map_err(|e| errors::from_core(&env, &e))?;
        Ok(NativeVerifier::wrap(verifier, DEFAULT_CACHE_SIZE))
    }

    /// The hot entry points, `{ verifySync(token, objects), verify(token, objects) }`, as raw
    /// N-API functions bound to this verifier (see `fastcall.rs`). `objects` is the array in
    /// which the claims objects of cached verifications are kept.
    #[napi(
        catch_unwind,
        ts_return_type = "{ verifySync(token: string, objects: Array<object | undefined>): object; verify(token: string, objects: Array<object | undefined>): object | Promise<object> }"
    )]
    pub fn entry_points<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        fastcall::entry_points(env, &self.state)
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

    /// The state of the verifier's keys.
    #[napi(catch_unwind)]
    pub fn keys_status(&self) -> KeysStatus {
        let s = self.state.verifier.keys_status();
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
