"""API keys in the `X-API-Key` header: `verify_request(..., api_key=...)` takes them as
configured static tokens only (never as a JWT), and only when the request has no `Authorization`
header; both adapters' middleware passes the header, and the frameworks (FastMCP's and the MCP
SDK's own checks after it) accept what the core accepted. Real servers on 127.0.0.1, real IdP
tokens, the SDK's own client. Also `jwtgate.split_authorization` / `auth_scheme`, the core's one
reading of `Authorization` that the adapters use to show their framework the token."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

import jwtgate
from jwtgate._asgi import HttpRequest

from .conftest import RESOURCE, Idp, lines, post_initialize, sdk_call_tool, serve, tool_data

KEY = "ops-key-0123456789abcdef"
URL = RESOURCE  # a resource the IdP issues tokens for


def key_verifier(**options: Any) -> jwtgate.Verifier:
    return jwtgate.Verifier(static_tokens={KEY: {"client_id": "ops", "scopes": ["tools:call"]}}, **options)


def refusal(call: Any, *args: Any, **kwargs: Any) -> jwtgate.InvalidToken:
    with pytest.raises(jwtgate.InvalidToken) as caught:
        call(*args, **kwargs)
    return caught.value


def test_verify_request_takes_a_static_token_from_api_key(idp: Idp) -> None:
    verifier = key_verifier(issuer=idp.issuer, audience=URL)
    claims = verifier.verify_request("POST", URL, api_key=KEY)
    assert (claims.kind, claims.client_id, claims.scopes) == ("static_token", "ops", ["tools:call"])
    # Spaces and tabs around the value are dropped, as around any header value (RFC 9110 §5.5).
    assert verifier.verify_request("POST", URL, None, None, f" \t{KEY}\t ").client_id == "ops"
    assert verifier.verify_request_at("POST", URL, api_key=KEY, now=jwtgate.now_unix()).client_id == "ops"
    nonblocking = verifier.verify_request_nonblocking("POST", URL, api_key=KEY)
    assert nonblocking is not None and nonblocking.client_id == "ops"
    assert verifier.stats().static_tokens == 4


async def test_verify_request_async_takes_api_key() -> None:
    claims = await key_verifier().verify_request_async("POST", URL, api_key=KEY)
    assert claims.client_id == "ops"


def test_a_jwt_or_an_unknown_value_in_api_key_is_refused(idp: Idp) -> None:
    """A JWT the verifier accepts as a Bearer token is `token_unknown` in X-API-Key: that
    header carries API keys only."""
    verifier = key_verifier(issuer=idp.issuer, audience=URL)
    jwt = idp.token(resource=URL)
    assert verifier.verify_request("POST", URL, f"Bearer {jwt}").kind == "jwt"
    for value in (jwt, "wrong-key", KEY + "x", KEY[:-1], f"{KEY}, {KEY}"):
        error = refusal(verifier.verify_request, "POST", URL, api_key=value)
        assert (error.code, error.status) == ("token_unknown", 401), value
    # Blank is no credential at all.
    for blank in ("", " \t "):
        assert refusal(verifier.verify_request, "POST", URL, api_key=blank).code == "credential_missing"
    # A verifier without static tokens has no API key to accept.
    error = refusal(jwtgate.Verifier(issuer=idp.issuer, audience=URL).verify_request, "POST", URL, api_key=jwt)
    assert error.code == "token_unknown"


def test_authorization_wins_over_api_key(idp: Idp) -> None:
    """With an Authorization header the X-API-Key value is not read, whatever that header
    holds: a good token there is accepted next to a wrong key, and a Basic header or a scheme
    without a token is no credential next to a good key."""
    verifier = key_verifier(issuer=idp.issuer, audience=URL)
    jwt = idp.token(resource=URL)
    assert verifier.verify_request("POST", URL, f"Bearer {jwt}", api_key="wrong").kind == "jwt"
    expected = {"Basic b3BzOmtleQ==": "credential_missing", "Bearer": "credential_missing",
                "": "credential_missing", "Bearer wrong-token": "token_unknown"}
    for authorization, code in expected.items():
        assert refusal(verifier.verify_request, "POST", URL, authorization, api_key=KEY).code == code, authorization


def test_api_key_scopes_and_dpop_are_the_cores() -> None:
    """Required scopes apply to a key as to any static token (403); `dpop="required"` refuses
    every credential that comes without a proof, keys included."""
    scoped = key_verifier(required_scopes=["admin"])
    error = refusal(scoped.verify_request, "POST", URL, api_key=KEY)
    assert isinstance(error, jwtgate.InsufficientScope) and error.status == 403
    required = key_verifier(dpop="required")
    assert refusal(required.verify_request, "POST", URL, api_key=KEY).code == "dpop_proof_missing"


def test_hostile_api_key_values() -> None:
    verifier = key_verifier()
    for wrong in (b"ops", 42, [KEY]):
        with pytest.raises(TypeError):
            verifier.verify_request("POST", URL, api_key=wrong)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            verifier.verify_request_async("POST", URL, api_key=wrong)  # type: ignore[arg-type]
    assert refusal(verifier.verify_request, "POST", URL, api_key="\udc80").code == "token_malformed"
    assert refusal(verifier.verify_request, "POST", URL, api_key="k" * 100_000).code == "token_too_large"
    assert refusal(verifier.verify_request, "POST", URL, api_key="\x00" + KEY).code == "token_unknown"


def test_split_authorization_is_the_cores() -> None:
    assert jwtgate.split_authorization("Bearer abc") == ("Bearer", "abc")
    assert jwtgate.split_authorization(" \tDPoP \t abc \t") == ("DPoP", "abc")
    assert jwtgate.split_authorization("Basic") == ("Basic", "")
    assert jwtgate.split_authorization("") == ("", "")
    assert jwtgate.split_authorization("Bearer a b") == ("Bearer", "a b")
    assert [jwtgate.auth_scheme(n) for n in ("Bearer", "bEARER", "DPOP", "dpop", "Basic", "", "Bearer ")] == [
        "bearer", "bearer", "dpop", "dpop", None, None, None]
    # Compared as ASCII only: a look-alike letter (Cyrillic е) names no scheme.
    assert jwtgate.auth_scheme("B\u0435arer") is None
    with pytest.raises(TypeError):
        jwtgate.split_authorization(b"Bearer abc")  # type: ignore[arg-type]
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.split_authorization("Bearer \udc80")


HEADERS = ["Bearer K", "bearer K", "BEARER\tK", "Bearer \t K \t", " Bearer K", "DPoP K", "Bearer", "Bearer ",
           "Basic K", "K", "", "Bearer  K", "Bearer\u00a0K", "Bearer\x0bK", "Bearer\nK", "Bearer K K"]


@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("api_key", [None, KEY, " K "])
def test_the_adapters_read_the_request_as_the_core_does(header: str, api_key: Any) -> None:
    """What `HttpRequest` shows the framework (the credential, its scheme) is what the core
    verified: a static token `K` is accepted exactly when the adapters' reading finds `K`."""
    verifier = jwtgate.Verifier(static_tokens={"K": "k", KEY: "ops"})
    request = HttpRequest(method="POST", url=URL, authorization=header, api_key=api_key)
    scheme, token = request.credential()
    try:
        outcome = verifier.verify_request("POST", URL, header, None, api_key).client_id
    except jwtgate.InvalidToken as e:
        outcome = e.code
    if outcome == "k":
        assert (scheme, token) == ("bearer", "K"), header
    elif outcome == "credential_missing":
        assert (scheme, token) == (None, None), header  # X-API-Key is not read either
    else:
        # Read a token, not the static one (or K under DPoP: a static token is not DPoP-bound).
        assert token is not None and (token != "K" or (scheme, outcome) == ("dpop", "dpop_key_mismatch")), header
    no_header = HttpRequest(method="POST", url=URL, authorization=None, api_key=api_key)
    expected = api_key.strip(" \t") if api_key else None
    assert no_header.credential() == (("api_key", expected) if expected else (None, None))


# -- real servers ----------------------------------------------------------------------------


def recipes() -> list[str]:
    return [r for r, line in (("fastmcp", "fastmcp"), ("mcp-sdk", "mcp")) if line in lines()]


@dataclass
class Server:
    url: str


def fastmcp_app(url: str, auth: Any) -> Any:
    from fastmcp import FastMCP
    from fastmcp.server.dependencies import get_access_token

    server = FastMCP("jwtgate-api-keys", auth=auth)

    @server.tool
    def whoami() -> dict:
        """The caller's access token as the server saw it."""
        token = get_access_token()
        assert token is not None
        return {"token": token.token, "client_id": token.client_id, "scopes": token.scopes}

    return server.http_app(path="/mcp", transport="http")


@contextlib.contextmanager
def running(recipe: str, idp: Idp, **options: Any) -> Iterator[Server]:
    """The recipe's server for `{base}/mcp`, requiring `tools:call`: IdP tokens and the key
    `KEY` (a static token for the server's resource)."""

    def factory(base: str) -> Any:
        url = f"{base}/mcp"
        statics = {KEY: {"client_id": "ops", "scopes": ["tools:call"], "audience": url}}
        if recipe == "fastmcp":
            from jwtgate.fastmcp import JWTVerifier

            return fastmcp_app(url, JWTVerifier(issuer=idp.issuer, audience=url, required_scopes=["tools:call"],
                                                base_url=base, static_tokens=statics, **options))
        from mcp.server.auth.middleware.auth_context import get_access_token
        from mcp.server.auth.settings import AuthSettings

        from jwtgate.mcp import TokenVerifier, streamable_http_app

        try:  # mcp 2.x
            from mcp.server.mcpserver import MCPServer as SdkServer
        except ImportError:  # mcp 1.x
            from mcp.server.fastmcp import FastMCP as SdkServer  # type: ignore[no-redef]

        server = SdkServer("jwtgate-api-keys",
                           token_verifier=TokenVerifier(issuer=idp.issuer, audience=url, static_tokens=statics, **options),
                           auth=AuthSettings(issuer_url=idp.issuer, resource_server_url=url,
                                             required_scopes=["tools:call"], validate_token_resource=True))

        @server.tool()
        def whoami() -> dict:
            """The caller's access token as the server saw it."""
            token = get_access_token()
            assert token is not None
            return {"token": token.token, "client_id": token.client_id, "scopes": token.scopes}

        return streamable_http_app(server)

    with serve(factory) as base:
        yield Server(url=f"{base}/mcp")


def challenge_error(response: Any) -> Any:
    header = response.headers.get("www-authenticate", "")
    assert header.startswith("Bearer ") and "resource_metadata=" in header, header
    return header.split('error="', 1)[1].split('"', 1)[0] if 'error="' in header else None


@pytest.mark.parametrize("recipe", recipes())
async def test_servers_take_a_static_token_from_x_api_key(recipe: str, idp: Idp) -> None:
    """The SDK's own client sends `X-API-Key` and no Authorization: the tool runs and sees the
    key as the access token. A JWT there is refused though it is good as a Bearer token; a
    wrong key, a repeated header and a key under an Authorization header of another scheme are
    refused with the core's challenges."""
    with running(recipe, idp) as server:
        seen = tool_data(await sdk_call_tool(server.url, None, headers={"X-API-Key": KEY}))
        assert seen == {"token": KEY, "client_id": "ops", "scopes": ["tools:call"]}
        assert post_initialize(server.url, None, api_key=f"\t{KEY} ").status == 200

        jwt = idp.token(resource=server.url)
        assert post_initialize(server.url, jwt).status == 200
        for value in (jwt, "wrong-key"):
            answer = post_initialize(server.url, None, api_key=value)
            assert answer.status == 401 and challenge_error(answer) == "invalid_token", value
        # Authorization wins: a Basic header is no credential (401 without error=), a good
        # Bearer token next to a wrong key is served.
        answer = post_initialize(server.url, None, authorization="Basic b3BzOmtleQ==", api_key=KEY)
        assert answer.status == 401 and challenge_error(answer) is None
        assert post_initialize(server.url, jwt, api_key="wrong-key").status == 200
        answer = post_initialize(server.url, None)
        assert answer.status == 401 and challenge_error(answer) is None


@pytest.mark.parametrize("recipe", recipes())
def test_a_repeated_x_api_key_header_is_refused(recipe: str, idp: Idp) -> None:
    import http.client
    import json
    from urllib.parse import urlsplit

    from .conftest import INITIALIZE

    with running(recipe, idp) as server:
        parts = urlsplit(server.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        body = json.dumps(INITIALIZE).encode()
        try:
            connection.putrequest("POST", parts.path)
            for name, value in [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
                                ("X-API-Key", KEY), ("X-API-Key", KEY), ("Content-Length", str(len(body)))]:
                connection.putheader(name, value)
            connection.endheaders(body)
            answer = connection.getresponse()
            assert answer.status == 401 and 'error="invalid_token"' in (answer.getheader("www-authenticate") or "")
        finally:
            connection.close()


@pytest.mark.parametrize("recipe", recipes())
def test_dpop_required_refuses_api_keys_on_the_server(recipe: str, idp: Idp) -> None:
    with running(recipe, idp, dpop="required") as server:
        answer = post_initialize(server.url, None, api_key=KEY)
        assert answer.status == 401
        assert answer.headers["www-authenticate"].startswith("DPoP ")


def fastmcp_multiauth() -> bool:
    if "fastmcp" not in lines():
        return False
    import jwtgate.fastmcp as jf

    return getattr(jf, "_FastMCPMultiAuth", None) is not None


@pytest.mark.skipif(not fastmcp_multiauth(), reason="MultiAuth needs FastMCP 3.1 or later")
async def test_in_multiauth_only_jwtgate_verifiers_read_x_api_key(idp: Idp) -> None:
    """FastMCP's own JWTVerifier first, a jwtgate verifier with the key second: FastMCP's would
    accept the IdP's JWT sent in X-API-Key as a Bearer token, so it is never handed that header
    (nor the key); the JWT there is refused, the key accepted by jwtgate's verifier, and the
    same JWT as a Bearer token accepted by FastMCP's."""
    from fastmcp.server.auth.providers.jwt import JWTVerifier as FastMCPJWTVerifier

    from jwtgate.fastmcp import JWTVerifier, MultiAuth

    from .test_adapter_requests import named

    seen_by_fastmcp: list[str] = []

    class Watched(FastMCPJWTVerifier):
        async def verify_token(self, token: str) -> Any:
            seen_by_fastmcp.append(token)
            return await super().verify_token(token)

    def factory(base: str) -> Any:
        url = f"{base}/mcp"
        theirs = Watched(jwks_uri=f"{idp.issuer}/jwks", issuer=idp.issuer, audience=url, algorithm="RS256")
        ours = JWTVerifier(static_tokens={KEY: {"client_id": "ops", "scopes": ["tools:call"], "audience": url}})
        return fastmcp_app(url, MultiAuth(verifiers=named([theirs, ours]), base_url=base,
                                          required_scopes=["tools:call"]))

    with serve(factory) as base:
        url = f"{base}/mcp"
        jwt = idp.token(resource=url)
        answer = post_initialize(url, None, api_key=jwt)
        assert answer.status == 401 and 'error="invalid_token"' in answer.headers["www-authenticate"]
        seen = tool_data(await sdk_call_tool(url, None, headers={"X-API-Key": KEY}))
        assert (seen["token"], seen["scopes"]) == (KEY, ["tools:call"])
        assert seen_by_fastmcp == []
        assert post_initialize(url, jwt).status == 200
        assert seen_by_fastmcp == [jwt]
