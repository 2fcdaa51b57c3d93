//! [`Verifier`]: the core's `Verifier`, built from Python keyword arguments, verifying with the
//! Python thread state detached.
//!
//! Both constructors (`Verifier(**options)`, `Verifier.from_env(prefix, **options)`) take the
//! same keyword options ([`OPTIONS`]: the builder's options under their snake_case names, the
//! ones `tests/conformance` maps from Node's) through one function, [`configure`]. Each option
//! becomes one builder call; what the options mean is the core's (`hmac_secret` is
//! `hmac_secret_for_algorithms`, `required_scopes` are checked by the core, static tokens
//! included).
//!
//! `required_scopes` go to the core like every other option, so the scope rule (static tokens
//! included) is the core's. The MCP adapters need the claims of a credential that is valid except
//! for a missing scope, to let the framework answer 403 instead of 401: the core's
//! `insufficient_scope` error carries that credential (`Error::credential`), which
//! `errors::to_pyerr` exposes as `InsufficientScope.claims`.

use std::str::FromStr;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyMapping, PyString};

use jwtgate::{
    Algorithm, AudienceMatch, AuthRequest, ClientAuth, DpopMode, ErrorCode, StaticToken, Verified,
    VerifierBuilder,
};

use crate::claims::Claims;
use crate::convert::{
    bytes, credential, credential_ref, flag, given, plain_text, scopes, seconds, size, strings,
    text, unix_time,
};
use crate::errors::{config_error, to_pyerr, token_error};
use crate::remote::KeysStatus;
use crate::resource::ProtectedResource;
use crate::stats::Stats;

/// The default prefix of `from_env`: never empty, so that generic variables such as `API_KEY`
/// or `BEARER_TOKEN` are never read as credentials.
const DEFAULT_ENV_PREFIX: &str = "MCP_";

/// Verifies bearer credentials: JWTs against a key set and a claims policy, and/or static tokens.
///
/// Build it once and share it between threads and tasks; verification releases the GIL for its
/// cold work (signatures, key fetches) and keeps it for an answer from the cache.
#[pyclass(frozen, module = "jwtgate", name = "Verifier")]
pub struct Verifier {
    /// Always `Some`; an `Option` so that `Drop` can release it with the thread detached.
    core: Option<jwtgate::Verifier>,
}

impl Drop for Verifier {
    fn drop(&mut self) {
        // Dropping the last handle of a remote verifier takes the core's state lock; its refresh
        // thread may hold that lock while logging through Python. Release the thread state
        // first so that neither waits for the other.
        if let Some(core) = self.core.take() {
            let _ = Python::try_attach(move |py| py.detach(move || drop(core)));
        }
    }
}

/// Every keyword option of `Verifier(...)` and `Verifier.from_env(...)`, in the order of the
/// builder (`VerifierBuilder`). One list for both constructors: the stub
/// (`jwtgate/_native.pyi`) spells out their types.
pub const OPTIONS: [&str; 33] = [
    "issuer",
    "audience",
    "audience_match",
    "id_token",
    "jwks_uri",
    "jwks",
    "public_key",
    "hmac_secret",
    "algorithms",
    "required_scopes",
    "scope_implies",
    "scope_claims",
    "client_id_claims",
    "introspection",
    "leeway",
    "typ",
    "require_claims",
    "static_tokens",
    "cache_size",
    "max_token_bytes",
    "fetch_timeout",
    "refresh_cooldown",
    "max_stale",
    "dpop",
    "dpop_algorithms",
    "dpop_iat_window",
    "dpop_nonce",
    "dpop_nonce_secret",
    "dpop_replay_cache_size",
    "providers",
    "allow_insecure_http",
    "insecure_skip_audience_check",
    "insecure_allow_missing_exp",
];

/// The keyword options given to a constructor (or one entry of `providers`), checked against
/// [`OPTIONS`].
struct Options<'py>(Option<Bound<'py, PyDict>>);

impl<'py> Options<'py> {
    /// Refuses a keyword that is not an option, as Python does for a function's signature.
    fn new(caller: &str, given: Option<Bound<'py, PyDict>>) -> PyResult<Self> {
        for name in given.iter().flat_map(|d| d.keys()) {
            let known = name
                .cast::<PyString>()
                .ok()
                .and_then(|n| n.to_cow().ok())
                .is_some_and(|n| OPTIONS.contains(&&*n));
            if !known {
                return Err(PyTypeError::new_err(format!(
                    "{caller} got an unexpected keyword argument {}; the options are: {}",
                    name.repr()?,
                    OPTIONS.join(", ")
                )));
            }
        }
        Ok(Options(given))
    }

    /// The option's value (`None` when absent or given as `None`).
    fn get(&self, name: &'static str) -> PyResult<Option<Bound<'py, PyAny>>> {
        debug_assert!(OPTIONS.contains(&name), "{name} is not in OPTIONS");
        match &self.0 {
            Some(d) => Ok(given(d.get_item(name)?)),
            None => Ok(None),
        }
    }

    /// A `bool` option (absent or `None`: false).
    fn flag(&self, name: &'static str) -> PyResult<bool> {
        self.get(name)?.map_or(Ok(false), |v| flag(&v, name))
    }
}

impl Verifier {
    fn core(&self) -> &jwtgate::Verifier {
        self.core
            .as_ref()
            .expect("the core verifier is present until drop")
    }

    /// Builds from a core builder plus Python keyword arguments.
    fn build(
        py: Python<'_>,
        builder: VerifierBuilder,
        options: &Options<'_>,
    ) -> PyResult<Verifier> {
        let builder = configure(py, builder, options, false)?;
        let core = builder.build().map_err(|e| to_pyerr(py, &e))?;
        Ok(Verifier { core: Some(core) })
    }

    /// The core's answer when it takes no cryptography and no waiting (`verify_cached`: a
    /// verified-token cache hit, a static token, a cached introspection answer), computed with
    /// the thread attached: it costs a fraction of a microsecond, less than releasing and
    /// re-taking the GIL, which two threads hitting the cache would otherwise contend on. Only
    /// cold work (signatures, key fetches, introspection calls) runs with the thread detached.
    ///
    /// Deadlock-free: this path takes no lock that another thread can hold while it waits for
    /// the GIL. The verified-token cache and the key set are read lock-free (arc-swap loads and
    /// atomics), the counters are atomics, and `remote.loaded()` is one atomic load (the key
    /// refresh thread's state mutex, held while it logs through Python, is not taken). The one
    /// mutex it may take, the introspection answer cache's, is held by any thread only for a map
    /// lookup or insert, never around logging or a call into Python. The core does not log on
    /// this path.
    fn cached(core: &jwtgate::Verifier, token: &str) -> Option<Result<Verified, jwtgate::Error>> {
        core.verify_cached(token)
    }

    /// [`cached`](Verifier::cached) on this verifier, for the adapters' `AccessToken` path.
    pub(crate) fn cached_now(&self, token: &str) -> Option<Result<Verified, jwtgate::Error>> {
        Verifier::cached(self.core(), token)
    }

    /// Converts a core result.
    fn finish(&self, py: Python<'_>, result: Result<Verified, jwtgate::Error>) -> PyResult<Claims> {
        result.map(Claims::new).map_err(|e| to_pyerr(py, &e))
    }
}

#[pymethods]
impl Verifier {
    /// `Verifier(*, issuer=..., audience=..., ...)`: the keyword options of [`OPTIONS`] (the
    /// stub, `jwtgate/_native.pyi`, types each one).
    #[new]
    #[pyo3(signature = (**options))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Verifier> {
        let options = Options::new("Verifier()", options.cloned())?;
        Verifier::build(py, VerifierBuilder::default(), &options)
    }

    /// Builds from `{prefix}OAUTH_ISSUER`, `{prefix}OIDC_AUDIENCE`, … environment variables (see
    /// the stub), plus any keyword option of [`OPTIONS`].
    #[staticmethod]
    #[pyo3(
        signature = (prefix = None, **options),
        text_signature = "(prefix='MCP_', **options)"
    )]
    fn from_env(
        py: Python<'_>,
        prefix: Option<Bound<'_, PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Verifier> {
        let options = Options::new("Verifier.from_env()", options.cloned())?;
        let prefix = match given(prefix) {
            Some(prefix) => plain_text(&prefix, "prefix")?,
            None => DEFAULT_ENV_PREFIX.to_owned(),
        };
        let builder = VerifierBuilder::from_env(&prefix).map_err(|e| to_pyerr(py, &e))?;
        Verifier::build(py, builder, &options)
    }

    /// Verifies a bearer credential (without the `Bearer ` prefix) now.
    fn verify(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<Claims> {
        let token = credential_ref(token)?;
        let core = self.core();
        if let Some(result) = Verifier::cached(core, &token) {
            return self.finish(py, result);
        }
        let result = py.detach(|| core.verify(&token));
        self.finish(py, result)
    }

    /// Verifies as if the time were `now` (seconds since the epoch, or an aware `datetime`).
    fn verify_at(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
        now: &Bound<'_, PyAny>,
    ) -> PyResult<Claims> {
        let token = credential(token)?;
        let at = unix_time(now)?;
        let core = self.core();
        let result = py.detach(|| core.verify_at(&token, at));
        self.finish(py, result)
    }

    /// Verifies without waiting: `None` when the answer needs a key fetch (now requested).
    fn verify_nonblocking(
        &self,
        py: Python<'_>,
        token: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Claims>> {
        let token = credential_ref(token)?;
        let core = self.core();
        if let Some(result) = Verifier::cached(core, &token) {
            return self.finish(py, result).map(Some);
        }
        match py.detach(|| core.verify_nonblocking(&token)) {
            Some(result) => self.finish(py, result).map(Some),
            None => Ok(None),
        }
    }

    /// `await verifier.verify_async(token)`: answers inline when keys are known; when a key
    /// fetch is needed, waits for it in a worker thread, never on the event loop.
    fn verify_async<'py>(
        slf: &Bound<'py, Self>,
        token: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // A wrong type fails at the call, as for `verify`; a `str` the core cannot receive is
        // rejected inside the coroutine, by `verify_nonblocking`.
        if !token.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err("token must be a str"));
        }
        static VERIFY_ASYNC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        VERIFY_ASYNC
            .import(slf.py(), "jwtgate._aio", "verify_async")?
            .call1((slf, token))
    }

    /// Verifies a request's credential as the server received it: `method`, the full `url`,
    /// the `Authorization` header value, every `DPoP` header value (RFC 9449) and the
    /// `X-API-Key` header value (`api_key`: static tokens only, and only without
    /// `Authorization`; the core's `AuthRequest::with_api_key`).
    #[pyo3(signature = (method, url, authorization = None, dpop = None, api_key = None))]
    fn verify_request(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        authorization: Option<Bound<'_, PyAny>>,
        dpop: Option<Bound<'_, PyAny>>,
        api_key: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Claims> {
        let parts = RequestParts::new(method, url, authorization, dpop, api_key)?;
        let core = self.core();
        let result = py.detach(|| parts.with(|request| core.verify_request(request)));
        self.finish(py, result)
    }

    /// `verify_request` as if the time were `now` (seconds since the epoch, or a `datetime`).
    #[pyo3(signature = (method, url, authorization = None, dpop = None, api_key = None, *, now))]
    #[expect(
        clippy::too_many_arguments,
        reason = "one parameter per Python argument, as pyo3 binds them"
    )]
    fn verify_request_at(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        authorization: Option<Bound<'_, PyAny>>,
        dpop: Option<Bound<'_, PyAny>>,
        api_key: Option<Bound<'_, PyAny>>,
        now: &Bound<'_, PyAny>,
    ) -> PyResult<Claims> {
        let parts = RequestParts::new(method, url, authorization, dpop, api_key)?;
        let at = unix_time(now)?;
        let core = self.core();
        let result = py.detach(|| parts.with(|request| core.verify_request_at(request, at)));
        self.finish(py, result)
    }

    /// `verify_request` without waiting: `None` when the answer needs a key fetch (now
    /// requested).
    #[pyo3(signature = (method, url, authorization = None, dpop = None, api_key = None))]
    fn verify_request_nonblocking(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        authorization: Option<Bound<'_, PyAny>>,
        dpop: Option<Bound<'_, PyAny>>,
        api_key: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Option<Claims>> {
        let parts = RequestParts::new(method, url, authorization, dpop, api_key)?;
        let core = self.core();
        match py.detach(|| parts.with(|request| core.verify_request_nonblocking(request))) {
            Some(result) => self.finish(py, result).map(Some),
            None => Ok(None),
        }
    }

    /// `await verifier.verify_request_async(method, url, authorization, dpop, api_key)`: as
    /// `verify_async`, inline when keys are known, a worker thread when a fetch is needed.
    #[pyo3(signature = (method, url, authorization = None, dpop = None, api_key = None))]
    fn verify_request_async<'py>(
        slf: &Bound<'py, Self>,
        method: &Bound<'py, PyAny>,
        url: &Bound<'py, PyAny>,
        authorization: Option<Bound<'py, PyAny>>,
        dpop: Option<Bound<'py, PyAny>>,
        api_key: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // Wrong types fail at the call, as for `verify_request`.
        RequestParts::new(
            method,
            url,
            authorization.clone(),
            dpop.clone(),
            api_key.clone(),
        )?;
        static VERIFY_REQUEST_ASYNC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        VERIFY_REQUEST_ASYNC
            .import(slf.py(), "jwtgate._aio", "verify_request_async")?
            .call1((slf, method, url, authorization, dpop, api_key))
    }

    /// The resource this verifier protects (RFC 9728 metadata, challenges): its issuers when
    /// `authorization_servers` is empty, its required scopes when `scopes_supported` is empty,
    /// and its DPoP settings.
    #[pyo3(signature = (resource, authorization_servers = None, scopes_supported = None))]
    fn protected_resource(
        &self,
        py: Python<'_>,
        resource: &Bound<'_, PyAny>,
        authorization_servers: Option<Bound<'_, PyAny>>,
        scopes_supported: Option<Bound<'_, PyAny>>,
    ) -> PyResult<ProtectedResource> {
        let resource = plain_text(resource, "resource")?;
        let servers = strings(given(authorization_servers), "authorization_servers")?;
        let scopes = scopes(given(scopes_supported), "scopes_supported")?;
        let servers: Vec<&str> = servers.iter().map(String::as_str).collect();
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        self.core()
            .protected_resource(&resource, &servers, &scopes)
            .map(ProtectedResource::from_core)
            .map_err(|e| to_pyerr(py, &e))
    }

    /// Blocks (GIL released) until keys are available or `timeout` seconds pass.
    #[pyo3(signature = (timeout = None), text_signature = "($self, /, timeout=5.0)")]
    fn wait_ready(&self, py: Python<'_>, timeout: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let timeout = match given(timeout) {
            Some(timeout) => seconds(&timeout, "timeout")?,
            None => std::time::Duration::from_secs(5),
        };
        let core = self.core();
        py.detach(|| core.wait_ready(timeout))
            .map_err(|e| to_pyerr(py, &e))
    }

    /// The state of the verifier's keys.
    fn keys_status(&self, py: Python<'_>) -> PyResult<KeysStatus> {
        let core = self.core();
        let status = py.detach(|| core.keys_status());
        KeysStatus::from_core(py, status)
    }

    /// With several `providers`: each provider's issuer and the state of its keys, in
    /// configuration order (empty otherwise; `keys_status()` is then the first provider's).
    fn provider_keys_status(&self, py: Python<'_>) -> PyResult<Vec<(String, KeysStatus)>> {
        let core = self.core();
        let statuses = py.detach(|| core.provider_keys_status());
        statuses
            .into_iter()
            .map(|(issuer, status)| Ok((issuer, KeysStatus::from_core(py, status)?)))
            .collect()
    }

    /// What the verifier has done since it was built (the core's counters), and the state of its
    /// keys and cache.
    fn stats(&self, py: Python<'_>) -> Stats {
        let core = self.core();
        Stats::from_core(py.detach(|| core.stats()))
    }

    /// The accepted algorithms.
    #[getter]
    fn algorithms(&self) -> Vec<&'static str> {
        self.core()
            .algorithms()
            .into_iter()
            .map(Algorithm::as_str)
            .collect()
    }

    /// The issuers this verifier trusts, as configured (or read from the environment).
    #[getter]
    fn issuers(&self) -> Vec<String> {
        self.core()
            .issuers()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The scopes every credential must carry, from `required_scopes` or the environment.
    #[getter]
    fn required_scopes(&self) -> Vec<String> {
        self.core()
            .required_scopes()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("jwtgate.{:?}", self.core())
    }
}

/// Applies the keyword options to `builder`; `in_provider` for the options of one entry of
/// `providers`.
fn configure(
    py: Python<'_>,
    mut builder: VerifierBuilder,
    options: &Options<'_>,
    in_provider: bool,
) -> PyResult<VerifierBuilder> {
    builder = builder.issuers(strings(options.get("issuer")?, "issuer")?);
    if let Some(client_id) = options.get("id_token")? {
        builder = builder.id_token(plain_text(&client_id, "id_token")?);
    }
    if let Some(audience) = options.get("audience")? {
        builder = builder.audiences(strings(Some(audience), "audience")?);
    }
    if let Some(mode) = options.get("audience_match")? {
        builder = builder.audience_match(audience_match(py, &mode)?);
    }
    if options.flag("insecure_skip_audience_check")? {
        builder = builder.insecure_skip_audience_check();
    }
    if options.flag("insecure_allow_missing_exp")? {
        builder = builder.insecure_allow_missing_exp();
    }
    if let Some(uri) = options.get("jwks_uri")? {
        builder = builder.jwks_uri(text(&uri, "jwks_uri")?);
    }
    if let Some(jwks) = options.get("jwks")? {
        builder = builder.jwks(&jwks_text(py, &jwks)?);
    }
    if let Some(pem) = options.get("public_key")? {
        builder = builder.public_key_pem(&text(&pem, "public_key")?);
    }
    if let Some(secret) = options.get("hmac_secret")? {
        // The core binds the secret to the HS* algorithms of the allow-list.
        builder = builder.hmac_secret_for_algorithms(bytes(&secret, "hmac_secret")?);
    }
    if let Some(list) = options.get("algorithms")? {
        builder = builder.algorithms(algorithms(py, list, "algorithms")?);
    }
    builder = builder.required_scopes(scopes(options.get("required_scopes")?, "required_scopes")?);
    if let Some(map) = options.get("scope_implies")? {
        for (broader, narrower) in scope_implications(&map)? {
            builder = builder.scope_implies(broader, narrower);
        }
    }
    if let Some(paths) = options.get("scope_claims")? {
        builder = builder.scope_claims(strings(Some(paths), "scope_claims")?);
    }
    if let Some(paths) = options.get("client_id_claims")? {
        builder = builder.client_id_claims(strings(Some(paths), "client_id_claims")?);
    }
    if let Some(settings) = options.get("introspection")? {
        builder = introspection(py, builder, &settings)?;
    }
    if let Some(leeway) = options.get("leeway")? {
        builder = builder.leeway(seconds(&leeway, "leeway")?);
    }
    if let Some(typ) = options.get("typ")? {
        builder = builder.typ(text(&typ, "typ")?);
    }
    builder = builder.require_claims(strings(options.get("require_claims")?, "require_claims")?);
    if let Some(tokens) = options.get("static_tokens")? {
        builder = builder.static_tokens(parse_static_tokens(&tokens)?);
    }
    if let Some(entries) = options.get("cache_size")? {
        builder = builder.cache_size(size(&entries, "cache_size")?);
    }
    if let Some(limit) = options.get("max_token_bytes")? {
        builder = builder.max_token_bytes(size(&limit, "max_token_bytes")?);
    }
    if let Some(timeout) = options.get("fetch_timeout")? {
        builder = builder.fetch_timeout(seconds(&timeout, "fetch_timeout")?);
    }
    if let Some(cooldown) = options.get("refresh_cooldown")? {
        builder = builder.refresh_cooldown(seconds(&cooldown, "refresh_cooldown")?);
    }
    if let Some(max_stale) = options.get("max_stale")? {
        builder = builder.max_stale(seconds(&max_stale, "max_stale")?);
    }
    if let Some(mode) = options.get("dpop")? {
        let name = plain_text(&mode, "dpop")?;
        let mode = DpopMode::from_name(&name).ok_or_else(|| {
            config_error(
                py,
                format!("dpop must be \"off\", \"allowed\" or \"required\", got {name:?}"),
            )
        })?;
        builder = builder.dpop(mode);
    }
    if let Some(list) = options.get("dpop_algorithms")? {
        builder = builder.dpop_algorithms(algorithms(py, list, "dpop_algorithms")?);
    }
    if let Some(window) = options.get("dpop_iat_window")? {
        builder = builder.dpop_iat_window(seconds(&window, "dpop_iat_window")?);
    }
    if options.get("dpop_nonce")?.is_some() {
        builder = builder.dpop_nonce(options.flag("dpop_nonce")?);
    }
    if let Some(secret) = options.get("dpop_nonce_secret")? {
        // The builder's `dpop_nonce_secret` turns nonces on; keyword arguments have no order, so
        // an explicit `dpop_nonce=False` next to a secret is a contradiction, not "the last wins".
        if options.get("dpop_nonce")?.is_some() && !options.flag("dpop_nonce")? {
            return Err(config_error(
                py,
                "dpop_nonce=False contradicts dpop_nonce_secret (a secret turns server nonces on): drop one of them",
            ));
        }
        builder = builder.dpop_nonce_secret(bytes(&secret, "dpop_nonce_secret")?);
    }
    if let Some(entries) = options.get("dpop_replay_cache_size")? {
        builder = builder.dpop_replay_cache_size(size(&entries, "dpop_replay_cache_size")?);
    }
    if let Some(list) = options.get("providers")? {
        for provider in providers(py, &list, in_provider)? {
            builder = builder.provider(provider);
        }
    }
    if options.flag("allow_insecure_http")? {
        builder = builder.allow_insecure_http();
    }
    Ok(builder)
}

/// The keys of the `introspection` mapping.
/// A `TypeError` naming the first key of `mapping` that is not one of `known`.
fn only_known_keys(mapping: &Bound<'_, PyMapping>, known: &[&str], what: &str) -> PyResult<()> {
    for key in mapping.keys()?.iter() {
        let is_known = key
            .cast::<PyString>()
            .ok()
            .and_then(|k| k.to_cow().ok())
            .is_some_and(|k| known.contains(&&*k));
        if !is_known {
            return Err(PyTypeError::new_err(format!(
                "{what} the unknown key {}; the keys are: {}",
                key.repr()?,
                known.join(", ")
            )));
        }
    }
    Ok(())
}

const INTROSPECTION_KEYS: [&str; 8] = [
    "client_id",
    "client_secret",
    "endpoint",
    "client_auth",
    "jwts",
    "cache_ttl",
    "cache_size",
    "max_concurrent",
];

/// `introspection`: `{"client_id": ..., "client_secret": ..., "endpoint": ..., "client_auth":
/// "basic" | "post", "jwts": bool, "cache_ttl": seconds, "cache_size": n, "max_concurrent": n}`
/// (only the first two required), one builder call each (RFC 7662).
fn introspection(
    py: Python<'_>,
    mut builder: VerifierBuilder,
    value: &Bound<'_, PyAny>,
) -> PyResult<VerifierBuilder> {
    const SHAPE: &str = "introspection must be a mapping with client_id and client_secret (str), and optionally endpoint, client_auth, jwts, cache_ttl, cache_size, max_concurrent";
    let mapping = value
        .cast::<PyMapping>()
        .map_err(|_| PyTypeError::new_err(SHAPE))?;
    only_known_keys(mapping, &INTROSPECTION_KEYS, "introspection has")?;
    let member =
        |key: &str| -> PyResult<Option<Bound<'_, PyAny>>> { Ok(given(mapping.get_item(key).ok())) };
    let required = |key: &str| -> PyResult<String> {
        let value = member(key)?.ok_or_else(|| PyTypeError::new_err(SHAPE))?;
        plain_text(&value, &format!("introspection's {key}"))
    };
    builder = builder.introspection(required("client_id")?, required("client_secret")?);
    if let Some(url) = member("endpoint")? {
        builder = builder.introspection_endpoint(plain_text(&url, "introspection's endpoint")?);
    }
    if let Some(auth) = member("client_auth")? {
        let auth = match plain_text(&auth, "introspection's client_auth")?.as_str() {
            "basic" => ClientAuth::Basic,
            "post" => ClientAuth::Post,
            other => {
                return Err(config_error(
                    py,
                    format!(
                        "introspection's client_auth must be \"basic\" (client_secret_basic) or \"post\" (client_secret_post), got {other:?}"
                    ),
                ));
            }
        };
        builder = builder.introspection_client_auth(auth);
    }
    if let Some(jwts) = member("jwts")? {
        builder = builder.introspect_jwts(flag(&jwts, "introspection's jwts")?);
    }
    if let Some(ttl) = member("cache_ttl")? {
        builder = builder.introspection_cache_ttl(seconds(&ttl, "introspection's cache_ttl")?);
    }
    if let Some(entries) = member("cache_size")? {
        builder = builder.introspection_cache_size(size(&entries, "introspection's cache_size")?);
    }
    if let Some(calls) = member("max_concurrent")? {
        builder =
            builder.introspection_max_concurrent(size(&calls, "introspection's max_concurrent")?);
    }
    Ok(builder)
}

/// `providers`: a list of option mappings, one per identity provider, each with the keyword
/// options of `Verifier(...)` (the core requires exactly one issuer each, and keeps static tokens,
/// required scopes, the scope hierarchy and DPoP on the verifier holding them).
///
/// The entries of a provider's own `providers` are not read: the core refuses providers inside a
/// provider, and not descending keeps a deeply nested value from recursing here.
fn providers(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    in_provider: bool,
) -> PyResult<Vec<VerifierBuilder>> {
    const SHAPE: &str =
        "providers must be a list of option mappings (dicts), one per identity provider";
    if value.is_instance_of::<PyString>()
        || value.is_instance_of::<PyBytes>()
        || value.cast::<PyMapping>().is_ok()
    {
        return Err(PyTypeError::new_err(SHAPE));
    }
    let mut built = Vec::new();
    for (i, item) in value
        .try_iter()
        .map_err(|_| PyTypeError::new_err(SHAPE))?
        .enumerate()
    {
        let item = item?;
        let mapping = item
            .cast::<PyMapping>()
            .map_err(|_| PyTypeError::new_err(SHAPE))?;
        if in_provider {
            built.push(VerifierBuilder::default());
            continue;
        }
        let options = PyDict::new(py);
        options.update(mapping)?;
        let name = format!("providers[{i}]");
        let provider = Options::new("a provider", Some(options))
            .and_then(|options| configure(py, VerifierBuilder::default(), &options, true))
            .map_err(|e| within(py, &name, e))?;
        built.push(provider);
    }
    Ok(built)
}

/// A conversion error inside one provider's options, its message prefixed with where it is.
fn within(py: Python<'_>, place: &str, error: PyErr) -> PyErr {
    if error.is_instance_of::<PyTypeError>(py) {
        return PyTypeError::new_err(format!("{place}: {}", error.value(py)));
    }
    match error.value(py).getattr("code") {
        Ok(code) if code.eq("config_invalid").unwrap_or(false) => {
            let message = error
                .value(py)
                .getattr("message")
                .and_then(|m| m.extract::<String>())
                .unwrap_or_default();
            config_error(py, format!("{place}: {message}"))
        }
        _ => error,
    }
}

/// A list of algorithm names (one `str` is one name).
fn algorithms(py: Python<'_>, list: Bound<'_, PyAny>, name: &str) -> PyResult<Vec<Algorithm>> {
    strings(Some(list), name)?
        .iter()
        .map(|alg| {
            Algorithm::from_str(alg).map_err(|_| {
                config_error(
                    py,
                    format!(
                        "unknown or unsupported algorithm {alg:?} in {name}; supported: {}",
                        Algorithm::ALL.map(Algorithm::as_str).join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// A request's credentials as Python passes them, owned: the `Authorization` value, every
/// `DPoP` header value and the `X-API-Key` value.
struct RequestParts {
    method: String,
    url: String,
    authorization: Option<String>,
    dpop: Vec<String>,
    api_key: Option<String>,
}

impl RequestParts {
    fn new(
        method: &Bound<'_, PyAny>,
        url: &Bound<'_, PyAny>,
        authorization: Option<Bound<'_, PyAny>>,
        dpop: Option<Bound<'_, PyAny>>,
        api_key: Option<Bound<'_, PyAny>>,
    ) -> PyResult<RequestParts> {
        let py = method.py();
        // A header value with a lone surrogate is no credential (as for `verify`).
        let authorization = given(authorization).map(|v| credential(&v)).transpose()?;
        let api_key = given(api_key).map(|v| credential(&v)).transpose()?;
        let dpop = match given(dpop) {
            None => Vec::new(),
            Some(values) => strings(Some(values), "dpop").map_err(|e| {
                if e.is_instance_of::<PyTypeError>(py) {
                    e
                } else {
                    token_error(
                        py,
                        ErrorCode::DpopProofInvalid,
                        "the DPoP proof is not valid Unicode: it contains a lone surrogate",
                    )
                }
            })?,
        };
        Ok(RequestParts {
            method: plain_text(method, "method")?,
            url: plain_text(url, "url")?,
            authorization,
            dpop,
            api_key,
        })
    }

    /// Runs `f` on the core's view of the request.
    fn with<T>(&self, f: impl FnOnce(&AuthRequest<'_>) -> T) -> T {
        let dpop: Vec<&str> = self.dpop.iter().map(String::as_str).collect();
        let request = AuthRequest::new(
            &self.method,
            &self.url,
            self.authorization.as_deref(),
            &dpop,
        )
        .with_api_key(self.api_key.as_deref());
        f(&request)
    }
}

/// `audience_match`: `"exact"` (byte equality, the default) or `"canonical"` (URL-shaped
/// audiences compared as canonical resource URIs, the MCP authorization rule).
fn audience_match(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<AudienceMatch> {
    match plain_text(value, "audience_match")?.as_str() {
        "exact" => Ok(AudienceMatch::Exact),
        "canonical" => Ok(AudienceMatch::CanonicalUri),
        other => Err(config_error(
            py,
            format!("audience_match must be \"exact\" or \"canonical\", got {other:?}"),
        )),
    }
}

/// `scope_implies`: a mapping from a broader scope to the scope(s) it implies (a `str` or an
/// iterable of `str`; `"*"` for every scope), in the mapping's order.
fn scope_implications(value: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    const SHAPE: &str =
        "scope_implies must map each broader scope to the scope or list of scopes it implies";
    let mapping = value
        .cast::<PyMapping>()
        .map_err(|_| PyTypeError::new_err(SHAPE))?;
    let mut pairs = Vec::new();
    for item in mapping.items()?.iter() {
        let (broader, narrower): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        if !broader.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(SHAPE));
        }
        let broader = plain_text(&broader, "a scope_implies key")?;
        for narrower in strings(Some(narrower), "a scope_implies value")? {
            pairs.push((broader.clone(), narrower));
        }
    }
    Ok(pairs)
}

/// A JWKS document: JSON text (`str` or `bytes`) or a mapping (serialised with `json.dumps`).
fn jwks_text(py: Python<'_>, jwks: &Bound<'_, PyAny>) -> PyResult<String> {
    if jwks.is_instance_of::<PyString>() || jwks.is_instance_of::<PyBytes>() {
        text(jwks, "jwks")
    } else if jwks.cast::<PyMapping>().is_ok() {
        static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let dumped = DUMPS
            .import(py, "json", "dumps")?
            .call1((jwks,))
            .map_err(|e| config_error(py, format!("jwks is not a JSON document: {e}")))?;
        plain_text(&dumped, "jwks")
    } else {
        Err(PyTypeError::new_err(
            "jwks must be a JWKS document: JSON text (str or bytes) or a mapping",
        ))
    }
}

/// The keys of a static token's identity mapping.
const STATIC_TOKEN_KEYS: [&str; 3] = ["client_id", "scopes", "audience"];

/// `{secret: client_id}` or `{secret: {"client_id": ..., "scopes": [...], "audience": ...}}`
/// (`scopes` and `audience` optional).
fn parse_static_tokens(value: &Bound<'_, PyAny>) -> PyResult<Vec<StaticToken>> {
    const SHAPE: &str = "static_tokens must map each secret to a client id or to {\"client_id\": ..., \"scopes\": [...], \"audience\": ...}";
    let mapping = value
        .cast::<PyMapping>()
        .map_err(|_| PyTypeError::new_err(SHAPE))?;
    let items = mapping.items()?;
    let mut tokens = Vec::with_capacity(items.len());
    for item in items.iter() {
        let (secret, identity): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        if !secret.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(SHAPE));
        }
        let secret = plain_text(&secret, "a static token")?;
        let token = if identity.is_instance_of::<PyString>() {
            StaticToken::new(secret, plain_text(&identity, "a static token's client id")?)
        } else if let Ok(identity) = identity.cast::<PyMapping>() {
            only_known_keys(identity, &STATIC_TOKEN_KEYS, "a static token has")?;
            let member =
                |key: &str| -> Option<Bound<'_, PyAny>> { given(identity.get_item(key).ok()) };
            let client_id = member("client_id")
                .filter(|c| c.is_instance_of::<PyString>())
                .ok_or_else(|| PyTypeError::new_err(SHAPE))?;
            let client_id = plain_text(&client_id, "a static token's client_id")?;
            let scopes = scopes(member("scopes"), "a static token's scopes")?;
            let token = StaticToken::new(secret, client_id).with_scopes(scopes);
            match member("audience") {
                Some(audience) => {
                    token.with_audience(plain_text(&audience, "a static token's audience")?)
                }
                None => token,
            }
        } else {
            return Err(PyTypeError::new_err(SHAPE));
        };
        tokens.push(token);
    }
    Ok(tokens)
}
