"""The options for identity providers as they are: several providers in one verifier (two real
oidc-provider instances, each rotating its keys), id_token mode (id_tokens from the real
provider's authorization-code flow), claim dialects (the README's Keycloak, Auth0, Entra, Okta
and Cognito configurations, with tokens shaped like those providers' documented examples),
ES512 and the Ed25519 name, and server nonces shared by several servers (dpop_nonce_secret) —
through `jwtgate.Verifier` and through both adapters' real servers."""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Iterator

import pytest

import jwtgate
from jwtgate.testing import SigningKey, dpop_proof, jwk_thumbprint

from .conftest import (
    RESOURCE,
    Idp,
    _start_idp,
    _stop_idp,
    get,
    lines,
    post_initialize,
    sdk_call_tool,
    serve,
    tool_data,
)


@pytest.fixture
def two_idps() -> Iterator[tuple[Idp, Idp]]:
    """Two fresh IdPs (their keys rotate in the test, so not the session's)."""
    first = _start_idp(KEYS="RS256,ES256")
    try:
        second = _start_idp(KEYS="ES256,EdDSA", ISSUER_PATH="/realms/partner")
        try:
            yield first, second
        finally:
            _stop_idp(second)
    finally:
        _stop_idp(first)


def providers_of(*idps: Idp, **extra: Any) -> list[dict[str, Any]]:
    return [{"issuer": idp.issuer, "audience": RESOURCE, **extra} for idp in idps]


def test_several_providers_verify_each_ones_tokens_through_rotations(two_idps: tuple[Idp, Idp]) -> None:
    first, second = two_idps
    verifier = jwtgate.Verifier(providers=providers_of(first, second), required_scopes=["tools:call"])
    assert verifier.issuers == [first.issuer, second.issuer]
    for idp, alg in ((first, "RS256"), (first, "ES256"), (second, "ES256"), (second, "EdDSA")):
        claims = verifier.verify(idp.token(alg, scope="tools:call"))
        assert (claims.iss, claims.alg) == (idp.issuer, alg)
    with pytest.raises(jwtgate.InsufficientScope):
        verifier.verify(second.token("ES256", scope="read"))
    statuses = verifier.provider_keys_status()
    assert [issuer for issuer, _ in statuses] == [first.issuer, second.issuer]
    assert all(status.ready for _, status in statuses)
    assert verifier.keys_status().ready
    # Each provider rotates to fresh keys; new tokens verify (a refresh per provider).
    for idp, alg in ((first, "ES256"), (second, "EdDSA")):
        idp.admin("rotate", {"keys": [alg]})
        assert verifier.verify(idp.token(alg, scope="tools:call")).kid == idp.admin("state")["kids"][alg]
    generations = [status.generation for _, status in verifier.provider_keys_status()]
    assert all(g >= 3 for g in generations), generations


def test_an_unknown_issuer_is_refused_without_asking_any_provider(two_idps: tuple[Idp, Idp]) -> None:
    first, second = two_idps
    verifier = jwtgate.Verifier(providers=providers_of(first, second))
    verifier.verify(first.token("RS256"))
    verifier.verify(second.token("ES256"))
    for idp in two_idps:
        idp.admin("reset-counts", {})
    stranger = SigningKey.generate("ES256", "stranger")
    forged = stranger.mint({"iss": "https://stranger.example", "aud": RESOURCE, "exp": jwtgate.now_unix() + 60})
    with pytest.raises(jwtgate.InvalidToken) as caught:
        verifier.verify(forged)
    assert caught.value.code == "issuer_mismatch"
    # A token naming a trusted issuer but signed by another key: refused by that provider.
    with pytest.raises(jwtgate.InvalidToken) as caught:
        verifier.verify(stranger.mint({"iss": first.issuer, "aud": RESOURCE, "exp": jwtgate.now_unix() + 60}))
    assert caught.value.code == "key_not_found"
    assert second.admin("requests") == {}


def test_options_that_belong_to_a_provider_are_refused_next_to_providers(idp: Idp) -> None:
    for extra in ({"issuer": idp.issuer}, {"audience": RESOURCE}, {"scope_claims": ["roles"]},
                  {"id_token": "client-app"}, {"algorithms": ["RS256"]}):
        with pytest.raises(jwtgate.ConfigError, match="each provider"):
            jwtgate.Verifier(providers=providers_of(idp), **extra)
    with pytest.raises(jwtgate.ConfigError, match="exactly one issuer"):
        jwtgate.Verifier(providers=[{"issuer": [idp.issuer, "https://x.example"], "audience": RESOURCE}])


# --- through the adapters' servers ------------------------------------------------------------


async def fastmcp_whoami(url: str, token: str) -> dict[str, Any]:
    from fastmcp import Client

    async with Client(url, auth=token) as client:
        return tool_data(await client.call_tool("whoami", {}))


def fastmcp_server(auth: Any) -> Any:
    from fastmcp import FastMCP
    from fastmcp.server.dependencies import get_access_token

    server = FastMCP("jwtgate-providers", auth=auth)

    @server.tool
    def whoami() -> dict:
        """The caller's access token as the server saw it."""
        token = get_access_token()
        assert token is not None
        return {"client_id": token.client_id, "scopes": token.scopes, "subject": token.claims.get("sub"),
                "issuer": token.claims.get("iss"), "resource": token.resource}

    return server.http_app(path="/mcp", transport="http")


@pytest.mark.skipif("fastmcp" not in lines(), reason="FastMCP is not tested in this venv")
async def test_fastmcp_verifier_with_two_providers(idp: Idp, second_idp: Idp) -> None:
    from jwtgate.fastmcp import JWTVerifier

    found: dict[str, str] = {}

    def factory(base: str) -> Any:
        found["url"] = url = f"{base}/mcp"
        # One audience per provider: the server's URL, compared as a canonical resource URI
        # (the adapters' default, on each provider) — the second spells it with a trailing slash.
        auth = JWTVerifier(providers=[{"issuer": idp.issuer, "audience": url},
                                      {"issuer": second_idp.issuer, "audience": url + "/"}],
                           required_scopes=["tools:call"], base_url=base)
        return fastmcp_server(auth)

    with serve(factory) as base:
        url = found["url"]
        for provider, alg in ((idp, "RS256"), (second_idp, "ES256")):
            seen = await fastmcp_whoami(url, provider.token(alg, scope="tools:call", resource=url))
            assert seen["issuer"] == provider.issuer and seen["scopes"] == ["tools:call"]
        document = json.loads(get(f"{base}/.well-known/oauth-protected-resource/mcp").body)
        assert document["authorization_servers"] == [idp.issuer, second_idp.issuer]
        refused = post_initialize(url, second_idp.token("ES256", scope="read", resource=url))
        assert refused.status == 403


@pytest.mark.skipif("mcp" not in lines(), reason="the MCP SDK is not tested in this venv")
async def test_mcp_sdk_verifier_with_two_providers(idp: Idp, second_idp: Idp) -> None:
    from jwtgate.mcp import TokenVerifier

    verifier = TokenVerifier(providers=[{"issuer": idp.issuer, "audience": RESOURCE},
                                        {"issuer": second_idp.issuer, "audience": RESOURCE}])
    with serve(sdk_factory(verifier, idp.issuer, ["tools:call"])) as base:
        for provider, alg in ((idp, "EdDSA"), (second_idp, "ES256")):
            seen = tool_data(await sdk_call_tool(f"{base}/mcp", provider.token(alg, scope="tools:call")))
            assert seen["claims"]["iss"] == provider.issuer


def sdk_factory(verifier: Any, issuer: str, scopes: list[str], *, validate: bool = True) -> Any:
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.auth.settings import AuthSettings

    from jwtgate.mcp import streamable_http_app

    try:  # mcp 2.x
        from mcp.server.mcpserver import MCPServer as Server
    except ImportError:  # mcp 1.x
        from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]

    def factory(base: str) -> Any:
        server = Server("jwtgate-providers", token_verifier=verifier,
                        auth=AuthSettings(issuer_url=issuer, resource_server_url=RESOURCE,
                                          required_scopes=scopes, validate_token_resource=validate))

        @server.tool()
        def whoami() -> dict:
            """The caller's access token as the server saw it."""
            token = get_access_token()
            assert token is not None
            return {"client_id": token.client_id, "scopes": token.scopes,
                    "claims": getattr(token, "claims", None) or {}}

        return streamable_http_app(server)

    return factory


# --- id_token mode --------------------------------------------------------------------------------

APP = "client-app"


def sign_in(idp: Idp, sub: str = "bob") -> dict[str, Any]:
    """The real provider's authorization-code flow for client-app (OIDC Core 3.1)."""
    return idp.admin("authorization-code", {"client_id": APP, "sub": sub, "scope": "openid tools:call"})


def test_id_token_mode_with_the_providers_id_tokens(idp: Idp) -> None:
    verifier = jwtgate.Verifier(issuer=idp.issuer, id_token=APP)
    answer = sign_in(idp)
    claims = verifier.verify(answer["id_token"])
    assert (claims.kind, claims.sub, claims.scopes, claims.audience_matched) == ("id_token", "bob", [], APP)
    # The access token of the same flow is not an id_token (typ at+jwt, aud the resource).
    with pytest.raises(jwtgate.InvalidToken):
        verifier.verify(answer["access_token"])
    # Nor is another client's id_token.
    other = idp.admin("id-token", {"client_id": "client-opaque", "sub": "bob"})["id_token"]
    with pytest.raises(jwtgate.InvalidToken) as caught:
        verifier.verify(other)
    assert caught.value.code == "audience_mismatch"
    # And an access-token verifier never takes the id_token.
    with pytest.raises(jwtgate.InvalidToken):
        jwtgate.Verifier(issuer=idp.issuer, audience=APP, typ="at+jwt").verify(answer["id_token"])


def test_id_token_mode_refuses_what_an_id_token_cannot_carry(idp: Idp) -> None:
    for extra in ({"audience": RESOURCE}, {"required_scopes": ["tools:call"]}, {"typ": "at+jwt"},
                  {"insecure_skip_audience_check": True}):
        with pytest.raises(jwtgate.ConfigError):
            jwtgate.Verifier(issuer=idp.issuer, id_token=APP, **extra)
    if "fastmcp" in lines():
        from jwtgate.fastmcp import JWTVerifier

        with pytest.raises(jwtgate.ConfigError, match="scopes"):
            JWTVerifier(issuer=idp.issuer, id_token=APP, required_scopes=["tools:call"])
    if "mcp" in lines():
        from jwtgate.mcp import TokenVerifier

        with pytest.raises(jwtgate.ConfigError, match="scopes"):
            TokenVerifier(issuer=idp.issuer, id_token=APP, required_scopes=["tools:call"])


@pytest.mark.skipif("fastmcp" not in lines(), reason="FastMCP is not tested in this venv")
async def test_fastmcp_server_in_id_token_mode(idp: Idp, caplog: Any) -> None:
    """FastMCP's `verify_id_token` set-up with jwtgate: the verifier in id_token mode (the
    warning is logged), the server's scopes left to the application."""
    from jwtgate.fastmcp import JWTVerifier

    with caplog.at_level("WARNING"):
        auth = JWTVerifier(issuer=idp.issuer, id_token=APP)
    assert "not meant as access tokens" in caplog.text
    with serve(lambda base: fastmcp_server(auth)) as base:
        seen = await fastmcp_whoami(f"{base}/mcp", sign_in(idp, "carol")["id_token"])
        assert seen["subject"] == "carol" and seen["scopes"] == [] and seen["resource"] == APP
        assert post_initialize(f"{base}/mcp", idp.token("RS256")).status == 401


@pytest.mark.skipif("mcp" not in lines(), reason="the MCP SDK is not tested in this venv")
async def test_mcp_sdk_server_in_id_token_mode(idp: Idp) -> None:
    from jwtgate.mcp import TokenVerifier

    # An id_token is for the client (AccessToken.resource is the client id), not for the
    # resource: the SDK's resource check is off, and no scopes are required.
    verifier = TokenVerifier(issuer=idp.issuer, id_token=APP)
    with serve(sdk_factory(verifier, idp.issuer, [], validate=False)) as base:
        seen = tool_data(await sdk_call_tool(f"{base}/mcp", sign_in(idp, "dave")["id_token"]))
        assert seen["claims"]["sub"] == "dave" and seen["scopes"] == []


# --- claim dialects: the README's configurations ---------------------------------------------

KEY = SigningKey.generate("RS256", "dialect-key")
NOW = jwtgate.now_unix()

# provider: (verifier options, a token shaped like the provider's documented access tokens,
#            the scopes and client id jwtgate reports)
DIALECTS: dict[str, tuple[dict[str, Any], dict[str, Any], list[str], str]] = {
    "keycloak": (
        {"issuer": "https://sso.example.com/realms/mcp", "audience": "mcp-server",
         "scope_claims": ["scope", "realm_access.roles", "resource_access.mcp-server.roles"]},
        {"iss": "https://sso.example.com/realms/mcp", "aud": ["mcp-server", "account"], "typ": "Bearer",
         "azp": "mcp-inspector", "sub": "f2c3…", "scope": "openid profile email",
         "realm_access": {"roles": ["offline_access", "uma_authorization"]},
         "resource_access": {"mcp-server": {"roles": ["tools:call"]}, "account": {"roles": ["view-profile"]}}},
        ["openid", "profile", "email", "offline_access", "uma_authorization", "tools:call"], "mcp-inspector",
    ),
    "auth0": (
        {"issuer": "https://tenant.eu.auth0.com/", "audience": "https://mcp.example.com/mcp",
         "scope_claims": ["scope", "permissions"]},
        {"iss": "https://tenant.eu.auth0.com/", "sub": "auth0|65f0…",
         "aud": ["https://mcp.example.com/mcp", "https://tenant.eu.auth0.com/userinfo"],
         "azp": "yqN8…client", "scope": "openid profile", "permissions": ["tools:call", "files:read"]},
        ["openid", "profile", "tools:call", "files:read"], "yqN8…client",
    ),
    "entra": (
        {"issuer": "https://login.microsoftonline.com/9188…tenant/v2.0", "audience": "api://mcp-server",
         "scope_claims": ["scp", "roles"], "client_id_claims": ["azp", "appid"]},
        {"iss": "https://login.microsoftonline.com/9188…tenant/v2.0", "aud": "api://mcp-server",
         "azp": "6e74…app", "scp": "Tools.Call Files.Read", "roles": ["Mcp.Admin"], "oid": "…", "sub": "…",
         "ver": "2.0"},
        ["Tools.Call", "Files.Read", "Mcp.Admin"], "6e74…app",
    ),
    "entra-v1-app": (
        {"issuer": "https://sts.windows.net/9188…tenant/", "audience": "api://mcp-server",
         "scope_claims": ["scp", "roles"], "client_id_claims": ["azp", "appid"]},
        {"iss": "https://sts.windows.net/9188…tenant/", "aud": "api://mcp-server", "appid": "1950…daemon",
         "roles": ["Tools.Call"], "sub": "…", "ver": "1.0"},
        ["Tools.Call"], "1950…daemon",
    ),
    "okta": (
        {"issuer": "https://dev-1234.okta.com/oauth2/default", "audience": "api://mcp",
         "client_id_claims": ["cid"]},
        {"ver": 1, "iss": "https://dev-1234.okta.com/oauth2/default", "aud": "api://mcp", "cid": "0oa1…",
         "uid": "00u1…", "scp": ["tools:call", "offline_access"], "sub": "alice@example.com"},
        ["tools:call", "offline_access"], "0oa1…",
    ),
    "cognito": (
        {"issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc", "insecure_skip_audience_check": True,
         "required_scopes": ["mcp-api/tools.call"], "scope_claims": ["scope", "cognito:groups"]},
        {"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc", "sub": "aaaa…",
         "client_id": "7tbd…", "token_use": "access", "scope": "mcp-api/tools.call",
         "cognito:groups": ["admins"], "username": "alice"},
        ["mcp-api/tools.call", "admins"], "7tbd…",
    ),
}


@pytest.mark.parametrize("provider", DIALECTS)
def test_the_readme_dialects_read_each_providers_tokens(provider: str) -> None:
    options, claims, scopes, client_id = DIALECTS[provider]
    verifier = jwtgate.Verifier(jwks=KEY.public_jwks(), **options)
    verified = verifier.verify(KEY.mint({**claims, "exp": NOW + 3600, "iat": NOW}))
    assert (verified.scopes, verified.client_id) == (scopes, client_id)
    # Without the dialect the same token grants other scopes (the RFC 9068 reading).
    default = {k: v for k, v in options.items() if k not in ("scope_claims", "client_id_claims", "required_scopes")}
    plain = jwtgate.Verifier(jwks=KEY.public_jwks(), **default).verify(KEY.mint({**claims, "exp": NOW + 3600}))
    assert plain.scopes != scopes or plain.client_id != client_id


def test_a_scope_claim_of_another_shape_is_refused() -> None:
    options, claims, _, _ = DIALECTS["keycloak"]
    verifier = jwtgate.Verifier(jwks=KEY.public_jwks(), **options)
    with pytest.raises(jwtgate.InvalidToken) as caught:
        verifier.verify(KEY.mint({**claims, "realm_access": {"roles": 42}, "exp": NOW + 3600}))
    assert caught.value.code == "claim_invalid"


@pytest.mark.skipif("fastmcp" not in lines(), reason="FastMCP is not tested in this venv")
async def test_fastmcp_access_token_has_the_dialects_scopes_and_client() -> None:
    from jwtgate.fastmcp import JWTVerifier

    options, claims, scopes, client_id = DIALECTS["entra"]
    verifier = JWTVerifier(jwks=KEY.public_jwks(), **options, required_scopes=["Tools.Call"])
    access = await verifier.verify_token(KEY.mint({**claims, "exp": NOW + 3600}))
    assert access is not None and (access.scopes, access.client_id) == (scopes, client_id)


@pytest.mark.skipif("mcp" not in lines(), reason="the MCP SDK is not tested in this venv")
async def test_mcp_sdk_access_token_has_the_dialects_scopes_and_client() -> None:
    from jwtgate.mcp import TokenVerifier

    options, claims, scopes, client_id = DIALECTS["okta"]
    access = await TokenVerifier(jwks=KEY.public_jwks(), **options).verify_token(KEY.mint({**claims, "exp": NOW + 3600}))
    assert access is not None and (access.scopes, access.client_id) == (scopes, client_id)


# --- algorithms -----------------------------------------------------------------------------------


@pytest.mark.skipif(jwtgate.CRYPTO_BACKEND != "aws-lc-rs", reason="ES512 needs the aws-lc-rs backend")
def test_es512_and_the_ed25519_name() -> None:
    p521 = SigningKey.generate("ES512", "p-521")
    ed = SigningKey.generate("Ed25519", "ed")
    eddsa = SigningKey.generate("EdDSA", "ed-old-name")
    jwks = json.dumps({"keys": [json.loads(k.public_jwks())["keys"][0] for k in (p521, ed, eddsa)]})
    verifier = jwtgate.Verifier(issuer="https://idp.example", audience="api", jwks=jwks)
    for key in (p521, ed, eddsa):
        claims = verifier.verify(key.mint({"iss": "https://idp.example", "aud": "api", "exp": NOW + 3600}))
        assert claims.alg == key.algorithm
    assert {"ES512", "Ed25519", "EdDSA"} <= set(verifier.algorithms)
    only = jwtgate.Verifier(issuer="https://idp.example", audience="api", jwks=jwks, algorithms=["Ed25519"])
    with pytest.raises(jwtgate.InvalidToken) as caught:
        only.verify(p521.mint({"iss": "https://idp.example", "aud": "api", "exp": NOW + 3600}))
    assert caught.value.code == "alg_not_allowed"
    # A DPoP proof on P-521.
    bound = p521.mint({"iss": "https://idp.example", "aud": "api", "exp": NOW + 3600,
                       "cnf": {"jkt": jwk_thumbprint(p521.public_jwk())}})
    proof = dpop_proof(p521, "POST", "https://mcp.example/mcp", bound)
    assert verifier.verify_request("POST", "https://mcp.example/mcp", f"DPoP {bound}", proof).alg == "ES512"


# --- server nonces across processes ------------------------------------------------------------


@pytest.mark.skipif("fastmcp" not in lines(), reason="FastMCP is not tested in this venv")
def test_servers_sharing_a_nonce_secret_accept_each_others_nonces() -> None:
    """Two servers (as two workers behind one URL) with one `dpop_nonce_secret`: a nonce one of
    them hands out is good at the other; with another secret it is not."""
    from jwtgate.fastmcp import JWTVerifier

    client = SigningKey.generate("ES256", "client")
    resource = "https://mcp.example/mcp"

    def factory(secret: bytes) -> Any:
        return lambda base: fastmcp_server(JWTVerifier(
            issuer="https://idp.example", audience=resource, jwks=KEY.public_jwks(), base_url=base,
            dpop_nonce_secret=secret))

    token = KEY.mint({"iss": "https://idp.example", "aud": resource, "exp": NOW + 3600,
                      "cnf": {"jkt": jwk_thumbprint(client.public_jwk())}})
    shared = b"s" * 32
    with serve(factory(shared)) as first, serve(factory(shared)) as second, serve(factory(b"t" * 32)) as other:
        asked = post_initialize(f"{first}/mcp", None, authorization=f"DPoP {token}",
                                dpop=dpop_proof(client, "POST", f"{first}/mcp", token))
        assert asked.status == 401 and 'error="use_dpop_nonce"' in asked.headers["www-authenticate"]
        nonce = asked.headers["dpop-nonce"]
        for base, status in ((second, 200), (other, 401)):
            answer = post_initialize(f"{base}/mcp", None, authorization=f"DPoP {token}",
                                     dpop=dpop_proof(client, "POST", f"{base}/mcp", token, nonce=nonce))
            assert answer.status == status, base
