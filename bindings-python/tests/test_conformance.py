"""The cross-language conformance fixtures (``tests/conformance/cases.json``, written by
``tests/conformance/generate.mjs``; ``requests.json``, the request path with DPoP proofs, written
by ``generate-requests.mjs``) through the Python package: every case must end as it does in Rust
(``core/tests/conformance.rs``) and Node — accepted with the same identity facts, or rejected
with the same code and claim; waits and configurations with the same code."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import jwtgate
from jwtgate._errors import CLASS_BY_CODE

from .conftest import REPO
from .test_hostile_input import OPTIONS as PYTHON_OPTIONS

FIXTURES: dict[str, Any] = json.loads((REPO / "tests" / "conformance" / "cases.json").read_text())
REQUESTS: dict[str, Any] = json.loads((REPO / "tests" / "conformance" / "requests.json").read_text())

# The fixtures use the Node option names; each maps to one Python keyword.
NODE_TO_PYTHON = {
    "issuer": "issuer",
    "audience": "audience",
    "audienceMatch": "audience_match",
    "jwks": "jwks",
    "jwksUri": "jwks_uri",
    "publicKey": "public_key",
    "hmacSecret": "hmac_secret",
    "algorithms": "algorithms",
    "requiredScopes": "required_scopes",
    "scopeImplies": "scope_implies",
    "scopeClaims": "scope_claims",
    "clientIdClaims": "client_id_claims",
    "idToken": "id_token",
    "introspection": "introspection",
    "providers": "providers",
    "requiredClaims": "require_claims",
    "typ": "typ",
    "clockTolerance": "leeway",
    "staticTokens": "static_tokens",
    "cacheSize": "cache_size",
    "maxTokenBytes": "max_token_bytes",
    "fetchTimeout": "fetch_timeout",
    "refreshCooldown": "refresh_cooldown",
    "maxStale": "max_stale",
    "dpop": "dpop",
    "dpopAlgorithms": "dpop_algorithms",
    "dpopIatWindow": "dpop_iat_window",
    "dpopNonce": "dpop_nonce",
    "dpopNonceSecret": "dpop_nonce_secret",
    "dpopReplayCacheSize": "dpop_replay_cache_size",
    "allowInsecureHttp": "allow_insecure_http",
    "insecureSkipAudienceCheck": "insecure_skip_audience_check",
    "insecureAllowMissingExp": "insecure_allow_missing_exp",
}

# The keys of the introspection option.
INTROSPECTION_KEYS = {"clientId": "client_id", "clientSecret": "client_secret", "endpoint": "endpoint",
                      "clientAuth": "client_auth", "jwts": "jwts", "cacheTtl": "cache_ttl",
                      "cacheSize": "cache_size", "maxConcurrent": "max_concurrent"}

# Codes only a live provider gives (the provider's own answer): tests/test_introspection.py gets
# them from the real identity provider.
NEEDS_A_LIVE_PROVIDER = {"token_inactive"}

# Options the shared fixtures do not exercise (yet): tested here in tests/test_providers.py.
NOT_IN_FIXTURES_YET = {"dpopNonceSecret"}


def base64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def static_identity(token: dict[str, Any]) -> dict[str, Any]:
    identity = {"client_id": token["clientId"], "scopes": token["scopes"]}
    if "audience" in token:
        identity["audience"] = token["audience"]
    return identity


def keywords(options: dict[str, Any]) -> dict[str, Any]:
    """A fixture's options as ``jwtgate.Verifier`` keyword arguments."""
    out: dict[str, Any] = {}
    for name, value in options.items():
        assert name in NODE_TO_PYTHON, f"option {name} is not mapped in this runner"
        if name == "hmacSecret":
            value = base64url(value)
        elif name == "staticTokens":
            value = {t["token"]: static_identity(t) for t in value}
        elif name == "providers":
            value = [keywords(provider) for provider in value]
        elif name == "introspection":
            value = {INTROSPECTION_KEYS[k]: v for k, v in value.items()}
        out[NODE_TO_PYTHON[name]] = value
    return out


def identity(claims: jwtgate.Claims) -> dict[str, Any]:
    """The identity facts every language reports for an accepted credential."""
    return {
        "sub": claims.sub,
        "clientId": claims.client_id,
        "scopes": claims.scopes,
        "audienceMatched": claims.audience_matched,
        "kind": claims.kind,
    }


@pytest.fixture(scope="module")
def verifiers() -> dict[str, jwtgate.Verifier]:
    return {name: jwtgate.Verifier(**keywords(options)) for name, options in FIXTURES["verifiers"].items()}


def check_rejection(error: jwtgate.InvalidToken | jwtgate.ConfigError, code: str, name: str) -> None:
    assert error.code == code, (name, error.message)
    assert type(error) is CLASS_BY_CODE[code], (name, type(error))
    row = next(info for info in jwtgate.error_codes() if info.code == code)
    assert (error.status, error.client_description, error.hint) == (row.status, row.client_description, row.hint)


@pytest.mark.parametrize("case", FIXTURES["cases"], ids=[c["name"] for c in FIXTURES["cases"]])
def test_case(case: dict[str, Any], verifiers: dict[str, jwtgate.Verifier]) -> None:
    verifier = verifiers[case.get("verifier", "default")]
    name, code = case["name"], case["code"]
    if code is None:
        assert identity(verifier.verify_at(case["token"], FIXTURES["now"])) == case["claims"], name
        return
    with pytest.raises(jwtgate.InvalidToken) as caught:
        verifier.verify_at(case["token"], FIXTURES["now"])
    error = caught.value
    check_rejection(error, code, name)
    assert error.claim == case.get("claim"), (name, error.message)
    if "claims" in case:
        assert isinstance(error, jwtgate.InsufficientScope) and error.claims is not None
        assert identity(error.claims) == case["claims"], name


@pytest.mark.parametrize("wait", FIXTURES["waits"], ids=[w["name"] for w in FIXTURES["waits"]])
def test_wait(wait: dict[str, Any], verifiers: dict[str, jwtgate.Verifier]) -> None:
    with pytest.raises(jwtgate.KeysUnavailable) as caught:
        verifiers[wait["verifier"]].wait_ready(wait["timeout"])
    check_rejection(caught.value, wait["code"], wait["name"])


@pytest.mark.parametrize("config", FIXTURES["configs"], ids=[c["name"] for c in FIXTURES["configs"]])
def test_config(config: dict[str, Any]) -> None:
    with pytest.raises(jwtgate.ConfigError) as caught:
        jwtgate.Verifier(**keywords(config["options"]))
    check_rejection(caught.value, config["code"], config["name"])


@pytest.fixture(scope="module")
def request_verifiers() -> dict[str, jwtgate.Verifier]:
    # The cases run in order, and some depend on it (a proof's first use, then its replay).
    return {name: jwtgate.Verifier(**keywords(options)) for name, options in REQUESTS["verifiers"].items()}


@pytest.mark.parametrize("case", REQUESTS["requests"], ids=[c["name"] for c in REQUESTS["requests"]])
def test_request(case: dict[str, Any], request_verifiers: dict[str, jwtgate.Verifier]) -> None:
    verifier = request_verifiers[case["verifier"]]
    name, code = case["name"], case.get("code")
    call = (case["method"], case["url"], case["authorization"], case["dpop"])
    if code is None:
        assert identity(verifier.verify_request_at(*call, now=REQUESTS["now"])) == case["claims"], name
        return
    with pytest.raises((jwtgate.InvalidToken, jwtgate.ConfigError)) as caught:
        verifier.verify_request_at(*call, now=REQUESTS["now"])
    check_rejection(caught.value, code, name)
    assert caught.value.claim == case.get("claim"), (name, caught.value.message)


@pytest.mark.parametrize("case", REQUESTS["bearer"], ids=[c["name"] for c in REQUESTS["bearer"]])
def test_bearer(case: dict[str, Any], request_verifiers: dict[str, jwtgate.Verifier]) -> None:
    """The plain Bearer entry point (``verify_at``) of the request fixtures' verifiers: a
    DPoP-bound token, and every token where DPoP is required, is refused there."""
    verifier = request_verifiers[case["verifier"]]
    name, code = case["name"], case.get("code")
    if code is None:
        assert identity(verifier.verify_at(case["token"], REQUESTS["now"])) == case["claims"], name
        return
    with pytest.raises(jwtgate.InvalidToken) as caught:
        verifier.verify_at(case["token"], REQUESTS["now"])
    check_rejection(caught.value, code, name)
    assert caught.value.claim == case.get("claim"), (name, caught.value.message)


@pytest.mark.parametrize("config", REQUESTS["configs"], ids=[c["name"] for c in REQUESTS["configs"]])
def test_request_config(config: dict[str, Any]) -> None:
    with pytest.raises(jwtgate.ConfigError) as caught:
        jwtgate.Verifier(**keywords(config["options"]))
    check_rejection(caught.value, config["code"], config["name"])


def test_the_fixtures_cover_every_error_code_and_every_python_option() -> None:
    codes = {case["code"] for kind in ("cases", "waits", "configs") for case in FIXTURES[kind]}
    codes |= {case["code"] for kind in ("requests", "configs") for case in REQUESTS[kind] if case.get("code")}
    assert set(jwtgate.ERROR_CODES) - NEEDS_A_LIVE_PROVIDER <= codes
    used = {name for fixtures in (FIXTURES, REQUESTS) for options in fixtures["verifiers"].values() for name in options}
    used |= {name for fixtures in (FIXTURES, REQUESTS) for config in fixtures["configs"] for name in config["options"]}
    assert used | NOT_IN_FIXTURES_YET == set(NODE_TO_PYTHON)
    assert not used & NOT_IN_FIXTURES_YET, "the fixtures cover these now: take them out of NOT_IN_FIXTURES_YET"
    assert set(NODE_TO_PYTHON.values()) == set(PYTHON_OPTIONS)
