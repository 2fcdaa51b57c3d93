//! [`VerifierBuilder`]: turns options into a [`Verifier`], refusing contradictory or absurd
//! configuration with `config_invalid` before anything runs. Every size, duration and list has a
//! bound ([`MAX_CACHE_SIZE`], [`MAX_TOKEN_BYTES_LIMIT`], …), so no option can exhaust memory or
//! overflow a clock.

use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::alg::{self, Algorithm};
use crate::audience::AudienceMatch;
use crate::cache::{self, TokenCache};
use crate::claims::ClaimsPolicy;
use crate::dialect::Dialect;
use crate::dpop::{self, DpopMode, DpopPolicy};
use crate::error::{Error, quote};
use crate::introspection::{self, ClientAuth, IntrospectionOptions, Introspector};
use crate::jwk::Key;
use crate::jws::{AlgSet, JwsPolicy};
use crate::keyset::{KeyHolder, KeySet};
use crate::policy::Policy;
use crate::providers::{MAX_PROVIDERS, Provider, Providers};
use crate::remote::fetch::Fetcher;
use crate::remote::{Remote, RemoteOptions, Source};
use crate::scopes::ScopeHierarchy;
use crate::static_tokens::{StaticToken, StaticTokens};
use crate::stats::Counters;
use crate::token;
use crate::verifier::{Inner, Verifier, check_no_mixing};

/// Largest accepted leeway: 10 minutes.
pub const MAX_LEEWAY: Duration = Duration::from_secs(600);

/// Largest verified-token cache, in entries. Slots are allocated when the verifier is built, and
/// each entry may hold a 4 KiB token and one copy of its claims per core (up to eight): 65,536
/// entries bound the cache at a few hundred MiB in the worst case.
pub const MAX_CACHE_SIZE: usize = 1 << 16;

/// Shortest accepted refresh cooldown: unknown `kid`s can ask for at most ten fetches a second.
pub const MIN_REFRESH_COOLDOWN: Duration = Duration::from_millis(100);

/// Largest accepted `max_token_bytes`: 1 MiB.
pub const MAX_TOKEN_BYTES_LIMIT: usize = 1 << 20;

/// Longest accepted fetch timeout.
pub const MAX_FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest accepted refresh cooldown.
pub const MAX_REFRESH_COOLDOWN: Duration = Duration::from_secs(24 * 3600);

/// Longest accepted `max_stale`: 30 days.
pub const MAX_MAX_STALE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Default DPoP proof `iat` window (RFC 9449 §11.1 leaves it to the server; ±5 minutes).
pub const DEFAULT_DPOP_IAT_WINDOW: Duration = Duration::from_secs(300);

/// Longest accepted DPoP `iat` window: 1 hour (the replay cache holds proofs this long).
pub const MAX_DPOP_IAT_WINDOW: Duration = Duration::from_secs(3600);

/// Largest DPoP replay cache, in entries (each about 48 bytes when used).
pub const MAX_DPOP_REPLAY_CACHE_SIZE: usize = 1 << 24;

/// Most entries in each configured list (issuers, audiences, scopes, required claims, algorithms).
const MAX_LIST_ENTRIES: usize = 256;

/// Most static tokens.
const MAX_STATIC_TOKENS: usize = 10_000;

/// Longest configured string (an issuer, audience, scope, claim name or typ), in bytes.
const MAX_CONFIG_STRING_BYTES: usize = 4096;

/// Builds a [`Verifier`]; [`build`](VerifierBuilder::build) rejects contradictory configuration
/// with `config_invalid`.
#[derive(Default)]
#[must_use]
pub struct VerifierBuilder {
    issuers: Vec<String>,
    audiences: Vec<String>,
    audiences_set_empty: bool,
    skip_audience: bool,
    keys: Vec<Key>,
    key_errors: Vec<Error>,
    algorithms: Option<Vec<Algorithm>>,
    required_scopes: Vec<String>,
    scope_implications: Vec<(String, String)>,
    audience_match: AudienceMatch,
    leeway: Duration,
    typ: Option<String>,
    required_claims: Vec<String>,
    static_tokens: Vec<StaticToken>,
    allow_missing_exp: bool,
    max_token_bytes: Option<usize>,
    jwks_uri: Option<String>,
    fetcher: Option<Arc<dyn Fetcher>>,
    remote: RemoteOptions,
    cache_size: Option<usize>,
    /// Secrets for every HS* algorithm of the allow-list, bound when the verifier is built.
    secrets_for_algorithms: Vec<Zeroizing<Vec<u8>>>,
    dpop_mode: DpopMode,
    dpop_algorithms: Option<Vec<Algorithm>>,
    dpop_iat_window: Option<Duration>,
    dpop_nonce: bool,
    dpop_nonce_secret: Option<Zeroizing<Vec<u8>>>,
    dpop_replay_cache_size: Option<usize>,
    scope_claims: Option<Vec<String>>,
    client_id_claims: Option<Vec<String>>,
    id_token_client: Option<String>,
    providers: Vec<VerifierBuilder>,
    introspection: Option<IntrospectionOptions>,
}

impl VerifierBuilder {
    /// A builder configured from `{prefix}…` environment variables, for further options:
    ///
    /// | variable (after the prefix) | meaning |
    /// |---|---|
    /// | `OAUTH_ISSUER` or `OAUTH_ISSUER_URL` | the issuer (keys are discovered from it) |
    /// | `OIDC_CONFIG_URL` | the discovery URL; the issuer is what precedes `/.well-known/openid-configuration` |
    /// | `OAUTH_JWKS_URI` | the JWKS URL (skips discovery) |
    /// | `OIDC_AUDIENCE` or `OAUTH_AUDIENCE` | accepted audiences, comma-separated |
    /// | `OIDC_REQUIRED_SCOPES` | required scopes, comma-separated |
    /// | `BEARER_TOKEN`, `API_KEY` | static tokens (client ids `bearer-token`, `api-key`), granted the required scopes |
    ///
    /// Blank values count as unset.
    ///
    /// # Errors
    /// `config_invalid` for a half-configured OIDC setup, naming the missing variable.
    pub fn from_env(prefix: &str) -> Result<VerifierBuilder, Error> {
        crate::env::builder_from(prefix, |name| std::env::var(name).ok())
    }

    /// Adds an accepted issuer (`iss` must equal one of them exactly; no normalisation).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Adds several accepted issuers.
    pub fn issuers<I: IntoIterator<Item = S>, S: Into<String>>(mut self, issuers: I) -> Self {
        self.issuers.extend(issuers.into_iter().map(Into::into));
        self
    }

    /// Adds an accepted audience (any one `aud` value must equal one of them).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Adds several accepted audiences; an empty list is a configuration error.
    pub fn audiences<I: IntoIterator<Item = S>, S: Into<String>>(mut self, audiences: I) -> Self {
        let before = self.audiences.len();
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self.audiences_set_empty |= self.audiences.len() == before;
        self
    }

    /// How the token's `aud` compares with the configured audiences: [`AudienceMatch::Exact`]
    /// (default) or [`AudienceMatch::CanonicalUri`] (scheme and host case-insensitive, default
    /// port dropped, trailing slash ignored — the MCP canonical resource URI rules).
    pub fn audience_match(mut self, audience_match: AudienceMatch) -> Self {
        self.audience_match = audience_match;
        self
    }

    /// Disables the audience check, for providers that set no audience. Logs a warning when the
    /// verifier is built: tokens minted for any other service of the same issuer will be accepted.
    pub fn insecure_skip_audience_check(mut self) -> Self {
        self.skip_audience = true;
        self
    }

    /// Accepts tokens without `exp` (they never expire). Off by default.
    pub fn insecure_allow_missing_exp(mut self) -> Self {
        self.allow_missing_exp = true;
        self
    }

    /// Adds keys from a JWKS document (unusable keys are skipped and logged).
    pub fn jwks(mut self, jwks: &str) -> Self {
        match KeySet::from_jwks_json(jwks) {
            Ok(set) if set.is_empty() => self.key_errors.push(Error::config(format!(
                "the JWKS has no usable key ({} skipped: {})",
                set.skipped().len(),
                set.skipped()
                    .iter()
                    .map(|s| s.reason.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
            Ok(set) => self.keys.extend(KeySet::into_keys(set)),
            Err(e) => self.key_errors.push(Error::config(e.message())),
        }
        self
    }

    /// Adds one or more PEM public keys.
    pub fn public_key_pem(mut self, pem: &str) -> Self {
        match KeySet::from_pem(pem) {
            Ok(set) => self.keys.extend(KeySet::into_keys(set)),
            Err(e) => self.key_errors.push(Error::config(e.message())),
        }
        self
    }

    /// Fetches keys from this JWKS URL (and keeps them fresh) instead of discovering it from
    /// the issuer.
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.jwks_uri = Some(url.into());
        self
    }

    /// Uses your HTTP client for discovery and JWKS fetches (default: the built-in client of the
    /// `http` feature).
    pub fn fetcher(mut self, fetcher: Arc<dyn Fetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Allows plain-http discovery and JWKS URLs on non-loopback hosts. Off by default: keys
    /// fetched without TLS can be replaced by anyone on the network path.
    pub fn allow_insecure_http(mut self) -> Self {
        self.remote.allow_http = true;
        self
    }

    /// Deadline of each HTTP request for keys (default 5 s; more than 0, at most 60 s).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.remote.fetch_timeout = timeout;
        self
    }

    /// Least time between two fetches caused by unknown `kid`s (default 30 s; 100 ms to 24 h).
    pub fn refresh_cooldown(mut self, cooldown: Duration) -> Self {
        self.remote.cooldown = cooldown;
        self
    }

    /// How long the last good remote keys keep verifying after refreshes start failing, counted
    /// from their fetch (default 24 h, at most 30 days). Only failed fetches — transport errors,
    /// statuses other than 200, bodies that are not a JWKS, over-limit bodies — fall back on the
    /// last good keys; a JWKS that parses always replaces them, even when it holds no usable key.
    /// Past `max_stale`, verifications answer `jwks_unavailable` with the URL, the keys' age and
    /// the last error until a fetch succeeds.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.remote.max_stale = max_stale;
        self
    }

    /// Adds a parsed key.
    pub fn key(mut self, key: Key) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds every key of a set.
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys.extend(KeySet::into_keys(keys));
        self
    }

    /// Adds an HMAC secret for one HS* algorithm (at least the hash length). HMAC secrets cannot
    /// be combined with public keys.
    pub fn hmac_secret(mut self, alg: Algorithm, secret: impl AsRef<[u8]>) -> Self {
        match Key::hmac_secret(alg, secret) {
            Ok(key) => self.keys.push(key),
            Err(e) => self.key_errors.push(e),
        }
        self
    }

    /// Adds an HMAC secret for each HS* algorithm of the allow-list
    /// ([`algorithms`](VerifierBuilder::algorithms) must name at least one). This is the form the
    /// Python (`hmac_secret=`) and Node (`hmacSecret`) options map to: which algorithms a secret
    /// serves is decided here, once, for every language.
    pub fn hmac_secret_for_algorithms(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secrets_for_algorithms
            .push(Zeroizing::new(secret.as_ref().to_vec()));
        self
    }

    /// Sets the accepted algorithms. Default: every algorithm the configured keys can verify
    /// (each key is bound to its own family, so this cannot enable algorithm confusion).
    pub fn algorithms<I: IntoIterator<Item = Algorithm>>(mut self, algorithms: I) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Scopes every credential must carry (`scope` or `scp` of a JWT; the configured scopes of a
    /// static token — see [`StaticToken::with_scopes`]). A credential without one of them is
    /// rejected with `insufficient_scope`, and the error carries the credential
    /// ([`Error::credential`](crate::Error::credential)).
    pub fn required_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scopes: I,
    ) -> Self {
        self.required_scopes
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Declares that `broader` implies `narrower` (`"files:write"` → `"files:read"`; `"*"` as
    /// `narrower` for a scope that implies every scope). Every scope check — the required scopes
    /// and [`Verified::require_scopes`](crate::Verified::require_scopes) — counts implied scopes
    /// as granted, transitively (MCP authorization: servers MUST account for scope hierarchies).
    /// No hierarchy exists unless configured.
    pub fn scope_implies(
        mut self,
        broader: impl Into<String>,
        narrower: impl Into<String>,
    ) -> Self {
        self.scope_implications
            .push((broader.into(), narrower.into()));
        self
    }

    /// Clock-skew tolerance for `exp`, `nbf` and `iat` (default 0, at most 10 minutes).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Expected header `typ` (`"at+jwt"` for RFC 9068 access tokens); compared case-insensitively
    /// with the `application/` prefix optional. A token without `typ` then fails.
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Claims that must be present (any value).
    pub fn require_claims<I: IntoIterator<Item = S>, S: Into<String>>(mut self, claims: I) -> Self {
        self.required_claims
            .extend(claims.into_iter().map(Into::into));
        self
    }

    /// Adds a static bearer token / API key granting `client_id` no scopes (so with
    /// [`required_scopes`](VerifierBuilder::required_scopes) configured it is refused with
    /// `insufficient_scope`: give it scopes with [`static_tokens`](VerifierBuilder::static_tokens)
    /// and [`StaticToken::with_scopes`]).
    pub fn static_token(mut self, secret: impl AsRef<str>, client_id: impl Into<String>) -> Self {
        self.static_tokens.push(StaticToken::new(secret, client_id));
        self
    }

    /// Adds static tokens.
    pub fn static_tokens<I: IntoIterator<Item = StaticToken>>(mut self, tokens: I) -> Self {
        self.static_tokens.extend(tokens);
        self
    }

    /// Capacity of the verified-token cache (default 1024 tokens; 0 disables it; at most
    /// [`MAX_CACHE_SIZE`]). A hit returns the earlier result without crypto after re-checking
    /// `exp`/`nbf` and that the token would still select the key that verified it. Only tokens up
    /// to 4 KiB are cached.
    pub fn cache_size(mut self, entries: usize) -> Self {
        self.cache_size = Some(entries);
        self
    }

    /// Largest accepted token in bytes (default 16 KiB; 1 to [`MAX_TOKEN_BYTES_LIMIT`]).
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = Some(bytes);
        self
    }

    /// Where scopes come from, in order (default: `scope`, then `scp`). Each entry is a claim
    /// name or a path through nested objects joined by `.`: `permissions` (Auth0), `roles`
    /// (Entra app roles), `realm_access.roles` and `resource_access.<client>.roles` (Keycloak),
    /// `cognito:groups` (Cognito). A string is split on spaces; an array gives one scope per
    /// element; the lists are concatenated. Replaces the default: include `scope` to keep it.
    pub fn scope_claims<I: IntoIterator<Item = S>, S: Into<String>>(mut self, paths: I) -> Self {
        self.scope_claims = Some(paths.into_iter().map(Into::into).collect());
        self
    }

    /// Where the client id comes from: the first of these claims that holds a non-empty string
    /// (default: `client_id`, `azp`, `sub`). Okta uses `cid`, Entra v1 `appid`.
    pub fn client_id_claims<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        paths: I,
    ) -> Self {
        self.client_id_claims = Some(paths.into_iter().map(Into::into).collect());
        self
    }

    /// Trusts one more identity provider, configured as a verifier of its own with exactly one
    /// issuer: its key source, audience, algorithms, claim dialect, `typ` and cache. The token's
    /// `iss` — read before the signature only to choose the provider — selects which provider
    /// verifies it, in full; an unknown `iss` is `issuer_mismatch` without any network traffic.
    /// The verifier holding the providers keeps static tokens, required scopes and the scope
    /// hierarchy (checked on every credential), and DPoP; everything else is per provider.
    ///
    /// ```
    /// # use jwtgate::{Algorithm, Verifier, sign::SigningKey};
    /// # let a = SigningKey::generate(Algorithm::ES256, "a").unwrap();
    /// # let b = SigningKey::generate(Algorithm::EdDSA, "b").unwrap();
    /// let verifier = Verifier::builder()
    ///     .provider(Verifier::builder().issuer("https://tenant-a.example").audience("api").jwks(&a.public_jwks()))
    ///     .provider(Verifier::builder().issuer("https://tenant-b.example").audience("api").jwks(&b.public_jwks()))
    ///     .build()
    ///     .unwrap();
    /// let token = b.mint(&serde_json::json!({"iss": "https://tenant-b.example", "aud": "api",
    ///     "exp": jwtgate::now_unix() + 60})).unwrap();
    /// assert!(verifier.verify(&token).is_ok());
    /// ```
    pub fn provider(mut self, provider: VerifierBuilder) -> Self {
        self.providers.push(provider);
        self
    }

    /// Token introspection (RFC 7662) for credentials that are not JWTs (opaque access tokens):
    /// the provider's endpoint is asked with this server's client credentials, and its answer
    /// is checked like a JWT's claims (`active`, `iss`, `aud`, `exp`/`nbf`, `token_type`, then
    /// the dialect and scope rules). The endpoint is discovered from the issuer's metadata
    /// (`introspection_endpoint`) unless [`introspection_endpoint`](Self::introspection_endpoint)
    /// names it. Answers are cached (see [`introspection_cache_ttl`](Self::introspection_cache_ttl)):
    /// a token revoked at the provider is accepted for at most that long.
    pub fn introspection(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let options = self
            .introspection
            .get_or_insert_with(|| IntrospectionOptions {
                endpoint: None,
                client_id: String::new(),
                client_secret: Zeroizing::new(String::new()),
                auth: ClientAuth::default(),
                jwts: false,
                cache_ttl: introspection::DEFAULT_CACHE_TTL,
                cache_size: introspection::DEFAULT_CACHE_SIZE,
                max_concurrent: introspection::DEFAULT_MAX_CONCURRENT,
            });
        options.client_id = client_id.into();
        options.client_secret = Zeroizing::new(client_secret.into());
        self
    }

    fn introspection_option(mut self, set: impl FnOnce(&mut IntrospectionOptions)) -> Self {
        match self.introspection.as_mut() {
            Some(options) => set(options),
            None => self.key_errors.push(Error::config(
                "an introspection option is set but introspection is not: call introspection(client_id, client_secret) first",
            )),
        }
        self
    }

    /// The introspection endpoint (`https`, or `http` on loopback), instead of discovering it.
    pub fn introspection_endpoint(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.introspection_option(|o| o.endpoint = Some(url))
    }

    /// How this server authenticates to the introspection endpoint (default
    /// [`ClientAuth::Basic`]).
    pub fn introspection_client_auth(self, auth: ClientAuth) -> Self {
        self.introspection_option(|o| o.auth = auth)
    }

    /// Also introspect JWTs after they verified locally, so that revoked JWTs are refused
    /// (within the cache time); costs one provider call per token and cache period.
    pub fn introspect_jwts(self, enabled: bool) -> Self {
        self.introspection_option(|o| o.jwts = enabled)
    }

    /// How long an active answer is reused (default 60 s, at most 1 h; never past the token's
    /// `exp`; 0 asks the provider every time). This is the longest a revoked token is still
    /// accepted.
    pub fn introspection_cache_ttl(self, ttl: Duration) -> Self {
        self.introspection_option(|o| o.cache_ttl = ttl)
    }

    /// How many answers are cached (default 4096, at most 65,536; 0 disables the cache).
    pub fn introspection_cache_size(self, entries: usize) -> Self {
        self.introspection_option(|o| o.cache_size = entries)
    }

    /// How many calls to the provider may run at once (default 16, 1 to 1024); more are
    /// refused with `introspection_failed` (503).
    pub fn introspection_max_concurrent(self, calls: usize) -> Self {
        self.introspection_option(|o| o.max_concurrent = calls)
    }

    /// id_token mode: the credential is an OIDC id_token issued to `client_id` (for servers
    /// whose provider issues opaque access tokens). `aud` must contain the client id, `azp` must
    /// equal it when present and be present when `aud` has several values (OIDC Core §3.1.3.7),
    /// `typ` must be `JWT` or absent (an RFC 9068 access token is refused). An id_token carries no
    /// scopes, so required scopes cannot be configured; `nonce` is not checked (there is no
    /// browser session here). Never a fallback: a verifier is in id_token mode or not, and it
    /// logs a warning when built — id_tokens prove who logged in to a client, they are not meant
    /// as access tokens for other services.
    ///
    /// `config_invalid` at build with an audience, required scopes or an expected `typ`.
    pub fn id_token(mut self, client_id: impl Into<String>) -> Self {
        self.id_token_client = Some(client_id.into());
        self
    }

    /// How DPoP (RFC 9449) is treated: [`DpopMode::Allowed`] by default (Bearer tokens work;
    /// DPoP-bound tokens need a valid proof), `Required` (DPoP-bound tokens only) or `Off`. Proofs
    /// are checked by [`Verifier::verify_request`].
    pub fn dpop(mut self, mode: DpopMode) -> Self {
        self.dpop_mode = mode;
        self
    }

    /// Algorithms accepted for DPoP proofs (default: every asymmetric algorithm jwtgate
    /// verifies). Symmetric algorithms are refused (RFC 9449 §4.2).
    pub fn dpop_algorithms<I: IntoIterator<Item = Algorithm>>(mut self, algorithms: I) -> Self {
        self.dpop_algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// How far a proof's `iat` may lie from now, either way (default 300 s, at most
    /// [`MAX_DPOP_IAT_WINDOW`]). Proofs' `jti`s are remembered this long.
    pub fn dpop_iat_window(mut self, window: Duration) -> Self {
        self.dpop_iat_window = Some(window);
        self
    }

    /// Require server-issued nonces in proofs (RFC 9449 §8): a proof without a current nonce is
    /// refused with `dpop_nonce_required`, and the [`Challenge`](crate::Challenge) carries a
    /// fresh one for the `DPoP-Nonce` header. Nonces are stateless (an HMAC of their time) and
    /// live as long as the `iat` window. Off by default.
    pub fn dpop_nonce(mut self, enabled: bool) -> Self {
        self.dpop_nonce = enabled;
        self
    }

    /// The secret server nonces are made with (at least 32 bytes), for deployments with several
    /// processes behind one name: each process then accepts the others' nonces. Without it,
    /// every verifier draws its own. Implies [`dpop_nonce(true)`](Self::dpop_nonce).
    pub fn dpop_nonce_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.dpop_nonce = true;
        self.dpop_nonce_secret = Some(Zeroizing::new(secret.as_ref().to_vec()));
        self
    }

    /// Capacity of the DPoP replay cache in proofs (default 1,048,576; 1 to
    /// [`MAX_DPOP_REPLAY_CACHE_SIZE`]). When a client key's share of it (one of up to 64 shards)
    /// is full of proofs still inside the window, new proofs are refused with
    /// `dpop_replay_cache_full` (503) rather than risking a replay.
    ///
    /// The cache lives in this process: with several processes (workers, replicas), a proof
    /// replayed to another process is not detected there. Route a client to one process, or
    /// keep the window short; RFC 9449 §11.1 leaves replay detection across servers to the
    /// deployment.
    pub fn dpop_replay_cache_size(mut self, entries: usize) -> Self {
        self.dpop_replay_cache_size = Some(entries);
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    /// `config_invalid` naming the problem: no keys and no static tokens, keys without an issuer
    /// or audience, an empty audience list, HMAC secrets mixed with public keys or HS* allowed with
    /// public keys, an empty algorithm list, leeway over 10 minutes, unusable key material.
    pub fn build(mut self) -> Result<Verifier, Error> {
        if let Some(e) = self.key_errors.first() {
            return Err(e.clone());
        }
        self.check_limits()?;
        self.check_strings()?;
        if !self.providers.is_empty() {
            return self.build_with_providers();
        }
        self.bind_secrets_to_algorithms()?;
        let source = self.key_source()?;
        let static_tokens = StaticTokens::new(std::mem::take(&mut self.static_tokens));
        let jwt = !self.keys.is_empty() || source.is_some();
        if !jwt && static_tokens.is_empty() {
            return Err(Error::config(
                "nothing to verify with: configure an issuer (keys are discovered), a jwks_uri, static keys, or static tokens",
            ));
        }
        if !jwt && self.id_token_client.is_some() {
            return Err(Error::config(
                "id_token mode needs the issuer whose id_tokens are accepted",
            ));
        }
        if !jwt && !self.audiences.is_empty() {
            return Err(Error::config(
                "an audience is configured but no issuer or keys",
            ));
        }
        let keys = KeySet::new(std::mem::take(&mut self.keys));
        let algorithms = if jwt {
            self.id_token_mode()?;
            self.check_claims_policy()?;
            self.allowed_algorithms(&keys, source.is_none())?
        } else {
            AlgSet::default()
        };
        let holder = jwt.then(|| Arc::new(KeyHolder::new(keys)));
        // Before the key source takes the configured fetcher: introspection uses it too.
        let introspection = self.introspector()?;
        let remote = match (source, &holder) {
            (Some(source), Some(holder)) => Some(self.start_remote(source, holder)?),
            _ => None,
        };
        let dpop = self.dpop_policy()?;
        let dialect = Dialect::new(self.scope_claims.take(), self.client_id_claims.take())?;
        Ok(Verifier::from_inner(Inner {
            dpop,
            keys: holder,
            remote,
            cache: if jwt {
                TokenCache::new(self.cache_size.unwrap_or(cache::DEFAULT_CAPACITY))
            } else {
                None
            },
            policy: self.policy(algorithms, dialect),
            static_tokens,
            providers: Providers::default(),
            introspection,
            counters: Counters::new(),
        }))
    }
}

/// The steps of [`VerifierBuilder::build`], in order.
impl VerifierBuilder {
    /// The DPoP settings, within their bounds.
    fn dpop_policy(&self) -> Result<DpopPolicy, Error> {
        let window = self.dpop_iat_window.unwrap_or(DEFAULT_DPOP_IAT_WINDOW);
        if window.is_zero() || window > MAX_DPOP_IAT_WINDOW {
            return Err(Error::config(format!(
                "dpop_iat_window is {window:?}; it must be more than 0 and at most {}s",
                MAX_DPOP_IAT_WINDOW.as_secs()
            )));
        }
        let capacity = self
            .dpop_replay_cache_size
            .unwrap_or(dpop::DEFAULT_REPLAY_CACHE_SIZE);
        if self
            .dpop_nonce_secret
            .as_ref()
            .is_some_and(|s| s.len() < 32)
        {
            return Err(Error::config(
                "dpop_nonce_secret must have at least 32 bytes (256 bits)",
            ));
        }
        if !(1..=MAX_DPOP_REPLAY_CACHE_SIZE).contains(&capacity) {
            return Err(Error::config(format!(
                "dpop_replay_cache_size is {capacity}; it must be between 1 and {MAX_DPOP_REPLAY_CACHE_SIZE}"
            )));
        }
        let algorithms = match &self.dpop_algorithms {
            None => Algorithm::ASYMMETRIC
                .into_iter()
                .filter(|a| a.is_available())
                .collect(),
            Some(list) => {
                if list.is_empty() {
                    return Err(Error::config(
                        "dpop_algorithms is empty: name at least one asymmetric algorithm, or set dpop to off",
                    ));
                }
                if let Some(symmetric) = list.iter().find(|a| a.is_symmetric()) {
                    return Err(Error::config(format!(
                        "dpop_algorithms has {symmetric}: DPoP proofs are signed with the client's public key (RFC 9449 §4.2), never a shared secret"
                    )));
                }
                list.clone()
            }
        };
        DpopPolicy::new(
            self.dpop_mode,
            AlgSet::from_slice(&algorithms),
            window.as_secs_f64(),
            self.dpop_nonce,
            self.dpop_nonce_secret.as_deref().map(Vec::as_slice),
            capacity,
        )
    }

    /// No blank issuer or audience, a leeway within bounds, at most 64 required claims.
    fn check_strings(&self) -> Result<(), Error> {
        let blank = |s: &String| s.trim().is_empty();
        if self.issuers.iter().any(blank) {
            return Err(Error::config("an issuer is empty"));
        }
        if self.audiences.iter().any(blank) {
            return Err(Error::config("an audience is empty"));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(Error::config(format!(
                "leeway is {}s; at most {}s is allowed",
                self.leeway.as_secs(),
                MAX_LEEWAY.as_secs()
            )));
        }
        if self.required_claims.len() > 64 {
            return Err(Error::config("at most 64 required claims are supported"));
        }
        Ok(())
    }

    /// Turns each secret of [`hmac_secret_for_algorithms`](Self::hmac_secret_for_algorithms) into
    /// one key per HS* algorithm of the allow-list.
    fn bind_secrets_to_algorithms(&mut self) -> Result<(), Error> {
        if self.secrets_for_algorithms.is_empty() {
            return Ok(());
        }
        let hs: Vec<Algorithm> = self
            .algorithms
            .iter()
            .flatten()
            .copied()
            .filter(|a| a.is_symmetric())
            .collect();
        if hs.is_empty() {
            return Err(Error::config(
                "an HMAC secret needs algorithms naming its HMAC algorithm (HS256, HS384 or HS512)",
            ));
        }
        for secret in std::mem::take(&mut self.secrets_for_algorithms) {
            for &alg in &hs {
                self.keys.push(Key::hmac_secret(alg, &*secret)?);
            }
        }
        Ok(())
    }

    /// Where remote keys come from, if they do: a JWKS URL, or discovery from the one issuer.
    fn key_source(&self) -> Result<Option<Source>, Error> {
        if !self.keys.is_empty() {
            if self.jwks_uri.is_some() {
                return Err(Error::config(
                    "both static keys and a jwks_uri are configured: use one key source",
                ));
            }
            return Ok(None);
        }
        if let Some(uri) = &self.jwks_uri {
            return Ok(Some(Source::JwksUri(uri.clone())));
        }
        match self.issuers.as_slice() {
            [] => Ok(None),
            [issuer] => Ok(Some(Source::Discovery {
                issuer: issuer.clone(),
            })),
            _ => Err(Error::config(
                "discovery needs exactly one issuer; with several issuers, configure jwks_uri",
            )),
        }
    }

    /// A verifier that routes each token to one of several providers (`providers.rs`).
    fn build_with_providers(mut self) -> Result<Verifier, Error> {
        let per_provider = [
            ("issuer", !self.issuers.is_empty()),
            (
                "audience",
                !self.audiences.is_empty() || self.audiences_set_empty || self.skip_audience,
            ),
            (
                "keys",
                !self.keys.is_empty()
                    || !self.key_errors.is_empty()
                    || !self.secrets_for_algorithms.is_empty(),
            ),
            ("jwks_uri", self.jwks_uri.is_some()),
            ("fetcher", self.fetcher.is_some()),
            ("algorithms", self.algorithms.is_some()),
            ("typ", self.typ.is_some()),
            ("require_claims", !self.required_claims.is_empty()),
            (
                "scope_claims / client_id_claims",
                self.scope_claims.is_some() || self.client_id_claims.is_some(),
            ),
            ("id_token", self.id_token_client.is_some()),
            ("cache_size", self.cache_size.is_some()),
            ("introspection", self.introspection.is_some()),
        ];
        if let Some((name, _)) = per_provider.iter().find(|(_, set)| *set) {
            return Err(Error::config(format!(
                "with providers, {name} is configured on each provider, not on the verifier that holds them"
            )));
        }
        if self.providers.len() > MAX_PROVIDERS {
            return Err(Error::config(format!(
                "{} providers are configured; at most {MAX_PROVIDERS} are allowed",
                self.providers.len()
            )));
        }
        let mut built: Vec<Provider> = Vec::with_capacity(self.providers.len());
        for (i, provider) in std::mem::take(&mut self.providers).into_iter().enumerate() {
            let n = i + 1;
            if provider.issuers.len() != 1 {
                return Err(Error::config(format!(
                    "provider {n} needs exactly one issuer (it has {})",
                    provider.issuers.len()
                )));
            }
            if !provider.static_tokens.is_empty() || !provider.providers.is_empty() {
                return Err(Error::config(format!(
                    "provider {n}: static tokens and providers belong to the verifier that holds the providers"
                )));
            }
            let issuer = provider.issuers[0].clone();
            if built.iter().any(|b| *b.issuer == *issuer) {
                return Err(Error::config(format!(
                    "the issuer {} is configured for two providers",
                    quote(&issuer)
                )));
            }
            let verifier = provider.build().map_err(|e| {
                Error::config(format!(
                    "provider {n} ({}): {}",
                    quote(&issuer),
                    e.message()
                ))
            })?;
            built.push(Provider {
                issuer: issuer.into_boxed_str(),
                verifier,
            });
        }
        let static_tokens = StaticTokens::new(std::mem::take(&mut self.static_tokens));
        let dpop = self.dpop_policy()?;
        // The providers' issuers, for `Verifier::issuers` and the metadata document.
        self.issuers = built.iter().map(|p| p.issuer.to_string()).collect();
        Ok(Verifier::from_inner(Inner {
            dpop,
            keys: None,
            remote: None,
            cache: None,
            policy: self.policy(AlgSet::default(), Dialect::default()),
            static_tokens,
            providers: Providers::new(built),
            introspection: None,
            counters: Counters::new(),
        }))
    }

    /// The introspection client, within its bounds.
    fn introspector(&mut self) -> Result<Option<Introspector>, Error> {
        let Some(options) = self.introspection.take() else {
            return Ok(None);
        };
        if options.cache_ttl > Duration::from_secs(3600) {
            return Err(Error::config(format!(
                "introspection_cache_ttl is {:?}; at most 3600s is allowed (a revoked token stays accepted that long)",
                options.cache_ttl
            )));
        }
        if options.cache_size > MAX_CACHE_SIZE {
            return Err(Error::config(format!(
                "introspection_cache_size is {}; at most {MAX_CACHE_SIZE} entries are allowed",
                options.cache_size
            )));
        }
        if !(1..=1024).contains(&options.max_concurrent) {
            return Err(Error::config(format!(
                "introspection_max_concurrent is {}; it must be between 1 and 1024",
                options.max_concurrent
            )));
        }
        let issuer = match self.issuers.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        };
        let fetcher = match &self.fetcher {
            Some(fetcher) => Arc::clone(fetcher),
            None => default_fetcher(self.remote.fetch_timeout)?,
        };
        Introspector::new(
            options,
            issuer,
            fetcher,
            self.remote.fetch_timeout,
            self.remote.allow_http,
        )
        .map(Some)
    }

    /// id_token mode: its own audience (the client id) and `typ` rule, no scopes.
    fn id_token_mode(&mut self) -> Result<(), Error> {
        let Some(client) = self.id_token_client.clone() else {
            return Ok(());
        };
        if client.trim().is_empty() || client.len() > MAX_CONFIG_STRING_BYTES {
            return Err(Error::config(
                "id_token mode needs the client id the id_tokens are issued to",
            ));
        }
        if !self.audiences.is_empty() || self.audiences_set_empty || self.skip_audience {
            return Err(Error::config(
                "id_token mode checks aud against the client id: do not configure an audience (or skip its check) as well",
            ));
        }
        if !self.required_scopes.is_empty() {
            return Err(Error::config(
                "id_token mode cannot require scopes: an id_token carries none (check the user or client in your own code)",
            ));
        }
        if self.typ.is_some() {
            return Err(Error::config(
                "id_token mode accepts typ JWT or none; do not configure a typ as well",
            ));
        }
        log::warn!(
            "jwtgate: id_token mode for client {}: id_tokens prove who signed in to that client and are not meant as access tokens; prefer JWT access tokens or introspection where the provider offers them",
            quote(&client)
        );
        self.audiences = vec![client];
        Ok(())
    }

    /// A JWT policy needs an issuer and an audience (or the explicit opt-out, logged once).
    fn check_claims_policy(&self) -> Result<(), Error> {
        if self.issuers.is_empty() {
            return Err(Error::config(
                "no issuer configured: set the issuer your tokens carry in iss",
            ));
        }
        if self.audiences_set_empty {
            return Err(Error::config("the audience list is empty"));
        }
        if self.audiences.is_empty() && !self.skip_audience {
            return Err(Error::config(
                "no audience configured: set the audience (resource) your tokens carry in aud, or call insecure_skip_audience_check() for providers that set none",
            ));
        }
        if self.skip_audience {
            log::warn!(
                "jwtgate: audience check disabled for issuer {}: tokens issued for any other service of this issuer will be accepted",
                quote(&self.issuers[0])
            );
        }
        Ok(())
    }

    /// The allow-list: as configured, else every asymmetric algorithm (or, for HMAC secrets, the
    /// secrets' own). HS* never next to public keys; static keys must serve at least one.
    fn allowed_algorithms(&self, keys: &KeySet, static_keys: bool) -> Result<AlgSet, Error> {
        check_no_mixing(keys)?;
        let usable = keys.usable_algorithms();
        let algorithms = match &self.algorithms {
            Some(list) if list.is_empty() => {
                return Err(Error::config("the algorithm list is empty"));
            }
            Some(list) => list.clone(),
            None if keys.has_secrets() => usable.clone(),
            None => Algorithm::ASYMMETRIC.to_vec(),
        };
        let set = AlgSet::from_slice(&algorithms);
        if !keys.has_secrets() && set.any(Algorithm::is_symmetric) {
            let hs: Vec<Algorithm> = algorithms
                .into_iter()
                .filter(|a| a.is_symmetric())
                .collect();
            return Err(Error::config(format!(
                "{} cannot be allowed together with public keys (algorithm confusion); HMAC needs its own verifier with hmac_secret",
                alg::list(&hs)
            )));
        }
        if static_keys && !set.any(|a| usable.contains(&a)) {
            return Err(Error::config(format!(
                "no configured key can verify any allowed algorithm (allowed: {}; keys support: {})",
                alg::list(&set.to_vec()),
                alg::list(&usable)
            )));
        }
        Ok(set)
    }

    /// Checks the source's URL against the transport policy and starts its refresh thread.
    fn start_remote(&mut self, source: Source, holder: &Arc<KeyHolder>) -> Result<Remote, Error> {
        let url = match &source {
            Source::JwksUri(uri) => uri,
            Source::Discovery { issuer } => issuer,
        };
        crate::remote::url::HttpUrl::parse(url)
            .and_then(|u| u.check_transport(url, self.remote.allow_http))
            .map_err(Error::config)?;
        let fetcher = match self.fetcher.take() {
            Some(fetcher) => fetcher,
            None => default_fetcher(self.remote.fetch_timeout)?,
        };
        Remote::start(source, self.remote.clone(), fetcher, Arc::clone(holder))
    }

    /// The rules, moved out of the builder.
    fn policy(self, algorithms: AlgSet, dialect: Dialect) -> Policy {
        let boxed = |v: Vec<String>| {
            v.into_iter()
                .map(String::into_boxed_str)
                .collect::<Vec<_>>()
        };
        Policy {
            jws: JwsPolicy {
                algorithms,
                max_token_bytes: self
                    .max_token_bytes
                    .unwrap_or(token::DEFAULT_MAX_TOKEN_BYTES),
            },
            typ: match &self.id_token_client {
                Some(_) => Some("JWT".into()),
                None => self.typ.map(String::into_boxed_str),
            },
            typ_may_be_absent: self.id_token_client.is_some(),
            claims: ClaimsPolicy {
                issuers: boxed(self.issuers),
                audiences_normalised: self
                    .audiences
                    .iter()
                    .map(|a| self.audience_match.normalise(a))
                    .collect(),
                audience_match: self.audience_match,
                audiences: (!self.skip_audience).then(|| boxed(self.audiences)),
                leeway: self.leeway.as_secs_f64(),
                require_exp: !self.allow_missing_exp,
                required_claims: boxed(self.required_claims),
                id_token_client: self.id_token_client.map(String::into_boxed_str),
            },
            required_scopes: boxed(self.required_scopes),
            scope_hierarchy: ScopeHierarchy::new(self.scope_implications),
            dialect,
        }
    }
}

impl VerifierBuilder {
    /// Bounds on every size, duration and list, so that no option can exhaust memory, overflow a
    /// clock or make a verifier that cannot work.
    fn check_limits(&self) -> Result<(), Error> {
        let limit = |ok: bool, message: String| {
            if ok {
                Ok(())
            } else {
                Err(Error::config(message))
            }
        };
        if let Some(size) = self.cache_size {
            limit(
                size <= MAX_CACHE_SIZE,
                format!(
                    "cache_size is {size}; at most {MAX_CACHE_SIZE} entries are allowed (0 disables the cache)"
                ),
            )?;
        }
        if let Some(bytes) = self.max_token_bytes {
            limit(
                (1..=MAX_TOKEN_BYTES_LIMIT).contains(&bytes),
                format!(
                    "max_token_bytes is {bytes}; it must be between 1 and {MAX_TOKEN_BYTES_LIMIT}"
                ),
            )?;
        }
        let timeout = self.remote.fetch_timeout;
        limit(
            !timeout.is_zero() && timeout <= MAX_FETCH_TIMEOUT,
            format!(
                "fetch_timeout is {timeout:?}; it must be more than 0 and at most {}s",
                MAX_FETCH_TIMEOUT.as_secs()
            ),
        )?;
        limit(
            (MIN_REFRESH_COOLDOWN..=MAX_REFRESH_COOLDOWN).contains(&self.remote.cooldown),
            format!(
                "refresh_cooldown is {:?}; it must be between {}ms and {}s",
                self.remote.cooldown,
                MIN_REFRESH_COOLDOWN.as_millis(),
                MAX_REFRESH_COOLDOWN.as_secs()
            ),
        )?;
        limit(
            self.remote.max_stale <= MAX_MAX_STALE,
            format!(
                "max_stale is {:?}; at most {}s (30 days) is allowed",
                self.remote.max_stale,
                MAX_MAX_STALE.as_secs()
            ),
        )?;
        for (name, list) in [
            ("issuers", &self.issuers),
            ("audiences", &self.audiences),
            ("required_scopes", &self.required_scopes),
            ("require_claims", &self.required_claims),
        ] {
            limit(
                list.len() <= MAX_LIST_ENTRIES,
                format!(
                    "{} {name} are configured; at most {MAX_LIST_ENTRIES} are allowed",
                    list.len()
                ),
            )?;
            if let Some(long) = list.iter().find(|s| s.len() > MAX_CONFIG_STRING_BYTES) {
                return Err(Error::config(format!(
                    "an entry of {name} is {} bytes long; at most {MAX_CONFIG_STRING_BYTES} are allowed",
                    long.len()
                )));
            }
        }
        limit(
            self.scope_implications.len() <= MAX_LIST_ENTRIES,
            format!(
                "{} scope implications are configured; at most {MAX_LIST_ENTRIES} are allowed",
                self.scope_implications.len()
            ),
        )?;
        if let Some((broader, narrower)) = self.scope_implications.iter().find(|(b, n)| {
            b.is_empty()
                || n.is_empty()
                || b.len() > MAX_CONFIG_STRING_BYTES
                || n.len() > MAX_CONFIG_STRING_BYTES
        }) {
            return Err(Error::config(format!(
                "scope_implies({}, {}): both scopes must be non-empty and at most {MAX_CONFIG_STRING_BYTES} bytes",
                quote(broader),
                quote(narrower)
            )));
        }
        if let Some(typ) = &self.typ {
            limit(
                typ.len() <= MAX_CONFIG_STRING_BYTES,
                format!(
                    "typ is {} bytes long; at most {MAX_CONFIG_STRING_BYTES} are allowed",
                    typ.len()
                ),
            )?;
        }
        if let Some(algorithms) = &self.algorithms {
            limit(
                algorithms.len() <= MAX_LIST_ENTRIES,
                format!(
                    "{} algorithms are listed; at most {MAX_LIST_ENTRIES} are allowed",
                    algorithms.len()
                ),
            )?;
        }
        limit(
            self.static_tokens.len() <= MAX_STATIC_TOKENS,
            format!(
                "{} static tokens are configured; at most {MAX_STATIC_TOKENS} are allowed",
                self.static_tokens.len()
            ),
        )?;
        Ok(())
    }
}

#[cfg(feature = "http")]
fn default_fetcher(timeout: Duration) -> Result<Arc<dyn Fetcher>, Error> {
    Ok(Arc::new(crate::remote::fetch::HttpFetcher::new(timeout)))
}

#[cfg(not(feature = "http"))]
fn default_fetcher(_timeout: Duration) -> Result<Arc<dyn Fetcher>, Error> {
    Err(Error::config(
        "remote keys need an HTTP client: enable the `http` feature or pass one with fetcher()",
    ))
}
