"""The README's FastMCP recipes as real servers (tests/servers/fastmcp_server.py, a subprocess
with this virtualenv's FastMCP) against the real IdP, called by a real fastmcp Client and by raw
HTTP: the core's challenges and RFC 9728 document, 403 for a missing scope, scope hierarchies,
FastMCP's per-component require_scopes, MultiAuth of two jwtgate verifiers (FastMCP >= 3.1) and
AuthKitProvider with a jwtgate verifier."""

from __future__ import annotations

import json
from typing import Any, Iterator

import fastmcp
import pytest
from fastmcp import Client

import jwtgate
import jwtgate.fastmcp as jf

from .conftest import Idp, ServerProcess, get, lines, post_initialize, run_server, tool_data

pytestmark = pytest.mark.skipif("fastmcp" not in lines(), reason="FastMCP is not tested in this venv")

MAJOR = int(fastmcp.__version__.split(".")[0])
HAS_MULTIAUTH = getattr(jf, "_FastMCPMultiAuth", None) is not None
KINDS = ["jwt", "remote", "authkit"] + (["multi"] if HAS_MULTIAUTH else [])
SCOPES = ["tools:call"]


@pytest.fixture(scope="module", params=KINDS)
def recipe(request: Any, idp: Idp, second_idp: Idp) -> Iterator[ServerProcess]:
    args = ["--issuer", idp.issuer, "--auth", request.param, "--scopes", " ".join(SCOPES),
            "--scope-implies", "admin=*", "--second-issuer", second_idp.issuer]
    with run_server("fastmcp_server.py", *args) as server:
        yield server


def expected_resource(server: ServerProcess, idp: Idp) -> jwtgate.ProtectedResource:
    """The resource as the core describes it for the server's (first) verifier: DPoP allowed,
    so its algorithms are advertised and challenges carry a DPoP challenge too."""
    verifier = jwtgate.Verifier(issuer=idp.issuer, audience=server.resource)
    return verifier.protected_resource(server.resource, [idp.issuer], SCOPES)


def test_no_credential_is_the_cores_401(recipe: ServerProcess, idp: Idp) -> None:
    response = post_initialize(recipe.url, None)
    assert response.status == 401
    assert response.headers["www-authenticate"] == expected_resource(recipe, idp).challenge(None, SCOPES).www_authenticate
    other_scheme = post_initialize(recipe.url, None, authorization="Basic YWxhZGRpbjpvcGVuc2VzYW1l")
    assert other_scheme.status == 401 and "error=" not in other_scheme.headers["www-authenticate"]


def test_metadata_is_the_cores_document(recipe: ServerProcess, idp: Idp) -> None:
    expected = expected_resource(recipe, idp)
    response = get(expected.metadata_url)
    assert response.status == 200
    document = json.loads(response.body)
    if recipe.info["auth"] == "multi":  # no server: the verifiers' issuers
        assert document.pop("authorization_servers") == [idp.issuer, recipe_second_issuer(recipe)]
        expected_document = expected.metadata()
        expected_document.pop("authorization_servers")
        assert document == expected_document
    else:
        assert document == expected.metadata()


def recipe_second_issuer(server: ServerProcess) -> str:
    args = server.process.args
    return args[args.index("--second-issuer") + 1]


def test_missing_scope_is_the_cores_403(recipe: ServerProcess, idp: Idp) -> None:
    token = idp.token("ES256", scope="read", resource=recipe.resource)
    response = post_initialize(recipe.url, token)
    assert response.status == 403
    local = jwtgate.Verifier(issuer=idp.issuer, audience=recipe.resource, required_scopes=SCOPES)
    local.wait_ready(10)
    with pytest.raises(jwtgate.InsufficientScope) as e:
        local.verify(token)
    assert response.headers["www-authenticate"] == expected_resource(recipe, idp).challenge(e.value, SCOPES).www_authenticate
    assert json.loads(response.body)["error"] == "insufficient_scope"


def test_invalid_token_is_401_invalid_token(recipe: ServerProcess, idp: Idp) -> None:
    wrong_audience = idp.token("RS256", resource="http://127.0.0.1:9/elsewhere")
    for token in ("garbage", wrong_audience):
        response = post_initialize(recipe.url, token)
        assert response.status == 401
        challenge = response.headers["www-authenticate"]
        assert 'error="invalid_token"' in challenge and "resource_metadata=" in challenge


@pytest.mark.parametrize("alg", ["RS256", "EdDSA"])
async def test_client_calls_a_tool(recipe: ServerProcess, idp: Idp, alg: str) -> None:
    token = idp.token(alg, scope="tools:call", resource=recipe.resource)
    async with Client(recipe.url, auth=token) as client:
        seen = tool_data(await client.call_tool("whoami", {}))
    assert seen["resource"] == recipe.resource
    assert seen["claims"]["iss"] == idp.issuer
    client_id = seen["client_id"]
    if recipe.info["auth"] == "multi" and MAJOR >= 4:
        client_id = json.loads(client_id)[1]  # qualified with the verifier's source id
    assert client_id == f"client-{alg.lower()}"


async def test_scope_hierarchy_satisfies_the_required_scope(recipe: ServerProcess, idp: Idp) -> None:
    """--scope-implies admin=*: a token with only `admin` passes FastMCP's server-wide check."""
    token = idp.token("RS256", scope="admin", resource=recipe.resource)
    async with Client(recipe.url, auth=token) as client:
        seen = tool_data(await client.call_tool("whoami", {}))
    assert seen["scopes"] == ["admin"]


@pytest.mark.skipif(MAJOR < 3, reason="per-component authorization arrived in FastMCP 3")
async def test_per_component_require_scopes(recipe: ServerProcess, idp: Idp) -> None:
    admin = idp.token("RS256", scope="tools:call admin", resource=recipe.resource)
    async with Client(recipe.url, auth=admin) as client:
        assert tool_data(await client.call_tool("admin_only", {})) == "admin"
    plain = idp.token("RS256", scope="tools:call", resource=recipe.resource)
    async with Client(recipe.url, auth=plain) as client:
        names = [tool.name for tool in await client.list_tools()]
        assert "admin_only" not in names and "whoami" in names
        with pytest.raises(Exception):
            await client.call_tool("admin_only", {})


@pytest.mark.skipif(not HAS_MULTIAUTH, reason="MultiAuth arrived in FastMCP 3.1")
async def test_multi_auth_accepts_both_issuers(idp: Idp, second_idp: Idp) -> None:
    args = ["--issuer", idp.issuer, "--auth", "multi", "--second-issuer", second_idp.issuer]
    with run_server("fastmcp_server.py", *args) as server:
        sources = []
        for issuer in (idp, second_idp):
            token = issuer.token("ES256", scope="tools:call", resource=server.resource)
            async with Client(server.url, auth=token) as client:
                seen = tool_data(await client.call_tool("whoami", {}))
            assert seen["claims"]["iss"] == issuer.issuer
            if MAJOR >= 4:
                source, client_id, *_ = json.loads(seen["client_id"])
                assert client_id == "client-es256"
                sources.append(source)
        if MAJOR >= 4:
            assert len(set(sources)) == 2


@pytest.mark.skipif(MAJOR < 4, reason="source ids arrived with FastMCP 4's MultiAuth")
def test_multi_auth_source_ids_are_distinct_stable_and_fastmcps(idp: Idp, second_idp: Idp) -> None:
    from fastmcp.server.auth.providers.jwt import JWTVerifier as FastMCPJWTVerifier

    def build() -> Any:
        return jf.MultiAuth(verifiers=[jf.JWTVerifier(issuer=idp.issuer, audience="https://mcp.test/"),
                                       jf.JWTVerifier(issuer=second_idp.issuer, audience="https://mcp.test/",
                                                      jwks_uri=f"{second_idp.issuer}/jwks")])

    first, again = build(), build()
    assert first._source_ids == again._source_ids and len(set(first._source_ids)) == 2
    theirs = jf.MultiAuth(verifiers=[FastMCPJWTVerifier(issuer=second_idp.issuer,
                                                         jwks_uri=f"{second_idp.issuer}/jwks")])
    assert theirs._source_ids == first._source_ids[1:]


async def test_auth0_mcp_provider_with_a_jwtgate_verifier(idp: Idp) -> None:
    """FastMCP 4's Auth0MCPProvider (a RemoteAuthProvider that binds an audience to the verifier
    it builds) takes a jwtgate verifier as `token_verifier=`; through protect() refusals are the
    core's answers."""
    try:
        from fastmcp.server.auth.providers.auth0 import Auth0MCPProvider
    except ImportError:
        pytest.skip("Auth0MCPProvider arrived in FastMCP 4")
    from fastmcp import FastMCP

    from .conftest import serve

    def factory(base: str) -> Any:
        resource = f"{base}/mcp"
        auth = jf.protect(Auth0MCPProvider(
            config_url=f"{idp.issuer}/.well-known/openid-configuration", base_url=base,
            token_verifier=jf.JWTVerifier(issuer=idp.issuer, audience=resource, required_scopes=SCOPES),
        ))
        mcp = FastMCP("auth0", auth=auth)

        @mcp.tool
        def hello() -> str:
            return "hello"

        return mcp.http_app(path="/mcp", transport="http")

    with serve(factory) as base:
        url = f"{base}/mcp"
        token = idp.token("RS256", scope="tools:call", resource=url)
        async with Client(url, auth=token) as client:
            assert tool_data(await client.call_tool("hello", {})) == "hello"
        scoped = post_initialize(url, idp.token("RS256", scope="read", resource=url))
        assert scoped.status == 403 and 'error="insufficient_scope"' in scoped.headers["www-authenticate"]
