"""Token introspection (RFC 7662) against the real identity provider: opaque access tokens of
`client-opaque`, introspected by this server as the `resource-server` client with either client
authentication (RFC 6749 §2.3.1), revoked at the provider (RFC 7009) and then refused once the
cache time has passed; through `jwtgate.Verifier` and through both adapters' real servers."""

from __future__ import annotations

import time
from typing import Any

import pytest

import jwtgate

from .conftest import RESOURCE, Idp, lines, post_initialize, sdk_call_tool, serve, tool_data

SERVER = {"client_id": "resource-server", "client_secret": "secret-resource-server"}


def introspecting(idp: Idp, **settings: Any) -> jwtgate.Verifier:
    return jwtgate.Verifier(issuer=idp.issuer, audience=RESOURCE, introspection={**SERVER, **settings})


@pytest.mark.parametrize("client_auth", ["basic", "post"])
async def test_opaque_tokens_are_introspected(idp: Idp, client_auth: str) -> None:
    verifier = introspecting(idp, client_auth=client_auth)
    token = idp.opaque_token("tools:call read")
    claims = verifier.verify(token)
    assert (claims.kind, claims.client_id, claims.scopes) == ("introspected", "client-opaque", ["tools:call", "read"])
    assert claims.audience_matched == RESOURCE and claims.iss == idp.issuer
    assert (await verifier.verify_async(token)).kind == "introspected"  # the cached answer
    scoped = jwtgate.Verifier(issuer=idp.issuer, audience=RESOURCE, required_scopes=["tools:call"],
                              introspection={**SERVER, "client_auth": client_auth})
    with pytest.raises(jwtgate.InsufficientScope) as caught:
        scoped.verify(idp.opaque_token("read"))
    assert caught.value.claims is not None and caught.value.claims.client_id == "client-opaque"
    stats = verifier.stats()
    assert stats.introspections >= 1 and stats.introspection_failures == 0
    # A JWT is still verified locally, without asking the provider.
    assert verifier.verify(idp.token("ES256")).kind == "jwt"
    assert verifier.stats().introspections == stats.introspections


def test_a_token_for_another_resource_or_a_wrong_client_secret_is_refused(idp: Idp) -> None:
    with pytest.raises(jwtgate.InvalidToken) as caught:
        introspecting(idp).verify(idp.opaque_token(resource="http://127.0.0.1:9/elsewhere"))
    assert caught.value.code == "audience_mismatch"
    with pytest.raises(jwtgate.Unavailable) as unavailable:
        jwtgate.Verifier(issuer=idp.issuer, audience=RESOURCE,
                         introspection={**SERVER, "client_secret": "wrong"}).verify(idp.opaque_token())
    assert unavailable.value.code == "introspection_failed" and unavailable.value.status == 503
    with pytest.raises(jwtgate.InvalidToken) as inactive:
        introspecting(idp).verify("an-opaque-token-the-provider-never-issued")
    assert inactive.value.code == "token_inactive" and inactive.value.status == 401


def test_a_revoked_token_is_refused_once_the_cache_time_has_passed(idp: Idp) -> None:
    uncached = introspecting(idp, cache_ttl=0)
    token = idp.opaque_token()
    uncached.verify(token)
    idp.revoke(token)
    with pytest.raises(jwtgate.InvalidToken) as caught:
        uncached.verify(token)
    assert caught.value.code == "token_inactive"
    cached = introspecting(idp, cache_ttl=1)
    token = idp.opaque_token()
    cached.verify(token)
    idp.revoke(token)
    time.sleep(1.2)  # the documented bound: cache_ttl
    with pytest.raises(jwtgate.InvalidToken) as caught:
        cached.verify(token)
    assert caught.value.code == "token_inactive"


@pytest.mark.skipif("fastmcp" not in lines(), reason="FastMCP is not tested in this venv")
async def test_fastmcp_server_with_opaque_tokens(idp: Idp) -> None:
    from fastmcp import Client, FastMCP
    from fastmcp.server.dependencies import get_access_token

    from jwtgate.fastmcp import JWTVerifier

    def factory(base: str) -> Any:
        auth = JWTVerifier(issuer=idp.issuer, audience=f"{base}/mcp", required_scopes=["tools:call"],
                           base_url=base, introspection=SERVER)
        server = FastMCP("jwtgate-introspection", auth=auth)

        @server.tool
        def whoami() -> dict:
            """The caller's access token as the server saw it."""
            token = get_access_token()
            assert token is not None
            return {"client_id": token.client_id, "scopes": token.scopes, "resource": token.resource}

        return server.http_app(path="/mcp", transport="http")

    with serve(factory) as base:
        url = f"{base}/mcp"
        async with Client(url, auth=idp.opaque_token("tools:call", resource=url)) as client:
            seen = tool_data(await client.call_tool("whoami", {}))
        assert seen == {"client_id": "client-opaque", "scopes": ["tools:call"], "resource": url}
        assert post_initialize(url, idp.opaque_token("read", resource=url)).status == 403
        assert post_initialize(url, "never-issued-opaque-token").status == 401


@pytest.mark.skipif("mcp" not in lines(), reason="the MCP SDK is not tested in this venv")
async def test_mcp_sdk_server_with_opaque_tokens(idp: Idp) -> None:
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.auth.settings import AuthSettings

    from jwtgate.mcp import TokenVerifier, streamable_http_app

    try:  # mcp 2.x
        from mcp.server.mcpserver import MCPServer as Server
    except ImportError:  # mcp 1.x
        from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]

    def factory(base: str) -> Any:
        server = Server("jwtgate-introspection",
                        token_verifier=TokenVerifier(issuer=idp.issuer, audience=RESOURCE, introspection=SERVER),
                        auth=AuthSettings(issuer_url=idp.issuer, resource_server_url=RESOURCE,
                                          required_scopes=["tools:call"], validate_token_resource=True))

        @server.tool()
        def whoami() -> dict:
            """The caller's access token as the server saw it."""
            token = get_access_token()
            assert token is not None
            return {"client_id": token.client_id, "scopes": token.scopes}

        return streamable_http_app(server)

    with serve(factory) as base:
        seen = tool_data(await sdk_call_tool(f"{base}/mcp", idp.opaque_token("tools:call")))
        assert seen == {"client_id": "client-opaque", "scopes": ["tools:call"]}
