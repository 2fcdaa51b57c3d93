"""jwtgate for the MCP Python SDK: a ``TokenVerifier`` for ``MCPServer`` (mcp 2.x) and
``FastMCP`` (mcp 1.x)::

    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer
    from jwtgate.mcp import TokenVerifier

    server = MCPServer(
        "my server",
        token_verifier=TokenVerifier(issuer="https://auth.example.com",
                                     audience="https://mcp.example.com/mcp"),
        auth=AuthSettings(
            issuer_url="https://auth.example.com",
            resource_server_url="https://mcp.example.com/mcp",
            required_scopes=["tools:call"],     # the SDK answers 403 insufficient_scope
            validate_token_resource=True,       # works: AccessToken.resource is filled
        ),
    )

Options are :class:`jwtgate.Verifier`'s. ``AccessToken.resource`` is the configured audience the
token's ``aud`` matched (``Claims.audience_matched``; for a static token its configured
``audience``), which is what ``validate_token_resource`` compares. Put scopes that should produce 403 in ``AuthSettings``; scopes
given here make tokens without them invalid (401). Invalid tokens return ``None``; the reason is
logged at debug level on the ``jwtgate.mcp`` logger with its code. ``verify_token`` never blocks
the event loop.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.auth.provider import AccessToken

import jwtgate
from jwtgate._aio import run_in_thread

__all__ = ["TokenVerifier"]

logger = logging.getLogger("jwtgate.mcp")

# mcp 1.x's AccessToken has fewer fields (no subject/claims; resource since 1.10).
_FIELDS = frozenset(getattr(AccessToken, "model_fields", {}))


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
            verifier = jwtgate.Verifier(**options)
        self.verifier = verifier

    @classmethod
    def from_env(cls, prefix: str = "MCP_", **options: Any) -> TokenVerifier:
        """A verifier configured by ``{prefix}OAUTH_ISSUER``, ``{prefix}OIDC_AUDIENCE``, … (see
        :meth:`jwtgate.Verifier.from_env`; the prefix must not be empty)."""
        return cls(verifier=jwtgate.Verifier.from_env(prefix, **options))

    async def verify_token(self, token: str) -> AccessToken | None:
        """Verifies a bearer token: an ``AccessToken`` when valid, ``None`` otherwise."""
        verifier = self.verifier
        try:
            claims = verifier.verify_nonblocking(token)
            if claims is None:
                claims = await run_in_thread(verifier.verify, token)
        except jwtgate.InvalidToken as e:
            logger.debug("jwtgate: bearer token rejected (%s): %s", e.code, e.message)
            return None
        fields: dict[str, Any] = {
            "token": token,
            "client_id": claims.client_id or "",  # None only for a JWT naming no client
            "scopes": claims.scopes,
            "expires_at": claims.exp,
            "resource": claims.audience_matched,
            "subject": claims.sub,
            "claims": claims.to_dict(),
        }
        return AccessToken(**{k: v for k, v in fields.items() if k in _FIELDS})

    def __repr__(self) -> str:
        return f"jwtgate.mcp.TokenVerifier({self.verifier!r})"
