#!/usr/bin/env bash
# The addon as released: `napi build --platform --release --strip` for x86_64-unknown-linux-gnu,
# compiled and linked by zig against glibc 2.17 (the manylinux2014 floor the Python wheel has), so
# that jwtgate-linux-x64-gnu loads on every glibc Linux from 2.17 on, not only on ones as new as
# the build machine's. zig comes from PyPI (ziglang, through maturin's `zig cc` wrapper, which
# drops the arguments zig does not take): the tools virtualenv of tests/packaging/requirements.txt.
# The build has a target folder of its own (napi-zig in the target folder): its C objects differ
# from a host build's.
#
# Usage: bash bindings-node/scripts/build-release.sh <output dir> [more napi build arguments]
#   TOOLS_VENV=dir   the tools virtualenv (default target/packaging-venv; created if missing)
# Writes <output dir>/jwtgate.linux-x64-gnu.node, binding.js and binding.d.ts, and checks that the
# addon asks for no glibc symbol newer than 2.17.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(dirname "$here")"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
shift
tools="${TOOLS_VENV:-$repo/target/packaging-venv}"
if [ ! -x "$tools/bin/maturin" ]; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check -r "$repo/tests/packaging/requirements.txt"
fi

target_dir="${CARGO_TARGET_DIR:-$repo/target}/napi-zig"
wrappers="$target_dir/wrappers"
mkdir -p "$wrappers"
zig_env="export CARGO_ZIGBUILD_ZIG_COMMAND='$tools/bin/python3' CARGO_ZIGBUILD_ZIG_COMMAND_ARGS='-m ziglang'"
for tool in cc c++; do
  printf '#!/bin/sh\n%s\nexec "%s" zig %s -- -g -fno-sanitize=all -target x86_64-linux-gnu.2.17 "$@"\n' \
    "$zig_env" "$tools/bin/maturin" "$tool" > "$wrappers/$tool"
done
for tool in ar ranlib; do
  printf '#!/bin/sh\n%s\nexec "%s" zig %s -- "$@"\n' "$zig_env" "$tools/bin/maturin" "$tool" > "$wrappers/$tool"
done
chmod +x "$wrappers"/*

export CC_x86_64_unknown_linux_gnu="$wrappers/cc" CXX_x86_64_unknown_linux_gnu="$wrappers/c++"
export AR_x86_64_unknown_linux_gnu="$wrappers/ar" RANLIB_x86_64_unknown_linux_gnu="$wrappers/ranlib"
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER="$wrappers/cc"
(cd "$here" && npx --yes -p @napi-rs/cli@3.10.12 napi build --platform --release --strip \
  --target x86_64-unknown-linux-gnu --target-dir "$target_dir" \
  --js binding.js --dts binding.d.ts --output-dir "$out" "$@")

addon="$out/jwtgate.linux-x64-gnu.node"
newest="$(objdump -T "$addon" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)"
echo "$(basename "$addon"): newest glibc symbol version $newest"
if [ "$(printf '%s\nGLIBC_2.17\n' "$newest" | sort -V | tail -n 1)" != GLIBC_2.17 ]; then
  echo "the addon needs $newest, newer than glibc 2.17" >&2
  exit 1
fi
