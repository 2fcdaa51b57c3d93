#!/usr/bin/env bash
# Installs a built Python artifact — the wheel or the sdist — into a fresh virtualenv outside the
# clone, the way `pip install jwtgate` does (the sdist: pip builds it in an isolated environment
# with maturin from PyPI, CARGO_TARGET_DIR inside the scratch folder), then runs bindings-python's
# test suite against that installed package: the plugin installed_check.py fails the session
# unless `jwtgate` and `jwtgate._native` come from the virtualenv's site-packages. The tests
# themselves (and their real identity provider, tests/idp) are read from the clone.
#
# Usage: tests/packaging/python-install.sh <wheel or sdist> [pytest arguments...]
#        (no pytest arguments: the whole suite, as bindings-python/ci.sh runs it in its main venv)
# PYTHON=python3.x picks the interpreter. Prints the install times.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
artifact="$(realpath "$1")"
shift
# Test paths given relative to the caller's folder (pytest runs from the scratch folder).
args=()
for arg in "$@"; do
  if [ -e "$arg" ]; then args+=("$(realpath "$arg")"); else args+=("$arg"); fi
done
set -- "${args[@]}"
python="${PYTHON:-python3}"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/jwtgate-py-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
case "$scratch" in "$repo"/*) echo "the virtualenv must be outside the clone" >&2; exit 1 ;; esac
venv="$scratch/venv"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)

kind=wheel
case "$artifact" in *.tar.gz) kind=sdist ;; esac
printf '\n==> python %s: pip install %s into a fresh virtualenv\n' "$kind" "$(basename "$artifact")"
start=$SECONDS
(cd "$scratch" && CARGO_TARGET_DIR="$scratch/cargo-target" "${pip[@]}" install "$artifact")
echo "install time ($kind, into a fresh virtualenv): $((SECONDS - start)) s"
rm -rf "$scratch/cargo-target"
(cd "$scratch" && "$venv/bin/python" -c 'import jwtgate; print("installed jwtgate", jwtgate.__version__, "at", jwtgate.__file__)')

printf '\n==> python %s: the test suite against the installed package\n' "$kind"
start=$SECONDS
"${pip[@]}" install -r "$repo/bindings-python/requirements-dev.txt"
echo "test dependencies: $((SECONDS - start)) s"
[ $# -gt 0 ] || set -- "$repo/bindings-python/tests"
start=$SECONDS
(cd "$scratch" && PYTHONPATH="$here" "$venv/bin/python" -m pytest -p installed_check -p no:cacheprovider -q \
  -c "$repo/bindings-python/pyproject.toml" --rootdir "$repo/bindings-python" "$@")
echo "pytest against the installed $kind: $((SECONDS - start)) s"
