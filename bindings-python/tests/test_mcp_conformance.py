"""The MCP conformance suite (tests/mcp-conformance/check.mjs: MCP authorization 2026-07-28,
RFC 6750, RFC 9728, RFC 9449, played by a real MCP client against a real server) against every
Python server recipe of this virtualenv: FastMCP with jwtgate's JWTVerifier, RemoteAuthProvider,
MultiAuth of two jwtgate verifiers (FastMCP >= 3.1) and AuthKitProvider; the MCP Python SDK
server. Each server and the IdP are real processes on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import jwtgate.fastmcp as jf

from .conftest import REPO, Idp, lines, run_server

SUITE = REPO / "tests" / "mcp-conformance"
SCOPES = "tools:call"


def recipes() -> list[tuple[str, list[str]]]:
    """(id, server command) for each recipe: DPoP allowed (jwtgate's default) everywhere, and
    DPoP required with server nonces for one FastMCP recipe and the SDK."""
    found: list[tuple[str, list[str]]] = []
    if "fastmcp" in lines():
        found += [("fastmcp-jwt", ["fastmcp_server.py", "--auth", "jwt"]),
                  ("fastmcp-remote", ["fastmcp_server.py", "--auth", "remote"]),
                  ("fastmcp-authkit", ["fastmcp_server.py", "--auth", "authkit"]),
                  ("fastmcp-remote-dpop-required", ["fastmcp_server.py", "--auth", "remote",
                                                    "--dpop", "required", "--dpop-nonce"])]
        if getattr(jf, "_FastMCPMultiAuth", None) is not None:
            found.append(("fastmcp-multi", ["fastmcp_server.py", "--auth", "multi"]))
    if "mcp" in lines():
        found += [("mcp-sdk", ["mcp_sdk_server.py"]),
                  ("mcp-sdk-dpop-required", ["mcp_sdk_server.py", "--dpop", "required", "--dpop-nonce"])]
    return found


RECIPES = recipes()


@pytest.mark.parametrize("recipe", [r[1] for r in RECIPES], ids=[r[0] for r in RECIPES])
def test_conformance_suite_passes(recipe: list[str], idp: Idp, second_idp: Idp) -> None:
    # The suite is part of this repository: its absence is a failure, never a skip.
    assert (SUITE / "check.mjs").is_file(), "tests/mcp-conformance/check.mjs is missing"
    if not (SUITE / "node_modules").is_dir():
        pytest.fail("run `npm ci --prefix tests/mcp-conformance` first (bindings-python/ci.sh does)")
    node = os.environ.get("NODE") or shutil.which("node")
    assert node is not None, "Node.js 20+ is needed for the conformance suite"
    script, *args = recipe
    mode = args[args.index("--dpop") + 1] if "--dpop" in args else "allowed"
    args = [*args, "--issuer", idp.issuer, "--scopes", SCOPES]
    if script == "fastmcp_server.py":
        args += ["--second-issuer", second_idp.issuer]
    with run_server(script, *args) as server:
        check = subprocess.run(
            [node, str(SUITE / "check.mjs"), "--server", server.url, "--issuer", idp.issuer,
             "--scopes", SCOPES, "--resource", server.resource, "--dpop", mode],
            capture_output=True, text=True, timeout=300,
        )
    assert check.returncode == 0, f"{check.stdout}\n{check.stderr}"
