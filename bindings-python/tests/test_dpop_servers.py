"""DPoP (RFC 9449) through the adapters' real servers (tests/servers/*.py: every FastMCP recipe of
this virtualenv's FastMCP, the MCP SDK server) with DPoP-bound tokens from the real IdP
(`features.dPoP`): jwtgate's middleware passes the method, the URL and the Authorization and DPoP
headers to the core, answers with the core's challenges (the DPoP-Nonce header included), and
never accepts a bound token as a Bearer token."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

import jwtgate.fastmcp as jf
from jwtgate.testing import SigningKey, dpop_proof

from .conftest import Idp, ServerProcess, lines, post_initialize, run_server


def recipes() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    if "fastmcp" in lines():
        found += [(f"fastmcp-{kind}", ["fastmcp_server.py", "--auth", kind]) for kind in ("jwt", "remote")]
        if getattr(jf, "_FastMCPMultiAuth", None) is not None:
            found.append(("fastmcp-multi", ["fastmcp_server.py", "--auth", "multi"]))
    if "mcp" in lines():
        found.append(("mcp-sdk", ["mcp_sdk_server.py"]))
    return found


RECIPES = recipes()


@pytest.fixture(scope="module", params=[r[1] for r in RECIPES], ids=[r[0] for r in RECIPES])
def recipe(request: Any, idp: Idp, second_idp: Idp) -> Iterator[list[str]]:
    args = list(request.param)
    if args[0] == "fastmcp_server.py":
        args += ["--second-issuer", second_idp.issuer]
    yield args


@pytest.fixture(scope="module")
def server(recipe: list[str], idp: Idp) -> Iterator[ServerProcess]:
    """The recipe with jwtgate's defaults: DPoP allowed, no nonces."""
    with start(recipe, idp) as running:
        yield running


@pytest.fixture(scope="module")
def client_key() -> SigningKey:
    return SigningKey.generate("ES256", "mcp-client")


def start(recipe: list[str], idp: Idp, *extra: str) -> Any:
    return run_server(recipe[0], *recipe[1:], "--issuer", idp.issuer, "--scopes", "tools:call", *extra)


def test_bound_token_with_its_proof_is_accepted_once(server: ServerProcess, idp: Idp, client_key: SigningKey) -> None:
    token = idp.dpop_token(client_key, scope="tools:call", resource=server.resource)
    proof = dpop_proof(client_key, "POST", server.url, token)
    assert post_initialize(server.url, None, authorization=f"DPoP {token}", dpop=proof).status == 200
    replayed = post_initialize(server.url, None, authorization=f"DPoP {token}", dpop=proof)
    assert replayed.status == 401
    assert 'error="invalid_dpop_proof"' in replayed.headers["www-authenticate"]
    for proof in (dpop_proof(client_key, "GET", server.url, token),
                  dpop_proof(client_key, "POST", server.url + "/other", token),
                  dpop_proof(SigningKey.generate("ES256", "thief"), "POST", server.url, token)):
        refused = post_initialize(server.url, None, authorization=f"DPoP {token}", dpop=proof)
        assert refused.status == 401 and "DPoP" in refused.headers["www-authenticate"]


def test_bound_token_as_bearer_is_refused(server: ServerProcess, idp: Idp, client_key: SigningKey) -> None:
    token = idp.dpop_token(client_key, scope="tools:call", resource=server.resource)
    for proof in (None, dpop_proof(client_key, "POST", server.url, token)):
        response = post_initialize(server.url, token, dpop=proof)
        assert response.status == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_required_mode_and_server_nonces(recipe: list[str], idp: Idp, client_key: SigningKey) -> None:
    with start(recipe, idp, "--dpop", "required", "--dpop-nonce") as server:
        bearer = post_initialize(server.url, idp.token("RS256", scope="tools:call", resource=server.resource))
        assert bearer.status == 401 and "DPoP" in bearer.headers["www-authenticate"]
        token = idp.dpop_token(client_key, scope="tools:call", resource=server.resource)
        first = post_initialize(server.url, None, authorization=f"DPoP {token}",
                                dpop=dpop_proof(client_key, "POST", server.url, token))
        assert first.status == 401 and 'error="use_dpop_nonce"' in first.headers["www-authenticate"]
        nonce = first.headers["dpop-nonce"]
        second = post_initialize(server.url, None, authorization=f"DPoP {token}",
                                 dpop=dpop_proof(client_key, "POST", server.url, token, nonce=nonce))
        assert second.status == 200


def test_missing_scope_with_a_bound_token_is_403(server: ServerProcess, idp: Idp, client_key: SigningKey) -> None:
    token = idp.dpop_token(client_key, scope="read", resource=server.resource)
    response = post_initialize(server.url, None, authorization=f"DPoP {token}",
                               dpop=dpop_proof(client_key, "POST", server.url, token))
    assert response.status == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
