"""Shared start-up of the test servers: a loopback socket, the app built for its URL, uvicorn,
one line of JSON on stdout once listening, and exit when stdin closes (``--exit-on-stdin-eof``)
or on SIGINT / SIGTERM."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from typing import Any, Callable


def arguments(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """The options every test server takes (each also from an environment variable)."""
    env = os.environ.get
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--issuer", default=env("ISSUER"), help="the identity provider's issuer (keys by discovery)")
    parser.add_argument("--resource", default=env("RESOURCE"),
                        help="the resource identifier, the tokens' audience (default: the server's MCP URL)")
    parser.add_argument("--scopes", default=env("SCOPES", "tools:call"),
                        help="space-separated scopes every request needs")
    parser.add_argument("--port", type=int, default=int(env("PORT", "0")), help="port on 127.0.0.1 (0: any)")
    parser.add_argument("--path", default=env("MCP_PATH", "/mcp"), help="the MCP endpoint's path")
    parser.add_argument("--scope-implies", default=env("SCOPE_IMPLIES", ""),
                        help='scope hierarchy, e.g. "admin=*,files:write=files:read"')
    parser.add_argument("--static-token", default=env("STATIC_TOKEN"),
                        help="an API key accepted next to JWTs, as secret:client_id (audience: the resource)")
    parser.add_argument("--dpop", default=env("DPOP", "allowed"), choices=["off", "allowed", "required"],
                        help="DPoP mode (RFC 9449; default allowed, jwtgate's default)")
    parser.add_argument("--dpop-nonce", action="store_true", default=env("DPOP_NONCE") == "1",
                        help="require server-issued DPoP nonces")
    parser.add_argument("--exit-on-stdin-eof", action="store_true", default=env("EXIT_ON_STDIN_EOF") == "1")
    parser.add_argument("--log-level", default=env("LOG_LEVEL", "warning"))
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    if not args.issuer:
        parser.error("--issuer (or ISSUER) is required")
    return args


def dpop_options(args: argparse.Namespace) -> dict[str, Any]:
    """The verifier options of --dpop and --dpop-nonce."""
    return {"dpop": args.dpop, "dpop_nonce": args.dpop_nonce}


def scope_implies(text: str) -> dict[str, list[str]]:
    implies: dict[str, list[str]] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        broader, _, narrower = pair.partition("=")
        implies.setdefault(broader.strip(), []).append(narrower.strip())
    return implies


def static_tokens(text: str | None, resource: str, scopes: list[str]) -> dict[str, Any] | None:
    if not text:
        return None
    secret, _, client_id = text.partition(":")
    return {secret: {"client_id": client_id or "api-key", "scopes": scopes, "audience": resource}}


def serve(args: argparse.Namespace, build: Callable[[str, str], Any], info: dict[str, Any] | None = None) -> None:
    """Builds the app with ``build(base_url, resource)`` and serves it until told to stop."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    url = f"{base}{args.path}"
    resource = args.resource or url
    app = build(base, resource)
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, lifespan="on",
                                           timeout_graceful_shutdown=2))

    def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.02)
        print(json.dumps({"url": url, "resource": resource, "port": port, **(info or {})}), flush=True)

    threading.Thread(target=announce, daemon=True).start()
    if args.exit_on_stdin_eof:
        def watch() -> None:
            sys.stdin.read()
            server.should_exit = True

        threading.Thread(target=watch, daemon=True).start()
    server.run(sockets=[sock])
