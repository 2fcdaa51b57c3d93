"""The MCP resource-server pieces of the core as Python sees them: audience_match, scope_implies,
Claims.granted_scopes / require_scopes, ProtectedResource (RFC 9728 document, path-aware URL)
and its RFC 6750 challenges built from the exceptions jwtgate raised."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import jwtgate
from jwtgate.testing import SigningKey, jwks

ISS = "https://idp.example.test"
RESOURCE = "https://mcp.example.test/mcp"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("ES256", "es-1")


def mint(key: SigningKey, **claims: Any) -> str:
    now = jwtgate.now_unix()
    base = {"iss": ISS, "aud": RESOURCE, "sub": "alice", "scope": "tools:call", "iat": now, "exp": now + 300}
    base.update(claims)
    return key.mint({k: v for k, v in base.items() if v is not None})


def verifier(key: SigningKey, **options: Any) -> jwtgate.Verifier:
    options.setdefault("audience", RESOURCE)
    return jwtgate.Verifier(issuer=ISS, jwks=jwks(key), **options)


# --- audience_match ---------------------------------------------------------------------------


@pytest.mark.parametrize("aud", ["https://MCP.Example.Test/mcp", "https://mcp.example.test:443/mcp",
                                 "https://mcp.example.test/mcp/", "HTTPS://mcp.example.test/mcp"])
def test_canonical_audiences_match_spellings_of_the_same_uri(key, aud: str) -> None:
    token = mint(key, aud=aud)
    claims = verifier(key, audience_match="canonical").verify(token)
    assert claims.audience_matched == RESOURCE
    with pytest.raises(jwtgate.InvalidToken) as e:
        verifier(key).verify(token)  # exact is the default
    assert e.value.code == "audience_mismatch"


@pytest.mark.parametrize("aud", ["https://mcp.example.test/MCP", "https://mcp.example.test:8443/mcp",
                                 "http://mcp.example.test/mcp", "https://mcp.example.test/mcp/x"])
def test_canonical_audiences_still_refuse_other_uris(key, aud: str) -> None:
    with pytest.raises(jwtgate.InvalidToken) as e:
        verifier(key, audience_match="canonical").verify(mint(key, aud=aud))
    assert e.value.code == "audience_mismatch"


def test_audience_match_is_checked(key) -> None:
    with pytest.raises(jwtgate.ConfigError, match="exact.*canonical"):
        verifier(key, audience_match="loose")
    with pytest.raises(TypeError):
        verifier(key, audience_match=True)


# --- scope_implies ----------------------------------------------------------------------------


def test_scope_hierarchy_satisfies_required_scopes_transitively(key) -> None:
    v = verifier(key, required_scopes=["files:read"],
                 scope_implies={"admin": "files:write", "files:write": ["files:read"]})
    claims = v.verify(mint(key, scope="admin"))
    assert claims.scopes == ["admin"]
    assert claims.granted_scopes == ["admin", "files:write", "files:read"]
    assert claims.has_scope("files:read") and not claims.has_scope("other")
    with pytest.raises(jwtgate.InsufficientScope) as e:
        v.verify(mint(key, scope="unrelated"))
    assert e.value.detail is not None and e.value.detail["missing_scopes"] == ["files:read"]


def test_star_grants_every_scope_without_listing_it(key) -> None:
    v = verifier(key, required_scopes=["anything"], scope_implies={"root": ["*"]})
    claims = v.verify(mint(key, scope="root"))
    assert claims.granted_scopes == ["root"]
    assert claims.has_scope("anything") and claims.has_scope("else")
    claims.require_scopes(["x", "y"])


def test_no_hierarchy_unless_configured(key) -> None:
    with pytest.raises(jwtgate.InsufficientScope):
        verifier(key, required_scopes=["files:read"]).verify(mint(key, scope="files:write"))


def test_require_scopes_raises_the_cores_insufficient_scope(key) -> None:
    claims = verifier(key, scope_implies={"w": "r"}).verify(mint(key, scope="w"))
    claims.require_scopes("r w")
    with pytest.raises(jwtgate.InsufficientScope) as e:
        claims.require_scopes(["r", "x", "y"])
    assert e.value.status == 403
    assert e.value.detail is not None and e.value.detail["missing_scopes"] == ["x", "y"]


@pytest.mark.parametrize("bad", [["a", "b"], "admin", 3])
def test_scope_implies_shape_is_checked(key, bad: Any) -> None:
    with pytest.raises(TypeError, match="scope_implies"):
        verifier(key, scope_implies=bad)


# --- ProtectedResource ------------------------------------------------------------------------


def test_metadata_document_and_its_path_aware_url() -> None:
    r = jwtgate.ProtectedResource(RESOURCE, [ISS], ["tools:call", "offline_access"])
    assert r.resource == RESOURCE
    assert r.metadata_url == "https://mcp.example.test/.well-known/oauth-protected-resource/mcp"
    assert r.metadata_path == "/.well-known/oauth-protected-resource/mcp"
    assert r.metadata() == {
        "resource": RESOURCE,
        "authorization_servers": [ISS],
        "scopes_supported": ["tools:call"],
        "bearer_methods_supported": ["header"],
    }
    assert r.metadata_json().startswith("{")


def test_loopback_http_resource_is_allowed_other_http_is_not() -> None:
    assert jwtgate.ProtectedResource("http://127.0.0.1:8000/mcp", [ISS]).metadata_url == \
        "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.ProtectedResource("http://mcp.example.test/mcp", [ISS])
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.ProtectedResource("https://mcp.example.test/mcp?x=1", [ISS])


def test_challenge_without_credential_has_no_error() -> None:
    r = jwtgate.ProtectedResource(RESOURCE, [ISS], ["tools:call"])
    c = r.challenge(None, ["tools:call", "read"])
    assert c.status == 401 and c.dpop_nonce is None
    assert c.www_authenticate == (
        'Bearer resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp", '
        'scope="tools:call read"'
    )
    assert c.headers() == [("WWW-Authenticate", c.www_authenticate)]


def test_challenges_from_the_exceptions_jwtgate_raised(key) -> None:
    r = jwtgate.ProtectedResource(RESOURCE, [ISS], ["tools:call"])
    v = verifier(key, required_scopes=["tools:call"])
    with pytest.raises(jwtgate.InsufficientScope) as scope_error:
        v.verify(mint(key, scope="read"))
    c = r.challenge(scope_error.value, ["tools:call"])
    assert c.status == 403
    assert c.www_authenticate is not None
    assert 'error="insufficient_scope"' in c.www_authenticate and 'scope="tools:call"' in c.www_authenticate
    with pytest.raises(jwtgate.ExpiredToken) as expired:
        v.verify(mint(key, exp=jwtgate.now_unix() - 10))
    c = r.challenge(expired.value)
    assert c.status == 401 and 'error="invalid_token"' in (c.www_authenticate or "")
    # The client learns the code's fixed description, never the operator's message.
    assert expired.value.message not in (c.www_authenticate or "")


def test_keys_unavailable_is_503_without_a_challenge() -> None:
    v = jwtgate.Verifier(issuer="http://127.0.0.1:9", audience=RESOURCE, fetch_timeout=0.2)
    with pytest.raises(jwtgate.KeysUnavailable) as e:
        v.verify("a.b.c")
    c = jwtgate.ProtectedResource(RESOURCE, [ISS]).challenge(e.value, ["tools:call"])
    assert c.status == 503 and c.www_authenticate is None and c.headers() == []


def test_challenge_needs_an_exception_jwtgate_raised(key) -> None:
    r = jwtgate.ProtectedResource(RESOURCE, [ISS])
    with pytest.raises(TypeError, match="raised by jwtgate"):
        r.challenge(jwtgate.InvalidToken("built here", code="token_expired"))
    with pytest.raises(jwtgate.ExpiredToken) as e:
        verifier(key).verify(mint(key, exp=jwtgate.now_unix() - 10))
    copy = pickle.loads(pickle.dumps(e.value))  # the core's error is not pickled
    assert copy.code == "token_expired"
    with pytest.raises(TypeError):
        r.challenge(copy)
