"""What the adapters hand the core from a request, against real servers (uvicorn on 127.0.0.1,
raw HTTP where a client library would not send the request): the URL a DPoP proof must name
comes from the server's configured origin and the request's raw path, never from the client's
`Host` or `X-Forwarded-*` headers or the ASGI scheme (RFC 9449 §4.3, §11.1 of the threats it
counters); the token is the one the core parsed from `Authorization`, spaces and tabs as the
core reads them (RFC 9110 §11.4); a refusal's error sits on the challenge of the scheme the
client used (RFC 9449 §7.1); in a chain of verifiers (FastMCP's MultiAuth), a refused DPoP proof
is final and the nonce to retry with comes from the verifier that asked for it (RFC 9449 §8)."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import pytest

import jwtgate
from jwtgate.testing import SigningKey, dpop_proof, jwk_thumbprint

from .conftest import INITIALIZE, Response, lines, sdk_call_tool, serve, tool_data

ISS = "https://idp.requests.test"
OTHER_ISS = "https://other-idp.requests.test"
IDP_KEY = SigningKey.generate("ES256", "idp-key")
OTHER_KEY = SigningKey.generate("ES256", "other-idp-key")
CLIENT_KEY = SigningKey.generate("ES256", "mcp-client")
PUBLIC = "https://mcp.requests.test"  # the public origin of a server behind TLS termination


def recipes() -> list[str]:
    found = []
    if "fastmcp" in lines():
        found.append("fastmcp")
    if "mcp" in lines():
        found.append("mcp-sdk")
    return found


def fastmcp_multiauth() -> bool:
    if "fastmcp" not in lines():
        return False
    import jwtgate.fastmcp as jf

    return getattr(jf, "_FastMCPMultiAuth", None) is not None


def whoami(access: Any) -> dict[str, Any]:
    return {"token": access.token, "client_id": access.client_id, "scopes": access.scopes}


def fastmcp_app(auth: Any) -> Any:
    from fastmcp import FastMCP
    from fastmcp.server.dependencies import get_access_token

    server = FastMCP("jwtgate-requests", auth=auth)

    @server.tool
    def me() -> dict:
        """The caller's access token as the server saw it."""
        return whoami(get_access_token())

    return server.http_app(path="/mcp", transport="http")


def sdk_app(resource: str, scopes: list[str], **options: Any) -> Any:
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.auth.settings import AuthSettings

    from jwtgate.mcp import TokenVerifier, streamable_http_app

    from mcp.server.transport_security import TransportSecuritySettings

    try:  # mcp 2.x
        from mcp.server.mcpserver import MCPServer as Server
    except ImportError:  # mcp 1.x
        from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]

    # The SDK refuses Host headers other than loopback ones on a loopback server (DNS rebinding
    # protection); a server behind a proxy allows its public host. Every host here, so that what
    # is tested is jwtgate's use of the request, not the SDK's Host check.
    security = {"transport_security": TransportSecuritySettings(enable_dns_rebinding_protection=False)}
    server = Server(
        "jwtgate-requests",
        token_verifier=TokenVerifier(issuer=ISS, audience=resource, jwks=IDP_KEY.public_jwks(), **options),
        auth=AuthSettings(issuer_url=ISS, resource_server_url=resource, required_scopes=scopes,
                          validate_token_resource=True),
        **({} if Server.__name__ == "MCPServer" else security),
    )

    @server.tool()
    def me() -> dict:
        """The caller's access token as the server saw it."""
        return whoami(get_access_token())

    return streamable_http_app(server, **(security if Server.__name__ == "MCPServer" else {}))


@dataclass
class Running:
    base: str
    """Where the server listens: http://127.0.0.1:PORT."""
    resource: str
    """Its resource URL as configured (the public one)."""

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"


@contextlib.contextmanager
def running(recipe: str, public: Optional[str] = None, **options: Any) -> Iterator[Running]:
    """The recipe's server requiring `tools:call`, its resource URL `{public or base}/mcp`."""
    found: dict[str, str] = {}

    def factory(base: str) -> Any:
        origin = public or base
        found["resource"] = resource = f"{origin}/mcp"
        if recipe == "fastmcp":
            from jwtgate.fastmcp import JWTVerifier

            return fastmcp_app(JWTVerifier(issuer=ISS, audience=resource, jwks=IDP_KEY.public_jwks(),
                                           required_scopes=["tools:call"], base_url=origin, **options))
        return sdk_app(resource, ["tools:call"], **options)

    with serve(factory) as base:
        yield Running(base=base, resource=found["resource"])


def token(aud: str, *, scope: str = "tools:call", bound: bool = True, key: SigningKey = IDP_KEY,
          iss: str = ISS) -> str:
    claims: dict[str, Any] = {"iss": iss, "aud": aud, "sub": "alice", "client_id": "app-1", "scope": scope,
                              "exp": jwtgate.now_unix() + 300, "iat": jwtgate.now_unix()}
    if bound:
        claims["cnf"] = {"jkt": jwk_thumbprint(CLIENT_KEY.public_jwk())}
    return key.mint(claims, {"typ": "at+jwt"})


def send(port: int, target: str, headers: list[tuple[str, str]], method: str = "POST") -> Response:
    """One raw HTTP/1.1 request: the request target and every header exactly as given (no
    `Host` unless given)."""
    body = json.dumps(INITIALIZE).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in [("Content-Type", "application/json"),
                            ("Accept", "application/json, text/event-stream"), *headers]:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
    finally:
        connection.close()


def challenges(header: str) -> dict[str, str]:
    """The challenges of a WWW-Authenticate value by scheme (`Bearer`, `DPoP`), each with its
    parameters as text."""
    found = {}
    for part in re.split(r",\s*(?=(?:Bearer|DPoP)(?:\s|$))", header):
        scheme, _, params = part.partition(" ")
        found[scheme] = params
    return found


def error_of(params: str) -> Optional[str]:
    match = re.search(r'(?:^|,\s*)error="([^"]*)"', params)
    return match.group(1) if match else None


RECIPES = recipes()


@pytest.mark.parametrize("recipe", RECIPES)
def test_the_host_header_and_forwarded_headers_do_not_choose_the_proofs_url(recipe: str) -> None:
    """A proof for another URL never passes by naming that URL's host in `Host` (whole, or with
    a path and `?` that cut the request's own path off), in `X-Forwarded-Host` /
    `X-Forwarded-Proto`, or in the request target (absolute-form, or `//host/...`); a proof for
    the server's own URL passes whatever `Host` says."""
    with running(recipe) as server:
        bound = token(server.resource)
        own = f"127.0.0.1:{server.port}"
        authorization = ("Authorization", f"DPoP {bound}")
        refused = [
            ("/mcp", [("Host", "evil.example")], "http://evil.example/mcp"),
            ("/mcp", [("Host", "b.example/anything?")], "http://b.example/anything"),
            ("/mcp", [("Host", "b.example/anything#")], "http://b.example/anything"),
            ("/mcp", [("Host", own), ("X-Forwarded-Proto", "https")], f"https://{own}/mcp"),
            ("/mcp", [("Host", own), ("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "https")],
             "https://evil.example/mcp"),
            ("http://evil.example/mcp", [("Host", "evil.example")], "http://evil.example/mcp"),
            ("//evil.example/mcp", [("Host", own)], "http://evil.example/mcp"),
        ]
        for target, headers, htu in refused:
            answer = send(server.port, target, [*headers, authorization,
                                                ("DPoP", dpop_proof(CLIENT_KEY, "POST", htu, bound))])
            assert answer.status != 200, (target, headers, htu)
            if target == "/mcp":
                assert answer.status == 401, (target, headers)
                assert error_of(challenges(answer.headers["www-authenticate"])["DPoP"]) == "invalid_dpop_proof"
        for host in (own, "evil.example", "b.example/anything?"):
            honest = dpop_proof(CLIENT_KEY, "POST", server.url, bound)
            assert send(server.port, "/mcp", [("Host", host), authorization, ("DPoP", honest)]).status == 200, host


@pytest.mark.parametrize("recipe", RECIPES)
def test_behind_tls_termination_the_proof_names_the_public_url(recipe: str) -> None:
    """The server listens on http://127.0.0.1 behind a proxy that terminates TLS for
    https://mcp.requests.test: honest clients sign proofs for the public URL, and pass."""
    with running(recipe, public=PUBLIC) as server:
        assert server.resource == f"{PUBLIC}/mcp"
        bound = token(server.resource)
        for headers in ([("Host", "mcp.requests.test")],
                        [("Host", f"127.0.0.1:{server.port}"), ("X-Forwarded-Proto", "https")]):
            proof = dpop_proof(CLIENT_KEY, "POST", f"{PUBLIC}/mcp", bound)
            answer = send(server.port, "/mcp", [*headers, ("Authorization", f"DPoP {bound}"), ("DPoP", proof)])
            assert answer.status == 200, (headers, answer.headers.get("www-authenticate"))
        proof = dpop_proof(CLIENT_KEY, "POST", server.url, bound)  # the listening URL is not the resource's
        answer = send(server.port, "/mcp", [("Host", f"127.0.0.1:{server.port}"),
                                            ("Authorization", f"DPoP {bound}"), ("DPoP", proof)])
        assert answer.status == 401


@pytest.mark.parametrize("recipe", RECIPES)
def test_the_proofs_url_is_the_raw_path(recipe: str) -> None:
    """`/mcp%2F` is not `/mcp/` (RFC 3986 §2.2: an encoded reserved character is data), though
    ASGI's decoded `path` says so; `/m%63p` is `/mcp` (§6.2.2.2: an encoded unreserved one is
    not)."""
    with running(recipe) as server:
        bound = token(server.resource)
        host = ("Host", f"127.0.0.1:{server.port}")
        answer = send(server.port, "/mcp%2F", [host, ("Authorization", f"DPoP {bound}"),
                                               ("DPoP", dpop_proof(CLIENT_KEY, "POST", f"{server.url}/", bound))])
        assert answer.status == 401
        assert error_of(challenges(answer.headers["www-authenticate"])["DPoP"]) == "invalid_dpop_proof"
        answer = send(server.port, "/m%63p", [host, ("Authorization", f"DPoP {bound}"),
                                              ("DPoP", dpop_proof(CLIENT_KEY, "POST", server.url, bound))])
        assert answer.status == 200


@pytest.mark.parametrize("recipe", RECIPES)
async def test_spaces_and_tabs_between_scheme_and_token(recipe: str) -> None:
    """`Bearer<TAB>token`, several spaces, a lower-case scheme: the core accepts them, the
    request is served, and the tool sees the token itself (not the header's remainder)."""
    with running(recipe) as server:
        plain = token(server.resource, bound=False)
        for header in (f"Bearer\t{plain}", f"Bearer   {plain}", f"bearer \t {plain}", f"Bearer {plain}\t"):
            assert send(server.port, "/mcp", [("Host", "x"), ("Authorization", header)]).status == 200, repr(header)
            if not header.endswith("\t"):  # (httpx sends no trailing whitespace)
                seen = tool_data(await sdk_call_tool(server.url, plain, "me", authorization=header))
                assert seen["token"] == plain, repr(header)
        bound = token(server.resource)
        proof = dpop_proof(CLIENT_KEY, "POST", server.url, bound)
        assert send(server.port, "/mcp", [("Host", "x"), ("Authorization", f"DPoP\t \t{bound}"),
                                          ("DPoP", proof)]).status == 200


@pytest.mark.parametrize("recipe", [r for r in RECIPES if r == "mcp-sdk"] + (["fastmcp-multi"] if fastmcp_multiauth() else []))
def test_a_scope_the_framework_requires_is_missing_on_the_dpop_challenge(recipe: str) -> None:
    """Scopes the framework requires (the MCP SDK's `AuthSettings.required_scopes`, FastMCP's
    `MultiAuth(required_scopes=...)`) and the verifier does not: a DPoP request lacking one gets
    403 with `insufficient_scope` on the DPoP challenge, the scheme it used (RFC 9449 §7.1); a
    Bearer request on the Bearer challenge."""

    def factory(base: str) -> Any:
        resource = f"{base}/mcp"
        if recipe == "mcp-sdk":
            return sdk_app(resource, ["tools:call"])
        from jwtgate.fastmcp import JWTVerifier, MultiAuth

        return fastmcp_app(MultiAuth(
            verifiers=named([JWTVerifier(issuer=OTHER_ISS, audience=resource, jwks=OTHER_KEY.public_jwks()),
                             JWTVerifier(issuer=ISS, audience=resource, jwks=IDP_KEY.public_jwks())]),
            base_url=base, required_scopes=["tools:call"]))

    with serve(factory) as base:
        url = f"{base}/mcp"
        port = int(base.rsplit(":", 1)[1])
        bound = token(url, scope="read")
        answer = send(port, "/mcp", [("Host", "x"), ("Authorization", f"DPoP {bound}"),
                                     ("DPoP", dpop_proof(CLIENT_KEY, "POST", url, bound))])
        assert answer.status == 403
        found = challenges(answer.headers["www-authenticate"])
        assert (error_of(found["Bearer"]), error_of(found["DPoP"])) == (None, "insufficient_scope")
        answer = send(port, "/mcp", [("Host", "x"), ("Authorization", f"Bearer {token(url, scope='read', bound=False)}")])
        assert answer.status == 403
        found = challenges(answer.headers["www-authenticate"])
        assert (error_of(found["Bearer"]), error_of(found["DPoP"])) == ("insufficient_scope", None)


def named(verifiers: list[Any]) -> Any:
    """MultiAuth's verifiers, named where FastMCP takes names (4.x: two verifiers of one issuer
    would otherwise get the same source id)."""
    import fastmcp

    if int(fastmcp.__version__.split(".")[0]) >= 4:
        return {f"source-{i}": v for i, v in enumerate(verifiers)}
    return verifiers


@contextlib.contextmanager
def multiauth(first: dict[str, Any], second: dict[str, Any]) -> Iterator[Running]:
    """FastMCP's MultiAuth (jwtgate's subclass) of two jwtgate verifiers."""
    from jwtgate.fastmcp import JWTVerifier, MultiAuth

    def factory(base: str) -> Any:
        resource = f"{base}/mcp"
        return fastmcp_app(MultiAuth(verifiers=named([JWTVerifier(audience=resource, **first),
                                                      JWTVerifier(audience=resource, **second)]),
                                     base_url=base, required_scopes=["tools:call"]))

    with serve(factory) as base:
        yield Running(base=base, resource=f"{base}/mcp")


@pytest.mark.skipif(not fastmcp_multiauth(), reason="MultiAuth needs FastMCP 3.1 or later")
def test_a_replayed_proof_refused_by_one_verifier_is_not_accepted_by_the_next() -> None:
    """Two verifiers that both verify the token (the same issuer, keys configured two ways):
    each remembers the proofs it checked. A proof replayed to the server is refused by the
    first, and that is final: the second never sees it."""
    first = {"issuer": ISS, "jwks": IDP_KEY.public_jwks()}
    second = {"issuer": ISS, "jwks": IDP_KEY.public_jwks(), "dpop_iat_window": 60}
    with multiauth(first, second) as server:
        bound = token(server.resource)
        proof = dpop_proof(CLIENT_KEY, "POST", server.url, bound)
        request = [("Host", "x"), ("Authorization", f"DPoP {bound}"), ("DPoP", proof)]
        assert send(server.port, "/mcp", request).status == 200
        replayed = send(server.port, "/mcp", request)
        assert replayed.status == 401
        assert error_of(challenges(replayed.headers["www-authenticate"])["DPoP"]) == "invalid_dpop_proof"


@pytest.mark.skipif(not fastmcp_multiauth(), reason="MultiAuth needs FastMCP 3.1 or later")
def test_the_nonce_comes_from_the_verifier_that_asked_for_it() -> None:
    """The second verifier requires server nonces, the first (another issuer) none: the
    answer carries the second's nonce, which it then accepts; a verifier after it that needs no
    nonce never accepts the proof without one."""
    first = {"issuer": OTHER_ISS, "jwks": OTHER_KEY.public_jwks()}
    second = {"issuer": ISS, "jwks": IDP_KEY.public_jwks(), "dpop_nonce": True}
    with multiauth(first, second) as server:
        bound = token(server.resource)
        request = [("Host", "x"), ("Authorization", f"DPoP {bound}")]
        asked = send(server.port, "/mcp", [*request, ("DPoP", dpop_proof(CLIENT_KEY, "POST", server.url, bound))])
        assert asked.status == 401
        assert error_of(challenges(asked.headers["www-authenticate"])["DPoP"]) == "use_dpop_nonce"
        nonce = asked.headers["dpop-nonce"]
        proof = dpop_proof(CLIENT_KEY, "POST", server.url, bound, nonce=nonce)
        assert send(server.port, "/mcp", [*request, ("DPoP", proof)]).status == 200
    third = {"issuer": ISS, "jwks": IDP_KEY.public_jwks(), "dpop_nonce": True}
    fourth = {"issuer": ISS, "jwks": IDP_KEY.public_jwks()}
    with multiauth(third, fourth) as server:
        bound = token(server.resource)
        answer = send(server.port, "/mcp", [("Host", "x"), ("Authorization", f"DPoP {bound}"),
                                            ("DPoP", dpop_proof(CLIENT_KEY, "POST", server.url, bound))])
        assert answer.status == 401 and "dpop-nonce" in answer.headers


@pytest.mark.parametrize("recipe", RECIPES)
async def test_dpop_required_outside_the_middleware_refuses_every_token(recipe: str, caplog: Any) -> None:
    """`verify_token` called by a framework outside jwtgate's middleware (no request: FastMCP's
    own RemoteAuthProvider, an OAuth proxy, the SDK's own app) checks the token alone, and with
    `dpop="required"` the core refuses every token there (`dpop_proof_missing`): there is no
    proof to check."""
    if recipe == "fastmcp":
        from jwtgate.fastmcp import JWTVerifier as Adapter
    else:
        from jwtgate.mcp import TokenVerifier as Adapter  # type: ignore[assignment]
    required = Adapter(issuer=ISS, audience="https://mcp.requests.test/mcp", jwks=IDP_KEY.public_jwks(),
                       dpop="required")
    allowed = Adapter(issuer=ISS, audience="https://mcp.requests.test/mcp", jwks=IDP_KEY.public_jwks())
    plain = token("https://mcp.requests.test/mcp", bound=False)
    with caplog.at_level(logging.DEBUG):
        assert await required.verify_token(plain) is None
        assert await required.verify_token(token("https://mcp.requests.test/mcp")) is None
    assert "dpop_proof_missing" in caplog.text
    assert (await allowed.verify_token(plain)) is not None
    assert await allowed.verify_token(token("https://mcp.requests.test/mcp")) is None
