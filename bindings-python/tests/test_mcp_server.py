"""The same flow through the MCP Python SDK: a real server (`MCPServer` of mcp 2.x, `FastMCP` of
mcp 1.x) over streamable HTTP on 127.0.0.1 with `AuthSettings`, `jwtgate.mcp.TokenVerifier`
(discovery against the real IdP) and `jwtgate.mcp.streamable_http_app`, called by the SDK's own
client (ClientSession) with IdP tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import logging
import time
from typing import Any

import pytest
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.settings import AuthSettings

import jwtgate
from jwtgate.mcp import TokenVerifier, streamable_http_app

from .conftest import (
    RESOURCE,
    Idp,
    client_visible,
    leaking_configurations,
    lines,
    post_initialize,
    sdk_call_tool,
    serve,
    tool_data,
)

try:  # mcp 2.x
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server

pytestmark = pytest.mark.skipif("mcp" not in lines(), reason="the MCP SDK is not tested in this venv")

STATIC = "static-api-key-for-the-sdk"


def app(idp: Idp, *, validate_token_resource: bool = True, scopes: list[str] | None = None, **options: Any):
    options.setdefault("audience", RESOURCE)
    options.setdefault("issuer", idp.issuer)
    verifier = TokenVerifier(**options)

    def factory(base: str):
        server = Server(
            "jwtgate-sdk-test",
            token_verifier=verifier,
            auth=AuthSettings(
                issuer_url=idp.issuer,
                resource_server_url=RESOURCE,
                required_scopes=scopes if scopes is not None else ["tools:call"],
                validate_token_resource=validate_token_resource,
            ),
        )

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

        # The endpoint is /mcp by default in both lines.
        return streamable_http_app(server)

    return factory


def resource_of(idp: Idp) -> jwtgate.ProtectedResource:
    """The resource as the core describes it for the server's verifier (DPoP allowed: its
    algorithms advertised and a DPoP challenge next to the Bearer one)."""
    verifier = jwtgate.Verifier(issuer=idp.issuer, audience=RESOURCE)
    return verifier.protected_resource(RESOURCE, [idp.issuer], ["tools:call"])


@pytest.fixture(scope="module")
def sdk_server(idp: Idp):
    with serve(app(idp, typ="at+jwt")) as base:
        yield f"{base}/mcp"


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "PS256"])
async def test_idp_token_reaches_the_tool(idp: Idp, sdk_server: str, alg: str) -> None:
    seen = tool_data(await sdk_call_tool(sdk_server, idp.token(alg)))
    assert seen["client_id"] == f"client-{alg.lower()}"
    assert seen["resource"] == RESOURCE  # what validate_token_resource compares
    assert seen["scopes"] == ["tools:call", "read"]
    if seen["claims"] is not None:  # mcp 1.x's AccessToken has no claims
        assert seen["claims"]["iss"] == idp.issuer


def test_no_token_is_401_with_the_cores_challenge(sdk_server: str, idp: Idp) -> None:
    """Without a credential: 401 without `error` (RFC 6750 §3.1), with the metadata URL and the
    required scopes (the SDK alone answers `error="invalid_token"` and names no scope)."""
    response = post_initialize(sdk_server, None)
    assert response.status == 401
    expected = resource_of(idp).challenge(None, ["tools:call"])
    assert response.headers["www-authenticate"] == expected.www_authenticate


def test_metadata_is_the_cores_document(sdk_server: str, idp: Idp) -> None:
    from .conftest import get

    base = sdk_server.rsplit("/", 1)[0]
    response = get(f"{base}/.well-known/oauth-protected-resource")
    assert response.status == 200
    assert json.loads(response.body) == resource_of(idp).metadata()


def test_missing_scope_is_403(idp: Idp, sdk_server: str) -> None:
    response = post_initialize(sdk_server, idp.token("RS256", scope="read"))
    assert response.status == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert json.loads(response.body)["error"] == "insufficient_scope"


def test_wrong_audience_is_401(idp: Idp, caplog) -> None:
    with serve(app(idp, audience="https://elsewhere.test/")) as base, caplog.at_level(
        logging.DEBUG, logger="jwtgate.mcp"
    ):
        response = post_initialize(f"{base}/mcp", idp.token("ES256"))
    assert response.status == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert any("(audience_mismatch)" in r.getMessage() for r in caplog.records), caplog.text


def test_expired_token_is_401(short_lived_idp: Idp) -> None:
    token = short_lived_idp.token("EdDSA")
    with serve(app(short_lived_idp)) as base:
        assert post_initialize(f"{base}/mcp", token).status == 200
        # Wait until the token's own exp has passed (read from its claims, not assumed).
        payload = token.split(".")[1]
        exp = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
        time.sleep(max(0.0, exp - time.time()) + 1.2)
        assert post_initialize(f"{base}/mcp", token).status == 401


def test_static_api_key_is_200(idp: Idp) -> None:
    """Static tokens name no resource, so this server does not ask the SDK to compare it."""
    factory = app(
        idp,
        validate_token_resource=False,
        scopes=[],
        static_tokens={STATIC: "ci-bot"},
    )
    with serve(factory) as base:
        assert post_initialize(f"{base}/mcp", STATIC).status == 200
        assert post_initialize(f"{base}/mcp", idp.token("RS256")).status == 200
        assert post_initialize(f"{base}/mcp", "wrong-key").status == 401


def test_static_api_key_with_an_audience_passes_the_resource_check(idp: Idp) -> None:
    """A static token configured with the server's resource as its audience is accepted where
    the SDK compares the token's resource (RFC 8707), as an IdP token is."""
    factory = app(
        idp,
        validate_token_resource=True,
        scopes=["tools:call"],
        static_tokens={STATIC: {"client_id": "ci-bot", "scopes": ["tools:call"], "audience": RESOURCE}},
    )
    with serve(factory) as base:
        assert post_initialize(f"{base}/mcp", STATIC).status == 200
        assert post_initialize(f"{base}/mcp", idp.token("RS256")).status == 200


def test_rejections_do_not_leak_jwks_url_issuer_or_audience_to_clients(idp: Idp, caplog) -> None:
    """The 401 an unauthenticated client gets carries no core message: not the JWKS or
    discovery URL, not the expected issuer or audience, not a connection error. The reason,
    with its code, goes to the server's log."""
    token = idp.token("ES256")
    for codes, options, secrets in leaking_configurations(idp):
        with serve(app(idp, **options)) as base, caplog.at_level(logging.DEBUG, logger="jwtgate.mcp"):
            caplog.clear()
            response = post_initialize(f"{base}/mcp", token)
        # Keys that cannot be fetched are the server's problem: 503, without a challenge.
        unavailable = {"jwks_unavailable", "discovery_failed"} & set(codes)
        assert response.status == (503 if unavailable else 401), (codes, response)
        visible = client_visible(response)
        if not unavailable:
            assert 'error="invalid_token"' in visible
        for secret in secrets:
            assert secret not in visible, (codes, secret, visible)
        logged = [r.getMessage() for r in caplog.records if r.name == "jwtgate.mcp"]
        assert any(f"({code})" in m for m in logged for code in codes), (codes, logged)


def test_from_env_default_prefix_ignores_generic_api_key(monkeypatch) -> None:
    """An unrelated API_KEY in the environment never becomes a credential of the server."""
    for name in list(os.environ):
        if name.startswith("MCP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("API_KEY", "x")
    monkeypatch.setenv("MCP_API_KEY", "mcp-key")
    verifier = TokenVerifier.from_env()
    assert asyncio.run(verifier.verify_token("x")) is None
    access = asyncio.run(verifier.verify_token("mcp-key"))
    assert access is not None and access.client_id == "api-key"
    with pytest.raises(jwtgate.ConfigError) as e:
        TokenVerifier.from_env("")
    assert e.value.code == "config_invalid"
