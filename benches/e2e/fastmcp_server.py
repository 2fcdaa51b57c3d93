"""The FastMCP server of benches/e2e/run: FastMCP (the main venv's, 4.x) over streamable HTTP,
stateless with JSON responses (every request independent, no session), one tool, `echo`.

    python fastmcp_server.py --port PORT --auth jwtgate|fastmcp|none \
        --issuer URL --jwks-uri URL --audience URL

--auth picks the server's ``auth``, configured the same way for both verifiers (the same JWKS
URL on loopback, ES256 only, the same issuer, audience and required scope):

  jwtgate  jwtgate.fastmcp.JWTVerifier (the drop-in replacement)
  fastmcp  FastMCP's own fastmcp.server.auth.providers.jwt.JWTVerifier
  none     no auth at all: the ceiling, what FastMCP itself costs per request
"""

from __future__ import annotations

import argparse
import logging

import uvicorn
from fastmcp import FastMCP

SCOPE = "tools:call"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth", choices=["jwtgate", "fastmcp", "none"], required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--jwks-uri", required=True)
    parser.add_argument("--audience", required=True)
    args = parser.parse_args()

    base = f"http://127.0.0.1:{args.port}"
    options = dict(jwks_uri=args.jwks_uri, issuer=args.issuer, audience=args.audience,
                   algorithm="ES256", required_scopes=[SCOPE], base_url=base)
    if args.auth == "jwtgate":
        from jwtgate.fastmcp import JWTVerifier

        auth = JWTVerifier(**options)
    elif args.auth == "fastmcp":
        from fastmcp.server.auth.providers.jwt import JWTVerifier as FastMCPJWTVerifier

        auth = FastMCPJWTVerifier(**options)
    else:
        auth = None

    mcp = FastMCP("e2e-bench", auth=auth)

    @mcp.tool
    def echo(text: str = "") -> str:
        """Returns its argument."""
        return text

    app = mcp.http_app(path="/mcp", transport="http", stateless_http=True, json_response=True)
    # FastMCP logs every refused token at info/warning level; a benchmark must not measure logging.
    logging.getLogger("fastmcp").setLevel(logging.ERROR)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
