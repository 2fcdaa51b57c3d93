#!/usr/bin/env bash
# Installs the packed npm packages as a user does, in fresh folders outside the clone (only the
# tarballs are copied there), and runs the consumer checks against them: ESM and CommonJS
# (bindings-node/test/consumer/check*.{mjs,cjs}), the TypeScript declarations
# (bindings-node/types-test/example*.{mts,cts} under tsc, library checks on), and jwtgate/mcp
# with MCP SDK v1 (@modelcontextprotocol/sdk) and v2 (@modelcontextprotocol/server).
#
#   prebuilt  jwtgate + jwtgate-linux-x64-gnu, as `npm install jwtgate` resolves them on x86_64
#             Linux, with PATH holding node, npm and a shell only: no cargo, rustc or C compiler
#             can run (the install script runs, is approved, and must find the prebuilt addon);
#             an SDK v1 and an SDK v2 application;
#   source    jwtgate alone (`--omit=optional`: no platform package, as on a platform without
#             one): the install script compiles the addon from the tarball's native/ (aws-lc
#             included) with CARGO_TARGET_DIR inside the folder; an SDK v2 application.
#
# Usage: tests/packaging/npm-install.sh <folder with the tarballs> [prebuilt|source|all]
# The tarballs come from `node bindings-node/scripts/pack.js --out <folder>`. Prints each
# install's time. Needs node, npm, the npm registry; `source` also cargo, a C compiler, crates.io.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
node_pkg="$repo/bindings-node"
dist="$(cd "$1" && pwd)"
mode="${2:-all}"
version="$(node -p "require('$node_pkg/package.json').version")"
main_tgz="$dist/jwtgate-$version.tgz"
platform_tgz="$dist/jwtgate-linux-x64-gnu-$version.tgz"
for file in "$main_tgz" "$platform_tgz"; do
  [ -f "$file" ] || { echo "missing $file (node bindings-node/scripts/pack.js --out $dist)" >&2; exit 1; }
done

step() { printf '\n==> npm packages: %s\n' "$*"; }
dev() { node -p "require('$node_pkg/package.json').devDependencies['$1']"; }

scratch="$(mktemp -d "${TMPDIR:-/tmp}/jwtgate-npm-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
case "$scratch" in "$repo"/*) echo "the consumer folders must be outside the clone" >&2; exit 1 ;; esac

# A PATH with node, npm and a shell, and nothing that compiles.
nocc="$scratch/bin"
mkdir "$nocc"
for tool in node npm npx sh bash env; do ln -s "$(command -v "$tool")" "$nocc/$tool"; done
for compiler in cargo rustc cc gcc c++ g++ clang zig; do
  if PATH="$nocc" command -v "$compiler" >/dev/null; then echo "$compiler is reachable on the no-compiler PATH" >&2; exit 1; fi
done

# consumer NAME: a fresh application folder holding copies of the tarballs; its package.json
# approves jwtgate's install script (npm 11 runs a dependency's install script only when the
# application allows it, keyed by the dependency's spec).
consumer() {
  local dir="$scratch/$1"
  mkdir "$dir"
  cp "$main_tgz" "$platform_tgz" "$dir/"
  (cd "$dir" && npm init -y >/dev/null && node -e '
    const fs = require("node:fs");
    const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
    pkg.allowScripts = { [`file:${process.cwd()}/${process.argv[1]}`]: true };
    fs.writeFileSync("package.json", `${JSON.stringify(pkg, null, 2)}\n`);
  ' "$(basename "$main_tgz")")
}

# checks DIR v1|v2: ESM, CommonJS and tsc (the package's declarations checked too) in DIR.
checks() {
  local dir="$1" line="$2" suffix=""
  [ "$line" = v2 ] && suffix="-v2"
  cp "$node_pkg/test/consumer/check$suffix.mjs" "$node_pkg/test/consumer/check$suffix.cjs" "$dir/"
  local examples
  if [ "$line" = v2 ]; then examples='["example-v2.mts"]'; else examples='["example.mts", "example.cts"]'; fi
  for example in $(node -p "$examples.join(' ')"); do cp "$node_pkg/types-test/$example" "$dir/"; done
  node -e '
    const fs = require("node:fs");
    const base = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    base.files = JSON.parse(process.argv[2]);
    fs.writeFileSync(process.argv[3], `${JSON.stringify(base, null, 2)}\n`);
  ' "$node_pkg/types-test/tsconfig.json" "$examples" "$dir/tsconfig.json"
  (cd "$dir" && node "check$suffix.mjs" && node "check$suffix.cjs" && npx --no-install tsc -p tsconfig.json)
  echo "$line: ESM, CommonJS and tsc pass against the installed package"
}

types=("typescript@$(dev typescript)" "@types/node@$(dev @types/node)" "@types/express@$(dev @types/express)")
sdk_v1=("@modelcontextprotocol/sdk@$(dev @modelcontextprotocol/sdk)" "express@$(dev express)")
sdk_v2=("@modelcontextprotocol/server@$(dev @modelcontextprotocol/server)"
        "@modelcontextprotocol/express@$(dev @modelcontextprotocol/express)"
        "@modelcontextprotocol/node@$(dev @modelcontextprotocol/node)" "express@$(dev express)")

if [ "$mode" = prebuilt ] || [ "$mode" = all ]; then
  for line in v1 v2; do
    step "prebuilt path, SDK $line: npm install jwtgate + jwtgate-linux-x64-gnu with no compiler on PATH"
    consumer "prebuilt-$line"
    dir="$scratch/prebuilt-$line"
    if [ "$line" = v1 ]; then sdk=("${sdk_v1[@]}"); else sdk=("${sdk_v2[@]}"); fi
    start=$SECONDS
    (cd "$dir" && PATH="$nocc" npm install --no-audit --no-fund "./$(basename "$platform_tgz")" "./$(basename "$main_tgz")" \
      "${sdk[@]}" "${types[@]}")
    echo "install time (prebuilt, SDK $line, with the SDK and TypeScript): $((SECONDS - start)) s"
    # The platform package is the one jwtgate's optionalDependencies names, and nothing was built.
    (cd "$dir" && npm ls jwtgate-linux-x64-gnu >/dev/null)
    (cd "$dir" && node -e '
      const assert = require("node:assert/strict");
      const fs = require("node:fs");
      const addon = require.resolve("jwtgate-linux-x64-gnu");
      assert.ok(addon.endsWith("node_modules/jwtgate-linux-x64-gnu/jwtgate.linux-x64-gnu.node"), addon);
      const own = fs.readdirSync("node_modules/jwtgate").filter((f) => f.endsWith(".node"));
      assert.deepEqual(own, [], "the install script built an addon although a prebuilt one loads");
      assert.ok(!fs.existsSync("node_modules/jwtgate/native/target"), "a cargo build ran");
      const pkg = require("jwtgate/package.json");
      assert.deepEqual(Object.keys(pkg.optionalDependencies), ["jwtgate-linux-x64-gnu"]);
      console.log(`prebuilt addon: ${addon}`);
    ')
    checks "$dir" "$line"
  done
fi

if [ "$mode" = source ] || [ "$mode" = all ]; then
  step "source path: npm install jwtgate --omit=optional (the addon compiled from the tarball's native/)"
  consumer source
  dir="$scratch/source"
  start=$SECONDS
  (cd "$dir" && CARGO_TARGET_DIR="$dir/cargo-target" npm install --no-audit --no-fund --omit=optional --foreground-scripts \
    "./$(basename "$main_tgz")" "${sdk_v2[@]}" "${types[@]}")
  echo "install time (source build from the tarball, SDK v2, with the SDK and TypeScript): $((SECONDS - start)) s"
  (cd "$dir" && node -e '
    const assert = require("node:assert/strict");
    const fs = require("node:fs");
    assert.throws(() => require.resolve("jwtgate-linux-x64-gnu"), "the platform package was omitted");
    assert.ok(fs.existsSync("node_modules/jwtgate/jwtgate.linux-x64-gnu.node"), "the install script built no addon");
    console.log("addon built from the tarball: node_modules/jwtgate/jwtgate.linux-x64-gnu.node");
  ')
  checks "$dir" v2
fi
