"""The adapters' AccessToken (FastMCP's and the MCP SDK's), assembled without pydantic's
validation and kept per credential: each must equal the model validated from the same values,
behave as a model (copies, dumps, assignment), and be a request's own — what one request changes
never reaches the next; a refused or expired token is never answered from what was kept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import jwtgate
from jwtgate.testing import SigningKey

from .conftest import lines

ISS = "https://idp.example.test"
AUD = "https://mcp.example.test/mcp"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("ES256", "access-tokens")


def adapters(key: SigningKey, **options: Any) -> list[tuple[str, Any, type]]:
    """(name, verifier, the framework's AccessToken) for each adapter line of this venv."""
    found: list[tuple[str, Any, type]] = []
    if "fastmcp" in lines():
        from fastmcp.server.auth import AccessToken as FastMCPAccessToken

        from jwtgate.fastmcp import JWTVerifier

        found.append(("fastmcp", JWTVerifier(jwks=key.public_jwks(), issuer=ISS, audience=AUD, **options),
                      FastMCPAccessToken))
    if "mcp" in lines():
        from mcp.server.auth.provider import AccessToken as SdkAccessToken

        from jwtgate.mcp import TokenVerifier

        found.append(("mcp", TokenVerifier(jwks=key.public_jwks(), issuer=ISS, audience=AUD, **options),
                      SdkAccessToken))
    return found


def mint(key: SigningKey, **extra: Any) -> str:
    now = jwtgate.now_unix()
    claims = {"iss": ISS, "aud": AUD, "sub": "alice", "client_id": "app", "scope": "tools:call read",
              "exp": now + 300, "tenant": {"id": 7, "tags": ["a"]}}
    claims.update(extra)
    return key.mint({k: v for k, v in claims.items() if v is not None})


@pytest.mark.parametrize("cache_size", [None, 0])
async def test_equals_the_validated_model_and_behaves_as_one(key: SigningKey, cache_size: Any) -> None:
    token = mint(key)
    for name, verifier, model in adapters(key, cache_size=cache_size):
        first = await verifier.verify_token(token)
        again = await verifier.verify_token((token + " ")[:-1])  # kept, for another str object
        fields = model.model_fields
        values = {"token": token, "client_id": "app", "scopes": ["tools:call", "read"],
                  "expires_at": first.expires_at, "resource": AUD, "subject": "alice",
                  "claims": dict(first.claims) if "claims" in fields else None}
        validated = model(**{k: v for k, v in values.items() if k in fields})
        for access in (first, again):
            assert type(access) is model, name
            assert access == validated, name
            assert access.model_dump() == validated.model_dump(), name
            assert access.model_fields_set == validated.model_fields_set, name
            assert list(access.__dict__) == list(validated.__dict__), name
            copy = access.model_copy(update={"client_id": "other"}, deep=True)
            assert copy.client_id == "other" and access.client_id == "app", name
            access.scopes = [*access.scopes, "assigned"]  # plain assignment, as a framework may
            assert "scopes" in access.model_fields_set, name


async def test_each_request_gets_its_own_token(key: SigningKey) -> None:
    token = mint(key)
    for name, verifier, model in adapters(key):
        first = await verifier.verify_token(token)
        first.scopes.append("added")
        if "claims" in model.model_fields:
            first.claims["upstream_claims"] = {"x": 1}  # what FastMCP's OAuthProxy adds
            first.claims["tenant"] = "replaced"
        first.client_id = "changed"
        second = await verifier.verify_token(token)
        assert second is not first, name
        assert second.scopes == ["tools:call", "read"], name
        assert second.client_id == "app", name
        if "claims" in model.model_fields:
            assert "upstream_claims" not in second.claims and second.claims["tenant"] == {"id": 7, "tags": ["a"]}, name
            assert second.claims is not first.claims, name


async def test_the_core_decides_every_time(key: SigningKey) -> None:
    """What is kept is used only after the core accepted the token again in the same call: a
    token that expired since, or another text, is refused or converted on its own."""
    now = jwtgate.now_unix()
    short = mint(key, exp=now + 2)
    other = mint(key, sub="bob")
    tampered = short[:-4] + ("AAAA" if not short.endswith("AAAA") else "BBBB")
    found = adapters(key)
    for name, verifier, _ in found:
        assert (await verifier.verify_token(short)).subject == "alice", name
        assert (await verifier.verify_token(other)).subject == "bob", name
        assert (await verifier.verify_token(short)).subject == "alice", name
        assert (await verifier.verify_token(tampered)) is None, name
    await asyncio.sleep(3.2)
    for name, verifier, _ in found:
        assert (await verifier.verify_token(short)) is None, name
        assert (await verifier.verify_token(other)).subject == "bob", name


async def test_cache_answers_are_counted_once_and_refusals_kept(key: SigningKey) -> None:
    """``verify_token`` asks the core's cache first (the GIL held) and falls back to the full
    verification: each call is one verification in the core's counts, and a credential the core
    refuses on its cached path (a DPoP-bound token presented without its proof, RFC 9449 §7.2)
    is refused, once."""
    token = mint(key)
    for name, verifier, _ in adapters(key):
        core = verifier.verifier
        assert (await verifier.verify_token(token)) is not None, name
        before = core.stats()
        for _ in range(3):
            assert (await verifier.verify_token((token + " ")[:-1])).subject == "alice", name
        after = core.stats()
        assert after.cache_hits - before.cache_hits == 3, name
        assert after.verified == before.verified and after.cache_misses == before.cache_misses, name
    bound = mint(key, cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
    for name, verifier, _ in adapters(key, dpop="allowed"):
        core = verifier.verifier
        assert (await verifier.verify_token(bound)) is None, name  # refused: no proof
        before = core.stats()
        assert (await verifier.verify_token(bound)) is None, name
        after = core.stats()
        assert after.rejected - before.rejected == 1, (name, before.to_dict(), after.to_dict())
