"""A FastMCP server over streamable HTTP on 127.0.0.1, protected by jwtgate, for the tests and
the MCP conformance suite (tests/mcp-conformance/check.mjs). Runs with FastMCP 2.x, 3.x or 4.x.

    python fastmcp_server.py --issuer http://127.0.0.1:PORT --scopes "tools:call" [--auth KIND]

KIND (how the server's ``auth`` is built, each the recipe in bindings-python/README.md):
  jwt     jwtgate.fastmcp.JWTVerifier as the server's auth, base_url set (default)
  remote  jwtgate.fastmcp.RemoteAuthProvider around a JWTVerifier
  multi   jwtgate.fastmcp.MultiAuth of two JWTVerifiers: --issuer and --second-issuer (FastMCP >= 3.1)
  authkit protect(AuthKitProvider(authkit_domain=--issuer, token_verifier=JWTVerifier(...)))

Tools: ``whoami`` (the access token as the server saw it); with FastMCP 3 and later also
``admin_only``, guarded by FastMCP's per-component ``require_scopes("admin")``.
Prints one line of JSON once listening: {"url", "resource", "port", "fastmcp"}.
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastmcp  # noqa: E402
from fastmcp import FastMCP  # noqa: E402
from fastmcp.server.dependencies import get_access_token  # noqa: E402
from pydantic import AnyHttpUrl  # noqa: E402

import jwtgate.fastmcp as jf  # noqa: E402
from _serve import arguments, dpop_options, scope_implies, serve, static_tokens  # noqa: E402


def options(parser: Any) -> None:
    parser.add_argument("--auth", default=os.environ.get("AUTH", "jwt"),
                        choices=["jwt", "remote", "multi", "authkit"])
    parser.add_argument("--second-issuer", default=os.environ.get("SECOND_ISSUER"),
                        help="the second verifier's issuer for --auth multi")


def server(auth: Any) -> FastMCP:
    mcp = FastMCP("jwtgate-fastmcp", auth=auth)

    @mcp.tool
    def whoami() -> dict:
        """The caller's access token as the server saw it."""
        token = get_access_token()
        assert token is not None
        return {
            "client_id": token.client_id,
            "scopes": token.scopes,
            "expires_at": token.expires_at,
            "resource": token.resource,
            "subject": getattr(token, "subject", None),
            "claims": token.claims,
        }

    try:
        from fastmcp.server.auth import require_scopes
    except ImportError:  # FastMCP 2.x: no per-component authorization
        return mcp

    @mcp.tool(auth=require_scopes("admin"))
    def admin_only() -> str:
        """Needs the admin scope (FastMCP's per-component check)."""
        return "admin"

    return mcp


def main() -> None:
    args = arguments(__doc__.splitlines()[0], options)
    scopes = args.scopes.split()

    def verifier(issuer: str, resource: str, **extra: Any) -> jf.JWTVerifier:
        return jf.JWTVerifier(issuer=issuer, audience=resource, required_scopes=scopes,
                              scope_implies=scope_implies(args.scope_implies) or None,
                              static_tokens=static_tokens(args.static_token, resource, scopes),
                              **dpop_options(args), **extra)

    def build(base: str, resource: str) -> Any:
        if args.auth == "jwt":
            auth: Any = verifier(args.issuer, resource, base_url=base)
        elif args.auth == "remote":
            auth = jf.RemoteAuthProvider(token_verifier=verifier(args.issuer, resource),
                                         authorization_servers=[AnyHttpUrl(args.issuer)], base_url=base)
        elif args.auth == "multi":
            if not args.second_issuer:
                raise SystemExit("--auth multi needs --second-issuer")
            auth = jf.MultiAuth(verifiers=[verifier(args.issuer, resource),
                                           verifier(args.second_issuer, resource)],
                                base_url=base, required_scopes=scopes)
        else:
            from fastmcp.server.auth.providers.workos import AuthKitProvider

            auth = jf.protect(AuthKitProvider(authkit_domain=args.issuer, base_url=base,
                                              token_verifier=verifier(args.issuer, resource)))
        return server(auth).http_app(path=args.path, transport="http")

    serve(args, build, {"fastmcp": fastmcp.__version__, "auth": args.auth})


if __name__ == "__main__":
    main()
