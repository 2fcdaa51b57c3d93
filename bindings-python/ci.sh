#!/usr/bin/env bash
# CI for the Python package: a virtualenv with the pinned test dependencies, the package built
# from source through its PEP 517 backend (maturin from PyPI, Rust from this machine's cargo),
# the stub check, then pytest (real oidc-provider IdP, real FastMCP and MCP SDK servers, all on
# 127.0.0.1). Exits non-zero on any failure.
#
# Usage: bash bindings-python/ci.sh        (from anywhere; PYTHON=python3.x to pick the interpreter,
#                                          JWTGATE_VENV=dir for another venv location)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv="${JWTGATE_VENV:-$here/.venv}"
python="${PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*"; }

step "python virtualenv ($venv)"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" --version
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements-dev.txt"

if [ ! -d "$repo/tests/idp/node_modules" ]; then
  step "test identity provider (npm ci --prefix tests/idp)"
  command -v npm >/dev/null || { echo "missing npm: install Node.js 20+" >&2; exit 1; }
  npm ci --prefix "$repo/tests/idp" --no-audit --no-fund
fi

step "build and install jwtgate from source (pip install ./bindings-python)"
"$venv/bin/python" -m pip install --disable-pip-version-check --force-reinstall --no-deps "$here"

step "stubs match the native module (mypy stubtest)"
(cd "$repo" && "$venv/bin/python" -m mypy.stubtest jwtgate._native)

step "pytest"
cd "$here"
"$venv/bin/python" -m pytest -p no:cacheprovider
