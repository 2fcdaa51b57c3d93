//! [`Verifier`]: the core's `Verifier`, built from Python keyword arguments (DESIGN.md's option
//! names), verifying with the Python thread state detached.
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
use pyo3::types::{PyBytes, PyMapping, PyString};

use jwtgate::{Algorithm, StaticToken, Verified, VerifierBuilder};

use crate::claims::Claims;
use crate::convert::{
    bytes, credential, given, plain_text, scopes, seconds, size, strings, text, unix_time,
};
use crate::errors::{config_error, to_pyerr};
use crate::remote::KeysStatus;

/// The default prefix of `from_env`: never empty, so that generic variables such as `API_KEY`
/// or `BEARER_TOKEN` are never read as credentials.
const DEFAULT_ENV_PREFIX: &str = "MCP_";

/// Verifies bearer credentials: JWTs against a key set and a claims policy, and/or static tokens.
///
/// Build it once and share it between threads and tasks; verification releases the GIL.
#[pyclass(frozen, module = "jwtgate", name = "Verifier")]
pub struct Verifier {
    /// Always `Some`; an `Option` so that `Drop` can release it with the thread detached.
    core: Option<jwtgate::Verifier>,
    /// The scopes given as `required_scopes` (the core checks them).
    required_scopes: Vec<String>,
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

/// The keyword options of `Verifier(...)` and `Verifier.from_env(...)` (`None` = not given).
struct Options<'py> {
    issuer: Option<Bound<'py, PyAny>>,
    audience: Option<Bound<'py, PyAny>>,
    jwks_uri: Option<Bound<'py, PyAny>>,
    jwks: Option<Bound<'py, PyAny>>,
    public_key: Option<Bound<'py, PyAny>>,
    hmac_secret: Option<Bound<'py, PyAny>>,
    algorithms: Option<Bound<'py, PyAny>>,
    required_scopes: Option<Bound<'py, PyAny>>,
    leeway: Option<Bound<'py, PyAny>>,
    typ: Option<Bound<'py, PyAny>>,
    require_claims: Option<Bound<'py, PyAny>>,
    static_tokens: Option<Bound<'py, PyAny>>,
    cache_size: Option<Bound<'py, PyAny>>,
    max_token_bytes: Option<Bound<'py, PyAny>>,
    fetch_timeout: Option<Bound<'py, PyAny>>,
    refresh_cooldown: Option<Bound<'py, PyAny>>,
    max_stale: Option<Bound<'py, PyAny>>,
    allow_insecure_http: bool,
    insecure_skip_audience_check: bool,
    insecure_allow_missing_exp: bool,
}

impl Verifier {
    fn core(&self) -> &jwtgate::Verifier {
        self.core
            .as_ref()
            .expect("the core verifier is present until drop")
    }

    /// Builds from a core builder plus Python keyword arguments.
    fn build(py: Python<'_>, builder: VerifierBuilder, options: Options<'_>) -> PyResult<Verifier> {
        let (builder, required_scopes) = configure(py, builder, options)?;
        let core = builder.build().map_err(|e| to_pyerr(py, &e))?;
        Ok(Verifier {
            core: Some(core),
            required_scopes,
        })
    }

    /// Converts a core result.
    fn finish(&self, py: Python<'_>, result: Result<Verified, jwtgate::Error>) -> PyResult<Claims> {
        result.map(Claims::new).map_err(|e| to_pyerr(py, &e))
    }
}

#[pymethods]
impl Verifier {
    /// `Verifier(*, issuer, audience, jwks_uri=None, jwks=None, public_key=None, ...)`: see the
    /// stub (`jwtgate/_native.pyi`) for every option.
    #[new]
    #[pyo3(signature = (*, issuer=None, audience=None, jwks_uri=None, jwks=None, public_key=None, hmac_secret=None, algorithms=None, required_scopes=None, leeway=None, typ=None, require_claims=None, static_tokens=None, cache_size=None, max_token_bytes=None, fetch_timeout=None, refresh_cooldown=None, max_stale=None, allow_insecure_http=false, insecure_skip_audience_check=false, insecure_allow_missing_exp=false))]
    #[allow(clippy::too_many_arguments)] // one per keyword option
    fn new<'py>(
        py: Python<'py>,
        issuer: Option<Bound<'py, PyAny>>,
        audience: Option<Bound<'py, PyAny>>,
        jwks_uri: Option<Bound<'py, PyAny>>,
        jwks: Option<Bound<'py, PyAny>>,
        public_key: Option<Bound<'py, PyAny>>,
        hmac_secret: Option<Bound<'py, PyAny>>,
        algorithms: Option<Bound<'py, PyAny>>,
        required_scopes: Option<Bound<'py, PyAny>>,
        leeway: Option<Bound<'py, PyAny>>,
        typ: Option<Bound<'py, PyAny>>,
        require_claims: Option<Bound<'py, PyAny>>,
        static_tokens: Option<Bound<'py, PyAny>>,
        cache_size: Option<Bound<'py, PyAny>>,
        max_token_bytes: Option<Bound<'py, PyAny>>,
        fetch_timeout: Option<Bound<'py, PyAny>>,
        refresh_cooldown: Option<Bound<'py, PyAny>>,
        max_stale: Option<Bound<'py, PyAny>>,
        allow_insecure_http: bool,
        insecure_skip_audience_check: bool,
        insecure_allow_missing_exp: bool,
    ) -> PyResult<Verifier> {
        let options = Options {
            issuer,
            audience,
            jwks_uri,
            jwks,
            public_key,
            hmac_secret,
            algorithms,
            required_scopes,
            leeway,
            typ,
            require_claims,
            static_tokens,
            cache_size,
            max_token_bytes,
            fetch_timeout,
            refresh_cooldown,
            max_stale,
            allow_insecure_http,
            insecure_skip_audience_check,
            insecure_allow_missing_exp,
        };
        Verifier::build(py, VerifierBuilder::default(), options)
    }

    /// Builds from `{prefix}OAUTH_ISSUER`, `{prefix}OIDC_AUDIENCE`, … environment variables (see
    /// the stub), plus any keyword option.
    #[staticmethod]
    #[pyo3(
        signature = (prefix = None, *, issuer=None, audience=None, jwks_uri=None, jwks=None, public_key=None, hmac_secret=None, algorithms=None, required_scopes=None, leeway=None, typ=None, require_claims=None, static_tokens=None, cache_size=None, max_token_bytes=None, fetch_timeout=None, refresh_cooldown=None, max_stale=None, allow_insecure_http=false, insecure_skip_audience_check=false, insecure_allow_missing_exp=false),
        text_signature = "(prefix='MCP_', *, issuer=None, audience=None, jwks_uri=None, jwks=None, public_key=None, hmac_secret=None, algorithms=None, required_scopes=None, leeway=None, typ=None, require_claims=None, static_tokens=None, cache_size=None, max_token_bytes=None, fetch_timeout=None, refresh_cooldown=None, max_stale=None, allow_insecure_http=False, insecure_skip_audience_check=False, insecure_allow_missing_exp=False)"
    )]
    #[allow(clippy::too_many_arguments)] // one per keyword option
    fn from_env<'py>(
        py: Python<'py>,
        prefix: Option<Bound<'py, PyAny>>,
        issuer: Option<Bound<'py, PyAny>>,
        audience: Option<Bound<'py, PyAny>>,
        jwks_uri: Option<Bound<'py, PyAny>>,
        jwks: Option<Bound<'py, PyAny>>,
        public_key: Option<Bound<'py, PyAny>>,
        hmac_secret: Option<Bound<'py, PyAny>>,
        algorithms: Option<Bound<'py, PyAny>>,
        required_scopes: Option<Bound<'py, PyAny>>,
        leeway: Option<Bound<'py, PyAny>>,
        typ: Option<Bound<'py, PyAny>>,
        require_claims: Option<Bound<'py, PyAny>>,
        static_tokens: Option<Bound<'py, PyAny>>,
        cache_size: Option<Bound<'py, PyAny>>,
        max_token_bytes: Option<Bound<'py, PyAny>>,
        fetch_timeout: Option<Bound<'py, PyAny>>,
        refresh_cooldown: Option<Bound<'py, PyAny>>,
        max_stale: Option<Bound<'py, PyAny>>,
        allow_insecure_http: bool,
        insecure_skip_audience_check: bool,
        insecure_allow_missing_exp: bool,
    ) -> PyResult<Verifier> {
        let options = Options {
            issuer,
            audience,
            jwks_uri,
            jwks,
            public_key,
            hmac_secret,
            algorithms,
            required_scopes,
            leeway,
            typ,
            require_claims,
            static_tokens,
            cache_size,
            max_token_bytes,
            fetch_timeout,
            refresh_cooldown,
            max_stale,
            allow_insecure_http,
            insecure_skip_audience_check,
            insecure_allow_missing_exp,
        };
        let prefix = match given(prefix) {
            Some(prefix) => plain_text(&prefix, "prefix")?,
            None => DEFAULT_ENV_PREFIX.to_owned(),
        };
        let builder = VerifierBuilder::from_env(&prefix).map_err(|e| to_pyerr(py, &e))?;
        Verifier::build(py, builder, options)
    }

    /// Verifies a bearer credential (without the `Bearer ` prefix) now.
    fn verify(&self, py: Python<'_>, token: &Bound<'_, PyAny>) -> PyResult<Claims> {
        let token = credential(token)?;
        let core = self.core();
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
        let token = credential(token)?;
        let core = self.core();
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

    /// The accepted algorithms.
    #[getter]
    fn algorithms(&self) -> Vec<&'static str> {
        self.core()
            .algorithms()
            .into_iter()
            .map(Algorithm::as_str)
            .collect()
    }

    /// The scopes every credential must carry (given as `required_scopes`).
    #[getter]
    fn required_scopes(&self) -> Vec<String> {
        self.required_scopes.clone()
    }

    fn __repr__(&self) -> String {
        format!("jwtgate.{:?}", self.core())
    }
}

/// Applies the keyword options to `builder`; returns it and the scopes the binding checks.
fn configure(
    py: Python<'_>,
    mut builder: VerifierBuilder,
    options: Options<'_>,
) -> PyResult<(VerifierBuilder, Vec<String>)> {
    let Options {
        issuer,
        audience,
        jwks_uri,
        jwks,
        public_key,
        hmac_secret,
        algorithms,
        required_scopes,
        leeway,
        typ,
        require_claims,
        static_tokens,
        cache_size,
        max_token_bytes,
        fetch_timeout,
        refresh_cooldown,
        max_stale,
        allow_insecure_http,
        insecure_skip_audience_check,
        insecure_allow_missing_exp,
    } = options;

    builder = builder.issuers(strings(given(issuer), "issuer")?);
    if let Some(audience) = given(audience) {
        builder = builder.audiences(strings(Some(audience), "audience")?);
    }
    if insecure_skip_audience_check {
        builder = builder.insecure_skip_audience_check();
    }
    if insecure_allow_missing_exp {
        builder = builder.insecure_allow_missing_exp();
    }
    if let Some(uri) = given(jwks_uri) {
        builder = builder.jwks_uri(text(&uri, "jwks_uri")?);
    }
    if let Some(jwks) = given(jwks) {
        let json = if jwks.is_instance_of::<PyString>() || jwks.is_instance_of::<PyBytes>() {
            text(&jwks, "jwks")?
        } else if jwks.cast::<PyMapping>().is_ok() {
            static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
            let dumped = DUMPS
                .import(py, "json", "dumps")?
                .call1((jwks,))
                .map_err(|e| config_error(py, format!("jwks is not a JSON document: {e}")))?;
            plain_text(&dumped, "jwks")?
        } else {
            return Err(PyTypeError::new_err(
                "jwks must be a JWKS document: JSON text (str or bytes) or a mapping",
            ));
        };
        builder = builder.jwks(&json);
    }
    if let Some(pem) = given(public_key) {
        builder = builder.public_key_pem(&text(&pem, "public_key")?);
    }
    let algorithms = match given(algorithms) {
        Some(list) => Some(
            strings(Some(list), "algorithms")?
                .iter()
                .map(|name| {
                    Algorithm::from_str(name).map_err(|_| {
                        config_error(
                            py,
                            format!(
                                "unknown or unsupported algorithm {name:?}; supported: {}",
                                Algorithm::ALL.map(Algorithm::as_str).join(", ")
                            ),
                        )
                    })
                })
                .collect::<PyResult<Vec<_>>>()?,
        ),
        None => None,
    };
    if let Some(secret) = given(hmac_secret) {
        let secret = bytes(&secret, "hmac_secret")?;
        let hs: Vec<Algorithm> = algorithms
            .iter()
            .flatten()
            .copied()
            .filter(|a| a.is_symmetric())
            .collect();
        if hs.is_empty() {
            return Err(config_error(
                py,
                "hmac_secret needs algorithms naming the HMAC algorithm (HS256, HS384 or HS512)",
            ));
        }
        for alg in hs {
            builder = builder.hmac_secret(alg, &secret);
        }
    }
    if let Some(algorithms) = algorithms {
        builder = builder.algorithms(algorithms);
    }
    let required_scopes = scopes(given(required_scopes), "required_scopes")?;
    builder = builder.required_scopes(required_scopes.iter().cloned());
    if let Some(leeway) = given(leeway) {
        builder = builder.leeway(seconds(&leeway, "leeway")?);
    }
    if let Some(typ) = given(typ) {
        builder = builder.typ(text(&typ, "typ")?);
    }
    builder = builder.require_claims(strings(given(require_claims), "require_claims")?);
    if let Some(tokens) = given(static_tokens) {
        builder = builder.static_tokens(parse_static_tokens(&tokens)?);
    }
    if let Some(entries) = given(cache_size) {
        builder = builder.cache_size(size(&entries, "cache_size")?);
    }
    if let Some(limit) = given(max_token_bytes) {
        builder = builder.max_token_bytes(size(&limit, "max_token_bytes")?);
    }
    if let Some(timeout) = given(fetch_timeout) {
        builder = builder.fetch_timeout(seconds(&timeout, "fetch_timeout")?);
    }
    if let Some(cooldown) = given(refresh_cooldown) {
        builder = builder.refresh_cooldown(seconds(&cooldown, "refresh_cooldown")?);
    }
    if let Some(max_stale) = given(max_stale) {
        builder = builder.max_stale(seconds(&max_stale, "max_stale")?);
    }
    if allow_insecure_http {
        builder = builder.allow_insecure_http();
    }
    Ok((builder, required_scopes))
}

/// `{secret: client_id}` or `{secret: {"client_id": ..., "scopes": [...]}}`.
fn parse_static_tokens(value: &Bound<'_, PyAny>) -> PyResult<Vec<StaticToken>> {
    const SHAPE: &str = "static_tokens must map each secret to a client id or to {\"client_id\": ..., \"scopes\": [...]}";
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
            let client_id = identity
                .get_item("client_id")
                .ok()
                .filter(|c| c.is_instance_of::<PyString>())
                .ok_or_else(|| PyTypeError::new_err(SHAPE))?;
            let client_id = plain_text(&client_id, "a static token's client_id")?;
            let scopes = scopes(
                identity.get_item("scopes").ok().filter(|s| !s.is_none()),
                "a static token's scopes",
            )?;
            StaticToken::new(secret, client_id).with_scopes(scopes)
        } else {
            return Err(PyTypeError::new_err(SHAPE));
        };
        tokens.push(token);
    }
    Ok(tokens)
}
