"""Seed-style configuration from the environment (`Verifier.from_env`, which hands the
variables to the core's `from_env`), against the real IdP: `OIDC_AUDIENCE_CHECK=off`,
`AUTH_MODE=api_key`, introspection as `OAUTH_CLIENT_ID` / `OAUTH_CLIENT_SECRET` (RFC 7662), and
the adapters' `from_env` behind real FastMCP and MCP SDK servers."""

from __future__ import annotations

from typing import Any

import pytest

import jwtgate

from .conftest import RESOURCE, Idp, lines, post_initialize, sdk_call_tool, serve, tool_data

ELSEWHERE = "http://127.0.0.1:9/another-service"  # a resource the IdP issues tokens for too


def env(monkeypatch: pytest.MonkeyPatch, prefix: str, **variables: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(prefix + name, value)


def refused(call: Any, *args: Any) -> jwtgate.InvalidToken:
    with pytest.raises(jwtgate.InvalidToken) as caught:
        call(*args)
    return caught.value


def test_audience_check_off_only_when_said_so(monkeypatch: pytest.MonkeyPatch, idp: Idp, caplog: Any) -> None:
    """An issuer without an audience is half configured; `OIDC_AUDIENCE_CHECK=off` accepts the
    provider's tokens for any service (with a warning), and other values are refused."""
    env(monkeypatch, "SEED_AUD_", OAUTH_ISSUER=idp.issuer)
    with pytest.raises(jwtgate.ConfigError, match="SEED_AUD_OIDC_AUDIENCE_CHECK=off"):
        jwtgate.Verifier.from_env("SEED_AUD_")
    env(monkeypatch, "SEED_AUD_", OIDC_AUDIENCE_CHECK="maybe")
    with pytest.raises(jwtgate.ConfigError, match="SEED_AUD_OIDC_AUDIENCE_CHECK"):
        jwtgate.Verifier.from_env("SEED_AUD_")
    env(monkeypatch, "SEED_AUD_", OIDC_AUDIENCE_CHECK="off")
    with caplog.at_level("WARNING", logger="jwtgate"):
        verifier = jwtgate.Verifier.from_env("SEED_AUD_")
    assert "audience check disabled" in caplog.text
    for resource in (RESOURCE, ELSEWHERE):
        claims = verifier.verify(idp.token(resource=resource))
        assert (claims.aud, claims.audience_matched, claims.iss) == ([resource], None, idp.issuer)
    # Only the audience is off: the issuer and the signature still count.
    assert refused(verifier.verify, idp.token()[:-4] + "AAAA").code == "signature_invalid"


def test_auth_mode_api_key_takes_only_the_key(monkeypatch: pytest.MonkeyPatch, idp: Idp) -> None:
    """`AUTH_MODE=api_key`: the configured key (client id `api-key`, as a Bearer token or in
    X-API-Key) and nothing from the provider, though its issuer is set; without a key, or with
    `AUTH_MODE=none`, there is no verifier to build."""
    env(monkeypatch, "SEED_KEY_", OAUTH_ISSUER=idp.issuer, OIDC_AUDIENCE=RESOURCE, API_KEY="seed-key-1",
        AUTH_MODE="api_key")
    verifier = jwtgate.Verifier.from_env("SEED_KEY_")
    assert verifier.issuers == []
    assert verifier.verify("seed-key-1").client_id == "api-key"
    assert verifier.verify_request("POST", RESOURCE, api_key="seed-key-1").client_id == "api-key"
    jwt = idp.token()
    assert refused(verifier.verify, jwt).code == "token_unknown"
    assert refused(verifier.verify_request, "POST", RESOURCE, None, None, jwt).code == "token_unknown"
    # oauth: the provider's tokens only, the key refused.
    env(monkeypatch, "SEED_KEY_", AUTH_MODE="oauth")
    oauth = jwtgate.Verifier.from_env("SEED_KEY_")
    assert oauth.verify(jwt).kind == "jwt"
    assert refused(oauth.verify, "seed-key-1").code in ("token_malformed", "token_unknown")
    # both: either.
    env(monkeypatch, "SEED_KEY_", AUTH_MODE="both")
    both = jwtgate.Verifier.from_env("SEED_KEY_")
    assert (both.verify(jwt).kind, both.verify("seed-key-1").kind) == ("jwt", "static_token")
    env(monkeypatch, "SEED_KEY_", AUTH_MODE="none")
    with pytest.raises(jwtgate.ConfigError, match="SEED_KEY_AUTH_MODE"):
        jwtgate.Verifier.from_env("SEED_KEY_")
    env(monkeypatch, "SEED_KEY_", AUTH_MODE="api_key", API_KEY=" ")
    with pytest.raises(jwtgate.ConfigError, match="SEED_KEY_API_KEY"):
        jwtgate.Verifier.from_env("SEED_KEY_")


def test_introspection_from_oauth_client_variables(monkeypatch: pytest.MonkeyPatch, idp: Idp) -> None:
    """`OAUTH_CLIENT_ID` / `OAUTH_CLIENT_SECRET`: opaque tokens of client-opaque are
    introspected at the endpoint the issuer's metadata names, or at
    `OAUTH_INTROSPECTION_URL`; the secret alone is half a configuration."""
    env(monkeypatch, "SEED_OPAQUE_", OAUTH_ISSUER=idp.issuer, OIDC_AUDIENCE=RESOURCE,
        OAUTH_CLIENT_ID="resource-server", OAUTH_CLIENT_SECRET="secret-resource-server")
    token = idp.opaque_token("tools:call")
    claims = jwtgate.Verifier.from_env("SEED_OPAQUE_").verify(token)
    assert (claims.kind, claims.client_id, claims.scopes) == ("introspected", "client-opaque", ["tools:call"])
    env(monkeypatch, "SEED_OPAQUE_", OAUTH_INTROSPECTION_URL=f"{idp.issuer}/token/introspection")
    configured = jwtgate.Verifier.from_env("SEED_OPAQUE_")
    assert configured.verify(token).kind == "introspected"
    assert refused(configured.verify, "never-issued-opaque-token").code == "token_inactive"
    env(monkeypatch, "SEED_OPAQUE_", OAUTH_CLIENT_SECRET="wrong")
    with pytest.raises(jwtgate.Unavailable) as caught:
        jwtgate.Verifier.from_env("SEED_OPAQUE_").verify(token)
    assert caught.value.code == "introspection_failed"
    monkeypatch.delenv("SEED_OPAQUE_OAUTH_CLIENT_ID")
    with pytest.raises(jwtgate.ConfigError, match="SEED_OPAQUE_OAUTH_CLIENT_ID"):
        jwtgate.Verifier.from_env("SEED_OPAQUE_")


@pytest.mark.skipif("fastmcp" not in lines(), reason="FastMCP is not tested in this venv")
async def test_fastmcp_from_env_with_audience_check_off_and_an_api_key(monkeypatch: pytest.MonkeyPatch,
                                                                      idp: Idp) -> None:
    """`JWTVerifier.from_env` behind a real FastMCP server, configured the seed way
    (`AUTH_MODE=both`, `OIDC_AUDIENCE_CHECK=off`, `API_KEY`): the provider's tokens for any
    service, and the key in X-API-Key."""
    from fastmcp import FastMCP
    from fastmcp.server.dependencies import get_access_token

    from jwtgate.fastmcp import JWTVerifier

    env(monkeypatch, "SEED_FASTMCP_", OAUTH_ISSUER=idp.issuer, OIDC_AUDIENCE_CHECK="off",
        API_KEY="seed-fastmcp-key", AUTH_MODE="both", OIDC_REQUIRED_SCOPES="tools:call")

    def factory(base: str) -> Any:
        server = FastMCP("jwtgate-seed-env", auth=JWTVerifier.from_env("SEED_FASTMCP_", base_url=base))

        @server.tool
        def whoami() -> dict:
            """The caller's access token as the server saw it."""
            token = get_access_token()
            assert token is not None
            return {"client_id": token.client_id, "resource": token.resource}

        return server.http_app(path="/mcp", transport="http")

    with serve(factory) as base:
        url = f"{base}/mcp"
        seen = tool_data(await sdk_call_tool(url, idp.token(resource=ELSEWHERE, scope="tools:call")))
        assert seen == {"client_id": "client-rs256", "resource": None}
        seen = tool_data(await sdk_call_tool(url, None, headers={"X-API-Key": "seed-fastmcp-key"}))
        assert seen["client_id"] == "api-key"
        assert post_initialize(url, idp.token(scope="read")).status == 403
        assert post_initialize(url, None, api_key="wrong").status == 401


@pytest.mark.skipif("mcp" not in lines(), reason="the MCP SDK is not tested in this venv")
async def test_mcp_sdk_from_env_with_introspection(monkeypatch: pytest.MonkeyPatch, idp: Idp) -> None:
    """`TokenVerifier.from_env` behind a real MCP SDK server, introspecting through
    `OAUTH_CLIENT_ID` / `OAUTH_CLIENT_SECRET`: client-opaque's opaque token is served."""
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.auth.settings import AuthSettings

    from jwtgate.mcp import TokenVerifier, streamable_http_app

    try:  # mcp 2.x
        from mcp.server.mcpserver import MCPServer as Server
    except ImportError:  # mcp 1.x
        from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]

    env(monkeypatch, "SEED_SDK_", OAUTH_ISSUER=idp.issuer, OIDC_AUDIENCE=RESOURCE,
        OAUTH_CLIENT_ID="resource-server", OAUTH_CLIENT_SECRET="secret-resource-server")

    def factory(base: str) -> Any:
        server = Server("jwtgate-seed-env", token_verifier=TokenVerifier.from_env("SEED_SDK_"),
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
        url = f"{base}/mcp"
        seen = tool_data(await sdk_call_tool(url, idp.opaque_token("tools:call")))
        assert seen == {"client_id": "client-opaque", "scopes": ["tools:call"]}
        assert post_initialize(url, idp.opaque_token("read")).status == 403
        assert post_initialize(url, "never-issued-opaque-token").status == 401
