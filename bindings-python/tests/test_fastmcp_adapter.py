"""jwtgate.fastmcp.JWTVerifier.verify_token without a server: FastMCP's keyword arguments, the
AccessToken it returns, and the claims checks FastMCP's own JWTVerifier lacks."""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastmcp.server.auth import AccessToken, TokenVerifier
from jwt import PyJWK

import jwtgate
from jwtgate.fastmcp import JWTVerifier
from jwtgate.testing import SigningKey, jwks

ISS = "https://idp.example.test"
AUD = "https://mcp.example.test/mcp"


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg, f"k-{alg}") for alg in ["RS256", "ES256", "EdDSA"]}


def pem(key: SigningKey) -> str:
    public = PyJWK(key.public_jwk()).key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def claims(**extra: Any) -> dict[str, Any]:
    now = jwtgate.now_unix()
    out = {"iss": ISS, "aud": AUD, "sub": "alice", "client_id": "app", "scope": "tools:call", "exp": now + 300}
    out.update(extra)
    return {k: v for k, v in out.items() if v is not None}


async def test_fastmcp_keyword_arguments_and_access_token(keys) -> None:
    key = keys["RS256"]
    verifier = JWTVerifier(public_key=pem(key), issuer=ISS, audience=AUD, algorithm="RS256",
                           required_scopes="tools:call", base_url="https://mcp.example.test")
    assert isinstance(verifier, TokenVerifier) and verifier.required_scopes == ["tools:call"]
    token = key.mint(claims(tenant="t1"))
    access = await verifier.verify_token(token)
    assert isinstance(access, AccessToken)
    assert (access.token, access.client_id, access.scopes, access.subject) == (token, "app", ["tools:call"], "alice")
    assert access.resource == AUD and access.expires_at == access.claims["exp"]
    assert access.claims["tenant"] == "t1"
    assert access.model_dump()["claims"]["iss"] == ISS


async def test_invalid_tokens_are_none_with_the_code_logged(keys, caplog) -> None:
    verifier = JWTVerifier(jwks=jwks(*keys.values()), issuer=ISS, audience=AUD, required_scopes=["tools:call"])
    with caplog.at_level(logging.DEBUG, logger="jwtgate.fastmcp"):
        assert await verifier.verify_token(keys["ES256"].mint(claims(iss="https://evil.test"))) is None
        assert await verifier.verify_token(keys["ES256"].mint(claims(scope="read"))) is None
        assert await verifier.verify_token("garbage") is None
    text = caplog.text
    assert "(issuer_mismatch)" in text and "(insufficient_scope)" in text and "(token_malformed)" in text


async def test_nbf_in_the_future_is_rejected(keys) -> None:
    verifier = JWTVerifier(jwks=keys["ES256"].public_jwks(), issuer=ISS, audience=AUD)
    assert await verifier.verify_token(keys["ES256"].mint(claims(nbf=jwtgate.now_unix() + 60))) is None


async def test_leeway_is_honoured(keys) -> None:
    now = jwtgate.now_unix()
    token = keys["ES256"].mint(claims(exp=now - 10, nbf=now - 100))
    early = keys["ES256"].mint(claims(nbf=now + 10))
    strict = JWTVerifier(jwks=keys["ES256"].public_jwks(), issuer=ISS, audience=AUD)
    lenient = JWTVerifier(jwks=keys["ES256"].public_jwks(), issuer=ISS, audience=AUD, leeway=30)
    assert await strict.verify_token(token) is None and await strict.verify_token(early) is None
    assert await lenient.verify_token(token) is not None and await lenient.verify_token(early) is not None


async def test_exp_is_required(keys) -> None:
    verifier = JWTVerifier(public_key=pem(keys["EdDSA"]), algorithm="EdDSA", issuer=ISS, audience=AUD)
    assert await verifier.verify_token(keys["EdDSA"].mint(claims())) is not None
    assert await verifier.verify_token(keys["EdDSA"].mint(claims(exp=None))) is None


async def test_several_algorithms_in_one_verifier(keys) -> None:
    verifier = JWTVerifier(jwks=jwks(*keys.values()), issuer=ISS, audience=AUD,
                           algorithms=["RS256", "ES256", "EdDSA"])
    for key in keys.values():
        access = await verifier.verify_token(key.mint(claims()))
        assert access is not None and access.subject == "alice"


async def test_hs256_shared_secret_as_public_key() -> None:
    key = SigningKey.hmac("HS256", "h", b"s" * 32)
    verifier = JWTVerifier(public_key="s" * 32, algorithm="HS256", issuer=ISS, audience=AUD)
    assert await verifier.verify_token(key.mint(claims())) is not None


async def test_audience_none_skips_the_check_with_a_warning(keys, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        verifier = JWTVerifier(jwks=keys["RS256"].public_jwks(), issuer=ISS)
    assert any("audience check disabled" in r.getMessage() for r in caplog.records), caplog.text
    access = await verifier.verify_token(keys["RS256"].mint(claims(aud=["a", "b"])))
    assert access is not None and access.resource is None


async def test_resource_is_the_matching_audience(keys) -> None:
    verifier = JWTVerifier(jwks=keys["RS256"].public_jwks(), issuer=ISS, audience=["x", AUD])
    access = await verifier.verify_token(keys["RS256"].mint(claims(aud=["other", AUD])))
    assert access is not None and access.resource == AUD


async def test_client_id_is_the_cores_and_empty_when_the_token_names_none(keys) -> None:
    verifier = JWTVerifier(jwks=keys["RS256"].public_jwks(), issuer=ISS, audience=AUD)
    azp = await verifier.verify_token(keys["RS256"].mint(claims(client_id=None, azp="web")))
    nobody = await verifier.verify_token(keys["RS256"].mint(claims(client_id=None, sub=None)))
    assert azp is not None and azp.client_id == "web"
    assert nobody is not None and nobody.client_id == "" and nobody.subject is None


async def test_static_token_resource_is_its_configured_audience() -> None:
    verifier = JWTVerifier(static_tokens={"api-key-2": {"client_id": "bot", "audience": AUD}}, issuer=ISS,
                           audience=AUD, jwks=SigningKey.generate("ES256", "e").public_jwks())
    access = await verifier.verify_token("api-key-2")
    assert access is not None and (access.client_id, access.resource) == ("bot", AUD)


async def test_static_tokens() -> None:
    verifier = JWTVerifier(static_tokens={"api-key-1": {"client_id": "bot", "scopes": ["a"]}}, issuer=ISS,
                           audience=AUD, jwks=SigningKey.generate("ES256", "e").public_jwks())
    access = await verifier.verify_token("api-key-1")
    assert access is not None and (access.client_id, access.scopes, access.claims) == ("bot", ["a"], {})


def test_configuration_errors(keys) -> None:
    with pytest.raises(jwtgate.ConfigError):
        JWTVerifier(jwks=keys["RS256"].public_jwks(), issuer=ISS, audience=AUD, ssrf_safe=True)
    with pytest.raises(jwtgate.ConfigError):
        JWTVerifier(jwks=keys["RS256"].public_jwks(), issuer=ISS, audience=AUD, algorithm="RS256",
                    algorithms=["RS256"])
    with pytest.raises(ValueError):  # FastMCP users catch ValueError
        JWTVerifier(public_key="nope", issuer=ISS, audience=AUD)
    with pytest.raises(jwtgate.ConfigError):
        JWTVerifier(jwks=keys["RS256"].public_jwks(), audience=AUD)  # issuer required
    with pytest.raises(jwtgate.ConfigError):
        JWTVerifier(verifier=jwtgate.Verifier(static_tokens={"k": "c"}), issuer=ISS)


async def test_from_env(monkeypatch) -> None:
    monkeypatch.setenv("APP_BEARER_TOKEN", "env-token")
    verifier = JWTVerifier.from_env("APP_", base_url="https://mcp.example.test")
    access = await verifier.verify_token("env-token")
    assert access is not None and access.client_id == "bearer-token"


async def test_from_env_default_prefix_ignores_generic_api_key(monkeypatch) -> None:
    """An unrelated API_KEY in the environment never becomes a credential of the server."""
    for name in list(os.environ):
        if name.startswith("MCP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("API_KEY", "x")
    monkeypatch.setenv("MCP_BEARER_TOKEN", "mcp-token")
    verifier = JWTVerifier.from_env(base_url="https://mcp.example.test")
    assert await verifier.verify_token("x") is None
    access = await verifier.verify_token("mcp-token")
    assert access is not None and access.client_id == "bearer-token"
    with pytest.raises(jwtgate.ConfigError) as e:
        JWTVerifier.from_env("")
    assert e.value.code == "config_invalid"


async def test_access_tokens_equal_validated_ones_and_are_not_shared(keys) -> None:
    verifier = JWTVerifier(jwks=keys["ES256"].public_jwks(), issuer=ISS, audience=AUD)
    token = keys["ES256"].mint(claims(act={"sub": "agent"}))
    first = await verifier.verify_token(token)
    second = await verifier.verify_token(token)
    assert first is not None and second is not None and first is not second
    validated = AccessToken(**first.model_dump())
    assert first == validated and second == validated
    assert first.model_dump() == validated.model_dump() and first.model_fields_set >= {"token", "claims"}
    first.claims["upstream_claims"] = {"x": 1}  # what FastMCP's OAuthProxy does
    third = await verifier.verify_token(token)
    assert third is not None and "upstream_claims" not in third.claims and "upstream_claims" not in second.claims


async def test_setting_the_audience_rebuilds_the_core_verifier(keys) -> None:
    """FastMCP's providers bind a verifier to the server's resource by setting `audience`: the
    core verifier then checks that audience (canonically, the adapter's default)."""
    verifier = JWTVerifier(jwks=keys["ES256"].public_jwks(), issuer=ISS, audience="https://other.test/")
    token = keys["ES256"].mint(claims(aud="https://MCP.example.test/mcp/"))
    assert await verifier.verify_token(token) is None
    verifier.audience = AUD
    assert verifier.audience == AUD
    access = await verifier.verify_token(token)
    assert access is not None and access.resource == AUD


def test_an_audience_this_object_does_not_own_is_refused_clearly() -> None:
    verifier = JWTVerifier(verifier=jwtgate.Verifier(static_tokens={"k": "c"}))
    with pytest.raises(jwtgate.ConfigError, match="verifier=.*audience"):
        verifier.audience = "https://mcp.example.test/other"


def test_multi_auth_needs_fastmcp_3_1() -> None:
    import jwtgate.fastmcp as jf

    if jf._FastMCPMultiAuth is None:
        with pytest.raises(jwtgate.ConfigError, match="MultiAuth needs FastMCP 3.1"):
            jf.MultiAuth(verifiers=[])
    else:
        assert issubclass(jf.MultiAuth, jf._FastMCPMultiAuth)


def test_the_verifier_is_fastmcps_jwtverifier_to_fastmcp(keys) -> None:
    """What FastMCP's MultiAuth reads for the source id (issuer, jwks_uri), from the core for
    a verifier built elsewhere."""
    from fastmcp.server.auth.providers.jwt import JWTVerifier as FastMCPJWTVerifier

    verifier = JWTVerifier(issuer=ISS, audience=AUD, jwks_uri="https://idp.example.test/jwks")
    assert isinstance(verifier, FastMCPJWTVerifier)
    assert (verifier.issuer, verifier.jwks_uri) == (ISS, "https://idp.example.test/jwks")
    wrapped = JWTVerifier(verifier=jwtgate.Verifier(issuer=[ISS], audience=AUD, jwks=keys["ES256"].public_jwks()))
    assert wrapped.issuer == ISS


def test_protect_installs_jwtgates_middleware_once(keys) -> None:
    from fastmcp.server.auth import RemoteAuthProvider
    from pydantic import AnyHttpUrl

    import jwtgate.fastmcp as jf
    from jwtgate._asgi import AuthMiddleware

    provider = RemoteAuthProvider(token_verifier=JWTVerifier(jwks=keys["ES256"].public_jwks(), issuer=ISS, audience=AUD),
                                  authorization_servers=[AnyHttpUrl(ISS)], base_url="https://mcp.example.test")
    assert jf.protect(jf.protect(provider)) is provider
    middleware = provider.get_middleware()
    assert [m.cls for m in middleware].count(AuthMiddleware) == 1
    routes = provider.get_routes("/mcp")
    assert [r.path for r in routes if r.path.startswith("/.well-known/oauth-protected-resource")] == [
        "/.well-known/oauth-protected-resource/mcp"
    ]
    with pytest.raises(TypeError):
        jf.protect(object())
