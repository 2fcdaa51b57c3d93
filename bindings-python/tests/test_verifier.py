"""jwtgate.Verifier: options, results, every error code, threads, async, keys."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import pickle
import socket
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

import jwtgate
from jwtgate.testing import SigningKey, jwks

from .conftest import RESOURCE, Idp

ISS = "https://idp.example.test"
AUD = "https://mcp.example.test/"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg, f"{alg.lower()}-1") for alg in ["RS256", "PS256", "ES256", "EdDSA"]}


@pytest.fixture(scope="module")
def verifier(keys) -> jwtgate.Verifier:
    return jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=jwks(*keys.values()), required_scopes=["tools:call"])


def claims(**extra: Any) -> dict[str, Any]:
    now = jwtgate.now_unix()
    base = {"iss": ISS, "aud": AUD, "sub": "alice", "scope": "tools:call read", "iat": now, "exp": now + 300}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


# --- results -------------------------------------------------------------------------------


def test_claims_are_a_read_only_mapping_with_typed_attributes(verifier, keys) -> None:
    token = keys["ES256"].mint(claims(client_id="app-1", tenant={"id": 7}, jti="j-1"))
    c = verifier.verify(token)
    assert isinstance(c, Mapping)
    assert c["tenant"] == {"id": 7} and c.get("missing") is None and "sub" in c
    assert set(c) == set(c.keys()) == {"iss", "aud", "sub", "scope", "iat", "exp", "client_id", "tenant", "jti"}
    assert len(c) == 9 and dict(c.items())["sub"] == "alice"
    assert (c.iss, c.sub, c.aud, c.jti, c.client_id) == (ISS, "alice", [AUD], "j-1", "app-1")
    assert c.scopes == ["tools:call", "read"] and c.has_scope("read") and not c.has_scope("write")
    assert (c.alg, c.kid, c.typ, c.kind) == ("ES256", "es256-1", "JWT", "jwt")
    assert c.exp == c["exp"] and c.iat == c["iat"] and c.nbf is None
    assert json.loads(c.claims_json) == c.to_dict() == c
    copy = c.to_dict()
    copy["sub"] = "mallory"
    assert c["sub"] == "alice"
    with pytest.raises(KeyError):
        c["nope"]
    with pytest.raises(TypeError):
        c["sub"] = "x"  # type: ignore[index]
    assert "alice" in repr(c) and token not in repr(c)


def test_client_id_falls_back_to_azp_then_sub(verifier, keys) -> None:
    assert verifier.verify(keys["RS256"].mint(claims(azp="web"))).client_id == "web"
    assert verifier.verify(keys["RS256"].mint(claims())).client_id == "alice"
    assert verifier.verify(keys["RS256"].mint(claims(sub=None))).client_id is None


def test_identity_facts_come_from_the_core(keys) -> None:
    """audience_matched, principal and token_id are the core's answers, not recomputed here."""
    v = jwtgate.Verifier(issuer=ISS, audience=["https://other.test/", AUD], jwks=keys["ES256"].public_jwks())
    token = keys["ES256"].mint(claims(aud=["https://unrelated.test/", AUD]))
    first, again = v.verify(token), v.verify(token)  # the second answer comes from the cache
    assert first.aud == ["https://unrelated.test/", AUD] and first.audience_matched == AUD
    assert first.principal == (ISS, "alice")
    assert isinstance(first.token_id, int) and first.token_id == again.token_id
    assert v.verify(keys["ES256"].mint(claims(jti="other"))).token_id != first.token_id
    unchecked = jwtgate.Verifier(issuer=ISS, jwks=keys["ES256"].public_jwks(), insecure_skip_audience_check=True)
    assert unchecked.verify(token).audience_matched is None


def test_verify_at_takes_seconds_or_datetime(verifier, keys) -> None:
    token = keys["EdDSA"].mint(claims(exp=2_000_000_000, iat=1_900_000_000))
    assert verifier.verify_at(token, 1_950_000_000).sub == "alice"
    assert verifier.verify_at(token, datetime(2031, 1, 1, tzinfo=timezone.utc)).sub == "alice"
    with pytest.raises(jwtgate.ExpiredToken):
        verifier.verify_at(token, 2_000_000_001)


# --- the claims behaviour FastMCP's JWTVerifier lacks ----------------------------------------


def test_nbf_in_the_future_is_rejected(verifier, keys) -> None:
    token = keys["RS256"].mint(claims(nbf=jwtgate.now_unix() + 120))
    with pytest.raises(jwtgate.InvalidToken) as e:
        verifier.verify(token)
    assert e.value.code == "token_not_yet_valid" and e.value.claim == "nbf"


def test_iat_in_the_future_is_rejected(verifier, keys) -> None:
    with pytest.raises(jwtgate.InvalidToken) as e:
        verifier.verify(keys["RS256"].mint(claims(iat=jwtgate.now_unix() + 120)))
    assert e.value.code == "token_not_yet_valid"


def test_leeway_is_honoured_for_exp_and_nbf(keys) -> None:
    now = jwtgate.now_unix()
    expired = keys["ES256"].mint(claims(exp=now - 20, iat=now - 100))
    early = keys["ES256"].mint(claims(nbf=now + 20))
    strict = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=keys["ES256"].public_jwks())
    lenient = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=keys["ES256"].public_jwks(), leeway=60)
    with pytest.raises(jwtgate.ExpiredToken):
        strict.verify(expired)
    with pytest.raises(jwtgate.InvalidToken):
        strict.verify(early)
    assert lenient.verify(expired).sub == lenient.verify(early).sub == "alice"
    assert jwtgate.Verifier(
        issuer=ISS, audience=AUD, jwks=keys["ES256"].public_jwks(), leeway=timedelta(seconds=30)
    ).verify(expired)
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=keys["ES256"].public_jwks(), leeway=601)


def test_exp_is_required(verifier, keys) -> None:
    with pytest.raises(jwtgate.InvalidToken) as e:
        verifier.verify(keys["PS256"].mint(claims(exp=None)))
    assert (e.value.code, e.value.claim) == ("claim_missing", "exp")
    relaxed = jwtgate.Verifier(
        issuer=ISS, audience=AUD, jwks=keys["PS256"].public_jwks(), insecure_allow_missing_exp=True
    )
    assert relaxed.verify(keys["PS256"].mint(claims(exp=None))).exp is None


def test_several_algorithms_in_one_verifier(verifier, keys) -> None:
    for alg, key in keys.items():
        assert verifier.verify(key.mint(claims())).alg == alg
    only_ec = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=jwks(*keys.values()), algorithms=["ES256", "EdDSA"])
    assert only_ec.algorithms == ["ES256", "EdDSA"]
    with pytest.raises(jwtgate.InvalidToken) as e:
        only_ec.verify(keys["RS256"].mint(claims()))
    assert e.value.code == "alg_not_allowed"


# --- every error code ----------------------------------------------------------------------


def test_error_codes_are_the_cores() -> None:
    assert jwtgate.ERROR_CODES == (
        "token_malformed", "token_too_large", "alg_not_allowed", "header_unsupported",
        "key_not_found", "key_unusable", "signature_invalid", "token_expired",
        "token_not_yet_valid", "claim_missing", "claim_invalid", "issuer_mismatch",
        "audience_mismatch", "typ_mismatch", "insufficient_scope", "token_unknown",
        "jwks_unavailable", "discovery_failed", "config_invalid", "credential_missing",
        "dpop_proof_missing", "dpop_proof_invalid", "dpop_proof_replayed", "dpop_key_mismatch",
        "dpop_nonce_required", "token_inactive", "introspection_failed", "dpop_replay_cache_full",
    )
    assert jwtgate._errors.CLASS_BY_CODE["token_inactive"] is jwtgate.InvalidToken
    assert jwtgate._errors.CLASS_BY_CODE["introspection_failed"] is jwtgate.Unavailable


def rejection(verifier: jwtgate.Verifier, token: str) -> jwtgate.InvalidToken:
    with pytest.raises(jwtgate.InvalidToken) as e:
        verifier.verify(token)
    error = e.value
    assert error.code in jwtgate.ERROR_CODES
    assert error.message and str(error) == error.message
    assert token not in error.message or len(token) < 12
    return error


def test_every_token_error_code_maps_to_its_class(keys) -> None:
    rsa, ec = keys["RS256"], keys["ES256"]
    rsa_pinned = json.dumps({"keys": [rsa.public_jwk()]})
    v = jwtgate.Verifier(
        issuer=ISS, audience=AUD, jwks=jwks(rsa, ec), required_scopes=["tools:call"],
        typ="at+jwt", require_claims=["tenant"], max_token_bytes=4096,
    )
    at = {"typ": "at+jwt"}
    good = claims(tenant="t")
    signed = rsa.mint(good, header=at)
    header, payload, signature = signed.split(".")
    cases = {
        "token_malformed": "a.b",
        "token_too_large": rsa.mint({**good, "pad": "x" * 5000}, header=at),
        "alg_not_allowed": f"{b64(json.dumps({'alg': 'none', 'typ': 'at+jwt'}).encode())}.{payload}.",
        "header_unsupported": rsa.mint(good, header={**at, "crit": ["exp"]}),
        "key_not_found": rsa.mint(good, header={**at, "kid": "unknown"}),
        "signature_invalid": f"{header}.{payload}.{signature[:-4]}AAAA",
        "token_expired": rsa.mint({**good, "exp": jwtgate.now_unix() - 10}, header=at),
        "token_not_yet_valid": rsa.mint({**good, "nbf": jwtgate.now_unix() + 100}, header=at),
        "claim_missing": rsa.mint(claims(), header=at),
        "claim_invalid": rsa.mint({**good, "exp": "tomorrow"}, header=at),
        "issuer_mismatch": rsa.mint({**good, "iss": ISS + "/"}, header=at),
        "audience_mismatch": rsa.mint({**good, "aud": "https://elsewhere.test/"}, header=at),
        "typ_mismatch": rsa.mint(good),
        "insufficient_scope": ec.mint({**good, "scope": "read"}, header=at),
    }
    expected_class = {
        "token_expired": jwtgate.ExpiredToken,
        "insufficient_scope": jwtgate.InsufficientScope,
    }
    for code, token in cases.items():
        error = rejection(v, token)
        assert error.code == code, (code, error.message)
        assert type(error) is expected_class.get(code, jwtgate.InvalidToken), code
        assert isinstance(error, ValueError)
    # A key whose JWK names another algorithm: found by kid, unusable for PS256.
    pss = SigningKey.from_pkcs8_pem("PS256", rsa.kid, rsa.pkcs8_pem())
    pinned = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=rsa_pinned)
    assert rejection(pinned, pss.mint(good)).code == "key_unusable"
    static_only = jwtgate.Verifier(static_tokens={"k3y": "bot"})
    assert rejection(static_only, "other").code == "token_unknown"


def test_insufficient_scope_carries_the_valid_claims(verifier, keys) -> None:
    with pytest.raises(jwtgate.InsufficientScope) as e:
        verifier.verify(keys["EdDSA"].mint(claims(scope="read")))
    assert e.value.claims.sub == "alice" and e.value.claims.scopes == ["read"]
    assert e.value.message == 'missing scope: tools:call (token has: "read")'


def test_config_errors(keys) -> None:
    for options in [
        {"issuer": ISS},  # no audience
        {"audience": AUD, "jwks": keys["RS256"].public_jwks()},  # no issuer
        {"issuer": ISS, "audience": AUD, "jwks": keys["RS256"].public_jwks(), "algorithms": ["HS256"]},
        {"issuer": ISS, "audience": AUD, "jwks": "{not json"},
        {"issuer": ISS, "audience": AUD, "algorithms": ["none"], "jwks": keys["RS256"].public_jwks()},
        {"issuer": ISS, "audience": AUD, "public_key": "not a PEM"},
        {"issuer": ISS, "audience": AUD, "jwks_uri": "http://idp.example.test/jwks"},  # http, not loopback
        {},
    ]:
        with pytest.raises(jwtgate.ConfigError) as e:
            jwtgate.Verifier(**options)
        assert e.value.code == "config_invalid" and e.value.message, options
        assert isinstance(e.value, ValueError) and not isinstance(e.value, jwtgate.InvalidToken)
    with pytest.raises(TypeError):
        jwtgate.Verifier(ISS)  # type: ignore[misc]


def test_errors_pickle_with_their_code(verifier, keys) -> None:
    with pytest.raises(jwtgate.InvalidToken) as e:
        verifier.verify("x.y.z")
    copy = pickle.loads(pickle.dumps(e.value))
    assert (type(copy), copy.code, copy.message) == (type(e.value), e.value.code, e.value.message)
    with pytest.raises(jwtgate.InsufficientScope) as scope:
        verifier.verify(keys["ES256"].mint(claims(scope="read")))
    copy = pickle.loads(pickle.dumps(scope.value))
    assert type(copy) is jwtgate.InsufficientScope and str(copy) == str(scope.value)
    assert (copy.code, copy.claim, copy.detail, copy.status) == ("insufficient_scope", "scope", {"missing_scopes": ["tools:call"]}, 403)
    assert copy.claims is None  # a verified credential is not pickled


def test_errors_carry_the_cores_structured_detail(verifier, keys) -> None:
    now = jwtgate.now_unix()
    cases = [
        (claims(iss=ISS + "/"), "issuer_mismatch", "iss", {"expected": [ISS], "found": [ISS + "/"]}),
        (claims(aud=["a", "b"]), "audience_mismatch", "aud", {"expected": [AUD], "found": ["a", "b"]}),
        (claims(exp=now - 100), "token_expired", "exp", None),
        (claims(scope="read"), "insufficient_scope", "scope", {"missing_scopes": ["tools:call"]}),
    ]
    for payload, code, claim, detail in cases:
        error = rejection(verifier, keys["RS256"].mint(payload))
        assert (error.code, error.claim) == (code, claim)
        if detail is not None:
            assert error.detail == detail, code
    expired = rejection(verifier, keys["RS256"].mint(claims(exp=now - 100)))
    assert set(expired.detail) == {"skew_seconds"} and 99 <= expired.detail["skew_seconds"] <= 102
    unknown_kid = rejection(verifier, keys["RS256"].mint(claims(), header={"kid": "nobody"}))
    assert unknown_kid.code == "key_not_found" and unknown_kid.detail == {"kid": "nobody"}
    assert rejection(verifier, "a.b").detail is None


def test_errors_answer_status_hint_and_client_description_from_the_core_table(verifier, keys) -> None:
    table = jwtgate.error_codes()
    assert tuple(info.code for info in table) == jwtgate.ERROR_CODES
    assert {info.status for info in table} == {401, 403, 500, 503}
    by_code = {info.code: info for info in table}
    for token, code in [
        (keys["RS256"].mint(claims(scope="read")), "insufficient_scope"),
        (keys["RS256"].mint(claims(exp=jwtgate.now_unix() - 10)), "token_expired"),
        ("not-a-token", "token_malformed"),
    ]:
        error = rejection(verifier, token)
        info = by_code[code]
        assert (error.code, error.status, error.hint, error.client_description) == (
            code, info.status, info.hint, info.client_description,
        )
        assert verifier.algorithms[0] not in error.client_description and ISS not in error.client_description
    with pytest.raises(jwtgate.ConfigError) as config:
        jwtgate.Verifier()
    assert (config.value.status, config.value.hint) == (500, by_code["config_invalid"].hint)


def test_each_code_raises_the_class_of_its_http_status() -> None:
    """One rule over the core's table: 403 InsufficientScope, 503 Unavailable (KeysUnavailable
    for the keys), 500 ConfigError, 401 InvalidToken (ExpiredToken for token_expired,
    CredentialMissing for credential_missing, DPoPError for the dpop_* codes)."""
    from jwtgate._errors import CLASS_BY_CODE

    assert set(CLASS_BY_CODE) == set(jwtgate.ERROR_CODES)
    for info in jwtgate.error_codes():
        cls = CLASS_BY_CODE[info.code]
        if info.status == 503:
            keys = info.code in ("jwks_unavailable", "discovery_failed")
            expected: type = jwtgate.KeysUnavailable if keys else jwtgate.Unavailable
        elif info.status in (403, 500):
            expected = {403: jwtgate.InsufficientScope, 500: jwtgate.ConfigError}[info.status]
        elif info.code == "token_expired":
            expected = jwtgate.ExpiredToken
        elif info.code == "credential_missing":
            expected = jwtgate.CredentialMissing
        elif info.code.startswith("dpop_"):
            expected = jwtgate.DPoPError
        else:
            expected = jwtgate.InvalidToken
        assert cls is expected, info.code
        assert issubclass(expected, jwtgate.InvalidToken) or expected is jwtgate.ConfigError
        assert issubclass(cls, ValueError) and cls.__module__ == "jwtgate"
        assert cls("m", code=info.code).status == info.status


def test_exceptions_raised_by_python_code_have_every_field() -> None:
    error = jwtgate.InvalidToken("custom")
    assert (error.code, error.message, error.claim, error.detail, error.status) == ("token_malformed", "custom", None, None, 401)
    assert jwtgate.ConfigError("bad").code == "config_invalid" and jwtgate.KeysUnavailable().status == 503
    assert jwtgate.InsufficientScope().claims is None
    with pytest.raises(ValueError):
        jwtgate.InvalidToken("x", code="no_such_code")
    assert repr(jwtgate.ExpiredToken("late")) == "jwtgate.ExpiredToken(code='token_expired', message='late')"


# --- key sources ---------------------------------------------------------------------------


def test_public_key_pem_and_dict_jwks(keys) -> None:
    from cryptography.hazmat.primitives import serialization
    from jwt import PyJWK

    key = keys["ES256"]
    pem = PyJWK(key.public_jwk()).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for source in [{"public_key": pem}, {"public_key": pem.decode()}, {"jwks": {"keys": [key.public_jwk()]}}]:
        v = jwtgate.Verifier(issuer=ISS, audience=AUD, **source)
        assert v.verify(key.mint(claims())).sub == "alice"


def test_hmac_secret_needs_its_algorithm() -> None:
    key = SigningKey.hmac("HS256", "h1", b"k" * 32)
    v = jwtgate.Verifier(issuer=ISS, audience=AUD, hmac_secret=b"k" * 32, algorithms=["HS256"])
    assert v.verify(key.mint(claims())).alg == "HS256"
    with pytest.raises(jwtgate.ConfigError):
        jwtgate.Verifier(issuer=ISS, audience=AUD, hmac_secret=b"k" * 32)
    # The core binds the one secret to every HS* algorithm of the allow-list.
    both = jwtgate.Verifier(issuer=ISS, audience=AUD, hmac_secret="s" * 48, algorithms=["HS256", "HS384"])
    for alg in ("HS256", "HS384"):
        assert both.verify(SigningKey.hmac(alg, "h", b"s" * 48).mint(claims())).alg == alg


def test_static_tokens_next_to_jwts(keys) -> None:
    v = jwtgate.Verifier(
        issuer=ISS, audience=AUD, jwks=keys["RS256"].public_jwks(), required_scopes=["deploy"],
        static_tokens={"k-1": "bot-1", "k-2": {"client_id": "bot-2", "scopes": ["deploy"]}, "  ": "blank"},
    )
    c = v.verify("k-2")
    assert (c.kind, c.client_id, c.sub, c.scopes, dict(c)) == ("static_token", "bot-2", "bot-2", ["deploy"], {})
    assert v.verify(keys["RS256"].mint(claims(scope="deploy"))).sub == "alice"
    # Required scopes apply to static tokens too (the core's rule, the same in every language):
    # an API key without "deploy" is refused, with its identity on the error.
    with pytest.raises(jwtgate.InsufficientScope) as e:
        v.verify("k-1")
    assert e.value.claims is not None and e.value.claims.client_id == "bot-1"
    assert jwtgate.Verifier(static_tokens={"k-1": "bot-1"}).verify("k-1").client_id == "bot-1"
    for wrong in ["k-3", "  ", ""]:
        with pytest.raises(jwtgate.InvalidToken):
            v.verify(wrong)


def test_static_tokens_may_carry_an_audience(keys) -> None:
    v = jwtgate.Verifier(
        issuer=ISS, audience=AUD, jwks=keys["RS256"].public_jwks(),
        static_tokens={"k-aud": {"client_id": "bot", "scopes": "a b", "audience": AUD}, "k-none": {"client_id": "old"}},
    )
    c = v.verify("k-aud")
    assert (c.aud, c.audience_matched, c.scopes, c.principal) == ([AUD], AUD, ["a", "b"], (None, "bot"))
    c = v.verify("k-none")
    assert (c.aud, c.audience_matched, c.scopes) == ([], None, [])
    for identity in ({"client_id": "bot", "scope": "a"}, {"scopes": ["a"]}, {"client_id": "bot", "audience": 7}):
        with pytest.raises(TypeError):
            jwtgate.Verifier(static_tokens={"k": identity})


def test_unknown_keywords_are_type_errors_naming_the_options() -> None:
    """Both constructors take the same keyword options through one path; a misspelt one is
    refused as Python refuses an unexpected keyword, with the list of options."""
    for build in (jwtgate.Verifier, lambda **o: jwtgate.Verifier.from_env("JWTGATE_UNKNOWN_", **o)):
        with pytest.raises(TypeError) as e:
            build(issuer=ISS, audiences=[AUD])
        message = str(e.value)
        assert "'audiences'" in message and "audience" in message and "static_tokens" in message
    with pytest.raises(TypeError) as e:
        jwtgate.Verifier.from_env("JWTGATE_UNKNOWN_", prefix="X_")  # type: ignore[misc]
    for flag in ("allow_insecure_http", "insecure_skip_audience_check", "insecure_allow_missing_exp"):
        with pytest.raises(TypeError) as e:
            jwtgate.Verifier(static_tokens={"k": "c"}, **{flag: 1})
        assert flag in str(e.value)


def test_from_env(monkeypatch, keys) -> None:
    monkeypatch.setenv("T_API_KEY", "env-key")
    monkeypatch.setenv("T_OIDC_AUDIENCE", " ")
    v = jwtgate.Verifier.from_env("T_")
    assert v.verify("env-key").client_id == "api-key"
    monkeypatch.setenv("T_OAUTH_ISSUER", ISS)
    with pytest.raises(jwtgate.ConfigError) as e:
        jwtgate.Verifier.from_env("T_")
    assert "T_OIDC_AUDIENCE" in e.value.message
    monkeypatch.delenv("T_OAUTH_ISSUER")
    monkeypatch.delenv("T_OIDC_AUDIENCE")
    assert jwtgate.Verifier.from_env("T_", cache_size=0).verify("env-key").client_id == "api-key"


def test_required_scopes_report_the_environment_too(monkeypatch) -> None:
    monkeypatch.setenv("T_API_KEY", "env-key")
    monkeypatch.setenv("T_OIDC_REQUIRED_SCOPES", "tools:call, read")
    monkeypatch.setenv("T_OAUTH_ISSUER", ISS)
    monkeypatch.setenv("T_OIDC_AUDIENCE", "https://mcp.example")
    monkeypatch.setenv("T_OAUTH_JWKS_URI", "http://127.0.0.1:9/jwks")  # never fetched here
    v = jwtgate.Verifier.from_env("T_")
    assert v.required_scopes == ["tools:call", "read"]
    # The environment's API key carries them, so it passes the core's scope check.
    assert v.verify("env-key").scopes == ["tools:call", "read"]


def clear_mcp_environment(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("MCP_"):
            monkeypatch.delenv(name)


def test_from_env_default_prefix_ignores_generic_api_key(monkeypatch) -> None:
    """An unrelated API_KEY or BEARER_TOKEN in the environment (a CI secret, another tool's
    key) must never become an accepted credential: without a prefix argument, from_env() reads
    only MCP_… variables."""
    clear_mcp_environment(monkeypatch)
    monkeypatch.setenv("API_KEY", "x")
    monkeypatch.setenv("BEARER_TOKEN", "y")
    monkeypatch.setenv("MCP_API_KEY", "mcp-key")
    v = jwtgate.Verifier.from_env()
    assert v.verify("mcp-key").client_id == "api-key"
    for generic in ("x", "y"):
        with pytest.raises(jwtgate.InvalidToken) as e:
            v.verify(generic)
        assert e.value.code == "token_unknown"
    monkeypatch.delenv("MCP_API_KEY")
    with pytest.raises(jwtgate.ConfigError):  # nothing under MCP_: no verifier, API_KEY unused
        jwtgate.Verifier.from_env()


def test_from_env_empty_prefix_is_config_invalid(monkeypatch) -> None:
    """An explicit empty prefix would read the generic names: refused by the core."""
    monkeypatch.setenv("API_KEY", "x")
    with pytest.raises(jwtgate.ConfigError) as e:
        jwtgate.Verifier.from_env("")
    assert e.value.code == "config_invalid" and "prefix" in e.value.message


def test_stats_count_outcomes_by_code(keys) -> None:
    v = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=keys["ES256"].public_jwks(), cache_size=8,
                         static_tokens={"k-1": "bot"})
    empty = v.stats()
    assert (empty.accepted, empty.rejected, empty.rejected_by_code, empty.cache_capacity) == (0, 0, {}, 8)
    token = keys["ES256"].mint(claims())
    v.verify(token)
    v.verify(token)
    v.verify("k-1")
    for bad in (keys["ES256"].mint(claims(exp=jwtgate.now_unix() - 5)), "a.b", "c.d"):
        with pytest.raises(jwtgate.InvalidToken):
            v.verify(bad)
    s = v.stats()
    assert (s.accepted, s.verified, s.cache_hits, s.static_tokens) == (3, 1, 1, 1)
    assert s.rejected == 3 and s.rejected_by_code == {"token_expired": 1, "token_malformed": 2}
    assert list(s.rejected_by_code) == ["token_malformed", "token_expired"]  # the core's order
    assert s.cache_entries == 1 and s.cache_inserts == 1 and s.key_generation >= 1
    assert s.key_age is None and s.keys_stale is False and s.jwks_fetches == 0
    d = s.to_dict()
    assert json.loads(json.dumps(d)) == d and d["rejected_by_code"] == s.rejected_by_code
    s.rejected_by_code["token_expired"] = 99  # a new dict each time
    assert s.rejected_by_code["token_expired"] == 1


def test_remote_keys_by_discovery(idp: Idp) -> None:
    v = jwtgate.Verifier(issuer=idp.issuer, audience=RESOURCE, typ="at+jwt")
    v.wait_ready(10)
    status = v.keys_status()
    assert status.ready and status.source.endswith("/jwks") and set(status.kids) == set(idp.kids.values())
    assert status.to_dict()["key_count"] == len(idp.kids) and status.last_error is None
    for alg in idp.kids:
        assert v.verify(idp.token(alg)).client_id == f"client-{alg.lower()}"
    stats = v.stats()
    assert stats.discovery_fetches >= 1 and stats.jwks_fetches >= 1 and stats.jwks_failures == 0
    assert stats.key_age is not None and stats.key_age >= 0 and not stats.keys_stale


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_keys_raise_keys_unavailable() -> None:
    port = unused_port()
    v = jwtgate.Verifier(issuer=f"http://127.0.0.1:{port}", audience=AUD, fetch_timeout=1)
    with pytest.raises(jwtgate.KeysUnavailable) as e:
        v.wait_ready(3)
    assert e.value.code in ("discovery_failed", "jwks_unavailable")
    status = v.keys_status()
    assert not status.ready and isinstance(status.last_error, jwtgate.KeysUnavailable)
    v = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks_uri=f"http://127.0.0.1:{port}/jwks", fetch_timeout=1)
    with pytest.raises(jwtgate.KeysUnavailable) as e:
        v.wait_ready(3)
    assert e.value.code == "jwks_unavailable"


# --- threads and the event loop -------------------------------------------------------------


def test_thread_pool_results_are_correct_under_concurrency(verifier, keys) -> None:
    now = jwtgate.now_unix()
    tokens = []
    for i in range(64):
        key = list(keys.values())[i % 4]
        if i % 3 == 0:
            tokens.append((key.mint(claims(sub=f"user-{i}", exp=now - 5)), "token_expired"))
        elif i % 3 == 1:
            tokens.append((key.mint(claims(sub=f"user-{i}", scope="read")), "insufficient_scope"))
        else:
            tokens.append((key.mint(claims(sub=f"user-{i}")), f"user-{i}"))

    def check(item: tuple[str, str]) -> bool:
        token, expected = item
        try:
            return verifier.verify(token).sub == expected
        except jwtgate.InvalidToken as e:
            return e.code == expected

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(check, tokens * 40))
    assert all(results) and len(results) == 64 * 40


@contextmanager
def slow_jwks_server(body: str, delay: float) -> Iterator[tuple[str, threading.Event]]:
    """A loopback JWKS endpoint that answers after `delay` seconds."""
    asked = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            asked.set()
            time.sleep(delay)
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks", asked
    finally:
        server.shutdown()
        server.server_close()


def test_the_gil_is_released_while_waiting_for_keys(keys) -> None:
    key = keys["ES256"]
    with slow_jwks_server(key.public_jwks(), delay=1.0) as (uri, asked):
        v = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks_uri=uri)
        result: list[Any] = []
        worker = threading.Thread(target=lambda: result.append(v.verify(key.mint(claims()))))
        asked.wait(5)
        worker.start()
        ticks = 0
        while worker.is_alive():
            ticks += 1
        worker.join()
    assert result and result[0].sub == "alice"
    assert ticks > 1000  # this thread kept running while the other one waited in verify()


async def test_verify_async_answers_inline_with_known_keys(verifier, keys) -> None:
    c = await verifier.verify_async(keys["RS256"].mint(claims()))
    assert c.sub == "alice"
    with pytest.raises(jwtgate.InsufficientScope):
        await verifier.verify_async(keys["RS256"].mint(claims(scope="read")))


async def test_verify_async_never_blocks_the_event_loop(keys) -> None:
    key = keys["EdDSA"]
    with slow_jwks_server(key.public_jwks(), delay=1.0) as (uri, asked):
        v = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks_uri=uri)
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        c = await v.verify_async(key.mint(claims()))
        stop.set()
        await task
    assert c.sub == "alice"
    assert ticks >= 20  # the loop ran during the ~1 s key fetch


def test_max_stale_bounds_how_long_last_good_keys_outlive_failing_fetches(keys) -> None:
    """`max_stale`: after the JWKS endpoint starts failing, the last good keys keep verifying
    (`KeysStatus.stale`) until `max_stale` after their fetch; then tokens are refused with
    `jwks_unavailable` until a fetch succeeds."""
    key = keys["ES256"]
    failing = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            status, data = (500, b"down") if failing.is_set() else (200, key.public_jwks().encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}/jwks"
        v = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks_uri=uri, max_stale=timedelta(seconds=2),
                             refresh_cooldown=0.1, fetch_timeout=1)  # least cooldown allowed
        v.wait_ready(5)
        token = key.mint(claims())
        assert v.verify(token).sub == "alice"
        status = v.keys_status()
        assert (status.ready, status.stale, status.max_stale) == (True, False, 2.0)
        assert status.to_dict()["stale"] is False and status.to_dict()["max_stale"] == 2.0
        failing.set()
        # Past the cooldown, an unknown kid makes the verifier refetch at once: the fetch fails.
        time.sleep(0.25)
        with pytest.raises(jwtgate.InvalidToken):
            v.verify(SigningKey.generate("ES256", "unknown-kid").mint(claims()))
        status = v.keys_status()
        assert status.ready and status.stale and status.last_error is not None
        assert v.verify_nonblocking(key.mint(claims(jti="again"))).sub == "alice"  # stale-if-error
        deadline = time.monotonic() + 10
        while v.keys_status().ready and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(jwtgate.KeysUnavailable) as e:
            v.verify(key.mint(claims(jti="late")))
        assert e.value.code == "jwks_unavailable" and "max_stale" in e.value.message
        assert not v.keys_status().ready
    finally:
        server.shutdown()
        server.server_close()


def test_max_stale_is_checked_like_every_duration() -> None:
    for value in (-1, math.nan, math.inf, 1e20, 31 * 24 * 3600):
        with pytest.raises(jwtgate.ConfigError) as e:
            jwtgate.Verifier(issuer=ISS, audience=AUD, jwks_uri="https://idp.example.test/jwks", max_stale=value)
        assert "max_stale" in e.value.message
    with pytest.raises(TypeError):
        jwtgate.Verifier(issuer=ISS, audience=AUD, jwks_uri="https://idp.example.test/jwks", max_stale="1h")
