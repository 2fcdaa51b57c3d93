"""An MCP Python SDK server (``MCPServer`` of mcp 2.x, ``FastMCP`` of mcp 1.x) over streamable
HTTP on 127.0.0.1, protected by jwtgate, for the tests and the MCP conformance suite
(tests/mcp-conformance/check.mjs).

    python mcp_sdk_server.py --issuer http://127.0.0.1:PORT --scopes "tools:call"

Tool: ``whoami`` (the access token as the server saw it). Prints one line of JSON once
listening: {"url", "resource", "port", "mcp"}.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mcp.server.auth.middleware.auth_context import get_access_token  # noqa: E402
from mcp.server.auth.settings import AuthSettings  # noqa: E402

from jwtgate.mcp import TokenVerifier, streamable_http_app  # noqa: E402
from _serve import arguments, dpop_options, scope_implies, serve, static_tokens  # noqa: E402

try:  # mcp 2.x
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    scopes = args.scopes.split()

    def build(base: str, resource: str) -> Any:
        verifier = TokenVerifier(issuer=args.issuer, audience=resource,
                                 scope_implies=scope_implies(args.scope_implies) or None,
                                 static_tokens=static_tokens(args.static_token, resource, scopes),
                                 **dpop_options(args))
        auth = AuthSettings(issuer_url=args.issuer, resource_server_url=resource,
                            required_scopes=scopes, validate_token_resource=True)
        if Server.__name__ == "MCPServer":
            server = Server("jwtgate-mcp-sdk", token_verifier=verifier, auth=auth)
            path = {"streamable_http_path": args.path}
        else:
            server = Server("jwtgate-mcp-sdk", token_verifier=verifier, auth=auth,
                            streamable_http_path=args.path)
            path = {}

        @server.tool()
        def whoami() -> dict:
            """The caller's access token as the server saw it."""
            token = get_access_token()
            assert token is not None
            return {
                "client_id": token.client_id,
                "scopes": token.scopes,
                "resource": token.resource,
                "subject": getattr(token, "subject", None),
                "claims": getattr(token, "claims", None),
            }

        return streamable_http_app(server, **path)

    serve(args, build, {"mcp": version("mcp")})


if __name__ == "__main__":
    main()
