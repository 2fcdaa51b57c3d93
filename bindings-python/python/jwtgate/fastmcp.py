"""jwtgate for FastMCP (2.x, 3.x and 4.x): a drop-in ``JWTVerifier``, and ``RemoteAuthProvider``
and ``MultiAuth`` that answer refusals with the MCP authorization challenges.

Replace ``from fastmcp.server.auth.providers.jwt import JWTVerifier`` with::

    from jwtgate.fastmcp import JWTVerifier

    auth = JWTVerifier(issuer="https://auth.example.com", audience="https://mcp.example.com/mcp")
    mcp = FastMCP("my server", auth=auth)

It accepts FastMCP ``JWTVerifier``'s keyword arguments (``public_key``, ``jwks_uri``, ``issuer``,
``audience``, ``algorithm``, ``required_scopes``, ``base_url``, ``jwks_refresh_interval``, …) and
jwtgate's (``algorithms``, ``leeway``, ``typ``, ``require_claims``, ``static_tokens``, ``jwks``,
``scope_implies``, ``audience_match``, ``scope_claims``, ``client_id_claims``, ``id_token``,
``introspection``, ``providers``, the ``dpop*`` options, ``cache_size``, …), and returns FastMCP's
``AccessToken``.
Differences, all on the safe side:

* Keys: without ``public_key``, ``jwks`` or ``jwks_uri``, keys are discovered from ``issuer``
  (OIDC discovery, then RFC 8414). They are parsed once and refreshed in the background.
* Claims: ``exp`` is required; ``nbf`` and ``iat`` are checked; ``leeway`` applies to all three.
  ``issuer`` is required. ``audience=None`` disables the audience check as FastMCP does, with a
  warning logged once. Audiences compare as canonical resource URIs by default
  (``audience_match="canonical"``: MCP clients differ in trailing slash and host case; RFC 8707
  resource indicators are URIs); ``audience_match="exact"`` compares bytes.
* Algorithms: ``algorithm`` (one) or ``algorithms`` (several); without either, every asymmetric
  algorithm is allowed (each key verifies only its own family, so this enables no confusion).
* Refusals: wherever jwtgate's middleware runs (this ``JWTVerifier``, :class:`RemoteAuthProvider`
  or :class:`MultiAuth` as the server's ``auth``, or any provider passed through :func:`protect`),
  a refused request on the MCP endpoint is answered by the core: 401 ``Bearer
  resource_metadata=…, scope=…`` without ``error`` when no credential was sent, 401
  ``invalid_token``, 403 ``insufficient_scope`` naming every required scope, 503 while keys are
  unavailable. The core's RFC 9728 metadata document is served at the path-aware well-known URL
  when the server's URL is known (``base_url``).
* ``AccessToken.scopes`` are the scopes the credential grants: its own plus those its scopes
  imply (``scope_implies``), so FastMCP's per-component ``require_scopes`` counts the hierarchy.
  ``resource`` is the configured audience the token's ``aud`` matched
  (``Claims.audience_matched``; for a static token its configured ``audience``), None when the
  audience check is off; ``client_id`` is ``client_id``, else ``azp``, else ``sub`` (the core's
  rule), ``""`` for a token naming none.
* Invalid tokens return ``None``; the reason is logged at debug level on the
  ``jwtgate.fastmcp`` logger with its code (``token_expired``, ``audience_mismatch``, …).
* ``verify_token`` never blocks the event loop: it verifies inline when the keys are known and
  waits for a key fetch in a worker thread.
* DPoP (RFC 9449) under jwtgate's middleware: proofs name the URL ``base_url`` gives (the
  public origin) plus the request's raw path, never the ``Host`` header. ``dpop="required"``
  refuses every token where the middleware does not run (``verify_token`` alone has no proof).
* API keys: under jwtgate's middleware, a request without ``Authorization`` may send a static
  token in ``X-API-Key`` (never a JWT there). Only jwtgate verifiers are handed it (in a
  ``MultiAuth``, the sources that hold one); FastMCP then sees it as ``Authorization: Bearer``.

``JWTVerifier`` is a subclass of FastMCP's own (never using its verification code), so that
FastMCP treats it as one: ``MultiAuth`` (FastMCP 4) derives each verifier's source id from its
``issuer`` and ``jwks_uri``, distinct and stable for distinct issuers, and equal to the id
FastMCP's own ``JWTVerifier`` gets for the same configuration. Providers that bind an audience
to their verifier (``AuthKitProvider``, ``Auth0MCPProvider``) leave a verifier passed as
``token_verifier=`` as configured; setting ``verifier.audience`` rebuilds the core verifier with
that audience, or raises :class:`jwtgate.ConfigError` for a verifier built around an existing
``jwtgate.Verifier`` (``verifier=``), whose audience this object does not own.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Mapping, Optional, Sequence

import fastmcp.server.auth as _fastmcp_auth
from fastmcp.server.auth import AccessToken, AuthProvider
from fastmcp.server.auth import RemoteAuthProvider as _FastMCPRemoteAuthProvider
from fastmcp.server.auth import TokenVerifier
from fastmcp.server.auth.providers.jwt import JWTVerifier as _FastMCPJWTVerifier
from fastmcp.utilities.auth import parse_scopes
from pydantic import AnyHttpUrl
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Route

import jwtgate
from jwtgate import _asgi
from jwtgate._access import AccessTokens
from jwtgate._asgi import _ATTEMPT

_FastMCPMultiAuth: Any = getattr(_fastmcp_auth, "MultiAuth", None)  # FastMCP >= 3.1

__all__ = ["JWTVerifier", "RemoteAuthProvider", "MultiAuth", "protect"]

logger = logging.getLogger("jwtgate.fastmcp")

_METADATA_PREFIX = "/.well-known/oauth-protected-resource"


class JWTVerifier(_FastMCPJWTVerifier):
    """FastMCP ``TokenVerifier`` backed by :class:`jwtgate.Verifier` (a subclass of FastMCP's
    ``JWTVerifier`` in name only: none of its verification code runs)."""

    def __init__(
        self,
        *,
        # FastMCP JWTVerifier's arguments
        public_key: str | bytes | None = None,
        jwks_uri: str | None = None,
        issuer: str | list[str] | None = None,
        audience: str | list[str] | None = None,
        algorithm: str | None = None,
        required_scopes: list[str] | str | None = None,
        base_url: AnyHttpUrl | str | None = None,
        resource_base_url: AnyHttpUrl | str | None = None,
        ssrf_safe: bool = False,
        http_client: Any = None,
        jwks_refresh_interval: float = 30.0,
        # jwtgate's
        algorithms: Sequence[str] | None = None,
        jwks: str | Mapping[str, Any] | None = None,
        audience_match: str = "canonical",
        scope_implies: Mapping[str, str | Sequence[str]] | None = None,
        scope_claims: str | Sequence[str] | None = None,
        client_id_claims: str | Sequence[str] | None = None,
        id_token: str | None = None,
        introspection: Mapping[str, Any] | None = None,
        providers: Sequence[Mapping[str, Any]] | None = None,
        leeway: float = 0,
        typ: str | None = None,
        require_claims: Sequence[str] | None = None,
        static_tokens: Mapping[str, Any] | None = None,
        cache_size: int | None = None,
        fetch_timeout: float | None = None,
        max_stale: float | None = None,
        dpop: str | None = None,
        dpop_algorithms: Sequence[str] | None = None,
        dpop_iat_window: float | None = None,
        dpop_nonce: bool | None = None,
        dpop_nonce_secret: str | bytes | None = None,
        dpop_replay_cache_size: int | None = None,
        allow_insecure_http: bool = False,
        verifier: jwtgate.Verifier | None = None,
    ) -> None:
        """Builds the verifier; raises :class:`jwtgate.ConfigError` (a ``ValueError``) naming
        what is wrong or missing. ``verifier`` uses an existing :class:`jwtgate.Verifier` (for
        example from :meth:`jwtgate.Verifier.from_env`) instead of the key and claim options."""
        scopes = parse_scopes(required_scopes) or []
        base: dict[str, Any] = {"base_url": base_url, "required_scopes": scopes}
        if resource_base_url is not None:
            base["resource_base_url"] = resource_base_url
        try:
            TokenVerifier.__init__(self, **base)
        except TypeError as e:  # FastMCP 2.x has no resource_base_url
            raise jwtgate.ConfigError(f"resource_base_url needs FastMCP 3 or later: {e}") from None
        if verifier is not None:
            given = {
                "public_key": public_key, "jwks_uri": jwks_uri, "issuer": issuer,
                "audience": audience, "algorithm": algorithm, "algorithms": algorithms,
                "jwks": jwks, "leeway": leeway or None, "typ": typ,
                "require_claims": require_claims, "static_tokens": static_tokens,
                "cache_size": cache_size, "fetch_timeout": fetch_timeout, "max_stale": max_stale,
                "scope_implies": scope_implies, "dpop": dpop, "dpop_algorithms": dpop_algorithms,
                "dpop_iat_window": dpop_iat_window, "dpop_nonce": dpop_nonce,
                "dpop_nonce_secret": dpop_nonce_secret,
                "dpop_replay_cache_size": dpop_replay_cache_size, "scope_claims": scope_claims,
                "client_id_claims": client_id_claims, "id_token": id_token, "providers": providers,
                "introspection": introspection,
            }
            extra = sorted(name for name, value in given.items() if value is not None)
            if extra:
                raise jwtgate.ConfigError(
                    f"verifier= already holds the configuration; do not also pass {', '.join(extra)}"
                )
        if ssrf_safe:
            raise jwtgate.ConfigError(
                "ssrf_safe=True is not supported: jwtgate fetches keys over https only (http on "
                "loopback hosts), without redirects and with size limits, but does not filter "
                "private addresses; configure a trusted jwks_uri or issuer instead"
            )
        if http_client is not None:
            logger.debug("jwtgate.fastmcp: http_client is ignored; jwtgate fetches keys itself")
        if algorithm is not None and algorithms is not None:
            raise jwtgate.ConfigError("pass algorithm or algorithms, not both")
        if algorithm is not None:
            algorithms = [algorithm]
        hmac_secret = None
        if public_key is not None and algorithms and all(a.startswith("HS") for a in algorithms):
            # FastMCP's convention: with an HS* algorithm, `public_key` is the shared secret.
            hmac_secret, public_key = public_key, None

        # FastMCP reads these (MultiAuth's source id: issuer and jwks_uri).
        self.issuer = issuer
        self.jwks_uri = jwks_uri
        self._audience = audience
        self._options: Optional[dict[str, Any]] = None
        if verifier is None:
            self._options = {
                "issuer": issuer, "audience": audience,
                # FastMCP's convention: no audience, no audience check (the core warns). Not for
                # id_token mode (the audience is the client id) nor providers (each has its own).
                "insecure_skip_audience_check": audience is None and id_token is None and not providers,
                "jwks_uri": jwks_uri, "jwks": jwks,
                "public_key": public_key, "hmac_secret": hmac_secret, "algorithms": algorithms,
                "required_scopes": scopes, "scope_implies": scope_implies, "leeway": leeway,
                "typ": typ, "require_claims": require_claims, "static_tokens": static_tokens,
                "cache_size": cache_size, "fetch_timeout": fetch_timeout, "max_stale": max_stale,
                "refresh_cooldown": jwks_refresh_interval, "dpop": dpop,
                "dpop_algorithms": dpop_algorithms, "dpop_iat_window": dpop_iat_window,
                "dpop_nonce": dpop_nonce, "dpop_nonce_secret": dpop_nonce_secret,
                "dpop_replay_cache_size": dpop_replay_cache_size, "scope_claims": scope_claims,
                "client_id_claims": client_id_claims, "id_token": id_token,
                "introspection": introspection, "allow_insecure_http": allow_insecure_http,
                **_asgi.audience_match_options(audience_match, providers),
            }
            verifier = jwtgate.Verifier(**self._options)
        if issuer is None:
            # MultiAuth derives the source id from the issuer: the core's, however configured
            # (verifier=, or providers).
            issuers = verifier.issuers
            self.issuer = issuers[0] if len(issuers) == 1 else (issuers or None)
        # FastMCP's other attributes, with the types it declares (its verification code that
        # reads them never runs): the PEM as text (the core read bytes as UTF-8), and the
        # accepted algorithm, or the accepted algorithms separated by spaces.
        self.public_key = public_key.decode() if isinstance(public_key, bytes) else public_key
        self.algorithm = algorithm if algorithm is not None else " ".join(verifier.algorithms)
        self.verifier = verifier
        # FastMCP's AccessToken of a verified credential (see jwtgate._access).
        self._tokens = AccessTokens(AccessToken, verifier)

    @property
    def audience(self) -> str | list[str] | None:
        """The accepted audience(s), None when the audience check is off. Setting it (as
        FastMCP's providers do to bind a verifier to the server's resource URL) rebuilds the
        core verifier with the new audience; a verifier built with ``verifier=`` refuses with
        :class:`jwtgate.ConfigError`."""
        return self._audience

    @audience.setter
    def audience(self, value: str | list[str] | None) -> None:
        if value == self._audience:
            return
        if self._options is None:
            raise jwtgate.ConfigError(
                f"cannot set the audience to {value!r}: this JWTVerifier was built around an "
                "existing jwtgate.Verifier (verifier=), whose audience it does not own; build that "
                "Verifier with the audience (for example Verifier.from_env with "
                "{prefix}OIDC_AUDIENCE set to the server's resource URL), or pass audience= here"
            )
        options = dict(self._options, audience=value, insecure_skip_audience_check=value is None)
        self.verifier = jwtgate.Verifier(**options)
        self._options = options
        self._audience = value
        self._tokens = AccessTokens(AccessToken, self.verifier)
        logger.info("jwtgate.fastmcp: audience set to %r", value)

    @classmethod
    def from_env(cls, prefix: str = "MCP_", **options: Any) -> JWTVerifier:
        """A verifier configured by ``{prefix}OAUTH_ISSUER``, ``{prefix}OIDC_AUDIENCE``, … (see
        :meth:`jwtgate.Verifier.from_env`; the prefix must not be empty); ``options`` are FastMCP
        arguments such as ``base_url`` or ``required_scopes`` (the latter also shown in
        FastMCP's challenges)."""
        scopes = parse_scopes(options.get("required_scopes")) or []
        verifier = jwtgate.Verifier.from_env(prefix, required_scopes=scopes, audience_match="canonical")
        return cls(verifier=verifier, **options)

    async def verify_token(self, token: str) -> AccessToken | None:
        """Verifies a bearer token: FastMCP's ``AccessToken`` when valid, ``None`` otherwise.
        Under jwtgate's middleware the whole request is verified (``verify_request``: the
        ``DPoP`` scheme and its proof too); called on its own, a DPoP-bound token is refused."""
        if _ATTEMPT.get() is None:
            # Outside jwtgate's middleware, a credential the core answers from its cache (or a
            # static token) is converted in the same native call; one that takes more work
            # takes the full path below.
            try:
                access = self._tokens.cached(self.verifier, token)
            except jwtgate.InvalidToken as e:
                _asgi.refused(self, e)
                return None
            if access is not None:
                return access
        claims = _asgi.verify_now(self, self.verifier, token)
        if claims is _asgi.PENDING:
            claims = await _asgi.verify_for(self, self.verifier, token)
        return None if claims is None else self._tokens.of(token, claims)

    # FastMCP's JWTVerifier.verify_token calls load_access_token; nothing of its own may run.
    load_access_token = verify_token

    def _access_token(self, token: str, claims: jwtgate.Claims) -> AccessToken:
        return self._tokens.convert(token, claims)

    def get_middleware(self) -> list[Any]:
        """jwtgate's authentication middleware in the place of FastMCP's (see the module)."""
        return _middleware(_guard_of(self), super().get_middleware())

    def get_routes(self, mcp_path: str | None = None, *args: Any, **kwargs: Any) -> list[Any]:
        """FastMCP's routes, plus the core's RFC 9728 metadata document when ``base_url`` is
        set (the server's resource URL is then known)."""
        guard = _guard_of(self)
        guard.mcp_path = mcp_path
        return _with_metadata(super().get_routes(mcp_path, *args, **kwargs), guard)

    def __repr__(self) -> str:
        return f"jwtgate.fastmcp.JWTVerifier({self.verifier!r})"


class RemoteAuthProvider(_FastMCPRemoteAuthProvider):
    """FastMCP's ``RemoteAuthProvider`` (same arguments) with jwtgate's middleware: a token
    lacking a required scope gets 403 ``insufficient_scope`` naming every required scope (401 with
    FastMCP's own class), and every refusal on the MCP endpoint the core's challenge. The RFC 9728
    metadata document is the core's (``resource``, ``authorization_servers``,
    ``scopes_supported`` without ``offline_access``, ``bearer_methods_supported``), plus
    ``resource_name`` / ``resource_documentation`` when given."""

    def get_middleware(self) -> list[Any]:
        return _middleware(_guard_of(self), super().get_middleware())

    def get_routes(self, mcp_path: str | None = None, *args: Any, **kwargs: Any) -> list[Any]:
        guard = _guard_of(self)
        guard.mcp_path = mcp_path
        return _with_metadata(super().get_routes(mcp_path, *args, **kwargs), guard)


if _FastMCPMultiAuth is not None:

    class MultiAuth(_FastMCPMultiAuth):  # type: ignore[misc]  # subclassing Any, to mypy
        """FastMCP's ``MultiAuth`` (FastMCP 3.1 and later; same arguments) with jwtgate's
        middleware: refusals on the MCP endpoint are the core's challenges (a credential one
        jwtgate verifier refuses only for its scopes gets 403), and without a ``server`` the
        core's RFC 9728 document names every jwtgate verifier's issuer when ``base_url`` is
        set."""

        def get_middleware(self) -> list[Any]:
            return _middleware(_guard_of(self), super().get_middleware())

        def get_routes(self, mcp_path: str | None = None, *args: Any, **kwargs: Any) -> list[Any]:
            guard = _guard_of(self)
            guard.mcp_path = mcp_path
            return _with_metadata(super().get_routes(mcp_path, *args, **kwargs), guard)

else:

    class MultiAuth:  # type: ignore[no-redef]
        """FastMCP's ``MultiAuth`` needs FastMCP 3.1 or later."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            import fastmcp

            raise jwtgate.ConfigError(
                f"MultiAuth needs FastMCP 3.1 or later; FastMCP {fastmcp.__version__} is installed"
            )


def protect(auth: Any) -> Any:
    """Puts jwtgate's middleware into any FastMCP auth provider (``AuthKitProvider``,
    ``Auth0MCPProvider``, FastMCP's own ``RemoteAuthProvider`` or ``MultiAuth``, …) whose token
    verification includes jwtgate verifiers, and serves the core's RFC 9728 document in the
    place of its own. Returns ``auth``::

        auth = protect(AuthKitProvider(authkit_domain=..., base_url=...,
                                       token_verifier=JWTVerifier(issuer=..., audience=...)))
    """
    if not isinstance(auth, AuthProvider):
        raise TypeError("protect() takes a FastMCP auth provider")
    guard = _guard_of(auth)
    middleware, routes = auth.get_middleware, auth.get_routes
    if getattr(middleware, "_jwtgate", False):
        return auth

    def get_middleware() -> list[Any]:
        return _middleware(guard, middleware())

    def get_routes(mcp_path: str | None = None, *args: Any, **kwargs: Any) -> list[Any]:
        guard.mcp_path = mcp_path
        return _with_metadata(routes(mcp_path, *args, **kwargs), guard)

    get_middleware._jwtgate = True  # type: ignore[attr-defined]
    auth.get_middleware = get_middleware  # type: ignore[method-assign]
    auth.get_routes = get_routes  # type: ignore[method-assign]
    return auth


class _Guard(_asgi.Guard):
    """FastMCP's side of jwtgate's middleware: verification through the provider's own
    ``verify_token`` (so ``MultiAuth``'s sources, order and client-id qualification stay
    FastMCP's), the endpoint from ``get_routes``, the resource from ``base_url``."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.mcp_path: Optional[str] = None
        # (resource URL, the core verifier it was made with) -> the resource, per verifier.
        self._resources: dict[tuple[str, int], tuple[Any, Optional[jwtgate.ProtectedResource]]] = {}

    async def authenticate(self, request: _asgi.HttpRequest) -> _asgi.Outcome:
        scheme, token = request.credential()
        if token is None:
            return _asgi.Outcome()
        provider = self.provider if scheme != "api_key" else _api_key_sources(self.provider)
        if provider is None:
            return _asgi.Outcome()  # no jwtgate verifier: X-API-Key is no credential here
        with _asgi.attempting(request, token) as attempt:
            access = await provider.verify_token(token)
        return _asgi.Outcome.of(attempt, access)

    def protects(self, scope: Any) -> bool:
        return _asgi.same_path(scope, self.mcp_path)

    def _resource_url(self) -> Optional[str]:
        if self.mcp_path is None:
            return None
        url = self.provider._get_resource_url(self.mcp_path)
        return None if url is None else str(url)

    def origin(self) -> Optional[str]:
        # Where the server is reachable (`base_url`), else the resource's URL.
        return _asgi.origin_of(getattr(self.provider, "base_url", None)) or _asgi.origin_of(self._resource_url())

    def resource(self, verifier: Any = None) -> Optional[jwtgate.ProtectedResource]:
        url = self._resource_url()
        if url is None:
            return None
        verifiers = _jwtgate_verifiers(self.provider)
        chosen = next((v for v in verifiers if v is verifier), verifiers[0] if verifiers else None)
        core = chosen.verifier if chosen is not None else None
        key = (url, id(core))
        found = self._resources.get(key)
        if found is None or found[0] is not core:
            servers = _authorization_servers(self.provider)
            scopes = _scopes_supported(self.provider)
            try:
                # A jwtgate verifier's resource: its DPoP settings are advertised, and its
                # challenges carry its nonces. The document is the first verifier's.
                resource: Optional[jwtgate.ProtectedResource] = (
                    core.protected_resource(url, servers, scopes) if core is not None
                    else jwtgate.ProtectedResource(url, servers, scopes)
                )
            except jwtgate.ConfigError as e:
                logger.warning("jwtgate.fastmcp: no RFC 9728 metadata and no jwtgate challenges "
                               "for %s: %s", url, e.message)
                resource = None
            found = self._resources[key] = (core, resource)
        return found[1]

    def required_scopes(self) -> list[str]:
        scopes = list(self.provider.required_scopes or [])
        inner = self.provider
        if isinstance(inner, _FastMCPRemoteAuthProvider):
            inner = inner.token_verifier
        if isinstance(inner, JWTVerifier):
            scopes += [s for s in inner.verifier.required_scopes if s not in scopes]
        return scopes

    def framework_scopes(self) -> list[str]:
        return list(self.provider.required_scopes or [])

    def hand_on(self, verifier: Any, error: jwtgate.InsufficientScope, token: str) -> Any:
        if isinstance(verifier, JWTVerifier) and error.claims is not None:
            return verifier._access_token(token, error.claims)
        return None

    def metadata_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        for name in ("resource_name", "resource_documentation"):
            value = getattr(self.provider, name, None)
            if value is not None:
                extra[name] = str(value)
        return extra


def _guard_of(provider: Any) -> _Guard:
    guard = provider.__dict__.get("_jwtgate_guard")
    if not isinstance(guard, _Guard):
        guard = _Guard(provider)
        provider.__dict__["_jwtgate_guard"] = guard
    return guard


def _middleware(guard: _Guard, fastmcp_middleware: list[Any]) -> list[Any]:
    """FastMCP's middleware with jwtgate's in the place of Starlette's
    ``AuthenticationMiddleware`` (FastMCP's ``AuthContextMiddleware`` stays after it)."""
    kept = [m for m in fastmcp_middleware if getattr(m, "cls", None) is not AuthenticationMiddleware]
    return [Middleware(_asgi.AuthMiddleware, guard=guard), *kept]


def _with_metadata(routes: list[Any], guard: _Guard) -> list[Any]:
    """``routes`` with the core's RFC 9728 document in the place of FastMCP's, when the
    resource is known."""
    resource = guard.resource()
    if resource is None:
        return routes
    kept = [r for r in routes if not (isinstance(r, Route) and r.path.startswith(_METADATA_PREFIX))]
    endpoint = _asgi.metadata_endpoint(guard.resource, guard.metadata_extra)
    kept.append(Route(resource.metadata_path, endpoint=endpoint, methods=["GET", "OPTIONS"]))
    return kept


def _jwtgate_verifiers(provider: Any) -> list[JWTVerifier]:
    """The jwtgate verifiers inside ``provider``, in the order FastMCP tries them."""
    if isinstance(provider, JWTVerifier):
        return [provider]
    for name in ("token_verifier", "_token_validator"):  # RemoteAuthProvider, OAuthProxy
        inner = getattr(provider, name, None)
        if inner is not None:
            return _jwtgate_verifiers(inner)
    found: list[JWTVerifier] = []
    if _FastMCPMultiAuth is not None and isinstance(provider, _FastMCPMultiAuth):
        for source in ([provider.server] if provider.server is not None else []) + list(provider.verifiers):
            found += _jwtgate_verifiers(source)
    return found


def _api_key_sources(provider: Any) -> Any:
    """``provider`` as it verifies an ``X-API-Key`` credential: a ``MultiAuth`` with only the
    sources that hold a jwtgate verifier (the others would take the key as a Bearer token, and
    some would send it to a server), source ids unchanged; None when no source holds one."""
    if not _jwtgate_verifiers(provider):
        return None
    if _FastMCPMultiAuth is None or not isinstance(provider, _FastMCPMultiAuth):
        return provider
    sources = getattr(provider, "_sources", None)
    if not isinstance(sources, list):
        return provider  # Outcome.of still counts only a jwtgate verifier's acceptance
    keep = [bool(_jwtgate_verifiers(source)) for source in sources]
    if all(keep):
        return provider
    view = copy.copy(provider)
    view._sources = [source for source, kept in zip(sources, keep) if kept]
    ids = getattr(provider, "_source_ids", None)
    if isinstance(ids, list) and len(ids) == len(sources):
        view._source_ids = [source_id for source_id, kept in zip(ids, keep) if kept]
    return view


def _issuers(provider: Any) -> list[str]:
    """The issuers of the jwtgate verifiers inside ``provider``, as configured."""
    if isinstance(provider, JWTVerifier):
        return list(provider.verifier.issuers)
    if isinstance(provider, _FastMCPRemoteAuthProvider):
        return _issuers(provider.token_verifier)
    found: list[str] = []
    if _FastMCPMultiAuth is not None and isinstance(provider, _FastMCPMultiAuth):
        for source in ([provider.server] if provider.server is not None else []) + list(provider.verifiers):
            found += [i for i in _issuers(source) if i not in found]
    return found


def _authorization_servers(provider: Any) -> list[str]:
    """RFC 9728 ``authorization_servers``: a ``RemoteAuthProvider``'s (pydantic adds a slash to
    an issuer without a path; the configured issuer is the identifier, RFC 8414 §2), else the
    jwtgate verifiers' issuers."""
    if _FastMCPMultiAuth is not None and isinstance(provider, _FastMCPMultiAuth) and provider.server is not None:
        return _authorization_servers(provider.server)
    if isinstance(provider, _FastMCPRemoteAuthProvider):
        known = _issuers(provider)
        servers = []
        for server in provider.authorization_servers:
            text = str(server)
            if text not in known and text.endswith("/") and text[:-1] in known:
                text = text[:-1]
            servers.append(text)
        return servers
    return _issuers(provider)


def _scopes_supported(provider: Any) -> list[str]:
    try:
        scopes = getattr(provider, "scopes_supported", None)
    except Exception:  # a provider computing it from state it lacks
        scopes = None
    return list(scopes if scopes is not None else provider.required_scopes or [])
