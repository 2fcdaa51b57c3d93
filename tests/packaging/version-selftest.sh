#!/usr/bin/env bash
# scripts/version must catch drift: in a scratch copy of the files it reads, `set` moves every
# one of them to a new version (check passes once CHANGELOG.md has its section), and each kind of
# drift — an npm platform package, the Python project's version made static, a member with a
# version of its own — makes `check` fail naming the file.
# Usage: bash tests/packaging/version-selftest.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
(cd "$repo" && git ls-files -co --exclude-standard -z -- Cargo.toml Cargo.lock CHANGELOG.md scripts/version '*/Cargo.toml' \
   bindings-python/pyproject.toml bindings-node/package.json bindings-node/package-lock.json bindings-node/binding.js \
   'bindings-node/npm/*/package.json' '*/src/*.rs' 'fuzz/*' | tar --null -T - -cf -) | tar -xf - -C "$scratch"
cd "$scratch"
scripts/version check
scripts/version set 9.8.7 >/dev/null 2>&1 || true  # fails until CHANGELOG.md has the section
if scripts/version check 2>/dev/null; then echo "check passed without a CHANGELOG.md section for 9.8.7" >&2; exit 1; fi
sed -i 's/^## \[Unreleased\]/## [Unreleased]\n\n## [9.8.7]/' CHANGELOG.md
scripts/version check
expect_drift() {  # expect_drift WHAT FILE: check must fail and name FILE
  if scripts/version check 2> err.txt; then echo "check missed: $1" >&2; exit 1; fi
  grep -q "$2" err.txt || { cat err.txt >&2; echo "check did not name $2 for: $1" >&2; exit 1; }
  echo "caught: $1"
}
cp bindings-node/npm/linux-x64-gnu/package.json saved.json
sed -i 's/"version": "9.8.7"/"version": "9.8.6"/' bindings-node/npm/linux-x64-gnu/package.json
expect_drift "a platform package at another version" bindings-node/npm/linux-x64-gnu/package.json
cp saved.json bindings-node/npm/linux-x64-gnu/package.json
cp bindings-python/pyproject.toml saved.toml
sed -i 's/^dynamic = \["version"\]/version = "9.8.7"/' bindings-python/pyproject.toml
expect_drift "a static Python version" bindings-python/pyproject.toml
cp saved.toml bindings-python/pyproject.toml
sed -i 's/^version.workspace = true/version = "9.8.7"/' core/Cargo.toml
expect_drift "a crate with a version of its own" core/Cargo.toml
echo "scripts/version catches drift"
