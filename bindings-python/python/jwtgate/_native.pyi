"""Type stubs for the native module ``jwtgate._native`` (re-exported by ``jwtgate``)."""

from collections.abc import ItemsView, Iterator, KeysView, Mapping, Sequence, ValuesView
from datetime import datetime, timedelta
from typing import Any, Literal, Optional, TypedDict, Union, final

from jwtgate._errors import InvalidToken

__all__ = [
    "Verifier", "Claims", "KeysStatus", "Stats", "SigningKey", "ErrorCodeInfo", "error_codes",
    "ProtectedResource", "Challenge", "_CoreError",
    "ERROR_CODES", "CRYPTO_BACKEND", "__version__", "now_unix", "_debug_panic",
    "split_authorization", "auth_scheme", "_AccessTokens",
]

__version__: str
CRYPTO_BACKEND: str
ERROR_CODES: tuple[str, ...]
"""Every error code, in the core's order: the values ``.code`` can take."""

_Seconds = Union[float, int, timedelta]
_Strings = Union[str, Sequence[str]]

class _StaticIdentityMapping(TypedDict, total=False):
    client_id: str
    """Required: the identity the token grants (``Claims.client_id`` and ``sub``)."""
    scopes: Union[str, Sequence[str]]
    """The scopes it grants (a str is split on spaces)."""
    audience: str
    """The resource it is for: ``Claims.aud`` and ``Claims.audience_matched``."""

_StaticIdentity = Union[str, _StaticIdentityMapping]
_AudienceMatch = Literal["exact", "canonical"]
_DpopMode = Literal["off", "allowed", "required"]
_ScopeImplies = Mapping[str, _Strings]
class _Introspection(TypedDict, total=False):
    """Token introspection (RFC 7662): ``client_id`` and ``client_secret`` are required."""

    client_id: str
    """This server's client id at the provider."""
    client_secret: str
    """Its secret."""
    endpoint: str
    """The introspection endpoint (https, or http on loopback); default: discovered from the
    issuer (``introspection_endpoint``)."""
    client_auth: Literal["basic", "post"]
    """``client_secret_basic`` (default) or ``client_secret_post``."""
    jwts: bool
    """Also introspect JWTs after they verified locally, to learn of revocation (default False)."""
    cache_ttl: _Seconds
    """How long an active answer is reused: the longest a revoked token stays accepted (default
    60 s, at most 3600; never past the token's ``exp``; 0 asks every time)."""
    cache_size: int
    """Answers cached (default 4096, at most 65,536; 0 disables the cache)."""
    max_concurrent: int
    """Calls to the provider at once (default 16, 1 to 1024); more are ``introspection_failed``."""

_ProviderOptions = Mapping[str, Any]
"""One identity provider of ``providers``: the keyword options of :class:`Verifier` that belong
to a provider (exactly one ``issuer``; its keys, audience, algorithms, dialect, ``typ``, cache)."""

@final
class _CoreError:
    """The core's error, kept on the exception it became (``_core_error``); not public."""

def _debug_panic() -> None:
    """Panics inside Rust on purpose (tests prove it surfaces as an exception)."""

def now_unix() -> int:
    """The current time in whole seconds since the Unix epoch."""

def split_authorization(header: str) -> tuple[str, str]:
    """An ``Authorization`` header value split as :meth:`Verifier.verify_request` splits it:
    ``(scheme, token)``, separated by spaces or tabs, the whitespace around both dropped
    (``("Bearer", "abc")`` for ``"Bearer \\t abc "``, ``("Basic", "")`` for ``"Basic"``). The
    scheme is as sent; :func:`auth_scheme` names it. ``TypeError`` for a non-``str``,
    :class:`ConfigError` for a lone surrogate."""

def auth_scheme(name: str) -> Optional[Literal["bearer", "dpop"]]:
    """The scheme :meth:`Verifier.verify_request` reads under ``name`` (compared
    case-insensitively, RFC 9110 §11.1): ``"bearer"`` (RFC 6750), ``"dpop"`` (RFC 9449), or
    None for any other."""

@final
class ErrorCodeInfo:
    """One row of the core's error table."""

    @property
    def code(self) -> str:
        """The stable code: the value of an exception's ``.code``."""
    @property
    def status(self) -> int:
        """The HTTP status a resource server answers with: 401, 403, 500 or 503."""
    @property
    def client_description(self) -> str:
        """A fixed sentence safe to send to an unauthenticated client."""
    @property
    def hint(self) -> str:
        """What an operator can do about it, in one line."""

def error_codes() -> tuple[ErrorCodeInfo, ...]:
    """The core's error table, in the core's order: every code with its HTTP status, client-safe
    description and operator hint (the same table in Rust, Python and Node)."""

@final
class Claims(Mapping[str, Any]):
    """A verified credential: a read-only mapping over the signed claims set (empty for static
    tokens), with typed attributes for the registered claims, ``scopes`` and ``client_id``."""

    @property
    def kind(self) -> Literal["jwt", "static_token", "id_token", "introspected"]:
        """``"jwt"``, ``"static_token"``, ``"id_token"`` (a verifier in id_token mode), or
        ``"introspected"`` (the provider's introspection endpoint vouched for it, RFC 7662)."""
    @property
    def alg(self) -> Optional[str]:
        """The header's ``alg`` (JWTs only)."""
    @property
    def kid(self) -> Optional[str]: ...
    @property
    def typ(self) -> Optional[str]: ...
    @property
    def iss(self) -> Optional[str]: ...
    @property
    def sub(self) -> Optional[str]:
        """``sub``; for static tokens the configured client id."""
    @property
    def aud(self) -> list[str]:
        """``aud`` as a list."""
    @property
    def exp(self) -> Optional[int]:
        """``exp`` in whole seconds (the exact value is in the mapping)."""
    @property
    def nbf(self) -> Optional[int]: ...
    @property
    def iat(self) -> Optional[int]: ...
    @property
    def jti(self) -> Optional[str]: ...
    @property
    def client_id(self) -> Optional[str]:
        """``client_id`` (RFC 9068), else ``azp``, else ``sub`` (or the first of the verifier's
        ``client_id_claims`` holding a string); for static tokens the configured id. None only for
        a JWT with none of them."""
    @property
    def confirmation_jkt(self) -> Optional[str]:
        """The RFC 7638 thumbprint a DPoP-bound token is bound to (``cnf.jkt``), or None."""
    @property
    def presented_with_dpop(self) -> bool:
        """Whether the credential came with the DPoP scheme and a valid proof
        (:meth:`Verifier.verify_request`): a later :meth:`require_scopes` refusal then challenges
        with DPoP (RFC 9449 §7.1)."""
    @property
    def audience_matched(self) -> Optional[str]:
        """The configured audience that ``aud`` matched (the resource the token was issued for,
        as this server names it); for a static token its configured ``audience``; None when the
        verifier checks no audience."""
    @property
    def principal(self) -> tuple[Optional[str], Optional[str]]:
        """``(iss, sub)``: who the credential speaks for, across tokens. A static token has no
        issuer, and its client id as subject."""
    @property
    def token_id(self) -> int:
        """Identifies the credential's text within this process: equal for results of the same
        token, different otherwise (a keyed 64-bit hash)."""
    @property
    def scopes(self) -> list[str]:
        """Scopes from ``scope`` (space-separated) and ``scp``, or from the verifier's
        ``scope_claims``; for static tokens the configured ones; none for an id_token."""
    @property
    def claims_json(self) -> str:
        """The claims set as the signed JSON text."""
    @property
    def granted_scopes(self) -> list[str]:
        """The scopes the credential grants: its own, then those they imply in the verifier's
        ``scope_implies`` hierarchy (``"*"`` is not listed: :meth:`has_scope` answers for it)."""
    def has_scope(self, scope: str) -> bool:
        """Whether the credential grants ``scope`` (its own scopes or the hierarchy's)."""
    def require_scopes(self, scopes: _Strings) -> None:
        """Raises :class:`InsufficientScope` (naming the missing scopes) unless the credential
        grants every scope in ``scopes``, counting the verifier's scope hierarchy."""
    def to_dict(self) -> dict[str, Any]:
        """A new dict with the claims."""
    def get(self, key: str, default: Any = None) -> Any: ...
    def keys(self) -> KeysView[str]: ...
    def values(self) -> ValuesView[Any]: ...
    def items(self) -> ItemsView[str, Any]: ...
    def __getitem__(self, key: str, /) -> Any: ...
    def __contains__(self, key: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class _AccessTokens:
    """A verified credential as a framework's pydantic ``AccessToken``, assembled in one call
    (private: ``jwtgate._access`` uses it)."""

    def __new__(
        cls,
        model: Any,
        fields: list[str],
        defaults: dict[str, Any],
        setters: tuple[Any, Any, Any, Any],
        limit: int,
    ) -> _AccessTokens: ...
    def convert(self, token: str, claims: Claims) -> Any: ...
    def of(self, token: str, claims: Claims) -> Any: ...
    def cached(self, verifier: Verifier, token: str) -> Any: ...
    def clear(self) -> None: ...

@final
class KeysStatus:
    """The state of a verifier's keys at one moment."""

    @property
    def source(self) -> str:
        """``"static"``, or the JWKS URL."""
    @property
    def ready(self) -> bool: ...
    @property
    def stale(self) -> bool:
        """Whether the last fetch failed and the last good keys are in use meanwhile
        (stale-if-error, for at most ``max_stale`` after their fetch; after that ``ready`` is
        False and verifications raise :class:`KeysUnavailable` until a fetch succeeds)."""
    @property
    def generation(self) -> int: ...
    @property
    def kids(self) -> list[str]: ...
    @property
    def key_count(self) -> int: ...
    @property
    def skipped(self) -> list[dict[str, Any]]:
        """Keys left out of the last fetched JWKS: ``{"kid", "index", "reason"}``."""
    @property
    def age(self) -> Optional[float]:
        """Seconds since the current set was fetched."""
    @property
    def max_age(self) -> Optional[float]: ...
    @property
    def max_stale(self) -> Optional[float]:
        """Seconds the last good keys keep verifying after refreshes start failing (remote keys)."""
    @property
    def last_error(self) -> Optional[InvalidToken]:
        """The last failed fetch's error (not raised), or None."""
    @property
    def fetches(self) -> int: ...
    @property
    def failures(self) -> int: ...
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``last_error`` as ``{"code", "message"}``)."""

@final
class Stats:
    """What a verifier has done since it was built, and the state of its keys and cache
    (``Verifier.stats()``). Counters only grow: subtract two snapshots for rates."""

    @property
    def accepted(self) -> int:
        """Credentials accepted (``cache_hits + verified + static_tokens``, less
        ``refused_after_verification``)."""
    @property
    def refused_after_verification(self) -> int:
        """Credentials that verified (counted in ``cache_hits`` or ``verified``) and were then
        refused: their DPoP binding failed (RFC 9449), or, with several providers, the verifier's
        own required scopes were missing. They count as rejected."""
    @property
    def cache_hits(self) -> int:
        """Accepted from the verified-token cache, without crypto."""
    @property
    def verified(self) -> int:
        """Accepted by a full verification (signature and claims)."""
    @property
    def static_tokens(self) -> int:
        """Accepted as configured static tokens."""
    @property
    def rejected(self) -> int:
        """Rejections, in total."""
    @property
    def rejected_by_code(self) -> dict[str, int]:
        """Rejections by error code (codes that occurred, in the core's order); a new dict."""
    @property
    def cache_misses(self) -> int: ...
    @property
    def cache_inserts(self) -> int: ...
    @property
    def cache_evictions(self) -> int:
        """Live entries pushed out of the cache to make room."""
    @property
    def cache_entries(self) -> int: ...
    @property
    def cache_capacity(self) -> int:
        """0 when the cache is disabled."""
    @property
    def discovery_fetches(self) -> int: ...
    @property
    def discovery_failures(self) -> int: ...
    @property
    def jwks_fetches(self) -> int: ...
    @property
    def jwks_failures(self) -> int: ...
    @property
    def kid_refreshes(self) -> int:
        """Refreshes asked for by tokens with an unknown ``kid``."""
    @property
    def key_generation(self) -> int: ...
    @property
    def key_age(self) -> Optional[float]:
        """Seconds since the current remote key set was fetched, or None."""
    @property
    def keys_stale(self) -> bool:
        """Whether the last good remote keys are in use because refreshes fail."""
    @property
    def introspections(self) -> int:
        """Calls to the provider's introspection endpoint (RFC 7662), failed ones included."""
    @property
    def introspection_failures(self) -> int:
        """Introspection calls that failed (no answer, refused client credentials, a malformed
        answer, or too many calls at once)."""
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""

@final
class Verifier:
    """Verifies bearer credentials: JWTs against a key set and a claims policy, and/or static
    tokens. Share one between threads and tasks; verification releases the GIL for its cold work
    (signatures, key fetches), and keeps it for an answer from the cache (cheaper than releasing
    it)."""

    def __new__(
        cls,
        *,
        issuer: Optional[_Strings] = None,
        audience: Optional[_Strings] = None,
        audience_match: Optional[_AudienceMatch] = None,
        id_token: Optional[str] = None,
        jwks_uri: Optional[str] = None,
        jwks: Optional[Union[str, bytes, Mapping[str, Any]]] = None,
        public_key: Optional[Union[str, bytes]] = None,
        hmac_secret: Optional[Union[str, bytes]] = None,
        algorithms: Optional[_Strings] = None,
        required_scopes: Optional[_Strings] = None,
        scope_implies: Optional[_ScopeImplies] = None,
        scope_claims: Optional[_Strings] = None,
        client_id_claims: Optional[_Strings] = None,
        introspection: Optional[_Introspection] = None,
        leeway: Optional[_Seconds] = None,
        typ: Optional[str] = None,
        require_claims: Optional[_Strings] = None,
        static_tokens: Optional[Mapping[str, _StaticIdentity]] = None,
        cache_size: Optional[int] = None,
        max_token_bytes: Optional[int] = None,
        fetch_timeout: Optional[_Seconds] = None,
        refresh_cooldown: Optional[_Seconds] = None,
        max_stale: Optional[_Seconds] = None,
        dpop: Optional[_DpopMode] = None,
        dpop_algorithms: Optional[_Strings] = None,
        dpop_iat_window: Optional[_Seconds] = None,
        dpop_nonce: Optional[bool] = None,
        dpop_nonce_secret: Optional[Union[str, bytes]] = None,
        dpop_replay_cache_size: Optional[int] = None,
        providers: Optional[Sequence[_ProviderOptions]] = None,
        allow_insecure_http: bool = False,
        insecure_skip_audience_check: bool = False,
        insecure_allow_missing_exp: bool = False,
    ) -> Verifier:
        """Builds a verifier; raises :class:`ConfigError` naming what is wrong or missing.

        * ``issuer``: accepted ``iss`` value(s), exact match. Keys are discovered from it
          (OIDC discovery, then RFC 8414) unless ``jwks_uri``, ``jwks``, ``public_key`` or
          ``hmac_secret`` is given.
        * ``audience``: accepted ``aud`` value(s); required unless
          ``insecure_skip_audience_check=True`` (or ``id_token``).
        * ``id_token``: id_token mode — the credential is an OIDC id_token issued to this client
          id (``aud`` contains it, ``azp`` equals it when present and is present when ``aud`` has
          several values, ``typ`` is ``JWT`` or absent; ``Claims.kind`` is ``"id_token"``). For
          providers that issue opaque access tokens; never a fallback, and a warning is logged
          when the verifier is built: id_tokens prove a login to a client, they are not access
          tokens for other services. An id_token carries no scopes: ``audience``,
          ``required_scopes`` and ``typ`` are :class:`ConfigError` with it.
        * ``audience_match``: ``"exact"`` (default: byte equality) or ``"canonical"``
          (URL-shaped audiences compare as canonical resource URIs: scheme and host
          case-insensitive, default port dropped, one trailing slash ignored; the MCP
          authorization rule).
        * ``jwks_uri``: fetch keys from this URL (https; http on loopback hosts or with
          ``allow_insecure_http``), refreshed in the background.
        * ``jwks``: a static JWKS (JSON text or dict). ``public_key``: PEM public key(s).
        * ``hmac_secret``: a shared secret, bound by the core to every HS* algorithm named in
          ``algorithms`` (:class:`ConfigError` if none is).
        * ``algorithms``: accepted ``alg`` values (default: every asymmetric algorithm): RS256,
          RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 (P-521), EdDSA and Ed25519 (one
          algorithm under its RFC 8037 and RFC 9864 names), HS256, HS384, HS512.
        * ``required_scopes``: scopes every credential must carry, static tokens included (a
          str is split on spaces).
        * ``scope_implies``: a scope hierarchy, broader scope → the scope(s) it implies
          (``{"files:write": ["files:read"], "admin": ["*"]}``; ``"*"`` stands for every
          scope), applied transitively by every scope check. None unless configured.
        * ``scope_claims``: where scopes come from, in order (default ``["scope", "scp"]``):
          claim names or paths through nested objects (``"permissions"``, ``"roles"``,
          ``"realm_access.roles"``, ``"resource_access.my-client.roles"``, ``"cognito:groups"``;
          a top-level name containing dots wins over a path). A string claim is split on
          spaces, an array gives one scope per element. Replaces the default: list ``"scope"``
          to keep it.
        * ``client_id_claims``: where the client id comes from, the first that holds a string
          (default ``["client_id", "azp", "sub"]``; Okta ``"cid"``, Entra v1 ``"appid"``).
        * ``introspection``: token introspection (RFC 7662) for credentials that are not JWTs
          (opaque access tokens), ``{"client_id": ..., "client_secret": ..., "endpoint": ...,
          "client_auth": "basic" | "post", "jwts": False, "cache_ttl": 60, "cache_size": 4096,
          "max_concurrent": 16}`` (the endpoint is discovered from the issuer when not given).
          The answer is checked like a JWT's claims (``active``, ``iss``, ``aud``, ``exp`` /
          ``nbf``, ``token_type``); ``Claims.kind`` is ``"introspected"``. Answers are cached by a
          keyed hash of the token: a token revoked at the provider stays accepted for at most
          ``cache_ttl``. An inactive token is ``token_inactive``; a provider that cannot answer,
          ``introspection_failed`` (503).
        * ``leeway``: clock-skew tolerance for ``exp``/``nbf``/``iat`` in seconds (≤ 600).
        * ``typ``: expected header ``typ`` (``"at+jwt"`` for RFC 9068 access tokens).
        * ``require_claims``: claims that must be present.
        * ``static_tokens``: ``{secret: client_id}`` or
          ``{secret: {"client_id": ..., "scopes": [...], "audience": ...}}`` (``scopes`` and
          ``audience`` optional) — API keys next to JWTs; ``audience`` is the resource the key
          is for (``Claims.aud``, ``Claims.audience_matched``).
        * ``cache_size``: verified-token cache entries (default 1024; 0 disables; at most
          65,536).
        * ``max_token_bytes`` (default 16 KiB, at most 1 MiB), ``fetch_timeout`` (5 s, at most
          60 s), ``refresh_cooldown`` (30 s, from 100 ms to 24 h).
        * ``max_stale``: how long the last good remotely fetched keys keep verifying after
          refreshes start failing, counted from their fetch (default 24 h, at most 30 days);
          past it, verifications raise :class:`KeysUnavailable` until a fetch succeeds.
        * ``dpop``: DPoP (RFC 9449) in :meth:`verify_request`: ``"allowed"`` (default: Bearer
          tokens work, DPoP-bound tokens need a valid proof), ``"required"`` (only DPoP-bound
          tokens with a proof) or ``"off"`` (the DPoP scheme is refused, bound tokens too).
          A token bound by ``cnf.jkt`` is never accepted as a Bearer token, nor by :meth:`verify`.
        * ``dpop_algorithms``: proof algorithms (default: every asymmetric one);
          ``dpop_iat_window``: how far a proof's ``iat`` may be from now, either way (default
          300 s, at most 3600); ``dpop_nonce``: require server nonces (RFC 9449 §8; default
          False; challenges then carry a fresh ``dpop_nonce``); ``dpop_replay_cache_size``: proofs
          remembered against replay (default 1,048,576), in this process: a proof replayed to
          another process or replica is not detected there.
        * ``dpop_nonce_secret``: the secret server nonces are made with (str or bytes, at least
          32 bytes), for several processes behind one URL: each then accepts the others' nonces.
          Turns ``dpop_nonce`` on (``dpop_nonce=False`` with it is a :class:`ConfigError`).
        * ``providers``: several identity providers in one verifier, a list of option dicts
          (``[{"issuer": ..., "audience": ..., "jwks_uri": ...}, ...]``), each with exactly one
          ``issuer`` and its own keys, audience, algorithms, ``scope_claims`` /
          ``client_id_claims``, ``id_token``, ``typ`` and cache. The token's ``iss``, read
          before the signature only to choose the provider, selects it; an unknown issuer is
          ``issuer_mismatch`` without network traffic. ``static_tokens``, ``required_scopes``,
          ``scope_implies`` and the DPoP options stay on the verifier holding the providers;
          the per-provider options there are a :class:`ConfigError`.

        Seconds are an ``int``, a ``float`` or a ``timedelta``; sizes an ``int``; flags a
        ``bool``. A value of another type or an unknown keyword raises ``TypeError``; a value out
        of range (negative, NaN, infinite, too large) or a ``str`` that is not valid Unicode (a
        lone surrogate) raises :class:`ConfigError`.
        """
    @staticmethod
    def from_env(
        prefix: str = "MCP_",
        *,
        issuer: Optional[_Strings] = None,
        audience: Optional[_Strings] = None,
        audience_match: Optional[_AudienceMatch] = None,
        id_token: Optional[str] = None,
        jwks_uri: Optional[str] = None,
        jwks: Optional[Union[str, bytes, Mapping[str, Any]]] = None,
        public_key: Optional[Union[str, bytes]] = None,
        hmac_secret: Optional[Union[str, bytes]] = None,
        algorithms: Optional[_Strings] = None,
        required_scopes: Optional[_Strings] = None,
        scope_implies: Optional[_ScopeImplies] = None,
        scope_claims: Optional[_Strings] = None,
        client_id_claims: Optional[_Strings] = None,
        introspection: Optional[_Introspection] = None,
        leeway: Optional[_Seconds] = None,
        typ: Optional[str] = None,
        require_claims: Optional[_Strings] = None,
        static_tokens: Optional[Mapping[str, _StaticIdentity]] = None,
        cache_size: Optional[int] = None,
        max_token_bytes: Optional[int] = None,
        fetch_timeout: Optional[_Seconds] = None,
        refresh_cooldown: Optional[_Seconds] = None,
        max_stale: Optional[_Seconds] = None,
        dpop: Optional[_DpopMode] = None,
        dpop_algorithms: Optional[_Strings] = None,
        dpop_iat_window: Optional[_Seconds] = None,
        dpop_nonce: Optional[bool] = None,
        dpop_nonce_secret: Optional[Union[str, bytes]] = None,
        dpop_replay_cache_size: Optional[int] = None,
        providers: Optional[Sequence[_ProviderOptions]] = None,
        allow_insecure_http: bool = False,
        insecure_skip_audience_check: bool = False,
        insecure_allow_missing_exp: bool = False,
    ) -> Verifier:
        """A verifier from ``{prefix}OAUTH_ISSUER`` (or ``OAUTH_ISSUER_URL``,
        ``OIDC_CONFIG_URL``), ``{prefix}OAUTH_JWKS_URI``, ``{prefix}OIDC_AUDIENCE`` (or
        ``OAUTH_AUDIENCE``, comma-separated; ``OIDC_AUDIENCE_CHECK=off`` for none),
        ``{prefix}OIDC_REQUIRED_SCOPES`` (comma-separated), ``{prefix}OIDC_VERIFY_ACCESS_TOKEN=false``
        with ``OIDC_CLIENT_ID`` (id_token mode), ``{prefix}OAUTH_CLIENT_ID`` /
        ``OAUTH_CLIENT_SECRET`` / ``OAUTH_INTROSPECTION_URL`` (introspection),
        ``{prefix}BEARER_TOKEN`` / ``{prefix}API_KEY`` (static tokens with client ids
        ``bearer-token`` / ``api-key``), ``{prefix}AUTH_MODE`` (``oauth``, ``api_key``, ``both``),
        plus the keyword options. Blank variables count as unset; a half-configured OIDC setup
        raises :class:`ConfigError` naming the variable.

        ``prefix`` defaults to ``"MCP_"`` and must not be empty (:class:`ConfigError`): without
        one, generic variables such as ``API_KEY`` or ``BEARER_TOKEN`` would become accepted
        credentials."""
    def verify(self, token: str) -> Claims:
        """Verifies a bearer credential (without the ``Bearer`` prefix) now. Raises
        :class:`InvalidToken` (or a subclass; ``token_malformed`` for a ``str`` that is not
        valid Unicode) or ``TypeError`` for a non-``str``. Waits for a key fetch when one is
        needed (at most the fetch timeout); in async code use :meth:`verify_async`."""
    def verify_at(self, token: str, now: Union[float, int, datetime]) -> Claims:
        """Verifies as if the time were ``now`` (seconds since the epoch or an aware datetime).
        A time before 1970 or after year 9999 raises :class:`ConfigError`."""
    def verify_nonblocking(self, token: str) -> Optional[Claims]:
        """Verifies without waiting: None when the answer needs a key fetch (now requested)."""
    async def verify_async(self, token: str) -> Claims:
        """Verifies without blocking the event loop: inline when keys are known, a worker
        thread when a key fetch must be awaited."""
    def verify_request(
        self, method: str, url: str, authorization: Optional[str] = None,
        dpop: Optional[_Strings] = None, api_key: Optional[str] = None,
    ) -> Claims:
        """Verifies a request's credential as the server received it: ``method``, the full
        ``url`` (``scheme://host[:port]/path?query``), the ``Authorization`` header value
        (``Bearer <token>`` or ``DPoP <token>``, split by :func:`split_authorization`), every
        ``DPoP`` header value (a str or a list; several are refused) and the ``X-API-Key``
        header value ``api_key``: read only when there is no ``Authorization`` header, and then
        only as a configured static token (a JWT there is ``token_unknown``; under
        ``dpop="required"`` every key is ``dpop_proof_missing``). Raises
        :class:`CredentialMissing` without a usable credential, :class:`DPoPError` for proof
        failures, and what :meth:`verify` raises."""
    def verify_request_at(
        self, method: str, url: str, authorization: Optional[str] = None,
        dpop: Optional[_Strings] = None, api_key: Optional[str] = None, *,
        now: Union[float, int, datetime],
    ) -> Claims:
        """:meth:`verify_request` as if the time were ``now``."""
    def verify_request_nonblocking(
        self, method: str, url: str, authorization: Optional[str] = None,
        dpop: Optional[_Strings] = None, api_key: Optional[str] = None,
    ) -> Optional[Claims]:
        """:meth:`verify_request` without waiting: None when a key fetch is needed (now
        requested)."""
    async def verify_request_async(
        self, method: str, url: str, authorization: Optional[str] = None,
        dpop: Optional[_Strings] = None, api_key: Optional[str] = None,
    ) -> Claims:
        """:meth:`verify_request` without blocking the event loop."""
    def protected_resource(
        self, resource: str, authorization_servers: Optional[_Strings] = None,
        scopes_supported: Optional[_Strings] = None,
    ) -> ProtectedResource:
        """The resource this verifier protects, for its RFC 9728 document and its challenges:
        ``authorization_servers`` default to the verifier's issuers, ``scopes_supported`` to its
        required scopes; DPoP settings are advertised (``dpop_signing_alg_values_supported``,
        ``dpop_bound_access_tokens_required`` in required mode, ``DPoP`` challenges, nonces).
        Raises :class:`ConfigError` as :class:`ProtectedResource` does."""
    def wait_ready(self, timeout: _Seconds = 5.0) -> None:
        """Blocks (GIL released) until keys are available; raises :class:`KeysUnavailable` with
        the descriptive discovery/JWKS error after ``timeout`` seconds (:class:`ConfigError` for
        a negative, NaN, infinite or too large timeout)."""
    def keys_status(self) -> KeysStatus:
        """The state of the verifier's keys (with ``providers``: the first provider's)."""
    def provider_keys_status(self) -> list[tuple[str, KeysStatus]]:
        """With ``providers``: each provider's issuer and the state of its keys, in
        configuration order; empty otherwise."""
    def stats(self) -> Stats:
        """What the verifier has done since it was built: outcomes by error code, cache use,
        key fetches, and the state of its keys and cache."""
    @property
    def algorithms(self) -> list[str]:
        """The accepted algorithms."""
    @property
    def issuers(self) -> list[str]:
        """The issuers this verifier trusts, as configured (or read from the environment)."""
    @property
    def required_scopes(self) -> list[str]:
        """The scopes every credential must carry, from ``required_scopes`` or the environment."""

@final
class Challenge:
    """What to answer a refused request (``ProtectedResource.challenge``)."""

    @property
    def status(self) -> int:
        """401, 403, or the 5xx status of a server-side problem."""
    @property
    def www_authenticate(self) -> Optional[str]:
        """The ``WWW-Authenticate`` header value, sent as it is; None for 5xx answers."""
    @property
    def dpop_nonce(self) -> Optional[str]:
        """A server nonce for the ``DPoP-Nonce`` header (RFC 9449 §8), or None."""
    def headers(self) -> list[tuple[str, str]]:
        """``WWW-Authenticate`` and ``DPoP-Nonce``, those that are set."""

@final
class ProtectedResource:
    """A protected resource (an MCP server) as OAuth sees it: the RFC 9728 metadata document,
    its path-aware URL, and the RFC 6750 challenges of the MCP authorization rules."""

    def __new__(
        cls,
        resource: str,
        authorization_servers: _Strings,
        scopes_supported: Optional[_Strings] = None,
    ) -> ProtectedResource:
        """``resource`` is an https URL (http on loopback hosts) without query or fragment;
        ``authorization_servers`` their issuer identifiers; ``scopes_supported`` the scopes to
        advertise (``offline_access`` is left out). Raises :class:`ConfigError`."""
    @property
    def resource(self) -> str: ...
    @property
    def metadata_url(self) -> str:
        """Where the metadata document is served (path-aware, RFC 9728 §3.1): the
        ``resource_metadata`` of every challenge."""
    @property
    def metadata_path(self) -> str:
        """The path of :attr:`metadata_url`, for routing."""
    def metadata(self) -> dict[str, Any]:
        """The RFC 9728 metadata document."""
    def metadata_json(self) -> str:
        """The RFC 9728 metadata document as JSON text."""
    def challenge(
        self, error: Optional[InvalidToken] = None, required_scopes: Optional[_Strings] = None
    ) -> Challenge:
        """The answer to a refused request: ``error`` is the exception jwtgate raised (None when
        no credential was sent: 401 without ``error=``); ``required_scopes`` every scope the
        operation needs. 403 ``insufficient_scope`` for a scope shortfall, 401 ``invalid_token``
        for any other rejection, the 5xx status without a challenge for a server-side problem.
        ``TypeError`` for an exception that jwtgate did not raise."""

@final
class SigningKey:
    """A private signing key (for tests and local development; see :mod:`jwtgate.testing`)."""

    @staticmethod
    def generate(alg: str, kid: str) -> SigningKey: ...
    @staticmethod
    def from_pkcs8_pem(alg: str, kid: str, pem: str) -> SigningKey: ...
    @staticmethod
    def hmac(alg: str, kid: str, secret: bytes) -> SigningKey: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def kid(self) -> str: ...
    def public_jwk(self) -> Optional[dict[str, Any]]: ...
    def public_jwks(self) -> str: ...
    def pkcs8_pem(self) -> Optional[str]: ...
    def secret(self) -> Optional[bytes]: ...
    def mint(self, claims: Mapping[str, Any], header: Optional[Mapping[str, Any]] = None) -> str:
        """Signs ``claims`` as a JWT; ``header`` members are added to ``{"typ": "JWT", "alg", "kid"}``."""
    def sign_raw(self, header: bytes, payload: bytes) -> str:
        """Signs exact header and payload bytes (no checks)."""
