"""Shared fixtures: the real test identity provider, a loopback HTTP server runner, raw requests.

Everything listens on 127.0.0.1 only, on random ports.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
IDP_DIR = REPO / "tests" / "idp"
SERVERS = Path(__file__).resolve().parent / "servers"
RESOURCE = "https://mcp.test/"
# The scopes the session IdP knows (it drops unknown ones from token requests).
IDP_SCOPES = "tools:call read admin"


def lines() -> set[str]:
    """The adapter lines this virtualenv tests: JWTGATE_TEST_LINES ("fastmcp mcp" by default;
    bindings-python/ci.sh runs the MCP SDK tests only in the venvs of mcp 2.x and 1.x)."""
    return set(os.environ.get("JWTGATE_TEST_LINES", "fastmcp mcp").split())


@dataclass
class Idp:
    """A running `tests/idp/server.mjs` (oidc-provider): one client per algorithm,
    `client-<alg>` / `secret-<alg>`, tokens for `resource` (their `aud`)."""

    issuer: str
    port: int
    kids: dict[str, str]
    process: subprocess.Popen = field(repr=False)

    def token_response(
        self, alg: str = "RS256", scope: str | None = "tools:call read", resource: str = RESOURCE,
        dpop_key: Any = None,
    ) -> dict[str, Any]:
        """The IdP's token response (client credentials, RFC 8707 `resource`); with `dpop_key`
        (a `jwtgate.testing.SigningKey`) a DPoP proof goes along and the token is bound to that
        key (RFC 9449 §5, `cnf.jkt`)."""
        alg = alg.lower()
        form = {"grant_type": "client_credentials", "resource": resource}
        if scope is not None:
            form["scope"] = scope
        basic = base64.b64encode(f"client-{alg}:secret-{alg}".encode()).decode()
        headers = {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        if dpop_key is not None:
            from jwtgate.testing import dpop_proof

            headers["DPoP"] = dpop_proof(dpop_key, "POST", f"{self.issuer}/token")
        request = urllib.request.Request(
            f"{self.issuer}/token", data=urllib.parse.urlencode(form).encode(), headers=headers
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def token(self, alg: str = "RS256", scope: str | None = "tools:call read", resource: str = RESOURCE) -> str:
        """An RFC 9068 access token (`typ: at+jwt`) signed with `alg`, `aud` = `resource`."""
        return self.token_response(alg, scope, resource)["access_token"]

    def form(self, path: str, form: dict[str, str], client: str, secret: str) -> tuple[int, bytes]:
        """POST `form` to `<issuer><path>` with HTTP Basic client authentication; the status and
        the body."""
        basic = base64.b64encode(f"{client}:{secret}".encode()).decode()
        request = urllib.request.Request(
            f"{self.issuer}{path}", data=urllib.parse.urlencode(form).encode(),
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def opaque_token(self, scope: str = "tools:call read", resource: str = RESOURCE) -> str:
        """An opaque access token (not a JWT) of client-opaque, for `resource`."""
        status, body = self.form("/token", {"grant_type": "client_credentials", "scope": scope,
                                            "resource": resource}, "client-opaque", "secret-opaque")
        assert status == 200, body
        token: str = json.loads(body)["access_token"]
        assert "." not in token, token
        return token

    def revoke(self, token: str) -> None:
        """Revokes a token at the provider (RFC 7009), as the resource-server client."""
        status, body = self.form("/token/revocation", {"token": token}, "resource-server", "secret-resource-server")
        assert status == 200, body

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """An admin endpoint of the IdP (`/__admin/<path>`, outside the issuer): POST `body` as
        JSON, or GET without one; the JSON answer."""
        origin = f"http://127.0.0.1:{self.port}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{origin}/__admin/{path}", data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read() or b"null")

    def dpop_token(self, key: Any, alg: str = "ES256", scope: str | None = "tools:call read",
                   resource: str = RESOURCE) -> str:
        """An access token bound to `key` (DPoP, `cnf.jkt`)."""
        response = self.token_response(alg, scope, resource, dpop_key=key)
        assert response["token_type"] == "DPoP", response
        return response["access_token"]


def _start_idp(**env: str) -> Idp:
    if not (IDP_DIR / "node_modules").is_dir():
        pytest.fail("run `npm ci --prefix tests/idp` first (bindings-python/ci.sh does)")
    node = os.environ.get("NODE") or shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20+ is needed for the test identity provider")
    process = subprocess.Popen(
        [node, "server.mjs"],
        cwd=IDP_DIR,
        env={**os.environ, "PORT": "0", "EXIT_ON_STDIN_EOF": "1", **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline() if process.stdout else ""
    if not line.strip():
        process.kill()
        pytest.fail("the test IdP did not start (no start-up line)")
    info = json.loads(line)
    return Idp(issuer=info["issuer"], port=info["port"], kids=info["kids"], process=process)


def _stop_idp(idp: Idp) -> None:
    with contextlib.suppress(Exception):
        if idp.process.stdin:
            idp.process.stdin.close()
    idp.process.terminate()
    try:
        idp.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        idp.process.kill()
        idp.process.wait()


@pytest.fixture(scope="session")
def idp() -> Iterator[Idp]:
    """The real IdP for the whole session (RS256, PS256, ES256, EdDSA clients)."""
    server = _start_idp(SCOPES=IDP_SCOPES)
    try:
        yield server
    finally:
        _stop_idp(server)


@pytest.fixture(scope="session")
def second_idp() -> Iterator[Idp]:
    """Another IdP (another issuer, other keys), for servers that trust two."""
    server = _start_idp(SCOPES=IDP_SCOPES, KEYS="ES256")
    try:
        yield server
    finally:
        _stop_idp(server)


@dataclass
class ServerProcess:
    """A running test server script (tests/servers/*.py) and what it printed."""

    url: str
    resource: str
    info: dict[str, Any]
    process: subprocess.Popen = field(repr=False)


@contextlib.contextmanager
def run_server(script: str, *args: str) -> Iterator[ServerProcess]:
    """Starts `tests/servers/<script>` with this interpreter; yields once it listens."""
    process = subprocess.Popen(
        [sys.executable, str(SERVERS / script), "--exit-on-stdin-eof", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline() if process.stdout else ""
    if not line.strip():
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"{script} {' '.join(args)} did not start:\n{err}")
    info = json.loads(line)
    try:
        yield ServerProcess(url=info["url"], resource=info["resource"], info=info, process=process)
    finally:
        with contextlib.suppress(Exception):
            if process.stdin:
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def short_lived_idp() -> Iterator[Idp]:
    """An IdP whose tokens live 6 seconds (for expiry through the real flow). Long enough for a
    first request to land inside the lifetime on a loaded CI machine; the test then waits for the
    token's own `exp` to pass."""
    server = _start_idp(TTL="6")
    try:
        yield server
    finally:
        _stop_idp(server)


@contextlib.contextmanager
def serve(app_factory: Callable[[str], Any]) -> Iterator[str]:
    """Runs the ASGI app `app_factory(base_url)` with uvicorn in a thread on 127.0.0.1 at a
    random port; yields the base URL (`http://127.0.0.1:PORT`)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = app_factory(f"http://127.0.0.1:{port}")
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "jwtgate-tests", "version": "1"},
    },
}


def post_initialize(url: str, token: str | None, *, authorization: str | None = None,
                    dpop: str | None = None, api_key: str | None = None) -> Response:
    """A raw MCP `initialize` POST with `Authorization: Bearer <token>` (none if None), or the
    given `authorization` header value, a `DPoP` proof header and an `X-API-Key` header when
    given."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    if dpop is not None:
        headers["DPoP"] = dpop
    if api_key is not None:
        headers["X-API-Key"] = api_key
    request = urllib.request.Request(url, data=json.dumps(INITIALIZE).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Response(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


def get(url: str) -> Response:
    """A plain GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return Response(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_visible(response: Response) -> str:
    """What an unauthenticated client learns from a rejection: the challenge and the body."""
    return response.headers.get("www-authenticate", "") + "\n" + response.body.decode("utf-8", "replace")


def leaking_configurations(idp: Idp) -> list[tuple[tuple[str, ...], dict[str, Any], list[str]]]:
    """Verifier configurations whose core messages name internal detail, each with the strings
    that must stay on the server: (expected codes, options, secrets).

    * the IdP's token for another audience: the message names the expected audience;
    * for another issuer (keys from the IdP's JWKS): the expected issuer and the JWKS URL;
    * keys at an unreachable JWKS URL: the URL and the connection error;
    * discovery from an unreachable issuer: the issuer and its discovery URL.
    """
    closed = f"http://127.0.0.1:{unused_port()}"
    return [
        (("audience_mismatch",), {"issuer": idp.issuer, "audience": "https://expected-audience.test/"},
         ["https://expected-audience.test/", "expected-audience"]),
        (("issuer_mismatch",), {"issuer": "https://expected-issuer.test", "audience": RESOURCE,
                             "jwks_uri": f"{idp.issuer}/jwks"},
         ["https://expected-issuer.test", "expected-issuer", f"{idp.issuer}/jwks"]),
        (("jwks_unavailable",), {"issuer": "https://expected-issuer.test", "audience": RESOURCE,
                              "jwks_uri": f"{closed}/private-jwks-path", "fetch_timeout": 1},
         [f"{closed}/private-jwks-path", "private-jwks-path", "expected-issuer", "refused"]),
        # Until discovery has answered, a verification is `jwks_unavailable` naming the
        # discovery error; `discovery_failed` is what wait_ready reports.
        (("jwks_unavailable", "discovery_failed"), {"issuer": f"{closed}/private-realm", "audience": RESOURCE, "fetch_timeout": 1},
         [f"{closed}/private-realm", "private-realm", "openid-configuration", "refused"]),
    ]


async def sdk_call_tool(url: str, token: str | None, name: str = "whoami", *, authorization: str | None = None,
                        headers: dict[str, str] | None = None) -> Any:
    """Calls a tool with the MCP Python SDK's own client (ClientSession over streamable HTTP;
    mcp 1.x and 2.x) with `Authorization: Bearer <token>` (or the header value
    `authorization`; none when both are None) and any other `headers`; returns the tool's
    result."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    try:
        import httpx2 as httpx  # mcp 2.x
    except ImportError:
        import httpx  # type: ignore[no-redef]  # mcp 1.x

    sent = dict(headers or {})
    if authorization is not None or token is not None:
        sent["Authorization"] = authorization if authorization is not None else f"Bearer {token}"
    async with httpx.AsyncClient(headers=sent, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                return await session.call_tool(name, {})


def tool_data(result: Any) -> Any:
    """The structured value a tool returned (FastMCP and SDK results alike)."""
    data = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
    if data is None:
        data = json.loads(result.content[0].text)
    return data.get("result", data) if isinstance(data, dict) else data
