"""jwtgate for the MCP Python SDK: a ``TokenVerifier`` for ``MCPServer`` (mcp 2.x) and
``FastMCP`` (mcp 1.x), and the app that answers refusals with the MCP authorization challenges::

    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer          # mcp 1.x: from mcp.server.fastmcp import FastMCP
    from jwtgate.mcp import TokenVerifier, streamable_http_app

    server = MCPServer(
        "my server",
        token_verifier=TokenVerifier(issuer="https://auth.example.com",
                                     audience="https://mcp.example.com/mcp"),
        auth=AuthSettings(
            issuer_url="https://auth.example.com",
            resource_server_url="https://mcp.example.com/mcp",
            required_scopes=["tools:call"],
            validate_token_resource=True,       # works: AccessToken.resource is filled
        ),
    )
    app = streamable_http_app(server)           # instead of server.streamable_http_app()

Options are :class:`jwtgate.Verifier`'s; audiences compare as canonical resource URIs unless
``audience_match="exact"`` (MCP clients differ in trailing slash and host case; RFC 8707
resource indicators are URIs). ``AccessToken.resource`` is the configured audience the token's
``aud`` matched (``Claims.audience_matched``; for a static token its configured ``audience``),
which is what ``validate_token_resource`` compares; ``AccessToken.scopes`` are the scopes the
credential grants (its own and those ``scope_implies`` adds). Invalid tokens return ``None``;
the reason is logged at debug level on the ``jwtgate.mcp`` logger with its code.
``verify_token`` never blocks the event loop.

:func:`streamable_http_app` builds the SDK's app and puts jwtgate's middleware in the place of
the SDK's bearer authentication: on the MCP endpoint every refusal is answered by the core (401
``Bearer resource_metadata=…, scope=…`` without ``error`` when no credential was sent, 401
``invalid_token``, 403 ``insufficient_scope`` naming every required scope, 503 while keys are
unavailable; the SDK alone answers 401 ``invalid_token`` even without a credential), and the
RFC 9728 document at the path-aware well-known URL is the core's. DPoP proofs name the origin of
``AuthSettings.resource_server_url`` plus the request's raw path (never the ``Host`` header).
A request without ``Authorization`` may send a static token in ``X-API-Key`` (never a JWT there);
the SDK then sees it as ``Authorization: Bearer``. Scopes in
``AuthSettings.required_scopes`` get 403; scopes given to the verifier make tokens without them
invalid (401) where the SDK's app is used as it is.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import AccessToken
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Route

import jwtgate
from jwtgate import _asgi
from jwtgate._access import AccessTokens
from jwtgate._asgi import _ATTEMPT

__all__ = ["TokenVerifier", "streamable_http_app"]

logger = logging.getLogger("jwtgate.mcp")

_METADATA_PREFIX = "/.well-known/oauth-protected-resource"


class TokenVerifier:
    """The MCP SDK's ``TokenVerifier`` protocol, backed by :class:`jwtgate.Verifier`."""

    def __init__(self, *, verifier: jwtgate.Verifier | None = None, **options: Any) -> None:
        """``TokenVerifier(issuer=..., audience=..., **options)`` with the options of
        :class:`jwtgate.Verifier`, or ``TokenVerifier(verifier=existing)``. Raises
        :class:`jwtgate.ConfigError` for an invalid configuration."""
        if verifier is not None and options:
            raise jwtgate.ConfigError(
                f"verifier= already holds the configuration; do not also pass {', '.join(sorted(options))}"
            )
        if verifier is None:
            verifier = jwtgate.Verifier(**_canonical(options))
        self.verifier = verifier
        # The SDK's AccessToken of a verified credential (see jwtgate._access; mcp 1.x's has
        # fewer fields: no subject or claims, resource since 1.10): recent conversions kept
        # while the core's cache keeps verified tokens.
        self._tokens = AccessTokens(AccessToken, verifier)

    @classmethod
    def from_env(cls, prefix: str = "MCP_", **options: Any) -> TokenVerifier:
        """A verifier configured by ``{prefix}OAUTH_ISSUER``, ``{prefix}OIDC_AUDIENCE``, … (see
        :meth:`jwtgate.Verifier.from_env`; the prefix must not be empty)."""
        return cls(verifier=jwtgate.Verifier.from_env(prefix, **_canonical(options)))

    async def verify_token(self, token: str) -> AccessToken | None:
        """Verifies a bearer token: an ``AccessToken`` when valid, ``None`` otherwise. Under
        :func:`streamable_http_app`'s middleware the whole request is verified
        (``verify_request``: the ``DPoP`` scheme and its proof too); called on its own, a
        DPoP-bound token is refused."""
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

    def _access_token(self, token: str, claims: jwtgate.Claims) -> AccessToken:
        return self._tokens.convert(token, claims)

    def __repr__(self) -> str:
        return f"jwtgate.mcp.TokenVerifier({self.verifier!r})"


def _canonical(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with audiences compared as canonical resource URIs unless they say otherwise
    (on each provider, with ``providers``)."""
    match = options.pop("audience_match", "canonical")
    return {**options, **_asgi.audience_match_options(match, options.get("providers"))}


def streamable_http_app(server: Any, **kwargs: Any) -> Any:
    """``server.streamable_http_app(**kwargs)`` (``MCPServer`` of mcp 2.x, ``FastMCP`` of mcp
    1.x), with jwtgate's middleware in the place of the SDK's bearer authentication and the core's
    RFC 9728 document in the place of the SDK's. The server needs ``token_verifier=`` a
    :class:`TokenVerifier` and ``auth=AuthSettings(...)``; otherwise :class:`jwtgate.ConfigError`.
    """
    app = server.streamable_http_app(**kwargs)
    auth = getattr(getattr(server, "settings", None), "auth", None)
    if auth is None:
        raise jwtgate.ConfigError("the server has no auth=AuthSettings(...): nothing to protect")
    for index, item in enumerate(app.user_middleware):
        backend = getattr(item, "kwargs", {}).get("backend")
        if getattr(item, "cls", None) is AuthenticationMiddleware and isinstance(backend, BearerAuthBackend):
            break
    else:
        raise jwtgate.ConfigError("the server's app has no bearer authentication: pass token_verifier=TokenVerifier(...)")
    if not isinstance(backend.token_verifier, TokenVerifier):
        raise jwtgate.ConfigError(
            f"the server's token_verifier is {type(backend.token_verifier).__name__}, not jwtgate.mcp.TokenVerifier"
        )
    guard = _Guard(backend, auth)
    for route in app.router.routes:
        if isinstance(route, Route) and isinstance(route.endpoint, RequireAuthMiddleware):
            guard.mcp_path = route.path
    app.user_middleware[index] = Middleware(_asgi.AuthMiddleware, guard=guard)
    resource = guard.resource()
    if resource is not None:
        routes = app.router.routes
        routes[:] = [r for r in routes if not (isinstance(r, Route) and r.path.startswith(_METADATA_PREFIX))]
        endpoint = _asgi.metadata_endpoint(guard.resource)
        routes.append(Route(resource.metadata_path, endpoint=endpoint, methods=["GET", "OPTIONS"]))
    return app


class _Guard(_asgi.Guard):
    """The MCP SDK's side of jwtgate's middleware: the verifier and the checks of the SDK's
    bearer backend (``validate_token_resource``), the endpoint the SDK protects, the resource of
    ``AuthSettings``."""

    def __init__(self, backend: BearerAuthBackend, auth: Any) -> None:
        self.backend = backend
        self.verifier: TokenVerifier = backend.token_verifier  # type: ignore[assignment]
        self.auth = auth
        self.mcp_path: Optional[str] = None
        self._resource: Optional[jwtgate.ProtectedResource] = None
        self._resource_built = False

    async def authenticate(self, request: _asgi.HttpRequest) -> _asgi.Outcome:
        token = request.token()
        if token is None:
            return _asgi.Outcome()
        with _asgi.attempting(request, token) as attempt:
            access = await self.verifier.verify_token(token)
        if access is None or attempt.final is not None:
            return _asgi.Outcome.of(attempt, access)
        check = getattr(self.backend, "_issued_for_this_resource", None)
        if self.backend.resource_server_url and check is not None and not check(access.resource):
            # validate_token_resource: the SDK's own comparison; the SDK answers the refusal.
            logger.warning("jwtgate.mcp: token resource %r is not resource_server_url %s",
                           access.resource, self.backend.resource_server_url)
            return _asgi.Outcome()
        return _asgi.Outcome.of(attempt, access)

    def protects(self, scope: Any) -> bool:
        return _asgi.same_path(scope, self.mcp_path)

    def origin(self) -> Optional[str]:
        return _asgi.origin_of(self.auth.resource_server_url)

    def resource(self, verifier: Any = None) -> Optional[jwtgate.ProtectedResource]:
        # One verifier: its resource answers every refusal.
        if not self._resource_built:
            self._resource_built = True
            url = self.auth.resource_server_url
            if url is not None:
                issuer = str(self.auth.issuer_url)
                # pydantic adds a slash to an issuer without a path; the configured issuer is
                # the identifier (RFC 8414 §2).
                if issuer.endswith("/") and issuer[:-1] in self.verifier.verifier.issuers:
                    issuer = issuer[:-1]
                try:
                    # The verifier's resource: its DPoP settings are advertised too.
                    self._resource = self.verifier.verifier.protected_resource(
                        str(url), [issuer], list(self.auth.required_scopes or [])
                    )
                except jwtgate.ConfigError as e:
                    logger.warning("jwtgate.mcp: no RFC 9728 metadata and no jwtgate challenges "
                                   "for %s: %s", url, e.message)
        return self._resource

    def required_scopes(self) -> list[str]:
        scopes = list(self.auth.required_scopes or [])
        return scopes + [s for s in self.verifier.verifier.required_scopes if s not in scopes]

    def framework_scopes(self) -> list[str]:
        return list(self.auth.required_scopes or [])

    def hand_on(self, verifier: Any, error: jwtgate.InsufficientScope, token: str) -> Any:
        if isinstance(verifier, TokenVerifier) and error.claims is not None:
            return verifier._access_token(token, error.claims)
        return None
