"""A real FastMCP server over streamable HTTP on 127.0.0.1, protected by
`jwtgate.fastmcp.JWTVerifier` with discovery against the real oidc-provider IdP, called by a real
`fastmcp.Client` with tokens fetched from the IdP."""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

import pytest
from fastmcp import Client, FastMCP
import fastmcp
from fastmcp.server.auth import RemoteAuthProvider
from fastmcp.server.auth.providers.jwt import StaticTokenVerifier
from fastmcp.server.dependencies import get_access_token
from pydantic import AnyHttpUrl

import jwtgate
from jwtgate.fastmcp import JWTVerifier

from .conftest import RESOURCE, Idp, client_visible, leaking_configurations, post_initialize, serve

ALGS = ["RS256", "PS256", "ES256", "EdDSA"]
STATIC = "static-api-key-0123456789"


def server(auth: Any) -> FastMCP:
    mcp = FastMCP("jwtgate-test", auth=auth)

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
            "subject": token.subject,
            "claims": token.claims,
        }

    return mcp


def app(auth: Any):
    return lambda base: server(auth).http_app(path="/mcp", transport="http")


def verifier(idp: Idp, **options: Any) -> JWTVerifier:
    options.setdefault("audience", RESOURCE)
    return JWTVerifier(issuer=idp.issuer, **options)


async def call_whoami(url: str, token: str) -> dict:
    async with Client(url, auth=token) as client:
        result = await client.call_tool("whoami", {})
    data = result.structured_content
    assert isinstance(data, dict)
    return data.get("result", data)


@pytest.fixture(scope="module")
def main_server(idp: Idp):
    """Discovery from the issuer, every IdP algorithm, a required scope, `typ: at+jwt`, and a
    static API key next to JWTs (multi-auth inside one verifier)."""
    auth = verifier(
        idp,
        algorithms=ALGS,
        required_scopes=["tools:call"],
        typ="at+jwt",
        static_tokens={STATIC: {"client_id": "ci-bot", "scopes": ["tools:call"]}},
    )
    with serve(app(auth)) as base:
        yield f"{base}/mcp"


@pytest.mark.parametrize("alg", ALGS)
async def test_idp_token_reaches_the_tool(idp: Idp, main_server: str, alg: str) -> None:
    token = idp.token(alg)
    seen = await call_whoami(main_server, token)
    assert seen["client_id"] == f"client-{alg.lower()}"
    assert seen["scopes"] == ["tools:call", "read"]
    assert seen["resource"] == RESOURCE
    assert seen["subject"] == f"client-{alg.lower()}"
    claims = seen["claims"]
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == RESOURCE
    assert claims["client_id"] == f"client-{alg.lower()}"
    assert seen["expires_at"] == claims["exp"]


def test_no_token_is_401_with_a_challenge(main_server: str) -> None:
    response = post_initialize(main_server, None)
    assert response.status == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_garbage_is_401_with_invalid_token(main_server: str, caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="jwtgate.fastmcp"):
        response = post_initialize(main_server, "not-a-token")
    assert response.status == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert any("(token_unknown)" in r.getMessage() for r in caplog.records), caplog.text


def test_missing_scope_is_403(idp: Idp, main_server: str, caplog) -> None:
    token = idp.token("ES256", scope="read")
    response = post_initialize(main_server, token)
    assert response.status == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert json.loads(response.body)["error"] == "insufficient_scope"


def test_scopes_fastmcp_does_not_check_are_401_not_handed_on(idp: Idp) -> None:
    """The core may require more scopes than FastMCP's own check (a `verifier=`, or
    `{prefix}OIDC_REQUIRED_SCOPES` with `from_env`): a token lacking one of those extra scopes is
    refused here (401), never passed to FastMCP, which would not refuse it. A token lacking only
    scopes FastMCP checks is passed on, and FastMCP answers 403."""
    core = jwtgate.Verifier(issuer=idp.issuer, audience=RESOURCE, required_scopes=["tools:call", "read"])
    auth = JWTVerifier(verifier=core, required_scopes=["tools:call"])
    with serve(app(auth)) as base:
        url = f"{base}/mcp"
        assert post_initialize(url, idp.token("ES256", scope="tools:call read")).status == 200
        assert post_initialize(url, idp.token("ES256", scope="tools:call")).status == 401
        assert post_initialize(url, idp.token("ES256", scope="read")).status == 403


def test_scopes_required_by_the_environment_are_enforced(idp: Idp, monkeypatch) -> None:
    """`{prefix}OIDC_REQUIRED_SCOPES` is read by the core; FastMCP does not know those scopes,
    so a token lacking one is refused here."""
    monkeypatch.setenv("SCOPED_OAUTH_ISSUER", idp.issuer)
    monkeypatch.setenv("SCOPED_OIDC_AUDIENCE", RESOURCE)
    monkeypatch.setenv("SCOPED_OIDC_REQUIRED_SCOPES", "read")
    auth = JWTVerifier.from_env("SCOPED_")
    with serve(app(auth)) as base:
        url = f"{base}/mcp"
        assert post_initialize(url, idp.token("RS256", scope="tools:call read")).status == 200
        assert post_initialize(url, idp.token("RS256", scope="tools:call")).status == 401


def test_static_api_key_is_200(main_server: str) -> None:
    assert post_initialize(main_server, STATIC).status == 200


async def test_static_api_key_reaches_the_tool(main_server: str) -> None:
    seen = await call_whoami(main_server, STATIC)
    assert seen["client_id"] == "ci-bot"
    assert seen["scopes"] == ["tools:call"]


def test_valid_token_initializes(idp: Idp, main_server: str) -> None:
    assert post_initialize(main_server, idp.token("EdDSA")).status == 200


def test_wrong_audience_is_401(idp: Idp, caplog) -> None:
    auth = verifier(idp, audience="https://elsewhere.test/")
    with serve(app(auth)) as base, caplog.at_level(logging.DEBUG, logger="jwtgate.fastmcp"):
        response = post_initialize(f"{base}/mcp", idp.token("RS256"))
    assert response.status == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    messages = [r.getMessage() for r in caplog.records if r.name == "jwtgate.fastmcp"]
    assert any("(audience_mismatch)" in m and "https://elsewhere.test/" in m for m in messages), messages


def test_expired_token_is_401(short_lived_idp: Idp) -> None:
    token = short_lived_idp.token("ES256")
    auth = verifier(short_lived_idp)
    with serve(app(auth)) as base:
        assert post_initialize(f"{base}/mcp", token).status == 200
        # Wait until the token's own exp has passed (read from its claims, not assumed).
        payload = token.split(".")[1]
        exp = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
        time.sleep(max(0.0, exp - time.time()) + 1.2)
        response = post_initialize(f"{base}/mcp", token)
    assert response.status == 401


MAJOR = int(fastmcp.__version__.split(".")[0])


@pytest.mark.skipif(MAJOR < 3, reason="MultiAuth arrived in FastMCP 3.1")
async def test_inside_multi_auth(idp: Idp) -> None:
    """jwtgate's verifier next to FastMCP's StaticTokenVerifier in FastMCP's own MultiAuth
    (named sources and client ids qualified with them since FastMCP 4)."""
    from fastmcp.server.auth import MultiAuth

    jwt = verifier(idp, required_scopes=["tools:call"])
    static = StaticTokenVerifier({"legacy-key": {"client_id": "legacy", "scopes": []}})
    auth = MultiAuth(verifiers={"jwt": jwt, "static": static} if MAJOR >= 4 else [jwt, static])
    with serve(app(auth)) as base:
        url = f"{base}/mcp"
        seen = await call_whoami(url, idp.token("PS256"))
        if MAJOR >= 4:
            assert json.loads(seen["client_id"])[0] == "jwt"
        else:
            assert seen["client_id"] == "client-ps256"
        seen = await call_whoami(url, "legacy-key")
        if MAJOR >= 4:
            assert json.loads(seen["client_id"])[0] == "static"
        else:
            assert seen["client_id"] == "legacy"
        # Inside MultiAuth nothing else checks the verifier's scopes: a token without them is 401.
        assert post_initialize(url, idp.token("PS256", scope="read")).status == 401
        assert post_initialize(url, "nope").status == 401


async def test_inside_remote_auth_provider(idp: Idp) -> None:
    """RemoteAuthProvider publishes RFC 9728 metadata pointing at the IdP."""

    def factory(base: str):
        auth = RemoteAuthProvider(
            token_verifier=verifier(idp),
            authorization_servers=[AnyHttpUrl(idp.issuer)],
            base_url=base,
        )
        return server(auth).http_app(path="/mcp", transport="http")

    with serve(factory) as base:
        url = f"{base}/mcp"
        response = post_initialize(url, None)
        assert response.status == 401
        assert "resource_metadata=" in response.headers["www-authenticate"]
        seen = await call_whoami(url, idp.token("RS256"))
        assert seen["claims"]["iss"] == idp.issuer


def test_rejections_do_not_leak_jwks_url_issuer_or_audience_to_clients(idp: Idp, caplog) -> None:
    """The 401 an unauthenticated client gets carries no core message: not the JWKS or
    discovery URL, not the expected issuer or audience, not a connection error. The reason,
    with its code, goes to the server's log."""
    token = idp.token("RS256")
    for codes, options, secrets in leaking_configurations(idp):
        auth = JWTVerifier(**options)
        with serve(app(auth)) as base, caplog.at_level(logging.DEBUG, logger="jwtgate.fastmcp"):
            caplog.clear()
            response = post_initialize(f"{base}/mcp", token)
        assert response.status == 401, (codes, response)
        visible = client_visible(response)
        assert 'error="invalid_token"' in visible
        for secret in secrets:
            assert secret not in visible, (codes, secret, visible)
        logged = [r.getMessage() for r in caplog.records if r.name == "jwtgate.fastmcp"]
        assert any(f"({code})" in m for m in logged for code in codes), (codes, logged)
