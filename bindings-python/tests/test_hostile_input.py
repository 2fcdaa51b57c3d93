"""Hostile argument values: every option and every argument of the verification methods must
end in a typed error (``jwtgate.ConfigError``, an ``InvalidToken`` subclass, or ``TypeError`` for
a wrong type), never a Rust panic (``PanicException``), a ``SystemError``, or an untyped error
such as ``OverflowError`` or ``UnicodeEncodeError`` leaking out of a conversion."""

from __future__ import annotations

import math
import socket
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import jwtgate
from jwtgate.testing import SigningKey

ISS = "https://idp.example.test"
AUD = "https://mcp.example.test/"
KEY = SigningKey.generate("ES256", "es-1")
JWKS = KEY.public_jwks()
TOKEN = KEY.mint({"iss": ISS, "aud": AUD, "sub": "alice", "exp": jwtgate.now_unix() + 600})

class Weird:
    """An object of no expected type."""


# Values no option should turn into a crash. Numbers: finite but huge (over f64-to-Duration,
# over u64 and usize, over i64 seconds of SystemTime / Instant), negative, NaN, infinities, an int
# too large for a float. Strings: a lone surrogate (no UTF-8 form), bytes that are not UTF-8.
# Wrong types: containers, an arbitrary object, bool for numbers.
HOSTILE: list[Any] = [
    1e20, 1.8e19, 9.3e18, 1e300, 2**63, 2**64, 2**70, 10**400,
    -1, -1.0, -1e-9, math.nan, math.inf, -math.inf,
    "\ud800", "a\udfffb", b"\xff\xfe", ["\ud800"], {"\ud800": "x"},
    [], {}, [[1]], Weird(), True, 1.5, "10",
    timedelta.max, timedelta(seconds=-1),
]

NUMERIC_SECONDS = ["leeway", "fetch_timeout", "refresh_cooldown", "max_stale"]
SIZES = ["cache_size", "max_token_bytes"]
# Options whose value is the key source: tried without the static JWKS of the base options.
KEY_SOURCES = ["jwks_uri", "jwks", "public_key", "hmac_secret"]
OPTIONS = [
    "issuer", "audience", "audience_match", "id_token", "jwks_uri", "jwks", "public_key",
    "hmac_secret", "algorithms", "required_scopes", "scope_implies", "scope_claims",
    "client_id_claims", "introspection", "leeway", "typ", "require_claims", "static_tokens", "cache_size",
    "max_token_bytes", "fetch_timeout", "refresh_cooldown", "max_stale", "dpop", "dpop_algorithms",
    "dpop_iat_window", "dpop_nonce", "dpop_nonce_secret", "dpop_replay_cache_size", "providers",
    "allow_insecure_http", "insecure_skip_audience_check", "insecure_allow_missing_exp",
]


def base_for(option: str) -> dict[str, Any]:
    if option == "providers":
        return {}
    if option == "id_token":
        return {"issuer": ISS, "jwks": JWKS}
    if option in KEY_SOURCES:
        return {"issuer": ISS, "audience": AUD}
    if option in ("issuer",):
        return {"audience": AUD, "jwks": JWKS}
    if option in ("audience",):
        return {"issuer": ISS, "jwks": JWKS}
    return {"issuer": ISS, "audience": AUD, "jwks": JWKS}


def outcome(fn: Any, *args: Any, **kwargs: Any) -> BaseException | None:
    """Runs `fn`; returns the exception it raised (any kind, panics included) or None."""
    try:
        fn(*args, **kwargs)
    except BaseException as e:  # noqa: BLE001 - PanicException is a BaseException
        return e
    return None


def typed(error: BaseException | None, *allowed: type[BaseException]) -> bool:
    return error is None or isinstance(error, allowed)


def describe(error: BaseException | None) -> str:
    return "no error" if error is None else f"{type(error).__module__}.{type(error).__name__}: {error}"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def out_of_range_number(option: str, value: Any) -> bool:
    """Every numeric value of HOSTILE is out of range for a seconds option (the core allows at
    most 10 min of leeway, 60 s of fetch timeout, 24 h of cooldown, 30 days of max_stale), and
    every int of it for a size (1 MiB at most); a float size is a wrong type."""
    if option in NUMERIC_SECONDS:
        return is_number(value) and value != 1.5
    if option in SIZES:
        return isinstance(value, int) and not isinstance(value, bool)
    return False


def test_huge_seconds_values_raise_config_error_not_panic() -> None:
    """Finite but huge seconds (past what a Duration or a clock can hold) were a Rust panic:
    `Duration::from_secs_f64` overflows, `UNIX_EPOCH + d` overflows."""
    for option in NUMERIC_SECONDS:
        for value in (1e20, 1e300, 2**70, 10**400):
            with pytest.raises(jwtgate.ConfigError) as e:
                jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=JWKS, **{option: value})
            assert option in e.value.message and e.value.code == "config_invalid"
    verifier = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=JWKS)
    for now in (1e20, 1.8e19, 9.3e18, 2**64, 2**70, 10**400, 253402300800):
        with pytest.raises(jwtgate.ConfigError) as e:
            verifier.verify_at(TOKEN, now)
        assert "now" in e.value.message
    remote = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks_uri=f"http://127.0.0.1:{closed_port()}/jwks",
                              fetch_timeout=0.2)
    # Past Duration::MAX (u64::MAX seconds): no Duration holds it. (Smaller finite timeouts are
    # valid Durations; the core treats one too large for the clock as "no deadline".)
    for timeout in (1e20, 1.85e19, 2**64, 2**70, 10**400):
        with pytest.raises(jwtgate.ConfigError) as e:
            remote.wait_ready(timeout)
        assert "timeout" in e.value.message


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("option", OPTIONS)
def test_hostile_option_values_raise_typed_errors(option: str) -> None:
    """Every constructor option (and the same through `from_env`) against every hostile value:
    accepted, or ConfigError, or TypeError for a wrong type; never anything else."""
    failures = []
    for value in HOSTILE:
        for build in (jwtgate.Verifier, lambda **o: jwtgate.Verifier.from_env("JWTGATE_HOSTILE_", **o)):
            error = outcome(build, **base_for(option), **{option: value})
            if not typed(error, jwtgate.ConfigError, TypeError):
                failures.append(f"{option}={value!r}: {describe(error)}")
            elif out_of_range_number(option, value) and not isinstance(error, jwtgate.ConfigError):
                # A number out of range is a configuration error, not a type error.
                failures.append(f"{option}={value!r}: expected ConfigError, got {describe(error)}")
    assert not failures, "\n".join(failures)


# The options one provider of `providers` may set (the rest stay on the verifier holding them).
PROVIDER_OPTIONS = [
    "issuer", "audience", "audience_match", "id_token", "jwks_uri", "jwks", "public_key",
    "hmac_secret", "algorithms", "scope_claims", "client_id_claims", "introspection", "leeway", "typ",
    "require_claims", "cache_size", "max_token_bytes", "fetch_timeout", "refresh_cooldown",
    "max_stale", "allow_insecure_http", "insecure_skip_audience_check", "insecure_allow_missing_exp",
]


def test_hostile_providers_raise_typed_errors() -> None:
    """`providers`: hostile entries, hostile values of every option inside one provider, a
    provider nested 100,000 deep (no recursion that deep: the core refuses providers inside a
    provider), and more providers than the core allows."""
    failures = []

    def check(what: str, options: dict[str, Any], *, must_fail: bool = False) -> None:
        error = outcome(jwtgate.Verifier, **options)
        if not typed(error, jwtgate.ConfigError, TypeError) or (must_fail and error is None):
            failures.append(f"{what}: {describe(error)}")

    for value in HOSTILE:
        check(f"providers=[{value!r}]", {"providers": [value]}, must_fail=True)
        for option in PROVIDER_OPTIONS:
            provider = {**base_for(option), option: value}
            check(f"providers=[{{{option}: {value!r}}}]", {"providers": [provider]})
    nested: dict[str, Any] = {"issuer": ISS, "audience": AUD, "jwks": JWKS}
    for _ in range(100_000):
        nested = {"issuer": ISS, "audience": AUD, "jwks": JWKS, "providers": [nested]}
    check("providers nested 100,000 deep", {"providers": [nested]}, must_fail=True)
    many = [{"issuer": f"https://idp-{i}.example.test", "audience": AUD, "jwks": JWKS} for i in range(2_000)]
    check("2,000 providers", {"providers": many}, must_fail=True)
    check("a generator of providers", {"providers": ({"issuer": ISS, "audience": AUD, "jwks": JWKS} for _ in range(1))})
    assert not failures, "\n".join(failures)


def test_hostile_introspection_settings() -> None:
    """Every key of `introspection` with every hostile value, unknown keys, missing ones."""
    failures = []
    good = {"client_id": "mcp", "client_secret": "s3cret", "endpoint": "https://idp.example.test/introspect"}
    for key in ("client_id", "client_secret", "endpoint", "client_auth", "jwts", "cache_ttl", "cache_size",
                "max_concurrent"):
        for value in HOSTILE:
            error = outcome(jwtgate.Verifier, issuer=ISS, audience=AUD, introspection={**good, key: value})
            if not typed(error, jwtgate.ConfigError, TypeError):
                failures.append(f"introspection[{key}]={value!r}: {describe(error)}")
    for bad in ({}, {"client_id": "mcp"}, {**good, "secret": "x"}, {**good, 1: 2}, {**good, "client_auth": "jwt"},
                {**good, "endpoint": "http://idp.example.test/introspect"}, {**good, "cache_ttl": 3601},
                {**good, "max_concurrent": 0}, {**good, "client_secret": ""}):
        error = outcome(jwtgate.Verifier, issuer=ISS, audience=AUD, introspection=bad)
        if error is None or not typed(error, jwtgate.ConfigError, TypeError):
            failures.append(f"introspection={bad!r}: {describe(error)}")
    assert not failures, "\n".join(failures)


def test_hostile_id_token_and_dialect_values() -> None:
    """Blank or over-long client ids and claim paths: the core's ConfigError."""
    for client_id in ("", "  ", "x" * 5000):
        with pytest.raises(jwtgate.ConfigError):
            jwtgate.Verifier(issuer=ISS, jwks=JWKS, id_token=client_id)
    for option in ("scope_claims", "client_id_claims"):
        for paths in ([], [""], ["a..b"], ["x" * 5000], ["."] ):
            error = outcome(jwtgate.Verifier, issuer=ISS, audience=AUD, jwks=JWKS, **{option: paths})
            assert typed(error, jwtgate.ConfigError), describe(error)
        with pytest.raises(jwtgate.ConfigError):
            jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=JWKS, **{option: []})
    for secret in (b"", b"x" * 31, "\ud800" * 40):
        with pytest.raises(jwtgate.ConfigError):
            jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=JWKS, dpop_nonce_secret=secret)


def test_sizes_over_usize_or_negative_are_config_errors() -> None:
    # 2**40 and 2**63 fit a usize: the core's limits refuse them before anything is allocated.
    sizes = [2**40, 2**63, 2**64, 2**70, 10**400, -1]
    for option in SIZES:
        for value in sizes:
            with pytest.raises(jwtgate.ConfigError) as e:
                jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=JWKS, **{option: value})
            assert e.value.code == "config_invalid"
        for value in (1.5, 3.0, "10", True):
            with pytest.raises((TypeError, jwtgate.ConfigError)):
                jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=JWKS, **{option: value})


def test_from_env_prefix_with_a_lone_surrogate_is_config_error() -> None:
    for prefix in ("\ud800", "MCP_\udfff"):
        error = outcome(jwtgate.Verifier.from_env, prefix)
        assert isinstance(error, jwtgate.ConfigError), describe(error)
    assert isinstance(outcome(jwtgate.Verifier.from_env, 42), TypeError)  # type: ignore[arg-type]


TOKENS: list[Any] = ["\ud800", "a\udfff.b.c", TOKEN + "\ud800", b"x.y.z", 42, None, [], {}, Weird(), "\x00"]
NOWS: list[Any] = [
    1e20, 1.8e19, 9.3e18, 2**64, 2**70, 10**400, -1, -1e-9, math.nan, math.inf, -math.inf,
    "2020-01-01", [], None, Weird(), timedelta(seconds=1), True,
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc), datetime(1970, 1, 1, tzinfo=timezone.utc),
]
TIMEOUTS: list[Any] = [1e20, 1.85e19, 2**64, 10**400, -1, math.nan, math.inf, -math.inf, "5", [], Weird(), True]


async def test_hostile_verify_arguments_raise_typed_errors() -> None:
    """verify / verify_at / verify_nonblocking / verify_async / wait_ready with hostile values:
    InvalidToken (a subclass) for a credential that cannot be valid, ConfigError for a time or
    timeout out of range, TypeError for a wrong type."""
    verifier = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=JWKS, static_tokens={"k\ufffd": "bot"})
    remote = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks_uri=f"http://127.0.0.1:{closed_port()}/jwks",
                              fetch_timeout=0.2, refresh_cooldown=0.1)
    failures = []

    def check(what: str, error: BaseException | None, *allowed: type[BaseException]) -> None:
        if not typed(error, *allowed):
            failures.append(f"{what}: {describe(error)}")

    for token in TOKENS:
        expected: tuple[type[BaseException], ...] = (
            (jwtgate.InvalidToken,) if isinstance(token, str) else (TypeError,)
        )
        check(f"verify({token!r})", outcome(verifier.verify, token), *expected)
        check(f"verify_nonblocking({token!r})", outcome(verifier.verify_nonblocking, token), *expected)
        check(f"verify_at({token!r})", outcome(verifier.verify_at, token, 1_700_000_000), *expected)
        try:
            await verifier.verify_async(token)
            error = None
        except BaseException as e:  # noqa: BLE001
            error = e
        check(f"verify_async({token!r})", error, *expected)
        check(f"remote.verify({token!r})", outcome(remote.verify, token), *expected)
    # A lone surrogate is never replaced by U+FFFD on its way to the core: no match with "k\ufffd".
    assert isinstance(outcome(verifier.verify, "k\ud800"), jwtgate.InvalidToken)
    assert verifier.verify("k\ufffd").client_id == "bot"
    for now in NOWS:
        error = outcome(verifier.verify_at, TOKEN, now)
        check(f"verify_at(token, {now!r})", error, jwtgate.ConfigError, jwtgate.InvalidToken, TypeError)
        if is_number(now) and not 0 <= now <= 253402300799:  # NaN compares False: included
            check(f"verify_at(token, {now!r}) is ConfigError", error, jwtgate.ConfigError)
            if error is None:
                failures.append(f"verify_at(token, {now!r}) was accepted")
    for timeout in TIMEOUTS:
        for v in (verifier, remote):
            error = outcome(v.wait_ready, timeout)
            check(f"wait_ready({timeout!r})", error, jwtgate.ConfigError, TypeError)
            if is_number(timeout) and error is None:
                failures.append(f"wait_ready({timeout!r}) was accepted")
    assert not failures, "\n".join(failures)


def test_claims_has_scope_with_hostile_values() -> None:
    claims = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=JWKS).verify(
        KEY.mint({"iss": ISS, "aud": AUD, "exp": jwtgate.now_unix() + 60, "scope": "a b"})
    )
    assert claims.has_scope("a") and not claims.has_scope("\ud800")
    assert isinstance(outcome(claims.has_scope, 42), TypeError)


def test_signing_key_with_hostile_strings() -> None:
    """The test helper converts strings the same way: typed errors, no UnicodeEncodeError."""
    for call in (
        lambda: SigningKey.generate("ES256", "\ud800"),
        lambda: SigningKey.generate("\ud800", "k"),
        lambda: SigningKey.from_pkcs8_pem("ES256", "k", "\ud800"),
        lambda: SigningKey.hmac("HS256", "\udfff", b"k" * 32),
        lambda: KEY.mint({"sub": "\ud800"}),
        lambda: KEY.mint({"exp": 1}, {"kid": "\ud800"}),
    ):
        error = outcome(call)
        assert typed(error, jwtgate.ConfigError, TypeError), describe(error)
