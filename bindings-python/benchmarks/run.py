"""jwtgate vs the Python JWT verifiers MCP servers use: one process, the same tokens, the same
checks (signature, iss, aud, exp, one required scope), printed as markdown tables.

    python bindings-python/benchmarks/run.py [--quick] [--output results.md]

Contenders, per algorithm (RS256, ES256, EdDSA):

* jwtgate ``Verifier.verify``, cold (verified-token cache off: full verification every call) and
  cached (the same token again, as MCP clients send it on every request of a session);
* ``jwtgate.fastmcp.JWTVerifier.verify_token``, cold and cached (the adapter FastMCP calls,
  building FastMCP's ``AccessToken``);
* FastMCP's own ``JWTVerifier.verify_token`` (static public key, as configured in FastMCP docs);
* PyJWT ``jwt.decode`` with a pre-loaded key, and with ``PyJWKClient`` (JWKS over loopback HTTP,
  cached by PyJWKClient);
* joserfc ``jwt.decode`` + ``JWTClaimsRegistry.validate``; authlib ``jwt.decode`` + ``validate``.

Then throughput with 1 and 2 threads (jwtgate releases the GIL; PyJWT for comparison).

Timing: a warm-up, then rounds of N calls (N calibrated to ~0.2 s), the median round reported
as µs per call. Run it with nothing else busy (the numbers are per machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from typing import Any, Callable

warnings.filterwarnings("ignore")

import jwt as pyjwt  # noqa: E402
from authlib.jose import JsonWebKey  # noqa: E402
from authlib.jose import jwt as authlib_jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from fastmcp.server.auth.providers.jwt import JWTVerifier as FastMCPJWTVerifier  # noqa: E402
from joserfc import jwk as joserfc_jwk  # noqa: E402
from joserfc import jwt as joserfc_jwt  # noqa: E402

import jwtgate  # noqa: E402
from jwtgate.fastmcp import JWTVerifier as GateJWTVerifier  # noqa: E402
from jwtgate.testing import SigningKey  # noqa: E402

ISS = "https://auth.bench.test"
AUD = "https://mcp.bench.test/mcp"
SCOPE = "tools:call"
ALGS = ["RS256", "ES256", "EdDSA"]


# --- harness ------------------------------------------------------------------------------


class Timer:
    def __init__(self, quick: bool) -> None:
        self.round_seconds = 0.05 if quick else 0.2
        self.rounds = 3 if quick else 7
        self.loop = asyncio.new_event_loop()

    def sync(self, fn: Callable[[], Any]) -> float:
        """Median µs per call of `fn()`."""
        for _ in range(50):
            fn()
        n = self._calibrate(lambda k: self._sync_round(fn, k))
        return statistics.median(self._sync_round(fn, n) for _ in range(self.rounds)) / n * 1e6

    def coro(self, fn: Callable[[], Any]) -> float:
        """Median µs per call of `await fn()`, in one event loop."""

        async def many(k: int) -> float:
            start = time.perf_counter()
            for _ in range(k):
                await fn()
            return time.perf_counter() - start

        def round_(k: int) -> float:
            return self.loop.run_until_complete(many(k))

        round_(50)
        n = self._calibrate(round_)
        return statistics.median(round_(n) for _ in range(self.rounds)) / n * 1e6

    @staticmethod
    def _sync_round(fn: Callable[[], Any], k: int) -> float:
        start = time.perf_counter()
        for _ in range(k):
            fn()
        return time.perf_counter() - start

    def _calibrate(self, round_: Callable[[int], float]) -> int:
        n = 16
        while True:
            elapsed = round_(n)
            if elapsed >= self.round_seconds / 4 or n > 10_000_000:
                return max(1, int(n * self.round_seconds / max(elapsed, 1e-9)))
            n *= 4


def serve_jwks(body: str) -> tuple[str, ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/jwks", server


# --- contenders ---------------------------------------------------------------------------


def has_scope(claims: dict[str, Any]) -> None:
    if SCOPE not in str(claims.get("scope", "")).split():
        raise ValueError("missing scope")


def contenders(alg: str, key: SigningKey, token: str, jwks_url: str) -> dict[str, tuple[str, Callable[[], Any]]]:
    """name -> ("sync" | "async", callable); each callable verifies `token` with every check."""
    jwk = key.public_jwk()
    assert jwk is not None
    jwks_text = json.dumps({"keys": [jwk]})
    public = pyjwt.PyJWK(jwk).key
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    gate_cold = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=jwks_text, algorithms=[alg],
                                 required_scopes=[SCOPE], cache_size=0)
    gate_cached = jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=jwks_text, algorithms=[alg],
                                   required_scopes=[SCOPE])
    adapter_cold = GateJWTVerifier(jwks=jwks_text, issuer=ISS, audience=AUD, algorithm=alg,
                                   required_scopes=[SCOPE], cache_size=0)
    adapter_cached = GateJWTVerifier(jwks=jwks_text, issuer=ISS, audience=AUD, algorithm=alg,
                                     required_scopes=[SCOPE])
    fastmcp = FastMCPJWTVerifier(public_key=pem, issuer=ISS, audience=AUD, algorithm=alg,
                                 required_scopes=[SCOPE])

    def pyjwt_key() -> Any:
        claims = pyjwt.decode(token, public, algorithms=[alg], audience=AUD, issuer=ISS,
                              options={"require": ["exp", "iss", "aud"]})
        has_scope(claims)
        return claims

    jwk_client = pyjwt.PyJWKClient(jwks_url, cache_keys=True)

    def pyjwt_jwks() -> Any:
        signing = jwk_client.get_signing_key_from_jwt(token)
        claims = pyjwt.decode(token, signing.key, algorithms=[alg], audience=AUD, issuer=ISS,
                              options={"require": ["exp", "iss", "aud"]})
        has_scope(claims)
        return claims

    jose_key = joserfc_jwk.import_key(jwk)
    registry = joserfc_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISS}, aud={"essential": True, "value": AUD}, exp={"essential": True}
    )

    def joserfc_decode() -> Any:
        claims = joserfc_jwt.decode(token, jose_key, algorithms=[alg]).claims
        registry.validate(claims)
        has_scope(claims)
        return claims

    authlib_key = JsonWebKey.import_key(jwk)
    options = {"iss": {"essential": True, "value": ISS}, "aud": {"essential": True, "value": AUD},
               "exp": {"essential": True}}

    def authlib_decode() -> Any:
        claims = authlib_jwt.decode(token, authlib_key, claims_options=options)
        claims.validate()
        has_scope(claims)
        return claims

    return {
        "jwtgate `verify` (cold)": ("sync", lambda: gate_cold.verify(token)),
        "jwtgate `verify` (cached)": ("sync", lambda: gate_cached.verify(token)),
        "jwtgate.fastmcp `verify_token` (cold)": ("async", lambda: adapter_cold.verify_token(token)),
        "jwtgate.fastmcp `verify_token` (cached)": ("async", lambda: adapter_cached.verify_token(token)),
        "FastMCP `JWTVerifier.verify_token`": ("async", lambda: fastmcp.verify_token(token)),
        "PyJWT `jwt.decode` (key)": ("sync", pyjwt_key),
        "PyJWT `jwt.decode` + `PyJWKClient`": ("sync", pyjwt_jwks),
        "joserfc `jwt.decode` + claims registry": ("sync", joserfc_decode),
        "authlib `jwt.decode` + `validate`": ("sync", authlib_decode),
    }


def check_all_agree(loop: asyncio.AbstractEventLoop, cases: dict[str, tuple[str, Callable[[], Any]]]) -> None:
    """Every contender accepts the token (a misconfigured one would measure a rejection)."""
    for name, (kind, fn) in cases.items():
        result = loop.run_until_complete(fn()) if kind == "async" else fn()
        if result is None:
            raise SystemExit(f"{name} rejected the benchmark token")
        sub = result["sub"] if isinstance(result, dict) or hasattr(result, "keys") else result.subject
        if sub != "bench-user":
            raise SystemExit(f"{name} returned an unexpected subject {sub!r}")


def threaded(fn: Callable[[], Any], threads: int, seconds: float) -> float:
    """Verifications per second with `threads` threads each calling `fn` for `seconds`."""
    counts = [0] * threads
    start_gate = threading.Barrier(threads + 1)
    stop = threading.Event()

    def work(i: int) -> None:
        start_gate.wait()
        n = 0
        while not stop.is_set():
            for _ in range(64):
                fn()
            n += 64
        counts[i] = n

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start_gate.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - start)


# --- report -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short rounds (a smoke run, not for numbers)")
    parser.add_argument("--output", help="also write the markdown to this file")
    args = parser.parse_args()
    timer = Timer(args.quick)

    now = jwtgate.now_unix()
    results: dict[str, dict[str, float]] = {}
    thread_rows: list[tuple[str, float, float]] = []
    servers = []
    for alg in ALGS:
        key = SigningKey.generate(alg, f"bench-{alg.lower()}")
        token = key.mint({
            "iss": ISS, "aud": AUD, "sub": "bench-user", "client_id": "bench-client",
            "scope": f"{SCOPE} read", "iat": now, "exp": now + 3600, "jti": f"jti-{alg}",
        })
        url, server = serve_jwks(key.public_jwks())
        servers.append(server)
        cases = contenders(alg, key, token, url)
        check_all_agree(timer.loop, cases)
        for name, (kind, fn) in cases.items():
            micros = timer.coro(fn) if kind == "async" else timer.sync(fn)
            results.setdefault(name, {})[alg] = micros
            print(f"  {alg:6} {name:42} {micros:9.2f} µs", file=sys.stderr)
        if alg == "RS256":
            seconds = 0.5 if args.quick else 2.0
            for label, fn in [("jwtgate `verify` (cold), RS256", cases["jwtgate `verify` (cold)"][1]),
                              ("PyJWT `jwt.decode` (key), RS256", cases["PyJWT `jwt.decode` (key)"][1])]:
                one = threaded(fn, 1, seconds)
                two = threaded(fn, 2, seconds)
                thread_rows.append((label, one, two))
                print(f"  threads {label}: {one:,.0f}/s vs {two:,.0f}/s", file=sys.stderr)
    for server in servers:
        server.shutdown()

    fastmcp = results["FastMCP `JWTVerifier.verify_token`"]
    pyjwt_key = results["PyJWT `jwt.decode` (key)"]
    lines = [
        f"jwtgate {jwtgate.__version__} ({jwtgate.CRYPTO_BACKEND}), Python {platform.python_version()}, "
        f"{os.cpu_count()} cores; fastmcp {version('fastmcp-slim')}, PyJWT {version('pyjwt')}, "
        f"joserfc {version('joserfc')}, authlib {version('authlib')}, cryptography {version('cryptography')}",
        "",
        "µs per verification (median of rounds; lower is better) and speed-up over FastMCP's `JWTVerifier`:",
        "",
        "| contender | " + " | ".join(f"{a} µs | ×FastMCP" for a in ALGS) + " |",
        "|---|" + "---:|---:|" * len(ALGS),
    ]
    for name, row in results.items():
        cells = " | ".join(f"{row[a]:.2f} | {fastmcp[a] / row[a]:.1f}×" for a in ALGS)
        lines.append(f"| {name} | {cells} |")
    lines += [
        "",
        "Threads (verifications per second, same token, cache off):",
        "",
        "| workload | 1 thread | 2 threads | 2 vs 1 |",
        "|---|---:|---:|---:|",
    ]
    for label, one, two in thread_rows:
        lines.append(f"| {label} | {one:,.0f} | {two:,.0f} | {two / one:.2f}× |")

    cold = results["jwtgate.fastmcp `verify_token` (cold)"]
    cached = results["jwtgate.fastmcp `verify_token` (cached)"]
    gate = results["jwtgate `verify` (cold)"]
    threads_ratio = thread_rows[0][2] / thread_rows[0][1]
    targets = [
        ("cold `verify_token` vs FastMCP, RS256", fastmcp["RS256"] / cold["RS256"], 3.5),
        ("cold `verify_token` vs FastMCP, ES256", fastmcp["ES256"] / cold["ES256"], 2.5),
        ("jwtgate `verify` (cold) vs PyJWT with a key, RS256", pyjwt_key["RS256"] / gate["RS256"], 2.5),
        ("cached `verify_token` vs FastMCP, RS256", fastmcp["RS256"] / cached["RS256"], 20.0),
        ("cached `verify_token` vs FastMCP, ES256", fastmcp["ES256"] / cached["ES256"], 20.0),
        ("cached `verify_token` vs FastMCP, EdDSA", fastmcp["EdDSA"] / cached["EdDSA"], 20.0),
        ("2 threads vs 1 thread (jwtgate `verify`, RS256)", threads_ratio, 1.8),
    ]
    lines += ["", "Targets:", "", "| target | measured | goal | |", "|---|---:|---:|---|"]
    for label, measured, goal in targets:
        lines.append(f"| {label} | {measured:.2f}× | ≥ {goal}× | {'met' if measured >= goal else 'MISSED'} |")
    text = "\n".join(lines)
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
