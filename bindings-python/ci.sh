#!/usr/bin/env bash
# CI for the Python package. One virtualenv per framework line, each from its pinned requirements
# file (created in parallel, while the wheel builds):
#
#   .venv           requirements-dev.txt       FastMCP 4 (newest release), MCP Python SDK 2.x, build and
#                                              check tools: every test
#   .venv-fastmcp3  requirements-fastmcp3.txt  FastMCP 3.x and the MCP Python SDK 1.x: adapter tests
#   .venv-fastmcp2  requirements-fastmcp2.txt  FastMCP 2.x: FastMCP adapter tests
#
# The wheel is built once, as it is released: abi3, manylinux_2_17 (manylinux2014) through
# maturin's zig linker (maturin and ziglang from PyPI in target/packaging-venv, pinned in
# tests/packaging/requirements.txt; Rust from this machine's cargo, incremental in the
# workspace's target/), checked with auditwheel and `twine check`, and installed into each venv;
# the sdist is built and checked next to it. Then the stub check, then pytest in each venv (with
# mypy --strict of the package against each venv's framework, in the background): real
# oidc-provider IdP, real FastMCP / MCP SDK servers and clients, all on 127.0.0.1, and the MCP
# conformance suite (tests/mcp-conformance/check.mjs) against every server recipe. The main run
# loads tests/packaging/installed_check.py: the suite must test the installed wheel, never the
# source tree. Last, the wheel and then the sdist are each installed into a fresh virtualenv
# outside the clone (for the sdist pip compiles it there, aws-lc included) and the core
# binding's tests run against each (tests/packaging/python-install.sh; scripts/release runs the
# whole suite against them).
# Exits non-zero on any failure.
#
# Usage: bash bindings-python/ci.sh        (from anywhere; PYTHON=python3.x to pick the interpreter,
#                                          JWTGATE_VENV=dir for another main venv location)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
python="${PYTHON:-python3}"
main="${JWTGATE_VENV:-$here/.venv}"
fastmcp3="$here/.venv-fastmcp3"
fastmcp2="$here/.venv-fastmcp2"
logs="$repo/target/python-ci"
mkdir -p "$logs"

step() { printf '\n==> %s (%ss)\n' "$*" "$SECONDS"; }

# venv DIR REQUIREMENTS: creates DIR if needed and installs the pinned requirements.
venv() {
  if [ ! -x "$1/bin/python" ]; then "$python" -m venv "$1"; fi
  "$1/bin/python" -m pip install --quiet --disable-pip-version-check -r "$2"
}

tools="$repo/target/packaging-venv"
step "virtualenvs: $main, $fastmcp3, $fastmcp2, $tools (pinned; in the background)"
venv "$fastmcp3" "$here/requirements-fastmcp3.txt" > "$logs/venv-fastmcp3.log" 2>&1 & pid3=$!
venv "$fastmcp2" "$here/requirements-fastmcp2.txt" > "$logs/venv-fastmcp2.log" 2>&1 & pid2=$!
venv "$tools" "$repo/tests/packaging/requirements.txt" > "$logs/venv-packaging.log" 2>&1 & pidt=$!
venv "$main" "$here/requirements-dev.txt"
"$main/bin/python" --version

if [ ! -d "$repo/tests/idp/node_modules" ]; then
  step "test identity provider (npm ci --prefix tests/idp)"
  command -v npm >/dev/null || { echo "missing npm: install Node.js 20+" >&2; exit 1; }
  npm ci --prefix "$repo/tests/idp" --no-audit --no-fund
fi
if [ -f "$repo/tests/mcp-conformance/package.json" ] && [ ! -d "$repo/tests/mcp-conformance/node_modules" ]; then
  step "MCP conformance suite (npm ci --prefix tests/mcp-conformance)"
  npm ci --prefix "$repo/tests/mcp-conformance" --no-audit --no-fund
fi

if ! wait "$pidt"; then cat "$logs/venv-packaging.log" >&2; echo "creating the release-tools virtualenv failed" >&2; exit 1; fi
step "build the wheel once, as released (maturin build --release --zig --compatibility manylinux2014), and the sdist"
dist="$repo/target/python-wheel"
rm -rf "$dist"
# maturin finds zig through the Python it runs under (`python -m ziglang`): the tools venv's.
(
  export PATH="$tools/bin:$PATH" VIRTUAL_ENV="$tools"
  maturin build --release --locked --quiet --zig --compatibility manylinux2014 -m "$here/Cargo.toml" -o "$dist"
  maturin sdist -m "$here/Cargo.toml" -o "$dist"
)
wheel="$(ls "$dist"/jwtgate-*.whl)"
sdist="$(ls "$dist"/jwtgate-*.tar.gz)"
ls -l "$wheel" "$sdist"

step "auditwheel: the wheel's symbols allow manylinux_2_17; twine check --strict: both render on PyPI"
"$tools/bin/auditwheel" show "$wheel" > "$logs/auditwheel.txt"
grep -q '"manylinux_2_17_x86_64"' "$logs/auditwheel.txt" || { cat "$logs/auditwheel.txt" >&2; echo "the wheel is not manylinux_2_17" >&2; exit 1; }
head -n 3 "$logs/auditwheel.txt"
"$tools/bin/twine" check --strict "$wheel" "$sdist"

for pid in "$pid3" "$pid2"; do
  if ! wait "$pid"; then
    cat "$logs"/venv-fastmcp*.log >&2
    echo "creating a framework virtualenv failed" >&2
    exit 1
  fi
done

step "install the wheel into every virtualenv"
for env in "$main" "$fastmcp3" "$fastmcp2"; do
  "$env/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
done

step "stubs match the native module (mypy stubtest)"
(cd "$repo" && "$main/bin/python" -m mypy.stubtest jwtgate._native)

# mypy --strict of the package against each framework line (pyproject.toml [tool.mypy]), one
# after the other in the background while the main venv's tests run; reported after them.
typecheck() {
  local env name
  for env in "$main" "$fastmcp3" "$fastmcp2"; do
    name="$(basename "$env")"
    (cd "$here" && "$main/bin/python" -m mypy --python-executable "$env/bin/python" \
       --cache-dir "$logs/mypy-cache$name") > "$logs/mypy$name.log" 2>&1 || return 1
  done
}
typecheck & mypy_pid=$!

cd "$here"
step "pytest: FastMCP $("$main/bin/python" -c 'import fastmcp; print(fastmcp.__version__)'), MCP SDK $("$main/bin/python" -c 'from importlib.metadata import version; print(version("mcp"))'), and the core binding"
PYTHONPATH="$repo/tests/packaging" "$main/bin/python" -m pytest -p installed_check -p no:cacheprovider -q

# Each artifact as `pip install jwtgate` uses it, in a fresh virtualenv outside the clone: the
# wheel, then the sdist (compiled there, as where no wheel fits), in the background while the
# other framework lines run.
artifact_tests=(tests/test_verifier.py tests/test_conformance.py tests/test_hostile_input.py tests/test_resource.py
                tests/test_dpop.py tests/test_ffi_safety.py)
{
  PYTHON="$main/bin/python" bash "$repo/tests/packaging/python-install.sh" "$wheel" "${artifact_tests[@]}" &&
  PYTHON="$main/bin/python" bash "$repo/tests/packaging/python-install.sh" "$sdist" "${artifact_tests[@]}"
} > "$logs/artifacts.log" 2>&1 & artifacts_pid=$!

step "mypy --strict of the package against each framework line (FastMCP 2 declares other types than 3 and 4)"
if ! wait "$mypy_pid"; then cat "$logs"/mypy.venv*.log >&2; echo "mypy found errors" >&2; exit 1; fi
for env in "$main" "$fastmcp3" "$fastmcp2"; do
  printf '%s: %s\n' "$(basename "$env")" "$(tail -n 1 "$logs/mypy$(basename "$env").log")"
done

adapter_tests=(tests/test_fastmcp_adapter.py tests/test_fastmcp_server.py tests/test_fastmcp_recipes.py
               tests/test_mcp_server.py tests/test_mcp_conformance.py tests/test_dpop_servers.py
               tests/test_adapter_requests.py tests/test_providers.py tests/test_introspection.py
               tests/test_api_keys.py tests/test_seed_env.py)

step "pytest: FastMCP $("$fastmcp3/bin/python" -c 'import fastmcp; print(fastmcp.__version__)'), MCP SDK $("$fastmcp3/bin/python" -c 'from importlib.metadata import version; print(version("mcp"))')"
JWTGATE_TEST_LINES="fastmcp mcp" "$fastmcp3/bin/python" -m pytest -p no:cacheprovider -q "${adapter_tests[@]}"

step "pytest: FastMCP $("$fastmcp2/bin/python" -c 'import fastmcp; print(fastmcp.__version__)')"
JWTGATE_TEST_LINES="fastmcp" "$fastmcp2/bin/python" -m pytest -p no:cacheprovider -q "${adapter_tests[@]}"

step "the wheel and the sdist (built there), each installed into a fresh virtualenv outside the clone, the core binding's tests against each"
if ! wait "$artifacts_pid"; then cat "$logs/artifacts.log" >&2; echo "an artifact failed to install or its tests failed" >&2; exit 1; fi
grep '^==> python\|^install time\|^installed jwtgate\|passed\|^pytest against' "$logs/artifacts.log"

step "done"
