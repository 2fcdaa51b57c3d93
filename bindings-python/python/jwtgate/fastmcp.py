"""jwtgate for FastMCP: a drop-in ``JWTVerifier``.

Replace ``from fastmcp.server.auth.providers.jwt import JWTVerifier`` with::

    from jwtgate.fastmcp import JWTVerifier

    auth = JWTVerifier(issuer="https://auth.example.com", audience="https://mcp.example.com/mcp")
    mcp = FastMCP("my server", auth=auth)

It accepts FastMCP ``JWTVerifier``'s keyword arguments (``public_key``, ``jwks_uri``, ``issuer``,
``audience``, ``algorithm``, ``required_scopes``, ``base_url``, ``jwks_refresh_interval``, …) and
jwtgate's (``algorithms``, ``leeway``, ``typ``, ``require_claims``, ``static_tokens``, ``jwks``,
``cache_size``, …), and returns FastMCP's ``AccessToken``. Differences, all on the safe side:

* Keys: without ``public_key``, ``jwks`` or ``jwks_uri``, keys are discovered from ``issuer``
  (OIDC discovery, then RFC 8414). They are parsed once and refreshed in the background.
* Claims: ``exp`` is required; ``nbf`` and ``iat`` are checked; ``leeway`` applies to all three.
  ``issuer`` is required. ``audience=None`` disables the audience check as FastMCP does, with a
  warning logged once.
* Algorithms: ``algorithm`` (one) or ``algorithms`` (several); without either, every asymmetric
  algorithm is allowed (each key verifies only its own family, so this enables no confusion).
* Scopes: used directly as ``FastMCP(auth=...)``, a token lacking a required scope is handed to
  FastMCP, which answers 403 ``insufficient_scope``; in any other composition (``MultiAuth``,
  ``RemoteAuthProvider``, direct calls) ``verify_token`` returns ``None`` (401) for it.
* ``AccessToken.resource`` is the configured audience the token's ``aud`` matched
  (``Claims.audience_matched``; for a static token its configured ``audience``), None when the
  audience check is off; ``client_id`` is ``client_id``, else ``azp``, else ``sub`` (the core's
  rule), ``""`` for a token naming none.
* Invalid tokens return ``None``; the reason is logged at debug level on the
  ``jwtgate.fastmcp`` logger with its code (``token_expired``, ``audience_mismatch``, …).
* ``verify_token`` never blocks the event loop: it verifies inline when the keys are known and
  waits for a key fetch in a worker thread.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Sequence

from fastmcp.server.auth import AccessToken, TokenVerifier
from fastmcp.utilities.auth import parse_scopes
from pydantic import AnyHttpUrl, BaseModel

import jwtgate
from jwtgate._aio import run_in_thread

__all__ = ["JWTVerifier"]

logger = logging.getLogger("jwtgate.fastmcp")


def _access_token_factory() -> Callable[..., AccessToken]:
    """A constructor for FastMCP's ``AccessToken`` from values already of the declared types.

    pydantic's validation pass (or ``model_construct``, slower still) costs more than a cached
    verification; the values come from the verifier with the exact types (str, list[str], int,
    dict from JSON), so the model is assembled the way ``model_construct`` finally does it. Falls
    back to validation if the model ever gains private attributes, extras or a post-init hook.
    """
    plain = (
        not AccessToken.__private_attributes__
        and AccessToken.model_config.get("extra") in (None, "ignore")
        and AccessToken.model_post_init is BaseModel.model_post_init
    )
    if not plain:
        return lambda **values: AccessToken(**values)
    new = AccessToken.__new__
    setattr_ = object.__setattr__
    ours = ("token", "client_id", "scopes", "expires_at", "resource", "subject", "claims")
    others = {name: f for name, f in AccessToken.model_fields.items() if name not in ours}
    if any(f.default_factory is not None or f.is_required() for f in others.values()):
        return lambda **values: AccessToken(**values)
    defaults = {name: f.get_default() for name, f in others.items()}
    fields_set = frozenset(ours)

    def build(
        *,
        token: str,
        client_id: str,
        scopes: list[str],
        expires_at: int | None,
        resource: str | None,
        subject: str | None,
        claims: dict[str, Any],
    ) -> AccessToken:
        access = new(AccessToken)
        setattr_(access, "__dict__", {
            "token": token, "client_id": client_id, "scopes": scopes, "expires_at": expires_at,
            "resource": resource, "subject": subject, "claims": claims, **defaults,
        })
        setattr_(access, "__pydantic_fields_set__", set(fields_set))
        setattr_(access, "__pydantic_extra__", None)
        setattr_(access, "__pydantic_private__", None)
        return access

    return build


_new_access_token = _access_token_factory()


class JWTVerifier(TokenVerifier):
    """FastMCP ``TokenVerifier`` backed by :class:`jwtgate.Verifier`."""

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
        leeway: float = 0,
        typ: str | None = None,
        require_claims: Sequence[str] | None = None,
        static_tokens: Mapping[str, Any] | None = None,
        cache_size: int | None = None,
        fetch_timeout: float | None = None,
        max_stale: float | None = None,
        allow_insecure_http: bool = False,
        verifier: jwtgate.Verifier | None = None,
    ) -> None:
        """Builds the verifier; raises :class:`jwtgate.ConfigError` (a ``ValueError``) naming
        what is wrong or missing. ``verifier`` uses an existing :class:`jwtgate.Verifier` (for
        example from :meth:`jwtgate.Verifier.from_env`) instead of the key and claim options."""
        scopes = parse_scopes(required_scopes) or []
        super().__init__(
            base_url=base_url,
            resource_base_url=resource_base_url,
            required_scopes=scopes,
        )
        if verifier is not None:
            given = {
                "public_key": public_key, "jwks_uri": jwks_uri, "issuer": issuer,
                "audience": audience, "algorithm": algorithm, "algorithms": algorithms,
                "jwks": jwks, "leeway": leeway or None, "typ": typ,
                "require_claims": require_claims, "static_tokens": static_tokens,
                "cache_size": cache_size, "fetch_timeout": fetch_timeout, "max_stale": max_stale,
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

        self.issuer = issuer
        self.audience = audience
        self.jwks_uri = jwks_uri
        self.public_key = public_key
        self.algorithm = algorithm
        if verifier is None:
            verifier = jwtgate.Verifier(
                issuer=issuer,
                audience=audience,
                insecure_skip_audience_check=audience is None,
                jwks_uri=jwks_uri,
                jwks=jwks,
                public_key=public_key,
                hmac_secret=hmac_secret,
                algorithms=algorithms,
                required_scopes=scopes,
                leeway=leeway,
                typ=typ,
                require_claims=require_claims,
                static_tokens=static_tokens,
                cache_size=cache_size,
                fetch_timeout=fetch_timeout,
                max_stale=max_stale,
                refresh_cooldown=jwks_refresh_interval,
                allow_insecure_http=allow_insecure_http,
            )
        self.verifier = verifier
        # Conversions of recently verified tokens: MCP clients send the same token on every
        # request, and building FastMCP's AccessToken costs more than the cached verification.
        # Used only after the core has verified the token in the same call; the AccessToken is
        # a pure function of the token's bytes and this configuration.
        self._converted: dict[str, AccessToken] = {}
        self._converted_max = 1024 if cache_size is None else cache_size

    @classmethod
    def from_env(cls, prefix: str = "MCP_", **options: Any) -> JWTVerifier:
        """A verifier configured by ``{prefix}OAUTH_ISSUER``, ``{prefix}OIDC_AUDIENCE``, … (see
        :meth:`jwtgate.Verifier.from_env`; the prefix must not be empty); ``options`` are FastMCP
        arguments such as ``base_url`` or ``required_scopes`` (the latter also shown in
        FastMCP's challenges)."""
        scopes = parse_scopes(options.get("required_scopes")) or []
        verifier = jwtgate.Verifier.from_env(prefix, required_scopes=scopes)
        return cls(verifier=verifier, **options)

    async def verify_token(self, token: str) -> AccessToken | None:
        """Verifies a bearer token: FastMCP's ``AccessToken`` when valid, ``None`` otherwise."""
        verifier = self.verifier
        try:
            claims = verifier.verify_nonblocking(token)
            if claims is None:
                claims = await run_in_thread(verifier.verify, token)
        except jwtgate.InvalidToken as e:
            return self._rejected(token, e, scopes_checked_by_caller=False)
        return self._converted_token(token, claims)

    async def _verify_scopes_checked_by_caller(self, token: str) -> AccessToken | None:
        verifier = self.verifier
        try:
            claims = verifier.verify_nonblocking(token)
            if claims is None:
                claims = await run_in_thread(verifier.verify, token)
        except jwtgate.InvalidToken as e:
            return self._rejected(token, e, scopes_checked_by_caller=True)
        return self._converted_token(token, claims)

    def _rejected(
        self, token: str, error: jwtgate.InvalidToken, *, scopes_checked_by_caller: bool
    ) -> AccessToken | None:
        if (
            scopes_checked_by_caller
            and isinstance(error, jwtgate.InsufficientScope)
            and error.claims is not None
            and self._fastmcp_refuses(error)
        ):
            # FastMCP's RequireAuthMiddleware finds the same scopes missing and answers 403.
            return self._access_token(token, error.claims)
        logger.debug("jwtgate: bearer token rejected (%s): %s", error.code, error.message)
        return None

    def _fastmcp_refuses(self, error: jwtgate.InsufficientScope) -> bool:
        """Whether FastMCP's own check refuses the credential too: every scope the core found
        missing is one of FastMCP's ``required_scopes``. (The core may require more, for example
        from ``{prefix}OIDC_REQUIRED_SCOPES``; such a credential must not be handed on.)"""
        missing = (error.detail or {}).get("missing_scopes", [])
        return bool(missing) and set(missing) <= set(self.required_scopes or [])

    def _converted_token(self, token: str, claims: jwtgate.Claims) -> AccessToken:
        converted = self._converted.get(token)
        if converted is None:
            access = self._access_token(token, claims)
            if self._converted_max:
                if len(self._converted) >= self._converted_max:
                    self._converted.clear()
                self._converted[token] = access.model_copy(update={"claims": dict(access.claims)})
            return access
        # A copy per request, with its own claims dict (FastMCP's OAuthProxy adds to it).
        return converted.model_copy(update={"claims": dict(converted.claims)})

    def _access_token(self, token: str, claims: jwtgate.Claims) -> AccessToken:
        return _new_access_token(
            token=token,
            client_id=claims.client_id or "",  # None only for a JWT naming no client: "" here
            scopes=claims.scopes,
            expires_at=claims.exp,
            resource=claims.audience_matched,
            subject=claims.sub,
            claims=claims.to_dict(),
        )

    def get_middleware(self) -> list[Any]:
        """FastMCP's middleware, with one change: FastMCP calls this only on the server's own
        ``auth`` provider, whose ``required_scopes`` its ``RequireAuthMiddleware`` enforces; so
        here a token lacking only some of those scopes (the core's ``missing_scopes``) is passed
        on, and FastMCP answers 403 ``insufficient_scope`` with its challenge instead of 401."""
        middleware = super().get_middleware()
        for item in middleware:
            backend = getattr(item, "kwargs", {}).get("backend")
            if backend is not None and getattr(backend, "token_verifier", None) is self:
                backend.token_verifier = _ScopesCheckedByFastMCP(self)
        return middleware

    def __repr__(self) -> str:
        return f"jwtgate.fastmcp.JWTVerifier({self.verifier!r})"


class _ScopesCheckedByFastMCP:
    """The verifier as seen by FastMCP's bearer backend when FastMCP checks the scopes."""

    def __init__(self, owner: JWTVerifier) -> None:
        self._owner = owner

    async def verify_token(self, token: str) -> AccessToken | None:
        return await self._owner._verify_scopes_checked_by_caller(token)
