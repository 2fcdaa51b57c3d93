"""The MCP adapters against the core binding, in one process: in-process A/B, alternating.

    python bindings-python/benchmarks/adapters.py [--rounds 31] [--alg RS256] [--threads]

Per contender, µs per call; the contenders run one after the other inside every round (a
round is ~20 ms of calls per contender), many rounds, and the median round is reported, so that
load from other processes hits every contender alike. Compared:

* ``Verifier.verify`` (the core binding), cold (``cache_size=0``: a signature check every call,
  as for a fresh token) and cached (the same token again, as an MCP client sends it);
* ``jwtgate.fastmcp.JWTVerifier.verify_token`` and ``jwtgate.mcp.TokenVerifier.verify_token``,
  cold and cached, awaited in one coroutine (what the framework does per request);
* the parts of an adapter's answer: ``Claims.to_dict()``, ``Claims.granted_scopes``, and the
  whole conversion to the framework's ``AccessToken``.

The "adapter − core" column is what the adapter adds (the goal: ≤ 1 µs). Every call gets a
token string object of its own (a copy of the same text), as a server gets from each request's
header, so no contender is flattered by a hash cached on the string object.

``--threads``: verifications per second with 1 and 2 threads (``Verifier.verify`` cold and
cached, each adapter cold and cached in an event loop per thread), and the 2-vs-1 ratio. Cold
work (the signature check) runs with the GIL released and scales with cores; a cache hit runs
with the GIL held (releasing and re-taking it costs more than the hit), so cached calls share
one interpreter: 2 threads ≈ 1 thread there, by design.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from typing import Any, Callable

import jwtgate
from jwtgate.fastmcp import JWTVerifier
from jwtgate.mcp import TokenVerifier
from jwtgate.testing import SigningKey

ISS = "https://auth.bench.test"
AUD = "https://mcp.bench.test/mcp"
SCOPE = "tools:call"


def fresh(text: str) -> str:
    """A new str object with the same text (as decoding a request header gives)."""
    return (text + " ")[:-1]


class Case:
    def __init__(self, name: str, fn: Callable[[], Any], is_async: bool) -> None:
        self.name, self.fn, self.is_async = name, fn, is_async
        self.samples: list[float] = []
        self.n = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--round-ms", type=float, default=20.0)
    parser.add_argument("--alg", default="RS256")
    parser.add_argument("--threads", action="store_true", help="also measure 1 vs 2 threads")
    args = parser.parse_args()

    key = SigningKey.generate(args.alg, "bench")
    now = jwtgate.now_unix()
    token = key.mint({
        "iss": ISS, "aud": AUD, "sub": "bench-user", "client_id": "bench-client",
        "scope": f"{SCOPE} read write", "iat": now, "exp": now + 3600, "jti": "jti-1",
    })
    jwks = key.public_jwks()
    common: dict[str, Any] = dict(issuer=ISS, audience=AUD, jwks=jwks, algorithms=[args.alg],
                                  required_scopes=[SCOPE])
    core_cold = jwtgate.Verifier(**common, cache_size=0, audience_match="canonical")
    core_cached = jwtgate.Verifier(**common, audience_match="canonical")
    fm = {c: JWTVerifier(jwks=jwks, issuer=ISS, audience=AUD, algorithm=args.alg,
                         required_scopes=[SCOPE], cache_size=c) for c in (0, None)}
    sdk = {c: TokenVerifier(**common, cache_size=c) for c in (0, None)}
    claims = core_cached.verify(token)
    fm_conv = fm[None]._access_token
    sdk_conv = sdk[None]._access_token

    tokens = [fresh(token) for _ in range(4096)]
    it = iter(())

    def tok() -> str:
        nonlocal it
        try:
            return next(it)
        except StopIteration:
            it = iter(tokens)
            return next(it)

    cases = [
        Case("core `verify`, cold", lambda: core_cold.verify(tok()), False),
        Case("fastmcp `verify_token`, cold", lambda: fm[0].verify_token(tok()), True),
        Case("mcp `verify_token`, cold", lambda: sdk[0].verify_token(tok()), True),
        Case("core `verify`, cached", lambda: core_cached.verify(tok()), False),
        Case("fastmcp `verify_token`, cached", lambda: fm[None].verify_token(tok()), True),
        Case("mcp `verify_token`, cached", lambda: sdk[None].verify_token(tok()), True),
        Case("part: `Claims.to_dict()`", lambda: claims.to_dict(), False),
        Case("part: `Claims.granted_scopes`", lambda: claims.granted_scopes, False),
        Case("part: fastmcp AccessToken from Claims", lambda: fm_conv(tok(), claims), False),
        Case("part: mcp AccessToken from Claims", lambda: sdk_conv(tok(), claims), False),
        Case("part: `tok()` (the harness's own cost)", tok, False),
    ]
    loop = asyncio.new_event_loop()

    async def run_async(fn: Callable[[], Any], k: int) -> float:
        start = time.perf_counter()
        for _ in range(k):
            await fn()
        return time.perf_counter() - start

    def run(case: Case, k: int) -> float:
        if case.is_async:
            return loop.run_until_complete(run_async(case.fn, k))
        fn = case.fn
        start = time.perf_counter()
        for _ in range(k):
            fn()
        return time.perf_counter() - start

    for case in cases:  # all accept the token; calibrate the batch to ~round-ms
        result = loop.run_until_complete(case.fn()) if case.is_async else case.fn()
        if result is None:
            raise SystemExit(f"{case.name} refused the token")
        k = 64
        while (elapsed := run(case, k)) < args.round_ms / 4000:
            k *= 4
        case.n = max(1, int(k * args.round_ms / 1000 / elapsed))
    for _ in range(args.rounds):
        for case in cases:
            case.samples.append(run(case, case.n) / case.n * 1e6)

    med = {c.name: statistics.median(c.samples) for c in cases}
    harness = med["part: `tok()` (the harness's own cost)"]
    print(f"jwtgate {jwtgate.__version__} ({jwtgate.CRYPTO_BACKEND}), Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, {args.alg}; median of {args.rounds} alternating rounds, µs per call "
          f"(the harness's token copy, {harness:.3f} µs, subtracted)")
    print()
    print("| call | µs | adapter − core µs |")
    print("|---|---:|---:|")
    for c in cases[:-1]:
        us = med[c.name] - harness
        base = None
        if "cold" in c.name and not c.name.startswith("core"):
            base = med["core `verify`, cold"] - harness
        elif "cached" in c.name and not c.name.startswith("core"):
            base = med["core `verify`, cached"] - harness
        extra = "" if base is None else f"{us - base:+.2f}"
        print(f"| {c.name} | {us:.2f} | {extra} |")

    if args.threads:
        print()
        print("| workload (verifications/s) | 1 thread | 2 threads | 2 vs 1 |")
        print("|---|---:|---:|---:|")
        for name, fn, is_async in [
            ("core `verify`, cold", lambda: core_cold.verify(tok()), False),
            ("core `verify`, cached", lambda: core_cached.verify(tok()), False),
            ("fastmcp `verify_token`, cold", lambda: fm[0].verify_token(tok()), True),
            ("fastmcp `verify_token`, cached", lambda: fm[None].verify_token(tok()), True),
            ("mcp `verify_token`, cold", lambda: sdk[0].verify_token(tok()), True),
            ("mcp `verify_token`, cached", lambda: sdk[None].verify_token(tok()), True),
        ]:
            one = threaded(fn, is_async, 1)
            two = threaded(fn, is_async, 2)
            print(f"| {name} | {one:,.0f} | {two:,.0f} | {two / one:.2f}× |")


def threaded(fn: Callable[[], Any], is_async: bool, threads: int, seconds: float = 2.0) -> float:
    counts = [0] * threads
    gate = threading.Barrier(threads + 1)
    stop = threading.Event()

    def work(i: int) -> None:
        loop = asyncio.new_event_loop() if is_async else None

        async def batch() -> None:
            for _ in range(64):
                await fn()

        gate.wait()
        n = 0
        while not stop.is_set():
            if loop is not None:
                loop.run_until_complete(batch())
            else:
                for _ in range(64):
                    fn()
            n += 64
        counts[i] = n

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    gate.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
